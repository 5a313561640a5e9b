//! Tests of the crate as a caller sees it: templates written then read back, workbooks as a user
//! leaves them, CSV as spreadsheet programs and text editors save it.

mod csv;
mod detect;
mod template;
mod xlsx;

use std::io::{Cursor, Read};

use crate::{read_table, Table, TableFormat};

fn csv(text: &str) -> Table {
    read_table(TableFormat::Csv, text.as_bytes()).unwrap()
}

/// (row number, cells) of every row, for compact assertions.
fn rows(table: &Table) -> Vec<(usize, Vec<&str>)> {
    table.rows.iter().map(|row| (row.number, row.cells.iter().map(String::as_str).collect())).collect()
}

/// One part of an XLSX archive as text.
fn xlsx_part(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    archive.by_name(name).unwrap().read_to_string(&mut text).unwrap();
    text
}
