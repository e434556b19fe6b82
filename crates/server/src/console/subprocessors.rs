//! Sub-processors in the console. The operator's staff see the registry in force, each
//! customer's choices of the optional providers, the change notice the policy's difference
//! calls for (read before it is sent, then sent by admins and DPOs), the changes sent with
//! their windows, and every objection — each resolved here. A customer's people see their own
//! list and the changes they were told of; their admin chooses optional providers; their admins
//! and DPOs object within the window. The rules are the registry's, as the API's routes apply
//! them (`routes::subprocessors`).

use super::{blocking, page, signed_in, trouble, visible_tenant};
use crate::error::ApiError;
use crate::routes::subprocessors::{SinceQuery, drafted, list_of};
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::html;
use ombud_app::console::ConsoleError;
use ombud_app::notices::NoticeError;
use ombud_store::Actor;
use ombud_store::model::{Role, TenantId};
use ombud_store::subprocessors::{ChangeId, Objection, RecipientChange};
use ombud_store::users::User;
use serde::Deserialize;

fn reads(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Dpo | Role::Auditor)
}

fn acts(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Dpo)
}

/// An API refusal as a page's sentence, or a failure of the server.
fn said(error: ApiError) -> Result<String, ConsoleError> {
    match error {
        ApiError::Internal(message) => Err(ConsoleError::Store(ombud_store::StoreError::Database(
            message,
        ))),
        other => Ok(other.to_string()),
    }
}

fn notice_said(error: NoticeError) -> Result<String, ConsoleError> {
    match error {
        NoticeError::Invalid { message, .. } => Ok(message),
        NoticeError::Store(ombud_store::StoreError::NotFound(what)) => {
            Ok(format!("No such {what}."))
        }
        NoticeError::Store(error) => Err(ConsoleError::Store(error)),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RegistryQuery {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    done: String,
}

pub async fn registry(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<RegistryQuery>,
) -> Response {
    let (user, csrf) = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !reads(&user) {
        return page(
            StatusCode::FORBIDDEN,
            "Sub-processors",
            Some((&user, &csrf)),
            html! { h1 { "Sub-processors" } p { "Your role does not read the registry's changes; admins, DPOs and auditors do." } },
        );
    }
    let Some(tenant) = visible_tenant(&state, &user, &query.tenant) else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Sub-processors",
            Some((&user, &csrf)),
            html! { h1 { "Sub-processors" } p class="error" role="alert" { "You cannot see that tenant; choose one from the list." } },
        );
    };
    let done = match query.done.as_str() {
        "sent" => Some("The change notice is sent; the objection window runs."),
        "objected" => Some("The objection is recorded; the operator sees it with the change."),
        "resolved" => Some("The objection's outcome is recorded."),
        "chosen" => Some("The choice is recorded."),
        _ => None,
    };
    registry_page(&state, &user, &csrf, tenant, done, None).await
}

async fn registry_page(
    state: &AppState,
    user: &User,
    csrf: &str,
    tenant: TenantId,
    done: Option<&str>,
    problem: Option<&str>,
) -> Response {
    let now = state.clock.now();
    let list = match list_of(state, tenant, now).await {
        Ok(list) => list,
        Err(error) => {
            return trouble(&ConsoleError::Store(ombud_store::StoreError::Database(
                error.to_string(),
            )));
        }
    };
    let operator = state.operator;
    let (who, on_operator) = (user.clone(), tenant == operator);
    let read = blocking(state, move |store, _| {
        let tenants: Vec<_> = store
            .tenants()?
            .into_iter()
            .filter(|t| who.tenant == operator || t.id == who.tenant)
            .collect();
        let mut choices = vec![];
        if on_operator {
            for customer in tenants.iter().filter(|t| !t.operator) {
                let chosen: Vec<String> = store
                    .selected_recipients(customer.id)?
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                choices.push((customer.name.clone(), chosen));
            }
        }
        let changes: Vec<(RecipientChange, Vec<Objection>)> = store
            .recipient_changes(operator)?
            .into_iter()
            .filter(|c| on_operator || c.told.iter().any(|t| t.tenant == tenant))
            .map(|c| {
                let objections = store
                    .change_objections(operator, c.id)?
                    .into_iter()
                    .filter(|o| on_operator || o.tenant == tenant)
                    .collect();
                Ok((c, objections))
            })
            .collect::<Result<_, ombud_store::StoreError>>()?;
        let tenants: Vec<(TenantId, String)> =
            tenants.into_iter().map(|t| (t.id, t.name)).collect();
        Ok((tenants, choices, changes))
    })
    .await;
    let (tenants, choices, changes) = match read {
        Ok(read) => read,
        Err(error) => return trouble(&error),
    };
    let draft = if on_operator && acts(user) && user.tenant == operator {
        match drafted(
            state,
            SinceQuery {
                since: None,
                effective: None,
            },
        )
        .await
        {
            Ok(draft) => Some(Ok(draft)),
            Err(error) => match said(error) {
                Ok(message) => Some(Err(message)),
                Err(error) => return trouble(&error),
            },
        }
    } else {
        None
    };
    let tz = &state.time_zone;
    let at = |t: Timestamp| ombud_app::mail::moment(t, tz);
    let customer_admin = user.tenant == tenant && !on_operator && user.role == Role::Admin;
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(
        status,
        "Sub-processors",
        Some((user, csrf)),
        html! {
            h1 { "Sub-processors" }
            @if let Some(done) = done { p class="kept" role="status" { (done) } }
            @if let Some(problem) = problem { p class="error" role="alert" { (problem) } }
            @if user.tenant == state.operator {
                form method="get" action="/console/subprocessors" class="filters" {
                    div {
                        label for="s-tenant" { "Tenant" }
                        select id="s-tenant" name="tenant" {
                            @for (id, name) in &tenants { option value=(id) selected[*id == tenant] { (name) } }
                        }
                    }
                    button type="submit" { "Show" }
                }
            }
            @if let Some(next) = &list.next_change {
                p { "An announced change takes effect " (at(next.effective_at)) "." }
            }
            div class="table" tabindex="0" role="region" aria-label="Sub-processors" {
                table {
                    caption { @if on_operator { "The registry in force" } @else { "This customer's sub-processors" } }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Purpose" } th scope="col" { "Country" } th scope="col" { "Safeguard" } @if customer_admin { th scope="col" { "" } } } }
                    tbody {
                        @for entry in &list.subprocessors {
                            tr {
                                td { (entry.name) @if entry.chosen_by_customer { " (optional)" } }
                                td { (entry.purpose) }
                                td { (entry.country_name.clone().or(entry.country.clone()).unwrap_or_else(|| "—".into())) }
                                td { @if entry.outside_eea { (entry.safeguard.clone().unwrap_or_else(|| "—".into())) } @else { "within the EEA" } }
                                @if customer_admin {
                                    td {
                                        @if entry.chosen_by_customer {
                                            form method="post" action="/console/subprocessors/choice" class="inline" {
                                                input type="hidden" name="csrf" value=(csrf);
                                                input type="hidden" name="recipient" value=(entry.id);
                                                button type="submit" name="chosen" value="false" class="quiet" { "Stop using" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if customer_admin {
                @let optional: Vec<_> = state.policy.recipients.iter().filter(|r| r.chosen_by_customer && !list.subprocessors.iter().any(|e| e.id == r.id)).collect();
                @if !optional.is_empty() {
                    form method="post" action="/console/subprocessors/choice" class="filters" {
                        input type="hidden" name="csrf" value=(csrf);
                        div {
                            label for="o-recipient" { "Use an optional provider" }
                            select id="o-recipient" name="recipient" { @for r in &optional { option value=(r.id) { (r.name) " — " (r.purpose) } } }
                        }
                        button type="submit" name="chosen" value="true" { "Use it" }
                    }
                }
            }
            @if !choices.is_empty() {
                h2 { "Customers' choices of optional providers" }
                ul { @for (name, chosen) in &choices { li { (name) ": " @if chosen.is_empty() { "none" } @else { (chosen.join(", ")) } } } }
            }
            @match &draft {
                None => {},
                Some(Err(message)) => { h2 { "The next change notice" } p class="muted" { (message) } },
                Some(Ok(draft)) => {
                    h2 { "The next change notice" }
                    @if draft.changes.is_empty() {
                        p { "The registry in force matches the policy: nothing to announce." }
                    } @else {
                        ul { @for change in &draft.changes { li { (change.recipient) ": " (change.summary) } } }
                        p { "It goes to " (draft.tenants.len()) " customers." }
                        @if let Some(first) = draft.tenants.first() { pre class="draft" { (first.text) } }
                        form method="post" action="/console/subprocessors/changes" {
                            input type="hidden" name="csrf" value=(csrf);
                            label for="c-effective" { "Takes effect on (day; at least the objection window away; empty for at once)" }
                            input id="c-effective" type="date" name="effective";
                            button type="submit" { "Send the change notice" }
                        }
                    }
                }
            }
            h2 { "Changes announced" }
            @if changes.is_empty() {
                p { "None." }
            } @else {
                @for (change, objections) in &changes {
                    h3 { "Sent " (at(change.created_at)) @if let Some(effective) = change.effective_at { ", in effect " (at(effective)) } }
                    ul { @for changed in &change.changes { li { (changed.recipient) ": " (changed.summary) } } }
                    p {
                        @if let Some(until) = change.objection_until { "Objections until " (at(until)) "; " }
                        "told: " (change.told.len()) " customers."
                    }
                    @if objections.is_empty() {
                        p class="muted" { "No objection." }
                    } @else {
                        ul {
                            @for objection in objections {
                                li {
                                    (tenants.iter().find(|(id, _)| *id == objection.tenant).map(|(_, n)| n.as_str()).unwrap_or("a customer"))
                                    " objects to " (objection.recipient) ": " (objection.reason)
                                    @if let Some(resolution) = &objection.resolution { " — " strong { (resolution.outcome) } ": " (resolution.note) }
                                    @else if acts(user) && user.tenant == state.operator {
                                        form method="post" action=(format!("/console/subprocessors/changes/{}/resolution", change.id.0)) {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="customer" value=(objection.tenant);
                                            input type="hidden" name="recipient" value=(objection.recipient);
                                            label for=(format!("r-{}-{}", objection.tenant, objection.recipient)) { "What was done or agreed" }
                                            textarea id=(format!("r-{}-{}", objection.tenant, objection.recipient)) name="note" rows="2" maxlength="2000" required {}
                                            button type="submit" name="outcome" value="accepted" class="quiet" { "Accepted" }
                                            " "
                                            button type="submit" name="outcome" value="withdrawn" class="quiet" { "Withdrawn" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if acts(user) && user.tenant == tenant && !on_operator && change.objection_until.is_some_and(|until| until > state.clock.now()) {
                        form method="post" action=(format!("/console/subprocessors/changes/{}/objections", change.id.0)) {
                            input type="hidden" name="csrf" value=(csrf);
                            fieldset {
                                legend { "Object to this change" }
                                label for=(format!("x-{}", change.id.0)) { "The provider" }
                                select id=(format!("x-{}", change.id.0)) name="recipient" {
                                    @for told in change.told.iter().filter(|t| t.tenant == tenant) {
                                        @for recipient in &told.recipients { option value=(recipient) { (recipient) } }
                                    }
                                }
                                label for=(format!("y-{}", change.id.0)) { "Why" }
                                textarea id=(format!("y-{}", change.id.0)) name="reason" rows="2" maxlength="2000" required {}
                            }
                            button type="submit" { "Object" }
                        }
                    }
                }
            }
        },
    )
}

fn forbidden(user: &User, csrf: &str, why: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Sub-processors",
        Some((user, csrf)),
        html! { h1 { "Sub-processors" } p { (why) } },
    )
}

fn back(tenant: TenantId, done: &str) -> Response {
    Redirect::to(&format!(
        "/console/subprocessors?tenant={tenant}&done={done}"
    ))
    .into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct SendForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    effective: String,
}

pub async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SendForm>,
) -> Response {
    let (user, csrf) = match super::checked_post(&state, &headers, &form.csrf).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if !(acts(&user) && user.tenant == state.operator) {
        return forbidden(
            &user,
            &csrf,
            "Change notices are sent by the operator's admins and DPOs.",
        );
    }
    let effective = Some(form.effective.trim().to_owned()).filter(|e| !e.is_empty());
    let draft = match drafted(
        &state,
        SinceQuery {
            since: None,
            effective,
        },
    )
    .await
    {
        Ok(draft) => draft,
        Err(error) => {
            return match said(error) {
                Ok(message) => {
                    registry_page(&state, &user, &csrf, state.operator, None, Some(&message)).await
                }
                Err(error) => trouble(&error),
            };
        }
    };
    let (operator, actor) = (state.operator, Actor::User(user.id));
    let sent = blocking(&state, move |store, now| {
        Ok(
            ombud_app::subprocessors::send(store, operator, draft, &actor, now)
                .map_err(notice_said),
        )
    })
    .await;
    match sent {
        Ok(Ok(_)) => back(state.operator, "sent"),
        Ok(Err(Ok(message))) => {
            registry_page(&state, &user, &csrf, state.operator, None, Some(&message)).await
        }
        Ok(Err(Err(error))) | Err(error) => trouble(&error),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ChoiceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    chosen: String,
}

pub async fn choose(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ChoiceForm>,
) -> Response {
    let (user, csrf) = match super::checked_post(&state, &headers, &form.csrf).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if user.role != Role::Admin || user.tenant == state.operator {
        return forbidden(
            &user,
            &csrf,
            "Optional sub-processors are chosen by a customer's own admin.",
        );
    }
    let selected = form.chosen == "true";
    let (tenant, actor, recipient) = (
        user.tenant,
        Actor::User(user.id),
        form.recipient.trim().to_owned(),
    );
    let (operator, loaded) = (state.operator, std::sync::Arc::clone(&state.policy));
    let chosen = blocking(&state, move |store, now| {
        let policy = if selected {
            match ombud_app::subprocessors::customers_policy_at(store, operator, &loaded, now) {
                Ok(policy) => policy,
                Err(error) => return Ok(Err(notice_said(error)?)),
            }
        } else {
            loaded
        };
        let id = match ombud_app::subprocessors::choosable(&policy, &recipient) {
            Ok(r) => r.id.clone(),
            Err(error) => return Ok(Err(notice_said(error)?)),
        };
        store.select_recipient(tenant, &id, selected, &actor, now)?;
        Ok(Ok(()))
    })
    .await;
    match chosen {
        Ok(Ok(())) => back(tenant, "chosen"),
        Ok(Err(message)) => registry_page(&state, &user, &csrf, tenant, None, Some(&message)).await,
        Err(error) => trouble(&error),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ObjectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    reason: String,
}

pub async fn object(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ObjectForm>,
) -> Response {
    let (user, csrf) = match super::checked_post(&state, &headers, &form.csrf).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if !acts(&user) || user.tenant == state.operator {
        return forbidden(
            &user,
            &csrf,
            "A customer's own admins and DPOs object to a change.",
        );
    }
    let Ok(id) = id.parse().map(ChangeId) else {
        return registry_page(
            &state,
            &user,
            &csrf,
            user.tenant,
            None,
            Some("No such change notice."),
        )
        .await;
    };
    let (operator, customer, actor) = (state.operator, user.tenant, Actor::User(user.id));
    let objected = blocking(&state, move |store, now| {
        let Some(change) = store.recipient_change(operator, id)? else {
            return Ok(Err("No such change notice.".to_owned()));
        };
        match ombud_app::subprocessors::objection(
            &change,
            customer,
            form.recipient.trim(),
            &form.reason,
            now,
        ) {
            Ok(objection) => {
                store.object_to_change(operator, &objection, &actor)?;
                Ok(Ok(()))
            }
            Err(error) => Ok(Err(notice_said(error)?)),
        }
    })
    .await;
    match objected {
        Ok(Ok(())) => back(user.tenant, "objected"),
        Ok(Err(message)) => {
            registry_page(&state, &user, &csrf, user.tenant, None, Some(&message)).await
        }
        Err(error) => trouble(&error),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
}

pub async fn resolve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ResolveForm>,
) -> Response {
    let (user, csrf) = match super::checked_post(&state, &headers, &form.csrf).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if !(acts(&user) && user.tenant == state.operator) {
        return forbidden(
            &user,
            &csrf,
            "Objections are resolved here by the operator's admins and DPOs.",
        );
    }
    let (Ok(id), Ok(customer)) = (
        id.parse().map(ChangeId),
        form.customer.trim().parse::<TenantId>(),
    ) else {
        return registry_page(
            &state,
            &user,
            &csrf,
            state.operator,
            None,
            Some("No such objection."),
        )
        .await;
    };
    let (operator, actor) = (state.operator, Actor::User(user.id));
    let by = actor.audit_name();
    let resolved = blocking(&state, move |store, now| {
        if store.recipient_change(operator, id)?.is_none() {
            return Ok(Err("No such change notice.".to_owned()));
        }
        let objections = store.change_objections(operator, id)?;
        match ombud_app::subprocessors::resolution(
            &objections,
            ombud_app::subprocessors::Resolving {
                customer,
                recipient: form.recipient.trim(),
                outcome: &form.outcome,
                note: &form.note,
                by_operator: true,
                by: &by,
                now,
            },
        ) {
            Ok((objection, resolution)) => {
                store.resolve_objection(operator, &objection, &resolution, &actor)?;
                Ok(Ok(()))
            }
            Err(error) => Ok(Err(notice_said(error)?)),
        }
    })
    .await;
    match resolved {
        Ok(Ok(())) => back(state.operator, "resolved"),
        Ok(Err(message)) => {
            registry_page(&state, &user, &csrf, state.operator, None, Some(&message)).await
        }
        Err(error) => trouble(&error),
    }
}
