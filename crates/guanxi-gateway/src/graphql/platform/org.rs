//! The organisation over GraphQL: departments (a tree), users, roles and the permission
//! catalogue. Reads go through the `Org` data scope; writes need `org.manage`.

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::ids::DepartmentId;
use guanxi_domain::platform::access::{DataScope, Module, Permission, Role as DomainRole};
use guanxi_domain::platform::org::{Department as DomainDepartment, User as DomainUser, UserStatus as DomainStatus};
use guanxi_store::filter::Combinators;
use guanxi_store::page::Direction;
use guanxi_store::platform::department::{DepartmentFilter as StoreDepartmentFilter, DepartmentSort};
use guanxi_store::platform::user::{UserFilter as StoreUserFilter, UserSort};
use serde::Serialize;

use crate::graphql::context::{actor, require, state};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::loaders::{ChildrenKey, DepartmentKey, Loaders, MemberCountKey, RoleKey, UserKey};
use crate::graphql::relay::{Conn, TotalCount, connection, expect_id, global_id, page_request};
use crate::graphql::shared::{IdFilter, OrderDirection, StringFilter, TimeRange};

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
    /// The head (部门负责人), who approves where an approval flow asks for the head of the
    /// submitter's department; null when unset or not visible to the caller.
    async fn head(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(head) = self.0.head_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(head.uuid())).await?.map(User))
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
#[graphql(remote = "DomainStatus")]
pub enum UserStatus {
    /// 在职
    Active,
    /// 已停用
    Disabled,
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
        Ok(self.0.phone.as_deref().map(|p| guanxi_domain::platform::access::phone_as_seen(p, full)))
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
#[graphql(remote = "Module")]
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
    /// 报价单
    Quote,
    /// 销售订单
    Order,
    /// 回款
    Receivable,
    /// 发票
    Invoice,
    /// 佣金结算单, by their rep
    Commission,
    /// 线索
    Lead,
}

/// Which records of a module a role sees.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DataScope")]
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
        let me = guanxi_store::platform::user::find(
            db.connection(),
            actor.tenant_id,
            guanxi_domain::platform::access::ScopeRule::OwnedBy(actor.user_id),
            actor.user_id.uuid(),
        )
        .await?
        .ok_or(ApiError::NotFound)?;
        Ok(User(me))
    }

    async fn department(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Department> {
        let actor = require(ctx, Permission::OrgRead)?;
        let id = expect_id(&id, DEPARTMENT)?;
        let found = guanxi_store::platform::department::find(
            state(ctx).db.connection(),
            actor.tenant_id,
            actor.department_rule(),
            id,
        )
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
        let page = guanxi_store::platform::department::list(
            db.connection(),
            actor.tenant_id,
            actor.department_rule(),
            &filter,
            (sort, direction),
            &request,
        )
        .await?;
        let total = TotalCount::new(move |limit| {
            let (db, actor, filter) = (db.clone(), actor.clone(), filter.clone());
            Box::pin(async move {
                guanxi_store::platform::department::count(
                    db.connection(),
                    actor.tenant_id,
                    actor.department_rule(),
                    &filter,
                    limit,
                )
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
            let page = guanxi_store::platform::department::list(
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
        let found = guanxi_store::platform::user::find(
            state(ctx).db.connection(),
            actor.tenant_id,
            actor.scope_rule(Module::Org),
            id,
        )
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
        let page = guanxi_store::platform::user::list(
            db.connection(),
            actor.tenant_id,
            rule,
            &filter,
            (sort, direction),
            &request,
        )
        .await?;
        let total = TotalCount::new(move |limit| {
            let (db, tenant, filter) = (db.clone(), actor.tenant_id, filter.clone());
            Box::pin(
                async move { guanxi_store::platform::user::count(db.connection(), tenant, rule, &filter, limit).await },
            )
        });
        Ok(connection(page, total, User))
    }

    async fn role(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Role> {
        let actor = require(ctx, Permission::OrgRead)?;
        let id = expect_id(&id, ROLE)?;
        let found = guanxi_store::platform::role::find(state(ctx).db.connection(), actor.tenant_id, id).await?;
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
        let page = guanxi_store::platform::role::list(db.connection(), tenant, (), &deleted, (), &request).await?;
        let total = TotalCount::new(move |limit| {
            let db = db.clone();
            Box::pin(
                async move { guanxi_store::platform::role::count(db.connection(), tenant, (), &deleted, limit).await },
            )
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
