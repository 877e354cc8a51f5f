//! What quotes and orders share over GraphQL: lines, totals, tax, and the header input;
//! and the data loaders that read lines and deliveries a page of documents at a time.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use guanxi_domain::ids::{ContactId, CustomerId, OpportunityId, ProductId, UserId};
use guanxi_domain::trade::document::{DocumentHeader, Line};
use guanxi_domain::trade::money::{Places, TaxMode as DomainMode, TaxRate as DomainRate, Totals as DomainTotals};
use guanxi_domain::trade::pricing::PriceSource as DomainSource;
use guanxi_store::trade::document::HeaderInput;
use guanxi_store::trade::lines::{LineInput as StoreLine, Parent};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::graphql::customers::customer::{CUSTOMER, Money};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{Loaders, ScopedLoader};
use crate::graphql::relay::{global_id, input_id};

pub const PRODUCT: &str = guanxi_domain::entity::EntityKind::Product.name();
pub const LINE: &str = "DocumentLine";

pub fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, ApiError> {
    ctx.data_opt::<Loaders>().ok_or_else(|| ApiError::Unauthenticated("log in first".into()))
}

/// A VAT rate (增值税税率; 5, 3 and 1 are small-scale rates, 征收率).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainRate")]
pub enum TaxRate {
    Vat13,
    Vat9,
    Vat6,
    Vat5,
    Vat3,
    Vat1,
    /// 零税率 or exempt.
    Zero,
}

/// Whether prices include VAT (含税) or have it added (不含税).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainMode")]
pub enum TaxMode {
    Inclusive,
    Exclusive,
}

/// Where a line's price came from.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainSource")]
pub enum PriceSource {
    /// The customer's own price policy.
    Customer,
    /// The price policy of the customer's level.
    Level,
    /// The product's list price.
    List,
    /// A price the writer typed.
    Manual,
}

/// An amount at a document's places.
pub fn money(amount: Decimal, places: Places) -> Money {
    Money { amount: places.round(amount), currency: "CNY".into() }
}

/// The tax and amount of one rate.
#[derive(SimpleObject)]
pub struct TaxByRate {
    rate: TaxRate,
    net: Money,
    tax: Money,
}

/// A document's totals: sums of its lines, each rounded half up (四舍五入) to the
/// document's places.
#[derive(SimpleObject)]
pub struct DocumentTotals {
    /// Quantity × list price.
    list_amount: Money,
    /// After the lines' own discounts.
    subtotal: Money,
    /// What the whole-document discount took off.
    discount_amount: Money,
    /// Before tax.
    net: Money,
    tax: Money,
    /// 价税合计: what the customer pays.
    total: Money,
    /// Percent off the list amount, both discounts counted.
    discount_off_list: Decimal,
    /// Net and tax per rate, highest rate first.
    by_rate: Vec<TaxByRate>,
}

/// The totals of a document with these lines (the split by rate comes from the lines).
pub fn totals(totals: &DomainTotals, lines: &[Line], places: Places) -> DocumentTotals {
    let rated: Vec<_> = lines.iter().map(|l| (l.terms.tax_rate, l.figures)).collect();
    let by_rate = guanxi_domain::trade::money::totals(&rated).by_rate;
    DocumentTotals {
        list_amount: money(totals.list_amount, places),
        subtotal: money(totals.subtotal, places),
        discount_amount: money(totals.discount_amount, places),
        net: money(totals.net, places),
        tax: money(totals.tax, places),
        total: money(totals.gross, places),
        discount_off_list: totals.discount_off_list(),
        by_rate: by_rate
            .into_iter()
            .map(|r| TaxByRate { rate: r.rate.into(), net: money(r.net, places), tax: money(r.tax, places) })
            .collect(),
    }
}

/// One line of a quote, an order or a deal.
pub struct DocumentLine {
    pub line: Line,
    pub places: Places,
}

#[Object]
impl DocumentLine {
    async fn id(&self) -> ID {
        global_id(LINE, self.line.id.uuid())
    }
    async fn position(&self) -> i32 {
        self.line.position
    }
    /// The product's global id (it may since have been deactivated).
    async fn product_id(&self) -> ID {
        global_id(PRODUCT, self.line.product_id.uuid())
    }
    /// The product's name, specification and unit when the line was written.
    async fn product_name(&self) -> &str {
        &self.line.product_name
    }
    async fn specification(&self) -> Option<&str> {
        self.line.specification.as_deref()
    }
    async fn unit(&self) -> &str {
        &self.line.unit
    }
    async fn quantity(&self) -> Decimal {
        self.line.terms.quantity.normalize()
    }
    async fn list_price(&self) -> Money {
        Money { amount: self.line.terms.list_price.normalize(), currency: "CNY".into() }
    }
    /// The sale price (成交单价) before the line's discount.
    async fn unit_price(&self) -> Money {
        Money { amount: self.line.terms.unit_price.normalize(), currency: "CNY".into() }
    }
    /// Percent off the unit price on this line.
    async fn discount(&self) -> Decimal {
        self.line.terms.discount.normalize()
    }
    async fn tax_rate(&self) -> TaxRate {
        self.line.terms.tax_rate.into()
    }
    async fn price_source(&self) -> PriceSource {
        self.line.source.into()
    }
    /// The policy that gave the price, when one did.
    async fn price_policy_id(&self) -> Option<ID> {
        self.line.policy_id.map(|p| global_id(guanxi_domain::entity::EntityKind::PricePolicy.name(), p.uuid()))
    }
    async fn list_amount(&self) -> Money {
        money(self.line.figures.list_amount, self.places)
    }
    /// Quantity × unit price less the line's discount.
    async fn subtotal(&self) -> Money {
        money(self.line.figures.subtotal, self.places)
    }
    /// The subtotal less the document's discount.
    async fn amount(&self) -> Money {
        money(self.line.figures.amount, self.places)
    }
    async fn net(&self) -> Money {
        money(self.line.figures.net, self.places)
    }
    async fn tax(&self) -> Money {
        money(self.line.figures.tax, self.places)
    }
    async fn total(&self) -> Money {
        money(self.line.figures.gross, self.places)
    }
    /// Delivered so far (orders).
    async fn delivered_quantity(&self) -> Decimal {
        self.line.delivered.normalize()
    }
    async fn note(&self) -> Option<&str> {
        self.line.note.as_deref()
    }
}

/// A line to price and write. Left out: the resolved price, no discount, the product's
/// tax rate.
#[derive(InputObject, Clone, Serialize)]
pub struct LineInput {
    pub product_id: ID,
    /// At most 4 decimal places.
    pub quantity: Decimal,
    /// A price of your own (MANUAL); the price policies decide otherwise.
    pub unit_price: Option<Decimal>,
    /// Percent off the unit price, 0 to 100.
    pub discount: Option<Decimal>,
    pub tax_rate: Option<TaxRate>,
    pub note: Option<String>,
}

/// The lines as the store takes them, or the errors of their ids (`lines.N.productId`).
pub fn store_lines(lines: &[LineInput]) -> Result<Vec<StoreLine>, Vec<UserError>> {
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match input_id(&format!("lines.{i}.productId"), &line.product_id, PRODUCT) {
            Ok(product) => out.push(StoreLine {
                product_id: ProductId::from_uuid(product),
                quantity: line.quantity,
                unit_price: line.unit_price,
                discount: line.discount,
                tax_rate: line.tax_rate.map(Into::into),
                note: line.note.clone(),
            }),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// Who a document is for and how it is priced.
#[derive(InputObject, Clone, Serialize)]
pub struct DocumentHeaderInput {
    pub customer_id: ID,
    pub contact_id: Option<ID>,
    pub opportunity_id: Option<ID>,
    /// The caller when left out.
    pub owner_id: Option<ID>,
    #[graphql(default_with = "TaxMode::Inclusive")]
    pub tax_mode: TaxMode,
    /// Percent off every line (整单折扣), 0 to 100.
    #[graphql(default)]
    pub discount: Decimal,
    pub notes: Option<String>,
}

fn optional(field: &str, id: &Option<ID>, kind: &str, errors: &mut Vec<UserError>) -> Option<Uuid> {
    id.as_ref().and_then(|id| input_id(field, id, kind).map_err(|e| errors.push(e)).ok())
}

impl DocumentHeaderInput {
    /// The header as the store takes it, owned by `ownerId`, else by `caller` (a create),
    /// else by whoever owns the document now (an edit).
    pub fn to_store(&self, caller: Option<UserId>) -> Result<HeaderInput, Vec<UserError>> {
        let mut errors = Vec::new();
        let customer = input_id("customerId", &self.customer_id, CUSTOMER).map_err(|e| errors.push(e)).ok();
        let contact = optional("contactId", &self.contact_id, crate::graphql::customers::contact::CONTACT, &mut errors);
        let deal = optional(
            "opportunityId",
            &self.opportunity_id,
            crate::graphql::sales::opportunity::OPPORTUNITY,
            &mut errors,
        );
        let owner = optional("ownerId", &self.owner_id, crate::graphql::platform::org::USER, &mut errors);
        if let Err(e) = guanxi_domain::trade::money::check_discount("discount", self.discount) {
            errors.push(UserError::new(&e.field, e.code, &e.message));
        }
        if self.notes.as_deref().is_some_and(|n| n.chars().count() > 2000) {
            errors.push(UserError::new(
                "notes",
                guanxi_domain::ErrorCode::Invalid,
                "notes are at most 2000 characters",
            ));
        }
        let Some(customer) = customer.filter(|_| errors.is_empty()) else { return Err(errors) };
        Ok(HeaderInput {
            customer_id: CustomerId::from_uuid(customer),
            contact_id: contact.map(ContactId::from_uuid),
            opportunity_id: deal.map(OpportunityId::from_uuid),
            owner_id: owner.map(UserId::from_uuid).or(caller),
            tax_mode: self.tax_mode.into(),
            discount: self.discount,
            notes: self.notes.clone().filter(|n| !n.trim().is_empty()),
        })
    }
}

/// What `actor` may link a document to: the contacts and deals they see.
pub fn links(actor: &guanxi_domain::platform::access::Actor) -> guanxi_store::trade::document::LinkScopes {
    guanxi_store::trade::document::LinkScopes {
        contacts: guanxi_domain::entity::EntityKind::contact_rules(actor),
        deals: guanxi_domain::entity::EntityKind::opportunity_rules(actor),
    }
}

/// The header fields every document shows.
pub fn header_ids(h: &DocumentHeader) -> (ID, Option<ID>, Option<ID>) {
    (
        global_id(CUSTOMER, h.customer_id.uuid()),
        h.contact_id.map(|c| global_id(crate::graphql::customers::contact::CONTACT, c.uuid())),
        h.opportunity_id.map(|o| global_id(crate::graphql::sales::opportunity::OPPORTUNITY, o.uuid())),
    )
}

/// The lines of a quote, an order or a deal (whose visibility the caller already checked).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinesKey(pub Parent);

impl Loader<LinesKey> for ScopedLoader {
    type Value = Vec<Line>;
    type Error = ApiError;

    async fn load(&self, keys: &[LinesKey]) -> Result<HashMap<LinesKey, Vec<Line>>, ApiError> {
        let parents: Vec<Parent> = keys.iter().map(|k| k.0).collect();
        let mut found = guanxi_store::trade::lines::of(self.db.connection(), self.actor.tenant_id, &parents).await?;
        Ok(keys.iter().map(|k| (*k, found.remove(&k.0).unwrap_or_default())).collect())
    }
}

/// A document's lines as GraphQL objects.
pub fn wrap_lines(lines: Vec<Line>, places: Places) -> Vec<DocumentLine> {
    lines.into_iter().map(|line| DocumentLine { line, places }).collect()
}

/// A document's lines, loaded with those of its page's siblings (one statement for every
/// quote, order and deal of a response).
pub async fn lines_of(ctx: &Context<'_>, parent: Parent) -> ApiResult<Vec<Line>> {
    Ok(loaders(ctx)?.load_one(LinesKey(parent)).await?.unwrap_or_default())
}
