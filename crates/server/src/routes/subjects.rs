//! Subjects and their records. Every read of personal data names a purpose and returns only
//! what the policy allows for it now, with what was withheld and why; the read is audited.

use crate::auth::Caller;
use crate::error::ApiQuery;
use crate::error::Problem;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use ombud_core::facts::SubjectFacts;
use ombud_core::records::RecordInput;
use ombud_core::{Identity, IdentityKind, decide};
use ombud_policy::model::Choice;
use ombud_store::audit::NewAuditEntry;
use ombud_store::model::{NewRecord, RecordId, Role, Secret, SubjectId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

const WRITERS: &[Role] = &[Role::Admin, Role::Dpo, Role::Service];
const READERS: &[Role] = &[Role::Admin, Role::Dpo, Role::Agent, Role::Service];
/// The most records one request may write.
pub const MAX_BATCH: usize = 10_000;

pub fn parse_subject(text: &str) -> Result<SubjectId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::NotFound("no subject with that id".into()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityBody {
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubjectBody {
    #[schema(min_items = 1)]
    pub identities: Vec<IdentityBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubjectRef {
    pub id: SubjectId,
}

/// The identities as given, national phone numbers completed with the controller's country.
pub fn parse_identities(
    identities: &[IdentityBody],
    country: &str,
) -> Result<Vec<Identity>, ApiError> {
    if identities.is_empty() {
        return Err(ApiError::invalid(
            "identities",
            "give at least one identity, like {\"kind\": \"email\", \"value\": \"ana@example.com\"}",
        ));
    }
    identities
        .iter()
        .enumerate()
        .map(|(i, identity)| {
            let kind = IdentityKind::parse(&identity.kind).ok_or_else(|| {
                ApiError::invalid(
                    format!("identities[{i}].kind"),
                    "kind is one of email, phone, user_id, customer_no, national_id",
                )
            })?;
            Identity::parse_in(kind, &identity.value, country)
                .map_err(|e| ApiError::invalid(format!("identities[{i}].value"), e.to_string()))
        })
        .collect()
}

#[utoipa::path(post, path = "/api/v1/subjects", summary = "Create a person", description = "Creates a data subject with one or more identities (email, phone, user id, customer number, national id), normalised and found later by keyed hash.", tag = "subjects", security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a request with the same key to get its first response instead of running it twice")), request_body = NewSubjectBody,
    responses((status = 201, description = "Created", body = SubjectRef), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 409, description = "An identity belongs to another subject", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn create_subject(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewSubjectBody>,
) -> Result<(StatusCode, Json<SubjectRef>), ApiError> {
    caller.require(READERS, "create subjects")?;
    let identities = parse_identities(&body.identities, &state.policy.controller.country)?;
    let (tenant, actor, now) = (caller.tenant, caller.actor(), state.clock.now());
    let id = state
        .store(move |store| store.create_subject(tenant, &identities, &actor, now))
        .await?;
    Ok((StatusCode::CREATED, Json(SubjectRef { id })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    pub identity: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/subjects", summary = "Find a person", description = "Finds the person an identity (kind:value) belongs to in the tenant.", tag = "subjects", security(("api_key" = [])), params(LookupQuery),
    responses((status = 200, description = "The subject with that identity", body = SubjectRef), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object in the caller's tenant", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn find_subject(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<LookupQuery>,
) -> Result<Json<SubjectRef>, ApiError> {
    caller.require(READERS, "look subjects up")?;
    let text = query.identity.ok_or_else(|| {
        ApiError::invalid(
            "identity",
            "look a subject up with ?identity=kind:value, like ?identity=email:ana@example.com",
        )
    })?;
    let identity = Identity::parse_tagged_in(&text, &state.policy.controller.country)
        .map_err(|e| ApiError::invalid("identity", e.to_string()))?;
    let tenant = caller.tenant;
    let found = state
        .store(move |store| store.find_subject(tenant, &identity))
        .await?;
    found
        .map(|id| Json(SubjectRef { id }))
        .ok_or_else(|| ApiError::NotFound("no subject has that identity".into()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    pub kind: IdentityKind,
    pub value: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubjectView {
    pub id: SubjectId,
    pub created_at: Timestamp,
    pub identities: Vec<IdentityView>,
}

#[utoipa::path(get, path = "/api/v1/subjects/{id}", summary = "One person", description = "A person's identities and when they were created.", tag = "subjects", security(("api_key" = [])), params(("id" = String, Path, description = "Subject id")),
    responses((status = 200, description = "The subject and its identities (audited)", body = SubjectView), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object in the caller's tenant", body = Problem, content_type = "application/problem+json")))]
pub async fn get_subject(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SubjectView>, ApiError> {
    caller.require(
        &[Role::Admin, Role::Dpo, Role::Agent],
        "read a subject's identities",
    )?;
    let id = parse_subject(&id)?;
    let (tenant, actor, now) = (caller.tenant, caller.actor(), state.clock.now());
    let subject = state
        .store(move |store| store.subject(tenant, id))
        .await?
        .ok_or_else(|| ApiError::NotFound("no subject with that id".into()))?;
    let entry = NewAuditEntry {
        actor: actor.audit_name(),
        action: "subject.read".into(),
        subject: Some(id),
        categories: vec![],
        purpose: None,
        detail: None,
    };
    state.audit.append(tenant, entry, now).await?;
    Ok(Json(SubjectView {
        id: subject.id,
        created_at: subject.created_at,
        identities: subject
            .identities
            .iter()
            .map(|i| IdentityView {
                kind: i.kind(),
                value: i.expose().to_owned(),
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    /// Only in the bulk endpoint: whose record it is.
    pub subject: Option<String>,
    pub category: String,
    pub value: String,
    pub source: Option<String>,
    #[serde(default)]
    pub purposes: Vec<String>,
    pub collected_at: Option<Timestamp>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordsBody {
    #[schema(min_items = 1, max_items = 10000)]
    pub records: Vec<RecordBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WrittenRecords {
    pub ids: Vec<RecordId>,
}

/// Checks one record against the policy (see `ombud_core::records`) and names the failing
/// field by its place in the request.
fn validate_record(
    state: &AppState,
    body: RecordBody,
    subject: SubjectId,
    at: &str,
    now: Timestamp,
) -> Result<NewRecord, ApiError> {
    let source = body.source.unwrap_or_else(|| "subject".into());
    let collected_at = body.collected_at.unwrap_or(now);
    let input = RecordInput {
        category: &body.category,
        source: &source,
        purposes: &body.purposes,
        value: &body.value,
        collected_at,
    };
    ombud_core::records::validate_record(&state.policy, &input, now).map_err(|problem| {
        let field = match problem.index {
            Some(i) => format!("{at}.{}[{i}]", problem.field),
            None => format!("{at}.{}", problem.field),
        };
        ApiError::invalid(field, problem.message)
    })?;
    Ok(NewRecord {
        id: None,
        subject,
        category: body.category,
        purposes: body.purposes,
        source,
        collected_at,
        value: Secret::new(body.value),
    })
}

async fn write(
    state: &AppState,
    caller: &Caller,
    records: Vec<NewRecord>,
) -> Result<Json<WrittenRecords>, ApiError> {
    let (tenant, actor, now) = (caller.tenant, caller.actor(), state.clock.now());
    let ids = state
        .store(move |store| store.put_records(tenant, &records, &actor, now))
        .await?;
    Ok(Json(WrittenRecords { ids }))
}

fn check_batch(len: usize) -> Result<(), ApiError> {
    if len == 0 || len > MAX_BATCH {
        return Err(ApiError::invalid(
            "records",
            format!("send 1 to {MAX_BATCH} records per request"),
        ));
    }
    Ok(())
}

#[utoipa::path(put, path = "/api/v1/subjects/{id}/records", summary = "Store records", description = "Stores records of the person, each with a category of the policy and the purposes it is kept for, sealed under the person's own key.", tag = "records", security(("api_key" = [])), params(("id" = String, Path, description = "Subject id")), request_body = RecordsBody,
    responses((status = 200, description = "Written, all or nothing", body = WrittenRecords), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object in the caller's tenant", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn put_records(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RecordsBody>,
) -> Result<Json<WrittenRecords>, ApiError> {
    caller.require(WRITERS, "write records")?;
    let subject = parse_subject(&id)?;
    check_batch(body.records.len())?;
    let now = state.clock.now();
    let records = body
        .records
        .into_iter()
        .enumerate()
        .map(|(i, record)| {
            if record.subject.is_some() {
                return Err(ApiError::invalid(
                    format!("records[{i}].subject"),
                    "the subject is in the path here; leave `subject` out",
                ));
            }
            validate_record(&state, record, subject, &format!("records[{i}]"), now)
        })
        .collect::<Result<Vec<_>, _>>()?;
    write(&state, &caller, records).await
}

#[utoipa::path(post, path = "/api/v1/records", summary = "Store records in bulk", description = "Stores records for many people of the tenant in one transaction.", tag = "records", security(("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a request with the same key to get its first response instead of running it twice")), request_body = RecordsBody,
    responses((status = 200, description = "Written, all or nothing; each record names its subject", body = WrittenRecords), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object in the caller's tenant", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn bulk_records(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<RecordsBody>,
) -> Result<Json<WrittenRecords>, ApiError> {
    caller.require(WRITERS, "write records")?;
    check_batch(body.records.len())?;
    let now = state.clock.now();
    let records = body
        .records
        .into_iter()
        .enumerate()
        .map(|(i, mut record)| {
            let at = format!("records[{i}]");
            let subject = record.subject.take().ok_or_else(|| {
                ApiError::invalid(
                    format!("{at}.subject"),
                    "each record of a bulk write names its subject id",
                )
            })?;
            let subject: SubjectId = subject.parse().map_err(|_| {
                ApiError::invalid(format!("{at}.subject"), "a subject id is a UUID")
            })?;
            validate_record(&state, record, subject, &at, now)
        })
        .collect::<Result<Vec<_>, _>>()?;
    write(&state, &caller, records).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadQuery {
    pub purpose: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordView {
    pub id: RecordId,
    pub category: String,
    pub value: String,
    pub source: String,
    pub collected_at: Timestamp,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Withheld {
    pub id: RecordId,
    pub category: String,
    pub reason: String,
    pub message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PurposeRead {
    pub purpose: String,
    pub basis: Option<&'static str>,
    pub records: Vec<RecordView>,
    pub withheld: Vec<Withheld>,
}

#[utoipa::path(get, path = "/api/v1/subjects/{id}/records", summary = "Read records for a purpose", description = "The person's records that `purpose` may read now; the read is audited for that purpose. Refused (with the reason) when consent, an objection or a restriction stops the purpose.", tag = "records", security(("api_key" = [])), params(("id" = String, Path, description = "Subject id"), ReadQuery),
    responses((status = 200, description = "What the purpose may read now, and what was withheld and why (audited)", body = PurposeRead), (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such object in the caller's tenant", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn read_records(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<Json<PurposeRead>, ApiError> {
    caller.require(READERS, "read records")?;
    let subject = parse_subject(&id)?;
    let purpose = query.purpose.ok_or_else(|| {
        ApiError::invalid(
            "purpose",
            "every read names its purpose: ?purpose=<activity id of the policy>",
        )
    })?;
    state.purpose(&purpose)?;
    let (tenant, now) = (caller.tenant, state.clock.now());
    let (records, events) = state
        .store(move |store| store.records_and_events(tenant, subject))
        .await?;
    let read = purpose_read(&state, caller.data_role, records, &events, &purpose, now);
    let entry = read_entry(&caller.actor(), subject, &read);
    // Answered only once its entry is committed, in a batch with the reads alongside it.
    state.audit.append(tenant, entry, now).await?;
    Ok(Json(read))
}

/// What `purpose` may read of a person's records now, and what is withheld and why: the one
/// rule of purpose-bound reads, for the API and the console.
pub fn purpose_read(
    state: &AppState,
    data_role: ombud_core::DataRole,
    records: Vec<ombud_store::model::Record>,
    events: &[ombud_store::model::StoredEvent],
    purpose: &str,
    now: Timestamp,
) -> PurposeRead {
    let basis = state
        .policy
        .activity(purpose)
        .and_then(|a| a.basis)
        .map(Choice::as_str);
    let facts = SubjectFacts::new(events.iter().map(|e| e.fact()).collect());
    let mut read = PurposeRead {
        purpose: purpose.to_owned(),
        basis,
        records: Vec::new(),
        withheld: Vec::new(),
    };
    for record in records {
        let decision =
            if !record.purposes.is_empty() && !record.purposes.iter().any(|p| p == purpose) {
                None
            } else {
                Some(decide(
                    &state.policy,
                    &facts,
                    purpose,
                    &record.category,
                    record.collected_at,
                    data_role,
                    now,
                    &state.time_zone,
                ))
            };
        match decision {
            Some(decision) if decision.allowed => read.records.push(RecordView {
                id: record.id,
                category: record.category,
                value: record.value.expose().to_owned(),
                source: record.source,
                collected_at: record.collected_at,
            }),
            Some(decision) => {
                let reason = serde_json::to_value(&decision.reason)
                    .ok()
                    .and_then(|v| v["code"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                read.withheld.push(Withheld {
                    id: record.id,
                    category: record.category,
                    reason,
                    message: decision.message(),
                });
            }
            None => read.withheld.push(Withheld {
                id: record.id,
                category: record.category,
                reason: "collected_for_other_purposes".into(),
                message: format!(
                    "this record was collected for {} only",
                    record.purposes.join(", ")
                ),
            }),
        }
    }
    read
}

/// The audit entry of a purpose-bound read: categories and counts, never a value.
pub fn read_entry(
    actor: &ombud_store::Actor,
    subject: SubjectId,
    read: &PurposeRead,
) -> NewAuditEntry {
    let categories: BTreeSet<String> = read.records.iter().map(|r| r.category.clone()).collect();
    NewAuditEntry {
        actor: actor.audit_name(),
        action: "records.read".into(),
        subject: Some(subject),
        categories: categories.into_iter().collect(),
        purpose: Some(read.purpose.clone()),
        detail: Some(format!(
            "returned={} withheld={}",
            read.records.len(),
            read.withheld.len()
        )),
    }
}
