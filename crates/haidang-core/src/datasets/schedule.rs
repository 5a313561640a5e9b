//! When data is due. Sensors and systems owe an update every so often (its frequency); a form
//! is due by the end of each Monday and Thursday, Vietnam time, as the regulations set for
//! agencies not yet connected.

use jiff::civil::Weekday;
use jiff::Timestamp;

use super::model::{Dataset, Frequency};
use crate::time::local_tz;

/// The first deadline after `last` (an update, or the approval when nothing came yet) that
/// `last` does not meet: for a form sent on a Thursday, the end of the next Monday (it met
/// Thursday's); when nothing came since the approval, the first Monday or Thursday after it.
pub fn next_deadline(d: &Dataset, last: Timestamp, came: bool) -> Timestamp {
    match d.frequency {
        Frequency::MondayThursday if came => next_form_deadline(next_form_deadline(last)),
        Frequency::MondayThursday => next_form_deadline(last),
        _ => last + d.allowed_gap(),
    }
}

/// The end (midnight after) of the first Monday or Thursday whose end is after `t`.
pub fn next_form_deadline(t: Timestamp) -> Timestamp {
    let local = t.to_zoned(local_tz());
    let mut day = local.date();
    for _ in 0..8 {
        if matches!(day.weekday(), Weekday::Monday | Weekday::Thursday) {
            if let Ok(end) = day.tomorrow().and_then(|d| d.to_zoned(local_tz())) {
                if end.timestamp() > t {
                    return end.timestamp();
                }
            }
        }
        day = match day.tomorrow() {
            Ok(d) => d,
            Err(_) => break,
        };
    }
    t + jiff::SignedDuration::from_hours(96)
}

/// The period a form sent at `at` counts for: the date of the due day, "2026-12-03".
pub fn form_period(at: Timestamp) -> String {
    let end = next_form_deadline(at);
    (end - jiff::SignedDuration::from_secs(1)).to_zoned(local_tz()).date().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vn(text: &str) -> Timestamp {
        // Vietnam is UTC+7 all year.
        format!("{text}+07:00").parse::<Timestamp>().unwrap()
    }

    #[test]
    fn forms_are_due_by_the_end_of_monday_and_thursday() {
        // Tuesday 01/12/2026 → due by the end of Thursday 03/12.
        assert_eq!(next_form_deadline(vn("2026-12-01T10:00:00")), vn("2026-12-04T00:00:00"));
        assert_eq!(form_period(vn("2026-12-01T10:00:00")), "2026-12-03");
        // Thursday late evening still counts for Thursday; Friday for next Monday.
        assert_eq!(form_period(vn("2026-12-03T23:30:00")), "2026-12-03");
        assert_eq!(next_form_deadline(vn("2026-12-04T08:00:00")), vn("2026-12-08T00:00:00"));
        assert_eq!(form_period(vn("2026-12-05T09:00:00")), "2026-12-07");
    }

    #[test]
    fn a_form_sent_meets_its_period_and_the_next_one_is_owed() {
        let t = vn("2026-12-01T08:00:00");
        let d = Dataset {
            id: "mua".into(),
            name: "Lượng mưa".into(),
            description: String::new(),
            type_iri: "WeatherObserved".into(),
            provider_org: "ubnd".into(),
            units: vec![],
            q: None,
            expected: None,
            frequency: Frequency::MondayThursday,
            sharing: crate::datasets::model::Sharing::Default,
            rules: Default::default(),
            state: crate::datasets::model::DatasetState::Approved,
            created_at: t,
            created_by: "x".into(),
            modified_at: t,
            approved_at: Some(t),
            approved_by: None,
        };
        // Sent on Thursday 03/12: owed again by the end of Monday 07/12.
        assert_eq!(next_deadline(&d, vn("2026-12-03T10:00:00"), true), vn("2026-12-08T00:00:00"));
        // Nothing sent since the approval on Tuesday: owed by the end of Thursday.
        assert_eq!(next_deadline(&d, vn("2026-12-01T10:00:00"), false), vn("2026-12-04T00:00:00"));
    }
}
