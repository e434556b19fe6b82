//! Receipts on PostgreSQL: the SQL behind [`crate::receipts::Receipts`].

use super::*;
use crate::receipts::{ReceiptFilter, ReceiptKey, ReceiptKind, StoredReceipt};

impl crate::receipts::Receipts for PostgresStore {
    fn receipt_keys(&self) -> Result<Vec<ReceiptKey>> {
        self.read(|client| {
            client
                .query(
                    "SELECT kid, public_key, created_at, retired_at FROM receipt_keys ORDER BY created_at, kid",
                    &[],
                )?
                .iter()
                .map(crate::receipts::receipt_key)
                .collect()
        })
    }

    fn add_receipt_key(&self, key: &ReceiptKey) -> Result<bool> {
        self.write(|tx| {
            let added = tx.execute(
                "INSERT INTO receipt_keys (kid, public_key, created_at, retired_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (kid) DO NOTHING",
                &[&key.kid, &key.public_key.as_slice(), &micros(key.created_at), &key.retired_at.map(micros)],
            )?;
            Ok(added == 1)
        })
    }

    fn retire_receipt_key(&self, kid: &str, at: Timestamp) -> Result<bool> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE receipt_keys SET retired_at = $2 WHERE kid = $1 AND retired_at IS NULL",
                &[&kid, &micros(at)],
            )?;
            Ok(changed == 1)
        })
    }

    fn put_receipt(&self, receipt: &StoredReceipt) -> Result<bool> {
        self.write(|tx| {
            let added = tx.execute(
                "INSERT INTO receipts (tenant_id, receipt_id, kind, about, issued_at, jws) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT DO NOTHING",
                &[
                    &receipt.tenant.0,
                    &receipt.id,
                    &receipt.kind.as_str(),
                    &receipt.about,
                    &micros(receipt.issued_at),
                    &receipt.jws,
                ],
            )?;
            Ok(added == 1)
        })
    }

    fn receipts(&self, tenant: TenantId, filter: &ReceiptFilter) -> Result<Vec<StoredReceipt>> {
        self.read(|client| {
            client
                .query(
                    "SELECT tenant_id, receipt_id, kind, about, issued_at, jws FROM receipts
                     WHERE tenant_id = $1 AND ($2::text IS NULL OR kind = $2) AND ($3::uuid IS NULL OR receipt_id < $3)
                     ORDER BY receipt_id DESC LIMIT $4",
                    &[&tenant.0, &filter.kind.map(ReceiptKind::as_str), &filter.before, &(filter.limit as i64)],
                )?
                .iter()
                .map(crate::receipts::stored_receipt)
                .collect()
        })
    }

    fn receipt(
        &self, tenant: TenantId, kind: ReceiptKind, about: &str,
    ) -> Result<Option<StoredReceipt>> {
        self.read(|client| {
            client
                .query_opt(
                    "SELECT tenant_id, receipt_id, kind, about, issued_at, jws FROM receipts
                     WHERE tenant_id = $1 AND kind = $2 AND about = $3",
                    &[&tenant.0, &kind.as_str(), &about],
                )?
                .as_ref()
                .map(crate::receipts::stored_receipt)
                .transpose()
        })
    }

    fn prune_receipts(&self, tenant: TenantId, before: Timestamp) -> Result<u64> {
        self.write(|tx| {
            let removed = tx.execute(
                "DELETE FROM receipts WHERE tenant_id = $1 AND issued_at < $2",
                &[&tenant.0, &micros(before)],
            )?;
            Ok(removed)
        })
    }
}
