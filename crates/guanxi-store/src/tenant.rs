//! Tenants: one company each, fully isolated. Creating one also creates its root
//! department and the built-in roles.

use chrono::Utc;
use guanxi_domain::access::Role;
use guanxi_domain::ids::TenantId;
use guanxi_domain::org::{Department, TenantSlug};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use crate::audit::Author;
use crate::entity::tenant;
use crate::error::{StoreResult, on_unique};

/// A tenant as created: the row, its root department and its built-in roles.
pub struct CreatedTenant {
    pub tenant: tenant::Model,
    pub root: Department,
    pub roles: Vec<Role>,
}

impl CreatedTenant {
    pub fn id(&self) -> TenantId {
        self.tenant.id.into()
    }

    pub fn role(&self, key: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.builtin_key.as_deref() == Some(key))
    }
}

pub async fn create<C: ConnectionTrait>(conn: &C, slug: &TenantSlug, name: &str) -> StoreResult<CreatedTenant> {
    let now = Utc::now();
    let id = TenantId::new();
    let tenant = tenant::Entity::insert(tenant::ActiveModel {
        id: Set(id.uuid()),
        slug: Set(slug.as_str().to_owned()),
        name: Set(name.to_owned()),
        change_seq: Set(0),
        settings: Set(json!({})),
        disabled_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await
    .map_err(|e| on_unique(e, "tenant", "a tenant with this name already exists"))?;
    let author = Author::system(id);
    let root = crate::department::create_root(conn, &author, name).await?;
    let roles = crate::role::create_builtins(conn, &author).await?;
    Ok(CreatedTenant { tenant, root, roles })
}

pub async fn find_by_slug<C: ConnectionTrait>(conn: &C, slug: &str) -> StoreResult<Option<tenant::Model>> {
    Ok(tenant::Entity::find().filter(tenant::Column::Slug.eq(slug.trim().to_lowercase())).one(conn).await?)
}

pub async fn find<C: ConnectionTrait>(conn: &C, id: TenantId) -> StoreResult<Option<tenant::Model>> {
    Ok(tenant::Entity::find_by_id(id.uuid()).one(conn).await?)
}

/// Every live tenant's id (for jobs that run per tenant).
pub async fn live_ids<C: ConnectionTrait>(conn: &C) -> StoreResult<Vec<Uuid>> {
    Ok(tenant::Entity::find()
        .select_only()
        .column(tenant::Column::Id)
        .filter(tenant::Column::DisabledAt.is_null())
        .into_tuple::<Uuid>()
        .all(conn)
        .await?)
}
