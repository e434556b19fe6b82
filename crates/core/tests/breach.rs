//! The 72-hour clock of Art. 33(1) in the controller's zone: elapsed hours across a
//! daylight-saving change and a month end; a notice at hour 71 is on time, at hour 73 late.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use ombud_core::breach::{Timeliness, check_times, deadline, describe_left, timeliness};
use ombud_policy::Duration;

fn helsinki() -> TimeZone {
    TimeZone::get("Europe/Helsinki").expect("zone")
}

fn local(text: &str) -> Timestamp {
    text.parse::<jiff::civil::DateTime>()
        .expect("time")
        .to_zoned(helsinki())
        .expect("exists")
        .timestamp()
}

fn wall(at: Timestamp) -> String {
    at.to_zoned(helsinki())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

fn within(text: &str) -> Duration {
    text.parse().expect("duration")
}

#[test]
fn the_deadline_is_elapsed_hours_whatever_the_wall_clock_does() {
    let tz = helsinki();
    for (aware, notify_within, due) in [
        // Summer time starts 29 March 2026 at 03:00: 72 hours later the wall clock reads 11:00.
        ("2026-03-27T10:00", "72 hours", "2026-03-30 11:00 EEST"),
        // And ends 25 October 2026 at 04:00: the wall clock reads an hour less.
        ("2026-10-23T10:00", "72 hours", "2026-10-26 09:00 EET"),
        // Across a month end (and a short month), nothing special.
        ("2026-02-27T15:30", "72 hours", "2026-03-02 15:30 EET"),
        ("2026-01-30T23:15", "72 hours", "2026-02-02 23:15 EET"),
        // Over a weekend: hours, not working days.
        ("2026-05-08T17:00", "72 hours", "2026-05-11 17:00 EEST"),
        // A policy that says days means 24 elapsed hours each.
        ("2026-03-28T12:00", "3 days", "2026-03-31 13:00 EEST"),
        ("2026-03-28T12:00", "24 hours", "2026-03-29 13:00 EEST"),
    ] {
        assert_eq!(
            wall(deadline(local(aware), within(notify_within), &tz)),
            due,
            "aware {aware}, within {notify_within}"
        );
    }
}

#[test]
fn hour_71_is_on_time_and_hour_73_is_late() {
    let tz = helsinki();
    let aware = local("2026-03-27T10:00");
    let due = deadline(aware, within("72 hours"), &tz);
    let at = |hours: i64| aware + SignedDuration::from_hours(hours);
    assert_eq!(
        timeliness(due, at(71)),
        Timeliness::OnTime {
            spare: SignedDuration::from_hours(1)
        }
    );
    assert_eq!(
        timeliness(due, at(72)),
        Timeliness::OnTime {
            spare: SignedDuration::ZERO
        },
        "at the deadline itself is still in time"
    );
    assert_eq!(
        timeliness(due, at(73)),
        Timeliness::Late {
            by: SignedDuration::from_hours(1)
        }
    );
    assert_eq!(describe_left(due, at(0)), "72 h 0 min left");
    assert_eq!(
        describe_left(due, at(70) + SignedDuration::from_mins(30)),
        "1 h 30 min left"
    );
    assert_eq!(
        describe_left(due, at(74) + SignedDuration::from_mins(5)),
        "2 h 5 min overdue"
    );
}

#[test]
fn an_incident_happens_before_it_is_known_and_neither_in_the_future() {
    let now = local("2026-03-27T10:00");
    let hour = SignedDuration::from_hours(1);
    assert!(check_times(Some(now - hour), now, now).is_ok());
    assert!(
        check_times(None, now, now).is_ok(),
        "the start may be unknown"
    );
    for (occurred, aware, field) in [
        (Some(now), now + hour, "aware_at"),
        (Some(now + hour), now, "occurred_at"),
        (Some(now - hour), now - hour - hour, "occurred_at"),
    ] {
        let (got, message) = check_times(occurred, aware, now).expect_err(field);
        assert_eq!(got, field, "{message}");
        assert!(!message.is_empty());
    }
}

#[test]
fn a_notification_is_described_against_the_deadline() {
    use ombud_core::breach::describe_against;
    let deadline: jiff::Timestamp = "2026-03-04T08:00:00Z".parse().expect("time");
    let hour = |h: i64| deadline + jiff::SignedDuration::from_hours(h);
    assert_eq!(
        describe_against(deadline, hour(-1)),
        (false, "1 h 0 min before the deadline".to_owned())
    );
    assert_eq!(
        describe_against(deadline, hour(0)),
        (false, "0 h 0 min before the deadline".to_owned())
    );
    assert_eq!(
        describe_against(deadline, hour(1)),
        (true, "1 h 0 min after the deadline".to_owned())
    );
}
