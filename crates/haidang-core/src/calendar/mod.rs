//! The working-time calendar: which days public bodies work, their working hours, the statutory
//! holidays (lunar ones computed) and the deadline arithmetic citizen reports are held to.

mod holidays;
pub mod lunar;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

pub use holidays::{statutory_holidays, validate_year};

/// What a listed day is. A weekday not listed is worked, a Saturday or Sunday not listed is not.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A day off: a public holiday, a compensating day ("nghỉ bù") or a swapped day off.
    Holiday,
    /// A Saturday or Sunday made a working day against a day off elsewhere ("làm bù").
    WorkingDay,
}

/// One listed day of a year's calendar.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CalendarDay {
    pub date: Date,
    pub kind: DayKind,
    pub name_vi: String,
    pub name_en: String,
}

/// Saturday or Sunday, the weekly rest of public bodies.
pub(crate) fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday)
}

/// "16/02/2026", the way dates are written to Vietnamese readers.
pub(crate) fn dmy(date: Date) -> String {
    date.strftime("%d/%m/%Y").to_string()
}
