//! Public pools (公海) of customers and leads: the pools, their settings and members,
//! and what a caller may do in each. Moving rows in and out of them is
//! [`pool_move`](crate::sales::pool_move); the reclaim (回收) of neglected ones is
//! [`pool_reclaim`](crate::sales::pool_reclaim).

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{DepartmentId, PoolId, TenantId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::sales::pool::{Access, Caller, MemberKind, Pool, PoolMember, PoolSettings};
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::decode::Cell;
use crate::dialect::raw_statement;
use crate::entity::{department, pool, pool_member, user};
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
