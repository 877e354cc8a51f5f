//! Sessions, refresh-token rotation and loading the actor of a request.
//!
//! A login opens a session; its refresh tokens form a family. Each refresh uses one token
//! and issues the next; presenting a token that was already used means it was stolen or
//! replayed, and the whole family (the session) is revoked. Access tokens name their
//! session, and every request checks it, so logout, a password change or disabling a user
//! take effect at once.

use chrono::{DateTime, Duration, Utc};
use guanxi_domain::ids::{ApiKeyId, SessionId, TenantId, UserId};
use guanxi_domain::platform::access::{Actor, ShareAccess};
use guanxi_domain::platform::org::UserStatus;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use uuid::Uuid;

use crate::entity::{idempotency_key, refresh_token, session, upsert_batch};
use crate::error::StoreResult;
use crate::platform::role::grants_from_json;

/// Opens a session for `user` with its first refresh token.
pub async fn open_session<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    user: UserId,
    refresh_hash: &str,
    lifetime: Duration,
) -> StoreResult<SessionId> {
    let now = Utc::now();
    let id = SessionId::new();
    session::Entity::insert(session::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id.uuid()),
        user_id: Set(user.uuid()),
        created_at: Set(now),
        expires_at: Set(now + lifetime),
        revoked_at: Set(None),
        revoke_reason: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    insert_refresh_token(conn, tenant, id, refresh_hash, now + lifetime).await?;
    Ok(id)
}

async fn insert_refresh_token<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    session: SessionId,
    hash: &str,
    expires_at: DateTime<Utc>,
) -> StoreResult<()> {
    refresh_token::Entity::insert(refresh_token::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(Uuid::now_v7()),
        session_id: Set(session.uuid()),
        token_hash: Set(hash.to_owned()),
        created_at: Set(Utc::now()),
        expires_at: Set(expires_at),
        used_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// What presenting a refresh token led to.
#[derive(Debug, PartialEq, Eq)]
pub enum Refresh {
    /// The token was live: it is now used, and `new_hash` is the session's next token.
    Rotated { session: SessionId, user: UserId },
    /// The token had been used before: the session is revoked.
    Reused,
    /// Unknown, expired, or its session is over.
    Invalid,
}

/// Uses the refresh token with hash `old_hash` and stores `new_hash` as its successor.
pub async fn rotate<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    old_hash: &str,
    new_hash: &str,
) -> StoreResult<Refresh> {
    let now = Utc::now();
    let Some(token) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TenantId.eq(tenant.uuid()))
        .filter(refresh_token::Column::TokenHash.eq(old_hash))
        .one(conn)
        .await?
    else {
        return Ok(Refresh::Invalid);
    };
    let Some(session) = session::Entity::find_by_id((tenant.uuid(), token.session_id)).one(conn).await? else {
        return Ok(Refresh::Invalid);
    };
    if session.revoked_at.is_some() || session.expires_at <= now || token.expires_at <= now {
        return Ok(Refresh::Invalid);
    }
    // Mark the token used only if nobody else did first: of two racing refreshes with the
    // same token, one rotates and the other counts as reuse.
    let used = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::TenantId.eq(tenant.uuid()))
        .filter(refresh_token::Column::Id.eq(token.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    if used.rows_affected == 0 {
        revoke_session(conn, tenant, session.id.into(), "REFRESH_TOKEN_REUSED").await?;
        return Ok(Refresh::Reused);
    }
    insert_refresh_token(conn, tenant, session.id.into(), new_hash, session.expires_at).await?;
    Ok(Refresh::Rotated { session: session.id.into(), user: session.user_id.into() })
}

pub async fn revoke_session<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: SessionId,
    reason: &str,
) -> StoreResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session::Column::RevokeReason, Expr::value(reason))
        .filter(session::Column::TenantId.eq(tenant.uuid()))
        .filter(session::Column::Id.eq(id.uuid()))
        .filter(session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends every live session of a user but `keep`.
pub async fn revoke_user_sessions<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    user: UserId,
    keep: Option<SessionId>,
    reason: &str,
) -> StoreResult<u64> {
    let mut update = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session::Column::RevokeReason, Expr::value(reason))
        .filter(session::Column::TenantId.eq(tenant.uuid()))
        .filter(session::Column::UserId.eq(user.uuid()))
        .filter(session::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        update = update.filter(session::Column::Id.ne(keep.uuid()));
    }
    Ok(update.exec(conn).await?.rows_affected)
}

fn grants_of(row: &sea_orm::QueryResult) -> StoreResult<guanxi_domain::platform::access::Grants> {
    let permissions: Value = row.try_get("", "permissions")?;
    let scopes: Value = row.try_get("", "scopes")?;
    let role: Uuid = row.try_get("", "role_id")?;
    grants_from_json(role, &permissions, &scopes)
}

/// A user's actor from a row with their department, role and grants.
fn staff_actor(tenant: TenantId, user: UserId, row: &sea_orm::QueryResult) -> StoreResult<Actor> {
    let department: Uuid = row.try_get("", "department_id")?;
    Ok(Actor {
        tenant_id: tenant,
        user_id: user,
        department_id: department.into(),
        api_key_id: None,
        grants: grants_of(row)?,
        shares: ShareAccess::Read,
    })
}

/// The actor behind an access token, in one statement: the user must be active, their
/// role live, the session open and the tenant enabled.
pub async fn session_actor<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    user: UserId,
    session: SessionId,
) -> StoreResult<Option<Actor>> {
    let sql = "SELECT u.department_id, r.id AS role_id, r.permissions, r.scopes \
        FROM users u \
        JOIN roles r ON r.tenant_id = u.tenant_id AND r.id = u.role_id AND r.deleted_at IS NULL \
        JOIN sessions s ON s.tenant_id = u.tenant_id AND s.user_id = u.id AND s.id = ? \
            AND s.revoked_at IS NULL AND s.expires_at > ? \
        JOIN tenants t ON t.id = u.tenant_id AND t.disabled_at IS NULL \
        WHERE u.tenant_id = ? AND u.id = ? AND u.status = ?";
    let statement = crate::dialect::raw_statement(
        conn.get_database_backend(),
        sql,
        [
            session.uuid().into(),
            Utc::now().into(),
            tenant.uuid().into(),
            user.uuid().into(),
            UserStatus::Active.as_str().into(),
        ],
    );
    let Some(row) = conn.query_one_raw(statement).await? else { return Ok(None) };
    staff_actor(tenant, user, &row).map(Some)
}

/// The actor a user acts as when nobody is logged in for them (a webhook endpoint
/// receives as the user who registered it), in one statement: the user active, their role
/// live and the tenant enabled.
pub async fn user_actor<C: ConnectionTrait>(conn: &C, tenant: TenantId, user: UserId) -> StoreResult<Option<Actor>> {
    let sql = "SELECT u.department_id, r.id AS role_id, r.permissions, r.scopes \
        FROM users u \
        JOIN roles r ON r.tenant_id = u.tenant_id AND r.id = u.role_id AND r.deleted_at IS NULL \
        JOIN tenants t ON t.id = u.tenant_id AND t.disabled_at IS NULL \
        WHERE u.tenant_id = ? AND u.id = ? AND u.status = ?";
    let statement = crate::dialect::raw_statement(
        conn.get_database_backend(),
        sql,
        [tenant.uuid().into(), user.uuid().into(), UserStatus::Active.as_str().into()],
    );
    let Some(row) = conn.query_one_raw(statement).await? else { return Ok(None) };
    staff_actor(tenant, user, &row).map(Some)
}

/// The actor behind an API key, in one statement: the key live, its role live, the user
/// it acts for active and the tenant enabled. Also says when the key was last used.
pub async fn api_key_actor<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    secret_hash: &str,
) -> StoreResult<Option<(Actor, Option<DateTime<Utc>>)>> {
    key_actor(conn, tenant, ("secret_hash", secret_hash.into())).await
}

/// [`api_key_actor`] by the key's id, for work the key left to run later (a bulk job).
pub async fn api_key_actor_by_id<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    key: Uuid,
) -> StoreResult<Option<Actor>> {
    Ok(key_actor(conn, tenant, ("id", key.into())).await?.map(|(actor, _)| actor))
}

/// The actor behind the live key whose `column` is `value`, and when it was last used.
async fn key_actor<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (column, value): (&'static str, sea_orm::Value),
) -> StoreResult<Option<(Actor, Option<DateTime<Utc>>)>> {
    let now = Utc::now();
    let sql = format!(
        "SELECT k.id AS key_id, k.user_id, k.last_used_at, u.department_id, r.id AS role_id, r.permissions, r.scopes \
        FROM api_keys k \
        JOIN users u ON u.tenant_id = k.tenant_id AND u.id = k.user_id AND u.status = ? \
        JOIN roles r ON r.tenant_id = k.tenant_id AND r.id = k.role_id AND r.deleted_at IS NULL \
        JOIN tenants t ON t.id = k.tenant_id AND t.disabled_at IS NULL \
        WHERE k.tenant_id = ? AND k.{column} = ? AND k.revoked_at IS NULL \
            AND (k.expires_at IS NULL OR k.expires_at > ?)"
    );
    let statement = crate::dialect::raw_statement(
        conn.get_database_backend(),
        &sql,
        [UserStatus::Active.as_str().into(), tenant.uuid().into(), value, now.into()],
    );
    let Some(row) = conn.query_one_raw(statement).await? else { return Ok(None) };
    let key: Uuid = row.try_get("", "key_id")?;
    let user: Uuid = row.try_get("", "user_id")?;
    let department: Uuid = row.try_get("", "department_id")?;
    let last_used: Option<DateTime<Utc>> = row.try_get("", "last_used_at")?;
    let actor = Actor {
        tenant_id: tenant,
        user_id: user.into(),
        department_id: department.into(),
        api_key_id: Some(ApiKeyId::from_uuid(key)),
        grants: grants_of(&row)?,
        shares: ShareAccess::Read,
    };
    Ok(Some((actor, last_used)))
}

/// Deletes what has expired: sessions and their refresh tokens past their end, and
/// idempotency keys older than `keys_older_than` with the upsert results they replay.
/// Set-based, a few statements in all.
pub async fn purge_expired<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    keys_older_than: Duration,
) -> StoreResult<u64> {
    let tokens = refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::ExpiresAt.lt(now))
        .exec(conn)
        .await?
        .rows_affected;
    let sessions =
        session::Entity::delete_many().filter(session::Column::ExpiresAt.lt(now)).exec(conn).await?.rows_affected;
    let keys = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(now - keys_older_than))
        .exec(conn)
        .await?
        .rows_affected;
    let batches = upsert_batch::Entity::delete_many()
        .filter(upsert_batch::Column::CreatedAt.lt(now - keys_older_than))
        .exec(conn)
        .await?
        .rows_affected;
    Ok(tokens + sessions + keys + batches)
}
