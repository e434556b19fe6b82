//! Receipts on SQLite: the SQL behind [`crate::receipts::Receipts`].

use super::*;
use crate::receipts::{ReceiptFilter, ReceiptKey, ReceiptKind, StoredReceipt};

impl crate::receipts::Receipts for SqliteStore {
    fn receipt_keys(&self) -> Result<Vec<ReceiptKey>> {
        self.read(|conn| {
            all(
                conn,
                "SELECT kid, public_key, created_at, retired_at FROM receipt_keys ORDER BY created_at, kid",
                [],
                |row| crate::receipts::receipt_key(row),
            )
        })
    }

    fn add_receipt_key(&self, key: &ReceiptKey) -> Result<bool> {
        self.write(|tx| {
            let added = tx
                .prepare_cached(
                    "INSERT INTO receipt_keys (kid, public_key, created_at, retired_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (kid) DO NOTHING",
                )?
                .execute(params![key.kid, key.public_key.as_slice(), micros(key.created_at), key.retired_at.map(micros)])?;
            Ok(added == 1)
        })
    }

    fn retire_receipt_key(&self, kid: &str, at: Timestamp) -> Result<bool> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE receipt_keys SET retired_at = ?2 WHERE kid = ?1 AND retired_at IS NULL",
                )?
                .execute(params![kid, micros(at)])?;
            Ok(changed == 1)
        })
    }

    fn put_receipt(&self, receipt: &StoredReceipt) -> Result<bool> {
        self.write(|tx| {
            let added = tx
                .prepare_cached(
                    "INSERT INTO receipts (tenant_id, receipt_id, kind, about, issued_at, jws) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT DO NOTHING",
                )?
                .execute(params![
                    receipt.tenant.0.as_bytes(),
                    receipt.id.as_bytes(),
                    receipt.kind.as_str(),
                    receipt.about,
                    micros(receipt.issued_at),
                    receipt.jws
                ])?;
            Ok(added == 1)
        })
    }

    fn receipts(&self, tenant: TenantId, filter: &ReceiptFilter) -> Result<Vec<StoredReceipt>> {
        self.read(|conn| {
            all(
                conn,
                "SELECT tenant_id, receipt_id, kind, about, issued_at, jws FROM receipts
                 WHERE tenant_id = ?1 AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR receipt_id < ?3)
                 ORDER BY receipt_id DESC LIMIT ?4",
                params![
                    tenant.0.as_bytes(),
                    filter.kind.map(ReceiptKind::as_str),
                    filter.before.as_ref().map(|id| id.as_bytes().to_vec()),
                    filter.limit as i64
                ],
                |row| crate::receipts::stored_receipt(row),
            )
        })
    }

    fn receipt(
        &self, tenant: TenantId, kind: ReceiptKind, about: &str,
    ) -> Result<Option<StoredReceipt>> {
        self.read(|conn| {
            first(
                conn,
                "SELECT tenant_id, receipt_id, kind, about, issued_at, jws FROM receipts
                 WHERE tenant_id = ?1 AND kind = ?2 AND about = ?3",
                params![tenant.0.as_bytes(), kind.as_str(), about],
                |row| crate::receipts::stored_receipt(row),
            )
        })
    }

    fn prune_receipts(&self, tenant: TenantId, before: Timestamp) -> Result<u64> {
        self.write(|tx| {
            let removed = tx
                .prepare_cached("DELETE FROM receipts WHERE tenant_id = ?1 AND issued_at < ?2")?
                .execute(params![tenant.0.as_bytes(), micros(before)])?;
            Ok(removed as u64)
        })
    }
}
