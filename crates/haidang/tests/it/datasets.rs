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

/// A station of the Department of Agriculture and Environment (the demo officer's organisation).
pub fn station(id: &str, pm25: f64, at: &str) -> Value {
    json!({
        "id": id, "type": "AirQualityObserved",
        "dateObserved": {"type": "Property", "value": at},
        "pm25": {"type": "Property", "value": pm25, "observedAt": at},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [103.46, 22.39]}},
    })
}

pub fn dataset(id: &str, sharing: &str) -> Value {
    json!({"id": id, "name": "Quan trắc không khí tự động", "type": "AirQualityObserved",
           "frequency": "hourly", "sharing": sharing,
           "rules": {"ranges": {"pm25": {"min": 0, "max": 1000}}}})
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

const A: &str = "urn:ngsi-ld:AirQualityObserved:tan-phong";

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
            let (_, list) = get(reader, &app, "/ngsi-ld/v1/entities?type=AirQualityObserved").await;
            assert_eq!(list, json!([]));
            let (_, types) = get(reader, &app, "/ngsi-ld/v1/types").await;
            assert!(!types.to_string().contains("AirQualityObserved"), "{types}");
        }

        // Only a supervisor approves, and the audit trail says who.
        assert_eq!(post(&officer, &app, "/api/v1/datasets/air/approve", json!({})).await.0, 403);
        let (s, d) = post(&sup, &app, "/api/v1/datasets/air/approve", json!({})).await;
        assert_eq!((s, d["state"].as_str()), (200, Some("approved")), "{d}");
        let (_, e) = get(&op, &app, &format!("/ngsi-ld/v1/entities/{A}?options=keyValues")).await;
        assert_eq!(e["pm25"], 12.0, "{e}");
        let (s, h) = get(&op, &app, &format!("/ngsi-ld/v1/temporal/entities/{A}")).await;
        assert_eq!(s, 200, "{h}");
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
        let patch = json!({"pm25": {"type": "Property", "value": 14.0}});
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
            (json!({"name": "x", "type": "T", "frequency": "daily", "q": "pm25>>"}), "q"),
            (json!({"name": "x", "type": "T", "frequency": "daily", "provider": "so-y-te"}), ""),
        ] {
            let (s, p) = post(&officer, &app, "/api/v1/datasets", bad.clone()).await;
            if field.is_empty() {
                assert_eq!(s, 403, "another organisation's dataset: {p}");
            } else {
                assert_eq!((s, p["field"].as_str()), (422, Some(field)), "{bad}: {p}");
            }
        }
        assert_eq!(get(&officer, &app, "/api/v1/datasets").await.1, json!([]), "nothing was kept");
        app.stop().await;
    }
}

/// Every NGSI-LD read a consumer might try, answered as "what this consumer sees".
async fn sees(c: &Client, app: &TestApp) -> Vec<(&'static str, bool)> {
    let seen =
        |v: &Value| v.to_string().contains("tan-phong") || v.to_string().contains("AirQualityObserved");
    let mut out = Vec::new();
    out.push(("GET /entities/{id}", get(c, app, &format!("/ngsi-ld/v1/entities/{A}")).await.0 == 200));
    out.push((
        "GET /entities?type",
        seen(&get(c, app, "/ngsi-ld/v1/entities?type=AirQualityObserved").await.1),
    ));
    out.push(("GET /entities?q", seen(&get(c, app, "/ngsi-ld/v1/entities?q=pm25>1").await.1)));
    let q = json!({"type": "Query", "entities": [{"type": "AirQualityObserved"}]});
    out.push((
        "POST /entityOperations/query",
        seen(&post(c, app, "/ngsi-ld/v1/entityOperations/query", q).await.1),
    ));
    let res =
        send(c, app, Method::GET, "/ngsi-ld/v1/entities?type=AirQualityObserved&count=true", None).await;
    out.push(("count=true", res.headers()["ngsild-results-count"] != "0"));
    out.push((
        "GET /temporal/entities/{id}",
        get(c, app, &format!("/ngsi-ld/v1/temporal/entities/{A}")).await.0 == 200,
    ));
    let t =
        "/ngsi-ld/v1/temporal/entities?type=AirQualityObserved&timerel=before&timeAt=2100-01-01T00:00:00Z";
    out.push(("GET /temporal/entities", seen(&get(c, app, t).await.1)));
    out.push(("GET /types", seen(&get(c, app, "/ngsi-ld/v1/types").await.1)));
    out.push(("GET /types/{type}", get(c, app, "/ngsi-ld/v1/types/AirQualityObserved").await.0 == 200));
    out.push(("GET /attributes", get(c, app, "/ngsi-ld/v1/attributes").await.1.to_string().contains("pm25")));
    out.push(("GET /attributes/{attr}", get(c, app, "/ngsi-ld/v1/attributes/pm25").await.0 == 200));
    out
}

async fn writes(c: &Client, app: &TestApp, value: f64) -> bool {
    let batch =
        json!([{"id": A, "type": "AirQualityObserved", "pm25": {"type": "Property", "value": value}}]);
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
        let sub = json!({"type": "Subscription", "entities": [{"type": "AirQualityObserved"}],
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
        assert_eq!(entities(&got).last().unwrap()["pm25"], 34.0);

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
        app.stop().await;
    }
}
