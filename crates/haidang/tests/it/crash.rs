//! Nothing lost: the real `haidang serve` killed with SIGKILL while (a) HTTP writes, (b) MQTT
//! messages and (c) notifications are in flight, then started again on the same store. Every
//! acknowledged write is there, every message is stored once, every notification arrives.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{backends, get_json, TestStore};
use crate::mqtt::{air_connector, client, forget_session};
use crate::receiver::{entities, wait_until, Mode, Receiver};

/// A `haidang serve` process on its own port, its log in the data folder.
struct Server {
    child: Child,
    url: String,
    printed: String,
}

impl Server {
    fn start(config: &Path, log: &Path, demo: bool) -> Server {
        let mut args = vec!["--config", config.to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"];
        if demo {
            args.push("--demo");
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_haidang"))
            .args(&args)
            .env_remove("HAIDANG__STORAGE__DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        // Drained to the end, so the server never writes into a full or closed pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut printed = String::new();
        loop {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server did not say it is listening:\n{printed}");
            };
            printed.push_str(&line);
            printed.push('\n');
            if let Some(url) = line.strip_prefix("Hải Đăng is listening on ") {
                return Server { child, url: url.trim().to_string(), printed };
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    fn password(&self, username: &str) -> String {
        self.printed
            .lines()
            .find_map(|l| l.trim_start().strip_prefix(username).map(|rest| rest.trim().to_string()))
            .unwrap_or_else(|| panic!("no password for {username} in:\n{}", self.printed))
    }

    /// SIGKILL: no handler runs, nothing is flushed.
    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    /// A failed test leaves no server running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The test store's configuration written as a file for the process.
fn config_file(
    store: &TestStore,
    edit: impl FnOnce(&mut haidang_server::config::Config),
) -> (PathBuf, PathBuf) {
    let mut config = store.config();
    config.server.listen = "127.0.0.1:0".into();
    // The demo's stations stay quiet: the kills are judged on this test's own writes.
    config.demo.simulator = false;
    edit(&mut config);
    let path = store.dir.0.join("haidang.toml");
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    (path, store.dir.0.join("server.log"))
}

/// A server on a new store (with the demo), and the operator signed in.
struct First {
    /// Kept for its folder and database, removed at the end.
    store: TestStore,
    config: PathBuf,
    log: PathBuf,
    server: Server,
    password: String,
    op: reqwest::Client,
}

async fn first_start(
    backend: crate::harness::Backend,
    edit: impl FnOnce(&mut haidang_server::config::Config),
) -> First {
    let store = TestStore::new(backend).await;
    let (config, log) = config_file(&store, edit);
    let server = Server::start(&config, &log, true);
    let password = server.password("operator");
    let op = sign_in(&server, "operator", &password).await;
    First { store, config, log, server, password, op }
}

async fn sign_in(server: &Server, username: &str, password: &str) -> reqwest::Client {
    let c = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let res = c
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    c
}

fn gauge(id: &str, level: f64) -> Value {
    json!({"id": id, "type": "RiverGauge", "waterLevel": {"type": "Property", "value": level, "unitCode": "MTR"}})
}

/// How many of `ids` the server has.
async fn present(c: &reqwest::Client, server: &Server, ids: &[String]) -> usize {
    let mut n = 0;
    for chunk in ids.chunks(100) {
        let url = server.url(&format!("/ngsi-ld/v1/entities?id={}&limit=100&count=true", chunk.join(",")));
        let res = c.get(url).send().await.unwrap();
        n += res.headers()["ngsild-results-count"].to_str().unwrap().parse::<usize>().unwrap();
    }
    n
}

#[tokio::test]
async fn every_acknowledged_http_write_survives_a_kill_9() {
    for backend in backends() {
        let First { store: _store, config, log, server, password, op } = first_start(backend, |_| {}).await;
        let acked: Arc<Mutex<Vec<String>>> = Arc::default();
        let cut_off: Arc<Mutex<usize>> = Arc::default();
        let mut writers = Vec::new();
        for w in 0..16 {
            let (op, base, acked, cut_off) = (op.clone(), server.url.clone(), acked.clone(), cut_off.clone());
            writers.push(tokio::spawn(async move {
                for n in 0.. {
                    // Single creates, and every fourth request a batch of ten.
                    let (url, body, ids) = if n % 4 == 3 {
                        let ids: Vec<String> =
                            (0..10).map(|k| format!("urn:ngsi-ld:RiverGauge:crash-{w}-{n}-{k}")).collect();
                        let batch: Vec<Value> = ids.iter().map(|id| gauge(id, n as f64)).collect();
                        (format!("{base}/ngsi-ld/v1/entityOperations/upsert"), Value::Array(batch), ids)
                    } else {
                        let id = format!("urn:ngsi-ld:RiverGauge:crash-{w}-{n}");
                        (format!("{base}/ngsi-ld/v1/entities"), gauge(&id, n as f64), vec![id])
                    };
                    match op.post(url).json(&body).send().await {
                        Ok(res) if res.status().is_success() => acked.lock().unwrap().extend(ids),
                        Ok(res) => panic!("a write was refused: {}", res.status()),
                        Err(_) => {
                            *cut_off.lock().unwrap() += 1;
                            return;
                        }
                    }
                }
            }));
        }
        assert!(wait_until(30, || acked.lock().unwrap().len() >= 600).await, "{backend:?}: writes are slow");
        server.kill9();
        for w in writers {
            w.await.unwrap();
        }
        let acked = acked.lock().unwrap().clone();
        let in_flight = *cut_off.lock().unwrap();
        eprintln!("{backend:?}: {} writes acknowledged, {in_flight} in flight at the kill", acked.len());
        assert!(in_flight > 0, "writes were in flight when the server was killed");

        let server = Server::start(&config, &log, false);
        let op = sign_in(&server, "operator", &password).await;
        assert_eq!(
            present(&op, &server, &acked).await,
            acked.len(),
            "{backend:?}: an acknowledged write is missing"
        );
        // The audit trail is whole after the kill.
        server.stop();
        let out = Command::new(env!("CARGO_BIN_EXE_haidang"))
            .args(["--config", config.to_str().unwrap(), "audit", "verify"])
            .env_remove("HAIDANG__STORAGE__DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{backend:?}: audit verify: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn every_mqtt_message_is_stored_once_across_a_kill_9() {
    let Some(url) = crate::harness::service_url("HAIDANG_TEST_MQTT_URL") else { return };
    let rest = url.trim_start_matches("mqtt://");
    let (host, port) = rest
        .split_once(':')
        .map(|(h, p)| (h.to_string(), p.trim_end_matches('/').parse::<u16>().unwrap()))
        .unwrap();
    for backend in backends() {
        let prefix = format!("hd-{}", uuid::Uuid::new_v4().simple());
        let First { store: _store, config, log, server, password, op } =
            first_start(backend, |c| c.mqtt.connectors = vec![air_connector(&url, &prefix)]).await;
        // The stations of this test (s0, s1, ...), not the demo's own air stations.
        let count_url = |s: &Server| {
            s.url(
                "/ngsi-ld/v1/entities?type=AirQualityObserved&idPattern=:s%5B0-9%5D%2B%24&count=true&limit=1",
            )
        };
        let count = |c: reqwest::Client, u: String| async move {
            match c.get(u).send().await {
                Ok(res) => res
                    .headers()
                    .get("ngsild-results-count")
                    .map(|v| v.to_str().unwrap().parse::<usize>().unwrap())
                    .unwrap_or(0),
                Err(_) => 0,
            }
        };
        // 200 stations report three readings each (a minute apart), a few milliseconds between
        // messages, through the kill and the restart.
        const STATIONS: usize = 200;
        const TOTAL: usize = 600;
        let (publisher, _) = client(&host, port).await;
        let message = |i: usize| {
            let ts = format!("2026-12-02T03:0{}:00Z", i / STATIONS);
            let payload = json!({"pm25": i, "t": 20.0, "ts": ts, "lon": 103.45, "lat": 22.40});
            (format!("air/s{}/data", i % STATIONS), payload.to_string().into_bytes())
        };
        // The connector is subscribed once it has taken one reading.
        let (topic, payload) = message(0);
        publisher
            .publish(format!("{prefix}/{topic}"), rumqttc::QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while count(op.clone(), count_url(&server)).await < 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let sender = publisher.clone();
        let pfx = prefix.clone();
        let publishing = tokio::spawn(async move {
            for i in 1..TOTAL {
                let (topic, payload) = message(i);
                sender
                    .publish(format!("{pfx}/{topic}"), rumqttc::QoS::AtLeastOnce, false, payload)
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while count(op.clone(), count_url(&server)).await < 150 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let before = count(op.clone(), count_url(&server)).await;
        server.kill9();
        eprintln!("{backend:?}: {before} of {STATIONS} stations stored at the kill");
        assert!(before < STATIONS, "{backend:?}: messages were still coming when the server was killed");
        publishing.await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;

        let server = Server::start(&config, &log, false);
        let op = sign_in(&server, "operator", &password).await;
        // Every reading in the history, once, redelivered or not; the newest is the value.
        let history =
            server.url("/ngsi-ld/v1/temporal/entities?type=AirQualityObserved&idPattern=:s%5B0-9%5D%2B%24&attrs=pm25&limit=1000");
        let readings = |h: &Value| -> usize {
            h.as_array()
                .map(|a| a.iter().map(|e| e["pm25"].as_array().map(Vec::len).unwrap_or(1)).sum())
                .unwrap_or(0)
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut h = Value::Null;
        while tokio::time::Instant::now() < deadline {
            h = get_json(&op, history.clone()).await;
            if readings(&h) >= TOTAL {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let histories = h.as_array().cloned().unwrap_or_default();
        assert_eq!(histories.len(), STATIONS, "{backend:?}: {before} stations stored before the kill");
        for e in &histories {
            let times: Vec<&str> = match &e["pm25"] {
                Value::Array(items) => {
                    items.iter().map(|i| i["observedAt"].as_str().unwrap_or_default()).collect()
                }
                one => vec![one["observedAt"].as_str().unwrap_or_default()],
            };
            assert_eq!(
                times,
                vec!["2026-12-02T03:00:00Z", "2026-12-02T03:01:00Z", "2026-12-02T03:02:00Z"],
                "{backend:?}: {} has these pm25 readings",
                e["id"]
            );
        }
        let one = get_json(
            &op,
            server.url("/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:s7?options=keyValues"),
        )
        .await;
        assert_eq!(one["pm25"], 407, "{backend:?}: the newest reading is the value");
        let letters = get_json(&op, server.url("/api/v1/hub/dead-letters")).await;
        assert_eq!(letters, json!([]), "{backend:?}");
        server.stop();
        forget_session(&host, port, &format!("hd-test-{prefix}")).await;
    }
}

#[tokio::test]
async fn every_pending_notification_is_delivered_after_a_kill_9() {
    for backend in backends() {
        let First { store: _store, config, log, server, password: _, op } =
            first_start(backend, |_| {}).await;
        // A receiver that takes a notification every 100 ms: most are still queued at the kill.
        let rx = Receiver::start(Mode::Slow(100)).await;
        let sub = json!({"type": "Subscription", "entities": [{"type": "RiverGauge", "idPattern": "crash"}],
                         "notification": {"format": "keyValues", "attributes": ["waterLevel"], "endpoint": {"uri": rx.url}}});
        let res = op.post(server.url("/ngsi-ld/v1/subscriptions")).json(&sub).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let id = "urn:ngsi-ld:RiverGauge:crash-1";
        assert_eq!(
            op.post(server.url("/ngsi-ld/v1/entities")).json(&gauge(id, 0.0)).send().await.unwrap().status(),
            201
        );
        const UPDATES: usize = 60;
        for v in 1..=UPDATES {
            let body = json!({"waterLevel": {"type": "Property", "value": v as f64}});
            let res = op
                .patch(server.url(&format!("/ngsi-ld/v1/entities/{id}/attrs")))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 204);
        }
        assert!(
            wait_until(20, || entities(&rx.accepted()).len() >= 5).await,
            "{backend:?}: nothing delivered"
        );
        server.kill9();
        let delivered_before = entities(&rx.accepted()).len();
        eprintln!("{backend:?}: {delivered_before} of {} notifications delivered at the kill", UPDATES + 1);
        assert!(delivered_before < UPDATES + 1, "{backend:?}: notifications were pending at the kill");

        rx.set_mode(Mode::Accept);
        let server = Server::start(&config, &log, false);
        let all = wait_until(30, || {
            let mut levels: Vec<i64> = entities(&rx.accepted())
                .iter()
                .filter_map(|e| e["waterLevel"].as_f64())
                .map(|v| v as i64)
                .collect();
            levels.sort_unstable();
            levels.dedup();
            levels.len() == UPDATES + 1
        })
        .await;
        // Every level, each first seen in the order it was written (a notification sent again
        // after the restart may repeat one, never come before an earlier one's first time).
        let arrived: Vec<i64> = entities(&rx.accepted())
            .iter()
            .filter_map(|e| e["waterLevel"].as_f64())
            .map(|v| v as i64)
            .collect();
        let mut firsts: Vec<i64> = Vec::new();
        for l in &arrived {
            if !firsts.contains(l) {
                firsts.push(*l);
            }
        }
        assert!(all, "{backend:?}: delivered {arrived:?} ({delivered_before} before the kill)");
        assert_eq!(firsts, (0..=UPDATES as i64).collect::<Vec<_>>(), "{backend:?}: {arrived:?}");
        server.stop();
    }
}
