//! Idempotency keys: a retried create returns the first result and writes nothing new.
//!
//! The key row is written in the create's own transaction, so a key exists exactly when
//! its record does. Two concurrent requests with one key serialise on the key's primary
//! key: the second waits for the first to commit, then replays its result.

use chrono::Utc;
use guanxi_domain::ErrorCode;
use guanxi_domain::ids::{TenantId, UserId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use crate::entity::idempotency_key;
use crate::error::{StoreError, StoreResult};

/// What the caller should do with a create that carries an idempotency key.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// First time this key is seen: do the work, then [`complete`] the key.
    Fresh,
    /// Seen before with the same input: return the record created then.
    Replay(Uuid),
}

/// The longest idempotency key, in bytes (200 ASCII characters).
pub const MAX_KEY_BYTES: usize = 200;

/// Whether `key` may be an idempotency key: 1 to [`MAX_KEY_BYTES`] bytes.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_BYTES
}

/// Claims `key` for `operation` with the hash of its input.
pub async fn claim<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    principal: UserId,
    key: &str,
    operation: &str,
    request_hash: &str,
) -> StoreResult<Claim> {
    if !valid_key(key) {
        return Err(StoreError::rejected(
            "idempotencyKey",
            ErrorCode::Invalid,
            "an idempotency key has 1 to 200 bytes (a UUID, say)",
        ));
    }
    let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        principal_id: Set(principal.uuid()),
        key: Set(key.to_owned()),
        operation: Set(operation.to_owned()),
        request_hash: Set(request_hash.to_owned()),
        entity_id: Set(None),
        created_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::columns([
            idempotency_key::Column::TenantId,
            idempotency_key::Column::PrincipalId,
            idempotency_key::Column::Key,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await;
    match inserted {
        Ok(_) => {}
        Err(DbErr::RecordNotInserted) => {}
        Err(e) => return Err(e.into()),
    }
    let row = idempotency_key::Entity::find_by_id((tenant.uuid(), principal.uuid(), key.to_owned()))
        .one(conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    if row.operation != operation || row.request_hash != request_hash {
        return Err(StoreError::rejected(
            "idempotencyKey",
            ErrorCode::IdempotencyKeyReused,
            "this idempotency key was already used with a different input",
        ));
    }
    Ok(match row.entity_id {
        Some(id) => Claim::Replay(id),
        None => Claim::Fresh,
    })
}

/// Records the id of the record created under `key`.
pub async fn complete<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    principal: UserId,
    key: &str,
    entity_id: Uuid,
) -> StoreResult<()> {
    idempotency_key::Entity::update(idempotency_key::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        principal_id: Set(principal.uuid()),
        key: Set(key.to_owned()),
        entity_id: Set(Some(entity_id)),
        ..Default::default()
    })
    .exec(conn)
    .await?;
    Ok(())
}
