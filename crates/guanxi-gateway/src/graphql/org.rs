//! The organisation over GraphQL: departments (a tree), users, roles and the permission
//! catalogue. Reads go through the `Org` data scope; writes need `org.manage`.

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::access::{DataScope, Module, Permission, Role as DomainRole};
use guanxi_domain::ids::{DepartmentId, RoleId, UserId};
use guanxi_domain::org::{Department as DomainDepartment, Email, Name, User as DomainUser, UserStatus as DomainStatus};
use guanxi_domain::phone::PhoneNumber;
use guanxi_store::department::{
    DepartmentFilter as StoreDepartmentFilter, DepartmentPatch, DepartmentSort, NewDepartment,
};
use guanxi_store::filter::Combinators;
use guanxi_store::page::Direction;
use guanxi_store::user::{NewUser, UserFilter as StoreUserFilter, UserPatch, UserSort};
use serde::Serialize;

use super::context::{actor, author, require, state};
use super::error::{ApiError, ApiResult, Outcome, UserError};
use super::loaders::{ChildrenKey, DepartmentKey, Loaders, MemberCountKey, RoleKey, UserKey};
use super::mutation::{Idempotent, write};
use super::relay::{Conn, TotalCount, connection, expect_id, global_id, input_id, page_request};
use super::shared::{IdFilter, OrderDirection, StringFilter, TimeRange};

pub const DEPARTMENT: &str = guanxi_domain::entity::EntityKind::Department.name();
pub const USER: &str = guanxi_domain::entity::EntityKind::User.name();
pub const ROLE: &str = guanxi_domain::entity::EntityKind::Role.name();

fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, ApiError> {
    ctx.data_opt::<Loaders>().ok_or_else(|| ApiError::Unauthenticated("log in first".into()))
}

// ---------------------------------------------------------------------------------------
// Types

/// A node of the department tree (部门).
pub struct Department(pub DomainDepartment);

#[Object]
impl Department {
    pub async fn id(&self) -> ID {
        global_id(DEPARTMENT, self.0.id.uuid())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Position among its siblings.
    async fn sort_order(&self) -> i32 {
        self.0.sort_order
    }
    /// The parent department; null for the root, or when the caller may not see it.
    async fn parent(&self, ctx: &Context<'_>) -> ApiResult<Option<Department>> {
        let Some(parent) = self.0.parent_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(DepartmentKey(parent.uuid())).await?.map(Department))
    }
    /// Live sub-departments the caller may see, in display order.
    async fn children(&self, ctx: &Context<'_>) -> ApiResult<Vec<Department>> {
        let children = loaders(ctx)?.load_one(ChildrenKey(self.0.id.uuid())).await?;
        Ok(children.unwrap_or_default().into_iter().map(Department).collect())
    }
    /// Users of this department the caller may see.
    async fn member_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(loaders(ctx)?.load_one(MemberCountKey(self.0.id.uuid())).await?.unwrap_or(0))
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Set while the department is in the recycle bin.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
}

/// Whether a user may log in.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
pub enum UserStatus {
    /// 在职
    Active,
    /// 已停用
    Disabled,
}

impl From<DomainStatus> for UserStatus {
    fn from(status: DomainStatus) -> Self {
        match status {
            DomainStatus::Active => Self::Active,
            DomainStatus::Disabled => Self::Disabled,
        }
    }
}

impl From<UserStatus> for DomainStatus {
    fn from(status: UserStatus) -> Self {
        match status {
            UserStatus::Active => Self::Active,
            UserStatus::Disabled => Self::Disabled,
        }
    }
}

/// An employee who logs in (员工).
pub struct User(pub DomainUser);

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        global_id(USER, self.0.id.uuid())
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// Masked (`138****5678`) unless the caller holds `phone.unmasked` or it is their own.
    async fn phone(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let actor = actor(ctx)?;
        let full = actor.sees_unmasked_phones() || actor.user_id == self.0.id;
        Ok(self.0.phone.as_deref().map(|p| guanxi_domain::access::phone_as_seen(p, full)))
    }
    /// Null when the caller may not see the department.
    async fn department(&self, ctx: &Context<'_>) -> ApiResult<Option<Department>> {
        Ok(loaders(ctx)?.load_one(DepartmentKey(self.0.department_id.uuid())).await?.map(Department))
    }
    /// The user's manager (上级); null when there is none or the caller may not see them.
    async fn manager(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(manager) = self.0.manager_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(manager.uuid())).await?.map(User))
    }
    async fn role(&self, ctx: &Context<'_>) -> ApiResult<Option<Role>> {
        Ok(loaders(ctx)?.load_one(RoleKey(self.0.role_id.uuid())).await?.map(Role))
    }
    async fn status(&self) -> UserStatus {
        self.0.status.into()
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A business area with its own data scope.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
pub enum ScopeModule {
    /// 组织架构 (users and departments)
    Org,
    /// 客户
    Customer,
    /// 联系人
    Contact,
    /// 交流记录
    Interaction,
    /// 商机
    Opportunity,
    /// 合同
    Contract,
    /// 工单
    WorkOrder,
    /// 日程任务
    Task,
}

impl From<Module> for ScopeModule {
    fn from(m: Module) -> Self {
        match m {
            Module::Org => Self::Org,
            Module::Customer => Self::Customer,
            Module::Contact => Self::Contact,
            Module::Interaction => Self::Interaction,
            Module::Opportunity => Self::Opportunity,
            Module::Contract => Self::Contract,
            Module::WorkOrder => Self::WorkOrder,
            Module::Task => Self::Task,
        }
    }
}

impl From<ScopeModule> for Module {
    fn from(m: ScopeModule) -> Self {
        match m {
            ScopeModule::Org => Self::Org,
            ScopeModule::Customer => Self::Customer,
            ScopeModule::Contact => Self::Contact,
            ScopeModule::Interaction => Self::Interaction,
            ScopeModule::Opportunity => Self::Opportunity,
            ScopeModule::Contract => Self::Contract,
            ScopeModule::WorkOrder => Self::WorkOrder,
            ScopeModule::Task => Self::Task,
        }
    }
}

/// Which records of a module a role sees.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
pub enum Scope {
    /// 本人: records the user owns.
    Own,
    /// 本人及下属: the user's and their reports' (all levels down the manager chain).
    OwnAndSubordinates,
    /// 本部门: records owned by anyone in the user's department.
    Department,
    /// 本部门及下属部门: the department and all departments below it.
    DepartmentTree,
    /// 全部
    All,
}

impl From<DataScope> for Scope {
    fn from(s: DataScope) -> Self {
        match s {
            DataScope::Own => Self::Own,
            DataScope::OwnAndSubordinates => Self::OwnAndSubordinates,
            DataScope::Department => Self::Department,
            DataScope::DepartmentTree => Self::DepartmentTree,
            DataScope::All => Self::All,
        }
    }
}

impl From<Scope> for DataScope {
    fn from(s: Scope) -> Self {
        match s {
            Scope::Own => Self::Own,
            Scope::OwnAndSubordinates => Self::OwnAndSubordinates,
            Scope::Department => Self::Department,
            Scope::DepartmentTree => Self::DepartmentTree,
            Scope::All => Self::All,
        }
    }
}

/// A module's data scope within a role.
#[derive(SimpleObject, InputObject, Clone, Copy, Debug, Serialize)]
#[graphql(input_name = "ModuleScopeInput")]
pub struct ModuleScope {
    pub module: ScopeModule,
    pub scope: Scope,
}

/// One function permission of the catalogue.
#[derive(SimpleObject)]
pub struct PermissionInfo {
    /// The key roles list, e.g. `customer.export`.
    key: String,
    /// 中文名称
    label: String,
}

/// A role (角色): function permissions and a data scope per module.
pub struct Role(pub DomainRole);

#[Object]
impl Role {
    pub async fn id(&self) -> ID {
        global_id(ROLE, self.0.id.uuid())
    }
    /// Set for the built-in roles: admin, executive, sales_manager, sales_rep,
    /// service_agent, technician, finance.
    async fn builtin_key(&self) -> Option<&str> {
        self.0.builtin_key.as_deref()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Permission keys, in catalogue order.
    async fn permissions(&self) -> Vec<&'static str> {
        self.0.grants.permissions().map(Permission::key).collect()
    }
    /// The data scope of every module (a module not listed when the role was saved is OWN).
    async fn scopes(&self) -> Vec<ModuleScope> {
        Module::ALL.iter().map(|m| ModuleScope { module: (*m).into(), scope: self.0.grants.scope(*m).into() }).collect()
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
}

// ---------------------------------------------------------------------------------------
// Filters and ordering

/// Filters departments. Fields combine with AND; use `and` / `or` / `not` for the rest.
#[derive(InputObject, Default, Clone)]
pub struct DepartmentFilter {
    pub and: Option<Vec<DepartmentFilter>>,
    pub or: Option<Vec<DepartmentFilter>>,
    pub not: Option<Box<DepartmentFilter>>,
    pub name: Option<StringFilter>,
    pub parent_id: Option<IdFilter>,
    pub created_at: Option<TimeRange>,
    /// true: the recycle bin; false or absent: live departments.
    pub deleted: Option<bool>,
}

impl DepartmentFilter {
    fn to_store(&self) -> Result<StoreDepartmentFilter, ApiError> {
        let nested = |v: &Option<Vec<DepartmentFilter>>| -> Result<Vec<StoreDepartmentFilter>, ApiError> {
            v.iter().flatten().map(Self::to_store).collect()
        };
        Ok(StoreDepartmentFilter {
            combinators: Combinators {
                and: nested(&self.and)?,
                or: nested(&self.or)?,
                not: self.not.as_deref().map(Self::to_store).transpose()?.map(Box::new),
            },
            name: self.name.as_ref().map(StringFilter::to_store),
            parent_id: self.parent_id.as_ref().map(|f| f.to_store(DEPARTMENT)).transpose()?,
            created_at: self.created_at.as_ref().map(TimeRange::to_store),
            deleted: self.deleted,
        })
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DepartmentOrderField {
    Name,
    SortOrder,
    CreatedAt,
    UpdatedAt,
}

#[derive(InputObject, Clone, Copy)]
pub struct DepartmentOrder {
    pub field: DepartmentOrderField,
    #[graphql(default_with = "OrderDirection::Asc")]
    pub direction: OrderDirection,
}

/// Filters users. Fields combine with AND; use `and` / `or` / `not` for the rest.
#[derive(InputObject, Default, Clone)]
pub struct UserFilter {
    pub and: Option<Vec<UserFilter>>,
    pub or: Option<Vec<UserFilter>>,
    pub not: Option<Box<UserFilter>>,
    /// A substring of the name or the email.
    pub search: Option<String>,
    pub email: Option<StringFilter>,
    pub display_name: Option<StringFilter>,
    pub status: Option<UserStatus>,
    pub department_id: Option<IdFilter>,
    pub role_id: Option<IdFilter>,
    pub manager_id: Option<IdFilter>,
    pub created_at: Option<TimeRange>,
}

impl UserFilter {
    fn to_store(&self) -> Result<StoreUserFilter, ApiError> {
        let nested = |v: &Option<Vec<UserFilter>>| -> Result<Vec<StoreUserFilter>, ApiError> {
            v.iter().flatten().map(Self::to_store).collect()
        };
        Ok(StoreUserFilter {
            combinators: Combinators {
                and: nested(&self.and)?,
                or: nested(&self.or)?,
                not: self.not.as_deref().map(Self::to_store).transpose()?.map(Box::new),
            },
            search: self.search.clone(),
            email: self.email.as_ref().map(StringFilter::to_store),
            display_name: self.display_name.as_ref().map(StringFilter::to_store),
            status: self.status.map(Into::into),
            department_id: self.department_id.as_ref().map(|f| f.to_store(DEPARTMENT)).transpose()?,
            role_id: self.role_id.as_ref().map(|f| f.to_store(ROLE)).transpose()?,
            manager_id: self.manager_id.as_ref().map(|f| f.to_store(USER)).transpose()?,
            created_at: self.created_at.as_ref().map(TimeRange::to_store),
        })
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum UserOrderField {
    DisplayName,
    Email,
    CreatedAt,
    UpdatedAt,
}

#[derive(InputObject, Clone, Copy)]
pub struct UserOrder {
    pub field: UserOrderField,
    #[graphql(default_with = "OrderDirection::Asc")]
    pub direction: OrderDirection,
}

/// One ordering key is supported per list (plus the id, which breaks ties).
fn single_order<T: Copy>(order_by: &Option<Vec<T>>) -> Result<Option<T>, ApiError> {
    match order_by.as_deref() {
        None | Some([]) => Ok(None),
        Some([one]) => Ok(Some(*one)),
        Some(_) => Err(ApiError::BadUserInput("order by one field; the id breaks ties".into())),
    }
}

// ---------------------------------------------------------------------------------------
// Queries

#[derive(Default)]
pub struct OrgQuery;

#[Object]
impl OrgQuery {
    /// The logged-in user.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let actor = actor(ctx)?;
        let db = &state(ctx).db;
        // The caller always sees themselves, whatever their scope.
        let me = guanxi_store::user::find(
            db.connection(),
            actor.tenant_id,
            guanxi_domain::access::ScopeRule::OwnedBy(actor.user_id),
            actor.user_id.uuid(),
        )
        .await?
        .ok_or(ApiError::NotFound)?;
        Ok(User(me))
    }

    async fn department(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Department> {
        let actor = require(ctx, Permission::OrgRead)?;
        let id = expect_id(&id, DEPARTMENT)?;
        let found =
            guanxi_store::department::find(state(ctx).db.connection(), actor.tenant_id, actor.department_rule(), id)
                .await?;
        Ok(found.map(Department).ok_or(ApiError::NotFound)?)
    }

    /// Departments the caller may see.
    #[graphql(complexity = "first.or(last).unwrap_or(20) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn departments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<DepartmentFilter>,
        order_by: Option<Vec<DepartmentOrder>>,
    ) -> ApiResult<Conn<Department>> {
        let actor = require(ctx, Permission::OrgRead)?.clone();
        let filter = filter.unwrap_or_default().to_store()?;
        let order = single_order(&order_by)?;
        let (sort, direction) = match order {
            Some(o) => (
                match o.field {
                    DepartmentOrderField::Name => DepartmentSort::Name,
                    DepartmentOrderField::SortOrder => DepartmentSort::SortOrder,
                    DepartmentOrderField::CreatedAt => DepartmentSort::CreatedAt,
                    DepartmentOrderField::UpdatedAt => DepartmentSort::UpdatedAt,
                },
                o.direction.into(),
            ),
            None => (DepartmentSort::SortOrder, Direction::Asc),
        };
        let sort_name = match sort {
            DepartmentSort::Name => "NAME",
            DepartmentSort::SortOrder => "SORT_ORDER",
            DepartmentSort::CreatedAt => "CREATED_AT",
            DepartmentSort::UpdatedAt => "UPDATED_AT",
        };
        let request = page_request(first, after, last, before, sort_name)?;
        let db = state(ctx).db.clone();
        let page = guanxi_store::department::list(
            db.connection(),
            actor.tenant_id,
            actor.department_rule(),
            &filter,
            (sort, direction),
            &request,
        )
        .await?;
        let total = TotalCount::new(move || {
            let (db, actor, filter) = (db.clone(), actor.clone(), filter.clone());
            Box::pin(async move {
                guanxi_store::department::count(db.connection(), actor.tenant_id, actor.department_rule(), &filter)
                    .await
            })
        });
        Ok(connection(page, total, Department))
    }

    /// The visible, live department tree in depth-first order, for pickers and org charts.
    async fn department_tree(&self, ctx: &Context<'_>) -> ApiResult<Vec<DepartmentTreeEntry>> {
        let actor = require(ctx, Permission::OrgRead)?;
        let filter = StoreDepartmentFilter::default();
        let request = guanxi_store::page::PageRequest::first(guanxi_store::page::MAX_PAGE);
        let mut all = Vec::new();
        let mut request = request;
        // Page through the whole (bounded) tree with keyset pages.
        loop {
            let page = guanxi_store::department::list(
                state(ctx).db.connection(),
                actor.tenant_id,
                actor.department_rule(),
                &filter,
                (DepartmentSort::SortOrder, Direction::Asc),
                &request,
            )
            .await?;
            let last = page.items.last().map(|(c, _)| c.clone());
            let more = page.has_next_page;
            all.extend(page.items.into_iter().map(|(_, d)| d));
            match (more, last) {
                (true, Some(cursor)) if all.len() < 10_000 => {
                    request = guanxi_store::page::PageRequest {
                        first: request.first,
                        after: Some(cursor),
                        ..Default::default()
                    }
                }
                _ => break,
            }
        }
        Ok(depth_first(all))
    }

    async fn user(&self, ctx: &Context<'_>, id: ID) -> ApiResult<User> {
        let actor = require(ctx, Permission::OrgRead)?;
        let id = expect_id(&id, USER)?;
        let found =
            guanxi_store::user::find(state(ctx).db.connection(), actor.tenant_id, actor.scope_rule(Module::Org), id)
                .await?;
        Ok(found.map(User).ok_or(ApiError::NotFound)?)
    }

    /// Users the caller may see under their `ORG` data scope.
    #[graphql(complexity = "first.or(last).unwrap_or(20) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<UserFilter>,
        order_by: Option<Vec<UserOrder>>,
    ) -> ApiResult<Conn<User>> {
        let actor = require(ctx, Permission::OrgRead)?.clone();
        let filter = filter.unwrap_or_default().to_store()?;
        let (sort, direction, sort_name) = match single_order(&order_by)? {
            Some(o) => match o.field {
                UserOrderField::DisplayName => (UserSort::DisplayName, o.direction.into(), "DISPLAY_NAME"),
                UserOrderField::Email => (UserSort::Email, o.direction.into(), "EMAIL"),
                UserOrderField::CreatedAt => (UserSort::CreatedAt, o.direction.into(), "CREATED_AT"),
                UserOrderField::UpdatedAt => (UserSort::UpdatedAt, o.direction.into(), "UPDATED_AT"),
            },
            None => (UserSort::CreatedAt, Direction::Asc, "CREATED_AT"),
        };
        let request = page_request(first, after, last, before, sort_name)?;
        let db = state(ctx).db.clone();
        let rule = actor.scope_rule(Module::Org);
        let page =
            guanxi_store::user::list(db.connection(), actor.tenant_id, rule, &filter, (sort, direction), &request)
                .await?;
        let total = TotalCount::new(move || {
            let (db, tenant, filter) = (db.clone(), actor.tenant_id, filter.clone());
            Box::pin(async move { guanxi_store::user::count(db.connection(), tenant, rule, &filter).await })
        });
        Ok(connection(page, total, User))
    }

    async fn role(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Role> {
        let actor = require(ctx, Permission::OrgRead)?;
        let id = expect_id(&id, ROLE)?;
        let found = guanxi_store::role::find(state(ctx).db.connection(), actor.tenant_id, id).await?;
        Ok(found.map(Role).ok_or(ApiError::NotFound)?)
    }

    /// The tenant's roles by name; `deleted: true` lists the recycle bin.
    #[graphql(complexity = "first.or(last).unwrap_or(20) as usize * child_complexity")]
    async fn roles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default = false)] deleted: bool,
    ) -> ApiResult<Conn<Role>> {
        let actor = require(ctx, Permission::OrgRead)?;
        let request = page_request(first, after, last, before, "NAME")?;
        let db = state(ctx).db.clone();
        let tenant = actor.tenant_id;
        let page = guanxi_store::role::list(db.connection(), tenant, deleted, &request).await?;
        let total = TotalCount::new(move || {
            let db = db.clone();
            Box::pin(async move { guanxi_store::role::count(db.connection(), tenant, deleted).await })
        });
        Ok(connection(page, total, Role))
    }

    /// Every function permission a role can grant.
    async fn permission_catalog(&self) -> Vec<PermissionInfo> {
        Permission::ALL
            .iter()
            .map(|p| PermissionInfo { key: p.key().to_owned(), label: p.label_zh().to_owned() })
            .collect()
    }
}

/// A department with its depth in the tree (the caller's visible top is depth 0).
#[derive(SimpleObject)]
pub struct DepartmentTreeEntry {
    department: Department,
    depth: i32,
}

/// Orders departments depth-first, siblings in the order given. Departments whose parent
/// is not visible become tops of their own subtrees.
fn depth_first(departments: Vec<DomainDepartment>) -> Vec<DepartmentTreeEntry> {
    let ids: std::collections::HashSet<DepartmentId> = departments.iter().map(|d| d.id).collect();
    let mut children: HashMap<Option<DepartmentId>, Vec<DomainDepartment>> = HashMap::new();
    for d in departments {
        let parent = d.parent_id.filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(d);
    }
    let mut out = Vec::new();
    let mut stack: Vec<(DomainDepartment, i32)> =
        children.remove(&None).unwrap_or_default().into_iter().rev().map(|d| (d, 0)).collect();
    while let Some((department, depth)) = stack.pop() {
        if let Some(kids) = children.remove(&Some(department.id)) {
            stack.extend(kids.into_iter().rev().map(|d| (d, depth + 1)));
        }
        out.push(DepartmentTreeEntry { department: Department(department), depth });
    }
    out
}

// ---------------------------------------------------------------------------------------
// Mutations

#[derive(InputObject, Serialize)]
pub struct CreateDepartmentInput {
    pub name: String,
    /// Every department but the root has a parent.
    pub parent_id: ID,
    #[graphql(default)]
    pub sort_order: i32,
    /// Retries with the same key return the first result and create nothing new.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct DepartmentPayload {
    department: Option<Department>,
    user_errors: Vec<UserError>,
}

impl From<Outcome<DomainDepartment>> for DepartmentPayload {
    fn from(outcome: Outcome<DomainDepartment>) -> Self {
        match outcome {
            Ok(d) => Self { department: Some(Department(d)), user_errors: vec![] },
            Err(errors) => Self { department: None, user_errors: errors },
        }
    }
}

#[derive(InputObject)]
pub struct UpdateDepartmentInput {
    pub id: ID,
    pub expected_version: i32,
    pub name: Option<String>,
    /// Moves the department (and its subtree) under another one.
    pub parent_id: Option<ID>,
    pub sort_order: Option<i32>,
}

/// Identifies a versioned record for delete and restore.
#[derive(InputObject)]
pub struct VersionedIdInput {
    pub id: ID,
    pub expected_version: i32,
}

#[derive(InputObject, Serialize)]
pub struct CreateUserInput {
    pub email: String,
    pub display_name: String,
    pub phone: Option<String>,
    /// The initial password (8 to 128 characters).
    #[serde(skip)]
    pub password: String,
    pub department_id: ID,
    pub manager_id: Option<ID>,
    pub role_id: ID,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct UserPayload {
    user: Option<User>,
    user_errors: Vec<UserError>,
}

impl From<Outcome<DomainUser>> for UserPayload {
    fn from(outcome: Outcome<DomainUser>) -> Self {
        match outcome {
            Ok(u) => Self { user: Some(User(u)), user_errors: vec![] },
            Err(errors) => Self { user: None, user_errors: errors },
        }
    }
}

#[derive(InputObject)]
pub struct UpdateUserInput {
    pub id: ID,
    pub expected_version: i32,
    pub display_name: Option<String>,
    /// null clears the phone number.
    pub phone: MaybeUndefined<String>,
    pub department_id: Option<ID>,
    /// null clears the manager.
    pub manager_id: MaybeUndefined<ID>,
    pub role_id: Option<ID>,
}

#[derive(InputObject, Serialize)]
pub struct CreateRoleInput {
    pub name: String,
    #[graphql(default)]
    pub description: String,
    /// Permission keys from `permissionCatalog`.
    pub permissions: Vec<String>,
    /// Data scopes; modules left out get OWN.
    pub scopes: Vec<ModuleScope>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateRoleInput {
    pub id: ID,
    pub expected_version: i32,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Replaces the permission list (give `scopes` too, or the current ones are kept).
    pub permissions: Option<Vec<String>>,
    pub scopes: Option<Vec<ModuleScope>>,
}

#[derive(SimpleObject)]
pub struct RolePayload {
    role: Option<Role>,
    user_errors: Vec<UserError>,
}

impl From<Outcome<DomainRole>> for RolePayload {
    fn from(outcome: Outcome<DomainRole>) -> Self {
        match outcome {
            Ok(r) => Self { role: Some(Role(r)), user_errors: vec![] },
            Err(errors) => Self { role: None, user_errors: errors },
        }
    }
}

const ESCALATION: &str = "you cannot grant more than your own role allows";

fn escalation(field: &str) -> UserError {
    UserError::new(field, ErrorCode::Forbidden, ESCALATION)
}

/// Refuses to hand someone a role that allows more than the actor's own.
async fn check_role_within(
    ctx: &Context<'_>,
    actor: &guanxi_domain::access::Actor,
    role: uuid::Uuid,
) -> Result<(), UserError> {
    let found = guanxi_store::role::find(state(ctx).db.connection(), actor.tenant_id, role).await.ok().flatten();
    match found {
        Some(r) if !r.grants.within(&actor.grants) => Err(escalation("roleId")),
        _ => Ok(()),
    }
}

/// Keeps a parsed value, or collects its error.
fn take<T>(invalid: &mut Vec<UserError>, parsed: Result<T, guanxi_domain::FieldError>) -> Option<T> {
    parsed.map_err(|e| invalid.push(UserError::new(&e.field, e.code, e.message))).ok()
}

/// Parses a name, collecting the error.
fn name(invalid: &mut Vec<UserError>, field: &str, raw: &str) -> Option<Name> {
    Name::parse(field, raw).map_err(|e| invalid.push(UserError::new(&e.field, e.code, e.message))).ok()
}

fn id_of(invalid: &mut Vec<UserError>, field: &str, id: &ID, kind: &str) -> Option<uuid::Uuid> {
    input_id(field, id, kind).map_err(|e| invalid.push(e)).ok()
}

fn scopes_of(scopes: &[ModuleScope]) -> Vec<(Module, DataScope)> {
    scopes.iter().map(|s| (s.module.into(), s.scope.into())).collect()
}

#[derive(Default)]
pub struct OrgMutation;

#[Object]
impl OrgMutation {
    async fn create_department(&self, ctx: &Context<'_>, input: CreateDepartmentInput) -> ApiResult<DepartmentPayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let mut invalid = Vec::new();
        let parsed_name = name(&mut invalid, "name", &input.name);
        let parent = id_of(&mut invalid, "parentId", &input.parent_id, DEPARTMENT);
        let (Some(parsed_name), Some(parent), true) = (parsed_name, parent, invalid.is_empty()) else {
            return Ok(Err(invalid).into());
        };
        let author = author(ctx, actor);
        let rule = actor.department_rule();
        let tenant = actor.tenant_id;
        let idempotent = Idempotent::new(actor, "createDepartment", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            |tx| {
                Box::pin(async move {
                    guanxi_store::department::create(
                        tx,
                        &author,
                        rule,
                        NewDepartment {
                            name: parsed_name,
                            parent_id: Some(DepartmentId::from_uuid(parent)),
                            sort_order: input.sort_order,
                        },
                    )
                    .await
                    .map(|d| (d.id.uuid(), d))
                })
            },
            |tx, id| {
                Box::pin(async move {
                    guanxi_store::department::find(tx, tenant, rule, id)
                        .await?
                        .ok_or(guanxi_store::StoreError::NotFound)
                })
            },
        )
        .await?;
        Ok(result.into())
    }

    async fn update_department(&self, ctx: &Context<'_>, input: UpdateDepartmentInput) -> ApiResult<DepartmentPayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let mut invalid = Vec::new();
        let id = id_of(&mut invalid, "id", &input.id, DEPARTMENT);
        let new_name = input.name.as_deref().map(|n| name(&mut invalid, "name", n));
        let parent = input.parent_id.as_ref().map(|p| id_of(&mut invalid, "parentId", p, DEPARTMENT));
        let Some(id) = id.filter(|_| invalid.is_empty()) else { return Ok(Err(invalid).into()) };
        let patch = DepartmentPatch {
            name: new_name.flatten(),
            parent_id: parent.flatten().map(DepartmentId::from_uuid),
            sort_order: input.sort_order,
        };
        let author = author(ctx, actor);
        let rule = actor.department_rule();
        let result = super::mutation::transact(ctx, |tx| {
            Box::pin(async move {
                guanxi_store::department::update(tx, &author, rule, id, input.expected_version, patch).await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Moves a department to the recycle bin (it must have no sub-departments and no users).
    async fn delete_department(&self, ctx: &Context<'_>, input: VersionedIdInput) -> ApiResult<DepartmentPayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let id = match input_id("id", &input.id, DEPARTMENT) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = author(ctx, actor);
        let rule = actor.department_rule();
        let result = super::mutation::transact(ctx, |tx| {
            Box::pin(
                async move { guanxi_store::department::delete(tx, &author, rule, id, input.expected_version).await },
            )
        })
        .await?;
        Ok(result.into())
    }

    async fn restore_department(&self, ctx: &Context<'_>, input: VersionedIdInput) -> ApiResult<DepartmentPayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let id = match input_id("id", &input.id, DEPARTMENT) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = author(ctx, actor);
        let rule = actor.department_rule();
        let result = super::mutation::transact(ctx, |tx| {
            Box::pin(
                async move { guanxi_store::department::restore(tx, &author, rule, id, input.expected_version).await },
            )
        })
        .await?;
        Ok(result.into())
    }

    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> ApiResult<UserPayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let mut invalid = Vec::new();
        let email = take(&mut invalid, Email::parse("email", &input.email));
        let display_name = take(&mut invalid, Name::parse("displayName", &input.display_name));
        let phone = input
            .phone
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(|p| take(&mut invalid, PhoneNumber::parse("phone", p)));
        let password = take(&mut invalid, guanxi_domain::auth::Password::parse("password", &input.password));
        let department = id_of(&mut invalid, "departmentId", &input.department_id, DEPARTMENT);
        let role = id_of(&mut invalid, "roleId", &input.role_id, ROLE);
        let manager = input.manager_id.as_ref().map(|m| id_of(&mut invalid, "managerId", m, USER));
        let (Some(email), Some(display_name), Some(password), Some(department), Some(role), true) =
            (email, display_name, password, department, role, invalid.is_empty())
        else {
            return Ok(Err(invalid).into());
        };
        if let Err(e) = check_role_within(ctx, actor, role).await {
            return Ok(Err(vec![e]).into());
        }
        let password_hash =
            crate::auth::hash_password(password.expose().to_owned()).await.map_err(ApiError::internal)?;
        let author = author(ctx, actor);
        let departments = actor.department_rule();
        let rule = actor.scope_rule(Module::Org);
        let new_user = NewUser {
            email,
            display_name,
            phone: phone.flatten(),
            password_hash,
            department_id: DepartmentId::from_uuid(department),
            manager_id: manager.flatten().map(UserId::from_uuid),
            role_id: RoleId::from_uuid(role),
        };
        let idempotent = Idempotent::new(actor, "createUser", input.idempotency_key.as_deref(), &input);
        let tenant = actor.tenant_id;
        let result = write(
            ctx,
            idempotent,
            |tx| {
                Box::pin(async move {
                    guanxi_store::user::create(tx, &author, departments, new_user).await.map(|u| (u.id.uuid(), u))
                })
            },
            |tx, id| {
                Box::pin(async move {
                    guanxi_store::user::find(tx, tenant, rule, id).await?.ok_or(guanxi_store::StoreError::NotFound)
                })
            },
        )
        .await?;
        Ok(result.into())
    }

    async fn update_user(&self, ctx: &Context<'_>, input: UpdateUserInput) -> ApiResult<UserPayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let mut invalid = Vec::new();
        let id = id_of(&mut invalid, "id", &input.id, USER);
        let display_name = input.display_name.as_deref().map(|n| {
            Name::parse("displayName", n).map_err(|e| invalid.push(UserError::new(&e.field, e.code, e.message))).ok()
        });
        let phone = match &input.phone {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(p) if p.trim().is_empty() => Some(None),
            MaybeUndefined::Value(p) => match PhoneNumber::parse("phone", p) {
                Ok(p) => Some(Some(p)),
                Err(e) => {
                    invalid.push(UserError::new(&e.field, e.code, e.message));
                    None
                }
            },
        };
        let department = input.department_id.as_ref().map(|d| id_of(&mut invalid, "departmentId", d, DEPARTMENT));
        let role = input.role_id.as_ref().map(|r| id_of(&mut invalid, "roleId", r, ROLE));
        let manager = match &input.manager_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(m) => id_of(&mut invalid, "managerId", m, USER).map(|m| Some(UserId::from_uuid(m))),
        };
        let Some(id) = id.filter(|_| invalid.is_empty()) else { return Ok(Err(invalid).into()) };
        if let Some(Some(role)) = role
            && let Err(e) = check_role_within(ctx, actor, role).await
        {
            return Ok(Err(vec![e]).into());
        }
        let patch = UserPatch {
            display_name: display_name.flatten(),
            phone,
            department_id: department.flatten().map(DepartmentId::from_uuid),
            manager_id: manager,
            role_id: role.flatten().map(RoleId::from_uuid),
        };
        let author = author(ctx, actor);
        let (rule, departments) = (actor.scope_rule(Module::Org), actor.department_rule());
        let result = super::mutation::transact(ctx, |tx| {
            Box::pin(async move {
                guanxi_store::user::update(tx, &author, rule, departments, id, input.expected_version, patch).await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Disables a user: they cannot log in, and their sessions end at once.
    async fn disable_user(&self, ctx: &Context<'_>, input: VersionedIdInput) -> ApiResult<UserPayload> {
        set_status(ctx, input, DomainStatus::Disabled).await
    }

    async fn enable_user(&self, ctx: &Context<'_>, input: VersionedIdInput) -> ApiResult<UserPayload> {
        set_status(ctx, input, DomainStatus::Active).await
    }

    async fn create_role(&self, ctx: &Context<'_>, input: CreateRoleInput) -> ApiResult<RolePayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let mut invalid = Vec::new();
        let role_name = name(&mut invalid, "name", &input.name);
        let grants = guanxi_domain::access::parse_grants(&input.permissions, &scopes_of(&input.scopes))
            .map_err(|e| invalid.extend(UserError::all(e)))
            .ok();
        let (Some(role_name), Some(grants), true) = (role_name, grants, invalid.is_empty()) else {
            return Ok(Err(invalid).into());
        };
        if !grants.within(&actor.grants) {
            return Ok(Err(vec![escalation("permissions")]).into());
        }
        let author = author(ctx, actor);
        let tenant = actor.tenant_id;
        let description = input.description.trim().to_owned();
        let idempotent = Idempotent::new(actor, "createRole", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            |tx| {
                Box::pin(async move {
                    guanxi_store::role::create(
                        tx,
                        &author,
                        guanxi_store::role::NewRole { name: role_name, description, grants },
                    )
                    .await
                    .map(|r| (r.id.uuid(), r))
                })
            },
            |tx, id| {
                Box::pin(async move {
                    guanxi_store::role::find(tx, tenant, id).await?.ok_or(guanxi_store::StoreError::NotFound)
                })
            },
        )
        .await?;
        Ok(result.into())
    }

    async fn update_role(&self, ctx: &Context<'_>, input: UpdateRoleInput) -> ApiResult<RolePayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let mut invalid = Vec::new();
        let id = id_of(&mut invalid, "id", &input.id, ROLE);
        let role_name = input.name.as_deref().map(|n| name(&mut invalid, "name", n));
        let Some(id) = id.filter(|_| invalid.is_empty()) else { return Ok(Err(invalid).into()) };
        let tenant = actor.tenant_id;
        let author = author(ctx, actor);
        let own = actor.grants.clone();
        let (permissions, scopes, description, expected_version) =
            (input.permissions, input.scopes, input.description, input.expected_version);
        let result = super::mutation::transact(ctx, |tx| {
            Box::pin(async move {
                let grants = if permissions.is_some() || scopes.is_some() {
                    let current =
                        guanxi_store::role::find(tx, tenant, id).await?.ok_or(guanxi_store::StoreError::NotFound)?;
                    let keys = permissions
                        .unwrap_or_else(|| current.grants.permissions().map(|p| p.key().to_owned()).collect());
                    let scopes = scopes.map(|s| scopes_of(&s)).unwrap_or_else(|| current.grants.scopes().collect());
                    let grants = guanxi_domain::access::parse_grants(&keys, &scopes)?;
                    if !grants.within(&own) {
                        return Err(guanxi_store::StoreError::rejected(
                            "permissions",
                            ErrorCode::Forbidden,
                            ESCALATION,
                        ));
                    }
                    Some(grants)
                } else {
                    None
                };
                let patch = guanxi_store::role::RolePatch {
                    name: role_name.flatten(),
                    description: description.map(|d| d.trim().to_owned()),
                    grants,
                };
                guanxi_store::role::update(tx, &author, id, expected_version, patch).await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Moves a tenant-defined role to the recycle bin (nobody may hold it).
    async fn delete_role(&self, ctx: &Context<'_>, input: VersionedIdInput) -> ApiResult<RolePayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let id = match input_id("id", &input.id, ROLE) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = author(ctx, actor);
        let result = super::mutation::transact(ctx, |tx| {
            Box::pin(async move { guanxi_store::role::delete(tx, &author, id, input.expected_version).await })
        })
        .await?;
        Ok(result.into())
    }

    async fn restore_role(&self, ctx: &Context<'_>, input: VersionedIdInput) -> ApiResult<RolePayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let id = match input_id("id", &input.id, ROLE) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = author(ctx, actor);
        let result = super::mutation::transact(ctx, |tx| {
            Box::pin(async move { guanxi_store::role::restore(tx, &author, id, input.expected_version).await })
        })
        .await?;
        Ok(result.into())
    }
}

async fn set_status(ctx: &Context<'_>, input: VersionedIdInput, status: DomainStatus) -> ApiResult<UserPayload> {
    let actor = require(ctx, Permission::OrgManage)?;
    let id = match input_id("id", &input.id, USER) {
        Ok(id) => id,
        Err(e) => return Ok(Err(vec![e]).into()),
    };
    let author = author(ctx, actor);
    let rule = actor.scope_rule(Module::Org);
    let result = super::mutation::transact(ctx, |tx| {
        Box::pin(
            async move { guanxi_store::user::set_status(tx, &author, rule, id, input.expected_version, status).await },
        )
    })
    .await?;
    Ok(result.into())
}
