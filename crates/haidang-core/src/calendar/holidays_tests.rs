//! The statutory holidays of years whose decisions are known, and the checks on edited lists.

use jiff::civil::{date, Date, Weekday};

use super::*;

fn dates(days: &[CalendarDay]) -> Vec<Date> {
    days.iter().map(|day| day.date).collect()
}

fn named(days: &[CalendarDay], on: Date) -> &CalendarDay {
    days.iter().find(|day| day.date == on).unwrap_or_else(|| panic!("{on} is not listed"))
}

#[test]
fn the_2026_list_has_every_holiday_of_the_law() {
    // The weekdays the expectations rest on.
    assert_eq!(date(2026, 1, 1).weekday(), Weekday::Thursday);
    assert_eq!(date(2026, 2, 16).weekday(), Weekday::Monday);
    assert_eq!(date(2026, 4, 26).weekday(), Weekday::Sunday);
    assert_eq!(date(2026, 9, 2).weekday(), Weekday::Wednesday);

    let days = statutory_holidays(2026);
    assert_eq!(
        dates(&days),
        vec![
            date(2026, 1, 1),
            // Tết: the day before Mùng 1 (17/02) through Mùng 4, Monday to Friday.
            date(2026, 2, 16),
            date(2026, 2, 17),
            date(2026, 2, 18),
            date(2026, 2, 19),
            date(2026, 2, 20),
            // Giỗ Tổ on a Sunday, made up on the Monday.
            date(2026, 4, 26),
            date(2026, 4, 27),
            date(2026, 4, 30),
            date(2026, 5, 1),
            // 2/9 on a Wednesday: the adjacent day is the Thursday.
            date(2026, 9, 2),
            date(2026, 9, 3),
        ]
    );
    assert!(days.iter().all(|day| day.kind == DayKind::Holiday));
    assert_eq!(named(&days, date(2026, 2, 17)).name_vi, "Tết Nguyên đán (Mùng 1)");
    assert_eq!(named(&days, date(2026, 2, 16)).name_en, "Lunar New Year's Eve");
    assert_eq!(named(&days, date(2026, 4, 26)).name_vi, "Giỗ Tổ Hùng Vương");
    assert_eq!(named(&days, date(2026, 4, 27)).name_vi, "Nghỉ bù Giỗ Tổ Hùng Vương");
    assert_eq!(named(&days, date(2026, 4, 27)).name_en, "Day off in lieu of Hung Kings' Commemoration Day");
}

#[test]
fn holidays_on_a_weekend_are_made_up_on_the_next_free_weekdays() {
    // 2022: 30/4 a Saturday and 1/5 a Sunday, off Monday 2/5 and Tuesday 3/5 as decided.
    let days = statutory_holidays(2022);
    assert_eq!(
        named(&days, date(2022, 5, 2)).name_vi,
        "Nghỉ bù Ngày Giải phóng miền Nam, thống nhất đất nước"
    );
    assert_eq!(named(&days, date(2022, 5, 3)).name_vi, "Nghỉ bù Ngày Quốc tế Lao động");

    // 2025: Tết from Tuesday 28/01 (29 Tết, no 30th that year) to Mùng 4 on Saturday 01/02.
    let days = statutory_holidays(2025);
    assert_eq!(named(&days, date(2025, 1, 28)).name_vi, "Tết Nguyên đán (29 Tết)");
    assert_eq!(named(&days, date(2025, 2, 3)).name_vi, "Nghỉ bù Tết Nguyên đán (Mùng 4)");
    // 2/9 on a Tuesday joins the Monday 1/9, as the Government decided.
    assert_eq!(named(&days, date(2025, 9, 1)).name_en, "National Day (adjacent day)");
    assert!(!dates(&days).contains(&date(2025, 9, 3)));

    // 2023: 2/9 on a Saturday, off Friday 1/9 and Monday 4/9 as decided.
    let days = statutory_holidays(2023);
    let september: Vec<Date> = dates(&days).into_iter().filter(|day| day.month() == 9).collect();
    assert_eq!(september, vec![date(2023, 9, 1), date(2023, 9, 2), date(2023, 9, 4)]);
}

#[test]
fn every_statutory_list_passes_the_checks_of_an_edited_one() {
    for year in 2000..=2100 {
        let days = statutory_holidays(year);
        assert!(validate_year(year, &days).is_ok(), "{year}: {:?}", validate_year(year, &days));
        // 11 days of the law and at most 7 compensating ones: 1/1, two of Tết, Giỗ Tổ, both of
        // 30/4–1/5 and one of Quốc khánh.
        assert!((11..=18).contains(&days.len()), "{year}: {} days", days.len());
    }
}

fn day(on: Date, kind: DayKind) -> CalendarDay {
    CalendarDay { date: on, kind, name_vi: "Làm bù".into(), name_en: "Make-up working day".into() }
}

fn refusal(year: i16, days: &[CalendarDay]) -> String {
    match validate_year(year, days) {
        Err(crate::CoreError::Validation { field, message }) => {
            assert_eq!(field, "days");
            message
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn edited_lists_with_impossible_days_are_refused_naming_the_day() {
    assert_eq!(date(2026, 5, 6).weekday(), Weekday::Wednesday);
    let message = refusal(2026, &[day(date(2026, 5, 6), DayKind::WorkingDay)]);
    assert!(message.contains("06/05/2026") && message.contains("Wednesday"), "{message}");

    let message = refusal(2026, &[day(date(2027, 1, 1), DayKind::Holiday)]);
    assert!(message.contains("01/01/2027") && message.contains("2026"), "{message}");

    let twice = [day(date(2026, 5, 9), DayKind::WorkingDay), day(date(2026, 5, 9), DayKind::WorkingDay)];
    assert!(refusal(2026, &twice).contains("09/05/2026"));

    let unnamed = CalendarDay { name_vi: " ".into(), ..day(date(2026, 5, 11), DayKind::Holiday) };
    assert!(refusal(2026, &[unnamed]).contains("11/05/2026"));

    // A Saturday made a working day against a Monday off is what a swap looks like.
    let swap = [day(date(2026, 5, 9), DayKind::WorkingDay), day(date(2026, 5, 4), DayKind::Holiday)];
    assert!(validate_year(2026, &swap).is_ok());
}

#[test]
fn days_are_stored_as_plain_json() {
    let swap = day(date(2026, 5, 9), DayKind::WorkingDay);
    let json = serde_json::to_value(&swap).unwrap_or_default();
    assert_eq!(json["date"], "2026-05-09");
    assert_eq!(json["kind"], "working_day");
    let back: Option<CalendarDay> = serde_json::from_value(json).ok();
    assert_eq!(back, Some(swap));
}
