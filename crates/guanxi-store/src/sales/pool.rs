//! Public pools (公海): pools and their members, claims (拾取), assignments (分配),
//! releases (放弃) and the set-based reclaim (回收) of neglected customers.
//!
//! A pooled customer has no owner, so no owner scope shows it; pool members reach it only
//! through the pool's own listing, which their membership gates. Every move in or out of
//! a pool is one conditional UPDATE over all the customers it touches, a row per customer
//! in `pool_log` and a change event per customer, in the caller's transaction. The
//! conditions (`owner_id IS NULL AND pool_id IS NOT NULL` to take, `owner_id IS NOT NULL`
//! to put) make a claim atomic: of two racing claims of one customer exactly one wins.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use guanxi_domain::activity::field::{Granularity, period_of};
use guanxi_domain::customers::customer::Customer;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{DepartmentId, PoolId, TenantId, UserId};
use guanxi_domain::platform::access::{CustomerRule, ScopeRule};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::org::UserStatus;
use guanxi_domain::sales::pool::{
    Access, Caller, ClaimCounts, MemberKind, Pool, PoolAction, PoolMember, PoolSettings, check_assign, check_claim,
    check_reason, cooldown_until,
};
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::activity::work_count;
use crate::customers::customer_owned::Handover;
use crate::decode::Cell;
use crate::dialect::raw_statement;
use crate::entity::{customer, department, pool, pool_log, pool_member, user};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};

pub const ENTITY: EntityKind = EntityKind::Pool;

/// Customers moved per statement, and per transaction of the reclaim job: other writes
/// of the tenant wait at most one batch.
pub const RECLAIM_BATCH: u64 = 1_000;

fn to_domain(m: pool::Model, members: Vec<PoolMember>) -> StoreResult<Pool> {
    let cell = |column| Cell::of("pools", m.id, column);
    Ok(Pool {
        id: PoolId::from_uuid(m.id),
        tenant_id: TenantId::from_uuid(m.tenant_id),
        settings: PoolSettings {
            name: m.name,
            auto_reclaim: m.auto_reclaim,
            warn_days: cell("warn_days").check(u32::try_from(m.warn_days))?,
            cooldown_days: cell("cooldown_days").check(u32::try_from(m.cooldown_days))?,
            daily_claim_cap: m.daily_claim_cap.map(|c| cell("daily_claim_cap").check(u32::try_from(c))).transpose()?,
            owned_cap: m.owned_cap.map(|c| cell("owned_cap").check(u32::try_from(c))).transpose()?,
            rules: cell("rules").json(m.rules)?,
            members,
        },
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn member_of(m: pool_member::Model) -> StoreResult<PoolMember> {
    let kind = Cell::of("pool_members", m.member_id, "member_kind").text(&m.member_kind, MemberKind::parse)?;
    Ok(PoolMember { kind, id: m.member_id, admin: m.is_admin })
}

/// The pools of a tenant (all of them, oldest first), with their members: two statements.
pub async fn all<C: ConnectionTrait>(conn: &C, tenant: TenantId) -> StoreResult<Vec<Pool>> {
    let pools = pool::Entity::find()
        .filter(pool::Column::TenantId.eq(tenant.uuid()))
        .order_by_asc(pool::Column::CreatedAt)
        .order_by_asc(pool::Column::Id)
        .all(conn)
        .await?;
    with_members(conn, tenant, pools).await
}

async fn with_members<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    pools: Vec<pool::Model>,
) -> StoreResult<Vec<Pool>> {
    if pools.is_empty() {
        return Ok(vec![]);
    }
    let mut members: HashMap<Uuid, Vec<PoolMember>> = HashMap::new();
    for m in pool_member::Entity::find()
        .filter(pool_member::Column::TenantId.eq(tenant.uuid()))
        .filter(pool_member::Column::PoolId.is_in(pools.iter().map(|p| p.id)))
        .order_by_asc(pool_member::Column::MemberKind)
        .order_by_asc(pool_member::Column::MemberId)
        .all(conn)
        .await?
    {
        let pool = m.pool_id;
        members.entry(pool).or_default().push(member_of(m)?);
    }
    pools
        .into_iter()
        .map(|p| {
            let m = members.remove(&p.id).unwrap_or_default();
            to_domain(p, m)
        })
        .collect::<StoreResult<_>>()
}

/// One pool, with its members.
pub async fn find<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: PoolId) -> StoreResult<Option<Pool>> {
    let found = pool::Entity::find_by_id((tenant.uuid(), id.uuid())).one(conn).await?;
    Ok(with_members(conn, tenant, found.into_iter().collect()).await?.pop())
}

/// A department and the departments above it: the department members whose subtree
/// holds it.
async fn department_chain<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    department: Option<DepartmentId>,
) -> StoreResult<Vec<Uuid>> {
    let Some(department) = department else { return Ok(vec![]) };
    let t = tenant.uuid();
    let statement = raw_statement(
        conn.get_database_backend(),
        "WITH RECURSIVE up(id, parent_id) AS (\
         SELECT id, parent_id FROM departments WHERE tenant_id = ? AND id = ? \
         UNION SELECT d.id, d.parent_id FROM departments d JOIN up ON d.id = up.parent_id WHERE d.tenant_id = ?\
         ) SELECT id FROM up",
        [t.into(), department.uuid().into(), t.into()],
    );
    let rows = conn.query_all_raw(statement).await?;
    rows.iter().map(|r| r.try_get::<Uuid>("", "id").map_err(StoreError::from)).collect()
}

/// The caller's access to each of `pools`, in order: one statement.
pub async fn access_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    caller: &Caller,
    pools: &[Pool],
) -> StoreResult<Vec<Access>> {
    let chain: HashSet<Uuid> = department_chain(conn, tenant, caller.department).await?.into_iter().collect();
    Ok(pools.iter().map(|p| p.access(caller, &chain)).collect())
}

/// The pools the caller may see (a member or an admin of), with their access.
pub async fn visible<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    caller: &Caller,
) -> StoreResult<Vec<(Pool, Access)>> {
    let pools = all(conn, tenant).await?;
    let access = access_of(conn, tenant, caller, &pools).await?;
    Ok(pools.into_iter().zip(access).filter(|(_, a)| a.sees()).collect())
}

/// One pool the caller may see.
pub async fn visible_one<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    caller: &Caller,
    id: PoolId,
) -> StoreResult<Option<(Pool, Access)>> {
    let Some(pool) = find(conn, tenant, id).await? else { return Ok(None) };
    let access = access_of(conn, tenant, caller, std::slice::from_ref(&pool)).await?[0];
    Ok(access.sees().then_some((pool, access)))
}

/// The users whose customers a pool watches: its user members and everyone in its
/// departments' subtrees.
pub async fn watched_users<C: ConnectionTrait>(conn: &C, tenant: TenantId, pool: &Pool) -> StoreResult<Vec<Uuid>> {
    let users: Vec<Uuid> = pool.settings.members.iter().filter(|m| m.kind == MemberKind::User).map(|m| m.id).collect();
    let roots: Vec<Uuid> =
        pool.settings.members.iter().filter(|m| m.kind == MemberKind::Department).map(|m| m.id).collect();
    let mut watched: HashSet<Uuid> = users.into_iter().collect();
    if !roots.is_empty() {
        let t = tenant.uuid();
        let marks = vec!["?"; roots.len()].join(", ");
        let sql = format!(
            "WITH RECURSIVE tree(id) AS (\
             SELECT id FROM departments WHERE tenant_id = ? AND id IN ({marks}) \
             UNION SELECT d.id FROM departments d JOIN tree ON d.parent_id = tree.id WHERE d.tenant_id = ?\
             ) SELECT u.id FROM users u WHERE u.tenant_id = ? AND u.department_id IN (SELECT id FROM tree)"
        );
        let values: Vec<sea_orm::Value> =
            std::iter::once(t.into()).chain(roots.iter().map(|r| (*r).into())).chain([t.into(), t.into()]).collect();
        for row in conn.query_all_raw(raw_statement(conn.get_database_backend(), &sql, values)).await? {
            watched.insert(row.try_get::<Uuid>("", "id")?);
        }
    }
    let mut watched: Vec<Uuid> = watched.into_iter().collect();
    watched.sort();
    Ok(watched)
}

/// Checks that the members name users and departments of the tenant.
async fn check_members<C: ConnectionTrait>(conn: &C, tenant: TenantId, members: &[PoolMember]) -> StoreResult<()> {
    let ids = |kind: MemberKind| -> Vec<Uuid> { members.iter().filter(|m| m.kind == kind).map(|m| m.id).collect() };
    let users: HashSet<Uuid> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::TenantId.eq(tenant.uuid()))
        .filter(user::Column::Id.is_in(ids(MemberKind::User)))
        .into_tuple()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let departments: HashSet<Uuid> = department::Entity::find()
        .select_only()
        .column(department::Column::Id)
        .filter(department::Column::TenantId.eq(tenant.uuid()))
        .filter(department::Column::Id.is_in(ids(MemberKind::Department)))
        .filter(department::Column::DeletedAt.is_null())
        .into_tuple()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let mut invalid = Invalid::default();
    for (i, m) in members.iter().enumerate() {
        let known = match m.kind {
            MemberKind::User => users.contains(&m.id),
            MemberKind::Department => departments.contains(&m.id),
        };
        if !known {
            invalid.push(FieldError::new(format!("members.{i}"), ErrorCode::NotFound, "no such user or department"));
        }
    }
    Ok(invalid.into_result()?)
}

fn active_model(settings: &PoolSettings) -> pool::ActiveModel {
    pool::ActiveModel {
        name: Set(settings.name.clone()),
        auto_reclaim: Set(settings.auto_reclaim),
        warn_days: Set(settings.warn_days as i32),
        cooldown_days: Set(settings.cooldown_days as i32),
        daily_claim_cap: Set(settings.daily_claim_cap.map(|c| c as i32)),
        owned_cap: Set(settings.owned_cap.map(|c| c as i32)),
        rules: Set(serde_json::to_value(&settings.rules).unwrap_or_default()),
        ..Default::default()
    }
}

async fn write_members<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    pool: Uuid,
    members: &[PoolMember],
) -> StoreResult<()> {
    pool_member::Entity::delete_many()
        .filter(pool_member::Column::TenantId.eq(tenant.uuid()))
        .filter(pool_member::Column::PoolId.eq(pool))
        .exec(conn)
        .await?;
    let rows: Vec<pool_member::ActiveModel> = members
        .iter()
        .map(|m| pool_member::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            pool_id: Set(pool),
            member_kind: Set(m.kind.as_str().to_owned()),
            member_id: Set(m.id),
            is_admin: Set(m.admin),
        })
        .collect();
    crate::insert_chunked(conn, rows).await?;
    Ok(())
}

/// The settings as the change log shows them.
fn settings_json(settings: &PoolSettings) -> serde_json::Value {
    serde_json::to_value(settings).unwrap_or_default()
}

/// Creates a pool (the caller checked `settings.manage`).
pub async fn create<C: ConnectionTrait>(conn: &C, author: &Author, settings: PoolSettings) -> StoreResult<Pool> {
    let tenant = author.tenant_id;
    let settings = settings.check()?;
    check_members(conn, tenant, &settings.members).await?;
    let id = PoolId::new();
    let now = Utc::now();
    let mut model = active_model(&settings);
    model.tenant_id = Set(tenant.uuid());
    model.id = Set(id.uuid());
    model.version = Set(1);
    model.created_at = Set(now);
    model.updated_at = Set(now);
    pool::Entity::insert(model)
        .exec_without_returning(conn)
        .await
        .map_err(|e| crate::error::on_unique(e, "name", "a pool with this name exists"))?;
    write_members(conn, tenant, id.uuid(), &settings.members).await?;
    let changes = ChangeSet::new().diff(&serde_json::json!({}), &settings_json(&settings));
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    find(conn, tenant, id).await?.ok_or(StoreError::NotFound)
}

/// Replaces a pool's settings, rules and members, at the expected version.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: PoolId,
    expected_version: i32,
    settings: PoolSettings,
) -> StoreResult<Pool> {
    let tenant = author.tenant_id;
    let before = find(conn, tenant, id).await?.ok_or(StoreError::NotFound)?;
    if before.version != expected_version {
        return Err(StoreError::version_conflict(expected_version, before.version));
    }
    let settings = settings.check()?;
    check_members(conn, tenant, &settings.members).await?;
    let changes = ChangeSet::new().diff(&settings_json(&before.settings), &settings_json(&settings));
    if changes.is_empty() {
        return Ok(before);
    }
    let mut model = active_model(&settings);
    model.version = Set(expected_version + 1);
    model.updated_at = Set(Utc::now());
    let updated = pool::Entity::update_many()
        .set(model)
        .filter(pool::Column::TenantId.eq(tenant.uuid()))
        .filter(pool::Column::Id.eq(id.uuid()))
        .filter(pool::Column::Version.eq(expected_version))
        .exec(conn)
        .await
        .map_err(|e| crate::error::on_unique(e, "name", "a pool with this name exists"))?;
    if updated.rows_affected == 0 {
        return Err(StoreError::version_conflict(expected_version, expected_version + 1));
    }
    write_members(conn, tenant, id.uuid(), &settings.members).await?;
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Update, &changes).await?;
    find(conn, tenant, id).await?.ok_or(StoreError::NotFound)
}

/// How many customers wait in each of `pools`: one grouped statement.
pub async fn customer_counts<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    pools: &[Uuid],
) -> StoreResult<HashMap<Uuid, i64>> {
    let rows: Vec<(Option<Uuid>, i64)> = customer::Entity::find()
        .select_only()
        .column(customer::Column::PoolId)
        .column_as(customer::Column::Id.count(), "n")
        .filter(customer::Column::TenantId.eq(tenant.uuid()))
        .filter(customer::Column::PoolId.is_in(pools.iter().copied()))
        .filter(customer::Column::DeletedAt.is_null())
        .group_by(customer::Column::PoolId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().filter_map(|(p, n)| p.map(|p| (p, n))).collect())
}

/// How many customers `user` claimed from each of `pools` today (Shanghai time).
pub async fn claims_today<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    user: UserId,
    pools: &[Uuid],
    now: DateTime<Utc>,
) -> StoreResult<HashMap<Uuid, i64>> {
    let (day_start, _) = period_of(now, Granularity::Day);
    let rows: Vec<(Uuid, i64)> = pool_log::Entity::find()
        .select_only()
        .column(pool_log::Column::PoolId)
        .column_as(pool_log::Column::Id.count(), "n")
        .filter(pool_log::Column::TenantId.eq(tenant.uuid()))
        .filter(pool_log::Column::PoolId.is_in(pools.iter().copied()))
        .filter(pool_log::Column::UserId.eq(user.uuid()))
        .filter(pool_log::Column::Action.eq(PoolAction::Claim.as_str()))
        .filter(pool_log::Column::At.gte(day_start))
        .group_by(pool_log::Column::PoolId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

async fn owned_by<C: ConnectionTrait>(conn: &C, tenant: TenantId, user: UserId) -> StoreResult<u64> {
    Ok(customer::Entity::find()
        .filter(customer::Column::TenantId.eq(tenant.uuid()))
        .filter(customer::Column::OwnerId.eq(user.uuid()))
        .filter(customer::Column::DeletedAt.is_null())
        .count(conn)
        .await?)
}

/// The pooled customers among `ids`, in the order asked; a missing one is reported by
/// its place in the input: `CONFLICT` when a pool of the caller's gave it out meanwhile
/// (a losing claimer can act on "someone took it first"), `NOT_FOUND` otherwise.
async fn pooled<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    caller: &Caller,
    ids: &[Uuid],
) -> StoreResult<Vec<customer::Model>> {
    if ids.is_empty() {
        return Err(StoreError::rejected("ids", ErrorCode::Required, "name at least one customer"));
    }
    let mut found: HashMap<Uuid, customer::Model> = customer::Entity::find()
        .filter(customer::Column::TenantId.eq(tenant.uuid()))
        .filter(customer::Column::Id.is_in(ids.iter().copied()))
        .filter(customer::Column::DeletedAt.is_null())
        .filter(customer::Column::OwnerId.is_null())
        .filter(customer::Column::PoolId.is_not_null())
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let missing: Vec<Uuid> = ids.iter().filter(|id| !found.contains_key(id)).copied().collect();
    let taken = given_out_by_my_pools(conn, tenant, caller, &missing).await?;
    let mut invalid = Invalid::default();
    let mut rows = Vec::with_capacity(ids.len());
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        if !seen.insert(*id) {
            invalid.push(FieldError::new(format!("ids.{i}"), ErrorCode::Duplicate, "named twice"));
        } else if let Some(m) = found.remove(id) {
            rows.push(m);
        } else if let Some(by_caller) = taken.get(id) {
            let message = if *by_caller {
                "you took this customer already (another of your requests came first)"
            } else {
                "someone else took this customer first"
            };
            invalid.push(FieldError::new(format!("ids.{i}"), ErrorCode::Conflict, message));
        } else {
            invalid.push(FieldError::new(format!("ids.{i}"), ErrorCode::NotFound, "no such customer in a pool"));
        }
    }
    invalid.into_result()?;
    Ok(rows)
}

/// Which of `ids` (customers no longer in a pool) were taken from a pool the caller
/// belongs to, and whether by the caller: live, owned customers whose latest pool event is
/// that claim or assignment. The caller saw them waiting there, so this tells them nothing
/// new.
async fn given_out_by_my_pools<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    caller: &Caller,
    ids: &[Uuid],
) -> StoreResult<HashMap<Uuid, bool>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let owners: HashMap<Uuid, Uuid> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::OwnerId)
        .filter(customer::Column::TenantId.eq(tenant.uuid()))
        .filter(customer::Column::Id.is_in(ids.iter().copied()))
        .filter(customer::Column::DeletedAt.is_null())
        .filter(customer::Column::OwnerId.is_not_null())
        .into_tuple::<(Uuid, Uuid)>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    if owners.is_empty() {
        return Ok(HashMap::new());
    }
    let events: Vec<(Uuid, Uuid, String, DateTime<Utc>)> = pool_log::Entity::find()
        .select_only()
        .column(pool_log::Column::CustomerId)
        .column(pool_log::Column::PoolId)
        .column(pool_log::Column::Action)
        .column(pool_log::Column::At)
        .filter(pool_log::Column::TenantId.eq(tenant.uuid()))
        .filter(pool_log::Column::CustomerId.is_in(owners.keys().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    let mut latest: HashMap<Uuid, (Uuid, String, DateTime<Utc>)> = HashMap::new();
    for (customer, pool, action, at) in events {
        if latest.get(&customer).is_none_or(|(_, _, seen)| at > *seen) {
            latest.insert(customer, (pool, action, at));
        }
    }
    let pools = all(conn, tenant).await?;
    let access = access_of(conn, tenant, caller, &pools).await?;
    let mine: HashSet<Uuid> = pools.iter().zip(access).filter(|(_, a)| a.sees()).map(|(p, _)| p.id.uuid()).collect();
    let given = [PoolAction::Claim.as_str(), PoolAction::Assign.as_str()];
    Ok(latest
        .into_iter()
        .filter(|(_, (pool, action, _))| mine.contains(pool) && given.contains(&action.as_str()))
        .map(|(customer, _)| (customer, owners.get(&customer) == Some(&caller.user.uuid())))
        .collect())
}

/// The pools of `rows`, with the caller's access; a pool the caller may not see hides
/// its customers (`NOT_FOUND`), one they may see but not administer is `FORBIDDEN` when
/// `need_admin`.
async fn pools_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    caller: &Caller,
    ids: &[Uuid],
    rows: &[customer::Model],
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
        let access = row.pool_id.and_then(|p| pools.get(&p)).map(|(_, a)| *a).unwrap_or_default();
        if need_admin && !access.admin {
            let code = if access.sees() { ErrorCode::Forbidden } else { ErrorCode::NotFound };
            invalid.push(FieldError::new(
                format!("ids.{place}"),
                code,
                "only the pool's admins hand out its customers",
            ));
        } else if !need_admin && !access.member {
            invalid.push(FieldError::new(format!("ids.{place}"), ErrorCode::NotFound, "no such customer in a pool"));
        }
    }
    invalid.into_result()?;
    Ok(pools.into_iter().map(|(id, (p, _))| (id, p)).collect())
}

/// A member claims customers from their pools (拾取): all of them or, on any fault,
/// none. Checks the pool's cool-down for a former owner, its daily claim cap and its
/// cap on customers owned.
pub async fn claim<C: ConnectionTrait>(conn: &C, author: &Author, caller: &Caller, ids: &[Uuid]) -> StoreResult<u64> {
    let tenant = author.tenant_id;
    let now = Utc::now();
    let rows = pooled(conn, tenant, caller, ids).await?;
    let pools = pools_of(conn, tenant, caller, ids, &rows, false).await?;
    let mut invalid = Invalid::default();
    for (i, row) in rows.iter().enumerate() {
        let Some(pool) = row.pool_id.and_then(|p| pools.get(&p)) else { continue };
        let until = row.pool_entered_at.and_then(|at| cooldown_until(&pool.settings, at));
        if row.previous_owner_id == Some(caller.user.uuid())
            && let Some(until) = until.filter(|u| *u > now)
        {
            invalid.push(FieldError::new(
                format!("ids.{i}"),
                ErrorCode::IllegalState,
                format!(
                    "you gave this customer up; you may claim it again from {}",
                    until.format("%Y-%m-%d %H:%M UTC")
                ),
            ));
        }
    }
    invalid.into_result()?;
    let taking = per_pool(&rows);
    let owned = owned_by(conn, tenant, caller.user).await?;
    let pool_ids: Vec<Uuid> = taking.keys().copied().collect();
    let today = claims_today(conn, tenant, caller.user, &pool_ids, now).await?;
    let mut total = 0;
    for (pool, n) in &taking {
        let counts = ClaimCounts { owned: owned + total, claimed_today: today.get(pool).copied().unwrap_or(0) as u64 };
        check_claim(&pools[pool].settings, counts, *n)?;
        total += n;
    }
    take(conn, author, rows, caller.user, PoolAction::Claim, now).await
}

/// A pool admin hands pooled customers to an active user (分配), within the pool's cap on
/// customers owned.
pub async fn assign<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    caller: &Caller,
    ids: &[Uuid],
    owner: UserId,
) -> StoreResult<u64> {
    let tenant = author.tenant_id;
    let active = user::Entity::find_by_id((tenant.uuid(), owner.uuid()))
        .one(conn)
        .await?
        .is_some_and(|u| u.status == UserStatus::Active.as_str());
    if !active {
        return Err(StoreError::rejected("ownerId", ErrorCode::NotFound, "no such active user"));
    }
    let rows = pooled(conn, tenant, caller, ids).await?;
    let pools = pools_of(conn, tenant, caller, ids, &rows, true).await?;
    let owned = owned_by(conn, tenant, owner).await?;
    let mut total = 0;
    for (pool, n) in per_pool(&rows) {
        check_assign(&pools[&pool].settings, owned + total, n)?;
        total += n;
    }
    take(conn, author, rows, owner, PoolAction::Assign, Utc::now()).await
}

fn per_pool(rows: &[customer::Model]) -> BTreeMap<Uuid, u64> {
    let mut taking = BTreeMap::new();
    for row in rows {
        if let Some(pool) = row.pool_id {
            *taking.entry(pool).or_insert(0) += 1;
        }
    }
    taking
}

/// Gives pooled customers to `owner` and returns how many: one conditional UPDATE per chunk, the work-log
/// counts moved, contacts and open deals following, a log row and a change event each.
async fn take<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rows: Vec<customer::Model>,
    owner: UserId,
    action: PoolAction,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let tenant = author.tenant_id;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let department = user::Entity::find_by_id((tenant.uuid(), owner.uuid())).one(conn).await?.map(|u| u.department_id);
    work_count::remove(conn, tenant, &ids).await?;
    let mut taken = 0;
    for chunk in ids.chunks(500) {
        taken += crate::customers::customer::give_to(owner, department, now)
            .col_expr(customer::Column::PoolId, Expr::value(None::<Uuid>))
            .col_expr(customer::Column::PoolEnteredAt, Expr::value(None::<DateTime<Utc>>))
            .col_expr(customer::Column::PoolAction, Expr::value(None::<String>))
            .col_expr(customer::Column::PoolReason, Expr::value(None::<String>))
            .filter(customer::Column::TenantId.eq(tenant.uuid()))
            .filter(customer::Column::Id.is_in(chunk.iter().copied()))
            .filter(customer::Column::OwnerId.is_null())
            .filter(customer::Column::PoolId.is_not_null())
            .exec(conn)
            .await?
            .rows_affected;
    }
    if taken != ids.len() as u64 {
        // Another claim committed first; this transaction rolls back and takes nothing.
        return Err(StoreError::rejected("ids", ErrorCode::Conflict, "someone else took one of these customers first"));
    }
    work_count::add(conn, tenant, &ids).await?;
    crate::customers::customer_owned::follow_owner(conn, author, &ids, Handover::To(Some(owner))).await?;
    let operation = if action == PoolAction::Claim { Operation::Claim } else { Operation::Assign };
    let mut log = Vec::with_capacity(rows.len());
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        let pool = row.pool_id.unwrap_or_default();
        log.push(log_row(tenant, pool, row.id, action, Some(owner.uuid()), author.user_id, None, now));
        events.push((
            row.id,
            operation,
            ChangeSet::new().field("ownerId", None::<Uuid>, owner.uuid()).field("poolId", pool, None::<Uuid>),
        ));
    }
    crate::insert_chunked(conn, log).await?;
    audit::record_many(conn, author, crate::customers::customer::ENTITY, events).await?;
    Ok(taken)
}

#[allow(clippy::too_many_arguments)]
fn log_row(
    tenant: TenantId,
    pool: Uuid,
    customer: Uuid,
    action: PoolAction,
    user: Option<Uuid>,
    actor: Option<Uuid>,
    reason: Option<String>,
    at: DateTime<Utc>,
) -> pool_log::ActiveModel {
    pool_log::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(Uuid::now_v7()),
        pool_id: Set(pool),
        customer_id: Set(customer),
        action: Set(action.as_str().to_owned()),
        user_id: Set(user),
        actor_id: Set(actor),
        reason: Set(reason),
        at: Set(at),
    }
}

/// Owners give customers back to a pool (放弃) with a reason. The customers must be
/// live, owned and visible to the caller (`rule`); the caller must see the pool.
pub async fn release<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    caller: &Caller,
    rule: ScopeRule,
    ids: &[Uuid],
    pool: PoolId,
    reason: &str,
) -> StoreResult<u64> {
    let tenant = author.tenant_id;
    let reason = check_reason(reason)?;
    if visible_one(conn, tenant, caller, pool).await?.is_none() {
        return Err(StoreError::rejected("poolId", ErrorCode::NotFound, "no such pool"));
    }
    if ids.is_empty() {
        return Err(StoreError::rejected("ids", ErrorCode::Required, "name at least one customer"));
    }
    let found: HashMap<Uuid, Customer> =
        crate::customers::customer::by_ids(conn, tenant, CustomerRule::owned(rule), ids)
            .await?
            .into_iter()
            .map(|c| (c.id.uuid(), c))
            .collect();
    let mut invalid = Invalid::default();
    let mut entries = Vec::with_capacity(ids.len());
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        match found.get(id) {
            _ if !seen.insert(*id) => {
                invalid.push(FieldError::new(format!("ids.{i}"), ErrorCode::Duplicate, "named twice"))
            }
            Some(Customer { owner_id: Some(owner), .. }) => entries.push((*id, owner.uuid())),
            Some(_) => invalid.push(FieldError::new(format!("ids.{i}"), ErrorCode::IllegalState, "it has no owner")),
            None => invalid.push(FieldError::new(format!("ids.{i}"), ErrorCode::NotFound, "no such customer")),
        }
    }
    invalid.into_result()?;
    put(conn, author, pool.uuid(), &entries, PoolAction::Release, &reason, Utc::now()).await
}

/// Puts owned customers `(id, owner)` into a pool: one conditional UPDATE per chunk, the
/// work-log counts moved, contacts following, a log row and a change event each. Open
/// deals keep their owner until someone takes the customer. Returns how many moved.
pub(crate) async fn put<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    pool: Uuid,
    entries: &[(Uuid, Uuid)],
    action: PoolAction,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    if entries.is_empty() {
        return Ok(0);
    }
    let tenant = author.tenant_id;
    let ids: Vec<Uuid> = entries.iter().map(|(id, _)| *id).collect();
    work_count::remove(conn, tenant, &ids).await?;
    let mut moved = 0;
    for chunk in ids.chunks(500) {
        moved += customer::Entity::update_many()
            .col_expr(customer::Column::PreviousOwnerId, Expr::col(customer::Column::OwnerId))
            .col_expr(customer::Column::OwnerId, Expr::value(None::<Uuid>))
            .col_expr(customer::Column::OwnerDepartmentId, Expr::value(None::<Uuid>))
            .col_expr(customer::Column::OwnerReceivedAt, Expr::value(None::<DateTime<Utc>>))
            .col_expr(customer::Column::PoolId, Expr::value(pool))
            .col_expr(customer::Column::PoolEnteredAt, Expr::value(now))
            .col_expr(customer::Column::PoolAction, Expr::value(action.as_str()))
            .col_expr(customer::Column::PoolReason, Expr::value(reason))
            .col_expr(customer::Column::Locked, Expr::value(false))
            .col_expr(customer::Column::Version, Expr::col(customer::Column::Version).add(1))
            .col_expr(customer::Column::UpdatedAt, Expr::value(now))
            .filter(customer::Column::TenantId.eq(tenant.uuid()))
            .filter(customer::Column::Id.is_in(chunk.iter().copied()))
            .filter(customer::Column::OwnerId.is_not_null())
            .exec(conn)
            .await?
            .rows_affected;
    }
    if moved != ids.len() as u64 {
        return Err(StoreError::rejected("ids", ErrorCode::Conflict, "one of these customers changed owner meanwhile"));
    }
    work_count::add(conn, tenant, &ids).await?;
    crate::customers::customer_owned::follow_owner(conn, author, &ids, Handover::IntoPool).await?;
    // A pool customer has no owner side left to share it: whoever takes it shares anew.
    crate::sharing::collaborator::end_customer_shares(conn, author, &ids).await?;
    let operation = if action == PoolAction::Reclaim { Operation::Reclaim } else { Operation::Release };
    let mut log = Vec::with_capacity(entries.len());
    let mut events = Vec::with_capacity(entries.len());
    for (id, owner) in entries {
        log.push(log_row(tenant, pool, *id, action, Some(*owner), author.user_id, Some(reason.to_owned()), now));
        events.push((
            *id,
            operation,
            ChangeSet::new().field("ownerId", *owner, None::<Uuid>).field("poolId", None::<Uuid>, pool).field(
                "poolReason",
                None::<()>,
                reason,
            ),
        ));
    }
    crate::insert_chunked(conn, log).await?;
    audit::record_many(conn, author, crate::customers::customer::ENTITY, events).await?;
    Ok(moved)
}
