//! Price policies and price resolution. A policy tied to one customer is seen only by
//! those who see that customer (`Visibility::Catalogue`); level policies are the
//! tenant's. Two policies of the same product and target never hold on the same day:
//! the check runs inside the tenant's write lock, so racing writers cannot both pass it.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{CustomerId, PricePolicyId, ProductId, TenantId};
use guanxi_domain::platform::access::CustomerRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::trade::money::{TaxRate, from_e4, to_e4};
use guanxi_domain::trade::pricing::{PolicyTerms, PricePolicy, PriceTarget, QuantityBreak, Resolved, resolve};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    Select,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::price_policy;
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Scoped};
use crate::scope;

pub const ENTITY: EntityKind = EntityKind::PricePolicy;

/// A break as stored, in ten-thousandths.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct StoredBreak {
    q: i64,
    p: i64,
}

impl StoredBreak {
    fn to_domain(self) -> QuantityBreak {
        QuantityBreak { min_quantity: from_e4(self.q), price: from_e4(self.p) }
    }
}

pub fn to_domain(m: price_policy::Model) -> StoreResult<PricePolicy> {
    let cell = |column| Cell::of("price_policies", m.id, column);
    let target = match (m.customer_id, m.customer_level) {
        (Some(customer), _) => PriceTarget::Customer(customer.into()),
        (None, Some(level)) => PriceTarget::Level(level),
        (None, None) => return Err(cell("customer_level").missing()),
    };
    let breaks: Vec<StoredBreak> = cell("breaks").json(m.breaks)?;
    Ok(PricePolicy {
        id: m.id.into(),
        terms: PolicyTerms {
            product_id: m.product_id.into(),
            target,
            price: from_e4(m.price_e4),
            breaks: breaks.iter().copied().map(StoredBreak::to_domain).collect(),
            valid_from: m.valid_from,
            valid_to: m.valid_to,
        },
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Level policies, and the customer policies whose customer is live and within the rule.
pub struct PricePolicies;

impl Scoped for PricePolicies {
    type Entity = price_policy::Entity;
    type Scope = CustomerRule;
    type Record = PricePolicy;
    const ID: price_policy::Column = price_policy::Column::Id;
    const DELETED_AT: Option<price_policy::Column> = Some(price_policy::Column::DeletedAt);

    fn visible(backend: DbBackend, tenant: TenantId, customers: CustomerRule) -> Select<price_policy::Entity> {
        let customer = (price_policy::Entity, price_policy::Column::CustomerId);
        price_policy::Entity::find().filter(price_policy::Column::TenantId.eq(tenant.uuid())).filter(
            Condition::any()
                .add(price_policy::Column::CustomerId.is_null())
                .add(scope::visible_customer(backend, tenant, customers, customer)),
        )
    }

    fn to_domain(model: price_policy::Model) -> StoreResult<PricePolicy> {
        to_domain(model)
    }
}

repo::versioned!(PricePolicies, price_policy);
repo::recyclable!(PricePolicies, price_policy, ENTITY);
repo::scoped_reads!(PricePolicies);

/// The live policies of a product, or of a customer, the caller may see, by start date.
pub async fn policies<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: CustomerRule,
    product: Option<ProductId>,
    customer: Option<CustomerId>,
) -> StoreResult<Vec<PricePolicy>> {
    use sea_orm::QueryOrder;
    let mut select = PricePolicies::live(conn.get_database_backend(), tenant, customers);
    if let Some(product) = product {
        select = select.filter(price_policy::Column::ProductId.eq(product.uuid()));
    }
    if let Some(customer) = customer {
        select = select.filter(price_policy::Column::CustomerId.eq(customer.uuid()));
    }
    let rows = select
        .order_by_asc(price_policy::Column::ProductId)
        .order_by_asc(price_policy::Column::ValidFrom)
        .order_by_asc(price_policy::Column::Id)
        .all(conn)
        .await?;
    rows.into_iter().map(to_domain).collect()
}

fn target_condition(target: &PriceTarget) -> Condition {
    match target {
        PriceTarget::Customer(customer) => Condition::all().add(price_policy::Column::CustomerId.eq(customer.uuid())),
        PriceTarget::Level(level) => Condition::all()
            .add(price_policy::Column::CustomerId.is_null())
            .add(price_policy::Column::CustomerLevel.eq(level.clone())),
    }
}

/// `CONFLICT` naming the first live policy of the same product and target whose days
/// meet `terms`' (other than `except`).
async fn check_overlap<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    terms: &PolicyTerms,
    except: Option<Uuid>,
) -> StoreResult<()> {
    let mut select = price_policy::Entity::find()
        .filter(price_policy::Column::TenantId.eq(tenant.uuid()))
        .filter(price_policy::Column::ProductId.eq(terms.product_id.uuid()))
        .filter(price_policy::Column::DeletedAt.is_null())
        .filter(target_condition(&terms.target));
    if let Some(except) = except {
        select = select.filter(price_policy::Column::Id.ne(except));
    }
    for row in select.all(conn).await? {
        let other = to_domain(row)?;
        if other.terms.overlaps(terms.valid_from, terms.valid_to) {
            let until = other.terms.valid_to.map_or_else(|| "open-ended".to_owned(), |d| d.to_string());
            return Err(StoreError::rejected(
                "validFrom",
                ErrorCode::Conflict,
                format!("price policy {} already holds from {} to {until}", other.id, other.terms.valid_from),
            ));
        }
    }
    Ok(())
}

async fn check_references<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: CustomerRule,
    terms: &PolicyTerms,
) -> StoreResult<()> {
    let found = crate::trade::product::find(conn, tenant, (), terms.product_id.uuid()).await?;
    if found.is_none_or(|p| p.deleted_at.is_some()) {
        return Err(StoreError::rejected("productId", ErrorCode::NotFound, "no such product"));
    }
    if let PriceTarget::Customer(customer) = terms.target {
        let found = crate::customers::customer::find(conn, tenant, customers, customer.uuid()).await?;
        if found.is_none_or(|c| c.deleted_at.is_some()) {
            return Err(StoreError::rejected("customerId", ErrorCode::NotFound, "no such customer"));
        }
    }
    Ok(())
}

fn breaks_json(terms: &PolicyTerms) -> serde_json::Value {
    let stored: Vec<StoredBreak> =
        terms.breaks.iter().map(|b| StoredBreak { q: to_e4(b.min_quantity), p: to_e4(b.price) }).collect();
    serde_json::json!(stored)
}

/// The policy's terms, for its change events.
pub(crate) fn described(terms: &PolicyTerms) -> serde_json::Value {
    let (level, customer) = match &terms.target {
        PriceTarget::Level(level) => (Some(level.clone()), None),
        PriceTarget::Customer(customer) => (None, Some(*customer)),
    };
    serde_json::json!({
        "productId": terms.product_id,
        "customerLevel": level,
        "customerId": customer,
        "price": terms.price,
        "breaks": terms.breaks,
        "validFrom": terms.valid_from,
        "validTo": terms.valid_to,
    })
}

/// Sets the columns a policy's terms are stored in.
pub(crate) fn set_terms(model: &mut price_policy::ActiveModel, terms: &PolicyTerms) {
    let (level, customer) = match &terms.target {
        PriceTarget::Level(level) => (Some(level.clone()), None),
        PriceTarget::Customer(customer) => (None, Some(customer.uuid())),
    };
    model.product_id = Set(terms.product_id.uuid());
    model.customer_level = Set(level);
    model.customer_id = Set(customer);
    model.price_e4 = Set(to_e4(terms.price));
    model.breaks = Set(breaks_json(terms));
    model.valid_from = Set(terms.valid_from);
    model.valid_to = Set(terms.valid_to);
}

/// A new policy's row.
pub(crate) fn new_model(
    tenant: TenantId,
    id: Uuid,
    terms: &PolicyTerms,
    now: chrono::DateTime<Utc>,
) -> price_policy::ActiveModel {
    let mut model = price_policy::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    set_terms(&mut model, terms);
    model
}

/// The change event of a new policy.
pub(crate) fn created_changes(terms: &PolicyTerms) -> ChangeSet {
    ChangeSet::new().diff(&serde_json::json!({}), &described(terms))
}

/// The terms as a read gives them back (prices at the stored scale), so an identical
/// record compares equal to the stored one.
pub(crate) fn as_stored(mut terms: PolicyTerms) -> PolicyTerms {
    terms.price = from_e4(to_e4(terms.price));
    for b in &mut terms.breaks {
        (b.min_quantity, b.price) = (from_e4(to_e4(b.min_quantity)), from_e4(to_e4(b.price)));
    }
    terms
}

/// Adds a policy (checked terms); an overlap with one of the same key is `CONFLICT`.
pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    terms: PolicyTerms,
) -> StoreResult<PricePolicy> {
    let tenant = author.tenant_id;
    check_references(conn, tenant, customers, &terms).await?;
    check_overlap(conn, tenant, &terms, None).await?;
    let id = PricePolicyId::new();
    let model = new_model(tenant, id.uuid(), &terms, Utc::now());
    let created = to_domain(price_policy::Entity::insert(model).exec_with_returning(conn).await?)?;
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &created_changes(&terms)).await?;
    Ok(created)
}

/// Changes a live policy's prices and days (its product and target stay), at the version
/// the caller read.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    (id, expected_version): (Uuid, i32),
    edit: impl FnOnce(&PricePolicy) -> Result<PolicyTerms, guanxi_domain::Invalid>,
) -> StoreResult<PricePolicy> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<PricePolicies, C>(conn, tenant, customers, id, expected_version).await?;
    let mut terms = edit(&before)?;
    terms.product_id = before.terms.product_id;
    terms.target = before.terms.target.clone();
    check_overlap(conn, tenant, &terms, Some(id)).await?;
    let update = price_policy::Entity::update_many()
        .col_expr(price_policy::Column::PriceE4, Expr::value(to_e4(terms.price)))
        .col_expr(price_policy::Column::Breaks, Expr::value(breaks_json(&terms)))
        .col_expr(price_policy::Column::ValidFrom, Expr::value(terms.valid_from))
        .col_expr(price_policy::Column::ValidTo, Expr::value(terms.valid_to));
    let after = repo::write_versioned::<PricePolicies, C>(conn, tenant, id, expected_version, update).await?;
    let changes = ChangeSet::new().diff(&described(&before.terms), &described(&after.terms));
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Ends a policy for good (it stays readable on the lines it priced).
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<PricePolicy> {
    repo::delete::<PricePolicies, C>(conn, author, customers, id, expected_version).await
}

/// A product as a line needs it, with the policies that hold for the customer.
#[derive(Clone, Debug)]
pub struct Priced {
    pub product_id: ProductId,
    pub name: String,
    pub specification: Option<String>,
    pub unit: String,
    pub list_price: Decimal,
    pub tax_rate: TaxRate,
    pub active: bool,
    pub holding: Vec<PricePolicy>,
}

impl Priced {
    /// The price of `quantity` of the product.
    pub fn price(&self, quantity: Decimal) -> Resolved {
        resolve(self.list_price, quantity, &self.holding)
    }
}

#[derive(FromQueryResult)]
struct PricedRow {
    product_id: Uuid,
    name: String,
    specification: Option<String>,
    unit: String,
    list_price_e4: i64,
    tax_rate: String,
    active: bool,
    policy_id: Option<Uuid>,
    policy_customer_id: Option<Uuid>,
    customer_level: Option<String>,
    price_e4: Option<i64>,
    breaks: Option<serde_json::Value>,
    valid_from: Option<NaiveDate>,
    valid_to: Option<NaiveDate>,
    policy_version: Option<i32>,
    policy_created_at: Option<chrono::DateTime<Utc>>,
    policy_updated_at: Option<chrono::DateTime<Utc>>,
}

/// The live products among `products`, each with the live policies that hold on `on` for
/// `customer` or its `level`: one statement, however many lines.
pub async fn priced<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (customer, level): (CustomerId, Option<&str>),
    products: &[ProductId],
    on: NaiveDate,
) -> StoreResult<HashMap<ProductId, Priced>> {
    let catalogue = catalogue(conn, tenant, &[(customer, level)], products, on).await?;
    Ok(catalogue.for_customer(customer, level, products))
}

/// Products with every policy that holds on one day for any of several customers (a bulk
/// upsert's orders): [`Catalogue::for_customer`] gives one customer's view.
#[derive(Clone, Debug, Default)]
pub struct Catalogue(HashMap<ProductId, Priced>);

impl Catalogue {
    /// `products` as [`priced`] answers them for `customer` of `level`.
    pub fn for_customer(
        &self,
        customer: CustomerId,
        level: Option<&str>,
        products: &[ProductId],
    ) -> HashMap<ProductId, Priced> {
        let holds = |p: &PricePolicy| match &p.terms.target {
            PriceTarget::Customer(c) => *c == customer,
            PriceTarget::Level(l) => Some(l.as_str()) == level,
        };
        products
            .iter()
            .filter_map(|id| self.0.get(id).map(|product| (*id, product)))
            .map(|(id, product)| {
                let holding = product.holding.iter().filter(|p| holds(p)).cloned().collect();
                (id, Priced { holding, ..product.clone() })
            })
            .collect()
    }
}

/// The live products among `products`, each with the live policies that hold on `on` for
/// any of `customers` or their levels: one statement, however many customers and lines.
pub async fn catalogue<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: &[(CustomerId, Option<&str>)],
    products: &[ProductId],
    on: NaiveDate,
) -> StoreResult<Catalogue> {
    if products.is_empty() {
        return Ok(Catalogue::default());
    }
    let marks = |n: usize| vec!["?"; n.max(1)].join(", ");
    let levels: Vec<&str> = {
        let mut levels: Vec<&str> = customers.iter().filter_map(|(_, l)| *l).collect();
        levels.sort_unstable();
        levels.dedup();
        levels
    };
    let sql = format!(
        "SELECT p.id AS product_id, p.name, p.specification, p.unit, p.list_price_e4, p.tax_rate, p.active, \
         pp.id AS policy_id, pp.customer_id AS policy_customer_id, pp.customer_level, pp.price_e4, pp.breaks, \
         pp.valid_from, pp.valid_to, pp.version AS policy_version, pp.created_at AS policy_created_at, \
         pp.updated_at AS policy_updated_at \
         FROM products p LEFT JOIN price_policies pp ON pp.tenant_id = p.tenant_id AND pp.product_id = p.id \
         AND pp.deleted_at IS NULL AND pp.valid_from <= ? AND (pp.valid_to IS NULL OR pp.valid_to >= ?) \
         AND (pp.customer_id IN ({}) OR (pp.customer_id IS NULL AND pp.customer_level IN ({}))) \
         WHERE p.tenant_id = ? AND p.deleted_at IS NULL AND p.id IN ({})",
        marks(customers.len()),
        marks(levels.len()),
        marks(products.len()),
    );
    let mut values: Vec<sea_orm::Value> = vec![on.into(), on.into()];
    values.extend(customers.iter().map(|(c, _)| sea_orm::Value::from(c.uuid())));
    if customers.is_empty() {
        values.push(Option::<Uuid>::None.into());
    }
    values.extend(levels.iter().map(|l| sea_orm::Value::from(*l)));
    if levels.is_empty() {
        values.push(Option::<String>::None.into());
    }
    values.push(tenant.uuid().into());
    values.extend(products.iter().map(|p| sea_orm::Value::from(p.uuid())));
    let statement = crate::dialect::raw_statement(conn.get_database_backend(), &sql, values);
    let rows = PricedRow::find_by_statement(statement).all(conn).await?;
    let mut found: HashMap<ProductId, Priced> = HashMap::new();
    for row in rows {
        let id = ProductId::from_uuid(row.product_id);
        if let std::collections::hash_map::Entry::Vacant(slot) = found.entry(id) {
            slot.insert(Priced {
                product_id: id,
                name: row.name.clone(),
                specification: row.specification.clone(),
                unit: row.unit.clone(),
                list_price: from_e4(row.list_price_e4),
                tax_rate: Cell::of("products", row.product_id, "tax_rate").text(&row.tax_rate, TaxRate::parse)?,
                active: row.active,
                holding: Vec::new(),
            });
        }
        let policy_row = (row.policy_id, row.price_e4, row.breaks, row.valid_from, row.policy_version);
        let stamps = (row.policy_created_at, row.policy_updated_at);
        let policy = match (policy_row, stamps) {
            (
                (Some(id), Some(price_e4), Some(breaks), Some(valid_from), Some(version)),
                (Some(created_at), Some(updated_at)),
            ) => price_policy::Model {
                tenant_id: tenant.uuid(),
                id,
                product_id: row.product_id,
                customer_level: row.customer_level,
                customer_id: row.policy_customer_id,
                price_e4,
                breaks,
                valid_from,
                valid_to: row.valid_to,
                version,
                created_at,
                updated_at,
                deleted_at: None,
            },
            // No policy holds for this product (the left join's empty side).
            _ => continue,
        };
        let holding = to_domain(policy)?;
        if let Some(entry) = found.get_mut(&id) {
            entry.holding.push(holding);
        }
    }
    Ok(Catalogue(found))
}
