//! An explainable year-end forecast of an indicator: the result carries its method, the points
//! it was fitted to, the parameters and one sentence (Vietnamese and English) a leader can check
//! by hand.
//!
//! Two methods:
//! - **linear**: a least-squares straight line over the periods' step numbers;
//! - **Holt**: Holt's linear (double exponential) smoothing with fixed, stated parameters
//!   (alpha 0.5, beta 0.3; initial level = first value, initial trend = second − first). The
//!   parameters are not fitted: a year's handful of points is too few to fit them reliably, and
//!   fixed ones let the reader redo the arithmetic.
//!
//! Fewer than 3 usable points give no forecast.

use serde::Serialize;

/// Holt's smoothing of the level.
pub const HOLT_ALPHA: f64 = 0.5;
/// Holt's smoothing of the trend.
pub const HOLT_BETA: f64 = 0.3;
/// Fewer usable points than this give no forecast.
pub const MIN_POINTS: usize = 3;
/// From this many usable points on, [`choose`] picks Holt.
pub const HOLT_MIN_POINTS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Linear,
    Holt,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    pub method: Method,
    /// The points the forecast was fitted to: (step, value), step 1-based position in the year's
    /// periods (or in the series).
    pub inputs: Vec<(u32, f64)>,
    /// Method parameters shown to the reader: linear → [("slope", s), ("intercept", i)];
    /// Holt → [("alpha", 0.5), ("beta", 0.3), ("level", last level), ("trend", last trend)].
    pub parameters: Vec<(String, f64)>,
    /// Projected values for the steps after the last input up to `until` (step, value).
    pub projected: Vec<(u32, f64)>,
    /// The year-end figure: for a cumulative indicator the sum of the inputs' values plus the
    /// projected ones; otherwise the projected value at `until` (or the last input if it is
    /// already at `until`).
    pub year_end: f64,
    /// One sentence in Vietnamese explaining the method with its numbers, e.g. "Xu hướng tuyến
    /// tính qua 9 kỳ: mỗi kỳ tăng 1,2; dự báo cuối năm 105,3." (comma decimal, dot thousands,
    /// 1 decimal).
    pub explanation_vi: String,
    /// The same in English.
    pub explanation_en: String,
}

/// Forecasts the year end. `points`: (step, value) sorted by step, steps may have gaps (missing
/// periods). `until`: the step of the year's last period (12 monthly, 4 quarterly, 2
/// half-yearly, 1 yearly). `cumulative`: whether the year-end figure is the sum of the periods'
/// values (flows like revenue) or the last period's value (levels like a rate).
///
/// Non-finite values and points after `until` are ignored; None when fewer than 3 points remain
/// or when the arithmetic overflows.
pub fn forecast(points: &[(u32, f64)], until: u32, cumulative: bool, method: Method) -> Option<Forecast> {
    let inputs = usable(points, until);
    let &(last_step, last_value) = inputs.last()?;
    if inputs.len() < MIN_POINTS {
        return None;
    }
    let (line, parameters) = match method {
        Method::Linear => {
            let line = fit_linear(&inputs);
            (line, vec![("slope".to_string(), line.slope), ("intercept".to_string(), line.at_origin)])
        }
        Method::Holt => {
            let line = fit_holt(&inputs)?;
            let parameters = [
                ("alpha", HOLT_ALPHA),
                ("beta", HOLT_BETA),
                ("level", line.at_origin),
                ("trend", line.slope),
            ];
            (line, parameters.map(|(name, value)| (name.to_string(), value)).to_vec())
        }
    };
    // The steps after the last input, written so that a last step of u32::MAX cannot overflow.
    let projected: Vec<(u32, f64)> =
        (last_step..until).map(|before| (before + 1, line.at(before + 1))).collect();
    let year_end = if cumulative {
        inputs.iter().chain(&projected).map(|(_, value)| value).sum()
    } else {
        projected.last().map_or(last_value, |&(_, value)| value)
    };
    let all_finite =
        parameters.iter().map(|(_, v)| v).chain(projected.iter().map(|(_, v)| v)).all(|v| v.is_finite());
    if !all_finite || !year_end.is_finite() {
        return None;
    }
    let (explanation_vi, explanation_en) = explain(method, inputs.len(), line, year_end, cumulative);
    Some(Forecast { method, inputs, parameters, projected, year_end, explanation_vi, explanation_en })
}

/// Picks the method: Holt when there are at least 6 points with a finite value (enough for its
/// smoothing to settle past the starting guess), the linear trend otherwise.
pub fn choose(points: &[(u32, f64)]) -> Method {
    if points.iter().filter(|(_, value)| value.is_finite()).count() >= HOLT_MIN_POINTS {
        Method::Holt
    } else {
        Method::Linear
    }
}

/// `x` with Vietnamese separators: dot thousands, comma decimal ("-1.234,5"). A value that rounds
/// to zero has no sign; a non-finite one is shown as "—" (no figure).
pub fn vi_number(x: f64, decimals: usize) -> String {
    format_number(x, decimals, '.', ',')
}

/// `x` with English separators: comma thousands, dot decimal ("-1,234.5").
fn en_number(x: f64, decimals: usize) -> String {
    format_number(x, decimals, ',', '.')
}

fn format_number(x: f64, decimals: usize, thousands: char, decimal: char) -> String {
    if !x.is_finite() {
        return "—".to_string();
    }
    let fixed = format!("{:.*}", decimals, x.abs());
    let (whole, fraction) = fixed.split_once('.').unwrap_or((&fixed, ""));
    let mut out = String::with_capacity(fixed.len() + fixed.len() / 3 + 1);
    // Decided on the rounded digits, so -0.04 at 1 decimal reads "0,0", not "-0,0".
    if x < 0.0 && fixed.bytes().any(|b| matches!(b, b'1'..=b'9')) {
        out.push('-');
    }
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(thousands);
        }
        out.push(digit);
    }
    if !fraction.is_empty() {
        out.push(decimal);
        out.push_str(fraction);
    }
    out
}

/// The points kept: finite values at steps up to `until` (a later one is past the year), by
/// step, the first of any repeated step.
fn usable(points: &[(u32, f64)], until: u32) -> Vec<(u32, f64)> {
    let mut kept: Vec<(u32, f64)> =
        points.iter().copied().filter(|&(step, value)| value.is_finite() && step <= until).collect();
    kept.sort_by_key(|&(step, _)| step);
    kept.dedup_by_key(|&mut (step, _)| step);
    kept
}

/// A straight line through `(origin, at_origin)` rising `slope` per step.
#[derive(Debug, Clone, Copy)]
struct Line {
    origin: u32,
    at_origin: f64,
    slope: f64,
}

impl Line {
    fn at(&self, step: u32) -> f64 {
        self.at_origin + self.slope * (f64::from(step) - f64::from(self.origin))
    }
}

/// Least squares on the actual step numbers, so gaps are placed where they belong. The caller
/// passes at least 3 distinct steps, so the steps' spread is never zero.
fn fit_linear(inputs: &[(u32, f64)]) -> Line {
    let n = inputs.len() as f64;
    let mean_x = inputs.iter().map(|&(step, _)| f64::from(step)).sum::<f64>() / n;
    let mean_y = inputs.iter().map(|&(_, value)| value).sum::<f64>() / n;
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for &(step, value) in inputs {
        let dx = f64::from(step) - mean_x;
        sxx += dx * dx;
        sxy += dx * (value - mean_y);
    }
    let slope = sxy / sxx;
    Line { origin: 0, at_origin: mean_y - slope * mean_x, slope }
}

/// Holt's smoothing. Points are taken as consecutive observations even across a gap (the
/// method has no notion of distance), but the projection goes by step distance from the last
/// input: a missing period inside the series bends the trend a little, a projection to month 12
/// still lands on month 12.
fn fit_holt(inputs: &[(u32, f64)]) -> Option<Line> {
    let (&(_, first), &(_, second), &(last_step, _)) = (inputs.first()?, inputs.get(1)?, inputs.last()?);
    let (mut level, mut trend) = (first, second - first);
    for &(_, value) in inputs.iter().skip(1) {
        let previous = level;
        level = HOLT_ALPHA * value + (1.0 - HOLT_ALPHA) * (level + trend);
        trend = HOLT_BETA * (level - previous) + (1.0 - HOLT_BETA) * trend;
    }
    Some(Line { origin: last_step, at_origin: level, slope: trend })
}

/// The Vietnamese and English sentences, numbers at 1 decimal.
fn explain(method: Method, count: usize, line: Line, year_end: f64, cumulative: bool) -> (String, String) {
    let step = en_number(line.slope.abs(), 1);
    let (change_vi, change_en) = if step == "0.0" {
        ("gần như không đổi".to_string(), "about flat".to_string())
    } else if line.slope > 0.0 {
        (format!("mỗi kỳ tăng {}", vi_number(line.slope, 1)), format!("rising {step} per period"))
    } else {
        (format!("mỗi kỳ giảm {}", vi_number(-line.slope, 1)), format!("falling {step} per period"))
    };
    let (end_vi, end_en) = if cumulative {
        ("dự báo cả năm (cộng dồn)", "full-year forecast (cumulative)")
    } else {
        ("dự báo cuối năm", "year-end forecast")
    };
    let tail_vi = format!("{change_vi}; {end_vi} {}", vi_number(year_end, 1));
    let tail_en = format!("{change_en}; {end_en} {}", en_number(year_end, 1));
    match method {
        Method::Linear => (
            format!("Xu hướng tuyến tính qua {count} kỳ: {tail_vi}."),
            format!("Linear trend over {count} periods: {tail_en}."),
        ),
        Method::Holt => {
            let (alpha_vi, beta_vi) = (vi_number(HOLT_ALPHA, 1), vi_number(HOLT_BETA, 1));
            let (alpha_en, beta_en) = (en_number(HOLT_ALPHA, 1), en_number(HOLT_BETA, 1));
            let (level_vi, level_en) = (vi_number(line.at_origin, 1), en_number(line.at_origin, 1));
            let method_vi = format!("San bằng mũ Holt (alpha {alpha_vi}; beta {beta_vi})");
            let method_en = format!("Holt's linear smoothing (alpha {alpha_en}, beta {beta_en})");
            (
                format!("{method_vi} qua {count} kỳ: mức cuối {level_vi}, {tail_vi}."),
                format!("{method_en} over {count} periods: last level {level_en}, {tail_en}."),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps 1..=6 with values 10, 12, ..., 20.
    fn straight() -> Vec<(u32, f64)> {
        (1..=6).map(|step| (step, 8.0 + 2.0 * f64::from(step))).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn parameter(f: &Forecast, name: &str) -> f64 {
        f.parameters.iter().find(|(n, _)| n == name).map(|(_, v)| *v).unwrap()
    }

    #[test]
    fn a_straight_series_is_projected_exactly_by_the_linear_trend() {
        let f = forecast(&straight(), 12, false, Method::Linear).unwrap();
        assert_eq!(f.parameters, [("slope".to_string(), 2.0), ("intercept".to_string(), 8.0)]);
        assert_eq!(f.inputs, straight());
        let expected: Vec<(u32, f64)> = (7..=12).map(|step| (step, 8.0 + 2.0 * f64::from(step))).collect();
        assert_eq!(f.projected, expected);
        assert_eq!(f.year_end, 32.0);

        let total = forecast(&straight(), 12, true, Method::Linear).unwrap();
        let sum: f64 = (0..12).map(|i| 10.0 + 2.0 * f64::from(i)).sum();
        assert_eq!(sum, 252.0);
        assert_eq!(total.year_end, sum);
    }

    #[test]
    fn holt_follows_a_straight_series_and_reports_its_parameters() {
        let f = forecast(&straight(), 12, false, Method::Holt).unwrap();
        assert_eq!(f.method, Method::Holt);
        let names: Vec<&str> = f.parameters.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["alpha", "beta", "level", "trend"]);
        assert_eq!(parameter(&f, "alpha"), 0.5);
        assert_eq!(parameter(&f, "beta"), 0.3);
        assert!(close(parameter(&f, "level"), 20.0));
        assert!(close(parameter(&f, "trend"), 2.0));
        assert!(close(f.year_end, 32.0));
        assert_eq!(f.projected.len(), 6);
        let total = forecast(&straight(), 12, true, Method::Holt).unwrap();
        assert!(close(total.year_end, 252.0));
    }

    #[test]
    fn holt_smooths_a_noisy_series_by_the_stated_recurrence() {
        // The expected figures are the recurrence worked step by step.
        let points = [(1, 10.0), (2, 14.0), (3, 12.0), (4, 15.0)];
        let f = forecast(&points, 6, false, Method::Holt).unwrap();
        let (mut level, mut trend) = (10.0_f64, 4.0_f64);
        for y in [14.0, 12.0, 15.0] {
            let previous = level;
            level = 0.5 * y + 0.5 * (level + trend);
            trend = 0.3 * (level - previous) + 0.7 * trend;
        }
        assert!(close(parameter(&f, "level"), level));
        assert!(close(parameter(&f, "trend"), trend));
        assert!(close(f.year_end, level + 2.0 * trend));
    }

    #[test]
    fn fewer_than_three_usable_points_give_no_forecast() {
        assert_eq!(forecast(&[(1, 10.0), (2, 12.0)], 12, false, Method::Linear), None);
        assert_eq!(forecast(&[], 12, false, Method::Holt), None);
        let with_nan = [(1, 10.0), (2, f64::NAN), (3, 12.0)];
        assert_eq!(forecast(&with_nan, 12, false, Method::Linear), None);
        // The same step twice is one point.
        assert_eq!(forecast(&[(1, 10.0), (1, 11.0), (2, 12.0)], 12, false, Method::Linear), None);
    }

    #[test]
    fn non_finite_values_and_points_past_the_year_are_ignored() {
        let points = [(1, 10.0), (2, f64::INFINITY), (3, 14.0), (4, 16.0), (13, 1000.0)];
        let f = forecast(&points, 12, false, Method::Linear).unwrap();
        assert_eq!(f.inputs, [(1, 10.0), (3, 14.0), (4, 16.0)]);
        assert!(close(f.year_end, 32.0));
    }

    #[test]
    fn gaps_keep_the_linear_trend_exact() {
        let points = [(1, 10.0), (2, 12.0), (4, 16.0), (5, 18.0)];
        let f = forecast(&points, 12, false, Method::Linear).unwrap();
        assert_eq!(f.parameters, [("slope".to_string(), 2.0), ("intercept".to_string(), 8.0)]);
        assert_eq!(f.projected.first(), Some(&(6, 20.0)));
        assert_eq!(f.year_end, 32.0);
        // The missing step 3 is not invented: the sum is of the inputs and the projections.
        let total = forecast(&points, 12, true, Method::Linear).unwrap();
        assert_eq!(total.year_end, 56.0 + (6..=12).map(|s| 8.0 + 2.0 * f64::from(s)).sum::<f64>());
    }

    #[test]
    fn holt_projects_by_step_distance_across_a_gap() {
        let points = [(1, 10.0), (2, 12.0), (3, 14.0), (6, 20.0)];
        let f = forecast(&points, 8, false, Method::Holt).unwrap();
        let (level, trend) = (parameter(&f, "level"), parameter(&f, "trend"));
        assert_eq!(f.projected.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [7, 8]);
        assert!(close(f.year_end, level + 2.0 * trend));
    }

    #[test]
    fn a_year_already_complete_ends_at_its_last_input() {
        let points = [(1, 5.0), (2, 7.0), (3, 6.0), (4, 9.0)];
        let f = forecast(&points, 4, false, Method::Linear).unwrap();
        assert!(f.projected.is_empty());
        assert_eq!(f.year_end, 9.0);
        assert_eq!(forecast(&points, 4, true, Method::Holt).unwrap().year_end, 27.0);
    }

    #[test]
    fn the_explanation_states_the_method_and_its_numbers() {
        let points = [(1, 1000.0), (2, 1100.0), (3, 1200.0)];
        let f = forecast(&points, 12, false, Method::Linear).unwrap();
        assert_eq!(
            f.explanation_vi,
            "Xu hướng tuyến tính qua 3 kỳ: mỗi kỳ tăng 100,0; dự báo cuối năm 2.100,0."
        );
        assert_eq!(
            f.explanation_en,
            "Linear trend over 3 periods: rising 100.0 per period; year-end forecast 2,100.0."
        );

        let falling = [(1, 30.0), (2, 28.5), (3, 27.0)];
        let f = forecast(&falling, 4, true, Method::Linear).unwrap();
        assert_eq!(
            f.explanation_vi,
            "Xu hướng tuyến tính qua 3 kỳ: mỗi kỳ giảm 1,5; dự báo cả năm (cộng dồn) 111,0."
        );

        let flat = [(1, 5.0), (2, 5.0), (3, 5.0)];
        assert!(forecast(&flat, 12, false, Method::Linear).unwrap().explanation_en.contains("about flat"));

        let f = forecast(&straight(), 12, false, Method::Holt).unwrap();
        assert_eq!(
            f.explanation_vi,
            "San bằng mũ Holt (alpha 0,5; beta 0,3) qua 6 kỳ: mức cuối 20,0, mỗi kỳ tăng 2,0; \
             dự báo cuối năm 32,0."
        );
        assert_eq!(
            f.explanation_en,
            "Holt's linear smoothing (alpha 0.5, beta 0.3) over 6 periods: last level 20.0, \
             rising 2.0 per period; year-end forecast 32.0."
        );
    }

    #[test]
    fn choose_picks_holt_from_six_finite_points() {
        let five: Vec<(u32, f64)> = straight().into_iter().take(5).collect();
        assert_eq!(choose(&five), Method::Linear);
        assert_eq!(choose(&straight()), Method::Holt);
        let mut with_nan = five.clone();
        with_nan.push((6, f64::NAN));
        assert_eq!(choose(&with_nan), Method::Linear);
    }

    #[test]
    fn vietnamese_numbers_use_dot_thousands_and_comma_decimals() {
        assert_eq!(vi_number(1234.5, 1), "1.234,5");
        assert_eq!(vi_number(-1234567.891, 2), "-1.234.567,89");
        assert_eq!(vi_number(999.96, 1), "1.000,0");
        assert_eq!(vi_number(105.25, 0), "105");
        assert_eq!(vi_number(123456.0, 0), "123.456");
        assert_eq!(vi_number(0.5, 1), "0,5");
        assert_eq!(vi_number(-0.04, 1), "0,0");
        assert_eq!(vi_number(-12.0, 1), "-12,0");
        assert_eq!(vi_number(f64::NAN, 1), "—");
    }

    #[test]
    fn the_method_is_stored_in_snake_case() {
        assert_eq!(serde_json::to_string(&Method::Holt).unwrap(), "\"holt\"");
        assert_eq!(serde_json::from_str::<Method>("\"linear\"").unwrap(), Method::Linear);
    }
}
