//! The one error type of the crate. Each variant has a stable snake_case code: the server shows the
//! user a translated message chosen by that code, and the English Display text is for logs.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReportError {
    /// A CSV upload that is not UTF-8, most often Excel's "CSV" (Windows-1258) instead of
    /// "CSV UTF-8". `line` is where the first bad byte is, so the user can find it.
    #[error("the file is not UTF-8 text (first invalid byte on line {line}): save it as \"CSV UTF-8\"")]
    NotUtf8 { line: usize },
    /// No header row: the file, or its data sheet, holds no non-empty cell.
    #[error("the file is empty: it has no header row")]
    Empty,
    /// A quoted CSV field never closed: without this error the rest of the file would silently
    /// become one cell.
    #[error("a quoted field opened on line {line} is never closed")]
    UnclosedQuote { line: usize },
    /// The bytes are not a workbook calamine can read; the text is calamine's, for logs.
    #[error("the workbook cannot be read: {0}")]
    Xlsx(String),
    /// An OLE2 file: an old binary .xls workbook or a password-protected .xlsx. Both look the same
    /// from outside, and both are fixed by saving as a plain .xlsx.
    #[error(
        "the file is an old .xls workbook or a password-protected one: save it as .xlsx without a password"
    )]
    UnsupportedWorkbook,
    #[error("the file has more than {max} data rows")]
    TooManyRows { max: usize },
    #[error("the file has more than {max} columns")]
    TooManyColumns { max: usize },
    /// The caller asked for a template that cannot be written; a programming or schema error,
    /// never the uploader's fault.
    #[error("invalid template: {0}")]
    InvalidSpec(String),
    /// rust_xlsxwriter failed while building the template.
    #[error("the template cannot be written: {0}")]
    Write(String),
}

impl ReportError {
    /// Stable code for clients and translation files; never changes once released.
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::NotUtf8 { .. } => "not_utf8",
            ReportError::Empty => "empty_file",
            ReportError::UnclosedQuote { .. } => "unclosed_quote",
            ReportError::Xlsx(_) => "unreadable_workbook",
            ReportError::UnsupportedWorkbook => "unsupported_workbook",
            ReportError::TooManyRows { .. } => "too_many_rows",
            ReportError::TooManyColumns { .. } => "too_many_columns",
            ReportError::InvalidSpec(_) => "invalid_template",
            ReportError::Write(_) => "template_write_failed",
        }
    }
}

impl From<rust_xlsxwriter::XlsxError> for ReportError {
    fn from(error: rust_xlsxwriter::XlsxError) -> Self {
        ReportError::Write(error.to_string())
    }
}
