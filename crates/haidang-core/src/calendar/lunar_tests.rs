//! The lunar calendar against dates printed in Vietnamese calendars.

use jiff::civil::{date, Date};

use super::*;

fn lunar(year: i32, month: u8, day: u8) -> LunarDate {
    LunarDate { year, month, day, leap: false }
}

#[test]
fn day_numbers_agree_with_the_astronomers_and_with_jiff() {
    assert_eq!(day_number(date(2000, 1, 1)), 2_451_545);
    assert_eq!(day_number(date(1970, 1, 1)), UNIX_EPOCH_JDN);
    let mut day = date(1899, 12, 25);
    for _ in 0..2000 {
        assert_eq!(date_of_day_number(day_number(day)), Some(day));
        let Ok(next) = day.checked_add(jiff::Span::new().days(37)) else { panic!("{day} + 37 days") };
        assert_eq!(day_number(next) - day_number(day), 37);
        day = next;
    }
}

#[test]
fn tet_falls_on_the_dates_of_the_vietnamese_calendar() {
    let known = [
        (2020, date(2020, 1, 25)),
        (2023, date(2023, 1, 22)),
        (2024, date(2024, 2, 10)),
        (2025, date(2025, 1, 29)),
        (2026, date(2026, 2, 17)),
        (2027, date(2027, 2, 6)),
        (2028, date(2028, 1, 26)),
        (2029, date(2029, 2, 13)),
    ];
    for (year, tet) in known {
        assert_eq!(lunar_new_year(year), Some(tet), "Tết {year}");
        assert_eq!(solar_to_lunar(tet), Some(lunar(year, 1, 1)), "{tet}");
    }
}

#[test]
fn hung_kings_day_is_the_tenth_of_the_third_month() {
    for (year, day) in [
        (2023, date(2023, 4, 29)),
        (2024, date(2024, 4, 18)),
        (2025, date(2025, 4, 7)),
        (2026, date(2026, 4, 26)),
    ] {
        assert_eq!(lunar_to_solar(lunar(year, 3, 10)), Some(day), "Giỗ Tổ {year}");
    }
}

#[test]
fn tet_2007_and_2030_are_a_day_earlier_in_vietnam_than_in_china() {
    // The new moons fell at about 16:10 UTC: before midnight at UTC+7, after it at UTC+8.
    for (year, vietnam, china) in
        [(2007, date(2007, 2, 17), date(2007, 2, 18)), (2030, date(2030, 2, 2), date(2030, 2, 3))]
    {
        assert_eq!(lunar_new_year(year), Some(vietnam), "Tết {year}");
        assert_eq!(to_solar_at(lunar(year, 1, 1), 8.0), Some(china), "Chinese New Year {year}");
    }
}

#[test]
fn tet_1985_is_a_month_earlier_in_vietnam_than_in_china() {
    // The time zone alone moves the solstice's new moon across midnight and with it month 11.
    assert_eq!(lunar_new_year(1985), Some(date(1985, 1, 21)));
    assert_eq!(to_solar_at(lunar(1985, 1, 1), 8.0), Some(date(1985, 2, 20)));
}

#[test]
fn leap_months_are_where_the_calendar_puts_them() {
    // Quý Mão 2023 repeated month 2, Canh Tý 2020 month 4, Ất Tỵ 2025 month 6.
    for (year, month, first_day) in
        [(2023, 2, date(2023, 3, 22)), (2020, 4, date(2020, 5, 23)), (2025, 6, date(2025, 7, 25))]
    {
        let leap = LunarDate { year, month, day: 1, leap: true };
        assert_eq!(lunar_to_solar(leap), Some(first_day), "leap month {month} of {year}");
        assert_eq!(solar_to_lunar(first_day), Some(leap));
    }
    // A year without that leap month has no such day.
    assert_eq!(lunar_to_solar(LunarDate { year: 2024, month: 2, day: 1, leap: true }), None);
}

#[test]
fn the_last_day_of_the_year_is_the_29th_or_the_30th() {
    // 2024 had a "30 Tết"; 2025 famously did not.
    assert_eq!(solar_to_lunar(date(2024, 2, 9)), Some(lunar(2023, 12, 30)));
    assert_eq!(solar_to_lunar(date(2025, 1, 28)), Some(lunar(2024, 12, 29)));
    assert_eq!(lunar_to_solar(lunar(2024, 12, 30)), None);
}

#[test]
fn every_tet_from_1900_to_2100_is_late_january_or_february() {
    let mut previous: Option<Date> = None;
    for year in 1900..=2100 {
        let Some(tet) = lunar_new_year(year) else { panic!("no Tết in {year}") };
        assert!(tet >= date(tet.year(), 1, 20) && tet <= date(tet.year(), 2, 21), "Tết {year}: {tet}");
        assert_eq!(i32::from(tet.year()), year);
        if let Some(previous) = previous {
            // 12 or 13 lunations after the one before.
            let days = day_number(tet) - day_number(previous);
            assert!(
                days == 354 || days == 355 || days == 353 || (383..=385).contains(&days),
                "{year}: {days}"
            );
        }
        previous = Some(tet);
    }
}

#[test]
fn consecutive_days_step_through_the_months_and_back() {
    let mut day = date(2019, 12, 1);
    let Some(mut before) = solar_to_lunar(day) else { panic!("no lunar date for {day}") };
    while day < date(2031, 3, 1) {
        let Ok(next) = day.tomorrow() else { panic!("no day after {day}") };
        let Some(now) = solar_to_lunar(next) else { panic!("no lunar date for {next}") };
        assert_eq!(lunar_to_solar(now), Some(next), "{now:?}");
        if now.day == 1 {
            assert!(before.day == 29 || before.day == 30, "{day}: {before:?} then {now:?}");
        } else {
            assert_eq!(
                (now.year, now.month, now.day, now.leap),
                (before.year, before.month, before.day + 1, before.leap)
            );
        }
        (day, before) = (next, now);
    }
}

#[test]
fn impossible_lunar_dates_are_refused() {
    assert_eq!(lunar_to_solar(lunar(2026, 13, 1)), None);
    assert_eq!(lunar_to_solar(lunar(2026, 0, 1)), None);
    assert_eq!(lunar_to_solar(lunar(2026, 1, 31)), None);
    assert_eq!(lunar_to_solar(lunar(2026, 1, 0)), None);
}
