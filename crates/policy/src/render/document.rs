//! A small document model for the notice: enough structure for accessible HTML and for
//! Markdown, and nothing that either format could not express.

#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String),
    Strong(String),
    Link { text: String, href: String },
}

pub type Line = Vec<Inline>;

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(Line),
    Subheading(String),
    List(Vec<Line>),
    /// Lines shown one under another, like a postal address.
    Lines(Vec<Line>),
    /// The first cell of each row heads the row.
    Table {
        caption: String,
        headers: Vec<String>,
        rows: Vec<Vec<Line>>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The anchor in HTML (`#your-rights`).
    pub id: &'static str,
    pub heading: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    pub language: String,
    pub organisation: String,
    pub last_updated: jiff::civil::Date,
    pub sections: Vec<Section>,
}

pub fn text(value: impl Into<String>) -> Inline {
    Inline::Text(value.into())
}

pub fn strong(value: impl Into<String>) -> Inline {
    Inline::Strong(value.into())
}

/// A link to an email address, or to a web address; anything else stays text.
pub fn contact_link(value: &str) -> Inline {
    let trimmed = value.trim();
    if trimmed.contains('@') && !trimmed.contains(char::is_whitespace) && !trimmed.contains(':') {
        Inline::Link {
            text: trimmed.to_owned(),
            href: format!("mailto:{trimmed}"),
        }
    } else if trimmed.starts_with("https://") || trimmed.starts_with("http://") {
        Inline::Link {
            text: trimmed.to_owned(),
            href: trimmed.to_owned(),
        }
    } else if trimmed.starts_with("www.") && !trimmed.contains(char::is_whitespace) {
        Inline::Link {
            text: trimmed.to_owned(),
            href: format!("https://{trimmed}"),
        }
    } else {
        Inline::Text(trimmed.to_owned())
    }
}

/// A line of plain text.
pub fn line(value: impl Into<String>) -> Line {
    vec![text(value)]
}

impl Document {
    /// Every piece of text in reading order, for tests that look for a promise wherever it is.
    pub fn plain_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\nLast updated: {}\n",
            self.title,
            self.organisation,
            super::long_date(self.last_updated)
        );
        let push_line = |out: &mut String, line: &Line| {
            for inline in line {
                match inline {
                    Inline::Text(t) | Inline::Strong(t) | Inline::Link { text: t, .. } => {
                        out.push_str(t)
                    }
                }
            }
            out.push('\n');
        };
        for section in &self.sections {
            out.push_str(&section.heading);
            out.push('\n');
            for block in &section.blocks {
                match block {
                    Block::Paragraph(l) => push_line(&mut out, l),
                    Block::Subheading(h) => {
                        out.push_str(h);
                        out.push('\n');
                    }
                    Block::List(lines) | Block::Lines(lines) => {
                        lines.iter().for_each(|l| push_line(&mut out, l))
                    }
                    Block::Table {
                        caption,
                        headers,
                        rows,
                    } => {
                        out.push_str(caption);
                        out.push('\n');
                        out.push_str(&headers.join(" | "));
                        out.push('\n');
                        rows.iter().flatten().for_each(|l| push_line(&mut out, l));
                    }
                }
            }
        }
        out
    }
}
