//! Findings of `policy check`: a code, a severity, where in the file, what is wrong and how to
//! fix it. Pure data plus a text renderer; no I/O.

use serde::Serialize;
use std::ops::Range;

/// How bad a finding is. Errors make a policy unusable; warnings are legal smells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = ($text:literal, $severity:ident), )*) => {
        /// Every finding `policy check` can report. The text form is stable: tools match on it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }
        }
    };
}

codes! {
    /// The file is not valid TOML.
    TomlSyntax = ("toml-syntax", Error),
    /// A key the format does not know (often a typo).
    UnknownKey = ("unknown-key", Error),
    /// A required key is absent.
    MissingKey = ("missing-key", Error),
    /// A value has the wrong TOML type.
    WrongType = ("wrong-type", Error),
    /// Two entries share an id or key.
    DuplicateId = ("duplicate-id", Error),
    /// A data category that is neither in the taxonomy nor a declared extension of it.
    UnknownCategory = ("unknown-category", Error),
    /// An activity names a category that the policy does not declare with `[[category]]`.
    UndeclaredCategory = ("undeclared-category", Error),
    /// A data subject kind that is neither in the taxonomy nor given a name of its own.
    UnknownSubject = ("unknown-subject", Error),
    /// An activity names a subject kind that the policy does not declare with `[[subject]]`.
    UndeclaredSubject = ("undeclared-subject", Error),
    /// An activity names a recipient that the policy does not declare with `[[recipient]]`.
    UndeclaredRecipient = ("undeclared-recipient", Error),
    /// An activity names a retention rule that the policy does not declare with `[[retention]]`.
    UndeclaredRetention = ("undeclared-retention", Error),
    /// A data use key that is not in the taxonomy.
    UnknownDataUse = ("unknown-data-use", Error),
    /// A processing activity with no legal basis.
    MissingBasis = ("missing-basis", Error),
    /// A legitimate-interest activity that does not state the interest.
    MissingLegitimateInterest = ("missing-legitimate-interest", Error),
    /// A value outside the fixed set the key accepts.
    InvalidValue = ("invalid-value", Error),
    /// A duration that does not parse.
    InvalidDuration = ("invalid-duration", Error),
    /// A date that does not parse.
    InvalidDate = ("invalid-date", Error),
    /// A time zone that is not in the IANA database.
    InvalidTimeZone = ("invalid-time-zone", Error),
    /// A country that is not an ISO 3166-1 alpha-2 code.
    InvalidCountry = ("invalid-country", Error),
    /// An email address that cannot be one.
    InvalidEmail = ("invalid-email", Error),
    /// A recipient outside the EEA with no transfer safeguard.
    TransferWithoutSafeguard = ("transfer-without-safeguard", Error),
    /// A safeguard that cannot apply to the recipient's country.
    SafeguardNotApplicable = ("safeguard-not-applicable", Error),
    /// Special category data (Art. 9) or criminal data (Art. 10) without a condition for processing it.
    SpecialCategoryWithoutCondition = ("special-category-without-condition", Error),
    /// A list that must not be empty is empty.
    EmptyList = ("empty-list", Error),
    /// A deadline longer than the law allows: answering a request (one month, Art. 12(3)), its
    /// extension (two further months) or notifying a breach (72 hours, Art. 33(1)).
    BeyondLegalLimit = ("beyond-legal-limit", Error),
    /// A declared category that no processing activity uses.
    UnusedCategory = ("unused-category", Warning),
    /// A declared subject kind that no processing activity concerns.
    UnusedSubject = ("unused-subject", Warning),
    /// A declared recipient that no processing activity discloses to.
    UnusedRecipient = ("unused-recipient", Warning),
    /// A declared retention rule that no processing activity uses.
    UnusedRetention = ("unused-retention", Warning),
    /// A processing activity whose data has no retention rule.
    ActivityWithoutRetention = ("activity-without-retention", Warning),
    /// A consent-based activity with no way to withdraw consent.
    ConsentWithoutWithdrawal = ("consent-without-withdrawal", Warning),
    /// A retention rule that keeps data longer than the law it cites requires.
    RetentionExceedsLegalGround = ("retention-exceeds-legal-ground", Warning),
    /// National identity numbers without the legal ground for processing them.
    NationalIdWithoutGround = ("national-id-without-ground", Warning),
    /// A legal-obligation activity none of whose retention rules names the law that sets the
    /// period: it could keep nothing past an erasure request.
    LegalRetentionWithoutLaw = ("legal-retention-without-law", Error),
    /// A legal obligation that cites Art. 32 GDPR, which requires security measures and keeps
    /// no data of itself.
    SecurityIsNotARetentionLaw = ("security-is-not-a-retention-law", Warning),
    /// A legal-obligation activity that does not name the law.
    LegalObligationWithoutLaw = ("legal-obligation-without-law", Warning),
    /// A recipient that an activity discloses to regularly, whose transfer rests on an Art. 49
    /// derogation (meant for occasional transfers only).
    DerogationForRegularTransfer = ("derogation-for-regular-transfer", Warning),
    /// The period for answering a request starts only when the person's identity is confirmed.
    ClockStartsAtVerification = ("clock-starts-at-verification", Warning),
    /// Every activity that uses a category needs consent, a contract or an account to apply,
    /// so a person with none of them has records nothing can date the end of.
    KeptWithNoEnd = ("kept-with-no-end", Warning),
    /// Activities but no `[security] measures`: the record of processing lacks 30(1)(g).
    NoSecurityMeasures = ("no-security-measures", Warning),
    /// The notice names recipients, but no controller activity discloses to any of them: the
    /// controller's record of processing (Art. 30(1)(d)) would list none.
    ControllerRecordWithoutRecipients = ("controller-record-without-recipients", Warning),
}

/// One thing `policy check` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    #[serde(serialize_with = "serialize_code")]
    pub code: Code,
    pub severity: Severity,
    /// Where in the policy, as a dotted path (`activity[invoicing].categories[2]`).
    pub path: String,
    /// 1-based line of the offending text.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
    #[serde(skip)]
    pub span: Range<usize>,
}

fn serialize_code<S: serde::Serializer>(code: &Code, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(code.as_str())
}

/// Byte offsets to line and column, computed once per source.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(source: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(source.match_indices('\n').map(|(at, _)| at + 1));
        LineIndex { line_starts }
    }

    /// 1-based line and character column of a byte offset.
    pub fn position(&self, source: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(source.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        let column = source
            .get(start..offset)
            .map_or(offset - start, |prefix| prefix.chars().count());
        (line, column + 1)
    }
}

/// Renders findings for a terminal, rustc-style: the message, the position, the line with a
/// caret under the offending text, the path and the hint.
pub fn render_text(findings: &[Finding], source: &str, file_name: &str) -> String {
    let mut out = String::new();
    let lines: Vec<&str> = source.lines().collect();
    for finding in findings {
        out.push_str(&format!(
            "{}[{}]: {}\n  --> {}:{}:{}\n",
            finding.severity.as_str(),
            finding.code.as_str(),
            finding.message,
            file_name,
            finding.line,
            finding.column
        ));
        if let Some(text) = lines.get(finding.line.wrapping_sub(1)) {
            let gutter = finding.line.to_string().len();
            let width = underline_width(source, &finding.span, text, finding.column);
            out.push_str(&format!(
                "{:gutter$} |\n{} | {}\n{:gutter$} | {}{}\n",
                "",
                finding.line,
                text,
                "",
                " ".repeat(finding.column - 1),
                "^".repeat(width)
            ));
        }
        out.push_str(&format!("   = at: {}\n", finding.path));
        if let Some(hint) = &finding.hint {
            out.push_str(&format!("   = hint: {hint}\n"));
        }
        out.push('\n');
    }
    let errors = count(findings, Severity::Error);
    let warnings = count(findings, Severity::Warning);
    out.push_str(&format!(
        "{file_name}: {errors} error{}, {warnings} warning{}\n",
        plural(errors),
        plural(warnings)
    ));
    out
}

fn underline_width(source: &str, span: &Range<usize>, line_text: &str, column: usize) -> usize {
    let on_line = line_text.chars().count().saturating_sub(column - 1);
    let spanned = source
        .get(span.clone())
        .map_or(1, |text| text.lines().next().unwrap_or("").chars().count());
    spanned.clamp(1, on_line.max(1))
}

fn count(findings: &[Finding], severity: Severity) -> usize {
    findings.iter().filter(|f| f.severity == severity).count()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters_from_one() {
        let source = "a = 1\nää = \"x\"\n";
        let index = LineIndex::new(source);
        assert_eq!(index.position(source, 0), (1, 1));
        assert_eq!(index.position(source, 6), (2, 1));
        // "ää" is four bytes but two characters.
        assert_eq!(index.position(source, 6 + 4 + 1), (2, 4));
        assert_eq!(index.position(source, source.len()), (3, 1));
    }

    #[test]
    fn every_code_has_a_distinct_kebab_case_name() {
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        );
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len());
    }
}
