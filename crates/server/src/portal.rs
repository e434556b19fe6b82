//! The privacy portal at `/privacy`: where a person files a request, confirms it with the code
//! they were mailed, follows it, and fetches their copy. Server-rendered HTML with plain forms:
//! no JavaScript, no cookies. What a page needs to know travels in a signed, expiring token in
//! its address, so any replica serves any page.
//!
//! A status page shows the request's progress and nothing of the person: whoever filed holds
//! its link before anyone has proved they own the address. The answer and the download link go
//! only to the address, once confirmed.

use crate::error::ApiError;
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use ombud_app::mail::{by_the_end_of, day, last_day};
use ombud_app::rights::{DeskError, Filing};
use ombud_app::tenants::Voice;
use ombud_core::requests::{RequestKind, RequestStatus};
use ombud_policy::Policy;
use ombud_policy::model::{LegalBasis, Role};
use ombud_store::Actor;
use ombud_store::crypto::export_token_hash;
use ombud_store::model::{Secret, SubjectId, TenantId};
use ombud_store::requests::DsRequest;
use serde::Deserialize;

const STYLE: &str = r#"
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#4a5360;--line:#c9ced6;--accent:#0b57d0;--error:#b3261e;--ok:#146c2e}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--bg:#15181c;--muted:#b4bcc7;--line:#49515c;--accent:#8ab4f8;--error:#f2b8b5;--ok:#8fd19e}}
*{box-sizing:border-box}
body{margin:0;font:1.05rem/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:42rem;margin:0 auto;padding:1rem 1.25rem}
header{border-bottom:1px solid var(--line)}
header p{margin:.25rem 0;color:var(--muted)}
footer{border-top:1px solid var(--line);color:var(--muted);font-size:.95rem}
h1{font-size:1.6rem;line-height:1.25}
h2{font-size:1.2rem;margin-top:2rem}
a{color:var(--accent)}
fieldset{border:1px solid var(--line);border-radius:.4rem;padding:.75rem 1rem;margin:1rem 0}
legend{font-weight:600;padding:0 .25rem}
.choice{display:flex;gap:.6rem;align-items:flex-start;margin:.5rem 0}
.choice input{flex:none;margin-top:.35rem;width:1.1rem;height:1.1rem}
.hint{display:block;color:var(--muted);font-size:.95rem}
label.field{display:block;font-weight:600;margin-top:1rem}
input[type=email],input[type=text],select,textarea{display:block;width:100%;margin-top:.3rem;padding:.55rem;font:inherit;color:inherit;background:var(--bg);border:1px solid var(--muted);border-radius:.3rem}
textarea{min-height:5rem}
button{margin-top:1.25rem;padding:.65rem 1.2rem;font:inherit;font-weight:600;color:#fff;background:#0b57d0;border:0;border-radius:.3rem;cursor:pointer}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.error{color:var(--error);font-weight:600}
.summary{border:2px solid var(--error);border-radius:.4rem;padding:.5rem 1rem}
.summary h2{margin-top:.5rem}
.done{color:var(--ok)}
ol.steps{padding-left:1.25rem}
ol.steps li{margin:.3rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;font-size:.95rem}
caption{text-align:left;font-weight:600;margin-bottom:.5rem}
th,td{border-bottom:1px solid var(--line);padding:.4rem .5rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
@media (max-width:30rem){th,td{padding:.3rem .2rem;font-size:.85rem}}
"#;

/// Headers every portal answer carries: nothing may run, nothing is framed or cached, and the
/// token in the address never leaves in a Referer.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn layout(policy: &Policy, voice: &Voice, title: &str, body: Markup) -> Markup {
    layout_of(policy, voice, "Privacy requests", title, body)
}

/// A public page in the portal's layout; `section` names it in the header. The page speaks
/// in `voice`: a customer's portal names the customer as controller, in its colour, and the
/// operator as the processor that answers for it.
pub(crate) fn layout_of(
    policy: &Policy,
    voice: &Voice,
    section: &str,
    title: &str,
    body: Markup,
) -> Markup {
    // The colour was checked to be `#rrggbb` when it was set; nothing else reaches the style.
    let accent = voice
        .colour
        .as_deref()
        .filter(|c| c.len() == 7 && c[1..].chars().all(|d| d.is_ascii_hexdigit()))
        .map(|c| {
            format!(
                "header{{border-top:.4rem solid {c}}}button{{background:{c}}}@media (prefers-color-scheme:light){{:root{{--accent:{c}}}}}"
            )
        });
    html! {
        (DOCTYPE)
        html lang=(policy.notice.language) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " — " (voice.display_name) }
                style { (PreEscaped(STYLE)) }
                @if let Some(accent) = accent { style { (PreEscaped(accent)) } }
            }
            body {
                header {
                    p { strong { (voice.display_name) } }
                    p { (section) }
                }
                main id="main" { (body) }
                footer {
                    p {
                        (voice.controller)
                        @if let Some(address) = &voice.address { ", " (address) }
                        @if let Some(registration) = &voice.registration { " · " (registration) }
                    }
                    @if let Some(roles) = voice.roles() { p { (roles) } }
                    p { "Questions about your data: " (voice.contact) }
                    @if let Some(dpo) = &voice.dpo { p { "Data protection officer: " (dpo) } }
                    @if let Some(notice) = &voice.notice_url {
                        p { a href=(notice) { "How " (voice.controller) " uses personal data (its privacy notice)" } }
                    }
                    p {
                        @match &voice.authority {
                            Some(authority) => { "You may also complain to a supervisory authority, such as " (authority) "." }
                            None => { "You may also complain to a supervisory authority, in particular in the EU country where you live, where you work or where you think the infringement took place." }
                        }
                    }
                }
            }
        }
    }
}

fn page(status: StatusCode, policy: &Policy, voice: &Voice, title: &str, body: Markup) -> Response {
    (
        status,
        Html(layout(policy, voice, title, body).into_string()),
    )
        .into_response()
}

/// A page for an address that names no tenant the server knows: only the operator can speak.
fn not_found(policy: &Policy, message: &str) -> Response {
    page(
        StatusCode::NOT_FOUND,
        policy,
        &Voice::operator(policy),
        "Not found",
        html! {
            h1 { "This page is not available" }
            p { (message) }
            p { a href="/privacy" { "Make a new request" } }
        },
    )
}

fn trouble(policy: &Policy, error: &ApiError) -> Response {
    // The detail is for the operator's logs, not for the public page.
    tracing::error!(%error, "privacy portal step failed");
    // The operator runs the server, so a failure is the operator's to answer for.
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        policy,
        &Voice::operator(policy),
        "Something went wrong",
        html! {
            h1 { "Something went wrong" }
            p { "Your request could not be handled just now. Please try again later, or write to " (policy.rights.contact) "." }
        },
    )
}

/// The address a portal request came from: the connection's, or where the operator runs a
/// reverse proxy, the last address in that proxy's header (the one it wrote; earlier ones are
/// the client's to write, so they are never used).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl axum::extract::FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(name) = &state.client_ip_header {
            let forwarded = parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|a| a.trim().parse::<std::net::IpAddr>().ok());
            if forwarded.is_some() {
                return Ok(ClientAddr(forwarded));
            }
        }
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// Asked too often: 429, with how long to wait in `Retry-After` and in words.
fn too_many(policy: &Policy, voice: &Voice, limited: crate::limits::Limited) -> Response {
    let minutes = limited.wait.as_secs().div_ceil(60).max(1);
    let whose = if limited.by_address {
        "for this email address"
    } else {
        "from your network"
    };
    let mut response = page(
        StatusCode::TOO_MANY_REQUESTS,
        policy,
        voice,
        "Please wait",
        html! {
            h1 { "Please wait a little" }
            p { "We have received many requests " (whose) " in a short time. To protect the people whose addresses could be used, please try again in " (minutes) (if minutes == 1 { " minute" } else { " minutes" }) "." }
            p { "If you cannot wait, write to " (voice.contact) "." }
        },
    );
    if let Ok(value) = HeaderValue::from_str(&limited.wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// What each request does, in the words of whoever answers: "we" on the operator's own portal;
/// on a customer's, the customer named, as it is the one that decides.
fn hint(kind: RequestKind, voice: &Voice) -> String {
    let customer = voice.processor.as_ref().map(|_| voice.controller.as_str());
    match (kind, customer) {
        (RequestKind::Access, _) => {
            "A copy of the data held about you, with why it is used, who receives it and how long it is kept.".into()
        }
        (RequestKind::Rectification, _) => {
            "Correct data about you that is wrong or incomplete.".into()
        }
        (RequestKind::Erasure, _) => {
            "Delete your data. What a law obliges to keep is kept, and you are told what and why.".into()
        }
        (RequestKind::Restriction, _) => {
            "Pause the use of your data while a question about it is settled.".into()
        }
        (RequestKind::Objection, None) => {
            "Stop a use of your data that rests on our legitimate interests; direct marketing stops as soon as you confirm.".into()
        }
        (RequestKind::Objection, Some(controller)) => format!(
            "Stop a use of your data that rests on the legitimate interests of {controller}; direct marketing stops as soon as you confirm."
        ),
        (RequestKind::Portability, _) => {
            "The data you gave, in a machine-readable file, to take elsewhere.".into()
        }
        (RequestKind::ConsentWithdrawal, None) => {
            "Withdraw a consent you gave us; it takes effect as soon as you confirm.".into()
        }
        (RequestKind::ConsentWithdrawal, Some(controller)) => format!(
            "Withdraw a consent you gave {controller}; it takes effect as soon as you confirm."
        ),
    }
}

/// `text` with its first letter in capitals.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn heading(kind: RequestKind) -> String {
    capitalised(kind.label())
}

/// What the form sent; every field optional so that a missing one is answered on the page.
#[derive(Debug, Default, Deserialize)]
pub struct FilingForm {
    tenant: Option<String>,
    kind: Option<String>,
    email: Option<String>,
    purpose: Option<String>,
    category: Option<String>,
    new_value: Option<String>,
}

fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

#[derive(Debug, Deserialize)]
pub struct PortalQuery {
    tenant: Option<String>,
}

/// The tenant a portal address files into, and who speaks for it: the operator's own unless
/// the address names one.
async fn tenant_of(
    state: &AppState,
    named: Option<&str>,
) -> Result<Option<(TenantId, Voice)>, ApiError> {
    let id = match named.map(str::trim).filter(|t| !t.is_empty()) {
        None => state.operator,
        Some(named) => match named.parse() {
            Ok(id) => TenantId(id),
            Err(_) => return Ok(None),
        },
    };
    let store = std::sync::Arc::clone(&state.store);
    let tenant = tokio::task::spawn_blocking(move || store.tenant(id))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(tenant.map(|t| (t.id, Voice::of(&state.policy, &t))))
}

/// Who speaks for `tenant` on a page reached through a signed link.
async fn voice_of(state: &AppState, tenant: TenantId) -> Result<Voice, ApiError> {
    let (store, policy) = (
        std::sync::Arc::clone(&state.store),
        std::sync::Arc::clone(&state.policy),
    );
    Ok(
        tokio::task::spawn_blocking(move || Voice::of_id(store.as_ref(), &policy, tenant))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??,
    )
}

const UNKNOWN_PORTAL: &str = "This privacy portal address is not known. Use the link the organisation that holds your data gave you.";

pub async fn form(State(state): State<AppState>, Query(query): Query<PortalQuery>) -> Response {
    match tenant_of(&state, query.tenant.as_deref()).await {
        Ok(Some((tenant, voice))) => page(
            StatusCode::OK,
            &state.policy,
            &voice,
            "Make a request about your data",
            filing_form(&state, tenant, &voice, &FilingForm::default(), None),
        ),
        Ok(None) => not_found(&state.policy, UNKNOWN_PORTAL),
        Err(error) => trouble(&state.policy, &error),
    }
}

fn filing_form(
    state: &AppState,
    tenant: TenantId,
    voice: &Voice,
    values: &FilingForm,
    error: Option<(&str, &str)>,
) -> Markup {
    let policy = &state.policy;
    let offered: Vec<RequestKind> = RequestKind::ALL
        .iter()
        .copied()
        .filter(|k| policy.rights.offered.contains(&k.right()))
        .collect();
    let chosen = given(&values.kind);
    let field_error = |field: &str| {
        error
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m.to_owned())
    };
    // A customer's people are asked about the processing done for the customer; the
    // operator's own purposes are not theirs to object to here.
    let customer = voice.processor.is_some();
    let purposes: Vec<_> = policy
        .activities
        .iter()
        .filter(|a| {
            if customer {
                return a.role == Role::Processor;
            }
            a.role == Role::Controller
                && (a.opt_out
                    || matches!(
                        a.basis,
                        Some(
                            LegalBasis::Consent
                                | LegalBasis::LegitimateInterests
                                | LegalBasis::PublicTask
                        )
                    ))
        })
        .collect();
    let described_by = |field: &str, hint: &str| -> String {
        if field_error(field).is_some() {
            format!("{hint} {field}-error")
        } else {
            hint.to_owned()
        }
    };
    html! {
        h1 { "Make a request about your data" }
        p {
            (voice.who_answers()) " answers within " (policy.rights.response_time) " "
            (policy.rights.clock_starts.counted_from())
            ". We send a code to your email address; enter it on the next page to confirm the request is yours. Nothing is done before you confirm."
        }
        @if let Some((field, message)) = error {
            div class="summary" role="alert" aria-labelledby="summary-title" {
                h2 id="summary-title" { "Please check the form" }
                p { a href={ "#" (field) } { (message) } }
            }
        }
        form method="post" action="/privacy/requests" novalidate {
            @if tenant != state.operator {
                input type="hidden" name="tenant" value=(tenant.0);
            }
            fieldset id="kind" aria-describedby=[field_error("kind").map(|_| "kind-error")] {
                legend { "What would you like us to do?" }
                @if let Some(message) = field_error("kind") {
                    p class="error" id="kind-error" { (message) }
                }
                @for kind in &offered {
                    @let id = format!("kind-{}", kind.as_str());
                    div class="choice" {
                        input type="radio" name="kind" id=(id) value=(kind.as_str())
                            checked[chosen.as_deref() == Some(kind.as_str())]
                            aria-describedby={ (id) "-hint" };
                        label for=(id) {
                            (heading(*kind))
                            span class="hint" id={ (id) "-hint" } { (hint(*kind, voice)) }
                        }
                    }
                }
            }
            label class="field" for="email" { "Your email address" }
            span class="hint" id="email-hint" { "The one you use with us: the code and our answer go there." }
            @if let Some(message) = field_error("email") {
                p class="error" id="email-error" { (message) }
            }
            input type="email" id="email" name="email" autocomplete="email" required
                value=(given(&values.email).unwrap_or_default())
                aria-invalid=[field_error("email").map(|_| "true")]
                aria-describedby=(described_by("email", "email-hint"));

            @if !purposes.is_empty() {
                label class="field" for="purpose" { "Which use of your data? (objection and consent withdrawal)" }
                span class="hint" id="purpose-hint" { "Leave as it is for other requests." }
                @if let Some(message) = field_error("purpose") {
                    p class="error" id="purpose-error" { (message) }
                }
                select id="purpose" name="purpose"
                    aria-invalid=[field_error("purpose").map(|_| "true")]
                    aria-describedby=(described_by("purpose", "purpose-hint")) {
                    option value="" { "Not applicable" }
                    @for activity in &purposes {
                        option value=(activity.id) selected[given(&values.purpose).as_deref() == Some(activity.id.as_str())] {
                            (activity.purpose)
                        }
                    }
                }
            }
            @if offered.contains(&RequestKind::Rectification) {
                fieldset id="correction" {
                    legend { "Only for a correction" }
                    label class="field" for="category" { "What is wrong?" }
                    @if let Some(message) = field_error("category") {
                        p class="error" id="category-error" { (message) }
                    }
                    select id="category" name="category"
                        aria-invalid=[field_error("category").map(|_| "true")]
                        aria-describedby=[field_error("category").map(|_| "category-error")] {
                        option value="" { "Not applicable" }
                        @for category in &policy.categories {
                            option value=(category.key) selected[given(&values.category).as_deref() == Some(category.key.as_str())] {
                                (category.name)
                            }
                        }
                    }
                    label class="field" for="new_value" { "The correct value" }
                    @if let Some(message) = field_error("new_value") {
                        p class="error" id="new_value-error" { (message) }
                    }
                    textarea id="new_value" name="new_value"
                        aria-invalid=[field_error("new_value").map(|_| "true")]
                        aria-describedby=[field_error("new_value").map(|_| "new_value-error")] {
                        (given(&values.new_value).unwrap_or_default())
                    }
                }
            }
            button type="submit" { "Send me a code" }
        }
    }
}

pub async fn file(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Form(values): Form<FilingForm>,
) -> Response {
    let policy = std::sync::Arc::clone(&state.policy);
    let (tenant, voice) = match tenant_of(&state, values.tenant.as_deref()).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&policy, UNKNOWN_PORTAL),
        Err(error) => return trouble(&policy, &error),
    };
    let again = |field: &str, message: &str| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &policy,
            &voice,
            "Please check the form",
            filing_form(&state, tenant, &voice, &values, Some((field, message))),
        )
    };
    let Some(kind) = given(&values.kind) else {
        return again("kind", "Choose what you would like us to do.");
    };
    let Some(kind) = RequestKind::parse(&kind) else {
        return again("kind", "Choose one of the requests listed.");
    };
    let Some(email) = given(&values.email) else {
        return again("email", "Give your email address: the code goes there.");
    };
    if let Err(limited) = state.limits.mailing(client, &email) {
        return too_many(&policy, &voice, limited);
    }
    let filing = Filing {
        kind,
        email: Some(email),
        subject: None,
        // A purpose picked for a request that takes none is left out rather than refused.
        purpose: given(&values.purpose).filter(|_| {
            matches!(
                kind,
                RequestKind::Objection | RequestKind::ConsentWithdrawal
            )
        }),
        category: given(&values.category).filter(|_| kind == RequestKind::Rectification),
        record: None,
        new_value: given(&values.new_value)
            .filter(|_| kind == RequestKind::Rectification)
            .map(Secret::new),
        channel: "portal".into(),
        vouched: false,
    };
    let now = state.clock.now();
    let desk = state.desk();
    let filed = tokio::task::spawn_blocking(move || {
        desk.file(tenant, filing, &Actor::Portal, now)
            .map(|request| desk.portal_link(&request))
    })
    .await;
    match filed {
        Ok(Ok(link)) => Redirect::to(&local(&link)).into_response(),
        Ok(Err(DeskError::Invalid { field, message })) => again(field, &sentence(&message)),
        Ok(Err(other)) => trouble(&policy, &ApiError::from(other)),
        Err(error) => trouble(&policy, &ApiError::Internal(error.to_string())),
    }
}

/// The path and query of a portal link: redirects stay on the address the person used.
fn local(link: &str) -> String {
    link.find("/privacy/")
        .map_or_else(|| "/privacy".to_owned(), |at| link[at..].to_owned())
}

fn sentence(message: &str) -> String {
    let text = capitalised(message);
    if text.ends_with('.') {
        text
    } else {
        format!("{text}.")
    }
}

#[derive(Debug, Deserialize)]
pub struct StatusQuery {
    t: Option<String>,
}

const BAD_LINK: &str = "This status link is not valid or has expired. Links stay valid for four months after a request is made.";

async fn request_of(
    state: &AppState,
    token: Option<&str>,
) -> Result<Option<(DsRequest, Voice)>, ApiError> {
    let Some((tenant, id)) =
        token.and_then(|t| state.secrets.check_portal_token(t, state.clock.now()))
    else {
        return Ok(None);
    };
    match state.desk_call(move |desk| desk.get(tenant, id)).await {
        Ok(request) => Ok(Some((request, voice_of(state, tenant).await?))),
        Err(ApiError::NotFound(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

pub async fn status(State(state): State<AppState>, Query(query): Query<StatusQuery>) -> Response {
    match request_of(&state, query.t.as_deref()).await {
        Ok(Some((request, voice))) => status_page(
            &state,
            &voice,
            &request,
            query.t.as_deref().unwrap_or_default(),
            None,
        ),
        Ok(None) => not_found(&state.policy, BAD_LINK),
        Err(error) => trouble(&state.policy, &error),
    }
}

fn status_page(
    state: &AppState,
    voice: &Voice,
    request: &DsRequest,
    token: &str,
    error: Option<&str>,
) -> Response {
    let tz = &state.time_zone;
    let policy = &state.policy;
    let awaiting_code =
        request.status == RequestStatus::Received && request.code_hash.is_some() && !request.locked;
    let confirmed = request.verified_at.is_some();
    let closed = !request.status.is_open();
    let title = format!("Your request: {}", request.kind.label());
    let body = html! {
        h1 { (title) }
        dl {
            dt { "Reference" } dd { (request.id) }
            dt { "Received" } dd { (day(request.received_at, tz)) }
            @if let (Some(due), false) = (request.due_at, closed) {
                dt { "We answer by" } dd { (by_the_end_of(due, tz)) }
            }
            @if !closed {
                @let legal = ombud_app::mail::legal_due(policy, request, tz);
                @if request.due_at.is_none_or(|due| last_day(due, tz) != last_day(legal, tz)) {
                    dt { "The law gives us until" } dd { (by_the_end_of(legal, tz)) }
                }
            }
        }
        h2 { "Progress" }
        ol class="steps" {
            li class="done" { "Received on " (day(request.received_at, tz)) }
            li class=[confirmed.then_some("done")] {
                @if let Some(at) = request.verified_at { "Confirmed on " (day(at, tz)) }
                @else if request.locked { "Not confirmed: locked after three wrong codes" }
                @else { "Waiting for you to confirm with the code we sent" }
            }
            @if request.status == RequestStatus::InProgress {
                li { "We are working on it" }
            }
            @if let Some(at) = request.extended_at {
                li { "On " (day(at, tz)) " we extended the deadline; the reason was sent to your email address" }
            }
            li class=[closed.then_some("done")] {
                @match (request.status, request.closed_at) {
                    (RequestStatus::Fulfilled, Some(at)) => { "Answered on " (day(at, tz)) ". The answer, and any download link, went to your email address." }
                    (RequestStatus::Refused, Some(at)) => { "Refused on " (day(at, tz)) ". The reasons, and how to complain, went to your email address." }
                    _ => { "Answer" }
                }
            }
        }
        @if awaiting_code {
            h2 { "Confirm it is you" }
            @if let Some(message) = error {
                div class="summary" role="alert" {
                    p { a href="#code" { (message) } }
                }
            }
            form method="post" action="/privacy/status/confirm" novalidate {
                input type="hidden" name="t" value=(token);
                label class="field" for="code" { "The 8-digit code from our email" }
                span class="hint" id="code-hint" { "Valid for 30 minutes; three tries." }
                input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code"
                    required aria-invalid=[error.map(|_| "true")]
                    aria-describedby={ "code-hint" @if error.is_some() { " code-error" } };
                @if let Some(message) = error {
                    p class="error" id="code-error" { (message) }
                }
                button type="submit" { "Confirm" }
            }
            form method="post" action="/privacy/status/code" {
                input type="hidden" name="t" value=(token);
                p class="hint" { "No code, or it has expired? We can send a new one; your request keeps the day it was received." }
                button type="submit" { "Send me a new code" }
            }
        } @else if request.locked {
            p class="error" {
                "This request is locked after three wrong codes. Write to " (voice.contact)
                " to confirm who you are another way."
            }
        } @else if let Some(message) = error {
            p class="error" role="alert" { (message) }
        }
        p { "Keep this page's address to come back to it." }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    page(status, policy, voice, &title, body)
}

#[derive(Debug, Deserialize)]
pub struct ResendForm {
    t: Option<String>,
}

/// The person asks for a new code from the status page.
pub async fn resend_code(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<ResendForm>,
) -> Response {
    let token = form.t.unwrap_or_default();
    let (request, voice) = match request_of(&state, Some(&token)).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&state.policy, BAD_LINK),
        Err(error) => return trouble(&state.policy, &error),
    };
    if let Some(to) = &request.contact
        && let Err(limited) = state.limits.mailing(client, to.expose())
    {
        return too_many(&state.policy, &voice, limited);
    }
    let now = state.clock.now();
    let (tenant, id) = (request.tenant, request.id);
    let desk = state.desk();
    let step =
        tokio::task::spawn_blocking(move || desk.resend_code(tenant, id, &Actor::Portal, now))
            .await;
    match step {
        Ok(Ok(_)) | Ok(Err(DeskError::Rule(_))) => {
            Redirect::to(&format!("/privacy/status?t={token}")).into_response()
        }
        Ok(Err(DeskError::Verification(message) | DeskError::TooSoon { message, .. })) => {
            status_page(&state, &voice, &request, &token, Some(&sentence(&message)))
        }
        Ok(Err(other)) => trouble(&state.policy, &ApiError::from(other)),
        Err(error) => trouble(&state.policy, &ApiError::Internal(error.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    t: Option<String>,
    code: Option<String>,
}

pub async fn confirm(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let token = form.t.unwrap_or_default();
    let (request, voice) = match request_of(&state, Some(&token)).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&state.policy, BAD_LINK),
        Err(error) => return trouble(&state.policy, &error),
    };
    let Some(code) = given(&form.code) else {
        return status_page(
            &state,
            &voice,
            &request,
            &token,
            Some("Enter the code from our email."),
        );
    };
    // Only a request still waiting for its code spends a try: a second tab confirming a
    // confirmed request does not.
    if request.status == RequestStatus::Received
        && let Some(to) = &request.contact
        && let Err(limited) = state.limits.code_try(client, to.expose())
    {
        return too_many(&state.policy, &voice, limited);
    }
    let now = state.clock.now();
    let (tenant, id) = (request.tenant, request.id);
    let desk = state.desk();
    let step = tokio::task::spawn_blocking(move || {
        // Two tabs (or a double click) confirming at once: the one that lost the race reads
        // the request again and tries once more, finding it confirmed or counting its try.
        let mut tries = 0;
        loop {
            match desk.verify_code(tenant, id, &code, &Actor::Portal, now) {
                Err(DeskError::Store(ombud_store::StoreError::Conflict(_))) if tries < 3 => {
                    tries += 1;
                }
                other => return other,
            }
        }
    })
    .await;
    let back = format!("/privacy/status?t={token}");
    match step {
        Ok(Ok(_)) => Redirect::to(&back).into_response(),
        // Already confirmed (a second tab, a double click): the page says where it stands.
        Ok(Err(DeskError::Rule(_))) => Redirect::to(&back).into_response(),
        Ok(Err(DeskError::Verification(message))) => {
            let request = match request_of(&state, Some(&token)).await {
                Ok(Some((request, _))) => request,
                _ => request,
            };
            status_page(&state, &voice, &request, &token, Some(&sentence(&message)))
        }
        Ok(Err(DeskError::Store(ombud_store::StoreError::Conflict(_)))) => page(
            StatusCode::CONFLICT,
            &state.policy,
            &voice,
            "This request just changed",
            html! {
                h1 { "This request just changed" }
                p { "It was being confirmed from somewhere else at the same moment. " a href=(back) { "See where it stands" } "." }
            },
        ),
        Ok(Err(other)) => trouble(&state.policy, &ApiError::from(other)),
        Err(error) => trouble(&state.policy, &ApiError::Internal(error.to_string())),
    }
}

const SPENT: &str = "This download link has been used or has expired. Make a new access or portability request to receive a new copy.";

/// The page a download link opens: it shows the file and spends nothing, so a mail scanner that
/// follows the link does not use up the one download.
pub async fn export_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some((tenant, _)) = state.secrets.check_export_token(&token) else {
        return gone(&state.policy);
    };
    let voice = match voice_of(&state, tenant).await {
        Ok(voice) => voice,
        Err(error) => return trouble(&state.policy, &error),
    };
    let now = state.clock.now();
    let store = std::sync::Arc::clone(&state.store);
    let hash = export_token_hash(&token);
    let pending =
        tokio::task::spawn_blocking(move || store.pending_export(tenant, &hash, now)).await;
    match pending {
        Ok(Ok(Some((file_name, expires_at)))) => page(
            StatusCode::OK,
            &state.policy,
            &voice,
            "Your copy is ready",
            html! {
                h1 { "Your copy is ready" }
                dl {
                    dt { "File" } dd { (file_name) }
                    dt { "Available until" } dd { (ombud_app::mail::moment(expires_at, &state.time_zone)) }
                }
                p { "It can be downloaded once: save it where you can find it. It is a zip file with your data as JSON, a CSV file per kind of data, and a summary you can open in a browser." }
                form method="post" action={ "/privacy/exports/" (token) } {
                    button type="submit" { "Download " (file_name) }
                }
            },
        ),
        Ok(Ok(None)) => gone(&state.policy),
        Ok(Err(error)) => trouble(&state.policy, &ApiError::from(error)),
        Err(error) => trouble(&state.policy, &ApiError::Internal(error.to_string())),
    }
}

fn gone(policy: &Policy) -> Response {
    page(
        StatusCode::GONE,
        policy,
        &Voice::operator(policy),
        "Link used or expired",
        html! {
            h1 { "This link has been used or has expired" }
            p { (SPENT) }
            p { a href="/privacy" { "Make a new request" } }
        },
    )
}

/// Hands the export out, once.
pub async fn export_download(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let now = state.clock.now();
    let policy = std::sync::Arc::clone(&state.policy);
    match state
        .desk_call(move |desk| desk.download(&token, now))
        .await
    {
        Ok(Some((file_name, bytes))) => {
            let disposition =
                HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
            (
                StatusCode::OK,
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/zip"),
                    ),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                bytes,
            )
                .into_response()
        }
        Ok(None) => gone(&policy),
        Err(error) => trouble(&policy, &error),
    }
}

#[derive(Debug, Deserialize)]
pub struct UnsubscribeQuery {
    token: Option<String>,
}

/// What the unsubscribe link of a notice leads to, checked: (tenant, person, kind).
fn unsubscribe_link(
    state: &AppState,
    query: &UnsubscribeQuery,
) -> Option<(TenantId, SubjectId, String)> {
    state
        .secrets
        .check_unsubscribe_token(query.token.as_deref()?)
}

fn link_not_valid(policy: &Policy) -> Response {
    not_found(
        policy,
        "This unsubscribe link is not valid: it may have been cut short when it was copied. Open it again from the message, or write to us at the address below.",
    )
}

/// The page an unsubscribe link opens: it asks, and changes nothing, so a mail scanner that
/// follows links does not unsubscribe anyone. Mail clients' one-click button posts instead.
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    Query(query): Query<UnsubscribeQuery>,
) -> Response {
    let Some((tenant, _, kind)) = unsubscribe_link(&state, &query) else {
        return link_not_valid(&state.policy);
    };
    let voice = match voice_of(&state, tenant).await {
        Ok(voice) => voice,
        Err(error) => return trouble(&state.policy, &error),
    };
    let name = state
        .policy
        .notice_kinds
        .iter()
        .find(|k| k.key == kind)
        .map_or(kind.clone(), |k| k.name.clone());
    let token = query.token.unwrap_or_default();
    page(
        StatusCode::OK,
        &state.policy,
        &voice,
        "Stop these messages",
        html! {
            h1 { "Stop these messages" }
            p { "You receive messages of this kind from " (voice.controller) ": " strong { (name) } "." }
            form method="post" action={ "/privacy/unsubscribe?token=" (token) } {
                button type="submit" { "Stop receiving them" }
            }
            p { "Messages the service cannot run without (security notices, changes to these terms) still reach you." }
        },
    )
}

/// Stops the kind for the person: the confirmation from the page, or a mail client's
/// one-click POST (RFC 8058, body `List-Unsubscribe=One-Click`), which carries no cookie and
/// no Origin; the signed link is the whole authority, as it is for the status page.
pub async fn unsubscribe(
    State(state): State<AppState>,
    Query(query): Query<UnsubscribeQuery>,
) -> Response {
    let Some((tenant, subject, kind)) = unsubscribe_link(&state, &query) else {
        return link_not_valid(&state.policy);
    };
    let voice = match voice_of(&state, tenant).await {
        Ok(voice) => voice,
        Err(error) => return trouble(&state.policy, &error),
    };
    let (store, policy, now) = (
        std::sync::Arc::clone(&state.store),
        std::sync::Arc::clone(&state.policy),
        state.clock.now(),
    );
    let done = tokio::task::spawn_blocking(move || {
        ombud_app::notices::unsubscribe(store.as_ref(), &policy, tenant, subject, &kind, now)
    })
    .await;
    match done {
        Ok(Ok(done)) => page(
            StatusCode::OK,
            &state.policy,
            &voice,
            "You will not receive these messages",
            html! {
                h1 { "You will not receive these messages" }
                p {
                    @if done.already { "You had already stopped " } @else { "We have stopped " }
                    strong { (done.kind_name) }
                    " for you. Messages the service cannot run without still reach you."
                }
                p { "To ask what we hold about you, or to object to other uses, " a href="/privacy" { "make a privacy request" } "." }
            },
        ),
        Ok(Err(ombud_app::notices::NoticeError::Invalid { message, .. })) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &state.policy,
            &voice,
            "These messages cannot be stopped here",
            html! { h1 { "These messages cannot be stopped here" } p { (message) } },
        ),
        Ok(Err(ombud_app::notices::NoticeError::Store(ombud_store::StoreError::NotFound(_)))) => {
            page(
                StatusCode::OK,
                &state.policy,
                &voice,
                "Nothing left to stop",
                html! { h1 { "Nothing left to stop" } p { "We no longer hold your details, so no more messages of this kind can reach you." } },
            )
        }
        Ok(Err(ombud_app::notices::NoticeError::Store(error))) => {
            trouble(&state.policy, &ApiError::from(error))
        }
        Err(error) => trouble(&state.policy, &ApiError::Internal(error.to_string())),
    }
}
