//! The reclaim: one SQL condition per rule, applied in batches by the hourly job (safe on several replicas), and the owners' warning before it.

use crate::db::Database;
use crate::entity::{customer, opportunity, pool};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::Author;
use crate::sales::pool::{RECLAIM_BATCH, all, find, put, watched_users};
use chrono::{DateTime, Utc};
use guanxi_domain::ids::{PoolId, TenantId};
use guanxi_domain::platform::access::ScopeRule;
use guanxi_domain::sales::opportunity::StageKind;
use guanxi_domain::sales::pool::{Pool, PoolAction, ReclaimKind, ReclaimRule, basis};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SimpleExpr};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;
use uuid::Uuid;

/// The condition "a live deal of the customer has this status".
fn has_deal(status: StageKind) -> SimpleExpr {
    let o = Alias::new("o");
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from_as(opportunity::Entity, o.clone())
            .and_where(
                Expr::col((o.clone(), opportunity::Column::TenantId))
                    .equals((customer::Entity, customer::Column::TenantId)),
            )
            .and_where(
                Expr::col((o.clone(), opportunity::Column::CustomerId))
                    .equals((customer::Entity, customer::Column::Id)),
            )
            .and_where(Expr::col((o.clone(), opportunity::Column::Status)).eq(status.as_str()))
            .and_where(Expr::col((o, opportunity::Column::DeletedAt)).is_null())
            .to_owned(),
    )
}

/// The condition "`rule` would take the customer back at `now`", for customers owned by
/// `watched`: owned, live, unlocked, of the rule's levels, past the rule's limit and not
/// exempt.
fn due_condition(tenant: TenantId, rule: &ReclaimRule, watched: &[Uuid], now: DateTime<Utc>) -> Condition {
    let cutoff = rule.cutoff(now);
    let received = Expr::from(Func::coalesce([
        Expr::col((customer::Entity, customer::Column::OwnerReceivedAt)),
        Expr::col((customer::Entity, customer::Column::CreatedAt)),
    ]));
    let mut due = Condition::all()
        .add(customer::Column::TenantId.eq(tenant.uuid()))
        .add(customer::Column::DeletedAt.is_null())
        .add(customer::Column::OwnerId.is_in(watched.iter().copied()))
        .add(customer::Column::Locked.eq(false))
        .add(received.lt(cutoff));
    if !rule.levels.is_empty() {
        due = due.add(customer::Column::Level.is_in(rule.levels.iter().cloned()));
    }
    due = match rule.kind {
        ReclaimKind::NoFollowUp => due.add(
            Condition::any()
                .add(customer::Column::LastInteractionAt.is_null())
                .add(customer::Column::LastInteractionAt.lt(cutoff)),
        ),
        ReclaimKind::NoDeal => due.add(has_deal(StageKind::Open).not()),
        ReclaimKind::NotWon => due.add(has_deal(StageKind::Won).not()),
    };
    if rule.exempt_won {
        due = due.add(has_deal(StageKind::Won).not());
    }
    if rule.exempt_open {
        due = due.add(has_deal(StageKind::Open).not());
    }
    due
}

/// Takes back up to `limit` customers that `rule` of `pool` finds due at `now`, after the
/// customer id `after` (a keyset over the customers' keys, so a long backlog is read once,
/// not from the start for every batch), in the caller's transaction. Returns how many
/// moved and the last customer id examined (none when the rule found nothing more).
pub async fn reclaim_batch<C: ConnectionTrait>(
    conn: &C,
    pool: &Pool,
    rule: &ReclaimRule,
    watched: &[Uuid],
    now: DateTime<Utc>,
    (after, limit): (Option<Uuid>, u64),
) -> StoreResult<(u64, Option<Uuid>)> {
    if watched.is_empty() {
        return Ok((0, None));
    }
    let tenant = pool.tenant_id;
    let mut select = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::OwnerId)
        .filter(due_condition(tenant, rule, watched, now));
    if let Some(after) = after {
        select = select.filter(customer::Column::Id.gt(after));
    }
    let due: Vec<(Uuid, Option<Uuid>)> =
        select.order_by_asc(customer::Column::Id).limit(limit).into_tuple().all(conn).await?;
    let last = (due.len() as u64 == limit).then(|| due.last().map(|(id, _)| *id)).flatten();
    let entries: Vec<(Uuid, Uuid)> = due.into_iter().filter_map(|(id, owner)| owner.map(|o| (id, o))).collect();
    let reason = rule.kind.reason(rule.days);
    let moved = put(conn, &Author::system(tenant), pool.id.uuid(), &entries, PoolAction::Reclaim, &reason, now).await?;
    Ok((moved, last))
}

/// Applies every rule of one pool at `now`, a batch per transaction, until nothing is
/// due. Safe to run on several replicas at once: each batch runs under the tenant's write
/// lock and moves only customers that still have an owner.
pub async fn reclaim_pool(db: &Database, tenant: TenantId, id: PoolId, now: DateTime<Utc>) -> StoreResult<u64> {
    reclaim_pool_in_batches(db, tenant, id, now, RECLAIM_BATCH).await
}

/// [`reclaim_pool`] with `batch` customers per transaction.
pub async fn reclaim_pool_in_batches(
    db: &Database,
    tenant: TenantId,
    id: PoolId,
    now: DateTime<Utc>,
    batch: u64,
) -> StoreResult<u64> {
    let mut total = 0;
    let Some(pool) = find(db.connection(), tenant, id).await? else { return Ok(0) };
    let watched = watched_users(db.connection(), tenant, &pool).await?;
    for rule in &pool.settings.rules {
        let mut after = None;
        loop {
            let tx = db.begin_tenant_write(tenant).await?;
            let (moved, last) = reclaim_batch(&tx, &pool, rule, &watched, now, (after, Ord::max(batch, 1))).await?;
            tx.commit().await?;
            total += moved;
            match last {
                Some(last) => after = Some(last),
                None => break,
            }
        }
    }
    Ok(total)
}

/// The automatic reclaim over every tenant's pools that have it on, oldest pool first
/// (a customer whose owner is in two pools goes to the older one).
pub async fn reclaim_all(db: &Database, now: DateTime<Utc>) -> StoreResult<u64> {
    let pools: Vec<(Uuid, Uuid)> = pool::Entity::find()
        .select_only()
        .column(pool::Column::TenantId)
        .column(pool::Column::Id)
        .filter(pool::Column::AutoReclaim.eq(true))
        .order_by_asc(pool::Column::TenantId)
        .order_by_asc(pool::Column::CreatedAt)
        .into_tuple()
        .all(db.connection())
        .await?;
    let mut total = 0;
    for (tenant, pool) in pools {
        match reclaim_pool(db, TenantId::from_uuid(tenant), PoolId::from_uuid(pool), now).await {
            Ok(moved) => total += moved,
            // A pool whose stored settings do not decode is skipped, loudly; the others run.
            Err(error @ StoreError::Corrupt { .. }) => {
                tracing::error!(%error, %tenant, %pool, "pool reclaim skipped: its stored settings do not decode");
            }
            Err(error) => return Err(error),
        }
    }
    Ok(total)
}

/// A customer the automatic reclaim will take back soon (the owner's warning).
#[derive(Clone, Debug, PartialEq)]
pub struct Due {
    pub customer_id: Uuid,
    pub pool_id: PoolId,
    pub kind: ReclaimKind,
    pub due_at: DateTime<Utc>,
}

/// The customers visible under `rule_scope` that an automatic pool's rule takes back
/// within `within_days` (default: each pool's warning days), soonest first, at most
/// `limit`. One statement per pool rule.
pub async fn due_for_reclaim<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: ScopeRule,
    within_days: Option<u32>,
    now: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<Due>> {
    let backend = conn.get_database_backend();
    let mut soonest: HashMap<Uuid, Due> = HashMap::new();
    for pool in all(conn, tenant).await?.into_iter().filter(|p| p.settings.auto_reclaim) {
        let watched = watched_users(conn, tenant, &pool).await?;
        if watched.is_empty() {
            continue;
        }
        let horizon = chrono::Duration::days(i64::from(within_days.unwrap_or(pool.settings.warn_days)));
        for rule in &pool.settings.rules {
            #[allow(clippy::type_complexity)]
            let rows: Vec<(Uuid, Option<DateTime<Utc>>, DateTime<Utc>, Option<DateTime<Utc>>)> =
                customer::Entity::find()
                    .select_only()
                    .column(customer::Column::Id)
                    .column(customer::Column::OwnerReceivedAt)
                    .column(customer::Column::CreatedAt)
                    .column(customer::Column::LastInteractionAt)
                    .filter(due_condition(tenant, rule, &watched, now + horizon))
                    .filter(crate::scope::owner_condition(
                        backend,
                        tenant,
                        scope,
                        (customer::Entity, customer::Column::OwnerId),
                    ))
                    .limit(limit)
                    .into_tuple()
                    .all(conn)
                    .await?;
            for (id, received, created, last) in rows {
                let due_at = rule.due_at(basis(rule.kind, received.unwrap_or(created), last));
                let due = Due { customer_id: id, pool_id: pool.id, kind: rule.kind, due_at };
                match soonest.get(&id) {
                    Some(d) if d.due_at <= due_at => {}
                    _ => {
                        soonest.insert(id, due);
                    }
                }
            }
        }
    }
    let mut due: Vec<Due> = soonest.into_values().collect();
    due.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.customer_id.cmp(&b.customer_id)));
    due.truncate(limit as usize);
    Ok(due)
}
