use std::collections::HashMap;

use serde_json::json;

use super::*;

fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn t(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn reading(attr: &str, value: serde_json::Value, at: &str, n: u32) -> TemporalInstance {
    TemporalInstance {
        attr: attr.into(),
        instance_id: format!("urn:ngsi-ld:attribute-instance:{n}"),
        at: t(at),
        instance: Instance {
            kind: AttrKind::Property,
            content: value,
            dataset_id: None,
            observed_at: Some(t(at)),
            unit_code: None,
            sub: Default::default(),
            created_at: None,
            modified_at: None,
        },
    }
}

fn error_of(pairs: &[(&str, &str)]) -> String {
    TemporalParams::from_query(&q(pairs)).unwrap_err().parameter
}

#[test]
fn each_wrong_parameter_is_named() {
    assert_eq!(error_of(&[("timerel", "before")]), "timeAt");
    assert_eq!(error_of(&[("timeAt", "2026-11-20T00:00:00Z")]), "timerel");
    assert_eq!(error_of(&[("timerel", "between"), ("timeAt", "2026-11-20T00:00:00Z")]), "endTimeAt");
    assert_eq!(
        error_of(&[
            ("timerel", "between"),
            ("timeAt", "2026-11-20T02:00:00Z"),
            ("endTimeAt", "2026-11-20T01:00:00Z")
        ]),
        "endTimeAt"
    );
    assert_eq!(error_of(&[("timerel", "around"), ("timeAt", "2026-11-20T00:00:00Z")]), "timerel");
    assert_eq!(error_of(&[("timerel", "after"), ("timeAt", "2026-11-20T00:00:00")]), "timeAt", "no zone");
    assert_eq!(error_of(&[("lastN", "0")]), "lastN");
    assert_eq!(error_of(&[("lastN", "-3")]), "lastN");
    assert_eq!(error_of(&[("options", "aggregatedValues")]), "aggrMethods");
    assert_eq!(error_of(&[("aggrMethods", "avg,median")]), "aggrMethods");
    assert_eq!(error_of(&[("aggrMethods", "avg"), ("aggrPeriodDuration", "P1M")]), "aggrPeriodDuration");
    assert_eq!(error_of(&[("aggrMethods", "avg"), ("aggrPeriodDuration", "1H")]), "aggrPeriodDuration");
    assert_eq!(error_of(&[("timeproperty", "deletedAt")]), "timeproperty");
    let message = TemporalParams::from_query(&q(&[("aggrMethods", "avg,median")])).unwrap_err().message;
    assert!(message.contains("median"), "{message}");
}

#[test]
fn durations_read_as_the_standard_writes_them() {
    assert_eq!(parse_duration("PT1H").unwrap(), SignedDuration::from_hours(1));
    assert_eq!(parse_duration("P1D").unwrap(), SignedDuration::from_hours(24));
    assert_eq!(parse_duration("P1DT12H").unwrap(), SignedDuration::from_hours(36));
    assert_eq!(parse_duration("PT15M").unwrap(), SignedDuration::from_mins(15));
    assert_eq!(parse_duration("P1W").unwrap(), SignedDuration::from_hours(168));
    assert_eq!(parse_duration("PT0.5S").unwrap(), SignedDuration::from_millis(500));
    for bad in ["P1Y", "P2M", "PT", "P", "1H", "PT1X", "PT1M1H", "PTH"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}

#[test]
fn formats_come_from_options() {
    let (_, f) = TemporalParams::from_query(&q(&[("options", "sysAttrs,temporalValues")])).unwrap();
    assert_eq!(f, TemporalFormat::TemporalValues);
    let (p, f) =
        TemporalParams::from_query(&q(&[("options", "aggregatedValues"), ("aggrMethods", "avg,max")]))
            .unwrap();
    assert_eq!(f, TemporalFormat::Aggregated);
    assert_eq!(p.aggregation.unwrap().methods, vec![AggrMethod::Avg, AggrMethod::Max]);
    let (_, f) = TemporalParams::from_query(&q(&[])).unwrap();
    assert_eq!(f, TemporalFormat::Normalized);
}

#[test]
fn intervals_include_the_start_and_exclude_the_end() {
    let (p, _) = TemporalParams::from_query(&q(&[
        ("timerel", "between"),
        ("timeAt", "2026-11-20T01:00:00Z"),
        ("endTimeAt", "2026-11-20T02:00:00Z"),
    ]))
    .unwrap();
    assert!(p.admits(t("2026-11-20T01:00:00Z")));
    assert!(p.admits(t("2026-11-20T01:59:59Z")));
    assert!(!p.admits(t("2026-11-20T02:00:00Z")));
    assert!(!p.admits(t("2026-11-20T00:59:59Z")));
    let (before, _) =
        TemporalParams::from_query(&q(&[("timerel", "before"), ("timeAt", "2026-11-20T01:00:00Z")])).unwrap();
    assert!(!before.admits(t("2026-11-20T01:00:00Z")));
    assert!(before.admits(t("2026-11-20T00:59:59Z")));
    let (after, _) =
        TemporalParams::from_query(&q(&[("timerel", "after"), ("timeAt", "2026-11-20T01:00:00Z")])).unwrap();
    assert!(after.admits(t("2026-11-20T01:00:00Z")));
}

#[test]
fn last_n_keeps_the_newest_of_each_attribute_and_dataset_oldest_first() {
    let mut list = vec![
        reading("level", json!(1.0), "2026-11-20T01:00:00Z", 1),
        reading("level", json!(3.0), "2026-11-20T03:00:00Z", 3),
        reading("level", json!(2.0), "2026-11-20T02:00:00Z", 2),
        reading("flow", json!(10.0), "2026-11-20T01:00:00Z", 4),
    ];
    let mut upstream = reading("level", json!(9.0), "2026-11-20T00:00:00Z", 5);
    upstream.instance.dataset_id = Some("urn:ngsi-ld:Dataset:upstream".into());
    list.push(upstream);
    let params = TemporalParams { last_n: Some(2), ..TemporalParams::default() };
    let kept = select(list, &params);
    let summary: Vec<(String, Option<String>, serde_json::Value)> = kept
        .iter()
        .map(|i| (i.attr.clone(), i.instance.dataset_id.clone(), i.instance.content.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("flow".to_string(), None, json!(10.0)),
            ("level".to_string(), None, json!(2.0)),
            ("level".to_string(), None, json!(3.0)),
            ("level".to_string(), Some("urn:ngsi-ld:Dataset:upstream".to_string()), json!(9.0)),
        ]
    );
}

#[test]
fn normalized_and_simplified_forms() {
    let list = vec![
        reading("level", json!(2.0), "2026-11-20T01:00:00Z", 1),
        reading("level", json!(3.0), "2026-11-20T02:00:00Z", 2),
    ];
    let p = TemporalParams::default();
    let types = vec!["RiverGauge".to_string()];
    let n = render("urn:ngsi-ld:RiverGauge:1", &types, &list, TemporalFormat::Normalized, &p, false);
    assert_eq!(n["type"], "RiverGauge");
    assert_eq!(
        n["level"][1],
        json!({"type": "Property", "value": 3.0, "observedAt": "2026-11-20T02:00:00Z",
               "instanceId": "urn:ngsi-ld:attribute-instance:2"})
    );
    let s = render("urn:ngsi-ld:RiverGauge:1", &types, &list, TemporalFormat::TemporalValues, &p, false);
    assert_eq!(
        s["level"],
        json!({"type": "Property", "values": [[2.0, "2026-11-20T01:00:00Z"], [3.0, "2026-11-20T02:00:00Z"]]})
    );

    // A Relationship lists objects; two datasetIds give two objects.
    let mut a = reading("feeds", json!("urn:ngsi-ld:River:da"), "2026-11-20T01:00:00Z", 3);
    a.instance.kind = AttrKind::Relationship;
    let mut b = a.clone();
    b.instance.dataset_id = Some("urn:ngsi-ld:Dataset:b".into());
    let s = render("urn:x:1", &types, &[a, b], TemporalFormat::TemporalValues, &p, false);
    assert_eq!(s["feeds"][0]["objects"], json!([["urn:ngsi-ld:River:da", "2026-11-20T01:00:00Z"]]));
    assert_eq!(s["feeds"][1]["datasetId"], "urn:ngsi-ld:Dataset:b");
}

#[test]
fn hourly_aggregates_leave_out_empty_hours() {
    let list = vec![
        reading("level", json!(2.0), "2026-11-20T01:00:00Z", 1),
        reading("level", json!(3.0), "2026-11-20T01:30:00Z", 2),
        reading("level", json!(5.0), "2026-11-20T02:10:00Z", 3),
        reading("level", json!(4.0), "2026-11-20T04:05:00Z", 4),
    ];
    let (p, f) = TemporalParams::from_query(&q(&[
        ("options", "aggregatedValues"),
        ("aggrMethods", "avg,min,max,sum,totalCount"),
        ("aggrPeriodDuration", "PT1H"),
        ("timerel", "after"),
        ("timeAt", "2026-11-20T01:00:00Z"),
    ]))
    .unwrap();
    let a = render("urn:x:1", &["G".to_string()], &list, f, &p, false);
    assert_eq!(
        a["level"]["avg"],
        json!([
            [2.5, "2026-11-20T01:00:00Z", "2026-11-20T02:00:00Z"],
            [5.0, "2026-11-20T02:00:00Z", "2026-11-20T03:00:00Z"],
            [4.0, "2026-11-20T04:00:00Z", "2026-11-20T05:00:00Z"],
        ])
    );
    assert_eq!(a["level"]["min"][0][0], json!(2.0));
    assert_eq!(a["level"]["max"][0][0], json!(3.0));
    assert_eq!(a["level"]["sum"][0][0], json!(5.0));
    assert_eq!(a["level"]["totalCount"][0][0], json!(2));

    // No period: one triple over the whole range.
    let (p, f) =
        TemporalParams::from_query(&q(&[("options", "aggregatedValues"), ("aggrMethods", "avg,totalCount")]))
            .unwrap();
    let a = render("urn:x:1", &["G".to_string()], &list, f, &p, false);
    assert_eq!(a["level"]["avg"], json!([[3.5, "2026-11-20T01:00:00Z", "2026-11-20T04:05:00Z"]]));
    assert_eq!(a["level"]["totalCount"][0][0], json!(4));
}

#[test]
fn texts_are_counted_not_averaged() {
    let list = vec![
        reading("status", json!("normal"), "2026-11-20T01:00:00Z", 1),
        reading("status", json!("alert"), "2026-11-20T01:10:00Z", 2),
        reading("status", json!("normal"), "2026-11-20T01:20:00Z", 3),
    ];
    let (p, f) = TemporalParams::from_query(&q(&[
        ("options", "aggregatedValues"),
        ("aggrMethods", "totalCount,distinctCount,avg,max"),
    ]))
    .unwrap();
    let a = render("urn:x:1", &["G".to_string()], &list, f, &p, false);
    assert_eq!(a["status"]["totalCount"][0][0], json!(3));
    assert_eq!(a["status"]["distinctCount"][0][0], json!(2));
    assert_eq!(a["status"]["avg"], json!([]));
    assert_eq!(a["status"]["max"][0][0], json!("normal"));
}
