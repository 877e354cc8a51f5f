//! Sales orders (销售订单) and the sales they record (销售交易记录). Visible like quotes,
//! through the `ORDER` scope and the customer's. Confirming an order is a sale: in the
//! same transaction the customer becomes WON with its last-deal time (a change event on
//! the customer, so the timeline shows it), and the linked open deal is won when the
//! tenant says so. Deliveries are recorded per line; the order's status follows them.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use guanxi_domain::customers::customer::{CustomerStatus, shanghai_date};
use guanxi_domain::entity::{EntityKind, OwnerAndCustomer};
use guanxi_domain::ids::{ContactId, LineId, OpportunityId, OrderId, QuoteId, TenantId, UserId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::sales::opportunity::StageKind;
use guanxi_domain::trade::document::{Order, OrderAction, OrderStatus, OrderTerms, QuoteStatus, delivered_status};
use guanxi_domain::trade::money::{from_e4, to_e4};
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{customer, order_delivery, sales_order};
use crate::error::{StoreError, StoreResult, on_unique};
use crate::filter::{IdFilter, TimeFilter};
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::platform::{sequence, tenant};
use crate::repo::{self, Scoped};
use crate::trade::document::{self, Header, HeaderInput, LinkScopes};
use crate::trade::lines::{self, LineInput, Parent};

pub const ENTITY: EntityKind = EntityKind::Order;

pub fn to_domain(m: sales_order::Model) -> StoreResult<Order> {
    let header = document::header_of(
        "sales_orders",
        m.id,
        Header {
            customer_id: m.customer_id,
            contact_id: m.contact_id,
            opportunity_id: m.opportunity_id,
            owner_id: m.owner_id,
            tax_mode: &m.tax_mode,
            discount_e4: m.discount_e4,
            places: m.places,
            notes: m.notes,
        },
    )?;
    Ok(Order {
        id: m.id.into(),
        number: m.number,
        header,
        quote_id: m.quote_id.map(Into::into),
        terms: OrderTerms {
            delivery_date: m.delivery_date,
            delivery_address: m.delivery_address,
            payment_terms: m.payment_terms,
            external_id: m.external_id,
        },
        status: Cell::of("sales_orders", m.id, "status").text(&m.status, OrderStatus::parse)?,
        totals: document::totals_of([
            m.list_amount_e4,
            m.subtotal_e4,
            m.discount_amount_e4,
            m.net_e4,
            m.tax_e4,
            m.gross_e4,
        ]),
        confirmed_at: m.confirmed_at,
        closed_at: m.closed_at,
        cancel_reason: m.cancel_reason,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Orders, read through their own `ORDER` scope and their customer's.
pub struct Orders;

repo::owner_and_customer_scoped!(Orders, sales_order, Order);
repo::versioned!(Orders, sales_order);
repo::recyclable!(Orders, sales_order, ENTITY);
repo::scoped_reads!(Orders);

#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    /// A part of the number.
    pub number: Option<String>,
    pub customer_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    pub quote_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
    pub external_id: Option<String>,
    pub status: Option<Vec<OrderStatus>>,
    /// Not cancelled (the work log's sales).
    pub not_cancelled: bool,
    pub created_at: Option<TimeFilter>,
    pub confirmed_at: Option<TimeFilter>,
    pub deleted: Option<bool>,
}

impl OrderFilter {
    fn condition(&self) -> Condition {
        let mut all = Condition::all();
        if let Some(number) = self.number.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            let contains = crate::filter::TextFilter { contains: Some(number.to_owned()), ..Default::default() };
            all = all.add(contains.condition(sales_order::Column::Number));
        }
        if let Some(f) = &self.customer_id {
            all = all.add(f.condition(sales_order::Column::CustomerId));
        }
        if let Some(f) = &self.owner_id {
            all = all.add(f.condition(sales_order::Column::OwnerId));
        }
        if let Some(quote) = self.quote_id {
            all = all.add(sales_order::Column::QuoteId.eq(quote));
        }
        if let Some(deal) = self.opportunity_id {
            all = all.add(sales_order::Column::OpportunityId.eq(deal));
        }
        if let Some(external) = &self.external_id {
            all = all.add(sales_order::Column::ExternalId.eq(external.clone()));
        }
        if let Some(status) = &self.status {
            all = all.add(sales_order::Column::Status.is_in(status.iter().map(|s| s.as_str())));
        }
        if self.not_cancelled {
            all = all.add(sales_order::Column::Status.ne(OrderStatus::Cancelled.as_str()));
        }
        if let Some(f) = &self.created_at {
            all = all.add(f.condition(sales_order::Column::CreatedAt));
        }
        if let Some(f) = &self.confirmed_at {
            all = all.add(f.condition(sales_order::Column::ConfirmedAt));
        }
        all
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderSort {
    UpdatedAt,
    CreatedAt,
    Total,
}

pub fn sort_name(sort: OrderSort) -> &'static str {
    match sort {
        OrderSort::UpdatedAt => "UPDATED_AT",
        OrderSort::CreatedAt => "CREATED_AT",
        OrderSort::Total => "TOTAL",
    }
}

impl repo::Listed for Orders {
    type Filter = OrderFilter;
    type Order = (OrderSort, Direction);

    fn matching(
        backend: DbBackend,
        tenant: TenantId,
        scope: OwnerAndCustomer,
        filter: &OrderFilter,
    ) -> Select<sales_order::Entity> {
        repo::in_bin::<Self>(backend, tenant, scope, filter.deleted).filter(filter.condition())
    }

    fn sort_key((sort, direction): Self::Order) -> SortKey<sales_order::Entity> {
        type M = sales_order::Model;
        let name = sort_name(sort);
        let column = match sort {
            OrderSort::UpdatedAt => sales_order::Column::UpdatedAt,
            OrderSort::CreatedAt => sales_order::Column::CreatedAt,
            OrderSort::Total => sales_order::Column::GrossE4,
        };
        let value: fn(&M) -> CursorValue = match sort {
            OrderSort::UpdatedAt => |m: &M| CursorValue::Time(m.updated_at),
            OrderSort::CreatedAt => |m: &M| CursorValue::Time(m.created_at),
            OrderSort::Total => |m: &M| CursorValue::Int(m.gross_e4),
        };
        SortKey { name, column, direction, value }
    }

    fn id_of(model: &sales_order::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Orders);

/// What a new order needs: a header and lines, or an accepted quote to copy them from.
pub struct NewOrder {
    pub header: Option<HeaderInput>,
    /// What the writer may link to.
    pub links: LinkScopes,
    pub from_quote: Option<QuoteId>,
    pub terms: OrderTerms,
    pub lines: Vec<LineInput>,
}

fn on_external(error: sea_orm::DbErr) -> StoreError {
    on_unique(error, "externalId", "another order has this external id")
}

/// Opens an order in DRAFT: from an accepted quote the caller may see (its header and
/// lines, refigured at the order places), or from a header and lines priced now.
pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scopes: (OwnerAndCustomer, OwnerAndCustomer),
    new: NewOrder,
) -> StoreResult<Order> {
    let (scope, quote_scope) = scopes;
    let tenant = author.tenant_id;
    let settings = tenant::settings(conn, tenant).await?;
    let places = settings.decimal_places.order;
    let today = shanghai_date(Utc::now());
    let (header, lines, totals) = match (new.from_quote, new.header) {
        (Some(quote), _) => {
            let quote = crate::trade::quote::find(conn, tenant, quote_scope, quote.uuid())
                .await?
                .filter(|q| q.deleted_at.is_none())
                .ok_or_else(|| StoreError::rejected("quoteId", ErrorCode::NotFound, "no such quote"))?;
            if quote.status_on(today) != QuoteStatus::Accepted {
                return Err(StoreError::rejected(
                    "quoteId",
                    ErrorCode::IllegalState,
                    "only an accepted quote becomes an order",
                ));
            }
            let ordered = Orders::live(conn.get_database_backend(), tenant, OwnerAndCustomer::ALL)
                .filter(sales_order::Column::QuoteId.eq(quote.id.uuid()))
                .filter(sales_order::Column::Status.ne(OrderStatus::Cancelled.as_str()))
                .one(conn)
                .await?;
            if let Some(order) = ordered {
                let message = format!("the quote is already order {}", order.number);
                return Err(StoreError::rejected("quoteId", ErrorCode::Conflict, message));
            }
            let mut header = HeaderInput::from(&quote.header);
            header.owner_id = header.owner_id.or(author.user_id.map(UserId::from_uuid));
            document::check_header(conn, tenant, (scope, new.links), &header).await?;
            let parent = Parent::Quote(quote.id.uuid());
            let old = lines::of_one(conn, tenant, parent).await?;
            let (lines, totals) = lines::refigured(&old, (header.discount, header.tax_mode, places));
            (header, lines, totals)
        }
        (None, Some(header)) => {
            let checked = document::check_header(conn, tenant, (scope, new.links), &header).await?;
            let customer = (header.customer_id, checked.level.as_deref());
            let drafts =
                lines::price_lines(conn, tenant, customer, &new.lines, (today, settings.decimal_places.product))
                    .await?;
            let (lines, totals) = lines::figured(drafts, (header.discount, header.tax_mode, places));
            (header, lines, totals)
        }
        (None, None) => {
            return Err(StoreError::rejected("customerId", ErrorCode::Required, "name a customer or a quote"));
        }
    };
    if lines.is_empty() {
        return Err(StoreError::rejected("lines", ErrorCode::Required, "an order has at least one line"));
    }
    let rule = settings.order_numbering;
    let n = sequence::next(conn, tenant, "order", &rule.period(today)).await?;
    let number = rule.format(today, n);
    let id = OrderId::new();
    let now = Utc::now();
    let mut model = new_row(tenant, id.uuid(), (&number, places), (&header, &new.terms, &totals), now);
    model.quote_id = Set(new.from_quote.map(QuoteId::uuid));
    let created = to_domain(sales_order::Entity::insert(model).exec_with_returning(conn).await.map_err(on_external)?)?;
    lines::insert(conn, tenant, Parent::Order(id.uuid()), &lines).await?;
    let changes = ChangeSet::new()
        .field("number", (), &number)
        .field("customerId", (), header.customer_id)
        .field("quoteId", (), new.from_quote)
        .field("lines", (), lines.len())
        .field("total", (), created.totals.gross);
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    Ok(created)
}

/// A new order's row in DRAFT, numbered `number` at `places`, with its header, terms and
/// totals.
pub(crate) fn new_row(
    tenant: TenantId,
    id: Uuid,
    (number, places): (&str, guanxi_domain::trade::money::Places),
    document: (&HeaderInput, &OrderTerms, &guanxi_domain::trade::money::Totals),
    now: chrono::DateTime<Utc>,
) -> sales_order::ActiveModel {
    let (header, ..) = document;
    let mut model = sales_order::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id),
        number: Set(number.to_owned()),
        customer_id: Set(header.customer_id.uuid()),
        status: Set(OrderStatus::Draft.as_str().to_owned()),
        places: Set(i16::try_from(places.get()).unwrap_or(2)),
        quote_id: Set(None),
        external_id: Set(None),
        confirmed_at: Set(None),
        closed_at: Set(None),
        cancel_reason: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    set_document(&mut model, document);
    model
}

/// Sets an order row's header, terms and totals columns (the external id among the terms).
pub(crate) fn set_document(
    model: &mut sales_order::ActiveModel,
    (header, terms, totals): (&HeaderInput, &OrderTerms, &guanxi_domain::trade::money::Totals),
) {
    model.contact_id = Set(header.contact_id.map(ContactId::uuid));
    model.opportunity_id = Set(header.opportunity_id.map(OpportunityId::uuid));
    model.owner_id = Set(header.owner_id.map(UserId::uuid));
    model.tax_mode = Set(header.tax_mode.as_str().to_owned());
    model.discount_e4 = Set(to_e4(header.discount));
    model.notes = Set(header.notes.clone());
    model.delivery_date = Set(terms.delivery_date);
    model.delivery_address = Set(terms.delivery_address.clone());
    model.payment_terms = Set(terms.payment_terms.clone());
    model.external_id = Set(terms.external_id.clone());
    let [list, subtotal, off, net, tax, gross, off_list] = lines::totals_e4(totals);
    model.list_amount_e4 = Set(list);
    model.subtotal_e4 = Set(subtotal);
    model.discount_amount_e4 = Set(off);
    model.net_e4 = Set(net);
    model.tax_e4 = Set(tax);
    model.gross_e4 = Set(gross);
    model.discount_off_list_e4 = Set(off_list);
}

/// Why an order `off`% off list may not be confirmed by this caller, if it may not: past
/// the tenant's threshold it takes someone who may approve discounts, unless the order is
/// no deeper than the accepted quote it came from.
pub(crate) fn refused_confirmation(
    threshold: Option<Decimal>,
    off: Decimal,
    may_approve: bool,
    quote: Option<&guanxi_domain::trade::document::Quote>,
) -> Option<String> {
    let threshold = threshold.filter(|t| off > *t && !may_approve)?;
    if quote.is_some_and(|q| q.status == QuoteStatus::Accepted && q.discount_off_list >= off) {
        return None;
    }
    Some(format!("{off}% off list is above the {threshold}% threshold: someone with quote.approve confirms it"))
}

/// An edit of a draft order: what is given replaces what was.
pub struct OrderEdit {
    pub header: Option<HeaderInput>,
    /// What the writer may link to.
    pub links: LinkScopes,
    pub terms: Option<OrderTerms>,
    pub lines: Option<Vec<LineInput>>,
}

/// Edits an order in DRAFT at the version the caller read.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OwnerAndCustomer,
    (id, expected_version): (Uuid, i32),
    edit: OrderEdit,
) -> StoreResult<Order> {
    let tenant = author.tenant_id;
    let settings = tenant::settings(conn, tenant).await?;
    let before = repo::live_current::<Orders, C>(conn, tenant, scope, id, expected_version).await?;
    before.after(OrderAction::Edit)?;
    let mut header = edit.header.unwrap_or_else(|| HeaderInput::from(&before.header));
    header.owner_id = header.owner_id.or(before.header.owner_id);
    if header.customer_id != before.header.customer_id {
        return Err(StoreError::rejected("customerId", ErrorCode::Invalid, "an order stays with its customer"));
    }
    let checked = document::check_header(conn, tenant, (scope, edit.links), &header).await?;
    let places = before.header.places;
    let parent = Parent::Order(id);
    let (lines, totals) = match &edit.lines {
        Some(inputs) => {
            let today = shanghai_date(Utc::now());
            let customer = (header.customer_id, checked.level.as_deref());
            let drafts =
                lines::price_lines(conn, tenant, customer, inputs, (today, settings.decimal_places.product)).await?;
            lines::figured(drafts, (header.discount, header.tax_mode, places))
        }
        None => {
            let current = lines::of_one(conn, tenant, parent).await?;
            lines::refigured(&current, (header.discount, header.tax_mode, places))
        }
    };
    if lines.is_empty() {
        return Err(StoreError::rejected("lines", ErrorCode::Required, "an order has at least one line"));
    }
    let terms = edit.terms.unwrap_or_else(|| before.terms.clone());
    let update = document::header_update(sales_order::Entity::update_many(), &header)
        .col_expr(sales_order::Column::DeliveryDate, Expr::value(terms.delivery_date))
        .col_expr(sales_order::Column::DeliveryAddress, Expr::value(terms.delivery_address.clone()))
        .col_expr(sales_order::Column::PaymentTerms, Expr::value(terms.payment_terms.clone()))
        .col_expr(sales_order::Column::ExternalId, Expr::value(terms.external_id.clone()));
    let update = lines::with_totals(update, &totals);
    repo::write_versioned_or::<Orders, C>(conn, tenant, id, expected_version, update, on_external).await?;
    lines::replace(conn, tenant, parent, &lines).await?;
    let after = find(conn, tenant, OwnerAndCustomer::ALL, id).await?.ok_or(StoreError::NotFound)?;
    let changes = ChangeSet::new()
        .diff(&document::described(&before.header), &document::described(&after.header))
        .field("externalId", &before.terms.external_id, &after.terms.external_id)
        .field("deliveryDate", before.terms.delivery_date, after.terms.delivery_date)
        .field("total", before.totals.gross, after.totals.gross);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Confirms a draft order: a sale. The customer becomes WON with its last-deal time, and
/// the linked open deal is won when the tenant's `orderWinsDeal` says so. An order more
/// than the tenant's approval threshold off list is confirmed only by someone who may
/// approve discounts (`may_approve`), or when it is no deeper than the accepted quote it
/// came from.
pub async fn confirm<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OwnerAndCustomer,
    (id, expected_version): (Uuid, i32),
    may_approve: bool,
) -> StoreResult<Order> {
    let tenant = author.tenant_id;
    let settings = tenant::settings(conn, tenant).await?;
    let before = repo::live_current::<Orders, C>(conn, tenant, scope, id, expected_version).await?;
    let next = before.after(OrderAction::Confirm)?;
    let off = before.totals.discount_off_list();
    let threshold = settings.quote_approval_discount;
    if refused_confirmation(threshold, off, may_approve, None).is_some() {
        let quoted = match before.quote_id {
            Some(quote) => crate::trade::quote::find(conn, tenant, OwnerAndCustomer::ALL, quote.uuid()).await?,
            None => None,
        };
        if let Some(message) = refused_confirmation(threshold, off, may_approve, quoted.as_ref()) {
            return Err(StoreError::rejected("id", ErrorCode::IllegalState, message));
        }
    }
    let now = Utc::now();
    let update = sales_order::Entity::update_many()
        .col_expr(sales_order::Column::Status, Expr::value(next.as_str()))
        .col_expr(sales_order::Column::ConfirmedAt, Expr::value(now));
    let after = repo::write_versioned::<Orders, C>(conn, tenant, id, expected_version, update).await?;
    let changes = ChangeSet::new().field("status", before.status, next);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    mark_customer_won(conn, author, after.header.customer_id, now).await?;
    if settings.order_wins_deal
        && let Some(deal) = after.header.opportunity_id
    {
        win_deal(conn, author, deal, &after.number).await?;
    }
    Ok(after)
}

/// The customer of a confirmed order becomes WON (成交) with its last-deal time, recorded
/// on the customer (its version moves, so a stale edit of the card cannot undo it).
pub(crate) async fn mark_customer_won<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customer: guanxi_domain::ids::CustomerId,
    now: chrono::DateTime<Utc>,
) -> StoreResult<()> {
    mark_customers_won(conn, author, &[(customer.uuid(), now)]).await
}

/// [`mark_customer_won`] for the customers of a call's sales, each at the time of its deal
/// (a synced contract's sign date): one read, one update and their change events, however
/// many customers. The last-deal time only moves forward.
pub(crate) async fn mark_customers_won<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    deals: &[(Uuid, chrono::DateTime<Utc>)],
) -> StoreResult<()> {
    let tenant = author.tenant_id;
    if deals.is_empty() {
        return Ok(());
    }
    let mut latest: std::collections::HashMap<Uuid, chrono::DateTime<Utc>> = std::collections::HashMap::new();
    for (customer, at) in deals {
        let slot = latest.entry(*customer).or_insert(*at);
        *slot = std::cmp::max(*slot, *at);
    }
    let rows = customer::Entity::find()
        .filter(customer::Column::TenantId.eq(tenant.uuid()))
        .filter(customer::Column::Id.is_in(latest.keys().copied()))
        .all(conn)
        .await?;
    if rows.len() != latest.len() {
        return Err(StoreError::NotFound);
    }
    let now = Utc::now();
    let mut last_deal = sea_orm::sea_query::CaseStatement::new();
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let at = std::cmp::max(latest[&row.id], row.last_deal_at.unwrap_or(latest[&row.id]));
        last_deal = last_deal.case(Expr::col(customer::Column::Id).eq(row.id), Expr::value(at));
        let changes = ChangeSet::new().field("status", &row.status, CustomerStatus::Won.as_str()).field(
            "lastDealAt",
            row.last_deal_at,
            at,
        );
        events.push((row.id, Operation::Update, changes));
    }
    customer::Entity::update_many()
        .col_expr(customer::Column::Status, Expr::value(CustomerStatus::Won.as_str()))
        .col_expr(customer::Column::LastDealAt, last_deal.finally(Expr::col(customer::Column::LastDealAt)).into())
        .col_expr(customer::Column::Version, Expr::col(customer::Column::Version).add(1))
        .col_expr(customer::Column::UpdatedAt, Expr::value(now))
        .filter(customer::Column::TenantId.eq(tenant.uuid()))
        .filter(customer::Column::Id.is_in(latest.keys().copied()))
        .exec(conn)
        .await?;
    audit::record_many(conn, author, EntityKind::Customer, events).await?;
    Ok(())
}

/// Moves an open deal to its pipeline's won stage (a deal already closed stays as it is).
pub(crate) async fn win_deal<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    deal: OpportunityId,
    number: &str,
) -> StoreResult<()> {
    let tenant = author.tenant_id;
    let Some(found) = crate::sales::opportunity::find(conn, tenant, OwnerAndCustomer::ALL, deal.uuid()).await? else {
        return Ok(());
    };
    if found.status != StageKind::Open || found.deleted_at.is_some() {
        return Ok(());
    }
    let stages = crate::sales::pipeline::stages_of(conn, tenant, &[found.pipeline_id.uuid()])
        .await?
        .remove(&found.pipeline_id)
        .unwrap_or_default();
    let Some(won) = stages.iter().find(|s| s.kind == StageKind::Won) else { return Ok(()) };
    let reason = format!("销售订单 {number} 已确认");
    crate::sales::opportunity::move_stage(
        conn,
        author,
        OwnerAndCustomer::ALL,
        deal.uuid(),
        found.version,
        won.id,
        Some(&reason),
    )
    .await?;
    Ok(())
}

/// One delivery of a line.
#[derive(Clone, Debug)]
pub struct DeliveryInput {
    pub line_id: LineId,
    pub quantity: Decimal,
}

/// A delivery as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: Uuid,
    pub order_id: OrderId,
    pub line_id: LineId,
    pub quantity: Decimal,
    pub delivered_on: NaiveDate,
    pub note: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: chrono::DateTime<Utc>,
}

/// Records deliveries of a confirmed order's lines on `on`; more than was ordered is
/// refused, and the order becomes PARTLY_DELIVERED or DELIVERED.
pub async fn deliver<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OwnerAndCustomer,
    (id, expected_version): (Uuid, i32),
    (deliveries, on, note): (&[DeliveryInput], NaiveDate, Option<&str>),
) -> StoreResult<Order> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Orders, C>(conn, tenant, scope, id, expected_version).await?;
    before.after(OrderAction::Deliver)?;
    if deliveries.is_empty() {
        return Err(StoreError::rejected("lines", ErrorCode::Required, "deliver at least one line"));
    }
    let parent = Parent::Order(id);
    let mut lines = lines::of_one(conn, tenant, parent).await?;
    let mut invalid = Invalid::default();
    for (i, d) in deliveries.iter().enumerate() {
        let Some(line) = lines.iter_mut().find(|l| l.id == d.line_id) else {
            invalid.push(FieldError::new(
                format!("lines.{i}.lineId"),
                ErrorCode::NotFound,
                "no such line of the order",
            ));
            continue;
        };
        if d.quantity <= Decimal::ZERO || d.quantity.normalize().scale() > 4 {
            invalid.push(FieldError::new(format!("lines.{i}.quantity"), ErrorCode::Invalid, "a quantity above 0"));
            continue;
        }
        line.delivered += d.quantity;
    }
    invalid.into_result()?;
    let status =
        delivered_status(&lines.iter().map(|l| (l.terms.quantity, l.delivered)).collect::<Vec<_>>()).map_err(|i| {
            let line = &lines[i];
            StoreError::rejected(
                "lines",
                ErrorCode::Invalid,
                format!("{}: {} delivered of {} ordered", line.product_name, line.delivered, line.terms.quantity),
            )
        })?;
    let now = Utc::now();
    let note = note.map(str::trim).filter(|n| !n.is_empty()).map(|n| n.chars().take(200).collect::<String>());
    let rows: Vec<order_delivery::ActiveModel> = deliveries
        .iter()
        .map(|d| order_delivery::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            id: Set(Uuid::now_v7()),
            order_id: Set(id),
            line_id: Set(d.line_id.uuid()),
            quantity_e4: Set(to_e4(d.quantity)),
            delivered_on: Set(on),
            note: Set(note.clone()),
            created_by: Set(author.user_id),
            created_at: Set(now),
        })
        .collect();
    crate::insert_chunked(conn, rows).await?;
    for line in lines.iter().filter(|l| deliveries.iter().any(|d| d.line_id == l.id)) {
        lines::set_delivered(conn, tenant, line.id, line.delivered).await?;
    }
    let update = sales_order::Entity::update_many().col_expr(sales_order::Column::Status, Expr::value(status.as_str()));
    let after = repo::write_versioned::<Orders, C>(conn, tenant, id, expected_version, update).await?;
    let delivered: Vec<serde_json::Value> =
        deliveries.iter().map(|d| serde_json::json!({ "lineId": d.line_id, "quantity": d.quantity })).collect();
    let changes =
        ChangeSet::new().field("status", before.status, status).field("delivered", (), delivered).field("on", (), on);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Completes a delivered order, or cancels one nothing of which was delivered (with a
/// reason).
pub async fn close<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OwnerAndCustomer,
    (id, expected_version): (Uuid, i32),
    action: OrderAction,
    reason: Option<&str>,
) -> StoreResult<Order> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Orders, C>(conn, tenant, scope, id, expected_version).await?;
    let next = before.after(action)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if action == OrderAction::Cancel && reason.is_none_or(|r| r.chars().count() > 200) {
        return Err(StoreError::rejected("reason", ErrorCode::Required, "say why, in at most 200 characters"));
    }
    let update = sales_order::Entity::update_many()
        .col_expr(sales_order::Column::Status, Expr::value(next.as_str()))
        .col_expr(sales_order::Column::ClosedAt, Expr::value(Utc::now()))
        .col_expr(sales_order::Column::CancelReason, Expr::value(reason.map(str::to_owned)));
    let after = repo::write_versioned::<Orders, C>(conn, tenant, id, expected_version, update).await?;
    let changes = ChangeSet::new().field("status", before.status, next).field("reason", (), reason);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Moves a draft order to the recycle bin.
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OwnerAndCustomer,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<Order> {
    let before = repo::live_current::<Orders, C>(conn, author.tenant_id, scope, id, expected_version).await?;
    before.after(OrderAction::Delete)?;
    repo::mark_deleted::<Orders, C>(conn, author, id, expected_version).await
}

/// The deliveries of each order among `ids` (the caller has read the orders), oldest first.
pub async fn deliveries_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    ids: &[Uuid],
) -> StoreResult<HashMap<Uuid, Vec<Delivery>>> {
    let rows = order_delivery::Entity::find()
        .filter(order_delivery::Column::TenantId.eq(tenant.uuid()))
        .filter(order_delivery::Column::OrderId.is_in(ids.iter().copied()))
        .order_by_asc(order_delivery::Column::CreatedAt)
        .order_by_asc(order_delivery::Column::Id)
        .all(conn)
        .await?;
    let mut found: HashMap<Uuid, Vec<Delivery>> = HashMap::new();
    for m in rows {
        found.entry(m.order_id).or_default().push(Delivery {
            id: m.id,
            order_id: m.order_id.into(),
            line_id: m.line_id.into(),
            quantity: from_e4(m.quantity_e4),
            delivered_on: m.delivered_on,
            note: m.note,
            created_by: m.created_by.map(Into::into),
            created_at: m.created_at,
        });
    }
    Ok(found)
}

/// The sales of each customer among `customers`: count and amount (tax included) of its
/// visible orders confirmed and not cancelled. One grouped statement.
pub async fn sales_by_customer<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OwnerAndCustomer,
    customers: &[Uuid],
) -> StoreResult<HashMap<Uuid, (u64, Decimal)>> {
    let rows: Vec<(Uuid, i64, Option<i64>)> = Orders::live(conn.get_database_backend(), tenant, scope)
        .select_only()
        .column(sales_order::Column::CustomerId)
        .column_as(Expr::col(sales_order::Column::Id).count(), "n")
        .column_as(Expr::cust("CAST(SUM(gross_e4) AS BIGINT)"), "gross")
        .filter(sales_order::Column::CustomerId.is_in(customers.iter().copied()))
        .filter(sales_order::Column::ConfirmedAt.is_not_null())
        .filter(sales_order::Column::Status.ne(OrderStatus::Cancelled.as_str()))
        .group_by(sales_order::Column::CustomerId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(customer, n, gross)| (customer, (u64::try_from(n).unwrap_or(0), from_e4(gross.unwrap_or(0)))))
        .collect())
}

/// The work log's sales for `users` in `[from, to)`, per period (keyed by the period's
/// first day): orders they own confirmed in the window and not cancelled, with their
/// amount (tax included, ten-thousandths). One grouped read through the caller's scope.
pub async fn work_log<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OwnerAndCustomer,
    users: &[Uuid],
    (from, to): (chrono::DateTime<Utc>, chrono::DateTime<Utc>),
    granularity: guanxi_domain::activity::field::Granularity,
) -> StoreResult<Vec<(String, i64, Option<i64>)>> {
    let backend = conn.get_database_backend();
    let period = crate::dialect::period_start_sql(backend, granularity, r#""sales_orders"."confirmed_at""#);
    Ok(Orders::live(backend, tenant, scope)
        .select_only()
        .column_as(Expr::cust(period.clone()), "period")
        .column_as(Expr::col((sales_order::Entity, sales_order::Column::Id)).count(), "n")
        .column_as(Expr::cust(r#"CAST(SUM("sales_orders"."gross_e4") AS BIGINT)"#), "gross")
        .filter(sales_order::Column::OwnerId.is_in(users.iter().copied()))
        .filter(sales_order::Column::Status.ne(OrderStatus::Cancelled.as_str()))
        .filter(sales_order::Column::ConfirmedAt.gte(from))
        .filter(sales_order::Column::ConfirmedAt.lt(to))
        .group_by(Expr::cust(period))
        .into_tuple()
        .all(conn)
        .await?)
}
