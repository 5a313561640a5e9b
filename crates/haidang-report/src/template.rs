//! The downloadable form: a data sheet (headers, an example row, validations), an instructions
//! sheet, and a very hidden sheet that carries the marker and the long choice lists.

use rust_xlsxwriter::{
    check_sheet_name, worksheet_range_absolute, ColNum, Color, DocProperties, Format, FormatAlign,
    FormatBorder, Note, Workbook, Worksheet,
};

use crate::error::ReportError;
use crate::validation::{column_validation, fits_inline};
use crate::{wording, INSTRUCTIONS_SHEET, MARKER_NAME, MARKER_SHEET, MAX_COLUMNS, MAX_ROWS};

/// What one column of a form holds, for the spreadsheet's data validation.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnKind {
    Text,
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Decimal {
        min: Option<f64>,
        max: Option<f64>,
    },
    /// A date and time, typed as text "dd/mm/yyyy hh:mm" (Vietnam time) in the form.
    DateTime,
    /// One of a fixed list (a dropdown in Excel).
    Choice(Vec<String>),
}

impl ColumnKind {
    /// Kinds whose cells are formatted as text ("@"), so Excel keeps what the user types: leading
    /// zeros of codes, and dates that it would otherwise turn into serials read in the locale of
    /// the machine (01/12 is 12 January on an English Excel).
    fn is_text(&self) -> bool {
        matches!(self, ColumnKind::Text | ColumnKind::DateTime | ColumnKind::Choice(_))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateColumn {
    /// Shown in row 1, trimmed; `read_table` gives back exactly the trimmed text.
    pub header: String,
    pub kind: ColumnKind,
    /// Shown by a red header and said in the header's note; the header text itself is left alone
    /// (no "*") so that uploads' headers compare equal to the schema's.
    pub required: bool,
    /// Explains the column: a note on the header and the input message of its cells.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TemplateSpec {
    /// The data sheet's name: Excel's rules apply (at most 31 characters, none of `[]:*?/\`).
    pub sheet_name: String,
    /// Dataset name, shown on the instructions sheet and as the document title.
    pub title: String,
    /// Opaque id of the dataset and template version, read back by `read_table`.
    pub marker: String,
    pub columns: Vec<TemplateColumn>,
    /// One value per column for row 2, or empty for no example row.
    pub example: Vec<String>,
    /// Lines for the "Hướng dẫn" sheet.
    pub instructions: Vec<String>,
    /// How many rows below the header carry the data validation.
    pub data_rows: u32,
    /// Rows written from row 2 on (in place of the example): a form filled in ahead with what
    /// is owed, or an export. Numbers are written as numbers in numeric columns.
    pub prefilled: Vec<Vec<String>>,
}

const HEADER_FILL: u32 = 0xDDEBF7;
const REQUIRED_FILL: u32 = 0xFCE4D6;
const REQUIRED_FONT: u32 = 0xC00000;
const EXAMPLE_FONT: u32 = 0x808080;
const MARKER_LIMIT: usize = 255;

pub fn write_template(spec: &TemplateSpec) -> Result<Vec<u8>, ReportError> {
    check_spec(spec)?;
    let mut workbook = Workbook::new();
    let properties = DocProperties::new()
        .set_title(spec.title.as_str())
        .set_custom_property(MARKER_NAME, spec.marker.as_str());
    workbook.set_properties(&properties);
    // Sheets open in the order added: data first (active), instructions next, marker last.
    write_data_sheet(workbook.add_worksheet(), spec)?;
    write_instructions_sheet(workbook.add_worksheet(), spec)?;
    write_marker_sheet(workbook.add_worksheet(), spec)?;
    workbook.define_name(MARKER_NAME, &format!("=\"{}\"", spec.marker.replace('"', "\"\"")))?;
    Ok(workbook.save_to_buffer()?)
}

fn write_data_sheet(sheet: &mut Worksheet, spec: &TemplateSpec) -> Result<(), ReportError> {
    sheet.set_name(spec.sheet_name.as_str())?;
    sheet.set_default_note_author(wording::NOTE_AUTHOR);
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::VerticalCenter)
        .set_background_color(Color::RGB(HEADER_FILL))
        .set_border(FormatBorder::Thin);
    let required_header = header
        .clone()
        .set_font_color(Color::RGB(REQUIRED_FONT))
        .set_background_color(Color::RGB(REQUIRED_FILL));
    let example = Format::new().set_italic().set_font_color(Color::RGB(EXAMPLE_FONT));
    let example_text = example.clone().set_num_format("@");
    let text_cells = Format::new().set_num_format("@");

    for (index, column) in spec.columns.iter().enumerate() {
        let col = column_number(index)?;
        let example_value = spec.example.get(index).map(String::as_str).unwrap_or_default();
        sheet.set_column_width(col, column_width(column, example_value))?;
        if column.kind.is_text() {
            sheet.set_column_format(col, &text_cells)?;
        }
        let header_format = if column.required { &required_header } else { &header };
        sheet.write_string_with_format(0, col, column.header.trim(), header_format)?;
        if let Some(text) = header_note(column) {
            sheet.insert_note(0, col, &Note::new(text).add_author_prefix(false).set_width(320))?;
        }

        // The example stays in row 2 of the data sheet, where it shows best what to type, and
        // `read_table` returns it like any row: whether an upload that still holds it is an
        // error or a row to skip is the core's rule (it knows the example values), not a
        // property of the file format.
        if !example_value.trim().is_empty() {
            match example_number(&column.kind, example_value) {
                Some(number) => sheet.write_number_with_format(1, col, number, &example)?,
                None => sheet.write_string_with_format(1, col, example_value.trim(), &example_text)?,
            };
        }

        if spec.data_rows > 0 {
            let list_range = match &column.kind {
                ColumnKind::Choice(choices) if !fits_inline(choices) => {
                    Some(list_range(index, choices.len())?)
                }
                _ => None,
            };
            let validation = column_validation(column, list_range.as_deref())?;
            sheet.add_data_validation(1, col, spec.data_rows, col, &validation)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    let text_cells = Format::new().set_num_format("@");
    for (r, row) in spec.prefilled.iter().enumerate() {
        let at = u32::try_from(r + 1).map_err(|_| ReportError::TooManyRows { max: crate::MAX_ROWS })?;
        for (index, value) in row.iter().enumerate() {
            let col = column_number(index)?;
            let numeric = spec.columns.get(index).is_some_and(|c| !c.kind.is_text());
            match value.trim().parse::<f64>().ok().filter(|v| numeric && v.is_finite()) {
                Some(number) => sheet.write_number(at, col, number)?,
                None => sheet.write_string_with_format(at, col, value.as_str(), &text_cells)?,
            };
        }
    }
    Ok(())
}

fn write_instructions_sheet(sheet: &mut Worksheet, spec: &TemplateSpec) -> Result<(), ReportError> {
    sheet.set_name(INSTRUCTIONS_SHEET)?;
    sheet.set_column_width(0, 36)?;
    sheet.set_column_width(1, 10)?;
    sheet.set_column_width(2, 40)?;
    sheet.set_column_width(3, 60)?;
    let title = Format::new().set_bold().set_font_size(14);
    let bold = Format::new().set_bold().set_background_color(Color::RGB(HEADER_FILL));
    let wrapped = Format::new().set_text_wrap().set_align(FormatAlign::Top);

    sheet.write_string_with_format(0, 0, spec.title.trim(), &title)?;
    let mut row = 2;
    for line in
        wording::LEGEND.iter().copied().chain([""]).chain(spec.instructions.iter().map(String::as_str))
    {
        sheet.write_string(row, 0, line)?;
        row += 1;
    }
    row += 1;
    for (col, heading) in (0..).zip(wording::COLUMN_TABLE) {
        sheet.write_string_with_format(row, col, heading, &bold)?;
    }
    for column in &spec.columns {
        row += 1;
        sheet.write_string_with_format(row, 0, column.header.trim(), &wrapped)?;
        let required = if column.required { wording::YES } else { wording::NO };
        sheet.write_string_with_format(row, 1, required, &wrapped)?;
        sheet.write_string_with_format(row, 2, wording::kind_description(&column.kind), &wrapped)?;
        sheet.write_string_with_format(
            row,
            3,
            column.note.as_deref().unwrap_or_default().trim(),
            &wrapped,
        )?;
    }
    Ok(())
}

/// A1 holds the marker; column B onwards hold the choice lists too long to write inline, one
/// column per data column (data column A's list in B, and so on), at the range `list_range` names.
/// Very hidden, so Excel's "Unhide" does not offer it and nobody edits it by accident.
fn write_marker_sheet(sheet: &mut Worksheet, spec: &TemplateSpec) -> Result<(), ReportError> {
    sheet.set_name(MARKER_SHEET)?;
    sheet.write_string(0, 0, spec.marker.as_str())?;
    for (index, column) in spec.columns.iter().enumerate() {
        if let ColumnKind::Choice(choices) = &column.kind {
            if !fits_inline(choices) {
                let col = column_number(index + 1)?;
                for (row, choice) in (0..).zip(choices) {
                    sheet.write_string(row, col, choice.as_str())?;
                }
            }
        }
    }
    sheet.set_very_hidden(true);
    Ok(())
}

fn list_range(index: usize, len: usize) -> Result<String, ReportError> {
    let col = column_number(index + 1)?;
    let last_row = u32::try_from(len.saturating_sub(1))
        .map_err(|_| ReportError::InvalidSpec("a choice list is too long".to_owned()))?;
    Ok(format!("={}", worksheet_range_absolute(MARKER_SHEET, 0, col, last_row, col)))
}

fn column_number(index: usize) -> Result<ColNum, ReportError> {
    ColNum::try_from(index).map_err(|_| ReportError::InvalidSpec(format!("column {index} is out of range")))
}

fn header_note(column: &TemplateColumn) -> Option<String> {
    let note = column.note.as_deref().map(str::trim).filter(|note| !note.is_empty());
    match (column.required, note) {
        (true, Some(note)) => Some(format!("{}\n{note}", wording::REQUIRED_NOTE)),
        (true, None) => Some(wording::REQUIRED_NOTE.to_owned()),
        (false, note) => note.map(str::to_owned),
    }
}

/// Numbers are written as numbers so the example shows how a filled cell looks; an example that
/// does not parse is written as text, as given.
fn example_number(kind: &ColumnKind, value: &str) -> Option<f64> {
    let value = value.trim();
    match kind {
        ColumnKind::Integer { .. } => value.parse::<i64>().ok().map(|number| number as f64),
        ColumnKind::Decimal { .. } => value.parse::<f64>().ok().filter(|number| number.is_finite()),
        _ => None,
    }
}

/// Wide enough for the header, the example and the choices, within reason; Excel's unit is
/// roughly one digit of the default font.
fn column_width(column: &TemplateColumn, example: &str) -> f64 {
    let mut widest = column.header.chars().count().max(example.chars().count());
    match &column.kind {
        ColumnKind::Choice(choices) => {
            widest = choices.iter().map(|choice| choice.chars().count()).fold(widest, usize::max);
        }
        ColumnKind::DateTime => widest = widest.max(16),
        _ => {}
    }
    widest.saturating_add(3).clamp(10, 50) as f64
}

fn check_spec(spec: &TemplateSpec) -> Result<(), ReportError> {
    let invalid = |message: String| Err(ReportError::InvalidSpec(message));
    check_sheet_name(&spec.sheet_name).or_else(|error| invalid(error.to_string()))?;
    let lowered = spec.sheet_name.to_lowercase();
    if lowered == INSTRUCTIONS_SHEET.to_lowercase() || lowered == MARKER_SHEET {
        return invalid(format!("the sheet name {:?} is reserved", spec.sheet_name));
    }
    let marker = &spec.marker;
    if marker.trim().is_empty() || marker.trim() != marker || marker.chars().any(char::is_control) {
        return invalid("the marker must be non-empty trimmed text without control characters".to_owned());
    }
    if marker.chars().count() > MARKER_LIMIT {
        return invalid(format!("the marker is longer than {MARKER_LIMIT} characters"));
    }
    if spec.columns.is_empty() || spec.columns.len() > MAX_COLUMNS {
        return invalid(format!("a form has 1 to {MAX_COLUMNS} columns, not {}", spec.columns.len()));
    }
    if !spec.example.is_empty() && spec.example.len() != spec.columns.len() {
        return invalid(format!("{} example values for {} columns", spec.example.len(), spec.columns.len()));
    }
    if usize::try_from(spec.data_rows).map_or(true, |rows| rows > MAX_ROWS) {
        return invalid(format!("data_rows is more than {MAX_ROWS}"));
    }
    let mut seen = std::collections::HashSet::new();
    for column in &spec.columns {
        let header = column.header.trim();
        if header.is_empty() {
            return invalid("a column has an empty header".to_owned());
        }
        if !seen.insert(header.to_lowercase()) {
            return invalid(format!("two columns are headed {header:?}"));
        }
        check_kind(header, &column.kind).or_else(invalid)?;
    }
    Ok(())
}

fn check_kind(header: &str, kind: &ColumnKind) -> Result<(), String> {
    let bad = match kind {
        ColumnKind::Integer { min: Some(min), max: Some(max) } => min > max,
        ColumnKind::Decimal { min, max } => {
            min.is_some_and(|min| !min.is_finite())
                || max.is_some_and(|max| !max.is_finite())
                || matches!((min, max), (Some(min), Some(max)) if min > max)
        }
        ColumnKind::Choice(choices) => {
            choices.is_empty() || choices.iter().any(|choice| choice.trim().is_empty())
        }
        _ => false,
    };
    if bad {
        return Err(format!("column {header:?} has an empty choice list, an empty choice or bad bounds"));
    }
    Ok(())
}
