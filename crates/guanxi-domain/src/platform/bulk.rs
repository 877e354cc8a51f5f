//! Bulk jobs (批量导入任务) for files of any size, after Salesforce's Bulk API 2.0: an
//! integrator creates a job for one kind of record, uploads a CSV or NDJSON file once, and
//! the server upserts it in the background, batch by batch, through the same path as an
//! `upsert<Kind>s` call. The rules here are pure: the states a job moves through, how a
//! CSV cell becomes a GraphQL input value, and how a row's failure reads in the failures
//! file.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::FieldError;

/// Rows in one batch: one upsert call's worth.
pub const BATCH_ROWS: usize = super::upsert::MAX_ROWS;
/// Attempts at one batch before the job fails (each attempt that dies with its replica or
/// hits a database error counts).
pub const MAX_BATCH_ATTEMPTS: i32 = 5;
/// The CSV cell that sets a field to null, as in Salesforce's bulk files (an empty cell
/// leaves the field as it is).
pub const NULL_CELL: &str = "#N/A";

/// What a job upserts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    Customer,
    Contact,
    Product,
    PricePolicy,
    /// Interactions from an outside channel (a call centre's records).
    Interaction,
}

impl JobKind {
    pub const ALL: [JobKind; 5] =
        [JobKind::Customer, JobKind::Contact, JobKind::Product, JobKind::PricePolicy, JobKind::Interaction];

    pub const fn as_str(self) -> &'static str {
        match self {
            JobKind::Customer => "CUSTOMER",
            JobKind::Contact => "CONTACT",
            JobKind::Product => "PRODUCT",
            JobKind::PricePolicy => "PRICE_POLICY",
            JobKind::Interaction => "INTERACTION",
        }
    }

    /// A job's source as the kind's upsert takes it: an outside system's name, and for
    /// interactions a channel's (not `manual`, no `_`).
    pub fn parse_source(self, raw: &str) -> Result<String, crate::FieldError> {
        let source = crate::platform::upsert::parse_source(raw)?;
        match self {
            JobKind::Interaction => crate::activity::interaction::parse_source("source", &source),
            _ => Ok(source),
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// The file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated, UTF-8 (a byte-order mark is skipped), a header row of field names.
    Csv,
    /// One JSON object per line, as the upsert call's record.
    Ndjson,
}

impl Format {
    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Ndjson => "NDJSON",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Format::Csv, Format::Ndjson].into_iter().find(|f| f.as_str() == raw)
    }
}

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    /// Created; waiting for its file.
    Open,
    /// Its file is arriving.
    Uploading,
    /// Its file is in; batches wait to be processed or are being processed.
    Queued,
    /// Every row was processed (some may have failed: see the counts).
    Completed,
    /// Stopped by an error of the job as a whole (its user lost the permission, a batch
    /// failed too often); rows already processed stay written.
    Failed,
    /// Stopped by its creator; rows already processed stay written.
    Aborted,
}

impl JobState {
    pub const ALL: [JobState; 6] = [
        JobState::Open,
        JobState::Uploading,
        JobState::Queued,
        JobState::Completed,
        JobState::Failed,
        JobState::Aborted,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            JobState::Open => "OPEN",
            JobState::Uploading => "UPLOADING",
            JobState::Queued => "QUEUED",
            JobState::Completed => "COMPLETED",
            JobState::Failed => "FAILED",
            JobState::Aborted => "ABORTED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether the job is over: nothing more happens to it.
    pub const fn is_final(self) -> bool {
        matches!(self, JobState::Completed | JobState::Failed | JobState::Aborted)
    }

    /// Whether its creator may still abort it.
    pub const fn may_abort(self) -> bool {
        !self.is_final()
    }
}

/// A job, with its progress.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: Uuid,
    pub kind: JobKind,
    pub format: Format,
    /// The system the file's keys come from.
    pub source: String,
    /// Customers only: write rows the duplicate check flags (the tenant's WARN policy).
    pub confirm_duplicates: bool,
    pub state: JobState,
    /// The user the job runs as, and the API key it was created with, if any: each batch
    /// runs with that key's role (or the user's) as it is when the batch runs.
    pub created_by: Uuid,
    pub api_key_id: Option<Uuid>,
    /// For a CSV file, its header row.
    pub columns: Vec<String>,
    pub total_rows: i64,
    pub batch_count: i32,
    pub processed_rows: i64,
    pub created_rows: i64,
    pub updated_rows: i64,
    pub unchanged_rows: i64,
    pub failed_rows: i64,
    /// Why the job failed, when it did.
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub uploaded_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub version: i32,
}

/// What one batch did, as the job's counts add it up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub processed: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
}

/// One failed row, as the failures file lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowFailure {
    /// The row's place in the file, from 1 (the CSV header not counted).
    pub row: i64,
    pub external_id: Option<String>,
    /// `field: message` per error, joined with `; `.
    pub error: String,
    /// The row as uploaded: the CSV cells, or the NDJSON line.
    pub record: RawRow,
}

/// One row of the file as it was uploaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawRow {
    Cells(Vec<String>),
    Line(String),
}

impl RawRow {
    /// The stored form: the cells as a JSON array, or the line as a JSON string.
    pub fn to_json(&self) -> Value {
        match self {
            RawRow::Cells(cells) => Value::from(cells.clone()),
            RawRow::Line(line) => Value::from(line.clone()),
        }
    }

    pub fn from_json(value: &Value) -> Self {
        match value {
            Value::Array(cells) => {
                RawRow::Cells(cells.iter().map(|c| c.as_str().unwrap_or_default().to_owned()).collect())
            }
            Value::String(line) => RawRow::Line(line.clone()),
            other => RawRow::Line(other.to_string()),
        }
    }
}

/// A row's errors as one line of the failures file.
pub fn error_text(errors: &[FieldError]) -> String {
    errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
}

/// The GraphQL type of an input field, as far as a CSV cell needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellType {
    String,
    Int,
    Float,
    Boolean,
    /// A list: a JSON array, or items separated by `;`.
    List,
    /// An input object or a JSON scalar: JSON text.
    Json,
}

impl CellType {
    /// The type of a field from its GraphQL type (`String!`, `[String!]`, `Int`, …);
    /// `object` says whether a named type is an input object or a JSON scalar.
    pub fn of(graphql_type: &str, object: impl Fn(&str) -> bool) -> Self {
        let named = graphql_type.trim_end_matches('!');
        if named.starts_with('[') {
            return CellType::List;
        }
        match named {
            "Int" => CellType::Int,
            "Float" => CellType::Float,
            "Boolean" => CellType::Boolean,
            "JSON" => CellType::Json,
            other if object(other) => CellType::Json,
            _ => CellType::String,
        }
    }
}

/// A CSV cell as the JSON value of its field: `None` for an empty cell (the field is
/// left out), `null` for [`NULL_CELL`]. Enums, IDs, dates and decimals stay strings, which
/// GraphQL's input coercion reads as it reads them from variables.
pub fn cell_value(ty: CellType, raw: &str) -> Result<Option<Value>, String> {
    let cell = raw.trim();
    if cell.is_empty() {
        return Ok(None);
    }
    if cell == NULL_CELL {
        return Ok(Some(Value::Null));
    }
    let value = match ty {
        CellType::String => Value::from(cell),
        CellType::Int => Value::from(cell.parse::<i64>().map_err(|_| format!("`{cell}` is not a whole number"))?),
        CellType::Float => {
            let n = cell.parse::<f64>().map_err(|_| format!("`{cell}` is not a number"))?;
            serde_json::Number::from_f64(n).map(Value::Number).ok_or_else(|| format!("`{cell}` is not a number"))?
        }
        CellType::Boolean => match cell.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "是" => Value::Bool(true),
            "false" | "0" | "no" | "否" => Value::Bool(false),
            _ => return Err(format!("`{cell}` is not true or false")),
        },
        CellType::List if cell.starts_with('[') => {
            serde_json::from_str(cell).map_err(|e| format!("not a JSON list: {e}"))?
        }
        CellType::List => Value::from(
            cell.split([';', '；']).map(str::trim).filter(|s| !s.is_empty()).map(Value::from).collect::<Vec<_>>(),
        ),
        CellType::Json => serde_json::from_str(cell).map_err(|e| format!("not JSON: {e}"))?,
    };
    Ok(Some(value))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_read_as_their_fields_types() {
        assert_eq!(cell_value(CellType::String, "  上海华新  ").unwrap(), Some(json!("上海华新")));
        assert_eq!(cell_value(CellType::String, "").unwrap(), None);
        assert_eq!(cell_value(CellType::Int, " ").unwrap(), None);
        assert_eq!(cell_value(CellType::String, "#N/A").unwrap(), Some(Value::Null));
        assert_eq!(cell_value(CellType::Int, "12").unwrap(), Some(json!(12)));
        assert!(cell_value(CellType::Int, "12.5").unwrap_err().contains("whole number"));
        assert_eq!(cell_value(CellType::Float, "2.5").unwrap(), Some(json!(2.5)));
        assert_eq!(cell_value(CellType::Boolean, "是").unwrap(), Some(json!(true)));
        assert!(cell_value(CellType::Boolean, "maybe").is_err());
        assert_eq!(cell_value(CellType::List, "大客户; 华东；").unwrap(), Some(json!(["大客户", "华东"])));
        assert_eq!(cell_value(CellType::List, r#"[{"minQuantity": 10}]"#).unwrap(), Some(json!([{"minQuantity": 10}])));
        assert_eq!(cell_value(CellType::Json, r#"{"a": 1}"#).unwrap(), Some(json!({"a": 1})));
        assert!(cell_value(CellType::Json, "{oops").unwrap_err().starts_with("not JSON"));
    }

    #[test]
    fn graphql_types_name_the_cell_type() {
        let objects = |name: &str| name.ends_with("Input");
        assert_eq!(CellType::of("String!", objects), CellType::String);
        assert_eq!(CellType::of("Int", objects), CellType::Int);
        assert_eq!(CellType::of("[String!]", objects), CellType::List);
        assert_eq!(CellType::of("JSON", objects), CellType::Json);
        assert_eq!(CellType::of("PriceBreakInput", objects), CellType::Json);
        assert_eq!(CellType::of("CustomerLevel", objects), CellType::String);
    }

    #[test]
    fn states_and_errors_read_as_the_api_says() {
        assert!(JobState::Completed.is_final() && !JobState::Queued.is_final());
        assert!(JobState::Uploading.may_abort() && !JobState::Aborted.may_abort());
        for state in JobState::ALL {
            assert_eq!(JobState::parse(state.as_str()), Some(state));
        }
        let errors = [
            FieldError::new("name", crate::ErrorCode::Required, "a name is needed"),
            FieldError::new("taxId", crate::ErrorCode::Invalid, "not a tax id"),
        ];
        assert_eq!(error_text(&errors), "name: a name is needed; taxId: not a tax id");
        let row = RawRow::Cells(vec!["KD1".into(), "".into()]);
        assert_eq!(RawRow::from_json(&row.to_json()), row);
    }
}
