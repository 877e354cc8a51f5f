//! The tenant's lead settings (线索设置): lead sources, reasons for UNQUALIFIED, and the
//! scoring rules (评分规则). Everyone who reads leads reads them (a rep needs the lists
//! and the rules' meaning); `settings.manage` changes them.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use guanxi_domain::ErrorCode;
use guanxi_domain::leads::lead::LeadSettings as DomainSettings;
use guanxi_domain::leads::scoring::{LeadAttribute as DomainAttribute, ScoringRule as DomainRule, Trigger};
use guanxi_domain::platform::access::Permission;

use crate::graphql::activity::interaction::Channel;
use crate::graphql::context::{author, require, state};
use crate::graphql::error::{ApiResult, Outcome, UserError};
use crate::graphql::mutation::transact;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainAttribute")]
pub enum LeadAttribute {
    /// 行业 = value
    Industry,
    /// 地区 = value
    Region,
    /// 来源 = value
    Source,
    /// 营销活动 = value
    Campaign,
    /// The company is filled in (no value).
    HasCompany,
    HasPhone,
    HasEmail,
    HasWechat,
}

/// What makes a scoring rule fire.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ScoringTrigger {
    /// An attribute has a value (`attribute`, `value`).
    Attribute,
    /// Each follow-up through `channel`, counted at most `maxTimes`.
    Activity,
    /// No follow-up for `days` (counted from creation when never followed up).
    Inactive,
}

/// A scoring rule (评分规则).
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "ScoringRuleInput")]
pub struct ScoringRule {
    pub name: String,
    pub trigger: ScoringTrigger,
    /// −100 to 100, not 0; for ACTIVITY, per follow-up.
    pub points: i32,
    pub attribute: Option<LeadAttribute>,
    pub value: Option<String>,
    pub channel: Option<Channel>,
    /// ACTIVITY: 1 to 100.
    pub max_times: Option<i32>,
    /// INACTIVE: 1 to 365.
    pub days: Option<i32>,
}

impl From<&DomainRule> for ScoringRule {
    fn from(rule: &DomainRule) -> Self {
        let blank = ScoringRule {
            name: rule.name.clone(),
            trigger: ScoringTrigger::Attribute,
            points: rule.points,
            attribute: None,
            value: None,
            channel: None,
            max_times: None,
            days: None,
        };
        match &rule.trigger {
            Trigger::Attribute { attribute, value } => {
                ScoringRule { attribute: Some((*attribute).into()), value: value.clone(), ..blank }
            }
            Trigger::Activity { channel, max_times } => ScoringRule {
                trigger: ScoringTrigger::Activity,
                channel: Some((*channel).into()),
                max_times: Some(i32::try_from(*max_times).unwrap_or(i32::MAX)),
                ..blank
            },
            Trigger::Inactive { days } => ScoringRule {
                trigger: ScoringTrigger::Inactive,
                days: Some(i32::try_from(*days).unwrap_or(i32::MAX)),
                ..blank
            },
        }
    }
}

impl ScoringRule {
    /// The domain rule, or what the input lacks for its trigger (at `rules.{i}`).
    fn to_domain(&self, i: usize) -> Result<DomainRule, UserError> {
        let missing = |field: &str| {
            UserError::new(
                &format!("rules.{i}.{field}"),
                ErrorCode::Required,
                format!("a {:?} rule needs {field}", self.trigger),
            )
        };
        let count = |n: Option<i32>, field: &str| -> Result<u32, UserError> {
            let n = n.ok_or_else(|| missing(field))?;
            u32::try_from(n)
                .map_err(|_| UserError::new(&format!("rules.{i}.{field}"), ErrorCode::Invalid, "not negative"))
        };
        let trigger = match self.trigger {
            ScoringTrigger::Attribute => Trigger::Attribute {
                attribute: self.attribute.ok_or_else(|| missing("attribute"))?.into(),
                value: self.value.clone(),
            },
            ScoringTrigger::Activity => Trigger::Activity {
                channel: self.channel.ok_or_else(|| missing("channel"))?.into(),
                max_times: count(self.max_times, "maxTimes")?,
            },
            ScoringTrigger::Inactive => Trigger::Inactive { days: count(self.days, "days")? },
        };
        Ok(DomainRule { name: self.name.clone(), trigger, points: self.points })
    }
}

/// The tenant's lead settings.
#[derive(SimpleObject)]
pub struct LeadSettings {
    /// Lead sources (线索来源); a lead's source must be one of them (none: any text).
    sources: Vec<String>,
    /// Reasons a lead is UNQUALIFIED (无效原因).
    unqualified_reasons: Vec<String>,
    /// Scoring rules, applied in order.
    rules: Vec<ScoringRule>,
    /// 0 until the tenant first saves its own.
    version: i32,
}

fn view((settings, version): (DomainSettings, i32)) -> LeadSettings {
    LeadSettings {
        rules: settings.rules.iter().map(Into::into).collect(),
        sources: settings.sources,
        unqualified_reasons: settings.unqualified_reasons,
        version,
    }
}

#[derive(InputObject)]
pub struct UpdateLeadSettingsInput {
    /// The version read (0 before the first save).
    pub expected_version: i32,
    pub sources: Vec<String>,
    pub unqualified_reasons: Vec<String>,
    pub rules: Vec<ScoringRule>,
}

#[derive(SimpleObject)]
pub struct LeadSettingsPayload {
    settings: Option<LeadSettings>,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct LeadSettingsQuery;

#[Object]
impl LeadSettingsQuery {
    /// The tenant's lead sources, unqualified reasons and scoring rules (`lead.read`).
    async fn lead_settings(&self, ctx: &Context<'_>) -> ApiResult<LeadSettings> {
        let actor = require(ctx, Permission::LeadRead)?;
        Ok(view(guanxi_store::leads::settings::get(state(ctx).db.connection(), actor.tenant_id).await?))
    }
}

#[derive(Default)]
pub struct LeadSettingsMutation;

#[Object]
impl LeadSettingsMutation {
    /// Replaces the lead settings (`settings.manage`). New scoring rules rescore every open
    /// lead: the rescoring job works through them in batches within the minute.
    async fn update_lead_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateLeadSettingsInput,
    ) -> ApiResult<LeadSettingsPayload> {
        let actor = require(ctx, Permission::SettingsManage)?;
        let mut errors = Vec::new();
        let rules: Vec<DomainRule> = input
            .rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.to_domain(i).map_err(|e| errors.push(e)).ok())
            .collect();
        if !errors.is_empty() {
            return Ok(LeadSettingsPayload { settings: None, user_errors: errors });
        }
        let settings = DomainSettings { sources: input.sources, unqualified_reasons: input.unqualified_reasons, rules };
        let (author, version) = (author(ctx, actor), input.expected_version);
        let outcome: Outcome<_> = transact(ctx, move |tx| {
            Box::pin(async move { guanxi_store::leads::settings::update(tx, &author, version, settings).await })
        })
        .await?;
        Ok(match outcome {
            Ok(saved) => LeadSettingsPayload { settings: Some(view(saved)), user_errors: vec![] },
            Err(user_errors) => LeadSettingsPayload { settings: None, user_errors },
        })
    }
}
