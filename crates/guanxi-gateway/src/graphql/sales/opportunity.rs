//! Opportunities (商机), pipelines and the funnel over GraphQL.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::ids::{CustomerId, DepartmentId, PipelineId, StageId, UserId};
use guanxi_domain::platform::access::Permission;
use guanxi_domain::sales::opportunity::StageChange as DomainStageChange;
use guanxi_domain::sales::opportunity::{
    Opportunity as DomainOpportunity, OpportunityFields, Pipeline as DomainPipeline, Stage as DomainStage, StageDraft,
    StageKind as DomainKind, funnel,
};
use guanxi_domain::{ErrorCode, Invalid};
use guanxi_store::page::Direction;
use guanxi_store::sales::opportunity::{
    DateRange, OpportunityFilter as StoreFilter, OpportunityScope, OpportunitySort,
};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::graphql::context::{actor, author, require, state};
use crate::graphql::customers::customer::{CUSTOMER, Customer, Money};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{CustomerKey, Loaders, PipelineStagesKey, StageChangesKey, UserKey, opportunity_scope};
use crate::graphql::marketing::campaign::{CAMPAIGN, campaign_input};
use crate::graphql::mutation::{Idempotent, Recycle, transact, write, write_by_id};
use crate::graphql::platform::org::{DEPARTMENT, USER, User};
use crate::graphql::relay::{Conn, TotalCount, connection, expect_id, global_id, input_id, page_request};
use crate::graphql::shared::{IdFilter, OrderDirection, TimeRange};

pub const OPPORTUNITY: &str = guanxi_domain::entity::EntityKind::Opportunity.name();
pub const PIPELINE: &str = guanxi_domain::entity::EntityKind::Pipeline.name();
pub const STAGE: &str = "PipelineStage";

fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, ApiError> {
    ctx.data_opt::<Loaders>().ok_or_else(|| ApiError::Unauthenticated("log in first".into()))
}

/// Whether a stage is in play or closes the deal.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainKind")]
pub enum StageKind {
    /// 进行中
    Open,
    /// 赢单
    Won,
    /// 输单
    Lost,
}

/// One stage of a pipeline (销售阶段).
pub struct PipelineStage(pub DomainStage);

#[Object]
impl PipelineStage {
    async fn id(&self) -> ID {
        global_id(STAGE, self.0.id.uuid())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// 0-based place in the pipeline: open stages, then won, then lost.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// Win probability in percent.
    async fn probability(&self) -> i32 {
        i32::from(self.0.probability)
    }
    async fn kind(&self) -> StageKind {
        self.0.kind.into()
    }
}

/// A sales pipeline: its stages in order (销售流程).
pub struct Pipeline(pub DomainPipeline);

#[Object]
impl Pipeline {
    pub async fn id(&self) -> ID {
        global_id(PIPELINE, self.0.id.uuid())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// New opportunities go here unless the client names another pipeline.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }
    async fn stages(&self) -> Vec<PipelineStage> {
        self.0.stages.iter().cloned().map(PipelineStage).collect()
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

async fn stage_by_id(ctx: &Context<'_>, pipeline: PipelineId, stage: uuid::Uuid) -> ApiResult<Option<PipelineStage>> {
    let stages = loaders(ctx)?.load_one(PipelineStagesKey(pipeline.uuid())).await?.unwrap_or_default();
    Ok(stages.into_iter().find(|s| s.id.uuid() == stage).map(PipelineStage))
}

/// A stage an opportunity entered.
pub struct StageChange {
    pipeline: PipelineId,
    change: DomainStageChange,
}

#[Object]
impl StageChange {
    /// Null for the stage the opportunity was created in.
    async fn from_stage(&self, ctx: &Context<'_>) -> ApiResult<Option<PipelineStage>> {
        let Some(from) = self.change.from_stage_id else { return Ok(None) };
        stage_by_id(ctx, self.pipeline, from.uuid()).await
    }
    async fn to_stage(&self, ctx: &Context<'_>) -> ApiResult<Option<PipelineStage>> {
        stage_by_id(ctx, self.pipeline, self.change.to_stage_id.uuid()).await
    }
    async fn changed_at(&self) -> DateTime<Utc> {
        self.change.changed_at
    }
    /// Who moved it; null for the system, or when the caller may not see them.
    async fn changed_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(user) = self.change.changed_by else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(user.uuid())).await?.map(User))
    }
    /// How long the opportunity sat in the stage it left.
    async fn days_in_from_stage(&self) -> Option<f64> {
        self.change.seconds_in_from_stage.map(|s| (s as f64 / 86_400.0 * 10.0).round() / 10.0)
    }
    /// The amount when it moved.
    async fn amount(&self) -> Money {
        Money::cny(self.change.amount)
    }
}

/// A possible deal with a customer (商机).
pub struct Opportunity(pub DomainOpportunity);

#[Object]
impl Opportunity {
    pub async fn id(&self) -> ID {
        global_id(OPPORTUNITY, self.0.id.uuid())
    }
    async fn name(&self) -> &str {
        &self.0.fields.name
    }
    async fn amount(&self) -> Money {
        Money::cny(self.0.fields.amount)
    }
    async fn expected_close_date(&self) -> Option<NaiveDate> {
        self.0.fields.expected_close_date
    }
    async fn source(&self) -> Option<&str> {
        self.0.fields.source.as_deref()
    }
    async fn competitors(&self) -> Option<&str> {
        self.0.fields.competitors.as_deref()
    }
    async fn notes(&self) -> Option<&str> {
        self.0.fields.notes.as_deref()
    }
    async fn status(&self) -> StageKind {
        self.0.status.into()
    }
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loaders(ctx)?.load_one(CustomerKey(self.0.customer_id.uuid())).await?.map(Customer))
    }
    /// The users the deal is shared with (协作人), expired shares included (see `live`).
    async fn collaborators(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::sharing::collaborator::Collaborator>> {
        crate::graphql::sharing::collaborator::of_record(ctx, self.0.id.uuid()).await
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(owner) = self.0.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(owner.uuid())).await?.map(User))
    }
    async fn pipeline_id(&self) -> ID {
        global_id(PIPELINE, self.0.pipeline_id.uuid())
    }
    async fn stage(&self, ctx: &Context<'_>) -> ApiResult<Option<PipelineStage>> {
        stage_by_id(ctx, self.0.pipeline_id, self.0.stage_id.uuid()).await
    }
    /// The amount times the stage's win probability.
    async fn weighted_amount(&self, ctx: &Context<'_>) -> ApiResult<Money> {
        let probability =
            stage_by_id(ctx, self.0.pipeline_id, self.0.stage_id.uuid()).await?.map(|s| s.0.probability).unwrap_or(0);
        Ok(Money::cny(self.0.fields.amount * Decimal::from(probability) / Decimal::from(100)))
    }
    async fn stage_entered_at(&self) -> DateTime<Utc> {
        self.0.stage_entered_at
    }
    /// Whole days in the current stage.
    async fn days_in_stage(&self) -> i64 {
        (Utc::now() - self.0.stage_entered_at).num_days()
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// Why the deal was won or lost.
    async fn close_reason(&self) -> Option<&str> {
        self.0.close_reason.as_deref()
    }
    /// Where it counts in the forecast (`setOpportunityForecastCategory`).
    async fn forecast_category(&self) -> super::forecast::ForecastCategory {
        self.0.forecast_category.into()
    }
    /// The campaign it came from (`campaign.read`; null while the campaign is in the
    /// recycle bin).
    async fn campaign(&self, ctx: &Context<'_>) -> ApiResult<Option<crate::graphql::marketing::campaign::Campaign>> {
        crate::graphql::marketing::campaign::campaign_of(ctx, self.0.campaign_id).await
    }
    /// Its product lines; when it has any, its amount is their total.
    async fn lines(&self, ctx: &Context<'_>) -> ApiResult<Vec<crate::graphql::trade::document::DocumentLine>> {
        crate::graphql::trade::deal::deal_lines(ctx, self.0.id.uuid()).await
    }
    /// Every stage the opportunity entered, oldest first.
    async fn stage_history(&self, ctx: &Context<'_>) -> ApiResult<Vec<StageChange>> {
        let rows = loaders(ctx)?.load_one(StageChangesKey(self.0.id.uuid())).await?.unwrap_or_default();
        Ok(rows.into_iter().map(|change| StageChange { pipeline: self.0.pipeline_id, change }).collect())
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

/// A range of days, both ends included.
#[derive(InputObject, Clone, Copy, Default)]
pub struct DateRangeInput {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// Filters opportunities.
#[derive(InputObject, Default, Clone)]
pub struct OpportunityFilter {
    pub and: Option<Vec<OpportunityFilter>>,
    pub or: Option<Vec<OpportunityFilter>>,
    pub not: Option<Box<OpportunityFilter>>,
    /// A substring of the name.
    pub search: Option<String>,
    pub customer_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    /// Deals owned by anyone in this department or below it.
    pub department_id: Option<ID>,
    pub pipeline_id: Option<ID>,
    /// Deals that came from this campaign (营销活动).
    pub campaign_id: Option<ID>,
    /// Deals in any of these forecast categories.
    pub forecast_category: Option<Vec<super::forecast::ForecastCategory>>,
    pub stage_id: Option<IdFilter>,
    pub status: Option<Vec<StageKind>>,
    pub created_at: Option<TimeRange>,
    pub closed_at: Option<TimeRange>,
    pub expected_close_date: Option<DateRangeInput>,
    /// True for the recycle bin.
    pub deleted: Option<bool>,
}

impl OpportunityFilter {
    pub fn to_store(&self) -> Result<StoreFilter, ApiError> {
        let nested = |v: &Option<Vec<OpportunityFilter>>| -> Result<Vec<StoreFilter>, ApiError> {
            v.iter().flatten().map(Self::to_store).collect()
        };
        Ok(StoreFilter {
            combinators: guanxi_store::filter::Combinators {
                and: nested(&self.and)?,
                or: nested(&self.or)?,
                not: self.not.as_deref().map(Self::to_store).transpose()?.map(Box::new),
            },
            search: self.search.clone(),
            customer_id: self.customer_id.as_ref().map(|f| f.to_store(CUSTOMER)).transpose()?,
            owner_id: self.owner_id.as_ref().map(|f| f.to_store(USER)).transpose()?,
            department_id: self
                .department_id
                .as_ref()
                .map(|d| expect_id(d, DEPARTMENT).map(DepartmentId::from_uuid))
                .transpose()?,
            pipeline_id: self.pipeline_id.as_ref().map(|p| expect_id(p, PIPELINE)).transpose()?,
            campaign_id: self.campaign_id.as_ref().map(|c| expect_id(c, CAMPAIGN)).transpose()?,
            forecast_categories: self.forecast_category.as_ref().map(|c| c.iter().map(|x| (*x).into()).collect()),
            stage_id: self.stage_id.as_ref().map(|f| f.to_store(STAGE)).transpose()?,
            status: self.status.as_ref().map(|s| s.iter().map(|k| (*k).into()).collect()),
            created_at: self.created_at.as_ref().map(TimeRange::to_store),
            closed_at: self.closed_at.as_ref().map(TimeRange::to_store),
            expected_close_date: self.expected_close_date.map(|r| DateRange { from: r.from, to: r.to }),
            deleted: self.deleted,
        })
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OpportunityOrderField {
    UpdatedAt,
    CreatedAt,
    Amount,
}

#[derive(InputObject, Clone, Copy)]
pub struct OpportunityOrder {
    pub field: OpportunityOrderField,
    #[graphql(default_with = "OrderDirection::Desc")]
    pub direction: OrderDirection,
}

fn order_of(order_by: &Option<Vec<OpportunityOrder>>) -> Result<(OpportunitySort, Direction), ApiError> {
    match order_by.as_deref() {
        None | Some([]) => Ok((OpportunitySort::UpdatedAt, Direction::Desc)),
        Some([o]) => Ok((
            match o.field {
                OpportunityOrderField::UpdatedAt => OpportunitySort::UpdatedAt,
                OpportunityOrderField::CreatedAt => OpportunitySort::CreatedAt,
                OpportunityOrderField::Amount => OpportunitySort::Amount,
            },
            o.direction.into(),
        )),
        Some(_) => Err(ApiError::BadUserInput("order by one field; the id breaks ties".into())),
    }
}

/// A page of opportunities (of one customer when `customer` is given).
pub(crate) async fn opportunity_connection(
    ctx: &Context<'_>,
    customer: Option<uuid::Uuid>,
    filter: Option<StoreFilter>,
    page: (Option<i32>, Option<String>, Option<i32>, Option<String>),
    order: (OpportunitySort, Direction),
) -> ApiResult<Conn<Opportunity>> {
    let actor = actor(ctx)?.clone();
    let mut filter = filter.unwrap_or_default();
    if let Some(customer) = customer {
        filter.customer_id = Some(guanxi_store::filter::IdFilter { eq: Some(customer), ..Default::default() });
    }
    let (first, after, last, before) = page;
    let request = page_request(first, after, last, before, guanxi_store::sales::opportunity::sort_name(order.0))?;
    let db = state(ctx).db.clone();
    let scope = opportunity_scope(&actor);
    let page =
        guanxi_store::sales::opportunity::list(db.connection(), actor.tenant_id, scope, &filter, order, &request)
            .await?;
    let total = TotalCount::new(move |limit| {
        let (db, filter) = (db.clone(), filter.clone());
        Box::pin(async move {
            guanxi_store::sales::opportunity::count(db.connection(), actor.tenant_id, scope, &filter, limit).await
        })
    });
    Ok(connection(page, total, Opportunity))
}

/// One stage of the funnel.
#[derive(SimpleObject)]
pub struct FunnelStage {
    stage: PipelineStage,
    /// Opportunities now in the stage, and their amount.
    count: u64,
    amount: Money,
    /// The amount times the stage's probability.
    weighted_amount: Money,
    /// Opportunities that reached this stage or a later one (for the lost stage: how many
    /// are lost).
    reached: u64,
    /// Of those that reached this stage, the share that reached the next (0–1); null for
    /// the last stages or when none reached this one.
    conversion_to_next: Option<f64>,
    /// Average days a deal spent in the stage before leaving it.
    average_days_in_stage: Option<f64>,
}

/// The sales funnel (销售漏斗) of one pipeline over the opportunities the caller may see.
#[derive(SimpleObject)]
pub struct Funnel {
    pipeline: Pipeline,
    stages: Vec<FunnelStage>,
    open_count: u64,
    open_amount: Money,
    /// Open amounts weighted by their stage's probability: the forecast.
    weighted_amount: Money,
    won_count: u64,
    won_amount: Money,
    lost_count: u64,
    lost_amount: Money,
    /// Won among the closed deals (0–1); null when none is closed.
    win_rate: Option<f64>,
}

#[derive(Default)]
pub struct OpportunityQuery;

#[Object]
impl OpportunityQuery {
    /// The tenant's sales pipelines, the default first.
    async fn pipelines(&self, ctx: &Context<'_>) -> ApiResult<Vec<Pipeline>> {
        let actor = require(ctx, Permission::OpportunityRead)?;
        let pipelines = guanxi_store::sales::pipeline::pipelines(state(ctx).db.connection(), actor.tenant_id).await?;
        Ok(pipelines.into_iter().map(Pipeline).collect())
    }

    async fn opportunity(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Opportunity> {
        let actor = require(ctx, Permission::OpportunityRead)?;
        let id = expect_id(&id, OPPORTUNITY)?;
        let found = guanxi_store::sales::opportunity::find(
            state(ctx).db.connection(),
            actor.tenant_id,
            opportunity_scope(actor),
            id,
        )
        .await?;
        found.map(Opportunity).ok_or(ApiError::NotFound)
    }

    /// Opportunities the caller may see (their own scope and their customer's). Default
    /// order: most recently updated first.
    #[graphql(complexity = "first.or(last).unwrap_or(20) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn opportunities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<OpportunityFilter>,
        order_by: Option<Vec<OpportunityOrder>>,
    ) -> ApiResult<Conn<Opportunity>> {
        require(ctx, Permission::OpportunityRead)?;
        let filter = filter.map(|f| f.to_store()).transpose()?;
        let order = order_of(&order_by)?;
        opportunity_connection(ctx, None, filter, (first, after, last, before), order).await
    }

    /// The funnel of a pipeline (the default one unless named) over the opportunities the
    /// caller may see that match `filter`: by owner (`ownerId`), team (`departmentId`) or
    /// period (`createdAt`, `expectedCloseDate`, `closedAt`).
    async fn funnel(
        &self,
        ctx: &Context<'_>,
        pipeline_id: Option<ID>,
        filter: Option<OpportunityFilter>,
    ) -> ApiResult<Funnel> {
        let actor = require(ctx, Permission::OpportunityRead)?;
        let pipeline_id = pipeline_id.as_ref().map(|p| expect_id(p, PIPELINE)).transpose()?;
        let filter = filter.map(|f| f.to_store()).transpose()?.unwrap_or_default();
        let conn = state(ctx).db.connection();
        let pipeline = guanxi_store::sales::pipeline::pipeline(conn, actor.tenant_id, pipeline_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        let scope = opportunity_scope(actor);
        let tallies =
            guanxi_store::sales::opportunity::funnel_tallies(conn, actor.tenant_id, scope, &pipeline, &filter).await?;
        let stages = funnel(&pipeline.stages, &tallies);
        let sum = |kind: DomainKind| -> (u64, Decimal) {
            stages
                .iter()
                .filter(|s| s.stage.kind == kind)
                .fold((0, Decimal::ZERO), |(n, a), s| (n + s.count, a + s.amount))
        };
        let (open_count, open_amount) = sum(DomainKind::Open);
        let (won_count, won_amount) = sum(DomainKind::Won);
        let (lost_count, lost_amount) = sum(DomainKind::Lost);
        let weighted: Decimal =
            stages.iter().filter(|s| s.stage.kind == DomainKind::Open).map(|s| s.weighted_amount).sum();
        let closed = won_count + lost_count;
        Ok(Funnel {
            stages: stages
                .into_iter()
                .map(|s| FunnelStage {
                    stage: PipelineStage(s.stage),
                    count: s.count,
                    amount: Money::cny(s.amount),
                    weighted_amount: Money::cny(s.weighted_amount),
                    reached: s.reached,
                    conversion_to_next: s.conversion_to_next,
                    average_days_in_stage: s.average_days_in_stage,
                })
                .collect(),
            pipeline: Pipeline(pipeline),
            open_count,
            open_amount: Money::cny(open_amount),
            weighted_amount: Money::cny(weighted),
            won_count,
            won_amount: Money::cny(won_amount),
            lost_count,
            lost_amount: Money::cny(lost_amount),
            win_rate: (closed > 0).then(|| won_count as f64 / closed as f64),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

/// A stage of a new pipeline.
#[derive(InputObject, Serialize)]
pub struct StageInput {
    pub name: String,
    /// Win probability in percent (won is always 100, lost 0).
    #[graphql(default)]
    pub probability: i32,
    pub kind: StageKind,
}

#[derive(InputObject, Serialize)]
pub struct CreatePipelineInput {
    pub name: String,
    /// Open stages in order, one won and one lost stage.
    pub stages: Vec<StageInput>,
}

crate::graphql::error::payload! {
    PipelinePayload, pipeline: Pipeline(DomainPipeline)
}

/// The fields of an opportunity; on update, leave out what stays and send null to clear.
#[derive(InputObject, Default, Serialize)]
pub struct OpportunityFieldsInput {
    pub name: Option<String>,
    /// CNY, at most two decimal places.
    pub amount: Option<Decimal>,
    pub expected_close_date: MaybeUndefined<NaiveDate>,
    pub source: MaybeUndefined<String>,
    pub competitors: MaybeUndefined<String>,
    pub notes: MaybeUndefined<String>,
}

/// The value after an edit: kept when left out, cleared by null, replaced when given.
fn edited<T: Clone>(given: &MaybeUndefined<T>, current: Option<&Option<T>>) -> Option<T> {
    match given {
        MaybeUndefined::Undefined => current.cloned().flatten(),
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(v) => Some(v.clone()),
    }
}

impl OpportunityFieldsInput {
    fn merge_into(&self, base: Option<&OpportunityFields>) -> Result<OpportunityFields, Invalid> {
        let name = self.name.clone().or_else(|| base.map(|b| b.name.clone()));
        let Some(name) = name else {
            return Err(Invalid::one("name", ErrorCode::Required, "name is required"));
        };
        OpportunityFields {
            name,
            amount: self.amount.or(base.map(|b| b.amount)).unwrap_or_default(),
            expected_close_date: edited(&self.expected_close_date, base.map(|b| &b.expected_close_date)),
            source: edited(&self.source, base.map(|b| &b.source)),
            competitors: edited(&self.competitors, base.map(|b| &b.competitors)),
            notes: edited(&self.notes, base.map(|b| &b.notes)),
        }
        .check()
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateOpportunityInput {
    pub customer_id: ID,
    /// The default pipeline when left out.
    pub pipeline_id: Option<ID>,
    /// An open stage; the pipeline's first when left out.
    pub stage_id: Option<ID>,
    /// The caller when left out.
    pub owner_id: Option<ID>,
    /// The campaign it came from (营销活动), for the campaign's return.
    pub campaign_id: Option<ID>,
    #[graphql(flatten)]
    pub fields: OpportunityFieldsInput,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateOpportunityInput {
    pub id: ID,
    pub expected_version: i32,
    #[graphql(flatten)]
    pub fields: OpportunityFieldsInput,
    /// Hands the deal to another user.
    pub owner_id: Option<ID>,
}

#[derive(InputObject)]
pub struct MoveOpportunityStageInput {
    pub id: ID,
    pub expected_version: i32,
    pub stage_id: ID,
    /// Why the deal was won or lost; required for the lost stage.
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct OpportunityIdInput {
    pub id: ID,
    pub expected_version: i32,
}

crate::graphql::error::payload! {
    OpportunityPayload, opportunity: Opportunity(DomainOpportunity)
}

fn optional_id(field: &str, id: &Option<ID>, kind: &str) -> Result<Option<uuid::Uuid>, UserError> {
    id.as_ref().map(|id| input_id(field, id, kind)).transpose()
}

#[derive(Default)]
pub struct OpportunityMutation;

#[Object]
impl OpportunityMutation {
    /// Adds a pipeline (admins: `settings.manage`).
    async fn create_pipeline(&self, ctx: &Context<'_>, input: CreatePipelineInput) -> ApiResult<PipelinePayload> {
        let actor = require(ctx, Permission::SettingsManage)?;
        let mut errors = Vec::new();
        let drafts: Vec<StageDraft> = input
            .stages
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let probability = u8::try_from(s.probability).ok().filter(|p| *p <= 100).unwrap_or_else(|| {
                    errors.push(UserError::new(
                        &format!("stages.{i}.probability"),
                        ErrorCode::Invalid,
                        "a probability is 0 to 100",
                    ));
                    0
                });
                StageDraft { name: s.name.clone(), probability, kind: s.kind.into() }
            })
            .collect();
        if !errors.is_empty() {
            return Ok(Err(errors).into());
        }
        let author = author(ctx, actor);
        let name = input.name;
        let result = transact(ctx, move |tx| {
            Box::pin(async move { guanxi_store::sales::pipeline::create_pipeline(tx, &author, &name, drafts).await })
        })
        .await?;
        Ok(result.into())
    }

    /// Opens a deal on a customer the caller may see.
    async fn create_opportunity(
        &self,
        ctx: &Context<'_>,
        input: CreateOpportunityInput,
    ) -> ApiResult<OpportunityPayload> {
        let actor = require(ctx, Permission::OpportunityWrite)?.writing();
        let mut errors: Vec<UserError> = Vec::new();
        let customer = input_id("customerId", &input.customer_id, CUSTOMER).map_err(|e| errors.push(e)).ok();
        let pipeline = optional_id("pipelineId", &input.pipeline_id, PIPELINE).map_err(|e| errors.push(e)).ok();
        let stage = optional_id("stageId", &input.stage_id, STAGE).map_err(|e| errors.push(e)).ok();
        let owner = optional_id("ownerId", &input.owner_id, USER).map_err(|e| errors.push(e)).ok();
        let campaign = campaign_input(ctx, input.campaign_id.as_ref()).map_err(|e| errors.push(e)).ok();
        let fields = input.fields.merge_into(None).map_err(|e| errors.extend(UserError::all(e))).ok();
        let (Some(customer), Some(pipeline), Some(stage), Some(owner), Some(campaign), Some(fields)) =
            (customer, pipeline, stage, owner, campaign, fields)
        else {
            return Ok(Err(errors).into());
        };
        let author = author(ctx, &actor);
        let scope = opportunity_scope(&actor);
        let new = guanxi_store::sales::opportunity::NewOpportunity {
            customer_id: CustomerId::from_uuid(customer),
            pipeline_id: pipeline.map(PipelineId::from_uuid),
            stage_id: stage.map(StageId::from_uuid),
            owner_id: Some(owner.map(UserId::from_uuid).unwrap_or(actor.user_id)),
            fields,
            campaign_id: campaign,
        };
        let tenant = actor.tenant_id;
        let idempotent = Idempotent::new(&actor, "createOpportunity", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let created = guanxi_store::sales::opportunity::create(tx, &author, scope, new).await?;
                    Ok((created.id.uuid(), created))
                })
            },
            move |tx, id| {
                Box::pin(async move {
                    guanxi_store::sales::opportunity::find(tx, tenant, scope, id)
                        .await?
                        .ok_or(guanxi_store::StoreError::NotFound)
                })
            },
        )
        .await?;
        Ok(result.into())
    }

    /// Edits a deal's fields, or hands it to another owner.
    async fn update_opportunity(
        &self,
        ctx: &Context<'_>,
        input: UpdateOpportunityInput,
    ) -> ApiResult<OpportunityPayload> {
        let actor = &require(ctx, Permission::OpportunityWrite)?.writing();
        let (id, owner) = match (input_id("id", &input.id, OPPORTUNITY), optional_id("ownerId", &input.owner_id, USER))
        {
            (Ok(id), Ok(owner)) => (id, owner),
            (a, b) => return Ok(Err(a.err().into_iter().chain(b.err()).collect()).into()),
        };
        let author = author(ctx, actor);
        // A collaborator edits the deal; handing it to someone else stays with the owner side.
        let scope = match owner {
            Some(_) => OpportunityScope { customer: actor.customer_owner_rule(), ..opportunity_scope(actor) },
            None => opportunity_scope(actor),
        };
        let (fields, expected) = (input.fields, input.expected_version);
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::sales::opportunity::update(tx, &author, scope, id, expected, |current| {
                    let fields = fields.merge_into(Some(&current.fields))?;
                    Ok((fields, owner.map(|o| Some(UserId::from_uuid(o)))))
                })
                .await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Moves a deal to another stage of its pipeline; the won and lost stages close it
    /// (lost needs a `reason`). A stale `expectedVersion` is a VERSION_CONFLICT, never a
    /// lost update.
    async fn move_opportunity_stage(
        &self,
        ctx: &Context<'_>,
        input: MoveOpportunityStageInput,
    ) -> ApiResult<OpportunityPayload> {
        let actor = &require(ctx, Permission::OpportunityWrite)?.writing();
        let (id, stage) = match (input_id("id", &input.id, OPPORTUNITY), input_id("stageId", &input.stage_id, STAGE)) {
            (Ok(id), Ok(stage)) => (id, StageId::from_uuid(stage)),
            (a, b) => return Ok(Err(a.err().into_iter().chain(b.err()).collect()).into()),
        };
        let author = author(ctx, actor);
        let scope = opportunity_scope(actor);
        let (expected, reason) = (input.expected_version, input.reason);
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::sales::opportunity::move_stage(tx, &author, scope, id, expected, stage, reason.as_deref())
                    .await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Moves a deal to the recycle bin.
    async fn delete_opportunity(&self, ctx: &Context<'_>, input: OpportunityIdInput) -> ApiResult<OpportunityPayload> {
        recycle_opportunity(ctx, input, Recycle::Delete).await
    }

    /// Brings a deal back from the recycle bin.
    async fn restore_opportunity(&self, ctx: &Context<'_>, input: OpportunityIdInput) -> ApiResult<OpportunityPayload> {
        recycle_opportunity(ctx, input, Recycle::Restore).await
    }
}

/// Moves an opportunity to the recycle bin or back, in one versioned, audited write.
async fn recycle_opportunity(
    ctx: &Context<'_>,
    input: OpportunityIdInput,
    action: Recycle,
) -> ApiResult<OpportunityPayload> {
    let expected = input.expected_version;
    write_by_id(ctx, Permission::OpportunityWrite, (&input.id, OPPORTUNITY), opportunity_scope, move |tx, a, s, id| {
        Box::pin(async move {
            match action {
                Recycle::Delete => guanxi_store::sales::opportunity::delete(tx, &a, s, id, expected).await,
                Recycle::Restore => guanxi_store::sales::opportunity::restore(tx, &a, s, id, expected).await,
            }
        })
    })
    .await
}
