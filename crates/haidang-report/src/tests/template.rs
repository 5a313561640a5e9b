//! Templates written by `write_template`, read back and looked inside.

use calamine::{Reader, SheetVisible, Xlsx};

use super::{rows, xlsx_part};
use crate::{
    read_table, write_template, ColumnKind, ReportError, TableFormat, TemplateColumn, TemplateSpec,
    INSTRUCTIONS_SHEET, MARKER_SHEET,
};

fn column(header: &str, kind: ColumnKind, required: bool) -> TemplateColumn {
    TemplateColumn { header: header.to_owned(), kind, required, note: None }
}

/// Forty ward names: far over the 255 characters an inline list may hold.
fn wards() -> Vec<String> {
    (1..=40).map(|n| format!("Phường số {n} thành phố")).collect()
}

fn spec() -> TemplateSpec {
    let mut station = column("Mã trạm (id)", ColumnKind::Text, true);
    station.note = Some("Mã do Sở Tài nguyên và Môi trường cấp".to_owned());
    TemplateSpec {
        sheet_name: "Du lieu".to_owned(),
        title: "Quan trắc mực nước".to_owned(),
        marker: "haidang-form:ds-123:v1".to_owned(),
        columns: vec![
            station,
            column("Số người", ColumnKind::Integer { min: Some(0), max: Some(1000) }, false),
            column("Mực nước (m)", ColumnKind::Decimal { min: Some(-5.0), max: Some(30.5) }, true),
            column("Thời điểm đo", ColumnKind::DateTime, true),
            column("Tình trạng", ColumnKind::Choice(vec!["Bình thường".into(), "Cảnh báo".into()]), false),
            column("Phường", ColumnKind::Choice(wards()), false),
            column("Lưu lượng", ColumnKind::Decimal { min: None, max: None }, false),
        ],
        example: ["007", "3", "12.5", "01/12/2026 08:00", "Cảnh báo", "Phường số 7 thành phố", ""]
            .map(str::to_owned)
            .to_vec(),
        instructions: vec!["Mỗi dòng là một lần đo.".to_owned(), "Gửi trước ngày 5 hằng tháng.".to_owned()],
        data_rows: 1000,
        prefilled: vec![],
    }
}

#[test]
fn a_template_reads_back_with_its_headers_marker_and_example() {
    let spec = spec();
    let bytes = write_template(&spec).unwrap();
    let table = read_table(TableFormat::Xlsx, &bytes).unwrap();
    let headers: Vec<_> = spec.columns.iter().map(|column| column.header.clone()).collect();
    assert_eq!(table.headers, headers);
    assert_eq!(table.marker.as_deref(), Some("haidang-form:ds-123:v1"));
    assert_eq!(
        rows(&table),
        [(2, vec!["007", "3", "12.5", "01/12/2026 08:00", "Cảnh báo", "Phường số 7 thành phố", ""])]
    );
}

#[test]
fn the_sheets_are_data_instructions_and_a_very_hidden_marker_sheet() {
    let bytes = write_template(&spec()).unwrap();
    let mut workbook = Xlsx::new(std::io::Cursor::new(bytes.as_slice())).unwrap();
    let sheets: Vec<_> =
        workbook.sheets_metadata().iter().map(|sheet| (sheet.name.clone(), sheet.visible)).collect();
    assert_eq!(
        sheets,
        [
            ("Du lieu".to_owned(), SheetVisible::Visible),
            (INSTRUCTIONS_SHEET.to_owned(), SheetVisible::Visible),
            (MARKER_SHEET.to_owned(), SheetVisible::VeryHidden),
        ]
    );
    let instructions = workbook.worksheet_range(INSTRUCTIONS_SHEET).unwrap();
    let text: Vec<String> = instructions.rows().flatten().map(ToString::to_string).collect();
    assert_eq!(text.first().map(String::as_str), Some("Quan trắc mực nước"));
    assert!(text.iter().any(|cell| cell == "Gửi trước ngày 5 hằng tháng."));
    assert!(text.iter().any(|cell| cell == "Mã trạm (id)"));
    // The long list lies in the marker sheet's column G, the one after data column F.
    let marker_sheet = workbook.worksheet_range(MARKER_SHEET).unwrap();
    assert_eq!(
        marker_sheet.get_value((39, 6)).map(ToString::to_string),
        Some("Phường số 40 thành phố".into())
    );
}

#[test]
fn the_data_sheet_carries_validations_notes_and_a_frozen_header() {
    let bytes = write_template(&spec()).unwrap();
    let sheet = xlsx_part(&bytes, "xl/worksheets/sheet1.xml");
    let validations: Vec<&str> = sheet.split("<dataValidation ").skip(1).collect();
    let find = |range: &str| {
        validations.iter().find(|v| v.contains(&format!("sqref=\"{range}\""))).copied().unwrap_or_default()
    };
    assert!(find("B2:B1001").contains("type=\"whole\""));
    assert!(find("B2:B1001").contains("<formula1>0</formula1><formula2>1000</formula2>"));
    assert!(find("C2:C1001").contains("type=\"decimal\""));
    assert!(find("C2:C1001").contains("<formula2>30.5</formula2>"));
    assert!(find("C2:C1001").contains("Mực nước (m)"), "the error names the column");
    assert!(find("E2:E1001").contains("type=\"list\""));
    assert!(find("E2:E1001").contains("<formula1>\"Bình thường,Cảnh báo\"</formula1>"));
    assert!(find("F2:F1001").contains("type=\"list\""));
    assert!(find("F2:F1001").contains("<formula1>haidang!$G$1:$G$40</formula1>"));
    assert!(find("G2:G1001").contains("<formula1>-1E+307</formula1><formula2>1E+307</formula2>"));
    assert!(sheet.contains("state=\"frozen\""));
    assert!(xlsx_part(&bytes, "xl/comments1.xml").contains("Mã do Sở Tài nguyên và Môi trường cấp"));
    let workbook = xlsx_part(&bytes, "xl/workbook.xml");
    assert!(
        workbook.contains("<definedName name=\"haidang_marker\">\"haidang-form:ds-123:v1\"</definedName>")
    );
}

#[test]
fn a_template_without_example_or_validation_still_reads_back() {
    let mut spec = spec();
    spec.example.clear();
    spec.data_rows = 0;
    let table = read_table(TableFormat::Xlsx, &write_template(&spec).unwrap()).unwrap();
    assert_eq!(table.headers.len(), spec.columns.len());
    assert!(table.rows.is_empty());
}

#[test]
fn impossible_templates_are_refused() {
    let refuse = |change: fn(&mut TemplateSpec)| {
        let mut spec = spec();
        change(&mut spec);
        match write_template(&spec) {
            Err(ReportError::InvalidSpec(message)) => message,
            other => panic!("expected InvalidSpec, got {other:?}"),
        }
    };
    refuse(|spec| spec.sheet_name = "Dữ liệu [2026]".to_owned());
    refuse(|spec| spec.sheet_name = "x".repeat(32));
    refuse(|spec| spec.sheet_name = "HAIDANG".to_owned());
    refuse(|spec| spec.sheet_name = INSTRUCTIONS_SHEET.to_owned());
    refuse(|spec| spec.marker = String::new());
    refuse(|spec| {
        spec.example.pop();
    });
    refuse(|spec| spec.columns.clear());
    refuse(|spec| spec.columns[1].header = " Mã trạm (id) ".to_owned());
    refuse(|spec| spec.columns[1].kind = ColumnKind::Integer { min: Some(5), max: Some(1) });
    refuse(|spec| spec.columns[2].kind = ColumnKind::Decimal { min: Some(f64::NAN), max: None });
    refuse(|spec| spec.columns[4].kind = ColumnKind::Choice(Vec::new()));
    refuse(|spec| spec.data_rows = 100_001);
}
