//! The statistics' running counts ("tallies"): what each report adds to the figures of the day it
//! was received, under each of the four splits (agency, category, commune, channel). The store
//! keeps one row per split, member and day, and moves it in the same transaction as the report,
//! by the difference between the report's contribution before and after the change. A year's
//! statistics then add up a few thousand rows instead of reading a million reports.
//!
//! Overdue is not tallied: it depends on the hour of asking, and is counted from the open
//! reports (few) when asked.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::model::{CitizenReport, ReportState};
use super::stats::Group;

/// Lower bounds, in hours, of the handling-time histogram's buckets: finer where most answers
/// fall (the first days), coarser after. The median is read within a bucket.
pub const HOUR_BUCKETS: [i64; 17] = [0, 1, 2, 4, 8, 12, 24, 36, 48, 72, 96, 120, 168, 240, 336, 480, 720];

/// The splits the store keeps a tally for.
pub const SPLITS: [Group; 4] = [Group::Agency, Group::Category, Group::Unit, Group::Channel];

/// Microseconds in a day, and the province's offset from UTC (Asia/Ho_Chi_Minh has no summer
/// time): a day of the statistics is a local calendar day.
const DAY_US: i64 = 86_400_000_000;
const OFFSET_US: i64 = 7 * 3_600_000_000;

/// The local day (days since 01/01/1970) a moment falls in.
pub fn day_of(t: Timestamp) -> i64 {
    (t.as_microsecond() + OFFSET_US).div_euclid(DAY_US)
}

/// The moment a local day starts.
pub fn day_start(day: i64) -> Timestamp {
    Timestamp::from_microsecond(day * DAY_US - OFFSET_US).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The bucket of a handling time.
pub fn bucket_of(hours: i64) -> usize {
    HOUR_BUCKETS.iter().rposition(|lower| hours >= *lower).unwrap_or(0)
}

/// One report's part of the figures, or the sum of many.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub received: i64,
    pub verified: i64,
    pub rejected: i64,
    pub answered: i64,
    pub on_time: i64,
    pub closed: i64,
    pub rated: i64,
    pub rating_sum: i64,
    pub hours: [i64; HOUR_BUCKETS.len()],
}

impl Tally {
    pub fn add(&mut self, other: &Tally, sign: i64) {
        self.received += sign * other.received;
        self.verified += sign * other.verified;
        self.rejected += sign * other.rejected;
        self.answered += sign * other.answered;
        self.on_time += sign * other.on_time;
        self.closed += sign * other.closed;
        self.rated += sign * other.rated;
        self.rating_sum += sign * other.rating_sum;
        for (h, o) in self.hours.iter_mut().zip(other.hours.iter()) {
            *h += sign * o;
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Tally::default()
    }

    /// The measures in the store's column order (after the histogram's).
    pub fn measures(&self) -> [i64; 8] {
        [
            self.received,
            self.verified,
            self.rejected,
            self.answered,
            self.on_time,
            self.closed,
            self.rated,
            self.rating_sum,
        ]
    }

    pub fn from_measures(m: [i64; 8], hours: [i64; HOUR_BUCKETS.len()]) -> Tally {
        let [received, verified, rejected, answered, on_time, closed, rated, rating_sum] = m;
        Tally { received, verified, rejected, answered, on_time, closed, rated, rating_sum, hours }
    }
}

/// The store's column names of the measures, in `Tally::measures` order.
pub const MEASURE_COLUMNS: [&str; 8] =
    ["received", "verified", "rejected", "answered", "on_time", "closed", "rated", "rating_sum"];

/// What of a report the figures depend on: the columns the store reads back to undo a report's
/// old contribution.
#[derive(Debug, Clone, PartialEq)]
pub struct TallyFacts {
    pub state: ReportState,
    pub agency_id: Option<String>,
    pub category: String,
    pub unit_code: Option<String>,
    pub channel: String,
    pub received_at: Timestamp,
    pub answered_at: Option<Timestamp>,
    pub deadline_at: Option<Timestamp>,
    pub rating: Option<i64>,
}

impl TallyFacts {
    pub fn of(r: &CitizenReport) -> TallyFacts {
        TallyFacts {
            state: r.state,
            agency_id: r.agency_id.clone(),
            category: r.category.clone(),
            unit_code: r.unit_code.clone(),
            channel: r.channel.as_str().to_string(),
            received_at: r.received_at,
            answered_at: r.answered_at,
            deadline_at: r.deadline_at,
            rating: r.rating.map(i64::from),
        }
    }

    /// The member of a split this report counts under ("" for none yet, e.g. no agency).
    pub fn member(&self, split: Group) -> &str {
        match split {
            Group::Agency => self.agency_id.as_deref().unwrap_or(""),
            Group::Category => &self.category,
            Group::Unit => self.unit_code.as_deref().unwrap_or(""),
            Group::Channel => &self.channel,
            Group::All => "all",
        }
    }

    pub fn tally(&self) -> Tally {
        let answered = self.answered_at.is_some();
        let mut hours = [0; HOUR_BUCKETS.len()];
        if let Some(a) = self.answered_at {
            let h = (a.as_microsecond() - self.received_at.as_microsecond()) / 3_600_000_000;
            hours[bucket_of(h)] = 1;
        }
        Tally {
            received: 1,
            verified: i64::from(!matches!(
                self.state,
                ReportState::Received | ReportState::Rejected | ReportState::Merged
            )),
            rejected: i64::from(matches!(self.state, ReportState::Rejected | ReportState::Merged)),
            answered: i64::from(answered),
            on_time: i64::from(match (self.answered_at, self.deadline_at) {
                (Some(a), Some(d)) => a <= d,
                _ => false,
            }),
            closed: i64::from(self.state == ReportState::Closed),
            rated: i64::from(self.rating.is_some()),
            rating_sum: self.rating.unwrap_or(0),
            hours,
        }
    }
}

/// Adds what a change moves to `cells`: the old contribution out, the new one in. Cells that
/// come to zero are dropped, so an edit that moves no figure writes nothing.
pub fn add_change(cells: &mut BTreeMap<CellKey, Tally>, old: Option<&TallyFacts>, new: Option<&TallyFacts>) {
    for (facts, sign) in [(old, -1), (new, 1)] {
        let Some(f) = facts else { continue };
        let t = f.tally();
        let day = day_of(f.received_at);
        for split in SPLITS {
            let key = CellKey { split: split.as_str(), day, member: f.member(split).to_string() };
            let cell = cells.entry(key.clone()).or_default();
            cell.add(&t, sign);
            if cell.is_zero() {
                cells.remove(&key);
            }
        }
    }
}

/// A cell's key as the store writes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CellKey {
    pub split: &'static str,
    pub day: i64,
    pub member: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(state: ReportState, agency: Option<&str>, answered_after_h: Option<i64>) -> TallyFacts {
        let received = Timestamp::from_second(1_767_225_600).unwrap(); // 01/01/2026 07:00 local
        TallyFacts {
            state,
            agency_id: agency.map(String::from),
            category: "rac-thai".into(),
            unit_code: Some("03388".into()),
            channel: "web".into(),
            received_at: received,
            answered_at: answered_after_h.map(|h| received + jiff::SignedDuration::from_hours(h)),
            deadline_at: Some(received + jiff::SignedDuration::from_hours(48)),
            rating: None,
        }
    }

    #[test]
    fn a_day_is_a_local_day() {
        // 16:59:59 UTC is 23:59:59 in Hà Nội; a second later it is the next day there.
        let before = Timestamp::from_second(1_767_286_799).unwrap();
        let after = Timestamp::from_second(1_767_286_800).unwrap();
        assert_eq!(day_of(after), day_of(before) + 1);
        assert_eq!(day_start(day_of(after)), after);
    }

    #[test]
    fn buckets_hold_their_lower_bound() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 1);
        assert_eq!(bucket_of(3), 2);
        assert_eq!(bucket_of(47), 7);
        assert_eq!(bucket_of(48), 8);
        assert_eq!(bucket_of(5000), HOUR_BUCKETS.len() - 1);
    }

    #[test]
    fn a_transfer_moves_the_report_between_agencies_and_nothing_else() {
        let mut cells = BTreeMap::new();
        let before = facts(ReportState::Assigned, Some("so-xay-dung"), None);
        let after = facts(ReportState::Assigned, Some("so-cong-thuong"), None);
        add_change(&mut cells, Some(&before), Some(&after));
        let changed: Vec<(&str, &str, i64)> =
            cells.iter().map(|(k, t)| (k.split, k.member.as_str(), t.received)).collect();
        assert_eq!(changed, vec![("agency", "so-cong-thuong", 1), ("agency", "so-xay-dung", -1)]);
    }

    #[test]
    fn an_answer_counts_once_with_its_handling_time() {
        let mut cells = BTreeMap::new();
        let before = facts(ReportState::InProgress, Some("so-xay-dung"), None);
        let after = facts(ReportState::Answered, Some("so-xay-dung"), Some(30));
        add_change(&mut cells, Some(&before), Some(&after));
        assert_eq!(cells.len(), 4, "one cell per split");
        for t in cells.values() {
            assert_eq!((t.received, t.answered, t.on_time), (0, 1, 1));
            assert_eq!(t.hours[bucket_of(30)], 1);
        }
        let mut none = BTreeMap::new();
        add_change(&mut none, Some(&after), Some(&after));
        assert!(none.is_empty(), "a change that moves no figure writes nothing");
    }
}
