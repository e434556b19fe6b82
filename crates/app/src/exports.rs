//! The zip a person receives for access (Art. 15) or portability (Art. 20): `data.json` with
//! everything, one CSV per category, and for access a readable `summary.html` that answers each
//! point of Art. 15(1)(a)–(h) for the categories actually held. It builds bytes only: it must not
//! keep, send or log them (the rights desk seals the zip).

use jiff::Timestamp;
use jiff::tz::TimeZone;
use maud::{DOCTYPE, Markup, html};
use ombud_connect::reach::Rows;
use ombud_core::Identity;
use ombud_core::requests::{RecordFacts, RequestKind, activities_of};
use ombud_policy::Policy;
use ombud_policy::model::{Choice, Source};
use ombud_store::model::{Record, StoredEvent};
use ombud_store::notices::{Delivery, DeliveryStatus, Notice};
use ombud_store::requests::DsRequest;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write;

fn facts(record: &Record) -> RecordFacts<'_> {
    RecordFacts {
        category: &record.category,
        purposes: &record.purposes,
        source: &record.source,
        collected_at: record.collected_at,
    }
}

/// Everything held about the person that an export hands over.
pub struct Held<'a> {
    pub identities: &'a [Identity],
    pub records: &'a [Record],
    pub events: &'a [StoredEvent],
    /// The service messages they were among the recipients of (access only).
    pub notices: &'a [(Notice, Delivery)],
    /// When their data was consulted and for which purpose, from the audit log (access only;
    /// Art. 15(1) as the CJEU reads it in C-579/21).
    pub consultations: &'a [Consultation],
    /// The role the tenant's data is held in: only activities in that role answer for it.
    pub data_role: ombud_core::DataRole,
    /// Rows of the operator's own databases the person's identities reached (datasets).
    pub external: &'a [Rows],
    /// Whether the tenant has datasets at all, so the answer says which systems it covers.
    pub systems_declared: bool,
}

/// One consultation of the person's data: when, by what kind of accessor, for which purpose.
/// The accessor is named by kind, not by employee (C-579/21, para. 83).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consultation {
    pub at: Timestamp,
    pub by: &'static str,
    pub purpose: Option<String>,
}

/// The activities that answer for a category of the person's data: those that hold one of
/// its records (collected for them, or applying to the person), in the tenant's role.
fn purposes_of<'p>(
    policy: &'p Policy,
    items: &[&Record],
    subject: &ombud_core::facts::SubjectFacts,
    role: ombud_core::DataRole,
    now: Timestamp,
) -> Vec<&'p ombud_policy::model::Activity> {
    policy
        .activities
        .iter()
        .filter(|activity| {
            ombud_core::DataRole::from(activity.role) == role
                && items.iter().any(|record| {
                    activities_of(policy, &facts(record)).any(|a| a.id == activity.id)
                        && ombud_core::retention::holds(
                            policy,
                            activity,
                            &facts(record),
                            subject,
                            now,
                        )
                })
        })
        .collect()
}

/// Builds the zip in memory; exports are one person's data, small enough.
pub fn build(
    policy: &Policy,
    request: &DsRequest,
    held: Held<'_>,
    now: Timestamp,
    tz: &TimeZone,
) -> Result<Vec<u8>, String> {
    let Held {
        identities,
        records,
        events,
        notices,
        consultations,
        data_role,
        external,
        systems_declared,
    } = held;
    let subject_facts =
        ombud_core::facts::SubjectFacts::new(events.iter().map(|e| e.fact()).collect());
    let purposes = |record: &Record| -> Vec<String> {
        purposes_of(policy, &[record], &subject_facts, data_role, now)
            .into_iter()
            .map(|a| a.id.clone())
            .collect()
    };
    let mut by_category: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for record in records {
        by_category
            .entry(&record.category)
            .or_default()
            .push(record);
    }
    let data = json!({
        "request": { "id": request.id, "kind": request.kind, "received_at": request.received_at },
        "generated_at": now,
        "controller": { "name": policy.controller.name, "address": policy.controller.address, "contact": policy.rights.contact },
        "identities": identities.iter().map(|i| json!({ "kind": i.kind().as_str(), "value": i.expose() })).collect::<Vec<_>>(),
        "records": records.iter().map(|r| json!({
            "id": r.id,
            "category": r.category,
            "value": r.value.expose(),
            "purposes": purposes(r),
            "source": r.source,
            "collected_at": r.collected_at,
        })).collect::<Vec<_>>(),
        // Rows of the operator's other systems, one section per system and table; values as
        // the database holds them, credentials only as held.
        "systems": external.iter().map(|found| json!({
            "system": found.system,
            "dataset": found.dataset,
            "collection": found.collection,
            "rows": found.rows.iter().map(|row| found.fields.iter().zip(row).map(|(f, v)| (f.clone(), json!(v))).collect::<serde_json::Map<_, _>>()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "events": if request.kind == RequestKind::Access { json!(events) } else { json!([]) },
        // The service messages the person was in the audience of: their own address in full.
        "notices": if request.kind == RequestKind::Access { json!(notices.iter().map(|(notice, line)| json!({
            "notice": notice.id,
            "kind": notice.kind,
            "subject": notice.subject_line,
            "status": line.status,
            "reason": line.reason,
            "address": line.to.as_ref().map(|to| to.expose()),
            "queued_at": line.queued_at,
            "sent_at": line.sent_at,
        })).collect::<Vec<_>>()) } else { json!([]) },
    });
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let error = |e: &dyn std::fmt::Display| e.to_string();
    zip.start_file("data.json", options)
        .map_err(|e| error(&e))?;
    zip.write_all(
        serde_json::to_string_pretty(&data)
            .map_err(|e| error(&e))?
            .as_bytes(),
    )
    .map_err(|e| error(&e))?;
    for (category, items) in &by_category {
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(["id", "value", "purposes", "source", "collected_at"])
            .map_err(|e| error(&e))?;
        for record in items {
            csv.write_record([
                record.id.to_string(),
                record.value.expose().to_owned(),
                purposes(record).join(" "),
                record.source.clone(),
                record.collected_at.to_string(),
            ])
            .map_err(|e| error(&e))?;
        }
        let bytes = csv.into_inner().map_err(|e| error(&e))?;
        zip.start_file(format!("{category}.csv"), options)
            .map_err(|e| error(&e))?;
        zip.write_all(&bytes).map_err(|e| error(&e))?;
    }
    for found in external {
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(&found.fields).map_err(|e| error(&e))?;
        for row in &found.rows {
            csv.write_record(row.iter().map(|v| v.as_deref().unwrap_or("")))
                .map_err(|e| error(&e))?;
        }
        let bytes = csv.into_inner().map_err(|e| error(&e))?;
        zip.start_file(
            format!("systems/{}/{}.csv", found.dataset, found.collection),
            options,
        )
        .map_err(|e| error(&e))?;
        zip.write_all(&bytes).map_err(|e| error(&e))?;
    }
    if request.kind == RequestKind::Access {
        zip.start_file("summary.html", options)
            .map_err(|e| error(&e))?;
        zip.write_all(
            summary(
                policy,
                &Answered {
                    by_category: &by_category,
                    notices,
                    consultations,
                    facts: &subject_facts,
                    data_role,
                    external,
                    systems_declared,
                },
                now,
                tz,
            )
            .into_string()
            .as_bytes(),
        )
        .map_err(|e| error(&e))?;
    }
    Ok(zip.finish().map_err(|e| error(&e))?.into_inner())
}

/// What the readable answer is built from.
struct Answered<'a> {
    by_category: &'a BTreeMap<&'a str, Vec<&'a Record>>,
    notices: &'a [(Notice, Delivery)],
    consultations: &'a [Consultation],
    facts: &'a ombud_core::facts::SubjectFacts,
    data_role: ombud_core::DataRole,
    external: &'a [Rows],
    systems_declared: bool,
}

fn summary(policy: &Policy, answered: &Answered<'_>, now: Timestamp, tz: &TimeZone) -> Markup {
    let Answered {
        by_category,
        notices,
        consultations,
        facts: subject,
        data_role,
        external,
        systems_declared,
    } = *answered;
    let held: usize = by_category.values().map(Vec::len).sum();
    let day = |at: Timestamp| at.to_zoned(tz.clone()).strftime("%-d %B %Y").to_string();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Your data held by " (policy.controller.name) }
                style { "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}table{border-collapse:collapse;width:100%}th,td{border:1px solid #888;padding:.4rem;text-align:left;vertical-align:top}" }
            }
            body {
                main {
                    h1 { "Your data held by " (policy.controller.name) }
                    p { "Prepared on " (day(now)) ". The file data.json holds every item; each CSV file holds one category." }
                    h2 { "Which systems this answer covers" }
                    @if systems_declared {
                        p { "This copy covers the personal data register " (policy.controller.name) " keeps with ombud, its privacy engine, which holds " (held) " items about you, and the systems below, searched for you when this answer was prepared. Write to " (policy.rights.contact) " if you believe we hold more." }
                        @if external.is_empty() {
                            p { "None of those systems holds rows about you." }
                        } @else {
                            table {
                                caption { "Rows about you in our other systems (each table is a CSV file under systems/)" }
                                thead { tr { th scope="col" { "System" } th scope="col" { "Table" } th scope="col" { "Rows" } th scope="col" { "What they hold" } } }
                                tbody {
                                    @for found in external {
                                        tr {
                                            td { (found.system) }
                                            td { (found.collection) }
                                            td { (found.rows.len()) }
                                            td { (held_kinds(policy, found)) }
                                        }
                                    }
                                }
                            }
                        }
                    } @else {
                        p { "This copy covers the personal data register " (policy.controller.name) " keeps with ombud, its privacy engine, which holds " (held) " items about you. Data about you held only in our other systems is not part of it; write to " (policy.rights.contact) " if you believe we hold more." }
                    }
                    h2 { "What we hold, why, and for how long" }
                    @if by_category.is_empty() {
                        p { "We hold no personal data about you." }
                    }
                    @for (category, items) in by_category {
                        @let name = policy.category(category).map_or_else(|| category.to_string(), |c| c.name.clone());
                        section {
                            h3 { (name) " (" (items.len()) " items)" }
                            table {
                                caption { "How " (name) " is used" }
                                thead { tr { th scope="col" { "Purpose" } th scope="col" { "Legal basis" } th scope="col" { "Recipients" } th scope="col" { "Retention" } } }
                                tbody {
                                    @for activity in purposes_of(policy, items, subject, data_role, now) {
                                        tr {
                                            td { (activity.purpose) }
                                            td { (activity.basis.map_or("as processor for our customer, on its instructions", |b| b.article())) }
                                            td {
                                                @for id in &activity.recipients {
                                                    @if let Some(r) = policy.recipient(id) {
                                                        (r.name) @if let Some(country) = &r.country { " (" (country) @if let Some(s) = r.safeguard { "; " (s.label()) } ")" } br;
                                                    }
                                                }
                                            }
                                            td {
                                                @for rule in policy.rules_for(activity, category) {
                                                    (ombud_policy::render::retention_period(rule)) br;
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                            p { "Source: "
                                @for (i, source) in sources(items).iter().enumerate() {
                                    @if i > 0 { ", " } (source)
                                }
                            }
                        }
                    }
                    @if !notices.is_empty() {
                        h2 { "Messages we sent you" }
                        table {
                            caption { "Service messages you were among the recipients of" }
                            thead { tr { th scope="col" { "When" } th scope="col" { "Kind" } th scope="col" { "Subject" } th scope="col" { "What happened" } } }
                            tbody {
                                @for (notice, line) in notices {
                                    tr {
                                        td { (notice.created_at.to_zoned(tz.clone()).strftime("%-d %B %Y")) }
                                        td { (policy.notice_kinds.iter().find(|k| k.key == notice.kind).map_or(notice.kind.as_str(), |k| k.name.as_str())) }
                                        td { (notice.subject_line) }
                                        td { (delivery_text(line)) }
                                    }
                                }
                            }
                        }
                    }
                    h2 { "Who consulted your data, and why" }
                    @if consultations.is_empty() {
                        p { "Our records show no consultation of your data." }
                    } @else {
                        table {
                            caption { "Each time your data was read, from our audit log" }
                            thead { tr { th scope="col" { "When" } th scope="col" { "By" } th scope="col" { "Purpose" } } }
                            tbody {
                                @for c in consultations {
                                    tr {
                                        td { (day(c.at)) }
                                        td { (c.by) }
                                        td { (c.purpose.as_deref().map_or("—", |p| policy.activity(p).map_or(p, |a| a.purpose.as_str()))) }
                                    }
                                }
                            }
                        }
                    }
                    h2 { "Your rights" }
                    ul { @for right in &policy.rights.offered { li { (right.label()) } } }
                    p { "Write to " (policy.rights.contact) " to use them." }
                    h2 { "Complaints" }
                    p { "You may lodge a complaint with a supervisory authority (Art. 77 GDPR), in particular " (policy.authority.name)
                        @if let Some(w) = &policy.authority.website { " (" (w) ")" } "." }
                    // Only what the policy states: silence in privacy.toml is no promise.
                    @if let Some(a) = &policy.automated_decisions {
                        h2 { "Automated decisions" }
                        @if a.used {
                            p { (a.description.as_deref().unwrap_or("We make decisions based solely on automated processing.")) }
                        } @else {
                            p { "We make no decisions about you based solely on automated processing, including profiling (Art. 22 GDPR)." }
                        }
                    }
                }
            }
        }
    }
}

/// The personal categories a table holds, by the names the notice uses.
fn held_kinds(policy: &Policy, found: &Rows) -> String {
    let mut names: Vec<String> = found
        .categories
        .iter()
        .flatten()
        .filter(|c| c.starts_with("user."))
        .map(|c| {
            policy
                .category(c)
                .map_or_else(|| c.clone(), |k| k.name.clone())
        })
        .collect();
    names.sort();
    names.dedup();
    names.join(", ")
}

fn delivery_text(line: &Delivery) -> String {
    match line.status {
        DeliveryStatus::Sent => "sent".to_owned(),
        DeliveryStatus::Queued => "waiting to be sent".to_owned(),
        DeliveryStatus::Failed => "could not be delivered".to_owned(),
        DeliveryStatus::Erased => "not sent: your data was erased first".to_owned(),
        DeliveryStatus::Skipped => {
            format!("not sent: {}", line.reason.as_deref().unwrap_or("skipped"))
        }
    }
}

fn sources(items: &[&Record]) -> Vec<&'static str> {
    let mut labels: Vec<&'static str> = items
        .iter()
        .filter_map(|r| Source::parse(&r.source).map(Source::label))
        .collect();
    labels.sort_unstable();
    labels.dedup();
    labels
}
