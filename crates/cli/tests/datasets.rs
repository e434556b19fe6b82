//! `ombud datasets` against a policy naming an application database (SQLite here): the check,
//! the test of every declared column, a Fides file converted, and the rows a person reaches —
//! counted, never shown.

use predicates::prelude::*;
use std::path::Path;

const POLICY: &str = include_str!("../../../examples/invoicing-saas.toml");
const FIDES: &str =
    include_str!("../../connect/tests/fixtures/fides-sample/postgres_example_test_dataset.yml");

const APP: &str = r#"key = "app"
name = "Invoicing application database"
purposes = ["user-accounts", "invoicing"]
tenant = "operator"

[connection]
kind = "sqlite"
url_file = "app.url"

[[collections]]
name = "users"

[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true

[[collections.fields]]
name = "email"
categories = ["user.contact.email"]
identity = "email"

[[collections.fields]]
name = "password_hash"
categories = ["user.authorization.password"]

[[collections]]
name = "invoices"

[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true

[[collections.fields]]
name = "user_id"
categories = ["system.operations"]
references = [{ field = "users.id", direction = "from" }]

[[collections.fields]]
name = "amount"
categories = ["user.financial"]
"#;

fn ombud(dir: &Path) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("ombud").expect("binary");
    command
        .current_dir(dir)
        .env_remove("OMBUD_POLICY")
        .env_remove("OMBUD_DATABASE_URL");
    command
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("app.db");
    rusqlite::Connection::open(&db)
        .expect("creates")
        .execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, password_hash TEXT);
             CREATE TABLE invoices (id INTEGER PRIMARY KEY, user_id INTEGER, amount TEXT);
             INSERT INTO users VALUES (1, 'Ana@Example.fi', 'argon2id$secret'), (2, 'bo@example.fi', NULL);
             INSERT INTO invoices VALUES (10, 1, '120.00'), (11, 1, '80.00'), (12, 2, '5.00');",
        )
        .expect("seeds");
    std::fs::create_dir_all(dir.path().join("datasets")).expect("dir");
    // A relative url_file is read from where ombud runs.
    std::fs::write(dir.path().join("app.url"), format!("{}\n", db.display())).expect("url");
    std::fs::write(dir.path().join("datasets/app.toml"), APP).expect("dataset");
    std::fs::write(
        dir.path().join("privacy.toml"),
        format!("{POLICY}\n[[dataset]]\nfile = \"datasets/app.toml\"\n"),
    )
    .expect("policy");
    dir
}

#[test]
fn a_policy_s_datasets_check_test_and_reach() {
    let dir = setup();
    ombud(dir.path())
        .args(["datasets", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "1 datasets, 2 collections: no problems",
        ));
    ombud(dir.path())
        .args(["datasets", "test"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "every declared table and column exists",
        ));
    ombud(dir.path())
        .args(["datasets", "reach", "--identity", "email:ana@example.fi"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("app.users: 1 row")
                .and(predicate::str::contains("app.invoices: 2 rows"))
                .and(predicate::str::contains("ana").not())
                .and(predicate::str::contains("argon2").not()),
        );
    // A customer's request does not reach the operator's database.
    ombud(dir.path())
        .args([
            "datasets",
            "reach",
            "--identity",
            "email:ana@example.fi",
            "--tenant",
            "Acme Oy",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "nothing in the datasets of tenant Acme Oy is reached",
        ));
}

#[test]
fn a_column_the_database_lacks_is_named_and_fails_the_test() {
    let dir = setup();
    std::fs::write(
        dir.path().join("datasets/app.toml"),
        APP.replace("name = \"amount\"", "name = \"total\""),
    )
    .expect("dataset");
    ombud(dir.path())
        .args(["datasets", "test"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "app.invoices.total: the column does not exist",
        ));
}

#[test]
fn a_category_no_activity_of_the_dataset_covers_is_refused_with_its_place() {
    let dir = setup();
    std::fs::write(
        dir.path().join("datasets/app.toml"),
        APP.replace(
            "name = \"amount\"\ncategories = [\"user.financial\"]",
            "name = \"amount\"\ncategories = [\"user.health_and_medical\"]",
        ),
    )
    .expect("dataset");
    ombud(dir.path())
        .args(["datasets", "check"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "datasets/app.toml:42:15: `invoices.amount` holds user.health_and_medical, which no activity of dataset `app` (user-accounts, invoicing) covers",
        ));
    std::fs::write(
        dir.path().join("privacy.toml"),
        format!("{POLICY}\n[[dataset]]\nfile = \"datasets/app.toml\"\npurposes = [\"invoicng\"]\n"),
    )
    .expect("policy");
    ombud(dir.path())
        .args(["datasets", "check"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("`invoicng` is not an activity of the policy")
                .and(predicate::str::contains("did you mean `invoicing`?")),
        );
}

#[test]
fn a_fides_file_converts_to_the_native_format() {
    let dir = tempfile::tempdir().expect("temporary directory");
    std::fs::write(dir.path().join("fides.yml"), FIDES).expect("writes");
    let output = ombud(dir.path())
        .args(["datasets", "import", "fides.yml"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("text");
    assert!(
        text.starts_with("key = \"postgres_example_test_dataset\""),
        "{text}"
    );
    let (dataset, _) = ombud_connect::native::parse("converted.toml", &text).expect("reads back");
    assert_eq!(dataset.collections.len(), 11);
    std::fs::write(
        dir.path().join("bad.yml"),
        "dataset:\n  - fides_key: x\n    collections: [\n",
    )
    .expect("writes");
    ombud(dir.path())
        .args(["datasets", "import", "bad.yml"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("bad.yml:")
                .and(predicate::str::contains("not a Fides dataset file")),
        );
}

#[test]
fn policy_check_reports_the_datasets_problems_with_their_place() {
    let dir = setup();
    std::fs::write(
        dir.path().join("datasets/app.toml"),
        APP.replace("\"user.contact.email\"", "\"user.contact.emial\""),
    )
    .expect("dataset");
    ombud(dir.path())
        .args(["policy", "check", "privacy.toml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "error: datasets/app.toml:20:15: `user.contact.emial` is not a data category",
        ));
    let json = ombud(dir.path())
        .args(["policy", "check", "privacy.toml", "--format", "json"])
        .output()
        .expect("runs");
    let document: serde_json::Value =
        serde_json::from_slice(&json.stdout).expect("one JSON document");
    assert_eq!(document["dataset_problems"][0]["line"], 20);
}

#[test]
fn bad_flags_are_refused_with_the_flag_and_the_fix() {
    let dir = setup();
    for (args, says) in [
        (
            &["datasets", "reach", "--identity", "ana@example.fi"][..],
            "--identity ana@example.fi: an identity is written `kind:value`",
        ),
        (
            &["datasets", "reach", "--identity", "email:ana-at-example.fi"][..],
            "an email address has one @",
        ),
        (
            &["datasets", "reach", "--identity", "fax:0912345"][..],
            "unknown identity kind; use one of email, phone",
        ),
        (
            &[
                "datasets",
                "generate",
                "--key",
                "app",
                "--kind",
                "oracle",
                "--url-env",
                "APP_URL",
            ][..],
            "--kind oracle: give postgres, mysql or sqlite",
        ),
    ] {
        ombud(dir.path())
            .args(args)
            .env("APP_URL", dir.path().join("app.db"))
            .assert()
            .failure()
            .stderr(predicate::str::contains(says));
    }
    // Nothing written by a refused generate.
    assert!(
        std::fs::read_dir(dir.path().join("datasets"))
            .expect("dir")
            .count()
            == 1
    );
}
