//! The rights desk: every step of a data-subject request, with the rules of the core applied, for
//! the HTTP API, the portal and the CLI alike. Calls are blocking (they call the store); async
//! callers run them on the blocking pool. It must not carry out anything of a request before the
//! request is verified.

use crate::exports;
use crate::mail;
use crate::secrets::Secrets;
use crate::tenants::Voice;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_core::facts::SubjectFacts;
use ombud_core::requests::{
    self, CODE_VALIDITY, EXPORT_VALIDITY, Hold, MAX_CODE_ATTEMPTS, RecordFacts, RequestError,
    RequestKind, RequestStatus,
};
use ombud_core::text;
use ombud_core::{EventKind, Identity, IdentityKind};
use ombud_policy::Duration;
use ombud_policy::Policy;
use ombud_policy::model::{Choice, LegalBasis, Verification};
use ombud_store::audit::NewAuditEntry;
use ombud_store::crypto::{export_token_hash, new_verification_code, seal_export};
use ombud_store::model::{NewEvent, RecordId, Secret, SubjectId, TenantId};
use ombud_store::requests::{DsRequest, KeptRecord, NewMail, NewRequest, RequestId};
use ombud_store::{Actor, Store, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Why a step was refused. Each says what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("no request with that id")]
    NotFound,
    #[error(transparent)]
    Rule(#[from] RequestError),
    #[error("{0}")]
    Verification(String),
    #[error("{0}")]
    Forbidden(String),
    /// Asked again too soon; `wait` says how long until it may be asked.
    #[error("{message}")]
    TooSoon {
        message: String,
        wait: jiff::SignedDuration,
    },
    /// A system the answer must cover (a dataset's database) could not be read; nothing was
    /// changed and the request stays open to be fulfilled again.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The refusal for a code on a request that was never sent one.
const NO_CODE: &str = "no code was sent for this request; it is verified by the operator";

/// How soon after one code another may be sent for the same request: soon enough for a mail
/// that was lost or a code that expired, not so often that an address can be flooded.
pub const RESEND_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

fn invalid(field: &'static str, message: impl Into<String>) -> DeskError {
    DeskError::Invalid {
        field,
        message: message.into(),
    }
}

/// The answer to a purpose that is not an activity of the policy: the activities it has.
pub fn unknown_purpose(policy: &Policy, purpose: &str) -> String {
    let known: Vec<&str> = policy.activities.iter().map(|a| a.id.as_str()).collect();
    format!(
        "`{purpose}` is not an activity of the policy; it has: {}",
        known.join(", ")
    )
}

/// What a request asks, as filed.
#[derive(Debug, Clone)]
pub struct Filing {
    pub kind: RequestKind,
    /// The person's email address: where the code and the answer go.
    pub email: Option<String>,
    /// The subject, when the filer knows it (the operator's application, an agent).
    pub subject: Option<SubjectId>,
    pub purpose: Option<String>,
    pub category: Option<String>,
    pub record: Option<RecordId>,
    pub new_value: Option<Secret>,
    pub channel: String,
    /// The operator's own application vouches for the person (a signed-in session).
    pub vouched: bool,
}

/// Where everything a request step needs lives.
#[derive(Clone)]
pub struct Desk {
    pub store: Arc<dyn Store>,
    pub policy: Arc<Policy>,
    pub time_zone: TimeZone,
    pub secrets: Arc<Secrets>,
    /// The address people reach the portal and downloads at, without a trailing slash.
    pub public_url: String,
    /// The policy's datasets: the operator's own databases requests reach.
    pub connectors: Arc<ombud_connect::Connectors>,
}

/// What fulfilling a request did, without personal data; kept as the request's outcome.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Outcome {
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_expires_at: Option<Timestamp>,
    /// For erasure: what was kept, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<KeptItem>,
    /// For rectification, erasure and restriction: the recipients the person's data went to,
    /// who are owed word of it (Art. 19).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients_notified: Vec<RecipientNotified>,
    /// For an objection: each purpose it reached, and whether processing stopped or goes on
    /// on compelling legitimate grounds (Art. 21(1)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objection: Vec<ObjectionDecision>,
    /// While work on the request waits for one of the operator's own systems: what it waits
    /// for, and when the deadline watcher tries again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Waiting>,
    /// Records per category the request reached (for erasure: those deleted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub categories: BTreeMap<String, u64>,
    /// Rows changed per table of the operator's own systems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub systems: Vec<SystemRows>,
    /// The signed receipt of what was done (a compact JWS; see `crate::receipts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
}

/// What erasure did in the operator's own systems: what a law kept there, the sentence the
/// person reads, and the rows per table.
#[derive(Debug, Default)]
struct InDatasets {
    kept: Vec<KeptItem>,
    summary: Option<String>,
    systems: Vec<SystemRows>,
}

/// What erasure did in one table of the operator's own systems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SystemRows {
    pub dataset: String,
    pub collection: String,
    pub deleted: u64,
    pub masked: u64,
}

/// What a request waits for, if its fulfilment began and waits for the operator's systems.
fn waiting_of(request: &DsRequest) -> Option<Waiting> {
    request
        .outcome
        .as_deref()
        .and_then(|o| serde_json::from_str::<Outcome>(o).ok())
        .and_then(|o| o.waiting)
}

/// A request whose fulfilment began and waits for a database of the operator's own systems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Waiting {
    /// What could not be reached, in words without personal data (the database's own message
    /// went to whoever asked, and may quote a value).
    pub reason: String,
    /// The first attempt that found it unavailable.
    pub since: Timestamp,
    pub attempts: u32,
    /// When the watcher tries again: a minute after the first attempt, doubling up to an hour.
    pub next_try: Timestamp,
}

impl Waiting {
    /// The longest pause between two attempts.
    const MAX_PAUSE: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

    fn after(previous: Option<&Waiting>, message: &str, now: Timestamp) -> Waiting {
        let attempts = previous.map_or(1, |w| w.attempts.saturating_add(1));
        let pause = jiff::SignedDuration::from_mins(1)
            .checked_mul(1i32 << attempts.saturating_sub(1).min(6))
            .unwrap_or(Self::MAX_PAUSE)
            .min(Self::MAX_PAUSE);
        let dataset = message
            .split_once("dataset `")
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(key, _)| key);
        Waiting {
            reason: match dataset {
                Some(key) => format!(
                    "dataset `{key}` of the operator's own systems could not be read or changed; nothing there was changed"
                ),
                None => "a database of the operator's own systems could not be read or changed; nothing there was changed".into(),
            },
            since: previous.map_or(now, |w| w.since),
            attempts,
            next_try: now.checked_add(pause).unwrap_or(now),
        }
    }
}

/// What an objection decided for one purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectionDecision {
    /// The activity's id in privacy.toml.
    pub purpose: String,
    /// The purpose in words, as the notice names it.
    pub name: String,
    /// True where compelling legitimate grounds let the processing go on.
    pub continues: bool,
    pub grounds: Option<String>,
}

/// A recipient told of a rectification, erasure or restriction (Art. 19).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecipientNotified {
    /// The recipient's id in privacy.toml.
    pub recipient: String,
    pub name: String,
    /// Whether a mail went to the address the policy gives it (`contact`); otherwise the
    /// operator tells it through its own channel.
    pub mailed: bool,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct KeptItem {
    pub category: String,
    pub records: u64,
    pub purposes: Vec<String>,
    pub rule: String,
    pub law: Option<String>,
    pub until: Option<Timestamp>,
    /// While the period that keeps it has not started: the event that starts it
    /// (`contract_end`, …, as `after` in privacy.toml).
    #[serde(default)]
    pub starts_with: Option<String>,
}

/// What an erasure would do in the tenant's datasets, table by table; counts and field
/// names, never values.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErasurePlan {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub request: RequestId,
    /// Whether the tenant has datasets at all.
    pub systems_declared: bool,
    pub tables: Vec<crate::datasets::TablePlan>,
    pub note: Option<String>,
}

/// What fulfilling a request would do and tell the person, worked out before anything is done:
/// categories, counts, rules and laws, never a value.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    #[serde(skip)]
    pub kind: RequestKind,
    /// Whether a person in the register matches the request.
    pub found: bool,
    /// What the answer does, in words.
    pub summary: String,
    /// The records the answer gives (access, portability) or deletes (erasure), per category.
    pub categories: BTreeMap<String, u64>,
    /// What an erasure keeps in the register, and why.
    pub kept: Vec<KeptItem>,
    /// The rows of the operator's own systems the answer gives or changes, table by table.
    pub tables: Vec<PreviewTable>,
    /// The events and notices an access answer lists.
    pub events: u64,
    pub notices: u64,
    /// An objection's purposes, `(id, purpose)`: each stops unless compelling grounds are given.
    pub objected: Vec<(String, String)>,
    /// Who is told of a correction, erasure or restriction (Art. 19).
    pub recipients: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PreviewTable {
    pub system: String,
    pub collection: String,
    /// Rows given (access, portability) or deleted.
    pub rows: u64,
    pub masked: u64,
    /// Fields kept because a law requires it, as `field (category) until …`.
    pub kept: Vec<String>,
}

/// How someone on the team may confirm a person's identity by hand, `(id, words)`: fixed
/// choices, so the audit entry that records the basis holds no personal data.
pub const MANUAL_BASES: &[(&str, &str)] = &[
    ("account", "the person asked from their signed-in account"),
    (
        "known_contact",
        "a call or message to contact details we already held",
    ),
    ("document", "an identity document, seen and not kept"),
    ("in_person", "in person"),
];

/// A fulfilled request's result, with the download link when there is one (shown once).
#[derive(Debug)]
pub struct Fulfilled {
    pub request: DsRequest,
    pub download_url: Option<String>,
}

impl Desk {
    fn offered(&self, kind: RequestKind) -> Result<(), DeskError> {
        if self.policy.rights.offered.contains(&kind.right()) {
            Ok(())
        } else {
            Err(invalid(
                "kind",
                format!(
                    "privacy.toml does not offer {} (rights.offered)",
                    kind.right().label()
                ),
            ))
        }
    }

    fn allows(&self, method: Verification) -> bool {
        self.policy.rights.verification.contains(&method)
    }

    fn check_filing(&self, tenant: TenantId, filing: &Filing) -> Result<(), DeskError> {
        self.offered(filing.kind)?;
        if let Some(purpose) = &filing.purpose {
            let activity = self
                .policy
                .activity(purpose)
                .ok_or_else(|| invalid("purpose", unknown_purpose(&self.policy, purpose)))?;
            let role = self.data_role(tenant)?;
            if ombud_core::DataRole::from(activity.role) != role {
                return Err(invalid(
                    "purpose",
                    match role {
                        ombud_core::DataRole::Processor => format!(
                            "`{purpose}` is one of the operator's own purposes; a customer's people name a purpose processed for the customer"
                        ),
                        ombud_core::DataRole::Controller => format!(
                            "`{purpose}` is processing on behalf of customers; file the request in the customer's tenant"
                        ),
                    },
                ));
            }
            // On a customer's data the basis is the customer's to state and weigh (it is the
            // controller); the request goes to its queue for it to decide.
            if role == ombud_core::DataRole::Controller {
                match filing.kind {
                    RequestKind::ConsentWithdrawal
                        if activity.basis != Some(LegalBasis::Consent) =>
                    {
                        return Err(invalid(
                            "purpose",
                            format!(
                                "`{purpose}` does not rest on consent; an objection is the request for it"
                            ),
                        ));
                    }
                    RequestKind::Objection
                        if !matches!(
                            activity.basis,
                            Some(LegalBasis::LegitimateInterests | LegalBasis::PublicTask)
                        ) && !activity.opt_out =>
                    {
                        return Err(invalid(
                            "purpose",
                            format!(
                                "`{purpose}` rests on {}; objection (Art. 21) applies to legitimate interests, public tasks and direct marketing",
                                activity.basis.map_or("no basis of ours", |b| b.as_str())
                            ),
                        ));
                    }
                    _ => {}
                }
            }
        } else if filing.kind.needs_purpose() {
            return Err(invalid(
                "purpose",
                "a consent withdrawal names the purpose (an activity id of the policy)",
            ));
        }
        if filing.kind == RequestKind::Rectification {
            if filing.new_value.is_none() {
                return Err(invalid(
                    "new_value",
                    "a rectification gives the correct value",
                ));
            }
            match &filing.category {
                Some(category) if self.policy.category(category).is_none() => {
                    return Err(invalid(
                        "category",
                        format!("`{category}` is not a category of the policy"),
                    ));
                }
                None if filing.record.is_none() => {
                    return Err(invalid(
                        "category",
                        "a rectification names the category (or the record) to correct",
                    ));
                }
                _ => {}
            }
            if filing
                .new_value
                .as_ref()
                .is_some_and(|v| v.expose().is_empty() || v.expose().len() > 64 * 1024)
            {
                return Err(invalid("new_value", "a value is 1 byte to 64 KiB"));
            }
        }
        if filing.vouched {
            if !self.allows(Verification::SignedInSession) {
                return Err(invalid(
                    "verified",
                    "privacy.toml does not accept a signed-in session as verification (rights.verification)",
                ));
            }
            if filing.subject.is_none() {
                return Err(invalid(
                    "subject",
                    "a request your application vouches for names the subject that is signed in",
                ));
            }
        } else if filing.email.is_none() && filing.subject.is_none() {
            return Err(invalid(
                "email",
                "give the person's email address, so they can confirm who they are and receive the answer",
            ));
        }
        Ok(())
    }

    /// Files a request. Unless the operator's application vouches for the person, a one-time
    /// code goes to their address; nothing is carried out before they confirm.
    pub fn file(
        &self,
        tenant: TenantId,
        filing: Filing,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<DsRequest, DeskError> {
        self.check_filing(tenant, &filing)?;
        let contact = filing
            .email
            .as_deref()
            .map(|e| Identity::parse(IdentityKind::Email, e))
            .transpose()
            .map_err(|e| invalid("email", e.to_string()))?;
        let subject = match (filing.subject, &contact) {
            (Some(subject), _) => {
                if !self.store.subject_exists(tenant, subject)? {
                    return Err(invalid("subject", "no subject with that id in this tenant"));
                }
                Some(subject)
            }
            // Found, but only trusted once the person proves they hold the address.
            (None, Some(email)) => self.store.find_subject(tenant, email)?,
            (None, None) => None,
        };
        let verified = filing.vouched.then_some(now);
        let new = NewRequest {
            kind: filing.kind,
            subject,
            contact: contact.clone(),
            purpose: filing.purpose,
            category: filing.category,
            record: filing.record,
            new_value: filing.new_value,
            channel: filing.channel,
            received_at: now,
            due_at: requests::first_due(&self.policy.rights, now, verified, &self.time_zone),
        };
        let mut request = DsRequest::from_new(tenant, RequestId::new(), &new);
        let mut mails = vec![];
        if filing.vouched {
            request.status = RequestStatus::Verified;
            request.verified_at = verified;
            request.verified_by = Some("service_key".into());
            if let Some(to) = &contact {
                mails.push(mail::acknowledgement(
                    &self.policy,
                    &self.voice(tenant)?,
                    &request,
                    to,
                    &self.time_zone,
                ));
            }
        } else if let Some(to) = &contact {
            if self.allows(Verification::EmailCode) {
                mails.push(self.issue_code(&mut request, to, now)?);
            } else {
                mails.push(mail::acknowledgement(
                    &self.policy,
                    &self.voice(tenant)?,
                    &request,
                    to,
                    &self.time_zone,
                ));
            }
        }
        let filed = self
            .store
            .create_request(tenant, &request, &mails, actor, now)?;
        self.take_effect_if_immediate(filed, actor, now)
    }

    /// Stores a changed request with the audit entry of its step and the mails it sends.
    fn save(
        &self,
        request: &DsRequest,
        step: &str,
        mails: &[NewMail],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<DsRequest, DeskError> {
        Ok(self.store.update_request(
            request.tenant,
            request,
            NewAuditEntry::request_step(actor, request, step),
            mails,
            now,
        )?)
    }

    pub fn get(&self, tenant: TenantId, id: RequestId) -> Result<DsRequest, DeskError> {
        self.store.request(tenant, id)?.ok_or(DeskError::NotFound)
    }

    /// A request a code may be given or sent for: not yet verified nor closed, not locked.
    fn check_awaiting_code(&self, request: &DsRequest) -> Result<(), DeskError> {
        requests::check_verifiable(request.status)?;
        if request.locked {
            return Err(DeskError::Verification(format!(
                "the request is locked after {MAX_CODE_ATTEMPTS} wrong codes; contact {} to confirm who you are another way",
                self.policy.rights.contact
            )));
        }
        Ok(())
    }

    /// The person confirms with the code they were sent.
    pub fn verify_code(
        &self,
        tenant: TenantId,
        id: RequestId,
        code: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<DsRequest, DeskError> {
        let mut request = self.get(tenant, id)?;
        self.check_awaiting_code(&request)?;
        let Some(expected) = request.code_hash else {
            return Err(DeskError::Verification(NO_CODE.into()));
        };
        if request.code_expires_at.is_some_and(|at| at <= now) {
            return Err(DeskError::Verification(
                "the code has expired; ask for a new one, which keeps the request and the day it was received".into(),
            ));
        }
        // People copy codes with spaces or split them in groups; only the digits count.
        let typed: String = code
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let given = self.secrets.code_hash(tenant, id, &typed);
        // Compared in constant time so the answer's timing says nothing about the code.
        let matches = blake3::Hash::from_bytes(given) == blake3::Hash::from_bytes(expected);
        if !matches {
            request.code_attempts += 1;
            request.locked = request.code_attempts >= MAX_CODE_ATTEMPTS;
            let step = if request.locked {
                "lock"
            } else {
                "verify_failed"
            };
            self.save(&request, step, &[], actor, now)?;
            let left = MAX_CODE_ATTEMPTS.saturating_sub(request.code_attempts);
            return Err(DeskError::Verification(if request.locked {
                format!(
                    "the code is wrong; the request is now locked. Contact {} to go on",
                    self.policy.rights.contact
                )
            } else {
                format!("the code is wrong; {left} tries left")
            }));
        }
        self.mark_verified(&mut request, "email_code", now)?;
        let verified = self.save(&request, "verify", &[], actor, now)?;
        self.take_effect_if_immediate(verified, actor, now)
    }

    /// Sends a new code for a request still waiting for one, when the last one expired or its
    /// mail went astray. The request keeps its receipt (and so its deadline) and its count of
    /// wrong tries: a new code is not a new set of guesses.
    pub fn resend_code(
        &self,
        tenant: TenantId,
        id: RequestId,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<DsRequest, DeskError> {
        let mut request = self.get(tenant, id)?;
        self.check_awaiting_code(&request)?;
        let (Some(to), Some(_)) = (request.contact.clone(), request.code_hash) else {
            return Err(DeskError::Verification(NO_CODE.into()));
        };
        let next = request
            .code_expires_at
            .and_then(|expires| expires.checked_sub(CODE_VALIDITY).ok())
            .and_then(|sent| sent.checked_add(RESEND_AFTER).ok());
        if let Some(next) = next.filter(|next| now < *next) {
            return Err(DeskError::TooSoon {
                message: format!(
                    "a new code can be sent {} minutes after the last one, from {}",
                    RESEND_AFTER.as_mins(),
                    next.to_zoned(self.time_zone.clone()).strftime("%H:%M")
                ),
                wait: now.duration_until(next),
            });
        }
        let mail = self.issue_code(&mut request, &to, now)?;
        self.save(&request, "resend_code", &[mail], actor, now)
    }

    /// A fresh one-time code for `request`, kept only as its keyed hash with its expiry, and
    /// the mail that carries it to `to`.
    fn issue_code(
        &self,
        request: &mut DsRequest,
        to: &Identity,
        now: Timestamp,
    ) -> Result<NewMail, DeskError> {
        let code = new_verification_code().map_err(StoreError::from)?;
        request.code_hash = Some(self.secrets.code_hash(request.tenant, request.id, &code));
        request.code_expires_at = now.checked_add(CODE_VALIDITY).ok();
        Ok(mail::code(
            &self.voice(request.tenant)?,
            request,
            to,
            &code,
            &self.portal_link(request),
        ))
    }

    /// An agent confirms identity by hand, where privacy.toml allows it; `basis` says how
    /// (one of [`MANUAL_BASES`]) and goes into the audit entry.
    pub fn verify_manually(
        &self,
        tenant: TenantId,
        id: RequestId,
        basis: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<DsRequest, DeskError> {
        if !self.allows(Verification::Manual) {
            return Err(DeskError::Verification(
                "privacy.toml does not allow manual verification (rights.verification); the person confirms with their code".into(),
            ));
        }
        if let Some(basis) = basis
            && !MANUAL_BASES.iter().any(|(id, _)| *id == basis)
        {
            let known: Vec<&str> = MANUAL_BASES.iter().map(|(id, _)| *id).collect();
            return Err(invalid(
                "basis",
                format!("how identity was confirmed is one of {}", known.join(", ")),
            ));
        }
        let mut request = self.get(tenant, id)?;
        requests::check_verifiable(request.status)?;
        self.mark_verified(&mut request, "manual", now)?;
        let mut entry = NewAuditEntry::request_step(actor, &request, "verify");
        if let (Some(basis), Some(detail)) = (basis, entry.detail.as_mut()) {
            detail.push_str(&format!(" basis={basis}"));
        }
        let verified = self
            .store
            .update_request(tenant, &request, entry, &[], now)?;
        self.take_effect_if_immediate(verified, actor, now)
    }

    /// Withdrawing consent (Art. 7(3): as easy as giving it) and objecting to direct marketing
    /// (Art. 21(3): absolute) need no decision by anyone: once the person is confirmed they take
    /// effect, and the person is told, in the same moment. Every other kind waits for staff.
    fn takes_effect_at_once(&self, request: &DsRequest) -> bool {
        match request.kind {
            RequestKind::ConsentWithdrawal => true,
            RequestKind::Objection => request
                .purpose
                .as_deref()
                .and_then(|purpose| self.policy.activity(purpose))
                .is_some_and(|activity| activity.opt_out),
            _ => false,
        }
    }

    fn take_effect_if_immediate(
        &self,
        verified: DsRequest,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<DsRequest, DeskError> {
        if verified.status != RequestStatus::Verified {
            return Ok(verified);
        }
        if !self.takes_effect_at_once(&verified) {
            // Art. 21(1): once someone objects, processing on legitimate interests stops
            // unless the controller shows compelling grounds; it stops while that is weighed.
            if verified.kind == RequestKind::Objection
                && let Some(subject) = verified.subject
            {
                self.event(
                    &verified,
                    subject,
                    EventKind::Objection,
                    verified.purpose.clone(),
                    actor,
                    now,
                )?;
            }
            return Ok(verified);
        }
        Ok(self
            .fulfil(verified.tenant, verified.id, actor, now)?
            .request)
    }

    fn mark_verified(
        &self,
        request: &mut DsRequest,
        method: &str,
        now: Timestamp,
    ) -> Result<(), DeskError> {
        request.status = RequestStatus::Verified;
        request.verified_at = Some(now);
        request.verified_by = Some(method.into());
        request.code_hash = None;
        request.code_expires_at = None;
        if request.first_due_at.is_none() {
            request.first_due_at = requests::first_due(
                &self.policy.rights,
                request.received_at,
                Some(now),
                &self.time_zone,
            );
            // An extension given before verification keeps the date the person was told.
            if request.extended_at.is_none() {
                request.due_at = request.first_due_at;
            }
        }
        if request.subject.is_none()
            && let Some(contact) = &request.contact
        {
            request.subject = self.store.find_subject(request.tenant, contact)?;
        }
        Ok(())
    }

    /// Extends the deadline (Art. 12(3)), telling the person why.
    pub fn extend(
        &self,
        tenant: TenantId,
        id: RequestId,
        by: Option<Duration>,
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<DsRequest, DeskError> {
        let mut request = self.get(tenant, id)?;
        let by = by.unwrap_or(self.policy.rights.extension);
        requests::check_extension(
            &self.policy.rights,
            request.status,
            request.extended_at.is_some(),
            request.first_due_at,
            by,
            reason,
            now,
        )?;
        // Before a clock that starts at verification has started, the extension counts from
        // receipt: it cannot be stretched by waiting to give it.
        let start = requests::clock_start(
            &self.policy.rights,
            request.received_at,
            request.verified_at,
        )
        .unwrap_or(request.received_at);
        request.due_at = Some(requests::extended_due(
            start,
            &self.policy.rights,
            by,
            &self.time_zone,
        ));
        request.extended_at = Some(now);
        request.extension_reason = Some(reason.trim().to_owned());
        let voice = self.voice(tenant)?;
        let mails: Vec<NewMail> = request
            .contact
            .iter()
            .map(|to| mail::extended(&self.policy, &voice, &request, to, &self.time_zone))
            .collect();
        self.save(&request, "extend", &mails, actor, now)
    }

    /// Gives an open request to a colleague (a name or an address), or takes it back with
    /// `None`. Who works a request decides nothing about it, so this is open to whoever may
    /// work the queue.
    pub fn assign(
        &self,
        tenant: TenantId,
        id: RequestId,
        assignee: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<DsRequest, DeskError> {
        let mut request = self.get(tenant, id)?;
        if !request.status.is_open() {
            return Err(invalid(
                "assignee",
                "the request is closed; there is nothing left to work on",
            ));
        }
        request.assignee = match assignee.map(str::trim).filter(|a| !a.is_empty()) {
            Some(who) => Some(
                text::one_line_name("assignee", who, 200)
                    .map_err(|message| invalid("assignee", message))?,
            ),
            None => None,
        };
        self.save(&request, "assign", &[], actor, now)
    }

    /// Marks a verified request as being worked on.
    pub fn start(
        &self,
        tenant: TenantId,
        id: RequestId,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<DsRequest, DeskError> {
        let mut request = self.get(tenant, id)?;
        requests::check_executable(request.status)?;
        request.status = RequestStatus::InProgress;
        self.save(&request, "start", &[], actor, now)
    }

    /// Refuses a request with the reason, telling the person and their right to complain.
    pub fn refuse(
        &self,
        tenant: TenantId,
        id: RequestId,
        reason: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<DsRequest, DeskError> {
        let mut request = self.get(tenant, id)?;
        requests::check_open(request.status)?;
        if reason.trim().is_empty() {
            return Err(RequestError::ReasonMissing.into());
        }
        request.status = RequestStatus::Refused;
        request.closed_at = Some(now);
        request.refusal_reason = Some(reason.trim().to_owned());
        let voice = self.voice(tenant)?;
        let mails: Vec<NewMail> = request
            .contact
            .iter()
            .map(|to| mail::refused(&voice, &request, to))
            .collect();
        self.save(&request, "refuse", &mails, actor, now)
    }

    /// Carries a verified request out and answers the person.
    pub fn fulfil(
        &self,
        tenant: TenantId,
        id: RequestId,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Fulfilled, DeskError> {
        self.decide(tenant, id, &BTreeMap::new(), actor, now)
    }

    /// Carries a verified request out and answers the person; for an objection, with the
    /// compelling legitimate grounds (per purpose) that let processing for a purpose go on
    /// (Art. 21(1)). Every other purpose objected to stays stopped.
    pub fn decide(
        &self,
        tenant: TenantId,
        id: RequestId,
        compelling_grounds: &BTreeMap<String, String>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Fulfilled, DeskError> {
        match self.carry_out(tenant, id, compelling_grounds, actor, now) {
            // Work on it has begun and waits for a system to be back: the queue shows it in
            // progress, and fulfilling again finishes it.
            Err(DeskError::Unavailable(message)) => {
                let mut request = self.get(tenant, id)?;
                if matches!(
                    request.status,
                    RequestStatus::Verified | RequestStatus::InProgress
                ) {
                    let previous = waiting_of(&request);
                    let waiting = Waiting::after(previous.as_ref(), &message, now);
                    let step = if request.status == RequestStatus::Verified {
                        "start"
                    } else {
                        "wait"
                    };
                    request.status = RequestStatus::InProgress;
                    request.outcome = serde_json::to_string(&Outcome {
                        summary: format!(
                            "in progress: waiting for the operator's own systems; tried again automatically from {}",
                            waiting
                                .next_try
                                .to_zoned(self.time_zone.clone())
                                .strftime("%Y-%m-%d %H:%M %Z")
                        ),
                        waiting: Some(waiting),
                        ..Outcome::default()
                    })
                    .ok();
                    self.save(&request, step, &[], actor, now)?;
                }
                Err(DeskError::Unavailable(message))
            }
            other => other,
        }
    }

    /// Fulfils again every request whose work waits for the operator's own systems and whose
    /// next try has come, as the deadline watcher does; returns those finished now and those
    /// still waiting. A request someone else finished or closed meanwhile is left alone.
    pub fn retry_waiting(
        &self,
        now: Timestamp,
    ) -> Result<(Vec<RequestId>, Vec<RequestId>), StoreError> {
        let (mut done, mut still) = (Vec::new(), Vec::new());
        for tenant in self.store.tenants()? {
            let mut after = None;
            loop {
                let page = self.store.requests(
                    tenant.id,
                    &ombud_store::requests::RequestFilter {
                        status: Some(RequestStatus::InProgress),
                        open: true,
                        overdue: false,
                        after,
                        limit: 500,
                    },
                )?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                for request in &page {
                    if waiting_of(request).is_none_or(|w| w.next_try > now) {
                        continue;
                    }
                    match self.fulfil(tenant.id, request.id, &Actor::System, now) {
                        Ok(_) => done.push(request.id),
                        Err(DeskError::Unavailable(_)) => still.push(request.id),
                        Err(DeskError::Store(error))
                            if !matches!(error, StoreError::Conflict(_)) =>
                        {
                            return Err(error);
                        }
                        // Closed or changed by someone else meanwhile, or refused by a rule
                        // that a person must resolve: the queue shows it.
                        Err(error) => tracing::warn!(
                            request = %request.id,
                            "a request waiting for the operator's systems was not finished: {error}"
                        ),
                    }
                }
                if page.len() < 500 {
                    break;
                }
            }
        }
        Ok((done, still))
    }

    fn carry_out(
        &self,
        tenant: TenantId,
        id: RequestId,
        compelling_grounds: &BTreeMap<String, String>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Fulfilled, DeskError> {
        let request = self.get(tenant, id)?;
        requests::check_executable(request.status)?;
        let grounds = self.check_grounds(&request, compelling_grounds)?;
        let mut download_url = None;
        if let (RequestKind::Erasure, Some(subject)) = (request.kind, request.subject)
            && self.store.subject(tenant, subject)?.is_none()
        {
            return self.erased_before(request, subject, actor, now);
        }
        // Read before the change: erasure removes what tells where the data went.
        let owed = match (request.subject, request.kind) {
            (
                Some(subject),
                RequestKind::Rectification | RequestKind::Erasure | RequestKind::Restriction,
            ) => self.recipients_of(&request, subject, now)?,
            _ => vec![],
        };
        let outcome = match request.subject {
            None => Outcome {
                summary: "we hold no personal data linked to the address given".into(),
                ..Outcome::default()
            },
            Some(subject) => match request.kind {
                RequestKind::Access | RequestKind::Portability => {
                    let (outcome, url) = self.export(&request, subject, actor, now)?;
                    download_url = Some(url);
                    outcome
                }
                RequestKind::Erasure => return self.erase(request, subject, &owed, actor, now),
                RequestKind::Rectification => self.rectify(&request, subject, actor, now)?,
                RequestKind::Restriction => {
                    self.event(&request, subject, EventKind::Restriction, None, actor, now)?;
                    Outcome {
                        summary: "processing is restricted to storage and legal claims until the restriction is lifted".into(),
                        ..Outcome::default()
                    }
                }
                RequestKind::Objection => self.object(&request, subject, &grounds, actor, now)?,
                RequestKind::ConsentWithdrawal => {
                    self.event(
                        &request,
                        subject,
                        EventKind::ConsentWithdrawn,
                        request.purpose.clone(),
                        actor,
                        now,
                    )?;
                    Outcome {
                        summary: format!(
                            "consent for “{}” is withdrawn",
                            self.title(request.purpose.as_deref().unwrap_or(""))
                        ),
                        ..Outcome::default()
                    }
                }
            },
        };
        let voice = self.voice(request.tenant)?;
        let signer = self.signer(tenant, now)?;
        let (request, mails) = self.closed(
            request,
            &voice,
            outcome,
            &owed,
            download_url.as_deref(),
            &signer,
        );
        let request = self.save(&request, "fulfil", &mails, actor, now)?;
        Ok(Fulfilled {
            request,
            download_url,
        })
    }

    /// The request as fulfilling it leaves it, and the mails that go with it: the answer to
    /// the person and a notice to each recipient with a contact address (Art. 19).
    fn closed(
        &self,
        mut request: DsRequest,
        voice: &Voice,
        mut outcome: Outcome,
        owed: &[ombud_policy::model::Recipient],
        download_url: Option<&str>,
        signer: &crate::receipts::RequestSigner,
    ) -> (DsRequest, Vec<NewMail>) {
        let now = signer.at();
        let mut mails: Vec<NewMail> = vec![];
        for recipient in owed {
            let to = recipient
                .contact
                .as_deref()
                .and_then(|c| Identity::parse(ombud_core::IdentityKind::Email, c).ok());
            if let Some(to) = &to {
                mails.push(mail::recipient_notice(
                    voice,
                    &request,
                    to,
                    &recipient.name,
                    &outcome,
                ));
            }
            outcome.recipients_notified.push(RecipientNotified {
                recipient: recipient.id.clone(),
                name: recipient.name.clone(),
                mailed: to.is_some(),
            });
        }
        request.status = RequestStatus::Fulfilled;
        request.closed_at = Some(now);
        outcome.receipt = Some(signer.sign(&request, &outcome));
        request.outcome = serde_json::to_string(&outcome).ok();
        mails.extend(request.contact.iter().map(|to| {
            mail::fulfilled(
                &self.policy,
                voice,
                &request,
                to,
                &outcome,
                download_url,
                &format!("{}{}", self.public_url, crate::receipts::JWKS_PATH),
            )
        }));
        (request, mails)
    }

    /// What signs the receipt of a request of `tenant` fulfilled at `now`.
    fn signer(
        &self,
        tenant: TenantId,
        now: Timestamp,
    ) -> Result<crate::receipts::RequestSigner, DeskError> {
        Ok(crate::receipts::RequestSigner::new(
            self.store.as_ref(),
            &self.secrets,
            &self.policy,
            tenant,
            now,
        )?)
    }

    /// The purposes an objection reaches: the one it names, or every purpose of the
    /// operator's own on legitimate interests or a public task except those kept for legal
    /// claims (Art. 18(2), which a blanket objection does not reach).
    fn objected_purposes(&self, request: &DsRequest) -> Vec<&ombud_policy::model::Activity> {
        use ombud_policy::model::{LegalBasis, Role};
        self.policy
            .activities
            .iter()
            .filter(|a| match &request.purpose {
                Some(purpose) => &a.id == purpose,
                None => {
                    a.role == Role::Controller
                        && !a.restriction_exempt
                        && matches!(
                            a.basis,
                            Some(LegalBasis::LegitimateInterests | LegalBasis::PublicTask)
                        )
                }
            })
            .collect()
    }

    /// Compelling grounds as given: only for an objection, only for a purpose it reaches, never
    /// for direct marketing (Art. 21(3): that objection is absolute), 1 to 2,000 characters.
    fn check_grounds(
        &self,
        request: &DsRequest,
        given: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, DeskError> {
        if given.is_empty() {
            return Ok(BTreeMap::new());
        }
        if request.kind != RequestKind::Objection {
            return Err(invalid(
                "compelling_grounds",
                "compelling legitimate grounds answer an objection (Art. 21(1)); this request is not one",
            ));
        }
        let reached = self.objected_purposes(request);
        let mut grounds = BTreeMap::new();
        let field = "compelling_grounds";
        for (purpose, text) in given {
            let Some(activity) = reached.iter().find(|a| &a.id == purpose) else {
                return Err(invalid(
                    field,
                    format!("`{purpose}`: the objection does not reach this purpose"),
                ));
            };
            if activity.opt_out {
                return Err(invalid(
                    field,
                    format!(
                        "`{purpose}`: an objection to direct marketing is absolute (Art. 21(3)); no grounds override it"
                    ),
                ));
            }
            let text = text.trim();
            if text.is_empty() || text.chars().count() > 2000 {
                return Err(invalid(
                    field,
                    format!(
                        "`{purpose}`: state the compelling legitimate grounds in 1 to 2000 characters"
                    ),
                ));
            }
            grounds.insert(purpose.clone(), text.to_owned());
        }
        Ok(grounds)
    }

    /// Decides an objection: the objection stands for every purpose it reaches (recorded at
    /// verification, or now), except where compelling grounds were given, which are recorded
    /// and let that purpose go on. The person is told which.
    fn object(
        &self,
        request: &DsRequest,
        subject: SubjectId,
        grounds: &BTreeMap<String, String>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Outcome, DeskError> {
        let tenant = request.tenant;
        let recorded = self.store.events(tenant, subject)?.iter().any(|e| {
            e.kind == EventKind::Objection
                && e.purpose == request.purpose
                && e.occurred_at >= request.received_at
        });
        if !recorded {
            self.event(
                request,
                subject,
                EventKind::Objection,
                request.purpose.clone(),
                actor,
                now,
            )?;
        }
        for purpose in grounds.keys() {
            self.event(
                request,
                subject,
                EventKind::ObjectionOverridden,
                Some(purpose.clone()),
                actor,
                now,
            )?;
        }
        let decisions: Vec<ObjectionDecision> = self
            .objected_purposes(request)
            .into_iter()
            .map(|activity| ObjectionDecision {
                purpose: activity.id.clone(),
                name: activity.purpose.clone(),
                continues: grounds.contains_key(&activity.id),
                grounds: grounds.get(&activity.id).cloned(),
            })
            .collect();
        let continuing = decisions.iter().filter(|d| d.continues).count();
        Ok(Outcome {
            summary: match (&request.purpose, continuing) {
                (Some(p), 0) => format!("processing for “{}” has stopped", self.title(p)),
                (Some(p), _) => format!(
                    "processing for “{}” goes on: compelling legitimate grounds override the objection",
                    self.title(p)
                ),
                (None, 0) => "processing on legitimate interests has stopped".into(),
                (None, n) => format!(
                    "processing on legitimate interests has stopped, except for {n} purposes with compelling legitimate grounds"
                ),
            },
            objection: decisions,
            ..Outcome::default()
        })
    }

    /// Every read of the subject's data in the audit log, oldest first: when, by which kind
    /// of accessor, for which purpose.
    fn consultations(
        &self,
        tenant: TenantId,
        subject: SubjectId,
    ) -> Result<Vec<exports::Consultation>, DeskError> {
        let mut found = vec![];
        for action in ["subject.read", "records.read"] {
            let mut after_seq = None;
            loop {
                let page = self.store.audit_entries(
                    tenant,
                    &ombud_store::audit::AuditFilter {
                        subject: Some(subject),
                        action: Some(action.to_owned()),
                        after_seq,
                        limit: 1000,
                        ..Default::default()
                    },
                )?;
                let Some(last) = page.last() else { break };
                after_seq = Some(last.seq);
                found.extend(page.into_iter().map(|entry| exports::Consultation {
                    at: entry.at,
                    by: accessor(&entry.actor),
                    purpose: entry.purpose,
                }));
            }
        }
        found.sort_by_key(|c| c.at);
        Ok(found)
    }

    /// A purpose as the person reads it: the activity's title, never its id.
    fn title<'a>(&'a self, purpose: &'a str) -> &'a str {
        self.policy
            .activity(purpose)
            .map_or(purpose, |a| a.purpose.as_str())
    }

    /// Who the tenant's mails speak for: the operator, or a customer as controller.
    fn voice(&self, tenant: TenantId) -> Result<Voice, DeskError> {
        Ok(Voice::of_id(self.store.as_ref(), &self.policy, tenant)?)
    }

    /// The role the tenant's data is held in: the operator's own as controller, a customer's
    /// as processor.
    fn data_role(&self, tenant: TenantId) -> Result<ombud_core::DataRole, DeskError> {
        Ok(self
            .store
            .tenant(tenant)?
            .map_or(ombud_core::DataRole::Controller, |t| {
                ombud_core::DataRole::of_tenant(t.operator)
            }))
    }

    /// The recipients the subject's data went to (Art. 19): those of every activity that
    /// applies to one of their records (for rectification, the records corrected), in the
    /// role the tenant's data is processed in, in the order the policy lists them.
    fn recipients_of(
        &self,
        request: &DsRequest,
        subject: SubjectId,
        now: Timestamp,
    ) -> Result<Vec<ombud_policy::model::Recipient>, DeskError> {
        let tenant = request.tenant;
        let role = self.data_role(tenant)?;
        // Customers' data has not reached a sub-processor an announced change adds yet.
        let policy = match (role, self.store.tenants()?.into_iter().find(|t| t.operator)) {
            (ombud_core::DataRole::Processor, Some(operator)) => {
                crate::subprocessors::customers_policy_at(
                    self.store.as_ref(),
                    operator.id,
                    &self.policy,
                    now,
                )
                .map_err(|e| match e {
                    crate::notices::NoticeError::Store(e) => DeskError::Store(e),
                    crate::notices::NoticeError::Invalid { field, message } => {
                        DeskError::Invalid { field, message }
                    }
                })?
            }
            _ => self.policy.clone(),
        };
        let facts = SubjectFacts::new(
            self.store
                .events(tenant, subject)?
                .iter()
                .map(|e| e.fact())
                .collect(),
        );
        let mut ids: Vec<String> = vec![];
        for record in self.store.records(tenant, subject)? {
            let corrected = match (request.kind, request.record, &request.category) {
                (RequestKind::Rectification, Some(id), _) => record.id == id,
                (RequestKind::Rectification, None, Some(category)) => &record.category == category,
                _ => true,
            };
            if !corrected {
                continue;
            }
            let facts_of = RecordFacts {
                category: &record.category,
                purposes: &record.purposes,
                source: &record.source,
                collected_at: record.collected_at,
            };
            for activity in requests::activities_of(&policy, &facts_of) {
                if ombud_core::DataRole::from(activity.role) == role
                    && ombud_core::retention::holds(&policy, activity, &facts_of, &facts, now)
                {
                    ids.extend(activity.recipients.iter().cloned());
                }
            }
        }
        // An optional sub-processor received the data only of the customers that chose it.
        let chosen: Vec<String> = match role {
            ombud_core::DataRole::Processor => self
                .store
                .selected_recipients(tenant)?
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
            ombud_core::DataRole::Controller => vec![],
        };
        Ok(policy
            .recipients
            .iter()
            .filter(|r| ids.contains(&r.id))
            .filter(|r| {
                role == ombud_core::DataRole::Controller
                    || !r.chosen_by_customer
                    || chosen.contains(&r.id)
            })
            .cloned()
            .collect())
    }

    /// Records what a step of `request` changes about the person. The event's id is derived
    /// from the request, the kind and the purpose, so a step carried out again after a crash
    /// records nothing twice and the first moment stays the one in force.
    fn event(
        &self,
        request: &DsRequest,
        subject: SubjectId,
        kind: EventKind,
        purpose: Option<String>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(), DeskError> {
        let tenant = request.tenant;
        let mut seed = blake3::Hasher::new_derive_key("ombud request step event");
        seed.update(request.id.0.as_bytes());
        seed.update(kind.as_str().as_bytes());
        seed.update(&[0]);
        seed.update(purpose.as_deref().unwrap_or("").as_bytes());
        let event = NewEvent {
            id: Some(ombud_store::model::EventId::derived(
                seed.finalize().as_bytes(),
            )),
            kind,
            purpose,
            occurred_at: now,
            channel: Some("request".into()),
            policy_version: Some(self.policy.version.0.clone()),
        };
        self.store.add_event(tenant, subject, &event, actor, now)?;
        Ok(())
    }

    fn export(
        &self,
        request: &DsRequest,
        subject: SubjectId,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(Outcome, String), DeskError> {
        let tenant = request.tenant;
        let found = self.store.subject(tenant, subject)?;
        let mut records = self.store.records(tenant, subject)?;
        let events = self.store.events(tenant, subject)?;
        let (notices, consultations) = if request.kind == RequestKind::Access {
            (
                self.store.subject_notices(tenant, subject)?,
                self.consultations(tenant, subject)?,
            )
        } else {
            (vec![], vec![])
        };
        let data_role = self.data_role(tenant)?;
        if request.kind == RequestKind::Portability {
            records.retain(|r| {
                requests::portable(
                    &self.policy,
                    &RecordFacts {
                        category: &r.category,
                        purposes: &r.purposes,
                        source: &r.source,
                        collected_at: r.collected_at,
                    },
                )
            });
        }
        let identities = found.as_ref().map_or(&[][..], |s| &s.identities[..]);
        let (systems_declared, mut external) = self.reached(tenant, identities)?;
        if request.kind == RequestKind::Portability {
            portable_rows(&self.policy, &self.connectors, &mut external, now);
        }
        let zip = exports::build(
            &self.policy,
            request,
            exports::Held {
                identities: found.as_ref().map_or(&[][..], |s| &s.identities[..]),
                records: &records,
                events: &events,
                notices: &notices,
                consultations: &consultations,
                data_role,
                external: &external,
                systems_declared,
            },
            now,
            &self.time_zone,
        )
        .map_err(|e| StoreError::Database(format!("the export could not be built: {e}")))?;
        let rows: usize = external.iter().map(|r| r.rows.len()).sum();
        let token = self.secrets.export_token(tenant, request.id);
        let sealed = seal_export(&token, &zip).map_err(StoreError::from)?;
        let expires_at = now.checked_add(EXPORT_VALIDITY).unwrap_or(now);
        self.store.put_export(
            tenant,
            request.id,
            &export_token_hash(&token),
            &format!("ombud-{}-{}.zip", request.kind.as_str(), request.id),
            &sealed,
            expires_at,
            actor,
            now,
        )?;
        Ok((
            Outcome {
                summary: if systems_declared {
                    format!(
                        "an export of {} and {} from {} of the operator's systems is ready to download once",
                        text::records(records.len() as u64),
                        text::count(rows as u64, "row", "rows"),
                        text::count(external.len() as u64, "table", "tables")
                    )
                } else {
                    format!(
                        "an export of {} is ready to download once",
                        text::records(records.len() as u64)
                    )
                },
                records: Some(records.len() as u64),
                export_expires_at: Some(expires_at),
                categories: records.iter().fold(BTreeMap::new(), |mut by, r| {
                    *by.entry(r.category.clone()).or_default() += 1;
                    by
                }),
                ..Outcome::default()
            },
            format!("{}/privacy/exports/{token}", self.public_url),
        ))
    }

    /// Whether the tenant has datasets, and the rows the identities reach in them. A database
    /// that cannot be read stops the step: an answer must not leave its rows out unnoticed.
    fn reached(
        &self,
        tenant: TenantId,
        identities: &[ombud_core::Identity],
    ) -> Result<(bool, Vec<ombud_connect::reach::Rows>), DeskError> {
        let Some(requester) = self
            .store
            .tenant(tenant)?
            .map(|t| ombud_connect::reach::Requester {
                tenant_id: t.id.to_string(),
                tenant_name: t.name,
                operator: t.operator,
            })
        else {
            return Ok((false, Vec::new()));
        };
        if !self.connectors.any_for(&requester) {
            return Ok((false, Vec::new()));
        }
        let identities: Vec<(String, String)> = identities
            .iter()
            .map(|i| (i.kind().as_str().to_owned(), i.expose().to_owned()))
            .collect();
        let rows = self.connectors.reach(&requester, &identities).map_err(|e| {
            DeskError::Unavailable(format!(
                "the request must reach the operator's own systems, and one could not be read ({e}); nothing was changed: fulfil the request again once it is back"
            ))
        })?;
        Ok((true, rows))
    }

    /// What erasing the person does in the tenant's datasets: whether it has any, and per
    /// table the rows deleted, masked and kept and why. Reads only.
    fn dataset_plan(
        &self,
        tenant: TenantId,
        subject: SubjectId,
        facts: &SubjectFacts,
        legal_holds: &[ombud_store::retention::LegalHold],
        now: Timestamp,
    ) -> Result<(bool, Vec<crate::datasets::TablePlan>), DeskError> {
        let identities = self
            .store
            .subject(tenant, subject)?
            .map(|s| s.identities)
            .unwrap_or_default();
        let (declared, reached) = self.reached(tenant, &identities)?;
        if !declared {
            return Ok((false, vec![]));
        }
        let placed = |category: &str| {
            crate::sweeper::hold_for(legal_holds, subject, category, now).map(|h| Hold {
                purposes: vec![format!("hold:{}", h.id)],
                rule: format!("legal hold ({})", h.reason.as_str().replace('_', " ")),
                law: None,
                until: h.ends_at,
                starts_with: None,
            })
        };
        let mask_key = self.secrets.mask_key(tenant);
        let plans = crate::datasets::plan(
            &crate::datasets::Erasing {
                policy: &self.policy,
                connectors: &self.connectors,
                facts,
                placed: &placed,
                mask_key: &mask_key,
                now,
                tz: &self.time_zone,
            },
            &reached,
        )
        .map_err(|e| {
            DeskError::Unavailable(format!(
                "the erasure must reach the operator's own systems, and one could not be read ({e}); try again once it is back"
            ))
        })?;
        Ok((true, plans))
    }

    /// What fulfilling an erasure request would do in the tenant's datasets, without doing it.
    pub fn erasure_plan(
        &self,
        tenant: TenantId,
        id: RequestId,
        now: Timestamp,
    ) -> Result<ErasurePlan, DeskError> {
        let request = self.get(tenant, id)?;
        if request.kind != RequestKind::Erasure {
            return Err(invalid(
                "id",
                format!(
                    "request {id} is {}: only an erasure has a plan",
                    request.kind.as_str()
                ),
            ));
        }
        let Some(subject) = request.subject else {
            return Ok(ErasurePlan {
                request: id,
                systems_declared: false,
                tables: vec![],
                note: Some(
                    "no person in the register matches this request yet: nothing would be erased"
                        .into(),
                ),
            });
        };
        let facts = SubjectFacts::new(
            self.store
                .events(tenant, subject)?
                .iter()
                .map(|e| e.fact())
                .collect(),
        );
        let legal_holds = self.store.holds(tenant, Some(now))?;
        let (systems_declared, tables) =
            self.dataset_plan(tenant, subject, &facts, &legal_holds, now)?;
        Ok(ErasurePlan {
            request: id,
            systems_declared,
            note: (!systems_declared).then(|| {
                "this tenant has no datasets: the erasure changes the register only".into()
            }),
            tables,
        })
    }

    /// What fulfilling a request would do and tell the person, without doing anything: the
    /// console shows it before someone decides.
    pub fn preview(
        &self,
        tenant: TenantId,
        id: RequestId,
        now: Timestamp,
    ) -> Result<Preview, DeskError> {
        let request = self.get(tenant, id)?;
        let mut preview = Preview {
            kind: request.kind,
            found: false,
            summary: String::new(),
            categories: BTreeMap::new(),
            kept: vec![],
            tables: vec![],
            events: 0,
            notices: 0,
            objected: self
                .objected_purposes(&request)
                .into_iter()
                .filter(|_| request.kind == RequestKind::Objection)
                .map(|a| (a.id.clone(), a.purpose.clone()))
                .collect(),
            recipients: vec![],
        };
        let Some(subject) = request.subject else {
            preview.summary = "no person in the register matches this request: the answer says that we hold no personal data linked to the address given".into();
            return Ok(preview);
        };
        let Some(found) = self.store.subject(tenant, subject)? else {
            preview.summary = "the person was erased already: the answer confirms it".into();
            return Ok(preview);
        };
        preview.found = true;
        if matches!(
            request.kind,
            RequestKind::Rectification | RequestKind::Erasure | RequestKind::Restriction
        ) {
            preview.recipients = self
                .recipients_of(&request, subject, now)?
                .into_iter()
                .map(|r| r.name)
                .collect();
        }
        let mut records = self.store.records(tenant, subject)?;
        match request.kind {
            RequestKind::Access | RequestKind::Portability => {
                if request.kind == RequestKind::Portability {
                    records.retain(|r| {
                        requests::portable(
                            &self.policy,
                            &RecordFacts {
                                category: &r.category,
                                purposes: &r.purposes,
                                source: &r.source,
                                collected_at: r.collected_at,
                            },
                        )
                    });
                } else {
                    preview.events = self.store.events(tenant, subject)?.len() as u64;
                    preview.notices = self.store.subject_notices(tenant, subject)?.len() as u64;
                }
                for record in &records {
                    *preview
                        .categories
                        .entry(record.category.clone())
                        .or_default() += 1;
                }
                let (_, mut external) = self.reached(tenant, &found.identities)?;
                if request.kind == RequestKind::Portability {
                    portable_rows(&self.policy, &self.connectors, &mut external, now);
                }
                preview.tables = external
                    .iter()
                    .map(|rows| PreviewTable {
                        system: rows.system.clone(),
                        collection: rows.collection.clone(),
                        rows: rows.rows.len() as u64,
                        masked: 0,
                        kept: vec![],
                    })
                    .collect();
                let rows: u64 = preview.tables.iter().map(|t| t.rows).sum();
                preview.summary = format!(
                    "an export of {} and {} from the operator's systems, downloadable once",
                    text::records(records.len() as u64),
                    text::count(rows, "row", "rows")
                );
            }
            RequestKind::Erasure => {
                let facts = SubjectFacts::new(
                    self.store
                        .events(tenant, subject)?
                        .iter()
                        .map(|e| e.fact())
                        .collect(),
                );
                let legal_holds = self.store.holds(tenant, Some(now))?;
                let keep = self.vault_keep(
                    &records,
                    subject,
                    &facts,
                    &legal_holds,
                    &mut preview.kept,
                    now,
                );
                for record in records
                    .iter()
                    .filter(|r| !keep.iter().any(|k| k.record == r.id))
                {
                    *preview
                        .categories
                        .entry(record.category.clone())
                        .or_default() += 1;
                }
                let (_, plans) = self.dataset_plan(tenant, subject, &facts, &legal_holds, now)?;
                preview.tables = plans
                    .iter()
                    .map(|plan| PreviewTable {
                        system: plan.system.clone(),
                        collection: plan.collection.clone(),
                        rows: plan.rows_deleted,
                        masked: plan.rows_masked,
                        kept: plan
                            .kept
                            .iter()
                            .map(|k| format!("{} ({})", k.field, k.category))
                            .collect(),
                    })
                    .collect();
                let deleted = records.len() - keep.len();
                preview.summary = if keep.is_empty() {
                    format!(
                        "{} and the person's key are deleted",
                        text::records(deleted as u64)
                    )
                } else {
                    format!(
                        "{} deleted; {} kept because the law or a legal hold requires it, restricted to that purpose",
                        text::records(deleted as u64),
                        text::records(keep.len() as u64)
                    )
                };
            }
            RequestKind::Rectification => {
                preview.summary = format!(
                    "the person's {} is corrected to the value they gave",
                    request.category.as_deref().unwrap_or("record")
                );
            }
            RequestKind::Restriction => {
                preview.summary = "processing is restricted to storage and legal claims until the restriction is lifted".into();
            }
            RequestKind::Objection => {
                preview.summary = "each purpose objected to stops, unless compelling legitimate grounds are given for it below; the person is told the grounds".into();
            }
            RequestKind::ConsentWithdrawal => {
                preview.summary = format!(
                    "consent for “{}” is withdrawn",
                    self.title(request.purpose.as_deref().unwrap_or(""))
                );
            }
        }
        Ok(preview)
    }

    /// Erasure in the tenant's datasets (before the vault, which holds the identities that
    /// find the rows): planned, carried out per database, audited with counts only. What a
    /// law or a legal hold keeps is returned to be told to the person.
    fn erase_in_datasets(
        &self,
        request: &DsRequest,
        subject: SubjectId,
        facts: &SubjectFacts,
        legal_holds: &[ombud_store::retention::LegalHold],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<InDatasets, DeskError> {
        let tenant = request.tenant;
        let request = request.id;
        let (declared, plans) = self.dataset_plan(tenant, subject, facts, legal_holds, now)?;
        if !declared {
            return Ok(InDatasets::default());
        }
        let unavailable = |e: ombud_connect::sql::ConnectError| {
            DeskError::Unavailable(format!(
                "the erasure must reach the operator's own systems, and one could not be changed ({e}); fulfil the request again once it is back"
            ))
        };
        // Each database's part is a step: recorded in the audit log when it commits, with
        // the request, so that running the erasure again skips the databases already done.
        let marker = |dataset: &str| format!("request={request}; dataset={dataset}");
        let done: std::collections::BTreeSet<String> = self
            .store
            .audit_entries(
                tenant,
                &ombud_store::audit::AuditFilter {
                    subject: Some(subject),
                    actor: None,
                    action: Some("datasets.erase".into()),
                    from: None,
                    until: None,
                    after_seq: None,
                    limit: 1000,
                },
            )?
            .into_iter()
            .filter_map(|entry| entry.detail)
            .filter_map(|detail| {
                plans
                    .iter()
                    .map(|p| p.dataset.clone())
                    .find(|d| detail.starts_with(&format!("{};", marker(d))))
            })
            .collect();
        let kept_categories: Vec<String> = plans
            .iter()
            .flat_map(|p| p.kept.iter().map(|k| k.category.clone()))
            .collect();
        let mut record = |dataset: &str,
                          applied: &[(String, ombud_connect::sql::Applied)]|
         -> Result<(), ombud_connect::sql::ConnectError> {
            let counts = applied
                .iter()
                .map(|(table, a)| format!("{table}: {} deleted, {} masked", a.deleted, a.updated))
                .collect::<Vec<_>>()
                .join("; ");
            self.store
                .append_audit(
                    tenant,
                    NewAuditEntry {
                        actor: actor.audit_name(),
                        action: "datasets.erase".into(),
                        subject: Some(subject),
                        categories: kept_categories.clone(),
                        purpose: None,
                        detail: Some(format!("{}; {counts}", marker(dataset))),
                    },
                    now,
                )
                .map(|_| ())
                .map_err(|e| ombud_connect::sql::ConnectError::new(format!("the audit log: {e}")))
        };
        let applied = crate::datasets::execute(&self.connectors, &plans, &done, &mut record)
            .map_err(unavailable)?;
        let (deleted, masked): (u64, u64) = applied
            .iter()
            .fold((0, 0), |(d, m), (_, _, a)| (d + a.deleted, m + a.updated));
        let mut kept: Vec<KeptItem> = Vec::new();
        for plan in &plans {
            for field in &plan.kept {
                kept.push(KeptItem {
                    category: field.category.clone(),
                    records: field.rows,
                    purposes: vec![],
                    rule: field.rule.clone(),
                    law: field.law.clone(),
                    until: field.until,
                    starts_with: field.starts_with.clone(),
                });
            }
        }
        let summary = format!(
            "in the operator's systems {deleted} rows are deleted and {masked} masked{}",
            if kept.is_empty() {
                String::new()
            } else {
                "; fields a law or a legal hold requires are kept".into()
            }
        );
        let systems = applied
            .into_iter()
            .map(|(dataset, collection, a)| SystemRows {
                dataset,
                collection,
                deleted: a.deleted,
                masked: a.updated,
            })
            .collect();
        Ok(InDatasets {
            kept,
            summary: Some(summary),
            systems,
        })
    }

    /// Which of a person's records in the vault an erasure keeps — those a legal hold or the
    /// law holds —, added up per category and rule into `kept`, which the person is told.
    fn vault_keep(
        &self,
        records: &[ombud_store::model::Record],
        subject: SubjectId,
        facts: &SubjectFacts,
        legal_holds: &[ombud_store::retention::LegalHold],
        kept: &mut Vec<KeptItem>,
        now: Timestamp,
    ) -> Vec<KeptRecord> {
        let mut keep = vec![];
        for record in records {
            // A legal hold placed by the operator (a claim, an investigation) keeps the record
            // whatever the policy says; it is then usable for nothing but the hold.
            let placed =
                crate::sweeper::hold_for(legal_holds, subject, &record.category, now).map(|h| {
                    Hold {
                        purposes: vec![format!("hold:{}", h.id)],
                        rule: format!("legal hold ({})", h.reason.as_str().replace('_', " ")),
                        law: None,
                        until: h.ends_at,
                        starts_with: None,
                    }
                });
            let hold: Option<Hold> = placed.or_else(|| {
                requests::erasure_hold(
                    &self.policy,
                    &RecordFacts {
                        category: &record.category,
                        purposes: &record.purposes,
                        source: &record.source,
                        collected_at: record.collected_at,
                    },
                    facts,
                    now,
                    &self.time_zone,
                )
            });
            let Some(hold) = hold else { continue };
            keep.push(KeptRecord {
                record: record.id,
                purposes: hold.purposes.clone(),
            });
            match kept
                .iter_mut()
                .find(|k| k.category == record.category && k.rule == hold.rule)
            {
                Some(item) => {
                    item.records += 1;
                    if hold.until.is_none() || item.until.is_some_and(|u| hold.until > Some(u)) {
                        item.until = hold.until;
                        item.starts_with = hold.starts_with.map(|a| a.as_str().to_owned());
                    }
                }
                None => kept.push(KeptItem {
                    category: record.category.clone(),
                    records: 1,
                    purposes: hold.purposes,
                    rule: hold.rule,
                    law: hold.law,
                    until: hold.until,
                    starts_with: hold.starts_with.map(|a| a.as_str().to_owned()),
                }),
            }
        }
        keep
    }

    /// Erases the person and closes the request in one transaction, so a crash leaves the
    /// request open over a person still there (and fulfilling it again finishes the job) or
    /// closed over a person erased, never open over a person already gone.
    fn erase(
        &self,
        request: DsRequest,
        subject: SubjectId,
        owed: &[ombud_policy::model::Recipient],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Fulfilled, DeskError> {
        let tenant = request.tenant;
        let records = self.store.records(tenant, subject)?;
        let facts = SubjectFacts::new(
            self.store
                .events(tenant, subject)?
                .iter()
                .map(|e| e.fact())
                .collect(),
        );
        let legal_holds = self.store.holds(tenant, Some(now))?;
        let InDatasets {
            mut kept,
            summary: in_datasets,
            systems,
        } = self.erase_in_datasets(&request, subject, &facts, &legal_holds, actor, now)?;
        let keep = self.vault_keep(&records, subject, &facts, &legal_holds, &mut kept, now);
        let mut categories: BTreeMap<String, u64> = BTreeMap::new();
        for record in &records {
            if !keep.iter().any(|k| k.record == record.id) {
                *categories.entry(record.category.clone()).or_default() += 1;
            }
        }
        let voice = self.voice(request.tenant)?;
        let signer = self.signer(tenant, now)?;
        let close = |erasure: &ombud_store::requests::Erasure| {
            let in_vault = if erasure.records_kept == 0 {
                format!(
                    "{} and the subject's key are deleted",
                    text::records(erasure.records_deleted)
                )
            } else {
                format!(
                    "{} deleted; {} kept because the law or a legal hold requires it, restricted to that purpose",
                    match erasure.records_deleted {
                        1 => "1 record is".to_owned(),
                        n => format!("{n} records are"),
                    },
                    match erasure.records_kept {
                        1 => "1 is".to_owned(),
                        n => format!("{n} are"),
                    }
                )
            };
            let outcome = Outcome {
                summary: match &in_datasets {
                    Some(also) => format!("{in_vault}; {also}"),
                    None => in_vault,
                },
                records: Some(erasure.records_deleted),
                export_expires_at: None,
                kept: kept.clone(),
                categories: categories.clone(),
                systems: systems.clone(),
                ..Outcome::default()
            };
            let (request, mails) =
                self.closed(request.clone(), &voice, outcome, owed, None, &signer);
            ombud_store::requests::RequestStep {
                entry: NewAuditEntry::request_step(actor, &request, "fulfil"),
                request,
                mails,
            }
        };
        let (_, request) = self
            .store
            .erase_for_request(tenant, subject, &keep, request.id, &close, actor, now)?;
        // Who was sent which notice, and at which address, goes with the person unless a law
        // keeps message records; a crash here is finished by the next sweep.
        if !crate::sweeper::ledger_kept_past_erasure(&self.policy) {
            self.store
                .prune_ledger(tenant, None, &[subject], actor, now)?;
        }
        Ok(Fulfilled {
            request,
            download_url: None,
        })
    }

    /// A request whose erasure was carried out but which was left open (by a version that
    /// wrote the two apart, and crashed between them): the tombstone the erasure left names
    /// this request, so the request is closed on it rather than answered "not found".
    fn erased_before(
        &self,
        request: DsRequest,
        subject: SubjectId,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Fulfilled, DeskError> {
        let tombstone = self
            .store
            .tombstones(request.tenant)?
            .into_iter()
            .find(|t| t.subject == subject && t.request == Some(request.id))
            .ok_or(DeskError::Store(ombud_store::StoreError::NotFound(
                "subject",
            )))?;
        let outcome = Outcome {
            summary: format!(
                "the personal data and the subject's key were deleted on {}",
                mail::day(tombstone.erased_at, &self.time_zone)
            ),
            ..Outcome::default()
        };
        let voice = self.voice(request.tenant)?;
        let signer = self.signer(request.tenant, now)?;
        let (request, mails) = self.closed(request, &voice, outcome, &[], None, &signer);
        let request = self.save(&request, "fulfil", &mails, actor, now)?;
        Ok(Fulfilled {
            request,
            download_url: None,
        })
    }

    fn rectify(
        &self,
        request: &DsRequest,
        subject: SubjectId,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Outcome, DeskError> {
        let tenant = request.tenant;
        let value = request
            .new_value
            .clone()
            .ok_or_else(|| invalid("new_value", "the request carries no new value"))?;
        let targets: Vec<RecordId> = match (request.record, &request.category) {
            (Some(record), _) => vec![record],
            (None, Some(category)) => self
                .store
                .records(tenant, subject)?
                .into_iter()
                .filter(|r| &r.category == category)
                .map(|r| r.id)
                .collect(),
            (None, None) => vec![],
        };
        // The same category in the operator's own databases: every field that holds it.
        let updated = match (&request.category, request.record) {
            (Some(category), None) => {
                self.rectify_in_datasets(tenant, subject, category, value.expose(), actor, now)?
            }
            _ => 0,
        };
        if targets.len() > 1 || (targets.is_empty() && updated == 0) {
            return Err(invalid(
                "record",
                format!(
                    "{} the category; name the record to correct",
                    match targets.len() {
                        1 => "1 record matches".to_owned(),
                        n => format!("{n} records match"),
                    }
                ),
            ));
        }
        if let Some(record) = targets.first() {
            self.store
                .rectify_record(tenant, subject, *record, &value, actor, now)?;
        }
        Ok(Outcome {
            summary: if updated > 0 {
                format!(
                    "the value is corrected in {} and {} of the operator's systems; the old value is no longer kept",
                    text::records(targets.len() as u64),
                    text::count(updated, "row", "rows")
                )
            } else {
                "the value is corrected; the old value is no longer kept".into()
            },
            records: Some(targets.len() as u64),
            categories: request
                .category
                .iter()
                .filter(|_| !targets.is_empty())
                .map(|c| (c.clone(), targets.len() as u64))
                .collect(),
            ..Outcome::default()
        })
    }

    /// Rectification in the tenant's datasets; returns how many rows changed.
    fn rectify_in_datasets(
        &self,
        tenant: TenantId,
        subject: SubjectId,
        category: &str,
        value: &str,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<u64, DeskError> {
        let identities = self
            .store
            .subject(tenant, subject)?
            .map(|s| s.identities)
            .unwrap_or_default();
        let (declared, reached) = self.reached(tenant, &identities)?;
        if !declared {
            return Ok(0);
        }
        let changed = crate::datasets::rectify(&self.connectors, &reached, category, value)
            .map_err(|e| {
                DeskError::Unavailable(format!(
                    "the correction must reach the operator's own systems, and one could not be changed ({e}); fulfil the request again once it is back"
                ))
            })?;
        let rows: u64 = changed.iter().map(|(_, _, n)| n).sum();
        if rows > 0 {
            self.store.append_audit(
                tenant,
                NewAuditEntry {
                    actor: actor.audit_name(),
                    action: "datasets.rectify".into(),
                    subject: Some(subject),
                    categories: vec![category.to_owned()],
                    purpose: None,
                    detail: Some(
                        changed
                            .iter()
                            .map(|(d, t, n)| format!("{d}.{t}: {n} updated"))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                },
                now,
            )?;
        }
        Ok(rows)
    }

    /// Hands out an export once, opened with the token of its link.
    pub fn download(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<Option<(String, Vec<u8>)>, DeskError> {
        let Some((tenant, _)) = self.secrets.check_export_token(token) else {
            return Ok(None);
        };
        let Some(export) = self
            .store
            .take_export(tenant, &export_token_hash(token), now)?
        else {
            return Ok(None);
        };
        let bytes =
            ombud_store::crypto::open_export(token, &export.sealed).map_err(StoreError::from)?;
        Ok(Some((export.file_name, bytes.to_vec())))
    }

    /// The portal page of a request.
    pub fn portal_link(&self, request: &DsRequest) -> String {
        format!(
            "{}/privacy/status?t={}",
            self.public_url,
            self.secrets
                .portal_token(request.tenant, request.id, request.received_at)
        )
    }
}

/// An audit actor as the person reads it: the kind of accessor, not a key's or a person's name.
fn accessor(actor: &str) -> &'static str {
    if actor.starts_with("key:") {
        "our systems, through the API"
    } else if actor == "system" {
        "our systems, automatically"
    } else if actor == "portal" {
        "you, through our privacy portal"
    } else {
        "our staff"
    }
}

/// Keeps of the rows only the fields portability covers (Art. 20(1)): what the person provided
/// by using the service, processed on consent or a contract by the dataset's activities.
fn portable_rows(
    policy: &Policy,
    connectors: &ombud_connect::Connectors,
    external: &mut Vec<ombud_connect::reach::Rows>,
    now: Timestamp,
) {
    for found in external.iter_mut() {
        let purposes = connectors
            .dataset(&found.dataset)
            .map(|d| d.purposes.clone())
            .unwrap_or_default();
        let keep: Vec<bool> = found
            .categories
            .iter()
            .map(|categories| {
                // A credential is never part of what a person takes elsewhere.
                !categories
                    .iter()
                    .any(|c| ombud_connect::reach::is_credential(c))
                    && categories.iter().any(|category| {
                        requests::portable(
                            policy,
                            &RecordFacts {
                                category,
                                purposes: &purposes,
                                source: "service_use",
                                collected_at: now,
                            },
                        )
                    })
            })
            .collect();
        pick(&keep, &mut found.fields);
        pick(&keep, &mut found.categories);
        for row in &mut found.rows {
            pick(&keep, row);
        }
    }
    external.retain(|found| !found.fields.is_empty());
}

/// The items whose place in `keep` is true.
fn pick<T>(keep: &[bool], items: &mut Vec<T>) {
    let mut place = 0;
    items.retain(|_| {
        place += 1;
        keep.get(place - 1).copied().unwrap_or(false)
    });
}
