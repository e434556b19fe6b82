//! A mistake in a dataset file, with the place to look (file, line, column) and the fix.

use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub file: String,
    /// 1-based; 0 when the whole file is meant.
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )?;
        } else {
            write!(f, "{}: {}", self.file, self.message)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

/// Where each part of a dataset was written, by a path such as `customer`, `customer.email`,
/// `customer.email.categories[0]`, `customer.email.references[1]` or `purposes[2]`; a path
/// not recorded falls back to its parent's place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Places {
    pub file: String,
    at: BTreeMap<String, (usize, usize)>,
}

impl Places {
    pub fn new(file: impl Into<String>) -> Places {
        Places {
            file: file.into(),
            at: BTreeMap::new(),
        }
    }

    pub fn set(&mut self, path: impl Into<String>, line: usize, column: usize) {
        self.at.insert(path.into(), (line, column));
    }

    /// Records the place of a byte offset of `text`.
    pub fn set_offset(&mut self, path: impl Into<String>, text: &str, offset: usize) {
        let (line, column) = line_column(text, offset);
        self.set(path, line, column);
    }

    pub fn of(&self, path: &str) -> (usize, usize) {
        let mut path = path;
        loop {
            if let Some(place) = self.at.get(path) {
                return *place;
            }
            match path.rfind(['.', '[']) {
                Some(end) => path = &path[..end],
                None => return (0, 0),
            }
        }
    }

    pub fn problem(&self, path: &str, message: impl Into<String>, hint: Option<String>) -> Problem {
        let (line, column) = self.of(path);
        Problem {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
            hint,
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
