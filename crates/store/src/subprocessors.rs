//! The sub-processor registry's stored half: which optional recipients each customer chose,
//! and the change notices about recipients sent to customers, with the objections raised
//! within their window. The registry itself is the policy's recipients.

use crate::Actor;
use crate::audit::NewAuditEntry;
use crate::model::TenantId;
use crate::notices::NoticeId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

crate::model::id!(
    /// A change notice about recipients, sent to the customers it concerns.
    ChangeId
);

/// What a change notice was about and who was told.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientChange {
    pub id: ChangeId,
    /// The policy versions compared.
    pub from_version: String,
    pub to_version: String,
    /// One line per change, with the recipient it concerns.
    pub changes: Vec<ChangedRecipient>,
    /// Each customer told, and by which notice.
    pub told: Vec<Told>,
    /// Objections are taken until then; `None` when the policy sets no window.
    pub objection_until: Option<Timestamp>,
    /// When the changed sub-processors start (Art. 28(2)): until then the registry and the
    /// public page keep the version the change comes from. `None`: in effect as sent.
    #[serde(default)]
    pub effective_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedRecipient {
    pub recipient: String,
    /// The diff's code: new-recipient, new-third-country-transfer, changed.
    pub code: String,
    pub summary: String,
    pub material: bool,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Told {
    pub tenant: TenantId,
    pub name: String,
    /// The recipients of the change this customer uses.
    pub recipients: Vec<String>,
    pub notice: NoticeId,
}

/// An objection a customer raised to a change.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objection {
    pub change: ChangeId,
    pub tenant: TenantId,
    pub recipient: String,
    pub reason: String,
    pub at: Timestamp,
    /// How it ended, once recorded.
    #[serde(default)]
    pub resolution: Option<Resolution>,
}

/// How an objection to a change ended.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// `accepted` (the customer's selection excludes the provider, or its contract ends) or
    /// `withdrawn` (the customer withdrew the objection).
    pub outcome: String,
    /// What was done or agreed, in a sentence.
    pub note: String,
    pub at: Timestamp,
    /// Who recorded it, as the audit log names them.
    pub by: String,
}

impl Resolution {
    pub const OUTCOMES: [&str; 2] = ["accepted", "withdrawn"];
}

pub(crate) fn change_document(change: &RecipientChange) -> crate::Result<String> {
    serde_json::to_string(change)
        .map_err(|e| crate::StoreError::Corrupt(format!("change {}: {e}", change.id)))
}

pub(crate) fn change_of(document: &str) -> crate::Result<RecipientChange> {
    serde_json::from_str(document)
        .map_err(|e| crate::StoreError::Corrupt(format!("a recipient change: {e}")))
}

impl NewAuditEntry {
    /// A customer chose (or stopped using) an optional recipient.
    pub fn recipient_selected(actor: &Actor, recipient: &str, selected: bool) -> Self {
        NewAuditEntry {
            actor: actor.audit_name(),
            action: if selected {
                "recipient.select".into()
            } else {
                "recipient.deselect".into()
            },
            subject: None,
            categories: vec![],
            purpose: None,
            detail: Some(format!("recipient={recipient}")),
        }
    }

    /// A change notice about recipients was sent.
    pub fn recipient_change(actor: &Actor, change: &RecipientChange) -> Self {
        NewAuditEntry {
            actor: actor.audit_name(),
            action: "recipient.change".into(),
            subject: None,
            categories: vec![],
            purpose: None,
            detail: Some(format!(
                "change={} to_version={} customers={}",
                change.id,
                change.to_version,
                change.told.len()
            )),
        }
    }

    /// An objection to a change was resolved.
    pub fn recipient_objection_resolved(
        actor: &Actor, objection: &Objection, outcome: &str,
    ) -> Self {
        NewAuditEntry {
            actor: actor.audit_name(),
            action: "recipient.resolve".into(),
            subject: None,
            categories: vec![],
            purpose: None,
            detail: Some(format!(
                "change={} customer={} recipient={} outcome={outcome}",
                objection.change, objection.tenant, objection.recipient
            )),
        }
    }

    /// A customer objected to a change.
    pub fn recipient_objection(
        actor: &Actor, change: ChangeId, customer: TenantId, recipient: &str,
    ) -> Self {
        NewAuditEntry {
            actor: actor.audit_name(),
            action: "recipient.object".into(),
            subject: None,
            categories: vec![],
            purpose: None,
            detail: Some(format!(
                "change={change} customer={customer} recipient={recipient}"
            )),
        }
    }
}

/// What the store keeps of customers' optional recipients, change notices and objections. Each
/// backend implements it in `sqlite/subprocessors.rs` and `postgres/subprocessors.rs`; callers
/// reach it through [`crate::Store`].
pub trait Subprocessors {
    /// A customer chooses (`true`) or stops using an optional recipient; false when nothing
    /// changed. Audited in the customer's tenant.
    fn select_recipient(
        &self, tenant: TenantId, recipient: &str, selected: bool, actor: &Actor, at: Timestamp,
    ) -> crate::Result<bool>;
    /// The optional recipients the tenant chose, with when.
    fn selected_recipients(&self, tenant: TenantId) -> crate::Result<Vec<(String, Timestamp)>>;
    /// The tenants that chose an optional recipient.
    fn tenants_selecting(&self, recipient: &str) -> crate::Result<Vec<TenantId>>;
    /// Stores a change notice sent (in the operator's tenant), audited.
    fn save_recipient_change(
        &self, tenant: TenantId, change: &RecipientChange, actor: &Actor, at: Timestamp,
    ) -> crate::Result<()>;
    fn recipient_change(
        &self, tenant: TenantId, id: ChangeId,
    ) -> crate::Result<Option<RecipientChange>>;
    /// Newest first.
    fn recipient_changes(&self, tenant: TenantId) -> crate::Result<Vec<RecipientChange>>;
    /// Records a customer's objection to a change (in the operator's tenant, audited there);
    /// false when it had objected to that recipient already.
    fn object_to_change(
        &self, tenant: TenantId, objection: &Objection, actor: &Actor,
    ) -> crate::Result<bool>;
    fn change_objections(&self, tenant: TenantId, id: ChangeId) -> crate::Result<Vec<Objection>>;
    /// Records how `objection` ended; false when it was resolved already (the first
    /// resolution stands). The objection must exist.
    fn resolve_objection(
        &self, tenant: TenantId, objection: &Objection, resolution: &Resolution, actor: &Actor,
    ) -> crate::Result<bool>;
}
