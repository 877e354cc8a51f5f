//! Public-pool writes: pool settings, claims, assignments, releases, locks and running the reclaim now.

use crate::graphql::context::{author, require, state};
use crate::graphql::customers::customer::{CUSTOMER, Customer};
use crate::graphql::error::{ApiResult, Outcome, UserError};
use crate::graphql::mutation::{Idempotent, transact, write};
use crate::graphql::platform::org::{DEPARTMENT, USER};
use crate::graphql::relay::input_id;
use crate::graphql::sales::pool::POOL;
use crate::graphql::sales::pool::Pool;
use crate::graphql::sales::pool::{PoolSubjectKind, ReclaimRuleKind};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use futures::future::BoxFuture;
use guanxi_domain::ErrorCode;
use guanxi_domain::customers::customer::Customer as DomainCustomer;
use guanxi_domain::ids::TenantId;
use guanxi_domain::ids::{PoolId, UserId};
use guanxi_domain::platform::access::{Actor, CustomerRule, Module, Permission};
use guanxi_domain::sales::pool::{Access, Caller, PoolSubject};
use guanxi_domain::sales::pool::{
    MemberKind, Pool as DomainPool, PoolMember as DomainMember, PoolSettings, ReclaimRule as DomainRule,
};
use guanxi_store::sales::pool_move;
use guanxi_store::{DatabaseTransaction, StoreResult};
use serde::Serialize;

// ---------------------------------------------------------------------------------------
// Mutations

#[derive(InputObject, Serialize)]
pub struct ReclaimRuleInput {
    /// What it watches (default customers); a lead rule is NO_FOLLOW_UP, without levels
    /// or exemptions.
    #[graphql(default_with = "PoolSubjectKind::Customers")]
    pub applies_to: PoolSubjectKind,
    pub kind: ReclaimRuleKind,
    pub days: i32,
    /// Customer levels it watches; leave out for every customer.
    #[graphql(default)]
    pub levels: Vec<String>,
    #[graphql(default)]
    pub exempt_with_won_deal: bool,
    #[graphql(default)]
    pub exempt_with_open_deal: bool,
}

#[derive(InputObject, Serialize)]
pub struct PoolMemberInput {
    /// A user …
    pub user_id: Option<ID>,
    /// … or a department (with every department below it).
    pub department_id: Option<ID>,
    #[graphql(default)]
    pub admin: bool,
}

/// A pool's settings, rules and members (the whole of them, on update too).
#[derive(InputObject, Serialize)]
pub struct PoolInput {
    pub name: String,
    #[graphql(default = true)]
    pub auto_reclaim: bool,
    #[graphql(default)]
    pub warn_days: i32,
    #[graphql(default)]
    pub cooldown_days: i32,
    pub daily_claim_cap: Option<i32>,
    pub owned_cap: Option<i32>,
    #[graphql(default)]
    pub rules: Vec<ReclaimRuleInput>,
    #[graphql(default)]
    pub members: Vec<PoolMemberInput>,
}

impl PoolInput {
    fn to_settings(&self) -> Result<PoolSettings, Vec<UserError>> {
        let mut errors = Vec::new();
        let mut members = Vec::new();
        for (i, m) in self.members.iter().enumerate() {
            let field = format!("members.{i}");
            match (&m.user_id, &m.department_id) {
                (Some(user), None) => match input_id(&field, user, USER) {
                    Ok(id) => members.push(DomainMember { kind: MemberKind::User, id, admin: m.admin }),
                    Err(e) => errors.push(e),
                },
                (None, Some(department)) => match input_id(&field, department, DEPARTMENT) {
                    Ok(id) => members.push(DomainMember { kind: MemberKind::Department, id, admin: m.admin }),
                    Err(e) => errors.push(e),
                },
                _ => errors.push(UserError::new(&field, ErrorCode::Invalid, "give a userId or a departmentId")),
            }
        }
        // Day counts and caps are GraphQL `Int`s; a negative one is refused here, on its field.
        let mut count = |field: String, n: i32| match u32::try_from(n) {
            Ok(n) => n,
            Err(_) => {
                errors.push(UserError::new(&field, ErrorCode::Invalid, "cannot be negative"));
                0
            }
        };
        let warn_days = count("warnDays".into(), self.warn_days);
        let cooldown_days = count("cooldownDays".into(), self.cooldown_days);
        let daily_claim_cap = self.daily_claim_cap.map(|n| count("dailyClaimCap".into(), n));
        let owned_cap = self.owned_cap.map(|n| count("ownedCap".into(), n));
        let rules = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| DomainRule {
                applies_to: r.applies_to.into(),
                kind: r.kind.into(),
                days: count(format!("rules.{i}.days"), r.days),
                levels: r.levels.clone(),
                exempt_won: r.exempt_with_won_deal,
                exempt_open: r.exempt_with_open_deal,
            })
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PoolSettings {
            name: self.name.clone(),
            auto_reclaim: self.auto_reclaim,
            warn_days,
            cooldown_days,
            daily_claim_cap,
            owned_cap,
            rules,
            members,
        })
    }
}

#[derive(InputObject)]
pub struct UpdatePoolInput {
    pub id: ID,
    pub expected_version: i32,
    #[graphql(flatten)]
    pub pool: PoolInput,
}

#[derive(SimpleObject)]
pub struct PoolPayload {
    pool: Option<Pool>,
    user_errors: Vec<UserError>,
}

impl From<Outcome<(DomainPool, Access)>> for PoolPayload {
    fn from(outcome: Outcome<(DomainPool, Access)>) -> Self {
        match outcome {
            Ok(p) => Self { pool: Some(Pool::new(p)), user_errors: vec![] },
            Err(errors) => Self { pool: None, user_errors: errors },
        }
    }
}

/// A pool just written, with the writer's access to it.
async fn with_access<C: guanxi_store::ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    pool: DomainPool,
) -> guanxi_store::StoreResult<(DomainPool, Access)> {
    let access =
        guanxi_store::sales::pool::access_of(conn, pool.tenant_id, caller, std::slice::from_ref(&pool)).await?;
    Ok((pool, access.first().copied().unwrap_or_default()))
}

#[derive(InputObject, Serialize)]
pub struct ClaimCustomersInput {
    /// Customers waiting in pools the caller belongs to: all are claimed, or none.
    pub ids: Vec<ID>,
    /// A retry with the same key returns the first call's result.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct AssignPoolCustomersInput {
    pub ids: Vec<ID>,
    pub owner_id: ID,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct ReleaseCustomersInput {
    pub ids: Vec<ID>,
    pub pool_id: ID,
    /// Why (放弃原因); required.
    pub reason: String,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct SetCustomerLockedInput {
    pub id: ID,
    pub expected_version: i32,
    pub locked: bool,
}

#[derive(SimpleObject)]
pub struct ClaimPayload {
    /// The customers now owned, in input order, as far as the caller may see them (an
    /// admin assigning outside their own scope gets an empty list).
    customers: Vec<Customer>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct ReleasePayload {
    /// How many customers (or leads) went to the pool.
    released: u64,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct LockPayload {
    customer: Option<Customer>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct ReclaimPayload {
    /// How many customers the rules took back.
    reclaimed: u64,
    user_errors: Vec<UserError>,
}

pub(crate) fn customer_ids(ids: &[ID]) -> Result<Vec<uuid::Uuid>, Vec<UserError>> {
    record_ids(ids, (CUSTOMER, "customers"))
}

/// The ids of records of `kind` named in a batch write: at least one and at most 200.
pub(crate) fn record_ids(ids: &[ID], (kind, noun): (&str, &str)) -> Result<Vec<uuid::Uuid>, Vec<UserError>> {
    let mut errors = Vec::new();
    let parsed: Vec<uuid::Uuid> = ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| input_id(&format!("ids.{i}"), id, kind).map_err(|e| errors.push(e)).ok())
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    if parsed.is_empty() {
        return Err(vec![UserError::new("ids", ErrorCode::Required, format!("name at least one of the {noun}"))]);
    }
    if parsed.len() > 200 {
        return Err(vec![UserError::new("ids", ErrorCode::Invalid, format!("at most 200 {noun} at once"))]);
    }
    Ok(parsed)
}

/// `items` in the order of `ids` (those the caller could not read back left out).
pub(crate) fn in_order<T, N>(ids: &[uuid::Uuid], items: Vec<T>, id: fn(&T) -> uuid::Uuid, wrap: fn(T) -> N) -> Vec<N> {
    let mut by_id: std::collections::HashMap<uuid::Uuid, T> = items.into_iter().map(|t| (id(&t), t)).collect();
    ids.iter().filter_map(|id| by_id.remove(id)).map(wrap).collect()
}

/// The ids and the new owner of an assignment from a pool, or every fault in both.
pub(crate) fn assignment(
    ids: Result<Vec<uuid::Uuid>, Vec<UserError>>,
    owner: &ID,
) -> Result<(Vec<uuid::Uuid>, UserId), Vec<UserError>> {
    match (ids, input_id("ownerId", owner, USER)) {
        (Ok(ids), Ok(owner)) => Ok((ids, UserId::from_uuid(owner))),
        (a, b) => Err(a.err().into_iter().flatten().chain(b.err()).collect()),
    }
}

fn claim_payload(ids: &[uuid::Uuid], outcome: Outcome<Vec<DomainCustomer>>) -> ClaimPayload {
    match outcome {
        Ok(customers) => {
            ClaimPayload { customers: in_order(ids, customers, |c| c.id.uuid(), Customer), user_errors: vec![] }
        }
        Err(errors) => ClaimPayload { customers: vec![], user_errors: errors },
    }
}

#[derive(Default)]
pub struct PoolMutation;

#[Object]
impl PoolMutation {
    /// Adds a public pool (`settings.manage`).
    async fn create_pool(&self, ctx: &Context<'_>, input: PoolInput) -> ApiResult<PoolPayload> {
        let actor = require(ctx, Permission::SettingsManage)?;
        let settings = match input.to_settings() {
            Ok(s) => s,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let (author, caller) = (author(ctx, actor), Caller::of(actor));
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                let pool = guanxi_store::sales::pool::create(tx, &author, settings).await?;
                with_access(tx, &caller, pool).await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Replaces a pool's settings, rules and members (`settings.manage`).
    async fn update_pool(&self, ctx: &Context<'_>, input: UpdatePoolInput) -> ApiResult<PoolPayload> {
        let actor = require(ctx, Permission::SettingsManage)?;
        let (id, settings) = match (input_id("id", &input.id, POOL), input.pool.to_settings()) {
            (Ok(id), Ok(settings)) => (PoolId::from_uuid(id), settings),
            (a, b) => return Ok(Err(a.err().into_iter().chain(b.err().into_iter().flatten()).collect()).into()),
        };
        let (author, caller) = (author(ctx, actor), Caller::of(actor));
        let expected = input.expected_version;
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                let pool = guanxi_store::sales::pool::update(tx, &author, id, expected, settings).await?;
                with_access(tx, &caller, pool).await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Claims customers from pools the caller belongs to (拾取), within the pools'
    /// caps and cool-downs: all of them, or none.
    async fn claim_customers(&self, ctx: &Context<'_>, input: ClaimCustomersInput) -> ApiResult<ClaimPayload> {
        let actor = require(ctx, Permission::CustomerRead)?.clone();
        let ids = match customer_ids(&input.ids) {
            Ok(ids) => ids,
            Err(errors) => return Ok(ClaimPayload { customers: vec![], user_errors: errors }),
        };
        let idempotent = Idempotent::new(&actor, "claimCustomers", input.idempotency_key.as_deref(), &input);
        let result = take::<DomainCustomer>(ctx, &actor, idempotent, ids.clone(), None).await?;
        Ok(claim_payload(&ids, result))
    }

    /// Hands pooled customers to a user (分配): the pools' admins, or `settings.manage`.
    async fn assign_pool_customers(
        &self,
        ctx: &Context<'_>,
        input: AssignPoolCustomersInput,
    ) -> ApiResult<ClaimPayload> {
        let actor = require(ctx, Permission::CustomerRead)?.clone();
        let (ids, owner) = match assignment(customer_ids(&input.ids), &input.owner_id) {
            Ok(assigned) => assigned,
            Err(errors) => return Ok(ClaimPayload { customers: vec![], user_errors: errors }),
        };
        let idempotent = Idempotent::new(&actor, "assignPoolCustomers", input.idempotency_key.as_deref(), &input);
        let result = take::<DomainCustomer>(ctx, &actor, idempotent, ids.clone(), Some(owner)).await?;
        Ok(claim_payload(&ids, result))
    }

    /// Gives customers back to a pool (放弃) with a reason; their contacts go with them.
    async fn release_customers(&self, ctx: &Context<'_>, input: ReleaseCustomersInput) -> ApiResult<ReleasePayload> {
        let actor = require(ctx, Permission::CustomerUpdate)?.clone();
        let idempotent = Idempotent::new(&actor, "releaseCustomers", input.idempotency_key.as_deref(), &input);
        let ids = customer_ids(&input.ids);
        release(ctx, &actor, (PoolSubject::Customers, idempotent), ids, (&input.pool_id, input.reason)).await
    }

    /// Locks a customer against automatic reclaim, or unlocks it (锁定 / 解锁).
    async fn set_customer_locked(&self, ctx: &Context<'_>, input: SetCustomerLockedInput) -> ApiResult<LockPayload> {
        let actor = require(ctx, Permission::CustomerUpdate)?;
        let id = match input_id("id", &input.id, CUSTOMER) {
            Ok(id) => id,
            Err(e) => return Ok(LockPayload { customer: None, user_errors: vec![e] }),
        };
        let author = author(ctx, actor);
        let rule = actor.customer_owner_rule();
        let (expected, locked) = (input.expected_version, input.locked);
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::customers::customer::set_locked(tx, &author, rule, id, expected, locked).await
            })
        })
        .await?;
        Ok(match result {
            Ok(c) => LockPayload { customer: Some(Customer(c)), user_errors: vec![] },
            Err(errors) => LockPayload { customer: None, user_errors: errors },
        })
    }

    /// Applies a pool's reclaim rules now (`settings.manage`), whether or not the pool
    /// reclaims automatically. Runs in batches of 1,000 customers per transaction.
    async fn reclaim_pool(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ReclaimPayload> {
        let actor = require(ctx, Permission::SettingsManage)?;
        let id = match input_id("id", &id, POOL) {
            Ok(id) => PoolId::from_uuid(id),
            Err(e) => return Ok(ReclaimPayload { reclaimed: 0, user_errors: vec![e] }),
        };
        let db = &state(ctx).db;
        if guanxi_store::sales::pool::find(db.connection(), actor.tenant_id, id).await?.is_none() {
            return Ok(ReclaimPayload {
                reclaimed: 0,
                user_errors: vec![UserError::new("id", ErrorCode::NotFound, "no such pool")],
            });
        }
        let reclaimed = guanxi_store::sales::pool_reclaim::reclaim_pool(db, actor.tenant_id, id, Utc::now()).await?;
        Ok(ReclaimPayload { reclaimed, user_errors: vec![] })
    }
}

/// What waits in a pool, as the gateway reads it back after a claim.
pub(crate) trait Pooled: Sized + Send + 'static {
    const SUBJECT: PoolSubject;
    /// The scope the caller reads it back through.
    type Rule: Copy + Send + Sync + 'static;
    fn rule(actor: &Actor) -> Self::Rule;
    fn load<'t>(
        tx: &'t DatabaseTransaction,
        tenant: TenantId,
        rule: Self::Rule,
        ids: &'t [uuid::Uuid],
    ) -> BoxFuture<'t, StoreResult<Vec<Self>>>;
}

impl Pooled for DomainCustomer {
    const SUBJECT: PoolSubject = PoolSubject::Customers;
    type Rule = CustomerRule;
    fn rule(actor: &Actor) -> CustomerRule {
        actor.customer_rule()
    }
    fn load<'t>(
        tx: &'t DatabaseTransaction,
        tenant: TenantId,
        rule: CustomerRule,
        ids: &'t [uuid::Uuid],
    ) -> BoxFuture<'t, StoreResult<Vec<Self>>> {
        Box::pin(guanxi_store::customers::customer::by_ids(tx, tenant, rule, ids))
    }
}

/// Claims (`owner` none) or assigns pooled customers or leads in one write transaction,
/// with the idempotency key: a retry returns them as they now stand.
pub(crate) async fn take<T: Pooled>(
    ctx: &Context<'_>,
    actor: &Actor,
    idempotent: Idempotent,
    ids: Vec<uuid::Uuid>,
    owner: Option<UserId>,
) -> ApiResult<Outcome<Vec<T>>> {
    let author = author(ctx, actor);
    let caller = Caller::of(actor);
    let (tenant, rule) = (actor.tenant_id, T::rule(actor));
    let reload_ids = ids.clone();
    // They come back through the caller's own scope: an admin who hands them to someone
    // outside it gets an empty list, not the records.
    write(
        ctx,
        idempotent,
        move |tx| {
            Box::pin(async move {
                match owner {
                    None => pool_move::claim(tx, &author, &caller, T::SUBJECT, &ids).await?,
                    Some(owner) => pool_move::assign(tx, &author, &caller, (T::SUBJECT, &ids), owner).await?,
                };
                Ok((ids[0], T::load(tx, tenant, rule, &ids).await?))
            })
        },
        move |tx, _| Box::pin(async move { T::load(tx, tenant, rule, &reload_ids).await }),
    )
    .await
}

/// Gives customers or leads back to a pool (放弃) with a reason, in one write transaction
/// with the idempotency key.
pub(crate) async fn release(
    ctx: &Context<'_>,
    actor: &Actor,
    (subject, idempotent): (PoolSubject, Idempotent),
    ids: Result<Vec<uuid::Uuid>, Vec<UserError>>,
    (pool_id, reason): (&ID, String),
) -> ApiResult<ReleasePayload> {
    let (ids, pool) = match (ids, input_id("poolId", pool_id, POOL)) {
        (Ok(ids), Ok(pool)) => (ids, PoolId::from_uuid(pool)),
        (a, b) => {
            let errors = a.err().into_iter().flatten().chain(b.err()).collect();
            return Ok(ReleasePayload { released: 0, user_errors: errors });
        }
    };
    let module = match subject {
        PoolSubject::Customers => Module::Customer,
        PoolSubject::Leads => Module::Lead,
    };
    let (author, caller, rule) = (author(ctx, actor), Caller::of(actor), actor.scope_rule(module));
    let (count, first) = (ids.len() as u64, ids[0]);
    let result = write(
        ctx,
        idempotent,
        move |tx| {
            Box::pin(async move {
                let released = pool_move::release(tx, &author, &caller, (subject, rule), (&ids, pool), &reason).await?;
                Ok((first, released))
            })
        },
        move |_, _| Box::pin(async move { Ok(count) }),
    )
    .await?;
    Ok(match result {
        Ok(released) => ReleasePayload { released, user_errors: vec![] },
        Err(errors) => ReleasePayload { released: 0, user_errors: errors },
    })
}
