//! Everything the policy publishes: the privacy notice (Markdown, HTML) and the Article 30
//! record (CSV, JSON). The notice is built once as a [`document::Document`] and then written
//! out, so the two notice formats cannot drift apart.

pub mod document;
mod html;
mod markdown;
mod notice;
pub mod ropa;

use crate::Policy;
use crate::model::{Action, Anchor, RetentionRule, Unreviewed};

pub use ropa::{CustomerController, Ropa, ropa, ropa_for};

/// The privacy notice as a document model, for callers that lay it out themselves (the web UI,
/// tests that look for a promise wherever it is).
pub fn notice(policy: &Policy) -> document::Document {
    notice::build(policy)
}

/// The privacy notice as Markdown.
pub fn markdown(policy: &Policy) -> String {
    markdown::write(&notice::build(policy))
}

/// The privacy notice as one self-contained, accessible HTML page.
pub fn html(policy: &Policy) -> String {
    html::write(&notice::build(policy), policy)
}

/// The Article 30 record as CSV, one row per processing activity.
pub fn ropa_csv(policy: &Policy) -> String {
    ropa::to_csv(&ropa(policy))
}

/// The Article 30 record as pretty-printed JSON.
pub fn ropa_json(policy: &Policy) -> String {
    ropa::to_json(&ropa(policy))
}

/// The Article 30 record with a 30(2) entry per customer, as CSV or JSON.
pub fn ropa_for_customers(policy: &Policy, customers: &[CustomerController], csv: bool) -> String {
    let record = ropa_for(policy, Some(customers));
    if csv {
        ropa::to_csv(&record)
    } else {
        ropa::to_json(&record)
    }
}

/// A retention rule as a person reads it: "180 days after the contract ends, then deleted".
pub fn retention_period(rule: &RetentionRule) -> String {
    let event = match rule.after {
        Anchor::Collected => "the data is collected",
        Anchor::ContractEnd => "the contract ends",
        Anchor::AccountClosed => "the account is closed",
        Anchor::LastInteraction => "the last interaction",
        Anchor::ConsentWithdrawn => "consent is withdrawn",
        Anchor::Unsubscribe => "you unsubscribe",
    };
    let period = if rule.then == Action::Review {
        format!("reviewed at least every {}", rule.keep)
    } else if rule.keep.amount == 0 {
        format!("until {event}")
    } else if rule.from_end_of_year {
        format!(
            "{} from the end of the calendar year in which {event}",
            rule.keep
        )
    } else {
        format!("{} {}", rule.keep, rule.after.label())
    };
    let then = match rule.then {
        Action::Delete => "then deleted",
        Action::Anonymise => "then anonymised",
        Action::Review => "what is no longer needed is deleted",
    };
    let mut text = format!("{period}; {then}");
    if rule.then == Action::Review && rule.if_unreviewed == Unreviewed::Delete {
        text.push_str(&format!(
            ", and what nobody has reviewed {} after it was due is deleted too",
            rule.grace
        ));
    }
    if let Some(law) = &rule.law {
        text.push_str(&format!(" (as required by {law})"));
    }
    text
}

/// "data is kept" → "Data is kept", for text that starts a sentence or a cell.
pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "2 March 2026".
pub(crate) fn long_date(date: jiff::civil::Date) -> String {
    date.strftime("%-d %B %Y").to_string()
}
