//! Leases for background jobs, so that of several gateway replicas exactly one runs each
//! due job. A lease is a row per (tenant, job); taking it is one conditional UPDATE, which
//! both engines serialise, so two replicas racing for a due job cannot both win.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entity::job_lease;
use crate::error::StoreResult;

/// Takes the lease of `job` for `holder` if the job is due and nobody holds a live lease.
/// On success the next run is scheduled `interval` from now.
pub async fn try_lease<C: ConnectionTrait>(
    conn: &C,
    tenant: Uuid,
    job: &str,
    holder: &str,
    now: DateTime<Utc>,
    lease_for: Duration,
    interval: Duration,
) -> StoreResult<bool> {
    let inserted = job_lease::Entity::insert(job_lease::ActiveModel {
        tenant_id: Set(tenant),
        job_name: Set(job.to_owned()),
        holder: Set(None),
        leased_until: Set(None),
        next_run_at: Set(now),
        last_started_at: Set(None),
        last_finished_at: Set(None),
        run_count: Set(0),
    })
    .on_conflict(OnConflict::columns([job_lease::Column::TenantId, job_lease::Column::JobName]).do_nothing().to_owned())
    .exec_without_returning(conn)
    .await;
    match inserted {
        Ok(_) | Err(DbErr::RecordNotInserted) => {}
        Err(e) => return Err(e.into()),
    }
    let taken = job_lease::Entity::update_many()
        .col_expr(job_lease::Column::Holder, Expr::value(holder))
        .col_expr(job_lease::Column::LeasedUntil, Expr::value(now + lease_for))
        .col_expr(job_lease::Column::LastStartedAt, Expr::value(now))
        .col_expr(job_lease::Column::NextRunAt, Expr::value(now + interval))
        .col_expr(job_lease::Column::RunCount, Expr::col(job_lease::Column::RunCount).add(1))
        .filter(job_lease::Column::TenantId.eq(tenant))
        .filter(job_lease::Column::JobName.eq(job))
        .filter(job_lease::Column::NextRunAt.lte(now))
        .filter(
            Condition::any().add(job_lease::Column::LeasedUntil.is_null()).add(job_lease::Column::LeasedUntil.lt(now)),
        )
        .exec(conn)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Gives the lease back after a run.
pub async fn release<C: ConnectionTrait>(conn: &C, tenant: Uuid, job: &str, holder: &str) -> StoreResult<()> {
    job_lease::Entity::update_many()
        .col_expr(job_lease::Column::Holder, Expr::value(None::<String>))
        .col_expr(job_lease::Column::LeasedUntil, Expr::value(None::<DateTime<Utc>>))
        .col_expr(job_lease::Column::LastFinishedAt, Expr::value(Utc::now()))
        .filter(job_lease::Column::TenantId.eq(tenant))
        .filter(job_lease::Column::JobName.eq(job))
        .filter(job_lease::Column::Holder.eq(holder))
        .exec(conn)
        .await?;
    Ok(())
}

/// How many times a job has run (for tests and metrics).
pub async fn run_count<C: ConnectionTrait>(conn: &C, tenant: Uuid, job: &str) -> StoreResult<i64> {
    Ok(job_lease::Entity::find_by_id((tenant, job.to_owned())).one(conn).await?.map(|l| l.run_count).unwrap_or(0))
}
