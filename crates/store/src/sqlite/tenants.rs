//! Tenants on SQLite: the SQL behind [`crate::tenants::Tenants`].

use super::*;

impl crate::tenants::Tenants for SqliteStore {
    fn create_tenant(
        &self, name: &str, operator: bool, actor: &Actor, at: Timestamp,
    ) -> Result<Tenant> {
        let tenant = Tenant::created(name, operator, at);
        self.write(|tx| {
            if operator {
                let exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM tenants WHERE operator = 1)", [], |r| r.get(0))?;
                if exists {
                    return Err(StoreError::OperatorExists);
                }
            }
            tx.execute(
                "INSERT INTO tenants (tenant_id, name, operator, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![tenant.id.0.as_bytes(), name, operator, micros(at)],
            )?;
            Self::append(tx, tenant.id, at, NewAuditEntry::tenant_created(actor, tenant.id))
        })?;
        Ok(tenant)
    }

    fn tenants(&self) -> Result<Vec<Tenant>> {
        self.read(|conn| {
            all(
                conn,
                &format!(
                    "SELECT {} FROM tenants ORDER BY created_at, tenant_id",
                    rows::TENANT_COLUMNS
                ),
                [],
                |row| rows::tenant(row),
            )
        })
    }

    fn tenant(&self, id: TenantId) -> Result<Option<Tenant>> {
        self.read(|conn| {
            first(
                conn,
                &format!(
                    "SELECT {} FROM tenants WHERE tenant_id = ?1",
                    rows::TENANT_COLUMNS
                ),
                params![id.0.as_bytes()],
                |row| rows::tenant(row),
            )
        })
    }

    fn update_tenant(
        &self, id: TenantId, name: &str, profile: &TenantProfile, actor: &Actor, at: Timestamp,
    ) -> Result<Tenant> {
        self.write(|tx| {
            let current = first(
                tx,
                &format!(
                    "SELECT {} FROM tenants WHERE tenant_id = ?1",
                    rows::TENANT_COLUMNS
                ),
                params![id.0.as_bytes()],
                |row| rows::tenant(row),
            )?
            .ok_or(StoreError::NotFound("tenant"))?;
            let mut fields = current.profile.changed_fields(profile);
            if current.name != name {
                fields.insert(0, "name");
            }
            if fields.is_empty() {
                return Ok(current);
            }
            let document = serde_json::to_string(profile)
                .map_err(|e| StoreError::Corrupt(format!("a tenant's profile: {e}")))?;
            tx.execute(
                "UPDATE tenants SET name = ?2, profile = ?3 WHERE tenant_id = ?1",
                params![id.0.as_bytes(), name, document],
            )?;
            Self::append(
                tx,
                id,
                at,
                NewAuditEntry::tenant_updated(actor, id, &fields),
            )?;
            Ok(Tenant {
                name: name.to_owned(),
                profile: profile.clone(),
                ..current
            })
        })
    }

    fn create_api_key(&self, key: NewApiKey, actor: &Actor, at: Timestamp) -> Result<ApiKey> {
        let created = ApiKey::created(&key, at);
        self.write(|tx| {
            let known: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM tenants WHERE tenant_id = ?1)", params![key.tenant.0.as_bytes()], |r| r.get(0))?;
            if !known {
                return Err(StoreError::NotFound("tenant"));
            }
            tx.execute(
                "INSERT INTO api_keys (tenant_id, key_id, name, role, operator_wide, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![key.tenant.0.as_bytes(), created.id.0.as_bytes(), key.name, key.role.as_str(), key.operator_wide, key.secret_hash.to_vec(), micros(at)],
            )?;
            Self::append(tx, key.tenant, at, NewAuditEntry::api_key_created(actor, created.id, key.role))
        })?;
        Ok(created)
    }

    fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>> {
        self.read(|conn| {
            all(
                conn,
                &format!(
                    "SELECT {} FROM api_keys WHERE tenant_id = ?1 ORDER BY created_at, key_id",
                    rows::KEY_COLUMNS
                ),
                params![tenant.0.as_bytes()],
                |row| rows::api_key(row),
            )
        })
    }

    fn revoke_api_key(
        &self, tenant: TenantId, id: ApiKeyId, actor: &Actor, at: Timestamp,
    ) -> Result<bool> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE api_keys SET revoked_at = ?3 WHERE tenant_id = ?1 AND key_id = ?2 AND revoked_at IS NULL",
                params![tenant.0.as_bytes(), id.0.as_bytes(), micros(at)],
            )?;
            Self::append_if(tx, changed > 0, tenant, at, NewAuditEntry::api_key_revoked(actor, id))
        })
    }

    fn api_key_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<ApiKey>> {
        self.read(|conn| {
            first(
                conn,
                &format!(
                    "SELECT {} FROM api_keys WHERE secret_hash = ?1 AND revoked_at IS NULL",
                    rows::KEY_COLUMNS
                ),
                params![secret_hash.to_vec()],
                |row| rows::api_key(row),
            )
        })
    }

    fn keep_policy_version(
        &self, tenant: TenantId, version: &str, source: &str, actor: &Actor, at: Timestamp,
    ) -> Result<bool> {
        self.write(|tx| {
            let inserted = tx.execute(
                "INSERT INTO policy_versions (tenant_id, version, source, loaded_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![tenant.0.as_bytes(), version, source, micros(at)],
            )?;
            Self::append_if(tx, inserted > 0, tenant, at, NewAuditEntry::policy_loaded(actor, version))
        })
    }

    fn policy_versions(&self, tenant: TenantId) -> Result<Vec<(String, Timestamp)>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached("SELECT version, loaded_at FROM policy_versions WHERE tenant_id = ?1 ORDER BY loaded_at, version")?;
            let rows = statement
                .query_map(params![tenant.0.as_bytes()], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(|(version, at)| Ok((version, timestamp(at)?))).collect()
        })
    }

    fn policy_source(&self, tenant: TenantId, version: &str) -> Result<Option<String>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT source FROM policy_versions WHERE tenant_id = ?1 AND version = ?2",
                )?
                .query_row(params![tenant.0.as_bytes(), version], |row| row.get(0))
                .optional()?)
        })
    }

    fn claim_idempotency_key(
        &self, tenant: TenantId, key: &str, request_hash: &[u8; 32], at: Timestamp,
    ) -> Result<Idempotency> {
        self.write(|tx| {
            let existing = tx
                .prepare_cached("SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE tenant_id = ?1 AND idempotency_key = ?2")?
                .query_row(params![tenant.0.as_bytes(), key], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
                .optional()?;
            let outcome = crate::model::opened_response(&self.keyring(), tenant, key, idempotency_outcome(existing, request_hash, at));
            if outcome == Idempotency::Claimed {
                tx.prepare_cached(
                    "INSERT INTO idempotency_keys (tenant_id, idempotency_key, request_hash, status, body, created_at) VALUES (?1, ?2, ?3, NULL, NULL, ?4)
                     ON CONFLICT (tenant_id, idempotency_key) DO UPDATE SET request_hash = excluded.request_hash, status = NULL, body = NULL, created_at = excluded.created_at",
                )?
                .execute(params![tenant.0.as_bytes(), key, request_hash.to_vec(), micros(at)])?;
            }
            Ok(outcome)
        })
    }

    fn complete_idempotency_key(
        &self, tenant: TenantId, key: &str, status: u16, body: &[u8],
    ) -> Result<()> {
        let sealed = self
            .keyring()
            .seal_response(body, &crate::model::response_aad(tenant, key))?;
        self.write(|tx| {
            tx.prepare_cached("UPDATE idempotency_keys SET status = ?3, body = ?4 WHERE tenant_id = ?1 AND idempotency_key = ?2")?
                .execute(params![tenant.0.as_bytes(), key, i64::from(status), sealed])?;
            Ok(())
        })
    }

    fn release_idempotency_key(&self, tenant: TenantId, key: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM idempotency_keys WHERE tenant_id = ?1 AND idempotency_key = ?2 AND status IS NULL")?
                .execute(params![tenant.0.as_bytes(), key])?;
            Ok(())
        })
    }
}
