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
}

pub fn run(args: InitArgs) -> Result<ExitCode> {
    if args.output.exists() && !args.force {
        bail!(
            "{} already exists; edit it, or pass --force to replace it with the starter policy",
            args.output.display()
        );
    }
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
    let policy = ombud_policy::check(args.example.source())
        .policy
        .context("the bundled example policy has errors")?;
    let created_key = !args.data_dir.join("master.key").exists()
        && std::env::var_os("OMBUD_MASTER_KEY").is_none()
        && std::env::var_os("OMBUD_MASTER_KEY_FILE").is_none();
    let (store, _) = crate::serve_cmd::open_store(
        &args.data_dir,
        None,
        None,
        crate::serve_cmd::KeyPolicy::CreateIfMissing,
        crate::dir_lock::Holder::Command,
    )?;
    if created_key {
        println!(
            "created the store in {} with a new master key in {} (mode 0600).\nProduction keeps the master key elsewhere: OMBUD_MASTER_KEY or OMBUD_MASTER_KEY_FILE.",
            args.data_dir.display(),
            args.data_dir.join("master.key").display()
        );
    }
    let booted = ombud_app::bootstrap::ensure_operator(
        store.as_ref(),
        &ombud_app::clock::SystemClock,
        &policy.controller.name,
    )
    .context("while preparing the operator tenant")?;
    if let Some(secret) = booted.admin_secret {
        println!(
            "\nA bootstrap admin API key was created. It is shown only now; store it safely:\n\n    {}\n",
            secret.as_str()
        );
    }
    println!("Start the server with `ombud serve`.");
    Ok(ExitCode::SUCCESS)
}
