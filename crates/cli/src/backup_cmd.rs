//! `ombud backup DIR`: a consistent copy of the running SQLite store (data and key file) with a
//! manifest. `ombud restore DIR`: puts it back and carries out again every erasure recorded
//! after it, so nobody erased comes back. `ombud erasures export`: the erasure ledger (ids and
//! times only) to keep apart from backups, and to replay onto a restored PostgreSQL database
//! with `ombud restore --replay-erasures FILE`.

use crate::admin_cmd::{StoreArgs, tenant};
use crate::serve_cmd::{KeyPolicy, master_key};
use anyhow::{Context, Result, anyhow, bail};
use jiff::{SignedDuration, Timestamp};
use ombud_store::audit::Verification;
use ombud_store::prelude::*;
use ombud_store::requests::{ErasureEntry, Replayed};
use ombud_store::{Actor, SqliteStore, Store};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const MANIFEST: &str = "backup.json";
const DATA: &str = "ombud.db";
const KEYS: &str = "ombud-keys.db";
/// An erasure stamped before the snapshot may still have committed after it: the ledger is
/// replayed from this long before the backup (replaying one the backup holds changes nothing).
const REPLAY_MARGIN: SignedDuration = SignedDuration::from_hours(1);

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    /// Taken just before the snapshot.
    taken_at: Timestamp,
    files: Vec<FileEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FileEntry {
    name: String,
    bytes: u64,
    blake3: String,
}

fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut hasher = blake3::Hasher::new();
    let file =
        std::fs::File::open(path).with_context(|| format!("while reading {}", path.display()))?;
    let bytes = std::io::copy(&mut std::io::BufReader::new(file), &mut hasher)
        .with_context(|| format!("while reading {}", path.display()))?;
    Ok((bytes, hasher.finalize().to_hex().to_string()))
}

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// A new or empty directory for the copy
    dir: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn backup(args: BackupArgs) -> Result<ExitCode> {
    if args.store.database_url.is_some() {
        bail!(
            "ombud backup copies the embedded SQLite store; back PostgreSQL up with pg_dump or continuous archiving, leaving out subject_keys (docs/operations.md)"
        );
    }
    refuse_interrupted_restore(&args.store.data_dir)?;
    let data = args.store.data_dir.join(DATA);
    if data.exists() {
        crate::dir_lock::share(&args.store.data_dir)?;
    }
    if !data.exists() {
        bail!(
            "there is no store in {}: pass --data-dir",
            args.store.data_dir.display()
        );
    }
    if args.dir.exists()
        && std::fs::read_dir(&args.dir)
            .with_context(|| format!("{} is not a directory", args.dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty: give a new directory for each backup",
            args.dir.display()
        );
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("while creating {}", args.dir.display()))?;
    let key = master_key(&args.store.data_dir, KeyPolicy::MustExist)?;
    let store = SqliteStore::open(&data, &key)
        .with_context(|| format!("while opening {}", data.display()))?;
    let taken_at = Timestamp::now();
    store
        .backup_into(&args.dir.join(DATA))
        .context("while copying the store")?;
    let mut files = Vec::new();
    for name in [DATA, KEYS] {
        let (bytes, blake3) = hash_file(&args.dir.join(name))?;
        files.push(FileEntry {
            name: name.into(),
            bytes,
            blake3,
        });
    }
    let manifest = Manifest {
        format: 1,
        taken_at,
        files,
    };
    std::fs::write(
        args.dir.join(MANIFEST),
        serde_json::to_vec_pretty(&manifest)?,
    )
    .with_context(|| format!("while writing the manifest in {}", args.dir.display()))?;
    println!(
        "backed up to {} ({} and {}, {} bytes), taken at {taken_at}",
        args.dir.display(),
        DATA,
        KEYS,
        manifest.files.iter().map(|f| f.bytes).sum::<u64>()
    );
    println!(
        "the master key is not in the backup: without it the copy cannot be read, so keep it apart"
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A directory written by `ombud backup` (SQLite); leave out for PostgreSQL, which is
    /// restored with its own tools first
    dir: Option<PathBuf>,
    /// An erasure ledger (`ombud erasures export`) to carry out on the restored store, besides
    /// the erasures the store being replaced records
    #[arg(long, value_name = "FILE")]
    replay_erasures: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
}

/// Reads a ledger file; a bad line is refused with its number before anything changes.
fn read_ledger(path: &Path) -> Result<Vec<ErasureEntry>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("--replay-erasures: cannot read {}", path.display()))?;
    let mut entries = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line =
            line.with_context(|| format!("--replay-erasures: {} is not text", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: ErasureEntry = serde_json::from_str(&line).map_err(|e| {
            anyhow!(
                "--replay-erasures: {} line {}: {e}; each line is one entry of `ombud erasures export`",
                path.display(),
                n + 1
            )
        })?;
        entries.push(entry);
    }
    Ok(entries)
}

fn ledger_of(store: &dyn Store, since: Option<Timestamp>) -> Result<Vec<ErasureEntry>> {
    let mut ledger = Vec::new();
    for tenant in store.tenants()? {
        ledger.extend(store.erasure_ledger(tenant.id, since)?);
    }
    Ok(ledger)
}

/// Carries out the ledger on `store` and checks every audit chain after it.
fn replay(store: &dyn Store, ledger: &[ErasureEntry]) -> Result<bool> {
    let (mut erased, mut gone, mut no_tenant) = (0, 0, 0);
    let now = Timestamp::now();
    for entry in ledger {
        match store.replay_erasure(entry, &Actor::Cli, now)? {
            Replayed::Erased => erased += 1,
            Replayed::AlreadyGone => gone += 1,
            Replayed::NoTenant => no_tenant += 1,
        }
        crash_point();
    }
    println!(
        "replayed {} erasures: {erased} subjects erased again, {gone} not in the restored store{}",
        ledger.len(),
        if no_tenant > 0 {
            format!(", {no_tenant} of tenants created after the backup")
        } else {
            String::new()
        }
    );
    if erased > 0 {
        store.purge_deleted()?;
    }
    let mut intact = true;
    for tenant in store.tenants()? {
        if let Verification::Broken { seq, reason } = store.verify_audit(tenant.id)? {
            intact = false;
            println!(
                "tenant {}: audit log BROKEN at entry {seq}: {reason}",
                tenant.id
            );
        }
    }
    if intact {
        println!("every tenant's audit log verifies");
    }
    Ok(intact)
}

/// The files of one SQLite store: the data file, its key file, and their journals.
fn store_files(data: &Path) -> Vec<PathBuf> {
    let keys = SqliteStore::key_file(data);
    let mut files = Vec::new();
    for file in [data.to_path_buf(), keys] {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            files.push(PathBuf::from(format!("{}{suffix}", file.display())));
        }
    }
    files
}

pub fn restore(args: RestoreArgs) -> Result<ExitCode> {
    let from_file = match &args.replay_erasures {
        Some(path) => read_ledger(path)?,
        None => vec![],
    };
    if args.store.database_url.is_some() {
        if args.dir.is_some() {
            bail!(
                "a PostgreSQL database is restored with pg_restore or point-in-time recovery; then run `ombud restore --replay-erasures FILE` against it (docs/operations.md)"
            );
        }
        if args.replay_erasures.is_none() {
            bail!(
                "--replay-erasures: give the erasure ledger exported before the restore (`ombud erasures export`)"
            );
        }
        let store = args.store.open_alone("replaying erasures")?;
        let intact = replay(store.as_ref(), &from_file)?;
        return Ok(if intact {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let data_dir = &args.store.data_dir;
    ombud_app::jobs::private_dir(data_dir)
        .with_context(|| format!("while creating {}", data_dir.display()))?;
    crate::dir_lock::exclusive(data_dir, "a restore")?;
    if let Some(mut pending) = read_pending(data_dir)? {
        println!(
            "finishing the restore of {} that was interrupted",
            pending.backup.display()
        );
        let key = master_key(data_dir, KeyPolicy::MustExist)?;
        let finished = finish(data_dir, &key, &mut pending)?;
        let same = |dir: &PathBuf| {
            std::fs::canonicalize(dir).ok() == std::fs::canonicalize(&pending.backup).ok()
        };
        if args.dir.as_ref().is_none_or(same) {
            if from_file.is_empty() {
                return Ok(finished);
            }
            let store = SqliteStore::open(&data_dir.join(DATA), &key)?;
            let intact = replay(&store, &from_file)?;
            return Ok(if intact && finished == ExitCode::SUCCESS {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
    }
    let Some(dir) = &args.dir else {
        bail!("give the backup directory to restore: `ombud restore DIR`");
    };
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join(MANIFEST)).with_context(|| {
            format!(
                "{} holds no {MANIFEST}: is it a directory `ombud backup` wrote?",
                dir.display()
            )
        })?)
        .with_context(|| format!("{} is damaged", dir.join(MANIFEST).display()))?;
    if manifest.format != 1 {
        bail!(
            "{}: backup format {} is not one this ombud reads",
            dir.display(),
            manifest.format
        );
    }
    for name in [DATA, KEYS] {
        let expected = manifest
            .files
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| anyhow!("{}: the manifest lists no {name}", dir.display()))?;
        let (bytes, blake3) = hash_file(&dir.join(name))?;
        if bytes != expected.bytes || blake3 != expected.blake3 {
            bail!(
                "{} does not match its manifest: the backup is damaged; nothing was changed",
                dir.join(name).display()
            );
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("while creating {}", data_dir.display()))?;
    let key = master_key(data_dir, KeyPolicy::MustExist)?;

    // The copy goes in beside the live store first and must open with the master key.
    let staged = data_dir.join(STAGED);
    for file in store_files(&staged) {
        let _ = std::fs::remove_file(file);
    }
    std::fs::copy(dir.join(DATA), &staged)
        .with_context(|| format!("while copying into {}", data_dir.display()))?;
    std::fs::copy(dir.join(KEYS), SqliteStore::key_file(&staged))
        .with_context(|| format!("while copying into {}", data_dir.display()))?;
    let opened = SqliteStore::open(&staged, &key)
        .and_then(|store| {
            store.check_master_key()?;
            store.purge_deleted()?;
            Ok(store)
        })
        .map_err(|e| {
            for file in store_files(&staged) {
                let _ = std::fs::remove_file(file);
            }
            anyhow!("the backup does not open with this master key ({e}); nothing was changed")
        })?;
    drop(opened);
    crash_point();

    // What the store being replaced erased since the backup.
    let live = data_dir.join(DATA);
    let mut ledger = Vec::new();
    if live.exists() {
        let store = SqliteStore::open(&live, &key).with_context(|| {
            format!("while reading the erasures recorded in {}", live.display())
        })?;
        ledger = ledger_of(&store, Some(manifest.taken_at - REPLAY_MARGIN))?;
    }
    ledger.extend(from_file);
    // The same erasure from the store and from a ledger file is carried out once: the latest.
    ledger.sort_by_key(|e| (e.tenant, e.subject, std::cmp::Reverse(e.erased_at)));
    ledger.dedup_by_key(|e| (e.tenant, e.subject));
    ledger.sort_by_key(|e| e.erased_at);

    // From here on the journal says what is left to do: the ledger would be lost with the
    // replaced store, and a store half moved in must not be opened.
    let mut pending = Pending {
        backup: dir.clone(),
        taken_at: manifest.taken_at,
        stamp: Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string(),
        phase: Phase::SettingAside,
        ledger,
    };
    write_pending(data_dir, &pending)?;
    crash_point();
    finish(data_dir, &key, &mut pending)
}

const STAGED: &str = "ombud.restoring.db";
/// The journal of a restore under way, in the data directory.
const PENDING: &str = "restore.pending.json";

/// What a restore has left to do, written before the first file of the live store moves and
/// after each phase, so that a restore cut short (killed, power lost) is finished by running
/// `ombud restore` again, and nothing else opens the store meanwhile.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    backup: PathBuf,
    taken_at: Timestamp,
    /// Names the replaced store's files when they are set aside.
    stamp: String,
    phase: Phase,
    /// The erasures to carry out again once the backup is in place.
    ledger: Vec<ErasureEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Phase {
    /// The live store's files are being renamed aside.
    SettingAside,
    /// The staged copy's files are being renamed into place.
    MovingIn,
    /// The backup is in place; the ledger is being carried out (each erasure once is enough,
    /// again changes nothing).
    Replaying,
}

fn read_pending(data_dir: &Path) -> Result<Option<Pending>> {
    let path = data_dir.join(PENDING);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).with_context(|| {
            format!(
                "{} is damaged: the restore it records cannot be finished automatically. To start over: rename each file ending in .replaced-<stamp> in {} back to its name without that ending (if there are any), delete {}, and run the restore again",
                path.display(),
                data_dir.display(),
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("while reading {}", path.display())),
    }
}

/// Replaces the journal in one rename, flushed to disk with its directory.
fn write_pending(data_dir: &Path, pending: &Pending) -> Result<()> {
    let path = data_dir.join(PENDING);
    let next = data_dir.join(format!("{PENDING}.next"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&next)
        .with_context(|| format!("while writing {}", next.display()))?;
    file.write_all(&serde_json::to_vec(pending)?)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("while writing {}", next.display()))?;
    std::fs::rename(&next, &path).with_context(|| format!("while writing {}", path.display()))?;
    sync_dir(data_dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("while flushing {}", dir.display()))
}

/// Refuses to open a store whose restore was cut short: half of it may be the backup, and the
/// erasures to carry out again are only in the journal.
pub fn refuse_interrupted_restore(data_dir: &Path) -> Result<()> {
    if data_dir.join(PENDING).exists() {
        bail!(
            "a restore into {} was interrupted; run `ombud restore --data-dir {}` to finish it (nothing opens the store until then)",
            data_dir.display(),
            data_dir.display()
        );
    }
    Ok(())
}

/// Fault injection for the crash tests, in debug builds only: `OMBUD_TEST_CRASH_AT=N` aborts
/// the process at the Nth point where a restore can be cut short.
fn crash_point() {
    #[cfg(debug_assertions)]
    {
        use std::sync::atomic::{AtomicU64, Ordering};
        static PASSED: AtomicU64 = AtomicU64::new(0);
        let at = std::env::var("OMBUD_TEST_CRASH_AT")
            .ok()
            .and_then(|n| n.parse::<u64>().ok());
        if at == Some(PASSED.fetch_add(1, Ordering::SeqCst) + 1) {
            std::process::abort();
        }
    }
}

/// Carries a journaled restore to its end from whichever phase it reached.
fn finish(
    data_dir: &Path,
    key: &ombud_store::crypto::MasterKey,
    pending: &mut Pending,
) -> Result<ExitCode> {
    let live = data_dir.join(DATA);
    let staged = data_dir.join(STAGED);
    let stamp = pending.stamp.clone();
    if pending.phase == Phase::SettingAside {
        for file in store_files(&live) {
            if file.exists() {
                let aside = PathBuf::from(format!("{}.replaced-{stamp}", file.display()));
                std::fs::rename(&file, &aside)
                    .with_context(|| format!("while setting {} aside", file.display()))?;
                crash_point();
            }
        }
        sync_dir(data_dir)?;
        pending.phase = Phase::MovingIn;
        write_pending(data_dir, pending)?;
        crash_point();
    }
    if pending.phase == Phase::MovingIn {
        for (from, to) in store_files(&staged).into_iter().zip(store_files(&live)) {
            if from.exists() {
                std::fs::rename(&from, &to)
                    .with_context(|| format!("while moving {} into place", from.display()))?;
                crash_point();
            }
        }
        sync_dir(data_dir)?;
        pending.phase = Phase::Replaying;
        write_pending(data_dir, pending)?;
        crash_point();
        println!(
            "restored the backup taken at {} into {}",
            pending.taken_at,
            data_dir.display()
        );
    }
    let store = SqliteStore::open(&live, key)
        .with_context(|| format!("while opening {}", live.display()))?;
    let intact = replay(&store, &pending.ledger)?;
    drop(store);
    std::fs::remove_file(data_dir.join(PENDING))
        .with_context(|| format!("while removing {}", data_dir.join(PENDING).display()))?;
    sync_dir(data_dir)?;
    let replaced = std::fs::read_dir(data_dir)
        .map(|entries| {
            entries.flatten().any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .ends_with(&format!(".replaced-{stamp}"))
            })
        })
        .unwrap_or(false);
    if replaced {
        println!(
            "the replaced store is kept beside it as *.replaced-{stamp}; delete those files once the restored store is checked"
        );
    }
    Ok(if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[derive(Debug, clap::Subcommand)]
pub enum ErasuresCommand {
    /// Write the erasure ledger as JSON Lines (ids and times, no personal data), to keep apart
    /// from backups and replay after a restore
    Export {
        /// Only erasures at or after this time (RFC 3339, e.g. 2026-11-01T00:00:00Z)
        #[arg(long)]
        since: Option<Timestamp>,
        /// Only this tenant (an id, or `operator`); every tenant by default
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn erasures(command: ErasuresCommand) -> Result<ExitCode> {
    let ErasuresCommand::Export {
        since,
        tenant: which,
        store,
    } = command;
    let store = store.open()?;
    let ledger = match which {
        Some(which) => store.erasure_ledger(tenant(store.as_ref(), &which)?, since)?,
        None => ledger_of(store.as_ref(), since)?,
    };
    let mut out = std::io::stdout().lock();
    for entry in &ledger {
        serde_json::to_writer(&mut out, entry)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    eprintln!("{} erasures", ledger.len());
    Ok(ExitCode::SUCCESS)
}
