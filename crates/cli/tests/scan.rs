//! `ombud datasets scan` over an application database (SQLite): each column holding personal
//! data is found by validating its values, proposed its fideslang category in a draft dataset,
//! and, against a dataset of the policy, reported when the dataset does not declare it — with
//! counts and detector names only, never a sampled value.

use predicates::prelude::*;
use std::path::Path;

const POLICY: &str = include_str!("../../../examples/invoicing-saas.toml");

fn ombud(dir: &Path) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("ombud").expect("binary");
    command
        .current_dir(dir)
        .env_remove("OMBUD_POLICY")
        .env_remove("OMBUD_DATABASE_URL");
    command
}

/// A Finnish personal identity code for person `n`, with its check character.
fn hetu(n: usize) -> String {
    let (day, month, year, serial) = (1 + n % 28, 1 + n % 12, 50 + n % 40, 2 + n % 800);
    let number: u64 = format!("{day:02}{month:02}{year:02}{serial:03}")
        .parse()
        .expect("digits");
    let check = b"0123456789ABCDEFHJKLMNPRSTUVWXY"[(number % 31) as usize] as char;
    format!("{day:02}{month:02}{year:02}-{serial:03}{check}")
}

/// A Finnish IBAN with its check digits (ISO 13616).
fn iban(n: usize) -> String {
    let bban = format!("{:014}", 12_345_600_000_000u64 + n as u64);
    let rearranged = format!("{bban}{}{}00", 15, 18); // F = 15, I = 18
    let remainder = rearranged
        .bytes()
        .fold(0u64, |r, b| (r * 10 + u64::from(b - b'0')) % 97);
    format!("FI{:02}{bban}", 98 - remainder)
}

/// A Visa-like card number whose last digit makes the Luhn check hold.
fn card(n: usize) -> String {
    let body = format!("411111{:09}", n);
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

const GIVEN: [&str; 6] = ["Anna", "Mikko", "Sofia", "Lars", "Elena", "Jussi"];
const FAMILY: [&str; 5] = ["Virtanen", "Korhonen", "Nieminen", "Lindqvist", "Moreau"];

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("app.db");
    let conn = rusqlite::Connection::open(&db).expect("creates");
    conn.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, surname TEXT, email TEXT,
            mobile TEXT, date_of_birth TEXT, hetu TEXT, iban TEXT, card_number TEXT, last_ip TEXT,
            plan TEXT);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers (id),
            order_number TEXT, amount TEXT, created_at TEXT);",
    )
    .expect("tables");
    for n in 0..300 {
        conn.execute(
            "INSERT INTO customers VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            rusqlite::params![
                n as i64,
                GIVEN[n % GIVEN.len()],
                FAMILY[n % FAMILY.len()],
                format!("person{n}@example.fi"),
                format!("+358 40 {:07}", 1_000_000 + n),
                format!("19{:02}-{:02}-{:02}", 50 + n % 40, 1 + n % 12, 1 + n % 28),
                hetu(n),
                iban(n),
                card(n),
                format!("198.51.100.{}", n % 250),
                ["basic", "pro", "enterprise"][n % 3],
            ],
        )
        .expect("customer");
        conn.execute(
            "INSERT INTO orders VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                n as i64,
                n as i64,
                format!("{}", 4_000_000_000_000_000u64 + n as u64 * 7919),
                format!("{}.00", 10 + n),
                "2026-03-01T10:00:00Z",
            ],
        )
        .expect("order");
    }
    std::fs::write(dir.path().join("app.url"), format!("{}\n", db.display())).expect("url");
    dir
}

#[test]
fn a_scan_proposes_each_column_s_category_and_shows_no_value() {
    let dir = setup();
    let output = ombud(dir.path())
        .args([
            "datasets",
            "scan",
            "--kind",
            "sqlite",
            "--url-file",
            "app.url",
            "--key",
            "app",
        ])
        .output()
        .expect("runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "scanned 2 tables (1000 rows sampled at most per table): 9 columns hold personal data"
        ),
        "{stderr}"
    );
    for (column, category, detector) in [
        (
            "customers.first_name",
            "user.name.first",
            "given_name 300 of 300",
        ),
        (
            "customers.surname",
            "user.name.last",
            "family_name 300 of 300",
        ),
        ("customers.email", "user.contact.email", "email 300 of 300"),
        (
            "customers.mobile",
            "user.contact.phone_number",
            "phone 300 of 300",
        ),
        (
            "customers.date_of_birth",
            "user.demographic.date_of_birth",
            "date_of_birth 300 of 300",
        ),
        (
            "customers.hetu",
            "user.government_id.national_identification_number",
            "national_id:FI 300 of 300",
        ),
        (
            "customers.iban",
            "user.financial.bank_account",
            "iban 300 of 300",
        ),
        (
            "customers.card_number",
            "user.financial.credit_card",
            "payment_card 300 of 300",
        ),
        (
            "customers.last_ip",
            "user.device.ip_address",
            "ip_address 300 of 300",
        ),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.starts_with(&format!("{column} ")))
            .unwrap_or_else(|| panic!("no line for {column}: {stderr}"));
        assert!(
            line.contains(category) && line.contains("100 %") && line.contains(detector),
            "{line}"
        );
    }
    // Order numbers of card length are not cards; plans, amounts and times are nobody's.
    for column in [
        "orders.order_number",
        "orders.amount",
        "customers.plan",
        "orders.created_at",
    ] {
        assert!(
            !stderr.contains(&format!("{column} ")),
            "{column}: {stderr}"
        );
    }
    // The draft is a dataset ombud reads, with the proposals in it.
    assert!(stdout.contains("key = \"app\""), "{stdout}");
    assert!(
        stdout.contains("categories = [\"user.contact.email\"]"),
        "{stdout}"
    );
    let draft = dir.path().join("draft.toml");
    std::fs::write(&draft, stdout.as_bytes()).expect("writes");
    // No sampled value is printed anywhere.
    for value in [
        "person0@example.fi",
        "Virtanen",
        "Anna",
        &hetu(1),
        &iban(1),
        &card(1),
        "198.51.100.1",
        "+358",
    ] {
        assert!(
            !stdout.contains(value) && !stderr.contains(value),
            "{value} was printed"
        );
    }
}

const APP: &str = r#"key = "app"
name = "Customer database"
purposes = ["user-accounts", "invoicing"]
tenant = "operator"

[connection]
kind = "sqlite"
url_file = "app.url"

[[collections]]
name = "customers"

[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true

[[collections.fields]]
name = "email"
categories = ["user.contact.email"]
identity = "email"

[[collections.fields]]
name = "mobile"
categories = ["system.operations"]

[[collections.fields]]
name = "first_name"
categories = ["user.name"]
"#;

#[test]
fn against_a_dataset_the_scan_names_what_it_does_not_declare_and_fails() {
    let dir = setup();
    std::fs::create_dir_all(dir.path().join("datasets")).expect("dir");
    std::fs::write(dir.path().join("datasets/app.toml"), APP).expect("dataset");
    std::fs::write(
        dir.path().join("privacy.toml"),
        format!("{POLICY}\n[[dataset]]\nfile = \"datasets/app.toml\"\n"),
    )
    .expect("policy");
    let output = ombud(dir.path())
        .args(["datasets", "scan", "--connection", "app", "--sample", "50"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let line = |column: &str| {
        stderr
            .lines()
            .find(|l| l.starts_with(&format!("customers.{column} ")))
            .unwrap_or_else(|| panic!("no line for {column}: {stderr}"))
            .to_owned()
    };
    assert!(line("email").ends_with("  declared"), "{stderr}");
    assert!(
        line("first_name").ends_with("  declared"),
        "a broader category covers it: {stderr}"
    );
    assert!(
        line("mobile").ends_with("DECLARED AS system.operations"),
        "{stderr}"
    );
    assert!(line("hetu").ends_with("NOT DECLARED"), "{stderr}");
    assert!(
        line("email").contains("email 50 of 50"),
        "the sample is bounded: {stderr}"
    );
    assert!(
        stderr.contains("7 columns hold personal data the dataset `app` does not declare"),
        "{stderr}"
    );
}

#[test]
fn bad_scan_flags_are_refused_with_the_flag_and_the_fix() {
    let dir = setup();
    for (args, says) in [
        (
            vec!["--kind", "sqlite", "--url-file", "app.url", "--sample", "0"],
            "--sample 0: give the rows to sample per table, 1 to 100000",
        ),
        (
            vec!["--kind", "oracle", "--url-file", "app.url"],
            "--kind oracle: give postgres, mysql or sqlite",
        ),
        (
            vec!["--kind", "sqlite"],
            "give --url-env VARIABLE (or --url-file FILE)",
        ),
        (vec![], "give --connection DATASET"),
        (
            vec!["--kind", "sqlite", "--url-file", "missing.url"],
            "cannot read its URL file missing.url",
        ),
    ] {
        ombud(dir.path())
            .args(["datasets", "scan"])
            .args(&args)
            .assert()
            .failure()
            .stderr(predicate::str::contains(says));
    }
    std::fs::write(
        dir.path().join("privacy.toml"),
        format!("{POLICY}\n[[dataset]]\nfile = \"datasets/app.toml\"\n"),
    )
    .expect("policy");
    std::fs::create_dir_all(dir.path().join("datasets")).expect("dir");
    std::fs::write(dir.path().join("datasets/app.toml"), APP).expect("dataset");
    ombud(dir.path())
        .args(["datasets", "scan", "--connection", "crm"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "--connection crm: privacy.toml names no such dataset; it names app",
        ));
}
