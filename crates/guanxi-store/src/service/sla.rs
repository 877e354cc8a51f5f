//! The service-level breach job's store side: marks each missed deadline once, across
//! every tenant, and escalates it.
//!
//! A deadline is marked by one conditional `UPDATE … SET response_breached_at = now WHERE
//! response_breached_at IS NULL AND accepted_at IS NULL AND response_due_at < now …
//! RETURNING …`, so of two runners racing only one marks an order (the job's lease keeps
//! them apart already; this holds without it). Each order marked gets a change event (so
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

/// Marks every deadline missed by `now`, once; returns how many were marked.
pub async fn mark_breaches<C: ConnectionTrait>(conn: &C, now: DateTime<Utc>) -> StoreResult<u64> {
    let mut marked = 0;
    for missed in [Missed::Response, Missed::Resolution] {
        use work_order::Column as W;
        let (due, breached, met) = match missed {
            Missed::Response => (W::ResponseDueAt, W::ResponseBreachedAt, W::AcceptedAt),
            Missed::Resolution => (W::ResolutionDueAt, W::ResolutionBreachedAt, W::CompletedAt),
        };
        let rows = work_order::Entity::update_many()
            .col_expr(breached, Expr::value(now))
            .col_expr(W::Version, Expr::col(W::Version).add(1))
            .col_expr(W::UpdatedAt, Expr::value(now))
            .filter(breached.is_null())
            .filter(met.is_null())
            .filter(due.lt(now))
            .filter(W::Status.ne(WorkOrderStatus::Cancelled.as_str()))
            .exec_with_returning(conn)
            .await?;
        marked += rows.len() as u64;
        escalate(conn, missed, &rows, now).await?;
    }
    Ok(marked)
}

/// The change events and notices of the orders just marked.
async fn escalate<C: ConnectionTrait>(
    conn: &C,
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
    for row in rows {
        let author = Author::system(TenantId::from_uuid(row.tenant_id));
        let changes = ChangeSet::new().field(field, (), now);
        audit::record(conn, &author, EntityKind::WorkOrder, row.id, Operation::Update, &changes).await?;
    }
    // The agents' managers, one statement.
    let owners: Vec<Uuid> = rows.iter().filter_map(|r| r.owner_id).collect();
    let managers: Vec<(Uuid, Uuid, Option<Uuid>)> = if owners.is_empty() {
        vec![]
    } else {
        user::Entity::find()
            .select_only()
            .column(user::Column::TenantId)
            .column(user::Column::Id)
            .column(user::Column::ManagerId)
            .filter(user::Column::Id.is_in(owners))
            .into_tuple()
            .all(conn)
            .await?
    };
    let today = guanxi_domain::customers::customer::shanghai_date(now);
    let mut notices = Vec::new();
    for row in rows {
        let Some(owner) = row.owner_id else { continue };
        let manager = managers.iter().find(|(t, id, _)| *t == row.tenant_id && *id == owner).and_then(|(.., m)| *m);
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
