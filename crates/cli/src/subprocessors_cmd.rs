//! `ombud subprocessors list|changes|objections`: the sub-processor registry at the console,
//! with the rules the API applies. `changes` drafts the change notice from the previous policy
//! version; `--send` sends it.

use crate::admin_cmd::{StoreArgs, tenant};
use crate::serve_cmd::load_policy;
use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use ombud_app::clock::SystemClock;
use ombud_app::notices::NoticeError;
use ombud_core::Clock;
use ombud_store::Actor;
use ombud_store::subprocessors::ChangeId;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum SubprocessorsCommand {
    /// A tenant's sub-processors (the operator's: the whole registry)
    List {
        #[arg(long, default_value = "operator")]
        tenant: String,
        #[arg(long, env = "OMBUD_POLICY")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Draft the change notice from an earlier policy version to this one; --send sends it
    Changes {
        /// The version customers last agreed to; the newest kept one before this when absent
        #[arg(long)]
        since: Option<String>,
        /// Send it to the customers concerned (otherwise only show it)
        #[arg(long)]
        send: bool,
        /// The day (YYYY-MM-DD) the changes take effect, at least the objection window away;
        /// until then the registry keeps the earlier version. At once when absent
        #[arg(long)]
        effective: Option<jiff::civil::Date>,
        #[arg(long, env = "OMBUD_POLICY")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The objections raised to a change notice
    Objections {
        change: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn refused(error: NoticeError) -> anyhow::Error {
    match error {
        NoticeError::Invalid {
            field: "since",
            message,
        } => anyhow!("--since: {message}"),
        NoticeError::Invalid {
            field: "effective",
            message,
        } => anyhow!("--effective: {message}"),
        NoticeError::Invalid { message, .. } => anyhow!("{message}"),
        NoticeError::Store(e) => e.into(),
    }
}

pub fn run(command: SubprocessorsCommand) -> Result<ExitCode> {
    let now = SystemClock.now();
    match command {
        SubprocessorsCommand::List {
            tenant: which,
            policy,
            store,
        } => {
            let (policy, _, _) = load_policy(policy.as_deref())?;
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            let operator = crate::admin_cmd::tenant(store.as_ref(), "operator")?;
            let entries = if tenant == operator {
                ombud_app::subprocessors::registry(&policy)
            } else {
                let chosen: Vec<String> = store
                    .selected_recipients(tenant)?
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                ombud_app::subprocessors::for_customer(&policy, &chosen)
            };
            for e in &entries {
                println!(
                    "{:<20}  {:<24}  {:<16}  {}{}",
                    e.id,
                    e.name,
                    e.country_name
                        .clone()
                        .or(e.country.clone())
                        .unwrap_or_default(),
                    e.purpose,
                    if e.chosen_by_customer {
                        "  (optional)"
                    } else {
                        ""
                    }
                );
            }
            println!("{} sub-processors", entries.len());
        }
        SubprocessorsCommand::Changes {
            since,
            send,
            effective,
            policy,
            store,
        } => {
            let (policy, _, _) = load_policy(policy.as_deref())?;
            let time_zone = crate::serve_cmd::time_zone_of(&policy)?;
            let store = store.open()?;
            let operator = tenant(store.as_ref(), "operator")?;
            let old = ombud_app::subprocessors::previous(
                store.as_ref(),
                operator,
                &policy,
                since.as_deref(),
            )
            .map_err(refused)?;
            let draft = ombud_app::subprocessors::draft(
                store.as_ref(),
                &policy,
                &old,
                effective,
                &time_zone,
                now,
            )
            .map_err(refused)?;
            for change in &draft.changes {
                println!("[{}] {}: {}", change.code, change.recipient, change.summary);
            }
            for tenant in &draft.tenants {
                println!(
                    "\n--- to {} ({})\nSubject: {}\n\n{}",
                    tenant.name, tenant.tenant, tenant.subject, tenant.text
                );
            }
            if send {
                let change = ombud_app::subprocessors::send(
                    store.as_ref(),
                    operator,
                    draft,
                    &Actor::Cli,
                    now,
                )
                .map_err(refused)?;
                println!(
                    "sent change notice {} to {} customers",
                    change.id,
                    change.told.len()
                );
            } else {
                println!(
                    "{} customers concerned; nothing sent (add --send)",
                    draft.tenants.len()
                );
            }
        }
        SubprocessorsCommand::Objections { change, store } => {
            let id: ChangeId = change
                .parse()
                .map(ChangeId)
                .map_err(|_| anyhow!("`{change}` is not a change notice id (a UUID)"))?;
            let store = store.open()?;
            let operator = tenant(store.as_ref(), "operator")?;
            if store.recipient_change(operator, id)?.is_none() {
                bail!("no change notice {id}");
            }
            let tz = crate::serve_cmd::console_zone()?;
            let objections = store.change_objections(operator, id)?;
            for o in &objections {
                println!(
                    "{}  {}  {:<16}  {}",
                    crate::serve_cmd::local_time(o.at, &tz),
                    o.tenant,
                    o.recipient,
                    o.reason
                );
            }
            println!(
                "{}",
                ombud_core::text::count(objections.len() as u64, "objection", "objections")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
