//! The notice and the Article 30 record of the three examples, as snapshots, and structural
//! checks that hold whatever the wording.

use ombud_policy::{Policy, check, render};
use std::path::Path;

const EXAMPLES: [&str; 3] = ["invoicing-saas", "public-cloud", "managed-erp-hosting"];

fn example(name: &str) -> Policy {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../examples/{name}.toml"));
    let source = std::fs::read_to_string(path).expect("example exists");
    check(&source).policy.expect("examples check clean")
}

#[test]
fn rendered_notices_and_records_match_their_snapshots() {
    for name in EXAMPLES {
        let policy = example(name);
        insta::assert_snapshot!(format!("{name}.md"), render::markdown(&policy));
        insta::assert_snapshot!(format!("{name}.html"), render::html(&policy));
        insta::assert_snapshot!(format!("{name}.ropa.csv"), render::ropa_csv(&policy));
        insta::assert_snapshot!(format!("{name}.ropa.json"), render::ropa_json(&policy));
    }
}

#[test]
fn the_html_notice_is_one_self_contained_accessible_page() {
    for name in EXAMPLES {
        let html = render::html(&example(name));
        assert!(
            html.starts_with("<!DOCTYPE html><html lang=\"en\">"),
            "{name}"
        );
        assert!(!html.contains("<script"), "{name}: no scripts");
        assert!(
            !html.contains("<link") && !html.contains("src="),
            "{name}: no external resources"
        );
        assert!(
            html.contains("<main id=\"main\">") && html.contains("href=\"#main\""),
            "{name}: skip link"
        );
        assert_eq!(html.matches("<h1>").count(), 1, "{name}: one title");
        assert_eq!(
            html.matches("<table>").count(),
            html.matches("<caption>").count(),
            "{name}: every table has a caption"
        );
        assert!(
            html.contains("<th scope=\"col\">"),
            "{name}: header cells are scoped"
        );
    }
}

#[test]
fn the_record_has_one_entry_per_activity_and_processor_activities_fall_under_article_30_2() {
    for name in EXAMPLES {
        let policy = example(name);
        let ropa = render::ropa(&policy);
        assert_eq!(ropa.records.len(), policy.activities.len());
        for (record, activity) in ropa.records.iter().zip(&policy.activities) {
            let processor = activity.role == ombud_policy::model::Role::Processor;
            assert_eq!(record.article, if processor { "30(2)" } else { "30(1)" });
            // For 30(1) the operator is the controller; for 30(2) it is the processor.
            assert_eq!(record.parties.processor.is_some(), processor);
            assert_eq!(
                record
                    .parties
                    .controller
                    .starts_with(&policy.controller.name),
                !processor,
                "{name}: {}",
                activity.id
            );
            assert_eq!(record.legal_basis.is_none(), activity.basis.is_none());
            assert!(
                !record.erasure_time_limits.is_empty(),
                "{name}: {} has time limits",
                activity.id
            );
            assert!(!record.data_subjects.is_empty() && !record.personal_data.is_empty());
        }
        let csv = render::ropa_csv(&policy);
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(reader.headers().expect("header row").len(), 20);
        assert_eq!(reader.records().count(), policy.activities.len());
    }
}

#[test]
fn every_transfer_outside_the_eea_appears_in_the_record_with_its_safeguard() {
    let policy = example("managed-erp-hosting");
    let ropa = render::ropa(&policy);
    let provide = ropa
        .records
        .iter()
        .find(|r| r.activity_id == "provide-services")
        .expect("activity");
    let countries: Vec<&str> = provide
        .third_country_transfers
        .iter()
        .map(|t| t.country.as_str())
        .collect();
    assert!(countries.iter().all(|c| *c == "US"));
    assert!(
        provide
            .third_country_transfers
            .iter()
            .all(|t| t.safeguard.is_some())
    );
    let names: Vec<&str> = provide
        .third_country_transfers
        .iter()
        .map(|t| t.recipient.as_str())
        .collect();
    assert!(
        names.contains(&"Vultr") && !names.contains(&"UpCloud") && !names.contains(&"OVHcloud")
    );
}

#[test]
fn the_processor_record_names_each_customer_as_controller() {
    let policy = example("public-cloud");
    let customers = [
        render::CustomerController {
            name: "Bryggeri Norra AB".into(),
            contact: "it@bryggeri.example".into(),
        },
        render::CustomerController {
            name: "Kvarnen Logistik AB".into(),
            contact: String::new(),
        },
    ];
    let ropa = render::ropa_for(&policy, Some(&customers));
    let hosted: Vec<&render::ropa::Record> = ropa
        .records
        .iter()
        .filter(|r| r.article == "30(2)")
        .collect();
    assert_eq!(hosted.len(), 2, "one 30(2) entry per customer");
    assert_eq!(hosted[0].parties.controller, "Bryggeri Norra AB");
    assert_eq!(hosted[0].parties.controller_contact, "it@bryggeri.example");
    assert!(
        hosted[0]
            .parties
            .processor
            .as_deref()
            .is_some_and(|p| p.starts_with("Fjärdmoln AB"))
    );
    assert!(!hosted[0].security_measures.is_empty());
    assert_eq!(hosted[0].recipients[0].id, "facility-providers");
    assert!(hosted[0].recipients[0].sub_processor);
    let csv = render::ropa_for_customers(&policy, &customers, true);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().expect("headers").clone();
    let column = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let kvarnen = rows
        .iter()
        .find(|r| &r[column("controller")] == "Kvarnen Logistik AB")
        .expect("a row for each customer");
    assert_eq!(&kvarnen[column("article")], "30(2)");
    assert!(kvarnen[column("processor")].starts_with("Fjärdmoln AB"));
    let own = rows
        .iter()
        .find(|r| &r[column("activity_id")] == "billing")
        .expect("billing");
    assert!(own[column("controller")].starts_with("Fjärdmoln AB"));
    assert_eq!(&own[column("processor")], "");
}
