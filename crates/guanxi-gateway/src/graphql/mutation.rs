//! How a mutation writes: one transaction, committed only when the work succeeded, with
//! idempotency keys for creates. Business failures roll back and become `userErrors`.

use async_graphql::{Context, ID};
use futures::future::BoxFuture;
use guanxi_domain::ids::{TenantId, UserId};
use guanxi_domain::platform::access::{Actor, Permission};
use guanxi_store::platform::audit::Author;
use guanxi_store::platform::idempotency::{self, Claim};
use guanxi_store::{DatabaseTransaction, StoreResult};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::context::{author, require, state};
use super::error::{ApiError, ApiResult, Outcome, outcome};
use super::relay::input_id;

/// Runs `work` in one write transaction.
pub async fn transact<T, F>(ctx: &Context<'_>, work: F) -> ApiResult<Outcome<T>>
where
    F: for<'t> FnOnce(&'t DatabaseTransaction) -> BoxFuture<'t, StoreResult<T>>,
{
    let tx = begin(ctx).await?;
    let result = outcome(work(&tx).await)?;
    finish(tx, result).await
}

/// [`transact`], for work that also reports what it found on the way, whether or not it
/// wrote (the clashes of a booking, say): `work` fills the `S` it is lent, and the caller
/// gets it back beside the outcome.
pub async fn transact_noting<T, S, F>(ctx: &Context<'_>, work: F) -> ApiResult<(Outcome<T>, S)>
where
    S: Default,
    F: for<'t> FnOnce(&'t DatabaseTransaction, &'t mut S) -> BoxFuture<'t, StoreResult<T>>,
{
    let mut found = S::default();
    let tx = begin(ctx).await?;
    let result = outcome(work(&tx, &mut found).await)?;
    Ok((finish(tx, result).await?, found))
}

/// Which way a record goes: into the recycle bin or back out.
#[derive(Clone, Copy, Debug)]
pub enum Recycle {
    Delete,
    Restore,
}

/// A write to the one record the input's `id` names: checks `permission`, reads the id
/// (another kind's id is a user error on `id`), and runs `work` in one transaction with
/// the caller as author and the data scope `scope` gives for them.
pub async fn write_by_id<T, S, P, F>(
    ctx: &Context<'_>,
    permission: Permission,
    (id, kind): (&ID, &str),
    scope: impl FnOnce(&Actor) -> S,
    work: F,
) -> ApiResult<P>
where
    P: From<Outcome<T>>,
    F: for<'t> FnOnce(&'t DatabaseTransaction, Author, S, Uuid) -> BoxFuture<'t, StoreResult<T>>,
{
    let actor = require(ctx, permission)?;
    let id = match input_id("id", id, kind) {
        Ok(id) => id,
        Err(e) => return Ok(P::from(Err(vec![e]))),
    };
    // The record is read through the scope for writing: a share counts only when READ_WRITE.
    let (author, scope) = (author(ctx, actor), scope(&actor.writing()));
    let result = transact(ctx, move |tx| work(tx, author, scope, id)).await?;
    Ok(result.into())
}

/// The caller's tenant write transaction (see `Database::begin_tenant_write`).
pub async fn begin(ctx: &Context<'_>) -> ApiResult<DatabaseTransaction> {
    let db = &state(ctx).db;
    let caller = super::context::caller(ctx);
    let tenant = caller.and_then(|c| c.actor.as_ref().map(|a| a.tenant_id).or(c.portal.map(|p| p.tenant_id)));
    let tx = match tenant {
        Some(tenant) => db.begin_tenant_write(tenant).await,
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
        Self::of((actor.tenant_id, actor.user_id), operation, key, input)
    }

    /// A portal write's key: the token is the principal whose keys are kept apart.
    pub fn portal<I: Serialize>(
        session: &guanxi_domain::service::portal::PortalSession,
        operation: &'static str,
        key: Option<&str>,
        input: &I,
    ) -> Self {
        Self::of((session.tenant_id, UserId::from_uuid(session.token_id)), operation, key, input)
    }

    fn of<I: Serialize>(
        (tenant, principal): (TenantId, UserId),
        operation: &'static str,
        key: Option<&str>,
        input: &I,
    ) -> Self {
        let json = serde_json::to_vec(input).unwrap_or_default();
        let digest = Sha256::digest(&json);
        Self {
            tenant,
            principal,
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
    let (result, ()) = write_noting(ctx, idempotent, move |tx, _: &mut ()| create(tx), reload).await?;
    Ok(result)
}

/// The `reload` of [`write`] for a kind read through the repository: the record by id,
/// through `scope` (a retry sees what the caller may see, as the first call did).
pub fn reload_scoped<R>(
    tenant: TenantId,
    scope: R::Scope,
) -> impl for<'t> FnOnce(&'t DatabaseTransaction, Uuid) -> BoxFuture<'t, StoreResult<R::Record>>
where
    R: guanxi_store::repo::Scoped + 'static,
    R::Scope: Send + 'static,
    R::Record: Send,
    <R::Entity as guanxi_store::EntityTrait>::Model: Sync,
{
    move |tx, id| {
        Box::pin(async move {
            guanxi_store::repo::find::<R, _>(tx, tenant, scope, id).await?.ok_or(guanxi_store::StoreError::NotFound)
        })
    }
}

/// [`write`], for a create that also reports what it found on the way, whether or not it
/// wrote (the duplicates that refused it, say): `create` fills the `S` it is lent, and
/// the caller gets it back beside the outcome. A replay finds nothing.
pub async fn write_noting<T, S, F, R>(
    ctx: &Context<'_>,
    idempotent: Idempotent,
    create: F,
    reload: R,
) -> ApiResult<(Outcome<T>, S)>
where
    S: Default,
    F: for<'t> FnOnce(&'t DatabaseTransaction, &'t mut S) -> BoxFuture<'t, StoreResult<(Uuid, T)>>,
    R: for<'t> FnOnce(&'t DatabaseTransaction, Uuid) -> BoxFuture<'t, StoreResult<T>>,
{
    let mut found = S::default();
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
            Err(errors) => return Ok((finish(tx, Err(errors)).await?, found)),
            Ok(Claim::Replay(id)) => {
                let replayed = outcome(reload(&tx, id).await)?;
                return Ok((finish(tx, replayed).await?, found));
            }
            Ok(Claim::Fresh) => {}
        }
    }
    let created = outcome(create(&tx, &mut found).await)?;
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
    Ok((finish(tx, result).await?, found))
}

/// A record created on the customer an input names, seen with that customer (assets,
/// service contracts, billing profiles): checks `permission`, reads `customerId` beside
/// the rest of the input (`value`, or its user errors, all reported together), and runs
/// `create` idempotently with the caller's `CUSTOMER` scope for writing; a replay reloads
/// through it.
pub async fn create_on_customer<R, V, F, P>(
    ctx: &Context<'_>,
    (permission, operation): (Permission, &'static str),
    (customer, value): (&ID, Result<V, Vec<super::error::UserError>>),
    (key, input): (Option<&str>, &impl Serialize),
    create: F,
) -> ApiResult<P>
where
    R: guanxi_store::repo::Scoped<Scope = guanxi_domain::platform::access::CustomerRule> + 'static,
    R::Record: Send,
    <R::Entity as guanxi_store::EntityTrait>::Model: Sync,
    V: Send + 'static,
    F: for<'t> FnOnce(
            &'t DatabaseTransaction,
            Author,
            guanxi_domain::platform::access::CustomerRule,
            (Uuid, V),
        ) -> BoxFuture<'t, StoreResult<(Uuid, R::Record)>>
        + Send
        + 'static,
    P: From<Outcome<R::Record>>,
{
    let actor = require(ctx, permission)?.clone();
    let customer = input_id("customerId", customer, guanxi_domain::entity::EntityKind::Customer.name());
    let (customer, value) = match (customer, value) {
        (Ok(customer), Ok(value)) => (customer, value),
        (customer, value) => {
            let errors = [customer.err().into_iter().collect(), value.err().unwrap_or_default()].concat();
            return Ok(P::from(Err(errors)));
        }
    };
    // Adding to a customer is writing to it: a share counts only when READ_WRITE.
    let scope = actor.customer_write_rule();
    let author = author(ctx, &actor);
    let idempotent = Idempotent::new(&actor, operation, key, input);
    let result = write(
        ctx,
        idempotent,
        move |tx| create(tx, author, scope, (customer, value)),
        reload_scoped::<R>(actor.tenant_id, scope),
    )
    .await?;
    Ok(P::from(result))
}
