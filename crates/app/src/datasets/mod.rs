//! Erasure in the operator's own databases: which rows a person's erasure deletes, which
//! fields it masks and how, and which a legal obligation keeps (the same rule as for records in
//! the vault, `core::requests::erasure_hold`), then carried out per database in one
//! transaction. The plan carries counts and field names only; values stay in the changes.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_connect::Connectors;
use ombud_connect::dataset::Masking;
use ombud_connect::reach::{Rows, WITHHELD};
use ombud_connect::sql::{Applied, ConnectError, RowChange, TableChanges};
use ombud_core::facts::SubjectFacts;
use ombud_core::requests::{RecordFacts, erasure_hold};
use ombud_policy::Policy;
use ombud_policy::model::Choice;
use serde::Serialize;

/// The columns a row is found again by: its primary key, or every column read when none is
/// declared (credentials, never read, cannot serve).
fn key_columns(collection: &ombud_connect::Collection, found: &Rows) -> Vec<usize> {
    let pk: Vec<usize> = collection
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| f.primary_key)
        .map(|(i, _)| i)
        .collect();
    if !pk.is_empty() {
        return pk;
    }
    (0..found.fields.len())
        .filter(|&i| {
            !found.categories[i]
                .iter()
                .any(|c| ombud_connect::reach::is_credential(c))
        })
        .collect()
}

/// Rectification (Art. 16) in the tenant's datasets: every field holding the category (or one
/// beneath it) in the rows the person reached gets the correct value, per database in one
/// transaction. Returns (dataset, table, rows updated).
pub fn rectify(
    connectors: &Connectors,
    reached: &[Rows],
    category: &str,
    value: &str,
) -> Result<Vec<(String, String, u64)>, ConnectError> {
    let mut by_dataset: Vec<(String, Vec<TableChanges>)> = Vec::new();
    for found in reached {
        let Some(collection) = connectors
            .dataset(&found.dataset)
            .and_then(|d| d.collection(&found.collection))
        else {
            continue;
        };
        let targets: Vec<&str> = collection
            .fields
            .iter()
            .filter(|f| {
                !f.primary_key
                    && !f.read_only
                    && f.categories
                        .iter()
                        .any(|c| ombud_policy::taxonomy::is_within(c, category))
            })
            .map(|f| f.name.as_str())
            .collect();
        if targets.is_empty() {
            continue;
        }
        let keys = key_columns(collection, found);
        let rows: Vec<RowChange> = found
            .rows
            .iter()
            .map(|row| RowChange {
                key: keys
                    .iter()
                    .map(|&i| (found.fields[i].clone(), row[i].clone()))
                    .collect(),
                set: Some(
                    targets
                        .iter()
                        .map(|t| ((*t).to_owned(), Some(value.to_owned())))
                        .collect(),
                ),
            })
            .collect();
        let changes = TableChanges {
            table: found.collection.clone(),
            rows,
        };
        match by_dataset.iter_mut().find(|(d, _)| d == &found.dataset) {
            Some((_, tables)) => tables.push(changes),
            None => by_dataset.push((found.dataset.clone(), vec![changes])),
        }
    }
    let mut out = Vec::new();
    for (dataset, tables) in by_dataset {
        for (table, applied) in connectors.apply(&dataset, tables)? {
            out.push((dataset.clone(), table, applied.updated));
        }
    }
    Ok(out)
}

/// What erasure does to one table the person's rows are in.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TablePlan {
    pub dataset: String,
    /// The system, as the person is told.
    pub system: String,
    pub collection: String,
    pub rows_deleted: u64,
    pub rows_masked: u64,
    /// Rows reached that hold nothing erasure changes (no personal field, or all kept).
    pub rows_untouched: u64,
    /// The fields masked, with the strategy.
    pub masked_fields: Vec<MaskedField>,
    /// Fields a legal obligation keeps, and until when.
    pub kept: Vec<KeptField>,
    #[serde(skip)]
    changes: Vec<RowChange>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaskedField {
    pub field: String,
    /// null, fixed, hmac or random.
    pub strategy: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeptField {
    pub field: String,
    pub category: String,
    pub rows: u64,
    pub rule: String,
    pub law: Option<String>,
    pub until: Option<Timestamp>,
    /// While the period that keeps it has not started: the event that starts it.
    pub starts_with: Option<String>,
}

fn strategy(masking: &Masking) -> &'static str {
    match masking {
        Masking::Null => "null",
        Masking::Fixed { .. } => "fixed",
        Masking::Hmac => "hmac",
        Masking::RandomString { .. } => "random",
    }
}

/// A date or time as a database prints it: RFC 3339, `2024-05-01 10:00:00`, or a date.
fn when(text: &str, tz: &TimeZone) -> Option<Timestamp> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Some(at);
    }
    if let Ok(at) = text.replace(' ', "T").parse::<Timestamp>() {
        return Some(at);
    }
    let civil = text
        .get(..19)
        .and_then(|t| t.replace(' ', "T").parse::<jiff::civil::DateTime>().ok())
        .or_else(|| {
            text.get(..10)
                .and_then(|t| t.parse::<jiff::civil::Date>().ok())
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        })?;
    civil.to_zoned(tz.clone()).ok().map(|z| z.timestamp())
}

fn hmac_hex(key: &[u8; 32], value: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(value.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_text(length: usize) -> Result<String, ConnectError> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; length];
    getrandom::fill(&mut bytes)
        .map_err(|e| ConnectError::new(format!("no randomness for a mask: {e}")))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect())
}

/// The value a field is masked with, within the column's length.
fn mask(
    masking: &Masking,
    value: Option<&str>,
    key: &[u8; 32],
    max_len: Option<usize>,
) -> Result<Option<String>, ConnectError> {
    let cut = |text: String| match max_len {
        Some(max) => text.chars().take(max).collect(),
        None => text,
    };
    Ok(match (masking, value) {
        (_, None) | (Masking::Null, _) => None,
        // A credential is never read, so there is nothing to hash: it goes.
        (Masking::Hmac, Some(WITHHELD)) => None,
        (Masking::Hmac, Some(v)) => Some(cut(hmac_hex(key, v))),
        (Masking::Fixed { value }, Some(_)) => Some(cut(value.clone())),
        (Masking::RandomString { length }, Some(_)) => {
            Some(random_text((*length).min(max_len.unwrap_or(usize::MAX)))?)
        }
    })
}

/// What a person's erasure is decided by.
pub struct Erasing<'a> {
    pub policy: &'a Policy,
    pub connectors: &'a Connectors,
    /// The person's events (contract end, consent, …) that retention periods count from.
    pub facts: &'a SubjectFacts,
    /// A legal hold placed on the person for a category, if any.
    pub placed: &'a dyn Fn(&str) -> Option<ombud_core::requests::Hold>,
    /// The tenant's key for HMAC masks.
    pub mask_key: &'a [u8; 32],
    pub now: Timestamp,
    pub tz: &'a TimeZone,
}

/// The plan for the rows the person reached: per table, what is deleted, masked and kept.
pub fn plan(erasing: &Erasing<'_>, reached: &[Rows]) -> Result<Vec<TablePlan>, ConnectError> {
    let Erasing {
        policy,
        connectors,
        facts,
        placed,
        mask_key,
        now,
        tz,
    } = *erasing;
    let mut plans = Vec::new();
    for found in reached {
        let Some(dataset) = connectors.dataset(&found.dataset) else {
            continue;
        };
        let Some(collection) = dataset.collection(&found.collection) else {
            continue;
        };
        let columns = connectors
            .columns(&found.dataset, &found.collection)?
            .unwrap_or_default();
        let key_columns = key_columns(collection, found);
        let expires = collection
            .expires_by
            .as_ref()
            .and_then(|name| found.fields.iter().position(|f| f == name));
        let mut plan = TablePlan {
            dataset: found.dataset.clone(),
            system: found.system.clone(),
            collection: found.collection.clone(),
            rows_deleted: 0,
            rows_masked: 0,
            rows_untouched: 0,
            masked_fields: Vec::new(),
            kept: Vec::new(),
            changes: Vec::new(),
        };
        for row in &found.rows {
            let collected_at = expires
                .and_then(|i| row[i].as_deref())
                .and_then(|t| when(t, tz))
                .unwrap_or(now);
            let mut set = Vec::new();
            let mut kept_any = false;
            for (i, field) in collection.fields.iter().enumerate() {
                if field.primary_key || field.read_only {
                    continue;
                }
                let personal: Vec<&String> = field
                    .categories
                    .iter()
                    .filter(|c| c.starts_with("user."))
                    .collect();
                if personal.is_empty() {
                    continue;
                }
                let hold = personal
                    .iter()
                    .filter_map(|category| {
                        // A legal hold placed on the person keeps it whatever the policy says.
                        if let Some(hold) = placed(category) {
                            return Some((category, hold));
                        }
                        erasure_hold(
                            policy,
                            &RecordFacts {
                                category,
                                purposes: &dataset.purposes,
                                source: "service_use",
                                collected_at,
                            },
                            facts,
                            now,
                            tz,
                        )
                        .map(|hold| (category, hold))
                    })
                    .max_by_key(|(_, hold)| hold.until.unwrap_or(Timestamp::MAX));
                if let Some((category, hold)) = hold {
                    kept_any = true;
                    match plan.kept.iter_mut().find(|k| k.field == field.name) {
                        Some(kept) => {
                            kept.rows += 1;
                            if hold.until.is_none()
                                || kept.until.is_some_and(|u| hold.until > Some(u))
                            {
                                kept.until = hold.until;
                            }
                        }
                        None => plan.kept.push(KeptField {
                            field: field.name.clone(),
                            category: (*category).clone(),
                            rows: 1,
                            rule: hold.rule,
                            law: hold.law,
                            until: hold.until,
                            starts_with: hold.starts_with.map(|a| a.as_str().to_owned()),
                        }),
                    }
                    continue;
                }
                // Undeclared, a field is emptied where its column takes NULL, and where it does
                // not (part of a key), replaced by its keyed hash, which nobody can read back.
                let column = columns.get(&field.name);
                let masking =
                    field
                        .masking
                        .clone()
                        .unwrap_or(if column.is_some_and(|c| c.not_null) {
                            Masking::Hmac
                        } else {
                            Masking::Null
                        });
                if !plan.masked_fields.iter().any(|m| m.field == field.name) {
                    plan.masked_fields.push(MaskedField {
                        field: field.name.clone(),
                        strategy: strategy(&masking).into(),
                    });
                }
                let max_len = column.and_then(|c| c.max_len);
                set.push((
                    field.name.clone(),
                    mask(&masking, row[i].as_deref(), mask_key, max_len)?,
                ));
            }
            let key = key_columns
                .iter()
                .map(|&i| (found.fields[i].clone(), row[i].clone()))
                .collect();
            if collection.delete_rows && !kept_any {
                plan.rows_deleted += 1;
                plan.changes.push(RowChange { key, set: None });
            } else if !set.is_empty() {
                plan.rows_masked += 1;
                plan.changes.push(RowChange {
                    key,
                    set: Some(set),
                });
            } else {
                plan.rows_untouched += 1;
            }
        }
        if collection.delete_rows {
            // A deleted row takes every field with it; only rows kept by a law are masked.
            plan.masked_fields.retain(|_| plan.rows_masked > 0);
        }
        plans.push(plan);
    }
    Ok(plans)
}

/// Called when one database's part of an erasure has committed, with what changed per table.
pub type Committed<'a> = dyn FnMut(&str, &[(String, Applied)]) -> Result<(), ConnectError> + 'a;

/// Carries the plan out, one transaction per database, skipping the databases in `done`;
/// `committed` records each database's step as soon as it has committed (so that a crash or a
/// failure in a later database leaves the earlier ones recorded, and running the erasure again
/// does not change them twice). Returns (dataset, table, what changed).
pub fn execute(
    connectors: &Connectors,
    plans: &[TablePlan],
    done: &std::collections::BTreeSet<String>,
    committed: &mut Committed<'_>,
) -> Result<Vec<(String, String, Applied)>, ConnectError> {
    let mut by_dataset: Vec<(String, Vec<TableChanges>)> = Vec::new();
    for plan in plans
        .iter()
        .filter(|p| !p.changes.is_empty() && !done.contains(&p.dataset))
    {
        let changes = TableChanges {
            table: plan.collection.clone(),
            rows: plan.changes.clone(),
        };
        match by_dataset.iter_mut().find(|(d, _)| d == &plan.dataset) {
            Some((_, tables)) => tables.push(changes),
            None => by_dataset.push((plan.dataset.clone(), vec![changes])),
        }
    }
    let mut out = Vec::new();
    for (dataset, tables) in by_dataset {
        let applied = connectors.apply(&dataset, tables)?;
        committed(&dataset, &applied)?;
        for (table, applied) in applied {
            out.push((dataset.clone(), table, applied));
        }
    }
    Ok(out)
}

pub mod retention;
pub use retention::{CollectionSweep, forecast, sweep};
