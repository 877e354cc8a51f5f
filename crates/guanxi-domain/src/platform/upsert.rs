//! Bulk upsert by external key (批量同步), for ERP and finance integrators: each row of a
//! call names its record by `(source, externalId)`; none stored creates, one updates. The
//! rules here are pure: how keys read, which rows of a call repeat a key, what a row's
//! outcome is, and how `ALL_OR_NOTHING` settles a call with a failed row.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{ErrorCode, FieldError, Invalid};

/// Most rows one call takes.
pub const MAX_ROWS: usize = 1_000;

/// What a call does when some of its rows fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mode {
    /// Writes the good rows; the failed ones report why.
    Partial,
    /// Writes nothing when any row fails; the good rows report `SKIPPED`.
    AllOrNothing,
}

/// What became of one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Created,
    Updated,
    /// The row matched the record as stored: nothing written, no version bumped.
    Unchanged,
    Failed,
    /// Good, but not written: another row of an `ALL_OR_NOTHING` call failed.
    Skipped,
}

/// One row's result, as the call answers it and as a replay answers it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RowResult {
    pub external_id: String,
    pub outcome: Outcome,
    /// The record, when the row created, updated or matched one.
    pub id: Option<Uuid>,
    pub errors: Vec<FieldError>,
}

impl RowResult {
    pub fn done(external_id: String, outcome: Outcome, id: Uuid) -> Self {
        Self { external_id, outcome, id: Some(id), errors: Vec::new() }
    }

    pub fn failed(external_id: String, invalid: Invalid) -> Self {
        Self { external_id, outcome: Outcome::Failed, id: None, errors: invalid.0 }
    }
}

/// An outside system's name: 1 to 40 letters, digits, dashes, underscores or dots.
pub fn parse_source(raw: &str) -> Result<String, FieldError> {
    let source = raw.trim();
    let valid = (1..=40).contains(&source.len())
        && source.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(source.to_owned())
    } else {
        Err(FieldError::new(
            "source",
            ErrorCode::Invalid,
            "a source is 1 to 40 letters, digits, dashes, underscores or dots",
        ))
    }
}

/// A record's key in its source: 1 to 200 characters, no control characters; outer
/// spaces are dropped (ERP exports pad codes).
pub fn parse_external_id(field: &str, raw: &str) -> Result<String, FieldError> {
    let key = raw.trim();
    if key.is_empty() || key.chars().count() > 200 || key.chars().any(char::is_control) {
        return Err(FieldError::new(field, ErrorCode::Invalid, "an external id is 1 to 200 characters"));
    }
    Ok(key.to_owned())
}

/// For each row, the earlier row of the call with the same key, if any: a key is written
/// once per call, so a repeat fails rather than racing its first copy.
pub fn repeats<K: Eq + std::hash::Hash>(keys: &[K]) -> Vec<Option<usize>> {
    let mut first = std::collections::HashMap::with_capacity(keys.len());
    let mut repeat_of = |(row, key)| match first.get(key) {
        Some(&earlier) => Some(earlier),
        None => {
            first.insert(key, row);
            None
        }
    };
    keys.iter().enumerate().map(&mut repeat_of).collect()
}

/// The failure of a row that repeats row `first`'s key.
pub fn repeated(first: usize) -> Invalid {
    Invalid::one("externalId", ErrorCode::Duplicate, format!("the same externalId is row {first} of this call"))
}

/// Settles a call's results: under `ALL_OR_NOTHING` a failed row turns every good row to
/// `SKIPPED`. Returns whether anything is to be written.
pub fn settle(mode: Mode, results: &mut [RowResult]) -> bool {
    let failed = results.iter().any(|r| r.outcome == Outcome::Failed);
    if failed && mode == Mode::AllOrNothing {
        for result in results.iter_mut().filter(|r| r.outcome != Outcome::Failed) {
            result.outcome = Outcome::Skipped;
            result.id = None;
        }
        return false;
    }
    results.iter().any(|r| matches!(r.outcome, Outcome::Created | Outcome::Updated))
}

/// A call's counts by outcome: created, updated, unchanged, failed, skipped.
pub fn counts(results: &[RowResult]) -> [usize; 5] {
    let mut n = [0; 5];
    for r in results {
        n[r.outcome as usize] += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(outcome: Outcome) -> RowResult {
        RowResult { external_id: "k".into(), outcome, id: Some(Uuid::nil()), errors: Vec::new() }
    }

    #[test]
    fn a_repeated_key_points_at_its_first_row() {
        assert_eq!(repeats(&["a", "b", "a", "a", "c"]), vec![None, None, Some(0), Some(0), None]);
    }

    #[test]
    fn keys_and_sources_are_checked() {
        assert_eq!(parse_external_id("externalId", "  C-001 "), Ok("C-001".to_owned()));
        assert!(parse_external_id("externalId", "   ").is_err());
        assert!(parse_external_id("externalId", &"x".repeat(201)).is_err());
        assert!(parse_external_id("externalId", "a\nb").is_err());
        assert_eq!(parse_source(" kingdee "), Ok("kingdee".to_owned()));
        assert!(parse_source("金蝶").is_err());
    }

    #[test]
    fn all_or_nothing_skips_the_good_rows_of_a_failed_call() {
        let mut rows = vec![row(Outcome::Created), row(Outcome::Failed), row(Outcome::Unchanged)];
        assert!(!settle(Mode::AllOrNothing, &mut rows));
        assert_eq!(
            rows.iter().map(|r| r.outcome).collect::<Vec<_>>(),
            [Outcome::Skipped, Outcome::Failed, Outcome::Skipped]
        );
        assert_eq!(rows[0].id, None);
        assert_eq!(counts(&rows), [0, 0, 0, 1, 2]);

        let mut rows = vec![row(Outcome::Created), row(Outcome::Failed)];
        assert!(settle(Mode::Partial, &mut rows));
        assert_eq!(rows[0].outcome, Outcome::Created);
        let mut rows = vec![row(Outcome::Unchanged)];
        assert!(!settle(Mode::Partial, &mut rows), "nothing to write");
    }
}
