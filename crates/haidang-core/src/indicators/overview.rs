//! What leaders read first: every indicator's standing at the province in its latest period,
//! with the year-end forecast, grouped by sector with counts on track, at risk and off track.

use jiff::civil::Date;
use serde::Serialize;

use super::achievement::{self, Measure, Status};
use super::evaluate::{Evaluation, Evaluator};
use super::forecast::Forecast;
use super::model::{Accumulation, GROUPS};
use super::service::IndicatorService;
use crate::accounts::{Action, Subject};
use crate::error::CoreResult;

#[derive(Debug, Clone, Serialize)]
pub struct Standing {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub group: String,
    pub unit: String,
    pub evaluation: Option<Evaluation>,
    pub forecast: Option<Forecast>,
    /// How the forecast year-end meets the year's target.
    pub forecast_achievement: Option<f64>,
    pub forecast_status: Option<Status>,
}

impl Standing {
    pub fn status(&self) -> Status {
        self.evaluation.as_ref().map(|e| e.status).unwrap_or(Status::NoData)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupSummary {
    pub group: String,
    pub on_track: usize,
    pub at_risk: usize,
    pub off_track: usize,
    pub no_target: usize,
    pub no_data: usize,
    pub indicators: Vec<Standing>,
}

/// The standing of one indicator in a unit on `day`.
pub fn standing(ev: &Evaluator, code: &str, unit: &str, day: Date) -> Option<Standing> {
    let book = ev.book();
    let ind = book.indicator(code)?;
    let def = ind.current()?;
    let period = ev.latest(code, unit, day);
    let evaluation = period.and_then(|p| ev.evaluate(code, unit, &p));
    let forecast = period.and_then(|p| ev.forecast(code, unit, &p));
    let (mut fa, mut fs) = (None, None);
    if let (Some(f), Some(p)) = (&forecast, period) {
        if let Some(t) = book.target(code, p.year, unit) {
            let last_period = super::period::Period { index: p.kind.per_year(), ..p };
            let m = Measure {
                kind: def.target_kind,
                direction: def.direction,
                measured: f.year_end,
                target: t.value,
                share_of_year: 1.0,
                cumulative: def.accumulation == Accumulation::Cumulative,
                last_year: evaluation.as_ref().and_then(|_| {
                    let last = last_period.same_last_year();
                    ev.evaluate(code, unit, &last).and_then(|e| e.to_date.or(e.value))
                }),
                // A reduction starts from last year's end unless the target names its baseline.
                baseline: t.baseline.or_else(|| {
                    let end_of_last_year = super::period::Period { year: p.year - 1, ..last_period };
                    ev.evaluate(code, unit, &end_of_last_year).and_then(|e| e.value)
                }),
            };
            fa = achievement::achievement(&m);
            fs = Some(achievement::status(&m, fa, &def.bands));
        }
    }
    Some(Standing {
        code: code.to_string(),
        name_vi: def.name_vi.clone(),
        name_en: def.name_en.clone(),
        group: def.group.clone(),
        unit: def.unit.clone(),
        evaluation,
        forecast,
        forecast_achievement: fa,
        forecast_status: fs,
    })
}

impl IndicatorService {
    /// Every group with its indicators' standing at the province on `day`.
    pub fn overview(&self, by: &Subject, day: Date) -> CoreResult<Vec<GroupSummary>> {
        by.require(Action::ReadData, None)?;
        let book = self.book();
        let ev = Evaluator::new(&book);
        let mut groups: Vec<GroupSummary> = Vec::new();
        for ind in book.indicators().filter(|i| !i.retired) {
            let Some(s) = standing(&ev, &ind.code, &book.province, day) else { continue };
            let g = match groups.iter_mut().position(|g| g.group == s.group) {
                Some(i) => &mut groups[i],
                None => {
                    groups.push(GroupSummary {
                        group: s.group.clone(),
                        on_track: 0,
                        at_risk: 0,
                        off_track: 0,
                        no_target: 0,
                        no_data: 0,
                        indicators: vec![],
                    });
                    let last = groups.len() - 1;
                    &mut groups[last]
                }
            };
            match s.status() {
                Status::OnTrack => g.on_track += 1,
                Status::AtRisk => g.at_risk += 1,
                Status::OffTrack => g.off_track += 1,
                Status::NoTarget => g.no_target += 1,
                Status::NoData => g.no_data += 1,
            }
            g.indicators.push(s);
        }
        groups.sort_by_key(|g| GROUPS.iter().position(|x| *x == g.group).unwrap_or(usize::MAX));
        Ok(groups)
    }

    /// One indicator's standing in a unit (the province by default).
    pub fn standing(&self, by: &Subject, code: &str, unit: Option<&str>, day: Date) -> CoreResult<Standing> {
        by.require(Action::ReadData, None)?;
        let book = self.book();
        let unit = unit.unwrap_or(&book.province).to_string();
        standing(&Evaluator::new(&book), code, &unit, day)
            .ok_or_else(|| crate::error::CoreError::not_found(format!("indicator '{code}'")))
    }
}
