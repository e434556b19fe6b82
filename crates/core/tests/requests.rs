//! Request deadlines, extensions and what erasure and portability keep, against the invoicing
//! example policy (controller in Europe/Helsinki, "1 month" plus "2 months").

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_core::facts::{Event, EventKind, SubjectFacts};
use ombud_core::requests::{
    RecordFacts, RequestError, RequestStatus, check_executable, check_extension, erasure_hold,
    extended_due, first_due, portable,
};
use ombud_policy::Policy;
use ombud_policy::model::ClockStart;

fn policy() -> Policy {
    ombud_policy::check(include_str!("../../../examples/invoicing-saas.toml"))
        .policy
        .expect("the example is valid")
}

fn helsinki() -> TimeZone {
    TimeZone::get("Europe/Helsinki").expect("bundled zone")
}

fn local(text: &str) -> Timestamp {
    text.parse::<jiff::civil::DateTime>()
        .expect("civil time")
        .to_zoned(helsinki())
        .expect("exists in Helsinki")
        .timestamp()
}

#[test]
fn deadlines_are_calendar_months_in_the_controllers_time_zone() {
    let policy = policy();
    // (received, Helsinki wall clock; due, UTC: the first instant after the last day)
    let cases = [
        // 31 January: February has no 31st, so the last day is 28 February...
        ("2026-01-31T10:00", "2026-02-28T22:00:00Z"),
        // ...or 29 February in a leap year.
        ("2028-01-31T10:00", "2028-02-29T22:00:00Z"),
        ("2028-02-29T10:00", "2028-03-29T21:00:00Z"),
        // 31 March: April has 30 days; summer time (UTC+3) by then.
        ("2026-03-31T10:00", "2026-04-30T21:00:00Z"),
        // 23:30 on the last day of a month counts as that day in Helsinki, though it is
        // already 20:30 UTC.
        ("2026-04-30T23:30", "2026-05-30T21:00:00Z"),
        // Across the change to summer time (29 March 2026): the deadline is midnight local.
        ("2026-03-01T10:00", "2026-04-01T21:00:00Z"),
        // Across the change back (25 October 2026).
        ("2026-10-10T10:00", "2026-11-10T22:00:00Z"),
    ];
    for (received, due) in cases {
        let got = first_due(&policy.rights, local(received), None, &helsinki());
        assert_eq!(
            got.map(|t| t.to_string()).as_deref(),
            Some(due),
            "{received}"
        );
    }
}

#[test]
fn a_just_after_midnight_receipt_belongs_to_the_local_day() {
    let policy = policy();
    // 00:30 on 1 February in Helsinki is still 31 January in UTC.
    let received: Timestamp = "2026-01-31T22:30:00Z".parse().expect("timestamp");
    let due = first_due(&policy.rights, received, None, &helsinki()).expect("clock runs");
    assert_eq!(due.to_string(), "2026-03-01T22:00:00Z");
}

#[test]
fn the_clock_can_start_at_verification() {
    let mut policy = policy();
    policy.rights.clock_starts = ClockStart::Verification;
    let received = local("2026-01-10T10:00");
    assert_eq!(first_due(&policy.rights, received, None, &helsinki()), None);
    let verified = local("2026-01-20T10:00");
    let due = first_due(&policy.rights, received, Some(verified), &helsinki());
    assert_eq!(
        due.map(|t| t.to_string()).as_deref(),
        Some("2026-02-20T22:00:00Z")
    );
}

#[test]
fn an_extension_runs_three_months_from_receipt() {
    let policy = policy();
    let received = local("2026-01-31T10:00");
    let extended = extended_due(
        received,
        &policy.rights,
        policy.rights.extension,
        &helsinki(),
    );
    // 31 January + 3 months: the end of 30 April, not 28 February + 2 months.
    assert_eq!(extended.to_string(), "2026-04-30T21:00:00Z");
}

/// An extension in another unit than the first period runs from the end of the first period,
/// and (Reg. 1182/71 Art. 3(1)) the day on which that period ends is not counted.
#[test]
fn an_extension_in_days_does_not_count_the_day_the_first_period_ends() {
    let mut policy = policy();
    let received = local("2026-01-10T10:00");
    // 1 month: the last day is 10 February. 60 days more: 11 February is day 1, 11 April is
    // day 60, so the deadline is the first instant of 12 April (summer time, UTC+3).
    let sixty_days: ombud_policy::Duration = "60 days".parse().expect("a duration");
    let extended = extended_due(received, &policy.rights, sixty_days, &helsinki());
    assert_eq!(extended.to_string(), "2026-04-11T21:00:00Z");
    // 4 weeks end on 7 February; two months from that day end on 7 April.
    policy.rights.response_time = "4 weeks".parse().expect("a duration");
    let extended = extended_due(
        received,
        &policy.rights,
        policy.rights.extension,
        &helsinki(),
    );
    assert_eq!(extended.to_string(), "2026-04-07T21:00:00Z");
    // Across the end of February: 28 days from 31 January end on 28 February; 30 days more
    // run 1 to 30 March.
    let received = local("2026-01-31T10:00");
    let thirty_days: ombud_policy::Duration = "30 days".parse().expect("a duration");
    let extended = extended_due(received, &policy.rights, thirty_days, &helsinki());
    assert_eq!(extended.to_string(), "2026-03-30T21:00:00Z");
}

#[test]
fn an_extension_is_allowed_on_day_29_and_refused_on_day_32() {
    let policy = policy();
    // 1 February 2026: the month runs to the end of 1 March, day 29.
    let received = local("2026-02-01T10:00");
    let due = first_due(&policy.rights, received, None, &helsinki());
    let two_months = policy.rights.extension;
    let day = |n: i64| received + jiff::SignedDuration::from_hours(24 * (n - 1));
    assert_eq!(
        check_extension(
            &policy.rights,
            RequestStatus::Verified,
            false,
            due,
            two_months,
            "many records in several systems",
            day(29)
        ),
        Ok(())
    );
    assert!(matches!(
        check_extension(
            &policy.rights,
            RequestStatus::Verified,
            false,
            due,
            two_months,
            "many records in several systems",
            day(32)
        ),
        Err(RequestError::ExtensionTooLate(_))
    ));
    let three_months = "3 months".parse().expect("duration");
    assert!(matches!(
        check_extension(
            &policy.rights,
            RequestStatus::Verified,
            false,
            due,
            three_months,
            "x",
            day(2)
        ),
        Err(RequestError::ExtensionTooLong(_))
    ));
    assert_eq!(
        check_extension(
            &policy.rights,
            RequestStatus::Verified,
            true,
            due,
            two_months,
            "x",
            day(2)
        ),
        Err(RequestError::AlreadyExtended)
    );
    assert_eq!(
        check_extension(
            &policy.rights,
            RequestStatus::Verified,
            false,
            due,
            two_months,
            " ",
            day(2)
        ),
        Err(RequestError::ReasonMissing)
    );
}

#[test]
fn nothing_is_carried_out_before_verification_or_after_closing() {
    assert_eq!(
        check_executable(RequestStatus::Received),
        Err(RequestError::NotVerified)
    );
    assert_eq!(check_executable(RequestStatus::Verified), Ok(()));
    assert_eq!(check_executable(RequestStatus::InProgress), Ok(()));
    assert!(check_executable(RequestStatus::Fulfilled).is_err());
    assert!(check_executable(RequestStatus::Refused).is_err());
}

fn record<'a>(category: &'a str, source: &'a str, purposes: &'a [String]) -> RecordFacts<'a> {
    RecordFacts {
        category,
        purposes,
        source,
        collected_at: "2025-06-01T09:00:00Z".parse().expect("timestamp"),
    }
}

#[test]
fn erasure_keeps_accounting_data_for_the_period_the_law_names() {
    let policy = policy();
    let facts = SubjectFacts::new(vec![Event {
        kind: EventKind::ContractStart,
        purpose: None,
        occurred_at: "2025-01-01T09:00:00Z".parse().expect("timestamp"),
    }]);
    let now: Timestamp = "2026-03-01T09:00:00Z".parse().expect("timestamp");
    let hold = erasure_hold(
        &policy,
        &record("user.financial", "subject", &[]),
        &facts,
        now,
        &helsinki(),
    )
    .expect("billing data is held");
    assert_eq!(hold.purposes, ["accounting"]);
    assert_eq!(hold.rule, "accounting-vouchers");
    assert!(hold.law.as_deref().is_some_and(|l| l.contains("1336/1997")));
    // Collected in 2025: six years from the end of 2025, in Helsinki.
    assert_eq!(
        hold.until.map(|t| t.to_string()).as_deref(),
        Some("2031-12-31T22:00:00Z")
    );
    // An email address serves no legal obligation in this policy: erased.
    assert_eq!(
        erasure_hold(
            &policy,
            &record("user.contact.email", "subject", &[]),
            &facts,
            now,
            &helsinki()
        ),
        None
    );
    // Once the period has run out, nothing holds the record any more.
    let later: Timestamp = "2032-01-02T09:00:00Z".parse().expect("timestamp");
    assert_eq!(
        erasure_hold(
            &policy,
            &record("user.financial", "subject", &[]),
            &facts,
            later,
            &helsinki()
        ),
        None
    );
}

#[test]
fn erasure_keeps_data_only_under_a_rule_that_names_the_law() {
    let policy = ombud_policy::check(include_str!("../../../examples/managed-erp-hosting.toml"))
        .policy
        .expect("valid");
    let brussels = jiff::tz::TimeZone::get("Europe/Brussels").expect("zone");
    let now: Timestamp = "2026-03-01T09:00:00Z".parse().expect("timestamp");
    let contract = |ended: bool| {
        let mut events = vec![Event {
            kind: EventKind::ContractStart,
            purpose: None,
            occurred_at: "2024-01-01T09:00:00Z".parse().expect("timestamp"),
        }];
        if ended {
            events.push(Event {
                kind: EventKind::ContractEnd,
                purpose: None,
                occurred_at: "2026-01-31T16:00:00Z".parse().expect("timestamp"),
            });
        }
        SubjectFacts::new(events)
    };
    // Correspondence serves the legal-compliance activity only under
    // `communication-and-support`, a rule that names no law: erasure removes it.
    assert_eq!(
        erasure_hold(
            &policy,
            &record("user.content.communications", "subject", &[]),
            &contract(true),
            now,
            &brussels
        ),
        None
    );
    // The VAT number is kept under `account-and-billing`, which names the Belgian law:
    // seven years from the end of the contract.
    let hold = erasure_hold(
        &policy,
        &record("user.financial.vat_number", "subject", &[]),
        &contract(true),
        now,
        &brussels,
    )
    .expect("kept for the law");
    assert_eq!(hold.rule, "account-and-billing");
    assert!(hold.law.is_some());
    assert_eq!(hold.starts_with, None);
    assert_eq!(
        hold.until.map(|t| t.to_string()).as_deref(),
        Some("2033-01-31T16:00:00Z")
    );
    // While the contract runs the period has not started: the hold says what starts it.
    let running = erasure_hold(
        &policy,
        &record("user.financial.vat_number", "subject", &[]),
        &contract(false),
        now,
        &brussels,
    )
    .expect("kept for the law");
    assert_eq!(running.until, None);
    assert_eq!(
        running.starts_with,
        Some(ombud_policy::model::Anchor::ContractEnd)
    );
    // Someone who never had a contract has no billing period under way: nothing is kept.
    assert_eq!(
        erasure_hold(
            &policy,
            &record("user.financial.vat_number", "subject", &[]),
            &SubjectFacts::new(vec![]),
            now,
            &brussels
        ),
        None
    );
}

#[test]
fn portability_covers_what_the_person_provided_on_consent_or_contract() {
    let policy = policy();
    assert!(portable(
        &policy,
        &record("user.contact.email", "subject", &[])
    ));
    assert!(!portable(
        &policy,
        &record("user.contact.email", "third_party", &[])
    ));
    let accounting_only = ["accounting".to_owned()];
    assert!(!portable(
        &policy,
        &record("user.financial", "subject", &accounting_only)
    ));
}

#[test]
fn the_laws_last_day_moves_past_weekends_and_the_controllers_public_holidays() {
    use ombud_core::requests::legal_due;
    let tz = helsinki();
    let last_day = |received: &str, extended: bool, country: &str| {
        let received: Timestamp = received.parse().expect("timestamp");
        legal_due(received, extended, &tz, country)
            .checked_sub(jiff::SignedDuration::from_secs(1))
            .expect("time")
            .to_zoned(tz.clone())
            .date()
            .to_string()
    };
    // 03:00 on 3 March in Helsinki: a month ends on Good Friday, 3 April 2026; Easter passes.
    assert_eq!(last_day("2026-03-03T01:00:00Z", false, "FI"), "2026-04-07");
    // In France Good Friday is a working day.
    assert_eq!(last_day("2026-03-03T01:00:00Z", false, "FR"), "2026-04-03");
    // 00:30 on 31 January in Helsinki is still 30 January in UTC: the month ends on Saturday
    // 28 February, so Monday 2 March.
    assert_eq!(last_day("2026-01-30T22:30:00Z", false, "FI"), "2026-03-02");
    // In a leap year the month from 31 January ends on Tuesday 29 February 2028.
    assert_eq!(last_day("2028-01-31T08:00:00Z", false, "FI"), "2028-02-29");
    // Extended: three months from 24 September end on Christmas Eve; Christmas and the weekend
    // pass.
    assert_eq!(last_day("2026-09-24T08:00:00Z", true, "FI"), "2026-12-28");
    // Received on the day summer time starts (29 March 2026 at 03:00 in Helsinki).
    assert_eq!(last_day("2026-03-29T02:00:00Z", false, "FI"), "2026-04-29");
}
