//! Scrubbing after erasure and rectification, off the request's path: `secure_delete` zeroes
//! freed cells in the pages a deletion writes, but the old pages (with the values, and the
//! erased person's key) stay in the write-ahead log and the database file until a truncating
//! checkpoint folds the log back and empties it. That checkpoint waits for two fsyncs, which
//! took most of an erasure's time when each erasure ran its own; here a thread runs one for
//! every erasure asked within a short window, and one more before the store closes.

use r2d2_sqlite::SqliteConnectionManager;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the scrubber waits for more erasures before it checkpoints: deleted values are
/// gone from the files within about this long (plus the checkpoint's own wait for readers).
pub(super) const SCRUB_WINDOW: Duration = Duration::from_millis(100);

#[derive(Default)]
struct State {
    /// Scrubs asked for, and done (or handed to `maintain`), counted.
    asked: u64,
    done: u64,
    stop: bool,
}

pub(super) struct Scrubber {
    shared: Arc<(Mutex<State>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Scrubber {
    /// Starts the thread. `owed` is set when a checkpoint met a reader it could not outwait, so
    /// that the next `maintain` truncates the log instead.
    pub(super) fn start(
        pool: r2d2::Pool<SqliteConnectionManager>, owed: Arc<AtomicBool>,
    ) -> Scrubber {
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("ombud-scrub".into())
                .spawn(move || run(&shared, &pool, &owed))
                .ok()
        };
        Scrubber { shared, thread }
    }

    /// Asks for a scrub soon. Without a thread (the system refused one) the caller scrubs
    /// itself: `false`.
    pub(super) fn ask(&self) -> bool {
        if self.thread.is_none() {
            return false;
        }
        let (lock, bell) = &*self.shared;
        if let Ok(mut state) = lock.lock() {
            state.asked += 1;
            bell.notify_one();
            return true;
        }
        false
    }

    /// Waits until every scrub asked so far is done (or handed to `maintain`).
    pub(super) fn wait(&self) {
        let (lock, bell) = &*self.shared;
        let Ok(mut state) = lock.lock() else { return };
        let target = state.asked;
        while state.done < target && self.thread.is_some() {
            state = match bell.wait(state) {
                Ok(state) => state,
                Err(_) => return,
            };
        }
    }
}

impl Drop for Scrubber {
    /// Runs the scrub still owed before the store closes: a command that erases and exits has
    /// its erasure scrubbed too.
    fn drop(&mut self) {
        let (lock, bell) = &*self.shared;
        if let Ok(mut state) = lock.lock() {
            state.stop = true;
            bell.notify_all();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    shared: &(Mutex<State>, Condvar), pool: &r2d2::Pool<SqliteConnectionManager>, owed: &AtomicBool,
) {
    let (lock, bell) = shared;
    loop {
        let stopping = {
            let Ok(mut state) = lock.lock() else { return };
            while state.asked == state.done && !state.stop {
                state = match bell.wait(state) {
                    Ok(state) => state,
                    Err(_) => return,
                };
            }
            if state.asked == state.done {
                return;
            }
            state.stop
        };
        if !stopping {
            std::thread::sleep(SCRUB_WINDOW);
        }
        // What is asked from here on needs a checkpoint after this one.
        let target = match lock.lock() {
            Ok(state) => state.asked,
            Err(_) => return,
        };
        let scrubbed = pool
            .get()
            .map_err(crate::StoreError::from)
            .and_then(|conn| super::SqliteStore::truncate_log(&conn, super::BUSY_TIMEOUT_MS));
        if !matches!(scrubbed, Ok(true)) {
            owed.store(true, Ordering::Relaxed);
        }
        let Ok(mut state) = lock.lock() else { return };
        state.done = target;
        bell.notify_all();
    }
}
