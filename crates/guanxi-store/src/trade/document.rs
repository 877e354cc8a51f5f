//! What quotes and orders share: the header (customer, contact, deal, owner, how it is
//! priced), its checks, and its columns, which both tables name alike.

use guanxi_domain::ErrorCode;
use guanxi_domain::entity::OwnerAndCustomer;
use guanxi_domain::ids::{ContactId, CustomerId, OpportunityId, TenantId, UserId};
use guanxi_domain::trade::document::DocumentHeader;
use guanxi_domain::trade::money::{Places, TaxMode, Totals, from_e4, to_e4};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Alias, Expr};
use sea_orm::{ConnectionTrait, EntityTrait, UpdateMany};
use uuid::Uuid;

use crate::decode::Cell;
use crate::error::{StoreError, StoreResult};

/// A header's stored columns, for decoding.
pub struct Header<'a> {
    pub customer_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub tax_mode: &'a str,
    pub discount_e4: i64,
    pub places: i16,
    pub notes: Option<String>,
}

pub fn header_of(table: &'static str, id: Uuid, h: Header<'_>) -> StoreResult<DocumentHeader> {
    let places = u32::try_from(h.places).ok().and_then(|p| Places::try_from(p).ok());
    Ok(DocumentHeader {
        customer_id: h.customer_id.into(),
        contact_id: h.contact_id.map(Into::into),
        opportunity_id: h.opportunity_id.map(Into::into),
        owner_id: h.owner_id.map(Into::into),
        tax_mode: Cell::of(table, id, "tax_mode").text(h.tax_mode, TaxMode::parse)?,
        discount: from_e4(h.discount_e4),
        places: Cell::of(table, id, "places").check(places.ok_or("places out of range"))?,
        notes: h.notes,
    })
}

/// Totals from the stored list amount, subtotal, discount amount, net, tax and gross;
/// the split by rate is read from the lines when asked for.
pub fn totals_of([list_amount, subtotal, discount_amount, net, tax, gross]: [i64; 6]) -> Totals {
    Totals {
        list_amount: from_e4(list_amount),
        subtotal: from_e4(subtotal),
        discount_amount: from_e4(discount_amount),
        net: from_e4(net),
        tax: from_e4(tax),
        gross: from_e4(gross),
        by_rate: Vec::new(),
    }
}

/// A header as a writer gives it, checked for shape by the caller.
#[derive(Clone, Debug)]
pub struct HeaderInput {
    pub customer_id: CustomerId,
    pub contact_id: Option<ContactId>,
    pub opportunity_id: Option<OpportunityId>,
    pub owner_id: Option<UserId>,
    pub tax_mode: TaxMode,
    pub discount: Decimal,
    pub notes: Option<String>,
}

impl From<&DocumentHeader> for HeaderInput {
    fn from(h: &DocumentHeader) -> Self {
        Self {
            customer_id: h.customer_id,
            contact_id: h.contact_id,
            opportunity_id: h.opportunity_id,
            owner_id: h.owner_id,
            tax_mode: h.tax_mode,
            discount: h.discount,
            notes: h.notes.clone(),
        }
    }
}

/// The scopes a header's links are checked with: a writer links only a contact and a deal
/// they may see (`EntityKind::contact_rules`, `EntityKind::opportunity_rules`).
#[derive(Clone, Copy, Debug)]
pub struct LinkScopes {
    pub contacts: OwnerAndCustomer,
    pub deals: OwnerAndCustomer,
}

impl LinkScopes {
    /// Every link (the demo loader).
    pub const ALL: Self = Self { contacts: OwnerAndCustomer::ALL, deals: OwnerAndCustomer::ALL };
}

/// What the header's check learnt: the customer's level (for price policies).
pub struct CheckedHeader {
    pub level: Option<String>,
}

/// The customer is live and visible; the contact and the deal, when given, are its own
/// and visible to the writer; the owner is an active user.
pub async fn check_header<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (scope, links): (OwnerAndCustomer, LinkScopes),
    header: &HeaderInput,
) -> StoreResult<CheckedHeader> {
    let linked = Linked {
        customer_id: header.customer_id,
        contact_id: header.contact_id,
        opportunity_id: header.opportunity_id,
        owner_id: header.owner_id,
    };
    let customer = check_links(conn, tenant, (scope.customer, links), &linked).await?;
    Ok(CheckedHeader { level: customer.fields.level.clone() })
}

/// What a document links to beside its lines.
pub struct Linked {
    pub customer_id: CustomerId,
    pub contact_id: Option<ContactId>,
    pub opportunity_id: Option<OpportunityId>,
    pub owner_id: Option<UserId>,
}

/// The customer is live and `customers` admits it; the contact and the deal, when given,
/// are its own and visible to the writer; the owner is an active user. Returns the
/// customer.
pub async fn check_links<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (customers, links): (guanxi_domain::platform::access::CustomerRule, LinkScopes),
    linked: &Linked,
) -> StoreResult<guanxi_domain::customers::customer::Customer> {
    let customer = crate::customers::customer::find(conn, tenant, customers, linked.customer_id.uuid())
        .await?
        .filter(|c| c.deleted_at.is_none())
        .ok_or_else(|| StoreError::rejected("customerId", ErrorCode::NotFound, "no such customer"))?;
    if let Some(contact) = linked.contact_id {
        let found = crate::customers::contact::find(conn, tenant, links.contacts, contact.uuid()).await?;
        if found.is_none_or(|c| c.deleted_at.is_some() || c.customer_id != linked.customer_id) {
            return Err(StoreError::rejected("contactId", ErrorCode::NotFound, "no such contact of the customer"));
        }
    }
    if let Some(deal) = linked.opportunity_id {
        let found = crate::sales::opportunity::find(conn, tenant, links.deals, deal.uuid()).await?;
        if found.is_none_or(|o| o.deleted_at.is_some() || o.customer_id != linked.customer_id) {
            return Err(StoreError::rejected("opportunityId", ErrorCode::NotFound, "no such deal of the customer"));
        }
    }
    if let Some(owner) = linked.owner_id {
        crate::sales::opportunity::check_owner(conn, tenant, owner).await?;
    }
    Ok(customer)
}

/// `update` setting the header's columns.
pub fn header_update<E: EntityTrait>(update: UpdateMany<E>, header: &HeaderInput) -> UpdateMany<E> {
    let column = Alias::new;
    update
        .col_expr(column("contact_id"), Expr::value(header.contact_id.map(ContactId::uuid)))
        .col_expr(column("opportunity_id"), Expr::value(header.opportunity_id.map(OpportunityId::uuid)))
        .col_expr(column("owner_id"), Expr::value(header.owner_id.map(UserId::uuid)))
        .col_expr(column("tax_mode"), Expr::value(header.tax_mode.as_str()))
        .col_expr(column("discount_e4"), Expr::value(to_e4(header.discount)))
        .col_expr(column("notes"), Expr::value(header.notes.clone()))
}

/// The header as its change events describe it.
pub fn described(h: &DocumentHeader) -> serde_json::Value {
    serde_json::json!({
        "contactId": h.contact_id,
        "opportunityId": h.opportunity_id,
        "ownerId": h.owner_id,
        "taxMode": h.tax_mode.as_str(),
        "discount": h.discount,
        "notes": h.notes,
    })
}
