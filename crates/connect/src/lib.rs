//! ombud-connect: datasets and the operator's own databases. Reads datasets (ombud's TOML and
//! Fides YAML as it is), checks them against the policy, and reaches the rows a person's
//! identities lead to along their references. Knows the SQL of other people's schemas;
//! decides nothing (what may be read, kept or erased is the policy's and core's).

pub mod check;
pub mod connectors;
pub mod dataset;
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
