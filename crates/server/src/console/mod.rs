//! The console for the privacy team at `/console`: server-rendered pages with plain forms, no
//! script. A user sets a password through a one-time setup link and signs in; the session
//! lives in the store under the hash of a token that only the `__Host-` cookie holds (the one
//! cookie ombud sets; the portal stays cookie-free). Every form that changes something
//! carries the session's CSRF token, and every POST must come from the server's own origin.
//! The rules are the console desk's (`ombud_app::console`); this module renders and routes.

use crate::state::AppState;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use ombud_app::console::{self, ConsoleError};
use ombud_store::Store;
use ombud_store::model::Role;
use ombud_store::model::TenantId;
use ombud_store::requests::{DsRequest, RequestQueue};
use ombud_store::users::User;
use serde::Deserialize;
use std::collections::BTreeMap;

pub mod audit;
pub mod incidents;
pub mod notices;
pub mod people;
pub mod policy;
pub mod requests;
pub mod retention;
pub mod settings;
pub mod subprocessors;

/// The session cookie: `__Host-` so that it is only ever set by this host, over HTTPS, for
/// the whole site.
pub const COOKIE: &str = "__Host-ombud_console";

const STYLE: &str = r#"
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#4a5360;--line:#c9ced6;--accent:#0b57d0;--error:#b3261e;--warn:#8a5300;--ok:#146c2e}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--bg:#15181c;--muted:#b4bcc7;--line:#49515c;--accent:#8ab4f8;--error:#f2b8b5;--warn:#f6c26b;--ok:#8fd19e}}
*{box-sizing:border-box}
body{margin:0;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
header,main{max-width:72rem;margin:0 auto;padding:1rem 1.25rem}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;justify-content:space-between;border-bottom:1px solid var(--line)}
header p{margin:0}
h1{font-size:1.5rem;line-height:1.25}
h2{font-size:1.15rem;margin-top:1.75rem}
code.wrap{overflow-wrap:anywhere}
input[type=text]{display:block;width:100%;margin-top:.3rem;padding:.55rem;font:inherit;color:inherit;background:var(--bg);border:1px solid var(--muted);border-radius:.3rem}
a{color:var(--accent)}
.narrow{max-width:28rem}
label{display:block;font-weight:600;margin-top:1rem}
input[type=email],input[type=password],input[type=date],input[type=datetime-local]{display:block;width:100%;margin-top:.3rem;padding:.55rem;font:inherit;color:inherit;background:var(--bg);border:1px solid var(--muted);border-radius:.3rem}
button{margin-top:1.25rem;padding:.6rem 1.1rem;font:inherit;font-weight:600;color:#fff;background:#0b57d0;border:0;border-radius:.3rem;cursor:pointer}
header form button{margin:0;padding:.4rem .8rem;background:transparent;color:var(--accent);border:1px solid var(--accent)}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.error{color:var(--error);font-weight:600}
.muted{color:var(--muted)}
.table{overflow-x:auto;position:relative}
table{border-collapse:collapse;width:100%;font-size:.95rem}
caption{text-align:left;font-weight:600;margin-bottom:.5rem}
th,td{border-bottom:1px solid var(--line);padding:.45rem .5rem;text-align:left;vertical-align:top}
td.overdue{color:var(--error);font-weight:600}
td.soon{color:var(--warn);font-weight:600}
.broken{color:var(--error);font-weight:600}
.kept{color:var(--ok)}
blockquote{margin:.3rem 0;padding-left:.8rem;border-left:3px solid var(--line)}
h3{font-size:1.05rem}
code{overflow-wrap:anywhere}
select,textarea{display:block;width:100%;margin-top:.3rem;padding:.5rem;font:inherit;color:inherit;background:var(--bg);border:1px solid var(--muted);border-radius:.3rem}
form.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.5rem 1rem;align-items:end;margin-bottom:1rem}
form.filters label{margin-top:0}
form.filters button{margin-top:0}
form.inline{display:inline}
button.quiet{margin:0;padding:.3rem .7rem;background:transparent;color:var(--accent);border:1px solid var(--accent)}
button.danger{background:#b3261e}
a.button{display:inline-block;padding:.6rem 1.1rem;font-weight:600;color:#fff;background:#0b57d0;border-radius:.3rem;text-decoration:none}
fieldset{margin-top:1.25rem;border:1px solid var(--line);border-radius:.3rem}
legend{font-weight:600;padding:0 .3rem}
fieldset div{display:flex;gap:.5rem;align-items:baseline;margin-top:.4rem}
label.choice{display:inline;font-weight:400;margin:0}
dl.facts{display:grid;grid-template-columns:minmax(8rem,max-content) 1fr;gap:.35rem 1rem}
dl.facts dt{font-weight:600}
dl.facts dd{margin:0;overflow-wrap:anywhere}
ol.timeline{padding-left:1.25rem}
figure{margin:1rem 0}
svg.chart{width:100%;height:auto;max-width:48rem}
svg.chart .grid{stroke:var(--line);stroke-width:1}
svg.chart .axis{fill:var(--muted);font-size:12px}
ul.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;list-style:none;padding:0;margin:.5rem 0}
ul.legend li{display:flex;align-items:center;gap:.35rem}
.swatch{display:inline-block;width:.9rem;height:.9rem;border-radius:.15rem}
pre.draft{white-space:pre-wrap;overflow-wrap:anywhere;padding:.75rem;border:1px solid var(--line);border-radius:.3rem;font-size:.9rem}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
"#;

/// The portal's headers, but for the referrer: a browser sends `Origin: null` with a form
/// posted from a page that sends no referrer, and the console checks the origin of every POST.
/// Within the site only, so a setup link's token never leaves it in a Referer.
pub async fn headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = crate::portal::headers(request, next).await;
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

fn layout(title: &str, who: Option<(&User, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " — ombud console" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    p { strong { "ombud console" } }
                    @if let Some((user, csrf)) = who {
                        nav aria-label="Console" {
                            a href="/console" { "Overview" }
                            " · "
                            a href="/console/requests" { "Requests" }
                            " · "
                            a href="/console/people" { "People" }
                            " · "
                            a href="/console/incidents" { "Incidents" }
                            " · "
                            a href="/console/notices" { "Notices" }
                            " · "
                            a href="/console/retention" { "Retention" }
                            " · "
                            a href="/console/audit" { "Audit log" }
                            " · "
                            a href="/console/subprocessors" { "Sub-processors" }
                            " · "
                            a href="/console/policy" { "Policy" }
                            " · "
                            a href="/console/promises" { "Promises" }
                            @if user.role == Role::Admin {
                                " · "
                                a href="/console/settings" { "Settings" }
                            }
                        }
                        p { (user.email.expose()) " · " (user.role.as_str()) }
                        form method="post" action="/console/sign-out" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

fn page(status: StatusCode, title: &str, who: Option<(&User, &str)>, body: Markup) -> Response {
    (status, Html(layout(title, who, body).into_string())).into_response()
}

/// The token the request's cookie holds, if any.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether a POST comes from a page of this server: its `Origin` is the public address's.
fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let own = origin_of(&state.public_url);
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| Some(origin) == own.as_deref())
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    Some(format!("{scheme}://{host}"))
}

fn refused_origin() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Refused",
        None,
        html! {
            h1 { "This form did not come from the console" }
            p { "Forms are accepted only from the console's own pages. Open the console and try again." }
        },
    )
}

async fn blocking<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&dyn Store, Timestamp) -> Result<T, ConsoleError> + Send + 'static,
) -> Result<T, ConsoleError> {
    let (store, now) = (std::sync::Arc::clone(&state.store), state.clock.now());
    tokio::task::spawn_blocking(move || work(store.as_ref(), now))
        .await
        .map_err(|e| {
            ConsoleError::Store(ombud_store::StoreError::Database(format!(
                "a console step did not finish: {e}"
            )))
        })?
}

fn trouble(error: &ConsoleError) -> Response {
    tracing::error!("a console page failed: {error}");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        None,
        html! {
            h1 { "Something went wrong" }
            p { "The console could not complete this step. Try again; if it keeps failing, the server's log says why." }
        },
    )
}

/// The tenant a page or form names, when the user may see it: their own when none is named;
/// any for the operator's staff, only their own for a customer's people.
fn visible_tenant(state: &AppState, user: &User, asked: &str) -> Option<TenantId> {
    match asked.trim() {
        "" => Some(user.tenant),
        id => id
            .parse()
            .ok()
            .filter(|t| user.tenant == state.operator || *t == user.tenant),
    }
}

/// A form that carries nothing but its token and the tenant it acts in.
#[derive(Debug, Default, Deserialize)]
pub struct TenantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
}

/// A form's checks before anything is done: the server's own origin, a session, its token.
async fn checked_post(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<(User, String), Response> {
    if !same_origin(state, headers) {
        return Err(refused_origin());
    }
    let (user, expected) = signed_in(state, headers).await?;
    if !console::csrf_matches(&expected, csrf) {
        return Err(refused_origin());
    }
    Ok((user, expected))
}

/// A form that acts in a tenant: [`checked_post`], then a role `may` allows (403 with `why`
/// otherwise), then the tenant it names, when the user may act there (422 otherwise).
async fn tenant_post(
    state: &AppState,
    headers: &HeaderMap,
    (csrf, tenant): (&str, &str),
    title: &str,
    may: fn(&User) -> bool,
    why: &str,
) -> Result<(User, String, TenantId), Response> {
    let (user, expected) = checked_post(state, headers, csrf).await?;
    if !may(&user) {
        return Err(page(
            StatusCode::FORBIDDEN,
            title,
            Some((&user, &expected)),
            html! { h1 { (title) } p { (why) } },
        ));
    }
    let Some(tenant) = visible_tenant(state, &user, tenant) else {
        return Err(page(
            StatusCode::UNPROCESSABLE_ENTITY,
            title,
            Some((&user, &expected)),
            html! { h1 { (title) } p class="error" role="alert" { "You cannot act in that tenant; choose one from the list." } },
        ));
    };
    Ok((user, expected, tenant))
}

/// The signed-in user of a request, or where to go instead.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<(User, String), Response> {
    let Some(token) = cookie_token(headers) else {
        return Err(Redirect::to("/console/sign-in").into_response());
    };
    let checked = token.clone();
    match blocking(state, move |store, now| {
        console::session(store, &checked, now)
    })
    .await
    {
        Ok(Some((_, user))) => Ok((user, console::csrf_token(&token))),
        Ok(None) => Err(Redirect::to("/console/sign-in").into_response()),
        Err(error) => Err(trouble(&error)),
    }
}

fn sign_in_form(email: &str, problem: Option<&str>) -> Markup {
    html! {
        div class="narrow" {
            h1 { "Sign in" }
            @if let Some(problem) = problem {
                p class="error" role="alert" { (problem) }
            }
            form method="post" action="/console/sign-in" {
                label for="email" { "Email address" }
                input id="email" type="email" name="email" value=(email) autocomplete="username" required;
                label for="password" { "Password" }
                input id="password" type="password" name="password" autocomplete="current-password" required;
                label for="code" { "Code from your authenticator app" }
                span class="muted" id="code-hint" { "If you set one up; admins always have one." }
                input id="code" type="text" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" aria-describedby="code-hint";
                button type="submit" { "Sign in" }
            }
        }
    }
}

pub async fn sign_in_page() -> Response {
    page(StatusCode::OK, "Sign in", None, sign_in_form("", None))
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !same_origin(&state, &headers) {
        return refused_origin();
    }
    let email = form.email.trim().to_owned();
    let given = email.clone();
    let signed = blocking(&state, move |store, now| {
        console::sign_in(store, &given, &form.password, Some(&form.code), now)
    })
    .await;
    let problem = match signed {
        Ok(signed) => {
            let cookie = format!(
                "{COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Strict",
                signed.session_token.as_str()
            );
            let mut response = Redirect::to("/console").into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            return response;
        }
        Err(ConsoleError::BadCredentials) => "The address or the password is wrong.".to_owned(),
        Err(ConsoleError::SecondFactor) => {
            "Enter your password again with the code your authenticator app shows now (a code works once).".to_owned()
        }
        Err(ConsoleError::Locked(until)) => format!(
            "Too many wrong passwords: the account is locked until {}.",
            ombud_app::mail::moment(until, &state.time_zone)
        ),
        Err(error) => return trouble(&error),
    };
    page(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Sign in",
        None,
        sign_in_form(&email, Some(&problem)),
    )
}

#[derive(Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignOutForm>,
) -> Response {
    if !same_origin(&state, &headers) {
        return refused_origin();
    }
    if let Some(token) = cookie_token(&headers)
        && console::csrf_holds(&token, &form.csrf)
        && let Err(error) = blocking(&state, move |store, now| {
            console::sign_out(store, &token, now)
        })
        .await
    {
        return trouble(&error);
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "__Host-ombud_console=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    response
}

#[derive(Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    t: String,
}

const BAD_LINK: &str = "This setup link is not valid: it was used already, it expired (links work for 24 hours), or it was never issued. Ask an admin for a new one.";

fn setup_form(token: &str, user: &User, problem: Option<&str>) -> Markup {
    let enrolment = console::enrolment(token, user).ok();
    let grouped = enrolment.as_ref().map(|e| {
        e.secret
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    });
    let admin = user.role == Role::Admin;
    html! {
        div class="narrow" {
            h1 { "Set your password" }
            p { "For " strong { (user.email.expose()) } ", " (user.role.as_str()) " in the console." }
            p class="muted" { "At least 12 characters. A few unrelated words make a good password; one that lists of common passwords, keyboard patterns or your address give away is refused." }
            @if let Some(problem) = problem {
                p class="error" role="alert" { (problem) }
            }
            form method="post" action="/console/setup" {
                input type="hidden" name="t" value=(token);
                label for="password" { "New password" }
                input id="password" type="password" name="password" autocomplete="new-password" minlength="12" required;
                label for="again" { "The same password again" }
                input id="again" type="password" name="again" autocomplete="new-password" minlength="12" required;
                @if let (Some(enrolment), Some(grouped)) = (&enrolment, &grouped) {
                    h2 { "Second factor" }
                    p {
                        @if admin { "As an admin you sign in with a second factor. " } @else { "A second factor is optional for your role, and recommended. " }
                        "Add this key to an authenticator app (type it in, or open the address below on the phone), then enter the 6-digit code the app shows."
                    }
                    p { "Key: " code id="totp-key" { (grouped) } }
                    details { summary { "The key as an otpauth:// address" } p { code class="wrap" { (enrolment.url.as_str()) } } }
                    label for="code" { "Code from the app" }
                    input id="code" type="text" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required[admin];
                }
                button type="submit" { "Set password" }
            }
        }
    }
}

fn bad_link() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Setup link",
        None,
        html! { h1 { "Setup link not valid" } p { (BAD_LINK) } },
    )
}

pub async fn setup_page(
    State(state): State<AppState>,
    Query(query): Query<SetupQuery>,
) -> Response {
    let token = query.t.clone();
    match blocking(&state, move |store, now| {
        console::setup_user(store, &token, now)
    })
    .await
    {
        Ok(user) => page(
            StatusCode::OK,
            "Set your password",
            None,
            setup_form(&query.t, &user, None),
        ),
        Err(ConsoleError::BadSetupLink) => bad_link(),
        Err(error) => trouble(&error),
    }
}

#[derive(Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    t: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    again: String,
    #[serde(default)]
    code: String,
}

pub async fn setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Response {
    if !same_origin(&state, &headers) {
        return refused_origin();
    }
    let token = form.t.clone();
    let user = match blocking(&state, move |store, now| {
        console::setup_user(store, &token, now)
    })
    .await
    {
        Ok(user) => user,
        Err(ConsoleError::BadSetupLink) => return bad_link(),
        Err(error) => return trouble(&error),
    };
    if form.password != form.again {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Set your password",
            None,
            setup_form(
                &form.t,
                &user,
                Some("The two passwords differ; type the same one twice."),
            ),
        );
    }
    let (token, password, code) = (form.t.clone(), form.password.clone(), form.code.clone());
    match blocking(&state, move |store, now| {
        console::set_password(store, &token, &password, Some(&code), now)
    })
    .await
    {
        Ok(_) => page(
            StatusCode::OK,
            "Password set",
            None,
            html! {
                div class="narrow" {
                    h1 { "Your password is set" }
                    p { a href="/console/sign-in" { "Sign in to the console" } }
                }
            },
        ),
        Err(ConsoleError::Invalid { message, .. }) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Set your password",
            None,
            setup_form(&form.t, &user, Some(&message)),
        ),
        Err(ConsoleError::BadSetupLink) => bad_link(),
        Err(error) => trouble(&error),
    }
}

/// How many open requests the overview lists: the nearest deadlines; the queue has the rest.
const OVERVIEW_ROWS: usize = 100;

/// The open requests the user may see, the nearest deadline first — every tenant's for the
/// operator's staff, their own tenant's for a customer's —, with the tenants' names.
fn open_requests(
    store: &dyn Store,
    user: &User,
    operator: ombud_store::model::TenantId,
) -> Result<(Vec<DsRequest>, BTreeMap<TenantId, String>), ConsoleError> {
    let names = store
        .tenants()?
        .into_iter()
        .filter(|t| user.tenant == operator || t.id == user.tenant)
        .map(|t| (t.id, t.name))
        .collect();
    let open = store.request_queue(&RequestQueue {
        tenants: (user.tenant != operator).then(|| vec![user.tenant]),
        open: true,
        limit: OVERVIEW_ROWS,
        ..RequestQueue::default()
    })?;
    Ok((open, names))
}

/// What the overview gathers beyond the queue, for the roles that read it.
#[derive(Default)]
struct Watch {
    /// Open incidents with their tenant and its name.
    incidents: Vec<(TenantId, String, ombud_store::incidents::Incident)>,
    /// Verified objections waiting for the controller's decision (Art. 21(1)).
    objections: Vec<DsRequest>,
    /// Per tenant name: mails that failed and are not delivered.
    undelivered: Vec<(String, u64)>,
    /// The newest sweep receipt's time, and the tenant it was of.
    last_sweep: Option<(Timestamp, String)>,
}

fn watch(
    store: &dyn Store,
    user: &User,
    operator: TenantId,
    names: &BTreeMap<TenantId, String>,
) -> Result<Watch, ConsoleError> {
    let mut watch = Watch::default();
    let oversees = matches!(user.role, Role::Admin | Role::Dpo | Role::Auditor);
    for (tenant, name) in names {
        if oversees {
            for incident in store.incidents(*tenant, true)? {
                watch.incidents.push((*tenant, name.clone(), incident));
            }
            let newest = store
                .receipts(
                    *tenant,
                    &ombud_store::receipts::ReceiptFilter {
                        kind: Some(ombud_store::receipts::ReceiptKind::Sweep),
                        before: None,
                        limit: 1,
                    },
                )?
                .into_iter()
                .next();
            if let Some(receipt) = newest
                && watch
                    .last_sweep
                    .as_ref()
                    .is_none_or(|(at, _)| receipt.issued_at > *at)
            {
                watch.last_sweep = Some((receipt.issued_at, name.clone()));
            }
        }
        if matches!(user.role, Role::Admin | Role::Dpo) {
            let count = store.undelivered_mails(*tenant)?;
            if count > 0 {
                watch.undelivered.push((name.clone(), count));
            }
        }
    }
    if matches!(user.role, Role::Admin | Role::Dpo | Role::Agent) {
        watch.objections = store.request_queue(&RequestQueue {
            tenants: (user.tenant != operator).then(|| vec![user.tenant]),
            status: Some(ombud_core::requests::RequestStatus::Verified),
            kind: Some(ombud_core::requests::RequestKind::Objection),
            limit: 20,
            ..RequestQueue::default()
        })?;
    }
    watch.incidents.sort_by_key(|(_, _, i)| i.deadline_at);
    Ok(watch)
}

pub async fn overview(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (user, csrf) = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let handles = matches!(user.role, Role::Admin | Role::Dpo | Role::Agent);
    let (who, operator) = (user.clone(), state.operator);
    let read = blocking(&state, move |store, _| {
        let (open, names) = if handles {
            open_requests(store, &who, operator)?
        } else {
            (
                vec![],
                store
                    .tenants()?
                    .into_iter()
                    .filter(|t| who.tenant == operator || t.id == who.tenant)
                    .map(|t| (t.id, t.name))
                    .collect(),
            )
        };
        let watch = watch(store, &who, operator, &names)?;
        Ok((open, names, watch))
    })
    .await;
    let (open, names, watch) = match read {
        Ok(read) => read,
        Err(error) => return trouble(&error),
    };
    let now = state.clock.now();
    let soon = now
        .checked_add(jiff::SignedDuration::from_hours(24 * 7))
        .unwrap_or(now);
    let tz = &state.time_zone;
    let day = |at: Timestamp| ombud_app::mail::moment(at, tz);
    // A deadline is stated as everywhere else: its last day, with the zone.
    let due_by = |at: Timestamp| {
        let text = ombud_app::mail::by_the_end_of(at, tz);
        text.strip_prefix("the end of ").unwrap_or(&text).to_owned()
    };
    let tenant_of = |id: &TenantId| names.get(id).map(String::as_str).unwrap_or("");
    page(
        StatusCode::OK,
        "Overview",
        Some((&user, &csrf)),
        html! {
            h1 { "Overview" }
            @if !watch.incidents.is_empty() {
                h2 { "Breach clocks running" }
                ul {
                    @for (tenant, name, incident) in &watch.incidents {
                        li {
                            a href=(format!("/console/incidents/{tenant}/{}", incident.id.0)) { (incident.title) }
                            " (" (name) "): "
                            @if ombud_app::breach::overdue(incident, now) { strong class="broken" { (ombud_app::breach::time_left(incident, now)) } }
                            @else { (ombud_app::breach::time_left(incident, now)) }
                        }
                    }
                }
            }
            @if !watch.objections.is_empty() {
                h2 { "Objections waiting for a decision" }
                p class="muted" { "Processing on the purposes objected to is stopped until someone decides whether compelling grounds override the objection (Art. 21(1))." }
                ul {
                    @for request in &watch.objections {
                        li { a href=(format!("/console/requests/{}/{}", request.tenant, request.id)) { "Objection" @if let Some(purpose) = &request.purpose { " to " (purpose) } } " (" (tenant_of(&request.tenant)) "), received " (day(request.received_at)) }
                    }
                }
            }
            @if !watch.undelivered.is_empty() {
                h2 { "Mails not delivered" }
                ul { @for (tenant, count) in &watch.undelivered { li { (tenant) ": " (count) " failed and not delivered; the outbox retries them, and the request pages show the error." } } }
            }
            @if matches!(user.role, Role::Admin | Role::Dpo | Role::Auditor) {
                p {
                    @match &watch.last_sweep {
                        Some((at, tenant)) => { "The last sweep receipt: " (day(*at)) " (" (tenant) "). " }
                        None => { "No sweep has run yet. " }
                    }
                    a href="/console/retention" { "Retention" }
                }
            }
            h2 { "Open requests" }
            @if !handles {
                p { "Your role (" (user.role.as_str()) ") does not handle requests." }
            } @else if open.is_empty() {
                p { "No request is open." }
            } @else {
                div class="table" tabindex="0" role="region" aria-label="Open requests" {
                    table {
                        caption {
                            @if open.len() == OVERVIEW_ROWS { "The " (OVERVIEW_ROWS) " open requests with the nearest deadlines" }
                            @else { (open.len()) " open " (if open.len() == 1 { "request" } else { "requests" }) ", the nearest deadline first" }
                        }
                        thead { tr { th scope="col" { "Due by the end of" } th scope="col" { "Tenant" } th scope="col" { "Kind" } th scope="col" { "Status" } th scope="col" { "Received" } th scope="col" { "Request" } } }
                        tbody {
                            @for request in &open {
                                tr {
                                    @match request.due_at {
                                        Some(due) if due < now => td class="overdue" { (due_by(due)) " — overdue" },
                                        Some(due) if due < soon => td class="soon" { (due_by(due)) " — within 7 days" },
                                        Some(due) => td { (due_by(due)) },
                                        None => td class="muted" { "from confirmation" },
                                    }
                                    td { (tenant_of(&request.tenant)) }
                                    td { (request.kind.as_str().replace('_', " ")) }
                                    td { (request.status.as_str().replace('_', " ")) }
                                    td { (day(request.received_at)) }
                                    td { a href=(format!("/console/requests/{}/{}", request.tenant, request.id)) { code { (request.id) } } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The promise check, run now: every tenant's places, so for the operator's admins, DPOs and
/// auditors (as `GET /api/v1/promises`).
pub async fn promises(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (user, csrf) = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if user.tenant != state.operator
        || !matches!(user.role, Role::Admin | Role::Dpo | Role::Auditor)
    {
        return page(
            StatusCode::FORBIDDEN,
            "Promises",
            Some((&user, &csrf)),
            html! {
                h1 { "Promises" }
                p { "The promise check names every customer's places; the operator's admins, DPOs and auditors read it." }
            },
        );
    }
    let by = user.id;
    let (connectors, outbound, time_zone, policy) = (
        std::sync::Arc::clone(&state.connectors),
        std::sync::Arc::clone(&state.outbound),
        state.time_zone.clone(),
        std::sync::Arc::clone(&state.policy),
    );
    let checked = blocking(&state, move |store, now| {
        let datasets =
            (!connectors.datasets().is_empty()).then_some(ombud_app::promises::Datasets {
                connectors: &connectors,
                sample: ombud_connect::discover::DEFAULT_SAMPLE,
            });
        let report =
            ombud_app::promises::check(store, &policy, &time_zone, datasets, &outbound, now)
                .map_err(|e| match e {
                    ombud_app::promises::PromiseError::Store(e) => ConsoleError::Store(e),
                    ombud_app::promises::PromiseError::Connect(e) => {
                        ConsoleError::Store(ombud_store::StoreError::Database(format!(
                            "a dataset's database: {}",
                            e.message
                        )))
                    }
                })?;
        ombud_app::promises::record(store, &report, &ombud_store::Actor::User(by), now)?;
        Ok(report)
    })
    .await;
    match checked {
        Ok(report) => page(
            StatusCode::OK,
            "Promises",
            Some((&user, &csrf)),
            ombud_app::promises::html_body(
                &report,
                &state.policy.controller.name,
                &state.time_zone,
            ),
        ),
        Err(error) => trouble(&error),
    }
}

/// `/` leads to the console.
pub async fn root() -> Redirect {
    Redirect::to("/console")
}
