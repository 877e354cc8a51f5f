//! Work-order writes: taking a request, one mutation per move of the state machine, parts
//! and fees, payment and satisfaction; and the `workOrderUpdated` subscription.
//!
//! Every write takes the version the caller read, so of two racing moves exactly one
//! wins; each takes an optional idempotency key, so a technician's app that retries on a
//! weak network gets the first result back instead of a conflict.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use guanxi_domain::platform::access::{Actor, Permission};
use guanxi_domain::service::work_order::{Doer, ItemInput, Request, Transition, WorkOrder as DomainWorkOrder};
use guanxi_store::service::work_order::{Move, NewWorkOrder, Settlement, WorkOrders};
use guanxi_store::service::work_order_edit::RequestEdit;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::asset::ASSET;
use super::work_order::{
    PaymentMethod, ServiceChannel, WORK_ORDER, WorkOrder, WorkOrderItemKind, WorkOrderPriority, WorkOrderType,
    work_order_scope,
};
use crate::graphql::context::{author, require};
use crate::graphql::customers::customer::CUSTOMER;
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::mutation::{Idempotent, reload_scoped, write};
use crate::graphql::platform::audit::{FeedStart, feed_start};
use crate::graphql::platform::org::USER;
use crate::graphql::relay::input_id;
use crate::graphql::trade::document::PRODUCT;

#[derive(InputObject, Serialize)]
pub struct CreateWorkOrderInput {
    pub customer_id: ID,
    pub contact_id: Option<ID>,
    /// The asset to repair; its product, address and warranty are used.
    pub asset_id: Option<ID>,
    /// The product, when no asset is registered.
    pub product_id: Option<ID>,
    pub channel: ServiceChannel,
    #[graphql(name = "type")]
    pub kind: WorkOrderType,
    #[graphql(default_with = "WorkOrderPriority::Normal")]
    pub priority: WorkOrderPriority,
    pub subject: String,
    pub description: Option<String>,
    /// Uploads (photos of the fault…).
    #[graphql(default)]
    pub attachment_ids: Vec<ID>,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    /// The service address; the asset's, else the customer's, when not given.
    pub address: Option<String>,
    /// The region dispatch matches on; the customer's when not given.
    pub region: Option<String>,
    /// The ERP's or call centre's reference; unique per tenant.
    pub external_id: Option<String>,
    /// A complaint (type COMPLAINT): the customer's order it is about. A complaint tells
    /// its agent and their manager.
    pub complaint_of: Option<ID>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

impl CreateWorkOrderInput {
    fn to_new(&self) -> Result<NewWorkOrder, Vec<UserError>> {
        let mut errors = Vec::new();
        let mut id =
            |field: &str, value: &ID, kind: &str| input_id(field, value, kind).map_err(|e| errors.push(e)).ok();
        let customer = id("customerId", &self.customer_id, CUSTOMER);
        let contact = self
            .contact_id
            .as_ref()
            .and_then(|c| id("contactId", c, guanxi_domain::entity::EntityKind::Contact.name()));
        let asset = self.asset_id.as_ref().and_then(|a| id("assetId", a, ASSET));
        let product = self.product_id.as_ref().and_then(|p| id("productId", p, PRODUCT));
        let complaint_of = self.complaint_of.as_ref().and_then(|o| id("complaintOf", o, WORK_ORDER));
        let attachments: Vec<Uuid> = (self.attachment_ids.iter())
            .filter_map(|a| id("attachmentIds", a, guanxi_domain::entity::EntityKind::Attachment.name()))
            .collect();
        let Some(customer) = customer.filter(|_| errors.is_empty()) else { return Err(errors) };
        Ok(NewWorkOrder {
            request: Request {
                customer_id: customer.into(),
                contact_id: contact.map(Into::into),
                asset_id: asset.map(Into::into),
                product_id: product.map(Into::into),
                channel: self.channel.into(),
                kind: self.kind.into(),
                priority: self.priority.into(),
                subject: self.subject.clone(),
                description: self.description.clone(),
                attachment_ids: attachments,
                window_from: self.window_from,
                window_to: self.window_to,
                address: self.address.clone(),
                region: self.region.clone(),
            },
            external_id: self.external_id.clone(),
            complaint_of,
        })
    }
}

/// An edit of an order's request: fields left out stay as they are; null clears one.
#[derive(InputObject, Serialize)]
pub struct UpdateWorkOrderInput {
    pub id: ID,
    pub expected_version: i32,
    pub subject: Option<String>,
    #[serde(skip)]
    pub description: MaybeUndefined<String>,
    /// A new priority counts the deadlines again from when the order was taken.
    pub priority: Option<WorkOrderPriority>,
    /// The customer's window; give both ends (null clears it).
    #[serde(skip)]
    pub window_from: MaybeUndefined<DateTime<Utc>>,
    #[serde(skip)]
    pub window_to: MaybeUndefined<DateTime<Utc>>,
    #[serde(skip)]
    pub address: MaybeUndefined<String>,
    #[serde(skip)]
    pub region: MaybeUndefined<String>,
}

impl UpdateWorkOrderInput {
    fn to_edit(&self) -> RequestEdit {
        let given = |value: &MaybeUndefined<String>| match value {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(v) => Some(Some(v.clone())),
        };
        let window = match (&self.window_from, &self.window_to) {
            (MaybeUndefined::Undefined, MaybeUndefined::Undefined) => None,
            (from, to) => Some((from.value().copied(), to.value().copied())),
        };
        RequestEdit {
            subject: self.subject.clone(),
            description: given(&self.description),
            priority: self.priority.map(Into::into),
            window,
            address: given(&self.address),
            region: given(&self.region),
        }
    }
}

/// A move that needs nothing but the order: accept, start travel, start, confirm, close,
/// resume.
#[derive(InputObject, Serialize)]
pub struct WorkOrderMoveInput {
    pub id: ID,
    pub expected_version: i32,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct DispatchWorkOrderInput {
    pub id: ID,
    pub expected_version: i32,
    /// An active technician (see `suggestTechnicians`).
    pub technician_id: ID,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// Hold, cancel and reopen: with a reason.
#[derive(InputObject, Serialize)]
pub struct WorkOrderReasonInput {
    pub id: ID,
    pub expected_version: i32,
    pub reason: String,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct CompleteWorkOrderInput {
    pub id: ID,
    pub expected_version: i32,
    /// What was done (处理结果).
    pub resolution: String,
    /// What was wrong (故障原因).
    pub root_cause: Option<String>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct WorkOrderItemInput {
    pub kind: WorkOrderItemKind,
    pub product_id: Option<ID>,
    /// Required unless a product is named (its name is used).
    #[graphql(default)]
    pub name: String,
    pub quantity: Decimal,
    /// A part's price each; the product's list price when not given. Ignored for packing.
    pub unit_price: Option<Decimal>,
    pub serial_number: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct SetWorkOrderItemsInput {
    pub id: ID,
    pub expected_version: i32,
    /// Replaces every line.
    pub items: Vec<WorkOrderItemInput>,
    /// The labour fee (人工费), to the fen.
    #[graphql(default)]
    pub labour: Decimal,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct RecordWorkOrderPaymentInput {
    pub id: ID,
    pub expected_version: i32,
    pub method: PaymentMethod,
    /// What was paid: exactly what the order charges.
    pub amount: Decimal,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct RateWorkOrderInput {
    pub id: ID,
    pub expected_version: i32,
    /// 1 to 5.
    pub score: i16,
    pub comment: Option<String>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

crate::graphql::error::payload! {
    WorkOrderPayload, work_order: WorkOrder(DomainWorkOrder)
}

/// The caller's standing for a move; whether they are the order's technician is added
/// by the store, which reads the order.
fn doer(actor: &Actor) -> Doer {
    Doer {
        is_technician: false,
        may_write: actor.may(Permission::WorkOrderWrite),
        may_dispatch: actor.may(Permission::WorkOrderDispatch),
        may_supervise: actor.may(Permission::WorkOrderSupervise),
        is_customer: false,
    }
}

/// A write to the work order `id` names, through the caller's scope, with the version
/// they read and their idempotency key; the reload returns the order as it is now.
async fn write_order<F>(
    ctx: &Context<'_>,
    (operation, id, key): (&'static str, &ID, Option<&str>),
    input: &impl Serialize,
    work: F,
) -> ApiResult<WorkOrderPayload>
where
    F: for<'t> FnOnce(
            &'t guanxi_store::DatabaseTransaction,
            guanxi_store::platform::audit::Author,
            guanxi_domain::entity::Assigned,
            Actor,
            Uuid,
        ) -> futures::future::BoxFuture<'t, guanxi_store::StoreResult<DomainWorkOrder>>
        + Send
        + 'static,
{
    let actor = require(ctx, Permission::WorkOrderRead)?.writing();
    let id = match input_id("id", id, WORK_ORDER) {
        Ok(id) => id,
        Err(e) => return Ok(Err(vec![e]).into()),
    };
    let (author, scope, tenant) = (author(ctx, &actor), work_order_scope(&actor), actor.tenant_id);
    let idempotent = Idempotent::new(&actor, operation, key, input);
    let result = write(
        ctx,
        idempotent,
        move |tx| {
            Box::pin(async move {
                let written = work(tx, author, scope, actor, id).await?;
                Ok((written.id.uuid(), written))
            })
        },
        reload_scoped::<WorkOrders>(tenant, scope),
    )
    .await?;
    Ok(result.into())
}

/// One move of the state machine.
async fn move_order(
    ctx: &Context<'_>,
    transition: Transition,
    (id, version, key): (&ID, i32, Option<&str>),
    input: &impl Serialize,
    details: Move,
) -> ApiResult<WorkOrderPayload> {
    write_order(ctx, (transition.mutation(), id, key), input, move |tx, author, scope, actor, id| {
        Box::pin(async move {
            let how = (transition, doer(&actor));
            guanxi_store::service::work_order::transition(tx, &author, scope, (id, version), how, details).await
        })
    })
    .await
}

#[derive(Default)]
pub struct WorkOrderMutation;

#[Object]
impl WorkOrderMutation {
    /// Edits an open order's request (`workorder.write`, through the caller's own scopes:
    /// being its technician is not enough): subject, description, priority, window,
    /// address and region. A new priority moves the deadlines still ahead.
    async fn update_work_order(&self, ctx: &Context<'_>, input: UpdateWorkOrderInput) -> ApiResult<WorkOrderPayload> {
        require(ctx, Permission::WorkOrderWrite)?;
        let (edit, version) = (input.to_edit(), input.expected_version);
        write_order(ctx, ("updateWorkOrder", &input.id, None), &input, move |tx, author, scope, _, id| {
            let own = guanxi_domain::entity::Assigned { technician: Uuid::nil(), ..scope };
            Box::pin(async move {
                guanxi_store::service::work_order_edit::update(tx, &author, own, (id, version), edit).await
            })
        })
        .await
    }

    /// Takes a service request for a customer the caller sees (`workorder.write`). Its
    /// coverage (warranty, service contract or none) is decided now.
    async fn create_work_order(&self, ctx: &Context<'_>, input: CreateWorkOrderInput) -> ApiResult<WorkOrderPayload> {
        let actor = require(ctx, Permission::WorkOrderWrite)?.writing();
        let new = match input.to_new() {
            Ok(new) => new,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let (author, tenant) = (author(ctx, &actor), actor.tenant_id);
        let customers = super::asset::customer_write_scope(&actor);
        let scope = work_order_scope(&actor);
        let idempotent = Idempotent::new(&actor, "createWorkOrder", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let created = guanxi_store::service::work_order::create(tx, &author, customers, new).await?;
                    Ok((created.id.uuid(), created))
                })
            },
            reload_scoped::<WorkOrders>(tenant, scope),
        )
        .await?;
        Ok(result.into())
    }

    /// SUBMITTED → ACCEPTED (`workorder.write`).
    async fn accept_work_order(&self, ctx: &Context<'_>, input: WorkOrderMoveInput) -> ApiResult<WorkOrderPayload> {
        let key = (&input.id, input.expected_version, input.idempotency_key.as_deref());
        move_order(ctx, Transition::Accept, key, &input, Move::default()).await
    }

    /// Assigns a technician: ACCEPTED or REOPENED → DISPATCHED, or again to another
    /// technician before work starts (`workorder.dispatch`).
    async fn dispatch_work_order(
        &self,
        ctx: &Context<'_>,
        input: DispatchWorkOrderInput,
    ) -> ApiResult<WorkOrderPayload> {
        let technician = match input_id("technicianId", &input.technician_id, USER) {
            Ok(t) => t,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let key = (&input.id, input.expected_version, input.idempotency_key.as_deref());
        let details = Move { technician_id: Some(technician), ..Move::default() };
        move_order(ctx, Transition::Dispatch, key, &input, details).await
    }

    /// DISPATCHED → EN_ROUTE: the technician sets out (the assigned technician).
    async fn start_travel(&self, ctx: &Context<'_>, input: WorkOrderMoveInput) -> ApiResult<WorkOrderPayload> {
        let key = (&input.id, input.expected_version, input.idempotency_key.as_deref());
        move_order(ctx, Transition::StartTravel, key, &input, Move::default()).await
    }

    /// DISPATCHED or EN_ROUTE → IN_PROGRESS (the assigned technician).
    async fn start_work_order(&self, ctx: &Context<'_>, input: WorkOrderMoveInput) -> ApiResult<WorkOrderPayload> {
        let key = (&input.id, input.expected_version, input.idempotency_key.as_deref());
        move_order(ctx, Transition::Start, key, &input, Move::default()).await
    }

    /// IN_PROGRESS → COMPLETED, with what was done (the assigned technician, or
    /// `workorder.supervise`).
    async fn complete_work_order(
        &self,
        ctx: &Context<'_>,
        input: CompleteWorkOrderInput,
    ) -> ApiResult<WorkOrderPayload> {
        let key = (&input.id, input.expected_version, input.idempotency_key.as_deref());
        let details = Move {
            resolution: Some(input.resolution.clone()),
            root_cause: input.root_cause.clone(),
            ..Move::default()
        };
        move_order(ctx, Transition::Complete, key, &input, details).await
    }

    /// COMPLETED → CONFIRMED: the customer confirmed the work (`workorder.write`).
    async fn confirm_work_order(&self, ctx: &Context<'_>, input: WorkOrderMoveInput) -> ApiResult<WorkOrderPayload> {
        let key = (&input.id, input.expected_version, input.idempotency_key.as_deref());
        move_order(ctx, Transition::Confirm, key, &input, Move::default()).await
    }

    /// CONFIRMED → CLOSED (`workorder.write`), or COMPLETED → CLOSED without the
    /// customer's confirmation (`workorder.supervise`).
    async fn close_work_order(&self, ctx: &Context<'_>, input: WorkOrderMoveInput) -> ApiResult<WorkOrderPayload> {
        let key = (&input.id, input.expected_version, input.idempotency_key.as_deref());
        move_order(ctx, Transition::Close, key, &input, Move::default()).await
    }

    /// → CANCELLED with a reason, before work starts (`workorder.write`; once dispatched,
    /// `workorder.dispatch`).
    async fn cancel_work_order(&self, ctx: &Context<'_>, input: WorkOrderReasonInput) -> ApiResult<WorkOrderPayload> {
        let key = (&input.id, input.expected_version, input.idempotency_key.as_deref());
        let details = Move { reason: Some(input.reason.clone()), ..Move::default() };
        move_order(ctx, Transition::Cancel, key, &input, details).await
    }

    /// → ON_HOLD with a reason (`workorder.write` or the assigned technician).
    async fn hold_work_order(&self, ctx: &Context<'_>, input: WorkOrderReasonInput) -> ApiResult<WorkOrderPayload> {
        let key = (&input.id, input.expected_version, input.idempotency_key.as_deref());
        let details = Move { reason: Some(input.reason.clone()), ..Move::default() };
        move_order(ctx, Transition::Hold, key, &input, details).await
    }

    /// ON_HOLD → where it was held from.
    async fn resume_work_order(&self, ctx: &Context<'_>, input: WorkOrderMoveInput) -> ApiResult<WorkOrderPayload> {
        let key = (&input.id, input.expected_version, input.idempotency_key.as_deref());
        move_order(ctx, Transition::Resume, key, &input, Move::default()).await
    }

    /// COMPLETED or CONFIRMED → REOPENED with a reason, within the tenant's
    /// `workOrderReopenDays` of completion (`workorder.write`).
    async fn reopen_work_order(&self, ctx: &Context<'_>, input: WorkOrderReasonInput) -> ApiResult<WorkOrderPayload> {
        let key = (&input.id, input.expected_version, input.idempotency_key.as_deref());
        let details = Move { reason: Some(input.reason.clone()), ..Move::default() };
        move_order(ctx, Transition::Reopen, key, &input, details).await
    }

    /// Replaces the parts used and the packing list and sets the labour fee; what the
    /// customer owes follows from the coverage (`workorder.write`, or the assigned
    /// technician). Read the lines back from `workOrder.items`.
    async fn set_work_order_items(
        &self,
        ctx: &Context<'_>,
        input: SetWorkOrderItemsInput,
    ) -> ApiResult<WorkOrderPayload> {
        let mut errors = Vec::new();
        let items: Vec<ItemInput> = (input.items.iter().enumerate())
            .map(|(n, item)| ItemInput {
                kind: item.kind.into(),
                product_id: (item.product_id.as_ref())
                    .and_then(|p| {
                        input_id(&format!("items.{n}.productId"), p, PRODUCT).map_err(|e| errors.push(e)).ok()
                    })
                    .map(Into::into),
                name: item.name.clone(),
                quantity: item.quantity,
                unit_price: item.unit_price,
                serial_number: item.serial_number.clone(),
            })
            .collect();
        if !errors.is_empty() {
            return Ok(Err(errors).into());
        }
        let (version, labour) = (input.expected_version, input.labour);
        let key = ("setWorkOrderItems", &input.id, input.idempotency_key.as_deref());
        write_order(ctx, key, &input, move |tx, author, scope, actor, id| {
            Box::pin(async move {
                let order = guanxi_store::service::work_order::find(tx, author.tenant_id, scope, id).await?;
                let assigned = order.is_some_and(|o| o.technician_id == Some(actor.user_id));
                if !assigned && !actor.may(Permission::WorkOrderWrite) {
                    return Err(guanxi_store::StoreError::rejected(
                        "id",
                        guanxi_domain::ErrorCode::Forbidden,
                        "parts and fees are set with workorder.write or by the assigned technician",
                    ));
                }
                let set = (items, labour);
                let (after, _) =
                    guanxi_store::service::work_order::set_items(tx, &author, scope, (id, version), set).await?;
                Ok(after)
            })
        })
        .await
    }

    /// Records that the customer paid what the order charges (`workorder.write`).
    async fn record_work_order_payment(
        &self,
        ctx: &Context<'_>,
        input: RecordWorkOrderPaymentInput,
    ) -> ApiResult<WorkOrderPayload> {
        require(ctx, Permission::WorkOrderWrite)?;
        let (version, paid) = (input.expected_version, (Settlement::Paid(input.method.into()), Some(input.amount)));
        let key = ("recordWorkOrderPayment", &input.id, input.idempotency_key.as_deref());
        write_order(ctx, key, &input, move |tx, author, scope, _, id| {
            Box::pin(
                async move { guanxi_store::service::work_order::settle(tx, &author, scope, (id, version), paid).await },
            )
        })
        .await
    }

    /// Lets the customer off what the order charges (`workorder.supervise`).
    async fn waive_work_order_fee(&self, ctx: &Context<'_>, input: WorkOrderMoveInput) -> ApiResult<WorkOrderPayload> {
        require(ctx, Permission::WorkOrderSupervise)?;
        let version = input.expected_version;
        let key = ("waiveWorkOrderFee", &input.id, input.idempotency_key.as_deref());
        write_order(ctx, key, &input, move |tx, author, scope, _, id| {
            Box::pin(async move {
                let waived = (Settlement::Waived, None);
                guanxi_store::service::work_order::settle(tx, &author, scope, (id, version), waived).await
            })
        })
        .await
    }

    /// Records the customer's satisfaction (满意度) with a completed order, as staff took
    /// it (`workorder.write`).
    async fn rate_work_order(&self, ctx: &Context<'_>, input: RateWorkOrderInput) -> ApiResult<WorkOrderPayload> {
        require(ctx, Permission::WorkOrderWrite)?;
        let (version, rating) = (input.expected_version, (input.score, input.comment.clone()));
        let key = ("rateWorkOrder", &input.id, input.idempotency_key.as_deref());
        write_order(ctx, key, &input, move |tx, author, scope, _, id| {
            Box::pin(
                async move { guanxi_store::service::work_order::rate(tx, &author, scope, (id, version), rating).await },
            )
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------
// Subscription

#[derive(Default)]
pub struct WorkOrderSubscription;

#[Subscription]
impl WorkOrderSubscription {
    /// Each work order the caller sees (in their scope, or assigned to them) as it is
    /// taken or changes, from now on (`workorder.read`). Authenticate in
    /// `connection_init` with `{"Authorization": "Bearer <token>"}`.
    async fn work_order_updated(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = WorkOrder>, ApiError> {
        let actor = require(ctx, Permission::WorkOrderRead)?.clone();
        let FeedStart { credential, app, poll, seq: start } = feed_start(ctx, &actor).await?;
        let tenant = actor.tenant_id;
        Ok(futures::stream::unfold((start, Vec::<DomainWorkOrder>::new()), move |(mut last, mut pending)| {
            let (app, credential) = (app.clone(), credential.clone());
            async move {
                loop {
                    if !pending.is_empty() {
                        let next = pending.remove(0);
                        return Some((WorkOrder(next), (last, pending)));
                    }
                    tokio::time::sleep(poll).await;
                    // Logout, a disabled account or a lost permission ends the stream.
                    let actor =
                        crate::graphql::platform::audit::still_valid(&app.db, tenant, &credential).await.ok()??;
                    if !actor.may(Permission::WorkOrderRead) {
                        return None;
                    }
                    let conn = app.db.connection();
                    let kind = guanxi_domain::entity::EntityKind::WorkOrder;
                    let (ids, read_up_to) =
                        guanxi_store::platform::audit::changed_since(conn, tenant, kind, last, 200).await.ok()?;
                    last = read_up_to.unwrap_or(last);
                    let scope = work_order_scope(&actor);
                    let mut found = guanxi_store::service::work_order::by_ids(conn, tenant, scope, &ids).await.ok()?;
                    found.sort_by_key(|o| ids.iter().position(|id| *id == o.id.uuid()));
                    pending = found;
                }
            }
        }))
    }
}
