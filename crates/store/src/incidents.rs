//! The breach register: incidents and their timelines. An incident is kept as one document
//! (what happened, what it touched, what was done) with a version for optimistic updates;
//! every change appends a step to its timeline and an entry to the audit log in the same
//! transaction. Nothing here expires: retention never removes an incident.

use crate::Actor;
use crate::audit::NewAuditEntry;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

crate::model::id!(
    /// A personal-data breach.
    IncidentId
);

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    /// A short name for the people handling it.
    pub title: String,
    /// What happened: the nature of the breach (Art. 33(3)(a)).
    pub description: String,
    /// When the breach began, where known.
    pub occurred_at: Option<Timestamp>,
    /// When the operator became aware: the clock runs from here.
    pub aware_at: Timestamp,
    /// When notice is due (Art. 33(1)).
    pub deadline_at: Timestamp,
    pub opened_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    /// The data categories concerned, as far as known.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Likely consequences (Art. 33(3)(c)).
    pub consequences: Option<String>,
    /// Measures taken or proposed (Art. 33(3)(d)).
    pub measures: Option<String>,
    /// Increases with every change; a change made from an older version is refused.
    pub version: i64,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

/// One step of an incident's timeline: opened, updated, scoped, notified, closed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentStep {
    pub seq: i64,
    pub at: Timestamp,
    /// `key:<id>`, `cli`, `system`.
    pub actor: String,
    pub kind: String,
    /// What the step changed or recorded; never personal data.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

impl NewAuditEntry {
    /// A step on an incident: `incident.<kind>`.
    pub fn incident_step(actor: &Actor, incident: &Incident, kind: &str) -> NewAuditEntry {
        NewAuditEntry {
            actor: actor.audit_name(),
            action: format!("incident.{kind}"),
            subject: None,
            categories: incident.categories.clone(),
            purpose: None,
            detail: Some(format!(
                "incident={} deadline={}",
                incident.id, incident.deadline_at
            )),
        }
    }
}
