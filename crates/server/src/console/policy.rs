//! The policy in the console, for the operator's admins, DPOs and auditors: the versions ombud
//! has run (hash, first loaded), the one in force, the difference between any two (material or
//! editorial, with the change notice a material one calls for), the findings of `policy check`
//! on the version in force, the rendered privacy notice, and the Article 30 record to download
//! as CSV or JSON (admins and DPOs, as the API's `/api/v1/ropa`).

use super::{blocking, page, signed_in, trouble};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jiff::Timestamp;
use maud::html;
use ombud_app::console::ConsoleError;
use ombud_policy::diff::Kind;
use ombud_policy::{Policy, Severity};
use ombud_store::model::Role;
use ombud_store::users::User;
use serde::Deserialize;

fn reads(state: &AppState, user: &User) -> bool {
    user.tenant == state.operator && matches!(user.role, Role::Admin | Role::Dpo | Role::Auditor)
}

fn refused(user: &User, csrf: &str, why: &str) -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Policy",
        Some((user, csrf)),
        html! { h1 { "Policy" } p { (why) } },
    )
}

const READERS: &str =
    "The policy's versions and findings are for the operator's admins, DPOs and auditors.";

#[derive(Debug, Default, Deserialize)]
pub struct PolicyQuery {
    #[serde(default)]
    old: String,
    #[serde(default)]
    new: String,
}

fn parsed(source: &str) -> Option<Policy> {
    ombud_policy::check(source).policy
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PolicyQuery>,
) -> Response {
    let (user, csrf) = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !reads(&state, &user) {
        return refused(&user, &csrf, READERS);
    }
    let (operator, current) = (state.operator, state.policy.version.0.clone());
    let (old, new) = (query.old.trim().to_owned(), query.new.trim().to_owned());
    let read = blocking(&state, move |store, _| {
        let versions = store.policy_versions(operator)?;
        let source = |version: &str| -> Result<Option<String>, ConsoleError> {
            Ok(store.policy_source(operator, version)?)
        };
        let current_source = source(&current)?;
        let compared = if old.is_empty() || new.is_empty() {
            None
        } else {
            Some((source(&old)?, source(&new)?))
        };
        Ok((versions, current_source, compared))
    })
    .await;
    let (versions, current_source, compared) = match read {
        Ok(read) => read,
        Err(error) => return trouble(&error),
    };
    let tz = &state.time_zone;
    let at = |t: Timestamp| ombud_app::mail::moment(t, tz);
    let current = &state.policy.version.0;
    let findings = current_source
        .as_deref()
        .map(|source| ombud_policy::check(source).findings)
        .unwrap_or_default();
    let diff = match &compared {
        None => Ok(None),
        Some((Some(old), Some(new))) => match (parsed(old), parsed(new)) {
            (Some(old), Some(new)) => Ok(Some(ombud_policy::diff::diff(&old, &new))),
            _ => Err(
                "One of the two versions no longer checks clean with this release; compare it with `ombud policy diff`.",
            ),
        },
        Some(_) => Err("Choose two versions from the list."),
    };
    let short = |version: &str| version.chars().take(12).collect::<String>();
    let status = if diff.is_err() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ropa = matches!(user.role, Role::Admin | Role::Dpo);
    page(
        status,
        "Policy",
        Some((&user, &csrf)),
        html! {
            h1 { "Policy" }
            p {
                "In force: " code { (short(current)) "…" } " — "
                a href="/console/policy/notice" { "the privacy notice it renders" }
                @if ropa {
                    " · the Article 30 record as "
                    a href="/console/policy/ropa.csv" download { "CSV" } " or "
                    a href="/console/policy/ropa.json" download { "JSON" }
                }
            }
            h2 { "Versions" }
            @if versions.is_empty() {
                p { "No version is kept yet." }
            } @else {
                ol {
                    @for (version, loaded) in &versions {
                        li { code { (short(version)) "…" } ", first loaded " (at(*loaded)) @if version == current { strong { " — in force" } } }
                    }
                }
            }
            @if versions.len() > 1 {
                form method="get" action="/console/policy" class="filters" {
                    div {
                        label for="p-old" { "Compare" }
                        select id="p-old" name="old" {
                            @for (version, loaded) in &versions { option value=(version) selected[query.old == *version] { (short(version)) " (" (at(*loaded)) ")" } }
                        }
                    }
                    div {
                        label for="p-new" { "with" }
                        select id="p-new" name="new" {
                            @for (version, loaded) in versions.iter().rev() { option value=(version) selected[query.new == *version] { (short(version)) " (" (at(*loaded)) ")" } }
                        }
                    }
                    button type="submit" { "Compare" }
                }
            }
            @match &diff {
                Err(problem) => p class="error" role="alert" { (problem) },
                Ok(None) => {},
                Ok(Some(report)) => {
                    h2 { "From " code { (short(&report.old_version)) } " to " code { (short(&report.new_version)) } }
                    @if report.changes.is_empty() {
                        p { "No difference that changes a promise." }
                    } @else {
                        p { @if report.material { strong { "Material: the people concerned and the customers must be told before it applies." } } @else { "Editorial only." } }
                        ul {
                            @for change in &report.changes {
                                li { (if change.kind == Kind::Material { "material" } else { "editorial" }) " — " code { (change.path) } ": " (change.summary) }
                            }
                        }
                        @if let Some(notice) = &report.change_notice {
                            details { summary { "The change notice it calls for" } pre class="draft" { (notice) } }
                        }
                    }
                }
            }
            h2 { "What the policy check finds in the version in force" }
            @if findings.is_empty() {
                p { "Nothing: no error, no warning." }
            } @else {
                ul {
                    @for finding in &findings {
                        li {
                            @if finding.severity == Severity::Error { strong class="broken" { "error" } } @else { span class="soon" { "warning" } }
                            " line " (finding.line) ", " code { (finding.path) } ": " (finding.message)
                            @if let Some(hint) = &finding.hint { " — " (hint) }
                        }
                    }
                }
            }
        },
    )
}

/// The privacy notice as the policy renders it: its own self-contained page.
pub async fn notice(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(response) = signed_in(&state, &headers).await {
        return response;
    }
    Html(ombud_policy::render::html(&state.policy)).into_response()
}

/// The Article 30 record with an entry per customer, as a file.
async fn ropa(state: AppState, headers: HeaderMap, csv: bool) -> Response {
    let (user, csrf) = match signed_in(&state, &headers).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    if !(user.tenant == state.operator && matches!(user.role, Role::Admin | Role::Dpo)) {
        return refused(
            &user,
            &csrf,
            "The record of processing names every customer; the operator's admins and DPOs download it.",
        );
    }
    let (policy, operator) = (std::sync::Arc::clone(&state.policy), state.operator);
    let rendered = blocking(&state, move |store, now| {
        ombud_app::ropa::render(store, &policy, operator, csv, now).map_err(|e| match e {
            ombud_app::notices::NoticeError::Store(error) => ConsoleError::Store(error),
            other => ConsoleError::Store(ombud_store::StoreError::Database(other.to_string())),
        })
    })
    .await;
    let body = match rendered {
        Ok(body) => body,
        Err(error) => return trouble(&error),
    };
    let (content_type, name) = if csv {
        ("text/csv; charset=utf-8", "record-of-processing.csv")
    } else {
        ("application/json", "record-of-processing.json")
    };
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

pub async fn ropa_csv(State(state): State<AppState>, headers: HeaderMap) -> Response {
    ropa(state, headers, true).await
}

pub async fn ropa_json(State(state): State<AppState>, headers: HeaderMap) -> Response {
    ropa(state, headers, false).await
}
