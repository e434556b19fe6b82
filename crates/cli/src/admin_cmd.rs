//! `ombud keys …` and `ombud audit verify`: operations on the store itself, for the operator at
//! the console (the server need not run). Store location and keys come from the same flags and
//! environment as `ombud serve`.

use crate::serve_cmd::{KeyPolicy, open_store};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use ombud_app::clock::SystemClock;
use ombud_core::Clock;
use ombud_store::audit::Verification;
use ombud_store::crypto::{api_secret_hash, new_api_secret};
use ombud_store::model::{ApiKeyId, NewApiKey, Role, TenantId};
use ombud_store::{Actor, Store};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Where the embedded store and its master key live
    #[arg(
        long,
        env = "OMBUD_DATA_DIR",
        default_value = "ombud-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// A postgres:// URL, as for `ombud serve`
    #[arg(
        long,
        env = "OMBUD_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub database_url: Option<String>,
}

impl StoreArgs {
    pub fn open(&self) -> Result<Arc<dyn Store>> {
        self.open_with_key().map(|(store, _)| store)
    }

    /// The store and its master key, for commands that sign links as the server does.
    pub fn open_with_key(&self) -> Result<(Arc<dyn Store>, ombud_store::crypto::MasterKey)> {
        self.open_as(crate::dir_lock::Holder::Command)
    }

    /// The store, held alone for `what`: refused while a server runs on it.
    pub fn open_alone(&self, what: &'static str) -> Result<Arc<dyn Store>> {
        self.open_as(crate::dir_lock::Holder::Alone(what))
            .map(|(store, _)| store)
    }

    fn open_as(
        &self,
        holder: crate::dir_lock::Holder,
    ) -> Result<(Arc<dyn Store>, ombud_store::crypto::MasterKey)> {
        if self.database_url.is_none() {
            crate::backup_cmd::refuse_interrupted_restore(&self.data_dir)?;
        }
        if self.database_url.is_none() && !self.data_dir.join("ombud.db").exists() {
            bail!(
                "there is no store in {}: start `ombud serve` once, or pass --data-dir / --database-url",
                self.data_dir.display()
            );
        }
        open_store(
            &self.data_dir,
            self.database_url.as_deref(),
            None,
            KeyPolicy::MustExist,
            holder,
        )
    }
}

/// `operator`, or a tenant id.
pub fn tenant(store: &dyn Store, text: &str) -> Result<TenantId> {
    if text == "operator" {
        return store
            .tenants()?
            .into_iter()
            .find(|t| t.operator)
            .map(|t| t.id)
            .context("the store has no operator tenant yet; start `ombud serve` once");
    }
    let id: TenantId = text.parse().with_context(|| {
        format!("`{text}` is not a tenant id; give a UUID from `ombud keys list` or `operator`")
    })?;
    store
        .tenant(id)?
        .map(|t| t.id)
        .with_context(|| format!("no tenant {id}"))
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key; its secret is printed once
    Create {
        /// The tenant it acts in: a tenant id, or `operator`
        #[arg(long, default_value = "operator")]
        tenant: String,
        /// admin, dpo, agent, service or auditor
        #[arg(long)]
        role: String,
        /// Who or what uses it
        #[arg(long)]
        name: String,
        /// Act in every tenant (operator tenant only)
        #[arg(long)]
        operator_wide: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the keys of a tenant
    List {
        #[arg(long, default_value = "operator")]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Start a new master-key generation, rewrap every key under it, and retire generations
    /// no backup within the backup period needs (old backups then become unreadable)
    Rotate(crate::rotate_cmd::RotateArgs),
    /// Revoke a key at once
    Revoke {
        /// The key id, from `ombud keys list`
        id: String,
        #[arg(long, default_value = "operator")]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn keys(command: KeysCommand) -> Result<ExitCode> {
    let clock = SystemClock;
    match command {
        KeysCommand::Rotate(args) => return crate::rotate_cmd::run(args),
        KeysCommand::Create {
            tenant: which,
            role,
            name,
            operator_wide,
            store,
        } => {
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            let role = Role::parse(&role).with_context(|| {
                format!("`{role}` is not a role; use admin, dpo, agent, service or auditor")
            })?;
            let operator = store.tenant(tenant)?.is_some_and(|t| t.operator);
            if operator_wide && !operator {
                bail!("only keys of the operator tenant can be operator-wide");
            }
            let name = name.trim().to_owned();
            if name.is_empty() {
                bail!("give the key a --name that says who uses it");
            }
            let secret = new_api_secret()?;
            let key = store.create_api_key(
                NewApiKey {
                    tenant,
                    operator_wide,
                    name,
                    role,
                    secret_hash: api_secret_hash(&secret),
                },
                &Actor::Cli,
                clock.now(),
            )?;
            println!(
                "created key {} ({}) in tenant {}\n\n    {}\n\nThe secret is shown only now.",
                key.id,
                role.as_str(),
                tenant,
                secret.as_str()
            );
        }
        KeysCommand::List {
            tenant: which,
            store,
        } => {
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            println!(
                "{:<36}  {:<8}  {:<9}  {:<20}  name",
                "id", "role", "scope", "revoked"
            );
            for key in store.api_keys(tenant)? {
                let scope = if key.operator_wide {
                    "operator"
                } else {
                    "tenant"
                };
                let revoked = key
                    .revoked_at
                    .map_or_else(|| "-".to_owned(), |at| at.to_string());
                println!(
                    "{:<36}  {:<8}  {:<9}  {:<20}  {}",
                    key.id,
                    key.role.as_str(),
                    scope,
                    revoked,
                    key.name
                );
            }
        }
        KeysCommand::Revoke {
            id,
            tenant: which,
            store,
        } => {
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            let id: ApiKeyId = id
                .parse()
                .with_context(|| format!("`{id}` is not a key id; see `ombud keys list`"))?;
            if !store.revoke_api_key(tenant, id, &Actor::Cli, clock.now())? {
                bail!("tenant {tenant} has no active key {id}");
            }
            println!("revoked key {id}; a running server refuses it within a second");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain of every tenant (or one) and report the first broken entry
    Verify {
        /// Only this tenant (an id, or `operator`)
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn audit(command: AuditCommand) -> Result<ExitCode> {
    let AuditCommand::Verify {
        tenant: which,
        store,
    } = command;
    let store = store.open()?;
    let tenants = match which {
        Some(which) => vec![tenant(store.as_ref(), &which)?],
        None => store.tenants()?.into_iter().map(|t| t.id).collect(),
    };
    let mut broken = false;
    for tenant in tenants {
        match store.verify_audit(tenant)? {
            Verification::Intact {
                entries,
                head,
                pruned_through,
            } => println!(
                "tenant {tenant}: intact, {entries} entries{}, head {head}",
                pruned_through.map_or(String::new(), |seq| format!(
                    " after the checkpoint at entry {seq} (older entries pruned under [audit] keep)"
                ))
            ),
            Verification::Broken { seq, reason } => {
                broken = true;
                println!("tenant {tenant}: BROKEN at entry {seq}: {reason}");
            }
        }
    }
    Ok(if broken {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
