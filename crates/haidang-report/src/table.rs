//! What an upload reads into: a header and numbered rows of text, whichever format it came in.
//! Both readers feed `TableBuilder`, so trimming, skipping empty rows and the limits are the same.

use crate::error::ReportError;
use crate::{csv_read, xlsx_read, MAX_COLUMNS, MAX_ROWS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Xlsx,
    Csv,
}

/// XLSX is a ZIP archive; an empty archive starts with the end-of-directory record instead.
const ZIP_MAGIC: [&[u8]; 2] = [b"PK\x03\x04", b"PK\x05\x06"];
/// OLE2 compound file: an old binary .xls, or an .xlsx that Excel encrypted with a password.
pub(crate) const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Guesses the format of an upload. Conclusive bytes win over the name, because a workbook
/// renamed to `.csv` is common and parsing it as text would tell the user "save as UTF-8", which
/// is wrong advice; otherwise the extension decides; otherwise text without NUL bytes is CSV.
/// An OLE2 file (`.xls`, or an encrypted `.xlsx`) is reported as XLSX on purpose: the XLSX
/// reader then refuses it with `UnsupportedWorkbook`, which tells the user how to fix it.
pub fn detect_format(file_name: &str, bytes: &[u8]) -> Option<TableFormat> {
    if ZIP_MAGIC.iter().any(|magic| bytes.starts_with(magic)) || bytes.starts_with(&OLE_MAGIC) {
        return Some(TableFormat::Xlsx);
    }
    let extension = file_name.rsplit_once('.').map(|(_, ext)| ext.trim().to_ascii_lowercase());
    match extension.as_deref() {
        Some("xlsx" | "xlsm" | "xls") => return Some(TableFormat::Xlsx),
        Some("csv" | "txt" | "tsv") => return Some(TableFormat::Csv),
        _ => {}
    }
    let head = bytes.get(..4096).unwrap_or(bytes);
    (!head.is_empty() && !head.contains(&0)).then_some(TableFormat::Csv)
}

/// An upload as text. Which header is which column, and what the cells mean, is the caller's.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The template marker, from the hidden sheet (or the defined name) of an XLSX upload; `None`
    /// for CSV, and for a workbook that did not come from `write_template`.
    pub marker: Option<String>,
    /// The first non-empty row, trimmed, without trailing empty cells.
    pub headers: Vec<String>,
    /// Every non-empty row after the header, including the template's example row when the user
    /// left it: telling it apart is the caller's decision.
    pub rows: Vec<TableRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// The row number the user sees (Excel's row, or the physical line where a CSV record starts):
    /// the header of a template is 1 and its first data row 2.
    pub number: usize,
    /// Trimmed cells from the first column on, padded with "" to the header's length. A row with
    /// non-empty cells beyond the last header keeps them (up to its last non-empty one), so
    /// `cells.len() > headers.len()` tells the caller there is data in an unnamed column.
    pub cells: Vec<String>,
}

pub fn read_table(format: TableFormat, bytes: &[u8]) -> Result<Table, ReportError> {
    match format {
        TableFormat::Xlsx => xlsx_read::read(bytes),
        TableFormat::Csv => csv_read::read(bytes),
    }
}

/// Collects rows in order; the first non-empty one becomes the header.
#[derive(Debug, Default)]
pub(crate) struct TableBuilder {
    headers: Option<Vec<String>>,
    rows: Vec<TableRow>,
}

impl TableBuilder {
    /// Takes one row; `cells` need not be trimmed. Empty rows are dropped here, so both readers
    /// can hand over every row they meet.
    pub(crate) fn push(&mut self, number: usize, mut cells: Vec<String>) -> Result<(), ReportError> {
        for cell in &mut cells {
            let trimmed = cell.trim();
            if trimmed.len() != cell.len() {
                *cell = trimmed.to_owned();
            }
        }
        let used = cells.iter().rposition(|cell| !cell.is_empty()).map_or(0, |last| last + 1);
        if used == 0 {
            return Ok(());
        }
        if used > MAX_COLUMNS {
            return Err(ReportError::TooManyColumns { max: MAX_COLUMNS });
        }
        cells.truncate(used);
        match &self.headers {
            None => self.headers = Some(cells),
            Some(headers) => {
                if self.rows.len() >= MAX_ROWS {
                    return Err(ReportError::TooManyRows { max: MAX_ROWS });
                }
                if cells.len() < headers.len() {
                    cells.resize(headers.len(), String::new());
                }
                self.rows.push(TableRow { number, cells });
            }
        }
        Ok(())
    }

    pub(crate) fn finish(self, marker: Option<String>) -> Result<Table, ReportError> {
        let headers = self.headers.ok_or(ReportError::Empty)?;
        Ok(Table { marker, headers, rows: self.rows })
    }
}
