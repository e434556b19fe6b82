//! The breach clock (Art. 33(1)): notice is due a number of hours after the operator became
//! aware of a breach. The hours are elapsed time, not wall-clock or working time: a
//! daylight-saving change, a weekend or a month end moves nothing. Times are shown in the
//! controller's zone, where the wall clock may then read an hour more or less.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use ombud_policy::Duration;
use ombud_policy::duration::Unit;

/// When notice is due: `aware_at` plus the policy's `[breach] notify_within`. Hours, days and
/// weeks are counted as elapsed hours (a day is 24 of them); months and years, which no
/// breach law uses, on the controller's calendar.
pub fn deadline(aware_at: Timestamp, notify_within: Duration, tz: &TimeZone) -> Timestamp {
    let hours = match notify_within.unit {
        Unit::Hour => Some(1),
        Unit::Day => Some(24),
        Unit::Week => Some(24 * 7),
        Unit::Month | Unit::Year => None,
    };
    match hours {
        Some(per) => aware_at
            .checked_add(SignedDuration::from_hours(
                i64::from(notify_within.amount) * per,
            ))
            .unwrap_or(Timestamp::MAX),
        None => crate::retention::add(aware_at, notify_within, tz),
    }
}

/// Whether a notification went out in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeliness {
    /// Sent before the deadline, with this much to spare.
    OnTime { spare: SignedDuration },
    /// Sent after it, this much late: Art. 33(1) then asks for the reasons of the delay.
    Late { by: SignedDuration },
}

pub fn timeliness(deadline: Timestamp, sent_at: Timestamp) -> Timeliness {
    if sent_at <= deadline {
        Timeliness::OnTime {
            spare: deadline.duration_since(sent_at),
        }
    } else {
        Timeliness::Late {
            by: sent_at.duration_since(deadline),
        }
    }
}

/// Time left until the deadline, as people read it: `71 h 5 min left`, `2 h 30 min overdue`.
pub fn describe_left(deadline: Timestamp, now: Timestamp) -> String {
    let left = deadline.duration_since(now);
    let minutes = left.as_secs().unsigned_abs() / 60;
    let text = format!("{} h {} min", minutes / 60, minutes % 60);
    if left.is_negative() {
        format!("{text} overdue")
    } else {
        format!("{text} left")
    }
}

/// A notification given at `at` against the deadline, as the record keeps it: whether it was
/// late, and `1 h 0 min before the deadline` or `1 h 0 min after the deadline`.
pub fn describe_against(deadline: Timestamp, at: Timestamp) -> (bool, String) {
    let (late, by) = match timeliness(deadline, at) {
        Timeliness::OnTime { spare } => (false, spare),
        Timeliness::Late { by } => (true, by),
    };
    let minutes = by.as_secs().unsigned_abs() / 60;
    let text = format!(
        "{} h {} min {} the deadline",
        minutes / 60,
        minutes % 60,
        if late { "after" } else { "before" }
    );
    (late, text)
}

/// How far ahead of the server's clock a reported time may be before it is a mistake.
const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// Checks the two times an incident is opened with: it happened before (or when) the operator
/// became aware of it, and neither is in the future. A refusal names the field and the fix.
pub fn check_times(
    occurred_at: Option<Timestamp>,
    aware_at: Timestamp,
    now: Timestamp,
) -> Result<(), (&'static str, String)> {
    let latest = now.checked_add(CLOCK_SKEW).unwrap_or(now);
    if aware_at > latest {
        return Err((
            "aware_at",
            "aware_at is in the future; it is when you learned of the breach".to_owned(),
        ));
    }
    if let Some(occurred) = occurred_at {
        if occurred > latest {
            return Err((
                "occurred_at",
                "occurred_at is in the future; leave it out when the start is not known yet"
                    .to_owned(),
            ));
        }
        if occurred > aware_at {
            return Err((
                "occurred_at",
                "occurred_at is after aware_at: a breach is learned of when or after it happens"
                    .to_owned(),
            ));
        }
    }
    Ok(())
}

/// What Art. 33(3) asks a notification to describe. Information may come in phases (Art.
/// 33(4)); a phase says which items it still lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// (a) the nature of the breach
    Nature,
    /// (a) categories and approximate number of data subjects
    Subjects,
    /// (a) categories and approximate number of records
    Records,
    /// (b) the name and contact details of the DPO or another contact point
    Contact,
    /// (c) the likely consequences
    Consequences,
    /// (d) the measures taken or proposed
    Measures,
}

impl Item {
    pub const ALL: [Item; 6] = [
        Item::Nature,
        Item::Subjects,
        Item::Records,
        Item::Contact,
        Item::Consequences,
        Item::Measures,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Item::Nature => "nature",
            Item::Subjects => "subjects",
            Item::Records => "records",
            Item::Contact => "contact",
            Item::Consequences => "consequences",
            Item::Measures => "measures",
        }
    }

    /// The article's own words for it, for a notification's headings.
    pub fn heading(self) -> &'static str {
        match self {
            Item::Nature => "Nature of the breach",
            Item::Subjects => "Categories and approximate number of people concerned",
            Item::Records => "Categories and approximate number of records concerned",
            Item::Contact => "Contact point for more information",
            Item::Consequences => "Likely consequences",
            Item::Measures => "Measures taken or proposed",
        }
    }
}
