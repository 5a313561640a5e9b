//! Accounts and their lifecycle, API tokens and acting officers (delegations).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use haidang_core::accounts::admin::{CreateOptions, IssuedToken, UnusedAccount};
use haidang_core::accounts::{
    ApiToken, Delegation, LifecycleEvent, LifecycleKind, LifecycleRequest, NewUser, User,
};
use haidang_core::CoreError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::JsonBody;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// All accounts.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = serde_json::Value)))]
pub async fn list_users(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Vec<User>>> {
    state
        .accounts
        .list_users(&caller.subject)
        .await
        .map(Json)
        .map_err(|e| ApiError::from_core(e, caller.lang))
}

/// Issues an account. The owner must change the password at first sign-in (and, for admin and
/// supervisor, enrol TOTP).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = serde_json::Value,
    responses((status = 201, body = serde_json::Value), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)))]
pub async fn create_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<NewUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let user = state
        .accounts
        .create_user(&caller.subject, body, CreateOptions::default())
        .await
        .map_err(|e| ApiError::from_core(e, caller.lang))?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Deserialize, IntoParams)]
pub struct UnusedQuery {
    /// Days without sign-in; default 90.
    pub days: Option<i64>,
}

/// Active accounts unused for 90 days (or `days`), for the periodic review.
#[utoipa::path(get, path = "/api/v1/users/unused", tag = "users", params(UnusedQuery),
    responses((status = 200, body = serde_json::Value)))]
pub async fn unused_users(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<UnusedQuery>,
) -> ApiResult<Json<Vec<UnusedAccount>>> {
    state
        .accounts
        .unused_accounts(&caller.subject, q.days.unwrap_or(90))
        .await
        .map(Json)
        .map_err(|e| ApiError::from_core(e, caller.lang))
}

#[derive(Serialize, ToSchema)]
pub struct UserDetail {
    #[schema(value_type = Object)]
    pub user: User,
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<LifecycleEvent>,
}

/// One account with its lifecycle history.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path, description = "id or username")),
    responses((status = 200, body = UserDetail), (status = 404, body = crate::error::Problem)))]
pub async fn get_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<UserDetail>> {
    let lang = caller.lang;
    caller
        .subject
        .require(haidang_core::accounts::Action::ViewUsers, None)
        .map_err(|e| ApiError::from_core(e, lang))?;
    let user = state.accounts.find_user(&id).await.map_err(|e| ApiError::from_core(e, lang))?;
    let events = state
        .accounts
        .lifecycle_of(&caller.subject, &user.id)
        .await
        .map_err(|e| ApiError::from_core(e, lang))?;
    Ok(Json(UserDetail { user, events }))
}

#[derive(Deserialize, ToSchema)]
pub struct LifecycleBody {
    pub reason: String,
    /// Reference of the written request ("số văn bản đề nghị").
    pub request_ref: String,
}

async fn change(
    state: &AppState,
    caller: &Caller,
    id: &str,
    kind: LifecycleKind,
    body: LifecycleBody,
) -> ApiResult<Json<User>> {
    let req = LifecycleRequest { reason: body.reason, request_ref: body.request_ref };
    state
        .accounts
        .change_status(&caller.subject, id, kind, &req)
        .await
        .map(Json)
        .map_err(|e| ApiError::from_core(e, caller.lang))
}

/// Locks an account; its sessions and tokens end at once.
#[utoipa::path(post, path = "/api/v1/users/{id}/lock", tag = "users", params(("id" = String, Path)), request_body = LifecycleBody,
    responses((status = 200, body = serde_json::Value), (status = 409, body = crate::error::Problem)))]
pub async fn lock_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<LifecycleBody>,
) -> ApiResult<Json<User>> {
    change(&state, &caller, &id, LifecycleKind::Lock, body).await
}

/// Unlocks a locked account.
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users", params(("id" = String, Path)), request_body = LifecycleBody,
    responses((status = 200, body = serde_json::Value), (status = 409, body = crate::error::Problem)))]
pub async fn unlock_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<LifecycleBody>,
) -> ApiResult<Json<User>> {
    change(&state, &caller, &id, LifecycleKind::Unlock, body).await
}

/// Revokes an account for good; its sessions and tokens end at once.
#[utoipa::path(post, path = "/api/v1/users/{id}/revoke", tag = "users", params(("id" = String, Path)), request_body = LifecycleBody,
    responses((status = 200, body = serde_json::Value), (status = 409, body = crate::error::Problem)))]
pub async fn revoke_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<LifecycleBody>,
) -> ApiResult<Json<User>> {
    change(&state, &caller, &id, LifecycleKind::Revoke, body).await
}

#[derive(Deserialize, ToSchema)]
pub struct ResetBody {
    pub new_password: String,
    pub reason: String,
    pub request_ref: String,
}

/// Sets a new password the owner must change at next sign-in.
#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "users", params(("id" = String, Path)), request_body = ResetBody,
    responses((status = 204), (status = 422, body = crate::error::Problem)))]
pub async fn reset_password(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ResetBody>,
) -> ApiResult<StatusCode> {
    let req = LifecycleRequest { reason: body.reason, request_ref: body.request_ref };
    state
        .accounts
        .reset_password(&caller.subject, &id, &body.new_password, &req)
        .await
        .map_err(|e| ApiError::from_core(e, caller.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct TokenQuery {
    /// Only this user's tokens (id or username).
    pub user: Option<String>,
}

/// API tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(TokenQuery), responses((status = 200, body = serde_json::Value)))]
pub async fn list_tokens(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<TokenQuery>,
) -> ApiResult<Json<Vec<ApiToken>>> {
    state
        .accounts
        .list_tokens(&caller.subject, q.user.as_deref().filter(|u| !u.is_empty()))
        .await
        .map(Json)
        .map_err(|e| ApiError::from_core(e, caller.lang))
}

#[derive(Deserialize, ToSchema)]
pub struct IssueTokenBody {
    /// Account (id or username) the token acts as.
    pub user: String,
    #[serde(default)]
    pub label: String,
    /// Scopes, e.g. ["read"] or ["read", "write"]; a comma-separated string is accepted too.
    pub scopes: ScopeList,
    /// Lifetime such as "90d", "12h"; default 90 days.
    pub expires_in: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ScopeList {
    List(Vec<String>),
    Text(String),
}

impl ScopeList {
    fn into_vec(self) -> Vec<String> {
        match self {
            ScopeList::List(v) => v,
            ScopeList::Text(t) => {
                t.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
            }
        }
    }
}

/// Issues a token; the secret is in the response once and never again.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = IssueTokenBody,
    responses((status = 201, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn issue_token(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<IssueTokenBody>,
) -> ApiResult<(StatusCode, Json<IssuedToken>)> {
    let lang = caller.lang;
    let expires_in = match body.expires_in.as_deref().filter(|e| !e.is_empty()) {
        None => jiff::SignedDuration::from_hours(24 * 90),
        Some(text) => haidang_core::time::parse_duration(text).ok_or_else(|| {
            ApiError::from_core(
                CoreError::validation("expires_in", format!("'{text}' is not a duration like 90d or 12h")),
                lang,
            )
        })?,
    };
    let issued = state
        .accounts
        .issue_token(&caller.subject, &body.user, &body.label, &body.scopes.into_vec(), expires_in)
        .await
        .map_err(|e| ApiError::from_core(e, lang))?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// Revokes a token at once.
#[utoipa::path(post, path = "/api/v1/tokens/{id}/revoke", tag = "tokens", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn revoke_token(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .accounts
        .revoke_token(&caller.subject, &id)
        .await
        .map_err(|e| ApiError::from_core(e, caller.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delegations: who acts for whom, when.
#[utoipa::path(get, path = "/api/v1/delegations", tag = "users", responses((status = 200, body = serde_json::Value)))]
pub async fn list_delegations(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<Vec<Delegation>>> {
    state
        .accounts
        .list_delegations(&caller.subject)
        .await
        .map(Json)
        .map_err(|e| ApiError::from_core(e, caller.lang))
}

#[derive(Deserialize, ToSchema)]
pub struct DelegationBody {
    /// The absent user (id or username).
    pub principal: String,
    /// The user who acts for them.
    pub acting: String,
    /// RFC 3339 time, e.g. 2026-11-24T00:00:00+07:00.
    pub starts_at: String,
    pub ends_at: String,
    pub reason: String,
    pub request_ref: String,
}

/// Lets a user act for another for a period.
#[utoipa::path(post, path = "/api/v1/delegations", tag = "users", request_body = DelegationBody,
    responses((status = 201, body = serde_json::Value), (status = 422, body = crate::error::Problem)))]
pub async fn create_delegation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<DelegationBody>,
) -> ApiResult<(StatusCode, Json<Delegation>)> {
    let lang = caller.lang;
    let parse = |field: &str, text: &str| -> ApiResult<jiff::Timestamp> {
        super::time_param(field, text).map_err(|e| ApiError::from_core(e, lang))
    };
    let starts = parse("starts_at", &body.starts_at)?;
    let ends = parse("ends_at", &body.ends_at)?;
    let req = LifecycleRequest { reason: body.reason, request_ref: body.request_ref };
    let d = state
        .accounts
        .create_delegation(&caller.subject, &body.principal, &body.acting, starts, ends, &req)
        .await
        .map_err(|e| ApiError::from_core(e, lang))?;
    Ok((StatusCode::CREATED, Json(d)))
}
