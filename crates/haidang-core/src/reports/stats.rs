//! Statistics of citizen reports (BRVT Đ6.3: received, handled...): received, verified,
//! rejected, answered and answered on time, overdue, closed, the median handling time and the
//! reporters' satisfaction, for a period, by agency, category, commune or channel. Aggregates
//! only: the same figures are public.

use jiff::Timestamp;
use serde::Serialize;

use super::service::ReportService;
use super::tally::{Tally, HOUR_BUCKETS};
use crate::accounts::{Action, Subject};
use crate::error::{CoreError, CoreResult};

/// What rows the statistics are split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    All,
    Agency,
    Category,
    Unit,
    Channel,
}

impl Group {
    pub fn parse(text: &str) -> Option<Group> {
        match text {
            "" | "all" => Some(Group::All),
            "agency" => Some(Group::Agency),
            "category" => Some(Group::Category),
            "unit" | "commune" => Some(Group::Unit),
            "channel" => Some(Group::Channel),
            _ => None,
        }
    }

    /// The split's name in the store's tallies and in the API.
    pub fn as_str(&self) -> &'static str {
        match self {
            Group::All => "all",
            Group::Agency => "agency",
            Group::Category => "category",
            Group::Unit => "unit",
            Group::Channel => "channel",
        }
    }

    /// The column the store groups by (a fixed list: never text from a request).
    pub fn column(&self) -> &'static str {
        match self {
            Group::All => "'all'",
            Group::Agency => "agency_id",
            Group::Category => "category",
            Group::Unit => "unit_code",
            Group::Channel => "channel",
        }
    }
}

/// The store's counts for one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    pub key: String,
    pub received: i64,
    /// Past intake: not waiting, not rejected, not merged.
    pub verified: i64,
    /// Rejected or merged into another report.
    pub rejected: i64,
    pub answered: i64,
    pub answered_on_time: i64,
    /// With an agency, past the deadline, clock running.
    pub overdue: i64,
    pub closed: i64,
    pub rated: i64,
    pub rating_sum: i64,
    /// How many answers took each bucket of hours (`tally::HOUR_BUCKETS`).
    #[serde(skip)]
    pub hours: [i64; HOUR_BUCKETS.len()],
}

impl Counts {
    pub fn new(key: String, t: &Tally, overdue: i64) -> Counts {
        Counts {
            key,
            received: t.received,
            verified: t.verified,
            rejected: t.rejected,
            answered: t.answered,
            answered_on_time: t.on_time,
            overdue,
            closed: t.closed,
            rated: t.rated,
            rating_sum: t.rating_sum,
            hours: t.hours,
        }
    }

    fn add(&mut self, c: &Counts) {
        self.received += c.received;
        self.verified += c.verified;
        self.rejected += c.rejected;
        self.answered += c.answered;
        self.answered_on_time += c.answered_on_time;
        self.overdue += c.overdue;
        self.closed += c.closed;
        self.rated += c.rated;
        self.rating_sum += c.rating_sum;
        for (h, o) in self.hours.iter_mut().zip(c.hours.iter()) {
            *h += o;
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StatsRow {
    #[serde(flatten)]
    pub counts: Counts,
    /// Answered on time as a share of answered, in percent.
    pub on_time_pct: Option<f64>,
    pub median_handling_hours: Option<f64>,
    /// The reporters' mean rating, 1 to 5.
    pub satisfaction: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Statistics {
    pub from: Timestamp,
    pub to: Timestamp,
    pub group: Group,
    pub total: StatsRow,
    pub rows: Vec<StatsRow>,
}

/// The median handling time, in hours, from the histogram of buckets: the middle answer's
/// bucket, read linearly within it (as a histogram's quantile is), to a tenth of an hour. An
/// answer in the last, open bucket reads as its lower bound.
fn median_hours(histogram: &[i64; HOUR_BUCKETS.len()]) -> Option<f64> {
    let n: i64 = histogram.iter().sum();
    if n == 0 {
        return None;
    }
    let middle = n as f64 / 2.0;
    let mut seen = 0;
    for (i, count) in histogram.iter().enumerate() {
        if *count > 0 && (seen + count) as f64 >= middle {
            let lower = HOUR_BUCKETS[i] as f64;
            let Some(upper) = HOUR_BUCKETS.get(i + 1) else { return Some(lower) };
            let within = (middle - seen as f64) / *count as f64;
            return Some(((lower + (*upper as f64 - lower) * within) * 10.0).round() / 10.0);
        }
        seen += count;
    }
    None
}

fn row(counts: Counts) -> StatsRow {
    let pct =
        |part: i64, whole: i64| (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0);
    StatsRow {
        on_time_pct: pct(counts.answered_on_time, counts.answered),
        median_handling_hours: median_hours(&counts.hours),
        satisfaction: (counts.rated > 0)
            .then(|| (counts.rating_sum as f64 * 100.0 / counts.rated as f64).round() / 100.0),
        counts,
    }
}

impl ReportService {
    /// The figures for the centre and leaders (and, being aggregates, the public).
    pub async fn statistics(
        &self,
        by: Option<&Subject>,
        group: Group,
        from: Timestamp,
        to: Timestamp,
    ) -> CoreResult<Statistics> {
        if let Some(s) = by {
            if !s.can_everywhere(Action::ViewCitizenReports) {
                return Err(CoreError::Forbidden("ViewCitizenReports".into()));
            }
        }
        if to <= from {
            return Err(CoreError::validation("to", "the end of the period is not after its start"));
        }
        // The tallies count local days; a period out at the calendar's ends has no days to
        // count (and no reports).
        for (field, t) in [("from", from), ("to", to)] {
            let year = t.to_zoned(crate::time::local_tz()).year();
            if !(2000..=2100).contains(&year) {
                return Err(CoreError::validation(field, "from 2000 to 2100"));
            }
        }
        let at = self.now();
        let groups = self.repo.report_counts(group, from, to, at).await?;
        let mut total = Counts { key: "all".into(), ..Counts::default() };
        for c in &groups {
            total.add(c);
        }
        let mut rows: Vec<StatsRow> = groups.into_iter().map(row).collect();
        rows.sort_by(|a, b| {
            b.counts.received.cmp(&a.counts.received).then_with(|| a.counts.key.cmp(&b.counts.key))
        });
        Ok(Statistics { from, to, group, total: row(total), rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_read_within_the_middle_answers_bucket() {
        let mut h = [0; HOUR_BUCKETS.len()];
        // Four answers in [24, 36) hours and none elsewhere: the middle is halfway through it.
        h[6] = 4;
        assert_eq!(median_hours(&h), Some(30.0));
        // One quick answer and three slow ones: the middle falls in the slow ones' bucket.
        h[0] = 1;
        h[6] = 0;
        h[12] = 3; // [168, 240)
        assert_eq!(median_hours(&h), Some(168.0 + 72.0 * (1.0 / 3.0)).map(|m| (m * 10.0_f64).round() / 10.0));
        let mut open = [0; HOUR_BUCKETS.len()];
        open[HOUR_BUCKETS.len() - 1] = 2;
        assert_eq!(median_hours(&open), Some(720.0), "the open bucket reads as its lower bound");
        assert_eq!(median_hours(&[0; HOUR_BUCKETS.len()]), None);
    }

    #[test]
    fn shares_and_satisfaction_are_rounded_for_reading() {
        let r =
            row(Counts { answered: 3, answered_on_time: 2, rated: 3, rating_sum: 13, ..Counts::default() });
        assert_eq!(r.on_time_pct, Some(66.7));
        assert_eq!(r.satisfaction, Some(4.33));
        let none = row(Counts::default());
        assert_eq!((none.on_time_pct, none.satisfaction), (None, None));
    }
}
