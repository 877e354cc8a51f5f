//! Marketing campaigns (营销活动), after Salesforce's campaigns and WuKong's 市场活动: a
//! campaign has a type, dates, a budget and an actual cost; leads and customers are its
//! members; deals name it as their source. Its return is what its deals won against what
//! it cost.

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::customers::customer::optional_text;
use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{CampaignId, TenantId, UserId};

/// The most a budget or a cost may be, in yuan.
const MAX_YUAN: i64 = 10_000_000_000;

text_enum! {
    /// What kind of campaign.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum CampaignKind {
        Advertising => "ADVERTISING", "广告";
        Mail => "MAIL", "邮件营销";
        Seminar => "SEMINAR", "研讨会";
        Exhibition => "EXHIBITION", "展会";
        Web => "WEB", "网络营销";
        Other => "OTHER", "其他";
    }
}

text_enum! {
    /// Where a campaign stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum CampaignStatus {
        Planned => "PLANNED", "计划中";
        Active => "ACTIVE", "进行中";
        Completed => "COMPLETED", "已结束";
        Cancelled => "CANCELLED", "已取消";
    }
}

impl CampaignStatus {
    /// Members are added to a campaign that has not ended.
    pub fn takes_members(self) -> bool {
        matches!(self, Self::Planned | Self::Active)
    }
}

/// What the user edits on a campaign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignFields {
    pub name: String,
    pub kind: CampaignKind,
    pub status: CampaignStatus,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    /// In yuan, to the fen.
    pub budget: Decimal,
    /// What it actually cost so far, in yuan, to the fen.
    pub actual_cost: Decimal,
    /// The revenue it is expected to bring, in yuan, to the fen.
    pub expected_revenue: Option<Decimal>,
    pub description: Option<String>,
}

fn check_money(field: &str, amount: Decimal) -> Result<Decimal, FieldError> {
    if amount < Decimal::ZERO || amount > Decimal::from(MAX_YUAN) || amount.normalize().scale() > 2 {
        return Err(FieldError::new(field, ErrorCode::Invalid, format!("{field} is 0 or more, in yuan to the fen")));
    }
    Ok(amount.round_dp(2))
}

impl CampaignFields {
    /// Trims the texts and checks every field, naming each bad one.
    pub fn check(self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        let name = super::checked_name(&self.name, "campaign", &mut invalid);
        if let (Some(start), Some(end)) = (self.starts_on, self.ends_on)
            && end < start
        {
            invalid.push(FieldError::new("endsOn", ErrorCode::Invalid, "a campaign ends on or after its start"));
        }
        let budget = invalid.check(check_money("budget", self.budget));
        let actual_cost = invalid.check(check_money("actualCost", self.actual_cost));
        let expected_revenue = match self.expected_revenue {
            Some(r) => invalid.check(check_money("expectedRevenue", r)).map(Some),
            None => Some(None),
        };
        let description = invalid.check(optional_text("description", self.description.as_deref(), 2000));
        invalid.into_result()?;
        Ok(Self {
            name,
            budget: budget.unwrap_or_default(),
            actual_cost: actual_cost.unwrap_or_default(),
            expected_revenue: expected_revenue.flatten(),
            description: description.flatten(),
            ..self
        })
    }
}

/// A campaign as read back.
#[derive(Clone, Debug, PartialEq)]
pub struct Campaign {
    pub id: CampaignId,
    pub tenant_id: TenantId,
    pub fields: CampaignFields,
    pub owner_id: Option<UserId>,
    pub version: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub deleted_at: Option<chrono::DateTime<chrono::Utc>>,
}

text_enum! {
    /// What a campaign member is.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum MemberKind {
        Customer => "CUSTOMER";
        Lead => "LEAD";
    }
}

/// A campaign's return (投资回报), from the deals that name it as their source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Return {
    /// What the campaign cost.
    pub cost: Decimal,
    pub budget: Decimal,
    /// Won deals, and what they won.
    pub won_deals: i64,
    pub won_amount: Decimal,
    /// Open deals, and their amount.
    pub open_deals: i64,
    pub open_amount: Decimal,
    pub lost_deals: i64,
}

impl Return {
    /// (won − cost) / cost in percent, two places rounded half away from zero (四舍五入);
    /// none while nothing was spent.
    pub fn roi(&self) -> Option<Decimal> {
        if self.cost.is_zero() {
            return None;
        }
        let ratio = (self.won_amount - self.cost) * Decimal::from(100) / self.cost;
        Some(percent(ratio))
    }

    /// What each won yuan cost: cost / won amount, four places; none before a win.
    pub fn cost_per_won_yuan(&self) -> Option<Decimal> {
        if self.won_amount.is_zero() {
            return None;
        }
        let mut per = (self.cost / self.won_amount).round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
        per.rescale(4);
        Some(per)
    }

    /// Spent against budget in percent, two places; none without a budget.
    pub fn budget_used(&self) -> Option<Decimal> {
        if self.budget.is_zero() {
            return None;
        }
        Some(percent(self.cost * Decimal::from(100) / self.budget))
    }
}

/// A percentage to two places, rounded half away from zero (四舍五入), always shown with both.
fn percent(value: Decimal) -> Decimal {
    let mut rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fields() -> CampaignFields {
        CampaignFields {
            name: " 2027 上海工博会 ".into(),
            kind: CampaignKind::Exhibition,
            status: CampaignStatus::Planned,
            starts_on: NaiveDate::from_ymd_opt(2027, 9, 20),
            ends_on: NaiveDate::from_ymd_opt(2027, 9, 24),
            budget: Decimal::new(8_000_000, 2),
            actual_cost: Decimal::ZERO,
            expected_revenue: None,
            description: Some("  ".into()),
        }
    }

    #[test]
    fn check_trims_and_names_every_bad_field() {
        let ok = fields().check().unwrap();
        assert_eq!(ok.name, "2027 上海工博会");
        assert_eq!(ok.description, None);
        let bad = CampaignFields {
            name: " ".into(),
            ends_on: NaiveDate::from_ymd_opt(2027, 9, 1),
            budget: Decimal::new(-1, 0),
            actual_cost: Decimal::new(1001, 3),
            ..fields()
        };
        let fields: Vec<String> = bad.check().unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "endsOn", "budget", "actualCost"]);
    }

    #[test]
    fn roi_is_rounded_half_away_from_zero() {
        let r = Return {
            cost: Decimal::new(30_000, 0),
            budget: Decimal::new(40_000, 0),
            won_amount: Decimal::new(100_000, 0),
            won_deals: 2,
            ..Return::default()
        };
        // (100000 − 30000) / 30000 = 233.333…%
        assert_eq!(r.roi(), Some(Decimal::new(23_333, 2)));
        assert_eq!(r.budget_used(), Some(Decimal::new(7_500, 2)));
        assert_eq!(r.cost_per_won_yuan(), Some(Decimal::new(3_000, 4)));
        let loss = Return { cost: Decimal::new(3, 0), won_amount: Decimal::new(1, 0), ..Return::default() };
        // (1 − 3) / 3 = −66.666…% → −66.67
        assert_eq!(loss.roi(), Some(Decimal::new(-6_667, 2)));
        assert_eq!(Return::default().roi(), None);
    }
}
