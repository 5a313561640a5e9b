//! Citizen reports on SQLite and PostgreSQL: a citizen's report walks through the centre and an
//! agency back to the citizen, who rates it; personal data stays sealed, masked and audited;
//! steps out of order answer 409; bad input is refused by name with nothing kept; duplicates
//! merge; deadlines count working time across Tết; Open311 clients see the published reports.

use haidang::demo::PROVINCE_CODE;
use haidang_core::accounts::Subject;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{backends, get, problem_code, send, Backend, TestApp, TestStore};

pub(crate) async fn reports_app(backend: Backend, history: usize) -> TestApp {
    let store = TestStore::new(backend).await;
    let mut config = store.config();
    config.demo.reports = history;
    config.demo.simulator = false;
    config.reports.lookups_per_minute = 100;
    TestApp::spawn_config(store, config, true).await
}

/// A point inside a commune of the province, and the commune's code.
pub(crate) async fn commune_point(app: &TestApp, nth: usize) -> (String, f64, f64) {
    let points = haidang::demo_stations::commune_points(&app.state).await.unwrap();
    let mut communes: Vec<(String, (f64, f64))> = points
        .into_iter()
        .filter(|(code, _)| {
            app.state.unit_index().unit(code).is_some_and(|u| u.parent_code.as_deref() == Some(PROVINCE_CODE))
        })
        .collect();
    communes.sort_by(|a, b| a.0.cmp(&b.0));
    let (code, (lon, lat)) = communes[nth % communes.len()].clone();
    (code, lon, lat)
}

async fn public_post(app: &TestApp, body: Value) -> reqwest::Response {
    send(&app.client(), app, Method::POST, "/api/v1/public/reports", Some(body)).await
}

pub(crate) async fn track(app: &TestApp, code: &str) -> (u16, Value) {
    let res =
        send(&app.client(), app, Method::POST, "/api/v1/public/track", Some(json!({ "code": code }))).await;
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

async fn step(c: &reqwest::Client, app: &TestApp, id: &str, body: Value) -> (u16, Value) {
    let res = send(c, app, Method::POST, &format!("/api/v1/reports/{id}/steps"), Some(body)).await;
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

async fn reporter(app: &TestApp, body: Value) -> (u16, Value) {
    let res = send(&app.client(), app, Method::POST, "/api/v1/public/track/steps", Some(body)).await;
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

fn ts(v: &Value) -> jiff::Timestamp {
    v.as_str().unwrap_or_else(|| panic!("not a time: {v}")).parse().unwrap()
}

#[tokio::test]
async fn a_report_goes_from_the_citizen_through_the_centre_and_an_agency_back_to_the_citizen() {
    for backend in backends() {
        let app = reports_app(backend, 0).await;
        let (commune, lon, lat) = commune_point(&app, 3).await;
        // A citizen reports pollution from the portal, leaving a phone number.
        let res = public_post(
            &app,
            json!({
                "category": "o-nhiem", "description": "Khói đốt rác bốc mùi khét mỗi tối gần trường học.",
                "lon": lon, "lat": lat, "address": "gần trường tiểu học", "public": true,
                "contact": { "name": "Lò Thị Mai", "phone": "0912 345 689" },
                "consent": "Để cơ quan xử lý liên hệ và báo kết quả"
            }),
        )
        .await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let receipt: Value = res.json().await.unwrap();
        let code = receipt["tracking_code"].as_str().unwrap().to_string();
        assert_eq!(receipt["unit_code"], json!(commune), "the commune is found from the point");
        assert!(receipt.get("number").is_none(), "the public number is not shown before publication");

        let (status, view) = track(&app, &code).await;
        assert_eq!(status, 200);
        assert_eq!(view["state"], "received");
        assert!(!view.to_string().contains("0912"), "no personal data when tracking: {view}");
        // A guessed code reveals nothing.
        for guess in ["AAAA-BBBB-CCCC-DDDD", "not a code", &code[..10]] {
            let (status, body) = track(&app, guess).await;
            assert_eq!(status, 404, "{guess}: {body}");
            assert!(!body.to_string().contains("o-nhiem"));
        }

        // The operator's queue shows it, the contact masked.
        let operator = app.signed_in("operator").await;
        let (status, queue) = get(&operator, &app, "/api/v1/reports?state=received&oldest_first=true").await;
        assert_eq!(status, 200, "{queue}");
        let item = queue
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["description"].as_str().unwrap().contains("Khói"))
            .unwrap();
        let id = item["id"].as_str().unwrap().to_string();
        let number = item["number"].as_i64().unwrap();
        assert_eq!(item["contact_masked"]["phone"], "09******89");
        assert!(!queue.to_string().contains("Lò Thị Mai"));
        let (_, detail) = get(&operator, &app, &format!("/api/v1/reports/{id}")).await;
        assert_eq!(detail["suggested_agency"], "so-nn-mt", "{detail}");

        // An agency that does not hold it cannot read it; a step out of order is a conflict.
        let officer = app.signed_in("officer").await;
        let (status, _) = get(&officer, &app, &format!("/api/v1/reports/{id}")).await;
        assert_eq!(status, 403);
        let (status, body) = step(&operator, &app, &id, json!({"step": "approve"})).await;
        assert_eq!(status, 409, "{body}");

        // One action verifies and routes it to the suggested agency, with the category's deadline.
        let (status, detail) = step(&operator, &app, &id, json!({"step": "assign", "version": 1})).await;
        assert_eq!(status, 200, "{detail}");
        assert_eq!(detail["report"]["state"], "assigned");
        let steps: Vec<&str> =
            detail["steps"].as_array().unwrap().iter().map(|s| s["action"].as_str().unwrap()).collect();
        assert_eq!(steps, ["receive", "verify", "assign"]);
        let assigned_at = ts(&detail["steps"][2]["at"]);
        let expected = app.state.reports.calendar().add_working_days(assigned_at, 7);
        assert_eq!(ts(&detail["report"]["deadline_at"]), expected, "7 working days for pollution");
        // A stale version is refused rather than overwriting a colleague's step.
        let (status, _) =
            step(&operator, &app, &id, json!({"step": "note", "note": "x", "version": 1})).await;
        assert_eq!(status, 409);

        // The agency accepts, starts and asks the reporter for more: the clock stops.
        for s in ["accept", "start"] {
            let (status, body) = step(&officer, &app, &id, json!({"step": s})).await;
            assert_eq!(status, 200, "{s}: {body}");
        }
        let (status, body) = step(&officer, &app, &id, json!({"step": "request_info"})).await;
        assert_eq!(status, 422, "the question is required: {body}");
        let (status, body) =
            step(&officer, &app, &id, json!({"step": "request_info", "note": "Xin ảnh chụp điểm đốt rác"}))
                .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["report"]["state"], "awaiting_info");
        let deadline_before = ts(&body["report"]["deadline_at"]);
        let (_, view) = track(&app, &code).await;
        assert_eq!(view["can_provide_info"], true);
        assert!(view["history"].to_string().contains("Xin ảnh chụp"), "the reporter sees the question");
        let (status, view) =
            reporter(&app, json!({"code": code, "step": "provide_info", "note": "Điểm đốt ở cuối ngõ 12"}))
                .await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["state"], "in_progress");
        let (_, detail) = get(&officer, &app, &format!("/api/v1/reports/{id}")).await;
        assert!(ts(&detail["report"]["deadline_at"]) >= deadline_before);

        // More time: asked with a reason, granted by a supervisor.
        let wanted =
            (ts(&detail["report"]["deadline_at"]) + jiff::SignedDuration::from_hours(72)).to_string();
        let (status, body) =
            step(&officer, &app, &id, json!({"step": "request_extension", "deadline": wanted})).await;
        assert_eq!(status, 422, "a reason is required: {body}");
        let (status, body) = step(
            &officer,
            &app,
            &id,
            json!({"step": "request_extension", "deadline": wanted, "note": "Cần phối hợp với UBND xã"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let ext = body["extensions"][0]["id"].as_str().unwrap().to_string();
        let (status, _) = step(
            &operator,
            &app,
            &id,
            json!({"step": "decide_extension", "extension_id": ext, "approve": true}),
        )
        .await;
        assert_eq!(status, 403, "an operator does not decide extensions");
        let supervisor = app.signed_in("supervisor").await;
        let (status, body) = step(
            &supervisor,
            &app,
            &id,
            json!({"step": "decide_extension", "extension_id": ext, "approve": true}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(ts(&body["report"]["deadline_at"]), ts(&json!(wanted)));

        // The answer waits for the centre's review before the reporter sees it.
        let (status, body) = step(
            &officer,
            &app,
            &id,
            json!({"step": "answer", "answer": "Đã xử phạt hộ đốt rác và thu gom rác về bãi tập trung."}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (_, view) = track(&app, &code).await;
        assert_eq!(view["state"], "answered");
        assert!(view["answer"].is_null(), "not shown before review: {view}");
        let (status, body) = step(&supervisor, &app, &id, json!({"step": "approve"})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["report"]["state"], "closed");
        assert!(body["report"]["published_at"].is_string());

        let (_, view) = track(&app, &code).await;
        assert!(view["answer"].as_str().unwrap().contains("xử phạt"));
        assert_eq!(view["can_rate"], true);
        let (status, view) =
            reporter(&app, json!({"code": code, "step": "rate", "rating": 5, "note": "Rất nhanh"})).await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(view["rating"], 5);
        let (status, _) = reporter(&app, json!({"code": code, "step": "rate", "rating": 1})).await;
        assert_eq!(status, 409, "rated once");

        // Published without any personal data, in the portal's list and in Open311.
        let (status, list) = get(&app.client(), &app, "/api/v1/public/reports").await;
        assert_eq!(status, 200);
        assert!(list.as_array().unwrap().iter().any(|r| r["number"] == json!(number)));
        let text = list.to_string();
        assert!(!text.contains("0912") && !text.contains("Lò Thị") && !text.contains("09******89"), "{text}");
        let res = app.client().get(app.url("/open311/v2/requests.json")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let open311: Value = res.json().await.unwrap();
        let req = open311
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service_request_id"] == json!(number.to_string()))
            .unwrap();
        assert_eq!(req["status"], "closed");
        assert_eq!(req["service_code"], "o-nhiem");
        assert!(req["agency_responsible"].as_str().unwrap().contains("Nông nghiệp"));
        let res = app
            .client()
            .get(app.url(&format!("/open311/v2/requests/{number}.json?extensions=true")))
            .send()
            .await
            .unwrap();
        let one: Value = res.json().await.unwrap();
        assert_eq!(one[0]["extended_attributes"]["detailed_status"], "closed", "{one}");

        // Unmasking is for roles allowed to, and each look is audited.
        let res = send(&operator, &app, Method::GET, &format!("/api/v1/reports/{id}/contact"), None).await;
        assert_eq!(res.status(), 200);
        let contact: Value = res.json().await.unwrap();
        assert_eq!(contact["contact"]["phone"], "0912 345 689");
        let leader = app.signed_in("leader").await;
        let res = send(&leader, &app, Method::GET, &format!("/api/v1/reports/{id}/contact"), None).await;
        assert_eq!(res.status(), 403);
        let auditor = app.signed_in("auditor").await;
        let (_, audit) = get(&auditor, &app, "/api/v1/audit?action=report.contact.view").await;
        let outcomes: Vec<&str> =
            audit.as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
        assert!(outcomes.contains(&"success") && outcomes.contains(&"denied"), "{audit}");

        // At rest the contact is sealed: neither the name nor the phone is in the row.
        let row: (String, Option<String>) =
            sqlx::query_as("SELECT doc, contact_sealed FROM citizen_reports WHERE id = $1")
                .bind(id.clone())
                .fetch_one(app.state.store.pool())
                .await
                .unwrap();
        assert!(!row.0.contains("0912 345 689") && !row.0.contains("Lò Thị Mai"));
        let sealed = row.1.unwrap();
        assert!(!sealed.contains("0912") && sealed.contains(':'));

        // The reporter has their identity erased; the report stays.
        let (status, _) = reporter(&app, json!({"code": code, "step": "erase_identity"})).await;
        assert_eq!(status, 200);
        let res = send(&operator, &app, Method::GET, &format!("/api/v1/reports/{id}/contact"), None).await;
        let contact: Value = res.json().await.unwrap();
        assert!(contact["contact"].is_null(), "{contact}");
        let (status, _) = get(&operator, &app, &format!("/api/v1/reports/{id}")).await;
        assert_eq!(status, 200);
        app.stop().await;
    }
}

#[tokio::test]
async fn bad_reports_are_refused_by_name_and_nothing_is_kept() {
    for backend in backends() {
        let store = TestStore::new(backend).await;
        let mut config = store.config();
        config.demo.reports = 0;
        config.demo.simulator = false;
        config.reports.lookups_per_minute = 3;
        let app = TestApp::spawn_config(store, config, true).await;
        let (_, lon, lat) = commune_point(&app, 0).await;
        let base = json!({"category": "chieu-sang", "description": "Đèn đường tắt cả tuần nay.", "lon": lon, "lat": lat});
        let with = |patch: Value| {
            let mut b = base.clone();
            for (k, v) in patch.as_object().unwrap() {
                b[k] = v.clone();
            }
            b
        };
        // Hà Nội is not in Lai Châu.
        let (status, code, body) =
            problem_code(public_post(&app, with(json!({"lon": 105.85, "lat": 21.03}))).await).await;
        assert_eq!((status, code.as_str()), (400, "validation_failed"), "{body}");
        assert_eq!(body["field"], "location");
        // In the reader's language: Vietnamese unless the browser asks for English.
        assert!(body["detail"].as_str().unwrap().contains("nằm ngoài địa giới tỉnh"), "{body}");
        let res = app
            .client()
            .post(app.url("/api/v1/public/reports"))
            .header("accept-language", "en")
            .json(&with(json!({"lon": 105.85, "lat": 21.03})))
            .send()
            .await
            .unwrap();
        let (_, _, english) = problem_code(res).await;
        assert!(english["detail"].as_str().unwrap().contains("outside the province"), "{english}");
        let (_, _, spam) = problem_code(
            public_post(&app, with(json!({"description": "http://a.vn http://b.vn http://c.vn mua ngay"})))
                .await,
        )
        .await;
        assert!(
            spam["detail"]
                .as_str()
                .unwrap()
                .ends_with("Nội dung phản ánh: có dấu hiệu tin rác: quá nhiều đường dẫn"),
            "{spam}"
        );
        for (patch, field) in [
            (json!({"contact": {"phone": "0912345678"}}), "consent"),
            (json!({"category": "khong-co"}), "category"),
            (json!({"description": "   "}), "description"),
            (json!({"description": "http://a.vn http://b.vn http://c.vn mua ngay"}), "description"),
            (json!({"contact": {"phone": "abc"}, "consent": "ok"}), "contact.phone"),
            (json!({"category": "thien-tai"}), "attributes.nguoi_mac_ket"),
            (json!({"lon": null, "lat": null}), "location"),
        ] {
            let (status, _, body) = problem_code(public_post(&app, with(patch.clone())).await).await;
            assert!(status == 422 || status == 400, "{patch}: {status} {body}");
            assert_eq!(body["field"], field, "{patch}: {body}");
        }
        let operator = app.signed_in("operator").await;
        let (_, all) = get(&operator, &app, "/api/v1/reports").await;
        assert_eq!(all.as_array().unwrap().len(), 0, "nothing kept: {all}");

        // Open311: key required, unknown service, missing attribute, errors in its list format.
        let client = app.client();
        let form = |pairs: &[(&str, &str)]| {
            pairs.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&")
        };
        let post = |body: String, ext: &'static str| {
            client
                .post(app.url(&format!("/open311/v2/requests.{ext}")))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
        };
        let (lon_s, lat_s) = (lon.to_string(), lat.to_string());
        let res = post(
            form(&[
                ("service_code", "chieu-sang"),
                ("lat", &lat_s),
                ("long", &lon_s),
                ("description", "Đèn hỏng"),
            ]),
            "json",
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 403);
        let errors: Value = res.json().await.unwrap();
        assert_eq!(errors[0]["code"], 403);
        assert!(errors[0]["description"].as_str().unwrap().contains("api_key"));
        let token = app
            .state
            .accounts
            .issue_token(
                &Subject::cli(),
                "officer",
                "ứng dụng thử",
                &["read".into(), "write".into()],
                jiff::SignedDuration::from_hours(1),
            )
            .await
            .unwrap()
            .secret;
        let res = post(
            form(&[("api_key", &token), ("service_code", "khong-co"), ("lat", &lat_s), ("long", &lon_s)]),
            "xml",
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 404);
        let xml = res.text().await.unwrap();
        assert!(
            xml.contains("<errors><error><code>404</code><description>") && xml.contains("khong-co"),
            "{xml}"
        );
        let res = post(
            form(&[
                ("api_key", &token),
                ("service_code", "thien-tai"),
                ("lat", &lat_s),
                ("long", &lon_s),
                ("description", "Sạt lở taluy"),
            ]),
            "json",
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 400);
        let errors: Value = res.json().await.unwrap();
        assert!(errors[0]["description"].as_str().unwrap().contains("nguoi_mac_ket"), "{errors}");
        // And with everything right, a token comes back; the id only once published.
        let res = post(
            form(&[
                ("api_key", &token),
                ("service_code", "thien-tai"),
                ("lat", &lat_s),
                ("long", &lon_s),
                ("description", "Sạt lở taluy đường vào bản"),
                ("attribute[nguoi_mac_ket]", "khong"),
                ("email", "a@b.vn"),
            ]),
            "json",
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 201);
        let created: Value = res.json().await.unwrap();
        let tracking = created[0]["token"].as_str().unwrap();
        assert!(created[0]["service_request_id"].is_null(), "{created}");
        let res = client.get(app.url(&format!("/open311/v2/tokens/{tracking}.json"))).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let tokens: Value = res.json().await.unwrap();
        assert!(tokens[0]["service_request_id"].is_null(), "not published yet: {tokens}");

        // Tracking look-ups are limited per address.
        let mut statuses = Vec::new();
        for _ in 0..5 {
            statuses.push(track(&app, "AAAA-BBBB-CCCC-DDDD").await.0);
        }
        assert_eq!(statuses, [404, 404, 429, 429, 429], "the token look-up above counted");

        app.stop().await;
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn duplicates_are_suggested_and_a_merged_report_follows_the_original() {
    for backend in backends() {
        let app = reports_app(backend, 0).await;
        let (_, lon, lat) = commune_point(&app, 5).await;
        let operator = app.signed_in("operator").await;
        let mut codes = Vec::new();
        // Two street lights out 30 m apart, and one 2 km away.
        for (dlat, text) in
            [(0.0, "Cột đèn số 12 không sáng"), (0.00027, "Đèn đường tối om"), (0.018, "Đèn hỏng ở bản khác")]
        {
            let res = public_post(
                &app,
                json!({"category": "chieu-sang", "description": text, "lon": lon, "lat": lat + dlat}),
            )
            .await;
            assert_eq!(res.status(), 201);
            codes.push(res.json::<Value>().await.unwrap()["tracking_code"].as_str().unwrap().to_string());
        }
        let (_, queue) = get(&operator, &app, "/api/v1/reports?oldest_first=true").await;
        let ids: Vec<String> =
            queue.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
        let (_, dups) = get(&operator, &app, &format!("/api/v1/reports/{}/duplicates", ids[1])).await;
        let dup_ids: Vec<&str> = dups.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(dup_ids, [ids[0].as_str()], "only the near one: {dups}");

        let (status, body) = step(&operator, &app, &ids[1], json!({"step": "merge", "into": ids[0]})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["report"]["state"], "merged");
        let (_, original) = get(&operator, &app, &format!("/api/v1/reports/{}", ids[0])).await;
        assert!(original["steps"].as_array().unwrap().iter().any(|s| s["action"] == "merged_duplicate"));
        // The duplicate's reporter follows the original's progress.
        let (status, body) =
            step(&operator, &app, &ids[0], json!({"step": "assign", "agency": "so-xay-dung"})).await;
        assert_eq!(status, 200, "{body}");
        let (_, view) = track(&app, &codes[1]).await;
        assert_eq!(view["state"], "assigned", "{view}");
        assert_eq!(view["merged_into"], original["report"]["number"]);
        // Merging into something other than an open original of the same category is refused.
        let (status, _, _) = problem_code(
            send(
                &operator,
                &app,
                Method::POST,
                &format!("/api/v1/reports/{}/steps", ids[2]),
                Some(json!({"step": "merge", "into": ids[1]})),
            )
            .await,
        )
        .await;
        assert_eq!(status, 422);
        app.stop().await;
    }
}

#[tokio::test]
async fn deadlines_count_working_time_across_tet_and_overdue_reports_are_escalated() {
    for backend in backends() {
        let app = reports_app(backend, 0).await;
        let (_, lon, lat) = commune_point(&app, 7).await;
        let reports = &app.state.reports;
        let operator = Subject::of_user(&app.state.accounts.find_user("operator").await.unwrap());
        // Thursday 12/02/2026 09:00 in Vietnam, the last working day but one before Tết.
        let received: jiff::Timestamp = "2026-02-12T02:00:00Z".parse().unwrap();
        reports.set_time(Some(received));
        let new = haidang_core::reports::NewReport {
            category: "chieu-sang".into(),
            description: "Cả dãy đèn đường tắt".into(),
            lon: Some(lon),
            lat: Some(lat),
            ..Default::default()
        };
        let receipt = reports.intake(Some(&operator), new).await.unwrap();
        let request = haidang_core::reports::StepRequest {
            step: "assign".into(),
            agency: Some("so-xay-dung".into()),
            ..Default::default()
        };
        let detail = reports.act(&operator, &receipt.report.id, request).await.unwrap();
        // 5 working days: Fri 13/02, then Tết (16/02-20/02) off, then 23, 24, 25, 26/02.
        let expected: jiff::Timestamp = "2026-02-26T10:00:00Z".parse().unwrap();
        assert_eq!(detail.report.deadline_at, Some(expected), "26/02/2026 17:00 in Vietnam");

        // A day after the deadline the upkeep escalates it, once, and the overdue list shows it.
        reports.set_time(None);
        let escalated = reports.escalate_overdue("2026-02-27T03:00:00Z".parse().unwrap()).await.unwrap();
        assert_eq!(escalated.len(), 1);
        assert!(reports.escalate_overdue("2026-02-27T04:00:00Z".parse().unwrap()).await.unwrap().is_empty());
        let supervisor = app.signed_in("supervisor").await;
        let (status, overdue) = get(&supervisor, &app, "/api/v1/reports/overdue").await;
        assert_eq!(status, 200);
        assert_eq!(overdue[0]["report"]["id"], json!(receipt.report.id), "{overdue}");
        assert!(overdue[0]["hours_late"].as_i64().unwrap() > 24 * 200, "late since February");

        // The calendar is edited per year: a swapped Saturday, refused when it is a weekday.
        let (status, year) = get(&supervisor, &app, "/api/v1/calendar/2026").await;
        assert_eq!(status, 200);
        assert_eq!(year["edited"], false);
        let mut days = year["days"].as_array().unwrap().clone();
        days.push(json!({"date": "2026-05-09", "kind": "working_day", "name_vi": "Làm bù", "name_en": "Make-up working day"}));
        let res = send(&supervisor, &app, Method::PUT, "/api/v1/calendar/2026", Some(json!(days))).await;
        assert_eq!(res.status(), 204, "{}", res.text().await.unwrap());
        let (_, year) = get(&supervisor, &app, "/api/v1/calendar/2026").await;
        assert_eq!(year["edited"], true);
        assert!(reports.calendar().is_working_day(jiff::civil::date(2026, 5, 9)));
        days.push(json!({"date": "2026-05-13", "kind": "working_day", "name_vi": "Sai", "name_en": "Wrong"}));
        let (status, _, body) = problem_code(
            send(&supervisor, &app, Method::PUT, "/api/v1/calendar/2026", Some(json!(days))).await,
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("13/05/2026"), "{body}");
        let operator_client = app.signed_in("operator").await;
        let res = send(&operator_client, &app, Method::DELETE, "/api/v1/calendar/2026", None).await;
        assert_eq!(res.status(), 403, "operators do not edit the calendar");
        app.stop().await;
    }
}

#[tokio::test]
async fn an_agency_returns_what_is_not_its_own_and_the_centre_routes_it_again() {
    for backend in backends() {
        let app = reports_app(backend, 0).await;
        let (_, lon, lat) = commune_point(&app, 2).await;
        let res = public_post(
            &app,
            json!({"category": "o-nhiem", "description": "Nước suối đục, cá chết", "lon": lon, "lat": lat}),
        )
        .await;
        assert_eq!(res.status(), 201);
        let operator = app.signed_in("operator").await;
        let officer = app.signed_in("officer").await;
        let (_, queue) = get(&operator, &app, "/api/v1/reports").await;
        let id = queue[0]["id"].as_str().unwrap().to_string();
        let (status, body) = step(&operator, &app, &id, json!({"step": "assign", "supporting": [{"agency": "so-y-te", "part": "Kiểm tra nguồn nước sinh hoạt"}]})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["assignments"].as_array().unwrap().len(), 2);
        // The agency sees it in its own list; the routing table's agency does the work.
        let (_, mine) = get(&officer, &app, "/api/v1/reports").await;
        assert_eq!(mine.as_array().unwrap().len(), 1);
        let (status, body) = step(&officer, &app, &id, json!({"step": "return"})).await;
        assert_eq!(status, 422, "a reason is required: {body}");
        let (status, body) =
            step(&officer, &app, &id, json!({"step": "return", "note": "Thuộc thẩm quyền UBND xã"})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["report"]["state"], "returned");
        assert!(body["assignments"].as_array().unwrap().iter().all(|a| !a["ended_at"].is_null()));
        // Once returned the agency no longer holds it.
        let (status, _) = step(&officer, &app, &id, json!({"step": "accept"})).await;
        assert_eq!(status, 409, "a returned report waits for the centre");
        let (status, body) =
            step(&operator, &app, &id, json!({"step": "assign", "agency": "so-xay-dung"})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["report"]["state"], "assigned");
        let (_, mine) = get(&officer, &app, "/api/v1/reports").await;
        assert_eq!(mine.as_array().unwrap().len(), 0, "{mine}");
        // The routing table is the admins' to edit, checked row by row.
        let admin = app.signed_in("admin").await;
        let res = send(
            &admin,
            &app,
            Method::PUT,
            "/api/v1/report-routes",
            Some(json!([{"category": "o-nhiem", "org_code": "khong-co"}])),
        )
        .await;
        let (status, _, body) = problem_code(res).await;
        assert_eq!(status, 422);
        assert!(body["detail"].as_str().unwrap().contains("khong-co"), "{body}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_demo_history_has_reports_in_every_state_and_keys_rotate() {
    for backend in backends() {
        let app = reports_app(backend, 60).await;
        let supervisor = app.signed_in("supervisor").await;
        let (_, all) = get(&supervisor, &app, "/api/v1/reports?limit=1000").await;
        let all = all.as_array().unwrap();
        assert_eq!(all.len(), 60);
        let states: std::collections::BTreeSet<&str> =
            all.iter().map(|r| r["state"].as_str().unwrap()).collect();
        for s in ["received", "assigned", "in_progress", "closed", "rejected"] {
            assert!(states.contains(s), "{s} missing from {states:?}");
        }
        let (_, categories) = get(&app.client(), &app, "/api/v1/report-categories").await;
        assert!(categories.as_array().unwrap().len() >= 20);
        let res = app.client().get(app.url("/open311/v2/services.xml")).send().await.unwrap();
        let xml = res.text().await.unwrap();
        assert!(xml.matches("<service>").count() >= 20, "{xml}");

        // The statistics agree with the list, for the centre and (as aggregates) the public.
        let from = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 70)).to_string();
        let count = |state: &str| all.iter().filter(|r| r["state"] == state).count() as i64;
        let (status, stats) =
            get(&supervisor, &app, &format!("/api/v1/reports/statistics?by=agency&from={from}")).await;
        assert_eq!(status, 200, "{stats}");
        assert_eq!(stats["total"]["received"], 60);
        assert_eq!(stats["total"]["closed"], json!(count("closed")));
        assert_eq!(stats["total"]["rejected"], json!(count("rejected") + count("merged")));
        let summed: i64 =
            stats["rows"].as_array().unwrap().iter().map(|r| r["received"].as_i64().unwrap()).sum();
        assert_eq!(summed, 60, "the rows add up to the total");
        let overdue = all.iter().filter(|r| r["overdue"] == true).count() as i64;
        assert_eq!(stats["total"]["overdue"], json!(overdue));
        assert!(stats["total"]["median_handling_hours"].as_f64().unwrap() > 0.0);
        let satisfaction = stats["total"]["satisfaction"].as_f64().unwrap();
        assert!((1.0..=5.0).contains(&satisfaction), "{satisfaction}");
        let (status, public) =
            get(&app.client(), &app, &format!("/api/v1/public/statistics?by=category&from={from}")).await;
        assert_eq!(status, 200);
        assert_eq!(public["total"]["received"], 60);
        let text = public.to_string();
        assert!(
            !text.contains("contact") && !text.contains("description") && !text.contains("tracking"),
            "aggregates only"
        );
        let res = supervisor
            .get(app.url(&format!("/api/v1/reports/statistics?by=agency&from={from}&format=csv")))
            .send()
            .await
            .unwrap();
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let csv = res.bytes().await.unwrap();
        assert!(csv.starts_with(b"\xef\xbb\xbf"), "UTF-8 with a BOM for Excel");
        let csv = String::from_utf8(csv.to_vec()).unwrap();
        assert!(csv.contains("Tiếp nhận") && csv.contains("Tổng cộng"), "{csv}");
        let res = supervisor
            .get(app.url(&format!("/api/v1/reports/statistics?by=unit&from={from}&format=xlsx")))
            .send()
            .await
            .unwrap();
        assert!(res.bytes().await.unwrap().starts_with(b"PK"));
        // Each agency's row counts the reports it holds now (the demo transferred and returned
        // some): the running tallies moved with every step.
        for row in stats["rows"].as_array().unwrap() {
            let agency = row["key"].as_str().unwrap();
            let held = all.iter().filter(|r| r["agency_id"].as_str().unwrap_or("") == agency).count();
            assert_eq!(row["received"], json!(held), "agency '{agency}'");
        }
        // A period that starts and ends inside days: the ends are counted from the reports, the
        // days between from the tallies, and together they agree with the list.
        let start =
            jiff::Timestamp::now() - jiff::SignedDuration::from_secs(24 * 3600 * 41 + 5 * 3600 + 17 * 60);
        let end = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(24 * 3600 * 6 + 2 * 3600 + 31);
        let inside = all
            .iter()
            .filter(|r| {
                let at: jiff::Timestamp = r["received_at"].as_str().unwrap().parse().unwrap();
                start <= at && at < end
            })
            .count();
        let (_, part) =
            get(&supervisor, &app, &format!("/api/v1/reports/statistics?by=channel&from={start}&to={end}"))
                .await;
        assert_eq!(part["total"]["received"], json!(inside), "{part}");
        // A database from before the tallies (none kept): the server counts them at start,
        // and the figures are the same.
        sqlx::query("DELETE FROM citizen_report_tallies").execute(app.state.store.pool()).await.unwrap();
        app.state.store.migrate().await.unwrap();
        let (_, again) =
            get(&supervisor, &app, &format!("/api/v1/reports/statistics?by=agency&from={from}")).await;
        assert_eq!(again["total"], stats["total"]);
        assert_eq!(again["rows"], stats["rows"]);
        let (status, _) = get(&supervisor, &app, "/api/v1/reports/statistics?by=weather").await;
        assert_eq!(status, 422);
        let (status, far) =
            get(&supervisor, &app, "/api/v1/reports/statistics?from=2026-01-01&to=9999-12-31").await;
        assert_eq!((status, far["field"].as_str()), (422, Some("to")), "{far}");
        let officer = app.signed_in("officer").await;
        let (status, _) = get(&officer, &app, "/api/v1/reports/statistics").await;
        assert_eq!(status, 403);

        // Identities are erased after the retention period (730 days after closing by default).
        let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 800);
        let erased = app.state.reports.erase_expired(later).await.unwrap();
        assert!(erased > 0);
        let closed_with_contact: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM citizen_reports WHERE state = 'closed' AND contact_sealed IS NOT NULL",
        )
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
        assert_eq!(closed_with_contact, 0);

        // Rotation: a new key first, the old one kept; contacts are re-sealed under the new one.
        let old_key =
            std::fs::read_to_string(app.state.config.contact_key_file()).unwrap().trim().to_string();
        let store = app.stop().await;
        let mut config = store.config();
        config.demo.reports = 60;
        config.demo.simulator = false;
        let new_key = haidang_core::reports::privacy::ContactVault::generate_key("k2");
        config.reports.contact_keys = vec![new_key, old_key];
        let app = TestApp::spawn_config(store, config, true).await;
        // The server re-seals at start in the background; doing it here as well is harmless.
        app.state.reports.reseal_contacts().await.unwrap();
        let sealed: Vec<(String,)> =
            sqlx::query_as("SELECT contact_sealed FROM citizen_reports WHERE contact_sealed IS NOT NULL")
                .fetch_all(app.state.store.pool())
                .await
                .unwrap();
        assert!(sealed.iter().all(|(s,)| s.starts_with("k2:")));
        let supervisor = Subject::of_user(&app.state.accounts.find_user("supervisor").await.unwrap());
        // One still open: the closed ones' identities were erased above.
        let with_contact = all
            .iter()
            .find(|r| {
                !r["contact_masked"].is_null()
                    && !["closed", "rejected", "merged"].contains(&r["state"].as_str().unwrap())
            })
            .unwrap();
        let contact = app
            .state
            .reports
            .contact(&supervisor, with_contact["id"].as_str().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(contact.phone.unwrap().starts_with("09"));
        app.stop().await;
    }
}

/// A 64×48 JPEG as a phone writes it: an EXIF segment with the position, then the image.
pub(crate) fn phone_photo() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 128]));
    let mut plain = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut plain, image::ImageFormat::Jpeg).unwrap();
    let plain = plain.into_inner();
    let exif = b"Exif\0\0GPSLatitude 22.3946 GPSLongitude 103.4580";
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(exif);
    out.extend_from_slice(&plain[2..]);
    out
}

fn has(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn media_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM report_media").fetch_one(app.state.store.pool()).await.unwrap()
}

#[tokio::test]
async fn photos_lose_their_position_before_anyone_but_authorised_staff_sees_them() {
    for backend in backends() {
        let app = reports_app(backend, 0).await;
        let (_, lon, lat) = commune_point(&app, 4).await;
        let client = app.client();
        let upload = |bytes: Vec<u8>, ct: &'static str| {
            client.post(app.url("/api/v1/public/media")).header("content-type", ct).body(bytes).send()
        };
        // Refused: another type (415), too large (413); nothing is kept.
        let res = upload(b"%PDF-1.7 hello".to_vec(), "application/pdf").await.unwrap();
        let (status, code, _) = problem_code(res).await;
        assert_eq!((status, code.as_str()), (415, "unsupported_media_type"));
        let mut big = phone_photo();
        big.resize(9 * 1024 * 1024, 0);
        let (status, code, body) = problem_code(upload(big, "image/jpeg").await.unwrap()).await;
        assert_eq!((status, code.as_str()), (413, "body_too_large"), "{body}");
        assert_eq!(media_rows(&app).await, 0, "nothing stored");

        let res = upload(phone_photo(), "image/jpeg").await.unwrap();
        assert_eq!(res.status(), 201);
        let uploaded: Value = res.json().await.unwrap();
        let media_id = uploaded["id"].as_str().unwrap().to_string();
        // Not served until it belongs to a report.
        let res = client.get(app.url(&format!("/api/v1/public/media/{media_id}"))).send().await.unwrap();
        assert_eq!(res.status(), 404);
        let res = public_post(&app, json!({"category": "cay-xanh", "description": "Cây đổ chắn đường", "lon": lon, "lat": lat, "media_ids": [media_id], "public": true})).await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let code = res.json::<Value>().await.unwrap()["tracking_code"].as_str().unwrap().to_string();
        let (_, view) = track(&app, &code).await;
        let url = view["media"][0]["url"].as_str().unwrap().to_string();
        let public = client.get(app.url(&url)).send().await.unwrap();
        assert_eq!(public.headers()["content-type"], "image/jpeg");
        let public = public.bytes().await.unwrap();
        assert!(!has(&public, b"GPSLatitude"), "the public copy carries no position");
        assert!(image::load_from_memory(&public).is_ok());
        // The same upload cannot be attached to a second report.
        let res = public_post(&app, json!({"category": "cay-xanh", "description": "Lại cây đổ", "lon": lon, "lat": lat, "media_ids": [media_id]})).await;
        let (status, _, body) = problem_code(res).await;
        assert_eq!(status, 422);
        assert_eq!(body["field"], "media_ids");

        // Staff: the original only for roles that may see personal data, audited.
        let operator = app.signed_in("operator").await;
        let (_, queue) = get(&operator, &app, "/api/v1/reports").await;
        let id = queue[0]["id"].as_str().unwrap().to_string();
        let original = operator
            .get(app.url(&format!("/api/v1/reports/{id}/media/{media_id}?original=true")))
            .send()
            .await
            .unwrap();
        assert_eq!(original.status(), 200);
        assert!(has(&original.bytes().await.unwrap(), b"GPSLatitude"));
        let leader = app.signed_in("leader").await;
        let res = leader
            .get(app.url(&format!("/api/v1/reports/{id}/media/{media_id}?original=true")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let res =
            leader.get(app.url(&format!("/api/v1/reports/{id}/media/{media_id}"))).send().await.unwrap();
        assert_eq!(res.status(), 200, "the public copy is for every reader of the report");

        // Redaction pixelates the public copy; the original stays.
        let res = send(
            &operator,
            &app,
            Method::POST,
            &format!("/api/v1/reports/{id}/media/{media_id}/redact"),
            Some(json!({"rects": [{"x": 0, "y": 0, "w": 32, "h": 24}]})),
        )
        .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let after = client.get(app.url(&url)).send().await.unwrap().bytes().await.unwrap();
        assert_ne!(after, public);
        let red = image::load_from_memory(&after).unwrap().to_rgb8();
        // The photo's red channel rises 4 per pixel across; inside a pixelated block it is flat
        // (give or take the JPEG encoder's ringing), outside the area the gradient is intact.
        let red_at = |x: u32, y: u32| i32::from(red.get_pixel(x, y).0[0]);
        assert!(
            (red_at(7, 2) - red_at(1, 2)).abs() <= 10,
            "flat inside the area: {} vs {}",
            red_at(1, 2),
            red_at(7, 2)
        );
        assert!((red_at(62, 40) - red_at(40, 40)).abs() >= 60, "the gradient outside the area is kept");
        let original = operator
            .get(app.url(&format!("/api/v1/reports/{id}/media/{media_id}?original=true")))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(original, phone_photo());
        let auditor = app.signed_in("auditor").await;
        let (_, audit) = get(&auditor, &app, "/api/v1/audit?action=report.media.original").await;
        assert_eq!(audit.as_array().unwrap().len(), 2, "each look at an original is recorded");

        // Open311's media extension: a multipart request with a `media` file.
        let token = app
            .state
            .accounts
            .issue_token(
                &Subject::cli(),
                "officer",
                "ứng dụng",
                &["read".into(), "write".into()],
                jiff::SignedDuration::from_hours(1),
            )
            .await
            .unwrap()
            .secret;
        let form = reqwest::multipart::Form::new()
            .text("api_key", token)
            .text("service_code", "cay-xanh")
            .text("lat", lat.to_string())
            .text("long", lon.to_string())
            .text("description", "Cành cây gãy treo trên dây điện")
            .part(
                "media",
                reqwest::multipart::Part::bytes(phone_photo())
                    .file_name("anh.jpg")
                    .mime_str("image/jpeg")
                    .unwrap(),
            );
        let res = client.post(app.url("/open311/v2/requests.json")).multipart(form).send().await.unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let created: Value = res.json().await.unwrap();
        let media_url = created[0]["media_url"].as_str().unwrap();
        let path = &media_url[media_url.find("/api/v1/public/media/").unwrap()..];
        let copy = client.get(app.url(path)).send().await.unwrap().bytes().await.unwrap();
        assert!(!has(&copy, b"GPSLatitude") && image::load_from_memory(&copy).is_ok());
        app.stop().await;
    }
}

#[tokio::test]
async fn reporters_are_told_through_the_gateway_and_erased_identities_are_not() {
    use crate::receiver::{Mode, Receiver};
    for backend in backends() {
        let gateway = Receiver::start(Mode::Accept).await;
        let store = TestStore::new(backend).await;
        let mut config = store.config();
        config.demo.reports = 0;
        config.demo.simulator = false;
        config.reports.notify_webhook = gateway.url.clone();
        let app = TestApp::spawn_config(store, config, true).await;
        let (_, lon, lat) = commune_point(&app, 6).await;
        let res = public_post(
            &app,
            json!({"category": "o-nhiem", "description": "Nước thải chảy ra suối", "lon": lon, "lat": lat,
            "contact": {"name": "Lù Văn Pâng", "phone": "0987654321"}, "consent": "Để báo kết quả"}),
        )
        .await;
        assert_eq!(res.status(), 201);
        let code = res.json::<Value>().await.unwrap()["tracking_code"].as_str().unwrap().to_string();
        // An anonymous report tells nobody.
        let res = public_post(
            &app,
            json!({"category": "o-nhiem", "description": "Khói đen từ lò gạch", "lon": lon, "lat": lat}),
        )
        .await;
        assert_eq!(res.status(), 201);
        let got = gateway.wait_for(1, 10).await;
        let receipt = &got[0].body;
        assert_eq!(receipt["event"], "receive");
        assert_eq!(receipt["phone"], "0987654321");
        assert!(
            receipt["text"].as_str().unwrap().contains(&code),
            "the receipt carries the tracking code: {receipt}"
        );
        let sms = receipt["sms_text"].as_str().unwrap();
        assert!(sms.is_ascii() && sms.contains("da tiep nhan phan anh so"), "{sms}");
        assert!(!receipt["text"].as_str().unwrap().contains("{number}"), "the number is filled in");

        let operator = app.signed_in("operator").await;
        let (_, queue) = get(&operator, &app, "/api/v1/reports?oldest_first=true").await;
        let id = queue[0]["id"].as_str().unwrap().to_string();
        let (status, _) = step(&operator, &app, &id, json!({"step": "assign"})).await;
        assert_eq!(status, 200);
        let got = gateway.wait_for(2, 10).await;
        assert_eq!(got[1].body["event"], "assign");
        assert_eq!(got.len(), 2, "the anonymous report sent nothing");

        // After the reporter has their identity erased, a later step tells nobody.
        let (status, _) = reporter(&app, json!({"code": code, "step": "erase_identity"})).await;
        assert_eq!(status, 200);
        let officer = app.signed_in("officer").await;
        let (status, _) =
            step(&officer, &app, &id, json!({"step": "return", "note": "Không thuộc thẩm quyền"})).await;
        assert_eq!(status, 200);
        let (status, _) =
            step(&operator, &app, &id, json!({"step": "assign", "agency": "so-xay-dung"})).await;
        assert_eq!(status, 200);
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert_eq!(gateway.accepted().len(), 2, "nothing sent after the erasure");
        app.stop().await;
    }
}

#[tokio::test]
async fn emails_dropped_in_the_folder_become_reports_and_bad_ones_are_set_aside() {
    use base64::Engine;
    for backend in backends() {
        let app = reports_app(backend, 0).await;
        let dir = crate::harness::TempDir::new("maildrop");
        let photo = base64::engine::general_purpose::STANDARD.encode(phone_photo());
        let mail = format!(
            "From: =?UTF-8?Q?V=C3=A0ng_Th=E1=BB=8B_Dung?= <dung@example.vn>\r\nTo: phananh@laichau.gov.vn\r\n\
             Subject: =?UTF-8?Q?C=C3=A2y_=C4=91=E1=BB=95?=\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\nCây đổ chắn ngang đường vào bản Nậm Loỏng.\r\n--b\r\n\
             Content-Type: image/jpeg; name=\"cay.jpg\"\r\nContent-Disposition: attachment; filename=\"cay.jpg\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{photo}\r\n--b\r\nContent-Type: application/pdf; name=\"don.pdf\"\r\n\
             Content-Disposition: attachment; filename=\"don.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjcK\r\n--b--\r\n"
        );
        std::fs::write(dir.0.join("1.eml"), mail).unwrap();
        std::fs::write(dir.0.join("2.eml"), b"\x00\x01 not a message").unwrap();
        let made = haidang_server::jobs::email_round(&app.state, &dir.0).await.unwrap();
        assert_eq!(made, 1);
        assert!(dir.0.join("done/1.eml").exists());
        assert!(dir.0.join("failed/2.eml").exists() && dir.0.join("failed/2.eml.reason.txt").exists());

        let operator = app.signed_in("operator").await;
        let (_, queue) = get(&operator, &app, "/api/v1/reports?channel=email").await;
        let r = &queue[0];
        assert_eq!(r["category"], "khac");
        assert_eq!(r["contact_masked"]["email"], "d***@example.vn");
        let description = r["description"].as_str().unwrap();
        assert!(
            description.starts_with("Cây đổ")
                && description.contains("Nậm Loỏng")
                && description.contains("don.pdf"),
            "{description}"
        );
        let id = r["id"].as_str().unwrap().to_string();
        let (_, detail) = get(&operator, &app, &format!("/api/v1/reports/{id}")).await;
        assert_eq!(detail["media"].as_array().unwrap().len(), 1, "the photo is kept, the PDF is not");
        // The operator classifies it and places it while verifying.
        let (commune, _, _) = commune_point(&app, 1).await;
        let (status, body) = step(&operator, &app, &id, json!({"step": "verify", "category": "cay-xanh", "unit_code": commune, "address": "đường vào bản Nậm Loỏng"})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["report"]["category"], "cay-xanh");
        assert_eq!(body["report"]["unit_code"], json!(commune));
        app.stop().await;
    }
}

#[tokio::test]
async fn reports_sent_at_once_are_all_kept_with_their_own_numbers_and_a_bad_one_fails_alone() {
    for backend in backends() {
        let app = reports_app(backend, 0).await;
        let operator = app.signed_in("operator").await;
        let (_, lon, lat) = commune_point(&app, 3).await;
        // Forty hotline reports at the same moment: intake writes them in shared transactions.
        // One names an upload that does not exist; it alone is refused.
        let sends = (0..40).map(|i| {
            let mut body = json!({
                "category": "chieu-sang", "channel": "hotline", "lon": lon, "lat": lat,
                "description": format!("Đèn đường số {i} tắt từ tối qua."),
            });
            if i == 17 {
                body["media_ids"] = json!(["khong-co-anh"]);
            }
            let (operator, app) = (&operator, &app);
            async move { send(operator, app, Method::POST, "/api/v1/reports", Some(body)).await }
        });
        let answers = futures_util::future::join_all(sends).await;
        let mut numbers = std::collections::BTreeSet::new();
        for (i, res) in answers.into_iter().enumerate() {
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            if i == 17 {
                assert_eq!(status, 422, "{body}");
                assert_eq!(body["field"], "media_ids", "{body}");
            } else {
                assert_eq!(status, 201, "report {i}: {body}");
                assert_eq!(body["report"]["description"], format!("Đèn đường số {i} tắt từ tối qua."));
                numbers.insert(body["report"]["number"].as_i64().unwrap());
            }
        }
        assert_eq!(numbers.len(), 39, "each report its own number");
        let (_, all) = get(&operator, &app, "/api/v1/reports?limit=100").await;
        assert_eq!(all.as_array().unwrap().len(), 39);
        let (_, stats) = get(&operator, &app, "/api/v1/reports/statistics?by=channel").await;
        assert_eq!(stats["total"]["received"], 39, "{stats}");
        // Each staff intake is in the audit trail, in a chain that still verifies.
        let audited: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'report.intake'")
                .fetch_one(app.state.store.pool())
                .await
                .unwrap();
        assert_eq!(audited, 39);
        assert!(matches!(
            haidang::commands::verify(&app.state).await.unwrap(),
            haidang_core::audit::VerifyReport::Intact { .. }
        ));
        app.stop().await;
    }
}

#[tokio::test]
async fn reporters_who_leave_an_email_address_are_told_by_mail_and_a_refused_mail_is_sent_again() {
    use crate::receiver::{Mode, Receiver};
    use crate::smtp_sink::SmtpSink;
    for backend in backends() {
        let gateway = Receiver::start(Mode::Accept).await;
        // The mail server is busy the first time (451), as relays are.
        let mail = SmtpSink::start(1).await;
        let store = TestStore::new(backend).await;
        let mut config = store.config();
        config.demo.simulator = false;
        config.reports.notify_webhook = gateway.url.clone();
        config.reports.smtp_url = mail.url.clone();
        config.reports.smtp_from = "Trung tâm IOC Lai Châu <phananh@laichau.gov.vn>".into();
        let app = TestApp::spawn_config(store, config, true).await;
        let (_, lon, lat) = commune_point(&app, 2).await;
        let res = public_post(
            &app,
            json!({"category": "chieu-sang", "description": "Đèn đường trước chợ tắt", "lon": lon, "lat": lat,
            "contact": {"name": "Vàng Thị Dung", "phone": "0912345678", "email": "dung@example.vn"},
            "consent": "Để báo kết quả"}),
        )
        .await;
        assert_eq!(res.status(), 201);
        let code = res.json::<Value>().await.unwrap()["tracking_code"].as_str().unwrap().to_string();
        assert_eq!(gateway.wait_for(1, 10).await.len(), 1, "the SMS gateway has the receipt");

        let operator = app.signed_in("operator").await;
        let (_, queue) = get(&operator, &app, "/api/v1/reports").await;
        let id = queue[0]["id"].as_str().unwrap().to_string();
        let number = queue[0]["number"].as_i64().unwrap();
        let mut notice = None;
        for _ in 0..100 {
            let notices = app.state.reports.notices_of(&id).await.unwrap();
            if notices[0].attempts > 0 {
                notice = Some(notices[0].clone());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let notice = notice.expect("the notice was tried");
        assert_eq!(notice.state, "pending", "tried again later: {notice:?}");
        assert!(notice.last_error.as_deref().unwrap_or("").contains("451"), "{notice:?}");
        assert_eq!(notice.delivered, vec!["webhook".to_string()]);

        // The retry is due later: move the service's clock past it.
        app.state.reports.set_time(Some(jiff::Timestamp::now() + jiff::SignedDuration::from_mins(10)));
        let taken = mail.wait_for(1, 15).await;
        app.state.reports.set_time(None);
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].to, vec!["<dung@example.vn>".to_string()]);
        let message = mail_parser::MessageParser::default().parse(taken[0].data.as_bytes()).unwrap();
        assert_eq!(message.subject(), Some(format!("Phản ánh số {number}").as_str()));
        let from = message.from().and_then(|f| f.first()).and_then(|a| a.address()).unwrap();
        assert_eq!(from, "phananh@laichau.gov.vn");
        let text = message.body_text(0).unwrap();
        assert!(text.contains("đã tiếp nhận phản ánh số") && text.contains(&code), "{text}");
        // Only the mail was sent again: the gateway still has one message.
        assert_eq!(gateway.accepted().len(), 1);
        let notices = app.state.reports.notices_of(&id).await.unwrap();
        assert_eq!(notices[0].state, "sent");
        assert_eq!(notices[0].delivered, vec!["webhook".to_string(), "email".to_string()]);
        app.stop().await;
    }
}

#[tokio::test]
async fn emails_in_the_centres_mailbox_become_reports_and_each_is_filed_by_what_became_of_it() {
    for backend in backends() {
        let Some(imap) = crate::imap_server::Dovecot::start().await else { return };
        let app = reports_app(backend, 0).await;
        let mail = "From: =?UTF-8?Q?L=C3=B2_V=C4=83n_Th=C3=A0nh?= <thanh@example.vn>\r\nTo: phananh@laichau.gov.vn\r\n\
                    Subject: =?UTF-8?Q?S=E1=BA=A1t_l=E1=BB=9F?=\r\nMIME-Version: 1.0\r\n\
                    Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
                    Sạt lở taluy dương trên đường lên bản Sì Thâu Chải, đất đá lấn nửa mặt đường.\r\n";
        imap.deliver(mail.as_bytes()).await;
        imap.deliver(b"\x00\x01 not a message").await;

        // A wrong password is named, and nothing moves.
        let wrong = haidang_connect::imap::ImapMailbox::parse(&imap.url("sai")).unwrap();
        let e = haidang_server::jobs::mailbox_round(&app.state, &wrong).await.unwrap_err();
        assert!(e.contains("login as phananh"), "{e}");
        assert_eq!(imap.count("INBOX").await, 2);

        let mailbox =
            haidang_connect::imap::ImapMailbox::parse(&imap.url(crate::imap_server::PASSWORD)).unwrap();
        let round = haidang_server::jobs::mailbox_round(&app.state, &mailbox).await.unwrap();
        assert_eq!(round.taken, 1, "{round:?}");
        assert_eq!(round.failed.len(), 1, "{round:?}");
        // The server keeps any bytes as a message; what it says is not a report, and says why.
        assert!(round.failed[0].contains("description"), "{round:?}");
        assert_eq!(imap.count("INBOX").await, 0);
        assert_eq!(imap.count("HaiDang-Done").await, 1);
        assert_eq!(imap.count("HaiDang-Failed").await, 1);

        let operator = app.signed_in("operator").await;
        let (_, queue) = get(&operator, &app, "/api/v1/reports?channel=email").await;
        assert_eq!(queue.as_array().unwrap().len(), 1);
        let r = &queue[0];
        assert_eq!(r["contact_masked"]["email"], "t***@example.vn");
        assert!(r["description"].as_str().unwrap().contains("Sì Thâu Chải"), "{r}");
        // Nothing is taken twice.
        let again = haidang_server::jobs::mailbox_round(&app.state, &mailbox).await.unwrap();
        assert_eq!((again.taken, again.failed.len()), (0, 0));
        let (_, queue) = get(&operator, &app, "/api/v1/reports?channel=email").await;
        assert_eq!(queue.as_array().unwrap().len(), 1);
        app.stop().await;
    }
}
