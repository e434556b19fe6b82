//! The breach register in the console: incidents with their 72-hour clocks, opened here; an
//! incident's page with its scope and impact, the assessment, a draft per party to read before
//! sending, the notifications with when each came against the deadline, the authority's
//! filing, closing, and the timeline. The rules are the register's (`ombud_app::breach`,
//! `ombud_app::notify`), as the API applies them: admins and DPOs act, auditors read.
//!
//! Times typed into a form are read in the controller's time zone. A time the clocks skip
//! (spring forward) is refused; a time they pass twice (autumn) is taken at its earlier
//! instant, so a breach clock never runs later than either reading allows.

use super::{blocking, page, signed_in, trouble, visible_tenant};
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use maud::{Markup, html};
use ombud_app::console::ConsoleError;
use ombud_app::notices::NoticeError;
use ombud_app::notify::{Draft, Party};
use ombud_store::Actor;
use ombud_store::incidents::{Incident, IncidentId, IncidentStep};
use ombud_store::model::{Role, TenantId};
use ombud_store::users::User;
use serde::Deserialize;

fn reads(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Dpo | Role::Auditor)
}

fn acts(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Dpo)
}

fn words(text: &str) -> String {
    text.replace('_', " ")
}

/// A moment typed as `YYYY-MM-DDTHH:MM` (a `datetime-local` field) in the controller's zone.
pub(super) fn local_moment(
    text: &str,
    field: &str,
    tz: &TimeZone,
) -> Result<Option<Timestamp>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let civil: jiff::civil::DateTime = text
        .parse()
        .map_err(|_| format!("The {field} is a date and time like 2026-11-29T14:30."))?;
    let zone = tz.iana_name().unwrap_or("UTC");
    let ambiguous = tz.to_ambiguous_zoned(civil);
    if matches!(ambiguous.offset(), jiff::tz::AmbiguousOffset::Gap { .. }) {
        return Err(format!(
            "{text} does not exist in {zone}: the clocks skip it. Check the {field}."
        ));
    }
    // In a fold the earlier instant: a deadline counted from it comes no later than either.
    ambiguous
        .earlier()
        .map(|z| Some(z.timestamp()))
        .map_err(|e| format!("The {field} cannot be placed in {zone}: {e}"))
}

fn link(tenant: TenantId, id: IncidentId) -> String {
    format!("/console/incidents/{tenant}/{}", id.0)
}

#[derive(Debug, Default, Deserialize)]
pub struct RegisterQuery {
    #[serde(default)]
    tenant: String,
}

fn refused(user: &User, csrf: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Incidents",
        Some((user, csrf)),
        html! { h1 { "Incidents" } p { "Your role does not read the breach register; admins, DPOs and auditors do." } },
    )
}

fn clock(incident: &Incident, now: Timestamp) -> Markup {
    let late = ombud_app::breach::overdue(incident, now);
    html! {
        @if late { strong class="broken" { (ombud_app::breach::time_left(incident, now)) } }
        @else { (ombud_app::breach::time_left(incident, now)) }
    }
}

pub async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<RegisterQuery>,
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
            "Incidents",
            Some((&user, &csrf)),
            html! { h1 { "Incidents" } p class="error" role="alert" { "You cannot see that tenant; choose one from the list." } },
        );
    };
    register_page(&state, &user, &csrf, tenant, None, &OpenForm::default()).await
}

async fn register_page(
    state: &AppState,
    user: &User,
    csrf: &str,
    tenant: TenantId,
    problem: Option<&str>,
    given: &OpenForm,
) -> Response {
    let (who, operator) = (user.clone(), state.operator);
    let read = blocking(state, move |store, _| {
        let tenants: Vec<_> = store
            .tenants()?
            .into_iter()
            .filter(|t| who.tenant == operator || t.id == who.tenant)
            .map(|t| (t.id, t.name))
            .collect();
        Ok((tenants, store.incidents(tenant, false)?))
    })
    .await;
    let (tenants, incidents) = match read {
        Ok(read) => read,
        Err(error) => return trouble(&error),
    };
    let tz = &state.time_zone;
    let now = state.clock.now();
    let at = |t: Timestamp| ombud_app::mail::moment(t, tz);
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(
        status,
        "Incidents",
        Some((user, csrf)),
        html! {
            h1 { "Incidents" }
            @if let Some(problem) = problem { p class="error" role="alert" { (problem) } }
            @if user.tenant == state.operator {
                form method="get" action="/console/incidents" class="filters" {
                    div {
                        label for="i-tenant" { "Tenant" }
                        select id="i-tenant" name="tenant" {
                            @for (id, name) in &tenants { option value=(id) selected[*id == tenant] { (name) } }
                        }
                    }
                    button type="submit" { "Show" }
                }
            }
            @if incidents.is_empty() {
                p { "No incident is in the register." }
            } @else {
                div class="table" tabindex="0" role="region" aria-label="The breach register" {
                    table {
                        caption { "The breach register, the newest first" }
                        thead { tr { th scope="col" { "Incident" } th scope="col" { "Aware" } th scope="col" { "The authority's clock (72 hours)" } th scope="col" { "Status" } } }
                        tbody {
                            @for incident in &incidents {
                                tr {
                                    td { a href=(link(tenant, incident.id)) { (incident.title) } }
                                    td { (at(incident.aware_at)) }
                                    td { (clock(incident, now)) }
                                    td { @if incident.is_open() { "open" } @else { "closed " (at(incident.closed_at.unwrap_or(now))) } }
                                }
                            }
                        }
                    }
                }
            }
            @if acts(user) {
                form method="post" action="/console/incidents" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="tenant" value=(tenant);
                    fieldset {
                        legend { "Open an incident" }
                        label for="o-title" { "Title" }
                        input id="o-title" type="text" name="title" value=(given.title) maxlength="200" required;
                        label for="o-description" { "What happened (no personal data)" }
                        textarea id="o-description" name="description" rows="3" maxlength="5000" required { (given.description) }
                        label for="o-aware" { "Aware since (" (tz.iana_name().unwrap_or("UTC")) "; empty for now)" }
                        input id="o-aware" type="datetime-local" name="aware_at" value=(given.aware_at);
                        label for="o-occurred" { "Began (where known)" }
                        input id="o-occurred" type="datetime-local" name="occurred_at" value=(given.occurred_at);
                    }
                    button type="submit" { "Open the incident and start its clock" }
                }
            }
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    aware_at: String,
    #[serde(default)]
    occurred_at: String,
}

/// A POST's checks: origin, session, token, role, tenant.
async fn posted(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
    tenant: &str,
) -> Result<(User, String, TenantId), Response> {
    super::tenant_post(
        state,
        headers,
        (csrf, tenant),
        "Incidents",
        acts,
        "Incidents are handled by admins and DPOs.",
    )
    .await
}

pub async fn open(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<OpenForm>,
) -> Response {
    let (user, csrf, tenant) = match posted(&state, &headers, &form.csrf, &form.tenant).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let tz = &state.time_zone;
    let now = state.clock.now();
    let times = local_moment(&form.aware_at, "awareness time", tz)
        .and_then(|aware| Ok((aware, local_moment(&form.occurred_at, "start", tz)?)));
    let opened = times.and_then(|(aware_at, occurred_at)| {
        ombud_app::breach::open(
            &state.policy,
            tz,
            ombud_app::breach::Opening {
                title: form.title.clone(),
                description: form.description.clone(),
                aware_at,
                occurred_at,
                categories: vec![],
                consequences: None,
            },
            now,
        )
        .map_err(|(_, message)| message)
    });
    let incident = match opened {
        Ok(incident) => incident,
        Err(problem) => {
            return register_page(&state, &user, &csrf, tenant, Some(&problem), &form).await;
        }
    };
    let actor = Actor::User(user.id);
    let detail = ombud_app::breach::opened_detail(&incident);
    match blocking(&state, move |store, now| {
        Ok(store.save_incident(tenant, &incident, "open", detail, &actor, now)?)
    })
    .await
    {
        Ok(saved) => Redirect::to(&link(tenant, saved.id)).into_response(),
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
    let Some((tenant, id)) = target(&state, &user, &tenant, &id) else {
        return missing(&user, &csrf);
    };
    incident_page(&state, &user, &csrf, tenant, id, StatusCode::OK, None, None).await
}

fn target(state: &AppState, user: &User, tenant: &str, id: &str) -> Option<(TenantId, IncidentId)> {
    let tenant = visible_tenant(state, user, tenant).filter(|_| !tenant.is_empty())?;
    Some((tenant, id.parse().map(IncidentId).ok()?))
}

fn missing(user: &User, csrf: &str) -> Response {
    page(
        StatusCode::NOT_FOUND,
        "No such incident",
        Some((user, csrf)),
        html! { h1 { "No such incident" } p { a href="/console/incidents" { "The register" } } },
    )
}

#[allow(clippy::too_many_arguments)]
async fn incident_page(
    state: &AppState,
    user: &User,
    csrf: &str,
    tenant: TenantId,
    id: IncidentId,
    status: StatusCode,
    problem: Option<&str>,
    drafts: Option<&[Draft]>,
) -> Response {
    let read = blocking(state, move |store, _| {
        Ok((
            store.incident(tenant, id)?,
            store.incident_timeline(tenant, id)?,
        ))
    })
    .await;
    match read {
        Ok((Some(incident), timeline)) => page(
            status,
            "Incident",
            Some((user, csrf)),
            incident_body(
                state, user, csrf, tenant, &incident, &timeline, problem, drafts,
            ),
        ),
        Ok((None, _)) => missing(user, csrf),
        Err(error) => trouble(&error),
    }
}

#[allow(clippy::too_many_arguments)]
fn incident_body(
    state: &AppState,
    user: &User,
    csrf: &str,
    tenant: TenantId,
    incident: &Incident,
    timeline: &[IncidentStep],
    problem: Option<&str>,
    drafts: Option<&[Draft]>,
) -> Markup {
    let tz = &state.time_zone;
    let now = state.clock.now();
    let at = |t: Timestamp| ombud_app::mail::moment(t, tz);
    let base = link(tenant, incident.id);
    let open = incident.is_open();
    let hidden = html! {
        input type="hidden" name="csrf" value=(csrf);
        input type="hidden" name="tenant" value=(tenant);
    };
    html! {
        p { a href=(format!("/console/incidents?tenant={tenant}")) { "← The register" } }
        h1 { (incident.title) }
        @if let Some(problem) = problem { p class="error" role="alert" { (problem) } }
        dl class="facts" {
            dt { "Aware since" } dd { (at(incident.aware_at)) }
            dt { "The authority by" } dd { (at(incident.deadline_at)) " — " (clock(incident, now)) }
            @if let Some(occurred) = incident.occurred_at { dt { "Began" } dd { (at(occurred)) } }
            dt { "What happened" } dd { (incident.description) }
            dt { "Consequences" } dd { (incident.consequences.as_deref().unwrap_or("not assessed yet")) }
            dt { "Measures" } dd { (incident.measures.as_deref().unwrap_or("none recorded yet")) }
            @if let Some(risk) = &incident.risk_unlikely { dt { "Risk" } dd { "unlikely to result in a risk to people (Art. 33(1)): " (risk.reasons) } }
            @if let Some(exempt) = &incident.subjects_exempt { dt { "People concerned" } dd { "not told, Art. 34(3) " (words(&exempt.ground)) ": " (exempt.reasons) } }
            dt { "Status" } dd { @if open { "open" } @else { "closed " (at(incident.closed_at.unwrap_or(now))) } }
        }
        h2 { "Scope and impact" }
        @match &incident.impact {
            None => p { "Not scoped yet." },
            Some(impact) => {
                p {
                    (impact.subjects) " people, " (impact.records) " records"
                    @if impact.high_risk { strong class="broken" { " — special categories or national identity numbers: the people concerned may have to be told (Art. 34)" } }
                }
                ul {
                    @for reached in &impact.tenants {
                        li {
                            (reached.name) @if reached.operator { " (the operator's own data)" } @else { " (a customer: controller, to be told)" }
                            ": " (reached.subjects) " people — "
                            (reached.categories.iter().map(|c| c.category.clone()).collect::<Vec<_>>().join(", "))
                        }
                    }
                }
            }
        }
        h2 { "Notifications" }
        @if incident.notifications.is_empty() {
            p { "None given yet." }
        } @else {
            ul {
                @for given in &incident.notifications {
                    li {
                        (words(&given.party)) ", phase " (given.phase) ", " (at(given.at))
                        @if let Some(reference) = &given.reference { " — reference " (reference) }
                        @if given.recipients > 0 { " — to " (given.recipients) }
                    }
                }
            }
        }
        @if let Some(drafts) = drafts {
            h2 { "Drafts" }
            @for draft in drafts {
                h3 { "To " (draft.to) ", phase " (draft.phase) }
                @if !draft.missing.is_empty() { p class="soon" { "Still to come in a later phase: " (draft.missing.join(", ")) } }
                pre class="draft" { (draft.text) }
            }
        }
        @if open && acts(user) {
            h2 { "Handle it" }
            form method="get" action=(format!("{base}/draft")) class="filters" {
                div {
                    label for="d-party" { "Read the draft for" }
                    select id="d-party" name="party" {
                        option value="authority" { "the supervisory authority" }
                        option value="customers" { "the customers it reached" }
                        option value="subjects" { "the people concerned" }
                    }
                }
                button type="submit" { "Show the draft" }
            }
            form method="post" action=(format!("{base}/scope")) {
                (hidden)
                fieldset {
                    legend { "Scope: who and what it touched, from the audit log" }
                    label for="s-key" { "What one API key read (its id), or leave empty and name categories" }
                    input id="s-key" type="text" name="key" autocomplete="off";
                    label for="s-categories" { "Categories held (comma-separated)" }
                    input id="s-categories" type="text" name="categories" autocomplete="off";
                    label for="s-from" { "From" }
                    input id="s-from" type="datetime-local" name="from" required;
                    label for="s-until" { "Until" }
                    input id="s-until" type="datetime-local" name="until" required;
                }
                button type="submit" { "Scope" }
            }
            form method="post" action=(format!("{base}/assess")) {
                (hidden)
                fieldset {
                    legend { "Assess" }
                    label for="a-consequences" { "Likely consequences" }
                    textarea id="a-consequences" name="consequences" rows="2" maxlength="5000" { (incident.consequences.as_deref().unwrap_or("")) }
                    label for="a-measures" { "Measures taken or proposed" }
                    textarea id="a-measures" name="measures" rows="2" maxlength="5000" { (incident.measures.as_deref().unwrap_or("")) }
                    div { input type="checkbox" id="a-unlikely" name="risk" value="unlikely"; label class="choice" for="a-unlikely" { "Unlikely to result in a risk to people: the authority need not be told (Art. 33(1))" } }
                    label for="a-reasons" { "Why (required with the box above; Art. 33(5))" }
                    textarea id="a-reasons" name="reasons" rows="2" maxlength="5000" {}
                    label for="a-exempt" { "The people concerned need not be told (Art. 34(3))" }
                    select id="a-exempt" name="subjects_exempt" {
                        option value="" { "no: they are told if the risk to them is high" }
                        option value="unintelligible" { "(a) the data was unintelligible to others, e.g. encrypted" }
                        option value="risk_removed" { "(b) later measures make the high risk no longer likely" }
                        option value="disproportionate" { "(c) it would take disproportionate effort: a public communication instead" }
                    }
                    label for="a-exemption-reasons" { "Why that ground holds (required with a ground)" }
                    textarea id="a-exemption-reasons" name="exemption_reasons" rows="2" maxlength="5000" {}
                    label for="a-public" { "The public communication made instead, and where (for (c))" }
                    textarea id="a-public" name="public_communication" rows="2" maxlength="5000" {}
                }
                button type="submit" { "Record the assessment" }
            }
            form method="post" action=(format!("{base}/notify")) {
                (hidden)
                fieldset {
                    legend { "Notify" }
                    label for="n-party" { "Whom" }
                    select id="n-party" name="party" {
                        option value="customers" { "the customers it reached (their contacts)" }
                        option value="subjects" { "the people concerned" }
                    }
                    label for="n-delay" { "Why late (required after the deadline)" }
                    textarea id="n-delay" name="delay_reason" rows="2" maxlength="2000" {}
                }
                button type="submit" { "Send" }
            }
            form method="post" action=(format!("{base}/authority")) {
                (hidden)
                fieldset {
                    legend { "The authority was notified" }
                    label for="f-reference" { "Its case reference" }
                    input id="f-reference" type="text" name="reference" maxlength="200" required;
                    label for="f-filed" { "Filed at (empty for now)" }
                    input id="f-filed" type="datetime-local" name="filed_at";
                    label for="f-delay" { "Why late (required after the deadline)" }
                    textarea id="f-delay" name="delay_reason" rows="2" maxlength="2000" {}
                }
                button type="submit" { "Record the filing" }
            }
            form method="post" action=(format!("{base}/close")) {
                (hidden)
                fieldset {
                    legend { "Close" }
                    label for="c-measures" { "Measures taken, finally" }
                    textarea id="c-measures" name="measures" rows="2" maxlength="5000" { (incident.measures.as_deref().unwrap_or("")) }
                }
                button type="submit" class="danger" { "Close the incident" }
            }
        }
        h2 { "Timeline" }
        ol class="timeline" {
            @for step in timeline {
                li { (at(step.at)) " — " (words(&step.kind)) " by " (step.actor) }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DraftQuery {
    #[serde(default)]
    party: String,
}

pub async fn draft(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, String)>,
    Query(query): Query<DraftQuery>,
) -> Response {
    let (user, csrf) = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !reads(&user) {
        return refused(&user, &csrf);
    }
    let Some((tenant, id)) = target(&state, &user, &tenant, &id) else {
        return missing(&user, &csrf);
    };
    let party = match Party::parse(&query.party) {
        Ok(party) => party,
        Err(error) => {
            return incident_page(
                &state,
                &user,
                &csrf,
                tenant,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&error.to_string()),
                None,
            )
            .await;
        }
    };
    let incident = match blocking(&state, move |store, _| Ok(store.incident(tenant, id)?)).await {
        Ok(Some(incident)) => incident,
        Ok(None) => return missing(&user, &csrf),
        Err(error) => return trouble(&error),
    };
    match ombud_app::notify::drafts(
        &state.policy,
        &state.time_zone,
        &incident,
        party,
        None,
        None,
    ) {
        Ok(drafts) => {
            incident_page(
                &state,
                &user,
                &csrf,
                tenant,
                id,
                StatusCode::OK,
                None,
                Some(&drafts),
            )
            .await
        }
        Err(NoticeError::Invalid { message, .. }) => {
            incident_page(
                &state,
                &user,
                &csrf,
                tenant,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&message),
                None,
            )
            .await
        }
        Err(NoticeError::Store(error)) => trouble(&ConsoleError::Store(error)),
    }
}

/// Why a step of the register was refused, or a failure of the server.
enum Refused {
    Because(String),
    Trouble(ConsoleError),
}

impl From<ombud_store::StoreError> for Refused {
    fn from(error: ombud_store::StoreError) -> Self {
        match error {
            ombud_store::StoreError::Conflict(_) => Refused::Because(
                "Someone changed this incident meanwhile; here it is as it is now.".into(),
            ),
            ombud_store::StoreError::NotFound(_) => Refused::Because("No such incident.".into()),
            other => Refused::Trouble(ConsoleError::Store(other)),
        }
    }
}

impl From<NoticeError> for Refused {
    fn from(error: NoticeError) -> Self {
        match error {
            NoticeError::Invalid { message, .. } => Refused::Because(message),
            NoticeError::Store(error) => error.into(),
        }
    }
}

/// Runs one step on an incident and answers with its page: the incident again after success,
/// or with why the step was refused.
async fn step(
    state: AppState,
    headers: HeaderMap,
    (tenant, id): (String, String),
    csrf: String,
    form_tenant: String,
    work: impl FnOnce(
        &dyn ombud_store::Store,
        &AppState,
        TenantId,
        Incident,
        &Actor,
        Timestamp,
    ) -> Result<(), Refused>
    + Send
    + 'static,
) -> Response {
    let (user, csrf, acting) = match posted(&state, &headers, &csrf, &form_tenant).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let Some((tenant, id)) = target(&state, &user, &tenant, &id).filter(|(t, _)| *t == acting)
    else {
        return missing(&user, &csrf);
    };
    let (inner, actor) = (state.clone(), Actor::User(user.id));
    let ran = tokio::task::spawn_blocking(move || {
        let now = inner.clock.now();
        let incident = inner
            .store
            .incident(tenant, id)?
            .ok_or(Refused::Because("No such incident.".into()))?;
        if !incident.is_open() {
            return Err(Refused::Because(
                "The incident is closed; the register keeps it as it is.".into(),
            ));
        }
        work(inner.store.as_ref(), &inner, tenant, incident, &actor, now)
    })
    .await;
    match ran {
        Ok(Ok(())) => Redirect::to(&link(tenant, id)).into_response(),
        Ok(Err(Refused::Because(message))) => {
            incident_page(
                &state,
                &user,
                &csrf,
                tenant,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&message),
                None,
            )
            .await
        }
        Ok(Err(Refused::Trouble(error))) => trouble(&error),
        Err(join) => trouble(&ConsoleError::Store(ombud_store::StoreError::Database(
            join.to_string(),
        ))),
    }
}

fn save(
    store: &dyn ombud_store::Store,
    tenant: TenantId,
    changed: Result<Incident, ombud_app::breach::Refusal>,
    kind: &'static str,
    actor: &Actor,
    now: Timestamp,
) -> Result<(), Refused> {
    let changed = changed.map_err(|(_, message)| Refused::Because(message))?;
    let detail = ombud_app::breach::closed_detail(&changed);
    store.save_incident(tenant, &changed, kind, detail, actor, now)?;
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
pub struct ScopeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    categories: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

pub async fn scope(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(target): Path<(String, String)>,
    Form(form): Form<ScopeForm>,
) -> Response {
    let tenant_text = form.tenant.clone();
    step(
        state,
        headers,
        target,
        form.csrf.clone(),
        tenant_text,
        move |store, state, tenant, incident, actor, now| {
            let tz = &state.time_zone;
            let from = local_moment(&form.from, "window's start", tz).map_err(Refused::Because)?;
            let until = local_moment(&form.until, "window's end", tz).map_err(Refused::Because)?;
            let (Some(from), Some(until)) = (from, until) else {
                return Err(Refused::Because("Give the window's start and end.".into()));
            };
            let everywhere = tenant == state.operator;
            let visible = if everywhere {
                store.tenants()?
            } else {
                store.tenant(tenant)?.into_iter().collect()
            };
            let ask = ombud_app::breach::ScopeAsk {
                key: Some(form.key.trim().to_owned()).filter(|k| !k.is_empty()),
                categories: form
                    .categories
                    .split(',')
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty())
                    .collect(),
                tenants: vec![],
                from,
                until,
            };
            ombud_app::breach::scope(
                store,
                &state.policy,
                tenant,
                incident.id,
                ask,
                visible,
                actor,
                now,
            )
            .map(|_| ())
            .map_err(|e| match e {
                ombud_app::breach::ScopeError::Refused(_, message) => Refused::Because(message),
                ombud_app::breach::ScopeError::Store(error) => error.into(),
            })
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct AssessForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    consequences: String,
    #[serde(default)]
    measures: String,
    #[serde(default)]
    risk: String,
    #[serde(default)]
    reasons: String,
    #[serde(default)]
    subjects_exempt: String,
    #[serde(default)]
    exemption_reasons: String,
    #[serde(default)]
    public_communication: String,
}

fn given(text: &str) -> Option<&str> {
    Some(text.trim()).filter(|t| !t.is_empty())
}

pub async fn assess(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(target): Path<(String, String)>,
    Form(form): Form<AssessForm>,
) -> Response {
    let tenant_text = form.tenant.clone();
    step(
        state,
        headers,
        target,
        form.csrf.clone(),
        tenant_text,
        move |store, _, tenant, incident, actor, now| {
            let by = actor.audit_name();
            let changed = ombud_app::breach::assess(
                incident,
                ombud_app::breach::Assessment {
                    measures: given(&form.measures),
                    consequences: given(&form.consequences),
                    risk: given(&form.risk),
                    reasons: given(&form.reasons),
                    subjects_exempt: given(&form.subjects_exempt),
                    exemption_reasons: given(&form.exemption_reasons),
                    public_communication: given(&form.public_communication),
                    by: &by,
                    now,
                },
            );
            save(store, tenant, changed, "assess", actor, now)
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct NotifyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    party: String,
    #[serde(default)]
    delay_reason: String,
}

pub async fn notify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(target): Path<(String, String)>,
    Form(form): Form<NotifyForm>,
) -> Response {
    let tenant_text = form.tenant.clone();
    step(
        state,
        headers,
        target,
        form.csrf.clone(),
        tenant_text,
        move |store, state, tenant, incident, actor, now| {
            let party = Party::parse(&form.party)?;
            ombud_app::notify::send(
                store,
                &state.policy,
                &state.time_zone,
                state.operator,
                tenant,
                incident,
                party,
                None,
                given(&form.delay_reason),
                actor,
                now,
            )?;
            Ok(())
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct AuthorityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    filed_at: String,
    #[serde(default)]
    delay_reason: String,
}

pub async fn authority(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(target): Path<(String, String)>,
    Form(form): Form<AuthorityForm>,
) -> Response {
    let tenant_text = form.tenant.clone();
    step(
        state,
        headers,
        target,
        form.csrf.clone(),
        tenant_text,
        move |store, state, tenant, incident, actor, now| {
            let filed_at = local_moment(&form.filed_at, "filing time", &state.time_zone)
                .map_err(Refused::Because)?;
            ombud_app::notify::record_authority(
                store,
                &state.policy,
                &state.time_zone,
                tenant,
                incident,
                ombud_app::notify::Filing {
                    reference: &form.reference,
                    filed_at,
                    delay_reason: given(&form.delay_reason),
                },
                actor,
                now,
            )?;
            Ok(())
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    measures: String,
}

pub async fn close(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(target): Path<(String, String)>,
    Form(form): Form<CloseForm>,
) -> Response {
    let tenant_text = form.tenant.clone();
    step(
        state,
        headers,
        target,
        form.csrf.clone(),
        tenant_text,
        move |store, _, tenant, incident, actor, now| {
            let changed = ombud_app::breach::close(incident, given(&form.measures), None, now);
            save(store, tenant, changed, "close", actor, now)
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::local_moment;
    use jiff::Timestamp;
    use jiff::tz::TimeZone;

    fn helsinki(text: &str) -> Result<Option<Timestamp>, String> {
        local_moment(
            text,
            "awareness time",
            &TimeZone::get("Europe/Helsinki").expect("zone"),
        )
    }

    fn at(text: &str) -> Option<Timestamp> {
        Some(text.parse().expect("a timestamp"))
    }

    #[test]
    fn a_typed_time_is_read_in_the_controllers_zone_on_the_edge_dates() {
        assert_eq!(helsinki(""), Ok(None));
        // Winter (+02:00) and summer (+03:00).
        assert_eq!(helsinki("2026-01-31T23:30"), Ok(at("2026-01-31T21:30:00Z")));
        assert_eq!(helsinki("2026-07-01T00:15"), Ok(at("2026-06-30T21:15:00Z")));
        // A local date that is another day in UTC, and a leap day.
        assert_eq!(helsinki("2028-02-29T01:00"), Ok(at("2028-02-28T23:00:00Z")));
        assert!(
            helsinki("2027-02-29T01:00").is_err(),
            "no 29 February in 2027"
        );
        // Spring forward: 03:00–03:59 on 29 March 2026 never happens in Helsinki.
        let skipped = helsinki("2026-03-29T03:30").expect_err("refused");
        assert!(
            skipped.contains("does not exist in Europe/Helsinki"),
            "{skipped}"
        );
        // Fall back: 03:30 on 25 October 2026 happens twice; the earlier one is taken, so a
        // 72-hour clock from it ends no later than from either.
        assert_eq!(helsinki("2026-10-25T03:30"), Ok(at("2026-10-25T00:30:00Z")));
        let wrong = helsinki("25.10.2026 03:30").expect_err("refused");
        assert!(wrong.contains("like 2026-11-29T14:30"), "{wrong}");
    }
}
