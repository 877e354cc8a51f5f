//! How a mutation writes: one transaction, committed only when the work succeeded, with
//! idempotency keys for creates. Business failures roll back and become `userErrors`.

use async_graphql::Context;
use futures::future::BoxFuture;
use guanxi_domain::ids::{TenantId, UserId};
use guanxi_domain::platform::access::Actor;
use guanxi_store::platform::idempotency::{self, Claim};
use guanxi_store::{DatabaseTransaction, StoreResult};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::context::state;
use super::error::{ApiError, ApiResult, Outcome, outcome};

/// Runs `work` in one write transaction.
pub async fn transact<T, F>(ctx: &Context<'_>, work: F) -> ApiResult<Outcome<T>>
where
    F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, StoreResult<T>>,
{
    let tx = begin(ctx).await?;
    let result = outcome(work(&tx).await)?;
    finish(tx, result).await
}

/// The caller's tenant write transaction (see `Database::begin_tenant_write`).
pub async fn begin(ctx: &Context<'_>) -> ApiResult<DatabaseTransaction> {
    let db = &state(ctx).db;
    let tx = match super::context::caller(ctx).and_then(|c| c.actor.as_ref()) {
        Some(actor) => db.begin_tenant_write(actor.tenant_id).await,
        None => db.begin_write().await,
    };
    tx.map_err(ApiError::from)
}

async fn finish<T>(tx: DatabaseTransaction, result: Outcome<T>) -> ApiResult<Outcome<T>> {
    if result.is_ok() {
        tx.commit().await.map_err(ApiError::from)?;
    } else {
        tx.rollback().await.map_err(ApiError::from)?;
    }
    Ok(result)
}

/// The idempotency key of a create, if the client sent one, with the hash of its input.
pub struct Idempotent {
    tenant: TenantId,
    principal: UserId,
    operation: &'static str,
    key: Option<String>,
    request_hash: String,
}

impl Idempotent {
    /// `input` is hashed as JSON; secrets and the key itself are left out by `#[serde(skip)]`.
    pub fn new<I: Serialize>(actor: &Actor, operation: &'static str, key: Option<&str>, input: &I) -> Self {
        let json = serde_json::to_vec(input).unwrap_or_default();
        let digest = Sha256::digest(&json);
        Self {
            tenant: actor.tenant_id,
            principal: actor.user_id,
            operation,
            key: key.map(str::to_owned),
            request_hash: digest.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

/// Runs a create in one write transaction. With an idempotency key, a retry of the same
/// input returns the record the first call created (reloaded with `reload`) and writes
/// nothing; the same key with another input is an `IDEMPOTENCY_KEY_REUSED` user error.
pub async fn write<T, F, R>(ctx: &Context<'_>, idempotent: Idempotent, create: F, reload: R) -> ApiResult<Outcome<T>>
where
    F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, StoreResult<(Uuid, T)>>,
    R: for<'t> FnOnce(&'t DatabaseTransaction, Uuid) -> BoxFuture<'t, StoreResult<T>>,
{
    let tx = begin(ctx).await?;
    if let Some(key) = &idempotent.key {
        let claim = idempotency::claim(
            &tx,
            idempotent.tenant,
            idempotent.principal,
            key,
            idempotent.operation,
            &idempotent.request_hash,
        )
        .await;
        match outcome(claim)? {
            Err(errors) => return finish(tx, Err(errors)).await,
            Ok(Claim::Replay(id)) => {
                let replayed = outcome(reload(&tx, id).await)?;
                return finish(tx, replayed).await;
            }
            Ok(Claim::Fresh) => {}
        }
    }
    let created = outcome(create(&tx).await)?;
    let result = match created {
        Ok((id, value)) => {
            if let Some(key) = &idempotent.key {
                idempotency::complete(&tx, idempotent.tenant, idempotent.principal, key, id)
                    .await
                    .map_err(ApiError::from)?;
            }
            Ok(value)
        }
        Err(errors) => Err(errors),
    };
    finish(tx, result).await
}
