//! Dataset files: ombud's TOML and Fides YAML read into the same thing, a Fides file written
//! out in ombud's format and read back unchanged, and every kind of mistake said with its
//! file, line and column.

use ombud_connect::check::check;
use ombud_connect::{Direction, Masking, TenantScope, fides, native};

const FIDES: &str = include_str!("fixtures/fides-sample/postgres_example_test_dataset.yml");

const APP: &str = r#"key = "app"
name = "Invoicing application database"
purposes = ["service-delivery"]
tenant = { column = "company_id", values = { "17" = "Acme Oy", "18" = "Beta Ab" } }

[connection]
kind = "postgres"
url_env = "APP_DATABASE_URL"

[[collections]]
name = "users"

[[collections.fields]]
name = "id"
categories = ["user.unique_id"]
primary_key = true

[[collections.fields]]
name = "email"
categories = ["user.contact.email"]
identity = "email"
masking = "hmac"

[[collections.fields]]
name = "password_hash"
categories = ["user.authorization.credentials"]

[[collections]]
name = "invoices"
erase = "delete"
expires_by = "issued_on"

[[collections.fields]]
name = "user_id"
categories = ["user.unique_id"]
references = [{ field = "users.id", direction = "from" }]

[[collections.fields]]
name = "issued_on"
categories = ["system.operations"]
"#;

#[test]
fn the_native_format_reads_every_part() {
    let (dataset, _) = native::parse("app.toml", APP).expect("reads");
    assert_eq!(dataset.key, "app");
    assert!(
        matches!(&dataset.tenant, TenantScope::Column { column, values } if column == "company_id" && values.len() == 2)
    );
    let invoices = dataset.collection("invoices").expect("invoices");
    assert!(invoices.delete_rows);
    assert_eq!(invoices.expires_by.as_deref(), Some("issued_on"));
    let reference = &invoices.field("user_id").expect("field").references[0];
    assert_eq!(
        (
            reference.dataset.as_str(),
            reference.collection.as_str(),
            reference.field.as_str()
        ),
        ("app", "users", "id")
    );
    assert_eq!(reference.direction, Direction::From);
    let users = dataset.collection("users").expect("users");
    assert_eq!(
        users.field("email").and_then(|f| f.masking.clone()),
        Some(Masking::Hmac)
    );
    assert!(check(&[(dataset, ombud_connect::Places::new("app.toml"))], None).is_empty());
}

#[test]
fn a_fides_file_written_in_the_native_format_reads_back_the_same() {
    let (dataset, _) = fides::parse("fides.yml", FIDES).expect("reads").remove(0);
    let text = native::to_toml(&dataset).expect("writes");
    let (again, _) = native::parse("converted.toml", &text).expect("reads back");
    assert_eq!(again, dataset, "{text}");
}

fn native_problem(text: &str) -> String {
    match native::parse("app.toml", text) {
        Ok(dataset) => check(&[dataset], None)
            .first()
            .map(ToString::to_string)
            .expect("a problem"),
        Err(problems) => problems[0].to_string(),
    }
}

#[test]
fn mistakes_in_the_native_format_name_the_place_and_the_fix() {
    let unknown_category = APP.replace("\"user.contact.email\"", "\"user.contact.emial\"");
    let said = native_problem(&unknown_category);
    assert!(
        said.starts_with("app.toml:20:15: `user.contact.emial` is not a data category"),
        "{said}"
    );
    assert!(
        said.contains("did you mean `user.contact.email`?"),
        "{said}"
    );

    let masking = APP.replace("masking = \"hmac\"", "masking = \"scramble\"");
    let said = native_problem(&masking);
    assert!(
        said.starts_with("app.toml:22:11: masking = \"scramble\" is not a masking strategy"),
        "{said}"
    );

    let reference = APP.replace("field = \"users.id\"", "field = \"users.uid\"");
    let said = native_problem(&reference);
    assert!(said.starts_with("app.toml:36:"), "{said}");
    assert!(
        said.contains("refers to app.users.uid, which no dataset declares"),
        "{said}"
    );

    let unknown_key = APP.replace("primary_key = true", "primary = true");
    let said = native_problem(&unknown_key);
    assert!(said.starts_with("app.toml:16:1:"), "{said}");
    assert!(said.contains("unknown field `primary`"), "{said}");

    let cycle = APP
        .replace(
            "name = \"users\"\n",
            "name = \"users\"\nerase_after = [\"invoices\"]\n",
        )
        .replace(
            "erase = \"delete\"\n",
            "erase = \"delete\"\nerase_after = [\"users\"]\n",
        );
    let said = native_problem(&cycle);
    assert!(
        said.contains("erase_after goes round: app.users → app.invoices → app.users"),
        "{said}"
    );

    let expires = APP.replace("expires_by = \"issued_on\"", "expires_by = \"issued\"");
    let said = native_problem(&expires);
    assert!(
        said.starts_with("app.toml:31:14: expires_by names `issued`"),
        "{said}"
    );
}

#[test]
fn mistakes_in_a_fides_file_name_the_place_and_the_fix() {
    let malformed = FIDES.replacen("    collections:\n", "    collections:\n  bad: [\n", 1);
    let said = fides::parse("fides.yml", &malformed).expect_err("refused")[0].to_string();
    assert!(said.starts_with("fides.yml:6:"), "{said}");
    assert!(said.contains("not a Fides dataset file"), "{said}");

    let category = FIDES.replacen(
        "[user.contact.address.city]",
        "[user.contact.adress.city]",
        1,
    );
    let datasets = fides::parse("fides.yml", &category).expect("reads");
    let said = check(&datasets, None)[0].to_string();
    assert!(
        said.starts_with("fides.yml:9:31: `user.contact.adress.city` is not a data category"),
        "{said}"
    );

    let strategy = FIDES.replacen(
        "          - name: name\n            data_categories: [user.name]\n            fides_meta:\n              data_type: string\n              length: 40\n",
        "          - name: name\n            data_categories: [user.name]\n            fides_meta:\n              masking_strategy_override:\n                strategy: shuffle\n",
        1,
    );
    assert_ne!(strategy, FIDES);
    let said = fides::parse("fides.yml", &strategy).expect_err("refused")[0].to_string();
    assert!(said.starts_with("fides.yml:43:13:"), "{said}");
    assert!(
        said.contains("masking strategy `shuffle` is not one ombud carries out"),
        "{said}"
    );

    let reference = FIDES.replacen("field: address.id", "field: adress.id", 1);
    let datasets = fides::parse("fides.yml", &reference).expect("reads");
    let said = check(&datasets, None)[0].to_string();
    assert!(said.starts_with("fides.yml:29:19:"), "{said}");
    assert!(
        said.contains("adress.id, which no dataset declares"),
        "{said}"
    );
}
