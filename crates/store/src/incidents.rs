//! The breach register: incidents and their timelines. An incident is kept as one document
//! (what happened, what it touched, what was done) with a version for optimistic updates;
//! every change appends a step to its timeline and an entry to the audit log in the same
//! transaction. Nothing here expires: retention never removes an incident.

use crate::Actor;
use crate::audit::NewAuditEntry;
use crate::model::TenantId;
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
    /// How the affected data was found, and what it found (Art. 33(3)(a)).
    #[serde(default)]
    pub scope: Option<Scope>,
    #[serde(default)]
    pub impact: Option<Impact>,
    /// Each notification given, phase by phase (Art. 33(4)), to a customer, the authority or
    /// the people concerned.
    #[serde(default)]
    pub notifications: Vec<Notification>,
    /// The DPO's record that the breach is unlikely to result in a risk to people (Art. 33(1)),
    /// with the reasons (Art. 33(5)); it releases the operator from telling the authority.
    #[serde(default)]
    pub risk_unlikely: Option<RiskAssessment>,
    /// The DPO's record that Art. 34(3) exempts the communication to the people concerned,
    /// on which ground and why (kept with the register, like the rest of Art. 33(5)).
    #[serde(default)]
    pub subjects_exempt: Option<SubjectsExemption>,
    /// Increases with every change; a change made from an older version is refused.
    pub version: i64,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }

    /// The customers the scope reached that have not been notified yet.
    pub fn customers_untold(&self) -> Vec<crate::model::TenantId> {
        self.impact
            .iter()
            .flat_map(|i| i.tenants.iter().filter(|t| !t.operator))
            .map(|t| t.tenant)
            .filter(|t| {
                !self
                    .notifications
                    .iter()
                    .any(|n| n.party == "customer" && n.tenant == Some(*t))
            })
            .collect()
    }

    /// Whether the authority is still owed notice (Art. 33(1)): the scope reached data the
    /// operator controls, no filing is recorded, and no one recorded that the breach is
    /// unlikely to result in a risk.
    pub fn authority_owed(&self) -> bool {
        let own_data = self
            .impact
            .iter()
            .flat_map(|i| i.tenants.iter())
            .any(|t| t.operator);
        own_data
            && self.risk_unlikely.is_none()
            && !self.notifications.iter().any(|n| n.party == "authority")
    }

    /// The notification that stopped the clock: once every customer the scope reached and,
    /// where it is owed, the authority have been told, the last of those first
    /// notifications; with no such party concerned, the first notification to anyone. `None`
    /// while notice is still due.
    pub fn notice_given(&self) -> Option<&Notification> {
        if !self.customers_untold().is_empty() || self.authority_owed() {
            return None;
        }
        let required: Vec<&Notification> = self
            .notifications
            .iter()
            .filter(|n| n.phase == 1 && (n.party == "customer" || n.party == "authority"))
            .collect();
        if required.is_empty() {
            self.notifications.iter().min_by_key(|n| n.at)
        } else {
            required.into_iter().max_by_key(|n| n.at)
        }
    }

    /// Whether the clock has stopped: every party owed notice was told, or the only duty left
    /// was the authority's and the breach is recorded as unlikely to result in a risk.
    pub fn clock_stopped(&self) -> bool {
        self.notice_given().is_some()
            || (self.risk_unlikely.is_some()
                && self.customers_untold().is_empty()
                && !self.authority_owed())
    }

    /// The incident as a save stores it: the next version, and its document.
    pub(crate) fn next_version(&self) -> crate::Result<(Incident, String)> {
        let saved = Incident {
            version: self.version + 1,
            ..self.clone()
        };
        let document = serde_json::to_string(&saved)
            .map_err(|e| crate::StoreError::Corrupt(format!("incident {}: {e}", saved.id)))?;
        Ok((saved, document))
    }
}

/// One notification of an incident, as given.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// `customer` (a controller, Art. 33(2)), `authority` (Art. 33(1)) or `subjects` (Art. 34).
    pub party: String,
    /// The customer told, for `customer`.
    #[serde(default)]
    pub tenant: Option<crate::model::TenantId>,
    /// 1 for the first notification to this party, then each further phase.
    pub phase: u32,
    /// The notice that carried it, for notifications sent through the ledger.
    #[serde(default)]
    pub notice: Option<crate::notices::NoticeId>,
    /// The authority's case reference, for a notification filed with it.
    #[serde(default)]
    pub reference: Option<String>,
    /// How many people it was queued to.
    pub recipients: u64,
    pub at: Timestamp,
    /// Given after the deadline; then `delay_reason` says why (Art. 33(1)).
    pub late: bool,
    /// How much before (on time) or after (late) the deadline, as people read it.
    pub against_deadline: String,
    #[serde(default)]
    pub delay_reason: Option<String>,
    /// The Art. 33(3) items it could not yet give, to follow in a later phase.
    #[serde(default)]
    pub missing: Vec<String>,
}

/// How an incident's reach was established: what one API key read in a window (from the audit
/// log), or which data of some categories was held in a window (from the records).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Scoped by what one key read: the key, as the audit log names it (`key:<id>`).
    #[serde(default)]
    pub actor: Option<String>,
    /// Scoped by data: these categories (and those beneath them), as held in the window.
    #[serde(default)]
    pub categories: Vec<String>,
    /// The tenants looked at.
    #[serde(default)]
    pub tenants: Vec<crate::model::TenantId>,
    pub from: Timestamp,
    pub until: Timestamp,
}

/// What an incident touched: per tenant (each a controller to tell), the people and the
/// records per category. Counts, never the people themselves.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impact {
    pub subjects: u64,
    pub records: u64,
    pub tenants: Vec<TenantImpact>,
    /// Special categories (Art. 9, 10) or national identity numbers are involved: a hint that
    /// the risk to people is high and they may have to be told directly (Art. 34).
    pub high_risk: bool,
}

/// Why a breach is unlikely to result in a risk to people, as the DPO recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskAssessment {
    pub reasons: String,
    pub at: Timestamp,
    /// Who recorded it, as the audit log names them.
    pub by: String,
}

/// Why the people concerned need not be told (Art. 34(3)).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectsExemption {
    /// `unintelligible` (34(3)(a): encryption or the like made the data unintelligible),
    /// `risk_removed` (34(3)(b): later measures make the high risk no longer likely) or
    /// `disproportionate` (34(3)(c): a public communication informs people instead).
    pub ground: String,
    pub reasons: String,
    /// For `disproportionate`: the public communication made instead, and where.
    #[serde(default)]
    pub public_communication: Option<String>,
    pub at: Timestamp,
    pub by: String,
}

impl SubjectsExemption {
    pub const GROUNDS: [(&str, &str); 3] = [
        ("unintelligible", "Art. 34(3)(a) GDPR"),
        ("risk_removed", "Art. 34(3)(b) GDPR"),
        ("disproportionate", "Art. 34(3)(c) GDPR"),
    ];
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantImpact {
    pub tenant: crate::model::TenantId,
    pub name: String,
    /// The operator's own data (true), or a customer's, who is controller and must be told.
    pub operator: bool,
    pub subjects: u64,
    /// Per category: how many people, how many records (subject and category pairs read).
    pub categories: Vec<CategoryImpact>,
    pub special_categories: bool,
    pub national_id: bool,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryImpact {
    pub category: String,
    pub subjects: u64,
    pub records: u64,
}

/// One audited read: whose data, which categories (`identities` for a subject's identities).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub subject: crate::model::SubjectId,
    pub categories: Vec<String>,
    /// How many records the read returned.
    pub records: u64,
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
    /// What the step changed or recorded, as JSON: an object for most steps, an array of the
    /// parties told for `notify`; never personal data.
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
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

/// A read as scoping counts it, from one audit entry's action, categories and detail.
pub fn read_of(
    subject: crate::model::SubjectId, action: &str, categories: Vec<String>, detail: Option<&str>,
) -> Read {
    if action == "subject.read" {
        return Read {
            subject,
            categories: vec!["identities".into()],
            records: 0,
        };
    }
    let records = detail
        .and_then(|d| {
            d.split_whitespace()
                .find_map(|w| w.strip_prefix("returned="))
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(categories.len() as u64);
    Read {
        subject,
        categories,
        records,
    }
}

/// What the store keeps of the breach register. Each backend implements it in `sqlite/incidents.rs`
/// and `postgres/incidents.rs`; callers reach it through [`crate::Store`].
pub trait Incidents {
    /// Opens an incident (version 0, not stored yet) or stores a change to it (the stored
    /// version must be `incident.version`, else `Conflict`), appending a `kind` step with
    /// `detail` to its timeline and `incident.<kind>` to the audit log, all or nothing.
    /// Returns it as stored, with its new version.
    fn save_incident(
        &self, tenant: TenantId, incident: &Incident, kind: &str, detail: serde_json::Value,
        actor: &Actor, at: Timestamp,
    ) -> crate::Result<Incident>;
    fn incident(&self, tenant: TenantId, id: IncidentId) -> crate::Result<Option<Incident>>;
    fn incident_timeline(
        &self, tenant: TenantId, id: IncidentId,
    ) -> crate::Result<Vec<IncidentStep>>;
    /// The tenant's incidents, newest first; only open ones when asked.
    fn incidents(&self, tenant: TenantId, open_only: bool) -> crate::Result<Vec<Incident>>;
    /// Open incidents across tenants, soonest deadline first: the /metrics gauge.
    fn open_incidents(&self) -> crate::Result<Vec<(TenantId, Incident)>>;
    /// What `actor` read in the tenant in `[from, until)`, from the audit log: each read of
    /// records (`records.read`) or of identities (`subject.read`).
    fn reads_by(
        &self, tenant: TenantId, actor: &str, from: Timestamp, until: Timestamp,
    ) -> crate::Result<Vec<Read>>;
}
