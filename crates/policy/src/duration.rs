//! Durations as people write them in a policy: `180 days`, `2 years`, `72 hours`, `1 month`.
//! Calendar arithmetic on them belongs to the core; here they are parsed, printed and compared.

use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Unit {
    const NAMES: &'static [(&'static str, Unit)] = &[
        ("hour", Unit::Hour),
        ("hours", Unit::Hour),
        ("day", Unit::Day),
        ("days", Unit::Day),
        ("week", Unit::Week),
        ("weeks", Unit::Week),
        ("month", Unit::Month),
        ("months", Unit::Month),
        ("year", Unit::Year),
        ("years", Unit::Year),
    ];

    fn singular(self) -> &'static str {
        match self {
            Unit::Hour => "hour",
            Unit::Day => "day",
            Unit::Week => "week",
            Unit::Month => "month",
            Unit::Year => "year",
        }
    }

    /// Length in half-hours, with a month as the mean Gregorian month (30.4375 days), so that
    /// `12 months` equals `1 year` exactly and `1 month` sorts between `30 days` and `31 days`.
    fn half_hours(self) -> u64 {
        match self {
            Unit::Hour => 2,
            Unit::Day => 48,
            Unit::Week => 336,
            Unit::Month => 1461,
            Unit::Year => 17532,
        }
    }
}

/// A whole number of one unit. Months and years stay calendar units; they are never silently
/// turned into days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Duration {
    pub amount: u32,
    pub unit: Unit,
}

/// Why a duration did not parse, with the fix in the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("a duration is a number and a unit, like `180 days`; this one is empty")]
    Empty,
    #[error("`{0}` is not a whole number; write the number in digits, like `7 years`")]
    BadNumber(String),
    #[error(
        "the duration has no unit; write one of hours, days, weeks, months or years after the number"
    )]
    MissingUnit,
    #[error("`{unit}` is not a unit of time{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_else(|| "; use hours, days, weeks, months or years".into()))]
    UnknownUnit {
        unit: String,
        suggestion: Option<String>,
    },
    #[error("a duration is one number and one unit, like `2 years`; `{0}` has more")]
    TooManyParts(String),
}

impl Duration {
    pub const fn new(amount: u32, unit: Unit) -> Self {
        Duration { amount, unit }
    }

    fn half_hours(&self) -> u64 {
        u64::from(self.amount) * self.unit.half_hours()
    }

    /// Whether this period always ends within `months` calendar months. A count of hours, days or
    /// weeks must fit the shortest span the calendar can give those months (`shortest_hours`: a
    /// month can be 28 days), since the law counts in calendar months (Reg. 1182/71 Art. 3(2)(c)).
    pub fn fits_within(&self, months: u32, shortest_hours: u64) -> bool {
        match self.unit {
            Unit::Month => self.amount <= months,
            Unit::Year => u64::from(self.amount) * 12 <= u64::from(months),
            Unit::Hour | Unit::Day | Unit::Week => self.half_hours() <= shortest_hours * 2,
        }
    }

    /// Whether this period outlasts `other`. `12 months` and `1 year` are equally long; the
    /// derived ordering still tells them apart so that it agrees with equality.
    pub fn is_longer_than(&self, other: &Duration) -> bool {
        self.half_hours() > other.half_hours()
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.split_whitespace();
        let number = parts.next().ok_or(DurationError::Empty)?;
        let amount: u32 = match number.parse() {
            Ok(amount) => amount,
            Err(_) if Unit::NAMES.iter().any(|(name, _)| *name == number) => {
                return Err(DurationError::BadNumber(text.trim().to_owned()));
            }
            Err(_) => return Err(DurationError::BadNumber(number.to_owned())),
        };
        let unit_text = parts.next().ok_or(DurationError::MissingUnit)?;
        if parts.next().is_some() {
            return Err(DurationError::TooManyParts(text.trim().to_owned()));
        }
        let lowered = unit_text.to_lowercase();
        let unit = Unit::NAMES
            .iter()
            .find(|(name, _)| *name == lowered)
            .map(|(_, unit)| *unit)
            .ok_or_else(|| DurationError::UnknownUnit {
                unit: unit_text.to_owned(),
                suggestion: crate::suggest::nearest(&lowered, Unit::NAMES.iter().map(|(n, _)| *n))
                    .map(|unit| format!("{amount} {unit}")),
            })?;
        Ok(Duration { amount, unit })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.amount == 1 { "" } else { "s" };
        write!(f, "{} {}{}", self.amount, self.unit.singular(), plural)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl PartialOrd for Duration {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Duration {
    fn cmp(&self, other: &Self) -> Ordering {
        self.half_hours()
            .cmp(&other.half_hours())
            .then_with(|| self.amount.cmp(&other.amount))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> String {
        match text.parse::<Duration>() {
            Ok(duration) => duration.to_string(),
            Err(error) => format!("error: {error}"),
        }
    }

    #[test]
    fn durations_parse_as_people_write_them() {
        assert_eq!(parse("180 days"), "180 days");
        assert_eq!(parse("2 years"), "2 years");
        assert_eq!(parse("72 hours"), "72 hours");
        assert_eq!(parse("1 month"), "1 month");
        assert_eq!(parse("1 months"), "1 month");
        assert_eq!(parse("  12   Months "), "12 months");
        assert_eq!(parse("0 days"), "0 days");
    }

    #[test]
    fn bad_durations_say_how_to_fix_them() {
        assert_eq!(
            parse("7 yeras"),
            "error: `yeras` is not a unit of time; did you mean `7 years`?"
        );
        assert_eq!(
            parse("seven years"),
            "error: `seven` is not a whole number; write the number in digits, like `7 years`"
        );
        assert_eq!(
            parse("180"),
            "error: the duration has no unit; write one of hours, days, weeks, months or years after the number"
        );
        assert_eq!(
            parse(""),
            "error: a duration is a number and a unit, like `180 days`; this one is empty"
        );
        assert_eq!(
            parse("1 year 6 months"),
            "error: a duration is one number and one unit, like `2 years`; `1 year 6 months` has more"
        );
        assert_eq!(
            parse("-3 days"),
            "error: `-3` is not a whole number; write the number in digits, like `7 years`"
        );
        assert_eq!(
            parse("3 fortnights"),
            "error: `fortnights` is not a unit of time; use hours, days, weeks, months or years"
        );
    }

    #[test]
    fn calendar_units_compare_by_their_mean_length() {
        let d = |text: &str| text.parse::<Duration>().expect("valid duration");
        assert!(!d("12 months").is_longer_than(&d("1 year")));
        assert!(!d("1 year").is_longer_than(&d("12 months")));
        assert!(d("1 month").is_longer_than(&d("30 days")));
        assert!(d("31 days").is_longer_than(&d("1 month")));
        assert!(d("72 hours").is_longer_than(&d("2 days")));
        assert!(d("7 years").is_longer_than(&d("6 years")));
        assert!(d("2 years").is_longer_than(&d("14 months")));
        assert!(!d("72 hours").is_longer_than(&d("72 hours")));
    }
}
