//! The console's sign-in: users of a tenant's staff with a role, a one-time setup link to set
//! a password, sign-in with a lock after repeated failures, and server-side sessions with an
//! idle and an absolute timeout. The store keeps hashes of every token; the tokens themselves
//! are handed out once (the setup link to whoever creates the user, the session token to the
//! browser's cookie) and never stored, logged or printed again.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jiff::{SignedDuration, Timestamp};
use ombud_core::{Identity, IdentityKind};
use ombud_store::model::{Role, TenantId};
use ombud_store::users::{NewUser, Session, User, UserId};
use ombud_store::{Actor, Store, StoreError};
use zeroize::Zeroizing;

/// How long a setup link works.
pub const SETUP_VALIDITY: SignedDuration = SignedDuration::from_hours(24);
/// A session ends after this long without a request…
pub const IDLE_TIMEOUT: SignedDuration = SignedDuration::from_mins(30);
/// …and this long after sign-in, whatever happens.
pub const ABSOLUTE_TIMEOUT: SignedDuration = SignedDuration::from_hours(12);
/// Failed sign-ins in a row that lock an account…
pub const LOCK_AFTER: u32 = 5;
/// …for this long.
pub const LOCK_FOR: SignedDuration = SignedDuration::from_mins(15);
/// The shortest password, in characters.
pub const MIN_PASSWORD: usize = 12;
/// The longest, in bytes: hashing is deliberately slow, and a megabyte would make it slower.
pub const MAX_PASSWORD: usize = 1024;
/// A session's last activity is written at most this often.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_mins(1);

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// A value given is not acceptable; `field` names it.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The address or the password is wrong, or the account cannot sign in: one answer for
    /// all, so it tells nobody which addresses have accounts.
    #[error("the address or the password is wrong")]
    BadCredentials,
    #[error("too many wrong passwords: the account is locked until {0}")]
    Locked(Timestamp),
    #[error(
        "this setup link is not valid: it was used, it expired, or it was never issued; ask an admin for a new one"
    )]
    BadSetupLink,
    /// The password was right and the account has a second factor: its current code is
    /// needed (or the one given was wrong, or used before).
    #[error("enter the current code of your authenticator app")]
    SecondFactor,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> ConsoleError {
    ConsoleError::Invalid {
        field,
        message: message.into(),
    }
}

/// A token handed out once: 32 random bytes, hex.
fn new_token() -> Result<Zeroizing<String>, ConsoleError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut())
        .map_err(|e| StoreError::Corrupt(format!("no randomness for a token: {e}")))?;
    Ok(Zeroizing::new(crate::secrets::hex(bytes.as_ref())))
}

/// What the store keeps of a token. A plain hash is enough: tokens are 256 random bits.
pub fn token_hash(token: &str) -> [u8; 32] {
    blake3::derive_key("ombud 2026-11 console token", token.as_bytes())
}

/// The CSRF token of a session's forms: derived from the session token, so the server keeps
/// nothing more and a page of another session cannot post in this one.
pub fn csrf_token(session_token: &str) -> String {
    crate::secrets::hex(
        &blake3::derive_key("ombud 2026-11 console csrf", session_token.as_bytes())[..16],
    )
}

/// Whether a form's CSRF token is this session's, compared without an early exit.
pub fn csrf_holds(session_token: &str, given: &str) -> bool {
    csrf_matches(&csrf_token(session_token), given)
}

/// Whether a form's CSRF token is `expected`, compared without an early exit.
pub fn csrf_matches(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// A user created, with the setup link's token (shown once).
pub struct Created {
    pub user: User,
    pub setup_token: Zeroizing<String>,
}

impl std::fmt::Debug for Created {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Created")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Creates a user of `tenant` who sets a password through the setup link within 24 hours.
/// Console users are people: `service` is an application's role and is refused.
pub fn create_user(
    store: &dyn Store,
    tenant: TenantId,
    email: &str,
    role: Role,
    actor: &Actor,
    now: Timestamp,
) -> Result<Created, ConsoleError> {
    if role == Role::Service {
        return Err(invalid(
            "role",
            "Service is an application's role; a console user is admin, dpo, agent or auditor.",
        ));
    }
    let email =
        Identity::parse(IdentityKind::Email, email).map_err(|e| invalid("email", e.to_string()))?;
    let setup_token = new_token()?;
    let user = store
        .create_user(
            &NewUser {
                tenant,
                id: UserId::new(),
                email,
                role,
                setup_hash: token_hash(&setup_token),
                setup_expires_at: now.checked_add(SETUP_VALIDITY).unwrap_or(now),
            },
            actor,
            now,
        )
        .map_err(|e| match e {
            StoreError::UserExists => invalid(
                "email",
                "A console user with this address exists already (addresses are unique across tenants).",
            ),
            other => other.into(),
        })?;
    Ok(Created { user, setup_token })
}

/// Whether a password may be set: 12 characters or more, at most 1 KiB, and not one that a
/// list of common passwords, keyboard patterns, dates or the person's own address give away.
pub fn check_password(password: &str, email: &Identity) -> Result<(), ConsoleError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(invalid(
            "password",
            format!(
                "a password has at least {MIN_PASSWORD} characters; a few unrelated words make a good one"
            ),
        ));
    }
    if password.len() > MAX_PASSWORD {
        return Err(invalid(
            "password",
            format!("A password has at most {MAX_PASSWORD} bytes."),
        ));
    }
    let local = email.expose().split('@').next().unwrap_or_default();
    let estimate = zxcvbn::zxcvbn(password, &[email.expose(), local, "ombud"]);
    if u8::from(estimate.score()) < 3 {
        let why = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" {w}"))
            .unwrap_or_default();
        return Err(invalid(
            "password",
            format!(
                "This password is too easy to guess.{why} Add words or characters nobody would connect with you."
            ),
        ));
    }
    Ok(())
}

fn hash_password(password: &str) -> Result<String, ConsoleError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| StoreError::Corrupt(format!("no randomness for a salt: {e}")))?;
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| StoreError::Corrupt(format!("a salt: {e}")))?;
    // argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane): OWASP's recommendation.
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| StoreError::Corrupt(format!("hashing a password: {e}")))?
        .to_string())
}

fn password_matches(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// The user a setup link is for, while it works.
pub fn setup_user(store: &dyn Store, token: &str, now: Timestamp) -> Result<User, ConsoleError> {
    store
        .user_by_setup(&token_hash(token))?
        .filter(|u| u.disabled_at.is_none() && u.setup_expires_at.is_some_and(|e| now < e))
        .ok_or(ConsoleError::BadSetupLink)
}

/// The second factor offered on a setup link's page: a TOTP key (RFC 6238: SHA-1, 6 digits,
/// 30 seconds, as every authenticator app reads it) derived from the link's token, so the page
/// and the form it posts agree on it without the store keeping it before it is confirmed.
pub struct Enrolment {
    key: Zeroizing<Vec<u8>>,
    /// The key in base32, for typing into an app.
    pub secret: Zeroizing<String>,
    /// The `otpauth://` address an app reads (or a QR code of it).
    pub url: Zeroizing<String>,
}

fn totp(key: &[u8], account: &str) -> Result<totp_rs::Totp, ConsoleError> {
    totp_rs::Builder::new()
        .with_secret(key.to_vec())
        .with_account_name(account)
        .with_issuer(Some("ombud"))
        .build()
        .map_err(|e| StoreError::Corrupt(format!("a TOTP key: {e}")).into())
}

/// The second factor a setup link offers its user.
pub fn enrolment(token: &str, user: &User) -> Result<Enrolment, ConsoleError> {
    let key = Zeroizing::new(
        blake3::derive_key("ombud 2026-11 console totp key", token.as_bytes())[..20].to_vec(),
    );
    let totp = totp(&key, user.email.expose())?;
    let url = totp
        .to_url()
        .map_err(|e| StoreError::Corrupt(format!("a TOTP address: {e}")))?;
    Ok(Enrolment {
        secret: Zeroizing::new(totp.secret().to_base32()),
        url: Zeroizing::new(url),
        key,
    })
}

/// Seconds since the epoch, as TOTP counts.
fn unix(now: Timestamp) -> u64 {
    u64::try_from(now.as_second()).unwrap_or(0)
}

/// Sets the password through a setup link, which is spent; with the current `code` of the
/// offered second factor, sets that up too. An admin must.
pub fn set_password(
    store: &dyn Store,
    token: &str,
    password: &str,
    code: Option<&str>,
    now: Timestamp,
) -> Result<User, ConsoleError> {
    let user = setup_user(store, token, now)?;
    check_password(password, &user.email)?;
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let key = match code {
        None if user.role == Role::Admin => {
            return Err(invalid(
                "code",
                "An admin signs in with a second factor: add the key to an authenticator app and enter the code it shows.",
            ));
        }
        None => None,
        Some(code) => {
            let enrolment = enrolment(token, &user)?;
            let Some(step) = totp(&enrolment.key, user.email.expose())?.check(code, unix(now))
            else {
                return Err(invalid(
                    "code",
                    "The code does not match the key: enter the code the app shows now (and check that the phone's clock is right).",
                ));
            };
            Some((enrolment.key, i64::try_from(step).unwrap_or(i64::MAX)))
        }
    };
    let hash = hash_password(password)?;
    if !store.set_password(
        user.tenant,
        user.id,
        &hash,
        key.as_ref().map(|(key, step)| (key.as_slice(), *step)),
        &Actor::User(user.id),
        now,
    )? {
        return Err(ConsoleError::BadSetupLink);
    }
    Ok(store.user(user.tenant, user.id)?.unwrap_or(user))
}

/// A session begun, with its token for the cookie (never kept).
pub struct SignedIn {
    pub user: User,
    pub session_token: Zeroizing<String>,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Signs in with address, password and, where the account has one, the second factor's
/// current code: a new session (a new token at every sign-in, so a token planted before cannot
/// ride on it). Five failures in a row — wrong passwords or wrong codes — lock the account for
/// 15 minutes; a code is accepted once.
pub fn sign_in(
    store: &dyn Store,
    email: &str,
    password: &str,
    code: Option<&str>,
    now: Timestamp,
) -> Result<SignedIn, ConsoleError> {
    let user = Identity::parse(IdentityKind::Email, email)
        .ok()
        .map(|email| store.user_by_email(&email))
        .transpose()?
        .flatten()
        .filter(|u| u.disabled_at.is_none());
    let Some(user) = user else {
        // As long as a real check: the time taken says nothing of whether the account exists.
        password_matches(password, dummy_hash());
        return Err(ConsoleError::BadCredentials);
    };
    if let Some(until) = user.locked_until.filter(|until| now < *until) {
        return Err(ConsoleError::Locked(until));
    }
    let matches = password.len() <= MAX_PASSWORD
        && user
            .password_hash
            .as_deref()
            .is_some_and(|hash| password_matches(password, hash));
    let failed = |store: &dyn Store, otherwise: ConsoleError| -> Result<SignedIn, ConsoleError> {
        let user = store.sign_in_failed(
            user.tenant,
            user.id,
            LOCK_AFTER,
            now.checked_add(LOCK_FOR).unwrap_or(now),
            now,
        )?;
        Err(match user.locked_until.filter(|until| now < *until) {
            Some(until) => ConsoleError::Locked(until),
            None => otherwise,
        })
    };
    if !matches {
        return failed(store, ConsoleError::BadCredentials);
    }
    if user.totp_step.is_some() {
        let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
            // Not a failure: the form asks for the code next.
            return Err(ConsoleError::SecondFactor);
        };
        let key = store
            .totp_key(user.tenant, user.id)?
            .ok_or(ConsoleError::SecondFactor)?;
        let step = totp(&key, user.email.expose())?.check(code, unix(now));
        let fresh = match step {
            Some(step) => store.use_totp_step(
                user.tenant,
                user.id,
                i64::try_from(step).unwrap_or(i64::MAX),
            )?,
            None => false,
        };
        if !fresh {
            return failed(store, ConsoleError::SecondFactor);
        }
    }
    let session_token = new_token()?;
    store.start_session(user.tenant, user.id, &token_hash(&session_token), now)?;
    Ok(SignedIn {
        user,
        session_token,
    })
}

/// An argon2id hash of a random password nobody knows, with the parameters real hashes have:
/// verified against when the address has no account.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        new_token()
            .ok()
            .and_then(|secret| hash_password(&secret).ok())
            .unwrap_or_default()
    })
}

/// The session a cookie's token names, with its user, while it lasts: ended (and audited) once
/// idle 30 minutes, 12 hours after sign-in, or when the user was disabled.
pub fn session(
    store: &dyn Store,
    token: &str,
    now: Timestamp,
) -> Result<Option<(Session, User)>, ConsoleError> {
    let hash = token_hash(token);
    let Some(session) = store.session(&hash)? else {
        return Ok(None);
    };
    let ended = |why: &str| -> Result<Option<(Session, User)>, ConsoleError> {
        store.end_session(session.tenant, &hash, why, now)?;
        Ok(None)
    };
    if now.duration_since(session.last_seen_at) >= IDLE_TIMEOUT {
        return ended("idle");
    }
    if now.duration_since(session.created_at) >= ABSOLUTE_TIMEOUT {
        return ended("expired");
    }
    let Some(user) = store
        .user(session.tenant, session.user)?
        .filter(|u| u.disabled_at.is_none())
    else {
        return ended("disabled");
    };
    if now.duration_since(session.last_seen_at) >= TOUCH_EVERY {
        store.touch_session(session.tenant, &hash, now)?;
    }
    Ok(Some((session, user)))
}

/// Resets a user's sign-in (a forgotten password, a lost phone): the password and the second
/// factor go, their sessions end, and a new setup link (24 hours) is handed out.
pub fn reset_user(
    store: &dyn Store,
    tenant: TenantId,
    id: UserId,
    actor: &Actor,
    now: Timestamp,
) -> Result<Created, ConsoleError> {
    let setup_token = new_token()?;
    let reset = store.reset_user(
        tenant,
        id,
        &token_hash(&setup_token),
        now.checked_add(SETUP_VALIDITY).unwrap_or(now),
        actor,
        now,
    )?;
    let user = store.user(tenant, id)?.filter(|_| reset).ok_or_else(|| {
        invalid(
            "user",
            "no console user with that id in this tenant, or they are disabled",
        )
    })?;
    Ok(Created { user, setup_token })
}

/// Disables a user of `tenant` (someone who left, an account taken over): they cannot sign in
/// again and their sessions end at once.
pub fn disable_user(
    store: &dyn Store,
    tenant: TenantId,
    id: UserId,
    actor: &Actor,
    now: Timestamp,
) -> Result<(), ConsoleError> {
    match store.user(tenant, id)? {
        None => Err(invalid(
            "user",
            "no console user with that id in this tenant",
        )),
        Some(user) if user.disabled_at.is_some() => {
            Err(invalid("user", "this console user is disabled already"))
        }
        Some(_) => {
            store.disable_user(tenant, id, actor, now)?;
            Ok(())
        }
    }
}

/// Ends the session of a cookie's token, if there is one.
pub fn sign_out(store: &dyn Store, token: &str, now: Timestamp) -> Result<bool, ConsoleError> {
    let hash = token_hash(token);
    match store.session(&hash)? {
        Some(session) => Ok(store.end_session(session.tenant, &hash, "sign_out", now)?),
        None => Ok(false),
    }
}
