//! Evaluation: every indicator, unit and period against its target. A figure is the approved
//! actual, else the approved estimate; a province figure of a commune-level indicator is the
//! communes' rollup; a derived indicator's is its formula over the others. Each (indicator, unit)
//! series is computed once per evaluator over the book's years and reused, which is what keeps a
//! whole catalog's evaluation well under a second.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use jiff::civil::Date;
use serde::Serialize;

use super::achievement::{self, Measure, Status};
use super::book::{combine, Book};
use super::forecast::{self, Forecast};
use super::model::{Accumulation, Definition, Level, Rollup, TargetKind};
use super::period::{Period, PeriodKind};

/// Where a figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Actual,
    Estimate,
    /// Back-cast from the units this one succeeded.
    BackCast,
    /// The communes' figures added up.
    Rollup,
    Formula,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figure {
    pub value: f64,
    pub basis: Basis,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub code: String,
    pub unit_code: String,
    pub period: Period,
    pub version: u32,
    /// The period's own figure.
    pub value: Option<f64>,
    pub basis: Option<Basis>,
    /// Cumulative indicators: the year to date ("lũy kế").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_date: Option<f64>,
    /// Periods of the year to date with no figure (the year to date is then understated).
    pub missing_periods: u8,
    /// The same period of last year, measured the same way (year to date when cumulative).
    pub same_period_last_year: Option<f64>,
    /// Change against it, in %.
    pub change_pct: Option<f64>,
    pub plan: Option<f64>,
    pub estimate: Option<f64>,
    pub actual: Option<f64>,
    pub target: Option<f64>,
    /// What was expected by now (the pro-rated target for a cumulative indicator).
    pub expected: Option<f64>,
    pub achievement: Option<f64>,
    pub status: Status,
}

/// How deep formulas may refer to formulas (the catalog refuses cycles; this guards the rest).
const MAX_DEPTH: u32 = 32;

type Series = Rc<Vec<Option<Figure>>>;

pub struct Evaluator<'a> {
    book: &'a Book,
    first_year: i16,
    memo: RefCell<HashMap<(u32, u16), Series>>,
    /// Set while computing a series that reached the depth guard: such a series is not kept,
    /// so what is evaluated first never changes what is evaluated next.
    cut: std::cell::Cell<bool>,
}

impl<'a> Evaluator<'a> {
    pub fn new(book: &'a Book) -> Evaluator<'a> {
        // From the book's first year: nothing is recorded before it.
        Evaluator {
            book,
            first_year: book.years().0,
            memo: RefCell::new(HashMap::new()),
            cut: std::cell::Cell::new(false),
        }
    }

    fn slots(&self, kind: PeriodKind) -> usize {
        let (a, b) = self.book.years();
        (b - a + 1).max(0) as usize * usize::from(kind.per_year())
    }

    fn slot(&self, p: &Period) -> Option<usize> {
        let years = p.year.checked_sub(self.first_year)?;
        (years >= 0).then(|| years as usize * usize::from(p.kind.per_year()) + usize::from(p.index) - 1)
    }

    fn period_at(&self, kind: PeriodKind, slot: usize) -> Period {
        let per = usize::from(kind.per_year());
        Period { year: self.first_year + (slot / per) as i16, kind, index: (slot % per) as u8 + 1 }
    }

    /// The indicator's figures in a unit over the book's years.
    fn series(&self, ci: u32, ui: u16, depth: u32) -> Series {
        if let Some(s) = self.memo.borrow().get(&(ci, ui)) {
            return s.clone();
        }
        if depth >= MAX_DEPTH {
            self.cut.set(true);
            return Rc::new(Vec::new());
        }
        let outer = self.cut.replace(false);
        let s = Rc::new(self.compute(ci, ui, depth));
        if !self.cut.get() {
            self.memo.borrow_mut().insert((ci, ui), s.clone());
        }
        self.cut.set(outer || self.cut.get());
        s
    }

    fn compute(&self, ci: u32, ui: u16, depth: u32) -> Vec<Option<Figure>> {
        let Some(ind) = self.book.indicator_at(ci) else { return Vec::new() };
        let Some(kind) = ind.current().map(|d| d.frequency.period_kind()) else { return Vec::new() };
        let n = self.slots(kind);
        let cells = self.book.cells_of(ci, ui);
        let mut out = vec![None; n];
        let is_province = ui == 0;
        // Inputs of a rollup or a formula, fetched once for the whole series.
        let mut communes: Option<Vec<Series>> = None;
        let mut refs: HashMap<String, Series> = HashMap::new();
        for (slot, figure) in out.iter_mut().enumerate() {
            let period = self.period_at(kind, slot);
            let Some(def) = ind.for_period(&period) else { continue };
            if let Some(f) = self.book.formula(&def.code, def.version) {
                if depth >= MAX_DEPTH {
                    continue;
                }
                let value = f.eval(&mut |code: &str| {
                    let s = match refs.get(code) {
                        Some(s) => s.clone(),
                        None => {
                            let s = self.book.code_index(code).map(|c| self.series(c, ui, depth + 1))?;
                            refs.insert(code.to_string(), s.clone());
                            s
                        }
                    };
                    s.get(slot).copied().flatten().map(|f| f.value)
                });
                *figure = value.map(|value| Figure { value, basis: Basis::Formula });
                continue;
            }
            let cell = cells.and_then(|c| c.get(&period));
            let own = cell.and_then(|c| match (c.actual, c.estimate) {
                (Some(v), _) => Some(Figure {
                    value: v,
                    basis: if c.back_cast { Basis::BackCast } else { Basis::Actual },
                }),
                (None, Some(v)) => Some(Figure { value: v, basis: Basis::Estimate }),
                _ => None,
            });
            if own.is_some() || !is_province || def.level != Level::Commune || def.rollup == Rollup::None {
                *figure = own;
                continue;
            }
            let communes = communes.get_or_insert_with(|| {
                (1..self.book.units.len() as u16).map(|u| self.series(ci, u, depth + 1)).collect()
            });
            *figure = self.roll_up(def, communes, slot, ui, depth);
        }
        out
    }

    fn roll_up(
        &self,
        def: &Definition,
        communes: &[Series],
        slot: usize,
        _ui: u16,
        depth: u32,
    ) -> Option<Figure> {
        let values: Vec<(usize, f64)> = communes
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.get(slot).copied().flatten().map(|f| (i, f.value)))
            .collect();
        if values.is_empty() {
            return None;
        }
        let value = match &def.rollup {
            Rollup::WeightedMean { by } => {
                let wi = self.book.code_index(by)?;
                let (mut num, mut den) = (0.0, 0.0);
                for (i, v) in &values {
                    let w = self.series(wi, *i as u16 + 1, depth + 1).get(slot).copied().flatten()?.value;
                    num += v * w;
                    den += w;
                }
                (den != 0.0).then(|| num / den)?
            }
            other => combine(other, &values.iter().map(|(_, v)| *v).collect::<Vec<_>>())?,
        };
        Some(Figure { value, basis: Basis::Rollup })
    }

    /// A figure of the indicator for a unit and period.
    pub fn figure(&self, code: &str, unit: &str, period: &Period) -> Option<Figure> {
        let (ci, ui) = (self.book.code_index(code)?, self.book.unit_index(unit)?);
        if self.book.indicator_at(ci)?.for_period(period)?.frequency.period_kind() != period.kind {
            return None;
        }
        let slot = self.slot(period)?;
        self.series(ci, ui, 0).get(slot).copied().flatten()
    }

    /// The year to date up to `period` and how many periods in it have no figure.
    fn to_date(&self, s: &[Option<Figure>], period: &Period) -> (Option<f64>, u8) {
        let Some(end) = self.slot(period).filter(|e| *e < s.len()) else { return (None, period.index) };
        let start = end + 1 - usize::from(period.index);
        let mut sum = 0.0;
        let (mut seen, mut missing) = (0, 0u8);
        for f in s.get(start..=end).unwrap_or_default() {
            match f {
                Some(f) => {
                    sum += f.value;
                    seen += 1;
                }
                None => missing += 1,
            }
        }
        ((seen > 0).then_some(sum), missing)
    }

    /// The figure a target is compared with: the year to date when cumulative.
    fn measured(&self, def: &Definition, s: &[Option<Figure>], period: &Period) -> Option<f64> {
        match def.accumulation {
            Accumulation::Cumulative => self.to_date(s, period).0,
            Accumulation::PointInTime => {
                self.slot(period).and_then(|i| s.get(i).copied().flatten()).map(|f| f.value)
            }
        }
    }

    pub fn evaluate(&self, code: &str, unit: &str, period: &Period) -> Option<Evaluation> {
        let (ci, ui) = (self.book.code_index(code)?, self.book.unit_index(unit)?);
        let ind = self.book.indicator_at(ci)?;
        let def = ind.for_period(period)?;
        if period.kind != def.frequency.period_kind() {
            return None;
        }
        let s = self.series(ci, ui, 0);
        let fig = self.slot(period).and_then(|i| s.get(i).copied().flatten());
        let cumulative = def.accumulation == Accumulation::Cumulative;
        let (to_date, missing) = if cumulative { self.to_date(&s, period) } else { (None, 0) };
        let measured = self.measured(def, &s, period);
        let last = period.same_last_year();
        let last_year = self.measured(def, &s, &last);
        let cell = self.book.cell(code, unit, period).unwrap_or_default();
        let target = self.book.target(code, period.year, unit);
        let baseline = target.and_then(|t| t.baseline).or_else(|| {
            // A reduction starts from last year by default: for a cumulative indicator the same
            // part of last year (a pro-rated target is compared with it), else last year's end.
            if def.target_kind == TargetKind::Reduction && cumulative {
                return last_year;
            }
            (def.target_kind == TargetKind::Reduction)
                .then(|| {
                    self.measured(
                        def,
                        &s,
                        &Period::of_year(period.year - 1, period.kind).last().unwrap_or(last),
                    )
                })
                .flatten()
        });
        let (expected, achievement_pct, status) = match (target, measured) {
            (None, _) => (None, None, Status::NoTarget),
            (Some(t), None) => {
                let m = self.measure(def, period, 0.0, t.value, last_year, baseline);
                (achievement::expected(&m), None, Status::NoData)
            }
            (Some(t), Some(v)) => {
                let m = self.measure(def, period, v, t.value, last_year, baseline);
                let a = achievement::achievement(&m);
                (achievement::expected(&m), a, achievement::status(&m, a, &def.bands))
            }
        };
        Some(Evaluation {
            code: code.to_string(),
            unit_code: unit.to_string(),
            period: *period,
            version: def.version,
            value: fig.map(|f| f.value),
            basis: fig.map(|f| f.basis),
            to_date,
            missing_periods: missing,
            same_period_last_year: last_year,
            change_pct: measured.zip(last_year).and_then(|(a, b)| achievement::change_pct(a, b)),
            plan: cell.plan,
            estimate: cell.estimate,
            actual: cell.actual,
            target: target.map(|t| t.value),
            expected,
            achievement: achievement_pct,
            status,
        })
    }

    fn measure(
        &self,
        def: &Definition,
        period: &Period,
        measured: f64,
        target: f64,
        last_year: Option<f64>,
        baseline: Option<f64>,
    ) -> Measure {
        Measure {
            kind: def.target_kind,
            direction: def.direction,
            measured,
            target,
            share_of_year: period.share_of_year(),
            cumulative: def.accumulation == Accumulation::Cumulative,
            last_year,
            baseline,
        }
    }

    /// The indicator's latest period with a figure in `unit`, no later than the period that
    /// contains `day`.
    pub fn latest(&self, code: &str, unit: &str, day: Date) -> Option<Period> {
        let (ci, ui) = (self.book.code_index(code)?, self.book.unit_index(unit)?);
        let kind = self.book.indicator_at(ci)?.current()?.frequency.period_kind();
        let upto = self.slot(&Period::containing(kind, day))?;
        let s = self.series(ci, ui, 0);
        (0..=upto.min(s.len().checked_sub(1)?))
            .rev()
            .find(|&i| s[i].is_some())
            .map(|i| self.period_at(kind, i))
    }

    /// The forecast of the year's end from the year's figures up to `period`.
    pub fn forecast(&self, code: &str, unit: &str, period: &Period) -> Option<Forecast> {
        let (ci, ui) = (self.book.code_index(code)?, self.book.unit_index(unit)?);
        let def = self.book.indicator_at(ci)?.for_period(period)?;
        if def.frequency.period_kind() != period.kind {
            return None;
        }
        let s = self.series(ci, ui, 0);
        let points: Vec<(u32, f64)> = period
            .year_to_date()
            .filter_map(|p| {
                let f = self.slot(&p).and_then(|i| s.get(i).copied().flatten())?;
                Some((u32::from(p.index), f.value))
            })
            .collect();
        let method = forecast::choose(&points);
        forecast::forecast(
            &points,
            u32::from(period.kind.per_year()),
            def.accumulation == Accumulation::Cumulative,
            method,
        )
    }

    pub fn book(&self) -> &Book {
        self.book
    }
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;
