//! `ombud tenants …`: the operator's customers at the console — create, list and show them,
//! and keep the contacts each customer names for service messages, without the HTTP API.

use crate::admin_cmd::{StoreArgs, tenant};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use ombud_app::clock::SystemClock;
use ombud_app::tenants::{Changes, TenantError};
use ombud_core::{Clock, Identity, IdentityKind};
use ombud_store::model::{SubjectId, Tenant, TenantId, TenantProfile};
use ombud_store::{Actor, Store};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Create a customer tenant; prints its id
    Create {
        /// The customer's name, as its people and the records will read it
        name: String,
        #[command(flatten)]
        details: Details,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set a customer's details as controller and its portal's look; an option given as ""
    /// clears that detail, one left out stays as it is
    Update {
        /// The customer tenant's id
        tenant: String,
        /// The customer's legal name
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        details: Details,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the tenants, the operator's own first
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// One tenant: its id, name, API keys and service-message contacts
    Show {
        /// A tenant id, or `operator`
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The people a customer names to receive service messages (security notices,
    /// sub-processor changes) on its behalf
    #[command(subcommand)]
    Contacts(ContactsCommand),
}

#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// Add a contact: a person of the operator's tenant, found by address (created if new)
    /// or by subject id
    Add {
        /// The customer tenant's id
        tenant: String,
        #[command(flatten)]
        who: Who,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List a customer's contacts (addresses masked)
    List {
        /// The customer tenant's id
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove a contact
    Remove {
        /// The customer tenant's id
        tenant: String,
        #[command(flatten)]
        who: Who,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// A customer's details as controller, which its portal and mails show (Art. 13(1)(a)–(b)).
#[derive(Debug, Args)]
pub struct Details {
    /// The name the portal's header shows, where the brand differs from the legal name
    #[arg(long)]
    display_name: Option<String>,
    /// The portal's accent colour, #rrggbb, dark enough for white text on it
    #[arg(long)]
    colour: Option<String>,
    /// The controller's postal address
    #[arg(long)]
    address: Option<String>,
    /// Its company registration number
    #[arg(long)]
    registration: Option<String>,
    /// The email address where its people write about their data
    #[arg(long)]
    contact: Option<String>,
    /// Its data protection officer: a name, an address, or both
    #[arg(long)]
    dpo: Option<String>,
    /// The supervisory authority it answers to
    #[arg(long)]
    authority: Option<String>,
    /// The authority's website (https)
    #[arg(long)]
    authority_website: Option<String>,
    /// Its own privacy notice (https)
    #[arg(long)]
    notice_url: Option<String>,
}

impl Details {
    fn changes(self, name: Option<String>) -> Changes {
        Changes {
            name,
            display_name: self.display_name.map(Some),
            colour: self.colour.map(Some),
            address: self.address.map(Some),
            registration: self.registration.map(Some),
            contact: self.contact.map(Some),
            dpo: self.dpo.map(Some),
            authority: self.authority.map(Some),
            authority_website: self.authority_website.map(Some),
            notice_url: self.notice_url.map(Some),
        }
    }

    fn any(&self) -> bool {
        [
            &self.display_name,
            &self.colour,
            &self.address,
            &self.registration,
            &self.contact,
            &self.dpo,
            &self.authority,
            &self.authority_website,
            &self.notice_url,
        ]
        .iter()
        .any(|v| v.is_some())
    }
}

/// A refusal as the console says it: the option to change.
fn refused(error: TenantError) -> anyhow::Error {
    match error {
        TenantError::Invalid {
            field: "tenant",
            message,
        } => anyhow::anyhow!("{message}"),
        TenantError::Invalid { field, message } => {
            anyhow::anyhow!("--{}: {message}", field.replace('_', "-"))
        }
        TenantError::Store(error) => error.into(),
    }
}

fn print_profile(t: &Tenant) {
    let p = &t.profile;
    let rows = [
        ("display name", &p.display_name),
        ("colour", &p.colour),
        ("address", &p.address),
        ("registration", &p.registration),
        ("contact", &p.contact),
        ("DPO", &p.dpo),
        ("authority", &p.authority),
        ("authority website", &p.authority_website),
        ("privacy notice", &p.notice_url),
    ];
    for (label, value) in rows {
        if let Some(value) = value {
            println!("{:<18}{value}", label);
        }
    }
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Who {
    /// The contact's e-mail address
    #[arg(long)]
    email: Option<String>,
    /// The contact's subject id in the operator's tenant
    #[arg(long)]
    subject: Option<String>,
}

pub fn run(command: TenantsCommand) -> Result<ExitCode> {
    let now = SystemClock.now();
    match command {
        TenantsCommand::Create {
            name,
            details,
            store,
        } => {
            let name =
                ombud_core::text::one_line_name("name", &name, 200).map_err(anyhow::Error::msg)?;
            let store = store.open()?;
            // The details are checked before the tenant exists, so a refused one leaves nothing
            // half made.
            let given = details.any();
            let changes = details.changes(None);
            ombud_app::tenants::changed(&name, &TenantProfile::default(), changes.clone())
                .map_err(refused)?;
            let created = store.create_tenant(&name, false, &Actor::Cli, now)?;
            let created = if given {
                ombud_app::tenants::update(store.as_ref(), created.id, changes, &Actor::Cli, now)
                    .map_err(refused)?
            } else {
                created
            };
            println!("created tenant {} ({})", created.id, created.name);
            print_profile(&created);
        }
        TenantsCommand::Update {
            tenant: text,
            name,
            details,
            store,
        } => {
            if name.is_none() && !details.any() {
                bail!(
                    "nothing to change: give --name or a detail such as --contact, --dpo, --authority or --notice-url (`ombud tenants update --help` lists them)"
                );
            }
            let store = store.open()?;
            let id = tenant(store.as_ref(), &text)?;
            let updated = ombud_app::tenants::update(
                store.as_ref(),
                id,
                details.changes(name),
                &Actor::Cli,
                now,
            )
            .map_err(refused)?;
            println!("updated tenant {} ({})", updated.id, updated.name);
            print_profile(&updated);
        }
        TenantsCommand::List { store } => {
            let store = store.open()?;
            let mut tenants = store.tenants()?;
            tenants.sort_by_key(|t| (!t.operator, t.name.to_lowercase()));
            for t in tenants {
                let role = if t.operator { "operator" } else { "customer" };
                println!("{}  {role:<8}  {}", t.id, t.name);
            }
        }
        TenantsCommand::Show {
            tenant: text,
            store,
        } => {
            let store = store.open()?;
            let id = tenant(store.as_ref(), &text)?;
            let t = store.tenant(id)?.context("no such tenant")?;
            println!("tenant    {}", t.id);
            println!("name      {}", t.name);
            println!(
                "kind      {}",
                if t.operator {
                    "the operator's own (controller of its data)"
                } else {
                    "a customer (controller; the operator processes for it)"
                }
            );
            let tz = crate::serve_cmd::console_zone()?;
            println!(
                "created   {}",
                crate::serve_cmd::local_time(t.created_at, &tz)
            );
            print_profile(&t);
            let keys = store.api_keys(id)?;
            let live = keys.iter().filter(|k| k.revoked_at.is_none()).count();
            println!("API keys  {live} in use, {} revoked", keys.len() - live);
            if !t.operator {
                let operator = operator(store.as_ref())?;
                let contacts = store.tenant_contacts(operator, id)?;
                println!("contacts  {}", contacts.len());
                print_contacts(store.as_ref(), operator, &contacts)?;
            }
        }
        TenantsCommand::Contacts(command) => return contacts(command, now),
    }
    Ok(ExitCode::SUCCESS)
}

fn contacts(command: ContactsCommand, now: jiff::Timestamp) -> Result<ExitCode> {
    match command {
        ContactsCommand::Add { tenant, who, store } => {
            let store = store.open()?;
            let (operator, customer) = customer(store.as_ref(), &tenant)?;
            let subject = who.resolve(store.as_ref(), operator, true, now)?;
            let added =
                store.set_tenant_contact(operator, customer, subject, true, &Actor::Cli, now)?;
            println!(
                "{} {subject}",
                if added {
                    "added contact"
                } else {
                    "already a contact:"
                }
            );
        }
        ContactsCommand::List { tenant, store } => {
            let store = store.open()?;
            let (operator, customer) = customer(store.as_ref(), &tenant)?;
            let contacts = store.tenant_contacts(operator, customer)?;
            if contacts.is_empty() {
                println!("no contacts: service messages to this customer reach nobody");
            }
            print_contacts(store.as_ref(), operator, &contacts)?;
        }
        ContactsCommand::Remove { tenant, who, store } => {
            let store = store.open()?;
            let (operator, customer) = customer(store.as_ref(), &tenant)?;
            let subject = who.resolve(store.as_ref(), operator, false, now)?;
            if !store.set_tenant_contact(operator, customer, subject, false, &Actor::Cli, now)? {
                bail!(
                    "{subject} is not a contact of this tenant; `ombud tenants contacts list {tenant}` shows them"
                );
            }
            println!("removed contact {subject}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

impl Who {
    /// The contact's subject in the operator's tenant; by address, created when `create`.
    fn resolve(
        &self,
        store: &dyn Store,
        operator: TenantId,
        create: bool,
        now: jiff::Timestamp,
    ) -> Result<SubjectId> {
        if let Some(text) = &self.subject {
            let id: SubjectId = text
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("--subject: `{text}` is not a subject id (a UUID)"))?;
            if !store.subject_exists(operator, id)? {
                bail!("--subject: no subject {id} in the operator's tenant");
            }
            return Ok(id);
        }
        let text = self.email.as_deref().unwrap_or_default();
        let identity = Identity::parse(IdentityKind::Email, text)
            .map_err(|e| anyhow::anyhow!("--email: {e}"))?;
        match store.find_subject(operator, &identity)? {
            Some(id) => Ok(id),
            None if create => Ok(store.create_subject(operator, &[identity], &Actor::Cli, now)?),
            None => bail!("--email: nobody with that address in the operator's tenant"),
        }
    }
}

fn operator(store: &dyn Store) -> Result<TenantId> {
    tenant(store, "operator")
}

/// The operator and a customer tenant; the operator's own tenant has no contacts to name.
fn customer(store: &dyn Store, text: &str) -> Result<(TenantId, TenantId)> {
    let operator = operator(store)?;
    let customer = tenant(store, text)?;
    if customer == operator {
        bail!(
            "the operator's own tenant names no contacts; give a customer tenant's id (`ombud tenants list`)"
        );
    }
    Ok((operator, customer))
}

fn print_contacts(store: &dyn Store, operator: TenantId, contacts: &[SubjectId]) -> Result<()> {
    for id in contacts {
        let address = store
            .subject(operator, *id)?
            .and_then(|s| {
                s.identities
                    .into_iter()
                    .find(|i| i.kind() == IdentityKind::Email)
            })
            .map_or_else(|| "(no address)".to_owned(), |i| i.masked());
        println!("  {id}  {address}");
    }
    Ok(())
}
