//! Incidents on SQLite: the SQL behind [`crate::incidents::Incidents`].

use super::*;
use crate::incidents::{Incident, IncidentId, Read};

impl crate::incidents::Incidents for SqliteStore {
    fn save_incident(
        &self, tenant: TenantId, incident: &Incident, kind: &str, detail: serde_json::Value,
        actor: &Actor, at: Timestamp,
    ) -> Result<Incident> {
        let (saved, document) = incident.next_version()?;
        let (t, i) = (tenant.0.as_bytes(), saved.id.0.as_bytes());
        self.write(|tx| {
            let changed = if incident.version == 0 {
                tx.prepare_cached(
                    "INSERT INTO incidents (tenant_id, incident_id, open, aware_at, deadline_at, version, document) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![t, i, saved.is_open(), micros(saved.aware_at), micros(saved.deadline_at), saved.version, document])
                .map_err(|e| match e {
                    rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => StoreError::Conflict("incident"),
                    other => other.into(),
                })?
            } else {
                tx.prepare_cached(
                    "UPDATE incidents SET open = ?3, aware_at = ?4, deadline_at = ?5, version = ?6, document = ?7
                     WHERE tenant_id = ?1 AND incident_id = ?2 AND version = ?8",
                )?
                .execute(params![t, i, saved.is_open(), micros(saved.aware_at), micros(saved.deadline_at), saved.version, document, incident.version])?
            };
            if changed == 0 {
                return Err(StoreError::Conflict("incident"));
            }
            let seq: i64 = tx
                .prepare_cached("SELECT COALESCE(MAX(seq), 0) + 1 FROM incident_steps WHERE tenant_id = ?1 AND incident_id = ?2")?
                .query_row(params![t, i], |row| row.get(0))?;
            tx.prepare_cached(
                "INSERT INTO incident_steps (tenant_id, incident_id, seq, at, actor, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![t, i, seq, micros(at), actor.audit_name(), kind, detail.to_string()])?;
            Self::append(tx, tenant, at, NewAuditEntry::incident_step(actor, &saved, kind))
        })?;
        Ok(saved)
    }

    fn incident(&self, tenant: TenantId, id: IncidentId) -> Result<Option<Incident>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT document FROM incidents WHERE tenant_id = ?1 AND incident_id = ?2",
            )?
            .query_row(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| {
                row.get::<_, String>(0)
            })
            .optional()?
            .map(|document| incident_document(&document))
            .transpose()
        })
    }

    fn incident_timeline(
        &self, tenant: TenantId, id: IncidentId,
    ) -> Result<Vec<crate::incidents::IncidentStep>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT seq, at, actor, kind, detail FROM incident_steps WHERE tenant_id = ?1 AND incident_id = ?2 ORDER BY seq",
            )?;
            let rows = statement
                .query_map(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, String>(2)?, row.get::<_, String>(3)?, row.get::<_, String>(4)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(seq, at, actor, kind, detail)| {
                    Ok(crate::incidents::IncidentStep {
                        seq,
                        at: timestamp(at)?,
                        actor,
                        kind,
                        detail: serde_json::from_str(&detail).map_err(|e| StoreError::Corrupt(format!("incident step {seq}: {e}")))?,
                    })
                })
                .collect()
        })
    }

    fn incidents(&self, tenant: TenantId, open_only: bool) -> Result<Vec<Incident>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT document FROM incidents WHERE tenant_id = ?1 AND (open = 1 OR ?2 = 0) ORDER BY incident_id DESC",
            )?;
            let documents = statement
                .query_map(params![tenant.0.as_bytes(), open_only], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            documents.iter().map(|d| incident_document(d)).collect()
        })
    }

    fn open_incidents(&self) -> Result<Vec<(TenantId, Incident)>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT tenant_id, document FROM incidents WHERE open = 1 ORDER BY deadline_at",
            )?;
            let rows = statement
                .query_map([], |row| {
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(tenant, document)| {
                    Ok((TenantId(uuid(tenant)?), incident_document(&document)?))
                })
                .collect()
        })
    }

    fn reads_by(
        &self, tenant: TenantId, actor: &str, from: Timestamp, until: Timestamp,
    ) -> Result<Vec<Read>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT subject_id, action, categories, detail FROM audit_log INDEXED BY audit_log_by_actor
                 WHERE tenant_id = ?1 AND actor = ?2 AND at >= ?3 AND at < ?4
                   AND action IN ('records.read', 'subject.read') AND subject_id IS NOT NULL",
            )?;
            let rows = statement
                .query_map(params![tenant.0.as_bytes(), actor, micros(from), micros(until)], |row| {
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get::<_, Option<String>>(3)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(subject, action, categories, detail)| {
                    let categories: Vec<String> = serde_json::from_str(&categories)
                        .map_err(|e| StoreError::Corrupt(format!("audit categories: {e}")))?;
                    Ok(crate::incidents::read_of(SubjectId(uuid(subject)?), &action, categories, detail.as_deref()))
                })
                .collect()
        })
    }
}
