//! `diff` on edits of the examples: each material kind of change, the editorial ones, and the
//! draft change notice.

use ombud_policy::diff::{DiffReport, Kind, diff};
use ombud_policy::{Policy, check};
use std::path::Path;

fn source(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../examples/{name}.toml"));
    std::fs::read_to_string(path).expect("example exists")
}

fn parse(source: &str) -> Policy {
    let checked = check(source);
    checked
        .policy
        .unwrap_or_else(|| panic!("edited policy still checks: {:#?}", checked.findings))
}

/// Diffs an example against itself with `edit` applied.
fn diff_after(name: &str, edit: impl Fn(String) -> String) -> DiffReport {
    let old = source(name);
    let new = edit(old.clone());
    assert_ne!(old, new, "the edit changed nothing");
    diff(&parse(&old), &parse(&new))
}

fn codes(report: &DiffReport, kind: Kind) -> Vec<&str> {
    report
        .changes
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| c.code)
        .collect()
}

fn replace(from: &'static str, to: &'static str) -> impl Fn(String) -> String {
    move |text: String| {
        assert!(text.contains(from), "the example contains {from:?}");
        text.replacen(from, to, 1)
    }
}

#[test]
fn an_unchanged_policy_has_no_changes_and_no_notice() {
    let policy = parse(&source("invoicing-saas"));
    let report = diff(&policy, &policy);
    assert!(report.changes.is_empty());
    assert!(!report.material);
    assert!(report.change_notice.is_none());
    assert_eq!(report.to_text(), "no changes\n");
}

#[test]
fn a_new_purpose_is_material() {
    let report = diff_after("invoicing-saas", |text| {
        text + r#"
[[activity]]
id = "webinars"
purpose = "Inviting customers to webinars"
basis = "consent"
withdrawal = "Unsubscribe from any invitation."
role = "controller"
subjects = ["customer"]
categories = ["user.contact.email"]
sources = ["subject"]
retention = ["until-consent-withdrawn"]
"#
    });
    assert_eq!(codes(&report, Kind::Material), ["new-purpose"]);
    assert!(
        report
            .change_notice
            .as_deref()
            .is_some_and(|n| n.contains("Inviting customers to webinars"))
    );
}

#[test]
fn a_new_category_is_material_once_where_it_is_declared() {
    let report = diff_after("invoicing-saas", |text| {
        replace(
            "categories = [\"user.name\", \"user.contact.email\", \"user.contact.phone_number\", \"user.contact.address\"]\nsources = [\"subject\", \"customer\"]",
            "categories = [\"user.name\", \"user.contact.email\", \"user.contact.phone_number\", \"user.contact.address\", \"user.job_title\"]\nsources = [\"subject\", \"customer\"]",
        )(text)
            + "\n[[category]]\nkey = \"user.job_title\"\nname = \"Job title\"\n"
    });
    assert_eq!(codes(&report, Kind::Material), ["new-category"]);
}

#[test]
fn an_existing_category_used_for_another_purpose_is_material() {
    let report = diff_after(
        "invoicing-saas",
        replace(
            "categories = [\"user.name\", \"user.contact.email\"]\nsources = [\"subject\"]\nrecipients = [\"postmark\"]\nretention = [\"until-consent-withdrawn\"]",
            "categories = [\"user.name\", \"user.contact.email\", \"user.contact.phone_number\"]\nsources = [\"subject\"]\nrecipients = [\"postmark\"]\nretention = [\"until-consent-withdrawn\"]",
        ),
    );
    assert_eq!(codes(&report, Kind::Material), ["new-category"]);
}

#[test]
fn a_new_recipient_outside_the_eea_is_a_new_recipient_and_a_new_transfer() {
    let report = diff_after("managed-erp-hosting", |text| {
        replace(
            "recipients = [\"crisp\", \"google-workspace\"]\nretention = [\"communication-and-support\"]\ndata_use = \"essential.service.operations.support\"",
            "recipients = [\"crisp\", \"google-workspace\", \"zendesk\"]\nretention = [\"communication-and-support\"]\ndata_use = \"essential.service.operations.support\"",
        )(text)
            + "\n[[recipient]]\nid = \"zendesk\"\nname = \"Zendesk\"\nrole = \"processor\"\npurpose = \"Support ticketing\"\ncountry = \"US\"\nsafeguard = \"eu_us_dpf\"\n"
    });
    assert_eq!(
        codes(&report, Kind::Material),
        ["new-recipient", "new-third-country-transfer"]
    );
    let notice = report
        .change_notice
        .expect("a material change drafts a notice");
    assert!(notice.contains("Zendesk"));
    assert!(
        notice.contains("tell us within 30 days of this notice"),
        "{notice}"
    );
}

#[test]
fn moving_a_recipient_outside_the_eea_is_a_new_transfer() {
    let report = diff_after(
        "invoicing-saas",
        replace(
            "purpose = \"Financial administration\"\ncountry = \"FI\"",
            "purpose = \"Financial administration\"\ncountry = \"JP\"\nsafeguard = \"adequacy\"",
        ),
    );
    assert_eq!(
        codes(&report, Kind::Material),
        ["new-third-country-transfer"]
    );
    assert!(
        codes(&report, Kind::Editorial).contains(&"changed"),
        "the new safeguard is listed too"
    );
}

#[test]
fn a_longer_retention_is_material_and_a_shorter_one_editorial() {
    let longer = diff_after(
        "invoicing-saas",
        replace("keep = \"180 days\"", "keep = \"1 year\""),
    );
    assert_eq!(codes(&longer, Kind::Material), ["longer-retention"]);
    let shorter = diff_after(
        "invoicing-saas",
        replace("keep = \"180 days\"", "keep = \"90 days\""),
    );
    assert!(!shorter.material);
    assert_eq!(codes(&shorter, Kind::Editorial), ["shorter-retention"]);
    let same_length = diff_after(
        "invoicing-saas",
        replace("keep = \"2 years\"", "keep = \"24 months\""),
    );
    assert!(!same_length.material, "{:#?}", same_length.changes);
}

#[test]
fn a_changed_legal_basis_is_material() {
    let report = diff_after(
        "invoicing-saas",
        replace(
            "basis = \"legitimate_interests\"\nlegitimate_interest = \"Business-to-business marketing of our services to the contact persons of companies.\"",
            "basis = \"consent\"\nwithdrawal = \"Unsubscribe link.\"",
        ),
    );
    assert_eq!(codes(&report, Kind::Material), ["changed-legal-basis"]);
}

#[test]
fn a_removed_right_is_material() {
    let report = diff_after(
        "invoicing-saas",
        replace(
            "clock_starts = \"receipt\"",
            "clock_starts = \"receipt\"\noffered = [\"access\", \"rectification\", \"erasure\", \"restriction\", \"objection\", \"withdraw_consent\", \"automated_decisions\", \"complaint\"]",
        ),
    );
    assert_eq!(codes(&report, Kind::Material), ["removed-right"]);
    assert!(report.changes[0].summary.contains("portability"));
}

#[test]
fn wording_contact_and_removals_are_editorial() {
    let report = diff_after("invoicing-saas", |text| {
        let text = replace(
            "purpose = \"Customer support and communication\"",
            "purpose = \"Customer support and customer communication\"",
        )(text);
        let text = replace(
            "phone = \"+358 9 4242 4242\"",
            "phone = \"+358 9 4242 0000\"",
        )(text);
        replace(
            "recipients = [\"signicat\", \"dun-bradstreet\"]",
            "recipients = [\"signicat\"]",
        )(text)
    });
    assert!(!report.material, "{:#?}", report.changes);
    assert!(report.change_notice.is_none());
    let paths: Vec<&str> = report.changes.iter().map(|c| c.path.as_str()).collect();
    assert!(paths.contains(&"activity[support].purpose"));
    assert!(paths.contains(&"controller.phone"));
    assert!(paths.contains(&"activity[identity-verification].recipients"));
}

#[test]
fn the_text_report_lists_material_changes_first_and_then_the_draft() {
    let report = diff_after("invoicing-saas", |text| {
        let text = replace("keep = \"2 years\"", "keep = \"3 years\"")(text);
        replace(
            "phone = \"+358 9 4242 4242\"",
            "phone = \"+358 9 4242 0000\"",
        )(text)
    });
    insta::assert_snapshot!(report.to_text());
}

#[test]
fn keeping_the_audit_log_longer_or_for_good_is_material_and_shorter_is_editorial() {
    let longer = diff_after(
        "invoicing-saas",
        replace("[audit]\nkeep = \"2 years\"", "[audit]\nkeep = \"3 years\""),
    );
    assert_eq!(codes(&longer, Kind::Material), ["longer-retention"]);
    let forever = diff_after(
        "invoicing-saas",
        replace("[audit]\nkeep = \"2 years\"\n", ""),
    );
    assert_eq!(codes(&forever, Kind::Material), ["longer-retention"]);
    let shorter = diff_after(
        "invoicing-saas",
        replace(
            "[audit]\nkeep = \"2 years\"",
            "[audit]\nkeep = \"18 months\"",
        ),
    );
    assert!(codes(&shorter, Kind::Material).is_empty());
    assert_eq!(codes(&shorter, Kind::Editorial), ["changed"]);
}
