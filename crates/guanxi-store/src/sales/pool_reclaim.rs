//! The reclaim: one SQL condition per rule, applied in batches by the hourly job (safe on
//! several replicas), and the owners' warning before it. A rule watches customers or
//! leads; a lead rule takes back open leads nobody followed up.

use crate::db::Database;
use crate::entity::{customer, lead, opportunity, pool};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::Author;
use crate::sales::pool::{RECLAIM_BATCH, all, find, watched_users};
use crate::sales::pool_move::put;
use chrono::{DateTime, Utc};
use guanxi_domain::ids::{PoolId, TenantId};
use guanxi_domain::leads::lead::LeadStatus;
use guanxi_domain::platform::access::ScopeRule;
use guanxi_domain::sales::opportunity::StageKind;
use guanxi_domain::sales::pool::{Pool, PoolAction, PoolSubject, ReclaimKind, ReclaimRule, basis};
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
    let received =
        received_before((customer::Entity, customer::Column::OwnerReceivedAt, customer::Column::CreatedAt), cutoff);
    let mut due = Condition::all()
        .add(customer::Column::TenantId.eq(tenant.uuid()))
        .add(customer::Column::DeletedAt.is_null())
        .add(customer::Column::OwnerId.is_in(watched.iter().copied()))
        .add(customer::Column::Locked.eq(false))
        .add(received);
    if !rule.levels.is_empty() {
        due = due.add(customer::Column::Level.is_in(rule.levels.iter().cloned()));
    }
    due = match rule.kind {
        ReclaimKind::NoFollowUp => due.add(quiet_since(customer::Column::LastInteractionAt, cutoff)),
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

/// The condition "lead `rule` would take the lead back at `now`", for leads owned by
/// `watched`: live, open, owned since before the cutoff and not followed up since.
fn lead_due_condition(tenant: TenantId, rule: &ReclaimRule, watched: &[Uuid], now: DateTime<Utc>) -> Condition {
    let cutoff = rule.cutoff(now);
    Condition::all()
        .add(lead::Column::TenantId.eq(tenant.uuid()))
        .add(lead::Column::DeletedAt.is_null())
        .add(lead::Column::OwnerId.is_in(watched.iter().copied()))
        .add(lead::Column::Status.is_in(LeadStatus::OPEN.iter().map(|s| s.as_str())))
        .add(received_before((lead::Entity, lead::Column::OwnerReceivedAt, lead::Column::CreatedAt), cutoff))
        .add(quiet_since(lead::Column::LastActivityAt, cutoff))
}

/// "Its owner received it (or, never given, it was created) before `cutoff`".
fn received_before<E: EntityTrait>(
    (entity, received, created): (E, E::Column, E::Column),
    cutoff: DateTime<Utc>,
) -> SimpleExpr {
    Expr::from(Func::coalesce([Expr::col((entity, received)), Expr::col((entity, created))])).lt(cutoff)
}

/// "Nobody followed it up since `cutoff`" (`last` is the time of the last follow-up).
fn quiet_since<Col: ColumnTrait>(last: Col, cutoff: DateTime<Utc>) -> Condition {
    Condition::any().add(last.is_null()).add(last.lt(cutoff))
}

/// Up to `limit` `(id, owner)` of `E` meeting `due`, after the id `after`, by id.
async fn due_rows<E: EntityTrait, C: ConnectionTrait>(
    conn: &C,
    due: Condition,
    (id, owner): (E::Column, E::Column),
    (after, limit): (Option<Uuid>, u64),
) -> StoreResult<Vec<(Uuid, Option<Uuid>)>> {
    let mut select = E::find().select_only().column(id).column(owner).filter(due);
    if let Some(after) = after {
        select = select.filter(id.gt(after));
    }
    Ok(select.order_by_asc(id).limit(limit).into_tuple().all(conn).await?)
}

/// Takes back up to `limit` customers (or leads) that `rule` of `pool` finds due at
/// `now`, after the id `after` (a keyset over their keys, so a long backlog is read once,
/// not from the start for every batch), in the caller's transaction. Returns how many
/// moved and the last id examined (none when the rule found nothing more).
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
    let due = match rule.applies_to {
        PoolSubject::Customers => {
            let columns = (customer::Column::Id, customer::Column::OwnerId);
            due_rows::<customer::Entity, C>(conn, due_condition(tenant, rule, watched, now), columns, (after, limit))
                .await?
        }
        PoolSubject::Leads => {
            let columns = (lead::Column::Id, lead::Column::OwnerId);
            due_rows::<lead::Entity, C>(conn, lead_due_condition(tenant, rule, watched, now), columns, (after, limit))
                .await?
        }
    };
    let last = (due.len() as u64 == limit).then(|| due.last().map(|(id, _)| *id)).flatten();
    let entries: Vec<(Uuid, Uuid)> = due.into_iter().filter_map(|(id, owner)| owner.map(|o| (id, o))).collect();
    let reason = rule.kind.reason(rule.days);
    let author = Author::system(tenant);
    let action = (PoolAction::Reclaim, reason.as_str());
    let moved = put(conn, &author, rule.applies_to, pool.id.uuid(), &entries, action, now).await?;
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
        // Leads have no warning list yet: the owners' warning covers customers.
        for rule in pool.settings.rules.iter().filter(|r| r.applies_to == PoolSubject::Customers) {
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
