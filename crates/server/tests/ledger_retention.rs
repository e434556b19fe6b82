//! The notice ledger obeys the public-cloud example's rule for message records (2 years): the
//! sweeper removes older lines with the addresses their mails went to, each notice keeping its
//! counts; a person who is gone takes their lines along.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_app::sweeper::Sweep;
use ombud_core::access::DataRole;
use ombud_core::{Identity, IdentityKind};
use ombud_store::crypto::MasterKey;
use ombud_store::notices::{Audience, NewDelivery, NewNotice, NoticeId};
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};

const POLICY: &str = include_str!("../../../examples/public-cloud.toml");

fn at(text: &str) -> Timestamp {
    text.parse().expect("time")
}

#[test]
fn the_sweeper_prunes_message_records_after_two_years_and_with_the_people_gone() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(
        &dir.path().join("ombud.db"),
        &MasterKey::generate().expect("key"),
    )
    .expect("store");
    let start = at("2024-01-01T00:00:00Z");
    let tenant = store
        .create_tenant("Fjärdmoln", true, &Actor::Cli, start)
        .expect("tenant")
        .id;
    let person = |address: &str| {
        store
            .create_subject(
                tenant,
                &[Identity::parse(IdentityKind::Email, address).expect("email")],
                &Actor::Cli,
                start,
            )
            .expect("subject")
    };
    let (eva, olle) = (person("eva@kund.example"), person("olle@kund.example"));
    let send = |when: &str| {
        let notice = NewNotice {
            id: NoticeId::new(),
            kind: "maintenance".into(),
            mandatory: true,
            subject_line: format!("Maintenance window ({when})"),
            body: "Storage is upgraded tonight.".into(),
            audience: Audience::Subjects(vec![eva, olle]),
            incident: None,
        };
        let to = |s, a: &str| NewDelivery::Queue {
            subject: s,
            to: Identity::parse(IdentityKind::Email, a).expect("email"),
        };
        store
            .send_notice(
                tenant,
                &notice,
                &[to(eva, "eva@kund.example"), to(olle, "olle@kund.example")],
                &Actor::Cli,
                at(when),
            )
            .expect("sent");
        notice.id
    };
    // Stockholm time: sent at 10:00 on 28 February 2024, a leap year.
    let old = send("2024-02-28T09:00:00Z");
    let recent = send("2025-11-01T09:00:00Z");
    let policy = ombud_policy::check(POLICY).policy.expect("policy");
    assert_eq!(
        policy.ledger_rule().map(|r| r.id.as_str()),
        Some("message-records")
    );
    let tz = TimeZone::get(&policy.controller.time_zone).expect("zone");
    let sweep = |now: &str| {
        Sweep {
            store: &store,
            policy: &policy,
            time_zone: &tz,
            tenant,
            data_role: DataRole::Controller,
            now: at(now),
            dry_run: false,
        }
        .run(|_| {})
        .expect("sweep")
    };
    let lines = |notice| {
        store
            .notice_deliveries(tenant, notice)
            .expect("ledger")
            .len()
    };

    // The day before the two years end, nothing goes.
    assert_eq!(sweep("2026-02-27T09:00:00Z").ledger_pruned, 0);
    assert_eq!(lines(old), 2);
    // Two years from 28 February 2024 end on 28 February 2026 at 10:00 Stockholm time.
    assert_eq!(sweep("2026-02-28T09:00:01Z").ledger_pruned, 2);
    assert_eq!((lines(old), lines(recent)), (0, 2));
    let counted = store
        .notices(tenant)
        .expect("notices")
        .into_iter()
        .find(|n| n.id == old)
        .expect("the notice stays");
    assert_eq!(counted.queued, 2);

    // Olle's data goes (erased): his line goes with him on the next sweep, Eva's stays.
    store
        .erase_subject(
            tenant,
            olle,
            &[],
            None,
            &Actor::Cli,
            at("2026-03-01T09:00:00Z"),
        )
        .expect("erased");
    assert_eq!(sweep("2026-03-02T09:00:00Z").ledger_pruned, 1);
    let left = store.notice_deliveries(tenant, recent).expect("ledger");
    assert_eq!(
        left.iter().map(|l| l.subject).collect::<Vec<_>>(),
        vec![eva]
    );
}
