//! `ombud receipt`: verify a receipt offline against published keys (a JWKS file or URL), or
//! against the store's own keys and audit chain; print the published keys; rotate and retire
//! the signing keys.

use crate::admin_cmd::StoreArgs;
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use ombud_app::clock::SystemClock;
use ombud_app::receipts::{self, ChainCheck, Jwks, Receipt};
use ombud_core::Clock;
use ombud_store::Actor;
use ombud_store::audit::NewAuditEntry;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Check a receipt's signature (and, with --chain, the audit chain it names); exit 1
    /// when it does not hold
    Verify(VerifyArgs),
    /// Print the keys receipts are verified with, as published (a JWKS)
    Keys {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Start signing with a new key; the earlier keys still verify what they signed
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Stop publishing a key (after a compromise): what it signed no longer verifies
    Retire {
        /// The key id (`kid`), from `ombud receipt keys`
        kid: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The receipt: a file holding the JWS, or a saved mail with it between its BEGIN and END
    /// lines; `-` reads standard input
    file: PathBuf,
    /// The published keys: a JWKS file, or the URL of a server's
    /// /.well-known/ombud-receipt-keys.json. Without it, the keys of the local store
    #[arg(long, value_name = "FILE|URL")]
    keys: Option<String>,
    /// Also check the local store's audit chain against the receipt's chain head
    #[arg(long)]
    chain: bool,
    /// text or json
    #[arg(long, default_value = "text")]
    format: String,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn run(command: ReceiptCommand) -> Result<ExitCode> {
    match command {
        ReceiptCommand::Verify(args) => verify(args),
        ReceiptCommand::Keys { store } => {
            let store = store.open()?;
            let keys = Jwks::published(&store.receipt_keys()?);
            println!("{}", serde_json::to_string_pretty(&keys)?);
            Ok(ExitCode::SUCCESS)
        }
        ReceiptCommand::Rotate { store } => {
            let (store, master) = store.open_with_key()?;
            let secrets = ombud_app::secrets::Secrets::from_master(&master);
            drop(master);
            let now = SystemClock.now();
            let key = receipts::rotate(store.as_ref(), &secrets, now)?;
            record(store.as_ref(), "receipts.key_rotated", &key.kid, now)?;
            println!(
                "receipts are signed with key {} from now on; the earlier keys still verify what they signed",
                key.kid
            );
            Ok(ExitCode::SUCCESS)
        }
        ReceiptCommand::Retire { kid, store } => {
            let store = store.open()?;
            let now = SystemClock.now();
            let known = store.receipt_keys()?;
            let Some(key) = known.iter().find(|k| k.kid == kid) else {
                bail!(
                    "no receipt key `{kid}`; `ombud receipt keys` lists the keys in use ({})",
                    known
                        .iter()
                        .filter(|k| k.retired_at.is_none())
                        .map(|k| k.kid.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            if key.retired_at.is_some() {
                bail!("receipt key `{kid}` is retired already");
            }
            store.retire_receipt_key(&kid, now)?;
            record(store.as_ref(), "receipts.key_retired", &kid, now)?;
            println!(
                "receipt key {kid} is retired: it is no longer published, and what it signed no longer verifies; the next receipt is signed with a new key if none is left"
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Key changes are on record in the operator's audit log.
fn record(
    store: &dyn ombud_store::Store,
    action: &str,
    kid: &str,
    now: jiff::Timestamp,
) -> Result<()> {
    let operator = crate::admin_cmd::tenant(store, "operator")?;
    store.append_audit(
        operator,
        NewAuditEntry {
            actor: Actor::Cli.audit_name(),
            action: action.into(),
            subject: None,
            categories: vec![],
            purpose: None,
            detail: Some(format!("kid={kid}")),
        },
        now,
    )?;
    Ok(())
}

fn read_keys(source: &str) -> Result<Jwks> {
    let text = if source.starts_with("https://") || source.starts_with("http://") {
        ureq::get(source)
            .call()
            .with_context(|| format!("--keys {source}: the keys could not be fetched"))?
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string()
            .with_context(|| format!("--keys {source}: the answer could not be read"))?
    } else {
        std::fs::read_to_string(source)
            .with_context(|| format!("--keys {source}: the file could not be read"))?
    };
    serde_json::from_str(&text).map_err(|e| {
        anyhow!("--keys {source}: not a JSON Web Key Set ({e}); give the server's /.well-known/ombud-receipt-keys.json")
    })
}

fn verify(args: VerifyArgs) -> Result<ExitCode> {
    if !matches!(args.format.as_str(), "text" | "json") {
        bail!("--format {}: give text or json", args.format);
    }
    let text = if args.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .context("while reading the receipt from standard input")?
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("while reading {}", args.file.display()))?
    };
    let store = match (&args.keys, args.chain) {
        (Some(_), false) => None,
        _ => Some(args.store.open()?),
    };
    let keys = match (&args.keys, &store) {
        (Some(source), _) => read_keys(source)?,
        (None, Some(store)) => Jwks::published(&store.receipt_keys()?),
        (None, None) => bail!("give the published keys with --keys FILE|URL"),
    };
    let receipt = match receipts::verify_text(&text, &keys) {
        Ok(receipt) => receipt,
        Err(error) => {
            match args.format.as_str() {
                "json" => println!(
                    "{}",
                    serde_json::json!({ "valid": false, "error": error.to_string() })
                ),
                _ => println!("{}: does not verify: {error}", args.file.display()),
            }
            return Ok(ExitCode::from(1));
        }
    };
    let chain = match (&store, args.chain) {
        (Some(store), true) => Some(receipts::check_chain(
            store.as_ref(),
            ombud_store::model::TenantId(receipt.tenant),
            &receipt.audit_head,
        )?),
        _ => None,
    };
    let holds = chain
        .as_ref()
        .is_none_or(|c| matches!(c, ChainCheck::Holds { .. }));
    match args.format.as_str() {
        "json" => println!(
            "{}",
            serde_json::json!({ "valid": holds, "signature": "valid", "chain": chain, "payload": receipt })
        ),
        _ => print_text(&receipt, chain.as_ref()),
    }
    Ok(if holds {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_text(receipt: &Receipt, chain: Option<&ChainCheck>) {
    let of = match receipt.of {
        receipts::Of::Request => "a request",
        receipts::Of::Sweep => "a sweep run",
        receipts::Of::AuditHead => "an audit-chain head",
    };
    println!(
        "signature: valid — a receipt of {of}, signed by {}",
        receipt.issuer
    );
    println!("issued at: {}", receipt.issued_at);
    println!("tenant: {}", receipt.tenant);
    println!("policy version: {}", receipt.policy_version);
    println!(
        "audit chain head: entry {} ({})",
        receipt.audit_head.seq, receipt.audit_head.hash
    );
    if let Some(request) = &receipt.request {
        println!(
            "request {} ({}), received {}, fulfilled {}: {}",
            request.id, request.kind, request.received_at, request.fulfilled_at, request.summary
        );
        for (category, count) in &request.categories {
            println!("  {category}: {count}");
        }
        for table in &request.systems {
            println!(
                "  {}.{}: {} deleted, {} masked",
                table.dataset, table.collection, table.deleted, table.masked
            );
        }
        for kept in &request.kept {
            println!(
                "  kept: {} {} under {}{}{}",
                kept.records,
                kept.category,
                kept.rule,
                kept.law
                    .as_deref()
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default(),
                kept.until
                    .map(|u| format!(" until {u}"))
                    .unwrap_or_default()
            );
        }
    }
    if let Some(sweep) = &receipt.sweep {
        println!(
            "sweep at {}: {} records removed ({} people whole), {} held, {} restricted",
            sweep.ran_at, sweep.records, sweep.subjects, sweep.held, sweep.restricted
        );
        for (rule, count) in &sweep.by_rule {
            println!("  rule {rule}: {count}");
        }
        for table in &sweep.systems {
            println!(
                "  {}.{}: {} {} rows",
                table.dataset, table.collection, table.action, table.rows
            );
        }
    }
    if let Some(day) = receipt.day {
        println!("seals the end of {day}");
    }
    match chain {
        None => {}
        Some(ChainCheck::Holds { seq, entries_since }) => println!(
            "audit chain: holds — entry {seq} still has the signed hash, {entries_since} entries since"
        ),
        Some(ChainCheck::Changed { seq }) => {
            println!("audit chain: CHANGED — entry {seq} no longer has the hash the receipt signed")
        }
        Some(ChainCheck::Broken { seq, reason }) => {
            println!("audit chain: BROKEN at entry {seq}: {reason}")
        }
        Some(ChainCheck::Pruned { through }) => println!(
            "audit chain: entries up to {through} were pruned under the audit log's retention; it can no longer speak for this head"
        ),
    }
}
