//! Facts generations read in shared rounds. A cached decision is only as good as the
//! generation it is checked against, and on PostgreSQL another replica may have moved it a
//! moment ago; so every caller waits for a read that *began after it asked* (a write another
//! replica acknowledged before that is then visible), but one read serves every caller waiting
//! at the moment it begins: under load a round trip per batch of decisions, not per decision.

use crate::Result;
use crate::model::TenantId;
use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex};

#[derive(Default)]
struct Rounds {
    /// Rounds finished; the round running, if any, is `finished + 1`.
    finished: u64,
    running: bool,
    /// The tenants asked for since the running round began: the next round reads them.
    wanted: HashSet<TenantId>,
    /// Each tenant's generation, with the round that read it; `None`: no such tenant, or the
    /// round's read failed. Holds only the tenants of callers, so it is as large as the
    /// tenants that ask, no larger.
    read: HashMap<TenantId, (u64, Option<u64>)>,
}

#[derive(Default)]
pub(super) struct Generations {
    rounds: Mutex<Rounds>,
    done: Condvar,
}

impl Generations {
    /// The tenant's generation as read by a round that began after this call did. `read`
    /// runs one round for the tenants given; a failed round answers `None` (no caching),
    /// never an old value.
    pub(super) fn current(
        &self, tenant: TenantId, read: impl FnOnce(&[TenantId]) -> Result<HashMap<TenantId, u64>>,
    ) -> Option<u64> {
        let mut rounds = self.rounds.lock().ok()?;
        let mine = rounds.finished + if rounds.running { 2 } else { 1 };
        rounds.wanted.insert(tenant);
        let mut read = Some(read);
        loop {
            if rounds.finished >= mine {
                return match rounds.read.get(&tenant) {
                    Some((round, generation)) if *round >= mine => *generation,
                    _ => None,
                };
            }
            if !rounds.running {
                // Nobody reads: this caller runs the round its own request is in.
                let read = read.take()?;
                rounds.running = true;
                let tenants: Vec<TenantId> = rounds.wanted.drain().collect();
                let round = rounds.finished + 1;
                drop(rounds);
                let outcome = read(&tenants);
                rounds = self.rounds.lock().ok()?;
                rounds.running = false;
                rounds.finished = round;
                let found = outcome.unwrap_or_default();
                for tenant in tenants {
                    let generation = found.get(&tenant).copied();
                    rounds.read.insert(tenant, (round, generation));
                }
                self.done.notify_all();
                continue;
            }
            rounds = self.done.wait(rounds).ok()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn a_caller_never_gets_a_value_read_before_it_asked() {
        // The "database": a generation that a writer moves while callers ask.
        let generations = Arc::new(Generations::default());
        let value = Arc::new(AtomicU64::new(0));
        let tenant = TenantId::new();
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let (generations, value) = (generations.clone(), value.clone());
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        let before = value.load(Ordering::SeqCst);
                        let seen = generations
                            .current(tenant, |tenants| {
                                std::thread::yield_now();
                                Ok(tenants
                                    .iter()
                                    .map(|t| (*t, value.load(Ordering::SeqCst)))
                                    .collect())
                            })
                            .expect("read");
                        assert!(seen >= before, "read {seen} after {before} was written");
                        value.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for caller in callers {
            caller.join().expect("caller");
        }
    }

    #[test]
    fn callers_that_wait_together_share_one_read() {
        let generations = Arc::new(Generations::default());
        let reads = Arc::new(AtomicU64::new(0));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let first = {
            let generations = generations.clone();
            std::thread::spawn(move || {
                generations.current(TenantId::new(), |tenants| {
                    hold.recv().expect("released");
                    Ok(tenants.iter().map(|t| (*t, 1)).collect())
                })
            })
        };
        while !generations.rounds.lock().expect("lock").running {
            std::thread::yield_now();
        }
        let waiting: Vec<_> = (0..5)
            .map(|_| {
                let (generations, reads) = (generations.clone(), reads.clone());
                std::thread::spawn(move || {
                    generations.current(TenantId::new(), |tenants| {
                        reads.fetch_add(1, Ordering::SeqCst);
                        Ok(tenants.iter().map(|t| (*t, 2)).collect())
                    })
                })
            })
            .collect();
        while generations.rounds.lock().expect("lock").wanted.len() < 5 {
            std::thread::yield_now();
        }
        release.send(()).expect("release");
        assert_eq!(first.join().expect("first"), Some(1));
        for caller in waiting {
            assert_eq!(
                caller.join().expect("caller"),
                Some(2),
                "read after it asked"
            );
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1, "one read for the five");
    }

    #[test]
    fn a_failed_round_answers_nothing_and_the_next_reads_again() {
        let generations = Generations::default();
        let tenant = TenantId::new();
        let failed =
            generations.current(tenant, |_| Err(crate::StoreError::Database("gone".into())));
        assert_eq!(failed, None);
        let read = generations.current(tenant, |tenants| {
            Ok(tenants.iter().map(|t| (*t, 7)).collect())
        });
        assert_eq!(read, Some(7));
        let unknown = generations.current(TenantId::new(), |_| Ok(HashMap::new()));
        assert_eq!(unknown, None);
    }
}
