//! Lead scoring (线索评分): the tenant's rules add or take points for what a lead is
//! (industry = 制造业: +10), what was done with it (each visit: +15, at most three times)
//! and what was not (no follow-up for 30 days: −10). A score comes with its lines, one
//! per rule that fired, so a rep sees why a lead scores what it does.
//!
//! Scoring is a pure function of the rules, the lead's fields, its follow-ups by channel
//! and the clock. Time alone changes a score only when an inactivity rule comes due, so
//! a score also says when it must next be looked at again (`rescore_at`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::activity::interaction::Channel;
use crate::error::{ErrorCode, FieldError, Invalid};
use crate::leads::lead::LeadFields;
use crate::platform::org::required_text;

text_enum! {
    /// What of a lead an attribute rule looks at.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum LeadAttribute {
        Industry => "INDUSTRY", "行业";
        Region => "REGION", "地区";
        Source => "SOURCE", "来源";
        Campaign => "CAMPAIGN", "营销活动";
        /// These four hold when the field is filled in; they take no value.
        HasCompany => "HAS_COMPANY", "有公司名称";
        HasPhone => "HAS_PHONE", "有电话";
        HasEmail => "HAS_EMAIL", "有邮箱";
        HasWechat => "HAS_WECHAT", "有微信";
    }
}

impl LeadAttribute {
    /// Whether the attribute compares with a value (the `HAS_…` ones do not).
    pub fn takes_value(self) -> bool {
        matches!(self, Self::Industry | Self::Region | Self::Source | Self::Campaign)
    }

    fn holds(self, fields: &LeadFields, value: Option<&str>) -> bool {
        let equals = |field: &Option<String>| field.is_some() && field.as_deref() == value;
        match self {
            Self::Industry => equals(&fields.industry),
            Self::Region => equals(&fields.region),
            Self::Source => equals(&fields.source),
            Self::Campaign => equals(&fields.campaign),
            Self::HasCompany => fields.company.is_some(),
            Self::HasPhone => fields.phone.is_some(),
            Self::HasEmail => fields.email.is_some(),
            Self::HasWechat => fields.wechat.is_some(),
        }
    }
}

/// What makes a rule fire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum Trigger {
    /// The lead's attribute has the value (or, for `HAS_…`, is filled in).
    Attribute { attribute: LeadAttribute, value: Option<String> },
    /// Each follow-up through the channel, counted at most `max_times`.
    Activity { channel: Channel, max_times: u32 },
    /// No follow-up (or, never followed up, no change since creation) for `days`.
    Inactive { days: u32 },
}

/// One scoring rule of a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoringRule {
    pub name: String,
    pub trigger: Trigger,
    /// Points per firing, −100 to 100 and not 0.
    pub points: i32,
}

impl ScoringRule {
    /// Checks the rule at place `i` of the tenant's list.
    pub fn check(&mut self, i: usize) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        let field = |name: &str| format!("rules.{i}.{name}");
        match required_text(&field("name"), &self.name, 60) {
            Ok(name) => self.name = name,
            Err(e) => invalid.push(e),
        }
        if self.points == 0 || !(-100..=100).contains(&self.points) {
            invalid.push(FieldError::new(field("points"), ErrorCode::Invalid, "−100 to 100 points, and not 0"));
        }
        match &mut self.trigger {
            Trigger::Attribute { attribute, value } => {
                *value = value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
                match (attribute.takes_value(), value.is_some()) {
                    (true, false) => invalid.push(FieldError::new(
                        field("value"),
                        ErrorCode::Required,
                        "the value the attribute must have",
                    )),
                    (false, true) => invalid.push(FieldError::new(
                        field("value"),
                        ErrorCode::Invalid,
                        format!("{} takes no value", attribute.as_str()),
                    )),
                    _ => {}
                }
            }
            Trigger::Activity { max_times, .. } if !(1..=100).contains(max_times) => {
                invalid.push(FieldError::new(field("maxTimes"), ErrorCode::Invalid, "counted 1 to 100 times"))
            }
            Trigger::Inactive { days } if !(1..=365).contains(days) => {
                invalid.push(FieldError::new(field("days"), ErrorCode::Invalid, "1 to 365 days"))
            }
            _ => {}
        }
        invalid.into_result()
    }
}

/// One rule that fired, in the score's explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreLine {
    pub rule: String,
    pub points: i32,
    /// Why, in words: 行业 = 制造业; 拜访 3 次; 45 天未跟进.
    pub detail: String,
}

/// What a lead is scored on besides its fields.
#[derive(Clone, Copy, Debug)]
pub struct Activity<'a> {
    /// Follow-ups by channel.
    pub by_channel: &'a HashMap<Channel, u32>,
    pub last_activity_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A lead's score, its lines and when the clock alone will next change it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scored {
    pub score: i32,
    pub lines: Vec<ScoreLine>,
    pub rescore_at: Option<DateTime<Utc>>,
}

/// Scores a lead by `rules`, in their order, as of `now`.
pub fn score(rules: &[ScoringRule], fields: &LeadFields, activity: Activity<'_>, now: DateTime<Utc>) -> Scored {
    let mut lines = Vec::new();
    let mut rescore_at: Option<DateTime<Utc>> = None;
    let quiet_since = activity.last_activity_at.map_or(activity.created_at, |a| a.max(activity.created_at));
    for rule in rules {
        let fired = match &rule.trigger {
            Trigger::Attribute { attribute, value } => attribute.holds(fields, value.as_deref()).then(|| {
                let detail = match value {
                    Some(v) => format!("{} = {v}", attribute.label_zh()),
                    None => attribute.label_zh().to_owned(),
                };
                (rule.points, detail)
            }),
            Trigger::Activity { channel, max_times } => {
                let times = activity.by_channel.get(channel).copied().unwrap_or(0).min(*max_times);
                (times > 0).then(|| (rule.points * times as i32, format!("{} {times} 次", channel.label_zh())))
            }
            Trigger::Inactive { days } => {
                let due = quiet_since + Duration::days(i64::from(*days));
                if now >= due {
                    Some((rule.points, format!("{} 天未跟进", (now - quiet_since).num_days())))
                } else {
                    rescore_at = Some(rescore_at.map_or(due, |at| at.min(due)));
                    None
                }
            }
        };
        if let Some((points, detail)) = fired {
            lines.push(ScoreLine { rule: rule.name.clone(), points, detail });
        }
    }
    Scored { score: lines.iter().map(|l| l.points).sum(), lines, rescore_at }
}

/// Rules a company might start from (the demo's and the benchmark's): what a lead is,
/// what was done with it, and what was not.
pub fn example_rules() -> Vec<ScoringRule> {
    let rule = |name: &str, trigger, points| ScoringRule { name: name.to_owned(), trigger, points };
    let attribute = |attribute, value: Option<&str>| Trigger::Attribute { attribute, value: value.map(str::to_owned) };
    vec![
        rule("目标行业：制造业", attribute(LeadAttribute::Industry, Some("制造业")), 10),
        rule("展会来源", attribute(LeadAttribute::Source, Some("展会")), 8),
        rule("留有电话", attribute(LeadAttribute::HasPhone, None), 5),
        rule("有公司名称", attribute(LeadAttribute::HasCompany, None), 5),
        rule("上门拜访", Trigger::Activity { channel: Channel::Visit, max_times: 3 }, 15),
        rule("电话沟通", Trigger::Activity { channel: Channel::Call, max_times: 5 }, 3),
        rule("30 天未跟进", Trigger::Inactive { days: 30 }, -10),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule(name: &str, trigger: Trigger, points: i32) -> ScoringRule {
        ScoringRule { name: name.into(), trigger, points }
    }

    fn rules() -> Vec<ScoringRule> {
        vec![
            rule(
                "制造业加分",
                Trigger::Attribute { attribute: LeadAttribute::Industry, value: Some("制造业".into()) },
                10,
            ),
            rule("留了电话", Trigger::Attribute { attribute: LeadAttribute::HasPhone, value: None }, 5),
            rule("拜访", Trigger::Activity { channel: Channel::Visit, max_times: 2 }, 15),
            rule("电话", Trigger::Activity { channel: Channel::Call, max_times: 5 }, 3),
            rule("30 天未跟进", Trigger::Inactive { days: 30 }, -10),
        ]
    }

    #[test]
    fn a_score_adds_the_rules_that_fire_and_says_which() {
        let created = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let fields = LeadFields {
            name: "张伟".into(),
            industry: Some("制造业".into()),
            phone: Some("13800138000".into()),
            ..Default::default()
        };
        let by_channel = HashMap::from([(Channel::Visit, 3), (Channel::Call, 1)]);
        let last = created + Duration::days(2);
        let activity = Activity { by_channel: &by_channel, last_activity_at: Some(last), created_at: created };
        // Day 10: 10 + 5 + 2 × 15 (capped at two visits) + 3; the inactivity rule is due on day 32.
        let early = score(&rules(), &fields, activity, created + Duration::days(10));
        assert_eq!(early.score, 48);
        let details: Vec<(&str, i32, &str)> =
            early.lines.iter().map(|l| (l.rule.as_str(), l.points, l.detail.as_str())).collect();
        assert_eq!(
            details,
            [
                ("制造业加分", 10, "行业 = 制造业"),
                ("留了电话", 5, "有电话"),
                ("拜访", 30, "拜访 2 次"),
                ("电话", 3, "电话 1 次")
            ]
        );
        assert_eq!(early.rescore_at, Some(last + Duration::days(30)));
        // Day 40: the inactivity rule has fired and nothing is due any more.
        let late = score(&rules(), &fields, activity, created + Duration::days(40));
        assert_eq!((late.score, late.rescore_at), (38, None));
        assert_eq!(late.lines.last().unwrap().detail, "38 天未跟进");
    }

    #[test]
    fn rules_are_checked() {
        let mut bad = rule("", Trigger::Attribute { attribute: LeadAttribute::Industry, value: Some(" ".into()) }, 0);
        let fields: Vec<String> = bad.check(3).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["rules.3.name", "rules.3.points", "rules.3.value"]);
        let mut has = rule("x", Trigger::Attribute { attribute: LeadAttribute::HasEmail, value: Some("a".into()) }, 1);
        assert!(has.check(0).is_err());
        let mut inactive = rule("x", Trigger::Inactive { days: 0 }, -5);
        assert!(inactive.check(0).is_err());
        let mut times = rule("x", Trigger::Activity { channel: Channel::Visit, max_times: 0 }, 5);
        assert!(times.check(0).is_err());
    }

    #[test]
    fn rules_round_trip_as_stored() {
        let stored = serde_json::to_value(rules()).unwrap();
        assert_eq!(stored[2]["trigger"], serde_json::json!({"kind": "ACTIVITY", "channel": "VISIT", "maxTimes": 2}));
        let back: Vec<ScoringRule> = serde_json::from_value(stored).unwrap();
        assert_eq!(back, rules());
    }
}
