//! `ombud breach open|list|show|close`: the breach register at the console, with the rules the
//! API applies. The clock runs from when the operator became aware.

use crate::admin_cmd::{StoreArgs, tenant};
use crate::serve_cmd::{load_policy, local_time as local};
use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use jiff::Timestamp;
use ombud_app::breach::{Opening, Refusal, time_left};
use ombud_app::clock::SystemClock;
use ombud_app::notify::Party;
use ombud_core::Clock;
use ombud_store::Actor;
use ombud_store::incidents::{Incident, IncidentId};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum BreachCommand {
    /// Open an incident; notice is due [breach] notify_within (72 hours) after --aware-at
    Open {
        /// A short name
        #[arg(long)]
        title: String,
        /// What happened
        #[arg(long)]
        description: String,
        /// When you became aware (RFC 3339, e.g. 2026-11-22T08:30:00Z); now when absent
        #[arg(long)]
        aware_at: Option<Timestamp>,
        /// When it began, where known (RFC 3339)
        #[arg(long)]
        occurred_at: Option<Timestamp>,
        /// A data category concerned (repeat for more)
        #[arg(long = "category")]
        categories: Vec<String>,
        /// The likely consequences, where already known
        #[arg(long)]
        consequences: Option<String>,
        /// The tenant (an id, or `operator`)
        #[arg(long, default_value = "operator")]
        tenant: String,
        /// The policy whose [breach] and categories apply
        #[arg(long, env = "OMBUD_POLICY")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The incidents, newest first, with the time left to give notice
    List {
        /// Only those still open
        #[arg(long)]
        open: bool,
        #[arg(long, default_value = "operator")]
        tenant: String,
        /// The policy whose controller's time zone the times are shown in
        #[arg(long, env = "OMBUD_POLICY")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// One incident and its timeline
    Show {
        id: String,
        #[arg(long, default_value = "operator")]
        tenant: String,
        /// The policy whose controller's time zone the times are shown in
        #[arg(long, env = "OMBUD_POLICY")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Find who and what an incident touched and record the counts (never values): by what an
    /// API key read in a window, or by the data of some categories held in it
    Scope {
        id: String,
        /// The key whose reads the incident exposed (its id, as `ombud keys list` shows it)
        #[arg(
            long,
            conflicts_with = "categories",
            required_unless_present = "categories"
        )]
        key: Option<String>,
        /// Or a category of data exposed (repeat for more); those beneath it count too
        #[arg(long = "category")]
        categories: Vec<String>,
        /// The window's start (RFC 3339, inclusive)
        #[arg(long)]
        from: Timestamp,
        /// The window's end (RFC 3339, exclusive); now when absent
        #[arg(long)]
        until: Option<Timestamp>,
        /// Only this customer tenant (repeat for more); every tenant when absent
        #[arg(long = "customer")]
        customers: Vec<String>,
        #[arg(long, default_value = "operator")]
        tenant: String,
        /// The policy whose categories apply
        #[arg(long, env = "OMBUD_POLICY")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// What a party would be told of an incident now, item by item of Art. 33(3); sends nothing
    Draft {
        id: String,
        /// customers, authority or subjects
        #[arg(long)]
        party: String,
        #[arg(long, default_value = "operator")]
        tenant: String,
        /// The policy whose controller, contact and [breach] apply
        #[arg(long, env = "OMBUD_POLICY")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Notify the affected customers (or, where the policy says so, the people concerned)
    /// through the notice ledger; each notification is recorded against the deadline
    Notify {
        id: String,
        /// customers or subjects
        #[arg(long)]
        party: String,
        /// Only this affected customer (repeat for more)
        #[arg(long = "customer")]
        customers: Vec<String>,
        /// Why notice comes after the deadline (required then, Art. 33(1))
        #[arg(long)]
        delay_reason: Option<String>,
        #[arg(long, default_value = "operator")]
        tenant: String,
        #[arg(long, env = "OMBUD_POLICY")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Close an incident with the measures taken; it stays in the register
    Close {
        id: String,
        /// The measures taken or proposed
        #[arg(long)]
        measures: Option<String>,
        /// The likely consequences, as finally assessed
        #[arg(long)]
        consequences: Option<String>,
        #[arg(long, default_value = "operator")]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// A refusal as the console says it: the flag to change.
fn refused((field, message): Refusal) -> anyhow::Error {
    let flag = match field {
        "aware_at" => "--aware-at",
        "occurred_at" => "--occurred-at",
        "categories" => "--category",
        "title" => "--title",
        "description" => "--description",
        "consequences" => "--consequences",
        "measures" => "--measures",
        "party" => "--party",
        "tenants" => "--customer",
        "key" => "--key",
        "from" => "--from",
        "until" => "--until",
        "delay_reason" => "--delay-reason",
        _ => return anyhow!("{message}"),
    };
    anyhow!("{flag}: {message}")
}

fn notice_refused(error: ombud_app::notices::NoticeError) -> anyhow::Error {
    match error {
        ombud_app::notices::NoticeError::Invalid { field, message } => refused((field, message)),
        ombud_app::notices::NoticeError::Store(e) => e.into(),
    }
}

fn incident_id(text: &str) -> Result<IncidentId> {
    text.parse()
        .map(IncidentId)
        .map_err(|_| anyhow!("`{text}` is not an incident id; see `ombud breach list`"))
}

/// The store, the tenant and one of its incidents, or why not.
fn load(
    store: &StoreArgs,
    which: &str,
    id: &str,
) -> Result<(
    std::sync::Arc<dyn ombud_store::Store>,
    ombud_store::model::TenantId,
    Incident,
)> {
    let id = incident_id(id)?;
    let store = store.open()?;
    let tenant = tenant(store.as_ref(), which)?;
    let Some(incident) = store.incident(tenant, id)? else {
        bail!("tenant {tenant} has no incident {id}");
    };
    Ok((store, tenant, incident))
}

fn line(incident: &Incident, now: Timestamp, tz: &jiff::tz::TimeZone) -> String {
    format!(
        "{}  {:<6}  due {}  {:<22}  {}",
        incident.id,
        if incident.is_open() { "open" } else { "closed" },
        local(incident.deadline_at, tz),
        time_left(incident, now),
        incident.title
    )
}

pub fn run(command: BreachCommand) -> Result<ExitCode> {
    let now = SystemClock.now();
    match command {
        BreachCommand::Open {
            title,
            description,
            aware_at,
            occurred_at,
            categories,
            consequences,
            tenant: which,
            policy,
            store,
        } => {
            let (policy, _, _) = load_policy(policy.as_deref())?;
            let time_zone = crate::serve_cmd::time_zone_of(&policy)?;
            let incident = ombud_app::breach::open(
                &policy,
                &time_zone,
                Opening {
                    title,
                    description,
                    aware_at,
                    occurred_at,
                    categories,
                    consequences,
                },
                now,
            )
            .map_err(refused)?;
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            let detail = ombud_app::breach::opened_detail(&incident);
            let saved = store.save_incident(tenant, &incident, "open", detail, &Actor::Cli, now)?;
            println!(
                "opened incident {}; notice is due {} ({})",
                saved.id,
                local(saved.deadline_at, &time_zone),
                time_left(&saved, now)
            );
        }
        BreachCommand::List {
            open,
            tenant: which,
            policy,
            store,
        } => {
            let (policy, _, _) = load_policy(policy.as_deref())?;
            let tz = crate::serve_cmd::time_zone_of(&policy)?;
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            let incidents = store.incidents(tenant, open)?;
            for incident in &incidents {
                println!("{}", line(incident, now, &tz));
            }
            println!(
                "{}",
                ombud_core::text::count(incidents.len() as u64, "incident", "incidents")
            );
        }
        BreachCommand::Show {
            id,
            tenant: which,
            policy,
            store,
        } => {
            let (policy, _, _) = load_policy(policy.as_deref())?;
            let tz = crate::serve_cmd::time_zone_of(&policy)?;
            let (store, tenant, incident) = load(&store, &which, &id)?;
            let id = incident.id;
            println!("{}", line(&incident, now, &tz));
            println!("{}", incident.description);
            for step in store.incident_timeline(tenant, id)? {
                println!(
                    "  {}  {:<8}  {}  {}",
                    local(step.at, &tz),
                    step.kind,
                    step.actor,
                    step.detail
                );
            }
        }
        BreachCommand::Scope {
            id,
            key,
            categories,
            from,
            until,
            customers,
            tenant: which,
            policy,
            store,
        } => {
            let (policy, _, _) = load_policy(policy.as_deref())?;
            let (store, tenant, incident) = load(&store, &which, &id)?;
            // The console is the operator's: from its own tenant it sees every customer.
            let visible = if store.tenant(tenant)?.is_some_and(|t| t.operator) {
                store.tenants()?
            } else {
                store.tenant(tenant)?.into_iter().collect()
            };
            let ask = ombud_app::breach::ScopeAsk {
                key,
                categories,
                tenants: customers,
                from,
                until: until.unwrap_or(now),
            };
            let scoped = ombud_app::breach::scope(
                store.as_ref(),
                &policy,
                tenant,
                incident.id,
                ask,
                visible,
                &Actor::Cli,
                now,
            )
            .map_err(|error| match error {
                ombud_app::breach::ScopeError::Refused(field, message) => refused((field, message)),
                ombud_app::breach::ScopeError::Store(ombud_store::StoreError::Conflict(_)) => {
                    anyhow!(
                        "incident {} is closed; a closed incident keeps its scope",
                        incident.id
                    )
                }
                ombud_app::breach::ScopeError::Store(error) => error.into(),
            })?;
            let impact = scoped.impact.unwrap_or_default();
            println!(
                "scoped incident {}: {} and {} in {}",
                scoped.id,
                ombud_core::text::count(impact.subjects, "person", "people"),
                ombud_core::text::records(impact.records),
                ombud_core::text::count(impact.tenants.len() as u64, "tenant", "tenants"),
            );
            for reached in &impact.tenants {
                println!(
                    "  {}: {}",
                    reached.name,
                    ombud_core::text::count(reached.subjects, "person", "people")
                );
                for category in &reached.categories {
                    println!(
                        "    {:<32}  {}",
                        category.category,
                        ombud_core::text::records(category.records)
                    );
                }
            }
            if impact.high_risk {
                println!(
                    "special categories or identity numbers were reached: a high risk to people is likely (Art. 34), tell them unless an exemption applies"
                );
            }
        }
        BreachCommand::Draft {
            id,
            party,
            tenant: which,
            policy,
            store,
        } => {
            let (policy, _, _) = load_policy(policy.as_deref())?;
            let time_zone = crate::serve_cmd::time_zone_of(&policy)?;
            let party = Party::parse(&party).map_err(notice_refused)?;
            let (_, _, incident) = load(&store, &which, &id)?;
            let drafts =
                ombud_app::notify::drafts(&policy, &time_zone, &incident, party, None, None)
                    .map_err(notice_refused)?;
            for draft in drafts {
                println!("Subject: {}\n\n{}", draft.subject, draft.text);
            }
        }
        BreachCommand::Notify {
            id,
            party,
            customers,
            delay_reason,
            tenant: which,
            policy,
            store,
        } => {
            let (policy, _, _) = load_policy(policy.as_deref())?;
            let time_zone = crate::serve_cmd::time_zone_of(&policy)?;
            let party = Party::parse(&party).map_err(notice_refused)?;
            let customers: Vec<ombud_store::model::TenantId> =
                crate::notice_cmd::ids("--customer", &customers)?;
            let (store, tenant, incident) = load(&store, &which, &id)?;
            let operator = crate::admin_cmd::tenant(store.as_ref(), "operator")?;
            let given = incident.notifications.len();
            let (saved, _) = ombud_app::notify::send(
                store.as_ref(),
                &policy,
                &time_zone,
                operator,
                tenant,
                incident,
                party,
                (!customers.is_empty()).then_some(customers.as_slice()),
                delay_reason.as_deref(),
                &Actor::Cli,
                now,
            )
            .map_err(notice_refused)?;
            for given in &saved.notifications[given..] {
                println!(
                    "notified {} {} (part {}): {} queued, {}{}",
                    given.party,
                    given.tenant.map(|t| t.to_string()).unwrap_or_default(),
                    given.phase,
                    given.recipients,
                    given.against_deadline,
                    if given.late { ", LATE" } else { "" }
                );
            }
        }
        BreachCommand::Close {
            id,
            measures,
            consequences,
            tenant: which,
            store,
        } => {
            let (store, tenant, incident) = load(&store, &which, &id)?;
            let id = incident.id;
            let closed = ombud_app::breach::close(
                incident,
                measures.as_deref(),
                consequences.as_deref(),
                now,
            )
            .map_err(refused)?;
            let detail = ombud_app::breach::closed_detail(&closed);
            store.save_incident(tenant, &closed, "close", detail, &Actor::Cli, now)?;
            println!("closed incident {id}; it stays in the register");
        }
    }
    Ok(ExitCode::SUCCESS)
}
