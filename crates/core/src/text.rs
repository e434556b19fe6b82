//! Text people will read in lists, logs and mails: names and titles may not carry control
//! characters (a NUL cuts a line short, an escape repaints a terminal) or the invisible marks
//! that reorder what follows (U+202E turns "exe.txt" into "txt.exe").

/// The first character that may not stand in such text, if any. `multiline` allows line breaks
/// and tabs (descriptions); a name or a title allows neither.
pub fn refused_char(text: &str, multiline: bool) -> Option<char> {
    text.chars().find(|&c| {
        let allowed_space = multiline && matches!(c, '\n' | '\r' | '\t');
        (c.is_control() && !allowed_space)
            || matches!(
                c,
                '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
            )
    })
}

/// The refusal in words, naming the character by its code point (never the text itself).
pub fn refusal(field: &str, c: char) -> String {
    format!(
        "{field} holds U+{:04X}, a control or direction character; write it without",
        u32::from(c)
    )
}

/// A one-line name (a tenant's, a title): trimmed, 1 to `max` characters, no control or
/// direction character. The error is the sentence to show, naming `field`.
pub fn one_line_name(field: &str, text: &str, max: usize) -> Result<String, String> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > max {
        return Err(format!("give the {field} 1 to {max} characters"));
    }
    match refused_char(name, false) {
        Some(c) => Err(refusal(field, c)),
        None => Ok(name.to_owned()),
    }
}

/// A count as people write it: "1 record", "2 records", "0 records".
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "1 record", "2 records".
pub fn records(n: impl Into<u64>) -> String {
    count(n, "record", "records")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_number() {
        assert_eq!(records(0u64), "0 records");
        assert_eq!(records(1u64), "1 record");
        assert_eq!(records(2u64), "2 records");
        assert_eq!(count(1u64, "row", "rows"), "1 row");
    }

    #[test]
    fn names_refuse_control_and_direction_characters_and_keep_the_rest() {
        assert_eq!(refused_char("Acme Oy", false), None);
        assert_eq!(refused_char("Bryggeri Åbo – Nord", false), None);
        assert_eq!(refused_char("Acme\0Oy", false), Some('\0'));
        assert_eq!(
            refused_char("invoice\u{202E}txt.exe", false),
            Some('\u{202E}')
        );
        assert_eq!(refused_char("a\u{2066}b", false), Some('\u{2066}'));
        assert_eq!(refused_char("line one\nline two", false), Some('\n'));
        assert_eq!(refused_char("line one\nline two\ttab", true), None);
        assert_eq!(refused_char("\u{1b}[31mred", true), Some('\u{1b}'));
        assert!(refusal("name", '\u{202E}').contains("U+202E"));
    }
}
