//! Collaboration requests over GraphQL (协作申请, the answer to 撞单): a rep whose new
//! customer, import row or lead conversion met a customer someone else owns asks to work
//! it (`requestCollaboration`, with the id the duplicate match gives); its owner, or a
//! manager whose scope holds it, accepts — sharing the customer — or declines; the
//! requester may withdraw. `collaborationRequests` lists what the caller sent or received.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::platform::access::{Permission, ShareAccess as DomainAccess};
use guanxi_domain::sharing::request::{CollaborationRequest as DomainRequest, Decision, RequestStatus as DomainStatus};
use guanxi_store::sharing::request as store;

use super::collaborator::ShareAccess;
use crate::graphql::context::{author, require, state};
use crate::graphql::customers::customer::{CUSTOMER, Customer};
use crate::graphql::error::{ApiResult, Outcome, UserError};
use crate::graphql::finance::approval::{Participant, participant};
use crate::graphql::loaders::CustomerKey;
use crate::graphql::mutation::transact;
use crate::graphql::relay::{global_id, input_id};
use crate::graphql::trade::document::loaders;

/// The global-id name of a request (a row of its customer's, not a kind of its own).
pub const REQUEST: &str = "CollaborationRequest";

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainStatus", name = "CollaborationRequestStatus")]
pub enum RequestStatus {
    /// 待处理
    Pending,
    /// 已同意: the customer is shared with the requester.
    Accepted,
    /// 已拒绝
    Declined,
    /// 已撤回
    Withdrawn,
}

/// Which requests: those the caller sent, or those on customers the caller holds.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum RequestDirection {
    Sent,
    Received,
}

/// A request to work a customer with its owner.
pub struct CollaborationRequest(pub DomainRequest);

#[Object]
impl CollaborationRequest {
    async fn id(&self) -> ID {
        global_id(REQUEST, self.0.id)
    }
    async fn customer_id(&self) -> ID {
        global_id(CUSTOMER, self.0.customer_id.uuid())
    }
    /// Null while the caller does not see it (the requester, until accepted).
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loaders(ctx)?.load_one(CustomerKey(self.0.customer_id.uuid())).await?.map(Customer))
    }
    /// Who asks, by display name.
    async fn requester(&self, ctx: &Context<'_>) -> ApiResult<Option<Participant>> {
        participant(ctx, Some(self.0.requester_id)).await
    }
    /// Asked for, or granted once accepted.
    async fn access(&self) -> ShareAccess {
        self.0.access.into()
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    async fn status(&self) -> RequestStatus {
        self.0.status.into()
    }
    /// Who decided, by display name, for callers who may look colleagues up (`org.read`).
    async fn decided_by(&self, ctx: &Context<'_>) -> ApiResult<Option<Participant>> {
        if !crate::graphql::context::actor(ctx)?.may(Permission::OrgRead) {
            return Ok(None);
        }
        participant(ctx, self.0.decided_by).await
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    /// The decider's note (why declined, say).
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject)]
pub struct RequestCollaborationInput {
    /// The customer, as a duplicate match names it (`customerId`).
    pub customer_id: ID,
    pub reason: String,
    #[graphql(default_with = "ShareAccess::ReadWrite")]
    pub access: ShareAccess,
}

#[derive(InputObject)]
pub struct DecideCollaborationInput {
    pub id: ID,
    pub expected_version: i32,
    /// Accepting: the access granted (at most what was asked; default what was asked).
    pub access: Option<ShareAccess>,
    /// Accepting: until when the share holds (default: no end).
    pub expires_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

#[derive(SimpleObject)]
pub struct CollaborationRequestPayload {
    request: Option<CollaborationRequest>,
    user_errors: Vec<UserError>,
}

impl From<Outcome<DomainRequest>> for CollaborationRequestPayload {
    fn from(outcome: Outcome<DomainRequest>) -> Self {
        match outcome {
            Ok(r) => Self { request: Some(CollaborationRequest(r)), user_errors: vec![] },
            Err(user_errors) => Self { request: None, user_errors },
        }
    }
}

#[derive(Default)]
pub struct RequestQuery;

#[Object]
impl RequestQuery {
    /// Collaboration requests the caller sent, or received on customers they hold (their
    /// own `CUSTOMER` scope, shares aside), newest first, at most 200 (`customer.read`).
    async fn collaboration_requests(
        &self,
        ctx: &Context<'_>,
        direction: RequestDirection,
        status: Option<RequestStatus>,
    ) -> ApiResult<Vec<CollaborationRequest>> {
        let actor = require(ctx, Permission::CustomerRead)?;
        let conn = state(ctx).db.connection();
        let status = status.map(Into::into);
        let found = match direction {
            RequestDirection::Sent => store::sent(conn, actor.tenant_id, actor.user_id, status).await?,
            RequestDirection::Received => {
                store::received(conn, actor.tenant_id, actor.customer_owner_rule(), status).await?
            }
        };
        Ok(found.into_iter().map(CollaborationRequest).collect())
    }
}

#[derive(Default)]
pub struct RequestMutation;

#[Object]
impl RequestMutation {
    /// Asks the owner of a customer the caller does not see to work it together
    /// (`customer.read`): one request waits per customer and requester.
    async fn request_collaboration(
        &self,
        ctx: &Context<'_>,
        input: RequestCollaborationInput,
    ) -> ApiResult<CollaborationRequestPayload> {
        let actor = require(ctx, Permission::CustomerRead)?;
        let customer = match input_id("customerId", &input.customer_id, CUSTOMER) {
            Ok(c) => c,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let (author, who) = (author(ctx, actor), (actor.user_id, actor.customer_rule()));
        let (access, reason): (DomainAccess, String) = (input.access.into(), input.reason);
        let outcome = transact(ctx, move |tx| {
            Box::pin(async move { store::ask(tx, &author, who, customer, access, &reason).await })
        })
        .await?;
        Ok(outcome.into())
    }

    /// Accepts a request on a customer the caller holds (`customer.update`): the customer
    /// is shared with the requester.
    async fn accept_collaboration_request(
        &self,
        ctx: &Context<'_>,
        input: DecideCollaborationInput,
    ) -> ApiResult<CollaborationRequestPayload> {
        decide(ctx, Permission::CustomerUpdate, input, Decision::Accept).await
    }

    /// Declines a request on a customer the caller holds (`customer.update`), with a note.
    async fn decline_collaboration_request(
        &self,
        ctx: &Context<'_>,
        input: DecideCollaborationInput,
    ) -> ApiResult<CollaborationRequestPayload> {
        decide(ctx, Permission::CustomerUpdate, input, Decision::Decline).await
    }

    /// Withdraws the caller's own request while it waits.
    async fn withdraw_collaboration_request(
        &self,
        ctx: &Context<'_>,
        input: DecideCollaborationInput,
    ) -> ApiResult<CollaborationRequestPayload> {
        decide(ctx, Permission::CustomerRead, input, Decision::Withdraw).await
    }
}

async fn decide(
    ctx: &Context<'_>,
    permission: Permission,
    input: DecideCollaborationInput,
    decision: Decision,
) -> ApiResult<CollaborationRequestPayload> {
    let actor = require(ctx, permission)?;
    let id = match input_id("id", &input.id, REQUEST) {
        Ok(id) => id,
        Err(e) => return Ok(Err(vec![e]).into()),
    };
    let (author, owner_side) = (author(ctx, actor), actor.customer_owner_rule());
    let terms = (input.access.map(Into::into), input.expires_at, input.note);
    let version = input.expected_version;
    let outcome = transact(ctx, move |tx| {
        Box::pin(async move { store::decide(tx, &author, owner_side, (id, version), decision, terms).await })
    })
    .await?;
    Ok(outcome.into())
}
