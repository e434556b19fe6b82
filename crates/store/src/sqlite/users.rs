//! Console users and sessions on SQLite: the SQL behind [`crate::users::Users`].

use super::*;
use crate::users::{NewUser, Session, USER_COLUMNS, USERS_INDEX, User, UserId};

impl SqliteStore {
    fn user_where(
        &self, conn: &rusqlite::Connection, condition: &str, params: impl rusqlite::Params,
    ) -> Result<Option<User>> {
        let keyring = self.keyring();
        first(
            conn,
            &format!("SELECT {USER_COLUMNS} FROM console_users WHERE {condition}"),
            params,
            |row| crate::users::user(row, &keyring),
        )
    }
}

impl crate::users::Users for SqliteStore {
    fn create_user(&self, user: &NewUser, actor: &Actor, at: Timestamp) -> Result<User> {
        let keyring = self.keyring();
        let index = keyring.blind_index(USERS_INDEX, &user.email);
        let sealed = keyring.seal_mail(user.email.expose().as_bytes(), user.id.0)?;
        self.write(|tx| {
            let taken = tx
                .prepare_cached("SELECT 1 FROM console_users WHERE email_index = ?1")?
                .exists(params![index.as_slice()])?;
            if taken {
                return Err(StoreError::UserExists);
            }
            tx.prepare_cached(
                "INSERT INTO console_users (tenant_id, user_id, email_index, email_sealed, role, setup_hash, setup_expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                user.tenant.0.as_bytes(),
                user.id.0.as_bytes(),
                index.as_slice(),
                sealed,
                user.role.as_str(),
                user.setup_hash.as_slice(),
                micros(user.setup_expires_at),
                micros(at)
            ])?;
            Self::append(tx, user.tenant, at, NewAuditEntry::console_step(actor, "console.user_create", user.id, &format!("role={}", user.role.as_str())))
        })?;
        Ok(user.created(at))
    }

    fn users(&self, tenant: TenantId) -> Result<Vec<User>> {
        let keyring = self.keyring();
        self.read(|conn| {
            all(
                conn,
                &format!(
                    "SELECT {USER_COLUMNS} FROM console_users WHERE tenant_id = ?1 ORDER BY user_id"
                ),
                params![tenant.0.as_bytes()],
                |row| crate::users::user(row, &keyring),
            )
        })
    }

    fn user_by_email(&self, email: &Identity) -> Result<Option<User>> {
        let index = self.keyring().blind_index(USERS_INDEX, email);
        self.read(|conn| self.user_where(conn, "email_index = ?1", params![index.as_slice()]))
    }

    fn user_by_setup(&self, setup_hash: &[u8; 32]) -> Result<Option<User>> {
        self.read(|conn| self.user_where(conn, "setup_hash = ?1", params![setup_hash.as_slice()]))
    }

    fn user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>> {
        self.read(|conn| {
            self.user_where(
                conn,
                "tenant_id = ?1 AND user_id = ?2",
                params![tenant.0.as_bytes(), id.0.as_bytes()],
            )
        })
    }

    fn set_password(
        &self, tenant: TenantId, id: UserId, password_hash: &str, totp: Option<(&[u8], i64)>,
        actor: &Actor, at: Timestamp,
    ) -> Result<bool> {
        let sealed = totp
            .map(|(key, _)| self.keyring().seal_mail(key, crate::users::totp_aad(id.0)))
            .transpose()?;
        let step = totp.map(|(_, step)| step);
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE console_users SET password_hash = ?3, setup_hash = NULL, setup_expires_at = NULL, failed_attempts = 0, locked_until = NULL,
                        totp_sealed = COALESCE(?4, totp_sealed), totp_step = COALESCE(?5, totp_step)
                     WHERE tenant_id = ?1 AND user_id = ?2 AND disabled_at IS NULL",
                )?
                .execute(params![tenant.0.as_bytes(), id.0.as_bytes(), password_hash, sealed, step])?;
            if changed == 1 && sealed.is_some() {
                Self::append(tx, tenant, at, NewAuditEntry::console_step(actor, "console.second_factor_set", id, "kind=totp"))?;
            }
            Self::append_if(tx, changed == 1, tenant, at, NewAuditEntry::console_step(actor, "console.password_set", id, ""))
        })
    }

    fn totp_key(
        &self, tenant: TenantId, id: UserId,
    ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
        let sealed: Option<Vec<u8>> = self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT totp_sealed FROM console_users WHERE tenant_id = ?1 AND user_id = ?2",
                )?
                .query_row(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| {
                    row.get(0)
                })
                .optional()?
                .flatten())
        })?;
        Ok(sealed
            .map(|sealed| {
                self.keyring()
                    .open_mail(&sealed, crate::users::totp_aad(id.0))
            })
            .transpose()?)
    }

    fn use_totp_step(&self, tenant: TenantId, id: UserId, step: i64) -> Result<bool> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached("UPDATE console_users SET totp_step = ?3 WHERE tenant_id = ?1 AND user_id = ?2 AND totp_step < ?3")?
                .execute(params![tenant.0.as_bytes(), id.0.as_bytes(), step])?;
            Ok(changed == 1)
        })
    }

    fn sign_in_failed(
        &self, tenant: TenantId, id: UserId, lock_after: u32, lock_until: Timestamp, at: Timestamp,
    ) -> Result<User> {
        self.write(|tx| {
            let attempts: i64 = tx
                .prepare_cached("SELECT failed_attempts FROM console_users WHERE tenant_id = ?1 AND user_id = ?2")?
                .query_row(params![tenant.0.as_bytes(), id.0.as_bytes()], |row| row.get(0))
                .optional()?
                .ok_or(StoreError::NotFound("console user"))?;
            let attempts = attempts.saturating_add(1);
            let locks = attempts >= i64::from(lock_after);
            tx.prepare_cached(
                "UPDATE console_users SET failed_attempts = ?3, locked_until = CASE WHEN ?4 THEN ?5 ELSE locked_until END
                 WHERE tenant_id = ?1 AND user_id = ?2",
            )?
            .execute(params![tenant.0.as_bytes(), id.0.as_bytes(), if locks { 0 } else { attempts }, locks, micros(lock_until)])?;
            Self::append(tx, tenant, at, NewAuditEntry::console_step(&Actor::User(id), "console.sign_in_failed", id, &format!("attempt={attempts}")))?;
            if locks {
                Self::append(tx, tenant, at, NewAuditEntry::console_step(&Actor::System, "console.locked", id, &format!("until={lock_until}")))?;
            }
            Ok(())
        })?;
        self.user(tenant, id)?
            .ok_or(StoreError::NotFound("console user"))
    }

    fn start_session(
        &self, tenant: TenantId, id: UserId, session_hash: &[u8; 32], at: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE console_users SET failed_attempts = 0, locked_until = NULL WHERE tenant_id = ?1 AND user_id = ?2")?
                .execute(params![tenant.0.as_bytes(), id.0.as_bytes()])?;
            tx.prepare_cached(
                "INSERT INTO console_sessions (tenant_id, session_hash, user_id, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            )?
            .execute(params![tenant.0.as_bytes(), session_hash.as_slice(), id.0.as_bytes(), micros(at)])?;
            Self::append(tx, tenant, at, NewAuditEntry::console_step(&Actor::User(id), "console.sign_in", id, ""))
        })
    }

    fn session(&self, session_hash: &[u8; 32]) -> Result<Option<Session>> {
        self.read(|conn| {
            first(
                conn,
                "SELECT tenant_id, user_id, created_at, last_seen_at FROM console_sessions WHERE session_hash = ?1",
                params![session_hash.as_slice()],
                |row| crate::users::session(row),
            )
        })
    }

    fn touch_session(
        &self, tenant: TenantId, session_hash: &[u8; 32], at: Timestamp,
    ) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE console_sessions SET last_seen_at = ?3 WHERE tenant_id = ?1 AND session_hash = ?2 AND last_seen_at < ?3")?
                .execute(params![tenant.0.as_bytes(), session_hash.as_slice(), micros(at)])?;
            Ok(())
        })
    }

    fn reset_user(
        &self, tenant: TenantId, id: UserId, setup_hash: &[u8; 32], setup_expires_at: Timestamp,
        actor: &Actor, at: Timestamp,
    ) -> Result<bool> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE console_users SET password_hash = NULL, totp_sealed = NULL, totp_step = NULL, setup_hash = ?3, setup_expires_at = ?4,
                        failed_attempts = 0, locked_until = NULL
                     WHERE tenant_id = ?1 AND user_id = ?2 AND disabled_at IS NULL",
                )?
                .execute(params![tenant.0.as_bytes(), id.0.as_bytes(), setup_hash.as_slice(), micros(setup_expires_at)])?;
            if changed == 1 {
                tx.prepare_cached("DELETE FROM console_sessions WHERE tenant_id = ?1 AND user_id = ?2")?
                    .execute(params![tenant.0.as_bytes(), id.0.as_bytes()])?;
            }
            Self::append_if(tx, changed == 1, tenant, at, NewAuditEntry::console_step(actor, "console.user_reset", id, ""))
        })
    }

    fn disable_user(
        &self, tenant: TenantId, id: UserId, actor: &Actor, at: Timestamp,
    ) -> Result<bool> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached("UPDATE console_users SET disabled_at = ?3 WHERE tenant_id = ?1 AND user_id = ?2 AND disabled_at IS NULL")?
                .execute(params![tenant.0.as_bytes(), id.0.as_bytes(), micros(at)])?;
            if changed == 1 {
                tx.prepare_cached("DELETE FROM console_sessions WHERE tenant_id = ?1 AND user_id = ?2")?
                    .execute(params![tenant.0.as_bytes(), id.0.as_bytes()])?;
            }
            Self::append_if(tx, changed == 1, tenant, at, NewAuditEntry::console_step(actor, "console.user_disable", id, ""))
        })
    }

    fn end_session(
        &self, tenant: TenantId, session_hash: &[u8; 32], why: &str, at: Timestamp,
    ) -> Result<bool> {
        self.write(|tx| {
            let user: Option<Vec<u8>> = tx
                .prepare_cached("DELETE FROM console_sessions WHERE tenant_id = ?1 AND session_hash = ?2 RETURNING user_id")?
                .query_row(params![tenant.0.as_bytes(), session_hash.as_slice()], |row| row.get(0))
                .optional()?;
            let Some(user) = user else { return Ok(false) };
            let user = UserId(uuid(user)?);
            Self::append(tx, tenant, at, NewAuditEntry::console_step(&Actor::User(user), "console.sign_out", user, &format!("why={why}")))?;
            Ok(true)
        })
    }
}
