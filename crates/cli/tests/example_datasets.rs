//! The three examples with their datasets (examples/datasets/): each checks against its
//! policy, its SQL seed loads into SQLite, PostgreSQL and MariaDB, every declared table and
//! column is found there, and a person of the seed reaches their rows.

use predicates::prelude::*;
use std::path::{Path, PathBuf};

struct Example {
    policy: &'static str,
    datasets: &'static [&'static str],
    seed: &'static str,
    url_env: &'static str,
    /// An identity of the seed, the tenant whose request it is, and the rows it reaches.
    person: &'static str,
    tenant: &'static str,
    reaches: &'static [&'static str],
}

const EXAMPLES: [Example; 3] = [
    Example {
        policy: "invoicing-saas.toml",
        datasets: &[
            "invoicing-saas/accounts.toml",
            "invoicing-saas/customers.toml",
        ],
        seed: "invoicing-saas/app.sql",
        url_env: "LASKURI_APP_DATABASE_URL",
        person: "email:matti.meikalainen@example.com",
        tenant: "Acme Oy",
        reaches: &[
            "customer_records.contacts: 1 row",
            "customer_records.invoices: 2 rows",
        ],
    },
    Example {
        policy: "public-cloud.toml",
        datasets: &["public-cloud/billing.toml"],
        seed: "public-cloud/billing.sql",
        url_env: "NORRMOLN_BILLING_DATABASE_URL",
        person: "email:ops@example.se",
        tenant: "operator",
        reaches: &[
            "billing.accounts: 1 row",
            "billing.billing_profiles: 1 row",
            "billing.invoices: 2 rows",
            "billing.api_audit_log: 2 rows",
        ],
    },
    Example {
        policy: "managed-erp-hosting.toml",
        datasets: &["managed-erp-hosting/odoo.toml"],
        seed: "managed-erp-hosting/odoo.sql",
        url_env: "VOORBEELD_ODOO_DATABASE_URL",
        person: "phone:+31 20 123 4567",
        tenant: "Voorbeeld BV",
        reaches: &[
            "odoo_voorbeeld.res_partner: 1 row",
            "odoo_voorbeeld.res_users: 1 row",
            "odoo_voorbeeld.account_move: 1 row",
        ],
    },
];

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The example's policy naming its datasets, reached through `kind` at the URL in `url_env`.
fn policy_in(dir: &Path, example: &Example, kind: &str) -> PathBuf {
    let mut text = std::fs::read_to_string(examples().join(example.policy)).expect("policy");
    for file in example.datasets {
        text.push_str(&format!(
            "\n[[dataset]]\nfile = \"{}\"\nconnection = {{ kind = \"{kind}\", url_env = \"{}\" }}\n",
            examples().join("datasets").join(file).display(),
            example.url_env
        ));
    }
    let path = dir.join("privacy.toml");
    std::fs::write(&path, text).expect("writes");
    path
}

fn statements(seed: &str) -> Vec<String> {
    seed.lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn ombud(dir: &Path, url_env: &str, url: &str) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("ombud").expect("binary");
    command
        .current_dir(dir)
        .env_remove("OMBUD_POLICY")
        .env_remove("OMBUD_DATABASE_URL")
        .env(url_env, url);
    command
}

fn check_example(dir: &Path, example: &Example, kind: &str, url: &str) {
    let policy = policy_in(dir, example, kind);
    let policy = policy.to_str().expect("path");
    ombud(dir, example.url_env, url)
        .args(["datasets", "check", "--policy", policy])
        .assert()
        .success();
    ombud(dir, example.url_env, url)
        .args(["datasets", "test", "--policy", policy])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "every declared table and column exists",
        ));
    let mut reached = ombud(dir, example.url_env, url)
        .args([
            "datasets",
            "reach",
            "--policy",
            policy,
            "--identity",
            example.person,
            "--tenant",
            example.tenant,
        ])
        .assert()
        .success();
    for line in example.reaches {
        reached = reached.stdout(predicate::str::contains(*line));
    }
}

/// After a sweep, the example keeps every promise its notice makes, the datasets' included:
/// nothing past its retention in the vault or the seed's tables, and no personal data in them
/// that the datasets do not declare.
fn keeps_its_promises(dir: &Path, example: &Example, url: &str) {
    const MASTER: &str = "3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e";
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("data directory");
    {
        let key = ombud_store::crypto::MasterKey::from_hex(MASTER).expect("key");
        let store = ombud_store::SqliteStore::open(&data.join("ombud.db"), &key).expect("store");
        let clock = ombud_core::ManualClock::new(jiff::Timestamp::now());
        ombud_app::bootstrap::ensure_operator(&store, &clock, "Operator").expect("operator");
    }
    let policy = dir.join("privacy.toml");
    let policy = policy.to_str().expect("path");
    let run = |args: &[&str]| {
        let mut command = ombud(dir, example.url_env, url);
        command
            .env("OMBUD_MASTER_KEY", MASTER)
            .env("OMBUD_DATA_DIR", &data)
            .args(args)
            .args(["--policy", policy]);
        command
    };
    run(&["sweep"]).assert().success();
    run(&["promises", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("12 of 12 promises kept"));
}

#[test]
fn each_example_s_datasets_reach_its_seed_in_sqlite() {
    for example in &EXAMPLES {
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = dir.path().join("app.db");
        let seed =
            std::fs::read_to_string(examples().join("datasets").join(example.seed)).expect("seed");
        rusqlite::Connection::open(&db)
            .expect("creates")
            .execute_batch(&seed)
            .unwrap_or_else(|e| panic!("{}: {e}", example.seed));
        check_example(dir.path(), example, "sqlite", db.to_str().expect("path"));
        keeps_its_promises(dir.path(), example, db.to_str().expect("path"));
    }
}

#[test]
fn each_example_s_seed_loads_and_is_reached_in_postgresql() {
    let Ok(base) = std::env::var("OMBUD_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("OMBUD_TEST_POSTGRES_MARKER").is_none(),
            "CI expects the PostgreSQL tests to run: set OMBUD_TEST_POSTGRES_URL"
        );
        eprintln!("OMBUD_TEST_POSTGRES_URL is not set: the PostgreSQL case did not run");
        return;
    };
    for example in &EXAMPLES {
        let schema = format!(
            "example_{}_{}",
            std::process::id(),
            example.url_env.to_lowercase()
        );
        let mut client = postgres::Client::connect(&base, postgres::NoTls).expect("connects");
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}"))
            .expect("schema");
        let seed =
            std::fs::read_to_string(examples().join("datasets").join(example.seed)).expect("seed");
        for statement in statements(&seed) {
            client
                .batch_execute(&statement)
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        let dir = tempfile::tempdir().expect("temporary directory");
        // The datasets name no schema: the connection's search path finds the tables.
        check_postgres(dir.path(), example, &url, &schema);
        let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    }
}

fn check_postgres(dir: &Path, example: &Example, url: &str, schema: &str) {
    let mut text = std::fs::read_to_string(examples().join(example.policy)).expect("policy");
    for file in example.datasets {
        text.push_str(&format!(
            "\n[[dataset]]\nfile = \"{}\"\nconnection = {{ kind = \"postgres\", url_env = \"{}\", schema = \"{schema}\" }}\n",
            examples().join("datasets").join(file).display(),
            example.url_env
        ));
    }
    std::fs::write(dir.join("privacy.toml"), text).expect("writes");
    let policy = dir.join("privacy.toml");
    let policy = policy.to_str().expect("path");
    ombud(dir, example.url_env, url)
        .args(["datasets", "test", "--policy", policy])
        .assert()
        .success();
    let mut reached = ombud(dir, example.url_env, url)
        .args([
            "datasets",
            "reach",
            "--policy",
            policy,
            "--identity",
            example.person,
            "--tenant",
            example.tenant,
        ])
        .assert()
        .success();
    for line in example.reaches {
        reached = reached.stdout(predicate::str::contains(*line));
    }
}

#[test]
fn each_example_s_seed_loads_and_is_reached_in_mariadb() {
    use mysql::prelude::Queryable;
    let Ok(base) = std::env::var("OMBUD_TEST_MYSQL_URL") else {
        assert!(
            std::env::var_os("OMBUD_TEST_MYSQL_MARKER").is_none(),
            "CI expects the MariaDB tests to run: set OMBUD_TEST_MYSQL_URL"
        );
        eprintln!("OMBUD_TEST_MYSQL_URL is not set: the MariaDB case did not run");
        return;
    };
    let mut admin = mysql::Conn::new(mysql::Opts::from_url(&base).expect("url")).expect("connects");
    for example in &EXAMPLES {
        let name = format!(
            "example_{}_{}",
            std::process::id(),
            example.url_env.to_lowercase()
        );
        admin
            .query_drop(format!("DROP DATABASE IF EXISTS {name}"))
            .expect("drops");
        admin
            .query_drop(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
            .expect("creates");
        let url = match base.rfind('/') {
            Some(i) => format!("{}/{name}", &base[..i]),
            None => format!("{base}/{name}"),
        };
        let mut conn =
            mysql::Conn::new(mysql::Opts::from_url(&url).expect("url")).expect("connects");
        let seed =
            std::fs::read_to_string(examples().join("datasets").join(example.seed)).expect("seed");
        for statement in statements(&seed) {
            conn.query_drop(&statement)
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        check_example(dir.path(), example, "mysql", &url);
        let _ = admin.query_drop(format!("DROP DATABASE IF EXISTS {name}"));
    }
}

/// `datasets generate` on the cloud's billing database: every table, the primary keys, and the
/// foreign keys as references from the account to the rows that refer to it.
fn check_generated(dir: &Path, kind: &str, url: &str) {
    let output = ombud(dir, "GENERATE_URL", url)
        .args([
            "datasets",
            "generate",
            "--key",
            "billing",
            "--kind",
            kind,
            "--url-env",
            "GENERATE_URL",
        ])
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("text");
    let (dataset, _) = ombud_connect::native::parse("generated.toml", &text).expect("reads back");
    let mut names: Vec<&str> = dataset
        .collections
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["accounts", "api_audit_log", "billing_profiles", "invoices"],
        "{text}"
    );
    let accounts = dataset.collection("accounts").expect("accounts");
    assert!(
        accounts.field("id").is_some_and(|f| f.primary_key),
        "{text}"
    );
    let profile = dataset.collection("billing_profiles").expect("profiles");
    let reference = &profile.field("account_id").expect("account_id").references[0];
    assert_eq!(
        (
            reference.collection.as_str(),
            reference.field.as_str(),
            reference.direction
        ),
        ("accounts", "id", ombud_connect::Direction::From),
        "{text}"
    );
    assert!(!text.contains(url), "the URL is never written");
}

#[test]
fn a_first_dataset_is_generated_from_a_live_schema() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("billing.db");
    let seed = std::fs::read_to_string(examples().join("datasets/public-cloud/billing.sql"))
        .expect("seed");
    rusqlite::Connection::open(&db)
        .expect("creates")
        .execute_batch(&seed)
        .expect("loads");
    check_generated(dir.path(), "sqlite", db.to_str().expect("path"));
    if let Ok(base) = std::env::var("OMBUD_TEST_POSTGRES_URL") {
        let schema = format!("generate_{}", std::process::id());
        let mut client = postgres::Client::connect(&base, postgres::NoTls).expect("connects");
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}"))
            .expect("schema");
        for statement in statements(&seed) {
            client.batch_execute(&statement).expect("loads");
        }
        let output = ombud(dir.path(), "GENERATE_URL", &base)
            .args([
                "datasets",
                "generate",
                "--key",
                "billing",
                "--kind",
                "postgres",
                "--url-env",
                "GENERATE_URL",
                "--schema",
                &schema,
            ])
            .output()
            .expect("runs");
        let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).expect("text");
        let (dataset, _) =
            ombud_connect::native::parse("generated.toml", &text).expect("reads back");
        assert_eq!(dataset.collections.len(), 4, "{text}");
        let profile = dataset.collection("billing_profiles").expect("profiles");
        assert_eq!(
            profile.field("account_id").expect("field").references.len(),
            1,
            "{text}"
        );
    }
    if let Ok(base) = std::env::var("OMBUD_TEST_MYSQL_URL") {
        use mysql::prelude::Queryable;
        let name = format!("generate_{}", std::process::id());
        let mut admin =
            mysql::Conn::new(mysql::Opts::from_url(&base).expect("url")).expect("connects");
        admin
            .query_drop(format!("DROP DATABASE IF EXISTS {name}"))
            .expect("drops");
        admin
            .query_drop(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
            .expect("creates");
        let url = match base.rfind('/') {
            Some(i) => format!("{}/{name}", &base[..i]),
            None => format!("{base}/{name}"),
        };
        let mut conn =
            mysql::Conn::new(mysql::Opts::from_url(&url).expect("url")).expect("connects");
        for statement in statements(&seed) {
            conn.query_drop(&statement).expect("loads");
        }
        check_generated(dir.path(), "mysql", &url);
        let _ = admin.query_drop(format!("DROP DATABASE IF EXISTS {name}"));
    }
}
