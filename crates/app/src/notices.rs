//! Sending a service message: the kind from the policy, the audience resolved in the store, each
//! person's delivery decided by the core (mandatory kinds reach everyone, opt-out kinds skip who
//! unsubscribed or objected), and the ledger and the mails written in one go. Shared by `POST
//! /api/v1/notices`, `ombud notice send` and the breach notifications. It must not send the
//! built-in kinds by hand: breach and change notices come from `notify` and `subprocessors`.

use jiff::Timestamp;
use ombud_core::SubjectFacts;
use ombud_policy::Policy;
use ombud_store::model::{SubjectId, TenantId};
use ombud_store::notices::{Audience, NewDelivery, NewNotice, Notice, NoticeId};
use ombud_store::{Actor, Store, StoreError};

/// The kind of an incident's notifications to controllers and people. Not declared in the
/// policy: telling of a breach is a duty (Art. 33(2), 34), never a preference.
pub const BREACH_KIND: &str = "breach";

const SUBJECT_MAX: usize = 200;
const BODY_MAX: usize = 50_000;
/// A list audience is for a handful of people; larger audiences are named by what they share.
pub const LIST_MAX: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> NoticeError {
    NoticeError::Invalid {
        field,
        message: message.into(),
    }
}

/// A notice as the sender wrote it.
#[derive(Debug, Clone)]
pub struct Sending {
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub audience: Audience,
}

/// Whether the policy's kind `key` is mandatory; refuses kinds the policy does not declare.
pub fn kind_of(policy: &Policy, key: &str) -> Result<bool, NoticeError> {
    if key == crate::restriction::LIFT_KIND {
        return Err(invalid(
            "kind",
            "the person is told of a lifted restriction when it is lifted: POST /api/v1/subjects/{id}/restriction/lift",
        ));
    }
    if key == BREACH_KIND {
        return Err(invalid(
            "kind",
            "breach notifications are sent from the incident: POST /api/v1/incidents/{id}/notifications",
        ));
    }
    if key == crate::subprocessors::CHANGE_KIND {
        return Err(invalid(
            "kind",
            "change notices about sub-processors are drafted from the policy: POST /api/v1/subprocessors/changes",
        ));
    }
    match policy.notice_kinds.iter().find(|k| k.key == key) {
        Some(kind) => Ok(kind.mandatory),
        None if policy.notice_kinds.is_empty() => Err(invalid(
            "kind",
            format!(
                "`{key}` is not a notice kind: the policy declares none; add [[notice_kind]] entries to privacy.toml"
            ),
        )),
        None => Err(invalid(
            "kind",
            format!(
                "`{key}` is not a notice kind of the policy; it has: {}",
                policy
                    .notice_kinds
                    .iter()
                    .map(|k| k.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

fn check_text(
    field: &'static str,
    value: &str,
    max: usize,
    lines: bool,
) -> Result<(), NoticeError> {
    if value.trim().is_empty() {
        return Err(invalid(field, format!("the {field} is empty")));
    }
    if value.chars().count() > max {
        return Err(invalid(
            field,
            format!("the {field} is longer than {max} characters"),
        ));
    }
    // A line break in a subject line would start a new mail header.
    if value
        .chars()
        .any(|c| c.is_control() && !(lines && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err(invalid(
            field,
            if lines {
                format!("the {field} contains control characters other than line breaks and tabs")
            } else {
                format!("the {field} is one line without control characters")
            },
        ));
    }
    Ok(())
}

/// Checks everything about an audience that can be checked without reading people: who may
/// address customers' contacts, which tenants and categories exist.
fn check_audience(
    store: &dyn Store,
    policy: &Policy,
    operator: TenantId,
    tenant: TenantId,
    audience: &Audience,
) -> Result<(), NoticeError> {
    match audience {
        Audience::Tenants(_) | Audience::Customers if tenant != operator => Err(invalid(
            "audience",
            "customers' contacts are the operator's to write to; from a customer's tenant address its people by category or list",
        )),
        Audience::Tenants(customers) => {
            if customers.is_empty() {
                return Err(invalid("audience.tenants", "name at least one tenant"));
            }
            for customer in customers {
                match store.tenant(*customer)? {
                    Some(t) if !t.operator => {}
                    Some(_) => {
                        return Err(invalid(
                            "audience.tenants",
                            "the operator's own tenant has no customer contacts; address its people by category or list",
                        ));
                    }
                    None => {
                        return Err(invalid("audience.tenants", format!("no tenant {customer}")));
                    }
                }
            }
            Ok(())
        }
        Audience::Customers => Ok(()),
        // A category of the policy, or one above some (`user.contact` over
        // `user.contact.email`): the people holding anything beneath it.
        Audience::Category(category)
            if policy
                .categories
                .iter()
                .any(|c| ombud_policy::taxonomy::is_within(&c.key, category)) =>
        {
            Ok(())
        }
        Audience::Category(category) => Err(invalid(
            "audience.category",
            format!("no category of the policy is `{category}` or beneath it"),
        )),
        Audience::Subjects(subjects) if subjects.is_empty() => {
            Err(invalid("audience.subjects", "name at least one subject"))
        }
        Audience::Subjects(subjects) if subjects.len() > LIST_MAX => Err(invalid(
            "audience.subjects",
            format!("a list holds at most {LIST_MAX} subjects; name a larger audience by category"),
        )),
        Audience::Subjects(_) => Ok(()),
    }
}

/// The text people read: the sender's body, and for an opt-out kind how to stop receiving it.
fn compose(policy: &Policy, kind: &str, mandatory: bool, body: &str) -> String {
    if mandatory {
        return body.to_owned();
    }
    let name = policy
        .notice_kinds
        .iter()
        .find(|k| k.key == kind)
        .map_or(kind, |k| k.name.as_str());
    format!(
        "{body}\n\n--\nYou receive this as one of: {name}. To stop receiving these messages, write to {}.\n",
        policy.rights.contact
    )
}

/// Sends a notice of a policy kind to `sending.audience` in `tenant`.
pub fn send(
    store: &dyn Store,
    policy: &Policy,
    operator: TenantId,
    tenant: TenantId,
    sending: Sending,
    actor: &Actor,
    now: Timestamp,
) -> Result<Notice, NoticeError> {
    let mandatory = kind_of(policy, &sending.kind)?;
    check_text("subject", &sending.subject, SUBJECT_MAX, false)?;
    check_text("body", &sending.body, BODY_MAX, true)?;
    check_audience(store, policy, operator, tenant, &sending.audience)?;
    let body = compose(policy, &sending.kind, mandatory, &sending.body);
    let notice = NewNotice {
        id: NoticeId::new(),
        kind: sending.kind,
        mandatory,
        subject_line: sending.subject.trim().to_owned(),
        body,
        audience: sending.audience,
        incident: None,
    };
    let activity = policy
        .notice_kinds
        .iter()
        .find(|k| k.key == notice.kind)
        .and_then(|k| k.activity.as_deref());
    deliver(store, tenant, notice, activity, actor, now, true)
}

/// Resolves the audience, decides each person's delivery and stores it all. An opt-out kind
/// names the `activity` it is sent for, so an opt-out from that activity skips the person too.
/// An empty audience is refused when `refuse_empty`; an incident records a tenant without
/// contacts instead.
pub(crate) fn deliver(
    store: &dyn Store,
    tenant: TenantId,
    mut notice: NewNotice,
    activity: Option<&str>,
    actor: &Actor,
    now: Timestamp,
    refuse_empty: bool,
) -> Result<Notice, NoticeError> {
    // Subject lines built from other text (an incident's title) must not start mail headers.
    notice.subject_line = notice
        .subject_line
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let people = store.notice_audience(tenant, &notice.audience)?;
    if let Audience::Subjects(listed) = &notice.audience {
        let found: std::collections::HashSet<SubjectId> =
            people.iter().map(|p| p.subject).collect();
        if let Some(missing) = listed.iter().find(|s| !found.contains(s)) {
            return Err(invalid(
                "audience.subjects",
                format!("no subject {missing} in this tenant"),
            ));
        }
    }
    if people.is_empty() && refuse_empty {
        return Err(invalid(
            "audience",
            "no one is in this audience (no contacts registered, or no one holds that data); nothing was sent",
        ));
    }
    let deliveries: Vec<NewDelivery> = people
        .into_iter()
        .map(|person| {
            let facts = SubjectFacts::new(person.events);
            let decision = ombud_core::notices::decide(
                &notice.kind,
                activity,
                notice.mandatory,
                &facts,
                person.email.is_some(),
                now,
            );
            match (decision.skip_reason(), person.email) {
                (None, Some(to)) => NewDelivery::Queue {
                    subject: person.subject,
                    to,
                },
                (reason, _) => NewDelivery::Skip {
                    subject: person.subject,
                    reason: reason.unwrap_or_else(|| "no email address known".to_owned()),
                },
            }
        })
        .collect();
    Ok(store.send_notice(tenant, &notice, &deliveries, actor, now)?)
}

/// What a one-click unsubscribe did: the kind's name as people read it, and whether the person
/// had already stopped it (a second click records nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribed {
    pub kind_name: String,
    pub already: bool,
}

/// Stops notices of an opt-out `kind` for a person, from the link in such a notice: records an
/// `unsubscribe` event for the kind (which every later sending of the kind honours) unless one
/// already stands. A mandatory kind cannot be stopped, and no link is made for one.
pub fn unsubscribe(
    store: &dyn Store,
    policy: &Policy,
    tenant: TenantId,
    subject: SubjectId,
    kind: &str,
    now: Timestamp,
) -> Result<Unsubscribed, NoticeError> {
    let found = policy
        .notice_kinds
        .iter()
        .find(|k| k.key == kind)
        .ok_or_else(|| invalid("kind", "the policy no longer has this kind of message"))?;
    if found.mandatory {
        return Err(invalid(
            "kind",
            "these messages are required for the service and cannot be stopped by a link",
        ));
    }
    let events = store.events(tenant, subject)?;
    let already = events.iter().any(|e| {
        e.kind == ombud_core::EventKind::Unsubscribe
            && e.occurred_at <= now
            && e.purpose.as_deref().is_none_or(|p| p == kind)
    });
    if !already {
        store.add_event(
            tenant,
            subject,
            &ombud_store::model::NewEvent {
                id: None,
                kind: ombud_core::EventKind::Unsubscribe,
                purpose: Some(kind.to_owned()),
                occurred_at: now,
                channel: Some("one-click unsubscribe link".into()),
                policy_version: Some(policy.version.0.clone()),
            },
            &Actor::Portal,
            now,
        )?;
    }
    Ok(Unsubscribed {
        kind_name: found.name.clone(),
        already,
    })
}
