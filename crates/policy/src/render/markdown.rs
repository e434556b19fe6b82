//! The notice as CommonMark with GFM tables. Every piece of policy text is escaped, so a
//! purpose named `*free* [offer](x)` prints as written and never becomes markup.

use super::document::*;
use super::long_date;

pub(crate) fn write(document: &Document) -> String {
    let mut out = format!(
        "# {}\n\n{}  \n*Last updated: {}*\n\n",
        escape(&document.title),
        escape(&document.organisation),
        long_date(document.last_updated)
    );
    for section in &document.sections {
        out.push_str(&format!("## {}\n\n", escape(&section.heading)));
        for block in &section.blocks {
            write_block(&mut out, block);
            out.push('\n');
        }
    }
    out
}

fn write_block(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(l) => {
            out.push_str(&inline(l));
            out.push('\n');
        }
        Block::Subheading(heading) => out.push_str(&format!("### {}\n", escape(heading))),
        Block::List(items) => {
            for item in items {
                out.push_str(&format!("- {}\n", inline(item)));
            }
        }
        Block::Lines(lines) => {
            let rendered: Vec<String> = lines.iter().map(inline).collect();
            // A trailing backslash is CommonMark's hard line break.
            out.push_str(&rendered.join("\\\n"));
            out.push('\n');
        }
        Block::Table {
            caption,
            headers,
            rows,
        } => {
            out.push_str(&format!("*{}*\n\n", escape(caption)));
            let cell = |text: String| text.replace('\n', " ");
            out.push_str(&format!(
                "| {} |\n",
                headers
                    .iter()
                    .map(|h| cell(escape(h)))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
            out.push_str(&format!("|{}\n", " --- |".repeat(headers.len())));
            for row in rows {
                out.push_str(&format!(
                    "| {} |\n",
                    row.iter()
                        .map(|c| cell(inline(c)))
                        .collect::<Vec<_>>()
                        .join(" | ")
                ));
            }
        }
    }
}

fn inline(line: &Line) -> String {
    let mut out = String::new();
    for part in line {
        match part {
            Inline::Text(text) => out.push_str(&escape(text)),
            Inline::Strong(text) if text.trim().is_empty() => out.push_str(&escape(text)),
            Inline::Strong(text) => {
                // Emphasis markers must touch the text, so surrounding spaces stay outside.
                let trimmed = text.trim_end();
                out.push_str(&format!(
                    "**{}**{}",
                    escape(trimmed),
                    &text[trimmed.len()..]
                ));
            }
            Inline::Link { text, href } => out.push_str(&format!(
                "[{}](<{}>)",
                escape(text),
                href.replace(['<', '>', '\n'], "")
            )),
        }
    }
    out
}

/// Backslash-escapes every character that could start markup, and line starts that would.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {}
            '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    // A leading "-", "+" or "1." would turn the line into a list item.
    if out.starts_with(['-', '+']) || starts_with_ordinal(&out) {
        out.insert(0, '\\');
        if starts_with_ordinal(&out[1..]) {
            out.remove(0);
            let dot = out.find(['.', ')']).unwrap_or(0);
            out.insert(dot, '\\');
        }
    }
    out
}

fn starts_with_ordinal(text: &str) -> bool {
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && text[digits..].starts_with(['.', ')'])
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(escape("*free* [offer](x)"), "\\*free\\* \\[offer\\](x)");
        assert_eq!(escape("- not a list"), "\\- not a list");
        assert_eq!(escape("1. not a list"), "1\\. not a list");
        assert_eq!(escape("<script>"), "\\<script\\>");
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("Art. 6(1)(b)"), "Art. 6(1)(b)");
    }
}
