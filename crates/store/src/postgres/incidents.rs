//! Incidents on PostgreSQL: the SQL behind [`crate::incidents::Incidents`].

use super::*;
use crate::incidents::{Incident, IncidentId, Read};

impl crate::incidents::Incidents for PostgresStore {
    fn save_incident(
        &self, tenant: TenantId, incident: &Incident, kind: &str, detail: serde_json::Value,
        actor: &Actor, at: Timestamp,
    ) -> Result<Incident> {
        let (saved, document) = incident.next_version()?;
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let changed = if incident.version == 0 {
                tx.execute(
                    "INSERT INTO incidents (tenant_id, incident_id, open, aware_at, deadline_at, version, document)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    &[&tenant.0, &saved.id.0, &saved.is_open(), &micros(saved.aware_at), &micros(saved.deadline_at), &saved.version, &document],
                )?
            } else {
                tx.execute(
                    "UPDATE incidents SET open = $3, aware_at = $4, deadline_at = $5, version = $6, document = $7
                     WHERE tenant_id = $1 AND incident_id = $2 AND version = $8",
                    &[&tenant.0, &saved.id.0, &saved.is_open(), &micros(saved.aware_at), &micros(saved.deadline_at), &saved.version, &document, &incident.version],
                )?
            };
            if changed == 0 {
                return Err(StoreError::Conflict("incident"));
            }
            let seq: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM incident_steps WHERE tenant_id = $1 AND incident_id = $2",
                    &[&tenant.0, &saved.id.0],
                )?
                .get(0);
            tx.execute(
                "INSERT INTO incident_steps (tenant_id, incident_id, seq, at, actor, kind, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&tenant.0, &saved.id.0, &seq, &micros(at), &actor.audit_name(), &kind, &detail.to_string()],
            )?;
            Self::append(tx, tenant, at, NewAuditEntry::incident_step(actor, &saved, kind))
        })?;
        Ok(saved)
    }

    fn incident(&self, tenant: TenantId, id: IncidentId) -> Result<Option<Incident>> {
        self.read(|client| {
            client
                .query_opt(
                    "SELECT document FROM incidents WHERE tenant_id = $1 AND incident_id = $2",
                    &[&tenant.0, &id.0],
                )?
                .map(|row| incident_document(row.get(0)))
                .transpose()
        })
    }

    fn incident_timeline(
        &self, tenant: TenantId, id: IncidentId,
    ) -> Result<Vec<crate::incidents::IncidentStep>> {
        self.read(|client| {
            client
                .query(
                    "SELECT seq, at, actor, kind, detail FROM incident_steps WHERE tenant_id = $1 AND incident_id = $2 ORDER BY seq",
                    &[&tenant.0, &id.0],
                )?
                .iter()
                .map(|row| {
                    let seq: i64 = row.get(0);
                    Ok(crate::incidents::IncidentStep {
                        seq,
                        at: timestamp(row.get(1))?,
                        actor: row.get(2),
                        kind: row.get(3),
                        detail: serde_json::from_str(row.get(4)).map_err(|e| StoreError::Corrupt(format!("incident step {seq}: {e}")))?,
                    })
                })
                .collect()
        })
    }

    fn incidents(&self, tenant: TenantId, open_only: bool) -> Result<Vec<Incident>> {
        self.read(|client| {
            client
                .query(
                    "SELECT document FROM incidents WHERE tenant_id = $1 AND (open OR NOT $2) ORDER BY incident_id DESC",
                    &[&tenant.0, &open_only],
                )?
                .iter()
                .map(|row| incident_document(row.get(0)))
                .collect()
        })
    }

    fn open_incidents(&self) -> Result<Vec<(TenantId, Incident)>> {
        self.read(|client| {
            client
                .query(
                    "SELECT tenant_id, document FROM incidents WHERE open ORDER BY deadline_at",
                    &[],
                )?
                .iter()
                .map(|row| Ok((TenantId(row.get(0)), incident_document(row.get(1))?)))
                .collect()
        })
    }

    fn reads_by(
        &self, tenant: TenantId, actor: &str, from: Timestamp, until: Timestamp,
    ) -> Result<Vec<Read>> {
        self.read(|client| {
            client
                .query(
                    "SELECT subject_id, action, categories, detail FROM audit_log
                     WHERE tenant_id = $1 AND actor = $2 AND at >= $3 AND at < $4
                       AND action IN ('records.read', 'subject.read') AND subject_id IS NOT NULL",
                    &[&tenant.0, &actor, &micros(from), &micros(until)],
                )?
                .iter()
                .map(|row| {
                    let categories: Vec<String> = serde_json::from_str(row.get(2))
                        .map_err(|e| StoreError::Corrupt(format!("audit categories: {e}")))?;
                    Ok(crate::incidents::read_of(
                        SubjectId(row.get(0)),
                        row.get(1),
                        categories,
                        row.get::<_, Option<&str>>(3),
                    ))
                })
                .collect()
        })
    }
}
