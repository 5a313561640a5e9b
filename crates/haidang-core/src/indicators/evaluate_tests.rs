//! Tests of the evaluation engine on books built by hand: one province "P" with communes C1, C2
//! and C3, the year 2026. Every expected number is worked by hand in the comment next to it.

use jiff::civil::date;
use jiff::Timestamp;

use super::{Basis, Evaluation, Evaluator, MAX_DEPTH};
use crate::indicators::achievement::Status;
use crate::indicators::book::{Book, Contents};
use crate::indicators::forecast::Method;
use crate::indicators::model::{
    Accumulation, Bands, Definition, Direction, Indicator, Level, Rollup, Target, TargetKind, ValueKey,
    ValueKind,
};
use crate::indicators::period::{Frequency, Period};

const PROVINCE: &str = "P";

fn p(text: &str) -> Period {
    Period::parse(text).unwrap_or_else(|| panic!("'{text}' is not a period"))
}

/// A definition (version 1, in force since 2020) with every field filled: higher is better, a
/// level target, default bands. Tests change what they need with struct update syntax.
fn def(
    code: &str,
    frequency: Frequency,
    level: Level,
    rollup: Rollup,
    accumulation: Accumulation,
) -> Definition {
    Definition {
        code: code.to_string(),
        version: 1,
        valid_from: Period::year_of(2020),
        name_vi: format!("Chỉ số {code}"),
        name_en: format!("Indicator {code}"),
        group: "economy".to_string(),
        unit: "tỷ đồng".to_string(),
        owner_org: "so-tai-chinh".to_string(),
        frequency,
        level,
        rollup,
        accumulation,
        direction: Direction::HigherIsBetter,
        target_kind: TargetKind::Level,
        bands: Bands::default(),
        formula: None,
        realtime: None,
        min: None,
        max: None,
        change_share: 0.3,
        description: String::new(),
        change_note: String::new(),
        created_at: Timestamp::UNIX_EPOCH,
        created_by: "test".to_string(),
    }
}

/// A derived indicator of the province, point in time.
fn derived(code: &str, frequency: Frequency, level: Level, formula: &str) -> Definition {
    Definition {
        formula: Some(formula.to_string()),
        ..def(code, frequency, level, Rollup::None, Accumulation::PointInTime)
    }
}

fn one(d: Definition) -> Indicator {
    Indicator { code: d.code.clone(), versions: vec![d], retired: false }
}

fn figure(kind: ValueKind, code: &str, unit: &str, period: &str, value: f64) -> (ValueKey, f64) {
    (ValueKey { code: code.to_string(), unit_code: unit.to_string(), period: p(period), kind }, value)
}

fn actual(code: &str, unit: &str, period: &str, value: f64) -> (ValueKey, f64) {
    figure(ValueKind::Actual, code, unit, period, value)
}

fn estimate(code: &str, unit: &str, period: &str, value: f64) -> (ValueKey, f64) {
    figure(ValueKind::Estimate, code, unit, period, value)
}

fn target(code: &str, year: i16, unit: &str, value: f64) -> Target {
    Target {
        code: code.to_string(),
        year,
        unit_code: unit.to_string(),
        value,
        baseline: None,
        source: "Nghị quyết số 01/NQ-HĐND".to_string(),
        set_by: "test".to_string(),
        set_at: Timestamp::UNIX_EPOCH,
    }
}

/// A book of the province and three communes, 2026, no targets, no successions.
fn contents(indicators: Vec<Indicator>, figures: Vec<(ValueKey, f64)>) -> Contents {
    Contents {
        province: PROVINCE.to_string(),
        communes: vec!["C1".to_string(), "C2".to_string(), "C3".to_string()],
        indicators,
        targets: Vec::new(),
        figures,
        successions: Vec::new(),
        this_year: 2026,
    }
}

fn book(indicators: Vec<Indicator>, figures: Vec<(ValueKey, f64)>) -> Book {
    Book::new(contents(indicators, figures))
}

fn eval(ev: &Evaluator<'_>, code: &str, unit: &str, period: &str) -> Evaluation {
    ev.evaluate(code, unit, &p(period))
        .unwrap_or_else(|| panic!("no evaluation of {code} in {unit} for {period}"))
}

#[track_caller]
fn assert_close(found: Option<f64>, expected: f64) {
    let Some(found) = found else { panic!("expected {expected}, found no figure") };
    assert!((found - expected).abs() < 1e-9, "expected {expected}, found {found}");
}

// 1. A commune-level cumulative indicator summed up to the province.

fn revenue() -> Indicator {
    one(def("thu_ngan_sach", Frequency::Month, Level::Commune, Rollup::Sum, Accumulation::Cumulative))
}

fn revenue_figures() -> Vec<(ValueKey, f64)> {
    vec![
        // December of last year must not leak into this year's "lũy kế".
        actual("thu_ngan_sach", "C1", "2025-12", 1000.0),
        actual("thu_ngan_sach", "C1", "2026-01", 10.0),
        actual("thu_ngan_sach", "C2", "2026-01", 20.0),
        actual("thu_ngan_sach", "C3", "2026-01", 30.0),
        actual("thu_ngan_sach", "C1", "2026-02", 15.0),
        actual("thu_ngan_sach", "C2", "2026-02", 25.0),
        // March: nobody reported.
        actual("thu_ngan_sach", "C1", "2026-04", 5.0),
    ]
}

#[test]
fn the_province_figure_of_a_summed_indicator_is_the_communes_sum_with_year_to_date_and_gaps() {
    let book = book(vec![revenue()], revenue_figures());
    let ev = Evaluator::new(&book);

    // January: 10 + 20 + 30 = 60, and the year starts afresh (December's 1000 is last year's).
    let jan = eval(&ev, "thu_ngan_sach", PROVINCE, "2026-01");
    assert_close(jan.value, 60.0);
    assert_eq!(jan.basis, Some(Basis::Rollup));
    assert_close(jan.to_date, 60.0);
    assert_eq!(jan.missing_periods, 0);
    // Nothing was entered for the province itself.
    assert_eq!((jan.plan, jan.estimate, jan.actual), (None, None, None));

    // February: 15 + 25 = 40 (C3 silent); year to date 60 + 40 = 100.
    let feb = eval(&ev, "thu_ngan_sach", PROVINCE, "2026-02");
    assert_close(feb.value, 40.0);
    assert_close(feb.to_date, 100.0);
    assert_eq!(feb.missing_periods, 0);

    // March: no commune reported, so the province has no figure either.
    let mar = eval(&ev, "thu_ngan_sach", PROVINCE, "2026-03");
    assert_eq!((mar.value, mar.basis), (None, None));
    assert_close(mar.to_date, 100.0);
    assert_eq!(mar.missing_periods, 1);

    // April: 5; year to date 60 + 40 + 5 = 105, March missing.
    let apr = eval(&ev, "thu_ngan_sach", PROVINCE, "2026-04");
    assert_close(apr.value, 5.0);
    assert_eq!(apr.basis, Some(Basis::Rollup));
    assert_close(apr.to_date, 105.0);
    assert_eq!(apr.missing_periods, 1);

    // A commune's own year to date: C3 reported only January (30); February to April missing.
    let c3 = eval(&ev, "thu_ngan_sach", "C3", "2026-04");
    assert_eq!(c3.value, None);
    assert_close(c3.to_date, 30.0);
    assert_eq!(c3.missing_periods, 3);
    // C1 in March: 10 + 15, March itself missing.
    let c1 = eval(&ev, "thu_ngan_sach", "C1", "2026-03");
    assert_close(c1.to_date, 25.0);
    assert_eq!(c1.missing_periods, 1);
    assert_eq!(c1.basis, None);
    // Last December's own figure is there, and its year to date is its own year's.
    assert_close(eval(&ev, "thu_ngan_sach", "C1", "2025-12").to_date, 1000.0);
}

#[test]
fn a_province_figure_entered_directly_wins_over_the_rollup() {
    let mut figures = revenue_figures();
    figures.push(actual("thu_ngan_sach", PROVINCE, "2026-02", 100.0));
    let book = book(vec![revenue()], figures);
    let ev = Evaluator::new(&book);

    let feb = eval(&ev, "thu_ngan_sach", PROVINCE, "2026-02");
    assert_close(feb.value, 100.0); // not 15 + 25 = 40
    assert_eq!(feb.basis, Some(Basis::Actual));
    assert_eq!(feb.actual, Some(100.0));
    // The other months are still the communes' sum: 60 + 100 + 5 = 165 by April.
    assert_eq!(eval(&ev, "thu_ngan_sach", PROVINCE, "2026-01").basis, Some(Basis::Rollup));
    assert_close(eval(&ev, "thu_ngan_sach", PROVINCE, "2026-04").to_date, 165.0);
}

#[test]
fn an_indicator_without_rollup_has_no_province_figure_unless_entered() {
    let d = def("diem_khong_cong", Frequency::Year, Level::Commune, Rollup::None, Accumulation::PointInTime);
    let book = book(
        vec![one(d)],
        vec![
            actual("diem_khong_cong", "C1", "2026", 7.0),
            actual("diem_khong_cong", "C2", "2026", 9.0),
            actual("diem_khong_cong", PROVINCE, "2025", 8.0),
        ],
    );
    let ev = Evaluator::new(&book);
    assert_eq!(eval(&ev, "diem_khong_cong", PROVINCE, "2026").value, None);
    assert_close(eval(&ev, "diem_khong_cong", PROVINCE, "2025").value, 8.0);
    assert_close(eval(&ev, "diem_khong_cong", "C2", "2026").value, 9.0);
}

// 2. Mean, min, max and the mean weighted by population.

#[test]
fn mean_min_max_and_population_weighted_rollups_are_computed_by_hand() {
    let yearly = |code: &str, rollup: Rollup| {
        one(def(code, Frequency::Year, Level::Commune, rollup, Accumulation::PointInTime))
    };
    let indicators = vec![
        yearly("tb", Rollup::Mean),
        yearly("nho", Rollup::Min),
        yearly("lon", Rollup::Max),
        yearly("dan_so", Rollup::Sum),
        yearly("ty_le", Rollup::WeightedMean { by: "dan_so".to_string() }),
    ];
    let mut figures = Vec::new();
    for code in ["tb", "nho", "lon", "ty_le"] {
        for (unit, v) in [("C1", 10.0), ("C2", 20.0), ("C3", 60.0)] {
            figures.push(actual(code, unit, "2026", v));
        }
    }
    for (unit, v) in [("C1", 1000.0), ("C2", 3000.0), ("C3", 1000.0)] {
        figures.push(actual("dan_so", unit, "2026", v));
    }
    // 2025: C3's population is missing.
    for (unit, v) in [("C1", 10.0), ("C2", 20.0), ("C3", 60.0)] {
        figures.push(actual("ty_le", unit, "2025", v));
    }
    figures.push(actual("dan_so", "C1", "2025", 1000.0));
    figures.push(actual("dan_so", "C2", "2025", 3000.0));
    // 2024: C3's rate is missing, every population is there.
    figures.push(actual("ty_le", "C1", "2024", 10.0));
    figures.push(actual("ty_le", "C2", "2024", 20.0));
    for (unit, v) in [("C1", 1000.0), ("C2", 3000.0), ("C3", 1000.0)] {
        figures.push(actual("dan_so", unit, "2024", v));
    }
    // 2023: rates, but every population is zero.
    for unit in ["C1", "C2", "C3"] {
        figures.push(actual("ty_le", unit, "2023", 10.0));
        figures.push(actual("dan_so", unit, "2023", 0.0));
    }
    let book = book(indicators, figures);
    let ev = Evaluator::new(&book);
    let province = |code: &str, year: &str| eval(&ev, code, PROVINCE, year);

    // (10 + 20 + 60) / 3 = 30; min 10; max 60.
    assert_close(province("tb", "2026").value, 30.0);
    assert_close(province("nho", "2026").value, 10.0);
    assert_close(province("lon", "2026").value, 60.0);
    assert_eq!(province("tb", "2026").basis, Some(Basis::Rollup));
    // Population 1000 + 3000 + 1000 = 5000.
    assert_close(province("dan_so", "2026").value, 5000.0);
    // (10·1000 + 20·3000 + 60·1000) / 5000 = 130000 / 5000 = 26 (the plain mean would be 30).
    let weighted = province("ty_le", "2026");
    assert_close(weighted.value, 26.0);
    assert_eq!(weighted.basis, Some(Basis::Rollup));
    // A commune with a rate but no population: no province figure at all.
    assert_eq!(province("ty_le", "2025").value, None);
    // A commune with no rate is left out with its weight: (10·1000 + 20·3000) / 4000 = 17.5.
    assert_close(province("ty_le", "2024").value, 17.5);
    // Weights adding up to zero: no figure rather than NaN.
    assert_eq!(province("ty_le", "2023").value, None);
}

// 3. Derived indicators.

#[test]
fn a_derived_ratio_is_its_formula_in_each_commune_and_over_the_province_totals() {
    let indicators = vec![
        one(def("a", Frequency::Year, Level::Commune, Rollup::Sum, Accumulation::Cumulative)),
        one(def("b", Frequency::Year, Level::Commune, Rollup::Sum, Accumulation::Cumulative)),
        one(derived("ty_le", Frequency::Year, Level::Commune, "a / b * 100")),
    ];
    let figures = vec![
        actual("a", "C1", "2026", 30.0),
        actual("b", "C1", "2026", 60.0),
        actual("a", "C2", "2026", 10.0),
        actual("b", "C2", "2026", 40.0),
        actual("a", "C3", "2026", 5.0),
        actual("b", "C3", "2026", 0.0),
        // 2025: C1 has a but not b.
        actual("a", "C1", "2025", 30.0),
    ];
    let book = book(indicators, figures);
    let ev = Evaluator::new(&book);

    // C1: 30 / 60 · 100 = 50; C2: 10 / 40 · 100 = 25.
    let c1 = eval(&ev, "ty_le", "C1", "2026");
    assert_close(c1.value, 50.0);
    assert_eq!(c1.basis, Some(Basis::Formula));
    assert_close(eval(&ev, "ty_le", "C2", "2026").value, 25.0);
    // C3 divides by zero: no figure, not inf.
    let c3 = eval(&ev, "ty_le", "C3", "2026");
    assert_eq!((c3.value, c3.basis), (None, None));
    // Province: the formula over the province totals, (30 + 10 + 5) / (60 + 40 + 0) · 100 = 45,
    // not the mean of the communes' ratios.
    let province = eval(&ev, "ty_le", PROVINCE, "2026");
    assert_close(province.value, 45.0);
    assert_eq!(province.basis, Some(Basis::Formula));
    // A missing input gives no figure, in the commune and in the province.
    assert_eq!(eval(&ev, "ty_le", "C1", "2025").value, None);
    assert_eq!(eval(&ev, "ty_le", PROVINCE, "2025").value, None);
    assert_close(eval(&ev, "a", PROVINCE, "2025").value, 30.0);
}

// 4. Estimates.

#[test]
fn an_estimate_stands_in_until_the_actual_comes_and_the_actual_wins() {
    let d = def("san_luong", Frequency::Month, Level::Commune, Rollup::Sum, Accumulation::Cumulative);
    let figures = vec![
        estimate("san_luong", "C1", "2026-01", 50.0),
        estimate("san_luong", "C1", "2026-02", 50.0),
        actual("san_luong", "C1", "2026-02", 55.0),
        estimate("san_luong", "C2", "2026-02", 7.0),
        figure(ValueKind::Plan, "san_luong", "C2", "2026-02", 9.0),
    ];
    let book = book(vec![one(d)], figures);
    let ev = Evaluator::new(&book);

    let jan = eval(&ev, "san_luong", "C1", "2026-01");
    assert_close(jan.value, 50.0);
    assert_eq!(jan.basis, Some(Basis::Estimate));
    assert_eq!((jan.estimate, jan.actual), (Some(50.0), None));

    let feb = eval(&ev, "san_luong", "C1", "2026-02");
    assert_close(feb.value, 55.0);
    assert_eq!(feb.basis, Some(Basis::Actual));
    assert_eq!((feb.estimate, feb.actual), (Some(50.0), Some(55.0)));
    // Year to date: January's estimate 50 + February's actual 55.
    assert_close(feb.to_date, 105.0);

    // A plan is not a figure: C2 counts with its estimate 7, so the province has 55 + 7 = 62.
    let c2 = eval(&ev, "san_luong", "C2", "2026-02");
    assert_eq!((c2.plan, c2.basis), (Some(9.0), Some(Basis::Estimate)));
    assert_close(c2.value, 7.0);
    assert_close(eval(&ev, "san_luong", PROVINCE, "2026-02").value, 62.0);
    assert_close(eval(&ev, "san_luong", PROVINCE, "2026-01").value, 50.0);
}

#[test]
fn a_plan_alone_is_no_figure() {
    let d = def("von", Frequency::Month, Level::Province, Rollup::None, Accumulation::Cumulative);
    let book = book(vec![one(d)], vec![figure(ValueKind::Plan, "von", PROVINCE, "2026-01", 80.0)]);
    let e = eval(&Evaluator::new(&book), "von", PROVINCE, "2026-01");
    assert_eq!((e.value, e.to_date, e.missing_periods, e.plan), (None, None, 1, Some(80.0)));
}

// 5. Same period of last year and growth targets.

#[test]
fn the_same_period_last_year_is_measured_the_same_way() {
    let indicators = vec![
        one(def("cpi", Frequency::Month, Level::Province, Rollup::None, Accumulation::PointInTime)),
        one(def("thu", Frequency::Month, Level::Province, Rollup::None, Accumulation::Cumulative)),
    ];
    let figures = vec![
        actual("cpi", PROVINCE, "2025-03", 80.0),
        actual("cpi", PROVINCE, "2026-03", 100.0),
        actual("cpi", PROVINCE, "2026-04", 90.0),
        actual("thu", PROVINCE, "2025-01", 50.0),
        actual("thu", PROVINCE, "2025-02", 50.0),
        actual("thu", PROVINCE, "2026-01", 60.0),
        actual("thu", PROVINCE, "2026-02", 45.0),
    ];
    let book = book(indicators, figures);
    let ev = Evaluator::new(&book);

    // A level: March against last March, 100 / 80 − 1 = +25%.
    let cpi = eval(&ev, "cpi", PROVINCE, "2026-03");
    assert_close(cpi.same_period_last_year, 80.0);
    assert_close(cpi.change_pct, 25.0);
    // No figure last April: no change to show.
    let april = eval(&ev, "cpi", PROVINCE, "2026-04");
    assert_eq!((april.same_period_last_year, april.change_pct), (None, None));

    // Cumulative: two months to date 60 + 45 = 105 against 50 + 50 = 100, +5% (February alone
    // would read −10%).
    let thu = eval(&ev, "thu", PROVINCE, "2026-02");
    assert_close(thu.to_date, 105.0);
    assert_close(thu.same_period_last_year, 100.0);
    assert_close(thu.change_pct, 5.0);
}

#[test]
fn a_growth_target_is_the_growth_over_last_year_to_date_against_the_planned_growth() {
    let grdp = Definition {
        target_kind: TargetKind::Growth,
        ..def("grdp", Frequency::Quarter, Level::Province, Rollup::None, Accumulation::Cumulative)
    };
    let figures = vec![
        actual("grdp", PROVINCE, "2025-Q1", 5000.0),
        actual("grdp", PROVINCE, "2025-Q2", 5000.0),
        actual("grdp", PROVINCE, "2025-Q3", 5000.0),
        actual("grdp", PROVINCE, "2026-Q1", 5380.0),
        actual("grdp", PROVINCE, "2026-Q2", 5520.0),
        actual("grdp", PROVINCE, "2026-Q3", 4600.0),
    ];
    let book = Book::new(Contents {
        targets: vec![target("grdp", 2026, PROVINCE, 8.0)],
        ..contents(vec![one(grdp)], figures)
    });
    let ev = Evaluator::new(&book);

    // Q1: 5380 / 5000 − 1 = 7.6% growth, 7.6 / 8 = 95% of the target: at risk.
    let q1 = eval(&ev, "grdp", PROVINCE, "2026-Q1");
    assert_close(q1.change_pct, 7.6);
    assert_close(q1.achievement, 95.0);
    assert_close(q1.expected, 8.0);
    assert_eq!(q1.status, Status::AtRisk);
    // Six months: (5380 + 5520) / 10000 − 1 = 9%, 9 / 8 = 112.5%: on track.
    let h1 = eval(&ev, "grdp", PROVINCE, "2026-Q2");
    assert_close(h1.same_period_last_year, 10_000.0);
    assert_close(h1.achievement, 112.5);
    assert_eq!(h1.status, Status::OnTrack);
    // Nine months: 15500 / 15000 − 1 = 3.33%, 3.33 / 8 = 41.67%: off track.
    let q3 = eval(&ev, "grdp", PROVINCE, "2026-Q3");
    assert_close(q3.achievement, (15_500.0 / 15_000.0 - 1.0) * 100.0 / 8.0 * 100.0);
    assert!((q3.achievement.unwrap() - 41.67).abs() < 0.01);
    assert_eq!(q3.status, Status::OffTrack);
    // No GRDP last year for Q4: a growth cannot be computed.
    let book = Book::new(Contents {
        targets: vec![target("grdp", 2026, PROVINCE, 8.0)],
        ..contents(
            vec![one(Definition {
                target_kind: TargetKind::Growth,
                ..def("grdp", Frequency::Quarter, Level::Province, Rollup::None, Accumulation::Cumulative)
            })],
            vec![actual("grdp", PROVINCE, "2026-Q1", 5380.0)],
        )
    });
    let alone = eval(&Evaluator::new(&book), "grdp", PROVINCE, "2026-Q1");
    assert_eq!((alone.achievement, alone.status), (None, Status::NoData));
}

// 6. Cumulative targets pro-rated through the year.

fn first_half_of(code: &str, monthly: f64) -> Vec<(ValueKey, f64)> {
    (1..=6).map(|m| actual(code, PROVINCE, &format!("2026-{m:02}"), monthly)).collect()
}

#[test]
fn a_cumulative_target_is_pro_rated_and_the_bands_give_the_status() {
    let d = def("thu_ngan_sach", Frequency::Month, Level::Province, Rollup::None, Accumulation::Cumulative);
    // Target 1200 for the year, so 600 by the end of June: 6 months of 100, 90 and 80.
    for (monthly, achievement, status) in
        [(100.0, 100.0, Status::OnTrack), (90.0, 90.0, Status::AtRisk), (80.0, 80.0, Status::OffTrack)]
    {
        let book = Book::new(Contents {
            targets: vec![target("thu_ngan_sach", 2026, PROVINCE, 1200.0)],
            ..contents(vec![one(d.clone())], first_half_of("thu_ngan_sach", monthly))
        });
        let ev = Evaluator::new(&book);
        let june = eval(&ev, "thu_ngan_sach", PROVINCE, "2026-06");
        assert_close(june.target, 1200.0);
        assert_close(june.expected, 600.0);
        assert_close(june.to_date, 6.0 * monthly);
        assert_close(june.achievement, achievement);
        assert_eq!(june.status, status, "months of {monthly}");
        // March: 300 expected, 3 months in.
        let march = eval(&ev, "thu_ngan_sach", PROVINCE, "2026-03");
        assert_close(march.expected, 300.0);
        assert_close(march.achievement, achievement);
    }
}

#[test]
fn a_lower_is_better_cumulative_target_is_a_pro_rated_ceiling() {
    // Traffic deaths: no more than 40 in the year, so 20 by the end of June.
    let d = Definition {
        direction: Direction::LowerIsBetter,
        ..def("tu_vong", Frequency::Month, Level::Province, Rollup::None, Accumulation::Cumulative)
    };
    let with = |monthly: f64| {
        Book::new(Contents {
            targets: vec![target("tu_vong", 2026, PROVINCE, 40.0)],
            ..contents(vec![one(d.clone())], first_half_of("tu_vong", monthly))
        })
    };
    // 6 · 4 = 24 deaths: 20 / 24 = 83.3%, off track.
    let over = with(4.0);
    let e = eval(&Evaluator::new(&over), "tu_vong", PROVINCE, "2026-06");
    assert_close(e.achievement, 20.0 / 24.0 * 100.0);
    assert_eq!(e.status, Status::OffTrack);
    // 6 · 3 = 18 deaths: 20 / 18 = 111.1%, on track.
    let under = with(3.0);
    let e = eval(&Evaluator::new(&under), "tu_vong", PROVINCE, "2026-06");
    assert_close(e.achievement, 20.0 / 18.0 * 100.0);
    assert_eq!(e.status, Status::OnTrack);
}

#[test]
fn an_indicators_own_bands_decide_its_status() {
    let d = Definition {
        bands: Bands { on_track: 95.0, at_risk: 85.0 },
        ..def("thu", Frequency::Month, Level::Province, Rollup::None, Accumulation::Cumulative)
    };
    let book = Book::new(Contents {
        targets: vec![target("thu", 2026, PROVINCE, 1200.0)],
        ..contents(vec![one(d)], first_half_of("thu", 96.0))
    });
    // 576 / 600 = 96%: on track under these bands (at risk under the default ones).
    let e = eval(&Evaluator::new(&book), "thu", PROVINCE, "2026-06");
    assert_close(e.achievement, 96.0);
    assert_eq!(e.status, Status::OnTrack);
}

// 7. Reduction targets.

fn poverty(frequency: Frequency) -> Indicator {
    one(Definition {
        direction: Direction::LowerIsBetter,
        target_kind: TargetKind::Reduction,
        unit: "%".to_string(),
        ..def("ho_ngheo", frequency, Level::Province, Rollup::None, Accumulation::PointInTime)
    })
}

#[test]
fn a_reduction_starts_from_last_years_last_period_by_default() {
    let figures = vec![
        actual("ho_ngheo", PROVINCE, "2025-H1", 22.0),
        actual("ho_ngheo", PROVINCE, "2025-H2", 20.0),
        actual("ho_ngheo", PROVINCE, "2026-H1", 18.5),
        actual("ho_ngheo", PROVINCE, "2026-H2", 18.5),
    ];
    let targets = vec![target("ho_ngheo", 2026, PROVINCE, 17.0)];
    let book =
        Book::new(Contents { targets, ..contents(vec![poverty(Frequency::HalfYear)], figures.clone()) });
    let ev = Evaluator::new(&book);

    // Baseline 20 (2025-H2, not 2025-H1's 22). Half-way: 20 + (17 − 20) · 0.5 = 18.5 expected;
    // 18.5 reached is the whole of the expected reduction.
    let h1 = eval(&ev, "ho_ngheo", PROVINCE, "2026-H1");
    assert_close(h1.expected, 18.5);
    assert_close(h1.achievement, 100.0);
    assert_eq!(h1.status, Status::OnTrack);
    // Year end: 17 expected; 18.5 is (18.5 − 20) / (17 − 20) = 50% of the reduction.
    let h2 = eval(&ev, "ho_ngheo", PROVINCE, "2026-H2");
    assert_close(h2.expected, 17.0);
    assert_close(h2.achievement, 50.0);
    assert_eq!(h2.status, Status::OffTrack);

    // An explicit baseline wins: from 21, (18.5 − 21) / (17 − 21) = 62.5%.
    let targets = vec![Target { baseline: Some(21.0), ..target("ho_ngheo", 2026, PROVINCE, 17.0) }];
    let book = Book::new(Contents { targets, ..contents(vec![poverty(Frequency::HalfYear)], figures) });
    assert_close(eval(&Evaluator::new(&book), "ho_ngheo", PROVINCE, "2026-H2").achievement, 62.5);
}

#[test]
fn a_yearly_reduction_starts_from_last_year_and_without_it_has_no_achievement() {
    let targets = vec![target("ho_ngheo", 2026, PROVINCE, 17.0), target("ho_ngheo", 2024, PROVINCE, 17.0)];
    let figures = vec![
        actual("ho_ngheo", PROVINCE, "2024", 19.0),
        actual("ho_ngheo", PROVINCE, "2025", 20.0),
        actual("ho_ngheo", PROVINCE, "2026", 18.5),
    ];
    let book = Book::new(Contents { targets, ..contents(vec![poverty(Frequency::Year)], figures) });
    let ev = Evaluator::new(&book);
    // From 20 to 17, at 18.5: 50%.
    let e = eval(&ev, "ho_ngheo", PROVINCE, "2026");
    assert_close(e.achievement, 50.0);
    assert_eq!(e.status, Status::OffTrack);
    // 2024 has no figure of 2023 and no baseline: a figure but no achievement.
    let first = eval(&ev, "ho_ngheo", PROVINCE, "2024");
    assert_close(first.value, 19.0);
    assert_eq!((first.expected, first.achievement, first.status), (None, None, Status::NoData));
}

// 8. No target, no data.

#[test]
fn no_target_and_no_data_are_told_apart() {
    let d = def("thu", Frequency::Month, Level::Commune, Rollup::Sum, Accumulation::Cumulative);
    let figures = vec![actual("thu", "C1", "2026-03", 10.0)];
    let targets = vec![target("thu", 2026, "C2", 1200.0)];
    let book = Book::new(Contents { targets, ..contents(vec![one(d)], figures) });
    let ev = Evaluator::new(&book);

    // C1 has a figure but no target (C2's target is not C1's, nor the province's).
    let c1 = eval(&ev, "thu", "C1", "2026-03");
    assert_eq!(c1.status, Status::NoTarget);
    assert_eq!((c1.target, c1.expected, c1.achievement), (None, None, None));
    assert_eq!(eval(&ev, "thu", PROVINCE, "2026-03").status, Status::NoTarget);
    // C2 has a target but no figure: no data, with what was expected by March (1200 · 3/12).
    let c2 = eval(&ev, "thu", "C2", "2026-03");
    assert_eq!(c2.status, Status::NoData);
    assert_eq!(c2.target, Some(1200.0));
    assert_close(c2.expected, 300.0);
    assert_eq!((c2.value, c2.achievement), (None, None));
    // Unknown codes and units, and a period of the wrong kind, give no evaluation at all.
    assert!(ev.evaluate("khong_co", "C1", &p("2026-03")).is_none());
    assert!(ev.evaluate("thu", "X9", &p("2026-03")).is_none());
    assert!(ev.evaluate("thu", "C1", &p("2026-Q1")).is_none());
}

// 9. Back-cast onto the communes of the July 2025 reorganisation.

#[test]
fn figures_of_merged_communes_are_back_cast_onto_their_successor() {
    let indicators = vec![
        one(def("so_ho", Frequency::Month, Level::Commune, Rollup::Sum, Accumulation::PointInTime)),
        one(def("ty_le", Frequency::Month, Level::Commune, Rollup::Mean, Accumulation::PointInTime)),
    ];
    let figures = vec![
        // June 2025, before the merger: O1 and O2 became C1, O3 became C2; OX has no successor.
        actual("so_ho", "O1", "2025-06", 10.0),
        actual("so_ho", "O2", "2025-06", 15.0),
        actual("so_ho", "O3", "2025-06", 7.0),
        actual("so_ho", "OX", "2025-06", 100.0),
        actual("so_ho", "C3", "2025-06", 4.0),
        actual("ty_le", "O1", "2025-06", 10.0),
        actual("ty_le", "O2", "2025-06", 15.0),
        // May 2025: C1 reported a figure of its own as well.
        actual("so_ho", "O1", "2025-05", 10.0),
        actual("so_ho", "O2", "2025-05", 15.0),
        actual("so_ho", "C1", "2025-05", 30.0),
        // A year after: C1 on its own.
        actual("so_ho", "C1", "2026-06", 30.0),
    ];
    let successions = vec![
        ("O1".to_string(), "C1".to_string()),
        ("O2".to_string(), "C1".to_string()),
        ("O3".to_string(), "C2".to_string()),
    ];
    let book = Book::new(Contents { successions, ..contents(indicators, figures) });
    let ev = Evaluator::new(&book);

    // Sum: C1 = 10 + 15 = 25, back-cast; C2 = 7.
    let c1 = eval(&ev, "so_ho", "C1", "2025-06");
    assert_close(c1.value, 25.0);
    assert_eq!(c1.basis, Some(Basis::BackCast));
    assert_close(eval(&ev, "so_ho", "C2", "2025-06").value, 7.0);
    assert_eq!(eval(&ev, "so_ho", "C2", "2025-06").basis, Some(Basis::BackCast));
    // The province: 25 + 7 + 4 = 36; the unit with no successor is not counted.
    assert_close(eval(&ev, "so_ho", PROVINCE, "2025-06").value, 36.0);
    // Mean: (10 + 15) / 2 = 12.5.
    assert_close(eval(&ev, "ty_le", "C1", "2025-06").value, 12.5);
    // C1's own figure wins over the back-cast 25.
    let may = eval(&ev, "so_ho", "C1", "2025-05");
    assert_close(may.value, 30.0);
    assert_eq!(may.basis, Some(Basis::Actual));
    // A year on, C1 is compared with the back-cast figure: 30 / 25 − 1 = +20%.
    let now = eval(&ev, "so_ho", "C1", "2026-06");
    assert_close(now.same_period_last_year, 25.0);
    assert_close(now.change_pct, 20.0);
    assert_eq!(now.basis, Some(Basis::Actual));
}

// 10. Versioned definitions.

#[test]
fn each_period_is_evaluated_under_the_definition_version_of_its_time() {
    let v1 = Definition {
        valid_from: p("2026-01"),
        ..derived("chi_so", Frequency::Month, Level::Province, "a + b")
    };
    let v2 = Definition {
        version: 2,
        valid_from: p("2026-07"),
        change_note: "công thức mới".to_string(),
        ..derived("chi_so", Frequency::Month, Level::Province, "a * b")
    };
    let indicators = vec![
        one(def("a", Frequency::Month, Level::Province, Rollup::None, Accumulation::PointInTime)),
        one(def("b", Frequency::Month, Level::Province, Rollup::None, Accumulation::PointInTime)),
        Indicator { code: "chi_so".to_string(), versions: vec![v1, v2], retired: false },
    ];
    let mut figures = Vec::new();
    for month in ["2025-12", "2026-06", "2026-07"] {
        figures.push(actual("a", PROVINCE, month, 3.0));
        figures.push(actual("b", PROVINCE, month, 4.0));
    }
    let book = book(indicators, figures);
    let ev = Evaluator::new(&book);

    // June under v1: 3 + 4 = 7. July under v2: 3 · 4 = 12.
    let june = eval(&ev, "chi_so", PROVINCE, "2026-06");
    assert_eq!(june.version, 1);
    assert_close(june.value, 7.0);
    let july = eval(&ev, "chi_so", PROVINCE, "2026-07");
    assert_eq!(july.version, 2);
    assert_close(july.value, 12.0);
    assert_eq!(july.basis, Some(Basis::Formula));
    // Before the first version's start, the first version applies.
    let before = eval(&ev, "chi_so", PROVINCE, "2025-12");
    assert_eq!(before.version, 1);
    assert_close(before.value, 7.0);
}

// 11. The latest figure and the forecast.

#[test]
fn latest_is_the_last_period_with_a_figure_up_to_the_day() {
    let d = def("sx", Frequency::Month, Level::Commune, Rollup::Sum, Accumulation::Cumulative);
    let figures = vec![
        actual("sx", "C1", "2026-01", 100.0),
        actual("sx", "C1", "2026-02", 110.0),
        actual("sx", "C1", "2026-04", 130.0),
    ];
    let book = book(vec![one(d)], figures);
    let ev = Evaluator::new(&book);
    let latest = |unit: &str, day| ev.latest("sx", unit, day).map(|p| p.to_string());

    assert_eq!(latest("C1", date(2026, 3, 15)).as_deref(), Some("2026-02"));
    assert_eq!(latest("C1", date(2026, 4, 1)).as_deref(), Some("2026-04"));
    assert_eq!(latest("C1", date(2026, 12, 31)).as_deref(), Some("2026-04"));
    assert_eq!(latest("C1", date(2027, 6, 1)).as_deref(), Some("2026-04"));
    assert_eq!(latest("C1", date(2026, 1, 31)).as_deref(), Some("2026-01"));
    assert_eq!(latest("C1", date(2025, 12, 31)), None);
    // The province's latest counts its rollup; a silent commune has none.
    assert_eq!(latest(PROVINCE, date(2026, 3, 15)).as_deref(), Some("2026-02"));
    assert_eq!(latest("C2", date(2026, 12, 31)), None);
}

#[test]
fn a_forecast_needs_three_figures_of_the_year() {
    let d = def("sx", Frequency::Month, Level::Province, Rollup::None, Accumulation::Cumulative);
    let figures = vec![
        actual("sx", PROVINCE, "2026-01", 100.0),
        actual("sx", PROVINCE, "2026-02", 110.0),
        actual("sx", PROVINCE, "2026-04", 130.0),
    ];
    let book = book(vec![one(d)], figures);
    let ev = Evaluator::new(&book);

    // Two figures by February, still two by March (March is missing): no forecast.
    assert_eq!(ev.forecast("sx", PROVINCE, &p("2026-02")), None);
    assert_eq!(ev.forecast("sx", PROVINCE, &p("2026-03")), None);
    // By April three: the line 90 + 10·month through (1, 100), (2, 110), (4, 130). The year is
    // the figures 340 plus months 5 to 12 projected, 8 · 90 + 10 · (5 + … + 12) = 720 + 680.
    let f = ev.forecast("sx", PROVINCE, &p("2026-04")).expect("a forecast from three figures");
    assert_eq!(f.method, Method::Linear);
    assert_eq!(f.inputs, [(1, 100.0), (2, 110.0), (4, 130.0)]);
    assert_eq!(f.projected.len(), 8);
    assert_close(Some(f.year_end), 340.0 + 720.0 + 680.0);
}

// 12. Deep chains of formulas.

/// a0 entered (1 in 2026), a1 = a0 + 1, …, a40 = a39 + 1.
fn chain() -> Book {
    let mut indicators =
        vec![one(def("a0", Frequency::Year, Level::Province, Rollup::None, Accumulation::PointInTime))];
    for k in 1..=40 {
        let formula = format!("a{} + 1", k - 1);
        indicators.push(one(derived(&format!("a{k}"), Frequency::Year, Level::Province, &formula)));
    }
    book(indicators, vec![actual("a0", PROVINCE, "2026", 1.0)])
}

#[test]
fn a_deep_chain_of_formulas_stops_at_the_depth_guard() {
    let book = chain();
    let year = p("2026");
    // Each asked of a fresh evaluator. a_k reads a_{k−j} at depth j, and no series is read at
    // depth MAX_DEPTH (32): a31 reaches a0 at depth 31 and is 32; a32 would read a0 at depth 32
    // and has no figure.
    assert_eq!(MAX_DEPTH, 32);
    for k in 0..=31 {
        let f = Evaluator::new(&book).figure(&format!("a{k}"), PROVINCE, &year);
        assert_close(f.map(|f| f.value), 1.0 + f64::from(k));
    }
    for k in 32..=40 {
        let code = format!("a{k}");
        assert_eq!(Evaluator::new(&book).figure(&code, PROVINCE, &year), None, "{code}");
        // The evaluation itself is there, without a figure.
        let e = eval(&Evaluator::new(&book), &code, PROVINCE, "2026");
        assert_eq!((e.value, e.basis, e.status), (None, None, Status::NoTarget));
    }
}

#[test]
fn formulas_referring_to_each_other_give_no_figure_instead_of_overflowing() {
    // The catalog refuses cycles; the book must survive one anyway.
    let indicators = vec![
        one(derived("x", Frequency::Year, Level::Province, "y + 1")),
        one(derived("y", Frequency::Year, Level::Province, "x + 1")),
        one(derived("z", Frequency::Year, Level::Province, "z * 2")),
    ];
    let book = book(indicators, Vec::new());
    let ev = Evaluator::new(&book);
    for code in ["x", "y", "z"] {
        assert_eq!(ev.evaluate(code, PROVINCE, &p("2026")).map(|e| e.value), Some(None), "{code}");
    }
}

// Bugs found while writing these tests; each is ignored until fixed.

#[test]
fn the_depth_guard_does_not_depend_on_what_was_evaluated_before() {
    let book = chain();
    let year = p("2026");
    let ev = Evaluator::new(&book);
    // Asking a40 first reaches a8 at depth 32, where the guard leaves it empty...
    assert_eq!(ev.figure("a40", PROVINCE, &year), None);
    // ...but a8 is only 8 formulas deep: asked alone it is 9, and must be 9 here too.
    assert_close(Evaluator::new(&book).figure("a8", PROVINCE, &year).map(|f| f.value), 9.0);
    assert_close(ev.figure("a8", PROVINCE, &year).map(|f| f.value), 9.0);
    assert_close(ev.figure("a32", PROVINCE, &year).map(|f| f.value), 33.0);
}

#[test]
fn a_cumulative_reduction_half_way_at_last_years_pace_has_achieved_nothing() {
    // Road accidents: 100 last year (50 + 50), to be cut to 90 this year. By June 50 happened,
    // exactly last year's pace: none of the planned cut (50 → 45 by mid-year) is achieved.
    let d = Definition {
        direction: Direction::LowerIsBetter,
        target_kind: TargetKind::Reduction,
        ..def("tai_nan", Frequency::HalfYear, Level::Province, Rollup::None, Accumulation::Cumulative)
    };
    let figures = vec![
        actual("tai_nan", PROVINCE, "2025-H1", 50.0),
        actual("tai_nan", PROVINCE, "2025-H2", 50.0),
        actual("tai_nan", PROVINCE, "2026-H1", 50.0),
    ];
    let book = Book::new(Contents {
        targets: vec![target("tai_nan", 2026, PROVINCE, 90.0)],
        ..contents(vec![one(d)], figures)
    });
    let e = eval(&Evaluator::new(&book), "tai_nan", PROVINCE, "2026-H1");
    assert_close(e.expected, 45.0);
    // Found: (50 − 100) / (45 − 100) = 90.9%, at risk.
    assert_close(e.achievement, 0.0);
    assert_eq!(e.status, Status::OffTrack);
}

#[test]
fn a_year_with_no_figures_at_all_counts_all_its_periods_missing() {
    // Next year's target is set in December; the book spans 2026 only.
    let d = def("thu", Frequency::Month, Level::Province, Rollup::None, Accumulation::Cumulative);
    let book = Book::new(Contents {
        targets: vec![target("thu", 2027, PROVINCE, 1200.0)],
        ..contents(vec![one(d)], vec![actual("thu", PROVINCE, "2026-12", 100.0)])
    });
    let e = eval(&Evaluator::new(&book), "thu", PROVINCE, "2027-03");
    assert_eq!(e.status, Status::NoData);
    assert_eq!(e.missing_periods, 3);
}

#[test]
fn a_period_of_the_wrong_kind_has_no_figure_and_no_forecast() {
    let d = def("thu", Frequency::Month, Level::Province, Rollup::None, Accumulation::Cumulative);
    let figures = (1..=3).map(|m| actual("thu", PROVINCE, &format!("2026-{m:02}"), 100.0)).collect();
    let book = book(vec![one(d)], figures);
    let ev = Evaluator::new(&book);
    // A monthly indicator has no quarterly figure; found: February's 100 for 2026-Q2.
    assert_eq!(ev.figure("thu", PROVINCE, &p("2026-Q2")), None);
    // Found: a forecast of "4 quarters" fitted to January, February and March.
    assert_eq!(ev.forecast("thu", PROVINCE, &p("2026-Q3")), None);
}
