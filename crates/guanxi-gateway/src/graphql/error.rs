//! The one table that maps every failure to what a client sees.
//!
//! Top-level errors (`errors[].extensions.code`) are for authentication, permission and
//! system failures and for malformed requests. Business failures travel in a payload's
//! `userErrors`. Database text is logged with the request id and never sent.

use async_graphql::{ErrorExtensions, SimpleObject};
use guanxi_domain::{ErrorCode, Invalid};
use guanxi_store::StoreError;

/// The top-level error codes clients branch on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    Unauthenticated(String),
    Forbidden(String),
    NotFound,
    BadUserInput(String),
    Conflict(String),
    RateLimited(String),
    /// A delta-feed cursor older than the feed keeps.
    CursorExpired(String),
    Internal,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput(_) => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited(_) => "RATE_LIMITED",
            Self::CursorExpired(_) => "CURSOR_EXPIRED",
            Self::Internal => "INTERNAL",
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::BadUserInput(m)
            | Self::Conflict(m)
            | Self::RateLimited(m)
            | Self::CursorExpired(m) => m.clone(),
            Self::NotFound => "not found".into(),
            Self::Internal => "internal error; the request id is in the x-request-id header".into(),
        }
    }

    /// Logs an unexpected failure and returns the opaque `INTERNAL` error.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        Self::Internal
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        let code = error.code();
        async_graphql::Error::new(error.message()).extend_with(|_, e| e.set("code", code))
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::Rejected(invalid) => Self::BadUserInput(invalid.to_string()),
            corrupt @ StoreError::Corrupt { .. } => Self::internal(corrupt),
            StoreError::Database(e) => Self::internal(e),
        }
    }
}

impl From<guanxi_store::DbErr> for ApiError {
    fn from(error: guanxi_store::DbErr) -> Self {
        Self::internal(error)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A business failure, tied to an input field.
#[derive(SimpleObject, Clone, Debug)]
pub struct UserError {
    /// The input field at fault (`email`, `parentId`), or null for the whole input.
    pub field: Option<String>,
    /// Human-readable, for the person at the keyboard.
    pub message: String,
    /// Stable code to branch on: INVALID, REQUIRED, DUPLICATE, VERSION_CONFLICT,
    /// NOT_FOUND, CYCLE, NOT_EMPTY, ILLEGAL_STATE, IDEMPOTENCY_KEY_REUSED,
    /// INVALID_CREDENTIALS, RATE_LIMITED, INVALID_TOKEN, FORBIDDEN, LIMIT_REACHED,
    /// DEPENDENCY_FAILED.
    pub code: String,
}

impl UserError {
    pub fn new(field: &str, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: (!field.is_empty()).then(|| field.to_owned()),
            message: message.into(),
            code: code.as_str().to_owned(),
        }
    }

    pub fn all(invalid: Invalid) -> Vec<Self> {
        invalid.0.into_iter().map(|e| Self::new(&e.field, e.code, e.message)).collect()
    }
}

/// The result of a mutation's work: the record, or the user errors that stopped it.
pub type Outcome<T> = Result<T, Vec<UserError>>;

/// A mutation's payload taken apart: the record it wrote, or the errors that refused it
/// (how `syncPush` reports the mutations it runs).
pub trait Written {
    type Record;
    fn into_parts(self) -> (Option<Self::Record>, Vec<UserError>);
}

/// A mutation's payload: the record it wrote (wrapped in its GraphQL type) or the user
/// errors that refused it. `payload! { /// docs  ContactPayload, contact: Contact(DomainContact) }`.
macro_rules! payload {
    ($(#[$meta:meta])* $name:ident, $field:ident: $wrap:ident($domain:ty)) => {
        $(#[$meta])*
        #[derive(async_graphql::SimpleObject)]
        pub struct $name {
            $field: Option<$wrap>,
            user_errors: Vec<$crate::graphql::error::UserError>,
        }

        impl From<$crate::graphql::error::Outcome<$domain>> for $name {
            fn from(outcome: $crate::graphql::error::Outcome<$domain>) -> Self {
                match outcome {
                    Ok(value) => Self { $field: Some($wrap(value)), user_errors: vec![] },
                    Err(errors) => Self { $field: None, user_errors: errors },
                }
            }
        }

        impl $crate::graphql::error::Written for $name {
            type Record = $wrap;
            fn into_parts(self) -> (Option<$wrap>, Vec<$crate::graphql::error::UserError>) {
                (self.$field, self.user_errors)
            }
        }
    };
}
pub(crate) use payload;

/// Sorts a store result into a business outcome or a top-level error.
pub fn outcome<T>(result: Result<T, StoreError>) -> Result<Outcome<T>, ApiError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(StoreError::Rejected(invalid)) => Ok(Err(UserError::all(invalid))),
        Err(StoreError::NotFound) => Ok(Err(vec![UserError::new("id", ErrorCode::NotFound, "no such record")])),
        Err(corrupt @ StoreError::Corrupt { .. }) => Err(ApiError::internal(corrupt)),
        Err(StoreError::Database(e)) => Err(ApiError::internal(e)),
    }
}
