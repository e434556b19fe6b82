//! `ombud promises check`: the running system against the notice rendered from the policy.
//! Prints each broken promise with the sentence it breaks, the count and where to look (ids
//! and names, never values), records the run in the audit log, and exits 1 when anything is
//! broken, so it can run from cron or the operator's CI.

use crate::admin_cmd::StoreArgs;
use crate::serve_cmd::load_policy;
use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use ombud_app::clock::SystemClock;
use ombud_app::promises::{self, PromiseReport};
use ombud_core::Clock;
use ombud_store::Actor;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum PromisesCommand {
    /// Check every promise of the notice against the store and the connected datasets
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// text, json (the schema is in docs/promises.md) or html (a self-contained page)
    #[arg(long, default_value = "text")]
    format: String,
    /// Rows sampled per table when looking for undeclared personal data, 1 to 100000
    #[arg(long, default_value_t = ombud_connect::discover::DEFAULT_SAMPLE)]
    sample: usize,
    /// The SMTP server `ombud serve` sends through, as it is given there: its host must be a
    /// recipient's (`hosts`). Only the host is read and shown
    #[arg(long, env = "OMBUD_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// The policy in force
    #[arg(long, env = "OMBUD_POLICY")]
    policy: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn run(command: PromisesCommand) -> Result<ExitCode> {
    let PromisesCommand::Check(args) = command;
    if !matches!(args.format.as_str(), "text" | "json" | "html") {
        bail!("--format {}: give text, json or html", args.format);
    }
    if !(1..=ombud_connect::discover::MAX_SAMPLE).contains(&args.sample) {
        bail!(
            "--sample {}: give the rows to sample per table, 1 to {}",
            args.sample,
            ombud_connect::discover::MAX_SAMPLE
        );
    }
    let (policy, _, _) = load_policy(args.policy.as_deref())?;
    let connectors = crate::datasets_cmd::connectors_for(&policy, args.policy.as_deref())?;
    let time_zone = crate::serve_cmd::time_zone_of(&policy)?;
    let store = args.store.open()?;
    let now = SystemClock.now();
    let datasets = (!connectors.datasets().is_empty()).then_some(promises::Datasets {
        connectors: &connectors,
        sample: args.sample,
    });
    let outbound: Vec<promises::Outbound> = args
        .smtp_url
        .as_deref()
        .and_then(promises::Outbound::smtp)
        .into_iter()
        .collect();
    let report = promises::check(
        store.as_ref(),
        &policy,
        &time_zone,
        datasets,
        &outbound,
        now,
    )
    .map_err(|e| anyhow!(e))?;
    // The run is on record in the operator's log, with its counts.
    promises::record(store.as_ref(), &report, &Actor::Cli, now)?;
    match args.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&report)?),
        "html" => println!(
            "{}",
            promises::html(&report, &policy.controller.name, &time_zone)
        ),
        _ => print_text(&report),
    }
    Ok(if report.broken.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_text(report: &PromiseReport) {
    for broken in &report.broken {
        println!(
            "BROKEN {}: {} ({})\n  the notice says: {}",
            broken.promise,
            broken.what,
            broken.place.describe(),
            broken.sentence
        );
    }
    let kept = report.counts().iter().filter(|(_, n)| *n == 0).count();
    println!(
        "{} of {} promises kept{}",
        kept,
        report.checked.len(),
        if report.broken.is_empty() {
            String::new()
        } else {
            format!(", {} broken", report.checked.len() - kept)
        }
    );
}
