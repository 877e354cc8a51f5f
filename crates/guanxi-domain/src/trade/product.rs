//! The product catalogue (产品管理): tangible and intangible goods, services and training,
//! made, bought or sold on consignment, in a tree of categories.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{ProductCategoryId, ProductId, TenantId};
use crate::trade::money::{Places, TaxRate};

text_enum! {
    /// What a product is.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum ProductKind {
        Tangible => "TANGIBLE", "有形产品";
        Intangible => "INTANGIBLE", "无形产品";
        Service => "SERVICE", "服务";
        Training => "TRAINING", "培训";
    }
}

text_enum! {
    /// Where a product comes from.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum ProductOrigin {
        Made => "MADE", "自制";
        Bought => "BOUGHT", "外购";
        Consignment => "CONSIGNMENT", "代销";
    }
}

/// What a user writes of a product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductFields {
    pub name: String,
    pub category_id: Option<ProductCategoryId>,
    pub kind: ProductKind,
    pub origin: ProductOrigin,
    /// 规格型号.
    pub specification: Option<String>,
    /// 单位: 台, 套, 次, 人天…
    pub unit: String,
    pub list_price: Decimal,
    pub cost_price: Option<Decimal>,
    pub tax_rate: TaxRate,
    pub description: Option<String>,
    /// Uploaded images, in order.
    pub image_ids: Vec<uuid::Uuid>,
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// The ERP's id for the product.
    pub external_id: Option<String>,
}

fn text(field: &str, value: &str, max: usize, invalid: &mut Invalid) {
    if value.trim().is_empty() {
        invalid.push(FieldError::new(field, ErrorCode::Required, format!("{field} is required")));
    } else if value.chars().count() > max {
        invalid.push(FieldError::new(field, ErrorCode::Invalid, format!("{field} is at most {max} characters")));
    }
}

fn optional_text(field: &str, value: &mut Option<String>, max: usize, invalid: &mut Invalid) {
    *value = value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    if let Some(v) = value {
        text(field, v, max, invalid);
    }
}

impl ProductFields {
    /// The fields trimmed, when each fits; prices are checked against the product places.
    pub fn check(mut self, places: Places) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        self.name = self.name.trim().to_owned();
        text("name", &self.name, 100, &mut invalid);
        self.unit = self.unit.trim().to_owned();
        text("unit", &self.unit, 10, &mut invalid);
        optional_text("specification", &mut self.specification, 100, &mut invalid);
        optional_text("description", &mut self.description, 2000, &mut invalid);
        optional_text("externalId", &mut self.external_id, 64, &mut invalid);
        for (field, price) in [("listPrice", Some(self.list_price)), ("costPrice", self.cost_price)] {
            let Some(price) = price else { continue };
            if price < Decimal::ZERO || price > Decimal::from(100_000_000_000_i64) {
                invalid.push(FieldError::new(field, ErrorCode::Invalid, "a price is 0 to 100 billion"));
            }
            invalid.check(places.check(field, price));
        }
        if self.image_ids.len() > 20 {
            invalid.push(FieldError::new("imageIds", ErrorCode::Invalid, "at most 20 images"));
        }
        invalid.into_result()?;
        Ok(self)
    }
}

/// A product as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub tenant_id: TenantId,
    /// 产品编号: from the numbering rule, or given.
    pub code: String,
    /// 助记码 of the name.
    pub mnemonic_code: String,
    pub fields: ProductFields,
    /// An inactive product stays on old documents but is not offered on new ones.
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A category of products; categories form a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductCategory {
    pub id: ProductCategoryId,
    pub parent_id: Option<ProductCategoryId>,
    pub name: String,
    pub position: i32,
    pub version: i32,
}

/// A category and every category above it, nearest first (a cycle stops the walk).
pub fn lineage(categories: &[ProductCategory], start: ProductCategoryId) -> Vec<ProductCategoryId> {
    let mut chain = vec![];
    let mut next = Some(start);
    while let Some(at) = next.filter(|at| !chain.contains(at)) {
        chain.push(at);
        next = categories.iter().find(|c| c.id == at).and_then(|c| c.parent_id);
    }
    chain
}

/// A product code given by a user: letters, digits, dashes, dots and underscores.
pub fn check_code(code: &str) -> Result<String, FieldError> {
    let code = code.trim();
    let ok = !code.is_empty()
        && code.chars().count() <= 40
        && code.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if !ok {
        return Err(FieldError::new(
            "code",
            ErrorCode::Invalid,
            "a code of 1 to 40 letters, digits, dashes, dots, slashes or underscores",
        ));
    }
    Ok(code.to_owned())
}

/// The search tokens of a product: its name's tokens (as a customer's, see
/// `customers::customer::search_tokens`) and its code (`c:`, upper-case, the first 20
/// characters), whose prefixes a search reads as a range.
pub fn search_tokens(name: &str, code: &str) -> Vec<String> {
    let mut tokens = crate::customers::customer::search_tokens(name, &[], None);
    tokens.push(format!("c:{}", code.to_uppercase().chars().take(20).collect::<String>()));
    tokens.sort();
    tokens.dedup();
    tokens
}

/// The code prefix a product search text may match besides the name (`c:`, a range).
pub fn code_token(query: &str) -> Option<String> {
    let q = query.trim();
    (!q.is_empty() && q.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')))
        .then(|| format!("c:{}", q.to_uppercase().chars().take(20).collect::<String>()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn fields() -> ProductFields {
        ProductFields {
            name: " 格力空调 KFR-35 ".into(),
            category_id: None,
            kind: ProductKind::Tangible,
            origin: ProductOrigin::Bought,
            specification: Some("  ".into()),
            unit: "台".into(),
            list_price: "3299.00".parse().unwrap(),
            cost_price: None,
            tax_rate: TaxRate::Vat13,
            description: None,
            image_ids: vec![],
            custom_fields: BTreeMap::new(),
            external_id: None,
        }
    }

    #[test]
    fn fields_are_trimmed_and_prices_fit_the_places() {
        let checked = fields().check(Places::default()).unwrap();
        assert_eq!((checked.name.as_str(), checked.specification), ("格力空调 KFR-35", None));
        let mut bad = fields();
        bad.list_price = "1.001".parse().unwrap();
        bad.cost_price = Some("-1".parse().unwrap());
        bad.unit = String::new();
        let errors = bad.check(Places::default()).unwrap_err();
        let found: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(found, ["unit", "listPrice", "costPrice"]);
    }

    #[test]
    fn products_are_found_by_name_mnemonic_and_code_prefix() {
        let tokens = search_tokens("格力空调", "KFR-35gw");
        // 格 and 调 have other readings (hé/luò, diào): each reading's whole code is a token.
        let codes = ["m:glkd", "m:glkt", "m:hlkd", "m:hlkt", "m:llkd", "m:llkt"];
        let names = ["n:力空", "n:格力", "n:空调", "n:调"];
        assert_eq!(tokens, [&["c:KFR-35GW"][..], &codes, &names].concat());
        assert_eq!(code_token(" kfr-3 ").as_deref(), Some("c:KFR-3"));
        assert_eq!(code_token("空调"), None);
        assert!(check_code("A B").is_err());
        assert_eq!(check_code(" P-001 ").unwrap(), "P-001");
    }
}
