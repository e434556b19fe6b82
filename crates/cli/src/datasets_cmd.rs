//! `ombud datasets`: the dataset files the policy names, checked (`check`), tried against their
//! databases (`test`), a Fides file converted to ombud's format (`import`), and what a person's
//! identities reach (`reach`, counts per collection; the values go only into access answers).

use crate::serve_cmd::load_policy;
use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use ombud_connect::reach::{Reader, Requester, reach};
use ombud_connect::sql::Database;
use ombud_connect::{Dataset, Places, Problem};
use ombud_core::Identity;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum DatasetsCommand {
    /// Check the policy's datasets: categories, identities, references, reachability, erase order
    Check {
        #[arg(long, env = "OMBUD_POLICY", default_value = "privacy.toml")]
        policy: PathBuf,
    },
    /// Connect to each dataset's database and check that every declared table and column exists
    Test {
        #[arg(long, env = "OMBUD_POLICY", default_value = "privacy.toml")]
        policy: PathBuf,
    },
    /// Write a Fides dataset YAML file in ombud's format (TOML) on standard output
    Import {
        /// The Fides file, read as it is
        file: PathBuf,
    },
    /// Write a first dataset (ombud's format) from a live database's tables, keys and foreign
    /// keys, with the categories and identities left for you to fill in
    Generate {
        /// The dataset's key
        #[arg(long)]
        key: String,
        /// postgres, mysql or sqlite
        #[arg(long)]
        kind: String,
        /// The environment variable that holds the database's URL
        #[arg(long, conflicts_with = "url_file")]
        url_env: Option<String>,
        /// A file whose first line is the database's URL
        #[arg(long)]
        url_file: Option<String>,
        /// The schema (PostgreSQL) or database (MySQL) when not the URL's
        #[arg(long)]
        schema: Option<String>,
    },
    /// Sample every column of a live database and propose the categories of those that hold
    /// personal data: a draft dataset (ombud's format) on standard output, what each column
    /// showed on standard error (counts and detector names; sampled values are never shown)
    Scan {
        /// A dataset of the policy: scan its database and compare what its columns hold with
        /// what the dataset declares (exit 1 when personal data is held undeclared)
        #[arg(long, conflicts_with_all = ["kind", "url_env", "url_file"])]
        connection: Option<String>,
        #[arg(long, env = "OMBUD_POLICY", default_value = "privacy.toml")]
        policy: PathBuf,
        /// The draft dataset's key (the dataset's own with --connection)
        #[arg(long)]
        key: Option<String>,
        /// postgres, mysql or sqlite, for a database no dataset names yet
        #[arg(long)]
        kind: Option<String>,
        /// The environment variable that holds the database's URL
        #[arg(long, conflicts_with = "url_file")]
        url_env: Option<String>,
        /// A file whose first line is the database's URL
        #[arg(long)]
        url_file: Option<String>,
        /// The schema (PostgreSQL) or database (MySQL) when not the URL's
        #[arg(long)]
        schema: Option<String>,
        /// Rows sampled per table, 1 to 100000
        #[arg(long, default_value_t = ombud_connect::discover::DEFAULT_SAMPLE)]
        sample: usize,
    },
    /// Count the rows a person's identity reaches in the datasets of a tenant (no values)
    Reach {
        #[arg(long, env = "OMBUD_POLICY", default_value = "privacy.toml")]
        policy: PathBuf,
        /// An identity written kind:value, e.g. email:ana@example.com
        #[arg(long)]
        identity: Vec<String>,
        /// `operator`, or a customer tenant's name as the datasets name it
        #[arg(long, default_value = "operator")]
        tenant: String,
    },
}

pub fn run(command: DatasetsCommand) -> Result<ExitCode> {
    match command {
        DatasetsCommand::Check { policy } => {
            let datasets = load(&policy)?;
            println!(
                "{} datasets, {} collections: no problems",
                datasets.len(),
                datasets
                    .iter()
                    .map(|(d, _)| d.collections.len())
                    .sum::<usize>()
            );
            Ok(ExitCode::SUCCESS)
        }
        DatasetsCommand::Test { policy } => test(&policy),
        DatasetsCommand::Generate {
            key,
            kind,
            url_env,
            url_file,
            schema,
        } => {
            let connection = connection_from_flags(&kind, url_env, url_file, schema)?;
            let mut database = Database::open(&key, &connection).map_err(|e| anyhow!(e))?;
            let tables = database.schema().map_err(|e| anyhow!(e))?;
            if tables.is_empty() {
                bail!("the database has no tables (in that schema)");
            }
            let dataset = ombud_connect::generate(&key, &key, connection, &tables);
            println!(
                "# Generated from the live schema: {} tables. Before the policy names it:\n\
                 # - give each field holding personal data its categories (fideslang keys),\n\
                 # - mark the fields a request starts from with identity = \"email\" (or phone, user_id, …),\n\
                 # - list the policy's activities that use these rows in purposes,\n\
                 # - check each reference's direction: foreign keys are followed from the referenced row\n\
                 #   to the rows that refer to it; where a person's row refers to another, use \"to\".\n",
                tables.len()
            );
            print!(
                "{}",
                ombud_connect::native::to_toml(&dataset).context("while writing TOML")?
            );
            Ok(ExitCode::SUCCESS)
        }
        DatasetsCommand::Scan {
            connection,
            policy,
            key,
            kind,
            url_env,
            url_file,
            schema,
            sample,
        } => {
            if !(1..=ombud_connect::discover::MAX_SAMPLE).contains(&sample) {
                bail!(
                    "--sample {sample}: give the rows to sample per table, 1 to {}",
                    ombud_connect::discover::MAX_SAMPLE
                );
            }
            let (declared, connection) = match (connection, kind) {
                (Some(name), _) => {
                    let datasets: Vec<Dataset> =
                        load(&policy)?.into_iter().map(|(d, _)| d).collect();
                    let known: Vec<&str> = datasets.iter().map(|d| d.key.as_str()).collect();
                    let dataset = datasets
                        .iter()
                        .find(|d| d.key == name)
                        .cloned()
                        .ok_or_else(|| {
                            anyhow!(
                                "--connection {name}: {} names no such dataset; it names {}",
                                policy.display(),
                                known.join(", ")
                            )
                        })?;
                    let connection = dataset.connection.clone().ok_or_else(|| {
                        anyhow!(
                            "dataset `{name}` has no connection: give [connection] kind and url_env in its file or its [[dataset]] entry"
                        )
                    })?;
                    (Some(dataset), connection)
                }
                (None, Some(kind)) => (
                    None,
                    connection_from_flags(&kind, url_env, url_file, schema)?,
                ),
                (None, None) => bail!(
                    "give --connection DATASET (a dataset of the policy), or --kind and --url-env for a database no dataset names yet"
                ),
            };
            let key = key
                .or_else(|| declared.as_ref().map(|d| d.key.clone()))
                .unwrap_or_else(|| "discovered".to_owned());
            crate::scan_cmd::scan(&key, connection, declared.as_ref(), sample)
        }
        DatasetsCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let name = file.display().to_string();
            let datasets = ombud_connect::fides::parse(&name, &text).map_err(said)?;
            let problems = ombud_connect::check::check(&datasets, None);
            for (i, (dataset, _)) in datasets.iter().enumerate() {
                if i > 0 {
                    println!("\n# ----- next dataset: save it in a file of its own -----\n");
                }
                print!(
                    "{}",
                    ombud_connect::native::to_toml(dataset).context("while writing TOML")?
                );
            }
            if !problems.is_empty() {
                for problem in &problems {
                    eprintln!("{problem}");
                }
                eprintln!("converted; correct the problems above before the policy names it");
            }
            eprintln!(
                "add purposes, tenant and [connection] (kind, url_env) to the converted file, then name it in privacy.toml with [[dataset]] file = \"…\""
            );
            Ok(ExitCode::SUCCESS)
        }
        DatasetsCommand::Reach {
            policy,
            identity,
            tenant,
        } => {
            if identity.is_empty() {
                bail!("--identity: give at least one, written kind:value (email:ana@example.com)");
            }
            let (parsed, _, _) = crate::serve_cmd::load_policy(Some(&policy))?;
            let country = parsed.controller.country.clone();
            let identities: Vec<(String, String)> = identity
                .iter()
                .map(|text| {
                    Identity::parse_tagged_in(text, &country)
                        .map(|i| (i.kind().as_str().to_owned(), i.expose().to_owned()))
                        .map_err(|e| {
                            anyhow!("--identity {}: {e}", text.split(':').next().unwrap_or(""))
                        })
                })
                .collect::<Result<_>>()?;
            let datasets: Vec<Dataset> = load(&policy)?.into_iter().map(|(d, _)| d).collect();
            let requester = Requester {
                tenant_id: tenant.clone(),
                tenant_name: tenant.clone(),
                operator: tenant == "operator",
            };
            let mut readers = open_all(&datasets)?;
            let rows =
                reach(&datasets, &mut readers, &requester, &identities).map_err(|e| anyhow!(e))?;
            if rows.is_empty() {
                println!("nothing in the datasets of tenant {tenant} is reached");
            }
            for found in &rows {
                println!(
                    "{}.{}: {}",
                    found.dataset,
                    found.collection,
                    ombud_core::text::count(found.rows.len() as u64, "row", "rows")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A connection given by flags: the kind, and where its URL is (never the URL itself).
fn connection_from_flags(
    kind: &str,
    url_env: Option<String>,
    url_file: Option<String>,
    schema: Option<String>,
) -> Result<ombud_connect::Connection> {
    let kind = match kind {
        "postgres" => ombud_connect::Kind::Postgres,
        "mysql" => ombud_connect::Kind::Mysql,
        "sqlite" => ombud_connect::Kind::Sqlite,
        other => bail!("--kind {other}: give postgres, mysql or sqlite"),
    };
    if url_env.is_none() && url_file.is_none() {
        bail!(
            "give --url-env VARIABLE (or --url-file FILE) for the database's URL; it is never written in the dataset"
        );
    }
    Ok(ombud_connect::Connection {
        kind,
        url_env,
        url_file,
        schema,
    })
}

fn said(problems: Vec<Problem>) -> anyhow::Error {
    anyhow!(
        "{}",
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// The policy's datasets, read and checked; every problem is said at once.
fn load(policy_path: &Path) -> Result<Vec<(Dataset, Places)>> {
    let (policy, _, _) = load_policy(Some(policy_path))?;
    if policy.datasets.is_empty() {
        bail!(
            "{} names no datasets; add [[dataset]] file = \"datasets/app.toml\" (ombud's format) or a Fides YAML file",
            policy_path.display()
        );
    }
    let dir = policy_path.parent().unwrap_or(Path::new("."));
    ombud_connect::load_checked(&policy, dir).map_err(said)
}

fn open_all(datasets: &[Dataset]) -> Result<BTreeMap<String, Box<dyn Reader>>> {
    let mut readers: BTreeMap<String, Box<dyn Reader>> = BTreeMap::new();
    for dataset in datasets {
        let connection = dataset.connection.as_ref().ok_or_else(|| {
            anyhow!(
                "dataset `{}` has no connection: give [connection] kind and url_env in its file or its [[dataset]] entry",
                dataset.key
            )
        })?;
        readers.insert(
            dataset.key.clone(),
            Box::new(Database::open(&dataset.key, connection).map_err(|e| anyhow!(e))?),
        );
    }
    Ok(readers)
}

/// Every declared table and column against the database; what is missing, all at once.
fn test(policy: &Path) -> Result<ExitCode> {
    let datasets: Vec<Dataset> = load(policy)?.into_iter().map(|(d, _)| d).collect();
    let mut missing = 0;
    for dataset in &datasets {
        let connection = dataset
            .connection
            .as_ref()
            .ok_or_else(|| anyhow!("dataset `{}` has no connection", dataset.key))?;
        let mut database = Database::open(&dataset.key, connection).map_err(|e| anyhow!(e))?;
        let mut columns_checked = 0;
        for collection in &dataset.collections {
            match database.columns(&collection.name).map_err(|e| anyhow!(e))? {
                None => {
                    missing += 1;
                    println!(
                        "{}.{}: the table does not exist",
                        dataset.key, collection.name
                    );
                }
                Some(columns) => {
                    let mut wanted: Vec<&str> =
                        collection.fields.iter().map(|f| f.name.as_str()).collect();
                    if let ombud_connect::TenantScope::Column { column, .. } = &dataset.tenant {
                        wanted.push(column);
                    }
                    for name in wanted {
                        columns_checked += 1;
                        if !columns.contains_key(name) {
                            missing += 1;
                            println!(
                                "{}.{}.{name}: the column does not exist",
                                dataset.key, collection.name
                            );
                        }
                    }
                }
            }
        }
        println!(
            "{} ({}): {} tables, {columns_checked} columns checked",
            dataset.key,
            connection.kind.as_str(),
            dataset.collections.len()
        );
    }
    if missing > 0 {
        println!(
            "{missing} declared tables or columns are missing: correct the dataset or the database"
        );
        return Ok(ExitCode::from(1));
    }
    println!("every declared table and column exists");
    Ok(ExitCode::SUCCESS)
}

/// The datasets of the policy read from `named` (or ./privacy.toml), checked, ready for
/// requests to reach; none when the policy names none. A dataset with problems stops the start,
/// since answers would otherwise leave its rows out unnoticed.
pub fn connectors_for(
    policy: &ombud_policy::Policy,
    named: Option<&Path>,
) -> Result<ombud_connect::Connectors> {
    if policy.datasets.is_empty() {
        return Ok(ombud_connect::Connectors::default());
    }
    let path = named.unwrap_or(Path::new("privacy.toml"));
    let dir = path.parent().unwrap_or(Path::new("."));
    let datasets = ombud_connect::load(policy, dir).map_err(said)?;
    let problems = ombud_connect::check::check(&datasets, Some(policy));
    if !problems.is_empty() {
        return Err(
            said(problems).context("the policy's datasets have problems (`ombud datasets check`)")
        );
    }
    Ok(ombud_connect::Connectors::new(
        datasets.into_iter().map(|(d, _)| d).collect(),
    ))
}
