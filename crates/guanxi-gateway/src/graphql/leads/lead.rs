//! Leads (线索): the type, `lead`, `leads`, and the writes — create (owned, or by the
//! tenant's lead rules), update, status (with the unqualified reason), owner, follow-ups,
//! delete and restore. Reading needs `lead.read`, writing `lead.write`; both go through
//! the `LEAD` scope on the lead's owner.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::UserId;
use guanxi_domain::leads::lead::{
    Lead as DomainLead, LeadActivity as DomainActivity, LeadFields, LeadStatus as DomainStatus,
};
use guanxi_domain::platform::access::{Actor, Module, Permission, ScopeRule};
use guanxi_store::leads::lead::{LeadFilter as StoreFilter, LeadOrder as StoreOrder, Leads, NewActivity, NewLead};
use serde::Serialize;
use uuid::Uuid;

use crate::graphql::activity::interaction::Channel;
use crate::graphql::context::{actor, author, require, state};
use crate::graphql::customers::contact::Contact;
use crate::graphql::customers::customer::{CUSTOMER, Customer};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{ContactKey, CustomerKey, OpportunityKey, ScopedLoader, UserKey, grouped};
use crate::graphql::mutation::{Idempotent, reload_scoped, write, write_by_id};
use crate::graphql::platform::org::{USER, User};
use crate::graphql::relay::{Conn, expect_id, global_id, input_id, listed, page_request, read_by_id};
use crate::graphql::sales::opportunity::Opportunity;
use crate::graphql::sales::pool::PoolEntry;
use crate::graphql::shared::OrderDirection;
use crate::graphql::trade::document::loaders;

pub const LEAD: &str = EntityKind::Lead.name();

impl From<&guanxi_domain::leads::scoring::ScoreLine> for ScoreLine {
    fn from(l: &guanxi_domain::leads::scoring::ScoreLine) -> Self {
        ScoreLine { rule: l.rule.clone(), points: l.points, detail: l.detail.clone() }
    }
}

/// Leads are read through the `LEAD` scope on their owner.
pub fn lead_scope(actor: &Actor) -> ScopeRule {
    actor.scope_rule(Module::Lead)
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainStatus")]
pub enum LeadStatus {
    /// 新线索: nobody has worked it yet.
    New,
    /// 跟进中: a follow-up was recorded, or it was reopened.
    Working,
    /// 有效线索: worth converting.
    Qualified,
    /// 无效线索, with a reason from the tenant's list.
    Unqualified,
    /// 已转化: it became a customer, a contact and (usually) a deal.
    Converted,
}

/// One scoring rule that fired.
#[derive(SimpleObject)]
pub struct ScoreLine {
    /// The rule's name.
    rule: String,
    points: i32,
    /// Why, in words: 行业 = 制造业; 拜访 2 次; 35 天未跟进.
    detail: String,
}

/// A follow-up of a lead (线索跟进记录).
pub struct LeadActivity(pub DomainActivity);

#[Object]
impl LeadActivity {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn channel(&self) -> Channel {
        self.0.channel.into()
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    async fn content(&self) -> &str {
        &self.0.content
    }
    async fn outcome(&self) -> Option<&str> {
        self.0.outcome.as_deref()
    }
    async fn next_follow_up_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_follow_up_at
    }
    async fn author(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(user) = self.0.author_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(user.uuid())).await?.map(User))
    }
}

/// A lead (线索).
pub struct Lead(pub DomainLead);

#[Object]
impl Lead {
    pub async fn id(&self) -> ID {
        global_id(LEAD, self.0.id.uuid())
    }
    async fn name(&self) -> &str {
        &self.0.fields.name
    }
    async fn company(&self) -> Option<&str> {
        self.0.fields.company.as_deref()
    }
    /// Masked (138****8000) without `phone.unmasked`.
    async fn phone(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let actor = actor(ctx)?;
        Ok(self.0.fields.phone.as_deref().map(|p| actor.phone_as_seen(p)))
    }
    async fn email(&self) -> Option<&str> {
        self.0.fields.email.as_deref()
    }
    async fn wechat(&self) -> Option<&str> {
        self.0.fields.wechat.as_deref()
    }
    /// From the tenant's list of lead sources.
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
    async fn notes(&self) -> Option<&str> {
        self.0.fields.notes.as_deref()
    }
    async fn owner_id(&self) -> Option<ID> {
        self.0.owner_id.map(|o| global_id(USER, o.uuid()))
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(owner) = self.0.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(owner.uuid())).await?.map(User))
    }
    async fn status(&self) -> LeadStatus {
        self.0.status.into()
    }
    /// Why it is UNQUALIFIED (from the tenant's list).
    async fn unqualified_reason(&self) -> Option<&str> {
        self.0.unqualified_reason.as_deref()
    }
    /// The sum of `scoreLines`' points.
    async fn score(&self) -> i32 {
        self.0.score
    }
    /// The scoring rules that fired, as of the last scoring.
    async fn score_lines(&self) -> Vec<ScoreLine> {
        self.0.score_lines.iter().map(ScoreLine::from).collect()
    }
    async fn last_activity_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_activity_at
    }
    /// Its follow-ups, newest first (they move to the customer's timeline on conversion).
    async fn activities(&self, ctx: &Context<'_>) -> ApiResult<Vec<LeadActivity>> {
        let found = loaders(ctx)?.load_one(ActivitiesKey(self.0.id.uuid())).await?.unwrap_or_default();
        Ok(found.into_iter().map(LeadActivity).collect())
    }
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// What it became, when converted and the caller sees it.
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        let Some(customer) = self.0.customer_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(CustomerKey(customer.uuid())).await?.map(Customer))
    }
    async fn contact(&self, ctx: &Context<'_>) -> ApiResult<Option<Contact>> {
        let Some(contact) = self.0.contact_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(ContactKey(contact.uuid())).await?.map(Contact))
    }
    async fn opportunity(&self, ctx: &Context<'_>) -> ApiResult<Option<Opportunity>> {
        let Some(deal) = self.0.opportunity_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(OpportunityKey(deal.uuid())).await?.map(Opportunity))
    }
    /// The public pool it waits in (线索公海), when it has no owner.
    async fn pool(&self) -> Option<PoolEntry> {
        self.0.pool.clone().map(PoolEntry)
    }
    async fn converted_at(&self) -> Option<DateTime<Utc>> {
        self.0.converted_at
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
    /// When it went to the recycle bin.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
}

// ---------------------------------------------------------------------------------------
// Loaders

/// A lead by id, through the caller's `LEAD` scope.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeadKey(pub Uuid);
/// A lead's follow-ups.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ActivitiesKey(pub Uuid);

impl Loader<LeadKey> for ScopedLoader {
    type Value = DomainLead;
    type Error = ApiError;

    async fn load(&self, keys: &[LeadKey]) -> Result<HashMap<LeadKey, DomainLead>, ApiError> {
        if !self.actor.may(Permission::LeadRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rule = lead_scope(&self.actor);
        let found = guanxi_store::leads::lead::by_ids(self.db.connection(), self.actor.tenant_id, rule, &ids).await?;
        Ok(found.into_iter().map(|l| (LeadKey(l.id.uuid()), l)).collect())
    }
}

impl Loader<ActivitiesKey> for ScopedLoader {
    type Value = Vec<DomainActivity>;
    type Error = ApiError;

    async fn load(&self, keys: &[ActivitiesKey]) -> Result<HashMap<ActivitiesKey, Self::Value>, ApiError> {
        if !self.actor.may(Permission::LeadRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rule = lead_scope(&self.actor);
        let conn = self.db.connection();
        let found = guanxi_store::leads::lead::activities_of(conn, self.actor.tenant_id, rule, &ids).await?;
        Ok(grouped(found, |a| ActivitiesKey(a.lead_id.uuid())))
    }
}

// ---------------------------------------------------------------------------------------
// Queries

/// Filters leads.
#[derive(InputObject, Default)]
pub struct LeadFilter {
    pub status: Option<Vec<LeadStatus>>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub owner_ids: Option<Vec<ID>>,
    /// At least this score.
    pub min_score: Option<i32>,
    /// Part of the name, the company or the phone number.
    pub search: Option<String>,
    /// `true`: the recycle bin.
    pub deleted: Option<bool>,
}

impl LeadFilter {
    pub(crate) fn into_store(self) -> ApiResult<StoreFilter> {
        let owner_ids = self
            .owner_ids
            .map(|ids| ids.iter().map(|id| expect_id(id, USER)).collect::<ApiResult<Vec<_>>>())
            .transpose()?;
        Ok(StoreFilter {
            status: self.status.map(|s| s.into_iter().map(Into::into).collect()),
            source: self.source,
            campaign: self.campaign,
            owner_ids,
            min_score: self.min_score,
            search: self.search,
            deleted: self.deleted,
            pool_id: None,
            search_without_phone: false,
        })
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum LeadSortField {
    CreatedAt,
    Score,
}

#[derive(InputObject)]
pub struct LeadOrder {
    pub field: LeadSortField,
    #[graphql(default_with = "OrderDirection::Desc")]
    pub direction: OrderDirection,
}

#[derive(Default)]
pub struct LeadListQuery;

#[Object]
impl LeadListQuery {
    /// A lead by id (`lead.read`, and in the caller's `LEAD` scope).
    async fn lead(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Lead> {
        Ok(Lead(read_by_id::<Leads>(ctx, Permission::LeadRead, (&id, LEAD), lead_scope).await?))
    }

    /// Leads in the caller's scope, newest first unless ordered.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn leads(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<LeadFilter>,
        order_by: Option<LeadOrder>,
    ) -> ApiResult<Conn<Lead>> {
        let actor = require(ctx, Permission::LeadRead)?;
        let filter = filter.unwrap_or_default().into_store()?;
        let (order, name) = match order_by {
            Some(LeadOrder { field: LeadSortField::Score, direction }) => {
                (StoreOrder::Score(direction.into()), "SCORE")
            }
            Some(LeadOrder { field: LeadSortField::CreatedAt, direction }) => {
                (StoreOrder::CreatedAt(direction.into()), "CREATED_AT")
            }
            None => (StoreOrder::CreatedAt(OrderDirection::Desc.into()), "CREATED_AT"),
        };
        let request = page_request(first, after, None, None, name)?;
        listed::<Leads, _>(&state(ctx).db, actor.tenant_id, (lead_scope(actor), filter, order), &request, Lead).await
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

/// A lead's fields (the whole of them, on update too).
#[derive(InputObject, Serialize, Clone)]
pub struct LeadInput {
    pub name: String,
    pub company: Option<String>,
    /// A mainland mobile or landline number.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    /// One of the tenant's lead sources (`leadSettings.sources`).
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub notes: Option<String>,
}

impl From<LeadInput> for LeadFields {
    fn from(i: LeadInput) -> Self {
        LeadFields {
            name: i.name,
            company: i.company,
            phone: i.phone,
            email: i.email,
            wechat: i.wechat,
            source: i.source,
            campaign: i.campaign,
            industry: i.industry,
            region: i.region,
            notes: i.notes,
        }
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateLeadInput {
    pub lead: LeadInput,
    /// The owner; left out, the caller (or, with `assignByRules`, whoever the lead rules
    /// pick, else nobody).
    pub owner_id: Option<ID>,
    /// Give it to whoever the tenant's lead assignment rules pick (分配规则).
    #[graphql(default)]
    pub assign_by_rules: bool,
    /// The key an integrator knows it by, unique in the tenant.
    pub external_id: Option<String>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateLeadInput {
    pub id: ID,
    pub expected_version: i32,
    pub lead: LeadInput,
}

#[derive(InputObject)]
pub struct SetLeadStatusInput {
    pub id: ID,
    pub expected_version: i32,
    /// WORKING, QUALIFIED or UNQUALIFIED (convert with `convertLead`).
    pub status: LeadStatus,
    /// For UNQUALIFIED: one of `leadSettings.unqualifiedReasons`.
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct SetLeadOwnerInput {
    pub id: ID,
    pub expected_version: i32,
    pub owner_id: ID,
}

#[derive(InputObject)]
pub struct AddLeadActivityInput {
    pub lead_id: ID,
    pub expected_version: i32,
    pub channel: Channel,
    pub occurred_at: DateTime<Utc>,
    pub content: String,
    pub outcome: Option<String>,
    pub next_follow_up_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct LeadVersionInput {
    pub id: ID,
    pub expected_version: i32,
}

crate::graphql::error::payload! {
    LeadPayload, lead: Lead(DomainLead)
}

/// A follow-up recorded, and the lead as it now stands (status, score).
#[derive(SimpleObject)]
pub struct LeadActivityPayload {
    lead: Option<Lead>,
    activity: Option<LeadActivity>,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct LeadWriteMutation;

#[Object]
impl LeadWriteMutation {
    /// Records a lead (`lead.write`), scored by the tenant's rules. `assignByRules` gives
    /// it to whoever the lead rules pick; the payload's lead is then null if the caller
    /// does not see the new owner's leads.
    async fn create_lead(&self, ctx: &Context<'_>, input: CreateLeadInput) -> ApiResult<LeadPayload> {
        let actor = require(ctx, Permission::LeadWrite)?.clone();
        let owner = match (&input.owner_id, input.assign_by_rules) {
            (Some(_), true) => {
                let e = UserError::new(
                    "ownerId",
                    guanxi_domain::ErrorCode::Invalid,
                    "name an owner or assign by rules, not both",
                );
                return Ok(Err(vec![e]).into());
            }
            (Some(id), false) => match input_id("ownerId", id, USER) {
                Ok(id) => Some(UserId::from_uuid(id)),
                Err(e) => return Ok(Err(vec![e]).into()),
            },
            (None, true) => None,
            (None, false) => Some(actor.user_id),
        };
        let new = NewLead {
            fields: input.lead.clone().into(),
            owner_id: owner,
            external_id: input.external_id.clone(),
            assign_by_rules: input.assign_by_rules,
        };
        let (author, tenant) = (author(ctx, &actor), actor.tenant_id);
        let idempotent = Idempotent::new(&actor, "createLead", input.idempotency_key.as_deref(), &input);
        let rule = lead_scope(&actor);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let created = guanxi_store::leads::lead::create(tx, &author, new).await?;
                    Ok((created.id.uuid(), created))
                })
            },
            reload_scoped::<Leads>(tenant, ScopeRule::All),
        )
        .await?;
        // The rules may give it to someone whose leads the caller does not see.
        let conn = state(ctx).db.connection();
        let result = match result {
            Ok(lead) if guanxi_store::leads::lead::find(conn, tenant, rule, lead.id.uuid()).await?.is_none() => {
                return Ok(LeadPayload { lead: None, user_errors: vec![] });
            }
            other => other,
        };
        Ok(result.into())
    }

    /// Rewrites a lead's fields and rescores it (`lead.write`); a converted lead is
    /// worked through its customer.
    async fn update_lead(&self, ctx: &Context<'_>, input: UpdateLeadInput) -> ApiResult<LeadPayload> {
        let (version, fields): (i32, LeadFields) = (input.expected_version, input.lead.into());
        write_by_id(ctx, Permission::LeadWrite, (&input.id, LEAD), lead_scope, move |tx, author, rule, id| {
            Box::pin(async move { guanxi_store::leads::lead::update(tx, &author, rule, (id, version), fields).await })
        })
        .await
    }

    /// Moves a lead to WORKING, QUALIFIED or UNQUALIFIED (with a reason from the tenant's
    /// list) (`lead.write`).
    async fn set_lead_status(&self, ctx: &Context<'_>, input: SetLeadStatusInput) -> ApiResult<LeadPayload> {
        let (version, to, reason) = (input.expected_version, input.status.into(), input.reason);
        write_by_id(ctx, Permission::LeadWrite, (&input.id, LEAD), lead_scope, move |tx, author, rule, id| {
            Box::pin(async move {
                guanxi_store::leads::lead::set_status(tx, &author, rule, (id, version), to, reason.as_deref()).await
            })
        })
        .await
    }

    /// Gives a lead to another active user (`lead.write`).
    async fn set_lead_owner(&self, ctx: &Context<'_>, input: SetLeadOwnerInput) -> ApiResult<LeadPayload> {
        let owner = match input_id("ownerId", &input.owner_id, USER) {
            Ok(owner) => UserId::from_uuid(owner),
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let version = input.expected_version;
        write_by_id(ctx, Permission::LeadWrite, (&input.id, LEAD), lead_scope, move |tx, author, rule, id| {
            Box::pin(async move { guanxi_store::leads::lead::set_owner(tx, &author, rule, (id, version), owner).await })
        })
        .await
    }

    /// Records a follow-up on a lead (`lead.write`): a NEW lead becomes WORKING, and the
    /// lead is rescored.
    async fn add_lead_activity(
        &self,
        ctx: &Context<'_>,
        input: AddLeadActivityInput,
    ) -> ApiResult<LeadActivityPayload> {
        let version = input.expected_version;
        let new = NewActivity {
            channel: input.channel.into(),
            occurred_at: input.occurred_at,
            content: input.content,
            outcome: input.outcome,
            next_follow_up_at: input.next_follow_up_at,
        };
        let outcome: crate::graphql::error::Outcome<(DomainLead, DomainActivity)> =
            write_by_id(ctx, Permission::LeadWrite, (&input.lead_id, LEAD), lead_scope, move |tx, author, rule, id| {
                Box::pin(
                    async move { guanxi_store::leads::lead::add_activity(tx, &author, rule, (id, version), new).await },
                )
            })
            .await?;
        Ok(match outcome {
            Ok((lead, activity)) => LeadActivityPayload {
                lead: Some(Lead(lead)),
                activity: Some(LeadActivity(activity)),
                user_errors: vec![],
            },
            Err(errors) => LeadActivityPayload { lead: None, activity: None, user_errors: errors },
        })
    }

    /// Moves a lead to the recycle bin (`lead.write`).
    async fn delete_lead(&self, ctx: &Context<'_>, input: LeadVersionInput) -> ApiResult<LeadPayload> {
        let version = input.expected_version;
        write_by_id(ctx, Permission::LeadWrite, (&input.id, LEAD), lead_scope, move |tx, author, rule, id| {
            Box::pin(async move { guanxi_store::leads::lead::delete(tx, &author, rule, (id, version)).await })
        })
        .await
    }

    /// Brings a lead back from the recycle bin (`lead.write`).
    async fn restore_lead(&self, ctx: &Context<'_>, input: LeadVersionInput) -> ApiResult<LeadPayload> {
        let version = input.expected_version;
        write_by_id(ctx, Permission::LeadWrite, (&input.id, LEAD), lead_scope, move |tx, author, rule, id| {
            Box::pin(async move { guanxi_store::leads::lead::restore(tx, &author, rule, (id, version)).await })
        })
        .await
    }
}

/// The customer id of a conversion's input, if given.
pub fn customer_input(id: Option<&ID>) -> Result<Option<Uuid>, UserError> {
    id.map(|id| input_id("customerId", id, CUSTOMER)).transpose()
}
