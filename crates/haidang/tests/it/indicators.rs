//! Monitoring indicators on SQLite and PostgreSQL: the demo catalog tells its story and the
//! API, the export and the NGSI-LD view give the same numbers; a department's figures go
//! through checks, review and revision; bad definitions and bad figures are refused by name.

use reqwest::Method;
use serde_json::{json, Value};

use crate::datasets::{body, post};
use crate::harness::{backends, get, send, TestApp, TestStore};

pub(crate) async fn demo_app(backend: crate::harness::Backend) -> TestApp {
    let store = TestStore::new(backend).await;
    let mut config = store.config();
    config.demo.indicators = true;
    TestApp::spawn_config(store, config, true).await
}

#[tokio::test]
async fn the_demo_catalog_tells_its_story_and_every_view_agrees() {
    for backend in backends() {
        let app = demo_app(backend).await;
        let leader = app.signed_in("leader").await;
        let (status, list) = get(&leader, &app, "/api/v1/indicators").await;
        assert_eq!(status, 200);
        let list = list.as_array().unwrap();
        assert!(list.len() >= 40, "{} indicators", list.len());
        let groups: std::collections::BTreeSet<&str> =
            list.iter().map(|i| i["current"]["group"].as_str().unwrap()).collect();
        assert!(groups.len() >= 8, "{groups:?}");

        let (status, overview) = get(&leader, &app, "/api/v1/indicators/overview").await;
        assert_eq!(status, 200);
        let mut off = Vec::new();
        let mut risk = Vec::new();
        for g in overview["groups"].as_array().unwrap() {
            for i in g["indicators"].as_array().unwrap() {
                match i["evaluation"]["status"].as_str() {
                    Some("off_track") => off.push((g["group"].as_str().unwrap(), i.clone())),
                    Some("at_risk") => risk.push((g["group"].as_str().unwrap(), i.clone())),
                    _ => {}
                }
            }
        }
        let off_groups: std::collections::BTreeSet<_> = off.iter().map(|(g, _)| *g).collect();
        let risk_groups: std::collections::BTreeSet<_> = risk.iter().map(|(g, _)| *g).collect();
        assert!(off.len() >= 3 && off_groups.len() >= 2, "off track: {} in {off_groups:?}", off.len());
        assert!(risk.len() >= 5 && risk_groups.len() >= 2, "at risk: {} in {risk_groups:?}", risk.len());

        // One off-track indicator read three ways: the evaluation, the export, the NGSI-LD entity.
        let e = &off[0].1["evaluation"];
        let (code, unit, period) =
            (e["code"].as_str().unwrap(), e["unit_code"].as_str().unwrap(), e["period"].as_str().unwrap());
        let (status, one) =
            get(&leader, &app, &format!("/api/v1/indicators/{code}/evaluation?period={period}&unit={unit}"))
                .await;
        assert_eq!(status, 200);
        assert_eq!(one["achievement"], e["achievement"]);
        let (_, export) = get(&leader, &app, &format!("/api/v1/indicators/export?period={period}")).await;
        let row = export["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == code && r["unit_code"] == unit)
            .expect("in the export");
        assert_eq!(row["value"], e["value"]);
        assert_eq!(row["status"], "off_track");
        let id = format!("urn:ngsi-ld:KeyPerformanceIndicator:{code}:{unit}:{period}");
        let (status, entity) =
            get(&leader, &app, &format!("/ngsi-ld/v1/entities/{id}?options=keyValues")).await;
        assert_eq!(status, 200, "{entity}");
        assert_eq!(entity["kpiValue"], e["value"]);
        assert_eq!(entity["target"], e["target"]);
        assert_eq!(entity["status"], "off_track");
        assert_eq!(entity["currentStanding"], "bad");
        let rounded = (e["achievement"].as_f64().unwrap() * 100.0).round() / 100.0;
        assert_eq!(entity["achievement"].as_f64().unwrap(), rounded);

        // The console shows the same story.
        let page = leader.get(app.url("/indicators")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("id=\"count-off_track\">{}<", off.len())), "overview page counts");
        let page =
            leader.get(app.url(&format!("/indicators/{code}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("data-status=\"off_track\""));
    }
}

fn revenue() -> Value {
    json!({"code": "test.thu", "name_vi": "Thu ngân sách thử nghiệm", "group": "budget_finance", "unit": "tỷ đồng",
           "owner_org": "so-tai-chinh", "frequency": "month", "level": "province", "accumulation": "cumulative",
           "direction": "higher_is_better", "min": 0})
}

#[tokio::test]
async fn figures_are_checked_reviewed_and_revised() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let sup = app.signed_in("supervisor").await;

        // Definitions: a formula's syntax error and a cycle are 400s naming the position or cycle.
        let mut bad = revenue();
        bad["code"] = json!("test.ty_le");
        bad["formula"] = json!("test.thu / * 100");
        let (status, problem) = post(&sup, &app, "/api/v1/indicators", bad.clone()).await;
        assert_eq!(status, 400, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("position 12"), "{problem}");
        let mut plan = revenue();
        plan["code"] = json!("test.du_toan");
        plan["name_vi"] = json!("Dự toán thu");
        let mut share = revenue();
        share["code"] = json!("test.ty_le");
        share["unit"] = json!("%");
        share["accumulation"] = json!("point_in_time");
        share["formula"] = json!("test.thu / test.du_toan * 100");
        let (status, created) = post(&sup, &app, "/api/v1/indicators", json!([revenue(), plan, share])).await;
        assert_eq!(status, 201, "{created}");
        let (status, problem) = post(
            &sup,
            &app,
            "/api/v1/indicators/test.du_toan/versions",
            json!({"valid_from": "2026-07", "formula": "test.ty_le * 2"}),
        )
        .await;
        assert_eq!(status, 400, "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("cycle"), "{problem}");

        // The department's officer is the demo's Department of Agriculture: another department
        // owes this indicator. A finance officer is made for it.
        let admin = app.signed_in("admin").await;
        let res = admin.post(app.url("/api/v1/users"))
            .json(&json!({"username": "ketoan", "org": "so-tai-chinh", "role": "officer", "password": "Mật khẩu tạm 2026!",
                          "reason": "báo cáo chỉ tiêu", "request_ref": "7/STC"}))
            .send().await.unwrap();
        assert_eq!(res.status(), 201);
        let officer = crate::harness::sign_in_new(&app, "ketoan", "Mật khẩu tạm 2026!").await;

        // A batch with a good row and bad ones: every bad row named, nothing written.
        let today =
            jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap()).date();
        let last_month = today.first_of_month().yesterday().unwrap();
        let lm = format!("{}-{:02}", last_month.year(), last_month.month());
        let this_month = format!("{}-{:02}", today.year(), today.month());
        let batch = json!({"values": [
            {"code": "test.thu", "period": lm, "kind": "actual", "value": 210.5},
            {"code": "test.khong_co", "period": lm, "value": 1},
            {"code": "test.thu", "period": this_month, "kind": "actual", "value": 5},
            {"code": "test.thu", "period": "2023-01", "kind": "actual", "value": 5},
            {"code": "test.thu", "unit_code": "99999", "period": lm, "value": 5},
            {"code": "test.thu", "period": lm, "kind": "estimate", "value": -3},
        ]});
        let (status, refused) = post(&officer, &app, "/api/v1/indicators/values", batch).await;
        assert_eq!(status, 422, "{refused}");
        let errors = refused["errors"].as_array().unwrap();
        let at = |row: u64| {
            errors
                .iter()
                .find(|e| e["row"] == row)
                .map(|e| format!("{}: {}", e["code"].as_str().unwrap(), e["message"].as_str().unwrap()))
                .unwrap_or_default()
        };
        // Each refusal by its stable code, worded in Vietnamese (the API's default language).
        assert_eq!(at(2), "unknown_indicator: Không có chỉ tiêu \"test.khong_co\".", "{errors:?}");
        assert!(at(3).starts_with("not_ended: ") && at(3).contains("chưa kết thúc"), "{errors:?}");
        assert!(at(4).starts_with("closed: ") && at(4).contains("đã khóa sổ ngày"), "{errors:?}");
        assert_eq!(at(5), "unknown_unit: Không có đơn vị hành chính \"99999\".", "{errors:?}");
        assert!(at(6).starts_with("out_of_range: -3 nằm ngoài khoảng cho phép"), "{errors:?}");
        assert_eq!(at(1), "");
        let (_, values) = get(&sup, &app, "/api/v1/indicators/values?code=test.thu").await;
        assert_eq!(values.as_array().unwrap().len(), 0, "nothing written: {values}");

        // The good row alone goes in, is approved, and the evaluation reads it.
        let one = json!({"values": [{"code": "test.thu", "period": lm, "kind": "actual", "value": 210.5}]});
        let (status, _) = post(&officer, &app, "/api/v1/indicators/values", one).await;
        assert_eq!(status, 201);
        let (_, e) = get(&sup, &app, &format!("/api/v1/indicators/test.thu/evaluation?period={lm}")).await;
        assert!(e["value"].is_null(), "not approved yet: {e}");
        let key = json!({"code": "test.thu", "unit_code": "12", "period": lm, "kind": "actual"});
        let (status, r) = post(
            &sup,
            &app,
            "/api/v1/indicators/values/review",
            json!({"keys": [key.clone()], "approve": false}),
        )
        .await;
        assert_eq!(status, 422, "a return needs its reason: {r}");
        let (status, r) = post(
            &sup,
            &app,
            "/api/v1/indicators/values/review",
            json!({"keys": [key.clone()], "approve": true}),
        )
        .await;
        assert_eq!(status, 200, "{r}");
        let (_, e) = get(&sup, &app, &format!("/api/v1/indicators/test.thu/evaluation?period={lm}")).await;
        assert_eq!(e["value"], 210.5);

        // A target far above the figures puts it off track, and the bus hears of it.
        let year = last_month.year();
        let res = send(
            &sup,
            &app,
            Method::PUT,
            "/api/v1/indicators/targets",
            Some(json!([{"code": "test.thu", "year": year, "value": 100000}])),
        )
        .await;
        assert_eq!(res.status(), 200);
        let (_, e) = get(&sup, &app, &format!("/api/v1/indicators/test.thu/evaluation?period={lm}")).await;
        assert_eq!(e["status"], "off_track", "{e}");
        let (_, audit) = get(&admin, &app, "/api/v1/audit?action=indicator.off_track").await;
        assert!(audit.to_string().contains("test.thu"), "{audit}");

        // Revising an approved figure needs a reason; the approved one stays until the revision is.
        let again = json!({"values": [{"code": "test.thu", "period": lm, "kind": "actual", "value": 230.0}]});
        let (status, r) = post(&officer, &app, "/api/v1/indicators/values", again).await;
        assert_eq!(status, 422);
        assert_eq!(r["errors"][0]["field"], "reason", "{r}");
        let again = json!({"values": [{"code": "test.thu", "period": lm, "kind": "actual", "value": 230.0,
                                       "reason": "Kho bạc điều chỉnh số thu"}]});
        let (status, _) = post(&officer, &app, "/api/v1/indicators/values", again).await;
        assert_eq!(status, 201);
        let (_, e) = get(&sup, &app, &format!("/api/v1/indicators/test.thu/evaluation?period={lm}")).await;
        assert_eq!(e["value"], 210.5, "the approved figure stays in force");
        let (_, revs) = get(
            &sup,
            &app,
            &format!("/api/v1/indicators/values/revisions?code=test.thu&unit=12&period={lm}&kind=actual"),
        )
        .await;
        let states: Vec<&str> =
            revs.as_array().unwrap().iter().map(|r| r["state"].as_str().unwrap()).collect();
        assert_eq!(states, ["submitted", "approved", "submitted"], "{revs}");
        assert_eq!(revs[2]["reason"], "Kho bạc điều chỉnh số thu");

        // The form: downloaded, filled in with a bad number, refused by row; then accepted.
        let res = officer.get(app.url(&format!("/api/v1/indicators/form?period={lm}"))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(!res.bytes().await.unwrap().is_empty());
        let csv = format!(
            "Mã chỉ tiêu (code),Kỳ báo cáo (period),Loại số liệu (kind),Giá trị (value),Ghi chú (comment)\n\
                           test.thu,{lm},Ước thực hiện,\"12,5\",\ntest.du_toan,{lm},Thực hiện,abc,\n"
        );
        let res = officer
            .post(app.url("/api/v1/indicators/form?file_name=chi-tieu.csv"))
            .header("hx-request", "true")
            .body(csv.clone())
            .send()
            .await
            .unwrap();
        let (status, r) = body(res).await;
        assert_eq!(status, 422, "{r}");
        assert_eq!(r["errors"][0]["row"], 3, "{r}");
        let fixed = csv.replace("abc", "3000");
        let res = officer
            .post(app.url("/api/v1/indicators/form?file_name=chi-tieu.csv"))
            .header("hx-request", "true")
            .body(fixed)
            .send()
            .await
            .unwrap();
        let (status, r) = body(res).await;
        assert_eq!(status, 201, "{r}");
        assert_eq!(r["accepted"], 2);

        // An ad hoc request: asked by the leader, answered with a figure, closed.
        let leader = app.signed_in("leader").await;
        let due = today.tomorrow().unwrap().to_string();
        let (status, req) = post(&leader, &app, "/api/v1/data-requests",
            json!({"to_org": "so-tai-chinh", "code": "test.thu", "question": "Số thu đến hôm nay?", "due_on": due})).await;
        assert_eq!(status, 201, "{req}");
        let id = req["id"].as_str().unwrap();
        let (status, r) = post(
            &officer,
            &app,
            &format!("/api/v1/data-requests/{id}/messages"),
            json!({"body": "Đến nay thu được 250 tỷ đồng", "value": 250}),
        )
        .await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["state"], "answered");
        let (_, r) =
            post(&leader, &app, &format!("/api/v1/data-requests/{id}/messages"), json!({"close": true}))
                .await;
        assert_eq!(r["state"], "closed");
        assert_eq!(r["messages"].as_array().unwrap().len(), 2);
        assert_eq!(r["answer_value"], 250.0);
    }
}

/// A noise sensor at `at_station`'s place with one LAeq reading observed at `at`.
fn noise(id: &str, place: &Value, laeq: f64, at: &str) -> Value {
    json!({"id": id, "type": "NoiseLevelObserved",
           "LAeq": {"type": "Property", "value": laeq, "observedAt": at},
           "dateObservedFrom": {"type": "Property", "value": at},
           "dateObservedTo": {"type": "Property", "value": at},
           "location": {"type": "GeoProperty", "value": place}})
}

#[tokio::test]
async fn a_real_time_indicator_is_computed_from_the_hub() {
    for backend in backends() {
        let store = TestStore::new(backend).await;
        let mut config = store.config();
        config.indicators.realtime_every_secs = 1;
        let app = TestApp::spawn_config(store, config, true).await;
        let sup = app.signed_in("supervisor").await;
        let officer = app.signed_in("officer").await;
        let spec = json!({"code": "test.on_24h", "name_vi": "Độ ồn trung bình 24 giờ", "group": "environment",
            "unit": "dB(A)", "owner_org": "so-nn-mt", "frequency": "real_time", "level": "commune",
            "rollup": "mean", "accumulation": "point_in_time", "direction": "lower_is_better", "min": 0, "max": 200,
            "realtime": {"entity_type": "NoiseLevelObserved", "attribute": "LAeq", "window_hours": 24,
                         "aggregate": "mean"}});
        let (status, created) = post(&sup, &app, "/api/v1/indicators", spec).await;
        assert_eq!(status, 201, "{created}");

        // Sensors where the demo's air stations of Tân Phong (03408) and Đoàn Kết (03388) are.
        let place = |id: &str| {
            let app = &app;
            let sup = &sup;
            let id = id.to_string();
            async move {
                let (_, e) =
                    get(sup, app, &format!("/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:{id}")).await;
                e["location"]["value"].clone()
            }
        };
        let tan_phong = place("kk-tan-phong").await;
        let doan_ket = place("kk-doan-ket").await;
        assert_eq!(tan_phong["type"], "Point", "{tan_phong}");
        let now = jiff::Timestamp::now();
        let ago = |h: f64| (now - jiff::SignedDuration::from_secs_f64(h * 3600.0)).to_string();
        // Tân Phong: one sensor at 60 then 80 (its mean 70), another at 50: the commune's 60,
        // each sensor counted once. Đoàn Kết: 90 a day and a half ago (outside the window), 40
        // now, and a 500 no ear could stand (outside the indicator's range, a fault): 40.
        let writes = [
            noise("urn:ngsi-ld:NoiseLevelObserved:tp-1", &tan_phong, 60.0, &ago(2.0)),
            noise("urn:ngsi-ld:NoiseLevelObserved:tp-1", &tan_phong, 80.0, &ago(1.0)),
            noise("urn:ngsi-ld:NoiseLevelObserved:tp-2", &tan_phong, 50.0, &ago(0.5)),
            noise("urn:ngsi-ld:NoiseLevelObserved:dk-1", &doan_ket, 90.0, &ago(36.0)),
            noise("urn:ngsi-ld:NoiseLevelObserved:dk-1", &doan_ket, 40.0, &ago(0.2)),
            noise("urn:ngsi-ld:NoiseLevelObserved:dk-1", &doan_ket, 500.0, &ago(0.1)),
        ];
        for w in writes {
            let res =
                send(&officer, &app, Method::POST, "/ngsi-ld/v1/entityOperations/upsert", Some(json!([w])))
                    .await;
            // 201 or 204: every entity written (a 207 would carry errors).
            assert!(matches!(res.status().as_u16(), 201 | 204), "{}", res.text().await.unwrap());
        }

        let today =
            jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap()).date();
        let month = format!("{}-{:02}", today.year(), today.month());
        let figure = |unit: &'static str| {
            let (app, sup, month) = (&app, &sup, month.clone());
            async move {
                let path = format!("/api/v1/indicators/test.on_24h/evaluation?period={month}&unit={unit}");
                for _ in 0..100 {
                    let (_, e) = get(sup, app, &path).await;
                    if !e["value"].is_null() {
                        return e;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                panic!("no figure computed for {unit}");
            }
        };
        assert_eq!(figure("03408").await["value"], 60.0);
        assert_eq!(figure("03388").await["value"], 40.0);
        // The province is the mean of its communes' figures, and meets a limit of 70.
        let res = send(
            &sup,
            &app,
            Method::PUT,
            "/api/v1/indicators/targets",
            Some(json!([{"code": "test.on_24h", "year": today.year(), "value": 70}])),
        )
        .await;
        assert_eq!(res.status(), 200);
        let province = figure("12").await;
        assert_eq!(province["value"], 50.0, "{province}");
        assert_eq!(province["status"], "on_track", "{province}");
        let (_, values) = get(&sup, &app, "/api/v1/indicators/values?code=test.on_24h").await;
        let values = values.as_array().unwrap();
        assert_eq!(values.len(), 2, "{values:?}");
        assert!(values.iter().all(|v| v["computed"] == true && v["state"] == "approved"), "{values:?}");
    }
}

#[tokio::test]
async fn owed_figures_are_overdue_reminded_and_old_ones_imported_all_or_nothing() {
    for backend in backends() {
        let store = TestStore::new(backend).await;
        let mut config = store.config();
        // Every figure due within a month is reminded of, looked for every second.
        config.indicators.remind_days = 31;
        config.indicators.remind_every_secs = 1;
        let app = TestApp::spawn_config(store, config, true).await;
        let sup = app.signed_in("supervisor").await;
        let today =
            jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap()).date();
        let month = |back: i32| {
            let d = today.first_of_month().checked_sub(jiff::Span::new().months(back)).unwrap();
            format!("{}-{:02}", d.year(), d.month())
        };
        let (two_ago, three_ago) = (month(2), month(3));
        let spec = json!({"code": "test.rac_thu_gom", "name_vi": "Tỷ lệ rác thải được thu gom", "group": "environment",
            "unit": "%", "owner_org": "so-nn-mt", "frequency": "month", "level": "province", "rollup": "none",
            "accumulation": "point_in_time", "direction": "higher_is_better", "min": 0, "max": 100,
            "valid_from": month(6)});
        let (status, created) = post(&sup, &app, "/api/v1/indicators", spec).await;
        assert_eq!(status, 201, "{created}");

        // The actual of the month before last was due on the 20th of last month: the quality
        // page's overdue list names it beside the datasets.
        let late = overdue_periods(&sup, &app).await;
        assert!(late.contains(&two_ago) && late.contains(&three_ago), "{late:?}");

        // The reminders job has told the department what falls due within the month.
        let auditor = app.signed_in("auditor").await;
        let mut reminders = Vec::new();
        for _ in 0..50 {
            let found: Value =
                crate::harness::get_json(&auditor, app.url("/api/v1/audit?action=indicator.reminder")).await;
            reminders = found.as_array().unwrap().clone();
            if !reminders.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(!reminders.is_empty(), "no reminder sent");
        // Once per organisation, period and kind, however often the job looks (it looks every
        // second: after three more rounds no reminder is there twice).
        tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
        let again: Value =
            crate::harness::get_json(&auditor, app.url("/api/v1/audit?action=indicator.reminder")).await;
        let sent: Vec<(String, String, String)> = again
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let d: Value = serde_json::from_str(r["detail"].as_str().unwrap()).unwrap();
                (r["target"].to_string(), d["period"].to_string(), d["kind"].to_string())
            })
            .collect();
        let distinct: std::collections::BTreeSet<_> = sent.iter().collect();
        assert_eq!(distinct.len(), sent.len(), "a reminder sent twice: {again}");

        // Old figures from the former reporting system: one bad row refuses the whole import.
        let figures = |third: Value| {
            json!({"source": "Hệ thống báo cáo cũ", "values": [
                {"code": "test.rac_thu_gom", "period": three_ago, "value": 81.5},
                {"code": "test.rac_thu_gom", "period": two_ago, "value": 83},
                third]})
        };
        let bad = figures(json!({"code": "test.khong_co", "period": two_ago, "value": 1}));
        let (status, problem) = post(&sup, &app, "/api/v1/indicators/history", bad).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["row"], 3, "{problem}");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("test.khong_co"), "{problem}");
        let (_, values) = get(&sup, &app, "/api/v1/indicators/values?code=test.rac_thu_gom").await;
        assert_eq!(values.as_array().unwrap().len(), 0, "nothing written: {values}");
        // A department may not import; the catalog's managers may.
        let officer = app.signed_in("officer").await;
        let good = figures(json!({"code": "test.rac_thu_gom", "period": month(4), "value": 80}));
        assert_eq!(post(&officer, &app, "/api/v1/indicators/history", good.clone()).await.0, 403);
        let (status, done) = post(&sup, &app, "/api/v1/indicators/history", good.clone()).await;
        assert_eq!(status, 201, "{done}");
        assert_eq!(done["accepted"], 3);
        let (_, e) =
            get(&sup, &app, &format!("/api/v1/indicators/test.rac_thu_gom/evaluation?period={two_ago}"))
                .await;
        assert_eq!(e["value"], 83.0, "{e}");
        // The NGSI-LD view catches up within moments (the publisher job writes it after the answer).
        let id = format!("urn:ngsi-ld:KeyPerformanceIndicator:test.rac_thu_gom:12:{two_ago}");
        let mut kpi = Value::Null;
        for _ in 0..100 {
            kpi = get(&sup, &app, &format!("/ngsi-ld/v1/entities/{id}?options=keyValues")).await.1;
            if kpi["kpiValue"] == 83.0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(kpi["kpiValue"], 83.0, "{kpi}");
        // Those months are no longer overdue; an import never writes over a kept figure.
        let late = overdue_periods(&sup, &app).await;
        assert!(!late.contains(&two_ago) && !late.contains(&three_ago), "{late:?}");
        let (status, problem) = post(&sup, &app, "/api/v1/indicators/history", good).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["code"], "already_recorded", "{problem}");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("đã có số liệu"), "{problem}");
    }
}

/// The periods of indicator figures in the quality page's overdue list.
async fn overdue_periods(who: &reqwest::Client, app: &TestApp) -> Vec<String> {
    let (status, list) = get(who, app, "/api/v1/quality/overdue").await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .filter(|o| o["source"] == "indicators")
        .map(|o| o["period"].as_str().unwrap().to_string())
        .collect()
}
