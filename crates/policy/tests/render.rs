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
        assert_eq!(reader.headers().expect("header row").len(), 18);
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
