//! Datasets as the regulations want them: approved before they go live, shared by default or only
//! with the consumers granted (on every NGSI-LD endpoint), on SQLite and PostgreSQL.

use reqwest::{Client, Method, Response};
use serde_json::{json, Value};

use crate::harness::{backends, get, send, TestApp};
use crate::receiver::{entities, wait_until, Mode, Receiver};

pub async fn body(res: Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub async fn post(c: &Client, app: &TestApp, path: &str, v: Value) -> (u16, Value) {
    body(send(c, app, Method::POST, path, Some(v)).await).await
}

/// A waste container of the Department of Agriculture and Environment (the demo officer's
/// organisation): a type the demo's own datasets leave alone.
pub fn station(id: &str, weight: f64, at: &str) -> Value {
    json!({
        "id": id, "type": "WasteContainer",
        "temperature": {"type": "Property", "value": 21.0, "observedAt": at},
        "cargoWeight": {"type": "Property", "value": weight, "observedAt": at},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [103.46, 22.39]}},
    })
}

pub fn dataset(id: &str, sharing: &str) -> Value {
    json!({"id": id, "name": "Thùng rác thông minh", "type": "WasteContainer",
           "frequency": "hourly", "sharing": sharing,
           "rules": {"ranges": {"cargoWeight": {"min": 0, "max": 1000}}}})
}

/// A new account of another organisation (the Department of Health) with an API token: answers
/// a client sending that token, and the token's id.
pub async fn consumer(app: &TestApp, admin: &Client, username: &str) -> (Client, String) {
    let res = admin
        .post(app.url("/api/v1/users"))
        .json(&json!({"username": username, "org": "so-y-te", "role": "data_provider",
                      "password": "Mật khẩu tạm 2026!", "reason": "hệ thống y tế", "request_ref": "5/SYT"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let issued: Value = admin
        .post(app.url("/api/v1/tokens"))
        .json(
            &json!({"user": username, "label": "hệ thống", "scopes": ["read", "write"], "expires_in": "1d"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = issued["secret"].as_str().unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {secret}").parse().unwrap());
    let client = Client::builder().default_headers(headers).build().unwrap();
    (client, issued["token"]["id"].as_str().unwrap().to_string())
}

const A: &str = "urn:ngsi-ld:WasteContainer:tan-phong";

#[tokio::test]
async fn a_draft_is_held_back_until_a_supervisor_approves_it() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let officer = app.signed_in("officer").await;
        let op = app.signed_in("operator").await;
        let sup = app.signed_in("supervisor").await;
        let (s, d) = post(&officer, &app, "/api/v1/datasets", dataset("air", "default")).await;
        assert_eq!(s, 201, "{backend:?}: {d}");
        assert_eq!(d["state"], "draft");

        // The officer's station goes into the draft: nobody reads it yet.
        let now = jiff::Timestamp::now().to_string();
        let (s, _) = post(&officer, &app, "/ngsi-ld/v1/entities", station(A, 12.0, &now)).await;
        assert_eq!(s, 201);
        for reader in [&op, &officer] {
            assert_eq!(get(reader, &app, &format!("/ngsi-ld/v1/entities/{A}")).await.0, 404);
            assert_eq!(get(reader, &app, &format!("/ngsi-ld/v1/temporal/entities/{A}")).await.0, 404);
            let (_, list) = get(reader, &app, "/ngsi-ld/v1/entities?type=WasteContainer").await;
            assert_eq!(list, json!([]));
            let (_, types) = get(reader, &app, "/ngsi-ld/v1/types").await;
            assert!(!types.to_string().contains("WasteContainer"), "{types}");
        }

        // Only a supervisor approves, and the audit trail says who.
        assert_eq!(post(&officer, &app, "/api/v1/datasets/air/approve", json!({})).await.0, 403);
        let (s, d) = post(&sup, &app, "/api/v1/datasets/air/approve", json!({})).await;
        assert_eq!((s, d["state"].as_str()), (200, Some("approved")), "{d}");
        let (_, e) = get(&op, &app, &format!("/ngsi-ld/v1/entities/{A}?options=keyValues")).await;
        assert_eq!(e["cargoWeight"], 12.0, "{e}");
        let (s, h) = get(&op, &app, &format!("/ngsi-ld/v1/temporal/entities/{A}")).await;
        assert_eq!(s, 200, "{h}");
        // The release on approval is no write of the provider's: "đúng" counts the one create.
        let (_, q) = get(&sup, &app, "/api/v1/datasets/air/quality").await;
        assert_eq!(q["quality"]["writes"]["accepted"], 1, "{q}");
        let admin = app.signed_in("admin").await;
        let (_, audit) = get(&admin, &app, "/api/v1/audit?action=dataset.approve").await;
        assert_eq!(audit[0]["username"], "supervisor", "{audit}");

        // A type without an exchange data structure cannot be approved; the reason says so.
        let odd = json!({"id": "odd", "name": "Thử", "type": "NoSchemaHere", "frequency": "daily"});
        assert_eq!(post(&officer, &app, "/api/v1/datasets", odd).await.0, 201);
        let (s, p) = post(&sup, &app, "/api/v1/datasets/odd/approve", json!({})).await;
        assert_eq!((s, p["field"].as_str()), (422, Some("schema")), "{p}");
        assert_eq!(get(&sup, &app, "/api/v1/datasets/odd").await.1["state"], "draft");

        // Retired: what it holds stays readable, nothing more is taken.
        let (s, _) =
            post(&sup, &app, "/api/v1/datasets/air/retire", json!({"reason": "thay hệ thống"})).await;
        assert_eq!(s, 200);
        let patch = json!({"cargoWeight": {"type": "Property", "value": 14.0}});
        let res =
            send(&officer, &app, Method::PATCH, &format!("/ngsi-ld/v1/entities/{A}/attrs"), Some(patch))
                .await;
        let (s, p) = body(res).await;
        assert_eq!(s, 403, "{p}");
        assert!(p["detail"].as_str().unwrap().contains("retired"), "{p}");
        assert_eq!(get(&op, &app, &format!("/ngsi-ld/v1/entities/{A}")).await.0, 200);
        app.stop().await;
    }
}

#[tokio::test]
async fn bad_datasets_are_refused_naming_the_member() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let officer = app.signed_in("officer").await;
        for (bad, field) in [
            (json!({"name": "x", "type": "T", "frequency": "sometimes"}), "frequency"),
            (json!({"name": "x", "type": "T", "frequency": "daily", "units": ["99999"]}), "units[0]"),
            (json!({"name": "x", "type": "T", "frequency": "daily", "q": "cargoWeight>>"}), "q"),
            (json!({"name": "x", "type": "T", "frequency": "daily", "provider": "so-y-te"}), ""),
        ] {
            let (s, p) = post(&officer, &app, "/api/v1/datasets", bad.clone()).await;
            if field.is_empty() {
                assert_eq!(s, 403, "another organisation's dataset: {p}");
            } else {
                assert_eq!((s, p["field"].as_str()), (422, Some(field)), "{bad}: {p}");
            }
        }
        let (_, list) = get(&officer, &app, "/api/v1/datasets").await;
        assert!(!list.to_string().contains("\"x\""), "nothing was kept: {list}");
        app.stop().await;
    }
}

/// Every NGSI-LD read a consumer might try, answered as "what this consumer sees".
async fn sees(c: &Client, app: &TestApp) -> Vec<(&'static str, bool)> {
    let seen = |v: &Value| v.to_string().contains("tan-phong") || v.to_string().contains("WasteContainer");
    let mut out = Vec::new();
    out.push(("GET /entities/{id}", get(c, app, &format!("/ngsi-ld/v1/entities/{A}")).await.0 == 200));
    out.push(("GET /entities?type", seen(&get(c, app, "/ngsi-ld/v1/entities?type=WasteContainer").await.1)));
    out.push(("GET /entities?q", seen(&get(c, app, "/ngsi-ld/v1/entities?q=cargoWeight>1").await.1)));
    let q = json!({"type": "Query", "entities": [{"type": "WasteContainer"}]});
    out.push((
        "POST /entityOperations/query",
        seen(&post(c, app, "/ngsi-ld/v1/entityOperations/query", q).await.1),
    ));
    let res = send(c, app, Method::GET, "/ngsi-ld/v1/entities?type=WasteContainer&count=true", None).await;
    out.push(("count=true", res.headers()["ngsild-results-count"] != "0"));
    out.push((
        "GET /temporal/entities/{id}",
        get(c, app, &format!("/ngsi-ld/v1/temporal/entities/{A}")).await.0 == 200,
    ));
    let t = "/ngsi-ld/v1/temporal/entities?type=WasteContainer&timerel=before&timeAt=2100-01-01T00:00:00Z";
    out.push(("GET /temporal/entities", seen(&get(c, app, t).await.1)));
    out.push(("GET /types", seen(&get(c, app, "/ngsi-ld/v1/types").await.1)));
    out.push(("GET /types/{type}", get(c, app, "/ngsi-ld/v1/types/WasteContainer").await.0 == 200));
    out.push((
        "GET /attributes",
        get(c, app, "/ngsi-ld/v1/attributes").await.1.to_string().contains("cargoWeight"),
    ));
    out.push(("GET /attributes/{attr}", get(c, app, "/ngsi-ld/v1/attributes/cargoWeight").await.0 == 200));
    out
}

async fn writes(c: &Client, app: &TestApp, value: f64) -> bool {
    let batch =
        json!([{"id": A, "type": "WasteContainer", "cargoWeight": {"type": "Property", "value": value}}]);
    let res = send(c, app, Method::POST, "/ngsi-ld/v1/entityOperations/update", Some(batch)).await;
    res.status() == 204
}

#[tokio::test]
async fn a_special_request_dataset_is_read_only_by_those_granted_on_every_endpoint() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let officer = app.signed_in("officer").await;
        let sup = app.signed_in("supervisor").await;
        let admin = app.signed_in("admin").await;
        assert_eq!(post(&officer, &app, "/api/v1/datasets", dataset("air", "special_request")).await.0, 201);
        assert_eq!(post(&sup, &app, "/api/v1/datasets/air/approve", json!({})).await.0, 200);
        let now = jiff::Timestamp::now().to_string();
        assert_eq!(post(&officer, &app, "/ngsi-ld/v1/entities", station(A, 30.0, &now)).await.0, 201);
        let (health, token) = consumer(&app, &admin, "yte-he-thong").await;
        let (other, _) = consumer(&app, &admin, "yte-khac").await;

        // A subscription made with the token before any grant.
        let rx = Receiver::start(Mode::Accept).await;
        let sub = json!({"type": "Subscription", "entities": [{"type": "WasteContainer"}],
                         "notification": {"format": "keyValues", "endpoint": {"uri": rx.url}}});
        let (s, p) = post(&health, &app, "/ngsi-ld/v1/subscriptions", sub).await;
        assert_eq!(s, 201, "{p}");

        // Without a grant the dataset does not exist for the consumer, anywhere.
        for (endpoint, seen) in sees(&health, &app).await {
            assert!(!seen, "{backend:?}: {endpoint} shows a special-request dataset without a grant");
        }
        assert!(!writes(&health, &app, 31.0).await, "no write grant");
        assert!(writes(&officer, &app, 32.0).await);
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert!(
            entities(&rx.accepted()).is_empty(),
            "notified without a grant: {:?}",
            entities(&rx.accepted())
        );
        // The centre reads everything approved.
        assert!(sees(&app.signed_in("leader").await, &app).await.iter().all(|(_, s)| *s));

        // A read grant to that one token, on an agreement: every endpoint opens, for it alone.
        let grant = json!({"token": token, "read": true, "agreement_ref": "12/TT-SNNMT-SYT",
                           "expires_at": "2100-01-01T00:00:00Z"});
        let (s, g) = post(&sup, &app, "/api/v1/datasets/air/grants", grant).await;
        assert_eq!(s, 201, "{g}");
        for (endpoint, seen) in sees(&health, &app).await {
            assert!(seen, "{backend:?}: {endpoint} hides the dataset from a granted token");
        }
        for (endpoint, seen) in sees(&other, &app).await {
            assert!(!seen, "{endpoint}: a grant to one token opened it to another");
        }
        assert!(!writes(&health, &app, 33.0).await, "read only");
        assert!(writes(&officer, &app, 34.0).await);
        let got = rx.wait_for(1, 10).await;
        assert_eq!(entities(&got).last().unwrap()["cargoWeight"], 34.0);

        // Write granted to the organisation: any of its tokens may write.
        let grant = json!({"org": "so-y-te", "read": true, "write": true, "agreement_ref": "13/TT"});
        let (s, g2) = post(&sup, &app, "/api/v1/datasets/air/grants", grant).await;
        assert_eq!(s, 201);
        assert!(writes(&other, &app, 35.0).await);

        // Revoked: closed again at once.
        for g in [&g, &g2] {
            let path = format!("/api/v1/grants/{}/revoke", g["id"].as_str().unwrap());
            assert_eq!(post(&sup, &app, &path, json!({"reason": "hết hạn thỏa thuận"})).await.0, 200);
        }
        for (endpoint, seen) in sees(&health, &app).await {
            assert!(!seen, "{endpoint} still open after the revocation");
        }
        let before = rx.accepted().len();
        assert!(writes(&officer, &app, 36.0).await);
        assert!(!wait_until(2, || rx.accepted().len() > before).await, "notified after the revocation");

        // Granted again to the organisation, the token's subscription hears again; once the
        // token itself is revoked, it hears nothing more (within the notifier's 10 s memory).
        let grant = json!({"org": "so-y-te", "read": true, "agreement_ref": "14/TT"});
        assert_eq!(post(&sup, &app, "/api/v1/datasets/air/grants", grant).await.0, 201);
        tokio::time::sleep(std::time::Duration::from_secs(11)).await;
        let before = rx.accepted().len();
        assert!(writes(&officer, &app, 37.0).await);
        assert!(
            wait_until(10, || rx.accepted().len() > before).await,
            "the organisation's grant reaches the token"
        );
        assert_eq!(post(&admin, &app, &format!("/api/v1/tokens/{token}/revoke"), json!({})).await.0, 204);
        tokio::time::sleep(std::time::Duration::from_secs(11)).await;
        let before = rx.accepted().len();
        assert!(writes(&officer, &app, 38.0).await);
        assert!(!wait_until(2, || rx.accepted().len() > before).await, "notified for a revoked token");

        // The raw MQTT dead letters of every feed are the centre's, not an agency's.
        assert_eq!(get(&officer, &app, "/api/v1/hub/dead-letters").await.0, 403);
        assert_eq!(get(&app.signed_in("operator").await, &app, "/api/v1/hub/dead-letters").await.0, 200);
        app.stop().await;
    }
}

fn ago(minutes: i64) -> String {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(minutes)).to_string()
}

#[tokio::test]
async fn the_four_scores_and_the_overdue_list_follow_what_was_written() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let officer = app.signed_in("officer").await;
        let sup = app.signed_in("supervisor").await;
        let b = "urn:ngsi-ld:WasteContainer:sin-ho";
        let mut d = dataset("air", "default");
        d["expected"] = json!({"entities": [A, b]});
        d["rules"]["outliers"] = json!({"cargoWeight": {"method": "range", "max": 300}});
        d["rules"]["required"] = json!(["cargoWeight"]);
        assert_eq!(post(&officer, &app, "/api/v1/datasets", d).await.0, 201);
        assert_eq!(post(&sup, &app, "/api/v1/datasets/air/approve", json!({})).await.0, 200);

        // A: a reading 10 minutes ago, then one out of the plausible range 5 minutes ago, then
        // one the exchange data structure refuses. B: one reading 3 hours ago, an outlier.
        assert_eq!(post(&officer, &app, "/ngsi-ld/v1/entities", station(A, 12.0, &ago(10))).await.0, 201);
        assert_eq!(post(&officer, &app, "/ngsi-ld/v1/entities", station(b, 400.0, &ago(180))).await.0, 201);
        let path = format!("/ngsi-ld/v1/entities/{A}/attrs");
        let high = json!({"cargoWeight": {"type": "Property", "value": 2000.0, "observedAt": ago(5)}});
        assert_eq!(send(&officer, &app, Method::PATCH, &path, Some(high)).await.status(), 204);
        let wrong = json!({"cargoWeight": {"type": "Property", "value": "nhiều"}});
        assert_eq!(send(&officer, &app, Method::PATCH, &path, Some(wrong)).await.status(), 400);

        let (s, q) = get(&sup, &app, "/api/v1/datasets/air/quality").await;
        assert_eq!(s, 200, "{q}");
        let q = &q["quality"];
        // đúng: 2 of 4 writes (one out of range, one refused).
        assert_eq!(q["writes"], json!({"accepted": 2, "out_of_range": 1, "refused": 1}), "{backend:?}: {q}");
        assert_eq!(q["scores"]["correct"], 50.0);
        // đủ: both expected stations reported and carry cargoWeight.
        assert_eq!(q["scores"]["complete"], 100.0);
        // sạch: 7 instances (3 + 3 + 1), the 400 and the 2000 above the outlier limit of 300.
        assert_eq!((q["instances"].as_u64(), q["outliers"].as_u64()), (Some(7), Some(2)), "{q}");
        assert_eq!(q["scores"]["clean"], 71.4);
        // sống: A updated 5 minutes ago, B three hours ago against an hourly frequency.
        assert_eq!(q["scores"]["live"], 50.0);
        assert_eq!(q["stale"][0]["entity_id"], b);
        assert_eq!(q["scores"]["overall"], 67.9);

        // The organisations ranked best first (the demo's datasets among them), and what this
        // dataset owes: one station late.
        let (_, r) = get(&sup, &app, "/api/v1/quality/organisations").await;
        let overall: Vec<f64> = r["organisations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["scores"]["overall"].as_f64().unwrap_or(-1.0))
            .collect();
        assert!(overall.windows(2).all(|w| w[0] >= w[1]), "best first: {overall:?}");
        let (_, org) = get(&sup, &app, "/api/v1/orgs/so-nn-mt").await;
        assert!(r.to_string().contains(org["id"].as_str().unwrap()), "{r}");
        let (_, o) = get(&sup, &app, "/api/v1/quality/overdue").await;
        let ours =
            o.as_array().unwrap().iter().find(|d| d["dataset_id"] == "air").expect("the dataset is late");
        assert_eq!((ours["late"].as_u64(), ours["expected"].as_u64()), (Some(1), Some(2)), "{o}");

        // A maintenance window over B takes it out of "sống".
        let window = json!({"entities": [b], "starts_at": ago(60), "ends_at": "2100-01-01T00:00:00Z",
                            "reason": "thay cảm biến bụi"});
        assert_eq!(post(&officer, &app, "/api/v1/datasets/air/maintenance", window).await.0, 201);
        let (_, q) = get(&sup, &app, "/api/v1/datasets/air/quality").await;
        assert_eq!(q["quality"]["scores"]["live"], 100.0, "{q}");
        let (s, p) =
            get(&sup, &app, "/api/v1/datasets/air/quality?from=2026-12-02T10:00:00Z&to=2026-12-01T00:00:00Z")
                .await;
        assert_eq!((s, p["field"].as_str()), (422, Some("from")));
        app.stop().await;
    }
}

fn rain_dataset() -> Value {
    json!({"id": "rain", "name": "Lượng mưa tại xã (biểu mẫu)", "type": "WeatherObserved",
           "frequency": "monday_thursday", "rules": {"ranges": {"precipitation": {"min": 0, "max": 500}},
           "required": ["precipitation"]}})
}

async fn upload(c: &Client, app: &TestApp, dataset: &str, name: &str, bytes: Vec<u8>) -> (u16, Value) {
    let res = c
        .post(app.url(&format!("/api/v1/datasets/{dataset}/form?file_name={name}")))
        .header("content-type", "application/octet-stream")
        // A session's upload proves it comes from the console's own page (not a cross-site form).
        .header("hx-request", "true")
        .body(bytes)
        .send()
        .await
        .unwrap();
    body(res).await
}

#[tokio::test]
async fn a_form_is_taken_whole_or_refused_with_every_error() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let officer = app.signed_in("officer").await;
        let sup = app.signed_in("supervisor").await;
        for d in [rain_dataset(), dataset("air", "default")] {
            assert_eq!(post(&officer, &app, "/api/v1/datasets", d).await.0, 201);
        }
        assert_eq!(post(&sup, &app, "/api/v1/datasets/rain/approve", json!({})).await.0, 200);

        // The template: Vietnamese headers with the short names, the dataset's marker.
        let res = officer.get(app.url("/api/v1/datasets/rain/form")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let xlsx = res.bytes().await.unwrap().to_vec();
        let table = haidang_report::read_table(haidang_report::TableFormat::Xlsx, &xlsx).unwrap();
        assert_eq!(table.marker.as_deref(), Some("haidang-form:rain:v1"));
        assert!(table.headers.contains(&"Lượng mưa (mm) (precipitation)".to_string()), "{:?}", table.headers);
        // Sent back unchanged, the example row is not taken as data.
        let (s, out) = upload(&officer, &app, "rain", "bieu-mau.xlsx", xlsx).await;
        assert_eq!((s, out["errors"][0]["code"].as_str()), (422, Some("no_rows")), "{out}");
        // Another dataset's template is refused as such.
        let other =
            officer.get(app.url("/api/v1/datasets/air/form")).send().await.unwrap().bytes().await.unwrap();
        let (s, out) = upload(&officer, &app, "rain", "air.xlsx", other.to_vec()).await;
        assert_eq!((s, out["errors"][0]["code"].as_str()), (422, Some("wrong_template")), "{out}");

        // A CSV as Excel saves it in Vietnam: BOM, semicolons, decimal commas. Row 3 is wrong twice.
        let csv = |third: &str| {
            format!(
                "\u{feff}Mã đối tượng (id);Xã/phường (unit);Thời điểm số liệu (observedAt);Lượng mưa (mm) (precipitation)\r\n\
                 MUA-01;03408;01/12/2026 07:00;12,5\r\n{third}\r\n"
            )
            .into_bytes()
        };
        let (s, out) =
            upload(&officer, &app, "rain", "mua.csv", csv("MUA-02;99999;01/12/2026 07:00;nhiều")).await;
        assert_eq!(s, 422, "{out}");
        let errors: Vec<(u64, &str, &str)> = out["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap(), e["code"].as_str().unwrap()))
            .collect();
        assert_eq!(errors, vec![(3, "unit", "unknown_unit"), (3, "precipitation", "not_a_number")]);
        assert!(out["errors"][0]["message"].as_str().unwrap().contains("99999"), "{out}");
        let good = "urn:ngsi-ld:WeatherObserved:MUA-01";
        assert_eq!(
            get(&officer, &app, &format!("/ngsi-ld/v1/entities/{good}")).await.0,
            404,
            "nothing written"
        );

        // Fixed, it is taken whole and recorded as the organisation's submission.
        let (s, out) =
            upload(&officer, &app, "rain", "mua.csv", csv("MUA-02;03408 - Tân Phong;01/12/2026 07:00;0,8"))
                .await;
        assert_eq!((s, out["rows"].as_u64()), (201, Some(2)), "{out}");
        let (_, e) = get(&officer, &app, &format!("/ngsi-ld/v1/entities/{good}?options=keyValues")).await;
        assert_eq!(e["precipitation"], 12.5, "{e}");
        let (_, subs) = get(&officer, &app, "/api/v1/datasets/rain/submissions").await;
        assert_eq!(
            (subs[0]["rows"].as_i64(), subs[0]["file_name"].as_str()),
            (Some(2), Some("mua.csv")),
            "{subs}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn what_a_consumer_may_not_read_it_may_neither_write_nor_take_over() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let officer = app.signed_in("officer").await;
        let sup = app.signed_in("supervisor").await;
        let admin = app.signed_in("admin").await;
        assert_eq!(post(&officer, &app, "/api/v1/datasets", dataset("air", "special_request")).await.0, 201);
        assert_eq!(post(&sup, &app, "/api/v1/datasets/air/approve", json!({})).await.0, 200);
        let now = jiff::Timestamp::now().to_string();
        assert_eq!(post(&officer, &app, "/ngsi-ld/v1/entities", station(A, 30.0, &now)).await.0, 201);
        let (health, _) = consumer(&app, &admin, "yte-thu").await;

        // A write to an entity it may not read is answered as if there were none.
        let patch = json!({"cargoWeight": {"type": "Property", "value": 1.0}});
        let res =
            send(&health, &app, Method::PATCH, &format!("/ngsi-ld/v1/entities/{A}/attrs"), Some(patch)).await;
        assert_eq!(res.status(), 404, "{backend:?}");
        let batch =
            json!([{"id": A, "type": "WasteContainer", "cargoWeight": {"type": "Property", "value": 2.0}}]);
        let (_, answer) =
            body(send(&health, &app, Method::POST, "/ngsi-ld/v1/entityOperations/upsert", Some(batch)).await)
                .await;
        assert!(!answer.to_string().contains("another organisation"), "{answer}");
        assert!(
            !answer.to_string().contains("\"air\"") && !answer.to_string().contains("dataset air"),
            "{answer}"
        );

        // Nor can it bring the governed type in under another name first.
        let thing = json!({"id": "urn:ngsi-ld:Thing:x", "type": "Thing", "cargoWeight": {"type": "Property", "value": 3.0}});
        assert_eq!(post(&health, &app, "/ngsi-ld/v1/entities", thing).await.0, 201);
        let retyped = json!([{"id": "urn:ngsi-ld:Thing:x", "type": "WasteContainer"}]);
        let res =
            send(&health, &app, Method::POST, "/ngsi-ld/v1/entityOperations/upsert", Some(retyped)).await;
        assert_ne!(res.status(), 204, "a governed type added to its own entity");
        let (_, types) = get(&health, &app, "/ngsi-ld/v1/types").await;
        assert!(!types.to_string().contains("WasteContainer"), "{types}");

        // Deleted, its id is not another organisation's to take (with the history it keeps).
        assert_eq!(
            send(&officer, &app, Method::DELETE, &format!("/ngsi-ld/v1/entities/{A}"), None).await.status(),
            204
        );
        let takeover = json!({"id": A, "type": "Thing"});
        let (s, p) = post(&health, &app, "/ngsi-ld/v1/entities", takeover).await;
        assert_eq!(s, 409, "{p}");
        assert_eq!(get(&health, &app, &format!("/ngsi-ld/v1/temporal/entities/{A}")).await.0, 404);

        // A changed definition keeps its sharing unless it says otherwise; a provider opening its
        // dataset sends it back for approval.
        let mut renamed = dataset("air", "special_request");
        renamed["name"] = json!("Thùng rác thông minh (đổi tên)");
        renamed.as_object_mut().unwrap().remove("sharing");
        let res = send(&officer, &app, Method::PUT, "/api/v1/datasets/air", Some(renamed)).await;
        let (s, d) = body(res).await;
        assert_eq!(
            (s, d["sharing"].as_str(), d["state"].as_str()),
            (200, Some("special_request"), Some("approved")),
            "{d}"
        );
        let res =
            send(&officer, &app, Method::PUT, "/api/v1/datasets/air", Some(dataset("air", "default"))).await;
        let (_, d) = body(res).await;
        assert_eq!(d["state"], "draft", "{d}");

        // A form goes only to one's own dataset (or one granted): not to a commune's.
        let csv = "Mã đối tượng (id);Xã/phường (unit);Thời điểm số liệu (observedAt);Lượng mưa (mm) (precipitation)\nX-1;03478;01/12/2026 07:00;3\n";
        let res = officer
            .post(app.url("/api/v1/datasets/luong-mua-xa-sin-ho/form?file_name=mua.csv"))
            .header("hx-request", "true")
            .body(csv)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        app.stop().await;
    }
}
