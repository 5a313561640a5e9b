//! The entity browser: every located entity the caller may read, as a table and on the map,
//! filtered by type, commune and a radius; and an entity's own page with its latest values and
//! the history charts of its numeric attributes.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use haidang_core::accounts::{Action, Subject};
use haidang_core::datasets::liveness::{display_name, last_update, live_state};
use haidang_core::hub::context::ActiveContext;
use haidang_core::hub::entity::{AttrKind, Entity};
use haidang_core::hub::geoquery::GeoQuery;
use haidang_core::hub::placement::{location_point, LOCATION};
use haidang_core::hub::{EntityQuery, HubResult};
use haidang_core::time::{format_local, now};
use haidang_core::units::UnitKind;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::admin::percent_encode;
use super::pages::redirect_for;
use super::{render, PageCtx};
use crate::auth::PageCaller;
use crate::i18n::{format_number_in, Lang, Translations};
use crate::state::AppState;

/// One located entity as the map and the table show it.
#[derive(Debug, Clone, Serialize)]
pub struct PlaceRow {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    pub unit: Option<String>,
    pub updated_at: Option<String>,
    pub state: &'static str,
    pub href: String,
}

pub fn entity_href(id: &str) -> String {
    format!("/data/entities/{}", percent_encode(id))
}

/// The located entities `q` picks that `by` may read, with their state now.
pub async fn place_rows(
    state: &AppState,
    by: &Subject,
    q: &EntityQuery,
    lang: Lang,
) -> HubResult<Vec<PlaceRow>> {
    let found = state.hub.query(by, q).await?;
    let catalog = state.hub.catalog();
    let core = ActiveContext::core();
    let at = now();
    let mut out = Vec::new();
    for e in &found.entities {
        let Some((lon, lat)) = location_point(e) else { continue };
        let place = state.hub.place_of(&e.id).unwrap_or_default();
        let datasets: Vec<_> =
            place.datasets.iter().filter_map(|n| catalog.get(*n)).map(|d| d.as_ref()).collect();
        out.push(PlaceRow {
            id: e.id.clone(),
            kind: e.types.first().map(|t| core.compact(t)).unwrap_or_default(),
            name: display_name(e, lang.as_str()),
            lon,
            lat,
            unit: place.units.first().cloned(),
            updated_at: last_update(e).map(|t| t.to_string()),
            state: live_state(e, &datasets, at),
            href: entity_href(&e.id),
        });
    }
    Ok(out)
}

#[derive(Debug, Default, Deserialize)]
pub struct BrowseFilter {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub unit: Option<String>,
    pub lat: Option<String>,
    pub lon: Option<String>,
    pub km: Option<String>,
}

pub struct Row {
    pub name: String,
    pub id: String,
    pub href: String,
    pub kind: String,
    pub unit: String,
    pub updated: String,
    pub state_key: String,
    pub state: &'static str,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "entities.html")]
struct BrowsePage {
    page: PageCtx,
    rows: Vec<Row>,
    types: Vec<Choice>,
    units: Vec<Choice>,
    lat: String,
    lon: String,
    km: String,
    points: String,
    province: String,
    tile_url: String,
    tile_attribution: String,
    error: Option<String>,
    total: String,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The radius filter as an NGSI-LD near query, or the reason it is not one.
fn near(f: &BrowseFilter) -> Result<Option<GeoQuery>, String> {
    let (Some(lat), Some(lon), Some(km)) = (non_empty(&f.lat), non_empty(&f.lon), non_empty(&f.km)) else {
        return Ok(None);
    };
    let num = |s: &str| s.replace(',', ".").parse::<f64>().map_err(|_| s.to_string());
    let (lat, lon, km) = (num(lat)?, num(lon)?, num(km)?);
    if !(0.0..=500.0).contains(&km) {
        return Err(km.to_string());
    }
    let metres = (km * 1000.0).round() as i64;
    let mut g = GeoQuery::parse(&format!("near;maxDistance=={metres}"), "Point", &json!([lon, lat]), None)
        .map_err(|e| e.to_string())?;
    g.geoproperty = LOCATION.to_string();
    Ok(Some(g))
}

pub async fn browse(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
    Query(f): Query<BrowseFilter>,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ReadData, None)) else {
        return redirect_for(stage);
    };
    let t = Translations::get(lang);
    let core = ActiveContext::core();
    let mut error = None;
    let geo = near(&f).unwrap_or_else(|bad| {
        error = Some(format!("{} {bad}", t.text("entities.bad_radius")));
        None
    });
    let q = EntityQuery {
        types: non_empty(&f.kind).map(|k| vec![core.expand(k)]),
        unit: non_empty(&f.unit).map(str::to_string),
        geo,
        limit: Some(state.hub.options().max_limit),
        ..Default::default()
    };
    let places = place_rows(&state, &c.subject, &q, lang).await.unwrap_or_default();
    let communes = state
        .units
        .list(&c.subject, None, Some(&state.config.map.province_code), false)
        .await
        .unwrap_or_default();
    let unit_names: HashMap<&str, &str> =
        communes.iter().map(|u| (u.code.as_str(), u.name_vi.as_str())).collect();
    let rows = places
        .iter()
        .map(|p| Row {
            name: p.name.clone(),
            id: p.id.clone(),
            href: p.href.clone(),
            kind: p.kind.clone(),
            unit: p
                .unit
                .as_deref()
                .map(|u| unit_names.get(u).copied().unwrap_or(u).to_string())
                .unwrap_or_default(),
            updated: p
                .updated_at
                .as_deref()
                .and_then(|u| u.parse().ok())
                .map(format_local)
                .unwrap_or_default(),
            state_key: format!("entities.state_{}", p.state),
            state: p.state,
        })
        .collect();
    let types = state
        .hub
        .types(&c.subject)
        .unwrap_or_default()
        .into_iter()
        .map(|ty| {
            let short = core.compact(&ty.name);
            Choice {
                selected: non_empty(&f.kind) == Some(short.as_str()),
                label: short.clone(),
                value: short,
            }
        })
        .collect();
    let units = communes
        .iter()
        .filter(|u| u.kind != UnitKind::Province)
        .map(|u| Choice {
            selected: non_empty(&f.unit) == Some(u.code.as_str()),
            label: u.full_name_vi.clone(),
            value: u.code.clone(),
        })
        .collect();
    render(&BrowsePage {
        page: PageCtx::new(lang, "title.entities", "/data/entities", Some((&c.user, &c.subject))),
        total: format_number_in(lang, places.len() as f64, 0),
        points: serde_json::to_string(&places).unwrap_or_else(|_| "[]".into()),
        rows,
        types,
        units,
        lat: f.lat.clone().unwrap_or_default(),
        lon: f.lon.clone().unwrap_or_default(),
        km: f.km.clone().unwrap_or_default(),
        province: state.config.map.province_code.clone(),
        tile_url: state.config.map.tile_url.clone(),
        tile_attribution: state.config.map.tile_attribution.clone(),
        error,
    })
}

pub struct ValueRow {
    pub label: String,
    pub name: String,
    pub value: String,
    pub unit: String,
    pub observed: String,
}

pub struct ChartAttr {
    pub name: String,
    pub label: String,
    pub unit: String,
}

#[derive(Template)]
#[template(path = "entity.html")]
struct EntityPage {
    page: PageCtx,
    id: String,
    name: String,
    kind: String,
    unit: String,
    state_key: String,
    state: &'static str,
    updated: String,
    datasets: Vec<(String, String)>,
    values: Vec<ValueRow>,
    charts: Vec<ChartAttr>,
    from: String,
    days: i64,
}

#[derive(Debug, Default, Deserialize)]
pub struct PeriodFilter {
    pub days: Option<i64>,
}

/// An attribute's label: the translation of its short name, else the name itself.
fn attr_label(t: &Translations, short: &str) -> String {
    let key = format!("attr.{short}");
    match t.text(&key) {
        same if same == key => short.to_string(),
        label => label.to_string(),
    }
}

fn value_text(lang: Lang, v: &Value) -> String {
    match v {
        Value::Number(n) => n.as_f64().map(|f| format_number_in(lang, f, 2)).unwrap_or_else(|| n.to_string()),
        // A time (dateObserved and the like) in Vietnam time, as everywhere on the console.
        Value::String(s) => s.parse::<jiff::Timestamp>().map(format_local).unwrap_or_else(|_| s.clone()),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

pub async fn entity(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
    Path(id): Path<String>,
    Query(p): Query<PeriodFilter>,
) -> Response {
    let Some(c) = caller.filter(|c| c.subject.can(Action::ReadData, None)) else {
        return redirect_for(stage);
    };
    let Ok(e) = state.hub.get(&c.subject, &id).await else {
        return super::not_found_page(lang, &c);
    };
    let t = Translations::get(lang);
    let core = ActiveContext::core();
    let catalog = state.hub.catalog();
    let place = state.hub.place_of(&id).unwrap_or_default();
    let datasets: Vec<_> = place.datasets.iter().filter_map(|n| catalog.get(*n)).collect();
    let refs: Vec<_> = datasets.iter().map(|d| d.as_ref()).collect();
    let live = live_state(&e, &refs, now());
    let unit = match place.units.first() {
        Some(code) => state
            .units
            .detail(&c.subject, code)
            .await
            .map(|u| u.unit.full_name_vi)
            .unwrap_or_else(|_| code.clone()),
        None => String::new(),
    };
    let (values, charts) = values_of(&e, lang, t);
    let days = p.days.filter(|d| [1, 7, 30].contains(d)).unwrap_or(1);
    render(&EntityPage {
        page: PageCtx::new(lang, "title.entity", "/data/entities", Some((&c.user, &c.subject))),
        name: display_name(&e, lang.as_str()),
        kind: e.types.first().map(|ty| core.compact(ty)).unwrap_or_default(),
        id: e.id.clone(),
        unit,
        state_key: format!("entities.state_{live}"),
        state: live,
        updated: last_update(&e).map(format_local).unwrap_or_default(),
        datasets: datasets.iter().map(|d| (d.name.clone(), format!("/data/datasets/{}", d.id))).collect(),
        values,
        charts,
        from: (now() - jiff::SignedDuration::from_hours(24 * days)).to_string(),
        days,
    })
}

/// The latest value of each attribute, and which of them get a chart (the numeric ones).
fn values_of(e: &Entity, lang: Lang, t: &Translations) -> (Vec<ValueRow>, Vec<ChartAttr>) {
    let core = ActiveContext::core();
    let mut values = Vec::new();
    let mut charts = Vec::new();
    for (iri, instances) in &e.attrs {
        let Some(i) = instances.first() else { continue };
        let short = core.compact(iri);
        let value = match i.kind {
            AttrKind::GeoProperty => match location_point(e).filter(|_| iri == LOCATION) {
                Some((lon, lat)) => {
                    format!("{}, {}", format_number_in(lang, lat, 5), format_number_in(lang, lon, 5))
                }
                None => i.content.to_string(),
            },
            _ => value_text(lang, &i.content),
        };
        let label = attr_label(t, &short);
        if i.content.is_number() && i.kind == AttrKind::Property {
            charts.push(ChartAttr {
                name: short.clone(),
                label: label.clone(),
                unit: i.unit_code.clone().unwrap_or_default(),
            });
        }
        values.push(ValueRow {
            label,
            name: short,
            value,
            unit: i.unit_code.clone().unwrap_or_default(),
            observed: i.observed_at.map(format_local).unwrap_or_default(),
        });
    }
    (values, charts)
}
