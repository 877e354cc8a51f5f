//! `upsertProducts`: an ERP's product master (存货档案) by external key, through the
//! upsert kit (`integration::upsert`) and the store's set-based `product_upsert`.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::ProductCategoryId;
use guanxi_domain::platform::access::Permission;
use guanxi_domain::platform::upsert;
use guanxi_domain::trade::product::ProductFields;
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use guanxi_store::trade::product_upsert::{Edit, UpsertRow};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use crate::graphql::context::{author, require};
use crate::graphql::error::ApiResult;
use crate::graphql::integration::upsert::{UpsertMode, UpsertPayload, check_call, custom_fields, run};
use crate::graphql::relay::input_id;
use crate::graphql::trade::document::TaxRate;
use crate::graphql::trade::product::{CATEGORY, ProductKind, ProductOrigin};

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
