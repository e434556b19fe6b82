//! Identity normalisation on any text, for every kind: a value or an error, and a normalised
//! value normalises to itself (so the blind index of a stored identity is found again).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ombud_core::{Identity, IdentityKind};

const KINDS: [IdentityKind; 5] = [
    IdentityKind::Email,
    IdentityKind::Phone,
    IdentityKind::UserId,
    IdentityKind::CustomerNo,
    IdentityKind::NationalId,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in KINDS {
        if let Ok(identity) = Identity::parse(kind, text) {
            let again = Identity::parse(kind, identity.expose()).expect("a normal form parses");
            assert_eq!(again.expose(), identity.expose(), "{kind:?}");
        }
        // As typed in a country: a phone number without its country code is completed, and
        // what comes out is a normal form everywhere.
        for country in ["FI", "IT", "SE"] {
            if let Ok(identity) = Identity::parse_in(kind, text, country) {
                let again =
                    Identity::parse(kind, identity.expose()).expect("a completed form parses");
                assert_eq!(again.expose(), identity.expose(), "{kind:?} in {country}");
            }
        }
    }
});
