//! The citizens' portal at /portal: send a report, follow it with the tracking code, read the
//! published reports. Public pages (no sign-in) with their own simple layout, made for a phone.
//! The pages post to the public API (`/api/v1/public/...`) with `portal.js`; the tracking code
//! only ever travels in a POST body, never in a URL.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use haidang_core::repo::{ReportFilter, UnitRepository};
use haidang_core::reports::model::ReportCategory;
use haidang_core::reports::PublicReport;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;

use super::render;
use crate::auth::PageCaller;
use crate::i18n::{format_number_in, Lang, Translations};
use crate::state::AppState;

/// What the portal's layout needs (no console menu, no user box).
pub struct PortalCtx {
    pub t: &'static Translations,
    pub lang: &'static str,
    pub title: String,
    pub path: &'static str,
}

impl PortalCtx {
    pub(crate) fn new(lang: Lang, title_key: &str, path: &'static str) -> PortalCtx {
        let t = Translations::get(lang);
        PortalCtx { t, lang: lang.as_str(), title: t.text(title_key).to_string(), path }
    }
}

/// The report states, each labelled `portal.state_<state>`.
pub(crate) const STATES: [&str; 11] = [
    "received",
    "verified",
    "rejected",
    "merged",
    "assigned",
    "accepted",
    "returned",
    "in_progress",
    "awaiting_info",
    "answered",
    "closed",
];

/// The steps of the history the reporter sees, each labelled `portal.action_<action>`.
pub(crate) const ACTIONS: [&str; 22] = [
    "receive",
    "verify",
    "reject",
    "merge",
    "assign",
    "accept",
    "return",
    "start",
    "request_info",
    "provide_info",
    "answer",
    "approve",
    "send_back",
    "reopen",
    "transfer",
    "request_extension",
    "decide_extension",
    "escalate",
    "rate",
    "erase_identity",
    "redact",
    "note",
];

/// Texts `portal.js` writes into the page (everything else is in the templates).
pub(crate) const SCRIPT_KEYS: [&str; 34] = [
    "portal.number_prefix",
    "portal.deadline",
    "portal.no_deadline",
    "portal.answer",
    "portal.answered_at",
    "portal.received_at",
    "portal.history",
    "portal.rated",
    "portal.merged_into",
    "portal.step_done",
    "portal.erased",
    "portal.not_found",
    "portal.code_invalid",
    "portal.copied",
    "portal.copy_failed",
    "portal.photo_remove",
    "portal.photo_too_large",
    "portal.photo_type",
    "portal.photo_skipped",
    "portal.photo_alt",
    "portal.answer_photo_alt",
    "portal.uploading",
    "portal.sending",
    "portal.need_category",
    "portal.need_description",
    "portal.need_place",
    "portal.need_consent",
    "portal.need_rating",
    "portal.need_note",
    "portal.locating",
    "portal.location_found",
    "portal.location_failed",
    "portal.location_unsupported",
    "portal.required_mark",
];

fn zone() -> TimeZone {
    TimeZone::get("Asia/Ho_Chi_Minh").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(7)))
}

/// dd/mm/yyyy HH:MM in Vietnam's time.
pub(crate) fn local_time(at: Timestamp) -> String {
    at.to_zoned(zone()).strftime("%d/%m/%Y %H:%M").to_string()
}

/// Every text the script needs, as one JSON object for a data attribute.
fn script_texts(t: &Translations) -> String {
    let mut map = BTreeMap::new();
    let keys = SCRIPT_KEYS
        .iter()
        .map(|k| k.to_string())
        .chain(STATES.iter().map(|s| format!("portal.state_{s}")))
        .chain(ACTIONS.iter().map(|a| format!("portal.action_{a}")));
    for key in keys {
        let short = key.trim_start_matches("portal.").to_string();
        map.insert(short, t.text(&key).to_string());
    }
    json!(map).to_string()
}

/// A published report as a list row and a map marker.
pub struct ReportRow {
    pub number: String,
    pub category: String,
    pub state: String,
    pub state_key: String,
    pub description: String,
    pub address: String,
    pub received: String,
    pub answer: Option<String>,
    pub lon: String,
    pub lat: String,
}

fn category_name(cats: &[ReportCategory], code: &str, lang: Lang) -> String {
    cats.iter()
        .find(|c| c.code == code)
        .map(
            |c| if lang == Lang::En && !c.name_en.is_empty() { c.name_en.clone() } else { c.name_vi.clone() },
        )
        .unwrap_or_else(|| code.to_string())
}

fn row_of(r: &PublicReport, cats: &[ReportCategory], lang: Lang) -> ReportRow {
    let state = r.state.as_str();
    let short: String = r.description.chars().take(160).collect();
    let description = if short.len() < r.description.len() { format!("{short}…") } else { short };
    let coord = |v: Option<f64>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
    ReportRow {
        number: format_number_in(lang, r.number as f64, 0),
        category: category_name(cats, &r.category, lang),
        state: state.to_string(),
        state_key: format!("portal.state_{state}"),
        description,
        address: r.address.clone().unwrap_or_default(),
        received: local_time(r.received_at),
        answer: r.answer.clone(),
        lon: coord(r.lon),
        lat: coord(r.lat),
    }
}

async fn published_rows(
    state: &AppState,
    category: Option<String>,
    limit: i64,
    lang: Lang,
) -> Vec<ReportRow> {
    let cats = state.reports.categories().await.unwrap_or_default();
    let filter =
        ReportFilter { categories: category.into_iter().collect(), limit, ..ReportFilter::default() };
    match state.reports.published(filter).await {
        Ok(list) => list.iter().map(|r| row_of(r, &cats, lang)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "published reports could not be read");
            Vec::new()
        }
    }
}

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage {
    page: PortalCtx,
    warnings: Vec<WarningRow>,
    reports: Vec<ReportRow>,
    tile_url: String,
    tile_attribution: String,
}

/// A public warning as the portal shows it, in the reader's language where it was written.
pub struct WarningRow {
    pub number: i64,
    pub headline: String,
    pub description: String,
    pub instruction: String,
    pub severity: String,
    pub expires: String,
    pub cap: String,
}

async fn warning_rows(state: &AppState, lang: Lang) -> Vec<WarningRow> {
    let current = state.warnings.current().await.unwrap_or_default();
    current
        .iter()
        .filter_map(|w| {
            let p = w.published.as_ref()?;
            let en = lang == Lang::En && !p.headline_en.is_empty();
            let pick = |vi: &str, en_text: &str| {
                if en && !en_text.is_empty() {
                    en_text.to_string()
                } else {
                    vi.to_string()
                }
            };
            Some(WarningRow {
                number: w.number,
                headline: pick(&p.headline_vi, &p.headline_en),
                description: pick(&p.description_vi, &p.description_en),
                instruction: pick(&p.instruction_vi, &p.instruction_en),
                severity: p.severity.as_str().to_lowercase(),
                expires: local_time(p.expires),
                cap: w.sent.last().map(|s| format!("/cap/{}", s.identifier)).unwrap_or_default(),
            })
        })
        .collect()
}

pub async fn home(State(state): State<Arc<AppState>>, PageCaller(_, lang, _): PageCaller) -> Response {
    let reports = published_rows(&state, None, 8, lang).await;
    let warnings = warning_rows(&state, lang).await;
    render(&HomePage {
        warnings,
        page: PortalCtx::new(lang, "portal.title_home", "/portal"),
        reports,
        tile_url: state.config.map.tile_url.clone(),
        tile_attribution: state.config.map.tile_attribution.clone(),
    })
}

pub struct CategoryGroup {
    pub name: String,
    pub categories: Vec<(String, String)>,
}

fn groups_of(cats: &[ReportCategory], lang: Lang) -> Vec<CategoryGroup> {
    let mut groups: Vec<CategoryGroup> = Vec::new();
    for c in cats.iter().filter(|c| c.active) {
        let group = if lang == Lang::En && !c.group_en.is_empty() { &c.group_en } else { &c.group_vi };
        let entry = (c.code.clone(), category_name(cats, &c.code, lang));
        match groups.iter_mut().find(|g| &g.name == group) {
            Some(g) => g.categories.push(entry),
            None => groups.push(CategoryGroup { name: group.clone(), categories: vec![entry] }),
        }
    }
    groups
}

/// Each category's extra fields, in the page's language, for the script to draw.
fn attributes_json(cats: &[ReportCategory], lang: Lang) -> String {
    let map: BTreeMap<&str, serde_json::Value> = cats
        .iter()
        .filter(|c| !c.attributes.is_empty())
        .map(|c| {
            let attrs: Vec<serde_json::Value> = c
                .attributes
                .iter()
                .map(|a| {
                    let label = if lang == Lang::En && !a.description_en.is_empty() {
                        &a.description_en
                    } else {
                        &a.description_vi
                    };
                    json!({"code": a.code, "datatype": a.datatype, "required": a.required,
                           "label": label, "values": a.values})
                })
                .collect();
            (c.code.as_str(), json!(attrs))
        })
        .collect();
    json!(map).to_string()
}

#[derive(Template)]
#[template(path = "portal_submit.html")]
struct SubmitPage {
    page: PortalCtx,
    groups: Vec<CategoryGroup>,
    communes: Vec<(String, String)>,
    attributes: String,
    texts: String,
    tile_url: String,
    tile_attribution: String,
}

/// The province's communes, wards and special zones, by name.
pub(crate) async fn communes(state: &AppState, lang: Lang) -> Vec<(String, String)> {
    let province = &state.config.map.province_code;
    let mut list: Vec<(String, String)> = match state.store.list_units(None, Some(province), false).await {
        Ok(units) => units
            .into_iter()
            .filter(|u| u.kind.is_local() && u.valid_to.is_none())
            .map(|u| {
                let name = if lang == Lang::En { u.full_name_en } else { u.full_name_vi };
                (u.code, name)
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "communes could not be read");
            Vec::new()
        }
    };
    list.sort_by(|a, b| a.1.cmp(&b.1));
    list
}

pub async fn submit(State(state): State<Arc<AppState>>, PageCaller(_, lang, _): PageCaller) -> Response {
    let cats = state.reports.categories().await.unwrap_or_default();
    let t = Translations::get(lang);
    render(&SubmitPage {
        page: PortalCtx::new(lang, "portal.title_submit", "/portal/submit"),
        groups: groups_of(&cats, lang),
        communes: communes(&state, lang).await,
        attributes: attributes_json(&cats, lang),
        texts: script_texts(t),
        tile_url: state.config.map.tile_url.clone(),
        tile_attribution: state.config.map.tile_attribution.clone(),
    })
}

#[derive(Template)]
#[template(path = "portal_track.html")]
struct TrackPage {
    page: PortalCtx,
    texts: String,
    categories: String,
}

fn category_names_json(cats: &[ReportCategory], lang: Lang) -> String {
    let map: BTreeMap<&str, String> =
        cats.iter().map(|c| (c.code.as_str(), category_name(cats, &c.code, lang))).collect();
    json!(map).to_string()
}

pub async fn track(State(state): State<Arc<AppState>>, PageCaller(_, lang, _): PageCaller) -> Response {
    let cats = state.reports.categories().await.unwrap_or_default();
    render(&TrackPage {
        page: PortalCtx::new(lang, "portal.title_track", "/portal/track"),
        texts: script_texts(Translations::get(lang)),
        categories: category_names_json(&cats, lang),
    })
}

#[derive(Deserialize)]
pub struct ReportsQuery {
    category: Option<String>,
}

#[derive(Template)]
#[template(path = "portal_reports.html")]
struct ReportsPage {
    page: PortalCtx,
    groups: Vec<CategoryGroup>,
    selected: String,
    reports: Vec<ReportRow>,
    count: String,
    tile_url: String,
    tile_attribution: String,
}

pub async fn reports(
    State(state): State<Arc<AppState>>,
    PageCaller(_, lang, _): PageCaller,
    Query(q): Query<ReportsQuery>,
) -> Response {
    let cats = state.reports.categories().await.unwrap_or_default();
    let selected = q.category.filter(|c| cats.iter().any(|k| &k.code == c)).unwrap_or_default();
    let chosen = Some(selected.clone()).filter(|c| !c.is_empty());
    let reports = published_rows(&state, chosen, 200, lang).await;
    render(&ReportsPage {
        page: PortalCtx::new(lang, "portal.title_reports", "/portal/reports"),
        groups: groups_of(&cats, lang),
        selected,
        count: format_number_in(lang, reports.len() as f64, 0),
        reports,
        tile_url: state.config.map.tile_url.clone(),
        tile_attribution: state.config.map.tile_attribution.clone(),
    })
}

/// The province's communes as GeoJSON, for the portal's maps (public: boundaries only).
pub async fn communes_geojson(State(state): State<Arc<AppState>>) -> Response {
    let province = &state.config.map.province_code;
    let units = match state.store.list_units(None, Some(province), true).await {
        Ok(units) => units,
        Err(e) => {
            tracing::warn!(error = %e, "commune boundaries could not be read");
            Vec::new()
        }
    };
    let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
    let mut first = true;
    for u in units.iter().filter(|u| u.kind.is_local() && u.valid_to.is_none()) {
        let Some(geometry) = &u.geometry else { continue };
        let props = json!({"code": u.code, "name": u.full_name_vi, "nameEn": u.full_name_en});
        if !first {
            out.push(',');
        }
        first = false;
        // Stored as GeoJSON text already: spliced in rather than parsed again.
        out.push_str(&format!("{{\"type\":\"Feature\",\"properties\":{props},\"geometry\":{geometry}}}"));
    }
    out.push_str("]}");
    ([(header::CONTENT_TYPE, "application/geo+json"), (header::CACHE_CONTROL, "public, max-age=3600")], out)
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_the_script_and_lists_use_exists_in_both_languages() {
        for lang in [Lang::Vi, Lang::En] {
            let t = Translations::get(lang);
            let known: std::collections::BTreeSet<&str> = t.keys().into_iter().collect();
            let keys = SCRIPT_KEYS
                .iter()
                .map(|k| k.to_string())
                .chain(STATES.iter().map(|s| format!("portal.state_{s}")))
                .chain(ACTIONS.iter().map(|a| format!("portal.action_{a}")));
            for key in keys {
                assert!(known.contains(key.as_str()), "{lang:?} lacks {key}");
            }
        }
    }

    #[test]
    fn every_report_state_has_a_label() {
        for s in haidang_core::reports::model::ReportState::ALL {
            assert!(STATES.contains(&s.as_str()), "{}", s.as_str());
        }
    }

    #[test]
    fn times_are_written_in_vietnam() {
        let at: Timestamp = "2026-03-05T17:30:00Z".parse().unwrap_or_default();
        assert_eq!(local_time(at), "06/03/2026 00:30");
    }
}
