//! The book every evaluation reads: the catalog, the year's targets and the approved figures,
//! held in memory and replaced whole after a change (as the hub's catalog is). Figures recorded
//! under a unit that no longer exists are back-cast onto its successor (the July 2025
//! reorganisation merged communes), combined by the indicator's rollup.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::formula::Formula;
use super::model::{Indicator, Rollup, Target, ValueKey, ValueKind};
use super::period::Period;

/// The approved figures of one indicator, unit and period.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cell {
    pub plan: Option<f64>,
    pub estimate: Option<f64>,
    pub actual: Option<f64>,
    /// The actual was back-cast from the units this one succeeded.
    pub back_cast: bool,
}

impl Cell {
    fn set(&mut self, kind: ValueKind, v: f64) {
        match kind {
            ValueKind::Plan => self.plan = Some(v),
            ValueKind::Estimate => self.estimate = Some(v),
            ValueKind::Actual => self.actual = Some(v),
        }
    }
}

pub struct Book {
    pub province: String,
    /// The province first, then its communes.
    pub units: Vec<String>,
    indicators: BTreeMap<String, Arc<Indicator>>,
    by_ix: Vec<Arc<Indicator>>,
    formulas: HashMap<(String, u32), Arc<Formula>>,
    code_ix: HashMap<String, u32>,
    unit_ix: HashMap<String, u16>,
    cells: HashMap<(u32, u16), BTreeMap<Period, Cell>>,
    targets: HashMap<(u32, i16, u16), Target>,
    years: (i16, i16),
}

/// What a book is made of.
pub struct Contents {
    pub province: String,
    pub communes: Vec<String>,
    pub indicators: Vec<Indicator>,
    pub targets: Vec<Target>,
    /// Approved figures.
    pub figures: Vec<(ValueKey, f64)>,
    /// (old unit, new unit) from the units' succession table.
    pub successions: Vec<(String, String)>,
    /// The current year: the book spans at least it.
    pub this_year: i16,
}

impl Book {
    pub fn new(c: Contents) -> Book {
        let mut units = vec![c.province.clone()];
        units.extend(c.communes.iter().filter(|u| **u != c.province).cloned());
        let unit_ix: HashMap<String, u16> =
            units.iter().enumerate().map(|(i, u)| (u.clone(), i as u16)).collect();
        let mut book = Book {
            province: c.province,
            units,
            indicators: BTreeMap::new(),
            by_ix: Vec::new(),
            formulas: HashMap::new(),
            code_ix: HashMap::new(),
            unit_ix,
            cells: HashMap::new(),
            targets: HashMap::new(),
            years: (c.this_year, c.this_year),
        };
        for (i, ind) in c.indicators.into_iter().enumerate() {
            for d in &ind.versions {
                if let Some(Ok(f)) = d.formula.as_deref().map(Formula::parse) {
                    book.formulas.insert((d.code.clone(), d.version), Arc::new(f));
                }
            }
            book.code_ix.insert(ind.code.clone(), i as u32);
            let ind = Arc::new(ind);
            book.by_ix.push(ind.clone());
            book.indicators.insert(ind.code.clone(), ind);
        }
        let successor: HashMap<&str, &str> =
            c.successions.iter().map(|(old, new)| (old.as_str(), new.as_str())).collect();
        // Figures of old units, gathered by successor before they are combined.
        let mut old: BTreeMap<(u32, u16, Period, ValueKind), Vec<f64>> = BTreeMap::new();
        for (key, v) in c.figures {
            let Some(&ci) = book.code_ix.get(&key.code) else { continue };
            book.years.0 = book.years.0.min(key.period.year);
            book.years.1 = book.years.1.max(key.period.year);
            if let Some(&ui) = book.unit_ix.get(&key.unit_code) {
                book.cells.entry((ci, ui)).or_default().entry(key.period).or_default().set(key.kind, v);
            } else if let Some(ui) = successor.get(key.unit_code.as_str()).and_then(|n| book.unit_ix.get(*n))
            {
                old.entry((ci, *ui, key.period, key.kind)).or_default().push(v);
            }
        }
        for ((ci, ui, period, kind), values) in old {
            let rollup = book.indicator_at(ci).and_then(|i| i.for_period(&period)).map(|d| d.rollup.clone());
            let Some(v) = combine(rollup.as_ref().unwrap_or(&Rollup::Sum), &values) else { continue };
            let cell = book.cells.entry((ci, ui)).or_default().entry(period).or_default();
            // A figure the new unit reported itself wins over the back-cast one.
            let own = match kind {
                ValueKind::Plan => cell.plan,
                ValueKind::Estimate => cell.estimate,
                ValueKind::Actual => cell.actual,
            };
            if own.is_none() {
                cell.set(kind, v);
                cell.back_cast |= kind == ValueKind::Actual;
            }
        }
        for t in c.targets {
            if let (Some(&ci), Some(&ui)) = (book.code_ix.get(&t.code), book.unit_ix.get(&t.unit_code)) {
                book.targets.insert((ci, t.year, ui), t);
            }
        }
        book
    }

    pub(crate) fn indicator_at(&self, ci: u32) -> Option<&Arc<Indicator>> {
        self.by_ix.get(ci as usize)
    }

    pub fn indicators(&self) -> impl Iterator<Item = &Arc<Indicator>> {
        self.indicators.values()
    }

    pub fn indicator(&self, code: &str) -> Option<&Arc<Indicator>> {
        self.indicators.get(code)
    }

    pub fn formula(&self, code: &str, version: u32) -> Option<&Arc<Formula>> {
        self.formulas.get(&(code.to_string(), version))
    }

    pub fn years(&self) -> (i16, i16) {
        self.years
    }

    pub(crate) fn code_index(&self, code: &str) -> Option<u32> {
        self.code_ix.get(code).copied()
    }

    pub(crate) fn unit_index(&self, unit: &str) -> Option<u16> {
        self.unit_ix.get(unit).copied()
    }

    pub fn has_unit(&self, unit: &str) -> bool {
        self.unit_ix.contains_key(unit)
    }

    pub(crate) fn cells_of(&self, ci: u32, ui: u16) -> Option<&BTreeMap<Period, Cell>> {
        self.cells.get(&(ci, ui))
    }

    pub fn cell(&self, code: &str, unit: &str, period: &Period) -> Option<Cell> {
        let (ci, ui) = (self.code_index(code)?, self.unit_index(unit)?);
        self.cells.get(&(ci, ui))?.get(period).copied()
    }

    pub fn target(&self, code: &str, year: i16, unit: &str) -> Option<&Target> {
        self.targets.get(&(self.code_index(code)?, year, self.unit_index(unit)?))
    }

    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.targets.values()
    }
}

/// Combines the figures of several units as the indicator adds communes up. A weighted mean
/// is approximated by the plain mean here: old units' weights are not kept.
pub fn combine(rollup: &Rollup, values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    Some(match rollup {
        Rollup::Sum | Rollup::None => values.iter().sum(),
        Rollup::Mean | Rollup::WeightedMean { .. } => values.iter().sum::<f64>() / n,
        Rollup::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        Rollup::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}
