//! Indicator figures in spreadsheets: the form an organisation fills in for a period (every
//! figure it owes, one row each, filled in ahead), reading it back, and the export of a period's
//! evaluations.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use haidang_core::datasets::forms::parse_decimal;
use haidang_core::indicators::evaluate::Evaluation;
use haidang_core::indicators::model::{Level, ValueKind};
use haidang_core::indicators::period::Period;
use haidang_core::indicators::service::today;
use haidang_core::indicators::values::{FigureError, FigureSpec};
use haidang_core::orgs::Organisation;
use haidang_core::CoreError;
use haidang_report::{read_table, write_template, ColumnKind, TemplateColumn, TemplateSpec};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::i18n::{Lang, Translations};
use crate::state::AppState;

/// The columns, by the short name in brackets an upload is matched by.
const COLUMNS: &[(&str, &str)] = &[
    ("code", "Mã chỉ tiêu"),
    ("name", "Tên chỉ tiêu"),
    ("unit_of_measure", "Đơn vị tính"),
    ("unit_code", "Mã đơn vị hành chính"),
    ("unit_name", "Đơn vị hành chính"),
    ("period", "Kỳ báo cáo"),
    ("kind", "Loại số liệu"),
    ("value", "Giá trị"),
    ("comment", "Ghi chú"),
    ("reason", "Lý do điều chỉnh"),
];

const MARKER: &str = "haidang:indicators:v1";

fn kind_label(k: ValueKind) -> &'static str {
    match k {
        ValueKind::Plan => "Kế hoạch",
        ValueKind::Estimate => "Ước thực hiện",
        ValueKind::Actual => "Thực hiện",
    }
}

pub fn xlsx_response(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response()
}

/// The organisation (the caller's own by default) and the period (the month now by default).
pub async fn org_and_period(
    state: &AppState,
    caller: &Caller,
    org: Option<&str>,
    period: Option<&str>,
) -> ApiResult<(Organisation, Period)> {
    let err = |e: CoreError| ApiError::from_core(e, caller.lang);
    let org = org.unwrap_or(&caller.subject.org_id);
    let org = haidang_core::orgs::resolve_org(state.store.as_ref(), org)
        .await
        .map_err(err)?
        .ok_or_else(|| err(CoreError::validation("org", format!("unknown organisation '{org}'"))))?;
    let period = match period {
        Some(p) => Period::parse(p)
            .ok_or_else(|| err(CoreError::validation("period", format!("'{p}' is not a period"))))?,
        None => Period::containing(haidang_core::indicators::period::PeriodKind::Month, today()),
    };
    Ok((org, period))
}

/// One figure an organisation owes, with the value it has now if any.
pub struct OwedRow {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub unit_code: String,
    pub unit_name: String,
    pub period: Period,
    pub kind: ValueKind,
    pub value: Option<f64>,
}

impl OwedRow {
    /// The row's cells in the form's column order.
    fn cells(&self) -> Vec<String> {
        vec![
            self.code.clone(),
            self.name.clone(),
            self.unit.clone(),
            self.unit_code.clone(),
            self.unit_name.clone(),
            self.period.to_string(),
            kind_label(self.kind).to_string(),
            self.value.map(|v| v.to_string()).unwrap_or_default(),
            String::new(),
            String::new(),
        ]
    }
}

/// The rows an organisation owes for the period that contains `period`'s first day in each
/// indicator's own kind of period: an estimate while the period runs, an actual after.
pub fn owed_rows(state: &AppState, org_id: &str, period: &Period) -> Vec<OwedRow> {
    let book = state.indicators.book();
    let index = state.unit_index();
    let mut rows = Vec::new();
    for ind in book.indicators().filter(|i| !i.retired) {
        let Some(def) = ind.current().filter(|d| d.is_entered() && d.owner_org == org_id) else { continue };
        let p = Period::containing(def.frequency.period_kind(), period.first_day());
        let kind = if p.end() > today() { ValueKind::Estimate } else { ValueKind::Actual };
        let units: Vec<&String> = match def.level {
            Level::Province => vec![&book.province],
            Level::Commune => book.units.iter().skip(1).collect(),
        };
        for u in units {
            let current = book.cell(&ind.code, u, &p).and_then(|c| match kind {
                ValueKind::Actual => c.actual,
                ValueKind::Estimate => c.estimate,
                ValueKind::Plan => c.plan,
            });
            rows.push(OwedRow {
                code: ind.code.clone(),
                name: def.name_vi.clone(),
                unit: def.unit.clone(),
                unit_code: u.clone(),
                unit_name: index.unit(u).map(|x| x.name_vi.clone()).unwrap_or_else(|| u.clone()),
                period: p,
                kind,
                value: current,
            });
        }
    }
    rows
}

fn columns(value_kind: ColumnKind) -> Vec<TemplateColumn> {
    COLUMNS
        .iter()
        .map(|(short, label)| TemplateColumn {
            header: format!("{label} ({short})"),
            kind: if *short == "value" { value_kind.clone() } else { ColumnKind::Text },
            required: matches!(*short, "code" | "unit_code" | "period" | "kind" | "value"),
            note: None,
        })
        .collect()
}

pub fn template(
    state: &AppState,
    caller: &Caller,
    org: &Organisation,
    period: &Period,
) -> ApiResult<Vec<u8>> {
    let t = Translations::get(Lang::Vi);
    let spec = TemplateSpec {
        sheet_name: "Chi tieu".into(),
        title: format!("{} – {} – {}", t.text("indicators.form_title"), org.name_vi, period.label_vi()),
        marker: MARKER.into(),
        columns: columns(ColumnKind::Decimal { min: None, max: None }),
        example: vec![],
        instructions: vec![
            t.text("indicators.form_help_1").to_string(),
            t.text("indicators.form_help_2").to_string(),
            t.text("indicators.form_help_3").to_string(),
        ],
        data_rows: 2000,
        prefilled: owed_rows(state, &org.id, period).iter().map(OwedRow::cells).collect(),
    };
    write_template(&spec)
        .map_err(|e| ApiError::from_core(CoreError::Internal(format!("indicator form: {e}")), caller.lang))
}

/// Reads an upload into figures; cells that do not read are errors of their row. Rows without
/// a value are skipped (a form filled in only in part).
pub fn read_upload(lang: Lang, file_name: &str, bytes: &[u8]) -> (Vec<FigureSpec>, Vec<FigureError>) {
    let t = Translations::get(lang);
    let mut errors = Vec::new();
    let file_error = |message: String| FigureError::worded(0, "file", message);
    let Some(format) = haidang_report::detect_format(file_name, bytes) else {
        return (vec![], vec![file_error(t.text("form_error.file_empty").to_string())]);
    };
    let table = match read_table(format, bytes) {
        Ok(t) => t,
        Err(e) => {
            return (
                vec![],
                vec![file_error(
                    crate::forms::file_error(lang, &e)["message"].as_str().unwrap_or_default().to_string(),
                )],
            )
        }
    };
    let index: Vec<Option<usize>> = COLUMNS
        .iter()
        .map(|(short, _)| {
            table.headers.iter().position(|h| {
                let h = h.trim();
                h == *short || h.ends_with(&format!("({short})"))
            })
        })
        .collect();
    for (i, (short, label)) in COLUMNS.iter().enumerate() {
        let required = matches!(*short, "code" | "period" | "value");
        if required && index[i].is_none() {
            errors.push(file_error(format!("{}: {label} ({short})", t.text("indicators.missing_column"))));
        }
    }
    if !errors.is_empty() {
        return (vec![], errors);
    }
    let cell = |cells: &[String], short: &str| -> String {
        COLUMNS
            .iter()
            .position(|(s, _)| *s == short)
            .and_then(|i| index[i])
            .and_then(|c| cells.get(c))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut figures = Vec::new();
    for row in &table.rows {
        let raw = cell(&row.cells, "value");
        if raw.is_empty() {
            continue;
        }
        let Some(value) = parse_decimal(&raw) else {
            errors.push(FigureError::worded(
                row.number,
                "value",
                format!("'{raw}' {}", t.text("indicators.not_a_number")),
            ));
            continue;
        };
        let kind_text = cell(&row.cells, "kind");
        figures.push(FigureSpec {
            code: cell(&row.cells, "code"),
            unit_code: Some(cell(&row.cells, "unit_code")).filter(|u| !u.is_empty()),
            period: cell(&row.cells, "period"),
            kind: if kind_text.is_empty() { "actual".into() } else { kind_text },
            value,
            comment: cell(&row.cells, "comment"),
            unit_of_measure: Some(cell(&row.cells, "unit_of_measure")).filter(|u| !u.is_empty()),
            reason: cell(&row.cells, "reason"),
            row: Some(row.number),
        });
    }
    if figures.is_empty() && errors.is_empty() {
        errors.push(file_error(t.text("indicators.no_values").to_string()));
    }
    (figures, errors)
}

/// A period's evaluations as a spreadsheet, one row per indicator and unit.
pub fn export(state: &AppState, list: &[Evaluation], period: &Period) -> ApiResult<Vec<u8>> {
    let book = state.indicators.book();
    let index = state.unit_index();
    let headers = [
        "Mã chỉ tiêu (code)",
        "Tên chỉ tiêu (name)",
        "Đơn vị tính (unit)",
        "Mã đơn vị (unit_code)",
        "Đơn vị hành chính (unit_name)",
        "Kỳ (period)",
        "Số liệu kỳ (value)",
        "Lũy kế (to_date)",
        "Cùng kỳ năm trước (same_period_last_year)",
        "So cùng kỳ % (change_pct)",
        "Kế hoạch (plan)",
        "Chỉ tiêu năm (target)",
        "Mức cần đạt (expected)",
        "Tỷ lệ đạt % (achievement)",
        "Trạng thái (status)",
    ];
    let num = |v: Option<f64>| v.map(|v| format!("{}", (v * 100.0).round() / 100.0)).unwrap_or_default();
    let t = Translations::get(Lang::Vi);
    let rows = list
        .iter()
        .map(|e| {
            let def = book.indicator(&e.code).and_then(|i| i.for_period(&e.period));
            vec![
                e.code.clone(),
                def.map(|d| d.name_vi.clone()).unwrap_or_default(),
                def.map(|d| d.unit.clone()).unwrap_or_default(),
                e.unit_code.clone(),
                index.unit(&e.unit_code).map(|u| u.name_vi.clone()).unwrap_or_default(),
                e.period.to_string(),
                num(e.value),
                num(e.to_date),
                num(e.same_period_last_year),
                num(e.change_pct),
                num(e.plan),
                num(e.target),
                num(e.expected),
                num(e.achievement),
                t.text(&format!("indicators.status_{}", e.status.as_str())).to_string(),
            ]
        })
        .collect();
    let spec = TemplateSpec {
        sheet_name: "Chi so".into(),
        title: format!("Bộ chỉ số giám sát – {}", period.label_vi()),
        marker: format!("haidang:indicators:export:{period}"),
        columns: headers
            .iter()
            .enumerate()
            .map(|(i, h)| TemplateColumn {
                header: h.to_string(),
                kind: if (6..=13).contains(&i) {
                    ColumnKind::Decimal { min: None, max: None }
                } else {
                    ColumnKind::Text
                },
                required: false,
                note: None,
            })
            .collect(),
        example: vec![],
        instructions: vec![format!("Xuất từ Hải Đăng ngày {}", today().strftime("%d/%m/%Y"))],
        data_rows: 0,
        prefilled: rows,
    };
    write_template(&spec)
        .map_err(|e| ApiError::from_core(CoreError::Internal(format!("export: {e}")), Lang::Vi))
}
