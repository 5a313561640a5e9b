//! Administrative units (tree, codes, kinds, successions, import, point lookup) and organisations.

use serde_json::{json, Value};

use crate::harness::{backends, problem_code, TestApp};

/// A point inside Phường Đoàn Kết (03388), Lai Châu's provincial town centre.
const DOAN_KET: (f64, f64) = (103.32877, 22.478638);

async fn get(c: &reqwest::Client, url: String) -> Value {
    let res = c.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1")
        .bind(action)
        .fetch_one(app.state.store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_demo_province_has_its_38_communes_and_points_find_their_unit() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let c = app.signed_in("operator").await;
        let communes = get(&c, app.url("/api/v1/units?parent=12")).await;
        let communes = communes.as_array().unwrap();
        assert_eq!(communes.len(), 38, "{backend:?}");
        let kinds: Vec<&str> = communes.iter().map(|u| u["kind"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"commune") && kinds.contains(&"ward"), "xã and phường kept apart: {kinds:?}");
        let provinces = get(&c, app.url("/api/v1/units?kind=province")).await;
        assert_eq!(provinces.as_array().unwrap().len(), 34);

        let unit = get(&c, app.url("/api/v1/units/03388")).await;
        assert_eq!(unit["full_name_vi"], "Phường Đoàn Kết");
        assert_eq!(unit["kind"], "ward");
        assert_eq!(unit["parent_code"], "12");
        assert_eq!(unit["parent"]["name_vi"], "Lai Châu");
        assert_eq!(unit["valid_from"], "2025-07-01");
        assert!(unit["area_km2"].as_f64().unwrap() > 100.0);

        let geo = get(&c, app.url("/api/v1/units/geojson?parent=12")).await;
        assert_eq!(geo["type"], "FeatureCollection");
        assert_eq!(geo["features"].as_array().unwrap().len(), 38);

        let (lon, lat) = DOAN_KET;
        let hit = get(&c, app.url(&format!("/api/v1/units/lookup?lon={lon}&lat={lat}"))).await;
        assert_eq!(hit["codes"], json!(["03388", "12"]), "commune first, then province");
        assert_eq!(hit["unit"]["name_vi"], "Đoàn Kết");
        // Hà Nội is in another province; the South China Sea in none.
        let hanoi = get(&c, app.url("/api/v1/units/lookup?lon=105.8342&lat=21.0278")).await;
        assert_eq!(hanoi["codes"], json!(["01"]));
        let sea = get(&c, app.url("/api/v1/units/lookup?lon=112.0&lat=12.0")).await;
        assert_eq!(sea["codes"], json!([]));
        let (status, _, body) =
            problem_code(c.get(app.url("/api/v1/units/lookup?lon=200&lat=22")).send().await.unwrap()).await;
        assert_eq!(status, 422, "{body}");
        let (status, code, _) =
            problem_code(c.get(app.url("/api/v1/units/99999")).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (404, "not_found"));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_bad_geojson_import_names_the_feature_and_imports_nothing() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let admin = app.signed_in("admin").await;
        let before = get(&admin, app.url("/api/v1/units?parent=12")).await;
        let imports_before = audit_count(&app, "units.import").await;
        // The first feature is fine (and would change Đoàn Kết's area); the second is a line.
        let body = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "03388", "areaKm2": 1.0},
             "geometry": {"type": "Polygon", "coordinates": [[[103.3, 22.4], [103.4, 22.4], [103.4, 22.5], [103.3, 22.4]]]}},
            {"type": "Feature", "properties": {"code": "03390"},
             "geometry": {"type": "LineString", "coordinates": [[103.3, 22.4], [103.4, 22.4]]}}
        ]});
        let res = admin
            .post(app.url("/api/v1/units/import"))
            .header("content-type", "application/geo+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let (status, code, problem) = problem_code(res).await;
        assert_eq!((status, code.as_str()), (422, "validation_failed"));
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("feature 2") && detail.contains("LineString"), "{detail}");
        assert_eq!(get(&admin, app.url("/api/v1/units?parent=12")).await, before, "nothing imported");
        assert_eq!(audit_count(&app, "units.import").await, imports_before);

        // Not JSON at all, and a code that is not in the official list.
        for (text, needle) in [
            ("this is not json".to_string(), "not valid JSON"),
            (
                json!({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": "77777"},
                    "geometry": {"type": "Polygon", "coordinates": [[[1, 1], [2, 1], [2, 2], [1, 1]]]}}]})
                .to_string(),
                "77777",
            ),
        ] {
            let res = admin.post(app.url("/api/v1/units/import")).header("content-type", "application/geo+json").body(text).send().await;
            let (status, _, problem) = problem_code(res.unwrap()).await;
            assert_eq!(status, 422);
            assert!(problem["detail"].as_str().unwrap().contains(needle), "{problem}");
        }
        // Only an administrator imports.
        let (status, _, _) = problem_code(
            app.signed_in("supervisor")
                .await
                .post(app.url("/api/v1/units/import"))
                .header("content-type", "application/geo+json")
                .body(body.to_string())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 403);

        // A session-cookie write without a JSON content type could come from another site's form.
        let (status, code, _) = problem_code(
            admin
                .post(app.url("/api/v1/units/import"))
                .header("content-type", "text/plain")
                .body(body.to_string())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((status, code.as_str()), (403, "csrf_check_failed"));

        // A good import replaces the boundary and the index follows at once.
        let square = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "03388", "areaKm2": 4.0},
             "geometry": {"type": "Polygon", "coordinates": [[[100.0, 10.0], [100.1, 10.0], [100.1, 10.1], [100.0, 10.1], [100.0, 10.0]]]}}]});
        let res = admin
            .post(app.url("/api/v1/units/import"))
            .header("content-type", "application/geo+json")
            .body(square.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let hit = get(&admin, app.url("/api/v1/units/lookup?lon=100.05&lat=10.05")).await;
        assert_eq!(hit["codes"], json!(["03388"]));
        app.stop().await;
    }
}

#[tokio::test]
async fn successions_link_old_units_to_new_ones() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let dir = crate::harness::TempDir::new("succ");
        let file = dir.0.join("successions.csv");
        std::fs::write(
            &file,
            "new_code,old_code,effective_on,note\n03388,03386,2025-07-01,Phường Tân Phong cũ\n03388,03389,2025-07-01,Phường Đông Phong cũ\n",
        )
        .unwrap();
        let summary = app
            .state
            .units
            .import_successions(
                &haidang_core::accounts::Subject::cli(),
                &std::fs::read_to_string(&file).unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(summary, 2);
        let c = app.signed_in("leader").await;
        let unit = get(&c, app.url("/api/v1/units/03388")).await;
        let old: Vec<&str> =
            unit["replaced"].as_array().unwrap().iter().map(|s| s["old_code"].as_str().unwrap()).collect();
        assert_eq!(old, vec!["03386", "03389"]);
        // A line naming a unit that does not exist is refused by line number, and nothing is kept.
        let err = app
            .state
            .units
            .import_successions(
                &haidang_core::accounts::Subject::cli(),
                "new_code,old_code,effective_on,note\n03390,1,2025-07-01,x\n99999,2,2025-07-01,y\n",
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        let unit = get(&c, app.url("/api/v1/units/03390")).await;
        assert_eq!(unit["replaced"], json!([]));
        app.stop().await;
    }
}

#[tokio::test]
async fn organisations_form_a_tree_with_duty_phones_and_bad_input_is_named() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let admin = app.signed_in("admin").await;
        let orgs = get(&admin, app.url("/api/v1/orgs")).await;
        let orgs = orgs.as_array().unwrap();
        let committees = orgs.iter().filter(|o| o["kind"] == "commune_committee").count();
        assert_eq!(committees, 38, "one People's Committee per commune");
        let tinh = orgs.iter().find(|o| o["code"] == "ubnd-tinh").unwrap();
        let so_nn = orgs.iter().find(|o| o["code"] == "so-nn-mt").unwrap();
        assert_eq!(so_nn["name_vi"], "Sở Nông nghiệp và Môi trường");
        assert_eq!(so_nn["parent_id"], tinh["id"]);
        assert!(so_nn["duty_phone"].as_str().is_some_and(|p| !p.is_empty()));
        assert!(
            orgs.iter().any(|o| o["kind"] == "police") && orgs.iter().any(|o| o["kind"] == "operating_unit")
        );

        let new = json!({"code": "cap-nuoc", "parent": "ubnd-tinh", "kind": "utility", "name_vi": "Công ty Cấp nước Lai Châu",
                         "sectors": ["utilities"], "unit_codes": ["12", "03388"], "head_name": "Nguyễn Văn A",
                         "duty_phone": "0213 3 876 543", "email": "capnuoc@example.vn"});
        let res = admin.post(app.url("/api/v1/orgs")).json(&new).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let got = get(&admin, app.url("/api/v1/orgs/cap-nuoc")).await;
        assert_eq!(got["unit_codes"], json!(["12", "03388"]));
        assert_eq!(got["head_name"], "Nguyễn Văn A");
        let count = get(&admin, app.url("/api/v1/orgs")).await.as_array().unwrap().len();

        let (status, code, _) =
            problem_code(admin.post(app.url("/api/v1/orgs")).json(&new).send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (409, "conflict"));
        for (patch, field) in [
            (json!({"kind": "bakery"}), "kind"),
            (json!({"sectors": ["weather-magic"]}), "sectors"),
            (json!({"unit_codes": ["55555"]}), "unit_codes"),
            (json!({"duty_phone": "gọi anh Ba"}), "duty_phone"),
            (json!({"parent": "khong-co"}), "parent"),
            (json!({"code": "Có Dấu"}), "code"),
        ] {
            let mut body = new.clone();
            body["code"] = json!("cap-nuoc-2");
            for (k, v) in patch.as_object().unwrap() {
                body[k] = v.clone();
            }
            let (status, code, problem) =
                problem_code(admin.post(app.url("/api/v1/orgs")).json(&body).send().await.unwrap()).await;
            assert_eq!((status, code.as_str()), (422, "validation_failed"), "{problem}");
            assert_eq!(problem["field"], field, "{problem}");
        }
        assert_eq!(
            get(&admin, app.url("/api/v1/orgs")).await.as_array().unwrap().len(),
            count,
            "nothing written"
        );
        // Officers cannot create organisations.
        let (status, _, _) = problem_code(
            app.signed_in("officer").await.post(app.url("/api/v1/orgs")).json(&new).send().await.unwrap(),
        )
        .await;
        assert_eq!(status, 403);
        app.stop().await;
    }
}
