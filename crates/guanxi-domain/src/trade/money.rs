//! Money on documents, exact: decimals rounded half up (四舍五入) to the tenant's places per
//! line and then summed, with VAT per line and shown per rate. Stored as whole
//! ten-thousandths of a yuan (`*_e4` columns), so the database sums exactly.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError};

/// Stored amounts, quantities and percentages carry four decimal places.
pub const STORED_PLACES: u32 = 4;

/// A stored value (ten-thousandths) from a decimal of at most four places.
pub fn to_e4(value: Decimal) -> i64 {
    let scaled =
        value.round_dp_with_strategy(STORED_PLACES, RoundingStrategy::MidpointAwayFromZero) * Decimal::from(10_000);
    i64::try_from(scaled.trunc()).unwrap_or(if value.is_sign_negative() { i64::MIN } else { i64::MAX })
}

/// The decimal a stored value stands for.
pub fn from_e4(stored: i64) -> Decimal {
    Decimal::new(stored, STORED_PLACES)
}

/// The decimal places a tenant keeps on one kind of document (0 to 4, 2 by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Places(u32);

impl Default for Places {
    fn default() -> Self {
        Places(2)
    }
}

impl TryFrom<u32> for Places {
    type Error = String;
    fn try_from(places: u32) -> Result<Self, String> {
        if places <= STORED_PLACES { Ok(Places(places)) } else { Err(format!("{places} decimal places; at most 4")) }
    }
}

impl From<Places> for u32 {
    fn from(places: Places) -> u32 {
        places.0
    }
}

impl Places {
    pub fn get(self) -> u32 {
        self.0
    }

    /// `value` rounded half away from zero (四舍五入) to these places.
    pub fn round(self, value: Decimal) -> Decimal {
        value.round_dp_with_strategy(self.0, RoundingStrategy::MidpointAwayFromZero)
    }

    /// `value` when it has no more than these places, else an `INVALID` error on `field`.
    pub fn check(self, field: &str, value: Decimal) -> Result<Decimal, FieldError> {
        if value.normalize().scale() > self.0 {
            return Err(FieldError::new(field, ErrorCode::Invalid, format!("at most {} decimal places", self.0)));
        }
        Ok(value)
    }
}

text_enum! {
    /// A VAT rate (增值税税率 or, for small-scale taxpayers, 征收率), in percent.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub enum TaxRate {
        Vat13 => "13", "13%";
        Vat9 => "9", "9%";
        Vat6 => "6", "6%";
        Vat5 => "5", "5%";
        Vat3 => "3", "3%";
        Vat1 => "1", "1%";
        Zero => "0", "零税率/免税";
    }
}

impl TaxRate {
    /// The rate as a fraction: 0.13 for 13 %.
    pub fn fraction(self) -> Decimal {
        Decimal::new(self.as_str().parse::<i64>().unwrap_or(0), 2)
    }
}

text_enum! {
    /// Whether prices include VAT (含税) or have it added (不含税).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum TaxMode {
        Inclusive => "INCLUSIVE", "含税";
        Exclusive => "EXCLUSIVE", "不含税";
    }
}

/// A percentage off, 0 to 100 with at most two places (9.5 means 9.5 %).
pub fn check_discount(field: &str, percent: Decimal) -> Result<Decimal, FieldError> {
    if percent < Decimal::ZERO || percent > Decimal::ONE_HUNDRED || percent.normalize().scale() > 2 {
        return Err(FieldError::new(
            field,
            ErrorCode::Invalid,
            "a discount is 0 to 100 percent, at most 2 decimal places",
        ));
    }
    Ok(percent)
}

fn keep(percent: Decimal) -> Decimal {
    (Decimal::ONE_HUNDRED - percent) / Decimal::ONE_HUNDRED
}

/// What a line asks for: how many, at what unit price, less its own discount, at which rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineTerms {
    pub quantity: Decimal,
    pub list_price: Decimal,
    pub unit_price: Decimal,
    /// Percent off the unit price, for this line.
    pub discount: Decimal,
    pub tax_rate: TaxRate,
}

/// A line's figures, each rounded to the document's places.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineFigures {
    /// Quantity × list price.
    pub list_amount: Decimal,
    /// Quantity × unit price less the line's discount.
    pub subtotal: Decimal,
    /// The subtotal less the document's discount: what the customer pays for the line.
    pub amount: Decimal,
    /// Before tax.
    pub net: Decimal,
    pub tax: Decimal,
    /// Tax included.
    pub gross: Decimal,
}

/// Tax and amounts of one rate over a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateTotal {
    pub rate: TaxRate,
    pub net: Decimal,
    pub tax: Decimal,
}

/// A document's totals: sums of its rounded lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub list_amount: Decimal,
    pub subtotal: Decimal,
    /// What the document's discount took off the subtotal.
    pub discount_amount: Decimal,
    pub net: Decimal,
    pub tax: Decimal,
    /// 价税合计.
    pub gross: Decimal,
    /// One entry per rate used, highest rate first.
    pub by_rate: Vec<RateTotal>,
}

impl Totals {
    /// The part of the list amount taken off, in percent (two places); zero without a
    /// list amount.
    pub fn discount_off_list(&self) -> Decimal {
        if self.list_amount <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        let paid = self.subtotal - self.discount_amount;
        Places(2).round((self.list_amount - paid) / self.list_amount * Decimal::ONE_HUNDRED).max(Decimal::ZERO)
    }
}

/// One line's figures: each figure is computed exactly from the terms and rounded once.
pub fn line_figures(terms: &LineTerms, document_discount: Decimal, mode: TaxMode, places: Places) -> LineFigures {
    let exact_subtotal = terms.quantity * terms.unit_price * keep(terms.discount);
    let amount = places.round(exact_subtotal * keep(document_discount));
    let rate = terms.tax_rate.fraction();
    let (net, tax, gross) = match mode {
        TaxMode::Exclusive => {
            let tax = places.round(amount * rate);
            (amount, tax, amount + tax)
        }
        TaxMode::Inclusive => {
            let tax = places.round(amount * rate / (Decimal::ONE + rate));
            (amount - tax, tax, amount)
        }
    };
    LineFigures {
        list_amount: places.round(terms.quantity * terms.list_price),
        subtotal: places.round(exact_subtotal),
        amount,
        net,
        tax,
        gross,
    }
}

/// The totals of lines already figured.
pub fn totals(lines: &[(TaxRate, LineFigures)]) -> Totals {
    let mut totals = Totals::default();
    let mut by_rate: BTreeMap<TaxRate, (Decimal, Decimal)> = BTreeMap::new();
    for (rate, line) in lines {
        totals.list_amount += line.list_amount;
        totals.subtotal += line.subtotal;
        totals.discount_amount += line.subtotal - line.amount;
        totals.net += line.net;
        totals.tax += line.tax;
        totals.gross += line.gross;
        let entry = by_rate.entry(*rate).or_default();
        entry.0 += line.net;
        entry.1 += line.tax;
    }
    // Variants are declared highest rate first.
    totals.by_rate = by_rate.into_iter().map(|(rate, (net, tax))| RateTotal { rate, net, tax }).collect();
    totals
}

/// An amount in Chinese capital numerals (人民币大写) as written on invoices and
/// contracts: 壹万贰仟叁佰肆拾伍元陆角柒分, 壹佰元整, 零元整. Rounded to the fen first;
/// negative amounts read 负….
pub fn rmb_uppercase(amount: Decimal) -> String {
    const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
    const SMALL: [&str; 4] = ["", "拾", "佰", "仟"];
    const GROUPS: [&str; 4] = ["", "万", "亿", "万亿"];
    let fen_total = Places(2).round(amount.abs()) * Decimal::ONE_HUNDRED;
    let fen_total = u128::try_from(fen_total.trunc()).unwrap_or(0);
    let (yuan, jiao, fen) = (fen_total / 100, (fen_total / 10 % 10) as usize, (fen_total % 10) as usize);
    let mut out = String::new();
    if amount.is_sign_negative() && fen_total > 0 {
        out.push('负');
    }
    if yuan > 0 {
        let mut groups = Vec::new();
        let mut rest = yuan;
        while rest > 0 {
            groups.push((rest % 10_000) as usize);
            rest /= 10_000;
        }
        for (index, group) in groups.iter().enumerate().rev() {
            if *group == 0 {
                continue;
            }
            if *group < 1000 && index + 1 < groups.len() {
                out.push('零');
            }
            let mut zero_pending = false;
            let mut started = false;
            for place in (0..4).rev() {
                let digit = group / 10_usize.pow(place as u32) % 10;
                if digit == 0 {
                    zero_pending = started;
                    continue;
                }
                if zero_pending {
                    out.push('零');
                    zero_pending = false;
                }
                out.push(DIGITS[digit]);
                out.push_str(SMALL[place]);
                started = true;
            }
            out.push_str(GROUPS[index.min(3)]);
        }
        out.push('元');
    }
    match (jiao, fen) {
        (0, 0) if yuan == 0 => out.push_str("零元整"),
        (0, 0) => out.push('整'),
        (j, 0) => {
            out.push(DIGITS[j]);
            out.push_str("角整");
        }
        (0, f) => {
            if yuan > 0 {
                out.push('零');
            }
            out.push(DIGITS[f]);
            out.push('分');
        }
        (j, f) => {
            out.push(DIGITS[j]);
            out.push('角');
            out.push(DIGITS[f]);
            out.push('分');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn line(quantity: &str, price: &str, discount: &str, rate: TaxRate) -> LineTerms {
        LineTerms {
            quantity: d(quantity),
            list_price: d(price),
            unit_price: d(price),
            discount: d(discount),
            tax_rate: rate,
        }
    }

    #[test]
    fn lines_round_half_up_once_per_figure() {
        // (quantity, price, line discount, document discount, rate, mode, places) → (amount, net, tax, gross)
        let cases = [
            ("3", "33.33", "0", "0", TaxRate::Vat13, TaxMode::Inclusive, 2, ("99.99", "88.49", "11.50", "99.99")),
            ("3", "33.33", "0", "0", TaxRate::Vat13, TaxMode::Exclusive, 2, ("99.99", "99.99", "13.00", "112.99")),
            ("1", "0.01", "9.5", "0", TaxRate::Zero, TaxMode::Exclusive, 2, ("0.01", "0.01", "0.00", "0.01")),
            ("1", "0.01", "0", "9.5", TaxRate::Vat6, TaxMode::Inclusive, 2, ("0.01", "0.01", "0.00", "0.01")),
            ("1", "0.01", "50", "0", TaxRate::Zero, TaxMode::Exclusive, 2, ("0.01", "0.01", "0.00", "0.01")),
            ("1", "0.01", "50.01", "0", TaxRate::Zero, TaxMode::Exclusive, 2, ("0.00", "0.00", "0.00", "0.00")),
            ("7", "1.005", "0", "0", TaxRate::Vat9, TaxMode::Exclusive, 2, ("7.04", "7.04", "0.63", "7.67")),
            ("7", "1.005", "0", "0", TaxRate::Vat9, TaxMode::Exclusive, 0, ("7", "7", "1", "8")),
            (
                "2.5",
                "19.99",
                "10",
                "5",
                TaxRate::Vat6,
                TaxMode::Exclusive,
                4,
                ("42.7286", "42.7286", "2.5637", "45.2923"),
            ),
            ("1", "100", "0", "0", TaxRate::Vat3, TaxMode::Inclusive, 2, ("100.00", "97.09", "2.91", "100.00")),
        ];
        for (q, p, ld, dd, rate, mode, places, (amount, net, tax, gross)) in cases {
            let f = line_figures(&line(q, p, ld, rate), d(dd), mode, Places(places));
            let got = (f.amount, f.net, f.tax, f.gross);
            assert_eq!(
                got,
                (d(amount), d(net), d(tax), d(gross)),
                "{q} × {p} less {ld}% and {dd}% at {rate:?} {mode:?}"
            );
            assert_eq!(f.net + f.tax, f.gross, "net and tax add up");
        }
    }

    #[test]
    fn totals_sum_rounded_lines_and_split_tax_by_rate() {
        // 1,000 lines of half a fen: each rounds up to a fen, so the total is 10.00, not 5.00.
        let lines: Vec<_> = (0..1000)
            .map(|_| {
                (
                    TaxRate::Zero,
                    line_figures(&line("1", "0.005", "0", TaxRate::Zero), Decimal::ZERO, TaxMode::Exclusive, Places(2)),
                )
            })
            .collect();
        let t = totals(&lines);
        assert_eq!((t.subtotal, t.gross, t.by_rate.len()), (d("10.00"), d("10.00"), 1));

        let mixed = [
            (
                TaxRate::Vat13,
                line_figures(&line("3", "33.33", "0", TaxRate::Vat13), Decimal::ZERO, TaxMode::Inclusive, Places(2)),
            ),
            (
                TaxRate::Vat6,
                line_figures(&line("1", "100", "0", TaxRate::Vat6), Decimal::ZERO, TaxMode::Inclusive, Places(2)),
            ),
            (
                TaxRate::Vat13,
                line_figures(&line("1", "10", "0", TaxRate::Vat13), Decimal::ZERO, TaxMode::Inclusive, Places(2)),
            ),
        ];
        let t = totals(&mixed);
        assert_eq!(t.gross, d("209.99"));
        assert_eq!(t.tax, d("11.50") + d("5.66") + d("1.15"));
        assert_eq!(
            t.by_rate.iter().map(|r| (r.rate, r.tax)).collect::<Vec<_>>(),
            [(TaxRate::Vat13, d("12.65")), (TaxRate::Vat6, d("5.66"))]
        );
        assert_eq!(t.net + t.tax, t.gross);
    }

    #[test]
    fn the_discount_off_list_counts_both_discounts() {
        let mut terms = line("10", "100", "10", TaxRate::Vat13);
        terms.unit_price = d("90");
        let f = line_figures(&terms, d("5"), TaxMode::Inclusive, Places(2));
        let t = totals(&[(TaxRate::Vat13, f)]);
        // 1000 list, 90 × 10 = 900, less 10 % = 810, less 5 % = 769.50: 23.05 % off list.
        assert_eq!((t.list_amount, t.subtotal, t.discount_amount), (d("1000.00"), d("810.00"), d("40.50")));
        assert_eq!(t.discount_off_list(), d("23.05"));
    }

    #[test]
    fn amounts_read_in_chinese_capitals() {
        let cases = [
            ("0", "零元整"),
            ("0.05", "伍分"),
            ("0.5", "伍角整"),
            ("1", "壹元整"),
            ("10", "壹拾元整"),
            ("100", "壹佰元整"),
            ("101", "壹佰零壹元整"),
            ("1010.1", "壹仟零壹拾元壹角整"),
            ("1000.01", "壹仟元零壹分"),
            ("12345.67", "壹万贰仟叁佰肆拾伍元陆角柒分"),
            ("100000", "壹拾万元整"),
            ("100001", "壹拾万零壹元整"),
            ("10000000", "壹仟万元整"),
            ("100000000", "壹亿元整"),
            ("100010000", "壹亿零壹万元整"),
            ("112.99", "壹佰壹拾贰元玖角玖分"),
            ("-3.2", "负叁元贰角整"),
            ("0.005", "壹分"),
        ];
        for (amount, words) in cases {
            assert_eq!(rmb_uppercase(d(amount)), words, "{amount}");
        }
    }

    #[test]
    fn places_and_discounts_are_checked() {
        assert!(Places::try_from(5).is_err());
        assert_eq!(Places(2).check("price", d("1.50")).unwrap(), d("1.50"));
        assert!(Places(2).check("price", d("1.505")).is_err());
        assert!(check_discount("discount", d("100.01")).is_err());
        assert!(check_discount("discount", d("-1")).is_err());
        assert!(check_discount("discount", d("9.555")).is_err());
        assert_eq!(to_e4(d("12.3456")), 123_456);
        assert_eq!(from_e4(123_456), d("12.3456"));
        assert_eq!(TaxRate::Vat13.fraction(), d("0.13"));
    }
}
