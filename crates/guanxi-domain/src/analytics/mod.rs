//! Analytics (统计分析): which figures can be counted, along which dimensions, and the
//! arithmetic over the grouped rows the store brings back — rankings with their change
//! against the previous period, and the 80/20 head of a list (Pareto).

pub mod rfm;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::error::{ErrorCode, FieldError, Invalid};

text_enum! {
    /// A figure that can be counted (and, where it has one, summed) by period.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
    pub enum Measure {
        NewCustomers => "NEW_CUSTOMERS", "新增客户";
        Interactions => "INTERACTIONS", "跟进记录";
        Visits => "VISITS", "拜访签到";
        DealsCreated => "DEALS_CREATED", "新增商机";
        DealsWon => "DEALS_WON", "赢单";
        DealsLost => "DEALS_LOST", "输单";
        Quotes => "QUOTES", "报价";
        Orders => "ORDERS", "销售订单";
        ContractsSigned => "CONTRACTS_SIGNED", "签约合同";
        MoneyReceived => "MONEY_RECEIVED", "回款";
        Invoices => "INVOICES", "开票";
        WorkOrders => "WORK_ORDERS", "工单";
        /// Commission lines earned, by the day they were earned.
        Commission => "COMMISSION", "佣金";
    }
}

impl Measure {
    /// Whether the measure sums an amount as well as counting records.
    pub fn has_amount(self) -> bool {
        !matches!(self, Measure::NewCustomers | Measure::Interactions | Measure::Visits | Measure::WorkOrders)
    }
}

text_enum! {
    /// What figures are grouped by.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
    pub enum Dimension {
        Industry => "INDUSTRY", "行业";
        Status => "STATUS", "客户状态";
        Level => "LEVEL", "客户级别";
        Type => "TYPE", "客户类型";
        Source => "SOURCE", "客户来源";
        Province => "PROVINCE", "省份";
        City => "CITY", "城市";
        Size => "SIZE", "规模";
        CreditRating => "CREDIT_RATING", "信用等级";
        PaymentMethod => "PAYMENT_METHOD", "付款方式";
        Owner => "OWNER", "负责人";
        Department => "DEPARTMENT", "部门";
        Period => "PERIOD", "期间";
    }
}

impl Dimension {
    /// Whether the dimension is an attribute of the record's customer.
    pub fn of_customer(self) -> bool {
        !matches!(self, Dimension::PaymentMethod | Dimension::Owner | Dimension::Department | Dimension::Period)
    }
}

/// The most dimensions one query groups by.
pub const MAX_DIMENSIONS: usize = 3;
/// The longest window one query covers, in days.
pub const MAX_DAYS: i64 = 1_100;

/// Checks a query's shape: at most three distinct dimensions, each one the measure has,
/// and a window of up to three years.
pub fn check(measure: Measure, dimensions: &[Dimension], days: i64) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    if dimensions.len() > MAX_DIMENSIONS {
        invalid.push(FieldError::new("dimensions", ErrorCode::Invalid, "at most three dimensions"));
    }
    for (i, dimension) in dimensions.iter().enumerate() {
        if dimensions[..i].contains(dimension) {
            invalid.push(FieldError::new("dimensions", ErrorCode::Invalid, "each dimension once"));
        }
        if *dimension == Dimension::PaymentMethod && measure != Measure::MoneyReceived {
            let message = "PAYMENT_METHOD groups MONEY_RECEIVED only";
            invalid.push(FieldError::new("dimensions", ErrorCode::Invalid, message));
        }
        if dimension.of_customer() && measure == Measure::Commission {
            let message = "COMMISSION groups by OWNER, DEPARTMENT and PERIOD only";
            invalid.push(FieldError::new("dimensions", ErrorCode::Invalid, message));
        }
    }
    if days <= 0 || days > MAX_DAYS {
        invalid.push(FieldError::new("to", ErrorCode::Invalid, "a window of up to 1,100 days, `to` after `from`"));
    }
    invalid.into_result()
}

/// A value's label in Chinese, for the dimensions whose values are a fixed list.
pub fn value_label(dimension: Dimension, raw: &str) -> Option<&'static str> {
    use crate::customers::customer::{CustomerStatus, CustomerType};
    match dimension {
        Dimension::Status => CustomerStatus::parse(raw).map(CustomerStatus::label_zh),
        Dimension::Type => CustomerType::parse(raw).map(CustomerType::label_zh),
        Dimension::PaymentMethod => crate::finance::receivable::PaymentMethod::parse(raw)
            .map(crate::finance::receivable::PaymentMethod::label_zh),
        _ => None,
    }
}

/// Ranks by value, highest first, ties sharing a rank (1, 2, 2, 4); ties in value keep
/// the order of `key`.
pub fn rank<K: Ord + Clone>(values: &[(K, Decimal)]) -> Vec<(K, Decimal, u32)> {
    let mut sorted: Vec<(K, Decimal)> = values.to_vec();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out: Vec<(K, Decimal, u32)> = Vec::with_capacity(sorted.len());
    for (i, (key, value)) in sorted.into_iter().enumerate() {
        let rank = match out.last() {
            Some((_, last, r)) if *last == value => *r,
            _ => u32::try_from(i + 1).unwrap_or(u32::MAX),
        };
        out.push((key, value, rank));
    }
    out
}

/// One entry of a Pareto list: its value, its share of the total and the running share
/// up to and including it, in percent to two places.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParetoEntry<K> {
    pub key: K,
    pub value: Decimal,
    pub share: Decimal,
    pub cumulative: Decimal,
    /// Within the head: the entries that together make `percent` of the total.
    pub head: bool,
}

/// Sorts `values` highest first and marks the head: the fewest entries that together make
/// at least `percent` of the (positive) total.
pub fn pareto<K: Ord + Clone>(values: &[(K, Decimal)], percent: Decimal) -> Vec<ParetoEntry<K>> {
    let ranked = rank(values);
    let total: Decimal = ranked.iter().map(|(_, v, _)| *v).filter(|v| *v > Decimal::ZERO).sum();
    let pct = |v: Decimal| {
        if total.is_zero() {
            Decimal::ZERO
        } else {
            (v * Decimal::ONE_HUNDRED / total)
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        }
    };
    let mut running = Decimal::ZERO;
    let mut reached = false;
    ranked
        .into_iter()
        .map(|(key, value, _)| {
            let head = !reached && value > Decimal::ZERO;
            running += value.max(Decimal::ZERO);
            if !total.is_zero() && running * Decimal::ONE_HUNDRED >= percent * total {
                reached = true;
            }
            ParetoEntry { key, value, share: pct(value), cumulative: pct(running), head }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn ranks_share_ties_and_skip_after_them() {
        let ranked = rank(&[("a", d("5")), ("b", d("9")), ("c", d("5")), ("d", d("1"))]);
        let got: Vec<(&str, u32)> = ranked.iter().map(|(k, _, r)| (*k, *r)).collect();
        assert_eq!(got, [("b", 1), ("a", 2), ("c", 2), ("d", 4)]);
    }

    #[test]
    fn the_pareto_head_is_the_fewest_that_make_the_share() {
        // 100 in all: 50 + 30 = 80 reaches 80 % with two of five.
        let values = [("a", d("10")), ("b", d("50")), ("c", d("30")), ("d", d("6")), ("e", d("4"))];
        let list = pareto(&values, d("80"));
        let head: Vec<&str> = list.iter().filter(|e| e.head).map(|e| e.key).collect();
        assert_eq!(head, ["b", "c"]);
        assert_eq!((list[1].share, list[1].cumulative), (d("30"), d("80")));
        assert_eq!(list.last().unwrap().cumulative, d("100"));
        // Just short of the share takes one more.
        let head: Vec<&str> = pareto(&values, d("80.01")).iter().filter(|e| e.head).map(|e| e.key).collect();
        assert_eq!(head, ["b", "c", "a"]);
        assert!(pareto::<&str>(&[], d("80")).is_empty());
    }

    #[test]
    fn queries_are_checked() {
        assert!(check(Measure::MoneyReceived, &[Dimension::PaymentMethod, Dimension::Period], 365).is_ok());
        let fields = |r: Result<(), Invalid>| r.unwrap_err().0.into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(check(Measure::Quotes, &[Dimension::PaymentMethod], 30)), ["dimensions"]);
        assert_eq!(fields(check(Measure::Quotes, &[Dimension::Owner, Dimension::Owner], 30)), ["dimensions"]);
        assert_eq!(fields(check(Measure::Quotes, &[], 2_000)), ["to"]);
        let four = [Dimension::Owner, Dimension::City, Dimension::Level, Dimension::Period];
        assert_eq!(fields(check(Measure::Quotes, &four, 30)), ["dimensions"]);
        assert_eq!(fields(check(Measure::Commission, &[Dimension::City], 30)), ["dimensions"]);
        assert_eq!(value_label(Dimension::Status, "WON"), Some("成交"));
    }
}
