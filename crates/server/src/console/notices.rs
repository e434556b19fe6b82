//! Notices in the console: the ledger of what was sent, to how many and how many were skipped;
//! a notice's page with its text and a line per person (sent, queued, failed, or skipped and
//! why; addresses masked); and the form that composes one — a kind of the policy, an audience,
//! a subject line and the text. The rules are the ledger's (`ombud_app::notices::send`):
//! mandatory kinds reach everyone, opt-out kinds skip who opted out. Admins and DPOs send (in
//! their own tenant: a customer decides its own notices), auditors read.

use super::{blocking, page, signed_in, trouble, visible_tenant};
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::html;
use ombud_app::console::ConsoleError;
use ombud_app::notices::{NoticeError, Sending};
use ombud_store::Actor;
use ombud_store::model::{Role, SubjectId, TenantId};
use ombud_store::notices::{Audience, NoticeId};
use ombud_store::users::User;
use serde::Deserialize;

fn reads(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Dpo | Role::Auditor)
}

fn sends(user: &User, tenant: TenantId) -> bool {
    matches!(user.role, Role::Admin | Role::Dpo) && user.tenant == tenant
}

fn refused(user: &User, csrf: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Notices",
        Some((user, csrf)),
        html! { h1 { "Notices" } p { "Your role does not read the notice ledger; admins, DPOs and auditors do." } },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct LedgerQuery {
    #[serde(default)]
    tenant: String,
}

pub async fn ledger(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LedgerQuery>,
) -> Response {
    let (user, csrf) = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !reads(&user) {
        return refused(&user, &csrf);
    }
    let Some(tenant) = visible_tenant(&state, &user, &query.tenant) else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Notices",
            Some((&user, &csrf)),
            html! { h1 { "Notices" } p class="error" role="alert" { "You cannot see that tenant; choose one from the list." } },
        );
    };
    ledger_page(&state, &user, &csrf, tenant, None, &ComposeForm::default()).await
}

async fn ledger_page(
    state: &AppState,
    user: &User,
    csrf: &str,
    tenant: TenantId,
    problem: Option<&str>,
    given: &ComposeForm,
) -> Response {
    let (who, operator) = (user.clone(), state.operator);
    let read = blocking(state, move |store, _| {
        let tenants: Vec<_> = store
            .tenants()?
            .into_iter()
            .filter(|t| who.tenant == operator || t.id == who.tenant)
            .map(|t| (t.id, t.name))
            .collect();
        Ok((tenants, store.notices(tenant)?))
    })
    .await;
    let (tenants, notices) = match read {
        Ok(read) => read,
        Err(error) => return trouble(&error),
    };
    let tz = &state.time_zone;
    let at = |t: Timestamp| ombud_app::mail::moment(t, tz);
    let operator_tenant = tenant == state.operator;
    let audience = if given.audience.is_empty() {
        if operator_tenant {
            "customers"
        } else {
            "category"
        }
    } else {
        given.audience.as_str()
    };
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(
        status,
        "Notices",
        Some((user, csrf)),
        html! {
            h1 { "Notices" }
            @if let Some(problem) = problem { p class="error" role="alert" { (problem) } }
            @if user.tenant == state.operator {
                form method="get" action="/console/notices" class="filters" {
                    div {
                        label for="l-tenant" { "Tenant" }
                        select id="l-tenant" name="tenant" {
                            @for (id, name) in &tenants { option value=(id) selected[*id == tenant] { (name) } }
                        }
                    }
                    button type="submit" { "Show" }
                }
            }
            @if notices.is_empty() {
                p { "No notice was sent from here." }
            } @else {
                div class="table" tabindex="0" role="region" aria-label="The notice ledger" {
                    table {
                        caption { "The notice ledger, the newest first" }
                        thead { tr { th scope="col" { "Notice" } th scope="col" { "Kind" } th scope="col" { "Sent" } th scope="col" { "Queued" } th scope="col" { "Skipped" } } }
                        tbody {
                            @for notice in &notices {
                                tr {
                                    td { a href=(format!("/console/notices/{tenant}/{}", notice.id.0)) { (notice.subject_line) } }
                                    td { (notice.kind) @if notice.mandatory { " (mandatory)" } }
                                    td { (at(notice.created_at)) }
                                    td { (notice.queued) }
                                    td { (notice.skipped) }
                                }
                            }
                        }
                    }
                }
            }
            @if sends(user, tenant) {
                @if state.policy.notice_kinds.is_empty() {
                    p class="muted" { "privacy.toml declares no kind of notice ([[notice_kind]]), so none can be sent." }
                } @else {
                    form method="post" action="/console/notices" {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="tenant" value=(tenant);
                        fieldset {
                            legend { "Send a notice" }
                            label for="c-kind" { "Kind" }
                            select id="c-kind" name="kind" {
                                @for kind in &state.policy.notice_kinds {
                                    option value=(kind.key) selected[given.kind == kind.key] {
                                        (kind.name) (if kind.mandatory { " — reaches everyone" } else { " — skips who opted out" })
                                    }
                                }
                            }
                            fieldset {
                                legend { "To" }
                                @if operator_tenant {
                                    div { input type="radio" id="to-customers" name="audience" value="customers" checked[audience == "customers"]; label class="choice" for="to-customers" { "every customer's service contacts" } }
                                }
                                div { input type="radio" id="to-category" name="audience" value="category" checked[audience == "category"]; label class="choice" for="to-category" { "everyone holding data of the category below" } }
                                div { input type="radio" id="to-subjects" name="audience" value="subjects" checked[audience == "subjects"]; label class="choice" for="to-subjects" { "the people listed below" } }
                            }
                            label for="c-category" { "Category" }
                            select id="c-category" name="category" {
                                @for category in &state.policy.categories { option value=(category.key) selected[given.category == category.key] { (category.key) " — " (category.name) } }
                            }
                            label for="c-subjects" { "People (subject ids, one per line)" }
                            textarea id="c-subjects" name="subjects" rows="3" { (given.subjects) }
                            label for="c-subject" { "Subject line" }
                            input id="c-subject" type="text" name="subject" value=(given.subject) maxlength="200" required;
                            label for="c-body" { "Text" }
                            textarea id="c-body" name="body" rows="8" maxlength="50000" required { (given.body) }
                        }
                        button type="submit" { "Send" }
                    }
                }
            }
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct ComposeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    subjects: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
}

pub async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ComposeForm>,
) -> Response {
    let (user, csrf) = match super::checked_post(&state, &headers, &form.csrf).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let Some(tenant) = visible_tenant(&state, &user, &form.tenant) else {
        return refused(&user, &csrf);
    };
    if !sends(&user, tenant) {
        return page(
            StatusCode::FORBIDDEN,
            "Notices",
            Some((&user, &csrf)),
            html! { h1 { "Notices" } p { "Notices are sent by a tenant's own admins and DPOs." } },
        );
    }
    let audience = match form.audience.as_str() {
        "customers" if tenant == state.operator => Ok(Audience::Customers),
        "category" => Ok(Audience::Category(form.category.trim().to_owned())),
        "subjects" => form
            .subjects
            .split_whitespace()
            .map(|id| id.parse().map(SubjectId))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| "A person is named by their subject id (a UUID), one per line.".to_owned())
            .and_then(|ids| {
                if ids.is_empty() {
                    Err("List at least one person, or choose another audience.".to_owned())
                } else if ids.len() > 10_000 {
                    Err(
                        "A list holds at most 10,000 people; name a larger audience by category."
                            .to_owned(),
                    )
                } else {
                    Ok(Audience::Subjects(ids))
                }
            }),
        _ => Err("Choose whom the notice goes to.".to_owned()),
    };
    let audience = match audience {
        Ok(audience) => audience,
        Err(problem) => {
            return ledger_page(&state, &user, &csrf, tenant, Some(&problem), &form).await;
        }
    };
    let sending = Sending {
        kind: form.kind.trim().to_owned(),
        subject: form.subject.clone(),
        body: form.body.clone(),
        audience,
    };
    let (policy, operator, actor) = (
        std::sync::Arc::clone(&state.policy),
        state.operator,
        Actor::User(user.id),
    );
    let sent = blocking(&state, move |store, now| {
        match ombud_app::notices::send(store, &policy, operator, tenant, sending, &actor, now) {
            Ok(notice) => Ok(Ok(notice)),
            Err(NoticeError::Invalid { message, .. }) => Ok(Err(message)),
            Err(NoticeError::Store(error)) => Err(ConsoleError::Store(error)),
        }
    })
    .await;
    match sent {
        Ok(Ok(notice)) => {
            Redirect::to(&format!("/console/notices/{tenant}/{}", notice.id.0)).into_response()
        }
        Ok(Err(problem)) => ledger_page(&state, &user, &csrf, tenant, Some(&problem), &form).await,
        Err(error) => trouble(&error),
    }
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    let (user, csrf) = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !reads(&user) {
        return refused(&user, &csrf);
    }
    let missing = || {
        page(
            StatusCode::NOT_FOUND,
            "No such notice",
            Some((&user, &csrf)),
            html! { h1 { "No such notice" } p { a href="/console/notices" { "The ledger" } } },
        )
    };
    let target = visible_tenant(&state, &user, &tenant)
        .filter(|_| !tenant.is_empty())
        .zip(id.parse().map(NoticeId).ok());
    let Some((tenant, id)) = target else {
        return missing();
    };
    let read = blocking(&state, move |store, _| {
        Ok((
            store.notice(tenant, id)?,
            store.notice_deliveries(tenant, id)?,
        ))
    })
    .await;
    let ((notice, body), lines) = match read {
        Ok((Some(found), lines)) => (found, lines),
        Ok((None, _)) => return missing(),
        Err(error) => return trouble(&error),
    };
    let tz = &state.time_zone;
    let at = |t: Timestamp| ombud_app::mail::moment(t, tz);
    page(
        StatusCode::OK,
        "Notice",
        Some((&user, &csrf)),
        html! {
            p { a href=(format!("/console/notices?tenant={tenant}")) { "← The ledger" } }
            h1 { (notice.subject_line) }
            p { (notice.kind) @if notice.mandatory { " (mandatory)" } ", sent " (at(notice.created_at)) ": " (notice.queued) " queued, " (notice.skipped) " skipped." }
            pre class="draft" { (body) }
            h2 { "Who" }
            @if lines.is_empty() {
                p { "Nobody was in the audience." }
            } @else {
                div class="table" tabindex="0" role="region" aria-label="Deliveries" {
                    table {
                        thead { tr { th scope="col" { "Person" } th scope="col" { "Address" } th scope="col" { "State" } th scope="col" { "Queued" } th scope="col" { "Sent" } } }
                        tbody {
                            @for line in &lines {
                                tr {
                                    td { a href=(format!("/console/people/{tenant}/{}", line.subject)) { code { (line.subject.to_string()[..8]) "…" } } }
                                    td { (line.to.as_ref().map(|to| to.masked()).unwrap_or_default()) }
                                    td {
                                        (line.status.to_string())
                                        @if let Some(reason) = &line.reason { ": " (reason.replace('_', " ")) }
                                        @if let Some(error) = &line.last_error { " — " (error) }
                                    }
                                    td { (at(line.queued_at)) }
                                    td { @if let Some(sent) = line.sent_at { (at(sent)) } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
