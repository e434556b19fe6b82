//! The portal's signed tokens and the download tokens on any text: accepted only when this
//! process signed them, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static SECRETS: LazyLock<ombud_app::secrets::Secrets> = LazyLock::new(|| {
    let master = ombud_store::crypto::MasterKey::from_hex(&"5a".repeat(32)).expect("key");
    ombud_app::secrets::Secrets::from_master(&master)
});

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let now: jiff::Timestamp = "2026-06-01T12:00:00Z".parse().expect("time");
    // Nothing typed at random is a token this process signed.
    assert!(SECRETS.check_export_token(token).is_none());
    assert!(SECRETS.check_portal_token(token, now).is_none());
});
