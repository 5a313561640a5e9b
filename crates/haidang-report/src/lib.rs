//! Spreadsheet files of the manual forms (biểu mẫu): the XLSX template generated from a dataset's
//! columns, and the filled-in uploads read back from XLSX or CSV as rows of text.
//!
//! Only the file format lives here. What a column means, and whether a value is valid, is
//! haidang-core's business: this crate hands it strings, so that one parser there serves both
//! formats (and decimal commas, empty required cells and the example row are all decided there).

mod csv_read;
mod error;
mod table;
mod template;
mod validation;
mod wording;
mod xlsx_read;

pub use error::ReportError;
pub use table::{detect_format, read_table, Table, TableFormat, TableRow};
pub use template::{write_template, ColumnKind, TemplateColumn, TemplateSpec};

/// Most data rows an upload may carry; beyond it the upload is refused, not truncated.
pub const MAX_ROWS: usize = 100_000;
/// Most columns a form may have, in a template or in an upload.
pub const MAX_COLUMNS: usize = 200;
/// The visible sheet with the instructions, which the reader never takes for data.
pub const INSTRUCTIONS_SHEET: &str = "Hướng dẫn";
/// The very hidden sheet holding the marker in A1 and the long choice lists from column B.
pub const MARKER_SHEET: &str = "haidang";
/// Workbook defined name (and custom document property) that repeats the marker, so it survives
/// a user who deletes the hidden sheet with a macro or another tool.
pub const MARKER_NAME: &str = "haidang_marker";

#[cfg(test)]
mod tests;
