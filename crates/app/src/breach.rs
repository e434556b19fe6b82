//! The breach register's rules, shared by the API and the console: what an incident is opened with,
//! how it is closed. Refusals name the field and the fix. It decides the register's steps; the
//! clock itself is the core's, and telling anyone is `notify`'s.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_core::breach;
use ombud_policy::Policy;
use ombud_store::incidents::{
    CategoryImpact, Impact, Incident, IncidentId, Read, RiskAssessment, Scope, SubjectsExemption,
    TenantImpact,
};
use ombud_store::model::Tenant;
use ombud_store::{Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};

pub const TITLE_MAX: usize = 200;
pub const TEXT_MAX: usize = 10_000;

/// What an incident is opened with, as typed.
#[derive(Debug, Clone, Default)]
pub struct Opening {
    pub title: String,
    pub description: String,
    /// Now when absent.
    pub aware_at: Option<Timestamp>,
    pub occurred_at: Option<Timestamp>,
    pub categories: Vec<String>,
    pub consequences: Option<String>,
}

pub type Refusal = (&'static str, String);

fn text(field: &'static str, value: &str, max: usize) -> Result<String, Refusal> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err((field, format!("{field} is 1 to {max} characters")));
    }
    // A title is one line; longer texts may break lines, never carry control or direction marks.
    if let Some(c) = ombud_core::text::refused_char(value, field != "title") {
        return Err((field, ombud_core::text::refusal(field, c)));
    }
    Ok(value.to_owned())
}

fn optional_text(field: &'static str, value: Option<&str>) -> Result<Option<String>, Refusal> {
    value.map(|v| text(field, v, TEXT_MAX)).transpose()
}

/// A new incident (version 0, to be saved), its deadline computed from the policy.
pub fn open(
    policy: &Policy,
    time_zone: &TimeZone,
    opening: Opening,
    now: Timestamp,
) -> Result<Incident, Refusal> {
    let title = text("title", &opening.title, TITLE_MAX)?;
    if title.chars().any(char::is_control) {
        // It becomes the subject line of the notifications.
        return Err((
            "title",
            "the title is one line without control characters".to_owned(),
        ));
    }
    let description = text("description", &opening.description, TEXT_MAX)?;
    let consequences = optional_text("consequences", opening.consequences.as_deref())?;
    let aware_at = opening.aware_at.unwrap_or(now);
    breach::check_times(opening.occurred_at, aware_at, now)?;
    if let Some(unknown) = opening
        .categories
        .iter()
        .find(|c| policy.category(c).is_none())
    {
        return Err((
            "categories",
            format!("`{unknown}` is not a category of the policy"),
        ));
    }
    Ok(Incident {
        id: IncidentId::new(),
        title,
        description,
        occurred_at: opening.occurred_at,
        aware_at,
        deadline_at: breach::deadline(aware_at, policy.breach.notify_within, time_zone),
        opened_at: now,
        closed_at: None,
        categories: opening.categories,
        consequences,
        measures: None,
        scope: None,
        impact: None,
        notifications: vec![],
        risk_unlikely: None,
        subjects_exempt: None,
        version: 0,
    })
}

/// What the timeline records of an opening: when the clock started and when it runs out.
pub fn opened_detail(incident: &Incident) -> serde_json::Value {
    serde_json::json!({ "aware_at": incident.aware_at, "deadline_at": incident.deadline_at })
}

/// What the timeline records of a closing or an assessment: whether measures and consequences
/// were given.
pub fn closed_detail(incident: &Incident) -> serde_json::Value {
    serde_json::json!({
        "measures": incident.measures.is_some(),
        "consequences": incident.consequences.is_some(),
        "risk_unlikely": incident.risk_unlikely.is_some(),
    })
}

/// Who is still owed notice, in words: "2 affected customers and the authority".
fn owed(incident: &Incident) -> Option<String> {
    let customers = match incident.customers_untold().len() {
        0 => None,
        1 => Some("1 affected customer".to_owned()),
        n => Some(format!("{n} affected customers")),
    };
    let authority = incident
        .authority_owed()
        .then(|| "the authority".to_owned());
    match (customers, authority) {
        (Some(c), Some(a)) => Some(format!("{c} and {a}")),
        (one, other) => one.or(other),
    }
}

/// The incident closed now, with the measures and consequences as finally known. `Err` with
/// field `status` when it is closed already.
pub fn close(
    incident: Incident,
    measures: Option<&str>,
    consequences: Option<&str>,
    now: Timestamp,
) -> Result<Incident, Refusal> {
    if !incident.is_open() {
        return Err(("status", "the incident is closed already".to_owned()));
    }
    if let Some(owed) = owed(&incident) {
        let exemption = if incident.authority_owed() {
            ", or, for the authority, record that the breach is unlikely to result in a risk to people (assessment with `risk = \"unlikely\"` and the reasons, Art. 33(1) and (5))"
        } else {
            ""
        };
        return Err((
            "status",
            format!("notice is still owed to {owed}; notify them before closing{exemption}"),
        ));
    }
    let measures = optional_text("measures", measures)?;
    let consequences = optional_text("consequences", consequences)?;
    Ok(Incident {
        closed_at: Some(now),
        measures: measures.or(incident.measures.clone()),
        consequences: consequences.or(incident.consequences.clone()),
        ..incident
    })
}

/// The incident with its likely consequences and measures as now assessed; at least one is
/// given. `Err` with field `status` when it is closed.
pub fn assess(incident: Incident, assessment: Assessment<'_>) -> Result<Incident, Refusal> {
    if !incident.is_open() {
        return Err(("status", "the incident is closed".to_owned()));
    }
    let Assessment {
        measures,
        consequences,
        risk,
        reasons,
        subjects_exempt,
        exemption_reasons,
        public_communication,
        by,
        now,
    } = assessment;
    if measures.is_none() && consequences.is_none() && risk.is_none() && subjects_exempt.is_none() {
        return Err((
            "measures",
            "give the measures taken or proposed, the likely consequences, the risk, an Art. 34(3) exemption, or more than one".to_owned(),
        ));
    }
    let subjects_exempt = match subjects_exempt {
        None => incident.subjects_exempt.clone(),
        Some(ground) => Some(exemption(
            ground,
            exemption_reasons,
            public_communication,
            by,
            now,
        )?),
    };
    let risk_unlikely = match risk {
        None => incident.risk_unlikely.clone(),
        Some("unlikely") => {
            let reasons = reasons.map(str::trim).filter(|r| !r.is_empty()).ok_or((
                "reasons",
                "say why the breach is unlikely to result in a risk to people; the reasons are kept with the register (Art. 33(5))".to_owned(),
            ))?;
            Some(RiskAssessment {
                reasons: text("reasons", reasons, TEXT_MAX)?,
                at: now,
                by: by.to_owned(),
            })
        }
        Some(other) => {
            return Err((
                "risk",
                format!(
                    "`{other}`: the one risk to record is `unlikely` (Art. 33(1)); a likely risk is told, not recorded"
                ),
            ));
        }
    };
    let measures = optional_text("measures", measures)?;
    let consequences = optional_text("consequences", consequences)?;
    Ok(Incident {
        measures: measures.or(incident.measures.clone()),
        consequences: consequences.or(incident.consequences.clone()),
        risk_unlikely,
        subjects_exempt,
        ..incident
    })
}

/// An Art. 34(3) exemption as recorded: a known ground, its reasons, and for a
/// disproportionate effort the public communication made instead.
fn exemption(
    ground: &str,
    reasons: Option<&str>,
    public_communication: Option<&str>,
    by: &str,
    now: Timestamp,
) -> Result<SubjectsExemption, Refusal> {
    let grounds = SubjectsExemption::GROUNDS;
    if !grounds.iter().any(|(g, _)| *g == ground) {
        return Err((
            "subjects_exempt",
            format!(
                "`{ground}`: the grounds of Art. 34(3) are {}",
                grounds
                    .iter()
                    .map(|(g, article)| format!("`{g}` ({article})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let reasons = reasons.map(str::trim).filter(|r| !r.is_empty()).ok_or((
        "exemption_reasons",
        "say why the exemption applies (for example which encryption kept the data unintelligible); the reasons are kept with the register".to_owned(),
    ))?;
    let public_communication = match (ground, public_communication.map(str::trim)) {
        ("disproportionate", Some(text)) if !text.is_empty() => {
            Some(self::text("public_communication", text, TEXT_MAX)?)
        }
        ("disproportionate", _) => {
            return Err((
                "public_communication",
                "Art. 34(3)(c) replaces telling each person with a public communication: say what was published and where".to_owned(),
            ));
        }
        (_, Some(text)) if !text.is_empty() => {
            Some(self::text("public_communication", text, TEXT_MAX)?)
        }
        _ => None,
    };
    Ok(SubjectsExemption {
        ground: ground.to_owned(),
        reasons: text("exemption_reasons", reasons, TEXT_MAX)?,
        public_communication,
        at: now,
        by: by.to_owned(),
    })
}

/// What an assessment records: measures and consequences as now known, and the DPO's finding
/// that the breach is unlikely to result in a risk (`risk = "unlikely"`, with the reasons).
#[derive(Debug, Clone, Copy)]
pub struct Assessment<'a> {
    pub measures: Option<&'a str>,
    pub consequences: Option<&'a str>,
    pub risk: Option<&'a str>,
    pub reasons: Option<&'a str>,
    /// An Art. 34(3) ground that exempts telling the people concerned, with its reasons and,
    /// for `disproportionate`, the public communication made instead.
    pub subjects_exempt: Option<&'a str>,
    pub exemption_reasons: Option<&'a str>,
    pub public_communication: Option<&'a str>,
    /// Who records it, as the audit log names them.
    pub by: &'a str,
    pub now: Timestamp,
}

/// Time left as people read it; once notice was given, when that was against the deadline;
/// while some customers are told and others not, how many remain; for a closed incident, as
/// it stood when it closed.
pub fn time_left(incident: &Incident, now: Timestamp) -> String {
    if let Some(given) = incident.notice_given() {
        return format!("notified {}", given.against_deadline);
    }
    if incident.clock_stopped() {
        return "no notification owed: recorded as unlikely to result in a risk to people".into();
    }
    let left = breach::describe_left(incident.deadline_at, incident.closed_at.unwrap_or(now));
    let known = !incident.notifications.is_empty() || incident.authority_owed();
    match owed(incident) {
        Some(owed) if known => format!("{left}; {owed} not yet told"),
        _ => left,
    }
}

/// Whether notice is overdue now: open, not yet given to everyone due it, past the deadline.
pub fn overdue(incident: &Incident, now: Timestamp) -> bool {
    incident.is_open() && !incident.clock_stopped() && incident.deadline_at < now
}

/// Checks a scoping window: it ends after it starts and does not reach into the future.
pub fn check_window(from: Timestamp, until: Timestamp, now: Timestamp) -> Result<(), Refusal> {
    if until <= from {
        return Err((
            "until",
            "the window ends before it starts: `until` comes after `from`".to_owned(),
        ));
    }
    if from > now {
        return Err(("from", "the window starts in the future".to_owned()));
    }
    Ok(())
}

/// What scoping an incident asks, as typed: a key's reads, or data of some categories held.
#[derive(Debug, Clone)]
pub struct ScopeAsk {
    /// The key whose reads the incident exposed (its id text, as `ombud keys list` shows it).
    pub key: Option<String>,
    pub categories: Vec<String>,
    /// Only these tenants (ids as typed); every tenant the caller sees when empty.
    pub tenants: Vec<String>,
    pub from: Timestamp,
    pub until: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("{1}")]
    Refused(&'static str, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Refusal> for ScopeError {
    fn from((field, message): Refusal) -> Self {
        ScopeError::Refused(field, message)
    }
}

/// Scopes incident `id` of `tenant`: checks what is asked, finds what it reached among the
/// `visible` tenants (those the caller may see), and records the scope, the impact (counts,
/// never values) and the categories it touched. The API and the console both come here.
#[allow(clippy::too_many_arguments)]
pub fn scope(
    store: &dyn Store,
    policy: &Policy,
    tenant: ombud_store::model::TenantId,
    id: IncidentId,
    ask: ScopeAsk,
    visible: Vec<Tenant>,
    actor: &ombud_store::Actor,
    now: Timestamp,
) -> Result<Incident, ScopeError> {
    let actor_key = match (&ask.key, ask.categories.is_empty()) {
        (Some(key), true) => Some(key.trim().parse::<ombud_store::model::ApiKeyId>().map_err(
            |_| {
                ScopeError::Refused(
                    "key",
                    "a key id is a UUID, as `ombud keys list` shows it".into(),
                )
            },
        )?),
        (None, false) => None,
        _ => {
            return Err(ScopeError::Refused(
                "key",
                "scope by a key (`key`) or by data (`categories`), one of the two".into(),
            ));
        }
    };
    if let Some(unknown) = ask.categories.iter().find(|c| policy.category(c).is_none()) {
        return Err(ScopeError::Refused(
            "categories",
            format!("`{unknown}` is not a category of the policy"),
        ));
    }
    check_window(ask.from, ask.until, now)?;
    let mut asked = vec![];
    for text in &ask.tenants {
        let id = text
            .trim()
            .parse::<uuid::Uuid>()
            .map(ombud_store::model::TenantId)
            .map_err(|_| {
                ScopeError::Refused("tenants", format!("`{text}` is not a tenant id (a UUID)"))
            })?;
        if !visible.iter().any(|t| t.id == id) {
            return Err(ScopeError::Refused(
                "tenants",
                format!("no tenant {id} among those this caller may see"),
            ));
        }
        asked.push(id);
    }
    let tenants: Vec<Tenant> = visible
        .into_iter()
        .filter(|t| asked.is_empty() || asked.contains(&t.id))
        .collect();
    let scope = Scope {
        actor: actor_key.map(|key| ombud_store::Actor::ApiKey(key).audit_name()),
        categories: ask.categories,
        tenants: tenants.iter().map(|t| t.id).collect(),
        from: ask.from,
        until: ask.until,
    };
    let incident = store
        .incident(tenant, id)?
        .ok_or(StoreError::NotFound("incident"))?;
    if !incident.is_open() {
        return Err(StoreError::Conflict("incident").into());
    }
    let impact = impact_of(store, policy, &tenants, &scope)?;
    let detail = serde_json::json!({
        "actor": scope.actor,
        "categories": scope.categories,
        "from": scope.from,
        "until": scope.until,
        "subjects": impact.subjects,
        "tenants": impact.tenants.len(),
    });
    let mut categories: Vec<String> = impact
        .tenants
        .iter()
        .flat_map(|t| t.categories.iter().map(|c| c.category.clone()))
        .chain(incident.categories.iter().cloned())
        .collect();
    categories.sort();
    categories.dedup();
    let scoped = Incident {
        scope: Some(scope),
        impact: Some(impact),
        categories,
        ..incident
    };
    Ok(store.save_incident(tenant, &scoped, "scope", detail, actor, now)?)
}

/// What an incident reached in each of `tenants`, per tenant: exactly the people and
/// categories a key was given (from the audit log), or the people whose data of the scoped
/// categories was held in the window (from the records); with the Art. 34 hint.
pub fn impact_of(
    store: &dyn Store,
    policy: &Policy,
    tenants: &[Tenant],
    scope: &Scope,
) -> Result<Impact, StoreError> {
    let mut impact = Impact::default();
    for tenant in tenants {
        let reads = reads_of(store, tenant, scope)?;
        if reads.is_empty() {
            continue;
        }
        let tenant_impact = tenant_impact(policy, tenant, reads);
        impact.subjects += tenant_impact.subjects;
        impact.records += tenant_impact
            .categories
            .iter()
            .map(|c| c.records)
            .sum::<u64>();
        impact.high_risk |= tenant_impact.special_categories || tenant_impact.national_id;
        impact.tenants.push(tenant_impact);
    }
    Ok(impact)
}

/// What the scope reached in one tenant: a key's reads, or the records of its categories held.
pub fn reads_of(
    store: &dyn Store,
    tenant: &Tenant,
    scope: &Scope,
) -> Result<Vec<Read>, StoreError> {
    match &scope.actor {
        Some(actor) => store.reads_by(tenant.id, actor, scope.from, scope.until),
        None => held(store, tenant, scope),
    }
}

/// The records of the scoped categories the tenant held in the window (collected before its
/// end), one read per record: what was exposed when a store of that data was.
fn held(store: &dyn Store, tenant: &Tenant, scope: &Scope) -> Result<Vec<Read>, StoreError> {
    let mut reads = Vec::new();
    let mut after = None;
    loop {
        let batch = store.retention_batch(tenant.id, after, crate::sweeper::BATCH_SUBJECTS)?;
        let Some(last) = batch.last() else {
            return Ok(reads);
        };
        after = Some(last.subject);
        for subject in batch {
            for record in subject.records {
                let covered = scope
                    .categories
                    .iter()
                    .any(|c| ombud_policy::taxonomy::is_within(&record.category, c));
                if covered && record.collected_at < scope.until {
                    reads.push(Read {
                        subject: subject.subject,
                        categories: vec![record.category],
                        records: 1,
                    });
                }
            }
        }
    }
}

fn tenant_impact(policy: &Policy, tenant: &Tenant, reads: Vec<Read>) -> TenantImpact {
    let mut people = BTreeSet::new();
    // category → (people, records)
    let mut categories: BTreeMap<String, (BTreeSet<_>, u64)> = BTreeMap::new();
    for read in reads {
        people.insert(read.subject);
        // A read that returned several categories shares its count among them.
        let share = read.records / (read.categories.len().max(1) as u64);
        for category in read.categories {
            let entry = categories.entry(category).or_default();
            entry.0.insert(read.subject);
            entry.1 += share.max(1);
        }
    }
    let sensitive = |key: &str| {
        policy
            .category(key)
            .and_then(|c| c.sensitivity)
            .or_else(|| ombud_policy::taxonomy::sensitivity(key))
            .is_some()
    };
    let national_id = |key: &str| ombud_policy::taxonomy::is_within(key, "user.government_id");
    TenantImpact {
        tenant: tenant.id,
        name: tenant.name.clone(),
        operator: tenant.operator,
        subjects: people.len() as u64,
        special_categories: categories.keys().any(|k| sensitive(k)),
        national_id: categories.keys().any(|k| national_id(k)),
        categories: categories
            .into_iter()
            .map(|(category, (people, records))| CategoryImpact {
                category,
                subjects: people.len() as u64,
                records,
            })
            .collect(),
    }
}
