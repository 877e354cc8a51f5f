//! The product catalogue, price policies and price resolution over GraphQL.

use std::collections::BTreeMap;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::ids::{CustomerId, ProductCategoryId, ProductId};
use guanxi_domain::platform::access::Permission;
use guanxi_domain::trade::pricing::{PolicyTerms, PricePolicy as DomainPolicy, PriceTarget, QuantityBreak};
use guanxi_domain::trade::product::{
    Product as DomainProduct, ProductCategory as DomainCategory, ProductFields, ProductKind as DomainKind,
    ProductOrigin as DomainOrigin,
};
use guanxi_store::page::Direction;
use guanxi_store::trade::product::{ProductFilter as StoreFilter, ProductSort};
use rust_decimal::Decimal;
use serde::Serialize;

use super::document::{PRODUCT, PriceSource, TaxRate};
use crate::graphql::context::{actor, author, require, state};
use crate::graphql::customers::customer::{CUSTOMER, Customer, Money};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::CustomerKey;
use crate::graphql::mutation::{Idempotent, transact, write, write_by_id};
use crate::graphql::platform::org_mutation::VersionedIdInput;
use crate::graphql::relay::{Conn, expect_id, global_id, input_id, listed, page_request, read_by_id};
use crate::graphql::shared::OrderDirection;

/// Products' custom fields are defined under this entity.
pub const CUSTOM_FIELD_ENTITY: &str = "PRODUCT";

/// The custom field values checked against the tenant's product field definitions.
async fn custom_fields_of<C: guanxi_store::ConnectionTrait>(
    conn: &C,
    tenant: guanxi_domain::ids::TenantId,
    given: &BTreeMap<String, serde_json::Value>,
) -> guanxi_store::StoreResult<BTreeMap<String, serde_json::Value>> {
    let definitions = guanxi_store::platform::custom_field::definitions(conn, tenant, CUSTOM_FIELD_ENTITY).await?;
    Ok(guanxi_domain::platform::custom_field::check_values(&definitions, given, &BTreeMap::new(), true)?)
}

pub const CATEGORY: &str = guanxi_domain::entity::EntityKind::ProductCategory.name();
pub const POLICY: &str = guanxi_domain::entity::EntityKind::PricePolicy.name();

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainKind")]
pub enum ProductKind {
    /// 有形产品
    Tangible,
    /// 无形产品
    Intangible,
    /// 服务
    Service,
    /// 培训
    Training,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainOrigin")]
pub enum ProductOrigin {
    /// 自制
    Made,
    /// 外购
    Bought,
    /// 代销
    Consignment,
}

/// A category of the product tree (产品分类).
pub struct ProductCategory(pub DomainCategory);

#[Object]
impl ProductCategory {
    async fn id(&self) -> ID {
        global_id(CATEGORY, self.0.id.uuid())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn parent_id(&self) -> Option<ID> {
        self.0.parent_id.map(|p| global_id(CATEGORY, p.uuid()))
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// A product of the catalogue (产品).
pub struct Product(pub DomainProduct);

#[Object]
impl Product {
    pub async fn id(&self) -> ID {
        global_id(PRODUCT, self.0.id.uuid())
    }
    /// 产品编号.
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn name(&self) -> &str {
        &self.0.fields.name
    }
    /// 助记码: pinyin initials of the name.
    async fn mnemonic_code(&self) -> &str {
        &self.0.mnemonic_code
    }
    /// The product's keys in outside systems (`upsertProducts`).
    async fn external_keys(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::integration::upsert::ExternalKey>> {
        crate::graphql::integration::upsert::external_keys(
            ctx,
            guanxi_domain::entity::EntityKind::Product,
            self.0.id.uuid(),
        )
        .await
    }
    async fn category_id(&self) -> Option<ID> {
        self.0.fields.category_id.map(|c| global_id(CATEGORY, c.uuid()))
    }
    async fn kind(&self) -> ProductKind {
        self.0.fields.kind.into()
    }
    async fn origin(&self) -> ProductOrigin {
        self.0.fields.origin.into()
    }
    async fn specification(&self) -> Option<&str> {
        self.0.fields.specification.as_deref()
    }
    async fn unit(&self) -> &str {
        &self.0.fields.unit
    }
    async fn list_price(&self) -> Money {
        Money { amount: self.0.fields.list_price.normalize(), currency: "CNY".into() }
    }
    /// Null unless the caller has `product.cost`.
    async fn cost_price(&self, ctx: &Context<'_>) -> ApiResult<Option<Money>> {
        if !actor(ctx)?.may(Permission::ProductCost) {
            return Ok(None);
        }
        Ok(self.0.fields.cost_price.map(|c| Money { amount: c.normalize(), currency: "CNY".into() }))
    }
    async fn tax_rate(&self) -> TaxRate {
        self.0.fields.tax_rate.into()
    }
    /// An inactive product stays on old documents and is refused on new lines.
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn description(&self) -> Option<&str> {
        self.0.fields.description.as_deref()
    }
    /// Uploaded images (see `uploadUrl`), in order.
    async fn image_ids(&self) -> Vec<ID> {
        self.0
            .fields
            .image_ids
            .iter()
            .map(|i| global_id(guanxi_domain::entity::EntityKind::Attachment.name(), *i))
            .collect()
    }
    async fn custom_fields(&self) -> async_graphql::Json<BTreeMap<String, serde_json::Value>> {
        async_graphql::Json(self.0.fields.custom_fields.clone())
    }
    /// The ERP's id for the product.
    async fn external_id(&self) -> Option<&str> {
        self.0.fields.external_id.as_deref()
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
}

/// From this quantity on, this unit price.
#[derive(SimpleObject, InputObject, Clone, Serialize)]
#[graphql(input_name = "QuantityBreakInput")]
pub struct PriceBreak {
    pub min_quantity: Decimal,
    pub price: Decimal,
}

/// A price policy (价格政策): a product's price for a customer level or one customer,
/// for a range of days, with optional quantity breaks.
pub struct PricePolicy(pub DomainPolicy);

#[Object]
impl PricePolicy {
    pub async fn id(&self) -> ID {
        global_id(POLICY, self.0.id.uuid())
    }
    async fn product_id(&self) -> ID {
        global_id(PRODUCT, self.0.terms.product_id.uuid())
    }
    /// The level priced, for a level policy.
    async fn customer_level(&self) -> Option<&str> {
        match &self.0.terms.target {
            PriceTarget::Level(level) => Some(level),
            PriceTarget::Customer(_) => None,
        }
    }
    /// The customer priced, for a customer's own policy.
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        let PriceTarget::Customer(customer) = self.0.terms.target else { return Ok(None) };
        let loaders = super::document::loaders(ctx)?;
        Ok(loaders.load_one(CustomerKey(customer.uuid())).await?.map(Customer))
    }
    /// The price below the first break.
    async fn price(&self) -> Money {
        Money { amount: self.0.terms.price.normalize(), currency: "CNY".into() }
    }
    async fn breaks(&self) -> Vec<PriceBreak> {
        self.0.terms.breaks.iter().map(|b| PriceBreak { min_quantity: b.min_quantity, price: b.price }).collect()
    }
    async fn valid_from(&self) -> NaiveDate {
        self.0.terms.valid_from
    }
    /// Open-ended when null.
    async fn valid_to(&self) -> Option<NaiveDate> {
        self.0.terms.valid_to
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// Filters products.
#[derive(InputObject, Default, Clone)]
pub struct ProductFilter {
    /// A Chinese substring of the name, a mnemonic code or a code prefix.
    pub search: Option<String>,
    /// Products in this category or below it.
    pub category_id: Option<ID>,
    pub kind: Option<Vec<ProductKind>>,
    pub origin: Option<Vec<ProductOrigin>>,
    pub active: Option<bool>,
    pub external_id: Option<String>,
    /// True for the recycle bin.
    pub deleted: Option<bool>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ProductOrderField {
    UpdatedAt,
    Code,
    ListPrice,
}

#[derive(InputObject, Clone, Copy)]
pub struct ProductOrder {
    pub field: ProductOrderField,
    #[graphql(default_with = "OrderDirection::Desc")]
    pub direction: OrderDirection,
}

/// A line to price.
#[derive(InputObject, Clone, Serialize)]
pub struct PriceQuoteLineInput {
    pub product_id: ID,
    pub quantity: Decimal,
}

/// A line's resolved price.
#[derive(SimpleObject)]
pub struct PricedLine {
    product_id: ID,
    product_name: String,
    quantity: Decimal,
    list_price: Money,
    unit_price: Money,
    source: PriceSource,
    /// The policy that gave the price, when one did.
    policy_id: Option<ID>,
}

#[derive(Default)]
pub struct ProductQuery;

#[Object]
impl ProductQuery {
    /// The product category tree, parents before children.
    async fn product_categories(&self, ctx: &Context<'_>) -> ApiResult<Vec<ProductCategory>> {
        let actor = require(ctx, Permission::ProductRead)?;
        let all = guanxi_store::trade::product::categories(state(ctx).db.connection(), actor.tenant_id).await?;
        Ok(all.into_iter().map(ProductCategory).collect())
    }

    async fn product(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Product> {
        let read = (&id, PRODUCT);
        Ok(Product(
            read_by_id::<guanxi_store::trade::product::Products>(ctx, Permission::ProductRead, read, |_| ()).await?,
        ))
    }

    /// The catalogue. Default order: most recently updated first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ProductFilter>,
        order_by: Option<ProductOrder>,
    ) -> ApiResult<Conn<Product>> {
        let actor = require(ctx, Permission::ProductRead)?.clone();
        let db = state(ctx).db.clone();
        let filter = filter.unwrap_or_default();
        let category_ids = match &filter.category_id {
            Some(id) => {
                let category = ProductCategoryId::from_uuid(expect_id(id, CATEGORY)?);
                let all = guanxi_store::trade::product::categories(db.connection(), actor.tenant_id).await?;
                Some(guanxi_store::trade::product::subtree(&all, category))
            }
            None => None,
        };
        let store = StoreFilter {
            search: filter.search,
            category_ids,
            kind: filter.kind.map(|k| k.into_iter().map(Into::into).collect()),
            origin: filter.origin.map(|o| o.into_iter().map(Into::into).collect()),
            active: filter.active,
            external_id: filter.external_id,
            deleted: filter.deleted,
        };
        let order = order_by.map_or((ProductSort::UpdatedAt, Direction::Desc), |o| {
            let sort = match o.field {
                ProductOrderField::UpdatedAt => ProductSort::UpdatedAt,
                ProductOrderField::Code => ProductSort::Code,
                ProductOrderField::ListPrice => ProductSort::ListPrice,
            };
            (sort, o.direction.into())
        });
        let request = page_request(first, after, None, None, guanxi_store::trade::product::sort_name(order.0))?;
        let query = ((), store, order);
        listed::<guanxi_store::trade::product::Products, _>(&db, actor.tenant_id, query, &request, Product).await
    }

    /// The live price policies of a product or of a customer the caller may see.
    async fn price_policies(
        &self,
        ctx: &Context<'_>,
        product_id: Option<ID>,
        customer_id: Option<ID>,
    ) -> ApiResult<Vec<PricePolicy>> {
        let actor = require(ctx, Permission::ProductRead)?;
        if product_id.is_none() && customer_id.is_none() {
            return Err(ApiError::BadUserInput("name a product or a customer".into()));
        }
        let product = product_id.as_ref().map(|p| expect_id(p, PRODUCT).map(ProductId::from_uuid)).transpose()?;
        let customer = customer_id.as_ref().map(|c| expect_id(c, CUSTOMER).map(CustomerId::from_uuid)).transpose()?;
        let rule = actor.customer_rule();
        let found = guanxi_store::trade::pricing::policies(
            state(ctx).db.connection(),
            actor.tenant_id,
            rule,
            product,
            customer,
        )
        .await?;
        Ok(found.into_iter().map(PricePolicy).collect())
    }

    /// The price of each line for a customer on a day (today in Asia/Shanghai unless
    /// given): the customer's own policy, then its level's, then the list price, with
    /// quantity breaks. One statement however many lines.
    async fn price_quote(
        &self,
        ctx: &Context<'_>,
        customer_id: ID,
        lines: Vec<PriceQuoteLineInput>,
        on: Option<NaiveDate>,
    ) -> ApiResult<Vec<PricedLine>> {
        let actor = require(ctx, Permission::ProductRead)?;
        if lines.len() > guanxi_domain::trade::document::MAX_LINES {
            return Err(ApiError::BadUserInput("at most 1000 lines".into()));
        }
        let customer = CustomerId::from_uuid(expect_id(&customer_id, CUSTOMER)?);
        let conn = state(ctx).db.connection();
        let found =
            guanxi_store::customers::customer::find(conn, actor.tenant_id, actor.customer_rule(), customer.uuid())
                .await?
                .filter(|c| c.deleted_at.is_none())
                .ok_or(ApiError::NotFound)?;
        let ids = lines
            .iter()
            .map(|l| expect_id(&l.product_id, PRODUCT).map(ProductId::from_uuid))
            .collect::<Result<Vec<_>, _>>()?;
        let on = on.unwrap_or_else(|| guanxi_domain::customers::customer::shanghai_date(Utc::now()));
        let priced = guanxi_store::trade::pricing::priced(
            conn,
            actor.tenant_id,
            (customer, found.fields.level.as_deref()),
            &ids,
            on,
        )
        .await?;
        let mut out = Vec::with_capacity(lines.len());
        for (line, id) in lines.iter().zip(ids) {
            let product = priced
                .get(&id)
                .ok_or_else(|| ApiError::BadUserInput(format!("no such product {}", line.product_id.as_str())))?;
            let resolved = product.price(line.quantity);
            out.push(PricedLine {
                product_id: line.product_id.clone(),
                product_name: product.name.clone(),
                quantity: line.quantity,
                list_price: Money { amount: resolved.list_price.normalize(), currency: "CNY".into() },
                unit_price: Money { amount: resolved.unit_price.normalize(), currency: "CNY".into() },
                source: resolved.source.into(),
                policy_id: resolved.policy_id.map(|p| global_id(POLICY, p.uuid())),
            });
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

#[derive(InputObject)]
pub struct CreateProductCategoryInput {
    pub name: String,
    pub parent_id: Option<ID>,
    #[graphql(default)]
    pub position: i32,
}

#[derive(InputObject)]
pub struct UpdateProductCategoryInput {
    pub id: ID,
    pub expected_version: i32,
    pub name: Option<String>,
    /// Moves the category; null moves it to the top.
    pub parent_id: async_graphql::MaybeUndefined<ID>,
    pub position: Option<i32>,
}

crate::graphql::error::payload! {
    ProductCategoryPayload, category: ProductCategory(DomainCategory)
}

/// A product's fields.
#[derive(InputObject, Clone, Serialize)]
pub struct ProductFieldsInput {
    pub name: String,
    pub category_id: Option<ID>,
    pub kind: ProductKind,
    pub origin: ProductOrigin,
    pub specification: Option<String>,
    /// 台, 套, 次, 人天…
    pub unit: String,
    /// At most the tenant's product decimal places.
    pub list_price: Decimal,
    pub cost_price: Option<Decimal>,
    #[graphql(default_with = "TaxRate::Vat13")]
    pub tax_rate: TaxRate,
    pub description: Option<String>,
    /// Uploaded images (`Attachment` ids).
    #[graphql(default)]
    pub image_ids: Vec<ID>,
    #[graphql(default)]
    pub custom_fields: async_graphql::Json<BTreeMap<String, serde_json::Value>>,
    pub external_id: Option<String>,
}

impl ProductFieldsInput {
    fn to_domain(&self) -> Result<ProductFields, Vec<UserError>> {
        let mut errors = Vec::new();
        let category = self
            .category_id
            .as_ref()
            .and_then(|c| input_id("categoryId", c, CATEGORY).map_err(|e| errors.push(e)).ok());
        let kind = guanxi_domain::entity::EntityKind::Attachment.name();
        let images: Vec<uuid::Uuid> = self
            .image_ids
            .iter()
            .enumerate()
            .filter_map(|(i, id)| input_id(&format!("imageIds.{i}"), id, kind).map_err(|e| errors.push(e)).ok())
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ProductFields {
            name: self.name.clone(),
            category_id: category.map(ProductCategoryId::from_uuid),
            kind: self.kind.into(),
            origin: self.origin.into(),
            specification: self.specification.clone(),
            unit: self.unit.clone(),
            list_price: self.list_price,
            cost_price: self.cost_price,
            tax_rate: self.tax_rate.into(),
            description: self.description.clone(),
            image_ids: images,
            custom_fields: self.custom_fields.0.clone(),
            external_id: self.external_id.clone(),
        })
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateProductInput {
    /// The numbering rule's next code when left out.
    pub code: Option<String>,
    #[graphql(flatten)]
    pub fields: ProductFieldsInput,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateProductInput {
    pub id: ID,
    pub expected_version: i32,
    /// Every field, as it should be.
    #[graphql(flatten)]
    pub fields: ProductFieldsInput,
}

#[derive(InputObject)]
pub struct SetProductActiveInput {
    pub id: ID,
    pub expected_version: i32,
    pub active: bool,
}

crate::graphql::error::payload! {
    ProductPayload, product: Product(DomainProduct)
}

#[derive(InputObject, Serialize)]
pub struct PricePolicyInput {
    pub product_id: ID,
    /// A level policy: every customer of this level (客户级别).
    pub customer_level: Option<String>,
    /// A customer's own policy.
    pub customer_id: Option<ID>,
    pub price: Decimal,
    #[graphql(default)]
    pub breaks: Vec<PriceBreak>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

#[derive(InputObject)]
pub struct UpdatePricePolicyInput {
    pub id: ID,
    pub expected_version: i32,
    pub price: Decimal,
    #[graphql(default)]
    pub breaks: Vec<PriceBreak>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

crate::graphql::error::payload! {
    PricePolicyPayload, price_policy: PricePolicy(DomainPolicy)
}

pub(crate) fn breaks(input: &[PriceBreak]) -> Vec<QuantityBreak> {
    input.iter().map(|b| QuantityBreak { min_quantity: b.min_quantity, price: b.price }).collect()
}

async fn product_places(ctx: &Context<'_>) -> ApiResult<guanxi_domain::trade::money::Places> {
    let actor = actor(ctx)?;
    Ok(guanxi_store::platform::tenant::settings(state(ctx).db.connection(), actor.tenant_id)
        .await?
        .decimal_places
        .product)
}

fn errors_of(invalid: guanxi_domain::Invalid) -> Vec<UserError> {
    UserError::all(invalid)
}

#[derive(Default)]
pub struct ProductMutation;

#[Object]
impl ProductMutation {
    /// Adds a product category (`product.manage`).
    async fn create_product_category(
        &self,
        ctx: &Context<'_>,
        input: CreateProductCategoryInput,
    ) -> ApiResult<ProductCategoryPayload> {
        let actor = require(ctx, Permission::ProductManage)?;
        let parent = match input.parent_id.as_ref().map(|p| input_id("parentId", p, CATEGORY)).transpose() {
            Ok(parent) => parent.map(ProductCategoryId::from_uuid),
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = author(ctx, actor);
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::trade::product::create_category(tx, &author, parent, &input.name, input.position).await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Renames, moves or reorders a category.
    async fn update_product_category(
        &self,
        ctx: &Context<'_>,
        input: UpdateProductCategoryInput,
    ) -> ApiResult<ProductCategoryPayload> {
        let actor = require(ctx, Permission::ProductManage)?;
        let id = match input_id("id", &input.id, CATEGORY) {
            Ok(id) => ProductCategoryId::from_uuid(id),
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let parent = match &input.parent_id {
            async_graphql::MaybeUndefined::Undefined => None,
            async_graphql::MaybeUndefined::Null => Some(None),
            async_graphql::MaybeUndefined::Value(p) => match input_id("parentId", p, CATEGORY) {
                Ok(p) => Some(Some(ProductCategoryId::from_uuid(p))),
                Err(e) => return Ok(Err(vec![e]).into()),
            },
        };
        let author = author(ctx, actor);
        let (version, name, position) = (input.expected_version, input.name, input.position);
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::trade::product::update_category(
                    tx,
                    &author,
                    (id, version),
                    name.as_deref(),
                    parent,
                    position,
                )
                .await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Deletes an empty category.
    async fn delete_product_category(
        &self,
        ctx: &Context<'_>,
        input: VersionedIdInput,
    ) -> ApiResult<ProductCategoryPayload> {
        let actor = require(ctx, Permission::ProductManage)?;
        let id = match input_id("id", &input.id, CATEGORY) {
            Ok(id) => ProductCategoryId::from_uuid(id),
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = author(ctx, actor);
        let version = input.expected_version;
        let result = transact(ctx, move |tx| {
            Box::pin(async move { guanxi_store::trade::product::delete_category(tx, &author, (id, version)).await })
        })
        .await?;
        Ok(result.into())
    }

    /// Adds a product (`product.manage`).
    async fn create_product(&self, ctx: &Context<'_>, input: CreateProductInput) -> ApiResult<ProductPayload> {
        let actor = require(ctx, Permission::ProductManage)?.clone();
        let places = product_places(ctx).await?;
        let fields = match input.fields.to_domain().and_then(|f| f.check(places).map_err(errors_of)) {
            Ok(fields) => fields,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let author = author(ctx, &actor);
        let tenant = actor.tenant_id;
        let code = input.code.clone();
        let idempotent = Idempotent::new(&actor, "createProduct", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let mut fields = fields;
                    fields.custom_fields = custom_fields_of(tx, tenant, &fields.custom_fields).await?;
                    let created = guanxi_store::trade::product::create(tx, &author, code.as_deref(), fields).await?;
                    Ok((created.id.uuid(), created))
                })
            },
            move |tx, id| {
                Box::pin(async move {
                    guanxi_store::trade::product::find(tx, tenant, (), id)
                        .await?
                        .ok_or(guanxi_store::StoreError::NotFound)
                })
            },
        )
        .await?;
        Ok(result.into())
    }

    /// Replaces a product's fields (its code stays).
    async fn update_product(&self, ctx: &Context<'_>, input: UpdateProductInput) -> ApiResult<ProductPayload> {
        let actor = require(ctx, Permission::ProductManage)?;
        let places = product_places(ctx).await?;
        let (id, fields) = match (input_id("id", &input.id, PRODUCT), input.fields.to_domain()) {
            (Ok(id), Ok(fields)) => (id, fields),
            (a, b) => return Ok(Err(a.err().into_iter().chain(b.err().into_iter().flatten()).collect()).into()),
        };
        let author = author(ctx, actor);
        let (version, tenant) = (input.expected_version, actor.tenant_id);
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                let mut fields = fields;
                fields.custom_fields = custom_fields_of(tx, tenant, &fields.custom_fields).await?;
                guanxi_store::trade::product::update(tx, &author, (id, version), |_| fields.check(places)).await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Activates or deactivates a product.
    async fn set_product_active(&self, ctx: &Context<'_>, input: SetProductActiveInput) -> ApiResult<ProductPayload> {
        let (version, active) = (input.expected_version, input.active);
        write_by_id(
            ctx,
            Permission::ProductManage,
            (&input.id, PRODUCT),
            |_| (),
            move |tx, author, (), id| {
                Box::pin(
                    async move { guanxi_store::trade::product::set_active(tx, &author, (id, version), active).await },
                )
            },
        )
        .await
    }

    /// Moves a product no document uses to the recycle bin (deactivate a used one).
    async fn delete_product(&self, ctx: &Context<'_>, input: VersionedIdInput) -> ApiResult<ProductPayload> {
        let version = input.expected_version;
        write_by_id(
            ctx,
            Permission::ProductManage,
            (&input.id, PRODUCT),
            |_| (),
            move |tx, author, (), id| {
                Box::pin(async move { guanxi_store::trade::product::delete(tx, &author, (id, version)).await })
            },
        )
        .await
    }

    /// Adds a price policy; one whose days meet another's for the same product and level
    /// (or customer) is a `CONFLICT` naming it.
    async fn create_price_policy(&self, ctx: &Context<'_>, input: PricePolicyInput) -> ApiResult<PricePolicyPayload> {
        let actor = require(ctx, Permission::ProductManage)?;
        let places = product_places(ctx).await?;
        let mut errors = Vec::new();
        let product = input_id("productId", &input.product_id, PRODUCT).map_err(|e| errors.push(e)).ok();
        let target = match (&input.customer_level, &input.customer_id) {
            (None, Some(c)) => input_id("customerId", c, CUSTOMER)
                .map_err(|e| errors.push(e))
                .ok()
                .map(|c| PriceTarget::Customer(CustomerId::from_uuid(c))),
            (Some(level), None) => Some(PriceTarget::Level(level.clone())),
            _ => {
                errors.push(UserError::new("customerLevel", ErrorCode::Invalid, "name a customer level or a customer"));
                None
            }
        };
        let (Some(product), Some(target)) = (product, target) else { return Ok(Err(errors).into()) };
        let terms = PolicyTerms {
            product_id: ProductId::from_uuid(product),
            target,
            price: input.price,
            breaks: breaks(&input.breaks),
            valid_from: input.valid_from,
            valid_to: input.valid_to,
        };
        let terms = match terms.check(places) {
            Ok(terms) => terms,
            Err(invalid) => return Ok(Err(errors_of(invalid)).into()),
        };
        let author = author(ctx, actor);
        let rule = actor.customer_write_rule();
        let result = transact(ctx, move |tx| {
            Box::pin(async move { guanxi_store::trade::pricing::create(tx, &author, rule, terms).await })
        })
        .await?;
        Ok(result.into())
    }

    /// Changes a policy's prices and days.
    async fn update_price_policy(
        &self,
        ctx: &Context<'_>,
        input: UpdatePricePolicyInput,
    ) -> ApiResult<PricePolicyPayload> {
        let places = product_places(ctx).await?;
        let version = input.expected_version;
        let scope = |actor: &guanxi_domain::platform::access::Actor| actor.customer_write_rule();
        write_by_id(ctx, Permission::ProductManage, (&input.id, POLICY), scope, move |tx, author, rule, id| {
            Box::pin(async move {
                guanxi_store::trade::pricing::update(tx, &author, rule, (id, version), |current| {
                    PolicyTerms {
                        price: input.price,
                        breaks: breaks(&input.breaks),
                        valid_from: input.valid_from,
                        valid_to: input.valid_to,
                        ..current.terms.clone()
                    }
                    .check(places)
                })
                .await
            })
        })
        .await
    }

    /// Ends a price policy.
    async fn delete_price_policy(&self, ctx: &Context<'_>, input: VersionedIdInput) -> ApiResult<PricePolicyPayload> {
        let version = input.expected_version;
        let scope = |actor: &guanxi_domain::platform::access::Actor| actor.customer_write_rule();
        write_by_id(ctx, Permission::ProductManage, (&input.id, POLICY), scope, move |tx, author, rule, id| {
            Box::pin(async move { guanxi_store::trade::pricing::delete(tx, &author, rule, (id, version)).await })
        })
        .await
    }
}
