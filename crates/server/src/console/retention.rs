//! Retention in the console: a chart (SVG drawn here, no script) of what leaves per week over
//! the next 90 days by category, with its numbers in a table; what the next sweep removes and
//! what nothing dates the end of; the last sweeps from their signed receipts; legal holds
//! placed and released; reviews due, kept or deleted. Reading is for admins, DPOs and auditors;
//! holds for admins and DPOs; a review's decision, like the API's, for a tenant's own people.

use super::{TenantForm, blocking, page, signed_in, trouble, visible_tenant};
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use jiff::civil::Date;
use maud::{Markup, PreEscaped, html};
use ombud_app::console::ConsoleError;
use ombud_app::sweeper::{Forecast, ReviewDecision, ReviewDue, ReviewRefusal, Sweep};
use ombud_core::DataRole;
use ombud_store::model::{Role, SubjectId, TenantId};
use ombud_store::receipts::{ReceiptFilter, ReceiptKind};
use ombud_store::retention::{HoldId, HoldReason, LegalHold};
use ombud_store::users::User;
use ombud_store::{Actor, Store};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The chart's horizon and its bars.
const DAYS: i64 = 90;
const WEEKS: usize = 13;

/// Colours for the chart's categories, distinct on a light and a dark page alike.
const PALETTE: [&str; 8] = [
    "#1f77b4", "#d95f02", "#2ca02c", "#c2185b", "#7b61ff", "#8c6d31", "#0097a7", "#6d6d6d",
];

fn reads(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Dpo | Role::Auditor)
}

fn acts(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Dpo)
}

fn words(text: &str) -> String {
    text.replace('_', " ")
}

#[derive(Debug, Default, Deserialize)]
pub struct RetentionQuery {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    done: String,
}

/// One sweep, as its signed receipt tells it.
struct SweepLine {
    ran_at: Timestamp,
    records: u64,
    subjects: u64,
    held: u64,
    verified: bool,
}

struct Sheet {
    tenants: Vec<(TenantId, String)>,
    tenant: TenantId,
    forecast: Forecast,
    reviews: Vec<ReviewDue>,
    holds: Vec<LegalHold>,
    sweeps: Vec<SweepLine>,
}

fn read_sheet(
    store: &dyn Store,
    state: &AppState,
    user: &User,
    tenant: TenantId,
    now: Timestamp,
) -> Result<Sheet, ConsoleError> {
    let tenants = store
        .tenants()?
        .into_iter()
        .filter(|t| user.tenant == state.operator || t.id == user.tenant)
        .map(|t| (t.id, t.name))
        .collect();
    let sweep = Sweep {
        store,
        policy: &state.policy,
        time_zone: &state.time_zone,
        tenant,
        data_role: DataRole::of_tenant(tenant == state.operator),
        now,
        dry_run: true,
    };
    let forecast = sweep.forecast(DAYS)?;
    let reviews = sweep.reviews(30)?;
    let holds = store.holds(tenant, None)?;
    let keys = ombud_app::receipts::Jwks::published(&store.receipt_keys()?);
    let sweeps = store
        .receipts(
            tenant,
            &ReceiptFilter {
                kind: Some(ReceiptKind::Sweep),
                before: None,
                limit: 5,
            },
        )?
        .into_iter()
        .filter_map(|stored| {
            let verified = ombud_app::receipts::verify(&stored.jws, &keys);
            let receipt = match &verified {
                Ok(receipt) => receipt.clone(),
                // A receipt whose key was retired still says what it says; the page marks it.
                Err(_) => ombud_app::receipts::unverified(&stored.jws)?,
            };
            let done = receipt.sweep?;
            Some(SweepLine {
                ran_at: done.ran_at,
                records: done.records,
                subjects: done.subjects,
                held: done.held,
                verified: verified.is_ok(),
            })
        })
        .collect();
    Ok(Sheet {
        tenants,
        tenant,
        forecast,
        reviews,
        holds,
        sweeps,
    })
}

/// Records leaving per week and category, from the forecast's days.
fn weekly(forecast: &Forecast, today: Date) -> (Vec<String>, Vec<BTreeMap<String, u64>>) {
    let mut weeks = vec![BTreeMap::new(); WEEKS];
    let mut categories: Vec<String> = vec![];
    for row in &forecast.rows {
        let Ok(span) = today.until(row.date) else {
            continue;
        };
        let index = usize::try_from(span.get_days() / 7).unwrap_or(WEEKS);
        if index >= WEEKS {
            continue;
        }
        *weeks[index].entry(row.category.clone()).or_insert(0) += row.records;
        if !categories.contains(&row.category) {
            categories.push(row.category.clone());
        }
    }
    categories.sort();
    (categories, weeks)
}

fn chart(categories: &[String], weeks: &[BTreeMap<String, u64>], today: Date) -> Markup {
    let (width, height, left, bottom, top) = (720.0_f64, 260.0_f64, 48.0_f64, 36.0_f64, 12.0_f64);
    let most = weeks
        .iter()
        .map(|w| w.values().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot = height - bottom - top;
    let slot = (width - left) / WEEKS as f64;
    let colour = |category: &str| {
        let at = categories.iter().position(|c| c == category).unwrap_or(0);
        PALETTE[at % PALETTE.len()]
    };
    let total: u64 = weeks.iter().flat_map(|w| w.values()).sum();
    let mut svg = String::new();
    svg.push_str(&format!(
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">Records leaving per week, next {DAYS} days</title><desc id="chart-desc">{total} records leave over {WEEKS} weeks; the table below gives the numbers per week and category.</desc>"#
    ));
    for tick in std::collections::BTreeSet::from([0, most / 2, most]) {
        let y = top + plot - plot * tick as f64 / most as f64;
        svg.push_str(&format!(
            r#"<line x1="{left}" x2="{width}" y1="{y:.1}" y2="{y:.1}" class="grid"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="axis">{tick}</text>"#,
            left - 6.0,
            y + 4.0
        ));
    }
    for (index, week) in weeks.iter().enumerate() {
        let x = left + slot * index as f64 + slot * 0.15;
        let mut y = top + plot;
        for category in categories {
            let count = week.get(category).copied().unwrap_or(0);
            if count == 0 {
                continue;
            }
            let h = plot * count as f64 / most as f64;
            y -= h;
            svg.push_str(&format!(
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{}: {count}</title></rect>"#,
                slot * 0.7,
                colour(category),
                html! { (category) }.into_string()
            ));
        }
        if index % 2 == 0 {
            let start = today
                .checked_add(jiff::Span::new().days(7 * index as i64))
                .unwrap_or(today);
            svg.push_str(&format!(
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="axis">{}</text>"#,
                x + slot * 0.35,
                height - bottom + 18.0,
                start.strftime("%-d %b")
            ));
        }
    }
    svg.push_str("</svg>");
    html! {
        figure {
            (PreEscaped(svg))
            figcaption {
                ul class="legend" {
                    @for category in categories {
                        li { span class="swatch" style=(format!("background:{}", colour(category))) {} (category) }
                    }
                }
            }
        }
    }
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<RetentionQuery>,
) -> Response {
    let (user, csrf) = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !reads(&user) {
        return page(
            StatusCode::FORBIDDEN,
            "Retention",
            Some((&user, &csrf)),
            html! { h1 { "Retention" } p { "Your role does not read retention; admins, DPOs and auditors do." } },
        );
    }
    let Some(tenant) = visible_tenant(&state, &user, &query.tenant) else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Retention",
            Some((&user, &csrf)),
            html! { h1 { "Retention" } p class="error" role="alert" { "You cannot see that tenant; choose one from the list." } },
        );
    };
    let (inner, who) = (state.clone(), user.clone());
    let sheet = match blocking(&state, move |store, now| {
        read_sheet(store, &inner, &who, tenant, now)
    })
    .await
    {
        Ok(sheet) => sheet,
        Err(error) => return trouble(&error),
    };
    let done = match query.done.as_str() {
        "placed" => Some("The hold is placed; the sweeper leaves what it keeps."),
        "released" => Some(
            "The hold is released; what it kept leaves at the next sweep unless something else keeps it.",
        ),
        "kept" => Some("Kept: the review period starts again from today."),
        "deleted" => Some("Deleted: what no other purpose or hold keeps is gone."),
        _ => None,
    };
    page(
        StatusCode::OK,
        "Retention",
        Some((&user, &csrf)),
        body(&state, &user, &csrf, &sheet, done, None),
    )
}

fn body(
    state: &AppState,
    user: &User,
    csrf: &str,
    sheet: &Sheet,
    done: Option<&str>,
    problem: Option<&str>,
) -> Markup {
    let tz = &state.time_zone;
    let now = state.clock.now();
    let today = now.to_zoned(tz.clone()).date();
    let at = |t: Timestamp| ombud_app::mail::moment(t, tz);
    let (categories, weeks) = weekly(&sheet.forecast, today);
    let decides = acts(user) && user.tenant == sheet.tenant;
    let tenant = sheet.tenant.to_string();
    html! {
        h1 { "Retention" }
        @if let Some(done) = done { p class="kept" role="status" { (done) } }
        @if let Some(problem) = problem { p class="error" role="alert" { (problem) } }
        @if user.tenant == state.operator {
            form method="get" action="/console/retention" class="filters" {
                div {
                    label for="r-tenant" { "Tenant" }
                    select id="r-tenant" name="tenant" {
                        @for (id, name) in &sheet.tenants { option value=(id) selected[*id == sheet.tenant] { (name) } }
                    }
                }
                button type="submit" { "Show" }
            }
        }
        h2 { "What leaves over the next " (DAYS) " days" }
        @if categories.is_empty() {
            p { "Nothing reaches the end of its retention in the next " (DAYS) " days." }
        } @else {
            (chart(&categories, &weeks, today))
            details {
                summary { "The numbers, week by week" }
                div class="table" tabindex="0" role="region" aria-label="Records leaving per week" {
                    table {
                        thead { tr { th scope="col" { "Week from" } @for category in &categories { th scope="col" { (category) } } } }
                        tbody {
                            @for (index, week) in weeks.iter().enumerate() {
                                tr {
                                    th scope="row" { (today.checked_add(jiff::Span::new().days(7 * index as i64)).unwrap_or(today).strftime("%-d %B %Y")) }
                                    @for category in &categories { td { (week.get(category).copied().unwrap_or(0)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        ul {
            li { strong { (sheet.forecast.expired) } " past their end already: the next sweep removes them." }
            li { (sheet.forecast.held) " kept past their end by a legal hold; " (sheet.forecast.restricted) " by a restriction (Art. 18); " (sheet.forecast.reviews) " waiting for a review." }
        }
        @if !sheet.forecast.kept_with_no_end.is_empty() {
            h3 { "Kept with no end date yet" }
            ul {
                @for row in &sheet.forecast.kept_with_no_end {
                    li { (row.category) ": " (row.records) " — " (row.explanation) }
                }
            }
        }
        p { a href=(format!("/console/retention/dry-run?tenant={tenant}")) { "What the next sweep removes, record by record (a dry run over the whole tenant)" } }
        h2 { "The last sweeps" }
        @if sheet.sweeps.is_empty() {
            p { "No sweep removed anything here yet." }
        } @else {
            ul {
                @for sweep in &sheet.sweeps {
                    li {
                        (at(sweep.ran_at)) ": "
                        @if sweep.records == 0 { "nothing had reached its end" } @else { (sweep.records) " records of " (sweep.subjects) " people removed" }
                        ", " (sweep.held) " kept by a hold"
                        @if sweep.verified { " — signed receipt verified" } @else { span class="soon" { " — its receipt's key is no longer published" } }
                    }
                }
            }
        }
        h2 { "Legal holds" }
        @if sheet.holds.is_empty() {
            p { "No holds." }
        } @else {
            div class="table" tabindex="0" role="region" aria-label="Legal holds" {
                table {
                    thead { tr { th scope="col" { "Reason" } th scope="col" { "Scope" } th scope="col" { "Note" } th scope="col" { "Placed" } th scope="col" { "Ends" } th scope="col" { "" } } }
                    tbody {
                        @for hold in &sheet.holds {
                            tr {
                                td { (words(hold.reason.as_str())) }
                                td {
                                    @if let Some(subject) = hold.subject { "one person " code { (subject.to_string()[..8]) "…" } } @else { "everyone" }
                                    @if let Some(category) = &hold.category { ", " (category) } @else { ", every category" }
                                }
                                td { (hold.note) }
                                td { (at(hold.created_at)) }
                                td {
                                    @if let Some(released) = hold.released_at { "released " (at(released)) }
                                    @else if let Some(ends) = hold.ends_at { (at(ends)) }
                                    @else { "when released" }
                                }
                                td {
                                    @if acts(user) && hold.active_at(now) {
                                        form method="post" action=(format!("/console/retention/holds/{}/release", hold.id)) class="inline" {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="tenant" value=(tenant);
                                            button type="submit" class="quiet" { "Release" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if acts(user) {
            form method="post" action="/console/retention/holds" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="tenant" value=(tenant);
                fieldset {
                    legend { "Place a legal hold" }
                    label for="h-reason" { "Why" }
                    select id="h-reason" name="reason" {
                        @for reason in HoldReason::ALL { option value=(reason.as_str()) { (words(reason.as_str())) } }
                    }
                    label for="h-note" { "Note (the case, the order; no personal data)" }
                    textarea id="h-note" name="note" rows="2" maxlength="500" required {}
                    label for="h-subject" { "Only one person (subject id; empty for everyone)" }
                    input id="h-subject" type="text" name="subject" autocomplete="off";
                    label for="h-category" { "Only one category (empty for every one)" }
                    select id="h-category" name="category" {
                        option value="" { "every category" }
                        @for category in &state.policy.categories { option value=(category.key) { (category.key) " — " (category.name) } }
                    }
                    label for="h-ends" { "Ends (day; empty until released)" }
                    input id="h-ends" type="date" name="ends";
                }
                button type="submit" { "Place the hold" }
            }
        }
        h2 { "Reviews due in the next 30 days" }
        @if sheet.reviews.is_empty() {
            p { "No review is due." }
        } @else {
            div class="table" tabindex="0" role="region" aria-label="Reviews due" {
                table {
                    thead { tr { th scope="col" { "Person" } th scope="col" { "Category" } th scope="col" { "Purpose" } th scope="col" { "Due" } th scope="col" { "Goes unless kept" } th scope="col" { "" } } }
                    tbody {
                        @for review in &sheet.reviews {
                            tr {
                                td { a href=(format!("/console/people/{}/{}", sheet.tenant, review.subject)) { code { (review.subject.to_string()[..8]) "…" } } }
                                td { (review.category) }
                                td { (review.purpose) }
                                td { (at(review.due)) }
                                td { @if let Some(lapses) = review.lapses { (at(lapses)) } @else { "kept until decided" } }
                                td {
                                    @if decides {
                                        form method="post" action="/console/retention/reviews" class="inline" {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="tenant" value=(tenant);
                                            input type="hidden" name="subject" value=(review.subject);
                                            input type="hidden" name="purpose" value=(review.purpose);
                                            button type="submit" name="decision" value="keep" class="quiet" { "Keep" }
                                            " "
                                            button type="submit" name="decision" value="delete" class="quiet" { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
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
        "Retention",
        acts,
        "Holds and reviews are for admins and DPOs.",
    )
    .await
}

/// The page again with why a step was refused.
async fn refused_step(
    state: &AppState,
    user: &User,
    csrf: &str,
    tenant: TenantId,
    problem: &str,
) -> Response {
    let (inner, who) = (state.clone(), user.clone());
    match blocking(state, move |store, now| {
        read_sheet(store, &inner, &who, tenant, now)
    })
    .await
    {
        Ok(sheet) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Retention",
            Some((user, csrf)),
            body(state, user, csrf, &sheet, None, Some(problem)),
        ),
        Err(error) => trouble(&error),
    }
}

fn back(tenant: TenantId, done: &str) -> Response {
    Redirect::to(&format!("/console/retention?tenant={tenant}&done={done}")).into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    ends: String,
}

pub async fn place_hold(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HoldForm>,
) -> Response {
    let (user, csrf, tenant) = match posted(&state, &headers, &form.csrf, &form.tenant).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let now = state.clock.now();
    let ends = match form.ends.trim() {
        "" => Ok(None),
        day => day
            .parse::<Date>()
            .ok()
            .and_then(|d| d.to_zoned(state.time_zone.clone()).ok())
            .map(|z| Some(z.timestamp()))
            .ok_or(("ends", "The end is a day like 2027-06-30.".to_owned())),
    };
    let subject = Some(form.subject.trim()).filter(|s| !s.is_empty());
    let category = Some(form.category.trim().to_owned()).filter(|c| !c.is_empty());
    let hold = ends.and_then(|ends| {
        ombud_app::sweeper::check_hold(
            |category| state.policy.category(category).is_some(),
            &form.reason,
            &form.note,
            subject,
            category,
            ends,
            now,
        )
    });
    let hold = match hold {
        Ok(hold) => hold,
        Err((_, message)) => return refused_step(&state, &user, &csrf, tenant, &message).await,
    };
    let actor = Actor::User(user.id);
    let placed = blocking(&state, move |store, now| {
        if let Some(subject) = hold.subject
            && !store.subject_exists(tenant, subject)?
        {
            return Ok(false);
        }
        store.create_hold(tenant, &hold, &actor, now)?;
        Ok(true)
    })
    .await;
    match placed {
        Ok(true) => back(tenant, "placed"),
        Ok(false) => {
            refused_step(
                &state,
                &user,
                &csrf,
                tenant,
                "No person with that subject id in this tenant.",
            )
            .await
        }
        Err(error) => trouble(&error),
    }
}

pub async fn release_hold(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<TenantForm>,
) -> Response {
    let (user, csrf, tenant) = match posted(&state, &headers, &form.csrf, &form.tenant).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let Ok(id) = id.parse().map(HoldId) else {
        return refused_step(
            &state,
            &user,
            &csrf,
            tenant,
            "No hold in force with that id.",
        )
        .await;
    };
    let actor = Actor::User(user.id);
    match blocking(&state, move |store, now| {
        Ok(store.release_hold(tenant, id, &actor, now)?)
    })
    .await
    {
        Ok(true) => back(tenant, "released"),
        Ok(false) => {
            refused_step(
                &state,
                &user,
                &csrf,
                tenant,
                "No hold in force with that id: it was released or ended already.",
            )
            .await
        }
        Err(error) => trouble(&error),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    decision: String,
}

pub async fn decide_review(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ReviewForm>,
) -> Response {
    let (user, csrf, tenant) = match posted(&state, &headers, &form.csrf, &form.tenant).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if user.tenant != tenant {
        return page(
            StatusCode::FORBIDDEN,
            "Retention",
            Some((&user, &csrf)),
            html! { h1 { "Retention" } p { "This customer is the controller of its data and decides its reviews; a user of the customer's own tenant does." } },
        );
    }
    let decision = match form.decision.as_str() {
        "keep" => ReviewDecision::Keep,
        "delete" => ReviewDecision::Delete,
        _ => {
            return refused_step(
                &state,
                &user,
                &csrf,
                tenant,
                "A review is decided by keep or delete.",
            )
            .await;
        }
    };
    let Ok(subject) = form.subject.trim().parse().map(SubjectId) else {
        return refused_step(
            &state,
            &user,
            &csrf,
            tenant,
            "No person with that subject id in this tenant.",
        )
        .await;
    };
    let purpose = Some(form.purpose.trim().to_owned()).filter(|p| !p.is_empty());
    if purpose
        .as_deref()
        .is_some_and(|p| state.policy.activity(p).is_none())
    {
        return refused_step(
            &state,
            &user,
            &csrf,
            tenant,
            "That purpose is not an activity of the policy.",
        )
        .await;
    }
    let (inner, actor) = (state.clone(), Actor::User(user.id));
    let decided = blocking(&state, move |store, now| {
        let sweep = Sweep {
            store,
            policy: &inner.policy,
            time_zone: &inner.time_zone,
            tenant,
            data_role: DataRole::of_tenant(tenant == inner.operator),
            now,
            dry_run: false,
        };
        Ok(sweep.decide_review(subject, purpose.as_deref(), decision, &actor))
    })
    .await;
    match decided {
        Ok(Ok(_)) => back(
            tenant,
            if decision == ReviewDecision::Keep {
                "kept"
            } else {
                "deleted"
            },
        ),
        Ok(Err(ReviewRefusal::NoSubject)) => {
            refused_step(
                &state,
                &user,
                &csrf,
                tenant,
                "No person with that subject id in this tenant.",
            )
            .await
        }
        Ok(Err(ReviewRefusal::NotUnderReview(message))) => {
            refused_step(&state, &user, &csrf, tenant, &message).await
        }
        Ok(Err(ReviewRefusal::Store(error))) => trouble(&ConsoleError::Store(error)),
        Err(error) => trouble(&error),
    }
}

/// Rows the dry run lists; the count covers every one.
const DRY_RUN_ROWS: usize = 200;

/// What the next sweep would remove, record by record: a dry run of the sweep over the whole
/// tenant, which changes nothing (no value is shown, only people, categories and rules).
pub async fn dry_run(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<RetentionQuery>,
) -> Response {
    let (user, csrf) = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !reads(&user) {
        return page(
            StatusCode::FORBIDDEN,
            "Retention",
            Some((&user, &csrf)),
            html! { h1 { "Retention" } p { "Your role does not read retention; admins, DPOs and auditors do." } },
        );
    }
    let Some(tenant) = visible_tenant(&state, &user, &query.tenant) else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Retention",
            Some((&user, &csrf)),
            html! { h1 { "Retention" } p class="error" role="alert" { "You cannot see that tenant; choose one from the list." } },
        );
    };
    let inner = state.clone();
    let ran = blocking(&state, move |store, now| {
        let sweep = Sweep {
            store,
            policy: &inner.policy,
            time_zone: &inner.time_zone,
            tenant,
            data_role: DataRole::of_tenant(tenant == inner.operator),
            now,
            dry_run: true,
        };
        let mut rows = vec![];
        let report = sweep.run(|removal| {
            if rows.len() < DRY_RUN_ROWS {
                rows.push(removal.clone());
            }
        })?;
        Ok((report.records, report.subjects, rows))
    })
    .await;
    let (records, subjects, rows) = match ran {
        Ok(ran) => ran,
        Err(error) => return trouble(&error),
    };
    let at = |t: Timestamp| ombud_app::mail::moment(t, &state.time_zone);
    page(
        StatusCode::OK,
        "Retention",
        Some((&user, &csrf)),
        html! {
            p { a href=(format!("/console/retention?tenant={tenant}")) { "← Retention" } }
            h1 { "What the next sweep removes" }
            p { "Now: " (records) " records of " (subjects) " people have outlived every purpose and nothing holds them. Nothing was removed to find this out." }
            @if !rows.is_empty() {
                div class="table" tabindex="0" role="region" aria-label="Records the next sweep removes" {
                    table {
                        caption { @if rows.len() < records as usize { "The first " (rows.len()) } @else { "All of them" } }
                        thead { tr { th scope="col" { "Person" } th scope="col" { "Category" } th scope="col" { "Rule" } th scope="col" { "Its last purpose" } th scope="col" { "Ended" } } }
                        tbody {
                            @for removal in &rows {
                                tr {
                                    td { a href=(format!("/console/people/{tenant}/{}", removal.subject)) { code { (removal.subject.to_string()[..8]) "…" } } }
                                    td { (removal.category) }
                                    td { (removal.rule) }
                                    td { (removal.purpose) }
                                    td { (at(removal.ended_at)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
