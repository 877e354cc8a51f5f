//! Campaigns (营销活动): the type with its members, its deals and its return; `campaign`,
//! `campaigns`; and the writes — create, update, delete, restore, members added by id or
//! by a customer filter, removed, marked as responded, and a deal's campaign. Reading needs
//! `campaign.read`, writing `campaign.write`. Members are seen through their customer's or
//! lead's scope and deals through the `OPPORTUNITY` scope, so the return a caller sees adds
//! up only the deals they see.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{CampaignId, UserId};
use guanxi_domain::marketing::campaign::{
    Campaign as DomainCampaign, CampaignFields, CampaignKind as DomainKind, CampaignStatus as DomainStatus,
    MemberKind as DomainMemberKind, Return,
};
use guanxi_domain::platform::access::{Actor, Module, Permission, ScopeRule};
use guanxi_domain::sales::opportunity::Opportunity as DomainOpportunity;
use guanxi_store::marketing::campaign::{CampaignFilter as StoreFilter, Campaigns};
use guanxi_store::marketing::member::{Member as DomainMember, MemberCounts, MemberFilter, MemberScope, Members};
use guanxi_store::page::Direction;
use guanxi_store::sales::opportunity::{OpportunityFilter, OpportunitySort};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::graphql::context::{actor, author, require, state};
use crate::graphql::customers::customer::{CUSTOMER, Customer, CustomerFilter, Money};
use crate::graphql::error::{ApiError, ApiResult, Outcome, UserError};
use crate::graphql::finance::approval::{Participant, participant};
use crate::graphql::leads::lead::{LEAD, Lead, LeadKey};
use crate::graphql::loaders::{CustomerKey, ScopedLoader, opportunity_scope};
use crate::graphql::mutation::{Idempotent, Recycle, reload_scoped, transact, write, write_by_id};
use crate::graphql::platform::org::USER;
use crate::graphql::relay::{Conn, expect_id, global_id, input_id, listed, page_request, read_by_id};
use crate::graphql::sales::opportunity::{
    OPPORTUNITY, Opportunity, OpportunityPayload, StageKind, opportunity_connection,
};
use crate::graphql::shared::OrderDirection;
use crate::graphql::trade::document::loaders;

pub const CAMPAIGN: &str = EntityKind::Campaign.name();

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainKind")]
pub enum CampaignKind {
    /// 广告
    Advertising,
    /// 邮件营销
    Mail,
    /// 研讨会
    Seminar,
    /// 展会
    Exhibition,
    /// 网络营销
    Web,
    /// 其他
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainStatus")]
pub enum CampaignStatus {
    /// 计划中
    Planned,
    /// 进行中
    Active,
    /// 已结束
    Completed,
    /// 已取消
    Cancelled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainMemberKind")]
pub enum CampaignMemberKind {
    Customer,
    Lead,
}

/// What the caller sees of a campaign's members.
pub fn member_scope(actor: &Actor) -> MemberScope {
    MemberScope {
        customers: actor.may(Permission::CustomerRead).then(|| actor.customer_rule()),
        leads: actor.may(Permission::LeadRead).then(|| actor.scope_rule(Module::Lead)),
    }
}

/// A campaign's return (投资回报): what the deals that came from it won, against its cost.
/// Only the deals the caller sees count; the ratios need them all (`complete`).
pub struct CampaignReturn {
    figures: Return,
    complete: bool,
}

#[Object]
impl CampaignReturn {
    /// The actual cost.
    async fn cost(&self) -> Money {
        yuan(self.figures.cost)
    }
    async fn budget(&self) -> Money {
        yuan(self.figures.budget)
    }
    async fn won_deals(&self) -> i64 {
        self.figures.won_deals
    }
    async fn won_amount(&self) -> Money {
        yuan(self.figures.won_amount)
    }
    async fn open_deals(&self) -> i64 {
        self.figures.open_deals
    }
    /// What the open deals are worth.
    async fn open_amount(&self) -> Money {
        yuan(self.figures.open_amount)
    }
    async fn lost_deals(&self) -> i64 {
        self.figures.lost_deals
    }
    /// (won − cost) / cost, in percent, rounded half away from zero; null while nothing
    /// was spent, and for a caller who does not see every deal (the whole cost against part
    /// of the wins would mislead).
    async fn roi(&self) -> Option<Decimal> {
        self.figures.roi().filter(|_| self.complete)
    }
    /// Cost per yuan won, four places; null before a win, and for a caller who does not
    /// see every deal.
    async fn cost_per_won_yuan(&self) -> Option<Decimal> {
        self.figures.cost_per_won_yuan().filter(|_| self.complete)
    }
    /// Whether the figures count every deal of the tenant (the caller's `OPPORTUNITY` and
    /// `CUSTOMER` scopes are ALL), so the ratios are given.
    async fn complete(&self) -> bool {
        self.complete
    }
    /// Cost against budget, in percent; null without a budget.
    async fn budget_used(&self) -> Option<Decimal> {
        self.figures.budget_used()
    }
}

/// An amount of the return, always with its two places (a campaign without deals has a
/// plain zero).
fn yuan(mut amount: Decimal) -> Money {
    amount.rescale(2);
    Money::cny(amount)
}

/// How many of a campaign's members the caller sees.
#[derive(SimpleObject)]
pub struct CampaignMemberCounts {
    customers: i64,
    leads: i64,
    /// Members who responded (报名, 到场, 回复).
    responded: i64,
}

/// A customer or lead a campaign targets.
pub struct CampaignMember(DomainMember);

#[Object]
impl CampaignMember {
    async fn kind(&self) -> CampaignMemberKind {
        self.0.kind.into()
    }
    /// The customer, for a customer member.
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        if self.0.kind != DomainMemberKind::Customer {
            return Ok(None);
        }
        Ok(loaders(ctx)?.load_one(CustomerKey(self.0.member_id)).await?.map(Customer))
    }
    /// The lead, for a lead member.
    async fn lead(&self, ctx: &Context<'_>) -> ApiResult<Option<Lead>> {
        if self.0.kind != DomainMemberKind::Lead {
            return Ok(None);
        }
        Ok(loaders(ctx)?.load_one(LeadKey(self.0.member_id)).await?.map(Lead))
    }
    async fn added_at(&self) -> DateTime<Utc> {
        self.0.added_at
    }
    async fn added_by(&self, ctx: &Context<'_>) -> ApiResult<Option<Participant>> {
        participant(ctx, self.0.added_by).await
    }
    async fn responded_at(&self) -> Option<DateTime<Utc>> {
        self.0.responded_at
    }
}

/// A marketing campaign (营销活动).
pub struct Campaign(pub DomainCampaign);

#[Object]
impl Campaign {
    pub async fn id(&self) -> ID {
        global_id(CAMPAIGN, self.0.id.uuid())
    }
    async fn name(&self) -> &str {
        &self.0.fields.name
    }
    async fn kind(&self) -> CampaignKind {
        self.0.fields.kind.into()
    }
    async fn status(&self) -> CampaignStatus {
        self.0.fields.status.into()
    }
    async fn starts_on(&self) -> Option<NaiveDate> {
        self.0.fields.starts_on
    }
    async fn ends_on(&self) -> Option<NaiveDate> {
        self.0.fields.ends_on
    }
    async fn budget(&self) -> Money {
        Money::cny(self.0.fields.budget)
    }
    async fn actual_cost(&self) -> Money {
        Money::cny(self.0.fields.actual_cost)
    }
    async fn expected_revenue(&self) -> Option<Money> {
        self.0.fields.expected_revenue.map(Money::cny)
    }
    async fn description(&self) -> Option<&str> {
        self.0.fields.description.as_deref()
    }
    /// Who runs it, by display name.
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<Participant>> {
        participant(ctx, self.0.owner_id).await
    }
    /// Members the caller sees, counted.
    async fn member_counts(&self, ctx: &Context<'_>) -> ApiResult<CampaignMemberCounts> {
        let c = loaders(ctx)?.load_one(MemberCountsKey(self.0.id.uuid())).await?.unwrap_or_default();
        Ok(CampaignMemberCounts { customers: c.customers, leads: c.leads, responded: c.responded })
    }
    /// Its members the caller sees, earliest added first (a drill-down into one campaign:
    /// its own statement per campaign asked).
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        kind: Option<CampaignMemberKind>,
        responded: Option<bool>,
    ) -> ApiResult<Conn<CampaignMember>> {
        let actor = actor(ctx)?;
        let filter = MemberFilter { campaign_id: self.0.id.uuid(), kind: kind.map(Into::into), responded };
        let request = page_request(first, after, None, None, "ADDED_AT")?;
        let scope = (member_scope(actor), filter, Direction::Asc);
        listed::<Members, _>(&state(ctx).db, actor.tenant_id, scope, &request, CampaignMember).await
    }
    /// What the deals from it won against its cost (the deals the caller sees; zero
    /// figures without `opportunity.read`).
    #[graphql(name = "return")]
    async fn campaign_return(&self, ctx: &Context<'_>) -> ApiResult<CampaignReturn> {
        let deals = loaders(ctx)?.load_one(ReturnKey(self.0.id.uuid())).await?;
        let actor = actor(ctx)?;
        let scope = opportunity_scope(actor);
        let complete = actor.may(Permission::OpportunityRead)
            && scope.owner == ScopeRule::All
            && scope.customer.owners == ScopeRule::All;
        let figures = guanxi_store::marketing::campaign::return_of(&self.0, deals.as_ref());
        Ok(CampaignReturn { figures, complete })
    }
    /// The drill-down of its return: the deals that came from it, as the deal list shows
    /// them (`opportunity.read`), most recently updated first (a drill-down into one
    /// campaign: its own statement per campaign asked).
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn deals(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<StageKind>>,
    ) -> ApiResult<Conn<Opportunity>> {
        require(ctx, Permission::OpportunityRead)?;
        let filter = OpportunityFilter {
            campaign_id: Some(self.0.id.uuid()),
            status: status.map(|s| s.into_iter().map(Into::into).collect()),
            ..OpportunityFilter::default()
        };
        let order = (OpportunitySort::UpdatedAt, Direction::Desc);
        opportunity_connection(ctx, None, Some(filter), (first, after, None, None), order).await
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
}

/// The campaign id a deal's input names: naming one needs `campaign.read` (without it, a
/// campaign does not exist for the caller).
pub fn campaign_input(ctx: &Context<'_>, id: Option<&ID>) -> Result<Option<Uuid>, UserError> {
    let Some(id) = id else { return Ok(None) };
    let campaign = input_id("campaignId", id, CAMPAIGN)?;
    match actor(ctx) {
        Ok(actor) if actor.may(Permission::CampaignRead) => Ok(Some(campaign)),
        _ => Err(UserError::new("campaignId", ErrorCode::Forbidden, "you do not read campaigns")),
    }
}

/// The campaign a deal names, for `Opportunity.campaign` (null without `campaign.read`,
/// or while the campaign is in the recycle bin).
pub async fn campaign_of(ctx: &Context<'_>, id: Option<CampaignId>) -> ApiResult<Option<Campaign>> {
    let Some(id) = id else { return Ok(None) };
    Ok(loaders(ctx)?.load_one(CampaignKey(id.uuid())).await?.map(Campaign))
}

// ---------------------------------------------------------------------------------------
// Loaders

/// A live campaign by id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CampaignKey(pub Uuid);
/// A campaign's visible members, counted.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberCountsKey(pub Uuid);
/// The figures of a campaign's visible deals.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReturnKey(pub Uuid);

impl Loader<CampaignKey> for ScopedLoader {
    type Value = DomainCampaign;
    type Error = ApiError;

    async fn load(&self, keys: &[CampaignKey]) -> Result<HashMap<CampaignKey, DomainCampaign>, ApiError> {
        if !self.actor.may(Permission::CampaignRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let conn = self.db.connection();
        let found = guanxi_store::marketing::campaign::by_ids(conn, self.actor.tenant_id, (), &ids).await?;
        Ok(found.into_iter().map(|c| (CampaignKey(c.id.uuid()), c)).collect())
    }
}

impl Loader<MemberCountsKey> for ScopedLoader {
    type Value = MemberCounts;
    type Error = ApiError;

    async fn load(&self, keys: &[MemberCountsKey]) -> Result<HashMap<MemberCountsKey, MemberCounts>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let (conn, scope) = (self.db.connection(), member_scope(&self.actor));
        let found = guanxi_store::marketing::member::counts(conn, self.actor.tenant_id, scope, &ids).await?;
        Ok(found.into_iter().map(|(id, c)| (MemberCountsKey(id), c)).collect())
    }
}

impl Loader<ReturnKey> for ScopedLoader {
    type Value = Return;
    type Error = ApiError;

    async fn load(&self, keys: &[ReturnKey]) -> Result<HashMap<ReturnKey, Return>, ApiError> {
        if !self.actor.may(Permission::OpportunityRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let (conn, scope) = (self.db.connection(), opportunity_scope(&self.actor));
        let found = guanxi_store::marketing::campaign::returns(conn, self.actor.tenant_id, scope, &ids).await?;
        Ok(found.into_iter().map(|(id, r)| (ReturnKey(id), r)).collect())
    }
}

// ---------------------------------------------------------------------------------------
// Queries

/// Filters campaigns.
#[derive(InputObject, Default)]
pub struct CampaignFilter {
    pub kind: Option<Vec<CampaignKind>>,
    pub status: Option<Vec<CampaignStatus>>,
    /// Running on this day (started and not ended; open dates count as running).
    pub running_on: Option<NaiveDate>,
    pub owner_ids: Option<Vec<ID>>,
    /// Part of the name.
    pub search: Option<String>,
    /// `true`: the recycle bin.
    pub deleted: Option<bool>,
}

#[derive(Default)]
pub struct CampaignQuery;

#[Object]
impl CampaignQuery {
    /// A campaign by id (`campaign.read`).
    async fn campaign(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Campaign> {
        Ok(Campaign(read_by_id::<Campaigns>(ctx, Permission::CampaignRead, (&id, CAMPAIGN), |_| ()).await?))
    }

    /// The tenant's campaigns (`campaign.read`), newest first unless ordered.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<CampaignFilter>,
        #[graphql(default_with = "OrderDirection::Desc")] order: OrderDirection,
    ) -> ApiResult<Conn<Campaign>> {
        let actor = require(ctx, Permission::CampaignRead)?;
        let f = filter.unwrap_or_default();
        let owner_ids = f
            .owner_ids
            .map(|ids| ids.iter().map(|id| expect_id(id, USER)).collect::<ApiResult<Vec<_>>>())
            .transpose()?;
        let filter = StoreFilter {
            kinds: f.kind.map(|k| k.into_iter().map(Into::into).collect()),
            statuses: f.status.map(|s| s.into_iter().map(Into::into).collect()),
            running_on: f.running_on,
            owner_ids,
            search: f.search,
            deleted: f.deleted,
        };
        let request = page_request(first, after, None, None, "CREATED_AT")?;
        listed::<Campaigns, _>(&state(ctx).db, actor.tenant_id, ((), filter, order.into()), &request, Campaign).await
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

/// A campaign's fields (the whole of them, on update too).
#[derive(InputObject, Serialize, Clone)]
pub struct CampaignInput {
    pub name: String,
    pub kind: CampaignKind,
    #[graphql(default_with = "CampaignStatus::Planned")]
    pub status: CampaignStatus,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    /// In yuan, to the fen.
    #[graphql(default)]
    pub budget: Decimal,
    /// What it cost so far, in yuan, to the fen.
    #[graphql(default)]
    pub actual_cost: Decimal,
    pub expected_revenue: Option<Decimal>,
    pub description: Option<String>,
    /// Who runs it: left out, the caller on create and unchanged on update.
    pub owner_id: Option<ID>,
}

impl CampaignInput {
    /// The fields and the owner the input names (none when it names none).
    fn parts(&self) -> Result<(CampaignFields, Option<UserId>), UserError> {
        let owner = self.owner_id.as_ref().map(|id| input_id("ownerId", id, USER)).transpose()?;
        let fields = CampaignFields {
            name: self.name.clone(),
            kind: self.kind.into(),
            status: self.status.into(),
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            budget: self.budget,
            actual_cost: self.actual_cost,
            expected_revenue: self.expected_revenue,
            description: self.description.clone(),
        };
        Ok((fields, owner.map(UserId::from_uuid)))
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateCampaignInput {
    pub campaign: CampaignInput,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateCampaignInput {
    pub id: ID,
    pub expected_version: i32,
    pub campaign: CampaignInput,
}

#[derive(InputObject)]
pub struct CampaignVersionInput {
    pub id: ID,
    pub expected_version: i32,
}

/// Members to add: customers and leads by id, and every customer a filter matches.
#[derive(InputObject)]
pub struct AddCampaignMembersInput {
    pub campaign_id: ID,
    pub customer_ids: Option<Vec<ID>>,
    pub lead_ids: Option<Vec<ID>>,
    /// Every live customer the caller sees that this filter matches (the `customers`
    /// list's filter).
    pub customer_filter: Option<CustomerFilter>,
}

#[derive(InputObject)]
pub struct RemoveCampaignMembersInput {
    pub campaign_id: ID,
    /// Customer and lead ids.
    pub member_ids: Vec<ID>,
}

#[derive(InputObject)]
pub struct SetCampaignMemberRespondedInput {
    pub campaign_id: ID,
    /// A customer or lead id.
    pub member_id: ID,
    pub responded: bool,
}

#[derive(InputObject)]
pub struct SetOpportunityCampaignInput {
    pub id: ID,
    pub expected_version: i32,
    /// Null clears it.
    pub campaign_id: Option<ID>,
}

crate::graphql::error::payload! {
    CampaignPayload, campaign: Campaign(DomainCampaign)
}

crate::graphql::error::payload! {
    CampaignMemberPayload, member: CampaignMember(DomainMember)
}

/// How many members a write added or removed, and the campaign as it now stands.
#[derive(SimpleObject)]
pub struct CampaignMembersPayload {
    /// Members added (those already in stay as they were) or removed.
    count: u64,
    campaign: Option<Campaign>,
    user_errors: Vec<UserError>,
}

impl From<Outcome<(u64, DomainCampaign)>> for CampaignMembersPayload {
    fn from(outcome: Outcome<(u64, DomainCampaign)>) -> Self {
        match outcome {
            Ok((count, campaign)) => Self { count, campaign: Some(Campaign(campaign)), user_errors: vec![] },
            Err(user_errors) => Self { count: 0, campaign: None, user_errors },
        }
    }
}

async fn recycle_campaign(
    ctx: &Context<'_>,
    input: CampaignVersionInput,
    action: Recycle,
) -> ApiResult<CampaignPayload> {
    let version = input.expected_version;
    write_by_id(
        ctx,
        Permission::CampaignWrite,
        (&input.id, CAMPAIGN),
        |_| (),
        move |tx, author, (), id| {
            Box::pin(async move {
                use guanxi_store::marketing::campaign as store;
                match action {
                    Recycle::Delete => store::delete(tx, &author, (id, version)).await,
                    Recycle::Restore => store::restore(tx, &author, (id, version)).await,
                }
            })
        },
    )
    .await
}

/// A members write's campaign id and member ids (customers or leads, the input's `field`),
/// every malformed one a user error.
fn campaign_and_members(campaign: &ID, (field, ids): (&str, &[ID])) -> Result<(Uuid, Vec<Uuid>), Vec<UserError>> {
    match (input_id("campaignId", campaign, CAMPAIGN), member_ids(field, ids, &[CUSTOMER, LEAD])) {
        (Ok(campaign), Ok(ids)) => Ok((campaign, ids)),
        (campaign, ids) => Err(campaign.err().into_iter().chain(ids.err().into_iter().flatten()).collect()),
    }
}

/// The ids of `kind` in `ids`, each a user error on `field.i` when malformed.
fn member_ids(field: &str, ids: &[ID], kinds: &[&str]) -> Result<Vec<Uuid>, Vec<UserError>> {
    let mut errors = Vec::new();
    let parsed: Vec<Uuid> = ids
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            let found = kinds.iter().find_map(|kind| input_id(&format!("{field}.{i}"), id, kind).ok());
            if found.is_none() {
                errors.push(UserError::new(&format!("{field}.{i}"), ErrorCode::Invalid, "not a member id"));
            }
            found
        })
        .collect();
    if errors.is_empty() { Ok(parsed) } else { Err(errors) }
}

#[derive(Default)]
pub struct CampaignMutation;

#[Object]
impl CampaignMutation {
    /// Records a campaign (`campaign.write`).
    async fn create_campaign(&self, ctx: &Context<'_>, input: CreateCampaignInput) -> ApiResult<CampaignPayload> {
        let actor = require(ctx, Permission::CampaignWrite)?.clone();
        let (fields, owner) = match input.campaign.parts() {
            Ok((fields, owner)) => (fields, owner.or(Some(actor.user_id))),
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let (author, tenant) = (author(ctx, &actor), actor.tenant_id);
        let idempotent = Idempotent::new(&actor, "createCampaign", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let created = guanxi_store::marketing::campaign::create(tx, &author, fields, owner).await?;
                    Ok((created.id.uuid(), created))
                })
            },
            reload_scoped::<Campaigns>(tenant, ()),
        )
        .await?;
        Ok(result.into())
    }

    /// Rewrites a campaign's fields (`campaign.write`): its status, its dates, what it
    /// actually cost.
    async fn update_campaign(&self, ctx: &Context<'_>, input: UpdateCampaignInput) -> ApiResult<CampaignPayload> {
        let (fields, owner) = match input.campaign.parts() {
            Ok(parts) => parts,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let version = input.expected_version;
        write_by_id(
            ctx,
            Permission::CampaignWrite,
            (&input.id, CAMPAIGN),
            |_| (),
            move |tx, author, (), id| {
                Box::pin(async move {
                    guanxi_store::marketing::campaign::update(tx, &author, (id, version), fields, owner).await
                })
            },
        )
        .await
    }

    /// Moves a campaign to the recycle bin (`campaign.write`); its deals keep naming it.
    async fn delete_campaign(&self, ctx: &Context<'_>, input: CampaignVersionInput) -> ApiResult<CampaignPayload> {
        recycle_campaign(ctx, input, Recycle::Delete).await
    }

    /// Brings a campaign back from the recycle bin (`campaign.write`).
    async fn restore_campaign(&self, ctx: &Context<'_>, input: CampaignVersionInput) -> ApiResult<CampaignPayload> {
        recycle_campaign(ctx, input, Recycle::Restore).await
    }

    /// Adds members to a planned or active campaign (`campaign.write`): customers and
    /// leads by id — each one the caller sees, or nothing is added — and every customer
    /// the caller sees that `customerFilter` matches, in one statement. Adding a member
    /// twice is harmless: `count` is how many joined.
    async fn add_campaign_members(
        &self,
        ctx: &Context<'_>,
        input: AddCampaignMembersInput,
    ) -> ApiResult<CampaignMembersPayload> {
        let actor = require(ctx, Permission::CampaignWrite)?;
        let mut errors = Vec::new();
        let campaign = input_id("campaignId", &input.campaign_id, CAMPAIGN).map_err(|e| errors.push(e)).ok();
        let mut by_id = |field, ids: &Option<Vec<ID>>, kind| match ids.as_deref() {
            None | Some([]) => None,
            Some(ids) => member_ids(field, ids, &[kind]).map_err(|e| errors.extend(e)).ok(),
        };
        let customers = by_id("customerIds", &input.customer_ids, CUSTOMER);
        let leads = by_id("leadIds", &input.lead_ids, LEAD);
        let filter = input.customer_filter.as_ref().map(|f| f.to_store(actor)).transpose()?;
        if customers.is_none() && leads.is_none() && filter.is_none() {
            errors.push(UserError::new(
                "customerIds",
                ErrorCode::Required,
                "name customers, leads or a customer filter",
            ));
        }
        if filter.is_some() && !actor.may(Permission::CustomerRead) {
            errors.push(UserError::new("customerFilter", ErrorCode::Forbidden, "you do not read customers"));
        }
        let Some(campaign) = campaign.filter(|_| errors.is_empty()) else {
            return Ok(Err(errors).into());
        };
        let (author, scope, rule) = (author(ctx, actor), member_scope(actor), actor.customer_rule());
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                use guanxi_domain::marketing::campaign::MemberKind;
                use guanxi_store::marketing::{campaign as store, member};
                let found = store::live(tx, author.tenant_id, campaign, "campaignId").await?;
                let mut added = 0;
                for (field, kind, ids) in
                    [("customerIds", MemberKind::Customer, customers), ("leadIds", MemberKind::Lead, leads)]
                {
                    if let Some(ids) = ids {
                        added += member::add(tx, &author, &found, scope, (field, kind, &ids)).await?;
                    }
                }
                if let Some(filter) = filter {
                    added += member::add_customers_matching(tx, &author, &found, rule, &filter).await?;
                }
                // Members change nothing of the campaign's own row.
                Ok((added, found))
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Takes members the caller sees out of a campaign (`campaign.write`).
    async fn remove_campaign_members(
        &self,
        ctx: &Context<'_>,
        input: RemoveCampaignMembersInput,
    ) -> ApiResult<CampaignMembersPayload> {
        let actor = require(ctx, Permission::CampaignWrite)?;
        let (campaign, ids) = match campaign_and_members(&input.campaign_id, ("memberIds", &input.member_ids)) {
            Ok(parsed) => parsed,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let (author, scope) = (author(ctx, actor), member_scope(actor));
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                use guanxi_store::marketing::{campaign as store, member};
                let found = store::live(tx, author.tenant_id, campaign, "campaignId").await?;
                let removed = member::remove(tx, &author, campaign, scope, &ids).await?;
                Ok((removed, found))
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Marks a member as having responded (报名, 到场, 回复), or not (`campaign.write`).
    async fn set_campaign_member_responded(
        &self,
        ctx: &Context<'_>,
        input: SetCampaignMemberRespondedInput,
    ) -> ApiResult<CampaignMemberPayload> {
        let actor = require(ctx, Permission::CampaignWrite)?;
        let member = ("memberId", std::slice::from_ref(&input.member_id));
        let (campaign, member) = match campaign_and_members(&input.campaign_id, member) {
            Ok((campaign, members)) => (campaign, members[0]),
            Err(errors) => return Ok(Err(errors).into()),
        };
        let (author, scope, responded) = (author(ctx, actor), member_scope(actor), input.responded);
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::marketing::campaign::live(tx, author.tenant_id, campaign, "campaignId").await?;
                guanxi_store::marketing::member::set_responded(tx, &author, campaign, scope, (member, responded)).await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Names the campaign a deal came from, or clears it (`opportunity.write`).
    async fn set_opportunity_campaign(
        &self,
        ctx: &Context<'_>,
        input: SetOpportunityCampaignInput,
    ) -> ApiResult<OpportunityPayload> {
        let campaign = match campaign_input(ctx, input.campaign_id.as_ref()) {
            Ok(c) => c,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let version = input.expected_version;
        let result: Outcome<DomainOpportunity> = write_by_id(
            ctx,
            Permission::OpportunityWrite,
            (&input.id, OPPORTUNITY),
            opportunity_scope,
            move |tx, author, scope, id| {
                Box::pin(async move {
                    guanxi_store::marketing::campaign::set_deal_campaign(tx, &author, scope, (id, version), campaign)
                        .await
                })
            },
        )
        .await?;
        Ok(result.into())
    }
}
