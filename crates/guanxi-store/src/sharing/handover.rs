//! Customers changing hands, set-based: a transfer of named customers (转移客户) and the
//! handover of everything a departing user holds (离职交接), through the registry of held
//! columns ([`customer_owned::HELD`]). Each runs in the caller's transaction: the rows move
//! in a few statements per table whatever their number, with one change event per record
//! moved and the work-log counts kept in step.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{PoolId, TenantId, UserId};
use guanxi_domain::platform::access::{CustomerRule, ScopeRule};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::org::UserStatus;
use guanxi_domain::sales::pool::{Caller, PoolAction, PoolSubject};
use guanxi_domain::sharing::handover::{CustomersTo, Handover, HandoverItem};
use guanxi_domain::{FieldError, Invalid};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::activity::work_count;
use crate::customers::customer_owned::{self, HELD, Held, Moves, Open};
use crate::entity::{customer, user};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};

/// At most this many customers move in one transfer call.
pub const MAX_TRANSFER: usize = 1000;

/// The receiver of customers: an active user of the tenant. Returns their department.
async fn receiver<C: ConnectionTrait>(conn: &C, tenant: TenantId, to: UserId, field: &str) -> StoreResult<Uuid> {
    user::Entity::find_by_id((tenant.uuid(), to.uuid()))
        .one(conn)
        .await?
        .filter(|u| u.status == UserStatus::Active.as_str())
        .map(|u| u.department_id)
        .ok_or_else(|| StoreError::rejected(field, ErrorCode::NotFound, "no such active user"))
}

/// Transfers live, owned customers the caller's owner scope (`rule`) reaches to `to`, with
/// a reason: their contacts and open deals follow as a change of owner always has them,
/// and shares `to` held of them end. Customers `to` owns already are left as they are.
/// Returns how many changed hands.
pub async fn transfer<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: ScopeRule,
    ids: &[Uuid],
    to: UserId,
    reason: &str,
) -> StoreResult<u64> {
    let tenant = author.tenant_id;
    let reason = guanxi_domain::sharing::handover::check_reason(reason)?;
    if ids.is_empty() {
        return Err(StoreError::rejected("ids", ErrorCode::Required, "name at least one customer"));
    }
    if ids.len() > MAX_TRANSFER {
        return Err(StoreError::rejected(
            "ids",
            ErrorCode::Invalid,
            format!("at most {MAX_TRANSFER} customers a call"),
        ));
    }
    let department = receiver(conn, tenant, to, "toUserId").await?;
    let found: HashMap<Uuid, _> = crate::customers::customer::by_ids(conn, tenant, CustomerRule::owned(rule), ids)
        .await?
        .into_iter()
        .map(|c| (c.id.uuid(), c))
        .collect();
    let mut invalid = Invalid::default();
    let mut seen = HashSet::new();
    let mut moving = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let field = || format!("ids.{i}");
        match found.get(id) {
            _ if !seen.insert(*id) => invalid.push(FieldError::new(field(), ErrorCode::Duplicate, "named twice")),
            None => invalid.push(FieldError::new(field(), ErrorCode::NotFound, "no such customer")),
            Some(c) if c.deleted_at.is_some() => {
                invalid.push(FieldError::new(field(), ErrorCode::IllegalState, "restore the customer first"))
            }
            Some(c) if c.pool.is_some() => invalid.push(FieldError::new(
                field(),
                ErrorCode::IllegalState,
                "it waits in a public pool: assign it from the pool",
            )),
            Some(c) if c.owner_id == Some(to) => {}
            // An owner, or none (no rule took it, or an admin cleared the owner).
            Some(c) => moving.push((*id, c.owner_id.map(UserId::uuid))),
        }
    }
    invalid.into_result()?;
    let moved = move_customers(conn, author, &moving, (to, department), (&reason, Recount::Customers)).await?;
    let ids: Vec<Uuid> = moving.iter().map(|(id, _)| *id).collect();
    customer_owned::follow_owner(conn, author, &ids, customer_owned::Handover::To(Some(to))).await?;
    crate::sharing::collaborator::end_self_shares(conn, author, to).await?;
    Ok(moved)
}

/// How a move keeps the work-log counts in step.
#[derive(Clone, Copy)]
enum Recount {
    /// Recount the moving customers' interactions (some of their owners' customers stay).
    Customers,
    /// Every live customer of this owner moves: their counts move whole.
    WholeOwner(Uuid),
}

/// Gives customers `(id, current owner)` to `to` (with their department): one conditional
/// UPDATE per owner and chunk (a customer whose owner changed meanwhile fails the call),
/// the work-log counts moved, one `TRANSFER` change event each naming the reason.
async fn move_customers<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    moving: &[(Uuid, Option<Uuid>)],
    (to, department): (UserId, Uuid),
    (reason, recount): (&str, Recount),
) -> StoreResult<u64> {
    if moving.is_empty() {
        return Ok(0);
    }
    let tenant = author.tenant_id;
    let now = Utc::now();
    let ids: Vec<Uuid> = moving.iter().map(|(id, _)| *id).collect();
    let mut by_owner: BTreeMap<Option<Uuid>, Vec<Uuid>> = BTreeMap::new();
    for (id, owner) in moving {
        by_owner.entry(*owner).or_default().push(*id);
    }
    if let Recount::Customers = recount {
        work_count::remove(conn, tenant, &ids).await?;
    }
    let mut moved = 0;
    for (owner, customers) in &by_owner {
        for chunk in customers.chunks(500) {
            moved += crate::customers::customer::give_to(to, Some(department), now)
                .filter(customer::Column::TenantId.eq(tenant.uuid()))
                .filter(customer::Column::Id.is_in(chunk.iter().copied()))
                .filter(match owner {
                    Some(owner) => customer::Column::OwnerId.eq(*owner),
                    None => customer::Column::OwnerId.is_null(),
                })
                .exec(conn)
                .await?
                .rows_affected;
        }
    }
    if moved != ids.len() as u64 {
        return Err(StoreError::rejected("ids", ErrorCode::Conflict, "one of these customers changed owner meanwhile"));
    }
    match recount {
        Recount::Customers => work_count::add(conn, tenant, &ids).await?,
        Recount::WholeOwner(from) => work_count::move_owner(conn, tenant, from, to.uuid()).await?,
    }
    let events = moving
        .iter()
        .map(|(id, owner)| {
            let changes = ChangeSet::new().field("ownerId", *owner, to.uuid()).field("reason", None::<()>, reason);
            (*id, Operation::Transfer, changes)
        })
        .collect();
    audit::record_many(conn, author, EntityKind::Customer, events).await?;
    Ok(moved)
}

/// The rows of `held` that `from` holds and that are still open.
fn held_by(tenant: TenantId, held: &Held, from: UserId) -> SimpleExpr {
    let mine = Expr::col("tenant_id").eq(tenant.uuid()).and(Expr::col(held.column).eq(from.uuid()));
    match held.open {
        Open::Always => mine,
        Open::Where { column, values } => mine.and(Expr::col(column).is_in(values())),
        Open::ParentWhere { key, table, column, values } => mine.and(
            Expr::col(key).in_subquery(
                Query::select()
                    .column("id")
                    .from(table)
                    .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
                    .and_where(Expr::col(column).is_in(values()))
                    .to_owned(),
            ),
        ),
    }
}

/// What a handover of `from`'s work would move, per item of `include`: one count per
/// held table.
pub async fn preview<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    from: UserId,
    include: &[HandoverItem],
) -> StoreResult<BTreeMap<HandoverItem, u64>> {
    let mut counts: BTreeMap<HandoverItem, u64> = include.iter().map(|item| (*item, 0)).collect();
    for held in HELD.iter().filter(|h| include.contains(&h.item)) {
        let count = Query::select()
            .expr_as(Expr::cust("COUNT(*)"), "n")
            .from(held.table)
            .and_where(held_by(tenant, held, from))
            .to_owned();
        let n: i64 = match conn.query_one(&count).await? {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        *counts.entry(held.item).or_default() += n as u64;
    }
    Ok(counts)
}

/// Hands over what `plan.from` holds, as `plan` says, and returns how many rows moved per
/// item. The receiver must be an active user; a pool, one the caller sees.
pub async fn hand_over<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    caller: &Caller,
    plan: &Handover,
) -> StoreResult<BTreeMap<HandoverItem, u64>> {
    let tenant = author.tenant_id;
    let to = match plan.to {
        Some(to) => Some((to, receiver(conn, tenant, to, "to.userId").await?)),
        None => None,
    };
    if let CustomersTo::Pool(pool) = plan.customers_to
        && crate::sales::pool::visible_one(conn, tenant, caller, PoolId::from_uuid(pool)).await?.is_none()
    {
        return Err(StoreError::rejected("to.poolId", ErrorCode::NotFound, "no such pool"));
    }
    let mut moved: BTreeMap<HandoverItem, u64> = plan.include.iter().map(|item| (*item, 0)).collect();
    for held in HELD.iter().filter(|h| plan.moves(h.item)) {
        let n = match (held.moves, plan.customers_to, to) {
            (_, CustomersTo::Pool(pool), _) if plan.pools_item(held.item) => {
                let entries = held_ids(conn, tenant, held, plan.from).await?;
                let entries: Vec<(Uuid, Uuid)> = entries.into_iter().map(|id| (id, plan.from.uuid())).collect();
                let subject =
                    if held.item == HandoverItem::Leads { PoolSubject::Leads } else { PoolSubject::Customers };
                let action = (PoolAction::Release, plan.reason.as_str());
                crate::sales::pool_move::put(conn, author, subject, pool, &entries, action, Utc::now()).await?
            }
            (_, _, None) => 0,
            // Customers with a pool target went to the pool above.
            (Moves::Customers, _, Some(receiver)) => {
                let ids = held_ids(conn, tenant, held, plan.from).await?;
                let moving: Vec<(Uuid, Option<Uuid>)> =
                    ids.into_iter().map(|id| (id, Some(plan.from.uuid()))).collect();
                let recount = Recount::WholeOwner(plan.from.uuid());
                move_customers(conn, author, &moving, receiver, (&plan.reason, recount)).await?
            }
            (Moves::Records(kind), _, Some((to, _))) => move_records(conn, author, held, kind, plan.from, to).await?,
            (Moves::Links { key, kind, field }, _, Some((to, _))) => {
                move_links(conn, author, held, (key, kind, field), plan.from, to).await?
            }
            (Moves::Shares, _, Some((to, _))) => {
                crate::sharing::collaborator::hand_over(conn, author, plan.from, to).await?
            }
        };
        *moved.entry(held.item).or_default() += n;
    }
    if let Some((to, _)) = to {
        crate::sharing::collaborator::end_self_shares(conn, author, to).await?;
    }
    Ok(moved)
}

/// The ids of `held`'s rows `from` holds (customers, which move with the work-log counts).
async fn held_ids<C: ConnectionTrait>(conn: &C, tenant: TenantId, held: &Held, from: UserId) -> StoreResult<Vec<Uuid>> {
    let select = Query::select().column("id").from(held.table).and_where(held_by(tenant, held, from)).to_owned();
    let rows = conn.query_all(&select).await?;
    Ok(rows.iter().map(|r| r.try_get::<Uuid>("", "id")).collect::<Result<_, _>>()?)
}

/// Gives `from`'s open rows of a versioned table to `to`: one `UPDATE … RETURNING id`, and
/// a change event per record.
async fn move_records<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    held: &Held,
    kind: EntityKind,
    from: UserId,
    to: UserId,
) -> StoreResult<u64> {
    let now = Utc::now();
    let mut update = Query::update()
        .table(held.table)
        .value(held.column, to.uuid())
        .value("version", Expr::col("version").add(1))
        .value("updated_at", now)
        .and_where(held_by(author.tenant_id, held, from))
        .returning_col("id")
        .to_owned();
    if let Some(received) = held.received {
        update.value(received, now);
    }
    let rows = conn.query_all(&update).await?;
    let events: Vec<_> = rows
        .iter()
        .map(|r| {
            let id: Uuid = r.try_get("", "id")?;
            Ok((id, Operation::Update, ChangeSet::new().field("ownerId", from.uuid(), to.uuid())))
        })
        .collect::<StoreResult<_>>()?;
    let moved = events.len() as u64;
    audit::record_many(conn, author, kind, events).await?;
    Ok(moved)
}

/// Gives `from`'s open link rows (unique per `key` and user) to `to`: where `to` has the
/// link already, `from`'s ends. One change event per record of `kind` the key names.
async fn move_links<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    held: &Held,
    (key, kind, field): (&'static str, EntityKind, &'static str),
    from: UserId,
    to: UserId,
) -> StoreResult<u64> {
    let tenant = author.tenant_id;
    let receivers = Query::select()
        .column(key)
        .from(held.table)
        .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
        .and_where(Expr::col(held.column).eq(to.uuid()))
        .to_owned();
    let dropped = Query::delete()
        .from_table(held.table)
        .and_where(held_by(tenant, held, from))
        .and_where(Expr::col(key).in_subquery(receivers))
        .returning_col(key)
        .to_owned();
    let update = Query::update()
        .table(held.table)
        .value(held.column, to.uuid())
        .and_where(held_by(tenant, held, from))
        .returning_col(key)
        .to_owned();
    let mut records = Vec::new();
    for statement in [conn.query_all(&dropped).await?, conn.query_all(&update).await?] {
        for row in statement {
            records.push(row.try_get::<Uuid>("", key)?);
        }
    }
    let events: Vec<_> = records
        .iter()
        .map(|id| (*id, Operation::Update, ChangeSet::new().field(field, from.uuid(), to.uuid())))
        .collect();
    audit::record_many(conn, author, kind, events).await?;
    Ok(records.len() as u64)
}
