//! XLSX uploads: the data sheet's cells as text, and the template marker. Cells are streamed
//! rather than loaded as a dense range, so one stray value far out in the sheet cannot make the
//! reader allocate millions of empty cells; the limits are checked as cells arrive.

use std::io::Cursor;

use calamine::{DataRef, ExcelDateTime, Reader, Sheet, SheetType, SheetVisible, Xlsx, XlsxError};

use crate::error::ReportError;
use crate::table::{Table, TableBuilder, OLE_MAGIC};
use crate::{INSTRUCTIONS_SHEET, MARKER_NAME, MARKER_SHEET, MAX_COLUMNS};

type Workbook<'a> = Xlsx<Cursor<&'a [u8]>>;

pub(crate) fn read(bytes: &[u8]) -> Result<Table, ReportError> {
    if bytes.is_empty() {
        return Err(ReportError::Empty);
    }
    if bytes.starts_with(&OLE_MAGIC) {
        return Err(ReportError::UnsupportedWorkbook);
    }
    let mut workbook: Workbook<'_> = Xlsx::new(Cursor::new(bytes)).map_err(workbook_error)?;
    let sheet = data_sheet(workbook.sheets_metadata())
        .ok_or_else(|| ReportError::Xlsx("the workbook has no worksheet".to_owned()))?;
    let marker = read_marker(&mut workbook)?;

    let mut builder = TableBuilder::default();
    let mut reader = workbook.worksheet_cells_reader(&sheet).map_err(workbook_error)?;
    // Cells arrive in row order; a row is handed over when the next one starts.
    let mut current: Option<(u32, Vec<String>)> = None;
    while let Some(cell) = reader.next_cell().map_err(workbook_error)? {
        let (row, column) = cell.get_position();
        let text = cell_text(cell.get_value());
        // Styled blank cells are common (a formatted column); skipping them here keeps a row
        // from growing to the width of the formatting.
        if text.trim().is_empty() {
            continue;
        }
        let column = usize::try_from(column).unwrap_or(usize::MAX);
        if column >= MAX_COLUMNS {
            return Err(ReportError::TooManyColumns { max: MAX_COLUMNS });
        }
        if current.as_ref().is_some_and(|(current_row, _)| *current_row != row) {
            if let Some((done_row, cells)) = current.take() {
                builder.push(row_number(done_row), cells)?;
            }
        }
        let (_, cells) = current.get_or_insert_with(|| (row, Vec::new()));
        if cells.len() <= column {
            cells.resize(column + 1, String::new());
        }
        if let Some(slot) = cells.get_mut(column) {
            *slot = text;
        }
    }
    if let Some((row, cells)) = current {
        builder.push(row_number(row), cells)?;
    }
    builder.finish(marker)
}

/// The first visible worksheet that is not the instructions; failing that, the first worksheet
/// at all (a user may have hidden the data sheet), but never the marker sheet.
fn data_sheet(sheets: &[Sheet]) -> Option<String> {
    let mut worksheets =
        sheets.iter().filter(|sheet| sheet.typ == SheetType::WorkSheet && sheet.name != MARKER_SHEET);
    let visible = worksheets
        .clone()
        .find(|sheet| sheet.visible == SheetVisible::Visible && sheet.name != INSTRUCTIONS_SHEET);
    visible.or_else(|| worksheets.next()).map(|sheet| sheet.name.clone())
}

/// The marker from A1 of the hidden sheet, else from the defined name.
fn read_marker(workbook: &mut Workbook<'_>) -> Result<Option<String>, ReportError> {
    let has_sheet = workbook.sheet_names().iter().any(|name| name == MARKER_SHEET);
    if has_sheet {
        let mut reader = workbook.worksheet_cells_reader(MARKER_SHEET).map_err(workbook_error)?;
        while let Some(cell) = reader.next_cell().map_err(workbook_error)? {
            if cell.get_position() == (0, 0) {
                let text = cell_text(cell.get_value());
                if !text.trim().is_empty() {
                    return Ok(Some(text.trim().to_owned()));
                }
            }
        }
    }
    let defined = workbook.defined_names().iter().find(|(name, _)| name.eq_ignore_ascii_case(MARKER_NAME));
    Ok(defined.and_then(|(_, formula)| string_constant(formula)))
}

/// The text of a defined name that is a string constant, `="a""b"` or `"a""b"`.
fn string_constant(formula: &str) -> Option<String> {
    let formula = formula.trim();
    let formula = formula.strip_prefix('=').unwrap_or(formula);
    let inner = formula.strip_prefix('"')?.strip_suffix('"')?;
    let text = inner.replace("\"\"", "\"");
    (!text.trim().is_empty()).then(|| text.trim().to_owned())
}

fn workbook_error(error: XlsxError) -> ReportError {
    match error {
        XlsxError::Password => ReportError::UnsupportedWorkbook,
        other => ReportError::Xlsx(other.to_string()),
    }
}

fn row_number(row: u32) -> usize {
    usize::try_from(row).map_or(usize::MAX, |row| row.saturating_add(1))
}

/// One cell as the text the core parses: numbers in Rust's shortest round-trip form with a "."
/// (Excel's own display depends on the user's locale and the cell format, so it is no guide),
/// dates in the form's "dd/mm/yyyy hh:mm", errors as Excel shows them.
pub(crate) fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(text) => text.clone(),
        DataRef::SharedString(text) => (*text).to_owned(),
        DataRef::Int(number) => number.to_string(),
        DataRef::Float(number) => float_text(*number),
        DataRef::Bool(flag) => flag.to_string(),
        DataRef::DateTime(datetime) => datetime_text(datetime),
        DataRef::DateTimeIso(iso) => iso_datetime_text(iso),
        DataRef::DurationIso(iso) => iso.clone(),
        DataRef::Error(error) => error.to_string(),
    }
}

fn float_text(number: f64) -> String {
    // Display never uses an exponent and prints 3.0 as "3"; only -0.0 needs help.
    if number == 0.0 {
        "0".to_owned()
    } else {
        number.to_string()
    }
}

/// Seconds are dropped, as the form's format has none. A value below one day with a date format
/// is a time of day typed alone: it is given as "hh:mm" rather than as a day in January 1900,
/// so the core's error can quote what the user typed.
fn datetime_text(datetime: &ExcelDateTime) -> String {
    let serial = datetime.as_f64();
    if datetime.is_duration() {
        let minutes = (serial * 1440.0).round();
        let sign = if minutes < 0.0 { "-" } else { "" };
        let minutes = minutes.abs();
        return format!("{sign}{}:{:02}", (minutes / 60.0).floor(), minutes % 60.0);
    }
    let (year, month, day, hour, minute, _, _) = datetime.to_ymd_hms_milli();
    if (0.0..1.0).contains(&serial) {
        return format!("{hour:02}:{minute:02}");
    }
    format!("{day:02}/{month:02}/{year:04} {hour:02}:{minute:02}")
}

/// `t="d"` cells hold ISO 8601 text; rewritten to the form's format when it parses, else kept.
fn iso_datetime_text(iso: &str) -> String {
    let (date, time) = match iso.split_once('T') {
        Some((date, time)) => (Some(date), Some(time)),
        None if iso.contains(':') => (None, Some(iso)),
        None => (Some(iso), None),
    };
    let date = date.map(|date| {
        let mut parts = date.splitn(3, '-');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(year), Some(month), Some(day)) if [year, month, day].iter().all(|p| is_digits(p)) => {
                Some(format!("{day}/{month}/{year}"))
            }
            _ => None,
        }
    });
    let time = time.map(|time| match (time.get(..2), time.get(2..3), time.get(3..5)) {
        (Some(hour), Some(":"), Some(minute)) if is_digits(hour) && is_digits(minute) => {
            Some(format!("{hour}:{minute}"))
        }
        _ => None,
    });
    match (date, time) {
        (Some(Some(date)), Some(Some(time))) => format!("{date} {time}"),
        (Some(Some(date)), None) => format!("{date} 00:00"),
        (None, Some(Some(time))) => time,
        _ => iso.to_owned(),
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}
