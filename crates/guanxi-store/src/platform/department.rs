//! The department tree: any depth, soft-deleted to a recycle bin, never a cycle.

use chrono::Utc;
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{DepartmentId, TenantId, UserId};
use guanxi_domain::platform::access::DepartmentRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::org::{Department, Name, check_no_cycle};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Select,
};
use uuid::Uuid;

use crate::entity::{department, user};
use crate::error::{StoreError, StoreResult};
use crate::filter::{Combinators, IdFilter, TextFilter, TimeFilter};
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Scoped};
use crate::scope;

pub const ENTITY: EntityKind = EntityKind::Department;

pub fn to_domain(m: department::Model) -> StoreResult<Department> {
    Ok(Department {
        id: m.id.into(),
        tenant_id: m.tenant_id.into(),
        parent_id: m.parent_id.map(Into::into),
        name: m.name,
        sort_order: m.sort_order,
        head_id: m.head_id.map(Into::into),
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Departments, read through the department side of the `ORG` scope. Deleted departments
/// stay readable by id (their history and their former members point at them).
pub struct Departments;

impl Scoped for Departments {
    type Entity = department::Entity;
    type Scope = DepartmentRule;
    type Record = Department;
    const ID: department::Column = department::Column::Id;
    const DELETED_AT: Option<department::Column> = None;

    fn visible(backend: DbBackend, tenant: TenantId, rule: DepartmentRule) -> Select<department::Entity> {
        department::Entity::find()
            .filter(department::Column::TenantId.eq(tenant.uuid()))
            .filter(scope::department_condition(backend, tenant, rule, (department::Entity, department::Column::Id)))
    }

    fn to_domain(model: department::Model) -> StoreResult<Department> {
        to_domain(model)
    }
}

repo::versioned!(Departments, department);
repo::recyclable!(Departments, department, ENTITY);

fn visible(backend: DbBackend, tenant: TenantId, rule: DepartmentRule) -> Select<department::Entity> {
    Departments::visible(backend, tenant, rule)
}

repo::scoped_reads!(Departments);

/// Visible, live children of any of `parents` (for data loaders), in display order.
pub async fn children_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: DepartmentRule,
    parents: &[Uuid],
) -> StoreResult<Vec<Department>> {
    visible(conn.get_database_backend(), tenant, rule)
        .filter(department::Column::ParentId.is_in(parents.iter().copied()))
        .filter(department::Column::DeletedAt.is_null())
        .order_by_asc(department::Column::SortOrder)
        .order_by_asc(department::Column::Name)
        .order_by_asc(department::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect::<StoreResult<_>>()
}

/// Which departments a list shows.
#[derive(Clone, Debug, Default)]
pub struct DepartmentFilter {
    pub combinators: Combinators<DepartmentFilter>,
    pub name: Option<TextFilter>,
    pub parent_id: Option<IdFilter>,
    pub created_at: Option<TimeFilter>,
    /// `Some(true)`: the recycle bin only; `Some(false)` or `None`: live departments only.
    pub deleted: Option<bool>,
}

impl DepartmentFilter {
    fn condition(&self) -> Condition {
        let mut all = Condition::all();
        if let Some(f) = &self.name {
            all = all.add(f.condition(department::Column::Name));
        }
        if let Some(f) = &self.parent_id {
            all = all.add(f.condition(department::Column::ParentId));
        }
        if let Some(f) = &self.created_at {
            all = all.add(f.condition(department::Column::CreatedAt));
        }
        self.combinators.apply(all, Self::condition)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepartmentSort {
    Name,
    SortOrder,
    CreatedAt,
    UpdatedAt,
}

fn sort_key(sort: DepartmentSort, direction: Direction) -> SortKey<department::Entity> {
    type M = department::Model;
    match sort {
        DepartmentSort::Name => SortKey {
            name: "NAME",
            column: department::Column::Name,
            direction,
            value: |m: &M| CursorValue::Text(m.name.clone()),
        },
        DepartmentSort::SortOrder => SortKey {
            name: "SORT_ORDER",
            column: department::Column::SortOrder,
            direction,
            value: |m: &M| CursorValue::Int(m.sort_order.into()),
        },
        DepartmentSort::CreatedAt => SortKey {
            name: "CREATED_AT",
            column: department::Column::CreatedAt,
            direction,
            value: |m: &M| CursorValue::Time(m.created_at),
        },
        DepartmentSort::UpdatedAt => SortKey {
            name: "UPDATED_AT",
            column: department::Column::UpdatedAt,
            direction,
            value: |m: &M| CursorValue::Time(m.updated_at),
        },
    }
}

impl repo::Listed for Departments {
    type Filter = DepartmentFilter;
    type Order = (DepartmentSort, Direction);

    fn matching(
        backend: DbBackend,
        tenant: TenantId,
        scope: DepartmentRule,
        filter: &DepartmentFilter,
    ) -> Select<department::Entity> {
        repo::in_bin::<Self>(backend, tenant, scope, filter.deleted).filter(filter.condition())
    }

    fn sort_key((sort, direction): Self::Order) -> SortKey<department::Entity> {
        sort_key(sort, direction)
    }

    fn id_of(model: &department::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Departments);

/// The ids of a department's ancestors, nearest first, the department included.
async fn ancestors_and_self<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<Vec<Uuid>> {
    let sql = "WITH RECURSIVE up(id, parent_id, depth) AS (\
        SELECT id, parent_id, 0 FROM departments WHERE tenant_id = ? AND id = ? \
        UNION SELECT d.id, d.parent_id, up.depth + 1 FROM departments d JOIN up ON d.id = up.parent_id \
        WHERE d.tenant_id = ? AND up.depth < 1000\
        ) SELECT id FROM up ORDER BY depth";
    let statement = crate::dialect::raw_statement(
        conn.get_database_backend(),
        sql,
        [tenant.uuid().into(), id.into(), tenant.uuid().into()],
    );
    let rows = conn.query_all_raw(statement).await?;
    rows.iter().map(|row| row.try_get::<Uuid>("", "id").map_err(StoreError::from)).collect()
}

/// A live parent the caller may see, or a `NOT_FOUND` on `field`.
async fn live_parent<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: DepartmentRule,
    parent: DepartmentId,
    field: &str,
) -> StoreResult<Department> {
    match find(conn, tenant, rule, parent.uuid()).await? {
        Some(d) if d.deleted_at.is_none() => Ok(d),
        _ => Err(StoreError::rejected(field, ErrorCode::NotFound, "no such department")),
    }
}

pub struct NewDepartment {
    pub name: Name,
    pub parent_id: Option<DepartmentId>,
    pub sort_order: i32,
}

pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: DepartmentRule,
    input: NewDepartment,
) -> StoreResult<Department> {
    let tenant = author.tenant_id;
    match input.parent_id {
        Some(parent) => {
            live_parent(conn, tenant, rule, parent, "parentId").await?;
        }
        None => {
            return Err(StoreError::rejected(
                "parentId",
                ErrorCode::Required,
                "a department needs a parent; the tenant has one root",
            ));
        }
    }
    let now = Utc::now();
    let id = DepartmentId::new();
    let model = department::Entity::insert(department::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id.uuid()),
        parent_id: Set(input.parent_id.map(DepartmentId::uuid)),
        name: Set(input.name.as_str().to_owned()),
        sort_order: Set(input.sort_order),
        head_id: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_with_returning(conn)
    .await?;
    let changes = ChangeSet::new().field("name", (), &model.name).field("parentId", (), model.parent_id).field(
        "sortOrder",
        (),
        model.sort_order,
    );
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    to_domain(model)
}

/// Inserts the root department of a new tenant.
pub(crate) async fn create_root<C: ConnectionTrait>(conn: &C, author: &Author, name: &str) -> StoreResult<Department> {
    let now = Utc::now();
    let id = DepartmentId::new();
    let model = department::Entity::insert(department::ActiveModel {
        tenant_id: Set(author.tenant_id.uuid()),
        id: Set(id.uuid()),
        parent_id: Set(None),
        name: Set(name.to_owned()),
        sort_order: Set(0),
        head_id: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_with_returning(conn)
    .await?;
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &ChangeSet::new().field("name", (), name))
        .await?;
    to_domain(model)
}

/// What an update changes; `None` leaves a field as it is.
#[derive(Default)]
pub struct DepartmentPatch {
    pub name: Option<Name>,
    pub parent_id: Option<DepartmentId>,
    pub sort_order: Option<i32>,
    /// `Some(None)` clears the head.
    pub head_id: Option<Option<UserId>>,
}

pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: DepartmentRule,
    id: Uuid,
    expected_version: i32,
    patch: DepartmentPatch,
) -> StoreResult<Department> {
    let tenant = author.tenant_id;
    let before = repo::current::<Departments, _>(conn, tenant, rule, id, expected_version).await?;
    if before.deleted_at.is_some() {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "restore the department before editing it"));
    }
    let mut values = Vec::new();
    let mut changes = ChangeSet::new();
    if let Some(name) = &patch.name {
        changes = changes.field("name", &before.name, name.as_str());
        values.push((department::Column::Name, Expr::value(name.as_str())));
    }
    if let Some(sort_order) = patch.sort_order {
        changes = changes.field("sortOrder", before.sort_order, sort_order);
        values.push((department::Column::SortOrder, Expr::value(sort_order)));
    }
    if let Some(head) = patch.head_id {
        if let Some(user) = head {
            let found = user::Entity::find()
                .filter(user::Column::TenantId.eq(tenant.uuid()))
                .filter(user::Column::Id.eq(user.uuid()))
                .count(conn)
                .await?;
            if found == 0 {
                return Err(StoreError::rejected("headId", ErrorCode::NotFound, "no such user"));
            }
        }
        changes = changes.field("headId", before.head_id, head);
        values.push((department::Column::HeadId, Expr::value(head.map(UserId::uuid))));
    }
    if let Some(parent) = patch.parent_id {
        if before.parent_id.is_none() {
            return Err(StoreError::rejected("parentId", ErrorCode::IllegalState, "the root department cannot move"));
        }
        live_parent(conn, tenant, rule, parent, "parentId").await?;
        let ancestors: Vec<DepartmentId> =
            ancestors_and_self(conn, tenant, parent.uuid()).await?.into_iter().map(Into::into).collect();
        check_no_cycle("parentId", &before.id, Some(&parent), &ancestors)?;
        changes = changes.field("parentId", before.parent_id, parent);
        values.push((department::Column::ParentId, Expr::value(parent.uuid())));
    }
    if changes.is_empty() {
        return Ok(before);
    }
    let after =
        repo::write_versioned::<Departments, _>(conn, tenant, id, expected_version, repo::set_columns(values)).await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Moves a department to the recycle bin. It must have no live sub-departments and no users.
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: DepartmentRule,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<Department> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Departments, _>(conn, tenant, rule, id, expected_version).await?;
    if before.parent_id.is_none() {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "the root department cannot be deleted"));
    }
    let children = department::Entity::find()
        .filter(department::Column::TenantId.eq(tenant.uuid()))
        .filter(department::Column::ParentId.eq(id))
        .filter(department::Column::DeletedAt.is_null())
        .count(conn)
        .await?;
    let members = user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant.uuid()))
        .filter(user::Column::DepartmentId.eq(id))
        .count(conn)
        .await?;
    if children > 0 || members > 0 {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::NotEmpty,
            format!("the department still has {children} sub-departments and {members} users"),
        ));
    }
    repo::mark_deleted::<Departments, _>(conn, author, id, expected_version).await
}

/// Brings a department back from the recycle bin, under a live parent.
pub async fn restore<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: DepartmentRule,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<Department> {
    let tenant = author.tenant_id;
    let (before, deleted_at) =
        repo::deleted_current::<Departments, _>(conn, tenant, rule, id, expected_version).await?;
    if let Some(parent) = before.parent_id {
        live_parent(conn, tenant, rule, parent, "id")
            .await
            .map_err(|_| StoreError::rejected("id", ErrorCode::IllegalState, "restore the parent department first"))?;
    }
    repo::finish_restore::<Departments, _>(conn, author, (id, expected_version), deleted_at, StoreError::from).await
}
