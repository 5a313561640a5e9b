//! The public holidays of civil servants by the Labour Code 2019 (art. 112), computed for any
//! year with their compensating days, and the checks a year's edited list must pass.

use std::collections::BTreeSet;

use jiff::civil::{Date, Weekday};

use super::lunar::{lunar_to_solar, solar_to_lunar, LunarDate};
use super::{dmy, is_weekend, CalendarDay, DayKind};
use crate::error::{CoreError, CoreResult};

/// How far past a holiday the compensating day is looked for; a handful of days always
/// suffices, the bound only keeps a broken list from looping.
const COMPENSATION_SEARCH_DAYS: usize = 31;

/// The law's holidays for one year, computed (lunar ones included, compensating days added), in
/// date order. The Government's yearly swaps are not here: they are edits of the year.
///
/// - Tết Dương lịch: 1 January.
/// - Tết Nguyên đán: the last day of the lunar year (29 or 30 tháng Chạp) and Mùng 1 to Mùng 4,
///   which is how the Government sets the five days in practice.
/// - Giỗ Tổ Hùng Vương: 10th day of the 3rd lunar month (never a leap month).
/// - 30 April and 1 May.
/// - Quốc khánh: 2 September and one adjacent day. The law lets the Government pick 1 or 3
///   September; the default picks the one that joins the break to a weekend, as the decisions of
///   2021–2025 did: 1/9 when 2/9 is a Tuesday, Friday or Saturday, otherwise 3/9.
/// - A holiday on a Saturday or Sunday gives a compensating day off ("nghỉ bù") on the next
///   working day that is not already off (art. 111(3)); both days are listed.
pub fn statutory_holidays(year: i16) -> Vec<CalendarDay> {
    let mut days = Vec::new();
    let mut add = |date: Option<Date>, name_vi: String, name_en: String| {
        if let Some(date) = date.filter(|date| date.year() == year) {
            days.push(CalendarDay { date, kind: DayKind::Holiday, name_vi, name_en });
        }
    };
    let solar = |month: i8, day: i8| Date::new(year, month, day).ok();

    add(solar(1, 1), "Tết Dương lịch".into(), "New Year's Day".into());

    let new_year = lunar_to_solar(LunarDate { year: i32::from(year), month: 1, day: 1, leap: false });
    if let Some(eve) = new_year.and_then(|day| day.yesterday().ok()) {
        // The eve is named by its lunar day, "29 Tết" in the years the 12th month is short.
        let last_day = solar_to_lunar(eve).map_or(30, |lunar| lunar.day);
        add(Some(eve), format!("Tết Nguyên đán ({last_day} Tết)"), "Lunar New Year's Eve".into());
    }
    for day in 1..=4 {
        let date = lunar_to_solar(LunarDate { year: i32::from(year), month: 1, day, leap: false });
        add(date, format!("Tết Nguyên đán (Mùng {day})"), format!("Lunar New Year (day {day})"));
    }

    let hung_kings = lunar_to_solar(LunarDate { year: i32::from(year), month: 3, day: 10, leap: false });
    add(hung_kings, "Giỗ Tổ Hùng Vương".into(), "Hung Kings' Commemoration Day".into());
    add(solar(4, 30), "Ngày Giải phóng miền Nam, thống nhất đất nước".into(), "Reunification Day".into());
    add(solar(5, 1), "Ngày Quốc tế Lao động".into(), "International Labour Day".into());

    if let Some(national_day) = solar(9, 2) {
        add(Some(national_day), "Quốc khánh".into(), "National Day".into());
        let adjacent = match national_day.weekday() {
            Weekday::Tuesday | Weekday::Friday | Weekday::Saturday => solar(9, 1),
            _ => solar(9, 3),
        };
        add(adjacent, "Quốc khánh (ngày liền kề)".into(), "National Day (adjacent day)".into());
    }

    days.sort_by_key(|day| day.date);
    add_compensating_days(year, days)
}

/// Adds, for each holiday on a weekend in date order, a day off on the next weekday not already
/// off; so 30/4 on a Saturday and 1/5 on a Sunday give Monday and Tuesday.
fn add_compensating_days(year: i16, holidays: Vec<CalendarDay>) -> Vec<CalendarDay> {
    let mut off: BTreeSet<Date> = holidays.iter().map(|day| day.date).collect();
    let mut compensating = Vec::new();
    for holiday in holidays.iter().filter(|day| is_weekend(day.date)) {
        let mut candidate = holiday.date;
        for _ in 0..COMPENSATION_SEARCH_DAYS {
            let Ok(next) = candidate.tomorrow() else { break };
            candidate = next;
            if !is_weekend(candidate) && !off.contains(&candidate) {
                if candidate.year() == year {
                    off.insert(candidate);
                    compensating.push(CalendarDay {
                        date: candidate,
                        kind: DayKind::Holiday,
                        name_vi: format!("Nghỉ bù {}", holiday.name_vi),
                        name_en: format!("Day off in lieu of {}", holiday.name_en),
                    });
                }
                break;
            }
        }
    }
    let mut days = holidays;
    days.extend(compensating);
    days.sort_by_key(|day| day.date);
    days
}

/// Checks one year's list as it will be kept: every date in `year`, no date twice, both names
/// given, and a working day ("làm bù") only on a Saturday or Sunday. A holiday may fall on a
/// weekend: the statutory list names such holidays next to their compensating day.
pub fn validate_year(year: i16, days: &[CalendarDay]) -> CoreResult<()> {
    let mut seen = BTreeSet::new();
    for day in days {
        let when = dmy(day.date);
        if day.date.year() != year {
            return Err(CoreError::validation("days", format!("{when} is not in the year {year}")));
        }
        if !seen.insert(day.date) {
            return Err(CoreError::validation("days", format!("{when} is listed twice")));
        }
        if day.name_vi.trim().is_empty() || day.name_en.trim().is_empty() {
            return Err(CoreError::validation(
                "days",
                format!("{when} needs a name in Vietnamese and in English"),
            ));
        }
        if day.kind == DayKind::WorkingDay && !is_weekend(day.date) {
            return Err(CoreError::validation(
                "days",
                format!(
                    "{when} is a {:?}: only a Saturday or a Sunday can be made a working day",
                    day.date.weekday()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "holidays_tests.rs"]
mod tests;
