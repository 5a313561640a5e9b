//! The citizens' portal in a real browser on a 360-pixel-wide phone: a citizen reads the home
//! page, sends a pollution report step by step (a commune and an address instead of a point on
//! the map, a photo when the server takes photos, a phone number with consent) and gets the
//! tracking code; the centre and the agency handle it through the API; the citizen follows it
//! with the code (typed in lower case with spaces), reads the answer and rates it 5 stars. No
//! page scrolls sideways. Runs when HAIDANG_TEST_CHROMIUM names the Chromium binary.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::browser_data::{shot, text_of};
use crate::harness::{get, send, service_url, Backend, TestApp};
use crate::reports::{commune_point, reports_app};
use crate::webdriver::WebDriver;

const PHONE_WIDTH: u32 = 360;
const PHONE_HEIGHT: u32 = 740;
const WAIT: Duration = Duration::from_secs(20);

/// A small RGB PNG (a street lamp's orange on grey), written here so the test needs no file.
fn small_png() -> Vec<u8> {
    let (w, h) = (24u32, 16u32);
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            let lamp = (x as i32 - 12).pow(2) + (y as i32 - 8).pow(2) < 25;
            raw.extend_from_slice(if lamp { &[240, 160, 40] } else { &[90, 96, 110] });
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).unwrap();
    let idat = z.finish().unwrap();
    let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    png
}

/// Whether this server takes photos yet: the media endpoint refuses a text body with 415 when
/// it exists, and is not found (404/405) before it is built.
async fn media_endpoint_exists(app: &TestApp) -> bool {
    let res = app
        .client()
        .post(app.url("/api/v1/public/media"))
        .header("content-type", "text/plain")
        .body("not a photo")
        .send()
        .await
        .unwrap();
    !matches!(res.status().as_u16(), 404 | 405)
}

/// The page is no wider than the phone: nothing scrolls sideways.
async fn assert_no_sideways_scroll(wd: &WebDriver, page: &str) {
    let width = wd.execute("return document.documentElement.scrollWidth;", vec![]).await.unwrap();
    let width = width.as_u64().unwrap();
    assert!(width <= u64::from(PHONE_WIDTH), "{page} is {width} px wide on a {PHONE_WIDTH} px phone");
}

async fn click(wd: &WebDriver, css: &str) {
    let el = wd.find(css).await.unwrap_or_else(|e| panic!("{e:#}"));
    wd.click(&el).await.unwrap_or_else(|e| panic!("clicking {css}: {e:#}"));
}

async fn type_into(wd: &WebDriver, css: &str, text: &str) {
    let el = wd.find(css).await.unwrap_or_else(|e| panic!("{e:#}"));
    wd.send_keys(&el, text).await.unwrap_or_else(|e| panic!("typing into {css}: {e:#}"));
}

async fn visible(wd: &WebDriver, css: &str) {
    let script = format!(
        "var e = document.querySelector({css:?}); return e !== null && !e.hidden && e.offsetHeight > 0;"
    );
    wd.wait_for(&script, WAIT).await.unwrap_or_else(|e| panic!("{css} never showed: {e:#}"));
}

async fn step(c: &reqwest::Client, app: &TestApp, id: &str, body: Value) -> Value {
    let res = send(c, app, Method::POST, &format!("/api/v1/reports/{id}/steps"), Some(body.clone())).await;
    let status = res.status().as_u16();
    let answer: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{body}: {answer}");
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_reports_on_a_phone_follows_the_report_and_rates_the_answer() {
    let Some(chromium) = service_url("HAIDANG_TEST_CHROMIUM") else {
        return;
    };
    // Some demo history, so the home page has published reports on its map.
    let app = reports_app(Backend::Sqlite, 30).await;
    let (commune, _, _) = commune_point(&app, 3).await;
    let photos = media_endpoint_exists(&app).await;
    if !photos {
        eprintln!("POST /api/v1/public/media answers 404: the photo part of the portal test is skipped");
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("portal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("den-hong.png");
    std::fs::write(&photo, small_png()).unwrap();

    let wd = WebDriver::start(&chromium, "vi-VN,vi").await.unwrap_or_else(|e| panic!("{e:#}"));
    wd.set_window_size(PHONE_WIDTH, PHONE_HEIGHT).await.unwrap();
    wd.goto(&app.url("/portal")).await.unwrap();
    let inner = wd.execute("return window.innerWidth;", vec![]).await.unwrap();
    assert!(inner.as_u64().unwrap() <= u64::from(PHONE_WIDTH), "the viewport is a phone's: {inner}");

    // Home: the two big buttons, the published reports on the map and in the list.
    assert_eq!(text_of(&wd, "#go-submit").await, "Gửi phản ánh");
    assert_eq!(text_of(&wd, "#go-track").await, "Tra cứu phản ánh");
    wd.wait_for(
        "var m = document.querySelector('#portal-map'); return m && Number(m.dataset.markers) > 0 && m.querySelector('path.leaflet-interactive');",
        WAIT,
    )
    .await
    .unwrap_or_else(|e| panic!("no published report on the home map: {e:#}"));
    assert!(!wd.find_all("#report-list li").await.unwrap().is_empty());
    let dates: Vec<String> = serde_json::from_value(
        wd.execute(
            "return Array.from(document.querySelectorAll('#report-list time')).map(function (t) { return t.textContent; });",
            vec![],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    for d in &dates {
        let ok =
            d.len() == 16 && d.as_bytes()[2] == b'/' && d.as_bytes()[5] == b'/' && d.as_bytes()[13] == b':';
        assert!(ok, "dd/mm/yyyy HH:MM: {d:?}");
    }
    assert_no_sideways_scroll(&wd, "/portal").await;
    wd.screenshot(&shot("portal-home.png")).await.unwrap();

    // Step 1: what. Going on without a category says so in place.
    click(&wd, "#go-submit").await;
    visible(&wd, "#report-form [data-step='1']").await;
    click(&wd, "#step-next").await;
    visible(&wd, "[data-error-for='category']").await;
    assert_eq!(text_of(&wd, "[data-error-for='category']").await, "Hãy chọn lĩnh vực phản ánh.");
    click(&wd, "#category option[value='o-nhiem']").await;
    type_into(&wd, "#description", "Khói đốt rác bốc mùi khét mỗi tối cạnh cột đèn hỏng, trẻ em ho nhiều.")
        .await;
    assert_no_sideways_scroll(&wd, "/portal/submit (step 1)").await;
    wd.screenshot(&shot("portal-submit-1.png")).await.unwrap();
    click(&wd, "#step-next").await;

    // Step 2: a photo, when the server takes photos.
    visible(&wd, "#report-form [data-step='2']").await;
    if photos {
        type_into(&wd, "#photos", photo.to_str().unwrap()).await;
        wd.wait_for("var i = document.querySelector('#photo-previews img'); return i && i.complete && i.naturalWidth === 24;", WAIT)
            .await
            .unwrap_or_else(|e| panic!("no photo preview: {e:#}"));
    }
    assert_no_sideways_scroll(&wd, "/portal/submit (step 2)").await;
    wd.screenshot(&shot("portal-submit-2.png")).await.unwrap();
    click(&wd, "#step-next").await;

    // Step 3: no point on the map; the commune and an address.
    visible(&wd, "#report-form [data-step='3']").await;
    wd.wait_for("return document.querySelector('#pick-map .leaflet-overlay-pane path') !== null;", WAIT)
        .await
        .unwrap_or_else(|e| panic!("the communes are not drawn on the picker: {e:#}"));
    click(&wd, "#step-next").await;
    visible(&wd, "[data-error-for='location']").await;
    click(&wd, &format!("#unit-code option[value='{commune}']")).await;
    type_into(&wd, "#address", "Ngõ 12, gần trường tiểu học").await;
    assert_no_sideways_scroll(&wd, "/portal/submit (step 3)").await;
    wd.screenshot(&shot("portal-submit-3.png")).await.unwrap();
    click(&wd, "#step-next").await;

    // Step 4: a phone number; without consent the form says why it does not go.
    visible(&wd, "#report-form [data-step='4']").await;
    click(&wd, "#public").await;
    type_into(&wd, "#contact-phone", "0912 345 689").await;
    click(&wd, "#send-report").await;
    visible(&wd, "[data-error-for='consent']").await;
    assert!(text_of(&wd, "#consent-text").await.contains("13/2023"));
    click(&wd, "#consent").await;
    assert_no_sideways_scroll(&wd, "/portal/submit (step 4)").await;
    wd.screenshot(&shot("portal-submit-4.png")).await.unwrap();
    click(&wd, "#send-report").await;
    visible(&wd, "#receipt").await;
    let code = text_of(&wd, "#tracking-code").await;
    assert_eq!(code.len(), 19, "XXXX-XXXX-XXXX-XXXX: {code}");
    assert!(text_of(&wd, "#receipt").await.contains("chỉ hiển thị một lần"));
    assert!(!wd.current_url().await.unwrap().contains(&code[..4]), "the code never goes in a URL");
    assert_no_sideways_scroll(&wd, "/portal/submit (receipt)").await;
    wd.screenshot(&shot("portal-receipt.png")).await.unwrap();

    // The centre sees it, the phone masked.
    let operator = app.signed_in("operator").await;
    let (status, list) = get(&operator, &app, "/api/v1/reports?category=o-nhiem&state=received").await;
    assert_eq!(status, 200, "{list}");
    let report = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["description"].as_str().unwrap_or_default().contains("cột đèn hỏng"))
        .unwrap_or_else(|| panic!("the report is not in the queue: {list}"))
        .clone();
    assert_eq!(report["contact_masked"]["phone"], "09******89", "{report}");
    assert_eq!(report["unit_code"], json!(commune));
    assert_eq!(report["address"], "Ngõ 12, gần trường tiểu học");
    assert!(!list.to_string().contains("345 689"));
    let id = report["id"].as_str().unwrap().to_string();

    // The centre sends it to the Department, which answers; a supervisor approves the answer.
    step(&operator, &app, &id, json!({"step": "assign", "agency": "so-nn-mt"})).await;
    let officer = app.signed_in("officer").await;
    step(&officer, &app, &id, json!({"step": "accept"})).await;
    step(&officer, &app, &id, json!({"step": "start"})).await;
    let answer = "Đã xử phạt hộ đốt rác, thu gom rác và thay bóng đèn.";
    step(&officer, &app, &id, json!({"step": "answer", "answer": answer})).await;
    let supervisor = app.signed_in("supervisor").await;
    step(&supervisor, &app, &id, json!({"step": "approve"})).await;

    // The citizen follows it with the code as typed on a phone: lower case, spaces.
    wd.goto(&app.url("/portal/track")).await.unwrap();
    type_into(&wd, "#track-code", "zzzz zzzz").await;
    click(&wd, "#track-submit").await;
    visible(&wd, "[data-error-for='code']").await;
    wd.execute("document.querySelector('#track-code').value = '';", vec![]).await.unwrap();
    type_into(&wd, "#track-code", &code.to_lowercase().replace('-', " ")).await;
    click(&wd, "#track-submit").await;
    visible(&wd, "#track-result").await;
    assert_eq!(text_of(&wd, "#view-state").await, "Đã hoàn thành");
    assert_eq!(text_of(&wd, "#view-answer").await, answer);
    let history = text_of(&wd, "#view-history").await;
    for step in ["Tiếp nhận phản ánh", "Chuyển đơn vị xử lý", "Duyệt và công bố kết quả"]
    {
        assert!(history.contains(step), "{step} in {history}");
    }
    assert!(!wd.current_url().await.unwrap().to_lowercase().contains(&code[..4].to_lowercase()));
    assert_no_sideways_scroll(&wd, "/portal/track").await;
    wd.screenshot(&shot("portal-track.png")).await.unwrap();

    // Five stars and a word of thanks.
    visible(&wd, "#rate-form").await;
    click(&wd, "label[for='star-5']").await;
    type_into(&wd, "#rate-note", "Xử lý nhanh, cảm ơn").await;
    wd.execute("document.querySelector('#rate-form').scrollIntoView();", vec![]).await.unwrap();
    wd.screenshot(&shot("portal-rate.png")).await.unwrap();
    click(&wd, "#rate-submit").await;
    visible(&wd, "#view-rating").await;
    assert_eq!(text_of(&wd, "#view-rating").await, "Bạn đã đánh giá: 5/5.");
    assert!(wd.find("#rate-form").await.is_ok());
    let res =
        send(&app.client(), &app, Method::POST, "/api/v1/public/track", Some(json!({"code": code}))).await;
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["rating"], 5, "{view}");
    assert_eq!(view["can_rate"], false);

    // The published reports, filtered by category, on the map and in the list.
    wd.goto(&app.url("/portal/reports?category=o-nhiem")).await.unwrap();
    wd.wait_for("return document.querySelector('#portal-map .leaflet-overlay-pane path') !== null;", WAIT)
        .await
        .unwrap_or_else(|e| panic!("no map on the published reports: {e:#}"));
    let cards = text_of(&wd, "#report-list").await;
    assert!(cards.contains("cột đèn hỏng"), "the answered report is published: {cards}");
    assert_no_sideways_scroll(&wd, "/portal/reports").await;
    wd.screenshot(&shot("portal-reports.png")).await.unwrap();

    // In English too, with the same layout.
    wd.goto(&app.url("/lang/en?back=/portal/submit")).await.unwrap();
    assert_eq!(text_of(&wd, "h1").await, "Send a report");
    assert_no_sideways_scroll(&wd, "/portal/submit (English)").await;
    wd.close().await.unwrap();
}
