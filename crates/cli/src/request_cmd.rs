//! `ombud request …`: the data-subject request queue at the console, through the same rights
//! desk as the API, so the same rules hold: nothing runs before verification, one extension
//! while the first period runs, and in a customer's tenant the customer decides.

use crate::admin_cmd::{StoreArgs, tenant};
use crate::serve_cmd::load_policy;
use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ombud_app::clock::SystemClock;
use ombud_app::rights::{Desk, DeskError, Outcome};
use ombud_app::secrets::Secrets;
use ombud_core::Clock;
use ombud_core::requests::RequestStatus;
use ombud_policy::Duration;
use ombud_store::Actor;
use ombud_store::model::TenantId;
use ombud_store::requests::{DsRequest, RequestFilter, RequestId};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct DeskArgs {
    /// The tenant whose queue: a tenant id, or `operator` (the operator's own data)
    #[arg(long, default_value = "operator", global = true)]
    tenant: String,
    /// The policy the server runs with (deadlines, extension, verification methods)
    #[arg(long, env = "OMBUD_POLICY", global = true)]
    policy: Option<PathBuf>,
    /// The address people reach the server at, for the download link of an answer
    #[arg(
        long,
        env = "OMBUD_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    public_url: String,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// List requests, newest deadline last
    List {
        /// received, verified, in_progress, fulfilled or refused
        #[arg(long)]
        status: Option<String>,
        /// Only requests still open
        #[arg(long)]
        open: bool,
        /// Only open requests past their deadline
        #[arg(long)]
        overdue: bool,
        /// At most this many (1 to 1000)
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
        /// Every tenant's queue, each request labelled with its tenant, soonest deadline first
        #[arg(long, conflicts_with = "tenant")]
        all_tenants: bool,
        /// Only requests this colleague works on
        #[arg(long)]
        assignee: Option<String>,
        #[command(flatten)]
        desk: DeskArgs,
    },
    /// Give an open request to a colleague, or take it back with --nobody
    Assign {
        id: String,
        /// Who works it: a name or an address
        #[arg(long, conflicts_with = "nobody", required_unless_present = "nobody")]
        to: Option<String>,
        /// Leave it unassigned
        #[arg(long)]
        nobody: bool,
        #[command(flatten)]
        desk: DeskArgs,
    },
    /// Show one request: its state, deadlines and outcome
    Show {
        /// The request id
        id: String,
        #[command(flatten)]
        desk: DeskArgs,
    },
    /// What fulfilling an erasure would do in the tenant's datasets, table by table, without
    /// doing it
    Plan {
        /// The request id
        id: String,
        #[command(flatten)]
        desk: DeskArgs,
    },
    /// Confirm the person's identity: with the code they read out, or by hand where
    /// privacy.toml allows it
    Verify {
        id: String,
        /// The one-time code the person received
        #[arg(long, conflicts_with = "manual", required_unless_present = "manual")]
        code: Option<String>,
        /// Identity was checked another way (rights.verification must list `manual`)
        #[arg(long)]
        manual: bool,
        #[command(flatten)]
        desk: DeskArgs,
    },
    /// Send the person a new code when the last one expired or went astray; the request keeps
    /// the day it was received and its count of wrong tries
    Code {
        id: String,
        #[command(flatten)]
        desk: DeskArgs,
    },
    /// Extend the deadline once, while the first period runs; the person is told why
    Extend {
        id: String,
        /// Why more time is needed; sent to the person
        #[arg(long)]
        reason: String,
        /// How much longer, at most privacy.toml's rights.extension (e.g. "2 months")
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        desk: DeskArgs,
    },
    /// Carry a verified request out and send the answer; run again (or `retry`) to finish one
    /// that waited for a system that was down
    #[command(alias = "retry")]
    Fulfil {
        id: String,
        /// For an objection: compelling legitimate grounds that let one purpose go on
        /// (Art. 21(1)), as PURPOSE=GROUNDS; repeat for more. Every other purpose stops
        #[arg(long = "grounds", value_name = "PURPOSE=GROUNDS")]
        grounds: Vec<String>,
        #[command(flatten)]
        desk: DeskArgs,
    },
    /// Refuse a request; the reason and the right to complain go to the person
    Refuse {
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        desk: DeskArgs,
    },
}

struct Console {
    desk: Desk,
    tenant: TenantId,
    operator: bool,
}

impl DeskArgs {
    fn open(&self) -> Result<Console> {
        let (policy, _, _) = load_policy(self.policy.as_deref())?;
        let connectors = crate::datasets_cmd::connectors_for(&policy, self.policy.as_deref())?;
        let time_zone = crate::serve_cmd::time_zone_of(&policy)?;
        let (store, master) = self.store.open_with_key()?;
        let tenant = tenant(store.as_ref(), &self.tenant)?;
        let operator = store.tenant(tenant)?.is_some_and(|t| t.operator);
        let desk = Desk {
            store,
            policy: Arc::new(policy),
            time_zone,
            secrets: Arc::new(Secrets::from_master(&master)),
            public_url: self.public_url.trim_end_matches('/').to_owned(),
            connectors: Arc::new(connectors),
        };
        Ok(Console {
            desk,
            tenant,
            operator,
        })
    }
}

impl Console {
    /// The console acts for the operator: in a customer's tenant the customer is controller
    /// and decides, as an operator-wide API key may not either.
    fn may_decide(&self, doing: &str) -> Result<()> {
        if self.operator {
            Ok(())
        } else {
            bail!(
                "tenant {} is the controller of its data and decides on its requests; it can {doing} with its own API key",
                self.tenant
            )
        }
    }
}

fn request_id(text: &str) -> Result<RequestId> {
    text.parse()
        .map_err(|_| anyhow!("`{text}` is not a request id; see `ombud request list`"))
}

/// A refusal of the desk as the console says it: the flag to change, or the rule that holds.
fn refused(error: DeskError) -> anyhow::Error {
    match error {
        DeskError::Invalid { field, message } => anyhow!("--{field}: {message}"),
        DeskError::NotFound => anyhow!("no such request in this tenant; see `ombud request list`"),
        DeskError::Rule(ombud_core::RequestError::ReasonMissing) => {
            anyhow!("--reason: give the reason; the person is told it")
        }
        DeskError::Rule(rule @ ombud_core::RequestError::ExtensionTooLong(_)) => {
            anyhow!("--by: {rule}")
        }
        other => anyhow!("{other}"),
    }
}

/// A deadline in the words the person is told ("by the end of 27 December 2026 (CET)").
fn due(at: Option<Timestamp>, tz: &TimeZone) -> String {
    at.map_or_else(
        || "one month after the person confirms who they are".to_owned(),
        |at| format!("by {}", ombud_app::mail::by_the_end_of(at, tz)),
    )
}

/// `text` cut to `width` characters, with an ellipsis where it was cut.
fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}

fn when(at: Option<Timestamp>, tz: &TimeZone) -> String {
    at.map_or_else(|| "-".to_owned(), |at| crate::serve_cmd::local_time(at, tz))
}

fn print(request: &DsRequest, tz: &TimeZone, policy: &ombud_policy::Policy) {
    let rows: [(&str, String); 15] = [
        ("id", request.id.to_string()),
        ("kind", request.kind.as_str().to_owned()),
        ("status", request.status.as_str().to_owned()),
        ("channel", request.channel.clone()),
        (
            "assignee",
            request
                .assignee
                .clone()
                .unwrap_or_else(|| "nobody".to_owned()),
        ),
        ("received", when(Some(request.received_at), tz)),
        (
            "verified",
            match (&request.verified_by, request.verified_at) {
                (Some(by), at) => format!("{} ({by})", when(at, tz)),
                _ if request.locked => "no: locked after three wrong codes".to_owned(),
                _ => "no".to_owned(),
            },
        ),
        ("due", due(request.due_at, tz)),
        (
            "the law's limit",
            due(Some(ombud_app::mail::legal_due(policy, request, tz)), tz),
        ),
        (
            "overdue",
            if request.overdue_at.is_some() {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
        ),
        (
            "extended",
            match (&request.extension_reason, request.extended_at) {
                (Some(reason), at) => format!("{}: {reason}", when(at, tz)),
                _ => "no".to_owned(),
            },
        ),
        (
            "subject",
            request
                .subject
                .map_or_else(|| "not found".to_owned(), |s| s.to_string()),
        ),
        (
            "purpose",
            request.purpose.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        ("closed", when(request.closed_at, tz)),
        (
            "refused because",
            request
                .refusal_reason
                .clone()
                .unwrap_or_else(|| "-".to_owned()),
        ),
    ];
    for (name, value) in rows {
        println!("{name:<16} {value}");
    }
    if let Some(outcome) = request
        .outcome
        .as_deref()
        .and_then(|o| serde_json::from_str::<Outcome>(o).ok())
    {
        print_outcome(&outcome, tz);
    }
}

fn print_outcome(outcome: &Outcome, tz: &TimeZone) {
    println!("{:<16} {}", "outcome", outcome.summary);
    if let Some(waiting) = &outcome.waiting {
        println!(
            "{:<16} {} (since {}, {} attempts; next try {}; `ombud request retry` tries now)",
            "waiting",
            waiting.reason,
            when(Some(waiting.since), tz),
            waiting.attempts,
            when(Some(waiting.next_try), tz)
        );
    }
    for kept in &outcome.kept {
        println!(
            "{:<16} {} ({} records) for {}, under {}, until {}",
            "kept",
            kept.category,
            kept.records,
            kept.purposes.join(", "),
            kept.law.as_deref().unwrap_or(&kept.rule),
            when(kept.until, tz)
        );
    }
    for decision in &outcome.objection {
        let what = match &decision.grounds {
            Some(grounds) => format!("goes on: {grounds}"),
            None => "stopped".to_owned(),
        };
        println!("{:<16} {}: {what}", "objection", decision.purpose);
    }
    for told in &outcome.recipients_notified {
        println!(
            "{:<16} {}{}",
            "recipient told",
            told.name,
            if told.mailed {
                " (mailed)"
            } else {
                " (tell it yourself)"
            }
        );
    }
}

pub fn run(command: RequestCommand) -> Result<ExitCode> {
    let now = SystemClock.now();
    match command {
        RequestCommand::List {
            status,
            open,
            overdue,
            limit,
            all_tenants,
            assignee,
            desk,
        } => {
            let status = status
                .map(|s| {
                    RequestStatus::parse(&s).ok_or_else(|| {
                        anyhow!("--status: `{s}` is not a status; use received, verified, in_progress, fulfilled or refused")
                    })
                })
                .transpose()?;
            let console = desk.open()?;
            let filter = RequestFilter {
                status,
                open,
                overdue,
                after: None,
                limit: usize::from(limit),
            };
            let store = &console.desk.store;
            let tenants: Vec<(TenantId, String)> = if all_tenants {
                store
                    .tenants()?
                    .into_iter()
                    .map(|t| (t.id, t.name))
                    .collect()
            } else {
                let name = store
                    .tenant(console.tenant)?
                    .map_or_else(String::new, |t| t.name);
                vec![(console.tenant, name)]
            };
            let wanted = assignee.as_deref().map(str::trim);
            let mut requests: Vec<(&str, DsRequest)> = vec![];
            for (tenant, name) in &tenants {
                requests.extend(
                    store
                        .requests(*tenant, &filter)?
                        .into_iter()
                        .filter(|r| wanted.is_none_or(|w| r.assignee.as_deref() == Some(w)))
                        .map(|r| (name.as_str(), r)),
                );
            }
            if all_tenants {
                // One queue across customers: what is due soonest first, requests whose clock
                // has not started last.
                requests.sort_by_key(|(_, r)| (r.due_at.is_none(), r.due_at, r.received_at));
                requests.truncate(usize::from(limit));
            }
            let tz = &console.desk.time_zone;
            let tenant_column = |name: &str| -> String {
                if all_tenants {
                    format!("{:<24}  ", clip(name, 24))
                } else {
                    String::new()
                }
            };
            println!(
                "{}{:<36}  {:<18}  {:<11}  {:<44}  {:<20}  overdue",
                tenant_column("tenant"),
                "id",
                "kind",
                "status",
                "due",
                "assignee"
            );
            for (tenant, request) in &requests {
                // The due day in the words the person is told, as `request show` says it.
                let due_by = request.due_at.map_or_else(
                    || "once verified".to_owned(),
                    |at| format!("by {}", ombud_app::mail::by_the_end_of(at, tz)),
                );
                println!(
                    "{}{:<36}  {:<18}  {:<11}  {:<44}  {:<20}  {}",
                    tenant_column(tenant),
                    request.id,
                    request.kind.as_str(),
                    request.status.as_str(),
                    due_by,
                    clip(request.assignee.as_deref().unwrap_or("-"), 20),
                    if request.overdue_at.is_some() && request.status.is_open() {
                        "yes"
                    } else {
                        "no"
                    }
                );
            }
            eprintln!(
                "{}",
                ombud_core::text::count(requests.len() as u64, "request", "requests")
            );
        }
        RequestCommand::Assign {
            id,
            to,
            nobody: _,
            desk,
        } => {
            let console = desk.open()?;
            let request = console
                .desk
                .assign(
                    console.tenant,
                    request_id(&id)?,
                    to.as_deref(),
                    &Actor::Cli,
                    SystemClock.now(),
                )
                .map_err(|e| match e {
                    DeskError::Invalid { message, .. } if to.is_none() => anyhow!("{message}"),
                    DeskError::Invalid { message, .. } => anyhow!("--to: {message}"),
                    other => refused(other),
                })?;
            match &request.assignee {
                Some(who) => println!("request {} is {who}'s now", request.id),
                None => println!("request {} is unassigned", request.id),
            }
        }
        RequestCommand::Show { id, desk } => {
            let id = request_id(&id)?;
            let console = desk.open()?;
            let request = console.desk.get(console.tenant, id).map_err(refused)?;
            print(&request, &console.desk.time_zone, &console.desk.policy);
        }
        RequestCommand::Plan { id, desk } => {
            let id = request_id(&id)?;
            let console = desk.open()?;
            let plan = console
                .desk
                .erasure_plan(console.tenant, id, now)
                .map_err(refused)?;
            if let Some(note) = &plan.note {
                println!("{note}");
            }
            for table in &plan.tables {
                println!(
                    "{} ({}), {}: {} rows deleted, {} masked, {} untouched",
                    table.system,
                    table.dataset,
                    table.collection,
                    table.rows_deleted,
                    table.rows_masked,
                    table.rows_untouched
                );
                for field in &table.masked_fields {
                    println!("  {} masked ({})", field.field, field.strategy);
                }
                for kept in &table.kept {
                    println!(
                        "  {} kept in {} rows: {}{}{}",
                        kept.field,
                        kept.rows,
                        kept.rule,
                        kept.law
                            .as_deref()
                            .map(|l| format!(", {l}"))
                            .unwrap_or_default(),
                        kept.until
                            .map(|u| format!(
                                ", until {}",
                                u.to_zoned(console.desk.time_zone.clone()).date()
                            ))
                            .unwrap_or_default()
                    );
                }
            }
            if plan.systems_declared && plan.tables.is_empty() {
                println!("no row of the datasets belongs to this person");
            }
        }
        RequestCommand::Verify {
            id,
            code,
            manual,
            desk,
        } => {
            let id = request_id(&id)?;
            let console = desk.open()?;
            let request = match code {
                Some(code) => {
                    // Wrong codes lock a request: the controller's step, as over the API.
                    console.may_decide("verify with a code")?;
                    console
                        .desk
                        .verify_code(console.tenant, id, &code, &Actor::Cli, now)
                }
                None => {
                    debug_assert!(manual);
                    console.may_decide("verify by hand")?;
                    console
                        .desk
                        .verify_manually(console.tenant, id, None, &Actor::Cli, now)
                }
            }
            .map_err(refused)?;
            if request.status == RequestStatus::Fulfilled {
                // Consent withdrawals and objections to direct marketing need no decision.
                println!("verified; it took effect at once and the person was told");
            } else {
                println!(
                    "verified; due {}",
                    due(request.due_at, &console.desk.time_zone)
                );
            }
        }
        RequestCommand::Code { id, desk } => {
            let id = request_id(&id)?;
            let console = desk.open()?;
            let request = console
                .desk
                .resend_code(console.tenant, id, &Actor::Cli, now)
                .map_err(refused)?;
            println!(
                "a new code was mailed; it is valid until {}",
                when(request.code_expires_at, &console.desk.time_zone)
            );
        }
        RequestCommand::Extend {
            id,
            reason,
            by,
            desk,
        } => {
            let id = request_id(&id)?;
            let by = by
                .map(|b| b.parse::<Duration>().map_err(|e| anyhow!("--by: {e}")))
                .transpose()?;
            let console = desk.open()?;
            console.may_decide("extend")?;
            let request = console
                .desk
                .extend(console.tenant, id, by, &reason, &Actor::Cli, now)
                .map_err(refused)?;
            println!(
                "extended; due {}; the person is told why",
                due(request.due_at, &console.desk.time_zone)
            );
        }
        RequestCommand::Fulfil { id, grounds, desk } => {
            let id = request_id(&id)?;
            let mut compelling = std::collections::BTreeMap::new();
            for given in &grounds {
                let (purpose, text) = given.split_once('=').ok_or_else(|| {
                    anyhow!("--grounds: write PURPOSE=GROUNDS, e.g. --grounds \"platform-security=Repeated attacks from this account\"")
                })?;
                compelling.insert(purpose.trim().to_owned(), text.trim().to_owned());
            }
            let console = desk.open()?;
            console.may_decide("fulfil")?;
            let done = console
                .desk
                .decide(console.tenant, id, &compelling, &Actor::Cli, now)
                .map_err(refused)?;
            println!("fulfilled; the answer is on its way to the person");
            if let Some(outcome) = done
                .request
                .outcome
                .as_deref()
                .and_then(|o| serde_json::from_str::<Outcome>(o).ok())
            {
                print_outcome(&outcome, &console.desk.time_zone);
            }
            // The link is the only key to the export and goes to the person's address; it is
            // shown here only when there is no address to send it to.
            if let (Some(url), None) = (done.download_url, &done.request.contact) {
                println!("download link (works once; hand it to the person): {url}");
            }
        }
        RequestCommand::Refuse { id, reason, desk } => {
            let id = request_id(&id)?;
            let console = desk.open()?;
            console.may_decide("refuse")?;
            console
                .desk
                .refuse(console.tenant, id, &reason, &Actor::Cli, now)
                .map_err(refused)?;
            println!("refused; the person is told why and how to complain");
        }
    }
    Ok(ExitCode::SUCCESS)
}
