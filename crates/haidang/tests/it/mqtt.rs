//! The MQTT side of the hub against the real broker (HAIDANG_TEST_MQTT_URL): air-quality
//! stations publishing readings that become entities and history, what cannot be taken kept as
//! dead letters, messages sent while the server is down taken when it is back, and
//! notifications published on a topic.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{json, Value};

use crate::harness::{backends, get_json, service_url, Backend, TestApp, TestStore};

/// The broker's host and port from the test URL.
fn broker() -> Option<(String, u16, String)> {
    let url = service_url("HAIDANG_TEST_MQTT_URL")?;
    let rest = url.trim_start_matches("mqtt://").trim_start_matches("tcp://");
    let (host, port) = rest.split_once(':').unwrap_or((rest, "1883"));
    Some((host.to_string(), port.trim_end_matches('/').parse().unwrap(), url))
}

/// A publisher (or subscriber) of the test's own, with its event loop running.
pub async fn client(
    host: &str,
    port: u16,
) -> (AsyncClient, tokio::sync::mpsc::UnboundedReceiver<rumqttc::Publish>) {
    let mut o = MqttOptions::new(format!("hd-test-{}", uuid::Uuid::new_v4().simple()), host, port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_inflight(200);
    let (c, mut el) = AsyncClient::new(o, 1000);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = tx.send(p);
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    });
    (c, rx)
}

/// A connector taking the air-quality stations under `prefix`, as the operator's account.
pub fn air_connector(url: &str, prefix: &str) -> haidang_server::config::ConnectorConfig {
    let topic = haidang_server::config::TopicConfig {
        filter: format!("{prefix}/air/+/data"),
        entity_type: "AirQualityObserved".into(),
        id: "urn:ngsi-ld:AirQualityObserved:{2}".into(),
        observed_at: "ts".into(),
        time_attribute: "dateObserved".into(),
        attributes: [("pm25", "pm25"), ("t", "temperature")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        units: [("pm25", "GQ"), ("temperature", "CEL")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        location: vec!["lon".into(), "lat".into()],
        ..Default::default()
    };
    haidang_server::config::ConnectorConfig {
        name: "quan-trac-khong-khi".into(),
        url: url.to_string(),
        client_id: format!("hd-test-{prefix}"),
        account: "operator".into(),
        topics: vec![topic],
        ..Default::default()
    }
}

/// Removes the persistent session a test's connector left on the broker (a clean-session
/// connection under its client id discards it).
pub async fn forget_session(host: &str, port: u16, client_id: &str) {
    let mut o = MqttOptions::new(client_id, host, port);
    o.set_clean_session(true);
    let (c, mut el) = AsyncClient::new(o, 10);
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = c.try_disconnect();
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
}

fn reading(pm25: Value, ts: &str) -> Vec<u8> {
    json!({"pm25": pm25, "t": 24.5, "battery": 88, "ts": ts, "lon": 103.45, "lat": 22.40})
        .to_string()
        .into_bytes()
}

async fn publish(c: &AsyncClient, topic: &str, payload: Vec<u8>) {
    c.publish(topic, QoS::AtLeastOnce, false, payload).await.unwrap();
}

async fn entity(op: &reqwest::Client, app: &TestApp, id: &str) -> Value {
    get_json(op, app.url(&format!("/ngsi-ld/v1/entities/{id}?options=keyValues"))).await
}

async fn until_json(op: &reqwest::Client, url: String, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let v = get_json(op, url.clone()).await;
        if done(&v) || tokio::time::Instant::now() > deadline {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn station_readings_become_entities_and_what_cannot_be_taken_a_dead_letter() {
    let Some((host, port, url)) = broker() else { return };
    for backend in backends() {
        let prefix = format!("hd-{}", uuid::Uuid::new_v4().simple());
        let store = TestStore::new(backend).await;
        let mut config = store.config();
        config.mqtt.connectors = vec![air_connector(&url, &prefix)];
        let app = TestApp::spawn_config(store, config, true).await;
        let op = app.signed_in("operator").await;
        let (publisher, _) = client(&host, port).await;
        // The connector subscribes once connected: wait for it.
        let connected =
            until_json(&op, app.url("/api/v1/hub/connectors"), 10, |v| v[0]["connected"] == true).await;
        assert_eq!(connected[0]["connected"], true, "{connected}");

        let station = format!("{prefix}/air/tam-duong/data");
        let id = "urn:ngsi-ld:AirQualityObserved:tam-duong";
        publish(&publisher, &station, reading(json!(41.5), "2026-12-02T01:00:00Z")).await;
        publish(&publisher, &station, reading(json!(55.0), "2026-12-02T02:00:00Z")).await;
        publish(&publisher, &format!("{prefix}/air/sin-ho/data"), b"temperature=24".to_vec()).await;
        publish(&publisher, &format!("{prefix}/air/sin-ho/data"), br#"{"battery": 80}"#.to_vec()).await;
        // Bytes that are not even text (a NUL among them, which PostgreSQL's text cannot hold).
        publish(&publisher, &format!("{prefix}/air/muong-te/data"), vec![0, 159, 146, 150]).await;
        // The data model wants pm25 a number: the hub refuses it, the connector keeps it.
        publish(
            &publisher,
            &format!("{prefix}/air/phong-tho/data"),
            reading(json!("cao"), "2026-12-02T02:00:00Z"),
        )
        .await;

        let letters =
            until_json(&op, app.url("/api/v1/hub/dead-letters?connector=quan-trac-khong-khi"), 15, |v| {
                v.as_array().is_some_and(|a| a.len() >= 4)
            })
            .await;
        let letters = letters.as_array().unwrap().clone();
        assert_eq!(letters.len(), 4, "{backend:?}: {letters:?}");
        let errors: Vec<&str> = letters.iter().map(|l| l["error"].as_str().unwrap()).collect();
        assert!(errors.iter().any(|e| e.contains("not JSON")), "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("no attribute")), "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("pm25")), "{errors:?}");
        assert!(letters
            .iter()
            .any(|l| l["payload"] == "temperature=24" && l["topic"] == format!("{prefix}/air/sin-ho/data")));
        let e = until_json(&op, app.url(&format!("/ngsi-ld/v1/entities/{id}?options=keyValues")), 10, |v| {
            v["pm25"] == 55.0
        })
        .await;
        assert_eq!(e["pm25"], 55.0, "{backend:?}: {e}");
        assert_eq!(e["temperature"], 24.5);
        assert_eq!(e["dateObserved"], "2026-12-02T02:00:00Z");
        assert!(e.get("battery").is_none(), "an unmapped member is not written");
        assert_eq!(
            entity(&op, &app, "urn:ngsi-ld:AirQualityObserved:phong-tho").await["type"],
            "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"
        );

        // The same message again (a broker's redelivery) is kept once; a late, older reading
        // goes to the history and leaves the newer value in place.
        publish(&publisher, &station, reading(json!(55.0), "2026-12-02T02:00:00Z")).await;
        publish(&publisher, &station, reading(json!(47.0), "2026-12-02T01:30:00Z")).await;
        let history_url =
            app.url(&format!("/ngsi-ld/v1/temporal/entities/{id}?attrs=pm25&options=temporalValues"));
        let h = until_json(&op, history_url, 10, |h| {
            h["pm25"]["values"].as_array().is_some_and(|v| v.len() >= 3)
        })
        .await;
        let values: Vec<Value> =
            h["pm25"]["values"].as_array().unwrap().iter().map(|p| p[0].clone()).collect();
        assert_eq!(values, vec![json!(41.5), json!(47.0), json!(55.0)], "{backend:?}: {h}");
        assert_eq!(entity(&op, &app, id).await["pm25"], 55.0);

        let c = until_json(&op, app.url("/api/v1/hub/connectors"), 5, |v| v[0]["received"] == 8).await;
        let c = &c[0];
        assert_eq!(
            (c["received"].clone(), c["stored"].clone(), c["dead_letters"].clone()),
            (json!(8), json!(4), json!(4)),
            "{c}"
        );
        assert_eq!(c["dead_letters_kept"], 4);
        assert_eq!(c["topics"], json!([format!("{prefix}/air/+/data")]));

        // Machines and auditors do not read the edge's letters.
        let auditor = app.signed_in("auditor").await;
        let res = auditor.get(app.url("/api/v1/hub/dead-letters")).send().await.unwrap();
        assert_eq!(res.status(), 403);
        app.stop().await;
        forget_session(&host, port, &format!("hd-test-{prefix}")).await;
    }
}

#[tokio::test]
async fn messages_sent_while_the_server_is_down_are_taken_when_it_is_back() {
    let Some((host, port, url)) = broker() else { return };
    let prefix = format!("hd-{}", uuid::Uuid::new_v4().simple());
    let store = TestStore::new(Backend::Sqlite).await;
    let mut config = store.config();
    config.mqtt.connectors = vec![air_connector(&url, &prefix)];
    let app = TestApp::spawn_config(store, config.clone(), true).await;
    let op = app.signed_in("operator").await;
    until_json(&op, app.url("/api/v1/hub/connectors"), 10, |v| v[0]["connected"] == true).await;
    let passwords = app.passwords.clone();
    let store = app.stop().await;

    // The broker keeps them for the connector's session.
    let (publisher, _) = client(&host, port).await;
    for i in 0..50 {
        let topic = format!("{prefix}/air/s{i}/data");
        publish(&publisher, &topic, reading(json!(i), "2026-12-02T03:00:00Z")).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut app = TestApp::spawn_config(store, config, false).await;
    app.passwords = passwords;
    let op = app.signed_in("operator").await;
    // The stations of this test (s0..s49), not the demo's own air stations.
    let q = app
        .url("/ngsi-ld/v1/entities?type=AirQualityObserved&idPattern=:s%5B0-9%5D%2B%24&count=true&limit=1");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut count = String::new();
    while tokio::time::Instant::now() < deadline {
        let res = op.get(q.clone()).send().await.unwrap();
        count = res.headers()["ngsild-results-count"].to_str().unwrap().to_string();
        if count == "50" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count, "50");
    app.stop().await;
    forget_session(&host, port, &format!("hd-test-{prefix}")).await;
}

#[tokio::test]
async fn a_notification_is_published_on_the_endpoint_topic() {
    let Some((host, port, _)) = broker() else { return };
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let op = app.signed_in("operator").await;
        let topic = format!("hd-{}/canh-bao", uuid::Uuid::new_v4().simple());
        let (listener, mut got) = client(&host, port).await;
        listener.subscribe(&topic, QoS::AtLeastOnce).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let sub = json!({"type": "Subscription", "entities": [{"type": "RiverGauge"}],
                         "notification": {"format": "keyValues", "attributes": ["waterLevel"],
                                          "endpoint": {"uri": format!("mqtt://{host}:{port}/{topic}"),
                                                       "receiverInfo": [{"key": "X-Tinh", "value": "lai-chau"}]}}});
        let res = op.post(app.url("/ngsi-ld/v1/subscriptions")).json(&sub).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let gauge = json!({"id": "urn:ngsi-ld:RiverGauge:nam-na-01", "type": "RiverGauge",
                           "waterLevel": {"type": "Property", "value": 3.2}});
        let res = op.post(app.url("/ngsi-ld/v1/entities")).json(&gauge).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let message =
            tokio::time::timeout(Duration::from_secs(10), got.recv()).await.expect("a notification").unwrap();
        assert_eq!(message.topic, topic);
        let m: Value = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(m["metadata"]["Content-Type"], "application/json", "{backend:?} {m}");
        assert_eq!(m["metadata"]["X-Tinh"], "lai-chau");
        assert!(m["metadata"]["Link"].as_str().unwrap().contains("ngsi-ld-core-context"));
        assert_eq!(m["body"]["type"], "Notification");
        assert_eq!(
            m["body"]["data"],
            json!([{"id": "urn:ngsi-ld:RiverGauge:nam-na-01", "type": "RiverGauge", "waterLevel": 3.2}])
        );
        app.stop().await;
    }
}

/// The demo's simulator sends its stations' readings through the broker and the demo's
/// connector (`demo.mqtt_url`), as real stations would: they arrive, the river under the storm
/// has risen, and the stations stay in their datasets.
#[tokio::test]
async fn the_demo_stations_report_through_the_real_mqtt_path() {
    let Some((host, port, url)) = broker() else { return };
    let store = TestStore::new(Backend::Sqlite).await;
    let mut config = store.config();
    config.mqtt.connectors = vec![haidang::simulator::connector_config(&url)];
    let app = TestApp::spawn_config(store, config, true).await;
    let op = app.signed_in("operator").await;
    until_json(&op, app.url("/api/v1/hub/connectors"), 10, |v| v[0]["connected"] == true).await;
    let places = haidang::demo_stations::positions(&app.state).await.unwrap();
    let weather = haidang::simulator::Weather::starting(jiff::Timestamp::now(), &places);
    let publisher = haidang::simulator::mqtt_client(&url).unwrap();
    let sent = haidang::simulator::tick(&app.state, &weather, &places, 1, Some(&publisher)).await.unwrap();
    assert!(sent > 30, "{sent}");
    let connectors = until_json(&op, app.url("/api/v1/hub/connectors"), 20, |v| {
        v[0]["stored"].as_u64() >= Some(sent as u64)
    })
    .await;
    assert_eq!(connectors[0]["dead_letters"], 0, "{connectors}");

    // Nậm Na is under the first storm: risen from its 183.4 m, and said so.
    let gauge = get_json(
        &op,
        app.url("/ngsi-ld/v1/entities/urn:ngsi-ld:FloodMonitoring:tv-nam-na?options=keyValues"),
    )
    .await;
    assert!(gauge["currentLevel"].as_f64().unwrap() > 184.0, "{gauge}");
    let (_, river) = crate::harness::get(&op, &app, "/api/v1/datasets/muc-nuoc-song-suoi").await;
    assert_eq!(river["members"], 5, "the gauges stay their department's: {river}");
    app.stop().await;
    forget_session(&host, port, "haidang-demo-lai-chau").await;
}
