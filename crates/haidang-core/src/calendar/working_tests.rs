//! Deadlines and working time as a citizen or an officer would check them on a calendar. Every
//! expected instant is worked out by hand in the comment next to it (default hours 07:30–11:30
//! and 13:30–17:00).

use std::collections::BTreeMap;

use jiff::civil::{date, Date, Weekday};
use jiff::Timestamp;

use super::*;
use crate::calendar::validate_year;
use crate::time::local_tz;

/// The instant of a local (Vietnam) date and time.
fn at(day: Date, hour: i8, minute: i8) -> Timestamp {
    day.at(hour, minute, 0, 0)
        .to_zoned(local_tz())
        .map(|zoned| zoned.timestamp())
        .unwrap_or_else(|error| panic!("{day} {hour}:{minute}: {error}"))
}

fn statutory() -> WorkingCalendar {
    WorkingCalendar::new(WorkingHours::default(), &BTreeMap::new())
}

const HOUR: i64 = 3600;

#[test]
fn a_deadline_in_working_days_skips_tet_and_the_weekends() {
    let calendar = statutory();
    assert_eq!(date(2026, 2, 12).weekday(), Weekday::Thursday);
    let received = at(date(2026, 2, 12), 9, 0);
    // Day 1 is Friday 13/02; 14–15 are a weekend, 16–20 Tết, 21–22 a weekend; then days 2 to 5
    // are Monday 23/02 to Thursday 26/02, and the day ends at 17:00.
    assert_eq!(calendar.add_working_days(received, 5), at(date(2026, 2, 26), 17, 0));
    assert_eq!(calendar.add_working_days(received, 1), at(date(2026, 2, 13), 17, 0));
    assert_eq!(calendar.add_working_days(received, 2), at(date(2026, 2, 23), 17, 0));
}

#[test]
fn a_deadline_of_zero_days_is_the_end_of_the_day_or_of_the_next_working_day() {
    let calendar = statutory();
    // Received in working hours: the same day at 17:00.
    assert_eq!(calendar.add_working_days(at(date(2026, 2, 12), 9, 0), 0), at(date(2026, 2, 12), 17, 0));
    // Received after closing on Thursday: Friday 17:00.
    assert_eq!(calendar.add_working_days(at(date(2026, 2, 12), 17, 30), 0), at(date(2026, 2, 13), 17, 0));
    // Received on Friday 13/02 evening: the next working day is Monday 23/02, after Tết.
    assert_eq!(calendar.add_working_days(at(date(2026, 2, 13), 18, 0), 0), at(date(2026, 2, 23), 17, 0));
    // Received on a Sunday morning: Monday 17:00.
    assert_eq!(date(2026, 3, 8).weekday(), Weekday::Sunday);
    assert_eq!(calendar.add_working_days(at(date(2026, 3, 8), 8, 0), 0), at(date(2026, 3, 9), 17, 0));
}

#[test]
fn a_saturday_made_a_working_day_counts() {
    assert_eq!(date(2026, 5, 9).weekday(), Weekday::Saturday);
    assert_eq!(date(2026, 5, 8).weekday(), Weekday::Friday);
    let mut days = statutory_holidays(2026);
    days.push(CalendarDay {
        date: date(2026, 5, 9),
        kind: DayKind::WorkingDay,
        name_vi: "Làm bù".into(),
        name_en: "Make-up working day".into(),
    });
    assert!(validate_year(2026, &days).is_ok());
    let swapped = WorkingCalendar::new(WorkingHours::default(), &BTreeMap::from([(2026, days)]));
    assert!(swapped.is_working_day(date(2026, 5, 9)));
    assert!(!statutory().is_working_day(date(2026, 5, 9)));

    // One working day from Friday 08/05: the Saturday when it is worked, else Monday 11/05.
    let received = at(date(2026, 5, 8), 10, 0);
    assert_eq!(swapped.add_working_days(received, 1), at(date(2026, 5, 9), 17, 0));
    assert_eq!(statutory().add_working_days(received, 1), at(date(2026, 5, 11), 17, 0));
    // Friday 16:00 plus two hours: 1h on Friday, 1h on the Saturday morning → Saturday 08:30.
    assert_eq!(
        swapped.add_working_seconds(at(date(2026, 5, 8), 16, 0), 2 * HOUR),
        at(date(2026, 5, 9), 8, 30)
    );
}

#[test]
fn an_edited_year_replaces_the_statutory_one_entirely() {
    let only_a_swap = vec![CalendarDay {
        date: date(2026, 5, 9),
        kind: DayKind::WorkingDay,
        name_vi: "Làm bù".into(),
        name_en: "Make-up working day".into(),
    }];
    let calendar = WorkingCalendar::new(WorkingHours::default(), &BTreeMap::from([(2026, only_a_swap)]));
    // Tết is not in the kept list, so Monday 16/02/2026 is worked; 2027 is untouched.
    assert!(calendar.is_working_day(date(2026, 2, 16)));
    assert_eq!(calendar.day(date(2026, 2, 16)), None);
    assert!(!calendar.is_working_day(date(2027, 1, 1)));
}

#[test]
fn urgent_hours_run_over_the_weekend_into_monday_afternoon() {
    let calendar = statutory();
    assert_eq!(date(2026, 3, 6).weekday(), Weekday::Friday);
    // Friday 16:00–17:00 is 1h, Monday 07:30–11:30 is 4h, 13:30–16:30 the last 3h.
    assert_eq!(
        calendar.add_working_seconds(at(date(2026, 3, 6), 16, 0), 8 * HOUR),
        at(date(2026, 3, 9), 16, 30)
    );
    // Friday 24/04/2026: Monday 27/04 is the day off in lieu of Giỗ Tổ, so Tuesday 16:30.
    assert_eq!(date(2026, 4, 24).weekday(), Weekday::Friday);
    assert_eq!(
        calendar.add_working_seconds(at(date(2026, 4, 24), 16, 0), 8 * HOUR),
        at(date(2026, 4, 28), 16, 30)
    );
}

#[test]
fn working_seconds_start_at_the_next_opening_and_skip_the_lunch_break() {
    let calendar = statutory();
    let monday = date(2026, 3, 9);
    // From Saturday 10:00, one hour is Monday 07:30–08:30.
    assert_eq!(calendar.add_working_seconds(at(date(2026, 3, 7), 10, 0), HOUR), at(monday, 8, 30));
    // 11:00 plus one hour: 30 min before lunch, 30 min after → 14:00.
    assert_eq!(calendar.add_working_seconds(at(monday, 11, 0), HOUR), at(monday, 14, 0));
    // Exactly up to the lunch break ends at 11:30, not at 13:30.
    assert_eq!(calendar.add_working_seconds(at(monday, 10, 30), HOUR), at(monday, 11, 30));
    assert_eq!(calendar.add_working_seconds(at(monday, 10, 30), 0), at(monday, 10, 30));
    assert_eq!(calendar.add_working_seconds(at(monday, 10, 30), -HOUR), at(monday, 10, 30));
}

#[test]
fn working_time_between_two_instants_leaves_out_weekends_and_lunch() {
    let calendar = statutory();
    let (friday, monday) = (date(2026, 3, 6), date(2026, 3, 9));
    // Friday 16:00–17:00 (1h) + Monday 07:30–11:30 (4h) + 13:30–14:00 (0.5h).
    assert_eq!(calendar.working_seconds_between(at(friday, 16, 0), at(monday, 14, 0)), 5 * HOUR + HOUR / 2);
    // 11:00–14:00 on Monday is 30 min before lunch and 30 min after.
    assert_eq!(calendar.working_seconds_between(at(monday, 11, 0), at(monday, 14, 0)), HOUR);
    // Inside the lunch break, and backwards, nothing.
    assert_eq!(calendar.working_seconds_between(at(monday, 12, 0), at(monday, 13, 0)), 0);
    assert_eq!(calendar.working_seconds_between(at(monday, 14, 0), at(monday, 11, 0)), 0);
    // The whole Tết week of 2026 is off: Saturday 14/02 to Sunday 22/02 has no working time.
    assert_eq!(calendar.working_seconds_between(at(date(2026, 2, 14), 0, 0), at(date(2026, 2, 23), 0, 0)), 0);
}

#[test]
fn long_spans_are_walked_a_day_at_a_time_and_bounded() {
    let calendar = statutory();
    let start = at(date(2026, 3, 6), 9, 15);
    // 1000 working days of 7.5h each, there and back.
    let seconds = 1000 * 7 * HOUR + 1000 * HOUR / 2;
    let end = calendar.add_working_seconds(start, seconds);
    assert_eq!(calendar.working_seconds_between(start, end), seconds);
    // Absurd input ends at the bound, about ten years on, instead of hanging.
    let far = calendar.add_working_seconds(start, i64::MAX);
    assert!(far > end && far < at(date(2036, 6, 1), 0, 0), "{far}");
    let far = calendar.add_working_days(start, u32::MAX);
    assert!(far > end && far < at(date(2036, 6, 1), 0, 0), "{far}");
}

#[test]
fn office_hours_can_be_set_and_odd_ones_are_made_usable() {
    let hours =
        WorkingHours { intervals: vec![(13 * 60, 17 * 60), (8 * 60, 12 * 60), (11 * 60, 12 * 60 + 30)] };
    assert!(hours.validate().is_err());
    let calendar = WorkingCalendar::new(hours, &BTreeMap::new());
    assert_eq!(calendar.hours().intervals, vec![(8 * 60, 12 * 60 + 30), (13 * 60, 17 * 60)]);
    let monday = date(2026, 3, 9);
    // 08:00–12:30 is 4.5h, then 13:00–14:30 the rest of 6h.
    assert_eq!(calendar.add_working_seconds(at(monday, 7, 0), 6 * HOUR), at(monday, 14, 30));

    assert!(WorkingHours::default().validate().is_ok());
    assert!(WorkingHours { intervals: vec![] }.validate().is_err());
    assert!(WorkingHours { intervals: vec![(600, 1500)] }.validate().is_err());
    // No working time at all would leave no deadline: the default hours are used instead.
    let none = WorkingCalendar::new(WorkingHours { intervals: vec![(600, 600)] }, &BTreeMap::new());
    assert_eq!(none.hours(), &WorkingHours::default());
}

#[test]
fn the_calendar_view_lists_weekends_and_holidays() {
    let calendar = statutory();
    let off = calendar.days_off(date(2026, 2, 13), date(2026, 2, 23));
    let dates: Vec<Date> = off.iter().map(|day| day.date).collect();
    // Saturday 14/02 to Sunday 22/02: two weekends around the five days of Tết.
    let expected: Vec<Date> = (14..=22).map(|day| date(2026, 2, day)).collect();
    assert_eq!(dates, expected);
    assert_eq!(off.first().map(|day| day.holiday.is_none()), Some(true));
    assert_eq!(
        off.iter()
            .find(|day| day.date == date(2026, 2, 17))
            .and_then(|day| day.holiday.as_ref())
            .map(|h| h.name_vi.as_str()),
        Some("Tết Nguyên đán (Mùng 1)")
    );
    assert_eq!(
        calendar.day(date(2026, 4, 27)).map(|day| day.name_vi),
        Some("Nghỉ bù Giỗ Tổ Hùng Vương".to_string())
    );
    assert_eq!(calendar.day(date(2026, 3, 9)), None);
}

#[test]
fn the_ends_of_time_give_an_answer_not_a_panic() {
    let calendar = statutory();
    assert_eq!(calendar.add_working_seconds(Timestamp::MAX, HOUR), Timestamp::MAX);
    assert_eq!(calendar.add_working_days(Timestamp::MAX, 3), Timestamp::MAX);
    // Twenty thousand years are counted only as far as the bound: at most 7.5h a day.
    let counted = calendar.working_seconds_between(Timestamp::MIN, Timestamp::MAX);
    assert!(
        counted > 0 && counted <= i64::from(MAX_SPAN_DAYS) * 7 * HOUR + i64::from(MAX_SPAN_DAYS) * HOUR / 2
    );
    assert!(calendar.is_working_day(date(9999, 12, 31)));
    assert!(statutory_holidays(i16::MAX).is_empty());
    assert!(statutory_holidays(i16::MIN).is_empty());
}
