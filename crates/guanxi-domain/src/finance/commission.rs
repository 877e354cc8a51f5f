//! Commissions (业务员佣金): plans that say who is paid, on what and at which rate, and the
//! arithmetic that turns a rep's credited amounts of a period into statement lines.
//!
//! A plan covers users, roles or departments (with their sub-departments) between two
//! dates; a rep is under at most one plan on any date. It pays when a contract is approved
//! (SIGNING) or as approved money comes in (RECEIPT), on the amount with tax (GROSS) or on
//! the margin (NET: less tax and, where the cost price is known, less cost). The rate is
//! the category's rate where the plan names the line's category (or an ancestor of it),
//! else the plan's tiers, else its flat rate; a formula, when the plan has one, replaces
//! all three and reads them as variables. A new customer's first contract adds a fixed
//! bonus. Every line is rounded to the fen, half away from zero (四舍五入).

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::formula::{Formula, FormulaError, Step, Vars};
use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{CommissionPlanId, UserId};

text_enum! {
    /// When a plan pays.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum EarnedOn {
        /// When the contract is approved (签约即计提).
        Signing => "SIGNING", "签约";
        /// In proportion to approved money received (回款计提).
        Receipt => "RECEIPT", "回款";
    }
}

text_enum! {
    /// What a plan pays on.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum BaseAmount {
        /// The amount with tax (含税金额).
        Gross => "GROSS", "含税金额";
        /// Less tax and, where the cost price is known, less cost (毛利).
        Net => "NET", "毛利";
    }
}

text_enum! {
    /// How tiers by amount pay.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum TierShape {
        /// Each band at its own rate, like income tax (超额累进).
        Progressive => "PROGRESSIVE", "超额累进";
        /// The band reached sets the rate for the whole amount (全额累进).
        Whole => "WHOLE", "全额累进";
    }
}

text_enum! {
    /// What a plan member names.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub enum MemberKind {
        User => "USER", "员工";
        Department => "DEPARTMENT", "部门";
        Role => "ROLE", "角色";
    }
}

text_enum! {
    /// Where a statement stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum StatementStatus {
        /// Recalculated freely; adjustments may be added.
        Draft => "DRAFT", "草稿";
        /// Checked by finance: never rewritten again.
        Confirmed => "CONFIRMED", "已确认";
        Paid => "PAID", "已发放";
    }
}

text_enum! {
    /// What a statement line is for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum LineKind {
        /// Earned by a contract approved in the period (a revision: by its difference).
        Signing => "SIGNING", "签约提成";
        /// Earned by approved money received in the period.
        Receipt => "RECEIPT", "回款提成";
        /// The bonus for a new customer's first contract.
        NewCustomer => "NEW_CUSTOMER", "新客户奖励";
        /// Takes back a line of a confirmed statement whose receipt was reversed or whose
        /// contract was voided.
        Clawback => "CLAWBACK", "追回";
        /// Added by hand, with a reason.
        Adjustment => "ADJUSTMENT", "调整";
    }
}

text_enum! {
    /// Which rule set a line's amount.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum Rule {
        Category => "CATEGORY", "品类提成比例";
        Tier => "TIER", "阶梯提成";
        Rate => "RATE", "统一提成比例";
        Formula => "FORMULA", "公式";
        Bonus => "BONUS", "新客户奖励";
        Clawback => "CLAWBACK", "追回";
        Manual => "MANUAL", "手工调整";
    }
}

/// The largest rate, in percent.
const MAX_RATE: Decimal = Decimal::ONE_HUNDRED;
/// The longest formula, in characters.
pub const MAX_FORMULA: usize = 2000;

/// A band of tiers: from `from` (inclusive) up to the next band's `from`, at `rate` percent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Band {
    pub from: Decimal,
    pub rate: Decimal,
}

/// Tiers by the rep's amount in the period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tiers {
    pub shape: TierShape,
    /// Ascending by `from`; the first starts at 0.
    pub bands: Vec<Band>,
}

impl Tiers {
    /// What the tiers pay on a whole amount `x` (a negative amount pays at the first band).
    pub fn pay(&self, x: Decimal) -> Decimal {
        let first = self.bands.first().map_or(Decimal::ZERO, |b| b.rate) / MAX_RATE;
        if x <= Decimal::ZERO {
            return x * first;
        }
        match self.shape {
            TierShape::Whole => x * self.rate_at(x) / MAX_RATE,
            TierShape::Progressive => {
                let mut paid = Decimal::ZERO;
                for (i, band) in self.bands.iter().enumerate() {
                    if x <= band.from {
                        break;
                    }
                    let top = self.bands.get(i + 1).map_or(x, |next| next.from.min(x));
                    paid += (top - band.from) * band.rate / MAX_RATE;
                }
                paid
            }
        }
    }

    /// The rate (percent) of the band `x` falls in.
    pub fn rate_at(&self, x: Decimal) -> Decimal {
        self.bands.iter().rev().find(|b| b.from <= x).or(self.bands.first()).map_or(Decimal::ZERO, |b| b.rate)
    }

    fn check(&self, invalid: &mut Invalid) {
        if self.bands.is_empty() || self.bands.len() > 20 {
            invalid.push(FieldError::new("rules.tiers.bands", ErrorCode::Invalid, "1 to 20 bands"));
            return;
        }
        if self.bands[0].from != Decimal::ZERO {
            invalid.push(FieldError::new("rules.tiers.bands.0.from", ErrorCode::Invalid, "the first band starts at 0"));
        }
        for (i, band) in self.bands.iter().enumerate() {
            if i > 0 && band.from <= self.bands[i - 1].from {
                let message = "bands go up: each starts above the one before";
                invalid.push(FieldError::new(format!("rules.tiers.bands.{i}.from"), ErrorCode::Invalid, message));
            }
            check_rate(&format!("rules.tiers.bands.{i}.rate"), band.rate, invalid);
        }
    }
}

/// A rate for the products of one category (and of its sub-categories, unless they have
/// their own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryRate {
    pub category_id: Uuid,
    pub rate: Decimal,
}

/// Who a plan covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Member {
    pub kind: MemberKind,
    pub id: Uuid,
}

/// A plan's rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRules {
    /// The flat rate in percent, for what no category rate or tier covers.
    pub rate: Decimal,
    pub category_rates: Vec<CategoryRate>,
    pub tiers: Option<Tiers>,
    /// Paid once for a new customer's first contract, to its owner.
    pub new_customer_bonus: Option<Decimal>,
    pub formula: Option<String>,
}

/// What a writer sets on a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanFields {
    pub name: String,
    pub earned_on: EarnedOn,
    pub base: BaseAmount,
    pub rules: PlanRules,
    pub members: Vec<Member>,
    pub effective_from: NaiveDate,
    /// The last day it applies; open-ended when absent.
    pub effective_to: Option<NaiveDate>,
    pub active: bool,
}

fn check_rate(field: &str, rate: Decimal, invalid: &mut Invalid) {
    if rate < Decimal::ZERO || rate > MAX_RATE || rate.normalize().scale() > 4 {
        invalid.push(FieldError::new(field, ErrorCode::Invalid, "a rate of 0 to 100 percent, at most 4 places"));
    }
}

impl PlanFields {
    /// Every bad field at once; a formula's mistake names its position.
    pub fn check(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() || self.name.chars().count() > 50 {
            invalid.push(FieldError::new("name", ErrorCode::Invalid, "a name of 1 to 50 characters"));
        }
        check_rate("rules.rate", self.rules.rate, &mut invalid);
        for (i, category) in self.rules.category_rates.iter().enumerate() {
            check_rate(&format!("rules.categoryRates.{i}.rate"), category.rate, &mut invalid);
            if self.rules.category_rates[..i].iter().any(|c| c.category_id == category.category_id) {
                let message = "each category once";
                invalid.push(FieldError::new(
                    format!("rules.categoryRates.{i}.categoryId"),
                    ErrorCode::Invalid,
                    message,
                ));
            }
        }
        if let Some(tiers) = &self.rules.tiers {
            tiers.check(&mut invalid);
        }
        if let Some(bonus) = self.rules.new_customer_bonus
            && (bonus < Decimal::ZERO || bonus > Decimal::from(1_000_000) || bonus.normalize().scale() > 2)
        {
            let message = "0 to 1,000,000 yuan, to the fen";
            invalid.push(FieldError::new("rules.newCustomerBonus", ErrorCode::Invalid, message));
        }
        self.rules.formula = self.rules.formula.map(|f| f.trim().to_owned()).filter(|f| !f.is_empty());
        if let Some(formula) = &self.rules.formula {
            if formula.chars().count() > MAX_FORMULA {
                invalid.push(FieldError::new("rules.formula", ErrorCode::Invalid, "at most 2000 characters"));
            } else if let Err(e) = Formula::parse(formula, self.rules.tiers.is_some()) {
                invalid.push(formula_error(&e));
            }
        }
        if self.members.is_empty() || self.members.len() > 500 {
            invalid.push(FieldError::new("members", ErrorCode::Invalid, "1 to 500 users, roles or departments"));
        }
        if self.effective_to.is_some_and(|to| to < self.effective_from) {
            invalid.push(FieldError::new("effectiveTo", ErrorCode::Invalid, "on or after effectiveFrom"));
        }
        invalid.into_result().map(|()| self)
    }

    /// Whether two plans' dates share a day.
    pub fn overlaps(&self, other: &PlanFields) -> bool {
        let ends_before = |a: Option<NaiveDate>, b: NaiveDate| a.is_some_and(|a| a < b);
        !ends_before(self.effective_to, other.effective_from) && !ends_before(other.effective_to, self.effective_from)
    }

    /// Whether the plan applies on `day`.
    pub fn applies_on(&self, day: NaiveDate) -> bool {
        self.active && self.effective_from <= day && self.effective_to.is_none_or(|to| day <= to)
    }

    /// How specifically the plan names `staff` (a user beats a department beats a role),
    /// or `None` when it does not cover them.
    pub fn covers(&self, staff: &Staff) -> Option<MemberKind> {
        self.members
            .iter()
            .filter(|m| match m.kind {
                MemberKind::User => m.id == staff.user_id.uuid(),
                MemberKind::Role => m.id == staff.role_id,
                MemberKind::Department => staff.departments.contains(&m.id),
            })
            .map(|m| m.kind)
            .min()
    }
}

/// A formula mistake as a field error on `rules.formula`, its position in the message.
pub fn formula_error(e: &FormulaError) -> FieldError {
    FieldError::new("rules.formula", ErrorCode::Invalid, e.to_string())
}

/// A user as plans see them: their role and their department with every one above it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staff {
    pub user_id: UserId,
    pub role_id: Uuid,
    pub departments: Vec<Uuid>,
}

/// A commission plan as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub id: CommissionPlanId,
    pub fields: PlanFields,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The plan that applies to `staff` on `day`: the one naming them most specifically,
/// the earliest created on a tie (saving refuses overlaps; a later move between
/// departments or roles can still bring two together).
pub fn plan_for<'p>(plans: &'p [Plan], staff: &Staff, day: NaiveDate) -> Option<&'p Plan> {
    plans
        .iter()
        .filter(|p| p.fields.applies_on(day))
        .filter_map(|p| p.fields.covers(staff).map(|kind| (kind, p.created_at, p)))
        .min_by_key(|(kind, created, p)| (*kind, *created, p.id.uuid()))
        .map(|(_, _, p)| p)
}

/// A calendar month, the period statements are made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub year: i32,
    pub month: u32,
}

impl Period {
    /// Reads `YYYY-MM`.
    pub fn parse(raw: &str) -> Result<Period, FieldError> {
        let bad = || FieldError::new("period", ErrorCode::Invalid, "a month as YYYY-MM, from 2000 to 2100");
        let (year, month) = raw.trim().split_once('-').ok_or_else(bad)?;
        if !year.chars().chain(month.chars()).all(|c| c.is_ascii_digit()) || raw.trim().len() != 7 {
            return Err(bad());
        }
        let (year, month) = (year.parse::<i32>().map_err(|_| bad())?, month.parse::<u32>().map_err(|_| bad())?);
        if !(2000..=2100).contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Period { year, month })
    }

    /// The period a day falls in.
    pub fn of(day: NaiveDate) -> Period {
        Period { year: day.year(), month: day.month() }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    /// The first day of the next period.
    pub fn next(self) -> Period {
        if self.month == 12 {
            Period { year: self.year + 1, month: 1 }
        } else {
            Period { month: self.month + 1, ..self }
        }
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or_default()
    }

    /// The period before.
    pub fn previous(self) -> Period {
        if self.month == 1 {
            Period { year: self.year - 1, month: 12 }
        } else {
            Period { month: self.month - 1, ..self }
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// One credited amount a rep earns on: a contract line's part (SIGNING) or a receipt's
/// part of it (RECEIPT), already multiplied by the rep's share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credit {
    /// The day it was earned (approval or receipt), which picks the plan and orders tiers.
    pub day: NaiveDate,
    /// Ties between credits of one day, for a stable order.
    pub order: Uuid,
    pub gross: Decimal,
    pub net: Decimal,
    /// Net less cost where the cost is known, else the net.
    pub margin: Decimal,
    pub received: Decimal,
    /// The line's category and every category above it, nearest first.
    pub categories: Vec<Uuid>,
    pub category_name: String,
}

/// What one credit earns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Earned {
    pub rule: Rule,
    /// What the rule applied to (the plan's base).
    pub base: Decimal,
    /// The rate in percent, where one rate applies.
    pub rate: Option<Decimal>,
    /// Rounded to the fen.
    pub amount: Decimal,
}

/// Rounds money to the fen, half away from zero.
pub fn fen(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A plan made ready to compute: its formula parsed once.
pub struct Calculator<'p> {
    plan: &'p PlanFields,
    formula: Option<Formula>,
    category_rates: HashMap<Uuid, Decimal>,
}

impl<'p> Calculator<'p> {
    pub fn new(plan: &'p PlanFields) -> Result<Self, FormulaError> {
        let formula = match &plan.rules.formula {
            Some(source) => Some(Formula::parse(source, plan.rules.tiers.is_some())?),
            None => None,
        };
        let category_rates = plan.rules.category_rates.iter().map(|c| (c.category_id, c.rate)).collect();
        Ok(Calculator { plan, formula, category_rates })
    }

    fn base_of(&self, credit: &Credit) -> Decimal {
        match self.plan.base {
            BaseAmount::Gross => credit.gross,
            BaseAmount::Net => credit.margin,
        }
    }

    fn category_rate(&self, credit: &Credit) -> Option<Decimal> {
        credit.categories.iter().find_map(|c| self.category_rates.get(c).copied())
    }

    /// What each of one rep's credits of a period under this plan earns, in the order
    /// given (sorted by day, then `order`): progressive tiers pay each credit its margin
    /// over the ones before, so the lines add up to what the tiers pay on the total.
    pub fn earn(&self, credits: &[Credit]) -> Result<Vec<Earned>, FormulaError> {
        let tiers = self.plan.rules.tiers.as_ref();
        let tiered = |c: &&Credit| self.category_rate(c).is_none();
        let total: Decimal = credits.iter().filter(tiered).map(|c| self.base_of(c)).sum();
        let mut running = Decimal::ZERO;
        let mut out = Vec::with_capacity(credits.len());
        for credit in credits {
            let base = self.base_of(credit);
            let category = self.category_rate(credit);
            if let Some(formula) = &self.formula {
                let vars = self.vars(credit, total);
                let pay = |x: Decimal| tiers.map_or(Decimal::ZERO, |t| t.pay(x));
                let amount = formula.evaluate(&vars, &pay, None)?;
                out.push(Earned { rule: Rule::Formula, base, rate: None, amount: fen(amount) });
                continue;
            }
            let earned = match (category, tiers) {
                (Some(rate), _) => {
                    Earned { rule: Rule::Category, base, rate: Some(rate), amount: base * rate / MAX_RATE }
                }
                (None, Some(t)) if t.shape == TierShape::Whole => {
                    let rate = t.rate_at(total);
                    Earned { rule: Rule::Tier, base, rate: Some(rate), amount: base * rate / MAX_RATE }
                }
                (None, Some(t)) => {
                    let amount = t.pay(running + base) - t.pay(running);
                    running += base;
                    let rate = (!base.is_zero()).then(|| {
                        (amount * MAX_RATE / base).round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
                    });
                    Earned { rule: Rule::Tier, base, rate, amount }
                }
                (None, None) => {
                    let rate = self.plan.rules.rate;
                    Earned { rule: Rule::Rate, base, rate: Some(rate), amount: base * rate / MAX_RATE }
                }
            };
            out.push(Earned { amount: fen(earned.amount), ..earned });
        }
        Ok(out)
    }

    fn vars(&self, credit: &Credit, total: Decimal) -> Vars {
        let rate = self.category_rate(credit).unwrap_or(self.plan.rules.rate) / MAX_RATE;
        Vars {
            amount: credit.gross,
            net: credit.net,
            margin: credit.margin,
            received: credit.received,
            base: self.base_of(credit),
            rate,
            total,
            category: credit.category_name.clone(),
        }
    }

    /// What the plan pays on one sample credit, with each step: the formula's, or the one
    /// rule that applies (`total` is the rep's period base, for tiers).
    pub fn preview(&self, credit: &Credit, total: Decimal) -> Result<(Earned, Vec<Step>), FormulaError> {
        let mut steps = Vec::new();
        if let Some(formula) = &self.formula {
            let tiers = self.plan.rules.tiers.as_ref();
            let pay = |x: Decimal| tiers.map_or(Decimal::ZERO, |t| t.pay(x));
            let amount = formula.evaluate(&self.vars(credit, total), &pay, Some(&mut steps))?;
            let base = self.base_of(credit);
            return Ok((Earned { rule: Rule::Formula, base, rate: None, amount: fen(amount) }, steps));
        }
        // The sample comes after credits worth `total - base` in the period.
        let base = self.base_of(credit);
        let before = Credit { gross: total - base, net: total - base, margin: total - base, ..credit.clone() };
        let both = [before, credit.clone()];
        let earned =
            self.earn(&both)?.pop().unwrap_or(Earned { rule: Rule::Rate, base, rate: None, amount: Decimal::ZERO });
        steps.push(Step {
            expression: format!("base ({})", self.plan.base.as_str()),
            value: base.normalize().to_string(),
        });
        if let Some(rate) = earned.rate {
            steps.push(Step {
                expression: format!("rate ({})", earned.rule.as_str()),
                value: format!("{}%", rate.normalize()),
            });
        }
        steps.push(Step { expression: "commission".into(), value: earned.amount.normalize().to_string() });
        Ok((earned, steps))
    }
}

/// Splits `amount` between shares (fractions that add up to 1) so that the parts, each to
/// the ten-thousandth, add up to `amount` exactly: the last share takes the remainder.
pub fn split(amount: Decimal, shares: &[Decimal]) -> Vec<Decimal> {
    let mut parts = Vec::with_capacity(shares.len());
    let mut left = amount;
    for (i, share) in shares.iter().enumerate() {
        let part = if i + 1 == shares.len() {
            left
        } else {
            (amount * share).round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
        };
        left -= part;
        parts.push(part);
    }
    parts
}

/// Checks a contract's split (业绩分配): each user once, each share above 0, together 100.
pub fn check_split(shares: &[(UserId, Decimal)]) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    if shares.is_empty() || shares.len() > 20 {
        invalid.push(FieldError::new("shares", ErrorCode::Invalid, "1 to 20 shares"));
    }
    for (i, (user, percent)) in shares.iter().enumerate() {
        if *percent <= Decimal::ZERO || *percent > MAX_RATE || percent.normalize().scale() > 2 {
            let message = "a share above 0 and up to 100 percent, at most 2 places";
            invalid.push(FieldError::new(format!("shares.{i}.percent"), ErrorCode::Invalid, message));
        }
        if shares[..i].iter().any(|(u, _)| u == user) {
            invalid.push(FieldError::new(format!("shares.{i}.userId"), ErrorCode::Invalid, "each user once"));
        }
    }
    let total: Decimal = shares.iter().map(|(_, p)| *p).sum();
    if !shares.is_empty() && total != MAX_RATE {
        invalid.push(FieldError::new("shares", ErrorCode::Invalid, format!("shares add up to {total}, not 100")));
    }
    invalid.into_result()
}

/// Checks an adjustment: a non-zero amount to the fen and a reason.
pub fn check_adjustment(amount: Decimal, reason: &str) -> Result<String, Invalid> {
    let mut invalid = Invalid::default();
    if amount.is_zero() || amount.abs() > Decimal::from(100_000_000) || amount.normalize().scale() > 2 {
        invalid.push(FieldError::new("amount", ErrorCode::Invalid, "a non-zero amount to the fen, up to 100,000,000"));
    }
    let reason = reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 500 {
        invalid.push(FieldError::new("reason", ErrorCode::Invalid, "a reason of 1 to 500 characters"));
    }
    invalid.into_result().map(|()| reason)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::str::FromStr;

    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn tiers(shape: TierShape) -> Tiers {
        // 0–100k at 2 %, 100k–300k at 3 %, above 300k at 5 %.
        let band = |from: &str, rate: &str| Band { from: d(from), rate: d(rate) };
        Tiers { shape, bands: vec![band("0", "2"), band("100000", "3"), band("300000", "5")] }
    }

    fn plan(rules: PlanRules) -> PlanFields {
        PlanFields {
            name: "2026 销售提成".into(),
            earned_on: EarnedOn::Signing,
            base: BaseAmount::Gross,
            rules,
            members: vec![Member { kind: MemberKind::Role, id: Uuid::nil() }],
            effective_from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            effective_to: None,
            active: true,
        }
    }

    fn credit(gross: &str) -> Credit {
        Credit {
            day: NaiveDate::from_ymd_opt(2026, 11, 3).unwrap(),
            order: Uuid::now_v7(),
            gross: d(gross),
            net: d(gross) / d("1.13"),
            margin: d(gross) / d("2"),
            received: Decimal::ZERO,
            categories: vec![],
            category_name: String::new(),
        }
    }

    #[test]
    fn progressive_tiers_pay_each_band_at_its_own_rate_across_the_edges() {
        let cases = [
            ("0", "0"),
            ("50000", "1000"),
            ("99999.99", "1999.9998"),
            ("100000", "2000"),
            ("100000.01", "2000.0003"),
            ("300000", "8000"),
            ("300001", "8000.05"),
            ("500000", "18000"),
            ("-1000", "-20"),
        ];
        let t = tiers(TierShape::Progressive);
        for (amount, paid) in cases {
            assert_eq!(t.pay(d(amount)), d(paid), "{amount}");
        }
    }

    #[test]
    fn whole_amount_tiers_pay_the_reached_rate_on_everything() {
        let cases = [("99999.99", "1999.9998"), ("100000", "3000"), ("299999", "8999.97"), ("300000", "15000")];
        let t = tiers(TierShape::Whole);
        for (amount, paid) in cases {
            assert_eq!(t.pay(d(amount)), d(paid), "{amount}");
        }
    }

    #[test]
    fn progressive_lines_add_up_to_the_tiers_on_the_total_and_round_to_the_fen() {
        let rules = PlanRules { tiers: Some(tiers(TierShape::Progressive)), ..PlanRules::default() };
        let fields = plan(rules);
        let calc = Calculator::new(&fields).unwrap();
        let credits = [credit("80000"), credit("70000"), credit("200000.33")];
        let earned = calc.earn(&credits).unwrap();
        let amounts: Vec<Decimal> = earned.iter().map(|e| e.amount).collect();
        // 80k at 2 %; 20k at 2 % + 50k at 3 %; 150k at 3 % + 50000.33 at 5 % (2500.0165 → .02).
        assert_eq!(amounts, [d("1600"), d("1900"), d("7000.02")]);
        assert_eq!(earned[1].rate, Some(d("2.7143")));
        assert!(earned.iter().all(|e| e.rule == Rule::Tier));
    }

    #[test]
    fn whole_amount_lines_take_the_rate_the_period_total_reaches() {
        let rules = PlanRules { tiers: Some(tiers(TierShape::Whole)), ..PlanRules::default() };
        let fields = plan(rules);
        let earned = Calculator::new(&fields).unwrap().earn(&[credit("80000"), credit("30000.5")]).unwrap();
        assert_eq!(earned.iter().map(|e| e.amount).collect::<Vec<_>>(), [d("2400"), d("900.02")]);
        assert_eq!(earned[0].rate, Some(d("3")));
    }

    #[test]
    fn a_category_rate_beats_tiers_and_reaches_sub_categories() {
        let (parent, child) = (Uuid::now_v7(), Uuid::now_v7());
        let rules = PlanRules {
            rate: d("1"),
            category_rates: vec![CategoryRate { category_id: parent, rate: d("6.5") }],
            tiers: None,
            ..PlanRules::default()
        };
        let fields = plan(rules);
        let calc = Calculator::new(&fields).unwrap();
        let in_child = Credit { categories: vec![child, parent], ..credit("1000.10") };
        let earned = calc.earn(&[in_child, credit("1000")]).unwrap();
        assert_eq!((earned[0].rule, earned[0].amount), (Rule::Category, d("65.01")));
        assert_eq!((earned[1].rule, earned[1].amount), (Rule::Rate, d("10")));
    }

    #[test]
    fn the_net_base_pays_on_the_margin_and_a_formula_reads_every_variable() {
        let mut fields = plan(PlanRules { rate: d("10"), ..PlanRules::default() });
        fields.base = BaseAmount::Net;
        let earned = Calculator::new(&fields).unwrap().earn(&[credit("11300")]).unwrap();
        assert_eq!((earned[0].base, earned[0].amount), (d("5650"), d("565")));

        fields.rules.formula = Some("if(margin > 5000, margin * rate + 100, 0)".into());
        let calc = Calculator::new(&fields).unwrap();
        assert_eq!(calc.earn(&[credit("11300"), credit("100")]).unwrap()[0].amount, d("665"));
        let (earned, steps) = calc.preview(&credit("11300"), d("11300")).unwrap();
        assert_eq!(earned.amount, d("665"));
        assert_eq!(steps.last().unwrap().value, "665");
    }

    #[test]
    fn plans_check_their_fields_and_overlap_by_date() {
        let mut bad = plan(PlanRules {
            rate: d("101"),
            tiers: Some(Tiers { shape: TierShape::Whole, bands: vec![Band { from: d("5"), rate: d("1") }] }),
            formula: Some("amount * bonus".into()),
            new_customer_bonus: Some(d("-1")),
            ..PlanRules::default()
        });
        bad.members.clear();
        bad.effective_to = NaiveDate::from_ymd_opt(2025, 1, 1);
        let fields: Vec<String> = bad.check().unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "rules.rate",
                "rules.tiers.bands.0.from",
                "rules.newCustomerBonus",
                "rules.formula",
                "members",
                "effectiveTo"
            ]
        );
        let a = plan(PlanRules::default());
        let mut b = a.clone();
        b.effective_from = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert!(a.overlaps(&b));
        let mut closed = a.clone();
        closed.effective_to = NaiveDate::from_ymd_opt(2026, 12, 31);
        assert!(!closed.overlaps(&b));
        assert!(closed.applies_on(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()));
    }

    #[test]
    fn splits_and_periods() {
        assert_eq!(split(d("100.0001"), &[d("0.3333"), d("0.6667")]), [d("33.33"), d("66.6701")]);
        assert_eq!(split(d("0.0003"), &[d("0.5"), d("0.5")]), [d("0.0002"), d("0.0001")]);
        let (a, b) = (UserId::new(), UserId::new());
        assert!(check_split(&[(a, d("70")), (b, d("30"))]).is_ok());
        assert!(check_split(&[(a, d("70")), (b, d("20"))]).is_err());
        assert!(check_split(&[(a, d("50")), (a, d("50"))]).is_err());
        let p = Period::parse("2026-12").unwrap();
        assert_eq!((p.first_day().to_string(), p.last_day().to_string()), ("2026-12-01".into(), "2026-12-31".into()));
        assert_eq!(p.next().to_string(), "2027-01");
        for bad in ["2026-13", "26-1", "2026-+1", "2026-1 "] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }
}
