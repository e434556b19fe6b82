//! Data-subject requests: the seven kinds, their lifecycle, and their deadlines.
//!
//! Deadlines follow the EU rule for periods (Regulation 1182/71, art. 3): a period of months
//! ends at the end of the day with the same date in the last month, or at the end of that month
//! when it has no such date, in the controller's time zone. A request received on 31 January
//! is therefore due at the end of 28 (or 29) February.

use crate::facts::SubjectFacts;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use ombud_policy::Duration;
use ombud_policy::duration::Unit;
use ombud_policy::model::{
    Anchor, Choice, ClockStart, LegalBasis, Policy, RetentionRule, Right, Rights, Source,
};
use serde::{Deserialize, Serialize};

/// How many wrong codes lock a request.
pub const MAX_CODE_ATTEMPTS: u32 = 3;
/// How long a one-time code stays valid.
pub const CODE_VALIDITY: jiff::SignedDuration = jiff::SignedDuration::from_mins(30);
/// How long an export can be downloaded.
pub const EXPORT_VALIDITY: jiff::SignedDuration = jiff::SignedDuration::from_hours(72);

macro_rules! names {
    ($(#[$doc:meta])* $name:ident { $( $(#[$vdoc:meta])* $variant:ident = $text:literal, )* }) => {
        $(#[$doc])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $( $(#[$vdoc])* $variant, )* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            pub fn parse(text: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|k| k.as_str() == text)
            }
        }
    };
}

names!(
    /// What the person asks for.
    RequestKind {
        /// Art. 15: a copy of the data and the facts about its processing.
        Access = "access",
        /// Art. 16: a wrong value replaced.
        Rectification = "rectification",
        /// Art. 17: the data deleted, except what a legal obligation keeps.
        Erasure = "erasure",
        /// Art. 18: processing limited to storage and legal claims.
        Restriction = "restriction",
        /// Art. 21: processing on legitimate interests stopped; absolute for direct marketing.
        Objection = "objection",
        /// Art. 20: the data the person provided, machine-readable.
        Portability = "portability",
        /// Art. 7(3): consent for one purpose withdrawn.
        ConsentWithdrawal = "consent_withdrawal",
    }
);

names!(
    /// Where a request stands.
    RequestStatus {
        /// Filed; identity not yet confirmed. Nothing is carried out in this state.
        Received = "received",
        /// The person's identity is confirmed.
        Verified = "verified",
        /// Someone is working on it.
        InProgress = "in_progress",
        Fulfilled = "fulfilled",
        Refused = "refused",
    }
);

impl RequestKind {
    /// The right of the policy's `rights.offered` this request exercises.
    pub fn right(self) -> Right {
        match self {
            RequestKind::Access => Right::Access,
            RequestKind::Rectification => Right::Rectification,
            RequestKind::Erasure => Right::Erasure,
            RequestKind::Restriction => Right::Restriction,
            RequestKind::Objection => Right::Objection,
            RequestKind::Portability => Right::Portability,
            RequestKind::ConsentWithdrawal => Right::WithdrawConsent,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RequestKind::Access => "access to your data",
            RequestKind::Rectification => "correction of your data",
            RequestKind::Erasure => "erasure of your data",
            RequestKind::Restriction => "restriction of processing",
            RequestKind::Objection => "objection to processing",
            RequestKind::Portability => "a portable copy of your data",
            RequestKind::ConsentWithdrawal => "withdrawal of consent",
        }
    }

    /// Whether the request names the purpose it is about.
    pub fn needs_purpose(self) -> bool {
        self == RequestKind::ConsentWithdrawal
    }
}

impl RequestStatus {
    pub fn is_open(self) -> bool {
        !matches!(self, RequestStatus::Fulfilled | RequestStatus::Refused)
    }
}

/// Why a step on a request is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the request is {0} and can no longer change")]
    Closed(&'static str),
    #[error("the person's identity is not confirmed yet; verify the request first")]
    NotVerified,
    #[error("the request is verified already")]
    AlreadyVerified,
    #[error("the request was extended already; Art. 12(3) allows one extension")]
    AlreadyExtended,
    #[error("an extension must be decided while the first period runs; it ended {0}")]
    ExtensionTooLate(Timestamp),
    #[error("an extension may be at most {0}, as privacy.toml says")]
    ExtensionTooLong(Duration),
    #[error("a reason is required")]
    ReasonMissing,
}

/// The end of a period that starts at `start`, in `tz`. Periods of hours are exact; periods of
/// days, weeks, months and years end at the end of the day they reach (the next midnight).
pub fn period_end(start: Timestamp, period: Duration, tz: &TimeZone) -> Timestamp {
    if period.unit == Unit::Hour {
        return crate::retention::add(start, period, tz);
    }
    let date = start.to_zoned(tz.clone()).date();
    date.checked_add(crate::retention::span(period))
        .and_then(|last| last.checked_add(1.day()))
        .and_then(|next| next.to_zoned(tz.clone()))
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX)
}

/// The last moment the law allows for the answer (Art. 12(3) GDPR): one month from receipt,
/// three once extended, moved past Saturdays, Sundays and the public holidays of the
/// controller's country to the end of the next working day (Reg. 1182/71 Art. 3(4)). The
/// policy's own deadline is the internal target and may come earlier; this one never does.
pub fn legal_due(received: Timestamp, extended: bool, tz: &TimeZone, country: &str) -> Timestamp {
    let months = if extended { 3 } else { 1 };
    crate::calendar::roll_forward(
        period_end(received, Duration::new(months, Unit::Month), tz),
        tz,
        country,
    )
}

/// Two periods laid end to end as one (1 month + 2 months = 3 months from the start), so the
/// extension keeps the date of receipt rather than the clamped date of the first deadline.
fn combined(first: Duration, second: Duration) -> Option<Duration> {
    (first.unit == second.unit).then(|| Duration::new(first.amount + second.amount, first.unit))
}

/// When the clock starts: at receipt, or at verification when the policy says so.
pub fn clock_start(
    rights: &Rights,
    received: Timestamp,
    verified: Option<Timestamp>,
) -> Option<Timestamp> {
    match rights.clock_starts {
        ClockStart::Receipt => Some(received),
        ClockStart::Verification => verified,
    }
}

/// The first deadline, or `None` while a clock that starts at verification has not started.
pub fn first_due(
    rights: &Rights,
    received: Timestamp,
    verified: Option<Timestamp>,
    tz: &TimeZone,
) -> Option<Timestamp> {
    clock_start(rights, received, verified).map(|start| period_end(start, rights.response_time, tz))
}

/// The deadline after an extension of `by` (at most the policy's extension).
pub fn extended_due(start: Timestamp, rights: &Rights, by: Duration, tz: &TimeZone) -> Timestamp {
    match combined(rights.response_time, by) {
        Some(total) => period_end(start, total, tz),
        None => {
            // The extension is a period of its own that starts with the end of the first one.
            // Reg. 1182/71 Art. 3(1): the day of that event is not counted, so the extension
            // counts from the first period's last day, not from the midnight after it.
            let first = period_end(start, rights.response_time, tz);
            let event = match by.unit {
                Unit::Hour => first,
                _ => first
                    .checked_sub(jiff::SignedDuration::from_secs(1))
                    .unwrap_or(first),
            };
            period_end(event, by, tz)
        }
    }
}

/// Whether an extension may be granted now.
pub fn check_extension(
    rights: &Rights,
    status: RequestStatus,
    already_extended: bool,
    first_due: Option<Timestamp>,
    by: Duration,
    reason: &str,
    now: Timestamp,
) -> Result<(), RequestError> {
    check_open(status)?;
    if already_extended {
        return Err(RequestError::AlreadyExtended);
    }
    if reason.trim().is_empty() {
        return Err(RequestError::ReasonMissing);
    }
    if by.is_longer_than(&rights.extension) {
        return Err(RequestError::ExtensionTooLong(rights.extension));
    }
    match first_due {
        Some(due) if now >= due => Err(RequestError::ExtensionTooLate(due)),
        _ => Ok(()),
    }
}

pub fn check_open(status: RequestStatus) -> Result<(), RequestError> {
    if status.is_open() {
        Ok(())
    } else {
        Err(RequestError::Closed(status.as_str()))
    }
}

/// A request may be carried out only once it is verified and still open.
pub fn check_executable(status: RequestStatus) -> Result<(), RequestError> {
    check_open(status)?;
    match status {
        RequestStatus::Received => Err(RequestError::NotVerified),
        _ => Ok(()),
    }
}

pub fn check_verifiable(status: RequestStatus) -> Result<(), RequestError> {
    check_open(status)?;
    match status {
        RequestStatus::Received => Ok(()),
        _ => Err(RequestError::AlreadyVerified),
    }
}

/// A record as the rules below see it.
#[derive(Debug, Clone)]
pub struct RecordFacts<'a> {
    pub category: &'a str,
    /// Empty means every activity that lists the category.
    pub purposes: &'a [String],
    pub source: &'a str,
    pub collected_at: Timestamp,
}

/// The activities that may use a record: those it was collected for, or every activity that
/// lists its category.
pub fn activities_of<'p>(
    policy: &'p Policy,
    record: &RecordFacts,
) -> impl Iterator<Item = &'p ombud_policy::model::Activity> {
    let purposes = record.purposes.to_vec();
    let category = record.category.to_owned();
    policy.activities.iter().filter(move |activity| {
        (purposes.is_empty() || purposes.contains(&activity.id))
            && activity
                .categories
                .iter()
                .any(|c| ombud_policy::taxonomy::is_within(&category, c))
    })
}

/// Why erasure keeps a record: a legal obligation whose retention still runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hold {
    /// The activities (legal obligations) the record stays for; it is restricted to them.
    pub purposes: Vec<String>,
    /// The retention rule that keeps it.
    pub rule: String,
    /// The law the rule cites, as privacy.toml names it.
    pub law: Option<String>,
    /// Until when; `None` while the period has not started (the contract still runs).
    pub until: Option<Timestamp>,
    /// While the period has not started: the event that starts it.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub starts_with: Option<Anchor>,
}

/// Whether erasure must keep a record, and why (Art. 17(3)(b)): only a legal-obligation
/// activity that applies to the person, under a rule that names the law, and only while that
/// rule's period runs. A rule with no law never keeps data through erasure.
pub fn erasure_hold(
    policy: &Policy,
    record: &RecordFacts,
    facts: &SubjectFacts,
    now: Timestamp,
    tz: &TimeZone,
) -> Option<Hold> {
    let mut hold: Option<Hold> = None;
    for activity in activities_of(policy, record) {
        if activity.basis != Some(LegalBasis::LegalObligation)
            || !crate::retention::applies(activity, record, facts, now)
        {
            continue;
        }
        // The latest end among the rules that name a law; `None` inside while one has not
        // started (the contract still runs).
        let mut kept: Option<(Option<Timestamp>, &RetentionRule)> = None;
        for rule in policy.rules_for(activity, record.category) {
            let Some(_) = rule.law.as_deref().filter(|l| !l.trim().is_empty()) else {
                continue;
            };
            if !crate::retention::rule_counts(activity, rule, record, facts, now) {
                continue;
            }
            let end =
                crate::retention::rule_end(rule, &activity.id, facts, record.collected_at, now, tz);
            if end.is_some_and(|end| end <= now) {
                continue;
            }
            let later = match kept {
                None => true,
                Some((None, _)) => false,
                Some((Some(best), _)) => end.is_none_or(|end| end > best),
            };
            if later {
                kept = Some((end, rule));
            }
        }
        let Some((until, rule)) = kept else { continue };
        match &mut hold {
            Some(existing) => {
                existing.purposes.push(activity.id.clone());
                if until.is_none() || existing.until.is_some_and(|u| until > Some(u)) {
                    existing.until = until;
                    existing.rule = rule.id.clone();
                    existing.law = rule.law.clone();
                    existing.starts_with = until.is_none().then_some(rule.after);
                }
            }
            None => {
                hold = Some(Hold {
                    purposes: vec![activity.id.clone()],
                    rule: rule.id.clone(),
                    law: rule.law.clone(),
                    until,
                    starts_with: until.is_none().then_some(rule.after),
                })
            }
        }
    }
    hold
}

/// Whether a record belongs in a portability export (Art. 20(1)): data the person provided,
/// actively or by using the service (as the EDPB reads "provided"), processed on consent or
/// on a contract.
pub fn portable(policy: &Policy, record: &RecordFacts) -> bool {
    let provided = matches!(
        Source::parse(record.source),
        Some(Source::Subject | Source::ServiceUse)
    );
    provided
        && activities_of(policy, record).any(|a| {
            matches!(
                a.basis,
                Some(LegalBasis::Consent) | Some(LegalBasis::Contract)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn shown(at: Timestamp) -> String {
        at.to_zoned(helsinki()).datetime().to_string()
    }

    #[test]
    fn a_month_ends_at_the_end_of_the_same_date_or_of_the_shorter_month() {
        let month: Duration = "1 month".parse().expect("duration");
        let cases = [
            ("2026-01-31T09:00", "2026-03-01T00:00:00"),
            ("2028-01-31T09:00", "2028-03-01T00:00:00"),
            ("2028-02-29T09:00", "2028-03-30T00:00:00"),
            ("2026-03-31T09:00", "2026-05-01T00:00:00"),
            ("2026-04-30T23:30", "2026-05-31T00:00:00"),
            ("2026-01-15T00:10", "2026-02-16T00:00:00"),
        ];
        for (received, due) in cases {
            assert_eq!(
                shown(period_end(local(received), month, &helsinki())),
                due,
                "{received}"
            );
        }
    }
}
