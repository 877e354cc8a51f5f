//! Care plans as rows. Making a plan finds the live, owned customers of its segment that
//! the caller sees (one statement), puts one calendar event per customer in its owner's
//! calendar (multi-row inserts, each event with its change event), and keeps the plan
//! with the number of tasks it made. Its progress is its events by status, through the
//! caller's `TASK` scope.

use std::collections::HashMap;

use chrono::Utc;
use guanxi_domain::activity::calendar::EventStatus;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{CarePlanId, TenantId, UserId};
use guanxi_domain::marketing::care::{CarePlan, CarePlanFields, MAX_TASKS};
use guanxi_domain::platform::access::{CustomerRule, ScopeRule};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::org::UserStatus;
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use uuid::Uuid;

use crate::activity::calendar::{self, Events};
use crate::customers::customer::Customers;
use crate::decode::Cell;
use crate::entity::{care_plan, customer, event, event_assignee, user};
use crate::error::{StoreError, StoreResult};
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Scoped};

pub const ENTITY: EntityKind = EntityKind::CarePlan;

fn to_domain(m: care_plan::Model) -> StoreResult<CarePlan> {
    Ok(CarePlan {
        id: CarePlanId::from_uuid(m.id),
        tenant_id: TenantId::from_uuid(m.tenant_id),
        fields: Cell::of("care_plans", m.id, "fields").json(m.fields)?,
        tasks_created: m.tasks_created,
        created_by: m.created_by.map(UserId::from_uuid),
        created_at: m.created_at,
    })
}

/// Care plans: the tenant's, for whoever plans care.
pub struct CarePlans;

impl Scoped for CarePlans {
    type Entity = care_plan::Entity;
    type Scope = ();
    type Record = CarePlan;
    const ID: care_plan::Column = care_plan::Column::Id;
    const DELETED_AT: Option<care_plan::Column> = None;

    fn visible(_: DbBackend, tenant: TenantId, (): ()) -> Select<care_plan::Entity> {
        care_plan::Entity::find().filter(care_plan::Column::TenantId.eq(tenant.uuid()))
    }

    fn to_domain(model: care_plan::Model) -> StoreResult<CarePlan> {
        to_domain(model)
    }
}

repo::scoped_reads!(CarePlans);

impl repo::Listed for CarePlans {
    type Filter = ();
    type Order = Direction;

    fn matching(backend: DbBackend, tenant: TenantId, (): (), (): &()) -> Select<care_plan::Entity> {
        Self::visible(backend, tenant, ())
    }

    fn sort_key(direction: Direction) -> SortKey<care_plan::Entity> {
        SortKey {
            name: "CREATED_AT",
            column: care_plan::Column::CreatedAt,
            direction,
            value: |m: &care_plan::Model| CursorValue::Time(m.created_at),
        }
    }

    fn id_of(model: &care_plan::Model) -> Uuid {
        model.id
    }
}

repo::listed!(CarePlans);

/// The customers a plan cares for, as (id, name, owner), by owner and id: live, owned by
/// an active user, outside any pool, in the caller's scope and the plan's segment.
async fn segment<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: CustomerRule,
    fields: &CarePlanFields,
) -> StoreResult<Vec<(Uuid, String, Uuid)>> {
    use customer::Column as Col;
    let active = Query::select()
        .column(user::Column::Id)
        .from(user::Entity)
        .and_where(Expr::col(user::Column::TenantId).eq(tenant.uuid()))
        .and_where(Expr::col(user::Column::Status).eq(UserStatus::Active.as_str()))
        .to_owned();
    let mut select = Customers::live(conn.get_database_backend(), tenant, rule)
        .select_only()
        .columns([Col::Id, Col::Name, Col::OwnerId])
        .filter(Col::PoolId.is_null())
        .filter(Col::OwnerId.in_subquery(active));
    if !fields.segment.levels.is_empty() {
        select = select.filter(Col::Level.is_in(fields.segment.levels.iter().cloned()));
    }
    if !fields.segment.statuses.is_empty() {
        select = select.filter(Col::Status.is_in(fields.segment.statuses.iter().map(|s| s.as_str())));
    }
    Ok(select
        .order_by_asc(Col::OwnerId)
        .order_by_asc(Col::Id)
        .limit(MAX_TASKS as u64 + 1)
        .into_tuple()
        .all(conn)
        .await?)
}

/// Makes a care plan: one task (a calendar event) per customer of the segment the caller
/// sees, in its owner's calendar. A segment of more than [`MAX_TASKS`] customers is
/// refused whole, as is one with none.
pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: CustomerRule,
    fields: CarePlanFields,
) -> StoreResult<CarePlan> {
    let tenant = author.tenant_id;
    let fields = fields.check()?;
    let customers = segment(conn, tenant, rule, &fields).await?;
    if customers.is_empty() {
        return Err(Invalid::one("segment", ErrorCode::NotFound, "no customer you see is in this segment").into());
    }
    if customers.len() > MAX_TASKS {
        let message = format!("a plan makes at most {MAX_TASKS} tasks; narrow the segment");
        return Err(StoreError::rejected("segment", ErrorCode::LimitReached, message));
    }
    let (plan, now) = (CarePlanId::new().uuid(), Utc::now());
    let (mut events, mut assignees, mut changes) = (Vec::new(), Vec::new(), Vec::new());
    let mut turn: (Option<Uuid>, usize) = (None, 0);
    for (id, name, owner) in &customers {
        turn = if turn.0 == Some(*owner) { (turn.0, turn.1 + 1) } else { (Some(*owner), 0) };
        let task = fields.task(turn.1, ((*id).into(), name), UserId::from_uuid(*owner));
        let event_id = guanxi_domain::ids::EventId::new().uuid();
        let mut model = calendar::active_model(&task);
        model.tenant_id = Set(tenant.uuid());
        model.id = Set(event_id);
        model.owner_id = Set(*owner);
        model.opportunity_id = Set(None);
        model.care_plan_id = Set(Some(plan));
        model.version = Set(1);
        model.created_at = Set(now);
        model.updated_at = Set(now);
        model.deleted_at = Set(None);
        events.push(model);
        assignees.push(event_assignee::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            event_id: Set(event_id),
            user_id: Set(*owner),
        });
        let set = ChangeSet::new().diff(&serde_json::json!({}), &task).field("carePlanId", None::<()>, plan);
        changes.push((event_id, Operation::Create, set));
    }
    let created = events.len() as i32;
    crate::insert_chunked(conn, events).await?;
    crate::insert_chunked(conn, assignees).await?;
    audit::record_many(conn, author, calendar::ENTITY, changes).await?;
    let row = care_plan::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(plan),
        name: Set(fields.name.clone()),
        fields: Set(serde_json::to_value(&fields).unwrap_or_default()),
        tasks_created: Set(created),
        created_by: Set(author.user_id),
        created_at: Set(now),
    };
    care_plan::Entity::insert(row).exec_without_returning(conn).await?;
    // How many tasks it made is the creator's to know (their scope's segment): not in the
    // plan's history, which every planner reads.
    let changes = ChangeSet::new().diff(&serde_json::json!({}), &fields);
    audit::record(conn, author, ENTITY, plan, Operation::Create, &changes).await?;
    repo::find::<CarePlans, C>(conn, tenant, (), plan).await?.ok_or(StoreError::NotFound)
}

/// A plan's tasks the caller sees, by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub planned: i64,
    pub done: i64,
    pub cancelled: i64,
}

/// The progress of `plans`, through the caller's `TASK` scope (one grouped statement).
pub async fn progress<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: ScopeRule,
    plans: &[Uuid],
) -> StoreResult<HashMap<Uuid, Progress>> {
    let rows: Vec<(Option<Uuid>, String, i64)> = Events::visible(conn.get_database_backend(), tenant, rule)
        .select_only()
        .column(event::Column::CarePlanId)
        .column(event::Column::Status)
        .column_as(event::Column::Id.count(), "n")
        .filter(event::Column::CarePlanId.is_in(plans.iter().copied()))
        .group_by(event::Column::CarePlanId)
        .group_by(event::Column::Status)
        .into_tuple()
        .all(conn)
        .await?;
    let mut out: HashMap<Uuid, Progress> = HashMap::new();
    for (plan, status, n) in rows {
        let Some(plan) = plan else { continue };
        let p = out.entry(plan).or_default();
        match EventStatus::parse(&status) {
            Some(EventStatus::Planned) => p.planned += n,
            Some(EventStatus::Done) => p.done += n,
            Some(EventStatus::Cancelled) => p.cancelled += n,
            None => {}
        }
    }
    Ok(out)
}
