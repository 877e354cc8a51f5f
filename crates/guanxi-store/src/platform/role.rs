//! Roles: function permissions plus a data scope per module. Built-in roles come with
//! every tenant; tenants add their own.

use std::collections::BTreeMap;

use chrono::Utc;
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{RoleId, TenantId};
use guanxi_domain::platform::access::{DataScope, Grants, Module, Permission, Role, builtin_roles};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::org::Name;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Select};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{api_key, role, user};
use crate::error::{StoreError, StoreResult, on_unique};
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::repo;

pub const ENTITY: EntityKind = EntityKind::Role;

fn permissions_json(grants: &Grants) -> Value {
    Value::Array(grants.permissions().map(|p| Value::String(p.key().to_owned())).collect())
}

fn scopes_json(grants: &Grants) -> Value {
    let map: BTreeMap<Module, DataScope> = grants.scopes().collect();
    serde_json::to_value(map).unwrap_or_else(|_| json!({}))
}

/// Reads the grants of a stored role. Keys were checked when the role was saved; one
/// that a later version no longer knows is skipped, which can only narrow access.
pub fn grants_from_json(role: Uuid, permissions: &Value, scopes: &Value) -> StoreResult<Grants> {
    let permissions = permissions
        .as_array()
        .map(|keys| keys.iter().filter_map(|k| k.as_str()?.parse::<Permission>().ok()).collect::<Vec<_>>())
        .unwrap_or_default();
    let scopes: BTreeMap<Module, DataScope> = Cell::of("roles", role, "scopes").json(scopes.clone())?;
    Ok(Grants::new(permissions, scopes))
}

pub fn to_domain(m: role::Model) -> StoreResult<Role> {
    Ok(Role {
        id: m.id.into(),
        tenant_id: m.tenant_id.into(),
        grants: grants_from_json(m.id, &m.permissions, &m.scopes)?,
        builtin_key: m.builtin_key,
        name: m.name,
        description: m.description,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

fn of_tenant(tenant: TenantId) -> Select<role::Entity> {
    role::Entity::find().filter(role::Column::TenantId.eq(tenant.uuid()))
}

pub async fn find<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<Option<Role>> {
    of_tenant(tenant).filter(role::Column::Id.eq(id)).one(conn).await?.map(to_domain).transpose()
}

pub async fn by_ids<C: ConnectionTrait>(conn: &C, tenant: TenantId, ids: &[Uuid]) -> StoreResult<Vec<Role>> {
    of_tenant(tenant)
        .filter(role::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect::<StoreResult<_>>()
}

pub async fn find_builtin<C: ConnectionTrait>(conn: &C, tenant: TenantId, key: &str) -> StoreResult<Option<Role>> {
    of_tenant(tenant).filter(role::Column::BuiltinKey.eq(key)).one(conn).await?.map(to_domain).transpose()
}

impl repo::Listed for Roles {
    /// True for the recycle bin.
    type Filter = bool;
    /// Roles list by name.
    type Order = ();

    fn matching(backend: sea_orm::DbBackend, tenant: TenantId, scope: (), deleted: &bool) -> Select<role::Entity> {
        repo::in_bin::<Self>(backend, tenant, scope, Some(*deleted))
    }

    fn sort_key((): ()) -> SortKey<role::Entity> {
        SortKey {
            name: "NAME",
            column: role::Column::Name,
            direction: Direction::Asc,
            value: |m: &role::Model| CursorValue::Text(m.name.clone()),
        }
    }

    fn id_of(model: &role::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Roles);

/// Creates the built-in roles of a new tenant.
pub(crate) async fn create_builtins<C: ConnectionTrait>(conn: &C, author: &Author) -> StoreResult<Vec<Role>> {
    let mut roles = Vec::new();
    for builtin in builtin_roles() {
        let role =
            insert(conn, author, Some(builtin.key), builtin.name, builtin.description, &builtin.grants()).await?;
        roles.push(role);
    }
    Ok(roles)
}

async fn insert<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    builtin_key: Option<&str>,
    name: &str,
    description: &str,
    grants: &Grants,
) -> StoreResult<Role> {
    let now = Utc::now();
    let id = RoleId::new();
    let model = role::Entity::insert(role::ActiveModel {
        tenant_id: Set(author.tenant_id.uuid()),
        id: Set(id.uuid()),
        builtin_key: Set(builtin_key.map(str::to_owned)),
        name: Set(name.to_owned()),
        description: Set(description.to_owned()),
        permissions: Set(permissions_json(grants)),
        scopes: Set(scopes_json(grants)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_with_returning(conn)
    .await
    .map_err(|e| on_unique(e, "name", "a role with this name already exists"))?;
    let changes = ChangeSet::new().field("name", (), &model.name).field("permissions", (), &model.permissions).field(
        "scopes",
        (),
        &model.scopes,
    );
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    to_domain(model)
}

pub struct NewRole {
    pub name: Name,
    pub description: String,
    pub grants: Grants,
}

pub async fn create<C: ConnectionTrait>(conn: &C, author: &Author, input: NewRole) -> StoreResult<Role> {
    insert(conn, author, None, input.name.as_str(), &input.description, &input.grants).await
}

#[derive(Default)]
pub struct RolePatch {
    pub name: Option<Name>,
    pub description: Option<String>,
    pub grants: Option<Grants>,
}

/// Roles are tenant configuration: every reader of roles sees them all.
pub struct Roles;

impl repo::Scoped for Roles {
    type Entity = role::Entity;
    type Scope = ();
    type Record = Role;
    const ID: role::Column = role::Column::Id;
    const DELETED_AT: Option<role::Column> = Some(role::Column::DeletedAt);

    fn visible(_: sea_orm::DbBackend, tenant: TenantId, (): ()) -> Select<role::Entity> {
        of_tenant(tenant)
    }

    fn to_domain(model: role::Model) -> StoreResult<Role> {
        to_domain(model)
    }
}

repo::versioned!(Roles, role);
repo::recyclable!(Roles, role, ENTITY);

/// Writes a versioned update of a role; a name taken by another role is `DUPLICATE` on
/// `duplicate_field`.
async fn write_versioned<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Uuid,
    expected_version: i32,
    values: Vec<(role::Column, SimpleExpr)>,
    duplicate_field: &str,
) -> StoreResult<Role> {
    let refused = |e| on_unique(e, duplicate_field, "a role with this name already exists");
    repo::write_versioned_or::<Roles, _>(conn, tenant, id, expected_version, repo::set_columns(values), refused).await
}

pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    expected_version: i32,
    patch: RolePatch,
) -> StoreResult<Role> {
    let tenant = author.tenant_id;
    let before = repo::current::<Roles, _>(conn, tenant, (), id, expected_version).await?;
    if before.deleted_at.is_some() {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "restore the role before editing it"));
    }
    if before.builtin_key.as_deref() == Some("admin") && patch.grants.is_some() {
        return Err(StoreError::rejected(
            "permissions",
            ErrorCode::IllegalState,
            "the admin role keeps every permission, so a tenant can never lock itself out",
        ));
    }
    let mut values = Vec::new();
    let mut changes = ChangeSet::new();
    if let Some(name) = &patch.name {
        changes = changes.field("name", &before.name, name.as_str());
        values.push((role::Column::Name, Expr::value(name.as_str())));
    }
    if let Some(description) = &patch.description {
        changes = changes.field("description", &before.description, description);
        values.push((role::Column::Description, Expr::value(description.clone())));
    }
    if let Some(grants) = &patch.grants {
        let (old_p, new_p) = (permissions_json(&before.grants), permissions_json(grants));
        let (old_s, new_s) = (scopes_json(&before.grants), scopes_json(grants));
        changes = changes.field("permissions", &old_p, &new_p).field("scopes", &old_s, &new_s);
        values.push((role::Column::Permissions, Expr::value(new_p)));
        values.push((role::Column::Scopes, Expr::value(new_s)));
    }
    if changes.is_empty() {
        return Ok(before);
    }
    let after = write_versioned(conn, tenant, id, expected_version, values, "name").await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Moves a tenant-defined role to the recycle bin; no user or live API key may hold it.
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<Role> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Roles, _>(conn, tenant, (), id, expected_version).await?;
    if before.builtin_key.is_some() {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "built-in roles cannot be deleted"));
    }
    let holders = user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant.uuid()))
        .filter(user::Column::RoleId.eq(id))
        .count(conn)
        .await?;
    let keys = api_key::Entity::find()
        .filter(api_key::Column::TenantId.eq(tenant.uuid()))
        .filter(api_key::Column::RoleId.eq(id))
        .filter(api_key::Column::RevokedAt.is_null())
        .count(conn)
        .await?;
    if holders > 0 || keys > 0 {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::NotEmpty,
            format!("{holders} users and {keys} API keys still hold this role"),
        ));
    }
    repo::mark_deleted::<Roles, _>(conn, author, id, expected_version).await
}

pub async fn restore<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<Role> {
    let (_, deleted_at) = repo::deleted_current::<Roles, _>(conn, author.tenant_id, (), id, expected_version).await?;
    let refused = |e| on_unique(e, "name", "a role with this name already exists");
    repo::finish_restore::<Roles, _>(conn, author, (id, expected_version), deleted_at, refused).await
}
