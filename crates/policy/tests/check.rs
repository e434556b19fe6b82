//! `check` against one fixture per finding: each fixture names the finding it exists for on its
//! first line, and its whole report is a snapshot.

use ombud_policy::finding::render_text;
use ombud_policy::{Code, Severity, check};
use std::path::Path;

fn expected_code(source: &str) -> &str {
    source
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("# expect: "))
        .expect("a fixture starts with `# expect: <code>`")
}

fn fixtures() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures directory")
        .map(|entry| entry.expect("fixture entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn each_fixture_reports_its_finding_with_position_path_and_hint() {
    insta::glob!("fixtures/check/*.toml", |path| {
        let source = std::fs::read_to_string(path).expect("readable fixture");
        let checked = check(&source);
        let code = expected_code(&source);
        let finding = checked
            .findings
            .iter()
            .find(|f| f.code.as_str() == code)
            .unwrap_or_else(|| {
                panic!(
                    "{} reports no {code}: {:#?}",
                    path.display(),
                    checked.findings
                )
            });
        assert!(
            finding.line > 1,
            "the finding points into the file, past the expect line"
        );
        assert!(finding.hint.is_some(), "every finding says how to fix it");
        assert_eq!(checked.policy.is_some(), checked.errors().next().is_none());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        insta::assert_snapshot!(render_text(&checked.findings, &source, name));
    });
}

#[test]
fn every_finding_code_has_a_fixture() {
    let covered: Vec<String> = fixtures()
        .iter()
        .map(|path| expected_code(&std::fs::read_to_string(path).expect("readable")).to_owned())
        .collect();
    for code in Code::ALL {
        assert!(
            covered.iter().any(|c| c == code.as_str()),
            "no fixture for {}",
            code.as_str()
        );
    }
}

#[test]
fn the_minimal_policy_is_clean() {
    let source = include_str!("fixtures/valid-minimal.toml");
    let checked = check(source);
    assert!(checked.findings.is_empty(), "{:#?}", checked.findings);
    let policy = checked.policy.expect("a clean policy is built");
    assert_eq!(policy.activities.len(), 1);
    assert_eq!(policy.rights.response_time.to_string(), "1 month");
    assert_eq!(policy.breach.notify_within.to_string(), "72 hours");
}

#[test]
fn every_example_passes_with_warnings_denied() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for name in [
        "invoicing-saas.toml",
        "public-cloud.toml",
        "managed-erp-hosting.toml",
    ] {
        let source = std::fs::read_to_string(dir.join(name)).expect("example exists");
        let checked = check(&source);
        assert!(
            checked.findings.is_empty(),
            "{name}: {:#?}",
            checked.findings
        );
    }
}

#[test]
fn findings_serialise_with_code_severity_path_position_message_and_hint() {
    let source = include_str!("fixtures/check/unknown-category.toml");
    let checked = check(source);
    insta::assert_json_snapshot!(checked.findings, @r#"
    [
      {
        "code": "unknown-category",
        "severity": "error",
        "path": "activity[invoicing].categories[0]",
        "line": 28,
        "column": 15,
        "message": "`user.contact.emial` is not a data category",
        "hint": "did you mean `user.contact.email`?"
      }
    ]
    "#);
}

#[test]
fn all_errors_are_reported_not_only_the_first() {
    let source = include_str!("fixtures/valid-minimal.toml")
        .replace(
            "time_zone = \"Europe/Helsinki\"",
            "time_zone = \"Mars/Olympus\"",
        )
        .replace("keep = \"180 days\"", "keep = \"180 dayz\"")
        .replace(
            "recipients = [\"stripe\"]",
            "recipients = [\"stripe\", \"postmark\"]",
        );
    let checked = check(&source);
    let codes: Vec<&str> = checked.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "invalid-time-zone",
            "undeclared-recipient",
            "invalid-duration"
        ]
    );
    assert!(
        checked
            .findings
            .iter()
            .all(|f| f.severity == Severity::Error)
    );
    assert!(checked.policy.is_none());
}

#[test]
fn warnings_are_not_checked_until_errors_are_fixed_and_never_block_the_policy() {
    let source = include_str!("fixtures/check/unused-category.toml");
    let checked = check(source);
    assert!(checked.errors().next().is_none());
    assert_eq!(checked.warnings().count(), 1);
    assert!(checked.policy.is_some());
}

#[test]
fn the_audit_log_keeps_its_own_retention_and_refuses_one_too_short_to_prove_anything() {
    let minimal = include_str!("fixtures/valid-minimal.toml");
    let policy = check(&format!("{minimal}\n[audit]\nkeep = \"2 years\"\n"))
        .policy
        .expect("valid");
    assert_eq!(
        policy.audit.map(|a| a.keep.to_string()).as_deref(),
        Some("2 years")
    );
    assert!(
        check(minimal).policy.expect("valid").audit.is_none(),
        "without [audit] the log is kept for good"
    );
    for (keep, says) in [
        ("30 days", "at least `6 months`"),
        ("0 days", "at least `6 months`"),
        ("forever", "not a duration"),
    ] {
        let checked = check(&format!("{minimal}\n[audit]\nkeep = \"{keep}\"\n"));
        assert!(checked.policy.is_none(), "{keep}");
        let finding = checked
            .findings
            .iter()
            .find(|f| f.path == "audit.keep")
            .unwrap_or_else(|| panic!("{keep}: {:#?}", checked.findings));
        let text = format!(
            "{} {}",
            finding.message,
            finding.hint.clone().unwrap_or_default()
        );
        assert!(text.contains(says), "{keep}: {text}");
    }
    let checked = check(&format!(
        "{minimal}\n[audit]\nkeep = \"2 years\"\nkeep_for = \"x\"\n"
    ));
    assert!(checked.policy.is_none(), "unknown keys are refused");
}

/// The edges of the legal limits: a month can be 28 days and two months 59, breach notice is
/// due within 72 hours; calendar units are compared as months.
#[test]
fn deadlines_past_the_legal_limit_are_errors_at_their_edges() {
    let base = include_str!("fixtures/valid-minimal.toml");
    let cases = [
        ("rights", "response_time", "1 month", false),
        ("rights", "response_time", "28 days", false),
        ("rights", "response_time", "4 weeks", false),
        ("rights", "response_time", "29 days", true),
        ("rights", "response_time", "5 weeks", true),
        ("rights", "response_time", "2 months", true),
        ("rights", "response_time", "1 year", true),
        ("rights", "extension", "2 months", false),
        ("rights", "extension", "59 days", false),
        ("rights", "extension", "8 weeks", false),
        ("rights", "extension", "60 days", true),
        ("rights", "extension", "3 months", true),
        ("breach", "notify_within", "72 hours", false),
        ("breach", "notify_within", "3 days", false),
        ("breach", "notify_within", "73 hours", true),
        ("breach", "notify_within", "1 week", true),
        ("breach", "notify_within", "1 month", true),
    ];
    for (table, key, value, refused) in cases {
        let source = format!("{base}\n[{table}]\n{key} = \"{value}\"\n");
        let checked = check(&source);
        let found: Vec<_> = checked
            .findings
            .iter()
            .filter(|f| f.code == Code::BeyondLegalLimit)
            .collect();
        assert_eq!(
            !found.is_empty(),
            refused,
            "{table}.{key} = {value}: {:#?}",
            checked.findings
        );
        if refused {
            assert_eq!(found[0].path, format!("{table}.{key}"));
            assert!(checked.policy.is_none(), "an error leaves no policy");
        }
    }
}

/// Art. 28(2): a processor's customers may object to a new sub-processor, so a policy with a
/// processor activity must say for how long; a controller-only policy need not.
#[test]
fn a_processor_activity_needs_an_objection_window() {
    let base = include_str!("fixtures/valid-minimal.toml");
    let processor = base.replacen(
        "role = \"controller\"\n",
        "role = \"processor\"\non_behalf_of = \"each customer\"\n",
        1,
    );
    assert_ne!(processor, base, "the fixture has an activity");
    let missing = check(&processor);
    let finding = missing
        .findings
        .iter()
        .find(|f| f.path == "changes.objection_window")
        .unwrap_or_else(|| panic!("{:#?}", missing.findings));
    assert_eq!(finding.code, Code::MissingKey);
    assert!(
        finding.message.contains("Art. 28(2)"),
        "{}",
        finding.message
    );
    assert!(missing.policy.is_none());

    let with_window = format!("{processor}\n[changes]\nobjection_window = \"30 days\"\n");
    let checked = check(&with_window);
    assert!(checked.errors().next().is_none(), "{:#?}", checked.findings);
    assert!(
        check(base).errors().next().is_none(),
        "a controller needs no window"
    );
}

/// An opt-out notice kind names the activity it is sent for, so that opting out of or objecting
/// to that activity stops it (Art. 21(2)); a mandatory kind need not.
#[test]
fn an_opt_out_notice_kind_names_an_activity_of_the_policy() {
    let base = include_str!("fixtures/valid-minimal.toml");
    let with = |kind: &str| format!("{base}\n[[notice_kind]]\n{kind}\n");
    let missing = check(&with("key = \"news\"\nname = \"News\"\nmandatory = false"));
    let finding = missing
        .findings
        .iter()
        .find(|f| f.path == "notice_kind[news].activity")
        .unwrap_or_else(|| panic!("{:#?}", missing.findings));
    assert_eq!(finding.code, Code::MissingKey);
    let unknown = check(&with(
        "key = \"news\"\nname = \"News\"\nmandatory = false\nactivity = \"invoicng\"",
    ));
    let finding = unknown
        .findings
        .iter()
        .find(|f| f.path == "notice_kind[news].activity")
        .unwrap_or_else(|| panic!("{:#?}", unknown.findings));
    assert_eq!(finding.code, Code::InvalidValue);
    assert_eq!(finding.hint.as_deref(), Some("did you mean `invoicing`?"));
    let named = check(&with(
        "key = \"news\"\nname = \"News\"\nmandatory = false\nactivity = \"invoicing\"",
    ));
    assert!(named.errors().next().is_none(), "{:#?}", named.findings);
    let mandatory = check(&with(
        "key = \"security\"\nname = \"Security\"\nmandatory = true",
    ));
    assert!(
        mandatory.errors().next().is_none(),
        "{:#?}",
        mandatory.findings
    );
}

#[test]
fn a_recipients_contact_must_be_an_email_address() {
    let source = include_str!("fixtures/valid-minimal.toml").replacen(
        "id = \"stripe\"\n",
        "id = \"stripe\"\ncontact = \"privacy at stripe\"\n",
        1,
    );
    let checked = check(&source);
    let finding = checked
        .findings
        .iter()
        .find(|f| f.code == Code::InvalidEmail)
        .expect("the contact is refused");
    assert_eq!(finding.path, "recipient[stripe].contact");
    assert!(checked.policy.is_none());
    let good = include_str!("fixtures/valid-minimal.toml").replacen(
        "id = \"stripe\"\n",
        "id = \"stripe\"\ncontact = \"privacy@stripe.example\"\n",
        1,
    );
    let policy = check(&good).policy.expect("valid");
    assert_eq!(
        policy.recipients[0].contact.as_deref(),
        Some("privacy@stripe.example")
    );
}

#[test]
fn the_ledger_names_a_rule_counted_from_when_a_message_was_sent() {
    let minimal = include_str!("fixtures/valid-minimal.toml");
    let with = |ledger: &str| check(&format!("{minimal}\n[ledger]\nretention = \"{ledger}\"\n"));
    let unknown = with("message-recordz");
    let finding = unknown.findings.first().expect("a finding");
    assert_eq!(
        (finding.code, finding.path.as_str()),
        (Code::UndeclaredRetention, "ledger.retention")
    );
    // `after-contract` counts from the end of a contract, not from when a message went out.
    let wrong = with("after-contract");
    let finding = wrong.findings.first().expect("a finding");
    assert_eq!(
        (finding.code, finding.path.as_str()),
        (Code::InvalidValue, "ledger.retention")
    );
    assert!(wrong.policy.is_none());
    let right = with("no-purpose-left");
    let policy = right.policy.expect("valid");
    assert_eq!(
        policy.ledger_rule().map(|r| r.id.as_str()),
        Some("no-purpose-left")
    );
}

/// A file with several misspelt keys gets them all in one run, each at its own line.
#[test]
fn every_unknown_key_is_reported_in_one_run() {
    let source = include_str!("fixtures/valid-minimal.toml")
        .replace(
            "time_zone = \"Europe/Helsinki\"",
            "time_zone = \"Europe/Helsinki\"\nemial = \"x@esimerkki.example\"",
        )
        .replace(
            "basis = \"contract\"",
            "basiss = \"contract\"\nsourcse = [\n  \"subject\",\n  \"Åsa\",\n]\nbasis = \"contract\"",
        )
        .replace("keep = \"180 days\"", "keep = \"180 days\"\naftr = \"x\"");
    let checked = check(&source);
    assert!(checked.policy.is_none());
    let unknown: Vec<(&str, usize)> = checked
        .findings
        .iter()
        .filter(|f| f.code == Code::UnknownKey)
        .map(|f| (f.path.as_str(), f.line))
        .collect();
    let line_of = |text: &str| {
        source
            .lines()
            .position(|l| l.starts_with(text))
            .expect("in the file")
            + 1
    };
    assert_eq!(
        unknown,
        [
            ("controller.emial", line_of("emial")),
            ("activity[0].basiss", line_of("basiss")),
            ("activity[0].sourcse", line_of("sourcse")),
            ("retention[0].aftr", line_of("aftr")),
        ],
        "{:#?}",
        checked.findings
    );
    assert_eq!(
        checked.findings.len(),
        4,
        "the rest is checked once the keys are right (a misspelt `basiss` is not also an activity without a basis)"
    );
}
