//! The promise check on the invoicing example, with a fixed clock: a fresh store keeps every
//! promise; each promise broken on purpose — a security log past its two years, a request past
//! its month, a breach past its 72 hours, a category the notice does not name, audit entries
//! past the log's two years, a phone column no dataset declares — is reported alone, with the notice's sentence and the place,
//! and never a value; a sweep on time mends retention.

mod common;

use jiff::{Timestamp, ToSpan};
use ombud_app::promises::{self, Datasets, Outbound, PromiseReport};
use ombud_app::rights::Filing;
use ombud_connect::{Connection, Connectors, Kind, native};
use ombud_core::requests::RequestKind;
use ombud_store::model::{NewRecord, Secret};
use ombud_store::{Actor, Store};

const T0: &str = "2026-03-02T10:00:00Z";

fn t0() -> Timestamp {
    T0.parse().expect("time")
}

fn check(fixture: &common::Fixture, now: Timestamp) -> PromiseReport {
    let desk = &fixture.desk;
    promises::check(
        desk.store.as_ref(),
        &desk.policy,
        &desk.time_zone,
        None,
        &[],
        now,
    )
    .expect("checks")
}

/// An access request by the person with `email`, filed at T0 and vouched for by the
/// operator's application.
fn access_request(fixture: &common::Fixture, email: &str) -> ombud_store::requests::DsRequest {
    let store = fixture.store.as_ref();
    fixture
        .desk
        .file(
            fixture.operator,
            Filing {
                kind: RequestKind::Access,
                email: Some(email.into()),
                subject: Some(common::person(store, fixture.operator, email)),
                purpose: None,
                category: None,
                record: None,
                new_value: None,
                channel: "api".into(),
                vouched: true,
            },
            &Actor::Cli,
            t0(),
        )
        .expect("filed")
}

fn broken(report: &PromiseReport) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = report.broken.iter().map(|b| b.promise).collect();
    names.sort_unstable();
    names
}

#[test]
fn each_promise_broken_on_purpose_is_reported_alone() {
    let dir = tempfile::tempdir().expect("dir");
    let fixture = common::fixture(dir.path(), vec![]);
    let store: &dyn Store = fixture.store.as_ref();
    let operator = fixture.operator;
    let report = check(&fixture, t0());
    assert_eq!(broken(&report), Vec::<&str>::new(), "{report:?}");
    assert_eq!(
        report.checked.len(),
        10,
        "no datasets: their two checks do not run"
    );

    // A security log collected three years ago: the example keeps them two.
    let person = common::person(store, operator, "ana@example.fi");
    store
        .put_records(
            operator,
            &[NewRecord {
                id: None,
                subject: person,
                category: "user.device.ip_address".into(),
                purposes: vec!["security".into()],
                source: "system".into(),
                collected_at: "2023-03-02T10:00:00Z".parse().expect("three years before"),
                value: Secret::new("192.0.2.7"),
            }],
            &Actor::Cli,
            t0(),
        )
        .expect("record");
    let report = check(&fixture, t0());
    assert_eq!(broken(&report), ["retention"], "{report:?}");
    let retention = &report.broken[0];
    assert_eq!(retention.count, 1);
    assert_eq!(retention.place.rule.as_deref(), Some("security-logs"));
    assert_eq!(
        retention.place.tenant.as_deref(),
        Some(operator.to_string().as_str())
    );
    assert!(
        retention
            .sentence
            .contains("2 years after it was collected"),
        "{}",
        retention.sentence
    );
    let json = serde_json::to_string(&report).expect("json");
    assert!(
        !json.contains("192.0.2.7") && !json.contains("ana@example.fi"),
        "{json}"
    );
    assert_eq!(
        report.counts().iter().find(|(p, _)| *p == "retention"),
        Some(&("retention", 1))
    );

    // A sweep on time mends it.
    let swept = ombud_app::sweeper::sweep_all(
        store,
        &fixture.desk.policy,
        &fixture.desk.time_zone,
        t0(),
        false,
        |_, _| {},
    )
    .expect("sweeps");
    assert_eq!(swept.iter().map(|(_, r)| r.records).sum::<u64>(), 1);
    assert_eq!(broken(&check(&fixture, t0())), Vec::<&str>::new());

    // A request filed today and still open forty days later is past its month.
    let filed = access_request(&fixture, "ben@example.fi");
    assert_eq!(
        broken(&check(&fixture, t0() + 20 * 24.hours())),
        Vec::<&str>::new(),
        "not yet due"
    );
    let later = t0() + 40 * 24.hours();
    let report = check(&fixture, later);
    assert_eq!(broken(&report), ["request_deadline"], "{report:?}");
    assert_eq!(report.broken[0].place.requests, [filed.id.to_string()]);
    assert!(
        report.broken[0].sentence.starts_with("We answer within"),
        "{}",
        report.broken[0].sentence
    );

    // A breach the operator learned of at that moment, unnotified 73 hours on.
    let incident = ombud_app::breach::open(
        &fixture.desk.policy,
        &fixture.desk.time_zone,
        ombud_app::breach::Opening {
            title: "Lost laptop".into(),
            description: "A support laptop was lost.".into(),
            aware_at: Some(later),
            occurred_at: None,
            categories: vec![],
            consequences: None,
        },
        later,
    )
    .expect("opens");
    let detail = ombud_app::breach::opened_detail(&incident);
    let incident = store
        .save_incident(operator, &incident, "open", detail, &Actor::Cli, later)
        .expect("saved");
    let report = check(&fixture, later + 71.hours());
    assert_eq!(
        broken(&report),
        ["request_deadline"],
        "the clock still runs"
    );
    let report = check(&fixture, later + 73.hours());
    assert_eq!(
        broken(&report),
        ["breach_notice", "request_deadline"],
        "{report:?}"
    );
    let notice = report
        .broken
        .iter()
        .find(|b| b.promise == "breach_notice")
        .expect("breach");
    assert_eq!(notice.place.incidents, [incident.id.to_string()]);
    assert!(notice.sentence.contains("72 hours"), "{}", notice.sentence);

    // Records under a category no activity of the notice names (one a new version of the
    // policy dropped, say).
    store
        .put_records(
            operator,
            &[NewRecord {
                id: None,
                subject: common::person(store, operator, "cara@example.fi"),
                category: "user.biometric".into(),
                purposes: vec![],
                source: "subject".into(),
                collected_at: later,
                value: Secret::new("fingerprint template"),
            }],
            &Actor::Cli,
            later,
        )
        .expect("record");
    let report = check(&fixture, later + 73.hours());
    assert_eq!(
        broken(&report),
        [
            "breach_notice",
            "category_not_in_notice",
            "request_deadline"
        ],
        "{report:?}"
    );
    let unnamed = report
        .broken
        .iter()
        .find(|b| b.promise == "category_not_in_notice")
        .expect("found");
    assert_eq!(
        unnamed.what,
        "1 record held as user.biometric, which no activity of the notice names"
    );
    assert_eq!(
        unnamed.sentence,
        "What data we collect and where it comes from"
    );

    // Two years and a day after the last write, the log holds entries older than it keeps them
    // (the fixture's first entries are written at the real time, after T0).
    let report = check(&fixture, Timestamp::now() + 732 * 24.hours());
    let keep = report
        .broken
        .iter()
        .find(|b| b.promise == "audit_log_keep")
        .unwrap_or_else(|| panic!("{report:?}"));
    assert!(keep.count > 0);
    assert!(
        keep.sentence.contains("Our own records"),
        "{}",
        keep.sentence
    );
}

const CRM: &str = r#"key = "crm"
name = "Sales contacts"
purposes = ["user-accounts"]
tenant = "operator"

[[collections]]
name = "leads"

[[collections.fields]]
name = "id"
categories = ["system.operations"]
primary_key = true

[[collections.fields]]
name = "email"
categories = ["user.contact.email"]
identity = "email"
"#;

#[test]
fn personal_data_a_dataset_does_not_declare_is_reported_by_column() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("crm.db");
    let conn = rusqlite::Connection::open(&db).expect("opens");
    conn.execute_batch(
        "CREATE TABLE leads (id INTEGER PRIMARY KEY, email TEXT, phone TEXT, notes TEXT);",
    )
    .expect("table");
    for n in 0..20 {
        conn.execute(
            "INSERT INTO leads VALUES (?1, ?2, ?3, 'met at a fair')",
            rusqlite::params![
                n,
                format!("lead{n}@example.fi"),
                format!("+358 50 {:07}", 2_000_000 + n)
            ],
        )
        .expect("row");
    }
    let url = dir.path().join("crm.url");
    std::fs::write(&url, format!("{}\n", db.display())).expect("url");
    let (mut dataset, _) = native::parse("crm.toml", CRM).expect("dataset");
    dataset.connection = Some(Connection {
        kind: Kind::Sqlite,
        url_env: None,
        url_file: Some(url.display().to_string()),
        schema: None,
    });
    let connectors = Connectors::new(vec![dataset]);
    let fixture = common::fixture(dir.path(), vec![]);
    let desk = &fixture.desk;
    let report = promises::check(
        desk.store.as_ref(),
        &desk.policy,
        &desk.time_zone,
        Some(Datasets {
            connectors: &connectors,
            sample: 1000,
        }),
        &[],
        t0(),
    )
    .expect("checks");
    assert_eq!(report.checked.len(), 12);
    assert_eq!(broken(&report), ["undeclared_personal_data"], "{report:?}");
    let finding = &report.broken[0];
    assert_eq!(
        (
            finding.place.dataset.as_deref(),
            finding.place.collection.as_deref(),
            finding.place.column.as_deref()
        ),
        (Some("crm"), Some("leads"), Some("phone"))
    );
    assert_eq!(
        finding.what,
        "1 column holding user.contact.phone_number, not declared"
    );
    let json = serde_json::to_string(&report).expect("json");
    assert!(!json.contains("+358") && !json.contains("lead1@"), "{json}");
}

#[test]
fn an_extension_the_person_was_not_told_of_by_the_first_deadline_is_broken() {
    let dir = tempfile::tempdir().expect("dir");
    let fixture = common::fixture(dir.path(), vec![]);
    let store: &dyn Store = fixture.store.as_ref();
    let operator = fixture.operator;
    let filed = access_request(&fixture, "dana@example.fi");
    fixture
        .desk
        .extend(
            operator,
            filed.id,
            None,
            "Many requests arrived at once",
            &Actor::Cli,
            t0() + 10 * 24.hours(),
        )
        .expect("extended");
    // The mail is queued; within the first month nothing is broken yet.
    assert_eq!(
        broken(&check(&fixture, t0() + 20 * 24.hours())),
        Vec::<&str>::new()
    );
    let report = check(&fixture, t0() + 40 * 24.hours());
    assert_eq!(broken(&report), ["extension_told"], "{report:?}");
    assert_eq!(report.broken[0].place.requests, [filed.id.to_string()]);
    assert!(
        report.broken[0]
            .sentence
            .contains("we tell you within the first month")
    );

    // Sent on the eleventh day: the promise was kept.
    let sent_at = t0() + 11 * 24.hours();
    for mail in store
        .lease_mails(sent_at, sent_at + 1.hours(), 10)
        .expect("leased")
        .into_iter()
        .filter(|m| m.template == ombud_app::mail::EXTENDED)
    {
        store
            .mail_sent(mail.tenant, mail.id, sent_at)
            .expect("sent");
    }
    assert_eq!(
        broken(&check(&fixture, t0() + 40 * 24.hours())),
        Vec::<&str>::new()
    );
}

#[test]
fn a_sub_processor_change_in_force_before_the_objection_window_ended_is_broken() {
    use ombud_store::subprocessors::{ChangeId, RecipientChange};
    let dir = tempfile::tempdir().expect("dir");
    let fixture = common::fixture(dir.path(), vec![]);
    let store: &dyn Store = fixture.store.as_ref();
    let change = |effective_at: Option<Timestamp>| RecipientChange {
        id: ChangeId::new(),
        from_version: "a".into(),
        to_version: "b".into(),
        changes: vec![],
        told: vec![],
        objection_until: Some(t0() + 30 * 24.hours()),
        effective_at,
        created_at: t0(),
    };
    // Starts when the window ends: kept.
    let on_time = change(Some(t0() + 30 * 24.hours()));
    store
        .save_recipient_change(fixture.operator, &on_time, &Actor::Cli, t0())
        .expect("saved");
    assert_eq!(
        broken(&check(&fixture, t0() + 24.hours())),
        Vec::<&str>::new()
    );
    // Starts ten days in, and one with no start at all (in force as sent): both too early.
    let (early, at_once) = (change(Some(t0() + 10 * 24.hours())), change(None));
    for c in [&early, &at_once] {
        store
            .save_recipient_change(fixture.operator, c, &Actor::Cli, t0())
            .expect("saved");
    }
    let report = check(&fixture, t0() + 24.hours());
    assert_eq!(broken(&report), ["subprocessor_window"], "{report:?}");
    let mut named = report.broken[0].place.changes.clone();
    named.sort();
    let mut expected = vec![early.id.to_string(), at_once.id.to_string()];
    expected.sort();
    assert_eq!(named, expected);
    assert_eq!(report.broken[0].count, 2);
}

#[test]
fn an_smtp_relay_no_recipient_declares_is_broken() {
    let dir = tempfile::tempdir().expect("dir");
    let fixture = common::fixture(dir.path(), vec![]);
    let desk = &fixture.desk;
    let run = |url: &str| {
        let outbound: Vec<Outbound> = Outbound::smtp(url).into_iter().collect();
        promises::check(
            desk.store.as_ref(),
            &desk.policy,
            &desk.time_zone,
            None,
            &outbound,
            t0(),
        )
        .expect("checks")
    };
    // The invoicing example's Postmark declares `*.postmarkapp.com`; a relay on this machine is
    // no recipient at all.
    for kept in [
        "smtps://token:secret@smtp.postmarkapp.com:465",
        "smtp://localhost:25",
        "smtp://127.0.0.1:2525",
    ] {
        assert_eq!(broken(&run(kept)), Vec::<&str>::new(), "{kept}");
    }
    let report = run("smtps://apikey:secret@smtp.sendgrid.net:465");
    assert_eq!(broken(&report), ["recipient_hosts"], "{report:?}");
    assert_eq!(
        report.broken[0].place.host.as_deref(),
        Some("smtp.sendgrid.net")
    );
    assert_eq!(report.broken[0].sentence, "Who receives your data");
    let json = serde_json::to_string(&report).expect("json");
    assert!(
        !json.contains("secret") && !json.contains("apikey"),
        "{json}"
    );
}

#[test]
fn overdue_breaches_of_tenants_whose_deadlines_interleave_are_counted_once_per_tenant() {
    let dir = tempfile::tempdir().expect("dir");
    let fixture = common::fixture(dir.path(), vec![]);
    let store: &dyn Store = fixture.store.as_ref();
    let customer = store
        .create_tenant("Asiakas Oy", false, &Actor::Cli, t0())
        .expect("tenant")
        .id;
    // Aware at hours 0, 1 and 2: the deadlines run operator, customer, operator.
    for (tenant, hour) in [(fixture.operator, 0), (customer, 1), (fixture.operator, 2)] {
        let aware = t0() + hour.hours();
        let incident = ombud_app::breach::open(
            &fixture.desk.policy,
            &fixture.desk.time_zone,
            ombud_app::breach::Opening {
                title: format!("Incident {hour}"),
                description: "A laptop was lost.".into(),
                aware_at: Some(aware),
                occurred_at: None,
                categories: vec![],
                consequences: None,
            },
            aware,
        )
        .expect("opens");
        let detail = ombud_app::breach::opened_detail(&incident);
        store
            .save_incident(tenant, &incident, "open", detail, &Actor::Cli, aware)
            .expect("saved");
    }
    let report = check(&fixture, t0() + 80.hours());
    let findings: Vec<(Option<&str>, u64)> = report
        .broken
        .iter()
        .filter(|b| b.promise == "breach_notice")
        .map(|b| (b.place.tenant.as_deref(), b.count))
        .collect();
    assert_eq!(findings.len(), 2, "one finding per tenant: {findings:?}");
    let operator = fixture.operator.to_string();
    let customer = customer.to_string();
    assert!(
        findings.contains(&(Some(operator.as_str()), 2)),
        "{findings:?}"
    );
    assert!(
        findings.contains(&(Some(customer.as_str()), 1)),
        "{findings:?}"
    );
    assert_eq!(
        report.counts().iter().find(|(p, _)| *p == "breach_notice"),
        Some(&("breach_notice", 3))
    );
}

#[test]
fn ledger_lines_past_the_rule_for_message_records_are_broken_until_the_sweep() {
    use ombud_store::notices::{Audience, NewDelivery, NewNotice, NoticeId};
    let dir = tempfile::tempdir().expect("dir");
    let fixture = common::fixture(dir.path(), vec![]);
    let store: &dyn Store = fixture.store.as_ref();
    // The public cloud keeps the record of messages sent two years.
    let policy = ombud_policy::check(include_str!("../../../examples/public-cloud.toml"))
        .policy
        .expect("a valid policy");
    let zone = jiff::tz::TimeZone::get(&policy.controller.time_zone).expect("zone");
    let person = common::person(store, fixture.operator, "ana@example.fi");
    let sent = |when: &str| {
        let notice = NewNotice {
            id: NoticeId::new(),
            kind: "security".into(),
            mandatory: true,
            subject_line: format!("Maintenance {when}"),
            body: "A window tonight.".into(),
            audience: Audience::Customers,
            incident: None,
        };
        store
            .send_notice(
                fixture.operator,
                &notice,
                &[NewDelivery::Queue {
                    subject: person,
                    to: ombud_core::Identity::parse(
                        ombud_core::IdentityKind::Email,
                        "ana@example.fi",
                    )
                    .expect("email"),
                }],
                &Actor::Cli,
                when.parse().expect("time"),
            )
            .expect("sent");
    };
    // Two years back from T0 (2 March 2026, Helsinki) is 2 March 2024: a notice of the 1st
    // is past it, one of the 3rd is not.
    sent("2024-03-01T10:00:00Z");
    sent("2024-03-03T10:00:00Z");
    let check = |now| promises::check(store, &policy, &zone, None, &[], now).expect("checks");
    let report = check(t0());
    assert_eq!(broken(&report), ["ledger_keep"], "{report:?}");
    let finding = &report.broken[0];
    assert_eq!(finding.count, 1);
    assert_eq!(finding.place.rule.as_deref(), Some("message-records"));
    assert!(
        finding
            .sentence
            .starts_with("We keep a record of which message was sent"),
        "{}",
        finding.sentence
    );
    assert!(
        !serde_json::to_string(&report)
            .expect("json")
            .contains("ana@example.fi")
    );

    let sweep = ombud_app::sweeper::sweep_all(store, &policy, &zone, t0(), false, |_, _| {})
        .expect("swept");
    assert_eq!(sweep.iter().map(|(_, r)| r.ledger_pruned).sum::<u64>(), 1);
    assert_eq!(broken(&check(t0())), Vec::<&str>::new());
}
