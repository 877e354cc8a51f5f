//! Store errors: a business failure the caller can show, or a system failure to log.

use guanxi_domain::{ErrorCode, FieldError, Invalid};
use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The input or the record's state does not allow the write; nothing was written.
    #[error("rejected: {0}")]
    Rejected(#[from] Invalid),
    /// The record does not exist for this caller (missing, other tenant, or out of scope).
    #[error("not found")]
    NotFound,
    /// A stored value that does not decode (an unknown status, a JSON setting of the
    /// wrong shape): never read as a default. The text names the table, row and column,
    /// for the logs; the client sees `INTERNAL`.
    #[error("corrupt value in {table}.{column} of row {id}: {detail}")]
    Corrupt { table: &'static str, id: uuid::Uuid, column: &'static str, detail: String },
    /// Anything else. The text is for logs only.
    #[error("database: {0}")]
    Database(#[from] DbErr),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    pub fn rejected(field: &str, code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Rejected(Invalid::one(field, code, message))
    }

    pub fn version_conflict(expected: i32, actual: i32) -> Self {
        Self::rejected(
            "expectedVersion",
            ErrorCode::VersionConflict,
            format!("the record is at version {actual}, not {expected}: reload and try again"),
        )
    }
}

impl From<FieldError> for StoreError {
    fn from(error: FieldError) -> Self {
        Self::Rejected(error.into())
    }
}

/// Turns a unique-key violation into a `DUPLICATE` failure on `field`; other errors pass.
pub fn on_unique(error: DbErr, field: &str, message: &str) -> StoreError {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::rejected(field, ErrorCode::Duplicate, message),
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
            StoreError::rejected(field, ErrorCode::NotFound, "a referenced record does not exist")
        }
        _ => StoreError::Database(error),
    }
}
