//! Retention in the operator's own databases. A table whose rules count from when a row was
//! collected is swept by a date column it declares (`expires_by`), in batches, without reading a
//! row. A table whose rules count from an event of the person (a contract's end, an account's
//! closing, a withdrawn consent) is swept person by person: the people of the tenant whose
//! period has ended, as ombud records their events, are followed into the table through their
//! identities, and their rows there go (or are anonymised), one transaction per person and
//! database, each with an audit entry of counts.

use super::key_columns;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_connect::reach::{Requester, Rows};
use ombud_connect::sql::{ConnectError, Expired, Expiry, RowChange, TableChanges};
use ombud_connect::{Collection, Connectors, Dataset, TenantScope};
use ombud_core::facts::SubjectFacts;
use ombud_policy::Policy;
use ombud_policy::model::{Action, Anchor, RetentionRule};
use ombud_store::audit::NewAuditEntry;
use ombud_store::model::{SubjectId, Tenant};
use ombud_store::retention::LegalHold;
use serde::Serialize;
use std::collections::BTreeMap;

/// What retention did (or, in a dry run, would do) to one table of a dataset.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollectionSweep {
    pub dataset: String,
    pub collection: String,
    /// For a database customers share: whose rows (the tenant's name).
    pub tenant: Option<String>,
    /// The retention rules that date the rows.
    pub rules: Vec<String>,
    /// delete or anonymise.
    pub action: String,
    /// Rows dated before this were past their retention (rules counted from collection).
    pub before: Option<Timestamp>,
    /// For rules counted from an event of the person: how many people's period had ended and
    /// had rows here that went (or would go).
    pub people: Option<u64>,
    pub rows: u64,
    /// Why the table was left alone, when it was.
    pub skipped: Option<String>,
}

/// Whose rows a sweep reaches, and in a database customers share the tenant column's values
/// that are theirs.
type SweepUnit<'a> = (Option<&'a Tenant>, Option<(String, Vec<String>)>);

/// Rows removed per batch: each batch is its own transaction.
const SWEEP_BATCH: usize = 10_000;

/// The first whole second after `low` at which `past` no longer is what it is at `low`,
/// searched up to `high` (where it is not): rows are dated to the second, so the bound is one.
fn flip_second(past: &impl Fn(Timestamp) -> bool, low: i64, high: i64) -> Option<Timestamp> {
    let was = past(Timestamp::from_second(low).ok()?);
    let (mut low, mut high) = (low, high);
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if past(Timestamp::from_second(middle).ok()?) == was {
            low = middle;
        } else {
            high = middle;
        }
    }
    Timestamp::from_second(high).ok()
}

/// The second after the latest collection time whose retention has ended by `now`, given the
/// end of a row collected at `t`; `None` when no row's has. Where the end does not only move
/// forward with `t` (month ends), this is one such point: [`expired_spans`] finds the rest.
fn cutoff(end: &impl Fn(Timestamp) -> Option<Timestamp>, now: Timestamp) -> Option<Timestamp> {
    let past = |t: Timestamp| end(t).is_some_and(|e| e <= now);
    let high = now.as_second() + 1;
    let low = high - 400 * 366 * 86_400;
    if !past(Timestamp::from_second(low).ok()?) {
        return None;
    }
    if past(Timestamp::from_second(high).ok()?) {
        return Timestamp::from_second(high + 1).ok();
    }
    flip_second(&past, low, high)
}

/// Where the rows past their end lie, near the cutoff: [`cutoff`] finds a point where rows
/// stop being past their end, but a period that ends on the last day of a shorter month (a
/// year after 29 February ends on 28 February, a month after 31 January on 28 February) brings
/// rows of the days that clamp back before rows of a day or so earlier. The four days either
/// side of it are walked an hour at a time (within an hour the end only moves forward) and
/// every flip found to the second: the rows before the returned instant, and those in each
/// returned span `[from, to)`, are past their end; no other row is.
fn expired_spans(
    end: impl Fn(Timestamp) -> Option<Timestamp>,
    now: Timestamp,
) -> Option<(Timestamp, Vec<(Timestamp, Timestamp)>)> {
    let past = |t: Timestamp| end(t).is_some_and(|e| e <= now);
    let first = cutoff(&end, now)?;
    let hour = jiff::SignedDuration::from_hours(1);
    let reach = jiff::SignedDuration::from_hours(24 * 4);
    let (Ok(start), Ok(stop)) = (first.checked_sub(reach), first.checked_add(reach)) else {
        return Some((first, vec![]));
    };
    let stop = stop.min(now.checked_add(hour).unwrap_or(now));
    let stop = Timestamp::from_second(stop.as_second()).unwrap_or(stop);
    if !past(start) {
        // Not the shape clamping makes: keep to the first cutoff, which errs on keeping.
        return Some((first, vec![]));
    }
    let mut before = None;
    let mut spans = Vec::new();
    let mut open: Option<Timestamp> = None;
    let (mut at, mut was) = (start, true);
    while at < stop {
        let next = at.checked_add(hour).unwrap_or(stop).min(stop);
        let now_past = past(next);
        if now_past != was {
            let Some(edge) = flip_second(&past, at.as_second(), next.as_second()) else {
                break;
            };
            if was {
                match open.take() {
                    Some(from) => spans.push((from, edge)),
                    None => before = before.or(Some(edge)),
                }
            } else {
                open = Some(edge);
            }
            was = now_past;
        }
        at = next;
    }
    if let Some(from) = open {
        spans.push((from, stop));
    }
    Some((before.unwrap_or(stop), spans))
}

/// A row's date as databases write it as text: an instant with an offset, a date and time
/// without one (read as UTC, as the batched sweep compares it), or a date (its start, UTC).
pub fn row_date(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Some(at);
    }
    if let Ok(at) = text.parse::<jiff::civil::DateTime>() {
        return at.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    if let Ok(day) = text.parse::<jiff::civil::Date>() {
        return day.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp());
    }
    None
}

/// The rules of the dataset's activities for the table's personal categories: only activities
/// that process a category count for it (a log kept for security does not date the names in
/// the user table of the same dataset).
fn rules_of<'p>(
    policy: &'p Policy,
    dataset: &Dataset,
    personal: &[&'p str],
) -> Vec<(&'p str, &'p RetentionRule)> {
    use ombud_policy::taxonomy::is_within;
    let mut rules: Vec<(&str, &RetentionRule)> = Vec::new();
    for activity in dataset
        .purposes
        .iter()
        .filter_map(|p| policy.activities.iter().find(|a| &a.id == p))
    {
        for category in personal {
            let processes = activity
                .categories
                .iter()
                .any(|c| is_within(category, c) || is_within(c, category));
            if !processes {
                continue;
            }
            for rule in policy.rules_for(activity, category) {
                if !rules.iter().any(|(_, r)| r.id == rule.id) {
                    rules.push((activity.id.as_str(), rule));
                }
            }
        }
    }
    rules
}

/// A table swept person by person, with what decides whose rows go.
struct PersonTable<'a> {
    dataset: &'a Dataset,
    collection: &'a Collection,
    personal: Vec<&'a str>,
    rules: Vec<(&'a str, &'a RetentionRule)>,
    /// The table's date column, when it declares one.
    column: Option<&'a str>,
    /// Rows dated before this are past the rules counted from collection (and past the last
    /// interaction's floor); `None` when no such rule applies or none has ended yet.
    rows_before: Option<Option<Timestamp>>,
    expiry: Expiry,
    report: CollectionSweep,
}

/// When a row collected at `at` has outlived the rules counted from collection (and the last
/// interaction's floor, the row's own date): the same end the register gives a record.
fn row_end(
    rules: &[(&str, &RetentionRule)],
    at: Timestamp,
    now: Timestamp,
    tz: &TimeZone,
) -> Option<Timestamp> {
    let no_facts = SubjectFacts::new(vec![]);
    rules
        .iter()
        .filter(|(_, r)| matches!(r.after, Anchor::Collected | Anchor::LastInteraction))
        .filter_map(|(purpose, rule)| {
            ombud_core::retention::rule_end(rule, purpose, &no_facts, at, now, tz)
        })
        .max()
}

impl PersonTable<'_> {
    /// Whether the person's period under every event rule has ended by `horizon`. An event
    /// that has not happened (the contract runs) keeps the rows.
    fn ended(
        &self,
        facts: &SubjectFacts,
        now: Timestamp,
        horizon: Timestamp,
        tz: &TimeZone,
    ) -> bool {
        for (purpose, rule) in &self.rules {
            let end = match rule.after {
                Anchor::Collected => continue,
                Anchor::LastInteraction => {
                    match facts.anchor(Anchor::LastInteraction, purpose, now) {
                        // The period starts no earlier than the row: the row's date is then
                        // the floor, compared row by row.
                        Some(last) => {
                            ombud_core::retention::rule_end(rule, purpose, facts, last, now, tz)
                        }
                        None if self.column.is_some() => continue,
                        None => None,
                    }
                }
                _ => ombud_core::retention::rule_end(rule, purpose, facts, now, now, tz),
            };
            if end.is_none_or(|end| end > horizon) {
                return false;
            }
        }
        true
    }
}

/// Applies the policy's retention to the datasets' tables; see [`run`].
pub fn sweep(
    connectors: &Connectors,
    policy: &Policy,
    store: &dyn ombud_store::Store,
    tz: &TimeZone,
    now: Timestamp,
    dry_run: bool,
) -> Result<Vec<CollectionSweep>, ConnectError> {
    run(connectors, policy, store, tz, now, now, dry_run)
}

/// What retention will remove from the datasets' tables within `days` days: counts only.
pub fn forecast(
    connectors: &Connectors,
    policy: &Policy,
    store: &dyn ombud_store::Store,
    tz: &TimeZone,
    now: Timestamp,
    days: i64,
) -> Result<Vec<CollectionSweep>, ConnectError> {
    let horizon = now
        .to_zoned(tz.clone())
        .checked_add(jiff::Span::new().days(days))
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX);
    run(connectors, policy, store, tz, now, horizon, true)
}

/// Applies the policy's retention to every dataset table whose rows something dates: rows
/// whose end under the rules of the dataset's activities falls by `horizon` are deleted (or
/// anonymised, where a rule says so). Rules counted from collection need the table's date
/// column (`expires_by`); rules counted from an event of the person need the person's
/// identities to lead to the table. A table a legal hold of the tenant covers is left alone and
/// said so; a hold on one person, or a person who asked for restriction, keeps that person's rows.
fn run(
    connectors: &Connectors,
    policy: &Policy,
    store: &dyn ombud_store::Store,
    tz: &TimeZone,
    now: Timestamp,
    horizon: Timestamp,
    dry_run: bool,
) -> Result<Vec<CollectionSweep>, ConnectError> {
    let stored = |e: ombud_store::StoreError| ConnectError::new(format!("the store: {e}"));
    let tenants = store.tenants().map_err(stored)?;
    let mut out = Vec::new();
    let mut by_person: Vec<PersonTable<'_>> = Vec::new();
    for dataset in connectors.datasets() {
        let units = units(dataset, &tenants);
        for collection in dataset.collections.iter().filter(|c| !c.skip) {
            let personal: Vec<&str> = collection
                .fields
                .iter()
                .flat_map(|f| f.categories.iter())
                .filter(|c| c.starts_with("user."))
                .map(String::as_str)
                .collect();
            if personal.is_empty() {
                continue;
            }
            let rules = rules_of(policy, dataset, &personal);
            let column = collection.expires_by.as_deref();
            let anonymise = rules.iter().any(|(_, r)| r.then == Action::Anonymise);
            let mut report = CollectionSweep {
                dataset: dataset.key.clone(),
                collection: collection.name.clone(),
                tenant: None,
                rules: rules.iter().map(|(_, r)| r.id.clone()).collect(),
                action: if anonymise { "anonymise" } else { "delete" }.into(),
                before: None,
                people: None,
                rows: 0,
                skipped: None,
            };
            let expiry = if anonymise {
                Expiry::Anonymise(
                    collection
                        .fields
                        .iter()
                        .filter(|f| {
                            !f.primary_key
                                && !f.read_only
                                && f.categories.iter().any(|c| c.starts_with("user."))
                                && Some(f.name.as_str()) != column
                        })
                        .map(|f| f.name.clone())
                        .collect(),
                )
            } else {
                Expiry::Delete
            };
            let skip = |mut report: CollectionSweep, why: String| {
                report.skipped = Some(why);
                report
            };
            if rules.is_empty() {
                out.push(skip(
                    report,
                    "no retention rule of the dataset's activities covers its categories".into(),
                ));
                continue;
            }
            if matches!(&expiry, Expiry::Anonymise(fields) if fields.is_empty()) {
                out.push(skip(
                    report,
                    "a rule anonymises its rows, and every personal field of the table is its key, its date or read_only".into(),
                ));
                continue;
            }
            if let Some((_, rule)) = rules.iter().find(|(_, r)| r.then == Action::Review) {
                out.push(skip(
                    report,
                    format!(
                        "rule `{}` asks for a review, which a person decides, not the sweep",
                        rule.id
                    ),
                ));
                continue;
            }
            let row_end = |t: Timestamp| row_end(&rules, t, now, tz);
            let by_event = rules.iter().any(|(_, r)| r.after != Anchor::Collected);
            if !by_event {
                let Some(column) = column else {
                    out.push(skip(
                        report,
                        format!(
                            "rule `{}` counts from when a row was collected, and the table names no column that says when (expires_by)",
                            rules[0].1.id
                        ),
                    ));
                    continue;
                };
                let spans = expired_spans(row_end, horizon);
                report.before = spans.as_ref().map(|(before, _)| *before);
                let also = spans.map(|(_, also)| also).unwrap_or_default();
                for (tenant, scope) in &units {
                    let mut unit = report.clone();
                    if scope.is_some() {
                        unit.tenant = tenant.map(|t| t.name.clone());
                    }
                    let Some(tenant) = tenant else {
                        out.push(skip(unit, "its tenant is not in the store".into()));
                        continue;
                    };
                    let holds = store.holds(tenant.id, Some(now)).map_err(stored)?;
                    if let Some(why) = held(&holds, &personal, true) {
                        out.push(skip(unit, why));
                        continue;
                    }
                    let Some(before) = unit.before else {
                        out.push(unit);
                        continue;
                    };
                    let expired = Expired {
                        table: &collection.name,
                        column,
                        before,
                        also: &also,
                        scope: scope.as_ref().map(|(c, v)| (c.as_str(), v.as_slice())),
                    };
                    unit.rows = connectors.with(&dataset.key, |db| {
                        if dry_run {
                            db.count_expired(&expired)
                        } else {
                            db.expire(&expired, &expiry, SWEEP_BATCH)
                        }
                    })?;
                    out.push(unit);
                }
                continue;
            }
            let collected = rules.iter().any(|(_, r)| r.after == Anchor::Collected);
            if collected && column.is_none() {
                out.push(skip(
                    report,
                    "its rules count from when a row was collected and from an event of the person, and the table names no column that says when a row was collected (expires_by)".into(),
                ));
                continue;
            }
            for (_, scope) in units.iter().filter(|(tenant, _)| tenant.is_none()) {
                let mut unit = report.clone();
                if let Some((_, values)) = scope {
                    unit.tenant = Some(format!(
                        "{} = {}",
                        dataset_tenant_column(dataset),
                        values.join(", ")
                    ));
                }
                out.push(skip(unit, "its tenant is not in the store".into()));
            }
            let dated = rules
                .iter()
                .any(|(_, r)| matches!(r.after, Anchor::Collected | Anchor::LastInteraction));
            by_person.push(PersonTable {
                dataset,
                collection,
                personal,
                rows_before: (dated && column.is_some()).then(|| cutoff(&row_end, horizon)),
                rules,
                column,
                expiry,
                report,
            });
        }
    }
    if !by_person.is_empty() {
        for tenant in &tenants {
            out.extend(sweep_people(
                connectors, store, tz, now, horizon, dry_run, tenant, &by_person,
            )?);
        }
    }
    Ok(out)
}

/// The column that says whose a row of a shared database is.
fn dataset_tenant_column(dataset: &Dataset) -> &str {
    match &dataset.tenant {
        TenantScope::Column { column, .. } => column,
        _ => "",
    }
}

/// Whose rows a dataset holds: the operator's, one customer's, or in a shared database each
/// customer's by the tenant column's values.
fn units<'t>(dataset: &Dataset, tenants: &'t [Tenant]) -> Vec<SweepUnit<'t>> {
    let named = |name: &str| {
        tenants
            .iter()
            .find(|t| t.name == name || t.id.to_string() == name)
    };
    match &dataset.tenant {
        TenantScope::Operator => vec![(tenants.iter().find(|t| t.operator), None)],
        TenantScope::Customer(name) => vec![(named(name), None)],
        TenantScope::Column { column, values } => {
            let mut by_tenant: Vec<(Option<&Tenant>, Vec<String>)> = Vec::new();
            for (value, name) in values {
                let tenant = named(name);
                match by_tenant
                    .iter_mut()
                    .find(|(t, _)| t.map(|t| t.id) == tenant.map(|t| t.id))
                {
                    Some((_, values)) => values.push(value.clone()),
                    None => by_tenant.push((tenant, vec![value.clone()])),
                }
            }
            by_tenant
                .into_iter()
                .map(|(t, values)| (t, Some((column.clone(), values))))
                .collect()
        }
    }
}

/// Why a tenant's legal hold keeps a table with these categories, if one does. With
/// `any_person`, a hold on one person keeps the whole table too: a sweep by date cannot tell
/// that person's rows from the others.
fn held(holds: &[LegalHold], personal: &[&str], any_person: bool) -> Option<String> {
    use ombud_policy::taxonomy::is_within;
    let hold = holds.iter().find(|h| {
        (h.subject.is_none() || any_person)
            && h.category.as_deref().is_none_or(|held| {
                personal
                    .iter()
                    .any(|c| is_within(c, held) || is_within(held, c))
            })
    })?;
    Some(format!(
        "a legal hold ({}) covers {}",
        hold.reason.as_str().replace('_', " "),
        if hold.subject.is_some() {
            "a person whose rows this table may hold"
        } else {
            "its categories"
        }
    ))
}

/// The person-by-person sweep of one tenant over the tables whose rules count from an event.
#[allow(clippy::too_many_arguments)]
fn sweep_people(
    connectors: &Connectors,
    store: &dyn ombud_store::Store,
    tz: &TimeZone,
    now: Timestamp,
    horizon: Timestamp,
    dry_run: bool,
    tenant: &Tenant,
    tables: &[PersonTable<'_>],
) -> Result<Vec<CollectionSweep>, ConnectError> {
    let stored = |e: ombud_store::StoreError| ConnectError::new(format!("the store: {e}"));
    let requester = Requester {
        tenant_id: tenant.id.to_string(),
        tenant_name: tenant.name.clone(),
        operator: tenant.operator,
    };
    let holds = store.holds(tenant.id, Some(now)).map_err(stored)?;
    // The tenant's tables, each with its report; a hold on the tenant keeps a table whole.
    let mut mine: Vec<(&PersonTable<'_>, CollectionSweep)> = Vec::new();
    let mut out = Vec::new();
    for table in tables {
        let Some(scope) = requester.scope(table.dataset) else {
            continue;
        };
        let mut report = table.report.clone();
        report.before = table.rows_before.flatten();
        if scope.is_some() {
            report.tenant = Some(tenant.name.clone());
        }
        if let Some(why) = held(&holds, &table.personal, false) {
            report.skipped = Some(why);
            out.push(report);
            continue;
        }
        if table.rows_before == Some(None) {
            // The rows' own dates keep them all, whoever's they are.
            report.people = Some(0);
            out.push(report);
            continue;
        }
        report.people = Some(0);
        mine.push((table, report));
    }
    if mine.is_empty() {
        return Ok(out);
    }
    let mut after = None;
    loop {
        let batch = store
            .retention_batch(tenant.id, after, crate::sweeper::BATCH_SUBJECTS)
            .map_err(stored)?;
        let Some(last) = batch.last() else {
            break;
        };
        after = Some(last.subject);
        for subject in &batch {
            let facts = SubjectFacts::new(subject.events.iter().map(|e| e.fact()).collect());
            // Art. 18: a person who asked for restriction keeps everything until it is lifted.
            if facts.restricted(now).is_some() {
                continue;
            }
            let due: Vec<usize> = mine
                .iter()
                .enumerate()
                .filter(|(_, (table, _))| {
                    table.ended(&facts, now, horizon, tz)
                        && !table.personal.iter().any(|c| {
                            crate::sweeper::hold_for(&holds, subject.subject, c, now).is_some()
                        })
                })
                .map(|(i, _)| i)
                .collect();
            if due.is_empty() {
                continue;
            }
            let identities: Vec<(String, String)> = store
                .subject(tenant.id, subject.subject)
                .map_err(stored)?
                .map(|s| {
                    s.identities
                        .iter()
                        .map(|i| (i.kind().as_str().to_owned(), i.expose().to_owned()))
                        .collect()
                })
                .unwrap_or_default();
            if identities.is_empty() {
                continue;
            }
            let reached = connectors.reach(&requester, &identities)?;
            let mut changes: BTreeMap<&str, Vec<(usize, TableChanges)>> = BTreeMap::new();
            for &i in &due {
                let (table, _) = &mine[i];
                let Some(found) = reached.iter().find(|r| {
                    r.dataset == table.dataset.key && r.collection == table.collection.name
                }) else {
                    continue;
                };
                let rows = expired_rows(table, found, &|at| {
                    row_end(&table.rules, at, now, tz).is_some_and(|end| end <= horizon)
                });
                if !rows.is_empty() {
                    changes
                        .entry(table.dataset.key.as_str())
                        .or_default()
                        .push((
                            i,
                            TableChanges {
                                table: table.collection.name.clone(),
                                rows,
                            },
                        ));
                }
            }
            for (dataset, tables) in changes {
                let counted: Vec<(usize, u64)> = if dry_run {
                    tables
                        .iter()
                        .map(|(i, t)| (*i, t.rows.len() as u64))
                        .collect()
                } else {
                    let applied = connectors
                        .apply(dataset, tables.iter().map(|(_, t)| t.clone()).collect())?;
                    let counts = applied
                        .iter()
                        .map(|(table, a)| {
                            format!("{table}: {} deleted, {} anonymised", a.deleted, a.updated)
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    let rules: Vec<String> = tables
                        .iter()
                        .flat_map(|(i, _)| mine[*i].0.report.rules.iter().cloned())
                        .collect();
                    record(
                        store,
                        tenant,
                        subject.subject,
                        dataset,
                        &rules,
                        &counts,
                        now,
                    )?;
                    tables
                        .iter()
                        .map(|(i, t)| {
                            let n = applied
                                .iter()
                                .find(|(name, _)| name == &t.table)
                                .map_or(0, |(_, a)| a.deleted + a.updated);
                            (*i, n)
                        })
                        .collect()
                };
                for (i, n) in counted {
                    let report = &mut mine[i].1;
                    report.rows += n;
                    if n > 0 {
                        *report.people.get_or_insert(0) += 1;
                    }
                }
            }
        }
    }
    out.extend(mine.into_iter().map(|(_, report)| report));
    Ok(out)
}

/// The person's rows of the table that retention removes now: all of them, or with a date
/// column and a rule counted from collection those dated before the cutoff (a row whose date
/// cannot be read stays). Anonymising skips rows already empty, so a second sweep counts none.
fn expired_rows(
    table: &PersonTable<'_>,
    found: &Rows,
    row_past: &dyn Fn(Timestamp) -> bool,
) -> Vec<RowChange> {
    let keys = key_columns(table.collection, found);
    let date = table
        .column
        .and_then(|c| found.fields.iter().position(|f| f == c));
    found
        .rows
        .iter()
        .filter(|row| match (table.rows_before, date) {
            (Some(Some(_)), Some(i)) => row[i].as_deref().and_then(row_date).is_some_and(row_past),
            (Some(_), _) => false,
            (None, _) => true,
        })
        .filter_map(|row| {
            let set = match &table.expiry {
                Expiry::Delete => None,
                Expiry::Anonymise(fields) => {
                    let set: Vec<(String, Option<String>)> = fields
                        .iter()
                        .filter(|f| {
                            found
                                .fields
                                .iter()
                                .position(|name| name == *f)
                                .is_some_and(|i| row[i].is_some())
                        })
                        .map(|f| (f.clone(), None))
                        .collect();
                    if set.is_empty() {
                        return None;
                    }
                    Some(set)
                }
            };
            Some(RowChange {
                key: keys
                    .iter()
                    .map(|&i| (found.fields[i].clone(), row[i].clone()))
                    .collect(),
                set,
            })
        })
        .collect()
}

/// One audit entry per person and database: the rules and the counts, never a value.
fn record(
    store: &dyn ombud_store::Store,
    tenant: &Tenant,
    subject: SubjectId,
    dataset: &str,
    rules: &[String],
    counts: &str,
    now: Timestamp,
) -> Result<(), ConnectError> {
    store
        .append_audit(
            tenant.id,
            NewAuditEntry {
                actor: ombud_store::Actor::System.audit_name(),
                action: "datasets.expire".into(),
                subject: Some(subject),
                categories: vec![],
                purpose: None,
                detail: Some(format!(
                    "dataset={dataset}; rules={}; {counts}",
                    rules.join(",")
                )),
            },
            now,
        )
        .map(|_| ())
        .map_err(|e| ConnectError::new(format!("the audit log: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ombud_policy::Duration;
    use ombud_policy::duration::Unit;

    #[test]
    fn dates_are_read_as_the_three_databases_write_them() {
        let at = |s: &str| s.parse::<Timestamp>().expect("instant");
        for (text, expected) in [
            ("2024-02-29 08:00:00", "2024-02-29T08:00:00Z"),
            ("2024-02-29T08:00:00", "2024-02-29T08:00:00Z"),
            ("2024-02-29 08:00:00.250", "2024-02-29T08:00:00.25Z"),
            ("2024-02-29 10:00:00+02", "2024-02-29T08:00:00Z"),
            ("2024-02-29 08:00:00+00", "2024-02-29T08:00:00Z"),
            ("2024-02-29T08:00:00Z", "2024-02-29T08:00:00Z"),
            ("2024-02-29", "2024-02-29T00:00:00Z"),
        ] {
            assert_eq!(row_date(text), Some(at(expected)), "{text}");
        }
        for text in ["", "yesterday", "29.2.2024", "1709193600"] {
            assert_eq!(row_date(text), None, "{text}");
        }
    }

    /// A month after 29, 30 or 31 January ends on 28 February: at noon on 28 February the rows
    /// of those three mornings are past their month, those of the afternoon of the 28th are not.
    #[test]
    fn the_days_a_month_end_clamps_are_found_beyond_the_first_cutoff() {
        let tz = TimeZone::get("Europe/Helsinki").expect("zone");
        let month = Duration {
            amount: 1,
            unit: Unit::Month,
        };
        let end = |t: Timestamp| Some(ombud_core::retention::add(t, month, &tz));
        let local = |s: &str| {
            s.parse::<jiff::civil::DateTime>()
                .expect("civil")
                .to_zoned(tz.clone())
                .expect("zoned")
                .timestamp()
        };
        let now = local("2026-02-28T12:00:00");
        let (before, spans) = expired_spans(end, now).expect("some rows are past");
        let second = jiff::SignedDuration::from_secs(1);
        assert_eq!(before, local("2026-01-28T12:00:00") + second);
        assert_eq!(
            spans,
            ["29", "30", "31"]
                .map(|d| (
                    local(&format!("2026-01-{d}T00:00:00")),
                    local(&format!("2026-01-{d}T12:00:00")) + second
                ))
                .to_vec()
        );
        // Every instant agrees with the end the register would give it.
        let past =
            |t: Timestamp| t < before || spans.iter().any(|(from, to)| *from <= t && t < *to);
        let mut t = local("2026-01-25T00:00:00");
        while t < local("2026-02-02T00:00:00") {
            assert_eq!(past(t), end(t).is_some_and(|e| e <= now), "{t}");
            t += jiff::SignedDuration::from_mins(17);
        }
    }
}
