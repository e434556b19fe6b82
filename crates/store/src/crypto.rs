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
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, CryptoError> {
    let mut bytes = Zeroizing::new([0u8; N]);
    getrandom::fill(bytes.as_mut()).map_err(|e| CryptoError::Randomness(e.to_string()))?;
    Ok(bytes)
}

/// The root secret. It never touches the database; it lives in a file or the environment.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    pub fn generate() -> Result<MasterKey, CryptoError> {
        Ok(MasterKey(random::<32>()?))
    }

    pub fn from_hex(text: &str) -> Result<MasterKey, CryptoError> {
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
        Ok(MasterKey(bytes))
    }

    /// A key for another part of ombud (signing portal links), derived so that it reveals
    /// nothing of the master key or of the keys derived for other contexts.
    pub fn derive(&self, context: &str) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(blake3::derive_key(context, self.0.as_ref()))
    }

    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// The keys derived from the master key, ready to use.
pub struct Keyring {
    wrapping: XChaCha20Poly1305,
    index_key: Zeroizing<[u8; 32]>,
    outbox: XChaCha20Poly1305,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyring(<redacted>)")
    }
}

fn seal(cipher: &XChaCha20Poly1305, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
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
    let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    sealed.push(SEALED_V1);
    sealed.extend_from_slice(nonce_bytes.as_ref());
    sealed.extend_from_slice(&ciphertext);
    Ok(sealed)
}

fn open(
    cipher: &XChaCha20Poly1305,
    sealed: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < 1 + NONCE_LEN || sealed[0] != SEALED_V1 {
        return Err(CryptoError::Open);
    }
    let nonce_bytes: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN]
        .try_into()
        .map_err(|_| CryptoError::Open)?;
    let nonce = XNonce::from(nonce_bytes);
    cipher
        .decrypt(
            &nonce,
            Payload {
                msg: &sealed[1 + NONCE_LEN..],
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Open)
}

/// Binds a wrapped key to its tenant and subject, so a key row copied to another subject
/// does not open.
fn key_aad(tenant: Uuid, subject: Uuid) -> [u8; 32] {
    let mut aad = [0u8; 32];
    aad[..16].copy_from_slice(tenant.as_bytes());
    aad[16..].copy_from_slice(subject.as_bytes());
    aad
}

impl Keyring {
    pub fn new(master: &MasterKey) -> Keyring {
        let wrapping = Zeroizing::new(blake3::derive_key(
            "ombud 2026-11 subject data key wrapping",
            master.0.as_ref(),
        ));
        let index_key = Zeroizing::new(blake3::derive_key(
            "ombud 2026-11 identity blind index",
            master.0.as_ref(),
        ));
        let outbox = Zeroizing::new(blake3::derive_key(
            "ombud 2026-11 mail outbox",
            master.0.as_ref(),
        ));
        Keyring {
            wrapping: XChaCha20Poly1305::new(&chacha20poly1305::Key::from(*wrapping)),
            index_key,
            outbox: XChaCha20Poly1305::new(&chacha20poly1305::Key::from(*outbox)),
        }
    }

    pub fn new_data_key(&self) -> Result<DataKey, CryptoError> {
        Ok(DataKey::from_bytes(random::<32>()?))
    }

    pub fn wrap(&self, key: &DataKey, tenant: Uuid, subject: Uuid) -> Result<Vec<u8>, CryptoError> {
        seal(
            &self.wrapping,
            key.bytes.as_ref(),
            &key_aad(tenant, subject),
        )
    }

    pub fn unwrap(
        &self,
        wrapped: &[u8],
        tenant: Uuid,
        subject: Uuid,
    ) -> Result<DataKey, CryptoError> {
        let bytes = open(&self.wrapping, wrapped, &key_aad(tenant, subject))?;
        let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| CryptoError::Open)?;
        Ok(DataKey::from_bytes(Zeroizing::new(array)))
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
        seal(&self.outbox, plaintext, mail.as_bytes())
    }

    pub fn open_mail(&self, sealed: &[u8], mail: Uuid) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open(&self.outbox, sealed, mail.as_bytes())
    }
}

/// A new one-time code: six digits, uniformly drawn.
pub fn new_verification_code() -> Result<Zeroizing<String>, CryptoError> {
    loop {
        let bytes = random::<4>()?;
        let value = u32::from_le_bytes(*bytes);
        // Rejects the top of the range so every code is equally likely.
        if value < 4_294_000_000 {
            return Ok(Zeroizing::new(format!("{:06}", value % 1_000_000)));
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use ombud_core::IdentityKind;

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
