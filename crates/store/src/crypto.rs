//! Envelope encryption and blind indexes. Every subject has its own random data key; the
//! master key only wraps those keys. Erasing a subject deletes its wrapped key, after which no
//! copy of its rows (a backup, a replica, a stolen file) can be read. Identities are looked up
//! by a keyed hash, never by their value.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ombud_core::Identity;
use std::fmt;
use uuid::Uuid;
use zeroize::Zeroizing;

/// The format byte in front of every sealed value, so the scheme can change without guessing.
const SEALED_V1: u8 = 1;
/// Sealed under a numbered master-key generation: the format byte, the generation (u32, little
/// endian), then as V1. V1 values belong to generation 1.
const SEALED_V2: u8 = 2;
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the operating system gave no randomness: {0}")]
    Randomness(String),
    #[error("a sealed value is damaged or was sealed with another key")]
    Open,
    #[error("a value could not be sealed")]
    Seal,
    #[error("a master key is 64 hexadecimal characters (32 bytes)")]
    MasterKeyFormat,
    #[error("key file line {line}: {problem}")]
    KeyFileFormat { line: usize, problem: String },
    #[error(
        "this was sealed under master-key generation {0}, which has been retired (or this key file never had it)"
    )]
    Retired(u32),
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, CryptoError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    getrandom::fill(bytes.as_mut()).map_err(|e| CryptoError::Randomness(e.to_string()))?;
    Ok(bytes)
}

/// A generation of the secret that wraps subjects' and requests' keys and seals queued mail.
/// Generation 1 is derived from the root key alone; later ones add 32 random bytes of their
/// own, kept in the key file and deleted when the generation is retired, after which nothing
/// sealed under it (in any copy, any backup) can be opened.
#[derive(Clone)]
pub struct Generation {
    pub number: u32,
    /// `None` for generation 1, which the root key alone derives.
    secret: Option<Zeroizing<[u8; 32]>>,
    pub created_at: Option<jiff::Timestamp>,
}

impl Generation {
    pub fn from_root(created_at: Option<jiff::Timestamp>) -> Generation {
        Generation {
            number: 1,
            secret: None,
            created_at,
        }
    }
}

/// The root secret, and the wrapping generations in use. It never touches the database; it
/// lives in a file or the environment.
pub struct MasterKey {
    root: Zeroizing<[u8; 32]>,
    generations: Vec<Generation>,
}

fn parse_hex32(text: &str) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let text = text.trim();
    if text.len() != 64 {
        return Err(CryptoError::MasterKeyFormat);
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(
            text.get(i * 2..i * 2 + 2)
                .ok_or(CryptoError::MasterKeyFormat)?,
            16,
        )
        .map_err(|_| CryptoError::MasterKeyFormat)?;
    }
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl MasterKey {
    /// A value the store keeps to recognise its key: derived one way from the root key (which
    /// rotation keeps), so it tells nothing about the key, and a different key gives another.
    pub fn check_value(&self) -> [u8; 32] {
        blake3::derive_key("ombud 2026 master key check value", &self.root[..])
    }

    pub fn generate() -> Result<MasterKey, CryptoError> {
        Ok(MasterKey {
            root: random::<32>()?,
            generations: vec![Generation::from_root(None)],
        })
    }

    pub fn from_hex(text: &str) -> Result<MasterKey, CryptoError> {
        Ok(MasterKey {
            root: parse_hex32(text)?,
            generations: vec![Generation::from_root(None)],
        })
    }

    /// A key file: the root key in hex on the first line, then one line per wrapping
    /// generation, `gen <number> <hex secret, or "root" for 1> <created, RFC 3339>`. A file
    /// with the root alone (as the first start writes it) has generation 1 only.
    pub fn from_file_text(text: &str) -> Result<MasterKey, CryptoError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        let (_, root) = lines.next().ok_or(CryptoError::MasterKeyFormat)?;
        let root = parse_hex32(root)?;
        let mut generations: Vec<Generation> = Vec::new();
        for (index, line) in lines {
            let bad = |problem: &str| CryptoError::KeyFileFormat {
                line: index + 1,
                problem: problem.to_owned(),
            };
            let parts: Vec<&str> = line.split_whitespace().collect();
            let ["gen", number, secret, created] = parts.as_slice() else {
                return Err(bad("expected `gen <number> <secret> <created>`"));
            };
            let number: u32 = number
                .parse()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| bad("a generation number is a whole number from 1"))?;
            let secret = match (*secret, number) {
                ("root", 1) => None,
                (_, 1) => {
                    return Err(bad(
                        "generation 1 is derived from the root key: write `root`",
                    ));
                }
                (hex, _) => Some(
                    parse_hex32(hex)
                        .map_err(|_| bad("a generation's secret is 64 hexadecimal characters"))?,
                ),
            };
            let created_at = created
                .parse()
                .map_err(|_| bad("the creation time is RFC 3339, like 2026-11-22T10:00:00Z"))?;
            if generations.last().is_some_and(|g| g.number >= number) {
                return Err(bad("generations are listed in increasing order"));
            }
            generations.push(Generation {
                number,
                secret,
                created_at: Some(created_at),
            });
        }
        if generations.is_empty() {
            generations.push(Generation::from_root(None));
        }
        Ok(MasterKey { root, generations })
    }

    /// The key file for this key: what [`MasterKey::from_file_text`] reads back.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(format!("{}\n", self.to_hex().as_str()));
        if self.generations.len() == 1 && self.generations[0].secret.is_none() {
            return text;
        }
        text.push_str("# wrapping generations: gen <number> <secret> <created>; `ombud keys rotate` adds and retires them\n");
        for generation in &self.generations {
            let secret = generation
                .secret
                .as_ref()
                .map_or_else(|| Zeroizing::new("root".to_owned()), |s| hex(s.as_ref()));
            text.push_str(&format!(
                "gen {} {} {}\n",
                generation.number,
                secret.as_str(),
                generation.created_at.unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            ));
        }
        text
    }

    pub fn generations(&self) -> &[Generation] {
        &self.generations
    }

    /// The generation new seals use: the newest.
    pub fn current(&self) -> u32 {
        self.generations.last().map_or(1, |g| g.number)
    }

    /// Adds a new generation, which becomes current.
    pub fn rotate(&mut self, now: jiff::Timestamp) -> Result<u32, CryptoError> {
        if let Some(first) = self.generations.first_mut()
            && first.created_at.is_none()
        {
            first.created_at = Some(jiff::Timestamp::UNIX_EPOCH);
        }
        let number = self.current() + 1;
        self.generations.push(Generation {
            number,
            secret: Some(random::<32>()?),
            created_at: Some(now),
        });
        Ok(number)
    }

    /// Forgets a generation that is not current: what it sealed can no longer be opened.
    pub fn retire(&mut self, number: u32) -> bool {
        if number == self.current() {
            return false;
        }
        let before = self.generations.len();
        self.generations.retain(|g| g.number != number);
        self.generations.len() != before
    }

    /// A key for another part of ombud (signing portal links), derived so that it reveals
    /// nothing of the master key or of the keys derived for other contexts.
    pub fn derive(&self, context: &str) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(blake3::derive_key(context, self.root.as_ref()))
    }

    /// The key of one generation for one use: generation 1 as ombud has always derived it.
    fn generation_key(&self, generation: &Generation, context: &str) -> Zeroizing<[u8; 32]> {
        match &generation.secret {
            None => self.derive(context),
            Some(secret) => {
                let mut material = Zeroizing::new([0u8; 64]);
                material[..32].copy_from_slice(self.root.as_ref());
                material[32..].copy_from_slice(secret.as_ref());
                Zeroizing::new(blake3::derive_key(context, material.as_ref()))
            }
        }
    }

    pub fn to_hex(&self) -> Zeroizing<String> {
        hex(self.root.as_ref())
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// The keys derived from the master key, ready to use.
pub struct Keyring {
    /// Per generation: the cipher that wraps keys and the one that seals mail.
    generations: Vec<(u32, XChaCha20Poly1305, XChaCha20Poly1305)>,
    current: u32,
    index_key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyring(<redacted>)")
    }
}

fn seal(cipher: &XChaCha20Poly1305, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    seal_as(cipher, None, plaintext, aad)
}

/// Seals under `generation` (V2), or as V1 when `None`.
fn seal_as(
    cipher: &XChaCha20Poly1305, generation: Option<u32>, plaintext: &[u8], aad: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let nonce_bytes = random::<NONCE_LEN>()?;
    let nonce = XNonce::from(*nonce_bytes);
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError::Seal)?;
    let mut sealed = Vec::with_capacity(5 + NONCE_LEN + ciphertext.len());
    match generation {
        None => sealed.push(SEALED_V1),
        Some(generation) => {
            sealed.push(SEALED_V2);
            sealed.extend_from_slice(&generation.to_le_bytes());
        }
    }
    sealed.extend_from_slice(nonce_bytes.as_ref());
    sealed.extend_from_slice(&ciphertext);
    Ok(sealed)
}

fn open(
    cipher: &XChaCha20Poly1305, sealed: &[u8], aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < 1 + NONCE_LEN || sealed[0] != SEALED_V1 {
        return Err(CryptoError::Open);
    }
    open_body(cipher, &sealed[1..], aad)
}

fn open_body(
    cipher: &XChaCha20Poly1305, body: &[u8], aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if body.len() < NONCE_LEN {
        return Err(CryptoError::Open);
    }
    let nonce_bytes: [u8; NONCE_LEN] = body[..NONCE_LEN]
        .try_into()
        .map_err(|_| CryptoError::Open)?;
    let nonce = XNonce::from(nonce_bytes);
    cipher
        .decrypt(
            &nonce,
            Payload {
                msg: &body[NONCE_LEN..],
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Open)
}

/// The master-key generation a value was sealed under, from its format prefix.
pub fn sealed_generation(sealed: &[u8]) -> Option<u32> {
    match sealed.first() {
        Some(&SEALED_V1) => Some(1),
        Some(&SEALED_V2) => sealed
            .get(1..5)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes),
        _ => None,
    }
}

/// Binds a wrapped key to its tenant and subject, so a key row copied to another subject
/// does not open.
fn key_aad(tenant: Uuid, subject: Uuid) -> [u8; 32] {
    let mut aad = [0u8; 32];
    aad[..16].copy_from_slice(tenant.as_bytes());
    aad[16..].copy_from_slice(subject.as_bytes());
    aad
}

const WRAPPING: &str = "ombud 2026-11 subject data key wrapping";
const OUTBOX: &str = "ombud 2026-11 mail outbox";

impl Keyring {
    pub fn new(master: &MasterKey) -> Keyring {
        let cipher =
            |key: Zeroizing<[u8; 32]>| XChaCha20Poly1305::new(&chacha20poly1305::Key::from(*key));
        Keyring {
            generations: master
                .generations
                .iter()
                .map(|g| {
                    (
                        g.number,
                        cipher(master.generation_key(g, WRAPPING)),
                        cipher(master.generation_key(g, OUTBOX)),
                    )
                })
                .collect(),
            current: master.current(),
            index_key: master.derive("ombud 2026-11 identity blind index"),
        }
    }

    /// The generation new seals use.
    pub fn current_generation(&self) -> u32 {
        self.current
    }

    fn ciphers(
        &self, generation: u32,
    ) -> Result<&(u32, XChaCha20Poly1305, XChaCha20Poly1305), CryptoError> {
        self.generations
            .iter()
            .find(|(n, _, _)| *n == generation)
            .ok_or(CryptoError::Retired(generation))
    }

    /// Seals with the current generation; generation 1 keeps the V1 format, so stores that
    /// never rotated read as before.
    fn seal_current(
        &self, mail: bool, plaintext: &[u8], aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let (number, wrapping, outbox) = self.ciphers(self.current)?;
        let cipher = if mail { outbox } else { wrapping };
        seal_as(cipher, (*number != 1).then_some(*number), plaintext, aad)
    }

    fn open_any(
        &self, mail: bool, sealed: &[u8], aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let generation = sealed_generation(sealed).ok_or(CryptoError::Open)?;
        let (_, wrapping, outbox) = self.ciphers(generation)?;
        let cipher = if mail { outbox } else { wrapping };
        let body = if sealed[0] == SEALED_V1 {
            &sealed[1..]
        } else {
            &sealed[5..]
        };
        open_body(cipher, body, aad)
    }

    pub fn new_data_key(&self) -> Result<DataKey, CryptoError> {
        Ok(DataKey::from_bytes(random::<32>()?))
    }

    pub fn wrap(&self, key: &DataKey, tenant: Uuid, subject: Uuid) -> Result<Vec<u8>, CryptoError> {
        self.seal_current(false, key.bytes.as_ref(), &key_aad(tenant, subject))
    }

    pub fn unwrap(
        &self, wrapped: &[u8], tenant: Uuid, subject: Uuid,
    ) -> Result<DataKey, CryptoError> {
        let bytes = self.open_any(false, wrapped, &key_aad(tenant, subject))?;
        let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| CryptoError::Open)?;
        Ok(DataKey::from_bytes(Zeroizing::new(array)))
    }

    /// A wrapped key sealed again under the current generation; `None` when it is already.
    pub fn rewrap(
        &self, wrapped: &[u8], tenant: Uuid, subject: Uuid,
    ) -> Result<Option<Vec<u8>>, CryptoError> {
        if sealed_generation(wrapped) == Some(self.current) {
            return Ok(None);
        }
        let key = self.unwrap(wrapped, tenant, subject)?;
        self.wrap(&key, tenant, subject).map(Some)
    }

    /// The keyed hash an identity is found by. The tenant is part of the input, so the same
    /// address in two tenants gives two unrelated indexes.
    pub fn blind_index(&self, tenant: Uuid, identity: &Identity) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new_keyed(&self.index_key);
        hasher.update(tenant.as_bytes());
        hasher.update(identity.kind().as_str().as_bytes());
        hasher.update(&[0]);
        hasher.update(identity.expose().as_bytes());
        *hasher.finalize().as_bytes()
    }
}

impl Keyring {
    /// Seals a queued mail (address, subject line, body): mails outlive the subject they are
    /// about (the answer to an erasure), so they cannot use its key.
    pub fn seal_mail(&self, plaintext: &[u8], mail: Uuid) -> Result<Vec<u8>, CryptoError> {
        self.seal_current(true, plaintext, mail.as_bytes())
    }

    pub fn open_mail(&self, sealed: &[u8], mail: Uuid) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.open_any(true, sealed, mail.as_bytes())
    }

    /// Seals a stored response to an idempotent request (it may carry personal data) under
    /// the current generation, bound to its tenant and key by `aad`. Responses live a day and
    /// are not rewrapped: one sealed under a generation since retired reads as unreadable.
    pub fn seal_response(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.seal_current(true, plaintext, aad)
    }

    pub fn open_response(
        &self, sealed: &[u8], aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.open_any(true, sealed, aad)
    }

    /// A sealed mail part sealed again under the current generation; `None` when it is already.
    pub fn reseal_mail(&self, sealed: &[u8], mail: Uuid) -> Result<Option<Vec<u8>>, CryptoError> {
        if sealed_generation(sealed) == Some(self.current) {
            return Ok(None);
        }
        let plaintext = self.open_mail(sealed, mail)?;
        self.seal_mail(&plaintext, mail).map(Some)
    }
}

/// A new one-time code: eight digits, uniformly drawn. Eight rather than six so that the
/// guesses the portal allows an address (a few a day) leave an attacker a chance of about one in
/// ten million, not one in a hundred thousand.
pub fn new_verification_code() -> Result<Zeroizing<String>, CryptoError> {
    loop {
        let bytes = random::<4>()?;
        let value = u32::from_le_bytes(*bytes);
        // Rejects the top of the range so every code is equally likely.
        if value < 4_200_000_000 {
            return Ok(Zeroizing::new(format!("{:08}", value % 100_000_000)));
        }
    }
}

/// A random key that lives only as long as the process (to hash what it keeps in memory).
pub fn new_process_key() -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    random::<32>()
}

/// A download token for an export: 256 random bits, hex. The export is sealed with a key
/// derived from the token, so the stored file cannot be read without the link.
pub fn new_export_token() -> Result<Zeroizing<String>, CryptoError> {
    let bytes = random::<32>()?;
    Ok(Zeroizing::new(
        bytes.iter().map(|b| format!("{b:02x}")).collect(),
    ))
}

pub fn export_token_hash(token: &str) -> [u8; 32] {
    blake3::derive_key("ombud 2026-11 export token", token.as_bytes())
}

fn export_cipher(token: &str) -> XChaCha20Poly1305 {
    let key = Zeroizing::new(blake3::derive_key(
        "ombud 2026-11 export sealing",
        token.as_bytes(),
    ));
    XChaCha20Poly1305::new(&chacha20poly1305::Key::from(*key))
}

pub fn seal_export(token: &str, bytes: &[u8]) -> Result<Vec<u8>, CryptoError> {
    seal(&export_cipher(token), bytes, b"export")
}

pub fn open_export(token: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    open(&export_cipher(token), sealed, b"export")
}

/// One subject's key: everything about the subject is sealed with it.
pub struct DataKey {
    bytes: Zeroizing<[u8; 32]>,
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> DataKey {
        let cipher = XChaCha20Poly1305::new(&chacha20poly1305::Key::from(*bytes));
        DataKey { bytes, cipher }
    }

    /// Seals a value; `aad` names what the value is (its record id and category), so a sealed
    /// value moved to another row or relabelled no longer opens.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal(&self.cipher, plaintext, aad)
    }

    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open(&self.cipher, sealed, aad)
    }
}

/// The prefix of every API key secret, so a leaked one is recognisable in a scan.
pub const API_SECRET_PREFIX: &str = "ombud_sk_";

/// A new API key secret: 256 random bits, hex-encoded, shown to its owner once.
pub fn new_api_secret() -> Result<Zeroizing<String>, CryptoError> {
    let bytes = random::<32>()?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Zeroizing::new(format!("{API_SECRET_PREFIX}{hex}")))
}

/// What the store keeps of a secret. The secrets are random and long, so a fast hash is
/// enough: there is nothing to guess.
pub fn api_secret_hash(secret: &str) -> [u8; 32] {
    blake3::derive_key("ombud 2026-11 api key secret", secret.as_bytes())
}

/// Associated data for a record value: its id and its category.
pub fn record_aad(record: Uuid, category: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + category.len());
    aad.extend_from_slice(record.as_bytes());
    aad.extend_from_slice(category.as_bytes());
    aad
}

/// Associated data for an identity value: the blind index it is stored under.
pub fn identity_aad(index: &[u8; 32]) -> Vec<u8> {
    let mut aad = b"identity".to_vec();
    aad.extend_from_slice(index);
    aad
}

/// The keyring a running store works with. A rotation (the key file read again) replaces it
/// whole and never edits it in place, so each step holds one set of generations throughout.
pub(crate) struct CurrentKeyring(std::sync::RwLock<std::sync::Arc<Keyring>>);

impl CurrentKeyring {
    pub(crate) fn new(master: &MasterKey) -> CurrentKeyring {
        CurrentKeyring(std::sync::RwLock::new(std::sync::Arc::new(Keyring::new(
            master,
        ))))
    }

    pub(crate) fn get(&self) -> std::sync::Arc<Keyring> {
        std::sync::Arc::clone(&self.0.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn replace(&self, master: &MasterKey) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) =
            std::sync::Arc::new(Keyring::new(master));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ombud_core::IdentityKind;

    #[test]
    fn a_rotated_key_wraps_under_the_new_generation_and_a_retired_one_opens_nothing() {
        let mut master = MasterKey::from_hex(&"3c".repeat(32)).expect("key");
        let before = Keyring::new(&master);
        let (tenant, subject, mail) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let key = before.new_data_key().expect("randomness");
        let old = before.wrap(&key, tenant, subject).expect("wraps");
        assert_eq!(
            sealed_generation(&old),
            Some(1),
            "an unrotated store seals as before"
        );
        let old_mail = before
            .seal_mail(b"to: ana@example.com", mail)
            .expect("seals");

        let now: jiff::Timestamp = "2026-11-22T10:00:00Z".parse().expect("time");
        assert_eq!(master.rotate(now).expect("randomness"), 2);
        let text = master.to_file_text();
        assert!(
            text.contains("gen 1 root ") && text.contains("gen 2 "),
            "{}",
            text.as_str()
        );
        let reread = MasterKey::from_file_text(&text).expect("reads back");
        assert_eq!(reread.current(), 2);
        let after = Keyring::new(&reread);
        let new = after
            .rewrap(&old, tenant, subject)
            .expect("rewraps")
            .expect("changed");
        assert_eq!(sealed_generation(&new), Some(2));
        assert!(
            after
                .rewrap(&new, tenant, subject)
                .expect("rewraps")
                .is_none(),
            "once"
        );
        let new_mail = after
            .reseal_mail(&old_mail, mail)
            .expect("reseals")
            .expect("changed");
        assert_eq!(
            after.open_mail(&new_mail, mail).expect("opens").as_slice(),
            b"to: ana@example.com"
        );
        let sealed = key.seal(b"value", &[1]).expect("seals");
        let opened = after.unwrap(&new, tenant, subject).expect("unwraps");
        assert_eq!(
            opened.open(&sealed, &[1]).expect("opens").as_slice(),
            b"value"
        );
        assert!(
            after.unwrap(&new, tenant, Uuid::now_v7()).is_err(),
            "bound to its subject"
        );
        assert_eq!(
            after.blind_index(
                tenant,
                &Identity::parse(IdentityKind::Email, "a@example.com").expect("email")
            ),
            before.blind_index(
                tenant,
                &Identity::parse(IdentityKind::Email, "a@example.com").expect("email")
            ),
            "identities are found the same way after a rotation"
        );

        let mut retired = reread;
        assert!(!retired.retire(2), "the current generation stays");
        assert!(retired.retire(1));
        let retired =
            Keyring::new(&MasterKey::from_file_text(&retired.to_file_text()).expect("reads back"));
        assert!(matches!(
            retired.unwrap(&old, tenant, subject),
            Err(CryptoError::Retired(1))
        ));
        assert!(matches!(
            retired.open_mail(&old_mail, mail),
            Err(CryptoError::Retired(1))
        ));
        assert!(retired.unwrap(&new, tenant, subject).is_ok());
    }

    #[test]
    fn a_damaged_key_file_names_the_line() {
        let root = "3c".repeat(32);
        for (text, says) in [
            (format!("{root}\ngen 2 zz 2026-01-01T00:00:00Z\n"), "line 2"),
            (
                format!("{root}\ngen 1 {} 2026-01-01T00:00:00Z\n", "aa".repeat(32)),
                "root",
            ),
            (
                format!(
                    "{root}\ngen 3 {} 2026-01-01T00:00:00Z\ngen 2 {} 2026-02-01T00:00:00Z\n",
                    "aa".repeat(32),
                    "bb".repeat(32)
                ),
                "increasing",
            ),
            (
                format!("{root}\ngen 2 {} yesterday\n", "aa".repeat(32)),
                "RFC 3339",
            ),
            (format!("{root}\nkeep everything\n"), "gen <number>"),
        ] {
            let error = MasterKey::from_file_text(&text)
                .expect_err(says)
                .to_string();
            assert!(error.contains(says), "{says}: {error}");
            assert!(
                !error.contains(&"aa".repeat(32)) && !error.contains(&root),
                "no secret in {error}"
            );
        }
        assert!(MasterKey::from_file_text("not a key").is_err());
        assert_eq!(
            MasterKey::from_file_text(&format!("{root}\n"))
                .expect("root only")
                .current(),
            1
        );
    }

    #[test]
    fn a_value_opens_only_with_its_key_and_its_label() {
        let keyring = Keyring::new(&MasterKey::generate().expect("randomness"));
        let key = keyring.new_data_key().expect("randomness");
        let record = Uuid::now_v7();
        let sealed = key
            .seal(
                b"ana@example.com",
                &record_aad(record, "user.contact.email"),
            )
            .expect("seals");
        assert!(!sealed.windows(15).any(|w| w == b"ana@example.com"));
        assert_eq!(
            key.open(&sealed, &record_aad(record, "user.contact.email"))
                .expect("opens")
                .as_slice(),
            b"ana@example.com"
        );
        assert!(
            key.open(&sealed, &record_aad(record, "user.name")).is_err(),
            "relabelled"
        );
        assert!(
            key.open(&sealed, &record_aad(Uuid::now_v7(), "user.contact.email"))
                .is_err(),
            "moved"
        );
        let other = keyring.new_data_key().expect("randomness");
        assert!(
            other
                .open(&sealed, &record_aad(record, "user.contact.email"))
                .is_err(),
            "another key"
        );
    }

    #[test]
    fn a_wrapped_key_opens_only_for_its_subject_and_master_key() {
        let master = MasterKey::generate().expect("randomness");
        let keyring = Keyring::new(&master);
        let key = keyring.new_data_key().expect("randomness");
        let (tenant, subject) = (Uuid::now_v7(), Uuid::now_v7());
        let wrapped = keyring.wrap(&key, tenant, subject).expect("wraps");
        let unwrapped = keyring.unwrap(&wrapped, tenant, subject).expect("unwraps");
        let sealed = key.seal(b"x", b"aad").expect("seals");
        assert_eq!(
            unwrapped
                .open(&sealed, b"aad")
                .expect("same key")
                .as_slice(),
            b"x"
        );
        assert!(keyring.unwrap(&wrapped, tenant, Uuid::now_v7()).is_err());
        let other = Keyring::new(&MasterKey::generate().expect("randomness"));
        assert!(other.unwrap(&wrapped, tenant, subject).is_err());
        let restored = Keyring::new(&MasterKey::from_hex(&master.to_hex()).expect("round trip"));
        assert!(restored.unwrap(&wrapped, tenant, subject).is_ok());
    }

    #[test]
    fn blind_indexes_are_stable_per_tenant_and_differ_across_tenants() {
        let keyring = Keyring::new(&MasterKey::generate().expect("randomness"));
        let a = Identity::parse(IdentityKind::Email, "Ana@Example.com").expect("valid");
        let b = Identity::parse(IdentityKind::Email, "ana@example.com ").expect("valid");
        let tenant = Uuid::now_v7();
        assert_eq!(
            keyring.blind_index(tenant, &a),
            keyring.blind_index(tenant, &b)
        );
        assert_ne!(
            keyring.blind_index(tenant, &a),
            keyring.blind_index(Uuid::now_v7(), &a)
        );
    }

    #[test]
    fn api_secrets_are_random_prefixed_and_stored_only_as_hashes() {
        let a = new_api_secret().expect("randomness");
        let b = new_api_secret().expect("randomness");
        assert!(a.starts_with(API_SECRET_PREFIX) && a.len() == API_SECRET_PREFIX.len() + 64);
        assert_ne!(*a, *b);
        assert_eq!(api_secret_hash(&a), api_secret_hash(&a.clone()));
        assert_ne!(api_secret_hash(&a), api_secret_hash(&b));
    }

    #[test]
    fn keys_never_print() {
        let master = MasterKey::generate().expect("randomness");
        assert_eq!(format!("{master:?}"), "MasterKey(<redacted>)");
        assert!(MasterKey::from_hex("abc").is_err());
    }
}
