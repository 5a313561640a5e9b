//! CSV uploads: UTF-8 with or without a BOM, comma, semicolon or tab separated (guessed from the
//! header line), RFC 4180 quoting, CRLF, LF or CR line ends. Each record is numbered by the
//! physical line it starts on, which is what a text editor shows when the user goes looking.
//!
//! Hand-written rather than the `csv` crate because the separator guess and the line accounting
//! both need the quote state anyway, and the whole parser is a few dozen lines.

use std::iter::Peekable;
use std::str::Chars;

use crate::error::ReportError;
use crate::table::{Table, TableBuilder};

pub(crate) fn read(bytes: &[u8]) -> Result<Table, ReportError> {
    let text = decode(bytes)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Records { chars: text.chars().peekable(), separator: detect_separator(text), line: 1 };
    let mut builder = TableBuilder::default();
    while let Some((line, fields)) = records.next_record()? {
        builder.push(line, fields)?;
    }
    builder.finish(None)
}

/// Refuses anything but UTF-8. A NUL byte is refused too: it is valid UTF-8, but it means UTF-16
/// ("Unicode text" in Excel), which would otherwise parse into garbage without an error.
fn decode(bytes: &[u8]) -> Result<&str, ReportError> {
    let line_at = |position: usize| {
        let before = bytes.get(..position).unwrap_or(bytes);
        before.iter().filter(|byte| **byte == b'\n').count() + 1
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|error| ReportError::NotUtf8 { line: line_at(error.valid_up_to()) })?;
    match bytes.iter().position(|byte| *byte == 0) {
        Some(position) => Err(ReportError::NotUtf8 { line: line_at(position) }),
        None => Ok(text),
    }
}

/// The separator that occurs most outside quotes on the first non-blank line; comma on a tie,
/// since a one-column file has none of them.
fn detect_separator(text: &str) -> char {
    const CANDIDATES: [char; 3] = [',', ';', '\t'];
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    let mut seen_content = false;
    for c in text.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            '\r' | '\n' if !in_quotes && seen_content => break,
            _ if in_quotes => {}
            _ => {
                if let Some(index) = CANDIDATES.iter().position(|candidate| *candidate == c) {
                    if let Some(count) = counts.get_mut(index) {
                        *count += 1;
                    }
                }
            }
        }
        seen_content |= !c.is_whitespace();
    }
    let mut best = ',';
    let mut best_count = 0;
    for (candidate, count) in CANDIDATES.iter().zip(counts) {
        if count > best_count {
            best = *candidate;
            best_count = count;
        }
    }
    best
}

struct Records<'a> {
    chars: Peekable<Chars<'a>>,
    separator: char,
    /// The physical line the next character is on.
    line: usize,
}

impl Records<'_> {
    /// The next record and the line it starts on; `None` at the end of the text.
    fn next_record(&mut self) -> Result<Option<(usize, Vec<String>)>, ReportError> {
        if self.chars.peek().is_none() {
            return Ok(None);
        }
        let start = self.line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut at_field_start = true;
        while let Some(c) = self.chars.next() {
            match c {
                '"' if at_field_start => {
                    self.read_quoted(&mut field)?;
                    at_field_start = false;
                }
                '\r' | '\n' => {
                    if c == '\r' {
                        self.chars.next_if_eq(&'\n');
                    }
                    self.line += 1;
                    fields.push(field);
                    return Ok(Some((start, fields)));
                }
                c if c == self.separator => {
                    fields.push(std::mem::take(&mut field));
                    at_field_start = true;
                }
                c => {
                    field.push(c);
                    at_field_start = false;
                }
            }
        }
        fields.push(field);
        Ok(Some((start, fields)))
    }

    /// Reads a quoted field up to its closing quote. Text after the closing quote is kept as is
    /// (`"ab"c` gives `abc`), as spreadsheet programs do, rather than failing the whole upload.
    /// Line ends inside the field become "\n", the same as a line break inside an XLSX cell.
    fn read_quoted(&mut self, field: &mut String) -> Result<(), ReportError> {
        let opened = self.line;
        while let Some(c) = self.chars.next() {
            match c {
                '"' => {
                    if self.chars.next_if_eq(&'"').is_none() {
                        return Ok(());
                    }
                    field.push('"');
                }
                '\r' | '\n' => {
                    if c == '\r' {
                        self.chars.next_if_eq(&'\n');
                    }
                    self.line += 1;
                    field.push('\n');
                }
                c => field.push(c),
            }
        }
        Err(ReportError::UnclosedQuote { line: opened })
    }
}
