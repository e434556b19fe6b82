//! What has happened to a subject, as recorded events, and the questions the rules ask of them:
//! is there a contract, is consent given, has the person objected or asked for restriction.
//! Events may be recorded late with an `occurred_at` in the past; an event dated after the
//! moment asked about does not count yet.

use jiff::Timestamp;
use ombud_policy::model::Anchor;
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ContractStart,
    ContractEnd,
    /// The person got an account of the service: activities whose data lives while the account
    /// does apply to them from here on.
    AccountOpened,
    AccountClosed,
    LastInteraction,
    /// Consent for the event's purpose.
    ConsentGiven,
    /// Withdrawal of consent for the event's purpose.
    ConsentWithdrawn,
    /// An objection (Art. 21) to the event's purpose, or to every purpose that rests on
    /// legitimate interests or a public task when it names none.
    Objection,
    /// A restriction of processing (Art. 18).
    Restriction,
    RestrictionLifted,
    /// The controller recorded compelling legitimate grounds that override the person's
    /// objection for the event's purpose (Art. 21(1)): processing for it may go on.
    ObjectionOverridden,
    /// An opt-out from the event's purpose, or from every opt-out purpose when it names none.
    Unsubscribe,
    /// A review (of a prospect, under a `then = "review"` rule) decided to keep the data for the
    /// event's purpose, or for every purpose when it names none: the review period starts again.
    ReviewKept,
    /// A review decided not to keep the data for the event's purpose (or every purpose): that
    /// purpose lets go of it at once, and the sweeper removes what no other purpose keeps.
    ReviewDeclined,
}

impl EventKind {
    pub const ALL: [EventKind; 14] = [
        EventKind::ContractStart,
        EventKind::ContractEnd,
        EventKind::AccountOpened,
        EventKind::AccountClosed,
        EventKind::LastInteraction,
        EventKind::ConsentGiven,
        EventKind::ConsentWithdrawn,
        EventKind::Objection,
        EventKind::ObjectionOverridden,
        EventKind::Restriction,
        EventKind::RestrictionLifted,
        EventKind::Unsubscribe,
        EventKind::ReviewKept,
        EventKind::ReviewDeclined,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ContractStart => "contract_start",
            EventKind::ContractEnd => "contract_end",
            EventKind::AccountOpened => "account_opened",
            EventKind::AccountClosed => "account_closed",
            EventKind::LastInteraction => "last_interaction",
            EventKind::ConsentGiven => "consent_given",
            EventKind::ConsentWithdrawn => "consent_withdrawn",
            EventKind::Objection => "objection",
            EventKind::ObjectionOverridden => "objection_overridden",
            EventKind::Restriction => "restriction",
            EventKind::RestrictionLifted => "restriction_lifted",
            EventKind::Unsubscribe => "unsubscribe",
            EventKind::ReviewKept => "review_kept",
            EventKind::ReviewDeclined => "review_declined",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// Review decisions belong to the people who decide on retention, not to applications.
    pub fn is_review_decision(self) -> bool {
        matches!(self, EventKind::ReviewKept | EventKind::ReviewDeclined)
    }

    /// Whether the event is about one purpose: consent events and overridden objections must
    /// name it.
    pub fn requires_purpose(self) -> bool {
        matches!(
            self,
            EventKind::ConsentGiven | EventKind::ConsentWithdrawn | EventKind::ObjectionOverridden
        )
    }

    /// Events only the rights desk records, with the decision they carry: an application
    /// cannot override a person's objection by posting an event.
    pub fn is_desk_decision(self) -> bool {
        self == EventKind::ObjectionOverridden
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    /// The activity id the event concerns, where it concerns one.
    pub purpose: Option<String>,
    pub occurred_at: Timestamp,
}

/// Whether a contract is in force at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractState {
    Never,
    Active { since: Timestamp },
    Ended { at: Timestamp },
}

/// The events of one subject, in the order they occurred.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectFacts {
    events: Vec<Event>,
}

impl SubjectFacts {
    pub fn new(mut events: Vec<Event>) -> Self {
        // Stable, so two events at the same instant keep the order they were recorded in.
        events.sort_by_key(|e| e.occurred_at);
        SubjectFacts { events }
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    fn until(&self, at: Timestamp) -> impl DoubleEndedIterator<Item = &Event> {
        self.events.iter().filter(move |e| e.occurred_at <= at)
    }

    fn latest(&self, at: Timestamp, matches: impl Fn(&Event) -> bool) -> Option<&Event> {
        self.until(at).rev().find(|e| matches(e))
    }

    pub fn contract(&self, at: Timestamp) -> ContractState {
        match self.latest(at, |e| {
            matches!(e.kind, EventKind::ContractStart | EventKind::ContractEnd)
        }) {
            None => ContractState::Never,
            Some(e) if e.kind == EventKind::ContractStart => ContractState::Active {
                since: e.occurred_at,
            },
            Some(e) => ContractState::Ended { at: e.occurred_at },
        }
    }

    fn ever(&self, at: Timestamp, matches: impl Fn(&Event) -> bool) -> bool {
        self.until(at).any(matches)
    }

    /// Whether the person has had a contract by `at`, running or ended.
    pub fn had_contract(&self, at: Timestamp) -> bool {
        self.contract(at) != ContractState::Never
    }

    /// Whether the person has had an account by `at`, open or closed.
    pub fn had_account(&self, at: Timestamp) -> bool {
        self.ever(at, |e| {
            matches!(e.kind, EventKind::AccountOpened | EventKind::AccountClosed)
        })
    }

    /// Whether the person has ever consented to `purpose` by `at` (withdrawn since or not).
    pub fn ever_consented(&self, purpose: &str, at: Timestamp) -> bool {
        self.ever(at, |e| {
            e.kind == EventKind::ConsentGiven && e.purpose.as_deref() == Some(purpose)
        })
    }

    /// Whether the relationship a retention period counts the end of has ever existed for
    /// `purpose`: a contract for `contract_end`, an account for `account_closed`, consent for
    /// `consent_withdrawn`. Periods from collection, the last interaction or an opt-out need none.
    pub fn relationship_existed(&self, anchor: Anchor, purpose: &str, at: Timestamp) -> bool {
        match anchor {
            Anchor::ContractEnd => self.had_contract(at),
            Anchor::AccountClosed => self.had_account(at),
            Anchor::ConsentWithdrawn => self.ever_consented(purpose, at),
            Anchor::Collected | Anchor::LastInteraction | Anchor::Unsubscribe => true,
        }
    }

    /// The latest consent decision for `purpose` at `at`: `Some(true)` given, `Some(false)`
    /// withdrawn, `None` never asked.
    pub fn consent(&self, purpose: &str, at: Timestamp) -> Option<(bool, Timestamp)> {
        self.latest(at, |e| {
            matches!(
                e.kind,
                EventKind::ConsentGiven | EventKind::ConsentWithdrawn
            ) && e.purpose.as_deref() == Some(purpose)
        })
        .map(|e| (e.kind == EventKind::ConsentGiven, e.occurred_at))
    }

    /// An objection found by `matches`, unless compelling grounds for `purpose` were recorded
    /// after it (Art. 21(1)).
    fn standing_objection(
        &self,
        purpose: &str,
        at: Timestamp,
        matches: impl Fn(&Event) -> bool,
    ) -> Option<Timestamp> {
        let objected = self.latest(at, matches)?.occurred_at;
        let overridden = self
            .latest(at, |e| {
                e.kind == EventKind::ObjectionOverridden && e.purpose.as_deref() == Some(purpose)
            })
            .is_some_and(|e| e.occurred_at >= objected);
        (!overridden).then_some(objected)
    }

    /// When the person objected to `purpose` by name, if they have and no compelling grounds
    /// were recorded since; a blanket objection does not count.
    pub fn objection_to(&self, purpose: &str, at: Timestamp) -> Option<Timestamp> {
        self.standing_objection(purpose, at, |e| {
            e.kind == EventKind::Objection && e.purpose.as_deref() == Some(purpose)
        })
    }

    /// When the person objected to `purpose` (or to all such purposes), if they have and no
    /// compelling grounds for it were recorded since.
    pub fn objection(&self, purpose: &str, at: Timestamp) -> Option<Timestamp> {
        self.standing_objection(purpose, at, |e| {
            e.kind == EventKind::Objection && e.purpose.as_deref().is_none_or(|p| p == purpose)
        })
    }

    pub fn unsubscribed(&self, purpose: &str, at: Timestamp) -> Option<Timestamp> {
        self.latest(at, |e| {
            e.kind == EventKind::Unsubscribe && e.purpose.as_deref().is_none_or(|p| p == purpose)
        })
        .map(|e| e.occurred_at)
    }

    /// The latest review decision about `purpose` at `at`: kept (`true`) or declined, and when.
    pub fn review(&self, purpose: &str, at: Timestamp) -> Option<(bool, Timestamp)> {
        self.latest(at, |e| {
            e.kind.is_review_decision() && e.purpose.as_deref().is_none_or(|p| p == purpose)
        })
        .map(|e| (e.kind == EventKind::ReviewKept, e.occurred_at))
    }

    /// Since when processing is restricted, if it is.
    pub fn restricted(&self, at: Timestamp) -> Option<Timestamp> {
        self.latest(at, |e| {
            matches!(
                e.kind,
                EventKind::Restriction | EventKind::RestrictionLifted
            )
        })
        .filter(|e| e.kind == EventKind::Restriction)
        .map(|e| e.occurred_at)
    }

    /// When the event a retention period counts from happened, for `purpose`, if it has.
    /// `Collected` is the record's own time and is answered by the caller.
    pub fn anchor(&self, anchor: Anchor, purpose: &str, at: Timestamp) -> Option<Timestamp> {
        match anchor {
            Anchor::Collected => None,
            Anchor::ContractEnd => match self.contract(at) {
                ContractState::Ended { at } => Some(at),
                _ => None,
            },
            Anchor::AccountClosed => self
                .latest(at, |e| e.kind == EventKind::AccountClosed)
                .map(|e| e.occurred_at),
            Anchor::LastInteraction => self
                .latest(at, |e| e.kind == EventKind::LastInteraction)
                .map(|e| e.occurred_at),
            Anchor::ConsentWithdrawn => match self.consent(purpose, at) {
                Some((false, withdrawn)) => Some(withdrawn),
                _ => None,
            },
            Anchor::Unsubscribe => self.unsubscribed(purpose, at),
        }
    }
}
