//! The promise check: the running system against the notice rendered from the policy in force.
//! Each promise the notice makes that the system does not keep is reported with the sentence it
//! breaks, how many things break it, and where to look — tenants, rules, requests, incidents,
//! datasets, tables and columns by id or name, never a value.
//!
//! Checked here: retention in the vault (records past their end that no hold or restriction
//! keeps; reviews past due), the audit log's own keep, the notice ledger's rule for message
//! records, requests past their deadline, breach
//! notifications past the clock, categories held that no activity names, retention in the
//! connected datasets, and personal data in their tables that the datasets do not declare
//! (discovery). What a sweep would remove is what
//! is broken; a sweep that ran on time leaves nothing to report.

use crate::sweeper::{Sweep, SweepReport};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_connect::Connectors;
use ombud_connect::discover::{self, Declaration};
use ombud_core::access::DataRole;
use ombud_core::text::count;
use ombud_policy::Policy;
use ombud_policy::render::document::{Block, Document, Inline, Line};
use ombud_policy::taxonomy::is_within;
use ombud_store::requests::RequestFilter;
use ombud_store::{Store, StoreError};
use serde::Serialize;

/// The promises checked, as reports and `/metrics` name them.
pub const PROMISES: [&str; 12] = [
    "retention",
    "review",
    "audit_log_keep",
    "ledger_keep",
    "request_deadline",
    "extension_told",
    "breach_notice",
    "category_not_in_notice",
    "subprocessor_window",
    "recipient_hosts",
    "dataset_retention",
    "undeclared_personal_data",
];

/// Records a run in the operator tenant's audit log (`promises.check`), with a count per
/// promise checked and no place.
pub fn record(
    store: &dyn Store,
    report: &PromiseReport,
    actor: &ombud_store::Actor,
    now: Timestamp,
) -> Result<(), StoreError> {
    let Some(operator) = store.tenants()?.into_iter().find(|t| t.operator) else {
        return Ok(());
    };
    store.append_audit(
        operator.id,
        ombud_store::audit::NewAuditEntry {
            actor: actor.audit_name(),
            action: "promises.check".into(),
            subject: None,
            categories: vec![],
            purpose: None,
            detail: Some(detail(&report.counts())),
        },
        now,
    )?;
    Ok(())
}

/// How many of [`PROMISES`] are checked without connected datasets: all but the last two.
const WITHOUT_DATASETS: usize = PROMISES.len() - 2;

/// One promise broken, in one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Broken {
    /// One of [`PROMISES`].
    pub promise: &'static str,
    /// The sentence of the rendered notice the system does not keep.
    pub sentence: String,
    /// How many records, entries, requests, incidents, rows or columns break it here.
    pub count: u64,
    /// What is broken, in words, with the count (`3 records past the end of their retention`).
    pub what: String,
    /// Where to look: ids and names only.
    pub place: Place,
}

/// Where a broken promise is: whichever of these apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Place {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<String>,
    /// The host of one of ombud's own outbound connections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Sub-processor change notices, by id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

impl Place {
    /// `tenant …; rule …; dataset.table.column; requests …`: the place in one line.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.tenant {
            parts.push(format!("tenant {t}"));
        }
        if let Some(r) = &self.rule {
            parts.push(format!("rule {r}"));
        }
        if let (Some(d), Some(c)) = (&self.dataset, &self.collection) {
            parts.push(match &self.column {
                Some(column) => format!("{d}.{c}.{column}"),
                None => format!("{d}.{c}"),
            });
        }
        if !self.requests.is_empty() {
            parts.push(format!("requests {}", self.requests.join(", ")));
        }
        if !self.incidents.is_empty() {
            parts.push(format!("incidents {}", self.incidents.join(", ")));
        }
        if let Some(host) = &self.host {
            parts.push(format!("host {host}"));
        }
        if !self.changes.is_empty() {
            parts.push(format!("sub-processor changes {}", self.changes.join(", ")));
        }
        parts.join("; ")
    }
}

/// What one run of the check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromiseReport {
    pub checked_at: Timestamp,
    /// The promises this run checked.
    pub checked: Vec<&'static str>,
    pub broken: Vec<Broken>,
}

impl PromiseReport {
    /// Broken promises per promise, every checked one present (zero when kept).
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        self.checked
            .iter()
            .map(|p| {
                (
                    *p,
                    self.broken
                        .iter()
                        .filter(|b| b.promise == *p)
                        .map(|b| b.count)
                        .sum(),
                )
            })
            .collect()
    }
}

/// The audit entry's detail for a run: `retention=3 review=0 …`.
pub fn detail(counts: &[(&'static str, u64)]) -> String {
    counts
        .iter()
        .map(|(p, n)| format!("{p}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, thiserror::Error)]
pub enum PromiseError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Connect(#[from] ombud_connect::sql::ConnectError),
}

/// One of ombud's own outbound connections: what it is for and the host it reaches. Its
/// address's credentials never come here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// `SMTP relay`, …
    pub what: &'static str,
    pub host: String,
}

impl Outbound {
    /// The SMTP relay of `smtp://user:password@host:port`, unless it runs on this machine.
    pub fn smtp(url: &str) -> Option<Outbound> {
        host_of(url).map(|host| Outbound {
            what: "SMTP relay",
            host,
        })
    }
}

/// The host of a URL (`scheme://user:password@host:port/path`), lower case; `None` when there
/// is none or it is this machine (a relay on the same host is no recipient).
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    }
    .trim_end_matches('.')
    .to_ascii_lowercase();
    let local = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    (!host.is_empty() && !local).then_some(host)
}

/// How the check reads the connected datasets.
pub struct Datasets<'a> {
    pub connectors: &'a Connectors,
    /// Rows sampled per table by discovery.
    pub sample: usize,
}

/// Runs every check against the store (and the datasets, when given) as of `now`.
pub fn check(
    store: &dyn Store,
    policy: &Policy,
    time_zone: &TimeZone,
    datasets: Option<Datasets<'_>>,
    outbound: &[Outbound],
    now: Timestamp,
) -> Result<PromiseReport, PromiseError> {
    let notice = ombud_policy::render::notice(policy);
    let mut broken = Vec::new();
    for tenant in store.tenants()? {
        let sweep = Sweep {
            store,
            policy,
            time_zone,
            tenant: tenant.id,
            data_role: DataRole::of_tenant(tenant.operator),
            now,
            dry_run: true,
        };
        let report = sweep.run(|_| {})?;
        vault(
            &notice,
            policy,
            &tenant.id.to_string(),
            &report,
            &mut broken,
        );
        unnamed(store, &notice, policy, &tenant, &mut broken)?;
        if tenant.operator {
            early_changes(
                store,
                &notice,
                &tenant.id.to_string(),
                tenant.id,
                &mut broken,
            )?;
        }
        deadlines(
            store,
            &notice,
            &tenant.id.to_string(),
            tenant.id,
            now,
            &mut broken,
        )?;
    }
    // Open incidents come by deadline, tenants interleaved: grouped here, one finding each.
    let mut late: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (tenant, incident) in store.open_incidents()? {
        if crate::breach::overdue(&incident, now) {
            late.entry(tenant.to_string())
                .or_default()
                .push(incident.id.to_string());
        }
    }
    for (tenant, incidents) in late {
        broken.push(Broken {
            promise: "breach_notice",
            sentence: sentence(&notice, "breaches", "within"),
            count: incidents.len() as u64,
            what: format!(
                "{} past the notification deadline",
                count(incidents.len() as u64, "open incident", "open incidents")
            ),
            place: Place {
                tenant: Some(tenant),
                incidents,
                ..Place::default()
            },
        });
    }
    recipients(&notice, policy, outbound, &mut broken);
    let mut checked = PROMISES[..WITHOUT_DATASETS].to_vec();
    if let Some(datasets) = datasets {
        checked.extend(&PROMISES[WITHOUT_DATASETS..]);
        connected(
            store,
            policy,
            time_zone,
            &notice,
            &datasets,
            now,
            &mut broken,
        )?;
    }
    Ok(PromiseReport {
        checked_at: now,
        checked,
        broken,
    })
}

/// Retention in the vault, and the audit log's keep, from a dry-run sweep of one tenant.
fn vault(
    notice: &Document,
    policy: &Policy,
    tenant: &str,
    report: &SweepReport,
    broken: &mut Vec<Broken>,
) {
    for (rule, records) in &report.by_rule {
        broken.push(Broken {
            promise: "retention",
            sentence: rule_sentence(notice, policy, Some(rule)),
            count: *records,
            what: format!(
                "{} past the end of their retention",
                count(*records, "record", "records")
            ),
            place: Place {
                tenant: Some(tenant.to_owned()),
                rule: Some(rule.clone()),
                ..Place::default()
            },
        });
    }
    if report.due_for_review > 0 {
        broken.push(Broken {
            promise: "review",
            sentence: sentence(notice, "retention", "We keep personal data only"),
            count: report.due_for_review,
            what: format!(
                "{} kept past the date they were due for review",
                count(report.due_for_review, "record", "records")
            ),
            place: Place {
                tenant: Some(tenant.to_owned()),
                ..Place::default()
            },
        });
    }
    if report.ledger_pruned > 0 {
        broken.push(Broken {
            promise: "ledger_keep",
            sentence: sentence(notice, "messages", "We keep a record of which message"),
            count: report.ledger_pruned,
            what: format!(
                "{} of who received which message kept past the rule for message records",
                count(report.ledger_pruned, "ledger line", "ledger lines")
            ),
            place: Place {
                tenant: Some(tenant.to_owned()),
                rule: policy.ledger_rule().map(|r| r.id.clone()),
                ..Place::default()
            },
        });
    }
    if report.audit_pruned > 0 {
        broken.push(Broken {
            promise: "audit_log_keep",
            sentence: sentence(notice, "retention", "Our own records"),
            count: report.audit_pruned,
            what: format!(
                "{} older than the log keeps them",
                count(report.audit_pruned, "audit entry", "audit entries")
            ),
            place: Place {
                tenant: Some(tenant.to_owned()),
                ..Place::default()
            },
        });
    }
}

/// Records held under a category no activity of the notice names for the tenant's role: the
/// notice says what data is collected, and this is data it does not mention.
fn unnamed(
    store: &dyn Store,
    notice: &Document,
    policy: &Policy,
    tenant: &ombud_store::model::Tenant,
    broken: &mut Vec<Broken>,
) -> Result<(), StoreError> {
    let role = DataRole::of_tenant(tenant.operator);
    let named: Vec<&String> = policy
        .activities
        .iter()
        .filter(|a| DataRole::from(a.role) == role)
        .flat_map(|a| &a.categories)
        .collect();
    let section = if tenant.operator {
        "what-we-collect"
    } else {
        "for-customers"
    };
    for (category, records) in store.categories_held(tenant.id)? {
        if named
            .iter()
            .any(|n| is_within(&category, n) || is_within(n, &category))
        {
            continue;
        }
        broken.push(Broken {
            promise: "category_not_in_notice",
            sentence: heading(notice, section),
            count: records,
            what: format!(
                "{} held as {category}, which no activity of the notice names",
                count(records, "record", "records")
            ),
            place: Place {
                tenant: Some(tenant.id.to_string()),
                ..Place::default()
            },
        });
    }
    Ok(())
}

/// ombud's own outbound connections must reach a recipient the notice names (`hosts`).
fn recipients(notice: &Document, policy: &Policy, outbound: &[Outbound], broken: &mut Vec<Broken>) {
    for connection in outbound {
        if policy
            .recipients
            .iter()
            .any(|r| r.serves_host(&connection.host))
        {
            continue;
        }
        broken.push(Broken {
            promise: "recipient_hosts",
            sentence: heading(notice, "recipients"),
            count: 1,
            what: format!(
                "1 outbound connection ({}) to a host no recipient of the notice declares",
                connection.what
            ),
            place: Place {
                host: Some(connection.host.clone()),
                ..Place::default()
            },
        });
    }
}

/// Sub-processor changes in force before the customers' window to object ended (Art. 28(2)):
/// a change starts when its notice says, or at once when it names no start.
fn early_changes(
    store: &dyn Store,
    notice: &Document,
    name: &str,
    operator: ombud_store::model::TenantId,
    broken: &mut Vec<Broken>,
) -> Result<(), StoreError> {
    let early: Vec<String> = store
        .recipient_changes(operator)?
        .into_iter()
        .filter(|change| {
            change
                .objection_until
                .is_some_and(|until| change.effective_at.unwrap_or(change.created_at) < until)
        })
        .map(|change| change.id.to_string())
        .collect();
    if !early.is_empty() {
        broken.push(Broken {
            promise: "subprocessor_window",
            sentence: sentence(notice, "changes", ""),
            count: early.len() as u64,
            what: format!(
                "{} in force before the window to object ended",
                count(
                    early.len() as u64,
                    "sub-processor change",
                    "sub-processor changes"
                )
            ),
            place: Place {
                tenant: Some(name.to_owned()),
                changes: early,
                ..Place::default()
            },
        });
    }
    Ok(())
}

/// Requests still open past their deadline, and requests extended whose person was not told
/// within the first period (Art. 12(3)): no extension mail sent by the first deadline.
fn deadlines(
    store: &dyn Store,
    notice: &Document,
    name: &str,
    tenant: ombud_store::model::TenantId,
    now: Timestamp,
    broken: &mut Vec<Broken>,
) -> Result<(), StoreError> {
    let (mut late, mut untold) = (Vec::new(), Vec::new());
    let mut after = None;
    loop {
        let page = store.requests(
            tenant,
            &RequestFilter {
                after,
                limit: 1000,
                ..RequestFilter::default()
            },
        )?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for request in &page {
            if request.status.is_open() && request.due_at.is_some_and(|due| due < now) {
                late.push(request.id.to_string());
            }
            let Some(first_due) = request.first_due_at else {
                continue;
            };
            if request.extended_at.is_none() || first_due >= now {
                continue;
            }
            let told = store.mails(tenant, Some(request.id))?.iter().any(|mail| {
                mail.template == crate::mail::EXTENDED
                    && mail.sent_at.is_some_and(|at| at <= first_due)
            });
            if !told {
                untold.push(request.id.to_string());
            }
        }
    }
    let sentence = sentence(notice, "your-rights", "We answer within");
    if !late.is_empty() {
        broken.push(Broken {
            promise: "request_deadline",
            sentence: sentence.clone(),
            count: late.len() as u64,
            what: format!(
                "{} still open past the deadline",
                count(late.len() as u64, "request", "requests")
            ),
            place: Place {
                tenant: Some(name.to_owned()),
                requests: late,
                ..Place::default()
            },
        });
    }
    if !untold.is_empty() {
        broken.push(Broken {
            promise: "extension_told",
            sentence,
            count: untold.len() as u64,
            what: format!(
                "{} extended without the person told by the first deadline",
                count(untold.len() as u64, "request", "requests")
            ),
            place: Place {
                tenant: Some(name.to_owned()),
                requests: untold,
                ..Place::default()
            },
        });
    }
    Ok(())
}

/// Retention in the connected datasets, and the personal data their tables hold undeclared.
fn connected(
    store: &dyn Store,
    policy: &Policy,
    time_zone: &TimeZone,
    notice: &Document,
    datasets: &Datasets<'_>,
    now: Timestamp,
    broken: &mut Vec<Broken>,
) -> Result<(), PromiseError> {
    let swept = crate::datasets::sweep(datasets.connectors, policy, store, time_zone, now, true)?;
    for collection in swept.into_iter().filter(|c| c.rows > 0) {
        broken.push(Broken {
            promise: "dataset_retention",
            sentence: rule_sentence(notice, policy, collection.rules.first()),
            count: collection.rows,
            what: format!(
                "{} past the end of their retention",
                count(collection.rows, "row", "rows")
            ),
            place: Place {
                tenant: collection.tenant,
                rule: Some(collection.rules.join(",")),
                dataset: Some(collection.dataset),
                collection: Some(collection.collection),
                ..Place::default()
            },
        });
    }
    let today = now.to_zoned(time_zone.clone()).date();
    // Datasets may share a database (one per purpose, say): it is scanned once, and a column
    // any of them declares is declared.
    let mut databases: Vec<(&ombud_connect::Connection, Vec<&ombud_connect::Dataset>)> = Vec::new();
    for dataset in datasets.connectors.datasets() {
        let Some(connection) = &dataset.connection else {
            continue;
        };
        match databases.iter_mut().find(|(c, _)| *c == connection) {
            Some((_, sharing)) => sharing.push(dataset),
            None => databases.push((connection, vec![dataset])),
        }
    }
    for (connection, sharing) in databases {
        let names: Vec<&str> = sharing.iter().map(|d| d.key.as_str()).collect();
        let mut database = ombud_connect::sql::Database::open(&names.join(", "), connection)?;
        let tables = database.schema()?;
        for table in discover::scan(&mut database, &tables, datasets.sample, today)? {
            for column in &table.columns {
                let Some(category) = column.category() else {
                    continue;
                };
                let declarations: Vec<Declaration> = sharing
                    .iter()
                    .map(|d| discover::declaration(d, &table.table, &column.column, category))
                    .collect();
                if declarations.contains(&Declaration::Covered) {
                    continue;
                }
                let contradicted: Vec<String> = declarations
                    .into_iter()
                    .flat_map(|d| match d {
                        Declaration::Contradicted(declared) => declared,
                        _ => vec![],
                    })
                    .collect();
                let what = if contradicted.is_empty() {
                    format!("1 column holding {category}, not declared")
                } else {
                    format!(
                        "1 column holding {category}, declared as {}",
                        contradicted.join(", ")
                    )
                };
                broken.push(Broken {
                    promise: "undeclared_personal_data",
                    sentence: heading(notice, "what-we-collect"),
                    count: 1,
                    what,
                    place: Place {
                        dataset: Some(names.join(",")),
                        collection: Some(table.table.clone()),
                        column: Some(column.column.clone()),
                        ..Place::default()
                    },
                });
            }
        }
    }
    Ok(())
}

fn plain(line: &Line) -> String {
    line.iter()
        .map(|inline| match inline {
            Inline::Text(t) | Inline::Strong(t) | Inline::Link { text: t, .. } => t.as_str(),
        })
        .collect()
}

/// The row of the notice's retention table that states `rule`'s period, or the section's
/// opening promise when the rule has no row.
fn rule_sentence(notice: &Document, policy: &Policy, rule: Option<&String>) -> String {
    match rule.and_then(|id| policy.retention_rule(id)) {
        Some(rule) => sentence(
            notice,
            "retention",
            &ombud_policy::render::capitalise(&ombud_policy::render::retention_period(rule)),
        ),
        None => sentence(notice, "retention", "We keep personal data only"),
    }
}

/// The heading of the notice's section `id`: what a promise about the whole section breaks.
fn heading(notice: &Document, id: &str) -> String {
    notice
        .sections
        .iter()
        .find(|s| s.id == id)
        .map(|s| s.heading.clone())
        .unwrap_or_default()
}

/// The first line of the notice's section `id` that contains `needle` (a table row as its
/// cells joined), or the section's heading when none does.
fn sentence(notice: &Document, id: &str, needle: &str) -> String {
    let Some(section) = notice.sections.iter().find(|s| s.id == id) else {
        return String::new();
    };
    let lines = section.blocks.iter().flat_map(|block| match block {
        Block::Paragraph(line) => vec![plain(line)],
        Block::List(lines) | Block::Lines(lines) => lines.iter().map(plain).collect(),
        Block::Table { rows, .. } => rows
            .iter()
            .map(|row| row.iter().map(plain).collect::<Vec<_>>().join(" — "))
            .collect(),
        Block::Subheading(text) => vec![text.clone()],
    });
    let mut lines = lines.filter(|l| l.contains(needle));
    lines.next().unwrap_or_else(|| section.heading.clone())
}

/// The report as one self-contained HTML page (no script, no external file): what was
/// checked, each broken promise with the notice's sentence, and when, in the controller's
/// time zone with the zone named.
pub fn html(report: &PromiseReport, organisation: &str, time_zone: &TimeZone) -> String {
    use maud::{DOCTYPE, html};
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Promise check: " (organisation) }
                style {
                    "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}"
                    "table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ccc;vertical-align:top}"
                    ".broken{color:#9b1c1c;font-weight:600}.kept{color:#1d5e20}blockquote{margin:.3rem 0;padding-left:.8rem;border-left:3px solid #999;color:#333}"
                    "code{overflow-wrap:anywhere}"
                }
            }
            body { (html_body(report, organisation, time_zone)) }
        }
    }
    .into_string()
}

/// The report as HTML without a page around it: for the self-contained page above and the
/// console's. Uses the classes `kept` and `broken`.
pub fn html_body(report: &PromiseReport, organisation: &str, time_zone: &TimeZone) -> maud::Markup {
    use maud::html;
    let when = report
        .checked_at
        .to_zoned(time_zone.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string();
    let counts = report.counts();
    let kept = counts.iter().filter(|(_, n)| *n == 0).count();
    html! {
        h1 { "Promise check: " (organisation) }
        p { "Checked " (when) ": " (kept) " of " (counts.len()) " promises kept." }
        table {
            caption { "Each promise checked" }
            thead { tr { th scope="col" { "Promise" } th scope="col" { "Broken by" } } }
            tbody {
                @for (promise, count) in &counts {
                    tr {
                        th scope="row" { code { (promise) } }
                        @if *count == 0 {
                            td class="kept" { "kept" }
                        } @else {
                            td class="broken" { (count) }
                        }
                    }
                }
            }
        }
        @if !report.broken.is_empty() {
            h2 { "Broken promises" }
            @for broken in &report.broken {
                section {
                    h3 { code { (broken.promise) } ": " (broken.what) }
                    p { "Where: " code { (broken.place.describe()) } }
                    p { "The notice says:" }
                    blockquote { (broken.sentence) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_of_an_smtp_url_is_read_without_its_credentials() {
        let host = |url: &str| host_of(url);
        assert_eq!(
            host("smtps://user:p%40ss@smtp.postmarkapp.com:465").as_deref(),
            Some("smtp.postmarkapp.com")
        );
        assert_eq!(
            host("smtp://Mail.Example.COM.").as_deref(),
            Some("mail.example.com")
        );
        assert_eq!(
            host("smtp://[2001:db8::25]:587").as_deref(),
            Some("2001:db8::25")
        );
        for local in [
            "smtp://localhost:25",
            "smtp://127.0.0.1",
            "smtp://[::1]:25",
            "smtp://",
        ] {
            assert_eq!(host(local), None, "{local}");
        }
    }
}
