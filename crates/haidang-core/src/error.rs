//! The one error type of the domain. Every variant has a stable snake_case code that clients and
//! the console rely on; the cause of an internal failure is kept for the logs and never shown.

use thiserror::Error;

pub type CoreResult<T> = Result<T, CoreError>;

#[derive(Debug, Error)]
pub enum CoreError {
    /// Bad input: `field` names what was wrong so a form can point at it.
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{0}")]
    Conflict(String),
    /// Wrong username or password; deliberately does not say which.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("account locked")]
    AccountLocked { until: Option<jiff::Timestamp> },
    #[error("account revoked")]
    AccountRevoked,
    #[error("a TOTP code is required")]
    TotpRequired,
    #[error("the TOTP code is not valid")]
    TotpInvalid,
    #[error("the password must be changed first")]
    PasswordChangeRequired,
    #[error("sign-in required")]
    Unauthenticated,
    #[error("the token is invalid, expired or revoked")]
    TokenInvalid,
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("password rejected: {0}")]
    WeakPassword(PasswordRule),
    /// An upload larger than its kind allows (HTTP 413).
    #[error("too large: at most {max_bytes} bytes")]
    TooLarge { max_bytes: usize },
    /// An upload of a type not taken (HTTP 415): what was sent is named for the user.
    #[error("unsupported type: {0}")]
    UnsupportedType(String),
    /// The store failed; the message is for logs only.
    #[error("storage error: {0}")]
    Storage(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Which password rule was broken; the console shows it in the user's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRule {
    TooShort { min: usize },
    ContainsUsername,
    Repetitive,
    Common,
}

impl PasswordRule {
    /// Stable code, also the translation key under `password_rule.`.
    pub fn code(&self) -> &'static str {
        match self {
            PasswordRule::TooShort { .. } => "too_short",
            PasswordRule::ContainsUsername => "contains_username",
            PasswordRule::Repetitive => "repetitive",
            PasswordRule::Common => "common",
        }
    }
}

impl std::fmt::Display for PasswordRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordRule::TooShort { min } => write!(f, "must have at least {min} characters"),
            PasswordRule::ContainsUsername => write!(f, "must not contain the username"),
            PasswordRule::Repetitive => write!(f, "is too repetitive"),
            PasswordRule::Common => write!(f, "is in the list of common passwords"),
        }
    }
}

impl CoreError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        CoreError::Validation { field: field.into(), message: message.into() }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        CoreError::NotFound { what: what.into() }
    }

    /// The stable code clients rely on.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::Validation { .. } => "validation_failed",
            CoreError::NotFound { .. } => "not_found",
            CoreError::Conflict(_) => "conflict",
            CoreError::InvalidCredentials => "invalid_credentials",
            CoreError::AccountLocked { .. } => "account_locked",
            CoreError::AccountRevoked => "account_revoked",
            CoreError::TotpRequired => "totp_required",
            CoreError::TotpInvalid => "totp_invalid",
            CoreError::PasswordChangeRequired => "password_change_required",
            CoreError::Unauthenticated => "unauthenticated",
            CoreError::TokenInvalid => "token_invalid",
            CoreError::Forbidden(_) => "forbidden",
            CoreError::WeakPassword(_) => "weak_password",
            CoreError::TooLarge { .. } => "body_too_large",
            CoreError::UnsupportedType(_) => "unsupported_media_type",
            CoreError::Storage(_) => "storage_error",
            CoreError::Internal(_) => "internal_error",
        }
    }

    /// Whether the message may be shown to a user (internal causes never are).
    pub fn is_internal(&self) -> bool {
        matches!(self, CoreError::Storage(_) | CoreError::Internal(_))
    }
}
