//! `haidang bench-mqtt`: the MQTT ingestion load generator. Stations publish air-quality readings
//! at QoS 1 to a broker that a running server's connector takes from; the rate is readings stored
//! (as the connector counts them) per second. With `--subscriptions N` it first makes N
//! subscriptions, each on one station, notifying a sink this command runs, so the same rate is
//! measured with the notifier matching every change against them (the fan-out figure).
//!
//! The server needs a connector on the bench's topics, e.g.
//!
//! ```toml
//! [[mqtt.connectors]]
//! name = "bench"
//! url = "mqtt://127.0.0.1:1883"
//! account = "operator"
//! [[mqtt.connectors.topics]]
//! filter = "bench/air/+/data"
//! type = "AirQualityObserved"
//! id = "urn:ngsi-ld:AirQualityObserved:{2}"
//! observed_at = "ts"
//! time_attribute = "dateObserved"
//! location = ["lon", "lat"]
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{json, Value};

use crate::bench::signed_in;
use crate::cli::MqttBenchArgs;

fn station(i: usize) -> String {
    format!("station-{i:05}")
}

/// The connector's counters, as the server reports them.
async fn stored(client: &reqwest::Client, url: &str, connector: &str) -> anyhow::Result<(u64, u64)> {
    let list: Value = client.get(format!("{url}/api/v1/hub/connectors")).send().await?.json().await?;
    let c = list
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == connector))
        .ok_or_else(|| anyhow!("the server has no connector named {connector}"))?;
    let n = |k: &str| c[k].as_u64().unwrap_or(0);
    Ok((n("stored"), n("dead_letters")))
}

/// A sink for the notifications: counts them, answers 204 at once.
async fn sink() -> anyhow::Result<(String, Arc<AtomicU64>, Arc<AtomicU64>)> {
    let notifications = Arc::new(AtomicU64::new(0));
    let entities = Arc::new(AtomicU64::new(0));
    let (n, e) = (notifications.clone(), entities.clone());
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |body: axum::body::Bytes| {
            let (n, e) = (n.clone(), e.clone());
            async move {
                n.fetch_add(1, Ordering::Relaxed);
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                e.fetch_add(v["data"].as_array().map(Vec::len).unwrap_or(0) as u64, Ordering::Relaxed);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/notify", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, notifications, entities))
}

async fn publisher(host: &str, port: u16, k: usize) -> anyhow::Result<AsyncClient> {
    let mut o = MqttOptions::new(format!("haidang-bench-{}-{k}", std::process::id()), host, port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_inflight(1000);
    let (c, mut el) = AsyncClient::new(o, 10_000);
    tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::Disconnect)) => return,
                Ok(_) => {}
                Err(e) => {
                    eprintln!("publisher: {e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    });
    Ok(c)
}

pub async fn run(args: MqttBenchArgs) -> anyhow::Result<()> {
    let client = signed_in(&args.url, &args.username, args.password.clone(), 8).await?;
    let broker = url::Url::parse(&args.broker).context("--broker")?;
    let host = broker.host_str().ok_or_else(|| anyhow!("--broker has no host"))?.to_string();
    let port = broker.port().unwrap_or(1883);
    if args.stations == 0 || args.messages == 0 {
        bail!("--stations and --messages must be more than 0");
    }
    let (sink_url, notifications, notified) = sink().await?;
    for k in 0..args.subscriptions {
        let sub = json!({
            "type": "Subscription",
            "entities": [{"type": "AirQualityObserved", "id": format!("urn:ngsi-ld:AirQualityObserved:{}", station(k % args.stations))}],
            "notification": {"format": "keyValues", "attributes": ["pm25"], "endpoint": {"uri": sink_url}},
        });
        let res = client.post(format!("{}/ngsi-ld/v1/subscriptions", args.url)).json(&sub).send().await?;
        if res.status() != 201 {
            bail!("subscription {k}: {} {}", res.status(), res.text().await.unwrap_or_default());
        }
    }
    if args.subscriptions > 0 {
        println!("{} subscriptions made, one station each, notifying {sink_url}", args.subscriptions);
    }
    let (start_stored, start_dead) = stored(&client, &args.url, &args.connector).await?;
    let publishers = args.publishers.max(1);
    if !args.stations.is_multiple_of(publishers) {
        bail!("--stations must be a multiple of --publishers (each station's readings from one publisher)");
    }
    // Readings a microsecond apart, the last one now: a run's readings are all newer than the
    // run before's, so a second run measures updates, not late readings (history only).
    let base: jiff::Timestamp =
        jiff::Timestamp::now() - jiff::SignedDuration::from_micros(args.messages as i64);
    let wall = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..publishers {
        let c = publisher(&host, port, k).await?;
        let (prefix, stations, rate) = (args.topic_prefix.clone(), args.stations, args.rate);
        // Every publisher-th reading, so each station's readings all come from one publisher,
        // in order (a reading older than the station's last is history only, and notifies
        // nobody).
        let total = args.messages;
        let range = (k..total).step_by(publishers);
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            let each = if rate > 0 { publishers as f64 / rate as f64 } else { 0.0 };
            for (n, i) in range.enumerate() {
                let s = i % stations;
                // Each reading a microsecond after the one before: new, in order, per station.
                let ts = base + jiff::SignedDuration::from_micros(i as i64);
                let payload = json!({"pm25": (i % 500) as f64 / 10.0, "t": 20.5, "ts": ts.to_string(),
                                     "lon": 103.0 + (s % 100) as f64 * 0.01, "lat": 22.0 + (s / 100) as f64 * 0.01});
                let topic = format!("{prefix}/air/{}/data", station(s));
                if c.publish(topic, QoS::AtLeastOnce, false, payload.to_string()).await.is_err() {
                    return;
                }
                if each > 0.0 {
                    let due = Duration::from_secs_f64(each * (n + 1) as f64);
                    if let Some(wait) = due.checked_sub(started.elapsed()) {
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let published = wall.elapsed();
    println!(
        "published {} readings from {} stations in {:.2} s ({:.0}/s, {} publishers)",
        args.messages,
        args.stations,
        published.as_secs_f64(),
        args.messages as f64 / published.as_secs_f64(),
        publishers
    );
    let target = start_stored + start_dead + args.messages as u64;
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let mut last = (start_stored, start_dead);
    let mut done_at = None;
    while Instant::now() < deadline {
        last = stored(&client, &args.url, &args.connector).await?;
        if last.0 + last.1 >= target {
            done_at = Some(wall.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let taken = (last.0 - start_stored) + (last.1 - start_dead);
    let Some(took) = done_at else {
        bail!("only {taken} of {} readings taken within {} s", args.messages, args.timeout_secs);
    };
    println!(
        "ingested {} readings in {:.2} s = {:.0} readings/s ({} dead letters)",
        taken,
        took.as_secs_f64(),
        taken as f64 / took.as_secs_f64(),
        last.1 - start_dead
    );
    if args.subscriptions > 0 {
        // Each reading of station s notifies the subscriptions k with k % stations == s.
        let per_station =
            |s: usize| (0..args.subscriptions).filter(|k| k % args.stations == s).count() as u64;
        let expected: u64 = (0..args.messages).map(|i| per_station(i % args.stations)).sum();
        let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
        let mut last_report = Instant::now();
        while notified.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if last_report.elapsed() >= Duration::from_secs(5) {
                println!(
                    "  … {} of {expected} notified entities at {:.1} s",
                    notified.load(Ordering::Relaxed),
                    wall.elapsed().as_secs_f64()
                );
                last_report = Instant::now();
            }
        }
        let at = wall.elapsed().as_secs_f64();
        let got = notified.load(Ordering::Relaxed);
        println!(
            "notifications: {} received carrying {got} of {expected} entities, the last at {at:.1} s ({:.0} entities/s from the first reading)",
            notifications.load(Ordering::Relaxed),
            got as f64 / at
        );
        if got < expected {
            bail!("only {got} of {expected} notified entities within {} s", args.timeout_secs);
        }
    }
    Ok(())
}
