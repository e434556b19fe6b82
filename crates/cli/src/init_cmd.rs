//! `ombud init`: writes a starter privacy.toml from one of the bundled examples, so a new user
//! edits a complete policy instead of starting from an empty file.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Starter {
    /// An invoicing and business-management SaaS (controller and processor)
    InvoicingSaas,
    /// A public cloud provider with a ledger of service messages
    PublicCloud,
    /// A managed ERP hosting provider with many named sub-processors
    ManagedErpHosting,
}

impl Starter {
    fn source(self) -> &'static str {
        match self {
            Starter::InvoicingSaas => include_str!("../../../examples/invoicing-saas.toml"),
            Starter::PublicCloud => include_str!("../../../examples/public-cloud.toml"),
            Starter::ManagedErpHosting => {
                include_str!("../../../examples/managed-erp-hosting.toml")
            }
        }
    }
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Which example to start from
    #[arg(long, value_enum, default_value = "invoicing-saas")]
    pub example: Starter,
    /// Where to write the policy
    #[arg(long, short, default_value = "privacy.toml")]
    pub output: PathBuf,
    /// Replace an existing file
    #[arg(long)]
    pub force: bool,
    /// Where to create the embedded store and its master key
    #[arg(long, env = "OMBUD_DATA_DIR", default_value = "ombud-data")]
    pub data_dir: PathBuf,
    /// Set up PostgreSQL instead of the embedded store: postgres://user@host/database (the
    /// master key is still created in --data-dir unless OMBUD_MASTER_KEY or
    /// OMBUD_MASTER_KEY_FILE gives it)
    #[arg(long, env = "OMBUD_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The console's first admin, who gets a setup link (privacy.toml's `[controller] email`
    /// when not given)
    #[arg(long, env = "OMBUD_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// The address the server will be reached at, for the setup link
    #[arg(
        long,
        env = "OMBUD_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
}

pub fn run(args: InitArgs) -> Result<ExitCode> {
    let source = if args.output.exists() && !args.force {
        // Run again on an existing policy, init sets up the store for it and brings the
        // operator tenant's name up to date; it never overwrites the file.
        let source = std::fs::read_to_string(&args.output)
            .with_context(|| format!("while reading {}", args.output.display()))?;
        if ombud_policy::check(&source).policy.is_none() {
            bail!(
                "{} already exists and has errors (see `ombud policy check {}`); fix it, or pass --force to replace it with the starter policy",
                args.output.display(),
                args.output.display()
            );
        }
        println!(
            "kept {}: it exists (pass --force to replace it with the starter policy)",
            args.output.display()
        );
        source
    } else {
        write_starter(&args)?;
        args.example.source().to_owned()
    };
    let policy = ombud_policy::check(&source)
        .policy
        .context("the policy has errors")?;
    let created_key = !args.data_dir.join("master.key").exists()
        && std::env::var_os("OMBUD_MASTER_KEY").is_none()
        && std::env::var_os("OMBUD_MASTER_KEY_FILE").is_none();
    let (store, master) = crate::serve_cmd::open_store(
        &args.data_dir,
        args.database_url.as_deref(),
        None,
        crate::serve_cmd::KeyPolicy::CreateIfMissing,
        crate::dir_lock::Holder::Command,
    )?;
    let place = match &args.database_url {
        Some(_) => "the store in PostgreSQL (OMBUD_DATABASE_URL)".to_owned(),
        None => format!("the store in {}", args.data_dir.display()),
    };
    if created_key {
        println!(
            "created {place} with a new master key in {} (mode 0600).\nProduction keeps the master key elsewhere: OMBUD_MASTER_KEY or OMBUD_MASTER_KEY_FILE.",
            args.data_dir.join("master.key").display()
        );
    } else {
        println!("{place} is ready");
    }
    let booted = ombud_app::bootstrap::ensure_operator(
        store.as_ref(),
        &ombud_app::clock::SystemClock,
        &policy.controller.name,
    )
    .context("while preparing the operator tenant")?;
    let secrets = ombud_app::secrets::Secrets::from_master(&master);
    drop(master);
    let receipt_key = ombud_app::receipts::active_key(
        store.as_ref(),
        &secrets,
        ombud_core::Clock::now(&ombud_app::clock::SystemClock),
    )
    .context("while preparing the receipt signing key")?;
    println!(
        "receipts are signed with key {}, derived from the master key; `ombud receipt keys` prints the public keys",
        receipt_key.kid
    );
    if let Some(previous) = &booted.renamed_from {
        println!(
            "the operator tenant is now named {} (was {previous}), as privacy.toml's [controller] says",
            policy.controller.name
        );
    }
    if let Some(secret) = booted.admin_secret {
        println!(
            "\nA bootstrap admin API key was created. It is shown only now; store it safely:\n\n    {}\n",
            secret.as_str()
        );
        println!(
            "{}",
            crate::serve_cmd::first_console_admin(
                store.as_ref(),
                booted.operator,
                args.admin_email
                    .as_deref()
                    .unwrap_or(&policy.controller.email),
                &args.public_url,
            )
        );
    }
    match &args.database_url {
        Some(_) => println!(
            "Start the server with `ombud serve --database-url …` (or OMBUD_DATABASE_URL set)."
        ),
        None => println!("Start the server with `ombud serve`."),
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the starter policy: a new file, or over the old one with --force.
fn write_starter(args: &InitArgs) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if args.force {
        options.create(true).truncate(true);
    } else {
        // create_new: a file that appears between the check above and now is never clobbered.
        options.create_new(true);
    }
    let mut file = options
        .open(&args.output)
        .with_context(|| format!("while creating {}", args.output.display()))?;
    file.write_all(args.example.source().as_bytes())
        .with_context(|| format!("while writing {}", args.output.display()))?;
    println!(
        "wrote {}: a complete example policy with a fictional operator.\nReplace the operator's details with yours, then run `ombud policy check {}`.",
        args.output.display(),
        args.output.display()
    );
    Ok(())
}
