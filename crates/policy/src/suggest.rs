//! "Did you mean …?": the nearest candidate to a misspelt key or value.

/// The candidate closest to `wanted`, if any is close enough to be a plausible typo.
///
/// Dotted taxonomy keys are compared both whole and by their last segment, so `user.email`
/// finds `user.contact.email` and `user.contact.emial` finds it too.
pub fn nearest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    let wanted_leaf = wanted_lower.rsplit('.').next().unwrap_or(&wanted_lower);
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let candidate_lower = candidate.to_lowercase();
        let whole = strsim::jaro_winkler(&wanted_lower, &candidate_lower);
        let leaf = candidate_lower
            .rsplit('.')
            .next()
            .unwrap_or(&candidate_lower);
        let by_leaf = strsim::jaro_winkler(wanted_leaf, leaf) - 0.02;
        let score = whole.max(by_leaf);
        if best.is_none_or(|(best_score, _)| score > best_score) {
            best = Some((score, candidate));
        }
    }
    best.filter(|(score, _)| *score >= 0.8)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn nearest_finds_typos_and_misplaced_leaves() {
        let keys = [
            "user.contact.email",
            "user.contact.phone_number",
            "user.name",
            "user.financial",
        ];
        assert_eq!(
            nearest("user.contact.emial", keys),
            Some("user.contact.email")
        );
        assert_eq!(nearest("user.email", keys), Some("user.contact.email"));
        assert_eq!(
            nearest("user.phone_number", keys),
            Some("user.contact.phone_number")
        );
        assert_eq!(nearest("user.financal", keys), Some("user.financial"));
        assert_eq!(nearest("zzzz", keys), None);
        assert_eq!(
            nearest("Europe/Helsinky", ["Europe/Helsinki", "Europe/Berlin"]),
            Some("Europe/Helsinki")
        );
    }
}
