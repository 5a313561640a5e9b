//! `haidang bench-ingest`: the data hub's load generator, against a running server. It seeds
//! sensors with batch upserts of 1,000 (the batch figure), updates them one by one with
//! `PATCH /entities/{id}/attrs` over many keep-alive connections, then times `near` and `q`
//! queries among them. With `--ceiling-url` it also writes the same rows straight into a scratch
//! store through the repository (no HTTP, no validation): the ceiling the batch figure is
//! compared with. Figures go to docs/BENCHMARKS.md.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::bench::percentile;
use haidang_core::audit::{Actor, AuditEvent, AuditKey, Outcome};
use haidang_core::repo::{EntityChange, EntityRepository, EntityRow, EntityWrite, InstanceRow};
use rand::Rng;
use serde_json::{json, Value};

use crate::cli::IngestArgs;

const LON: (f64, f64) = (102.30, 103.98);
const LAT: (f64, f64) = (21.65, 22.85);
const CORE: &str = "<https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"";

pub(crate) fn id_of(i: usize) -> String {
    format!("urn:ngsi-ld:Sensor:bench-{i:07}")
}

fn sensor(i: usize, rng: &mut impl Rng) -> Value {
    json!({
        "id": id_of(i),
        "type": "Sensor",
        "temperature": {"type": "Property", "value": rng.gen_range(10.0..40.0_f64), "unitCode": "CEL"},
        "status": {"type": "Property", "value": if i.is_multiple_of(10) { "fault" } else { "ok" }},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [rng.gen_range(LON.0..LON.1), rng.gen_range(LAT.0..LAT.1)]}},
    })
}

pub(crate) fn report(name: &str, unit: &str, count: usize, mut latencies: Vec<Duration>, wall: Duration) {
    latencies.sort_unstable();
    println!(
        "{name}: {count} {unit} in {:.2} s = {:.0} {unit}/s; request latency p50 {:?}, p99 {:?}, max {:?}",
        wall.as_secs_f64(),
        count as f64 / wall.as_secs_f64().max(1e-9),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
    );
}

/// Runs `requests` calls of `call(i)` over `connections` tasks; returns latencies and failures.
pub(crate) async fn drive<F, Fut>(
    requests: usize,
    connections: usize,
    call: F,
) -> (Vec<Duration>, usize, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicUsize::new(0));
    let wall = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections.max(1) {
        let (call, next) = (call.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let t = Instant::now();
                if !call(i).await {
                    failed += 1;
                }
                latencies.push(t.elapsed());
            }
            (latencies, failed)
        }));
    }
    let mut all = Vec::with_capacity(requests);
    let mut failed = 0;
    for t in tasks {
        if let Ok((l, f)) = t.await {
            all.extend(l);
            failed += f;
        }
    }
    (all, failed, wall.elapsed())
}

pub async fn run(args: IngestArgs) -> anyhow::Result<()> {
    let client =
        crate::bench::signed_in(&args.url, &args.username, args.password.clone(), args.connections).await?;
    let url = Arc::new(args.url.clone());

    // 1. Batch upsert of 1,000 per request: the seed, then once more as updates.
    let batches = args.entities.div_ceil(args.batch);
    let passes: &[&str] = if args.queries_only { &[] } else { &["create", "update"] };
    for pass in passes {
        let bodies: Arc<Vec<String>> = Arc::new({
            let mut rng = rand::thread_rng();
            (0..batches)
                .map(|b| {
                    let items: Vec<Value> = (b * args.batch..((b + 1) * args.batch).min(args.entities))
                        .map(|i| sensor(i, &mut rng))
                        .collect();
                    Value::Array(items).to_string()
                })
                .collect()
        });
        let (c, u, b) = (client.clone(), url.clone(), bodies.clone());
        let (lat, failed, wall) = drive(batches, args.batch_connections, move |i| {
            let (c, u, b) = (c.clone(), u.clone(), b.clone());
            async move {
                let body = b.get(i).cloned().unwrap_or_default();
                c.post(format!("{u}/ngsi-ld/v1/entityOperations/upsert"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
            }
        })
        .await;
        report(
            &format!(
                "batch upsert ({pass}), {} per request, {} connections",
                args.batch, args.batch_connections
            ),
            "entities",
            args.entities,
            lat,
            wall,
        );
        if failed > 0 {
            bail!("{failed} batch requests failed");
        }
    }

    // 2. One attribute of one entity per request.
    let (c, u, n) = (client.clone(), url.clone(), args.entities);
    let patches = if args.queries_only { 0 } else { args.patches };
    let (lat, failed, wall) = drive(patches, args.connections, move |i| {
        let (c, u) = (c.clone(), u.clone());
        async move {
            let id = id_of((i * 7919) % n);
            let v = 10.0 + (i % 300) as f64 / 10.0;
            c.patch(format!("{u}/ngsi-ld/v1/entities/{id}/attrs"))
                .header("content-type", "application/json")
                .header("link", CORE)
                .body(json!({"temperature": {"type": "Property", "value": v, "unitCode": "CEL"}}).to_string())
                .send()
                .await
                .map(|r| r.status() == reqwest::StatusCode::NO_CONTENT)
                .unwrap_or(false)
        }
    })
    .await;
    if patches > 0 {
        report(
            &format!("PATCH /entities/{{id}}/attrs, {} connections", args.connections),
            "updates",
            patches,
            lat,
            wall,
        );
    }
    if failed > 0 {
        bail!("{failed} PATCH requests failed");
    }

    // 3. near within 1 km, and a q on an attribute.
    for (name, make) in [
        (
            "near;maxDistance==1000 (limit 20)",
            Box::new(|rng: &mut rand::rngs::ThreadRng| {
                format!(
                    "type=Sensor&georel=near;maxDistance==1000&geometry=Point&coordinates=[{},{}]",
                    rng.gen_range(LON.0..LON.1),
                    rng.gen_range(LAT.0..LAT.1)
                )
            }) as Box<dyn Fn(&mut rand::rngs::ThreadRng) -> String>,
        ),
        (
            "q=temperature>X (limit 20)",
            Box::new(|rng: &mut rand::rngs::ThreadRng| {
                format!("type=Sensor&q=temperature>{:.2}", rng.gen_range(39.0..39.99_f64))
            }),
        ),
    ] {
        let queries: Arc<Vec<String>> = Arc::new({
            let mut rng = rand::thread_rng();
            (0..args.queries).map(|_| make(&mut rng)).collect()
        });
        let (c, u, q) = (client.clone(), url.clone(), queries.clone());
        let (lat, failed, wall) = drive(args.queries, args.query_connections, move |i| {
            let (c, u, q) = (c.clone(), u.clone(), q.clone());
            async move {
                let query = q.get(i).cloned().unwrap_or_default();
                c.get(format!("{u}/ngsi-ld/v1/entities?{query}"))
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
            }
        })
        .await;
        report(
            &format!(
                "GET /entities {name} among {} entities, {} connections",
                args.entities, args.query_connections
            ),
            "queries",
            args.queries,
            lat,
            wall,
        );
        if failed > 0 {
            bail!("{failed} queries failed");
        }
    }

    // 4. History: backfilled readings, lastN and hourly averages.
    crate::bench_temporal::run(&args, client.clone(), url.clone()).await?;

    if let Some(pid) = args.server_pid {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        for line in status.lines().filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS")) {
            println!("server memory: {line}");
        }
    }
    if let Some(ceiling) = &args.ceiling_url {
        ceiling_run(ceiling, args.entities, args.batch).await?;
    }
    Ok(())
}

/// The same rows written straight into the same tables, 1,000 per transaction, with their change
/// and audit records, in a scratch store: what the disk and the driver allow.
async fn ceiling_run(url: &str, entities: usize, batch: usize) -> anyhow::Result<()> {
    let store = haidang_store::Store::connect(
        url,
        haidang_store::StoreOptions {
            max_connections: 4,
            audit_key: AuditKey::new(vec![7u8; 32]).ok_or_else(|| anyhow::anyhow!("key"))?,
            audit_head_file: None,
        },
    )
    .await?;
    store.migrate().await?;
    let mut rng = rand::thread_rng();
    let now = haidang_core::time::now();
    // Each entity as the server writes it: its row, its change record and one history row
    // per attribute.
    type Written = (EntityRow, EntityChange, Vec<InstanceRow>);
    let rows: Vec<Vec<Written>> = (0..entities.div_ceil(batch))
        .map(|b| {
            (b * batch..((b + 1) * batch).min(entities))
                .map(|i| {
                    let value = sensor(i, &mut rng);
                    let body = value.to_string();
                    let history = ["temperature", "status", "location"]
                        .iter()
                        .map(|attr| InstanceRow {
                            seq: 0,
                            entity_id: id_of(i),
                            attr: format!("https://uri.etsi.org/ngsi-ld/default-context/{attr}"),
                            dataset_id: None,
                            at: now,
                            created_at: now,
                            body: value[*attr].to_string(),
                        })
                        .collect();
                    let row = EntityRow {
                        id: id_of(i),
                        types: vec!["https://uri.etsi.org/ngsi-ld/default-context/Sensor".into()],
                        owner_org: None,
                        created_at: now,
                        modified_at: now,
                        body: body.clone(),
                    };
                    let change = EntityChange {
                        entity_id: id_of(i),
                        op: "replace".into(),
                        at: now,
                        actor: None,
                        body,
                    };
                    (row, change, history)
                })
                .collect()
        })
        .collect();
    let audit = AuditEvent::new(&Actor::system(), "entity.batch", None, Outcome::Success);
    let wall = Instant::now();
    for chunk in &rows {
        let writes: Vec<EntityWrite> = chunk.iter().map(|(r, _, _)| EntityWrite::Put(r.clone())).collect();
        let changes: Vec<EntityChange> = chunk.iter().map(|(_, c, _)| c.clone()).collect();
        let history: Vec<InstanceRow> = chunk.iter().flat_map(|(_, _, h)| h.iter().cloned()).collect();
        let set = haidang_core::repo::WriteSet {
            writes,
            changes,
            history,
            audits: vec![audit.clone()],
            ..Default::default()
        };
        store.write_entities(&set).await?;
    }
    let wall = wall.elapsed();
    println!(
        "ceiling (repository, no HTTP, no validation, {batch} per transaction): {entities} entities in {:.2} s = {:.0} entities/s",
        wall.as_secs_f64(),
        entities as f64 / wall.as_secs_f64().max(1e-9)
    );
    store.close().await;
    Ok(())
}
