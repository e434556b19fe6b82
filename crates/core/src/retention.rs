//! How long a record may still serve a purpose. Periods are calendar arithmetic in the
//! controller's time zone: "1 month" after 31 January ends on the last day of February, "2 years"
//! keeps the wall-clock time across daylight-saving changes.

use crate::facts::SubjectFacts;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ToSpan};
use ombud_policy::Duration;
use ombud_policy::duration::Unit;
use ombud_policy::model::{
    Action, Activity, Anchor, Choice, LegalBasis, Policy, RetentionRule, Role, Source, Unreviewed,
};

/// Until when one purpose may keep one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retention {
    /// The event a rule counts from has not happened (the contract still runs), or a rule asks
    /// for review rather than deletion: the record stays.
    Open,
    /// The last rule that keeps the record runs out at `until`.
    Until { until: Timestamp, rule: String },
}

impl Retention {
    pub fn holds_at(&self, at: Timestamp) -> bool {
        match self {
            Retention::Open => true,
            Retention::Until { until, .. } => at < *until,
        }
    }
}

pub fn span(duration: Duration) -> Span {
    let amount = i64::from(duration.amount);
    match duration.unit {
        Unit::Hour => amount.hours(),
        Unit::Day => amount.days(),
        Unit::Week => amount.weeks(),
        Unit::Month => amount.months(),
        Unit::Year => amount.years(),
    }
}

/// `start + duration` on the calendar of `tz`. Saturates at the end of representable time
/// rather than failing: a period that long never ends in practice.
pub fn add(start: Timestamp, duration: Duration, tz: &TimeZone) -> Timestamp {
    start
        .to_zoned(tz.clone())
        .checked_add(span(duration))
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX)
}

/// The end of the calendar year (in `tz`) in which `at` falls, as the first instant of the next.
fn end_of_year(at: Timestamp, tz: &TimeZone) -> Timestamp {
    let zoned = at.to_zoned(tz.clone());
    jiff::civil::date(zoned.year().saturating_add(1), 1, 1)
        .to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX)
}

/// When the event a rule counts from happened for this record, or `None` while it has not.
/// Periods from the last interaction never start before the record itself was collected.
fn rule_anchor(
    rule: &RetentionRule,
    purpose: &str,
    facts: &SubjectFacts,
    collected_at: Timestamp,
    now: Timestamp,
) -> Option<Timestamp> {
    match rule.after {
        Anchor::Collected => Some(collected_at),
        Anchor::LastInteraction => Some(
            facts
                .anchor(Anchor::LastInteraction, purpose, now)
                .map_or(collected_at, |last| last.max(collected_at)),
        ),
        anchor => facts.anchor(anchor, purpose, now),
    }
}

/// When one rule stops keeping a record, or `None` while its event has not happened.
pub fn rule_end(
    rule: &RetentionRule,
    purpose: &str,
    facts: &SubjectFacts,
    collected_at: Timestamp,
    now: Timestamp,
    tz: &TimeZone,
) -> Option<Timestamp> {
    if rule.then == Action::Review {
        return None;
    }
    period_end(
        rule,
        rule_anchor(rule, purpose, facts, collected_at, now)?,
        tz,
    )
}

fn period_end(rule: &RetentionRule, anchor_at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
    let start = if rule.from_end_of_year {
        end_of_year(anchor_at, tz)
    } else {
        anchor_at
    };
    Some(add(start, rule.keep, tz))
}

/// What a review rule says of a record now: reviewed by a date, or let go because a review
/// declined it. A decision made before the period's event (the prospect came back after it)
/// no longer counts; keeping restarts the period from the decision.
enum ReviewState {
    Due(Timestamp),
    Declined(Timestamp),
}

fn review_state(
    rule: &RetentionRule,
    purpose: &str,
    facts: &SubjectFacts,
    collected_at: Timestamp,
    now: Timestamp,
    tz: &TimeZone,
) -> Option<ReviewState> {
    let anchor_at = rule_anchor(rule, purpose, facts, collected_at, now)?;
    let due = period_end(rule, anchor_at, tz)?;
    Some(match facts.review(purpose, now) {
        Some((false, at)) if at >= anchor_at => ReviewState::Declined(at),
        Some((true, at)) if at >= anchor_at => ReviewState::Due(due.max(add(at, rule.keep, tz))),
        _ => ReviewState::Due(due),
    })
}

/// Until when `activity` may keep a record of `category`: the last of the rules that cover it.
/// An activity with no rule for the category keeps it open (`policy check` warns about that).
pub fn purpose_retention(
    policy: &Policy,
    activity: &Activity,
    category: &str,
    facts: &SubjectFacts,
    collected_at: Timestamp,
    now: Timestamp,
    tz: &TimeZone,
) -> Retention {
    let mut latest: Option<(Timestamp, &str)> = None;
    let mut any_rule = false;
    for rule in policy.rules_for(activity, category) {
        any_rule = true;
        match rule_end(rule, &activity.id, facts, collected_at, now, tz) {
            None => return Retention::Open,
            Some(end) => {
                if latest.is_none_or(|(best, _)| end > best) {
                    latest = Some((end, &rule.id));
                }
            }
        }
    }
    match latest {
        Some((until, rule)) if any_rule => Retention::Until {
            until,
            rule: rule.to_owned(),
        },
        _ => Retention::Open,
    }
}

/// How long a record may stay at all: while at least one of its purposes keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Life {
    /// Nothing ends it yet, for the reason given; the sweeper leaves it and the forecast lists
    /// it, so nothing stays for ever unseen.
    Open(Unbounded),
    /// The last purpose lets go at `until`; `rule` of `purpose` is the one that ends it, and
    /// `action` is what then happens to it.
    Until {
        until: Timestamp,
        purpose: String,
        rule: String,
        action: Action,
    },
    /// What keeps it longest is a review rule: it is due for review at `due`, not for deletion.
    /// Unless someone decides by `lapses`, it goes then (`then_if_unreviewed = "delete"`);
    /// `None` keeps it until someone does.
    Review {
        due: Timestamp,
        purpose: String,
        rule: String,
        lapses: Option<Timestamp>,
    },
}

/// Why a record has no end of life yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unbounded {
    /// `purpose` keeps it until the event `rule` counts from happens and its period runs out:
    /// the contract still runs, the account is open, the person has not unsubscribed.
    Pending {
        purpose: String,
        rule: String,
        anchor: Anchor,
    },
    /// `purpose` uses its category, but none of its rules covers the category.
    NoRule { purpose: String },
    /// No activity of the policy uses its category (in this role).
    Unused,
    /// Activities use its category, but none applies to this person: no consent given, no
    /// contract or account ever, or a source they do not take. Nothing can date its end;
    /// record the person's events, or the purposes the record was collected for.
    NoActivityApplies,
}

impl Unbounded {
    /// The reason in words, for the forecast.
    pub fn reason(&self) -> String {
        match self {
            Unbounded::Pending {
                purpose, anchor, ..
            } => format!(
                "kept for `{purpose}` until {} and its period runs out",
                match anchor {
                    Anchor::ContractEnd => "the contract ends",
                    Anchor::AccountClosed => "the account is closed",
                    Anchor::ConsentWithdrawn => "consent is withdrawn",
                    Anchor::Unsubscribe => "the person unsubscribes",
                    Anchor::Collected | Anchor::LastInteraction => "its event happens",
                }
            ),
            Unbounded::NoRule { purpose } => {
                format!("`{purpose}` has no retention rule for this category")
            }
            Unbounded::Unused => "no activity of the policy uses this category".into(),
            Unbounded::NoActivityApplies => "no activity that uses this category applies to the person (no consent, contract or account recorded, or another source)".into(),
        }
    }

    /// A short stable key for grouping and metrics.
    pub fn key(&self) -> &'static str {
        match self {
            Unbounded::Pending { .. } => "pending_event",
            Unbounded::NoRule { .. } => "no_rule",
            Unbounded::Unused => "unused_category",
            Unbounded::NoActivityApplies => "no_activity_applies",
        }
    }
}

/// A legal hold on one subject's data, as the core weighs it: every category, or one and
/// those beneath it; open-ended, or until `ends_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold<'a> {
    pub category: Option<&'a str>,
    pub ends_at: Option<Timestamp>,
}

impl Hold<'_> {
    /// Whether the hold keeps a record of `category` at `now`. A hold outranks every retention
    /// rule: what it keeps outlives its end of life until the hold ends.
    pub fn keeps(&self, category: &str, now: Timestamp) -> bool {
        self.ends_at.is_none_or(|end| now < end)
            && self
                .category
                .is_none_or(|held| ombud_policy::taxonomy::is_within(category, held))
    }
}

impl Life {
    /// When the sweeper may remove the record, if anything dates it.
    pub fn ends(&self) -> Option<Timestamp> {
        match self {
            Life::Until { until, .. } => Some(*until),
            Life::Review { lapses, .. } => *lapses,
            Life::Open(_) => None,
        }
    }

    /// Whether the sweeper may remove the record at `at`.
    pub fn expired_at(&self, at: Timestamp) -> bool {
        self.ends().is_some_and(|end| end <= at)
    }
}

/// Whether `activity` can keep this person's record: it was collected for it, or the activity
/// applies to them now or did once. An activity that never applied keeps nothing: consent never
/// given, or a source the activity does not take.
pub fn applies(
    activity: &Activity,
    record: &crate::requests::RecordFacts,
    facts: &SubjectFacts,
    now: Timestamp,
) -> bool {
    if record.purposes.contains(&activity.id) {
        return true;
    }
    // What a customer hands over for processing is the customer's to account for; the source
    // decides only for the operator's own activities.
    if let Some(source) = Source::parse(record.source)
        && activity.role == Role::Controller
        && !activity.sources.is_empty()
        && !activity.sources.contains(&source)
    {
        return false;
    }
    activity.basis != Some(LegalBasis::Consent) || facts.ever_consented(&activity.id, now)
}

/// Whether `rule` of an applying `activity` can keep this person's record: always for a record
/// collected for the activity by name or for a customer's data (which lives by the customer's
/// agreement, not by events of the people in it); otherwise only if the relationship the rule
/// counts the end of ever existed (a contract for `contract_end`, …).
pub fn rule_counts(
    activity: &Activity,
    rule: &RetentionRule,
    record: &crate::requests::RecordFacts,
    facts: &SubjectFacts,
    now: Timestamp,
) -> bool {
    record.purposes.contains(&activity.id)
        || activity.role == Role::Processor
        || facts.relationship_existed(rule.after, &activity.id, now)
}

/// Whether `activity` holds this person's record at all: it applies to them, and the record
/// was collected for it, or it is done for a customer, or one of its rules for the category
/// counts from a relationship the person had. What the policy says the data went to for such
/// an activity is what is owed word of a change (Art. 19).
pub fn holds(
    policy: &Policy,
    activity: &Activity,
    record: &crate::requests::RecordFacts,
    facts: &SubjectFacts,
    now: Timestamp,
) -> bool {
    if !applies(activity, record, facts, now) {
        return false;
    }
    let mut rules = policy.rules_for(activity, record.category).peekable();
    rules.peek().is_none() || rules.any(|rule| rule_counts(activity, rule, record, facts, now))
}

/// The purpose a record no activity applies to is ended under, in reports: it names no
/// activity because none keeps the record.
pub const NO_ACTIVITY_APPLIES: &str = "no-activity-applies";

/// A record no activity applies to for its person: the policy's fallback rule ends it, or
/// nothing can.
fn unclaimed(
    policy: &Policy,
    facts: &SubjectFacts,
    record: &crate::requests::RecordFacts,
    now: Timestamp,
    tz: &TimeZone,
) -> Life {
    let ended = policy.fallback_rule().and_then(|rule| {
        let end = rule_end(
            rule,
            NO_ACTIVITY_APPLIES,
            facts,
            record.collected_at,
            now,
            tz,
        )?;
        Some(Life::Until {
            until: end,
            purpose: NO_ACTIVITY_APPLIES.to_owned(),
            rule: rule.id.clone(),
            action: rule.then,
        })
    });
    ended.unwrap_or(Life::Open(Unbounded::NoActivityApplies))
}

/// The end of life of one record, from the policy and the subject's events. Only activities
/// that apply to the person count, and of their rules only those whose relationship existed
/// (a contract for "after the contract ends"), unless the record was collected for the
/// activity by name. The sweeper never deletes because nothing applies: such records stay
/// open, and the forecast says why.
pub fn end_of_life(
    policy: &Policy,
    facts: &SubjectFacts,
    record: &crate::requests::RecordFacts,
    data_role: crate::access::DataRole,
    now: Timestamp,
    tz: &TimeZone,
) -> Life {
    // The latest end among the purposes' deleting rules, and the latest review date.
    let mut last: Option<(Timestamp, &Activity, &RetentionRule, Action)> = None;
    let mut review: Option<(Timestamp, &Activity, &RetentionRule)> = None;
    // Lapse of the review slot: `None` once any review rule keeps unreviewed data.
    let mut lapses: Option<Timestamp> = Some(Timestamp::MIN);
    let mut used = false;
    let mut kept_by_any = false;
    // The operator's own data lives by its controller activities, a customer's by the
    // processor activities done for it.
    for activity in crate::requests::activities_of(policy, record)
        .filter(|a| crate::access::DataRole::from(a.role) == data_role)
    {
        used = true;
        if !applies(activity, record, facts, now) {
            continue;
        }
        let mut any_rule = false;
        let mut any_kept = false;
        for rule in policy.rules_for(activity, record.category) {
            any_rule = true;
            if !rule_counts(activity, rule, record, facts, now) {
                continue;
            }
            any_kept = true;
            let pending = || {
                Life::Open(Unbounded::Pending {
                    purpose: activity.id.clone(),
                    rule: rule.id.clone(),
                    anchor: rule.after,
                })
            };
            let (end, slot_is_review, action) = if rule.then == Action::Review {
                // An event not yet happened (the contract runs): nothing ends, the record stays.
                match review_state(rule, &activity.id, facts, record.collected_at, now, tz) {
                    None => return pending(),
                    Some(ReviewState::Due(due)) => (due, true, Action::Review),
                    // Declined: this purpose lets go now, as a deleting rule would.
                    Some(ReviewState::Declined(at)) => (at, false, Action::Delete),
                }
            } else {
                match rule_end(rule, &activity.id, facts, record.collected_at, now, tz) {
                    None => return pending(),
                    Some(end) => (end, false, rule.then),
                }
            };
            if slot_is_review {
                lapses = match (lapses, rule.if_unreviewed) {
                    (Some(latest), Unreviewed::Delete) => {
                        Some(latest.max(add(end, rule.grace, tz)))
                    }
                    _ => None,
                };
                if review.is_none_or(|(best, _, _)| end > best) {
                    review = Some((end, activity, rule));
                }
            } else if last.is_none_or(|(best, _, _, _)| end > best) {
                last = Some((end, activity, rule, action));
            }
        }
        if !any_rule {
            return Life::Open(Unbounded::NoRule {
                purpose: activity.id.clone(),
            });
        }
        kept_by_any |= any_kept;
    }
    if !used {
        return Life::Open(Unbounded::Unused);
    }
    if !kept_by_any {
        return unclaimed(policy, facts, record, now, tz);
    }
    // A review date later than every deletion means a review, not a deletion, ends it.
    let ended =
        |(until, activity, rule, action): (Timestamp, &Activity, &RetentionRule, Action)| {
            Life::Until {
                until,
                purpose: activity.id.clone(),
                rule: rule.id.clone(),
                action,
            }
        };
    match (last, review) {
        (Some(last), None) => ended(last),
        (Some(last), Some((due, _, _))) if due <= last.0 => ended(last),
        (_, Some((due, activity, rule))) => Life::Review {
            due,
            purpose: activity.id.clone(),
            rule: rule.id.clone(),
            lapses,
        },
        (None, None) => unclaimed(policy, facts, record, now, tz),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helsinki() -> TimeZone {
        TimeZone::get("Europe/Helsinki").expect("bundled zone")
    }

    /// Adds `duration` to a Helsinki wall-clock time and returns the result as Helsinki wall-clock.
    fn after(local: &str, duration: &str) -> String {
        let start = local
            .parse::<jiff::civil::DateTime>()
            .expect("civil time")
            .to_zoned(helsinki())
            .expect("exists in Helsinki")
            .timestamp();
        let end = add(start, duration.parse().expect("duration"), &helsinki());
        end.to_zoned(helsinki()).datetime().to_string()
    }

    #[test]
    fn months_are_calendar_months_in_the_controllers_time_zone() {
        assert_eq!(after("2025-01-31T12:00", "1 month"), "2025-02-28T12:00:00");
        assert_eq!(after("2024-01-31T12:00", "1 month"), "2024-02-29T12:00:00");
        assert_eq!(after("2024-02-29T12:00", "1 year"), "2025-02-28T12:00:00");
        assert_eq!(after("2025-03-31T23:30", "1 month"), "2025-04-30T23:30:00");
    }

    #[test]
    fn days_keep_the_wall_clock_across_daylight_saving_and_hours_do_not() {
        // Summer time starts in Helsinki on 30 March 2025 at 03:00.
        assert_eq!(after("2025-03-29T12:00", "1 day"), "2025-03-30T12:00:00");
        assert_eq!(after("2025-03-29T12:00", "24 hours"), "2025-03-30T13:00:00");
        assert_eq!(after("2025-03-29T12:00", "72 hours"), "2025-04-01T13:00:00");
    }

    #[test]
    fn the_end_of_the_year_is_midnight_in_the_controllers_time_zone() {
        let at: Timestamp = "2020-12-31T21:30:00Z".parse().expect("timestamp");
        // 23:30 on 31 December in Helsinki: the year ends half an hour later.
        assert_eq!(
            end_of_year(at, &helsinki()).to_string(),
            "2020-12-31T22:00:00Z"
        );
        let later: Timestamp = "2020-12-31T22:30:00Z".parse().expect("timestamp");
        assert_eq!(
            end_of_year(later, &helsinki()).to_string(),
            "2021-12-31T22:00:00Z"
        );
    }
}
