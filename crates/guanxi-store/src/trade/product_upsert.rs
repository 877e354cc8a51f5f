//! Bulk upsert of products by external key (`upsertProducts`), set-based as customers'
//! is: the keys, the products they name, the tenant's settings and custom-field
//! definitions, the codes and categories the rows mention, then multi-row writes of
//! products, search tokens, keys and change events. Every row passes the checks
//! `createProduct` and `updateProduct` make: the fields' shape and decimal places, custom
//! fields, a live category (when the row changes it), a unique code (given, or the
//! numbering rule's next) that a stored product keeps. Images are not sent; a product
//! keeps its own.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::custom_field::CustomFieldDefinition;
use guanxi_domain::platform::upsert::{self, Mode, Outcome, RowResult};
use guanxi_domain::trade::money::Places;
use guanxi_domain::trade::product::{Product, ProductFields, check_code};
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::entity::{product as row, product_category};
use crate::error::StoreResult;
use crate::platform::audit::{self, Author};
use crate::platform::upsert as upsert_kit;
use crate::platform::{custom_field, external_key, sequence, tenant};
use crate::trade::product::{self, ENTITY, Products};

/// The custom-field entity of products.
pub const CUSTOM_FIELD_ENTITY: &str = "PRODUCT";

/// A row's fields merged into the product's as stored (`None`: a new product), with the
/// tenant's custom-field definitions and price decimal places.
pub type Edit =
    Box<dyn FnOnce(Option<&ProductFields>, &[CustomFieldDefinition], Places) -> Result<ProductFields, Invalid> + Send>;

pub struct UpsertRow {
    pub external_id: String,
    /// A new product's code; none takes the numbering rule's next. A stored product
    /// keeps its code (another one is `ILLEGAL_STATE`).
    pub code: Option<String>,
    pub edit: Edit,
}

struct Planned {
    row: usize,
    id: Uuid,
    before: Option<(row::Model, Product)>,
    /// A new product's given code.
    code: Option<String>,
    fields: ProductFields,
    changes: ChangeSet,
}

/// Upserts a call's products inside the caller's transaction and answers each row.
pub async fn upsert<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (source, mode): (&str, Mode),
    rows: Vec<UpsertRow>,
) -> StoreResult<Vec<RowResult>> {
    let tenant = author.tenant_id;
    let keys: Vec<String> = rows.iter().map(|r| r.external_id.clone()).collect();
    let staged = upsert_kit::stage::<Products, _>(conn, tenant, (), (ENTITY, source), &keys, |m| m.id).await?;
    let definitions = custom_field::definitions(conn, tenant, CUSTOM_FIELD_ENTITY).await?;
    let settings = tenant::settings(conn, tenant).await?;

    let mut results: Vec<RowResult> = Vec::with_capacity(keys.len());
    let mut planned: Vec<Planned> = Vec::new();
    for (index, (row, repeat)) in rows.into_iter().zip(upsert::repeats(&keys)).enumerate() {
        let key = row.external_id;
        let stored = staged.read((&key, repeat), (|m| m.deleted_at.is_some(), "product"), |m| {
            Ok((m.clone(), product::to_domain(m.clone())?))
        })?;
        let planned_row = stored.and_then(|stored| {
            let mut invalid = Invalid::default();
            let code = match (&stored, row.code) {
                (Some((_, p)), Some(code)) if code.trim() != p.code => {
                    invalid.push(FieldError::new("code", ErrorCode::IllegalState, "a product keeps its code"));
                    None
                }
                (Some(_), _) | (None, None) => None,
                (None, Some(code)) => invalid.check(check_code(&code)),
            };
            let edited =
                (row.edit)(stored.as_ref().map(|(_, p)| &p.fields), &definitions, settings.decimal_places.product);
            match edited {
                Ok(fields) if invalid.is_empty() => Ok((stored, code, product::as_stored(fields))),
                Ok(_) => Err(invalid),
                Err(e) => {
                    invalid.0.extend(e.0);
                    Err(invalid)
                }
            }
        });
        let Some((stored, code, fields)) = upsert_kit::admit(&mut results, &key, planned_row) else { continue };
        let changes = match &stored {
            None => ChangeSet::new(),
            Some((_, p)) => product::changes_between(&p.fields, &fields),
        };
        let (outcome, id) = upsert_kit::outcome(stored.as_ref().map(|(m, _)| m.id), !changes.is_empty());
        results.push(RowResult::done(key, outcome, id));
        if outcome != Outcome::Unchanged {
            planned.push(Planned { row: index, id, before: stored, code, fields, changes });
        }
    }

    let mut refused = check_category(conn, author, &planned).await?;
    let named: HashSet<usize> = refused.iter().map(|(row, _)| *row).collect();
    refused.extend(check_codes(conn, author, &planned, &named).await?);
    let Some(failed) = upsert_kit::conclude(mode, &mut results, refused) else { return Ok(results) };
    planned.retain(|p| !failed.contains(&p.row));
    write(conn, author, (source, &settings), &results, planned).await?;
    Ok(results)
}

/// New products' given codes: free in the tenant (one statement) and not given by an
/// earlier row of the call. Rows already refused (`refused`) hold no code.
async fn check_codes<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    planned: &[Planned],
    refused: &HashSet<usize>,
) -> StoreResult<Vec<(usize, Invalid)>> {
    let planned: Vec<&Planned> = planned.iter().filter(|p| !refused.contains(&p.row)).collect();
    let given: Vec<String> = planned.iter().filter_map(|p| p.code.clone()).collect();
    if given.is_empty() {
        return Ok(Vec::new());
    }
    let taken: HashSet<String> = row::Entity::find()
        .select_only()
        .column(row::Column::Code)
        .filter(row::Column::TenantId.eq(author.tenant_id.uuid()))
        .filter(row::Column::Code.is_in(given))
        .into_tuple::<String>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let mut earlier: HashMap<&str, usize> = HashMap::new();
    let mut duplicates = Vec::new();
    for p in planned {
        let Some(code) = p.code.as_deref() else { continue };
        if taken.contains(code) {
            duplicates.push((p.row, Invalid::one("code", ErrorCode::Duplicate, "another product has this code")));
        } else if let Some(first) = earlier.get(code) {
            let message = format!("row {first} of this call gives the same code");
            duplicates.push((p.row, Invalid::one("code", ErrorCode::Duplicate, message)));
        } else {
            earlier.insert(code, p.row);
        }
    }
    Ok(duplicates)
}

/// The categories the rows set are live: one statement, for the rows that change it (a
/// product whose category was since deleted keeps it until it is changed). Images are not
/// sent: an upsert keeps a product's images.
async fn check_category<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    planned: &[Planned],
) -> StoreResult<Vec<(usize, Invalid)>> {
    let new_category = |p: &Planned| {
        p.fields.category_id.filter(|c| p.before.as_ref().is_none_or(|(_, b)| b.fields.category_id != Some(*c)))
    };
    let categories: Vec<Uuid> = planned.iter().filter_map(new_category).map(|c| c.uuid()).collect();
    if categories.is_empty() {
        return Ok(Vec::new());
    }
    let live: HashSet<Uuid> = product_category::Entity::find()
        .select_only()
        .column(product_category::Column::Id)
        .filter(product_category::Column::TenantId.eq(author.tenant_id.uuid()))
        .filter(product_category::Column::DeletedAt.is_null())
        .filter(product_category::Column::Id.is_in(categories))
        .into_tuple::<Uuid>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    Ok(planned
        .iter()
        .filter(|p| new_category(p).is_some_and(|c| !live.contains(&c.uuid())))
        .map(|p| (p.row, Invalid::one("categoryId", ErrorCode::NotFound, "no such category")))
        .collect())
}

/// Writes the accepted rows: new products numbered from one block of the sequence, one
/// versioned multi-row update, one multi-row insert with their keys, the search tokens
/// of new and renamed products, and the change events.
async fn write<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (source, settings): (&str, &tenant::TenantSettings),
    results: &[RowResult],
    planned: Vec<Planned>,
) -> StoreResult<()> {
    let tenant = author.tenant_id;
    let now = Utc::now();
    let (creates, updates): (Vec<Planned>, Vec<Planned>) = planned.into_iter().partition(|p| p.before.is_none());
    let mut events = Vec::with_capacity(creates.len() + updates.len());
    let mut tokens: Vec<(Uuid, String, String)> = Vec::new();
    let numbered = creates.iter().filter(|p| p.code.is_none()).count();
    let today = shanghai_date(now);
    let rule = &settings.product_numbering;
    let mut numbers = sequence::numbers(conn, tenant, ("product", rule), today, numbered).await?;
    let (mut inserts, mut keys) = (Vec::with_capacity(creates.len()), Vec::with_capacity(creates.len()));
    for p in creates {
        let code = p.code.unwrap_or_else(|| numbers.next().unwrap_or_default());
        let mut model = product::new_model(tenant, p.id, &code, now);
        product::set_fields(&mut model, &p.fields);
        events.push((p.id, Operation::Create, product::created_changes(&p.fields, &code)));
        tokens.push((p.id, p.fields.name.clone(), code));
        keys.push((results[p.row].external_id.clone(), p.id));
        inserts.push(model);
    }
    let mut renamed = Vec::new();
    let mut rows = Vec::with_capacity(updates.len());
    for p in updates {
        let Some((model, before)) = p.before else { continue };
        if before.fields.name != p.fields.name {
            renamed.push(p.id);
            tokens.push((p.id, p.fields.name.clone(), before.code.clone()));
        }
        let version = model.version;
        let mut changed = row::ActiveModel::default();
        product::set_fields(&mut changed, &p.fields);
        let columns = (row::Column::Version, row::Column::UpdatedAt);
        rows.push(upsert_kit::overlay_next(row::ActiveModel::from(model), &changed, columns, (version, now)));
        events.push((p.id, Operation::Update, p.changes));
    }
    let fixed = |c: &row::Column| {
        matches!(
            c,
            row::Column::TenantId
                | row::Column::Id
                | row::Column::Code
                | row::Column::Active
                | row::Column::CreatedAt
                | row::Column::DeletedAt
        )
    };
    let columns = (row::Column::TenantId, row::Column::Id, row::Column::Version);
    upsert_kit::write_versioned(conn, rows, columns, fixed, product::on_code).await?;
    crate::insert_chunked(conn, inserts).await.map_err(product::on_insert)?;
    external_key::insert(conn, tenant, ENTITY, source, keys).await?;
    product::replace_tokens(conn, tenant, &renamed, tokens).await?;
    audit::record_many(conn, author, ENTITY, events).await?;
    Ok(())
}
