//! The record of processing activities of Article 30: 30(1) for what the operator controls,
//! 30(2) for what it processes on behalf of its customers. Every field of those paragraphs is
//! a field here, named after the point it answers.

use super::retention_period;
use crate::countries;
use crate::model::*;
use crate::taxonomy::Sensitivity;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Ropa {
    pub policy_version: String,
    pub last_updated: String,
    /// 30(1)(a) and 30(2)(a): name and contact details of the controller (the operator) and of
    /// its data protection officer and representative.
    pub controller: Party,
    pub data_protection_officer: Option<String>,
    pub representative: Option<String>,
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Party {
    pub name: String,
    pub address: String,
    pub registration: Option<String>,
    pub email: String,
    pub phone: Option<String>,
}

/// A controller on whose behalf the operator processes data (a customer), as the server knows
/// it from its tenants: 30(2)(a) asks for each one by name and contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerController {
    pub name: String,
    /// How to reach it: its service contacts' addresses, or empty where none is recorded.
    pub contact: String,
}

/// Who is who for one record: for 30(1) the operator is the controller and there is no
/// processor; for 30(2) the operator is the processor and the controller is the customer.
#[derive(Debug, Clone, Serialize)]
pub struct RecordParties {
    pub controller: String,
    pub controller_contact: String,
    pub processor: Option<String>,
    pub processor_contact: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// "30(1)" for controller activities, "30(2)" for processor activities.
    pub article: &'static str,
    pub activity_id: String,
    /// The controller (and, for 30(2), the processor) of this record.
    pub parties: RecordParties,
    /// 30(2)(a): the controllers on whose behalf the operator acts, as the policy describes
    /// them; a record per customer names that customer in `parties` instead.
    pub on_behalf_of: Option<String>,
    /// 30(1)(b) the purposes; 30(2)(b) the categories of processing.
    pub purpose: String,
    pub description: Option<String>,
    pub legal_basis: Option<String>,
    pub legitimate_interest: Option<String>,
    pub law: Option<String>,
    pub special_category_condition: Option<String>,
    /// 30(1)(c): categories of data subjects.
    pub data_subjects: Vec<String>,
    /// 30(1)(c): categories of personal data.
    pub personal_data: Vec<DataCategory>,
    pub sources: Vec<String>,
    /// 30(1)(d): recipients, including those in third countries.
    pub recipients: Vec<RecipientEntry>,
    /// 30(1)(e) and 30(2)(c): transfers to third countries and their safeguards.
    pub third_country_transfers: Vec<Transfer>,
    /// 30(1)(f): envisaged time limits for erasure.
    pub erasure_time_limits: Vec<TimeLimit>,
    /// 30(1)(g) and 30(2)(d): technical and organisational security measures.
    pub security_measures: Vec<String>,
    pub data_use: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DataCategory {
    pub key: String,
    pub name: String,
    pub sensitivity: Option<Sensitivity>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecipientEntry {
    pub id: String,
    pub name: String,
    pub role: RecipientRole,
    pub sub_processor: bool,
    pub purpose: String,
    pub country: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Transfer {
    pub recipient: String,
    pub country: String,
    pub country_name: String,
    pub safeguard: Option<Safeguard>,
    pub safeguard_text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimeLimit {
    pub rule: String,
    pub categories: Vec<String>,
    pub keep: crate::Duration,
    pub after: Anchor,
    pub then: Action,
    pub text: String,
}

/// Builds the record from a validated policy. Processor activities get one record that
/// describes their controllers as the policy does; [`ropa_for`] names each customer.
pub fn ropa(policy: &Policy) -> Ropa {
    ropa_for(policy, None)
}

/// Builds the record with one 30(2) entry per customer for each processor activity, naming
/// the customer as its controller (Art. 30(2)(a)); `None` describes them as the policy does.
pub fn ropa_for(policy: &Policy, customers: Option<&[CustomerController]>) -> Ropa {
    let c = &policy.controller;
    let contact = |contact: &Contact| {
        [
            &contact.name,
            &contact.email,
            &contact.phone,
            &contact.address,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
    };
    Ropa {
        policy_version: policy.version.0.clone(),
        last_updated: policy.notice.last_updated.to_string(),
        controller: Party {
            name: c.name.clone(),
            address: c.address.clone(),
            registration: c.registration.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
        },
        data_protection_officer: c.dpo.as_ref().map(contact),
        representative: c.representative.as_ref().map(contact),
        records: policy
            .activities
            .iter()
            .flat_map(|a| {
                let operator = operator_party(policy);
                match (a.role, customers) {
                    (Role::Processor, Some(customers)) => customers
                        .iter()
                        .map(|customer| {
                            let mut entry = record(policy, a);
                            entry.parties = RecordParties {
                                controller: customer.name.clone(),
                                controller_contact: customer.contact.clone(),
                                processor: Some(operator.0.clone()),
                                processor_contact: Some(operator.1.clone()),
                            };
                            entry.on_behalf_of = Some(customer.name.clone());
                            entry
                        })
                        .collect::<Vec<_>>(),
                    _ => vec![record(policy, a)],
                }
            })
            .collect(),
    }
}

/// The operator as a party: its name and address, and how to reach it.
fn operator_party(policy: &Policy) -> (String, String) {
    let c = &policy.controller;
    (
        format!("{}, {}", c.name, c.address),
        [Some(c.email.clone()), c.phone.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; "),
    )
}

fn record(policy: &Policy, activity: &Activity) -> Record {
    let recipients: Vec<&Recipient> = activity
        .recipients
        .iter()
        .filter_map(|r| policy.recipient(r))
        .collect();
    let processor = activity.role == Role::Processor;
    let (operator, operator_contact) = operator_party(policy);
    let parties = if processor {
        RecordParties {
            controller: activity
                .on_behalf_of
                .clone()
                .unwrap_or_else(|| "each customer, as controller".to_owned()),
            controller_contact: String::new(),
            processor: Some(operator),
            processor_contact: Some(operator_contact),
        }
    } else {
        RecordParties {
            controller: operator,
            controller_contact: operator_contact,
            processor: None,
            processor_contact: None,
        }
    };
    Record {
        article: if processor { "30(2)" } else { "30(1)" },
        activity_id: activity.id.clone(),
        parties,
        on_behalf_of: activity.on_behalf_of.clone(),
        purpose: activity.purpose.clone(),
        description: activity.description.clone(),
        legal_basis: activity
            .basis
            .map(|b| format!("{} ({})", b.label(), b.article())),
        legitimate_interest: activity.legitimate_interest.clone(),
        law: activity.law.clone(),
        special_category_condition: activity.special_condition.map(|s| s.article().to_owned()),
        data_subjects: activity
            .subjects
            .iter()
            .map(|s| {
                policy
                    .subject(s)
                    .map_or_else(|| s.clone(), |s| s.name.clone())
            })
            .collect(),
        personal_data: activity
            .categories
            .iter()
            .filter_map(|key| policy.category(key))
            .map(|c| DataCategory {
                key: c.key.clone(),
                name: c.name.clone(),
                sensitivity: c.sensitivity,
            })
            .collect(),
        sources: activity
            .sources
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        recipients: recipients
            .iter()
            .map(|r| RecipientEntry {
                id: r.id.clone(),
                name: r.name.clone(),
                role: r.role,
                sub_processor: processor && r.role == RecipientRole::Processor,
                purpose: r.purpose.clone(),
                country: r.country.clone(),
            })
            .collect(),
        third_country_transfers: recipients
            .iter()
            .filter(|r| r.transfers_outside_eea())
            .map(|r| {
                let country = r.country.clone().unwrap_or_default();
                Transfer {
                    recipient: r.name.clone(),
                    country_name: countries::name(&country).unwrap_or_default().to_owned(),
                    country,
                    safeguard: r.safeguard,
                    safeguard_text: r.safeguard.map_or("", Safeguard::label).to_owned(),
                }
            })
            .collect(),
        erasure_time_limits: activity
            .retention
            .iter()
            .filter_map(|id| policy.retention_rule(id))
            .map(|rule| TimeLimit {
                rule: rule.id.clone(),
                categories: activity
                    .categories
                    .iter()
                    .filter(|c| rule.covers(c))
                    .cloned()
                    .collect(),
                keep: rule.keep,
                after: rule.after,
                then: rule.then,
                text: retention_period(rule),
            })
            .collect(),
        security_measures: policy.security.measures.clone(),
        data_use: activity.data_use.clone(),
    }
}

pub(crate) fn to_json(ropa: &Ropa) -> String {
    // Serialising plain structs of strings cannot fail.
    serde_json::to_string_pretty(ropa).unwrap_or_default() + "\n"
}

const CSV_HEADERS: [&str; 20] = [
    "article",
    "activity_id",
    "controller",
    "controller_contact",
    "processor",
    "processor_contact",
    "data_protection_officer",
    "representative",
    "on_behalf_of",
    "purpose",
    "legal_basis",
    "legitimate_interest_or_law",
    "special_category_condition",
    "data_subjects",
    "personal_data",
    "sources",
    "recipients",
    "third_country_transfers",
    "erasure_time_limits",
    "security_measures",
];

pub(crate) fn to_csv(ropa: &Ropa) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let joined = |items: Vec<String>| items.join("; ");
    let mut rows = vec![
        CSV_HEADERS
            .iter()
            .map(|h| (*h).to_owned())
            .collect::<Vec<_>>(),
    ];
    for r in &ropa.records {
        rows.push(vec![
            r.article.to_owned(),
            r.activity_id.clone(),
            r.parties.controller.clone(),
            r.parties.controller_contact.clone(),
            r.parties.processor.clone().unwrap_or_default(),
            r.parties.processor_contact.clone().unwrap_or_default(),
            ropa.data_protection_officer.clone().unwrap_or_default(),
            ropa.representative.clone().unwrap_or_default(),
            r.on_behalf_of.clone().unwrap_or_default(),
            r.purpose.clone(),
            r.legal_basis.clone().unwrap_or_default(),
            joined(
                [r.legitimate_interest.clone(), r.law.clone()]
                    .into_iter()
                    .flatten()
                    .collect(),
            ),
            r.special_category_condition.clone().unwrap_or_default(),
            joined(r.data_subjects.clone()),
            joined(
                r.personal_data
                    .iter()
                    .map(|c| format!("{} ({})", c.name, c.key))
                    .collect(),
            ),
            joined(r.sources.clone()),
            joined(
                r.recipients
                    .iter()
                    .map(|x| match &x.country {
                        Some(country) => format!("{} ({}, {})", x.name, x.purpose, country),
                        None => format!("{} ({})", x.name, x.purpose),
                    })
                    .collect(),
            ),
            joined(
                r.third_country_transfers
                    .iter()
                    .map(|t| {
                        format!(
                            "{} to {}: {}",
                            t.recipient, t.country_name, t.safeguard_text
                        )
                    })
                    .collect(),
            ),
            joined(
                r.erasure_time_limits
                    .iter()
                    .map(|t| format!("{}: {}", t.categories.join(", "), t.text))
                    .collect(),
            ),
            joined(r.security_measures.clone()),
        ]);
    }
    for row in rows {
        // Writing to a Vec cannot fail for I/O reasons, and every row has the same length.
        let _ = writer.write_record(&row);
    }
    writer
        .into_inner()
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default()
}
