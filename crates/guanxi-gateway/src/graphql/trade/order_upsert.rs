//! `upsertSalesOrders`: an ERP's sales orders (销售订单) by external key, through the
//! upsert kit (`integration::upsert`) and the store's set-based `order_upsert`.
//! Customers, contacts and products may be named by their keys in the same source.

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object};
use chrono::NaiveDate;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{ContactId, CustomerId, OpportunityId, ProductId, UserId};
use guanxi_domain::platform::access::Permission;
use guanxi_domain::platform::upsert;
use guanxi_domain::trade::document::OrderStatus;
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use guanxi_store::trade::lines::LineInput;
use guanxi_store::trade::order_upsert::{OrderPatch, Rules, UpsertRow};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::document::{TaxMode, TaxRate, links};
use super::order::order_scope;
use super::product_upsert::{optional_id, optional_reference, patched, reference};
use crate::graphql::context::{author, require};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::integration::upsert::{UpsertMode, UpsertPayload, check_call, keys_named, named_each, run};
use crate::graphql::platform::org::USER;
use crate::graphql::relay::input_id;

/// Most lines one call takes, all its orders together (each order at most a document's
/// 1,000): the products they name are read in one statement.
const MAX_CALL_LINES: usize = 10_000;

/// The status a synced order ends in.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
pub enum SyncedOrderStatus {
    /// 草稿: editable; a new order's default.
    Draft,
    /// 已确认: a sale. An order already delivered or completed counts as confirmed.
    Confirmed,
    /// 已取消: needs `cancelReason`; only before anything is delivered.
    Cancelled,
}

impl From<SyncedOrderStatus> for OrderStatus {
    fn from(status: SyncedOrderStatus) -> Self {
        match status {
            SyncedOrderStatus::Draft => OrderStatus::Draft,
            SyncedOrderStatus::Confirmed => OrderStatus::Confirmed,
            SyncedOrderStatus::Cancelled => OrderStatus::Cancelled,
        }
    }
}

/// One line of a synced order.
#[derive(InputObject, Serialize)]
pub struct SalesOrderUpsertLine {
    /// The product by id…
    pub product_id: Option<ID>,
    /// …or by its key in the same source (an ERP inventory code).
    pub product_external_id: Option<String>,
    /// At most 4 decimal places.
    pub quantity: Decimal,
    /// The source's price (MANUAL when it differs from what the price policies give);
    /// left out, the policies decide, as on `createSalesOrder`.
    pub unit_price: Option<Decimal>,
    /// Percent off the unit price, 0 to 100.
    pub discount: Option<Decimal>,
    /// The product's rate when left out.
    pub tax_rate: Option<TaxRate>,
    pub note: Option<String>,
}

/// One order of an upsert call: its key and what to set. A new order needs its customer
/// and lines; a stored one changes only what is given, and only while it is a draft
/// (re-sending a confirmed order as it is changes nothing).
#[derive(InputObject, Serialize)]
pub struct SalesOrderUpsertRecord {
    /// The order's key in the source system (the ERP's order number).
    pub external_id: String,
    /// A new order's customer by id…
    pub customer_id: Option<ID>,
    /// …or by the customer's key in the same source. A stored order keeps its customer.
    pub customer_external_id: Option<String>,
    /// The contact, by id (`null` clears it)…
    pub contact_id: MaybeUndefined<ID>,
    /// …or by the contact's key in the same source.
    pub contact_external_id: Option<String>,
    /// The deal (商机) the order closes, by id: one of the customer's that you see.
    /// Confirming the order wins it when the tenant's `orderWinsDeal` is on.
    pub opportunity_id: MaybeUndefined<ID>,
    /// A new order's default is the caller, as on `createSalesOrder`.
    pub owner_id: Option<ID>,
    /// A new order's default is INCLUSIVE.
    pub tax_mode: Option<TaxMode>,
    /// Percent off every line (整单折扣), 0 to 100.
    pub discount: Option<Decimal>,
    pub notes: MaybeUndefined<String>,
    pub delivery_date: MaybeUndefined<NaiveDate>,
    pub delivery_address: MaybeUndefined<String>,
    pub payment_terms: MaybeUndefined<String>,
    /// Every line as it should be. Required for a new order; lines equal to the stored
    /// ones (the fields each gives matching) leave the order as it is.
    pub lines: Option<Vec<SalesOrderUpsertLine>>,
    /// Left out: DRAFT for a new order, the stored status otherwise. Confirming is a sale
    /// (the customer becomes WON, the linked deal is won when the tenant says so).
    pub status: Option<SyncedOrderStatus>,
    /// Why, when the record cancels the order.
    pub cancel_reason: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct UpsertSalesOrdersInput {
    /// The system the keys come from; customers, contacts and products named by key are
    /// looked up in it too.
    pub source: String,
    /// At most 1,000 records, with at most 10,000 lines among them.
    pub records: Vec<SalesOrderUpsertRecord>,
    #[graphql(default_with = "UpsertMode::Partial")]
    pub mode: UpsertMode,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// The keys a call's records name, by kind, looked up in its source.
struct Named {
    customers: HashMap<String, Uuid>,
    contacts: HashMap<String, Uuid>,
    products: HashMap<String, Uuid>,
}

#[derive(Default)]
pub struct OrderUpsertMutation;

#[Object]
impl OrderUpsertMutation {
    /// Creates or updates up to 1,000 sales orders by `(source, externalId)`: no order with
    /// the key creates one (numbered by the tenant's rule), one updates it, and a record
    /// matching the order as stored writes nothing. Each row passes the checks
    /// `createSalesOrder`, `updateSalesOrder`, `confirmSalesOrder` and `cancelSalesOrder`
    /// make (the customer in the caller's scope, lines priced and checked, only a draft
    /// edited, the discount threshold for a confirmation), in one transaction with the
    /// change events. Needs `order.write`.
    async fn upsert_sales_orders(&self, ctx: &Context<'_>, input: UpsertSalesOrdersInput) -> ApiResult<UpsertPayload> {
        let actor = require(ctx, Permission::OrderWrite)?.writing();
        let source = check_call(&input.source, input.records.len())?;
        let lines: usize = input.records.iter().map(|r| r.lines.as_ref().map_or(0, Vec::len)).sum();
        if lines > MAX_CALL_LINES {
            return Err(ApiError::BadUserInput(format!(
                "at most {MAX_CALL_LINES} lines per call, all orders together"
            )));
        }
        let author = author(ctx, &actor);
        let rules = Rules {
            orders: order_scope(&actor),
            links: links(&actor),
            may_approve: actor.may(Permission::QuoteApprove),
        };
        let mode = input.mode.into();
        let hashed = serde_json::to_value(&input).unwrap_or_default();
        let customers = keys_named(&input.records, |r| r.customer_external_id.as_ref());
        let contacts = keys_named(&input.records, |r| r.contact_external_id.as_ref());
        let order_lines: Vec<&SalesOrderUpsertLine> =
            input.records.iter().flat_map(|r| r.lines.iter().flatten()).collect();
        let products = keys_named(&order_lines, |l| l.product_external_id.as_ref());
        let key_source = source.clone();
        run(
            ctx,
            &actor,
            ("upsertSalesOrders", EntityKind::Order),
            (input.idempotency_key.as_deref(), &hashed),
            source,
            move |tx| {
                Box::pin(async move {
                    let wanted = [
                        (EntityKind::Customer, customers),
                        (EntityKind::Contact, contacts),
                        (EntityKind::Product, products),
                    ];
                    let [customers, contacts, products] = named_each(tx, author.tenant_id, &key_source, wanted).await?;
                    let named = Named { customers, contacts, products };
                    let rows = input.records.into_iter().map(|record| record.row(&named)).collect();
                    guanxi_store::trade::order_upsert::upsert(tx, &author, rules, (&key_source, mode), rows).await
                })
            },
        )
        .await
    }
}

impl SalesOrderUpsertRecord {
    /// The row as the store takes it: references resolved (by id, or by key through
    /// `named`) and the record's own shape checked.
    fn row(self, named: &Named) -> UpsertRow {
        let customer = reference(
            ("customerId", self.customer_id.as_ref(), EntityKind::Customer),
            ("customerExternalId", self.customer_external_id.as_ref()),
            &named.customers,
        )
        .map(|c| c.map(CustomerId::from_uuid));
        let external_id = self.external_id.trim().to_owned();
        UpsertRow { external_id, customer, patch: self.patch(named) }
    }

    fn patch(self, named: &Named) -> Result<OrderPatch, Invalid> {
        let mut invalid = Invalid::default();
        invalid.check(upsert::parse_external_id("externalId", &self.external_id));
        let contact = optional_reference(
            ("contactId", self.contact_id, EntityKind::Contact),
            ("contactExternalId", self.contact_external_id.as_ref()),
            &named.contacts,
            &mut invalid,
        )
        .map(|c| c.map(ContactId::from_uuid));
        let opportunity =
            optional_id("opportunityId", self.opportunity_id, EntityKind::Opportunity.name(), &mut invalid)
                .map(|d| d.map(OpportunityId::from_uuid));
        let owner = self.owner_id.as_ref().and_then(|id| {
            input_id("ownerId", id, USER)
                .map(UserId::from_uuid)
                .map_err(|e| invalid.push(FieldError::new("ownerId", ErrorCode::Invalid, e.message)))
                .ok()
        });
        if let Some(discount) = self.discount {
            invalid.check(guanxi_domain::trade::money::check_discount("discount", discount));
        }
        let notes = patched(self.notes).map(|n| n.filter(|n| !n.trim().is_empty()));
        if notes.as_ref().is_some_and(|n| n.as_ref().is_some_and(|n| n.chars().count() > 2000)) {
            invalid.push(FieldError::new("notes", ErrorCode::Invalid, "notes are at most 2000 characters"));
        }
        let lines = self.lines.map(|lines| {
            lines
                .into_iter()
                .enumerate()
                .filter_map(|(i, line)| {
                    let product = reference(
                        (&format!("lines.{i}.productId"), line.product_id.as_ref(), EntityKind::Product),
                        (&format!("lines.{i}.productExternalId"), line.product_external_id.as_ref()),
                        &named.products,
                    );
                    let product = match product {
                        None => {
                            let message = "name the product: productId or productExternalId";
                            invalid.push(FieldError::new(format!("lines.{i}.productId"), ErrorCode::Required, message));
                            None
                        }
                        Some(p) => p.map_err(|e| invalid.0.extend(e.0)).ok(),
                    }?;
                    Some(LineInput {
                        product_id: ProductId::from_uuid(product),
                        quantity: line.quantity,
                        unit_price: line.unit_price,
                        discount: line.discount,
                        tax_rate: line.tax_rate.map(Into::into),
                        note: line.note,
                    })
                })
                .collect()
        });
        invalid.into_result()?;
        Ok(OrderPatch {
            contact,
            opportunity,
            owner,
            tax_mode: self.tax_mode.map(Into::into),
            discount: self.discount,
            notes,
            delivery_date: patched(self.delivery_date),
            delivery_address: patched(self.delivery_address),
            payment_terms: patched(self.payment_terms),
            lines,
            status: self.status.map(Into::into),
            cancel_reason: self.cancel_reason,
        })
    }
}
