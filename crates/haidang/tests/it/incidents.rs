//! Incidents on SQLite and PostgreSQL: a verified river alert becomes an incident handled in the
//! immediate process; the flood playbook gives its checklist, the agencies to mobilise and a
//! task to each; the agencies accept and answer them; an incident with open tasks cannot be
//! closed; the timeline tells everything in order. Playbooks naming unknown organisations are
//! refused on save; overdue tasks are escalated once.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde_json::{json, Value};

use crate::alerts::Stream;
use crate::harness::{backends, get, problem_code, send, Backend, TestApp, TestStore};

pub(crate) async fn incidents_app(backend: Backend) -> TestApp {
    let store = TestStore::new(backend).await;
    let mut config = store.config();
    config.demo.reports = 0;
    config.demo.simulator = false;
    config.demo.indicators = false;
    TestApp::spawn_config(store, config, true).await
}

async fn post(c: &reqwest::Client, app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let res = send(c, app, Method::POST, path, Some(body)).await;
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

/// Drives Nậm Na over its danger level and answers the verified alert's id.
pub(crate) async fn verified_flood_alert(app: &TestApp, operator: &reqwest::Client) -> String {
    let mut live = Stream::open(operator, app, None).await;
    haidang::simulator::send_level(&app.state, "tv-nam-na", 188.9, Timestamp::now()).await.unwrap();
    let raised =
        live.until("alert.raised", |a| a["rule_id"] == "tv-nam-na-nguy-hiem", Duration::from_secs(10)).await;
    let id = raised.data["data"]["id"].as_str().unwrap().to_string();
    let (s, body) = post(
        operator,
        app,
        &format!("/api/v1/alerts/{id}/steps"),
        json!({"action": "verify", "note": "Camera cầu Nậm Na xác nhận"}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    id
}

#[tokio::test]
async fn a_verified_river_alert_becomes_an_incident_whose_playbook_tasks_the_agencies_answer() {
    for backend in backends() {
        let app = incidents_app(backend).await;
        let operator = app.signed_in("operator").await;
        let alert_id = verified_flood_alert(&app, &operator).await;

        let (s, detail) = post(&operator, &app, "/api/v1/incidents", json!({
            "title": "Lũ quét suối Nậm Na, xã Pa Tần", "incident_type": "flood_landslide", "mode": "immediate",
            "severity": "extreme", "alert_id": alert_id
        })).await;
        assert_eq!(s, 201, "{detail}");
        let incident = &detail["incident"];
        let number = incident["number"].as_i64().unwrap();
        assert_eq!(incident["playbook_id"], "kb-lu-quet-sat-lo", "the type's playbook is activated");
        assert_eq!(incident["units"][0], "03503", "the incident lies where the gauge is");
        assert!(incident["location"][0].is_number());
        assert_eq!(incident["checklist"].as_array().unwrap().len(), 7);
        assert!(
            incident["mobilised"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["org"] == "cong-an" && m["duty_phone"].is_string()),
            "agencies come with their duty phones: {}",
            incident["mobilised"]
        );
        assert!(!incident["messages"].as_array().unwrap().is_empty());
        let tasks = detail["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 5, "one task per step that falls to an agency");
        // The alert is now part of the incident.
        let (_, alert) = get(&operator, &app, &format!("/api/v1/alerts/{alert_id}")).await;
        assert_eq!(alert["alert"]["state"], "incident");
        assert_eq!(alert["alert"]["incident_id"], incident["id"]);
        // A second incident from the same alert is a conflict.
        let (s, _) = post(
            &operator,
            &app,
            "/api/v1/incidents",
            json!({
                "title": "x", "incident_type": "flood_landslide", "mode": "immediate", "alert_id": alert_id
            }),
        )
        .await;
        assert_eq!(s, 409);

        // The situation around the gauge: the camera at the bridge and the shelter nearby.
        let (s, sit) =
            get(&operator, &app, &format!("/api/v1/incidents/SC-{number}/situation?radius_m=5000")).await;
        assert_eq!(s, 200, "{sit}");
        let near: Vec<&str> =
            sit["nearby"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
        assert_eq!(near.first(), Some(&"urn:ngsi-ld:FloodMonitoring:tv-nam-na"), "nearest first: {near:?}");
        assert!(near.contains(&"urn:ngsi-ld:Camera:cam-cau-nam-na"), "{near:?}");
        assert!(near.contains(&"urn:ngsi-ld:PointOfInterest:sotan-pa-tan"), "{near:?}");
        let gauge = &sit["nearby"][0];
        assert!(gauge["reading"].as_str().unwrap_or_default().contains("currentLevel 188.9"), "{gauge}");
        assert_eq!(sit["communes"], json!(["03503"]));
        let (s, _) =
            get(&operator, &app, &format!("/api/v1/incidents/SC-{number}/situation?radius_m=900000")).await;
        assert_eq!(s, 422, "a radius past 50 km is refused");

        // The department sees its task, and only its own; it accepts, reports, finishes.
        let officer = app.signed_in("officer").await;
        let (_, mine) = get(&officer, &app, "/api/v1/tasks").await;
        let mine = mine.as_array().unwrap();
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert!(mine[0]["title"].as_str().unwrap().contains("hồ đập"));
        let task = mine[0]["id"].as_str().unwrap().to_string();
        let (s, body) =
            post(&officer, &app, &format!("/api/v1/tasks/{task}/steps"), json!({"action": "done"})).await;
        assert_eq!((s, body["field"].as_str()), (422, Some("note")), "done says what was done: {body}");
        let (s, _) =
            post(&officer, &app, &format!("/api/v1/tasks/{task}/steps"), json!({"action": "accept"})).await;
        assert_eq!(s, 200);
        let (s, body) =
            post(&officer, &app, &format!("/api/v1/tasks/{task}/steps"), json!({"action": "accept"})).await;
        assert_eq!(s, 409, "{body}");
        let (s, _) = post(
            &officer,
            &app,
            &format!("/api/v1/tasks/{task}/steps"),
            json!({"action": "progress", "note": "Hồ Nậm Na xả tràn 120 m³/s, đập an toàn"}),
        )
        .await;
        assert_eq!(s, 200);
        let (s, t) = post(
            &officer,
            &app,
            &format!("/api/v1/tasks/{task}/steps"),
            json!({"action": "done", "note": "Đã kiểm tra 3 hồ, không có sự cố"}),
        )
        .await;
        assert_eq!((s, t["state"].as_str()), (200, Some("done")), "{t}");
        // The agency sees the incident it works in, not others.
        let (s, _) = get(&officer, &app, &format!("/api/v1/incidents/SC-{number}")).await;
        assert_eq!(s, 200);

        // Closing with tasks open is refused; the centre cancels what is no longer needed.
        let path = format!("/api/v1/incidents/SC-{number}/actions");
        let (s, body) = post(&operator, &app, &path, json!({"kind": "close", "report": "Nước rút"})).await;
        assert_eq!(s, 409, "{body}");
        let (s, _) = post(&operator, &app, &path, json!({"kind": "check", "index": 0})).await;
        assert_eq!(s, 200);
        let (_, detail) = get(&operator, &app, &format!("/api/v1/incidents/SC-{number}")).await;
        for t in detail["tasks"].as_array().unwrap().iter().filter(|t| t["state"] != "done") {
            let (s, body) = post(
                &operator,
                &app,
                &format!("/api/v1/tasks/{}/steps", t["id"].as_str().unwrap()),
                json!({"action": "cancel", "note": "Nước đã rút"}),
            )
            .await;
            assert_eq!(s, 200, "{body}");
        }
        let (s, body) = post(&operator, &app, &path, json!({"kind": "close", "report": "Nước rút lúc 16h, không thiệt hại về người; 12 hộ đã về nhà."})).await;
        assert_eq!((s, body["incident"]["state"].as_str()), (200, Some("closed")), "{body}");
        let kinds: Vec<&str> =
            body["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(&kinds[..2], &["open", "playbook"]);
        assert!(
            kinds.contains(&"task_accepted") && kinds.contains(&"progress") && kinds.contains(&"task_done"),
            "{kinds:?}"
        );
        assert_eq!(kinds.last(), Some(&"close"));
        let (s, _) = post(&operator, &app, &path, json!({"kind": "note", "text": "x"})).await;
        assert_eq!(s, 409, "a closed incident takes nothing more");

        // The measures: the alert was verified, the department finished on time, the rest were cancelled.
        let (s, m) = get(&app.signed_in("leader").await, &app, "/api/v1/measures/response").await;
        assert_eq!(s, 200, "{m}");
        assert_eq!(m["by_rule"]["tv-nam-na-nguy-hiem"], json!(1), "{m}");
        assert_eq!(m["to_verify"]["count"], json!(1));
        assert!(m["to_verify"]["median_minutes"].as_f64().unwrap() < 5.0);
        let dept = m["agencies"].as_array().unwrap().iter().find(|a| a["done"] == json!(1)).unwrap();
        assert_eq!(dept["on_time_share"], json!(1.0), "{dept}");
        let (s, _) = get(&officer, &app, "/api/v1/measures/response").await;
        assert_eq!(s, 403);
        app.stop().await;
    }
}

#[tokio::test]
async fn playbooks_naming_unknown_agencies_are_refused_and_overdue_tasks_are_escalated() {
    for backend in backends() {
        let app = incidents_app(backend).await;
        let supervisor = app.signed_in("supervisor").await;
        let operator = app.signed_in("operator").await;
        let (_, list) = get(&supervisor, &app, "/api/v1/playbooks").await;
        let types: Vec<&str> =
            list.as_array().unwrap().iter().map(|p| p["incident_type"].as_str().unwrap()).collect();
        for t in ["flood_landslide", "fire", "epidemic", "traffic_accident"] {
            assert!(types.contains(&t), "the demo ships a {t} playbook: {types:?}");
        }
        let bad = json!({"name": "Sạt lở taluy", "incident_type": "flood_landslide",
            "steps": [{"text": "Báo cáo"}, {"text": "Dọn đất đá", "org": "so-giao-thong-cu", "due_minutes": 60}]});
        let res = send(&supervisor, &app, Method::POST, "/api/v1/playbooks", Some(bad)).await;
        let (status, _, problem) = problem_code(res).await;
        assert_eq!((status, problem["field"].as_str()), (422, Some("steps[1].org")), "{problem}");
        let (s, _) = post(
            &operator,
            &app,
            "/api/v1/playbooks",
            json!({"name": "x", "incident_type": "fire", "steps": [{"text": "y"}]}),
        )
        .await;
        assert_eq!(s, 403, "supervisors edit playbooks");

        // A timed incident: a task whose deadline passes is escalated once.
        let (s, detail) = post(&operator, &app, "/api/v1/incidents", json!({
            "title": "Đèn tín hiệu giao lộ Trần Hưng Đạo hỏng", "incident_type": "infrastructure_failure", "mode": "timed",
            "location": [103.4582, 22.3964]
        })).await;
        assert_eq!(s, 201, "{detail}");
        assert!(detail["incident"]["playbook_id"].is_null(), "the timed process has no playbook");
        let id = detail["incident"]["id"].as_str().unwrap().to_string();
        let due = (Timestamp::now() + SignedDuration::from_secs(2)).to_string();
        let (s, body) = post(
            &operator,
            &app,
            &format!("/api/v1/incidents/{id}/actions"),
            json!({"kind": "task", "org": "so-xay-dung", "title": "Sửa đèn tín hiệu", "due_at": due}),
        )
        .await;
        assert_eq!(s, 200, "{body}");
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(app.state.incidents.escalate_overdue().await.unwrap(), 1);
        assert_eq!(
            app.state.incidents.escalate_overdue().await.unwrap(),
            0,
            "escalated once, not every round"
        );
        let (_, detail) = get(&operator, &app, &format!("/api/v1/incidents/{id}")).await;
        assert!(detail["tasks"][0]["escalated_at"].is_string());
        assert!(detail["timeline"].as_array().unwrap().iter().any(|e| e["kind"] == "escalation"));
        let (_, tasks) = get(&operator, &app, "/api/v1/tasks").await;
        assert_eq!(tasks[0]["overdue"], json!(true));

        // The shift hands over: the open incident and the overdue task are in the log; the
        // incoming supervisor acknowledges it, once.
        let (s, h) =
            post(&operator, &app, "/api/v1/handovers", json!({"note": "Đèn giao lộ chờ Sở Xây dựng"})).await;
        assert_eq!(s, 201, "{h}");
        let kinds: Vec<&str> =
            h["matters"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"incident") && kinds.contains(&"task"), "{kinds:?}");
        let hid = h["id"].as_str().unwrap();
        let (s, _) = post(&operator, &app, &format!("/api/v1/handovers/{hid}/acknowledge"), json!({})).await;
        assert_eq!(s, 409, "the outgoing operator does not acknowledge their own handover");
        let (s, h) =
            post(&supervisor, &app, &format!("/api/v1/handovers/{hid}/acknowledge"), json!({})).await;
        assert_eq!((s, h["acknowledged_by"].as_str()), (200, Some("supervisor")), "{h}");
        let (s, _) =
            post(&supervisor, &app, &format!("/api/v1/handovers/{hid}/acknowledge"), json!({})).await;
        assert_eq!(s, 409);
        app.stop().await;
    }
}
