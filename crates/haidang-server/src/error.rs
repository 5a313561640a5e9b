//! Every `/api/v1` error is an RFC 9457 problem+json body with a stable `code`. Messages shown to
//! users are translated; the cause of an internal error goes to the log only.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use haidang_core::CoreError;
use serde::Serialize;

use crate::i18n::{Lang, Translations};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable snake_case code clients can rely on.
    pub code: String,
    /// The request field at fault, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError { status, code, detail: detail.into(), field: None }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// Translates a domain error; `lang` picks the language of the detail text.
    pub fn from_core(e: CoreError, lang: Lang) -> Self {
        let tr = Translations::get(lang);
        let status = match &e {
            CoreError::Validation { .. } | CoreError::WeakPassword(_) => StatusCode::UNPROCESSABLE_ENTITY,
            CoreError::NotFound { .. } => StatusCode::NOT_FOUND,
            CoreError::Conflict(_) => StatusCode::CONFLICT,
            CoreError::InvalidCredentials
            | CoreError::TotpRequired
            | CoreError::TotpInvalid
            | CoreError::Unauthenticated
            | CoreError::TokenInvalid => StatusCode::UNAUTHORIZED,
            CoreError::AccountLocked { .. }
            | CoreError::AccountRevoked
            | CoreError::Forbidden(_)
            | CoreError::PasswordChangeRequired => StatusCode::FORBIDDEN,
            CoreError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            CoreError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            CoreError::Storage(_) | CoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if e.is_internal() {
            tracing::error!(error = %e, "internal error");
        }
        let key = format!("error.{}", e.code());
        let mut detail = tr.text(&key).to_string();
        match &e {
            // The field is named in the text too: not every client reads the `field` member.
            // The field by its label in the user's language (the code when it has none).
            CoreError::Validation { field, message } => {
                let label_key = format!("field.{field}");
                let label = match tr.text(&label_key) {
                    same if same == label_key => field.as_str(),
                    label => label,
                };
                detail = format!("{detail}: {label}: {}", crate::messages::translate(lang, message));
            }
            CoreError::WeakPassword(rule) => {
                let text = tr.text(&format!("password_rule.{}", rule.code())).to_string();
                let min = match rule {
                    haidang_core::PasswordRule::TooShort { min } => *min,
                    _ => 0,
                };
                detail = format!("{detail}: {}", text.replace("{min}", &min.to_string()));
            }
            CoreError::Conflict(message) | CoreError::Forbidden(message) => {
                detail = format!("{detail} ({message})");
            }
            CoreError::NotFound { what } => detail = format!("{detail}: {what}"),
            CoreError::TooLarge { max_bytes } => {
                detail = format!("{detail} (≤ {} MB)", max_bytes / (1024 * 1024));
            }
            CoreError::UnsupportedType(what) => detail = format!("{detail} ({what})"),
            CoreError::AccountLocked { until: Some(until) } => {
                detail = format!("{detail} {}", haidang_core::time::format_local(*until));
            }
            _ => {}
        }
        let field = match &e {
            CoreError::Validation { field, .. } => Some(field.clone()),
            CoreError::WeakPassword(_) => Some("password".to_string()),
            _ => None,
        };
        ApiError { status, code: e.code(), detail, field }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error").to_string();
        let body = Problem {
            kind: format!("https://haidang.dev/problems/{}", self.code),
            title,
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code.to_string(),
            field: self.field,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        (self.status, [(header::CONTENT_TYPE, "application/problem+json")], json).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
