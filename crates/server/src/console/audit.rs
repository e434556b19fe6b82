//! The audit log in the console: one tenant's chain at a time, filtered by person, actor,
//! action and days of the controller's calendar, paged by sequence number; and the chain
//! verified with one button. For admins, DPOs and auditors, as the API's audit routes; the
//! operator's staff may pick any tenant, a customer's people read their own.

use super::{blocking, page, signed_in, trouble};
use crate::state::AppState;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jiff::Timestamp;
use jiff::civil::Date;
use maud::{Markup, html};
use ombud_store::Actor;
use ombud_store::audit::{AuditEntry, AuditFilter, Verification};
use ombud_store::model::{Role, SubjectId, TenantId};
use ombud_store::users::User;
use serde::Deserialize;
use std::collections::BTreeMap;

const PAGE: usize = 100;

fn reads_audit(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Dpo | Role::Auditor)
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    after: String,
}

impl AuditQuery {
    fn next(&self, after: i64) -> String {
        let pairs: Vec<(&str, String)> = [
            ("tenant", self.tenant.clone()),
            ("subject", self.subject.clone()),
            ("actor", self.actor.clone()),
            ("action", self.action.clone()),
            ("from", self.from.clone()),
            ("until", self.until.clone()),
            ("after", after.to_string()),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .collect();
        format!(
            "/console/audit?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// The tenant a user reads: the one asked for when they may see it, else their own.
fn tenant_of(state: &AppState, user: &User, asked: &str) -> Result<TenantId, String> {
    super::visible_tenant(state, user, asked).ok_or_else(|| {
        "You cannot read that tenant's audit log, or it is no tenant's id; choose one from the list."
            .into()
    })
}

/// The start of a day of the controller's calendar, from `YYYY-MM-DD`.
fn day_start(
    text: &str,
    field: &str,
    tz: &jiff::tz::TimeZone,
) -> Result<Option<Timestamp>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let date: Date = text
        .trim()
        .parse()
        .map_err(|_| format!("The {field} date is a day like 2026-11-29."))?;
    date.to_zoned(tz.clone())
        .map(|z| Some(z.timestamp()))
        .map_err(|e| {
            format!("The {field} date cannot be placed in the controller's time zone: {e}")
        })
}

fn filter_of(query: &AuditQuery, state: &AppState) -> Result<AuditFilter, String> {
    let tz = &state.time_zone;
    let from = day_start(&query.from, "from", tz)?;
    // Until the end of the day named, so a single day is from = until.
    let until = day_start(&query.until, "until", tz)?.map(|t| {
        t.checked_add(jiff::SignedDuration::from_hours(24))
            .unwrap_or(t)
    });
    if let (Some(from), Some(until)) = (from, until)
        && until <= from
    {
        return Err("The until date must not be before the from date.".into());
    }
    let subject = match query.subject.trim() {
        "" => None,
        id => Some(
            id.parse::<SubjectId>()
                .map_err(|_| "The person is a subject id (a UUID), as their page shows it.")?,
        ),
    };
    let after_seq = match query.after.trim() {
        "" => None,
        seq => Some(
            seq.parse::<i64>()
                .map_err(|_| "The page link is not valid; start again from the first page.")?,
        ),
    };
    let text = |value: &str| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
    Ok(AuditFilter {
        subject,
        actor: text(&query.actor),
        action: text(&query.action),
        from,
        until,
        after_seq,
        limit: PAGE,
    })
}

struct Read {
    tenants: Vec<(TenantId, String)>,
    tenant: TenantId,
    entries: Vec<AuditEntry>,
    /// Console users by the log's name for them.
    people: BTreeMap<String, String>,
}

fn form(query: &AuditQuery, read: &Read, user: &User, state: &AppState) -> Markup {
    html! {
        form method="get" action="/console/audit" class="filters" {
            @if user.tenant == state.operator {
                div {
                    label for="a-tenant" { "Tenant" }
                    select id="a-tenant" name="tenant" {
                        @for (id, name) in &read.tenants {
                            option value=(id) selected[*id == read.tenant] { (name) }
                        }
                    }
                }
            }
            div {
                label for="a-subject" { "Person (subject id)" }
                input id="a-subject" type="text" name="subject" value=(query.subject) autocomplete="off";
            }
            div {
                label for="a-actor" { "By" }
                input id="a-actor" type="text" name="actor" value=(query.actor) list="actors" autocomplete="off";
                datalist id="actors" {
                    @for (name, email) in &read.people { option value=(name) { (email) } }
                    option value="cli" {} option value="system" {} option value="portal" {}
                }
            }
            div {
                label for="a-action" { "Action" }
                input id="a-action" type="text" name="action" value=(query.action) placeholder="records.read" autocomplete="off";
            }
            div {
                label for="a-from" { "From (day)" }
                input id="a-from" type="date" name="from" value=(query.from);
            }
            div {
                label for="a-until" { "Until (day)" }
                input id="a-until" type="date" name="until" value=(query.until);
            }
            button type="submit" { "Show" }
        }
    }
}

async fn read(
    state: &AppState,
    user: &User,
    tenant: TenantId,
    filter: AuditFilter,
) -> Result<Read, ombud_app::console::ConsoleError> {
    let (who, operator) = (user.clone(), state.operator);
    blocking(state, move |store, _| {
        let tenants = store
            .tenants()?
            .into_iter()
            .filter(|t| who.tenant == operator || t.id == who.tenant)
            .map(|t| (t.id, t.name))
            .collect();
        let entries = store.audit_entries(tenant, &filter)?;
        let mut people = BTreeMap::new();
        for from in [who.tenant, tenant] {
            for colleague in store.users(from)? {
                people.insert(
                    Actor::User(colleague.id).audit_name(),
                    colleague.email.expose().to_owned(),
                );
            }
        }
        Ok(Read {
            tenants,
            tenant,
            entries,
            people,
        })
    })
    .await
}

fn refused(user: &User, csrf: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Audit log",
        Some((user, csrf)),
        html! { h1 { "Audit log" } p { "Your role does not read the audit log; admins, DPOs and auditors do." } },
    )
}

pub async fn browse(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<AuditQuery>,
) -> Response {
    let (user, csrf) = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !reads_audit(&user) {
        return refused(&user, &csrf);
    }
    let checked = tenant_of(&state, &user, &query.tenant)
        .and_then(|tenant| filter_of(&query, &state).map(|filter| (tenant, filter)));
    let (tenant, filter, problem) = match checked {
        Ok((tenant, filter)) => (tenant, filter, None),
        Err(problem) => (
            user.tenant,
            AuditFilter {
                limit: PAGE,
                ..AuditFilter::default()
            },
            Some(problem),
        ),
    };
    let found = match read(&state, &user, tenant, filter).await {
        Ok(found) => found,
        Err(error) => return trouble(&error),
    };
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let tz = &state.time_zone;
    let next = (found.entries.len() == PAGE)
        .then(|| found.entries.last().map(|e| query.next(e.seq)))
        .flatten();
    page(
        status,
        "Audit log",
        Some((&user, &csrf)),
        html! {
            h1 { "Audit log" }
            @if let Some(problem) = &problem { p class="error" role="alert" { (problem) } }
            p class="muted" { "Entries name people by id, and categories and purposes, never a value. Days are the controller's (" (tz.iana_name().unwrap_or("UTC")) ")." }
            form method="post" action="/console/audit/verify" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="tenant" value=(found.tenant);
                button type="submit" { "Verify this tenant's chain" }
            }
            (form(&query, &found, &user, &state))
            @if found.entries.is_empty() {
                p { "No entry matches." }
            } @else {
                div class="table" tabindex="0" role="region" aria-label="Audit entries" {
                    table {
                        thead { tr {
                            th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "By" } th scope="col" { "Action" }
                            th scope="col" { "Person" } th scope="col" { "Purpose" } th scope="col" { "Categories" } th scope="col" { "Detail" }
                        } }
                        tbody {
                            @for entry in &found.entries {
                                tr {
                                    td { (entry.seq) }
                                    td { (ombud_app::mail::moment(entry.at, tz)) }
                                    td { (found.people.get(&entry.actor).unwrap_or(&entry.actor)) }
                                    td { code { (entry.action) } }
                                    td { @if let Some(subject) = entry.subject { a href=(format!("/console/people/{}/{subject}", found.tenant)) { code { (subject.to_string()[..8]) "…" } } } }
                                    td { (entry.purpose.as_deref().unwrap_or("")) }
                                    td { (entry.categories.join(", ")) }
                                    td { code { (entry.detail.as_deref().unwrap_or("")) } }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = next { p { a href=(next) rel="next" { "Next page" } } }
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
}

pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<VerifyForm>,
) -> Response {
    let (user, csrf) = match super::checked_post(&state, &headers, &form.csrf).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if !reads_audit(&user) {
        return refused(&user, &csrf);
    }
    let tenant = match tenant_of(&state, &user, &form.tenant) {
        Ok(tenant) => tenant,
        Err(problem) => {
            return page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Audit log",
                Some((&user, &csrf)),
                html! { h1 { "Audit log" } p class="error" role="alert" { (problem) } },
            );
        }
    };
    let verified = blocking(&state, move |store, _| {
        let name = store.tenant(tenant)?.map(|t| t.name).unwrap_or_default();
        Ok((name, store.verify_audit(tenant)?))
    })
    .await;
    let (name, verification) = match verified {
        Ok(verified) => verified,
        Err(error) => return trouble(&error),
    };
    let status = match verification {
        Verification::Intact { .. } => StatusCode::OK,
        Verification::Broken { .. } => StatusCode::CONFLICT,
    };
    page(
        status,
        "Audit log",
        Some((&user, &csrf)),
        html! {
            h1 { "The audit chain of " (name) }
            @match &verification {
                Verification::Intact { entries, head, pruned_through } => {
                    p class="kept" role="status" {
                        "Intact: " (entries) " entries, every hash recomputed and matching"
                        @if let Some(pruned) = pruned_through { ", from the checkpoint after entry " (pruned) " (older entries were pruned under the policy's keep)" }
                        "."
                    }
                    p { "Head: " code { (head) } }
                }
                Verification::Broken { seq, reason } => {
                    p class="broken" role="alert" { "Broken at entry " (seq) ": " (reason) }
                    p { "Entries from there on were changed, removed or reordered outside ombud. Keep a copy of the database as it is and tell whoever runs the server." }
                }
            }
            p { a href=(format!("/console/audit?tenant={tenant}")) { "Back to the log" } }
        },
    )
}
