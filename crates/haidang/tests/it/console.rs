//! The console's pages as each role meets them: navigation, access, language, the map's basemap
//! setting and the lifecycle forms.

use crate::harness::{Backend, TestApp, TestStore};

fn nav_ids(html: &str) -> Vec<String> {
    html.split("id=\"nav-").skip(1).map(|s| s.split('"').next().unwrap_or_default().to_string()).collect()
}

#[tokio::test]
async fn navigation_and_pages_follow_the_role() {
    let store = TestStore::new(Backend::Sqlite).await;
    let mut config = store.config();
    config.map.tile_url = "https://ban-do.laichau.gov.vn/{z}/{x}/{y}.png".into();
    let app = TestApp::spawn_config(store, config, true).await;
    let expected: [(&str, &[&str]); 6] = [
        (
            "admin",
            &[
                "home",
                "map",
                "indicators",
                "data",
                "datasets",
                "quality",
                "entities",
                "orgs",
                "users",
                "tokens",
                "audit",
            ],
        ),
        (
            "supervisor",
            &[
                "home",
                "map",
                "alerts",
                "incidents",
                "reports",
                "indicators",
                "data",
                "datasets",
                "quality",
                "entities",
                "orgs",
                "users",
                "tokens",
            ],
        ),
        (
            "operator",
            &[
                "home",
                "map",
                "alerts",
                "incidents",
                "reports",
                "indicators",
                "data",
                "datasets",
                "quality",
                "entities",
                "orgs",
            ],
        ),
        (
            "leader",
            &[
                "home",
                "map",
                "alerts",
                "incidents",
                "reports",
                "indicators",
                "data",
                "datasets",
                "quality",
                "entities",
                "orgs",
                "users",
            ],
        ),
        (
            "officer",
            &[
                "home",
                "map",
                "alerts",
                "incidents",
                "reports",
                "indicators",
                "data",
                "datasets",
                "quality",
                "entities",
                "orgs",
            ],
        ),
        ("auditor", &["home", "map", "orgs", "users", "audit"]),
    ];
    for (role, nav) in expected {
        let c = app.signed_in(role).await;
        let home = c.get(app.url("/")).send().await.unwrap();
        assert_eq!(home.status(), 200);
        let html = home.text().await.unwrap();
        assert_eq!(nav_ids(&html), nav.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "{role}");
        assert!(html.contains("lang=\"vi\""), "Vietnamese first");
        // A page outside the role's navigation sends the user home, without the page's content.
        for (id, path) in [("users", "/admin/users"), ("tokens", "/admin/tokens"), ("audit", "/admin/audit")]
        {
            let res = c.get(app.url(path)).send().await.unwrap();
            let landed = res.url().path().to_string();
            if nav.contains(&id) {
                assert_eq!((res.status().as_u16(), landed.as_str()), (200, path), "{role} {path}");
            } else {
                assert_eq!(landed, "/", "{role} {path} should go home");
            }
        }
    }

    // Signed out: every page leads to the sign-in form.
    for path in ["/", "/map", "/admin/users"] {
        let res = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(res.url().path(), "/login", "{path}");
    }

    let admin = app.signed_in("admin").await;
    // The configured intranet basemap reaches the map page.
    let map = admin.get(app.url("/map")).send().await.unwrap().text().await.unwrap();
    assert!(map.contains("data-tile-url=\"https://ban-do.laichau.gov.vn/{z}/{x}/{y}.png\""), "{map}");
    assert!(map.contains("/static/vendor/leaflet/leaflet.js"), "Leaflet is served locally");
    assert_eq!(reqwest::get(app.url("/static/vendor/leaflet/leaflet.js")).await.unwrap().status(), 200);
    // The users page offers the lifecycle actions with their reason and written-request fields.
    let users = admin.get(app.url("/admin/users")).send().await.unwrap().text().await.unwrap();
    assert!(
        users.contains("/lock\"")
            && users.contains("name=\"reason\"")
            && users.contains("name=\"request_ref\"")
    );

    // The language switch: English pages with the same navigation.
    let res = admin.get(app.url("/lang/en?back=/admin/orgs")).send().await.unwrap();
    assert_eq!(res.url().path(), "/admin/orgs");
    let html = res.text().await.unwrap();
    assert!(html.contains("lang=\"en\""));
    assert!(html.contains("Department of Agriculture and Environment"), "organisation names in English");
    // No open redirect through the switch.
    let res = admin.get(app.url("/lang/vi?back=//evil.example/")).send().await.unwrap();
    assert_eq!(res.url().host_str(), Some("127.0.0.1"));
    app.stop().await;
}

#[tokio::test]
async fn the_data_page_shows_what_the_agencies_send() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let officer = app.signed_in("officer").await;
    let html = officer.get(app.url("/data")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Kho dữ liệu dùng chung"), "Vietnamese heading");
    let row = html.split("WeatherObserved</td>").nth(1).expect("a row for the demo's weather stations");
    let row = row.split("</tr>").next().unwrap();
    assert!(row.contains(">8<"), "eight stations: {row}");
    assert!(row.contains("Smart Data Models"), "checked against its shipped schema: {row}");
    let gauges = html.split("RiverGauge</td>").nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(gauges.contains("Chưa ban hành"), "no schema issued for river gauges: {gauges}");
    // 45 entities, of which the officer may read 40: not the police's four cameras (shared only
    // on request) nor the water sample of a dataset still awaiting approval.
    assert!(html.contains("id=\"data-total\">40<"), "{html}");
    assert!(!html.contains(">Camera<"), "special-request data not listed for the officer");
    // The auditor reads the audit trail, not the data.
    let auditor = app.signed_in("auditor").await;
    let res = auditor.get(app.url("/data")).send().await.unwrap();
    assert_eq!(res.url().path(), "/");
    app.stop().await;
}

/// The statistics pages: the portal's for anyone, the console's for the roles that see reports
/// everywhere; an agency's officer is sent home, as the console does with a page not theirs.
#[tokio::test]
async fn the_report_statistics_pages_follow_the_role() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let res = app.client().get(app.url("/portal/statistics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<title>Thống kê phản ánh"), "{html}");
    assert!(html.contains("/static/stats.js") && html.contains("aria-current=\"page\""));

    let leader = app.signed_in("leader").await;
    let res = leader.get(app.url("/reports/statistics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.url().path(), "/reports/statistics");
    assert!(res.text().await.unwrap().contains("id=\"stats-data\""));
    let queue = leader.get(app.url("/reports")).send().await.unwrap().text().await.unwrap();
    assert!(queue.contains("href=\"/reports/statistics\""));

    let officer = app.signed_in("officer").await;
    let res = officer.get(app.url("/reports/statistics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.url().path(), "/", "the officer is sent home");
    let queue = officer.get(app.url("/reports")).send().await.unwrap().text().await.unwrap();
    assert!(!queue.contains("href=\"/reports/statistics\"") && !queue.contains("hotline-form"));

    // The centre's operator has the hotline form; the body it sends is taken as a hotline report.
    let operator = app.signed_in("operator").await;
    let queue = operator.get(app.url("/reports")).send().await.unwrap().text().await.unwrap();
    assert!(queue.contains("id=\"hotline-form\"") && queue.contains("Tiếp nhận phản ánh qua đường dây nóng"));
    let (_, categories) = crate::harness::get(&app.client(), &app, "/api/v1/report-categories").await;
    let category = categories[0]["code"].as_str().unwrap().to_string();
    let (unit, _, _) = crate::reports::commune_point(&app, 0).await;
    let body = serde_json::json!({
        "category": category, "description": "Đèn đường tắt cả dãy phố", "channel": "hotline",
        "urgency": "ordinary", "public": false, "unit_code": unit, "address": "Đường Trần Phú",
        "contact": {"name": "Nguyễn Văn A", "phone": "0912345678"}, "consent": "Người gọi đồng ý",
    });
    let res = operator.post(app.url("/api/v1/reports")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let receipt: serde_json::Value = res.json().await.unwrap();
    assert_eq!(receipt["report"]["channel"], "hotline");
    assert!(receipt["tracking_code"].as_str().is_some_and(|c| !c.is_empty()));

    // Without a session the console's page asks for a sign-in.
    let res = app.client().get(app.url("/reports/statistics")).send().await.unwrap();
    assert_eq!(res.url().path(), "/login");
}
