//! How the centre and the agencies respond: time to acknowledge, to verify and to close an
//! alert (median and 90th percentile, in minutes), alerts by rule, and each agency's share of
//! incident tasks done by their deadline. Read by leaders and in the monthly report.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use super::model::{Task, TaskState};
use crate::alerts::model::{Alert, AlertState};

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Durations {
    pub count: usize,
    pub median_minutes: Option<f64>,
    pub p90_minutes: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AgencyShare {
    pub org_id: String,
    /// Tasks done, and of those by their deadline.
    pub done: usize,
    pub on_time: usize,
    /// Open tasks past their deadline now.
    pub overdue: usize,
    /// on_time / done, when any were done.
    pub on_time_share: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Measures {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub alerts: usize,
    pub false_alarms: usize,
    pub to_acknowledge: Durations,
    pub to_verify: Durations,
    pub to_close: Durations,
    /// Alerts raised by each rule ("external" for other systems' alerts).
    pub by_rule: BTreeMap<String, usize>,
    pub agencies: Vec<AgencyShare>,
}

fn durations(mut minutes: Vec<f64>) -> Durations {
    minutes.sort_by(f64::total_cmp);
    let at = |q: f64| -> Option<f64> {
        if minutes.is_empty() {
            return None;
        }
        let i = ((minutes.len() as f64 - 1.0) * q).round() as usize;
        minutes.get(i).map(|m| (m * 10.0).round() / 10.0)
    };
    Durations { count: minutes.len(), median_minutes: at(0.5), p90_minutes: at(0.9) }
}

fn minutes(from: Timestamp, to: Option<Timestamp>) -> Option<f64> {
    to.map(|t| t.duration_since(from).as_secs_f64() / 60.0).filter(|m| *m >= 0.0)
}

/// The measures over alerts raised and tasks given in the period, as of `now`.
pub fn measure(
    alerts: &[Alert],
    tasks: &[Task],
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    now: Timestamp,
) -> Measures {
    let within = |t: Timestamp| from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e);
    let alerts: Vec<&Alert> = alerts.iter().filter(|a| within(a.raised_at)).collect();
    let mut by_rule = BTreeMap::new();
    for a in &alerts {
        *by_rule.entry(a.rule_id.clone().unwrap_or_else(|| "external".into())).or_insert(0) += 1;
    }
    let mut agencies: BTreeMap<String, AgencyShare> = BTreeMap::new();
    for t in tasks.iter().filter(|t| within(t.created_at)) {
        let share = agencies
            .entry(t.org_id.clone())
            .or_insert_with(|| AgencyShare { org_id: t.org_id.clone(), ..AgencyShare::default() });
        if t.state == TaskState::Done {
            share.done += 1;
            share.on_time += usize::from(t.on_time() == Some(true));
        }
        share.overdue += usize::from(t.is_overdue(now));
    }
    let agencies = agencies
        .into_values()
        .map(|mut s| {
            s.on_time_share = (s.done > 0).then(|| s.on_time as f64 / s.done as f64);
            s
        })
        .collect();
    Measures {
        from,
        to,
        alerts: alerts.len(),
        false_alarms: alerts.iter().filter(|a| a.state == AlertState::Dismissed).count(),
        to_acknowledge: durations(
            alerts.iter().filter_map(|a| minutes(a.raised_at, a.acknowledged_at)).collect(),
        ),
        to_verify: durations(alerts.iter().filter_map(|a| minutes(a.raised_at, a.verified_at)).collect()),
        to_close: durations(alerts.iter().filter_map(|a| minutes(a.raised_at, a.closed_at)).collect()),
        by_rule,
        agencies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles_of_minutes() {
        let d = durations(vec![5.0, 1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 7.0, 8.0, 9.0]);
        assert_eq!((d.count, d.median_minutes, d.p90_minutes), (10, Some(6.0), Some(9.0)));
        assert_eq!(durations(vec![]).median_minutes, None);
    }
}
