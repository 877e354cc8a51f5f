//! Moving customers and leads in and out of public pools: claims (拾取), assignments by a
//! pool admin (分配), releases by their owner (放弃), and the moves the reclaim job and the
//! handover make. Customers and leads go through the same code: a [`Subject`] says where
//! the rows and their log live, and what else follows a customer's owner.
//!
//! A pooled row has no owner, so no owner scope shows it; pool members reach it only
//! through the pool's own listing, which their membership gates. Every move is one
//! conditional UPDATE per chunk over all the rows it touches, a log row and a change event
//! per row, in the caller's transaction. The conditions (`owner_id IS NULL AND pool_id IS
//! NOT NULL` to take, `owner_id IS NOT NULL` to put) make a claim atomic: of two racing
//! claims of one row exactly one wins.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use guanxi_domain::activity::field::{Granularity, period_of};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{PoolId, TenantId, UserId};
use guanxi_domain::leads::lead::LeadStatus;
use guanxi_domain::platform::access::{CustomerRule, ScopeRule};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::org::UserStatus;
use guanxi_domain::sales::pool::{
    Access, Caller, ClaimCounts, Pool, PoolAction, PoolEntry, PoolSubject, check_assign, check_claim, check_reason,
    cooldown_until,
};
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Query, SelectStatement, UpdateStatement};
use sea_orm::{ConnectionTrait, EntityTrait, QueryResult};
use uuid::Uuid;

use crate::activity::work_count;
use crate::customers::customer_owned::Handover;
use crate::decode::Cell;
use crate::entity::user;
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};
use crate::sales::pool::{access_of, all};

/// Rows moved per statement.
const CHUNK: usize = 500;

/// Where a pool's subject lives: its table, its pool log, and the change events' kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Subject {
    subject: PoolSubject,
    kind: EntityKind,
    table: &'static str,
    log: &'static str,
    log_key: &'static str,
    /// The singular, for messages.
    one: &'static str,
}

impl Subject {
    const fn of(subject: PoolSubject) -> Self {
        match subject {
            PoolSubject::Customers => Self {
                subject,
                kind: EntityKind::Customer,
                table: "customers",
                log: "pool_log",
                log_key: "customer_id",
                one: "customer",
            },
            PoolSubject::Leads => Self {
                subject,
                kind: EntityKind::Lead,
                table: "leads",
                log: "lead_pool_log",
                log_key: "lead_id",
                one: "lead",
            },
        }
    }

    fn customers(self) -> bool {
        self.subject == PoolSubject::Customers
    }

    /// The rows that may wait in a pool: live ones and, of leads, open ones (a converted
    /// or unqualified lead is done with).
    fn live(self) -> Condition {
        let live = Condition::all().add(Expr::col("deleted_at").is_null());
        match self.subject {
            PoolSubject::Customers => live,
            PoolSubject::Leads => live.add(Expr::col("status").is_in(LeadStatus::OPEN.iter().map(|s| s.as_str()))),
        }
    }

    fn select(self, tenant: TenantId, columns: &[&'static str]) -> SelectStatement {
        Query::select()
            .columns(columns.iter().copied())
            .from(self.table)
            .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
            .to_owned()
    }
}

/// The pool entry of a row, from its pool columns (none when it waits in no pool).
pub(crate) fn entry(
    table: &'static str,
    id: Uuid,
    (pool, entered_at): (Option<Uuid>, Option<DateTime<Utc>>),
    previous_owner: Option<Uuid>,
    (action, reason): (Option<&str>, Option<&str>),
) -> StoreResult<Option<PoolEntry>> {
    let action = Cell::of(table, id, "pool_action").optional_text(action, PoolAction::parse)?;
    Ok(pool.zip(entered_at).map(|(pool, entered_at)| PoolEntry {
        pool_id: guanxi_domain::ids::PoolId::from_uuid(pool),
        entered_at,
        previous_owner_id: previous_owner.map(UserId::from_uuid),
        action: action.unwrap_or(PoolAction::Release),
        reason: reason.map(str::to_owned),
    }))
}

/// How many live rows of `subject` wait in each of `pools`: one grouped statement.
pub async fn counts<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    subject: PoolSubject,
    pools: &[Uuid],
) -> StoreResult<HashMap<Uuid, i64>> {
    let t = Subject::of(subject);
    let select = t
        .select(tenant, &["pool_id"])
        .expr_as(Expr::col("id").count(), "n")
        .and_where(Expr::col("pool_id").is_in(pools.iter().copied()))
        .cond_where(t.live())
        .group_by_col("pool_id")
        .to_owned();
    per_pool_counts(conn, &select).await
}

/// The `(pool_id, n)` rows of a grouped count, by pool.
async fn per_pool_counts<C: ConnectionTrait>(conn: &C, select: &SelectStatement) -> StoreResult<HashMap<Uuid, i64>> {
    conn.query_all(select)
        .await?
        .iter()
        .map(|r| Ok((r.try_get::<Uuid>("", "pool_id")?, r.try_get::<i64>("", "n")?)))
        .collect()
}

/// How many rows of `subject` `user` claimed from each of `pools` today (Shanghai time).
pub async fn claims_today<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (subject, user): (PoolSubject, UserId),
    pools: &[Uuid],
    now: DateTime<Utc>,
) -> StoreResult<HashMap<Uuid, i64>> {
    let t = Subject::of(subject);
    let (day_start, _) = period_of(now, Granularity::Day);
    let select = Query::select()
        .column("pool_id")
        .expr_as(Expr::col("id").count(), "n")
        .from(t.log)
        .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
        .and_where(Expr::col("pool_id").is_in(pools.iter().copied()))
        .and_where(Expr::col("user_id").eq(user.uuid()))
        .and_where(Expr::col("action").eq(PoolAction::Claim.as_str()))
        .and_where(Expr::col("at").gte(day_start))
        .group_by_col("pool_id")
        .to_owned();
    per_pool_counts(conn, &select).await
}

/// How many live rows of `subject` (of leads, open ones) `user` owns: what a pool's cap
/// on owned rows counts.
async fn owned_by<C: ConnectionTrait>(conn: &C, tenant: TenantId, t: Subject, user: UserId) -> StoreResult<u64> {
    let select = Query::select()
        .expr_as(Expr::col("id").count(), "n")
        .from(t.table)
        .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
        .and_where(Expr::col("owner_id").eq(user.uuid()))
        .cond_where(t.live())
        .to_owned();
    let n: i64 = match conn.query_one(&select).await? {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(n as u64)
}

/// A row waiting in a pool, as a claim weighs it.
#[derive(Clone, Debug)]
struct Waiting {
    id: Uuid,
    pool_id: Uuid,
    entered_at: Option<DateTime<Utc>>,
    previous_owner_id: Option<Uuid>,
}

impl Waiting {
    fn of(row: &QueryResult) -> StoreResult<Self> {
        Ok(Self {
            id: row.try_get("", "id")?,
            pool_id: row.try_get("", "pool_id")?,
            entered_at: row.try_get("", "pool_entered_at")?,
            previous_owner_id: row.try_get("", "previous_owner_id")?,
        })
    }
}

/// The pooled rows among `ids`, in the order asked; a missing one is reported by its
/// place in the input: `CONFLICT` when a pool of the caller's gave it out meanwhile (a
/// losing claimer can act on "someone took it first"), `NOT_FOUND` otherwise.
async fn pooled<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    caller: &Caller,
    t: Subject,
    ids: &[Uuid],
) -> StoreResult<Vec<Waiting>> {
    if ids.is_empty() {
        return Err(StoreError::rejected("ids", ErrorCode::Required, format!("name at least one {}", t.one)));
    }
    let select = t
        .select(tenant, &["id", "pool_id", "pool_entered_at", "previous_owner_id"])
        .and_where(Expr::col("id").is_in(ids.iter().copied()))
        .and_where(Expr::col("owner_id").is_null())
        .and_where(Expr::col("pool_id").is_not_null())
        .cond_where(t.live())
        .to_owned();
    let mut found: HashMap<Uuid, Waiting> =
        conn.query_all(&select).await?.iter().map(|r| Waiting::of(r).map(|w| (w.id, w))).collect::<StoreResult<_>>()?;
    let missing: Vec<Uuid> = ids.iter().filter(|id| !found.contains_key(id)).copied().collect();
    let taken = given_out_by_my_pools(conn, tenant, caller, t, &missing).await?;
    let mut invalid = Invalid::default();
    let mut rows = Vec::with_capacity(ids.len());
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        if !seen.insert(*id) {
            invalid.push(FieldError::new(format!("ids.{i}"), ErrorCode::Duplicate, "named twice"));
        } else if let Some(w) = found.remove(id) {
            rows.push(w);
        } else if let Some(by_caller) = taken.get(id) {
            let message = if *by_caller {
                format!("you took this {} already (another of your requests came first)", t.one)
            } else {
                format!("someone else took this {} first", t.one)
            };
            invalid.push(FieldError::new(format!("ids.{i}"), ErrorCode::Conflict, message));
        } else {
            invalid.push(FieldError::new(
                format!("ids.{i}"),
                ErrorCode::NotFound,
                format!("no such {} in a pool", t.one),
            ));
        }
    }
    invalid.into_result()?;
    Ok(rows)
}

/// Which of `ids` (rows no longer in a pool) were taken from a pool the caller belongs
/// to, and whether by the caller: live, owned rows whose latest pool event is that claim
/// or assignment. The caller saw them waiting there, so this tells them nothing new.
async fn given_out_by_my_pools<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    caller: &Caller,
    t: Subject,
    ids: &[Uuid],
) -> StoreResult<HashMap<Uuid, bool>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let select = t
        .select(tenant, &["id", "owner_id"])
        .and_where(Expr::col("id").is_in(ids.iter().copied()))
        .and_where(Expr::col("deleted_at").is_null())
        .and_where(Expr::col("owner_id").is_not_null())
        .to_owned();
    let owners: HashMap<Uuid, Uuid> = conn
        .query_all(&select)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("", "id")?, r.try_get("", "owner_id")?)))
        .collect::<StoreResult<_>>()?;
    if owners.is_empty() {
        return Ok(HashMap::new());
    }
    let log = Query::select()
        .expr_as(Expr::col(t.log_key), "subject_id")
        .columns(["pool_id", "action", "at"])
        .from(t.log)
        .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
        .and_where(Expr::col(t.log_key).is_in(owners.keys().copied()))
        .to_owned();
    let mut latest: HashMap<Uuid, (Uuid, String, DateTime<Utc>)> = HashMap::new();
    for row in conn.query_all(&log).await? {
        let (id, pool, action, at): (Uuid, Uuid, String, DateTime<Utc>) = (
            row.try_get("", "subject_id")?,
            row.try_get("", "pool_id")?,
            row.try_get("", "action")?,
            row.try_get("", "at")?,
        );
        if latest.get(&id).is_none_or(|(_, _, seen)| at > *seen) {
            latest.insert(id, (pool, action, at));
        }
    }
    let pools = all(conn, tenant).await?;
    let access = access_of(conn, tenant, caller, &pools).await?;
    let mine: HashSet<Uuid> = pools.iter().zip(access).filter(|(_, a)| a.sees()).map(|(p, _)| p.id.uuid()).collect();
    let given = [PoolAction::Claim.as_str(), PoolAction::Assign.as_str()];
    Ok(latest
        .into_iter()
        .filter(|(_, (pool, action, _))| mine.contains(pool) && given.contains(&action.as_str()))
        .map(|(id, _)| (id, owners.get(&id) == Some(&caller.user.uuid())))
        .collect())
}

/// The pools of `rows`, with the caller's access; a pool the caller may not see hides
/// its rows (`NOT_FOUND`), one they may see but not administer is `FORBIDDEN` when
/// `need_admin`.
async fn pools_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    caller: &Caller,
    (t, ids): (Subject, &[Uuid]),
    rows: &[Waiting],
    need_admin: bool,
) -> StoreResult<HashMap<Uuid, Pool>> {
    let pools: HashMap<Uuid, (Pool, Access)> = {
        let all = all(conn, tenant).await?;
        let access = access_of(conn, tenant, caller, &all).await?;
        all.into_iter().zip(access).map(|(p, a)| (p.id.uuid(), (p, a))).collect()
    };
    let mut invalid = Invalid::default();
    for row in rows {
        let place = ids.iter().position(|id| *id == row.id).unwrap_or_default();
        let access = pools.get(&row.pool_id).map(|(_, a)| *a).unwrap_or_default();
        if need_admin && !access.admin {
            let code = if access.sees() { ErrorCode::Forbidden } else { ErrorCode::NotFound };
            let message = format!("only the pool's admins hand out its {}", t.subject.noun());
            invalid.push(FieldError::new(format!("ids.{place}"), code, message));
        } else if !need_admin && !access.member {
            let message = format!("no such {} in a pool", t.one);
            invalid.push(FieldError::new(format!("ids.{place}"), ErrorCode::NotFound, message));
        }
    }
    invalid.into_result()?;
    Ok(pools.into_iter().map(|(id, (p, _))| (id, p)).collect())
}

/// A member claims customers or leads from their pools (拾取): all of them or, on any
/// fault, none. Checks the pool's cool-down for a former owner, its daily claim cap and
/// its cap on rows owned (each counted for the subject claimed).
pub async fn claim<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    caller: &Caller,
    subject: PoolSubject,
    ids: &[Uuid],
) -> StoreResult<u64> {
    let (tenant, t) = (author.tenant_id, Subject::of(subject));
    let now = Utc::now();
    let rows = pooled(conn, tenant, caller, t, ids).await?;
    let pools = pools_of(conn, tenant, caller, (t, ids), &rows, false).await?;
    let mut invalid = Invalid::default();
    for (i, row) in rows.iter().enumerate() {
        let Some(pool) = pools.get(&row.pool_id) else { continue };
        let until = row.entered_at.and_then(|at| cooldown_until(&pool.settings, at));
        if row.previous_owner_id == Some(caller.user.uuid())
            && let Some(until) = until.filter(|u| *u > now)
        {
            invalid.push(FieldError::new(
                format!("ids.{i}"),
                ErrorCode::IllegalState,
                format!(
                    "you gave this {} up; you may claim it again from {}",
                    t.one,
                    until.format("%Y-%m-%d %H:%M UTC")
                ),
            ));
        }
    }
    invalid.into_result()?;
    let taking = per_pool(&rows);
    let owned = owned_by(conn, tenant, t, caller.user).await?;
    let pool_ids: Vec<Uuid> = taking.keys().copied().collect();
    let today = claims_today(conn, tenant, (subject, caller.user), &pool_ids, now).await?;
    let mut total = 0;
    for (pool, n) in &taking {
        let counts = ClaimCounts { owned: owned + total, claimed_today: today.get(pool).copied().unwrap_or(0) as u64 };
        check_claim(&pools[pool].settings, subject, counts, *n)?;
        total += n;
    }
    take(conn, author, t, rows, caller.user, PoolAction::Claim, now).await
}

/// A pool admin hands pooled customers or leads to an active user (分配), within the
/// pool's cap on rows owned.
pub async fn assign<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    caller: &Caller,
    (subject, ids): (PoolSubject, &[Uuid]),
    owner: UserId,
) -> StoreResult<u64> {
    let (tenant, t) = (author.tenant_id, Subject::of(subject));
    let active = user::Entity::find_by_id((tenant.uuid(), owner.uuid()))
        .one(conn)
        .await?
        .is_some_and(|u| u.status == UserStatus::Active.as_str());
    if !active {
        return Err(StoreError::rejected("ownerId", ErrorCode::NotFound, "no such active user"));
    }
    let rows = pooled(conn, tenant, caller, t, ids).await?;
    let pools = pools_of(conn, tenant, caller, (t, ids), &rows, true).await?;
    let owned = owned_by(conn, tenant, t, owner).await?;
    let mut total = 0;
    for (pool, n) in per_pool(&rows) {
        check_assign(&pools[&pool].settings, subject, owned + total, n)?;
        total += n;
    }
    take(conn, author, t, rows, owner, PoolAction::Assign, Utc::now()).await
}

fn per_pool(rows: &[Waiting]) -> BTreeMap<Uuid, u64> {
    let mut taking = BTreeMap::new();
    for row in rows {
        *taking.entry(row.pool_id).or_insert(0) += 1;
    }
    taking
}

/// The UPDATE that moves one chunk of `ids` of `t`, with the version and clock bumped.
fn update_chunk(t: Subject, tenant: TenantId, ids: &[Uuid], now: DateTime<Utc>) -> UpdateStatement {
    Query::update()
        .table(t.table)
        .value("version", Expr::col("version").add(1))
        .value("updated_at", now)
        .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
        .and_where(Expr::col("id").is_in(ids.iter().copied()))
        .to_owned()
}

/// Gives pooled rows to `owner` and returns how many: one conditional UPDATE per chunk,
/// a log row and a change event each. A customer's work-log counts move, and its contacts
/// and open deals follow it.
async fn take<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    t: Subject,
    rows: Vec<Waiting>,
    owner: UserId,
    action: PoolAction,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let tenant = author.tenant_id;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let department = match t.customers() {
        true => user::Entity::find_by_id((tenant.uuid(), owner.uuid())).one(conn).await?.map(|u| u.department_id),
        false => None,
    };
    if t.customers() {
        work_count::remove(conn, tenant, &ids).await?;
    }
    let mut taken = 0;
    for chunk in ids.chunks(CHUNK) {
        let mut update = update_chunk(t, tenant, chunk, now);
        update
            .value("owner_id", owner.uuid())
            .value("owner_received_at", now)
            .value("pool_id", Expr::value(None::<Uuid>))
            .value("pool_entered_at", Expr::value(None::<DateTime<Utc>>))
            .value("pool_action", Expr::value(None::<String>))
            .value("pool_reason", Expr::value(None::<String>))
            .and_where(Expr::col("owner_id").is_null())
            .and_where(Expr::col("pool_id").is_not_null())
            .cond_where(t.live());
        if t.customers() {
            update.value("owner_department_id", Expr::value(department));
        }
        taken += conn.execute(&update).await?.rows_affected();
    }
    if taken != ids.len() as u64 {
        // Another claim committed first; this transaction rolls back and takes nothing.
        let message = format!("someone else took one of these {} first", t.subject.noun());
        return Err(StoreError::rejected("ids", ErrorCode::Conflict, message));
    }
    if t.customers() {
        work_count::add(conn, tenant, &ids).await?;
        crate::customers::customer_owned::follow_owner(conn, author, &ids, Handover::To(Some(owner))).await?;
    }
    let operation = if action == PoolAction::Claim { Operation::Claim } else { Operation::Assign };
    let mut log = Vec::with_capacity(rows.len());
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        log.push(LogRow { pool: row.pool_id, subject: row.id, action, user: Some(owner.uuid()), reason: None });
        events.push((
            row.id,
            operation,
            ChangeSet::new().field("ownerId", None::<Uuid>, owner.uuid()).field("poolId", row.pool_id, None::<Uuid>),
        ));
    }
    write_log(conn, author, t, log, now).await?;
    audit::record_many(conn, author, t.kind, events).await?;
    Ok(taken)
}

/// One row of a pool log.
struct LogRow {
    pool: Uuid,
    subject: Uuid,
    action: PoolAction,
    /// The new owner (claim, assign) or the former one (release, reclaim).
    user: Option<Uuid>,
    reason: Option<String>,
}

/// Writes `rows` to `t`'s pool log, in multi-row inserts of [`CHUNK`] rows.
async fn write_log<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    t: Subject,
    rows: Vec<LogRow>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let tenant = author.tenant_id.uuid();
    let columns = ["tenant_id", "id", "pool_id", t.log_key, "action", "user_id", "actor_id", "reason", "at"];
    for chunk in rows.chunks(CHUNK) {
        let mut insert = Query::insert().into_table(t.log).columns(columns).to_owned();
        for r in chunk {
            let values: [sea_orm::sea_query::Expr; 9] = [
                tenant.into(),
                Uuid::now_v7().into(),
                r.pool.into(),
                r.subject.into(),
                r.action.as_str().into(),
                r.user.into(),
                author.user_id.into(),
                r.reason.clone().into(),
                at.into(),
            ];
            insert.values(values).map_err(|e| StoreError::Database(sea_orm::DbErr::Custom(e.to_string())))?;
        }
        conn.execute(&insert).await?;
    }
    Ok(())
}

/// What an owner asked to give back, as found in their scope: the owner of a row that may
/// go, or why it may not.
type Releasing = HashMap<Uuid, Result<Uuid, &'static str>>;

/// Owners give customers or open leads back to a pool (放弃) with a reason. They must be
/// live, owned and held in the caller's own scope (`rule`: the `CUSTOMER` scope, shares
/// aside, or the `LEAD` scope); the caller must see the pool. Returns how many moved.
pub async fn release<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    caller: &Caller,
    (subject, rule): (PoolSubject, ScopeRule),
    (ids, pool): (&[Uuid], PoolId),
    reason: &str,
) -> StoreResult<u64> {
    let tenant = author.tenant_id;
    let found: Releasing = match subject {
        PoolSubject::Customers => {
            let found = crate::customers::customer::by_ids(conn, tenant, CustomerRule::owned(rule), ids).await?;
            found.into_iter().map(|c| (c.id.uuid(), c.owner_id.map(UserId::uuid).ok_or("it has no owner"))).collect()
        }
        PoolSubject::Leads => {
            let found = crate::leads::lead::by_ids(conn, tenant, rule, ids).await?;
            found
                .into_iter()
                .map(|l| {
                    let owner = match (l.status.is_open(), l.owner_id) {
                        (false, _) => Err("a converted or unqualified lead stays where it is"),
                        (true, None) => Err("it has no owner"),
                        (true, Some(owner)) => Ok(owner.uuid()),
                    };
                    (l.id.uuid(), owner)
                })
                .collect()
        }
    };
    release_found(conn, author, caller, (subject, pool), (ids, found), reason).await
}

/// Gives back to a pool (放弃) with a reason those of `ids` that `found` lets go. The
/// caller must see the pool. Returns how many moved.
async fn release_found<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    caller: &Caller,
    (subject, pool): (PoolSubject, PoolId),
    (ids, found): (&[Uuid], Releasing),
    reason: &str,
) -> StoreResult<u64> {
    let t = Subject::of(subject);
    let reason = check_reason(reason)?;
    if crate::sales::pool::visible_one(conn, author.tenant_id, caller, pool).await?.is_none() {
        return Err(StoreError::rejected("poolId", ErrorCode::NotFound, "no such pool"));
    }
    if ids.is_empty() {
        return Err(StoreError::rejected("ids", ErrorCode::Required, format!("name at least one {}", t.one)));
    }
    let mut invalid = Invalid::default();
    let mut entries = Vec::with_capacity(ids.len());
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        match found.get(id) {
            _ if !seen.insert(*id) => {
                invalid.push(FieldError::new(format!("ids.{i}"), ErrorCode::Duplicate, "named twice"))
            }
            Some(Ok(owner)) => entries.push((*id, *owner)),
            Some(Err(why)) => invalid.push(FieldError::new(format!("ids.{i}"), ErrorCode::IllegalState, *why)),
            None => {
                invalid.push(FieldError::new(format!("ids.{i}"), ErrorCode::NotFound, format!("no such {}", t.one)))
            }
        }
    }
    invalid.into_result()?;
    put(conn, author, subject, pool.uuid(), &entries, (PoolAction::Release, &reason), Utc::now()).await
}

/// Puts owned rows `(id, owner)` into a pool: one conditional UPDATE per chunk, a log row
/// and a change event each. A customer's work-log counts move, its contacts go with it
/// (open deals keep their owner until someone takes the customer) and its shares end.
/// Returns how many moved.
pub(crate) async fn put<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    subject: PoolSubject,
    pool: Uuid,
    entries: &[(Uuid, Uuid)],
    (action, reason): (PoolAction, &str),
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    if entries.is_empty() {
        return Ok(0);
    }
    let (tenant, t) = (author.tenant_id, Subject::of(subject));
    let ids: Vec<Uuid> = entries.iter().map(|(id, _)| *id).collect();
    if t.customers() {
        work_count::remove(conn, tenant, &ids).await?;
    }
    let mut moved = 0;
    for chunk in ids.chunks(CHUNK) {
        let mut update = update_chunk(t, tenant, chunk, now);
        update
            .value("previous_owner_id", Expr::col("owner_id"))
            .value("owner_id", Expr::value(None::<Uuid>))
            .value("owner_received_at", Expr::value(None::<DateTime<Utc>>))
            .value("pool_id", pool)
            .value("pool_entered_at", now)
            .value("pool_action", action.as_str())
            .value("pool_reason", reason)
            .and_where(Expr::col("owner_id").is_not_null());
        if t.customers() {
            update.value("owner_department_id", Expr::value(None::<Uuid>)).value("locked", false);
        }
        moved += conn.execute(&update).await?.rows_affected();
    }
    if moved != ids.len() as u64 {
        let message = format!("one of these {} changed owner meanwhile", t.subject.noun());
        return Err(StoreError::rejected("ids", ErrorCode::Conflict, message));
    }
    if t.customers() {
        work_count::add(conn, tenant, &ids).await?;
        crate::customers::customer_owned::follow_owner(conn, author, &ids, Handover::IntoPool).await?;
        // A pool customer has no owner side left to share it: whoever takes it shares anew.
        crate::sharing::collaborator::end_customer_shares(conn, author, &ids).await?;
    }
    let operation = if action == PoolAction::Reclaim { Operation::Reclaim } else { Operation::Release };
    let mut log = Vec::with_capacity(entries.len());
    let mut events = Vec::with_capacity(entries.len());
    for (id, owner) in entries {
        log.push(LogRow { pool, subject: *id, action, user: Some(*owner), reason: Some(reason.to_owned()) });
        let changes = ChangeSet::new().field("ownerId", *owner, None::<Uuid>).field("poolId", None::<Uuid>, pool);
        events.push((*id, operation, changes.field("poolReason", None::<()>, reason)));
    }
    write_log(conn, author, t, log, now).await?;
    audit::record_many(conn, author, t.kind, events).await?;
    Ok(moved)
}
