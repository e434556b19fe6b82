//! `ombud holds create|list|release`: legal holds at the console, with the checks the API makes.

use crate::admin_cmd::{StoreArgs, tenant};
use crate::serve_cmd::load_policy;
use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use jiff::Timestamp;
use ombud_app::clock::SystemClock;
use ombud_app::sweeper::check_hold;
use ombud_core::Clock;
use ombud_store::Actor;
use ombud_store::retention::HoldId;
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
        #[arg(long, env = "OMBUD_POLICY")]
        policy: Option<PathBuf>,
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
            let ends_at = ends_at
                .map(|e| {
                    e.parse::<Timestamp>()
                        .map_err(|error| anyhow!("--ends-at: `{e}` is not an RFC 3339 time ({error}); write e.g. 2027-01-01T00:00:00Z"))
                })
                .transpose()?;
            // The policy matters only to a hold on a category.
            let policy = category
                .as_ref()
                .map(|_| load_policy(policy.as_deref()))
                .transpose()?;
            let known = |c: &str| {
                policy
                    .as_ref()
                    .is_some_and(|(p, _, _)| p.category(c).is_some())
            };
            let hold = check_hold(
                known,
                &reason,
                &note,
                subject.as_deref(),
                category,
                ends_at,
                now,
            )
            .map_err(|(field, message)| anyhow!("--{}: {message}", field.replace('_', "-")))?;
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            if let Some(subject) = hold.subject
                && !store.subject_exists(tenant, subject)?
            {
                bail!("--subject: no subject {subject} in tenant {tenant}");
            }
            let hold = store.create_hold(tenant, &hold, &Actor::Cli, now)?;
            println!("placed hold {} ({})", hold.id, hold.reason.as_str());
        }
        HoldsCommand::List {
            active,
            tenant: which,
            store,
        } => {
            let tz = crate::serve_cmd::console_zone()?;
            // A hold's end is a moment; its day is the controller's, not UTC's.
            let day = |at: Timestamp| at.to_zoned(tz.clone()).strftime("%Y-%m-%d %Z").to_string();
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            println!(
                "{:<36}  {:<22}  {:<36}  {:<24}  {:<24}  note",
                "id", "reason", "subject", "category", "state"
            );
            for hold in store.holds(tenant, active.then_some(now))? {
                let state = match (hold.released_at, hold.ends_at) {
                    (Some(at), _) => format!("released {}", day(at)),
                    (None, Some(end)) if end <= now => format!("ended {}", day(end)),
                    (None, Some(end)) => format!("until {}", day(end)),
                    (None, None) => "open".to_owned(),
                };
                println!(
                    "{:<36}  {:<22}  {:<36}  {:<24}  {:<24}  {}",
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
