//! `upsertProducts` and `upsertPricePolicies`: an ERP's product master (存货档案) and its
//! price lists by external key, through the upsert kit (`integration::upsert`) and the
//! store's set-based `product_upsert` and `pricing_upsert`.

use std::collections::HashMap;

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object};
use chrono::NaiveDate;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{CustomerId, ProductCategoryId, ProductId};
use guanxi_domain::platform::access::Permission;
use guanxi_domain::platform::upsert;
use guanxi_domain::trade::pricing::{PolicyTerms, PriceTarget};
use guanxi_domain::trade::product::ProductFields;
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use guanxi_store::trade::product_upsert::{Edit, UpsertRow};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::graphql::context::{author, require};
use crate::graphql::error::ApiResult;
use crate::graphql::integration::upsert::{
    UpsertMode, UpsertPayload, check_call, custom_fields, keys_named, named_each, run,
};
use crate::graphql::relay::input_id;
use crate::graphql::trade::document::TaxRate;
use crate::graphql::trade::product::{CATEGORY, PriceBreak, ProductKind, ProductOrigin, breaks};

/// One product of an upsert call: its key and the fields to set. A new product needs
/// `name`, `kind`, `origin`, `unit` and `listPrice`; a stored one changes only the fields
/// given (`null` clears an optional one). Images stay as uploaded in Guanxi.
#[derive(InputObject, Serialize)]
pub struct ProductUpsertRecord {
    /// The product's key in the source system (an ERP inventory code, 存货编码).
    pub external_id: String,
    /// A new product's code (产品编号); left out, the numbering rule's next. A stored
    /// product keeps its code: another one is `ILLEGAL_STATE`.
    pub code: Option<String>,
    pub name: Option<String>,
    pub category_id: MaybeUndefined<ID>,
    pub kind: Option<ProductKind>,
    pub origin: Option<ProductOrigin>,
    pub specification: MaybeUndefined<String>,
    /// 台, 套, 次, 人天…
    pub unit: Option<String>,
    /// At most the tenant's product decimal places.
    pub list_price: Option<Decimal>,
    pub cost_price: MaybeUndefined<Decimal>,
    /// A new product's default is 13%.
    pub tax_rate: Option<TaxRate>,
    pub description: MaybeUndefined<String>,
    /// Values of tenant-defined fields, by key; keys not given stay.
    pub custom_fields: Option<Json<Value>>,
}

#[derive(InputObject, Serialize)]
pub struct UpsertProductsInput {
    /// The system the keys come from, e.g. `kingdee`, `u8`, `sap`.
    pub source: String,
    /// At most 1,000 records.
    pub records: Vec<ProductUpsertRecord>,
    #[graphql(default_with = "UpsertMode::Partial")]
    pub mode: UpsertMode,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(Default)]
pub struct ProductUpsertMutation;

#[Object]
impl ProductUpsertMutation {
    /// Creates or updates up to 1,000 products by `(source, externalId)`: no product with
    /// the key creates one, one updates it, and an identical record writes nothing. Each
    /// row passes the checks `createProduct` and `updateProduct` make (a unique code, the
    /// category, decimal places, custom fields), in one transaction with the change
    /// events. Needs `product.manage`.
    async fn upsert_products(&self, ctx: &Context<'_>, input: UpsertProductsInput) -> ApiResult<UpsertPayload> {
        let actor = require(ctx, Permission::ProductManage)?.clone();
        let source = check_call(&input.source, input.records.len())?;
        let author = author(ctx, &actor);
        let mode = input.mode.into();
        let hashed = serde_json::to_value(&input).unwrap_or_default();
        let key_source = source.clone();
        run(
            ctx,
            &actor,
            ("upsertProducts", EntityKind::Product),
            (input.idempotency_key.as_deref(), &hashed),
            source,
            move |tx| {
                Box::pin(async move {
                    let rows = input
                        .records
                        .into_iter()
                        .map(|record| UpsertRow {
                            external_id: record.external_id.trim().to_owned(),
                            code: record.code.clone(),
                            edit: record.edit(),
                        })
                        .collect();
                    guanxi_store::trade::product_upsert::upsert(tx, &author, (&key_source, mode), rows).await
                })
            },
        )
        .await
    }

    /// Creates or updates up to 1,000 price policies by `(source, externalId)`. A new
    /// policy names its product (`productId` or `productExternalId`) and its target (a
    /// `customerLevel`, or a customer by `customerId` or `customerExternalId`), which it
    /// keeps; the keys are looked up in the same source. Each row passes the checks
    /// `createPricePolicy` and `updatePricePolicy` make, the overlap rule included (no two
    /// policies of one product and target on the same day, as the call leaves them: the
    /// stored policies' changes count first, then new policies in call order). Needs `product.manage`; a customer's own policy needs the
    /// customer in the caller's scope for writing.
    async fn upsert_price_policies(
        &self,
        ctx: &Context<'_>,
        input: UpsertPricePoliciesInput,
    ) -> ApiResult<UpsertPayload> {
        let actor = require(ctx, Permission::ProductManage)?.clone();
        let source = check_call(&input.source, input.records.len())?;
        let author = author(ctx, &actor);
        let (mode, rule) = (input.mode.into(), actor.customer_write_rule());
        let hashed = serde_json::to_value(&input).unwrap_or_default();
        let key_source = source.clone();
        let products = keys_named(&input.records, |r| r.product_external_id.as_ref());
        let customers = keys_named(&input.records, |r| r.customer_external_id.as_ref());
        run(
            ctx,
            &actor,
            ("upsertPricePolicies", EntityKind::PricePolicy),
            (input.idempotency_key.as_deref(), &hashed),
            source,
            move |tx| {
                Box::pin(async move {
                    let wanted = [(EntityKind::Product, products), (EntityKind::Customer, customers)];
                    let [products, customers] = named_each(tx, author.tenant_id, &key_source, wanted).await?;
                    let rows = input
                        .records
                        .into_iter()
                        .map(|record| guanxi_store::trade::pricing_upsert::UpsertRow {
                            external_id: record.external_id.trim().to_owned(),
                            edit: record.edit(&products, &customers),
                        })
                        .collect();
                    guanxi_store::trade::pricing_upsert::upsert(tx, &author, rule, (&key_source, mode), rows).await
                })
            },
        )
        .await
    }
}

/// One price policy of an upsert call: its key, and for a new policy its product and
/// target; a stored policy changes only the terms given.
#[derive(InputObject, Serialize)]
pub struct PricePolicyUpsertRecord {
    /// The policy's key in the source system (an ERP price-list line).
    pub external_id: String,
    /// A new policy's product by id…
    pub product_id: Option<ID>,
    /// …or by its key in the same source.
    pub product_external_id: Option<String>,
    /// A level policy: every customer of this level (客户级别)…
    pub customer_level: Option<String>,
    /// …or a customer's own, by id…
    pub customer_id: Option<ID>,
    /// …or by the customer's key in the same source.
    pub customer_external_id: Option<String>,
    /// Required for a new policy.
    pub price: Option<Decimal>,
    /// Replaces the breaks when given.
    pub breaks: Option<Vec<PriceBreak>>,
    /// Required for a new policy.
    pub valid_from: Option<NaiveDate>,
    /// Open-ended when null.
    pub valid_to: MaybeUndefined<NaiveDate>,
}

#[derive(InputObject, Serialize)]
pub struct UpsertPricePoliciesInput {
    /// The system the keys come from; products and customers named by key are looked up
    /// in it too.
    pub source: String,
    /// At most 1,000 records.
    pub records: Vec<PricePolicyUpsertRecord>,
    #[graphql(default_with = "UpsertMode::Partial")]
    pub mode: UpsertMode,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// A record's reference by id or by key in the source (`named`), or `None` when it gives
/// neither.
pub(crate) fn reference(
    (field, id, kind): (&str, Option<&ID>, EntityKind),
    (key_field, key): (&str, Option<&String>),
    named: &HashMap<String, Uuid>,
) -> Option<Result<Uuid, Invalid>> {
    match (id, key) {
        (None, None) => None,
        (Some(_), Some(_)) => {
            Some(Err(Invalid::one(field, ErrorCode::Invalid, format!("give {field} or {key_field}, not both"))))
        }
        (Some(id), None) => {
            Some(input_id(field, id, kind.name()).map_err(|e| Invalid::one(field, ErrorCode::Invalid, e.message)))
        }
        (None, Some(key)) => Some(named.get(key.trim()).copied().ok_or_else(|| {
            Invalid::one(key_field, ErrorCode::NotFound, "no record of that kind has this key in this source")
        })),
    }
}

/// A value given, cleared (`null`) or left out.
pub(crate) fn patched<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    value.into()
}

/// Text given, cleared (`null` or blank) or left out, trimmed.
pub(crate) fn patched_text(value: MaybeUndefined<String>) -> Option<Option<String>> {
    patched(value).map(|t| t.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()))
}

/// An optional link by id (`null` clears it) or by key in the source: `None` left out,
/// `Some(None)` cleared; a bad one is answered in `invalid`.
pub(crate) fn optional_reference(
    (field, id, kind): (&str, MaybeUndefined<ID>, EntityKind),
    (key_field, key): (&str, Option<&String>),
    named: &HashMap<String, Uuid>,
    invalid: &mut Invalid,
) -> Option<Option<Uuid>> {
    match (patched(id), key) {
        (Some(None), None) => Some(None),
        (id, key) => reference((field, id.flatten().as_ref(), kind), (key_field, key), named)
            .and_then(|r| r.map_err(|e| invalid.0.extend(e.0)).ok())
            .map(Some),
    }
}

/// An optional id (`null` clears it) of a `kind` (a GraphQL type name); a bad one is
/// answered in `invalid`.
pub(crate) fn optional_id(
    field: &str,
    id: MaybeUndefined<ID>,
    kind: &str,
    invalid: &mut Invalid,
) -> Option<Option<Uuid>> {
    patched(id).map(|id| {
        id.and_then(|id| {
            input_id(field, &id, kind)
                .map_err(|e| invalid.push(guanxi_domain::FieldError::new(field, ErrorCode::Invalid, e.message)))
                .ok()
        })
    })
}

/// A value a new record must give and a stored one keeps: the stored value when none is
/// given, an error when another is.
fn kept<T: PartialEq>(
    (field, what): (&str, &str),
    given: Option<Result<T, Invalid>>,
    stored: Option<T>,
    invalid: &mut Invalid,
) -> Option<T> {
    match (given, stored) {
        (Some(Err(e)), _) => {
            invalid.0.extend(e.0);
            None
        }
        (Some(Ok(given)), Some(stored)) if given != stored => {
            invalid.push(FieldError::new(field, ErrorCode::IllegalState, format!("a price policy keeps its {what}")));
            None
        }
        (Some(Ok(value)), _) | (None, Some(value)) => Some(value),
        (None, None) => {
            invalid.push(FieldError::new(field, ErrorCode::Required, format!("a new price policy needs its {what}")));
            None
        }
    }
}

impl PricePolicyUpsertRecord {
    /// The record's terms over the stored policy's (products and customers named by key
    /// already looked up), then the domain's checks.
    fn edit(
        self,
        products: &HashMap<String, Uuid>,
        customers: &HashMap<String, Uuid>,
    ) -> guanxi_store::trade::pricing_upsert::Edit {
        let product = reference(
            ("productId", self.product_id.as_ref(), EntityKind::Product),
            ("productExternalId", self.product_external_id.as_ref()),
            products,
        )
        .map(|p| p.map(ProductId::from_uuid));
        let customer = reference(
            ("customerId", self.customer_id.as_ref(), EntityKind::Customer),
            ("customerExternalId", self.customer_external_id.as_ref()),
            customers,
        );
        let target = match (self.customer_level.clone(), customer) {
            (None, None) => None,
            (Some(level), None) => Some(Ok(PriceTarget::Level(level.trim().to_owned()))),
            (None, Some(c)) => Some(c.map(|c| PriceTarget::Customer(CustomerId::from_uuid(c)))),
            (Some(_), Some(_)) => Some(Err(Invalid::one(
                "customerLevel",
                ErrorCode::Invalid,
                "name a customer level or a customer, not both",
            ))),
        };
        Box::new(move |current, places| {
            let mut invalid = Invalid::default();
            invalid.check(upsert::parse_external_id("externalId", &self.external_id));
            let product = kept(("productId", "product"), product, current.map(|c| c.product_id), &mut invalid);
            let target = kept(("customerLevel", "target"), target, current.map(|c| c.target.clone()), &mut invalid);
            let price = kept(("price", "price"), None, self.price.or(current.map(|c| c.price)), &mut invalid);
            let valid_from =
                kept(("validFrom", "first day"), None, self.valid_from.or(current.map(|c| c.valid_from)), &mut invalid);
            let (Some(product_id), Some(target), Some(price), Some(valid_from), true) =
                (product, target, price, valid_from, invalid.is_empty())
            else {
                return Err(invalid);
            };
            PolicyTerms {
                product_id,
                target,
                price,
                breaks: self
                    .breaks
                    .as_deref()
                    .map_or_else(|| current.map(|c| c.breaks.clone()).unwrap_or_default(), breaks),
                valid_from,
                valid_to: match self.valid_to {
                    MaybeUndefined::Undefined => current.and_then(|c| c.valid_to),
                    MaybeUndefined::Null => None,
                    MaybeUndefined::Value(to) => Some(to),
                },
            }
            .check(places)
        })
    }
}

impl ProductUpsertRecord {
    /// The record's fields over the stored product's (or a new product's required ones),
    /// custom fields checked, then the domain's checks.
    fn edit(self) -> Edit {
        Box::new(move |current, definitions, places| {
            let mut invalid = Invalid::default();
            invalid.check(upsert::parse_external_id("externalId", &self.external_id));
            let mut required = |field: &str, given: bool| {
                if !given && current.is_none() {
                    invalid.push(FieldError::new(field, ErrorCode::Required, format!("a new product needs {field}")));
                }
            };
            required("name", self.name.is_some());
            required("kind", self.kind.is_some());
            required("origin", self.origin.is_some());
            required("unit", self.unit.is_some());
            required("listPrice", self.list_price.is_some());
            let category = match &self.category_id {
                MaybeUndefined::Undefined => current.and_then(|c| c.category_id),
                MaybeUndefined::Null => None,
                MaybeUndefined::Value(id) => input_id("categoryId", id, CATEGORY)
                    .map(ProductCategoryId::from_uuid)
                    .map_err(|e| invalid.push(FieldError::new("categoryId", ErrorCode::Invalid, e.message)))
                    .ok(),
            };
            let custom = custom_fields(&self.custom_fields, current.map(|c| &c.custom_fields), definitions)
                .map_err(|e| invalid.0.extend(e.0))
                .ok();
            let kind = self.kind.map(Into::into).or(current.map(|c| c.kind));
            let origin = self.origin.map(Into::into).or(current.map(|c| c.origin));
            let (Some(custom_fields), Some(kind), Some(origin), true) = (custom, kind, origin, invalid.is_empty())
            else {
                return Err(invalid);
            };
            let or_stored = |given: MaybeUndefined<String>, stored: Option<&Option<String>>| match given {
                MaybeUndefined::Undefined => stored.cloned().flatten(),
                MaybeUndefined::Null => None,
                MaybeUndefined::Value(v) => Some(v),
            };
            let fields = ProductFields {
                name: self.name.or_else(|| current.map(|c| c.name.clone())).unwrap_or_default(),
                category_id: category,
                kind,
                origin,
                specification: or_stored(self.specification, current.map(|c| &c.specification)),
                unit: self.unit.or_else(|| current.map(|c| c.unit.clone())).unwrap_or_default(),
                list_price: self.list_price.or(current.map(|c| c.list_price)).unwrap_or_default(),
                cost_price: match self.cost_price {
                    MaybeUndefined::Undefined => current.and_then(|c| c.cost_price),
                    MaybeUndefined::Null => None,
                    MaybeUndefined::Value(v) => Some(v),
                },
                tax_rate: self
                    .tax_rate
                    .map(Into::into)
                    .or(current.map(|c| c.tax_rate))
                    .unwrap_or(guanxi_domain::trade::money::TaxRate::Vat13),
                description: or_stored(self.description, current.map(|c| &c.description)),
                image_ids: current.map(|c| c.image_ids.clone()).unwrap_or_default(),
                custom_fields,
                external_id: current.and_then(|c| c.external_id.clone()),
            };
            fields.check(places)
        })
    }
}
