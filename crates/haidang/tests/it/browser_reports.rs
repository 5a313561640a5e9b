//! Citizen reports in the console, in a real browser. The centre's operator works the intake
//! queue without the mouse: moves the selection, verifies the oldest report and assigns it to
//! the suggested agency, rejects the next with a reason chosen from the keyboard and merges a
//! duplicate; the API shows each step. The agency's officer then finds the report among its
//! assigned ones (an overdue one marked as such), accepts it and answers it on its page.
//! Runs when HAIDANG_TEST_CHROMIUM names the Chromium binary.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::browser_data::{shot, sign_in, text_of};
use crate::harness::{get, send, service_url, Backend, TestApp};
use crate::reports::{commune_point, reports_app};
use crate::webdriver::WebDriver;

const ARROW_DOWN: &str = "\u{E015}";
const ARROW_UP: &str = "\u{E013}";
const ENTER: &str = "\u{E007}";
const WAIT: Duration = Duration::from_secs(15);

/// A citizen's report from the portal; its id, found in the operator's queue.
async fn citizen_report(app: &TestApp, operator: &reqwest::Client, body: Value) -> String {
    let description = body["description"].as_str().unwrap().to_string();
    let res = send(&app.client(), app, Method::POST, "/api/v1/public/reports", Some(body)).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let (_, queue) = get(operator, app, "/api/v1/reports?state=received").await;
    queue.as_array().unwrap().iter().find(|r| r["description"] == description.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn report(c: &reqwest::Client, app: &TestApp, id: &str) -> Value {
    let (status, detail) = get(c, app, &format!("/api/v1/reports/{id}")).await;
    assert_eq!(status, 200, "{detail}");
    detail
}

/// Keys typed with nothing focused: they reach the page, as a user's keyboard does.
async fn press(wd: &WebDriver, keys: &str) {
    wd.send_keys(&wd.find("body").await.unwrap(), keys).await.unwrap();
}

/// The queue's selected row: its report's id.
async fn selected(wd: &WebDriver) -> String {
    wd.execute(
        "var r = document.querySelector('#queue-table tr.selected'); return r ? r.dataset.id : '';",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap()
    .to_string()
}

async fn queue_ids(wd: &WebDriver) -> Vec<String> {
    let v = wd
        .execute(
            "return Array.from(document.querySelectorAll('#queue-table tbody tr[data-id]')).map(function (r) { return r.dataset.id; });",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

async fn wait_queue(wd: &WebDriver, count: usize) {
    wd.wait_for(
        &format!("return document.querySelectorAll('#queue-table tbody tr[data-id]').length === {count};"),
        WAIT,
    )
    .await
    .unwrap_or_else(|e| panic!("the queue never had {count} reports: {e:#}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_works_the_queue_by_keyboard_and_an_agency_answers() {
    let Some(chromium) = service_url("HAIDANG_TEST_CHROMIUM") else {
        return;
    };
    let app = reports_app(Backend::Sqlite, 0).await;
    let operator = app.signed_in("operator").await;
    let (_, a_lon, a_lat) = commune_point(&app, 0).await;
    let (_, b_lon, b_lat) = commune_point(&app, 4).await;
    // Oldest first: smoke near a school, posters far away, then the smoke again from a neighbour.
    let first = citizen_report(
        &app,
        &operator,
        json!({"category": "o-nhiem", "description": "Khói đốt rác bốc mùi khét mỗi tối gần trường tiểu học.",
               "lon": a_lon, "lat": a_lat, "address": "cạnh trường tiểu học", "public": true,
               "contact": {"name": "Lò Thị Mai", "phone": "0912 345 689"},
               "consent": "Để cơ quan xử lý liên hệ và báo kết quả"}),
    )
    .await;
    let second = citizen_report(
        &app,
        &operator,
        json!({"category": "trat-tu-do-thi", "description": "Dán quảng cáo cho vay kín cột điện đầu ngõ, bóc rồi lại dán.",
               "lon": b_lon, "lat": b_lat, "public": false}),
    )
    .await;
    let third = citizen_report(
        &app,
        &operator,
        json!({"category": "o-nhiem", "description": "Tối nào cũng có người đốt rác gần trường, khói bay vào nhà dân.",
               "lon": a_lon + 0.0001, "lat": a_lat, "public": true}),
    )
    .await;
    let suggested = report(&operator, &app, &first).await["suggested_agency"].as_str().unwrap().to_string();
    assert_eq!(suggested, "so-nn-mt");
    let (_, orgs) = get(&operator, &app, "/api/v1/orgs").await;
    let agency_id = orgs.as_array().unwrap().iter().find(|o| o["code"] == "so-nn-mt").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let wd = WebDriver::start(&chromium, "vi-VN,vi").await.unwrap_or_else(|e| panic!("{e:#}"));
    sign_in(&wd, &app, "operator").await;

    // 1. The queue, oldest first, the first report selected, with the shortcuts named on screen.
    wd.goto(&app.url("/reports")).await.unwrap();
    assert_eq!(text_of(&wd, "#nav-reports").await, "Phản ánh");
    wait_queue(&wd, 3).await;
    assert_eq!(queue_ids(&wd).await, [first.clone(), second.clone(), third.clone()]);
    let legend = text_of(&wd, "#shortcut-legend").await;
    assert!(legend.contains("Phím tắt") && legend.contains("Giao cho cơ quan được gợi ý"), "{legend}");
    assert_eq!(selected(&wd).await, first);
    press(&wd, "j").await;
    assert_eq!(selected(&wd).await, second);
    press(&wd, ARROW_DOWN).await;
    assert_eq!(selected(&wd).await, third);
    press(&wd, "k").await;
    press(&wd, ARROW_UP).await;
    assert_eq!(selected(&wd).await, first);
    let row = text_of(&wd, "#queue-table tr.selected").await;
    assert!(row.contains("Ô nhiễm không khí"), "the category by its name: {row}");
    assert!(
        row.contains("Mới tiếp nhận") && row.contains("Cổng thông tin"),
        "state and channel in words: {row}"
    );
    let when = wd
        .execute(
            "return document.querySelector('#queue-table tr.selected td:nth-child(2)').textContent;",
            vec![],
        )
        .await
        .unwrap();
    assert!(regex_like_date(when.as_str().unwrap()), "received at dd/mm/yyyy HH:MM: {when}");
    wd.screenshot(&shot("reports-queue.png")).await.unwrap();

    // 2. Typing in a field is not a shortcut: "v" in the state filter verifies nothing.
    wd.send_keys(&wd.find("#state-filter").await.unwrap(), "v").await.unwrap();
    wd.execute(
        "document.activeElement.blur(); var f = document.querySelector('#state-filter'); \
                if (f.value) { f.value = ''; f.dispatchEvent(new Event('change')); }",
        vec![],
    )
    .await
    .unwrap();
    wait_queue(&wd, 3).await;
    assert_eq!(report(&operator, &app, &first).await["report"]["state"], "received");

    // 3. v verifies the selected report, a assigns it to the suggested agency in one action.
    press(&wd, "v").await;
    wd.wait_for("var r = document.querySelector('#queue-table tr.selected'); return r && r.dataset.state === 'verified';", WAIT)
        .await
        .unwrap();
    assert_eq!(report(&operator, &app, &first).await["report"]["state"], "verified");
    assert!(text_of(&wd, "#queue-status").await.contains("Xác minh"));
    press(&wd, "a").await;
    wait_queue(&wd, 2).await;
    let assigned = report(&operator, &app, &first).await;
    assert_eq!(assigned["report"]["state"], "assigned", "{assigned}");
    assert_eq!(assigned["report"]["agency_id"], agency_id.as_str(), "the suggested agency holds it");
    let actions: Vec<&str> =
        assigned["steps"].as_array().unwrap().iter().map(|s| s["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["receive", "verify", "assign"]);

    // 4. r opens the reason form on the next report; the reason is chosen and sent by keyboard.
    assert_eq!(selected(&wd).await, second);
    press(&wd, "r").await;
    wd.wait_for("return !document.querySelector('#reject-form').hidden && document.activeElement.id === 'reject-reason';", WAIT)
        .await
        .unwrap();
    // The legend says Enter sends; the list's own shortcuts stay quiet while the form has the focus.
    let focused = wd.active().await.unwrap();
    wd.send_keys(&focused, "j").await.unwrap();
    assert_eq!(selected(&wd).await, second, "j in the form does not move the queue");
    // spam is first: one step down is "duplicate", back up is spam.
    wd.send_keys(&focused, ARROW_DOWN).await.unwrap();
    wd.send_keys(&focused, ARROW_UP).await.unwrap();
    let reason = wd.execute("return document.querySelector('#reject-reason').value;", vec![]).await.unwrap();
    assert_eq!(reason, "spam");
    wd.screenshot(&shot("reports-reject-form.png")).await.unwrap();
    wd.send_keys(&focused, ENTER).await.unwrap();
    wait_queue(&wd, 1).await;
    let rejected = report(&operator, &app, &second).await;
    assert_eq!(rejected["report"]["state"], "rejected", "{rejected}");
    assert_eq!(rejected["report"]["reject_reason"], "spam");
    assert!(wd.find("#reject-form").await.is_ok());
    assert_eq!(
        wd.execute("return document.querySelector('#reject-form').hidden;", vec![]).await.unwrap(),
        true
    );

    // 5. m merges the last one into its first suggested duplicate: the report just assigned.
    assert_eq!(selected(&wd).await, third);
    press(&wd, "m").await;
    wait_queue(&wd, 0).await;
    let merged = report(&operator, &app, &third).await;
    assert_eq!(merged["report"]["state"], "merged", "{merged}");
    assert_eq!(merged["report"]["merged_into"], first.as_str());

    // 6. Enter opens a report: the overdue tab is empty, all open ones list the assigned one.
    wd.click(&wd.find(".tab[data-tab='open']").await.unwrap()).await.unwrap();
    wait_queue(&wd, 1).await;
    wd.execute("document.activeElement.blur();", vec![]).await.unwrap();
    press(&wd, ENTER).await;
    wd.wait_for(
        &format!("return location.pathname === '/reports/{first}' && document.querySelector('#report-detail').dataset.loaded;"),
        WAIT,
    )
    .await
    .unwrap();
    let state = text_of(&wd, "#report-state").await;
    assert_eq!(state, "Đã giao xử lý");
    assert_eq!(text_of(&wd, ".contact-phone").await, "09******89", "the contact masked");
    wd.click(&wd.find("#contact-show").await.unwrap()).await.unwrap();
    wd.wait_for("return !document.querySelector('#contact-clear').hidden;", WAIT).await.unwrap();
    assert!(text_of(&wd, "#contact-clear").await.contains("Lò Thị Mai"));
    if let Err(e) = wd.wait_for("return document.querySelector('#report-map').dataset.drawn;", WAIT).await {
        let why = wd.execute("return document.querySelector('#report-map').dataset.error;", vec![]).await;
        panic!("the map is not drawn ({why:?}): {e:#}");
    }
    wd.screenshot(&shot("reports-detail-operator.png")).await.unwrap();

    // An overdue report for the agency: assigned three weeks ago.
    let past = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(21 * 24);
    app.state.reports.set_time(Some(past));
    let late = citizen_report(
        &app,
        &operator,
        json!({"category": "o-nhiem", "description": "Nước thải từ xưởng chế biến chảy thẳng ra suối.",
               "lon": b_lon, "lat": b_lat, "public": true}),
    )
    .await;
    let res = send(
        &operator,
        &app,
        Method::POST,
        &format!("/api/v1/reports/{late}/steps"),
        Some(json!({"step": "assign"})),
    )
    .await;
    assert_eq!(res.status(), 200);
    app.state.reports.set_time(None);

    // 7. The agency's officer: its assigned reports with deadlines, the late one marked.
    wd.click(&wd.find("#logout-form button").await.unwrap()).await.unwrap();
    wd.wait_for("return location.pathname === '/login';", WAIT).await.unwrap();
    sign_in(&wd, &app, "officer").await;
    wd.goto(&app.url("/reports")).await.unwrap();
    wait_queue(&wd, 2).await;
    assert_eq!(text_of(&wd, "h1.page-title").await, "Phản ánh được giao");
    assert_eq!(queue_ids(&wd).await, [late.clone(), first.clone()], "the nearest deadline first");
    let late_row = format!("#queue-table tr[data-id='{late}']");
    let class = wd.attribute(&wd.find(&late_row).await.unwrap(), "class").await.unwrap().unwrap_or_default();
    assert!(class.contains("overdue"), "{class}");
    assert!(text_of(&wd, &late_row).await.contains("Quá hạn"));
    let on_time = text_of(&wd, &format!("#queue-table tr[data-id='{first}'] td.time-left")).await;
    assert!(on_time.starts_with("Còn ") && on_time.contains("ngày"), "time left: {on_time}");
    assert!(wd.find_all("#reject-form").await.unwrap().is_empty(), "no centre steps for an agency");
    wd.screenshot(&shot("reports-assigned.png")).await.unwrap();

    // 8. It accepts and answers on the report's page, with the mouse.
    wd.click(&wd.find(&format!("#queue-table tr[data-id='{first}'] a")).await.unwrap()).await.unwrap();
    wd.wait_for("return document.querySelector('#report-detail') && document.querySelector('#report-detail').dataset.loaded;", WAIT)
        .await
        .unwrap();
    assert!(wd.find_all("#step-verify").await.unwrap().is_empty());
    wd.click(&wd.find("#step-accept button").await.unwrap()).await.unwrap();
    wd.wait_for("return document.querySelector('#report-detail').dataset.state === 'accepted';", WAIT)
        .await
        .unwrap();
    // Answering without a text: the API's refusal, in Vietnamese, in place.
    wd.click(&wd.find("#step-answer button").await.unwrap()).await.unwrap();
    wd.wait_for("return !document.querySelector('#action-error').hidden;", WAIT).await.unwrap();
    let refusal = text_of(&wd, "#action-error").await;
    assert!(refusal.starts_with("Dữ liệu") || refusal.contains("answer"), "the API's words: {refusal}");
    let invalid =
        wd.attribute(&wd.find("#step-answer textarea").await.unwrap(), "aria-invalid").await.unwrap();
    assert_eq!(invalid.as_deref(), Some("true"), "the field named by the API is marked");
    let answer = "Đã kiểm tra hiện trường, yêu cầu hộ dân chấm dứt đốt rác và bố trí điểm thu gom.";
    wd.send_keys(&wd.find("#step-answer textarea").await.unwrap(), answer).await.unwrap();
    wd.click(&wd.find("#step-answer button").await.unwrap()).await.unwrap();
    wd.wait_for("return document.querySelector('#report-detail').dataset.state === 'answered';", WAIT)
        .await
        .unwrap();
    let officer = app.signed_in("officer").await;
    let answered = report(&officer, &app, &first).await;
    assert_eq!(answered["report"]["state"], "answered", "{answered}");
    assert_eq!(answered["report"]["answer"], answer);
    assert!(text_of(&wd, "#timeline").await.contains("Trả lời kết quả"));
    wd.screenshot(&shot("reports-detail-officer.png")).await.unwrap();

    wd.close().await.unwrap();
    app.stop().await;
}

/// "dd/mm/yyyy HH:MM".
fn regex_like_date(text: &str) -> bool {
    let b = text.trim().as_bytes();
    b.len() == 16
        && b.iter().enumerate().all(|(i, c)| match i {
            2 | 5 => *c == b'/',
            10 => *c == b' ',
            13 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}
