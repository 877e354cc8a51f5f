//! API keys for machine clients: created by an admin, shown once, stored hashed,
//! bound to a role, revocable.

use chrono::{DateTime, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{ApiKeyId, RoleId, TenantId, UserId};
use guanxi_domain::platform::access::ApiKey;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::org::Name;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use crate::entity::{api_key, role};
use crate::error::{StoreError, StoreResult};
use crate::page::{self, CursorValue, Direction, Page, PageRequest, SortKey, Tiebreak};
use crate::platform::audit::{self, Author};

pub const ENTITY: EntityKind = EntityKind::ApiKey;

pub fn to_domain(m: api_key::Model) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: m.id.into(),
        tenant_id: m.tenant_id.into(),
        name: m.name,
        prefix: m.prefix,
        role_id: m.role_id.into(),
        user_id: m.user_id.into(),
        expires_at: m.expires_at,
        last_used_at: m.last_used_at,
        revoked_at: m.revoked_at,
        version: m.version,
        created_at: m.created_at,
    })
}

fn listed(tenant: TenantId, include_revoked: bool) -> Select<api_key::Entity> {
    let select = api_key::Entity::find().filter(api_key::Column::TenantId.eq(tenant.uuid()));
    if include_revoked { select } else { select.filter(api_key::Column::RevokedAt.is_null()) }
}

pub async fn find<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<Option<ApiKey>> {
    listed(tenant, true).filter(api_key::Column::Id.eq(id)).one(conn).await?.map(to_domain).transpose()
}

/// Keys, newest first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    include_revoked: bool,
    request: &PageRequest,
) -> StoreResult<Page<ApiKey>> {
    let key = SortKey {
        name: "CREATED_AT",
        column: api_key::Column::Id,
        direction: Direction::Desc,
        value: |m: &api_key::Model| CursorValue::Uuid(m.id),
    };
    let tiebreak = Tiebreak { column: api_key::Column::Id, value: |m: &api_key::Model| CursorValue::Uuid(m.id) };
    page::fetch(conn, listed(tenant, include_revoked), &key, &tiebreak, request).await?.try_map(to_domain)
}

pub async fn count<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    include_revoked: bool,
    limit: Option<u64>,
) -> StoreResult<u64> {
    crate::repo::tally(conn, listed(tenant, include_revoked), limit).await
}

pub struct NewApiKey {
    pub name: Name,
    pub role_id: RoleId,
    /// Whom the key acts for.
    pub user_id: UserId,
    pub expires_at: Option<DateTime<Utc>>,
    pub prefix: String,
    pub secret_hash: String,
}

pub async fn create<C: ConnectionTrait>(conn: &C, author: &Author, input: NewApiKey) -> StoreResult<ApiKey> {
    let tenant = author.tenant_id;
    let live_role = role::Entity::find_by_id((tenant.uuid(), input.role_id.uuid()))
        .one(conn)
        .await?
        .is_some_and(|r| r.deleted_at.is_none());
    if !live_role {
        return Err(StoreError::rejected("roleId", ErrorCode::NotFound, "no such role"));
    }
    if input.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(StoreError::rejected("expiresAt", ErrorCode::Invalid, "the expiry must be in the future"));
    }
    let now = Utc::now();
    let id = ApiKeyId::new();
    let model = api_key::Entity::insert(api_key::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id.uuid()),
        name: Set(input.name.as_str().to_owned()),
        prefix: Set(input.prefix),
        secret_hash: Set(input.secret_hash),
        role_id: Set(input.role_id.uuid()),
        user_id: Set(input.user_id.uuid()),
        expires_at: Set(input.expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await?;
    let changes = ChangeSet::new()
        .field("name", (), &model.name)
        .field("roleId", (), model.role_id)
        .field("userId", (), model.user_id)
        .field("expiresAt", (), model.expires_at)
        .secret("secret");
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    to_domain(model)
}

/// Revokes a key at once; a revoked key never works again.
pub async fn revoke<C: ConnectionTrait>(conn: &C, author: &Author, id: Uuid) -> StoreResult<ApiKey> {
    let tenant = author.tenant_id;
    let now = Utc::now();
    let result = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(now))
        .col_expr(api_key::Column::Version, Expr::col(api_key::Column::Version).add(1))
        .col_expr(api_key::Column::UpdatedAt, Expr::value(now))
        .filter(api_key::Column::TenantId.eq(tenant.uuid()))
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    let key = find(conn, tenant, id).await?.ok_or(StoreError::NotFound)?;
    if result.rows_affected == 0 {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "the key is already revoked"));
    }
    audit::record(conn, author, ENTITY, id, Operation::Revoke, &ChangeSet::new().field("revokedAt", None::<()>, now))
        .await?;
    Ok(key)
}

/// Notes that a key was used (the caller throttles how often).
pub async fn touch<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: ApiKeyId) -> StoreResult<()> {
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Expr::value(Utc::now()))
        .filter(api_key::Column::TenantId.eq(tenant.uuid()))
        .filter(api_key::Column::Id.eq(id.uuid()))
        .exec(conn)
        .await?;
    Ok(())
}
