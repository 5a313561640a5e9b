//! `haidang bench-alerts`: the alert path under load, against a running server. It seeds
//! sensors, puts `--rules` rules in force (one per sensor, never met, so each reading is judged
//! by its rule), then drives single-attribute updates over many connections while a probe
//! sensor crosses a probe rule's line and back every 250 ms. Each crossing raises or resolves
//! an alert; the time from the probe update's accepted answer to the event on an open SSE
//! stream is the latency reported. Figures go to docs/BENCHMARKS.md.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use serde_json::json;

use crate::bench::percentile;
use crate::bench_ingest::{drive, id_of, report};
use crate::cli::AlertBenchArgs;

const CORE: &str = "<https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"";
const PROBE: &str = "urn:ngsi-ld:Sensor:bench-probe";

fn sensor(id: &str, value: f64) -> serde_json::Value {
    json!({"id": id, "type": "Sensor",
        "temperature": {"type": "Property", "value": value, "unitCode": "CEL"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [103.45, 22.39]}}})
}

async fn patch(c: &reqwest::Client, url: &str, id: &str, value: f64) -> bool {
    c.patch(format!("{url}/ngsi-ld/v1/entities/{id}/attrs"))
        .header("content-type", "application/json")
        .header("link", CORE)
        .body(json!({"temperature": {"type": "Property", "value": value, "unitCode": "CEL"}}).to_string())
        .send()
        .await
        .map(|r| r.status() == reqwest::StatusCode::NO_CONTENT)
        .unwrap_or(false)
}

pub async fn run(args: AlertBenchArgs) -> anyhow::Result<()> {
    let c = crate::bench::signed_in(&args.url, &args.username, args.password.clone(), args.connections + 2)
        .await?;
    let url = args.url.trim_end_matches('/').to_string();

    // 1. Sensors, then one rule each (the engine's index holds them all), then the probe rule.
    let mut all: Vec<serde_json::Value> = (0..args.sensors).map(|i| sensor(&id_of(i), 20.0)).collect();
    all.push(sensor(PROBE, 20.0));
    for chunk in all.chunks(1000) {
        let res = c
            .post(format!("{url}/ngsi-ld/v1/entityOperations/upsert"))
            .header("content-type", "application/json")
            .body(serde_json::Value::Array(chunk.to_vec()).to_string())
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("seeding sensors: {}", res.text().await.unwrap_or_default());
        }
    }
    let t = Instant::now();
    let have: Vec<serde_json::Value> =
        c.get(format!("{url}/api/v1/alert-rules")).send().await?.json().await?;
    let existing =
        have.iter().filter(|r| r["id"].as_str().is_some_and(|id| id.starts_with("bench-"))).count();
    let (cc, u) = (c.clone(), Arc::new(url.clone()));
    let (_, failed, _) = drive(args.rules.saturating_sub(existing), 8, move |i| {
        let (c, u) = (cc.clone(), u.clone());
        async move {
            let i = i + existing;
            let rule = json!({"id": format!("bench-{i:06}"), "name": format!("bench {i}"),
                "scope": {"entity_type": "Sensor", "entities": [id_of(i % args.sensors.max(1))]},
                "condition": {"kind": "threshold", "attribute": "temperature", "above": 1000.0},
                "severity": "minor", "alert_kind": "bench"});
            c.post(format!("{u}/api/v1/alert-rules"))
                .json(&rule)
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        }
    })
    .await;
    if failed > 0 {
        bail!("{failed} rules were refused");
    }
    let probe_rule = json!({"id": "bench-probe", "name": "bench probe above 50",
        "scope": {"entity_type": "Sensor", "entities": [PROBE]},
        "condition": {"kind": "threshold", "attribute": "temperature", "above": 50.0, "hysteresis": 1.0},
        "severity": "severe", "alert_kind": "bench", "auto_resolve": true});
    let res = c.post(format!("{url}/api/v1/alert-rules")).json(&probe_rule).send().await?;
    if !res.status().is_success() && res.status() != reqwest::StatusCode::CONFLICT {
        bail!("probe rule: {}", res.text().await.unwrap_or_default());
    }
    println!(
        "rules in force: {} bench rules (+ probe), saved in {:.1} s",
        args.rules,
        t.elapsed().as_secs_f64()
    );

    // 2. The stream, the load and the probe.
    let mut stream = c.get(format!("{url}/api/v1/live")).header("accept", "text/event-stream").send().await?;
    if !stream.status().is_success() {
        bail!("the live stream answered {}", stream.status());
    }
    let done = Arc::new(AtomicBool::new(false));
    let (cl, ul, n) = (c.clone(), Arc::new(url.clone()), args.sensors.max(1));
    let load = tokio::spawn(drive(args.updates, args.connections, move |i| {
        let (c, u) = (cl.clone(), ul.clone());
        async move { patch(&c, &u, &id_of((i * 7919) % n), 10.0 + (i % 300) as f64 / 10.0).await }
    }));
    let (cp, up, stop_probe) = (c.clone(), url.clone(), done.clone());
    let probe = tokio::spawn(async move {
        // (accepted at, raise?) for each crossing.
        let mut sent: Vec<(Instant, bool)> = Vec::new();
        let mut high = true;
        while !stop_probe.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if patch(&cp, &up, PROBE, if high { 60.0 } else { 20.0 }).await {
                sent.push((Instant::now(), high));
            }
            high = !high;
        }
        sent
    });
    let arrivals: Arc<std::sync::Mutex<Vec<(Instant, String)>>> = Arc::default();
    let seen = arrivals.clone();
    let reader = tokio::spawn(async move {
        let mut buf = String::new();
        while let Ok(Some(chunk)) = stream.chunk().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                if block.contains("bench-probe") {
                    let kind = block
                        .lines()
                        .find_map(|l| l.strip_prefix("event:"))
                        .unwrap_or_default()
                        .trim()
                        .to_string();
                    seen.lock().unwrap_or_else(|p| p.into_inner()).push((Instant::now(), kind));
                }
            }
        }
    });
    let wall = Instant::now();
    let (lat, failed, load_wall) = load.await.map_err(|e| anyhow!("{e}"))?;
    done.store(true, Ordering::Relaxed);
    let crossings = probe.await.map_err(|e| anyhow!("{e}"))?;
    // The last crossing's event is still on its way.
    tokio::time::sleep(Duration::from_secs(1)).await;
    reader.abort();
    let arrivals = arrivals.lock().unwrap_or_else(|p| p.into_inner()).clone();
    report(
        &format!("PATCH /entities/{{id}}/attrs with {} rules, {} connections", args.rules, args.connections),
        "updates",
        args.updates,
        lat,
        load_wall,
    );
    if failed > 0 {
        println!("{failed} updates failed");
    }
    // Pair each crossing with the next event of its kind after it.
    let mut latencies = Vec::new();
    let mut missing = 0;
    for (at, high) in &crossings {
        let want = if *high { "alert.raised" } else { "alert.resolved" };
        match arrivals.iter().find(|(t, k)| *t >= *at - Duration::from_millis(50) && k == want) {
            Some((t, _)) => latencies.push(t.saturating_duration_since(*at)),
            None => missing += 1,
        }
    }
    latencies.sort_unstable();
    println!(
        "update accepted → alert on the SSE stream: {} crossings in {:.1} s, p50 {:?}, p99 {:?}, max {:?}; {missing} without an event",
        latencies.len(),
        wall.elapsed().as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
    );
    if let Some(pid) = args.server_pid {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM")) {
                println!("server peak memory: {}", line.trim_start_matches("VmHWM:").trim());
            }
        }
    }
    Ok(())
}
