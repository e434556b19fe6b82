//! Settings, for admins: the console's users (invited with a setup link shown once, reset,
//! disabled), API keys (created with the secret shown once, revoked at once on every replica)
//! and, for the operator's admins, the tenants — created, and each customer's details as
//! controller and its portal's look. A customer's admin manages its own tenant only.

use super::{TenantForm, blocking, page, signed_in, trouble, visible_tenant};
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::{Markup, html};
use ombud_app::console::ConsoleError;
use ombud_core::{Identity, IdentityKind};
use ombud_store::crypto::{api_secret_hash, new_api_secret};
use ombud_store::model::{ApiKey, ApiKeyId, NewApiKey, Role, Tenant, TenantId};
use ombud_store::users::{User, UserId};
use ombud_store::{Actor, StoreError};
use serde::Deserialize;

/// Roles a console user may have, and those an API key may.
const USER_ROLES: [Role; 4] = [Role::Admin, Role::Dpo, Role::Agent, Role::Auditor];
const KEY_ROLES: [Role; 5] = [
    Role::Admin,
    Role::Dpo,
    Role::Agent,
    Role::Service,
    Role::Auditor,
];

fn refused(user: &User, csrf: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Settings",
        Some((user, csrf)),
        html! { h1 { "Settings" } p { "Settings are for admins." } },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct SettingsQuery {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    done: String,
}

struct Sheet {
    tenants: Vec<Tenant>,
    tenant: Tenant,
    users: Vec<User>,
    keys: Vec<ApiKey>,
    /// For a customer seen by the operator's admins: its service-message contacts, people of
    /// the operator's tenant, with their addresses masked.
    contacts: Vec<(ombud_store::model::SubjectId, String)>,
}

/// What a page says once, after a step: a setup link or a key's secret, or what was done.
enum Once {
    Nothing,
    Done(&'static str),
    Link(String, String),
    Secret(String, String),
    Problem(String),
}

async fn sheet(state: &AppState, user: &User, tenant: TenantId) -> Result<Sheet, ConsoleError> {
    let (who, operator) = (user.clone(), state.operator);
    blocking(state, move |store, _| {
        let tenants: Vec<Tenant> = store
            .tenants()?
            .into_iter()
            .filter(|t| who.tenant == operator || t.id == who.tenant)
            .collect();
        let tenant = tenants
            .iter()
            .find(|t| t.id == tenant)
            .cloned()
            .ok_or(ConsoleError::Store(StoreError::NotFound("tenant")))?;
        let mut contacts = vec![];
        if who.tenant == operator && !tenant.operator {
            for subject in store.tenant_contacts(operator, tenant.id)? {
                let address = store
                    .subject(operator, subject)?
                    .and_then(|s| {
                        s.identities
                            .iter()
                            .find(|i| i.kind() == IdentityKind::Email)
                            .map(Identity::masked)
                    })
                    .unwrap_or_default();
                contacts.push((subject, address));
            }
        }
        Ok(Sheet {
            users: store.users(tenant.id)?,
            keys: store.api_keys(tenant.id)?,
            contacts,
            tenants,
            tenant,
        })
    })
    .await
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<SettingsQuery>,
) -> Response {
    let (user, csrf) = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if user.role != Role::Admin {
        return refused(&user, &csrf);
    }
    let Some(tenant) = visible_tenant(&state, &user, &query.tenant) else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Settings",
            Some((&user, &csrf)),
            html! { h1 { "Settings" } p class="error" role="alert" { "You cannot manage that tenant; choose one from the list." } },
        );
    };
    let once = match query.done.as_str() {
        "revoked" => Once::Done("The key is revoked; every replica refuses it within a second."),
        "disabled" => Once::Done("The user is disabled; their sessions have ended."),
        "tenant" => Once::Done("The tenant is created; set its details as controller below."),
        "profile" => {
            Once::Done("The customer's details are saved; its portal and mails use them now.")
        }
        _ => Once::Nothing,
    };
    answer(&state, &user, &csrf, tenant, once).await
}

async fn answer(
    state: &AppState,
    user: &User,
    csrf: &str,
    tenant: TenantId,
    once: Once,
) -> Response {
    let sheet = match sheet(state, user, tenant).await {
        Ok(sheet) => sheet,
        Err(error) => return trouble(&error),
    };
    let status = match once {
        Once::Problem(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Once::Link(..) | Once::Secret(..) => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    page(
        status,
        "Settings",
        Some((user, csrf)),
        body(state, user, csrf, &sheet, &once),
    )
}

fn body(state: &AppState, user: &User, csrf: &str, sheet: &Sheet, once: &Once) -> Markup {
    let tz = &state.time_zone;
    let at = |t: Timestamp| ombud_app::mail::moment(t, tz);
    let now = state.clock.now();
    let tenant = sheet.tenant.id.to_string();
    let operator_admin = user.tenant == state.operator;
    let hidden = html! {
        input type="hidden" name="csrf" value=(csrf);
        input type="hidden" name="tenant" value=(tenant);
    };
    html! {
        h1 { "Settings" }
        @match once {
            Once::Nothing => {},
            Once::Done(done) => p class="kept" role="status" { (done) },
            Once::Problem(problem) => p class="error" role="alert" { (problem) },
            Once::Link(what, link) => div role="status" {
                p class="kept" { (what) " Send them this link; it works once, for 24 hours, and is shown only now:" }
                p { code id="once" class="wrap" { (link) } }
            },
            Once::Secret(what, secret) => div role="status" {
                p class="kept" { (what) " Its secret is shown only now; only its hash is kept:" }
                p { code id="once" class="wrap" { (secret) } }
            },
        }
        @if operator_admin {
            form method="get" action="/console/settings" class="filters" {
                div {
                    label for="t-tenant" { "Tenant" }
                    select id="t-tenant" name="tenant" {
                        @for t in &sheet.tenants { option value=(t.id) selected[t.id == sheet.tenant.id] { (t.name) } }
                    }
                }
                button type="submit" { "Show" }
            }
        }
        h2 { "Console users of " (sheet.tenant.name) }
        div class="table" tabindex="0" role="region" aria-label="Console users" {
            table {
                thead { tr { th scope="col" { "Address" } th scope="col" { "Role" } th scope="col" { "State" } th scope="col" { "" } } }
                tbody {
                    @for person in &sheet.users {
                        tr {
                            td { (person.email.expose()) }
                            td { (person.role.as_str()) }
                            td {
                                @if person.disabled_at.is_some() { "disabled" }
                                @else if person.password_hash.is_none() { "invited, no password yet" }
                                @else if person.locked_until.is_some_and(|l| l > now) { "locked until " (at(person.locked_until.unwrap_or(now))) }
                                @else { "active" }
                            }
                            td {
                                @if person.disabled_at.is_none() && person.id != user.id {
                                    form method="post" action=(format!("/console/settings/users/{}/reset", person.id)) class="inline" {
                                        (hidden) button type="submit" class="quiet" { "New setup link" }
                                    }
                                    " "
                                    form method="post" action=(format!("/console/settings/users/{}/disable", person.id)) class="inline" {
                                        (hidden) button type="submit" class="quiet" { "Disable" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        form method="post" action="/console/settings/users" class="filters" {
            (hidden)
            input type="hidden" name="once" value=(form_once());
            div { label for="u-email" { "Invite by address" } input id="u-email" type="email" name="email" required; }
            div {
                label for="u-role" { "Role" }
                select id="u-role" name="role" { @for role in USER_ROLES { option value=(role.as_str()) { (role.as_str()) } } }
            }
            button type="submit" { "Invite" }
        }
        h2 { "API keys of " (sheet.tenant.name) }
        div class="table" tabindex="0" role="region" aria-label="API keys" {
            table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Created" } th scope="col" { "State" } th scope="col" { "" } } }
                tbody {
                    @for key in &sheet.keys {
                        tr {
                            td { (key.name) @if key.operator_wide { " (every tenant)" } }
                            td { (key.role.as_str()) }
                            td { (at(key.created_at)) }
                            td { @if let Some(revoked) = key.revoked_at { "revoked " (at(revoked)) } @else { "active" } }
                            td {
                                @if key.revoked_at.is_none() {
                                    form method="post" action=(format!("/console/settings/keys/{}/revoke", key.id)) class="inline" {
                                        (hidden) button type="submit" class="quiet" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        form method="post" action="/console/settings/keys" class="filters" {
            (hidden)
            input type="hidden" name="once" value=(form_once());
            div { label for="k-name" { "New key: who uses it" } input id="k-name" type="text" name="name" maxlength="200" required; }
            div {
                label for="k-role" { "Role" }
                select id="k-role" name="role" { @for role in KEY_ROLES { option value=(role.as_str()) { (role.as_str()) } } }
            }
            button type="submit" { "Create the key" }
        }
        @if operator_admin {
            h2 { "Tenants" }
            form method="post" action="/console/settings/tenants" class="filters" {
                (hidden)
                div { label for="n-name" { "A new customer's name" } input id="n-name" type="text" name="name" maxlength="200" required; }
                button type="submit" { "Create the tenant" }
            }
        }
        @if operator_admin && !sheet.tenant.operator {
            h2 { "Service contacts of " (sheet.tenant.name) }
            p class="muted" { "The people who receive this customer's service messages (security notices, changes of sub-processors) on its behalf." }
            @if sheet.contacts.is_empty() {
                p { "None yet: its notices reach nobody." }
            } @else {
                ul {
                    @for (subject, address) in &sheet.contacts {
                        li {
                            (address) " "
                            form method="post" action=(format!("/console/settings/contacts/{subject}/remove")) class="inline" {
                                (hidden) button type="submit" class="quiet" { "Remove" }
                            }
                        }
                    }
                }
            }
            form method="post" action="/console/settings/contacts" class="filters" {
                (hidden)
                div { label for="x-email" { "Add a contact by address" } input id="x-email" type="email" name="email" required; }
                button type="submit" { "Add" }
            }
        }
        @if !sheet.tenant.operator {
            h2 { (sheet.tenant.name) " as controller, and its portal" }
            form method="post" action=(format!("/console/settings/tenants/{}", sheet.tenant.id)) {
                (hidden)
                @let profile = &sheet.tenant.profile;
                label for="p-name" { "Legal name" }
                input id="p-name" type="text" name="name" value=(sheet.tenant.name) maxlength="200" required;
                label for="p-display" { "Name in the portal's header" }
                input id="p-display" type="text" name="display_name" value=(profile.display_name.as_deref().unwrap_or("")) maxlength="200";
                label for="p-colour" { "Colour (#rrggbb, dark enough for white text)" }
                input id="p-colour" type="text" name="colour" value=(profile.colour.as_deref().unwrap_or("")) pattern="#[0-9a-fA-F]{6}";
                label for="p-address" { "Address" }
                input id="p-address" type="text" name="address" value=(profile.address.as_deref().unwrap_or("")) maxlength="300";
                label for="p-registration" { "Registration" }
                input id="p-registration" type="text" name="registration" value=(profile.registration.as_deref().unwrap_or("")) maxlength="300";
                label for="p-contact" { "Privacy contact (email)" }
                input id="p-contact" type="email" name="contact" value=(profile.contact.as_deref().unwrap_or(""));
                label for="p-dpo" { "Data protection officer" }
                input id="p-dpo" type="text" name="dpo" value=(profile.dpo.as_deref().unwrap_or("")) maxlength="300";
                label for="p-authority" { "Supervisory authority" }
                input id="p-authority" type="text" name="authority" value=(profile.authority.as_deref().unwrap_or("")) maxlength="300";
                label for="p-authority-website" { "The authority's website (https)" }
                input id="p-authority-website" type="text" name="authority_website" value=(profile.authority_website.as_deref().unwrap_or(""));
                label for="p-notice" { "Its own privacy notice (https)" }
                input id="p-notice" type="text" name="notice_url" value=(profile.notice_url.as_deref().unwrap_or(""));
                button type="submit" { "Save" }
            }
        } @else {
            p class="muted" { "The operator's own details as controller come from privacy.toml's [controller]." }
        }
    }
}

/// A fresh one-time value for a form that makes something shown once.
fn form_once() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

const SENT_AGAIN: &str = "This form was sent already (a reload sends it again): what it made is listed below, and what was shown once is not shown again.";

/// Claims a form's one-time value, so that a form making a setup link or a key's secret is
/// carried out once even when the browser sends it again; `None` when it was sent before. A
/// form without one (not the console's own page) is not held to it.
fn claim_once(
    store: &dyn ombud_store::Store,
    tenant: TenantId,
    once: &str,
    user: &User,
    now: Timestamp,
) -> Result<Option<Option<String>>, ConsoleError> {
    let once = once.trim();
    if once.is_empty() {
        return Ok(Some(None));
    }
    if once.len() > 64 || !once.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let key = format!("console-form:{once}");
    let by = *blake3::hash(user.id.to_string().as_bytes()).as_bytes();
    Ok(match store.claim_idempotency_key(tenant, &key, &by, now)? {
        ombud_store::model::Idempotency::Claimed => Some(Some(key)),
        _ => None,
    })
}

/// Marks a claimed form done, or gives the claim up when what it asked was refused.
fn settle_once(
    store: &dyn ombud_store::Store,
    tenant: TenantId,
    key: Option<String>,
    done: bool,
) -> Result<(), ConsoleError> {
    if let Some(key) = key {
        if done {
            store.complete_idempotency_key(tenant, &key, 201, b"")?;
        } else {
            store.release_idempotency_key(tenant, &key)?;
        }
    }
    Ok(())
}

/// A POST's checks: origin, session, token, an admin, tenant.
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
        "Settings",
        |user| user.role == Role::Admin,
        "Settings are for admins.",
    )
    .await
}

fn back(tenant: TenantId, done: &str) -> Response {
    Redirect::to(&format!("/console/settings?tenant={tenant}&done={done}")).into_response()
}

fn refusal(error: ConsoleError) -> Result<Once, ConsoleError> {
    match error {
        ConsoleError::Invalid { message, .. } => Ok(Once::Problem(message)),
        other => Err(other),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    once: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<InviteForm>,
) -> Response {
    let (user, csrf, tenant) = match posted(&state, &headers, &form.csrf, &form.tenant).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let Some(role) = Role::parse(&form.role).filter(|r| USER_ROLES.contains(r)) else {
        return answer(
            &state,
            &user,
            &csrf,
            tenant,
            Once::Problem("A console user is admin, dpo, agent or auditor.".into()),
        )
        .await;
    };
    let (actor, base, who) = (Actor::User(user.id), state.public_url.clone(), user.clone());
    let made = blocking(&state, move |store, now| {
        let Some(claim) = claim_once(store, tenant, &form.once, &who, now)? else {
            return Ok(Once::Problem(SENT_AGAIN.into()));
        };
        match ombud_app::console::create_user(store, tenant, &form.email, role, &actor, now) {
            Ok(created) => {
                settle_once(store, tenant, claim, true)?;
                Ok(Once::Link(
                    format!(
                        "{} is invited as {}.",
                        created.user.email.expose(),
                        role.as_str()
                    ),
                    format!("{base}/console/setup?t={}", created.setup_token.as_str()),
                ))
            }
            Err(error) => {
                settle_once(store, tenant, claim, false)?;
                refusal(error)
            }
        }
    })
    .await;
    match made {
        Ok(once) => answer(&state, &user, &csrf, tenant, once).await,
        Err(error) => trouble(&error),
    }
}

pub async fn reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<TenantForm>,
) -> Response {
    let (user, csrf, tenant) = match posted(&state, &headers, &form.csrf, &form.tenant).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<uuid::Uuid>().map(UserId) else {
        return answer(
            &state,
            &user,
            &csrf,
            tenant,
            Once::Problem("No such user.".into()),
        )
        .await;
    };
    let (actor, base) = (Actor::User(user.id), state.public_url.clone());
    let reset = blocking(
        &state,
        move |store, now| match ombud_app::console::reset_user(store, tenant, id, &actor, now) {
            Ok(created) => Ok(Once::Link(
                format!(
                    "The password and second factor of {} are gone and their sessions have ended.",
                    created.user.email.expose()
                ),
                format!("{base}/console/setup?t={}", created.setup_token.as_str()),
            )),
            Err(error) => refusal(error),
        },
    )
    .await;
    match reset {
        Ok(once) => answer(&state, &user, &csrf, tenant, once).await,
        Err(error) => trouble(&error),
    }
}

pub async fn disable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<TenantForm>,
) -> Response {
    let (user, csrf, tenant) = match posted(&state, &headers, &form.csrf, &form.tenant).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<uuid::Uuid>().map(UserId) else {
        return answer(
            &state,
            &user,
            &csrf,
            tenant,
            Once::Problem("No such user.".into()),
        )
        .await;
    };
    if id == user.id {
        return answer(
            &state,
            &user,
            &csrf,
            tenant,
            Once::Problem("You cannot disable yourself here; another admin can.".into()),
        )
        .await;
    }
    let actor = Actor::User(user.id);
    match blocking(
        &state,
        move |store, now| match ombud_app::console::disable_user(store, tenant, id, &actor, now) {
            Ok(()) => Ok(None),
            Err(error) => refusal(error).map(Some),
        },
    )
    .await
    {
        Ok(None) => back(tenant, "disabled"),
        Ok(Some(once)) => answer(&state, &user, &csrf, tenant, once).await,
        Err(error) => trouble(&error),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    once: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

pub async fn create_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<KeyForm>,
) -> Response {
    let (user, csrf, tenant) = match posted(&state, &headers, &form.csrf, &form.tenant).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let Some(role) = Role::parse(&form.role) else {
        return answer(
            &state,
            &user,
            &csrf,
            tenant,
            Once::Problem("A key's role is admin, dpo, agent, service or auditor.".into()),
        )
        .await;
    };
    let name = match ombud_core::text::one_line_name("name", &form.name, 200) {
        Ok(name) => name,
        Err(message) => return answer(&state, &user, &csrf, tenant, Once::Problem(message)).await,
    };
    let secret = match new_api_secret() {
        Ok(secret) => secret,
        Err(error) => {
            return trouble(&ConsoleError::Store(StoreError::Database(
                error.to_string(),
            )));
        }
    };
    let new = NewApiKey {
        tenant,
        operator_wide: false,
        name: name.clone(),
        role,
        secret_hash: api_secret_hash(&secret),
    };
    let (actor, who, once) = (Actor::User(user.id), user.clone(), form.once.clone());
    let made = blocking(&state, move |store, now| {
        let Some(claim) = claim_once(store, tenant, &once, &who, now)? else {
            return Ok(false);
        };
        let created = store.create_api_key(new, &actor, now);
        settle_once(store, tenant, claim, created.is_ok())?;
        created?;
        Ok(true)
    })
    .await;
    match made {
        Ok(false) => {
            answer(
                &state,
                &user,
                &csrf,
                tenant,
                Once::Problem(SENT_AGAIN.into()),
            )
            .await
        }
        Ok(true) => {
            answer(
                &state,
                &user,
                &csrf,
                tenant,
                Once::Secret(
                    format!("The key “{name}” ({}) is created.", role.as_str()),
                    secret.to_string(),
                ),
            )
            .await
        }
        Err(error) => trouble(&error),
    }
}

pub async fn revoke_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<TenantForm>,
) -> Response {
    let (user, csrf, tenant) = match posted(&state, &headers, &form.csrf, &form.tenant).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let Ok(id) = id.parse::<ApiKeyId>() else {
        return answer(
            &state,
            &user,
            &csrf,
            tenant,
            Once::Problem("No active key with that id.".into()),
        )
        .await;
    };
    let actor = Actor::User(user.id);
    match blocking(&state, move |store, now| {
        Ok(store.revoke_api_key(tenant, id, &actor, now)?)
    })
    .await
    {
        Ok(true) => {
            state.keys.evict(id);
            back(tenant, "revoked")
        }
        Ok(false) => {
            answer(
                &state,
                &user,
                &csrf,
                tenant,
                Once::Problem("No active key with that id: it was revoked already.".into()),
            )
            .await
        }
        Err(error) => trouble(&error),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TenantNameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    name: String,
}

pub async fn create_tenant(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<TenantNameForm>,
) -> Response {
    let (user, csrf, tenant) = match posted(&state, &headers, &form.csrf, &form.tenant).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if user.tenant != state.operator {
        return refused(&user, &csrf);
    }
    let name = match ombud_core::text::one_line_name("name", &form.name, 200) {
        Ok(name) => name,
        Err(message) => return answer(&state, &user, &csrf, tenant, Once::Problem(message)).await,
    };
    let actor = Actor::User(user.id);
    match blocking(&state, move |store, now| {
        Ok(store.create_tenant(&name, false, &actor, now)?)
    })
    .await
    {
        Ok(created) => back(created.id, "tenant"),
        Err(error) => trouble(&error),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    colour: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    registration: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    dpo: String,
    #[serde(default)]
    authority: String,
    #[serde(default)]
    authority_website: String,
    #[serde(default)]
    notice_url: String,
}

pub async fn update_tenant(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ProfileForm>,
) -> Response {
    let (user, csrf, tenant) = match posted(&state, &headers, &form.csrf, &id).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    // An empty field clears it, as `null` does on the API.
    let field = |value: &str| Some(Some(value.trim().to_owned()).filter(|v| !v.is_empty()));
    let changes = ombud_app::tenants::Changes {
        name: Some(form.name.clone()),
        display_name: field(&form.display_name),
        colour: field(&form.colour),
        address: field(&form.address),
        registration: field(&form.registration),
        contact: field(&form.contact),
        dpo: field(&form.dpo),
        authority: field(&form.authority),
        authority_website: field(&form.authority_website),
        notice_url: field(&form.notice_url),
    };
    let _ = &form.tenant;
    let actor = Actor::User(user.id);
    let updated = blocking(&state, move |store, now| {
        match ombud_app::tenants::update(store, tenant, changes, &actor, now) {
            Ok(_) => Ok(None),
            Err(ombud_app::tenants::TenantError::Invalid { message, .. }) => Ok(Some(message)),
            Err(ombud_app::tenants::TenantError::Store(error)) => Err(ConsoleError::Store(error)),
        }
    })
    .await;
    match updated {
        Ok(None) => back(tenant, "profile"),
        Ok(Some(problem)) => answer(&state, &user, &csrf, tenant, Once::Problem(problem)).await,
        Err(error) => trouble(&error),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    email: String,
}

/// Adds a service contact of a customer: a person of the operator's tenant, found by the
/// address or registered with it.
pub async fn add_contact(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ContactForm>,
) -> Response {
    let (user, csrf, tenant) = match posted(&state, &headers, &form.csrf, &form.tenant).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if user.tenant != state.operator || tenant == state.operator {
        return refused(&user, &csrf);
    }
    let email = match Identity::parse(IdentityKind::Email, &form.email) {
        Ok(email) => email,
        Err(error) => {
            return answer(
                &state,
                &user,
                &csrf,
                tenant,
                Once::Problem(format!("That is not an email address: {error}.")),
            )
            .await;
        }
    };
    let (operator, actor) = (state.operator, Actor::User(user.id));
    let added = blocking(&state, move |store, now| {
        let subject = match store.find_subject(operator, &email)? {
            Some(subject) => subject,
            None => store.create_subject(operator, &[email], &actor, now)?,
        };
        store.set_tenant_contact(operator, tenant, subject, true, &actor, now)?;
        Ok(())
    })
    .await;
    match added {
        Ok(()) => back(tenant, "contact"),
        Err(error) => trouble(&error),
    }
}

pub async fn remove_contact(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(subject): Path<String>,
    Form(form): Form<TenantForm>,
) -> Response {
    let (user, csrf, tenant) = match posted(&state, &headers, &form.csrf, &form.tenant).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if user.tenant != state.operator || tenant == state.operator {
        return refused(&user, &csrf);
    }
    let Ok(subject) = subject.parse().map(ombud_store::model::SubjectId) else {
        return answer(
            &state,
            &user,
            &csrf,
            tenant,
            Once::Problem("No such contact.".into()),
        )
        .await;
    };
    let (operator, actor) = (state.operator, Actor::User(user.id));
    match blocking(&state, move |store, now| {
        Ok(store.set_tenant_contact(operator, tenant, subject, false, &actor, now)?)
    })
    .await
    {
        Ok(true) => back(tenant, "contact"),
        Ok(false) => {
            answer(
                &state,
                &user,
                &csrf,
                tenant,
                Once::Problem("No such contact.".into()),
            )
            .await
        }
        Err(error) => trouble(&error),
    }
}
