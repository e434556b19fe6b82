//! One line of an import file (`ombud import FILE.jsonl`): read and checked against the
//! policy before anything is written. A rejection names the field and what was expected, never
//! the value, so the report of a bad line can be shown and logged.

use jiff::Timestamp;
use ombud_core::records::{RecordInput, validate_record};
use ombud_core::{EventKind, Identity, IdentityKind};
use ombud_policy::Policy;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub identities: Vec<IdentityLine>,
    #[serde(default)]
    pub records: Vec<RecordLine>,
    #[serde(default)]
    pub events: Vec<EventLine>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityLine {
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordLine {
    pub category: String,
    pub value: String,
    pub source: Option<String>,
    #[serde(default)]
    pub purposes: Vec<String>,
    pub collected_at: Option<jiff::Timestamp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventLine {
    pub kind: String,
    pub purpose: Option<String>,
    /// When it happened; the import's own time when left out, as in the API.
    pub occurred_at: Option<jiff::Timestamp>,
    pub channel: Option<String>,
}

/// A record of a line, checked: its index in the line, category, purposes, source, when it
/// was collected, and its value.
pub struct ParsedRecord {
    pub index: usize,
    /// What the line says of it, defaults left out: the same record imported again (from
    /// this file edited, or another) has the same fingerprint.
    pub fingerprint: [u8; 32],
    pub category: String,
    pub purposes: Vec<String>,
    pub source: String,
    pub collected_at: Timestamp,
    pub value: String,
}

/// A line that can be written: the person's identities, normalised, and what to write.
pub struct ParsedLine {
    pub identities: Vec<Identity>,
    pub records: Vec<ParsedRecord>,
    pub events: Vec<ParsedEvent>,
}

/// An event of a line, checked.
pub struct ParsedEvent {
    pub index: usize,
    /// As for records: what the line says, the import time not included.
    pub fingerprint: [u8; 32],
    pub kind: EventKind,
    pub purpose: Option<String>,
    pub occurred_at: Timestamp,
    /// The line gave no time: the event is dated at the import.
    pub dated_at_import: bool,
    pub channel: Option<String>,
}

/// A fingerprint of fields as given; each is length-prefixed so that no two lists of fields
/// hash alike, and an absent field differs from an empty one.
fn fingerprint(what: &str, fields: &[Option<&str>]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key("ombud 2026-11 import content");
    hasher.update(what.as_bytes());
    for field in fields {
        match field {
            None => hasher.update(&[0]),
            Some(text) => hasher
                .update(&[1])
                .update(&(text.len() as u64).to_le_bytes())
                .update(text.as_bytes()),
        };
    }
    *hasher.finalize().as_bytes()
}

/// Why a line was rejected. Messages name fields and expectations, never values.
pub fn describe_json_error(error: &serde_json::Error) -> String {
    match error.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("not valid JSON (column {})", error.column())
        }
        serde_json::error::Category::Data => {
            let text = error.to_string();
            // serde names unknown and missing fields in backticks; keep only that part.
            let field = text
                .split('`')
                .nth(1)
                .map(|f| format!(" (`{f}`)"))
                .unwrap_or_default();
            format!("not the shape of an import line{field}; see `ombud import --help`")
        }
        serde_json::error::Category::Io => "could not be read".into(),
    }
}

/// Reads and checks one line against `policy` at `now`.
pub fn parse_line(policy: &Policy, text: &str, now: Timestamp) -> Result<ParsedLine, String> {
    let line: Line = serde_json::from_str(text).map_err(|e| describe_json_error(&e))?;
    if line.identities.is_empty() {
        return Err("`identities` is empty; a line names at least one".into());
    }
    let identities = line
            .identities
            .iter()
            .enumerate()
            .map(|(i, identity)| {
                let kind = IdentityKind::parse(&identity.kind).ok_or_else(|| format!("identities[{i}].kind is not one of email, phone, user_id, customer_no, national_id"))?;
                Identity::parse_in(kind, &identity.value, &policy.controller.country).map_err(|e| format!("identities[{i}].value: {e}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
    let mut records = Vec::with_capacity(line.records.len());
    for (i, record) in line.records.into_iter().enumerate() {
        let given_at = record.collected_at.map(|t| t.to_string());
        let mut purposes = record.purposes.clone();
        purposes.sort();
        let purposes = purposes.join("\n");
        let fingerprint = fingerprint(
            "record",
            &[
                Some(&record.category),
                Some(&record.value),
                record.source.as_deref(),
                Some(&purposes),
                given_at.as_deref(),
            ],
        );
        let source = record.source.unwrap_or_else(|| "subject".into());
        let collected_at = record.collected_at.unwrap_or(now);
        let input = RecordInput {
            category: &record.category,
            source: &source,
            purposes: &record.purposes,
            value: &record.value,
            collected_at,
        };
        validate_record(policy, &input, now)
            .map_err(|p| format!("records[{i}].{}: {}", p.field, p.message))?;
        records.push(ParsedRecord {
            index: i,
            fingerprint,
            category: record.category,
            purposes: record.purposes,
            source,
            collected_at,
            value: record.value,
        });
    }
    let mut events = Vec::with_capacity(line.events.len());
    for (i, event) in line.events.into_iter().enumerate() {
        let kind = EventKind::parse(&event.kind)
            .ok_or_else(|| format!("events[{i}].kind is not an event kind"))?;
        if let Some(purpose) = &event.purpose {
            if policy.activity(purpose).is_none() {
                return Err(format!(
                    "events[{i}].purpose `{purpose}` is not an activity of the policy"
                ));
            }
        } else if kind.requires_purpose() {
            return Err(format!(
                "events[{i}] is a {} event and names no purpose",
                kind.as_str()
            ));
        }
        if event.occurred_at.is_some_and(|at| at > now) {
            return Err(format!("events[{i}].occurred_at is in the future"));
        }
        let given_at = event.occurred_at.map(|t| t.to_string());
        events.push(ParsedEvent {
            index: i,
            fingerprint: fingerprint(
                "event",
                &[
                    Some(kind.as_str()),
                    event.purpose.as_deref(),
                    given_at.as_deref(),
                    event.channel.as_deref(),
                ],
            ),
            kind,
            purpose: event.purpose,
            occurred_at: event.occurred_at.unwrap_or(now),
            dated_at_import: event.occurred_at.is_none(),
            channel: event.channel,
        });
    }
    Ok(ParsedLine {
        identities,
        records,
        events,
    })
}
