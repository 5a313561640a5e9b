//! Sign-in, sign-out, the signed-in user, first-sign-in password change and TOTP enrolment.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use haidang_core::accounts::{LoginRequest, SessionStage};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::JsonBody;
use crate::auth::{AnyStageCaller, RequestLang, SourceIp, SESSION_COOKIE};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
    /// Six-digit code from the authenticator app, for accounts with a second factor.
    pub totp_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// What the console shows next: "home", "change_password" or "enrol_totp".
    pub next: String,
    pub username: String,
    pub role: String,
}

fn next_of(stage: SessionStage) -> &'static str {
    match stage {
        SessionStage::Full => "home",
        SessionStage::ChangePassword => "change_password",
        SessionStage::EnrolTotp => "enrol_totp",
    }
}

pub(crate) fn session_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.config.tls_enabled() { "; Secure" } else { "" };
    let cookie =
        format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("hd_session=; Path=/"))
}

/// Signs in with username and password (and TOTP code when enrolled); sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::Problem),
              (status = 403, body = crate::error::Problem)))]
pub async fn login(
    State(state): State<Arc<AppState>>,
    RequestLang(lang): RequestLang,
    SourceIp(ip): SourceIp,
    JsonBody(body): JsonBody<LoginBody>,
) -> ApiResult<Response> {
    let outcome = state
        .accounts
        .login(LoginRequest {
            username: body.username.trim().to_lowercase(),
            password: body.password,
            totp_code: body.totp_code,
            source_ip: ip,
        })
        .await
        .map_err(|e| ApiError::from_core(e, lang))?;
    let max_age = state.accounts.settings().session_lifetime.as_secs();
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, session_cookie(&state, &outcome.secret, max_age));
    let body = LoginResponse {
        next: next_of(outcome.session.stage).into(),
        username: outcome.user.username,
        role: outcome.user.role.as_str().into(),
    };
    Ok((headers, Json(body)).into_response())
}

/// Ends the session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(State(state): State<Arc<AppState>>, caller: AnyStageCaller) -> ApiResult<Response> {
    if let Some(session) = &caller.session {
        state
            .accounts
            .logout(session, &caller.subject)
            .await
            .map_err(|e| ApiError::from_core(e, caller.lang))?;
    }
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub org_id: String,
    pub stage: String,
    pub totp_enabled: bool,
    /// Principals this user acts for right now (delegations).
    pub acting_for: Vec<String>,
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, body = Me)))]
pub async fn me(caller: AnyStageCaller) -> Json<Me> {
    Json(Me {
        id: caller.user.id.clone(),
        username: caller.user.username.clone(),
        display_name: caller.user.display_name.clone(),
        role: caller.user.role.as_str().into(),
        org_id: caller.user.org_id.clone(),
        stage: caller.session.map(|s| s.stage.as_str().to_string()).unwrap_or_else(|| "token".into()),
        totp_enabled: caller.user.totp_enabled,
        acting_for: caller.subject.acting_for.iter().map(|a| a.principal_id.clone()).collect(),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordBody {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Serialize, ToSchema)]
pub struct NextStep {
    pub next: String,
}

/// Changes the signed-in user's own password (required at first sign-in).
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = PasswordBody,
    responses((status = 200, body = NextStep), (status = 422, body = crate::error::Problem)))]
pub async fn change_password(
    State(state): State<Arc<AppState>>,
    caller: AnyStageCaller,
    JsonBody(body): JsonBody<PasswordBody>,
) -> ApiResult<Json<NextStep>> {
    let session = caller
        .session
        .as_ref()
        .ok_or_else(|| ApiError::bad_request("session_required", "sign in with a password"))?;
    let stage = state
        .accounts
        .change_own_password(
            &caller.user,
            session,
            &caller.subject,
            &body.current_password,
            &body.new_password,
        )
        .await
        .map_err(|e| ApiError::from_core(e, caller.lang))?;
    Ok(Json(NextStep { next: next_of(stage).into() }))
}

#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32 secret to type into an authenticator app.
    pub secret: String,
    /// otpauth:// URI (for a QR code).
    pub uri: String,
}

/// Starts enrolling a TOTP second factor.
#[utoipa::path(post, path = "/api/v1/auth/totp/enrol", tag = "auth", responses((status = 200, body = TotpEnrolment)))]
pub async fn totp_enrol(
    State(state): State<Arc<AppState>>,
    caller: AnyStageCaller,
) -> ApiResult<Json<TotpEnrolment>> {
    let (secret, uri) =
        state.accounts.begin_totp(&caller.user).await.map_err(|e| ApiError::from_core(e, caller.lang))?;
    Ok(Json(TotpEnrolment { secret, uri }))
}

#[derive(Deserialize, ToSchema)]
pub struct TotpConfirmBody {
    pub code: String,
}

/// Confirms TOTP enrolment with a first code.
#[utoipa::path(post, path = "/api/v1/auth/totp/confirm", tag = "auth", request_body = TotpConfirmBody,
    responses((status = 200, body = NextStep), (status = 401, body = crate::error::Problem)))]
pub async fn totp_confirm(
    State(state): State<Arc<AppState>>,
    caller: AnyStageCaller,
    JsonBody(body): JsonBody<TotpConfirmBody>,
) -> ApiResult<Json<NextStep>> {
    let session = caller
        .session
        .as_ref()
        .ok_or_else(|| ApiError::bad_request("session_required", "sign in with a password"))?;
    state
        .accounts
        .confirm_totp(&caller.user.id, session, &caller.subject, &body.code)
        .await
        .map_err(|e| ApiError::from_core(e, caller.lang))?;
    Ok(Json(NextStep { next: "home".into() }))
}
