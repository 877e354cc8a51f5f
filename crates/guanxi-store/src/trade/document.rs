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

/// One row of a document kind's bulk upsert (orders, contracts): its key, the customer it
/// names (by id or by its key, or why it names none it could), and what it sets (or the
/// errors of its references and shapes).
pub struct UpsertRow<P> {
    pub external_id: String,
    pub customer: Option<Result<CustomerId, guanxi_domain::Invalid>>,
    pub patch: Result<P, guanxi_domain::Invalid>,
}

/// A row whose key and customer are read, waiting for the call's reads.
pub struct Named<T, P> {
    pub stored: Option<T>,
    pub customer: CustomerId,
    pub patch: P,
}

/// Each row's stored document as the staged keys name it (`decode`d), with its customer:
/// a new document needs the one its row names, a stored one stays with its own.
pub fn name_rows<M, T, P>(
    staged: &crate::platform::upsert::Staged<M>,
    (label, deleted): (&str, fn(&M) -> bool),
    rows: Vec<UpsertRow<P>>,
    decode: impl Fn(&M) -> StoreResult<T>,
    customer_of: impl Fn(&T) -> CustomerId,
) -> StoreResult<Vec<Result<Named<T, P>, guanxi_domain::Invalid>>> {
    use guanxi_domain::{FieldError, Invalid};
    let keys: Vec<&str> = rows.iter().map(|r| r.external_id.as_str()).collect();
    let repeats = guanxi_domain::platform::upsert::repeats(&keys);
    let mut named = Vec::with_capacity(rows.len());
    for (row, repeat) in rows.into_iter().zip(repeats) {
        let stored = match staged.read((&row.external_id, repeat), (deleted, label), &decode)? {
            Ok(stored) => stored,
            Err(invalid) => {
                named.push(Err(invalid));
                continue;
            }
        };
        let mut invalid = Invalid::default();
        let customer = match (stored.as_ref().map(&customer_of), row.customer) {
            (_, Some(Err(e))) => {
                invalid.0.extend(e.0);
                None
            }
            (Some(own), Some(Ok(c))) if c != own => {
                let message = format!("a {label} stays with its customer");
                invalid.push(FieldError::new("customerId", ErrorCode::IllegalState, message));
                None
            }
            (Some(own), _) => Some(own),
            (None, Some(Ok(c))) => Some(c),
            (None, None) => {
                let message = format!("a new {label} needs its customer: customerId or customerExternalId");
                invalid.push(FieldError::new("customerId", ErrorCode::Required, message));
                None
            }
        };
        let patch = row.patch.map_err(|e| invalid.0.extend(e.0)).ok();
        named.push(match (customer, patch) {
            (Some(customer), Some(patch)) if invalid.is_empty() => Ok(Named { stored, customer, patch }),
            _ => Err(invalid),
        });
    }
    Ok(named)
}

/// The live customers the named rows' documents belong to that `rule` admits (one
/// statement), by id.
pub async fn customers_of<C: ConnectionTrait, T, P>(
    conn: &C,
    tenant: TenantId,
    rule: guanxi_domain::platform::access::CustomerRule,
    named: &[&Named<T, P>],
) -> StoreResult<std::collections::HashMap<Uuid, guanxi_domain::customers::customer::Customer>> {
    let mut ids: Vec<Uuid> = named.iter().map(|n| n.customer.uuid()).collect();
    ids.sort_unstable();
    ids.dedup();
    let found = crate::customers::customer::by_ids(conn, tenant, rule, &ids).await?;
    Ok(found.into_iter().map(|c| (c.id.uuid(), c)).collect())
}

/// The links one row of a bulk upsert gives its document that the stored document does
/// not have (every one of a new document's).
pub struct NewLinks {
    pub row: usize,
    pub customer: CustomerId,
    pub contact: Option<Uuid>,
    pub deal: Option<Uuid>,
    /// The users it names (its owner, a contract's signer), by field.
    pub users: Vec<(&'static str, Uuid)>,
}

/// The rows of a bulk upsert whose new links are refused, one statement per kind for the
/// whole call: a contact or deal must be a live one of the document's customer that the
/// writer sees, a user an active one.
pub async fn refused_links<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scopes: LinkScopes,
    rows: &[NewLinks],
) -> StoreResult<Vec<(usize, guanxi_domain::Invalid)>> {
    use guanxi_domain::{FieldError, Invalid};
    use std::collections::{HashMap, HashSet};
    let contacts: Vec<Uuid> = rows.iter().filter_map(|r| r.contact).collect();
    let deals: Vec<Uuid> = rows.iter().filter_map(|r| r.deal).collect();
    let users: Vec<Uuid> = rows.iter().flat_map(|r| r.users.iter().map(|(_, u)| *u)).collect();
    let mut customer_of: HashMap<Uuid, CustomerId> = HashMap::new();
    if !contacts.is_empty() {
        let found = crate::customers::contact::by_ids(conn, tenant, scopes.contacts, &contacts).await?;
        customer_of.extend(found.into_iter().map(|c| (c.id.uuid(), c.customer_id)));
    }
    if !deals.is_empty() {
        let found = crate::sales::opportunity::by_ids(conn, tenant, scopes.deals, &deals).await?;
        customer_of.extend(found.into_iter().map(|d| (d.id.uuid(), d.customer_id)));
    }
    let active: HashSet<Uuid> = match users.is_empty() {
        true => HashSet::new(),
        false => crate::platform::user::active_ids(conn, tenant, users).await?.into_iter().collect(),
    };
    let mut refused = Vec::new();
    for r in rows {
        let of_customer = |id: Option<Uuid>| id.is_none_or(|id| customer_of.get(&id) == Some(&r.customer));
        let mut invalid = Invalid::default();
        if !of_customer(r.contact) {
            invalid.push(FieldError::new("contactId", ErrorCode::NotFound, "no such contact of the customer"));
        }
        if !of_customer(r.deal) {
            invalid.push(FieldError::new("opportunityId", ErrorCode::NotFound, "no such deal of the customer"));
        }
        for (field, user) in &r.users {
            if !active.contains(user) {
                invalid.push(FieldError::new(*field, ErrorCode::NotFound, "no such active user"));
            }
        }
        if !invalid.is_empty() {
            refused.push((r.row, invalid));
        }
    }
    Ok(refused)
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
