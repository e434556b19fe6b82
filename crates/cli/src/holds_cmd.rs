//! `ombud holds create|list|release`: legal holds at the console, with the checks the API makes.

use crate::admin_cmd::{StoreArgs, tenant};
use crate::serve_cmd::load_policy;
use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use jiff::Timestamp;
use ombud_core::Clock;
use ombud_server::state::SystemClock;
use ombud_store::Actor;
use ombud_store::model::SubjectId;
use ombud_store::retention::{HoldId, HoldReason, NewHold};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum HoldsCommand {
    /// Place a hold: the data it covers outlives its retention and erasure until released
    Create {
        /// legal_obligation, legal_claim or security_investigation
        #[arg(long)]
        reason: String,
        /// Why (a case reference); never personal data
        #[arg(long)]
        note: String,
        /// Only this subject (an id); the whole tenant when absent
        #[arg(long)]
        subject: Option<String>,
        /// Only this category and those beneath it
        #[arg(long)]
        category: Option<String>,
        /// When it lapses by itself (RFC 3339, e.g. 2027-01-01T00:00:00Z); open-ended when absent
        #[arg(long)]
        ends_at: Option<String>,
        #[arg(long, default_value = "operator")]
        tenant: String,
        /// The policy whose categories a hold may name
        #[arg(long, env = "OMBUD_POLICY", default_value = "privacy.toml")]
        policy: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List holds, newest first
    List {
        /// Only holds in force now
        #[arg(long)]
        active: bool,
        #[arg(long, default_value = "operator")]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Release a hold in force
    Release {
        /// The hold id, from `ombud holds list`
        id: String,
        #[arg(long, default_value = "operator")]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn run(command: HoldsCommand) -> Result<ExitCode> {
    let now = SystemClock.now();
    match command {
        HoldsCommand::Create {
            reason,
            note,
            subject,
            category,
            ends_at,
            tenant: which,
            policy,
            store,
        } => {
            let reason = HoldReason::parse(reason.trim()).ok_or_else(|| {
                anyhow!("--reason: use legal_obligation, legal_claim or security_investigation")
            })?;
            let note = note.trim().to_owned();
            if note.is_empty() || note.chars().count() > 1000 {
                bail!(
                    "--note: say why in 1 to 1000 characters (a case reference, not personal data)"
                );
            }
            let ends_at = ends_at
                .map(|e| {
                    e.parse::<Timestamp>()
                        .map_err(|error| anyhow!("--ends-at: `{e}` is not an RFC 3339 time ({error}); write e.g. 2027-01-01T00:00:00Z"))
                })
                .transpose()?;
            if ends_at.is_some_and(|e| e <= now) {
                bail!("--ends-at: a hold ends in the future; leave it out for an open-ended hold");
            }
            let subject = subject
                .map(|s| {
                    s.parse()
                        .map(SubjectId)
                        .map_err(|_| anyhow!("--subject: `{s}` is not a subject id"))
                })
                .transpose()?;
            if let Some(category) = &category {
                let (policy, _, _) = load_policy(&policy)?;
                if policy.category(category).is_none() {
                    bail!("--category: `{category}` is not a category of the policy");
                }
            }
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            if let Some(subject) = subject
                && !store.subject_exists(tenant, subject)?
            {
                bail!("--subject: no subject {subject} in tenant {tenant}");
            }
            let hold = store.create_hold(
                tenant,
                &NewHold {
                    reason,
                    subject,
                    category,
                    note,
                    ends_at,
                },
                &Actor::Cli,
                now,
            )?;
            println!("placed hold {} ({})", hold.id, hold.reason.as_str());
        }
        HoldsCommand::List {
            active,
            tenant: which,
            store,
        } => {
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            println!(
                "{:<36}  {:<22}  {:<36}  {:<24}  {:<20}  note",
                "id", "reason", "subject", "category", "state"
            );
            for hold in store.holds(tenant, active.then_some(now))? {
                let state = match (hold.released_at, hold.ends_at) {
                    (Some(at), _) => format!("released {}", at.strftime("%Y-%m-%d")),
                    (None, Some(end)) if end <= now => {
                        format!("ended {}", end.strftime("%Y-%m-%d"))
                    }
                    (None, Some(end)) => format!("until {}", end.strftime("%Y-%m-%d")),
                    (None, None) => "open".to_owned(),
                };
                println!(
                    "{:<36}  {:<22}  {:<36}  {:<24}  {:<20}  {}",
                    hold.id,
                    hold.reason.as_str(),
                    hold.subject
                        .map_or_else(|| "every subject".into(), |s| s.to_string()),
                    hold.category.as_deref().unwrap_or("every category"),
                    state,
                    hold.note
                );
            }
        }
        HoldsCommand::Release {
            id,
            tenant: which,
            store,
        } => {
            let id: HoldId = id
                .parse()
                .map(HoldId)
                .map_err(|_| anyhow!("`{id}` is not a hold id; see `ombud holds list`"))?;
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            if !store.release_hold(tenant, id, &Actor::Cli, now)? {
                bail!("tenant {tenant} has no hold {id} in force");
            }
            println!("released hold {id}; the next sweep removes what it alone kept");
        }
    }
    Ok(ExitCode::SUCCESS)
}
