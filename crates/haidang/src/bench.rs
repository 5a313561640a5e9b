//! `haidang bench`: a load generator for point → unit lookups. It measures the in-process index
//! alone (the ceiling: no HTTP, no auth), then the same lookups through a running server's API,
//! and prints both with latency percentiles. Figures go to docs/BENCHMARKS.md.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use haidang_core::units::{import_features, CodeList, UnitIndex};
use rand::Rng;

use crate::cli::BenchArgs;
use crate::reference;

/// Lai Châu's bounding box, where the random points fall.
const LON: (f64, f64) = (102.30, 103.98);
const LAT: (f64, f64) = (21.65, 22.85);

fn points(n: usize) -> Vec<(f64, f64)> {
    let mut rng = rand::thread_rng();
    (0..n).map(|_| (rng.gen_range(LON.0..LON.1), rng.gen_range(LAT.0..LAT.1))).collect()
}

/// A client signed in to the server at `url` (the password from standard input when not given),
/// keeping up to `connections` connections alive.
pub(crate) async fn signed_in(
    url: &str,
    username: &str,
    password: Option<String>,
    connections: usize,
) -> anyhow::Result<reqwest::Client> {
    let password = match password {
        Some(p) => p,
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text.trim().to_string()
        }
    };
    let client = reqwest::Client::builder().cookie_store(true).pool_max_idle_per_host(connections).build()?;
    let res = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    if !res.status().is_success() {
        bail!("sign-in failed: {} {}", res.status(), res.text().await.unwrap_or_default());
    }
    Ok(client)
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn report(name: &str, mut latencies: Vec<Duration>, wall: Duration) {
    latencies.sort_unstable();
    let n = latencies.len();
    println!(
        "{name}: {n} lookups in {:.2} s = {:.0}/s; latency p50 {:?}, p95 {:?}, p99 {:?}, max {:?}",
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64().max(1e-9),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
    );
}

/// The index alone on the demo data: provinces and Lai Châu's communes.
pub fn in_process(n: usize) -> anyhow::Result<()> {
    let codes = CodeList::parse(reference::UNIT_CODES_JSON).map_err(|e| anyhow!("{e}"))?;
    let from = reference::reorganisation_date();
    let mut units =
        import_features(reference::PROVINCES_GEOJSON, &codes, from).map_err(|e| anyhow!("{e}"))?;
    units.extend(
        import_features(reference::LAI_CHAU_COMMUNES_GEOJSON, &codes, from).map_err(|e| anyhow!("{e}"))?,
    );
    let started = Instant::now();
    let index = UnitIndex::build(&units).map_err(|e| anyhow!("{e}"))?;
    println!("index: {} units built in {:?}", index.len(), started.elapsed());
    let pts = points(n);
    let mut latencies = Vec::with_capacity(n);
    let mut found = 0usize;
    let wall = Instant::now();
    for (lon, lat) in &pts {
        let t = Instant::now();
        if index.lookup(*lon, *lat).is_some() {
            found += 1;
        }
        latencies.push(t.elapsed());
    }
    report("in-process index (ceiling)", latencies, wall.elapsed());
    println!("  {found} of {n} points fell inside a unit");
    Ok(())
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    in_process(args.requests)?;
    let client = signed_in(&args.url, &args.username, args.password.clone(), args.concurrency).await?;
    let pts = Arc::new(points(args.requests));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let wall = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (client, pts, next, url) = (client.clone(), pts.clone(), next.clone(), args.url.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((lon, lat)) = pts.get(i).copied() else { break };
                let t = Instant::now();
                let ok = client
                    .get(format!("{url}/api/v1/units/lookup?lon={lon}&lat={lat}"))
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                latencies.push(t.elapsed());
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    report(&format!("HTTP GET /api/v1/units/lookup, {} connections", args.concurrency), all, wall.elapsed());
    // The server's own measure of the index lookup (a summary in its metrics).
    let metrics = client.get(format!("{}/metrics", args.url)).send().await?.text().await?;
    for line in metrics.lines().filter(|l| l.starts_with("haidang_unit_lookup_seconds")) {
        println!("  server: {line}");
    }
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}
