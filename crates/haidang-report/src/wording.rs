//! Every Vietnamese text the template carries, in one place so a translation pass finds them all.
//! These go into the file itself (validation messages, notes, the instructions sheet), where the
//! server's translation files cannot reach.

use crate::template::ColumnKind;

pub(crate) const ERROR_TITLE: &str = "Giá trị không hợp lệ";
pub(crate) const REQUIRED_NOTE: &str = "Bắt buộc: không được để trống.";
pub(crate) const CHOICE_RULE: &str = "Chọn một giá trị trong danh sách";
pub(crate) const DATETIME_RULE: &str =
    "Ngày giờ dạng dd/mm/yyyy hh:mm (giờ Việt Nam), ví dụ 01/12/2026 08:00";
pub(crate) const TEXT_RULE: &str = "Văn bản";
pub(crate) const NOTE_AUTHOR: &str = "Hải Đăng";

/// Lines under the title on the instructions sheet, before the caller's own lines.
pub(crate) const LEGEND: [&str; 2] = [
    "Tiêu đề cột màu đỏ là cột bắt buộc; di chuột lên tiêu đề để xem ghi chú.",
    "Dòng 2 của trang dữ liệu là dòng ví dụ (chữ nghiêng, màu xám): hãy ghi đè lên hoặc xoá dòng này.",
];
/// Headings of the column table on the instructions sheet.
pub(crate) const COLUMN_TABLE: [&str; 4] = ["Cột", "Bắt buộc", "Kiểu dữ liệu", "Ghi chú"];
pub(crate) const YES: &str = "Có";
pub(crate) const NO: &str = "Không";

/// The rule of a column as one sentence, for the input message and the instructions sheet.
pub(crate) fn kind_rule(kind: &ColumnKind) -> String {
    match kind {
        ColumnKind::Text => TEXT_RULE.to_owned(),
        ColumnKind::Integer { min, max } => number_rule("số nguyên", *min, *max),
        ColumnKind::Decimal { min, max } => number_rule("số thập phân", *min, *max),
        ColumnKind::DateTime => DATETIME_RULE.to_owned(),
        ColumnKind::Choice(_) => CHOICE_RULE.to_owned(),
    }
}

/// The instructions sheet spells the choices out, since the dropdown only shows them one cell
/// at a time.
pub(crate) fn kind_description(kind: &ColumnKind) -> String {
    match kind {
        ColumnKind::Choice(choices) => format!("{CHOICE_RULE}: {}", choices.join("; ")),
        other => kind_rule(other),
    }
}

/// The message Excel shows when a value breaks the column's validation; it names the column
/// because the dialog itself does not.
pub(crate) fn column_error(header: &str, kind: &ColumnKind) -> String {
    format!("Cột “{header}”: {}.", kind_rule(kind))
}

fn number_rule<T: std::fmt::Display>(what: &str, min: Option<T>, max: Option<T>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("Giá trị phải là {what} từ {min} đến {max}"),
        (Some(min), None) => format!("Giá trị phải là {what} không nhỏ hơn {min}"),
        (None, Some(max)) => format!("Giá trị phải là {what} không lớn hơn {max}"),
        (None, None) => format!("Giá trị phải là {what}"),
    }
}
