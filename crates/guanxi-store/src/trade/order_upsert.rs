//! Bulk upsert of sales orders by external key (`upsertSalesOrders`): an ERP's orders
//! (销售订单) with their lines, set-based as the other kinds' upserts are. One call reads
//! the keys and the orders they name, the stored orders' lines, the customers, the
//! products with every price policy that holds today for any of the call's customers,
//! the quotes of orders being confirmed and the contacts and owners the rows set; then
//! it writes multi-row inserts and updates of orders and lines, the keys, the customers
//! a confirmation makes WON, and the change events.
//!
//! Every row passes the checks `createSalesOrder`, `updateSalesOrder`,
//! `confirmSalesOrder` and `cancelSalesOrder` make: a live customer the caller may see
//! (an order stays with its customer), a contact of that customer the caller sees, an
//! active owner, priced and checked lines, only a draft edited, the state machine, the
//! discount threshold for a confirmation, and a reason for a cancellation.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use guanxi_domain::customers::customer::{Customer, shanghai_date};
use guanxi_domain::entity::OwnerAndCustomer;
use guanxi_domain::ids::{ContactId, CustomerId, OpportunityId, ProductId, QuoteId, UserId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::upsert::{Mode, RowResult};
use guanxi_domain::trade::document::{
    DocumentHeader, Line, LineDraft, Order, OrderStatus, OrderTerms, Quote, synced_status,
};
use guanxi_domain::trade::money::{Places, TaxMode, Totals};
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use rust_decimal::Decimal;
use sea_orm::{ActiveValue::Set, ConnectionTrait};
use uuid::Uuid;

use crate::entity::sales_order as row;
use crate::error::StoreResult;
use crate::platform::audit::{self, Author};
use crate::platform::upsert as upsert_kit;
use crate::platform::{external_key, sequence, tenant};
use crate::trade::document::{HeaderInput, LinkScopes, NewLinks, customers_of, described, name_rows, refused_links};
use crate::trade::lines::{self, LineInput, Parent};
use crate::trade::order::{self, ENTITY, Orders};
use crate::trade::pricing::{self, Catalogue};

/// What a row sets; `None` leaves the stored value (or a new order's default), and
/// `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default)]
pub struct OrderPatch {
    pub contact: Option<Option<ContactId>>,
    /// The deal the order closes (one of the customer's the caller sees); confirming the
    /// order wins it when the tenant says so.
    pub opportunity: Option<Option<OpportunityId>>,
    /// A new order's default is the caller (as `createSalesOrder`), else its customer's
    /// owner.
    pub owner: Option<UserId>,
    pub tax_mode: Option<TaxMode>,
    pub discount: Option<Decimal>,
    pub notes: Option<Option<String>>,
    pub delivery_date: Option<Option<chrono::NaiveDate>>,
    pub delivery_address: Option<Option<String>>,
    pub payment_terms: Option<Option<String>>,
    /// Every line as it should be; required for a new order. Lines equal to the stored
    /// ones (each field given matching) are not rewritten.
    pub lines: Option<Vec<LineInput>>,
    /// DRAFT, CONFIRMED or CANCELLED (see [`synced_status`]).
    pub status: Option<OrderStatus>,
    /// Why, when the row cancels the order.
    pub cancel_reason: Option<String>,
}

/// One row of an upsert call.
pub type UpsertRow = crate::trade::document::UpsertRow<OrderPatch>;

type Named = crate::trade::document::Named<(row::Model, Order), OrderPatch>;

/// What the caller may do.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// The orders (and through them the customers) the caller writes.
    pub orders: OwnerAndCustomer,
    /// The contacts and deals an order may name.
    pub links: LinkScopes,
    /// Whether the caller confirms orders past the discount threshold (`quote.approve`).
    pub may_approve: bool,
}

struct Planned {
    row: usize,
    id: Uuid,
    before: Option<(row::Model, Order)>,
    header: HeaderInput,
    terms: OrderTerms,
    /// New or refigured lines with their totals; `None` keeps the stored ones.
    lines: Option<(Vec<Line>, Totals)>,
    totals: Totals,
    status: OrderStatus,
    cancel_reason: Option<String>,
    changes: ChangeSet,
}

impl Planned {
    /// Whether the row confirms the order now (a sale).
    fn confirms(&self) -> bool {
        self.status == OrderStatus::Confirmed
            && self.before.as_ref().is_none_or(|(_, o)| o.status == OrderStatus::Draft)
    }

    /// Whether the row cancels the order now.
    fn cancels(&self) -> bool {
        self.status == OrderStatus::Cancelled
            && self.before.as_ref().is_none_or(|(_, o)| o.status != OrderStatus::Cancelled)
    }
}

impl upsert_kit::RowPlan for Planned {
    fn stored_id(&self) -> Option<Uuid> {
        self.before.as_ref().map(|(m, _)| m.id)
    }

    fn changed(&self) -> bool {
        !self.changes.is_empty()
    }

    fn place(&mut self, row: usize, id: Uuid) {
        (self.row, self.id) = (row, id);
    }
    fn row(&self) -> usize {
        self.row
    }
}

/// What the call read for its rows' plans.
struct Reads {
    customers: HashMap<Uuid, Customer>,
    catalogue: Catalogue,
    lines: HashMap<Parent, Vec<Line>>,
    quotes: HashMap<Uuid, Quote>,
    settings: tenant::TenantSettings,
}

/// Upserts a call's orders inside the caller's transaction and answers each row.
pub async fn upsert<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rules: Rules,
    (source, mode): (&str, Mode),
    rows: Vec<UpsertRow>,
) -> StoreResult<Vec<RowResult>> {
    let tenant = author.tenant_id;
    let keys: Vec<String> = rows.iter().map(|r| r.external_id.clone()).collect();
    let staged = upsert_kit::stage::<Orders, _>(conn, tenant, rules.orders, (ENTITY, source), &keys, |m| m.id).await?;
    let decode = |m: &row::Model| Ok((m.clone(), order::to_domain(m.clone())?));
    let deleted: fn(&row::Model) -> bool = |m| m.deleted_at.is_some();
    let named = name_rows(&staged, ("sales order", deleted), rows, decode, |(_, o)| o.header.customer_id)?;
    let mut reads = read(conn, author, rules, &named).await?;

    let plans = named.into_iter().map(|named| named.and_then(|named| plan(author, rules, &mut reads, named)));
    let (mut results, planned) = upsert_kit::answer(keys, plans);

    let refused = check_links(conn, author, rules, &planned).await?;
    let Some(planned) = upsert_kit::to_write(mode, &mut results, refused, planned) else { return Ok(results) };
    write(conn, author, (source, &reads.settings), &results, planned).await?;
    Ok(results)
}

/// The call's reads, one statement each: the customers (through the caller's scope), the
/// stored orders' lines, the products with the policies holding today for any of the
/// customers, the quotes of draft orders being confirmed, and the tenant's settings.
async fn read<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rules: Rules,
    named: &[Result<Named, Invalid>],
) -> StoreResult<Reads> {
    let tenant = author.tenant_id;
    let named: Vec<&Named> = named.iter().flatten().collect();
    let customers = customers_of(conn, tenant, rules.orders.customer, &named).await?;
    let parents: Vec<Parent> =
        named.iter().filter_map(|n| n.stored.as_ref()).map(|(m, _)| Parent::Order(m.id)).collect();
    let lines = lines::of(conn, tenant, &parents).await?;
    let mut products: Vec<_> =
        named.iter().flat_map(|n| n.patch.lines.iter().flatten()).map(|l| l.product_id).collect();
    products.sort_unstable_by_key(|p| p.uuid());
    products.dedup();
    let levels: Vec<(CustomerId, Option<&str>)> =
        customers.values().map(|c| (c.id, c.fields.level.as_deref())).collect();
    let today = shanghai_date(Utc::now());
    let catalogue = pricing::catalogue(conn, tenant, &levels, &products, today).await?;
    let quoted: Vec<Uuid> = named
        .iter()
        .filter(|n| n.patch.status == Some(OrderStatus::Confirmed))
        .filter_map(|n| n.stored.as_ref().and_then(|(_, o)| o.quote_id))
        .map(QuoteId::uuid)
        .collect();
    let quotes = match quoted.is_empty() {
        true => HashMap::new(),
        false => crate::trade::quote::by_ids(conn, tenant, OwnerAndCustomer::ALL, &quoted)
            .await?
            .into_iter()
            .map(|q| (q.id.uuid(), q))
            .collect(),
    };
    let settings = tenant::settings(conn, tenant).await?;
    Ok(Reads { customers, catalogue, lines, quotes, settings })
}

/// A value the row sets, or the base one; an equal value keeps the base (so `5` and
/// `5.00` are no change).
fn set<T: PartialEq>(given: Option<T>, base: T) -> T {
    given.filter(|v| *v != base).unwrap_or(base)
}

/// Whether `drafts` (priced as a create would price them) are the lines already stored.
fn same_drafts(stored: &[Line], drafts: &[(LineDraft, lines::Snapshot)]) -> bool {
    stored.len() == drafts.len()
        && stored.iter().zip(drafts).all(|(line, (draft, _))| {
            line.product_id == draft.product_id && line.terms == draft.terms && line.note == draft.note
        })
}

/// Whether `inputs` ask for the lines already stored: the same products and quantities in
/// the same order, and every other field a line gives equal to the stored one.
fn same_lines(stored: &[Line], inputs: &[LineInput]) -> bool {
    stored.len() == inputs.len()
        && stored.iter().zip(inputs).all(|(line, input)| {
            line.product_id == input.product_id
                && line.terms.quantity == input.quantity
                && input.unit_price.is_none_or(|p| p == line.terms.unit_price)
                && input.discount.is_none_or(|d| d == line.terms.discount)
                && input.tax_rate.is_none_or(|r| r == line.terms.tax_rate)
                && input.note.as_ref().is_none_or(|n| Some(n) == line.note.as_ref())
        })
}

/// A row's order as the call leaves it, or why it may not be written.
fn plan(author: &Author, rules: Rules, reads: &mut Reads, named: Named) -> Result<Planned, Invalid> {
    let Named { stored, customer, patch } = named;
    let Some(found) = reads.customers.get(&customer.uuid()) else {
        return Err(Invalid::one("customerId", ErrorCode::NotFound, "no such customer"));
    };
    let before = stored.as_ref().map(|(_, o)| o);
    let mut invalid = Invalid::default();
    let status = invalid.check(synced_status(before.map(|o| o.status), patch.status));
    let base = before.map_or_else(
        || HeaderInput {
            customer_id: customer,
            contact_id: None,
            opportunity_id: None,
            owner_id: author.user_id.map(UserId::from_uuid).or(found.owner_id),
            tax_mode: TaxMode::Inclusive,
            discount: Decimal::ZERO,
            notes: None,
        },
        |o| HeaderInput::from(&o.header),
    );
    let header = HeaderInput {
        contact_id: set(patch.contact, base.contact_id),
        opportunity_id: set(patch.opportunity, base.opportunity_id),
        owner_id: set(patch.owner.map(Some), base.owner_id),
        tax_mode: set(patch.tax_mode, base.tax_mode),
        discount: set(patch.discount, base.discount),
        notes: set(patch.notes, base.notes.clone()),
        ..base
    };
    let base_terms = before.map(|o| o.terms.clone()).unwrap_or_default();
    let terms = OrderTerms {
        delivery_date: set(patch.delivery_date, base_terms.delivery_date),
        delivery_address: set(patch.delivery_address, base_terms.delivery_address.clone()),
        payment_terms: set(patch.payment_terms, base_terms.payment_terms.clone()),
        external_id: base_terms.external_id.clone(),
    }
    .check()
    .map_err(|e| invalid.0.extend(e.0))
    .ok();
    let places = before.map_or(reads.settings.decimal_places.order, |o| o.header.places);
    let stored_lines = before.map(|o| reads.lines.remove(&Parent::Order(o.id.uuid())).unwrap_or_default());
    let repriced = before.is_some_and(|o| o.header.tax_mode != header.tax_mode || o.header.discount != header.discount);
    let figure = (header.discount, header.tax_mode, places);
    let draft = before.is_none_or(|o| o.status == OrderStatus::Draft);
    let lines = match (&patch.lines, &stored_lines) {
        (Some(inputs), _) if inputs.is_empty() => {
            invalid.push(FieldError::new("lines", ErrorCode::Required, "an order has at least one line"));
            None
        }
        // A confirmed order's lines stand as they were priced: a re-sent line matches them
        // in what it gives, whatever today's policies say.
        (Some(inputs), Some(old)) if !draft && same_lines(old, inputs) => {
            repriced.then(|| lines::refigured(old, figure))
        }
        (Some(inputs), old) => {
            let ids: Vec<ProductId> = inputs.iter().map(|l| l.product_id).collect();
            let priced = reads.catalogue.for_customer(customer, found.fields.level.as_deref(), &ids);
            match lines::drafts_of(&priced, inputs, reads.settings.decimal_places.product) {
                Err(e) => {
                    invalid.0.extend(e.0);
                    None
                }
                // Priced as a create would price them, the lines are the stored ones.
                Ok(drafts) if old.as_ref().is_some_and(|old| same_drafts(old, &drafts)) => {
                    old.as_ref().filter(|_| repriced).map(|old| lines::refigured(old, figure))
                }
                Ok(drafts) => Some(lines::figured(drafts, figure)),
            }
        }
        (None, Some(old)) => repriced.then(|| lines::refigured(old, figure)),
        (None, None) => {
            invalid.push(FieldError::new("lines", ErrorCode::Required, "a new order has at least one line"));
            None
        }
    };
    let (Some(status), Some(terms), true) = (status, terms, invalid.is_empty()) else { return Err(invalid) };
    let totals = lines.as_ref().map(|(_, t)| t.clone()).or(before.map(|o| o.totals.clone())).unwrap_or_default();
    let after_header = DocumentHeader {
        customer_id: customer,
        contact_id: header.contact_id,
        opportunity_id: header.opportunity_id,
        owner_id: header.owner_id,
        tax_mode: header.tax_mode,
        discount: header.discount,
        places,
        notes: header.notes.clone(),
    };
    let edits = match before {
        None => ChangeSet::new(),
        Some(o) => ChangeSet::new()
            .diff(&described(&o.header), &described(&after_header))
            .field("deliveryDate", o.terms.delivery_date, terms.delivery_date)
            .field("deliveryAddress", &o.terms.delivery_address, &terms.delivery_address)
            .field("paymentTerms", &o.terms.payment_terms, &terms.payment_terms)
            .field("lines", (), lines.as_ref().map(|(l, _)| l.len()))
            .field("total", o.totals.gross.normalize(), totals.gross.normalize()),
    };
    if let Some(o) = before.filter(|o| o.status != OrderStatus::Draft && !edits.is_empty()) {
        let message = format!("only a draft order is edited; this one is {}", o.status.label_zh());
        return Err(Invalid::one("status", ErrorCode::IllegalState, message));
    }
    let mut planned = Planned {
        row: 0,
        id: Uuid::nil(),
        before: stored,
        header,
        terms,
        lines,
        totals,
        status,
        cancel_reason: None,
        changes: edits,
    };
    if planned.cancels() {
        let reason = patch.cancel_reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        let Some(reason) = reason.filter(|r| r.chars().count() <= 200) else {
            return Err(Invalid::one("cancelReason", ErrorCode::Required, "say why, in at most 200 characters"));
        };
        planned.cancel_reason = Some(reason.to_owned());
    }
    if planned.confirms() {
        check_threshold(rules, reads, &planned)?;
    }
    if let Some((_, o)) = &planned.before {
        planned.changes = std::mem::take(&mut planned.changes).field("status", o.status, planned.status).field(
            "reason",
            (),
            planned.cancel_reason.as_deref(),
        );
    }
    Ok(planned)
}

/// The discount threshold of a confirmation, as `confirmSalesOrder` applies it.
fn check_threshold(rules: Rules, reads: &Reads, p: &Planned) -> Result<(), Invalid> {
    let quote = p.before.as_ref().and_then(|(_, o)| o.quote_id).and_then(|q| reads.quotes.get(&q.uuid()));
    let off = p.totals.discount_off_list();
    match order::refused_confirmation(reads.settings.quote_approval_discount, off, rules.may_approve, quote) {
        Some(message) => Err(Invalid::one("status", ErrorCode::IllegalState, message)),
        None => Ok(()),
    }
}

/// The contact, deal and owner a row gives its order that the stored order does not have
/// (every one of a new order's).
fn new_links(p: &Planned) -> NewLinks {
    let h = &p.header;
    let before = p.before.as_ref().map(|(_, o)| &o.header);
    let new = |after: Option<Uuid>, stored: Option<Option<Uuid>>| after.filter(|id| stored != Some(Some(*id)));
    let owner = new(h.owner_id.map(UserId::uuid), before.map(|b| b.owner_id.map(UserId::uuid)));
    NewLinks {
        row: p.row,
        customer: h.customer_id,
        contact: new(h.contact_id.map(ContactId::uuid), before.map(|b| b.contact_id.map(ContactId::uuid))),
        deal: new(h.opportunity_id.map(OpportunityId::uuid), before.map(|b| b.opportunity_id.map(OpportunityId::uuid))),
        users: owner.map(|o| ("ownerId", o)).into_iter().collect(),
    }
}

/// The links the rows set, one statement per kind: live contacts and deals of the order's
/// customer that the caller sees, and active users as owners.
async fn check_links<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rules: Rules,
    planned: &[Planned],
) -> StoreResult<Vec<(usize, Invalid)>> {
    let rows: Vec<NewLinks> = planned.iter().map(new_links).collect();
    refused_links(conn, author.tenant_id, rules.links, &rows).await
}

/// The status columns of an order entering `status` at `now`.
fn set_status(model: &mut row::ActiveModel, p: &Planned, now: DateTime<Utc>) {
    model.status = Set(p.status.as_str().to_owned());
    if p.confirms() {
        model.confirmed_at = Set(Some(now));
    }
    if p.cancels() {
        model.closed_at = Set(Some(now));
        model.cancel_reason = Set(p.cancel_reason.clone());
    }
}

/// A new order's row: numbered `number`, at the tenant's order places.
fn new_model(author: &Author, p: &Planned, (number, places): (&str, Places), now: DateTime<Utc>) -> row::ActiveModel {
    let mut model = order::new_row(author.tenant_id, p.id, (number, places), (&p.header, &p.terms, &p.totals), now);
    set_status(&mut model, p, now);
    model
}

/// Writes the accepted rows: new orders numbered from one block of the sequence and
/// inserted with their lines and keys, changed orders in one versioned multi-row write
/// with their replaced lines, the customers of confirmed orders made WON, the deals of
/// confirmed drafts won (per such order, as `confirmSalesOrder` does), and the change
/// events.
async fn write<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (source, settings): (&str, &tenant::TenantSettings),
    results: &[RowResult],
    planned: Vec<Planned>,
) -> StoreResult<()> {
    let tenant = author.tenant_id;
    let now = Utc::now();
    let today = shanghai_date(now);
    let (creates, updates): (Vec<Planned>, Vec<Planned>) = planned.into_iter().partition(|p| p.before.is_none());
    let won: Vec<(Uuid, DateTime<Utc>)> =
        creates.iter().chain(&updates).filter(|p| p.confirms()).map(|p| (p.header.customer_id.uuid(), now)).collect();
    let rule = &settings.order_numbering;
    let mut numbers = sequence::numbers(conn, tenant, ("order", rule), today, creates.len()).await?;
    let mut events = Vec::with_capacity(creates.len() + updates.len());
    let (mut inserts, mut keys) = (Vec::with_capacity(creates.len()), Vec::with_capacity(creates.len()));
    let mut deals = Vec::new();
    for p in &creates {
        let number = numbers.next().unwrap_or_default();
        if let Some(deal) = p.header.opportunity_id.filter(|_| p.confirms() && settings.order_wins_deal) {
            deals.push((deal, number.clone()));
        }
        inserts.push(new_model(author, p, (&number, settings.decimal_places.order), now));
        keys.push((results[p.row].external_id.clone(), p.id));
        let changes = ChangeSet::new()
            .field("number", (), &number)
            .field("customerId", (), p.header.customer_id)
            .field("lines", (), p.lines.as_ref().map(|(l, _)| l.len()))
            .field("total", (), p.totals.gross)
            .field("status", OrderStatus::Draft, p.status)
            .field("reason", (), p.cancel_reason.as_deref());
        events.push((p.id, Operation::Create, changes));
    }
    let mut rows = Vec::with_capacity(updates.len());
    for p in &updates {
        let Some((model, before)) = &p.before else { continue };
        let mut changed = row::ActiveModel::default();
        order::set_document(&mut changed, (&p.header, &p.terms, &p.totals));
        set_status(&mut changed, p, now);
        let columns = (row::Column::Version, row::Column::UpdatedAt);
        rows.push(upsert_kit::overlay_next(
            row::ActiveModel::from(model.clone()),
            &changed,
            columns,
            (model.version, now),
        ));
        events.push((p.id, Operation::Update, p.changes.clone()));
        if let Some(deal) = p.header.opportunity_id.filter(|_| p.confirms() && settings.order_wins_deal) {
            deals.push((deal, before.number.clone()));
        }
    }
    let fixed = |c: &row::Column| {
        use row::Column as C;
        matches!(
            c,
            C::TenantId
                | C::Id
                | C::Number
                | C::CustomerId
                | C::QuoteId
                | C::Places
                | C::ExternalId
                | C::CreatedAt
                | C::DeletedAt
        )
    };
    let columns = (row::Column::TenantId, row::Column::Id, row::Column::Version);
    upsert_kit::write_versioned(conn, rows, columns, fixed, crate::error::StoreError::Database).await?;
    crate::insert_chunked(conn, inserts).await?;
    let new_lines: Vec<(Parent, &[Line])> =
        creates.iter().filter_map(|p| p.lines.as_ref().map(|(l, _)| (Parent::Order(p.id), l.as_slice()))).collect();
    lines::insert_many(conn, tenant, &new_lines).await?;
    let replaced: Vec<(Parent, &[Line])> =
        updates.iter().filter_map(|p| p.lines.as_ref().map(|(l, _)| (Parent::Order(p.id), l.as_slice()))).collect();
    lines::replace_many(conn, tenant, &replaced).await?;
    external_key::insert(conn, tenant, ENTITY, source, keys).await?;
    audit::record_many(conn, author, ENTITY, events).await?;
    order::mark_customers_won(conn, author, &won).await?;
    for (deal, number) in deals {
        order::win_deal(conn, author, deal, &number).await?;
    }
    Ok(())
}
