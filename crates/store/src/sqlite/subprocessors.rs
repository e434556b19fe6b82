//! Subprocessors on SQLite: the SQL behind [`crate::subprocessors::Subprocessors`].

use super::*;

impl crate::subprocessors::Subprocessors for SqliteStore {
    fn select_recipient(
        &self, tenant: TenantId, recipient: &str, selected: bool, actor: &Actor, at: Timestamp,
    ) -> Result<bool> {
        let t = tenant.0.as_bytes();
        self.write(|tx| {
            let changed = if selected {
                tx.prepare_cached("INSERT INTO tenant_recipients (tenant_id, recipient_id, selected_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")?
                    .execute(params![t, recipient, micros(at)])?
            } else {
                tx.prepare_cached("DELETE FROM tenant_recipients WHERE tenant_id = ?1 AND recipient_id = ?2")?
                    .execute(params![t, recipient])?
            };
            Self::append_if(tx, changed > 0, tenant, at, NewAuditEntry::recipient_selected(actor, recipient, selected))
        })
    }

    fn selected_recipients(&self, tenant: TenantId) -> Result<Vec<(String, Timestamp)>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT recipient_id, selected_at FROM tenant_recipients WHERE tenant_id = ?1 ORDER BY recipient_id")?
                .query_map(params![tenant.0.as_bytes()], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?
                .map(|row| {
                    let (id, at) = row?;
                    Ok((id, timestamp(at)?))
                })
                .collect()
        })
    }

    fn tenants_selecting(&self, recipient: &str) -> Result<Vec<TenantId>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT tenant_id FROM tenant_recipients WHERE recipient_id = ?1 ORDER BY tenant_id")?
                .query_map(params![recipient], |row| row.get::<_, Vec<u8>>(0))?
                .map(|id| Ok(TenantId(uuid(id?)?)))
                .collect()
        })
    }

    fn save_recipient_change(
        &self, tenant: TenantId, change: &crate::subprocessors::RecipientChange, actor: &Actor,
        at: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            let document = crate::subprocessors::change_document(change)?;
            tx.prepare_cached("INSERT INTO recipient_changes (tenant_id, change_id, created_at, document) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![tenant.0.as_bytes(), change.id.0.as_bytes(), micros(change.created_at), document])?;
            Self::append(tx, tenant, at, NewAuditEntry::recipient_change(actor, change))
        })
    }

    fn recipient_change(
        &self, tenant: TenantId, id: crate::subprocessors::ChangeId,
    ) -> Result<Option<crate::subprocessors::RecipientChange>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT document FROM recipient_changes WHERE tenant_id = ?1 AND change_id = ?2",
            )?
            .query_row(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| {
                row.get::<_, String>(0)
            })
            .optional()?
            .map(|d| crate::subprocessors::change_of(&d))
            .transpose()
        })
    }

    fn recipient_changes(
        &self, tenant: TenantId,
    ) -> Result<Vec<crate::subprocessors::RecipientChange>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT document FROM recipient_changes WHERE tenant_id = ?1 ORDER BY created_at DESC, change_id DESC")?
                .query_map(params![tenant.0.as_bytes()], |row| row.get::<_, String>(0))?
                .map(|d| crate::subprocessors::change_of(&d?))
                .collect()
        })
    }

    fn object_to_change(
        &self, tenant: TenantId, objection: &crate::subprocessors::Objection, actor: &Actor,
    ) -> Result<bool> {
        self.write(|tx| {
            let added = tx
                .prepare_cached("INSERT INTO recipient_objections (tenant_id, change_id, customer_id, recipient_id, reason, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING")?
                .execute(params![tenant.0.as_bytes(), objection.change.0.as_bytes(), objection.tenant.0.as_bytes(), objection.recipient, objection.reason, micros(objection.at)])?;
            Self::append_if(tx, added > 0, tenant, objection.at, NewAuditEntry::recipient_objection(actor, objection.change, objection.tenant, &objection.recipient))
        })
    }

    fn change_objections(
        &self, tenant: TenantId, id: crate::subprocessors::ChangeId,
    ) -> Result<Vec<crate::subprocessors::Objection>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT o.customer_id, o.recipient_id, o.reason, o.at, r.outcome, r.note, r.at, r.by_actor
                 FROM recipient_objections o
                 LEFT JOIN recipient_objection_resolutions r ON r.tenant_id = o.tenant_id AND r.change_id = o.change_id
                   AND r.customer_id = o.customer_id AND r.recipient_id = o.recipient_id
                 WHERE o.tenant_id = ?1 AND o.change_id = ?2 ORDER BY o.at, o.customer_id, o.recipient_id",
            )?
                .query_map(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get::<_, i64>(3)?, row.get::<_, Option<String>>(4)?, row.get::<_, Option<String>>(5)?, row.get::<_, Option<i64>>(6)?, row.get::<_, Option<String>>(7)?)))?
                .map(|row| {
                    let (customer, recipient, reason, at, outcome, note, resolved_at, by) = row?;
                    let resolution = match (outcome, note, resolved_at, by) {
                        (Some(outcome), Some(note), Some(at), Some(by)) => Some(crate::subprocessors::Resolution { outcome, note, at: timestamp(at)?, by }),
                        _ => None,
                    };
                    Ok(crate::subprocessors::Objection { change: id, tenant: TenantId(uuid(customer)?), recipient, reason, at: timestamp(at)?, resolution })
                })
                .collect()
        })
    }

    fn resolve_objection(
        &self, tenant: TenantId, objection: &crate::subprocessors::Objection,
        resolution: &crate::subprocessors::Resolution, actor: &Actor,
    ) -> Result<bool> {
        self.write(|tx| {
            let added = tx
                .prepare_cached(
                    "INSERT INTO recipient_objection_resolutions (tenant_id, change_id, customer_id, recipient_id, outcome, note, at, by_actor)
                     SELECT tenant_id, change_id, customer_id, recipient_id, ?5, ?6, ?7, ?8 FROM recipient_objections
                     WHERE tenant_id = ?1 AND change_id = ?2 AND customer_id = ?3 AND recipient_id = ?4
                     ON CONFLICT DO NOTHING",
                )?
                .execute(params![tenant.0.as_bytes(), objection.change.0.as_bytes(), objection.tenant.0.as_bytes(), objection.recipient, resolution.outcome, resolution.note, micros(resolution.at), resolution.by])?;
            Self::append_if(tx, added > 0, tenant, resolution.at, NewAuditEntry::recipient_objection_resolved(actor, objection, &resolution.outcome))
        })
    }
}
