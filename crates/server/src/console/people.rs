//! People: find a person by any identity (normalised as the API does) in the tenants a user
//! sees, and a person's page — identities masked, records by category with their values hidden
//! until the user reveals them for a purpose of the policy (a purpose-bound read, audited as the
//! API's is, under the user), events and consents, requests, notices received, holds and the
//! audit trail. Opening the page is itself audited (`subject.read`), as the API's read of a
//! person's identities is.

use super::{blocking, page, signed_in, trouble};
use crate::routes::subjects::{PurposeRead, purpose_read, read_entry};
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use maud::{Markup, html};
use ombud_app::console::ConsoleError;
use ombud_core::{DataRole, Identity, IdentityKind};
use ombud_store::audit::{AuditEntry, AuditFilter, NewAuditEntry};
use ombud_store::model::{Record, Role, StoredEvent, SubjectId, TenantId};
use ombud_store::notices::{Delivery, Notice};
use ombud_store::requests::{DsRequest, RequestQueue};
use ombud_store::retention::LegalHold;
use ombud_store::users::User;
use ombud_store::{Actor, Store};
use serde::Deserialize;

/// How far back the person's page lists the audit trail.
const TRAIL_DAYS: i64 = 90;

fn reads_people(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Dpo | Role::Agent)
}

fn sees(state: &AppState, user: &User, tenant: TenantId) -> bool {
    user.tenant == state.operator || user.tenant == tenant
}

fn words(text: &str) -> String {
    text.replace('_', " ")
}

fn refused(user: &User, csrf: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        "People",
        Some((user, csrf)),
        html! { h1 { "People" } p { "Your role does not look people up; admins, DPOs and agents do." } },
    )
}

fn nobody(user: &User, csrf: &str) -> Response {
    page(
        StatusCode::NOT_FOUND,
        "No such person",
        Some((user, csrf)),
        html! {
            h1 { "No such person" }
            p { "There is no person at this address that you may see; they may have been erased. " a href="/console/people" { "Search again" } }
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
}

fn search_form(query: &SearchQuery, problem: Option<&str>) -> Markup {
    let kind = if query.kind.is_empty() {
        "email"
    } else {
        query.kind.as_str()
    };
    html! {
        h1 { "People" }
        @if let Some(problem) = problem { p class="error" role="alert" { (problem) } }
        form method="get" action="/console/people" class="filters" {
            div {
                label for="kind" { "Identity" }
                select id="kind" name="kind" {
                    @for option in IdentityKind::ALL {
                        option value=(option.as_str()) selected[option.as_str() == kind] { (words(option.as_str())) }
                    }
                }
            }
            div {
                label for="value" { "Value" }
                input id="value" type="text" name="value" value=(query.value) autocomplete="off" required;
            }
            button type="submit" { "Find" }
        }
    }
}

pub async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<SearchQuery>,
) -> Response {
    let (user, csrf) = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !reads_people(&user) {
        return refused(&user, &csrf);
    }
    if query.value.trim().is_empty() {
        return page(
            StatusCode::OK,
            "People",
            Some((&user, &csrf)),
            search_form(&query, None),
        );
    }
    let identity = IdentityKind::parse(query.kind.trim())
        .ok_or_else(|| "Choose the kind of identity from the list.".to_owned())
        .and_then(|kind| {
            Identity::parse_in(kind, &query.value, &state.policy.controller.country)
                .map_err(|e| format!("That is not a valid {}: {e}.", words(kind.as_str())))
        });
    let identity = match identity {
        Ok(identity) => identity,
        Err(problem) => {
            return page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "People",
                Some((&user, &csrf)),
                search_form(&query, Some(&problem)),
            );
        }
    };
    let (who, operator) = (user.clone(), state.operator);
    // The identity is looked up by its keyed hash, tenant by tenant: an index probe each.
    let found = blocking(&state, move |store, _| {
        let mut found = vec![];
        for tenant in store.tenants()? {
            if who.tenant != operator && tenant.id != who.tenant {
                continue;
            }
            if let Some(subject) = store.find_subject(tenant.id, &identity)? {
                found.push((tenant.id, tenant.name, subject));
            }
        }
        Ok(found)
    })
    .await;
    let found = match found {
        Ok(found) => found,
        Err(error) => return trouble(&error),
    };
    page(
        StatusCode::OK,
        "People",
        Some((&user, &csrf)),
        html! {
            (search_form(&query, None))
            @if found.is_empty() {
                p role="status" { "Nobody with that identity in the tenants you see." }
            } @else {
                ul role="status" {
                    @for (tenant, name, subject) in &found {
                        li { a href=(format!("/console/people/{tenant}/{subject}")) { "The person in " (name) } " " code { (subject) } }
                    }
                }
            }
        },
    )
}

/// What a person's page shows, read in one step.
struct Person {
    tenant: TenantId,
    tenant_name: String,
    subject: SubjectId,
    created_at: Timestamp,
    identities: Vec<Identity>,
    records: Vec<Record>,
    events: Vec<StoredEvent>,
    requests: Vec<DsRequest>,
    notices: Vec<(Notice, Delivery)>,
    holds: Vec<LegalHold>,
    trail: Vec<AuditEntry>,
    /// Console users of the tenants involved by the audit log's name for them.
    colleagues: std::collections::BTreeMap<String, String>,
}

fn read_person(
    store: &dyn Store,
    tenant: TenantId,
    subject: SubjectId,
    user: &User,
    now: Timestamp,
) -> Result<Option<Person>, ConsoleError> {
    let Some(found) = store.subject(tenant, subject)? else {
        return Ok(None);
    };
    let tenant_name = store.tenant(tenant)?.map(|t| t.name).unwrap_or_default();
    let (records, events) = store.records_and_events(tenant, subject)?;
    let requests = store.request_queue(&RequestQueue {
        tenants: Some(vec![tenant]),
        subject: Some(subject),
        order: ombud_store::requests::QueueOrder::Newest,
        limit: 100,
        ..RequestQueue::default()
    })?;
    let notices = store.subject_notices(tenant, subject)?;
    let holds = store
        .holds(tenant, None)?
        .into_iter()
        .filter(|h| h.subject == Some(subject))
        .collect();
    let trail = store.audit_entries(
        tenant,
        &AuditFilter {
            subject: Some(subject),
            actor: None,
            action: None,
            from: now
                .checked_sub(jiff::SignedDuration::from_hours(24 * TRAIL_DAYS))
                .ok(),
            until: None,
            after_seq: None,
            limit: 500,
        },
    )?;
    let mut colleagues = std::collections::BTreeMap::new();
    for from in [user.tenant, tenant] {
        for colleague in store.users(from)? {
            colleagues.insert(
                Actor::User(colleague.id).audit_name(),
                colleague.email.expose().to_owned(),
            );
        }
    }
    // Looking at a person is a read of who they are, as the API's is.
    store.append_audit(
        tenant,
        NewAuditEntry {
            actor: Actor::User(user.id).audit_name(),
            action: "subject.read".into(),
            subject: Some(subject),
            categories: vec![],
            purpose: None,
            detail: Some("console".into()),
        },
        now,
    )?;
    Ok(Some(Person {
        tenant,
        tenant_name,
        subject,
        created_at: found.created_at,
        identities: found.identities,
        records,
        events,
        requests,
        notices,
        holds,
        trail,
        colleagues,
    }))
}

async fn open_person(
    state: &AppState,
    (user, csrf): (User, String),
    tenant: &str,
    subject: &str,
) -> Result<(User, String, Person), Response> {
    if !reads_people(&user) {
        return Err(refused(&user, &csrf));
    }
    let target = tenant
        .parse::<TenantId>()
        .ok()
        .zip(subject.parse::<SubjectId>().ok())
        .filter(|(t, _)| sees(state, &user, *t));
    let Some((tenant, subject)) = target else {
        return Err(nobody(&user, &csrf));
    };
    let viewer = user.clone();
    match blocking(state, move |store, now| {
        read_person(store, tenant, subject, &viewer, now)
    })
    .await
    {
        Ok(Some(person)) => Ok((user, csrf, person)),
        Ok(None) => Err(nobody(&user, &csrf)),
        Err(error) => Err(trouble(&error)),
    }
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((tenant, subject)): Path<(String, String)>,
) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    match open_person(&state, signed, &tenant, &subject).await {
        Ok((user, csrf, person)) => person_page(&state, &user, &csrf, &person, None, None),
        Err(response) => response,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    purpose: String,
}

pub async fn reveal(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((tenant, subject)): Path<(String, String)>,
    Form(form): Form<RevealForm>,
) -> Response {
    // The form is checked before the person is opened: opening is itself audited.
    let signed = match super::checked_post(&state, &headers, &form.csrf).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let (user, csrf, person) = match open_person(&state, signed, &tenant, &subject).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    if state.policy.activity(&form.purpose).is_none() {
        return person_page(
            &state,
            &user,
            &csrf,
            &person,
            None,
            Some("Choose the purpose you need the values for, from the policy's list."),
        );
    }
    let now = state.clock.now();
    let data_role = DataRole::of_tenant(person.tenant == state.operator);
    let read = purpose_read(
        &state,
        data_role,
        person.records.clone(),
        &person.events,
        &form.purpose,
        now,
    );
    let entry = read_entry(&Actor::User(user.id), person.subject, &read);
    // Shown only once the read's entry is committed, as the API's reads are.
    if let Err(error) = state.audit.append(person.tenant, entry, now).await {
        tracing::error!("a console read could not be audited: {error:?}");
        return trouble(&ConsoleError::Store(ombud_store::StoreError::Database(
            "the read could not be recorded in the audit log".into(),
        )));
    }
    person_page(&state, &user, &csrf, &person, Some(&read), None)
}

fn person_page(
    state: &AppState,
    user: &User,
    csrf: &str,
    person: &Person,
    read: Option<&PurposeRead>,
    problem: Option<&str>,
) -> Response {
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(
        status,
        "Person",
        Some((user, csrf)),
        person_body(state, csrf, person, read, problem),
    )
}

fn person_body(
    state: &AppState,
    csrf: &str,
    person: &Person,
    read: Option<&PurposeRead>,
    problem: Option<&str>,
) -> Markup {
    let tz = &state.time_zone;
    let at = |t: Timestamp| ombud_app::mail::moment(t, tz);
    let now = state.clock.now();
    let base = format!("/console/people/{}/{}", person.tenant, person.subject);
    html! {
        p { a href="/console/people" { "← Find someone else" } }
        h1 { "Person in " (person.tenant_name) }
        @if let Some(problem) = problem { p class="error" role="alert" { (problem) } }
        dl class="facts" {
            dt { "Subject" } dd { code { (person.subject) } }
            dt { "In the register since" } dd { (at(person.created_at)) }
            dt { "Identities" }
            dd {
                @for identity in &person.identities {
                    (words(identity.kind().as_str())) ": " (identity.masked()) br;
                }
            }
        }
        h2 { "Records" }
        @if person.records.is_empty() {
            p { "No records." }
        } @else {
            form method="post" action=(format!("{base}/reveal")) class="filters" {
                input type="hidden" name="csrf" value=(csrf);
                div {
                    label for="purpose" { "Show the values for the purpose" }
                    select id="purpose" name="purpose" required {
                        @for activity in &state.policy.activities {
                            option value=(activity.id) selected[read.is_some_and(|r| r.purpose == activity.id)] { (activity.purpose) }
                        }
                    }
                }
                button type="submit" { "Show values" }
            }
            p class="muted" { "Values stay hidden until you name why you need them; that read is recorded in the audit log under your name, and only what the purpose may read now is shown." }
            div class="table" tabindex="0" role="region" aria-label="Records" {
                table {
                    thead { tr { th scope="col" { "Category" } th scope="col" { "Value" } th scope="col" { "Purposes" } th scope="col" { "Source" } th scope="col" { "Collected" } } }
                    tbody {
                        @for record in &person.records {
                            tr {
                                td { (record.category) }
                                td {
                                    @match read {
                                        None => span class="muted" { "hidden" },
                                        Some(read) => {
                                            @if let Some(shown) = read.records.iter().find(|r| r.id == record.id) {
                                                span class="value" { (shown.value) }
                                            } @else if let Some(withheld) = read.withheld.iter().find(|w| w.id == record.id) {
                                                span class="soon" { "withheld: " (withheld.message) }
                                            }
                                        }
                                    }
                                }
                                td { @if record.purposes.is_empty() { "any of the category's" } @else { (record.purposes.join(", ")) } }
                                td { (words(&record.source)) }
                                td { (at(record.collected_at)) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Events and consents" }
        @if person.events.is_empty() {
            p { "No events." }
        } @else {
            ul {
                @for event in &person.events {
                    li {
                        (at(event.occurred_at)) " — " (words(event.kind.as_str()))
                        @if let Some(purpose) = &event.purpose { " (" (purpose) ")" }
                        @if let Some(channel) = &event.channel { ", through " (words(channel)) }
                    }
                }
            }
        }
        h2 { "Requests" }
        @if person.requests.is_empty() {
            p { "No requests." }
        } @else {
            ul {
                @for request in &person.requests {
                    li {
                        a href=(format!("/console/requests/{}/{}", request.tenant, request.id)) { (words(request.kind.as_str())) }
                        ", " (words(request.status.as_str())) ", received " (at(request.received_at))
                    }
                }
            }
        }
        h2 { "Notices received" }
        @if person.notices.is_empty() {
            p { "No notices." }
        } @else {
            ul {
                @for (notice, delivery) in &person.notices {
                    li {
                        (notice.subject_line) " (" (words(&notice.kind)) ") — " (delivery.status.to_string())
                        @if let Some(reason) = &delivery.reason { ": " (words(reason)) }
                        ", " (at(delivery.queued_at))
                    }
                }
            }
        }
        h2 { "Legal holds" }
        @if person.holds.is_empty() {
            p { "No holds." }
        } @else {
            ul {
                @for hold in &person.holds {
                    li {
                        (words(hold.reason.as_str())) @if let Some(category) = &hold.category { " on " (category) }
                        ", placed " (at(hold.created_at))
                        @if hold.active_at(now) { strong { " — in force" } } @else { " — ended" }
                    }
                }
            }
        }
        h2 { "Audit trail, the last " (TRAIL_DAYS) " days" }
        @if person.trail.is_empty() {
            p { "No entries." }
        } @else {
            div class="table" tabindex="0" role="region" aria-label="Audit trail" {
                table {
                    thead { tr { th scope="col" { "When" } th scope="col" { "What" } th scope="col" { "By" } th scope="col" { "Purpose" } th scope="col" { "Categories" } } }
                    tbody {
                        @for entry in &person.trail {
                            tr {
                                td { (at(entry.at)) }
                                td { (entry.action) }
                                td { (person.colleagues.get(&entry.actor).unwrap_or(&entry.actor)) }
                                td { (entry.purpose.as_deref().unwrap_or("")) }
                                td { (entry.categories.join(", ")) }
                            }
                        }
                    }
                }
            }
        }
    }
}
