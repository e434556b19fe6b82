//! `ombud import FILE.jsonl`: loads subjects, records and events, one JSON object a line.
//!
//! A bad line is reported by number and skipped; it never stops or changes the rest. The import
//! can be stopped at any moment and run again: progress is kept beside the file, and every
//! record and event gets an id derived from its person and its content, so what was imported
//! before (from this file, edited or not, or another) is stored once.

use crate::admin_cmd::StoreArgs;
use crate::serve_cmd::load_policy;
use anyhow::{Context, Result, bail};
use clap::Args;
use ombud_app::clock::SystemClock;
use ombud_app::import::{ParsedLine, parse_line};
use ombud_core::text::count;
use ombud_core::{Clock, Identity};
use ombud_policy::Policy;
use ombud_store::model::{EventId, NewEvent, NewRecord, RecordId, Secret, SubjectId, TenantId};
use ombud_store::{Actor, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A JSON Lines file: {"identities": [...], "records": [...], "events": [...]} per line
    /// (every field: docs/import.md)
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

/// The id of a record or event: the same whenever the same content is imported for the same
/// person, whichever file or line it comes from, so that importing it again adds nothing.
fn derived_id(tenant: TenantId, subject: SubjectId, fingerprint: &[u8; 32]) -> uuid::Uuid {
    let mut hasher = blake3::Hasher::new_derive_key("ombud 2026-11 import ids by content");
    hasher.update(tenant.0.as_bytes());
    hasher.update(subject.0.as_bytes());
    hasher.update(fingerprint);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    uuid::Uuid::new_v8(bytes)
}

struct Importer<'a> {
    store: &'a dyn Store,
    policy: &'a Policy,
    tenant: TenantId,
    now: jiff::Timestamp,
    subjects_created: u64,
    records: u64,
    events: u64,
    /// Lines whose every record and event was there already.
    unchanged: u64,
    /// Events the line gave no time, dated at the import.
    dated_at_import: u64,
}

impl Importer<'_> {
    /// The person the identities lead to, and whether they were there before this line.
    fn subject(&mut self, identities: &[Identity]) -> Result<(SubjectId, bool), String> {
        for identity in identities {
            if let Some(found) = self
                .store
                .find_subject(self.tenant, identity)
                .map_err(|e| e.to_string())?
            {
                return Ok((found, true));
            }
        }
        match self
            .store
            .create_subject(self.tenant, identities, &Actor::Cli, self.now)
        {
            Ok(id) => {
                self.subjects_created += 1;
                Ok((id, false))
            }
            Err(StoreError::IdentityTaken(kind)) => Err(format!(
                "its identities belong to different subjects (the {kind} is taken)"
            )),
            Err(other) => Err(other.to_string()),
        }
    }

    fn line(&mut self, text: &str) -> Result<(), String> {
        let ParsedLine {
            identities,
            records,
            events,
        } = parse_line(self.policy, text, self.now)?;
        let (subject, known) = self.subject(&identities)?;
        // A person already here may have this line's content from an earlier import: what
        // they hold is not written again (nor audited as written).
        let (mut held_records, mut held_events) = (HashSet::new(), HashSet::new());
        if known {
            held_records.extend(
                self.store
                    .records(self.tenant, subject)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|r| r.id.0),
            );
            held_events.extend(
                self.store
                    .events(self.tenant, subject)
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|e| e.id.0),
            );
        }
        let mut new_records: Vec<NewRecord> = Vec::new();
        for record in records {
            let id = derived_id(self.tenant, subject, &record.fingerprint);
            if held_records.insert(id) {
                new_records.push(NewRecord {
                    id: Some(RecordId(id)),
                    subject,
                    category: record.category,
                    purposes: record.purposes,
                    source: record.source,
                    collected_at: record.collected_at,
                    value: Secret::new(record.value),
                });
            }
        }
        let mut new_events: Vec<(SubjectId, NewEvent)> = Vec::new();
        let mut dated_at_import = 0;
        for event in events {
            let id = derived_id(self.tenant, subject, &event.fingerprint);
            if held_events.insert(id) {
                dated_at_import += u64::from(event.dated_at_import);
                new_events.push((
                    subject,
                    NewEvent {
                        id: Some(EventId(id)),
                        kind: event.kind,
                        purpose: event.purpose,
                        occurred_at: event.occurred_at,
                        channel: event.channel.or_else(|| Some("import".into())),
                        policy_version: Some(self.policy.version.0.clone()),
                    },
                ));
            }
        }
        if new_records.is_empty() && new_events.is_empty() {
            if known {
                self.unchanged += 1;
            }
            return Ok(());
        }
        // One transaction for the line: a crash never leaves records without the contract or
        // consent that says why they are kept (which the sweeper would then take as nothing).
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
        self.dated_at_import += dated_at_import;
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
        now: SystemClock.now(),
        subjects_created: 0,
        records: 0,
        events: 0,
        unchanged: 0,
        dated_at_import: 0,
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
            match importer.line(line.trim_end()) {
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
        "read {} of {}: {}, {}, {}",
        count(imported, "line", "lines"),
        args.file.display(),
        count(importer.subjects_created, "new person", "new people"),
        count(importer.records, "new record", "new records"),
        count(importer.events, "new event", "new events"),
    );
    if importer.unchanged > 0 {
        println!(
            "{} added nothing: everything in them was imported before",
            count(importer.unchanged, "line", "lines")
        );
    }
    if importer.dated_at_import > 0 {
        println!(
            "{} gave no occurred_at and {} dated at this import, {}",
            count(importer.dated_at_import, "event", "events"),
            if importer.dated_at_import == 1 {
                "is"
            } else {
                "are"
            },
            importer
                .now
                .to_zoned(crate::serve_cmd::time_zone_of(&policy)?)
                .strftime("%Y-%m-%d %H:%M:%S %Z")
        );
    }
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
