//! One import line against the invoicing example: a line read or a rejection, never a panic;
//! a rejection of an identity never repeats the value given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ombud_core::{Identity, IdentityKind};
use std::sync::LazyLock;

static POLICY: LazyLock<ombud_policy::Policy> = LazyLock::new(|| {
    ombud_policy::check(include_str!("../../examples/invoicing-saas.toml"))
        .policy
        .expect("the example checks clean")
});

/// Every text an identity error can say: they are fixed per kind and reason, so a value that
/// happens to be part of one (like `+358 4` of its example) is not an echo.
static FIXED: LazyLock<Vec<String>> = LazyLock::new(|| {
    let long = "9".repeat(400);
    let bad = [
        "",
        "\u{7}",
        long.as_str(),
        "a",
        "+0",
        "a@",
        "@b",
        "a b@c.d",
        "+",
        "1-",
        "ä",
    ];
    let kinds = [
        IdentityKind::Email,
        IdentityKind::Phone,
        IdentityKind::UserId,
        IdentityKind::CustomerNo,
        IdentityKind::NationalId,
    ];
    kinds
        .iter()
        .flat_map(|kind| bad.iter().filter_map(|b| Identity::parse(*kind, b).err()))
        .map(|e| e.to_string())
        .collect()
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now: jiff::Timestamp = "2026-06-01T12:00:00Z".parse().expect("time");
    // Only the reason after the field's path comes from the identity check.
    if let Err(message) = ombud_app::import::parse_line(&POLICY, text, now)
        && message.starts_with("identities[")
        && let Some((_, message)) = message.split_once("].value: ")
        && let Ok(serde_json::Value::Object(line)) = serde_json::from_str::<serde_json::Value>(text)
        && let Some(serde_json::Value::Array(identities)) = line.get("identities")
    {
        for identity in identities {
            if let Some(value) = identity.get("value").and_then(|v| v.as_str())
                && value.trim().len() >= 4
                && message.contains(value)
            {
                assert!(FIXED.iter().any(|fixed| fixed.contains(value)), "{message}");
            }
        }
    }
});
