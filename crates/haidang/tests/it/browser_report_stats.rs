//! The centre's hotline form and the statistics pages in a browser: an operator takes a call,
//! files it with the caller's phone and reads the tracking code back; the caller can follow it
//! with that code. A leader reads the statistics over a year by agency, and anyone reads the
//! public figures, both agreeing with the API, numbers written the Vietnamese way.
//! Runs when HAIDANG_TEST_CHROMIUM names the Chromium binary.

use serde_json::Value;

use crate::browser_data::{shot, sign_in, text_of};
use crate::browser_report_walk::{click, type_into, visible, wait};
use crate::harness::{get, service_url, Backend};
use crate::reports::{reports_app, track};
use crate::webdriver::WebDriver;

/// Chooses an option of a select by its value, as picking it from the list does.
async fn choose(wd: &WebDriver, css: &str, value: &str) {
    let script = format!(
        "var s = document.querySelector({css:?}); s.value = {value:?}; \
         s.dispatchEvent(new Event('change', {{bubbles: true}})); return s.value;"
    );
    assert_eq!(
        wd.execute(&script, vec![]).await.unwrap(),
        Value::String(value.into()),
        "{css} has no {value}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_files_a_call_and_leaders_and_citizens_read_the_figures() {
    let Some(chromium) = service_url("HAIDANG_TEST_CHROMIUM") else {
        return;
    };
    let app = reports_app(Backend::Sqlite, 40).await;
    let wd = WebDriver::start(&chromium, "vi-VN,vi").await.unwrap_or_else(|e| panic!("{e:#}"));

    // 1. A call to the hotline: the operator files it and reads the code to the caller.
    sign_in(&wd, &app, "operator").await;
    wd.goto(&app.url("/reports")).await.unwrap();
    click(&wd, "#hotline summary").await;
    visible(&wd, "#hotline-form").await;
    let options = wd.find_all("#hotline-category option").await.unwrap();
    assert!(options.len() > 20, "the categories are offered");
    choose(&wd, "#hotline-category", "chieu-sang").await;
    type_into(&wd, "#hotline-description", "Người gọi báo cả dãy đèn đường trước cổng chợ tắt từ tối qua.")
        .await;
    let commune = wd
        .execute("return document.querySelector('#hotline-unit option:nth-child(2)').value;", vec![])
        .await
        .unwrap();
    choose(&wd, "#hotline-unit", commune.as_str().unwrap()).await;
    type_into(&wd, "#hotline-address", "Cổng chợ trung tâm").await;
    type_into(&wd, "#hotline-name", "Tòng Văn Sơn").await;
    type_into(&wd, "#hotline-phone", "0915 222 333").await;
    // A caller's contact needs their agreement, said on the phone and ticked by the operator.
    click(&wd, "#hotline-submit").await;
    visible(&wd, "#hotline-error").await;
    assert!(text_of(&wd, "#hotline-error").await.contains("đồng ý"), "consent is asked for");
    click(&wd, "#hotline-consent").await;
    click(&wd, "#hotline-submit").await;
    visible(&wd, "#hotline-done").await;
    let code = text_of(&wd, "#hotline-code").await;
    assert!(code.len() >= 12, "a tracking code to read out: {code}");
    let done = text_of(&wd, "#hotline-done-text").await;
    assert!(done.starts_with("Đã tiếp nhận phản ánh số"), "{done}");
    wd.screenshot(&shot("hotline-done.png")).await.unwrap();
    // The caller follows it with the code; the centre sees a hotline report with a masked phone.
    let (status, followed) = track(&app, &code).await;
    assert_eq!(status, 200, "{followed}");
    let operator = app.signed_in("operator").await;
    let (_, calls) = get(&operator, &app, "/api/v1/reports?channel=hotline").await;
    let call = &calls.as_array().unwrap()[0];
    assert_eq!(call["description"], "Người gọi báo cả dãy đèn đường trước cổng chợ tắt từ tối qua.");
    assert_eq!(call["unit_code"], commune);
    assert_eq!(call["contact_masked"]["phone"], "09******33", "{call}");
    assert!(!call.to_string().contains("0915 222 333") && !call.to_string().contains("0915222333"));
    click(&wd, "#logout-form button").await;
    wait(&wd, "return location.pathname === '/login';", "signing out").await;

    // 2. A leader reads a year by agency; the totals agree with the API.
    sign_in(&wd, &app, "leader").await;
    wd.goto(&app.url("/reports/statistics")).await.unwrap();
    choose(&wd, "#stats-period", "months12").await;
    choose(&wd, "#stats-by", "agency").await;
    wait(
        &wd,
        "return document.querySelector('#stats-name-col').textContent === 'Đơn vị xử lý' \
         && document.querySelectorAll('#stats-table tbody tr').length > 1 \
         && document.querySelector('#stats-range').textContent.indexOf('/') > 0;",
        "the year by agency never showed",
    )
    .await;
    let leader = app.signed_in("leader").await;
    let from = wd
        .execute(
            "return new URL(document.querySelector('#stats-csv').href).searchParams.get('from');",
            vec![],
        )
        .await
        .unwrap();
    let (_, api) =
        get(&leader, &app, &format!("/api/v1/reports/statistics?by=agency&from={}", from.as_str().unwrap()))
            .await;
    assert_eq!(text_of(&wd, "[data-total='received']").await, api["total"]["received"].to_string());
    assert_eq!(api["total"]["received"], 41, "the year holds the demo's 40 and the call");
    let rows = wd.find_all("#stats-table tbody tr").await.unwrap();
    assert_eq!(rows.len(), api["rows"].as_array().unwrap().len());
    // Agencies by name, not by id; shares with a decimal comma.
    let names = wd
        .execute(
            "return Array.from(document.querySelectorAll('#stats-table tbody th')).map(t => t.textContent);",
            vec![],
        )
        .await
        .unwrap();
    let names: Vec<&str> = names.as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    for row in api["rows"].as_array().unwrap() {
        let key = row["key"].as_str().unwrap();
        assert!(key.is_empty() || !names.contains(&key), "agency {key} shown by its id: {names:?}");
    }
    assert!(names.contains(&"Chưa chuyển xử lý"), "reports with no agency yet are named: {names:?}");
    assert!(names.iter().any(|n| n.starts_with("Sở ")), "departments by name: {names:?}");
    let pct = text_of(&wd, "[data-total='on_time_pct']").await;
    assert!(pct.is_empty() || pct == "–" || !pct.contains('.'), "Vietnamese decimals: {pct}");
    let csv = wd.execute("return document.querySelector('#stats-csv').href;", vec![]).await.unwrap();
    assert!(
        csv.as_str().unwrap().contains("by=agency") && csv.as_str().unwrap().contains("format=csv"),
        "{csv}"
    );
    wd.screenshot(&shot("statistics-leader.png")).await.unwrap();
    click(&wd, "#logout-form button").await;
    wait(&wd, "return location.pathname === '/login';", "signing out").await;

    // 3. Anyone: the public figures, aggregates only.
    wd.goto(&app.url("/portal/statistics")).await.unwrap();
    wait(
        &wd,
        "return document.querySelectorAll('#stats-table tbody tr').length > 0 \
         && document.querySelector('[data-total=\"received\"]').textContent !== '';",
        "the public statistics never showed",
    )
    .await;
    let page = wd.execute("return document.body.innerText;", vec![]).await.unwrap();
    assert!(!page.as_str().unwrap().contains("Tòng Văn Sơn"), "no person on the public page");
    wd.screenshot(&shot("statistics-public.png")).await.unwrap();
    wd.close().await.unwrap();
    app.stop().await;
}
