//! `haidang bench-indicators`: the monitoring indicators at a province's full size, 500
//! indicators × 39 units × 36 months. It first builds the same book in process and evaluates
//! every indicator, unit and month (the ceiling: no store, no HTTP); then, against a running
//! server, it loads the catalog, three years of figures (through the history import) and the
//! year's targets, and times what leaders and operators ask for: the group overview, an
//! indicator's commune breakdown, and the on-demand query over everything. Figures go to
//! docs/BENCHMARKS.md.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use haidang_core::indicators::book::{Book, Contents};
use haidang_core::indicators::catalog::{build, DefinitionSpec};
use haidang_core::indicators::evaluate::Evaluator;
use haidang_core::indicators::model::{Indicator, Target, ValueKey, ValueKind};
use haidang_core::indicators::period::{Period, PeriodKind};
use haidang_core::indicators::service::today;
use serde_json::{json, Value};

use crate::bench::{percentile, signed_in};
use crate::cli::IndicatorBenchArgs;

/// Every tenth indicator is a formula over two entered ones; the rest are entered by the communes.
fn is_derived(i: usize) -> bool {
    i % 10 == 9
}

fn code(i: usize) -> String {
    format!("bench.i{i:03}")
}

/// The catalog as the API takes it: entered indicators alternate sum and mean rollups, a third
/// cumulative, a fifth lower-is-better; derived ones divide their two predecessors.
fn specs(n: usize, from: &Period) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let derived = is_derived(i);
            let group = ["economy", "health", "education", "environment", "transport"][i % 5];
            let mut spec = json!({
                "code": code(i),
                "valid_from": from.to_string(),
                "name_vi": format!("Chỉ số thử tải {i}"),
                "group": group,
                "unit": if derived { "%" } else { "đơn vị" },
                "owner_org": "ioc",
                "frequency": "month",
                "level": if derived { "province" } else { "commune" },
                "rollup": if derived { "none" } else if i % 2 == 0 { "sum" } else { "mean" },
                "accumulation": if i % 3 == 0 && !derived { "cumulative" } else { "point_in_time" },
                "direction": if i % 5 == 0 { "lower_is_better" } else { "higher_is_better" },
            });
            if derived {
                spec["formula"] = json!(format!("{} / {} * 100", code(i - 1), code(i - 2)));
            }
            spec
        })
        .collect()
}

/// A plausible figure: a level per indicator and unit, a slow trend and a wobble.
fn figure(i: usize, u: usize, m: usize) -> f64 {
    let level = 100.0 + (i * 37 % 900) as f64 + (u * 13 % 50) as f64;
    let v = level * (1.0 + 0.004 * m as f64) * (1.0 + 0.05 * (((i + u + m) % 7) as f64 - 3.0) / 3.0);
    (v * 100.0).round() / 100.0
}

/// The 36 months to the last one ended.
fn months(n: usize) -> anyhow::Result<Vec<Period>> {
    let last = Period::containing(PeriodKind::Month, today()).previous();
    let mut out = vec![last];
    while out.len() < n {
        let p = out.last().map(Period::previous).ok_or_else(|| anyhow!("no month"))?;
        out.push(p);
    }
    out.reverse();
    Ok(out)
}

pub async fn run(args: IndicatorBenchArgs) -> anyhow::Result<()> {
    let months = months(args.months)?;
    let first = months.first().copied().ok_or_else(|| anyhow!("--months must be at least 1"))?;
    let specs = specs(args.indicators, &first);
    let communes: Vec<String> = (1..args.units).map(|u| format!("{:05}", 90000 + u)).collect();
    ceiling(&specs, &communes, &months)?;
    if args.ceiling_only {
        return Ok(());
    }
    against_server(&args, &specs, &months).await
}

/// The same book in memory, evaluated cell by cell: what the evaluation itself costs.
fn ceiling(specs: &[Value], communes: &[String], months: &[Period]) -> anyhow::Result<()> {
    let indicators: Vec<Indicator> = specs
        .iter()
        .map(|s| {
            let spec: DefinitionSpec = serde_json::from_value(s.clone())?;
            let def = build(&spec, None, "ioc".into(), 1, "bench").map_err(|e| anyhow!("{e}"))?;
            Ok(Indicator { code: def.code.clone(), versions: vec![def], retired: false })
        })
        .collect::<anyhow::Result<_>>()?;
    let mut figures = Vec::new();
    for (i, _) in specs.iter().enumerate().filter(|(i, _)| !is_derived(*i)) {
        for (u, unit) in communes.iter().enumerate() {
            for (m, p) in months.iter().enumerate() {
                let key =
                    ValueKey { code: code(i), unit_code: unit.clone(), period: *p, kind: ValueKind::Actual };
                figures.push((key, figure(i, u, m)));
            }
        }
    }
    let year = today().year();
    let targets: Vec<Target> = (0..specs.len())
        .map(|i| Target {
            code: code(i),
            year,
            unit_code: "12".into(),
            value: 1000.0,
            baseline: None,
            source: String::new(),
            set_by: "bench".into(),
            set_at: haidang_core::time::now(),
        })
        .collect();
    let n_figures = figures.len();
    let started = Instant::now();
    let book = Book::new(Contents {
        province: "12".into(),
        communes: communes.to_vec(),
        indicators,
        targets,
        figures,
        successions: vec![],
        this_year: year,
    });
    let built = started.elapsed();
    let started = Instant::now();
    let ev = Evaluator::new(&book);
    let mut evaluated = 0usize;
    let mut with_status = 0usize;
    for ind in book.indicators() {
        for unit in &book.units {
            for p in months {
                if let Some(e) = ev.evaluate(&ind.code, unit, p) {
                    evaluated += 1;
                    with_status += usize::from(e.target.is_some());
                }
            }
        }
    }
    let took = started.elapsed();
    println!(
        "ceiling (in process): book of {} indicators, {} units, {} months, {n_figures} figures built in {} ms",
        specs.len(),
        book.units.len(),
        months.len(),
        built.as_millis()
    );
    println!(
        "ceiling (in process): {evaluated} evaluations ({with_status} against a target) in {} ms = {:.0} evaluations/s",
        took.as_millis(),
        evaluated as f64 / took.as_secs_f64().max(1e-9)
    );
    if evaluated != specs.len() * book.units.len() * months.len() {
        bail!("some cells were not evaluated: {evaluated}");
    }
    Ok(())
}

async fn checked(res: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    let status = res.status();
    let text = res.text().await?;
    if !status.is_success() {
        bail!("{what}: {status} {}", text.chars().take(600).collect::<String>());
    }
    serde_json::from_str(&text).with_context(|| format!("{what}: not JSON"))
}

async fn seed(client: &reqwest::Client, url: &str, specs: &[Value], months: &[Period]) -> anyhow::Result<()> {
    let started = Instant::now();
    checked(client.post(format!("{url}/api/v1/indicators")).json(specs).send().await?, "catalog").await?;
    println!("seed: {} indicators created in {} ms", specs.len(), started.elapsed().as_millis());
    let units = checked(client.get(format!("{url}/api/v1/units?kind=local")).send().await?, "units").await?;
    let communes: Vec<String> = units
        .as_array()
        .map(|list| list.iter().filter_map(|u| u["code"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    if communes.is_empty() {
        bail!("the server has no communes to report figures for (load the demo's units first)");
    }
    let started = Instant::now();
    let mut rows: Vec<Value> = Vec::new();
    let mut sent = 0usize;
    for (i, _) in specs.iter().enumerate().filter(|(i, _)| !is_derived(*i)) {
        for (u, unit) in communes.iter().enumerate() {
            for (m, p) in months.iter().enumerate() {
                rows.push(json!({"code": code(i), "unit_code": unit, "period": p.to_string(), "value": figure(i, u, m)}));
            }
        }
        // The server takes 2 MB per request: about 15,000 figures.
        if rows.len() >= 15_000 {
            sent += import(client, url, std::mem::take(&mut rows)).await?;
        }
    }
    if !rows.is_empty() {
        sent += import(client, url, rows).await?;
    }
    println!(
        "seed: {sent} figures imported in {:.1} s (for {} communes)",
        started.elapsed().as_secs_f64(),
        communes.len()
    );
    let started = Instant::now();
    let year = today().year();
    let targets: Vec<Value> =
        (0..specs.len()).map(|i| json!({"code": code(i), "year": year, "value": 1000})).collect();
    checked(client.put(format!("{url}/api/v1/indicators/targets")).json(&targets).send().await?, "targets")
        .await?;
    println!("seed: {} targets set in {:.1} s", targets.len(), started.elapsed().as_secs_f64());
    wait_for_view(client, url, started).await
}

/// Waits until the server's publisher job has written the KeyPerformanceIndicator entities
/// (their count steady for 5 s), so the timings below do not share the machine with it.
async fn wait_for_view(client: &reqwest::Client, url: &str, since: Instant) -> anyhow::Result<()> {
    let path = format!("{url}/ngsi-ld/v1/entities?type=KeyPerformanceIndicator&count=true&limit=0");
    let (mut last, mut steady_since) = (0u64, Instant::now());
    loop {
        let res = client.get(&path).send().await?;
        let count = res
            .headers()
            .get("NGSILD-Results-Count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_default();
        if count != last {
            (last, steady_since) = (count, Instant::now());
        } else if steady_since.elapsed() >= Duration::from_secs(5) {
            println!(
                "seed: the NGSI-LD view holds {count} KeyPerformanceIndicator entities, steady {:.0} s after the targets were sent",
                (steady_since - since).as_secs_f64()
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn import(client: &reqwest::Client, url: &str, rows: Vec<Value>) -> anyhow::Result<usize> {
    let body = json!({"source": "haidang bench-indicators", "values": rows});
    let done =
        checked(client.post(format!("{url}/api/v1/indicators/history")).json(&body).send().await?, "import")
            .await?;
    Ok(done["accepted"].as_u64().unwrap_or_default() as usize)
}

/// Times `repeat` GETs of `path`, printing latency percentiles and the response's size.
async fn timed(
    client: &reqwest::Client,
    url: &str,
    name: &str,
    path: &str,
    repeat: usize,
) -> anyhow::Result<()> {
    let mut latencies = Vec::with_capacity(repeat);
    let mut bytes = 0;
    for _ in 0..repeat.max(1) {
        let started = Instant::now();
        let res = client.get(format!("{url}{path}")).send().await?;
        let status = res.status();
        let body = res.bytes().await?;
        latencies.push(started.elapsed());
        if !status.is_success() {
            bail!(
                "{name}: {status} {}",
                String::from_utf8_lossy(&body).chars().take(600).collect::<String>()
            );
        }
        bytes = body.len();
    }
    latencies.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name}: {} requests, p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms, {:.1} MB each",
        latencies.len(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.95)),
        ms(percentile(&latencies, 1.0)),
        bytes as f64 / 1e6
    );
    Ok(())
}

async fn against_server(args: &IndicatorBenchArgs, specs: &[Value], months: &[Period]) -> anyhow::Result<()> {
    let url = args.url.trim_end_matches('/');
    let client = signed_in(url, &args.username, args.password.clone(), 4).await?;
    if !args.queries_only {
        seed(&client, url, specs, months).await?;
    }
    let (from, to) = match (months.first(), months.last()) {
        (Some(f), Some(t)) => (f.to_string(), t.to_string()),
        _ => bail!("no months"),
    };
    let last = to.clone();
    timed(
        &client,
        url,
        "group overview (every indicator at the province)",
        "/api/v1/indicators/overview",
        args.queries,
    )
    .await?;
    timed(
        &client,
        url,
        "one indicator's page data (its communes for the last month)",
        &format!("/api/v1/indicators/query?codes={}&communes=true&from={last}&to={last}", code(0)),
        args.queries,
    )
    .await?;
    timed(
        &client,
        url,
        "on-demand query: every indicator at the province over 36 months",
        &format!("/api/v1/indicators/query?from={from}&to={to}"),
        args.queries,
    )
    .await?;
    // The server answers at most 200,000 evaluations per query: the whole book in slices of
    // 9 months (500 × 39 × 9 = 175,500), one after the other.
    let started = Instant::now();
    let mut bytes = 0usize;
    for slice in months.chunks(9) {
        let (Some(a), Some(b)) = (slice.first(), slice.last()) else { continue };
        let res =
            client.get(format!("{url}/api/v1/indicators/query?communes=true&from={a}&to={b}")).send().await?;
        let status = res.status();
        let body = res.bytes().await?;
        if !status.is_success() {
            bail!(
                "whole book: {status} {}",
                String::from_utf8_lossy(&body).chars().take(600).collect::<String>()
            );
        }
        bytes += body.len();
    }
    println!(
        "on-demand query: every indicator, unit and month, in {} queries of 9 months: {:.0} ms in all, {:.0} MB of JSON",
        months.len().div_ceil(9),
        started.elapsed().as_secs_f64() * 1000.0,
        bytes as f64 / 1e6
    );
    if let Some(pid) = args.server_pid {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        for line in status.lines().filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS")) {
            println!("server memory: {line}");
        }
    }
    Ok(())
}
