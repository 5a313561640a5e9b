//! The test every dataset must pass, "đúng, đủ, sạch, sống", as four scores from 0 to 100 over a
//! window [from, to), each a share, and the overall score their mean. The formulas:
//!
//! - **đúng** (correct): writes accepted with every value in the dataset's plausible ranges ÷
//!   all writes to the dataset in the window (accepted, accepted out of range, refused by the
//!   exchange data structure).
//! - **đủ** (complete): the mean of two shares: expected entities that reported at least once in
//!   the window ÷ expected entities (a list, a count per unit, or else the dataset's members),
//!   and required attributes present on the members ÷ members × required attributes.
//! - **sạch** (clean): history instances in the window that are none of a duplicate (an earlier
//!   instance has the same entity, attribute and time), an outlier (the dataset's rule: outside a
//!   range, or more than `threshold` standard deviations from the window's mean of that
//!   attribute) or an attribute the schema does not know ÷ all instances in the window.
//! - **sống** (live): at the window's end, expected entities whose last reading is no older than
//!   the dataset's frequency allows ÷ expected entities; those under a declared maintenance
//!   window at that moment count on neither side. The stale ones are listed.
//!
//! A share with nothing to count (no writes, no instances) is left out, shown as "—", and the
//! overall score is the mean of the others.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::Timestamp;
use serde::Serialize;

use super::model::{Dataset, Expected, MaintenanceWindow, OutlierRule, WriteCounts};

/// One member of the dataset as it is now.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberState {
    pub id: String,
    /// Units its location lies in, most specific first.
    pub units: Vec<String>,
    /// Its newest reading (observedAt, else when it was written).
    pub last_update: Option<Timestamp>,
    /// The attributes it has (expanded names).
    pub attrs: Vec<String>,
}

/// One history instance in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceFact {
    pub entity_id: String,
    pub attr: String,
    pub at: Timestamp,
    pub value: Option<f64>,
}

pub struct QualityInput<'a> {
    pub dataset: &'a Dataset,
    pub from: Timestamp,
    pub to: Timestamp,
    pub members: Vec<MemberState>,
    pub instances: Vec<InstanceFact>,
    pub counts: WriteCounts,
    pub windows: Vec<MaintenanceWindow>,
    /// Attributes the schema knows (expanded); None: no schema, nothing is unknown.
    pub known_attrs: Option<HashSet<String>>,
    /// Required attributes (expanded): the dataset's, else the schema's.
    pub required: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Scores {
    pub correct: Option<f64>,
    pub complete: Option<f64>,
    pub clean: Option<f64>,
    pub live: Option<f64>,
    pub overall: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stale {
    pub entity_id: String,
    pub last_update: Option<Timestamp>,
}

/// The scores with what they were computed from, for the console to explain them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetQuality {
    pub scores: Scores,
    pub writes: WriteCountsView,
    pub expected: usize,
    pub reported: usize,
    pub instances: usize,
    pub duplicates: usize,
    pub outliers: usize,
    pub unknown: usize,
    pub live: usize,
    pub live_expected: usize,
    pub in_maintenance: usize,
    pub stale: Vec<Stale>,
    /// Units with fewer entities than expected: (unit, known, expected).
    pub missing: Vec<(String, usize, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WriteCountsView {
    pub accepted: i64,
    pub out_of_range: i64,
    pub refused: i64,
}

fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn mean(values: &[Option<f64>]) -> Option<f64> {
    let defined: Vec<f64> = values.iter().flatten().copied().collect();
    (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64)
}

/// A share as a score, rounded to one decimal.
fn score(v: Option<f64>) -> Option<f64> {
    v.map(|x| (x * 1000.0).round() / 10.0)
}

pub fn compute(input: &QualityInput) -> DatasetQuality {
    let d = input.dataset;
    // đúng
    let c = input.counts;
    let correct = share(c.accepted as usize, c.total() as usize);

    // đủ: which expected entities reported in the window.
    let reported_ids: HashSet<&str> = input.instances.iter().map(|i| i.entity_id.as_str()).collect();
    let (expected, reported) = match &d.expected {
        Some(Expected::Entities(ids)) => {
            (ids.len(), ids.iter().filter(|id| reported_ids.contains(id.as_str())).count())
        }
        Some(Expected::PerUnit(counts)) => {
            let mut got = 0;
            for (unit, n) in counts {
                let here = input
                    .members
                    .iter()
                    .filter(|m| m.units.contains(unit) && reported_ids.contains(m.id.as_str()))
                    .count();
                got += here.min(*n as usize);
            }
            (counts.values().map(|n| *n as usize).sum(), got)
        }
        None => (
            input.members.len(),
            input.members.iter().filter(|m| reported_ids.contains(m.id.as_str())).count(),
        ),
    };
    let present: usize =
        input.members.iter().map(|m| input.required.iter().filter(|r| m.attrs.contains(r)).count()).sum();
    let attribute_share = share(present, input.members.len() * input.required.len());
    let complete = mean(&[share(reported, expected), attribute_share]);

    // sạch
    let (duplicates, outliers, unknown, unclean) = clean_counts(input);
    let clean = share(input.instances.len() - unclean, input.instances.len());

    // sống, at the window's end.
    let at = input.to;
    let gap = d.allowed_gap();
    let fresh = |m: &MemberState| m.last_update.is_some_and(|t| t >= at - gap);
    let maintained = |id: &str| input.windows.iter().any(|w| w.covers(id, at));
    let mut stale = Vec::new();
    let mut missing = Vec::new();
    let (mut live, mut live_expected, mut in_maintenance) = (0usize, 0usize, 0usize);
    let by_id: HashMap<&str, &MemberState> = input.members.iter().map(|m| (m.id.as_str(), m)).collect();
    match &d.expected {
        Some(Expected::Entities(ids)) => {
            for id in ids {
                if maintained(id) {
                    in_maintenance += 1;
                    continue;
                }
                live_expected += 1;
                match by_id.get(id.as_str()) {
                    Some(m) if fresh(m) => live += 1,
                    m => stale
                        .push(Stale { entity_id: id.clone(), last_update: m.and_then(|m| m.last_update) }),
                }
            }
        }
        Some(Expected::PerUnit(counts)) => {
            for (unit, n) in counts {
                let n = *n as usize;
                let here: Vec<&MemberState> =
                    input.members.iter().filter(|m| m.units.contains(unit)).collect();
                let held = here.iter().filter(|m| maintained(&m.id)).count().min(n);
                in_maintenance += held;
                let wanted = n - held;
                live_expected += wanted;
                let fresh_here: Vec<&&MemberState> =
                    here.iter().filter(|m| !maintained(&m.id) && fresh(m)).collect();
                live += fresh_here.len().min(wanted);
                stale.extend(
                    here.iter()
                        .filter(|m| !maintained(&m.id) && !fresh(m))
                        .map(|m| Stale { entity_id: m.id.clone(), last_update: m.last_update }),
                );
                if here.len() < n {
                    missing.push((unit.clone(), here.len(), n));
                }
            }
        }
        None => {
            for m in &input.members {
                if maintained(&m.id) {
                    in_maintenance += 1;
                } else {
                    live_expected += 1;
                    if fresh(m) {
                        live += 1;
                    } else {
                        stale.push(Stale { entity_id: m.id.clone(), last_update: m.last_update });
                    }
                }
            }
        }
    }
    let live_share = share(live, live_expected);
    let overall = mean(&[correct, complete, clean, live_share]);
    DatasetQuality {
        scores: Scores {
            correct: score(correct),
            complete: score(complete),
            clean: score(clean),
            live: score(live_share),
            overall: score(overall),
        },
        writes: WriteCountsView { accepted: c.accepted, out_of_range: c.out_of_range, refused: c.refused },
        expected,
        reported,
        instances: input.instances.len(),
        duplicates,
        outliers,
        unknown,
        live,
        live_expected,
        in_maintenance,
        stale,
        missing,
    }
}

/// (duplicates, outliers, unknown attributes, instances with at least one of them).
fn clean_counts(input: &QualityInput) -> (usize, usize, usize, usize) {
    let rules = &input.dataset.rules.outliers;
    // Mean and standard deviation (population) of each z-scored attribute over the window.
    let mut sums: BTreeMap<&str, (f64, f64, usize)> = BTreeMap::new();
    for i in &input.instances {
        if let (Some(OutlierRule::Zscore { .. }), Some(v)) = (rules.get(&i.attr), i.value) {
            let e = sums.entry(i.attr.as_str()).or_insert((0.0, 0.0, 0));
            e.0 += v;
            e.1 += v * v;
            e.2 += 1;
        }
    }
    let stats: BTreeMap<&str, (f64, f64)> = sums
        .into_iter()
        .map(|(a, (s, sq, n))| {
            let m = s / n as f64;
            (a, (m, (sq / n as f64 - m * m).max(0.0).sqrt()))
        })
        .collect();
    let mut seen: HashSet<(&str, &str, i64)> = HashSet::new();
    let (mut duplicates, mut outliers, mut unknown, mut unclean) = (0, 0, 0, 0);
    for i in &input.instances {
        let dup = !seen.insert((i.entity_id.as_str(), i.attr.as_str(), i.at.as_microsecond()));
        let out = match (rules.get(&i.attr), i.value) {
            (Some(OutlierRule::Range { min, max }), Some(v)) => {
                min.is_some_and(|m| v < m) || max.is_some_and(|m| v > m)
            }
            (Some(OutlierRule::Zscore { threshold }), Some(v)) => stats
                .get(i.attr.as_str())
                .is_some_and(|(m, sd)| *sd > 0.0 && ((v - m) / sd).abs() > *threshold),
            _ => false,
        };
        let strange = input.known_attrs.as_ref().is_some_and(|k| !k.contains(&i.attr));
        duplicates += usize::from(dup);
        outliers += usize::from(out);
        unknown += usize::from(strange);
        unclean += usize::from(dup || out || strange);
    }
    (duplicates, outliers, unknown, unclean)
}

/// An organisation's scores: the mean of its datasets' scores, each where defined.
pub fn combine(all: &[Scores]) -> Scores {
    let pick = |f: fn(&Scores) -> Option<f64>| {
        score(mean(&all.iter().map(|s| f(s).map(|v| v / 100.0)).collect::<Vec<_>>()))
    };
    Scores {
        correct: pick(|s| s.correct),
        complete: pick(|s| s.complete),
        clean: pick(|s| s.clean),
        live: pick(|s| s.live),
        overall: pick(|s| s.overall),
    }
}

#[cfg(test)]
#[path = "quality_tests.rs"]
mod tests;
