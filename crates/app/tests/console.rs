//! The console's sign-in with a fixed clock: a setup link works 24 hours and once, passwords
//! too short, common or made of the address are refused, five wrong passwords lock the account
//! for exactly 15 minutes, a session ends after 30 idle minutes or 12 hours, each sign-in gets a
//! new token, and every step is in the tenant's audit log without the address.

use jiff::{SignedDuration, Timestamp};
use ombud_app::console::{self, ConsoleError};
use ombud_store::audit::AuditFilter;
use ombud_store::model::{Role, TenantId};
use ombud_store::prelude::*;
use ombud_store::{Actor, SqliteStore};

const GOOD: &str = "copper kettle orbits quietly";

fn at(text: &str) -> Timestamp {
    text.parse().expect("time")
}

fn plus(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d).expect("time")
}

fn store(dir: &std::path::Path) -> (SqliteStore, TenantId) {
    let master = ombud_store::crypto::MasterKey::generate().expect("key");
    let store = SqliteStore::open(&dir.join("ombud.db"), &master).expect("store");
    let clock = ombud_core::ManualClock::new(at("2026-03-01T00:00:00Z"));
    let operator = ombud_app::bootstrap::ensure_operator(&store, &clock, "Operator")
        .expect("bootstrap")
        .operator;
    (store, operator)
}

fn field(error: ConsoleError) -> &'static str {
    match error {
        ConsoleError::Invalid { field, .. } => field,
        other => panic!("not a refusal of a value: {other}"),
    }
}

#[test]
fn a_setup_link_works_once_within_24_hours_and_only_for_a_good_password() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, tenant) = store(dir.path());
    let t0 = at("2026-03-28T23:30:00Z");
    let created =
        console::create_user(&store, tenant, "dpo@example.fi", Role::Dpo, &Actor::Cli, t0)
            .expect("created");
    let link = created.setup_token.to_string();
    assert_eq!(link.len(), 64);
    assert!(
        !format!("{:?}", created.user).contains("dpo@example.fi"),
        "a user's Debug redacts the address"
    );

    for (password, why) in [
        ("short words", "too short"),
        ("password1234", "a common password"),
        ("qwertyuiopasdf", "a row of the keyboard"),
        ("dpo@example.fi!", "the address itself"),
    ] {
        let refused = console::set_password(&store, &link, password, None, t0).expect_err(why);
        assert_eq!(field(refused), "password", "{why}");
    }
    let long = "x".repeat(console::MAX_PASSWORD + 1);
    assert_eq!(
        field(console::set_password(&store, &link, &long, None, t0).expect_err("long")),
        "password"
    );

    // The link's last moment is 24 hours on; then it is dead.
    let last = plus(
        t0,
        SignedDuration::from_hours(24) - SignedDuration::from_secs(1),
    );
    assert!(console::setup_user(&store, &link, last).is_ok());
    assert!(matches!(
        console::setup_user(&store, &link, plus(t0, SignedDuration::from_hours(24))),
        Err(ConsoleError::BadSetupLink)
    ));
    let set = console::set_password(&store, &link, GOOD, None, last).expect("set");
    assert!(
        set.password_hash
            .as_deref()
            .is_some_and(|h| h.starts_with("$argon2id$"))
    );
    assert!(
        matches!(
            console::set_password(&store, &link, GOOD, None, last),
            Err(ConsoleError::BadSetupLink)
        ),
        "spent"
    );
    assert!(matches!(
        console::set_password(&store, "not a link", GOOD, None, last),
        Err(ConsoleError::BadSetupLink)
    ));

    assert_eq!(
        field(
            console::create_user(
                &store,
                tenant,
                "DPO@example.fi",
                Role::Agent,
                &Actor::Cli,
                t0
            )
            .expect_err("taken")
        ),
        "email"
    );
    assert_eq!(
        field(
            console::create_user(
                &store,
                tenant,
                "app@example.fi",
                Role::Service,
                &Actor::Cli,
                t0
            )
            .expect_err("service")
        ),
        "role"
    );
    assert_eq!(
        field(
            console::create_user(&store, tenant, "not an address", Role::Dpo, &Actor::Cli, t0)
                .expect_err("address")
        ),
        "email"
    );
}

/// A user of `tenant` with the good password set at `t0`.
fn ready(store: &SqliteStore, tenant: TenantId, email: &str, t0: Timestamp) {
    let created =
        console::create_user(store, tenant, email, Role::Dpo, &Actor::Cli, t0).expect("created");
    console::set_password(store, &created.setup_token, GOOD, None, t0).expect("set");
}

#[test]
fn five_wrong_passwords_lock_the_account_for_fifteen_minutes() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, tenant) = store(dir.path());
    let t0 = at("2026-10-25T00:50:00Z");
    ready(&store, tenant, "agent@example.fi", t0);
    for _ in 0..4 {
        assert!(matches!(
            console::sign_in(&store, "agent@example.fi", "wrong password here", None, t0),
            Err(ConsoleError::BadCredentials)
        ));
    }
    let until = plus(t0, console::LOCK_FOR);
    assert!(matches!(
        console::sign_in(&store, "agent@example.fi", "wrong password here", None, t0),
        Err(ConsoleError::Locked(u)) if u == until
    ));
    // Locked, even the right password is refused until the last second…
    assert!(matches!(
        console::sign_in(
            &store,
            "agent@example.fi",
            GOOD,
            None,
            plus(until, SignedDuration::from_secs(-1))
        ),
        Err(ConsoleError::Locked(_))
    ));
    // …and works from the moment the lock ends.
    assert!(console::sign_in(&store, "agent@example.fi", GOOD, None, until).is_ok());
    // An address with no account gets the same answer as a wrong password.
    assert!(matches!(
        console::sign_in(&store, "nobody@example.fi", GOOD, None, until),
        Err(ConsoleError::BadCredentials)
    ));
    assert!(matches!(
        console::sign_in(&store, "not an address", GOOD, None, until),
        Err(ConsoleError::BadCredentials)
    ));
    let entries = store
        .audit_entries(
            tenant,
            &AuditFilter {
                limit: 100,
                ..AuditFilter::default()
            },
        )
        .expect("entries");
    let actions: Vec<&str> = entries
        .iter()
        .filter(|e| e.action.starts_with("console.sign_in") || e.action == "console.locked")
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "console.sign_in_failed",
            "console.sign_in_failed",
            "console.sign_in_failed",
            "console.sign_in_failed",
            "console.sign_in_failed",
            "console.locked",
            "console.sign_in",
        ]
    );
    let all = format!("{entries:?}");
    assert!(!all.contains("agent@example.fi") && !all.contains(GOOD));
}

#[test]
fn a_session_ends_after_thirty_idle_minutes_or_twelve_hours_and_each_sign_in_has_a_new_token() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, tenant) = store(dir.path());
    // Across the night the clocks go back in Helsinki: the timeouts are elapsed time.
    let t0 = at("2026-10-24T22:00:00Z");
    ready(&store, tenant, "dpo@example.fi", t0);
    let first = console::sign_in(&store, "dpo@example.fi", GOOD, None, t0).expect("signed in");
    let second = console::sign_in(&store, "dpo@example.fi", GOOD, None, t0).expect("signed in");
    assert_ne!(*first.session_token, *second.session_token);

    // Idle: alive at 29:59, gone at 30:00.
    let idle_edge = plus(t0, console::IDLE_TIMEOUT);
    assert!(
        console::session(
            &store,
            &first.session_token,
            plus(idle_edge, SignedDuration::from_secs(-1))
        )
        .expect("read")
        .is_some()
    );
    let touched = plus(idle_edge, SignedDuration::from_secs(-1));
    assert!(
        console::session(
            &store,
            &first.session_token,
            plus(touched, SignedDuration::from_mins(29))
        )
        .expect("read")
        .is_some(),
        "each request moves the idle clock"
    );
    assert!(
        console::session(&store, &second.session_token, idle_edge)
            .expect("read")
            .is_none(),
        "the second session was idle 30 minutes"
    );

    // Absolute: used every 20 minutes, it still ends 12 hours after sign-in.
    let mut now = plus(touched, SignedDuration::from_mins(29));
    let end = plus(t0, console::ABSOLUTE_TIMEOUT);
    while plus(now, SignedDuration::from_mins(20)) < end {
        now = plus(now, SignedDuration::from_mins(20));
        assert!(
            console::session(&store, &first.session_token, now)
                .expect("read")
                .is_some(),
            "{now}"
        );
    }
    assert!(
        console::session(&store, &first.session_token, end)
            .expect("read")
            .is_none()
    );

    // Signing out ends it at once.
    let third = console::sign_in(&store, "dpo@example.fi", GOOD, None, end).expect("signed in");
    assert!(console::sign_out(&store, &third.session_token, end).expect("out"));
    assert!(
        console::session(&store, &third.session_token, end)
            .expect("read")
            .is_none()
    );
    assert!(!console::sign_out(&store, &third.session_token, end).expect("out"));

    let whys: Vec<String> = store
        .audit_entries(
            tenant,
            &AuditFilter {
                limit: 500,
                ..AuditFilter::default()
            },
        )
        .expect("entries")
        .into_iter()
        .filter(|e| e.action == "console.sign_out")
        .filter_map(|e| e.detail)
        .map(|d| d.rsplit("why=").next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(whys, ["idle", "expired", "sign_out"]);
}

#[test]
fn a_forms_csrf_token_is_its_sessions_alone() {
    let token = "a".repeat(64);
    let csrf = console::csrf_token(&token);
    assert!(console::csrf_holds(&token, &csrf));
    assert!(!console::csrf_holds(&"b".repeat(64), &csrf));
    assert!(!console::csrf_holds(&token, ""));
    assert!(!console::csrf_holds(&token, &csrf[..31]));
}

/// The code an authenticator app shows at `at` for a base32 key, as the app computes it.
fn code(secret: &str, at: Timestamp) -> String {
    let key = totp_rs::Secret::try_from_base32(secret.replace(' ', "")).expect("base32");
    totp_rs::Builder::new()
        .with_secret(key)
        .build()
        .expect("totp")
        .generate(u64::try_from(at.as_second()).expect("after 1970"))
        .to_string()
}

#[test]
fn an_admin_sets_up_a_second_factor_and_signs_in_with_each_code_once() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, tenant) = store(dir.path());
    let t0 = at("2026-03-29T00:59:50Z");
    let created = console::create_user(
        &store,
        tenant,
        "admin@example.fi",
        Role::Admin,
        &Actor::Cli,
        t0,
    )
    .expect("created");
    let link = created.setup_token.to_string();
    let enrolment = console::enrolment(&link, &created.user).expect("offered");
    assert!(
        enrolment
            .url
            .starts_with("otpauth://totp/ombud:admin%40example.fi?secret="),
        "{}",
        enrolment.url.as_str()
    );
    assert_eq!(enrolment.secret.len(), 32, "20 bytes in base32");

    // An admin cannot skip it, nor confirm it with a wrong code.
    assert_eq!(
        field(console::set_password(&store, &link, GOOD, None, t0).expect_err("no code")),
        "code"
    );
    assert_eq!(
        field(console::set_password(&store, &link, GOOD, Some("000000"), t0).expect_err("wrong")),
        "code"
    );
    let setup_code = code(&enrolment.secret, t0);
    let set = console::set_password(&store, &link, GOOD, Some(&setup_code), t0).expect("set");
    assert!(set.totp_step.is_some_and(|step| step > 0));
    // The code that confirmed the key is spent.
    assert!(matches!(
        console::sign_in(&store, "admin@example.fi", GOOD, Some(&setup_code), t0),
        Err(ConsoleError::SecondFactor)
    ));

    // The password alone asks for the code; that is no failure.
    let later = plus(t0, SignedDuration::from_mins(5));
    assert!(matches!(
        console::sign_in(&store, "admin@example.fi", GOOD, None, later),
        Err(ConsoleError::SecondFactor)
    ));
    let now_code = code(&enrolment.secret, later);
    assert!(console::sign_in(&store, "admin@example.fi", GOOD, Some(&now_code), later).is_ok());
    // The same code again — a replay — is refused and counted.
    assert!(matches!(
        console::sign_in(&store, "admin@example.fi", GOOD, Some(&now_code), later),
        Err(ConsoleError::SecondFactor)
    ));
    // The previous step's code is still accepted once the next step has come (clock drift), a
    // code two steps old is not.
    let next = plus(later, SignedDuration::from_secs(30));
    assert!(
        console::sign_in(
            &store,
            "admin@example.fi",
            GOOD,
            Some(&code(&enrolment.secret, next)),
            next
        )
        .is_ok()
    );
    let stale = plus(next, SignedDuration::from_secs(90));
    assert!(matches!(
        console::sign_in(
            &store,
            "admin@example.fi",
            GOOD,
            Some(&code(&enrolment.secret, next)),
            stale
        ),
        Err(ConsoleError::SecondFactor)
    ));
    // Wrong codes lock like wrong passwords: the stale code and four wrong ones are five
    // failures in a row since the last sign-in.
    for _ in 0..3 {
        assert!(matches!(
            console::sign_in(&store, "admin@example.fi", GOOD, Some("123456"), stale),
            Err(ConsoleError::SecondFactor)
        ));
    }
    assert!(matches!(
        console::sign_in(&store, "admin@example.fi", GOOD, Some("123456"), stale),
        Err(ConsoleError::Locked(_))
    ));
    // A wrong password never reveals whether a code would be needed.
    let dpo = console::create_user(&store, tenant, "dpo@example.fi", Role::Dpo, &Actor::Cli, t0)
        .expect("created");
    console::set_password(&store, &dpo.setup_token, GOOD, None, t0).expect("a DPO may go without");
    assert!(console::sign_in(&store, "dpo@example.fi", GOOD, None, later).is_ok());
}

#[test]
fn a_reset_ends_the_sessions_and_the_old_password_and_a_new_link_sets_another() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, tenant) = store(dir.path());
    let t0 = at("2026-05-31T21:00:00Z");
    ready(&store, tenant, "agent@example.fi", t0);
    let user = store
        .user_by_email(
            &ombud_core::Identity::parse(ombud_core::IdentityKind::Email, "agent@example.fi")
                .expect("email"),
        )
        .expect("read")
        .expect("user");
    let signed = console::sign_in(&store, "agent@example.fi", GOOD, None, t0).expect("signed in");
    let reset = console::reset_user(&store, tenant, user.id, &Actor::Cli, t0).expect("reset");
    assert!(
        console::session(&store, &signed.session_token, t0)
            .expect("read")
            .is_none()
    );
    assert!(matches!(
        console::sign_in(&store, "agent@example.fi", GOOD, None, t0),
        Err(ConsoleError::BadCredentials)
    ));
    let other = "slate harbour lantern drifts";
    console::set_password(&store, &reset.setup_token, other, None, t0).expect("set");
    assert!(console::sign_in(&store, "agent@example.fi", other, None, t0).is_ok());

    console::disable_user(&store, tenant, user.id, &Actor::Cli, t0).expect("disabled");
    assert!(matches!(
        console::sign_in(&store, "agent@example.fi", other, None, t0),
        Err(ConsoleError::BadCredentials)
    ));
    assert_eq!(
        field(console::reset_user(&store, tenant, user.id, &Actor::Cli, t0).expect_err("disabled")),
        "user"
    );
    assert_eq!(
        field(console::disable_user(&store, tenant, user.id, &Actor::Cli, t0).expect_err("twice")),
        "user"
    );
}
