//! Tenants on PostgreSQL: the SQL behind [`crate::tenants::Tenants`].

use super::*;

impl crate::tenants::Tenants for PostgresStore {
    fn create_tenant(
        &self, name: &str, operator: bool, actor: &Actor, at: Timestamp,
    ) -> Result<Tenant> {
        let tenant = Tenant::created(name, operator, at);
        self.write(|tx| {
            let inserted = tx.execute(
                "INSERT INTO tenants (tenant_id, name, operator, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&tenant.id.0, &name, &operator, &micros(at)],
            )?;
            if inserted == 0 {
                return Err(StoreError::OperatorExists);
            }
            Self::lock_tenant(tx, tenant.id)?;
            Self::append(tx, tenant.id, at, NewAuditEntry::tenant_created(actor, tenant.id))
        })?;
        Ok(tenant)
    }

    fn tenants(&self) -> Result<Vec<Tenant>> {
        self.read(|client| {
            client
                .query(
                    &format!(
                        "SELECT {} FROM tenants ORDER BY created_at, tenant_id",
                        rows::TENANT_COLUMNS
                    ),
                    &[],
                )?
                .iter()
                .map(rows::tenant)
                .collect()
        })
    }

    fn tenant(&self, id: TenantId) -> Result<Option<Tenant>> {
        self.read(|client| {
            client
                .query_opt(
                    &format!(
                        "SELECT {} FROM tenants WHERE tenant_id = $1",
                        rows::TENANT_COLUMNS
                    ),
                    &[&id.0],
                )?
                .as_ref()
                .map(rows::tenant)
                .transpose()
        })
    }

    fn update_tenant(
        &self, id: TenantId, name: &str, profile: &TenantProfile, actor: &Actor, at: Timestamp,
    ) -> Result<Tenant> {
        self.write(|tx| {
            Self::lock_tenant(tx, id)?;
            let current = tx
                .query_opt(
                    &format!(
                        "SELECT {} FROM tenants WHERE tenant_id = $1",
                        rows::TENANT_COLUMNS
                    ),
                    &[&id.0],
                )?
                .as_ref()
                .map(rows::tenant)
                .transpose()?
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
                "UPDATE tenants SET name = $2, profile = $3 WHERE tenant_id = $1",
                &[&id.0, &name, &document],
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
            Self::lock_tenant(tx, key.tenant)?;
            tx.execute(
                "INSERT INTO api_keys (tenant_id, key_id, name, role, operator_wide, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&key.tenant.0, &created.id.0, &key.name, &key.role.as_str(), &key.operator_wide, &key.secret_hash.as_slice(), &micros(at)],
            )?;
            Self::append(tx, key.tenant, at, NewAuditEntry::api_key_created(actor, created.id, key.role))
        })?;
        Ok(created)
    }

    fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>> {
        self.read(|client| {
            client
                .query(
                    &format!(
                        "SELECT {} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, key_id",
                        rows::KEY_COLUMNS
                    ),
                    &[&tenant.0],
                )?
                .iter()
                .map(rows::api_key)
                .collect()
        })
    }

    fn revoke_api_key(
        &self, tenant: TenantId, id: ApiKeyId, actor: &Actor, at: Timestamp,
    ) -> Result<bool> {
        self.write(|tx| {
            if Self::lock_tenant(tx, tenant).is_err() {
                return Ok(false);
            }
            let changed = tx.execute(
                "UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND key_id = $2 AND revoked_at IS NULL",
                &[&tenant.0, &id.0, &micros(at)],
            )?;
            Self::append_if(tx, changed > 0, tenant, at, NewAuditEntry::api_key_revoked(actor, id))
        })
    }

    fn api_key_by_hash(&self, secret_hash: &[u8; 32]) -> Result<Option<ApiKey>> {
        self.read(|client| {
            client
                .query_opt(
                    &format!(
                        "SELECT {} FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL",
                        rows::KEY_COLUMNS
                    ),
                    &[&secret_hash.as_slice()],
                )?
                .as_ref()
                .map(rows::api_key)
                .transpose()
        })
    }

    fn keep_policy_version(
        &self, tenant: TenantId, version: &str, source: &str, actor: &Actor, at: Timestamp,
    ) -> Result<bool> {
        self.write(|tx| {
            Self::lock_tenant(tx, tenant)?;
            let inserted = tx.execute(
                "INSERT INTO policy_versions (tenant_id, version, source, loaded_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&tenant.0, &version, &source, &micros(at)],
            )?;
            Self::append_if(tx, inserted > 0, tenant, at, NewAuditEntry::policy_loaded(actor, version))
        })
    }

    fn policy_versions(&self, tenant: TenantId) -> Result<Vec<(String, Timestamp)>> {
        self.read(|client| {
            client
                .query("SELECT version, loaded_at FROM policy_versions WHERE tenant_id = $1 ORDER BY loaded_at, version", &[&tenant.0])?
                .iter()
                .map(|row| Ok((row.get(0), timestamp(row.get(1))?)))
                .collect()
        })
    }

    fn policy_source(&self, tenant: TenantId, version: &str) -> Result<Option<String>> {
        self.read(|client| {
            Ok(client
                .query_opt(
                    "SELECT source FROM policy_versions WHERE tenant_id = $1 AND version = $2",
                    &[&tenant.0, &version],
                )?
                .map(|row| row.get(0)))
        })
    }

    fn claim_idempotency_key(
        &self, tenant: TenantId, key: &str, request_hash: &[u8; 32], at: Timestamp,
    ) -> Result<Idempotency> {
        self.write(|tx| {
            // Inserting first takes the row lock whoever wins; the loser reads the winner's row.
            let inserted = tx.execute(
                "INSERT INTO idempotency_keys (tenant_id, idempotency_key, request_hash, status, body, created_at) VALUES ($1, $2, $3, NULL, NULL, $4)
                 ON CONFLICT DO NOTHING",
                &[&tenant.0, &key, &request_hash.as_slice(), &micros(at)],
            )?;
            if inserted > 0 {
                return Ok(Idempotency::Claimed);
            }
            let existing = tx
                .query_opt(
                    "SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2 FOR UPDATE",
                    &[&tenant.0, &key],
                )?
                .map(|row| (row.get(0), row.get::<_, Option<i32>>(1).map(i64::from), row.get(2), row.get(3)));
            let outcome = crate::model::opened_response(&self.keyring(), tenant, key, idempotency_outcome(existing, request_hash, at));
            if outcome == Idempotency::Claimed {
                tx.execute(
                    "UPDATE idempotency_keys SET request_hash = $3, status = NULL, body = NULL, created_at = $4 WHERE tenant_id = $1 AND idempotency_key = $2",
                    &[&tenant.0, &key, &request_hash.as_slice(), &micros(at)],
                )?;
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
            tx.execute(
                "UPDATE idempotency_keys SET status = $3, body = $4 WHERE tenant_id = $1 AND idempotency_key = $2",
                &[&tenant.0, &key, &i32::from(status), &sealed],
            )?;
            Ok(())
        })
    }

    fn release_idempotency_key(&self, tenant: TenantId, key: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2 AND status IS NULL", &[&tenant.0, &key])?;
            Ok(())
        })
    }
}
