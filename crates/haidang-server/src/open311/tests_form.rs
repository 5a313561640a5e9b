//! The POST form and the GET query as a v2 client sends them: what is accepted, and refusals
//! that are 400s naming the field.

use jiff::Timestamp;

use super::form::parse_w3c;
use super::tests_render::definition;
use super::*;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

/// The 400's description, which must name `field`.
fn refused_form(list: &[(&str, &str)], def: Option<&ServiceDefinition>, field: &str) -> String {
    let e = parse_new_request(&pairs(list), def).unwrap_err();
    assert_eq!((e.status, e.code), (400, 400), "{e}");
    assert!(e.description.contains(field), "{:?} does not name {field}", e.description);
    e.description
}

const GOOD: [(&str, &str); 5] = [
    ("service_code", "den-duong"),
    ("lat", "16.8163"),
    ("long", "107.1003"),
    ("attribute[loai_den]", "led"),
    ("description", "Đèn trước số 12 Hùng Vương không sáng"),
];

#[test]
fn a_complete_form_is_read() {
    let mut list = GOOD.to_vec();
    list.extend([
        ("attribute[hu_hong][]", "tat"),
        ("attribute[hu_hong][]", "nhap_nhay"),
        ("attribute[so_cot]", "12.5"),
        ("attribute[tu_luc]", "2026-12-03T09:30:00+07:00"),
        ("email", " dan@example.vn "),
        ("first_name", "Nguyễn"),
        ("phone", ""),
        ("x_unknown", "ignored"),
    ]);
    let f = parse_new_request(&pairs(&list), Some(&definition())).unwrap();
    assert_eq!(f.service_code, "den-duong");
    assert_eq!((f.lat, f.long), (Some(16.8163), Some(107.1003)));
    assert_eq!(f.description.as_deref(), Some("Đèn trước số 12 Hùng Vương không sáng"));
    assert_eq!(f.email.as_deref(), Some("dan@example.vn"), "trimmed");
    assert_eq!(f.first_name.as_deref(), Some("Nguyễn"));
    assert_eq!(f.phone, None, "empty is absent");
    assert_eq!(
        f.attributes,
        pairs(&[
            ("loai_den", "led"),
            ("hu_hong", "tat"),
            ("hu_hong", "nhap_nhay"),
            ("so_cot", "12.5"),
            ("tu_luc", "2026-12-03T09:30:00+07:00")
        ])
    );
    assert_eq!(service_code_of(&pairs(&list)), Some("den-duong"));
}

#[test]
fn an_address_is_a_location_too() {
    let f = parse_new_request(&pairs(&[("service_code", "rac"), ("address_string", "Chợ Đông Hà")]), None)
        .unwrap();
    assert_eq!(f.address_string.as_deref(), Some("Chợ Đông Hà"));
    assert!(parse_new_request(&pairs(&[("service_code", "rac"), ("address_id", "A-17")]), None).is_ok());
}

#[test]
fn form_refusals_name_the_field() {
    let def = definition();
    let without = |name: &str| GOOD.iter().copied().filter(|(n, _)| *n != name).collect::<Vec<_>>();
    let with = |extra: (&'static str, &'static str)| {
        let mut l = GOOD.to_vec();
        l.push(extra);
        l
    };
    refused_form(&without("service_code"), Some(&def), "service_code");
    refused_form(&[("service_code", "  ")], None, "service_code");
    let msg = refused_form(&without("attribute[loai_den]"), Some(&def), "loai_den");
    assert_eq!(msg, "attribute loai_den is required");
    let msg = refused_form(&with(("attribute[hu_hong][]", "chay_no")), Some(&def), "hu_hong");
    assert!(msg.contains("chay_no") && msg.contains("tat, nhap_nhay"), "{msg}");
    let mut bad_single = without("attribute[loai_den]");
    bad_single.push(("attribute[loai_den]", "neon"));
    refused_form(&bad_single, Some(&def), "loai_den");
    refused_form(&with(("attribute[loai_den]", "cao_ap")), Some(&def), "loai_den"); // two values
    refused_form(&with(("attribute[so_cot]", "mười hai")), Some(&def), "so_cot");
    refused_form(&with(("attribute[so_cot]", "NaN")), Some(&def), "so_cot");
    refused_form(&with(("attribute[tu_luc]", "hôm qua")), Some(&def), "tu_luc");
    refused_form(&with(("attribute[tu_luc]", "2026-12-03T09:30:00")), Some(&def), "tu_luc");
    refused_form(&with(("attribute[mau_sac]", "đỏ")), Some(&def), "mau_sac");
    refused_form(&with(("attribute[]", "x")), None, "attribute[]");
    refused_form(&with(("lat", "16.9")), None, "lat"); // given twice

    let msg = refused_form(&without("long"), None, "lat");
    assert_eq!(msg, "lat is given without long");
    refused_form(&without("lat"), None, "long");
    refused_form(&[("service_code", "x"), ("lat", "abc"), ("long", "107")], None, "lat");
    refused_form(&[("service_code", "x"), ("lat", "91"), ("long", "107")], None, "lat");
    refused_form(&[("service_code", "x"), ("lat", "16"), ("long", "-180.5")], None, "long");
    refused_form(&[("service_code", "x"), ("lat", "inf"), ("long", "107")], None, "lat");
    let msg = refused_form(&[("service_code", "x"), ("description", "Đèn hỏng")], None, "location");
    assert!(msg.contains("address_string") && msg.contains("address_id"), "{msg}");
}

#[test]
fn description_is_capped_at_4000_characters_not_bytes() {
    // "đ" is two bytes: 4000 of them are 8000 bytes but within v2's limit.
    let fits = "đ".repeat(MAX_DESCRIPTION_CHARS);
    let form = [("service_code", "x"), ("address_id", "A-1"), ("description", fits.as_str())];
    assert_eq!(parse_new_request(&pairs(&form), None).unwrap().description, Some(fits.clone()));
    let too_long = format!("{fits}a");
    let form = [("service_code", "x"), ("address_id", "A-1"), ("description", too_long.as_str())];
    refused_form(&form, None, "description");
}

#[test]
fn optional_attributes_and_informational_ones_may_be_left_out() {
    let f = parse_new_request(&pairs(&GOOD), Some(&definition())).unwrap();
    assert_eq!(f.attributes, pairs(&[("loai_den", "led")]));
    // Without a definition nothing is checked against one.
    let mut list = GOOD.to_vec();
    list.push(("attribute[bat_ky]", "gì cũng được"));
    assert_eq!(parse_new_request(&pairs(&list), None).unwrap().attributes.len(), 2);
}

fn query(list: &[(&str, &str)]) -> Result<RequestsQuery, Open311Error> {
    parse_requests_query(&pairs(list))
}

fn refused_query(list: &[(&str, &str)], field: &str) {
    let e = query(list).unwrap_err();
    assert_eq!(e.status, 400);
    assert!(e.description.contains(field), "{:?} does not name {field}", e.description);
}

#[test]
fn the_requests_query_is_read() {
    let q = query(&[]).unwrap();
    assert_eq!(q, RequestsQuery::default());
    assert_eq!((q.page, q.page_size, q.extensions), (1, 50, false));
    assert_eq!(DEFAULT_WINDOW_DAYS, 90);

    let q = query(&[
        ("service_request_id", "HD-1, HD-2,,"),
        ("service_code", "den-duong,rac"),
        ("status", "open,Closed"),
        ("status", "open"),
        ("start_date", "2026-12-01T00:00:00+07:00"),
        // A '+' that arrived unencoded became a space.
        ("end_date", "2026-12-03T09:30:00 07:00"),
        ("page", "3"),
        ("page_size", "200"),
        ("extensions", "true"),
        ("jurisdiction_id", "quangtri.gov.vn"),
        ("api_key", "ignored here"),
    ])
    .unwrap();
    assert_eq!(q.ids, ["HD-1", "HD-2"]);
    assert_eq!(q.service_codes, ["den-duong", "rac"]);
    assert_eq!(q.statuses, [Status::Open, Status::Closed]);
    assert_eq!(q.start, Some("2026-11-30T17:00:00Z".parse::<Timestamp>().unwrap()));
    assert_eq!(q.end, Some("2026-12-03T02:30:00Z".parse::<Timestamp>().unwrap()));
    assert_eq!((q.page, q.page_size, q.extensions), (3, 200, true));
    assert_eq!(q.jurisdiction_id.as_deref(), Some("quangtri.gov.vn"));
}

#[test]
fn query_refusals_name_the_parameter() {
    refused_query(&[("page_size", "201")], "page_size");
    refused_query(&[("page_size", "0")], "page_size");
    refused_query(&[("page_size", "nhiều")], "page_size");
    refused_query(&[("page", "0")], "page");
    refused_query(&[("status", "open,pending")], "status");
    refused_query(&[("extensions", "yes")], "extensions");
    refused_query(&[("start_date", "03/12/2026")], "start_date");
    refused_query(&[("end_date", "2026-12-03T09:30:00")], "end_date");
    refused_query(&[("start_date", "2026-12-03"), ("end_date", "2026-12-02")], "end_date");
    refused_query(&[("page", "1"), ("page", "2")], "page");
}

#[test]
fn w3c_datetimes() {
    let at = |s: &str| s.parse::<Timestamp>().unwrap();
    assert_eq!(parse_w3c("2026-12-03T09:30:00+07:00"), Some(at("2026-12-03T02:30:00Z")));
    assert_eq!(parse_w3c("2026-12-03T02:30:00Z"), Some(at("2026-12-03T02:30:00Z")));
    assert_eq!(parse_w3c("2026-12-03T09:30:00.5+07:00"), Some(at("2026-12-03T02:30:00.5Z")));
    assert_eq!(parse_w3c("2026-12-03"), Some(at("2026-12-02T17:00:00Z")), "a date starts in Vietnam");
    assert_eq!(parse_w3c("2026-12-03T09:30:00"), None, "no offset, no instant");
    assert_eq!(parse_w3c("hôm nay"), None);
    assert_eq!(w3c_datetime(at("2026-12-02T17:00:00.999Z")), "2026-12-03T00:00:00+07:00");
}
