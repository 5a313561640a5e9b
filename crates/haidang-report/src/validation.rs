//! Excel data validation for one column of the template: the dropdown or number rule, the input
//! message shown when a cell is selected, and the error naming the column. It only helps the
//! user while typing (a paste bypasses it), so the core validates every value again.

use rust_xlsxwriter::{DataValidation, DataValidationRule, Formula};

use crate::error::ReportError;
use crate::template::{ColumnKind, TemplateColumn};
use crate::wording;

/// Excel's limits, counted in UTF-16 units like rust_xlsxwriter does.
const TITLE_LIMIT: usize = 32;
const MESSAGE_LIMIT: usize = 255;
const INLINE_LIST_LIMIT: usize = 255;
/// The bound written when the schema gives none: Excel's number rules need both ends.
const UNBOUNDED: f64 = 1e307;

/// Whether a choice list can be written into the validation itself. Excel splits an inline list
/// on commas with no escape, so a choice containing one must come from a cell range as well.
pub(crate) fn fits_inline(choices: &[String]) -> bool {
    let joined: usize = choices.iter().map(|choice| utf16_len(&choice.replace('"', "\"\""))).sum();
    let commas = choices.len().saturating_sub(1);
    joined + commas <= INLINE_LIST_LIMIT && !choices.iter().any(|choice| choice.contains(','))
}

/// The validation of a column. `list_range` is the hidden-sheet range holding the choices, given
/// when `fits_inline` said no.
pub(crate) fn column_validation(
    column: &TemplateColumn,
    list_range: Option<&str>,
) -> Result<DataValidation, ReportError> {
    let validation = match &column.kind {
        ColumnKind::Text | ColumnKind::DateTime => DataValidation::new().allow_any_value(),
        ColumnKind::Integer { min, max } => {
            let to_text = |bound: i64| bound.to_string();
            DataValidation::new().allow_whole_number_formula(rule(min.map(to_text), max.map(to_text)))
        }
        ColumnKind::Decimal { min, max } => {
            DataValidation::new().allow_decimal_number_formula(rule(min.map(number), max.map(number)))
        }
        ColumnKind::Choice(choices) => match list_range {
            Some(range) => DataValidation::new().allow_list_formula(Formula::new(range)),
            None => DataValidation::new().allow_list_strings(choices)?,
        },
    };
    let mut input = wording::kind_rule(&column.kind);
    if column.required {
        input = format!("{}\n{input}", wording::REQUIRED_NOTE);
    }
    if let Some(note) = column.note.as_deref().filter(|note| !note.trim().is_empty()) {
        input = format!("{input}\n{}", note.trim());
    }
    Ok(validation
        .set_input_title(truncate(&column.header, TITLE_LIMIT))?
        .set_input_message(truncate(&input, MESSAGE_LIMIT))?
        .set_error_title(truncate(wording::ERROR_TITLE, TITLE_LIMIT))?
        .set_error_message(truncate(&wording::column_error(&column.header, &column.kind), MESSAGE_LIMIT))?)
}

fn rule(min: Option<String>, max: Option<String>) -> DataValidationRule<Formula> {
    match (min, max) {
        (Some(min), Some(max)) => DataValidationRule::Between(Formula::new(min), Formula::new(max)),
        (Some(min), None) => DataValidationRule::GreaterThanOrEqualTo(Formula::new(min)),
        (None, Some(max)) => DataValidationRule::LessThanOrEqualTo(Formula::new(max)),
        (None, None) => {
            DataValidationRule::Between(Formula::new(number(-UNBOUNDED)), Formula::new(number(UNBOUNDED)))
        }
    }
}

/// A number as Excel writes it in a formula: plain digits in the usual range, and "1E+307"
/// beyond it, because Rust's Display would spell 1e307 out in 308 digits.
pub(crate) fn number(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 || (1e-6..1e15).contains(&magnitude) {
        return value.to_string();
    }
    let scientific = format!("{value:E}");
    match scientific.split_once('E') {
        Some((mantissa, exponent)) if !exponent.starts_with('-') => format!("{mantissa}E+{exponent}"),
        _ => scientific,
    }
}

/// Cuts text to Excel's limit with an ellipsis, never inside a character.
fn truncate(text: &str, limit: usize) -> String {
    if utf16_len(text) <= limit {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 1; // the ellipsis
    for c in text.chars() {
        used += c.len_utf16();
        if used > limit {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_excel_reads_them() {
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(1e307), "1E+307");
        assert_eq!(number(-1e307), "-1E+307");
        assert_eq!(number(1e-9), "1E-9");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let cut = truncate(&"ă".repeat(40), TITLE_LIMIT);
        assert_eq!(utf16_len(&cut), TITLE_LIMIT);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("ngắn", TITLE_LIMIT), "ngắn");
    }

    #[test]
    fn choices_with_commas_or_too_long_go_to_a_range() {
        assert!(fits_inline(&["Có".to_owned(), "Không".to_owned()]));
        assert!(!fits_inline(&["Hà Nội, Việt Nam".to_owned()]));
        assert!(!fits_inline(&vec!["x".repeat(20); 20]));
    }
}
