//! The history of the data hub (NGSI-LD temporal API) as a leader's dashboard and an alert rule
//! read it: every change kept, by time range, the newest N, simplified values and hourly
//! aggregates, on SQLite and PostgreSQL.

use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::harness::{backends, get, send, TestApp};

const ID: &str = "urn:ngsi-ld:RiverGauge:nam-na-01";

fn level(value: f64, at: &str) -> Value {
    json!({"waterLevel": {"type": "Property", "value": value, "unitCode": "MTR", "observedAt": at}})
}

/// A gauge on the Nậm Na read at 01:00, 01:30, 02:10, 04:05 (nothing in the 03:00 hour) and
/// its status changed once.
async fn seed(c: &Client, app: &TestApp) {
    let gauge = json!({
        "id": ID, "type": "RiverGauge",
        "waterLevel": {"type": "Property", "value": 2.0, "unitCode": "MTR", "observedAt": "2026-11-20T01:00:00Z"},
        "status": {"type": "Property", "value": "normal"},
    });
    assert_eq!(send(c, app, Method::POST, "/ngsi-ld/v1/entities", Some(gauge)).await.status(), 201);
    for (v, at) in
        [(3.0, "2026-11-20T01:30:00Z"), (5.0, "2026-11-20T02:10:00Z"), (4.0, "2026-11-20T04:05:00Z")]
    {
        let path = format!("/ngsi-ld/v1/entities/{ID}/attrs");
        assert_eq!(send(c, app, Method::PATCH, &path, Some(level(v, at))).await.status(), 204);
    }
    let path = format!("/ngsi-ld/v1/entities/{ID}/attrs");
    let status = json!({"status": {"type": "Property", "value": "alert"}});
    assert_eq!(send(c, app, Method::PATCH, &path, Some(status)).await.status(), 204);
}

fn values(attr: &Value) -> Vec<Value> {
    attr.as_array().unwrap().iter().map(|i| i["value"].clone()).collect()
}

#[tokio::test]
async fn every_change_is_kept_and_read_back_by_time() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = app.signed_in("operator").await;
        seed(&op, &app).await;

        // Every instance, oldest first, with its observedAt and an instance id.
        let (s, h) = get(&op, &app, &format!("/ngsi-ld/v1/temporal/entities/{ID}")).await;
        assert_eq!(s, 200, "{backend:?} {h}");
        assert_eq!(h["id"], ID);
        assert_eq!(h["type"], "RiverGauge");
        assert_eq!(values(&h["waterLevel"]), vec![json!(2.0), json!(3.0), json!(5.0), json!(4.0)]);
        assert_eq!(h["waterLevel"][2]["observedAt"], "2026-11-20T02:10:00Z");
        assert!(h["waterLevel"][0]["instanceId"].as_str().unwrap().starts_with("urn:"));
        assert_eq!(values(&h["status"]), vec![json!("normal"), json!("alert")]);

        // between [01:30, 04:05): the two in the range; lastN=2: the newest two, oldest first.
        let (_, h) = get(
            &op,
            &app,
            &format!(
                "/ngsi-ld/v1/temporal/entities/{ID}?attrs=waterLevel&timerel=between\
                 &timeAt=2026-11-20T01:30:00Z&endTimeAt=2026-11-20T04:05:00Z"
            ),
        )
        .await;
        assert_eq!(values(&h["waterLevel"]), vec![json!(3.0), json!(5.0)]);
        assert!(h.get("status").is_none(), "only the attributes asked for");
        let (_, h) =
            get(&op, &app, &format!("/ngsi-ld/v1/temporal/entities/{ID}?attrs=waterLevel&lastN=2")).await;
        assert_eq!(values(&h["waterLevel"]), vec![json!(5.0), json!(4.0)]);
        let (_, h) = get(
            &op,
            &app,
            &format!("/ngsi-ld/v1/temporal/entities/{ID}?timerel=before&timeAt=2026-11-20T01:30:00Z&attrs=waterLevel"),
        )
        .await;
        assert_eq!(values(&h["waterLevel"]), vec![json!(2.0)]);

        // Simplified: [value, time] pairs.
        let (_, h) = get(
            &op,
            &app,
            &format!("/ngsi-ld/v1/temporal/entities/{ID}?attrs=waterLevel&options=temporalValues"),
        )
        .await;
        assert_eq!(h["waterLevel"]["values"][1], json!([3.0, "2026-11-20T01:30:00Z"]), "{h}");

        // Hourly aggregates over the day: the empty 03:00 hour is left out.
        let (s, h) = get(
            &op,
            &app,
            &format!(
                "/ngsi-ld/v1/temporal/entities/{ID}?attrs=waterLevel&options=aggregatedValues\
                 &aggrMethods=avg,max,totalCount&aggrPeriodDuration=PT1H&timerel=after&timeAt=2026-11-20T01:00:00Z"
            ),
        )
        .await;
        assert_eq!(s, 200, "{h}");
        let avg = h["waterLevel"]["avg"].as_array().unwrap();
        assert_eq!(avg.len(), 3, "{h}");
        assert_eq!(avg[0][0], json!(2.5));
        assert_eq!(h["waterLevel"]["max"][1][0], json!(5.0));
        assert_eq!(h["waterLevel"]["totalCount"][0][0], json!(2));

        // The query form picks entities by their current state.
        let (s, list) = get(
            &op,
            &app,
            "/ngsi-ld/v1/temporal/entities?type=RiverGauge&q=status==%22alert%22&attrs=waterLevel&lastN=1",
        )
        .await;
        assert_eq!(s, 200, "{list}");
        let ours: Vec<&Value> = list.as_array().unwrap().iter().filter(|e| e["id"] == ID).collect();
        assert_eq!(ours.len(), 1, "{list}");
        assert_eq!(values(&ours[0]["waterLevel"]), vec![json!(4.0)]);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_wrong_temporal_request_names_the_parameter() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = app.signed_in("operator").await;
        seed(&op, &app).await;
        let base = format!("/ngsi-ld/v1/temporal/entities/{ID}");
        for (query, parameter) in [
            ("timerel=before", "timeAt"),
            ("timerel=between&timeAt=2026-11-20T02:00:00Z", "endTimeAt"),
            ("timerel=between&timeAt=2026-11-20T02:00:00Z&endTimeAt=2026-11-20T01:00:00Z", "endTimeAt"),
            ("timerel=sometime&timeAt=2026-11-20T02:00:00Z", "timerel"),
            ("options=aggregatedValues&aggrMethods=median&aggrPeriodDuration=PT1H", "aggrMethods"),
            ("lastN=zero", "lastN"),
        ] {
            let (s, body) = get(&op, &app, &format!("{base}?{query}")).await;
            assert_eq!(s, 400, "{backend:?} {query}: {body}");
            assert!(body["type"].as_str().unwrap().ends_with("BadRequestData"), "{body}");
            assert!(body["detail"].as_str().unwrap().contains(parameter), "{query}: {body}");
        }
        let (s, _) = get(&op, &app, "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:RiverGauge:none").await;
        assert_eq!(s, 404);
        app.stop().await;
    }
}

#[tokio::test]
async fn past_readings_are_backfilled_and_a_new_entity_takes_the_newest() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = app.signed_in("operator").await;
        // A station that reported by paper: three readings, sent late, for an entity the hub
        // does not know yet.
        let id = "urn:ngsi-ld:WeatherObserved:muong-te-paper";
        // WeatherObserved has its exchange data structure: the current state must match it.
        let body = json!({
            "id": id, "type": "WeatherObserved",
            "dateObserved": {"type": "Property", "value": "2026-11-18T12:00:00Z"},
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [102.8, 22.3]}},
            "temperature": [
                {"type": "Property", "value": 14.0, "observedAt": "2026-11-18T00:00:00Z"},
                {"type": "Property", "value": 19.5, "observedAt": "2026-11-18T12:00:00Z"},
                {"type": "Property", "value": 16.0, "observedAt": "2026-11-18T06:00:00Z"},
            ],
        });
        let res = send(&op, &app, Method::POST, "/ngsi-ld/v1/temporal/entities", Some(body)).await;
        let status = res.status();
        assert_eq!(status, 201, "{backend:?} {}", res.text().await.unwrap());
        let (_, now) = get(&op, &app, &format!("/ngsi-ld/v1/entities/{id}")).await;
        assert_eq!(now["temperature"]["value"], json!(19.5), "the newest is the current value: {now}");
        let (_, h) = get(&op, &app, &format!("/ngsi-ld/v1/temporal/entities/{id}")).await;
        assert_eq!(values(&h["temperature"]), vec![json!(14.0), json!(16.0), json!(19.5)], "{h}");

        // More past readings for it: the history grows, the current value stays.
        let more = json!({"temperature": [{"type": "Property", "value": 12.0, "observedAt": "2026-11-17T18:00:00Z"}]});
        let path = format!("/ngsi-ld/v1/temporal/entities/{id}/attrs");
        assert_eq!(send(&op, &app, Method::POST, &path, Some(more)).await.status(), 204);
        let (_, h) = get(&op, &app, &format!("/ngsi-ld/v1/temporal/entities/{id}")).await;
        assert_eq!(values(&h["temperature"]), vec![json!(12.0), json!(14.0), json!(16.0), json!(19.5)]);
        let (_, now) = get(&op, &app, &format!("/ngsi-ld/v1/entities/{id}")).await;
        assert_eq!(now["temperature"]["value"], json!(19.5));

        // A reading from the future, or a broken one, is refused whole and keeps nothing.
        let bad = json!({"temperature": [
            {"type": "Property", "value": 1.0, "observedAt": "2026-11-17T00:00:00Z"},
            {"type": "Property", "value": 2.0, "observedAt": "2099-01-01T00:00:00Z"},
        ]});
        let res = send(&op, &app, Method::POST, &path, Some(bad)).await;
        assert_eq!(res.status(), 400);
        let broken = json!({"temperature": [{"type": "Property"}]});
        let res = send(&op, &app, Method::POST, &path, Some(broken)).await;
        assert_eq!(res.status(), 400);
        let (_, h) = get(&op, &app, &format!("/ngsi-ld/v1/temporal/entities/{id}")).await;
        assert_eq!(values(&h["temperature"]).len(), 4, "nothing of the refused bodies was kept");

        // History for an entity the hub does not have, through the attrs route: 404.
        let res = send(
            &op,
            &app,
            Method::POST,
            "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:WeatherObserved:none/attrs",
            Some(json!({"temperature": [{"type": "Property", "value": 1.0, "observedAt": "2026-11-17T00:00:00Z"}]})),
        )
        .await;
        assert_eq!(res.status(), 404);
        app.stop().await;
    }
}

fn hours_ago(h: i64) -> String {
    (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(h)).to_string()
}

fn reading_at(value: f64, at: &str) -> Value {
    json!({"type": "Property", "value": value, "observedAt": at})
}

#[tokio::test]
async fn retention_removes_old_history_of_its_type_and_deleting_can_take_the_history() {
    for backend in backends() {
        let store = crate::harness::TestStore::new(backend).await;
        let mut config = store.config();
        config.hub.retention = vec!["RiverGauge=P1D".into()];
        config.hub.delete_history = true;
        let app = TestApp::spawn_config(store, config, true).await;
        let op = app.signed_in("operator").await;
        let gauge = json!({"id": ID, "type": "RiverGauge",
            "waterLevel": [reading_at(1.0, &hours_ago(72)), reading_at(2.0, &hours_ago(48)), reading_at(3.0, &hours_ago(1))]});
        let station = "urn:ngsi-ld:WeatherStation:keep";
        let other = json!({"id": station, "type": "WeatherStation",
            "temperature": [reading_at(9.0, &hours_ago(72)), reading_at(10.0, &hours_ago(1))]});
        for body in [gauge, other] {
            assert_eq!(
                send(&op, &app, Method::POST, "/ngsi-ld/v1/temporal/entities", Some(body)).await.status(),
                201
            );
        }

        // Readings older than a day go for RiverGauge only.
        assert_eq!(app.state.hub.prune_history().await.unwrap(), 2, "{backend:?}");
        let (_, h) = get(&op, &app, &format!("/ngsi-ld/v1/temporal/entities/{ID}")).await;
        assert_eq!(values(&h["waterLevel"]), vec![json!(3.0)], "{h}");
        let (_, h) = get(&op, &app, &format!("/ngsi-ld/v1/temporal/entities/{station}")).await;
        assert_eq!(values(&h["temperature"]), vec![json!(9.0), json!(10.0)]);
        assert_eq!(app.state.hub.prune_history().await.unwrap(), 0, "nothing left to remove");

        // With hub.delete_history, a deleted entity's history goes with it: an entity made
        // again under the same id starts with an empty past.
        let res = send(&op, &app, Method::DELETE, &format!("/ngsi-ld/v1/entities/{station}"), None).await;
        assert_eq!(res.status(), 204);
        let again =
            json!({"id": station, "type": "WeatherStation", "temperature": reading_at(11.0, &hours_ago(0))});
        assert_eq!(send(&op, &app, Method::POST, "/ngsi-ld/v1/entities", Some(again)).await.status(), 201);
        let (_, h) = get(&op, &app, &format!("/ngsi-ld/v1/temporal/entities/{station}")).await;
        assert_eq!(values(&h["temperature"]), vec![json!(11.0)], "{h}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_deleted_entitys_kept_history_is_still_read_and_pruned_by_its_type() {
    for backend in backends() {
        let store = crate::harness::TestStore::new(backend).await;
        let mut config = store.config();
        config.hub.retention = vec!["RiverGauge=P1D".into()];
        let app = TestApp::spawn_config(store, config, true).await;
        let op = app.signed_in("operator").await;
        let gauge = json!({"id": ID, "type": "RiverGauge",
            "waterLevel": [reading_at(1.0, &hours_ago(72)), reading_at(3.0, &hours_ago(1))]});
        let res = send(&op, &app, Method::POST, "/ngsi-ld/v1/temporal/entities", Some(gauge)).await;
        assert_eq!(res.status(), 201);
        let res = send(&op, &app, Method::DELETE, &format!("/ngsi-ld/v1/entities/{ID}"), None).await;
        assert_eq!(res.status(), 204);
        assert_eq!(get(&op, &app, &format!("/ngsi-ld/v1/entities/{ID}")).await.0, 404);

        // Without hub.delete_history the past stays readable, under the type the entity had.
        let (status, h) = get(&op, &app, &format!("/ngsi-ld/v1/temporal/entities/{ID}")).await;
        assert_eq!(status, 200, "{backend:?}: {h}");
        assert_eq!(h["type"], "RiverGauge", "{h}");
        assert_eq!(values(&h["waterLevel"]), vec![json!(1.0), json!(3.0)], "{h}");

        // ... and the type's retention still reaches it.
        assert_eq!(app.state.hub.prune_history().await.unwrap(), 1, "{backend:?}");
        let (_, h) = get(&op, &app, &format!("/ngsi-ld/v1/temporal/entities/{ID}")).await;
        assert_eq!(values(&h["waterLevel"]), vec![json!(3.0)], "{h}");
        // An id that never existed is still not found.
        let (status, _) = get(&op, &app, "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:RiverGauge:never").await;
        assert_eq!(status, 404);
        app.stop().await;
    }
}
