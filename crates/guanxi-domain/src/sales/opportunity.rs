//! Opportunities (商机) and the funnel (销售漏斗).
//!
//! A tenant's pipelines each hold an ordered list of stages. Open stages carry a win
//! probability; every pipeline ends in exactly one won stage (100 %) and one lost stage
//! (0 %). An opportunity sits in one stage; moving it records a stage change, and a lost
//! deal needs a reason (WuKong and Salesforce both ask for one). The funnel counts the
//! opportunities in each stage, weights open amounts by probability, and measures how many
//! that reached a stage went on to the next.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::customers::customer::{optional_text, parse_amount};
use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{CustomerId, OpportunityId, PipelineId, StageId, TenantId, UserId};

text_enum! {
    /// Whether a stage is still in play, or closes the deal won or lost.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum StageKind {
        Open => "OPEN", "进行中";
        Won => "WON", "赢单";
        Lost => "LOST", "输单";
    }
}

/// One stage of a pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    pub id: StageId,
    pub pipeline_id: PipelineId,
    pub name: String,
    /// 0-based place in the pipeline; open stages come first, then won, then lost.
    pub position: i32,
    /// Win probability in percent.
    pub probability: u8,
    pub kind: StageKind,
}

/// A sales pipeline with its stages in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipeline {
    pub id: PipelineId,
    pub tenant_id: TenantId,
    pub name: String,
    pub is_default: bool,
    pub stages: Vec<Stage>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Pipeline {
    pub fn stage(&self, id: StageId) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    /// Where a new opportunity starts: the first open stage.
    pub fn first_open(&self) -> Option<&Stage> {
        self.stages.iter().filter(|s| s.kind == StageKind::Open).min_by_key(|s| s.position)
    }
}

/// A stage as a tenant describes it when creating a pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageDraft {
    pub name: String,
    pub probability: u8,
    pub kind: StageKind,
}

/// The stages every tenant's default pipeline starts with (a common B2B sales process).
pub fn default_stages() -> Vec<StageDraft> {
    [
        ("初步接洽", 10, StageKind::Open),
        ("需求确认", 30, StageKind::Open),
        ("方案报价", 50, StageKind::Open),
        ("谈判审核", 70, StageKind::Open),
        ("赢单", 100, StageKind::Won),
        ("输单", 0, StageKind::Lost),
    ]
    .into_iter()
    .map(|(name, probability, kind)| StageDraft { name: name.to_owned(), probability, kind })
    .collect()
}

/// Checks a pipeline's stages and puts them in pipeline order (open stages as given, then
/// won, then lost): one to twenty open stages with distinct names, probabilities of
/// 0–100 that never fall from one open stage to the next, exactly one won stage (100 %)
/// and one lost stage (0 %).
pub fn check_stages(drafts: Vec<StageDraft>) -> Result<Vec<StageDraft>, Invalid> {
    let mut invalid = Invalid::default();
    let mut names = BTreeSet::new();
    for (i, stage) in drafts.iter().enumerate() {
        let field = format!("stages.{i}.name");
        let name = stage.name.trim();
        if name.is_empty() || name.chars().count() > 30 {
            invalid.push(FieldError::new(field, ErrorCode::Invalid, "a stage name has 1 to 30 characters"));
        } else if !names.insert(name.to_owned()) {
            invalid.push(FieldError::new(field, ErrorCode::Duplicate, "two stages have the same name"));
        }
        if stage.probability > 100 {
            invalid.push(FieldError::new(
                format!("stages.{i}.probability"),
                ErrorCode::Invalid,
                "a probability is 0 to 100",
            ));
        }
    }
    let count = |kind| drafts.iter().filter(|s| s.kind == kind).count();
    let open = count(StageKind::Open);
    if !(1..=20).contains(&open) {
        invalid.push(FieldError::new("stages", ErrorCode::Invalid, "a pipeline has 1 to 20 open stages"));
    }
    if count(StageKind::Won) != 1 || count(StageKind::Lost) != 1 {
        invalid.push(FieldError::new(
            "stages",
            ErrorCode::Invalid,
            "a pipeline has exactly one won and one lost stage",
        ));
    }
    let open_probabilities: Vec<u8> =
        drafts.iter().filter(|s| s.kind == StageKind::Open).map(|s| s.probability).collect();
    if open_probabilities.windows(2).any(|w| w[1] < w[0]) {
        invalid.push(FieldError::new(
            "stages",
            ErrorCode::Invalid,
            "an open stage's probability is not below the one before it",
        ));
    }
    invalid.into_result()?;
    let mut ordered: Vec<StageDraft> = drafts
        .into_iter()
        .map(|mut s| {
            s.name = s.name.trim().to_owned();
            match s.kind {
                StageKind::Won => s.probability = 100,
                StageKind::Lost => s.probability = 0,
                StageKind::Open => {}
            }
            s
        })
        .collect();
    ordered.sort_by_key(|s| s.kind);
    Ok(ordered)
}

/// The editable fields of an opportunity, checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpportunityFields {
    pub name: String,
    /// The expected deal value in CNY, exact to the fen.
    pub amount: Decimal,
    pub expected_close_date: Option<NaiveDate>,
    pub source: Option<String>,
    pub competitors: Option<String>,
    pub notes: Option<String>,
}

impl OpportunityFields {
    /// Checks every field, collecting all failures.
    pub fn check(self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            invalid.push(FieldError::new("name", ErrorCode::Invalid, "a name has 1 to 100 characters"));
        }
        let amount = invalid.check(parse_amount("amount", self.amount));
        let source = invalid.check(optional_text("source", self.source.as_deref(), 60));
        let competitors = invalid.check(optional_text("competitors", self.competitors.as_deref(), 500));
        let notes = invalid.check(optional_text("notes", self.notes.as_deref(), 4000));
        invalid.into_result()?;
        Ok(Self {
            name,
            amount: amount.unwrap_or_default(),
            expected_close_date: self.expected_close_date,
            source: source.flatten(),
            competitors: competitors.flatten(),
            notes: notes.flatten(),
        })
    }
}

/// A stage an opportunity entered: one row per move, written with the move.
#[derive(Clone, Debug, PartialEq)]
pub struct StageChange {
    pub opportunity_id: OpportunityId,
    /// `None` for the stage the opportunity was created in.
    pub from_stage_id: Option<StageId>,
    pub to_stage_id: StageId,
    pub changed_at: DateTime<Utc>,
    /// Who moved it; `None` for the system.
    pub changed_by: Option<UserId>,
    /// How long the opportunity sat in the stage it left.
    pub seconds_in_from_stage: Option<i64>,
    /// The amount when it moved.
    pub amount: Decimal,
}

/// A possible deal with a customer.
#[derive(Clone, Debug, PartialEq)]
pub struct Opportunity {
    pub id: OpportunityId,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub pipeline_id: PipelineId,
    pub stage_id: StageId,
    pub status: StageKind,
    pub fields: OpportunityFields,
    pub owner_id: Option<UserId>,
    pub stage_entered_at: DateTime<Utc>,
    /// The furthest open or won stage the deal has reached (its position), for the funnel.
    pub reached_position: i32,
    pub closed_at: Option<DateTime<Utc>>,
    /// Why the deal was won or lost.
    pub close_reason: Option<String>,
    /// Where it counts in the forecast.
    pub forecast_category: crate::sales::forecast::ForecastCategory,
    /// The campaign it came from (its source for the campaign's return).
    pub campaign_id: Option<crate::ids::CampaignId>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A checked move from one stage to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageMove {
    pub status: StageKind,
    pub close_reason: Option<String>,
    /// The furthest position reached after the move.
    pub reached_position: i32,
}

/// Checks moving an opportunity from `from` to `to` (both of its pipeline). A lost deal
/// needs a reason; a won one may have one; reopening clears it. Moving to the stage the
/// deal is in is refused, so a retried move is not recorded twice.
pub fn check_move(from: &Stage, to: &Stage, reached: i32, reason: Option<&str>) -> Result<StageMove, FieldError> {
    if from.id == to.id {
        return Err(FieldError::new("stageId", ErrorCode::IllegalState, "the opportunity is already in this stage"));
    }
    let reason = optional_text("reason", reason, 200)?;
    if to.kind == StageKind::Lost && reason.is_none() {
        return Err(FieldError::new("reason", ErrorCode::Required, "say why the deal was lost"));
    }
    Ok(StageMove {
        status: to.kind,
        close_reason: if to.kind == StageKind::Open { None } else { reason },
        reached_position: if to.kind == StageKind::Lost { reached } else { reached.max(to.position) },
    })
}

/// Fen (分) as stored, from a checked amount.
pub fn to_fen(amount: Decimal) -> i64 {
    (amount.round_dp(2) * Decimal::from(100)).trunc().try_into().unwrap_or(i64::MAX)
}

/// A checked amount from stored fen.
pub fn from_fen(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}

/// One stage of the funnel, as the store tallies it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StageTally {
    /// Opportunities now in the stage, and their amount in fen.
    pub count: u64,
    pub amount_fen: i64,
    /// Opportunities whose furthest stage is this one.
    pub furthest: u64,
    /// Completed stays in the stage and their total length in seconds.
    pub stays: u64,
    pub stay_seconds: i64,
}

/// One stage of a computed funnel.
#[derive(Clone, Debug, PartialEq)]
pub struct FunnelStage {
    pub stage: Stage,
    pub count: u64,
    pub amount: Decimal,
    /// The amount times the stage's probability (open stages only; won counts whole).
    pub weighted_amount: Decimal,
    /// Opportunities that reached this stage or a later one (not for the lost stage).
    pub reached: u64,
    /// The share of those that went on to the next open or won stage.
    pub conversion_to_next: Option<f64>,
    pub average_days_in_stage: Option<f64>,
}

/// Builds the funnel from per-stage tallies (keyed by the stage's index in `stages`).
pub fn funnel(stages: &[Stage], tallies: &[StageTally]) -> Vec<FunnelStage> {
    let tally = |i: usize| tallies.get(i).cloned().unwrap_or_default();
    // Stages a deal moves through, in order: open ones, then won.
    let path: Vec<usize> = (0..stages.len()).filter(|&i| stages[i].kind != StageKind::Lost).collect();
    let mut reached = vec![0_u64; stages.len()];
    let mut running = 0;
    for &i in path.iter().rev() {
        running += tally(i).furthest;
        reached[i] = running;
    }
    stages
        .iter()
        .enumerate()
        .map(|(i, stage)| {
            let t = tally(i);
            let amount = from_fen(t.amount_fen);
            let weighted_amount = (amount * Decimal::from(stage.probability) / Decimal::from(100)).round_dp(2);
            let next = path.iter().position(|&p| p == i).and_then(|k| path.get(k + 1)).copied();
            let conversion_to_next = match next {
                Some(n) if reached[i] > 0 => Some(reached[n] as f64 / reached[i] as f64),
                _ => None,
            };
            let average_days_in_stage = (t.stays > 0)
                .then(|| t.stay_seconds as f64 / t.stays as f64 / 86_400.0)
                .map(|d| (d * 10.0).round() / 10.0);
            FunnelStage {
                stage: stage.clone(),
                count: t.count,
                amount,
                weighted_amount,
                reached: if stage.kind == StageKind::Lost { t.count } else { reached[i] },
                conversion_to_next,
                average_days_in_stage,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages() -> Vec<Stage> {
        let pipeline = PipelineId::new();
        check_stages(default_stages())
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, d)| Stage {
                id: StageId::new(),
                pipeline_id: pipeline,
                name: d.name,
                position: i as i32,
                probability: d.probability,
                kind: d.kind,
            })
            .collect()
    }

    #[test]
    fn stages_are_checked_and_ordered() {
        let mut drafts = default_stages();
        drafts.rotate_left(5); // lost first
        let ordered = check_stages(drafts).unwrap_or_default();
        assert_eq!(ordered.len(), 6);
        assert_eq!(ordered[4].kind, StageKind::Won);
        assert_eq!(ordered[5].kind, StageKind::Lost);
        let bad = vec![
            StageDraft { name: "A".into(), probability: 50, kind: StageKind::Open },
            StageDraft { name: "A".into(), probability: 20, kind: StageKind::Open },
            StageDraft { name: "赢".into(), probability: 100, kind: StageKind::Won },
        ];
        let errors = check_stages(bad).err().map(|e| e.0).unwrap_or_default();
        let codes: Vec<(String, ErrorCode)> = errors.into_iter().map(|e| (e.field, e.code)).collect();
        assert!(codes.contains(&("stages.1.name".into(), ErrorCode::Duplicate)), "{codes:?}");
        assert!(codes.iter().filter(|(f, _)| f == "stages").count() == 2, "{codes:?}");
    }

    #[test]
    fn a_lost_deal_needs_a_reason_and_keeps_how_far_it_got() {
        let s = stages();
        let lost = check_move(&s[2], &s[5], 2, None);
        assert_eq!(lost.map_err(|e| e.code), Err(ErrorCode::Required));
        let lost = check_move(&s[2], &s[5], 2, Some("价格太高")).ok();
        assert_eq!(lost.map(|m| (m.status, m.reached_position)), Some((StageKind::Lost, 2)));
        let won = check_move(&s[3], &s[4], 3, None).ok();
        assert_eq!(won.map(|m| m.reached_position), Some(4));
        let back = check_move(&s[3], &s[1], 3, Some("ignored")).ok();
        assert_eq!(back, Some(StageMove { status: StageKind::Open, close_reason: None, reached_position: 3 }));
        assert_eq!(check_move(&s[1], &s[1], 1, None).map_err(|e| e.code), Err(ErrorCode::IllegalState));
    }

    #[test]
    fn the_funnel_counts_who_reached_each_stage() {
        let s = stages();
        // 10 stopped in stage 0, 5 got to 1, 3 to 3, 2 won; 4 are in stage 1 now.
        let mut tallies = vec![StageTally::default(); 6];
        tallies[0].furthest = 10;
        tallies[1].furthest = 5;
        tallies[3].furthest = 3;
        tallies[4].furthest = 2;
        tallies[1].count = 4;
        tallies[1].amount_fen = 1_000_050;
        tallies[1].stays = 2;
        tallies[1].stay_seconds = 3 * 86_400;
        let f = funnel(&s, &tallies);
        let reached: Vec<u64> = f.iter().map(|x| x.reached).collect();
        assert_eq!(reached, vec![20, 10, 5, 5, 2, 0]);
        assert_eq!(f[0].conversion_to_next, Some(0.5));
        assert_eq!(f[3].conversion_to_next, Some(0.4));
        assert_eq!(f[4].conversion_to_next, None);
        assert_eq!(f[1].amount, Decimal::new(1_000_050, 2));
        assert_eq!(f[1].weighted_amount, Decimal::new(300_015, 2));
        assert_eq!(f[1].average_days_in_stage, Some(1.5));
    }

    #[test]
    fn fen_round_trips() {
        let amount = Decimal::new(123_456_789, 2);
        assert_eq!(from_fen(to_fen(amount)), amount);
    }
}
