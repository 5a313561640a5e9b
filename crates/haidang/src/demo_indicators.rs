//! The demo's monitoring indicators for Lai Châu: a catalog of provincial and commune
//! indicators (demo_indicators.json), three years of plausible figures to the last closed
//! period, estimates for the periods still running, and targets for every year. This year's
//! targets are set from the figures so that the story the console tells is the one the file
//! asks for: some indicators on track, some at risk, some off track, across several groups.
//!
//! The figures are invented. Figures of periods before 1 July 2025 are given directly to today's
//! communes: no licensed succession table of Lai Châu's communes was at hand to back-cast them
//! from the old communes' figures (the book would do it through `units successions` if one
//! were loaded).

use std::collections::{BTreeSet, HashMap};

use anyhow::anyhow;
use haidang_core::accounts::{Role, Subject};
use haidang_core::indicators::catalog::DefinitionSpec;
use haidang_core::indicators::evaluate::Evaluator;
use haidang_core::indicators::model::{
    Accumulation, Direction, Level, Rollup, TargetKind, ValueKey, ValueKind,
};
use haidang_core::indicators::period::{Period, PeriodKind};
use haidang_core::indicators::service::{today, TargetSpec};
use haidang_core::repo::OrgRepository;
use haidang_server::state::AppState;
use serde::Deserialize;

const CATALOG: &str = include_str!("demo_indicators.json");

#[derive(Deserialize)]
struct Entry {
    #[serde(flatten)]
    spec: DefinitionSpec,
    demo: Shape,
}

#[derive(Deserialize)]
struct Shape {
    base: Option<f64>,
    #[serde(default)]
    growth: f64,
    #[serde(default)]
    season: String,
    #[serde(default)]
    noise: f64,
    #[serde(default)]
    outcome: String,
    /// A fixed target (a real-time indicator has no figures to set one from when the demo
    /// starts: its target is the national limit).
    target: Option<f64>,
}

/// A repeatable number in [0, 1) for a name: the demo is the same on every machine.
fn unit_noise(text: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn season(kind: &str, month: u8) -> f64 {
    let m = f64::from(month);
    match kind {
        // Tết in January–February: activity dips, consumption peaks.
        "tet" => {
            if month <= 2 {
                0.85
            } else {
                1.0 + 0.03 * (m / 12.0)
            }
        }
        "harvest" => {
            if matches!(month, 5 | 6 | 9 | 10) {
                1.25
            } else {
                0.9
            }
        }
        "rainy" => {
            if (6..=9).contains(&month) {
                1.3
            } else {
                0.85
            }
        }
        "tourism" => {
            if matches!(month, 1 | 2 | 4 | 5 | 10 | 11 | 12) {
                1.15
            } else {
                0.85
            }
        }
        _ => 1.0,
    }
}

/// How much outcome each demo story asks of this year's figure against its target.
fn wanted(outcome: &str) -> f64 {
    match outcome {
        "off_track" => 0.82,
        "at_risk" => 0.945,
        _ => 1.08,
    }
}

pub async fn seed(state: &AppState) -> anyhow::Result<bool> {
    if state.indicators.book().indicators().next().is_some() {
        return Ok(false);
    }
    let entries: Vec<Entry> =
        serde_json::from_str(CATALOG).map_err(|e| anyhow!("demo_indicators.json: {e}"))?;
    let ioc = state
        .store
        .get_org_by_code("ioc")
        .await?
        .ok_or_else(|| anyhow!("demo organisation ioc is missing"))?;
    let supervisor =
        Subject { username: "demo".into(), role: Role::Supervisor, org_id: ioc.id, ..Subject::cli() };
    let specs: Vec<DefinitionSpec> = entries
        .iter()
        .map(|e| DefinitionSpec { valid_from: Some("2024".into()), ..e.spec.clone() })
        .collect();
    state.indicators.create(&supervisor, &specs).await.map_err(|e| anyhow!("demo indicators: {e}"))?;
    let book = state.indicators.book();
    let communes: Vec<String> = book.units.iter().skip(1).cloned().collect();
    let today = today();
    let mut figures: Vec<(ValueKey, f64)> = Vec::new();
    for e in &entries {
        let Some(def) = book.indicator(e.spec.code.as_deref().unwrap_or_default()).and_then(|i| i.current())
        else {
            continue;
        };
        let Some(base) = e.demo.base.filter(|_| def.is_entered()) else { continue };
        let kind = def.frequency.period_kind();
        let span = Period::of_year(2024, kind)
            .next()
            .map(|p| p.through(Period::containing(kind, today)))
            .unwrap_or_default();
        for p in span {
            let (value_kind, ended) =
                if p.end() <= today { (ValueKind::Actual, true) } else { (ValueKind::Estimate, false) };
            // A month still running gets no estimate; longer periods do ("ước thực hiện").
            if !ended && kind == PeriodKind::Month {
                continue;
            }
            let years = f64::from(p.year - 2024) + f64::from(p.index - 1) / f64::from(kind.per_year());
            let month = (p.index - 1) * (12 / kind.per_year()) + 1;
            let level = match def.target_kind {
                TargetKind::YesNo => {
                    if p.year < today.year() {
                        1.0
                    } else {
                        0.0
                    }
                }
                _ => base * (1.0 + e.demo.growth).powf(years) * season(&e.demo.season, month),
            };
            let mut push = |unit: &str, v: f64| {
                let wobble = 1.0 + e.demo.noise * (unit_noise(&format!("{}{unit}{p}", def.code)) - 0.5) * 2.0;
                let v = if def.target_kind == TargetKind::YesNo { v } else { v * wobble };
                let v = if def.unit == "%" { v.clamp(0.0, 100.0) } else { v.max(0.0) };
                let v = (v * 100.0).round() / 100.0;
                figures.push((
                    ValueKey {
                        code: def.code.clone(),
                        unit_code: unit.to_string(),
                        period: p,
                        kind: value_kind,
                    },
                    v,
                ));
            };
            match def.level {
                Level::Province => push(&book.province, level),
                Level::Commune => {
                    // Communes differ: a share of the total, or a rate around the province's.
                    let weights: Vec<f64> = communes.iter().map(|c| 0.5 + unit_noise(c)).collect();
                    let total: f64 = weights.iter().sum();
                    for (c, w) in communes.iter().zip(&weights) {
                        let v = match def.rollup {
                            Rollup::Sum | Rollup::None => level * w / total,
                            _ => level * (0.85 + 0.3 * unit_noise(&format!("{c}{}", def.code))),
                        };
                        push(c, v);
                    }
                }
            }
        }
    }
    state
        .indicators
        .load_history(
            &supervisor,
            &figures,
            "Số liệu minh họa (demo); số liệu trước 01/07/2025 gán trực tiếp cho xã, phường mới",
        )
        .await
        .map_err(|e| anyhow!("demo figures: {e}"))?;
    let targets = targets(state, &entries);
    state.indicators.set_targets(&supervisor, targets).await.map_err(|e| anyhow!("demo targets: {e}"))?;
    let book = state.indicators.book();
    let codes: BTreeSet<String> = book.indicators().map(|i| i.code.clone()).collect();
    // The demo's view is written before the server answers, so the console and the NGSI-LD view
    // agree from the first request: what the targets touched, then the rest.
    state.indicators.publish_pending().await?;
    let rest = state.indicators.publish(&codes, &(2024..=today.year()).collect()).await?;
    tracing::info!(
        indicators = codes.len(),
        figures = figures.len(),
        without_target = rest,
        "demo indicators loaded"
    );
    Ok(true)
}

/// Targets for every year: past years' close to what was achieved, this year's set so that
/// each indicator tells the story its entry asks for.
fn targets(state: &AppState, entries: &[Entry]) -> Vec<TargetSpec> {
    let book = state.indicators.book();
    let ev = Evaluator::new(&book);
    let day = today();
    let outcomes: HashMap<&str, &str> =
        entries.iter().filter_map(|e| Some((e.spec.code.as_deref()?, e.demo.outcome.as_str()))).collect();
    let mut out: Vec<TargetSpec> = entries
        .iter()
        .filter_map(|e| {
            Some(TargetSpec {
                code: e.spec.code.clone()?,
                year: day.year(),
                unit_code: None,
                value: e.demo.target?,
                baseline: None,
                source: Some("QCVN 05:2023/BTNMT, giới hạn trung bình 24 giờ".into()),
            })
        })
        .collect();
    for ind in book.indicators() {
        let Some(def) = ind.current() else { continue };
        let unit = book.province.clone();
        let Some(period) = ev.latest(&ind.code, &unit, day) else { continue };
        let Some(e) = ev.evaluate(&ind.code, &unit, &period) else { continue };
        let measured = if def.accumulation == Accumulation::Cumulative { e.to_date } else { e.value };
        let Some(measured) = measured else { continue };
        let a = wanted(outcomes.get(ind.code.as_str()).copied().unwrap_or("on_track"));
        let share = if def.accumulation == Accumulation::Cumulative { period.share_of_year() } else { 1.0 };
        let last_end = Period { year: period.year - 1, index: period.kind.per_year(), ..period };
        let baseline = ev.evaluate(&ind.code, &unit, &last_end).and_then(|e| e.value);
        let target = match (def.target_kind, def.direction) {
            (TargetKind::YesNo, _) => Some(1.0),
            (TargetKind::Level, Direction::HigherIsBetter) => Some(measured / (share * a)),
            (TargetKind::Level, Direction::LowerIsBetter) => Some(a * measured / share),
            (TargetKind::Growth, dir) => e.same_period_last_year.filter(|l| *l != 0.0).map(|l| {
                let g = (measured / l - 1.0) * 100.0;
                let g = if dir == Direction::LowerIsBetter { -g } else { g };
                if g > 0.0 {
                    g / a
                } else {
                    2.0
                }
            }),
            (TargetKind::Reduction, _) => {
                baseline.map(|b| b + (measured - b) / (a * period.share_of_year().max(0.25)))
            }
        };
        let round = |v: f64| if v.abs() >= 100.0 { v.round() } else { (v * 10.0).round() / 10.0 };
        if let Some(t) = target.filter(|t| t.is_finite()) {
            out.push(TargetSpec {
                code: ind.code.clone(),
                year: period.year,
                unit_code: None,
                value: round(t),
                baseline: None,
                source: Some(
                    "Nghị quyết HĐND tỉnh về kế hoạch phát triển kinh tế - xã hội (minh họa)".into(),
                ),
            });
        }
        // Past years: met, or nearly, as the record shows.
        for year in 2024..period.year {
            let end = Period { year, index: period.kind.per_year(), ..period };
            let Some(past) = ev.evaluate(&ind.code, &unit, &end) else { continue };
            let m = if def.accumulation == Accumulation::Cumulative { past.to_date } else { past.value };
            let t = match (def.target_kind, def.direction, m) {
                (TargetKind::YesNo, ..) => Some(1.0),
                (TargetKind::Level, Direction::HigherIsBetter, Some(m)) => Some(m / 1.02),
                (TargetKind::Level, Direction::LowerIsBetter, Some(m)) => Some(m * 1.02),
                (TargetKind::Growth, ..) => Some(def.bands.on_track.min(7.0)),
                (TargetKind::Reduction, _, Some(m)) => Some(m),
                _ => None,
            };
            if let Some(t) = t.filter(|t| t.is_finite()) {
                out.push(TargetSpec {
                    code: ind.code.clone(),
                    year,
                    unit_code: None,
                    value: round(t),
                    baseline: None,
                    source: None,
                });
            }
        }
    }
    out
}
