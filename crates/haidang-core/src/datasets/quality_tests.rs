//! A small fixture whose four scores were worked out by hand (the numbers in the comments).

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;

use super::*;
use crate::datasets::model::{
    Dataset, DatasetState, Expected, Frequency, MaintenanceWindow, OutlierRule, QualityRules, Range, Sharing,
    WriteCounts,
};

fn t(hhmm: &str) -> Timestamp {
    format!("2026-12-01T{hhmm}:00Z").parse().unwrap()
}

fn dataset(expected: Expected, outliers: BTreeMap<String, OutlierRule>) -> Dataset {
    Dataset {
        id: "air".into(),
        name: "Không khí".into(),
        description: String::new(),
        type_iri: "AirQualityObserved".into(),
        provider_org: "so-nnmt".into(),
        units: vec![],
        q: None,
        expected: Some(expected),
        frequency: Frequency::Hourly,
        sharing: Sharing::Default,
        rules: QualityRules {
            ranges: BTreeMap::from([("pm25".to_string(), Range { min: Some(0.0), max: Some(500.0) })]),
            outliers,
            required: vec![],
        },
        state: DatasetState::Approved,
        created_at: t("00:00"),
        created_by: "officer".into(),
        modified_at: t("00:00"),
        approved_at: None,
        approved_by: None,
    }
}

fn member(id: &str, unit: &str, last: &str, attrs: &[&str]) -> MemberState {
    MemberState {
        id: id.into(),
        units: vec![unit.into(), "P".into()],
        last_update: Some(t(last)),
        attrs: attrs.iter().map(|a| a.to_string()).collect(),
    }
}

fn fact(entity: &str, attr: &str, at: &str, value: Option<f64>) -> InstanceFact {
    InstanceFact { entity_id: entity.into(), attr: attr.into(), at: t(at), value }
}

#[test]
fn the_four_scores_follow_their_formulas() {
    let d = dataset(
        Expected::PerUnit(BTreeMap::from([("U1".into(), 2), ("U2".into(), 1), ("U3".into(), 1)])),
        BTreeMap::from([("pm25".to_string(), OutlierRule::Range { min: Some(0.0), max: Some(300.0) })]),
    );
    let input = QualityInput {
        dataset: &d,
        from: t("00:00"),
        to: t("06:00"),
        members: vec![
            member("A", "U1", "05:30", &["pm25", "temperature", "location"]),
            member("B", "U1", "03:00", &["pm25", "location"]),
            member("C", "U2", "05:50", &["pm25", "temperature"]),
        ],
        instances: vec![
            fact("A", "pm25", "01:00", Some(10.0)),
            fact("A", "pm25", "02:00", Some(12.0)),
            fact("A", "pm25", "02:00", Some(12.0)),  // duplicate
            fact("A", "pm25", "03:00", Some(400.0)), // outlier (above 300)
            fact("A", "temperature", "01:00", Some(20.0)),
            fact("A", "temperature", "02:00", Some(21.0)),
            fact("A", "colour", "01:00", None), // unknown to the schema
            fact("B", "pm25", "01:00", Some(11.0)),
        ],
        counts: WriteCounts { accepted: 16, out_of_range: 2, refused: 2 },
        windows: vec![MaintenanceWindow {
            id: "w".into(),
            dataset_id: "air".into(),
            entity_ids: vec!["C".into()],
            starts_at: t("05:00"),
            ends_at: t("07:00"),
            reason: "thay cảm biến".into(),
            declared_by: "officer".into(),
        }],
        known_attrs: Some(HashSet::from(
            ["pm25", "temperature", "location", "dateObserved"].map(String::from),
        )),
        required: vec!["pm25".into(), "temperature".into()],
    };
    let q = compute(&input);
    // đúng: 16 of 20 writes.
    assert_eq!(q.scores.correct, Some(80.0));
    // đủ: U1 has 2 of 2 reporting, U2 0 of 1, U3 0 of 1 → 2/4 = 0.5; required attributes:
    // A 2, B 1, C 2 of 3 × 2 = 5/6; mean (0.5 + 0.8333) / 2 = 0.6667.
    assert_eq!((q.reported, q.expected), (2, 4));
    assert_eq!(q.scores.complete, Some(66.7));
    // sạch: 8 instances, one duplicate, one outlier, one unknown attribute → 5/8.
    assert_eq!((q.instances, q.duplicates, q.outliers, q.unknown), (8, 1, 1, 1));
    assert_eq!(q.scores.clean, Some(62.5));
    // sống at 06:00, hourly: A (05:30) live, B (03:00) stale, C under maintenance (U2 expects
    // nothing more), U3 has nobody → 1 of 3.
    assert_eq!((q.live, q.live_expected, q.in_maintenance), (1, 3, 1));
    assert_eq!(q.scores.live, Some(33.3));
    assert_eq!(q.stale, vec![Stale { entity_id: "B".into(), last_update: Some(t("03:00")) }]);
    assert_eq!(q.missing, vec![("U3".to_string(), 0, 1)]);
    // Overall: (0.8 + 0.6667 + 0.625 + 0.3333) / 4 = 0.60625.
    assert_eq!(q.scores.overall, Some(60.6));
}

#[test]
fn a_z_score_outlier_is_judged_against_the_window() {
    let d = dataset(
        Expected::Entities(vec!["urn:x:A".into()]),
        BTreeMap::from([("pm25".to_string(), OutlierRule::Zscore { threshold: 1.5 })]),
    );
    // Values 10, 10, 10, 10, 50: mean 18, standard deviation 16; 50 is 2.0 away, the others 0.5.
    let instances = ["01:00", "02:00", "03:00", "04:00", "05:00"]
        .iter()
        .zip([10.0, 10.0, 10.0, 10.0, 50.0])
        .map(|(at, v)| fact("urn:x:A", "pm25", at, Some(v)))
        .collect();
    let input = QualityInput {
        dataset: &d,
        from: t("00:00"),
        to: t("06:00"),
        members: vec![member("urn:x:A", "U1", "05:00", &["pm25"])],
        instances,
        counts: WriteCounts::default(),
        windows: vec![],
        known_attrs: None,
        required: vec![],
    };
    let q = compute(&input);
    assert_eq!(q.outliers, 1);
    assert_eq!(q.scores.clean, Some(80.0));
    // Nothing was written in the window: đúng is left out, not counted as 0 or 100.
    assert_eq!(q.scores.correct, None);
    // Reported, required none, live (05:00 within the hour before 06:00): overall of the three.
    assert_eq!(q.scores.complete, Some(100.0));
    assert_eq!(q.scores.live, Some(100.0));
    assert_eq!(q.scores.overall, Some(93.3));
}

#[test]
fn an_organisation_scores_the_mean_of_its_datasets() {
    let a = Scores {
        correct: Some(80.0),
        complete: Some(50.0),
        clean: None,
        live: Some(100.0),
        overall: Some(76.7),
    };
    let b = Scores {
        correct: Some(60.0),
        complete: Some(70.0),
        clean: Some(90.0),
        live: None,
        overall: Some(73.3),
    };
    let s = combine(&[a, b]);
    assert_eq!(s.correct, Some(70.0));
    assert_eq!(s.clean, Some(90.0));
    assert_eq!(s.live, Some(100.0));
    assert_eq!(s.overall, Some(75.0));
}
