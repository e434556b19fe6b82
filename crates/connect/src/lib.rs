//! ombud-connect: datasets and the operator's own databases. Reads datasets (ombud's TOML and
//! Fides YAML as it is), checks them against the policy, and reaches the rows a person's
//! identities lead to along their references. Knows the SQL of other people's schemas;
//! decides nothing (what may be read, kept or erased is the policy's and core's).

pub mod check;
pub mod connectors;
pub mod dataset;
pub mod detect;
pub mod discover;
pub mod fides;
pub mod mariadb;
pub mod native;
pub mod problem;
pub mod reach;
pub mod sql;

pub use connectors::Connectors;
pub use dataset::{
    Collection, Connection, Dataset, Direction, Field, Kind, Masking, Reference, TenantScope,
};
pub use problem::{Places, Problem};

/// Reads every dataset file the policy names (`[[dataset]]`, paths relative to `dir`): ombud's
/// TOML by its `.toml` ending, Fides YAML otherwise; what the policy's entry gives (connection,
/// purposes, tenant) takes the place of the file's own.
pub fn load(
    policy: &ombud_policy::Policy,
    dir: &std::path::Path,
) -> Result<Vec<(Dataset, Places)>, Vec<Problem>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for entry in &policy.datasets {
        let path = dir.join(&entry.file);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(Problem {
                    file: entry.file.clone(),
                    line: 0,
                    column: 0,
                    message: format!("cannot read the dataset file {}: {e}", path.display()),
                    hint: Some("[[dataset]] file = … is relative to the policy file".into()),
                });
                continue;
            }
        };
        let read = if entry.file.ends_with(".toml") {
            native::parse(&entry.file, &text).map(|d| vec![d])
        } else {
            fides::parse(&entry.file, &text)
        };
        match read {
            Ok(datasets) => {
                for (mut dataset, places) in datasets {
                    if let Some(connection) = &entry.connection {
                        dataset.connection = Some(connection.clone());
                    }
                    if !entry.purposes.is_empty() {
                        dataset.purposes = entry.purposes.clone();
                    }
                    if let Some(tenant) = &entry.tenant {
                        dataset.tenant = match tenant {
                            ombud_policy::model::DatasetTenant::Named(name)
                                if name == "operator" =>
                            {
                                TenantScope::Operator
                            }
                            ombud_policy::model::DatasetTenant::Named(name)
                            | ombud_policy::model::DatasetTenant::Customer { customer: name } => {
                                TenantScope::Customer(name.clone())
                            }
                            ombud_policy::model::DatasetTenant::Column { column, values } => {
                                TenantScope::Column {
                                    column: column.clone(),
                                    values: values.clone(),
                                }
                            }
                        };
                    }
                    out.push((dataset, places));
                }
            }
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The policy's datasets, read and checked against it: the datasets, or every problem at once.
pub fn load_checked(
    policy: &ombud_policy::Policy,
    dir: &std::path::Path,
) -> Result<Vec<(Dataset, Places)>, Vec<Problem>> {
    let datasets = load(policy, dir)?;
    let problems = check::check(&datasets, Some(policy));
    if problems.is_empty() {
        Ok(datasets)
    } else {
        Err(problems)
    }
}

/// A first dataset from a live schema: every table as a collection, every column as a field
/// with no category yet, primary keys marked, and each single-column foreign key as a reference
/// the traversal follows from the referenced row to the rows that refer to it (from a person's
/// row to their orders; where a person's row refers to another, as a user to an address, the
/// direction is to be turned to `to`).
pub fn generate(
    key: &str,
    name: &str,
    connection: Connection,
    tables: &[sql::TableSchema],
) -> Dataset {
    Dataset {
        key: key.to_owned(),
        name: name.to_owned(),
        description: None,
        connection: Some(connection),
        purposes: vec![],
        tenant: TenantScope::Operator,
        collections: tables
            .iter()
            .map(|table| Collection {
                name: table.name.clone(),
                description: None,
                fields: table
                    .columns
                    .iter()
                    .map(|column| Field {
                        name: column.clone(),
                        categories: vec![],
                        identity: None,
                        references: table
                            .references
                            .iter()
                            .filter(|(from, _, _)| from == column)
                            .map(|(_, parent, to)| Reference {
                                dataset: key.to_owned(),
                                collection: parent.clone(),
                                field: to.clone(),
                                direction: Direction::From,
                            })
                            .collect(),
                        primary_key: table.primary_key.contains(column),
                        data_type: None,
                        read_only: false,
                        masking: None,
                    })
                    .collect(),
                delete_rows: false,
                erase_after: vec![],
                expires_by: None,
                skip: false,
            })
            .collect(),
    }
}
