//! A dataset file, read as ombud's TOML and as Fides YAML and checked against the invoicing
//! example: datasets or problems, never a panic; every problem names a place within the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static POLICY: LazyLock<ombud_policy::Policy> = LazyLock::new(|| {
    ombud_policy::check(include_str!("../../examples/invoicing-saas.toml"))
        .policy
        .expect("the example checks clean")
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // YAML breaks lines at a lone carriage return, and at NEL and the Unicode line and
    // paragraph separators too.
    let lines = text
        .matches(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
        .count()
        + 1;
    let within = |problems: &[ombud_connect::Problem]| {
        for problem in problems {
            assert!(problem.line <= lines + 1, "{problem} in {lines} lines");
        }
    };
    match ombud_connect::native::parse("fuzz.toml", text) {
        Ok(dataset) => {
            let problems = ombud_connect::check::check(&[dataset], Some(&POLICY));
            within(&problems);
        }
        Err(problems) => within(&problems),
    }
    match ombud_connect::fides::parse("fuzz.yml", text) {
        Ok(datasets) => {
            let problems = ombud_connect::check::check(&datasets, Some(&POLICY));
            within(&problems);
        }
        Err(problems) => within(&problems),
    }
});
