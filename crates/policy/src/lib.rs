//! ombud's policy as code: parse and validate `privacy.toml`, lint it, render the privacy
//! notice and the Article 30 record, and diff two versions. It reads no files and knows no
//! database: callers hand it the source text.

pub mod countries;
pub mod diff;
pub mod duration;
pub mod finding;
mod limits;
pub mod model;
pub mod render;
pub mod taxonomy;

mod lint;
mod raw;
pub mod suggest;
mod toml_error;
mod validate;

pub use duration::Duration;
pub use finding::{Code, Finding, Severity};
pub use model::Policy;

/// What `check` found: the policy, when it has no errors, and every finding in file order.
#[derive(Debug)]
pub struct Checked {
    pub policy: Option<Policy>,
    pub findings: Vec<Finding>,
}

impl Checked {
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
    }
}

/// Parses, validates and lints a policy. Never panics on any input; every problem is a finding.
pub fn check(source: &str) -> Checked {
    let (parsed, mut findings) = validate::validate(source);
    let policy = parsed.map(|(raw, policy)| {
        let mut ctx = validate::Ctx::new(source);
        lint::lint(&mut ctx, &raw, &policy);
        findings.extend(ctx.findings);
        policy
    });
    findings.sort_by_key(|f| (f.line, f.column, f.severity));
    Checked { policy, findings }
}
