//! Sales orders (销售订单) over GraphQL: lists, confirmation (a sale), deliveries per line,
//! completion and cancellation.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{LineId, QuoteId};
use guanxi_domain::platform::access::{Actor, Permission};
use guanxi_domain::trade::document::{Order as DomainOrder, OrderAction, OrderStatus as DomainStatus, OrderTerms};
use guanxi_store::page::Direction;
use guanxi_store::trade::order::{
    Delivery as StoreDelivery, DeliveryInput, OrderEdit, OrderFilter as StoreFilter, OrderSort,
};
use rust_decimal::Decimal;
use serde::Serialize;

use super::document::{DocumentHeaderInput, DocumentLine, DocumentTotals, LINE, LineInput, TaxMode, store_lines};
use super::quote::{DocumentOrder, DocumentOrderField, QUOTE, quote_scope};
use crate::graphql::context::{actor, require, state};
use crate::graphql::customers::customer::{CUSTOMER, Customer, Money};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{CustomerKey, UserKey};
use crate::graphql::mutation::{Idempotent, write, write_by_id};
use crate::graphql::platform::org::{USER, User};
use crate::graphql::relay::{Conn, expect_id, global_id, input_id, listed, page_request, read_by_id};
use crate::graphql::shared::{IdFilter, TimeRange};

pub const ORDER: &str = EntityKind::Order.name();

/// The rules an order is read with.
pub fn order_scope(actor: &Actor) -> guanxi_domain::entity::OwnerAndCustomer {
    EntityKind::order_rules(actor)
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainStatus")]
pub enum OrderStatus {
    /// 草稿: editable.
    Draft,
    /// 已确认: a sale.
    Confirmed,
    /// 部分发货
    PartlyDelivered,
    /// 已发货
    Delivered,
    /// 已完成
    Completed,
    /// 已取消
    Cancelled,
}

/// A delivery of part of a line.
pub struct Delivery(pub StoreDelivery);

#[Object]
impl Delivery {
    async fn line_id(&self) -> ID {
        global_id(LINE, self.0.line_id.uuid())
    }
    async fn quantity(&self) -> Decimal {
        self.0.quantity.normalize()
    }
    async fn delivered_on(&self) -> NaiveDate {
        self.0.delivered_on
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn recorded_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(user) = self.0.created_by else { return Ok(None) };
        Ok(super::document::loaders(ctx)?.load_one(UserKey(user.uuid())).await?.map(User))
    }
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The deliveries of an order (whose visibility the caller already checked).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliveriesKey(pub uuid::Uuid);

impl async_graphql::dataloader::Loader<DeliveriesKey> for crate::graphql::loaders::ScopedLoader {
    type Value = Vec<StoreDelivery>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[DeliveriesKey],
    ) -> Result<std::collections::HashMap<DeliveriesKey, Vec<StoreDelivery>>, ApiError> {
        let ids: Vec<uuid::Uuid> = keys.iter().map(|k| k.0).collect();
        let mut found =
            guanxi_store::trade::order::deliveries_of(self.db.connection(), self.actor.tenant_id, &ids).await?;
        Ok(keys.iter().map(|k| (*k, found.remove(&k.0).unwrap_or_default())).collect())
    }
}

/// A sales order (销售订单).
pub struct SalesOrder(pub DomainOrder);

#[Object]
impl SalesOrder {
    pub async fn id(&self) -> ID {
        global_id(ORDER, self.0.id.uuid())
    }
    async fn number(&self) -> &str {
        &self.0.number
    }
    async fn status(&self) -> OrderStatus {
        self.0.status.into()
    }
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        let loaders = super::document::loaders(ctx)?;
        Ok(loaders.load_one(CustomerKey(self.0.header.customer_id.uuid())).await?.map(Customer))
    }
    async fn customer_id(&self) -> ID {
        global_id(CUSTOMER, self.0.header.customer_id.uuid())
    }
    async fn contact_id(&self) -> Option<ID> {
        super::document::header_ids(&self.0.header).1
    }
    async fn opportunity_id(&self) -> Option<ID> {
        super::document::header_ids(&self.0.header).2
    }
    /// The quote it was made from.
    async fn quote_id(&self) -> Option<ID> {
        self.0.quote_id.map(|q| global_id(QUOTE, q.uuid()))
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(owner) = self.0.header.owner_id else { return Ok(None) };
        Ok(super::document::loaders(ctx)?.load_one(UserKey(owner.uuid())).await?.map(User))
    }
    async fn tax_mode(&self) -> TaxMode {
        self.0.header.tax_mode.into()
    }
    async fn discount(&self) -> Decimal {
        self.0.header.discount.normalize()
    }
    async fn decimal_places(&self) -> u32 {
        self.0.header.places.get()
    }
    async fn lines(&self, ctx: &Context<'_>) -> ApiResult<Vec<DocumentLine>> {
        let lines = super::document::lines_of(ctx, guanxi_store::trade::lines::Parent::Order(self.0.id.uuid())).await?;
        Ok(super::document::wrap_lines(lines, self.0.header.places))
    }
    async fn totals(&self, ctx: &Context<'_>) -> ApiResult<DocumentTotals> {
        let lines = super::document::lines_of(ctx, guanxi_store::trade::lines::Parent::Order(self.0.id.uuid())).await?;
        Ok(super::document::totals(&self.0.totals, &lines, self.0.header.places))
    }
    async fn total(&self) -> Money {
        super::document::money(self.0.totals.gross, self.0.header.places)
    }
    async fn delivery_date(&self) -> Option<NaiveDate> {
        self.0.terms.delivery_date
    }
    async fn delivery_address(&self) -> Option<&str> {
        self.0.terms.delivery_address.as_deref()
    }
    async fn payment_terms(&self) -> Option<&str> {
        self.0.terms.payment_terms.as_deref()
    }
    /// The ERP's order number.
    async fn external_id(&self) -> Option<&str> {
        self.0.terms.external_id.as_deref()
    }
    /// The order's keys in outside systems (`upsertSalesOrders`).
    async fn external_keys(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::integration::upsert::ExternalKey>> {
        crate::graphql::integration::upsert::external_keys(ctx, EntityKind::Order, self.0.id.uuid()).await
    }
    async fn notes(&self) -> Option<&str> {
        self.0.header.notes.as_deref()
    }
    /// Every delivery recorded, oldest first.
    async fn deliveries(&self, ctx: &Context<'_>) -> ApiResult<Vec<Delivery>> {
        let loaders = super::document::loaders(ctx)?;
        let found = loaders.load_one(DeliveriesKey(self.0.id.uuid())).await?.unwrap_or_default();
        Ok(found.into_iter().map(Delivery).collect())
    }
    async fn confirmed_at(&self) -> Option<DateTime<Utc>> {
        self.0.confirmed_at
    }
    /// When it was completed or cancelled.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    async fn cancel_reason(&self) -> Option<&str> {
        self.0.cancel_reason.as_deref()
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
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
}

/// Filters sales orders.
#[derive(InputObject, Default, Clone)]
pub struct SalesOrderFilter {
    pub number: Option<String>,
    pub customer_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    pub quote_id: Option<ID>,
    pub opportunity_id: Option<ID>,
    pub external_id: Option<String>,
    pub status: Option<Vec<OrderStatus>>,
    pub created_at: Option<TimeRange>,
    pub confirmed_at: Option<TimeRange>,
    pub deleted: Option<bool>,
}

impl SalesOrderFilter {
    pub fn to_store(&self) -> Result<StoreFilter, ApiError> {
        Ok(StoreFilter {
            number: self.number.clone(),
            customer_id: self.customer_id.as_ref().map(|f| f.to_store(CUSTOMER)).transpose()?,
            owner_id: self.owner_id.as_ref().map(|f| f.to_store(USER)).transpose()?,
            quote_id: self.quote_id.as_ref().map(|q| expect_id(q, QUOTE)).transpose()?,
            opportunity_id: self
                .opportunity_id
                .as_ref()
                .map(|o| expect_id(o, crate::graphql::sales::opportunity::OPPORTUNITY))
                .transpose()?,
            external_id: self.external_id.clone(),
            status: self.status.as_ref().map(|s| s.iter().map(|k| (*k).into()).collect()),
            not_cancelled: false,
            created_at: self.created_at.as_ref().map(TimeRange::to_store),
            confirmed_at: self.confirmed_at.as_ref().map(TimeRange::to_store),
            deleted: self.deleted,
        })
    }
}

/// A page of orders matching `filter`.
pub(crate) async fn order_connection(
    ctx: &Context<'_>,
    filter: StoreFilter,
    (first, after): (Option<i32>, Option<String>),
    order: Option<DocumentOrder>,
) -> ApiResult<Conn<SalesOrder>> {
    let actor = actor(ctx)?.clone();
    let order = order.map_or((OrderSort::UpdatedAt, Direction::Desc), |o| {
        let sort = match o.field {
            DocumentOrderField::UpdatedAt => OrderSort::UpdatedAt,
            DocumentOrderField::CreatedAt => OrderSort::CreatedAt,
            DocumentOrderField::Total => OrderSort::Total,
        };
        (sort, o.direction.into())
    });
    let request = page_request(first, after, None, None, guanxi_store::trade::order::sort_name(order.0))?;
    let query = (order_scope(&actor), filter, order);
    listed::<guanxi_store::trade::order::Orders, _>(&state(ctx).db, actor.tenant_id, query, &request, SalesOrder).await
}

/// The work log's sales (销售业绩): orders the people own confirmed in a period and not
/// cancelled, with their amount and the orders behind the count.
pub struct SalesFigure {
    pub count: i64,
    /// Tax included, ten-thousandths of a yuan.
    pub gross_e4: i64,
    pub users: Vec<uuid::Uuid>,
    pub window: (DateTime<Utc>, DateTime<Utc>),
}

#[Object]
impl SalesFigure {
    async fn count(&self) -> i64 {
        self.count
    }
    /// Tax included.
    async fn amount(&self) -> Money {
        Money::cny(guanxi_domain::trade::money::from_e4(self.gross_e4))
    }
    /// The orders counted, most recently updated first.
    async fn records(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<SalesOrder>> {
        require(ctx, Permission::OrderRead)?;
        let (start, end) = self.window;
        let filter = StoreFilter {
            owner_id: Some(guanxi_store::filter::IdFilter { any_of: Some(self.users.clone()), ..Default::default() }),
            confirmed_at: Some(guanxi_store::filter::TimeFilter {
                gte: Some(start),
                lt: Some(end),
                ..Default::default()
            }),
            not_cancelled: true,
            ..Default::default()
        };
        order_connection(ctx, filter, (first, after), None).await
    }
}

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    async fn sales_order(&self, ctx: &Context<'_>, id: ID) -> ApiResult<SalesOrder> {
        let read = (&id, ORDER);
        Ok(SalesOrder(
            read_by_id::<guanxi_store::trade::order::Orders>(ctx, Permission::OrderRead, read, order_scope).await?,
        ))
    }

    /// Sales orders the caller may see (their own scope and their customer's). Default
    /// order: most recently updated first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn sales_orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<SalesOrderFilter>,
        order_by: Option<DocumentOrder>,
    ) -> ApiResult<Conn<SalesOrder>> {
        require(ctx, Permission::OrderRead)?;
        let filter = filter.map(|f| f.to_store()).transpose()?.unwrap_or_default();
        order_connection(ctx, filter, (first, after), order_by).await
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

/// Delivery and payment terms of an order.
#[derive(InputObject, Clone, Default, Serialize)]
pub struct OrderTermsInput {
    pub delivery_date: Option<NaiveDate>,
    pub delivery_address: Option<String>,
    pub payment_terms: Option<String>,
    /// The ERP's order number; unique in the tenant.
    pub external_id: Option<String>,
}

impl OrderTermsInput {
    fn to_domain(&self) -> Result<OrderTerms, Vec<UserError>> {
        OrderTerms {
            delivery_date: self.delivery_date,
            delivery_address: self.delivery_address.clone(),
            payment_terms: self.payment_terms.clone(),
            external_id: self.external_id.clone(),
        }
        .check()
        .map_err(UserError::all)
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateSalesOrderInput {
    /// Copies an accepted quote's header and lines; `header` and `lines` are then ignored.
    pub quote_id: Option<ID>,
    pub header: Option<DocumentHeaderInput>,
    #[graphql(default)]
    pub lines: Vec<LineInput>,
    #[graphql(default)]
    pub terms: OrderTermsInput,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateSalesOrderInput {
    pub id: ID,
    pub expected_version: i32,
    pub header: Option<DocumentHeaderInput>,
    pub terms: Option<OrderTermsInput>,
    pub lines: Option<Vec<LineInput>>,
}

#[derive(InputObject)]
pub struct SalesOrderActionInput {
    pub id: ID,
    pub expected_version: i32,
    /// Why, for a cancellation.
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct DeliveryLineInput {
    pub line_id: ID,
    pub quantity: Decimal,
}

#[derive(InputObject)]
pub struct DeliverSalesOrderInput {
    pub id: ID,
    pub expected_version: i32,
    pub lines: Vec<DeliveryLineInput>,
    /// Today (Asia/Shanghai) when left out.
    pub delivered_on: Option<NaiveDate>,
    pub note: Option<String>,
}

crate::graphql::error::payload! {
    SalesOrderPayload, sales_order: SalesOrder(DomainOrder)
}

async fn close(ctx: &Context<'_>, input: SalesOrderActionInput, action: OrderAction) -> ApiResult<SalesOrderPayload> {
    let (version, reason) = (input.expected_version, input.reason);
    write_by_id(ctx, Permission::OrderWrite, (&input.id, ORDER), order_scope, move |tx, author, scope, id| {
        Box::pin(async move {
            guanxi_store::trade::order::close(tx, &author, scope, (id, version), action, reason.as_deref()).await
        })
    })
    .await
}

#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Opens an order in DRAFT, from an accepted quote or from a header and lines.
    async fn create_sales_order(
        &self,
        ctx: &Context<'_>,
        input: CreateSalesOrderInput,
    ) -> ApiResult<SalesOrderPayload> {
        let actor = require(ctx, Permission::OrderWrite)?.writing();
        let quote = input.quote_id.as_ref().map(|q| input_id("quoteId", q, QUOTE).map_err(|e| vec![e])).transpose();
        let header = input.header.as_ref().map(|h| h.to_store(Some(actor.user_id))).transpose();
        let lines = store_lines(&input.lines);
        let terms = input.terms.to_domain();
        let (quote, header, lines, terms) = match (quote, header, lines, terms) {
            (Ok(q), Ok(h), Ok(l), Ok(t)) => (q, h, l, t),
            (q, h, l, t) => {
                let errors = [q.err(), h.err(), l.err(), t.err()].into_iter().flatten().flatten().collect();
                return Ok(Err(errors).into());
            }
        };
        let author = crate::graphql::context::author(ctx, &actor);
        let scopes = (order_scope(&actor), quote_scope(&actor));
        let tenant = actor.tenant_id;
        let new = guanxi_store::trade::order::NewOrder {
            header,
            links: super::document::links(&actor),
            from_quote: quote.map(QuoteId::from_uuid),
            terms,
            lines,
        };
        let idempotent = Idempotent::new(&actor, "createSalesOrder", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let created = guanxi_store::trade::order::create(tx, &author, scopes, new).await?;
                    Ok((created.id.uuid(), created))
                })
            },
            crate::graphql::mutation::reload_scoped::<guanxi_store::trade::order::Orders>(tenant, scopes.0),
        )
        .await?;
        Ok(result.into())
    }

    /// Edits a draft order.
    async fn update_sales_order(
        &self,
        ctx: &Context<'_>,
        input: UpdateSalesOrderInput,
    ) -> ApiResult<SalesOrderPayload> {
        let actor = require(ctx, Permission::OrderWrite)?;
        let header = input.header.as_ref().map(|h| h.to_store(None)).transpose();
        let lines = input.lines.as_ref().map(|l| store_lines(l)).transpose();
        let terms = input.terms.as_ref().map(OrderTermsInput::to_domain).transpose();
        let edit = match (header, lines, terms) {
            (Ok(header), Ok(lines), Ok(terms)) => {
                OrderEdit { header, links: super::document::links(&actor.writing()), terms, lines }
            }
            (h, l, t) => {
                let errors = [h.err(), l.err(), t.err()].into_iter().flatten().flatten().collect();
                return Ok(Err(errors).into());
            }
        };
        let version = input.expected_version;
        write_by_id(ctx, Permission::OrderWrite, (&input.id, ORDER), order_scope, move |tx, author, scope, id| {
            Box::pin(async move { guanxi_store::trade::order::update(tx, &author, scope, (id, version), edit).await })
        })
        .await
    }

    /// Confirms a draft order: a sale (成交). The customer becomes WON with its last-deal
    /// time, and the linked open deal is won when the tenant's `orderWinsDeal` is on.
    async fn confirm_sales_order(
        &self,
        ctx: &Context<'_>,
        input: SalesOrderActionInput,
    ) -> ApiResult<SalesOrderPayload> {
        let version = input.expected_version;
        let may_approve = actor(ctx)?.may(Permission::QuoteApprove);
        write_by_id(ctx, Permission::OrderWrite, (&input.id, ORDER), order_scope, move |tx, author, scope, id| {
            Box::pin(async move {
                guanxi_store::trade::order::confirm(tx, &author, scope, (id, version), may_approve).await
            })
        })
        .await
    }

    /// Records deliveries of a confirmed order's lines; more than was ordered is refused.
    async fn deliver_sales_order(
        &self,
        ctx: &Context<'_>,
        input: DeliverSalesOrderInput,
    ) -> ApiResult<SalesOrderPayload> {
        let mut errors = Vec::new();
        let lines: Vec<DeliveryInput> = input
            .lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                let line = input_id(&format!("lines.{i}.lineId"), &l.line_id, LINE).map_err(|e| errors.push(e)).ok()?;
                Some(DeliveryInput { line_id: LineId::from_uuid(line), quantity: l.quantity })
            })
            .collect();
        if !errors.is_empty() {
            return Ok(Err(errors).into());
        }
        let on = input.delivered_on.unwrap_or_else(|| guanxi_domain::customers::customer::shanghai_date(Utc::now()));
        let (version, note) = (input.expected_version, input.note);
        write_by_id(ctx, Permission::OrderWrite, (&input.id, ORDER), order_scope, move |tx, author, scope, id| {
            Box::pin(async move {
                guanxi_store::trade::order::deliver(tx, &author, scope, (id, version), (&lines, on, note.as_deref()))
                    .await
            })
        })
        .await
    }

    /// Completes a delivered order.
    async fn complete_sales_order(
        &self,
        ctx: &Context<'_>,
        input: SalesOrderActionInput,
    ) -> ApiResult<SalesOrderPayload> {
        close(ctx, input, OrderAction::Complete).await
    }

    /// Cancels a draft or confirmed order nothing of which was delivered, with a reason.
    async fn cancel_sales_order(
        &self,
        ctx: &Context<'_>,
        input: SalesOrderActionInput,
    ) -> ApiResult<SalesOrderPayload> {
        close(ctx, input, OrderAction::Cancel).await
    }

    /// Moves a draft order to the recycle bin.
    async fn delete_sales_order(
        &self,
        ctx: &Context<'_>,
        input: SalesOrderActionInput,
    ) -> ApiResult<SalesOrderPayload> {
        let version = input.expected_version;
        write_by_id(ctx, Permission::OrderWrite, (&input.id, ORDER), order_scope, move |tx, author, scope, id| {
            Box::pin(async move { guanxi_store::trade::order::delete(tx, &author, scope, (id, version)).await })
        })
        .await
    }
}
