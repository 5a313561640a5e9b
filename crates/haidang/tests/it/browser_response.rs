//! The operator's alert-to-incident flow in a browser: the alert list is open when a river
//! gauge passes its danger level; the alert arrives on the live list without a reload (with the
//! bell), the operator acknowledges and verifies it and opens an incident; the command page
//! shows the flood playbook's checklist, the tasks by agency, the situation around the gauge
//! and the timeline; the agency's officer sees its task and reports it done.
//! Runs when HAIDANG_TEST_CHROMIUM names the Chromium binary.

use crate::browser_data::{shot, sign_in, text_of};
use crate::browser_report_walk::{click, type_into, visible, wait};
use crate::harness::{service_url, Backend};
use crate::incidents::incidents_app;
use crate::webdriver::WebDriver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_takes_a_river_alert_to_an_incident_and_the_agency_answers_its_task() {
    let Some(chromium) = service_url("HAIDANG_TEST_CHROMIUM") else {
        return;
    };
    let app = incidents_app(Backend::Sqlite).await;
    let wd = WebDriver::start(&chromium, "vi-VN,vi").await.unwrap_or_else(|e| panic!("{e:#}"));
    sign_in(&wd, &app, "operator").await;
    wd.goto(&app.url("/alerts")).await.unwrap();
    wait(
        &wd,
        "return document.getElementById('live-status').textContent === 'Trực tuyến';",
        "the live stream never connected",
    )
    .await;

    // The river passes its danger level while the page is open.
    haidang::simulator::send_level(&app.state, "tv-nam-na", 189.2, jiff::Timestamp::now()).await.unwrap();
    wait(
        &wd,
        "return Array.from(document.querySelectorAll('#alert-table tbody tr')).some(r => r.textContent.includes('nguy hiểm'));",
        "the alert never reached the list",
    )
    .await;
    let number = wd
        .execute(
            "var r = Array.from(document.querySelectorAll('#alert-table tbody tr')).find(r => r.textContent.includes('nguy hiểm')); \
             return r.id.replace('alert-', '');",
            vec![],
        )
        .await
        .unwrap();
    let number = number.as_str().unwrap().to_string();
    let row = format!("#alert-{number}");
    assert!(text_of(&wd, &row).await.contains("Đặc biệt nghiêm trọng"), "severity in words");
    assert!(text_of(&wd, &row).await.contains("189,2"), "the value the Vietnamese way");
    let bell = wd.execute("return document.body.getAttribute('data-bell');", vec![]).await.unwrap();
    assert!(bell.is_string(), "the bell rang for an extreme alert");

    click(&wd, &format!("#act-acknowledge-{number}")).await;
    wait(
        &wd,
        &format!("return document.querySelector('{row} .state').textContent === 'Đã tiếp nhận';"),
        "not acknowledged",
    )
    .await;
    click(&wd, &format!("#act-verify-{number}")).await;
    wait(
        &wd,
        &format!("return document.querySelector('{row} .state').textContent === 'Đã xác minh';"),
        "not verified",
    )
    .await;
    click(&wd, &format!("#act-incident-{number}")).await;
    visible(&wd, "#incident-dialog").await;
    let title = wd.find("#incident-title").await.unwrap();
    wd.execute("arguments[0].value = '';", vec![title.as_arg()]).await.unwrap();
    type_into(&wd, "#incident-title", "Lũ quét suối Nậm Na, xã Pa Tần").await;
    click(&wd, "#incident-submit").await;

    // The command page: the playbook's steps, the agencies' tasks, the situation, the timeline.
    wait(&wd, "return location.pathname.startsWith('/incidents/') && document.querySelectorAll('#checklist li').length === 7;", "no checklist").await;
    assert!(text_of(&wd, "#incident-heading").await.contains("Lũ quét suối Nậm Na"));
    wait(&wd, "return document.querySelectorAll('#task-table tbody tr').length === 5;", "no tasks").await;
    assert!(text_of(&wd, "#task-table").await.contains("Sở Nông nghiệp và Môi trường"));
    wait(&wd, "return document.querySelectorAll('#situation li').length > 1;", "no situation").await;
    let situation = text_of(&wd, "#situation").await;
    assert!(situation.contains("Camera cầu Nậm Na"), "the camera at the bridge is near: {situation}");
    assert!(situation.contains("Điểm sơ tán trường THCS Pa Tần"), "{situation}");
    assert!(text_of(&wd, "#mobilised").await.contains("☎"), "duty phones of the forces");
    click(&wd, "#check-0").await;
    wait(
        &wd,
        "return document.querySelector('#checklist li').classList.contains('done');",
        "step not ticked",
    )
    .await;
    type_into(&wd, "#note-text", "Đã gọi Chủ tịch UBND xã Pa Tần").await;
    click(&wd, "#note-form button").await;
    wait(
        &wd,
        "return document.getElementById('timeline').textContent.includes('Chủ tịch UBND xã Pa Tần');",
        "note not on the timeline",
    )
    .await;
    wd.screenshot(&shot("incident_command.png")).await.unwrap();

    // The department's officer sees its task and reports it done.
    wd.click(&wd.find("#logout-form button").await.unwrap()).await.unwrap();
    wait(
        &wd,
        "return location.pathname === '/login' && document.querySelector('#username') !== null;",
        "not signed out",
    )
    .await;
    sign_in(&wd, &app, "officer").await;
    wd.goto(&app.url("/tasks")).await.unwrap();
    wait(
        &wd,
        "return document.querySelectorAll('.task-card').length === 1;",
        "the officer's task is not listed",
    )
    .await;
    let note = wd.find(".task-card input").await.unwrap();
    wd.send_keys(&note, "Đã kiểm tra 3 hồ đập, an toàn").await.unwrap();
    wd.execute(
        "Array.from(document.querySelectorAll('.task-card button')).find(b => b.textContent === 'Hoàn thành').click();",
        vec![],
    )
    .await
    .unwrap();
    wait(
        &wd,
        "return document.querySelectorAll('.task-card').length === 0;",
        "the task did not leave the open list",
    )
    .await;
    wd.close().await.ok();
    app.stop().await;
}
