//! `ombud notice send|list|show|received|contacts`: the notice ledger at the console, with the
//! rules the API applies (kinds from the policy, opt-out respected, every person a ledger line).

use crate::admin_cmd::{StoreArgs, tenant};
use crate::serve_cmd::load_policy;
use anyhow::{Context, Result, anyhow, bail};
use clap::{ArgGroup, Subcommand};
use ombud_app::clock::SystemClock;
use ombud_app::notices::{NoticeError, Sending};
use ombud_core::Clock;
use ombud_store::Actor;
use ombud_store::model::{SubjectId, TenantId};
use ombud_store::notices::{Audience, Delivery, NoticeId};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum NoticeCommand {
    /// Send a service message of a kind the policy declares to an audience
    #[command(group(ArgGroup::new("audience").required(true).args(["to_tenant", "to_customers", "to_category", "to_subject"])))]
    #[command(group(ArgGroup::new("text").required(true).args(["body", "body_file"])))]
    Send {
        /// A [[notice_kind]] of the policy (security, maintenance, news …)
        #[arg(long)]
        kind: String,
        /// The subject line
        #[arg(long)]
        subject: String,
        /// The message
        #[arg(long)]
        body: Option<String>,
        /// The message, read from a UTF-8 file
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// The contacts of this customer tenant (repeat for more)
        #[arg(long = "to-tenant")]
        to_tenant: Vec<String>,
        /// The contacts of every customer tenant
        #[arg(long)]
        to_customers: bool,
        /// Everyone holding data of this category (or one beneath it)
        #[arg(long)]
        to_category: Option<String>,
        /// This subject (repeat for more)
        #[arg(long = "to-subject")]
        to_subject: Vec<String>,
        /// The sending tenant (an id, or `operator`)
        #[arg(long, default_value = "operator")]
        tenant: String,
        /// The policy whose notice kinds apply
        #[arg(long, env = "OMBUD_POLICY")]
        policy: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The notices sent, newest first, with how many were queued and skipped
    List {
        #[arg(long, default_value = "operator")]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// One notice: its text and every person of its audience, sent or skipped and why
    Show {
        id: String,
        #[arg(long, default_value = "operator")]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Every notice one person was in the audience of, and what became of their copy
    Received {
        subject: String,
        #[arg(long, default_value = "operator")]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// A customer tenant's service-message contacts (subjects of the operator's tenant)
    #[command(group(ArgGroup::new("change").args(["add", "remove"])))]
    Contacts {
        /// The customer tenant's id
        customer: String,
        /// Make this subject a contact
        #[arg(long)]
        add: Option<String>,
        /// This subject is no longer a contact
        #[arg(long)]
        remove: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// A refusal as the console says it: the flag to change.
fn refused(error: NoticeError) -> anyhow::Error {
    match error {
        NoticeError::Invalid { field, message } => {
            let flag = match field {
                "kind" => "--kind",
                "subject" => "--subject",
                "body" => "--body",
                "audience.tenants" => "--to-tenant",
                "audience.category" => "--to-category",
                "audience.subjects" => "--to-subject",
                _ => "audience",
            };
            anyhow!("{flag}: {message}")
        }
        NoticeError::Store(e) => e.into(),
    }
}

/// Ids given with a repeatable flag; the first that is not one is refused, naming the flag.
pub(crate) fn ids<T: std::str::FromStr>(flag: &str, texts: &[String]) -> Result<Vec<T>> {
    texts
        .iter()
        .map(|text| {
            text.trim()
                .parse()
                .map_err(|_| anyhow!("{flag}: `{text}` is not an id (a UUID)"))
        })
        .collect()
}

fn delivery_line(line: &Delivery, tz: &jiff::tz::TimeZone) -> String {
    format!(
        "{}  {:<8}  {:<24}  {}",
        line.subject,
        line.status.to_string(),
        line.to.as_ref().map(|to| to.masked()).unwrap_or_default(),
        line.reason
            .clone()
            .or(line.last_error.clone())
            .or(line
                .sent_at
                .map(|at| format!("sent {}", crate::serve_cmd::local_time(at, tz))))
            .unwrap_or_default()
    )
}

pub fn run(command: NoticeCommand) -> Result<ExitCode> {
    let now = SystemClock.now();
    match command {
        NoticeCommand::Send {
            kind,
            subject,
            body,
            body_file,
            to_tenant,
            to_customers,
            to_category,
            to_subject,
            tenant: which,
            policy,
            store,
        } => {
            let (policy, _, _) = load_policy(policy.as_deref())?;
            let body = match (body, body_file) {
                (Some(body), _) => body,
                (None, Some(file)) => std::fs::read_to_string(&file).with_context(|| {
                    format!("--body-file: cannot read {} as UTF-8 text", file.display())
                })?,
                (None, None) => bail!("give the message with --body or --body-file"),
            };
            let audience = if !to_tenant.is_empty() {
                Audience::Tenants(ids::<TenantId>("--to-tenant", &to_tenant)?)
            } else if to_customers {
                Audience::Customers
            } else if let Some(category) = to_category {
                Audience::Category(category)
            } else {
                Audience::Subjects(ids::<SubjectId>("--to-subject", &to_subject)?)
            };
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            let operator = crate::admin_cmd::tenant(store.as_ref(), "operator")?;
            let notice = ombud_app::notices::send(
                store.as_ref(),
                &policy,
                operator,
                tenant,
                Sending {
                    kind,
                    subject,
                    body,
                    audience,
                },
                &Actor::Cli,
                now,
            )
            .map_err(refused)?;
            println!(
                "notice {}: {} queued, {} skipped (see `ombud notice show {}`)",
                notice.id, notice.queued, notice.skipped, notice.id
            );
        }
        NoticeCommand::List {
            tenant: which,
            store,
        } => {
            let tz = crate::serve_cmd::console_zone()?;
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            let notices = store.notices(tenant)?;
            for notice in &notices {
                println!(
                    "{}  {}  {:<24}  {:>7} queued  {:>7} skipped  {}",
                    notice.id,
                    crate::serve_cmd::local_time(notice.created_at, &tz),
                    notice.kind,
                    notice.queued,
                    notice.skipped,
                    notice.subject_line
                );
            }
            println!(
                "{}",
                ombud_core::text::count(notices.len() as u64, "notice", "notices")
            );
        }
        NoticeCommand::Show {
            id,
            tenant: which,
            store,
        } => {
            let tz = crate::serve_cmd::console_zone()?;
            let id: NoticeId = id
                .parse()
                .map(NoticeId)
                .map_err(|_| anyhow!("`{id}` is not a notice id; see `ombud notice list`"))?;
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            let Some((notice, body)) = store.notice(tenant, id)? else {
                bail!("tenant {tenant} has no notice {id}");
            };
            println!(
                "{}  {}  {}  by {}",
                notice.id,
                notice.kind,
                crate::serve_cmd::local_time(notice.created_at, &tz),
                notice.created_by
            );
            println!("Subject: {}\n\n{body}\n", notice.subject_line);
            for line in store.notice_deliveries(tenant, id)? {
                println!("{}", delivery_line(&line, &tz));
            }
        }
        NoticeCommand::Received {
            subject,
            tenant: which,
            store,
        } => {
            let tz = crate::serve_cmd::console_zone()?;
            let subject: SubjectId = subject
                .parse()
                .map_err(|_| anyhow!("`{subject}` is not a subject id (a UUID)"))?;
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            let lines = store.subject_notices(tenant, subject)?;
            for (notice, line) in &lines {
                println!(
                    "{}  {:<24}  {}",
                    notice.id,
                    notice.kind,
                    delivery_line(line, &tz)
                );
            }
            println!(
                "{}",
                ombud_core::text::count(lines.len() as u64, "notice", "notices")
            );
        }
        NoticeCommand::Contacts {
            customer,
            add,
            remove,
            store,
        } => {
            let store = store.open()?;
            let operator = tenant(store.as_ref(), "operator")?;
            let customer = tenant(store.as_ref(), &customer)?;
            if customer == operator {
                bail!(
                    "the operator's own tenant has no customer contacts; give a customer tenant's id"
                );
            }
            for (flag, text, present) in [("--add", &add, true), ("--remove", &remove, false)] {
                let Some(text) = text else { continue };
                let subject: SubjectId = text
                    .parse()
                    .map_err(|_| anyhow!("{flag}: `{text}` is not a subject id (a UUID)"))?;
                match store.set_tenant_contact(
                    operator,
                    customer,
                    subject,
                    present,
                    &Actor::Cli,
                    now,
                ) {
                    Err(ombud_store::StoreError::NotFound(_)) => {
                        bail!("{flag}: no subject {subject} in the operator's tenant")
                    }
                    Err(e) => return Err(e.into()),
                    Ok(false) if !present => {
                        bail!("{flag}: {subject} is not a contact of {customer}")
                    }
                    Ok(_) => {}
                }
            }
            for contact in store.tenant_contacts(operator, customer)? {
                println!("{contact}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
