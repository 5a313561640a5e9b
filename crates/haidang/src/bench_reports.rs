//! `haidang bench-reports`: citizen reports under load. Against a running server it sends
//! reports through the API from many connections at once (staff intake: the public side is
//! limited per address) and times the statistics; with `--seed` it first writes a year of
//! reports straight into the server's database (the rows the service would write, without HTTP
//! or checks), so the statistics can be timed at a province's multi-year size. Figures go to
//! docs/BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use haidang_core::audit::AuditKey;
use haidang_core::reports::model::{Channel, CitizenReport, ReportState, Urgency};
use jiff::{SignedDuration, Timestamp};
use rand::Rng;
use serde_json::{json, Value};

use crate::bench::{percentile, signed_in};
use crate::cli::ReportBenchArgs;

pub async fn run(args: ReportBenchArgs) -> anyhow::Result<()> {
    let client = signed_in(&args.url, &args.username, args.password.clone(), args.connections).await?;
    let categories: Vec<String> = client
        .get(format!("{}/api/v1/report-categories", args.url))
        .send()
        .await?
        .json::<Vec<Value>>()
        .await?
        .iter()
        // Categories that ask for a required extra field are left out: the load carries none.
        .filter(|c| !c["attributes"].as_array().is_some_and(|a| a.iter().any(|a| a["required"] == true)))
        .filter_map(|c| c["code"].as_str().map(String::from))
        .collect();
    if categories.is_empty() {
        bail!("the server has no report categories: start it with --demo");
    }
    if args.reports > 0 {
        intake(&args, &client, &categories).await?;
    }
    if let Some(url) = &args.seed_url {
        seed(url, args.seed, &categories).await?;
    }
    if args.stats_queries > 0 {
        statistics(&args, &client).await?;
    }
    if let Some(pid) = args.server_pid {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            for line in status.lines().filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS")) {
                println!("server {line}");
            }
        }
    }
    Ok(())
}

async fn intake(
    args: &ReportBenchArgs,
    client: &reqwest::Client,
    categories: &[String],
) -> anyhow::Result<()> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.connections {
        let (client, next, url, categories) =
            (client.clone(), next.clone(), args.url.clone(), categories.to_vec());
        let total = args.reports;
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let body = json!({
                    "category": categories[i % categories.len()],
                    "description": format!("Phản ánh thử tải số {i}: đèn đường không sáng."),
                    "address": format!("Số {} đường thử tải", i % 500),
                    "channel": "hotline",
                    "contact": {"name": "Người gọi thử", "phone": format!("09{:08}", i)},
                    "consent": "Liên hệ về phản ánh",
                });
                let t = Instant::now();
                let res = client.post(format!("{url}/api/v1/reports")).json(&body).send().await?;
                if res.status() != 201 {
                    bail!("report {i}: {} {}", res.status(), res.text().await.unwrap_or_default());
                }
                latencies.push(t.elapsed());
            }
            Ok::<Vec<Duration>, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.map_err(|e| anyhow!("worker: {e}"))??);
    }
    let took = started.elapsed();
    latencies.sort();
    println!(
        "intake: {} reports in {:.2} s = {:.0}/s over {} connections; latency p50 {:?} p99 {:?}",
        args.reports,
        took.as_secs_f64(),
        args.reports as f64 / took.as_secs_f64(),
        args.connections,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
    );
    Ok(())
}

/// A year of reports written straight into the tables, in the shape the service writes them.
async fn seed(url: &str, count: usize, categories: &[String]) -> anyhow::Result<()> {
    let store = haidang_store::Store::connect(
        url,
        haidang_store::StoreOptions {
            max_connections: 2,
            audit_key: AuditKey::new(vec![7u8; 32]).ok_or_else(|| anyhow!("key"))?,
            audit_head_file: None,
        },
    )
    .await?;
    let (first, orgs, units) = store.bulk_context("12").await?;
    let now = haidang_core::time::now();
    let started = Instant::now();
    const BATCH: usize = 400;
    let mut rng = rand::thread_rng();
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let mut rows = Vec::with_capacity(n);
        for k in 0..n {
            let i = done + k;
            let age = rng.gen_range(0..365 * 86_400);
            let received = now - SignedDuration::from_secs(age);
            // As in a province's history: the last month's reports in every state, older ones
            // closed or rejected but for a few still open (overdue) with an agency.
            let state = match (age < 30 * 86_400, rng.gen_range(0..100)) {
                (true, 0..=4) => ReportState::Received,
                (true, 5..=19) => ReportState::InProgress,
                (true, 20..=29) => ReportState::Answered,
                (_, 30..=37) => ReportState::Rejected,
                (false, 0) => ReportState::InProgress,
                _ => ReportState::Closed,
            };
            let with_agency = !matches!(state, ReportState::Received | ReportState::Rejected);
            let deadline = with_agency.then(|| received + SignedDuration::from_hours(rng.gen_range(48..240)));
            let answered = matches!(state, ReportState::Answered | ReportState::Closed)
                .then(|| received + SignedDuration::from_hours(rng.gen_range(2..300)));
            let closed = (state == ReportState::Closed)
                .then(|| answered.unwrap_or(received) + SignedDuration::from_hours(8));
            let report = CitizenReport {
                id: haidang_core::accounts::secret::new_id(),
                number: first + i as i64,
                tracking_hash: format!("bench-{}-{i}", first),
                category: categories[i % categories.len()].clone(),
                description: format!("Phản ánh thử tải số {i}"),
                public_description: None,
                lon: None,
                lat: None,
                address: Some("Đường thử tải".into()),
                unit_code: units.get(i % units.len().max(1)).cloned(),
                channel: Channel::ALL[i % Channel::ALL.len()],
                urgency: Urgency::Ordinary,
                public: true,
                attributes: vec![],
                media_urls: vec![],
                state,
                contact_sealed: None,
                contact_masked: None,
                consent: None,
                agency_id: if with_agency { orgs.get(i % orgs.len().max(1)).cloned() } else { None },
                deadline_at: deadline,
                paused_at: None,
                escalated_at: None,
                reject_reason: None,
                answer: answered.map(|_| "Đã xử lý".to_string()),
                answered_at: answered,
                closed_at: closed,
                published_at: closed,
                merged_into: None,
                rating: (closed.is_some() && i % 2 == 0).then(|| (i % 5 + 1) as u8),
                rating_comment: None,
                personal_erased_at: None,
                received_at: received,
                updated_at: closed.or(answered).unwrap_or(received),
                version: 1,
            };
            rows.push(report);
        }
        store.bulk_insert_reports(&rows).await?;
        done += n;
        if done % 100_000 < BATCH {
            println!("seeded {done} reports ({:.0}/s)", done as f64 / started.elapsed().as_secs_f64());
        }
    }
    println!("seed: {count} reports in {:.1} s", started.elapsed().as_secs_f64());
    store.close().await;
    Ok(())
}

async fn statistics(args: &ReportBenchArgs, client: &reqwest::Client) -> anyhow::Result<()> {
    let from = (Timestamp::now() - SignedDuration::from_hours(24 * 366)).to_string();
    for by in ["all", "agency", "category", "unit", "channel"] {
        let mut times = Vec::new();
        let mut received = 0;
        for _ in 0..args.stats_queries {
            let t = Instant::now();
            let res = client
                .get(format!("{}/api/v1/reports/statistics?by={by}&from={from}", args.url))
                .send()
                .await?;
            if !res.status().is_success() {
                bail!("statistics by {by}: {} {}", res.status(), res.text().await.unwrap_or_default());
            }
            let body: Value = res.json().await?;
            times.push(t.elapsed());
            received = body["total"]["received"].as_i64().unwrap_or(0);
        }
        times.sort();
        println!(
            "statistics by {by} over {received} reports: p50 {:?} p99 {:?} ({} queries)",
            percentile(&times, 0.50),
            percentile(&times, 0.99),
            args.stats_queries
        );
    }
    Ok(())
}
