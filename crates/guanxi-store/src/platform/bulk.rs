//! Bulk jobs (批量导入任务): a job row, its uploaded file cut into batches, and its failed
//! rows. Any number of replicas run jobs side by side: a runner claims one batch at a
//! time (`FOR UPDATE SKIP LOCKED` on PostgreSQL, SQLite's single writer serialising) with
//! a lease and a token, and marks it done in the transaction that adds its counts to the
//! job, only while it still holds the lease. A batch whose runner died is claimed again
//! when its lease runs out; the upsert it runs is keyed by the batch (see the gateway's
//! `bulk` module), so its rows are written once however often it is tried. The rules are
//! in [`guanxi_domain::platform::bulk`].

use chrono::{DateTime, Duration, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::access::ScopeRule;
use guanxi_domain::platform::bulk::{Format, Job, JobKind, JobState, RawRow, RowFailure, Tally};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{bulk_job, bulk_job_batch, bulk_job_failure};
use crate::error::{StoreError, StoreResult};
use crate::page::{CursorValue, Direction, Page, PageRequest, SortKey, Tiebreak};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Scoped};

const ENTITY: EntityKind = EntityKind::BulkJob;

fn to_domain(m: bulk_job::Model) -> StoreResult<Job> {
    let cell = |column| Cell::of("bulk_jobs", m.id, column);
    Ok(Job {
        id: m.id,
        kind: cell("kind").text(&m.kind, JobKind::parse)?,
        format: cell("format").text(&m.format, Format::parse)?,
        source: m.source,
        confirm_duplicates: m.confirm_duplicates,
        state: cell("state").text(&m.state, JobState::parse)?,
        created_by: m.created_by,
        api_key_id: m.api_key_id,
        columns: cell("columns").json(m.columns)?,
        total_rows: m.total_rows,
        batch_count: m.batch_count,
        processed_rows: m.processed_rows,
        created_rows: m.created_rows,
        updated_rows: m.updated_rows,
        unchanged_rows: m.unchanged_rows,
        failed_rows: m.failed_rows,
        error: m.error,
        created_at: m.created_at,
        uploaded_at: m.uploaded_at,
        finished_at: m.finished_at,
        version: m.version,
    })
}

/// Jobs read through their creator: a job is seen by whoever created it.
pub struct Jobs;

impl Scoped for Jobs {
    type Entity = bulk_job::Entity;
    type Scope = ScopeRule;
    type Record = Job;
    const ID: bulk_job::Column = bulk_job::Column::Id;
    const DELETED_AT: Option<bulk_job::Column> = None;

    fn visible(backend: DbBackend, tenant: TenantId, rule: ScopeRule) -> Select<bulk_job::Entity> {
        bulk_job::Entity::find().filter(bulk_job::Column::TenantId.eq(tenant.uuid())).filter(
            crate::scope::owner_condition(backend, tenant, rule, (bulk_job::Entity, bulk_job::Column::CreatedBy)),
        )
    }

    fn to_domain(model: bulk_job::Model) -> StoreResult<Job> {
        to_domain(model)
    }
}

/// The rule a caller reads jobs with: their own.
pub fn creator(user: Uuid) -> ScopeRule {
    ScopeRule::OwnedBy(guanxi_domain::ids::UserId::from_uuid(user))
}

/// A job of `user`'s.
pub async fn find<C: ConnectionTrait>(conn: &C, tenant: TenantId, user: Uuid, id: Uuid) -> StoreResult<Option<Job>> {
    repo::find::<Jobs, _>(conn, tenant, creator(user), id).await
}

/// `user`'s jobs, newest first, in `states` when given.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    user: Uuid,
    states: &[JobState],
    request: &PageRequest,
) -> StoreResult<Page<Job>> {
    let select = in_states(conn.get_database_backend(), tenant, user, states);
    let key = SortKey {
        name: "CREATED_AT",
        column: bulk_job::Column::Id,
        direction: Direction::Desc,
        value: |m: &bulk_job::Model| CursorValue::Uuid(m.id),
    };
    let tiebreak = Tiebreak { column: bulk_job::Column::Id, value: |m: &bulk_job::Model| CursorValue::Uuid(m.id) };
    crate::page::fetch(conn, select, &key, &tiebreak, request).await?.try_map(to_domain)
}

/// How many of `user`'s jobs are in `states` (all, when empty).
pub async fn count<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    user: Uuid,
    states: &[JobState],
    limit: Option<u64>,
) -> StoreResult<u64> {
    crate::repo::tally(conn, in_states(conn.get_database_backend(), tenant, user, states), limit).await
}

/// `user`'s jobs in `states` (all, when empty).
fn in_states(backend: DbBackend, tenant: TenantId, user: Uuid, states: &[JobState]) -> Select<bulk_job::Entity> {
    let select = Jobs::visible(backend, tenant, creator(user));
    match states {
        [] => select,
        states => select.filter(bulk_job::Column::State.is_in(states.iter().map(|s| s.as_str()))),
    }
}

/// A checked new job.
pub struct NewJob {
    pub kind: JobKind,
    pub format: Format,
    pub source: String,
    pub confirm_duplicates: bool,
    /// The API key the job was created with, whose role its batches run with.
    pub api_key_id: Option<Uuid>,
}

/// Creates a job of the author's, waiting for its file.
pub async fn create<C: ConnectionTrait>(conn: &C, author: &Author, new: NewJob) -> StoreResult<Job> {
    let user = author
        .user_id
        .ok_or_else(|| StoreError::rejected("kind", ErrorCode::Forbidden, "a job runs as a user: create it as one"))?;
    let now = Utc::now();
    let model = bulk_job::Entity::insert(bulk_job::ActiveModel {
        tenant_id: Set(author.tenant_id.uuid()),
        id: Set(Uuid::now_v7()),
        kind: Set(new.kind.as_str().to_owned()),
        format: Set(new.format.as_str().to_owned()),
        source: Set(new.source),
        confirm_duplicates: Set(new.confirm_duplicates),
        state: Set(JobState::Open.as_str().to_owned()),
        created_by: Set(user),
        api_key_id: Set(new.api_key_id),
        columns: Set(serde_json::Value::Array(Vec::new())),
        total_rows: Set(0),
        batch_count: Set(0),
        processed_rows: Set(0),
        created_rows: Set(0),
        updated_rows: Set(0),
        unchanged_rows: Set(0),
        failed_rows: Set(0),
        error: Set(None),
        uploaded_at: Set(None),
        finished_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await?;
    let changes = ChangeSet::new()
        .field("kind", (), &model.kind)
        .field("format", (), &model.format)
        .field("source", (), &model.source)
        .field("state", (), &model.state);
    audit::record(conn, author, ENTITY, model.id, Operation::Create, &changes).await?;
    to_domain(model)
}

/// Moves a job from `from` to `to` with `set` applied, recording the change; the job must
/// be `user`'s (any user's for `None`) and in one of `from`. Answers the job as it is now.
async fn move_state<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, user): (Uuid, Option<Uuid>),
    (from, to): (&[JobState], JobState),
    set: impl FnOnce(sea_orm::UpdateMany<bulk_job::Entity>) -> sea_orm::UpdateMany<bulk_job::Entity>,
) -> StoreResult<Job> {
    let tenant = author.tenant_id;
    let mut update = bulk_job::Entity::update_many()
        .col_expr(bulk_job::Column::State, Expr::value(to.as_str()))
        .col_expr(bulk_job::Column::Version, Expr::col(bulk_job::Column::Version).add(1))
        .col_expr(bulk_job::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(bulk_job::Column::TenantId.eq(tenant.uuid()))
        .filter(bulk_job::Column::Id.eq(id))
        .filter(bulk_job::Column::State.is_in(from.iter().map(|s| s.as_str())));
    if let Some(user) = user {
        update = update.filter(bulk_job::Column::CreatedBy.eq(user));
    }
    let moved = set(update).exec(conn).await?.rows_affected == 1;
    let job = bulk_job::Entity::find_by_id((tenant.uuid(), id))
        .one(conn)
        .await?
        .filter(|m| user.is_none_or(|u| m.created_by == u))
        .ok_or(StoreError::NotFound)
        .and_then(to_domain)?;
    if !moved {
        let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        return Err(StoreError::rejected(
            "id",
            ErrorCode::IllegalState,
            format!("the job is {}, not {}", job.state.as_str(), allowed.join(" or ")),
        ));
    }
    let mut changes = ChangeSet::new().field("state", (), to.as_str());
    if let Some(error) = &job.error {
        changes = changes.field("error", (), error);
    }
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(job)
}

/// How long an upload may go without a batch before another may take its place (its
/// server died, or its handler was cut off before it could undo it).
pub const STALE_UPLOAD: Duration = Duration::minutes(10);

/// Takes an open job's upload; a second upload, or one to a job past it, is refused. An
/// upload that has written nothing for [`STALE_UPLOAD`] is undone first, so the job takes
/// its file again.
pub async fn begin_upload<C: ConnectionTrait>(conn: &C, author: &Author, id: Uuid) -> StoreResult<Job> {
    let user = author.user_id.ok_or(StoreError::NotFound)?;
    let stale = bulk_job::Entity::find()
        .filter(bulk_job::Column::TenantId.eq(author.tenant_id.uuid()))
        .filter(bulk_job::Column::Id.eq(id))
        .filter(bulk_job::Column::CreatedBy.eq(user))
        .filter(bulk_job::Column::State.eq(JobState::Uploading.as_str()))
        .filter(bulk_job::Column::UpdatedAt.lt(Utc::now() - STALE_UPLOAD))
        .one(conn)
        .await?;
    if stale.is_some() {
        cancel_upload(conn, author, id).await?;
    }
    move_state(conn, author, (id, Some(user)), (&[JobState::Open], JobState::Uploading), |u| u).await
}

/// Writes one batch of an uploading job's rows.
pub async fn add_batch<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    job: Uuid,
    (batch_no, first_row): (i32, i64),
    rows: &[RawRow],
) -> StoreResult<()> {
    bulk_job_batch::Entity::insert(bulk_job_batch::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        job_id: Set(job),
        batch_no: Set(batch_no),
        first_row: Set(first_row),
        row_count: Set(rows.len() as i32),
        rows: Set(serde_json::Value::Array(rows.iter().map(RawRow::to_json).collect())),
        attempts: Set(0),
        lease_until: Set(None),
        lease_token: Set(None),
        done_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    // The upload is alive (see `STALE_UPLOAD`).
    bulk_job::Entity::update_many()
        .col_expr(bulk_job::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(bulk_job::Column::TenantId.eq(tenant.uuid()))
        .filter(bulk_job::Column::Id.eq(job))
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends an upload: the job is queued with its row and batch counts (completed at once when
/// the file held no row).
pub async fn finish_upload<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    columns: &[String],
    (total_rows, batch_count): (i64, i32),
) -> StoreResult<Job> {
    let now = Utc::now();
    let to = if total_rows == 0 { JobState::Completed } else { JobState::Queued };
    move_state(conn, author, (id, None), (&[JobState::Uploading], to), |u| {
        u.col_expr(bulk_job::Column::Columns, Expr::value(serde_json::Value::from(columns.to_vec())))
            .col_expr(bulk_job::Column::TotalRows, Expr::value(total_rows))
            .col_expr(bulk_job::Column::BatchCount, Expr::value(batch_count))
            .col_expr(bulk_job::Column::UploadedAt, Expr::value(now))
            .col_expr(bulk_job::Column::FinishedAt, Expr::value((to == JobState::Completed).then_some(now)))
    })
    .await
}

/// Undoes an upload that broke off: its batches go, and the job waits for its file again.
pub async fn cancel_upload<C: ConnectionTrait>(conn: &C, author: &Author, id: Uuid) -> StoreResult<Job> {
    bulk_job_batch::Entity::delete_many()
        .filter(bulk_job_batch::Column::TenantId.eq(author.tenant_id.uuid()))
        .filter(bulk_job_batch::Column::JobId.eq(id))
        .exec(conn)
        .await?;
    move_state(conn, author, (id, None), (&[JobState::Uploading], JobState::Open), |u| u).await
}

/// Stops a job of the author's that is not over; rows already processed stay written.
pub async fn abort<C: ConnectionTrait>(conn: &C, author: &Author, id: Uuid) -> StoreResult<Job> {
    let user = author.user_id.ok_or(StoreError::NotFound)?;
    let live = [JobState::Open, JobState::Uploading, JobState::Queued];
    let job = move_state(conn, author, (id, Some(user)), (&live, JobState::Aborted), |u| {
        u.col_expr(bulk_job::Column::FinishedAt, Expr::value(Utc::now()))
    })
    .await?;
    drop_pending(conn, author.tenant_id, id).await?;
    Ok(job)
}

/// Deletes a job's batches not yet done: the job is over, and nothing will run them.
async fn drop_pending<C: ConnectionTrait>(conn: &C, tenant: TenantId, job: Uuid) -> StoreResult<()> {
    bulk_job_batch::Entity::delete_many()
        .filter(bulk_job_batch::Column::TenantId.eq(tenant.uuid()))
        .filter(bulk_job_batch::Column::JobId.eq(job))
        .filter(bulk_job_batch::Column::DoneAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Fails a queued job with `error` (the system's write); a job already over stays as it is.
pub async fn fail<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid, error: &str) -> StoreResult<bool> {
    let error: String = error.chars().take(500).collect();
    let failed = move_state(conn, &Author::system(tenant), (id, None), (&[JobState::Queued], JobState::Failed), |u| {
        u.col_expr(bulk_job::Column::Error, Expr::value(error))
            .col_expr(bulk_job::Column::FinishedAt, Expr::value(Utc::now()))
    })
    .await;
    match failed {
        Ok(_) => drop_pending(conn, tenant, id).await.map(|()| true),
        Err(StoreError::Rejected(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A batch a runner holds.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub tenant: TenantId,
    pub job: Job,
    pub batch_no: i32,
    pub first_row: i64,
    pub rows: Vec<RawRow>,
    /// Attempts at it so far, this one included.
    pub attempts: i32,
    pub token: Uuid,
}

/// Claims the next batch due, of the oldest queued job of any tenant (or of job `only`):
/// not done, and not leased or leased by a runner whose lease ran out. The lease lasts
/// `lease_for` from `now`; `token` marks it as this runner's.
pub async fn claim(
    db: &crate::Database,
    (now, lease_for): (DateTime<Utc>, Duration),
    token: Uuid,
    only: Option<Uuid>,
) -> StoreResult<Option<Claimed>> {
    let tx = db.begin_write().await?;
    let free = Condition::any()
        .add(bulk_job_batch::Column::LeaseUntil.is_null())
        .add(bulk_job_batch::Column::LeaseUntil.lt(now));
    let queued = Expr::cust(format!(
        "EXISTS (SELECT 1 FROM bulk_jobs j WHERE j.tenant_id = bulk_job_batches.tenant_id \
         AND j.id = bulk_job_batches.job_id AND j.state = '{}')",
        JobState::Queued.as_str()
    ));
    let mut select = bulk_job_batch::Entity::find()
        .select_only()
        .columns([bulk_job_batch::Column::TenantId, bulk_job_batch::Column::JobId, bulk_job_batch::Column::BatchNo])
        .filter(bulk_job_batch::Column::DoneAt.is_null())
        .filter(free.clone())
        .filter(queued)
        .order_by_asc(bulk_job_batch::Column::JobId)
        .order_by_asc(bulk_job_batch::Column::BatchNo)
        .limit(1);
    if let Some(job) = only {
        select = select.filter(bulk_job_batch::Column::JobId.eq(job));
    }
    if tx.get_database_backend() == DbBackend::Postgres {
        select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let Some((tenant, job, batch_no)) = select.into_tuple::<(Uuid, Uuid, i32)>().one(&tx).await? else {
        tx.commit().await?;
        return Ok(None);
    };
    let taken = bulk_job_batch::Entity::update_many()
        .col_expr(bulk_job_batch::Column::LeaseUntil, Expr::value(now + lease_for))
        .col_expr(bulk_job_batch::Column::LeaseToken, Expr::value(token))
        .col_expr(bulk_job_batch::Column::Attempts, Expr::col(bulk_job_batch::Column::Attempts).add(1))
        .filter(bulk_job_batch::Column::TenantId.eq(tenant))
        .filter(bulk_job_batch::Column::JobId.eq(job))
        .filter(bulk_job_batch::Column::BatchNo.eq(batch_no))
        .filter(bulk_job_batch::Column::DoneAt.is_null())
        .filter(free)
        .exec(&tx)
        .await?
        .rows_affected
        == 1;
    tx.commit().await?;
    if !taken {
        return Ok(None);
    }
    let conn = db.connection();
    let Some(batch) = bulk_job_batch::Entity::find_by_id((tenant, job, batch_no)).one(conn).await? else {
        return Ok(None);
    };
    let Some(job) = bulk_job::Entity::find_by_id((tenant, job)).one(conn).await? else { return Ok(None) };
    let rows = match batch.rows {
        serde_json::Value::Array(rows) => rows.iter().map(RawRow::from_json).collect(),
        _ => Vec::new(),
    };
    Ok(Some(Claimed {
        tenant: TenantId::from_uuid(tenant),
        job: to_domain(job)?,
        batch_no,
        first_row: batch.first_row,
        rows,
        attempts: batch.attempts,
        token,
    }))
}

/// Marks a claimed batch done and adds its tally and failures to its job, in the caller's
/// transaction; the job completes with its last batch. Nothing happens, and `false` comes
/// back, when the runner no longer holds the batch (its lease ran out and another took it).
pub async fn finish_batch<C: ConnectionTrait>(
    conn: &C,
    claimed: &Claimed,
    tally: Tally,
    failures: Vec<RowFailure>,
) -> StoreResult<bool> {
    let (tenant, job) = (claimed.tenant.uuid(), claimed.job.id);
    let now = Utc::now();
    // Done, it lets go of its rows (the failed ones are kept with their errors).
    let marked = bulk_job_batch::Entity::update_many()
        .col_expr(bulk_job_batch::Column::DoneAt, Expr::value(now))
        .col_expr(bulk_job_batch::Column::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
        .col_expr(bulk_job_batch::Column::Rows, Expr::value(serde_json::Value::Array(Vec::new())))
        .filter(bulk_job_batch::Column::TenantId.eq(tenant))
        .filter(bulk_job_batch::Column::JobId.eq(job))
        .filter(bulk_job_batch::Column::BatchNo.eq(claimed.batch_no))
        .filter(bulk_job_batch::Column::LeaseToken.eq(claimed.token))
        .filter(bulk_job_batch::Column::DoneAt.is_null())
        .exec(conn)
        .await?
        .rows_affected
        == 1;
    if !marked {
        return Ok(false);
    }
    let rows = failures
        .into_iter()
        .map(|f| bulk_job_failure::ActiveModel {
            tenant_id: Set(tenant),
            job_id: Set(job),
            row_no: Set(f.row),
            external_id: Set(f.external_id.map(|k| k.chars().take(200).collect())),
            error: Set(f.error),
            record: Set(f.record.to_json()),
        })
        .collect();
    crate::insert_chunked(conn, rows).await?;
    let add = |column: bulk_job::Column, n: i64| (column, Expr::col(column).add(n));
    let mut update = bulk_job::Entity::update_many();
    for (column, value) in [
        add(bulk_job::Column::ProcessedRows, tally.processed),
        add(bulk_job::Column::CreatedRows, tally.created),
        add(bulk_job::Column::UpdatedRows, tally.updated),
        add(bulk_job::Column::UnchangedRows, tally.unchanged),
        add(bulk_job::Column::FailedRows, tally.failed),
        add(bulk_job::Column::Version, 1),
    ] {
        update = update.col_expr(column, value);
    }
    update
        .col_expr(bulk_job::Column::UpdatedAt, Expr::value(now))
        .filter(bulk_job::Column::TenantId.eq(tenant))
        .filter(bulk_job::Column::Id.eq(job))
        .exec(conn)
        .await?;
    let pending = bulk_job_batch::Entity::find()
        .filter(bulk_job_batch::Column::TenantId.eq(tenant))
        .filter(bulk_job_batch::Column::JobId.eq(job))
        .filter(bulk_job_batch::Column::DoneAt.is_null())
        .select_only()
        .column(bulk_job_batch::Column::BatchNo)
        .limit(1)
        .into_tuple::<i32>()
        .one(conn)
        .await?;
    if pending.is_none() {
        let system = Author::system(claimed.tenant);
        move_state(conn, &system, (job, None), (&[JobState::Queued], JobState::Completed), |u| {
            u.col_expr(bulk_job::Column::FinishedAt, Expr::value(now))
        })
        .await
        .map(|_| ())
        .or_else(|e| match e {
            // Aborted or failed meanwhile: it stays so.
            StoreError::Rejected(_) => Ok(()),
            e => Err(e),
        })?;
    }
    Ok(true)
}

/// A job's failed rows after row `after`, in file order, `limit` at most.
pub async fn failures<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    job: Uuid,
    after: i64,
    limit: u64,
) -> StoreResult<Vec<RowFailure>> {
    let rows = bulk_job_failure::Entity::find()
        .filter(bulk_job_failure::Column::TenantId.eq(tenant.uuid()))
        .filter(bulk_job_failure::Column::JobId.eq(job))
        .filter(bulk_job_failure::Column::RowNo.gt(after))
        .order_by_asc(bulk_job_failure::Column::RowNo)
        .limit(limit)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|m| RowFailure {
            row: m.row_no,
            external_id: m.external_id,
            error: m.error,
            record: RawRow::from_json(&m.record),
        })
        .collect())
}
