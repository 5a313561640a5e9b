//! The demo's stations, alive: every interval each station that is not silent sends a reading
//! with the day's cycles (traffic peaks, street lights at dusk, warmer afternoons) and the
//! weather's events: a storm every six hours over one river, its rain at the weather stations
//! near it and the river rising past its alert, sometimes its danger level, then falling. The
//! first storm began forty minutes before the simulator, so the console has a river rising at
//! once. Readings go through the real MQTT path (a broker and a connector) when `demo.mqtt_url`
//! is set, otherwise straight to the hub as each provider's system.
//!
//! A reading is a pure function of the station, the time and the weather, so it can be tested.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use haidang_core::hub::ops::EntityOp;
use haidang_core::repo::OrgRepository;
use haidang_server::state::AppState;
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};

use crate::demo_stations::{entity_id, provider_of, provider_subject, Kind, Station, STATIONS};

/// Storms: one every six hours, two hours of rain over one river's catchment.
const STORM_EVERY: SignedDuration = SignedDuration::from_hours(6);
const STORM_RAIN: SignedDuration = SignedDuration::from_hours(2);
/// The rivers the storms fall on, in turn (station codes).
const STORM_RIVERS: [&str; 4] = ["tv-nam-na", "tv-nam-lum", "tv-nam-mu", "tv-song-da"];

/// The weather over the province: when the storms began (the first one 40 minutes before the
/// simulator started) and where each falls.
#[derive(Debug, Clone)]
pub struct Weather {
    pub first_storm: Option<Timestamp>,
    pub centres: Vec<(f64, f64)>,
}

impl Weather {
    pub fn calm() -> Weather {
        Weather { first_storm: None, centres: Vec::new() }
    }

    pub fn starting(at: Timestamp, places: &HashMap<&'static str, (f64, f64)>) -> Weather {
        Weather {
            first_storm: Some(at - SignedDuration::from_mins(40)),
            centres: STORM_RIVERS.iter().filter_map(|c| places.get(c).copied()).collect(),
        }
    }

    /// The storm in progress or last ended at `at`: (its centre, minutes since it began).
    fn storm(&self, at: Timestamp) -> Option<((f64, f64), f64)> {
        let first = self.first_storm?;
        if at < first || self.centres.is_empty() {
            return None;
        }
        let since = at.duration_since(first);
        let n = since.as_secs() / STORM_EVERY.as_secs();
        let began = first + SignedDuration::from_secs(n * STORM_EVERY.as_secs());
        let centre = self.centres[(n as usize) % self.centres.len()];
        Some((centre, at.duration_since(began).as_secs_f64() / 60.0))
    }

    /// How close a place is to the storm's centre: 1 there, nothing past about 40 km.
    fn nearness(&self, at: Timestamp, place: (f64, f64)) -> (f64, f64) {
        let Some(((lon, lat), minutes)) = self.storm(at) else { return (0.0, f64::INFINITY) };
        let dx = (place.0 - lon) * 103.0; // km per degree of longitude at 22° N
        let dy = (place.1 - lat) * 111.0;
        let km = (dx * dx + dy * dy).sqrt();
        ((1.0 - km / 40.0).max(0.0), minutes)
    }

    /// Rain in mm per hour at a place.
    pub fn rain(&self, at: Timestamp, place: (f64, f64)) -> f64 {
        let (near, minutes) = self.nearness(at, place);
        if minutes <= STORM_RAIN.as_secs_f64() / 60.0 {
            35.0 * near
        } else {
            0.0
        }
    }

    /// How far a river near the storm has risen, from 0 to 1 of its rise: up over 90 minutes,
    /// down over the following hours.
    pub fn rise(&self, at: Timestamp, place: (f64, f64)) -> f64 {
        let (near, minutes) = self.nearness(at, place);
        let up = (minutes / 90.0).min(1.0);
        let shape =
            if minutes <= 120.0 { up * up * (3.0 - 2.0 * up) } else { (-(minutes - 120.0) / 180.0).exp() };
        near * shape
    }
}

/// A small deterministic noise in [-1, 1) from a station and a tick.
fn noise(code: &str, tick: u64) -> f64 {
    let mut h: u64 = 1469598103934665603;
    for b in code.bytes().chain(tick.to_le_bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(1099511628211);
    }
    (h % 20_000) as f64 / 10_000.0 - 1.0
}

/// Hours since midnight in Vietnam.
fn local_hour(at: Timestamp) -> f64 {
    let z = at.to_zoned(haidang_core::time::local_tz());
    z.hour() as f64 + z.minute() as f64 / 60.0
}

fn prop(value: Value, at: &str) -> Value {
    json!({"type": "Property", "value": value, "observedAt": at})
}

fn prop_unit(value: f64, unit: &str, at: &str) -> Value {
    json!({"type": "Property", "value": (value * 10.0).round() / 10.0, "unitCode": unit, "observedAt": at})
}

/// What does not change: alert and danger levels, capacities, names of cameras.
pub fn fixed(s: &Station) -> Vec<(&'static str, Value)> {
    let p = |v: Value| json!({"type": "Property", "value": v});
    match s.kind {
        Kind::Flood => vec![
            ("alertLevel", p(json!(s.levels.1))),
            ("dangerLevel", p(json!(s.levels.2))),
            ("referenceLevel", p(json!(s.levels.0))),
            ("stationID", p(json!(s.code))),
        ],
        Kind::Camera => {
            vec![("cameraName", p(json!(s.name))), ("cameraUsage", p(json!("trafficMonitoring")))]
        }
        Kind::Shelter => vec![("category", p(json!(["shelter"]))), ("capacity", p(json!(300)))],
        Kind::Health => vec![("category", p(json!(["healthCentre"]))), ("capacity", p(json!(20)))],
        Kind::FirePost => vec![("category", p(json!(["fireStation"])))],
        _ => Vec::new(),
    }
}

/// A station's reading at `at` (NGSI-LD normalized, names in the core context): `tick` varies the
/// noise from one reading to the next. `place` is where it is, for the weather.
pub fn reading(s: &Station, at: Timestamp, w: &Weather, tick: u64) -> Value {
    reading_at(s, at, w, tick, (0.0, 0.0))
}

pub fn reading_at(s: &Station, at: Timestamp, w: &Weather, tick: u64, place: (f64, f64)) -> Value {
    let t = at.to_string();
    let hour = local_hour(at);
    let n = noise(s.code, tick);
    let rain = w.rain(at, place);
    let mut body = json!({"id": entity_id(s), "type": s.kind.entity_type()});
    let mut put = |k: &str, v: Value| body[k] = v;
    match s.kind {
        Kind::Air => {
            // Morning and evening peaks of traffic and cooking fires; rain washes the air.
            let peaks = (-((hour - 7.5) / 1.5).powi(2)).exp() + (-((hour - 19.0) / 2.0).powi(2)).exp();
            let washed = if rain > 2.0 { 0.5 } else { 1.0 };
            let mut pm25 = ((22.0 + 30.0 * peaks) * washed + 4.0 * n).max(1.0);
            // Now and then a burning field nearby (an outlier), and rarely a faulty sensor.
            if tick % 97 == 13 {
                pm25 = 180.0 + 20.0 * n;
            }
            if tick % 211 == 7 {
                pm25 = 2000.0;
            }
            put("dateObserved", prop(json!(t), &t));
            put("pm25", prop_unit(pm25, "GQ", &t));
            put("pm10", prop_unit(pm25 * 1.6 + 3.0 * n, "GQ", &t));
            put("no2", prop_unit(12.0 + 10.0 * peaks + 2.0 * n, "GQ", &t));
        }
        Kind::Weather => {
            // Coolest at 5 am, warmest at 2 pm; the mountains are cooler.
            let day = ((hour - 8.0) / 24.0 * std::f64::consts::TAU).sin();
            let temperature = 17.0 + 6.0 * day + 0.8 * n - if rain > 0.0 { 2.5 } else { 0.0 };
            put("dateObserved", prop(json!(t), &t));
            put("temperature", prop_unit(temperature, "CEL", &t));
            put(
                "relativeHumidity",
                prop(
                    json!(((0.78 - 0.12 * day + 0.03 * n + rain / 200.0).min(1.0) * 100.0).round() / 100.0),
                    &t,
                ),
            );
            put("precipitation", prop_unit(rain + if n > 0.9 { 0.4 } else { 0.0 }, "MMT", &t));
        }
        Kind::Flood => {
            let (base, alert, danger) = s.levels;
            let level = base + (danger - base) * 1.15 * w.rise(at, place) + 0.03 * n;
            let status = if level >= danger {
                "Danger"
            } else if level >= alert {
                "Alert"
            } else {
                "Normal"
            };
            put("observationDateTime", prop(json!(t), &t));
            put("currentLevel", prop_unit(level * 10.0 / 10.0, "MTR", &t));
            put("floodLevelStatus", prop(json!(status), &t));
        }
        Kind::Traffic => {
            let rush = (-((hour - 7.0) / 1.2).powi(2)).exp() + (-((hour - 17.0) / 1.5).powi(2)).exp();
            let night = if !(5.0..22.0).contains(&hour) { 0.2 } else { 1.0 };
            let intensity = ((180.0 + 900.0 * rush) * night * (1.0 + 0.1 * n)).round();
            put("dateObserved", prop(json!(t), &t));
            put("intensity", prop(json!(intensity), &t));
            put("averageVehicleSpeed", prop_unit((52.0 - intensity / 35.0).max(8.0), "KMH", &t));
            put("congested", prop(json!(intensity > 850.0), &t));
        }
        Kind::Light => {
            let on = !(6.0..18.0).contains(&hour);
            let broken = s.code.ends_with("03");
            put("status", prop(json!(if broken { "defectiveLamp" } else { "ok" }), &t));
            put("powerState", prop(json!(if on && !broken { "on" } else { "off" }), &t));
            put("illuminanceLevel", prop(json!(if on && !broken { 0.9 } else { 0.0 }), &t));
        }
        Kind::Camera => {
            put("on", prop(json!(true), &t));
        }
        Kind::Shelter => {
            // People come when the river near them rises.
            let people = (300.0 * w.rise(at, place)).round();
            put("occupancy", prop(json!(people), &t));
        }
        Kind::Health | Kind::FirePost => {
            put("occupancy", prop(json!((3.0 + 2.0 * n).round().max(0.0)), &t));
        }
    }
    body
}

/// The same reading as the key-values payload a device sends over MQTT.
fn payload(normalized: &Value, at: Timestamp) -> Value {
    let mut out = serde_json::Map::new();
    if let Value::Object(o) = normalized {
        for (k, v) in o {
            match v.get("value") {
                Some(inner) => out.insert(k.clone(), inner.clone()),
                None => out.insert(k.clone(), v.clone()),
            };
        }
    }
    out.insert("ts".into(), json!(at.to_string()));
    Value::Object(out)
}

/// The connector that takes the demo's MQTT readings (`demo.mqtt_url`), as an operator's
/// configuration would name it.
pub fn connector_config(url: &str) -> haidang_server::config::mqtt::ConnectorConfig {
    use haidang_server::config::mqtt::{ConnectorConfig, TopicConfig};
    let topic = |kind: Kind, time: &str| TopicConfig {
        filter: format!("laichau/{}/+/data", kind.topic()),
        format: "keyValues".into(),
        observed_at: "ts".into(),
        time_attribute: time.into(),
        ..Default::default()
    };
    ConnectorConfig {
        name: "demo-lai-chau".into(),
        url: url.into(),
        account: "operator".into(),
        topics: vec![
            topic(Kind::Air, "dateObserved"),
            topic(Kind::Weather, "dateObserved"),
            topic(Kind::Traffic, "dateObserved"),
            topic(Kind::Flood, "observationDateTime"),
            topic(Kind::Light, ""),
            topic(Kind::Camera, ""),
            topic(Kind::Shelter, ""),
            topic(Kind::Health, ""),
            topic(Kind::FirePost, ""),
        ],
        ..Default::default()
    }
}

/// One river gauge reads `level` (metres above sea level) at `at`, sent as its department's
/// system sends it: for drills and tests of the flood rules.
pub async fn send_level(state: &AppState, code: &str, level: f64, at: Timestamp) -> anyhow::Result<()> {
    let s = STATIONS
        .iter()
        .find(|s| s.code == code && s.kind == Kind::Flood)
        .ok_or_else(|| anyhow!("no river gauge '{code}'"))?;
    let ctx = haidang_core::hub::contexts::core_arc();
    let body = json!({
        "id": entity_id(s),
        "type": "FloodMonitoring",
        "currentLevel": { "type": "Property", "value": level, "unitCode": "MTR", "observedAt": at.to_string() },
    });
    let e = haidang_core::hub::entity::parse_entity(&body).map_err(|e| anyhow!("reading {code}: {e}"))?;
    let provider = provider_of(s.kind, s.commune);
    let org =
        state.store.get_org_by_code(&provider).await?.ok_or_else(|| anyhow!("no organisation {provider}"))?;
    let subject = provider_subject(&org.id, &provider);
    let ops = vec![EntityOp::Ingest(e.map_names(&|x| ctx.expand(x)))];
    for r in state.hub.write(&subject, "entity.ingest", ops, ctx.clone()).await.map_err(|e| anyhow!("{e}"))? {
        r.map_err(|e| anyhow!("reading {code} refused: {e}"))?;
    }
    Ok(())
}

/// Sends one round of readings; answers how many.
pub async fn tick(
    state: &AppState,
    weather: &Weather,
    places: &HashMap<&'static str, (f64, f64)>,
    n: u64,
    mqtt: Option<&rumqttc::AsyncClient>,
) -> anyhow::Result<usize> {
    let at = Timestamp::now();
    let ctx = haidang_core::hub::contexts::core_arc();
    let mut by_provider: HashMap<String, Vec<EntityOp>> = HashMap::new();
    let mut sent = 0;
    for s in STATIONS.iter().filter(|s| !s.silent) {
        let place = places.get(s.code).copied().unwrap_or_default();
        let body = reading_at(s, at, weather, n, place);
        if let Some(client) = mqtt {
            let topic = format!("laichau/{}/{}/data", s.kind.topic(), s.code);
            client
                .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload(&body, at).to_string())
                .await
                .map_err(|e| anyhow!("publish: {e}"))?;
        } else {
            let e = haidang_core::hub::entity::parse_entity(&body)
                .map_err(|e| anyhow!("reading {}: {e}", s.code))?;
            by_provider
                .entry(provider_of(s.kind, s.commune))
                .or_default()
                .push(EntityOp::Ingest(e.map_names(&|x| ctx.expand(x))));
        }
        sent += 1;
    }
    for (code, ops) in by_provider {
        let Some(org) = state.store.get_org_by_code(&code).await? else { continue };
        let subject = provider_subject(&org.id, &code);
        let results =
            state.hub.write(&subject, "entity.ingest", ops, ctx.clone()).await.map_err(|e| anyhow!("{e}"))?;
        for r in results {
            if let Err(e) = r {
                tracing::debug!(error = %e, "a simulated reading was refused (counted against its dataset)");
            }
        }
    }
    Ok(sent)
}

/// Runs until `stop` turns true: a round at once, then one every `every`.
pub async fn run(
    state: Arc<AppState>,
    every: Duration,
    mqtt_url: Option<String>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let places = crate::demo_stations::positions(&state).await?;
    let weather = Weather::starting(Timestamp::now(), &places);
    let client = match mqtt_url {
        Some(url) => Some(mqtt_client(&url)?),
        None => None,
    };
    let mut n = 0u64;
    loop {
        match tick(&state, &weather, &places, n, client.as_ref()).await {
            Ok(sent) => tracing::debug!(sent, "demo readings sent"),
            Err(e) => tracing::warn!(error = %e, "demo readings not sent"),
        }
        n += 1;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return Ok(()),
        }
    }
}

pub fn mqtt_client(url: &str) -> anyhow::Result<rumqttc::AsyncClient> {
    let parsed = url::Url::parse(url).map_err(|e| anyhow!("demo.mqtt_url: {e}"))?;
    let host = parsed.host_str().ok_or_else(|| anyhow!("demo.mqtt_url has no host"))?.to_string();
    let mut options = rumqttc::MqttOptions::new(
        format!("haidang-demo-{}", std::process::id()),
        host,
        parsed.port().unwrap_or(1883),
    );
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut events) = rumqttc::AsyncClient::new(options, 1000);
    tokio::spawn(async move {
        loop {
            if let Err(e) = events.poll().await {
                tracing::warn!(error = %e, "demo MQTT publisher");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    });
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn river() -> &'static Station {
        STATIONS.iter().find(|s| s.code == "tv-nam-na").unwrap()
    }

    #[test]
    fn a_river_under_the_storm_rises_past_its_alert_then_falls() {
        let start: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let place = (103.27, 22.5);
        let places = HashMap::from([("tv-nam-na", place), ("tv-nam-lum", (102.9, 22.4))]);
        let w = Weather::starting(start, &places);
        let level = |minutes: i64| {
            let at = start + SignedDuration::from_mins(minutes);
            reading_at(river(), at, &w, 0, place)["currentLevel"]["value"].as_f64().unwrap()
        };
        let (base, alert, danger) = river().levels;
        // The storm began 40 minutes before: rising already, past the alert within the hour,
        // past the danger level at its height, back under the alert hours later.
        assert!(level(0) > base + 0.5 && level(0) < alert, "{}", level(0));
        assert!(level(45) >= alert, "{}", level(45));
        assert!(level(80) >= danger, "{}", level(80));
        assert!(level(600) < alert, "{}", level(600));
        let status = |m: i64| {
            reading_at(river(), start + SignedDuration::from_mins(m), &w, 0, place)["floodLevelStatus"]
                ["value"]
                .clone()
        };
        assert_eq!(status(80), "Danger");
        // The next storm falls on another river; this one stays calm.
        assert!(level(6 * 60 + 80) < base + 0.5);
    }

    #[test]
    fn street_lights_are_on_at_night_and_traffic_peaks_at_rush_hour() {
        let light = STATIONS.iter().find(|s| s.code == "den-le-loi-01").unwrap();
        let counter = STATIONS.iter().find(|s| s.code == "dx-o-quy-ho").unwrap();
        let vn = |h: &str| format!("2026-12-01T{h}:00+07:00").parse::<Timestamp>().unwrap();
        let calm = Weather::calm();
        assert_eq!(reading(light, vn("20:00"), &calm, 1)["powerState"]["value"], "on");
        assert_eq!(reading(light, vn("12:00"), &calm, 1)["powerState"]["value"], "off");
        let flow = |h: &str| reading(counter, vn(h), &calm, 1)["intensity"]["value"].as_f64().unwrap();
        assert!(flow("07:00") > 3.0 * flow("03:00"), "{} {}", flow("07:00"), flow("03:00"));
    }
}
