//! The monitoring indicators' console pages in a real browser, on the demo catalog: a leader
//! reads the group overview and its warnings (the same counts the API gives), opens an
//! off-track indicator and sees its chart with the target line, its status, forecast, communes
//! and map; an agency officer uploads its form with one bad row, sees the error in place with
//! nothing written, then sends it fixed; the catalog shows this year's targets. Runs when
//! HAIDANG_TEST_CHROMIUM names the Chromium binary.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use haidang_report::{read_table, write_template, ColumnKind, TableFormat, TemplateColumn, TemplateSpec};
use serde_json::{json, Value};

use crate::browser_data::{shot, sign_in, text_of};
use crate::harness::{get, service_url, Backend, TestApp};
use crate::indicators::demo_app;
use crate::webdriver::WebDriver;

/// The texts of the cells matching `arguments[0]` that are not numbers written the Vietnamese
/// way ("1.234,5", "85,3%", "+2,1%", "—"); only a cell's first word counts (units follow it).
const NOT_VIETNAMESE: &str = "var re = /^(—|[+-]?\\d{1,3}(\\.\\d{3})*(,\\d+)?%?)$/; \
    return Array.from(document.querySelectorAll(arguments[0])) \
      .map(function (td) { return td.textContent.trim().split(/\\s+/)[0]; }) \
      .filter(function (t) { return !re.test(t); });";

/// `v` with `decimals` decimals the Vietnamese way, written independently of the server's own
/// formatter so that a change there is caught here.
fn vi(v: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, v.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let sign = if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{frac}")
    }
}

/// Signs out with the header's button, as a user hands the computer over.
async fn sign_out(wd: &WebDriver) {
    wd.click(&wd.find("#logout-form button").await.unwrap()).await.unwrap();
    wd.wait_for(
        "return location.pathname === '/login' && document.querySelector('#username') !== null;",
        Duration::from_secs(15),
    )
    .await
    .unwrap();
}

async fn strings(wd: &WebDriver, script: &str, args: Vec<Value>) -> Vec<String> {
    serde_json::from_value(wd.execute(script, args).await.unwrap()).unwrap()
}

async fn not_vietnamese(wd: &WebDriver, css: &str) -> Vec<String> {
    strings(wd, NOT_VIETNAMESE, vec![json!(css)]).await
}

/// Today in Vietnam as the console writes it.
fn today_vn() -> String {
    jiff::Zoned::now()
        .with_time_zone(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap())
        .strftime("%d/%m/%Y")
        .to_string()
}

/// The form as an agency fills it in: the downloaded template's columns, with `rows` as its
/// data, written by the same XLSX writer the server uses (as Excel would keep it).
fn filled_form(headers: &[String], rows: Vec<Vec<String>>) -> Vec<u8> {
    write_template(&TemplateSpec {
        sheet_name: "Chi tieu".into(),
        title: "Biểu mẫu chỉ tiêu".into(),
        marker: "haidang:indicators:v1".into(),
        columns: headers
            .iter()
            .map(|h| TemplateColumn {
                header: h.clone(),
                kind: if h.ends_with("(value)") {
                    ColumnKind::Decimal { min: None, max: None }
                } else {
                    ColumnKind::Text
                },
                required: false,
                note: None,
            })
            .collect(),
        example: vec![],
        instructions: vec![],
        data_rows: 10,
        prefilled: rows,
    })
    .unwrap()
}

/// The figures the API holds for one indicator in one commune and period.
async fn figures(c: &reqwest::Client, app: &TestApp, code: &str, unit: &str, period: &str) -> Vec<Value> {
    let (status, list) =
        get(c, app, &format!("/api/v1/indicators/values?code={code}&unit={unit}&period={period}")).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_reads_the_indicators_and_an_agency_sends_its_form() {
    let Some(chromium) = service_url("HAIDANG_TEST_CHROMIUM") else {
        return;
    };
    let started = Instant::now();
    let app = demo_app(Backend::Sqlite).await;
    let leader = app.signed_in("leader").await;
    // The real-time indicators are computed by a job as the server starts (then every ten
    // minutes): the story is told once they have their figures.
    let (_, list) = get(&leader, &app, "/api/v1/indicators").await;
    let realtime: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["current"]["frequency"] == "real_time")
        .map(|i| i["code"].as_str().unwrap().to_string())
        .collect();
    let standing_of = |overview: &Value, code: &str| {
        overview["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["indicators"].as_array().unwrap())
            .find(|i| i["code"] == code)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let overview = loop {
        let (status, overview) = get(&leader, &app, "/api/v1/indicators/overview").await;
        assert_eq!(status, 200, "{overview}");
        if realtime.iter().all(|c| !standing_of(&overview, c)["evaluation"]["value"].is_null()) {
            break overview;
        }
        assert!(Instant::now() < deadline, "the real-time indicators {realtime:?} were not computed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let groups = overview["groups"].as_array().unwrap();
    let off_track: BTreeSet<String> = groups
        .iter()
        .flat_map(|g| g["indicators"].as_array().unwrap())
        .filter(|i| i["evaluation"]["status"] == "off_track")
        .map(|i| i["code"].as_str().unwrap().to_string())
        .collect();
    assert!(off_track.len() >= 3, "the demo has indicators off track: {off_track:?}");

    let wd = WebDriver::start(&chromium, "vi-VN,vi").await.unwrap_or_else(|e| panic!("{e:#}"));
    sign_in(&wd, &app, "leader").await;

    // 1. The overview: per group the counts the API gives, the warnings naming the off-track
    // indicators, in Vietnamese with Vietnamese numbers and today's date.
    wd.goto(&app.url("/indicators")).await.unwrap();
    assert_eq!(wd.execute("return document.documentElement.lang;", vec![]).await.unwrap(), "vi");
    let counts = wd
        .execute(
            "var out = {}; document.querySelectorAll('section.indicator-group').forEach(function (s) { \
               var b = s.querySelectorAll('h2 small .badge'); \
               out[s.id.replace('group-', '')] = [b[0].textContent, b[1].textContent, b[2].textContent].map(Number); }); \
             return out;",
            vec![],
        )
        .await
        .unwrap();
    let shown: BTreeMap<String, [u64; 3]> = serde_json::from_value(counts).unwrap();
    let expected: BTreeMap<String, [u64; 3]> = groups
        .iter()
        .map(|g| {
            let n = |k: &str| g[k].as_u64().unwrap();
            (g["group"].as_str().unwrap().to_string(), [n("on_track"), n("at_risk"), n("off_track")])
        })
        .collect();
    assert_eq!(shown, expected, "the groups' counts on the page and in the API");
    let total = |i: usize| expected.values().map(|c| c[i]).sum::<u64>().to_string();
    assert_eq!(text_of(&wd, "#count-on_track").await, total(0));
    assert_eq!(text_of(&wd, "#count-at_risk").await, total(1));
    assert_eq!(text_of(&wd, "#count-off_track").await, total(2));
    let warned: BTreeSet<String> = strings(
        &wd,
        "return Array.from(document.querySelectorAll('#warnings-table tbody a')) \
           .map(function (a) { return a.getAttribute('href').replace('/indicators/', ''); });",
        vec![],
    )
    .await
    .into_iter()
    .collect();
    assert_eq!(warned, off_track, "the warnings name exactly the off-track indicators");
    assert!(text_of(&wd, ".welcome").await.contains(&today_vn()), "today's date, dd/mm/yyyy");
    let colours = strings(
        &wd,
        "return ['on_track', 'at_risk', 'off_track'].map(function (s) { \
           return getComputedStyle(document.querySelector('#count-' + s).parentNode).backgroundColor; });",
        vec![],
    )
    .await;
    assert_eq!(
        colours.iter().collect::<BTreeSet<_>>().len(),
        3,
        "each status in its own colour: {colours:?}"
    );
    let odd = not_vietnamese(&wd, "#warnings-table td.num, section.indicator-group td.num").await;
    assert!(odd.is_empty(), "numbers not written the Vietnamese way: {odd:?}");
    wd.screenshot(&shot("indicators-overview.png")).await.unwrap();

    // 2. An off-track indicator reported by the communes: its page.
    // The Department's officer will send this indicator's figures: one it owes, by commune.
    let officer = app.signed_in("officer").await;
    let res = officer.get(app.url("/api/v1/indicators/form")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let template = read_table(TableFormat::Xlsx, &res.bytes().await.unwrap()).unwrap();
    let col = |short: &str| {
        template
            .headers
            .iter()
            .position(|h| h.ends_with(&format!("({short})")))
            .unwrap_or_else(|| panic!("no column {short} in {:?}", template.headers))
    };
    let (c_code, c_unit, c_period, c_value, c_comment) =
        (col("code"), col("unit_code"), col("period"), col("value"), col("comment"));
    let commune_level: BTreeSet<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["current"]["level"] == "commune")
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    let code = template
        .rows
        .iter()
        .map(|r| r.cells[c_code].clone())
        .find(|c| off_track.contains(c) && commune_level.contains(c.as_str()))
        .expect("the officer owes an off-track commune indicator in the demo");
    let standing = groups
        .iter()
        .flat_map(|g| g["indicators"].as_array().unwrap())
        .find(|i| i["code"] == code.as_str())
        .unwrap()
        .clone();
    let e = &standing["evaluation"];
    wd.goto(&app.url(&format!("/indicators/{code}"))).await.unwrap();
    wd.wait_for(
        "var f = document.querySelector('#indicator-chart'), m = document.querySelector('#indicator-map'); \
         return f.dataset.points && m.dataset.drawn;",
        Duration::from_secs(20),
    )
    .await
    .unwrap_or_else(|e| panic!("chart or map not drawn: {e:#}"));
    assert_eq!(
        wd.attribute(&wd.find("#indicator-standing").await.unwrap(), "data-status").await.unwrap().as_deref(),
        Some("off_track")
    );
    let achievement = text_of(&wd, "#standing-achievement").await;
    let expected = format!("{}% · Không đạt tiến độ", vi(e["achievement"].as_f64().unwrap(), 1));
    assert_eq!(achievement, expected, "the achievement as the API has it, and the status in words");
    let forecast = text_of(&wd, "#standing-forecast").await;
    assert!(
        forecast.len() > 20 && !forecast.contains("Chưa đủ số liệu"),
        "a forecast sentence: {forecast:?}"
    );
    // The chart: the figures' line and the dashed target line are both on the canvas, in their
    // colours (#1d4e89 and #d55e00).
    let pixels = wd
        .execute(
            "var c = document.querySelector('#indicator-chart canvas'); if (!c) return null; \
             var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, value = 0, target = 0; \
             for (var i = 0; i < d.length; i += 4) { \
               if (Math.abs(d[i] - 29) < 30 && Math.abs(d[i + 1] - 78) < 30 && Math.abs(d[i + 2] - 137) < 30) value++; \
               if (Math.abs(d[i] - 213) < 30 && Math.abs(d[i + 1] - 94) < 30 && d[i + 2] < 40) target++; } \
             return [value, target];",
            vec![],
        )
        .await
        .unwrap();
    assert!(pixels[0].as_u64().unwrap() > 50 && pixels[1].as_u64().unwrap() > 50, "lines drawn: {pixels}");
    let rows = wd.find_all("#commune-table tbody tr").await.unwrap().len();
    assert!(rows >= 10, "{rows} communes in the table");
    let drawn: usize = wd
        .attribute(&wd.find("#indicator-map").await.unwrap(), "data-drawn")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(drawn, rows, "every commune of the table drawn on the map");
    assert!(wd.find_all("#indicator-map path.leaflet-interactive").await.unwrap().len() >= rows);
    let map_size = wd
        .execute(
            "var m = document.querySelector('#indicator-map').getBoundingClientRect(); \
             var p = document.querySelector('#indicator-map path.leaflet-interactive').getBoundingClientRect(); \
             return [m.width, m.height, p.width * p.height];",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        map_size[1].as_f64().unwrap() > 200.0 && map_size[2].as_f64().unwrap() > 10.0,
        "the map and its communes take room on the page: {map_size}"
    );
    // The chart speaks the page's language: its legend and axis name the period in Vietnamese.
    let legend = text_of(&wd, "#indicator-chart .u-legend").await;
    assert!(
        legend.contains("Kỳ") && legend.contains("Mức cần đạt") && !legend.contains("Value"),
        "{legend:?}"
    );
    let odd = not_vietnamese(&wd, "#commune-table td.num").await;
    assert!(odd.is_empty(), "numbers not written the Vietnamese way: {odd:?}");
    wd.screenshot(&shot("indicator-off-track.png")).await.unwrap();
    wd.execute("document.querySelector('#indicator-chart').scrollIntoView();", vec![]).await.unwrap();
    wd.screenshot(&shot("indicator-chart.png")).await.unwrap();
    wd.execute("document.querySelector('#indicator-map').scrollIntoView();", vec![]).await.unwrap();
    wd.screenshot(&shot("indicator-communes.png")).await.unwrap();

    // 3. The Department's officer sends its form: downloaded, filled in, one value typed as words.
    // Two figures of the indicator above, in two communes, for the month the form is for.
    let owed: Vec<Vec<String>> =
        template.rows.iter().filter(|r| r.cells[c_code] == code).take(2).map(|r| r.cells.clone()).collect();
    assert_eq!(owed.len(), 2, "the form asks for {code} by commune");
    let (unit, period) = (owed[0][c_unit].clone(), owed[0][c_period].clone());
    let with_value = |row: &Vec<String>, v: &str| {
        let mut row = row.clone();
        row[c_value] = v.into();
        // The figures move far from last month's: the checks ask for a word on why.
        row[c_comment] = "Số liệu rà soát lại theo báo cáo của xã".into();
        row
    };
    let before = figures(&officer, &app, &code, &unit, &period).await;
    let dir = crate::harness::TempDir::new("indicator-forms");
    let bad = dir.0.join("chi-tieu-loi.xlsx");
    let good = dir.0.join("chi-tieu.xlsx");
    std::fs::write(
        &bad,
        filled_form(&template.headers, vec![with_value(&owed[0], "7"), with_value(&owed[1], "bảy")]),
    )
    .unwrap();
    std::fs::write(
        &good,
        filled_form(&template.headers, vec![with_value(&owed[0], "7"), with_value(&owed[1], "7")]),
    )
    .unwrap();

    sign_out(&wd).await;
    sign_in(&wd, &app, "officer").await;
    wd.goto(&app.url("/indicators/submit")).await.unwrap();
    assert!(
        wd.find_all(&format!("#values-table tr[data-code='{code}']")).await.unwrap().len() >= 2,
        "the page lists the figures owed"
    );
    let typed = strings(
        &wd,
        "return Array.from(document.querySelectorAll('#values-table .value-input')).map(function (i) { return i.value; }) \
           .filter(function (v) { return v !== '' && !/^-?\\d+(,\\d+)?$/.test(v); });",
        vec![],
    )
    .await;
    assert!(
        typed.is_empty(),
        "figures owed, not written with the decimal comma: {:?}",
        &typed[..typed.len().min(5)]
    );
    let codes = strings(
        &wd,
        "return Array.from(document.querySelectorAll('.welcome, #values-table tbody td')).map(function (td) { return td.textContent; }) \
           .filter(function (t) { return /\\d{4}-(\\d{2}|Q\\d|H\\d)/.test(t); });",
        vec![],
    )
    .await;
    assert!(codes.is_empty(), "periods as the API's codes, not in words: {:?}", &codes[..codes.len().min(5)]);
    wd.screenshot(&shot("indicator-submit.png")).await.unwrap();
    let file_input = "form[data-upload-action] input[type=file]";
    wd.send_keys(&wd.find(file_input).await.unwrap(), bad.to_str().unwrap()).await.unwrap();
    wd.click(&wd.find("form[data-upload-action] button[type=submit]").await.unwrap()).await.unwrap();
    wd.wait_for("return !document.querySelector('#upload-errors').hidden;", Duration::from_secs(15))
        .await
        .unwrap();
    let cells = strings(
        &wd,
        "return Array.from(document.querySelectorAll('#upload-errors tbody td')).map(function (td) { return td.textContent; });",
        vec![],
    )
    .await;
    // Row 3 of the sheet: the header is row 1, the good figure row 2.
    assert_eq!(cells.len(), 3, "one error: {cells:?}");
    assert_eq!(cells[..2], ["3".to_string(), "value".to_string()], "{cells:?}");
    assert!(cells[2].contains("bảy") && cells[2].contains("không phải là số"), "{cells:?}");
    assert!(!text_of(&wd, "#upload-problem").await.is_empty(), "the refusal said above the rows");
    wd.execute("document.querySelector('#upload-errors').scrollIntoView();", vec![]).await.unwrap();
    wd.screenshot(&shot("indicator-upload-error.png")).await.unwrap();
    assert_eq!(figures(&officer, &app, &code, &unit, &period).await, before, "nothing was written");

    wd.send_keys(&wd.find(file_input).await.unwrap(), good.to_str().unwrap()).await.unwrap();
    wd.click(&wd.find("form[data-upload-action] button[type=submit]").await.unwrap()).await.unwrap();
    wd.wait_for("return !document.querySelector('#upload-ok').hidden;", Duration::from_secs(15))
        .await
        .unwrap();
    assert_eq!(text_of(&wd, "#upload-ok").await, "Đã nhận biểu mẫu.");
    let background = wd
        .execute("return getComputedStyle(document.querySelector('#upload-ok')).backgroundColor;", vec![])
        .await
        .unwrap();
    assert_ne!(background, "rgba(0, 0, 0, 0)", "the confirmation stands out as one");
    assert!(wd.find("#upload-errors").await.is_ok());
    assert!(text_of(&wd, "#upload-errors").await.is_empty(), "the old errors are gone");
    wd.screenshot(&shot("indicator-upload-ok.png")).await.unwrap();
    let after = figures(&officer, &app, &code, &unit, &period).await;
    assert!(
        after.iter().any(|v| v["value"] == 7.0 && v["state"] == "submitted"),
        "the figure went in, for review: {after:?}"
    );

    // 4. The catalog with this year's targets, as the supervisor manages them.
    sign_out(&wd).await;
    sign_in(&wd, &app, "supervisor").await;
    wd.goto(&app.url("/indicators/catalog")).await.unwrap();
    let catalog_rows = wd.find_all("#catalog-table tbody tr").await.unwrap().len();
    assert_eq!(catalog_rows, list.as_array().unwrap().len(), "every indicator in the catalog");
    let english = strings(
        &wd,
        "return Array.from(document.querySelectorAll('#catalog-table tbody td')).map(function (td) { return td.textContent.trim(); }) \
           .filter(function (t) { return /^(level|reduction|growth|yes_no|month|quarter|year|commune|province)$/.test(t); });",
        vec![],
    )
    .await;
    assert!(english.is_empty(), "English words in the catalog: {english:?}");
    wd.screenshot(&shot("indicator-catalog.png")).await.unwrap();
    let overflow = wd
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(overflow.as_i64().unwrap() <= 0, "the catalog fits the window: {overflow} px wider");

    wd.close().await.unwrap();
    app.stop().await;
    eprintln!("browser_indicators took {:?}", started.elapsed());
}
