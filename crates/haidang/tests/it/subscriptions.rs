//! NGSI-LD subscriptions as another agency's system uses them: told of the changes it asked
//! for (and only those), in the form it asked for, retried when it is down, never slowing the
//! writers when it hangs; on SQLite and PostgreSQL.

use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::harness::{backends, get, send, TestApp};
use crate::receiver::{entities, wait_until, Mode, Receiver};

const GAUGE: &str = "urn:ngsi-ld:RiverGauge:nam-na-01";

async fn subscribe(c: &Client, app: &TestApp, sub: Value) -> String {
    let res = send(c, app, Method::POST, "/ngsi-ld/v1/subscriptions", Some(sub)).await;
    let status = res.status().as_u16();
    let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    let body = res.text().await.unwrap();
    assert_eq!(status, 201, "{body}");
    location.unwrap().rsplit('/').next().unwrap().to_string()
}

async fn level(c: &Client, app: &TestApp, id: &str, value: f64) {
    let body = json!({"waterLevel": {"type": "Property", "value": value, "unitCode": "MTR"}});
    let res = send(c, app, Method::PATCH, &format!("/ngsi-ld/v1/entities/{id}/attrs"), Some(body)).await;
    assert_eq!(res.status(), 204);
}

async fn gauge(c: &Client, app: &TestApp, id: &str, value: f64) {
    let body = json!({
        "id": id, "type": "RiverGauge",
        "waterLevel": {"type": "Property", "value": value, "unitCode": "MTR"},
        "status": {"type": "Property", "value": "normal"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [103.27, 22.50]}},
    });
    assert_eq!(send(c, app, Method::POST, "/ngsi-ld/v1/entities", Some(body)).await.status(), 201);
}

async fn subscription(c: &Client, app: &TestApp, id: &str) -> Value {
    let (s, v) = get(c, app, &format!("/ngsi-ld/v1/subscriptions/{id}")).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Waits until the subscription's delivery status satisfies `done`.
async fn status_until(
    c: &Client,
    app: &TestApp,
    id: &str,
    secs: u64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let v = subscription(c, app, id).await;
        if done(&v) || tokio::time::Instant::now() > deadline {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_subscriber_hears_only_the_changes_it_asked_for_in_its_form() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = app.signed_in("operator").await;
        let rx = Receiver::start(Mode::Accept).await;
        let id = subscribe(
            &op,
            &app,
            json!({
                "type": "Subscription",
                "subscriptionName": "Cảnh báo lũ Nậm Na",
                "entities": [{"type": "RiverGauge"}],
                "watchedAttributes": ["waterLevel"],
                "q": "waterLevel>3",
                "notification": {
                    "attributes": ["waterLevel"],
                    "format": "keyValues",
                    "endpoint": {"uri": rx.url, "accept": "application/json",
                                 "receiverInfo": [{"key": "X-Api-Key", "value": "so-nn-mt-42"}]}
                }
            }),
        )
        .await;
        assert!(id.starts_with("urn:ngsi-ld:Subscription:"), "{id}");

        gauge(&op, &app, GAUGE, 2.0).await; // created below the threshold: q holds it back
        level(&op, &app, GAUGE, 5.0).await; // notified
        let status = json!({"status": {"type": "Property", "value": "alert"}});
        let path = format!("/ngsi-ld/v1/entities/{GAUGE}/attrs");
        assert_eq!(send(&op, &app, Method::PATCH, &path, Some(status)).await.status(), 204); // not watched
        level(&op, &app, GAUGE, 4.0).await; // notified
        level(&op, &app, GAUGE, 1.5).await; // below the threshold again

        let got = rx.wait_for(2, 10).await;
        let data = entities(&got);
        assert_eq!(
            data,
            vec![
                json!({"id": GAUGE, "type": "RiverGauge", "waterLevel": 5.0}),
                json!({"id": GAUGE, "type": "RiverGauge", "waterLevel": 4.0}),
            ],
            "{backend:?}"
        );
        let first = &got[0];
        assert_eq!(first.body["type"], "Notification");
        assert_eq!(first.body["subscriptionId"], id.as_str());
        assert!(first.body["id"].as_str().unwrap().starts_with("urn:ngsi-ld:Notification:"));
        assert!(first.body["notifiedAt"].as_str().is_some());
        assert_eq!(first.headers["x-api-key"], "so-nn-mt-42");
        assert_eq!(first.headers["content-type"], "application/json");
        assert!(first.headers["link"].to_str().unwrap().contains("ngsi-ld-core-context"));

        // Nothing else arrives, and the subscription says what it sent.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        assert_eq!(rx.accepted().len(), 2);
        let s = status_until(&op, &app, &id, 5, |s| s["notification"]["timesSent"] == 2).await;
        assert_eq!(s["notification"]["timesSent"], 2, "{s}");
        assert_eq!(s["notification"]["timesFailed"], 0);
        assert_eq!(s["notification"]["status"], "ok");
        assert!(s["notification"]["lastSuccess"].as_str().is_some());
        assert_eq!(s["status"], "active");
        assert_eq!(s["isActive"], true);
        assert_eq!(s["subscriptionName"], "Cảnh báo lũ Nậm Na");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_notification_carries_the_reading_of_its_change_not_a_later_one() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = app.signed_in("operator").await;
        let rx = Receiver::start(Mode::Accept).await;
        subscribe(
            &op,
            &app,
            json!({"type": "Subscription", "entities": [{"type": "RiverGauge", "id": GAUGE}],
                   "notification": {"attributes": ["waterLevel"], "format": "keyValues",
                                    "endpoint": {"uri": rx.url}}}),
        )
        .await;
        gauge(&op, &app, GAUGE, 1.0).await;
        // A peak and its fall in quick succession: the notifier may see both only after the
        // fall, and must still send the peak.
        for v in [2.0, 6.5, 3.0, 2.5] {
            level(&op, &app, GAUGE, v).await;
        }
        let got = rx.wait_for(5, 10).await;
        let levels: Vec<Value> = entities(&got).iter().map(|e| e["waterLevel"].clone()).collect();
        assert_eq!(levels, vec![json!(1.0), json!(2.0), json!(6.5), json!(3.0), json!(2.5)], "{backend:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn failed_deliveries_are_retried_and_a_hanging_endpoint_holds_up_nobody() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = app.signed_in("operator").await;
        let flaky = Receiver::start(Mode::Refuse(503)).await;
        let hanging = Receiver::start(Mode::Hang).await;
        let healthy = Receiver::start(Mode::Accept).await;
        let sub = |uri: &str| {
            json!({"type": "Subscription", "entities": [{"type": "RiverGauge"}],
                   "notification": {"format": "keyValues", "endpoint": {"uri": uri}}})
        };
        let flaky_id = subscribe(&op, &app, sub(&flaky.url)).await;
        let hanging_id = subscribe(&op, &app, sub(&hanging.url)).await;
        subscribe(&op, &app, sub(&healthy.url)).await;

        gauge(&op, &app, GAUGE, 1.0).await;
        for v in [2.0, 3.0, 4.0] {
            level(&op, &app, GAUGE, v).await;
        }
        // Every write was acknowledged and the healthy subscriber has all four while the
        // hanging one still holds its first request unanswered.
        let got = healthy.wait_for(4, 10).await;
        assert_eq!(entities(&got).len(), 4, "{backend:?}");
        assert_eq!(hanging.hanging(), 1, "the hanging endpoint got its first notification and no other");

        // The flaky one is down (503) for two attempts, and readings go on meanwhile; they
        // wait behind the failed one (no attempt per new reading), then all arrive, in order.
        assert!(wait_until(10, || flaky.attempts() >= 2).await);
        for v in [5.0, 6.0] {
            level(&op, &app, GAUGE, v).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(flaky.attempts(), 2, "{backend:?}: the new notifications waited behind the failed one");
        flaky.set_mode(Mode::Accept);
        let got = flaky.wait_for(6, 15).await;
        let levels: Vec<Value> = entities(&got).iter().map(|e| e["waterLevel"].clone()).collect();
        let expected: Vec<Value> = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0].iter().map(|v| json!(v)).collect();
        assert_eq!(levels, expected, "{backend:?}");
        let s = status_until(&op, &app, &flaky_id, 5, |s| {
            s["notification"]["timesFailed"] == 2 && s["notification"]["status"] == "ok"
        })
        .await;
        assert_eq!(s["notification"]["timesFailed"], 2, "{s}");
        assert_eq!(s["notification"]["status"], "ok");
        assert!(s["notification"]["lastFailure"].as_str().is_some());
        assert!(s["notification"]["lastFailureReason"].as_str().unwrap().contains("503"), "{s}");

        // The hanging one is recorded as failing once its attempt times out (1 s here).
        let s = status_until(&op, &app, &hanging_id, 10, |s| s["notification"]["status"] == "failed").await;
        assert_eq!(s["notification"]["status"], "failed", "{s}");
        assert!(s["notification"]["lastFailureReason"].as_str().unwrap().contains("in time"), "{s}");
        app.stop().await;
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_accepted_and_its_failures_recorded() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = app.signed_in("operator").await;
        // A port nobody listens on.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let id = subscribe(
            &op,
            &app,
            json!({"type": "Subscription", "entities": [{"type": "RiverGauge"}],
                   "notification": {"endpoint": {"uri": format!("http://{closed}/notify")}}}),
        )
        .await;
        gauge(&op, &app, GAUGE, 1.0).await;
        let s =
            status_until(&op, &app, &id, 10, |s| s["notification"]["timesFailed"].as_i64() >= Some(1)).await;
        assert_eq!(s["notification"]["status"], "failed", "{backend:?} {s}");
        assert!(s["notification"]["lastFailureReason"].as_str().unwrap().contains("cannot reach"), "{s}");
        assert!(s["notification"].get("lastSuccess").is_none());
        app.stop().await;
    }
}

#[tokio::test]
async fn bad_subscriptions_are_refused_naming_the_member() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite).await;
    let op = app.signed_in("operator").await;
    let ok_endpoint = json!({"uri": "http://127.0.0.1:9/notify"});
    let base = json!({"type": "Subscription", "entities": [{"type": "RiverGauge"}],
                      "notification": {"endpoint": ok_endpoint}});
    let with = |member: &str, value: Value| {
        let mut s = base.clone();
        s[member] = value;
        s
    };
    let with_endpoint = |uri: &str| {
        let mut s = base.clone();
        s["notification"]["endpoint"]["uri"] = json!(uri);
        s
    };
    let receiver = |k: &str, v: &str| {
        let mut s = base.clone();
        s["notification"]["endpoint"]["receiverInfo"] = json!([{"key": k, "value": v}]);
        s
    };
    let cases: Vec<(Value, &str)> = vec![
        (with_endpoint("not a url"), "notification.endpoint.uri"),
        (with_endpoint("ftp://example.org/x"), "notification.endpoint.uri"),
        (with_endpoint("http://"), "notification.endpoint.uri"),
        (with_endpoint("mqtt://127.0.0.1:1883"), "notification.endpoint.uri"),
        (with_endpoint("mqtt://127.0.0.1/alerts/#"), "notification.endpoint.uri"),
        (json!({"type": "Subscription", "notification": {"endpoint": ok_endpoint}}), "entities"),
        (
            with("timeInterval", json!(60)).tap(|s| s["watchedAttributes"] = json!(["waterLevel"])),
            "timeInterval",
        ),
        (with("notificationTrigger", json!(["entityMoved"])), "notificationTrigger[0]"),
        (with("q", json!("waterLevel>>3")), "q"),
        (with("expiresAt", json!("2020-01-01T00:00:00Z")), "expiresAt"),
        (with("throttling", json!(-5)), "throttling"),
        (with("watchedAttribute", json!(["waterLevel"])), "watchedAttribute"),
        (with("type", json!("Subscriptions")), "type"),
        (with("entities", json!([{"id": GAUGE}])), "entities[0].type"),
        (with("entities", json!([{"type": "RiverGauge", "idPattern": "(["}])), "entities[0].idPattern"),
        (
            with(
                "geoQ",
                json!({"georel": "near;maxDistance==x", "geometry": "Point", "coordinates": [103.2, 22.4]}),
            ),
            "geoQ.georel",
        ),
        (receiver("X-Key", "a\r\nHost: evil"), "notification.endpoint.receiverInfo[0].value"),
        (receiver("Content-Length", "0"), "notification.endpoint.receiverInfo[0].key"),
    ];
    for (body, member) in cases {
        let res = send(&op, &app, Method::POST, "/ngsi-ld/v1/subscriptions", Some(body.clone())).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let problem: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        assert_eq!(status, 400, "{body} → {problem}");
        assert_eq!(problem["type"], "https://uri.etsi.org/ngsi-ld/errors/BadRequestData");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.starts_with(&format!("{member}:")), "{member} not named in '{detail}'");
    }
    // Nothing was kept of any of them.
    let (_, list) = get(&op, &app, "/ngsi-ld/v1/subscriptions").await;
    assert_eq!(list, json!([]));

    let res =
        send(&op, &app, Method::POST, "/ngsi-ld/v1/subscriptions", Some(with("temporalQ", json!({})))).await;
    assert_eq!(res.status(), 422);

    let id = "urn:ngsi-ld:Subscription:lu-nam-na";
    assert_eq!(
        send(&op, &app, Method::POST, "/ngsi-ld/v1/subscriptions", Some(with("id", json!(id))))
            .await
            .status(),
        201
    );
    let again = send(&op, &app, Method::POST, "/ngsi-ld/v1/subscriptions", Some(with("id", json!(id)))).await;
    assert_eq!(again.status(), 409);
    let (s, _) = get(&op, &app, "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:none").await;
    assert_eq!(s, 404);
    let (s, _) = get(&op, &app, "/ngsi-ld/v1/subscriptions/not-a-uri").await;
    assert_eq!(s, 400);
    // A change that breaks a rule changes nothing.
    let path = format!("/ngsi-ld/v1/subscriptions/{id}");
    let res = send(&op, &app, Method::PATCH, &path, Some(json!({"throttling": 0}))).await;
    assert_eq!(res.status(), 400);
    assert!(subscription(&op, &app, id).await.get("throttling").is_none());
    app.stop().await;
}

trait Tap {
    fn tap(self, f: impl FnOnce(&mut Self)) -> Self;
}

impl Tap for Value {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}

#[tokio::test]
async fn a_subscription_is_paused_changed_throttled_and_deleted() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = app.signed_in("operator").await;
        let rx = Receiver::start(Mode::Accept).await;
        let id = subscribe(
            &op,
            &app,
            json!({"type": "Subscription", "entities": [{"type": "RiverGauge"}],
                   "notification": {"format": "keyValues", "attributes": ["waterLevel"], "endpoint": {"uri": rx.url}}}),
        )
        .await;
        let path = format!("/ngsi-ld/v1/subscriptions/{id}");
        gauge(&op, &app, GAUGE, 1.0).await;
        rx.wait_for(1, 10).await;

        // Paused: nothing; active again: the next change.
        assert_eq!(
            send(&op, &app, Method::PATCH, &path, Some(json!({"isActive": false}))).await.status(),
            204
        );
        assert_eq!(subscription(&op, &app, &id).await["status"], "paused");
        level(&op, &app, GAUGE, 2.0).await;
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        assert_eq!(rx.accepted().len(), 1, "{backend:?}: a paused subscription notified");
        assert_eq!(
            send(&op, &app, Method::PATCH, &path, Some(json!({"isActive": true}))).await.status(),
            204
        );
        level(&op, &app, GAUGE, 3.0).await;
        let got = rx.wait_for(2, 10).await;
        assert_eq!(entities(&got).last().unwrap()["waterLevel"], 3.0);

        // Throttled to one every 2 s: a burst gives the first at once and the rest together,
        // the newest reading of each entity.
        let fragment = json!({"throttling": 2});
        assert_eq!(send(&op, &app, Method::PATCH, &path, Some(fragment)).await.status(), 204);
        for v in [4.0, 5.0, 6.0, 7.0] {
            level(&op, &app, GAUGE, v).await;
        }
        // The burst's first change goes at once; what follows within 2 s is sent together
        // after (or with it, when the notifier saw the whole burst at once).
        tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
        let got = rx.accepted();
        assert!(
            matches!(got.len(), 3 | 4),
            "{backend:?}: a throttled burst gave {} notifications",
            got.len() - 2
        );
        let last = &got.last().unwrap().body["data"];
        assert_eq!(last.as_array().unwrap().len(), 1, "one entity, its newest state: {last}");
        assert_eq!(last[0]["waterLevel"], 7.0, "{backend:?}");
        if let [.., before, after] = got.as_slice() {
            if got.len() == 4 {
                let gap = after.at.duration_since(before.at);
                assert!(
                    gap >= std::time::Duration::from_millis(1500),
                    "{backend:?}: only {gap:?} between them"
                );
            }
        }

        // Deleted: gone, and no more notifications.
        let before = rx.accepted().len();
        assert_eq!(send(&op, &app, Method::DELETE, &path, None).await.status(), 204);
        assert_eq!(get(&op, &app, &path).await.0, 404);
        level(&op, &app, GAUGE, 8.0).await;
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        assert_eq!(rx.accepted().len(), before);
        app.stop().await;
    }
}

#[tokio::test]
async fn deletions_periodic_notifications_and_geo_filters() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = app.signed_in("operator").await;
        let deletions = Receiver::start(Mode::Accept).await;
        let periodic = Receiver::start(Mode::Accept).await;
        let nearby = Receiver::start(Mode::Accept).await;
        subscribe(
            &op,
            &app,
            json!({"type": "Subscription", "entities": [{"type": "RiverGauge", "idPattern": "nam-na"}],
                   "notificationTrigger": ["entityDeleted"], "notification": {"endpoint": {"uri": deletions.url}}}),
        )
        .await;
        subscribe(
            &op,
            &app,
            json!({"type": "Subscription", "entities": [{"type": "RiverGauge", "idPattern": "^urn:ngsi-ld:RiverGauge:(nam-na|da)-01$"}], "timeInterval": 1,
                   "notification": {"format": "keyValues", "attributes": ["waterLevel"], "endpoint": {"uri": periodic.url}}}),
        )
        .await;
        // Within 2 km of the Nậm Na gauge, not of the one on the Đà river far south.
        subscribe(
            &op,
            &app,
            json!({"type": "Subscription", "entities": [{"type": "RiverGauge"}],
                   "geoQ": {"georel": "near;maxDistance==2000", "geometry": "Point", "coordinates": [103.27, 22.505]},
                   "notification": {"format": "keyValues", "attributes": ["waterLevel"], "endpoint": {"uri": nearby.url}}}),
        )
        .await;
        gauge(&op, &app, GAUGE, 1.0).await;
        let far = json!({"id": "urn:ngsi-ld:RiverGauge:da-01", "type": "RiverGauge",
                         "waterLevel": {"type": "Property", "value": 9.0},
                         "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [103.0, 21.9]}}});
        assert_eq!(send(&op, &app, Method::POST, "/ngsi-ld/v1/entities", Some(far)).await.status(), 201);

        let got = nearby.wait_for(1, 10).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let ids: Vec<Value> = entities(&nearby.accepted()).iter().map(|e| e["id"].clone()).collect();
        assert_eq!(ids, vec![json!(GAUGE)], "{backend:?}");
        assert!(!got.is_empty());

        // Every second, every gauge.
        assert!(wait_until(10, || entities(&periodic.accepted()).len() >= 4).await, "{backend:?}");
        let latest = periodic.accepted().last().cloned().unwrap();
        let mut ids: Vec<String> = latest.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        assert_eq!(ids, vec!["urn:ngsi-ld:RiverGauge:da-01".to_string(), GAUGE.to_string()]);

        let path = format!("/ngsi-ld/v1/entities/{GAUGE}");
        assert_eq!(send(&op, &app, Method::DELETE, &path, None).await.status(), 204);
        let got = deletions.wait_for(1, 10).await;
        let gone = &entities(&got)[0];
        assert_eq!(gone["id"], GAUGE);
        assert_eq!(gone["type"], "RiverGauge");
        assert!(gone["deletedAt"].as_str().is_some());
        assert_eq!(entities(&got).len(), 1, "only the deletion: {got:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn another_organisation_neither_sees_nor_changes_a_subscription() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite).await;
    let op = app.signed_in("operator").await;
    let id = subscribe(
        &op,
        &app,
        json!({"type": "Subscription", "entities": [{"type": "RiverGauge"}],
               "notification": {"endpoint": {"uri": "mqtt://iot:secret@127.0.0.1:1883/laichau/canh-bao"}}}),
    )
    .await;
    let path = format!("/ngsi-ld/v1/subscriptions/{id}");
    // The broker password is never shown back.
    let shown = subscription(&op, &app, &id).await;
    let uri = shown["notification"]["endpoint"]["uri"].as_str().unwrap();
    assert!(!uri.contains("secret") && uri.contains("iot:***@"), "{uri}");

    let officer = app.signed_in("officer").await;
    assert_eq!(get(&officer, &app, &path).await.0, 404);
    assert_eq!(get(&officer, &app, "/ngsi-ld/v1/subscriptions").await.1, json!([]));
    assert_eq!(send(&officer, &app, Method::DELETE, &path, None).await.status(), 404);
    let admin = app.signed_in("admin").await;
    let res = admin.get(app.url("/ngsi-ld/v1/subscriptions?count=true")).send().await.unwrap();
    assert_eq!(res.headers()["ngsild-results-count"], "1");
    let list: Value = res.json().await.unwrap();
    assert_eq!(list[0]["id"], id.as_str());

    // Another account of the same organisation sees it but may not redirect it: it notifies
    // under its creator's account.
    let supervisor = app.signed_in("supervisor").await;
    assert_eq!(get(&supervisor, &app, &path).await.0, 200);
    let elsewhere = json!({"notification": {"endpoint": {"uri": "http://10.0.0.9/collect"}}});
    assert_eq!(send(&supervisor, &app, Method::PATCH, &path, Some(elsewhere)).await.status(), 403);
    // The creator changes it: the members of notification one by one, the password kept when
    // the endpoint comes back as it was shown.
    let shown_endpoint = shown["notification"]["endpoint"].clone();
    let fragment = json!({"notification": {"format": "keyValues", "endpoint": shown_endpoint}});
    assert_eq!(send(&op, &app, Method::PATCH, &path, Some(fragment)).await.status(), 204);
    let stored: String =
        sqlx::query_scalar("SELECT doc FROM subscriptions").fetch_one(app.state.store.pool()).await.unwrap();
    assert!(stored.contains("iot:secret@"), "the broker password is kept: {stored}");
    assert_eq!(subscription(&op, &app, &id).await["notification"]["format"], "keyValues");

    // Creating, changing and deleting are in the audit trail.
    assert_eq!(send(&op, &app, Method::DELETE, &path, None).await.status(), 204);
    let auditor = app.signed_in("auditor").await;
    let url = |action: &str| app.url(&format!("/api/v1/audit?action={action}&target={id}"));
    for action in ["subscription.create", "subscription.update", "subscription.delete"] {
        let records = crate::harness::get_json(&auditor, url(action)).await;
        assert_eq!(records.as_array().map(Vec::len), Some(1), "{action}: {records}");
        assert_eq!(records[0]["username"], "operator");
    }
    app.stop().await;
}

#[tokio::test]
async fn endpoints_on_the_servers_own_machine_are_refused_unless_allowed() {
    let store = crate::harness::TestStore::new(crate::harness::Backend::Sqlite).await;
    let mut config = store.config();
    config.hub.notification_local_endpoints = false;
    let app = TestApp::spawn_config(store, config, true).await;
    let op = app.signed_in("operator").await;
    let sub = |uri: &str| json!({"type": "Subscription", "entities": [{"type": "RiverGauge"}], "notification": {"endpoint": {"uri": uri}}});
    let local = [
        "http://127.0.0.1:5432/",
        "http://localhost/x",
        "https://[::1]/x",
        "http://169.254.169.254/latest/meta-data",
        "mqtt://127.0.0.1:1883/t",
    ];
    for uri in local {
        let res = send(&op, &app, Method::POST, "/ngsi-ld/v1/subscriptions", Some(sub(uri))).await;
        assert_eq!(res.status(), 400, "{uri}");
        let problem: Value = res.json().await.unwrap();
        assert!(problem["detail"].as_str().unwrap().starts_with("notification.endpoint.uri:"), "{problem}");
    }
    // An agency's intranet address is an ordinary endpoint.
    let res =
        send(&op, &app, Method::POST, "/ngsi-ld/v1/subscriptions", Some(sub("http://10.12.0.5/notify")))
            .await;
    assert_eq!(res.status(), 201);
    app.stop().await;
}

#[tokio::test]
async fn an_expired_subscription_notifies_nothing_and_can_still_be_paused() {
    let app = TestApp::spawn(crate::harness::Backend::Sqlite).await;
    let op = app.signed_in("operator").await;
    let rx = Receiver::start(Mode::Accept).await;
    let soon = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2)).to_string();
    let id = subscribe(
        &op,
        &app,
        json!({"type": "Subscription", "entities": [{"type": "RiverGauge"}], "expiresAt": soon,
               "notification": {"endpoint": {"uri": rx.url}}}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(subscription(&op, &app, &id).await["status"], "expired");
    gauge(&op, &app, GAUGE, 1.0).await;
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(rx.accepted().is_empty());
    let path = format!("/ngsi-ld/v1/subscriptions/{id}");
    assert_eq!(send(&op, &app, Method::PATCH, &path, Some(json!({"isActive": false}))).await.status(), 204);
    let past = json!({"expiresAt": "2020-01-01T00:00:00Z"});
    assert_eq!(send(&op, &app, Method::PATCH, &path, Some(past)).await.status(), 400);
    app.stop().await;
}
