//! The customer's own channel (客户自助服务) over GraphQL. Staff issue a portal token to a
//! customer's contact (`issuePortalToken`, `revokePortalToken`, `portalTokens`); a client
//! app sends it as `Authorization: Bearer gxp_…` and may then call only the `portal…`
//! fields here and `myServiceRequest…`: file and follow the customer's requests, confirm
//! and rate the work, complain, and read public articles. Every staff field refuses such a
//! caller as UNAUTHENTICATED, since it has no actor.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::access::Permission;
use guanxi_domain::service::knowledge::Article as DomainArticle;
use guanxi_domain::service::portal::{
    PortalSession, PortalToken as DomainToken, PortalTokenStatus as DomainTokenStatus, check_label, check_lifetime,
};
use guanxi_domain::service::work_order::{Request, WorkOrder as DomainWorkOrder, WorkOrderStatus as DomainStatus};
use guanxi_store::Database;
use guanxi_store::service::knowledge::{ArticleFilter as StoreArticleFilter, Articles, Readers};
use guanxi_store::service::portal as store;
use guanxi_store::service::work_order::{WorkOrderFilter, WorkOrderSort, WorkOrders};
use serde::Serialize;
use uuid::Uuid;

use super::asset::ASSET;
use super::knowledge::{ARTICLE, ARTICLE_CATEGORY};
use super::work_order::{WORK_ORDER, WorkOrderStatus, WorkOrderType};
use crate::auth::{OpaqueKind, new_opaque};
use crate::graphql::context::{author, caller, portal, require, state};
use crate::graphql::customers::contact::CONTACT;
use crate::graphql::customers::customer::Money;
use crate::graphql::error::{ApiError, ApiResult, Outcome, UserError, payload};
use crate::graphql::mutation::{Idempotent, transact, write};
use crate::graphql::relay::{Conn, expect_id, global_id, input_id, listed, page_request};
use crate::graphql::shared::OrderDirection;
use crate::graphql::trade::document::PRODUCT;

pub const PORTAL_TOKEN: &str = "PortalToken";

// ---------------------------------------------------------------------------------------
// Staff: tokens

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainTokenStatus")]
pub enum PortalTokenStatus {
    Active,
    Expired,
    Revoked,
}

/// A portal token as staff see it: never its secret, which is shown once when issued.
pub struct PortalToken(pub DomainToken);

#[Object]
impl PortalToken {
    async fn id(&self) -> ID {
        global_id(PORTAL_TOKEN, self.0.id)
    }
    async fn contact_id(&self) -> ID {
        global_id(CONTACT, self.0.contact_id.uuid())
    }
    /// What staff call it (微信服务号, 官网表单…).
    async fn label(&self) -> Option<&str> {
        self.0.label.as_deref()
    }
    /// The first characters of the token, to tell tokens apart.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn status(&self) -> PortalTokenStatus {
        self.0.status(Utc::now()).into()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// Noted at most every five minutes.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

#[derive(InputObject)]
pub struct IssuePortalTokenInput {
    /// The customer's contact the token speaks for.
    pub contact_id: ID,
    pub label: Option<String>,
    /// 1 to 366.
    #[graphql(default = 90)]
    pub expires_in_days: i32,
}

#[derive(SimpleObject)]
pub struct IssuePortalTokenPayload {
    /// The token itself (`gxp_…`), shown this once: only its hash is kept.
    token: Option<String>,
    portal_token: Option<PortalToken>,
    user_errors: Vec<UserError>,
}

payload!(PortalTokenPayload, portal_token: PortalToken(DomainToken));

#[derive(Default)]
pub struct PortalTokenQuery;

#[Object]
impl PortalTokenQuery {
    /// A contact's portal tokens, newest first (`workorder.read`; the caller sees the
    /// contact, deleted or not).
    async fn portal_tokens(&self, ctx: &Context<'_>, contact_id: ID) -> ApiResult<Vec<PortalToken>> {
        let actor = require(ctx, Permission::WorkOrderRead)?;
        let contact = expect_id(&contact_id, CONTACT)?;
        let contacts = crate::graphql::loaders::contact_scope(actor);
        let found = store::tokens_of(state(ctx).db.connection(), actor.tenant_id, contacts, contact).await;
        match found {
            Ok(tokens) => Ok(tokens.into_iter().map(PortalToken).collect()),
            Err(guanxi_store::StoreError::Rejected(_)) => Err(ApiError::NotFound),
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(Default)]
pub struct PortalTokenMutation;

#[Object]
impl PortalTokenMutation {
    /// Issues a portal token to a customer's contact the caller sees (`service.manage`):
    /// with it, a client app files and follows that customer's service requests. The
    /// token is returned this once; it expires, and `revokePortalToken` ends it at once.
    async fn issue_portal_token(
        &self,
        ctx: &Context<'_>,
        input: IssuePortalTokenInput,
    ) -> ApiResult<IssuePortalTokenPayload> {
        let actor = require(ctx, Permission::ServiceManage)?;
        let mut errors = Vec::new();
        let contact = input_id("contactId", &input.contact_id, CONTACT).map_err(|e| errors.push(e)).ok();
        let lifetime = check_lifetime(input.expires_in_days).map_err(|e| errors.extend(UserError::all(e.into()))).ok();
        let label = check_label(input.label.as_deref()).map_err(|e| errors.extend(UserError::all(e.into()))).ok();
        let (Some(contact), Some(lifetime), Some(label)) = (contact, lifetime, label) else {
            return Ok(IssuePortalTokenPayload { token: None, portal_token: None, user_errors: errors });
        };
        let secret = new_opaque(OpaqueKind::Portal, actor.tenant_id);
        // A credential outlives any share: issuing one stays with the owner side.
        let contacts = guanxi_domain::entity::OwnerAndCustomer {
            owner: actor.scope_rule(guanxi_domain::platform::access::Module::Contact),
            customer: actor.customer_owner_rule(),
        };
        let (author, contacts) = (author(ctx, actor), contacts);
        let (hash, prefix) = (secret.hash.clone(), secret.display_prefix.clone());
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                let new = store::NewToken { secret_hash: &hash, prefix: &prefix, label, lifetime };
                store::issue(tx, &author, contacts, contact, new).await
            })
        })
        .await?;
        Ok(match result {
            Ok(token) => IssuePortalTokenPayload {
                token: Some(secret.token),
                portal_token: Some(PortalToken(token)),
                user_errors: vec![],
            },
            Err(errors) => IssuePortalTokenPayload { token: None, portal_token: None, user_errors: errors },
        })
    }

    /// Revokes a portal token of a contact the caller sees, even a deleted one
    /// (`service.manage`): its next request is refused, and its live subscriptions end.
    async fn revoke_portal_token(&self, ctx: &Context<'_>, id: ID) -> ApiResult<PortalTokenPayload> {
        crate::graphql::mutation::write_by_id(
            ctx,
            Permission::ServiceManage,
            (&id, PORTAL_TOKEN),
            crate::graphql::loaders::contact_scope,
            |tx, author, contacts, id| Box::pin(async move { store::revoke(tx, &author, contacts, id).await }),
        )
        .await
    }
}

// ---------------------------------------------------------------------------------------
// The portal: what a customer sees

/// The technicians' names a portal request shows (its only lookup).
pub struct PortalLoader {
    db: Database,
    tenant: TenantId,
}

/// A technician's name, by user id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TechnicianName(pub Uuid);

impl Loader<TechnicianName> for PortalLoader {
    type Value = String;
    type Error = ApiError;

    async fn load(&self, keys: &[TechnicianName]) -> Result<HashMap<TechnicianName, String>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let names = guanxi_store::platform::user::display_names(self.db.connection(), self.tenant, &ids).await?;
        Ok(names.into_iter().map(|(id, name)| (TechnicianName(id), name)).collect())
    }
}

/// The loader of a portal request (or subscription).
pub fn loader(db: Database, session: &PortalSession, delay: std::time::Duration) -> DataLoader<PortalLoader> {
    DataLoader::new(PortalLoader { db, tenant: session.tenant_id }, crate::telemetry::spawn_counted).delay(delay)
}

/// A service request as its customer sees it: where it stands, who comes and when, what
/// was done and what it costs — none of the staff's own fields.
pub struct ServiceRequest(pub DomainWorkOrder);

#[Object]
impl ServiceRequest {
    /// The work order's id.
    async fn id(&self) -> ID {
        global_id(WORK_ORDER, self.0.id.uuid())
    }
    async fn number(&self) -> &str {
        &self.0.number
    }
    async fn status(&self) -> WorkOrderStatus {
        self.0.status.into()
    }
    #[graphql(name = "type")]
    async fn kind(&self) -> WorkOrderType {
        self.0.request.kind.into()
    }
    async fn subject(&self) -> &str {
        &self.0.request.subject
    }
    async fn description(&self) -> Option<&str> {
        self.0.request.description.as_deref()
    }
    async fn address(&self) -> Option<&str> {
        self.0.request.address.as_deref()
    }
    /// The window asked for (预约时间).
    async fn window_from(&self) -> Option<DateTime<Utc>> {
        self.0.request.window_from
    }
    async fn window_to(&self) -> Option<DateTime<Utc>> {
        self.0.request.window_to
    }
    /// The technician's name, once one is dispatched.
    async fn technician_name(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let Some(technician) = self.0.technician_id else { return Ok(None) };
        let loader = ctx.data::<DataLoader<PortalLoader>>().map_err(|_| ApiError::NotFound)?;
        Ok(loader.load_one(TechnicianName(technician.uuid())).await?)
    }
    /// Why it is on hold or cancelled.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    async fn dispatched_at(&self) -> Option<DateTime<Utc>> {
        self.0.milestones.dispatched_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.milestones.completed_at
    }
    async fn confirmed_at(&self) -> Option<DateTime<Utc>> {
        self.0.milestones.confirmed_at
    }
    /// What was done.
    async fn resolution(&self) -> Option<&str> {
        self.0.resolution.as_deref()
    }
    /// Whether warranty or a service contract pays, in words.
    async fn coverage(&self) -> &str {
        &self.0.coverage.reason
    }
    /// What the customer pays.
    async fn charge(&self) -> Money {
        Money::cny(self.0.fees.charge)
    }
    async fn payment_status(&self) -> super::work_order::PaymentStatus {
        self.0.payment_status.into()
    }
    async fn satisfaction(&self) -> Option<i16> {
        self.0.satisfaction
    }
    async fn satisfaction_comment(&self) -> Option<&str> {
        self.0.satisfaction_comment.as_deref()
    }
    /// Whether the customer may confirm the work now (`confirmCompletion`).
    async fn can_confirm(&self) -> bool {
        self.0.status == DomainStatus::Completed
    }
    /// A complaint: the request it is about.
    async fn complaint_of(&self) -> Option<ID> {
        self.0.complaint_of.map(|o| global_id(WORK_ORDER, o.uuid()))
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
}

/// A published public article (公开知识库文章), as customers read it.
pub struct PublicArticle(pub DomainArticle);

#[Object]
impl PublicArticle {
    async fn id(&self) -> ID {
        global_id(ARTICLE, self.0.id.uuid())
    }
    async fn title(&self) -> &str {
        &self.0.fields.title
    }
    /// Markdown.
    async fn body(&self) -> &str {
        &self.0.fields.body
    }
    async fn category_id(&self) -> Option<ID> {
        self.0.fields.category_id.map(|c| global_id(ARTICLE_CATEGORY, c.uuid()))
    }
    async fn tags(&self) -> &[String] {
        &self.0.fields.tags
    }
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Who the portal token speaks for.
#[derive(SimpleObject)]
pub struct PortalIdentity {
    contact_name: String,
    customer_name: String,
}

#[derive(Default)]
pub struct PortalQuery;

#[Object]
impl PortalQuery {
    /// The contact and customer the portal token speaks for.
    async fn portal_identity(&self, ctx: &Context<'_>) -> ApiResult<PortalIdentity> {
        let session = portal(ctx)?;
        let conn = state(ctx).db.connection();
        let everything = guanxi_domain::entity::OwnerAndCustomer::ALL;
        let contact =
            guanxi_store::customers::contact::find(conn, session.tenant_id, everything, session.contact_id.uuid());
        let customer = guanxi_store::customers::customer::find(
            conn,
            session.tenant_id,
            guanxi_domain::platform::access::CustomerRule::ALL,
            session.customer_id.uuid(),
        );
        let (contact, customer) = futures::try_join!(contact, customer)?;
        Ok(PortalIdentity {
            contact_name: contact.map(|c| c.fields.name).unwrap_or_default(),
            customer_name: customer.map(|c| c.fields.name).unwrap_or_default(),
        })
    }

    /// The customer's service requests, newest first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn my_service_requests(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<WorkOrderStatus>>,
    ) -> ApiResult<Conn<ServiceRequest>> {
        let session = portal(ctx)?;
        let filter = WorkOrderFilter {
            customer_id: Some(guanxi_store::filter::IdFilter {
                eq: Some(session.customer_id.uuid()),
                ..Default::default()
            }),
            status: status.map(|s| s.into_iter().map(Into::into).collect()),
            ..Default::default()
        };
        let request = page_request(first.or(Some(20)), after, None, None, "CREATED_AT")?;
        let query = (
            guanxi_store::service::work_order::EVERY_ORDER,
            filter,
            (WorkOrderSort::CreatedAt, OrderDirection::Desc.into()),
        );
        listed::<WorkOrders, _>(&state(ctx).db, session.tenant_id, query, &request, ServiceRequest).await
    }

    /// One of the customer's service requests; another customer's is NOT_FOUND.
    async fn my_service_request(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ServiceRequest> {
        let session = portal(ctx)?;
        let id = expect_id(&id, WORK_ORDER)?;
        Ok(ServiceRequest(store::request(state(ctx).db.connection(), session, id).await?))
    }

    /// Published public articles, most recently updated first; `search` finds any
    /// substring of a title or body.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn portal_articles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
        category_id: Option<ID>,
    ) -> ApiResult<Conn<PublicArticle>> {
        let session = portal(ctx)?;
        let filter = StoreArticleFilter {
            search,
            category_id: category_id.as_ref().map(|c| expect_id(c, ARTICLE_CATEGORY)).transpose()?,
            ..Default::default()
        };
        let request = page_request(first, after, None, None, "UPDATED_AT")?;
        let query = (Readers::Public, filter, OrderDirection::Desc.into());
        listed::<Articles, _>(&state(ctx).db, session.tenant_id, query, &request, PublicArticle).await
    }

    /// A published public article.
    async fn portal_article(&self, ctx: &Context<'_>, id: ID) -> ApiResult<PublicArticle> {
        let session = portal(ctx)?;
        let id = expect_id(&id, ARTICLE)?;
        let conn = state(ctx).db.connection();
        let found = guanxi_store::repo::find::<Articles, _>(conn, session.tenant_id, Readers::Public, id).await?;
        found.filter(|a| a.deleted_at.is_none()).map(PublicArticle).ok_or(ApiError::NotFound)
    }
}

#[derive(InputObject, Serialize)]
pub struct SubmitServiceRequestInput {
    /// One of the customer's registered products (its warranty decides the fee).
    pub asset_id: Option<ID>,
    /// The product, when no asset is registered.
    pub product_id: Option<ID>,
    #[graphql(name = "type", default_with = "WorkOrderType::Repair")]
    pub kind: WorkOrderType,
    pub subject: String,
    pub description: Option<String>,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    /// Where to come; the asset's or the customer's address when not given.
    pub address: Option<String>,
    /// Retries with the same key file one request.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct ConfirmCompletionInput {
    pub id: ID,
    pub expected_version: i32,
}

#[derive(InputObject)]
pub struct RateServiceInput {
    pub id: ID,
    pub expected_version: i32,
    /// 1 to 5.
    pub score: i32,
    pub comment: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct FileComplaintInput {
    /// The request complained about, if any.
    pub work_order_id: Option<ID>,
    /// What went wrong.
    pub description: String,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

payload!(ServiceRequestPayload, service_request: ServiceRequest(DomainWorkOrder));

/// The portal caller, their write's author, and a write transaction's result.
async fn portal_write<F>(ctx: &Context<'_>, work: F) -> ApiResult<ServiceRequestPayload>
where
    F: for<'t> FnOnce(
            &'t guanxi_store::DatabaseTransaction,
            PortalSession,
            guanxi_store::platform::audit::Author,
        ) -> futures::future::BoxFuture<'t, guanxi_store::StoreResult<DomainWorkOrder>>
        + Send,
{
    let session = *portal(ctx)?;
    let author = store::author(&session, caller(ctx).and_then(|c| c.request_id.clone()));
    let result: Outcome<DomainWorkOrder> = transact(ctx, move |tx| work(tx, session, author)).await?;
    Ok(result.into())
}

#[derive(Default)]
pub struct PortalMutation;

#[Object]
impl PortalMutation {
    /// Files a service request (报修) for the token's customer: coverage, deadlines and
    /// the agent who takes it are decided as for any order, and the agent is told.
    async fn submit_service_request(
        &self,
        ctx: &Context<'_>,
        input: SubmitServiceRequestInput,
    ) -> ApiResult<ServiceRequestPayload> {
        let session = *portal(ctx)?;
        let mut errors = Vec::new();
        let asset =
            input.asset_id.as_ref().and_then(|a| input_id("assetId", a, ASSET).map_err(|e| errors.push(e)).ok());
        let product =
            input.product_id.as_ref().and_then(|p| input_id("productId", p, PRODUCT).map_err(|e| errors.push(e)).ok());
        if input.kind == WorkOrderType::Complaint {
            errors.push(UserError::new(
                "type",
                guanxi_domain::ErrorCode::Invalid,
                "file a complaint with `fileComplaint`",
            ));
        }
        if !errors.is_empty() {
            return Ok(Err(errors).into());
        }
        let request = Request {
            customer_id: session.customer_id,
            contact_id: Some(session.contact_id),
            asset_id: asset.map(Into::into),
            product_id: product.map(Into::into),
            channel: guanxi_domain::service::work_order::ServiceChannel::Portal,
            kind: input.kind.into(),
            priority: guanxi_domain::service::work_order::Priority::Normal,
            subject: input.subject.clone(),
            description: input.description.clone(),
            attachment_ids: vec![],
            window_from: input.window_from,
            window_to: input.window_to,
            address: input.address.clone(),
            region: None,
        };
        let author = store::author(&session, caller(ctx).and_then(|c| c.request_id.clone()));
        let idempotent = Idempotent::portal(&session, "submitServiceRequest", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move { store::submit(tx, &session, &author, request).await.map(|o| (o.id.uuid(), o)) })
            },
            move |tx, id| Box::pin(async move { store::request(tx, &session, id).await }),
        )
        .await?;
        Ok(result.into())
    }

    /// Confirms the work on one of the customer's completed requests (完工确认).
    async fn confirm_completion(
        &self,
        ctx: &Context<'_>,
        input: ConfirmCompletionInput,
    ) -> ApiResult<ServiceRequestPayload> {
        let id = match input_id("id", &input.id, WORK_ORDER) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let version = input.expected_version;
        portal_write(ctx, move |tx, session, author| {
            Box::pin(async move { store::confirm(tx, &session, &author, (id, version)).await })
        })
        .await
    }

    /// Rates one of the customer's completed requests (满意度): 1 to 5, with words.
    async fn rate_service(&self, ctx: &Context<'_>, input: RateServiceInput) -> ApiResult<ServiceRequestPayload> {
        let id = match input_id("id", &input.id, WORK_ORDER) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let score = i16::try_from(input.score).unwrap_or(0);
        let (version, comment) = (input.expected_version, input.comment);
        portal_write(ctx, move |tx, session, author| {
            Box::pin(async move { store::rate(tx, &session, &author, (id, version), (score, comment)).await })
        })
        .await
    }

    /// Files a complaint (投诉), about one of the customer's requests or in general: a
    /// high-priority COMPLAINT order whose agent and their manager are told.
    async fn file_complaint(&self, ctx: &Context<'_>, input: FileComplaintInput) -> ApiResult<ServiceRequestPayload> {
        let session = *portal(ctx)?;
        let about = match input.work_order_id.as_ref().map(|o| input_id("workOrderId", o, WORK_ORDER)).transpose() {
            Ok(about) => about,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = store::author(&session, caller(ctx).and_then(|c| c.request_id.clone()));
        let idempotent = Idempotent::portal(&session, "fileComplaint", input.idempotency_key.as_deref(), &input);
        let text = input.description.clone();
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(
                    async move { store::complain(tx, &session, &author, about, &text).await.map(|o| (o.id.uuid(), o)) },
                )
            },
            move |tx, id| Box::pin(async move { store::request(tx, &session, id).await }),
        )
        .await?;
        Ok(result.into())
    }
}

#[derive(Default)]
pub struct PortalSubscription;

#[Subscription]
impl PortalSubscription {
    /// The customer's service requests as they are filed or change, from now on.
    /// Authenticate in `connection_init` with `{"Authorization": "Bearer gxp_…"}`; a
    /// revoked or expired token ends the stream.
    async fn my_service_request_updated(
        &self,
        ctx: &Context<'_>,
    ) -> Result<impl Stream<Item = ServiceRequest>, ApiError> {
        let session = *portal(ctx)?;
        let Some(crate::graphql::context::Credential::Portal { secret_hash }) =
            caller(ctx).and_then(|c| c.credential.clone())
        else {
            return Err(ApiError::Unauthenticated("send a portal token".into()));
        };
        let app = state(ctx).clone();
        let poll = std::time::Duration::from_millis(app.config.subscription_poll_ms.max(50));
        let tenant = session.tenant_id;
        let start =
            guanxi_store::platform::tenant::find(app.db.connection(), tenant).await?.map(|t| t.change_seq).unwrap_or(0);
        Ok(futures::stream::unfold((start, Vec::<DomainWorkOrder>::new()), move |(mut last, mut pending)| {
            let (app, secret_hash) = (app.clone(), secret_hash.clone());
            async move {
                loop {
                    if !pending.is_empty() {
                        return Some((ServiceRequest(pending.remove(0)), (last, pending)));
                    }
                    tokio::time::sleep(poll).await;
                    let conn = app.db.connection();
                    // A revoked or expired token ends the stream.
                    let (now, _) = store::session(conn, tenant, &secret_hash).await.ok()??;
                    let kind = guanxi_domain::entity::EntityKind::WorkOrder;
                    let (ids, read_up_to) =
                        guanxi_store::platform::audit::changed_since(conn, tenant, kind, last, 200).await.ok()?;
                    last = read_up_to.unwrap_or(last);
                    let mut found = store::requests_among(conn, &now, &ids).await.ok()?;
                    found.sort_by_key(|o| ids.iter().position(|id| *id == o.id.uuid()));
                    pending = found;
                }
            }
        }))
    }
}
