use super::{csv, rows};
use crate::{read_table, ReportError, TableFormat, MAX_ROWS};

fn csv_error(bytes: &[u8]) -> ReportError {
    read_table(TableFormat::Csv, bytes).unwrap_err()
}

#[test]
fn comma_separated_with_trimmed_cells() {
    let table = csv("Mã trạm , Mực nước (m)\nTR-01, 12.5 \nTR-02,3\n");
    assert_eq!(table.marker, None);
    assert_eq!(table.headers, ["Mã trạm", "Mực nước (m)"]);
    assert_eq!(rows(&table), [(2, vec!["TR-01", "12.5"]), (3, vec!["TR-02", "3"])]);
}

#[test]
fn semicolon_separated_keeps_decimal_commas_for_the_core() {
    let table = csv("Mã;Giá trị;Ghi chú\nA;1,5;x\n");
    assert_eq!(table.headers, ["Mã", "Giá trị", "Ghi chú"]);
    assert_eq!(rows(&table), [(2, vec!["A", "1,5", "x"])]);
}

#[test]
fn separator_inside_quotes_of_the_header_does_not_count() {
    let table = csv("\"a;b;c\",d\n1,2\n");
    assert_eq!(table.headers, ["a;b;c", "d"]);
}

#[test]
fn tab_separated() {
    let table = csv("Mã\tTên\nA\tNguyễn Văn A\n");
    assert_eq!(rows(&table), [(2, vec!["A", "Nguyễn Văn A"])]);
}

#[test]
fn a_utf8_bom_is_stripped() {
    let table = csv("\u{feff}Mã,Tên\nA,Bình\n");
    assert_eq!(table.headers, ["Mã", "Tên"]);
}

#[test]
fn quoted_fields_and_embedded_newlines_keep_row_numbers_true() {
    let text = "Mã,Ghi chú,Số\nA,\"x, y \"\"z\"\"\",1\nB,\"dòng 1\ndòng 2\",2\nC,thường,3\n";
    let table = csv(text);
    assert_eq!(
        rows(&table),
        [
            (2, vec!["A", "x, y \"z\"", "1"]),
            (3, vec!["B", "dòng 1\ndòng 2", "2"]),
            (5, vec!["C", "thường", "3"]),
        ]
    );
}

#[test]
fn crlf_line_ends_including_inside_quotes() {
    let table = csv("Mã,Ghi chú\r\nA,\"một\r\nhai\"\r\nB,ba\r\n");
    assert_eq!(rows(&table), [(2, vec!["A", "một\nhai"]), (4, vec!["B", "ba"])]);
}

#[test]
fn lone_cr_line_ends_of_old_mac_files() {
    let table = csv("Mã,Tên\rA,1\rB,2");
    assert_eq!(rows(&table), [(2, vec!["A", "1"]), (3, vec!["B", "2"])]);
}

#[test]
fn empty_and_blank_lines_are_skipped_but_counted() {
    let table = csv("\n a , b \n\n1,2\n,\n  ;  \n3,4\n\n");
    assert_eq!(table.headers, ["a", "b"]);
    assert_eq!(rows(&table), [(4, vec!["1", "2"]), (6, vec![";", ""]), (7, vec!["3", "4"])]);
}

#[test]
fn short_rows_are_padded_and_extra_cells_kept() {
    let table = csv("a,b,c,,\n1\n1,2,3,4\n1,2,,,\n");
    assert_eq!(table.headers, ["a", "b", "c"]);
    assert_eq!(
        rows(&table),
        [(2, vec!["1", "", ""]), (3, vec!["1", "2", "3", "4"]), (4, vec!["1", "2", ""])]
    );
}

#[test]
fn a_header_without_rows_is_a_table_with_no_rows() {
    let table = csv("a,b");
    assert_eq!(table.headers, ["a", "b"]);
    assert!(table.rows.is_empty());
}

#[test]
fn non_utf8_text_is_refused_with_its_line() {
    // "Mã" in Windows-1258 / Latin-1: 0xE0 is "à", not valid UTF-8 on its own.
    assert_eq!(csv_error(b"M\xe0,b\n1,2\n"), ReportError::NotUtf8 { line: 1 });
    assert_eq!(csv_error(b"a,b\n1,2\nH\xe0 N\xf4i,3\n"), ReportError::NotUtf8 { line: 3 });
    assert_eq!(csv_error(b"a,b\n1,2\nH\xe0 N\xf4i,3\n").code(), "not_utf8");
}

#[test]
fn utf16_text_is_refused_as_not_utf8() {
    let utf16: Vec<u8> = "a,b\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_eq!(csv_error(&utf16), ReportError::NotUtf8 { line: 1 });
    let with_bom = [&[0xFF, 0xFE][..], &utf16].concat();
    assert_eq!(csv_error(&with_bom), ReportError::NotUtf8 { line: 1 });
}

#[test]
fn empty_files_are_refused() {
    assert_eq!(csv_error(b""), ReportError::Empty);
    assert_eq!(csv_error("\u{feff}".as_bytes()), ReportError::Empty);
    assert_eq!(csv_error(b"\r\n\n , \n"), ReportError::Empty);
}

#[test]
fn an_unclosed_quote_names_its_line() {
    assert_eq!(csv_error(b"a,b\n1,2\n3,\"open\n4,5\n"), ReportError::UnclosedQuote { line: 3 });
}

#[test]
fn too_many_rows_or_columns_are_refused() {
    let mut text = String::from("a\n");
    text.push_str(&"1\n".repeat(MAX_ROWS));
    assert_eq!(csv(&text).rows.len(), MAX_ROWS);
    text.push_str("1\n");
    assert_eq!(csv_error(text.as_bytes()), ReportError::TooManyRows { max: MAX_ROWS });

    let wide = vec!["x"; 201].join(",");
    assert_eq!(csv_error(wide.as_bytes()), ReportError::TooManyColumns { max: 200 });
    let padded = format!("{},,,,\n", vec!["x"; 200].join(","));
    assert_eq!(csv(&padded).headers.len(), 200);
}
