//! What a GeoReport v2 client sees of the renderers: field names, shapes (array or object),
//! values as strings v2 defines, and XML a parser reads back to the same text.

use axum::response::IntoResponse;
use jiff::Timestamp;
use serde_json::{json, Value};

use super::xml_check::{parse, Element};
use super::*;

const TRICKY: &str = "Ống nước vỡ <gấp> & \"nguy hiểm\" 'đường Lê Lợi'\r\nđoạn 2";

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn request(extended: bool) -> RequestView {
    RequestView {
        service_request_id: "HD-2026-0042".into(),
        status: Status::Open,
        status_notes: None,
        service_name: "Đèn đường hỏng".into(),
        service_code: "den-duong".into(),
        description: Some(TRICKY.into()),
        agency_responsible: Some("Công ty Điện lực Quảng Trị".into()),
        service_notice: None,
        requested_datetime: ts("2026-12-03T02:30:00Z"),
        updated_datetime: Some(ts("2026-12-03T03:00:00.750Z")),
        expected_datetime: None,
        address: Some("12 Hùng Vương, phường Đông Hà".into()),
        address_id: None,
        zipcode: None,
        lat: Some(16.8163),
        long: Some(107.1003),
        media_url: None,
        extended_attributes: extended.then(|| Extended {
            detailed_status: "in_progress".into(),
            detailed_status_label: "Đang xử lý".into(),
            notes: vec![NoteView {
                datetime: ts("2026-12-03T03:00:00Z"),
                description: "Đã giao đội sửa chữa".into(),
                kind: "assignment".into(),
            }],
        }),
    }
}

const REQUEST_FIELDS: [&str; 17] = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
];

fn json_of((content_type, body): (&'static str, String)) -> Value {
    assert_eq!(content_type, "application/json; charset=utf-8");
    serde_json::from_str(&body).unwrap()
}

fn xml_of((content_type, body): (&'static str, String)) -> Element {
    assert_eq!(content_type, "text/xml; charset=utf-8");
    parse(&body)
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn sorted(mut names: Vec<&str>) -> Vec<&str> {
    names.sort_unstable();
    names
}

#[test]
fn requests_json_has_exactly_v2_fields_and_open_or_closed() {
    let mut closed = request(false);
    closed.status = Status::Closed;
    let v = json_of(render_requests(&[request(false), closed], Format::Json));
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(sorted(keys(&list[0])), sorted(REQUEST_FIELDS.to_vec()));
    assert_eq!(list[0]["status"], "open");
    assert_eq!(list[1]["status"], "closed");
    let r = &list[0];
    assert_eq!(r["requested_datetime"], "2026-12-03T09:30:00+07:00");
    assert_eq!(r["updated_datetime"], "2026-12-03T10:00:00+07:00", "to the second, Vietnam offset");
    assert_eq!(r["expected_datetime"], Value::Null);
    assert_eq!(r["media_url"], Value::Null);
    assert_eq!(r["lat"], json!(16.8163));
    assert_eq!(r["long"], json!(107.1003));
    assert_eq!(r["description"], TRICKY);
    assert_eq!(r["service_name"], "Đèn đường hỏng");
}

#[test]
fn extensions_carry_the_detailed_status_and_notes() {
    let v = json_of(render_requests(&[request(true)], Format::Json));
    let ext = &v[0]["extended_attributes"];
    assert_eq!(ext["detailed_status"], "in_progress");
    assert_eq!(ext["detailed_status_label"], "Đang xử lý");
    assert_eq!(
        ext["notes"],
        json!([{"datetime": "2026-12-03T10:00:00+07:00", "description": "Đã giao đội sửa chữa", "kind": "assignment"}])
    );

    let doc = xml_of(render_requests(&[request(true)], Format::Xml));
    let ext = doc.child("request").child("extended_attributes");
    assert_eq!(ext.text_of("detailed_status"), "in_progress");
    assert_eq!(ext.text_of("detailed_status_label"), "Đang xử lý");
    let note = ext.child("notes").child("note");
    assert_eq!(note.names(), ["datetime", "description", "kind"]);
    assert_eq!(note.text_of("datetime"), "2026-12-03T10:00:00+07:00");
}

#[test]
fn requests_xml_reads_back_with_the_same_fields_and_text() {
    let doc = xml_of(render_requests(&[request(false), request(false)], Format::Xml));
    assert_eq!(doc.name, "service_requests");
    assert_eq!(doc.names(), ["request", "request"]);
    let r = doc.all("request")[0];
    assert_eq!(r.names(), REQUEST_FIELDS, "v2's fields, in v2's order, nothing else");
    assert_eq!(r.text_of("description"), TRICKY, "escaping round-trips, \\r included");
    assert_eq!(r.text_of("status"), "open");
    assert_eq!(r.text_of("requested_datetime"), "2026-12-03T09:30:00+07:00");
    assert_eq!(r.text_of("expected_datetime"), "");
    assert_eq!(r.text_of("lat"), "16.8163");
    assert_eq!(r.text_of("address"), "12 Hùng Vương, phường Đông Hà");
    assert_eq!(r.text_of("agency_responsible"), "Công ty Điện lực Quảng Trị");
}

#[test]
fn xml_text_never_breaks_the_document() {
    let mut r = request(false);
    r.description = Some("a\u{1}b\u{0}c]]></description><x>&amp;".into());
    let doc = xml_of(render_requests(&[r], Format::Xml));
    assert_eq!(doc.child("request").text_of("description"), "a\u{FFFD}b\u{FFFD}c]]></description><x>&amp;");
}

fn services() -> Vec<ServiceView> {
    vec![ServiceView {
        service_code: "den-duong".into(),
        service_name: "Đèn đường hỏng".into(),
        description: "Đèn không sáng & cột nghiêng".into(),
        metadata: true,
        type_: ServiceType::Realtime,
        keywords: vec!["đèn".into(), "chiếu sáng".into()],
        group: "Hạ tầng".into(),
    }]
}

#[test]
fn services_in_both_formats() {
    let v = json_of(render_services(&services(), Format::Json));
    assert_eq!(
        v,
        json!([{
            "service_code": "den-duong",
            "service_name": "Đèn đường hỏng",
            "description": "Đèn không sáng & cột nghiêng",
            "metadata": true,
            "type": "realtime",
            "keywords": "đèn, chiếu sáng",
            "group": "Hạ tầng"
        }])
    );
    let doc = xml_of(render_services(&services(), Format::Xml));
    assert_eq!(doc.name, "services");
    let s = doc.child("service");
    assert_eq!(
        s.names(),
        ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
    );
    assert_eq!(s.text_of("metadata"), "true");
    assert_eq!(s.text_of("type"), "realtime");
    assert_eq!(s.text_of("keywords"), "đèn, chiếu sáng");
    assert_eq!(s.text_of("description"), "Đèn không sáng & cột nghiêng");
    assert_eq!(s.text_of("group"), "Hạ tầng");
}

pub(super) fn definition() -> ServiceDefinition {
    let attribute = |code: &str, datatype, required, values: &[(&str, &str)]| AttributeView {
        variable: true,
        code: code.into(),
        datatype,
        required,
        datatype_description: String::new(),
        order: 1,
        description: format!("Mô tả {code}"),
        values: values.iter().map(|(k, n)| (k.to_string(), n.to_string())).collect(),
    };
    ServiceDefinition {
        service_code: "den-duong".into(),
        attributes: vec![
            attribute(
                "loai_den",
                Datatype::Singlevaluelist,
                true,
                &[("led", "Đèn LED"), ("cao_ap", "Cao áp")],
            ),
            attribute(
                "hu_hong",
                Datatype::Multivaluelist,
                false,
                &[("tat", "Tắt"), ("nhap_nhay", "Nhấp nháy")],
            ),
            attribute("so_cot", Datatype::Number, false, &[]),
            attribute("tu_luc", Datatype::Datetime, false, &[]),
            AttributeView { variable: false, ..attribute("luu_y", Datatype::Text, true, &[]) },
        ],
    }
}

#[test]
fn service_definition_with_attributes_and_values() {
    let v = json_of(render_service_definition(&definition(), Format::Json));
    assert!(v.is_object());
    assert_eq!(v["service_code"], "den-duong");
    let a = &v["attributes"][0];
    assert_eq!(
        sorted(keys(a)),
        sorted(vec![
            "variable",
            "code",
            "datatype",
            "required",
            "datatype_description",
            "order",
            "description",
            "values"
        ])
    );
    assert_eq!(a["datatype"], "singlevaluelist");
    assert_eq!(a["required"], true);
    assert_eq!(a["datatype_description"], Value::Null);
    assert_eq!(a["order"], 1);
    assert_eq!(a["values"], json!([{"key": "led", "name": "Đèn LED"}, {"key": "cao_ap", "name": "Cao áp"}]));
    assert_eq!(v["attributes"][1]["datatype"], "multivaluelist");

    let doc = xml_of(render_service_definition(&definition(), Format::Xml));
    assert_eq!(doc.name, "service_definition");
    assert_eq!(doc.names(), ["service_code", "attributes"]);
    let attrs = doc.child("attributes").all("attribute");
    assert_eq!(attrs.len(), 5);
    let a = attrs[0];
    assert_eq!(
        a.names(),
        [
            "variable",
            "code",
            "datatype",
            "required",
            "datatype_description",
            "order",
            "description",
            "values"
        ]
    );
    assert_eq!(a.text_of("variable"), "true");
    assert_eq!(a.text_of("order"), "1");
    let values = a.child("values").all("value");
    assert_eq!(values.len(), 2);
    assert_eq!(values[1].names(), ["key", "name"]);
    assert_eq!(values[1].text_of("key"), "cao_ap");
    assert_eq!(values[1].text_of("name"), "Cao áp");
    assert_eq!(attrs[4].text_of("variable"), "false");
}

#[test]
fn discovery_in_both_formats() {
    let d = Discovery {
        changeset: w3c_datetime(ts("2026-11-30T17:00:00Z")),
        contact: "Trung tâm Điều hành <ioc@quangtri.gov.vn>".into(),
        key_service: "https://ioc.quangtri.gov.vn/open311/key".into(),
        endpoints: vec![Endpoint {
            specification: SPECIFICATION_URL.into(),
            url: "https://ioc.quangtri.gov.vn/open311/v2".into(),
            changeset: "2026-12-01T00:00:00+07:00".into(),
            type_: "production".into(),
            formats: vec![Format::Json.media_type().into(), Format::Xml.media_type().into()],
        }],
    };
    let v = json_of(render_discovery(&d, Format::Json));
    assert_eq!(v["changeset"], "2026-12-01T00:00:00+07:00");
    assert_eq!(v["endpoints"][0]["type"], "production");
    assert_eq!(v["endpoints"][0]["specification"], "http://wiki.open311.org/GeoReport_v2");
    assert_eq!(v["endpoints"][0]["formats"], json!(["application/json", "text/xml"]));

    let doc = xml_of(render_discovery(&d, Format::Xml));
    assert_eq!(doc.name, "discovery");
    assert_eq!(doc.names(), ["changeset", "contact", "key_service", "endpoints"]);
    assert_eq!(doc.text_of("contact"), "Trung tâm Điều hành <ioc@quangtri.gov.vn>");
    let e = doc.child("endpoints").child("endpoint");
    assert_eq!(e.names(), ["specification", "url", "changeset", "type", "formats"]);
    let formats: Vec<&str> = e.child("formats").all("format").iter().map(|f| f.text.as_str()).collect();
    assert_eq!(formats, ["application/json", "text/xml"]);
}

#[test]
fn created_answers_have_one_of_v2s_two_shapes() {
    let made = CreatedView {
        service_request_id: Some("HD-1".into()),
        service_notice: Some("Sẽ xử lý trong 24 giờ".into()),
        ..CreatedView::default()
    };
    let queued = CreatedView { token: Some("tok-9".into()), ..CreatedView::default() };
    let v = json_of(render_created(&[made.clone(), queued.clone()], Format::Json));
    assert_eq!(
        v,
        json!([
            {"service_request_id": "HD-1", "service_notice": "Sẽ xử lý trong 24 giờ", "account_id": null},
            {"token": "tok-9", "service_notice": null, "account_id": null}
        ])
    );
    let doc = xml_of(render_created(&[made, queued], Format::Xml));
    assert_eq!(doc.name, "service_requests");
    let r = doc.all("request");
    assert_eq!(r[0].names(), ["service_request_id", "service_notice", "account_id"]);
    assert_eq!(r[0].text_of("service_notice"), "Sẽ xử lý trong 24 giờ");
    assert_eq!(r[1].names(), ["token", "service_notice", "account_id"]);
    assert_eq!(r[1].text_of("token"), "tok-9");
}

#[test]
fn tokens_in_both_formats() {
    let t = [
        TokenView { token: "tok-9".into(), service_request_id: Some("HD-1".into()) },
        TokenView { token: "tok-10".into(), service_request_id: None },
    ];
    let v = json_of(render_tokens(&t, Format::Json));
    assert_eq!(
        v,
        json!([{"token": "tok-9", "service_request_id": "HD-1"}, {"token": "tok-10", "service_request_id": null}])
    );
    let doc = xml_of(render_tokens(&t, Format::Xml));
    assert_eq!(doc.name, "service_requests");
    let r = doc.all("request");
    assert_eq!(r[0].names(), ["token", "service_request_id"]);
    assert_eq!(r[0].text_of("service_request_id"), "HD-1");
    assert_eq!(r[1].text_of("service_request_id"), "");
}

#[test]
fn errors_in_both_formats() {
    let e = [
        Open311Error::bad_request("lat must be a number <between> -90 & 90"),
        Open311Error::forbidden("api_key"),
    ];
    let v = json_of(render_errors(&e, Format::Json));
    assert_eq!(
        v,
        json!([
            {"code": 400, "description": "lat must be a number <between> -90 & 90"},
            {"code": 403, "description": "api_key"}
        ])
    );
    let doc = xml_of(render_errors(&e, Format::Xml));
    assert_eq!(doc.name, "errors");
    let first = doc.all("error")[0];
    assert_eq!(first.names(), ["code", "description"]);
    assert_eq!(first.text_of("code"), "400");
    assert_eq!(first.text_of("description"), "lat must be a number <between> -90 & 90");
}

#[tokio::test]
async fn a_failure_answers_with_the_first_errors_status_in_the_format() {
    let failure = Open311Failure(
        Format::Xml,
        vec![Open311Error::not_found("service_request_id HD-9 not found"), Open311Error::bad_request("x")],
    );
    let res = failure.into_response();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "text/xml; charset=utf-8");
    let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    let doc = parse(std::str::from_utf8(&body).unwrap());
    assert_eq!(doc.all("error").len(), 2);

    let res = Open311Failure(Format::Json, Vec::new()).into_response();
    assert_eq!(res.status(), 500);
    assert_eq!(res.headers()["content-type"], "application/json; charset=utf-8");
}

#[test]
fn split_format_needs_json_or_xml() {
    assert_eq!(split_format("requests.json").unwrap(), ("requests".to_string(), Format::Json));
    assert_eq!(split_format("requests.xml").unwrap(), ("requests".to_string(), Format::Xml));
    assert_eq!(split_format("123.json").unwrap(), ("123".to_string(), Format::Json));
    assert_eq!(split_format("discovery.XML").unwrap(), ("discovery".to_string(), Format::Xml));
    for bad in ["requests", "requests.csv", ".json", "requests.json.bak"] {
        let e = split_format(bad).unwrap_err();
        assert_eq!((e.status, e.code), (400, 400));
        assert!(e.description.contains(bad), "{} names the segment", e.description);
        assert!(e.description.contains(".json or .xml"), "{}", e.description);
    }
}
