//! The data hub's console pages in a real browser: an agency sends a form with one bad row, sees
//! the error in place, sends it fixed and sees its dataset's scores change; the province map
//! shows the demo's live stations; an entity's page draws its history. Runs when
//! HAIDANG_TEST_CHROMIUM names the Chromium binary.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::datasets::post;
use crate::harness::{service_url, Backend, TestApp};
use crate::webdriver::WebDriver;

pub(crate) async fn sign_in(wd: &WebDriver, app: &TestApp, username: &str) {
    wd.goto(&app.url("/login")).await.unwrap();
    wd.send_keys(&wd.find("#username").await.unwrap(), username).await.unwrap();
    wd.send_keys(&wd.find("#password").await.unwrap(), &app.passwords[username]).await.unwrap();
    wd.click(&wd.find("#login-submit").await.unwrap()).await.unwrap();
    wd.wait_for("return location.pathname !== '/login';", Duration::from_secs(15)).await.unwrap();
}

pub(crate) async fn text_of(wd: &WebDriver, css: &str) -> String {
    wd.text(&wd.find(css).await.unwrap()).await.unwrap()
}

pub(crate) fn shot(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots").join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agency_fixes_its_form_after_the_error_and_its_scores_change() {
    let Some(chromium) = service_url("HAIDANG_TEST_CHROMIUM") else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    // The Department's waste containers, reported on a form twice a week.
    let officer = app.signed_in("officer").await;
    let dataset = json!({"id": "thung-rac", "name": "Thùng rác công cộng (biểu mẫu)", "type": "WasteContainer",
        "frequency": "monday_thursday", "rules": {"required": ["cargoWeight"]}});
    assert_eq!(post(&officer, &app, "/api/v1/datasets", dataset).await.0, 201);
    let sup = app.signed_in("supervisor").await;
    assert_eq!(post(&sup, &app, "/api/v1/datasets/thung-rac/approve", json!({})).await.0, 200);

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("forms-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(7)));
    let when = now.strftime("%d/%m/%Y %H:%M").to_string();
    let form = |weight: &str| {
        format!(
            "Mã đối tượng (id);Xã/phường (unit);Thời điểm số liệu (observedAt);cargoWeight\n\
             TR-01;03408;{when};12,5\nTR-02;03388;{when};{weight}\n"
        )
    };
    let bad = dir.join("thung-rac-loi.csv");
    let good = dir.join("thung-rac.csv");
    std::fs::write(&bad, form("nhiều")).unwrap();
    std::fs::write(&good, form("8")).unwrap();

    let wd = WebDriver::start(&chromium, "vi-VN,vi").await.unwrap_or_else(|e| panic!("{e:#}"));
    sign_in(&wd, &app, "officer").await;
    wd.goto(&app.url("/data/datasets/thung-rac")).await.unwrap();
    let before = text_of(&wd, "#score-overall").await;
    assert_eq!(before, "—", "nothing sent yet");

    // One bad row: the whole form comes back, the error shown where it is.
    wd.send_keys(&wd.find("#form-file").await.unwrap(), bad.to_str().unwrap()).await.unwrap();
    wd.click(&wd.find("#form-upload button[type=submit]").await.unwrap()).await.unwrap();
    wd.wait_for("return !document.querySelector('#upload-errors').hidden;", Duration::from_secs(15))
        .await
        .unwrap();
    let cells: Vec<String> = serde_json::from_value(
        wd.execute(
            "return Array.from(document.querySelectorAll('#upload-errors tbody td')).map(function (td) { return td.textContent; });",
            vec![],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(cells[..2], ["3".to_string(), "cargoWeight".to_string()], "{cells:?}");
    assert!(cells[2].contains("nhiều") && cells[2].contains("không phải là số"), "{cells:?}");
    wd.screenshot(&shot("form-error.png")).await.unwrap();
    assert_eq!(text_of(&wd, "#score-overall").await, "—", "nothing was written");

    // Fixed, it is taken; the page shows the new scores.
    wd.send_keys(&wd.find("#form-file").await.unwrap(), good.to_str().unwrap()).await.unwrap();
    wd.click(&wd.find("#form-upload button[type=submit]").await.unwrap()).await.unwrap();
    wd.wait_for(
        "var s = document.querySelector('#score-overall'); return s !== null && s.textContent !== '—';",
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    let after = text_of(&wd, "#score-overall").await;
    assert_eq!(text_of(&wd, "#score-complete").await, "100,0", "both containers reported, with their weight");
    assert_ne!(after, before);
    assert!(text_of(&wd, "#submissions-table").await.contains("thung-rac.csv"));
    wd.screenshot(&shot("form-accepted.png")).await.unwrap();

    // The province map shows the demo's stations, live ones and the silent ones.
    wd.goto(&app.url("/map")).await.unwrap();
    wd.wait_for(
        "var m = document.querySelector('#map'); return m && Number(m.dataset.stations) > 30;",
        Duration::from_secs(20),
    )
    .await
    .unwrap_or_else(|e| panic!("no stations on the map: {e:#}"));
    assert!(
        !wd.find_all("path.station-state-stale").await.unwrap().is_empty(),
        "the silent stations show as such"
    );
    wd.screenshot(&shot("map-stations.png")).await.unwrap();

    // A station's page draws the history of its readings.
    wd.goto(&app.url("/data/entities/urn%3Angsi-ld%3AWeatherObserved%3Alai-chau-tam-duong")).await.unwrap();
    wd.wait_for(
        "var c = document.querySelector('#history-charts'); return c && c.dataset.loaded === 'true';",
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    assert!(!wd.find_all(".chart-drawn").await.unwrap().is_empty(), "a chart of the temperature");
    wd.screenshot(&shot("entity.png")).await.unwrap();

    wd.close().await.unwrap();
    app.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
