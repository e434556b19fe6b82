//! Discovery: which columns of a live database hold personal data, found by sampling each
//! column and validating the values (see [`crate::detect`]). The result is counts and detector
//! names per column and a proposed fideslang category with its confidence; the sampled values
//! are dropped as soon as they are counted and never leave this module.

use crate::Dataset;
use crate::detect::{self, Detector};
use crate::sql::{ConnectError, Database, TableSchema};
use jiff::civil::Date;
use ombud_policy::taxonomy::is_within;
use std::collections::BTreeMap;

/// The rows sampled per table unless told otherwise.
pub const DEFAULT_SAMPLE: usize = 1_000;
/// The most rows a scan may sample per table.
pub const MAX_SAMPLE: usize = 100_000;
/// A column is proposed a category when at least this share of its non-empty sampled values
/// validates as one kind.
pub const THRESHOLD: f64 = 0.6;
/// ... and at least this many did: two addresses in a column of blanks prove little.
pub const MIN_HITS: usize = 3;

/// What the sample of one column showed.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnScan {
    pub column: String,
    /// Non-empty values sampled.
    pub values: usize,
    /// How many of them each detector recognised (a value may pass more than one).
    pub hits: BTreeMap<Detector, usize>,
    /// The detector most values passed, and the share they make, when it reaches
    /// [`THRESHOLD`] and [`MIN_HITS`].
    pub proposal: Option<(Detector, f64)>,
}

impl ColumnScan {
    /// The proposed fideslang category, if any.
    pub fn category(&self) -> Option<&'static str> {
        self.proposal.map(|(d, _)| d.category())
    }
}

/// What the sample of one table showed.
#[derive(Debug, Clone, PartialEq)]
pub struct TableScan {
    pub table: String,
    /// Rows sampled.
    pub rows: usize,
    pub columns: Vec<ColumnScan>,
}

/// How a dataset declares a column discovery found personal data in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Declaration {
    /// Under a category that covers, or refines, what the values are.
    Covered,
    /// Not at all: no such field, or a field with no category.
    Missing,
    /// Under these categories, which the values contradict (an address column declared
    /// `system.operations`).
    Contradicted(Vec<String>),
}

/// How `dataset` declares `table.column`, found to hold `category`.
pub fn declaration(dataset: &Dataset, table: &str, column: &str, category: &str) -> Declaration {
    let categories: Vec<String> = dataset
        .collections
        .iter()
        .filter(|c| c.name == table)
        .flat_map(|c| c.fields.iter().filter(|f| f.name == column))
        .flat_map(|f| f.categories.iter().cloned())
        .collect();
    if categories.is_empty() {
        Declaration::Missing
    } else if categories
        .iter()
        .any(|d| is_within(category, d) || is_within(d, category))
    {
        Declaration::Covered
    } else {
        Declaration::Contradicted(categories)
    }
}

/// Counts what `values` (one column's sample) are, and proposes a category.
pub fn classify<'a>(
    column: &str,
    values: impl IntoIterator<Item = &'a str>,
    today: Date,
) -> ColumnScan {
    let hint = detect::hint(column);
    let mut hits: BTreeMap<Detector, usize> = BTreeMap::new();
    let mut count = 0;
    for value in values {
        if value.trim().is_empty() {
            continue;
        }
        count += 1;
        for detector in detect::detect(value, hint, today) {
            *hits.entry(detector).or_default() += 1;
        }
    }
    // The most hits wins; on a tie the detector listed first (the stricter check) does.
    let best = hits
        .iter()
        .max_by(|(a, x), (b, y)| x.cmp(y).then(b.cmp(a)))
        .map(|(d, n)| (*d, *n));
    let proposal = best.and_then(|(detector, n)| {
        let share = n as f64 / count as f64;
        (n >= MIN_HITS && share >= THRESHOLD).then_some((detector, share))
    });
    ColumnScan {
        column: column.to_owned(),
        values: count,
        hits,
        proposal,
    }
}

/// Samples up to `sample` rows of every table in `tables` and classifies each column.
pub fn scan(
    database: &mut Database,
    tables: &[TableSchema],
    sample: usize,
    today: Date,
) -> Result<Vec<TableScan>, ConnectError> {
    let mut scans = Vec::with_capacity(tables.len());
    for table in tables {
        let rows = database.sample(&table.name, &table.columns, sample)?;
        let columns = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, column)| {
                classify(
                    column,
                    rows.iter().filter_map(|row| row[i].as_deref()),
                    today,
                )
            })
            .collect();
        scans.push(TableScan {
            table: table.name.clone(),
            rows: rows.len(),
            columns,
        });
    }
    Ok(scans)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: Date = Date::constant(2026, 11, 29);

    #[test]
    fn a_column_is_proposed_what_most_of_its_values_validate_as() {
        let values = [
            "ana@example.fi",
            "ben@example.se",
            "",
            "cara@example.de",
            "not an address",
        ];
        let scan = classify("contact", values, TODAY);
        assert_eq!(scan.values, 4, "blanks are not counted");
        assert_eq!(scan.hits.get(&Detector::Email), Some(&3));
        assert_eq!(scan.proposal, Some((Detector::Email, 0.75)));
        assert_eq!(scan.category(), Some("user.contact.email"));
    }

    #[test]
    fn below_the_threshold_or_with_too_few_hits_nothing_is_proposed() {
        let mixed = classify(
            "note",
            ["a@example.fi", "x", "y", "z", "b@example.fi"],
            TODAY,
        );
        assert_eq!(mixed.hits.get(&Detector::Email), Some(&2));
        assert_eq!(mixed.proposal, None);
        let few = classify("contact", ["a@example.fi", "b@example.fi"], TODAY);
        assert_eq!(few.proposal, None, "two of two is not enough to go on");
    }

    #[test]
    fn order_numbers_are_not_taken_for_cards_or_identity_numbers() {
        let orders: Vec<String> = (0..1000)
            .map(|n| format!("{}", 4_000_000_000_000_000u64 + n * 7919))
            .collect();
        let scan = classify("order_number", orders.iter().map(String::as_str), TODAY);
        // One in ten passes Luhn by chance: well under the threshold.
        assert_eq!(scan.proposal, None, "{:?}", scan.hits);
    }
}
