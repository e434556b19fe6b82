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
use ombud_core::Clock;
use ombud_core::text::count;
use ombud_policy::Policy;
use ombud_store::model::{NewEvent, Secret, TenantId};
use ombud_store::subjects::{ImportEvent, ImportLine, ImportRecord};
use ombud_store::{Actor, Store, StoreError};
use serde::{Deserialize, Serialize};
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

/// Lines written in one transaction: large enough that a commit's cost is spread thin, small
/// enough that a crash redoes little and progress is saved often.
const BATCH: usize = 500;

/// A line checked and waiting for its batch: its number, what to write, and which of its
/// events the line left undated.
struct Pending {
    number: u64,
    line: ImportLine,
    undated: Vec<bool>,
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
    imported: u64,
    rejected: Vec<(u64, String)>,
    batch: Vec<Pending>,
}

impl Importer<'_> {
    /// Checks a line against the policy; a good one waits for its batch, a bad one is
    /// reported by number.
    fn line(&mut self, number: u64, text: &str) {
        let ParsedLine {
            identities,
            records,
            events,
        } = match parse_line(self.policy, text, self.now) {
            Ok(parsed) => parsed,
            Err(reason) => return self.rejected.push((number, reason)),
        };
        let undated = events.iter().map(|e| e.dated_at_import).collect();
        let line = ImportLine {
            identities,
            records: records
                .into_iter()
                .map(|record| ImportRecord {
                    fingerprint: record.fingerprint,
                    category: record.category,
                    purposes: record.purposes,
                    source: record.source,
                    collected_at: record.collected_at,
                    value: Secret::new(record.value),
                })
                .collect(),
            events: events
                .into_iter()
                .map(|event| ImportEvent {
                    fingerprint: event.fingerprint,
                    event: NewEvent {
                        id: None,
                        kind: event.kind,
                        purpose: event.purpose,
                        occurred_at: event.occurred_at,
                        channel: event.channel.or_else(|| Some("import".into())),
                        policy_version: Some(self.policy.version.0.clone()),
                    },
                })
                .collect(),
        };
        self.batch.push(Pending {
            number,
            line,
            undated,
        });
    }

    /// Writes the lines waiting, in one transaction; a line the store refuses is reported and
    /// the rest of its batch kept. The error is the store's, when the batch as a whole failed.
    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let (first, last) = (
            self.batch[0].number,
            self.batch[self.batch.len() - 1].number,
        );
        let mut lines = Vec::with_capacity(self.batch.len());
        let mut waiting = Vec::with_capacity(self.batch.len());
        for Pending {
            number,
            line,
            undated,
        } in self.batch.drain(..)
        {
            lines.push(line);
            waiting.push((number, undated));
        }
        let answers = self
            .store
            .import_lines(self.tenant, lines, &Actor::Cli, self.now)
            .with_context(|| format!("while writing lines {first} to {last}"))?;
        for ((number, undated), answer) in waiting.into_iter().zip(answers) {
            match answer {
                Ok(line) => {
                    self.imported += 1;
                    let events = line.events.iter().filter(|new| **new).count() as u64;
                    self.subjects_created += u64::from(line.created);
                    self.records += line.records as u64;
                    self.events += events;
                    self.dated_at_import += line
                        .events
                        .iter()
                        .zip(&undated)
                        .filter(|(new, undated)| **new && **undated)
                        .count() as u64;
                    if !line.created && line.records == 0 && events == 0 {
                        self.unchanged += 1;
                    }
                }
                Err(StoreError::IdentityTaken(kind)) => self.rejected.push((
                    number,
                    format!("its identities belong to different subjects (the {kind} is taken)"),
                )),
                Err(other) => self.rejected.push((number, other.to_string())),
            }
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
        now: SystemClock.now(),
        subjects_created: 0,
        records: 0,
        events: 0,
        unchanged: 0,
        dated_at_import: 0,
        imported: 0,
        rejected: Vec::new(),
        batch: Vec::with_capacity(BATCH),
    };
    let mut position = (progress.lines_done, progress.bytes_done);
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .with_context(|| format!("while reading {}", args.file.display()))?;
        if read > 0 {
            position = (position.0 + 1, position.1 + read as u64);
            if !line.trim().is_empty() {
                importer.line(position.0, line.trim_end());
            }
            bar.set_position(position.1);
        }
        if importer.batch.len() >= BATCH || read == 0 {
            importer.flush()?;
            // Saved once the batch is committed: a crash before it redoes the batch, whose
            // lines are found held.
            (progress.lines_done, progress.bytes_done) = position;
            save_progress(&progress_file, &progress)?;
        }
        if read == 0 {
            break;
        }
    }
    let (imported, mut rejected) = (importer.imported, std::mem::take(&mut importer.rejected));
    // Lines the policy refused were reported at once, those the store refused with their batch.
    rejected.sort_by_key(|(number, _)| *number);
    bar.finish_and_clear();
    // The whole file is done: the progress is no longer needed.
    let _ = std::fs::remove_file(&progress_file);
    // Statistics for the tables the import grew, before anything plans a query on them: without
    // them SQLite finds a person's identities by scanning the tenant's (milliseconds per
    // erasure at tens of thousands of people).
    importer
        .store
        .maintain()
        .context("while refreshing the store's statistics after the import")?;
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
