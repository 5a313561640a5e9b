//! How far a figure meets its target, for each kind of target, and the status that follows from
//! the indicator's warning bands. Pure arithmetic, tested by hand-worked cases.

use serde::Serialize;

use super::model::{Bands, Direction, TargetKind};

/// Where an indicator stands against its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    OnTrack,
    AtRisk,
    OffTrack,
    /// No target set for the year and unit.
    NoTarget,
    /// No figure yet.
    NoData,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::OnTrack => "on_track",
            Status::AtRisk => "at_risk",
            Status::OffTrack => "off_track",
            Status::NoTarget => "no_target",
            Status::NoData => "no_data",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Some(match text {
            "on_track" => Status::OnTrack,
            "at_risk" => Status::AtRisk,
            "off_track" => Status::OffTrack,
            "no_target" => Status::NoTarget,
            "no_data" => Status::NoData,
            _ => return None,
        })
    }
}

/// Achievement above this is shown as this: a figure of zero where lower is better would
/// otherwise be infinitely good.
pub const CAP: f64 = 999.0;

/// What the achievement of one figure is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    pub kind: TargetKind,
    pub direction: Direction,
    /// The figure compared: the period's value, or the year to date for a cumulative indicator.
    pub measured: f64,
    /// The year's target (a level, a growth rate in %, 1 for yes).
    pub target: f64,
    /// Share of the year elapsed (1 at the year's last period).
    pub share_of_year: f64,
    /// Whether the year's figure is the sum of its periods: the target is then pro-rated.
    pub cumulative: bool,
    /// Same period of last year (growth targets), measured the same way.
    pub last_year: Option<f64>,
    /// The level a reduction starts from (reduction targets).
    pub baseline: Option<f64>,
}

/// The expectation at this point of the year: the pro-rated target for a cumulative level, the
/// pro-rated path from the baseline for a reduction, the target otherwise.
pub fn expected(m: &Measure) -> Option<f64> {
    match m.kind {
        TargetKind::Level if m.cumulative => Some(m.target * m.share_of_year),
        TargetKind::Level | TargetKind::Growth | TargetKind::YesNo => Some(m.target),
        TargetKind::Reduction => m.baseline.map(|b| {
            if m.cumulative {
                m.target * m.share_of_year
            } else {
                b + (m.target - b) * m.share_of_year
            }
        }),
    }
}

/// Achievement in % of what was expected by now; None when it cannot be computed (no baseline,
/// no figure last year, a zero plan).
pub fn achievement(m: &Measure) -> Option<f64> {
    let pct = match m.kind {
        TargetKind::Level => {
            let expected = expected(m)?;
            match m.direction {
                Direction::HigherIsBetter => ratio(m.measured, expected)?,
                // Lower is better: the target is a ceiling; under it is over 100%.
                Direction::LowerIsBetter if m.measured <= 0.0 => CAP,
                Direction::LowerIsBetter => ratio(expected, m.measured)?,
            }
        }
        TargetKind::Reduction => {
            // The share of the planned change achieved: from 20% to a target of 17% is a planned
            // change of -3 points; at 18.5% half of it is achieved. Works for a planned rise too.
            let baseline = m.baseline?;
            let planned = expected(m)? - baseline;
            if planned == 0.0 {
                return None;
            }
            (m.measured - baseline) / planned * 100.0
        }
        TargetKind::Growth => {
            let last = m.last_year?;
            if last == 0.0 {
                return None;
            }
            let growth = (m.measured / last - 1.0) * 100.0;
            let growth = if m.direction == Direction::LowerIsBetter { -growth } else { growth };
            let target = if m.direction == Direction::LowerIsBetter { -m.target } else { m.target };
            if target > 0.0 {
                growth / target * 100.0
            } else if growth >= target {
                100.0
            } else {
                0.0
            }
        }
        TargetKind::YesNo => {
            let done = m.measured >= 0.5;
            let wanted = m.target >= 0.5;
            if done == wanted {
                100.0
            } else {
                0.0
            }
        }
    };
    pct.is_finite().then_some(pct.clamp(-CAP, CAP))
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b != 0.0).then(|| a / b * 100.0)
}

/// The status an achievement earns. A yes/no target not yet done is at risk until the year's
/// last period, when it is off track.
pub fn status(m: &Measure, achievement: Option<f64>, bands: &Bands) -> Status {
    let Some(pct) = achievement else { return Status::NoData };
    if m.kind == TargetKind::YesNo && pct < 100.0 && m.share_of_year < 1.0 {
        return Status::AtRisk;
    }
    if pct >= bands.on_track {
        Status::OnTrack
    } else if pct >= bands.at_risk {
        Status::AtRisk
    } else {
        Status::OffTrack
    }
}

/// Growth against the same period of last year, in %.
pub fn change_pct(now: f64, last_year: f64) -> Option<f64> {
    (last_year != 0.0).then(|| (now / last_year - 1.0) * 100.0).filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(kind: TargetKind, direction: Direction, measured: f64, target: f64) -> Measure {
        Measure {
            kind,
            direction,
            measured,
            target,
            share_of_year: 1.0,
            cumulative: false,
            last_year: None,
            baseline: None,
        }
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn higher_is_better_is_actual_over_target_pro_rated_when_cumulative() {
        // Budget revenue: target 2,400 bn for the year, 1,500 collected by the end of June.
        let mut m = measure(TargetKind::Level, Direction::HigherIsBetter, 1500.0, 2400.0);
        m.cumulative = true;
        m.share_of_year = 0.5;
        assert!(close(expected(&m), 1200.0));
        assert!(close(achievement(&m), 125.0));
        assert_eq!(status(&m, achievement(&m), &Bands::default()), Status::OnTrack);
        m.measured = 1100.0; // 91.7% of the pro-rated target
        assert_eq!(status(&m, achievement(&m), &Bands::default()), Status::AtRisk);
        m.measured = 1000.0; // 83.3%
        assert_eq!(status(&m, achievement(&m), &Bands::default()), Status::OffTrack);
    }

    #[test]
    fn lower_is_better_is_target_over_actual() {
        // Traffic deaths: no more than 40; 50 is 80% achieved; 0 is capped, not infinite.
        let m = measure(TargetKind::Level, Direction::LowerIsBetter, 50.0, 40.0);
        assert!(close(achievement(&m), 80.0));
        assert_eq!(status(&m, achievement(&m), &Bands::default()), Status::OffTrack);
        let zero = measure(TargetKind::Level, Direction::LowerIsBetter, 0.0, 40.0);
        assert!(close(achievement(&zero), CAP));
        let under = measure(TargetKind::Level, Direction::LowerIsBetter, 38.0, 40.0);
        assert_eq!(status(&under, achievement(&under), &Bands::default()), Status::OnTrack);
    }

    #[test]
    fn a_reduction_is_the_share_of_the_planned_reduction_achieved() {
        // Poverty rate from 20% to 17%: at 18.5% half the reduction is achieved.
        let mut m = measure(TargetKind::Reduction, Direction::LowerIsBetter, 18.5, 17.0);
        m.baseline = Some(20.0);
        assert!(close(achievement(&m), 50.0));
        m.measured = 16.5;
        assert!(close(achievement(&m), 350.0 / 3.0));
        // Half-way through the year the expectation is half-way down: 18.5 is then on track.
        m.measured = 18.5;
        m.share_of_year = 0.5;
        assert!(close(expected(&m), 18.5));
        assert!(close(achievement(&m), 100.0));
        // Without a baseline there is no achievement to speak of.
        m.baseline = None;
        assert_eq!(achievement(&m), None);
        assert_eq!(status(&m, achievement(&m), &Bands::default()), Status::NoData);
    }

    #[test]
    fn a_growth_target_compares_growth_with_the_same_period_last_year() {
        // GRDP to grow 8%: 10,600 against 10,000 last year is 6% growth, 75% of the target.
        let mut m = measure(TargetKind::Growth, Direction::HigherIsBetter, 10_600.0, 8.0);
        m.last_year = Some(10_000.0);
        assert!(close(achievement(&m), 75.0));
        assert_eq!(status(&m, achievement(&m), &Bands::default()), Status::OffTrack);
        m.measured = 10_900.0;
        assert!(close(achievement(&m), 112.5));
        m.last_year = None;
        assert_eq!(achievement(&m), None);
    }

    #[test]
    fn a_yes_no_target_is_at_risk_until_the_year_ends() {
        let mut m = measure(TargetKind::YesNo, Direction::HigherIsBetter, 0.0, 1.0);
        m.share_of_year = 0.75;
        assert_eq!(status(&m, achievement(&m), &Bands::default()), Status::AtRisk);
        m.share_of_year = 1.0;
        assert_eq!(status(&m, achievement(&m), &Bands::default()), Status::OffTrack);
        m.measured = 1.0;
        assert_eq!(status(&m, achievement(&m), &Bands::default()), Status::OnTrack);
    }

    #[test]
    fn bands_are_the_indicators_own() {
        let m = measure(TargetKind::Level, Direction::HigherIsBetter, 96.0, 100.0);
        let strict = Bands { on_track: 100.0, at_risk: 98.0 };
        assert_eq!(status(&m, achievement(&m), &strict), Status::OffTrack);
        assert_eq!(status(&m, achievement(&m), &Bands::default()), Status::AtRisk);
    }
}
