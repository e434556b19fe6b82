//! `ombud subjects find`: the console's way to a person, by any identity normalised as the
//! API does it. It shows what ombud holds about them in counts, kinds and dates, never a
//! record's value; identities are masked. Each lookup that finds someone is audited as a read
//! of who they are.

use crate::admin_cmd::{StoreArgs, tenant};
use anyhow::{Result, anyhow};
use clap::Subcommand;
use jiff::tz::TimeZone;
use ombud_app::clock::SystemClock;
use ombud_core::{Clock, Identity, IdentityKind};
use ombud_store::audit::NewAuditEntry;
use ombud_store::model::{SubjectId, Tenant};
use ombud_store::requests::RequestFilter;
use ombud_store::{Actor, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum SubjectsCommand {
    /// Find a person by an identity: `email:ana@example.com`, `phone:+358401234567`,
    /// `national_id:…`, `customer_no:…`, `user_id:…`, or a bare address or number
    Find {
        identity: String,
        /// The tenant to look in: a tenant id, or `operator`
        #[arg(long, default_value = "operator", conflicts_with = "all_tenants")]
        tenant: String,
        /// Look in every tenant (operator staff)
        #[arg(long)]
        all_tenants: bool,
        /// The policy whose controller's country completes a phone number written without
        /// its country code, and whose time zone dates are shown in
        #[arg(long, env = "OMBUD_POLICY")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn run(command: SubjectsCommand) -> Result<ExitCode> {
    match command {
        SubjectsCommand::Find {
            identity,
            tenant: which,
            all_tenants,
            policy,
            store,
        } => {
            let (policy, _, _) = crate::serve_cmd::load_policy(policy.as_deref())?;
            let tz = crate::serve_cmd::time_zone_of(&policy)?;
            let identity = parse(&identity, &policy.controller.country)?;
            let store = store.open()?;
            let tenants: Vec<Tenant> = if all_tenants {
                store.tenants()?
            } else {
                let id = tenant(store.as_ref(), &which)?;
                store.tenant(id)?.into_iter().collect()
            };
            let mut found = 0;
            for tenant in &tenants {
                if let Some(subject) = store.find_subject(tenant.id, &identity)? {
                    found += 1;
                    show(store.as_ref(), tenant, subject, &tz)?;
                }
            }
            if found == 0 {
                let place = if all_tenants {
                    "in any tenant".to_owned()
                } else {
                    format!("in {}", tenants.first().map_or("", |t| t.name.as_str()))
                };
                println!("nobody with that {} {place}", identity.kind().as_str());
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An identity as typed: `kind:value`, or a bare address (email) or number (phone).
fn parse(text: &str, country: &str) -> Result<Identity> {
    let text = text.trim();
    let tagged = text
        .split_once(':')
        .and_then(|(kind, value)| IdentityKind::parse(kind.trim()).map(|kind| (kind, value)));
    let (kind, value) = match tagged {
        Some(found) => found,
        None if text.contains('@') => (IdentityKind::Email, text),
        None if text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c)) =>
        {
            (IdentityKind::Phone, text)
        }
        None => {
            return Err(anyhow!(
                "`{text}`: say which kind of identity it is, like email:…, phone:…, national_id:…, customer_no:… or user_id:…"
            ));
        }
    };
    Identity::parse_in(kind, value, country).map_err(|e| anyhow!("{e}"))
}

fn show(store: &dyn Store, tenant: &Tenant, id: SubjectId, tz: &TimeZone) -> Result<()> {
    let now = SystemClock.now();
    let Some(subject) = store.subject(tenant.id, id)? else {
        return Ok(());
    };
    // Looking a person up at the console is a read of who they are, as the API's is.
    store.append_audit(
        tenant.id,
        NewAuditEntry {
            actor: Actor::Cli.audit_name(),
            action: "subject.read".into(),
            subject: Some(id),
            categories: vec![],
            purpose: None,
            detail: Some("console lookup".into()),
        },
        now,
    )?;
    let day = |at: jiff::Timestamp| ombud_app::mail::day(at, tz);
    println!("subject     {id}");
    println!(
        "tenant      {} ({})",
        tenant.name,
        if tenant.operator {
            "the operator's own"
        } else {
            "a customer's"
        }
    );
    println!("since       {}", day(subject.created_at));
    let identities: Vec<String> = subject
        .identities
        .iter()
        .map(|i| format!("{} {}", i.kind().as_str(), i.masked()))
        .collect();
    println!("identities  {}", identities.join(", "));
    let mut categories: BTreeMap<String, u64> = BTreeMap::new();
    for record in store.records(tenant.id, id)? {
        *categories.entry(record.category).or_default() += 1;
    }
    let total: u64 = categories.values().sum();
    println!("records     {}", ombud_core::text::records(total));
    for (category, n) in &categories {
        println!("  {category:<40}  {n}");
    }
    let events = store.events(tenant.id, id)?;
    if !events.is_empty() {
        println!("events");
        for event in &events {
            println!(
                "  {:<20}  {}{}",
                event.kind.as_str(),
                day(event.occurred_at),
                event
                    .purpose
                    .as_deref()
                    .map_or(String::new(), |p| format!("  ({p})"))
            );
        }
    }
    let open = store.requests(
        tenant.id,
        &RequestFilter {
            open: true,
            limit: 1000,
            ..RequestFilter::default()
        },
    )?;
    let theirs: Vec<_> = open.iter().filter(|r| r.subject == Some(id)).collect();
    if !theirs.is_empty() {
        println!("open requests");
        for request in theirs {
            println!(
                "  {}  {:<18}  {}",
                request.id,
                request.kind.as_str(),
                request.due_at.map_or_else(
                    || "due once verified".to_owned(),
                    |at| format!("due by {}", ombud_app::mail::by_the_end_of(at, tz)),
                )
            );
        }
    }
    println!();
    Ok(())
}
