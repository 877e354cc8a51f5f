//! Interactions and the customer timeline over GraphQL, including idempotent ingest from
//! outside channels (chat archives, call centres, email gateways).

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::activity::interaction::{
    Channel as DomainChannel, Interaction as DomainInteraction, InteractionFields, parse_source,
};
use guanxi_domain::ids::{ContactId, CustomerId};
use guanxi_domain::phone::PhoneNumber;
use guanxi_domain::platform::access::Permission;
use guanxi_domain::platform::change::Operation;
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use guanxi_store::activity::interaction::{InteractionFilter as StoreFilter, Origin, TimelineEntry, TimelineKinds};
use guanxi_store::page::Page;
use serde::Serialize;

use crate::graphql::context::{actor, author, require, state};
use crate::graphql::customers::contact::{CONTACT, Contact};
use crate::graphql::customers::customer::{CUSTOMER, Customer, GeoPoint, find_visible};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{ContactKey, CustomerKey, Loaders, UserKey};
use crate::graphql::mutation::{Idempotent, write};
use crate::graphql::platform::audit::ChangeEvent;
use crate::graphql::platform::org::{USER, User};
use crate::graphql::relay::{
    Conn, TotalCount, client_id, connection, encode_cursor, global_id, input_id, page_request,
};
use crate::graphql::shared::{IdFilter, TimeRange};

pub const INTERACTION: &str = guanxi_domain::entity::EntityKind::Interaction.name();
/// Most records one ingest call takes.
pub const MAX_INGEST: usize = 1_000;

fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, ApiError> {
    ctx.data_opt::<Loaders>().ok_or_else(|| ApiError::Unauthenticated("log in first".into()))
}

/// How the contact happened.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainChannel")]
pub enum Channel {
    /// 电话
    Call,
    /// 拜访
    Visit,
    /// 邮件
    Email,
    /// 微信
    Wechat,
    /// 企业微信
    Wecom,
    /// 会议
    Meeting,
    /// 其他
    Other,
}

/// One recorded contact with a customer (交流记录).
pub struct Interaction(pub DomainInteraction);

#[Object]
impl Interaction {
    pub async fn id(&self) -> ID {
        global_id(INTERACTION, self.0.id.uuid())
    }
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loaders(ctx)?.load_one(CustomerKey(self.0.customer_id.uuid())).await?.map(Customer))
    }
    /// The contacts involved that the caller may see.
    async fn contacts(&self, ctx: &Context<'_>) -> ApiResult<Vec<Contact>> {
        if !actor(ctx)?.may(Permission::ContactRead) {
            return Ok(Vec::new());
        }
        let keys: Vec<ContactKey> = self.0.fields.contact_ids.iter().map(|c| ContactKey(c.uuid())).collect();
        let mut found = loaders(ctx)?.load_many(keys.clone()).await?;
        Ok(keys.iter().filter_map(|k| found.remove(k)).map(Contact).collect())
    }
    /// Who recorded it; null for ingested records without a user, or when not visible.
    async fn author(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(author) = self.0.author_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(author.uuid())).await?.map(User))
    }
    async fn channel(&self) -> Channel {
        self.0.fields.channel.into()
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.fields.occurred_at
    }
    async fn content(&self) -> &str {
        &self.0.fields.content
    }
    async fn outcome(&self) -> Option<&str> {
        self.0.fields.outcome.as_deref()
    }
    async fn next_follow_up_at(&self) -> Option<DateTime<Utc>> {
        self.0.fields.next_follow_up_at
    }
    async fn location(&self) -> Option<GeoPoint> {
        Some(GeoPoint { latitude: self.0.fields.latitude?, longitude: self.0.fields.longitude? })
    }
    /// `manual`, or the outside channel it was ingested from.
    async fn source(&self) -> &str {
        &self.0.source
    }
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// What a timeline entry is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TimelineEventType {
    Interaction,
    CustomerCreated,
    CustomerUpdated,
    OwnerChanged,
    StatusChanged,
    CustomerMerged,
    CustomerDeleted,
    CustomerRestored,
    /// A work order of the customer was taken or moved (its `change` says how).
    WorkOrder,
}

/// Which sources a timeline shows.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TimelineKind {
    /// Calls, visits, messages, meetings.
    Interactions,
    /// Changes to the customer card: creation, ownership, status, merges.
    CardChanges,
    /// The customer's work orders the caller sees: taken, dispatched, completed… (needs
    /// `workorder.read`).
    WorkOrders,
}

/// One entry of a customer's timeline, newest first.
pub struct TimelineEvent(TimelineEntry);

#[Object]
impl TimelineEvent {
    #[graphql(name = "type")]
    async fn event_type(&self) -> TimelineEventType {
        match &self.0 {
            TimelineEntry::Interaction(_) => TimelineEventType::Interaction,
            TimelineEntry::Change(c) if c.entity == guanxi_domain::entity::EntityKind::WorkOrder => {
                TimelineEventType::WorkOrder
            }
            TimelineEntry::Change(c) => {
                let changed = |field: &str| c.changes.iter().any(|x| x.field == field);
                match c.operation {
                    Operation::Create | Operation::Copy => TimelineEventType::CustomerCreated,
                    Operation::Merge => TimelineEventType::CustomerMerged,
                    Operation::Delete => TimelineEventType::CustomerDeleted,
                    Operation::Restore => TimelineEventType::CustomerRestored,
                    _ if changed("ownerId") => TimelineEventType::OwnerChanged,
                    _ if changed("status") => TimelineEventType::StatusChanged,
                    _ => TimelineEventType::CustomerUpdated,
                }
            }
        }
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        match &self.0 {
            TimelineEntry::Interaction(i) => i.fields.occurred_at,
            TimelineEntry::Change(c) => c.occurred_at,
        }
    }
    /// Set for interactions.
    async fn interaction(&self) -> Option<Interaction> {
        match &self.0 {
            TimelineEntry::Interaction(i) => Some(Interaction(i.clone())),
            TimelineEntry::Change(_) => None,
        }
    }
    /// Set for changes to the card.
    async fn change(&self) -> Option<ChangeEvent> {
        match &self.0 {
            TimelineEntry::Change(c) => Some(ChangeEvent(c.clone())),
            TimelineEntry::Interaction(_) => None,
        }
    }
}

#[derive(SimpleObject)]
pub struct TimelineConnection {
    edges: Vec<TimelineEdge>,
    page_info: TimelinePageInfo,
}

#[derive(SimpleObject)]
pub struct TimelineEdge {
    cursor: String,
    node: TimelineEvent,
}

#[derive(SimpleObject)]
pub struct TimelinePageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    end_cursor: Option<String>,
}

fn timeline_connection(page: Page<TimelineEntry>) -> TimelineConnection {
    let end_cursor = page.items.last().map(|(c, _)| encode_cursor(c));
    TimelineConnection {
        edges: page
            .items
            .into_iter()
            .map(|(c, e)| TimelineEdge { cursor: encode_cursor(&c), node: TimelineEvent(e) })
            .collect(),
        page_info: TimelinePageInfo {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            end_cursor,
        },
    }
}

/// The timeline of one visible customer.
pub(crate) async fn customer_timeline(
    ctx: &Context<'_>,
    customer: CustomerId,
    first: Option<i32>,
    after: Option<String>,
    kinds: Option<Vec<TimelineKind>>,
) -> ApiResult<TimelineConnection> {
    let actor = actor(ctx)?;
    let request = page_request(first, after, None, None, "TIMELINE")?;
    let kinds =
        kinds.unwrap_or_else(|| vec![TimelineKind::Interactions, TimelineKind::CardChanges, TimelineKind::WorkOrders]);
    let kinds = TimelineKinds {
        interactions: kinds.contains(&TimelineKind::Interactions) && actor.may(Permission::InteractionRead),
        changes: kinds.contains(&TimelineKind::CardChanges),
        work_orders: (kinds.contains(&TimelineKind::WorkOrders) && actor.may(Permission::WorkOrderRead))
            .then(|| guanxi_domain::entity::EntityKind::work_order_rules(actor)),
    };
    let page = guanxi_store::activity::interaction::timeline(
        state(ctx).db.connection(),
        actor.tenant_id,
        actor.customer_rule(),
        customer.uuid(),
        kinds,
        request.first.unwrap_or(20),
        request.after.as_ref(),
    )
    .await?;
    Ok(timeline_connection(page))
}

#[derive(InputObject, Default, Clone)]
pub struct InteractionFilter {
    pub customer_id: Option<IdFilter>,
    pub author_id: Option<IdFilter>,
    pub channel: Option<Vec<Channel>>,
    pub occurred_at: Option<TimeRange>,
    pub source: Option<String>,
}

#[derive(Default)]
pub struct InteractionQuery;

#[Object]
impl InteractionQuery {
    async fn interaction(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Interaction> {
        let actor = require(ctx, Permission::InteractionRead)?;
        let id = crate::graphql::relay::expect_id(&id, INTERACTION)?;
        let found = guanxi_store::activity::interaction::find(
            state(ctx).db.connection(),
            actor.tenant_id,
            actor.customer_rule(),
            id,
        )
        .await?;
        found.map(Interaction).ok_or(ApiError::NotFound)
    }

    /// Interactions on customers the caller may see, newest first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn interactions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<InteractionFilter>,
    ) -> ApiResult<Conn<Interaction>> {
        let actor = require(ctx, Permission::InteractionRead)?.clone();
        let f = filter.unwrap_or_default();
        let filter = StoreFilter {
            customer_id: f.customer_id.as_ref().map(|x| x.to_store(CUSTOMER)).transpose()?,
            author_id: f.author_id.as_ref().map(|x| x.to_store(USER)).transpose()?,
            channels: f.channel.map(|c| c.into_iter().map(Into::into).collect()),
            occurred_at: f.occurred_at.as_ref().map(TimeRange::to_store),
            source: f.source,
            authors: None,
        };
        let request = page_request(first, after, None, None, "OCCURRED_AT")?;
        let db = state(ctx).db.clone();
        let rule = actor.customer_rule();
        let page =
            guanxi_store::activity::interaction::list(db.connection(), actor.tenant_id, rule, &filter, (), &request)
                .await?;
        let total = TotalCount::new(move |limit| {
            let (db, filter) = (db.clone(), filter.clone());
            Box::pin(async move {
                guanxi_store::activity::interaction::count(db.connection(), actor.tenant_id, rule, &filter, limit).await
            })
        });
        Ok(connection(page, total, Interaction))
    }

    /// A customer's timeline: interactions and changes to the card, newest first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        customer_id: ID,
        first: Option<i32>,
        after: Option<String>,
        kinds: Option<Vec<TimelineKind>>,
    ) -> ApiResult<TimelineConnection> {
        let actor = require(ctx, Permission::CustomerRead)?;
        let customer = find_visible(ctx, actor, &customer_id).await?;
        customer_timeline(ctx, customer.id, first, after, kinds).await
    }
}

/// The fields of an interaction.
#[derive(InputObject, Serialize, Clone)]
pub struct InteractionInput {
    pub channel: Channel,
    /// When it happened (default: now).
    pub occurred_at: Option<DateTime<Utc>>,
    pub content: String,
    pub outcome: Option<String>,
    /// Sets the customer's next follow-up.
    pub next_follow_up_at: Option<DateTime<Utc>>,
    #[graphql(default)]
    pub contact_ids: Vec<ID>,
    pub location: Option<GeoPoint>,
}

impl InteractionInput {
    pub(crate) fn parse(&self) -> Result<InteractionFields, Invalid> {
        let mut invalid = Invalid::default();
        let mut contact_ids = Vec::new();
        for id in &self.contact_ids {
            match input_id("contactIds", id, CONTACT) {
                Ok(uuid) => contact_ids.push(ContactId::from_uuid(uuid)),
                Err(e) => invalid.push(FieldError::new("contactIds", ErrorCode::Invalid, e.message)),
            }
        }
        let outcome = invalid
            .check(guanxi_domain::customers::customer::optional_text("outcome", self.outcome.as_deref(), 200))
            .flatten();
        if let Some(g) = self.location {
            invalid.check(guanxi_domain::customers::customer::parse_coordinates("location", g.latitude, g.longitude));
        }
        let fields = InteractionFields {
            channel: self.channel.into(),
            occurred_at: self.occurred_at.unwrap_or_else(Utc::now),
            content: self.content.clone(),
            outcome,
            next_follow_up_at: self.next_follow_up_at,
            contact_ids,
            latitude: self.location.map(|g| g.latitude),
            longitude: self.location.map(|g| g.longitude),
        };
        if let Err(more) = fields.check(Utc::now()) {
            invalid.0.extend(more.0);
        }
        invalid.into_result()?;
        Ok(fields)
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateInteractionInput {
    /// A UUIDv7 the client made for the record (an app offline refers to it before it
    /// syncs): the record gets it, so its global id is known in advance. Another record
    /// with it is `DUPLICATE`; retry with the same `idempotencyKey` instead.
    pub id: Option<String>,
    pub customer_id: ID,
    #[graphql(flatten)]
    pub interaction: InteractionInput,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

crate::graphql::error::payload! {
    InteractionPayload, interaction: Interaction(DomainInteraction)
}

/// One record from an outside channel.
#[derive(InputObject, Serialize)]
pub struct IngestInteractionInput {
    /// The channel's name, e.g. `wecom-archive`, `call-center`.
    pub source: String,
    /// The record's id in that channel; with `source`, the key that makes ingest idempotent.
    pub external_id: String,
    /// The customer, when the channel knows it.
    pub customer_id: Option<ID>,
    /// Otherwise, a phone number of the customer or of one of its contacts…
    pub phone: Option<String>,
    /// …or a contact's email.
    pub email: Option<String>,
    #[graphql(flatten)]
    pub interaction: InteractionInput,
}

#[derive(InputObject)]
pub struct IngestInteractionsInput {
    /// At most 1,000 records.
    pub records: Vec<IngestInteractionInput>,
}

#[derive(SimpleObject)]
pub struct IngestResult {
    /// The record's position in the input.
    index: i32,
    interaction: Option<Interaction>,
    /// false when the record was ingested before (same source and external id) or failed.
    created: bool,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct IngestInteractionsPayload {
    results: Vec<IngestResult>,
    created_count: i32,
    existing_count: i32,
    failed_count: i32,
}

#[derive(Default)]
pub struct InteractionMutation;

#[Object]
impl InteractionMutation {
    /// Records an interaction; the customer's last-interaction time (and next follow-up,
    /// when given) change in the same transaction.
    pub(crate) async fn create_interaction(
        &self,
        ctx: &Context<'_>,
        input: CreateInteractionInput,
    ) -> ApiResult<InteractionPayload> {
        let actor = require(ctx, Permission::InteractionWrite)?.clone();
        let customer = input_id("customerId", &input.customer_id, CUSTOMER);
        let fields = input.interaction.parse();
        let (customer, fields, id) = match (customer, fields, client_id(input.id.as_deref())) {
            (Ok(c), Ok(f), Ok(id)) => (c, f, id),
            (c, f, id) => {
                let mut all: Vec<UserError> = c.err().into_iter().chain(id.err()).collect();
                if let Err(e) = f {
                    all.extend(UserError::all(e));
                }
                return Ok(Err(all).into());
            }
        };
        let author = author(ctx, &actor);
        let rule = actor.customer_write_rule();
        let tenant = actor.tenant_id;
        let origin = Origin { author_id: Some(actor.user_id), source: "manual".into(), external_id: None, id };
        let idempotent = Idempotent::new(&actor, "createInteraction", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let created = guanxi_store::activity::interaction::create(
                        tx,
                        &author,
                        rule,
                        CustomerId::from_uuid(customer),
                        fields,
                        origin,
                    )
                    .await?;
                    Ok((created.id.uuid(), created))
                })
            },
            move |tx, id| {
                Box::pin(async move {
                    guanxi_store::activity::interaction::find(tx, tenant, rule, id)
                        .await?
                        .ok_or(guanxi_store::StoreError::NotFound)
                })
            },
        )
        .await?;
        Ok(result.into())
    }

    /// Ingests up to 1,000 records from an outside channel, keyed by `(source, externalId)`:
    /// a record seen before is returned as it is (`created: false`), so a repeated batch
    /// creates nothing. A record without `customerId` is matched by phone or email, or
    /// reported. A record in error is reported in its result and the others are written,
    /// all in one transaction with their change events.
    async fn ingest_interactions(
        &self,
        ctx: &Context<'_>,
        input: IngestInteractionsInput,
    ) -> ApiResult<IngestInteractionsPayload> {
        use guanxi_store::activity::interaction::{IngestRecord, Ingested};
        let actor = require(ctx, Permission::InteractionWrite)?.clone();
        if input.records.len() > MAX_INGEST {
            return Err(ApiError::BadUserInput(format!("at most {MAX_INGEST} records per call")));
        }
        let app = state(ctx);
        let author = author(ctx, &actor);
        let rule = actor.customer_write_rule();
        let conn = app.db.connection();
        // Results by position: records whose key cannot be read are answered here, the
        // rest by the store.
        let mut results: Vec<Option<IngestResult>> = Vec::with_capacity(input.records.len());
        let mut batch: Vec<(i32, IngestRecord)> = Vec::new();
        let mut matched: HashMap<(Option<String>, Option<String>), Option<CustomerId>> = HashMap::new();
        for (index, record) in input.records.into_iter().enumerate() {
            let index = index as i32;
            let failed =
                |errors: Vec<UserError>| IngestResult { index, interaction: None, created: false, user_errors: errors };
            let source = match parse_source("source", &record.source) {
                Ok(s) => s,
                Err(e) => {
                    results.push(Some(failed(vec![UserError::new(&e.field, e.code, e.message)])));
                    continue;
                }
            };
            let external_id = record.external_id.trim().to_owned();
            if external_id.is_empty() || external_id.len() > 200 {
                results.push(Some(failed(vec![UserError::new(
                    "externalId",
                    ErrorCode::Invalid,
                    "1 to 200 characters",
                )])));
                continue;
            }
            let customer = match &record.customer_id {
                Some(id) => input_id("customerId", id, CUSTOMER)
                    .map(CustomerId::from_uuid)
                    .map_err(|_| Invalid::one("customerId", ErrorCode::Invalid, "not a Customer id")),
                None => {
                    let phone = record
                        .phone
                        .as_deref()
                        .and_then(|p| PhoneNumber::parse("phone", p).ok())
                        .map(PhoneNumber::into_inner);
                    let key = (phone, record.email.clone());
                    let found = match matched.get(&key) {
                        Some(found) => *found,
                        None => {
                            let found = guanxi_store::activity::interaction::match_customer(
                                conn,
                                actor.tenant_id,
                                key.0.as_deref(),
                                key.1.as_deref(),
                            )
                            .await?;
                            matched.insert(key, found);
                            found
                        }
                    };
                    found.ok_or_else(|| {
                        Invalid::one(
                            "customerId",
                            ErrorCode::NotFound,
                            "no single customer matches this phone or email; give customerId",
                        )
                    })
                }
            };
            let parsed = customer.and_then(|c| record.interaction.parse().map(|f| (c, f)));
            results.push(None);
            batch.push((index, IngestRecord { source, external_id, author_id: None, parsed }));
        }
        let (indexes, records): (Vec<i32>, Vec<IngestRecord>) = batch.into_iter().unzip();
        let tx = app.db.begin_tenant_write(actor.tenant_id).await?;
        let outcomes = guanxi_store::activity::interaction::ingest(&tx, &author, rule, records).await?;
        tx.commit().await?;
        for (index, outcome) in indexes.into_iter().zip(outcomes) {
            results[index as usize] = Some(match outcome {
                Ingested::Created(created) => {
                    IngestResult { index, interaction: Some(Interaction(created)), created: true, user_errors: vec![] }
                }
                Ingested::Existing(seen) => {
                    IngestResult { index, interaction: seen.map(Interaction), created: false, user_errors: vec![] }
                }
                Ingested::Rejected(invalid) => {
                    IngestResult { index, interaction: None, created: false, user_errors: UserError::all(invalid) }
                }
            });
        }
        let results: Vec<IngestResult> = results.into_iter().flatten().collect();
        let created_count = results.iter().filter(|r| r.created).count() as i32;
        let failed_count = results.iter().filter(|r| !r.user_errors.is_empty()).count() as i32;
        let existing_count = results.len() as i32 - created_count - failed_count;
        Ok(IngestInteractionsPayload { results, created_count, existing_count, failed_count })
    }
}
