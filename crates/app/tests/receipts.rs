//! Receipts of sweep runs and audit-chain heads on the invoicing example (controller in
//! Helsinki), with a fixed clock: a run that removes signs what it removed, an idle run signs
//! once per day of the controller's (not UTC's), a chain head seals yesterday once, and a head
//! kept earlier tells a chain that holds from one changed or pruned since.

mod common;

use jiff::Timestamp;
use ombud_app::receipts::{self, ChainCheck, ChainHead, Jwks, Of, SweepRun};
use ombud_app::sweeper::sweep_all;
use ombud_store::Actor;
use ombud_store::model::{NewRecord, Secret};
use ombud_store::receipts::{ReceiptFilter, ReceiptKind};

fn at(text: &str) -> Timestamp {
    text.parse().expect("time")
}

/// One sweep of every tenant at `now`, with its receipts; how many were issued.
fn sweep(fixture: &common::Fixture, now: Timestamp) -> usize {
    let desk = &fixture.desk;
    let mut run = SweepRun::new();
    let reports = sweep_all(
        desk.store.as_ref(),
        &desk.policy,
        &desk.time_zone,
        now,
        false,
        |tenant, removal| run.removed(tenant, removal, now),
    )
    .expect("swept");
    for (tenant, report) in &reports {
        run.report(*tenant, report, now);
    }
    receipts::issue_sweep_run(
        desk.store.as_ref(),
        &desk.secrets,
        &desk.policy,
        &desk.time_zone,
        run,
        now,
    )
    .expect("issued")
}

fn sweep_receipts(fixture: &common::Fixture) -> Vec<receipts::Receipt> {
    let keys = Jwks::published(&fixture.store.receipt_keys().expect("keys"));
    fixture
        .store
        .receipts(
            fixture.operator,
            &ReceiptFilter {
                kind: Some(ReceiptKind::Sweep),
                before: None,
                limit: 100,
            },
        )
        .expect("listed")
        .iter()
        .map(|r| receipts::verify(&r.jws, &keys).expect("verifies"))
        .collect()
}

#[test]
fn a_sweep_signs_what_it_removed_and_an_idle_sweep_signs_once_a_day_in_the_controllers_zone() {
    let dir = tempfile::tempdir().expect("dir");
    let fixture = common::fixture(dir.path(), vec![]);
    let store = fixture.store.as_ref();
    // A security log collected three years ago: the example keeps them two.
    let person = common::person(store, fixture.operator, "ana@example.fi");
    store
        .put_records(
            fixture.operator,
            &[NewRecord {
                id: None,
                subject: person,
                category: "user.device.ip_address".into(),
                purposes: vec!["security".into()],
                source: "system".into(),
                collected_at: at("2023-03-02T10:00:00Z"),
                value: Secret::new("192.0.2.7"),
            }],
            &Actor::Cli,
            at("2023-03-02T10:00:00Z"),
        )
        .expect("record");

    // 20:00 UTC on 31 March is 23:00 in Helsinki (summer time since the 29th).
    let first = at("2026-03-31T20:00:00Z");
    assert_eq!(sweep(&fixture, first), 1);
    let signed = sweep_receipts(&fixture);
    assert_eq!(signed.len(), 1);
    let receipt = &signed[0];
    assert_eq!(receipt.of, Of::Sweep);
    assert_eq!(receipt.tenant, fixture.operator.0);
    assert_eq!(receipt.policy_version, fixture.desk.policy.version.0);
    let done = receipt.sweep.as_ref().expect("the run");
    assert_eq!(done.ran_at, first);
    assert_eq!(done.records, 1);
    assert_eq!(
        done.subjects, 1,
        "the person's last record went, and the person"
    );
    assert_eq!(
        done.by_category.iter().collect::<Vec<_>>(),
        [(&"user.device.ip_address".to_owned(), &1)]
    );
    assert_eq!(done.by_rule.get("security-logs"), Some(&1));
    assert!(
        !serde_json::to_string(receipt)
            .expect("json")
            .contains("192.0.2.7")
    );

    // Idle rounds the same Helsinki day sign nothing more; 21:30 UTC is already 1 April
    // there, a new day, whose first idle round signs that the sweep ran and found nothing.
    assert_eq!(sweep(&fixture, at("2026-03-31T20:30:00Z")), 0);
    assert_eq!(sweep(&fixture, at("2026-03-31T21:30:00Z")), 1);
    assert_eq!(sweep(&fixture, at("2026-03-31T23:30:00Z")), 0);
    let signed = sweep_receipts(&fixture);
    assert_eq!(signed.len(), 2);
    let idle = signed[0].sweep.as_ref().expect("the run");
    assert_eq!((idle.records, idle.ran_at), (0, at("2026-03-31T21:30:00Z")));
}

#[test]
fn a_chain_head_is_signed_once_a_day_and_proves_the_chain_until_it_changes_or_is_pruned() {
    let dir = tempfile::tempdir().expect("dir");
    let fixture = common::fixture(dir.path(), vec![]);
    let desk = &fixture.desk;
    let store = fixture.store.as_ref();
    // 22:30 UTC on the last day of February is already 1 March in Helsinki: the day sealed is
    // 28 February, not the 27th.
    let now = at("2026-02-28T22:30:00Z");
    let issue = |now| {
        receipts::issue_chain_heads(store, &desk.secrets, &desk.policy, &desk.time_zone, now)
            .expect("issued")
    };
    assert_eq!(issue(now), 1);
    assert_eq!(
        issue(at("2026-03-01T21:59:00Z")),
        0,
        "still 1 March in Helsinki"
    );
    let stored = store
        .receipt(fixture.operator, ReceiptKind::AuditHead, "2026-02-28")
        .expect("read")
        .expect("the day's head");
    let keys = Jwks::published(&store.receipt_keys().expect("keys"));
    let head = receipts::verify(&stored.jws, &keys).expect("verifies");
    assert_eq!(head.day, Some(jiff::civil::date(2026, 2, 28)));
    assert_eq!(
        head.audit_head,
        ChainHead::of(store.audit_head(fixture.operator).expect("head"))
    );

    // Entries written since change nothing before the head.
    common::person(store, fixture.operator, "ana@example.fi");
    assert!(matches!(
        receipts::check_chain(store, fixture.operator, &head.audit_head).expect("checked"),
        ChainCheck::Holds { entries_since, .. } if entries_since >= 1
    ));
    // A head whose entry has another hash than the one signed: the log was changed.
    let forged = ChainHead {
        seq: head.audit_head.seq,
        hash: "00".repeat(32),
    };
    assert_eq!(
        receipts::check_chain(store, fixture.operator, &forged).expect("checked"),
        ChainCheck::Changed {
            seq: head.audit_head.seq
        }
    );
    // Pruned under the audit log's keep, the entries can no longer speak for the head. (The
    // fixture's entries are written at the real time.)
    let later = Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(1))
        .expect("time");
    store
        .prune_audit(fixture.operator, later, 10_000, &Actor::System, later)
        .expect("pruned");
    assert!(matches!(
        receipts::check_chain(store, fixture.operator, &head.audit_head).expect("checked"),
        ChainCheck::Pruned { through } if through >= head.audit_head.seq
    ));
    // The sweep that prunes the log past `[audit] keep` (two years) takes the stored receipt
    // along; a day short of it, it stays.
    let sweep = |now: Timestamp| {
        sweep_all(store, &desk.policy, &desk.time_zone, now, false, |_, _| {}).expect("swept")
    };
    sweep(at("2028-02-28T22:00:00Z"));
    assert!(
        store
            .receipt(fixture.operator, ReceiptKind::AuditHead, "2026-02-28")
            .expect("read")
            .is_some()
    );
    sweep(at("2028-03-01T22:00:00Z"));
    assert!(
        store
            .receipt(fixture.operator, ReceiptKind::AuditHead, "2026-02-28")
            .expect("read")
            .is_none()
    );
}
