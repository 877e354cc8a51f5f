//! The service-level breach job's store side: marks each missed deadline once, across
//! every tenant, and escalates it.
//!
//! Tenant by tenant, in the tenant's write transaction (its lock first, as every writer
//! takes it), a deadline is marked by one conditional `UPDATE … SET response_breached_at
//! = now WHERE response_breached_at IS NULL AND accepted_at IS NULL AND response_due_at <
//! now … RETURNING …`, at most [`BATCH`] a run, so of two runners racing only one marks an
//! order (the job's lease keeps them apart already; this holds without it). Each order marked gets a change event (so
//! `workOrderUpdated` delivers it), its agent a notice and the agent's manager (the
//! service manager) an escalation, each written once per order, kind and day.

use chrono::{DateTime, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::service::work_order::WorkOrderStatus;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::entity::{user, work_order};
use crate::error::StoreResult;
use crate::platform::audit::{self, Author};

/// Which deadline a breach is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Missed {
    Response,
    Resolution,
}

impl Missed {
    /// The notice to the order's agent, and the escalation to their manager.
    fn notices(self) -> (&'static str, &'static str) {
        match self {
            Missed::Response => ("WO_RESPONSE_BREACHED", "WO_RESPONSE_ESCALATED"),
            Missed::Resolution => ("WO_RESOLUTION_BREACHED", "WO_RESOLUTION_ESCALATED"),
        }
    }

    fn words(self) -> &'static str {
        match self {
            Missed::Response => "超时未受理",
            Missed::Resolution => "超时未解决",
        }
    }
}

/// The most deadlines of one tenant one run marks (the rest wait for the next run).
pub const BATCH: u64 = 500;

fn columns(missed: Missed) -> (work_order::Column, work_order::Column, work_order::Column) {
    use work_order::Column as W;
    match missed {
        Missed::Response => (W::ResponseDueAt, W::ResponseBreachedAt, W::AcceptedAt),
        Missed::Resolution => (W::ResolutionDueAt, W::ResolutionBreachedAt, W::CompletedAt),
    }
}

/// The orders whose `missed` deadline passed by `now` and is not marked yet.
fn pending(missed: Missed, now: DateTime<Utc>) -> sea_orm::Select<work_order::Entity> {
    let (due, breached, met) = columns(missed);
    work_order::Entity::find()
        .filter(breached.is_null())
        .filter(met.is_null())
        .filter(due.lt(now))
        .filter(work_order::Column::Status.ne(WorkOrderStatus::Cancelled.as_str()))
}

/// The tenants with a deadline to mark at `now` (read through the partial indexes).
pub async fn tenants_due<C: ConnectionTrait>(conn: &C, now: DateTime<Utc>) -> StoreResult<Vec<TenantId>> {
    let mut tenants: Vec<Uuid> = Vec::new();
    for missed in [Missed::Response, Missed::Resolution] {
        let found: Vec<Uuid> = pending(missed, now)
            .select_only()
            .column(work_order::Column::TenantId)
            .distinct()
            .into_tuple()
            .all(conn)
            .await?;
        tenants.extend(found);
    }
    tenants.sort();
    tenants.dedup();
    Ok(tenants.into_iter().map(TenantId::from_uuid).collect())
}

/// Marks `tenant`'s deadlines missed by `now`, at most [`BATCH`] of each kind, once each;
/// returns how many were marked. Run it in the tenant's write transaction, so it takes
/// the tenant's lock before any order's, as every writer does.
pub async fn mark_breaches<C: ConnectionTrait>(conn: &C, tenant: TenantId, now: DateTime<Utc>) -> StoreResult<u64> {
    use sea_orm::QueryTrait;
    use work_order::Column as W;
    let mut marked = 0;
    for missed in [Missed::Response, Missed::Resolution] {
        let (_, breached, _) = columns(missed);
        let batch = pending(missed, now)
            .select_only()
            .column(W::Id)
            .filter(W::TenantId.eq(tenant.uuid()))
            .limit(BATCH)
            .into_query();
        let rows = work_order::Entity::update_many()
            .col_expr(breached, Expr::value(now))
            .col_expr(W::Version, Expr::col(W::Version).add(1))
            .col_expr(W::UpdatedAt, Expr::value(now))
            .filter(W::TenantId.eq(tenant.uuid()))
            .filter(W::Id.in_subquery(batch))
            .filter(breached.is_null())
            .exec_with_returning(conn)
            .await?;
        marked += rows.len() as u64;
        escalate(conn, tenant, missed, &rows, now).await?;
    }
    Ok(marked)
}

/// The change events and notices of the orders just marked.
async fn escalate<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    missed: Missed,
    rows: &[work_order::Model],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let field = match missed {
        Missed::Response => "responseBreachedAt",
        Missed::Resolution => "resolutionBreachedAt",
    };
    let events = rows.iter().map(|row| (row.id, Operation::Update, ChangeSet::new().field(field, (), now))).collect();
    audit::record_many(conn, &Author::system(tenant), EntityKind::WorkOrder, events).await?;
    // The agents' managers, one statement.
    let mut owners: Vec<Uuid> = rows.iter().filter_map(|r| r.owner_id).collect();
    owners.sort();
    owners.dedup();
    let managers: Vec<(Uuid, Option<Uuid>)> = if owners.is_empty() {
        vec![]
    } else {
        user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::ManagerId)
            .filter(user::Column::TenantId.eq(tenant.uuid()))
            .filter(user::Column::Id.is_in(owners))
            .into_tuple()
            .all(conn)
            .await?
    };
    let today = guanxi_domain::customers::customer::shanghai_date(now);
    let mut notices = Vec::new();
    for row in rows {
        let Some(owner) = row.owner_id else { continue };
        let manager = managers.iter().find(|(id, _)| *id == owner).and_then(|(_, m)| *m);
        let message = format!("工单 {} {}：{}", row.number, missed.words(), row.subject);
        let (breached, escalated) = missed.notices();
        for (person, kind) in std::iter::once((owner, breached)).chain(manager.map(|m| (m, escalated))) {
            notices.push(crate::finance::receivable::notice_row(
                row.tenant_id,
                person,
                (kind, EntityKind::WorkOrder.name()),
                (row.id, today),
                message.clone(),
                now,
            ));
        }
    }
    crate::finance::receivable::insert_notices(conn, notices).await?;
    Ok(())
}
