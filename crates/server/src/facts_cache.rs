//! What access decisions read — a person's events, or that nobody has the identity — kept in
//! memory by tenant and identity, each entry with the tenant's facts generation it was read at
//! (`Subjects::facts_generation`). An entry answers only while the generation is unchanged:
//! triggers in the store move it with every change of people, identities or events, whichever
//! code path or process made it, so a cached decision cannot outlive a withdrawal.
//!
//! Entries are keyed by a hash of the identity under a key drawn at start, so the cache holds
//! no identity a memory dump could give back.

use ombud_core::{Identity, SubjectFacts};
use ombud_store::model::TenantId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Entries kept before the cache starts again empty: ~150 bytes each.
const CAPACITY: usize = 200_000;

#[derive(Clone)]
struct Cached {
    generation: u64,
    /// `None`: no person has the identity.
    facts: Option<Arc<SubjectFacts>>,
}

pub struct FactsCache {
    key: [u8; 32],
    entries: Mutex<HashMap<u128, Cached>>,
}

impl Default for FactsCache {
    fn default() -> Self {
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        FactsCache {
            key,
            entries: Mutex::default(),
        }
    }
}

impl FactsCache {
    pub fn key(&self, tenant: TenantId, identity: &Identity) -> u128 {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(tenant.0.as_bytes());
        hasher.update(identity.kind().as_str().as_bytes());
        hasher.update(b":");
        hasher.update(identity.expose().as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
        u128::from_le_bytes(bytes)
    }

    /// The facts read at `generation`, if they are kept: `Some(None)` says nobody has the
    /// identity.
    pub fn get(&self, key: u128, generation: u64) -> Option<Option<Arc<SubjectFacts>>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(&key)
            .filter(|cached| cached.generation == generation)
            .map(|cached| cached.facts.clone())
    }

    /// Keeps facts read after the generation was `generation`.
    pub fn put(&self, key: u128, generation: u64, facts: Option<Arc<SubjectFacts>>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY && !entries.contains_key(&key) {
                entries.clear();
            }
            entries.insert(key, Cached { generation, facts });
        }
    }
}
