//! The behaviour every backend must have, as functions over `&dyn Store`. Each backend's test
//! file runs all of them against a fresh store.

use jiff::Timestamp;
use ombud_core::requests::{RequestKind, RequestStatus};
use ombud_core::{EventKind, Identity, IdentityKind};
use ombud_store::audit::{AuditFilter, NewAuditEntry, Verification};
use ombud_store::model::*;
use ombud_store::requests::*;
use ombud_store::{Actor, Store, StoreError};

pub fn at(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

pub fn email(value: &str) -> Identity {
    Identity::parse(IdentityKind::Email, value).expect("valid email")
}

/// A new tenant with `count` people, `p0@example.com` onwards.
pub fn tenant_with_people(
    store: &dyn Store, name: &str, count: usize, now: Timestamp,
) -> (Tenant, Vec<SubjectId>) {
    let tenant = store
        .create_tenant(name, false, &Actor::Cli, now)
        .expect("tenant");
    let people = (0..count)
        .map(|n| {
            store
                .create_subject(
                    tenant.id,
                    &[email(&format!("p{n}@example.com"))],
                    &Actor::Cli,
                    now,
                )
                .expect("subject")
        })
        .collect();
    (tenant, people)
}

pub fn phone(value: &str) -> Identity {
    Identity::parse(IdentityKind::Phone, value).expect("valid phone")
}

pub fn record(subject: SubjectId, category: &str, value: &str) -> NewRecord {
    NewRecord {
        id: None,
        subject,
        category: category.into(),
        purposes: vec![],
        source: "subject".into(),
        collected_at: at("2025-01-01T00:00:00Z"),
        value: Secret::new(value),
    }
}

/// Values that must never appear in a backend's storage in clear.
pub const PLANTED: [&str; 8] = [
    "ana.lopez@example.com",
    "ana.lopez",
    "+358407654321",
    "358407654321",
    "Ana Lopez-Virtanen",
    "FI2112345600000785",
    // A console user of the staff: their address is personal data too.
    "kaisa.dpo@example.fi",
    "kaisa.dpo",
];

/// Writes a subject whose identities and records hold the `PLANTED` values, for tests that then
/// search the backend's raw storage for them.
pub fn plant_known_personal_data(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let ana = store
        .create_subject(
            tenant.id,
            &[email("ana.lopez@example.com"), phone("+358 40 765 4321")],
            &Actor::Cli,
            now,
        )
        .expect("ana");
    store
        .put_records(
            tenant.id,
            &[
                record(ana, "user.name", "Ana Lopez-Virtanen"),
                record(ana, "user.financial.bank_account", "FI2112345600000785"),
            ],
            &Actor::Cli,
            now,
        )
        .expect("written");
    store
        .create_user(
            &ombud_store::users::NewUser {
                tenant: tenant.id,
                id: ombud_store::users::UserId::new(),
                email: email("kaisa.dpo@example.fi"),
                role: Role::Dpo,
                setup_hash: [4; 32],
                setup_expires_at: at("2025-02-02T00:00:00Z"),
            },
            &Actor::Cli,
            now,
        )
        .expect("a console user");
}

pub fn subjects_are_found_by_any_identity_however_it_was_typed(store: &dyn Store) {
    let now = at("2025-01-01T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let subject = store
        .create_subject(
            tenant.id,
            &[email("Ana@Example.com"), phone("+358 40 123 4567")],
            &Actor::Cli,
            now,
        )
        .expect("subject");
    assert_eq!(
        store
            .find_subject(tenant.id, &email(" ana@example.COM"))
            .expect("lookup"),
        Some(subject)
    );
    assert_eq!(
        store
            .find_subject(tenant.id, &phone("00358401234567"))
            .expect("lookup"),
        Some(subject)
    );
    assert_eq!(
        store
            .find_subject(tenant.id, &email("bo@example.com"))
            .expect("lookup"),
        None
    );
    let found = store
        .subject(tenant.id, subject)
        .expect("read")
        .expect("exists");
    let values: Vec<&str> = found.identities.iter().map(|i| i.expose()).collect();
    assert_eq!(values, ["ana@example.com", "+358401234567"]);
}

pub fn an_identity_belongs_to_one_subject_and_a_clash_writes_nothing(store: &dyn Store) {
    let now = at("2025-01-01T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    store
        .create_subject(tenant.id, &[email("ana@example.com")], &Actor::Cli, now)
        .expect("first");
    let before = store
        .audit_entries(tenant.id, &AuditFilter::default())
        .expect("audit")
        .len();
    let clash = store.create_subject(
        tenant.id,
        &[phone("+358401234567"), email("ANA@example.com")],
        &Actor::Cli,
        now,
    );
    assert!(
        matches!(clash, Err(StoreError::IdentityTaken(IdentityKind::Email))),
        "{clash:?}"
    );
    assert_eq!(
        store
            .find_subject(tenant.id, &phone("+358401234567"))
            .expect("lookup"),
        None,
        "the phone was not kept"
    );
    assert_eq!(
        store
            .audit_entries(tenant.id, &AuditFilter::default())
            .expect("audit")
            .len(),
        before
    );
}

pub fn records_round_trip_sealed_and_events_keep_their_order(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let ana = store
        .create_subject(tenant.id, &[email("ana@example.com")], &Actor::Cli, now)
        .expect("ana");
    let bo = store
        .create_subject(tenant.id, &[email("bo@example.com")], &Actor::Cli, now)
        .expect("bo");
    let ids = store
        .put_records(
            tenant.id,
            &[
                record(ana, "user.name", "Ana López"),
                record(ana, "user.contact.address", "Esimerkkikatu 1"),
                record(bo, "user.name", "Bo Ek"),
            ],
            &Actor::Cli,
            now,
        )
        .expect("written");
    assert_eq!(ids.len(), 3);
    let records = store.records(tenant.id, ana).expect("read");
    let values: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r.category.as_str(), r.value.expose()))
        .collect();
    assert_eq!(
        values,
        [
            ("user.name", "Ana López"),
            ("user.contact.address", "Esimerkkikatu 1")
        ]
    );
    assert_eq!(format!("{:?}", records[0].value), "<redacted>");

    for (kind, when) in [
        (EventKind::ContractEnd, "2025-01-20T00:00:00Z"),
        (EventKind::ContractStart, "2024-01-01T00:00:00Z"),
    ] {
        let event = NewEvent {
            id: None,
            kind,
            purpose: None,
            occurred_at: at(when),
            channel: Some("api".into()),
            policy_version: None,
        };
        store
            .add_event(tenant.id, ana, &event, &Actor::Cli, now)
            .expect("event");
    }
    let kinds: Vec<EventKind> = store
        .events(tenant.id, ana)
        .expect("events")
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [EventKind::ContractStart, EventKind::ContractEnd],
        "ordered by when they happened"
    );
    let (subject, events) = store
        .facts_by_identity(tenant.id, &email("ANA@example.com"))
        .expect("facts")
        .expect("known");
    assert_eq!(subject, ana);
    assert_eq!(
        events,
        store.events(tenant.id, ana).expect("events"),
        "the same events as `events`"
    );
    let (_, none) = store
        .facts_by_identity(tenant.id, &email("bo@example.com"))
        .expect("facts")
        .expect("known");
    assert!(none.is_empty(), "a subject with no events");
    assert!(
        store
            .facts_by_identity(tenant.id, &email("nobody@example.com"))
            .expect("facts")
            .is_none()
    );
    // Both at once are what each gives alone, a person with no record included.
    for subject in [ana, bo] {
        let (records, events) = store.records_and_events(tenant.id, subject).expect("both");
        let alone = store.records(tenant.id, subject).expect("records");
        let seen = |records: &[Record]| {
            records
                .iter()
                .map(|r| (r.id, r.category.clone(), r.value.expose().to_owned()))
                .collect::<Vec<_>>()
        };
        assert_eq!(seen(&records), seen(&alone));
        assert_eq!(events, store.events(tenant.id, subject).expect("events"));
    }
    assert!(matches!(
        store.records_and_events(tenant.id, SubjectId::new()),
        Err(StoreError::NotFound("subject"))
    ));
}

pub fn a_job_lease_has_one_holder_until_it_expires(store: &dyn Store) {
    let now = at("2026-03-01T10:00:00Z");
    let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let minutes = |m: i64| now + jiff::SignedDuration::from_mins(m);
    assert!(
        store
            .take_lease("sweep", a, minutes(10), now)
            .expect("lease")
    );
    assert!(
        !store
            .take_lease("sweep", b, minutes(10), now)
            .expect("lease"),
        "a holds it"
    );
    assert!(
        store
            .take_lease("watch", b, minutes(10), now)
            .expect("lease"),
        "another job"
    );
    assert!(
        store
            .take_lease("sweep", a, minutes(15), minutes(5))
            .expect("lease"),
        "renewed"
    );
    assert!(
        !store
            .take_lease("sweep", b, minutes(30), minutes(12))
            .expect("lease"),
        "renewed to 15"
    );
    assert!(
        store
            .take_lease("sweep", b, minutes(30), minutes(15))
            .expect("lease"),
        "expired"
    );
    assert!(
        !store
            .take_lease("sweep", a, minutes(40), minutes(20))
            .expect("lease"),
        "b holds it now"
    );
}

pub fn a_batch_with_an_unknown_subject_writes_nothing(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let ana = store
        .create_subject(tenant.id, &[email("ana@example.com")], &Actor::Cli, now)
        .expect("ana");
    let result = store.put_records(
        tenant.id,
        &[
            record(ana, "user.name", "Ana"),
            record(SubjectId::new(), "user.name", "Nobody"),
        ],
        &Actor::Cli,
        now,
    );
    assert!(
        matches!(result, Err(StoreError::NotFound("subject"))),
        "{result:?}"
    );
    assert!(store.records(tenant.id, ana).expect("read").is_empty());

    // An import line: its records and its events are written together or not at all.
    let contract = |subject| {
        (
            subject,
            NewEvent {
                id: None,
                kind: ombud_core::EventKind::ContractStart,
                purpose: None,
                occurred_at: now,
                channel: Some("import".into()),
                policy_version: None,
            },
        )
    };
    let result = store.put_records_and_events(
        tenant.id,
        &[record(ana, "user.name", "Ana")],
        &[contract(ana), contract(SubjectId::new())],
        &Actor::Cli,
        now,
    );
    assert!(
        matches!(result, Err(StoreError::NotFound("subject"))),
        "{result:?}"
    );
    assert!(store.records(tenant.id, ana).expect("read").is_empty());
    assert!(store.events(tenant.id, ana).expect("read").is_empty());
    store
        .put_records_and_events(
            tenant.id,
            &[record(ana, "user.name", "Ana")],
            &[contract(ana)],
            &Actor::Cli,
            now,
        )
        .expect("written");
    assert_eq!(store.records(tenant.id, ana).expect("read").len(), 1);
    assert_eq!(store.events(tenant.id, ana).expect("read").len(), 1);
}

pub fn receipts_and_their_keys_are_kept_once_per_tenant(store: &dyn Store) {
    use ombud_store::receipts::{ReceiptFilter, ReceiptKey, ReceiptKind, StoredReceipt};
    let now = at("2025-02-01T00:00:00Z");
    let (a, people) = tenant_with_people(store, "Receipts A", 1, now);
    let (b, _) = tenant_with_people(store, "Receipts B", 0, now);
    let key = ReceiptKey {
        kid: "k1".into(),
        public_key: [7; 32],
        created_at: now,
        retired_at: None,
    };
    assert!(store.add_receipt_key(&key).expect("added"));
    assert!(
        !store.add_receipt_key(&key).expect("known"),
        "a key id is kept once"
    );
    assert!(
        store
            .retire_receipt_key("k1", at("2025-03-01T00:00:00Z"))
            .expect("retired")
    );
    assert!(
        !store
            .retire_receipt_key("k1", at("2025-04-01T00:00:00Z"))
            .expect("again")
    );
    assert!(!store.retire_receipt_key("nobody", now).expect("unknown"));
    assert_eq!(
        store.receipt_keys().expect("keys"),
        [ReceiptKey {
            retired_at: Some(at("2025-03-01T00:00:00Z")),
            ..key
        }]
    );

    // The chain head moves with every entry and is the tenant's own.
    let (seq, hash) = store.audit_head(a.id).expect("head");
    assert!(seq > 0);
    store
        .append_audit(
            a.id,
            NewAuditEntry {
                actor: "cli".into(),
                action: "read".into(),
                subject: Some(people[0]),
                categories: vec![],
                purpose: None,
                detail: None,
            },
            now,
        )
        .expect("appended");
    let (next_seq, next_hash) = store.audit_head(a.id).expect("head");
    assert_eq!(next_seq, seq + 1);
    assert_ne!(next_hash, hash);
    assert_ne!(store.audit_head(b.id).expect("head").1, next_hash);

    let receipt = |tenant: TenantId, n: u128, kind: ReceiptKind, about: &str| StoredReceipt {
        tenant,
        id: uuid::Uuid::from_u128(n),
        kind,
        about: about.into(),
        issued_at: now,
        jws: format!("header.payload{n}.signature"),
    };
    assert!(
        store
            .put_receipt(&receipt(a.id, 1, ReceiptKind::AuditHead, "2025-01-31"))
            .expect("put")
    );
    assert!(
        !store
            .put_receipt(&receipt(a.id, 2, ReceiptKind::AuditHead, "2025-01-31"))
            .expect("put"),
        "a second receipt about the same day is not kept"
    );
    assert!(
        store
            .put_receipt(&receipt(a.id, 3, ReceiptKind::Sweep, "run 1"))
            .expect("put")
    );
    assert!(
        store
            .put_receipt(&receipt(a.id, 4, ReceiptKind::AuditHead, "2025-02-01"))
            .expect("put")
    );
    assert!(
        store
            .put_receipt(&receipt(b.id, 5, ReceiptKind::AuditHead, "2025-01-31"))
            .expect("put")
    );
    let all = |filter: ReceiptFilter| -> Vec<u128> {
        store
            .receipts(a.id, &filter)
            .expect("listed")
            .iter()
            .map(|r| r.id.as_u128())
            .collect()
    };
    assert_eq!(
        all(ReceiptFilter {
            limit: 10,
            ..ReceiptFilter::default()
        }),
        [4, 3, 1]
    );
    assert_eq!(
        all(ReceiptFilter {
            kind: Some(ReceiptKind::AuditHead),
            limit: 10,
            before: None
        }),
        [4, 1]
    );
    assert_eq!(
        all(ReceiptFilter {
            kind: None,
            limit: 1,
            before: Some(uuid::Uuid::from_u128(4))
        }),
        [3]
    );
    let found = store
        .receipt(a.id, ReceiptKind::AuditHead, "2025-01-31")
        .expect("read")
        .expect("kept");
    assert_eq!(
        found,
        receipt(a.id, 1, ReceiptKind::AuditHead, "2025-01-31")
    );
    assert!(
        store
            .receipt(b.id, ReceiptKind::Sweep, "run 1")
            .expect("read")
            .is_none()
    );
    assert_eq!(
        store.prune_receipts(a.id, now).expect("pruned"),
        0,
        "none before"
    );
    let later = at("2025-02-01T00:00:01Z");
    assert_eq!(store.prune_receipts(a.id, later).expect("pruned"), 3);
    assert_eq!(
        all(ReceiptFilter {
            limit: 10,
            ..ReceiptFilter::default()
        }),
        Vec::<u128>::new()
    );
    assert_eq!(
        store
            .receipts(
                b.id,
                &ReceiptFilter {
                    limit: 10,
                    ..ReceiptFilter::default()
                }
            )
            .expect("listed")
            .len(),
        1,
        "another tenant's stay"
    );
}

pub fn console_users_sign_in_lock_and_keep_sessions_by_hash(store: &dyn Store) {
    use ombud_store::users::{NewUser, UserId};
    let now = at("2025-02-01T00:00:00Z");
    let (a, _) = tenant_with_people(store, "Users A", 0, now);
    let (b, _) = tenant_with_people(store, "Users B", 0, now);
    let new = |tenant: TenantId, address: &str, setup: u8| NewUser {
        tenant,
        id: UserId::new(),
        email: email(address),
        role: Role::Dpo,
        setup_hash: [setup; 32],
        setup_expires_at: at("2025-02-02T00:00:00Z"),
    };
    let dpo = store
        .create_user(&new(a.id, "dpo@example.fi", 1), &Actor::Cli, now)
        .expect("created");
    assert!(
        matches!(
            store.create_user(&new(b.id, "DPO@example.fi", 2), &Actor::Cli, now),
            Err(StoreError::UserExists)
        ),
        "an address signs in to one account, whatever the tenant"
    );
    let found = store
        .user_by_email(&email("dpo@example.fi"))
        .expect("read")
        .expect("found");
    assert_eq!(
        (found.tenant, found.id, found.role),
        (a.id, dpo.id, Role::Dpo)
    );
    assert_eq!(found.email.expose(), "dpo@example.fi");
    assert!(found.password_hash.is_none());
    assert_eq!(
        store.user_by_setup(&[1; 32]).expect("read").map(|u| u.id),
        Some(dpo.id)
    );
    assert!(
        store.user(b.id, dpo.id).expect("read").is_none(),
        "another tenant's"
    );
    assert_eq!(store.users(a.id).expect("listed").len(), 1);
    assert!(store.users(b.id).expect("listed").is_empty());

    assert!(
        store
            .set_password(
                a.id,
                dpo.id,
                "$argon2id$v=19$…",
                Some((b"twenty bytes of key!".as_slice(), 3)),
                &Actor::User(dpo.id),
                now
            )
            .expect("set")
    );
    assert!(
        store.user_by_setup(&[1; 32]).expect("read").is_none(),
        "the link is spent"
    );
    let set = store.user(a.id, dpo.id).expect("read").expect("user");
    assert_eq!(set.password_hash.as_deref(), Some("$argon2id$v=19$…"));
    assert!(set.setup_expires_at.is_none());
    assert_eq!(set.totp_step, Some(3), "the confirming code is used");
    assert_eq!(
        store
            .totp_key(a.id, dpo.id)
            .expect("read")
            .as_deref()
            .map(Vec::as_slice),
        Some(b"twenty bytes of key!".as_slice())
    );
    assert!(
        store.totp_key(b.id, dpo.id).expect("read").is_none(),
        "another tenant's"
    );
    assert!(store.use_totp_step(a.id, dpo.id, 5).expect("used"));
    assert!(
        !store.use_totp_step(a.id, dpo.id, 5).expect("used"),
        "a code is accepted once"
    );
    assert!(
        !store.use_totp_step(a.id, dpo.id, 4).expect("used"),
        "nor an older one"
    );
    assert!(store.use_totp_step(a.id, dpo.id, 6).expect("used"));

    let until = at("2025-02-01T00:15:00Z");
    for attempt in 1..=4 {
        let user = store
            .sign_in_failed(a.id, dpo.id, 5, until, now)
            .expect("counted");
        assert_eq!((user.failed_attempts, user.locked_until), (attempt, None));
    }
    let locked = store
        .sign_in_failed(a.id, dpo.id, 5, until, now)
        .expect("counted");
    assert_eq!(
        (locked.failed_attempts, locked.locked_until),
        (0, Some(until))
    );

    let token = [9u8; 32];
    store
        .start_session(a.id, dpo.id, &token, now)
        .expect("started");
    let user = store.user(a.id, dpo.id).expect("read").expect("user");
    assert_eq!((user.failed_attempts, user.locked_until), (0, None));
    let session = store.session(&token).expect("read").expect("session");
    assert_eq!((session.tenant, session.user), (a.id, dpo.id));
    assert_eq!(session.last_seen_at, now);
    let later = at("2025-02-01T00:10:00Z");
    store.touch_session(a.id, &token, later).expect("touched");
    assert_eq!(
        store
            .session(&token)
            .expect("read")
            .expect("session")
            .last_seen_at,
        later
    );
    store.touch_session(a.id, &token, now).expect("touched");
    assert_eq!(
        store
            .session(&token)
            .expect("read")
            .expect("session")
            .last_seen_at,
        later,
        "never moves back"
    );
    assert!(
        !store
            .end_session(b.id, &token, "sign_out", later)
            .expect("ended"),
        "another tenant's"
    );
    assert!(
        store
            .end_session(a.id, &token, "sign_out", later)
            .expect("ended")
    );
    assert!(store.session(&token).expect("read").is_none());
    assert!(
        !store
            .end_session(a.id, &token, "sign_out", later)
            .expect("ended")
    );

    // A reset takes the password and the second factor away, ends the sessions and issues a
    // new setup link.
    let third = [7u8; 32];
    store
        .start_session(a.id, dpo.id, &third, later)
        .expect("started");
    assert!(
        store
            .reset_user(
                a.id,
                dpo.id,
                &[5; 32],
                at("2025-02-02T00:10:00Z"),
                &Actor::Cli,
                later
            )
            .expect("reset")
    );
    assert!(store.session(&third).expect("read").is_none());
    let reset = store
        .user_by_setup(&[5; 32])
        .expect("read")
        .expect("the new link");
    assert_eq!((reset.password_hash, reset.totp_step), (None, None));
    assert!(store.totp_key(a.id, dpo.id).expect("read").is_none());
    store
        .set_password(
            a.id,
            dpo.id,
            "$argon2id$v=19$…",
            None,
            &Actor::User(dpo.id),
            later,
        )
        .expect("set again");

    // Disabled, a user's sessions end with it; once.
    let second = [8u8; 32];
    store
        .start_session(a.id, dpo.id, &second, later)
        .expect("started");
    assert!(
        !store
            .disable_user(b.id, dpo.id, &Actor::Cli, later)
            .expect("disabled"),
        "another tenant's"
    );
    assert!(
        store
            .disable_user(a.id, dpo.id, &Actor::Cli, later)
            .expect("disabled")
    );
    assert!(
        !store
            .disable_user(a.id, dpo.id, &Actor::Cli, later)
            .expect("disabled")
    );
    assert!(store.session(&second).expect("read").is_none());
    assert_eq!(
        store
            .user(a.id, dpo.id)
            .expect("read")
            .expect("kept")
            .disabled_at,
        Some(later)
    );

    let actions: Vec<String> = store
        .audit_entries(
            a.id,
            &AuditFilter {
                limit: 100,
                ..AuditFilter::default()
            },
        )
        .expect("entries")
        .into_iter()
        .filter(|e| e.action.starts_with("console."))
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "console.user_create",
            "console.second_factor_set",
            "console.password_set",
            "console.sign_in_failed",
            "console.sign_in_failed",
            "console.sign_in_failed",
            "console.sign_in_failed",
            "console.sign_in_failed",
            "console.locked",
            "console.sign_in",
            "console.sign_out",
            "console.sign_in",
            "console.user_reset",
            "console.password_set",
            "console.sign_in",
            "console.user_disable",
        ]
    );
    let detail = store
        .audit_entries(
            a.id,
            &AuditFilter {
                limit: 100,
                ..AuditFilter::default()
            },
        )
        .expect("entries")
        .iter()
        .filter_map(|e| e.detail.clone())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        !detail.contains("dpo@example.fi"),
        "entries name the user by id: {detail}"
    );
}

pub fn the_categories_held_are_counted_per_tenant(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    let (a, people) = tenant_with_people(store, "Held A", 2, now);
    let (b, others) = tenant_with_people(store, "Held B", 1, now);
    store
        .put_records(
            a.id,
            &[
                record(people[0], "user.name", "Ana"),
                record(people[1], "user.name", "Ben"),
                record(people[1], "user.contact.phone_number", "+358401234567"),
            ],
            &Actor::Cli,
            now,
        )
        .expect("records");
    store
        .put_records(
            b.id,
            &[record(others[0], "user.biometric", "template")],
            &Actor::Cli,
            now,
        )
        .expect("records");
    assert_eq!(
        store.categories_held(a.id).expect("held"),
        [
            ("user.contact.phone_number".to_owned(), 1),
            ("user.name".to_owned(), 2)
        ]
    );
    assert_eq!(
        store.categories_held(b.id).expect("held"),
        [("user.biometric".to_owned(), 1)]
    );
}

pub fn a_tenant_sees_nothing_of_another(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    let a = store
        .create_tenant("A", false, &Actor::Cli, now)
        .expect("a");
    let b = store
        .create_tenant("B", false, &Actor::Cli, now)
        .expect("b");
    let ana = store
        .create_subject(a.id, &[email("ana@example.com")], &Actor::Cli, now)
        .expect("ana");
    store
        .put_records(a.id, &[record(ana, "user.name", "Ana")], &Actor::Cli, now)
        .expect("written");
    assert_eq!(
        store
            .find_subject(b.id, &email("ana@example.com"))
            .expect("lookup"),
        None
    );
    assert!(store.subject(b.id, ana).expect("read").is_none());
    assert!(matches!(
        store.records(b.id, ana),
        Err(StoreError::NotFound("subject"))
    ));
    let event = NewEvent {
        id: None,
        kind: EventKind::Objection,
        purpose: None,
        occurred_at: now,
        channel: None,
        policy_version: None,
    };
    assert!(matches!(
        store.add_event(b.id, ana, &event, &Actor::Cli, now),
        Err(StoreError::NotFound("subject"))
    ));
    assert!(matches!(
        store.put_records(b.id, &[record(ana, "user.name", "x")], &Actor::Cli, now),
        Err(StoreError::NotFound("subject"))
    ));
    // The same address in the other tenant is a different person.
    let other = store
        .create_subject(b.id, &[email("ana@example.com")], &Actor::Cli, now)
        .expect("b's ana");
    assert_ne!(other, ana);
    assert!(
        store
            .audit_entries(
                b.id,
                &AuditFilter {
                    subject: Some(ana),
                    ..AuditFilter::default()
                }
            )
            .expect("audit")
            .is_empty()
    );
}

pub fn api_keys_are_found_by_hash_until_revoked(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let hash = *blake3::hash(b"secret").as_bytes();
    let key = store
        .create_api_key(
            NewApiKey {
                tenant: tenant.id,
                operator_wide: false,
                name: "billing app".into(),
                role: Role::Service,
                secret_hash: hash,
            },
            &Actor::Cli,
            now,
        )
        .expect("key");
    assert_eq!(
        store.api_key_by_hash(&hash).expect("lookup").map(|k| k.id),
        Some(key.id)
    );
    assert_eq!(store.api_keys(tenant.id).expect("list").len(), 1);
    let other = store
        .create_tenant("Other", false, &Actor::Cli, now)
        .expect("other");
    assert!(
        !store
            .revoke_api_key(other.id, key.id, &Actor::Cli, now)
            .expect("no such key there")
    );
    assert!(
        store
            .revoke_api_key(tenant.id, key.id, &Actor::Cli, now)
            .expect("revoked")
    );
    assert_eq!(store.api_key_by_hash(&hash).expect("lookup"), None);
    assert!(
        store.api_keys(tenant.id).expect("list")[0]
            .revoked_at
            .is_some()
    );
    let unknown = store.create_api_key(
        NewApiKey {
            tenant: TenantId::new(),
            operator_wide: false,
            name: "x".into(),
            role: Role::Admin,
            secret_hash: [7; 32],
        },
        &Actor::Cli,
        now,
    );
    assert!(matches!(unknown, Err(StoreError::NotFound("tenant"))));
}

pub fn there_is_one_operator_tenant(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    store
        .create_tenant("Operator", true, &Actor::Cli, now)
        .expect("first");
    assert!(matches!(
        store.create_tenant("Again", true, &Actor::Cli, now),
        Err(StoreError::OperatorExists)
    ));
    assert_eq!(store.tenants().expect("list").len(), 1);
}

pub fn a_tenants_profile_is_kept_and_its_changes_audited_by_field(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    let acme = store
        .create_tenant("Acme Oy", false, &Actor::Cli, now)
        .expect("created");
    assert_eq!(acme.profile, TenantProfile::default());
    let profile = TenantProfile {
        display_name: Some("Acme".into()),
        colour: Some("#0b57d0".into()),
        address: Some("Esimerkkikatu 1, 00100 Helsinki, Finland".into()),
        contact: Some("tietosuoja@acme.example".into()),
        dpo: Some("Åsa Lind, dpo@acme.example".into()),
        authority: Some("Office of the Data Protection Ombudsman".into()),
        notice_url: Some("https://acme.example/privacy".into()),
        ..TenantProfile::default()
    };
    let updated = store
        .update_tenant(acme.id, "Acme Oyj", &profile, &Actor::Cli, now)
        .expect("updated");
    assert_eq!(
        (updated.name.as_str(), &updated.profile),
        ("Acme Oyj", &profile)
    );
    let read = store.tenant(acme.id).expect("read").expect("there");
    assert_eq!(read, updated, "what is read back is what was written");
    // The same values again change nothing and add no audit entry.
    store
        .update_tenant(acme.id, "Acme Oyj", &profile, &Actor::Cli, now)
        .expect("unchanged");
    let cleared = TenantProfile {
        dpo: None,
        ..profile.clone()
    };
    store
        .update_tenant(acme.id, "Acme Oyj", &cleared, &Actor::Cli, now)
        .expect("cleared");
    let entries = store
        .audit_entries(acme.id, &AuditFilter::default())
        .expect("audit");
    let details: Vec<(&str, String)> = entries
        .iter()
        .map(|e| (e.action.as_str(), e.detail.clone().unwrap_or_default()))
        .collect();
    assert_eq!(details.len(), 3, "{details:?}");
    assert_eq!(details[1].0, "tenant.update");
    assert!(
        details[1]
            .1
            .ends_with("fields=name,display_name,colour,address,contact,dpo,authority,notice_url")
    );
    assert!(details[2].1.ends_with("fields=dpo"));
    assert!(
        !format!("{entries:?}").contains("Åsa"),
        "the audit log names fields, not values"
    );
    let unknown = store.update_tenant(TenantId::new(), "X", &profile, &Actor::Cli, now);
    assert!(matches!(unknown, Err(StoreError::NotFound("tenant"))));
}

pub fn every_write_is_audited_and_the_chain_verifies(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let ana = store
        .create_subject(tenant.id, &[email("ana@example.com")], &Actor::System, now)
        .expect("ana");
    store
        .put_records(
            tenant.id,
            &[
                record(ana, "user.name", "Ana"),
                record(ana, "user.contact.email", "ana@example.com"),
            ],
            &Actor::System,
            now,
        )
        .expect("written");
    store
        .append_audit(
            tenant.id,
            NewAuditEntry {
                actor: "key:test".into(),
                action: "records.read".into(),
                subject: Some(ana),
                categories: vec!["user.name".into()],
                purpose: Some("billing".into()),
                detail: None,
            },
            now,
        )
        .expect("read audited");
    let entries = store
        .audit_entries(tenant.id, &AuditFilter::default())
        .expect("audit");
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "tenant.create",
            "subject.create",
            "records.write",
            "records.read"
        ]
    );
    assert_eq!(entries[2].categories, ["user.contact.email", "user.name"]);
    let text = format!("{entries:?}");
    assert!(
        !text.contains("ana@example.com") && !text.contains("Ana\""),
        "no personal data in the audit log"
    );
    assert!(matches!(
        store.verify_audit(tenant.id).expect("verify"),
        Verification::Intact { entries: 4, .. }
    ));
    let reads = store
        .audit_entries(
            tenant.id,
            &AuditFilter {
                action: Some("records.read".into()),
                subject: Some(ana),
                ..AuditFilter::default()
            },
        )
        .expect("filtered");
    assert_eq!(reads.len(), 1);
    let page = store
        .audit_entries(
            tenant.id,
            &AuditFilter {
                after_seq: Some(2),
                limit: 1,
                ..AuditFilter::default()
            },
        )
        .expect("page");
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
}

pub fn a_write_repeated_with_the_same_ids_is_not_doubled(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let ana = store
        .create_subject(tenant.id, &[email("ana@example.com")], &Actor::Cli, now)
        .expect("ana");
    let record_id = RecordId::new();
    let event_id = EventId::new();
    let records = [NewRecord {
        id: Some(record_id),
        ..record(ana, "user.name", "Ana")
    }];
    let event = NewEvent {
        id: Some(event_id),
        kind: EventKind::ContractStart,
        purpose: None,
        occurred_at: now,
        channel: None,
        policy_version: None,
    };
    for _ in 0..3 {
        store
            .put_records(tenant.id, &records, &Actor::Cli, now)
            .expect("written");
        store
            .add_event(tenant.id, ana, &event, &Actor::Cli, now)
            .expect("recorded");
    }
    let stored = store.records(tenant.id, ana).expect("read");
    assert_eq!(stored.iter().map(|r| r.id).collect::<Vec<_>>(), [record_id]);
    assert_eq!(
        store
            .events(tenant.id, ana)
            .expect("events")
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>(),
        [event_id]
    );
}

pub fn every_loaded_policy_version_is_kept_once_with_its_text(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    let tenant = store
        .create_tenant("Operator", true, &Actor::System, now)
        .expect("tenant");
    assert!(
        store
            .keep_policy_version(
                tenant.id,
                "v1hash",
                "[notice]\nlast_updated = 2026-01-01\n",
                &Actor::System,
                now
            )
            .expect("kept")
    );
    assert!(
        !store
            .keep_policy_version(
                tenant.id,
                "v1hash",
                "[notice]\nlast_updated = 2026-01-01\n",
                &Actor::System,
                now
            )
            .expect("kept")
    );
    assert!(
        store
            .keep_policy_version(
                tenant.id,
                "v2hash",
                "second",
                &Actor::System,
                at("2025-03-01T00:00:00Z")
            )
            .expect("kept")
    );
    let versions: Vec<String> = store
        .policy_versions(tenant.id)
        .expect("versions")
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    assert_eq!(versions, ["v1hash", "v2hash"]);
    assert_eq!(
        store
            .policy_source(tenant.id, "v2hash")
            .expect("source")
            .as_deref(),
        Some("second")
    );
    assert_eq!(
        store.policy_source(tenant.id, "v3hash").expect("source"),
        None
    );
    let loads = store
        .audit_entries(
            tenant.id,
            &AuditFilter {
                action: Some("policy.load".into()),
                ..AuditFilter::default()
            },
        )
        .expect("audit");
    assert_eq!(
        loads.len(),
        2,
        "a reload of a known version is not a new entry"
    );
}

pub fn an_idempotency_key_runs_a_request_once_and_answers_repeats(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    let a = store
        .create_tenant("A", false, &Actor::Cli, now)
        .expect("a");
    let b = store
        .create_tenant("B", false, &Actor::Cli, now)
        .expect("b");
    let (request, other) = ([1u8; 32], [2u8; 32]);
    assert_eq!(
        store
            .claim_idempotency_key(a.id, "k1", &request, now)
            .expect("claim"),
        Idempotency::Claimed
    );
    assert_eq!(
        store
            .claim_idempotency_key(a.id, "k1", &request, now)
            .expect("claim"),
        Idempotency::InFlight
    );
    assert_eq!(
        store
            .claim_idempotency_key(b.id, "k1", &request, now)
            .expect("claim"),
        Idempotency::Claimed,
        "keys are per tenant"
    );
    store
        .complete_idempotency_key(a.id, "k1", 201, b"{\"id\":1}")
        .expect("complete");
    assert_eq!(
        store
            .claim_idempotency_key(a.id, "k1", &request, at("2025-02-01T10:00:00Z"))
            .expect("claim"),
        Idempotency::Done {
            status: 201,
            body: b"{\"id\":1}".to_vec()
        }
    );
    assert_eq!(
        store
            .claim_idempotency_key(a.id, "k1", &other, now)
            .expect("claim"),
        Idempotency::Mismatch
    );
    assert_eq!(
        store
            .claim_idempotency_key(a.id, "k1", &request, at("2025-02-02T00:00:01Z"))
            .expect("claim"),
        Idempotency::Claimed,
        "after a day the key is free"
    );

    assert_eq!(
        store
            .claim_idempotency_key(a.id, "k2", &request, now)
            .expect("claim"),
        Idempotency::Claimed
    );
    store.release_idempotency_key(a.id, "k2").expect("release");
    assert_eq!(
        store
            .claim_idempotency_key(a.id, "k2", &other, now)
            .expect("claim"),
        Idempotency::Claimed,
        "a failed request frees its key"
    );
    assert_eq!(
        store
            .claim_idempotency_key(a.id, "k2", &other, at("2025-02-01T00:05:00Z"))
            .expect("claim"),
        Idempotency::Claimed,
        "a claim never finished is taken over"
    );
}

pub fn an_import_batch_writes_each_line_once_and_refuses_a_bad_line_alone(store: &dyn Store) {
    use ombud_store::subjects::{ImportEvent, ImportLine, ImportRecord};
    let now = at("2025-02-01T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let imported = |n: u8, value: &str| ImportRecord {
        fingerprint: [n; 32],
        category: "user.name".into(),
        purposes: vec![],
        source: "subject".into(),
        collected_at: now,
        value: Secret::new(value),
    };
    let contract = ImportEvent {
        fingerprint: [9; 32],
        event: NewEvent {
            id: None,
            kind: EventKind::ContractStart,
            purpose: None,
            occurred_at: now,
            channel: Some("import".into()),
            policy_version: None,
        },
    };
    let line = |identities: Vec<Identity>, records: Vec<ImportRecord>, events: Vec<ImportEvent>| {
        ImportLine {
            identities,
            records,
            events,
        }
    };
    let answers = store
        .import_lines(
            tenant.id,
            vec![
                line(
                    vec![email("ana@example.com")],
                    vec![imported(1, "Ana")],
                    vec![contract],
                ),
                line(vec![email("bo@example.com")], vec![], vec![]),
                // Ana again, by a second identity first: the one known decides.
                line(
                    vec![email("ana.other@example.com"), email("ana@example.com")],
                    vec![imported(1, "Ana"), imported(2, "Ana Virtanen")],
                    vec![],
                ),
                // The same identity twice cannot be one person's twice: refused, alone.
                line(
                    vec![email("cy@example.com"), email("cy@example.com")],
                    vec![imported(3, "Cy")],
                    vec![],
                ),
            ],
            &Actor::Cli,
            now,
        )
        .expect("the batch is written");
    let ana = answers[0].as_ref().expect("ana");
    assert!(ana.created && ana.records == 1 && ana.events == [true]);
    assert!(answers[1].as_ref().expect("bo").created);
    let again = answers[2].as_ref().expect("ana again");
    assert_eq!(
        (again.subject, again.created, again.records),
        (ana.subject, false, 1)
    );
    assert!(matches!(answers[3], Err(StoreError::IdentityTaken(_))));
    assert_eq!(
        store
            .find_subject(tenant.id, &email("cy@example.com"))
            .expect("find"),
        None
    );
    let values: Vec<String> = store
        .records(tenant.id, ana.subject)
        .expect("records")
        .iter()
        .map(|r| r.value.expose().to_owned())
        .collect();
    assert_eq!(values.len(), 2, "each record once: {values:?}");
    // A batch with no line at fault, a person new to it named twice.
    let answers = store
        .import_lines(
            tenant.id,
            vec![
                line(
                    vec![email("eve@example.com")],
                    vec![imported(4, "Eve")],
                    vec![],
                ),
                line(
                    vec![email("eve@example.com")],
                    vec![imported(4, "Eve"), imported(5, "Eve Ek")],
                    vec![],
                ),
            ],
            &Actor::Cli,
            now,
        )
        .expect("written");
    let (first, second) = (
        answers[0].as_ref().expect("eve"),
        answers[1].as_ref().expect("eve again"),
    );
    assert_eq!((first.created, first.records), (true, 1));
    assert_eq!(
        (second.subject, second.created, second.records),
        (first.subject, false, 1)
    );
    assert_eq!(
        store
            .records(tenant.id, first.subject)
            .expect("records")
            .len(),
        2
    );
    // The whole line again adds nothing.
    let repeat = store
        .import_lines(
            tenant.id,
            vec![line(
                vec![email("ana@example.com")],
                vec![imported(1, "Ana")],
                vec![ImportEvent {
                    fingerprint: [9; 32],
                    event: NewEvent {
                        id: None,
                        kind: EventKind::ContractStart,
                        purpose: None,
                        occurred_at: now,
                        channel: Some("import".into()),
                        policy_version: None,
                    },
                }],
            )],
            &Actor::Cli,
            now,
        )
        .expect("written");
    let repeat = repeat[0].as_ref().expect("ana a third time");
    assert_eq!(
        (repeat.created, repeat.records, repeat.events.as_slice()),
        (false, 0, &[false][..])
    );
    assert_eq!(
        store.events(tenant.id, ana.subject).expect("events").len(),
        1
    );
    assert!(matches!(
        store.verify_audit(tenant.id).expect("verify"),
        Verification::Intact { .. }
    ));
    let unknown = store.import_lines(
        TenantId::new(),
        vec![line(vec![email("dee@example.com")], vec![], vec![])],
        &Actor::Cli,
        now,
    );
    assert!(
        unknown.is_err() || matches!(&unknown, Ok(answers) if answers[0].is_err()),
        "no person is created in a tenant that does not exist"
    );
}

pub fn a_batch_of_audit_entries_chains_each_tenant_in_order_or_writes_nothing(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    let acme = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("acme");
    let globex = store
        .create_tenant("Globex", false, &Actor::Cli, now)
        .expect("globex");
    let read = |n: usize| NewAuditEntry {
        actor: "key:test".into(),
        action: "records.read".into(),
        subject: None,
        categories: vec!["user.name".into()],
        purpose: Some("billing".into()),
        detail: Some(format!("n={n}")),
    };
    // Interleaved tenants, as concurrent reads arrive.
    let batch = (0..10)
        .map(|n| (if n % 3 == 0 { globex.id } else { acme.id }, read(n), now))
        .collect();
    store.append_audit_batch(batch).expect("appended");
    store
        .append_audit(acme.id, read(10), now)
        .expect("one more");
    let details = |tenant| {
        store
            .audit_entries(
                tenant,
                &AuditFilter {
                    action: Some("records.read".into()),
                    ..AuditFilter::default()
                },
            )
            .expect("entries")
            .into_iter()
            .map(|e| e.detail.unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        details(acme.id),
        ["n=1", "n=2", "n=4", "n=5", "n=7", "n=8", "n=10"]
    );
    assert_eq!(details(globex.id), ["n=0", "n=3", "n=6", "n=9"]);
    for (tenant, entries) in [(acme.id, 8), (globex.id, 5)] {
        match store.verify_audit(tenant).expect("verify") {
            Verification::Intact { entries: n, .. } => assert_eq!(n, entries),
            broken => panic!("the chain broke: {broken:?}"),
        }
    }
    store
        .append_audit_batch(Vec::new())
        .expect("an empty batch is nothing to do");
    // A batch naming a tenant that does not exist is refused whole.
    let refused = store.append_audit_batch(vec![
        (acme.id, read(11), now),
        (TenantId::new(), read(12), now),
    ]);
    assert!(
        refused.is_err(),
        "a batch with an unknown tenant is refused"
    );
    assert_eq!(
        details(acme.id).len(),
        7,
        "nothing of the refused batch was kept"
    );
}

pub fn concurrent_writers_never_fork_the_chain(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let subject = store
        .create_subject(tenant.id, &[email("ana@example.com")], &Actor::Cli, now)
        .expect("subject");
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..25 {
                    let event = NewEvent {
                        id: None,
                        kind: EventKind::LastInteraction,
                        purpose: None,
                        occurred_at: now,
                        channel: None,
                        policy_version: None,
                    };
                    store
                        .add_event(tenant.id, subject, &event, &Actor::System, now)
                        .expect("event");
                }
            });
        }
    });
    assert!(matches!(
        store.verify_audit(tenant.id).expect("verify"),
        Verification::Intact { entries: 202, .. }
    ));
}

fn new_request(kind: RequestKind, subject: Option<SubjectId>, contact: &str) -> NewRequest {
    NewRequest {
        kind,
        subject,
        contact: Some(email(contact)),
        purpose: None,
        category: None,
        record: None,
        new_value: None,
        channel: "api".into(),
        received_at: at("2026-03-01T10:00:00Z"),
        due_at: Some(at("2026-04-01T21:00:00Z")),
    }
}

fn code_mail(to: &str, request: Option<RequestId>) -> NewMail {
    NewMail {
        to: email(to),
        template: "request_code".into(),
        request,
        subject: "Your code".into(),
        body: "Your code is 123456".into(),
    }
}

/// The mailer is rung after a commit that queued mail, and only then: not for a write that
/// queued none, not for one that was refused (rolled back).
pub fn a_commit_that_queued_mail_rings_the_mailer(store: &dyn Store) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let now = at("2026-03-01T10:00:00Z");
    let rung = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&rung);
    store.when_mail_queued(Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    }));
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    assert_eq!(rung.load(Ordering::SeqCst), 0, "no mail, no ring");
    let filed = new_request(RequestKind::Access, None, "ana@example.com");
    let request = store
        .create_request(
            tenant.id,
            &DsRequest::from_new(tenant.id, RequestId::new(), &filed),
            &[code_mail("ana@example.com", None)],
            &Actor::Cli,
            now,
        )
        .expect("filed");
    assert_eq!(
        rung.load(Ordering::SeqCst),
        1,
        "rung once the request and its code committed"
    );
    // A stale writer is refused and its mail rolled back: nothing to send, no ring.
    let stale = DsRequest {
        version: request.version + 5,
        ..request.clone()
    };
    let refused = store.update_request(
        tenant.id,
        &stale,
        NewAuditEntry::request_step(&Actor::Cli, &stale, "extend"),
        &[code_mail("ana@example.com", Some(request.id))],
        now,
    );
    assert!(matches!(refused, Err(StoreError::Conflict(_))));
    assert_eq!(
        rung.load(Ordering::SeqCst),
        1,
        "a rolled-back mail rings nothing"
    );
    store
        .update_request(
            tenant.id,
            &request,
            NewAuditEntry::request_step(&Actor::Cli, &request, "start"),
            &[],
            now,
        )
        .expect("updated");
    assert_eq!(
        rung.load(Ordering::SeqCst),
        1,
        "a step without mail rings nothing"
    );
}

pub fn requests_keep_their_state_and_refuse_a_stale_writer(store: &dyn Store) {
    let now = at("2026-03-01T10:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let other = store
        .create_tenant("Other", false, &Actor::Cli, now)
        .expect("tenant");
    let mut filed = new_request(RequestKind::Rectification, None, "ana@example.com");
    filed.category = Some("user.name".into());
    filed.new_value = Some(Secret::new("Ana Lopez"));
    let request = store
        .create_request(
            tenant.id,
            &DsRequest::from_new(tenant.id, RequestId::new(), &filed),
            &[code_mail("ana@example.com", None)],
            &Actor::Cli,
            now,
        )
        .expect("filed");
    let read = store
        .request(tenant.id, request.id)
        .expect("read")
        .expect("there");
    assert_eq!(read.status, RequestStatus::Received);
    assert_eq!(read.contact, Some(email("ana@example.com")));
    assert_eq!(
        read.new_value.as_ref().map(Secret::expose),
        Some("Ana Lopez")
    );
    assert_eq!(read.due_at, Some(at("2026-04-01T21:00:00Z")));
    assert!(
        store.request(other.id, request.id).expect("read").is_none(),
        "another tenant sees nothing"
    );
    assert!(
        store
            .requests(other.id, &RequestFilter::default())
            .expect("list")
            .is_empty()
    );

    let mut verified = read.clone();
    verified.status = RequestStatus::Verified;
    verified.verified_at = Some(now);
    verified.verified_by = Some("email_code".into());
    verified.code_hash = Some([7; 32]);
    let saved = store
        .update_request(
            tenant.id,
            &verified,
            NewAuditEntry::request_step(&Actor::Cli, &verified, "verify"),
            &[],
            now,
        )
        .expect("saved");
    assert_eq!(saved.version, read.version + 1);
    let stale = store.update_request(
        tenant.id,
        &verified,
        NewAuditEntry::request_step(&Actor::Cli, &verified, "verify"),
        &[],
        now,
    );
    assert!(
        matches!(stale, Err(StoreError::Conflict("request"))),
        "{stale:?}"
    );
    let again = store
        .request(tenant.id, request.id)
        .expect("read")
        .expect("there");
    assert_eq!(again.status, RequestStatus::Verified);
    assert_eq!(again.code_hash, Some([7; 32]));
    assert_eq!(again.version, saved.version);

    // Paging and filters.
    for n in 0..3 {
        store
            .create_request(
                tenant.id,
                &DsRequest::from_new(
                    tenant.id,
                    RequestId::new(),
                    &new_request(RequestKind::Access, None, &format!("p{n}@example.com")),
                ),
                &[],
                &Actor::Cli,
                now,
            )
            .expect("filed");
    }
    let first = store
        .requests(
            tenant.id,
            &RequestFilter {
                limit: 2,
                ..Default::default()
            },
        )
        .expect("page");
    assert_eq!(first.len(), 2);
    let rest = store
        .requests(
            tenant.id,
            &RequestFilter {
                limit: 2,
                after: Some(first[1].id),
                ..Default::default()
            },
        )
        .expect("page");
    assert_eq!(rest.len(), 2);
    let received = store
        .requests(
            tenant.id,
            &RequestFilter {
                status: Some(RequestStatus::Received),
                ..Default::default()
            },
        )
        .expect("filtered");
    assert_eq!(received.len(), 3);

    // The deadline watcher marks each late request once.
    let late = at("2026-04-02T00:00:00Z");
    assert_eq!(store.mark_overdue(late).expect("marked").len(), 4);
    assert!(store.mark_overdue(late).expect("marked").is_empty());
    let overdue = store
        .requests(
            tenant.id,
            &RequestFilter {
                overdue: true,
                ..Default::default()
            },
        )
        .expect("list");
    assert_eq!(overdue.len(), 4);
    let counts = store.request_counts().expect("counts");
    assert!(
        counts.contains(&RequestCount {
            status: RequestStatus::Received,
            overdue: true,
            count: 3
        }),
        "{counts:?}"
    );
    assert!(matches!(
        store.verify_audit(tenant.id).expect("verify"),
        Verification::Intact { .. }
    ));
}

/// The console's queue: across the tenants a user sees and no other, each filter alone, the
/// nearest deadline first with requests whose clock waits last, and cursors that neither skip
/// nor repeat a request where deadlines tie.
pub fn the_console_queue_filters_pages_and_orders_across_tenants(store: &dyn Store) {
    let now = at("2026-03-01T10:00:00Z");
    let acme = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let globex = store
        .create_tenant("Globex", false, &Actor::Cli, now)
        .expect("tenant");
    let hidden = store
        .create_tenant("Hidden", false, &Actor::Cli, now)
        .expect("tenant");
    let file = |tenant: TenantId, kind: RequestKind, due: Option<&str>, assignee: Option<&str>| {
        let mut filed = new_request(kind, None, "p@example.com");
        filed.due_at = due.map(at);
        let request = store
            .create_request(
                tenant,
                &DsRequest::from_new(tenant, RequestId::new(), &filed),
                &[],
                &Actor::Cli,
                now,
            )
            .expect("filed");
        match assignee {
            None => request,
            Some(who) => {
                let mut taken = request.clone();
                taken.assignee = Some(who.into());
                store
                    .update_request(
                        tenant,
                        &taken,
                        NewAuditEntry::request_step(&Actor::Cli, &taken, "assign"),
                        &[],
                        now,
                    )
                    .expect("assigned")
            }
        }
    };
    let a1 = file(
        acme.id,
        RequestKind::Access,
        Some("2026-04-01T21:00:00Z"),
        Some("dpo@example.com"),
    );
    let a2 = file(
        acme.id,
        RequestKind::Erasure,
        Some("2026-03-10T21:00:00Z"),
        None,
    );
    let g1 = file(
        globex.id,
        RequestKind::Access,
        Some("2026-04-01T21:00:00Z"),
        None,
    );
    let g2 = file(globex.id, RequestKind::Objection, None, None);
    let g3 = file(
        globex.id,
        RequestKind::Access,
        Some("2026-03-20T21:00:00Z"),
        None,
    );
    let h1 = file(
        hidden.id,
        RequestKind::Access,
        Some("2026-03-02T21:00:00Z"),
        None,
    );
    let mut closed = file(
        acme.id,
        RequestKind::Access,
        Some("2026-03-05T21:00:00Z"),
        None,
    );
    closed.status = RequestStatus::Refused;
    closed.closed_at = Some(now);
    store
        .update_request(
            acme.id,
            &closed,
            NewAuditEntry::request_step(&Actor::Cli, &closed, "refuse"),
            &[],
            now,
        )
        .expect("refused");

    let seen = Some(vec![acme.id, globex.id]);
    let ids = |queue: &RequestQueue| -> Vec<RequestId> {
        store
            .request_queue(queue)
            .expect("queue")
            .iter()
            .map(|r| r.id)
            .collect()
    };
    let open = RequestQueue {
        tenants: seen.clone(),
        open: true,
        limit: 100,
        ..Default::default()
    };
    // Ties on a deadline go in filing order.
    assert_eq!(ids(&open), vec![a2.id, g3.id, a1.id, g1.id, g2.id]);
    let mut walked = vec![];
    let mut page = RequestQueue {
        limit: 2,
        ..open.clone()
    };
    loop {
        let got = store.request_queue(&page).expect("page");
        walked.extend(got.iter().map(|r| r.id));
        match got.last() {
            Some(last) if got.len() == 2 => page.after = Some(page.cursor_after(last)),
            _ => break,
        }
    }
    assert_eq!(walked, ids(&open), "pages neither skip nor repeat");
    assert_eq!(
        ids(&RequestQueue {
            tenants: Some(vec![globex.id]),
            ..open.clone()
        }),
        vec![g3.id, g1.id, g2.id]
    );
    assert_eq!(
        ids(&RequestQueue {
            tenants: Some(vec![]),
            ..open.clone()
        }),
        vec![]
    );
    assert_eq!(
        ids(&RequestQueue {
            kind: Some(RequestKind::Access),
            ..open.clone()
        }),
        vec![g3.id, a1.id, g1.id]
    );
    assert_eq!(
        ids(&RequestQueue {
            assigned: Some(Assigned::To("dpo@example.com".into())),
            ..open.clone()
        }),
        vec![a1.id]
    );
    assert_eq!(
        ids(&RequestQueue {
            assigned: Some(Assigned::Nobody),
            ..open.clone()
        }),
        vec![a2.id, g3.id, g1.id, g2.id]
    );
    assert_eq!(
        ids(&RequestQueue {
            due_before: Some(at("2026-03-21T00:00:00Z")),
            ..open.clone()
        }),
        vec![a2.id, g3.id]
    );
    assert_eq!(
        ids(&RequestQueue {
            open: false,
            status: Some(RequestStatus::Refused),
            ..open.clone()
        }),
        vec![closed.id]
    );
    // Every tenant, newest first, in pages.
    let everyone = RequestQueue {
        order: QueueOrder::Newest,
        limit: 4,
        ..Default::default()
    };
    let first = store.request_queue(&everyone).expect("page");
    assert_eq!(
        first.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![closed.id, h1.id, g3.id, g2.id]
    );
    assert_eq!(first[1].tenant, hidden.id);
    let rest = ids(&RequestQueue {
        after: Some(everyone.cursor_after(&first[3])),
        ..everyone.clone()
    });
    assert_eq!(rest, vec![g1.id, a2.id, a1.id]);
    // One person's requests.
    let ana = store
        .create_subject(acme.id, &[email("ana@example.com")], &Actor::Cli, now)
        .expect("subject");
    let mut hers = new_request(RequestKind::Access, Some(ana), "ana@example.com");
    hers.due_at = Some(at("2026-03-30T21:00:00Z"));
    let hers = store
        .create_request(
            acme.id,
            &DsRequest::from_new(acme.id, RequestId::new(), &hers),
            &[],
            &Actor::Cli,
            now,
        )
        .expect("filed");
    assert_eq!(
        ids(&RequestQueue {
            subject: Some(ana),
            ..open.clone()
        }),
        vec![hers.id]
    );
}

pub fn erasure_deletes_the_subject_and_its_key_or_keeps_what_the_law_holds(store: &dyn Store) {
    let now = at("2026-03-01T10:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let ana = store
        .create_subject(tenant.id, &[email("ana@example.com")], &Actor::Cli, now)
        .expect("ana");
    let ids = store
        .put_records(
            tenant.id,
            &[
                record(ana, "user.name", "Ana"),
                record(ana, "user.financial", "INV-1 120 EUR"),
            ],
            &Actor::Cli,
            now,
        )
        .expect("written");
    store
        .add_event(
            tenant.id,
            ana,
            &NewEvent {
                id: None,
                kind: EventKind::ContractStart,
                purpose: None,
                occurred_at: now,
                channel: None,
                policy_version: None,
            },
            &Actor::Cli,
            now,
        )
        .expect("event");
    let kept = [KeptRecord {
        record: ids[1],
        purposes: vec!["accounting".into()],
    }];
    let erasure = store
        .erase_subject(tenant.id, ana, &kept, None, &Actor::Cli, now)
        .expect("erased");
    assert_eq!(
        erasure,
        Erasure {
            records_deleted: 1,
            records_kept: 1,
            identities_deleted: 1,
            subject_deleted: false
        }
    );
    assert_eq!(
        store
            .find_subject(tenant.id, &email("ana@example.com"))
            .expect("lookup"),
        None
    );
    let left = store
        .records(tenant.id, ana)
        .expect("held records still open under the new key");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].value.expose(), "INV-1 120 EUR");
    assert_eq!(left[0].purposes, ["accounting"]);
    assert_eq!(
        store.events(tenant.id, ana).expect("events").len(),
        1,
        "the events that anchor the hold stay"
    );

    let ben = store
        .create_subject(tenant.id, &[email("ben@example.com")], &Actor::Cli, now)
        .expect("ben");
    store
        .put_records(
            tenant.id,
            &[record(ben, "user.name", "Ben")],
            &Actor::Cli,
            now,
        )
        .expect("written");
    let erasure = store
        .erase_subject(tenant.id, ben, &[], None, &Actor::Cli, now)
        .expect("erased");
    assert!(erasure.subject_deleted);
    assert!(!store.subject_exists(tenant.id, ben).expect("exists"));
    assert!(matches!(
        store.records(tenant.id, ben),
        Err(StoreError::NotFound("subject"))
    ));
    let tombstones = store.tombstones(tenant.id).expect("tombstones");
    assert_eq!(
        tombstones
            .iter()
            .map(|t| (t.subject, t.partial))
            .collect::<Vec<_>>(),
        [(ana, true), (ben, false)]
    );
    assert!(matches!(
        store.verify_audit(tenant.id).expect("verify"),
        Verification::Intact { .. }
    ));
}

pub fn rectification_replaces_the_value(store: &dyn Store) {
    let now = at("2026-03-01T10:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let ana = store
        .create_subject(tenant.id, &[email("ana@example.com")], &Actor::Cli, now)
        .expect("ana");
    let ids = store
        .put_records(
            tenant.id,
            &[record(ana, "user.name", "Ana Lopes")],
            &Actor::Cli,
            now,
        )
        .expect("written");
    store
        .rectify_record(
            tenant.id,
            ana,
            ids[0],
            &Secret::new("Ana Lopez"),
            &Actor::Cli,
            now,
        )
        .expect("rectified");
    let records = store.records(tenant.id, ana).expect("records");
    assert_eq!(records[0].value.expose(), "Ana Lopez");
    let other = store
        .create_tenant("Other", false, &Actor::Cli, now)
        .expect("tenant");
    assert!(
        store
            .rectify_record(other.id, ana, ids[0], &Secret::new("x"), &Actor::Cli, now)
            .is_err()
    );
}

pub fn an_export_is_handed_out_once_and_never_after_expiry(store: &dyn Store) {
    let now = at("2026-03-01T10:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let request = store
        .create_request(
            tenant.id,
            &DsRequest::from_new(
                tenant.id,
                RequestId::new(),
                &new_request(RequestKind::Access, None, "ana@example.com"),
            ),
            &[],
            &Actor::Cli,
            now,
        )
        .expect("filed");
    let expires = at("2026-03-04T10:00:00Z");
    store
        .put_export(
            tenant.id,
            request.id,
            &[1; 32],
            "export.zip",
            b"sealed",
            expires,
            &Actor::Cli,
            now,
        )
        .expect("kept");
    store
        .put_export(
            tenant.id,
            request.id,
            &[2; 32],
            "export.zip",
            b"sealed",
            expires,
            &Actor::Cli,
            now,
        )
        .expect("kept");
    let other = store
        .create_tenant("Other", false, &Actor::Cli, now)
        .expect("tenant");
    assert!(
        store
            .take_export(other.id, &[1; 32], now)
            .expect("take")
            .is_none(),
        "not across tenants"
    );
    assert_eq!(
        store
            .pending_export(tenant.id, &[1; 32], now)
            .expect("peek"),
        Some(("export.zip".to_owned(), expires)),
        "a look does not spend it"
    );
    assert_eq!(
        store.pending_export(other.id, &[1; 32], now).expect("peek"),
        None
    );
    assert_eq!(
        store
            .pending_export(tenant.id, &[2; 32], expires)
            .expect("peek"),
        None,
        "not once expired"
    );
    let export = store
        .take_export(tenant.id, &[1; 32], now)
        .expect("take")
        .expect("there once");
    assert_eq!(
        store
            .pending_export(tenant.id, &[1; 32], now)
            .expect("peek"),
        None
    );
    assert_eq!(
        (export.request, export.sealed.as_slice()),
        (request.id, &b"sealed"[..])
    );
    assert!(
        store
            .take_export(tenant.id, &[1; 32], now)
            .expect("take")
            .is_none(),
        "only once"
    );
    assert!(
        store
            .take_export(tenant.id, &[2; 32], expires)
            .expect("take")
            .is_none(),
        "expired"
    );
    store
        .put_export(
            tenant.id,
            request.id,
            &[3; 32],
            "export.zip",
            b"sealed",
            expires,
            &Actor::Cli,
            now,
        )
        .expect("kept");
    assert_eq!(store.remove_expired_exports(now).expect("removed"), 0);
    assert_eq!(store.remove_expired_exports(expires).expect("removed"), 1);
    assert!(
        store
            .take_export(tenant.id, &[3; 32], now)
            .expect("take")
            .is_none()
    );
}

pub fn the_outbox_leases_each_mail_to_one_sender_and_keeps_the_record(store: &dyn Store) {
    let now = at("2026-03-01T10:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let request = store
        .create_request(
            tenant.id,
            &DsRequest::from_new(
                tenant.id,
                RequestId::new(),
                &new_request(RequestKind::Access, None, "ana@example.com"),
            ),
            &[
                code_mail("ana@example.com", None),
                code_mail("ben@example.com", None),
            ],
            &Actor::Cli,
            now,
        )
        .expect("filed");
    let lease = at("2026-03-01T10:05:00Z");
    let mails = store.lease_mails(now, lease, 10).expect("leased");
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0].body, "Your code is 123456");
    assert!(
        store
            .lease_mails(now, lease, 10)
            .expect("leased")
            .is_empty(),
        "leased mails are not handed out twice"
    );
    store.mail_sent(tenant.id, mails[0].id, now).expect("sent");
    store
        .mail_failed(
            tenant.id,
            mails[1].id,
            "connection refused",
            at("2026-03-01T10:01:00Z"),
        )
        .expect("failed");
    assert_eq!(
        store.undelivered_mails(tenant.id).expect("counted"),
        1,
        "the failed one, not the sent one"
    );
    assert!(
        store
            .lease_mails(now, lease, 10)
            .expect("leased")
            .is_empty(),
        "a failed mail waits for its retry"
    );
    let retried = store
        .lease_mails(at("2026-03-01T10:01:00Z"), at("2026-03-01T10:06:00Z"), 10)
        .expect("leased");
    assert_eq!(retried.len(), 1);
    assert_eq!(
        retried[0].id, mails[1].id,
        "the failed one, whichever it was"
    );
    let record = store.mails(tenant.id, None).expect("record");
    assert_eq!(record.len(), 2);
    let sent = record.iter().find(|m| m.id == mails[0].id).expect("kept");
    assert_eq!(
        (sent.sent_at, sent.template.as_str()),
        (Some(now), "request_code")
    );
    assert_eq!(sent.to, Some(mails[0].to.clone()));
    let _ = request;
}

pub fn expired_records_go_in_whole_subjects_with_the_rule_audited(store: &dyn Store) {
    use ombud_store::retention::Expiry;
    let now = at("2026-03-01T10:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let mut people = vec![];
    for n in 0..5 {
        let subject = store
            .create_subject(
                tenant.id,
                &[email(&format!("p{n}@example.com"))],
                &Actor::Cli,
                now,
            )
            .expect("subject");
        let ids = store
            .put_records(
                tenant.id,
                &[
                    NewRecord {
                        purposes: vec!["billing".into(), "accounting".into()],
                        ..record(subject, "user.financial", "INV-1")
                    },
                    record(subject, "user.device.ip_address", "192.0.2.1"),
                ],
                &Actor::Cli,
                now,
            )
            .expect("records");
        store
            .add_event(
                tenant.id,
                subject,
                &NewEvent {
                    id: None,
                    kind: EventKind::ContractEnd,
                    purpose: None,
                    occurred_at: at("2025-01-01T00:00:00Z"),
                    channel: None,
                    policy_version: None,
                },
                &Actor::Cli,
                now,
            )
            .expect("event");
        people.push((subject, ids));
    }
    people.sort_by_key(|(s, _)| *s);
    let other = store
        .create_tenant("Other", false, &Actor::Cli, now)
        .expect("tenant");
    assert!(
        store
            .retention_batch(other.id, None, 10)
            .expect("batch")
            .is_empty()
    );

    let first = store.retention_batch(tenant.id, None, 3).expect("batch");
    assert_eq!(
        first.iter().map(|s| s.subject).collect::<Vec<_>>(),
        people[..3].iter().map(|p| p.0).collect::<Vec<_>>()
    );
    let second = store
        .retention_batch(tenant.id, Some(first[2].subject), 3)
        .expect("batch");
    assert_eq!(second.len(), 2, "paging by subject id");
    let one = &first[0];
    assert_eq!(one.records.len(), 2);
    assert_eq!(one.events.len(), 1);
    // One person read by key is the person as a batch reads them.
    let alone = store
        .retention_subject(tenant.id, one.subject)
        .expect("one person")
        .expect("found");
    assert_eq!(alone.records, one.records);
    assert_eq!(alone.events, one.events);
    assert!(
        store
            .retention_subject(tenant.id, ombud_store::model::SubjectId::new())
            .expect("read")
            .is_none(),
        "nobody by an unknown id"
    );
    let financial = one
        .records
        .iter()
        .find(|r| r.category == "user.financial")
        .expect("financial");
    assert_eq!(financial.purposes, ["billing", "accounting"]);

    let (a, a_ids) = &people[0];
    let (b, b_ids) = &people[1];
    let (c, c_ids) = &people[2];
    let expiries = [
        // One record of A goes; A keeps its invoice.
        Expiry {
            subject: *a,
            records: vec![(a_ids[1], "security-logs".into())],
            subject_may_go: true,
        },
        // Everything of B goes, and B with it.
        Expiry {
            subject: *b,
            records: vec![
                (b_ids[0], "accounting".into()),
                (b_ids[1], "security-logs".into()),
            ],
            subject_may_go: true,
        },
        // Everything of C goes, but the sweep did not see all of C: C stays.
        Expiry {
            subject: *c,
            records: vec![
                (c_ids[0], "accounting".into()),
                (c_ids[1], "security-logs".into()),
            ],
            subject_may_go: false,
        },
    ];
    let swept = store
        .expire_records(tenant.id, &expiries, &Actor::System, now)
        .expect("swept");
    assert_eq!(
        swept,
        ombud_store::retention::Swept {
            records: 5,
            subjects: 1
        }
    );
    assert_eq!(store.records(tenant.id, *a).expect("a").len(), 1);
    assert!(!store.subject_exists(tenant.id, *b).expect("b"));
    assert_eq!(
        store
            .find_subject(tenant.id, &email("p1@example.com"))
            .expect("lookup"),
        None
    );
    assert!(store.events(tenant.id, *b).expect("events").is_empty());
    assert!(store.subject_exists(tenant.id, *c).expect("c"));
    assert!(store.records(tenant.id, *c).expect("c").is_empty());
    let tombstones = store.tombstones(tenant.id).expect("tombstones");
    assert_eq!(
        tombstones
            .iter()
            .map(|t| (t.subject, t.partial))
            .collect::<Vec<_>>(),
        [(*b, false)]
    );

    let again = store
        .expire_records(tenant.id, &expiries, &Actor::System, now)
        .expect("repeat");
    assert_eq!(
        again,
        ombud_store::retention::Swept::default(),
        "a repeated batch removes nothing more"
    );
    let entries = store
        .audit_entries(
            tenant.id,
            &AuditFilter {
                action: Some("records.expire".into()),
                ..AuditFilter::default()
            },
        )
        .expect("audit");
    assert_eq!(entries.len(), 5, "one entry per subject and rule");
    assert!(entries.iter().any(|e| e.subject == Some(*b)
        && e.detail.as_deref() == Some("rule=security-logs records=1 subject_deleted=true")));
    assert!(matches!(
        store.verify_audit(tenant.id).expect("verify"),
        Verification::Intact { .. }
    ));
}

pub fn legal_holds_are_placed_listed_lapse_and_are_released_once(store: &dyn Store) {
    use ombud_store::retention::{HoldReason, NewHold};
    let now = at("2026-03-01T10:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let other = store
        .create_tenant("Other", false, &Actor::Cli, now)
        .expect("tenant");
    let subject = store
        .create_subject(tenant.id, &[email("held@example.com")], &Actor::Cli, now)
        .expect("subject");
    let claim = store
        .create_hold(
            tenant.id,
            &NewHold {
                reason: HoldReason::LegalClaim,
                subject: Some(subject),
                category: Some("user.financial".into()),
                note: "Case 2026-17".into(),
                ends_at: None,
            },
            &Actor::Cli,
            now,
        )
        .expect("placed");
    let investigation = store
        .create_hold(
            tenant.id,
            &NewHold {
                reason: HoldReason::SecurityInvestigation,
                subject: None,
                category: None,
                note: "Incident 42".into(),
                ends_at: Some(at("2026-04-01T00:00:00Z")),
            },
            &Actor::Cli,
            at("2026-03-01T10:00:01Z"),
        )
        .expect("placed");
    let all = store.holds(tenant.id, None).expect("holds");
    assert_eq!(
        all.iter().map(|h| h.id).collect::<Vec<_>>(),
        [investigation.id, claim.id],
        "newest first"
    );
    assert_eq!(all[1].subject, Some(subject));
    assert_eq!(all[1].category.as_deref(), Some("user.financial"));
    assert!(
        store.holds(other.id, None).expect("holds").is_empty(),
        "a tenant sees only its own"
    );
    let later = at("2026-04-01T00:00:00Z");
    assert_eq!(
        store
            .holds(tenant.id, Some(later))
            .expect("holds")
            .iter()
            .map(|h| h.id)
            .collect::<Vec<_>>(),
        [claim.id],
        "a hold lapses at its end"
    );
    assert!(
        !store
            .release_hold(other.id, claim.id, &Actor::Cli, now)
            .expect("release")
    );
    assert!(
        store
            .release_hold(tenant.id, claim.id, &Actor::Cli, now)
            .expect("release")
    );
    assert!(
        !store
            .release_hold(tenant.id, claim.id, &Actor::Cli, now)
            .expect("release"),
        "once"
    );
    assert!(
        store
            .holds(tenant.id, Some(later))
            .expect("holds")
            .is_empty()
    );
    let released = store.holds(tenant.id, None).expect("holds");
    assert_eq!(
        released[1].released_at,
        Some(now),
        "a released hold stays on record"
    );
    let entries = store
        .audit_entries(tenant.id, &AuditFilter::default())
        .expect("audit");
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e.action.as_str())
        .filter(|a| a.starts_with("hold."))
        .collect();
    assert_eq!(actions, ["hold.create", "hold.create", "hold.release"]);
    assert!(matches!(
        store.verify_audit(tenant.id).expect("verify"),
        Verification::Intact { .. }
    ));
}

/// The audit log's own retention: the oldest entries go in steps, a checkpoint remembers where
/// the chain starts, and what remains (and what is appended later) verifies from it.
pub fn audit_pruning_leaves_a_checkpoint_the_rest_verifies_from(store: &dyn Store) {
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, at("2023-01-01T00:00:00Z"))
        .expect("tenant");
    let entry = |action: &str| NewAuditEntry {
        actor: "cli".into(),
        action: action.into(),
        subject: None,
        categories: vec![],
        purpose: None,
        detail: None,
    };
    for month in 1..=5 {
        store
            .append_audit(
                tenant.id,
                entry("old"),
                at(&format!("2023-0{month}-10T00:00:00Z")),
            )
            .expect("append");
    }
    // Written out of time order: an old time behind a newer entry stays until that one goes.
    store
        .append_audit(tenant.id, entry("new"), at("2025-06-01T00:00:00Z"))
        .expect("append");
    store
        .append_audit(tenant.id, entry("late"), at("2023-07-01T00:00:00Z"))
        .expect("append");
    let all = store
        .audit_entries(tenant.id, &AuditFilter::default())
        .expect("entries");
    let old = all
        .iter()
        .filter(|e| e.at < at("2024-01-01T00:00:00Z"))
        .count() as u64;
    let before = at("2024-01-01T00:00:00Z");
    let now = at("2025-07-01T00:00:00Z");
    // Everything before the first new entry: the tenant's own first entries and the five.
    let prunable = store.audit_prunable(tenant.id, before).expect("prunable");
    assert_eq!(prunable, old - 1, "the late entry behind a new one stays");
    assert!(
        store
            .audit_checkpoint(tenant.id)
            .expect("checkpoint")
            .is_none()
    );

    let mut pruned = 0;
    loop {
        let step = store
            .prune_audit(tenant.id, before, 2, &Actor::System, now)
            .expect("prune");
        if step.entries == 0 {
            break;
        }
        assert!(step.entries <= 2);
        pruned += step.entries;
        match store.verify_audit(tenant.id).expect("verify") {
            Verification::Intact { pruned_through, .. } => {
                assert_eq!(pruned_through, Some(step.through))
            }
            broken => panic!("after a prune step: {broken:?}"),
        }
        assert!(pruned < 100, "pruning ends");
    }
    // The prune entries themselves are new (written now), so nothing more goes.
    assert_eq!(pruned, prunable);
    let left = store
        .audit_entries(tenant.id, &AuditFilter::default())
        .expect("entries");
    assert_eq!(left[0].action, "new");
    assert_eq!(left[1].action, "late");
    assert!(left[2..].iter().all(|e| e.action == "audit.prune"));
    assert!(
        left[2]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("entries=2"))
    );
    let checkpoint = store
        .audit_checkpoint(tenant.id)
        .expect("checkpoint")
        .expect("pruned");
    assert_eq!(checkpoint.seq, left[0].seq - 1);
    assert_eq!(checkpoint.hash, left[0].prev_hash);
    assert_eq!(checkpoint.at, at("2023-05-10T00:00:00Z"));
    assert_eq!(checkpoint.pruned_at, now);

    // The chain goes on after a prune, and a later prune of everything still verifies.
    store
        .append_audit(tenant.id, entry("after"), at("2025-08-01T00:00:00Z"))
        .expect("append");
    let later = at("2030-01-01T00:00:00Z");
    while store
        .prune_audit(tenant.id, later, 1000, &Actor::System, later)
        .expect("prune")
        .entries
        > 0
    {}
    let left = store
        .audit_entries(tenant.id, &AuditFilter::default())
        .expect("entries");
    assert!(
        left.iter()
            .all(|e| e.action == "audit.prune" && e.at == later)
    );
    assert!(matches!(
        store.verify_audit(tenant.id).expect("verify"),
        Verification::Intact {
            pruned_through: Some(_),
            ..
        }
    ));
    // Another tenant's chain is untouched.
    let other = store
        .create_tenant("Other", false, &Actor::Cli, at("2023-01-01T00:00:00Z"))
        .expect("tenant");
    assert!(
        store
            .audit_checkpoint(other.id)
            .expect("checkpoint")
            .is_none()
    );
    assert_eq!(
        store
            .prune_audit(
                other.id,
                at("2022-01-01T00:00:00Z"),
                10,
                &Actor::System,
                later
            )
            .expect("prune")
            .entries,
        0,
        "nothing older than the cut-off: nothing goes, nothing is appended"
    );
}

/// The erasure ledger names each erasure with what it kept, and replaying an entry on a store
/// that still has the subject (a restored copy) erases it again, keeping the same records.
pub fn erasures_are_ledgered_and_replayed_once_keeping_what_they_kept(store: &dyn Store) {
    let now = at("2026-01-10T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let mut people = vec![];
    for name in ["ana", "bo"] {
        let subject = store
            .create_subject(
                tenant.id,
                &[email(&format!("{name}@example.com"))],
                &Actor::Cli,
                now,
            )
            .expect("subject");
        let ids = store
            .put_records(
                tenant.id,
                &[
                    record(subject, "user.name", name),
                    record(subject, "user.financial", "invoice"),
                ],
                &Actor::Cli,
                now,
            )
            .expect("records");
        people.push((subject, ids));
    }
    let (ana, ana_ids) = &people[0];
    let (bo, bo_ids) = &people[1];
    let kept = [KeptRecord {
        record: ana_ids[1],
        purposes: vec!["accounting".into()],
    }];
    store
        .erase_subject(tenant.id, *ana, &kept, None, &Actor::Cli, now)
        .expect("erase");
    let ledger = store.erasure_ledger(tenant.id, None).expect("ledger");
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].subject, *ana);
    assert_eq!(ledger[0].kept, kept);
    assert!(
        store
            .erasure_ledger(tenant.id, Some(at("2026-01-11T00:00:00Z")))
            .expect("ledger")
            .is_empty(),
        "since filters by the time of erasure"
    );

    // Bo stands for a subject a restored copy still has: his entry erases him again.
    let entry = ErasureEntry {
        tenant: tenant.id,
        subject: *bo,
        request: None,
        erased_at: now,
        kept: vec![KeptRecord {
            record: bo_ids[1],
            purposes: vec!["accounting".into()],
        }],
    };
    let later = at("2026-01-12T00:00:00Z");
    assert_eq!(
        store
            .replay_erasure(&entry, &Actor::Cli, later)
            .expect("replay"),
        Replayed::Erased
    );
    let left = store.records(tenant.id, *bo).expect("kept record opens");
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].id, left[0].purposes.clone()),
        (bo_ids[1], vec!["accounting".to_owned()])
    );
    assert_eq!(
        store
            .find_subject(tenant.id, &email("bo@example.com"))
            .expect("lookup"),
        None
    );
    let whole = ErasureEntry {
        kept: vec![],
        ..entry.clone()
    };
    assert_eq!(
        store
            .replay_erasure(&whole, &Actor::Cli, later)
            .expect("replay"),
        Replayed::Erased
    );
    assert!(!store.subject_exists(tenant.id, *bo).expect("exists"));
    assert_eq!(
        store
            .replay_erasure(&whole, &Actor::Cli, later)
            .expect("replay"),
        Replayed::AlreadyGone
    );
    let elsewhere = ErasureEntry {
        tenant: TenantId(uuid::Uuid::now_v7()),
        ..whole
    };
    assert_eq!(
        store
            .replay_erasure(&elsewhere, &Actor::Cli, later)
            .expect("replay"),
        Replayed::NoTenant
    );
    assert!(matches!(
        store.verify_audit(tenant.id).expect("verify"),
        Verification::Intact { .. }
    ));
}

/// A rotation, as `ombud keys rotate` runs it: the store takes the key with a new generation,
/// rewraps every subject key, request key and queued mail, and everything still opens; once
/// the old generation is retired, nothing depends on it. `root` is the store's master key.
pub fn rotation_rewraps_every_key_and_mail(store: &dyn Store, root: &str) {
    use ombud_store::crypto::MasterKey;
    let now = at("2026-03-01T10:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let ana = store
        .create_subject(tenant.id, &[email("ana@example.com")], &Actor::Cli, now)
        .expect("subject");
    store
        .put_records(
            tenant.id,
            &[record(ana, "user.name", "Ana Lopez")],
            &Actor::Cli,
            now,
        )
        .expect("record");
    let request = store
        .create_request(
            tenant.id,
            &DsRequest::from_new(
                tenant.id,
                RequestId::new(),
                &new_request(RequestKind::Access, Some(ana), "ana@example.com"),
            ),
            &[code_mail("ana@example.com", None)],
            &Actor::Cli,
            now,
        )
        .expect("filed");
    // A console user with a second factor: their address and key are sealed too.
    let user = ombud_store::users::UserId::new();
    store
        .create_user(
            &ombud_store::users::NewUser {
                tenant: tenant.id,
                id: user,
                email: email("dpo@example.com"),
                role: Role::Dpo,
                setup_hash: [6; 32],
                setup_expires_at: at("2026-03-02T10:00:00Z"),
            },
            &Actor::Cli,
            now,
        )
        .expect("user");
    store
        .set_password(
            tenant.id,
            user,
            "hash",
            Some((b"twenty bytes of key!".as_slice(), 1)),
            &Actor::Cli,
            now,
        )
        .expect("set");
    let counts = store.sealed_generations().expect("counts");
    assert_eq!(counts.keys().copied().collect::<Vec<_>>(), [1]);
    let sealed = counts[&1];
    assert!(
        sealed >= 6,
        "subject key, request key, mail address and message, a user's address and key: {counts:?}"
    );

    let mut master = MasterKey::from_hex(root).expect("key");
    master.rotate(now).expect("randomness");
    store.reload_master_key(&master);
    assert_eq!(store.rewrap_keys().expect("rewrap"), sealed);
    assert_eq!(
        store.rewrap_keys().expect("rewrap"),
        0,
        "a second run finds nothing"
    );
    assert_eq!(
        store
            .sealed_generations()
            .expect("counts")
            .into_iter()
            .collect::<Vec<_>>(),
        [(2, sealed)]
    );
    master.retire(1);
    store.reload_master_key(&master);
    assert_eq!(
        store.records(tenant.id, ana).expect("opens")[0]
            .value
            .expose(),
        "Ana Lopez"
    );
    assert_eq!(
        store
            .find_subject(tenant.id, &email("ana@example.com"))
            .expect("lookup"),
        Some(ana),
        "identities are found by the same index"
    );
    let read = store
        .request(tenant.id, request.id)
        .expect("read")
        .expect("there");
    assert_eq!(read.contact, Some(email("ana@example.com")));
    let mails = store
        .lease_mails(now, at("2026-03-01T10:05:00Z"), 10)
        .expect("mail opens");
    assert_eq!(mails.len(), 1);
    assert_eq!(
        store.user(tenant.id, user).expect("opens").map(|u| u.email),
        Some(email("dpo@example.com"))
    );
    assert_eq!(
        store
            .totp_key(tenant.id, user)
            .expect("opens")
            .as_deref()
            .map(Vec::as_slice),
        Some(b"twenty bytes of key!".as_slice())
    );
    // Back to the root generation alone: what moved to generation 2 no longer opens.
    store.reload_master_key(&MasterKey::from_hex(root).expect("key"));
    assert!(store.records(tenant.id, ana).is_err());
}

/// The breach register: an incident is opened, changed with its version, timed-lined and
/// audited step by step, listed open or all, and never seen from another tenant.
pub fn incidents_keep_their_timeline_and_refuse_a_stale_writer(store: &dyn Store) {
    use ombud_store::incidents::{Incident, IncidentId};
    let now = at("2026-03-27T08:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let other = store
        .create_tenant("Other", false, &Actor::Cli, now)
        .expect("tenant");
    let opened = Incident {
        id: IncidentId::new(),
        title: "Backup bucket readable".into(),
        description: "A storage bucket with invoice exports was readable without a key.".into(),
        occurred_at: Some(at("2026-03-26T22:00:00Z")),
        aware_at: at("2026-03-27T07:30:00Z"),
        deadline_at: at("2026-03-30T07:30:00Z"),
        opened_at: now,
        closed_at: None,
        categories: vec!["user.financial".into()],
        consequences: None,
        measures: None,
        scope: None,
        impact: None,
        notifications: vec![],
        risk_unlikely: None,
        subjects_exempt: None,
        version: 0,
    };
    let stored = store
        .save_incident(
            tenant.id,
            &opened,
            "open",
            serde_json::json!({ "by": "cli" }),
            &Actor::Cli,
            now,
        )
        .expect("opened");
    assert_eq!(stored.version, 1);
    assert_eq!(
        store
            .save_incident(
                tenant.id,
                &opened,
                "open",
                serde_json::json!({}),
                &Actor::Cli,
                now
            )
            .err()
            .map(|e| e.to_string()),
        Some(StoreError::Conflict("incident").to_string()),
        "an id is opened once"
    );
    let measured = Incident {
        measures: Some("Bucket made private; keys rotated.".into()),
        ..stored.clone()
    };
    let later = at("2026-03-27T09:00:00Z");
    let saved = store
        .save_incident(
            tenant.id,
            &measured,
            "measures",
            serde_json::json!({ "measures": true }),
            &Actor::Cli,
            later,
        )
        .expect("saved");
    assert_eq!(saved.version, 2);
    assert!(
        matches!(
            store.save_incident(
                tenant.id,
                &measured,
                "measures",
                serde_json::json!({}),
                &Actor::Cli,
                later
            ),
            Err(StoreError::Conflict("incident"))
        ),
        "a change from an older version is refused"
    );
    let closed = Incident {
        closed_at: Some(later),
        ..saved
    };
    store
        .save_incident(
            tenant.id,
            &closed,
            "close",
            serde_json::json!({}),
            &Actor::Cli,
            later,
        )
        .expect("closed");
    let read = store
        .incident(tenant.id, opened.id)
        .expect("read")
        .expect("there");
    assert_eq!(
        read.measures.as_deref(),
        Some("Bucket made private; keys rotated.")
    );
    assert!(!read.is_open());
    let steps: Vec<String> = store
        .incident_timeline(tenant.id, opened.id)
        .expect("timeline")
        .into_iter()
        .map(|s| format!("{} {}", s.seq, s.kind))
        .collect();
    assert_eq!(steps, ["1 open", "2 measures", "3 close"]);
    assert_eq!(store.incidents(tenant.id, false).expect("all").len(), 1);
    assert!(store.incidents(tenant.id, true).expect("open").is_empty());
    assert!(store.open_incidents().expect("open").is_empty());
    assert!(store.incident(other.id, opened.id).expect("read").is_none());
    assert!(store.incidents(other.id, false).expect("all").is_empty());
    let second = Incident {
        id: IncidentId::new(),
        version: 0,
        closed_at: None,
        ..opened.clone()
    };
    store
        .save_incident(
            other.id,
            &second,
            "open",
            serde_json::json!({}),
            &Actor::Cli,
            now,
        )
        .expect("opened");
    let open = store.open_incidents().expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].0, open[0].1.id), (other.id, second.id));
    let audited: Vec<String> = store
        .audit_entries(tenant.id, &AuditFilter::default())
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("incident."))
        .collect();
    assert_eq!(
        audited,
        ["incident.open", "incident.measures", "incident.close"]
    );
    assert!(matches!(
        store.verify_audit(tenant.id).expect("verify"),
        Verification::Intact { .. }
    ));
}

/// One behaviour of the suite, run on a fresh store.
type Case = fn(&dyn Store);

/// The notice ledger: the audience is resolved (contacts of customers, holders of a category,
/// a list), the text is kept once per content hash, every person gets a line, queued lines go
/// out through the outbox with the notice's text, and the ledger answers both ways.
pub fn notices_are_ledgered_per_person_and_sent_through_the_outbox(store: &dyn Store) {
    use ombud_store::notices::{Audience, DeliveryStatus, NewDelivery, NewNotice, NoticeId};
    let now = at("2026-05-04T09:00:00Z");
    let operator = store
        .create_tenant("Operator", true, &Actor::Cli, now)
        .expect("operator");
    let acme = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("acme");
    let globex = store
        .create_tenant("Globex", false, &Actor::Cli, now)
        .expect("globex");
    let ana = store
        .create_subject(operator.id, &[email("ana@acme.example")], &Actor::Cli, now)
        .expect("ana");
    let bo = store
        .create_subject(operator.id, &[email("bo@globex.example")], &Actor::Cli, now)
        .expect("bo");
    let cy = store
        .create_subject(operator.id, &[phone("+358 40 111 2222")], &Actor::Cli, now)
        .expect("cy");
    assert!(
        store
            .set_tenant_contact(operator.id, acme.id, ana, true, &Actor::Cli, now)
            .expect("add")
    );
    assert!(
        !store
            .set_tenant_contact(operator.id, acme.id, ana, true, &Actor::Cli, now)
            .expect("again")
    );
    store
        .set_tenant_contact(operator.id, globex.id, bo, true, &Actor::Cli, now)
        .expect("add");
    store
        .set_tenant_contact(operator.id, globex.id, cy, true, &Actor::Cli, now)
        .expect("add");
    assert!(matches!(
        store.set_tenant_contact(
            operator.id,
            acme.id,
            SubjectId::new(),
            true,
            &Actor::Cli,
            now
        ),
        Err(StoreError::NotFound("subject"))
    ));
    assert_eq!(
        store
            .tenant_contacts(operator.id, acme.id)
            .expect("contacts"),
        vec![ana]
    );
    store
        .add_event(
            operator.id,
            bo,
            &NewEvent {
                id: None,
                kind: EventKind::Unsubscribe,
                purpose: Some("news".into()),
                occurred_at: at("2026-04-01T00:00:00Z"),
                channel: None,
                policy_version: None,
            },
            &Actor::Cli,
            now,
        )
        .expect("unsubscribe");

    let acme_only = store
        .notice_audience(operator.id, &Audience::Tenants(vec![acme.id]))
        .expect("audience");
    assert_eq!(acme_only.len(), 1);
    assert_eq!(acme_only[0].email, Some(email("ana@acme.example")));
    let everyone = store
        .notice_audience(operator.id, &Audience::Customers)
        .expect("audience");
    assert_eq!(everyone.len(), 3);
    let bo_line = everyone.iter().find(|a| a.subject == bo).expect("bo");
    assert_eq!(bo_line.events.len(), 1);
    assert_eq!(bo_line.events[0].kind, EventKind::Unsubscribe);
    assert!(
        everyone
            .iter()
            .find(|a| a.subject == cy)
            .expect("cy")
            .email
            .is_none()
    );
    let listed = store
        .notice_audience(
            operator.id,
            &Audience::Subjects(vec![cy, SubjectId::new(), cy]),
        )
        .expect("audience");
    assert_eq!(
        listed.iter().map(|a| a.subject).collect::<Vec<_>>(),
        vec![cy]
    );
    store
        .put_records(
            operator.id,
            &[
                record(ana, "user.contact.email", "x"),
                record(bo, "user.contactless", "y"),
            ],
            &Actor::Cli,
            now,
        )
        .expect("records");
    let holders = store
        .notice_audience(operator.id, &Audience::Category("user.contact".into()))
        .expect("audience");
    assert_eq!(
        holders.iter().map(|a| a.subject).collect::<Vec<_>>(),
        vec![ana]
    );
    // Another tenant's audience is its own: it has no contacts and none of these people.
    assert!(
        store
            .notice_audience(acme.id, &Audience::Customers)
            .expect("none")
            .is_empty()
    );
    assert!(
        store
            .notice_audience(acme.id, &Audience::Subjects(vec![ana]))
            .expect("none")
            .is_empty()
    );

    let news = |id| NewNotice {
        id,
        kind: "news".into(),
        mandatory: false,
        subject_line: "What is new in May".into(),
        body: "Faster exports.".into(),
        audience: Audience::Customers,
        incident: None,
    };
    let first = news(NoticeId::new());
    let stored = store
        .send_notice(
            operator.id,
            &first,
            &[
                NewDelivery::Queue {
                    subject: ana,
                    to: email("ana@acme.example"),
                },
                NewDelivery::Skip {
                    subject: bo,
                    reason: "unsubscribed at 2026-04-01T00:00:00Z".into(),
                },
                NewDelivery::Skip {
                    subject: cy,
                    reason: "no email address known".into(),
                },
            ],
            &Actor::Cli,
            now,
        )
        .expect("sent");
    assert_eq!((stored.queued, stored.skipped), (1, 2));
    assert_eq!(stored.subject_line, "What is new in May");
    let second = news(NoticeId::new());
    let again = store
        .send_notice(
            operator.id,
            &second,
            &[],
            &Actor::Cli,
            at("2026-05-05T09:00:00Z"),
        )
        .expect("sent again");
    // The same text is stored once: both notices point at one hash.
    assert_eq!(again.body_hash, stored.body_hash);
    let (_, body) = store
        .notice(operator.id, first.id)
        .expect("read")
        .expect("there");
    assert_eq!(body, "Faster exports.");
    assert_eq!(
        store
            .notices(operator.id)
            .expect("list")
            .iter()
            .map(|n| n.id)
            .collect::<Vec<_>>(),
        vec![second.id, first.id]
    );
    assert!(store.notice(acme.id, first.id).expect("read").is_none());
    assert!(
        store
            .notice_deliveries(acme.id, first.id)
            .expect("read")
            .is_empty()
    );

    let lines = store
        .notice_deliveries(operator.id, first.id)
        .expect("ledger");
    assert_eq!(lines.len(), 3);
    let line = |s| lines.iter().find(|l| l.subject == s).expect("line").clone();
    assert_eq!(line(ana).status, DeliveryStatus::Queued);
    assert_eq!(line(ana).to, Some(email("ana@acme.example")));
    assert_eq!(line(bo).status, DeliveryStatus::Skipped);
    assert!(
        line(bo)
            .reason
            .as_deref()
            .expect("why")
            .starts_with("unsubscribed")
    );

    let mails = store
        .lease_mails(now, at("2026-05-04T09:05:00Z"), 10)
        .expect("lease");
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, email("ana@acme.example"));
    assert_eq!(mails[0].subject, "What is new in May");
    assert_eq!(mails[0].body, "Faster exports.");
    assert_eq!(mails[0].template, "notice:news");
    store
        .mail_sent(operator.id, mails[0].id, at("2026-05-04T09:01:00Z"))
        .expect("sent");
    let received = store.subject_notices(operator.id, ana).expect("received");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].0.id, first.id);
    assert_eq!(received[0].1.status, DeliveryStatus::Sent);
    assert_eq!(received[0].1.sent_at, Some(at("2026-05-04T09:01:00Z")));
    let audit = store
        .audit_entries(
            operator.id,
            &AuditFilter {
                limit: 1000,
                ..AuditFilter::default()
            },
        )
        .expect("audit");
    let sent: Vec<_> = audit.iter().filter(|e| e.action == "notice.send").collect();
    assert_eq!(sent.len(), 2);
    assert!(
        sent[0]
            .detail
            .as_deref()
            .expect("detail")
            .contains("queued=1 skipped=2")
    );
    assert!(matches!(
        store.verify_audit(operator.id).expect("verify"),
        Verification::Intact { .. }
    ));

    // Removing a contact takes them out of the next audience, not out of the ledger.
    assert!(
        store
            .set_tenant_contact(operator.id, acme.id, ana, false, &Actor::Cli, now)
            .expect("remove")
    );
    assert!(
        store
            .tenant_contacts(operator.id, acme.id)
            .expect("contacts")
            .is_empty()
    );
    assert_eq!(
        store
            .notice_deliveries(operator.id, first.id)
            .expect("ledger")
            .len(),
        3
    );

    // Erasing a person takes the address their notices went to; the lines stay.
    store
        .erase_subject(operator.id, ana, &[], None, &Actor::Cli, now)
        .expect("erased");
    let lines = store
        .notice_deliveries(operator.id, first.id)
        .expect("ledger");
    let ana_line = lines
        .iter()
        .find(|l| l.subject == ana)
        .expect("the line stays");
    assert_eq!(
        (ana_line.status, ana_line.to.clone()),
        (DeliveryStatus::Erased, None)
    );
    assert!(
        store
            .mails(operator.id, None)
            .expect("outbox")
            .iter()
            .all(|m| m.template != "notice:news")
    );
}

/// The ledger obeys retention: lines of notices older than the rule for message records go
/// with their mails' addresses, and so do the lines of people who are gone; each notice keeps
/// its counts, and another tenant's ledger is untouched.
pub fn ledger_lines_go_under_their_rule_and_with_their_people(store: &dyn Store) {
    use ombud_store::notices::{Audience, NewDelivery, NewNotice, NoticeId};
    let now = at("2026-05-04T09:00:00Z");
    let operator = store
        .create_tenant("Operator", true, &Actor::Cli, now)
        .expect("operator");
    let acme = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("acme");
    let ana = store
        .create_subject(operator.id, &[email("ana@example.fi")], &Actor::Cli, now)
        .expect("ana");
    let bo = store
        .create_subject(operator.id, &[email("bo@example.fi")], &Actor::Cli, now)
        .expect("bo");
    let cy = store
        .create_subject(acme.id, &[email("cy@example.fi")], &Actor::Cli, now)
        .expect("cy");
    let send = |tenant, people: &[(SubjectId, &str)], when: &str| {
        let notice = NewNotice {
            id: NoticeId::new(),
            kind: "security".into(),
            mandatory: true,
            subject_line: format!("Maintenance {when}"),
            body: "A window tonight.".into(),
            audience: Audience::Customers,
            incident: None,
        };
        let deliveries: Vec<NewDelivery> = people
            .iter()
            .map(|(subject, to)| NewDelivery::Queue {
                subject: *subject,
                to: email(to),
            })
            .collect();
        store
            .send_notice(tenant, &notice, &deliveries, &Actor::Cli, at(when))
            .expect("sent");
        notice.id
    };
    let people = [(ana, "ana@example.fi"), (bo, "bo@example.fi")];
    let old = send(operator.id, &people, "2024-01-10T08:00:00Z");
    let recent = send(operator.id, &people, "2026-05-01T08:00:00Z");
    let theirs = send(acme.id, &[(cy, "cy@example.fi")], "2024-01-10T08:00:00Z");
    let lines = |tenant, notice| {
        store
            .notice_deliveries(tenant, notice)
            .expect("ledger")
            .len()
    };
    let outbox = |tenant| store.mails(tenant, None).expect("outbox").len();
    assert_eq!(
        (lines(operator.id, old), lines(operator.id, recent)),
        (2, 2)
    );
    assert_eq!(outbox(operator.id), 4);

    // Two years of message records, counted back from 4 May 2026: first counted, then removed.
    let cutoff = at("2024-05-04T09:00:00Z");
    assert_eq!(
        store.ledger_prunable(operator.id, cutoff).expect("counted"),
        2
    );
    assert_eq!(store.ledger_prunable(acme.id, cutoff).expect("counted"), 1);
    assert_eq!(
        store
            .ledger_prunable(operator.id, at("2024-01-10T08:00:00Z"))
            .expect("counted"),
        0,
        "a notice of that very moment is not before it"
    );
    let removed = store
        .prune_ledger(
            operator.id,
            Some(at("2024-05-04T09:00:00Z")),
            &[],
            &Actor::System,
            now,
        )
        .expect("pruned");
    assert_eq!(removed, 2);
    assert_eq!(
        (lines(operator.id, old), lines(operator.id, recent)),
        (0, 2)
    );
    assert_eq!(outbox(operator.id), 2, "the old mails' addresses went too");
    assert_eq!(
        store.ledger_prunable(operator.id, cutoff).expect("counted"),
        0
    );
    let kept = store
        .notices(operator.id)
        .expect("notices")
        .into_iter()
        .find(|n| n.id == old)
        .expect("the notice stays");
    assert_eq!(kept.queued, 2, "its count stays as an anonymous line");
    assert_eq!(
        lines(acme.id, theirs),
        1,
        "another tenant's ledger is its own"
    );

    // A person who is gone takes their lines along.
    let removed = store
        .prune_ledger(operator.id, None, &[bo], &Actor::System, now)
        .expect("pruned");
    assert_eq!(removed, 1);
    let left = store
        .notice_deliveries(operator.id, recent)
        .expect("ledger");
    assert_eq!(
        left.iter().map(|l| l.subject).collect::<Vec<_>>(),
        vec![ana]
    );
    assert_eq!(outbox(operator.id), 1);
    // Nothing left to remove is no change and no audit entry.
    assert_eq!(
        store
            .prune_ledger(operator.id, None, &[bo], &Actor::System, now)
            .expect("again"),
        0
    );
    let pruned: Vec<_> = store
        .audit_entries(
            operator.id,
            &AuditFilter {
                action: Some("ledger.prune".into()),
                ..AuditFilter::default()
            },
        )
        .expect("audit");
    assert_eq!(pruned.len(), 2);
    assert!(pruned.iter().all(|e| e.subject.is_none()), "never whose");
    assert!(matches!(
        store.verify_audit(operator.id).expect("verify"),
        Verification::Intact { .. }
    ));
}

/// Customers' choices of optional recipients, change notices and objections: each tenant's
/// own, objections once per recipient, changes listed newest first.
pub fn recipient_choices_changes_and_objections_are_kept(store: &dyn Store) {
    use ombud_store::notices::NoticeId;
    use ombud_store::subprocessors::{
        ChangeId, ChangedRecipient, Objection, RecipientChange, Resolution, Told,
    };
    let now = at("2026-05-04T09:00:00Z");
    let operator = store
        .create_tenant("Operator", true, &Actor::Cli, now)
        .expect("operator");
    let acme = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("acme");
    let globex = store
        .create_tenant("Globex", false, &Actor::Cli, now)
        .expect("globex");
    assert!(
        store
            .select_recipient(acme.id, "vultr", true, &Actor::Cli, now)
            .expect("select")
    );
    assert!(
        !store
            .select_recipient(acme.id, "vultr", true, &Actor::Cli, now)
            .expect("again")
    );
    store
        .select_recipient(globex.id, "upcloud", true, &Actor::Cli, now)
        .expect("select");
    assert_eq!(
        store.selected_recipients(acme.id).expect("mine"),
        vec![("vultr".to_owned(), now)]
    );
    assert_eq!(
        store.tenants_selecting("vultr").expect("who"),
        vec![acme.id]
    );
    assert!(
        store
            .select_recipient(globex.id, "upcloud", false, &Actor::Cli, now)
            .expect("deselect")
    );
    assert!(store.tenants_selecting("upcloud").expect("who").is_empty());

    let change = RecipientChange {
        id: ChangeId::new(),
        from_version: "a".into(),
        to_version: "b".into(),
        changes: vec![ChangedRecipient {
            recipient: "vultr".into(),
            code: "new-third-country-transfer".into(),
            summary: "Vultr now in Singapore".into(),
            material: true,
        }],
        told: vec![Told {
            tenant: acme.id,
            name: "Acme".into(),
            recipients: vec!["vultr".into()],
            notice: NoticeId::new(),
        }],
        objection_until: Some(at("2026-06-03T09:00:00Z")),
        effective_at: Some(at("2026-06-15T00:00:00Z")),
        created_at: now,
    };
    store
        .save_recipient_change(operator.id, &change, &Actor::Cli, now)
        .expect("saved");
    assert_eq!(
        store
            .recipient_change(operator.id, change.id)
            .expect("read"),
        Some(change.clone())
    );
    assert!(
        store
            .recipient_change(acme.id, change.id)
            .expect("read")
            .is_none()
    );
    assert_eq!(store.recipient_changes(operator.id).expect("list").len(), 1);
    let objection = Objection {
        change: change.id,
        tenant: acme.id,
        recipient: "vultr".into(),
        reason: "Our data stays in the EEA.".into(),
        at: now,
        resolution: None,
    };
    assert!(
        store
            .object_to_change(operator.id, &objection, &Actor::Cli)
            .expect("object")
    );
    assert!(
        !store
            .object_to_change(operator.id, &objection, &Actor::Cli)
            .expect("once")
    );
    assert_eq!(
        store
            .change_objections(operator.id, change.id)
            .expect("objections"),
        vec![objection.clone()]
    );
    // How it ended is recorded once and shown with the objection, which stays as raised.
    let accepted = Resolution {
        outcome: "accepted".into(),
        note: "Acme's selection excludes Vultr from 1 June.".into(),
        at: at("2026-05-10T09:00:00Z"),
        by: "cli".into(),
    };
    assert!(
        store
            .resolve_objection(operator.id, &objection, &accepted, &Actor::Cli)
            .expect("resolve")
    );
    let withdrawn = Resolution {
        outcome: "withdrawn".into(),
        ..accepted.clone()
    };
    assert!(
        !store
            .resolve_objection(operator.id, &objection, &withdrawn, &Actor::Cli)
            .expect("once"),
        "the first resolution stands"
    );
    let shown = store
        .change_objections(operator.id, change.id)
        .expect("objections");
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].reason, objection.reason);
    assert_eq!(shown[0].resolution, Some(accepted));
    // An objection never raised cannot be resolved.
    let unknown = Objection {
        recipient: "upcloud".into(),
        ..objection
    };
    assert!(
        !store
            .resolve_objection(operator.id, &unknown, &withdrawn, &Actor::Cli)
            .expect("nothing")
    );
    assert!(matches!(
        store.verify_audit(operator.id).expect("verify"),
        Verification::Intact { .. }
    ));
}

/// The number cached decisions are checked against moves with what decisions read (people,
/// identities, events), not with records or audit entries, and per tenant.
fn the_facts_generation_moves_with_every_change_a_decision_reads_and_only_then(store: &dyn Store) {
    let now = at("2025-02-01T00:00:00Z");
    let tenant = store
        .create_tenant("Acme", false, &Actor::Cli, now)
        .expect("tenant");
    let other = store
        .create_tenant("Globex", false, &Actor::Cli, now)
        .expect("other tenant");
    let generation = |tenant| {
        store
            .facts_generation(tenant)
            .expect("read")
            .expect("a known tenant has one")
    };
    let mut last = generation(tenant.id);
    let mut moved = |what: &str, expected: bool| {
        let now = generation(tenant.id);
        assert_eq!(now != last, expected, "{what}: {last} then {now}");
        last = now;
    };
    let ana = store
        .create_subject(tenant.id, &[email("ana@example.com")], &Actor::Cli, now)
        .expect("ana");
    moved("a person created", true);
    let withdrawal = NewEvent {
        id: None,
        kind: EventKind::ConsentWithdrawn,
        purpose: Some("newsletter".into()),
        occurred_at: now,
        channel: None,
        policy_version: None,
    };
    store
        .add_event(tenant.id, ana, &withdrawal, &Actor::Cli, now)
        .expect("event");
    moved("an event", true);
    store
        .put_records(
            tenant.id,
            &[record(ana, "user.name", "Ana")],
            &Actor::Cli,
            now,
        )
        .expect("record");
    moved("a record (no decision reads it)", false);
    store
        .append_audit(
            tenant.id,
            NewAuditEntry {
                actor: "key:test".into(),
                action: "records.read".into(),
                subject: Some(ana),
                categories: vec![],
                purpose: None,
                detail: None,
            },
            now,
        )
        .expect("audited");
    moved("an audit entry", false);
    let before_other = generation(other.id);
    store
        .erase_subject(tenant.id, ana, &[], None, &Actor::Cli, now)
        .expect("erased");
    moved("an erasure", true);
    assert_eq!(
        generation(other.id),
        before_other,
        "another tenant's generation is its own"
    );
    assert_eq!(store.facts_generation(TenantId::new()).expect("read"), None);
    // Read together, each tenant's number is the one read alone; an unknown tenant has none.
    let stranger = TenantId::new();
    let together = store
        .facts_generations(&[tenant.id, other.id, stranger])
        .expect("read together");
    assert_eq!(
        together,
        [
            (tenant.id, generation(tenant.id)),
            (other.id, generation(other.id))
        ]
        .into_iter()
        .collect()
    );
}

pub fn run_all(fresh: impl Fn() -> Box<dyn Store>) {
    let cases: [(&str, Case); 35] = [
        (
            "the_console_queue_filters_pages_and_orders_across_tenants",
            the_console_queue_filters_pages_and_orders_across_tenants,
        ),
        (
            "console_users_sign_in_lock_and_keep_sessions_by_hash",
            console_users_sign_in_lock_and_keep_sessions_by_hash,
        ),
        (
            "receipts_and_their_keys_are_kept_once_per_tenant",
            receipts_and_their_keys_are_kept_once_per_tenant,
        ),
        (
            "the_categories_held_are_counted_per_tenant",
            the_categories_held_are_counted_per_tenant,
        ),
        (
            "the_facts_generation_moves_with_every_change_a_decision_reads_and_only_then",
            the_facts_generation_moves_with_every_change_a_decision_reads_and_only_then,
        ),
        (
            "an_import_batch_writes_each_line_once_and_refuses_a_bad_line_alone",
            an_import_batch_writes_each_line_once_and_refuses_a_bad_line_alone,
        ),
        (
            "a_batch_of_audit_entries_chains_each_tenant_in_order_or_writes_nothing",
            a_batch_of_audit_entries_chains_each_tenant_in_order_or_writes_nothing,
        ),
        (
            "a_commit_that_queued_mail_rings_the_mailer",
            a_commit_that_queued_mail_rings_the_mailer,
        ),
        (
            "a_tenants_profile_is_kept_and_its_changes_audited_by_field",
            a_tenants_profile_is_kept_and_its_changes_audited_by_field,
        ),
        (
            "ledger_lines_go_under_their_rule_and_with_their_people",
            ledger_lines_go_under_their_rule_and_with_their_people,
        ),
        (
            "recipient_choices_changes_and_objections_are_kept",
            recipient_choices_changes_and_objections_are_kept,
        ),
        (
            "notices_are_ledgered_per_person_and_sent_through_the_outbox",
            notices_are_ledgered_per_person_and_sent_through_the_outbox,
        ),
        (
            "incidents_keep_their_timeline_and_refuse_a_stale_writer",
            incidents_keep_their_timeline_and_refuse_a_stale_writer,
        ),
        (
            "erasures_are_ledgered_and_replayed_once_keeping_what_they_kept",
            erasures_are_ledgered_and_replayed_once_keeping_what_they_kept,
        ),
        (
            "audit_pruning_leaves_a_checkpoint_the_rest_verifies_from",
            audit_pruning_leaves_a_checkpoint_the_rest_verifies_from,
        ),
        (
            "legal_holds_are_placed_listed_lapse_and_are_released_once",
            legal_holds_are_placed_listed_lapse_and_are_released_once,
        ),
        (
            "expired_records_go_in_whole_subjects_with_the_rule_audited",
            expired_records_go_in_whole_subjects_with_the_rule_audited,
        ),
        (
            "requests_keep_their_state_and_refuse_a_stale_writer",
            requests_keep_their_state_and_refuse_a_stale_writer,
        ),
        (
            "erasure_deletes_the_subject_and_its_key_or_keeps_what_the_law_holds",
            erasure_deletes_the_subject_and_its_key_or_keeps_what_the_law_holds,
        ),
        (
            "rectification_replaces_the_value",
            rectification_replaces_the_value,
        ),
        (
            "an_export_is_handed_out_once_and_never_after_expiry",
            an_export_is_handed_out_once_and_never_after_expiry,
        ),
        (
            "the_outbox_leases_each_mail_to_one_sender_and_keeps_the_record",
            the_outbox_leases_each_mail_to_one_sender_and_keeps_the_record,
        ),
        (
            "concurrent_writers_never_fork_the_chain",
            concurrent_writers_never_fork_the_chain,
        ),
        (
            "an_idempotency_key_runs_a_request_once_and_answers_repeats",
            an_idempotency_key_runs_a_request_once_and_answers_repeats,
        ),
        (
            "every_loaded_policy_version_is_kept_once_with_its_text",
            every_loaded_policy_version_is_kept_once_with_its_text,
        ),
        (
            "a_write_repeated_with_the_same_ids_is_not_doubled",
            a_write_repeated_with_the_same_ids_is_not_doubled,
        ),
        (
            "subjects_are_found_by_any_identity_however_it_was_typed",
            subjects_are_found_by_any_identity_however_it_was_typed,
        ),
        (
            "an_identity_belongs_to_one_subject_and_a_clash_writes_nothing",
            an_identity_belongs_to_one_subject_and_a_clash_writes_nothing,
        ),
        (
            "records_round_trip_sealed_and_events_keep_their_order",
            records_round_trip_sealed_and_events_keep_their_order,
        ),
        (
            "a_batch_with_an_unknown_subject_writes_nothing",
            a_batch_with_an_unknown_subject_writes_nothing,
        ),
        (
            "a_job_lease_has_one_holder_until_it_expires",
            a_job_lease_has_one_holder_until_it_expires,
        ),
        (
            "a_tenant_sees_nothing_of_another",
            a_tenant_sees_nothing_of_another,
        ),
        (
            "api_keys_are_found_by_hash_until_revoked",
            api_keys_are_found_by_hash_until_revoked,
        ),
        ("there_is_one_operator_tenant", there_is_one_operator_tenant),
        (
            "every_write_is_audited_and_the_chain_verifies",
            every_write_is_audited_and_the_chain_verifies,
        ),
    ];
    for (name, case) in cases {
        eprintln!("store suite: {name}");
        let store = fresh();
        case(store.as_ref());
    }
}
