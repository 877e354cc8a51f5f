//! Public pools (公海) over GraphQL: the pools a caller belongs to and their waiting
//! customers, claims (拾取), assignment by a pool admin (分配), release with a reason
//! (放弃), locks against reclaim (锁定), the owner's warning of coming reclaims, and a
//! manual run of a pool's reclaim rules.
//!
//! A pooled customer has no owner, so it is outside every owner scope: a member sees it
//! only as a `PoolCustomer` of a pool they belong to, with the card's public fields and
//! no contacts, interactions or deals until they claim it.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::customers::customer::Customer as DomainCustomer;
use guanxi_domain::ids::PoolId;
use guanxi_domain::platform::access::{Module, Permission};
use std::collections::HashMap;

use guanxi_domain::sales::pool::{Access, Caller, PoolSubject};
use guanxi_domain::sales::pool::{
    MemberKind, Pool as DomainPool, PoolAction, PoolEntry as DomainEntry, PoolMember as DomainMember, ReclaimKind,
    ReclaimRule as DomainRule,
};
use guanxi_store::customers::customer_search::CustomerSort;
use guanxi_store::page::Direction;
use guanxi_store::sales::pool_move;
use serde::Serialize;

use crate::graphql::context::{actor, require, state};
use crate::graphql::customers::customer::{CUSTOMER, Customer, CustomerFilter, CustomerKind};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::loaders::{CustomerKey, DepartmentKey, Loaders, UserKey};
use crate::graphql::platform::org::{Department, User};
use crate::graphql::relay::{Conn, TotalCount, connection, expect_id, global_id, page_request};

pub const POOL: &str = guanxi_domain::entity::EntityKind::Pool.name();

fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, ApiError> {
    ctx.data_opt::<Loaders>().ok_or_else(|| ApiError::Unauthenticated("log in first".into()))
}

/// When a neglected customer goes back to its pool.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "ReclaimKind")]
pub enum ReclaimRuleKind {
    /// 未跟进: no interaction for `days` since the owner got it or last followed up.
    NoFollowUp,
    /// 未成交: owned for `days` with no open deal.
    NoDeal,
    /// 未赢单: owned for `days` and never won a deal.
    NotWon,
}

/// What waits in a pool, and what a reclaim rule watches.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(name = "PoolSubject", remote = "PoolSubject")]
pub enum PoolSubjectKind {
    /// 客户公海.
    Customers,
    /// 线索公海.
    Leads,
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
    /// What it watches: customers or leads.
    async fn applies_to(&self) -> PoolSubjectKind {
        self.0.applies_to.into()
    }
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

/// A public pool (公海) of customers and leads.
pub struct Pool {
    pool: DomainPool,
    access: Access,
    /// Figures read for a whole page of pools at once.
    figures: HashMap<Figure, i64>,
}

/// A figure of a pool that takes a statement to count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Figure {
    /// Rows waiting in it.
    Waiting(PoolSubject),
    /// Rows the caller claimed from it today.
    ClaimsToday(PoolSubject),
}

impl Figure {
    const ALL: [(Figure, &'static str); 4] = [
        (Figure::Waiting(PoolSubject::Customers), "customerCount"),
        (Figure::Waiting(PoolSubject::Leads), "leadCount"),
        (Figure::ClaimsToday(PoolSubject::Customers), "myClaimsToday"),
        (Figure::ClaimsToday(PoolSubject::Leads), "myLeadClaimsToday"),
    ];

    /// This figure of each of `pools`: one grouped statement.
    async fn of(self, ctx: &Context<'_>, pools: &[uuid::Uuid]) -> ApiResult<HashMap<uuid::Uuid, i64>> {
        let actor = actor(ctx)?;
        let conn = state(ctx).db.connection();
        Ok(match self {
            Figure::Waiting(subject) => pool_move::counts(conn, actor.tenant_id, subject, pools).await?,
            Figure::ClaimsToday(subject) => {
                pool_move::claims_today(conn, actor.tenant_id, (subject, actor.user_id), pools, Utc::now()).await?
            }
        })
    }
}

impl Pool {
    pub(crate) fn new((pool, access): (DomainPool, Access)) -> Self {
        Self { pool, access, figures: HashMap::new() }
    }

    async fn figure(&self, ctx: &Context<'_>, figure: Figure) -> ApiResult<i64> {
        if let Some(n) = self.figures.get(&figure) {
            return Ok(*n);
        }
        let id = self.pool.id.uuid();
        Ok(figure.of(ctx, &[id]).await?.get(&id).copied().unwrap_or(0))
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
        self.figure(ctx, Figure::Waiting(PoolSubject::Customers)).await
    }
    /// How many open leads wait in it (线索公海).
    async fn lead_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        self.figure(ctx, Figure::Waiting(PoolSubject::Leads)).await
    }
    /// How many customers the caller claimed from it today.
    async fn my_claims_today(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        self.figure(ctx, Figure::ClaimsToday(PoolSubject::Customers)).await
    }
    /// How many leads the caller claimed from it today (the daily cap counts each kind).
    async fn my_lead_claims_today(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        self.figure(ctx, Figure::ClaimsToday(PoolSubject::Leads)).await
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

/// The pools of `pools` as GraphQL objects, with the figures the query asks for read in
/// one grouped statement each.
async fn decorate(ctx: &Context<'_>, pools: Vec<(DomainPool, Access)>) -> ApiResult<Vec<Pool>> {
    let ids: Vec<uuid::Uuid> = pools.iter().map(|(p, _)| p.id.uuid()).collect();
    let mut pools: Vec<Pool> = pools.into_iter().map(Pool::new).collect();
    let look = ctx.look_ahead();
    for (figure, field) in Figure::ALL {
        if ids.is_empty() || !look.field(field).exists() {
            continue;
        }
        let counts = figure.of(ctx, &ids).await?;
        for pool in &mut pools {
            pool.figures.insert(figure, counts.get(&pool.pool.id.uuid()).copied().unwrap_or(0));
        }
    }
    Ok(pools)
}

#[derive(Default)]
pub struct PoolQuery;

#[Object]
impl PoolQuery {
    /// The public pools the caller belongs to or administers (all of them for
    /// `settings.manage`), oldest first.
    async fn pools(&self, ctx: &Context<'_>) -> ApiResult<Vec<Pool>> {
        let actor = require(ctx, Permission::CustomerRead)?;
        let pools =
            guanxi_store::sales::pool::visible(state(ctx).db.connection(), actor.tenant_id, &Caller::of(actor)).await?;
        decorate(ctx, pools).await
    }

    async fn pool(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Pool> {
        let actor = require(ctx, Permission::CustomerRead)?;
        let id = PoolId::from_uuid(expect_id(&id, POOL)?);
        let found =
            guanxi_store::sales::pool::visible_one(state(ctx).db.connection(), actor.tenant_id, &Caller::of(actor), id)
                .await?;
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
        if guanxi_store::sales::pool::visible_one(db.connection(), actor.tenant_id, &Caller::of(&actor), pool)
            .await?
            .is_none()
        {
            return Err(ApiError::NotFound);
        }
        let mut filter = filter.unwrap_or_default().to_store(&actor)?;
        filter.pool_id = Some(pool.uuid());
        filter.deleted = None;
        let sort = (CustomerSort::PoolEnteredAt, Direction::Desc);
        let request =
            page_request(first, after, last, before, guanxi_store::customers::customer_search::sort_name(sort.0))?;
        // Pool membership, checked above, is what shows these ownerless customers.
        let rule = guanxi_domain::platform::access::CustomerRule::ALL;
        let page = guanxi_store::customers::customer_search::list(
            db.connection(),
            actor.tenant_id,
            rule,
            &filter,
            sort,
            &request,
        )
        .await?;
        let total = TotalCount::new(move |limit| {
            let (db, tenant, filter) = (db.clone(), actor.tenant_id, filter.clone());
            Box::pin(async move {
                guanxi_store::customers::customer_search::count(db.connection(), tenant, rule, &filter, limit).await
            })
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
        if within_days.is_some_and(|d| d > guanxi_domain::sales::pool::MAX_DAYS) || first > 200 {
            return Err(ApiError::BadUserInput("`withinDays` is at most 3650 and `first` at most 200".into()));
        }
        let due = guanxi_store::sales::pool_reclaim::due_for_reclaim(
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
