//! Strict reads at the persistence boundary: a stored status, enum or JSON value that
//! does not decode is [`StoreError::Corrupt`], naming the table, row and column. It is
//! never read as a default, which would turn corrupt data into wrong behaviour nobody
//! sees (a pool whose rules did not decode would silently stop reclaiming).

use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};

/// Where a stored value lives: table, row and column.
#[derive(Clone, Copy, Debug)]
pub struct Cell {
    pub table: &'static str,
    pub id: Uuid,
    pub column: &'static str,
}

impl Cell {
    pub fn of(table: &'static str, id: Uuid, column: &'static str) -> Self {
        Self { table, id, column }
    }

    fn corrupt(self, detail: String) -> StoreError {
        StoreError::Corrupt { table: self.table, id: self.id, column: self.column, detail }
    }

    /// A text value through its parser (`parse` returns `None` for text it does not know).
    pub fn text<T>(self, raw: &str, parse: impl FnOnce(&str) -> Option<T>) -> StoreResult<T> {
        parse(raw).ok_or_else(|| self.corrupt(format!("unknown value `{raw}`")))
    }

    /// An optional text value: `None` stays `None`, anything else must parse.
    pub fn optional_text<T>(self, raw: Option<&str>, parse: impl FnOnce(&str) -> Option<T>) -> StoreResult<Option<T>> {
        raw.map(|raw| self.text(raw, parse)).transpose()
    }

    /// A value that converts (a count that must not be negative, say).
    pub fn check<T, E: std::fmt::Display>(self, converted: Result<T, E>) -> StoreResult<T> {
        converted.map_err(|e| self.corrupt(e.to_string()))
    }

    /// A value that must be present is not (one of two columns must be set, say).
    pub fn missing(self) -> StoreError {
        self.corrupt("no value where one is required".into())
    }

    /// A JSON value of the expected shape.
    pub fn json<T: DeserializeOwned>(self, value: serde_json::Value) -> StoreResult<T> {
        serde_json::from_value(value).map_err(|e| self.corrupt(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_that_does_not_decode_names_its_table_row_and_column() {
        let id = Uuid::nil();
        let cell = Cell::of("pools", id, "rules");
        let error = cell.json::<Vec<u32>>(serde_json::json!({"not": "a list"})).err();
        let text = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("pools.rules") && text.contains(&id.to_string()), "{text}");
        let status = Cell::of("users", id, "status").text("ACTIV", |raw| (raw == "ACTIVE").then_some(1));
        assert!(matches!(status, Err(StoreError::Corrupt { column: "status", .. })));
        assert_eq!(Cell::of("users", id, "status").optional_text(None, |_| Some(1)).ok(), Some(None));
    }
}
