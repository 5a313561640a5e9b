//! The data hub's NGSI-LD API as an agency's system and the FIWARE tools use it: entities,
//! queries, batches, contexts and exchange data structures, on SQLite and PostgreSQL.

use std::time::Duration;

use reqwest::{Client, Method, Response};
use serde_json::{json, Value};

use crate::harness::{backends, send, TestApp};

const CORE_LINK: &str = "<https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"";

async fn json_of(res: Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// An NGSI-LD ProblemDetails: (status, the type's last segment, detail).
async fn problem(res: Response) -> (u16, String, String) {
    let (status, body) = json_of(res).await;
    let kind = body["type"].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_string();
    (status, kind, body["detail"].as_str().unwrap_or_default().to_string())
}

fn station(n: u32, temp: f64, lon: f64, lat: f64) -> Value {
    json!({
        "id": format!("urn:ngsi-ld:WeatherStation:lc-{n:03}"),
        "type": "WeatherStation",
        "temperature": {"type": "Property", "value": temp, "unitCode": "CEL", "observedAt": "2026-11-23T01:00:00Z"},
        "status": {"type": "Property", "value": if n.is_multiple_of(2) { "ok" } else { "fault" }},
        "address": {"type": "Property", "value": {"addressLocality": if n < 3 { "Tam Đường" } else { "Sìn Hồ" }, "streetAddress": "Quốc lộ 4D"}},
        "name": {"type": "LanguageProperty", "languageMap": {"vi": format!("Trạm số {n}"), "en": format!("Station {n}")}},
        "refDevice": {"type": "Relationship", "object": format!("urn:ngsi-ld:Device:dev-{n}")},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
    })
}

#[tokio::test]
async fn an_entity_is_created_read_changed_and_deleted() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = app.signed_in("operator").await;
        let id = "urn:ngsi-ld:WeatherStation:lc-001";
        let res =
            send(&op, &app, Method::POST, "/ngsi-ld/v1/entities", Some(station(1, 18.5, 103.45, 22.39)))
                .await;
        assert_eq!(res.status(), 201, "{backend:?}");
        assert_eq!(res.headers()["location"], format!("/ngsi-ld/v1/entities/{id}"));
        let (s, kind, _) = problem(
            send(&op, &app, Method::POST, "/ngsi-ld/v1/entities", Some(station(1, 1.0, 103.0, 22.0))).await,
        )
        .await;
        assert_eq!((s, kind.as_str()), (409, "AlreadyExists"));

        // Normalized, keyValues, concise, sysAttrs, attrs and lang.
        let (s, e) =
            json_of(send(&op, &app, Method::GET, &format!("/ngsi-ld/v1/entities/{id}"), None).await).await;
        assert_eq!(s, 200);
        assert_eq!(
            e["temperature"],
            json!({"type": "Property", "value": 18.5, "unitCode": "CEL", "observedAt": "2026-11-23T01:00:00Z"})
        );
        assert_eq!(e["name"]["languageMap"]["vi"], "Trạm số 1");
        assert!(e.get("createdAt").is_none(), "no system attributes unless asked");
        let (_, kv) = json_of(
            send(
                &op,
                &app,
                Method::GET,
                &format!("/ngsi-ld/v1/entities/{id}?options=keyValues&attrs=temperature,refDevice"),
                None,
            )
            .await,
        )
        .await;
        assert_eq!(
            kv,
            json!({"id": id, "type": "WeatherStation", "temperature": 18.5, "refDevice": "urn:ngsi-ld:Device:dev-1"})
        );
        let (_, concise) = json_of(
            send(&op, &app, Method::GET, &format!("/ngsi-ld/v1/entities/{id}?options=concise"), None).await,
        )
        .await;
        assert_eq!(concise["status"], "fault");
        assert_eq!(concise["refDevice"], json!({"object": "urn:ngsi-ld:Device:dev-1"}));
        let (_, sys) = json_of(
            send(&op, &app, Method::GET, &format!("/ngsi-ld/v1/entities/{id}?options=sysAttrs"), None).await,
        )
        .await;
        assert!(
            sys["createdAt"].as_str().is_some() && sys["temperature"]["modifiedAt"].as_str().is_some(),
            "{sys}"
        );
        let (_, en) = json_of(
            send(
                &op,
                &app,
                Method::GET,
                &format!("/ngsi-ld/v1/entities/{id}?options=keyValues&lang=en"),
                None,
            )
            .await,
        )
        .await;
        assert_eq!(en["name"], "Station 1");

        // Attribute update: 204, or 207 naming what does not exist.
        let res = op
            .patch(app.url(&format!("/ngsi-ld/v1/entities/{id}/attrs")))
            .header("content-type", "application/json")
            .header("link", CORE_LINK)
            .body(json!({"temperature": {"type": "Property", "value": 19.0}}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        let (s, body) = json_of(
            send(
                &op,
                &app,
                Method::PATCH,
                &format!("/ngsi-ld/v1/entities/{id}/attrs"),
                Some(json!({"humidity": 80})),
            )
            .await,
        )
        .await;
        assert_eq!(s, 207);
        assert_eq!(body["notUpdated"][0]["attributeName"], "humidity");
        // Append with noOverwrite keeps what exists.
        let (s, body) = json_of(send(&op, &app, Method::POST, &format!("/ngsi-ld/v1/entities/{id}/attrs?options=noOverwrite"), Some(json!({"temperature": 5, "humidity": {"type": "Property", "value": 80, "datasetId": "urn:ngsi-ld:Dataset:sensor-a"}}))).await).await;
        assert_eq!(s, 207, "{body}");
        // Partial update of one attribute keeps its other members.
        let res = send(
            &op,
            &app,
            Method::PATCH,
            &format!("/ngsi-ld/v1/entities/{id}/attrs/status"),
            Some(json!({"type": "Property", "value": "ok"})),
        )
        .await;
        assert_eq!(res.status(), 204);
        // Merge-patch: a compound value merged, an attribute removed with NGSI-LD null.
        let res = send(&op, &app, Method::PATCH, &format!("/ngsi-ld/v1/entities/{id}"), Some(json!({"address": {"type": "Property", "value": {"streetAddress": "Đường 19/5"}}, "refDevice": "urn:ngsi-ld:null"}))).await;
        assert_eq!(res.status(), 204);
        let (_, e) = json_of(
            send(&op, &app, Method::GET, &format!("/ngsi-ld/v1/entities/{id}?options=keyValues"), None).await,
        )
        .await;
        assert_eq!(e["temperature"], 19.0);
        assert_eq!(e["humidity"], 80);
        assert_eq!(e["status"], "ok");
        assert_eq!(e["address"], json!({"addressLocality": "Tam Đường", "streetAddress": "Đường 19/5"}));
        assert!(e.get("refDevice").is_none());
        // One instance of a multi-instance attribute, then the attribute itself.
        let res = send(
            &op,
            &app,
            Method::DELETE,
            &format!("/ngsi-ld/v1/entities/{id}/attrs/humidity?datasetId=urn:ngsi-ld:Dataset:sensor-a"),
            None,
        )
        .await;
        assert_eq!(res.status(), 204);
        let (s, kind, _) = problem(
            send(&op, &app, Method::DELETE, &format!("/ngsi-ld/v1/entities/{id}/attrs/humidity"), None).await,
        )
        .await;
        assert_eq!((s, kind.as_str()), (404, "ResourceNotFound"));
        // Replace: only what the new body says.
        let res = send(
            &op,
            &app,
            Method::PUT,
            &format!("/ngsi-ld/v1/entities/{id}"),
            Some(json!({"type": "WeatherStation", "status": "retired"})),
        )
        .await;
        assert_eq!(res.status(), 204);
        let (_, e) = json_of(
            send(&op, &app, Method::GET, &format!("/ngsi-ld/v1/entities/{id}?options=keyValues"), None).await,
        )
        .await;
        assert_eq!(e, json!({"id": id, "type": "WeatherStation", "status": "retired"}));
        assert_eq!(
            send(&op, &app, Method::DELETE, &format!("/ngsi-ld/v1/entities/{id}"), None).await.status(),
            204
        );
        let (s, kind, _) =
            problem(send(&op, &app, Method::GET, &format!("/ngsi-ld/v1/entities/{id}"), None).await).await;
        assert_eq!((s, kind.as_str()), (404, "ResourceNotFound"));
        app.stop().await;
    }
}

#[tokio::test]
async fn bad_input_is_refused_with_the_reason_and_nothing_is_written() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite).await;
    let op = app.signed_in("operator").await;
    let res = op
        .post(app.url("/ngsi-ld/v1/entities"))
        .header("content-type", "text/plain")
        .body(station(1, 1.0, 103.0, 22.0).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let res = op
        .post(app.url("/ngsi-ld/v1/entities"))
        .header("content-type", "application/json")
        .body("{\"id\": \"urn:x:1\",\n \"type\": }")
        .send()
        .await
        .unwrap();
    let (s, kind, detail) = problem(res).await;
    assert_eq!((s, kind.as_str()), (400, "InvalidRequest"));
    assert!(detail.contains("line 2, column"), "{detail}");
    let mut bad_id = station(1, 1.0, 103.0, 22.0);
    bad_id["id"] = json!("tram 01");
    let (s, kind, detail) =
        problem(send(&op, &app, Method::POST, "/ngsi-ld/v1/entities", Some(bad_id)).await).await;
    assert_eq!((s, kind.as_str()), (400, "BadRequestData"));
    assert!(detail.contains("not a URI"), "{detail}");
    let mut open_ring = station(2, 1.0, 103.0, 22.0);
    open_ring["location"]["value"] = json!({"type": "Polygon", "coordinates": [[[103.0, 22.0], [103.1, 22.0], [103.1, 22.1], [103.0, 22.2]]]});
    let (s, _, detail) =
        problem(send(&op, &app, Method::POST, "/ngsi-ld/v1/entities", Some(open_ring)).await).await;
    assert_eq!(s, 400);
    assert!(detail.contains("closed"), "{detail}");
    let (s, _, detail) = problem(
        send(&op, &app, Method::POST, "/ngsi-ld/v1/entities", Some(station(3, 1.0, 103.0, 95.0))).await,
    )
    .await;
    assert_eq!(s, 400);
    assert!(detail.contains("latitude 95"), "{detail}");
    let mut with_context = station(4, 1.0, 103.0, 22.0);
    with_context["@context"] = json!("https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld");
    let (s, kind, _) =
        problem(send(&op, &app, Method::POST, "/ngsi-ld/v1/entities", Some(with_context)).await).await;
    assert_eq!((s, kind.as_str()), (400, "BadRequestData"), "application/json with @context in the body");
    let (s, kind, _) =
        problem(send(&op, &app, Method::GET, "/ngsi-ld/v1/entities/not-a-uri", None).await).await;
    assert_eq!((s, kind.as_str()), (400, "BadRequestData"));
    let (s, kind, detail) = problem(
        send(&op, &app, Method::GET, "/ngsi-ld/v1/entities?type=WeatherStation&q=temperature>>3", None).await,
    )
    .await;
    assert_eq!((s, kind.as_str()), (400, "BadRequestData"));
    assert!(detail.contains("position"), "{detail}");
    let (s, _, detail) = problem(send(&op, &app, Method::GET, "/ngsi-ld/v1/entities?type=WeatherStation&georel=near;maxDistance=1000&geometry=Point&coordinates=[103,22]", None).await).await;
    assert_eq!(s, 400);
    assert!(detail.contains("georel"), "{detail}");
    // None of it was written.
    let (_, list) =
        json_of(send(&op, &app, Method::GET, "/ngsi-ld/v1/entities?type=WeatherStation", None).await).await;
    assert_eq!(list, json!([]));
    // Without signing in: refused, in NGSI-LD's form.
    let (s, _, _) = problem(
        send(&app.client(), &app, Method::GET, "/ngsi-ld/v1/entities?type=WeatherStation", None).await,
    )
    .await;
    assert_eq!(s, 401);
    app.stop().await;
}

async fn seed(app: &TestApp, c: &Client) {
    let items: Vec<Value> =
        (0..6).map(|n| station(n, 15.0 + n as f64 * 3.0, 103.45 + n as f64 * 0.005, 22.39)).collect();
    let res =
        send(c, app, Method::POST, "/ngsi-ld/v1/entityOperations/create", Some(Value::Array(items))).await;
    assert_eq!(res.status(), 201);
}

async fn ids(c: &Client, app: &TestApp, query: &str) -> Vec<String> {
    let (s, body) =
        json_of(send(c, app, Method::GET, &format!("/ngsi-ld/v1/entities?{query}"), None).await).await;
    assert_eq!(s, 200, "{query}: {body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().rsplit('-').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn queries_filter_by_type_id_q_and_geometry() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = app.signed_in("operator").await;
        seed(&app, &op).await;
        // temperatures 15 18 21 24 27 30; even stations ok, odd fault; 0-2 Tam Đường.
        assert_eq!(ids(&op, &app, "type=WeatherStation").await, ["000", "001", "002", "003", "004", "005"]);
        assert_eq!(ids(&op, &app, "type=Other,WeatherStation&limit=2&offset=1").await, ["001", "002"]);
        assert_eq!(
            ids(&op, &app, "id=urn:ngsi-ld:WeatherStation:lc-004,urn:ngsi-ld:WeatherStation:lc-001").await,
            ["001", "004"]
        );
        assert_eq!(ids(&op, &app, "type=WeatherStation&idPattern=lc-00[2-3]$").await, ["002", "003"]);
        let q = |text: &str| format!("type=WeatherStation&q={}", urlencode(text));
        assert_eq!(ids(&op, &app, &q("temperature>24")).await, ["004", "005"]);
        assert_eq!(ids(&op, &app, &q("temperature<=18")).await, ["000", "001"]);
        assert_eq!(ids(&op, &app, &q("temperature==18..24")).await, ["001", "002", "003"]);
        assert_eq!(ids(&op, &app, &q("temperature==15,30")).await, ["000", "005"]);
        assert_eq!(ids(&op, &app, &q("temperature!=15")).await.len(), 5);
        assert_eq!(ids(&op, &app, &q("status==\"ok\";temperature>20")).await, ["002", "004"]);
        assert_eq!(
            ids(&op, &app, &q("(status==\"fault\";temperature<20)|temperature>=30")).await,
            ["001", "005"]
        );
        assert_eq!(ids(&op, &app, &q("address[addressLocality]==\"Sìn Hồ\";status==\"ok\"")).await, ["004"]);
        assert_eq!(ids(&op, &app, &q("refDevice==\"urn:ngsi-ld:Device:dev-3\"")).await, ["003"]);
        assert_eq!(
            ids(&op, &app, &q("temperature.observedAt>=2026-11-23T00:00:00Z;temperature>27")).await,
            ["005"]
        );
        assert_eq!(ids(&op, &app, &q("status~=\"^fa\"")).await, ["001", "003", "005"]);
        assert_eq!(ids(&op, &app, &q("status!~=\"^fa\"")).await, ["000", "002", "004"]);
        assert_eq!(ids(&op, &app, "type=WeatherStation&attrs=humidity").await, Vec::<String>::new());
        // About 515 m between neighbours at this latitude.
        let near = |d: u32| {
            format!(
                "type=WeatherStation&georel={}&geometry=Point&coordinates=%5B103.45,22.39%5D",
                urlencode(&format!("near;maxDistance=={d}"))
            )
        };
        assert_eq!(ids(&op, &app, &near(600)).await, ["000", "001"]);
        assert_eq!(ids(&op, &app, &near(1100)).await, ["000", "001", "002"]);
        let far = format!(
            "type=WeatherStation&georel={}&geometry=Point&coordinates=%5B103.45,22.39%5D",
            urlencode("near;minDistance==2000")
        );
        assert_eq!(ids(&op, &app, &far).await, ["004", "005"]);
        let within = format!(
            "type=WeatherStation&georel=within&geometry=Polygon&coordinates={}",
            urlencode("[[[103.459,22.38],[103.50,22.38],[103.50,22.40],[103.459,22.40],[103.459,22.38]]]")
        );
        assert_eq!(ids(&op, &app, &within).await, ["002", "003", "004", "005"]);
        // Counting, and more than the server answers at once.
        let res = send(
            &op,
            &app,
            Method::GET,
            &format!("{}&count=true&limit=1", "/ngsi-ld/v1/entities?type=WeatherStation"),
            None,
        )
        .await;
        assert_eq!(res.headers()["ngsild-results-count"], "6");
        let res = send(
            &op,
            &app,
            Method::GET,
            &format!("/ngsi-ld/v1/entities?{}&count=true&limit=0", q("temperature>20")),
            None,
        )
        .await;
        assert_eq!(res.headers()["ngsild-results-count"], "4");
        let (s, kind, _) = problem(
            send(&op, &app, Method::GET, "/ngsi-ld/v1/entities?type=WeatherStation&limit=5000", None).await,
        )
        .await;
        assert_eq!((s, kind.as_str()), (403, "TooManyResults"));
        // The same query as a POST.
        let (s, body) = json_of(
            send(&op, &app, Method::POST, "/ngsi-ld/v1/entityOperations/query?options=keyValues", Some(json!({
                "type": "Query", "entities": [{"type": "WeatherStation"}], "q": "temperature>=27",
                "geoQ": {"georel": "near;maxDistance==5000", "geometry": "Point", "coordinates": [103.45, 22.39]},
                "attrs": ["temperature"],
            })))
            .await,
        )
        .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(
            body,
            json!([
                {"id": "urn:ngsi-ld:WeatherStation:lc-004", "type": "WeatherStation", "temperature": 27.0},
                {"id": "urn:ngsi-ld:WeatherStation:lc-005", "type": "WeatherStation", "temperature": 30.0},
            ])
        );
        // Types and attributes.
        let (_, types) = json_of(send(&op, &app, Method::GET, "/ngsi-ld/v1/types", None).await).await;
        assert_eq!(
            types["typeList"],
            json!([
                "AirQualityObserved",
                "Camera",
                "FloodMonitoring",
                "PointOfInterest",
                "RiverGauge",
                "Streetlight",
                "TrafficFlowObserved",
                "WeatherObserved",
                "WeatherStation"
            ]),
            "the demo's (but the draft's WaterQualityObserved) and ours"
        );
        let (_, info) =
            json_of(send(&op, &app, Method::GET, "/ngsi-ld/v1/types/WeatherStation", None).await).await;
        assert_eq!(info["entityCount"], 6);
        let (_, attrs) = json_of(send(&op, &app, Method::GET, "/ngsi-ld/v1/attributes", None).await).await;
        assert!(attrs["attributeList"].as_array().unwrap().contains(&json!("temperature")), "{attrs}");
        let (_, a) =
            json_of(send(&op, &app, Method::GET, "/ngsi-ld/v1/attributes/refDevice", None).await).await;
        assert_eq!(
            (a["attributeCount"].clone(), a["typeNames"].clone()),
            (json!(6), json!(["WeatherStation"]))
        );
        let (s, _, _) = problem(send(&op, &app, Method::GET, "/ngsi-ld/v1/types/Nothing", None).await).await;
        assert_eq!(s, 404);
        app.stop().await;
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_batch_writes_exactly_what_its_answer_says() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = app.signed_in("operator").await;
        let mut broken = station(2, 1.0, 103.0, 22.0);
        broken["location"]["value"]["coordinates"] = json!([103.0, 95.0]);
        let items = json!([
            station(1, 20.0, 103.4, 22.3),
            broken,
            station(3, 21.0, 103.4, 22.3),
            station(1, 22.0, 103.4, 22.3)
        ]);
        let (s, body) =
            json_of(send(&op, &app, Method::POST, "/ngsi-ld/v1/entityOperations/create", Some(items)).await)
                .await;
        assert_eq!(s, 207, "{body}");
        assert_eq!(
            body["success"],
            json!(["urn:ngsi-ld:WeatherStation:lc-001", "urn:ngsi-ld:WeatherStation:lc-003"])
        );
        let errors = body["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0]["entityId"], "urn:ngsi-ld:WeatherStation:lc-002");
        assert!(errors[0]["error"]["detail"].as_str().unwrap().contains("latitude"), "{body}");
        assert!(errors[1]["error"]["type"].as_str().unwrap().ends_with("AlreadyExists"));
        assert_eq!(ids(&op, &app, "type=WeatherStation").await, ["001", "003"]);
        // Upsert: 201 with what was created, 204 when all were there.
        let (s, body) = json_of(
            send(
                &op,
                &app,
                Method::POST,
                "/ngsi-ld/v1/entityOperations/upsert",
                Some(json!([station(3, 25.0, 103.4, 22.3), station(4, 26.0, 103.4, 22.3)])),
            )
            .await,
        )
        .await;
        assert_eq!((s, body), (201, json!(["urn:ngsi-ld:WeatherStation:lc-004"])));
        let res = send(&op, &app, Method::POST, "/ngsi-ld/v1/entityOperations/upsert?options=update", Some(json!([{"id": "urn:ngsi-ld:WeatherStation:lc-004", "type": "WeatherStation", "temperature": 11}]))).await;
        assert_eq!(res.status(), 204);
        let (_, e) = json_of(
            send(
                &op,
                &app,
                Method::GET,
                "/ngsi-ld/v1/entities/urn:ngsi-ld:WeatherStation:lc-004?options=keyValues",
                None,
            )
            .await,
        )
        .await;
        assert_eq!(
            (e["temperature"].clone(), e["status"].clone()),
            (json!(11), json!("ok")),
            "update keeps the rest"
        );
        // Update needs the entity; delete reports the missing.
        let (s, body) = json_of(send(&op, &app, Method::POST, "/ngsi-ld/v1/entityOperations/update", Some(json!([{"id": "urn:ngsi-ld:WeatherStation:lc-009", "type": "WeatherStation", "status": "ok"}, {"id": "urn:ngsi-ld:WeatherStation:lc-001", "type": "WeatherStation", "status": "ok"}]))).await).await;
        assert_eq!(s, 207);
        assert_eq!(body["success"], json!(["urn:ngsi-ld:WeatherStation:lc-001"]));
        let (s, body) = json_of(
            send(
                &op,
                &app,
                Method::POST,
                "/ngsi-ld/v1/entityOperations/delete",
                Some(json!(["urn:ngsi-ld:WeatherStation:lc-001", "urn:ngsi-ld:WeatherStation:lc-009"])),
            )
            .await,
        )
        .await;
        assert_eq!(s, 207);
        assert_eq!(body["errors"][0]["entityId"], "urn:ngsi-ld:WeatherStation:lc-009");
        assert_eq!(ids(&op, &app, "type=WeatherStation").await, ["003", "004"]);
        app.stop().await;
    }
}

#[tokio::test]
async fn writes_are_checked_against_the_exchange_data_structure() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = app.signed_in("operator").await;
        // A shipped Smart Data Model: WeatherObserved's temperature is a number.
        let good = json!({"id": "urn:ngsi-ld:WeatherObserved:tam-duong", "type": "WeatherObserved",
            "dateObserved": {"type": "Property", "value": "2026-11-23T01:00:00Z"}, "temperature": {"type": "Property", "value": 18.2},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [103.45, 22.39]}}});
        let res = send(&op, &app, Method::POST, "/ngsi-ld/v1/entities", Some(good)).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let (s, body) = json_of(
            send(
                &op,
                &app,
                Method::PATCH,
                "/ngsi-ld/v1/entities/urn:ngsi-ld:WeatherObserved:tam-duong/attrs",
                Some(json!({"temperature": {"type": "Property", "value": "hot"}})),
            )
            .await,
        )
        .await;
        assert_eq!(s, 400, "{body}");
        assert_eq!(body["violations"][0]["pointer"], "/temperature", "{body}");
        assert_eq!(body["violations"][0]["rule"], "type");
        let (_, e) = json_of(
            send(
                &op,
                &app,
                Method::GET,
                "/ngsi-ld/v1/entities/urn:ngsi-ld:WeatherObserved:tam-duong?options=keyValues",
                None,
            )
            .await,
        )
        .await;
        assert_eq!(e["temperature"], 18.2, "the refused write changed nothing");
        // A reading from more than five minutes in the future.
        let future = (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(30)).to_string();
        let (s, body) = json_of(
            send(
                &op,
                &app,
                Method::PATCH,
                "/ngsi-ld/v1/entities/urn:ngsi-ld:WeatherObserved:tam-duong/attrs",
                Some(json!({"temperature": {"type": "Property", "value": 19.0, "observedAt": future}})),
            )
            .await,
        )
        .await;
        assert_eq!(s, 400);
        assert_eq!(body["violations"][0]["pointer"], "/temperature/observedAt", "{body}");

        // A custom schema set by the administrator; officers may not.
        let schema = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "required": ["waterLevel"], "properties": {"waterLevel": {"type": "number", "minimum": 0, "maximum": 50}}});
        let officer = app.signed_in("officer").await;
        assert_eq!(
            officer
                .put(app.url("/api/v1/hub/schemas/RiverGauge"))
                .json(&schema)
                .send()
                .await
                .unwrap()
                .status(),
            403
        );
        let admin = app.signed_in("admin").await;
        let res = admin.put(app.url("/api/v1/hub/schemas/RiverGauge")).json(&schema).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let bad_schema = admin
            .put(app.url("/api/v1/hub/schemas/RiverGauge"))
            .json(&json!({"type": 12}))
            .send()
            .await
            .unwrap();
        assert_eq!(bad_schema.status(), 400);
        let gauge = |n: u32, level: Value| json!({"id": format!("urn:ngsi-ld:RiverGauge:{n}"), "type": "RiverGauge", "waterLevel": level});
        let (s, body) = json_of(send(&op, &app, Method::POST, "/ngsi-ld/v1/entityOperations/create", Some(json!([gauge(1, json!(3.2)), gauge(2, json!(75)), {"id": "urn:ngsi-ld:RiverGauge:3", "type": "RiverGauge"}]))).await).await;
        assert_eq!(s, 207, "{body}");
        assert_eq!(body["success"], json!(["urn:ngsi-ld:RiverGauge:1"]));
        assert_eq!(body["errors"][0]["error"]["violations"][0]["rule"], "maximum", "{body}");
        assert_eq!(body["errors"][1]["error"]["violations"][0]["rule"], "required", "{body}");
        let (s, list) = json_of(admin.get(app.url("/api/v1/hub/schemas")).send().await.unwrap()).await;
        assert_eq!(s, 200);
        assert!(list.as_array().unwrap().iter().any(|i| i["source"] == "custom"), "{list}");
        assert_eq!(
            admin
                .delete(app.url("/api/v1/hub/schemas/RiverGauge"))
                .header("content-type", "application/json")
                .send()
                .await
                .unwrap()
                .status(),
            204
        );
        assert_eq!(
            send(&op, &app, Method::POST, "/ngsi-ld/v1/entities", Some(gauge(2, json!(75)))).await.status(),
            201
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn contexts_name_attributes_and_unknown_ones_are_not_fetched() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite).await;
    let op = app.signed_in("operator").await;
    // An agency's context, hosted by the hub.
    let res = send(&op, &app, Method::POST, "/ngsi-ld/v1/jsonldContexts", Some(json!({"@context": {"mucNuoc": "https://so-nn-mt.laichau.gov.vn/ns/waterLevel", "TramDoMua": "https://so-nn-mt.laichau.gov.vn/ns/RainGauge"}}))).await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let link = format!(
        "<{}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"",
        app.url(&location)
    );
    let res = op
        .post(app.url("/ngsi-ld/v1/entities"))
        .header("content-type", "application/json")
        .header("link", &link)
        .body(json!({"id": "urn:ngsi-ld:TramDoMua:1", "type": "TramDoMua", "mucNuoc": 2.5}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // Without the context, the names are full IRIs; with it, short again.
    let (_, plain) = json_of(
        send(&op, &app, Method::GET, "/ngsi-ld/v1/entities/urn:ngsi-ld:TramDoMua:1?options=keyValues", None)
            .await,
    )
    .await;
    assert_eq!(plain["type"], "https://so-nn-mt.laichau.gov.vn/ns/RainGauge");
    assert_eq!(plain["https://so-nn-mt.laichau.gov.vn/ns/waterLevel"], 2.5);
    let res = op
        .get(app.url("/ngsi-ld/v1/entities/urn:ngsi-ld:TramDoMua:1?options=keyValues"))
        .header("link", &link)
        .send()
        .await
        .unwrap();
    assert!(res.headers()["link"].to_str().unwrap().contains(&location));
    let short: Value = res.json().await.unwrap();
    assert_eq!((short["type"].clone(), short["mucNuoc"].clone()), (json!("TramDoMua"), json!(2.5)));
    let res = op
        .get(app.url("/ngsi-ld/v1/entities/urn:ngsi-ld:TramDoMua:1?options=keyValues"))
        .header("link", &link)
        .header("accept", "application/ld+json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/ld+json");
    let ld: Value = res.json().await.unwrap();
    assert_eq!(ld["@context"], json!(app.url(&location)));
    // The core context is served; a context from a host not allowed is never fetched.
    let (s, core) =
        json_of(app.client().get(app.url("/ngsi-ld/v1/jsonldContexts/core")).send().await.unwrap()).await;
    assert_eq!(s, 200);
    assert!(core["@context"].is_object());
    let (s, list) = json_of(send(&op, &app, Method::GET, "/ngsi-ld/v1/jsonldContexts", None).await).await;
    assert_eq!(s, 200);
    assert!(list.as_array().unwrap().iter().any(|u| u.as_str().unwrap().ends_with(&location)), "{list}");
    let res = op
        .get(app.url("/ngsi-ld/v1/entities?type=X"))
        .header("link", "<http://203.0.113.9/ctx.jsonld>; rel=\"http://www.w3.org/ns/json-ld#context\"")
        .send()
        .await
        .unwrap();
    let (s, kind, detail) = problem(res).await;
    assert_eq!((s, kind.as_str()), (503, "LdContextNotAvailable"));
    assert!(detail.contains("203.0.113.9"), "{detail}");
    // Deleting a hosted context is the administrator's.
    let id = location.rsplit('/').next().unwrap();
    assert_eq!(
        send(&op, &app, Method::DELETE, &format!("/ngsi-ld/v1/jsonldContexts/{id}"), None).await.status(),
        403
    );
    let admin = app.signed_in("admin").await;
    assert_eq!(
        send(&admin, &app, Method::DELETE, &format!("/ngsi-ld/v1/jsonldContexts/{id}"), None).await.status(),
        204
    );
    app.stop().await;
}

#[tokio::test]
async fn a_context_from_an_allowed_host_is_fetched_once_and_kept() {
    // A small context server, as an agency would run on the intranet.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let router = axum::Router::new().route(
        "/ctx.jsonld",
        axum::routing::get(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { axum::Json(json!({"@context": {"luongMua": "https://kttv.example/ns/rainfall"}})) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let store = crate::harness::TestStore::new(crate::harness::Backend::Sqlite).await;
    let mut config = store.config();
    config.hub.context_hosts = vec![host.clone()];
    let app = TestApp::spawn_config(store, config, true).await;
    let op = app.signed_in("operator").await;
    let link = format!("<http://{host}/ctx.jsonld>; rel=\"http://www.w3.org/ns/json-ld#context\"");
    for n in 1..=2 {
        let res = op
            .post(app.url("/ngsi-ld/v1/entities"))
            .header("content-type", "application/json")
            .header("link", &link)
            .body(json!({"id": format!("urn:ngsi-ld:Tram:{n}"), "type": "Tram", "luongMua": 4.5}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1, "fetched once, then kept");
    let (_, e) = json_of(
        send(&op, &app, Method::GET, "/ngsi-ld/v1/entities/urn:ngsi-ld:Tram:1?options=keyValues", None).await,
    )
    .await;
    assert_eq!(e["https://kttv.example/ns/rainfall"], 4.5);
    app.stop().await;
}

#[tokio::test]
async fn entity_changes_reach_the_bus_and_survive_a_restart() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let mut rx = app.state.bus.subscribe().await.unwrap();
        let op = app.signed_in("operator").await;
        seed(&app, &op).await;
        let res = send(
            &op,
            &app,
            Method::PATCH,
            "/ngsi-ld/v1/entities/urn:ngsi-ld:WeatherStation:lc-002/attrs",
            Some(json!({"temperature": 33.5})),
        )
        .await;
        assert_eq!(res.status(), 204);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let update = loop {
            let e = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .expect("an event in time")
                .expect("bus open");
            if e.kind == "entity.update" {
                break e;
            }
        };
        assert_eq!(update.target.as_deref(), Some("urn:ngsi-ld:WeatherStation:lc-002"));
        assert_eq!(update.actor.as_deref(), Some("operator"));
        let detail: Value = serde_json::from_str(&update.detail).unwrap();
        assert_eq!(detail["https://uri.etsi.org/ngsi-ld/default-context/temperature"]["value"], 33.5);
        // The officer's agency may read but not change the centre's entities.
        let officer = app.signed_in("officer").await;
        let (s, kind, _) = problem(
            send(
                &officer,
                &app,
                Method::PATCH,
                "/ngsi-ld/v1/entities/urn:ngsi-ld:WeatherStation:lc-002/attrs",
                Some(json!({"temperature": 1})),
            )
            .await,
        )
        .await;
        assert_eq!((s, kind.as_str()), (403, "Forbidden"));
        // The audit trail has one record for the batch and one for the PATCH.
        let passwords = app.passwords.clone();
        let store = app.stop().await;
        let mut app = TestApp::spawn_with(store, false).await;
        app.passwords = passwords;
        let op = app.signed_in("operator").await;
        let q = format!("type=WeatherStation&q={}", urlencode("temperature>30"));
        assert_eq!(ids(&op, &app, &q).await, ["002"], "the index is rebuilt at start");
        let near = format!(
            "type=WeatherStation&georel={}&geometry=Point&coordinates=%5B103.45,22.39%5D",
            urlencode("near;maxDistance==600")
        );
        assert_eq!(ids(&op, &app, &near).await, ["000", "001"]);
        app.stop().await;
    }
}

#[tokio::test]
async fn json_ld_bodies_keep_their_context_out_of_the_data() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite).await;
    let op = app.signed_in("operator").await;
    let core = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld";
    let mut e = station(7, 20.0, 103.4, 22.3);
    e["@context"] = json!(core);
    let ld = |req: reqwest::RequestBuilder, body: Value| {
        req.header("content-type", "application/ld+json").body(body.to_string())
    };
    assert_eq!(ld(op.post(app.url("/ngsi-ld/v1/entities")), e).send().await.unwrap().status(), 201);
    let id = "urn:ngsi-ld:WeatherStation:lc-007";
    let res = ld(
        op.patch(app.url(&format!("/ngsi-ld/v1/entities/{id}/attrs/status"))),
        json!({"type": "Property", "value": "ok", "@context": core}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), 204);
    let (_, got) =
        json_of(send(&op, &app, Method::GET, &format!("/ngsi-ld/v1/entities/{id}"), None).await).await;
    assert_eq!(got["status"], json!({"type": "Property", "value": "ok"}), "no @context inside the attribute");
    // A batch in application/ld+json: every entity carries its context.
    let (s, body) = json_of(
        ld(op.post(app.url("/ngsi-ld/v1/entityOperations/create")), json!([station(8, 1.0, 103.4, 22.3)]))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 207, "{body}");
    assert!(body["errors"][0]["error"]["detail"].as_str().unwrap().contains("@context"), "{body}");
    // Several selectors with ids are refused, not half answered.
    let (s, kind, _) = problem(
        send(
            &op,
            &app,
            Method::POST,
            "/ngsi-ld/v1/entityOperations/query",
            Some(json!({
                "type": "Query", "entities": [{"type": "WeatherStation", "id": id}, {"type": "RiverGauge"}],
            })),
        )
        .await,
    )
    .await;
    assert_eq!((s, kind.as_str()), (422, "OperationNotSupported"));
    app.stop().await;
}

#[tokio::test]
async fn a_context_given_by_configuration_is_served_without_fetching() {
    let store = crate::harness::TestStore::new(crate::harness::Backend::Sqlite).await;
    let mut config = store.config();
    let file = std::path::Path::new(&config.storage.data_dir).join("so-nn-mt-context.jsonld");
    std::fs::create_dir_all(&config.storage.data_dir).unwrap();
    std::fs::write(
        &file,
        json!({"@context": {"doAmDat": "https://so-nn-mt.laichau.gov.vn/ns/soilMoisture"}}).to_string(),
    )
    .unwrap();
    let url = "https://so-nn-mt.laichau.gov.vn/ngsi-ld/context.jsonld";
    config.hub.contexts = vec![format!("{url}={}", file.display())];
    let app = TestApp::spawn_config(store, config, true).await;
    let op = app.signed_in("operator").await;
    let res = op
        .post(app.url("/ngsi-ld/v1/entities"))
        .header("content-type", "application/json")
        .header("link", format!("<{url}>; rel=\"http://www.w3.org/ns/json-ld#context\""))
        .body(json!({"id": "urn:ngsi-ld:SoilSensor:1", "type": "SoilSensor", "doAmDat": 0.31}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "the host is not allowed, but the context is held");
    let (_, e) = json_of(
        send(&op, &app, Method::GET, "/ngsi-ld/v1/entities/urn:ngsi-ld:SoilSensor:1?options=keyValues", None)
            .await,
    )
    .await;
    assert_eq!(e["https://so-nn-mt.laichau.gov.vn/ns/soilMoisture"], 0.31);
    let (_, list) =
        json_of(send(&op, &app, Method::GET, "/ngsi-ld/v1/jsonldContexts?details=true", None).await).await;
    let configured = list.as_array().unwrap().iter().find(|c| c["URL"] == url).expect("listed");
    assert_eq!(configured["kind"], "Configured");
    let admin = app.signed_in("admin").await;
    let id = configured["localId"].as_str().unwrap();
    let (s, kind, _) =
        problem(send(&admin, &app, Method::DELETE, &format!("/ngsi-ld/v1/jsonldContexts/{id}"), None).await)
            .await;
    assert_eq!(
        (s, kind.as_str()),
        (422, "OperationNotSupported"),
        "removed in the configuration, not the API"
    );
    app.stop().await;
}
