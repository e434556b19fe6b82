//! `ombud datasets scan`: discovery over a live database. Samples each column, says on
//! standard error what each one holds (detector names and counts, never a value) and writes a
//! draft dataset with the proposed categories on standard output. Given a dataset of the
//! policy, also says which columns hold personal data the dataset does not declare, and exits 1
//! when any does, so it can run in the operator's CI.

use anyhow::{Context, Result, anyhow};
use ombud_connect::discover::{self, ColumnScan, Declaration, TableScan};
use ombud_connect::sql::Database;
use ombud_connect::{Connection, Dataset};
use ombud_core::text::count;
use std::process::ExitCode;

pub fn scan(
    key: &str,
    connection: Connection,
    declared: Option<&Dataset>,
    sample: usize,
) -> Result<ExitCode> {
    let mut database = Database::open(key, &connection).map_err(|e| anyhow!(e))?;
    let tables = database.schema().map_err(|e| anyhow!(e))?;
    if tables.is_empty() {
        anyhow::bail!("the database has no tables (in that schema): nothing to scan");
    }
    let today = jiff::Zoned::now().date();
    let scans = discover::scan(&mut database, &tables, sample, today).map_err(|e| anyhow!(e))?;

    let mut dataset = ombud_connect::generate(key, key, connection, &tables);
    let mut found = 0;
    let mut undeclared = 0;
    let mut lines = Vec::new();
    for (table, collection) in scans.iter().zip(dataset.collections.iter_mut()) {
        for (column, field) in table.columns.iter().zip(collection.fields.iter_mut()) {
            let Some(category) = column.category() else {
                continue;
            };
            found += 1;
            field.categories = vec![category.to_owned()];
            let standing =
                declared.map(|d| discover::declaration(d, &table.table, &column.column, category));
            if matches!(
                standing,
                Some(Declaration::Missing | Declaration::Contradicted(_))
            ) {
                undeclared += 1;
            }
            lines.push(line(table, column, category, &standing));
        }
    }
    eprintln!(
        "scanned {} ({} sampled at most per table): {} personal data",
        count(scans.len() as u64, "table", "tables"),
        count(sample as u64, "row", "rows"),
        match found {
            0 => "no column holds".to_owned(),
            1 => "1 column holds".to_owned(),
            n => format!("{n} columns hold"),
        }
    );
    for line in &lines {
        eprintln!("{line}");
    }
    println!(
        "# A draft from `ombud datasets scan`: categories proposed from a sample of each column.\n\
         # Review every one, add the identities requests start from, the purposes and references,\n\
         # then name the file in privacy.toml with [[dataset]] file = \"…\".\n"
    );
    print!(
        "{}",
        ombud_connect::native::to_toml(&dataset).context("while writing TOML")?
    );
    if undeclared > 0 {
        eprintln!(
            "{} personal data the dataset `{key}` does not declare: give those fields their categories",
            match undeclared {
                1 => "1 column holds".to_owned(),
                n => format!("{n} columns hold"),
            }
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `customers.email  user.contact.email  98 % (email 980 of 1,000)`, and how it is declared.
fn line(
    table: &TableScan,
    column: &ColumnScan,
    category: &str,
    standing: &Option<Declaration>,
) -> String {
    let (detector, share) = column.proposal.expect("a category comes from a proposal");
    let hits = column.hits.get(&detector).copied().unwrap_or(0);
    let declared = match standing {
        None => String::new(),
        Some(Declaration::Covered) => "  declared".to_owned(),
        Some(Declaration::Missing) => "  NOT DECLARED".to_owned(),
        Some(Declaration::Contradicted(categories)) => {
            format!("  DECLARED AS {}", categories.join(", "))
        }
    };
    format!(
        "{:<40} {:<52} {:>3} % ({} {hits} of {}){declared}",
        format!("{}.{}", table.table, column.column),
        category,
        (share * 100.0).floor() as u32,
        detector.name(),
        column.values
    )
}
