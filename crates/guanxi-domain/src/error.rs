//! Business failures a caller can act on. They travel to clients as `userErrors`
//! with a stable `code`, never as system errors.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The stable codes clients branch on. Adding one is fine; renaming one breaks clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// A value is malformed or out of range.
    Invalid,
    /// A required value is missing.
    Required,
    /// A value is already taken by another record (an email, a name).
    Duplicate,
    /// The record changed since the caller read it.
    VersionConflict,
    /// The record does not exist or the caller may not see it.
    NotFound,
    /// The change would make a record its own ancestor.
    Cycle,
    /// The record still has dependants (a department with users).
    NotEmpty,
    /// The operation is not allowed in the record's current state.
    IllegalState,
    /// A state machine does not allow this move from the record's state; the message
    /// lists the states it may move to.
    IllegalTransition,
    /// The write clashes with other records (a double-booked calendar).
    Conflict,
    /// An idempotency key was reused with a different input.
    IdempotencyKeyReused,
    /// Email or password did not match.
    InvalidCredentials,
    /// Too many failed attempts; try again later.
    RateLimited,
    /// The token is unknown, expired or revoked.
    InvalidToken,
    /// The caller lacks the function permission for this operation.
    Forbidden,
    /// A configured cap was reached (customers owned, claims a day).
    LimitReached,
    /// An operation this one depends on failed or was skipped, so it was not tried.
    DependencyFailed,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "INVALID",
            Self::Required => "REQUIRED",
            Self::Duplicate => "DUPLICATE",
            Self::VersionConflict => "VERSION_CONFLICT",
            Self::NotFound => "NOT_FOUND",
            Self::Cycle => "CYCLE",
            Self::NotEmpty => "NOT_EMPTY",
            Self::IllegalState => "ILLEGAL_STATE",
            Self::IllegalTransition => "ILLEGAL_TRANSITION",
            Self::Conflict => "CONFLICT",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::InvalidCredentials => "INVALID_CREDENTIALS",
            Self::RateLimited => "RATE_LIMITED",
            Self::InvalidToken => "INVALID_TOKEN",
            Self::Forbidden => "FORBIDDEN",
            Self::LimitReached => "LIMIT_REACHED",
            Self::DependencyFailed => "DEPENDENCY_FAILED",
        }
    }
}

/// One failure tied to an input field (`field` is a dotted path into the input, or
/// empty when the failure is about the whole input).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub code: ErrorCode,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self { field: field.into(), code, message: message.into() }
    }
}

/// A rejected input: one or more field errors. Nothing was written.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn one(field: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, code, message)])
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Collects the error of a parse step and keeps going, so one response lists every
    /// bad field instead of the first one only.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    /// `Ok(())` when nothing was collected.
    pub fn into_result(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

impl From<FieldError> for Invalid {
    fn from(error: FieldError) -> Self {
        Self(vec![error])
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for Invalid {}
