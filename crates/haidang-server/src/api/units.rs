//! Administrative units: list, detail with successions, GeoJSON for the map, point lookup, import.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use haidang_core::units::{AdminUnit, ImportSummary, UnitDetail, UnitKind};
use haidang_core::CoreError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
pub struct UnitFilter {
    /// province, district, commune, ward or special_zone; "local" for all below a province.
    pub kind: Option<String>,
    /// Code of the parent unit.
    pub parent: Option<String>,
}

fn kind_filter(kind: Option<&str>, lang: crate::i18n::Lang) -> ApiResult<Option<UnitKind>> {
    match kind {
        None | Some("") | Some("local") => Ok(None),
        Some(k) => UnitKind::parse(k).map(Some).ok_or_else(|| {
            ApiError::from_core(CoreError::validation("kind", format!("unknown kind '{k}'")), lang)
        }),
    }
}

/// Units without geometry.
#[utoipa::path(get, path = "/api/v1/units", tag = "units", params(UnitFilter),
    responses((status = 200, body = serde_json::Value)))]
pub async fn list_units(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(f): Query<UnitFilter>,
) -> ApiResult<Json<Vec<AdminUnit>>> {
    let kind = kind_filter(f.kind.as_deref(), caller.lang)?;
    let mut units = state
        .units
        .list(&caller.subject, kind, f.parent.as_deref(), false)
        .await
        .map_err(|e| ApiError::from_core(e, caller.lang))?;
    if f.kind.as_deref() == Some("local") {
        units.retain(|u| u.kind.is_local());
    }
    Ok(Json(units))
}

/// Units as a GeoJSON FeatureCollection, for maps.
#[utoipa::path(get, path = "/api/v1/units/geojson", tag = "units", params(UnitFilter),
    responses((status = 200, description = "GeoJSON FeatureCollection", body = serde_json::Value)))]
pub async fn units_geojson(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(f): Query<UnitFilter>,
) -> ApiResult<Response> {
    let kind = kind_filter(f.kind.as_deref(), caller.lang)?;
    let units = state
        .units
        .list(&caller.subject, kind, f.parent.as_deref(), true)
        .await
        .map_err(|e| ApiError::from_core(e, caller.lang))?;
    let local_only = f.kind.as_deref() == Some("local");
    let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
    let mut first = true;
    for u in units.iter().filter(|u| !local_only || u.kind.is_local()) {
        let Some(geometry) = &u.geometry else { continue };
        let props = serde_json::json!({
            "code": u.code, "kind": u.kind.as_str(), "name": u.name_vi, "nameEn": u.name_en,
            "fullName": u.full_name_vi, "fullNameEn": u.full_name_en, "areaKm2": u.area_km2,
            "parent": u.parent_code,
        });
        if !first {
            out.push(',');
        }
        first = false;
        // The geometry is stored as GeoJSON text already; splice it in rather than re-parse.
        out.push_str(&format!(
            "{{\"type\":\"Feature\",\"id\":\"{}\",\"properties\":{props},\"geometry\":{geometry}}}",
            u.code
        ));
    }
    out.push_str("]}");
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], out).into_response())
}

#[derive(Deserialize, IntoParams)]
pub struct LookupQuery {
    pub lon: f64,
    pub lat: f64,
}

#[derive(Serialize, ToSchema)]
pub struct LookupResult {
    /// Most specific unit first (commune, then province).
    pub codes: Vec<String>,
    pub unit: Option<serde_json::Value>,
}

/// Which administrative units contain a point (WGS84), most specific first.
#[utoipa::path(get, path = "/api/v1/units/lookup", tag = "units", params(LookupQuery),
    responses((status = 200, body = LookupResult), (status = 422, body = crate::error::Problem)))]
pub async fn lookup_unit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<LookupQuery>,
) -> ApiResult<Json<LookupResult>> {
    caller
        .subject
        .require(haidang_core::accounts::Action::ViewUnits, None)
        .map_err(|e| ApiError::from_core(e, caller.lang))?;
    if !(-180.0..=180.0).contains(&q.lon) || !(-90.0..=90.0).contains(&q.lat) {
        return Err(ApiError::from_core(CoreError::validation("lon/lat", "out of range"), caller.lang));
    }
    let index = state.unit_index();
    let started = std::time::Instant::now();
    let codes: Vec<String> = index.lookup_all(q.lon, q.lat).into_iter().map(str::to_string).collect();
    // The index alone, without HTTP or sign-in: what `haidang bench` reports as the server's lookup time.
    metrics::histogram!("haidang_unit_lookup_seconds").record(started.elapsed().as_secs_f64());
    // Answered from memory: the index keeps each unit's attributes beside its boundary.
    let unit = codes.first().and_then(|code| index.unit(code)).and_then(|u| serde_json::to_value(u).ok());
    Ok(Json(LookupResult { codes, unit }))
}

#[derive(Deserialize, IntoParams)]
pub struct ImportQuery {
    /// Date from which the imported units are valid (YYYY-MM-DD); default 2025-07-01.
    pub valid_from: Option<String>,
}

/// Imports units from a GeoJSON FeatureCollection joined to the official code list. All or nothing.
#[utoipa::path(post, path = "/api/v1/units/import", tag = "units", params(ImportQuery),
    request_body(content = String, content_type = "application/geo+json"),
    responses((status = 200, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn import_units(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<ImportQuery>,
    body: String,
) -> ApiResult<Json<ImportSummary>> {
    let valid_from = match q.valid_from.as_deref() {
        None | Some("") => jiff::civil::date(2025, 7, 1),
        Some(d) => d.parse().map_err(|_| {
            ApiError::from_core(
                CoreError::validation("valid_from", format!("'{d}' is not a date (YYYY-MM-DD)")),
                caller.lang,
            )
        })?,
    };
    let summary = state
        .units
        .import_geojson(&caller.subject, &body, valid_from)
        .await
        .map_err(|e| ApiError::from_core(e, caller.lang))?;
    crate::rebuild_unit_index(&state).await.map_err(|e| ApiError::from_core(e, caller.lang))?;
    Ok(Json(summary))
}

/// One unit with the units it replaced and was replaced by.
#[utoipa::path(get, path = "/api/v1/units/{code}", tag = "units", params(("code" = String, Path)),
    responses((status = 200, body = serde_json::Value), (status = 404, body = crate::error::Problem)))]
pub async fn get_unit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(code): Path<String>,
) -> ApiResult<Json<UnitDetail>> {
    state
        .units
        .detail(&caller.subject, &code)
        .await
        .map(Json)
        .map_err(|e| ApiError::from_core(e, caller.lang))
}
