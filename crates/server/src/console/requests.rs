//! The request queue and a request's page: filters and cursor paging across the tenants a user
//! sees, the timeline, the requester's address shown on demand (audited), and every step of
//! the rights desk behind a form — assign, verify by hand, extend, fulfil after a preview of
//! what the person will receive, refuse with a ground.
//!
//! Who may do what is the API's rule: admins, DPOs and agents work requests; the operator's
//! staff read every customer's queue and may assign there, but only a customer's own people
//! decide on its requests (as only its own keys do).

use super::{blocking, page, signed_in, trouble};
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::{Markup, html};
use ombud_app::console::ConsoleError;
use ombud_app::rights::{DeskError, MANUAL_BASES, Outcome, Preview};
use ombud_core::requests::{RequestKind, RequestStatus};
use ombud_store::audit::{AuditFilter, NewAuditEntry};
use ombud_store::model::{Role, TenantId};
use ombud_store::requests::{
    Assigned, DsRequest, MailRecord, QueueCursor, QueueOrder, RequestId, RequestQueue,
};
use ombud_store::users::User;
use ombud_store::{Actor, Store};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Rows on one page of the queue.
const PAGE: usize = 50;

/// Why a request may be refused, as the person is told; or the handler writes their own.
pub const REFUSAL_GROUNDS: &[(&str, &str)] = &[
    (
        "unfounded",
        "The request is manifestly unfounded (Art. 12(5) GDPR).",
    ),
    (
        "excessive",
        "The request is excessive, in particular because it repeats an earlier one (Art. 12(5) GDPR).",
    ),
    (
        "not_identified",
        "We could not confirm that the request comes from the person it is about (Art. 11(2) and 12(6) GDPR).",
    ),
    (
        "others_rights",
        "Answering would adversely affect the rights and freedoms of others (Art. 15(4) GDPR).",
    ),
    (
        "legal_obligation",
        "A legal obligation requires us to keep processing the data (Art. 17(3)(b) GDPR).",
    ),
    (
        "legal_claims",
        "The data is needed to establish, exercise or defend legal claims (Art. 17(3)(e) GDPR).",
    ),
];

fn handles(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Dpo | Role::Agent)
}

/// Whether the user decides on the tenant's requests: a customer is the controller of its
/// data, so only its own people do.
fn decides(user: &User, tenant: TenantId) -> bool {
    handles(user) && user.tenant == tenant
}

fn sees(state: &AppState, user: &User, tenant: TenantId) -> bool {
    user.tenant == state.operator || user.tenant == tenant
}

fn words(text: &str) -> String {
    text.replace('_', " ")
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn forbidden(user: &User, csrf: &str, title: &str, why: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        title,
        Some((user, csrf)),
        html! { h1 { (title) } p { (why) } },
    )
}

fn not_found(user: &User, csrf: &str) -> Response {
    page(
        StatusCode::NOT_FOUND,
        "No such request",
        Some((user, csrf)),
        html! {
            h1 { "No such request" }
            p { "There is no request at this address that you may see. " a href="/console/requests" { "Back to the queue" } }
        },
    )
}

fn unprocessable(user: &User, csrf: &str, title: &str, problem: &str) -> Response {
    page(
        StatusCode::UNPROCESSABLE_ENTITY,
        title,
        Some((user, csrf)),
        html! {
            h1 { (title) }
            p class="error" role="alert" { (problem) }
            p { a href="/console/requests" { "Back to the queue" } }
        },
    )
}

/// The queue's filters, as the form sends them; every one may be empty.
#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    cursor: String,
}

impl QueueQuery {
    /// The same filters, on the page after `cursor`.
    fn link(&self, cursor: &str) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("tenant", self.tenant.as_str()),
            ("kind", &self.kind),
            ("status", &self.status),
            ("due", &self.due),
            ("assignee", &self.assignee),
            ("sort", &self.sort),
            ("cursor", cursor),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .collect();
        format!(
            "/console/requests?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

fn cursor_text(cursor: &QueueCursor) -> String {
    match cursor.due {
        Some(due) => format!("{}.{}", due.as_microsecond(), cursor.id),
        None => format!("-.{}", cursor.id),
    }
}

fn parse_cursor(text: &str) -> Option<QueueCursor> {
    let (due, id) = text.split_once('.')?;
    let due = match due {
        "-" => None,
        micros => Some(Timestamp::from_microsecond(micros.parse().ok()?).ok()?),
    };
    Some(QueueCursor {
        due,
        id: id.parse().ok()?,
    })
}

/// The filters as the store takes them, or which one is wrong and how to mend it.
fn queue_of(
    query: &QueueQuery,
    user: &User,
    state: &AppState,
    now: Timestamp,
) -> Result<RequestQueue, String> {
    let mut queue = RequestQueue {
        limit: PAGE,
        ..RequestQueue::default()
    };
    queue.tenants = match query.tenant.trim() {
        "" if user.tenant == state.operator => None,
        "" => Some(vec![user.tenant]),
        id => {
            let tenant: TenantId = id
                .parse()
                .map_err(|_| "The tenant filter is not a tenant's id; choose one from the list.")?;
            if !sees(state, user, tenant) {
                return Err(
                    "You cannot see that tenant's requests; choose one from the list.".into(),
                );
            }
            Some(vec![tenant])
        }
    };
    match query.status.trim() {
        "" | "open" => queue.open = true,
        "all" => {}
        status => {
            queue.status = Some(RequestStatus::parse(status).ok_or(
                "The status filter is one of open, all, received, verified, in_progress, fulfilled, refused.",
            )?);
        }
    }
    if !query.kind.trim().is_empty() {
        queue.kind = Some(RequestKind::parse(query.kind.trim()).ok_or(
            "The kind filter is one of access, rectification, erasure, restriction, objection, portability, consent_withdrawal.",
        )?);
    }
    queue.due_before = match query.due.trim() {
        "" => None,
        "overdue" => Some(now),
        "week" => Some(
            now.checked_add(jiff::SignedDuration::from_hours(24 * 7))
                .unwrap_or(now),
        ),
        _ => return Err("The deadline filter is overdue, week, or empty for any.".into()),
    };
    queue.assigned = match query.assignee.trim() {
        "" => None,
        "me" => Some(Assigned::To(user.email.expose().to_owned())),
        "nobody" => Some(Assigned::Nobody),
        other => Some(Assigned::To(other.to_owned())),
    };
    queue.order = match query.sort.trim() {
        "" | "due" => QueueOrder::Due,
        "newest" => QueueOrder::Newest,
        _ => return Err("The order is due (the nearest deadline first) or newest.".into()),
    };
    if !query.cursor.is_empty() {
        queue.after = Some(
            parse_cursor(&query.cursor)
                .ok_or("The page link is not valid; start again from the first page.")?,
        );
    }
    Ok(queue)
}

/// How a deadline reads in a list: its last day, with the zone, and how near it is.
fn due_cell(due: Option<Timestamp>, now: Timestamp, tz: &jiff::tz::TimeZone) -> Markup {
    let soon = now
        .checked_add(jiff::SignedDuration::from_hours(24 * 7))
        .unwrap_or(now);
    let by = |at: Timestamp| {
        let text = ombud_app::mail::by_the_end_of(at, tz);
        text.strip_prefix("the end of ").unwrap_or(&text).to_owned()
    };
    html! {
        @match due {
            Some(due) if due < now => td class="overdue" { (by(due)) " — overdue" },
            Some(due) if due < soon => td class="soon" { (by(due)) " — within 7 days" },
            Some(due) => td { (by(due)) },
            None => td class="muted" { "from confirmation" },
        }
    }
}

fn request_link(request: &DsRequest) -> String {
    format!("/console/requests/{}/{}", request.tenant, request.id)
}

pub async fn queue(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<QueueQuery>,
) -> Response {
    let (user, csrf) = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !handles(&user) {
        return forbidden(
            &user,
            &csrf,
            "Requests",
            "Your role does not work requests; admins, DPOs and agents do.",
        );
    }
    let now = state.clock.now();
    let filter = match queue_of(&query, &user, &state, now) {
        Ok(filter) => filter,
        Err(problem) => return unprocessable(&user, &csrf, "Requests", &problem),
    };
    let (who, operator, listed) = (user.clone(), state.operator, filter.clone());
    let found = blocking(&state, move |store, _| {
        let tenants: Vec<_> = store
            .tenants()?
            .into_iter()
            .filter(|t| who.tenant == operator || t.id == who.tenant)
            .collect();
        let requests = store.request_queue(&listed)?;
        Ok((tenants, requests))
    })
    .await;
    let (tenants, requests) = match found {
        Ok(found) => found,
        Err(error) => return trouble(&error),
    };
    let names: BTreeMap<TenantId, &str> = tenants.iter().map(|t| (t.id, t.name.as_str())).collect();
    let next = (requests.len() == filter.page_size())
        .then(|| {
            requests
                .last()
                .map(|last| cursor_text(&filter.cursor_after(last)))
        })
        .flatten();
    let tz = &state.time_zone;
    let selected = |field: &str, value: &str| field == value;
    page(
        StatusCode::OK,
        "Requests",
        Some((&user, &csrf)),
        html! {
            h1 { "Requests" }
            form method="get" action="/console/requests" class="filters" {
                @if user.tenant == state.operator {
                    div {
                        label for="f-tenant" { "Tenant" }
                        select id="f-tenant" name="tenant" {
                            option value="" { "Every tenant" }
                            @for tenant in &tenants {
                                option value=(tenant.id) selected[selected(&query.tenant, &tenant.id.to_string())] { (tenant.name) }
                            }
                        }
                    }
                }
                div {
                    label for="f-status" { "Status" }
                    select id="f-status" name="status" {
                        option value="open" selected[selected(&query.status, "open")] { "open" }
                        option value="all" selected[selected(&query.status, "all")] { "any" }
                        @for status in ["received", "verified", "in_progress", "fulfilled", "refused"] {
                            option value=(status) selected[selected(&query.status, status)] { (words(status)) }
                        }
                    }
                }
                div {
                    label for="f-kind" { "Kind" }
                    select id="f-kind" name="kind" {
                        option value="" { "any" }
                        @for kind in RequestKind::ALL {
                            option value=(kind.as_str()) selected[selected(&query.kind, kind.as_str())] { (words(kind.as_str())) }
                        }
                    }
                }
                div {
                    label for="f-due" { "Deadline" }
                    select id="f-due" name="due" {
                        option value="" { "any" }
                        option value="week" selected[selected(&query.due, "week")] { "within 7 days or overdue" }
                        option value="overdue" selected[selected(&query.due, "overdue")] { "overdue" }
                    }
                }
                div {
                    label for="f-assignee" { "Assigned to" }
                    select id="f-assignee" name="assignee" {
                        option value="" { "anyone or nobody" }
                        option value="me" selected[selected(&query.assignee, "me")] { "me" }
                        option value="nobody" selected[selected(&query.assignee, "nobody")] { "nobody" }
                    }
                }
                div {
                    label for="f-sort" { "Order" }
                    select id="f-sort" name="sort" {
                        option value="due" { "nearest deadline first" }
                        option value="newest" selected[selected(&query.sort, "newest")] { "newest first" }
                    }
                }
                button type="submit" { "Show" }
            }
            @if requests.is_empty() {
                p { "No request matches." }
            } @else {
                div class="table" tabindex="0" role="region" aria-label="Requests" {
                    table {
                        caption { "Requests, " (if filter.order == QueueOrder::Due { "the nearest deadline first" } else { "the newest first" }) }
                        thead { tr {
                            th scope="col" { "Due by the end of" } th scope="col" { "Tenant" } th scope="col" { "Kind" }
                            th scope="col" { "Status" } th scope="col" { "Assigned to" } th scope="col" { "Received" } th scope="col" { "Request" }
                        } }
                        tbody {
                            @for request in &requests {
                                tr {
                                    @if request.status.is_open() { (due_cell(request.due_at, now, tz)) } @else { td class="muted" { "closed" } }
                                    td { (names.get(&request.tenant).copied().unwrap_or("")) }
                                    td { (words(request.kind.as_str())) }
                                    td { (words(request.status.as_str())) }
                                    td { (request.assignee.as_deref().unwrap_or("—")) }
                                    td { (ombud_app::mail::moment(request.received_at, tz)) }
                                    td { a href=(request_link(request)) { "Open " span class="visually-hidden" { (words(request.kind.as_str())) " request " } code { (short(request.id)) } } }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = next {
                p { a href=(query.link(&next)) rel="next" { "Next page" } }
            }
        },
    )
}

/// The end of a request id, enough to tell rows apart; the page shows it whole.
fn short(id: RequestId) -> String {
    let text = id.to_string();
    text[text.len() - 8..].to_owned()
}

/// What the request page shows, read in one step.
struct Sheet {
    request: DsRequest,
    tenant: String,
    mails: Vec<MailRecord>,
    /// The audit entries about the person that name this request.
    steps: Vec<ombud_store::audit::AuditEntry>,
    /// Colleagues the request may be given to: active handlers of the user's tenant and of
    /// the request's.
    colleagues: Vec<String>,
    /// Console users of those tenants by the audit log's name for them (`user:<id>`).
    people: BTreeMap<String, String>,
}

fn read_sheet(
    store: &dyn Store,
    tenant: TenantId,
    id: RequestId,
    viewer: &User,
) -> Result<Option<Sheet>, ConsoleError> {
    let Some(request) = store.request(tenant, id)? else {
        return Ok(None);
    };
    let name = store.tenant(tenant)?.map(|t| t.name).unwrap_or_default();
    let mails = store.mails(tenant, Some(id))?;
    let marker = format!("request={id}");
    let steps = match request.subject {
        Some(subject) => store
            .audit_entries(
                tenant,
                &AuditFilter {
                    subject: Some(subject),
                    actor: None,
                    action: None,
                    from: Some(request.received_at),
                    until: None,
                    after_seq: None,
                    limit: 1000,
                },
            )?
            .into_iter()
            .filter(|e| e.detail.as_deref().is_some_and(|d| d.contains(&marker)))
            .collect(),
        None => vec![],
    };
    let mut colleagues: Vec<String> = vec![];
    let mut people = BTreeMap::new();
    for from in [viewer.tenant, tenant] {
        for user in store.users(from)? {
            let email = user.email.expose().to_owned();
            people.insert(Actor::User(user.id).audit_name(), email.clone());
            if user.disabled_at.is_none() && handles(&user) && !colleagues.contains(&email) {
                colleagues.push(email);
            }
        }
    }
    colleagues.sort();
    Ok(Some(Sheet {
        request,
        tenant: name,
        mails,
        steps,
        colleagues,
        people,
    }))
}

fn parse_target(tenant: &str, id: &str) -> Option<(TenantId, RequestId)> {
    Some((tenant.parse().ok()?, id.parse().ok()?))
}

/// The request a signed-in handler may see, or the page to answer instead.
async fn open_sheet(
    state: &AppState,
    (user, csrf): (User, String),
    tenant: &str,
    id: &str,
) -> Result<(User, String, Sheet), Response> {
    if !handles(&user) {
        return Err(forbidden(
            &user,
            &csrf,
            "Request",
            "Your role does not work requests; admins, DPOs and agents do.",
        ));
    }
    let Some((tenant, id)) = parse_target(tenant, id).filter(|(t, _)| sees(state, &user, *t))
    else {
        return Err(not_found(&user, &csrf));
    };
    let viewer = user.clone();
    match blocking(state, move |store, _| {
        read_sheet(store, tenant, id, &viewer)
    })
    .await
    {
        Ok(Some(sheet)) => Ok((user, csrf, sheet)),
        Ok(None) => Err(not_found(&user, &csrf)),
        Err(error) => Err(trouble(&error)),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

fn done_words(done: &str) -> Option<&'static str> {
    Some(match done {
        "assigned" => "The request's assignment is saved.",
        "verified" => "The person's identity is confirmed; the deadline runs.",
        "extended" => "The deadline is extended; the person is told why.",
        "fulfilled" => "The request is fulfilled; the person's answer is on its way.",
        "refused" => "The request is refused; the person is told why and where to complain.",
        _ => return None,
    })
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, String)>,
    Query(done): Query<DoneQuery>,
) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    match open_sheet(&state, signed, &tenant, &id).await {
        Ok((user, csrf, sheet)) => {
            request_page(&state, &user, &csrf, &sheet, None, done_words(&done.done))
        }
        Err(response) => response,
    }
}

fn request_page(
    state: &AppState,
    user: &User,
    csrf: &str,
    sheet: &Sheet,
    revealed: Option<&str>,
    done: Option<&str>,
) -> Response {
    page(
        StatusCode::OK,
        "Request",
        Some((user, csrf)),
        request_body(state, user, csrf, sheet, revealed, done, None),
    )
}

#[allow(clippy::too_many_arguments)]
fn request_body(
    state: &AppState,
    user: &User,
    csrf: &str,
    sheet: &Sheet,
    revealed: Option<&str>,
    done: Option<&str>,
    problem: Option<&str>,
) -> Markup {
    let request = &sheet.request;
    let tz = &state.time_zone;
    let now = state.clock.now();
    let at = |t: Timestamp| ombud_app::mail::moment(t, tz);
    let legal = ombud_app::mail::legal_due(&state.policy, request, tz);
    let decides = decides(user, request.tenant);
    let open = request.status.is_open();
    let outcome = request
        .outcome
        .as_deref()
        .and_then(|o| serde_json::from_str::<Outcome>(o).ok());
    let base = request_link(request);
    let manual = state
        .policy
        .rights
        .verification
        .contains(&ombud_policy::model::Verification::Manual);
    let mut timeline: Vec<(Timestamp, String)> = vec![(
        request.received_at,
        format!("Filed through the {}", words(&request.channel)),
    )];
    if let Some(verified) = request.verified_at {
        timeline.push((
            verified,
            format!(
                "Identity confirmed ({})",
                words(request.verified_by.as_deref().unwrap_or("unknown"))
            ),
        ));
    }
    if let Some(extended) = request.extended_at {
        timeline.push((
            extended,
            format!(
                "Deadline extended: {}",
                request.extension_reason.as_deref().unwrap_or("")
            ),
        ));
    }
    if let Some(overdue) = request.overdue_at {
        timeline.push((overdue, "The deadline passed".into()));
    }
    for mail in &sheet.mails {
        timeline.push((
            mail.created_at,
            format!("Mail “{}” queued", words(&mail.template)),
        ));
        if let Some(sent) = mail.sent_at {
            timeline.push((sent, format!("Mail “{}” sent", words(&mail.template))));
        }
    }
    // The steps the request's own dates tell already are not repeated from the audit log.
    const TOLD: &[&str] = &[
        "request.file",
        "request.verify",
        "request.extend",
        "request.fulfil",
        "request.refuse",
        "request.overdue",
    ];
    for step in sheet
        .steps
        .iter()
        .filter(|s| !TOLD.contains(&s.action.as_str()))
    {
        let by = sheet.people.get(&step.actor).unwrap_or(&step.actor);
        let what = match step.action.as_str() {
            "request.assign" => "Assigned".to_owned(),
            "request.contact_read" => "The requester's address was shown".to_owned(),
            "request.start" => "Work started".to_owned(),
            other => words(other).replace('.', ": "),
        };
        timeline.push((step.at, format!("{what} — by {by}")));
    }
    if let Some(closed) = request.closed_at {
        timeline.push((
            closed,
            match request.status {
                RequestStatus::Refused => format!(
                    "Refused: {}",
                    request.refusal_reason.as_deref().unwrap_or("")
                ),
                _ => "Fulfilled".to_owned(),
            },
        ));
    }
    timeline.sort_by_key(|(t, _)| *t);
    html! {
        p { a href="/console/requests" { "← The queue" } }
        h1 { (capitalised(&words(request.kind.as_str()))) " request" }
        @if let Some(done) = done { p class="kept" role="status" { (done) } }
        @if let Some(problem) = problem { p class="error" role="alert" { (problem) } }
        dl class="facts" {
            dt { "Request" } dd { code { (request.id) } }
            dt { "Tenant" } dd { (sheet.tenant) }
            dt { "Status" } dd { (words(request.status.as_str())) @if request.locked { " — locked after wrong codes" } }
            @if open {
                dt { "Due by the end of" }
                dd {
                    @match request.due_at {
                        Some(due) => {
                            (ombud_app::mail::by_the_end_of(due, tz).trim_start_matches("the end of "))
                            @if due < now { strong class="broken" { " — overdue" } }
                        }
                        None => "the clock starts when the person confirms who they are",
                    }
                }
                dt { "The law's limit" } dd { (ombud_app::mail::by_the_end_of(legal, tz).trim_start_matches("the end of ")) }
            }
            dt { "Received" } dd { (at(request.received_at)) }
            @if let Some(purpose) = &request.purpose { dt { "Purpose" } dd { (purpose) } }
            @if let Some(category) = &request.category { dt { "Category" } dd { (category) } }
            dt { "Assigned to" } dd { (request.assignee.as_deref().unwrap_or("nobody")) }
            dt { "Person in the register" } dd { @if let Some(subject) = request.subject { code { (subject) } } @else { "none matched" } }
            dt { "Requester's address" }
            dd {
                @if let Some(address) = revealed {
                    span id="requester" { (address) } " " span class="muted" { "(this look is in the audit log)" }
                } @else if request.contact.is_some() {
                    form method="post" action=(format!("{base}/reveal")) class="inline" {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" class="quiet" { "Show the address" }
                    }
                    span class="muted" { " Showing it is recorded in the audit log." }
                } @else {
                    "none given"
                }
            }
            @if let Some(outcome) = &outcome {
                dt { "Outcome" } dd { (outcome.summary) }
            }
        }
        @if let Some(outcome) = &outcome {
            @if !outcome.kept.is_empty() {
                h2 { "What the erasure kept, and why" }
                ul { @for kept in &outcome.kept { li { (kept.category) ": " (kept.records) " — " (kept.rule) @if let Some(law) = &kept.law { " (" (law) ")" } } } }
            }
        }
        @if open && handles(user) {
            h2 { "Work on it" }
            @if !decides {
                p class="muted" { "This customer is the controller of its data and decides on its requests; you may assign it." }
            }
            form method="post" action=(format!("{base}/assign")) {
                input type="hidden" name="csrf" value=(csrf);
                label for="assignee" { "Assign to" }
                select id="assignee" name="assignee" {
                    option value="" { "nobody" }
                    @for colleague in &sheet.colleagues {
                        option value=(colleague) selected[request.assignee.as_deref() == Some(colleague.as_str())] {
                            (colleague) @if colleague == user.email.expose() { " (me)" }
                        }
                    }
                }
                button type="submit" { "Assign" }
            }
            @if decides {
                @if request.status == RequestStatus::Received && manual {
                    form method="post" action=(format!("{base}/verify")) {
                        input type="hidden" name="csrf" value=(csrf);
                        fieldset {
                            legend { "Confirm who the person is, by hand" }
                            @for (i, (id, words)) in MANUAL_BASES.iter().enumerate() {
                                div { input type="radio" id=(format!("basis-{id}")) name="basis" value=(id) required checked[i == 0]; label class="choice" for=(format!("basis-{id}")) { (words) } }
                            }
                        }
                        button type="submit" { "Confirm identity" }
                    }
                }
                @if request.extended_at.is_none() {
                    form method="post" action=(format!("{base}/extend")) {
                        input type="hidden" name="csrf" value=(csrf);
                        label for="extend-reason" { "Extend the deadline by " (state.policy.rights.extension) ": why (the person is told)" }
                        textarea id="extend-reason" name="reason" rows="2" maxlength="2000" required {}
                        button type="submit" { "Extend" }
                    }
                }
                @if matches!(request.status, RequestStatus::Verified | RequestStatus::InProgress) {
                    p { a class="button" href=(format!("{base}/fulfil")) { "Fulfil — see what the person will receive first" } }
                }
                form method="post" action=(format!("{base}/refuse")) {
                    input type="hidden" name="csrf" value=(csrf);
                    fieldset {
                        legend { "Refuse: the ground the person is told, with their right to complain" }
                        @for (id, text) in REFUSAL_GROUNDS {
                            div { input type="radio" id=(format!("ground-{id}")) name="ground" value=(id) required; label class="choice" for=(format!("ground-{id}")) { (text) } }
                        }
                        div { input type="radio" id="ground-own" name="ground" value="own"; label class="choice" for="ground-own" { "In my own words:" } }
                        label for="refuse-reason" class="visually-hidden" { "The reason in your own words" }
                        textarea id="refuse-reason" name="reason" rows="2" maxlength="2000" {}
                    }
                    button type="submit" class="danger" { "Refuse" }
                }
            }
        }
        h2 { "Timeline" }
        ol class="timeline" {
            @for (when, what) in &timeline {
                li { time datetime=(when.to_string()) { (at(*when)) } " — " (what) }
            }
        }
        h2 { "Mails" }
        @if sheet.mails.is_empty() {
            p { "No mail was sent about this request." }
        } @else {
            div class="table" tabindex="0" role="region" aria-label="Mails" {
                table {
                    thead { tr { th scope="col" { "Mail" } th scope="col" { "Queued" } th scope="col" { "Sent" } th scope="col" { "Tries" } } }
                    tbody {
                        @for mail in &sheet.mails {
                            tr {
                                td { (words(&mail.template)) }
                                td { (at(mail.created_at)) }
                                td { @if let Some(sent) = mail.sent_at { (at(sent)) } @else { span class="soon" { "not yet" } @if let Some(error) = &mail.last_error { " — " (error) } } }
                                td { (mail.attempts) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn reveal(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let signed = match super::checked_post(&state, &headers, &form.csrf).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let (user, csrf, sheet) = match open_sheet(&state, signed, &tenant, &id).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    let Some(contact) = sheet.request.contact.clone() else {
        return request_page(&state, &user, &csrf, &sheet, None, None);
    };
    let entry = NewAuditEntry::request_step(&Actor::User(user.id), &sheet.request, "contact_read");
    let tenant = sheet.request.tenant;
    if let Err(error) = blocking(&state, move |store, now| {
        store.append_audit(tenant, entry, now)?;
        Ok(())
    })
    .await
    {
        return trouble(&error);
    }
    request_page(&state, &user, &csrf, &sheet, Some(contact.expose()), None)
}

/// A desk step's refusal as the page says it, or `None` for a failure of the server.
fn refusal(error: &DeskError) -> Option<(StatusCode, String)> {
    match error {
        DeskError::Store(ombud_store::StoreError::Conflict(_)) => Some((
            StatusCode::CONFLICT,
            "Someone changed this request meanwhile; here it is as it is now. Try again if it still needs it.".into(),
        )),
        DeskError::Store(_) => None,
        DeskError::NotFound => Some((StatusCode::NOT_FOUND, error.to_string())),
        DeskError::Unavailable(_) => Some((StatusCode::SERVICE_UNAVAILABLE, error.to_string())),
        DeskError::Rule(
            ombud_core::RequestError::ReasonMissing | ombud_core::RequestError::ExtensionTooLong(_),
        ) => Some((StatusCode::UNPROCESSABLE_ENTITY, error.to_string())),
        DeskError::Rule(_) | DeskError::TooSoon { .. } => {
            Some((StatusCode::CONFLICT, error.to_string()))
        }
        DeskError::Invalid { .. } | DeskError::Verification(_) | DeskError::Forbidden(_) => {
            Some((StatusCode::UNPROCESSABLE_ENTITY, error.to_string()))
        }
    }
}

/// One step on one request, by a user.
pub struct Step {
    tenant: TenantId,
    id: RequestId,
    /// The tenant of the user taking the step.
    viewer: TenantId,
    actor: Actor,
    now: Timestamp,
}

/// Runs one step of the rights desk for a handler who decides (or, for `assign`, any handler)
/// and answers with the request page: after success a redirect to it, after a refusal the
/// page with the reason.
async fn desk_step(
    state: AppState,
    headers: HeaderMap,
    (tenant, id): (String, String),
    csrf: String,
    deciding: bool,
    done: &'static str,
    work: impl FnOnce(&ombud_app::rights::Desk, &Step) -> Result<(), DeskError> + Send + 'static,
) -> Response {
    let signed = match super::checked_post(&state, &headers, &csrf).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let (user, csrf, sheet) = match open_sheet(&state, signed, &tenant, &id).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    let (tenant, id) = (sheet.request.tenant, sheet.request.id);
    if deciding && !decides(&user, tenant) {
        return forbidden(
            &user,
            &csrf,
            "Request",
            "This customer is the controller of its data and decides on its requests; a user of the customer's own tenant does this.",
        );
    }
    let desk = state.desk();
    let step = Step {
        tenant,
        id,
        viewer: user.tenant,
        actor: Actor::User(user.id),
        now: state.clock.now(),
    };
    let ran = tokio::task::spawn_blocking(move || work(&desk, &step)).await;
    let error = match ran {
        Ok(Ok(())) => {
            return Redirect::to(&format!("{}?done={done}", request_link(&sheet.request)))
                .into_response();
        }
        Ok(Err(error)) => error,
        Err(join) => DeskError::Store(ombud_store::StoreError::Database(format!(
            "a request step did not finish: {join}"
        ))),
    };
    let Some((status, message)) = refusal(&error) else {
        return trouble(&ConsoleError::Store(match error {
            DeskError::Store(e) => e,
            other => ombud_store::StoreError::Database(other.to_string()),
        }));
    };
    // Show the request as it is now, with why the step was refused.
    let viewer = user.clone();
    let fresh = blocking(&state, move |store, _| {
        read_sheet(store, tenant, id, &viewer)
    })
    .await;
    match fresh {
        Ok(Some(sheet)) => page(
            status,
            "Request",
            Some((&user, &csrf)),
            request_body(&state, &user, &csrf, &sheet, None, None, Some(&message)),
        ),
        Ok(None) => not_found(&user, &csrf),
        Err(error) => trouble(&error),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    assignee: String,
}

pub async fn assign(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(target): Path<(String, String)>,
    Form(form): Form<AssignForm>,
) -> Response {
    let assignee = form.assignee.trim().to_owned();
    desk_step(
        state,
        headers,
        target,
        form.csrf,
        false,
        "assigned",
        move |desk, step| {
            if !assignee.is_empty() {
                // Only a colleague the page offered: someone who works requests here.
                let mut known = false;
                for tenant in [step.viewer, step.tenant] {
                    known |= desk.store.users(tenant)?.iter().any(|u| {
                        u.disabled_at.is_none() && handles(u) && u.email.expose() == assignee
                    });
                }
                if !known {
                    return Err(DeskError::Invalid {
                        field: "assignee",
                        message:
                            "Choose a colleague from the list: someone who works requests here."
                                .into(),
                    });
                }
            }
            desk.assign(step.tenant, step.id, Some(&assignee), &step.actor, step.now)
                .map(|_| ())
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    basis: String,
}

pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(target): Path<(String, String)>,
    Form(form): Form<VerifyForm>,
) -> Response {
    let basis = form.basis.trim().to_owned();
    desk_step(
        state,
        headers,
        target,
        form.csrf,
        true,
        "verified",
        move |desk, step| {
            if basis.is_empty() {
                return Err(DeskError::Invalid {
                    field: "basis",
                    message: "Say how you confirmed who the person is.".into(),
                });
            }
            desk.verify_manually(step.tenant, step.id, Some(&basis), &step.actor, step.now)
                .map(|_| ())
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    ground: String,
}

pub async fn extend(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(target): Path<(String, String)>,
    Form(form): Form<ReasonForm>,
) -> Response {
    let reason = form.reason;
    desk_step(
        state,
        headers,
        target,
        form.csrf,
        true,
        "extended",
        move |desk, step| {
            desk.extend(step.tenant, step.id, None, &reason, &step.actor, step.now)
                .map(|_| ())
        },
    )
    .await
}

pub async fn refuse(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(target): Path<(String, String)>,
    Form(form): Form<ReasonForm>,
) -> Response {
    let reason = match form.ground.as_str() {
        "own" | "" => form.reason.trim().to_owned(),
        ground => match REFUSAL_GROUNDS.iter().find(|(id, _)| *id == ground) {
            Some((_, text)) => (*text).to_owned(),
            None => String::new(),
        },
    };
    let unknown = !matches!(form.ground.as_str(), "own" | "")
        && !REFUSAL_GROUNDS.iter().any(|(id, _)| *id == form.ground);
    desk_step(state, headers, target, form.csrf, true, "refused", move |desk, step| {
        if unknown {
            return Err(DeskError::Invalid {
                field: "ground",
                message: "Choose one of the grounds listed, or write your own.".into(),
            });
        }
        if reason.is_empty() {
            return Err(DeskError::Invalid {
                field: "reason",
                message: "Choose a ground, or write the reason in your own words: the person is told it.".into(),
            });
        }
        desk.refuse(step.tenant, step.id, &reason, &step.actor, step.now)
            .map(|_| ())
    })
    .await
}

/// The fulfil page: exactly what the person will receive, then the button.
pub async fn fulfil_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    let signed = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let (user, csrf, sheet) = match open_sheet(&state, signed, &tenant, &id).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    let request = sheet.request.clone();
    if !decides(&user, request.tenant) {
        return forbidden(
            &user,
            &csrf,
            "Fulfil",
            "This customer is the controller of its data and decides on its requests; a user of the customer's own tenant fulfils them.",
        );
    }
    if !matches!(
        request.status,
        RequestStatus::Verified | RequestStatus::InProgress
    ) {
        return unprocessable(
            &user,
            &csrf,
            "Fulfil",
            "Only a request whose person is confirmed and that is still open can be fulfilled.",
        );
    }
    let desk = state.desk();
    let now = state.clock.now();
    let previewed =
        tokio::task::spawn_blocking(move || desk.preview(request.tenant, request.id, now)).await;
    let preview = match previewed {
        Ok(Ok(preview)) => preview,
        Ok(Err(error)) => {
            return match refusal(&error) {
                Some((status, message)) => page(
                    status,
                    "Fulfil",
                    Some((&user, &csrf)),
                    html! { h1 { "Fulfil" } p class="error" role="alert" { (message) } p { a href=(request_link(&sheet.request)) { "Back to the request" } } },
                ),
                None => trouble(&ConsoleError::Store(ombud_store::StoreError::Database(
                    error.to_string(),
                ))),
            };
        }
        Err(join) => {
            return trouble(&ConsoleError::Store(ombud_store::StoreError::Database(
                join.to_string(),
            )));
        }
    };
    page(
        StatusCode::OK,
        "Fulfil",
        Some((&user, &csrf)),
        preview_body(&sheet.request, &preview, &csrf, &state),
    )
}

fn preview_body(request: &DsRequest, preview: &Preview, csrf: &str, state: &AppState) -> Markup {
    let tz = &state.time_zone;
    html! {
        p { a href=(request_link(request)) { "← The request" } }
        h1 { "Fulfil this " (words(request.kind.as_str())) " request" }
        p { "Nothing has been done yet. This is what fulfilling it does, and what the person is told:" }
        p class="summary" { strong { (preview.summary) } }
        @if !preview.categories.is_empty() {
            div class="table" tabindex="0" role="region" aria-label="Records" {
                table {
                    caption { @if request.kind == RequestKind::Erasure { "Records deleted, per category" } @else { "Records the answer gives, per category" } }
                    thead { tr { th scope="col" { "Category" } th scope="col" { "Records" } } }
                    tbody { @for (category, count) in &preview.categories { tr { td { (category) } td { (count) } } } }
                }
            }
        }
        @if preview.events > 0 || preview.notices > 0 {
            p { "The answer also lists " (preview.events) " consent and objection events and " (preview.notices) " notices the person was sent." }
        }
        @if !preview.kept.is_empty() {
            h2 { "Kept, and why (the person is told)" }
            ul {
                @for kept in &preview.kept {
                    li {
                        (kept.category) ": " (kept.records) " — " (kept.rule)
                        @if let Some(law) = &kept.law { " (" (law) ")" }
                        @if let Some(until) = kept.until { ", until the end of " (ombud_app::mail::by_the_end_of(until, tz).trim_start_matches("the end of ")) }
                        @else if let Some(event) = &kept.starts_with { ", for a period that starts with " (words(event)) }
                    }
                }
            }
        }
        @if !preview.tables.is_empty() {
            div class="table" tabindex="0" role="region" aria-label="The operator's systems" {
                table {
                    caption { "In the operator's own systems" }
                    thead { tr { th scope="col" { "System" } th scope="col" { "Table" } th scope="col" { @if request.kind == RequestKind::Erasure { "Rows deleted" } @else { "Rows given" } } th scope="col" { "Rows masked" } th scope="col" { "Fields kept" } } }
                    tbody {
                        @for table in &preview.tables {
                            tr { td { (table.system) } td { code { (table.collection) } } td { (table.rows) } td { (table.masked) } td { (table.kept.join(", ")) } }
                        }
                    }
                }
            }
        }
        @if !preview.recipients.is_empty() {
            p { "Told of it (Art. 19 GDPR): " (preview.recipients.join(", ")) "." }
        }
        form method="post" action=(format!("{}/fulfil", request_link(request))) {
            input type="hidden" name="csrf" value=(csrf);
            @for (id, purpose) in &preview.objected {
                label for=(format!("grounds-{id}")) { "Compelling legitimate grounds to go on with “" (purpose) "” (leave empty to stop it)" }
                textarea id=(format!("grounds-{id}")) name=(format!("grounds.{id}")) rows="2" maxlength="2000" {}
            }
            button type="submit" { "Fulfil now" }
        }
    }
}

pub async fn fulfil(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(target): Path<(String, String)>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = form
        .iter()
        .find(|(name, _)| name == "csrf")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let grounds: BTreeMap<String, String> = form
        .into_iter()
        .filter_map(|(name, value)| {
            let purpose = name.strip_prefix("grounds.")?.to_owned();
            let value = value.trim().to_owned();
            (!value.is_empty()).then_some((purpose, value))
        })
        .collect();
    desk_step(
        state,
        headers,
        target,
        csrf,
        true,
        "fulfilled",
        move |desk, step| {
            desk.decide(step.tenant, step.id, &grounds, &step.actor, step.now)
                .map(|_| ())
        },
    )
    .await
}
