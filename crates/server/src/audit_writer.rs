//! Group commit for the audit entries of purpose-bound reads.
//!
//! A read may answer only once its audit entry is committed. Committed one by one, concurrent
//! reads queue for the tenant's chain (SQLite's single writer, PostgreSQL's tenant row lock) and
//! each pays a commit. Here one thread owns the appending: it takes every entry waiting, appends
//! them in one transaction — each tenant's chain extended in arrival order — commits once, and
//! only then releases the reads that wait on them. While a commit is in flight the next batch
//! gathers, so batches grow with the load and a lone read pays no added wait.

use crate::error::ApiError;
use jiff::Timestamp;
use ombud_store::audit::{NewAuditEntry, PendingEntry};
use ombud_store::model::TenantId;
use ombud_store::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most entries one transaction carries; more wait for the next.
const MAX_BATCH: usize = 512;
/// Reads that may wait for the writer before the next one waits to be let in.
const QUEUE: usize = 4096;

type Waiting = (PendingEntry, oneshot::Sender<Result<(), StoreError>>);

/// The sending side; the writer thread ends when the last clone is dropped.
pub struct AuditWriter {
    queue: mpsc::Sender<Waiting>,
}

impl AuditWriter {
    pub fn start(store: Arc<dyn Store>) -> AuditWriter {
        let (queue, waiting) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("ombud-audit".into())
            .spawn(move || run(store.as_ref(), waiting))
            .expect("the audit writer's thread starts");
        AuditWriter { queue }
    }

    /// Appends the entry and returns once it is committed.
    pub async fn append(
        &self,
        tenant: TenantId,
        entry: NewAuditEntry,
        at: Timestamp,
    ) -> Result<(), ApiError> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(((tenant, entry, at), done))
            .await
            .map_err(|_| ApiError::Internal("the audit writer has stopped".into()))?;
        committed
            .await
            .map_err(|_| ApiError::Internal("the audit writer has stopped".into()))?
            .map_err(ApiError::from)
    }
}

fn run(store: &dyn Store, mut waiting: mpsc::Receiver<Waiting>) {
    let mut batch: Vec<Waiting> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = waiting.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (entries, replies): (Vec<PendingEntry>, Vec<_>) = batch.drain(..).unzip();
        if entries.len() > 1 && store.append_audit_batch(entries.clone()).is_ok() {
            for reply in replies {
                let _ = reply.send(Ok(()));
            }
            continue;
        }
        // A lone entry, or a batch the store refused: each entry goes alone and answers for
        // itself, so one refusal fails only its own read.
        for (entry, reply) in entries.into_iter().zip(replies) {
            let _ = reply.send(store.append_audit_batch(vec![entry]));
        }
    }
}
