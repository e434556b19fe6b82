//! The sub-processor registry: the policy's recipients that receive customers' data, with the
//! optional ones (a hosting provider the customer picks) only in the lists of the customers that
//! chose them. When a new policy version adds or changes such a recipient, or a transfer outside
//! the EEA, the customers using it are sent a change notice through the notice ledger and may
//! object within the policy's window. An objection is recorded, never acted on here: the operator
//! decides what follows.

use crate::notices::{NoticeError, deliver};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_policy::Policy;
use ombud_policy::model::Recipient;
use ombud_store::model::TenantId;
use ombud_store::notices::{Audience, NewNotice, NoticeId};
use ombud_store::subprocessors::{
    ChangeId, ChangedRecipient, Objection, RecipientChange, Resolution, Told,
};
use ombud_store::{Actor, Store};
use serde::Serialize;
use std::collections::BTreeMap;

/// The kind of change notices about sub-processors. Not declared in the policy: a processor
/// must tell its controllers of a new or replaced sub-processor (Art. 28(2)), whatever they
/// subscribed to.
pub const CHANGE_KIND: &str = "subprocessor_change";

fn invalid(field: &'static str, message: impl Into<String>) -> NoticeError {
    NoticeError::Invalid {
        field,
        message: message.into(),
    }
}

/// One line of a sub-processor list.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entry {
    pub id: String,
    pub name: String,
    pub purpose: String,
    /// ISO 3166-1 code, where the recipient names one country.
    pub country: Option<String>,
    pub country_name: Option<String>,
    pub outside_eea: bool,
    /// The transfer safeguard (Chapter V GDPR), for transfers outside the EEA.
    pub safeguard: Option<String>,
    /// Used only for customers that choose it.
    pub chosen_by_customer: bool,
}

fn entry(recipient: &Recipient) -> Entry {
    Entry {
        id: recipient.id.clone(),
        name: recipient.name.clone(),
        purpose: recipient.purpose.clone(),
        country: recipient.country.clone(),
        country_name: recipient
            .country
            .as_deref()
            .and_then(ombud_policy::countries::name)
            .map(str::to_owned),
        outside_eea: recipient.transfers_outside_eea(),
        safeguard: recipient.safeguard.map(|s| s.label().to_owned()),
        chosen_by_customer: recipient.chosen_by_customer,
    }
}

/// Every sub-processor of the policy: the recipients of its processor activities.
pub fn registry(policy: &Policy) -> Vec<Entry> {
    policy
        .recipients
        .iter()
        .filter(|r| policy.is_sub_processor(r))
        .map(entry)
        .collect()
}

/// A customer's list: every sub-processor it cannot opt out of, and the optional ones it chose.
pub fn for_customer(policy: &Policy, chosen: &[String]) -> Vec<Entry> {
    registry(policy)
        .into_iter()
        .filter(|e| !e.chosen_by_customer || chosen.contains(&e.id))
        .collect()
}

/// The optional sub-processor `id`, or why a customer cannot choose it.
pub fn choosable<'p>(policy: &'p Policy, id: &str) -> Result<&'p Recipient, NoticeError> {
    match policy.recipient(id) {
        Some(r) if policy.is_sub_processor(r) && r.chosen_by_customer => Ok(r),
        Some(r) if policy.is_sub_processor(r) => Err(invalid(
            "recipient",
            format!(
                "{} serves every customer; only optional sub-processors are chosen",
                r.name
            ),
        )),
        _ => Err(invalid(
            "recipient",
            format!(
                "`{id}` is not a sub-processor of the policy; the optional ones are: {}",
                registry(policy)
                    .iter()
                    .filter(|e| e.chosen_by_customer)
                    .map(|e| e.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// A change notice as drafted: what changed, who would be told, until when they may object.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeDraft {
    pub from_version: String,
    pub to_version: String,
    pub changes: Vec<ChangedRecipient>,
    pub tenants: Vec<DraftTenant>,
    pub objection_until: Option<Timestamp>,
    /// When the changes take effect, where announced ahead.
    pub effective_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DraftTenant {
    pub tenant: TenantId,
    pub name: String,
    /// The changed recipients this customer uses.
    pub recipients: Vec<String>,
    pub subject: String,
    pub text: String,
}

/// What changed about sub-processors from `old` to `new`: new ones (including a recipient
/// that starts receiving customers' data), new transfers outside the EEA, changed details.
fn changed_recipients(old: &Policy, new: &Policy) -> Vec<ChangedRecipient> {
    let report = ombud_policy::diff::diff(old, new);
    let mut changes: Vec<ChangedRecipient> = report
        .changes
        .iter()
        .filter_map(|c| {
            let id = c.path.strip_prefix("recipient[")?.split(']').next()?;
            let recipient = new.recipient(id)?;
            new.is_sub_processor(recipient).then(|| ChangedRecipient {
                recipient: id.to_owned(),
                code: c.code.to_owned(),
                summary: c.summary.clone(),
                material: c.kind == ombud_policy::diff::Kind::Material,
            })
        })
        .collect();
    for recipient in &new.recipients {
        let was = old
            .recipient(&recipient.id)
            .is_some_and(|r| old.is_sub_processor(r));
        if new.is_sub_processor(recipient) && !was && old.recipient(&recipient.id).is_some() {
            changes.push(ChangedRecipient {
                recipient: recipient.id.clone(),
                code: "new-recipient".to_owned(),
                summary: format!(
                    "{} now also processes data on your behalf ({})",
                    recipient.name, recipient.purpose
                ),
                material: true,
            });
        }
    }
    changes
}

/// The policy version customers last agreed to: `since`, or the newest kept version before
/// the one in force (`ombud serve` keeps each version it loads).
pub fn previous(
    store: &dyn Store,
    operator: TenantId,
    current: &Policy,
    since: Option<&str>,
) -> Result<Policy, NoticeError> {
    let since = match since.map(str::trim) {
        Some(since) => since.to_owned(),
        None => store
            .policy_versions(operator)?
            .into_iter()
            .rev()
            .map(|(version, _)| version)
            .find(|v| *v != current.version.0)
            .ok_or_else(|| {
                invalid(
                    "since",
                    "no earlier policy version is kept; the policy in force is the first",
                )
            })?,
    };
    let source = store.policy_source(operator, &since)?.ok_or_else(|| {
        invalid(
            "since",
            format!(
                "no kept policy version `{since}`; versions are kept as `ombud serve` loads them"
            ),
        )
    })?;
    ombud_policy::check(&source).policy.ok_or_else(|| {
        invalid(
            "since",
            format!("policy version `{since}` no longer checks clean, so it cannot be compared"),
        )
    })
}

/// The first moment of `effective` in `tz`, checked against the objection window: the change
/// may take effect only once every customer has had the whole window to object (Art. 28(2)).
fn effective_from(
    policy: &Policy,
    effective: Option<jiff::civil::Date>,
    objection_until: Option<Timestamp>,
    tz: &TimeZone,
) -> Result<Option<Timestamp>, NoticeError> {
    let Some(day) = effective else {
        return Ok(None);
    };
    let start = day
        .to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|_| {
            invalid(
                "effective",
                "the effective date does not exist in the controller's time zone",
            )
        })?;
    if let Some(until) = objection_until
        && start < until
    {
        return Err(invalid(
            "effective",
            format!(
                "a change may take effect only after the {} customers have to object; the earliest effective date is {}",
                policy
                    .changes
                    .objection_window
                    .map(|w| w.to_string())
                    .unwrap_or_default(),
                until.to_zoned(tz.clone()).date()
            ),
        ));
    }
    Ok(Some(start))
}

/// The policy whose sub-processors are in force at `at`: where an announced change has not
/// taken effect yet, the version it comes from (the earliest such change's, as changes chain);
/// otherwise the policy loaded. `None` stands for the loaded policy.
pub fn in_force_at(
    store: &dyn Store,
    operator: TenantId,
    policy: &Policy,
    at: Timestamp,
) -> Result<Option<(Policy, RecipientChange)>, NoticeError> {
    let Some(change) = pending_at(store, operator, at)?
        .into_iter()
        .min_by_key(|c| c.effective_at)
    else {
        return Ok(None);
    };
    let earlier = previous(store, operator, policy, Some(&change.from_version))?;
    Ok(Some((earlier, change)))
}

/// The announced changes that have not taken effect at `at`.
fn pending_at(
    store: &dyn Store,
    operator: TenantId,
    at: Timestamp,
) -> Result<Vec<RecipientChange>, NoticeError> {
    Ok(store
        .recipient_changes(operator)?
        .into_iter()
        .filter(|c| c.effective_at.is_some_and(|e| e > at))
        .collect())
}

/// The loaded policy as customers' data sees it at `at`: where an announced change has not
/// taken effect, its recipients keep their earlier details and the processor activities do not
/// disclose to a sub-processor the change adds. The operator's own activities are not held
/// back: the announcement is owed to customers (Art. 28(2)), not to the operator.
pub fn customers_policy_at(
    store: &dyn Store,
    operator: TenantId,
    policy: &std::sync::Arc<Policy>,
    at: Timestamp,
) -> Result<std::sync::Arc<Policy>, NoticeError> {
    let pending = pending_at(store, operator, at)?;
    let Some(first) = pending.iter().min_by_key(|c| c.effective_at) else {
        return Ok(policy.clone());
    };
    let earlier = previous(store, operator, policy, Some(&first.from_version))?;
    let added: Vec<String> = pending
        .into_iter()
        .flat_map(|c| c.changes.into_iter().map(|c| c.recipient))
        .collect();
    Ok(std::sync::Arc::new(held_back(policy, &earlier, &added)))
}

fn held_back(loaded: &Policy, earlier: &Policy, pending: &[String]) -> Policy {
    use ombud_policy::model::Role;
    let mut policy = loaded.clone();
    for activity in policy
        .activities
        .iter_mut()
        .filter(|a| a.role == Role::Processor)
    {
        let before = earlier.activities.iter().find(|e| e.id == activity.id);
        activity.recipients.retain(|id| {
            !pending.contains(id) || before.is_some_and(|b| b.recipients.contains(id))
        });
    }
    let used: Vec<String> = policy
        .activities
        .iter()
        .flat_map(|a| a.recipients.iter().cloned())
        .collect();
    policy.recipients = loaded
        .recipients
        .iter()
        .filter(|r| !pending.contains(&r.id) || used.contains(&r.id))
        .map(|r| match earlier.recipient(&r.id) {
            Some(before) if pending.contains(&r.id) => before.clone(),
            _ => r.clone(),
        })
        .collect();
    policy
}

/// Why `id` cannot be chosen yet: an announced change adds it from `effective_at`.
pub fn announced_from(
    store: &dyn Store,
    operator: TenantId,
    id: &str,
    at: Timestamp,
) -> Result<Option<Timestamp>, NoticeError> {
    Ok(pending_at(store, operator, at)?
        .into_iter()
        .filter(|c| c.changes.iter().any(|r| r.recipient == id))
        .filter_map(|c| c.effective_at)
        .max())
}

/// Drafts the change notice from policy version `old` to the policy in force, taking effect
/// on `effective` (a day in the controller's calendar) where announced ahead.
pub fn draft(
    store: &dyn Store,
    policy: &Policy,
    old: &Policy,
    effective: Option<jiff::civil::Date>,
    tz: &TimeZone,
    now: Timestamp,
) -> Result<ChangeDraft, NoticeError> {
    let changes = changed_recipients(old, policy);
    if changes.is_empty() {
        return Err(invalid(
            "since",
            "no sub-processor was added or changed between these policy versions; nothing to tell customers",
        ));
    }
    let customers: Vec<_> = store
        .tenants()?
        .into_iter()
        .filter(|t| !t.operator)
        .collect();
    // Per customer, the changed recipients it uses.
    let mut uses: BTreeMap<TenantId, Vec<String>> = BTreeMap::new();
    for change in &changes {
        let Some(recipient) = policy.recipient(&change.recipient) else {
            continue;
        };
        let users: Vec<TenantId> = if recipient.chosen_by_customer {
            store.tenants_selecting(&recipient.id)?
        } else {
            customers.iter().map(|t| t.id).collect()
        };
        for tenant in users {
            let list = uses.entry(tenant).or_default();
            if !list.contains(&recipient.id) {
                list.push(recipient.id.clone());
            }
        }
    }
    let objection_until = policy
        .changes
        .objection_window
        .map(|window| ombud_core::requests::period_end(now, window, tz));
    let effective_at = effective_from(policy, effective, objection_until, tz)?;
    let takes_effect = effective_at.map_or_else(String::new, |at| {
        format!(
            "\n\nThe changes take effect on {}; until then the current sub-processors stay as they are.",
            crate::mail::day(at, tz)
        )
    });
    let tenants = customers
        .iter()
        .filter_map(|customer| {
            let recipients = uses.remove(&customer.id)?;
            let lines: Vec<String> = changes
                .iter()
                .filter(|c| recipients.contains(&c.recipient))
                .map(|c| format!("- {}", ombud_policy::render::capitalise(&c.summary)))
                .collect();
            let until = objection_until.map_or_else(
                || format!("You may object by writing to {}.", policy.rights.contact),
                |until| {
                    format!(
                        "You may object until {} ({} from this notice) by writing to {}; your objection is recorded against this notice.",
                        crate::mail::last_day(until, tz),
                        policy.changes.objection_window.map(|w| w.to_string()).unwrap_or_default(),
                        policy.rights.contact
                    )
                },
            );
            Some(DraftTenant {
                tenant: customer.id,
                name: customer.name.clone(),
                subject: format!("Changes to the sub-processors of {}", policy.controller.name),
                text: format!(
                    "To {}.\n\n{} will change the sub-processors that process personal data on your behalf (Art. 28(2) GDPR). The changes that concern the services you use:\n\n{}{takes_effect}\n\n{until}\n\nThe current list is published at /subprocessors.\n\n{}\n",
                    customer.name,
                    policy.controller.name,
                    lines.join("\n"),
                    policy.controller.name
                ),
                recipients,
            })
        })
        .collect();
    Ok(ChangeDraft {
        from_version: old.version.0.clone(),
        to_version: policy.version.0.clone(),
        changes,
        tenants,
        objection_until,
        effective_at,
    })
}

/// Sends the drafted notice to each customer concerned and records the change.
pub fn send(
    store: &dyn Store,
    operator: TenantId,
    draft: ChangeDraft,
    actor: &Actor,
    now: Timestamp,
) -> Result<RecipientChange, NoticeError> {
    if draft.tenants.is_empty() {
        return Err(invalid(
            "since",
            "no customer uses the changed sub-processors; nothing is sent",
        ));
    }
    let mut told = Vec::with_capacity(draft.tenants.len());
    for tenant in draft.tenants {
        let notice = NewNotice {
            id: NoticeId::new(),
            kind: CHANGE_KIND.to_owned(),
            mandatory: true,
            subject_line: tenant.subject,
            body: tenant.text,
            audience: Audience::Tenants(vec![tenant.tenant]),
            incident: None,
        };
        // A customer without registered contacts is still recorded as told by this notice,
        // with no one reached: the ledger shows it did not get through.
        let sent = deliver(store, operator, notice, None, actor, now, false)?;
        told.push(Told {
            tenant: tenant.tenant,
            name: tenant.name,
            recipients: tenant.recipients,
            notice: sent.id,
        });
    }
    let change = RecipientChange {
        id: ChangeId::new(),
        from_version: draft.from_version,
        to_version: draft.to_version,
        changes: draft.changes,
        told,
        objection_until: draft.objection_until,
        effective_at: draft.effective_at,
        created_at: now,
    };
    store.save_recipient_change(operator, &change, actor, now)?;
    Ok(change)
}

/// A customer's objection, checked against the change: told of it, about a recipient it uses,
/// inside the window.
pub fn objection(
    change: &RecipientChange,
    customer: TenantId,
    recipient: &str,
    reason: &str,
    now: Timestamp,
) -> Result<Objection, NoticeError> {
    let told = change
        .told
        .iter()
        .find(|t| t.tenant == customer)
        .ok_or(NoticeError::Store(ombud_store::StoreError::NotFound(
            "change",
        )))?;
    if !told.recipients.contains(&recipient.to_owned()) {
        return Err(invalid(
            "recipient",
            format!(
                "this change concerns, for you: {}",
                told.recipients.join(", ")
            ),
        ));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 2_000 {
        return Err(invalid("reason", "reason is 1 to 2000 characters"));
    }
    if let Some(until) = change.objection_until
        && now > until
    {
        return Err(invalid(
            "change",
            format!("the objection window closed at {until}; write to the operator instead"),
        ));
    }
    Ok(Objection {
        change: change.id,
        tenant: customer,
        recipient: recipient.to_owned(),
        reason: reason.to_owned(),
        at: now,
        resolution: None,
    })
}

/// A resolution as asked for: whose objection, to which recipient, how it ended and why, and
/// who records it when.
#[derive(Debug, Clone, Copy)]
pub struct Resolving<'a> {
    pub customer: TenantId,
    pub recipient: &'a str,
    pub outcome: &'a str,
    pub note: &'a str,
    /// Whether the operator records it (only the operator accepts).
    pub by_operator: bool,
    /// Who records it, as the audit log names them.
    pub by: &'a str,
    pub now: Timestamp,
}

/// How an objection ended, checked: the objection exists and is not resolved yet; the outcome
/// is `accepted` (the customer's selection excludes the provider, or its contract ends) or
/// `withdrawn`; the note says what was done or agreed. Only the operator accepts; the customer
/// itself may withdraw its own objection.
pub fn resolution(
    objections: &[Objection],
    asked: Resolving<'_>,
) -> Result<(Objection, Resolution), NoticeError> {
    let Resolving {
        customer,
        recipient,
        outcome,
        note,
        by_operator,
        by,
        now,
    } = asked;
    let objection = objections
        .iter()
        .find(|o| o.tenant == customer && o.recipient == recipient)
        .ok_or(NoticeError::Store(ombud_store::StoreError::NotFound(
            "objection",
        )))?;
    if let Some(done) = &objection.resolution {
        return Err(invalid(
            "outcome",
            format!(
                "the objection was resolved already ({} at {}); a resolution is kept as recorded",
                done.outcome, done.at
            ),
        ));
    }
    let outcome = outcome.trim();
    if !Resolution::OUTCOMES.contains(&outcome) {
        return Err(invalid(
            "outcome",
            format!(
                "`{outcome}`: an objection is `accepted` (the customer's selection excludes the provider, or its contract ends) or `withdrawn`"
            ),
        ));
    }
    if outcome == "accepted" && !by_operator {
        return Err(invalid(
            "outcome",
            "the operator accepts an objection; a customer may withdraw its own",
        ));
    }
    let note = note.trim();
    if note.is_empty() || note.chars().count() > 2_000 {
        return Err(invalid(
            "note",
            "say what was done or agreed in 1 to 2000 characters (for `accepted`: the provider is excluded from the customer's selection, or the contract ends on a date)",
        ));
    }
    Ok((
        objection.clone(),
        Resolution {
            outcome: outcome.to_owned(),
            note: note.to_owned(),
            at: now,
            by: by.to_owned(),
        },
    ))
}
