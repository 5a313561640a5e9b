//! A rule's condition followed for one entity: each reading (or, for missing data, each tick of
//! the clock) moves the watch, which answers whether an alert is raised, stays up with a new
//! value, or clears. One watch per rule and entity is the alert's deduplication: a sensor that
//! flaps around its line raises one alert and updates it.

use std::collections::VecDeque;

use jiff::{SignedDuration, Timestamp};

use super::rule::Condition;

/// What a reading or a tick did to the alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Nothing to tell.
    Quiet,
    /// Raise the alert (the value that raised it, none for missing data).
    Raise(Option<f64>),
    /// The alert is up; its latest value.
    Still(f64),
    /// The condition has cleared.
    Clear,
}

#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// The alert is up.
    pub raised: bool,
    /// Since when the value has been outside its line (the alert waits for `for_secs`).
    outside_since: Option<Timestamp>,
    /// Recent readings, oldest first, for rate of change.
    recent: VecDeque<(Timestamp, f64)>,
    /// The newest reading's time: older readings arriving late are not evaluated again.
    pub last_seen: Option<Timestamp>,
}

impl Watch {
    /// A reading of the rule's attribute (or, for missing data, any update) at `at`.
    pub fn observe(&mut self, condition: &Condition, at: Timestamp, value: Option<f64>) -> Outcome {
        if self.last_seen.is_some_and(|last| at < last) {
            return Outcome::Quiet; // late: the watch has moved past it
        }
        self.last_seen = Some(at);
        match (condition, value) {
            (Condition::Missing { .. }, _) => self.settle(false, at, None),
            (Condition::Threshold { above, below, hysteresis, for_secs, .. }, Some(v)) => {
                let outside = above.is_some_and(|a| v > a) || below.is_some_and(|b| v < b);
                let back_inside =
                    above.is_none_or(|a| v <= a - hysteresis) && below.is_none_or(|b| v >= b + hysteresis);
                if self.raised {
                    return if back_inside { self.settle(false, at, None) } else { Outcome::Still(v) };
                }
                if !outside {
                    self.outside_since = None;
                    return Outcome::Quiet;
                }
                let since = *self.outside_since.get_or_insert(at);
                if at.duration_since(since) >= SignedDuration::from_secs(*for_secs as i64) {
                    self.settle(true, at, Some(v))
                } else {
                    Outcome::Quiet
                }
            }
            (Condition::RateOfChange { rise, fall, per_minutes, .. }, Some(v)) => {
                let span = SignedDuration::from_mins(i64::from(*per_minutes));
                self.recent.push_back((at, v));
                // Keep one reading at least `span` old, and nothing older than it.
                while self.recent.len() > 2
                    && self.recent.get(1).is_some_and(|(t, _)| at.duration_since(*t) >= span)
                {
                    self.recent.pop_front();
                }
                let Some((then, v_then)) = self.recent.front().copied() else { return Outcome::Quiet };
                let elapsed = at.duration_since(then);
                if elapsed < span {
                    return if self.raised { Outcome::Still(v) } else { Outcome::Quiet };
                }
                // The change over `per_minutes`, from the change over the time that really passed.
                let rate = (v - v_then) * span.as_secs_f64() / elapsed.as_secs_f64();
                let steep = rise.is_some_and(|r| rate >= r) || fall.is_some_and(|f| -rate >= f);
                match (self.raised, steep) {
                    (false, true) => self.settle(true, at, Some(v)),
                    (true, false) => self.settle(false, at, None),
                    (true, true) => Outcome::Still(v),
                    (false, false) => Outcome::Quiet,
                }
            }
            // A reading without the attribute's number: nothing to judge. A geofence is judged
            // by its place (`place`), not by a value.
            (_, None) | (Condition::Geofence { .. }, _) => Outcome::Quiet,
        }
    }

    /// A geofence's state for a reading at `at`: raised while `breached`.
    pub fn place(&mut self, at: Timestamp, breached: bool) -> Outcome {
        if self.last_seen.is_some_and(|last| at < last) {
            return Outcome::Quiet;
        }
        self.last_seen = Some(at);
        self.settle(breached, at, None)
    }

    /// The clock at `now`, for missing data: raised once the entity has been silent for the
    /// condition's minutes.
    pub fn tick(&mut self, condition: &Condition, now: Timestamp) -> Outcome {
        let Condition::Missing { minutes } = condition else { return Outcome::Quiet };
        match self.last_seen {
            Some(last)
                if !self.raised
                    && now.duration_since(last) >= SignedDuration::from_mins(i64::from(*minutes)) =>
            {
                self.settle(true, now, None)
            }
            _ => Outcome::Quiet,
        }
    }

    fn settle(&mut self, raise: bool, _at: Timestamp, value: Option<f64>) -> Outcome {
        match (self.raised, raise) {
            (false, true) => {
                self.raised = true;
                Outcome::Raise(value)
            }
            (true, false) => {
                self.raised = false;
                self.outside_since = None;
                Outcome::Clear
            }
            _ => Outcome::Quiet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + minutes * 60).unwrap()
    }

    fn river(for_secs: u64) -> Condition {
        Condition::Threshold {
            attribute: "waterLevel".into(),
            above: Some(3.5),
            below: None,
            hysteresis: 0.1,
            for_secs,
        }
    }

    fn run(w: &mut Watch, c: &Condition, readings: &[(i64, f64)]) -> Vec<Outcome> {
        readings.iter().map(|(m, v)| w.observe(c, at(*m), Some(*v))).collect()
    }

    #[test]
    fn a_river_above_its_line_for_five_minutes_raises_one_alert() {
        let c = river(300);
        let mut w = Watch::default();
        let got = run(&mut w, &c, &[(0, 3.4), (1, 3.6), (3, 3.7), (6, 3.65), (7, 3.8)]);
        assert_eq!(
            got,
            vec![
                Outcome::Quiet,
                Outcome::Quiet,
                Outcome::Quiet,
                Outcome::Raise(Some(3.65)),
                Outcome::Still(3.8)
            ]
        );
    }

    #[test]
    fn a_dip_below_the_line_starts_the_wait_again() {
        let c = river(300);
        let mut w = Watch::default();
        let got = run(&mut w, &c, &[(0, 3.6), (3, 3.4), (4, 3.6), (8, 3.6), (9, 3.6)]);
        assert_eq!(got[..4], [Outcome::Quiet, Outcome::Quiet, Outcome::Quiet, Outcome::Quiet]);
        assert_eq!(got[4], Outcome::Raise(Some(3.6)), "five minutes after it came back above");
    }

    #[test]
    fn a_sensor_flapping_at_the_line_keeps_one_alert_until_it_is_well_below() {
        let c = river(0);
        let mut w = Watch::default();
        let got =
            run(&mut w, &c, &[(0, 3.51), (1, 3.49), (2, 3.52), (3, 3.45), (4, 3.41), (5, 3.39), (6, 3.55)]);
        assert_eq!(
            got,
            vec![
                Outcome::Raise(Some(3.51)),
                Outcome::Still(3.49),
                Outcome::Still(3.52),
                Outcome::Still(3.45),
                Outcome::Still(3.41),
                Outcome::Clear,
                Outcome::Raise(Some(3.55)),
            ]
        );
    }

    #[test]
    fn a_range_alerts_on_both_sides() {
        let c = Condition::Threshold {
            attribute: "temperature".into(),
            above: Some(40.0),
            below: Some(5.0),
            hysteresis: 0.0,
            for_secs: 0,
        };
        let mut w = Watch::default();
        assert_eq!(
            run(&mut w, &c, &[(0, 20.0), (1, 4.0), (2, 6.0), (3, 41.0)]),
            vec![Outcome::Quiet, Outcome::Raise(Some(4.0)), Outcome::Clear, Outcome::Raise(Some(41.0)),]
        );
    }

    #[test]
    fn a_fast_rise_is_measured_over_its_window() {
        // Rising 0.5 m in 30 minutes is a flash flood's sign; 0.2 is not.
        let c = Condition::RateOfChange {
            attribute: "waterLevel".into(),
            rise: Some(0.5),
            fall: None,
            per_minutes: 30,
        };
        let mut w = Watch::default();
        let got = run(
            &mut w,
            &c,
            &[(0, 2.0), (10, 2.1), (20, 2.15), (30, 2.2), (40, 2.6), (50, 2.9), (80, 3.0), (110, 3.0)],
        );
        assert_eq!(
            got[..4],
            [Outcome::Quiet, Outcome::Quiet, Outcome::Quiet, Outcome::Quiet],
            "0.2 m in 30 minutes"
        );
        assert_eq!(got[4], Outcome::Raise(Some(2.6)), "0.5 m over the last 30 minutes");
        assert_eq!(got[5], Outcome::Still(2.9));
        assert_eq!(got[6], Outcome::Clear, "0.1 m over the 30 minutes before 80");
        assert_eq!(got[7], Outcome::Quiet, "level");
    }

    #[test]
    fn a_silent_station_is_noticed_and_cleared_when_it_speaks() {
        let c = Condition::Missing { minutes: 15 };
        let mut w = Watch::default();
        assert_eq!(w.tick(&c, at(0)), Outcome::Quiet, "never heard: nothing to miss yet");
        assert_eq!(w.observe(&c, at(0), None), Outcome::Quiet);
        assert_eq!(w.tick(&c, at(14)), Outcome::Quiet);
        assert_eq!(w.tick(&c, at(15)), Outcome::Raise(None));
        assert_eq!(w.tick(&c, at(30)), Outcome::Quiet, "raised once");
        assert_eq!(w.observe(&c, at(31), None), Outcome::Clear);
    }

    #[test]
    fn a_late_reading_does_not_move_the_watch_back() {
        let c = river(0);
        let mut w = Watch::default();
        assert_eq!(w.observe(&c, at(5), Some(3.6)), Outcome::Raise(Some(3.6)));
        assert_eq!(w.observe(&c, at(4), Some(3.0)), Outcome::Quiet);
        assert!(w.raised);
    }
}
