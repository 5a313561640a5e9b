//! Monitoring rules and alerts on SQLite and PostgreSQL: a demo river gauge driven over its
//! alert level raises one alert (not one per reading) that reaches the live stream; the operator
//! takes it through the process (steps out of order answer 409) and forwards it to the agency;
//! a client that reconnects with Last-Event-ID receives what it missed; the river falling
//! resolves it. A rule saved is in force at once; a rule that cannot be evaluated is refused
//! naming the field; stations in a maintenance window raise nothing.

use std::time::Duration;

use haidang_core::repo::OrgRepository;
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{backends, get, problem_code, send, Backend, TestApp, TestStore};

async fn alerts_app(backend: Backend) -> TestApp {
    let store = TestStore::new(backend).await;
    let mut config = store.config();
    config.demo.reports = 0;
    config.demo.simulator = false;
    config.demo.indicators = false;
    TestApp::spawn_config(store, config, true).await
}

/// A server-sent events client over a streaming response.
pub(crate) struct Stream {
    res: reqwest::Response,
    buf: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Sse {
    pub id: i64,
    pub event: String,
    pub data: Value,
}

impl Stream {
    pub(crate) async fn open(c: &reqwest::Client, app: &TestApp, last_event_id: Option<i64>) -> Stream {
        let mut req = c.get(app.url("/api/v1/live")).header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        let ct = res.headers().get("content-type").unwrap().to_str().unwrap().to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Stream { res, buf: String::new() }
    }

    /// The next event within `wait`, or None.
    pub(crate) async fn next(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                match id {
                    Some(id) => return Some(Sse { id, event, data: serde_json::from_str(&data).unwrap() }),
                    None => continue, // a keep-alive comment
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.res.chunk()).await.ok()?.unwrap()?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event of `kind` whose alert `about` accepts (others are passed over).
    pub(crate) async fn until(&mut self, kind: &str, about: impl Fn(&Value) -> bool, wait: Duration) -> Sse {
        let mut seen = Vec::new();
        while let Some(e) = self.next(wait).await {
            if e.event == kind && about(&e.data["data"]) {
                return e;
            }
            seen.push(e);
        }
        panic!(
            "no {kind} event within {wait:?}; saw {:?}",
            seen.iter().map(|e| &e.event).collect::<Vec<_>>()
        );
    }
}

async fn level(app: &TestApp, code: &str, metres: f64, ago_secs: i64) {
    let at = Timestamp::now() - SignedDuration::from_secs(ago_secs);
    haidang::simulator::send_level(&app.state, code, metres, at).await.unwrap();
}

async fn step(c: &reqwest::Client, app: &TestApp, id: &str, body: Value) -> (u16, Value) {
    let res = send(c, app, Method::POST, &format!("/api/v1/alerts/{id}/steps"), Some(body)).await;
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

async fn open_alerts_of(c: &reqwest::Client, app: &TestApp, rule: &str) -> Vec<Value> {
    let (status, list) = get(c, app, &format!("/api/v1/alerts?state=open&rule={rule}")).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

#[tokio::test]
async fn a_river_over_its_alert_level_reaches_the_live_stream_and_is_handled_through_the_process() {
    for backend in backends() {
        let app = alerts_app(backend).await;
        let operator = app.signed_in("operator").await;
        let mut live = Stream::open(&operator, &app, None).await;
        // Nậm Na's danger level is 188.0 m (its alert level, 186.0 m, must hold for two minutes:
        // the watch's unit tests drive that one).
        level(&app, "tv-nam-na", 188.6, 0).await;
        let sent = Timestamp::now();
        let raised = live
            .until("alert.raised", |a| a["rule_id"] == "tv-nam-na-nguy-hiem", Duration::from_secs(10))
            .await;
        let took = Timestamp::now().duration_since(sent);
        let alert = raised.data["data"].clone();
        assert_eq!(alert["rule_id"], "tv-nam-na-nguy-hiem", "{alert}");
        assert_eq!(alert["severity"], "extreme");
        assert_eq!(alert["state"], "new");
        assert_eq!(alert["value"], json!(188.6));
        assert_eq!(alert["entity_id"], "urn:ngsi-ld:FloodMonitoring:tv-nam-na");
        assert_eq!(alert["units"][0], "03503", "filed under the gauge's commune");
        assert!(alert["location"][0].as_f64().is_some(), "the map has the gauge's point: {alert}");
        eprintln!("{backend:?}: accepted reading to the stream in {took:?}");
        let id = alert["id"].as_str().unwrap().to_string();

        // The sensor hovers at the line: the same alert moves, no second one is raised.
        for (m, ago) in [(188.7, 0), (188.05, 0), (188.3, 0)] {
            level(&app, "tv-nam-na", m, ago).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let open = open_alerts_of(&operator, &app, "tv-nam-na-nguy-hiem").await;
        assert_eq!(open.len(), 1, "one alert per rule and gauge: {open:?}");
        assert_eq!(open[0]["peak"], json!(188.7));

        // The process: out of order is a conflict naming the state; a dismissal needs its reason.
        let (s, body) = step(&operator, &app, &id, json!({"action": "forward", "org": "so-nn-mt"})).await;
        assert_eq!(s, 409, "{body}");
        assert!(
            body["detail"].as_str().unwrap_or_default().contains("new") || body.to_string().contains("new"),
            "{body}"
        );
        let (s, body) = step(&operator, &app, &id, json!({"action": "dismiss"})).await;
        assert_eq!((s, body["field"].as_str()), (422, Some("note")), "{body}");
        let (s, body) = step(&operator, &app, &id, json!({"action": "acknowledge"})).await;
        assert_eq!((s, body["state"].as_str()), (200, Some("acknowledged")), "{body}");
        let first_step_event =
            live.until("alert.step", |a| a["id"] == id.as_str(), Duration::from_secs(5)).await.id;
        let leader = app.signed_in("leader").await;
        let (s, _) = step(&leader, &app, &id, json!({"action": "verify"})).await;
        assert_eq!(s, 403, "leaders watch, operators handle");
        let (s, body) = step(
            &operator,
            &app,
            &id,
            json!({"action": "verify", "note": "Camera cầu Nậm Na: nước dâng sát mặt cầu"}),
        )
        .await;
        assert_eq!((s, body["state"].as_str()), (200, Some("verified")), "{body}");
        // The stream is cut here; the client comes back with the last id it had.
        drop(live);
        let due = (Timestamp::now() + SignedDuration::from_hours(4)).to_string();
        let (s, body) =
            step(&operator, &app, &id, json!({"action": "forward", "org": "so-nn-mt", "due": due})).await;
        assert_eq!((s, body["state"].as_str()), (200, Some("forwarded")), "{body}");
        let mut live = Stream::open(&operator, &app, Some(first_step_event)).await;
        let mut missed = Vec::new();
        for _ in 0..2 {
            let e = live.until("alert.step", |a| a["id"] == id.as_str(), Duration::from_secs(5)).await;
            assert!(e.id > first_step_event);
            missed.push(e.data["data"]["state"].as_str().unwrap().to_string());
        }
        assert_eq!(missed, vec!["verified", "forwarded"], "what happened while away comes first, in order");

        // The agency it went to sees it, and only it; its stream tells it of what concerns it.
        let officer = app.signed_in("officer").await;
        let (_, theirs) = get(&officer, &app, "/api/v1/alerts").await;
        assert_eq!(
            theirs.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect::<Vec<_>>(),
            vec![id.as_str()]
        );
        let mut agency_live = Stream::open(&officer, &app, Some(0)).await;
        let first = agency_live.next(Duration::from_secs(5)).await.unwrap();
        assert_eq!(
            first.data["data"]["state"], "forwarded",
            "the agency's stream starts where the alert reached it"
        );

        // The river falls back under the line by more than the hysteresis: resolved by itself.
        level(&app, "tv-nam-na", 187.5, 0).await;
        live.until("alert.resolved", |a| a["id"] == id.as_str(), Duration::from_secs(10)).await;
        let (_, detail) = get(&operator, &app, &format!("/api/v1/alerts/{id}")).await;
        let actions: Vec<&str> =
            detail["steps"].as_array().unwrap().iter().map(|s| s["action"].as_str().unwrap()).collect();
        assert_eq!(actions, vec!["raise", "acknowledge", "verify", "forward", "auto_resolve"]);
        assert_eq!(detail["steps"][2]["actor"], "operator");
        assert_eq!(detail["allowed"], json!(["note"]));
        // The audit trail has the operator's steps.
        let (_, audit) =
            get(&app.signed_in("auditor").await, &app, "/api/v1/audit?action=alert.forward").await;
        assert_eq!(audit.as_array().map(Vec::len), Some(1), "{audit}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_rule_saved_is_in_force_at_once_and_a_rule_that_cannot_be_evaluated_is_refused_by_name() {
    for backend in backends() {
        let app = alerts_app(backend).await;
        let supervisor = app.signed_in("supervisor").await;
        let operator = app.signed_in("operator").await;
        level(&app, "tv-nam-mu", 314.2, 0).await;
        let rule = json!({
            "id": "nam-mu-canh-bao-som", "name": "Nậm Mu trên 314 m (cảnh báo sớm)",
            "scope": {"entity_type": "FloodMonitoring", "entities": ["urn:ngsi-ld:FloodMonitoring:tv-nam-mu"]},
            "condition": {"kind": "threshold", "attribute": "currentLevel", "above": 314.0, "hysteresis": 0.1},
            "severity": "moderate", "alert_kind": "flood", "auto_resolve": true
        });
        let res = send(&operator, &app, Method::POST, "/api/v1/alert-rules", Some(rule.clone())).await;
        assert_eq!(res.status(), 403, "operators do not write rules");
        let res = send(&supervisor, &app, Method::POST, "/api/v1/alert-rules", Some(rule.clone())).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        // In force as it is saved: the gauge is already above, so the alert is there now.
        let open = open_alerts_of(&operator, &app, "nam-mu-canh-bao-som").await;
        assert_eq!(open.len(), 1, "raised when the rule was saved: {open:?}");
        assert_eq!(open[0]["severity"], "moderate");

        // Refusals name what is wrong, and nothing is kept.
        for (body, field) in [
            (
                json!({"condition": {"kind": "threshold", "attribute": "mucNuoc", "above": 1.0}}),
                "condition.attribute",
            ),
            (json!({"condition": {"kind": "between", "attribute": "currentLevel"}}), "rule"),
            (
                json!({"condition": {"kind": "threshold", "attribute": "currentLevel", "above": 1.0, "below": 2.0}}),
                "condition.above",
            ),
            (
                json!({"condition": {"kind": "threshold", "attribute": "currentLevel", "above": "cao"}}),
                "rule",
            ),
            (json!({"severity": "khẩn cấp"}), "rule"),
            (json!({"notify": ["so-khong-co"]}), "notify"),
        ] {
            let mut bad = rule.clone();
            bad["id"] = json!("bad");
            for (k, v) in body.as_object().unwrap() {
                bad[k] = v.clone();
            }
            let res = send(&supervisor, &app, Method::POST, "/api/v1/alert-rules", Some(bad.clone())).await;
            let (status, _, problem) = problem_code(res).await;
            assert_eq!((status, problem["field"].as_str()), (400, Some(field)), "{bad} → {problem}");
        }
        let (_, rules) = get(&supervisor, &app, "/api/v1/alert-rules").await;
        assert!(!rules.as_array().unwrap().iter().any(|r| r["id"] == "bad"), "nothing refused is kept");

        // A change carries the version it was read at; a stale one is a conflict.
        let mut changed = rule.clone();
        changed["version"] = json!(1);
        changed["condition"]["above"] = json!(320.0);
        let res = send(
            &supervisor,
            &app,
            Method::PUT,
            "/api/v1/alert-rules/nam-mu-canh-bao-som",
            Some(changed.clone()),
        )
        .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let res =
            send(&supervisor, &app, Method::PUT, "/api/v1/alert-rules/nam-mu-canh-bao-som", Some(changed))
                .await;
        assert_eq!(problem_code(res).await.0, 409);

        // A rule for a whole type with a maintenance window: the gauge in maintenance is silent,
        // the others are judged.
        let all = json!({
            "id": "song-suoi-tren-300", "name": "Sông suối trên 300 m",
            "scope": {"entity_type": "FloodMonitoring"},
            "condition": {"kind": "threshold", "attribute": "currentLevel", "above": 300.0},
            "severity": "minor", "alert_kind": "flood"
        });
        let now = Timestamp::now();
        let officer = app.signed_in("officer").await;
        let res = send(
            &officer,
            &app,
            Method::POST,
            "/api/v1/datasets/muc-nuoc-song-suoi/maintenance",
            Some(json!({
                "entities": ["urn:ngsi-ld:FloodMonitoring:tv-nam-lum"],
                "starts_at": (now - SignedDuration::from_mins(1)).to_string(),
                "ends_at": (now + SignedDuration::from_hours(2)).to_string(),
                "reason": "Thay cảm biến đo mực nước"
            })),
        )
        .await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        // The follower reads the window before the rule looks at the gauges.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let res = send(&supervisor, &app, Method::POST, "/api/v1/alert-rules", Some(all)).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        level(&app, "tv-nam-lum", 415.0, 0).await;
        level(&app, "tv-song-da", 301.0, 0).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let raised: Vec<String> = open_alerts_of(&operator, &app, "song-suoi-tren-300")
            .await
            .iter()
            .map(|a| a["entity_id"].as_str().unwrap().to_string())
            .collect();
        assert!(raised.contains(&"urn:ngsi-ld:FloodMonitoring:tv-song-da".to_string()), "{raised:?}");
        assert!(
            !raised.iter().any(|e| e.ends_with("tv-nam-lum")),
            "the gauge in maintenance raised: {raised:?}"
        );

        // A rule deleted raises nothing more.
        let res =
            send(&supervisor, &app, Method::DELETE, "/api/v1/alert-rules/song-suoi-tren-300", None).await;
        assert_eq!(res.status(), 204);
        let res =
            send(&supervisor, &app, Method::DELETE, "/api/v1/alert-rules/song-suoi-tren-300", None).await;
        assert_eq!(problem_code(res).await.0, 404);
        app.stop().await;
    }
}

#[tokio::test]
async fn an_alert_entity_from_a_cameras_analytics_becomes_an_alert_and_its_changes_move_it() {
    for backend in backends() {
        let app = alerts_app(backend).await;
        let operator = app.signed_in("operator").await;
        let mut live = Stream::open(&operator, &app, None).await;
        let org = app.state.store.get_org_by_code("cong-an").await.unwrap().unwrap();
        let police = haidang::demo_stations::provider_subject(&org.id, "cong-an");
        let ctx = haidang_core::hub::contexts::core_arc();
        let write = |severity: &str| {
            let body = json!({
                "id": "urn:ngsi-ld:Alert:cam-o-quy-ho:20261203-01", "type": "Alert",
                "category": {"type": "Property", "value": "traffic"},
                "subCategory": {"type": "Property", "value": "carAccident"},
                "severity": {"type": "Property", "value": severity},
                "description": {"type": "Property", "value": "Camera đèo Ô Quy Hồ: xe khách va chạm xe tải, ùn tắc hai chiều"},
                "alertSource": {"type": "Property", "value": "urn:ngsi-ld:Camera:cam-o-quy-ho"},
                "dateIssued": {"type": "Property", "value": "2026-12-03T08:00:00Z"},
                "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [103.78, 22.35]}},
            });
            let e = haidang_core::hub::entity::parse_entity(&body).unwrap().map_names(&|x| ctx.expand(x));
            vec![haidang_core::hub::ops::EntityOp::Ingest(e)]
        };
        for r in app.state.hub.write(&police, "entity.ingest", write("high"), ctx.clone()).await.unwrap() {
            r.unwrap();
        }
        let raised = live
            .until(
                "alert.raised",
                |a| a["source"].as_str().is_some_and(|s| s.starts_with("external")),
                Duration::from_secs(10),
            )
            .await;
        let a = raised.data["data"].clone();
        assert_eq!(a["severity"], "severe", "SDM 'high' is CAP 'severe': {a}");
        assert_eq!(a["kind"], "carAccident");
        assert_eq!(a["title"], "Camera đèo Ô Quy Hồ: xe khách va chạm xe tải, ùn tắc hai chiều");
        assert_eq!(a["location"], json!([103.78, 22.35]));
        // The analytics raise its severity: the same alert moves.
        for r in app.state.hub.write(&police, "entity.ingest", write("critical"), ctx.clone()).await.unwrap()
        {
            r.unwrap();
        }
        let moved = live.until("alert.updated", |x| x["id"] == a["id"], Duration::from_secs(10)).await;
        assert_eq!(moved.data["data"]["severity"], "extreme");
        let (_, list) = get(&operator, &app, "/api/v1/alerts?state=open").await;
        let external: Vec<&Value> =
            list.as_array().unwrap().iter().filter(|x| x["entity_type"] == "Alert").collect();
        assert_eq!(external.len(), 1, "one alert per Alert entity");
        // The analytics withdraw it (the entity is deleted): the alert resolves.
        let gone = vec![haidang_core::hub::ops::EntityOp::Delete(
            "urn:ngsi-ld:Alert:cam-o-quy-ho:20261203-01".into(),
        )];
        for r in app.state.hub.write(&police, "entity.delete", gone, ctx.clone()).await.unwrap() {
            r.unwrap();
        }
        let resolved = live.until("alert.resolved", |x| x["id"] == a["id"], Duration::from_secs(10)).await;
        assert_eq!(resolved.data["data"]["state"], "resolved");
        let (_, detail) =
            get(&operator, &app, &format!("/api/v1/alerts/{}", a["id"].as_str().unwrap())).await;
        assert_eq!(detail["steps"].as_array().unwrap().last().unwrap()["action"], "entity_deleted");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_organisations_a_rule_names_are_told_by_email_and_each_attempt_is_recorded() {
    use crate::receiver::{Mode, Receiver};
    use crate::smtp_sink::SmtpSink;
    for backend in backends() {
        let mail = SmtpSink::start(0).await;
        // The SMS gateway is down: its attempt is recorded as an error, to be tried again.
        let gateway = Receiver::start(Mode::Refuse(503)).await;
        let store = TestStore::new(backend).await;
        let mut config = store.config();
        config.demo.simulator = false;
        config.demo.reports = 0;
        config.demo.indicators = false;
        config.reports.smtp_url = mail.url.clone();
        config.reports.smtp_from = "Trung tâm IOC Lai Châu <ioc@laichau.gov.vn>".into();
        config.alerts.webhook_url = gateway.url.clone();
        let app = TestApp::spawn_config(store, config, true).await;
        let admin = app.signed_in("admin").await;
        let res = send(&admin, &app, Method::POST, "/api/v1/orgs", Some(json!({
            "code": "bch-pctt", "kind": "department", "name_vi": "Văn phòng thường trực Ban Chỉ huy PCTT và TKCN tỉnh",
            "parent": "ubnd-tinh", "email": "pctt@laichau.gov.vn", "duty_phone": "0213 000 0150"
        }))).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let supervisor = app.signed_in("supervisor").await;
        let rule = json!({
            "id": "nam-lum-bao-pctt", "name": "Nậm Lụm trên 400 m — báo Ban Chỉ huy PCTT",
            "scope": {"entity_type": "FloodMonitoring", "entities": ["urn:ngsi-ld:FloodMonitoring:tv-nam-lum"]},
            "condition": {"kind": "threshold", "attribute": "currentLevel", "above": 400.0},
            "severity": "severe", "alert_kind": "flood", "notify": ["bch-pctt"]
        });
        level(&app, "tv-nam-lum", 414.2, 0).await;
        let res = send(&supervisor, &app, Method::POST, "/api/v1/alert-rules", Some(rule)).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let mails = mail.wait_for(1, 15).await;
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, vec!["<pctt@laichau.gov.vn>".to_string()]);
        let message = mail_parser::MessageParser::default().parse(mails[0].data.as_bytes()).unwrap();
        assert_eq!(message.subject(), Some("Cảnh báo: Nậm Lụm trên 400 m — báo Ban Chỉ huy PCTT"));
        let text = message.body_text(0).unwrap();
        assert!(text.contains("Mức độ: Nghiêm trọng") && text.contains("Giá trị đo: 414.2"), "{text}");
        let operator = app.signed_in("operator").await;
        let open = open_alerts_of(&operator, &app, "nam-lum-bao-pctt").await;
        let id = open[0]["id"].as_str().unwrap().to_string();
        let mut notices = Value::Null;
        for _ in 0..100 {
            let (_, detail) = get(&operator, &app, &format!("/api/v1/alerts/{id}")).await;
            notices = detail["notices"].clone();
            let tried =
                notices.as_array().unwrap().iter().all(|n| !n["attempts"].as_array().unwrap().is_empty());
            if tried {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let by = |channel: &str| {
            notices.as_array().unwrap().iter().find(|n| n["channel"] == channel).cloned().unwrap()
        };
        let email = by("email");
        assert_eq!(
            (email["state"].as_str(), email["attempts"][0]["outcome"].as_str()),
            (Some("sent"), Some("sent")),
            "{email}"
        );
        let hook = by("webhook");
        assert_eq!(hook["state"], "pending", "tried again later: {hook}");
        assert_eq!(hook["attempts"][0]["outcome"], "error");
        assert!(hook["attempts"][0]["detail"].as_str().unwrap().contains("503"), "{hook}");
        assert!(gateway.attempts() >= 1);
        app.stop().await;
    }
}
