//! Who a service message goes to. A mandatory kind (a security notice, a change to the
//! agreement) reaches everyone in its audience; an opt-out kind (news, surveys) skips the
//! people who unsubscribed from it, or from every opt-out message, and those who objected to it.

use crate::facts::SubjectFacts;
use jiff::Timestamp;
use serde::Serialize;

/// What the ledger records for one person in a notice's audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Delivery {
    Send,
    /// Opted out of this kind (or of every opt-out message) at `since`.
    SkipUnsubscribed {
        since: Timestamp,
    },
    /// Objected to this kind (or to every purpose resting on legitimate interests) at `since`.
    SkipObjected {
        since: Timestamp,
    },
    /// No email address is known for the person.
    SkipNoAddress,
}

impl Delivery {
    /// Why the person was skipped, in the words the ledger keeps; `None` when sent.
    pub fn skip_reason(&self) -> Option<String> {
        match self {
            Delivery::Send => None,
            Delivery::SkipUnsubscribed { since } => Some(format!("unsubscribed at {since}")),
            Delivery::SkipObjected { since } => Some(format!("objected at {since}")),
            Delivery::SkipNoAddress => Some("no email address known".to_owned()),
        }
    }
}

/// Decides one person's delivery of a notice of kind `kind`, sent for `activity` (an opt-out
/// kind names the activity it serves), at `at`. An opt-out or objection naming the kind, the
/// activity, or everything skips the person. Events recorded later but dated before `at` count
/// (an unsubscribe that arrived by post still holds).
pub fn decide(
    kind: &str,
    activity: Option<&str>,
    mandatory: bool,
    facts: &SubjectFacts,
    has_address: bool,
    at: Timestamp,
) -> Delivery {
    if !has_address {
        return Delivery::SkipNoAddress;
    }
    if mandatory {
        return Delivery::Send;
    }
    let latest = |found: &dyn Fn(&str) -> Option<Timestamp>| {
        found(kind)
            .into_iter()
            .chain(activity.and_then(found))
            .max()
    };
    if let Some(since) = latest(&|key| facts.unsubscribed(key, at)) {
        return Delivery::SkipUnsubscribed { since };
    }
    if let Some(since) = latest(&|key| facts.objection(key, at)) {
        return Delivery::SkipObjected { since };
    }
    Delivery::Send
}
