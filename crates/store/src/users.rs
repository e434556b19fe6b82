//! What the store keeps of the console's users and their sessions. A user is a person of a
//! tenant's staff with a role; they are found at sign-in by a keyed hash of their address
//! (sign-in knows no tenant), which is otherwise kept sealed. Passwords are kept as argon2id
//! hashes, setup links and sessions as hashes of their tokens; the rules (lengths, lockout,
//! timeouts) are the console desk's, in `ombud-app`.

use crate::model::{Role, TenantId};
use crate::{Actor, Result};
use jiff::Timestamp;
use ombud_core::Identity;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub Uuid);

impl UserId {
    pub fn new() -> UserId {
        UserId(Uuid::now_v7())
    }
}

impl Default for UserId {
    fn default() -> Self {
        UserId::new()
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The namespace of the users' address index: apart from every tenant's identities.
pub(crate) const USERS_INDEX: Uuid = Uuid::from_u128(0x6f6d_6275_645f_7573_6572_735f_696e_6478);

/// A console user as the store keeps them. `password_hash` is the argon2id PHC string, present
/// once the setup link was used.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub tenant: TenantId,
    pub id: UserId,
    pub email: Identity,
    pub role: Role,
    pub password_hash: Option<String>,
    pub setup_expires_at: Option<Timestamp>,
    pub failed_attempts: u32,
    pub locked_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
    /// With a second factor set up: the last time step a code was accepted for.
    pub totp_step: Option<i64>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address redacts itself; the password hash is left out altogether.
        f.debug_struct("User")
            .field("tenant", &self.tenant)
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("has_password", &self.password_hash.is_some())
            .field("failed_attempts", &self.failed_attempts)
            .field("locked_until", &self.locked_until)
            .field("second_factor", &self.totp_step.is_some())
            .finish_non_exhaustive()
    }
}

pub struct NewUser {
    pub tenant: TenantId,
    pub id: UserId,
    pub email: Identity,
    pub role: Role,
    /// The hash of the one-time setup link's token, and when it stops working.
    pub setup_hash: [u8; 32],
    pub setup_expires_at: Timestamp,
}

impl NewUser {
    /// The user as the store holds it once created at `at`.
    pub(crate) fn created(&self, at: Timestamp) -> User {
        User {
            tenant: self.tenant,
            id: self.id,
            email: self.email.clone(),
            role: self.role,
            password_hash: None,
            setup_expires_at: Some(self.setup_expires_at),
            failed_attempts: 0,
            locked_until: None,
            created_at: at,
            disabled_at: None,
            totp_step: None,
        }
    }
}

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub tenant: TenantId,
    pub user: UserId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// Each backend implements it in `sqlite/users.rs` and `postgres/users.rs`. Every change is
/// audited in the user's tenant in the same transaction; entries name the user by id.
pub trait Users {
    /// Adds a user waiting to set a password through the setup link; `UserExists` when a user
    /// has the address already (in any tenant).
    fn create_user(&self, user: &NewUser, actor: &Actor, at: Timestamp) -> Result<User>;
    fn users(&self, tenant: TenantId) -> Result<Vec<User>>;
    /// The user with this address, whichever tenant they are in (sign-in).
    fn user_by_email(&self, email: &Identity) -> Result<Option<User>>;
    /// The user a setup link's token hash belongs to, whether or not it expired.
    fn user_by_setup(&self, setup_hash: &[u8; 32]) -> Result<Option<User>>;
    fn user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>>;
    /// Sets the password, and with `totp` the key of a second factor (sealed) with the time
    /// step of the code that confirmed it (used), and spends the setup link; failures and a
    /// lock are cleared. Audited `console.password_set` (and `console.second_factor_set`).
    fn set_password(
        &self, tenant: TenantId, id: UserId, password_hash: &str, totp: Option<(&[u8], i64)>,
        actor: &Actor, at: Timestamp,
    ) -> Result<bool>;
    /// The key of the user's second factor, if one is set up.
    fn totp_key(&self, tenant: TenantId, id: UserId)
    -> Result<Option<zeroize::Zeroizing<Vec<u8>>>>;
    /// Takes a TOTP time step as used, if it is later than the last one taken: false for a code
    /// used before (or an earlier one), which must not be accepted again.
    fn use_totp_step(&self, tenant: TenantId, id: UserId, step: i64) -> Result<bool>;
    /// Counts a failed sign-in; at `lock_after` failures the account is locked until
    /// `lock_until` and the count starts again. Audited `console.sign_in_failed` (and
    /// `console.locked`). Returns the user as it now stands.
    fn sign_in_failed(
        &self, tenant: TenantId, id: UserId, lock_after: u32, lock_until: Timestamp, at: Timestamp,
    ) -> Result<User>;
    /// Starts a session under the hash of its token and clears the failure count. Audited
    /// `console.sign_in`.
    fn start_session(
        &self, tenant: TenantId, id: UserId, session_hash: &[u8; 32], at: Timestamp,
    ) -> Result<()>;
    /// The session under this token hash, whichever tenant (every request of the console).
    fn session(&self, session_hash: &[u8; 32]) -> Result<Option<Session>>;
    /// Moves the session's last activity to `at`.
    fn touch_session(&self, tenant: TenantId, session_hash: &[u8; 32], at: Timestamp)
    -> Result<()>;
    /// Resets a user's sign-in: password and second factor go, every session ends, and a new
    /// setup link (its token's hash) takes over. Audited `console.user_reset`. False when there
    /// is no such user or they are disabled.
    fn reset_user(
        &self, tenant: TenantId, id: UserId, setup_hash: &[u8; 32], setup_expires_at: Timestamp,
        actor: &Actor, at: Timestamp,
    ) -> Result<bool>;
    /// Disables a user: they can no longer sign in, and every session of theirs ends. Audited
    /// `console.user_disable`. False when there is no such user or they were disabled already.
    fn disable_user(
        &self, tenant: TenantId, id: UserId, actor: &Actor, at: Timestamp,
    ) -> Result<bool>;
    /// Ends a session; `why` is `sign_out`, `idle` or `expired`. Audited `console.sign_out`
    /// (with why) when there was one.
    fn end_session(
        &self, tenant: TenantId, session_hash: &[u8; 32], why: &str, at: Timestamp,
    ) -> Result<bool>;
}

pub(crate) const USER_COLUMNS: &str = "tenant_id, user_id, email_sealed, role, password_hash, setup_expires_at, failed_attempts, locked_until, created_at, disabled_at, totp_step";

/// A row of `USER_COLUMNS`, its address opened.
pub(crate) fn user(
    row: &impl crate::rows::Columns, keyring: &crate::crypto::Keyring,
) -> Result<User> {
    let id = row.id(1)?;
    let email = keyring.open_mail(&row.bytes(2)?, id)?;
    let email = std::str::from_utf8(&email)
        .ok()
        .and_then(|e| Identity::parse(ombud_core::IdentityKind::Email, e).ok())
        .ok_or_else(|| crate::StoreError::Corrupt(format!("console user {id}: the address")))?;
    let role = row.text(3)?;
    Ok(User {
        tenant: TenantId(row.id(0)?),
        id: UserId(id),
        email,
        role: Role::parse(&role)
            .ok_or_else(|| crate::StoreError::Corrupt(format!("console user {id}: role {role}")))?,
        password_hash: row.opt_text(4)?,
        setup_expires_at: row.opt_at(5)?,
        failed_attempts: u32::try_from(row.int(6)?).unwrap_or(0),
        locked_until: row.opt_at(7)?,
        created_at: row.at(8)?,
        disabled_at: row.opt_at(9)?,
        totp_step: row.opt_int(10)?,
    })
}

/// What a user's TOTP key is sealed under: the user's id, made distinct from their address's.
pub(crate) fn totp_aad(user: Uuid) -> Uuid {
    let mut aad = user.as_bytes().to_vec();
    aad.extend_from_slice(b"totp");
    Uuid::from_slice(&blake3::hash(&aad).as_bytes()[..16]).unwrap_or(user)
}

pub(crate) fn session(row: &impl crate::rows::Columns) -> Result<Session> {
    Ok(Session {
        tenant: TenantId(row.id(0)?),
        user: UserId(row.id(1)?),
        created_at: row.at(2)?,
        last_seen_at: row.at(3)?,
    })
}

impl crate::audit::NewAuditEntry {
    pub fn console_step(actor: &Actor, action: &str, user: UserId, detail: &str) -> Self {
        crate::audit::NewAuditEntry {
            actor: actor.audit_name(),
            action: action.into(),
            subject: None,
            categories: vec![],
            purpose: None,
            detail: Some(if detail.is_empty() {
                format!("user={user}")
            } else {
                format!("user={user} {detail}")
            }),
        }
    }
}
