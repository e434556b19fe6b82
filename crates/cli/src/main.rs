//! The `ombud` binary: parses the command line, reads files, calls the library crates and picks
//! the exit code. Only this crate reads files, the environment or the terminal.

mod admin_cmd;
mod backup_cmd;
mod breach_cmd;
mod datasets_cmd;
mod dir_lock;
mod holds_cmd;
mod import_cmd;
mod init_cmd;
mod notice_cmd;
mod policy_cmd;
mod promises_cmd;
mod receipt_cmd;
mod request_cmd;
mod rotate_cmd;
mod scan_cmd;
mod serve_cmd;
mod subjects_cmd;
mod subprocessors_cmd;
mod sweep_cmd;
mod tenants_cmd;
mod users_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// ombud: a self-hosted privacy engine. Write your privacy policy once as code (privacy.toml);
/// ombud checks it, renders the published notice and the Article 30 record from it, and tells
/// what changed between two versions.
#[derive(Debug, Parser)]
#[command(
    name = "ombud",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API (SQLite in ./ombud-data by default, PostgreSQL with --database-url)
    Serve(serve_cmd::ServeArgs),
    /// Write a starter privacy.toml from one of the bundled examples
    Init(init_cmd::InitArgs),
    /// Create, list and show tenants; keep each customer's service-message contacts
    #[command(subcommand)]
    Tenants(tenants_cmd::TenantsCommand),
    /// Find a person by any identity: what ombud holds about them, in counts, never values
    #[command(subcommand)]
    Subjects(subjects_cmd::SubjectsCommand),
    /// Create, list and revoke API keys; rotate the master key
    #[command(subcommand)]
    Keys(admin_cmd::KeysCommand),
    /// Load subjects, records and events from a JSON Lines file (resumable)
    Import(import_cmd::ImportArgs),
    /// Work the data-subject request queue: list, show, verify, extend, fulfil, refuse
    #[command(subcommand)]
    Request(request_cmd::RequestCommand),
    /// Remove what has outlived its retention now (the server does it on a schedule)
    Sweep(sweep_cmd::SweepArgs),
    /// Place, list and release legal holds
    #[command(subcommand)]
    Holds(holds_cmd::HoldsCommand),
    /// See retention at work before it acts
    #[command(subcommand)]
    Retention(sweep_cmd::RetentionCommand),
    /// The breach register: open, list, show and close incidents (72-hour clock)
    #[command(subcommand)]
    Breach(breach_cmd::BreachCommand),
    /// Service messages of the policy's kinds, and the ledger of who received which
    #[command(subcommand)]
    Notice(notice_cmd::NoticeCommand),
    /// The sub-processor registry and change notices to customers
    #[command(subcommand)]
    Subprocessors(subprocessors_cmd::SubprocessorsCommand),
    /// Copy the running SQLite store (data and key file) into a new directory
    Backup(backup_cmd::BackupArgs),
    /// Put a backup back and carry out again every erasure recorded after it
    Restore(backup_cmd::RestoreArgs),
    /// Export the erasure ledger, to replay after restoring an older backup
    #[command(subcommand)]
    Erasures(backup_cmd::ErasuresCommand),
    /// Check the tamper-evident audit log
    #[command(subcommand)]
    Audit(admin_cmd::AuditCommand),
    /// Work with a privacy policy written as code (privacy.toml)
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// The datasets that reach the operator's own databases: check, test, import, reach, scan
    #[command(subcommand)]
    Datasets(datasets_cmd::DatasetsCommand),
    /// Check that the running system keeps what the published notice promises
    #[command(subcommand)]
    Promises(promises_cmd::PromisesCommand),
    /// Signed receipts: verify one, print the published keys, rotate or retire a key
    #[command(subcommand)]
    Receipt(receipt_cmd::ReceiptCommand),
    /// The people who sign in to the console: create (with a one-time setup link), list
    #[command(subcommand)]
    Users(users_cmd::UsersCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve_cmd::run(args),
        Command::Init(args) => init_cmd::run(args),
        Command::Tenants(command) => tenants_cmd::run(command),
        Command::Subjects(command) => subjects_cmd::run(command),
        Command::Keys(command) => admin_cmd::keys(command),
        Command::Import(args) => import_cmd::run(args),
        Command::Audit(command) => admin_cmd::audit(command),
        Command::Request(command) => request_cmd::run(command),
        Command::Sweep(args) => sweep_cmd::run(args),
        Command::Retention(command) => sweep_cmd::retention(command),
        Command::Holds(command) => holds_cmd::run(command),
        Command::Policy(command) => policy_cmd::run(command),
        Command::Datasets(command) => datasets_cmd::run(command),
        Command::Promises(command) => promises_cmd::run(command),
        Command::Receipt(command) => receipt_cmd::run(command),
        Command::Users(command) => users_cmd::run(command),
        Command::Breach(command) => breach_cmd::run(command),
        Command::Notice(command) => notice_cmd::run(command),
        Command::Subprocessors(command) => subprocessors_cmd::run(command),
        Command::Backup(args) => backup_cmd::backup(args),
        Command::Restore(args) => backup_cmd::restore(args),
        Command::Erasures(command) => backup_cmd::erasures(command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
