//! Who has a data directory open. Every command that opens the embedded store holds a shared
//! lock on `ombud.lock` until it exits; `ombud restore`, which replaces the files, holds it
//! exclusively, so it never runs under a process still writing into the files it renames (that
//! process would keep writing into the replaced store, and what it wrote would be gone at the
//! next start). A running server also holds `serve.lock` exclusively, with its process id in
//! it, so a second server on the same directory and a refused restore can name it.
//!
//! The locks are advisory (`flock`), held by open files: the operating system releases them
//! when the process ends, however it ends, so a killed server leaves nothing to clean up.

use anyhow::{Context, Result, bail};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::sync::Mutex;

const USERS: &str = "ombud.lock";
const SERVER: &str = "serve.lock";

/// The locks this process holds (files, a PostgreSQL connection), for as long as it runs.
static HELD: Mutex<Vec<Box<dyn std::any::Any + Send>>> = Mutex::new(Vec::new());

/// How a process holds the store it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// A command beside others and beside running servers.
    Command,
    /// A running server (a replica, on PostgreSQL).
    Server,
    /// Alone, for the named work (a restore): refused while a server runs.
    Alone(&'static str),
}

/// Holds a PostgreSQL store as `holder` for the rest of the process.
pub fn hold_database(store: &ombud_store::PostgresStore, holder: Holder) -> Result<()> {
    let lock = match holder {
        Holder::Command => return Ok(()),
        Holder::Server => store
            .hold_as_server()
            .context("while taking the running server's lock in PostgreSQL")?,
        Holder::Alone(what) => match store.hold_alone() {
            Ok(lock) => lock,
            Err(ombud_store::StoreError::InUse(who)) => bail!(
                "ombud servers are running on this database ({who}); stop them before {what}. They would keep writing while it runs, and the replay would miss what they do"
            ),
            Err(e) => return Err(e).context("while taking the database alone"),
        },
    };
    keep_any(Box::new(lock));
    Ok(())
}

fn keep_any(held: Box<dyn std::any::Any + Send>) {
    HELD.lock().unwrap_or_else(|e| e.into_inner()).push(held);
}

fn open(dir: &Path, name: &str) -> Result<File> {
    let path = dir.join(name);
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(&path)
        .with_context(|| format!("while opening the lock file {}", path.display()))
}

fn keep(file: File) {
    keep_any(Box::new(file));
}

/// What the running server wrote into `serve.lock`, if one holds it.
fn running_server(dir: &Path) -> Result<Option<String>> {
    let mut file = open(dir, SERVER)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(None),
        Err(TryLockError::WouldBlock) => {
            let mut who = String::new();
            file.read_to_string(&mut who)
                .with_context(|| format!("while reading {}", dir.join(SERVER).display()))?;
            let who = who.trim();
            Ok(Some(if who.is_empty() {
                "ombud serve (starting)".to_owned()
            } else {
                who.to_owned()
            }))
        }
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("while locking {}", dir.join(SERVER).display()))
        }
    }
}

/// Holds the directory as one of its users until the process exits: refused only while a
/// restore replaces the store.
pub fn share(dir: &Path) -> Result<()> {
    let file = open(dir, USERS)?;
    match file.try_lock_shared() {
        Ok(()) => {
            keep(file);
            Ok(())
        }
        Err(TryLockError::WouldBlock) => bail!(
            "`ombud restore` is replacing the store in {}; run this again when it has finished",
            dir.display()
        ),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("while locking {}", dir.join(USERS).display()))
        }
    }
}

/// Holds the directory as its one server (and as a user), or refuses naming the server that has
/// it. The directory is created (0700) if it does not exist yet.
pub fn serve(dir: &Path) -> Result<()> {
    ombud_app::jobs::private_dir(dir)
        .with_context(|| format!("while creating the data directory {}", dir.display()))?;
    let mut file = open(dir, SERVER)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let who = running_server(dir)?.unwrap_or_else(|| "another ombud serve".into());
            bail!(
                "{who} has the store in {} open; stop it first, or give this server another --data-dir",
                dir.display()
            )
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("while locking {}", dir.join(SERVER).display()));
        }
    }
    let who = format!(
        "ombud serve (process {}, since {})",
        std::process::id(),
        jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or_else(|_| jiff::Timestamp::now())
    );
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(who.as_bytes()))
        .and_then(|()| file.flush())
        .with_context(|| format!("while writing {}", dir.join(SERVER).display()))?;
    keep(file);
    share(dir)
}

/// Holds the directory alone, for `what` (a restore), or refuses naming who has it open.
pub fn exclusive(dir: &Path, what: &str) -> Result<()> {
    let file = open(dir, USERS)?;
    match file.try_lock() {
        Ok(()) => {
            keep(file);
            Ok(())
        }
        Err(TryLockError::WouldBlock) => match running_server(dir)? {
            Some(who) => bail!(
                "{who} has the store in {} open: stop it before {what}. A server left running would keep writing into the replaced files, and what it wrote would be lost at its next start",
                dir.display()
            ),
            None => bail!(
                "another ombud command (an import, a sweep, a request being worked) has the store in {} open; run {what} when it has finished",
                dir.display()
            ),
        },
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("while locking {}", dir.join(USERS).display()))
        }
    }
}
