//! The fideslang default taxonomy (data categories, data uses, data subjects), embedded in the
//! binary so that a policy checks the same everywhere. See `taxonomy/NOTICE.md` for attribution.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One taxonomy entry: a dotted key, its display name and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub name: String,
    pub description: String,
    pub parent: Option<String>,
    pub deprecated: bool,
}

#[derive(Debug)]
pub struct Taxonomy {
    pub categories: BTreeMap<String, Entry>,
    pub data_uses: BTreeMap<String, Entry>,
    pub subjects: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct RawEntry {
    fides_key: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parent_key: Option<String>,
    #[serde(default)]
    version_deprecated: Option<String>,
}

#[derive(Deserialize)]
struct CategoryFile {
    data_category: Vec<RawEntry>,
}

#[derive(Deserialize)]
struct UseFile {
    data_use: Vec<RawEntry>,
}

#[derive(Deserialize)]
struct SubjectFile {
    data_subject: Vec<RawEntry>,
}

const CATEGORIES: &str = include_str!("../taxonomy/data_categories.json");
const USES: &str = include_str!("../taxonomy/data_uses.json");
const USES_SUPPLEMENT: &str = include_str!("../taxonomy/data_uses.supplement.json");
const SUBJECTS: &str = include_str!("../taxonomy/data_subjects.json");

fn index(entries: impl IntoIterator<Item = RawEntry>) -> BTreeMap<String, Entry> {
    entries
        .into_iter()
        .map(|raw| {
            let entry = Entry {
                key: raw.fides_key.clone(),
                name: raw.name,
                description: raw.description.unwrap_or_default(),
                parent: raw.parent_key,
                deprecated: raw.version_deprecated.is_some(),
            };
            (raw.fides_key, entry)
        })
        .collect()
}

/// The embedded taxonomy, parsed once.
pub fn taxonomy() -> &'static Taxonomy {
    static TAXONOMY: OnceLock<Taxonomy> = OnceLock::new();
    TAXONOMY.get_or_init(|| {
        // The files are fixed at build time and a unit test parses them, so a failure here is a
        // packaging bug, not bad input.
        let categories: CategoryFile =
            serde_json::from_str(CATEGORIES).expect("embedded data_categories.json is valid");
        let uses: UseFile = serde_json::from_str(USES).expect("embedded data_uses.json is valid");
        let supplement: UseFile = serde_json::from_str(USES_SUPPLEMENT)
            .expect("embedded data_uses.supplement.json is valid");
        let subjects: SubjectFile =
            serde_json::from_str(SUBJECTS).expect("embedded data_subjects.json is valid");
        Taxonomy {
            categories: index(categories.data_category),
            data_uses: index(uses.data_use.into_iter().chain(supplement.data_use)),
            subjects: index(subjects.data_subject),
        }
    })
}

/// Why a category needs more than an Art. 6 basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    /// Art. 9(1): racial or ethnic origin, political opinions, religious beliefs, genetic,
    /// biometric data for identification, health, sex life or sexual orientation.
    SpecialCategory,
    /// Art. 10: criminal convictions and offences.
    CriminalOffence,
}

/// Taxonomy branches that hold Art. 9 or Art. 10 data. Trade union membership has no
/// fideslang key; a policy declares it as its own category with `special = true`.
const SENSITIVE: &[(&str, Sensitivity)] = &[
    ("user.biometric", Sensitivity::SpecialCategory),
    ("user.authorization.biometric", Sensitivity::SpecialCategory),
    ("user.health_and_medical", Sensitivity::SpecialCategory),
    (
        "user.demographic.race_ethnicity",
        Sensitivity::SpecialCategory,
    ),
    (
        "user.demographic.political_opinion",
        Sensitivity::SpecialCategory,
    ),
    (
        "user.demographic.religious_belief",
        Sensitivity::SpecialCategory,
    ),
    (
        "user.demographic.sexual_orientation",
        Sensitivity::SpecialCategory,
    ),
    ("user.criminal_history", Sensitivity::CriminalOffence),
];

/// The key under which national identity numbers live.
pub const NATIONAL_ID: &str = "user.government_id.national_identification_number";

/// Whether `key` is `ancestor` or lies beneath it.
pub fn is_within(key: &str, ancestor: &str) -> bool {
    key == ancestor
        || (key.len() > ancestor.len()
            && key.starts_with(ancestor)
            && key.as_bytes()[ancestor.len()] == b'.')
}

/// The sensitivity the taxonomy gives a category key, if any.
pub fn sensitivity(key: &str) -> Option<Sensitivity> {
    SENSITIVE
        .iter()
        .find(|(branch, _)| is_within(key, branch))
        .map(|(_, sensitivity)| *sensitivity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_taxonomy_has_every_entry_of_the_snapshot() {
        let taxonomy = taxonomy();
        assert_eq!(taxonomy.categories.len(), 85);
        assert_eq!(taxonomy.data_uses.len(), 56);
        assert_eq!(taxonomy.subjects.len(), 15);
        assert_eq!(
            taxonomy.categories["user.contact.email"].parent.as_deref(),
            Some("user.contact")
        );
        assert!(taxonomy.data_uses["personalize.profiling"].deprecated);
    }

    #[test]
    fn every_parent_key_exists() {
        let taxonomy = taxonomy();
        for map in [&taxonomy.categories, &taxonomy.data_uses] {
            for entry in map.values() {
                if let Some(parent) = &entry.parent {
                    assert!(
                        map.contains_key(parent),
                        "{} has unknown parent {parent}",
                        entry.key
                    );
                }
            }
        }
    }

    #[test]
    fn sensitive_branches_cover_their_children_only() {
        assert_eq!(
            sensitivity("user.health_and_medical.genetic"),
            Some(Sensitivity::SpecialCategory)
        );
        assert_eq!(
            sensitivity("user.criminal_history"),
            Some(Sensitivity::CriminalOffence)
        );
        assert_eq!(sensitivity("user.demographic.language"), None);
        assert_eq!(sensitivity("user.biometrics_consent"), None);
        for (branch, _) in SENSITIVE {
            assert!(
                taxonomy().categories.contains_key(*branch),
                "{branch} is not a taxonomy key"
            );
        }
    }
}
