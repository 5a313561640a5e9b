//! Workbooks as users leave them, written with rust_xlsxwriter directly.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use super::rows;
use crate::{read_table, ReportError, TableFormat, INSTRUCTIONS_SHEET, MARKER_NAME};

fn read(workbook: &mut Workbook) -> Result<crate::Table, ReportError> {
    read_table(TableFormat::Xlsx, &workbook.save_to_buffer().unwrap())
}

#[test]
fn a_filled_in_workbook_reads_with_excel_row_numbers() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let datetime = Format::new().set_num_format("dd/mm/yyyy hh:mm");
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let time = Format::new().set_num_format("hh:mm");
    for (col, header) in (0..).zip(["Mã trạm ", "Mực nước (m)", "Thời điểm đo", "Ghi chú"]) {
        sheet.write(0, col, header).unwrap();
    }
    // Row 2: trailing spaces, a decimal, a date and time.
    sheet.write(1, 0, "TR-01   ").unwrap();
    sheet.write(1, 1, 12.5).unwrap();
    let at = ExcelDateTime::from_ymd(2026, 12, 1).unwrap().and_hms(8, 0, 0).unwrap();
    sheet.write_datetime_with_format(1, 2, &at, &datetime).unwrap();
    // Row 3 left empty but formatted, row 4: whole number, date only, a boolean.
    sheet.write_blank(2, 1, &date).unwrap();
    sheet.write(3, 0, "TR-02").unwrap();
    sheet.write(3, 1, 3).unwrap();
    sheet.write_datetime_with_format(3, 2, ExcelDateTime::from_ymd(2026, 1, 31).unwrap(), &date).unwrap();
    sheet.write(3, 3, true).unwrap();
    // Row 5: only whitespace. Row 6: a time alone, a float that is not exact, an extra cell.
    sheet.write(4, 0, "   ").unwrap();
    sheet.write(5, 0, "TR-03").unwrap();
    sheet.write(5, 1, 0.1 + 0.2).unwrap();
    sheet.write_datetime_with_format(5, 2, ExcelDateTime::from_hms(7, 30, 0).unwrap(), &time).unwrap();
    sheet.write(5, 5, "ngoài cột").unwrap();

    let table = read(&mut workbook).unwrap();
    assert_eq!(table.marker, None);
    assert_eq!(table.headers, ["Mã trạm", "Mực nước (m)", "Thời điểm đo", "Ghi chú"]);
    assert_eq!(
        rows(&table),
        [
            (2, vec!["TR-01", "12.5", "01/12/2026 08:00", ""]),
            (4, vec!["TR-02", "3", "31/01/2026 00:00", "true"]),
            (6, vec!["TR-03", "0.30000000000000004", "07:30", "", "", "ngoài cột"]),
        ]
    );
}

#[test]
fn the_instructions_sheet_is_skipped_when_it_comes_first() {
    let mut workbook = Workbook::new();
    workbook.add_worksheet().set_name(INSTRUCTIONS_SHEET).unwrap().write(0, 0, "Hãy đọc").unwrap();
    let data = workbook.add_worksheet().set_name("Dữ liệu").unwrap();
    data.write(0, 0, "Mã").unwrap();
    data.write(1, 0, "A").unwrap();
    let table = read(&mut workbook).unwrap();
    assert_eq!(table.headers, ["Mã"]);
    assert_eq!(rows(&table), [(2, vec!["A"])]);
}

#[test]
fn a_header_below_blank_rows_keeps_absolute_row_numbers() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write(2, 1, "Mã").unwrap();
    sheet.write(4, 1, "A").unwrap();
    let table = read(&mut workbook).unwrap();
    // Column A is empty: cells stay aligned on Excel's columns, so the header starts with "".
    assert_eq!(table.headers, ["", "Mã"]);
    assert_eq!(rows(&table), [(5, vec!["", "A"])]);
}

#[test]
fn the_marker_falls_back_on_the_defined_name() {
    let mut workbook = Workbook::new();
    workbook.add_worksheet().write(0, 0, "Mã").unwrap();
    workbook.define_name(MARKER_NAME, "=\"haidang-form:ds-9:v2 \"\"x\"\"\"").unwrap();
    assert_eq!(read(&mut workbook).unwrap().marker.as_deref(), Some("haidang-form:ds-9:v2 \"x\""));
}

#[test]
fn a_cell_beyond_the_column_limit_is_refused() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write(0, 0, "Mã").unwrap();
    sheet.write(1, 200, "xa").unwrap();
    assert_eq!(read(&mut workbook).unwrap_err(), ReportError::TooManyColumns { max: 200 });
}

#[test]
fn empty_and_broken_workbooks_are_refused() {
    let mut workbook = Workbook::new();
    workbook.add_worksheet();
    assert_eq!(read(&mut workbook).unwrap_err(), ReportError::Empty);
    assert_eq!(read_table(TableFormat::Xlsx, b"").unwrap_err(), ReportError::Empty);
    let broken = read_table(TableFormat::Xlsx, b"PK\x03\x04not really a zip").unwrap_err();
    assert_eq!(broken.code(), "unreadable_workbook");
}

#[test]
fn error_cells_read_as_excel_shows_them() {
    use calamine::{CellErrorType, DataRef};
    assert_eq!(crate::xlsx_read::cell_text(&DataRef::Error(CellErrorType::NA)), "#N/A");
    assert_eq!(crate::xlsx_read::cell_text(&DataRef::Float(-0.0)), "0");
    assert_eq!(
        crate::xlsx_read::cell_text(&DataRef::DateTimeIso("2026-12-01T08:05:59".into())),
        "01/12/2026 08:05"
    );
    assert_eq!(crate::xlsx_read::cell_text(&DataRef::DateTimeIso("2026-12-01".into())), "01/12/2026 00:00");
    assert_eq!(crate::xlsx_read::cell_text(&DataRef::DateTimeIso("soon".into())), "soon");
}
