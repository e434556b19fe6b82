//! `ombud import FILE.jsonl`: loads subjects, records and events, one JSON object a line.
//!
//! A bad line is reported by number and skipped; it never stops or changes the rest. The import
//! can be stopped at any moment and run again: progress is kept beside the file, and every
//! record and event gets an id derived from the file and its line, so a line applied twice is
//! stored once.

use crate::admin_cmd::StoreArgs;
use crate::serve_cmd::load_policy;
use anyhow::{Context, Result, bail};
use clap::Args;
use ombud_app::clock::SystemClock;
use ombud_app::import::{ParsedLine, parse_line};
use ombud_core::{Clock, Identity};
use ombud_policy::Policy;
use ombud_store::model::{EventId, NewEvent, NewRecord, RecordId, Secret, SubjectId, TenantId};
use ombud_store::{Actor, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A JSON Lines file: {"identities": [...], "records": [...], "events": [...]} per line
    pub file: PathBuf,
    /// The tenant the data belongs to: a tenant id, or `operator`
    #[arg(long)]
    pub tenant: String,
    /// The policy the records are checked against
    #[arg(long, env = "OMBUD_POLICY")]
    pub policy: Option<PathBuf>,
    /// Start again from the first line, ignoring earlier progress
    #[arg(long)]
    pub restart: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// What is kept beside the file between runs.
#[derive(Debug, Serialize, Deserialize)]
struct Progress {
    /// The file's content hash: progress of another file (or an edited one) is not reused.
    file: String,
    lines_done: u64,
    bytes_done: u64,
}

fn progress_path(file: &Path) -> PathBuf {
    let mut name = file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".ombud-progress");
    file.with_file_name(name)
}

fn save_progress(path: &Path, progress: &Progress) -> Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, serde_json::to_vec(progress)?)
        .with_context(|| format!("while saving progress to {}", path.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("while saving progress to {}", path.display()))?;
    Ok(())
}

fn file_hash(path: &Path) -> Result<blake3::Hash> {
    let mut hasher = blake3::Hasher::new();
    let mut file =
        std::fs::File::open(path).with_context(|| format!("while opening {}", path.display()))?;
    let mut buffer = vec![0; 1 << 16];
    loop {
        let n = file
            .read(&mut buffer)
            .with_context(|| format!("while reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher.finalize())
}

/// An id that is the same every time this line of this file is imported.
fn derived_id(file: &blake3::Hash, line: u64, what: &str, index: usize) -> uuid::Uuid {
    let mut hasher = blake3::Hasher::new_derive_key("ombud 2026-11 import ids");
    hasher.update(file.as_bytes());
    hasher.update(&line.to_le_bytes());
    hasher.update(what.as_bytes());
    hasher.update(&(index as u64).to_le_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    uuid::Uuid::new_v8(bytes)
}

struct Importer<'a> {
    store: &'a dyn Store,
    policy: &'a Policy,
    tenant: TenantId,
    file: blake3::Hash,
    now: jiff::Timestamp,
    subjects_created: u64,
    records: u64,
    events: u64,
}

impl Importer<'_> {
    fn subject(&mut self, identities: &[Identity]) -> Result<SubjectId, String> {
        for identity in identities {
            if let Some(found) = self
                .store
                .find_subject(self.tenant, identity)
                .map_err(|e| e.to_string())?
            {
                return Ok(found);
            }
        }
        match self
            .store
            .create_subject(self.tenant, identities, &Actor::Cli, self.now)
        {
            Ok(id) => {
                self.subjects_created += 1;
                Ok(id)
            }
            Err(StoreError::IdentityTaken(kind)) => Err(format!(
                "its identities belong to different subjects (the {kind} is taken)"
            )),
            Err(other) => Err(other.to_string()),
        }
    }

    fn line(&mut self, number: u64, text: &str) -> Result<(), String> {
        let ParsedLine {
            identities,
            records,
            events,
        } = parse_line(self.policy, text, self.now)?;
        let subject = self.subject(&identities)?;
        let new_records: Vec<NewRecord> = records
            .into_iter()
            .map(|record| NewRecord {
                id: Some(RecordId(derived_id(
                    &self.file,
                    number,
                    "record",
                    record.index,
                ))),
                subject,
                category: record.category,
                purposes: record.purposes,
                source: record.source,
                collected_at: record.collected_at,
                value: Secret::new(record.value),
            })
            .collect();
        let new_events: Vec<(SubjectId, NewEvent)> = events
            .into_iter()
            .map(|(i, kind, event)| {
                (
                    subject,
                    NewEvent {
                        id: Some(EventId(derived_id(&self.file, number, "event", i))),
                        kind,
                        purpose: event.purpose,
                        occurred_at: event.occurred_at,
                        channel: event.channel.or_else(|| Some("import".into())),
                        policy_version: Some(self.policy.version.0.clone()),
                    },
                )
            })
            .collect();
        // One transaction for the line: a crash never leaves records without the contract or
        // consent that says why they are kept (which the sweeper would then take as nothing).
        if !new_records.is_empty() || !new_events.is_empty() {
            self.store
                .put_records_and_events(
                    self.tenant,
                    &new_records,
                    &new_events,
                    &Actor::Cli,
                    self.now,
                )
                .map_err(|e| e.to_string())?;
            self.records += new_records.len() as u64;
            self.events += new_events.len() as u64;
        }
        Ok(())
    }
}

pub fn run(args: ImportArgs) -> Result<ExitCode> {
    let (policy, _, _) = load_policy(args.policy.as_deref())?;
    let store = args.store.open()?;
    let tenant = crate::admin_cmd::tenant(store.as_ref(), &args.tenant)?;
    let file_hash = file_hash(&args.file)?;
    let total = std::fs::metadata(&args.file)
        .with_context(|| format!("while reading {}", args.file.display()))?
        .len();
    let progress_file = progress_path(&args.file);
    let mut progress = match std::fs::read(&progress_file) {
        Ok(bytes) if !args.restart => match serde_json::from_slice::<Progress>(&bytes) {
            Ok(saved) if saved.file == file_hash.to_hex().as_str() => saved,
            Ok(_) => bail!(
                "{} belongs to another version of the file; pass --restart to import this one from the start",
                progress_file.display()
            ),
            Err(_) => bail!(
                "{} is damaged; pass --restart to import from the start",
                progress_file.display()
            ),
        },
        _ => Progress {
            file: file_hash.to_hex().to_string(),
            lines_done: 0,
            bytes_done: 0,
        },
    };
    if progress.lines_done > 0 {
        println!(
            "resuming {} after line {}",
            args.file.display(),
            progress.lines_done
        );
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_position(progress.bytes_done);

    let mut reader = BufReader::new(
        std::fs::File::open(&args.file)
            .with_context(|| format!("while opening {}", args.file.display()))?,
    );
    let mut skipped = 0;
    let mut line = String::new();
    while skipped < progress.lines_done {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        skipped += 1;
    }
    let mut importer = Importer {
        store: store.as_ref(),
        policy: &policy,
        tenant,
        file: file_hash,
        now: SystemClock.now(),
        subjects_created: 0,
        records: 0,
        events: 0,
    };
    let mut rejected: Vec<(u64, String)> = Vec::new();
    let mut imported = 0u64;
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .with_context(|| format!("while reading {}", args.file.display()))?;
        if read == 0 {
            break;
        }
        let number = progress.lines_done + 1;
        if !line.trim().is_empty() {
            match importer.line(number, line.trim_end()) {
                Ok(()) => imported += 1,
                Err(reason) => rejected.push((number, reason)),
            }
        }
        progress.lines_done = number;
        progress.bytes_done += read as u64;
        bar.set_position(progress.bytes_done);
        if number % 500 == 0 {
            save_progress(&progress_file, &progress)?;
        }
    }
    bar.finish_and_clear();
    // The whole file is done: the progress is no longer needed.
    let _ = std::fs::remove_file(&progress_file);
    println!(
        "imported {imported} lines: {} subjects created, {} records, {} events",
        importer.subjects_created, importer.records, importer.events
    );
    if rejected.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    println!("rejected {} lines:", rejected.len());
    for (number, reason) in rejected.iter().take(100) {
        println!("  line {number}: {reason}");
    }
    if rejected.len() > 100 {
        println!("  … and {} more", rejected.len() - 100);
    }
    Ok(ExitCode::from(1))
}
