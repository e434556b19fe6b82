//! What the store keeps and returns. Values that are personal data travel as [`Secret`], which
//! never prints; ids are UUIDs (version 7, so they sort by creation time).

use jiff::Timestamp;
use ombud_core::{EventKind, Identity};
use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroizing;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            pub fn new() -> Self {
                $name(uuid::Uuid::now_v7())
            }

            /// An id fixed by what it names (a version 8 UUID from the first 16 bytes of a
            /// digest), so writing the same thing again finds the same row.
            pub fn derived(digest: &[u8; 32]) -> Self {
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(&digest[..16]);
                $name(uuid::Builder::from_custom_bytes(bytes).into_uuid())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(text).map($name)
            }
        }
    };
}

pub(crate) use id;

id!(
    /// A customer organisation, or the operator itself.
    TenantId
);
id!(
    /// A natural person inside one tenant.
    SubjectId
);
id!(
    /// One item of personal data.
    RecordId
);
id!(
    /// One recorded lifecycle fact.
    EventId
);
id!(
    /// One API key.
    ApiKeyId
);

/// A personal-data value: readable through `expose`, never through `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(value.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// The operator's own tenant: for its data the operator is controller.
    pub operator: bool,
    pub created_at: Timestamp,
    /// A customer's details as controller of its people's data, and how its portal looks.
    pub profile: TenantProfile,
}

/// What a customer tenant's people are told of who decides over their data (Art. 13(1)(a),
/// 14(1)(a)): the customer is the controller, with its own address, contact, DPO and authority;
/// the operator answers their requests as its processor. The tenant's `name` is the
/// controller's name. Every field is optional; what is missing is left unsaid, never filled
/// with the operator's details as if they were the customer's.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantProfile {
    /// The name the portal shows in its header, where the brand differs from the legal name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The portal's accent colour, `#rrggbb`, dark enough for white text on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The controller's company registration number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration: Option<String>,
    /// Where the customer's people write with questions about their data (an email address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The customer's data protection officer: a name, an address, or both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpo: Option<String>,
    /// The supervisory authority the customer answers to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_website: Option<String>,
    /// The customer's own privacy notice (https).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice_url: Option<String>,
}

impl TenantProfile {
    /// The names of the fields that differ from `other`, for the audit log (never the values).
    pub fn changed_fields(&self, other: &TenantProfile) -> Vec<&'static str> {
        let pairs = [
            ("display_name", &self.display_name, &other.display_name),
            ("colour", &self.colour, &other.colour),
            ("address", &self.address, &other.address),
            ("registration", &self.registration, &other.registration),
            ("contact", &self.contact, &other.contact),
            ("dpo", &self.dpo, &other.dpo),
            ("authority", &self.authority, &other.authority),
            (
                "authority_website",
                &self.authority_website,
                &other.authority_website,
            ),
            ("notice_url", &self.notice_url, &other.notice_url),
        ];
        pairs
            .into_iter()
            .filter(|(_, a, b)| a != b)
            .map(|(name, _, _)| name)
            .collect()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything in its scope, including keys and tenants.
    Admin,
    /// The data protection officer: subjects, records, requests, audit.
    Dpo,
    /// A support agent: subjects and requests, no keys.
    Agent,
    /// An application: writes records and events, reads for a declared purpose.
    Service,
    /// Reads the audit log and verifies it; nothing else.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Dpo,
        Role::Agent,
        Role::Service,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Dpo => "dpo",
            Role::Agent => "agent",
            Role::Service => "service",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant: TenantId,
    /// An operator-wide key acts in every tenant; only keys of the operator tenant can be.
    pub operator_wide: bool,
    pub name: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub tenant: TenantId,
    pub operator_wide: bool,
    pub name: String,
    pub role: Role,
    /// The hash of the secret; the secret itself is never stored.
    pub secret_hash: [u8; 32],
}

#[derive(Debug, Clone)]
pub struct Subject {
    pub id: SubjectId,
    pub created_at: Timestamp,
    pub identities: Vec<Identity>,
}

#[derive(Debug, Clone)]
pub struct NewRecord {
    /// Given by writers that must be able to repeat a write without doubling it (the
    /// importer); a record whose id exists already is left as it is.
    pub id: Option<RecordId>,
    pub subject: SubjectId,
    pub category: String,
    /// The activities it was collected for; empty means every activity that lists its category.
    pub purposes: Vec<String>,
    pub source: String,
    pub collected_at: Timestamp,
    pub value: Secret,
}

#[derive(Debug, Clone)]
pub struct Record {
    pub id: RecordId,
    pub subject: SubjectId,
    pub category: String,
    pub purposes: Vec<String>,
    pub source: String,
    pub collected_at: Timestamp,
    pub value: Secret,
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    /// As for records: a repeated write with the same id is ignored.
    pub id: Option<EventId>,
    pub kind: EventKind,
    pub purpose: Option<String>,
    pub occurred_at: Timestamp,
    /// How it reached us (web form, API, email), for consent records.
    pub channel: Option<String>,
    /// The policy version in force when it was recorded.
    pub policy_version: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredEvent {
    pub id: EventId,
    pub subject: SubjectId,
    pub kind: EventKind,
    pub purpose: Option<String>,
    pub occurred_at: Timestamp,
    pub recorded_at: Timestamp,
    pub channel: Option<String>,
    pub policy_version: Option<String>,
}

impl StoredEvent {
    pub fn fact(&self) -> ombud_core::Event {
        ombud_core::Event {
            kind: self.kind,
            purpose: self.purpose.clone(),
            occurred_at: self.occurred_at,
        }
    }
}

/// What a claim on an Idempotency-Key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idempotency {
    /// The key is new (or its earlier claim expired): run the request.
    Claimed,
    /// The first request with this key is still running.
    InFlight,
    /// The request ran; here is its response.
    Done { status: u16, body: Vec<u8> },
    /// The key was used for a different request.
    Mismatch,
    /// The request ran, but its response can no longer be read (sealed under a key generation
    /// since retired, or stored before responses were sealed).
    Unreadable { status: u16 },
}

/// What a stored response is sealed bound to: its tenant and its idempotency key.
pub(crate) fn response_aad(tenant: TenantId, key: &str) -> Vec<u8> {
    let mut aad = b"idempotency".to_vec();
    aad.extend_from_slice(tenant.0.as_bytes());
    aad.extend_from_slice(key.as_bytes());
    aad
}

/// A claim's outcome with its stored response opened.
pub(crate) fn opened_response(
    keyring: &crate::crypto::Keyring, tenant: TenantId, key: &str, outcome: Idempotency,
) -> Idempotency {
    match outcome {
        Idempotency::Done { status, body } => {
            match keyring.open_response(&body, &response_aad(tenant, key)) {
                Ok(body) => Idempotency::Done {
                    status,
                    body: body.to_vec(),
                },
                Err(_) => Idempotency::Unreadable { status },
            }
        }
        other => other,
    }
}

/// How long a completed key answers repeats.
pub const IDEMPOTENCY_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);
/// How long a claim may stay unfinished before it counts as abandoned (the server stopped).
pub const IDEMPOTENCY_ABANDONED: jiff::SignedDuration = jiff::SignedDuration::from_secs(120);

/// A stored claim: request hash, response status (none while running), response body, and
/// when it was claimed (microseconds).
pub type IdempotencyRow = (Vec<u8>, Option<i64>, Option<Vec<u8>>, i64);

/// Decides a claim from the row already there, if any. Shared by the backends.
pub fn idempotency_outcome(
    existing: Option<IdempotencyRow>, request_hash: &[u8; 32], at: jiff::Timestamp,
) -> Idempotency {
    let Some((hash, status, body, created_at)) = existing else {
        return Idempotency::Claimed;
    };
    let age = jiff::SignedDuration::from_micros(at.as_microsecond().saturating_sub(created_at));
    match status {
        _ if age >= IDEMPOTENCY_WINDOW => Idempotency::Claimed,
        None if age >= IDEMPOTENCY_ABANDONED => Idempotency::Claimed,
        _ if hash != request_hash => Idempotency::Mismatch,
        None => Idempotency::InFlight,
        Some(status) => Idempotency::Done {
            status: u16::try_from(status).unwrap_or(500),
            body: body.unwrap_or_default(),
        },
    }
}

/// Both backends keep a record's purposes as one comma-separated column.
pub(crate) fn split_purposes(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A stored time (microseconds since the Unix epoch) read back.
pub(crate) fn timestamp_of(micros: i64) -> crate::Result<Timestamp> {
    Timestamp::from_microsecond(micros).map_err(|e| crate::StoreError::Corrupt(e.to_string()))
}
