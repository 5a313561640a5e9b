//! The history part of `haidang bench-ingest`: past readings backfilled through the temporal
//! API, then `lastN=100` of one attribute and a 24-hour hourly average over 100 entities, timed.

use std::sync::Arc;

use anyhow::bail;
use rand::Rng;
use serde_json::{json, Value};

use crate::bench_ingest::{drive, id_of, report};
use crate::cli::IngestArgs;

/// The first backfilled reading; readings follow every 15 minutes.
const FIRST: &str = "2026-01-01T00:00:00Z";
const STEP_MINUTES: i64 = 15;
/// Instances per backfill request.
const PER_REQUEST: usize = 1000;

fn reading_time(k: usize) -> anyhow::Result<String> {
    let first: jiff::Timestamp = FIRST.parse()?;
    Ok((first + jiff::SignedDuration::from_mins(STEP_MINUTES * k as i64)).to_string())
}

pub async fn run(args: &IngestArgs, client: reqwest::Client, url: Arc<String>) -> anyhow::Result<()> {
    let per_entity = args.history_per_entity;
    if per_entity == 0 || args.entities == 0 {
        return Ok(());
    }
    if !args.queries_only {
        backfill(args, client.clone(), url.clone(), per_entity).await?;
    }
    let n = args.entities;
    let last_n: Arc<Vec<String>> = Arc::new({
        let mut rng = rand::thread_rng();
        (0..args.queries)
            .map(|_| {
                format!(
                    "/ngsi-ld/v1/temporal/entities/{}?attrs=temperature&lastN=100",
                    id_of(rng.gen_range(0..n))
                )
            })
            .collect()
    });
    let end = reading_time(96)?;
    let hourly: Arc<Vec<String>> = Arc::new({
        let mut rng = rand::thread_rng();
        (0..args.queries)
            .map(|_| {
                let from = rng.gen_range(0..n.saturating_sub(100).max(1));
                let ids: Vec<String> = (from..(from + 100).min(n)).map(id_of).collect();
                format!(
                    "/ngsi-ld/v1/temporal/entities?id={}&attrs=temperature&options=aggregatedValues&aggrMethods=avg\
                     &aggrPeriodDuration=PT1H&timerel=between&timeAt={FIRST}&endTimeAt={end}&limit=100",
                    ids.join(",")
                )
            })
            .collect()
    });
    for (name, paths) in [
        ("lastN=100 of one attribute", last_n),
        ("24 hourly averages of one attribute over 100 entities", hourly),
    ] {
        let (c, u, p) = (client.clone(), url.clone(), paths.clone());
        let (lat, failed, wall) = drive(args.queries, args.query_connections, move |i| {
            let (c, u, p) = (c.clone(), u.clone(), p.clone());
            async move {
                let path = p.get(i).cloned().unwrap_or_default();
                c.get(format!("{u}{path}")).send().await.map(|r| r.status().is_success()).unwrap_or(false)
            }
        })
        .await;
        report(
            &format!(
                "GET /temporal/entities {name}, {} instances stored, {} connections",
                n * (per_entity + 1),
                args.query_connections
            ),
            "queries",
            args.queries,
            lat,
            wall,
        );
        if failed > 0 {
            bail!("{failed} temporal queries failed");
        }
    }
    Ok(())
}

/// Past readings of `temperature`, 15 minutes apart, sent a thousand per request.
async fn backfill(
    args: &IngestArgs,
    client: reqwest::Client,
    url: Arc<String>,
    per_entity: usize,
) -> anyhow::Result<()> {
    let mut times = Vec::with_capacity(per_entity);
    for k in 0..per_entity {
        times.push(reading_time(k)?);
    }
    let times = Arc::new(times);
    let chunks_per_entity = per_entity.div_ceil(PER_REQUEST);
    let requests = args.entities * chunks_per_entity;
    let (c, u, t) = (client, url, times);
    let (lat, failed, wall) = drive(requests, args.batch_connections, move |i| {
        let (c, u, t) = (c.clone(), u.clone(), t.clone());
        async move {
            let (entity, chunk) = (i / chunks_per_entity, i % chunks_per_entity);
            let instances: Vec<Value> = t
                .iter()
                .enumerate()
                .skip(chunk * PER_REQUEST)
                .take(PER_REQUEST)
                .map(|(k, at)| json!({"type": "Property", "value": 10.0 + (k % 200) as f64 / 10.0, "observedAt": at}))
                .collect();
            c.post(format!("{u}/ngsi-ld/v1/temporal/entities/{}/attrs", id_of(entity)))
                .header("content-type", "application/json")
                .body(json!({"temperature": instances}).to_string())
                .send()
                .await
                .map(|r| r.status() == reqwest::StatusCode::NO_CONTENT)
                .unwrap_or(false)
        }
    })
    .await;
    report(
        &format!(
            "POST /temporal/entities/{{id}}/attrs, up to {PER_REQUEST} instances per request, {} connections",
            args.batch_connections
        ),
        "instances",
        args.entities * per_entity,
        lat,
        wall,
    );
    if failed > 0 {
        bail!("{failed} backfill requests failed");
    }
    Ok(())
}
