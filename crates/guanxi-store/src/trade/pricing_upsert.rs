//! Bulk upsert of price policies by external key (`upsertPricePolicies`), set-based as
//! the other kinds' is: the keys, the policies they name, the products and customers the
//! rows name, and every live policy of the call's products (for the overlap rule), then
//! multi-row writes of policies, keys and change events. Every row passes the checks of
//! `createPricePolicy` and `updatePricePolicy`: the terms' shape and decimal places, a live
//! product, a customer the caller may write, and no two policies of the same product and
//! target holding on the same day — against the stored ones and the call's other rows.

use std::collections::{BTreeMap, HashSet};

use chrono::Utc;
use guanxi_domain::platform::access::CustomerRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::upsert::{self, Mode, Outcome, RowResult};
use guanxi_domain::trade::money::Places;
use guanxi_domain::trade::pricing::{PolicyTerms, PriceTarget};
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entity::price_policy as row;
use crate::error::StoreResult;
use crate::platform::audit::{self, Author};
use crate::platform::upsert as upsert_kit;
use crate::platform::{external_key, tenant};
use crate::trade::pricing::{self, ENTITY, PricePolicies};

/// A row's terms over the stored policy's (`None`: a new policy), checked against the
/// tenant's price decimal places. A stored policy keeps its product and target.
pub type Edit = Box<dyn FnOnce(Option<&PolicyTerms>, Places) -> Result<PolicyTerms, Invalid> + Send>;

pub struct UpsertRow {
    pub external_id: String,
    pub edit: Edit,
}

struct Planned {
    row: usize,
    id: Uuid,
    before: Option<(row::Model, PolicyTerms)>,
    terms: PolicyTerms,
    changes: ChangeSet,
}

/// Upserts a call's price policies inside the caller's transaction and answers each
/// row. `customers` is the caller's customer scope for writing: a customer's own policy
/// is seen, and made, only through it.
pub async fn upsert<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    (source, mode): (&str, Mode),
    rows: Vec<UpsertRow>,
) -> StoreResult<Vec<RowResult>> {
    let tenant = author.tenant_id;
    let keys: Vec<String> = rows.iter().map(|r| r.external_id.clone()).collect();
    let staged =
        upsert_kit::stage::<PricePolicies, _>(conn, tenant, customers, (ENTITY, source), &keys, |m| m.id).await?;
    let places = tenant::settings(conn, tenant).await?.decimal_places.product;

    let mut results: Vec<RowResult> = Vec::with_capacity(keys.len());
    let mut planned: Vec<Planned> = Vec::new();
    for (index, (row, repeat)) in rows.into_iter().zip(upsert::repeats(&keys)).enumerate() {
        let key = row.external_id;
        let stored = staged.read((&key, repeat), (|m| m.deleted_at.is_some(), "price policy"), |m| {
            Ok((m.clone(), pricing::to_domain(m.clone())?.terms))
        })?;
        let plan = stored.and_then(|stored| {
            let terms = (row.edit)(stored.as_ref().map(|(_, t)| t), places)?;
            Ok((stored, pricing::as_stored(terms)))
        });
        let Some((stored, terms)) = upsert_kit::admit(&mut results, &key, plan) else { continue };
        let changes = match &stored {
            None => ChangeSet::new(),
            Some((_, before)) => ChangeSet::new().diff(&pricing::described(before), &pricing::described(&terms)),
        };
        let (outcome, id) = upsert_kit::outcome(stored.as_ref().map(|(m, _)| m.id), !changes.is_empty());
        results.push(RowResult::done(key, outcome, id));
        if outcome != Outcome::Unchanged {
            planned.push(Planned { row: index, id, before: stored, terms, changes });
        }
    }

    let mut refused = check_references(conn, author, customers, &planned).await?;
    let named: HashSet<usize> = refused.iter().map(|(row, _)| *row).collect();
    refused.extend(check_overlaps(conn, author, &planned, &named).await?);
    let Some(failed) = upsert_kit::conclude(mode, &mut results, refused) else { return Ok(results) };
    planned.retain(|p| !failed.contains(&p.row));
    write(conn, author, source, &results, planned).await?;
    Ok(results)
}

/// New policies' products are live (one statement) and their customers live and
/// writable by the caller (one more).
async fn check_references<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    planned: &[Planned],
) -> StoreResult<Vec<(usize, Invalid)>> {
    let tenant = author.tenant_id;
    let creates: Vec<&Planned> = planned.iter().filter(|p| p.before.is_none()).collect();
    let mut products: Vec<Uuid> = creates.iter().map(|p| p.terms.product_id.uuid()).collect();
    products.sort_unstable();
    products.dedup();
    let live: HashSet<Uuid> =
        crate::trade::product::by_ids(conn, tenant, (), &products).await?.into_iter().map(|p| p.id.uuid()).collect();
    let mut named: Vec<Uuid> = creates.iter().filter_map(|p| customer_of(&p.terms)).collect();
    named.sort_unstable();
    named.dedup();
    let writable: HashSet<Uuid> = crate::customers::customer::by_ids(conn, tenant, customers, &named)
        .await?
        .into_iter()
        .map(|c| c.id.uuid())
        .collect();
    let mut refused = Vec::new();
    for p in creates {
        if !live.contains(&p.terms.product_id.uuid()) {
            refused.push((p.row, Invalid::one("productId", ErrorCode::NotFound, "no such product")));
        }
        if customer_of(&p.terms).is_some_and(|c| !writable.contains(&c)) {
            refused.push((p.row, Invalid::one("customerId", ErrorCode::NotFound, "no such customer")));
        }
    }
    Ok(refused)
}

fn customer_of(terms: &PolicyTerms) -> Option<Uuid> {
    match &terms.target {
        PriceTarget::Customer(c) => Some(c.uuid()),
        PriceTarget::Level(_) => None,
    }
}

/// No two policies of one product and target hold on the same day, as the call leaves
/// them. The live policies of the call's products and targets are read in one statement;
/// the rows are laid over them, the stored policies' changes first (so a row may take
/// days another row frees, whatever their order), then the new ones in call order. A row
/// whose days meet another's is `CONFLICT` (the other one stands). Rows already refused
/// (`refused`) take no part.
async fn check_overlaps<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    planned: &[Planned],
    refused: &HashSet<usize>,
) -> StoreResult<Vec<(usize, Invalid)>> {
    let planned: Vec<&Planned> = planned.iter().filter(|p| !refused.contains(&p.row)).collect();
    if planned.is_empty() {
        return Ok(Vec::new());
    }
    let mut products: Vec<Uuid> = planned.iter().map(|p| p.terms.product_id.uuid()).collect();
    products.sort_unstable();
    products.dedup();
    let (mut levels, mut customers) = (Vec::new(), Vec::new());
    for p in &planned {
        match &p.terms.target {
            PriceTarget::Level(level) => levels.push(level.clone()),
            PriceTarget::Customer(c) => customers.push(c.uuid()),
        }
    }
    let targets = Condition::any()
        .add(Condition::all().add(row::Column::CustomerId.is_null()).add(row::Column::CustomerLevel.is_in(levels)))
        .add(row::Column::CustomerId.is_in(customers));
    let stored = row::Entity::find()
        .filter(row::Column::TenantId.eq(author.tenant_id.uuid()))
        .filter(row::Column::DeletedAt.is_null())
        .filter(row::Column::ProductId.is_in(products))
        .filter(targets)
        .all(conn)
        .await?;
    // Every policy as the call leaves it, by id, with the row that writes it (none for a
    // stored policy the call leaves alone). A BTreeMap, so a clash names the same policy
    // every time.
    let mut standing: BTreeMap<Uuid, (PolicyTerms, Option<usize>)> = BTreeMap::new();
    for m in stored {
        standing.insert(m.id, (pricing::to_domain(m)?.terms, None));
    }
    let mut ordered = planned;
    ordered.sort_by_key(|p| p.before.is_none());
    for p in &ordered {
        standing.remove(&p.id);
    }
    let mut conflicts = Vec::new();
    for p in ordered {
        let clash = standing.iter().find(|(_, (other, _))| {
            other.product_id == p.terms.product_id
                && other.target == p.terms.target
                && other.overlaps(p.terms.valid_from, p.terms.valid_to)
        });
        match clash {
            Some((other, (_, row))) => {
                let other = match row {
                    Some(row) => format!("row {row} of this call"),
                    None => format!("price policy {other}"),
                };
                let message = format!("{other} prices this product and target on some of these days");
                conflicts.push((p.row, Invalid::one("validFrom", ErrorCode::Conflict, message)));
            }
            None => {
                standing.insert(p.id, (p.terms.clone(), Some(p.row)));
            }
        }
    }
    Ok(conflicts)
}

/// Writes the accepted rows: one versioned multi-row update, one multi-row insert with
/// the keys, and the change events.
async fn write<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    source: &str,
    results: &[RowResult],
    planned: Vec<Planned>,
) -> StoreResult<()> {
    let tenant = author.tenant_id;
    let now = Utc::now();
    let mut events = Vec::with_capacity(planned.len());
    let (mut inserts, mut updates, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    for p in planned {
        match p.before {
            None => {
                events.push((p.id, Operation::Create, pricing::created_changes(&p.terms)));
                keys.push((results[p.row].external_id.clone(), p.id));
                inserts.push(pricing::new_model(tenant, p.id, &p.terms, now));
            }
            Some((before, _)) => {
                let version = before.version;
                let mut terms = row::ActiveModel::default();
                pricing::set_terms(&mut terms, &p.terms);
                let columns = (row::Column::Version, row::Column::UpdatedAt);
                updates.push(upsert_kit::overlay_next(row::ActiveModel::from(before), &terms, columns, (version, now)));
                events.push((p.id, Operation::Update, p.changes));
            }
        }
    }
    let fixed = |c: &row::Column| {
        matches!(
            c,
            row::Column::TenantId
                | row::Column::Id
                | row::Column::ProductId
                | row::Column::CustomerLevel
                | row::Column::CustomerId
                | row::Column::CreatedAt
                | row::Column::DeletedAt
        )
    };
    let columns = (row::Column::TenantId, row::Column::Id, row::Column::Version);
    upsert_kit::write_versioned(conn, updates, columns, fixed, crate::StoreError::from).await?;
    crate::insert_chunked(conn, inserts).await?;
    external_key::insert(conn, tenant, ENTITY, source, keys).await?;
    audit::record_many(conn, author, ENTITY, events).await?;
    Ok(())
}
