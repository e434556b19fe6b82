//! Properties: `check` never panics and always points inside the file, whatever it is given;
//! every valid policy renders in every format, and policy text never becomes markup.

use ombud_policy::{check, render};
use proptest::prelude::*;
use toml::{Table, Value};

const MINIMAL: &str = include_str!("fixtures/valid-minimal.toml");

fn assert_findings_point_into(source: &str) {
    let checked = check(source);
    let lines = source.lines().count() + 1;
    for finding in &checked.findings {
        assert!(finding.line >= 1 && finding.line <= lines, "{finding:?}");
        assert!(finding.column >= 1, "{finding:?}");
        assert!(!finding.message.is_empty());
    }
    assert_eq!(checked.policy.is_some(), checked.errors().next().is_none());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn check_never_panics_on_arbitrary_text(source in "\\PC{0,400}") {
        assert_findings_point_into(&source);
    }

    #[test]
    fn check_never_panics_on_a_mutated_policy(
        cut in 0usize..MINIMAL.len(),
        length in 0usize..40,
        insert in "\\PC{0,12}",
    ) {
        let mut source = MINIMAL.to_owned();
        let start = (0..=cut).rev().find(|i| source.is_char_boundary(*i)).unwrap_or(0);
        let end = (start + length).min(source.len());
        let end = (end..=source.len()).find(|i| source.is_char_boundary(*i)).unwrap_or(source.len());
        source.replace_range(start..end, &insert);
        assert_findings_point_into(&source);
    }
}

/// Text a valid policy may hold: anything printable but blank, which the policy refuses
/// where a statement is required (an interest, a law).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{1,40}",
        "\\PC{1,20}",
        Just("<script>alert(1)</script>".to_owned()),
        Just("*bold* [link](javascript:alert(1)) | pipe".to_owned()),
    ]
    .prop_filter("a statement says something", |t| !t.trim().is_empty())
}

const CATEGORIES: [&str; 6] = [
    "user.name",
    "user.contact.email",
    "user.contact.address",
    "user.device.ip_address",
    "user.financial",
    "user.behavior.browsing_history",
];
const BASES: [&str; 6] = [
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
];
const ANCHORS: [&str; 6] = [
    "collected",
    "contract_end",
    "account_closed",
    "last_interaction",
    "consent_withdrawn",
    "unsubscribe",
];
const COUNTRIES: [(&str, Option<&str>); 4] = [
    ("FI", None),
    ("US", Some("scc_2021_914")),
    ("JP", Some("adequacy")),
    ("CH", Some("adequacy")),
];
const ROLES: [&str; 3] = ["processor", "controller", "authority"];

#[derive(Debug, Clone)]
struct GeneratedActivity {
    purpose: String,
    basis: usize,
    processor: bool,
    categories: Vec<usize>,
    recipients: Vec<usize>,
}

#[derive(Debug, Clone)]
struct GeneratedRecipient {
    name: String,
    purpose: String,
    role: usize,
    country: usize,
}

fn activity(n_recipients: usize) -> impl Strategy<Value = GeneratedActivity> {
    (
        text(),
        0..BASES.len(),
        any::<bool>(),
        proptest::sample::subsequence(
            (0..CATEGORIES.len()).collect::<Vec<_>>(),
            1..=CATEGORIES.len(),
        ),
        proptest::sample::subsequence((0..n_recipients).collect::<Vec<_>>(), 0..=n_recipients),
    )
        .prop_map(
            |(purpose, basis, processor, categories, recipients)| GeneratedActivity {
                purpose,
                basis,
                processor,
                categories,
                recipients,
            },
        )
}

fn recipient() -> impl Strategy<Value = GeneratedRecipient> {
    (text(), text(), 0..ROLES.len(), 0..COUNTRIES.len()).prop_map(
        |(name, purpose, role, country)| GeneratedRecipient {
            name,
            purpose,
            role,
            country,
        },
    )
}

fn generated_policy() -> impl Strategy<Value = (String, Vec<GeneratedActivity>)> {
    (0usize..4)
        .prop_flat_map(|n| {
            (
                proptest::collection::vec(recipient(), n),
                proptest::collection::vec(activity(n), 1..8),
                text(),
                text(),
                0..ANCHORS.len(),
                0u32..4000,
            )
        })
        .prop_map(
            |(recipients, activities, controller_name, interest, anchor, days)| {
                let mut root: Table = toml::from_str(MINIMAL).expect("the minimal policy parses");
                let controller = root
                    .get_mut("controller")
                    .and_then(Value::as_table_mut)
                    .expect("controller");
                controller.insert("name".into(), Value::String(controller_name));
                root.insert(
                    "category".into(),
                    Value::Array(
                        CATEGORIES
                            .iter()
                            .map(|key| {
                                Value::Table(Table::from_iter([(
                                    "key".to_owned(),
                                    Value::String((*key).into()),
                                )]))
                            })
                            .collect(),
                    ),
                );
                root.insert(
                    "recipient".into(),
                    Value::Array(
                        recipients
                            .iter()
                            .enumerate()
                            .map(|(i, r)| {
                                let (country, safeguard) = COUNTRIES[r.country];
                                let mut t = Table::new();
                                t.insert("id".into(), Value::String(format!("p{i}")));
                                t.insert("name".into(), Value::String(r.name.clone()));
                                t.insert("role".into(), Value::String(ROLES[r.role].into()));
                                t.insert("purpose".into(), Value::String(r.purpose.clone()));
                                t.insert("country".into(), Value::String(country.into()));
                                if let Some(safeguard) = safeguard {
                                    t.insert("safeguard".into(), Value::String(safeguard.into()));
                                }
                                Value::Table(t)
                            })
                            .collect(),
                    ),
                );
                let mut rule = Table::new();
                rule.insert("id".into(), Value::String("after-contract".into()));
                rule.insert("keep".into(), Value::String(format!("{days} days")));
                rule.insert("after".into(), Value::String(ANCHORS[anchor].into()));
                // Legal-obligation activities keep data only under a rule that names the law.
                rule.insert("law".into(), Value::String("Accounting Act".into()));
                root.insert("retention".into(), Value::Array(vec![Value::Table(rule)]));
                // Processor activities need the window customers have to object (Art. 28(2)).
                root.insert(
                    "changes".into(),
                    Value::Table(Table::from_iter([(
                        "objection_window".to_owned(),
                        Value::String("30 days".into()),
                    )])),
                );
                root.insert(
                    "activity".into(),
                    Value::Array(
                        activities
                            .iter()
                            .enumerate()
                            .map(|(i, a)| {
                                let mut t = Table::new();
                                let list = |items: Vec<String>| {
                                    Value::Array(items.into_iter().map(Value::String).collect())
                                };
                                t.insert("id".into(), Value::String(format!("a{i}")));
                                t.insert("purpose".into(), Value::String(a.purpose.clone()));
                                t.insert(
                                    "role".into(),
                                    Value::String(
                                        if a.processor {
                                            "processor"
                                        } else {
                                            "controller"
                                        }
                                        .into(),
                                    ),
                                );
                                if !a.processor {
                                    t.insert("basis".into(), Value::String(BASES[a.basis].into()));
                                    t.insert(
                                        "legitimate_interest".into(),
                                        Value::String(interest.clone()),
                                    );
                                    t.insert("withdrawal".into(), Value::String(interest.clone()));
                                    t.insert("law".into(), Value::String(interest.clone()));
                                }
                                t.insert("subjects".into(), list(vec!["customer".into()]));
                                t.insert(
                                    "categories".into(),
                                    list(
                                        a.categories
                                            .iter()
                                            .map(|c| CATEGORIES[*c].to_owned())
                                            .collect(),
                                    ),
                                );
                                t.insert("sources".into(), list(vec!["subject".into()]));
                                t.insert(
                                    "recipients".into(),
                                    list(a.recipients.iter().map(|r| format!("p{r}")).collect()),
                                );
                                t.insert("retention".into(), list(vec!["after-contract".into()]));
                                Value::Table(t)
                            })
                            .collect(),
                    ),
                );
                (
                    toml::to_string(&root).expect("a table serialises"),
                    activities,
                )
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_valid_policy_renders_in_every_format_without_leaking_markup((source, activities) in generated_policy()) {
        let checked = check(&source);
        let errors: Vec<_> = checked.errors().collect();
        prop_assert!(errors.is_empty(), "{errors:#?}\n{source}");
        let policy = checked.policy.expect("no errors, so a policy");

        let html = render::html(&policy);
        prop_assert!(!html.contains("<script>alert"), "raw script in HTML");
        prop_assert!(!html.contains("href=\"javascript:"), "script URL in HTML");
        let markdown = render::markdown(&policy);
        prop_assert!(!markdown.contains("<script>"), "raw tag in Markdown");

        let ropa: serde_json::Value = serde_json::from_str(&render::ropa_json(&policy)).expect("ROPA JSON parses");
        prop_assert_eq!(ropa["records"].as_array().map(Vec::len), Some(activities.len()));
        let csv = render::ropa_csv(&policy);
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        prop_assert_eq!(reader.records().filter_map(Result::ok).count(), activities.len());

        let document = render::notice(&policy).plain_text();
        for activity in activities.iter().filter(|a| !a.processor) {
            prop_assert!(document.contains(activity.purpose.trim_end()), "purpose {:?} missing", activity.purpose);
        }
    }
}
