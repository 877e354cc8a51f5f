//! Public pools (公海) over GraphQL: the pools a caller belongs to and their waiting
//! customers, claims (拾取), assignment by a pool admin (分配), release with a reason
//! (放弃), locks against reclaim (锁定), the owner's warning of coming reclaims, and a
//! manual run of a pool's reclaim rules.
//!
//! A pooled customer has no owner, so it is outside every owner scope: a member sees it
//! only as a `PoolCustomer` of a pool they belong to, with the card's public fields and
//! no contacts, interactions or deals until they claim it.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::access::{Actor, Module, Permission};
use guanxi_domain::customer::Customer as DomainCustomer;
use guanxi_domain::ids::{PoolId, UserId};
use guanxi_domain::pool::{
    MemberKind, Pool as DomainPool, PoolAction, PoolEntry as DomainEntry, PoolMember as DomainMember, PoolSettings,
    ReclaimKind, ReclaimRule as DomainRule,
};
use guanxi_store::customer::CustomerSort;
use guanxi_store::page::Direction;
use guanxi_store::pool::{Access, Caller};
use serde::Serialize;

use super::context::{actor, author, require, state};
use super::customer::{CUSTOMER, Customer, CustomerFilter, CustomerKind};
use super::error::{ApiError, ApiResult, Outcome, UserError};
use super::loaders::{CustomerKey, DepartmentKey, Loaders, UserKey};
use super::mutation::{Idempotent, transact, write};
use super::org::{DEPARTMENT, Department, USER, User};
use super::relay::{Conn, TotalCount, connection, expect_id, global_id, input_id, page_request};

pub const POOL: &str = guanxi_domain::entity::EntityKind::Pool.name();

fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, ApiError> {
    ctx.data_opt::<Loaders>().ok_or_else(|| ApiError::Unauthenticated("log in first".into()))
}

fn caller_of(actor: &Actor) -> Caller {
    Caller {
        user: actor.user_id,
        department: Some(actor.department_id),
        manages_all: actor.may(Permission::SettingsManage),
    }
}

/// When a neglected customer goes back to its pool.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
pub enum ReclaimRuleKind {
    /// 未跟进: no interaction for `days` since the owner got it or last followed up.
    NoFollowUp,
    /// 未成交: owned for `days` with no open deal.
    NoDeal,
    /// 未赢单: owned for `days` and never won a deal.
    NotWon,
}

impl From<ReclaimKind> for ReclaimRuleKind {
    fn from(k: ReclaimKind) -> Self {
        match k {
            ReclaimKind::NoFollowUp => Self::NoFollowUp,
            ReclaimKind::NoDeal => Self::NoDeal,
            ReclaimKind::NotWon => Self::NotWon,
        }
    }
}

impl From<ReclaimRuleKind> for ReclaimKind {
    fn from(k: ReclaimRuleKind) -> Self {
        match k {
            ReclaimRuleKind::NoFollowUp => Self::NoFollowUp,
            ReclaimRuleKind::NoDeal => Self::NoDeal,
            ReclaimRuleKind::NotWon => Self::NotWon,
        }
    }
}

/// How a customer came into its pool.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PoolEntryKind {
    /// 放弃: its owner gave it up, with a reason.
    Released,
    /// 回收: a reclaim rule took it back from a neglectful owner.
    Reclaimed,
}

/// A reclaim rule of a pool.
pub struct ReclaimRule(DomainRule);

#[Object]
impl ReclaimRule {
    async fn kind(&self) -> ReclaimRuleKind {
        self.0.kind.into()
    }
    async fn days(&self) -> u32 {
        self.0.days
    }
    /// The customer levels it watches; empty: every customer.
    async fn levels(&self) -> &[String] {
        &self.0.levels
    }
    /// Customers with a won deal are exempt.
    async fn exempt_with_won_deal(&self) -> bool {
        self.0.exempt_won
    }
    /// Customers with an open deal are exempt.
    async fn exempt_with_open_deal(&self) -> bool {
        self.0.exempt_open
    }
}

/// A member of a pool: a user, or a department with every department below it.
pub struct PoolMember(DomainMember);

#[Object]
impl PoolMember {
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        if self.0.kind != MemberKind::User {
            return Ok(None);
        }
        Ok(loaders(ctx)?.load_one(UserKey(self.0.id)).await?.map(User))
    }
    async fn department(&self, ctx: &Context<'_>) -> ApiResult<Option<Department>> {
        if self.0.kind != MemberKind::Department {
            return Ok(None);
        }
        Ok(loaders(ctx)?.load_one(DepartmentKey(self.0.id)).await?.map(Department))
    }
    /// Admins hand the pool's customers out.
    async fn admin(&self) -> bool {
        self.0.admin
    }
}

/// A public pool (公海).
pub struct Pool {
    pool: DomainPool,
    access: Access,
    customer_count: Option<i64>,
    claims_today: Option<i64>,
}

impl Pool {
    fn new((pool, access): (DomainPool, Access)) -> Self {
        Self { pool, access, customer_count: None, claims_today: None }
    }
}

#[Object]
impl Pool {
    async fn id(&self) -> ID {
        global_id(POOL, self.pool.id.uuid())
    }
    async fn name(&self) -> &str {
        &self.pool.settings.name
    }
    /// Whether the background job applies the rules (hourly).
    async fn auto_reclaim(&self) -> bool {
        self.pool.settings.auto_reclaim
    }
    /// Owners see a coming reclaim this many days ahead (`customersDueForReclaim`).
    async fn warn_days(&self) -> u32 {
        self.pool.settings.warn_days
    }
    /// Days before a former owner may claim a customer back.
    async fn cooldown_days(&self) -> u32 {
        self.pool.settings.cooldown_days
    }
    /// Most claims per member per day (Shanghai time); null: no cap.
    async fn daily_claim_cap(&self) -> Option<u32> {
        self.pool.settings.daily_claim_cap
    }
    /// A member owning this many customers may claim no more from this pool.
    async fn owned_cap(&self) -> Option<u32> {
        self.pool.settings.owned_cap
    }
    async fn rules(&self) -> Vec<ReclaimRule> {
        self.pool.settings.rules.iter().cloned().map(ReclaimRule).collect()
    }
    /// Who belongs to the pool (its admins and `settings.manage` only).
    async fn members(&self) -> ApiResult<Vec<PoolMember>> {
        if !self.access.admin {
            return Err(ApiError::Forbidden("only the pool's admins see its members".into()));
        }
        Ok(self.pool.settings.members.iter().copied().map(PoolMember).collect())
    }
    /// Whether the caller may claim from it.
    async fn can_claim(&self) -> bool {
        self.access.member
    }
    /// Whether the caller may hand its customers out.
    async fn is_admin(&self) -> bool {
        self.access.admin
    }
    /// How many customers wait in it.
    async fn customer_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        if let Some(n) = self.customer_count {
            return Ok(n);
        }
        let counts = guanxi_store::pool::customer_counts(
            state(ctx).db.connection(),
            self.pool.tenant_id,
            &[self.pool.id.uuid()],
        )
        .await?;
        Ok(counts.get(&self.pool.id.uuid()).copied().unwrap_or(0))
    }
    /// How many customers the caller claimed from it today.
    async fn my_claims_today(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        if let Some(n) = self.claims_today {
            return Ok(n);
        }
        let actor = actor(ctx)?;
        let counts = guanxi_store::pool::claims_today(
            state(ctx).db.connection(),
            actor.tenant_id,
            actor.user_id,
            &[self.pool.id.uuid()],
            Utc::now(),
        )
        .await?;
        Ok(counts.get(&self.pool.id.uuid()).copied().unwrap_or(0))
    }
    async fn version(&self) -> i32 {
        self.pool.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.pool.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.pool.updated_at
    }
}

/// How a customer waits in a pool.
pub struct PoolEntry(pub DomainEntry);

#[Object]
impl PoolEntry {
    async fn pool_id(&self) -> ID {
        global_id(POOL, self.0.pool_id.uuid())
    }
    async fn entered_at(&self) -> DateTime<Utc> {
        self.0.entered_at
    }
    #[graphql(name = "kind")]
    async fn entry_kind(&self) -> PoolEntryKind {
        match self.0.action {
            PoolAction::Reclaim => PoolEntryKind::Reclaimed,
            _ => PoolEntryKind::Released,
        }
    }
    /// The release reason, or the rule that took it back (`30 天未跟进`).
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// Who owned it last (null when not visible to the caller).
    async fn previous_owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(owner) = self.0.previous_owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(owner.uuid())).await?.map(User))
    }
}

/// A customer waiting in a pool, as a member weighs whether to claim it: the card's
/// public fields only. Claim it to see contacts, interactions and deals.
pub struct PoolCustomer(DomainCustomer);

#[Object]
impl PoolCustomer {
    /// The customer's id (claim it with this).
    async fn id(&self) -> ID {
        global_id(CUSTOMER, self.0.id.uuid())
    }
    async fn customer_number(&self) -> &str {
        &self.0.number
    }
    async fn name(&self) -> &str {
        &self.0.fields.name
    }
    async fn kind(&self) -> CustomerKind {
        self.0.fields.kind.into()
    }
    async fn level(&self) -> Option<&str> {
        self.0.fields.level.as_deref()
    }
    async fn industry(&self) -> Option<&str> {
        self.0.fields.industry.as_deref()
    }
    async fn region(&self) -> Option<&str> {
        self.0.fields.region.as_deref()
    }
    async fn province(&self) -> Option<&str> {
        self.0.fields.province.as_deref()
    }
    async fn city(&self) -> Option<&str> {
        self.0.fields.city.as_deref()
    }
    async fn source(&self) -> Option<&str> {
        self.0.fields.source.as_deref()
    }
    async fn tags(&self) -> &[String] {
        &self.0.fields.tags
    }
    async fn last_interaction_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_interaction_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn entry(&self) -> Option<PoolEntry> {
        self.0.pool.clone().map(PoolEntry)
    }
}

/// A customer the automatic reclaim will take back soon unless its owner follows up,
/// wins a deal or locks it.
#[derive(SimpleObject)]
pub struct ReclaimWarning {
    customer: Customer,
    pool_id: ID,
    rule: ReclaimRuleKind,
    /// When the rule takes it (the hourly job may run up to an hour later).
    due_at: DateTime<Utc>,
}

/// The pools of `pools` as GraphQL objects, with their counts read in one grouped
/// statement each when the query asks for them.
async fn decorate(ctx: &Context<'_>, pools: Vec<(DomainPool, Access)>) -> ApiResult<Vec<Pool>> {
    let actor = actor(ctx)?;
    let conn = state(ctx).db.connection();
    let ids: Vec<uuid::Uuid> = pools.iter().map(|(p, _)| p.id.uuid()).collect();
    let look = ctx.look_ahead();
    let counts = if look.field("customerCount").exists() && !ids.is_empty() {
        Some(guanxi_store::pool::customer_counts(conn, actor.tenant_id, &ids).await?)
    } else {
        None
    };
    let claims = if look.field("myClaimsToday").exists() && !ids.is_empty() {
        Some(guanxi_store::pool::claims_today(conn, actor.tenant_id, actor.user_id, &ids, Utc::now()).await?)
    } else {
        None
    };
    Ok(pools
        .into_iter()
        .map(|entry| {
            let id = entry.0.id.uuid();
            let mut pool = Pool::new(entry);
            pool.customer_count = counts.as_ref().map(|c| c.get(&id).copied().unwrap_or(0));
            pool.claims_today = claims.as_ref().map(|c| c.get(&id).copied().unwrap_or(0));
            pool
        })
        .collect())
}

#[derive(Default)]
pub struct PoolQuery;

#[Object]
impl PoolQuery {
    /// The public pools the caller belongs to or administers (all of them for
    /// `settings.manage`), oldest first.
    async fn pools(&self, ctx: &Context<'_>) -> ApiResult<Vec<Pool>> {
        let actor = require(ctx, Permission::CustomerRead)?;
        let pools = guanxi_store::pool::visible(state(ctx).db.connection(), actor.tenant_id, &caller_of(actor)).await?;
        decorate(ctx, pools).await
    }

    async fn pool(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Pool> {
        let actor = require(ctx, Permission::CustomerRead)?;
        let id = PoolId::from_uuid(expect_id(&id, POOL)?);
        let found =
            guanxi_store::pool::visible_one(state(ctx).db.connection(), actor.tenant_id, &caller_of(actor), id).await?;
        let pool = found.ok_or(ApiError::NotFound)?;
        Ok(decorate(ctx, vec![pool]).await?.remove(0))
    }

    /// The customers waiting in a pool the caller belongs to, most recently entered
    /// first. `filter` narrows them like the customer list (search, industry, city …).
    #[graphql(complexity = "first.or(last).unwrap_or(20) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn pool_customers(
        &self,
        ctx: &Context<'_>,
        pool_id: ID,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CustomerFilter>,
    ) -> ApiResult<Conn<PoolCustomer>> {
        let actor = require(ctx, Permission::CustomerRead)?.clone();
        let pool = PoolId::from_uuid(expect_id(&pool_id, POOL)?);
        let db = state(ctx).db.clone();
        if guanxi_store::pool::visible_one(db.connection(), actor.tenant_id, &caller_of(&actor), pool).await?.is_none()
        {
            return Err(ApiError::NotFound);
        }
        let mut filter = filter.unwrap_or_default().to_store()?;
        filter.pool_id = Some(pool.uuid());
        filter.deleted = None;
        let sort = (CustomerSort::PoolEnteredAt, Direction::Desc);
        let request = page_request(first, after, last, before, guanxi_store::customer::sort_name(sort.0))?;
        // Pool membership, checked above, is what shows these ownerless customers.
        let rule = guanxi_domain::access::ScopeRule::All;
        let page =
            guanxi_store::customer::list(db.connection(), actor.tenant_id, rule, &filter, sort, &request).await?;
        let total = TotalCount::new(move || {
            let (db, tenant, filter) = (db.clone(), actor.tenant_id, filter.clone());
            Box::pin(async move { guanxi_store::customer::count(db.connection(), tenant, rule, &filter).await })
        });
        Ok(connection(page, total, PoolCustomer))
    }

    /// The caller's customers (within their customer scope) that an automatic pool will
    /// take back within `withinDays` (default: each pool's warning days), soonest first.
    async fn customers_due_for_reclaim(
        &self,
        ctx: &Context<'_>,
        within_days: Option<u32>,
        #[graphql(default = 50)] first: u32,
    ) -> ApiResult<Vec<ReclaimWarning>> {
        let actor = require(ctx, Permission::CustomerRead)?;
        if within_days.is_some_and(|d| d > guanxi_domain::pool::MAX_DAYS) || first > 200 {
            return Err(ApiError::BadUserInput("`withinDays` is at most 3650 and `first` at most 200".into()));
        }
        let due = guanxi_store::pool::due_for_reclaim(
            state(ctx).db.connection(),
            actor.tenant_id,
            actor.scope_rule(Module::Customer),
            within_days,
            Utc::now(),
            u64::from(first),
        )
        .await?;
        let customers = loaders(ctx)?.load_many(due.iter().map(|d| CustomerKey(d.customer_id))).await?;
        Ok(due
            .into_iter()
            .filter_map(|d| {
                customers.get(&CustomerKey(d.customer_id)).cloned().map(|c| ReclaimWarning {
                    customer: Customer(c),
                    pool_id: global_id(POOL, d.pool_id.uuid()),
                    rule: d.kind.into(),
                    due_at: d.due_at,
                })
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

#[derive(InputObject, Serialize)]
pub struct ReclaimRuleInput {
    pub kind: ReclaimRuleKind,
    pub days: u32,
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
    pub warn_days: u32,
    #[graphql(default)]
    pub cooldown_days: u32,
    pub daily_claim_cap: Option<u32>,
    pub owned_cap: Option<u32>,
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
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PoolSettings {
            name: self.name.clone(),
            auto_reclaim: self.auto_reclaim,
            warn_days: self.warn_days,
            cooldown_days: self.cooldown_days,
            daily_claim_cap: self.daily_claim_cap,
            owned_cap: self.owned_cap,
            rules: self
                .rules
                .iter()
                .map(|r| DomainRule {
                    kind: r.kind.into(),
                    days: r.days,
                    levels: r.levels.clone(),
                    exempt_won: r.exempt_with_won_deal,
                    exempt_open: r.exempt_with_open_deal,
                })
                .collect(),
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
    let access = guanxi_store::pool::access_of(conn, pool.tenant_id, caller, std::slice::from_ref(&pool)).await?;
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
    /// How many customers went to the pool.
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

fn customer_ids(ids: &[ID]) -> Result<Vec<uuid::Uuid>, Vec<UserError>> {
    let mut errors = Vec::new();
    let parsed: Vec<uuid::Uuid> = ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| input_id(&format!("ids.{i}"), id, CUSTOMER).map_err(|e| errors.push(e)).ok())
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    if parsed.is_empty() {
        return Err(vec![UserError::new("ids", ErrorCode::Required, "name at least one customer")]);
    }
    if parsed.len() > 200 {
        return Err(vec![UserError::new("ids", ErrorCode::Invalid, "at most 200 customers at once")]);
    }
    Ok(parsed)
}

fn in_order(ids: &[uuid::Uuid], customers: Vec<DomainCustomer>) -> Vec<Customer> {
    let mut by_id: std::collections::HashMap<uuid::Uuid, DomainCustomer> =
        customers.into_iter().map(|c| (c.id.uuid(), c)).collect();
    ids.iter().filter_map(|id| by_id.remove(id)).map(Customer).collect()
}

fn claim_payload(ids: &[uuid::Uuid], outcome: Outcome<Vec<DomainCustomer>>) -> ClaimPayload {
    match outcome {
        Ok(customers) => ClaimPayload { customers: in_order(ids, customers), user_errors: vec![] },
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
        let (author, caller) = (author(ctx, actor), caller_of(actor));
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                let pool = guanxi_store::pool::create(tx, &author, settings).await?;
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
        let (author, caller) = (author(ctx, actor), caller_of(actor));
        let expected = input.expected_version;
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                let pool = guanxi_store::pool::update(tx, &author, id, expected, settings).await?;
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
        let result = take(ctx, &actor, idempotent, ids.clone(), None).await?;
        Ok(claim_payload(&ids, result))
    }

    /// Hands pooled customers to a user (分配): the pools' admins, or `settings.manage`.
    async fn assign_pool_customers(
        &self,
        ctx: &Context<'_>,
        input: AssignPoolCustomersInput,
    ) -> ApiResult<ClaimPayload> {
        let actor = require(ctx, Permission::CustomerRead)?.clone();
        let (ids, owner) = match (customer_ids(&input.ids), input_id("ownerId", &input.owner_id, USER)) {
            (Ok(ids), Ok(owner)) => (ids, UserId::from_uuid(owner)),
            (a, b) => {
                let errors = a.err().into_iter().flatten().chain(b.err()).collect();
                return Ok(ClaimPayload { customers: vec![], user_errors: errors });
            }
        };
        let idempotent = Idempotent::new(&actor, "assignPoolCustomers", input.idempotency_key.as_deref(), &input);
        let result = take(ctx, &actor, idempotent, ids.clone(), Some(owner)).await?;
        Ok(claim_payload(&ids, result))
    }

    /// Gives customers back to a pool (放弃) with a reason; their contacts go with them.
    async fn release_customers(&self, ctx: &Context<'_>, input: ReleaseCustomersInput) -> ApiResult<ReleasePayload> {
        let actor = require(ctx, Permission::CustomerUpdate)?.clone();
        let (ids, pool) = match (customer_ids(&input.ids), input_id("poolId", &input.pool_id, POOL)) {
            (Ok(ids), Ok(pool)) => (ids, PoolId::from_uuid(pool)),
            (a, b) => {
                let errors = a.err().into_iter().flatten().chain(b.err()).collect();
                return Ok(ReleasePayload { released: 0, user_errors: errors });
            }
        };
        let idempotent = Idempotent::new(&actor, "releaseCustomers", input.idempotency_key.as_deref(), &input);
        let author = author(ctx, &actor);
        let (caller, rule, reason, count) =
            (caller_of(&actor), actor.scope_rule(Module::Customer), input.reason, ids.len() as u64);
        let first = ids[0];
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let released = guanxi_store::pool::release(tx, &author, &caller, rule, &ids, pool, &reason).await?;
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

    /// Locks a customer against automatic reclaim, or unlocks it (锁定 / 解锁).
    async fn set_customer_locked(&self, ctx: &Context<'_>, input: SetCustomerLockedInput) -> ApiResult<LockPayload> {
        let actor = require(ctx, Permission::CustomerUpdate)?;
        let id = match input_id("id", &input.id, CUSTOMER) {
            Ok(id) => id,
            Err(e) => return Ok(LockPayload { customer: None, user_errors: vec![e] }),
        };
        let author = author(ctx, actor);
        let rule = actor.scope_rule(Module::Customer);
        let (expected, locked) = (input.expected_version, input.locked);
        let result = transact(ctx, move |tx| {
            Box::pin(async move { guanxi_store::customer::set_locked(tx, &author, rule, id, expected, locked).await })
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
        if guanxi_store::pool::find(db.connection(), actor.tenant_id, id).await?.is_none() {
            return Ok(ReclaimPayload {
                reclaimed: 0,
                user_errors: vec![UserError::new("id", ErrorCode::NotFound, "no such pool")],
            });
        }
        let reclaimed = guanxi_store::pool::reclaim_pool(db, actor.tenant_id, id, Utc::now()).await?;
        Ok(ReclaimPayload { reclaimed, user_errors: vec![] })
    }
}

/// Claims (`owner` none) or assigns pooled customers in one write transaction, with the
/// idempotency key: a retry returns the customers as they now stand.
async fn take(
    ctx: &Context<'_>,
    actor: &Actor,
    idempotent: Idempotent,
    ids: Vec<uuid::Uuid>,
    owner: Option<UserId>,
) -> ApiResult<Outcome<Vec<DomainCustomer>>> {
    let author = author(ctx, actor);
    let caller = caller_of(actor);
    let (tenant, rule) = (actor.tenant_id, actor.scope_rule(Module::Customer));
    let reload_ids = ids.clone();
    // The customers come back through the caller's own scope: an admin who hands
    // customers to someone outside it gets an empty list, not the cards.
    write(
        ctx,
        idempotent,
        move |tx| {
            Box::pin(async move {
                match owner {
                    None => guanxi_store::pool::claim(tx, &author, &caller, &ids).await?,
                    Some(owner) => guanxi_store::pool::assign(tx, &author, &caller, &ids, owner).await?,
                };
                Ok((ids[0], guanxi_store::customer::by_ids(tx, tenant, rule, &ids).await?))
            })
        },
        move |tx, _| Box::pin(async move { guanxi_store::customer::by_ids(tx, tenant, rule, &reload_ids).await }),
    )
    .await
}
