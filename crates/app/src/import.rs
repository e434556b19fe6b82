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
    pub occurred_at: jiff::Timestamp,
    pub channel: Option<String>,
}

/// A record of a line, checked: its index in the line, category, purposes, source, when it
/// was collected, and its value.
pub struct ParsedRecord {
    pub index: usize,
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
    pub events: Vec<(usize, EventKind, EventLine)>,
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
                Identity::parse(kind, &identity.value).map_err(|e| format!("identities[{i}].value: {e}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
    let mut records = Vec::with_capacity(line.records.len());
    for (i, record) in line.records.into_iter().enumerate() {
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
        if event.occurred_at > now {
            return Err(format!("events[{i}].occurred_at is in the future"));
        }
        events.push((i, kind, event));
    }
    Ok(ParsedLine {
        identities,
        records,
        events,
    })
}
