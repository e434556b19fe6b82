//! `ombud sweep [--dry-run]`: removes what has outlived its retention, as the server's sweeper
//! does on its schedule; with `--dry-run`, lists what would go and why, and removes nothing.
//! `ombud retention forecast`: what leaves when, under which rule. `ombud retention review`:
//! who is due for review; `ombud retention decide`: keep them for another period or delete them.

use crate::admin_cmd::{StoreArgs, tenant};
use crate::serve_cmd::load_policy;
use anyhow::{Result, anyhow, bail};
use clap::Args;
use jiff::tz::TimeZone;
use ombud_app::clock::SystemClock;
use ombud_app::sweeper::{Removal, ReviewDecision, ReviewRefusal, Sweep, SweepReport};
use ombud_core::Clock;
use ombud_core::access::DataRole;
use ombud_core::text::{count, records};
use ombud_store::Actor;
use ombud_store::model::SubjectId;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// List what would be removed, and by which rule; remove nothing
    #[arg(long)]
    dry_run: bool,
    /// Only this tenant (an id, or `operator`); every tenant by default
    #[arg(long)]
    tenant: Option<String>,
    /// The policy whose retention rules apply
    #[arg(long, env = "OMBUD_POLICY")]
    policy: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn run(args: SweepArgs) -> Result<ExitCode> {
    let (policy, origin, _) = load_policy(args.policy.as_deref())?;
    let connectors = crate::datasets_cmd::connectors_for(&policy, args.policy.as_deref())?;
    let time_zone = crate::serve_cmd::time_zone_of(&policy)?;
    let (store, master) = args.store.open_with_key()?;
    let secrets = ombud_app::secrets::Secrets::from_master(&master);
    drop(master);
    let now = SystemClock.now();
    let tenants = match &args.tenant {
        Some(which) => {
            let id = tenant(store.as_ref(), which)?;
            store.tenant(id)?.into_iter().collect()
        }
        None => store.tenants()?,
    };
    if args.dry_run {
        println!("dry run: nothing is removed (policy: {origin})");
    }
    let print = |removal: &Removal| {
        if args.dry_run {
            println!(
                "{:<36}  {:<36}  {:<28}  {:<28}  {}",
                removal.subject,
                removal.record,
                removal.category,
                removal.rule,
                crate::serve_cmd::local_time(removal.ended_at, &time_zone)
            );
        }
    };
    // The operator's own tables first, while the vault still knows the people whose rows
    // rules counted from an event find there (the vault's sweep may remove them).
    let mut run = ombud_app::receipts::SweepRun::new();
    if !connectors.datasets().is_empty() {
        let swept = ombud_app::datasets::sweep(
            &connectors,
            &policy,
            store.as_ref(),
            &time_zone,
            now,
            args.dry_run,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        run.tables(&store.tenants()?, &swept, now);
        tables(
            &swept,
            if args.dry_run { "would" } else { "did" },
            &time_zone,
        );
    }
    if args.dry_run {
        println!(
            "{:<36}  {:<36}  {:<28}  {:<28}  ended",
            "subject", "record", "category", "rule"
        );
    }
    for tenant in tenants {
        let sweep = Sweep {
            store: store.as_ref(),
            policy: &policy,
            time_zone: &time_zone,
            tenant: tenant.id,
            data_role: DataRole::of_tenant(tenant.operator),
            now,
            dry_run: args.dry_run,
        };
        let report = sweep.run(|removal| {
            print(removal);
            run.removed(tenant.id, removal, now);
        })?;
        run.report(tenant.id, &report, now);
        summary(&tenant.name, tenant.id, &report, args.dry_run);
    }
    if !args.dry_run {
        let issued = ombud_app::receipts::issue_sweep_run(
            store.as_ref(),
            &secrets,
            &policy,
            &time_zone,
            run,
            now,
        )?;
        if issued > 0 {
            println!(
                "{} of this sweep signed (GET /api/v1/receipts?kind=sweep lists them)",
                count(issued as u64, "receipt", "receipts")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per dataset table: what retention did (or would do) there, or why it left it.
fn tables(swept: &[ombud_app::datasets::CollectionSweep], verb: &str, time_zone: &TimeZone) {
    let day = |at: jiff::Timestamp| crate::serve_cmd::local_time(at, time_zone);
    for table in swept {
        let whose = table
            .tenant
            .as_deref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        let name = format!("{}.{}{whose}", table.dataset, table.collection);
        let rules = table.rules.join(", ");
        match (&table.skipped, table.people) {
            (Some(why), _) => println!("{name}: left alone: {why}"),
            (None, Some(people)) => println!(
                "{name}: {verb} {} {} of {} whose period ended{} ({rules})",
                table.action,
                count(table.rows, "row", "rows"),
                count(people, "person", "people"),
                table
                    .before
                    .map(|b| format!(", rows dated before {}", day(b)))
                    .unwrap_or_default(),
            ),
            (None, None) => println!(
                "{name}: {verb} {} {} dated before {} ({rules})",
                table.action,
                count(table.rows, "row", "rows"),
                table.before.map_or_else(|| "nothing yet".into(), day),
            ),
        }
    }
}

fn summary(name: &str, id: ombud_store::model::TenantId, report: &SweepReport, dry_run: bool) {
    let verb = if dry_run { "would remove" } else { "removed" };
    println!(
        "tenant {id} ({name}): {verb} {} ({} whole)",
        records(report.records),
        count(report.subjects, "subject", "subjects")
    );
    for (rule, count) in &report.by_rule {
        println!("  {rule}: {count}");
    }
    if report.audit_pruned > 0 {
        println!(
            "  audit log: {verb} {} entries older than [audit] keep (a checkpoint keeps the rest verifiable)",
            report.audit_pruned
        );
    }
    if report.due_for_review > 0 {
        println!(
            "  {} past their review date (kept until reviewed)",
            count(report.due_for_review, "record is", "records are")
        );
    }
    if report.restricted > 0 {
        println!(
            "  {} kept: their subjects asked for restriction",
            records(report.restricted)
        );
    }
}

/// Where a retention command looks: the tenant, the policy and the store.
#[derive(Debug, Args)]
pub struct Scope {
    /// The tenant (an id, or `operator`)
    #[arg(long, default_value = "operator")]
    tenant: String,
    /// The policy whose retention rules apply
    #[arg(long, env = "OMBUD_POLICY")]
    policy: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Decision {
    /// Still needed: the review period starts again from now
    Keep,
    /// No longer needed: removed now where no other purpose or hold keeps it
    Delete,
}

#[derive(Debug, clap::Subcommand)]
pub enum RetentionCommand {
    /// What leaves when over the coming days, per category and rule; removes nothing
    Forecast {
        /// How many days ahead (1 to 3650)
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(i64).range(1..=3650))]
        days: i64,
        #[command(flatten)]
        scope: Scope,
    },
    /// Records a review rule keeps (prospects) whose review falls due within the window
    Review {
        /// How many days ahead (0 for those due now, up to 3650)
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..=3650))]
        days: i64,
        #[command(flatten)]
        scope: Scope,
    },
    /// Decide a review: keep the subject's data for another period, or delete it now
    Decide {
        /// The subject reviewed (an id from `ombud retention review`)
        subject: String,
        /// keep or delete
        #[arg(value_enum)]
        decision: Decision,
        /// Decide for this purpose only (an activity id); every purpose under review by default
        #[arg(long)]
        purpose: Option<String>,
        #[command(flatten)]
        scope: Scope,
    },
}

pub fn retention(command: RetentionCommand) -> Result<ExitCode> {
    let (days, scope) = match &command {
        RetentionCommand::Forecast { days, scope } | RetentionCommand::Review { days, scope } => {
            (*days, scope)
        }
        RetentionCommand::Decide { scope, .. } => (0, scope),
    };
    let (policy, _, _) = load_policy(scope.policy.as_deref())?;
    let time_zone = crate::serve_cmd::time_zone_of(&policy)?;
    let store = scope.store.open()?;
    let id = tenant(store.as_ref(), &scope.tenant)?;
    let operator = store.tenant(id)?.is_some_and(|t| t.operator);
    let now = SystemClock.now();
    let sweep = Sweep {
        store: store.as_ref(),
        policy: &policy,
        time_zone: &time_zone,
        tenant: id,
        data_role: DataRole::of_tenant(operator),
        now,
        dry_run: !matches!(command, RetentionCommand::Decide { .. }),
    };
    if let RetentionCommand::Decide {
        subject,
        decision,
        purpose,
        ..
    } = &command
    {
        if !operator {
            bail!(
                "tenant {id} is the controller of its data and decides its reviews; it can do so with its own API key (POST /api/v1/retention/reviews)"
            );
        }
        if let Some(purpose) = purpose
            && policy.activity(purpose).is_none()
        {
            bail!("--purpose: `{purpose}` is not an activity of the policy");
        }
        let subject = subject.trim().parse().map(SubjectId).map_err(|_| {
            anyhow!("`{subject}` is not a subject id; `ombud retention review` lists them")
        })?;
        let decision = match decision {
            Decision::Keep => ReviewDecision::Keep,
            Decision::Delete => ReviewDecision::Delete,
        };
        let outcome = match sweep.decide_review(subject, purpose.as_deref(), decision, &Actor::Cli)
        {
            Ok(outcome) => outcome,
            Err(ReviewRefusal::Store(error)) => return Err(error.into()),
            Err(refusal) => bail!("{refusal}"),
        };
        match decision {
            ReviewDecision::Keep => println!(
                "kept; next review due {}",
                outcome.next_review.map_or("-".into(), |due| due
                    .to_zoned(time_zone.clone())
                    .strftime("%Y-%m-%d")
                    .to_string())
            ),
            ReviewDecision::Delete => println!(
                "deleted {}{}",
                records(outcome.removed),
                if outcome.subject_deleted {
                    "; nothing else kept the subject, so it is gone (a tombstone remains)"
                } else {
                    ""
                }
            ),
        }
        if outcome.still_kept > 0 {
            println!(
                "{} kept by a legal hold or a restriction; the sweeper removes what the decision let go of once that ends",
                count(outcome.still_kept, "record is", "records are")
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let review = matches!(command, RetentionCommand::Review { .. });
    if review {
        let due = sweep.reviews(days)?;
        let day = |at: jiff::Timestamp| {
            at.to_zoned(time_zone.clone())
                .strftime("%Y-%m-%d")
                .to_string()
        };
        println!(
            "{:<36}  {:<36}  {:<28}  {:<20}  {:<10}  goes unreviewed",
            "subject", "record", "category", "rule", "due"
        );
        for item in &due {
            println!(
                "{:<36}  {:<36}  {:<28}  {:<20}  {:<10}  {}",
                item.subject,
                item.record,
                item.category,
                item.rule,
                day(item.due),
                item.lapses.map_or("kept".to_owned(), day)
            );
        }
        let overdue = due.iter().filter(|r| r.due <= now).count();
        println!(
            "{} due for review within {days} days ({overdue} overdue: past their review date)",
            records(due.len() as u64)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let forecast = sweep.forecast(days)?;
    println!(
        "{:<10}  {:>8}  {:<28}  {:<28}  {:<24}  action",
        "date", "records", "category", "rule", "purpose"
    );
    for row in &forecast.rows {
        println!(
            "{:<10}  {:>8}  {:<28}  {:<28}  {:<24}  {}",
            row.date, row.records, row.category, row.rule, row.purpose, row.action
        );
    }
    let leaving: u64 = forecast.rows.iter().map(|r| r.records).sum();
    println!(
        "{} in the next {days} days",
        count(leaving, "record leaves", "records leave")
    );
    let connectors = crate::datasets_cmd::connectors_for(&policy, scope.policy.as_deref())?;
    if !connectors.datasets().is_empty() {
        let requester = match store.tenant(id)? {
            Some(t) => ombud_connect::reach::Requester {
                tenant_id: t.id.to_string(),
                tenant_name: t.name,
                operator: t.operator,
            },
            None => bail!("tenant {id} is not in the store"),
        };
        let swept = ombud_app::datasets::forecast(
            &connectors,
            &policy,
            store.as_ref(),
            &time_zone,
            now,
            days,
        )
        .map_err(|e| anyhow!("{e}"))?;
        // The tenant's tables only: in a shared database, its own rows.
        let mine: Vec<_> = swept
            .into_iter()
            .filter(|t| {
                connectors
                    .dataset(&t.dataset)
                    .and_then(|d| requester.scope(d))
                    .is_some_and(|scope| {
                        scope.is_none() || t.tenant.as_deref() == Some(&requester.tenant_name)
                    })
            })
            .collect();
        println!("in the operator's own databases, within {days} days:");
        tables(&mine, "would", &time_zone);
    }
    if forecast.expired > 0 {
        println!(
            "{} past their end already; the next sweep removes them",
            count(forecast.expired, "record is", "records are")
        );
    }
    if forecast.reviews > 0 {
        println!(
            "{} up for review (kept until reviewed)",
            count(forecast.reviews, "record comes", "records come")
        );
    }
    if forecast.restricted > 0 {
        println!(
            "{} kept: their subjects asked for restriction",
            count(forecast.restricted, "record is", "records are")
        );
    }
    if !forecast.kept_with_no_end.is_empty() {
        println!("kept with no end yet:");
        for row in &forecast.kept_with_no_end {
            println!(
                "  {:>8}  {:<28}  {}",
                row.records, row.category, row.explanation
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
