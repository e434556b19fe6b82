//! Turns a TOML or shape error from the first parsing stage into a finding with a path and a
//! fix, instead of serde's bare sentence.

use crate::finding::Code;
use crate::suggest::nearest;
use crate::validate::Ctx;

pub(crate) fn report(ctx: &mut Ctx, source: &str, error: &toml::de::Error) {
    let span = error.span().unwrap_or(0..0);
    let message = error.message().trim_end_matches('\n').to_owned();
    let table = enclosing_table(source, span.start);
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let hint = match nearest(field, allowed.iter().copied()) {
            Some(best) => format!("did you mean `{best}`?"),
            None if allowed.is_empty() => "remove it; docs/policy.md lists every key".into(),
            None => format!("the keys allowed here are {}", quoted(&allowed)),
        };
        ctx.report(
            Code::UnknownKey,
            span,
            join(&table, field),
            format!("unknown key `{field}`"),
            Some(hint),
        );
    } else if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        let place = if table.is_empty() {
            "the top level".to_owned()
        } else {
            format!("[{table}]")
        };
        ctx.report(
            Code::MissingKey,
            span,
            join(&table, field),
            format!("`{field}` is required in {place}"),
            Some(format!(
                "add `{field} = …`; docs/policy.md shows an example"
            )),
        );
    } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
        let key = key_at(source, span.start);
        ctx.report(
            Code::WrongType,
            span,
            join(&table, &key),
            message
                .replace("expected a sequence", "expected a list")
                .replace("sequence", "list")
                .replace("map", "table"),
            Some("see docs/policy.md for the type of each key".into()),
        );
    } else {
        let (line, _) = crate::finding::LineIndex::new(source).position(source, span.start);
        ctx.report(
            Code::TomlSyntax,
            span,
            format!("line {line}"),
            message,
            Some("this is not valid TOML; see https://toml.io for the syntax".into()),
        );
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn join(table: &str, key: &str) -> String {
    match (table.is_empty(), key.is_empty()) {
        (true, _) => key.to_owned(),
        (false, true) => table.to_owned(),
        (false, false) => format!("{table}.{key}"),
    }
}

/// The table header in force at `offset`, as `activity[2]` for the third `[[activity]]`. The
/// line holding `offset` counts: serde points a missing key at the header of its table.
fn enclosing_table(source: &str, offset: usize) -> String {
    let line_end = source
        .get(offset..)
        .and_then(|rest| rest.find('\n'))
        .map_or(source.len(), |at| offset + at);
    let upto = source.get(..line_end).unwrap_or(source);
    let mut current = String::new();
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in upto.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(name) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            let name = name.trim().to_owned();
            let index = counts.entry(name.clone()).or_default();
            current = format!("{name}[{index}]");
            *index += 1;
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_owned();
        }
    }
    current
}

/// The key on the line holding `offset`, if it is a `key = value` line.
fn key_at(source: &str, offset: usize) -> String {
    let start = source
        .get(..offset)
        .and_then(|b| b.rfind('\n'))
        .map_or(0, |i| i + 1);
    let line = source
        .get(start..)
        .and_then(|l| l.lines().next())
        .unwrap_or("");
    line.split_once('=')
        .map(|(key, _)| key.trim().trim_matches('"').to_owned())
        .filter(|key| !key.starts_with('['))
        .unwrap_or_default()
}

/// The bytes of the `key = value` entry whose key starts at `key_start`, for an entry whose
/// value is not a table; `None` otherwise (a `[section]` cannot be blanked out and still parse).
pub(crate) fn entry_at(source: &str, key_start: usize) -> Option<std::ops::Range<usize>> {
    use toml::de::{DeTable, DeValue};
    fn find(table: &DeTable<'_>, key_start: usize) -> Option<std::ops::Range<usize>> {
        for (key, value) in table.iter() {
            if key.span().start == key_start {
                return match value.get_ref() {
                    DeValue::Table(_) => None,
                    _ => Some(key_start..value.span().end),
                };
            }
            if let Some(found) = within(value.get_ref(), key_start) {
                return Some(found);
            }
        }
        None
    }
    fn within(value: &DeValue<'_>, key_start: usize) -> Option<std::ops::Range<usize>> {
        match value {
            DeValue::Table(table) => find(table, key_start),
            DeValue::Array(items) => items
                .iter()
                .find_map(|item| within(item.get_ref(), key_start)),
            _ => None,
        }
    }
    let document = DeTable::parse(source).ok()?;
    find(document.get_ref(), key_start).filter(|range| range.end > range.start)
}

/// `source` with `range` turned to spaces, its line breaks kept, so offsets, lines and columns
/// stay those of the file as written.
pub(crate) fn blanked(source: &str, range: std::ops::Range<usize>) -> String {
    let mut text = String::with_capacity(source.len());
    for (at, c) in source.char_indices() {
        if range.contains(&at) && c != '\n' && c != '\r' {
            // One space per byte keeps every later offset where it was.
            text.extend(std::iter::repeat_n(' ', c.len_utf8()));
        } else {
            text.push(c);
        }
    }
    text
}
