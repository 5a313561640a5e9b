use crate::{detect_format, ReportError, TableFormat};

#[test]
fn the_extension_decides_case_insensitively() {
    assert_eq!(detect_format("bieu-mau.xlsx", b"anything"), Some(TableFormat::Xlsx));
    assert_eq!(detect_format("BIEU-MAU.XLSX", b""), Some(TableFormat::Xlsx));
    assert_eq!(detect_format("du-lieu.csv", b"a,b\n"), Some(TableFormat::Csv));
    assert_eq!(detect_format("Du-Lieu.Csv", b"a,b\n"), Some(TableFormat::Csv));
}

#[test]
fn zip_bytes_are_xlsx_whatever_the_name() {
    assert_eq!(detect_format("upload", b"PK\x03\x04rest"), Some(TableFormat::Xlsx));
    assert_eq!(detect_format("renamed.csv", b"PK\x03\x04rest"), Some(TableFormat::Xlsx));
}

#[test]
fn unknown_names_fall_back_on_the_bytes() {
    assert_eq!(detect_format("upload", "Mã,Tên\n".as_bytes()), Some(TableFormat::Csv));
    assert_eq!(detect_format("upload.bin", b"\x00\x01\x02"), None);
    assert_eq!(detect_format("upload", b""), None);
}

#[test]
fn old_and_encrypted_workbooks_go_to_the_xlsx_reader_for_its_precise_error() {
    let ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest";
    assert_eq!(detect_format("upload", ole), Some(TableFormat::Xlsx));
    assert_eq!(detect_format("old.xls", b"x"), Some(TableFormat::Xlsx));
    assert_eq!(crate::read_table(TableFormat::Xlsx, ole), Err(ReportError::UnsupportedWorkbook));
}

#[test]
fn error_codes_are_distinct() {
    let errors = [
        ReportError::NotUtf8 { line: 1 },
        ReportError::Empty,
        ReportError::UnclosedQuote { line: 1 },
        ReportError::Xlsx(String::new()),
        ReportError::UnsupportedWorkbook,
        ReportError::TooManyRows { max: 1 },
        ReportError::TooManyColumns { max: 1 },
        ReportError::InvalidSpec(String::new()),
        ReportError::Write(String::new()),
    ];
    let codes: std::collections::HashSet<_> = errors.iter().map(ReportError::code).collect();
    assert_eq!(codes.len(), errors.len());
}
