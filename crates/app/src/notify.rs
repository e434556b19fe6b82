//! Telling of a breach: each affected customer (a controller, Art. 33(2)), the supervisory
//! authority (Art. 33(1)) and, where the policy says so, the people concerned (Art. 34). Every
//! notification is built from the incident's own facts, item by item of Art. 33(3); what is not yet
//! known is named and may follow in a later phase (Art. 33(4)). Customers and people are told
//! through the notice ledger; a filing with the authority is recorded with its reference. Each
//! phase goes on the incident's timeline with whether it came before the deadline, and a late one
//! must say why (Art. 33(1)). Whether a notification is late is the core's breach clock's to say,
//! not this module's.

use crate::notices::{BREACH_KIND, NoticeError, deliver};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_core::breach::{Item, describe_against};
use ombud_policy::Policy;
use ombud_policy::model::BreachParty;
use ombud_store::incidents::{Incident, Notification, TenantImpact};
use ombud_store::model::{SubjectId, TenantId};
use ombud_store::notices::{Audience, NewNotice, NoticeId};
use ombud_store::{Actor, Store};
use serde::Serialize;
use std::collections::BTreeSet;

const REASON_MAX: usize = 5_000;

/// Who is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// Each customer whose data the breach touched: it is the controller.
    Customer,
    /// The supervisory authority, for the operator's own data.
    Authority,
    /// The people concerned, for the operator's own data.
    Subjects,
}

impl Party {
    pub fn parse(text: &str) -> Result<Party, NoticeError> {
        match text {
            "customers" | "customer" => Ok(Party::Customer),
            "authority" => Ok(Party::Authority),
            "subjects" => Ok(Party::Subjects),
            _ => Err(invalid(
                "party",
                "the party is `customers`, `authority` or `subjects`",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Party::Customer => "customer",
            Party::Authority => "authority",
            Party::Subjects => "subjects",
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> NoticeError {
    NoticeError::Invalid {
        field,
        message: message.into(),
    }
}

/// One item of a notification; `text` is `None` while it is not yet known.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DraftItem {
    pub item: &'static str,
    pub heading: &'static str,
    pub text: Option<String>,
}

/// A notification as it would be (or was) given: the items as JSON and the same as text.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Draft {
    pub party: &'static str,
    pub tenant: Option<TenantId>,
    pub to: String,
    pub phase: u32,
    pub subject: String,
    pub items: Vec<DraftItem>,
    /// The items still to come in a later phase.
    pub missing: Vec<&'static str>,
    /// The reasons for giving it after the deadline, when it is late.
    pub delay_reason: Option<String>,
    pub text: String,
}

fn people(n: u64) -> String {
    if n == 1 {
        "1 person".to_owned()
    } else {
        format!("{n} people")
    }
}

fn category_name(policy: &Policy, key: &str) -> String {
    policy
        .category(key)
        .map_or_else(|| key.to_owned(), |c| c.name.clone())
}

fn contact(policy: &Policy) -> String {
    let c = &policy.controller;
    match &c.dpo {
        Some(dpo) => [
            dpo.name
                .clone()
                .map(|n| format!("{n}, data protection officer")),
            dpo.email.clone(),
            dpo.phone.clone(),
        ]
        .into_iter()
        .flatten()
        .chain([format!("{} ({})", c.name, policy.rights.contact)])
        .collect::<Vec<_>>()
        .join("; "),
        None => format!("{}, {}", c.name, policy.rights.contact),
    }
}

/// The items of Art. 33(3) from the incident and, where it was scoped, what it reached.
fn items(
    policy: &Policy,
    tz: &TimeZone,
    incident: &Incident,
    reach: Option<&TenantImpact>,
    party: Party,
) -> Vec<DraftItem> {
    let when = |at: Timestamp| {
        at.to_zoned(tz.clone())
            .strftime("%-d %B %Y %H:%M %Z")
            .to_string()
    };
    let mut nature = incident.description.clone();
    if let Some(occurred) = incident.occurred_at {
        nature.push_str(&format!("\nIt began on {}.", when(occurred)));
    }
    nature.push_str(&format!(
        "\nWe became aware of it on {}.",
        when(incident.aware_at)
    ));
    let subjects = reach.map(|r| {
        let by: Vec<String> = r
            .categories
            .iter()
            .map(|c| {
                format!(
                    "{}: {}",
                    category_name(policy, &c.category),
                    people(c.subjects)
                )
            })
            .collect();
        let mut text = format!(
            "About {}. By category of data: {}.",
            people(r.subjects),
            by.join("; ")
        );
        if r.special_categories || r.national_id {
            text.push_str(
                " Special categories of data or national identity numbers are among them.",
            );
        }
        text
    });
    let records = reach.map(|r| {
        let total: u64 = r.categories.iter().map(|c| c.records).sum();
        let by: Vec<String> = r
            .categories
            .iter()
            .map(|c| {
                format!(
                    "{}: {}",
                    category_name(policy, &c.category),
                    ombud_core::text::records(c.records)
                )
            })
            .collect();
        format!(
            "About {}. By category of data: {}.",
            ombud_core::text::records(total),
            by.join("; ")
        )
    });
    let all = [
        (Item::Nature, Some(nature)),
        (Item::Subjects, subjects),
        (Item::Records, records),
        (Item::Contact, Some(contact(policy))),
        (Item::Consequences, incident.consequences.clone()),
        (Item::Measures, incident.measures.clone()),
    ];
    all.into_iter()
        // Art. 34(2): people are told the nature, the contact, the consequences and the measures.
        .filter(|(item, _)| {
            party != Party::Subjects || !matches!(item, Item::Subjects | Item::Records)
        })
        .map(|(item, text)| DraftItem {
            item: item.as_str(),
            heading: item.heading(),
            text,
        })
        .collect()
}

fn render(opening: &str, items: &[DraftItem], delay_reason: Option<&str>, closing: &str) -> String {
    let mut text = format!("{opening}\n");
    for (n, item) in items.iter().enumerate() {
        text.push_str(&format!(
            "\n{}. {}\n{}\n",
            n + 1,
            item.heading,
            item.text
                .as_deref()
                .unwrap_or("Not yet established; it will follow in a further notification.")
        ));
    }
    if let Some(reason) = delay_reason {
        text.push_str(&format!("\nReasons for the delay\n{reason}\n"));
    }
    text.push_str(&format!("\n{closing}\n"));
    text
}

fn phase(incident: &Incident, party: Party, tenant: Option<TenantId>) -> u32 {
    let given = incident
        .notifications
        .iter()
        .filter(|n| n.party == party.as_str() && n.tenant == tenant)
        .count();
    u32::try_from(given).unwrap_or(u32::MAX - 1) + 1
}

/// The operator's own share of the reach, or why the party cannot be told about it.
fn own_reach(incident: &Incident, party: Party) -> Result<Option<&TenantImpact>, NoticeError> {
    match &incident.impact {
        None => Ok(None),
        Some(impact) => match impact.tenants.iter().find(|t| t.operator) {
            Some(own) => Ok(Some(own)),
            None => Err(invalid(
                "party",
                format!(
                    "the breach reached only customers' data: as their processor the operator tells the customers (Art. 33(2)), who decide on telling {}",
                    if party == Party::Authority {
                        "their authority"
                    } else {
                        "their people"
                    }
                ),
            )),
        },
    }
}

/// The notifications `party` would receive now: one per affected customer (or those of
/// `tenants`), or one to the authority, or one to the people concerned.
pub fn drafts(
    policy: &Policy,
    tz: &TimeZone,
    incident: &Incident,
    party: Party,
    tenants: Option<&[TenantId]>,
    delay_reason: Option<&str>,
) -> Result<Vec<Draft>, NoticeError> {
    let controller = &policy.controller.name;
    match party {
        Party::Customer => {
            let Some(impact) = &incident.impact else {
                return Err(invalid(
                    "party",
                    "scope the incident first (POST /api/v1/incidents/{id}/scope): the customers to tell are those its data reached",
                ));
            };
            let customers: Vec<&TenantImpact> =
                impact.tenants.iter().filter(|t| !t.operator).collect();
            if customers.is_empty() {
                return Err(invalid("party", "the breach reached no customer's data"));
            }
            if let Some(wanted) = tenants
                && let Some(stranger) = wanted
                    .iter()
                    .find(|w| !customers.iter().any(|c| c.tenant == **w))
            {
                return Err(invalid(
                    "tenants",
                    format!(
                        "the breach did not reach tenant {stranger}'s data; notify only the customers in the impact"
                    ),
                ));
            }
            Ok(customers
                .into_iter()
                .filter(|c| tenants.is_none_or(|w| w.contains(&c.tenant)))
                .map(|reach| {
                    let phase = phase(incident, party, Some(reach.tenant));
                    let items = items(policy, tz, incident, Some(reach), party);
                    let opening = format!(
                        "To {}, as controller of the personal data concerned.\n\n{controller} processes personal data on your behalf and tells you, as its processor must (Art. 33(2) GDPR), of a personal data breach affecting it. This is notification {phase} of incident {}.",
                        reach.name, incident.id
                    );
                    finish(party, Some(reach.tenant), reach.name.clone(), phase, format!("Personal data breach notification: {} (part {phase})", incident.title), items, delay_reason, &opening,
                        "You decide, as controller, whether to notify your supervisory authority and the people concerned; we will help with whatever you need from us.")
                })
                .collect())
        }
        Party::Authority => {
            let reach = own_reach(incident, party)?;
            let phase = phase(incident, party, None);
            let items = items(policy, tz, incident, reach, party);
            let authority = &policy.authority.name;
            let opening = format!(
                "To {authority}.\n\nNotification of a personal data breach under Art. 33 GDPR by {controller}, {} (registration {}). This is notification {phase} of incident {}.",
                policy.controller.address,
                policy
                    .controller
                    .registration
                    .as_deref()
                    .unwrap_or("not given"),
                incident.id
            );
            Ok(vec![finish(
                party,
                None,
                authority.clone(),
                phase,
                format!("Personal data breach notification by {controller}"),
                items,
                delay_reason,
                &opening,
                "A draft from the breach register: file it through the authority's own channel and record the reference.",
            )])
        }
        Party::Subjects => {
            if !policy.breach.notify.contains(&BreachParty::Subjects) {
                return Err(invalid(
                    "party",
                    "the policy does not say people are told directly: add \"subjects\" to [breach] notify",
                ));
            }
            let reach = own_reach(incident, party)?;
            if reach.is_none() {
                return Err(invalid(
                    "party",
                    "scope the incident first (POST /api/v1/incidents/{id}/scope): the people to tell are those its data reached",
                ));
            }
            let phase = phase(incident, party, None);
            let items = items(policy, tz, incident, reach, party);
            let opening = format!(
                "We are writing to tell you of a security incident at {controller} that involves personal data about you (Art. 34 GDPR)."
            );
            Ok(vec![finish(
                party,
                None,
                "the people concerned".to_owned(),
                phase,
                format!("Important: a security incident at {controller} involving your data"),
                items,
                delay_reason,
                &opening,
                "If you have questions, or notice anything unusual, contact us at the address above.",
            )])
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    party: Party,
    tenant: Option<TenantId>,
    to: String,
    phase: u32,
    subject: String,
    items: Vec<DraftItem>,
    delay_reason: Option<&str>,
    opening: &str,
    closing: &str,
) -> Draft {
    let missing = items
        .iter()
        .filter(|i| i.text.is_none())
        .map(|i| i.item)
        .collect();
    Draft {
        party: party.as_str(),
        tenant,
        to,
        phase,
        text: render(opening, &items, delay_reason, closing),
        subject,
        items,
        missing,
        delay_reason: delay_reason.map(str::to_owned),
    }
}

/// Whether the duty to `party` (and `tenant`) is still unmet at `at`: no earlier phase to them
/// came on time, and the deadline has passed. Later phases of an on-time notification are the
/// "information in phases" of Art. 33(4), not late.
fn late_for(incident: &Incident, party: Party, tenant: Option<TenantId>, at: Timestamp) -> bool {
    at > incident.deadline_at
        && !incident
            .notifications
            .iter()
            .any(|n| n.party == party.as_str() && n.tenant == tenant && !n.late)
}

/// A late notification must say why (Art. 33(1)); an on-time one needs no reason.
fn check_delay(
    incident: &Incident,
    late: bool,
    delay_reason: Option<&str>,
    at: Timestamp,
) -> Result<Option<String>, NoticeError> {
    let reason = delay_reason.map(str::trim).filter(|r| !r.is_empty());
    if let Some(reason) = reason
        && (reason.chars().count() > REASON_MAX
            || reason.chars().any(|c| c.is_control() && c != '\n'))
    {
        return Err(invalid(
            "delay_reason",
            format!("delay_reason is up to {REASON_MAX} characters of text"),
        ));
    }
    if late && reason.is_none() {
        let (_, against) = describe_against(incident.deadline_at, at);
        return Err(invalid(
            "delay_reason",
            format!(
                "this notification comes {against}: Art. 33(1) asks for the reasons for the delay; give them in delay_reason"
            ),
        ));
    }
    Ok(reason.map(str::to_owned))
}

fn record(
    incident: &Incident,
    party: Party,
    draft: &Draft,
    notice: Option<NoticeId>,
    reference: Option<String>,
    recipients: u64,
    at: Timestamp,
) -> Notification {
    let late = late_for(incident, party, draft.tenant, at);
    let (_, against_deadline) = describe_against(incident.deadline_at, at);
    Notification {
        party: draft.party.to_owned(),
        tenant: draft.tenant,
        phase: draft.phase,
        notice,
        reference,
        recipients,
        at,
        late,
        against_deadline,
        delay_reason: draft.delay_reason.clone(),
        missing: draft.missing.iter().map(|m| (*m).to_owned()).collect(),
    }
}

/// The people of the operator's own tenant the incident reached, from its scope.
fn reached_people(
    store: &dyn Store,
    tenant: TenantId,
    incident: &Incident,
) -> Result<Vec<SubjectId>, NoticeError> {
    let scope = incident
        .scope
        .as_ref()
        .ok_or_else(|| invalid("party", "scope the incident first"))?;
    let tenant = store
        .tenant(tenant)?
        .ok_or(ombud_store::StoreError::NotFound("tenant"))?;
    let reads = crate::breach::reads_of(store, &tenant, scope)?;
    let people: BTreeSet<SubjectId> = reads.into_iter().map(|r| r.subject).collect();
    Ok(people.into_iter().collect())
}

/// Sends the notifications to `party` through the notice ledger and records each on the
/// incident (one timeline step `notify`). Returns the incident as saved and what was sent.
#[allow(clippy::too_many_arguments)]
pub fn send(
    store: &dyn Store,
    policy: &Policy,
    tz: &TimeZone,
    operator: TenantId,
    tenant: TenantId,
    incident: Incident,
    party: Party,
    tenants: Option<&[TenantId]>,
    delay_reason: Option<&str>,
    actor: &Actor,
    now: Timestamp,
) -> Result<(Incident, Vec<Draft>), NoticeError> {
    if party == Party::Authority {
        return Err(invalid(
            "party",
            "the authority is notified through its own channel: draft with GET …/notifications/draft?party=authority, then record the filing with POST …/authority",
        ));
    }
    if tenant != operator {
        return Err(invalid(
            "party",
            "notifications are sent from the operator's breach register; in a customer's tenant, draft them and send them yourself",
        ));
    }
    // Art. 34(2): the people are told the likely consequences and the measures; a message that
    // says they are "not yet established" tells them nothing they can act on.
    if party == Party::Subjects && (incident.consequences.is_none() || incident.measures.is_none())
    {
        return Err(invalid(
            "party",
            "tell the people concerned once the likely consequences and the measures are known (Art. 34(2)): record them with POST …/assessment first",
        ));
    }
    let late = drafts(policy, tz, &incident, party, tenants, None)?
        .iter()
        .any(|d| late_for(&incident, party, d.tenant, now));
    let delay_reason = check_delay(&incident, late, delay_reason, now)?;
    let drafts = drafts(
        policy,
        tz,
        &incident,
        party,
        tenants,
        delay_reason.as_deref(),
    )?;
    let mut notified = incident.clone();
    for draft in &drafts {
        let audience = match party {
            Party::Customer => Audience::Tenants(draft.tenant.into_iter().collect()),
            _ => Audience::Subjects(reached_people(store, tenant, &incident)?),
        };
        let notice = NewNotice {
            id: NoticeId::new(),
            kind: BREACH_KIND.to_owned(),
            mandatory: true,
            subject_line: draft.subject.clone(),
            body: draft.text.clone(),
            audience,
            incident: Some(incident.id),
        };
        // A customer without registered contacts is recorded with no one reached, not skipped:
        // the timeline must show that this notice did not get through.
        let sent = deliver(store, tenant, notice, None, actor, now, false)?;
        notified.notifications.push(record(
            &incident,
            party,
            draft,
            Some(sent.id),
            None,
            sent.queued,
            now,
        ));
    }
    let saved = save_notified(store, tenant, &incident, &notified, actor, now)?;
    Ok((saved, drafts))
}

/// Saves the notifications `notified` adds to `before` as one timeline step `notify`.
fn save_notified(
    store: &dyn Store,
    tenant: TenantId,
    before: &Incident,
    notified: &Incident,
    actor: &Actor,
    now: Timestamp,
) -> Result<Incident, NoticeError> {
    let detail = notify_detail(&notified.notifications[before.notifications.len()..]);
    Ok(store.save_incident(tenant, notified, "notify", detail, actor, now)?)
}

/// Records a notification filed with the authority (through its own form or mail), with its
/// case reference and when it was filed, as a timeline step `notify`.
#[allow(clippy::too_many_arguments)]
pub fn record_authority(
    store: &dyn Store,
    policy: &Policy,
    tz: &TimeZone,
    tenant: TenantId,
    incident: Incident,
    filing: Filing<'_>,
    actor: &Actor,
    now: Timestamp,
) -> Result<Incident, NoticeError> {
    let Filing {
        reference,
        filed_at,
        delay_reason,
    } = filing;
    let reference = reference.trim();
    if reference.is_empty()
        || reference.chars().count() > 200
        || reference.chars().any(char::is_control)
    {
        return Err(invalid(
            "reference",
            "reference is the authority's case number, 1 to 200 characters on one line",
        ));
    }
    let at = filed_at.unwrap_or(now);
    if at > now || at < incident.aware_at {
        return Err(invalid(
            "filed_at",
            "filed_at lies between becoming aware of the breach and now",
        ));
    }
    let late = late_for(&incident, Party::Authority, None, at);
    let delay_reason = check_delay(&incident, late, delay_reason, at)?;
    let draft = drafts(
        policy,
        tz,
        &incident,
        Party::Authority,
        None,
        delay_reason.as_deref(),
    )?
    .pop()
    .ok_or_else(|| invalid("party", "nothing to notify"))?;
    let mut notified = incident.clone();
    notified.notifications.push(record(
        &incident,
        Party::Authority,
        &draft,
        None,
        Some(reference.to_owned()),
        0,
        at,
    ));
    save_notified(store, tenant, &incident, &notified, actor, now)
}

/// A filing with the authority as reported: its case reference, when (now when absent), and
/// why it came late, if it did.
pub struct Filing<'a> {
    pub reference: &'a str,
    pub filed_at: Option<Timestamp>,
    pub delay_reason: Option<&'a str>,
}

/// What the timeline records of a round of notifications: to whom, which phase, against the
/// deadline; never the text or the people.
fn notify_detail(given: &[Notification]) -> serde_json::Value {
    serde_json::json!(
        given
            .iter()
            .map(|n| serde_json::json!({
                "party": n.party,
                "tenant": n.tenant,
                "phase": n.phase,
                "notice": n.notice,
                "reference": n.reference,
                "recipients": n.recipients,
                "late": n.late,
                "against_deadline": n.against_deadline,
                "missing": n.missing,
            }))
            .collect::<Vec<_>>()
    )
}
