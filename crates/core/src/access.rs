//! Purpose-bound access (rule 1): a read of personal data names a purpose, and is allowed only
//! if the policy lists the category for that purpose, under a legal basis that holds now for
//! this subject, while the purpose's retention still runs.

use crate::facts::{ContractState, SubjectFacts};
use crate::retention::{Retention, purpose_retention};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_policy::model::{Activity, LegalBasis, Policy, Role};
use serde::Serialize;

/// Whether the operator holds a tenant's data as its controller (its own customers) or as a
/// processor for the tenant (data the customer puts in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataRole {
    Controller,
    Processor,
}

impl DataRole {
    /// The operator's own tenant holds data as controller; every customer tenant's data is
    /// held for the customer, as processor.
    pub fn of_tenant(operator: bool) -> DataRole {
        if operator {
            DataRole::Controller
        } else {
            DataRole::Processor
        }
    }
}

impl From<Role> for DataRole {
    /// The role in which an activity of the policy handles data.
    fn from(role: Role) -> DataRole {
        match role {
            Role::Controller => DataRole::Controller,
            Role::Processor => DataRole::Processor,
        }
    }
}

/// Why access was allowed or refused. Each variant is one rule; `message` says it in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// The basis holds and the purpose still retains the data.
    BasisHolds,
    UnknownPurpose,
    /// The data is held in the other role than the activity's.
    RoleMismatch {
        data_role: DataRole,
    },
    CategoryNotInPurpose {
        category: String,
    },
    RetentionEnded {
        rule: String,
        at: Timestamp,
    },
    Restricted {
        since: Timestamp,
    },
    NoConsent,
    ConsentWithdrawn {
        at: Timestamp,
    },
    Objected {
        at: Timestamp,
    },
    Unsubscribed {
        at: Timestamp,
    },
    NoContract,
}

impl Reason {
    pub fn message(&self, purpose: &str) -> String {
        match self {
            Reason::BasisHolds => {
                format!("the legal basis of `{purpose}` holds for this subject now")
            }
            Reason::UnknownPurpose => {
                format!("`{purpose}` is not a processing activity of the policy")
            }
            Reason::RoleMismatch {
                data_role: DataRole::Processor,
            } => format!(
                "this data is held as processor for a customer; `{purpose}` is one of our own purposes and may not use it"
            ),
            Reason::RoleMismatch {
                data_role: DataRole::Controller,
            } => format!(
                "`{purpose}` is processing on behalf of customers and may not use our own data"
            ),
            Reason::CategoryNotInPurpose { category } => {
                format!("the policy does not list `{category}` for `{purpose}`")
            }
            Reason::RetentionEnded { rule, at } => {
                format!("the retention of `{purpose}` for this data ended at {at} (rule `{rule}`)")
            }
            Reason::Restricted { since } => {
                format!("processing is restricted since {since} (Art. 18)")
            }
            Reason::NoConsent => format!("`{purpose}` rests on consent and none is recorded"),
            Reason::ConsentWithdrawn { at } => {
                format!("consent to `{purpose}` was withdrawn at {at}")
            }
            Reason::Objected { at } => {
                format!("the subject objected to `{purpose}` at {at} (Art. 21)")
            }
            Reason::Unsubscribed { at } => format!("the subject opted out of `{purpose}` at {at}"),
            Reason::NoContract => {
                format!("`{purpose}` rests on a contract and the subject has none")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    pub purpose: String,
    /// The basis the purpose rests on; none for processor activities and unknown purposes.
    pub basis: Option<LegalBasis>,
    pub reason: Reason,
}

impl Decision {
    fn allow(activity: &Activity) -> Decision {
        Decision {
            allowed: true,
            purpose: activity.id.clone(),
            basis: activity.basis,
            reason: Reason::BasisHolds,
        }
    }

    fn deny(purpose: &str, basis: Option<LegalBasis>, reason: Reason) -> Decision {
        Decision {
            allowed: false,
            purpose: purpose.to_owned(),
            basis,
            reason,
        }
    }

    pub fn message(&self) -> String {
        self.reason.message(&self.purpose)
    }
}

/// May the subject's data be used for `purpose` at all, now? Answers the hot-path question
/// ("may I send this newsletter?") without looking at individual records.
pub fn decide_purpose(
    policy: &Policy,
    facts: &SubjectFacts,
    purpose: &str,
    data_role: DataRole,
    now: Timestamp,
) -> Decision {
    let Some(activity) = policy.activity(purpose) else {
        return Decision::deny(purpose, None, Reason::UnknownPurpose);
    };
    let deny = |reason| Decision::deny(purpose, activity.basis, reason);
    if DataRole::from(activity.role) != data_role {
        return deny(Reason::RoleMismatch { data_role });
    }
    if let Some(since) = facts.restricted(now)
        && !activity.restriction_exempt
    {
        return deny(Reason::Restricted { since });
    }
    if activity.opt_out
        && let Some(at) = facts.unsubscribed(purpose, now)
    {
        return deny(Reason::Unsubscribed { at });
    }
    match activity.basis {
        Some(LegalBasis::Consent) => match facts.consent(purpose, now) {
            Some((true, _)) => {}
            Some((false, at)) => return deny(Reason::ConsentWithdrawn { at }),
            None => return deny(Reason::NoConsent),
        },
        Some(LegalBasis::Contract) => {
            // After the contract ends, the purpose's retention decides how long it may go on.
            if facts.contract(now) == ContractState::Never {
                return deny(Reason::NoContract);
            }
        }
        // Art. 21(1) lets a person object to processing on these two bases.
        Some(LegalBasis::LegitimateInterests | LegalBasis::PublicTask) => {
            // Art. 21(1) lets processing go on "for the establishment, exercise or defence of
            // legal claims": an objection to everything does not reach a purpose the policy
            // marks as such (restriction_exempt); only one that names it does.
            let objected = if activity.restriction_exempt {
                facts.objection_to(purpose, now)
            } else {
                facts.objection(purpose, now)
            };
            if let Some(at) = objected {
                return deny(Reason::Objected { at });
            }
        }
        Some(LegalBasis::LegalObligation | LegalBasis::VitalInterests) | None => {}
    }
    Decision::allow(activity)
}

/// May one record (of `category`, collected at `collected_at`) be read for `purpose` now?
#[allow(clippy::too_many_arguments)]
pub fn decide(
    policy: &Policy,
    facts: &SubjectFacts,
    purpose: &str,
    category: &str,
    collected_at: Timestamp,
    data_role: DataRole,
    now: Timestamp,
    tz: &TimeZone,
) -> Decision {
    let decision = decide_purpose(policy, facts, purpose, data_role, now);
    let Some(activity) = policy.activity(purpose) else {
        return decision;
    };
    let listed = activity
        .categories
        .iter()
        .any(|listed| ombud_policy::taxonomy::is_within(category, listed));
    if !listed {
        return Decision::deny(
            purpose,
            activity.basis,
            Reason::CategoryNotInPurpose {
                category: category.to_owned(),
            },
        );
    }
    if !decision.allowed {
        return decision;
    }
    match purpose_retention(policy, activity, category, facts, collected_at, now, tz) {
        Retention::Until { until, rule } if now >= until => Decision::deny(
            purpose,
            activity.basis,
            Reason::RetentionEnded { rule, at: until },
        ),
        _ => decision,
    }
}
