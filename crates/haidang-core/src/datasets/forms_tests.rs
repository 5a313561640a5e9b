use std::collections::{BTreeMap, HashSet};

use serde_json::json;

use super::*;
use crate::datasets::model::{DatasetState, Frequency, QualityRules, Range, Sharing};

fn dataset() -> Dataset {
    let core = ActiveContext::core();
    Dataset {
        id: "rain-forms".into(),
        name: "Lượng mưa".into(),
        description: String::new(),
        type_iri: core.expand("WeatherObserved"),
        provider_org: "org".into(),
        units: vec![],
        q: None,
        expected: None,
        frequency: Frequency::MondayThursday,
        sharing: Sharing::Default,
        rules: QualityRules {
            ranges: BTreeMap::from([(
                core.expand("precipitation"),
                Range { min: Some(0.0), max: Some(500.0) },
            )]),
            ..Default::default()
        },
        state: DatasetState::Approved,
        created_at: jiff::Timestamp::UNIX_EPOCH,
        created_by: "x".into(),
        modified_at: jiff::Timestamp::UNIX_EPOCH,
        approved_at: None,
        approved_by: None,
    }
}

fn schema() -> Value {
    json!({"allOf": [{"properties": {
        "precipitation": {"type": "number", "minimum": 0},
        "weatherType": {"type": "string", "enum": ["sunny", "rainy"]},
        "stationCode": {"type": "string"},
        "address": {"type": "object"}
    }}], "required": ["id", "type", "precipitation"]})
}

fn cols() -> Vec<FormColumn> {
    let core = ActiveContext::core();
    columns(
        &dataset(),
        &schema(),
        &[core.expand("precipitation")],
        &HashSet::new(),
        vec!["12001 - Tân Phong".into()],
    )
}

fn headers() -> Vec<String> {
    [
        "Mã (id)",
        "Xã/phường (unit)",
        "Thời điểm (observedAt)",
        "Lượng mưa (precipitation)",
        "Mã trạm (stationCode)",
        "Thời tiết (weatherType)",
    ]
    .map(String::from)
    .to_vec()
}

fn run(
    rows: Vec<(usize, Vec<&str>)>,
    marker_found: Option<&str>,
    headers: Vec<String>,
) -> Result<Vec<(usize, Entity)>, Vec<FormError>> {
    let d = dataset();
    let cols = cols();
    let example = example_row(&cols, "2026-12-01T01:00:00Z".parse().unwrap());
    let point = |code: &str| (code == "12001").then_some((103.45, 22.39));
    let exists = |_: &str| false;
    let ctx = FormContext {
        dataset: &d,
        columns: &cols,
        example: &example,
        unit_point: &point,
        exists: &exists,
        now: "2026-12-02T00:00:00Z".parse().unwrap(),
        time_attr: None,
    };
    let rows: Vec<(usize, Vec<String>)> =
        rows.into_iter().map(|(n, r)| (n, r.into_iter().map(String::from).collect())).collect();
    read_rows(&ctx, marker_found, &headers, &rows)
}

#[test]
fn columns_come_from_the_schema_with_the_dataset_ranges() {
    let c = cols();
    let shorts: Vec<&str> = c.iter().map(|c| c.short.as_str()).collect();
    assert_eq!(shorts, ["id", "unit", "observedAt", "precipitation", "stationCode", "weatherType"]);
    assert_eq!(c[3].kind, FormKind::Decimal { min: Some(0.0), max: Some(500.0) });
    assert!(c[3].required && !c[4].required);
    assert_eq!(c[5].kind, FormKind::Choice(vec!["sunny".into(), "rainy".into()]));
}

#[test]
fn good_rows_become_entities_with_decimal_commas_and_vietnam_time() {
    let rows = vec![
        (3, vec!["LC-01", "12001 - Tân Phong", "01/12/2026 07:00", "12,5", "A1", "rainy"]),
        (4, vec!["urn:ngsi-ld:WeatherObserved:LC-02", "12001", "01/12/2026 07:30", "0", "", ""]),
    ];
    let out = run(rows, Some(&marker("rain-forms")), headers()).unwrap();
    assert_eq!(out.len(), 2);
    let (n, e) = &out[0];
    assert_eq!(*n, 3);
    assert_eq!(e.id, "urn:ngsi-ld:WeatherObserved:LC-01");
    let rain = &e.attrs[&ActiveContext::core().expand("precipitation")][0];
    assert_eq!(rain.content, json!(12.5));
    // 07:00 in Vietnam is midnight UTC.
    assert_eq!(rain.observed_at.unwrap().to_string(), "2026-12-01T00:00:00Z");
    assert!(e.attrs.contains_key(LOCATION), "a new entity is placed in its commune");
    assert!(
        !out[1].1.attrs.contains_key(&ActiveContext::core().expand("stationCode")),
        "empty cells are left out"
    );
}

#[test]
fn every_bad_cell_is_named_by_row_and_column() {
    let rows = vec![
        (2, vec!["LC-01", "99999", "01/12/2026 07:00", "abc", "", "cloudy"]),
        (3, vec!["bad id!", "12001", "32/13/2026", "-1", "", ""]),
        (4, vec!["LC-03", "12001", "01/12/2026 07:00", "", "", ""]),
    ];
    let errors = run(rows, None, headers()).unwrap_err();
    let found: Vec<(Option<usize>, Option<&str>, &str)> =
        errors.iter().map(|e| (e.row, e.column.as_deref(), e.code)).collect();
    assert_eq!(
        found,
        vec![
            (Some(2), Some("unit"), "unknown_unit"),
            (Some(2), Some("precipitation"), "not_a_number"),
            (Some(2), Some("weatherType"), "not_in_list"),
            (Some(3), Some("id"), "bad_id"),
            (Some(3), Some("observedAt"), "bad_datetime"),
            (Some(3), Some("precipitation"), "below_min"),
            (Some(4), Some("precipitation"), "required"),
        ]
    );
}

#[test]
fn another_datasets_template_and_wrong_headers_are_refused() {
    let row = vec![(2, vec!["LC-01", "12001", "01/12/2026 07:00", "1", "", ""])];
    let e = run(row.clone(), Some("haidang-form:air-quality:v1"), headers()).unwrap_err();
    assert_eq!((e[0].code, e[0].value.as_str()), ("wrong_template", "air-quality"));
    let mut h = headers();
    h[3] = "Mưa (rain)".into();
    let e = run(row, None, h).unwrap_err();
    let codes: Vec<(&str, Option<&str>)> = e.iter().map(|e| (e.code, e.column.as_deref())).collect();
    assert_eq!(codes, vec![("unknown_column", Some("rain")), ("missing_column", Some("precipitation"))]);
}

#[test]
fn the_example_row_left_in_is_skipped_and_an_empty_form_refused() {
    let c = cols();
    let example = example_row(&c, "2026-12-01T01:00:00Z".parse().unwrap());
    let rows = vec![(2, example.iter().map(String::as_str).collect::<Vec<_>>())];
    let e = run(rows, None, headers()).unwrap_err();
    assert_eq!(e[0].code, "no_rows");
}

#[test]
fn numbers_read_as_agencies_write_them() {
    assert_eq!(parse_decimal("12,5"), Some(12.5));
    assert_eq!(parse_decimal("1 234.5"), Some(1234.5));
    assert_eq!(parse_decimal("abc"), None);
    assert_eq!(header_key(" Bụi mịn PM2.5 (pm25) "), "pm25");
    assert_eq!(header_key("pm25"), "pm25");
}
