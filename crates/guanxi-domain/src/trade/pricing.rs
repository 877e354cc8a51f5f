//! Price policies (价格政策) and how a line's price is found: a price for this customer,
//! then one for the customer's level, then the product's list price. A policy holds for a
//! range of days and may lower its price from a quantity on (quantity breaks); two
//! policies of the same product and target never hold on the same day.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{CustomerId, PricePolicyId, ProductId};
use crate::trade::money::Places;

/// Who a policy prices for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PriceTarget {
    /// Every customer of this level (客户级别).
    Level(String),
    /// One customer.
    Customer(CustomerId),
}

/// From this quantity on, this unit price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuantityBreak {
    pub min_quantity: Decimal,
    pub price: Decimal,
}

/// What a policy says, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyTerms {
    pub product_id: ProductId,
    pub target: PriceTarget,
    /// The price below the first break.
    pub price: Decimal,
    /// Ascending quantities; each price holds from its quantity on.
    pub breaks: Vec<QuantityBreak>,
    pub valid_from: NaiveDate,
    /// Open-ended when absent.
    pub valid_to: Option<NaiveDate>,
}

impl PolicyTerms {
    /// The terms, when every price fits the product places, the breaks ascend with
    /// positive quantities, and the range does not end before it starts.
    pub fn check(mut self, places: Places) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        if self.price < Decimal::ZERO || self.price > Decimal::from(100_000_000_000_i64) {
            invalid.push(FieldError::new("price", ErrorCode::Invalid, "a price is 0 to 100 billion"));
        }
        invalid.check(places.check("price", self.price));
        self.breaks.sort_by_key(|b| b.min_quantity);
        for (i, b) in self.breaks.iter().enumerate() {
            let field = format!("breaks.{i}");
            if b.min_quantity <= Decimal::ZERO
                || b.price < Decimal::ZERO
                || b.price > Decimal::from(100_000_000_000_i64)
            {
                invalid.push(FieldError::new(
                    &field,
                    ErrorCode::Invalid,
                    "a break needs a positive quantity and a price",
                ));
            }
            invalid.check(places.check(&format!("{field}.price"), b.price));
            if i > 0 && self.breaks[i - 1].min_quantity == b.min_quantity {
                invalid.push(FieldError::new(&field, ErrorCode::Duplicate, "two breaks at the same quantity"));
            }
        }
        if self.valid_to.is_some_and(|to| to < self.valid_from) {
            invalid.push(FieldError::new("validTo", ErrorCode::Invalid, "the policy ends before it starts"));
        }
        if let PriceTarget::Level(level) = &self.target {
            let level = level.trim();
            if level.is_empty() || level.chars().count() > 30 {
                invalid.push(FieldError::new("customerLevel", ErrorCode::Invalid, "a level of 1 to 30 characters"));
            }
            self.target = PriceTarget::Level(level.to_owned());
        }
        invalid.into_result()?;
        Ok(self)
    }

    /// Whether the two ranges share a day.
    pub fn overlaps(&self, from: NaiveDate, to: Option<NaiveDate>) -> bool {
        let starts_before_other_ends = to.is_none_or(|to| self.valid_from <= to);
        let other_starts_before_this_ends = self.valid_to.is_none_or(|mine| from <= mine);
        starts_before_other_ends && other_starts_before_this_ends
    }

    /// The unit price for `quantity`: the last break reached, or the base price.
    pub fn price_for(&self, quantity: Decimal) -> Decimal {
        self.breaks.iter().rev().find(|b| quantity >= b.min_quantity).map_or(self.price, |b| b.price)
    }
}

/// A stored policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricePolicy {
    pub id: PricePolicyId,
    pub terms: PolicyTerms,
    pub version: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Set once the policy is ended; it stays readable on the lines it priced.
    pub deleted_at: Option<chrono::DateTime<chrono::Utc>>,
}

text_enum! {
    /// Where a line's price came from.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum PriceSource {
        Customer => "CUSTOMER", "客户专属价";
        Level => "LEVEL", "客户级别价";
        List => "LIST", "标准价";
        Manual => "MANUAL", "手工改价";
    }
}

/// A line's resolved price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub list_price: Decimal,
    pub unit_price: Decimal,
    pub source: PriceSource,
    pub policy_id: Option<PricePolicyId>,
}

/// The price of `quantity` of a product listed at `list_price`, from the policies that
/// hold on the day for this customer or its level (the caller selected those): a
/// customer policy wins over a level policy, and either over the list price.
pub fn resolve(list_price: Decimal, quantity: Decimal, holding: &[PricePolicy]) -> Resolved {
    let pick = |customer: bool| holding.iter().find(|p| matches!(p.terms.target, PriceTarget::Customer(_)) == customer);
    match pick(true).map(|p| (p, PriceSource::Customer)).or_else(|| pick(false).map(|p| (p, PriceSource::Level))) {
        Some((policy, source)) => {
            Resolved { list_price, unit_price: policy.terms.price_for(quantity), source, policy_id: Some(policy.id) }
        }
        None => Resolved { list_price, unit_price: list_price, source: PriceSource::List, policy_id: None },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn policy(target: PriceTarget, price: &str, breaks: &[(&str, &str)]) -> PricePolicy {
        PricePolicy {
            id: PricePolicyId::new(),
            terms: PolicyTerms {
                product_id: ProductId::new(),
                target,
                price: d(price),
                breaks: breaks.iter().map(|(q, p)| QuantityBreak { min_quantity: d(q), price: d(p) }).collect(),
                valid_from: day("2026-01-01"),
                valid_to: Some(day("2026-06-30")),
            },
            version: 1,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            deleted_at: None,
        }
    }

    #[test]
    fn the_customer_price_wins_then_the_level_then_the_list() {
        let level = policy(PriceTarget::Level("A".into()), "90", &[("100", "80")]);
        let own = policy(PriceTarget::Customer(CustomerId::new()), "85", &[]);
        let cases: [(&[PricePolicy], &str, &str, PriceSource); 5] = [
            (&[], "5", "100", PriceSource::List),
            (std::slice::from_ref(&level), "5", "90", PriceSource::Level),
            (std::slice::from_ref(&level), "100", "80", PriceSource::Level),
            (&[level.clone(), own.clone()], "100", "85", PriceSource::Customer),
            (&[own.clone(), level.clone()], "1", "85", PriceSource::Customer),
        ];
        for (holding, quantity, price, source) in cases {
            let r = resolve(d("100"), d(quantity), holding);
            assert_eq!((r.unit_price, r.source), (d(price), source), "{quantity} with {} policies", holding.len());
        }
    }

    #[test]
    fn ranges_overlap_when_they_share_a_day() {
        let p = policy(PriceTarget::Level("A".into()), "1", &[]).terms;
        let cases = [
            ("2025-01-01", Some("2025-12-31"), false),
            ("2025-01-01", Some("2026-01-01"), true),
            ("2026-06-30", None, true),
            ("2026-07-01", None, false),
            ("2025-01-01", None, true),
        ];
        for (from, to, expected) in cases {
            assert_eq!(p.overlaps(day(from), to.map(day)), expected, "{from}..{to:?}");
        }
        let mut open = p.clone();
        open.valid_to = None;
        assert!(open.overlaps(day("2030-01-01"), Some(day("2030-01-02"))));
    }

    #[test]
    fn terms_are_checked() {
        let mut p = policy(PriceTarget::Level(" A ".into()), "1.005", &[("10", "0.9"), ("10", "0.8")]).terms;
        let errors = p.clone().check(Places::default()).unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["price", "breaks.1"]);
        p.price = d("1");
        p.breaks.pop();
        let checked = p.check(Places::default()).unwrap();
        assert_eq!(checked.target, PriceTarget::Level("A".into()));
    }
}
