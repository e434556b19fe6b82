//! The server's own secrets, derived from the master key: one signs the links people follow (portal
//! status pages, export downloads), one keys the hash of one-time codes. Links carry their state in
//! the clear and a MAC over it, so the portal needs no cookies and no session table, and any
//! replica with the master key accepts them. They must never be printed, logged or handed to
//! anything but the link and code helpers here.

use jiff::Timestamp;
use ombud_store::crypto::MasterKey;
use ombud_store::model::{SubjectId, TenantId};
use ombud_store::requests::RequestId;
use zeroize::Zeroizing;

/// How long a portal status link stays valid: past the longest deadline (1 + 2 months).
pub const PORTAL_LINK_VALIDITY: jiff::SignedDuration = jiff::SignedDuration::from_hours(24 * 120);

pub struct Secrets {
    links: Zeroizing<[u8; 32]>,
    codes: Zeroizing<[u8; 32]>,
    masks: Zeroizing<[u8; 32]>,
    receipts: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(<redacted>)")
    }
}

/// Bytes as lowercase hex: tokens, ids and hashes people copy.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Secrets {
    pub fn from_master(master: &MasterKey) -> Secrets {
        Secrets {
            links: master.derive("ombud 2026-11 signed links"),
            codes: master.derive("ombud 2026-11 verification codes"),
            masks: master.derive("ombud 2026-11 dataset masks"),
            receipts: master.derive("ombud 2026-11 receipt signing keys"),
        }
    }

    /// The key erasure masks a tenant's dataset values under (HMAC-SHA-256): the same value
    /// gets the same mask within a tenant, and no mask can be matched across tenants.
    pub fn mask_key(&self, tenant: TenantId) -> Zeroizing<[u8; 32]> {
        let mut hasher = blake3::Hasher::new_keyed(&self.masks);
        hasher.update(tenant.0.as_bytes());
        Zeroizing::new(*hasher.finalize().as_bytes())
    }

    /// The key receipts are signed with under key id `kid`. Derived, never stored: every
    /// replica with the master key signs with the same key, and the store keeps only the public
    /// half.
    pub fn receipt_signing_key(&self, kid: &str) -> ed25519_dalek::SigningKey {
        let mut hasher = blake3::Hasher::new_keyed(&self.receipts);
        hasher.update(kid.as_bytes());
        ed25519_dalek::SigningKey::from_bytes(hasher.finalize().as_bytes())
    }

    fn mac(&self, parts: &[&[u8]]) -> blake3::Hash {
        let mut hasher = blake3::Hasher::new_keyed(&self.links);
        for part in parts {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        hasher.finalize()
    }

    /// What the store keeps of a one-time code. Keyed: eight digits are quickly guessed from a
    /// plain hash, not from this one without the master key.
    pub fn code_hash(&self, tenant: TenantId, request: RequestId, code: &str) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new_keyed(&self.codes);
        hasher.update(tenant.0.as_bytes());
        hasher.update(request.0.as_bytes());
        hasher.update(code.as_bytes());
        *hasher.finalize().as_bytes()
    }

    /// The token of an export's download link. The export is sealed with a key derived from
    /// it, so the stored file is unreadable without the link.
    pub fn export_token(&self, tenant: TenantId, request: RequestId) -> String {
        let mac = self.mac(&[b"export", tenant.0.as_bytes(), request.0.as_bytes()]);
        format!(
            "{}.{}.{}",
            tenant.0.simple(),
            request.0.simple(),
            mac.to_hex()
        )
    }

    pub fn check_export_token(&self, token: &str) -> Option<(TenantId, RequestId)> {
        let (tenant, request, mac) = split3(token)?;
        let (tenant, request) = (
            TenantId(tenant.parse().ok()?),
            RequestId(request.parse().ok()?),
        );
        let expected = self.mac(&[b"export", tenant.0.as_bytes(), request.0.as_bytes()]);
        (blake3::Hash::from_hex(mac).ok()? == expected).then_some((tenant, request))
    }

    /// A signed, expiring link to a request's status page.
    pub fn portal_token(&self, tenant: TenantId, request: RequestId, issued: Timestamp) -> String {
        let expires = issued
            .checked_add(PORTAL_LINK_VALIDITY)
            .unwrap_or(issued)
            .as_second();
        let mac = self.mac(&[
            b"portal",
            tenant.0.as_bytes(),
            request.0.as_bytes(),
            &expires.to_le_bytes(),
        ]);
        format!(
            "{}.{}.{expires}.{}",
            tenant.0.simple(),
            request.0.simple(),
            hex(&mac.as_bytes()[..20])
        )
    }

    pub fn check_portal_token(&self, token: &str, now: Timestamp) -> Option<(TenantId, RequestId)> {
        let mut parts = token.split('.');
        let tenant = TenantId(parts.next()?.parse().ok()?);
        let request = RequestId(parts.next()?.parse().ok()?);
        let expires: i64 = parts.next()?.parse().ok()?;
        let mac = parts.next()?;
        if parts.next().is_some() || now.as_second() >= expires {
            return None;
        }
        let expected = self.mac(&[
            b"portal",
            tenant.0.as_bytes(),
            request.0.as_bytes(),
            &expires.to_le_bytes(),
        ]);
        same_mac(mac, &expected).then_some((tenant, request))
    }
}

impl Secrets {
    /// The token of a person's one-click unsubscribe link for a notice kind (RFC 8058). It
    /// does not expire: a mail read months later must still stop the next one. It names ids
    /// and a policy key, never an address.
    pub fn unsubscribe_token(&self, tenant: TenantId, subject: SubjectId, kind: &str) -> String {
        let mac = self.mac(&[
            b"unsubscribe",
            tenant.0.as_bytes(),
            subject.0.as_bytes(),
            kind.as_bytes(),
        ]);
        format!(
            "{}.{}.{}.{kind}",
            tenant.0.simple(),
            subject.0.simple(),
            hex(&mac.as_bytes()[..20])
        )
    }

    pub fn check_unsubscribe_token(&self, token: &str) -> Option<(TenantId, SubjectId, String)> {
        // The kind goes last: a policy key is checked by the MAC, whatever it holds.
        let mut parts = token.splitn(4, '.');
        let tenant = TenantId(parts.next()?.parse().ok()?);
        let subject = SubjectId(parts.next()?.parse().ok()?);
        let mac = parts.next()?;
        let kind = parts.next()?;
        let expected = self.mac(&[
            b"unsubscribe",
            tenant.0.as_bytes(),
            subject.0.as_bytes(),
            kind.as_bytes(),
        ]);
        same_mac(mac, &expected).then(|| (tenant, subject, kind.to_owned()))
    }
}

/// Whether a link's MAC (hex, as given) is the expected one's first 20 bytes, compared without
/// an early exit so the time taken says nothing of how much matched.
fn same_mac(given: &str, expected: &blake3::Hash) -> bool {
    let expected = hex(&expected.as_bytes()[..20]);
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn split3(token: &str) -> Option<(&str, &str, &str)> {
    let mut parts = token.split('.');
    let found = (parts.next()?, parts.next()?, parts.next()?);
    parts.next().is_none().then_some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets::from_master(&MasterKey::from_hex(&"cd".repeat(32)).expect("key"))
    }

    #[test]
    fn links_verify_and_a_changed_or_expired_link_does_not() {
        let secrets = secrets();
        let (tenant, request) = (TenantId::new(), RequestId::new());
        let now: Timestamp = "2026-03-01T10:00:00Z".parse().expect("time");
        let token = secrets.portal_token(tenant, request, now);
        assert_eq!(
            secrets.check_portal_token(&token, now),
            Some((tenant, request))
        );
        let later = now.checked_add(PORTAL_LINK_VALIDITY).expect("time");
        assert_eq!(secrets.check_portal_token(&token, later), None);
        let other = secrets.portal_token(TenantId::new(), request, now);
        let forged = format!("{}{}", &other[..33], &token[33..]);
        assert_eq!(secrets.check_portal_token(&forged, now), None);

        let export = secrets.export_token(tenant, request);
        assert_eq!(secrets.check_export_token(&export), Some((tenant, request)));
        let mut tampered = export.clone();
        tampered.pop();
        tampered.push(if export.ends_with('0') { '1' } else { '0' });
        assert_eq!(secrets.check_export_token(&tampered), None);
        let elsewhere = Secrets::from_master(&MasterKey::from_hex(&"ef".repeat(32)).expect("key"));
        assert_eq!(elsewhere.check_export_token(&export), None);

        let person = SubjectId::new();
        let link = secrets.unsubscribe_token(tenant, person, "product-news");
        assert_eq!(
            secrets.check_unsubscribe_token(&link),
            Some((tenant, person, "product-news".to_owned()))
        );
        let other_kind = link.replace("product-news", "security-notices");
        assert_eq!(secrets.check_unsubscribe_token(&other_kind), None);
        let someone_else = link.replace(
            &person.0.simple().to_string(),
            &SubjectId::new().0.simple().to_string(),
        );
        assert_eq!(secrets.check_unsubscribe_token(&someone_else), None);
        assert_eq!(elsewhere.check_unsubscribe_token(&link), None);
        assert_eq!(secrets.check_unsubscribe_token("a.b.c"), None);
    }
}
