//! Campaign members: customers and leads a campaign targets. A member is seen when the
//! caller sees the customer (the `CUSTOMER` scope, shares included) or the lead (the `LEAD`
//! scope): lists, counts and writes all go through [`Members::visible`]. Customers join in
//! bulk by the customer list's own filter, as one `INSERT … SELECT`. Each join, leave or
//! response is a change event on the member's own record, not on the campaign, so the
//! campaign's history (which every reader of campaigns sees) counts nobody out of scope.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{CampaignId, TenantId, UserId};
use guanxi_domain::marketing::campaign::{Campaign, MemberKind};
use guanxi_domain::platform::access::{CustomerRule, ScopeRule};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Select,
};
use uuid::Uuid;

use super::campaign::check_takes_members;
use crate::customers::customer::Customers;
use crate::customers::customer_search::CustomerFilter;
use crate::decode::Cell;
use crate::entity::{campaign_member, customer, lead};
use crate::error::{StoreError, StoreResult};
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Listed, Scoped};

/// The most members one call names by id.
pub const MAX_IDS: usize = 1_000;

/// A member as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub campaign_id: CampaignId,
    pub member_id: Uuid,
    pub kind: MemberKind,
    pub added_at: DateTime<Utc>,
    pub added_by: Option<UserId>,
    pub responded_at: Option<DateTime<Utc>>,
}

fn to_domain(m: campaign_member::Model) -> StoreResult<Member> {
    let kind = Cell::of("campaign_members", m.member_id, "member_kind").text(&m.member_kind, MemberKind::parse)?;
    Ok(Member {
        campaign_id: CampaignId::from_uuid(m.campaign_id),
        member_id: m.member_id,
        kind,
        added_at: m.added_at,
        added_by: m.added_by.map(UserId::from_uuid),
        responded_at: m.responded_at,
    })
}

/// What the caller sees of members: customers through the `CUSTOMER` scope, leads through
/// the `LEAD` scope (none of a kind without its read permission).
#[derive(Clone, Copy, Debug)]
pub struct MemberScope {
    pub customers: Option<CustomerRule>,
    pub leads: Option<ScopeRule>,
}

/// The live lead `id` is one `rule` admits.
fn visible_lead(backend: DbBackend, tenant: TenantId, rule: ScopeRule, id: SimpleExpr) -> SimpleExpr {
    let vl = Alias::new("vl");
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from_as(lead::Entity, vl.clone())
            .and_where(Expr::col((vl.clone(), lead::Column::TenantId)).eq(tenant.uuid()))
            .and_where(Expr::col((vl.clone(), lead::Column::Id)).eq(id))
            .and_where(Expr::col((vl.clone(), lead::Column::DeletedAt)).is_null())
            .cond_where(crate::scope::owner_condition(backend, tenant, rule, (vl, lead::Column::OwnerId)))
            .to_owned(),
    )
}

/// Members, each seen through its customer's or lead's scope.
pub struct Members;

impl Scoped for Members {
    type Entity = campaign_member::Entity;
    type Scope = MemberScope;
    type Record = Member;
    const ID: campaign_member::Column = campaign_member::Column::MemberId;
    const DELETED_AT: Option<campaign_member::Column> = None;

    fn visible(backend: DbBackend, tenant: TenantId, scope: MemberScope) -> Select<campaign_member::Entity> {
        use campaign_member::Column as C;
        let member = (campaign_member::Entity, C::MemberId);
        // Nothing, unless a kind the caller reads adds its members.
        let mut any = Condition::any().add(Expr::val(1).eq(0));
        if let Some(customers) = scope.customers {
            any = any.add(
                Condition::all()
                    .add(C::MemberKind.eq(MemberKind::Customer.as_str()))
                    .add(crate::scope::visible_customer(backend, tenant, customers, member)),
            );
        }
        if let Some(leads) = scope.leads {
            any = any.add(Condition::all().add(C::MemberKind.eq(MemberKind::Lead.as_str())).add(visible_lead(
                backend,
                tenant,
                leads,
                Expr::col(member),
            )));
        }
        campaign_member::Entity::find().filter(C::TenantId.eq(tenant.uuid())).filter(any)
    }

    fn to_domain(model: campaign_member::Model) -> StoreResult<Member> {
        to_domain(model)
    }
}

/// Which members a list asks for.
#[derive(Clone, Debug)]
pub struct MemberFilter {
    pub campaign_id: Uuid,
    pub kind: Option<MemberKind>,
    pub responded: Option<bool>,
}

impl Listed for Members {
    type Filter = MemberFilter;
    type Order = Direction;

    fn matching(backend: DbBackend, tenant: TenantId, scope: MemberScope, f: &MemberFilter) -> Select<Self::Entity> {
        use campaign_member::Column as C;
        let mut select = Self::visible(backend, tenant, scope).filter(C::CampaignId.eq(f.campaign_id));
        if let Some(kind) = f.kind {
            select = select.filter(C::MemberKind.eq(kind.as_str()));
        }
        match f.responded {
            Some(true) => select.filter(C::RespondedAt.is_not_null()),
            Some(false) => select.filter(C::RespondedAt.is_null()),
            None => select,
        }
    }

    fn sort_key(direction: Direction) -> SortKey<campaign_member::Entity> {
        SortKey {
            name: "ADDED_AT",
            column: campaign_member::Column::AddedAt,
            direction,
            value: |m: &campaign_member::Model| CursorValue::Time(m.added_at),
        }
    }

    fn id_of(model: &campaign_member::Model) -> Uuid {
        model.member_id
    }
}

repo::listed!(Members);

/// How many visible members of each kind, and how many responded, per campaign.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemberCounts {
    pub customers: i64,
    pub leads: i64,
    pub responded: i64,
}

/// The visible members of `campaigns`, counted (one grouped statement).
pub async fn counts<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: MemberScope,
    campaigns: &[Uuid],
) -> StoreResult<HashMap<Uuid, MemberCounts>> {
    use campaign_member::Column as Col;
    let rows: Vec<(Uuid, String, i64, i64)> = Members::visible(conn.get_database_backend(), tenant, scope)
        .select_only()
        .column(Col::CampaignId)
        .column(Col::MemberKind)
        .column_as(Col::MemberId.count(), "n")
        .column_as(Col::RespondedAt.count(), "responded")
        .filter(Col::CampaignId.is_in(campaigns.iter().copied()))
        .group_by(Col::CampaignId)
        .group_by(Col::MemberKind)
        .into_tuple()
        .all(conn)
        .await?;
    let mut out: HashMap<Uuid, MemberCounts> = HashMap::new();
    for (campaign, kind, n, responded) in rows {
        let c = out.entry(campaign).or_default();
        match MemberKind::parse(&kind) {
            Some(MemberKind::Customer) => c.customers += n,
            Some(MemberKind::Lead) => c.leads += n,
            None => {}
        }
        c.responded += responded;
    }
    Ok(out)
}

/// `INSERT INTO campaign_members … SELECT` the `ids` of `select` (one column, the member's
/// id), skipping those already members; the ids that joined.
async fn insert_selected<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    campaign: Uuid,
    kind: MemberKind,
    ids: sea_orm::sea_query::SelectStatement,
) -> StoreResult<Vec<Uuid>> {
    use campaign_member::Column as Col;
    let mut select = Query::select();
    select
        .expr(Expr::val(author.tenant_id.uuid()))
        .expr(Expr::val(campaign))
        .column(Alias::new("member_id"))
        .expr(Expr::val(kind.as_str()))
        .expr(Expr::val(Utc::now()))
        .expr(Expr::val(author.user_id))
        .from_subquery(ids, Alias::new("picked"))
        // SQLite reads `ON CONFLICT` after a bare `FROM` as a join's `ON`: a WHERE ends the FROM.
        .and_where(Expr::val(1).eq(1));
    let insert = Query::insert()
        .into_table(campaign_member::Entity)
        .columns([Col::TenantId, Col::CampaignId, Col::MemberId, Col::MemberKind, Col::AddedAt, Col::AddedBy])
        .select_from(select)
        .map_err(|e| StoreError::Database(sea_orm::DbErr::Custom(e.to_string())))?
        .on_conflict(OnConflict::columns([Col::TenantId, Col::CampaignId, Col::MemberId]).do_nothing().to_owned())
        .returning_col(Col::MemberId)
        .to_owned();
    let rows = conn.query_all(&insert).await?;
    Ok(rows.iter().map(|r| r.try_get::<Uuid>("", "member_id")).collect::<Result<_, _>>()?)
}

/// The change event of each member a write touched, on the member's own record (a customer
/// or a lead), so the history of what a campaign did to them is seen through their scope.
async fn record<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    kind: MemberKind,
    members: &[Uuid],
    change: impl Fn() -> ChangeSet,
) -> StoreResult<u64> {
    let entity = match kind {
        MemberKind::Customer => EntityKind::Customer,
        MemberKind::Lead => EntityKind::Lead,
    };
    let events = members.iter().map(|id| (*id, Operation::Update, change())).collect();
    audit::record_many(conn, author, entity, events).await?;
    Ok(members.len() as u64)
}

fn joined(campaign: Uuid) -> impl Fn() -> ChangeSet {
    move || ChangeSet::new().field("campaignJoined", None::<()>, campaign)
}

/// Adds every live customer the caller sees that `filter` matches (the customer list's
/// filter) to a campaign that has not ended, in one statement; those already members stay
/// as they were. Returns how many joined.
pub async fn add_customers_matching<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    campaign: &Campaign,
    rule: CustomerRule,
    filter: &CustomerFilter,
) -> StoreResult<u64> {
    check_takes_members(campaign)?;
    let filter = CustomerFilter { deleted: None, ..filter.clone() };
    let ids = Customers::matching(conn.get_database_backend(), author.tenant_id, rule, &filter)
        .select_only()
        .column_as(customer::Column::Id, "member_id")
        .into_query();
    let added = insert_selected(conn, author, campaign.id.uuid(), MemberKind::Customer, ids).await?;
    record(conn, author, MemberKind::Customer, &added, joined(campaign.id.uuid())).await
}

/// Checks `ids` (the input's `field`) are at most [`MAX_IDS`], each once.
fn check_ids(field: &str, ids: &[Uuid]) -> Result<(), Invalid> {
    let mut seen = std::collections::HashSet::new();
    if ids.is_empty() || ids.len() > MAX_IDS || !ids.iter().all(|id| seen.insert(*id)) {
        return Err(Invalid::one(field, ErrorCode::Invalid, "1 to 1,000 members, each once"));
    }
    Ok(())
}

/// The visible, live customers or leads among `ids` (the input's `field`), as a
/// one-column select.
fn visible_among(
    backend: DbBackend,
    tenant: TenantId,
    scope: MemberScope,
    (field, kind): (&str, MemberKind),
    ids: &[Uuid],
) -> StoreResult<sea_orm::sea_query::SelectStatement> {
    let forbidden = |what| StoreError::rejected(field, ErrorCode::Forbidden, format!("you do not read {what}"));
    Ok(match (kind, scope.customers, scope.leads) {
        (MemberKind::Customer, Some(customers), _) => Customers::live(backend, tenant, customers)
            .select_only()
            .column_as(customer::Column::Id, "member_id")
            .filter(customer::Column::Id.is_in(ids.iter().copied()))
            .into_query(),
        (MemberKind::Lead, _, Some(rule)) => crate::leads::lead::Leads::live(backend, tenant, rule)
            .select_only()
            .column_as(lead::Column::Id, "member_id")
            .filter(lead::Column::Id.is_in(ids.iter().copied()))
            .into_query(),
        (MemberKind::Customer, None, _) => return Err(forbidden("customers")),
        (MemberKind::Lead, _, None) => return Err(forbidden("leads")),
    })
}

/// Adds customers or leads by id (the input's `field`); every one must be live and
/// visible to the caller, or nothing is added. Returns how many joined (those already
/// members stay).
pub async fn add<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    campaign: &Campaign,
    scope: MemberScope,
    (field, kind, ids): (&str, MemberKind, &[Uuid]),
) -> StoreResult<u64> {
    check_takes_members(campaign)?;
    check_ids(field, ids)?;
    let backend = conn.get_database_backend();
    let visible = || visible_among(backend, author.tenant_id, scope, (field, kind), ids);
    let found: Vec<Uuid> = conn
        .query_all(&visible()?)
        .await?
        .iter()
        .map(|row| row.try_get::<Uuid>("", "member_id"))
        .collect::<Result<_, _>>()?;
    if let Some(i) = ids.iter().position(|id| !found.contains(id)) {
        return Err(StoreError::rejected(&format!("{field}.{i}"), ErrorCode::NotFound, "no such member"));
    }
    let added = insert_selected(conn, author, campaign.id.uuid(), kind, visible()?).await?;
    record(conn, author, kind, &added, joined(campaign.id.uuid())).await
}

/// Takes visible members out of a campaign; returns how many left.
pub async fn remove<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    campaign: Uuid,
    scope: MemberScope,
    ids: &[Uuid],
) -> StoreResult<u64> {
    use campaign_member::Column as Col;
    check_ids("memberIds", ids)?;
    let tenant = author.tenant_id;
    let found: Vec<(Uuid, String)> = Members::visible(conn.get_database_backend(), tenant, scope)
        .select_only()
        .column(Col::MemberId)
        .column(Col::MemberKind)
        .filter(Col::CampaignId.eq(campaign))
        .filter(Col::MemberId.is_in(ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    campaign_member::Entity::delete_many()
        .filter(Col::TenantId.eq(tenant.uuid()))
        .filter(Col::CampaignId.eq(campaign))
        .filter(Col::MemberId.is_in(found.iter().map(|(id, _)| *id)))
        .exec(conn)
        .await?;
    let left = move || ChangeSet::new().field("campaignLeft", None::<()>, campaign);
    let mut removed = 0;
    for kind in MemberKind::ALL {
        let of_kind: Vec<Uuid> = found.iter().filter(|(_, k)| k == kind.as_str()).map(|(id, _)| *id).collect();
        removed += record(conn, author, *kind, &of_kind, left).await?;
    }
    Ok(removed)
}

/// Marks a visible member as having responded (报名, 到场, 回复), or not.
pub async fn set_responded<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    campaign: Uuid,
    scope: MemberScope,
    (member, responded): (Uuid, bool),
) -> StoreResult<Member> {
    use campaign_member::Column as Col;
    let tenant = author.tenant_id;
    let backend = conn.get_database_backend();
    let before = Members::visible(backend, tenant, scope)
        .filter(Col::CampaignId.eq(campaign))
        .filter(Col::MemberId.eq(member))
        .one(conn)
        .await?
        .ok_or_else(|| StoreError::rejected("memberId", ErrorCode::NotFound, "no such member"))?;
    let before = to_domain(before)?;
    if before.responded_at.is_some() == responded {
        return Ok(before);
    }
    let at = responded.then(Utc::now);
    campaign_member::Entity::update_many()
        .col_expr(Col::RespondedAt, Expr::value(at))
        .filter(Col::TenantId.eq(tenant.uuid()))
        .filter(Col::CampaignId.eq(campaign))
        .filter(Col::MemberId.eq(member))
        .exec(conn)
        .await?;
    let (was, kind) = (before.responded_at, before.kind);
    let change = move || ChangeSet::new().field("campaignId", None::<()>, campaign).field("respondedAt", was, at);
    record(conn, author, kind, &[member], change).await?;
    Ok(Member { responded_at: at, ..before })
}

/// The ids of `tenant`'s live campaigns (only those that take members, when `open_only`).
fn live_campaigns(tenant: TenantId, open_only: bool) -> sea_orm::sea_query::SelectStatement {
    use crate::entity::campaign as c;
    let mut campaigns = Query::select();
    campaigns
        .column(c::Column::Id)
        .from(c::Entity)
        .and_where(Expr::col(c::Column::TenantId).eq(tenant.uuid()))
        .and_where(Expr::col(c::Column::DeletedAt).is_null());
    if open_only {
        let open = guanxi_domain::marketing::campaign::CampaignStatus::ALL.iter().filter(|s| s.takes_members());
        campaigns.and_where(Expr::col(c::Column::Status).is_in(open.map(|s| s.as_str())));
    }
    campaigns
}

/// The campaign a converted lead's deal came from: the lead's most recent live campaign.
pub async fn latest_campaign_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    member: Uuid,
) -> StoreResult<Option<Uuid>> {
    use sea_orm::QueryOrder;
    let found: Option<Uuid> = campaign_member::Entity::find()
        .select_only()
        .column(campaign_member::Column::CampaignId)
        .filter(campaign_member::Column::TenantId.eq(tenant.uuid()))
        .filter(campaign_member::Column::MemberId.eq(member))
        .filter(campaign_member::Column::CampaignId.in_subquery(live_campaigns(tenant, false)))
        .order_by_desc(campaign_member::Column::AddedAt)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(found)
}

/// A converted lead's customer joins every live campaign the lead was in that still takes
/// members (as of the lead's membership, responses kept), each join recorded on the
/// customer.
pub async fn carry_over<C: ConnectionTrait>(conn: &C, author: &Author, lead: Uuid, customer: Uuid) -> StoreResult<u64> {
    copy_memberships(conn, author, (lead, customer), true).await
}

/// A merge's survivor joins every campaign the merged-away customer was in (the tombstone
/// keeps its own rows, which no scope shows, for the undo), each join recorded on it.
pub async fn merge_into<C: ConnectionTrait>(conn: &C, author: &Author, gone: Uuid, survivor: Uuid) -> StoreResult<u64> {
    copy_memberships(conn, author, (gone, survivor), false).await
}

/// Copies `from`'s memberships (of campaigns that take members only, when `open_only`)
/// to the customer `to`, in one statement; those `to` has stay.
async fn copy_memberships<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (from, customer): (Uuid, Uuid),
    open_only: bool,
) -> StoreResult<u64> {
    use campaign_member::Column as Col;
    let tenant = author.tenant_id;
    let m = Alias::new("m");
    let select = Query::select()
        .column((m.clone(), Col::TenantId))
        .column((m.clone(), Col::CampaignId))
        .expr(Expr::val(customer))
        .expr(Expr::val(MemberKind::Customer.as_str()))
        .column((m.clone(), Col::AddedAt))
        .column((m.clone(), Col::AddedBy))
        .column((m.clone(), Col::RespondedAt))
        .from_as(campaign_member::Entity, m.clone())
        .and_where(Expr::col((m.clone(), Col::TenantId)).eq(tenant.uuid()))
        .and_where(Expr::col((m.clone(), Col::MemberId)).eq(from))
        .and_where(Expr::col((m, Col::CampaignId)).in_subquery(live_campaigns(tenant, open_only)))
        .to_owned();
    let insert = Query::insert()
        .into_table(campaign_member::Entity)
        .columns([
            Col::TenantId,
            Col::CampaignId,
            Col::MemberId,
            Col::MemberKind,
            Col::AddedAt,
            Col::AddedBy,
            Col::RespondedAt,
        ])
        .select_from(select)
        .map_err(|e| StoreError::Database(sea_orm::DbErr::Custom(e.to_string())))?
        .on_conflict(OnConflict::columns([Col::TenantId, Col::CampaignId, Col::MemberId]).do_nothing().to_owned())
        .returning_col(Col::CampaignId)
        .to_owned();
    let joined: Vec<Uuid> = conn
        .query_all(&insert)
        .await?
        .iter()
        .map(|r| r.try_get::<Uuid>("", "campaign_id"))
        .collect::<Result<_, _>>()?;
    let events = joined
        .iter()
        .map(|c| (customer, Operation::Update, ChangeSet::new().field("campaignJoined", None::<()>, *c)))
        .collect();
    audit::record_many(conn, author, EntityKind::Customer, events).await?;
    Ok(joined.len() as u64)
}
