//! The product catalogue: categories (a tree) and products, found by name, mnemonic code
//! and code through their own token table, shaped like the customers'. The catalogue is
//! the tenant's: `product.read` sees all of it. A product used by a document is never
//! deleted; it is deactivated and stays on what it was sold on.

use std::collections::BTreeMap;

use chrono::Utc;
use guanxi_domain::customers::customer::{search_query, shanghai_date};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{ProductCategoryId, ProductId, TenantId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::trade::money::TaxRate;
use guanxi_domain::trade::money::{from_e4, to_e4};
use guanxi_domain::trade::product::{
    Product, ProductCategory, ProductFields, ProductKind, ProductOrigin, check_code, code_token, search_tokens,
};
use guanxi_domain::{ErrorCode, mnemonic};
use sea_orm::sea_query::{Expr, LikeExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Select,
};
use uuid::Uuid;

use crate::customers::customer_search::{Searched, token_search};
use crate::decode::Cell;
use crate::entity::{document_line, product, product_category, product_search_token};
use crate::error::{StoreError, StoreResult, on_unique};
use crate::filter::escape_like;
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::platform::{sequence, tenant};
use crate::repo::{self, Scoped};

pub const ENTITY: EntityKind = EntityKind::Product;

// ---------------------------------------------------------------------------------------
// Categories

fn category(m: product_category::Model) -> ProductCategory {
    ProductCategory {
        id: m.id.into(),
        parent_id: m.parent_id.map(Into::into),
        name: m.name,
        position: m.position,
        version: m.version,
    }
}

/// The tenant's live categories, parents before children, each level by position.
pub async fn categories<C: ConnectionTrait>(conn: &C, tenant: TenantId) -> StoreResult<Vec<ProductCategory>> {
    let rows = product_category::Entity::find()
        .filter(product_category::Column::TenantId.eq(tenant.uuid()))
        .filter(product_category::Column::DeletedAt.is_null())
        .order_by_asc(product_category::Column::Position)
        .order_by_asc(product_category::Column::Name)
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(category).collect())
}

fn check_category_name(name: &str) -> StoreResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 40 {
        return Err(StoreError::rejected("name", ErrorCode::Invalid, "a name of 1 to 40 characters"));
    }
    Ok(name.to_owned())
}

/// Adds a category under `parent` (at the top when `None`).
pub async fn create_category<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    parent: Option<ProductCategoryId>,
    name: &str,
    position: i32,
) -> StoreResult<ProductCategory> {
    let tenant = author.tenant_id;
    let name = check_category_name(name)?;
    if let Some(parent) = parent {
        let all = categories(conn, tenant).await?;
        if !all.iter().any(|c| c.id == parent) {
            return Err(StoreError::rejected("parentId", ErrorCode::NotFound, "no such category"));
        }
    }
    let now = Utc::now();
    let id = ProductCategoryId::new();
    let model = product_category::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id.uuid()),
        parent_id: Set(parent.map(ProductCategoryId::uuid)),
        name: Set(name.clone()),
        position: Set(position),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    let created = category(product_category::Entity::insert(model).exec_with_returning(conn).await?);
    let changes = ChangeSet::new().field("name", (), &name).field("parentId", (), parent);
    audit::record(conn, author, EntityKind::ProductCategory, id.uuid(), Operation::Create, &changes).await?;
    Ok(created)
}

/// Renames, moves or reorders a category; a move under its own subtree is a `CYCLE`.
pub async fn update_category<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, expected_version): (ProductCategoryId, i32),
    name: Option<&str>,
    parent: Option<Option<ProductCategoryId>>,
    position: Option<i32>,
) -> StoreResult<ProductCategory> {
    let tenant = author.tenant_id;
    let all = categories(conn, tenant).await?;
    let current = all.iter().find(|c| c.id == id).ok_or(StoreError::NotFound)?;
    if current.version != expected_version {
        return Err(StoreError::version_conflict(expected_version, current.version));
    }
    let name = name.map(check_category_name).transpose()?.unwrap_or_else(|| current.name.clone());
    let parent = parent.unwrap_or(current.parent_id);
    if let Some(parent) = parent {
        if !all.iter().any(|c| c.id == parent) {
            return Err(StoreError::rejected("parentId", ErrorCode::NotFound, "no such category"));
        }
        let mut up = Some(parent);
        while let Some(step) = up {
            if step == id {
                return Err(StoreError::rejected("parentId", ErrorCode::Cycle, "a category cannot move under itself"));
            }
            up = all.iter().find(|c| c.id == step).and_then(|c| c.parent_id);
        }
    }
    let position = position.unwrap_or(current.position);
    let updated = product_category::Entity::update_many()
        .col_expr(product_category::Column::Name, Expr::value(name.clone()))
        .col_expr(product_category::Column::ParentId, Expr::value(parent.map(ProductCategoryId::uuid)))
        .col_expr(product_category::Column::Position, Expr::value(position))
        .col_expr(product_category::Column::Version, Expr::value(expected_version + 1))
        .col_expr(product_category::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(product_category::Column::TenantId.eq(tenant.uuid()))
        .filter(product_category::Column::Id.eq(id.uuid()))
        .filter(product_category::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(StoreError::version_conflict(expected_version, expected_version + 1));
    }
    let changes = ChangeSet::new()
        .field("name", &current.name, &name)
        .field("parentId", current.parent_id, parent)
        .field("position", current.position, position);
    audit::record(conn, author, EntityKind::ProductCategory, id.uuid(), Operation::Update, &changes).await?;
    Ok(ProductCategory { name, parent_id: parent, position, version: expected_version + 1, ..current.clone() })
}

/// Deletes an empty category (no subcategories, no live products): `NOT_EMPTY` otherwise.
pub async fn delete_category<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, expected_version): (ProductCategoryId, i32),
) -> StoreResult<ProductCategory> {
    let tenant = author.tenant_id;
    let all = categories(conn, tenant).await?;
    let current = all.iter().find(|c| c.id == id).ok_or(StoreError::NotFound)?.clone();
    if current.version != expected_version {
        return Err(StoreError::version_conflict(expected_version, current.version));
    }
    if all.iter().any(|c| c.parent_id == Some(id)) {
        return Err(StoreError::rejected("id", ErrorCode::NotEmpty, "the category has subcategories"));
    }
    let products = product::Entity::find()
        .filter(product::Column::TenantId.eq(tenant.uuid()))
        .filter(product::Column::CategoryId.eq(id.uuid()))
        .filter(product::Column::DeletedAt.is_null())
        .count(conn)
        .await?;
    if products > 0 {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::NotEmpty,
            format!("{products} products are in the category"),
        ));
    }
    let now = Utc::now();
    let deleted = product_category::Entity::update_many()
        .col_expr(product_category::Column::DeletedAt, Expr::value(now))
        .col_expr(product_category::Column::Version, Expr::value(expected_version + 1))
        .filter(product_category::Column::TenantId.eq(tenant.uuid()))
        .filter(product_category::Column::Id.eq(id.uuid()))
        .filter(product_category::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(StoreError::version_conflict(expected_version, expected_version + 1));
    }
    let changes = ChangeSet::new().field("deletedAt", None::<()>, now);
    audit::record(conn, author, EntityKind::ProductCategory, id.uuid(), Operation::Delete, &changes).await?;
    Ok(current)
}

/// `category` and every category below it.
pub fn subtree(all: &[ProductCategory], category: ProductCategoryId) -> Vec<Uuid> {
    let mut found = vec![category];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(all.iter().filter(|c| c.parent_id == Some(parent)).map(|c| c.id));
        i += 1;
    }
    found.into_iter().map(ProductCategoryId::uuid).collect()
}

// ---------------------------------------------------------------------------------------
// Products

pub fn to_domain(m: product::Model) -> StoreResult<Product> {
    let cell = |column| Cell::of("products", m.id, column);
    Ok(Product {
        id: m.id.into(),
        tenant_id: m.tenant_id.into(),
        code: m.code,
        mnemonic_code: m.mnemonic_code,
        fields: ProductFields {
            category_id: m.category_id.map(Into::into),
            kind: cell("kind").text(&m.kind, ProductKind::parse)?,
            origin: cell("origin").text(&m.origin, ProductOrigin::parse)?,
            specification: m.specification,
            unit: m.unit,
            list_price: from_e4(m.list_price_e4),
            cost_price: m.cost_price_e4.map(from_e4),
            tax_rate: cell("tax_rate").text(&m.tax_rate, TaxRate::parse)?,
            description: m.description,
            image_ids: cell("image_ids").json(m.image_ids)?,
            custom_fields: cell("custom_fields").json::<BTreeMap<String, serde_json::Value>>(m.custom_fields)?,
            external_id: m.external_id,
            name: m.name,
        },
        active: m.active,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// The catalogue, read by anyone with `product.read`.
pub struct Products;

impl Scoped for Products {
    type Entity = product::Entity;
    type Scope = ();
    type Record = Product;
    const ID: product::Column = product::Column::Id;
    const DELETED_AT: Option<product::Column> = Some(product::Column::DeletedAt);

    fn visible(_: DbBackend, tenant: TenantId, (): ()) -> Select<product::Entity> {
        product::Entity::find().filter(product::Column::TenantId.eq(tenant.uuid()))
    }

    fn to_domain(model: product::Model) -> StoreResult<Product> {
        to_domain(model)
    }
}

repo::versioned!(Products, product);
repo::recyclable!(Products, product, ENTITY);
repo::scoped_reads!(Products);

#[derive(Clone, Debug, Default)]
pub struct ProductFilter {
    /// A Chinese substring of the name, a mnemonic prefix or a code prefix.
    pub search: Option<String>,
    /// Products in any of these categories (each with its subtree, resolved by the caller).
    pub category_ids: Option<Vec<Uuid>>,
    pub kind: Option<Vec<ProductKind>>,
    pub origin: Option<Vec<ProductOrigin>>,
    pub active: Option<bool>,
    pub external_id: Option<String>,
    pub deleted: Option<bool>,
}

/// A product search: by name, mnemonic code or code prefix (see `token_search`); a longer
/// name match is confirmed against the name as typed.
fn search_condition(tenant: TenantId, term: &str) -> Condition {
    let Some(query) = search_query(term) else { return Condition::all() };
    let mut query = query.without_phones_and_tax_ids();
    query.prefixes.extend(code_token(term));
    let contains = product::Column::Name.like(LikeExpr::new(format!("%{}%", escape_like(term.trim()))).escape('\\'));
    token_search(
        (product_search_token::Entity, product_search_token::Column::TenantId),
        (product_search_token::Column::Token, product_search_token::Column::ProductId),
        tenant,
        &query,
        Searched {
            table: product::Entity,
            tenant: product::Column::TenantId,
            id: product::Column::Id,
            contains: Condition::all().add(contains),
        },
    )
}

impl ProductFilter {
    fn condition(&self, tenant: TenantId) -> Condition {
        let mut all = Condition::all();
        if let Some(term) = self.search.as_deref().filter(|s| !s.trim().is_empty()) {
            all = all.add(search_condition(tenant, term));
        }
        if let Some(categories) = &self.category_ids {
            all = all.add(product::Column::CategoryId.is_in(categories.iter().copied()));
        }
        if let Some(kind) = &self.kind {
            all = all.add(product::Column::Kind.is_in(kind.iter().map(|k| k.as_str())));
        }
        if let Some(origin) = &self.origin {
            all = all.add(product::Column::Origin.is_in(origin.iter().map(|o| o.as_str())));
        }
        if let Some(active) = self.active {
            all = all.add(product::Column::Active.eq(active));
        }
        if let Some(external) = &self.external_id {
            all = all.add(product::Column::ExternalId.eq(external.clone()));
        }
        all
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProductSort {
    UpdatedAt,
    Code,
    ListPrice,
}

pub fn sort_name(sort: ProductSort) -> &'static str {
    match sort {
        ProductSort::UpdatedAt => "UPDATED_AT",
        ProductSort::Code => "CODE",
        ProductSort::ListPrice => "LIST_PRICE",
    }
}

impl repo::Listed for Products {
    type Filter = ProductFilter;
    type Order = (ProductSort, Direction);

    fn matching(backend: DbBackend, tenant: TenantId, (): (), filter: &ProductFilter) -> Select<product::Entity> {
        repo::in_bin::<Self>(backend, tenant, (), filter.deleted).filter(filter.condition(tenant))
    }

    fn sort_key((sort, direction): Self::Order) -> SortKey<product::Entity> {
        type M = product::Model;
        let name = sort_name(sort);
        match sort {
            ProductSort::UpdatedAt => SortKey {
                name,
                column: product::Column::UpdatedAt,
                direction,
                value: |m: &M| CursorValue::Time(m.updated_at),
            },
            ProductSort::Code => SortKey {
                name,
                column: product::Column::Code,
                direction,
                value: |m: &M| CursorValue::Text(m.code.clone()),
            },
            ProductSort::ListPrice => SortKey {
                name,
                column: product::Column::ListPriceE4,
                direction,
                value: |m: &M| CursorValue::Int(m.list_price_e4),
            },
        }
    }

    fn id_of(model: &product::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Products);

/// A refused write of a product: the external id or the code is taken.
pub(crate) fn on_code(error: sea_orm::DbErr) -> StoreError {
    if error.to_string().contains("external") {
        on_unique(error, "externalId", "another product has this external id")
    } else {
        on_unique(error, "code", "another product has this code")
    }
}

/// [`on_code`], for a multi-row insert's failure.
pub(crate) fn on_insert(error: StoreError) -> StoreError {
    match error {
        StoreError::Database(db) => on_code(db),
        other => other,
    }
}

async fn write_tokens<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Uuid,
    name: &str,
    code: &str,
) -> StoreResult<()> {
    replace_tokens(conn, tenant, &[id], vec![(id, name.to_owned(), code.to_owned())]).await
}

/// Drops the search tokens of the products `clear` names, then writes the tokens of each
/// `(product, name, code)`: one statement each, multi-row.
pub(crate) async fn replace_tokens<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    clear: &[Uuid],
    products: Vec<(Uuid, String, String)>,
) -> StoreResult<()> {
    if !clear.is_empty() {
        product_search_token::Entity::delete_many()
            .filter(product_search_token::Column::TenantId.eq(tenant.uuid()))
            .filter(product_search_token::Column::ProductId.is_in(clear.iter().copied()))
            .exec(conn)
            .await?;
    }
    let rows: Vec<_> = products
        .into_iter()
        .flat_map(|(id, name, code)| {
            search_tokens(&name, &code).into_iter().map(move |token| product_search_token::ActiveModel {
                tenant_id: Set(tenant.uuid()),
                token: Set(token),
                product_id: Set(id),
            })
        })
        .collect();
    crate::insert_chunked(conn, rows).await?;
    Ok(())
}

/// The category, when given, is live; the images are uploads of the tenant.
async fn check_references<C: ConnectionTrait>(conn: &C, tenant: TenantId, fields: &ProductFields) -> StoreResult<()> {
    if !fields.image_ids.is_empty() {
        let found = crate::entity::attachment::Entity::find()
            .filter(crate::entity::attachment::Column::TenantId.eq(tenant.uuid()))
            .filter(crate::entity::attachment::Column::Id.is_in(fields.image_ids.iter().copied()))
            .count(conn)
            .await?;
        let distinct: std::collections::BTreeSet<_> = fields.image_ids.iter().collect();
        if found != distinct.len() as u64 {
            return Err(StoreError::rejected("imageIds", ErrorCode::NotFound, "no such upload"));
        }
    }
    let Some(category) = fields.category_id else { return Ok(()) };
    let found = product_category::Entity::find()
        .filter(product_category::Column::TenantId.eq(tenant.uuid()))
        .filter(product_category::Column::Id.eq(category.uuid()))
        .filter(product_category::Column::DeletedAt.is_null())
        .count(conn)
        .await?;
    if found == 0 {
        return Err(StoreError::rejected("categoryId", ErrorCode::NotFound, "no such category"));
    }
    Ok(())
}

/// The columns a product's fields are stored in, for its insert and its updates.
fn field_columns(fields: &ProductFields) -> Vec<(product::Column, sea_orm::Value)> {
    vec![
        (product::Column::Name, fields.name.clone().into()),
        (product::Column::MnemonicCode, mnemonic::mnemonic_code(&fields.name).into()),
        (product::Column::CategoryId, fields.category_id.map(ProductCategoryId::uuid).into()),
        (product::Column::Kind, fields.kind.as_str().into()),
        (product::Column::Origin, fields.origin.as_str().into()),
        (product::Column::Specification, fields.specification.clone().into()),
        (product::Column::Unit, fields.unit.clone().into()),
        (product::Column::ListPriceE4, to_e4(fields.list_price).into()),
        (product::Column::CostPriceE4, fields.cost_price.map(to_e4).into()),
        (product::Column::TaxRate, fields.tax_rate.as_str().into()),
        (product::Column::Description, fields.description.clone().into()),
        (product::Column::ImageIds, serde_json::json!(fields.image_ids).into()),
        (product::Column::CustomFields, serde_json::json!(fields.custom_fields).into()),
        (product::Column::ExternalId, fields.external_id.clone().into()),
    ]
}

/// The fields as change events show them: without the cost price, which only
/// `product.cost` may read (a change to it is recorded as changed, without values).
fn described(fields: &ProductFields) -> serde_json::Value {
    let mut value = serde_json::to_value(fields).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.remove("costPrice");
    }
    value
}

/// The fields as a read gives them back (prices at the stored scale), so an identical
/// record compares equal to the stored one.
pub(crate) fn as_stored(mut fields: ProductFields) -> ProductFields {
    fields.list_price = from_e4(to_e4(fields.list_price));
    fields.cost_price = fields.cost_price.map(|p| from_e4(to_e4(p)));
    fields
}

/// A new product's row before its fields are set (`set_fields`).
pub(crate) fn new_model(tenant: TenantId, id: Uuid, code: &str, now: chrono::DateTime<Utc>) -> product::ActiveModel {
    product::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id),
        code: Set(code.to_owned()),
        active: Set(true),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    }
}

/// Sets the columns a product's fields are stored in.
pub(crate) fn set_fields(model: &mut product::ActiveModel, fields: &ProductFields) {
    for (column, value) in field_columns(fields) {
        sea_orm::ActiveModelTrait::set(model, column, value);
    }
}

/// The change event of a new product.
pub(crate) fn created_changes(fields: &ProductFields, code: &str) -> ChangeSet {
    ChangeSet::new().diff(&serde_json::json!({}), &described(fields)).field("code", (), code)
}

/// The change event of an edit (a new cost price is recorded as changed, without values).
pub(crate) fn changes_between(before: &ProductFields, after: &ProductFields) -> ChangeSet {
    let changes = ChangeSet::new().diff(&described(before), &described(after));
    match before.cost_price != after.cost_price {
        true => changes.secret("costPrice"),
        false => changes,
    }
}

/// Adds a product; its code is `code` when given, else the next number of the tenant's
/// product numbering rule.
pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    code: Option<&str>,
    fields: ProductFields,
) -> StoreResult<Product> {
    let tenant = author.tenant_id;
    check_references(conn, tenant, &fields).await?;
    let now = Utc::now();
    let code = match code {
        Some(code) => check_code(code).map_err(StoreError::from)?,
        None => {
            let rule = tenant::settings(conn, tenant).await?.product_numbering;
            let today = shanghai_date(now);
            let n = sequence::next(conn, tenant, "product", &rule.period(today)).await?;
            rule.format(today, n)
        }
    };
    let id = ProductId::new();
    let mut model = new_model(tenant, id.uuid(), &code, now);
    set_fields(&mut model, &fields);
    let created = to_domain(product::Entity::insert(model).exec_with_returning(conn).await.map_err(on_code)?)?;
    write_tokens(conn, tenant, id.uuid(), &created.fields.name, &code).await?;
    let changes = created_changes(&created.fields, &code);
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    Ok(created)
}

/// Replaces a product's fields (its code stays) at the version the caller read.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, expected_version): (Uuid, i32),
    edit: impl FnOnce(&Product) -> Result<ProductFields, guanxi_domain::Invalid>,
) -> StoreResult<Product> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Products, C>(conn, tenant, (), id, expected_version).await?;
    let fields = edit(&before)?;
    check_references(conn, tenant, &fields).await?;
    let update = repo::set_columns::<product::Entity>(
        field_columns(&fields).into_iter().map(|(c, v)| (c, Expr::value(v))).collect(),
    );
    let after = repo::write_versioned_or::<Products, C>(conn, tenant, id, expected_version, update, on_code).await?;
    if after.fields.name != before.fields.name {
        write_tokens(conn, tenant, id, &after.fields.name, &after.code).await?;
    }
    let changes = changes_between(&before.fields, &after.fields);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Activates or deactivates a product: an inactive one is kept on old documents and
/// refused on new lines.
pub async fn set_active<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, expected_version): (Uuid, i32),
    active: bool,
) -> StoreResult<Product> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Products, C>(conn, tenant, (), id, expected_version).await?;
    let update = product::Entity::update_many().col_expr(product::Column::Active, Expr::value(active));
    let after = repo::write_versioned::<Products, C>(conn, tenant, id, expected_version, update).await?;
    let changes = ChangeSet::new().field("active", before.active, active);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Moves an unused product to the recycle bin; one on any quote, order or deal line is
/// `ILLEGAL_STATE` (deactivate it instead).
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<Product> {
    let tenant = author.tenant_id;
    repo::live_current::<Products, C>(conn, tenant, (), id, expected_version).await?;
    let used = document_line::Entity::find()
        .filter(document_line::Column::TenantId.eq(tenant.uuid()))
        .filter(document_line::Column::ProductId.eq(id))
        .count(conn)
        .await?;
    if used > 0 {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::IllegalState,
            format!("the product is on {used} document lines: deactivate it instead"),
        ));
    }
    repo::mark_deleted::<Products, C>(conn, author, id, expected_version).await
}
