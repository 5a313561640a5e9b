//! The indicator pages: the group overview with its warnings (what leaders read first), one
//! indicator's page (series with its target line, forecast, communes as a table and a map), the
//! submission page an agency fills in each period, and the catalog with this year's targets.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use haidang_core::accounts::Action;
use haidang_core::indicators::achievement::Status;
use haidang_core::indicators::book::Book;
use haidang_core::indicators::evaluate::{Evaluation, Evaluator};
use haidang_core::indicators::model::{Level, Rollup, ValueState};
use haidang_core::indicators::overview::Standing;
use haidang_core::indicators::period::Period;
use haidang_core::indicators::service::today;
use haidang_core::repo::ValueFilter;
use serde::Deserialize;

use super::datasets::org_names;
use super::pages::redirect_for;
use super::{not_found_page, render, PageCtx};
use crate::auth::PageCaller;
use crate::i18n::{format_number_in, Lang};
use crate::state::AppState;

fn num(lang: Lang, v: Option<f64>, decimals: usize) -> String {
    v.map(|v| format_number_in(lang, v, decimals)).unwrap_or_else(|| "—".into())
}

fn decimals(v: Option<f64>) -> usize {
    match v {
        Some(v) if v.abs() >= 1000.0 => 0,
        Some(v) if v.abs() >= 10.0 => 1,
        _ => 2,
    }
}

pub struct Row {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub period: String,
    pub value: String,
    pub to_date: String,
    pub target: String,
    pub achievement: String,
    pub status: &'static str,
    pub forecast: String,
    pub forecast_status: &'static str,
    pub change: String,
}

fn row(lang: Lang, s: &Standing) -> Row {
    let e = s.evaluation.as_ref();
    let d = decimals(e.and_then(|e| e.to_date.or(e.value)));
    Row {
        code: s.code.clone(),
        name: if lang == Lang::En && !s.name_en.is_empty() { s.name_en.clone() } else { s.name_vi.clone() },
        unit: s.unit.clone(),
        period: e
            .map(|e| if lang == Lang::En { e.period.label_en() } else { e.period.label_vi() })
            .unwrap_or_default(),
        value: num(lang, e.and_then(|e| e.value), d),
        to_date: num(lang, e.and_then(|e| e.to_date), d),
        target: num(lang, e.and_then(|e| e.target), d),
        achievement: e
            .and_then(|e| e.achievement)
            .map(|a| format!("{}%", format_number_in(lang, a, 1)))
            .unwrap_or_else(|| "—".into()),
        status: s.status().as_str(),
        forecast: num(lang, s.forecast.as_ref().map(|f| f.year_end), d),
        forecast_status: s.forecast_status.map(|f| f.as_str()).unwrap_or(""),
        change: e
            .and_then(|e| e.change_pct)
            .map(|c| format!("{}{}%", if c > 0.0 { "+" } else { "" }, format_number_in(lang, c, 1)))
            .unwrap_or_else(|| "—".into()),
    }
}

pub struct GroupView {
    pub group: String,
    pub on_track: usize,
    pub at_risk: usize,
    pub off_track: usize,
    pub other: usize,
    pub rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "indicators.html")]
struct OverviewPage {
    page: PageCtx,
    date: String,
    totals: [usize; 3],
    warnings: Vec<Row>,
    groups: Vec<GroupView>,
}

pub async fn overview(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ReadData, None)) else {
        return redirect_for(stage);
    };
    let day = today();
    let groups = state.indicators.overview(&c.subject, day).unwrap_or_default();
    let mut totals = [0; 3];
    let mut warnings = Vec::new();
    let groups = groups
        .iter()
        .map(|g| {
            totals[0] += g.on_track;
            totals[1] += g.at_risk;
            totals[2] += g.off_track;
            for s in g.indicators.iter().filter(|s| s.status() == Status::OffTrack) {
                warnings.push(row(lang, s));
            }
            GroupView {
                group: g.group.clone(),
                on_track: g.on_track,
                at_risk: g.at_risk,
                off_track: g.off_track,
                other: g.no_data + g.no_target,
                rows: g.indicators.iter().map(|s| row(lang, s)).collect(),
            }
        })
        .collect();
    render(&OverviewPage {
        page: PageCtx::new(lang, "title.indicators", "/indicators", Some((&c.user, &c.subject))),
        date: day.strftime("%d/%m/%Y").to_string(),
        totals,
        warnings,
        groups,
    })
}

/// How the communes' figures make the province's, in words (the catalog's `rollup_text` is the
/// API's code, "sum" or "weighted_mean:xh.dan_so", which a reader of the page does not speak).
fn rollup_label(t: &crate::i18n::Translations, book: &Book, lang: Lang, rollup: &Rollup) -> String {
    let key = match rollup {
        Rollup::Sum => "indicators.rollup_sum",
        Rollup::Mean => "indicators.rollup_mean",
        Rollup::WeightedMean { .. } => "indicators.rollup_weighted_mean",
        Rollup::Min => "indicators.rollup_min",
        Rollup::Max => "indicators.rollup_max",
        Rollup::None => "indicators.rollup_none",
    };
    match rollup {
        Rollup::WeightedMean { by } => {
            let name = book
                .indicator(by)
                .and_then(|i| i.current())
                .map(|d| d.name(if lang == Lang::En { "en" } else { "vi" }).to_string())
                .unwrap_or_else(|| by.clone());
            t.text(key).replace("{by}", &name)
        }
        _ => t.text(key).to_string(),
    }
}

pub struct CommuneRow {
    pub code: String,
    pub name: String,
    pub value: String,
    pub raw: String,
    pub to_date: String,
    pub target: String,
    pub achievement: String,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "indicator.html")]
struct IndicatorPage {
    page: PageCtx,
    code: String,
    name: String,
    unit: String,
    owner: String,
    frequency_label: String,
    group_label: String,
    status_label: String,
    method: String,
    version_text: String,
    standing: Row,
    forecast_text: String,
    forecast_method: String,
    communes: Vec<CommuneRow>,
    commune_level: bool,
    period_code: String,
    series_from: String,
}

fn commune_row(lang: Lang, e: &Evaluation, name: String) -> CommuneRow {
    let d = decimals(e.to_date.or(e.value));
    CommuneRow {
        code: e.unit_code.clone(),
        name,
        value: num(lang, e.value, d),
        raw: e.to_date.or(e.value).map(|v| v.to_string()).unwrap_or_default(),
        to_date: num(lang, e.to_date, d),
        target: num(lang, e.target, d),
        achievement: e
            .achievement
            .map(|a| format!("{}%", format_number_in(lang, a, 1)))
            .unwrap_or_else(|| "—".into()),
        status: e.status.as_str(),
    }
}

pub async fn indicator(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
    Path(code): Path<String>,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ReadData, None)) else {
        return redirect_for(stage);
    };
    let Ok(ind) = state.indicators.get(&c.subject, &code) else { return not_found_page(lang, &c) };
    let Some(def) = ind.current().cloned() else { return not_found_page(lang, &c) };
    let Ok(standing) = state.indicators.standing(&c.subject, &code, None, today()) else {
        return not_found_page(lang, &c);
    };
    let names = org_names(&state, &c.subject).await;
    let period = standing.evaluation.as_ref().map(|e| e.period);
    let book = state.indicators.book();
    let index = state.unit_index();
    let communes = match (def.level, period) {
        (Level::Commune, Some(p)) => {
            let ev = Evaluator::new(&book);
            book.units
                .iter()
                .skip(1)
                .filter_map(|u| ev.evaluate(&code, u, &p))
                .map(|e| {
                    let name = index
                        .unit(&e.unit_code)
                        .map(|u| u.name_vi.clone())
                        .unwrap_or_else(|| e.unit_code.clone());
                    commune_row(lang, &e, name)
                })
                .collect()
        }
        _ => vec![],
    };
    let t = crate::i18n::Translations::get(lang);
    let method = match (&def.formula, &def.realtime) {
        (Some(f), _) => format!("{}: {f}", t.text("indicators.formula")),
        (_, Some(r)) => format!(
            "{}: {} {} ({} h)",
            t.text("indicators.realtime"),
            r.entity_type,
            r.attribute,
            r.window_hours
        ),
        _ if def.level == Level::Commune => {
            format!("{}: {}", t.text("indicators.rollup"), rollup_label(t, &book, lang, &def.rollup))
        }
        _ => t.text("indicators.entered").to_string(),
    };
    let forecast_text = standing
        .forecast
        .as_ref()
        .map(|f| if lang == Lang::En { f.explanation_en.clone() } else { f.explanation_vi.clone() })
        .unwrap_or_else(|| t.text("indicators.no_forecast").to_string());
    let forecast_method =
        standing.forecast.as_ref().map(|f| format!("{:?}", f.method).to_lowercase()).unwrap_or_default();
    let series_from =
        period.map(|p| Period { year: p.year - 2, index: 1, ..p }.to_string()).unwrap_or_default();
    render(&IndicatorPage {
        page: PageCtx::new(lang, "title.indicator", "/indicators", Some((&c.user, &c.subject))),
        name: def.name(if lang == Lang::En { "en" } else { "vi" }).to_string(),
        group_label: t.text(&format!("indicator_group.{}", def.group)).to_string(),
        frequency_label: t.text(&format!("indicators.freq_{}", def.frequency.as_str())).to_string(),
        status_label: t.text(&format!("indicators.status_{}", standing.status().as_str())).to_string(),
        unit: def.unit.clone(),
        owner: names.get(&def.owner_org).cloned().unwrap_or(def.owner_org.clone()),
        method,
        version_text: format!("{} {}/{}", t.text("indicators.version"), def.version, ind.versions.len()),
        standing: row(lang, &standing),
        forecast_text,
        forecast_method,
        commune_level: def.level == Level::Commune,
        communes,
        period_code: period.map(|p| p.to_string()).unwrap_or_default(),
        series_from,
        code,
    })
}

#[derive(Deserialize)]
pub struct SubmitQuery {
    pub org: Option<String>,
    pub period: Option<String>,
}

pub struct OwedRow {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub unit_code: String,
    pub unit_name: String,
    pub period: String,
    pub period_label: String,
    pub kind: String,
    pub value: String,
}

fn period_label(lang: Lang, p: &Period) -> String {
    if lang == Lang::En {
        p.label_en()
    } else {
        p.label_vi()
    }
}

/// A figure in an input the user edits: the decimal comma in Vietnamese but no thousands dots,
/// because the page reads "1.234" without a comma as one point two three four.
fn input_number(lang: Lang, v: f64) -> String {
    let text = v.to_string();
    if lang == Lang::En {
        text
    } else {
        text.replace('.', ",")
    }
}

pub struct PendingRow {
    pub code: String,
    pub unit_code: String,
    pub period: String,
    pub kind: String,
    pub value: String,
    pub comment: String,
    pub by: String,
    pub revision: u32,
}

#[derive(Template)]
#[template(path = "indicator_submit.html")]
struct SubmitPage {
    page: PageCtx,
    org_name: String,
    org_code: String,
    orgs: Vec<(String, String)>,
    period: String,
    period_label: String,
    rows: Vec<OwedRow>,
    pending: Vec<PendingRow>,
    can_review: bool,
    overdue: Vec<String>,
}

pub async fn submit(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
    Query(q): Query<SubmitQuery>,
) -> Response {
    let Some(c) = caller.filter(|c| {
        c.subject.can(Action::SubmitData, Some(&c.subject.org_id))
            || c.subject.can(Action::ManageIndicators, None)
    }) else {
        return redirect_for(stage);
    };
    let Ok((org, period)) =
        crate::indicator_files::org_and_period(&state, &c, q.org.as_deref(), q.period.as_deref()).await
    else {
        return not_found_page(lang, &c);
    };
    let rows = crate::indicator_files::owed_rows(&state, &org.id, &period)
        .into_iter()
        .map(|r| OwedRow {
            code: r.code,
            name: r.name,
            unit: r.unit,
            unit_code: r.unit_code,
            unit_name: r.unit_name,
            period: r.period.to_string(),
            period_label: period_label(lang, &r.period),
            kind: r.kind.as_str().into(),
            value: r.value.map(|v| input_number(lang, v)).unwrap_or_default(),
        })
        .collect();
    let can_review = c.subject.can(Action::ManageIndicators, None);
    let pending = if can_review {
        state
            .indicators
            .list_values(
                &c.subject,
                &ValueFilter { state: Some(ValueState::Submitted), ..Default::default() },
            )
            .await
            .unwrap_or_default()
            .into_iter()
            .take(500)
            .map(|v| PendingRow {
                code: v.key.code,
                unit_code: v.key.unit_code,
                period: v.key.period.to_string(),
                kind: v.key.kind.as_str().into(),
                value: format_number_in(lang, v.value, 2),
                comment: v.comment,
                by: v.updated_by,
                revision: v.revision,
            })
            .collect()
    } else {
        vec![]
    };
    let t = crate::i18n::Translations::get(lang);
    let overdue = state
        .indicators
        .owed(&c.subject, today(), 0, Some(&org.id))
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|o| o.overdue)
        .map(|o| {
            format!(
                "{} ({}) – {} – {}",
                period_label(lang, &o.period),
                t.text(&format!("indicators.kind_{}", o.kind.as_str())),
                o.due_on.strftime("%d/%m/%Y"),
                o.missing.len()
            )
        })
        .collect();
    let orgs = if can_review {
        state
            .orgs
            .list(&c.subject)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|o| (o.code, o.name_vi))
            .collect()
    } else {
        vec![]
    };
    render(&SubmitPage {
        page: PageCtx::new(lang, "title.indicator_submit", "/indicators", Some((&c.user, &c.subject))),
        org_name: org.name_vi.clone(),
        org_code: org.code.clone(),
        orgs,
        period: period.to_string(),
        period_label: period_label(lang, &period),
        rows,
        pending,
        can_review,
        overdue,
    })
}

pub struct CatalogRow {
    pub code: String,
    pub name: String,
    pub group: String,
    pub unit: String,
    pub owner: String,
    pub frequency: &'static str,
    pub level: &'static str,
    pub kind: String,
    pub version: u32,
    pub retired: bool,
    pub target: String,
}

#[derive(Template)]
#[template(path = "indicator_catalog.html")]
struct CatalogPage {
    page: PageCtx,
    year: i16,
    rows: Vec<CatalogRow>,
    groups: Vec<&'static str>,
    orgs: Vec<(String, String)>,
    can_manage: bool,
}

pub async fn catalog(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ReadData, None)) else {
        return redirect_for(stage);
    };
    let names = org_names(&state, &c.subject).await;
    let book = state.indicators.book();
    let year = today().year();
    let rows = book
        .indicators()
        .filter_map(|i| {
            let d = i.current()?;
            Some(CatalogRow {
                code: i.code.clone(),
                name: d.name_vi.clone(),
                group: d.group.clone(),
                unit: d.unit.clone(),
                owner: names.get(&d.owner_org).cloned().unwrap_or(d.owner_org.clone()),
                frequency: d.frequency.as_str(),
                level: if d.level == Level::Commune { "commune" } else { "province" },
                // The API's snake_case name, which the page turns into words.
                kind: serde_json::to_value(d.target_kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                version: d.version,
                retired: i.retired,
                target: book
                    .target(&i.code, year, &book.province)
                    .map(|t| input_number(lang, t.value))
                    .unwrap_or_default(),
            })
        })
        .collect();
    let orgs = state
        .orgs
        .list(&c.subject)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|o| (o.code, o.name_vi))
        .collect();
    render(&CatalogPage {
        page: PageCtx::new(lang, "title.indicator_catalog", "/indicators", Some((&c.user, &c.subject))),
        year,
        rows,
        groups: haidang_core::indicators::model::GROUPS.to_vec(),
        orgs,
        can_manage: c.subject.can(Action::ManageIndicators, None),
    })
}
