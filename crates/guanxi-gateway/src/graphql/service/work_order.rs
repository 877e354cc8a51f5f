//! After-sales work orders (售后服务工单): the type, its loaders, and the queries (by id,
//! lists, dispatch suggestions, statistics). Moves are in `work_order_mutation`.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::entity::{Assigned, EntityKind};
use guanxi_domain::platform::access::{Actor, Permission};
use guanxi_domain::service::work_order::{
    Item as DomainItem, ItemKind as DomainItemKind, PaymentMethod as DomainPaymentMethod,
    PaymentStatus as DomainPaymentStatus, Priority as DomainPriority, ServiceChannel as DomainChannel,
    WorkOrder as DomainWorkOrder, WorkOrderStatus as DomainStatus, WorkOrderType as DomainType, next_states,
};
use guanxi_store::service::work_order::{WorkOrderFilter as StoreFilter, WorkOrderSort as StoreSort, WorkOrders};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::asset::{Asset, Coverage, asset_of, product_of};
use crate::graphql::context::{require, state};
use crate::graphql::customers::contact::Contact;
use crate::graphql::customers::customer::{CUSTOMER, Customer, Money};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::loaders::{ContactKey, CustomerKey, ScopedLoader, UserKey, grouped};
use crate::graphql::platform::org::{USER, User};
use crate::graphql::relay::{Conn, expect_id, global_id, listed, page_request, read_by_id};
use crate::graphql::shared::{IdFilter, OrderDirection, TimeRange};
use crate::graphql::trade::document::PRODUCT;
use crate::graphql::trade::document::loaders;
use crate::graphql::trade::product::Product;

pub const WORK_ORDER: &str = EntityKind::WorkOrder.name();

/// The scope work orders are read and moved with: the caller's `WORK_ORDER` scope and
/// `CUSTOMER` scope, or being the order's technician.
pub fn work_order_scope(actor: &Actor) -> Assigned {
    EntityKind::work_order_rules(actor)
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[graphql(remote = "DomainStatus")]
pub enum WorkOrderStatus {
    /// 待受理: reported, not yet taken.
    Submitted,
    /// 已受理
    Accepted,
    /// 已派工: a technician is assigned.
    Dispatched,
    /// 在途: the technician is on the way.
    EnRoute,
    /// 处理中
    InProgress,
    /// 已完工: the technician reported what was done.
    Completed,
    /// 客户已确认
    Confirmed,
    /// 已关闭
    Closed,
    /// 已取消
    Cancelled,
    /// 挂起: waiting (for parts, the customer…), with a reason; resumes where it was.
    OnHold,
    /// 已重开: reopened after completion, to be dispatched again.
    Reopened,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[graphql(remote = "guanxi_domain::service::sla::SlaStatus")]
pub enum SlaStatus {
    /// 正常
    OnTrack,
    /// 即将超时: less than a quarter of the time to a deadline is left.
    AtRisk,
    /// 已超时: a deadline was missed.
    Breached,
    /// 已达成: completed in time (or cancelled).
    Met,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[graphql(remote = "DomainChannel")]
pub enum ServiceChannel {
    Phone,
    Web,
    /// The customer's own channel.
    Portal,
    Wechat,
    Email,
    /// Taken on site.
    Field,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[graphql(remote = "DomainType")]
pub enum WorkOrderType {
    Repair,
    Installation,
    Maintenance,
    Inspection,
    Consultation,
    Complaint,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[graphql(remote = "DomainPriority")]
pub enum WorkOrderPriority {
    Low,
    Normal,
    High,
    Urgent,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[graphql(remote = "DomainPaymentStatus", name = "ServicePaymentStatus")]
pub enum PaymentStatus {
    /// Nothing to charge.
    NotDue,
    Unpaid,
    Paid,
    /// Let off by a supervisor (免收).
    Waived,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[graphql(remote = "DomainPaymentMethod", name = "ServicePaymentMethod")]
pub enum PaymentMethod {
    Cash,
    Wechat,
    Alipay,
    BankTransfer,
    Card,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[graphql(remote = "DomainItemKind")]
pub enum WorkOrderItemKind {
    /// 备件: a part used, charged unless covered.
    Part,
    /// 装箱单: an item brought to or left with the customer.
    Packing,
}

/// A part used or an item of the packing list.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct WorkOrderItem {
    kind: WorkOrderItemKind,
    #[graphql(skip)]
    product: Option<guanxi_domain::ids::ProductId>,
    name: String,
    quantity: Decimal,
    /// The price each, exactly as entered (up to four places).
    unit_price: Decimal,
    /// quantity × unit price, to the fen.
    amount: Money,
    serial_number: Option<String>,
}

#[async_graphql::ComplexObject]
impl WorkOrderItem {
    async fn product_id(&self) -> Option<ID> {
        self.product.map(|p| global_id(PRODUCT, p.uuid()))
    }
    async fn product(&self, ctx: &Context<'_>) -> ApiResult<Option<Product>> {
        product_of(ctx, self.product).await
    }
}

impl From<DomainItem> for WorkOrderItem {
    fn from(i: DomainItem) -> Self {
        Self {
            kind: i.kind.into(),
            product: i.product_id,
            name: i.name,
            quantity: i.quantity.normalize(),
            unit_price: i.unit_price.normalize(),
            amount: Money::cny(i.amount),
            serial_number: i.serial_number,
        }
    }
}

/// An after-sales work order (售后服务工单).
pub struct WorkOrder(pub DomainWorkOrder);

#[Object]
impl WorkOrder {
    pub async fn id(&self) -> ID {
        global_id(WORK_ORDER, self.0.id.uuid())
    }
    /// From the numbering rule (GD…).
    async fn number(&self) -> &str {
        &self.0.number
    }
    async fn status(&self) -> WorkOrderStatus {
        self.0.status.into()
    }
    /// The states it may move to next (who may move it is checked on each move).
    async fn next_statuses(&self) -> Vec<WorkOrderStatus> {
        next_states(self.0.status, self.0.held_from).into_iter().map(Into::into).collect()
    }
    /// Where an order on hold resumes.
    async fn held_from(&self) -> Option<WorkOrderStatus> {
        self.0.held_from.map(Into::into)
    }
    /// Why it is on hold, cancelled or reopened (the latest such reason).
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    async fn customer_id(&self) -> ID {
        global_id(CUSTOMER, self.0.request.customer_id.uuid())
    }
    /// The customer, when the caller sees it (a technician who only has the order sees
    /// its service address, not the card).
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loaders(ctx)?.load_one(CustomerKey(self.0.request.customer_id.uuid())).await?.map(Customer))
    }
    async fn contact(&self, ctx: &Context<'_>) -> ApiResult<Option<Contact>> {
        let Some(contact) = self.0.request.contact_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(ContactKey(contact.uuid())).await?.map(Contact))
    }
    async fn asset(&self, ctx: &Context<'_>) -> ApiResult<Option<Asset>> {
        asset_of(ctx, self.0.request.asset_id).await
    }
    async fn product(&self, ctx: &Context<'_>) -> ApiResult<Option<Product>> {
        product_of(ctx, self.0.request.product_id).await
    }
    async fn channel(&self) -> ServiceChannel {
        self.0.request.channel.into()
    }
    #[graphql(name = "type")]
    async fn kind(&self) -> WorkOrderType {
        self.0.request.kind.into()
    }
    async fn priority(&self) -> WorkOrderPriority {
        self.0.request.priority.into()
    }
    async fn subject(&self) -> &str {
        &self.0.request.subject
    }
    async fn description(&self) -> Option<&str> {
        self.0.request.description.as_deref()
    }
    /// Uploads (photos of the fault…), by their global ids.
    async fn attachment_ids(&self) -> Vec<ID> {
        self.0.request.attachment_ids.iter().map(|a| global_id(EntityKind::Attachment.name(), *a)).collect()
    }
    /// The window the customer asked for (预约时间).
    async fn window_from(&self) -> Option<DateTime<Utc>> {
        self.0.request.window_from
    }
    async fn window_to(&self) -> Option<DateTime<Utc>> {
        self.0.request.window_to
    }
    /// Where the work is done (服务地址).
    async fn address(&self) -> Option<&str> {
        self.0.request.address.as_deref()
    }
    async fn region(&self) -> Option<&str> {
        self.0.request.region.as_deref()
    }
    async fn coverage(&self) -> Coverage {
        Coverage(self.0.coverage.clone())
    }
    /// The service agent who took it (its owner for data scopes).
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        user_of(ctx, self.0.owner_id).await
    }
    async fn dispatcher(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        user_of(ctx, self.0.dispatcher_id).await
    }
    async fn technician_id(&self) -> Option<ID> {
        self.0.technician_id.map(|t| global_id(USER, t.uuid()))
    }
    async fn technician(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        user_of(ctx, self.0.technician_id).await
    }
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.0.milestones.accepted_at
    }
    async fn dispatched_at(&self) -> Option<DateTime<Utc>> {
        self.0.milestones.dispatched_at
    }
    async fn travel_started_at(&self) -> Option<DateTime<Utc>> {
        self.0.milestones.travel_started_at
    }
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.milestones.started_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.milestones.completed_at
    }
    async fn confirmed_at(&self) -> Option<DateTime<Utc>> {
        self.0.milestones.confirmed_at
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.milestones.closed_at
    }
    async fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.0.milestones.cancelled_at
    }
    async fn reopen_count(&self) -> i32 {
        self.0.reopen_count
    }
    /// What was done (处理结果).
    async fn resolution(&self) -> Option<&str> {
        self.0.resolution.as_deref()
    }
    /// What was wrong (故障原因).
    async fn root_cause(&self) -> Option<&str> {
        self.0.root_cause.as_deref()
    }
    /// Parts used and the packing list, in order.
    async fn items(&self, ctx: &Context<'_>) -> ApiResult<Vec<WorkOrderItem>> {
        let found = loaders(ctx)?.load_one(ItemsKey(self.0.id.uuid())).await?.unwrap_or_default();
        Ok(found.into_iter().map(Into::into).collect())
    }
    /// The parts used, at their prices.
    async fn parts_amount(&self) -> Money {
        Money::cny(self.0.fees.parts)
    }
    async fn labour_amount(&self) -> Money {
        Money::cny(self.0.fees.labour)
    }
    /// What the customer pays: what the coverage leaves of parts and labour.
    async fn charge(&self) -> Money {
        Money::cny(self.0.fees.charge)
    }
    async fn payment_status(&self) -> PaymentStatus {
        self.0.payment_status.into()
    }
    async fn payment_method(&self) -> Option<PaymentMethod> {
        self.0.payment_method.map(Into::into)
    }
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    /// 1 to 5 (满意度).
    async fn satisfaction(&self) -> Option<i16> {
        self.0.satisfaction
    }
    async fn satisfaction_comment(&self) -> Option<&str> {
        self.0.satisfaction_comment.as_deref()
    }
    /// When it must be taken (accepted), in the tenant's working time (首次响应时限).
    async fn response_due_at(&self) -> Option<DateTime<Utc>> {
        self.0.sla.response_due_at
    }
    /// When it must be completed (解决时限).
    async fn resolution_due_at(&self) -> Option<DateTime<Utc>> {
        self.0.sla.resolution_due_at
    }
    /// Where it stands against its deadlines now.
    async fn sla_status(&self) -> SlaStatus {
        self.0.sla_status(Utc::now()).into()
    }
    /// When the breach job found the response deadline missed (and escalated it).
    async fn response_breached_at(&self) -> Option<DateTime<Utc>> {
        self.0.sla.response_breached_at
    }
    async fn resolution_breached_at(&self) -> Option<DateTime<Utc>> {
        self.0.sla.resolution_breached_at
    }
    /// The knowledge-base articles linked to it as its solution.
    async fn articles(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::knowledge::Article>> {
        super::knowledge::linked_to(ctx, self.0.id.uuid()).await
    }
    /// The technician's check-ins and check-outs at it, oldest first.
    async fn check_ins(&self, ctx: &Context<'_>) -> ApiResult<Vec<crate::graphql::activity::field::CheckIn>> {
        super::on_site::check_ins_of(ctx, self.0.id.uuid()).await
    }
    /// A complaint (投诉): the order it is about.
    async fn complaint_of(&self, ctx: &Context<'_>) -> ApiResult<Option<WorkOrder>> {
        let Some(order) = self.0.complaint_of else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(WorkOrderKey(order.uuid())).await?.map(WorkOrder))
    }
    /// The product defect it met, when linked (`linkWorkOrderDefect`).
    async fn defect(&self, ctx: &Context<'_>) -> ApiResult<Option<super::defect::ProductDefect>> {
        super::defect::defect_of(ctx, self.0.defect_id).await
    }
    /// The return visit (回访): a to-do for the agent, made when the order was first
    /// completed, done with its outcome through `updateEvent` (`status: DONE`,
    /// `completionNotes`) (null when the caller may
    /// not see the agent's calendar, or return visits are off).
    async fn return_visit(&self, ctx: &Context<'_>) -> ApiResult<Option<crate::graphql::activity::calendar::Event>> {
        let Some(event) = self.0.return_visit_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(EventKey(event.uuid())).await?.map(crate::graphql::activity::calendar::Event))
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
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

async fn user_of(ctx: &Context<'_>, user: Option<guanxi_domain::ids::UserId>) -> ApiResult<Option<User>> {
    let Some(user) = user else { return Ok(None) };
    Ok(loaders(ctx)?.load_one(UserKey(user.uuid())).await?.map(User))
}

// ---------------------------------------------------------------------------------------
// Loaders

/// A work order by id, through the caller's scope.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkOrderKey(pub Uuid);
/// A work order's lines (the caller read the order).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ItemsKey(pub Uuid);
/// A customer's open work orders the caller sees.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpenWorkOrdersKey(pub Uuid);
/// A calendar event, through the caller's `TASK` scope.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventKey(pub Uuid);

impl Loader<EventKey> for ScopedLoader {
    type Value = guanxi_domain::activity::calendar::Event;
    type Error = ApiError;

    async fn load(&self, keys: &[EventKey]) -> Result<HashMap<EventKey, Self::Value>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rule = self.actor.scope_rule(guanxi_domain::platform::access::Module::Task);
        let found =
            guanxi_store::activity::calendar::by_ids(self.db.connection(), self.actor.tenant_id, rule, &ids).await?;
        Ok(found.into_iter().map(|e| (EventKey(e.id.uuid()), e)).collect())
    }
}

impl Loader<WorkOrderKey> for ScopedLoader {
    type Value = DomainWorkOrder;
    type Error = ApiError;

    async fn load(&self, keys: &[WorkOrderKey]) -> Result<HashMap<WorkOrderKey, DomainWorkOrder>, ApiError> {
        if !self.actor.may(Permission::WorkOrderRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let scope = work_order_scope(&self.actor);
        let found =
            guanxi_store::service::work_order::by_ids(self.db.connection(), self.actor.tenant_id, scope, &ids).await?;
        Ok(found.into_iter().map(|o| (WorkOrderKey(o.id.uuid()), o)).collect())
    }
}

impl Loader<ItemsKey> for ScopedLoader {
    type Value = Vec<DomainItem>;
    type Error = ApiError;

    async fn load(&self, keys: &[ItemsKey]) -> Result<HashMap<ItemsKey, Vec<DomainItem>>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found =
            guanxi_store::service::work_order::items_of(self.db.connection(), self.actor.tenant_id, &ids).await?;
        let mut by_order: HashMap<ItemsKey, Vec<DomainItem>> = HashMap::new();
        for (order, item) in found {
            by_order.entry(ItemsKey(order)).or_default().push(item);
        }
        Ok(by_order)
    }
}

impl Loader<OpenWorkOrdersKey> for ScopedLoader {
    type Value = Vec<DomainWorkOrder>;
    type Error = ApiError;

    async fn load(&self, keys: &[OpenWorkOrdersKey]) -> Result<HashMap<OpenWorkOrdersKey, Self::Value>, ApiError> {
        if !self.actor.may(Permission::WorkOrderRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let scope = work_order_scope(&self.actor);
        let conn = self.db.connection();
        let found =
            guanxi_store::service::work_order::of_customers(conn, self.actor.tenant_id, scope, &ids, true).await?;
        Ok(grouped(found, |o| OpenWorkOrdersKey(o.request.customer_id.uuid())))
    }
}

/// A customer's open work orders the caller sees, newest first (the 360 view).
pub async fn open_of(ctx: &Context<'_>, customer: Uuid) -> ApiResult<Vec<WorkOrder>> {
    let found = loaders(ctx)?.load_one(OpenWorkOrdersKey(customer)).await?.unwrap_or_default();
    Ok(found.into_iter().map(WorkOrder).collect())
}

// ---------------------------------------------------------------------------------------
// Queries

/// Filters work orders.
#[derive(InputObject, Default, Clone)]
pub struct WorkOrderFilter {
    /// A part of the number.
    pub number: Option<String>,
    pub customer_id: Option<IdFilter>,
    /// The service agent who took it.
    pub owner_id: Option<IdFilter>,
    pub technician_id: Option<IdFilter>,
    pub asset_id: Option<ID>,
    pub status: Option<Vec<WorkOrderStatus>>,
    #[graphql(name = "type")]
    pub kind: Option<Vec<WorkOrderType>>,
    pub priority: Option<Vec<WorkOrderPriority>>,
    pub created_at: Option<TimeRange>,
    pub completed_at: Option<TimeRange>,
    /// A service-level deadline was found missed (true), or none was (false).
    pub sla_breached: Option<bool>,
    /// A deadline was found missed within this window.
    pub breached_at: Option<TimeRange>,
}

impl WorkOrderFilter {
    pub fn to_store(&self) -> ApiResult<StoreFilter> {
        Ok(StoreFilter {
            number: self.number.clone(),
            customer_id: self.customer_id.as_ref().map(|f| f.to_store(CUSTOMER)).transpose()?,
            owner_id: self.owner_id.as_ref().map(|f| f.to_store(USER)).transpose()?,
            technician_id: self.technician_id.as_ref().map(|f| f.to_store(USER)).transpose()?,
            asset_id: self.asset_id.as_ref().map(|a| expect_id(a, super::asset::ASSET)).transpose()?,
            status: self.status.as_ref().map(|s| s.iter().map(|x| (*x).into()).collect()),
            kind: self.kind.as_ref().map(|s| s.iter().map(|x| (*x).into()).collect()),
            priority: self.priority.as_ref().map(|s| s.iter().map(|x| (*x).into()).collect()),
            created_at: self.created_at.as_ref().map(TimeRange::to_store),
            completed_at: self.completed_at.as_ref().map(TimeRange::to_store),
            sla_breached: self.sla_breached,
            breached_at: self.breached_at.as_ref().map(TimeRange::to_store),
        })
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WorkOrderSortField {
    CreatedAt,
    UpdatedAt,
}

/// A page of work orders the caller may see.
pub async fn work_order_connection(
    ctx: &Context<'_>,
    filter: StoreFilter,
    (first, after): (Option<i32>, Option<String>),
    (sort, direction): (WorkOrderSortField, OrderDirection),
) -> ApiResult<Conn<WorkOrder>> {
    let actor = require(ctx, Permission::WorkOrderRead)?.clone();
    let (sort, name) = match sort {
        WorkOrderSortField::CreatedAt => (StoreSort::CreatedAt, "CREATED_AT"),
        WorkOrderSortField::UpdatedAt => (StoreSort::UpdatedAt, "UPDATED_AT"),
    };
    let request = page_request(first, after, None, None, name)?;
    let query = (work_order_scope(&actor), filter, (sort, direction.into()));
    listed::<WorkOrders, _>(&state(ctx).db, actor.tenant_id, query, &request, WorkOrder).await
}

/// A technician as dispatch ranks them for one order.
#[derive(SimpleObject)]
pub struct TechnicianSuggestion {
    user_id: ID,
    display_name: String,
    /// Skilled in the order's product category (or one above it).
    skill_match: bool,
    /// Serves the order's region.
    region_match: bool,
    /// Open work orders assigned to them now.
    open_load: i64,
}

#[derive(Default)]
pub struct WorkOrderQuery;

#[Object]
impl WorkOrderQuery {
    /// A work order by id: in the caller's scope, or assigned to them.
    async fn work_order(&self, ctx: &Context<'_>, id: ID) -> ApiResult<WorkOrder> {
        let found =
            read_by_id::<WorkOrders>(ctx, Permission::WorkOrderRead, (&id, WORK_ORDER), work_order_scope).await?;
        Ok(WorkOrder(found))
    }

    /// Work orders the caller may see, newest first by default.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn work_orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<WorkOrderFilter>,
        #[graphql(default_with = "WorkOrderSortField::CreatedAt")] sort: WorkOrderSortField,
        #[graphql(default_with = "OrderDirection::Desc")] direction: OrderDirection,
    ) -> ApiResult<Conn<WorkOrder>> {
        let filter = filter.unwrap_or_default().to_store()?;
        work_order_connection(ctx, filter, (first, after), (sort, direction)).await
    }

    /// The caller's own queue as a technician: open orders assigned to them, oldest first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn my_work_orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<WorkOrder>> {
        let me = crate::graphql::context::actor(ctx)?.user_id.uuid();
        let filter = StoreFilter {
            technician_id: Some(guanxi_store::filter::IdFilter { eq: Some(me), ..Default::default() }),
            status: Some(DomainStatus::OPEN.to_vec()),
            ..Default::default()
        };
        work_order_connection(ctx, filter, (first, after), (WorkOrderSortField::CreatedAt, OrderDirection::Asc)).await
    }

    /// Active technicians ranked for an order (`workorder.dispatch`): skill in its
    /// product's category first, then its region, then the lightest open load.
    async fn suggest_technicians(
        &self,
        ctx: &Context<'_>,
        work_order_id: ID,
        #[graphql(default = 10)] first: i32,
    ) -> ApiResult<Vec<TechnicianSuggestion>> {
        let actor = require(ctx, Permission::WorkOrderDispatch)?;
        let order =
            read_by_id::<WorkOrders>(ctx, Permission::WorkOrderRead, (&work_order_id, WORK_ORDER), work_order_scope)
                .await?;
        let limit = first.clamp(1, 50) as u64;
        let conn = state(ctx).db.connection();
        let ranked =
            guanxi_store::service::work_order_report::suggest_technicians(conn, actor.tenant_id, &order, limit).await?;
        Ok(ranked
            .into_iter()
            .map(|s| TechnicianSuggestion {
                user_id: global_id(USER, s.user_id),
                display_name: s.display_name,
                skill_match: s.skill,
                region_match: s.region,
                open_load: s.open_load,
            })
            .collect())
    }

    /// What would cover an order for this customer and asset or product, as it would be
    /// decided if it were taken now.
    async fn preview_coverage(
        &self,
        ctx: &Context<'_>,
        customer_id: ID,
        asset_id: Option<ID>,
        product_id: Option<ID>,
    ) -> ApiResult<Coverage> {
        let actor = require(ctx, Permission::WorkOrderRead)?;
        let customer = expect_id(&customer_id, CUSTOMER)?;
        let asset = asset_id.as_ref().map(|a| expect_id(a, super::asset::ASSET)).transpose()?;
        let product = product_id.as_ref().map(|p| expect_id(p, PRODUCT)).transpose()?;
        let found = guanxi_store::service::work_order::coverage_now(
            state(ctx).db.connection(),
            actor.tenant_id,
            super::asset::customer_scope(actor),
            (customer, asset, product),
        )
        .await
        .map_err(|e| match e {
            guanxi_store::StoreError::Rejected(_) => ApiError::NotFound,
            other => other.into(),
        })?;
        Ok(Coverage(found))
    }
}

/// What a work-log figure of work orders counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    /// Orders the people took (owner), by report time.
    Opened,
    /// Orders the people completed as technicians, by completion time.
    Completed,
    /// Orders the people took whose service level was found missed, by that time.
    Breached,
}

/// A work-log figure of work orders in a period, with the orders behind it.
pub struct WorkOrdersFigure {
    pub count: i64,
    pub users: Vec<Uuid>,
    pub window: (DateTime<Utc>, DateTime<Utc>),
    pub counted: Counted,
}

#[Object]
impl WorkOrdersFigure {
    async fn count(&self) -> i64 {
        self.count
    }
    /// The orders counted, newest first.
    async fn records(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<WorkOrder>> {
        let (start, end) = self.window;
        let people = Some(guanxi_store::filter::IdFilter { any_of: Some(self.users.clone()), ..Default::default() });
        let window = Some(guanxi_store::filter::TimeFilter { gte: Some(start), lt: Some(end), ..Default::default() });
        let filter = match self.counted {
            Counted::Opened => StoreFilter { owner_id: people, created_at: window, ..Default::default() },
            Counted::Completed => StoreFilter { technician_id: people, completed_at: window, ..Default::default() },
            Counted::Breached => StoreFilter { owner_id: people, breached_at: window, ..Default::default() },
        };
        work_order_connection(ctx, filter, (first, after), (WorkOrderSortField::CreatedAt, OrderDirection::Desc)).await
    }
}
