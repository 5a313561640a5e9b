//! Sign-in, home, map, first-sign-in steps and the language switch.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use haidang_core::accounts::{Action, SessionStage};
use haidang_core::units::UnitKind;
use serde::Deserialize;

use super::{render, PageCtx};
use crate::auth::{PageCaller, LANG_COOKIE};
use crate::i18n::{format_number_in, Lang};
use crate::state::AppState;

/// Where a caller who may not see a page goes: sign-in, or the first-sign-in step still due.
pub(crate) fn redirect_for(stage: Option<SessionStage>) -> Response {
    match stage {
        Some(SessionStage::ChangePassword) => Redirect::to("/account/password").into_response(),
        Some(SessionStage::EnrolTotp) => Redirect::to("/account/totp").into_response(),
        // Signed in but not allowed here (a typed or old link): home, not the sign-in page.
        Some(SessionStage::Full) => Redirect::to("/").into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: PageCtx,
}

pub async fn login(PageCaller(caller, lang, _): PageCaller) -> Response {
    if caller.is_some() {
        return Redirect::to("/").into_response();
    }
    render(&LoginPage { page: PageCtx::new(lang, "title.login", "/login", None) })
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageCtx,
    greeting_name: String,
    org_name: String,
    communes: String,
    provinces: String,
    orgs: String,
    users: Option<String>,
    area: String,
}

pub async fn home(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
) -> Response {
    let Some(c) = caller else { return redirect_for(stage) };
    let province = &state.config.map.province_code;
    let communes = state.units.list(&c.subject, None, Some(province), false).await.unwrap_or_default();
    let provinces =
        state.units.list(&c.subject, Some(UnitKind::Province), None, false).await.unwrap_or_default();
    let orgs = state.orgs.list(&c.subject).await.unwrap_or_default();
    let org_name = orgs
        .iter()
        .find(|o| o.id == c.user.org_id)
        .map(|o| o.name(lang == Lang::En).to_string())
        .unwrap_or_default();
    let users = if c.subject.can(Action::ViewUsers, None) {
        state.accounts.list_users(&c.subject).await.ok().map(|u| format_number_in(lang, u.len() as f64, 0))
    } else {
        None
    };
    let area: f64 = communes.iter().filter_map(|u| u.area_km2).sum();
    let page = HomePage {
        page: PageCtx::new(lang, "title.home", "/", Some((&c.user, &c.subject))),
        greeting_name: c.user.display_name.clone(),
        org_name,
        communes: format_number_in(lang, communes.len() as f64, 0),
        provinces: format_number_in(lang, provinces.len() as f64, 0),
        orgs: format_number_in(lang, orgs.len() as f64, 0),
        users,
        area: format_number_in(lang, area, 0),
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "map.html")]
struct MapPage {
    page: PageCtx,
    province_code: String,
    province_name: String,
    tile_url: String,
    tile_attribution: String,
}

pub async fn map(
    State(state): State<Arc<AppState>>,
    PageCaller(caller, lang, stage): PageCaller,
) -> Response {
    let Some(c) = caller else { return redirect_for(stage) };
    let code = state.config.map.province_code.clone();
    let province_name = state
        .units
        .detail(&c.subject, &code)
        .await
        .map(|d| if lang == Lang::En { d.unit.full_name_en } else { d.unit.full_name_vi })
        .unwrap_or_default();
    render(&MapPage {
        page: PageCtx::new(lang, "title.map", "/map", Some((&c.user, &c.subject))),
        province_code: code,
        province_name,
        tile_url: state.config.map.tile_url.clone(),
        tile_attribution: state.config.map.tile_attribution.clone(),
    })
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    page: PageCtx,
}

#[derive(Template)]
#[template(path = "totp.html")]
struct TotpPage {
    page: PageCtx,
}

pub async fn password(PageCaller(caller, lang, stage): PageCaller) -> Response {
    match (caller, stage) {
        // Fully signed in: the usual menu and name; at the first sign-in step, the bare page.
        (Some(c), _) => render(&PasswordPage {
            page: PageCtx::new(lang, "title.password", "/account/password", Some((&c.user, &c.subject))),
        }),
        (None, Some(SessionStage::ChangePassword)) => {
            render(&PasswordPage { page: PageCtx::new(lang, "title.password", "/account/password", None) })
        }
        (None, other) => redirect_for(other),
    }
}

pub async fn totp(PageCaller(caller, lang, stage): PageCaller) -> Response {
    match (caller, stage) {
        // Fully signed in: the usual menu and name; at the first sign-in step, the bare page.
        (Some(c), _) => render(&TotpPage {
            page: PageCtx::new(lang, "title.totp", "/account/totp", Some((&c.user, &c.subject))),
        }),
        (None, Some(SessionStage::EnrolTotp)) => {
            render(&TotpPage { page: PageCtx::new(lang, "title.totp", "/account/totp", None) })
        }
        (None, other) => redirect_for(other),
    }
}

#[derive(Deserialize)]
pub struct Back {
    back: Option<String>,
}

pub async fn switch_lang(Path(lang): Path<String>, Query(q): Query<Back>) -> Response {
    let lang = Lang::parse(&lang).unwrap_or_default();
    // Only paths on this site, never an open redirect.
    let back = q.back.filter(|b| is_local_path(b)).unwrap_or_else(|| "/".into());
    let mut headers = HeaderMap::new();
    let cookie = format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", lang.as_str());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, v);
    }
    (headers, Redirect::to(&back)).into_response()
}

/// A path on this site only: starts with one "/", and holds no character a browser might drop
/// or read as a second slash ("/\t/evil.example" becomes "//evil.example").
pub(crate) fn is_local_path(target: &str) -> bool {
    target.starts_with('/')
        && !target.starts_with("//")
        && target.chars().all(|c| c.is_ascii_graphic() && c != '\\')
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn only_local_paths_are_followed() {
        for ok in ["/", "/map", "/admin/audit?action=user.lock&before_seq=5"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "https://evil.example",
            "map",
            "/ /x",
            "",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }
}
