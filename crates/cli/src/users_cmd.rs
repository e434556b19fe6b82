//! `ombud users`: the people who sign in to the console. `create` prints a one-time setup link
//! (24 hours) where the person sets their own password; nobody else ever knows it.

use crate::admin_cmd::{StoreArgs, tenant};
use anyhow::{Result, anyhow};
use clap::Subcommand;
use ombud_app::clock::SystemClock;
use ombud_app::console::{self, ConsoleError};
use ombud_core::Clock;
use ombud_store::Actor;
use ombud_store::model::{Role, TenantId};
use ombud_store::users::UserId;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a console user; prints the one-time link where they set their password
    Create {
        /// Their email address: they sign in with it
        #[arg(long)]
        email: String,
        /// admin, dpo, agent or auditor (what each may do: docs/roles.md)
        #[arg(long)]
        role: String,
        /// The tenant they work in: a tenant id, or `operator` (the operator's staff, who see
        /// every customer's queue)
        #[arg(long, default_value = "operator")]
        tenant: String,
        /// The address the server is reached at, as `ombud serve --public-url` gives it
        #[arg(
            long,
            env = "OMBUD_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Reset a console user's password and second factor (a forgotten password, a lost phone):
    /// their sessions end and a new setup link is printed
    Reset {
        /// The user's id, from `ombud users list`
        id: String,
        #[arg(long, default_value = "operator")]
        tenant: String,
        /// The address the server is reached at, as `ombud serve --public-url` gives it
        #[arg(
            long,
            env = "OMBUD_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable a console user: they cannot sign in again, and their sessions end at once
    Disable {
        /// The user's id, from `ombud users list`
        id: String,
        #[arg(long, default_value = "operator")]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List a tenant's console users
    List {
        #[arg(long, default_value = "operator")]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn run(command: UsersCommand) -> Result<ExitCode> {
    match command {
        UsersCommand::Create {
            email,
            role,
            tenant: which,
            public_url,
            store,
        } => {
            let role = Role::parse(&role)
                .filter(|r| *r != Role::Service)
                .ok_or_else(|| anyhow!("--role {role}: give admin, dpo, agent or auditor"))?;
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            let created = console::create_user(
                store.as_ref(),
                tenant,
                &email,
                role,
                &Actor::Cli,
                SystemClock.now(),
            )
            .map_err(|e| match e {
                ConsoleError::Invalid { field, message } => anyhow!("--{field}: {message}"),
                other => anyhow!(other),
            })?;
            println!(
                "created console user {} ({}). Send them this link; it works once, for 24 hours, and is shown only now:\n\n    {}/console/setup?t={}\n",
                created.user.id,
                role.as_str(),
                public_url.trim_end_matches('/'),
                created.setup_token.as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::Reset {
            id,
            tenant: which,
            public_url,
            store,
        } => {
            let (store, tenant, user) = named_user(&id, &which, &store)?;
            let reset =
                console::reset_user(store.as_ref(), tenant, user, &Actor::Cli, SystemClock.now())
                    .map_err(|e| refused(&id, e))?;
            println!(
                "the password and second factor of {} are gone and their sessions have ended. Send them this link; it works once, for 24 hours, and is shown only now:\n\n    {}/console/setup?t={}\n",
                reset.user.email.expose(),
                public_url.trim_end_matches('/'),
                reset.setup_token.as_str()
            );
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::Disable {
            id,
            tenant: which,
            store,
        } => {
            let (store, tenant, user) = named_user(&id, &which, &store)?;
            console::disable_user(store.as_ref(), tenant, user, &Actor::Cli, SystemClock.now())
                .map_err(|e| refused(&id, e))?;
            println!("console user {id} is disabled; their sessions have ended");
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::List {
            tenant: which,
            store,
        } => {
            let store = store.open()?;
            let tenant = tenant(store.as_ref(), &which)?;
            println!("{:<36}  {:<8}  {:<10}  email", "id", "role", "state");
            for user in store.users(tenant)? {
                let state = match (&user.password_hash, user.locked_until, user.disabled_at) {
                    (_, _, Some(_)) => "disabled",
                    (_, Some(until), _) if until > SystemClock.now() => "locked",
                    (None, _, _) => "invited",
                    _ => "active",
                };
                println!(
                    "{:<36}  {:<8}  {:<10}  {}",
                    user.id.to_string(),
                    user.role.as_str(),
                    state,
                    user.email.expose()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The store, the tenant and the user a command names by id.
fn named_user(
    id: &str,
    which: &str,
    store: &StoreArgs,
) -> Result<(std::sync::Arc<dyn ombud_store::Store>, TenantId, UserId)> {
    let user = UserId(
        id.parse()
            .map_err(|_| anyhow!("`{id}` is not a user id; `ombud users list` shows them"))?,
    );
    let store = store.open()?;
    let tenant = tenant(store.as_ref(), which)?;
    Ok((store, tenant, user))
}

/// A step the desk refused for the user `id`, said with the id.
fn refused(id: &str, error: ConsoleError) -> anyhow::Error {
    match error {
        ConsoleError::Invalid { message, .. } => anyhow!("{id}: {message}"),
        other => anyhow!(other),
    }
}
