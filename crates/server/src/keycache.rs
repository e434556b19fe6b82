//! A short-lived cache of API key lookups. Every request authenticates, and on the hot path the
//! lookup was one store round trip in three. A key revoked through this server is evicted at
//! once; one revoked elsewhere (another replica, `ombud keys revoke`) stops working here within
//! `TTL`.

use ombud_store::model::{ApiKey, ApiKeyId};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(1);
/// Beyond this many cached keys the cache starts over, so it cannot grow without bound.
const CAPACITY: usize = 10_000;

#[derive(Debug, Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<[u8; 32], (ApiKey, Instant)>>,
}

impl KeyCache {
    pub fn get(&self, hash: &[u8; 32]) -> Option<ApiKey> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(hash)
            .filter(|(_, fetched)| fetched.elapsed() < TTL)
            .map(|(key, _)| key.clone())
    }

    pub fn put(&self, hash: [u8; 32], key: ApiKey) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(hash, (key, Instant::now()));
    }

    pub fn evict(&self, id: ApiKeyId) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.retain(|_, (key, _)| key.id != id);
    }
}
