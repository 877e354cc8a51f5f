//! Campaigns as rows: the tenant's, for whoever reads campaigns; written with a version
//! check and a change event; a deal names its campaign as its source, and a campaign's
//! return adds up those deals through the caller's `OPPORTUNITY` scope.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use guanxi_domain::entity::{EntityKind, OwnerAndCustomer};
use guanxi_domain::ids::{CampaignId, TenantId, UserId};
use guanxi_domain::marketing::campaign::{Campaign, CampaignFields, CampaignKind, CampaignStatus, Return};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::sales::opportunity::{Opportunity, StageKind, from_fen, to_fen};
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Select};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{campaign, opportunity};
use crate::error::{StoreError, StoreResult};
use crate::filter::TextFilter;
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Scoped};
use crate::sales::opportunity::Opportunities;

pub const ENTITY: EntityKind = EntityKind::Campaign;

pub fn to_domain(m: campaign::Model) -> StoreResult<Campaign> {
    let cell = |column| Cell::of("campaigns", m.id, column);
    Ok(Campaign {
        id: CampaignId::from_uuid(m.id),
        tenant_id: TenantId::from_uuid(m.tenant_id),
        fields: CampaignFields {
            name: m.name,
            kind: cell("kind").text(&m.kind, CampaignKind::parse)?,
            status: cell("status").text(&m.status, CampaignStatus::parse)?,
            starts_on: m.starts_on,
            ends_on: m.ends_on,
            budget: from_fen(m.budget_fen),
            actual_cost: from_fen(m.actual_cost_fen),
            expected_revenue: m.expected_revenue_fen.map(from_fen),
            description: m.description,
        },
        owner_id: m.owner_id.map(UserId::from_uuid),
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Campaigns: the tenant's, for whoever reads campaigns.
pub struct Campaigns;

impl Scoped for Campaigns {
    type Entity = campaign::Entity;
    type Scope = ();
    type Record = Campaign;
    const ID: campaign::Column = campaign::Column::Id;
    const DELETED_AT: Option<campaign::Column> = Some(campaign::Column::DeletedAt);

    fn visible(_: DbBackend, tenant: TenantId, (): ()) -> Select<campaign::Entity> {
        campaign::Entity::find().filter(campaign::Column::TenantId.eq(tenant.uuid()))
    }

    fn to_domain(model: campaign::Model) -> StoreResult<Campaign> {
        to_domain(model)
    }
}

repo::versioned!(Campaigns, campaign);
repo::recyclable!(Campaigns, campaign, ENTITY);
repo::scoped_reads!(Campaigns);

/// Which campaigns a list asks for.
#[derive(Clone, Debug, Default)]
pub struct CampaignFilter {
    pub kinds: Option<Vec<CampaignKind>>,
    pub statuses: Option<Vec<CampaignStatus>>,
    /// Running on this day (started, not ended; open dates count as running).
    pub running_on: Option<NaiveDate>,
    pub owner_ids: Option<Vec<Uuid>>,
    /// Part of the name.
    pub search: Option<String>,
    pub deleted: Option<bool>,
}

impl repo::Listed for Campaigns {
    type Filter = CampaignFilter;
    type Order = Direction;

    fn matching(backend: DbBackend, tenant: TenantId, (): (), filter: &CampaignFilter) -> Select<campaign::Entity> {
        use campaign::Column as C;
        let mut all = Condition::all();
        if let Some(kinds) = &filter.kinds {
            all = all.add(C::Kind.is_in(kinds.iter().map(|k| k.as_str())));
        }
        if let Some(statuses) = &filter.statuses {
            all = all.add(C::Status.is_in(statuses.iter().map(|s| s.as_str())));
        }
        if let Some(day) = filter.running_on {
            all = all
                .add(Condition::any().add(C::StartsOn.is_null()).add(C::StartsOn.lte(day)))
                .add(Condition::any().add(C::EndsOn.is_null()).add(C::EndsOn.gte(day)));
        }
        if let Some(owners) = &filter.owner_ids {
            all = all.add(C::OwnerId.is_in(owners.iter().copied()));
        }
        if let Some(text) = filter.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            all = all.add(TextFilter { contains: Some(text.to_owned()), ..TextFilter::default() }.condition(C::Name));
        }
        repo::in_bin::<Self>(backend, tenant, (), filter.deleted).filter(all)
    }

    fn sort_key(direction: Direction) -> SortKey<campaign::Entity> {
        SortKey {
            name: "CREATED_AT",
            column: campaign::Column::CreatedAt,
            direction,
            value: |m: &campaign::Model| CursorValue::Time(m.created_at),
        }
    }

    fn id_of(model: &campaign::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Campaigns);

fn fields_json(fields: &CampaignFields) -> serde_json::Value {
    serde_json::to_value(fields).unwrap_or_default()
}

/// Checks `owner` is an active user of the tenant.
async fn check_owner<C: ConnectionTrait>(conn: &C, tenant: TenantId, owner: Option<UserId>) -> StoreResult<()> {
    match owner {
        Some(owner) => crate::sales::opportunity::check_owner(conn, tenant, owner).await,
        None => Ok(()),
    }
}

/// Records a campaign.
pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    fields: CampaignFields,
    owner: Option<UserId>,
) -> StoreResult<Campaign> {
    let tenant = author.tenant_id;
    let fields = fields.check()?;
    check_owner(conn, tenant, owner).await?;
    let (id, now) = (CampaignId::new().uuid(), Utc::now());
    let row = campaign::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id),
        name: Set(fields.name.clone()),
        kind: Set(fields.kind.as_str().to_owned()),
        status: Set(fields.status.as_str().to_owned()),
        starts_on: Set(fields.starts_on),
        ends_on: Set(fields.ends_on),
        budget_fen: Set(to_fen(fields.budget)),
        actual_cost_fen: Set(to_fen(fields.actual_cost)),
        expected_revenue_fen: Set(fields.expected_revenue.map(to_fen)),
        description: Set(fields.description.clone()),
        owner_id: Set(owner.map(UserId::uuid)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    campaign::Entity::insert(row).exec_without_returning(conn).await?;
    let changes = ChangeSet::new().diff(&serde_json::json!({}), &fields_json(&fields)).field(
        "ownerId",
        None::<Uuid>,
        owner.map(UserId::uuid),
    );
    audit::record(conn, author, ENTITY, id, Operation::Create, &changes).await?;
    repo::any_by_id::<Campaigns, C>(conn, tenant, id).await?.ok_or(StoreError::NotFound)
}

/// Rewrites a live campaign's fields, and its owner when one is given, at the version the
/// writer read.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, expected_version): (Uuid, i32),
    fields: CampaignFields,
    owner: Option<UserId>,
) -> StoreResult<Campaign> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Campaigns, C>(conn, tenant, (), id, expected_version).await?;
    let owner = owner.or(before.owner_id);
    let fields = fields.check()?;
    check_owner(conn, tenant, owner).await?;
    let changes = ChangeSet::new().diff(&fields_json(&before.fields), &fields_json(&fields)).field(
        "ownerId",
        before.owner_id.map(UserId::uuid),
        owner.map(UserId::uuid),
    );
    if changes.is_empty() {
        return Ok(before);
    }
    use campaign::Column as Col;
    let update = repo::set_columns::<campaign::Entity>(vec![
        (Col::Name, Expr::value(fields.name.clone())),
        (Col::Kind, Expr::value(fields.kind.as_str())),
        (Col::Status, Expr::value(fields.status.as_str())),
        (Col::StartsOn, Expr::value(fields.starts_on)),
        (Col::EndsOn, Expr::value(fields.ends_on)),
        (Col::BudgetFen, Expr::value(to_fen(fields.budget))),
        (Col::ActualCostFen, Expr::value(to_fen(fields.actual_cost))),
        (Col::ExpectedRevenueFen, Expr::value(fields.expected_revenue.map(to_fen))),
        (Col::Description, Expr::value(fields.description.clone())),
        (Col::OwnerId, Expr::value(owner.map(UserId::uuid))),
    ]);
    let after = repo::write_versioned::<Campaigns, C>(conn, tenant, id, expected_version, update).await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Moves a campaign to the recycle bin; its deals keep naming it.
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, version): (Uuid, i32),
) -> StoreResult<Campaign> {
    repo::delete::<Campaigns, C>(conn, author, (), id, version).await
}

/// Brings a campaign back from the recycle bin.
pub async fn restore<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, version): (Uuid, i32),
) -> StoreResult<Campaign> {
    repo::restore::<Campaigns, C>(conn, author, (), id, version).await
}

/// The live campaign `id`, for a write that links to it; none is `NOT_FOUND` on `field`.
pub async fn live<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid, field: &str) -> StoreResult<Campaign> {
    match repo::find::<Campaigns, C>(conn, tenant, (), id).await? {
        Some(c) if c.deleted_at.is_none() => Ok(c),
        _ => Err(StoreError::rejected(field, ErrorCode::NotFound, "no such campaign")),
    }
}

/// Names (or clears) the campaign a deal came from, at the version the writer read.
pub async fn set_deal_campaign<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OwnerAndCustomer,
    (id, expected_version): (Uuid, i32),
    campaign: Option<Uuid>,
) -> StoreResult<Opportunity> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Opportunities, C>(conn, tenant, scope, id, expected_version).await?;
    if let Some(campaign) = campaign {
        live(conn, tenant, campaign, "campaignId").await?;
    }
    if before.campaign_id.map(CampaignId::uuid) == campaign {
        return Ok(before);
    }
    let update =
        repo::set_columns::<opportunity::Entity>(vec![(opportunity::Column::CampaignId, Expr::value(campaign))]);
    let after = repo::write_versioned::<Opportunities, C>(conn, tenant, id, expected_version, update).await?;
    let changes = ChangeSet::new().field("campaignId", before.campaign_id.map(CampaignId::uuid), campaign);
    audit::record(conn, author, EntityKind::Opportunity, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// The deals of `campaigns` the caller sees, added up per campaign and outcome: the won,
/// open and lost counts and amounts of each campaign's [`Return`] (cost and budget are the
/// campaign's own, filled in by the caller).
pub async fn returns<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OwnerAndCustomer,
    campaigns: &[Uuid],
) -> StoreResult<HashMap<Uuid, Return>> {
    let rows: Vec<(Option<Uuid>, String, i64, Option<i64>)> =
        Opportunities::live(conn.get_database_backend(), tenant, scope)
            .select_only()
            .column(opportunity::Column::CampaignId)
            .column(opportunity::Column::Status)
            .column_as(opportunity::Column::Id.count(), "n")
            // PostgreSQL sums a BIGINT as NUMERIC.
            .column_as(Expr::col(opportunity::Column::AmountFen).sum().cast_as("BIGINT"), "fen")
            .filter(opportunity::Column::CampaignId.is_in(campaigns.iter().copied()))
            .group_by(opportunity::Column::CampaignId)
            .group_by(opportunity::Column::Status)
            .into_tuple()
            .all(conn)
            .await?;
    let mut out: HashMap<Uuid, Return> = HashMap::new();
    for (campaign, status, n, fen) in rows {
        let Some(campaign) = campaign else { continue };
        let r = out.entry(campaign).or_default();
        let amount = from_fen(fen.unwrap_or(0));
        match StageKind::parse(&status) {
            Some(StageKind::Won) => (r.won_deals, r.won_amount) = (n, amount),
            Some(StageKind::Lost) => r.lost_deals = n,
            _ => (r.open_deals, r.open_amount) = (r.open_deals + n, r.open_amount + amount),
        }
    }
    Ok(out)
}

/// A campaign's return from what [`returns`] found for it.
pub fn return_of(campaign: &Campaign, deals: Option<&Return>) -> Return {
    Return { cost: campaign.fields.actual_cost, budget: campaign.fields.budget, ..deals.cloned().unwrap_or_default() }
}

/// Checks a member may join `campaign` (one that has not ended).
pub fn check_takes_members(campaign: &Campaign) -> Result<(), Invalid> {
    if campaign.fields.status.takes_members() && campaign.deleted_at.is_none() {
        Ok(())
    } else {
        Err(Invalid::one("campaignId", ErrorCode::IllegalState, "members join a planned or active campaign"))
    }
}
