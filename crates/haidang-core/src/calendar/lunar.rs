//! The Vietnamese lunisolar calendar, computed from astronomy rather than tabulated: months
//! begin on the local day of the new moon, month 11 holds the winter solstice, and in a year of
//! 13 months the first month without a major solar term is the leap month.
//!
//! Vietnam reckons days at UTC+7 (since 1968), which is why its Tết sometimes differs from
//! China's (UTC+8), as in 1985. The new moon follows Meeus, *Astronomical Algorithms* (2nd ed.),
//! ch. 49, and the sun's longitude his low-accuracy formula of ch. 25; both are good to well
//! under a minute of time for the centuries around 2000, far closer than the day we need.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Vietnam's offset from UTC in hours, the one the calendar is reckoned in.
pub(crate) const VIETNAM_OFFSET_HOURS: f64 = 7.0;

/// Mean length of a lunation in days.
const SYNODIC_MONTH: f64 = 29.530_588_861;
/// Julian date of the mean new moon numbered 0 by Meeus (6 January 2000).
const NEW_MOON_EPOCH: f64 = 2_451_550.097_66;
/// Julian Day Number of 1970-01-01, to move between day numbers and jiff dates.
const UNIX_EPOCH_JDN: i64 = 2_440_588;

/// A day of the lunar calendar: `year` is the Gregorian year in which its month 1 begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LunarDate {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    /// The intercalary month that repeats the number of the month before it ("tháng nhuận").
    pub leap: bool,
}

/// The lunar date of a Gregorian date, in Vietnam. `None` only far outside any useful range.
pub fn solar_to_lunar(date: Date) -> Option<LunarDate> {
    to_lunar_at(date, VIETNAM_OFFSET_HOURS)
}

/// The Gregorian date of a lunar date, in Vietnam; `None` when that day does not exist (a 30th
/// in a 29-day month, a leap month the year does not have).
pub fn lunar_to_solar(lunar: LunarDate) -> Option<Date> {
    to_solar_at(lunar, VIETNAM_OFFSET_HOURS)
}

/// Mùng 1 tháng Giêng, the first day of the lunar year that begins in `year`.
pub fn lunar_new_year(year: i32) -> Option<Date> {
    lunar_to_solar(LunarDate { year, month: 1, day: 1, leap: false })
}

pub(crate) fn to_lunar_at(date: Date, offset_hours: f64) -> Option<LunarDate> {
    let day = day_number(date);
    let k = lunation_containing(day, offset_hours);
    let year = i32::from(date.year());
    let mut frame = Frame::of(year, offset_hours)?;
    if day < frame.start_day {
        frame = Frame::of(year - 1, offset_hours)?;
    }
    let offset = k - frame.start_k;
    let (month, leap) = frame.month_at(offset);
    let first_month = frame.offset_of(1, false)?;
    let lunar_year = if offset < first_month { frame.year } else { frame.year + 1 };
    let day_of_month = day - new_moon_day(k, offset_hours) + 1;
    Some(LunarDate { year: lunar_year, month, day: u8::try_from(day_of_month).ok()?, leap })
}

pub(crate) fn to_solar_at(lunar: LunarDate, offset_hours: f64) -> Option<Date> {
    if !(1..=12).contains(&lunar.month) || !(1..=30).contains(&lunar.day) {
        return None;
    }
    // Months 11 and 12 of a lunar year come after the solstice of the same Gregorian year;
    // months 1 to 10 belong to the frame that began at the previous year's solstice.
    let frame_year = if lunar.month >= 11 { lunar.year } else { lunar.year.checked_sub(1)? };
    let frame = Frame::of(frame_year, offset_hours)?;
    let offset = frame.offset_of(lunar.month, lunar.leap)?;
    let start = new_moon_day(frame.start_k + offset, offset_hours);
    let length = new_moon_day(frame.start_k + offset + 1, offset_hours) - start;
    if i64::from(lunar.day) > length {
        return None;
    }
    date_of_day_number(start + i64::from(lunar.day) - 1)
}

/// The lunations from month 11 of one Gregorian year (the month holding its winter solstice) up
/// to, not including, month 11 of the next: 12 months, or 13 with one leap month.
struct Frame {
    /// The Gregorian year whose solstice falls in the first month.
    year: i32,
    /// Lunation number (Meeus' k) of the first month, and its first day number.
    start_k: i64,
    start_day: i64,
    /// Position of the leap month counted from the first month (which is 0), if any.
    leap: Option<i64>,
}

impl Frame {
    fn of(year: i32, offset_hours: f64) -> Option<Frame> {
        let (start_k, start_day) = month_eleven(year, offset_hours)?;
        let (next_k, _) = month_eleven(year.checked_add(1)?, offset_hours)?;
        let leap = if next_k - start_k > 12 { leap_offset(start_k, offset_hours) } else { None };
        Some(Frame { year, start_k, start_day, leap })
    }

    /// The month number at `offset` and whether it is the leap month.
    fn month_at(&self, offset: i64) -> (u8, bool) {
        let ordinal = match self.leap {
            Some(leap) if offset >= leap => offset - 1,
            _ => offset,
        };
        // Ordinal 0 is month 11, 1 is month 12, 2 is month 1 and so on.
        let month = (10 + ordinal).rem_euclid(12) + 1;
        (u8::try_from(month).unwrap_or(1), self.leap == Some(offset))
    }

    fn offset_of(&self, month: u8, leap: bool) -> Option<i64> {
        let ordinal = (i64::from(month) - 11).rem_euclid(12);
        match self.leap {
            Some(at) if leap => (at - 1 == ordinal).then_some(at),
            None if leap => None,
            Some(at) if ordinal >= at => Some(ordinal + 1),
            _ => Some(ordinal),
        }
    }
}

/// Lunation number and first day of month 11 of `year`: the lunar month in which the winter
/// solstice (sun at 270°) falls.
fn month_eleven(year: i32, offset_hours: f64) -> Option<(i64, i64)> {
    let last_day = day_number(Date::new(i16::try_from(year).ok()?, 12, 31).ok()?);
    let mut k = ((last_day as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH).floor() as i64;
    // The new moon nearest the end of December begins month 11 unless the sun had already
    // passed 270° when its day began; then the solstice fell in the month before.
    if major_term(new_moon_day(k, offset_hours), offset_hours) >= 9 {
        k -= 1;
    }
    Some((k, new_moon_day(k, offset_hours)))
}

/// In a 13-month frame, the first month after month 11 in which the sun does not enter a new
/// 30° sector: the month without a major term is the leap month.
fn leap_offset(start_k: i64, offset_hours: f64) -> Option<i64> {
    let mut sector = major_term(new_moon_day(start_k + 1, offset_hours), offset_hours);
    for offset in 1..=12 {
        let next = major_term(new_moon_day(start_k + offset + 1, offset_hours), offset_hours);
        if next == sector {
            return Some(offset);
        }
        sector = next;
    }
    None
}

/// The number of the lunation whose first day is on or before `day` and whose successor begins
/// after it.
fn lunation_containing(day: i64, offset_hours: f64) -> i64 {
    let mut k = ((day as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH).floor() as i64;
    // The true new moon strays less than a day from the mean one: a step or two settles it.
    for _ in 0..4 {
        if new_moon_day(k, offset_hours) > day {
            k -= 1;
        } else if new_moon_day(k + 1, offset_hours) <= day {
            k += 1;
        } else {
            break;
        }
    }
    k
}

/// Day number of the local day on which new moon `k` falls.
fn new_moon_day(k: i64, offset_hours: f64) -> i64 {
    (new_moon(k) + 0.5 + offset_hours / 24.0).floor() as i64
}

/// Which 30° sector of ecliptic longitude (0 = 0°–30°, 9 = 270°–300°) the sun is in when the
/// local day `day` begins.
fn major_term(day: i64, offset_hours: f64) -> i64 {
    let midnight = day as f64 - 0.5 - offset_hours / 24.0;
    (sun_longitude(midnight) / 30.0).floor() as i64
}

/// Julian date (UT) of true new moon number `k` (k = 0 on 6 January 2000), Meeus ch. 49.
fn new_moon(k: i64) -> f64 {
    let k = k as f64;
    let t = k / 1236.85;
    let (t2, t3, t4) = (t * t, t * t * t, t * t * t * t);
    let mean =
        NEW_MOON_EPOCH + SYNODIC_MONTH * k + 0.000_154_37 * t2 - 0.000_000_150 * t3 + 0.000_000_000_73 * t4;
    // Eccentricity of the Earth's orbit, and the Sun's and Moon's anomalies, the Moon's argument of
    // latitude and the longitude of its ascending node, in degrees.
    let e = 1.0 - 0.002_516 * t - 0.000_007_4 * t2;
    let m = 2.5534 + 29.105_356_70 * k - 0.000_001_4 * t2 - 0.000_000_11 * t3;
    let mp = 201.5643 + 385.816_935_28 * k + 0.010_758_2 * t2 + 0.000_012_38 * t3 - 0.000_000_058 * t4;
    let f = 160.7108 + 390.670_502_84 * k - 0.001_611_8 * t2 - 0.000_002_27 * t3 + 0.000_000_011 * t4;
    let node = 124.7746 - 1.563_755_88 * k + 0.002_067_2 * t2 + 0.000_002_15 * t3;
    let s = |deg: f64| deg.to_radians().sin();
    let periodic = -0.40720 * s(mp)
        + 0.17241 * e * s(m)
        + 0.01608 * s(2.0 * mp)
        + 0.01039 * s(2.0 * f)
        + 0.00739 * e * s(mp - m)
        - 0.00514 * e * s(mp + m)
        + 0.00208 * e * e * s(2.0 * m)
        - 0.00111 * s(mp - 2.0 * f)
        - 0.00057 * s(mp + 2.0 * f)
        + 0.00056 * e * s(2.0 * mp + m)
        - 0.00042 * s(3.0 * mp)
        + 0.00042 * e * s(m + 2.0 * f)
        + 0.00038 * e * s(m - 2.0 * f)
        - 0.00024 * e * s(2.0 * mp - m)
        - 0.00017 * s(node)
        - 0.00007 * s(mp + 2.0 * m)
        + 0.00004 * s(2.0 * mp - 2.0 * f)
        + 0.00004 * s(3.0 * m)
        + 0.00003 * s(mp + m - 2.0 * f)
        + 0.00003 * s(2.0 * mp + 2.0 * f)
        - 0.00003 * s(mp + m + 2.0 * f)
        + 0.00003 * s(mp - m + 2.0 * f)
        - 0.00002 * s(mp - m - 2.0 * f)
        - 0.00002 * s(3.0 * mp + m)
        + 0.00002 * s(4.0 * mp);
    // The planetary arguments A2..A14 with their coefficients; A1 alone has a term in T².
    let planetary: [(f64, f64, f64); 13] = [
        (0.000_165, 251.88, 0.016_321),
        (0.000_164, 251.83, 26.651_886),
        (0.000_126, 349.42, 36.412_478),
        (0.000_110, 84.66, 18.206_239),
        (0.000_062, 141.74, 53.303_771),
        (0.000_060, 207.14, 2.453_732),
        (0.000_056, 154.84, 7.306_860),
        (0.000_047, 34.52, 27.261_239),
        (0.000_042, 207.19, 0.121_824),
        (0.000_040, 291.34, 1.844_379),
        (0.000_037, 161.72, 24.198_154),
        (0.000_035, 239.56, 25.513_099),
        (0.000_023, 331.55, 3.592_518),
    ];
    let additional = 0.000_325 * s(299.77 + 0.107_408 * k - 0.009_173 * t2)
        + planetary.iter().map(|(c, a, b)| c * s(a + b * k)).sum::<f64>();
    let dynamical = mean + periodic + additional;
    dynamical - delta_t_seconds(dynamical) / 86_400.0
}

/// Apparent ecliptic longitude of the sun in degrees [0, 360) at Julian date `jd` (UT), Meeus
/// ch. 25 (low accuracy, about 0.01°).
fn sun_longitude(jd: f64) -> f64 {
    let jde = jd + delta_t_seconds(jd) / 86_400.0;
    let t = (jde - 2_451_545.0) / 36_525.0;
    let mean_longitude = 280.466_46 + 36_000.769_83 * t + 0.000_303_2 * t * t;
    let anomaly = (357.529_11 + 35_999.050_29 * t - 0.000_153_7 * t * t).to_radians();
    let centre = (1.914_602 - 0.004_817 * t - 0.000_014 * t * t) * anomaly.sin()
        + (0.019_993 - 0.000_101 * t) * (2.0 * anomaly).sin()
        + 0.000_289 * (3.0 * anomaly).sin();
    let node = (125.04 - 1_934.136 * t).to_radians();
    let apparent = mean_longitude + centre - 0.005_69 - 0.004_78 * node.sin();
    apparent.rem_euclid(360.0)
}

/// ΔT = TT − UT in seconds near Julian date `jd`: the Espenak–Meeus polynomials. It moves an
/// instant by about a minute, which only matters for a new moon right at midnight.
fn delta_t_seconds(jd: f64) -> f64 {
    let year = 2000.0 + (jd - 2_451_545.0) / 365.25;
    let long_term = |y: f64| {
        let u = (y - 1820.0) / 100.0;
        -20.0 + 32.0 * u * u
    };
    if (1961.0..1986.0).contains(&year) {
        let t = year - 1975.0;
        45.45 + 1.067 * t - t * t / 260.0 - t * t * t / 718.0
    } else if (1986.0..2005.0).contains(&year) {
        let t = year - 2000.0;
        63.86 + 0.3345 * t - 0.060_374 * t.powi(2)
            + 0.001_727_5 * t.powi(3)
            + 0.000_651_814 * t.powi(4)
            + 0.000_023_735_99 * t.powi(5)
    } else if (2005.0..2050.0).contains(&year) {
        let t = year - 2000.0;
        62.92 + 0.322_17 * t + 0.005_589 * t * t
    } else if (2050.0..2150.0).contains(&year) {
        long_term(year) - 0.5628 * (2150.0 - year)
    } else {
        long_term(year)
    }
}

/// Julian Day Number of a Gregorian date (the JDN of 2000-01-01 is 2451545).
pub(crate) fn day_number(date: Date) -> i64 {
    let (day, month) = (i64::from(date.day()), i64::from(date.month()));
    let a = (14 - month) / 12;
    let y = i64::from(date.year()) + 4800 - a;
    let m = month + 12 * a - 3;
    day + (153 * m + 2) / 5 + 365 * y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400) - 32_045
}

pub(crate) fn date_of_day_number(day: i64) -> Option<Date> {
    let days = jiff::Span::new().try_days(day - UNIX_EPOCH_JDN).ok()?;
    Date::new(1970, 1, 1).ok()?.checked_add(days).ok()
}

#[cfg(test)]
#[path = "lunar_tests.rs"]
mod tests;
