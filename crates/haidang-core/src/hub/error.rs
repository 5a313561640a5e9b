//! Errors of the data hub, as NGSI-LD names them (ETSI GS CIM 009 §5.5.2): the API answers them as
//! ProblemDetails with the standard's type URI, so any NGSI-LD client understands them.

use super::schema::Violation;
use crate::error::CoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    InvalidRequest,
    BadRequestData,
    AlreadyExists,
    OperationNotSupported,
    ResourceNotFound,
    InternalError,
    TooManyResults,
    LdContextNotAvailable,
    /// Not an NGSI-LD type: the caller may not do this (our access rules).
    Forbidden,
    Unauthenticated,
}

impl ErrorType {
    pub fn name(&self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "InvalidRequest",
            ErrorType::BadRequestData => "BadRequestData",
            ErrorType::AlreadyExists => "AlreadyExists",
            ErrorType::OperationNotSupported => "OperationNotSupported",
            ErrorType::ResourceNotFound => "ResourceNotFound",
            ErrorType::InternalError => "InternalError",
            ErrorType::TooManyResults => "TooManyResults",
            ErrorType::LdContextNotAvailable => "LdContextNotAvailable",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::Unauthenticated => "Unauthenticated",
        }
    }

    /// The type URI of the ProblemDetails.
    pub fn uri(&self) -> String {
        match self {
            ErrorType::Forbidden | ErrorType::Unauthenticated => {
                format!("https://haidang.dev/problems/{}", self.name())
            }
            _ => format!("https://uri.etsi.org/ngsi-ld/errors/{}", self.name()),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ErrorType::InvalidRequest | ErrorType::BadRequestData => 400,
            ErrorType::Unauthenticated => 401,
            ErrorType::TooManyResults | ErrorType::Forbidden => 403,
            ErrorType::ResourceNotFound => 404,
            ErrorType::AlreadyExists => 409,
            ErrorType::OperationNotSupported => 422,
            ErrorType::InternalError => 500,
            ErrorType::LdContextNotAvailable => 503,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HubError {
    pub kind: ErrorType,
    pub detail: String,
    /// For schema failures: each JSON pointer and rule.
    pub violations: Vec<Violation>,
}

impl std::fmt::Display for HubError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.detail)
    }
}

impl std::error::Error for HubError {}

impl HubError {
    pub fn new(kind: ErrorType, detail: impl Into<String>) -> HubError {
        HubError { kind, detail: detail.into(), violations: Vec::new() }
    }

    pub fn bad_data(detail: impl Into<String>) -> HubError {
        HubError::new(ErrorType::BadRequestData, detail)
    }

    pub fn invalid(detail: impl Into<String>) -> HubError {
        HubError::new(ErrorType::InvalidRequest, detail)
    }

    pub fn not_found(id: &str) -> HubError {
        HubError::new(ErrorType::ResourceNotFound, format!("{id} not found"))
    }

    pub fn schema(violations: Vec<Violation>) -> HubError {
        let detail = violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        HubError {
            kind: ErrorType::BadRequestData,
            detail: format!("the entity does not match its exchange data structure: {detail}"),
            violations,
        }
    }
}

impl From<CoreError> for HubError {
    fn from(e: CoreError) -> HubError {
        let kind = match &e {
            CoreError::Validation { .. }
            | CoreError::WeakPassword(_)
            | CoreError::TooLarge { .. }
            | CoreError::UnsupportedType(_) => ErrorType::BadRequestData,
            CoreError::NotFound { .. } => ErrorType::ResourceNotFound,
            CoreError::Conflict(_) => ErrorType::AlreadyExists,
            CoreError::Forbidden(_)
            | CoreError::AccountLocked { .. }
            | CoreError::AccountRevoked
            | CoreError::PasswordChangeRequired => ErrorType::Forbidden,
            CoreError::InvalidCredentials
            | CoreError::TotpRequired
            | CoreError::TotpInvalid
            | CoreError::Unauthenticated
            | CoreError::TokenInvalid => ErrorType::Unauthenticated,
            CoreError::Storage(_) | CoreError::Internal(_) => ErrorType::InternalError,
        };
        if e.is_internal() {
            tracing::error!(error = %e, "internal error in the data hub");
            return HubError::new(kind, "internal error; see the server log");
        }
        HubError::new(kind, e.to_string())
    }
}

pub type HubResult<T> = Result<T, HubError>;
