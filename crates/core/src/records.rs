//! What a record must be before it is stored: a category the policy declares, a known source,
//! purposes that use the category, a value of sensible size, a collection time not in the
//! future. Shared by the HTTP API and the importer, so both refuse the same things the same way.

use jiff::Timestamp;
use ombud_policy::Policy;
use ombud_policy::model::{Choice, Source};

/// The largest value one record may hold.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// What is wrong with a record: the field and how to fix it. Never contains the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordProblem {
    pub field: &'static str,
    /// Index into `purposes` when the problem is one purpose.
    pub index: Option<usize>,
    pub message: String,
}

pub struct RecordInput<'a> {
    pub category: &'a str,
    pub source: &'a str,
    pub purposes: &'a [String],
    pub value: &'a str,
    pub collected_at: Timestamp,
}

pub fn validate_record(
    policy: &Policy,
    record: &RecordInput,
    now: Timestamp,
) -> Result<(), RecordProblem> {
    let problem = |field, message: String| RecordProblem {
        field,
        index: None,
        message,
    };
    if policy.category(record.category).is_none() {
        let known: Vec<&str> = policy.categories.iter().map(|c| c.key.as_str()).collect();
        return Err(problem(
            "category",
            format!(
                "`{}` is not a category of the policy; it declares: {}",
                record.category,
                known.join(", ")
            ),
        ));
    }
    if Source::parse(record.source).is_none() {
        return Err(problem(
            "source",
            "source is one of subject, customer, service_use, public, third_party".into(),
        ));
    }
    for (i, purpose) in record.purposes.iter().enumerate() {
        let uses = policy.activity(purpose).is_some_and(|a| {
            a.categories
                .iter()
                .any(|c| ombud_policy::taxonomy::is_within(record.category, c))
        });
        if !uses {
            return Err(RecordProblem {
                field: "purposes",
                index: Some(i),
                message: format!(
                    "`{purpose}` is not an activity of the policy that uses `{}`",
                    record.category
                ),
            });
        }
    }
    if record.value.is_empty() || record.value.len() > MAX_VALUE_BYTES {
        return Err(problem(
            "value",
            format!("a value is 1 byte to {} KiB", MAX_VALUE_BYTES / 1024),
        ));
    }
    if record.collected_at > now {
        return Err(problem(
            "collected_at",
            "collected_at is in the future".into(),
        ));
    }
    Ok(())
}
