//! Webhooks (推送), managed by whoever holds `webhook.manage`: endpoints, their secrets
//! (shown once, rotated with an overlap), their deliveries with every attempt, and
//! redelivery. The sending is `crate::webhooks`; the rules are
//! [`guanxi_domain::platform::webhook`].

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Duration, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::platform::access::Permission;
use guanxi_domain::platform::webhook::{
    self as rules, Attempt, Delivery, DeliveryStatus, Endpoint, EndpointStatus, MAX_IN_FLIGHT, MAX_OVERLAP_HOURS,
};
use guanxi_store::platform::webhook::{EndpointChanges, NewEndpoint, Redeliver};
use uuid::Uuid;

use crate::graphql::context::{author, require, state};
use crate::graphql::error::{ApiError, ApiResult, Outcome, UserError};
use crate::graphql::integration::feed::FeedKind;
use crate::graphql::loaders::{Loaders, UserKey};
use crate::graphql::mutation::{transact, write_by_id};
use crate::graphql::platform::org::User;
use crate::graphql::relay::{Conn, TotalCount, connection, expect_id, global_id, input_id, page_request};

pub const WEBHOOK_ENDPOINT: &str = EntityKind::WebhookEndpoint.name();
/// What a delivery's id (the `webhook-id` header) starts with.
const MESSAGE_PREFIX: &str = "msg_";

/// The `webhook-id` of a delivery: the same on every attempt and every redelivery.
pub fn message_id(delivery: Uuid) -> String {
    format!("{MESSAGE_PREFIX}{}", delivery.simple())
}

fn parse_message_id(id: &str) -> Option<Uuid> {
    Uuid::try_parse(id.strip_prefix(MESSAGE_PREFIX)?).ok()
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "guanxi_domain::platform::webhook::EndpointStatus")]
pub enum WebhookEndpointStatus {
    Active,
    /// Switched off by an admin, or by the server after a day of failing every attempt
    /// (see `disabledReason`); `enableWebhookEndpoint` switches it back on.
    Disabled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "guanxi_domain::platform::webhook::DeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Waiting for its first or next attempt.
    Pending,
    Delivered,
    /// Given up after a day of failures; `redeliverWebhook` sends it again.
    Dead,
}

/// A receiver of the tenant's changes (Webhook 推送地址). It is sent the changes of the
/// `kinds` it asks for, of records the user it receives as (who registered it) may see,
/// as Standard Webhooks messages signed with its secret.
pub struct WebhookEndpoint(pub Endpoint);

#[Object]
impl WebhookEndpoint {
    pub async fn id(&self) -> ID {
        global_id(WEBHOOK_ENDPOINT, self.0.id)
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn kinds(&self) -> Vec<FeedKind> {
        self.0.kinds.iter().filter_map(|k| FeedKind::of(*k)).collect()
    }
    /// The user it receives as: it is sent what they may see.
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let loaders = ctx.data_opt::<Loaders>().ok_or(ApiError::NotFound)?;
        Ok(loaders.load_one(UserKey(self.0.user_id)).await?.map(User))
    }
    /// How many messages it is sent at once, at most.
    async fn max_in_flight(&self) -> i32 {
        self.0.max_in_flight
    }
    async fn status(&self) -> WebhookEndpointStatus {
        self.0.status.into()
    }
    /// Why the server switched it off.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    async fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.0.disabled_at
    }
    /// Since when every attempt has failed; null once one succeeds. A day of this
    /// disables the endpoint.
    async fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.0.failing_since
    }
    async fn last_success_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_success_at
    }
    /// Until when the previous secret still signs beside the current one.
    async fn previous_secret_until(&self) -> Option<DateTime<Utc>> {
        self.0.previous_secret_until
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// One message to one endpoint: a change, sent until the endpoint answers 2xx or a day of
/// retries has passed.
pub struct WebhookDelivery {
    delivery: Delivery,
    attempts: Vec<Attempt>,
}

#[Object]
impl WebhookDelivery {
    /// The message's `webhook-id`, the same on every attempt: a receiver that has seen it
    /// drops the repeat.
    async fn id(&self) -> ID {
        ID(message_id(self.delivery.id))
    }
    /// E.g. `customer.updated`.
    async fn event_type(&self) -> &str {
        &self.delivery.event_type
    }
    /// The changed record's global id.
    async fn subject_id(&self) -> ID {
        global_id(self.delivery.entity.name(), self.delivery.entity_id)
    }
    /// The change's place in the tenant's change log.
    async fn seq(&self) -> i64 {
        self.delivery.seq
    }
    async fn status(&self) -> WebhookDeliveryStatus {
        self.delivery.status.into()
    }
    async fn attempt_count(&self) -> i32 {
        self.delivery.attempts
    }
    /// When it is next attempted, while pending.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.delivery.status == DeliveryStatus::Pending).then_some(self.delivery.next_attempt_at)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.delivery.created_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.delivery.delivered_at
    }
    /// The JSON body the endpoint is sent.
    async fn payload(&self) -> String {
        self.delivery.payload.to_string()
    }
    /// Every attempt, oldest first.
    async fn attempts(&self) -> Vec<WebhookAttempt> {
        self.attempts.iter().cloned().map(WebhookAttempt).collect()
    }
}

pub struct WebhookAttempt(Attempt);

#[Object]
impl WebhookAttempt {
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// How long the endpoint took to answer, or to fail.
    async fn duration_ms(&self) -> i32 {
        self.0.duration_ms
    }
    /// The HTTP status it answered; null when it did not (a timeout, a refused connection).
    async fn response_status(&self) -> Option<i32> {
        self.0.response_status
    }
    /// Why it failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn succeeded(&self) -> bool {
        self.0.succeeded
    }
}

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// `https://…`; plain `http://` only to this machine (tests, a local relay).
    pub url: String,
    pub description: Option<String>,
    /// The kinds of record whose changes it is sent.
    pub kinds: Vec<FeedKind>,
    /// 1 to 16 messages at once; 4 by default.
    pub max_in_flight: Option<i32>,
}

#[derive(SimpleObject)]
pub struct CreateWebhookEndpointPayload {
    webhook_endpoint: Option<WebhookEndpoint>,
    /// The signing secret (`whsec_…`). Shown only now; store it with the receiver.
    secret: Option<String>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    pub id: ID,
    pub expected_version: i32,
    pub url: Option<String>,
    pub description: MaybeUndefined<String>,
    pub kinds: Option<Vec<FeedKind>>,
    pub max_in_flight: Option<i32>,
}

#[derive(InputObject)]
pub struct RotateWebhookSecretInput {
    pub id: ID,
    /// How many hours (0 to 72) the old secret keeps signing beside the new one.
    #[graphql(default = 24)]
    pub overlap_hours: i32,
}

#[derive(SimpleObject)]
pub struct RotateWebhookSecretPayload {
    webhook_endpoint: Option<WebhookEndpoint>,
    /// The new secret. Shown only now.
    secret: Option<String>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct WebhookEndpointIdInput {
    pub id: ID,
}

#[derive(InputObject)]
pub struct RedeliverWebhookInput {
    /// The delivery's id (its `webhook-id`).
    pub delivery_id: ID,
}

#[derive(InputObject)]
pub struct RedeliverWebhooksInput {
    pub endpoint_id: ID,
    /// The deliveries created in `[from, to)` that were delivered or dead-lettered.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct RedeliverWebhooksPayload {
    /// How many messages go out again.
    redelivered: Option<i32>,
    user_errors: Vec<UserError>,
}

impl From<Outcome<u64>> for RedeliverWebhooksPayload {
    fn from(outcome: Outcome<u64>) -> Self {
        match outcome {
            Ok(n) => Self { redelivered: Some(i32::try_from(n).unwrap_or(i32::MAX)), user_errors: vec![] },
            Err(user_errors) => Self { redelivered: None, user_errors },
        }
    }
}

crate::graphql::error::payload! {
    WebhookEndpointPayload, webhook_endpoint: WebhookEndpoint(Endpoint)
}

/// A new signing secret from the operating system's randomness.
fn new_secret() -> String {
    rules::secret_from(&rand::random::<[u8; 32]>())
}

fn entity_kinds(kinds: &[FeedKind], errors: &mut Vec<UserError>) -> Vec<EntityKind> {
    if kinds.is_empty() {
        errors.push(UserError::new("kinds", ErrorCode::Required, "name at least one kind of record"));
    }
    let mut out: Vec<EntityKind> = Vec::new();
    for kind in kinds.iter().map(|k| k.entity()) {
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    out
}

fn in_flight(value: Option<i32>, errors: &mut Vec<UserError>) -> Option<i32> {
    let value = value?;
    if !(1..=MAX_IN_FLIGHT).contains(&value) {
        errors.push(UserError::new("maxInFlight", ErrorCode::Invalid, format!("1 to {MAX_IN_FLIGHT}")));
    }
    Some(value)
}

fn description(value: Option<String>, errors: &mut Vec<UserError>) -> Option<String> {
    let value = value.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty())?;
    if value.chars().count() > 200 {
        errors.push(UserError::new("description", ErrorCode::Invalid, "at most 200 characters"));
    }
    Some(value)
}

fn url(value: &str, errors: &mut Vec<UserError>) -> String {
    rules::parse_url(value).unwrap_or_else(|e| {
        errors.push(UserError::new(&e.field, e.code, e.message));
        String::new()
    })
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Webhook endpoints, newest first.
    #[graphql(complexity = "first.or(last).unwrap_or(20) as usize * child_complexity")]
    async fn webhook_endpoints(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<Conn<WebhookEndpoint>> {
        let actor = require(ctx, Permission::WebhookManage)?;
        let request = page_request(first, after, last, before, "CREATED_AT")?;
        let db = state(ctx).db.clone();
        let tenant = actor.tenant_id;
        let page = guanxi_store::platform::webhook::list(db.connection(), tenant, &request).await?;
        let total = TotalCount::new(move |limit| {
            let db = db.clone();
            Box::pin(async move { guanxi_store::platform::webhook::count(db.connection(), tenant, limit).await })
        });
        Ok(connection(page, total, WebhookEndpoint))
    }

    async fn webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> ApiResult<WebhookEndpoint> {
        let actor = require(ctx, Permission::WebhookManage)?;
        let id = expect_id(&id, WEBHOOK_ENDPOINT)?;
        let found = guanxi_store::platform::webhook::find(state(ctx).db.connection(), actor.tenant_id, id).await?;
        found.map(WebhookEndpoint).ok_or(ApiError::NotFound)
    }

    /// An endpoint's deliveries, newest first, each with every attempt.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        status: Option<WebhookDeliveryStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<WebhookDelivery>> {
        let actor = require(ctx, Permission::WebhookManage)?;
        let endpoint = expect_id(&endpoint_id, WEBHOOK_ENDPOINT)?;
        let db = state(ctx).db.clone();
        let tenant = actor.tenant_id;
        use guanxi_store::platform::webhook as store;
        store::find(db.connection(), tenant, endpoint).await?.ok_or(ApiError::NotFound)?;
        let request = page_request(first, after, None, None, "CREATED_AT")?;
        let status = status.map(DeliveryStatus::from);
        let page = store::deliveries(db.connection(), tenant, endpoint, status, &request).await?;
        let ids: Vec<Uuid> = page.items.iter().map(|(_, d)| d.id).collect();
        let attempts: HashMap<Uuid, Vec<Attempt>> = store::attempts_of(db.connection(), tenant, &ids).await?;
        let total = TotalCount::new(move |limit| {
            let db = db.clone();
            Box::pin(async move { store::count_deliveries(db.connection(), tenant, endpoint, status, limit).await })
        });
        Ok(connection(page, total, |delivery| WebhookDelivery {
            attempts: attempts.get(&delivery.id).cloned().unwrap_or_default(),
            delivery,
        }))
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an endpoint, receiving as the caller. It is sent the changes committed
    /// from now on. The secret is in the payload, once.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> ApiResult<CreateWebhookEndpointPayload> {
        let actor = require(ctx, Permission::WebhookManage)?;
        let mut errors = Vec::new();
        let url = url(&input.url, &mut errors);
        let kinds = entity_kinds(&input.kinds, &mut errors);
        let max_in_flight = in_flight(input.max_in_flight, &mut errors).unwrap_or(rules::DEFAULT_IN_FLIGHT);
        let description = description(input.description, &mut errors);
        if !errors.is_empty() {
            return Ok(CreateWebhookEndpointPayload { webhook_endpoint: None, secret: None, user_errors: errors });
        }
        let secret = new_secret();
        let new = NewEndpoint { url, description, kinds, max_in_flight, secret: secret.clone() };
        let author = author(ctx, actor);
        let result = transact(ctx, |tx| {
            Box::pin(async move { guanxi_store::platform::webhook::create(tx, &author, new).await })
        })
        .await?;
        Ok(match result {
            Ok(endpoint) => CreateWebhookEndpointPayload {
                webhook_endpoint: Some(WebhookEndpoint(endpoint)),
                secret: Some(secret),
                user_errors: vec![],
            },
            Err(user_errors) => CreateWebhookEndpointPayload { webhook_endpoint: None, secret: None, user_errors },
        })
    }

    /// Changes an endpoint's URL, description, kinds or in-flight bound.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookEndpointInput,
    ) -> ApiResult<WebhookEndpointPayload> {
        let actor = require(ctx, Permission::WebhookManage)?;
        let mut errors = Vec::new();
        let id = input_id("id", &input.id, WEBHOOK_ENDPOINT).map_err(|e| errors.push(e)).ok();
        let changes = EndpointChanges {
            url: input.url.as_deref().map(|u| url(u, &mut errors)),
            description: match input.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(d) => Some(description(Some(d), &mut errors)),
            },
            kinds: input.kinds.as_deref().map(|k| entity_kinds(k, &mut errors)),
            max_in_flight: in_flight(input.max_in_flight, &mut errors),
        };
        let Some(id) = id.filter(|_| errors.is_empty()) else { return Ok(Err(errors).into()) };
        let (author, version) = (author(ctx, actor), input.expected_version);
        let result = transact(ctx, |tx| {
            Box::pin(async move { guanxi_store::platform::webhook::update(tx, &author, id, version, changes).await })
        })
        .await?;
        Ok(result.into())
    }

    /// Gives an endpoint a new secret, in the payload once. The old one keeps signing
    /// beside it for `overlapHours`: each message then carries both signatures, so the
    /// receiver can switch over without losing one.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        input: RotateWebhookSecretInput,
    ) -> ApiResult<RotateWebhookSecretPayload> {
        let actor = require(ctx, Permission::WebhookManage)?;
        let mut errors = Vec::new();
        let id = input_id("id", &input.id, WEBHOOK_ENDPOINT).map_err(|e| errors.push(e)).ok();
        if !(0..=MAX_OVERLAP_HOURS).contains(&input.overlap_hours) {
            errors.push(UserError::new("overlapHours", ErrorCode::Invalid, format!("0 to {MAX_OVERLAP_HOURS} hours")));
        }
        let Some(id) = id.filter(|_| errors.is_empty()) else {
            return Ok(RotateWebhookSecretPayload { webhook_endpoint: None, secret: None, user_errors: errors });
        };
        let secret = new_secret();
        let until = (input.overlap_hours > 0).then(|| Utc::now() + Duration::hours(i64::from(input.overlap_hours)));
        let (author, new) = (author(ctx, actor), secret.clone());
        let result = transact(ctx, |tx| {
            Box::pin(async move { guanxi_store::platform::webhook::rotate_secret(tx, &author, id, new, until).await })
        })
        .await?;
        Ok(match result {
            Ok(endpoint) => RotateWebhookSecretPayload {
                webhook_endpoint: Some(WebhookEndpoint(endpoint)),
                secret: Some(secret),
                user_errors: vec![],
            },
            Err(user_errors) => RotateWebhookSecretPayload { webhook_endpoint: None, secret: None, user_errors },
        })
    }

    /// Stops sending to an endpoint. Its changes keep queueing, and go out when it is
    /// enabled again.
    async fn disable_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointIdInput,
    ) -> ApiResult<WebhookEndpointPayload> {
        set_status(ctx, &input.id, EndpointStatus::Disabled).await
    }

    /// Sends to an endpoint again, from where it stopped; its failures are forgotten.
    async fn enable_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointIdInput,
    ) -> ApiResult<WebhookEndpointPayload> {
        set_status(ctx, &input.id, EndpointStatus::Active).await
    }

    /// Removes an endpoint: nothing more is sent to it.
    async fn delete_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointIdInput,
    ) -> ApiResult<WebhookEndpointPayload> {
        write_by_id(
            ctx,
            Permission::WebhookManage,
            (&input.id, WEBHOOK_ENDPOINT),
            |_| (),
            |tx, author, (), id| {
                Box::pin(async move { guanxi_store::platform::webhook::delete(tx, &author, id).await })
            },
        )
        .await
    }

    /// Sends one delivered or dead-lettered message again, with the same `webhook-id` and
    /// a fresh day of retries.
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        input: RedeliverWebhookInput,
    ) -> ApiResult<RedeliverWebhooksPayload> {
        let actor = require(ctx, Permission::WebhookManage)?;
        let not_found = || Ok(Err(vec![UserError::new("deliveryId", ErrorCode::NotFound, "no such delivery")]).into());
        let Some(id) = parse_message_id(input.delivery_id.as_str()) else { return not_found() };
        let db = &state(ctx).db;
        let Some(delivery) =
            guanxi_store::platform::webhook::find_delivery(db.connection(), actor.tenant_id, id).await?
        else {
            return not_found();
        };
        if delivery.status == DeliveryStatus::Pending {
            let message = "the message is still pending: it is being sent";
            return Ok(Err(vec![UserError::new("deliveryId", ErrorCode::IllegalState, message)]).into());
        }
        redeliver(ctx, delivery.endpoint_id, Redeliver::One(id)).await
    }

    /// Sends again an endpoint's messages created in `[from, to)` that were delivered or
    /// dead-lettered (at most 31 days at once), in the order of their changes.
    async fn redeliver_webhooks(
        &self,
        ctx: &Context<'_>,
        input: RedeliverWebhooksInput,
    ) -> ApiResult<RedeliverWebhooksPayload> {
        require(ctx, Permission::WebhookManage)?;
        let endpoint = match input_id("endpointId", &input.endpoint_id, WEBHOOK_ENDPOINT) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        if input.to <= input.from || input.to - input.from > Duration::days(31) {
            let message = "`to` must come after `from`, at most 31 days later";
            return Ok(Err(vec![UserError::new("to", ErrorCode::Invalid, message)]).into());
        }
        redeliver(ctx, endpoint, Redeliver::Range { from: input.from, to: input.to }).await
    }
}

async fn set_status(ctx: &Context<'_>, id: &ID, status: EndpointStatus) -> ApiResult<WebhookEndpointPayload> {
    write_by_id(
        ctx,
        Permission::WebhookManage,
        (id, WEBHOOK_ENDPOINT),
        |_| (),
        move |tx, author, (), id| {
            Box::pin(async move { guanxi_store::platform::webhook::set_status(tx, &author, id, status, None).await })
        },
    )
    .await
}

async fn redeliver(ctx: &Context<'_>, endpoint: Uuid, which: Redeliver) -> ApiResult<RedeliverWebhooksPayload> {
    let actor = require(ctx, Permission::WebhookManage)?;
    let author = author(ctx, actor);
    let result = transact(ctx, |tx| {
        Box::pin(async move { guanxi_store::platform::webhook::redeliver(tx, &author, endpoint, which).await })
    })
    .await?;
    Ok(result.into())
}
