//! The shape of a change record: what one write did to one record.
//!
//! Every write appends one of these in the same transaction (see the store's `audit`
//! module), so a record's history and the tenant's change feed are never out of step
//! with the data.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::entity::EntityKind;

text_enum! {
    /// What kind of write it was.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum Operation {
        Create => "CREATE";
        Update => "UPDATE";
        Delete => "DELETE";
        Restore => "RESTORE";
        Disable => "DISABLE";
        Enable => "ENABLE";
        Revoke => "REVOKE";
        Login => "LOGIN";
        PasswordChange => "PASSWORD_CHANGE";
        Merge => "MERGE";
        Copy => "COPY";
        /// A rep took a customer from a public pool (拾取).
        Claim => "CLAIM";
        /// The owner gave a customer back to a pool (放弃).
        Release => "RELEASE";
        /// The pool took a neglected customer back (回收).
        Reclaim => "RECLAIM";
        /// A pool admin gave a pool customer to a rep (分配).
        Assign => "ASSIGN";
        /// Customers changed hands by a transfer or a handover (转移, 离职交接).
        Transfer => "TRANSFER";
        /// A lead became a customer (线索转化).
        Convert => "CONVERT";
    }
}

/// One changed field, old → new.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

/// One write to one record, as the change log holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeEvent {
    /// The tenant-wide sequence: strictly increasing in commit order.
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub entity: EntityKind,
    pub entity_id: Uuid,
    pub operation: Operation,
    pub changes: Vec<FieldChange>,
    /// The user who wrote it; `None` for the system.
    pub actor_user_id: Option<Uuid>,
    /// Set when the write came through an API key.
    pub actor_api_key_id: Option<Uuid>,
    /// Set when a customer's contact wrote through the self-service portal.
    pub actor_contact_id: Option<Uuid>,
    pub request_id: Option<String>,
}

/// The changed fields of one write. Fields whose value did not change are left out, so
/// an update that changes nothing records nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ChangeSet(Vec<FieldChange>);

impl ChangeSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `field` if `old` and `new` differ.
    pub fn field(mut self, field: &str, old: impl Serialize, new: impl Serialize) -> Self {
        let old = serde_json::to_value(old).unwrap_or(Value::Null);
        let new = serde_json::to_value(new).unwrap_or(Value::Null);
        if old != new {
            self.0.push(FieldChange { field: field.to_owned(), old, new });
        }
        self
    }

    /// Records a secret field as changed without its values.
    pub fn secret(mut self, field: &str) -> Self {
        self.0.push(FieldChange { field: field.to_owned(), old: Value::Null, new: Value::String("***".into()) });
        self
    }

    /// Records every top-level field whose value differs between two serialised records.
    pub fn diff(mut self, old: &impl Serialize, new: &impl Serialize) -> Self {
        let old = serde_json::to_value(old).unwrap_or(Value::Null);
        let new = serde_json::to_value(new).unwrap_or(Value::Null);
        let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else { return self };
        for (field, new_value) in new {
            let old_value = old.get(field).cloned().unwrap_or(Value::Null);
            if &old_value != new_value {
                self.0.push(FieldChange { field: field.clone(), old: old_value, new: new_value.clone() });
            }
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn changes(&self) -> &[FieldChange] {
        &self.0
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_fields_are_left_out() {
        let set = ChangeSet::new().field("name", "华东销售部", "华东销售一部").field("parentId", Some(1), Some(1));
        assert_eq!(set.changes().len(), 1);
        assert_eq!(set.changes()[0].field, "name");
        assert_eq!(set.changes()[0].new, Value::String("华东销售一部".into()));
        assert!(ChangeSet::new().field("x", 1, 1).is_empty());
    }
}
