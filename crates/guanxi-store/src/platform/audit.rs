//! The change log: every write appends one event per record it touched, in the same
//! transaction, with a per-tenant sequence that follows commit order.

use chrono::Utc;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::access::Actor;
use guanxi_domain::platform::change::{ChangeEvent, ChangeSet, Operation};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::change_event;
use crate::error::{StoreError, StoreResult};
use crate::page::{self, CursorValue, Direction, Page, PageRequest, SortKey, Tiebreak};

/// Who is writing: put on every change event.
#[derive(Clone, Debug)]
pub struct Author {
    pub tenant_id: TenantId,
    pub user_id: Option<Uuid>,
    pub api_key_id: Option<Uuid>,
    /// A customer contact writing through the self-service portal.
    pub contact_id: Option<Uuid>,
    pub request_id: Option<String>,
}

impl Author {
    pub fn of(actor: &Actor, request_id: Option<String>) -> Self {
        Self {
            tenant_id: actor.tenant_id,
            user_id: Some(actor.user_id.uuid()),
            api_key_id: actor.api_key_id.map(|k| k.uuid()),
            contact_id: None,
            request_id,
        }
    }

    /// A customer's contact, writing through the self-service portal.
    pub fn contact(tenant_id: TenantId, contact: Uuid, request_id: Option<String>) -> Self {
        Self { tenant_id, user_id: None, api_key_id: None, contact_id: Some(contact), request_id }
    }

    /// The system itself (background jobs, the command line).
    pub fn system(tenant_id: TenantId) -> Self {
        Self { tenant_id, user_id: None, api_key_id: None, contact_id: None, request_id: None }
    }
}

/// Appends the change event of one write. An update that changed nothing records
/// nothing and returns `None`.
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    entity_type: EntityKind,
    entity_id: Uuid,
    operation: Operation,
    changes: &ChangeSet,
) -> StoreResult<Option<i64>> {
    if changes.is_empty() && operation == Operation::Update {
        return Ok(None);
    }
    let seq = record_many(conn, author, entity_type, vec![(entity_id, operation, changes.clone())]).await?;
    Ok(Some(seq))
}

/// Appends the change events of a batch write (one per record, in order) with a block of
/// consecutive sequence numbers taken in one statement, and inserts them in multi-row
/// statements. Returns the last sequence number taken (0 for no events).
pub async fn record_many<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    entity_type: EntityKind,
    events: Vec<(Uuid, Operation, ChangeSet)>,
) -> StoreResult<i64> {
    if events.is_empty() {
        return Ok(0);
    }
    let last = take_sequences(conn, author.tenant_id, events.len() as i64).await?;
    let first = last - events.len() as i64 + 1;
    let now = Utc::now();
    let rows: Vec<change_event::ActiveModel> = events
        .into_iter()
        .enumerate()
        .map(|(n, (entity_id, operation, changes))| change_event::ActiveModel {
            tenant_id: Set(author.tenant_id.uuid()),
            seq: Set(first + n as i64),
            id: Set(Uuid::now_v7()),
            occurred_at: Set(now),
            actor_user_id: Set(author.user_id),
            actor_api_key_id: Set(author.api_key_id),
            actor_contact_id: Set(author.contact_id),
            request_id: Set(author.request_id.clone()),
            entity_type: Set(entity_type.name().to_owned()),
            entity_id: Set(entity_id),
            operation: Set(operation.as_str().to_owned()),
            changes: Set(changes.to_json()),
        })
        .collect();
    crate::insert_chunked(conn, rows).await?;
    Ok(last)
}

/// Takes the tenant's next `n` change sequences and returns the last of them. The row lock
/// this takes on the tenant is held to commit, so sequences become visible in order and a
/// reader of the feed never skips an event that commits late.
async fn take_sequences<C: ConnectionTrait>(conn: &C, tenant: TenantId, n: i64) -> StoreResult<i64> {
    let statement = Query::update()
        .table("tenants")
        .value("change_seq", Expr::col("change_seq").add(n))
        .and_where(Expr::col("id").eq(tenant.uuid()))
        .returning(Query::returning().column("change_seq"))
        .to_owned();
    let row = conn.query_one(&statement).await?.ok_or(StoreError::NotFound)?;
    Ok(row.try_get::<i64>("", "change_seq")?)
}

/// A change-log row as a domain value; a kind, operation or change list that does not
/// decode is an error naming the row.
pub fn to_domain(m: change_event::Model) -> StoreResult<ChangeEvent> {
    let cell = |column| Cell::of("change_events", m.id, column);
    Ok(ChangeEvent {
        seq: m.seq,
        occurred_at: m.occurred_at,
        entity: cell("entity_type").text(&m.entity_type, EntityKind::parse)?,
        entity_id: m.entity_id,
        operation: cell("operation").text(&m.operation, Operation::parse)?,
        changes: cell("changes").json(m.changes)?,
        actor_user_id: m.actor_user_id,
        actor_api_key_id: m.actor_api_key_id,
        actor_contact_id: m.actor_contact_id,
        request_id: m.request_id,
    })
}

/// The history of one record, newest first.
pub async fn history<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    entity_type: EntityKind,
    entity_id: Uuid,
    request: &PageRequest,
) -> StoreResult<Page<ChangeEvent>> {
    let select = change_event::Entity::find()
        .filter(change_event::Column::TenantId.eq(tenant.uuid()))
        .filter(change_event::Column::EntityType.eq(entity_type.name()))
        .filter(change_event::Column::EntityId.eq(entity_id));
    let sort = SortKey {
        name: "SEQ",
        column: change_event::Column::Seq,
        direction: Direction::Desc,
        value: |row: &change_event::Model| CursorValue::Int(row.seq),
    };
    let tiebreak =
        Tiebreak { column: change_event::Column::Seq, value: |row: &change_event::Model| CursorValue::Int(row.seq) };
    page::fetch(conn, select, &sort, &tiebreak, request).await?.try_map(to_domain)
}

/// The tenant's events after `after_seq` (of `kinds`, or of every kind), oldest first (the
/// change feeds), and the last sequence number read. The feed is a background poll: a row that does not decode is
/// logged and passed over, so it cannot stall the feed.
pub async fn since<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    kinds: Option<&[EntityKind]>,
    after_seq: i64,
    limit: u64,
) -> StoreResult<(Vec<ChangeEvent>, Option<i64>)> {
    let mut select = change_event::Entity::find()
        .filter(change_event::Column::TenantId.eq(tenant.uuid()))
        .filter(change_event::Column::Seq.gt(after_seq));
    if let Some(kinds) = kinds {
        select = select.filter(change_event::Column::EntityType.is_in(kinds.iter().map(|k| k.name())));
    }
    let rows = select.order_by_asc(change_event::Column::Seq).limit(limit).all(conn).await?;
    let last = rows.last().map(|row| row.seq);
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        match to_domain(row) {
            Ok(event) => events.push(event),
            Err(error) => tracing::error!(%error, "change feed: event passed over"),
        }
    }
    Ok((events, last))
}

/// How many events a record has.
pub async fn count_for<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    entity_type: EntityKind,
    entity_id: Uuid,
    limit: Option<u64>,
) -> StoreResult<u64> {
    let events = change_event::Entity::find()
        .filter(change_event::Column::TenantId.eq(tenant.uuid()))
        .filter(change_event::Column::EntityType.eq(entity_type.name()))
        .filter(change_event::Column::EntityId.eq(entity_id));
    crate::repo::tally(conn, events, limit).await
}

/// The records of `kind` changed after `after_seq`, each once in the order of its latest
/// change, and the last sequence number read (a feed of one kind, such as
/// `workOrderUpdated`). The caller filters the ids through the reader's scope.
pub async fn changed_since<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    kind: EntityKind,
    after_seq: i64,
    limit: u64,
) -> StoreResult<(Vec<Uuid>, Option<i64>)> {
    let rows: Vec<(i64, Uuid)> = change_event::Entity::find()
        .select_only()
        .column(change_event::Column::Seq)
        .column(change_event::Column::EntityId)
        .filter(change_event::Column::TenantId.eq(tenant.uuid()))
        .filter(change_event::Column::EntityType.eq(kind.name()))
        .filter(change_event::Column::Seq.gt(after_seq))
        .order_by_asc(change_event::Column::Seq)
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?;
    let last = rows.last().map(|(seq, _)| *seq);
    let mut ids: Vec<Uuid> = Vec::with_capacity(rows.len());
    for (_, id) in rows.into_iter().rev() {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids.reverse();
    Ok((ids, last))
}
