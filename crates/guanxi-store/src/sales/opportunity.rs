//! Opportunities (商机), their pipelines and the funnel.
//!
//! An opportunity is visible when its owner is within the caller's `Opportunity` scope
//! *and* its customer is live and visible under the `Customer` scope, as for contacts: a
//! deal never shows a customer the caller may not see. Every stage an opportunity enters is
//! a row in `opportunity_stage_changes` (with how long it sat in the stage it left), written
//! with the move and its change event in one transaction; the funnel is two grouped reads.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{CustomerId, DepartmentId, OpportunityId, PipelineId, StageId, TenantId, UserId};
use guanxi_domain::platform::access::{CustomerRule, ScopeRule};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::sales::opportunity::{
    Opportunity, OpportunityFields, Pipeline, StageKind, StageTally, check_move, from_fen, to_fen,
};
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select,
};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{opportunity, opportunity_stage_change};
use crate::error::{StoreError, StoreResult};
use crate::filter::{Combinators, IdFilter, TextFilter, TimeFilter};
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Listed, Scoped};
use crate::sales::pipeline::{pipeline, stages_of};
use crate::scope;

pub const ENTITY: EntityKind = EntityKind::Opportunity;

// ---------------------------------------------------------------------------------------
// Opportunities

/// The two scopes an opportunity read needs (`EntityKind::opportunity_rules`).
pub type OpportunityScope = guanxi_domain::entity::OwnerAndCustomer;

pub fn to_domain(m: opportunity::Model) -> StoreResult<Opportunity> {
    Ok(Opportunity {
        id: m.id.into(),
        tenant_id: m.tenant_id.into(),
        customer_id: m.customer_id.into(),
        pipeline_id: m.pipeline_id.into(),
        stage_id: m.stage_id.into(),
        status: Cell::of("opportunities", m.id, "status").text(&m.status, StageKind::parse)?,
        fields: OpportunityFields {
            name: m.name,
            amount: from_fen(m.amount_fen),
            expected_close_date: m.expected_close_date,
            source: m.source,
            competitors: m.competitors,
            notes: m.notes,
        },
        owner_id: m.owner_id.map(Into::into),
        stage_entered_at: m.stage_entered_at,
        reached_position: m.reached_position,
        closed_at: m.closed_at,
        close_reason: m.close_reason,
        forecast_category: Cell::of("opportunities", m.id, "forecast_category")
            .text(&m.forecast_category, guanxi_domain::sales::forecast::ForecastCategory::parse)?,
        campaign_id: m.campaign_id.map(Into::into),
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Deals, read through their own `OPPORTUNITY` scope and their customer's `CUSTOMER` scope.
pub struct Opportunities;

impl Scoped for Opportunities {
    type Entity = opportunity::Entity;
    type Scope = OpportunityScope;
    type Record = Opportunity;
    const ID: opportunity::Column = opportunity::Column::Id;
    const DELETED_AT: Option<opportunity::Column> = Some(opportunity::Column::DeletedAt);

    /// Deals whose owner and customer the rules admit (a shared customer's deals whoever
    /// owns them), and deals shared with the caller themselves (their customer stays
    /// hidden unless it is visible too).
    fn visible(backend: DbBackend, tenant: TenantId, scope: OpportunityScope) -> Select<opportunity::Entity> {
        use opportunity::Column as C;
        let columns = (C::TenantId, C::CustomerId, C::OwnerId);
        // A caller who sees every deal needs no deal share.
        let sees_all = scope.owner == ScopeRule::All && scope.customer.owners == ScopeRule::All;
        let Some(sharing) = scope.customer.shared.filter(|_| !sees_all) else {
            return scope::of_owner_and_customer(backend, tenant, scope, columns);
        };
        let by_rules = scope::owner_and_customer(
            backend,
            tenant,
            scope,
            ((opportunity::Entity, C::OwnerId), (opportunity::Entity, C::CustomerId)),
        );
        // A shared deal counts only while its customer is live (not in the recycle bin, not
        // merged away), as every record that hangs off a customer.
        let shared = Condition::all()
            .add(scope::shared_with(backend, tenant, sharing, ENTITY, (opportunity::Entity, C::Id)))
            .add(scope::visible_customer(backend, tenant, CustomerRule::ALL, (opportunity::Entity, C::CustomerId)));
        opportunity::Entity::find()
            .filter(C::TenantId.eq(tenant.uuid()))
            .filter(Condition::any().add(by_rules).add(shared))
    }

    fn to_domain(model: opportunity::Model) -> StoreResult<Opportunity> {
        to_domain(model)
    }
}

repo::versioned!(Opportunities, opportunity);
repo::recyclable!(Opportunities, opportunity, ENTITY);

repo::scoped_reads!(Opportunities);

/// A range of days, both ends included.
#[derive(Clone, Copy, Debug, Default)]
pub struct DateRange {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

#[derive(Clone, Debug, Default)]
pub struct OpportunityFilter {
    pub combinators: Combinators<OpportunityFilter>,
    /// A substring of the name.
    pub search: Option<String>,
    pub customer_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    /// Owners in this department or below it (a team's deals).
    pub department_id: Option<DepartmentId>,
    pub pipeline_id: Option<Uuid>,
    /// Deals that came from this campaign.
    pub campaign_id: Option<Uuid>,
    /// Deals in any of these forecast categories.
    pub forecast_categories: Option<Vec<guanxi_domain::sales::forecast::ForecastCategory>>,
    pub stage_id: Option<IdFilter>,
    pub status: Option<Vec<StageKind>>,
    pub created_at: Option<TimeFilter>,
    pub closed_at: Option<TimeFilter>,
    pub expected_close_date: Option<DateRange>,
    pub deleted: Option<bool>,
}

impl OpportunityFilter {
    fn condition(&self, backend: DbBackend, tenant: TenantId) -> Condition {
        let mut all = Condition::all();
        if let Some(term) = self.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let contains = TextFilter { contains: Some(term.to_owned()), ..TextFilter::default() };
            all = all.add(contains.condition(opportunity::Column::Name));
        }
        if let Some(f) = &self.customer_id {
            all = all.add(f.condition(opportunity::Column::CustomerId));
        }
        if let Some(f) = &self.owner_id {
            all = all.add(f.condition(opportunity::Column::OwnerId));
        }
        if let Some(department) = self.department_id {
            all = all.add(scope::owner_condition(
                backend,
                tenant,
                ScopeRule::OwnedWithinDepartmentTree(department),
                (opportunity::Entity, opportunity::Column::OwnerId),
            ));
        }
        if let Some(pipeline) = self.pipeline_id {
            all = all.add(opportunity::Column::PipelineId.eq(pipeline));
        }
        if let Some(campaign) = self.campaign_id {
            all = all.add(opportunity::Column::CampaignId.eq(campaign));
        }
        if let Some(categories) = &self.forecast_categories {
            all = all.add(opportunity::Column::ForecastCategory.is_in(categories.iter().map(|c| c.as_str())));
        }
        if let Some(f) = &self.stage_id {
            all = all.add(f.condition(opportunity::Column::StageId));
        }
        if let Some(status) = &self.status {
            all = all.add(opportunity::Column::Status.is_in(status.iter().map(|s| s.as_str())));
        }
        if let Some(f) = &self.created_at {
            all = all.add(f.condition(opportunity::Column::CreatedAt));
        }
        if let Some(f) = &self.closed_at {
            all = all.add(f.condition(opportunity::Column::ClosedAt));
        }
        if let Some(range) = self.expected_close_date {
            if let Some(from) = range.from {
                all = all.add(opportunity::Column::ExpectedCloseDate.gte(from));
            }
            if let Some(to) = range.to {
                all = all.add(opportunity::Column::ExpectedCloseDate.lte(to));
            }
        }
        self.combinators.apply(all, |f| f.condition(backend, tenant))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpportunitySort {
    UpdatedAt,
    CreatedAt,
    Amount,
}

pub fn sort_name(sort: OpportunitySort) -> &'static str {
    match sort {
        OpportunitySort::UpdatedAt => "UPDATED_AT",
        OpportunitySort::CreatedAt => "CREATED_AT",
        OpportunitySort::Amount => "AMOUNT",
    }
}

fn sort_key(sort: OpportunitySort, direction: Direction) -> SortKey<opportunity::Entity> {
    type M = opportunity::Model;
    let name = sort_name(sort);
    match sort {
        OpportunitySort::UpdatedAt => SortKey {
            name,
            column: opportunity::Column::UpdatedAt,
            direction,
            value: |m: &M| CursorValue::Time(m.updated_at),
        },
        OpportunitySort::CreatedAt => SortKey {
            name,
            column: opportunity::Column::CreatedAt,
            direction,
            value: |m: &M| CursorValue::Time(m.created_at),
        },
        OpportunitySort::Amount => SortKey {
            name,
            column: opportunity::Column::AmountFen,
            direction,
            value: |m: &M| CursorValue::Int(m.amount_fen),
        },
    }
}

impl repo::Listed for Opportunities {
    type Filter = OpportunityFilter;
    type Order = (OpportunitySort, Direction);

    fn matching(
        backend: DbBackend,
        tenant: TenantId,
        scope: OpportunityScope,
        filter: &OpportunityFilter,
    ) -> Select<opportunity::Entity> {
        repo::in_bin::<Self>(backend, tenant, scope, filter.deleted).filter(filter.condition(backend, tenant))
    }

    fn sort_key((sort, direction): Self::Order) -> SortKey<opportunity::Entity> {
        sort_key(sort, direction)
    }

    fn id_of(model: &opportunity::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Opportunities);

/// Count and amount (fen) of live, visible opportunities per status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusTotals {
    pub open_count: u64,
    pub open_fen: i64,
    pub won_count: u64,
    pub won_fen: i64,
    pub lost_count: u64,
    pub lost_fen: i64,
}

/// The totals by status of what `filter` matches (one grouped statement).
pub async fn totals<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OpportunityScope,
    filter: &OpportunityFilter,
) -> StoreResult<StatusTotals> {
    let rows: Vec<(String, i64, Option<i64>)> =
        Opportunities::matching(conn.get_database_backend(), tenant, scope, filter)
            .select_only()
            .column(opportunity::Column::Status)
            .column_as(Expr::col(opportunity::Column::Id).count(), "n")
            .column_as(Expr::cust("CAST(SUM(amount_fen) AS BIGINT)"), "fen")
            .group_by(opportunity::Column::Status)
            .into_tuple()
            .all(conn)
            .await?;
    let mut totals = StatusTotals::default();
    for (status, n, fen) in rows {
        let (n, fen) = (u64::try_from(n).unwrap_or(0), fen.unwrap_or(0));
        match StageKind::parse(&status) {
            Some(StageKind::Open) => (totals.open_count, totals.open_fen) = (n, fen),
            Some(StageKind::Won) => (totals.won_count, totals.won_fen) = (n, fen),
            Some(StageKind::Lost) => (totals.lost_count, totals.lost_fen) = (n, fen),
            None => {}
        }
    }
    Ok(totals)
}

/// Per-stage tallies of a pipeline's funnel, over what `filter` matches: where the deals
/// are now and how far they got (one grouped read), and how long the completed stays in
/// each stage lasted (one grouped read of the stage changes).
pub async fn funnel_tallies<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OpportunityScope,
    pipeline: &Pipeline,
    filter: &OpportunityFilter,
) -> StoreResult<Vec<StageTally>> {
    let backend = conn.get_database_backend();
    let mut filter = filter.clone();
    filter.pipeline_id = Some(pipeline.id.uuid());
    filter.deleted = None;
    let matched = Opportunities::matching(backend, tenant, scope, &filter);
    let now: Vec<(Uuid, i32, i64, Option<i64>)> = matched
        .clone()
        .select_only()
        .column(opportunity::Column::StageId)
        .column(opportunity::Column::ReachedPosition)
        .column_as(Expr::col(opportunity::Column::Id).count(), "n")
        .column_as(Expr::cust("CAST(SUM(amount_fen) AS BIGINT)"), "fen")
        .group_by(opportunity::Column::StageId)
        .group_by(opportunity::Column::ReachedPosition)
        .into_tuple()
        .all(conn)
        .await?;
    let ids = matched.select_only().column(opportunity::Column::Id).into_query();
    let stays: Vec<(Uuid, i64, Option<i64>)> = opportunity_stage_change::Entity::find()
        .select_only()
        .column(opportunity_stage_change::Column::FromStageId)
        .column_as(Expr::col(opportunity_stage_change::Column::Id).count(), "n")
        .column_as(Expr::cust("CAST(SUM(seconds_in_from_stage) AS BIGINT)"), "seconds")
        .filter(opportunity_stage_change::Column::TenantId.eq(tenant.uuid()))
        .filter(opportunity_stage_change::Column::FromStageId.is_not_null())
        .filter(
            Expr::col((opportunity_stage_change::Entity, opportunity_stage_change::Column::OpportunityId))
                .in_subquery(ids),
        )
        .group_by(opportunity_stage_change::Column::FromStageId)
        .into_tuple()
        .all(conn)
        .await?;
    let index: HashMap<Uuid, usize> = pipeline.stages.iter().enumerate().map(|(i, s)| (s.id.uuid(), i)).collect();
    let by_position: HashMap<i32, usize> = pipeline.stages.iter().enumerate().map(|(i, s)| (s.position, i)).collect();
    let mut tallies = vec![StageTally::default(); pipeline.stages.len()];
    for (stage, reached, n, fen) in now {
        let n = u64::try_from(n).unwrap_or(0);
        if let Some(&i) = index.get(&stage) {
            tallies[i].count += n;
            tallies[i].amount_fen += fen.unwrap_or(0);
        }
        if let Some(&i) = by_position.get(&reached) {
            tallies[i].furthest += n;
        }
    }
    for (stage, n, seconds) in stays {
        if let Some(&i) = index.get(&stage) {
            tallies[i].stays += u64::try_from(n).unwrap_or(0);
            tallies[i].stay_seconds += seconds.unwrap_or(0);
        }
    }
    Ok(tallies)
}

/// The stages some opportunities entered, oldest first. The caller has checked that it
/// may see the opportunities.
pub async fn stage_changes<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    opportunities: &[Uuid],
) -> StoreResult<Vec<guanxi_domain::sales::opportunity::StageChange>> {
    let rows = opportunity_stage_change::Entity::find()
        .filter(opportunity_stage_change::Column::TenantId.eq(tenant.uuid()))
        .filter(opportunity_stage_change::Column::OpportunityId.is_in(opportunities.iter().copied()))
        .order_by_asc(opportunity_stage_change::Column::ChangedAt)
        .order_by_asc(opportunity_stage_change::Column::Id)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|m| guanxi_domain::sales::opportunity::StageChange {
            opportunity_id: m.opportunity_id.into(),
            from_stage_id: m.from_stage_id.map(Into::into),
            to_stage_id: m.to_stage_id.into(),
            changed_at: m.changed_at,
            changed_by: m.changed_by.map(Into::into),
            seconds_in_from_stage: m.seconds_in_from_stage,
            amount: from_fen(m.amount_fen),
        })
        .collect())
}

fn field_model(fields: &OpportunityFields) -> opportunity::ActiveModel {
    opportunity::ActiveModel {
        name: Set(fields.name.clone()),
        amount_fen: Set(to_fen(fields.amount)),
        expected_close_date: Set(fields.expected_close_date),
        source: Set(fields.source.clone()),
        competitors: Set(fields.competitors.clone()),
        notes: Set(fields.notes.clone()),
        ..Default::default()
    }
}

fn stage_change(
    tenant: TenantId,
    opportunity: Uuid,
    from: Option<(Uuid, i64)>,
    to: Uuid,
    author: &Author,
    amount_fen: i64,
    at: chrono::DateTime<Utc>,
) -> opportunity_stage_change::ActiveModel {
    opportunity_stage_change::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(Uuid::now_v7()),
        opportunity_id: Set(opportunity),
        from_stage_id: Set(from.map(|(id, _)| id)),
        to_stage_id: Set(to),
        changed_at: Set(at),
        changed_by: Set(author.user_id),
        seconds_in_from_stage: Set(from.map(|(_, seconds)| seconds)),
        amount_fen: Set(amount_fen),
    }
}

/// An owner (of a deal, a lead, a campaign, a document) is an active user of the tenant.
pub(crate) async fn check_owner<C: ConnectionTrait>(conn: &C, tenant: TenantId, owner: UserId) -> StoreResult<()> {
    let user = crate::entity::user::Entity::find_by_id((tenant.uuid(), owner.uuid())).one(conn).await?;
    if user.is_none_or(|u| u.status != guanxi_domain::platform::org::UserStatus::Active.as_str()) {
        return Err(StoreError::rejected("ownerId", ErrorCode::NotFound, "no such active user"));
    }
    Ok(())
}

/// What a new opportunity needs besides its fields.
pub struct NewOpportunity {
    pub customer_id: CustomerId,
    pub pipeline_id: Option<PipelineId>,
    pub stage_id: Option<StageId>,
    pub owner_id: Option<UserId>,
    pub fields: OpportunityFields,
    /// The live campaign it came from (its source for the campaign's return).
    pub campaign_id: Option<Uuid>,
}

/// Creates an opportunity on a live customer the caller may see, in the given open stage
/// (or the pipeline's first), and records the stage it entered.
pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OpportunityScope,
    new: NewOpportunity,
) -> StoreResult<Opportunity> {
    let tenant = author.tenant_id;
    let customer = crate::customers::customer::find(conn, tenant, scope.customer, new.customer_id.uuid()).await?;
    if customer.is_none_or(|c| c.deleted_at.is_some()) {
        return Err(StoreError::rejected("customerId", ErrorCode::NotFound, "no such customer"));
    }
    let pipeline = pipeline(conn, tenant, new.pipeline_id.map(PipelineId::uuid))
        .await?
        .ok_or_else(|| StoreError::rejected("pipelineId", ErrorCode::NotFound, "no such pipeline"))?;
    let stage = match new.stage_id {
        Some(id) => pipeline.stage(id).filter(|s| s.kind == StageKind::Open).ok_or_else(|| {
            StoreError::rejected("stageId", ErrorCode::NotFound, "no such open stage in the pipeline")
        })?,
        None => pipeline
            .first_open()
            .ok_or_else(|| StoreError::rejected("pipelineId", ErrorCode::IllegalState, "the pipeline has no stages"))?,
    };
    if let Some(owner) = new.owner_id {
        check_owner(conn, tenant, owner).await?;
    }
    if let Some(campaign) = new.campaign_id {
        crate::marketing::campaign::live(conn, tenant, campaign, "campaignId").await?;
    }
    let now = Utc::now();
    let id = OpportunityId::new();
    let mut model = field_model(&new.fields);
    model.tenant_id = Set(tenant.uuid());
    model.id = Set(id.uuid());
    model.customer_id = Set(new.customer_id.uuid());
    model.pipeline_id = Set(pipeline.id.uuid());
    model.stage_id = Set(stage.id.uuid());
    model.status = Set(StageKind::Open.as_str().to_owned());
    model.currency = Set("CNY".to_owned());
    model.owner_id = Set(new.owner_id.map(UserId::uuid));
    model.campaign_id = Set(new.campaign_id);
    model.stage_entered_at = Set(now);
    model.reached_position = Set(stage.position);
    model.closed_at = Set(None);
    model.close_reason = Set(None);
    model.version = Set(1);
    model.created_at = Set(now);
    model.updated_at = Set(now);
    model.deleted_at = Set(None);
    let created = to_domain(opportunity::Entity::insert(model).exec_with_returning(conn).await?)?;
    let amount = to_fen(new.fields.amount);
    opportunity_stage_change::Entity::insert(stage_change(
        tenant,
        id.uuid(),
        None,
        stage.id.uuid(),
        author,
        amount,
        now,
    ))
    .exec(conn)
    .await?;
    let changes = ChangeSet::new()
        .diff(&serde_json::json!({}), &created.fields)
        .field("customerId", (), new.customer_id)
        .field("pipelineId", (), pipeline.id)
        .field("stageId", (), stage.id)
        .field("ownerId", (), new.owner_id)
        .field("campaignId", None::<Uuid>, new.campaign_id);
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    Ok(created)
}

/// Edits the fields and, optionally, the owner (the caller checks the transfer right).
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OpportunityScope,
    id: Uuid,
    expected_version: i32,
    edit: impl FnOnce(&Opportunity) -> Result<(OpportunityFields, Option<Option<UserId>>), Invalid>,
) -> StoreResult<Opportunity> {
    let tenant = author.tenant_id;
    let before = repo::current::<Opportunities, _>(conn, tenant, scope, id, expected_version).await?;
    if before.deleted_at.is_some() {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "restore the opportunity before editing it"));
    }
    let (fields, owner) = edit(&before)?;
    if fields.amount != before.fields.amount && has_lines(conn, tenant, id).await? {
        return Err(StoreError::rejected(
            "amount",
            ErrorCode::IllegalState,
            "the deal's amount is the sum of its lines",
        ));
    }
    let mut changes = ChangeSet::new().diff(&before.fields, &fields);
    let mut model = field_model(&fields);
    if let Some(owner) = owner.filter(|o| *o != before.owner_id) {
        if let Some(owner) = owner {
            check_owner(conn, tenant, owner).await?;
        }
        changes = changes.field("ownerId", before.owner_id, owner);
        model.owner_id = Set(owner.map(UserId::uuid));
    }
    if changes.is_empty() {
        return Ok(before);
    }
    let after = repo::write_versioned::<Opportunities, _>(
        conn,
        tenant,
        id,
        expected_version,
        opportunity::Entity::update_many().set(model),
    )
    .await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Whether the deal has product lines (then its amount is theirs).
async fn has_lines<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<bool> {
    use sea_orm::PaginatorTrait;
    let n = crate::entity::document_line::Entity::find()
        .filter(crate::entity::document_line::Column::TenantId.eq(tenant.uuid()))
        .filter(crate::entity::document_line::Column::OpportunityId.eq(id))
        .count(conn)
        .await?;
    Ok(n > 0)
}

/// Moves an opportunity to another stage of its pipeline: won and lost close it (lost
/// with a reason), an open stage reopens it. The stage it entered is recorded with how
/// long it sat in the one it left.
pub async fn move_stage<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OpportunityScope,
    id: Uuid,
    expected_version: i32,
    to: StageId,
    reason: Option<&str>,
) -> StoreResult<Opportunity> {
    let tenant = author.tenant_id;
    let before = repo::current::<Opportunities, _>(conn, tenant, scope, id, expected_version).await?;
    if before.deleted_at.is_some() {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "restore the opportunity before moving it"));
    }
    let mut stages =
        stages_of(conn, tenant, &[before.pipeline_id.uuid()]).await?.remove(&before.pipeline_id).unwrap_or_default();
    let from_stage = stages.iter().find(|s| s.id == before.stage_id).cloned().ok_or(StoreError::NotFound)?;
    let target = stages.iter().position(|s| s.id == to).ok_or_else(|| {
        StoreError::rejected("stageId", ErrorCode::NotFound, "no such stage in the opportunity's pipeline")
    })?;
    let to_stage = stages.swap_remove(target);
    let moved = check_move(&from_stage, &to_stage, before.reached_position, reason)?;
    let now = Utc::now();
    let model = opportunity::ActiveModel {
        stage_id: Set(to_stage.id.uuid()),
        status: Set(moved.status.as_str().to_owned()),
        reached_position: Set(moved.reached_position),
        stage_entered_at: Set(now),
        closed_at: Set((moved.status != StageKind::Open).then_some(now)),
        close_reason: Set(moved.close_reason.clone()),
        forecast_category: Set(guanxi_domain::sales::forecast::category_after_move(
            before.status,
            moved.status,
            before.forecast_category,
        )
        .as_str()
        .to_owned()),
        ..Default::default()
    };
    let after = repo::write_versioned::<Opportunities, _>(
        conn,
        tenant,
        id,
        expected_version,
        opportunity::Entity::update_many().set(model),
    )
    .await?;
    let seconds = Ord::max((now - before.stage_entered_at).num_seconds(), 0);
    opportunity_stage_change::Entity::insert(stage_change(
        tenant,
        id,
        Some((from_stage.id.uuid(), seconds)),
        to_stage.id.uuid(),
        author,
        to_fen(before.fields.amount),
        now,
    ))
    .exec(conn)
    .await?;
    let changes = ChangeSet::new()
        .field("stageId", before.stage_id, to_stage.id)
        .field("status", before.status.as_str(), moved.status.as_str())
        .field("closeReason", &before.close_reason, &moved.close_reason);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Moves an opportunity to the recycle bin.
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OpportunityScope,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<Opportunity> {
    repo::delete::<Opportunities, _>(conn, author, scope, id, expected_version).await
}

/// Brings an opportunity back from the recycle bin.
pub async fn restore<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OpportunityScope,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<Opportunity> {
    repo::restore::<Opportunities, _>(conn, author, scope, id, expected_version).await
}

/// The work log's deal figures for `users` in `[from, to)`, per period (keyed by the
/// period's first day, see `dialect::period_start_sql`): deals they own created in the
/// window, and deals they own won in it with the amount won. Two grouped reads through the
/// caller's scopes.
#[allow(clippy::type_complexity)]
pub async fn work_log<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OpportunityScope,
    users: &[Uuid],
    (from, to): (chrono::DateTime<Utc>, chrono::DateTime<Utc>),
    granularity: guanxi_domain::activity::field::Granularity,
) -> StoreResult<(Vec<(String, i64)>, Vec<(String, i64, Option<i64>)>)> {
    let backend = conn.get_database_backend();
    let owned = OpportunityFilter {
        owner_id: Some(IdFilter { any_of: Some(users.to_vec()), ..Default::default() }),
        ..Default::default()
    };
    let created_period = crate::dialect::period_start_sql(backend, granularity, r#""opportunities"."created_at""#);
    let created = Opportunities::matching(backend, tenant, scope, &owned)
        .select_only()
        .column_as(Expr::cust(created_period.clone()), "period")
        .column_as(Expr::col((opportunity::Entity, opportunity::Column::Id)).count(), "n")
        .filter(opportunity::Column::CreatedAt.gte(from))
        .filter(opportunity::Column::CreatedAt.lt(to))
        .group_by(Expr::cust(created_period))
        .into_tuple()
        .all(conn)
        .await?;
    let closed_period = crate::dialect::period_start_sql(backend, granularity, r#""opportunities"."closed_at""#);
    let won = Opportunities::matching(backend, tenant, scope, &owned)
        .select_only()
        .column_as(Expr::cust(closed_period.clone()), "period")
        .column_as(Expr::col((opportunity::Entity, opportunity::Column::Id)).count(), "n")
        .column_as(Expr::cust(r#"CAST(SUM("opportunities"."amount_fen") AS BIGINT)"#), "fen")
        .filter(opportunity::Column::Status.eq(StageKind::Won.as_str()))
        .filter(opportunity::Column::ClosedAt.gte(from))
        .filter(opportunity::Column::ClosedAt.lt(to))
        .group_by(Expr::cust(closed_period))
        .into_tuple()
        .all(conn)
        .await?;
    Ok((created, won))
}
