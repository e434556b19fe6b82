//! Legal holds over HTTP: place one (on the tenant, a subject, a category, or a subject's
//! category), list them, release one, and read what one keeps. Held data outlives its
//! retention and erasure, and the hold is the one purpose it may still be read for.

use crate::auth::Caller;
use crate::error::ApiQuery;
use crate::error::{ApiError, ApiJson, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use ombud_app::sweeper::check_hold;
use ombud_store::model::Role;
use ombud_store::retention::{HoldId, LegalHold};
use serde::{Deserialize, Serialize};

const DECIDERS: &[Role] = &[Role::Admin, Role::Dpo];
const READERS: &[Role] = &[Role::Admin, Role::Dpo, Role::Auditor];

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    /// legal_obligation, legal_claim or security_investigation
    #[schema(value_type = ombud_store::retention::HoldReason)]
    pub reason: String,
    /// Only this subject; the whole tenant when absent.
    pub subject: Option<String>,
    /// Only this category (and those beneath it); every category when absent.
    pub category: Option<String>,
    /// Why, for the people who decide (a case reference); never personal data.
    pub note: String,
    /// When the hold lapses by itself; open-ended when absent.
    pub ends_at: Option<Timestamp>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HoldList {
    pub holds: Vec<LegalHold>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HoldQuery {
    /// Only holds in force now.
    #[serde(default)]
    pub active: bool,
}

#[utoipa::path(post, path = "/api/v1/holds", summary = "Place a legal hold", description = "Keeps records past their retention while a legal claim or an authority's order needs them: for one person, some categories or the whole tenant, until released or until its end date. The sweeper leaves what a hold keeps.", tag = "retention", security(("api_key" = [])), request_body = HoldBody,
    responses((status = 201, description = "Placed", body = LegalHold),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<HoldBody>,
) -> Result<(StatusCode, Json<LegalHold>), ApiError> {
    caller.require(DECIDERS, "place a legal hold")?;
    let now = state.clock.now();
    let hold = check_hold(
        |category| state.policy.category(category).is_some(),
        &body.reason,
        &body.note,
        body.subject.as_deref(),
        body.category,
        body.ends_at,
        now,
    )
    .map_err(|(field, message)| ApiError::invalid(field, message))?;
    let tenant = caller.tenant;
    if let Some(subject) = hold.subject {
        let exists = state
            .store(move |store| store.subject_exists(tenant, subject))
            .await?;
        if !exists {
            return Err(ApiError::invalid(
                "subject",
                "no subject with that id in this tenant",
            ));
        }
    }
    let actor = caller.actor();
    let created = state
        .store(move |store| store.create_hold(tenant, &hold, &actor, now))
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/holds", summary = "List legal holds", description = "The tenant's holds, active and released, with their scope, reason and end.", tag = "retention", security(("api_key" = [])), params(HoldQuery),
    responses((status = 200, description = "The tenant's holds, newest first", body = HoldList),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<HoldQuery>,
) -> Result<Json<HoldList>, ApiError> {
    caller.require(READERS, "list legal holds")?;
    let tenant = caller.tenant;
    let active = query.active.then(|| state.clock.now());
    let holds = state
        .store(move |store| store.holds(tenant, active))
        .await?;
    Ok(Json(HoldList { holds }))
}

#[utoipa::path(post, path = "/api/v1/holds/{id}/release", summary = "Release a legal hold", description = "Ends a hold; what it kept leaves at the next sweep unless something else keeps it.", tag = "retention", security(("api_key" = [])),
    params(("id" = String, Path, description = "The hold's id")),
    responses((status = 204, description = "Released; the sweeper may now remove what it kept"),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No hold in force with that id", body = Problem, content_type = "application/problem+json")))]
pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(DECIDERS, "release a legal hold")?;
    let id = id
        .parse()
        .map(HoldId)
        .map_err(|_| ApiError::NotFound("no hold in force with that id".into()))?;
    let tenant = caller.tenant;
    let actor = caller.actor();
    let now = state.clock.now();
    let released = state
        .store(move |store| store.release_hold(tenant, id, &actor, now))
        .await?;
    if released {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no hold in force with that id".into()))
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HeldQuery {
    /// The subject whose held records to read; required unless the hold is on one subject.
    pub subject: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HeldRead {
    pub hold: HoldId,
    pub subject: ombud_store::model::SubjectId,
    /// The records the hold keeps: those of its categories, and those an erasure kept for it.
    pub records: Vec<crate::routes::subjects::RecordView>,
}

#[utoipa::path(get, path = "/api/v1/holds/{id}/records", summary = "What a hold keeps", description = "The records a hold keeps past their retention, by person and category; never values.", tag = "retention", security(("api_key" = [])),
    params(("id" = String, Path, description = "The hold's id"), HeldQuery),
    responses((status = 200, description = "The records the hold keeps, read for the hold (audited with purpose hold:<id>)", body = HeldRead),
        (status = 401, description = "No valid API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key's role cannot do this", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No hold in force with that id, or no such subject", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid; `field` names it", body = Problem, content_type = "application/problem+json")))]
pub async fn records(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<HeldQuery>,
) -> Result<Json<HeldRead>, ApiError> {
    caller.require_decider(DECIDERS, state.operator, "read what a legal hold keeps")?;
    let missing = || ApiError::NotFound("no hold in force with that id".into());
    let id: HoldId = id.parse().map(HoldId).map_err(|_| missing())?;
    let (tenant, now) = (caller.tenant, state.clock.now());
    let hold = state
        .store(move |store| store.holds(tenant, Some(now)))
        .await?
        .into_iter()
        .find(|h| h.id == id)
        .ok_or_else(missing)?;
    let asked = query
        .subject
        .as_deref()
        .map(crate::routes::subjects::parse_subject)
        .transpose()?;
    let subject = match (hold.subject, asked) {
        (Some(held), Some(asked)) if held != asked => {
            return Err(ApiError::invalid(
                "subject",
                "this hold is on another subject; leave `subject` out to read the one it holds",
            ));
        }
        (Some(held), _) => held,
        (None, Some(asked)) => asked,
        (None, None) => {
            return Err(ApiError::invalid(
                "subject",
                "this hold covers a whole tenant: name the subject to read (?subject=<id>)",
            ));
        }
    };
    let records = state
        .store(move |store| store.records(tenant, subject))
        .await?;
    let purpose = format!("hold:{}", hold.id);
    let covers = ombud_core::retention::Hold {
        category: hold.category.as_deref(),
        ends_at: hold.ends_at,
    };
    let read: Vec<crate::routes::subjects::RecordView> = records
        .into_iter()
        .filter(|r| r.purposes.contains(&purpose) || covers.keeps(&r.category, now))
        .map(|r| crate::routes::subjects::RecordView {
            id: r.id,
            value: r.value.expose().to_owned(),
            category: r.category,
            source: r.source,
            collected_at: r.collected_at,
        })
        .collect();
    let entry = ombud_store::audit::NewAuditEntry {
        actor: caller.actor().audit_name(),
        action: "records.read".into(),
        subject: Some(subject),
        categories: read
            .iter()
            .map(|r| r.category.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        purpose: Some(purpose),
        detail: Some(format!("hold={} returned={}", hold.id, read.len())),
    };
    state.audit.append(tenant, entry, now).await?;
    Ok(Json(HeldRead {
        hold: hold.id,
        subject,
        records: read,
    }))
}
