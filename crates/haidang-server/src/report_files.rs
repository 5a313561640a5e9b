//! Citizen-report statistics as files: CSV (UTF-8 with a byte-order mark, so Excel shows the
//! Vietnamese right) and XLSX, with the groups named as people say them.

use std::collections::HashMap;

use haidang_core::reports::stats::{Group, Statistics, StatsRow};
use haidang_core::CoreError;
use haidang_report::{write_template, ColumnKind, TemplateColumn, TemplateSpec};

use crate::i18n::{Lang, Translations};
use crate::state::AppState;

const HEADERS: [&str; 12] = [
    "Nhóm (group)",
    "Tiếp nhận (received)",
    "Đã xác minh (verified)",
    "Không tiếp nhận, gộp (rejected)",
    "Đã trả lời (answered)",
    "Trả lời đúng hạn (on time)",
    "Tỷ lệ đúng hạn % (on time %)",
    "Đang quá hạn (overdue)",
    "Hoàn thành (closed)",
    "Thời gian xử lý trung vị, giờ (median hours)",
    "Số đánh giá (ratings)",
    "Mức hài lòng 1-5 (satisfaction)",
];

/// The name of each group key: an agency's, a category's, a commune's, a channel's.
pub async fn labels(
    state: &AppState,
    group: Group,
    lang: Lang,
) -> Result<HashMap<String, String>, CoreError> {
    let vi = lang == Lang::Vi;
    let mut out = HashMap::new();
    match group {
        Group::All => {
            out.insert("all".to_string(), if vi { "Toàn tỉnh" } else { "Province" }.to_string());
        }
        Group::Agency => {
            for o in haidang_core::repo::OrgRepository::list_orgs(state.store.as_ref()).await? {
                out.insert(o.id, if vi || o.name_en.is_empty() { o.name_vi } else { o.name_en });
            }
            out.insert(String::new(), if vi { "Chưa chuyển xử lý" } else { "Not yet assigned" }.to_string());
        }
        Group::Category => {
            for c in state.reports.categories().await? {
                out.insert(c.code, if vi { c.name_vi } else { c.name_en });
            }
        }
        Group::Unit => {
            for u in haidang_core::repo::UnitRepository::list_units(state.store.as_ref(), None, None, false)
                .await?
            {
                out.insert(u.code.clone(), if vi { u.name_vi } else { u.name_en });
            }
            out.insert(String::new(), if vi { "Không rõ xã" } else { "Commune unknown" }.to_string());
        }
        Group::Channel => {
            let t = Translations::get(lang);
            for c in haidang_core::reports::model::Channel::ALL {
                out.insert(c.as_str().to_string(), t.text(&format!("channel.{}", c.as_str())).to_string());
            }
        }
    }
    Ok(out)
}

fn cells(row: &StatsRow, name: String) -> Vec<String> {
    let c = &row.counts;
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    vec![
        name,
        c.received.to_string(),
        c.verified.to_string(),
        c.rejected.to_string(),
        c.answered.to_string(),
        c.answered_on_time.to_string(),
        opt(row.on_time_pct),
        c.overdue.to_string(),
        c.closed.to_string(),
        opt(row.median_handling_hours),
        c.rated.to_string(),
        opt(row.satisfaction),
    ]
}

fn table(stats: &Statistics, labels: &HashMap<String, String>) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = stats
        .rows
        .iter()
        .map(|r| cells(r, labels.get(&r.counts.key).cloned().unwrap_or_else(|| r.counts.key.clone())))
        .collect();
    if stats.group != Group::All {
        rows.push(cells(&stats.total, "Tổng cộng (total)".into()));
    }
    rows
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// UTF-8 with a BOM: without it Excel reads the file as the machine's code page.
pub fn csv(stats: &Statistics, labels: &HashMap<String, String>) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    out.push_str(&HEADERS.map(csv_field).join(","));
    out.push_str("\r\n");
    for row in table(stats, labels) {
        out.push_str(&row.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

pub fn xlsx(stats: &Statistics, labels: &HashMap<String, String>) -> Result<Vec<u8>, CoreError> {
    let period = format!(
        "{} – {}",
        haidang_core::time::format_local_date(stats.from),
        haidang_core::time::format_local_date(stats.to - jiff::SignedDuration::from_secs(1))
    );
    let spec = TemplateSpec {
        sheet_name: "Phan anh".into(),
        title: format!("Thống kê phản ánh, kiến nghị {period}"),
        marker: "haidang:reports:statistics".into(),
        columns: HEADERS
            .iter()
            .enumerate()
            .map(|(i, h)| TemplateColumn {
                header: h.to_string(),
                kind: if i == 0 { ColumnKind::Text } else { ColumnKind::Decimal { min: None, max: None } },
                required: false,
                note: None,
            })
            .collect(),
        example: vec![],
        instructions: vec![format!("Xuất từ Hải Đăng: {period}")],
        data_rows: 0,
        prefilled: table(stats, labels),
    };
    write_template(&spec).map_err(|e| CoreError::Internal(format!("statistics export: {e}")))
}
