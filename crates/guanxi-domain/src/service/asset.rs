//! What a customer owns and what pays for its repair: assets (客户资产), service
//! contracts (服务合同), and the coverage (保修判定) a work order derives from them.
//!
//! Coverage is decided on the day a work order is reported: an asset under its warranty
//! is covered for parts and labour; otherwise a service contract in force that names the
//! asset, its product, or (naming neither) every asset of the customer covers what its
//! fee rules say; otherwise nothing is covered and the customer pays.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{AssetId, CustomerId, ProductId, ServiceContractId, UserId};

text_enum! {
    /// What pays for a work order.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum CoverageKind {
        /// 保修期内: the asset's warranty runs on the day reported.
        Warranty => "WARRANTY", "保修";
        /// 服务合同: a service contract in force covers the asset.
        ServiceContract => "SERVICE_CONTRACT", "服务合同";
        /// 自费: nothing covers it.
        None => "NONE", "自费";
    }
}

/// A product a customer owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asset {
    pub id: AssetId,
    pub customer_id: CustomerId,
    pub fields: AssetFields,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// An asset's editable fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetFields {
    pub product_id: ProductId,
    /// The maker's serial number (序列号); unique per product when given.
    pub serial_number: Option<String>,
    pub purchased_on: Option<NaiveDate>,
    /// The last day of the warranty (保修截止).
    pub warranty_ends_on: Option<NaiveDate>,
    /// Where it is installed (安装地址).
    pub address: Option<String>,
    /// The sales order or contract it came from.
    pub order_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub note: Option<String>,
}

impl AssetFields {
    /// Every bad field at once; texts come back trimmed.
    pub fn check(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        self.serial_number = trimmed(self.serial_number);
        self.address = trimmed(self.address);
        self.note = trimmed(self.note);
        for (field, text, max) in
            [("serialNumber", &self.serial_number, 60), ("address", &self.address, 200), ("note", &self.note, 500)]
        {
            if text.as_ref().is_some_and(|t| t.chars().count() > max) {
                invalid.push(FieldError::new(field, ErrorCode::Invalid, format!("at most {max} characters")));
            }
        }
        if let (Some(bought), Some(ends)) = (self.purchased_on, self.warranty_ends_on)
            && ends < bought
        {
            invalid.push(FieldError::new(
                "warrantyEndsOn",
                ErrorCode::Invalid,
                "the warranty ends before the purchase",
            ));
        }
        invalid.into_result().map(|()| self)
    }

    /// Whether the warranty runs on `day`.
    pub fn under_warranty(&self, day: NaiveDate) -> bool {
        self.warranty_ends_on.is_some_and(|ends| day <= ends)
    }
}

fn trimmed(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// A service contract (服务合同) with a customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceContract {
    pub id: ServiceContractId,
    pub number: String,
    pub customer_id: CustomerId,
    pub owner_id: Option<UserId>,
    pub terms: ServiceTerms,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// What a service contract covers, for how long, and at what level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTerms {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// The service level (服务级别), e.g. 金牌 7×24.
    pub level: String,
    /// The covered assets; with `product_ids`, both empty means every asset of the customer.
    pub asset_ids: Vec<AssetId>,
    /// Every asset of these products is covered.
    pub product_ids: Vec<ProductId>,
    /// Whether parts (备件) are free under the contract.
    pub covers_parts: bool,
    /// Whether labour (人工) is free under the contract.
    pub covers_labour: bool,
    /// The service levels it promises, over the tenant's own (per priority).
    pub sla: Option<crate::service::sla::SlaPolicy>,
    pub note: Option<String>,
}

/// The most assets or products one service contract names.
pub const MAX_COVERED: usize = 200;

impl ServiceTerms {
    pub fn check(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        self.level = self.level.trim().to_owned();
        self.note = trimmed(self.note);
        if self.level.is_empty() || self.level.chars().count() > 40 {
            invalid.push(FieldError::new("level", ErrorCode::Invalid, "a service level of 1 to 40 characters"));
        }
        if self.ends_on < self.starts_on {
            invalid.push(FieldError::new("endsOn", ErrorCode::Invalid, "the contract ends before it starts"));
        } else if (self.ends_on - self.starts_on).num_days() > 3660 {
            invalid.push(FieldError::new("endsOn", ErrorCode::Invalid, "a service contract runs at most ten years"));
        }
        self.asset_ids.sort_by_key(|a| a.uuid());
        self.asset_ids.dedup();
        self.product_ids.sort_by_key(|p| p.uuid());
        self.product_ids.dedup();
        if self.asset_ids.len() > MAX_COVERED || self.product_ids.len() > MAX_COVERED {
            invalid.push(FieldError::new(
                "assetIds",
                ErrorCode::Invalid,
                format!("at most {MAX_COVERED} assets and {MAX_COVERED} products"),
            ));
        }
        if self.note.as_ref().is_some_and(|t| t.chars().count() > 500) {
            invalid.push(FieldError::new("note", ErrorCode::Invalid, "at most 500 characters"));
        }
        if let Some(sla) = self.sla.take() {
            match sla.check() {
                Ok(sla) => self.sla = Some(sla),
                Err(e) => {
                    invalid.0.extend(e.0.into_iter().map(|f| FieldError { field: format!("sla.{}", f.field), ..f }))
                }
            }
        }
        invalid.into_result().map(|()| self)
    }

    /// Whether the contract is in force on `day` and covers `asset` (of `product`).
    pub fn covers(&self, day: NaiveDate, asset: Option<AssetId>, product: Option<ProductId>) -> bool {
        let in_force = self.starts_on <= day && day <= self.ends_on;
        let everything = self.asset_ids.is_empty() && self.product_ids.is_empty();
        let named = asset.is_some_and(|a| self.asset_ids.contains(&a))
            || product.is_some_and(|p| self.product_ids.contains(&p));
        in_force && (everything || named)
    }
}

/// What covers a work order, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Coverage {
    pub kind: CoverageKind,
    pub service_contract_id: Option<ServiceContractId>,
    pub parts_covered: bool,
    pub labour_covered: bool,
    /// In words, for the agent and the customer: 在保（保修至 2027-03-31）.
    pub reason: String,
}

/// Decides what covers a work order reported on `day` for `asset` (its fields) or a bare
/// `product`, given the customer's live service contracts. A warranty wins; among
/// contracts, the one that covers most (parts and labour), then the earliest number.
pub fn coverage(
    day: NaiveDate,
    asset: Option<(AssetId, &AssetFields)>,
    product: Option<ProductId>,
    contracts: &[ServiceContract],
) -> Coverage {
    if let Some((_, fields)) = asset
        && fields.under_warranty(day)
    {
        let ends = fields.warranty_ends_on.map(|d| d.to_string()).unwrap_or_default();
        return Coverage {
            kind: CoverageKind::Warranty,
            service_contract_id: None,
            parts_covered: true,
            labour_covered: true,
            reason: format!("在保（保修至 {ends}）"),
        };
    }
    let product = asset.map(|(_, f)| f.product_id).or(product);
    let best = contracts.iter().filter(|c| c.terms.covers(day, asset.map(|(id, _)| id), product)).max_by(|a, b| {
        let rank = |c: &ServiceContract| u8::from(c.terms.covers_parts) + u8::from(c.terms.covers_labour);
        rank(a).cmp(&rank(b)).then_with(|| b.number.cmp(&a.number))
    });
    if let Some(contract) = best {
        let t = &contract.terms;
        let what = match (t.covers_parts, t.covers_labour) {
            (true, true) => "备件和人工免费",
            (true, false) => "备件免费，人工收费",
            (false, true) => "人工免费，备件收费",
            (false, false) => "备件和人工收费",
        };
        return Coverage {
            kind: CoverageKind::ServiceContract,
            service_contract_id: Some(contract.id),
            parts_covered: t.covers_parts,
            labour_covered: t.covers_labour,
            reason: format!("服务合同 {}（{}，{} 至 {}）：{what}", contract.number, t.level, t.starts_on, t.ends_on),
        };
    }
    let reason = match asset {
        Some((_, fields)) => match fields.warranty_ends_on {
            Some(ends) => format!("已过保（保修至 {ends}），无有效服务合同"),
            None => "无保修信息，无有效服务合同".to_owned(),
        },
        None if product.is_some() => "未登记资产，无有效服务合同".to_owned(),
        None => "未指明产品，无有效服务合同".to_owned(),
    };
    Coverage {
        kind: CoverageKind::None,
        service_contract_id: None,
        parts_covered: false,
        labour_covered: false,
        reason,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn asset(product: ProductId, warranty: Option<&str>) -> AssetFields {
        AssetFields {
            product_id: product,
            serial_number: Some("SN-1".into()),
            purchased_on: Some(day("2025-01-10")),
            warranty_ends_on: warranty.map(day),
            address: None,
            order_id: None,
            contract_id: None,
            note: None,
        }
    }

    fn contract(
        number: &str,
        parts: bool,
        labour: bool,
        assets: Vec<AssetId>,
        products: Vec<ProductId>,
    ) -> ServiceContract {
        let now = Utc::now();
        ServiceContract {
            id: ServiceContractId::new(),
            number: number.into(),
            customer_id: CustomerId::new(),
            owner_id: None,
            terms: ServiceTerms {
                starts_on: day("2026-01-01"),
                ends_on: day("2026-12-31"),
                level: "金牌".into(),
                asset_ids: assets,
                product_ids: products,
                covers_parts: parts,
                covers_labour: labour,
                sla: None,
                note: None,
            },
            version: 1,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        }
    }

    #[test]
    fn warranty_wins_and_ends_on_its_last_day() {
        let product = ProductId::new();
        let id = AssetId::new();
        let fields = asset(product, Some("2026-06-30"));
        let paid = contract("FW1", false, false, vec![], vec![]);
        let on_last_day = coverage(day("2026-06-30"), Some((id, &fields)), None, std::slice::from_ref(&paid));
        assert_eq!(on_last_day.kind, CoverageKind::Warranty);
        assert!(on_last_day.parts_covered && on_last_day.labour_covered);
        let after = coverage(day("2026-07-01"), Some((id, &fields)), None, &[paid]);
        assert_eq!(after.kind, CoverageKind::ServiceContract);
        assert!(!after.parts_covered && !after.labour_covered);
        assert!(after.reason.contains("FW1"), "{}", after.reason);
    }

    #[test]
    fn a_contract_covers_what_it_names_while_in_force_and_the_widest_wins() {
        let product = ProductId::new();
        let (id, other) = (AssetId::new(), AssetId::new());
        let fields = asset(product, None);
        // (contracts, day, coverage, parts covered, labour covered)
        type Row = (Vec<ServiceContract>, &'static str, Option<CoverageKind>, bool, bool);
        let table: &[Row] = &[
            (
                vec![contract("A", true, false, vec![id], vec![])],
                "2026-03-01",
                Some(CoverageKind::ServiceContract),
                true,
                false,
            ),
            (vec![contract("A", true, true, vec![other], vec![])], "2026-03-01", None, false, false),
            (
                vec![contract("A", false, true, vec![], vec![product])],
                "2026-03-01",
                Some(CoverageKind::ServiceContract),
                false,
                true,
            ),
            (vec![contract("A", true, true, vec![], vec![])], "2027-01-01", None, false, false),
            (vec![contract("A", true, true, vec![], vec![])], "2025-12-31", None, false, false),
            (
                vec![contract("A", true, false, vec![], vec![]), contract("B", true, true, vec![id], vec![])],
                "2026-03-01",
                Some(CoverageKind::ServiceContract),
                true,
                true,
            ),
        ];
        for (contracts, on, kind, parts, labour) in table {
            let c = coverage(day(on), Some((id, &fields)), None, contracts);
            assert_eq!(c.kind, kind.unwrap_or(CoverageKind::None), "{on} {contracts:?}");
            assert_eq!((c.parts_covered, c.labour_covered), (*parts, *labour), "{on}");
            assert!(!c.reason.is_empty());
        }
    }

    #[test]
    fn a_bare_product_is_matched_by_product_contracts() {
        let product = ProductId::new();
        let c = coverage(day("2026-05-01"), None, Some(product), &[contract("A", true, true, vec![], vec![product])]);
        assert_eq!(c.kind, CoverageKind::ServiceContract);
        let none = coverage(day("2026-05-01"), None, None, &[]);
        assert_eq!(none.kind, CoverageKind::None);
        assert_eq!(none.reason, "未指明产品，无有效服务合同");
    }

    #[test]
    fn asset_and_terms_checks_list_every_bad_field() {
        let mut fields = asset(ProductId::new(), Some("2024-01-01"));
        fields.serial_number = Some("x".repeat(61));
        let errors = fields.check().unwrap_err();
        let names: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, ["serialNumber", "warrantyEndsOn"]);
        let mut terms = contract("A", true, true, vec![], vec![]).terms;
        terms.level = " ".into();
        terms.ends_on = day("2025-01-01");
        let errors = terms.check().unwrap_err();
        let names: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, ["level", "endsOn"]);
    }
}
