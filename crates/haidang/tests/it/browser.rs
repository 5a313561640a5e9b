//! The console in a real browser (headless Chromium through chromedriver): signing in, the home
//! page, the province map with its communes, and switching language. Runs when
//! HAIDANG_TEST_CHROMIUM names the Chromium binary.

use std::path::Path;
use std::time::Duration;

use crate::harness::{service_url, Backend, TestApp};
use crate::webdriver::WebDriver;

/// Lai Châu's communes and wards after the July 2025 reorganisation.
const LAI_CHAU_LOCAL_UNITS: usize = 38;

const MAP_LOADED: &str =
    "var m = document.querySelector('#map'); return m !== null && m.dataset.loaded === 'true';";

/// Waits for map.js to draw the units; on failure says what the map shows instead.
async fn wait_for_map(wd: &WebDriver) {
    if let Err(e) = wd.wait_for(MAP_LOADED, Duration::from_secs(20)).await {
        let state = wd
            .execute(
                "var m = document.querySelector('#map'), c = document.querySelector('#map-count');
                 return { url: location.href, loaded: m && m.dataset.loaded,
                          count: c && c.textContent, leaflet: typeof L };",
                vec![],
            )
            .await
            .map(|v| v.to_string())
            .unwrap_or_else(|e| format!("{e:#}"));
        panic!("the map did not load: {e:#}\nmap state: {state}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_signs_in_and_sees_the_communes_on_the_map() {
    let Some(chromium) = service_url("HAIDANG_TEST_CHROMIUM") else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let display_name: String =
        sqlx::query_scalar("SELECT display_name FROM users WHERE username = 'operator'")
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    // An English-locale browser still gets the console in Vietnamese until the user switches.
    let wd = WebDriver::start(&chromium, "en-US,en").await.unwrap_or_else(|e| panic!("{e:#}"));

    // Sign in through the form.
    wd.goto(&app.url("/login")).await.unwrap();
    let username = wd.find("#username").await.unwrap();
    wd.send_keys(&username, "operator").await.unwrap();
    assert_eq!(wd.property(&username, "value").await.unwrap(), "operator");
    let password = wd.find("#password").await.unwrap();
    wd.send_keys(&password, &app.passwords["operator"]).await.unwrap();
    wd.click(&wd.find("#login-submit").await.unwrap()).await.unwrap();
    if let Err(e) = wd.wait_for("return location.pathname !== '/login';", Duration::from_secs(15)).await {
        let shown = wd
            .execute("var b = document.querySelector('#login-error'); return b && b.textContent;", vec![])
            .await
            .unwrap_or_default();
        panic!("sign-in did not leave /login: {e:#}\nerror box: {shown}");
    }
    let home = wd.current_url().await.unwrap();
    assert_eq!(home, app.url("/"), "the operator lands on the home page");
    let current_user = wd.text(&wd.find("#current-user").await.unwrap()).await.unwrap();
    assert!(
        current_user.contains(&display_name),
        "#current-user shows {current_user:?}, expected the operator's name {display_name:?}"
    );

    // The map draws every commune and ward of the province.
    wd.goto(&app.url("/map")).await.unwrap();
    wait_for_map(&wd).await;
    let units = wd.find_all("path.unit-commune").await.unwrap();
    assert_eq!(units.len(), LAI_CHAU_LOCAL_UNITS, "one SVG path per commune and ward of Lai Châu");
    let lang = wd.execute("return document.documentElement.lang;", vec![]).await.unwrap();
    assert_eq!(lang, "vi", "the console is Vietnamese first");
    let nav_map = wd.find_all("nav.sidenav a#nav-map").await.unwrap();
    assert_eq!(nav_map.len(), 1, "the side navigation links to the map");
    assert_eq!(wd.attribute(&nav_map[0], "href").await.unwrap().as_deref(), Some("/map"));

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots").join("map.png");
    wd.screenshot(&shot).await.unwrap();
    println!("map screenshot: {}", shot.display());

    // Switching to English comes back to the map, now in English.
    wd.goto(&app.url("/lang/en?back=/map")).await.unwrap();
    wait_for_map(&wd).await;
    assert_eq!(wd.current_url().await.unwrap(), app.url("/map"), "the switch returns to the map");
    let lang = wd.execute("return document.documentElement.lang;", vec![]).await.unwrap();
    assert_eq!(lang, "en", "the page is in English after /lang/en");
    assert_eq!(wd.find_all("path.unit-commune").await.unwrap().len(), LAI_CHAU_LOCAL_UNITS);

    // The browser first, so it holds no connections while the server shuts down.
    wd.close().await.unwrap();
    app.stop().await;
}
