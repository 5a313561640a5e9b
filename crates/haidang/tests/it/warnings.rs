//! Public warnings on SQLite and PostgreSQL: an operator drafts a flood warning for two
//! communes and a drawn area; nothing is out until a supervisor approves it; it then shows on
//! the portal, as a CAP 1.2 document and in the Atom feed; an update goes out as a CAP Update
//! and a cancellation as a Cancel, each referencing what went before; bad input is refused by
//! name.

use jiff::{SignedDuration, Timestamp};
use quick_xml::events::Event;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{backends, get, send, TestApp};
use crate::incidents::incidents_app;

async fn post(c: &reqwest::Client, app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let res = send(c, app, Method::POST, path, Some(body)).await;
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

/// Each element's path ("alert/info/area/geocode/value") with its text, in the order they end.
fn elements(xml: &str) -> Vec<(String, String)> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => stack.push((e.local_name().as_ref().to_string(), String::new())),
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.1.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&r).unwrap().to_string(),
                };
                if let Some(top) = stack.last_mut() {
                    top.1.push_str(&c);
                }
            }
            Event::End(_) => {
                let path = stack.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join("/");
                let (_, text) = stack.pop().unwrap();
                if !text.trim().is_empty() {
                    out.push((path, text));
                }
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}

fn all<'a>(els: &'a [(String, String)], path: &str) -> Vec<&'a str> {
    els.iter().filter(|(p, _)| p == path).map(|(_, t)| t.as_str()).collect()
}

async fn text(c: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String, String) {
    let res = c.get(app.url(path)).send().await.unwrap();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (res.status().as_u16(), ct, res.text().await.unwrap())
}

fn warning(expires: Timestamp) -> Value {
    json!({
        "event_vi": "Lũ quét, sạt lở đất", "event_en": "Flash flood and landslide",
        "headline_vi": "Cảnh báo lũ quét và sạt lở đất tại xã Pa Tần",
        "headline_en": "Flash flood and landslide warning for Pa Tan commune",
        "description_vi": "Mực nước suối Nậm Na đã vượt mức nguy hiểm 188 m và tiếp tục lên.",
        "description_en": "The Nam Na stream is above its danger level of 188 m and rising.",
        "instruction_vi": "Không qua ngầm tràn; di chuyển đến điểm sơ tán trường THCS Pa Tần.",
        "categories": ["Met", "Geo"], "urgency": "Immediate", "severity": "Extreme", "certainty": "Observed",
        "communes": ["03503"],
        "polygon": [[103.40, 22.45], [103.55, 22.45], [103.55, 22.55], [103.40, 22.55]],
        "expires": expires.to_string()
    })
}

#[tokio::test]
async fn a_warning_goes_out_only_when_approved_and_is_published_in_cap_and_the_atom_feed() {
    for backend in backends() {
        let app = incidents_app(backend).await;
        let operator = app.signed_in("operator").await;
        let supervisor = app.signed_in("supervisor").await;
        let public = app.client();
        let expires = Timestamp::now() + SignedDuration::from_hours(12);

        // Refused by name, nothing kept.
        for (k, v, field) in [
            ("communes", json!(["99999"]), "communes"),
            ("polygon", json!([[103.4, 22.4], [103.5, 22.5]]), "polygon"),
            ("headline_vi", json!(""), "headline_vi"),
            ("urgency", json!("Soon"), "warning"),
        ] {
            let mut bad = warning(expires);
            bad[k] = v;
            let (s, body) = post(&operator, &app, "/api/v1/warnings", bad).await;
            assert_eq!((s, body["field"].as_str()), (422, Some(field)), "{k}: {body}");
        }

        let (s, w) = post(&operator, &app, "/api/v1/warnings", warning(expires)).await;
        assert_eq!(s, 201, "{w}");
        let id = w["id"].as_str().unwrap().to_string();
        let steps = format!("/api/v1/warnings/{id}/steps");
        let (s, _) = post(&supervisor, &app, &steps, json!({"action": "approve"})).await;
        assert_eq!(s, 409, "a draft is submitted before it is approved");
        let (s, _) = post(&operator, &app, &steps, json!({"action": "submit"})).await;
        assert_eq!(s, 200);
        let (_, out) = get(&public, &app, "/api/v1/public/warnings").await;
        assert_eq!(out, json!([]), "nothing is out before a supervisor approves it");
        let (s, _) = post(&operator, &app, &steps, json!({"action": "approve"})).await;
        assert_eq!(s, 403, "an operator does not approve");
        let (s, w) = post(&supervisor, &app, &steps, json!({"action": "approve"})).await;
        assert_eq!((s, w["state"].as_str()), (200, Some("published")), "{w}");
        let first = w["sent"][0]["identifier"].as_str().unwrap().to_string();

        // The portal, the CAP document and the feed all have it.
        let (_, _, portal) = text(&public, &app, "/portal").await;
        assert!(
            portal.contains("Cảnh báo lũ quét và sạt lở đất tại xã Pa Tần"),
            "the portal's home shows it"
        );
        let (_, out) = get(&public, &app, "/api/v1/public/warnings").await;
        assert_eq!(out[0]["headline"], "Cảnh báo lũ quét và sạt lở đất tại xã Pa Tần");
        let (s, ct, xml) = text(&public, &app, &format!("/cap/{first}")).await;
        assert_eq!(s, 200);
        assert!(ct.starts_with("application/cap+xml"), "{ct}");
        let els = elements(&xml);
        assert_eq!(all(&els, "alert/identifier"), vec![first.as_str()]);
        assert_eq!(all(&els, "alert/msgType"), vec!["Alert"]);
        assert_eq!(all(&els, "alert/status"), vec!["Actual"]);
        assert_eq!(all(&els, "alert/scope"), vec!["Public"]);
        assert_eq!(all(&els, "alert/info/language"), vec!["vi-VN", "en-US"]);
        assert_eq!(all(&els, "alert/info/severity"), vec!["Extreme", "Extreme"]);
        assert_eq!(all(&els, "alert/info/area/geocode/value"), vec!["03503", "03503"]);
        let polygon = all(&els, "alert/info/area/polygon")[0];
        let pairs: Vec<&str> = polygon.split(' ').collect();
        assert!(pairs.len() >= 4 && pairs.first() == pairs.last(), "a closed ring: {polygon}");
        assert!(pairs[0].starts_with("22.45,103.4"), "latitude first in CAP: {polygon}");
        assert!(all(&els, "alert/sent")[0].ends_with("+07:00"));
        let (_, ct, feed) = text(&public, &app, "/cap/alerts.atom").await;
        assert!(ct.starts_with("application/atom+xml"), "{ct}");
        let feed_els = elements(&feed);
        assert_eq!(all(&feed_els, "feed/entry/title"), vec!["Cảnh báo lũ quét và sạt lở đất tại xã Pa Tần"]);

        // An update: the version out stays out until the supervisor approves the new one.
        let mut changed = warning(expires + SignedDuration::from_hours(6));
        changed["headline_vi"] = json!("Cảnh báo lũ quét tại xã Pa Tần và xã Nậm Hàng");
        changed["communes"] = json!(["03503", "03434"]);
        changed["version"] = w["version"].clone();
        let res = send(&operator, &app, Method::PUT, &format!("/api/v1/warnings/{id}"), Some(changed)).await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let (s, _) = post(&operator, &app, &steps, json!({"action": "submit"})).await;
        assert_eq!(s, 200);
        let (_, out) = get(&public, &app, "/api/v1/public/warnings").await;
        assert_eq!(
            out[0]["headline"], "Cảnh báo lũ quét và sạt lở đất tại xã Pa Tần",
            "the approved version stays out"
        );
        let (s, w) = post(&supervisor, &app, &steps, json!({"action": "approve"})).await;
        assert_eq!(s, 200, "{w}");
        let second = w["sent"][1]["identifier"].as_str().unwrap().to_string();
        let (_, _, xml) = text(&public, &app, &format!("/cap/{second}")).await;
        let els = elements(&xml);
        assert_eq!(all(&els, "alert/msgType"), vec!["Update"]);
        let refs = all(&els, "alert/references")[0].to_string();
        assert!(refs.contains(&format!(",{first},")), "the update references the first message: {refs}");
        assert_eq!(all(&els, "alert/info/area/geocode/value"), vec!["03503", "03434", "03503", "03434"]);

        // Two people: a supervisor does not approve a warning they drafted themselves.
        let (s, own) = post(&supervisor, &app, "/api/v1/warnings", warning(expires)).await;
        assert_eq!(s, 201, "{own}");
        let own_steps = format!("/api/v1/warnings/{}/steps", own["id"].as_str().unwrap());
        assert_eq!(post(&supervisor, &app, &own_steps, json!({"action": "submit"})).await.0, 200);
        let (s, body) = post(&supervisor, &app, &own_steps, json!({"action": "approve"})).await;
        assert_eq!(s, 409, "{body}");

        // Cancelled: a Cancel referencing both, and the feed is empty.
        let (s, body) = post(&supervisor, &app, &steps, json!({"action": "cancel"})).await;
        assert_eq!((s, body["field"].as_str()), (422, Some("note")));
        let (s, w) =
            post(&supervisor, &app, &steps, json!({"action": "cancel", "note": "Nước đã rút"})).await;
        assert_eq!((s, w["state"].as_str()), (200, Some("cancelled")));
        let third = w["sent"][2]["identifier"].as_str().unwrap().to_string();
        let (_, _, xml) = text(&public, &app, &format!("/cap/{third}")).await;
        let els = elements(&xml);
        assert_eq!(all(&els, "alert/msgType"), vec!["Cancel"]);
        let refs = all(&els, "alert/references")[0];
        assert_eq!(refs.split(' ').count(), 2, "{refs}");
        let (_, _, feed) = text(&public, &app, "/cap/alerts.atom").await;
        assert!(all(&elements(&feed), "feed/entry/title").is_empty());
        let (_, out) = get(&public, &app, "/api/v1/public/warnings").await;
        assert_eq!(out, json!([]));
        app.stop().await;
    }
}
