//! Facts generations read in shared rounds, awaited without a blocking task. A cached decision
//! is only as good as the generation it is checked against, and on PostgreSQL another replica
//! may have moved it a moment ago; so every caller waits for a read that *began after it
//! asked* (a write another replica acknowledged before that is then visible), but one read
//! serves every caller waiting at the moment it begins: under load one round trip and one
//! blocking task per batch of decisions, and a decision answered from the cache never leaves
//! the async runtime.

use ombud_store::model::TenantId;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// Reads the generations of the tenants given, blocking; unknown tenants are left out.
pub type Reader = dyn Fn(&[TenantId]) -> Result<HashMap<TenantId, u64>, String> + Send + Sync;

#[derive(Default)]
struct Rounds {
    /// Rounds finished; while `running`, round `finished + 1` is reading.
    finished: u64,
    running: bool,
    /// The tenants asked for since the running round began: the next round reads them.
    wanted: HashSet<TenantId>,
    /// Each tenant's generation, with the round that read it; `None`: no such tenant, or the
    /// round's read failed. Holds only the tenants of callers, so it is as large as the
    /// tenants that ask, no larger.
    read: HashMap<TenantId, (u64, Option<u64>)>,
}

pub struct Generations {
    rounds: Mutex<Rounds>,
    /// The last round finished, for callers to await.
    finished: watch::Sender<u64>,
    reader: Arc<Reader>,
}

impl Generations {
    pub fn new(reader: Arc<Reader>) -> Arc<Generations> {
        Arc::new(Generations {
            rounds: Mutex::default(),
            finished: watch::Sender::new(0),
            reader,
        })
    }

    /// Rounds that read the store's generations. They hold the store weakly: a round still
    /// running when the runtime shuts down is dropped on a worker thread, and must not be what
    /// closes the store there (a PostgreSQL client's close blocks on a runtime of its own,
    /// which panics inside another). A closed store answers no generation.
    pub fn over(store: &Arc<dyn ombud_store::Store>) -> Arc<Generations> {
        let store = Arc::downgrade(store);
        Generations::new(Arc::new(move |tenants: &[TenantId]| {
            let store = store.upgrade().ok_or("the store is closed")?;
            store.facts_generations(tenants).map_err(|e| e.to_string())
        }))
    }

    fn rounds(&self) -> MutexGuard<'_, Rounds> {
        // The lock guards plain bookkeeping that no panic leaves half-done.
        self.rounds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tenant's generation as read by a round that began after this call did; `None`
    /// when the tenant is unknown or the round's read failed (then cache nothing), never an
    /// old value. Rounds run as tasks of their own, so a caller that goes away (its client
    /// hung up) does not stop the round others wait for.
    pub async fn current(self: &Arc<Self>, tenant: TenantId) -> Option<u64> {
        let mut finished = self.finished.subscribe();
        let mine = {
            let mut rounds = self.rounds();
            let mine = rounds.finished + if rounds.running { 2 } else { 1 };
            rounds.wanted.insert(tenant);
            if !rounds.running {
                self.start(&mut rounds);
            }
            mine
        };
        finished.wait_for(|round| *round >= mine).await.ok()?;
        match self.rounds().read.get(&tenant) {
            Some((round, generation)) if *round >= mine => *generation,
            _ => None,
        }
    }

    /// Starts the next round for the tenants wanted; the caller holds the lock and no round
    /// runs.
    fn start(self: &Arc<Self>, rounds: &mut Rounds) {
        rounds.running = true;
        let tenants: Vec<TenantId> = rounds.wanted.drain().collect();
        let round = rounds.finished + 1;
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let reader = Arc::clone(&this.reader);
            // A read that panicked gives its tenants back to nobody: their entries stay from
            // an earlier round, which no caller of this one accepts.
            let outcome = tokio::task::spawn_blocking(move || {
                let read = reader(&tenants);
                (tenants, read)
            })
            .await;
            let mut rounds = this.rounds();
            if let Ok((tenants, read)) = outcome {
                let read = read.ok();
                for tenant in tenants {
                    let generation = read.as_ref().and_then(|read| read.get(&tenant).copied());
                    rounds.read.insert(tenant, (round, generation));
                }
            }
            rounds.finished = round;
            rounds.running = false;
            if !rounds.wanted.is_empty() {
                this.start(&mut rounds);
            }
            drop(rounds);
            this.finished.send_replace(round);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_caller_gets_a_value_read_before_it_asked() {
        let value = Arc::new(AtomicU64::new(0));
        let source = Arc::clone(&value);
        let generations = Generations::new(Arc::new(move |tenants: &[TenantId]| {
            std::thread::sleep(Duration::from_micros(200));
            let now = source.load(Ordering::SeqCst);
            Ok(tenants.iter().map(|t| (*t, now)).collect())
        }));
        let tenant = TenantId::new();
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let (generations, value) = (Arc::clone(&generations), Arc::clone(&value));
                tokio::spawn(async move {
                    for _ in 0..50 {
                        // A write another replica acknowledged before this caller asked.
                        let before = value.fetch_add(1, Ordering::SeqCst) + 1;
                        let seen = generations.current(tenant).await.expect("read");
                        assert!(seen >= before, "read {seen} after {before} was written");
                    }
                })
            })
            .collect();
        for caller in callers {
            caller.await.expect("caller");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn callers_that_wait_together_share_one_read() {
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Mutex::new(hold);
        let reads = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&reads);
        let generations = Generations::new(Arc::new(move |tenants: &[TenantId]| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            if n == 0 {
                hold.lock().expect("hold").recv().expect("released");
            }
            Ok(tenants.iter().map(|t| (*t, n as u64 + 1)).collect())
        }));
        let first = {
            let generations = Arc::clone(&generations);
            tokio::spawn(async move { generations.current(TenantId::new()).await })
        };
        while !generations.rounds().running {
            tokio::task::yield_now().await;
        }
        let waiting: Vec<_> = (0..5)
            .map(|_| {
                let generations = Arc::clone(&generations);
                tokio::spawn(async move { generations.current(TenantId::new()).await })
            })
            .collect();
        while generations.rounds().wanted.len() < 5 {
            tokio::task::yield_now().await;
        }
        release.send(()).expect("release");
        assert_eq!(first.await.expect("first"), Some(1));
        for caller in waiting {
            assert_eq!(
                caller.await.expect("caller"),
                Some(2),
                "read after it asked"
            );
        }
        assert_eq!(reads.load(Ordering::SeqCst), 2, "one read for the five");
    }

    #[tokio::test]
    async fn a_failed_round_answers_nothing_and_the_next_reads_again() {
        let fail = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let failing = Arc::clone(&fail);
        let tenant = TenantId::new();
        let generations = Generations::new(Arc::new(move |tenants: &[TenantId]| {
            if failing.load(Ordering::SeqCst) {
                Err("gone".into())
            } else {
                Ok(tenants
                    .iter()
                    .filter(|t| **t == tenant)
                    .map(|t| (*t, 7))
                    .collect())
            }
        }));
        assert_eq!(generations.current(tenant).await, None);
        fail.store(false, Ordering::SeqCst);
        assert_eq!(generations.current(tenant).await, Some(7));
        let panicking = Generations::new(Arc::new(|_: &[TenantId]| panic!("the read panicked")));
        assert_eq!(panicking.current(tenant).await, None, "a panic is a miss");
        assert_eq!(
            generations.current(TenantId::new()).await,
            None,
            "an unknown tenant has none"
        );
    }

    #[tokio::test]
    async fn the_rounds_never_keep_the_store_open() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let master = ombud_store::crypto::MasterKey::generate().expect("key");
        let store: Arc<dyn ombud_store::Store> = Arc::new(
            ombud_store::SqliteStore::open(&dir.path().join("ombud.db"), &master).expect("store"),
        );
        let tenant = store
            .create_tenant(
                "Acme",
                false,
                &ombud_store::Actor::Cli,
                jiff::Timestamp::now(),
            )
            .expect("tenant")
            .id;
        let generations = Generations::over(&store);
        let known = generations.current(tenant).await;
        assert!(known.is_some(), "a known tenant's generation is read");
        assert_eq!(
            Arc::strong_count(&store),
            1,
            "the rounds hold the store weakly"
        );
        drop(store);
        assert_eq!(
            generations.current(tenant).await,
            None,
            "a closed store answers none"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_that_goes_away_does_not_stop_the_round_others_wait_for() {
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Mutex::new(hold);
        let generations = Generations::new(Arc::new(move |tenants: &[TenantId]| {
            let _ = hold
                .lock()
                .expect("hold")
                .recv_timeout(Duration::from_secs(5));
            Ok(tenants.iter().map(|t| (*t, 3)).collect())
        }));
        let tenant = TenantId::new();
        let leaver = {
            let generations = Arc::clone(&generations);
            tokio::spawn(async move { generations.current(tenant).await })
        };
        while !generations.rounds().running {
            tokio::task::yield_now().await;
        }
        leaver.abort();
        let stayer = {
            let generations = Arc::clone(&generations);
            tokio::spawn(async move { generations.current(tenant).await })
        };
        release.send(()).expect("release");
        release.send(()).expect("release the second round");
        assert_eq!(stayer.await.expect("stayer"), Some(3));
    }
}
