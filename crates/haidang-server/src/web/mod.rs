//! The web console: server-rendered pages (askama), the language switch and the static files
//! embedded in the binary. Pages read data through the same services as the API and post their
//! forms as JSON to the API.

pub(crate) mod admin;
mod data;
mod datasets;
mod dead_letters;
pub(crate) mod entities;
mod indicators;
mod pages;
mod portal;
mod quality;
mod reports;
mod response;
mod static_files;
mod stats;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use haidang_core::accounts::{Action, Subject, User};

use crate::i18n::{Lang, Translations};
use crate::state::AppState;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login))
        .route("/map", get(pages::map))
        .route("/data", get(data::data))
        .route("/data/datasets", get(datasets::list))
        .route("/data/datasets/{id}", get(datasets::detail))
        .route("/data/quality", get(quality::quality))
        .route("/data/entities", get(entities::browse))
        .route("/data/entities/{id}", get(entities::entity))
        .route("/data/dead-letters", get(dead_letters::dead_letters))
        .route("/indicators", get(indicators::overview))
        .route("/indicators/catalog", get(indicators::catalog))
        .route("/indicators/submit", get(indicators::submit))
        .route("/indicators/{code}", get(indicators::indicator))
        .route("/reports", get(reports::queue))
        .route("/reports/statistics", get(stats::console))
        .route("/reports/{id}", get(reports::detail))
        .route("/alerts", get(response::alerts))
        .route("/alerts/rules", get(response::rules))
        .route("/incidents", get(response::incidents))
        .route("/incidents/{id}", get(response::incident))
        .route("/tasks", get(response::tasks))
        .route("/warnings", get(response::warnings))
        .route("/account/password", get(pages::password))
        .route("/account/totp", get(pages::totp))
        .route("/lang/{lang}", get(pages::switch_lang))
        .route("/admin/orgs", get(admin::orgs))
        .route("/admin/users", get(admin::users))
        .route("/admin/tokens", get(admin::tokens))
        .route("/admin/audit", get(admin::audit))
        .route("/static/{*path}", get(static_files::serve))
        // The citizens' portal: public, no sign-in.
        .route("/portal", get(portal::home))
        .route("/portal/submit", get(portal::submit))
        .route("/portal/track", get(portal::track))
        .route("/portal/reports", get(portal::reports))
        .route("/portal/statistics", get(stats::portal))
        .route("/portal/communes.geojson", get(portal::communes_geojson))
}

pub struct NavItem {
    pub id: &'static str,
    pub href: &'static str,
    pub label_key: &'static str,
    pub active: bool,
}

pub struct UserBox {
    pub display_name: String,
    pub role_key: String,
}

/// What every page's layout needs.
pub struct PageCtx {
    pub t: &'static Translations,
    pub lang: &'static str,
    pub title: String,
    pub path: String,
    pub user: Option<UserBox>,
    pub nav: Vec<NavItem>,
}

const NAV: [(&str, &str, &str, Action); 14] = [
    ("home", "/", "nav.home", Action::ViewConsole),
    ("map", "/map", "nav.map", Action::ViewConsole),
    ("alerts", "/alerts", "nav.alerts", Action::ViewAlerts),
    ("incidents", "/incidents", "nav.incidents", Action::ViewAlerts),
    ("reports", "/reports", "nav.reports", Action::ViewCitizenReports),
    ("indicators", "/indicators", "nav.indicators", Action::ReadData),
    ("data", "/data", "nav.data", Action::ReadData),
    ("datasets", "/data/datasets", "nav.datasets", Action::ReadData),
    ("quality", "/data/quality", "nav.quality", Action::ReadData),
    ("entities", "/data/entities", "nav.entities", Action::ReadData),
    ("orgs", "/admin/orgs", "nav.orgs", Action::ViewOrgs),
    ("users", "/admin/users", "nav.users", Action::ViewUsers),
    ("tokens", "/admin/tokens", "nav.tokens", Action::ManageTokens),
    ("audit", "/admin/audit", "nav.audit", Action::ViewAudit),
];

impl PageCtx {
    pub fn new(lang: Lang, title_key: &str, path: &str, who: Option<(&User, &Subject)>) -> PageCtx {
        let t = Translations::get(lang);
        let nav = match who {
            Some((_, subject)) => NAV
                .iter()
                .filter(|(_, _, _, action)| subject.can(*action, None))
                .map(|(id, href, label_key, _)| NavItem { id, href, label_key, active: *href == path })
                .collect(),
            None => Vec::new(),
        };
        PageCtx {
            t,
            lang: lang.as_str(),
            title: t.text(title_key).to_string(),
            path: path.to_string(),
            user: who.map(|(u, _)| UserBox {
                display_name: u.display_name.clone(),
                role_key: format!("role.{}", u.role.as_str()),
            }),
            nav,
        }
    }
}

#[derive(askama::Template)]
#[template(path = "notice.html")]
struct NoticePage {
    page: PageCtx,
    text_key: &'static str,
    back: &'static str,
}

/// A page for something that is not there (or not there for this caller): 404 with a way back.
pub(crate) fn not_found_page(lang: Lang, c: &crate::auth::Caller) -> axum::response::Response {
    use axum::response::IntoResponse;
    let page = NoticePage {
        page: PageCtx::new(lang, "title.not_found", "", Some((&c.user, &c.subject))),
        text_key: "common.not_found_text",
        back: "/data",
    };
    (axum::http::StatusCode::NOT_FOUND, render(&page)).into_response()
}

/// The organisations (id, code, name, kind) and the province's communes (code → name) in the
/// reader's language: the names a page's script shows instead of codes.
pub(crate) async fn script_names(
    state: &AppState,
    subject: &Subject,
    lang: Lang,
) -> (Vec<serde_json::Value>, std::collections::BTreeMap<String, String>) {
    let en = lang == Lang::En;
    let orgs = state
        .orgs
        .list(subject)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|o| {
            let name = if en && !o.name_en.is_empty() { o.name_en } else { o.name_vi };
            serde_json::json!({ "id": o.id, "code": o.code, "name": name, "kind": o.kind.as_str() })
        })
        .collect();
    let units = state
        .units
        .list(subject, None, Some(&state.config.map.province_code), false)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| (u.code, if en && !u.name_en.is_empty() { u.name_en } else { u.name_vi }))
        .collect();
    (orgs, units)
}

/// Renders a template, or a plain 500 that names nothing internal.
pub fn render(template: &impl askama::Template) -> axum::response::Response {
    use axum::response::IntoResponse;
    match template.render() {
        Ok(html) => axum::response::Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[cfg(test)]
mod template_tests;
