//! Calendar events, their assignees and reminders. An event is visible when its owner or
//! one of its assignees is within the caller's `Task` scope.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use guanxi_domain::activity::calendar::{Event, EventFields, EventKind, EventStatus, Schedule};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{EventId, TenantId, UserId};
use guanxi_domain::platform::access::ScopeRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use serde_json::Value;
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{event, event_assignee, reminder, user};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Scoped};
use crate::scope;

pub const ENTITY: EntityKind = EntityKind::Event;

fn to_domain(m: event::Model, assignees: Vec<UserId>) -> StoreResult<Event> {
    Ok(Event {
        id: m.id.into(),
        tenant_id: m.tenant_id.into(),
        kind: Cell::of("events", m.id, "kind").text(&m.kind, EventKind::parse)?,
        title: m.title,
        description: m.description,
        schedule: Schedule {
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            all_day: m.all_day,
            time_zone: m.time_zone,
            recurrence: m.recurrence,
        },
        owner_id: m.owner_id.into(),
        assignees,
        customer_id: m.customer_id.map(Into::into),
        contact_id: m.contact_id.map(Into::into),
        status: Cell::of("events", m.id, "status").text(&m.status, EventStatus::parse)?,
        completion_notes: m.completion_notes,
        reminder_minutes: Cell::of("events", m.id, "reminder_minutes").json(m.reminder_minutes)?,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Loads the assignees of `models` in one statement and builds the events.
async fn with_assignees<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    models: Vec<event::Model>,
) -> StoreResult<Vec<Event>> {
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = models.iter().map(|m| m.id).collect();
    let rows = event_assignee::Entity::find()
        .filter(event_assignee::Column::TenantId.eq(tenant.uuid()))
        .filter(event_assignee::Column::EventId.is_in(ids))
        .all(conn)
        .await?;
    let mut by_event: HashMap<Uuid, Vec<UserId>> = HashMap::new();
    for row in rows {
        by_event.entry(row.event_id).or_default().push(row.user_id.into());
    }
    models
        .into_iter()
        .map(|m| {
            let mut assignees = by_event.remove(&m.id).unwrap_or_default();
            assignees.sort();
            to_domain(m, assignees)
        })
        .collect::<StoreResult<_>>()
}

/// Calendar events, seen by the `TASK` scope of their owner or of any assignee. The
/// record is the row: an event's assignees are read in a second statement.
pub struct Events;

impl Scoped for Events {
    type Entity = event::Entity;
    type Scope = ScopeRule;
    type Record = event::Model;
    const ID: event::Column = event::Column::Id;
    const DELETED_AT: Option<event::Column> = Some(event::Column::DeletedAt);

    fn visible(backend: DbBackend, tenant: TenantId, rule: ScopeRule) -> Select<event::Entity> {
        let assigned = Query::select()
            .column(event_assignee::Column::EventId)
            .from(event_assignee::Entity)
            .and_where(Expr::col((event_assignee::Entity, event_assignee::Column::TenantId)).eq(tenant.uuid()))
            .cond_where(scope::owner_condition(
                backend,
                tenant,
                rule,
                (event_assignee::Entity, event_assignee::Column::UserId),
            ))
            .to_owned();
        event::Entity::find()
            .filter(event::Column::TenantId.eq(tenant.uuid()))
            .filter(event::Column::DeletedAt.is_null())
            .filter(
                Condition::any()
                    .add(scope::owner_condition(backend, tenant, rule, (event::Entity, event::Column::OwnerId)))
                    .add(event::Column::Id.in_subquery(assigned)),
            )
    }

    fn to_domain(model: event::Model) -> StoreResult<event::Model> {
        Ok(model)
    }
}

pub async fn find<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: ScopeRule,
    id: Uuid,
) -> StoreResult<Option<Event>> {
    let Some(model) = repo::find::<Events, _>(conn, tenant, rule, id).await? else {
        return Ok(None);
    };
    Ok(with_assignees(conn, tenant, vec![model]).await?.pop())
}

/// Which of `ids` the caller may see (one statement).
pub async fn visible_ids<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: ScopeRule,
    ids: &[Uuid],
) -> StoreResult<Vec<Uuid>> {
    repo::visible_ids::<Events, _>(conn, tenant, rule, ids).await
}

/// Live events with an assignee among `users` that may have an occurrence in `[from, to)`
/// (recurring ones are expanded by the caller). Cancelled events are left out.
pub async fn in_window<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    users: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<Event>> {
    let assigned = Query::select()
        .column(event_assignee::Column::EventId)
        .from(event_assignee::Entity)
        .and_where(Expr::col(event_assignee::Column::TenantId).eq(tenant.uuid()))
        .and_where(Expr::col(event_assignee::Column::UserId).is_in(users.iter().copied()))
        .to_owned();
    let models = event::Entity::find()
        .filter(event::Column::TenantId.eq(tenant.uuid()))
        .filter(event::Column::DeletedAt.is_null())
        .filter(event::Column::Status.ne(EventStatus::Cancelled.as_str()))
        .filter(event::Column::Id.in_subquery(assigned))
        .filter(event::Column::StartsAt.lt(to))
        .filter(
            Condition::any()
                .add(event::Column::RecurrenceEndsAt.is_null())
                .add(event::Column::RecurrenceEndsAt.gt(from)),
        )
        .order_by_asc(event::Column::StartsAt)
        .limit(5_000)
        .all(conn)
        .await?;
    with_assignees(conn, tenant, models).await
}

/// Checks that every assignee is a user of the tenant.
async fn check_assignees<C: ConnectionTrait>(conn: &C, tenant: TenantId, assignees: &[UserId]) -> StoreResult<()> {
    let ids: Vec<Uuid> = assignees.iter().map(|u| u.uuid()).collect();
    let found: Vec<Uuid> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::TenantId.eq(tenant.uuid()))
        .filter(user::Column::Id.is_in(ids.clone()))
        .into_tuple()
        .all(conn)
        .await?;
    if found.len() != ids.len() {
        return Err(Invalid::one("assigneeIds", ErrorCode::NotFound, "every assignee must be a user").into());
    }
    Ok(())
}

async fn write_assignees<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    event: Uuid,
    assignees: &[UserId],
) -> StoreResult<()> {
    event_assignee::Entity::delete_many()
        .filter(event_assignee::Column::TenantId.eq(tenant.uuid()))
        .filter(event_assignee::Column::EventId.eq(event))
        .exec(conn)
        .await?;
    let rows = assignees.iter().map(|u| event_assignee::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        event_id: Set(event),
        user_id: Set(u.uuid()),
    });
    event_assignee::Entity::insert_many(rows).exec_without_returning(conn).await?;
    Ok(())
}

pub(crate) fn active_model(fields: &EventFields) -> event::ActiveModel {
    event::ActiveModel {
        kind: Set(fields.kind.as_str().to_owned()),
        title: Set(fields.title.trim().to_owned()),
        description: Set(fields.description.clone()),
        starts_at: Set(fields.schedule.starts_at),
        ends_at: Set(fields.schedule.ends_at),
        all_day: Set(fields.schedule.all_day),
        time_zone: Set(fields.schedule.time_zone.clone()),
        recurrence: Set(fields.schedule.recurrence.clone()),
        recurrence_ends_at: Set(fields.schedule.last_end()),
        customer_id: Set(fields.customer_id.map(|c| c.uuid())),
        contact_id: Set(fields.contact_id.map(|c| c.uuid())),
        status: Set(fields.status.as_str().to_owned()),
        completion_notes: Set(fields.completion_notes.clone()),
        reminder_minutes: Set(Value::from(fields.reminder_minutes.clone())),
        ..Default::default()
    }
}

pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    owner: UserId,
    fields: EventFields,
) -> StoreResult<Event> {
    let tenant = author.tenant_id;
    fields.check()?;
    check_assignees(conn, tenant, &fields.assignees).await?;
    let now = Utc::now();
    let id = EventId::new();
    let mut model = active_model(&fields);
    model.tenant_id = Set(tenant.uuid());
    model.id = Set(id.uuid());
    model.owner_id = Set(owner.uuid());
    model.opportunity_id = Set(None);
    model.version = Set(1);
    model.created_at = Set(now);
    model.updated_at = Set(now);
    model.deleted_at = Set(None);
    let model = event::Entity::insert(model).exec_with_returning(conn).await?;
    write_assignees(conn, tenant, id.uuid(), &fields.assignees).await?;
    audit::record(
        conn,
        author,
        ENTITY,
        id.uuid(),
        Operation::Create,
        &ChangeSet::new().diff(&serde_json::json!({}), &fields),
    )
    .await?;
    to_domain(model, fields.assignees)
}

/// Updates a visible event at `expected_version`; `edit` turns the current event into the new fields.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: ScopeRule,
    id: Uuid,
    expected_version: i32,
    edit: impl FnOnce(&Event) -> Result<EventFields, Invalid>,
) -> StoreResult<Event> {
    let tenant = author.tenant_id;
    let before = find(conn, tenant, rule, id).await?.ok_or(StoreError::NotFound)?;
    if before.version != expected_version {
        return Err(StoreError::version_conflict(expected_version, before.version));
    }
    let fields = edit(&before)?;
    fields.check()?;
    check_assignees(conn, tenant, &fields.assignees).await?;
    let old = before.fields();
    let changes = ChangeSet::new().diff(&old, &fields);
    if changes.is_empty() {
        return Ok(before);
    }
    let mut model = active_model(&fields);
    model.version = Set(expected_version + 1);
    model.updated_at = Set(Utc::now());
    let result = event::Entity::update_many()
        .set(model)
        .filter(event::Column::TenantId.eq(tenant.uuid()))
        .filter(event::Column::Id.eq(id))
        .filter(event::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::version_conflict(expected_version, expected_version + 1));
    }
    write_assignees(conn, tenant, id, &fields.assignees).await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    find(conn, tenant, ScopeRule::All, id).await?.ok_or(StoreError::NotFound)
}

/// Planned events of every tenant that may need a reminder between `from` and `to`.
pub async fn reminder_candidates<C: ConnectionTrait>(
    conn: &C,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<Event>> {
    let models = event::Entity::find()
        .filter(event::Column::DeletedAt.is_null())
        .filter(event::Column::Status.eq(EventStatus::Planned.as_str()))
        // The longest reminder is 30 days ahead of an occurrence.
        .filter(event::Column::StartsAt.lt(to + Duration::days(31)))
        .filter(
            Condition::any()
                .add(event::Column::RecurrenceEndsAt.is_null())
                .add(event::Column::RecurrenceEndsAt.gt(from)),
        )
        .limit(20_000)
        .all(conn)
        .await?;
    let mut events = Vec::new();
    let mut by_tenant: HashMap<Uuid, Vec<event::Model>> = HashMap::new();
    for model in models.into_iter().filter(|m| m.reminder_minutes.as_array().is_some_and(|a| !a.is_empty())) {
        // The job reads every tenant: one event whose stored values do not decode is
        // logged and skipped, and the others still get their reminders.
        if let Err(error) = to_domain(model.clone(), Vec::new()) {
            tracing::error!(%error, "event reminder skipped: the event's stored values do not decode");
            continue;
        }
        by_tenant.entry(model.tenant_id).or_default().push(model);
    }
    for (tenant, models) in by_tenant {
        events.extend(with_assignees(conn, tenant.into(), models).await?);
    }
    Ok(events)
}

/// A reminder to write.
pub struct DueReminder {
    pub tenant_id: TenantId,
    pub event_id: EventId,
    pub user_id: UserId,
    pub occurrence_at: DateTime<Utc>,
    pub remind_at: DateTime<Utc>,
}

/// Writes reminders; ones already written (same event, person, occurrence and time) are
/// skipped by the unique key, so racing runners write each reminder once. Returns how
/// many were new.
pub async fn insert_reminders<C: ConnectionTrait>(conn: &C, due: &[DueReminder]) -> StoreResult<u64> {
    let mut created = 0;
    for chunk in due.chunks(500) {
        let now = Utc::now();
        let rows = chunk.iter().map(|r| reminder::ActiveModel {
            tenant_id: Set(r.tenant_id.uuid()),
            id: Set(Uuid::now_v7()),
            event_id: Set(r.event_id.uuid()),
            user_id: Set(r.user_id.uuid()),
            occurrence_at: Set(r.occurrence_at),
            remind_at: Set(r.remind_at),
            created_at: Set(now),
            read_at: Set(None),
        });
        let result = reminder::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([
                    reminder::Column::TenantId,
                    reminder::Column::EventId,
                    reminder::Column::UserId,
                    reminder::Column::OccurrenceAt,
                    reminder::Column::RemindAt,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(conn)
            .await;
        match result {
            Ok(n) => created += n,
            Err(sea_orm::DbErr::RecordNotInserted) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(created)
}

/// A user's reminders, newest first (only for events they may still see).
pub async fn reminders_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    user: UserId,
    since: Option<DateTime<Utc>>,
    limit: u64,
) -> StoreResult<Vec<reminder::Model>> {
    let mut select = reminder::Entity::find()
        .filter(reminder::Column::TenantId.eq(tenant.uuid()))
        .filter(reminder::Column::UserId.eq(user.uuid()));
    if let Some(since) = since {
        select = select.filter(reminder::Column::CreatedAt.gt(since));
    }
    Ok(select
        .order_by_desc(reminder::Column::CreatedAt)
        .order_by_desc(reminder::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// Events by id for reminders (no scope: a reminder is its user's own).
pub async fn by_ids_unscoped<C: ConnectionTrait>(conn: &C, tenant: TenantId, ids: &[Uuid]) -> StoreResult<Vec<Event>> {
    let models = event::Entity::find()
        .filter(event::Column::TenantId.eq(tenant.uuid()))
        .filter(event::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?;
    with_assignees(conn, tenant, models).await
}

/// The live events among `ids` the caller may see (for data loaders).
pub async fn by_ids<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: ScopeRule,
    ids: &[Uuid],
) -> StoreResult<Vec<Event>> {
    let models = repo::by_ids::<Events, _>(conn, tenant, rule, ids).await?;
    with_assignees(conn, tenant, models).await
}
