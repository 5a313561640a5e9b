//! The working-time calendar: which days public bodies work, their working hours, the statutory
//! holidays (lunar ones computed) and the deadline arithmetic citizen reports are held to.

mod holidays;
pub mod lunar;
mod working;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};

pub use holidays::{statutory_holidays, validate_year};
pub use working::{DayOff, WorkingCalendar, MAX_SPAN_DAYS};

/// Minutes in a day: the largest value an interval may end at.
const MINUTES_PER_DAY: u16 = 24 * 60;

/// Office hours on a working day as (start, end) minutes of the local day, sorted and not
/// overlapping. The default is the usual 07:30–11:30 and 13:30–17:00.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WorkingHours {
    pub intervals: Vec<(u16, u16)>,
}

impl Default for WorkingHours {
    fn default() -> Self {
        WorkingHours { intervals: vec![(7 * 60 + 30, 11 * 60 + 30), (13 * 60 + 30, 17 * 60)] }
    }
}

impl WorkingHours {
    /// At least one interval; each starts before it ends, ends by midnight and begins after the
    /// previous one ended.
    pub fn validate(&self) -> CoreResult<()> {
        if self.intervals.is_empty() {
            return Err(CoreError::validation("working_hours", "at least one working interval is needed"));
        }
        let mut previous_end = 0;
        for (index, &(start, end)) in self.intervals.iter().enumerate() {
            let label = format!("{}–{}", clock(start), clock(end));
            if start >= end || end > MINUTES_PER_DAY {
                return Err(CoreError::validation(
                    "working_hours",
                    format!("{label} must start before it ends, within one day"),
                ));
            }
            if index > 0 && start < previous_end {
                return Err(CoreError::validation(
                    "working_hours",
                    format!("{label} must begin after the interval before it ends"),
                ));
            }
            previous_end = end;
        }
        Ok(())
    }

    /// The intervals made usable whatever was stored: clipped to the day, empty ones dropped,
    /// sorted and overlapping ones merged.
    pub(crate) fn normalized(&self) -> Vec<(u16, u16)> {
        let mut intervals: Vec<(u16, u16)> = self
            .intervals
            .iter()
            .map(|&(start, end)| (start.min(MINUTES_PER_DAY), end.min(MINUTES_PER_DAY)))
            .filter(|(start, end)| start < end)
            .collect();
        intervals.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(intervals.len());
        for (start, end) in intervals {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
}

fn clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

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
