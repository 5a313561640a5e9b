//! Who is calling: a console session (cookie) or a machine (bearer token). Requests that change
//! something with a cookie must also prove they come from our own pages (JSON body or htmx
//! header; neither can be sent cross-site without CORS), on top of SameSite=Strict.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{header, request::Parts, Method, StatusCode};
use haidang_core::accounts::{Session, SessionStage, Subject, User};
use haidang_core::CoreError;

use crate::error::ApiError;
use crate::i18n::Lang;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "hd_session";
pub const LANG_COOKIE: &str = "hd_lang";

pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn lang_of(parts: &Parts) -> Lang {
    cookie(parts, LANG_COOKIE).and_then(Lang::parse).unwrap_or_else(|| {
        parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(Lang::from_accept_language)
            .unwrap_or_default()
    })
}

/// The console's language: the user's own choice (the VI/EN switch), else Vietnamese, whatever
/// the browser's locale. The API follows Accept-Language instead, for machines that ask.
pub fn page_lang_of(parts: &Parts) -> Lang {
    cookie(parts, LANG_COOKIE).and_then(Lang::parse).unwrap_or_default()
}

pub fn source_ip(parts: &Parts) -> Option<String> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ci| ci.0.ip().to_string())
}

/// The caller's language, for handlers that need no sign-in.
pub struct RequestLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for RequestLang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestLang(lang_of(parts)))
    }
}

/// The client's address, for the audit trail.
pub struct SourceIp(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for SourceIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(SourceIp(source_ip(parts)))
    }
}

/// A signed-in caller at any stage (also one that still has to change the password or enrol TOTP).
pub struct AnyStageCaller {
    pub user: User,
    pub subject: Subject,
    pub session: Option<Session>,
    pub lang: Lang,
}

/// A fully signed-in caller.
pub struct Caller {
    pub user: User,
    pub subject: Subject,
    pub session: Option<Session>,
    pub lang: Lang,
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A cross-site form can only send form or plain-text bodies; any other content type (JSON, a
/// photo's `image/jpeg`: each needs a CORS preflight we never grant) or htmx's header proves the
/// request came from our own pages.
fn csrf_ok(parts: &Parts) -> bool {
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    let preflighted = content_type.is_some_and(|ct| {
        !ct.is_empty()
            && !matches!(
                ct.as_str(),
                "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
            )
    });
    preflighted || parts.headers.contains_key("hx-request")
}

async fn resolve(parts: &mut Parts, state: &Arc<AppState>) -> Result<AnyStageCaller, ApiError> {
    let lang = lang_of(parts);
    let ip = source_ip(parts);
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(secret) = bearer {
        let (user, mut subject) =
            state.accounts.authenticate_token(secret).await.map_err(|e| ApiError::from_core(e, lang))?;
        if !subject.token_allows(is_unsafe(&parts.method)) {
            return Err(ApiError::from_core(CoreError::Forbidden("token scope".into()), lang));
        }
        subject.source_ip = ip;
        return Ok(AnyStageCaller { user, subject, session: None, lang });
    }
    let secret = cookie(parts, SESSION_COOKIE)
        .ok_or_else(|| ApiError::from_core(CoreError::Unauthenticated, lang))?
        .to_string();
    let (user, session, mut subject) =
        state.accounts.authenticate_session(&secret).await.map_err(|e| ApiError::from_core(e, lang))?;
    if is_unsafe(&parts.method) && !csrf_ok(parts) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_check_failed",
            crate::i18n::Translations::get(lang).text("error.csrf_check_failed"),
        ));
    }
    subject.source_ip = ip;
    Ok(AnyStageCaller { user, subject, session: Some(session), lang })
}

impl FromRequestParts<Arc<AppState>> for AnyStageCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        resolve(parts, state).await
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let c = resolve(parts, state).await?;
        if let Some(session) = &c.session {
            if session.stage != SessionStage::Full {
                return Err(ApiError::from_core(CoreError::PasswordChangeRequired, c.lang));
            }
        }
        Ok(Caller { user: c.user, subject: c.subject, session: c.session, lang: c.lang })
    }
}

/// For pages: the caller if signed in fully, else None (the page redirects to sign-in).
pub struct PageCaller(pub Option<Caller>, pub Lang, pub Option<SessionStage>);

impl FromRequestParts<Arc<AppState>> for PageCaller {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let lang = page_lang_of(parts);
        match resolve(parts, state).await {
            Ok(c) => match c.session.as_ref().map(|s| s.stage) {
                Some(SessionStage::Full) | None => Ok(PageCaller(
                    Some(Caller { user: c.user, subject: c.subject, session: c.session, lang }),
                    lang,
                    Some(SessionStage::Full),
                )),
                Some(stage) => Ok(PageCaller(None, lang, Some(stage))),
            },
            Err(_) => Ok(PageCaller(None, lang, None)),
        }
    }
}
