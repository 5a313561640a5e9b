//! Statistics of citizen reports (BRVT Đ6.3: received, handled...): received, verified,
//! rejected, answered and answered on time, overdue, closed, the median handling time and the
//! reporters' satisfaction, for a period, by agency, category, commune or channel. Aggregates
//! only: the same figures are public.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use super::service::ReportService;
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

/// The median of a histogram of whole hours: the hour in which the middle answer falls.
fn median_hours(histogram: &BTreeMap<i64, i64>) -> Option<f64> {
    let n: i64 = histogram.values().sum();
    if n == 0 {
        return None;
    }
    let middle = (n + 1) / 2;
    let mut seen = 0;
    for (hour, count) in histogram {
        seen += count;
        if seen >= middle {
            return Some(*hour as f64);
        }
    }
    None
}

fn row(counts: Counts, histogram: Option<&BTreeMap<i64, i64>>) -> StatsRow {
    let pct =
        |part: i64, whole: i64| (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0);
    StatsRow {
        on_time_pct: pct(counts.answered_on_time, counts.answered),
        median_handling_hours: histogram.and_then(median_hours),
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
        let at = self.now();
        let mut histograms: BTreeMap<String, BTreeMap<i64, i64>> = BTreeMap::new();
        let mut total_histogram: BTreeMap<i64, i64> = BTreeMap::new();
        for (key, hour, count) in self.repo.report_handling_hours(group, from, to).await? {
            *histograms.entry(key).or_default().entry(hour).or_default() += count;
            *total_histogram.entry(hour).or_default() += count;
        }
        let groups = self.repo.report_counts(group, from, to, at).await?;
        let mut total = Counts { key: "all".into(), ..Counts::default() };
        for c in &groups {
            total.received += c.received;
            total.verified += c.verified;
            total.rejected += c.rejected;
            total.answered += c.answered;
            total.answered_on_time += c.answered_on_time;
            total.overdue += c.overdue;
            total.closed += c.closed;
            total.rated += c.rated;
            total.rating_sum += c.rating_sum;
        }
        let mut rows: Vec<StatsRow> = groups
            .into_iter()
            .map(|c| {
                let h = histograms.get(&c.key);
                row(c, h)
            })
            .collect();
        rows.sort_by(|a, b| {
            b.counts.received.cmp(&a.counts.received).then_with(|| a.counts.key.cmp(&b.counts.key))
        });
        Ok(Statistics { from, to, group, total: row(total, Some(&total_histogram)), rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_answer_hour() {
        let h: BTreeMap<i64, i64> = [(1, 2), (5, 1), (30, 2)].into_iter().collect();
        assert_eq!(median_hours(&h), Some(5.0));
        let even: BTreeMap<i64, i64> = [(2, 2), (9, 2)].into_iter().collect();
        assert_eq!(median_hours(&even), Some(2.0), "the lower middle of an even count");
        assert_eq!(median_hours(&BTreeMap::new()), None);
    }

    #[test]
    fn shares_and_satisfaction_are_rounded_for_reading() {
        let r = row(
            Counts { answered: 3, answered_on_time: 2, rated: 3, rating_sum: 13, ..Counts::default() },
            None,
        );
        assert_eq!(r.on_time_pct, Some(66.7));
        assert_eq!(r.satisfaction, Some(4.33));
        let none = row(Counts::default(), None);
        assert_eq!((none.on_time_pct, none.satisfaction), (None, None));
    }
}
