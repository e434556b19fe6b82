//! The policy parser and checker on any text: findings, never a panic, and a policy only when
//! there is no error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let checked = ombud_policy::check(&source);
    let errors = checked
        .findings
        .iter()
        .any(|f| f.severity == ombud_policy::finding::Severity::Error);
    assert_eq!(
        checked.policy.is_some(),
        !errors,
        "a policy exists only without errors"
    );
    for finding in &checked.findings {
        assert!(finding.span.start <= finding.span.end && finding.span.end <= source.len());
    }
});
