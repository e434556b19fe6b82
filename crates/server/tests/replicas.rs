//! Several replicas on one PostgreSQL database share the background work: the outbox by
//! leasing mails (`FOR UPDATE SKIP LOCKED`), the sweep and the deadline watcher by a job lease.
//! A replica that dies holding leases leaves its work to the others once the leases expire;
//! every mail goes out once and every record is removed once, and the audit chain holds.

mod common;

use jiff::{SignedDuration, Timestamp};
use ombud_core::Identity;
use ombud_core::requests::RequestKind;
use ombud_store::crypto::MasterKey;
use ombud_store::model::{NewRecord, Secret, TenantId};
use ombud_store::requests::{DsRequest, NewMail, NewRequest, RequestId};
use ombud_store::{Actor, PostgresStore, Store};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const SUBJECTS: usize = 500;
const RECORDS_EACH: usize = 20;
const MAILS: usize = 1000;

fn schema(url: &str) -> String {
    let schema = format!("ombud_test_{}", uuid::Uuid::now_v7().simple());
    postgres::Client::connect(url, postgres::NoTls)
        .expect("connects to OMBUD_TEST_POSTGRES_URL")
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .expect("creates a schema");
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

fn email(value: &str) -> Identity {
    Identity::parse(ombud_core::IdentityKind::Email, value).expect("email")
}

/// Ten thousand records long past the policy's fallback rule (nothing else applies to people
/// with no contract and no consent), and a thousand mails waiting.
fn fill(store: &dyn Store, tenant: TenantId, now: Timestamp) {
    let collected: Timestamp = "2025-01-02T09:00:00Z".parse().expect("time");
    let mut batch = Vec::with_capacity(2000);
    for n in 0..SUBJECTS {
        let subject = store
            .create_subject(
                tenant,
                &[email(&format!("p{n}@example.fi"))],
                &Actor::Cli,
                now,
            )
            .expect("subject");
        for r in 0..RECORDS_EACH {
            batch.push(NewRecord {
                id: None,
                subject,
                category: "user.contact.email".into(),
                purposes: vec![],
                source: "subject".into(),
                collected_at: collected,
                value: Secret::new(format!("p{n}-{r}@example.fi")),
            });
        }
        if batch.len() >= 2000 {
            store
                .put_records(tenant, &batch, &Actor::Cli, now)
                .expect("records");
            batch.clear();
        }
    }
    let mails: Vec<NewMail> = (0..MAILS)
        .map(|n| NewMail {
            to: email(&format!("m{n}@example.fi")),
            template: "request_code".into(),
            request: None,
            subject: format!("Mail {n}"),
            body: "A mail among a thousand".into(),
        })
        .collect();
    let new = NewRequest {
        kind: RequestKind::Access,
        subject: None,
        contact: Some(email("m0@example.fi")),
        purpose: None,
        category: None,
        record: None,
        new_value: None,
        channel: "api".into(),
        received_at: now,
        due_at: None,
    };
    store
        .create_request(
            tenant,
            &DsRequest::from_new(tenant, RequestId::new(), &new),
            &mails,
            &Actor::Cli,
            now,
        )
        .expect("mails queued");
}

/// One round of a replica's background work at `now`: the sweep if it holds the lease, then
/// the outbox until it is empty; what it removed and which mails it sent.
fn round(
    store: &dyn Store,
    holder: uuid::Uuid,
    policy: &ombud_policy::Policy,
    now: Timestamp,
    sent: &Mutex<BTreeMap<uuid::Uuid, u32>>,
) -> u64 {
    let tz = jiff::tz::TimeZone::get(&policy.controller.time_zone).expect("zone");
    let until = now + SignedDuration::from_mins(90);
    let mut removed = 0;
    if store
        .take_lease("sweep", holder, until, now)
        .expect("lease")
    {
        for (_, report) in ombud_app::sweeper::sweep_all(store, policy, &tz, now, false, |_, _| {})
            .expect("sweeps")
        {
            removed += report.records;
        }
    }
    loop {
        let mails = store
            .lease_mails(now, now + SignedDuration::from_mins(5), 50)
            .expect("leases");
        if mails.is_empty() {
            return removed;
        }
        for mail in mails {
            store.mail_sent(mail.tenant, mail.id, now).expect("sent");
            *sent.lock().expect("sent").entry(mail.id.0).or_default() += 1;
        }
    }
}

#[test]
fn three_replicas_share_the_sweep_and_the_outbox_and_one_that_dies_leaves_its_work() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let scoped = schema(&url);
    let key = "ab".repeat(32);
    let replicas: Vec<Arc<dyn Store>> = (0..3)
        .map(|_| {
            Arc::new(
                PostgresStore::connect(&scoped, &MasterKey::from_hex(&key).expect("key"))
                    .expect("connects"),
            ) as Arc<dyn Store>
        })
        .collect();
    let policy = Arc::new(
        ombud_policy::check(include_str!("../../../examples/invoicing-saas.toml"))
            .policy
            .expect("checks"),
    );
    let now: Timestamp = "2026-03-01T10:00:00Z".parse().expect("time");
    let tenant = replicas[0]
        .create_tenant("Operator", true, &Actor::Cli, now)
        .expect("tenant")
        .id;
    fill(replicas[0].as_ref(), tenant, now);

    // The third replica takes the sweep's lease and fifty mails, and dies with both.
    let dead = uuid::Uuid::now_v7();
    assert!(
        replicas[2]
            .take_lease("sweep", dead, now + SignedDuration::from_mins(90), now)
            .expect("lease")
    );
    let orphaned = replicas[2]
        .lease_mails(now, now + SignedDuration::from_mins(5), 50)
        .expect("leases");
    assert_eq!(orphaned.len(), 50);

    let sent = Arc::new(Mutex::new(BTreeMap::new()));
    let run = |at: Timestamp| -> u64 {
        let threads: Vec<_> = replicas[..2]
            .iter()
            .map(|store| {
                let (store, policy, sent) =
                    (Arc::clone(store), Arc::clone(&policy), Arc::clone(&sent));
                let holder = uuid::Uuid::now_v7();
                std::thread::spawn(move || round(store.as_ref(), holder, &policy, at, &sent))
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("the replica ran"))
            .sum()
    };
    // While its leases run, the others send the rest and leave the sweep alone.
    assert_eq!(
        run(now + SignedDuration::from_mins(1)),
        0,
        "nobody else sweeps"
    );
    assert_eq!(sent.lock().expect("sent").len(), MAILS - 50);
    // Once they expire, the others finish its work.
    let later = now + SignedDuration::from_hours(2);
    assert_eq!(run(later), (SUBJECTS * RECORDS_EACH) as u64);
    let sent = sent.lock().expect("sent");
    assert_eq!(sent.len(), MAILS, "every mail went out");
    assert!(sent.values().all(|n| *n == 1), "none twice");
    assert!(
        orphaned.iter().all(|m| sent.contains_key(&m.id.0)),
        "the dead replica's mails were sent by the others"
    );
    assert_eq!(
        run(later + SignedDuration::from_mins(1)),
        0,
        "nothing is removed twice"
    );
    assert!(matches!(
        replicas[1].verify_audit(tenant).expect("verifies"),
        ombud_store::audit::Verification::Intact { .. }
    ));
}
