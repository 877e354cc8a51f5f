//! Leads as rows: seen through the `LEAD` scope on their owner, listed by keyset, written
//! with a version check and a change event, scored on every write that changes what the
//! score reads, and rescored by the job when the clock alone changes it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use guanxi_domain::activity::interaction::{Channel, InteractionFields};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{LeadId, TenantId, UserId};
use guanxi_domain::leads::lead::{Lead, LeadActivity, LeadFields, LeadSettings, LeadStatus, check_status};
use guanxi_domain::leads::scoring::{Activity, ScoreLine, Scored, score};
use guanxi_domain::platform::access::ScopeRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::sharing::assignment::{Arrival, AssignmentSubject};
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{lead, lead_activity};
use crate::error::{StoreError, StoreResult, on_unique};
use crate::filter::TextFilter;
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Scoped};

pub const ENTITY: EntityKind = EntityKind::Lead;

/// Leads rescored per statement by the job.
pub const RESCORE_BATCH: u64 = 500;

pub fn to_domain(m: lead::Model) -> StoreResult<Lead> {
    let cell = |column| Cell::of("leads", m.id, column);
    Ok(Lead {
        id: LeadId::from_uuid(m.id),
        tenant_id: TenantId::from_uuid(m.tenant_id),
        fields: LeadFields {
            name: m.name,
            company: m.company,
            phone: m.phone,
            email: m.email,
            wechat: m.wechat,
            source: m.source,
            campaign: m.campaign,
            industry: m.industry,
            region: m.region,
            notes: m.notes,
        },
        owner_id: m.owner_id.map(UserId::from_uuid),
        status: cell("status").text(&m.status, LeadStatus::parse)?,
        unqualified_reason: m.unqualified_reason,
        score: m.score,
        score_lines: cell("score_lines").json::<Vec<ScoreLine>>(m.score_lines)?,
        last_activity_at: m.last_activity_at,
        external_id: m.external_id,
        customer_id: m.customer_id.map(Into::into),
        contact_id: m.contact_id.map(Into::into),
        opportunity_id: m.opportunity_id.map(Into::into),
        converted_at: m.converted_at,
        pool: crate::sales::pool_move::entry(
            "leads",
            m.id,
            (m.pool_id, m.pool_entered_at),
            m.previous_owner_id,
            (m.pool_action.as_deref(), m.pool_reason.as_deref()),
        )?,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Leads, seen through the `LEAD` scope on their owner.
pub struct Leads;

impl Scoped for Leads {
    type Entity = lead::Entity;
    type Scope = ScopeRule;
    type Record = Lead;
    const ID: lead::Column = lead::Column::Id;
    const DELETED_AT: Option<lead::Column> = Some(lead::Column::DeletedAt);

    fn visible(backend: DbBackend, tenant: TenantId, rule: ScopeRule) -> Select<lead::Entity> {
        lead::Entity::find().filter(lead::Column::TenantId.eq(tenant.uuid())).filter(crate::scope::owner_condition(
            backend,
            tenant,
            rule,
            (lead::Entity, lead::Column::OwnerId),
        ))
    }

    fn to_domain(model: lead::Model) -> StoreResult<Lead> {
        to_domain(model)
    }
}

repo::versioned!(Leads, lead);
repo::recyclable!(Leads, lead, ENTITY);
repo::scoped_reads!(Leads);

/// Which leads a list asks for.
#[derive(Clone, Debug, Default)]
pub struct LeadFilter {
    pub status: Option<Vec<LeadStatus>>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub owner_ids: Option<Vec<Uuid>>,
    pub min_score: Option<i32>,
    /// Part of the name, the company or the phone number.
    pub search: Option<String>,
    pub deleted: Option<bool>,
    /// Open leads waiting in this pool (the caller checked membership).
    pub pool_id: Option<Uuid>,
    /// `search` leaves the phone out (a pool's members do not see phones before claiming).
    pub search_without_phone: bool,
}

/// How a list of leads is ordered.
#[derive(Clone, Copy, Debug)]
pub enum LeadOrder {
    CreatedAt(Direction),
    Score(Direction),
    /// When they entered their pool (pooled leads only).
    PoolEnteredAt(Direction),
}

impl repo::Listed for Leads {
    type Filter = LeadFilter;
    type Order = LeadOrder;

    fn matching(backend: DbBackend, tenant: TenantId, rule: ScopeRule, filter: &LeadFilter) -> Select<lead::Entity> {
        use lead::Column as C;
        let mut all = Condition::all();
        if let Some(status) = &filter.status {
            all = all.add(C::Status.is_in(status.iter().map(|s| s.as_str())));
        }
        if let Some(source) = &filter.source {
            all = all.add(C::Source.eq(source.clone()));
        }
        if let Some(campaign) = &filter.campaign {
            all = all.add(C::Campaign.eq(campaign.clone()));
        }
        if let Some(owners) = &filter.owner_ids {
            all = all.add(C::OwnerId.is_in(owners.iter().copied()));
        }
        if let Some(min) = filter.min_score {
            all = all.add(C::Score.gte(min));
        }
        if let Some(pool) = filter.pool_id {
            let open = LeadStatus::OPEN.iter().map(|s| s.as_str());
            all = all.add(C::PoolId.eq(pool)).add(C::OwnerId.is_null()).add(C::Status.is_in(open));
        }
        if let Some(text) = filter.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let contains = TextFilter { contains: Some(text.to_owned()), ..TextFilter::default() };
            let columns: &[C] =
                if filter.search_without_phone { &[C::Name, C::Company] } else { &[C::Name, C::Company, C::Phone] };
            let any = columns.iter().map(|c| contains.condition(*c));
            all = all.add(any.fold(Condition::any(), Condition::add));
        }
        repo::in_bin::<Self>(backend, tenant, rule, filter.deleted).filter(all)
    }

    fn sort_key(order: LeadOrder) -> SortKey<lead::Entity> {
        match order {
            LeadOrder::CreatedAt(direction) => SortKey {
                name: "CREATED_AT",
                column: lead::Column::CreatedAt,
                direction,
                value: |m: &lead::Model| CursorValue::Time(m.created_at),
            },
            LeadOrder::Score(direction) => SortKey {
                name: "SCORE",
                column: lead::Column::Score,
                direction,
                value: |m: &lead::Model| CursorValue::Int(i64::from(m.score)),
            },
            LeadOrder::PoolEnteredAt(direction) => SortKey {
                name: "POOL_ENTERED_AT",
                column: lead::Column::PoolEnteredAt,
                direction,
                value: |m: &lead::Model| CursorValue::Time(m.pool_entered_at.unwrap_or(m.created_at)),
            },
        }
    }

    fn id_of(model: &lead::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Leads);

/// A new lead: its fields and who owns it (nobody, or whoever the rules pick).
pub struct NewLead {
    pub fields: LeadFields,
    pub owner_id: Option<UserId>,
    /// The key an integrator knows it by, unique in the tenant.
    pub external_id: Option<String>,
    pub assign_by_rules: bool,
}

fn fields_json(fields: &LeadFields) -> serde_json::Value {
    serde_json::to_value(fields).unwrap_or_default()
}

/// Records a lead (NEW, scored), owned as asked or as the tenant's lead rules pick; an
/// assignment by rule is logged and gets its `ASSIGN` event naming the rule.
pub async fn create<C: ConnectionTrait>(conn: &C, author: &Author, new: NewLead) -> StoreResult<Lead> {
    let tenant = author.tenant_id;
    let (settings, _) = crate::leads::settings::get(conn, tenant).await?;
    let fields = new.fields.check(&settings)?;
    let external_id = guanxi_domain::customers::customer::optional_text("externalId", new.external_id.as_deref(), 100)
        .map_err(|e| Invalid(vec![e]))?;
    let mut owner = new.owner_id;
    if let Some(owner) = owner {
        crate::sales::opportunity::check_owner(conn, tenant, owner).await?;
    }
    let mut rule = None;
    if new.assign_by_rules && owner.is_none() {
        let arrival = Arrival {
            region: fields.region.clone(),
            industry: fields.industry.clone(),
            source: fields.source.clone(),
            level: None,
        };
        if let Some((picked, by)) =
            crate::sharing::assignment::pick_owner(conn, tenant, AssignmentSubject::Leads, &arrival).await?
        {
            owner = Some(picked);
            rule = Some(by);
        }
    }
    let now = Utc::now();
    let scored = score(
        &settings.rules,
        &fields,
        Activity { by_channel: &HashMap::new(), last_activity_at: None, created_at: now },
        now,
    );
    let id = LeadId::new().uuid();
    let row = lead::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id),
        name: Set(fields.name.clone()),
        company: Set(fields.company.clone()),
        phone: Set(fields.phone.clone()),
        email: Set(fields.email.clone()),
        wechat: Set(fields.wechat.clone()),
        source: Set(fields.source.clone()),
        campaign: Set(fields.campaign.clone()),
        industry: Set(fields.industry.clone()),
        region: Set(fields.region.clone()),
        notes: Set(fields.notes.clone()),
        owner_id: Set(owner.map(UserId::uuid)),
        status: Set(LeadStatus::New.as_str().to_owned()),
        unqualified_reason: Set(None),
        score: Set(scored.score),
        score_lines: Set(serde_json::to_value(&scored.lines).unwrap_or_default()),
        rescore_at: Set(scored.rescore_at),
        last_activity_at: Set(None),
        external_id: Set(external_id.clone()),
        customer_id: Set(None),
        contact_id: Set(None),
        opportunity_id: Set(None),
        converted_at: Set(None),
        created_by: Set(author.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        pool_id: Set(None),
        pool_entered_at: Set(None),
        pool_action: Set(None),
        pool_reason: Set(None),
        previous_owner_id: Set(None),
        owner_received_at: Set(owner.map(|_| now)),
    };
    lead::Entity::insert(row)
        .exec_without_returning(conn)
        .await
        .map_err(|e| on_unique(e, "externalId", "a lead with this external id exists already"))?;
    let changes = ChangeSet::new()
        .diff(&serde_json::json!({}), &fields_json(&fields))
        .field("ownerId", None::<Uuid>, owner.map(UserId::uuid))
        .field("externalId", None::<()>, &external_id)
        .field("score", None::<()>, scored.score);
    audit::record(conn, author, ENTITY, id, Operation::Create, &changes).await?;
    if let (Some(owner), Some(rule)) = (owner, rule) {
        crate::sharing::assignment::record_assignment(conn, author, (ENTITY, id), owner, &rule).await?;
    }
    repo::any_by_id::<Leads, C>(conn, tenant, id).await?.ok_or(StoreError::NotFound)
}

/// The live, unconverted lead the writer may see at the version they read.
async fn open_current<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: ScopeRule,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<Lead> {
    let lead = repo::live_current::<Leads, C>(conn, tenant, rule, id, expected_version).await?;
    if lead.status == LeadStatus::Converted {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "the lead is converted; work its customer"));
    }
    Ok(lead)
}

/// Rewrites a lead's fields (and rescores it).
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: ScopeRule,
    (id, expected_version): (Uuid, i32),
    fields: LeadFields,
) -> StoreResult<Lead> {
    let tenant = author.tenant_id;
    let before = open_current(conn, tenant, rule, id, expected_version).await?;
    let (settings, _) = crate::leads::settings::get(conn, tenant).await?;
    let fields = fields.check(&settings)?;
    let changes = ChangeSet::new().diff(&fields_json(&before.fields), &fields_json(&fields));
    if changes.is_empty() {
        return Ok(before);
    }
    let scored = rescored(conn, tenant, &settings, &before, &fields, before.last_activity_at).await?;
    use lead::Column as Col;
    let update = repo::set_columns::<lead::Entity>(vec![
        (Col::Name, Expr::value(fields.name.clone())),
        (Col::Company, Expr::value(fields.company.clone())),
        (Col::Phone, Expr::value(fields.phone.clone())),
        (Col::Email, Expr::value(fields.email.clone())),
        (Col::Wechat, Expr::value(fields.wechat.clone())),
        (Col::Source, Expr::value(fields.source.clone())),
        (Col::Campaign, Expr::value(fields.campaign.clone())),
        (Col::Industry, Expr::value(fields.industry.clone())),
        (Col::Region, Expr::value(fields.region.clone())),
        (Col::Notes, Expr::value(fields.notes.clone())),
    ]);
    let after =
        repo::write_versioned::<Leads, C>(conn, tenant, id, expected_version, with_score(update, &scored)).await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes.field("score", before.score, after.score))
        .await?;
    Ok(after)
}

fn with_score(update: sea_orm::UpdateMany<lead::Entity>, scored: &Scored) -> sea_orm::UpdateMany<lead::Entity> {
    update
        .col_expr(lead::Column::Score, Expr::value(scored.score))
        .col_expr(lead::Column::ScoreLines, Expr::value(serde_json::to_value(&scored.lines).unwrap_or_default()))
        .col_expr(lead::Column::RescoreAt, Expr::value(scored.rescore_at))
}

/// Moves a lead to WORKING, QUALIFIED or UNQUALIFIED (with a reason from the tenant's
/// list); conversion is `convert`'s.
pub async fn set_status<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: ScopeRule,
    (id, expected_version): (Uuid, i32),
    to: LeadStatus,
    reason: Option<&str>,
) -> StoreResult<Lead> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Leads, C>(conn, tenant, rule, id, expected_version).await?;
    let (settings, _) = crate::leads::settings::get(conn, tenant).await?;
    let reason = check_status(before.status, to, reason, &settings)?;
    let mut values = vec![
        (lead::Column::Status, Expr::value(to.as_str())),
        (lead::Column::UnqualifiedReason, Expr::value(reason.clone())),
        // An unqualified lead is not watched for inactivity; reopened, it is again.
        (
            lead::Column::RescoreAt,
            if to.is_open() { Expr::value(Utc::now()) } else { Expr::value(None::<DateTime<Utc>>) },
        ),
    ];
    let mut changes = ChangeSet::new().field("status", before.status.as_str(), to.as_str()).field(
        "unqualifiedReason",
        &before.unqualified_reason,
        &reason,
    );
    // Only open leads wait in a pool: one disqualified there leaves it.
    if let Some(entry) = before.pool.as_ref().filter(|_| !to.is_open()) {
        values.extend(out_of_pool());
        changes = changes.field("poolId", entry.pool_id, None::<()>);
    }
    let update = repo::set_columns::<lead::Entity>(values);
    let after = repo::write_versioned::<Leads, C>(conn, tenant, id, expected_version, update).await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Gives a lead to another active user.
pub async fn set_owner<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: ScopeRule,
    (id, expected_version): (Uuid, i32),
    owner: UserId,
) -> StoreResult<Lead> {
    let tenant = author.tenant_id;
    let before = open_current(conn, tenant, rule, id, expected_version).await?;
    crate::sales::opportunity::check_owner(conn, tenant, owner).await?;
    if before.owner_id == Some(owner) {
        return Ok(before);
    }
    refuse_pooled(&before, "assign it from the pool (assignPoolLeads)")?;
    // The reclaim rules count from the new owner's receipt.
    let update = repo::set_columns::<lead::Entity>(vec![
        (lead::Column::OwnerId, Expr::value(owner.uuid())),
        (lead::Column::OwnerReceivedAt, Expr::value(Utc::now())),
    ]);
    let after = repo::write_versioned::<Leads, C>(conn, tenant, id, expected_version, update).await?;
    let changes = ChangeSet::new().field("ownerId", before.owner_id.map(UserId::uuid), owner.uuid());
    audit::record(conn, author, ENTITY, id, Operation::Transfer, &changes).await?;
    Ok(after)
}

/// A follow-up to record on a lead.
pub struct NewActivity {
    pub channel: Channel,
    pub occurred_at: DateTime<Utc>,
    pub content: String,
    pub outcome: Option<String>,
    pub next_follow_up_at: Option<DateTime<Utc>>,
}

fn activity_of(m: lead_activity::Model) -> StoreResult<LeadActivity> {
    let channel = Cell::of("lead_activities", m.id, "channel").text(&m.channel, Channel::parse)?;
    Ok(LeadActivity {
        id: m.id,
        lead_id: LeadId::from_uuid(m.lead_id),
        author_id: m.author_id.map(UserId::from_uuid),
        channel,
        occurred_at: m.occurred_at,
        content: m.content,
        outcome: m.outcome,
        next_follow_up_at: m.next_follow_up_at,
        created_at: m.created_at,
    })
}

/// Records a follow-up on a live, unconverted lead the writer sees: a NEW lead becomes
/// WORKING, its last activity moves forward and it is rescored, in one versioned write.
pub async fn add_activity<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: ScopeRule,
    (id, expected_version): (Uuid, i32),
    new: NewActivity,
) -> StoreResult<(Lead, LeadActivity)> {
    let tenant = author.tenant_id;
    let now = Utc::now();
    let checked = InteractionFields {
        channel: new.channel,
        occurred_at: new.occurred_at,
        content: new.content.trim().to_owned(),
        outcome: new.outcome.map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()),
        next_follow_up_at: new.next_follow_up_at,
        contact_ids: vec![],
        latitude: None,
        longitude: None,
    };
    checked.check(now)?;
    if checked.outcome.as_ref().is_some_and(|o| o.chars().count() > 200) {
        return Err(StoreError::rejected("outcome", ErrorCode::Invalid, "at most 200 characters"));
    }
    let before = open_current(conn, tenant, rule, id, expected_version).await?;
    if before.status == LeadStatus::Unqualified {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "reopen the lead (WORKING) to follow it up"));
    }
    let row = lead_activity::Model {
        tenant_id: tenant.uuid(),
        id: Uuid::now_v7(),
        lead_id: id,
        author_id: author.user_id,
        channel: checked.channel.as_str().to_owned(),
        occurred_at: checked.occurred_at,
        content: checked.content,
        outcome: checked.outcome,
        next_follow_up_at: checked.next_follow_up_at,
        created_at: now,
    };
    lead_activity::Entity::insert(lead_activity::ActiveModel::from(row.clone())).exec_without_returning(conn).await?;
    let last = before.last_activity_at.map_or(row.occurred_at, |at| at.max(row.occurred_at));
    let (settings, _) = crate::leads::settings::get(conn, tenant).await?;
    let scored = rescored(conn, tenant, &settings, &before, &before.fields, Some(last)).await?;
    let status = if before.status == LeadStatus::New { LeadStatus::Working } else { before.status };
    let update = repo::set_columns::<lead::Entity>(vec![
        (lead::Column::LastActivityAt, Expr::value(last)),
        (lead::Column::Status, Expr::value(status.as_str())),
    ]);
    let after =
        repo::write_versioned::<Leads, C>(conn, tenant, id, expected_version, with_score(update, &scored)).await?;
    let changes = ChangeSet::new()
        .field("activity", None::<()>, serde_json::json!({"id": row.id, "channel": row.channel}))
        .field("status", before.status.as_str(), status.as_str())
        .field("score", before.score, after.score);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok((after, activity_of(row)?))
}

/// The follow-ups of `leads` (visible to the caller through `rule`), newest first: one
/// statement.
pub async fn activities_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: ScopeRule,
    leads: &[Uuid],
) -> StoreResult<Vec<LeadActivity>> {
    if leads.is_empty() {
        return Ok(vec![]);
    }
    let backend = conn.get_database_backend();
    let visible = Leads::visible(backend, tenant, rule)
        .select_only()
        .column(lead::Column::Id)
        .filter(lead::Column::Id.is_in(leads.iter().copied()));
    lead_activity::Entity::find()
        .filter(lead_activity::Column::TenantId.eq(tenant.uuid()))
        .filter(lead_activity::Column::LeadId.in_subquery(sea_orm::QueryTrait::into_query(visible)))
        .order_by_desc(lead_activity::Column::OccurredAt)
        .order_by_desc(lead_activity::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(activity_of)
        .collect()
}

/// Follow-ups of `leads` by channel: one grouped statement.
async fn activity_counts<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    leads: &[Uuid],
) -> StoreResult<HashMap<Uuid, HashMap<Channel, u32>>> {
    let rows: Vec<(Uuid, String, i64)> = lead_activity::Entity::find()
        .select_only()
        .column(lead_activity::Column::LeadId)
        .column(lead_activity::Column::Channel)
        .column_as(lead_activity::Column::Id.count(), "n")
        .filter(lead_activity::Column::TenantId.eq(tenant.uuid()))
        .filter(lead_activity::Column::LeadId.is_in(leads.iter().copied()))
        .group_by(lead_activity::Column::LeadId)
        .group_by(lead_activity::Column::Channel)
        .into_tuple()
        .all(conn)
        .await?;
    let mut counts: HashMap<Uuid, HashMap<Channel, u32>> = HashMap::new();
    for (lead, channel, n) in rows {
        let channel = Cell::of("lead_activities", lead, "channel").text(&channel, Channel::parse)?;
        counts.entry(lead).or_default().insert(channel, u32::try_from(n).unwrap_or(u32::MAX));
    }
    Ok(counts)
}

/// A lead's score with `fields` and its follow-ups as stored, as of now.
async fn rescored<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    settings: &LeadSettings,
    lead: &Lead,
    fields: &LeadFields,
    last_activity_at: Option<DateTime<Utc>>,
) -> StoreResult<Scored> {
    if settings.rules.is_empty() {
        return Ok(Scored { score: 0, lines: vec![], rescore_at: None });
    }
    let counts = activity_counts(conn, tenant, &[lead.id.uuid()]).await?;
    let by_channel = counts.get(&lead.id.uuid()).cloned().unwrap_or_default();
    let activity = Activity { by_channel: &by_channel, last_activity_at, created_at: lead.created_at };
    Ok(score(&settings.rules, fields, activity, Utc::now()))
}

/// The tenants with leads due for rescoring at `now`, at most `limit` of them.
pub async fn tenants_due<C: ConnectionTrait>(conn: &C, now: DateTime<Utc>) -> StoreResult<Vec<TenantId>> {
    let rows: Vec<Uuid> = lead::Entity::find()
        .select_only()
        .column(lead::Column::TenantId)
        .distinct()
        .filter(lead::Column::RescoreAt.lte(now))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(TenantId::from_uuid).collect())
}

/// Rescores up to [`RESCORE_BATCH`] of a tenant's leads due at `now` (new rules, or an
/// inactivity rule come due): one read of the leads, one grouped read of their
/// follow-ups, one conditional update per lead whose score changed (a lead written
/// meanwhile is left to its writer, who scored it). Returns how many were looked at.
pub async fn rescore_due<C: ConnectionTrait>(conn: &C, tenant: TenantId, now: DateTime<Utc>) -> StoreResult<u64> {
    let due = lead::Entity::find()
        .filter(lead::Column::TenantId.eq(tenant.uuid()))
        .filter(lead::Column::RescoreAt.lte(now))
        .order_by_asc(lead::Column::RescoreAt)
        .limit(RESCORE_BATCH)
        .all(conn)
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let (settings, _) = crate::leads::settings::get(conn, tenant).await?;
    let ids: Vec<Uuid> = due.iter().map(|m| m.id).collect();
    let counts = activity_counts(conn, tenant, &ids).await?;
    let empty = HashMap::new();
    for row in due.iter() {
        let lead = to_domain(row.clone())?;
        let open = lead.status.is_open() && lead.deleted_at.is_none();
        let scored = if open {
            let by_channel = counts.get(&row.id).unwrap_or(&empty);
            let activity =
                Activity { by_channel, last_activity_at: lead.last_activity_at, created_at: lead.created_at };
            score(&settings.rules, &lead.fields, activity, now)
        } else {
            Scored { score: lead.score, lines: lead.score_lines.clone(), rescore_at: None }
        };
        with_score(lead::Entity::update_many(), &scored)
            .filter(lead::Column::TenantId.eq(tenant.uuid()))
            .filter(lead::Column::Id.eq(row.id))
            .filter(lead::Column::Version.eq(row.version))
            .exec(conn)
            .await?;
    }
    Ok(due.len() as u64)
}

/// Marks a lead converted into `customer` (with its contact and deal), at the version
/// read, with a `CONVERT` change event.
pub(crate) async fn mark_converted<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    before: &Lead,
    (customer, contact, deal): (Uuid, Option<Uuid>, Option<Uuid>),
) -> StoreResult<Lead> {
    let now = Utc::now();
    let values: Vec<(lead::Column, SimpleExpr)> = vec![
        (lead::Column::Status, Expr::value(LeadStatus::Converted.as_str())),
        (lead::Column::CustomerId, Expr::value(customer)),
        (lead::Column::ContactId, Expr::value(contact)),
        (lead::Column::OpportunityId, Expr::value(deal)),
        (lead::Column::ConvertedAt, Expr::value(now)),
        (lead::Column::RescoreAt, Expr::value(None::<DateTime<Utc>>)),
    ];
    let id = before.id.uuid();
    let after =
        repo::write_versioned::<Leads, C>(conn, author.tenant_id, id, before.version, repo::set_columns(values))
            .await?;
    let changes = ChangeSet::new()
        .field("status", before.status.as_str(), LeadStatus::Converted.as_str())
        .field("customerId", None::<()>, customer)
        .field("contactId", None::<()>, contact)
        .field("opportunityId", None::<()>, deal);
    audit::record(conn, author, ENTITY, id, Operation::Convert, &changes).await?;
    Ok(after)
}

/// Refuses to hand a pooled lead over outside the pool's own moves (its admins, caps and
/// log decide who takes it): `how` says what to do instead.
pub(crate) fn refuse_pooled(lead: &Lead, how: &str) -> StoreResult<()> {
    match lead.pool {
        Some(_) => {
            Err(StoreError::rejected("id", ErrorCode::IllegalState, format!("it waits in a public pool: {how}")))
        }
        None => Ok(()),
    }
}

/// The values that take a lead out of its pool, if it waits in one.
fn out_of_pool() -> [(lead::Column, SimpleExpr); 4] {
    [
        (lead::Column::PoolId, Expr::value(None::<Uuid>)),
        (lead::Column::PoolEnteredAt, Expr::value(None::<DateTime<Utc>>)),
        (lead::Column::PoolAction, Expr::value(None::<String>)),
        (lead::Column::PoolReason, Expr::value(None::<String>)),
    ]
}

/// Deletes a lead (to the recycle bin) at the version read.
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: ScopeRule,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<Lead> {
    repo::delete::<Leads, C>(conn, author, rule, id, expected_version).await
}

/// Restores a lead from the recycle bin at the version read.
pub async fn restore<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: ScopeRule,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<Lead> {
    let restored = repo::restore::<Leads, C>(conn, author, rule, id, expected_version).await?;
    // Rules may have changed, or inactivity come due, while it was in the bin.
    if restored.status.is_open() {
        lead::Entity::update_many()
            .col_expr(lead::Column::RescoreAt, Expr::value(Utc::now()))
            .filter(lead::Column::TenantId.eq(author.tenant_id.uuid()))
            .filter(lead::Column::Id.eq(id))
            .exec(conn)
            .await?;
    }
    Ok(restored)
}
