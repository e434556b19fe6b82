//! The identities a subject is found by. Values are normalised so that the same person is found
//! however the address was typed, and never shown: `Debug` and `Display` print the kind only,
//! and errors describe the expected shape without echoing the value.

use serde::{Deserialize, Serialize};
use std::fmt;

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    Email,
    Phone,
    UserId,
    CustomerNo,
    NationalId,
}

impl IdentityKind {
    pub const ALL: [IdentityKind; 5] = [
        IdentityKind::Email,
        IdentityKind::Phone,
        IdentityKind::UserId,
        IdentityKind::CustomerNo,
        IdentityKind::NationalId,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Email => "email",
            IdentityKind::Phone => "phone",
            IdentityKind::UserId => "user_id",
            IdentityKind::CustomerNo => "customer_no",
            IdentityKind::NationalId => "national_id",
        }
    }

    pub fn parse(text: &str) -> Option<IdentityKind> {
        IdentityKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an identity value was refused. The messages never contain the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("unknown identity kind; use one of email, phone, user_id, customer_no, national_id")]
    UnknownKind,
    #[error("an identity is written `kind:value`, like `email:ana@example.com`")]
    MissingKind,
    #[error("the {0} is empty")]
    Empty(IdentityKind),
    #[error("the {0} is longer than {1} characters")]
    TooLong(IdentityKind, usize),
    #[error(
        "an email address has one @, a name before it and a domain after it, like ana@example.com"
    )]
    Email,
    #[error(
        "a phone number is written in international form with its country code, like +358 40 123 4567"
    )]
    Phone,
    #[error(
        "this is not a phone number as dialled in {0}; write it with its country code, like +358 40 123 4567"
    )]
    PhoneIn(String),
    #[error("the {0} contains control characters")]
    ControlCharacters(IdentityKind),
    #[error("a national identity number has only letters, digits, `-` and `+`")]
    NationalId,
}

/// A normalised identity value of one kind.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    kind: IdentityKind,
    value: String,
}

impl Identity {
    /// Normalises `raw` for `kind`: emails are trimmed and lowercased, phone numbers become
    /// E.164 (`+35840…`), national identity numbers lose spaces and are uppercased.
    pub fn parse(kind: IdentityKind, raw: &str) -> Result<Identity, IdentityError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(IdentityError::Empty(kind));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(IdentityError::ControlCharacters(kind));
        }
        let value = match kind {
            IdentityKind::Email => normalise_email(trimmed)?,
            IdentityKind::Phone => normalise_phone(trimmed)?,
            IdentityKind::UserId | IdentityKind::CustomerNo => trimmed.to_owned(),
            IdentityKind::NationalId => normalise_national_id(trimmed)?,
        };
        let limit = if kind == IdentityKind::Email {
            254
        } else {
            200
        };
        if value.chars().count() > limit {
            return Err(IdentityError::TooLong(kind, limit));
        }
        Ok(Identity { kind, value })
    }

    /// As [`Identity::parse`], where a person gives a phone number as they dial it at home:
    /// one without its country code is read as a number of `country` (the controller's, an
    /// ISO 3166 code) and completed to E.164 — "040 123 4567" in Finland is +358401234567,
    /// "06 1234 5678" in Italy keeps its 0 (+390612345678). Only a number valid in that
    /// country's numbering plan is completed; anything else is refused, never guessed.
    pub fn parse_in(
        kind: IdentityKind,
        raw: &str,
        country: &str,
    ) -> Result<Identity, IdentityError> {
        let trimmed = raw.trim();
        let national = kind == IdentityKind::Phone
            && !trimmed.is_empty()
            && !trimmed.starts_with('+')
            && !trimmed.starts_with("00");
        if !national {
            return Identity::parse(kind, raw);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(IdentityError::ControlCharacters(kind));
        }
        let region: phonenumber::country::Id = country.parse().map_err(|_| IdentityError::Phone)?;
        let number = phonenumber::parse(Some(region), trimmed)
            .ok()
            .filter(phonenumber::is_valid)
            .ok_or_else(|| IdentityError::PhoneIn(country.to_owned()))?;
        Identity::parse(
            kind,
            &number.format().mode(phonenumber::Mode::E164).to_string(),
        )
    }

    /// [`Identity::parse_tagged`] with national phone numbers completed as [`Identity::parse_in`]
    /// does.
    pub fn parse_tagged_in(text: &str, country: &str) -> Result<Identity, IdentityError> {
        let (kind, value) = text.split_once(':').ok_or(IdentityError::MissingKind)?;
        let kind = IdentityKind::parse(kind.trim()).ok_or(IdentityError::UnknownKind)?;
        Identity::parse_in(kind, value, country)
    }

    /// Parses `kind:value`, the form identities take in query strings.
    pub fn parse_tagged(text: &str) -> Result<Identity, IdentityError> {
        let (kind, value) = text.split_once(':').ok_or(IdentityError::MissingKind)?;
        let kind = IdentityKind::parse(kind.trim()).ok_or(IdentityError::UnknownKind)?;
        Identity::parse(kind, value)
    }

    pub fn kind(&self) -> IdentityKind {
        self.kind
    }

    /// The normalised value, for encryption and blind indexing only.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// Enough of the value for a person who already knows it to recognise it in a ledger
    /// (`a…@example.com`, `+358…67`), too little to learn it from: what lists show of an address.
    pub fn masked(&self) -> String {
        match self.kind {
            IdentityKind::Email => match self.value.split_once('@') {
                Some((local, domain)) => {
                    let first: String = local.chars().take(1).collect();
                    format!("{first}…@{domain}")
                }
                None => "…".to_owned(),
            },
            _ => {
                let chars: Vec<char> = self.value.chars().collect();
                if chars.len() <= 6 {
                    "…".to_owned()
                } else {
                    let head: String = chars.iter().take(4).collect();
                    let tail: String = chars[chars.len() - 2..].iter().collect();
                    format!("{head}…{tail}")
                }
            }
        }
    }
}

fn normalise_email(text: &str) -> Result<String, IdentityError> {
    let lowered = text.to_lowercase();
    let (local, domain) = lowered.split_once('@').ok_or(IdentityError::Email)?;
    let valid = !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !lowered.contains(char::is_whitespace);
    if valid {
        Ok(lowered)
    } else {
        Err(IdentityError::Email)
    }
}

fn normalise_phone(text: &str) -> Result<String, IdentityError> {
    let compact: String = text
        .replace("(0)", "")
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}'))
        .collect();
    let digits = if let Some(rest) = compact.strip_prefix('+') {
        rest
    } else if let Some(rest) = compact.strip_prefix("00") {
        rest
    } else {
        return Err(IdentityError::Phone);
    };
    // E.164: a country code that does not start with 0, at most 15 digits in all.
    let valid = (7..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(format!("+{digits}"))
    } else {
        Err(IdentityError::Phone)
    }
}

/// National identity numbers in the forms people write them: spaces and the dots of the Belgian
/// form (85.07.30-033.28) go; the hyphen goes where it only groups digits (Belgian, Swedish
/// 811228-9874, Danish 010190-1234) or stands before a final check letter (Spanish
/// 12345678-Z), so each number has one form whichever way it was typed. A separator that
/// carries meaning stays: the Finnish century sign (131052-308T, 010101A123N) and the Swedish
/// `+` of a person over a hundred.
fn normalise_national_id(text: &str) -> Result<String, IdentityError> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '.')
        .collect::<String>()
        .to_uppercase();
    if compact.is_empty()
        || !compact
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '+')
    {
        return Err(IdentityError::NationalId);
    }
    let digits_and_hyphens = compact.chars().all(|c| c.is_ascii_digit() || c == '-');
    let check_letter_after_hyphen = compact.rsplit_once('-').is_some_and(|(number, letter)| {
        letter.len() == 1
            && letter.chars().all(|c| c.is_ascii_alphabetic())
            && !number.is_empty()
            && number.chars().all(|c| c.is_ascii_digit())
    });
    let normal = if digits_and_hyphens || check_letter_after_hyphen {
        compact.replace('-', "")
    } else {
        compact
    };
    // Hyphens alone are no number.
    if normal.is_empty() {
        return Err(IdentityError::NationalId);
    }
    Ok(normal)
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({}:<redacted>)", self.kind)
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:<redacted>", self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_values_show_too_little_to_learn_them() {
        let masked = |kind, raw| Identity::parse(kind, raw).expect("valid").masked();
        assert_eq!(
            masked(IdentityKind::Email, "Ana.Lopez@Example.com"),
            "a…@example.com"
        );
        assert_eq!(masked(IdentityKind::Phone, "+358 40 765 4321"), "+358…21");
        assert_eq!(masked(IdentityKind::UserId, "u-42"), "…");
    }

    fn normalised(kind: IdentityKind, raw: &str) -> Result<String, String> {
        Identity::parse(kind, raw)
            .map(|i| i.expose().to_owned())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_same_person_is_found_however_the_value_was_typed() {
        use IdentityKind::*;
        assert_eq!(
            normalised(Email, "  Ana.Lopez@Example.COM "),
            Ok("ana.lopez@example.com".into())
        );
        assert_eq!(
            normalised(Phone, "+358 40 123 4567"),
            Ok("+358401234567".into())
        );
        assert_eq!(
            normalised(Phone, "00358-40-123-4567"),
            Ok("+358401234567".into())
        );
        // "(0)" is the trunk prefix dialled only inside the country; it is not part of E.164.
        assert_eq!(normalised(Phone, "+46 (0)8 123 45"), Ok("+46812345".into()));
        assert_eq!(
            normalised(NationalId, "131052-308t"),
            Ok("131052-308T".into())
        );
        assert_eq!(normalised(CustomerNo, " C-1001 "), Ok("C-1001".into()));
    }

    #[test]
    fn national_identity_numbers_have_one_form_however_they_were_written() {
        use IdentityKind::NationalId;
        // Belgian: dotted and hyphenated, or the bare eleven digits.
        for written in ["85.07.30-033.28", "85073003328", " 850730 03328 "] {
            assert_eq!(normalised(NationalId, written), Ok("85073003328".into()));
        }
        // Swedish and Danish: the hyphen only groups digits; the Swedish `+` means over 100.
        assert_eq!(
            normalised(NationalId, "811228-9874"),
            Ok("8112289874".into())
        );
        assert_eq!(
            normalised(NationalId, "8112289874"),
            Ok("8112289874".into())
        );
        assert_eq!(
            normalised(NationalId, "010190-1234"),
            Ok("0101901234".into())
        );
        assert_eq!(
            normalised(NationalId, "811228+9874"),
            Ok("811228+9874".into())
        );
        // Finnish: the century sign carries meaning and stays, in capitals.
        assert_eq!(
            normalised(NationalId, "131052-308t"),
            Ok("131052-308T".into())
        );
        assert_eq!(
            normalised(NationalId, "010101a123n"),
            Ok("010101A123N".into())
        );
        // Spanish: a hyphen before the check letter is optional.
        assert_eq!(normalised(NationalId, "12345678-z"), Ok("12345678Z".into()));
        assert_eq!(normalised(NationalId, "12345678Z"), Ok("12345678Z".into()));
        assert!(normalised(NationalId, "...").is_err());
        // Found by fuzzing: separators alone normalised to an empty value.
        for only_separators in ["-", "--", ".-."] {
            assert!(
                normalised(NationalId, only_separators).is_err(),
                "{only_separators}"
            );
        }
    }

    #[test]
    fn a_phone_number_without_its_country_code_is_read_as_the_controllers() {
        use IdentityKind::Phone;
        let in_country = |raw: &str, country: &str| {
            Identity::parse_in(Phone, raw, country)
                .map(|i| i.expose().to_owned())
                .map_err(|e| e.to_string())
        };
        assert_eq!(in_country("040 123 4567", "FI"), Ok("+358401234567".into()));
        assert_eq!(
            in_country("(0)40 123 4567", "FI"),
            Ok("+358401234567".into())
        );
        assert_eq!(in_country("070-123 45 67", "SE"), Ok("+46701234567".into()));
        assert_eq!(in_country("0470 12 34 56", "BE"), Ok("+32470123456".into()));
        // Italy keeps the leading 0 of a fixed line in international form.
        assert_eq!(in_country("06 1234 5678", "IT"), Ok("+390612345678".into()));
        // A number written with its country code is read as written, whatever the country.
        assert_eq!(
            in_country("+46 70 123 45 67", "FI"),
            Ok("+46701234567".into())
        );
        assert_eq!(
            in_country("0046 70 123 45 67", "FI"),
            Ok("+46701234567".into())
        );
        // The same number, however written, is the same identity.
        assert_eq!(
            in_country("040 123 4567", "FI"),
            in_country("+358 40 123 4567", "FI")
        );
        // Not a number of that country: refused, never guessed, and not echoed.
        let refused = in_country("99999", "FI").expect_err("too short");
        assert!(
            refused.contains("as dialled in FI") && !refused.contains("99999"),
            "{refused}"
        );
        assert!(in_country("not a number", "FI").is_err());
        assert!(in_country("040 123 4567", "??").is_err());
        // Elsewhere the plain parse still wants the country code.
        assert!(Identity::parse(Phone, "040 123 4567").is_err());
    }

    #[test]
    fn bad_values_are_refused_without_echoing_them() {
        use IdentityKind::*;
        for (kind, raw) in [
            (Email, "ana at example.com"),
            (Email, "ana@localhost"),
            (Email, "@mail.test"),
            (Phone, "040 123 4567"),
            (Phone, "+0 123 4567"),
            (Phone, "+358 40 123 4567 890 12"),
            (NationalId, "131052/308T"),
            (UserId, "   "),
            (UserId, "a\u{7}b"),
        ] {
            let error = Identity::parse(kind, raw).expect_err(raw).to_string();
            assert!(
                raw.trim().is_empty() || !error.contains(raw.trim()),
                "{error} echoes {raw}"
            );
        }
    }

    #[test]
    fn tagged_identities_name_their_kind() {
        let identity = Identity::parse_tagged("email:Ana@Example.com").expect("valid");
        assert_eq!(identity.kind(), IdentityKind::Email);
        assert_eq!(identity.expose(), "ana@example.com");
        assert_eq!(
            Identity::parse_tagged("ana@example.com"),
            Err(IdentityError::MissingKind)
        );
        assert_eq!(
            Identity::parse_tagged("mail:ana@example.com"),
            Err(IdentityError::UnknownKind)
        );
    }

    #[test]
    fn identities_never_print_their_value() {
        let identity = Identity::parse(IdentityKind::Email, "ana@example.com").expect("valid");
        assert_eq!(format!("{identity}"), "email:<redacted>");
        assert_eq!(format!("{identity:?}"), "Identity(email:<redacted>)");
    }
}
