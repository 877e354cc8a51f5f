//! The delta feed (增量同步): what a client that keeps a copy of some kinds of records
//! applies to stay in step, read from the change log.
//!
//! A client starts with no cursor and receives a snapshot of every record it may see,
//! kind by kind in id order, then the changes committed after the snapshot began. Each
//! page hands back the cursor to continue from. Records change while a snapshot is read;
//! those changes come again in the delta that follows, so a client that applies both in
//! order ends with the server's state.
//!
//! A change in the delta is a record to (re)fetch, a tombstone for a deleted one, or a
//! removal for one that left the caller's scope. A removal is only sent to a caller who
//! could see the record before: one of the record's former owners is in the caller's
//! scope (and, for a customer's record, the customer still is), or a change took the
//! record from the caller directly (a share, an assignment). A record the caller never
//! saw never appears, not even by id. A customer that comes into a caller's scope brings
//! its records along (see [`Touched::moved`]).
//!
//! A cursor belongs to the kinds it was made for: read with other kinds, it would skip
//! the snapshot of the new ones.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::entity::EntityKind;
use crate::platform::change::{ChangeEvent, Operation};

/// How long the change log serves a cursor: an older one gets `CURSOR_EXPIRED`.
pub const RETENTION_DAYS: i64 = 90;

/// Whether something of time `at` is older than the change log serves at `now`: a cursor
/// handed out then, or the first change a cursor still waits for.
pub fn past_retention(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    at < now - Duration::days(RETENTION_DAYS)
}

/// The most changes (or snapshot records) one page returns.
pub const MAX_PAGE: usize = 500;

/// Where a reader of the feed stands. It travels to clients as an opaque string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "p")]
pub enum Cursor {
    /// Reading the first snapshot of `kinds`: records of `kind` after `after` (in id
    /// order), then the kinds after it; the changes follow from `seq`, the change log's
    /// head when the snapshot began.
    #[serde(rename = "s")]
    Snapshot { kinds: Vec<EntityKind>, seq: i64, kind: EntityKind, after: Option<Uuid>, at: DateTime<Utc> },
    /// Following the changes to `kinds` committed after `seq`; first, with `bring`, the
    /// rest of what a customer that came into sight at `seq` brings along.
    #[serde(rename = "d")]
    Delta {
        kinds: Vec<EntityKind>,
        seq: i64,
        at: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bring: Option<Bring>,
    },
}

/// Where a page stopped in the records one arriving customer brings along, when they are
/// more than a page holds: records of `kind` after `after` (in id order), then the kinds
/// after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bring {
    pub customer: Uuid,
    /// When the customer came into sight (the brought records' `changedAt`).
    pub arrived_at: DateTime<Utc>,
    pub kind: EntityKind,
    pub after: Option<Uuid>,
}

impl Cursor {
    /// The start of a snapshot of `kinds` (in their feed order), taken at `now` with the
    /// change log at `seq`; with no kinds, straight to the changes.
    pub fn start(kinds: &[EntityKind], seq: i64, now: DateTime<Utc>) -> Self {
        let all = kinds.to_vec();
        match kinds.first() {
            Some(&kind) => Self::Snapshot { kinds: all, seq, kind, after: None, at: now },
            None => Self::Delta { kinds: all, seq, at: now, bring: None },
        }
    }

    /// When the reader last read the feed: the cursor was handed out then.
    pub fn issued_at(&self) -> DateTime<Utc> {
        match self {
            Self::Snapshot { at, .. } | Self::Delta { at, .. } => *at,
        }
    }

    /// The kinds the cursor was made for, in feed order.
    pub fn kinds(&self) -> &[EntityKind] {
        match self {
            Self::Snapshot { kinds, .. } | Self::Delta { kinds, .. } => kinds,
        }
    }

    /// Whether the change log no longer promises the changes this cursor waits for: it
    /// was handed out more than [`RETENTION_DAYS`] ago.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        past_retention(self.issued_at(), now)
    }

    /// The snapshot's next position after a page of `kind` that ended at `last` and did
    /// (`more`) or did not fill: the next record of the kind, else the next of `kinds`,
    /// else the changes from the snapshot's start.
    pub fn after_snapshot_page(
        kinds: Vec<EntityKind>,
        seq: i64,
        kind: EntityKind,
        (last, more): (Option<Uuid>, bool),
        now: DateTime<Utc>,
    ) -> Self {
        if more {
            return Self::Snapshot { kinds, seq, kind, after: last, at: now };
        }
        let next = kinds.iter().skip_while(|k| **k != kind).nth(1).copied();
        match next {
            Some(kind) => Self::Snapshot { kinds, seq, kind, after: None, at: now },
            None => Self::Delta { kinds, seq, at: now, bring: None },
        }
    }
}

/// One record the delta touched: its latest change, and who could see it before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Touched {
    pub kind: EntityKind,
    pub id: Uuid,
    /// The sequence of its latest change in the page: entries come in this order.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// When the page's last `DELETE` of it happened.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Owners it had before a change in the page (a transfer, a release to a pool).
    pub former_owners: Vec<Uuid>,
    /// Users a change in the page took it from directly: collaborators taken off it, a
    /// work order's replaced technician, an event's removed assignees.
    pub lost_by: Vec<Uuid>,
    /// Whether a change in the page may have moved it into someone's scope: it changed
    /// hands, pools, collaborators or assignees, or was restored or merged into. A
    /// customer that moved brings its records along to whoever sees it now.
    pub moved: bool,
}

/// The fields whose change moves a record between scopes.
const MOVING_FIELDS: &[&str] = &["ownerId", "collaborators", "poolId", "technicianId", "assigneeIds"];

/// The ids in a change's value: one id, a list of ids, or the keys of a map by id.
fn ids_in(value: &serde_json::Value) -> Vec<Uuid> {
    let parse = |s: &str| Uuid::parse_str(s).ok();
    match value {
        serde_json::Value::String(s) => parse(s).into_iter().collect(),
        serde_json::Value::Array(items) => items.iter().filter_map(|i| i.as_str().and_then(parse)).collect(),
        serde_json::Value::Object(map) => map.keys().filter_map(|k| parse(k)).collect(),
        _ => Vec::new(),
    }
}

/// The records a page of change events touched, each once, in the order of their latest
/// change.
pub fn fold(events: &[ChangeEvent]) -> Vec<Touched> {
    let mut touched: Vec<Touched> = Vec::new();
    let mut index: HashMap<(EntityKind, Uuid), usize> = HashMap::new();
    for event in events {
        let at = *index.entry((event.entity, event.entity_id)).or_insert_with(|| {
            touched.push(Touched {
                kind: event.entity,
                id: event.entity_id,
                seq: event.seq,
                at: event.occurred_at,
                deleted_at: None,
                former_owners: Vec::new(),
                lost_by: Vec::new(),
                moved: false,
            });
            touched.len() - 1
        });
        let record = &mut touched[at];
        record.seq = event.seq;
        record.at = event.occurred_at;
        if event.operation == Operation::Delete {
            record.deleted_at = Some(event.occurred_at);
        }
        if matches!(event.operation, Operation::Restore | Operation::Merge) {
            record.moved = true;
        }
        for change in event.changes.iter().filter(|c| MOVING_FIELDS.contains(&c.field.as_str())) {
            record.moved = true;
            let kept = ids_in(&change.new);
            let into = if change.field == "ownerId" { &mut record.former_owners } else { &mut record.lost_by };
            for gone in ids_in(&change.old).into_iter().filter(|id| !kept.contains(id)) {
                if !into.contains(&gone) {
                    into.push(gone);
                }
            }
        }
    }
    touched.sort_by_key(|t| t.seq);
    touched
}

/// The most records that customers coming into a caller's sight bring along on one page.
pub const MAX_BROUGHT: usize = 2_000;

/// How much of what the customers arriving on a page bring along the page can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bringing {
    /// All of it.
    All,
    /// What the customers up to the one at this sequence bring: the page ends there.
    UpTo(i64),
    /// The first customer alone brings more than a page: the page ends at it, and its
    /// records follow over as many pages as they take (see [`Bring`]).
    FirstAlone,
}

/// Plans a page's bringing from the arrivals in sequence order, each with how many
/// records it brings.
pub fn plan_bringing(arrivals: &[(i64, usize)], max: usize) -> Bringing {
    let mut total = 0;
    for (n, (_, count)) in arrivals.iter().enumerate() {
        total += count;
        if total > max {
            return if n == 0 { Bringing::FirstAlone } else { Bringing::UpTo(arrivals[n - 1].0) };
        }
    }
    Bringing::All
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::platform::change::FieldChange;

    fn event(seq: i64, id: Uuid, operation: Operation, changes: Vec<FieldChange>) -> ChangeEvent {
        ChangeEvent {
            seq,
            occurred_at: DateTime::from_timestamp(1_800_000_000 + seq, 0).unwrap(),
            entity: EntityKind::Customer,
            entity_id: id,
            operation,
            changes,
            actor_user_id: None,
            actor_api_key_id: None,
            actor_contact_id: None,
            request_id: None,
        }
    }

    fn change(field: &str, old: serde_json::Value, new: serde_json::Value) -> FieldChange {
        FieldChange { field: field.into(), old, new }
    }

    #[test]
    fn fold_keeps_each_record_once_at_its_latest_change_with_who_held_it() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let (rep1, rep2, rep3) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let events = vec![
            event(1, a, Operation::Create, vec![change("ownerId", json!(null), json!(rep1))]),
            event(2, b, Operation::Update, vec![change("name", json!("甲"), json!("乙"))]),
            event(3, a, Operation::Transfer, vec![change("ownerId", json!(rep1), json!(rep2))]),
            event(
                4,
                b,
                Operation::Update,
                vec![change(
                    "collaborators",
                    json!({ rep3.to_string(): "READ", rep1.to_string(): "READ" }),
                    json!({ rep1.to_string(): "READ_WRITE" }),
                )],
            ),
            event(5, b, Operation::Delete, vec![]),
        ];
        let touched = fold(&events);
        assert_eq!(touched.iter().map(|t| (t.id, t.seq)).collect::<Vec<_>>(), vec![(a, 3), (b, 5)]);
        assert_eq!(touched[0].former_owners, vec![rep1]);
        assert_eq!(touched[0].deleted_at, None);
        assert!(touched[0].moved);
        assert_eq!(touched[1].lost_by, vec![rep3]);
        assert!(touched[1].moved);
        assert_eq!(touched[1].deleted_at, Some(events[4].occurred_at));
        assert_eq!(touched[1].at, events[4].occurred_at);
    }

    #[test]
    fn a_technician_or_assignee_taken_off_loses_it_and_a_plain_edit_moves_nothing() {
        let (id, tech1, tech2, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let events = vec![
            event(1, id, Operation::Update, vec![change("technicianId", json!(tech1), json!(tech2))]),
            event(2, id, Operation::Update, vec![change("assigneeIds", json!([a, b]), json!([b]))]),
        ];
        let touched = fold(&events);
        assert_eq!(touched[0].lost_by, vec![tech1, a]);
        assert!(touched[0].former_owners.is_empty() && touched[0].moved);
        let plain = fold(&[event(3, id, Operation::Update, vec![change("name", json!("甲"), json!("乙"))])]);
        assert!(!plain[0].moved && plain[0].lost_by.is_empty());
    }

    #[test]
    fn a_snapshot_walks_the_kinds_then_follows_the_changes() {
        let now = Utc::now();
        let kinds = vec![EntityKind::Customer, EntityKind::Contact];
        let last = Some(Uuid::now_v7());
        let snapshot = |kind, after| Cursor::Snapshot { kinds: kinds.clone(), seq: 7, kind, after, at: now };
        assert_eq!(Cursor::start(&kinds, 7, now), snapshot(EntityKind::Customer, None));
        let page = |kind, more| Cursor::after_snapshot_page(kinds.clone(), 7, kind, (last, more), now);
        assert_eq!(page(EntityKind::Customer, true), snapshot(EntityKind::Customer, last));
        assert_eq!(page(EntityKind::Customer, false), snapshot(EntityKind::Contact, None));
        assert_eq!(
            page(EntityKind::Contact, false),
            Cursor::Delta { kinds: kinds.clone(), seq: 7, at: now, bring: None }
        );
        assert_eq!(Cursor::start(&[], 7, now), Cursor::Delta { kinds: vec![], seq: 7, at: now, bring: None });
        assert_eq!(page(EntityKind::Contact, false).kinds(), kinds.as_slice());
    }

    #[test]
    fn arrivals_fill_a_page_up_to_the_limit() {
        assert_eq!(plan_bringing(&[], 10), Bringing::All);
        assert_eq!(plan_bringing(&[(3, 4), (5, 6)], 10), Bringing::All);
        assert_eq!(plan_bringing(&[(3, 4), (5, 6), (9, 1)], 10), Bringing::UpTo(5));
        assert_eq!(plan_bringing(&[(3, 11), (5, 1)], 10), Bringing::FirstAlone);
    }

    #[test]
    fn a_cursor_expires_after_the_retention() {
        let now = Utc::now();
        let fresh = Cursor::Delta { kinds: vec![], seq: 1, at: now - Duration::days(RETENTION_DAYS - 1), bring: None };
        let stale = Cursor::Delta {
            kinds: vec![],
            seq: 1,
            at: now - Duration::days(RETENTION_DAYS) - Duration::minutes(1),
            bring: None,
        };
        assert!(!fresh.expired(now));
        assert!(stale.expired(now));
    }

    #[test]
    fn a_cursor_round_trips_through_json() {
        let cursor = Cursor::Snapshot {
            kinds: vec![EntityKind::Lead],
            seq: 42,
            kind: EntityKind::Lead,
            after: Some(Uuid::now_v7()),
            at: Utc::now(),
        };
        let text = serde_json::to_string(&cursor).unwrap();
        assert_eq!(serde_json::from_str::<Cursor>(&text).unwrap(), cursor);
    }
}
