//! Lead pools (线索公海) over GraphQL: the open leads waiting in a pool the caller belongs
//! to, claims (拾取), assignment by a pool admin (分配) and release with a reason (放弃).
//! The pools, their members, caps, cool-down and reclaim rules are the customer pools'
//! (`sales::pool`); only what waits differs.
//!
//! A pooled lead has no owner, so a rep's `LEAD` scope does not show it; a member sees it
//! only as a `PoolLead` of a pool they belong to, with the lead's public fields and no
//! phone, e-mail, WeChat or follow-ups until they claim it.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use guanxi_domain::ids::{PoolId, TenantId};
use guanxi_domain::leads::lead::Lead as DomainLead;
use guanxi_domain::platform::access::{Actor, Permission, ScopeRule};
use guanxi_domain::sales::pool::{Caller, PoolSubject};
use guanxi_store::leads::lead::{LeadOrder as StoreOrder, Leads};
use guanxi_store::page::Direction;
use guanxi_store::{DatabaseTransaction, StoreResult};
use serde::Serialize;

use crate::graphql::context::{require, state};
use crate::graphql::error::{ApiError, ApiResult, Outcome, UserError};
use crate::graphql::leads::lead::{LEAD, Lead, LeadFilter, LeadStatus, ScoreLine, lead_scope};
use crate::graphql::mutation::Idempotent;
use crate::graphql::relay::{Conn, expect_id, listed, page_request};
use crate::graphql::sales::pool::{POOL, PoolEntry};
use crate::graphql::sales::pool_mutation::{Pooled, ReleasePayload, assignment, in_order, record_ids, release, take};

impl Pooled for DomainLead {
    const SUBJECT: PoolSubject = PoolSubject::Leads;
    type Rule = ScopeRule;
    fn rule(actor: &Actor) -> ScopeRule {
        lead_scope(actor)
    }
    fn load<'t>(
        tx: &'t DatabaseTransaction,
        tenant: TenantId,
        rule: ScopeRule,
        ids: &'t [uuid::Uuid],
    ) -> BoxFuture<'t, StoreResult<Vec<Self>>> {
        Box::pin(guanxi_store::leads::lead::by_ids(tx, tenant, rule, ids))
    }
}

/// A lead waiting in a pool, as a member of the pool sees it before claiming it.
pub struct PoolLead(DomainLead);

#[Object]
impl PoolLead {
    /// The lead's id: once claimed, `lead(id)` reads it.
    async fn id(&self) -> ID {
        crate::graphql::relay::global_id(LEAD, self.0.id.uuid())
    }
    async fn name(&self) -> &str {
        &self.0.fields.name
    }
    async fn company(&self) -> Option<&str> {
        self.0.fields.company.as_deref()
    }
    async fn source(&self) -> Option<&str> {
        self.0.fields.source.as_deref()
    }
    async fn campaign(&self) -> Option<&str> {
        self.0.fields.campaign.as_deref()
    }
    async fn industry(&self) -> Option<&str> {
        self.0.fields.industry.as_deref()
    }
    async fn region(&self) -> Option<&str> {
        self.0.fields.region.as_deref()
    }
    async fn status(&self) -> LeadStatus {
        self.0.status.into()
    }
    async fn score(&self) -> i32 {
        self.0.score
    }
    /// The scoring rules that fired.
    async fn score_lines(&self) -> Vec<ScoreLine> {
        self.0.score_lines.iter().map(ScoreLine::from).collect()
    }
    /// Which channels it has been followed up through is not shown; when, is.
    async fn last_activity_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_activity_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// How and when it came into the pool, and from whom.
    async fn entry(&self) -> Option<PoolEntry> {
        self.0.pool.clone().map(PoolEntry)
    }
}

#[derive(Default)]
pub struct LeadPoolQuery;

#[Object]
impl LeadPoolQuery {
    /// The open leads waiting in a pool the caller belongs to, most recently entered
    /// first. `filter` narrows them like the lead list (source, campaign, score; `search`
    /// matches the name and the company, not the phone).
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn pool_leads(
        &self,
        ctx: &Context<'_>,
        pool_id: ID,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<LeadFilter>,
    ) -> ApiResult<Conn<PoolLead>> {
        let actor = require(ctx, Permission::LeadRead)?;
        let pool = PoolId::from_uuid(expect_id(&pool_id, POOL)?);
        let db = &state(ctx).db;
        if guanxi_store::sales::pool::visible_one(db.connection(), actor.tenant_id, &Caller::of(actor), pool)
            .await?
            .is_none()
        {
            return Err(ApiError::NotFound);
        }
        let mut filter = filter.unwrap_or_default().into_store()?;
        filter.pool_id = Some(pool.uuid());
        filter.deleted = None;
        // The phone is not shown before a claim, so it is not searched either.
        filter.search_without_phone = true;
        let request = page_request(first, after, None, None, "POOL_ENTERED_AT")?;
        let order = StoreOrder::PoolEnteredAt(Direction::Desc);
        // Pool membership, checked above, is what shows these ownerless leads.
        listed::<Leads, _>(db, actor.tenant_id, (ScopeRule::All, filter, order), &request, PoolLead).await
    }
}

#[derive(InputObject, Serialize)]
pub struct ClaimLeadsInput {
    /// Leads waiting in pools the caller belongs to: all are claimed, or none.
    pub ids: Vec<ID>,
    /// A retry with the same key returns the first call's result.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct AssignPoolLeadsInput {
    pub ids: Vec<ID>,
    pub owner_id: ID,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct ReleaseLeadsInput {
    /// Open leads the caller holds in their `LEAD` scope.
    pub ids: Vec<ID>,
    pub pool_id: ID,
    /// Why (放弃原因); required.
    pub reason: String,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct LeadClaimPayload {
    /// The leads now owned, in input order, as far as the caller may see them (an admin
    /// assigning outside their own scope gets an empty list).
    leads: Vec<Lead>,
    user_errors: Vec<UserError>,
}

fn lead_ids(ids: &[ID]) -> Result<Vec<uuid::Uuid>, Vec<UserError>> {
    record_ids(ids, (LEAD, "leads"))
}

fn claim_payload(ids: &[uuid::Uuid], outcome: Outcome<Vec<DomainLead>>) -> LeadClaimPayload {
    match outcome {
        Ok(leads) => LeadClaimPayload { leads: in_order(ids, leads, |l| l.id.uuid(), Lead), user_errors: vec![] },
        Err(errors) => LeadClaimPayload { leads: vec![], user_errors: errors },
    }
}

#[derive(Default)]
pub struct LeadPoolMutation;

#[Object]
impl LeadPoolMutation {
    /// Claims leads from pools the caller belongs to (拾取), within the pools' caps and
    /// cool-downs (counted for leads): all of them, or none. Needs `lead.write`.
    async fn claim_leads(&self, ctx: &Context<'_>, input: ClaimLeadsInput) -> ApiResult<LeadClaimPayload> {
        let actor = require(ctx, Permission::LeadWrite)?.clone();
        let ids = match lead_ids(&input.ids) {
            Ok(ids) => ids,
            Err(errors) => return Ok(LeadClaimPayload { leads: vec![], user_errors: errors }),
        };
        let idempotent = Idempotent::new(&actor, "claimLeads", input.idempotency_key.as_deref(), &input);
        let result = take::<DomainLead>(ctx, &actor, idempotent, ids.clone(), None).await?;
        Ok(claim_payload(&ids, result))
    }

    /// Hands pooled leads to a user (分配): the pools' admins, or `settings.manage`.
    async fn assign_pool_leads(&self, ctx: &Context<'_>, input: AssignPoolLeadsInput) -> ApiResult<LeadClaimPayload> {
        let actor = require(ctx, Permission::LeadWrite)?.clone();
        let (ids, owner) = match assignment(lead_ids(&input.ids), &input.owner_id) {
            Ok(assigned) => assigned,
            Err(errors) => return Ok(LeadClaimPayload { leads: vec![], user_errors: errors }),
        };
        let idempotent = Idempotent::new(&actor, "assignPoolLeads", input.idempotency_key.as_deref(), &input);
        let result = take::<DomainLead>(ctx, &actor, idempotent, ids.clone(), Some(owner)).await?;
        Ok(claim_payload(&ids, result))
    }

    /// Gives open leads back to a pool (放弃) with a reason; their follow-ups go with them.
    async fn release_leads(&self, ctx: &Context<'_>, input: ReleaseLeadsInput) -> ApiResult<ReleasePayload> {
        let actor = require(ctx, Permission::LeadWrite)?.clone();
        let idempotent = Idempotent::new(&actor, "releaseLeads", input.idempotency_key.as_deref(), &input);
        let ids = lead_ids(&input.ids);
        release(ctx, &actor, (PoolSubject::Leads, idempotent), ids, (&input.pool_id, input.reason)).await
    }
}
