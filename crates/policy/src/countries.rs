//! Countries: ISO 3166-1 alpha-2 codes and names, the EEA, and the EU adequacy decisions that
//! make a transfer lawful without further safeguards (Art. 45).

use std::collections::BTreeMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("countries.tsv");

fn names() -> &'static BTreeMap<&'static str, &'static str> {
    static NAMES: OnceLock<BTreeMap<&'static str, &'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        TABLE
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .collect()
    })
}

/// The English short name of an ISO 3166-1 alpha-2 code, if it is one.
pub fn name(code: &str) -> Option<&'static str> {
    names().get(code).copied()
}

pub fn all_codes() -> impl Iterator<Item = &'static str> {
    names().keys().copied()
}

/// The 27 EU member states and Iceland, Liechtenstein and Norway.
const EEA: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

pub fn in_eea(code: &str) -> bool {
    EEA.contains(&code)
}

/// Countries with a European Commission adequacy decision covering private-sector transfers.
/// The United States is covered only for organisations certified under the EU-US Data Privacy
/// Framework, which has its own safeguard value; Canada only for commercial organisations.
const ADEQUATE: &[&str] = &[
    "AD", "AR", "CA", "FO", "GG", "IL", "IM", "JP", "JE", "NZ", "KR", "CH", "GB", "UY",
];

pub fn has_adequacy_decision(code: &str) -> bool {
    ADEQUATE.contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_country_is_a_real_code() {
        for code in EEA.iter().chain(ADEQUATE) {
            assert!(name(code).is_some(), "{code} is not an ISO code");
        }
        assert_eq!(EEA.len(), 30);
        assert_eq!(name("FI"), Some("Finland"));
        assert_eq!(name("XX"), None);
        assert!(in_eea("NO") && !in_eea("CH") && !in_eea("US"));
    }
}
