//! Lifting a restriction of processing (Art. 18(3)): the person who obtained it is told before
//! it ends. The lift is recorded to take effect at a time after now, and the notice that tells
//! the person goes through the notice ledger in the same step, so the record shows who was told
//! what and when. It must not lift a restriction the person cannot be told about, nor one that is
//! not in force.

use crate::notices::{NoticeError, deliver};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_core::EventKind;
use ombud_core::facts::SubjectFacts;
use ombud_policy::Policy;
use ombud_store::model::{NewEvent, SubjectId, TenantId};
use ombud_store::notices::{Audience, NewNotice, NoticeId};
use ombud_store::{Actor, Store};

/// The built-in, mandatory notice kind that tells a person their restriction will end.
pub const LIFT_KIND: &str = "restriction_lifted";

const REASON_MAX: usize = 2_000;

fn invalid(field: &'static str, message: impl Into<String>) -> NoticeError {
    NoticeError::Invalid {
        field,
        message: message.into(),
    }
}

/// A lift as the controller asks for it.
#[derive(Debug, Clone)]
pub struct Lifting {
    /// When processing may resume: later than now, so the person hears of it first.
    pub effective_at: Timestamp,
    /// Why, in words the person is told.
    pub reason: String,
}

/// A lift recorded: the notice that told the person, and when the restriction ends.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lifted {
    pub subject: SubjectId,
    pub effective_at: Timestamp,
    pub notice: NoticeId,
}

/// Tells the person, then records the lift to take effect at `lifting.effective_at`. Refusals
/// are a notice's (`NoticeError`): this is a notice that must be sent before the lift.
#[allow(clippy::too_many_arguments)]
pub fn lift(
    store: &dyn Store,
    policy: &Policy,
    time_zone: &TimeZone,
    tenant: TenantId,
    subject: SubjectId,
    lifting: Lifting,
    actor: &Actor,
    now: Timestamp,
) -> Result<Lifted, NoticeError> {
    let reason = lifting.reason.trim();
    if reason.is_empty() || reason.chars().count() > REASON_MAX {
        return Err(invalid(
            "reason",
            format!(
                "say why the restriction ends, in at most {REASON_MAX} characters; the person is told it"
            ),
        ));
    }
    if lifting.effective_at <= now {
        return Err(invalid(
            "effective_at",
            "the person must be told before the restriction ends (Art. 18(3)); give a time after now, such as the start of tomorrow",
        ));
    }
    if !store.subject_exists(tenant, subject)? {
        return Err(NoticeError::Store(ombud_store::StoreError::NotFound(
            "subject",
        )));
    }
    let events = store.events(tenant, subject)?;
    let facts = SubjectFacts::new(events.iter().map(|e| e.fact()).collect());
    if facts.restricted(now).is_none() {
        return Err(invalid(
            "subject",
            "the person's data is not under restriction, so there is nothing to lift",
        ));
    }
    if let Some(planned) = events
        .iter()
        .find(|e| e.kind == EventKind::RestrictionLifted && e.occurred_at > now)
    {
        return Err(invalid(
            "effective_at",
            format!(
                "the restriction is already to be lifted on {}",
                crate::mail::day(planned.occurred_at, time_zone)
            ),
        ));
    }
    let audience = Audience::Subjects(vec![subject]);
    let reachable = store
        .notice_audience(tenant, &audience)?
        .iter()
        .any(|person| person.email.is_some());
    if !reachable {
        return Err(invalid(
            "subject",
            "no email address is known for the person, who must be told before the restriction ends (Art. 18(3)); record their address first",
        ));
    }
    let when = effective_at_text(lifting.effective_at, time_zone);
    let notice = NewNotice {
        id: NoticeId::new(),
        kind: LIFT_KIND.into(),
        mandatory: true,
        subject_line: format!("The restriction on your data ends on {when}"),
        body: format!(
            "You asked {controller} to restrict the processing of your personal data (Art. 18 GDPR), and it was restricted.\n\nThe restriction ends on {when}. The reason: {reason}\n\nFrom then on your data is processed again for the purposes our privacy notice describes. If you disagree, write to {contact} before then. You may also lodge a complaint with {authority}.\n\n{controller}\n",
            controller = policy.controller.name,
            contact = policy.rights.contact,
            authority = policy.authority.name,
        ),
        audience,
        incident: None,
    };
    let sent = deliver(store, tenant, notice, None, actor, now, true)?;
    let event = NewEvent {
        id: None,
        kind: EventKind::RestrictionLifted,
        purpose: None,
        occurred_at: lifting.effective_at,
        channel: Some("controller".into()),
        policy_version: Some(policy.version.0.clone()),
    };
    store.add_event(tenant, subject, &event, actor, now)?;
    Ok(Lifted {
        subject,
        effective_at: lifting.effective_at,
        notice: sent.id,
    })
}

/// "3 April 2026 at 00:00 (EEST)": a day and a time, since a lift may start mid-day.
fn effective_at_text(at: Timestamp, time_zone: &TimeZone) -> String {
    at.to_zoned(time_zone.clone())
        .strftime("%-d %B %Y at %H:%M (%Z)")
        .to_string()
}
