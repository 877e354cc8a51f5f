//! The lines of quotes, orders, deals and contracts, in one table (`document_lines`, exactly one
//! parent set): priced from the catalogue and the price policies in one statement,
//! figured by the domain, written and read a document (or a page of documents) at a time.

use std::collections::HashMap;

use chrono::NaiveDate;
use guanxi_domain::ids::{CustomerId, LineId, ProductId, TenantId};
use guanxi_domain::trade::document::{Line, LineDraft, check_lines, figure};
use guanxi_domain::trade::money::{LineFigures, LineTerms, Places, TaxMode, TaxRate, Totals, from_e4, to_e4};
use guanxi_domain::trade::pricing::PriceSource;
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::document_line;
use crate::error::StoreResult;
use crate::trade::pricing::{self, Priced};

/// Whose lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Parent {
    Quote(Uuid),
    Order(Uuid),
    Opportunity(Uuid),
    Contract(Uuid),
}

/// The parent columns, in the order of [`Parent::slot`].
const PARENT_COLUMNS: [document_line::Column; 4] = [
    document_line::Column::QuoteId,
    document_line::Column::OrderId,
    document_line::Column::OpportunityId,
    document_line::Column::ContractId,
];

impl Parent {
    /// Which of [`PARENT_COLUMNS`] holds the parent, and its id.
    fn slot(self) -> (usize, Uuid) {
        match self {
            Parent::Quote(id) => (0, id),
            Parent::Order(id) => (1, id),
            Parent::Opportunity(id) => (2, id),
            Parent::Contract(id) => (3, id),
        }
    }

    fn column(self) -> (document_line::Column, Uuid) {
        let (slot, id) = self.slot();
        (PARENT_COLUMNS[slot], id)
    }
}

/// A line as the client asks for it; what it leaves out comes from the catalogue and the
/// price policies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineInput {
    pub product_id: ProductId,
    pub quantity: Decimal,
    /// A price of the caller's own (`MANUAL`); the resolved price otherwise.
    pub unit_price: Option<Decimal>,
    pub discount: Option<Decimal>,
    /// The product's rate otherwise.
    pub tax_rate: Option<TaxRate>,
    pub note: Option<String>,
}

/// What a line copies from its product when it is written.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub name: String,
    pub specification: Option<String>,
    pub unit: String,
}

/// The lines priced for `customer` (of `level`) on `on`, checked: every product live and
/// active, quantities, prices and discounts in range. One statement for the products and
/// their policies.
pub async fn price_lines<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customer: (CustomerId, Option<&str>),
    inputs: &[LineInput],
    (on, price_places): (NaiveDate, Places),
) -> StoreResult<Vec<(LineDraft, Snapshot)>> {
    let ids: Vec<ProductId> = inputs.iter().map(|l| l.product_id).collect();
    let priced = pricing::priced(conn, tenant, customer, &ids, on).await?;
    Ok(drafts_of(&priced, inputs, price_places)?)
}

/// The lines priced from their products as already read (`priced`, one customer's view),
/// checked: every product live and active, quantities, prices and discounts in range.
pub fn drafts_of(
    priced: &HashMap<ProductId, Priced>,
    inputs: &[LineInput],
    price_places: Places,
) -> Result<Vec<(LineDraft, Snapshot)>, Invalid> {
    let mut invalid = Invalid::default();
    let mut drafts = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let Some(product) = priced.get(&input.product_id) else {
            invalid.push(FieldError::new(format!("lines.{i}.productId"), ErrorCode::NotFound, "no such product"));
            continue;
        };
        if !product.active {
            invalid.push(FieldError::new(
                format!("lines.{i}.productId"),
                ErrorCode::IllegalState,
                format!("{} is inactive", product.name),
            ));
            continue;
        }
        drafts.push(draft(product, input));
    }
    // The lines' own checks name `lines.N` by position, so they run once every product is found.
    invalid.into_result()?;
    check_lines(&drafts.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>(), price_places)?;
    Ok(drafts)
}

fn draft(product: &Priced, input: &LineInput) -> (LineDraft, Snapshot) {
    let resolved = product.price(input.quantity);
    let (unit_price, source, policy_id) = match input.unit_price {
        Some(price) if price != resolved.unit_price => (price, PriceSource::Manual, None),
        _ => (resolved.unit_price, resolved.source, resolved.policy_id),
    };
    let terms = LineTerms {
        quantity: input.quantity,
        list_price: product.list_price,
        unit_price,
        discount: input.discount.unwrap_or_default(),
        tax_rate: input.tax_rate.unwrap_or(product.tax_rate),
    };
    let draft = LineDraft { product_id: product.product_id, terms, source, policy_id, note: input.note.clone() };
    let snapshot = Snapshot {
        name: product.name.clone(),
        specification: product.specification.clone(),
        unit: product.unit.clone(),
    };
    (draft, snapshot)
}

/// Figures the drafts for a document and returns the lines to write with their totals.
pub fn figured(
    drafts: Vec<(LineDraft, Snapshot)>,
    (discount, mode, places): (Decimal, TaxMode, Places),
) -> (Vec<Line>, Totals) {
    let terms: Vec<LineTerms> = drafts.iter().map(|(d, _)| d.terms).collect();
    let (figures, totals) = figure(&terms, discount, mode, places);
    let lines = drafts
        .into_iter()
        .zip(figures)
        .enumerate()
        .map(|(i, ((draft, snapshot), figures))| Line {
            id: LineId::new(),
            position: i32::try_from(i).unwrap_or(i32::MAX),
            product_id: draft.product_id,
            product_name: snapshot.name,
            specification: snapshot.specification,
            unit: snapshot.unit,
            terms: draft.terms,
            source: draft.source,
            policy_id: draft.policy_id,
            figures,
            delivered: Decimal::ZERO,
            note: draft.note,
        })
        .collect();
    (lines, totals)
}

/// Lines refigured under other terms (an order made from a quote, a revision): each keeps
/// its terms and gets new figures and a new id.
pub fn refigured(lines: &[Line], (discount, mode, places): (Decimal, TaxMode, Places)) -> (Vec<Line>, Totals) {
    let terms: Vec<LineTerms> = lines.iter().map(|l| l.terms).collect();
    let (figures, totals) = figure(&terms, discount, mode, places);
    let lines = lines
        .iter()
        .zip(figures)
        .map(|(line, figures)| Line { id: LineId::new(), figures, delivered: Decimal::ZERO, ..line.clone() })
        .collect();
    (lines, totals)
}

/// A document's stored totals: list amount, subtotal, discount amount, net, tax, gross
/// and the discount off list, as the header columns of those names (`…_e4`) hold them.
pub fn totals_e4(totals: &Totals) -> [i64; 7] {
    [
        to_e4(totals.list_amount),
        to_e4(totals.subtotal),
        to_e4(totals.discount_amount),
        to_e4(totals.net),
        to_e4(totals.tax),
        to_e4(totals.gross),
        to_e4(totals.discount_off_list()),
    ]
}

/// The header columns that hold a document's totals, in the order of [`totals_e4`].
const TOTALS_COLUMNS: [&str; 7] =
    ["list_amount_e4", "subtotal_e4", "discount_amount_e4", "net_e4", "tax_e4", "gross_e4", "discount_off_list_e4"];

/// `update` setting a document row's totals (quotes and orders name them alike).
pub fn with_totals<E: EntityTrait>(update: sea_orm::UpdateMany<E>, totals: &Totals) -> sea_orm::UpdateMany<E> {
    TOTALS_COLUMNS.into_iter().zip(totals_e4(totals)).fold(update, |update, (column, value)| {
        update.col_expr(sea_orm::sea_query::Alias::new(column), Expr::value(value))
    })
}

/// Replaces the parent's lines with `lines`.
pub async fn replace<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    parent: Parent,
    lines: &[Line],
) -> StoreResult<()> {
    let (column, id) = parent.column();
    document_line::Entity::delete_many()
        .filter(document_line::Column::TenantId.eq(tenant.uuid()))
        .filter(column.eq(id))
        .exec(conn)
        .await?;
    insert(conn, tenant, parent, lines).await
}

/// Adds `lines` to the parent.
pub async fn insert<C: ConnectionTrait>(conn: &C, tenant: TenantId, parent: Parent, lines: &[Line]) -> StoreResult<()> {
    insert_many(conn, tenant, &[(parent, lines)]).await
}

/// Adds each parent's lines: multi-row inserts, however many parents.
pub async fn insert_many<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    parents: &[(Parent, &[Line])],
) -> StoreResult<()> {
    let rows: Vec<document_line::ActiveModel> = parents
        .iter()
        .flat_map(|(parent, lines)| lines.iter().map(|line| active_model(tenant, *parent, line)))
        .collect();
    crate::insert_chunked(conn, rows).await?;
    Ok(())
}

/// Replaces each parent's lines: one delete and multi-row inserts, however many parents.
pub async fn replace_many<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    parents: &[(Parent, &[Line])],
) -> StoreResult<()> {
    if parents.is_empty() {
        return Ok(());
    }
    let ids: Vec<Parent> = parents.iter().map(|(parent, _)| *parent).collect();
    document_line::Entity::delete_many()
        .filter(document_line::Column::TenantId.eq(tenant.uuid()))
        .filter(any_of(&ids))
        .exec(conn)
        .await?;
    insert_many(conn, tenant, parents).await
}

fn active_model(tenant: TenantId, parent: Parent, line: &Line) -> document_line::ActiveModel {
    let (slot, id) = parent.slot();
    let of = |column: usize| (column == slot).then_some(id);
    let f = &line.figures;
    document_line::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(line.id.uuid()),
        quote_id: Set(of(0)),
        order_id: Set(of(1)),
        opportunity_id: Set(of(2)),
        contract_id: Set(of(3)),
        position: Set(line.position),
        product_id: Set(line.product_id.uuid()),
        product_name: Set(line.product_name.clone()),
        specification: Set(line.specification.clone()),
        unit: Set(line.unit.clone()),
        quantity_e4: Set(to_e4(line.terms.quantity)),
        list_price_e4: Set(to_e4(line.terms.list_price)),
        unit_price_e4: Set(to_e4(line.terms.unit_price)),
        discount_e4: Set(to_e4(line.terms.discount)),
        tax_rate: Set(line.terms.tax_rate.as_str().to_owned()),
        price_source: Set(line.source.as_str().to_owned()),
        policy_id: Set(line.policy_id.map(|p| p.uuid())),
        list_amount_e4: Set(to_e4(f.list_amount)),
        subtotal_e4: Set(to_e4(f.subtotal)),
        amount_e4: Set(to_e4(f.amount)),
        net_e4: Set(to_e4(f.net)),
        tax_e4: Set(to_e4(f.tax)),
        gross_e4: Set(to_e4(f.gross)),
        delivered_e4: Set(to_e4(line.delivered)),
        note: Set(line.note.clone()),
    }
}

pub fn to_domain(m: document_line::Model) -> StoreResult<Line> {
    let cell = |column| Cell::of("document_lines", m.id, column);
    Ok(Line {
        id: m.id.into(),
        position: m.position,
        product_id: m.product_id.into(),
        product_name: m.product_name,
        specification: m.specification,
        unit: m.unit,
        terms: LineTerms {
            quantity: from_e4(m.quantity_e4),
            list_price: from_e4(m.list_price_e4),
            unit_price: from_e4(m.unit_price_e4),
            discount: from_e4(m.discount_e4),
            tax_rate: cell("tax_rate").text(&m.tax_rate, TaxRate::parse)?,
        },
        source: cell("price_source").text(&m.price_source, PriceSource::parse)?,
        policy_id: m.policy_id.map(Into::into),
        figures: LineFigures {
            list_amount: from_e4(m.list_amount_e4),
            subtotal: from_e4(m.subtotal_e4),
            amount: from_e4(m.amount_e4),
            net: from_e4(m.net_e4),
            tax: from_e4(m.tax_e4),
            gross: from_e4(m.gross_e4),
        },
        delivered: from_e4(m.delivered_e4),
        note: m.note,
    })
}

/// The lines of any of `parents`: one `IN` per kind of parent.
fn any_of(parents: &[Parent]) -> sea_orm::Condition {
    let mut ids: [Vec<Uuid>; 4] = Default::default();
    for parent in parents {
        let (slot, id) = parent.slot();
        ids[slot].push(id);
    }
    PARENT_COLUMNS
        .into_iter()
        .zip(ids)
        .filter(|(_, ids)| !ids.is_empty())
        .fold(sea_orm::Condition::any(), |any, (column, ids)| any.add(column.is_in(ids)))
}

/// The lines of each of `parents` (of any kinds), in order: one statement. The caller has
/// checked the parents are visible.
pub async fn of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    parents: &[Parent],
) -> StoreResult<HashMap<Parent, Vec<Line>>> {
    let mut found: HashMap<Parent, Vec<Line>> = HashMap::new();
    if parents.is_empty() {
        return Ok(found);
    }
    let rows = document_line::Entity::find()
        .filter(document_line::Column::TenantId.eq(tenant.uuid()))
        .filter(any_of(parents))
        .order_by_asc(document_line::Column::Position)
        .all(conn)
        .await?;
    for row in rows {
        let parent = match (row.quote_id, row.order_id, row.opportunity_id, row.contract_id) {
            (Some(id), ..) => Parent::Quote(id),
            (_, Some(id), ..) => Parent::Order(id),
            (_, _, Some(id), _) => Parent::Opportunity(id),
            (.., Some(id)) => Parent::Contract(id),
            (None, None, None, None) => continue,
        };
        found.entry(parent).or_default().push(to_domain(row)?);
    }
    Ok(found)
}

/// The lines of one parent, in order.
pub async fn of_one<C: ConnectionTrait>(conn: &C, tenant: TenantId, parent: Parent) -> StoreResult<Vec<Line>> {
    Ok(of(conn, tenant, &[parent]).await?.remove(&parent).unwrap_or_default())
}

/// Sets one line's delivered quantity.
pub async fn set_delivered<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    line: LineId,
    delivered: Decimal,
) -> StoreResult<()> {
    document_line::Entity::update_many()
        .col_expr(document_line::Column::DeliveredE4, Expr::value(to_e4(delivered)))
        .filter(document_line::Column::TenantId.eq(tenant.uuid()))
        .filter(document_line::Column::Id.eq(line.uuid()))
        .exec(conn)
        .await?;
    Ok(())
}
