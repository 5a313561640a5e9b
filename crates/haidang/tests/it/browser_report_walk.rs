//! The acceptance story, every step in a browser: a citizen on a 360-pixel phone sends a
//! pollution report with a photo taken by the phone (its position in the EXIF data) and gets the
//! tracking code; the centre's operator verifies it from the queue and sends it to the agency
//! the page suggests; the agency's officer accepts it, starts, adds a photo of the result and
//! answers; a supervisor approves the answer, which closes and publishes the report; the
//! citizen follows it with the code, sees the answer and both photos and rates it 4 stars. The
//! API is asked after each stage; the public copies of the photos carry no position.
//! Runs when HAIDANG_TEST_CHROMIUM names the Chromium binary.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::browser_data::{shot, sign_in, text_of};
use crate::harness::{get, send, service_url, Backend, TestApp};
use crate::reports::{commune_point, phone_photo, reports_app};
use crate::webdriver::WebDriver;

const PHONE: (u32, u32) = (360, 740);
const DESKTOP: (u32, u32) = (1280, 900);
const ENTER: &str = "\u{E007}";
const TAB: &str = "\u{E004}";
const WAIT: Duration = Duration::from_secs(20);

/// Scrolls the element to the middle of the screen first, as a thumb does: on a phone the
/// form's buttons stick to the bottom and may cover what is just above them.
pub(crate) async fn click(wd: &WebDriver, css: &str) {
    let el = wd.find(css).await.unwrap_or_else(|e| panic!("{e:#}"));
    wd.execute("arguments[0].scrollIntoView({block: 'center'});", vec![el.as_arg()]).await.unwrap();
    wd.click(&el).await.unwrap_or_else(|e| panic!("clicking {css}: {e:#}"));
}

pub(crate) async fn type_into(wd: &WebDriver, css: &str, text: &str) {
    let el = wd.find(css).await.unwrap_or_else(|e| panic!("{e:#}"));
    wd.send_keys(&el, text).await.unwrap_or_else(|e| panic!("typing into {css}: {e:#}"));
}

pub(crate) async fn wait(wd: &WebDriver, script: &str, what: &str) {
    if let Err(e) = wd.wait_for(script, WAIT).await {
        let problem = wd
            .execute(
                "var e = document.querySelector('#action-error, [data-error-for]:not([hidden])'); \
                 return e && !e.hidden ? e.textContent : '';",
                vec![],
            )
            .await
            .unwrap_or_default();
        panic!("{what} (the page says {problem}): {e:#}");
    }
}

pub(crate) async fn visible(wd: &WebDriver, css: &str) {
    let script = format!(
        "var e = document.querySelector({css:?}); return e !== null && !e.hidden && e.offsetHeight > 0;"
    );
    wait(wd, &script, &format!("{css} never showed")).await;
}

/// An image on the page, loaded and `width` pixels wide (the photo itself, not a broken icon).
async fn image_loaded(wd: &WebDriver, css: &str, width: u32) {
    let script = format!(
        "var i = document.querySelector({css:?}); return i !== null && i.complete && i.naturalWidth === {width};"
    );
    wait(wd, &script, &format!("{css} is not a {width}-pixel-wide photo")).await;
}

/// The page is no wider than the phone: nothing scrolls sideways.
async fn assert_no_sideways_scroll(wd: &WebDriver, page: &str) {
    let width = wd.execute("return document.documentElement.scrollWidth;", vec![]).await.unwrap();
    let width = width.as_u64().unwrap();
    assert!(width <= u64::from(PHONE.0), "{page} is {width} px wide on a {} px phone", PHONE.0);
}

/// Keys typed with nothing focused: they reach the page, as a user's keyboard does.
async fn press(wd: &WebDriver, keys: &str) {
    wd.send_keys(&wd.find("body").await.unwrap(), keys).await.unwrap();
}

/// The report page has loaded the report in `state`.
async fn detail_in(wd: &WebDriver, state: &str) {
    wait(
        wd,
        &format!(
            "var d = document.querySelector('#report-detail'); \
             return d !== null && d.dataset.loaded === 'true' && d.dataset.state === '{state}';"
        ),
        &format!("the report page never showed the report {state}"),
    )
    .await;
}

async fn sign_out(wd: &WebDriver) {
    click(wd, "#logout-form button").await;
    wait(wd, "return location.pathname === '/login';", "signing out").await;
}

async fn report(c: &reqwest::Client, app: &TestApp, id: &str) -> Value {
    let (status, detail) = get(c, app, &format!("/api/v1/reports/{id}")).await;
    assert_eq!(status, 200, "{detail}");
    detail
}

fn has(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The public copy at `url` (no session): served, a picture, and without the phone's position.
async fn assert_public_copy_clean(app: &TestApp, url: &str) {
    let res = app.client().get(app.url(url)).send().await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    assert_eq!(res.headers()["content-type"], "image/jpeg", "{url}");
    let bytes = res.bytes().await.unwrap();
    assert!(!has(&bytes, b"GPSLatitude"), "{url} still carries the position");
    assert!(image::load_from_memory(&bytes).is_ok(), "{url} is a picture");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_walks_from_a_citizens_phone_through_the_centre_and_the_agency_back_to_the_citizen() {
    let Some(chromium) = service_url("HAIDANG_TEST_CHROMIUM") else {
        return;
    };
    let app = reports_app(Backend::Sqlite, 0).await;
    let (commune, _, _) = commune_point(&app, 2).await;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-walk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let photo = dir.join("khoi-dot-rac.jpg");
    std::fs::write(&photo, phone_photo()).unwrap();
    let result_photo = dir.join("da-don-sach.jpg");
    std::fs::write(&result_photo, phone_photo()).unwrap();
    let description = "Bãi rác tự phát sau chợ bị đốt mỗi tối, khói đen bay vào khu dân cư.";

    let wd = WebDriver::start(&chromium, "vi-VN,vi").await.unwrap_or_else(|e| panic!("{e:#}"));

    // 1. The citizen, on a phone: what, a photo, where, a phone number with consent.
    wd.set_window_size(PHONE.0, PHONE.1).await.unwrap();
    wd.goto(&app.url("/portal/submit")).await.unwrap();
    visible(&wd, "#report-form [data-step='1']").await;
    click(&wd, "#category option[value='o-nhiem']").await;
    type_into(&wd, "#description", description).await;
    click(&wd, "#step-next").await;
    visible(&wd, "#report-form [data-step='2']").await;
    type_into(&wd, "#photos", photo.to_str().unwrap()).await;
    image_loaded(&wd, "#photo-previews img", 64).await;
    assert_no_sideways_scroll(&wd, "/portal/submit (photo)").await;
    wd.screenshot(&shot("walk-1-photo.png")).await.unwrap();
    click(&wd, "#step-next").await;
    visible(&wd, "#report-form [data-step='3']").await;
    click(&wd, &format!("#unit-code option[value='{commune}']")).await;
    type_into(&wd, "#address", "Bãi đất trống sau chợ, cạnh mương thoát nước").await;
    click(&wd, "#step-next").await;
    visible(&wd, "#report-form [data-step='4']").await;
    click(&wd, "#public").await;
    type_into(&wd, "#contact-phone", "0987 654 321").await;
    // Consent by keyboard: Tab stops on the box above the buttons that stick to the bottom of
    // the screen, not under them, and Space ticks it.
    let tab = |n: usize| TAB.repeat(n);
    wd.send_keys(&wd.active().await.unwrap(), &tab(2)).await.unwrap();
    let consent = wd.active().await.unwrap();
    assert_eq!(wd.attribute(&consent, "id").await.unwrap().as_deref(), Some("consent"));
    let seen = wd
        .execute(
            "var r = arguments[0].getBoundingClientRect(); \
             return document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === arguments[0];",
            vec![consent.as_arg()],
        )
        .await
        .unwrap();
    assert_eq!(seen, true, "the focused consent box is hidden under the step buttons");
    wd.send_keys(&consent, " ").await.unwrap();
    assert_eq!(wd.property(&consent, "checked").await.unwrap(), true);
    click(&wd, "#send-report").await;
    visible(&wd, "#receipt").await;
    let code = text_of(&wd, "#tracking-code").await;
    assert_eq!(code.len(), 19, "XXXX-XXXX-XXXX-XXXX: {code}");
    assert_no_sideways_scroll(&wd, "/portal/submit (receipt)").await;
    wd.screenshot(&shot("walk-1-receipt.png")).await.unwrap();

    // The centre has it, with its photo; the photo's public copy has lost the position.
    let operator = app.signed_in("operator").await;
    let (_, queue) = get(&operator, &app, "/api/v1/reports?state=received").await;
    let id = queue
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["description"] == description)
        .unwrap_or_else(|| panic!("the report is not in the queue: {queue}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let received = report(&operator, &app, &id).await;
    assert_eq!(received["report"]["category"], "o-nhiem");
    assert_eq!(received["report"]["unit_code"], commune.as_str());
    assert_eq!(received["report"]["contact_masked"]["phone"], "09******21", "{received}");
    assert_eq!(received["suggested_agency"], "so-nn-mt");
    let media = received["media"].as_array().unwrap();
    assert_eq!(media.len(), 1, "one photo: {received}");
    assert_eq!(media[0]["stage"], "intake");
    let photo_id = media[0]["id"].as_str().unwrap().to_string();
    assert_public_copy_clean(&app, &format!("/api/v1/public/media/{photo_id}")).await;

    // 2. The operator, at a desk: verifies it from the queue with the keyboard, opens it and
    // sends it to the agency the page suggests.
    wd.set_window_size(DESKTOP.0, DESKTOP.1).await.unwrap();
    sign_in(&wd, &app, "operator").await;
    wd.goto(&app.url("/reports")).await.unwrap();
    wait(
        &wd,
        &format!("var r = document.querySelector('#queue-table tr.selected'); return r !== null && r.dataset.id === '{id}';"),
        "the citizen's report is not selected in the queue",
    )
    .await;
    press(&wd, "v").await;
    wait(
        &wd,
        "var r = document.querySelector('#queue-table tr.selected'); return r !== null && r.dataset.state === 'verified';",
        "v did not verify the report",
    )
    .await;
    assert_eq!(report(&operator, &app, &id).await["report"]["state"], "verified");
    wd.execute("document.activeElement.blur();", vec![]).await.unwrap();
    press(&wd, ENTER).await;
    wait(&wd, &format!("return location.pathname === '/reports/{id}';"), "Enter did not open the report")
        .await;
    detail_in(&wd, "verified").await;
    // The citizen's photo on the report's page: the public copy, captioned.
    image_loaded(&wd, "#report-media li[data-stage='intake'] img", 64).await;
    assert_eq!(text_of(&wd, "#report-media figcaption").await, "Ảnh người phản ánh gửi");
    assert!(wd.find("#media-add").await.is_ok());
    assert_eq!(
        wd.execute("return document.querySelector('#media-add').hidden;", vec![]).await.unwrap(),
        true,
        "the centre adds no result photo"
    );
    let agency =
        wd.execute("return document.querySelector('#step-assign select[name=agency]').value;", vec![]).await;
    assert_eq!(agency.unwrap(), "so-nn-mt", "the suggested agency is chosen");
    let chosen = text_of(&wd, "#step-assign select[name=agency] option:checked").await;
    assert!(chosen.contains("gợi ý"), "marked as suggested: {chosen}");
    // Before it goes further, the operator hides a face on the photo: drags over it and saves.
    // Only the public copy changes.
    let before = app.client().get(app.url(&format!("/api/v1/public/media/{photo_id}"))).send().await.unwrap();
    let before = before.bytes().await.unwrap();
    click(&wd, "#report-media li[data-stage='intake'] .media-redact").await;
    image_loaded(&wd, "#redact-img", 64).await;
    let photo_on_page = wd.find("#redact-img").await.unwrap();
    wd.drag(&photo_on_page, (-20, -14), (10, 10)).await.unwrap();
    wait(&wd, "return !document.querySelector('#redact-save').disabled;", "the dragged area was not marked")
        .await;
    assert_eq!(text_of(&wd, "#redact-status").await, "Đã đánh dấu 1 vùng.");
    assert_eq!(wd.find_all("#redact-boxes .redact-box").await.unwrap().len(), 1);
    wd.screenshot(&shot("walk-2-redact.png")).await.unwrap();
    click(&wd, "#redact-save").await;
    wait(
        &wd,
        "return document.querySelector('#redact-status').textContent === 'Đã che mờ bản công khai của ảnh.';",
        "the redaction was not saved",
    )
    .await;
    let redacted = report(&operator, &app, &id).await;
    assert_eq!(redacted["media"][0]["redacted"], true, "{redacted}");
    let after = app.client().get(app.url(&format!("/api/v1/public/media/{photo_id}"))).send().await.unwrap();
    let after = image::load_from_memory(&after.bytes().await.unwrap()).unwrap().to_rgb8();
    let before = image::load_from_memory(&before).unwrap().to_rgb8();
    // Inside the dragged area (photo pixels 12..42 × 10..34) the gradient became flat blocks;
    // far outside it the photo is as it was (but for JPEG's own noise).
    let changed = |x: u32, y: u32| {
        let (a, b) = (before.get_pixel(x, y), after.get_pixel(x, y));
        (0..3).map(|c| (i32::from(a[c]) - i32::from(b[c])).abs()).max().unwrap()
    };
    let inside =
        (14..40).flat_map(|x| (12..32).map(move |y| (x, y))).filter(|(x, y)| changed(*x, *y) > 8).count();
    assert!(inside > 100, "the area is pixelated ({inside} pixels changed)");
    assert!(changed(60, 44) <= 8 && changed(2, 2) <= 8, "the rest of the photo is unchanged");
    wait(
        &wd,
        "return document.querySelector('#report-media figcaption').textContent.indexOf('đã che mờ') > 0;",
        "the photo is not shown as pixelated",
    )
    .await;
    click(&wd, "#redact-close").await;
    wd.screenshot(&shot("walk-2-operator.png")).await.unwrap();
    click(&wd, "#step-assign button[type=submit]").await;
    detail_in(&wd, "assigned").await;
    let (_, orgs) = get(&operator, &app, "/api/v1/orgs").await;
    let agency_id = orgs.as_array().unwrap().iter().find(|o| o["code"] == "so-nn-mt").unwrap()["id"].clone();
    let assigned = report(&operator, &app, &id).await;
    assert_eq!(assigned["report"]["state"], "assigned", "{assigned}");
    assert_eq!(assigned["report"]["agency_id"], agency_id, "the Department holds it");
    sign_out(&wd).await;

    // 3. The Department's officer: accepts, starts, adds a photo of the result and answers.
    sign_in(&wd, &app, "officer").await;
    wd.goto(&app.url(&format!("/reports/{id}"))).await.unwrap();
    detail_in(&wd, "assigned").await;
    click(&wd, "#step-accept button").await;
    detail_in(&wd, "accepted").await;
    click(&wd, "#step-start button").await;
    detail_in(&wd, "in_progress").await;
    visible(&wd, "#media-add").await;
    type_into(&wd, "#media-file", result_photo.to_str().unwrap()).await;
    image_loaded(&wd, "#report-media li[data-stage='answer'] img", 64).await;
    assert_eq!(text_of(&wd, "#media-status").await, "Đã thêm ảnh vào phản ánh.");
    wd.execute("document.querySelector('#report-media').scrollIntoView({block: 'center'});", vec![])
        .await
        .unwrap();
    wd.screenshot(&shot("walk-3-photos.png")).await.unwrap();
    let answer = "Đã lập biên bản hộ đốt rác, thu dọn bãi rác và đặt biển cấm đổ rác sau chợ.";
    type_into(&wd, "#step-answer textarea", answer).await;
    wd.screenshot(&shot("walk-3-officer.png")).await.unwrap();
    click(&wd, "#step-answer button").await;
    detail_in(&wd, "answered").await;
    let officer = app.signed_in("officer").await;
    let answered = report(&officer, &app, &id).await;
    assert_eq!(answered["report"]["state"], "answered", "{answered}");
    assert_eq!(answered["report"]["answer"], answer);
    let stages: Vec<&str> =
        answered["media"].as_array().unwrap().iter().map(|m| m["stage"].as_str().unwrap()).collect();
    assert_eq!(stages.iter().filter(|s| **s == "answer").count(), 1, "the result photo: {stages:?}");
    sign_out(&wd).await;

    // 4. A supervisor approves the answer: the report is closed and published.
    sign_in(&wd, &app, "supervisor").await;
    wd.goto(&app.url(&format!("/reports/{id}"))).await.unwrap();
    detail_in(&wd, "answered").await;
    assert_eq!(text_of(&wd, "#report-answer").await, answer);
    click(&wd, "#step-approve button").await;
    detail_in(&wd, "closed").await;
    wd.screenshot(&shot("walk-4-supervisor.png")).await.unwrap();
    let supervisor = app.signed_in("supervisor").await;
    let closed = report(&supervisor, &app, &id).await;
    assert_eq!(closed["report"]["state"], "closed", "{closed}");
    assert!(closed["report"]["published_at"].is_string(), "published: {closed}");
    sign_out(&wd).await;

    // 5. The citizen, on the phone again: the answer, both photos, 4 stars and a comment.
    wd.set_window_size(PHONE.0, PHONE.1).await.unwrap();
    wd.goto(&app.url("/portal/track")).await.unwrap();
    type_into(&wd, "#track-code", &code).await;
    click(&wd, "#track-submit").await;
    visible(&wd, "#track-result").await;
    assert_eq!(text_of(&wd, "#view-state").await, "Đã hoàn thành");
    assert_eq!(text_of(&wd, "#view-answer").await, answer);
    image_loaded(&wd, "#view-photos img", 64).await;
    image_loaded(&wd, "#view-answer-photos img", 64).await;
    assert_eq!(
        wd.execute("return document.querySelector('#view-answer-photos img').alt;", vec![]).await.unwrap(),
        "Ảnh kết quả xử lý"
    );
    assert_no_sideways_scroll(&wd, "/portal/track").await;
    wd.execute("document.querySelector('#view-answer-box').scrollIntoView();", vec![]).await.unwrap();
    wd.screenshot(&shot("walk-5-track.png")).await.unwrap();
    let res =
        send(&app.client(), &app, Method::POST, "/api/v1/public/track", Some(json!({"code": code}))).await;
    let view: Value = res.json().await.unwrap();
    let urls: Vec<&str> =
        view["media"].as_array().unwrap().iter().map(|m| m["url"].as_str().unwrap()).collect();
    assert_eq!(urls.len(), 2, "the citizen's photo and the result's: {view}");
    for url in urls {
        assert_public_copy_clean(&app, url).await;
    }
    visible(&wd, "#rate-form").await;
    click(&wd, "label[for='star-4']").await;
    type_into(&wd, "#rate-note", "Đã sạch, nhưng nên kiểm tra thêm vào buổi tối.").await;
    click(&wd, "#rate-submit").await;
    visible(&wd, "#view-rating").await;
    assert_eq!(text_of(&wd, "#view-rating").await, "Bạn đã đánh giá: 4/5.");
    wd.screenshot(&shot("walk-5-rated.png")).await.unwrap();
    let rated = report(&operator, &app, &id).await;
    assert_eq!(rated["report"]["rating"], 4, "{rated}");
    assert_eq!(rated["report"]["rating_comment"], "Đã sạch, nhưng nên kiểm tra thêm vào buổi tối.");

    wd.close().await.unwrap();
    app.stop().await;
}
