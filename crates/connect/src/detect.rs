//! Value detectors for discovery: each says whether one value *is* a kind of personal data,
//! by validating it (a checksum, a calendar date, a parse), not by a pattern alone, so that a
//! column of order numbers is not taken for card numbers. Values go in and a yes or no comes
//! out; nothing here keeps, prints or logs a value.

use jiff::civil::Date;

/// What a value was recognised as, with the fideslang category it proposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Detector {
    Email,
    Phone,
    Iban,
    Card,
    NationalId(Country),
    Ip,
    DateOfBirth,
    GivenName,
    FamilyName,
    FullName,
}

/// Countries whose national identity numbers are validated with their own check rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Country {
    Fi,
    Se,
    No,
    Dk,
    Be,
    Nl,
    De,
    Fr,
    Es,
    It,
}

impl Country {
    pub const ALL: [Country; 10] = [
        Country::Fi,
        Country::Se,
        Country::No,
        Country::Dk,
        Country::Be,
        Country::Nl,
        Country::De,
        Country::Fr,
        Country::Es,
        Country::It,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Country::Fi => "FI",
            Country::Se => "SE",
            Country::No => "NO",
            Country::Dk => "DK",
            Country::Be => "BE",
            Country::Nl => "NL",
            Country::De => "DE",
            Country::Fr => "FR",
            Country::Es => "ES",
            Country::It => "IT",
        }
    }

    /// Whether `value` is a valid identity number of this country.
    pub fn valid(self, value: &str) -> bool {
        match self {
            Country::Fi => finnish(value),
            Country::Se => swedish(value),
            Country::No => norwegian(value),
            Country::Dk => danish(value),
            Country::Be => belgian(value),
            Country::Nl => dutch(value),
            Country::De => german(value),
            Country::Fr => french(value),
            Country::Es => spanish(value),
            Country::It => italian(value),
        }
    }
}

impl Detector {
    /// The fideslang data category a column of such values proposes.
    pub fn category(self) -> &'static str {
        match self {
            Detector::Email => "user.contact.email",
            Detector::Phone => "user.contact.phone_number",
            Detector::Iban => "user.financial.bank_account",
            Detector::Card => "user.financial.credit_card",
            Detector::NationalId(_) => "user.government_id.national_identification_number",
            Detector::Ip => "user.device.ip_address",
            Detector::DateOfBirth => "user.demographic.date_of_birth",
            Detector::GivenName => "user.name.first",
            Detector::FamilyName => "user.name.last",
            Detector::FullName => "user.name",
        }
    }

    /// Its name in reports: `email`, `national_id:FI`, …
    pub fn name(self) -> String {
        match self {
            Detector::Email => "email".into(),
            Detector::Phone => "phone".into(),
            Detector::Iban => "iban".into(),
            Detector::Card => "payment_card".into(),
            Detector::NationalId(country) => format!("national_id:{}", country.code()),
            Detector::Ip => "ip_address".into(),
            Detector::DateOfBirth => "date_of_birth".into(),
            Detector::GivenName => "given_name".into(),
            Detector::FamilyName => "family_name".into(),
            Detector::FullName => "person_name".into(),
        }
    }
}

/// What a column's name says it holds, where it says anything: the detectors that need a
/// hint besides the value (a birth date looks like any date; a surname like any word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    Phone,
    Birth,
    GivenName,
    FamilyName,
    FullName,
}

/// The hint in a column's name: `mobile_phone` is a phone, `dob` a birth date, `first_name`
/// a given name.
pub fn hint(column: &str) -> Option<Hint> {
    let name = column.to_ascii_lowercase().replace(['-', ' '], "_");
    let words: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    let has = |w: &str| words.contains(&w) || name == w;
    let joined = words.concat();
    if [
        "phone",
        "tel",
        "telephone",
        "mobile",
        "gsm",
        "fax",
        "msisdn",
        "cell",
    ]
    .iter()
    .any(|w| has(w))
        || joined.contains("phone")
    {
        return Some(Hint::Phone);
    }
    if has("dob") || has("born") || joined.contains("birth") || joined.contains("bday") {
        return Some(Hint::Birth);
    }
    if [
        "firstname",
        "givenname",
        "forename",
        "firstnames",
        "givennames",
    ]
    .iter()
    .any(|w| joined.ends_with(w))
        || has("first") && has("name")
    {
        return Some(Hint::GivenName);
    }
    if ["lastname", "surname", "familyname"]
        .iter()
        .any(|w| joined.ends_with(w))
    {
        return Some(Hint::FamilyName);
    }
    if has("name")
        && ![
            "user", "username", "login", "file", "host", "table", "product", "company",
        ]
        .iter()
        .any(|w| words.first() == Some(w))
        || joined.ends_with("fullname")
    {
        return Some(Hint::FullName);
    }
    None
}

/// Every detector `value` passes, given the column's hint and the day the scan runs (a birth
/// date lies between 1900 and then).
pub fn detect(value: &str, hint: Option<Hint>, today: Date) -> Vec<Detector> {
    let value = value.trim();
    let mut found = Vec::new();
    if value.is_empty() || value.len() > 320 {
        return found;
    }
    if email(value) {
        found.push(Detector::Email);
    }
    if iban(value) {
        found.push(Detector::Iban);
    }
    if card(value) {
        found.push(Detector::Card);
    }
    for country in Country::ALL {
        if country.valid(value) {
            found.push(Detector::NationalId(country));
        }
    }
    if ip(value) {
        found.push(Detector::Ip);
    }
    if phone(value, hint == Some(Hint::Phone)).is_some() {
        found.push(Detector::Phone);
    }
    match hint {
        Some(Hint::Birth) if birth_date(value, today) => found.push(Detector::DateOfBirth),
        Some(Hint::GivenName) if given_name(value) => found.push(Detector::GivenName),
        Some(Hint::FamilyName) if name_shaped(value) => found.push(Detector::FamilyName),
        Some(Hint::FullName) if full_name(value) => found.push(Detector::FullName),
        _ => {}
    }
    found
}

/// An address `local@domain` whose domain has a real top-level label.
pub fn email(value: &str) -> bool {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.len() > 255 {
        return false;
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| {
            (tld.len() >= 2 && tld.chars().all(char::is_alphabetic)) || tld.starts_with("xn--")
        });
    local_ok && domain_ok
}

/// Digits of `value` once the separators people write (spaces, dashes, dots, slashes,
/// parentheses) are taken out; `None` when anything else is in it.
fn digits_only(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '0'..='9' => out.push(c),
            ' ' | '-' | '.' | '/' | '(' | ')' | '\u{a0}' => {}
            _ => return None,
        }
    }
    Some(out)
}

fn digit(c: u8) -> u32 {
    u32::from(c - b'0')
}

/// A phone number in E.164 (`+358401234567`). International forms (`+`, `00`) are taken
/// whatever the column is called, when their country calling code exists; a national form
/// (`040 123 4567`) only in a column named for phones, and is then returned as it is.
pub fn phone(value: &str, named_phone: bool) -> Option<String> {
    let trimmed = value.trim();
    let (international, rest) = if let Some(rest) = trimmed.strip_prefix('+') {
        (true, rest)
    } else if let Some(rest) = trimmed.strip_prefix("00") {
        (true, rest)
    } else {
        (false, trimmed)
    };
    let digits = digits_only(rest)?;
    if international {
        let code_len = (1..=3).find(|n| {
            digits
                .get(..*n)
                .is_some_and(|code| CALLING_CODES.contains(&code))
        })?;
        let national = digits.len() - code_len;
        if !(4..=14).contains(&national) || digits.len() > 15 || digits.starts_with('0') {
            return None;
        }
        return Some(format!("+{digits}"));
    }
    (named_phone && digits.starts_with('0') && (7..=12).contains(&digits.len())).then_some(digits)
}

/// The ITU-T E.164 country calling codes in service.
const CALLING_CODES: &[&str] = &[
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45",
    "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98", "211",
    "212", "213", "216", "218", "220", "221", "222", "223", "224", "225", "226", "227", "228",
    "229", "230", "231", "232", "233", "234", "235", "236", "237", "238", "239", "240", "241",
    "242", "243", "244", "245", "246", "248", "249", "250", "251", "252", "253", "254", "255",
    "256", "257", "258", "260", "261", "262", "263", "264", "265", "266", "267", "268", "269",
    "290", "291", "297", "298", "299", "350", "351", "352", "353", "354", "355", "356", "357",
    "358", "359", "370", "371", "372", "373", "374", "375", "376", "377", "378", "380", "381",
    "382", "383", "385", "386", "387", "389", "420", "421", "423", "500", "501", "502", "503",
    "504", "505", "506", "507", "508", "509", "590", "591", "592", "593", "594", "595", "596",
    "597", "598", "599", "670", "672", "673", "674", "675", "676", "677", "678", "679", "680",
    "681", "682", "683", "685", "686", "687", "688", "689", "690", "691", "692", "850", "852",
    "853", "855", "856", "880", "886", "960", "961", "962", "963", "964", "965", "966", "967",
    "968", "970", "971", "972", "973", "974", "975", "976", "977", "992", "993", "994", "995",
    "996", "998",
];

/// An IBAN of a country that has them, of that country's length, whose check digits hold
/// (ISO 13616: mod 97 of the rearranged number is 1).
pub fn iban(value: &str) -> bool {
    let compact: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let bytes = compact.as_bytes();
    if bytes.len() < 15 || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let Some(&(_, length)) = IBAN_LENGTHS
        .iter()
        .find(|(c, _)| c.as_bytes() == &bytes[..2])
    else {
        return false;
    };
    if bytes.len() != length || !bytes[2].is_ascii_digit() || !bytes[3].is_ascii_digit() {
        return false;
    }
    let mut remainder = 0u32;
    for &b in bytes[4..].iter().chain(&bytes[..4]) {
        remainder = if b.is_ascii_digit() {
            (remainder * 10 + digit(b)) % 97
        } else {
            (remainder * 100 + u32::from(b - b'A') + 10) % 97
        };
    }
    remainder == 1
}

/// IBAN lengths by country (the SWIFT registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

/// The Luhn check over a string of digits.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = digit(b);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A payment card number: 13 to 19 digits (spaces or dashes between groups), a prefix a card
/// network issues, and the Luhn check.
pub fn card(value: &str) -> bool {
    let Some(digits) = digits_only(value) else {
        return false;
    };
    if !(13..=19).contains(&digits.len()) || value.contains(['.', '/', '(', ')']) {
        return false;
    }
    let prefix = |n: usize| digits[..n].parse::<u32>().unwrap_or(0);
    let issued = digits.starts_with('4')
        || (51..=55).contains(&prefix(2))
        || (2221..=2720).contains(&prefix(4))
        || (digits.len() == 15 && matches!(prefix(2), 34 | 37))
        || prefix(4) == 6011
        || prefix(2) == 65
        || (644..=649).contains(&prefix(3))
        || (3528..=3589).contains(&prefix(4))
        || matches!(prefix(2), 36 | 38 | 39 | 62)
        || (300..=305).contains(&prefix(3))
        || matches!(prefix(4), 5018 | 5020 | 5038 | 6304)
        || (56..=58).contains(&prefix(2))
        || prefix(2) == 67;
    issued && luhn(&digits)
}

/// An IPv4 or IPv6 address.
pub fn ip(value: &str) -> bool {
    // `1.2` and bare integers parse on some platforms' resolvers; only the dotted quad and
    // the colon forms count.
    (value.contains(':') || value.matches('.').count() == 3)
        && value.parse::<std::net::IpAddr>().is_ok()
}

/// A date in a birth-date column: ISO (`1984-03-07`, with or without a time), `07.03.1984`
/// or `07/03/1984`, between 1900 and today.
pub fn birth_date(value: &str, today: Date) -> bool {
    let head = value.get(..10).unwrap_or(value);
    let parsed = head.parse::<Date>().ok().or_else(|| {
        let parts: Vec<&str> = head.split(['.', '/']).collect();
        match parts.as_slice() {
            [d, m, y] if y.len() == 4 => {
                Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
            }
            _ => None,
        }
    });
    parsed.is_some_and(|date| date >= Date::constant(1900, 1, 1) && date <= today)
}

/// Common given names across the languages of Europe and beyond, lower case, one per line.
const GIVEN_NAMES: &str = include_str!("given_names.txt");

fn given_names() -> &'static std::collections::HashSet<&'static str> {
    static NAMES: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        GIVEN_NAMES
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// A word that could be a name: letters (any script), with the hyphens and apostrophes names
/// have, starting with a capital.
fn name_shaped(value: &str) -> bool {
    let words: Vec<&str> = value.split_whitespace().collect();
    !words.is_empty()
        && words.len() <= 4
        && words.iter().all(|w| {
            w.chars().next().is_some_and(char::is_uppercase)
                && w.chars().all(|c| c.is_alphabetic() || "-'’.".contains(c))
        })
}

/// A value whose first word is a given name on the shipped list.
pub fn given_name(value: &str) -> bool {
    name_shaped(value)
        && value
            .split([' ', '-'])
            .next()
            .is_some_and(|first| given_names().contains(first.to_lowercase().as_str()))
}

/// Two to four name-shaped words, the first a known given name (or, `Surname, Given`, the
/// last).
pub fn full_name(value: &str) -> bool {
    let (given, cleaned) = match value.split_once(',') {
        Some((family, given)) => (given.trim(), format!("{} {}", given.trim(), family.trim())),
        None => (value.trim(), value.trim().to_owned()),
    };
    cleaned.split_whitespace().count() >= 2 && name_shaped(&cleaned) && given_name(given)
}

fn date_ok(year: i16, month: i8, day: i8) -> bool {
    Date::new(year, month, day).is_ok()
}

fn two(s: &str) -> Option<i8> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Finnish henkilötunnus: `DDMMYY` `C` `NNN` `Q`, the century sign telling the century, Q
/// the remainder of DDMMYYNNN by 31 in the check alphabet.
fn finnish(value: &str) -> bool {
    let v = value.trim().to_ascii_uppercase();
    if v.len() != 11 || !v.is_ascii() {
        return false;
    }
    let century: i16 = match &v[6..7] {
        "+" => 1800,
        "-" | "Y" | "X" | "W" | "V" | "U" => 1900,
        "A" | "B" | "C" | "D" | "E" | "F" => 2000,
        _ => return false,
    };
    let (Some(d), Some(m), Some(y)) = (two(&v[0..2]), two(&v[2..4]), two(&v[4..6])) else {
        return false;
    };
    let number = &v[7..10];
    if !number.bytes().all(|b| b.is_ascii_digit()) || !date_ok(century + i16::from(y), m, d) {
        return false;
    }
    let Ok(n) = format!("{}{}", &v[0..6], number).parse::<u64>() else {
        return false;
    };
    const CHECK: &[u8] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
    v.as_bytes()[10] == CHECK[(n % 31) as usize]
}

/// Swedish personnummer or samordningsnummer (day + 60): `YYMMDD-NNNC`, `YYYYMMDDNNNC` and
/// the like, C the Luhn digit over the ten digits from YY.
fn swedish(value: &str) -> bool {
    let v = value.trim();
    let compact: String = v.chars().filter(|c| *c != '-' && *c != '+').collect();
    if v.chars().filter(|c| *c == '-' || *c == '+').count() > 1
        || !compact.bytes().all(|b| b.is_ascii_digit())
    {
        return false;
    }
    let ten = match compact.len() {
        10 => compact.as_str(),
        12 => &compact[2..],
        _ => return false,
    };
    let (Some(m), Some(mut d)) = (two(&ten[2..4]), two(&ten[4..6])) else {
        return false;
    };
    if d > 60 {
        d -= 60;
    }
    // The year's century is not in the ten digits; a leap day is checked against 2000.
    let year = if compact.len() == 12 {
        compact[..4].parse().unwrap_or(0)
    } else {
        2000 + i16::from(two(&ten[0..2]).unwrap_or(0))
    };
    date_ok(year, m, d) && luhn(ten)
}

/// Norwegian fødselsnummer or D-number (day + 40): eleven digits with two mod-11 check digits.
fn norwegian(value: &str) -> bool {
    let v = value.trim();
    if v.len() != 11 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let d: Vec<u32> = v.bytes().map(digit).collect();
    let check = |weights: &[u32]| {
        let sum: u32 = weights.iter().zip(&d).map(|(w, x)| w * x).sum();
        match 11 - sum % 11 {
            11 => Some(0),
            10 => None,
            k => Some(k),
        }
    };
    let (Some(mut day), Some(month)) = (two(&v[0..2]), two(&v[2..4])) else {
        return false;
    };
    if day > 40 {
        day -= 40;
    }
    date_ok(2000, month, day)
        && check(&[3, 7, 6, 1, 8, 9, 4, 5, 2]) == Some(d[9])
        && check(&[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) == Some(d[10])
}

/// Danish CPR number `DDMMYY-SSSS`: a real date, and the modulus-11 check. Numbers issued
/// since 2007 may fail that check; with the dash written, the date alone is taken.
fn danish(value: &str) -> bool {
    let v = value.trim();
    let (dashed, compact) = match v.split_once('-') {
        Some((a, b)) if a.len() == 6 && b.len() == 4 => (true, format!("{a}{b}")),
        None => (false, v.to_owned()),
        _ => return false,
    };
    if compact.len() != 10 || !compact.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (Some(d), Some(m)) = (two(&compact[0..2]), two(&compact[2..4])) else {
        return false;
    };
    if !date_ok(2000, m, d) {
        return false;
    }
    let sum: u32 = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1]
        .iter()
        .zip(compact.bytes())
        .map(|(w, b)| w * digit(b))
        .sum();
    sum.is_multiple_of(11) || dashed
}

/// Belgian national register number: `YYMMDD SSS CC`, CC = 97 − the first nine digits
/// mod 97 (with a 2 before them for people born from 2000).
fn belgian(value: &str) -> bool {
    let compact = match digits_only(value) {
        Some(d) if d.len() == 11 => d,
        _ => return false,
    };
    let Ok(body) = compact[..9].parse::<u64>() else {
        return false;
    };
    let Ok(check) = compact[9..].parse::<u64>() else {
        return false;
    };
    let (Some(m), Some(d)) = (two(&compact[2..4]), two(&compact[4..6])) else {
        return false;
    };
    // Month and day are 00 where the birth date is unknown, and the month is raised by 20 or
    // 40 in numbers for people not in the register (BIS).
    let month_ok = m == 0 || (1..=12).contains(&(m % 20)) && m <= 52;
    let day_ok = d <= 31;
    month_ok && day_ok && (97 - body % 97 == check || 97 - (2_000_000_000 + body) % 97 == check)
}

/// Dutch burgerservicenummer: nine digits passing the eleven-test (weights 9…2, then −1).
fn dutch(value: &str) -> bool {
    let compact = match digits_only(value) {
        Some(d) if d.len() == 9 && value.trim().len() <= 11 => d,
        _ => return false,
    };
    let d: Vec<i32> = compact.bytes().map(|b| digit(b) as i32).collect();
    let sum: i32 = (0..8).map(|i| d[i] * (9 - i as i32)).sum::<i32>() - d[8];
    sum != 0 && sum % 11 == 0
}

/// German tax identification number: eleven digits, no leading zero, one digit repeated
/// (twice or three times) among the first ten, and the ISO 7064 MOD 11,10 check digit.
fn german(value: &str) -> bool {
    let compact = match digits_only(value) {
        Some(d) if d.len() == 11 && !d.starts_with('0') => d,
        _ => return false,
    };
    let mut counts = [0u8; 10];
    for b in compact[..10].bytes() {
        counts[digit(b) as usize] += 1;
    }
    let repeated: Vec<u8> = counts.iter().copied().filter(|c| *c > 1).collect();
    if repeated.len() != 1 || repeated[0] > 3 {
        return false;
    }
    let mut product = 10u32;
    for b in compact[..10].bytes() {
        let mut sum = (digit(b) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = match 11 - product {
        10 => 0,
        c => c,
    };
    check == digit(compact.as_bytes()[10])
}

/// French NIR (social security number): sex, year, month, department (2A and 2B for
/// Corsica), commune, order, and the key 97 − the thirteen digits mod 97.
fn french(value: &str) -> bool {
    let compact: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if compact.len() != 15 || !compact.is_ascii() {
        return false;
    }
    let body = &compact[..13];
    let corsica = match &body[5..7] {
        "2A" => Some(1_000_000),
        "2B" => Some(2_000_000),
        _ => None,
    };
    let numeric = body.replace("2A", "19").replace("2B", "18");
    let (Ok(mut n), Ok(key)) = (numeric.parse::<u64>(), compact[13..].parse::<u64>()) else {
        return false;
    };
    if let Some(shift) = corsica {
        n -= shift;
    }
    let Some(month) = two(&body[3..5]) else {
        return false;
    };
    matches!(&body[..1], "1" | "2" | "3" | "4" | "7" | "8")
        && ((1..=12).contains(&month) || (20..=42).contains(&month) || month >= 50)
        && key == 97 - n % 97
}

/// Spanish DNI (eight digits and a letter) or NIE (X, Y or Z, seven digits, a letter): the
/// letter is the number mod 23 in the control alphabet.
fn spanish(value: &str) -> bool {
    let v: String = value
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .collect::<String>()
        .to_ascii_uppercase();
    if v.len() != 9 || !v.is_ascii() {
        return false;
    }
    let number = match &v[..1] {
        "X" => format!("0{}", &v[1..8]),
        "Y" => format!("1{}", &v[1..8]),
        "Z" => format!("2{}", &v[1..8]),
        _ => v[..8].to_owned(),
    };
    let Ok(n) = number.parse::<u32>() else {
        return false;
    };
    const LETTERS: &[u8] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    number.bytes().all(|b| b.is_ascii_digit()) && v.as_bytes()[8] == LETTERS[(n % 23) as usize]
}

/// Italian codice fiscale: sixteen characters (surname and name letters, year, month letter,
/// day, place, check letter), digits possibly replaced by letters (omocodia), the check letter
/// computed from the odd and even positions' tables.
fn italian(value: &str) -> bool {
    let v = value.trim().to_ascii_uppercase();
    let b = v.as_bytes();
    if b.len() != 16 || !b.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    // Digits may be replaced by these letters, 0 to 9, when two people would share a code.
    const OMOCODIA: &[u8] = b"LMNPQRSTUV";
    let numeric = |c: u8| c.is_ascii_digit() || OMOCODIA.contains(&c);
    let letters = [0, 1, 2, 3, 4, 5, 8, 11, 15];
    let digits = [6, 7, 9, 10, 12, 13, 14];
    if !letters.iter().all(|&i| b[i].is_ascii_uppercase())
        || !digits.iter().all(|&i| numeric(b[i]))
        || !b"ABCDEHLMPRST".contains(&b[8])
    {
        return false;
    }
    let as_digit = |c: u8| {
        if c.is_ascii_digit() {
            c - b'0'
        } else {
            OMOCODIA.iter().position(|&o| o == c).unwrap_or(0) as u8
        }
    };
    let day = as_digit(b[9]) * 10 + as_digit(b[10]);
    if !((1..=31).contains(&day) || (41..=71).contains(&day)) {
        return false;
    }
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let sum: u32 = b[..15]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let index = if c.is_ascii_digit() {
                u32::from(c - b'0')
            } else {
                u32::from(c - b'A')
            };
            // Positions count from one: the first character is odd.
            if i % 2 == 0 {
                ODD[index as usize]
            } else {
                index
            }
        })
        .sum();
    b[15] == b'A' + (sum % 26) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: Date = Date::constant(2026, 11, 29);

    #[test]
    fn addresses_need_a_real_domain() {
        assert!(email("ana.virtanen@example.fi"));
        assert!(email("o'brien+tag@sub.example.co.uk"));
        for no in [
            "ana@localhost",
            "ana@@x.fi",
            "@x.fi",
            "ana@x.1",
            "a b@x.fi",
            "ana@-x.fi",
            "ana.@x.fi",
        ] {
            assert!(!email(no), "{no}");
        }
    }

    #[test]
    fn phones_parse_to_e164() {
        assert_eq!(
            phone("+358 40 123 4567", false).as_deref(),
            Some("+358401234567")
        );
        assert_eq!(
            phone("0046 (8) 123 456 78", false).as_deref(),
            Some("+46812345678")
        );
        assert_eq!(
            phone("+1-202-555-0143", false).as_deref(),
            Some("+12025550143")
        );
        // No such calling code; too short; national forms only where the column says phone.
        assert_eq!(phone("+999 123 4567", false), None);
        assert_eq!(phone("+358 12", false), None);
        assert_eq!(phone("040 123 4567", false), None);
        assert_eq!(phone("040 123 4567", true).as_deref(), Some("0401234567"));
        assert_eq!(phone("12345678", true), None);
    }

    #[test]
    fn ibans_pass_mod_97_at_their_country_length() {
        assert!(iban("FI21 1234 5600 0007 85"));
        assert!(iban("DE89370400440532013000"));
        assert!(iban("GB82 WEST 1234 5698 7654 32"));
        assert!(!iban("FI21 1234 5600 0007 86"), "a changed digit");
        assert!(!iban("DE8937040044053201300"), "one short");
        assert!(!iban("ZZ89370400440532013000"), "no such country");
    }

    #[test]
    fn cards_pass_luhn_with_an_issued_prefix() {
        for yes in [
            "4111 1111 1111 1111",
            "5500-0000-0000-0004",
            "340000000000009",
            "6011000000000004",
            "2223000048400011",
        ] {
            assert!(card(yes), "{yes}");
        }
        assert!(!card("4111 1111 1111 1112"), "Luhn fails");
        assert!(
            !card("1234567812345670"),
            "Luhn holds but no network issues 1…"
        );
        assert!(!card("4111111"), "too short");
    }

    #[test]
    fn national_numbers_pass_their_own_checks() {
        let cases: &[(Country, &str, &str)] = &[
            (Country::Fi, "131052-308T", "131052-308U"),
            (Country::Fi, "010101A123N", "010101A123M"),
            (Country::Se, "811218-9876", "811218-9875"),
            (Country::Se, "198112189876", "198113189876"),
            (Country::No, "01010750160", "01010750161"),
            (Country::Dk, "0707614285", "0707614286"),
            (Country::Be, "85.07.30-033.28", "85.07.30-033.29"),
            (Country::Be, "00010100105", "00010100106"),
            (Country::Nl, "111222333", "111222334"),
            (Country::De, "86095742719", "86095742718"),
            (
                Country::Fr,
                "2 55 08 14 168 025 38",
                "2 55 08 14 168 025 39",
            ),
            (
                Country::Fr,
                "1 85 05 2A 123 456 60",
                "1 85 05 2A 123 456 61",
            ),
            (Country::Es, "12345678Z", "12345678A"),
            (Country::Es, "X1234567L", "X1234567M"),
            (Country::It, "RSSMRA85T10A562S", "RSSMRA85T10A562T"),
        ];
        for (country, good, bad) in cases {
            assert!(country.valid(good), "{country:?} {good}");
            assert!(!country.valid(bad), "{country:?} {bad}");
        }
        // A dashed Danish number issued after 2007 need not pass modulus 11; a date must hold.
        assert!(Country::Dk.valid("010190-1235"));
        assert!(!Country::Dk.valid("320190-1235"));
        assert!(!Country::Fi.valid("310252-308T"), "no 31 February");
    }

    #[test]
    fn birth_dates_are_real_past_dates_in_a_column_named_for_them() {
        assert!(birth_date("1984-03-07", TODAY));
        assert!(birth_date("2000-02-29", TODAY), "a leap day");
        assert!(birth_date("07.03.1984", TODAY));
        assert!(birth_date("1984-03-07T00:00:00Z", TODAY));
        assert!(!birth_date("2001-02-29", TODAY), "no leap day in 2001");
        assert!(!birth_date("2027-01-01", TODAY), "in the future");
        assert!(!birth_date("1850-01-01", TODAY));
        assert_eq!(detect("1984-03-07", None, TODAY), vec![]);
        assert_eq!(
            detect("1984-03-07", Some(Hint::Birth), TODAY),
            vec![Detector::DateOfBirth]
        );
    }

    #[test]
    fn names_need_the_column_name_and_for_given_names_the_list() {
        assert_eq!(hint("first_name"), Some(Hint::GivenName));
        assert_eq!(hint("GivenName"), Some(Hint::GivenName));
        assert_eq!(hint("surname"), Some(Hint::FamilyName));
        assert_eq!(hint("customer_name"), Some(Hint::FullName));
        assert_eq!(hint("product_name"), None);
        assert_eq!(hint("mobile"), Some(Hint::Phone));
        assert_eq!(hint("date_of_birth"), Some(Hint::Birth));
        assert_eq!(hint("amount"), None);
        assert!(given_name("Anna"));
        assert!(given_name("Jean-Pierre"));
        assert!(!given_name("Invoice"));
        assert!(full_name("Maria Garcia Lopez"));
        assert!(full_name("Virtanen, Mikko"));
        assert!(!full_name("Mikko"), "one word is no full name");
        assert!(!full_name("Blue Widget"));
        assert_eq!(detect("Anna", None, TODAY), vec![]);
    }

    #[test]
    fn addresses_of_either_family_count_as_ip() {
        assert!(ip("192.0.2.10"));
        assert!(ip("2001:db8::1"));
        assert!(!ip("1.2.3"));
        assert!(!ip("256.1.1.1"));
        assert!(!ip("12345"));
    }
}
