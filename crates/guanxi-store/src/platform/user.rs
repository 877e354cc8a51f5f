//! Users: employees who log in, each in one department, with a manager and a role.
//! A user is visible under the `Org` data scope with the user as their own "owner".

use chrono::{DateTime, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{DepartmentId, RoleId, SessionId, TenantId, UserId};
use guanxi_domain::phone::PhoneNumber;
use guanxi_domain::platform::access::{DepartmentRule, ScopeRule};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::org::{Email, User, UserStatus, check_no_cycle};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QuerySelect, Select,
};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{role, user};
use crate::error::{StoreError, StoreResult, on_unique};
use crate::filter::{Combinators, IdFilter, TextFilter, TimeFilter};
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Scoped};
use crate::{platform::auth, scope};

pub const ENTITY: EntityKind = EntityKind::User;

pub fn to_domain(m: user::Model) -> StoreResult<User> {
    Ok(User {
        id: m.id.into(),
        tenant_id: m.tenant_id.into(),
        email: m.email,
        display_name: m.display_name,
        phone: m.phone,
        department_id: m.department_id.into(),
        manager_id: m.manager_id.map(Into::into),
        role_id: m.role_id.into(),
        status: Cell::of("users", m.id, "status").text(&m.status, UserStatus::parse)?,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Users, read through the `ORG` scope: a user is their own owner.
pub struct Users;

impl Scoped for Users {
    type Entity = user::Entity;
    type Scope = ScopeRule;
    type Record = User;
    const ID: user::Column = user::Column::Id;
    const DELETED_AT: Option<user::Column> = None;

    fn visible(backend: DbBackend, tenant: TenantId, rule: ScopeRule) -> Select<user::Entity> {
        user::Entity::find().filter(user::Column::TenantId.eq(tenant.uuid())).filter(scope::owner_condition(
            backend,
            tenant,
            rule,
            (user::Entity, user::Column::Id),
        ))
    }

    fn to_domain(model: user::Model) -> StoreResult<User> {
        to_domain(model)
    }
}

repo::versioned!(Users, user);

fn visible(backend: DbBackend, tenant: TenantId, rule: ScopeRule) -> Select<user::Entity> {
    Users::visible(backend, tenant, rule)
}

repo::scoped_reads!(Users);

/// The row behind a login attempt (no scope: nobody is logged in yet).
pub async fn find_for_login<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    email: &str,
) -> StoreResult<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant.uuid()))
        .filter(user::Column::Email.eq(email.to_lowercase()))
        .one(conn)
        .await?)
}

/// The stored password hash of a user (for password changes).
pub async fn password_hash<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: UserId) -> StoreResult<String> {
    user::Entity::find_by_id((tenant.uuid(), id.uuid()))
        .one(conn)
        .await?
        .map(|u| u.password_hash)
        .ok_or(StoreError::NotFound)
}

#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub combinators: Combinators<UserFilter>,
    /// Matches a substring of the name or the email.
    pub search: Option<String>,
    pub email: Option<TextFilter>,
    pub display_name: Option<TextFilter>,
    pub status: Option<UserStatus>,
    pub department_id: Option<IdFilter>,
    pub role_id: Option<IdFilter>,
    pub manager_id: Option<IdFilter>,
    pub created_at: Option<TimeFilter>,
}

impl UserFilter {
    fn condition(&self) -> Condition {
        let mut all = Condition::all();
        if let Some(search) = self.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let contains = TextFilter { contains: Some(search.to_owned()), ..TextFilter::default() };
            all = all.add(
                Condition::any()
                    .add(contains.condition(user::Column::DisplayName))
                    .add(contains.condition(user::Column::Email)),
            );
        }
        if let Some(f) = &self.email {
            all = all.add(f.condition(user::Column::Email));
        }
        if let Some(f) = &self.display_name {
            all = all.add(f.condition(user::Column::DisplayName));
        }
        if let Some(status) = self.status {
            all = all.add(user::Column::Status.eq(status.as_str()));
        }
        if let Some(f) = &self.department_id {
            all = all.add(f.condition(user::Column::DepartmentId));
        }
        if let Some(f) = &self.role_id {
            all = all.add(f.condition(user::Column::RoleId));
        }
        if let Some(f) = &self.manager_id {
            all = all.add(f.condition(user::Column::ManagerId));
        }
        if let Some(f) = &self.created_at {
            all = all.add(f.condition(user::Column::CreatedAt));
        }
        self.combinators.apply(all, Self::condition)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserSort {
    DisplayName,
    Email,
    CreatedAt,
    UpdatedAt,
}

fn sort_key(sort: UserSort, direction: Direction) -> SortKey<user::Entity> {
    type M = user::Model;
    match sort {
        UserSort::DisplayName => SortKey {
            name: "DISPLAY_NAME",
            column: user::Column::DisplayName,
            direction,
            value: |m: &M| CursorValue::Text(m.display_name.clone()),
        },
        UserSort::Email => SortKey {
            name: "EMAIL",
            column: user::Column::Email,
            direction,
            value: |m: &M| CursorValue::Text(m.email.clone()),
        },
        UserSort::CreatedAt => SortKey {
            name: "CREATED_AT",
            column: user::Column::CreatedAt,
            direction,
            value: |m: &M| CursorValue::Time(m.created_at),
        },
        UserSort::UpdatedAt => SortKey {
            name: "UPDATED_AT",
            column: user::Column::UpdatedAt,
            direction,
            value: |m: &M| CursorValue::Time(m.updated_at),
        },
    }
}

impl repo::Listed for Users {
    type Filter = UserFilter;
    type Order = (UserSort, Direction);

    fn matching(backend: DbBackend, tenant: TenantId, scope: ScopeRule, filter: &UserFilter) -> Select<user::Entity> {
        Self::visible(backend, tenant, scope).filter(filter.condition())
    }

    fn sort_key((sort, direction): Self::Order) -> SortKey<user::Entity> {
        sort_key(sort, direction)
    }

    fn id_of(model: &user::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Users);

/// The ids of a user's managers, nearest first, the user included.
async fn managers_and_self<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<Vec<Uuid>> {
    let sql = "WITH RECURSIVE up(id, manager_id, depth) AS (\
        SELECT id, manager_id, 0 FROM users WHERE tenant_id = ? AND id = ? \
        UNION SELECT u.id, u.manager_id, up.depth + 1 FROM users u JOIN up ON u.id = up.manager_id \
        WHERE u.tenant_id = ? AND up.depth < 1000\
        ) SELECT id FROM up ORDER BY depth";
    let statement = crate::dialect::raw_statement(
        conn.get_database_backend(),
        sql,
        [tenant.uuid().into(), id.into(), tenant.uuid().into()],
    );
    let rows = conn.query_all_raw(statement).await?;
    rows.iter().map(|row| row.try_get::<Uuid>("", "id").map_err(StoreError::from)).collect()
}

/// Checks the references of a user input: a live department the caller may see, a live
/// role, and a manager who is a user of the tenant.
async fn check_references<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    departments: DepartmentRule,
    department: Option<DepartmentId>,
    role_id: Option<RoleId>,
    manager: Option<UserId>,
) -> StoreResult<()> {
    let mut invalid = guanxi_domain::Invalid::default();
    if let Some(department) = department {
        let found = crate::platform::department::find(conn, tenant, departments, department.uuid()).await?;
        if found.is_none_or(|d| d.deleted_at.is_some()) {
            invalid.push(guanxi_domain::FieldError::new("departmentId", ErrorCode::NotFound, "no such department"));
        }
    }
    if let Some(role_id) = role_id {
        let found = role::Entity::find_by_id((tenant.uuid(), role_id.uuid())).one(conn).await?;
        if found.is_none_or(|r| r.deleted_at.is_some()) {
            invalid.push(guanxi_domain::FieldError::new("roleId", ErrorCode::NotFound, "no such role"));
        }
    }
    if let Some(manager) = manager {
        let found = user::Entity::find_by_id((tenant.uuid(), manager.uuid())).one(conn).await?;
        if found.is_none() {
            invalid.push(guanxi_domain::FieldError::new("managerId", ErrorCode::NotFound, "no such user"));
        }
    }
    invalid.into_result().map_err(StoreError::from)
}

pub struct NewUser {
    pub email: Email,
    pub display_name: guanxi_domain::platform::org::Name,
    pub phone: Option<PhoneNumber>,
    pub password_hash: String,
    pub department_id: DepartmentId,
    pub manager_id: Option<UserId>,
    pub role_id: RoleId,
}

pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    departments: DepartmentRule,
    input: NewUser,
) -> StoreResult<User> {
    let tenant = author.tenant_id;
    check_references(conn, tenant, departments, Some(input.department_id), Some(input.role_id), input.manager_id)
        .await?;
    let now = Utc::now();
    let id = UserId::new();
    let model = user::Entity::insert(user::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id.uuid()),
        email: Set(input.email.as_str().to_owned()),
        display_name: Set(input.display_name.as_str().to_owned()),
        phone: Set(input.phone.map(PhoneNumber::into_inner)),
        password_hash: Set(input.password_hash),
        department_id: Set(input.department_id.uuid()),
        manager_id: Set(input.manager_id.map(UserId::uuid)),
        role_id: Set(input.role_id.uuid()),
        status: Set(UserStatus::Active.as_str().to_owned()),
        failed_logins: Set(0),
        locked_until: Set(None),
        password_changed_at: Set(now),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await
    .map_err(|e| on_unique(e, "email", "a user with this email already exists"))?;
    let changes = ChangeSet::new()
        .field("email", (), &model.email)
        .field("displayName", (), &model.display_name)
        .field("phone", (), &model.phone)
        .field("departmentId", (), model.department_id)
        .field("managerId", (), model.manager_id)
        .field("roleId", (), model.role_id)
        .secret("password");
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    to_domain(model)
}

/// What an update changes; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Default)]
pub struct UserPatch {
    pub display_name: Option<guanxi_domain::platform::org::Name>,
    pub phone: Option<Option<PhoneNumber>>,
    pub department_id: Option<DepartmentId>,
    pub manager_id: Option<Option<UserId>>,
    pub role_id: Option<RoleId>,
}

#[allow(clippy::too_many_arguments)]
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: ScopeRule,
    departments: DepartmentRule,
    id: Uuid,
    expected_version: i32,
    patch: UserPatch,
) -> StoreResult<User> {
    let tenant = author.tenant_id;
    let before = repo::current::<Users, _>(conn, tenant, rule, id, expected_version).await?;
    check_references(conn, tenant, departments, patch.department_id, patch.role_id, patch.manager_id.flatten()).await?;
    let mut values = Vec::new();
    let mut changes = ChangeSet::new();
    if let Some(name) = &patch.display_name {
        changes = changes.field("displayName", &before.display_name, name.as_str());
        values.push((user::Column::DisplayName, Expr::value(name.as_str())));
    }
    if let Some(phone) = &patch.phone {
        let phone = phone.as_ref().map(|p| p.as_str().to_owned());
        changes = changes.field("phone", &before.phone, &phone);
        values.push((user::Column::Phone, Expr::value(phone)));
    }
    if let Some(department) = patch.department_id {
        changes = changes.field("departmentId", before.department_id, department);
        values.push((user::Column::DepartmentId, Expr::value(department.uuid())));
    }
    if let Some(role_id) = patch.role_id {
        changes = changes.field("roleId", before.role_id, role_id);
        values.push((user::Column::RoleId, Expr::value(role_id.uuid())));
    }
    if let Some(manager) = patch.manager_id {
        if let Some(manager) = manager {
            let chain: Vec<UserId> =
                managers_and_self(conn, tenant, manager.uuid()).await?.into_iter().map(Into::into).collect();
            check_no_cycle("managerId", &before.id, Some(&manager), &chain)?;
        }
        changes = changes.field("managerId", before.manager_id, manager);
        values.push((user::Column::ManagerId, Expr::value(manager.map(UserId::uuid))));
    }
    if changes.is_empty() {
        return Ok(before);
    }
    let after =
        repo::write_versioned::<Users, _>(conn, tenant, id, expected_version, repo::set_columns(values)).await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Disables or re-enables a user. Disabling ends every session of the user at once.
pub async fn set_status<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: ScopeRule,
    id: Uuid,
    expected_version: i32,
    status: UserStatus,
) -> StoreResult<User> {
    let tenant = author.tenant_id;
    let before = repo::current::<Users, _>(conn, tenant, rule, id, expected_version).await?;
    if before.status == status {
        return Ok(before);
    }
    if status == UserStatus::Disabled && author.user_id == Some(id) {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "you cannot disable yourself"));
    }
    let mut values = vec![(user::Column::Status, Expr::value(status.as_str()))];
    if status == UserStatus::Active {
        values.push((user::Column::FailedLogins, Expr::value(0)));
        values.push((user::Column::LockedUntil, Expr::value(None::<DateTime<Utc>>)));
    }
    let after =
        repo::write_versioned::<Users, _>(conn, tenant, id, expected_version, repo::set_columns(values)).await?;
    if status == UserStatus::Disabled {
        auth::revoke_user_sessions(conn, tenant, before.id, None, "USER_DISABLED").await?;
    }
    let operation = if status == UserStatus::Disabled { Operation::Disable } else { Operation::Enable };
    audit::record(conn, author, ENTITY, id, operation, &ChangeSet::new().field("status", before.status, status))
        .await?;
    Ok(after)
}

/// Stores a new password hash and ends every other session of the user.
pub async fn set_password<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: UserId,
    password_hash: String,
    keep_session: Option<SessionId>,
) -> StoreResult<()> {
    let tenant = author.tenant_id;
    let now = Utc::now();
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(password_hash))
        .col_expr(user::Column::PasswordChangedAt, Expr::value(now))
        .col_expr(user::Column::FailedLogins, Expr::value(0))
        .col_expr(user::Column::LockedUntil, Expr::value(None::<DateTime<Utc>>))
        .col_expr(user::Column::Version, Expr::col(user::Column::Version).add(1))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::TenantId.eq(tenant.uuid()))
        .filter(user::Column::Id.eq(id.uuid()))
        .exec(conn)
        .await?;
    auth::revoke_user_sessions(conn, tenant, id, keep_session, "PASSWORD_CHANGED").await?;
    audit::record(conn, author, ENTITY, id.uuid(), Operation::PasswordChange, &ChangeSet::new().secret("password"))
        .await?;
    Ok(())
}

/// Takes one password check for a user, before the password is checked: counted as a
/// failure until a success resets it, so that however many attempts race (batches,
/// aliases, parallel connections), at most `FREE_FAILED_LOGINS` checks happen before the
/// lock. One conditional `UPDATE` claims the attempt only while the account is not locked;
/// the claim that reaches the limit sets the lock in the same transaction. A locked
/// account answers `Err(until)` and nothing is written.
pub async fn claim_login_attempt(
    conn: &DatabaseTransaction,
    tenant: TenantId,
    id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<Result<(), DateTime<Utc>>> {
    let statement = sea_orm::sea_query::Query::update()
        .table(user::Entity)
        .value(user::Column::FailedLogins, Expr::col(user::Column::FailedLogins).add(1))
        .and_where(Expr::col(user::Column::TenantId).eq(tenant.uuid()))
        .and_where(Expr::col(user::Column::Id).eq(id))
        .and_where(Expr::col(user::Column::LockedUntil).is_null().or(Expr::col(user::Column::LockedUntil).lte(now)))
        .returning(sea_orm::sea_query::Query::returning().column(user::Column::FailedLogins))
        .to_owned();
    let Some(row) = conn.query_one(&statement).await? else {
        let locked: Option<(Option<DateTime<Utc>>,)> = user::Entity::find()
            .select_only()
            .column(user::Column::LockedUntil)
            .filter(user::Column::TenantId.eq(tenant.uuid()))
            .filter(user::Column::Id.eq(id))
            .into_tuple()
            .one(conn)
            .await?;
        return Ok(Err(locked.and_then(|(until,)| until).unwrap_or(now)));
    };
    let attempts: i32 = row.try_get("", "failed_logins")?;
    if let Some(lock) = guanxi_domain::platform::auth::lockout_after(attempts) {
        user::Entity::update_many()
            .col_expr(user::Column::LockedUntil, Expr::value(now + lock))
            .filter(user::Column::TenantId.eq(tenant.uuid()))
            .filter(user::Column::Id.eq(id))
            .exec(conn)
            .await?;
    }
    Ok(Ok(()))
}

/// A password check passed: the count of failures starts again and any lock ends.
pub async fn record_successful_login<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<()> {
    user::Entity::update_many()
        .col_expr(user::Column::FailedLogins, Expr::value(0))
        .col_expr(user::Column::LockedUntil, Expr::value(None::<DateTime<Utc>>))
        .filter(user::Column::TenantId.eq(tenant.uuid()))
        .filter(user::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The active users among `ids` (one statement).
pub async fn active_ids<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    ids: impl IntoIterator<Item = Uuid>,
) -> StoreResult<Vec<Uuid>> {
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::TenantId.eq(tenant.uuid()))
        .filter(user::Column::Id.is_in(ids))
        .filter(user::Column::Status.eq(UserStatus::Active.as_str()))
        .into_tuple::<Uuid>()
        .all(conn)
        .await?)
}

/// The ids of users visible under `rule` (for work-log subjects).
pub async fn ids_under<C: ConnectionTrait>(conn: &C, tenant: TenantId, rule: ScopeRule) -> StoreResult<Vec<Uuid>> {
    Ok(visible(conn.get_database_backend(), tenant, rule)
        .select_only()
        .column(user::Column::Id)
        .limit(10_000)
        .into_tuple()
        .all(conn)
        .await?)
}

/// Users per department (for department member counts), within the caller's scope.
pub async fn count_by_department<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: ScopeRule,
    departments: &[Uuid],
) -> StoreResult<Vec<(Uuid, i64)>> {
    use sea_orm::FromQueryResult;
    #[derive(FromQueryResult)]
    struct Row {
        department_id: Uuid,
        members: i64,
    }
    let rows = visible(conn.get_database_backend(), tenant, rule)
        .select_only()
        .column(user::Column::DepartmentId)
        .column_as(user::Column::Id.count(), "members")
        .filter(user::Column::DepartmentId.is_in(departments.iter().copied()))
        .group_by(user::Column::DepartmentId)
        .into_model::<Row>()
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.department_id, r.members)).collect())
}

/// The display names of some users of the tenant, whatever the reader's `ORG` scope: what
/// an approval shows of its approvers and actors (a submitter sees who decides, even in
/// another department). Nothing else about them is read.
pub async fn display_names<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    ids: &[Uuid],
) -> StoreResult<Vec<(Uuid, String)>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::DisplayName)
        .filter(user::Column::TenantId.eq(tenant.uuid()))
        .filter(user::Column::Id.is_in(ids.to_vec()))
        .into_tuple()
        .all(conn)
        .await?)
}
