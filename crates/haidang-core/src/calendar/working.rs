//! Working time in Vietnam: which days are worked given the year's holidays and swaps, and the
//! deadline arithmetic on them (working days, working seconds), all in local time.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{is_weekend, statutory_holidays, CalendarDay, DayKind, WorkingHours};

/// The furthest any computation walks from its start, about ten years: a deadline or a span
/// further out is cut there rather than let bad input keep a request busy.
pub const MAX_SPAN_DAYS: u32 = 3660;

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SECOND;

/// One year's listed days by date.
type YearDays = Arc<BTreeMap<Date, CalendarDay>>;

/// A day off shown in the console's calendar view.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct DayOff {
    pub date: Date,
    /// The holiday that makes it a day off; `None` for an ordinary Saturday or Sunday.
    pub holiday: Option<CalendarDay>,
}

/// The working days and hours public bodies keep. Years with an edited list use it as kept;
/// every other year uses the statutory holidays, computed the first time the year is needed.
#[derive(Debug)]
pub struct WorkingCalendar {
    hours: WorkingHours,
    /// The working intervals in nanoseconds of the local day.
    intervals: Vec<(i64, i64)>,
    edited: BTreeMap<i16, YearDays>,
    statutory: Mutex<HashMap<i16, YearDays>>,
    tz: TimeZone,
}

impl Clone for WorkingCalendar {
    fn clone(&self) -> Self {
        WorkingCalendar {
            hours: self.hours.clone(),
            intervals: self.intervals.clone(),
            edited: self.edited.clone(),
            statutory: Mutex::new(self.statutory.lock().unwrap_or_else(PoisonError::into_inner).clone()),
            tz: self.tz.clone(),
        }
    }
}

impl WorkingCalendar {
    /// `edited`: the kept lists by year, each replacing that year's statutory list entirely;
    /// entries dated outside their year are ignored (`validate_year` refuses them on saving).
    /// Hours are normalized (sorted, merged, clipped to the day); hours with no working time
    /// at all fall back to the default so that a deadline always exists.
    pub fn new(hours: WorkingHours, edited: &BTreeMap<i16, Vec<CalendarDay>>) -> WorkingCalendar {
        let mut normalized = hours.normalized();
        if normalized.is_empty() {
            tracing::warn!(?hours, "working hours without working time; using the default hours");
            normalized = WorkingHours::default().intervals;
        }
        let intervals = normalized
            .iter()
            .map(|&(start, end)| (i64::from(start) * NANOS_PER_MINUTE, i64::from(end) * NANOS_PER_MINUTE))
            .collect();
        let edited = edited
            .iter()
            .map(|(&year, days)| {
                let by_date = days
                    .iter()
                    .filter(|day| day.date.year() == year)
                    .map(|day| (day.date, day.clone()))
                    .collect();
                (year, Arc::new(by_date))
            })
            .collect();
        WorkingCalendar {
            hours: WorkingHours { intervals: normalized },
            intervals,
            edited,
            statutory: Mutex::new(HashMap::new()),
            tz: crate::time::local_tz(),
        }
    }

    /// The working hours in use, normalized.
    pub fn hours(&self) -> &WorkingHours {
        &self.hours
    }

    /// A weekday that is not a holiday, or a weekend day made a working day.
    pub fn is_working_day(&self, date: Date) -> bool {
        match self.kind(date) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::WorkingDay) => true,
            None => !is_weekend(date),
        }
    }

    /// The holiday or working-day entry of `date`, if it is listed.
    pub fn day(&self, date: Date) -> Option<CalendarDay> {
        self.year(date.year()).get(&date).cloned()
    }

    /// The deadline `days` working days after `start`. The day of receipt does not count: the
    /// count starts on the next working day after the start's local date, and the deadline is
    /// the end of the last working interval of the `days`-th working day. With `days` = 0 it is
    /// the end of the start day's working hours if the start is a working day before that end,
    /// else the end of the next working day.
    pub fn add_working_days(&self, start: Timestamp, days: u32) -> Timestamp {
        let (date, position) = self.local(start);
        if days == 0 {
            if self.is_working_day(date) && position < self.closing() {
                return self.instant(date, self.closing());
            }
            return self.end_of_working_day_after(date, 1);
        }
        self.end_of_working_day_after(date, days)
    }

    /// `start` plus `seconds` of working time: only time inside the working intervals of working
    /// days counts. A start outside working time begins at the next opening; a result at the
    /// end of an interval stays there (11:30, not 13:30). Zero or negative `seconds` leave
    /// `start` as it is.
    pub fn add_working_seconds(&self, start: Timestamp, seconds: i64) -> Timestamp {
        if seconds <= 0 {
            return start;
        }
        let mut remaining = seconds.saturating_mul(NANOS_PER_SECOND);
        let (mut date, mut position) = self.local(start);
        // One step per day, so even a year of working time is a few hundred steps.
        for _ in 0..=MAX_SPAN_DAYS {
            if self.is_working_day(date) {
                for &(open, close) in &self.intervals {
                    if position >= close {
                        continue;
                    }
                    let from = position.max(open);
                    let available = close - from;
                    if remaining <= available {
                        return self.instant(date, from + remaining);
                    }
                    remaining -= available;
                    position = close;
                }
            }
            let Ok(next) = date.tomorrow() else { return Timestamp::MAX };
            (date, position) = (next, 0);
        }
        self.instant(date, 0)
    }

    /// Working time between two instants in seconds, 0 if `b` <= `a`. A span longer than
    /// `MAX_SPAN_DAYS` counts its first `MAX_SPAN_DAYS` days only.
    pub fn working_seconds_between(&self, a: Timestamp, b: Timestamp) -> i64 {
        if b <= a {
            return 0;
        }
        let (mut date, mut position) = self.local(a);
        let (end_date, end_position) = self.local(b);
        let mut total = 0_i64;
        for _ in 0..=MAX_SPAN_DAYS {
            let limit = if date == end_date { end_position } else { i64::MAX };
            if self.is_working_day(date) {
                for &(open, close) in &self.intervals {
                    let (from, to) = (position.max(open), close.min(limit));
                    if to > from {
                        total += to - from;
                    }
                }
            }
            if date >= end_date {
                break;
            }
            let Ok(next) = date.tomorrow() else { break };
            (date, position) = (next, 0);
        }
        total / NANOS_PER_SECOND
    }

    /// Days off between two dates inclusive (holidays, and weekends not made working days), for
    /// the console's calendar view; at most `MAX_SPAN_DAYS` days from `from`.
    pub fn days_off(&self, from: Date, to: Date) -> Vec<DayOff> {
        let mut days = Vec::new();
        let mut date = from;
        for _ in 0..MAX_SPAN_DAYS {
            if date > to {
                break;
            }
            if !self.is_working_day(date) {
                let holiday = self.day(date).filter(|day| day.kind == DayKind::Holiday);
                days.push(DayOff { date, holiday });
            }
            let Ok(next) = date.tomorrow() else { break };
            date = next;
        }
        days
    }

    fn kind(&self, date: Date) -> Option<DayKind> {
        self.year(date.year()).get(&date).map(|day| day.kind)
    }

    fn year(&self, year: i16) -> YearDays {
        if let Some(days) = self.edited.get(&year) {
            return Arc::clone(days);
        }
        let mut cache = self.statutory.lock().unwrap_or_else(PoisonError::into_inner);
        let days = cache.entry(year).or_insert_with(|| {
            Arc::new(statutory_holidays(year).into_iter().map(|day| (day.date, day)).collect())
        });
        Arc::clone(days)
    }

    /// The end of the `n`-th working day after `date` (n >= 1), or of the day the walk stops at.
    fn end_of_working_day_after(&self, date: Date, n: u32) -> Timestamp {
        let mut day = date;
        let mut counted = 0;
        for _ in 0..MAX_SPAN_DAYS {
            let Ok(next) = day.tomorrow() else { return Timestamp::MAX };
            day = next;
            if self.is_working_day(day) {
                counted += 1;
                if counted >= n {
                    break;
                }
            }
        }
        self.instant(day, self.closing())
    }

    /// When the last working interval of a day ends, in nanoseconds of the day.
    fn closing(&self) -> i64 {
        self.intervals.last().map_or(0, |&(_, close)| close)
    }

    /// The local date of an instant and how far into that day it is, in nanoseconds.
    fn local(&self, instant: Timestamp) -> (Date, i64) {
        let local = self.tz.to_datetime(instant);
        let time = local.time();
        let seconds =
            i64::from(time.hour()) * 3600 + i64::from(time.minute()) * 60 + i64::from(time.second());
        (local.date(), seconds * NANOS_PER_SECOND + i64::from(time.subsec_nanosecond()))
    }

    /// The instant `nanos` into the local day `date`; the end of time if that is out of range.
    fn instant(&self, date: Date, nanos: i64) -> Timestamp {
        self.tz
            .to_timestamp(date.to_datetime(Time::midnight()))
            .and_then(|midnight| midnight.checked_add(SignedDuration::from_nanos(nanos)))
            .unwrap_or(Timestamp::MAX)
    }
}

#[cfg(test)]
#[path = "working_tests.rs"]
mod tests;
