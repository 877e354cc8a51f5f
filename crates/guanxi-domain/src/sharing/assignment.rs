//! Assignment rules (分配规则): who gets a new customer that arrives without an owner.
//!
//! Rules are tried in priority order; the first active one whose conditions match the
//! arrival and that has someone to give it to wins. A rule gives in turn to its members
//! (`ROUND_ROBIN`; `BY_RULE`, which must name conditions) or by their capacity
//! (`CAPACITY`, after Odoo's team members: a member takes at most `capacity` a 30 days,
//! and each day round(capacity / 30) minus what they received in the last 24 hours).
//! Members who opted out are skipped. The choice depends only on the rule, its turn
//! counter and the members' counts, so the same input and state give the same owner.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::UserId;

text_enum! {
    /// How a rule chooses among its members.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum AssignmentMode {
        /// In turn, over every member who has not opted out.
        RoundRobin => "ROUND_ROBIN", "轮流分配";
        /// In turn, like ROUND_ROBIN, for the arrivals its conditions match (it must name some).
        ByRule => "BY_RULE", "按规则分配";
        /// To the member with the most of today's quota left.
        Capacity => "CAPACITY", "按容量分配";
    }
}

text_enum! {
    /// What a rule hands out.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum AssignmentSubject {
        /// New customers without an owner (created, imported, ingested).
        Customers => "CUSTOMERS", "客户";
        /// New leads without an owner.
        Leads => "LEADS", "线索";
    }
}

/// At most this many members in a rule.
pub const MAX_MEMBERS: usize = 100;

/// What an arrival must match: each list empty means any value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditions {
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub industries: Vec<String>,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub levels: Vec<String>,
}

/// The attributes of a new customer that rules match on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Arrival {
    /// The region, or else the province.
    pub region: Option<String>,
    pub industry: Option<String>,
    pub source: Option<String>,
    pub level: Option<String>,
}

impl Conditions {
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty() && self.industries.is_empty() && self.sources.is_empty() && self.levels.is_empty()
    }

    /// Whether `arrival` meets every non-empty list.
    pub fn matches(&self, arrival: &Arrival) -> bool {
        let meets = |list: &[String], value: &Option<String>| {
            list.is_empty() || value.as_ref().is_some_and(|v| list.iter().any(|l| l == v))
        };
        meets(&self.regions, &arrival.region)
            && meets(&self.industries, &arrival.industry)
            && meets(&self.sources, &arrival.source)
            && meets(&self.levels, &arrival.level)
    }
}

/// One member of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMember {
    pub user_id: UserId,
    /// Customers a 30 days (CAPACITY rules).
    #[serde(default)]
    pub capacity: i32,
    #[serde(default)]
    pub opted_out: bool,
}

impl RuleMember {
    /// Today's quota: round(capacity / 30), halves away from zero.
    pub fn daily_quota(&self) -> i64 {
        (i64::from(self.capacity) + 15) / 30
    }
}

/// A rule's settings, as created or replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSettings {
    pub name: String,
    /// Customers or leads.
    pub applies_to: AssignmentSubject,
    pub priority: i32,
    pub mode: AssignmentMode,
    pub conditions: Conditions,
    pub members: Vec<RuleMember>,
    pub active: bool,
}

impl RuleSettings {
    /// Checks a rule: a name, members (each once, at most [`MAX_MEMBERS`]), conditions for
    /// `BY_RULE`, and a positive capacity for each member of a `CAPACITY` rule.
    pub fn check(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        if let Some(name) = invalid.check(crate::platform::org::required_text("name", &self.name, 100)) {
            self.name = name;
        }
        if self.members.is_empty() {
            invalid.push(FieldError::new("members", ErrorCode::Required, "name at least one member"));
        }
        if self.members.len() > MAX_MEMBERS {
            invalid.push(FieldError::new("members", ErrorCode::Invalid, format!("at most {MAX_MEMBERS} members")));
        }
        let mut seen = BTreeSet::new();
        for (i, member) in self.members.iter().enumerate() {
            if !seen.insert(member.user_id) {
                invalid.push(FieldError::new(format!("members.{i}.userId"), ErrorCode::Duplicate, "named twice"));
            }
            // Below 15 a 30 days the daily quota rounds to nothing.
            let bad_capacity = match self.mode {
                AssignmentMode::Capacity => !(15..=100_000).contains(&member.capacity),
                _ => member.capacity < 0,
            };
            if bad_capacity {
                invalid.push(FieldError::new(
                    format!("members.{i}.capacity"),
                    ErrorCode::Invalid,
                    "a capacity of 15 to 100,000 customers a 30 days (at least one a day)",
                ));
            }
        }
        for list in [
            &mut self.conditions.regions,
            &mut self.conditions.industries,
            &mut self.conditions.sources,
            &mut self.conditions.levels,
        ] {
            for value in list.iter_mut() {
                *value = value.trim().to_owned();
            }
            list.retain(|v| !v.is_empty());
            list.sort();
            list.dedup();
        }
        if self.mode == AssignmentMode::ByRule && self.conditions.is_empty() {
            invalid.push(FieldError::new("conditions", ErrorCode::Required, "a BY_RULE rule names what it matches"));
        }
        invalid.into_result()?;
        Ok(self)
    }

    /// The member this rule gives its next arrival to, if any: `turn` is the rule's turn
    /// counter before this arrival; `received(i)` is what member `i` received in the last
    /// 24 hours (CAPACITY only).
    pub fn pick(&self, turn: i64, received: impl Fn(usize) -> i64) -> Option<UserId> {
        let eligible: Vec<(usize, &RuleMember)> =
            self.members.iter().enumerate().filter(|(_, m)| !m.opted_out).collect();
        if eligible.is_empty() {
            return None;
        }
        match self.mode {
            AssignmentMode::RoundRobin | AssignmentMode::ByRule => {
                let n = eligible.len() as i64;
                Some(eligible[turn.rem_euclid(n) as usize].1.user_id)
            }
            // The most quota left; on a tie the member listed first.
            AssignmentMode::Capacity => eligible
                .iter()
                .map(|(i, m)| (m.daily_quota() - received(*i), *i, m.user_id))
                .filter(|(left, _, _)| *left > 0)
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
                .map(|(_, _, user)| user),
        }
    }
}

/// A rule as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssignmentRule {
    pub id: uuid::Uuid,
    pub settings: RuleSettings,
    /// How many arrivals the rule has taken a turn for.
    pub turns: i64,
    pub version: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule(mode: AssignmentMode, members: &[(UserId, i32, bool)]) -> RuleSettings {
        RuleSettings {
            name: "华东轮流".into(),
            applies_to: AssignmentSubject::Customers,
            priority: 1,
            mode,
            conditions: Conditions::default(),
            members: members
                .iter()
                .map(|(user_id, capacity, opted_out)| RuleMember {
                    user_id: *user_id,
                    capacity: *capacity,
                    opted_out: *opted_out,
                })
                .collect(),
            active: true,
        }
    }

    #[test]
    fn round_robin_takes_turns_and_skips_who_opted_out() {
        let (a, b, c) = (UserId::new(), UserId::new(), UserId::new());
        let r = rule(AssignmentMode::RoundRobin, &[(a, 0, false), (b, 0, true), (c, 0, false)]);
        let picked: Vec<_> = (0..4).map(|turn| r.pick(turn, |_| 0).unwrap()).collect();
        assert_eq!(picked, [a, c, a, c]);
        assert_eq!(rule(AssignmentMode::RoundRobin, &[(a, 0, true)]).pick(0, |_| 0), None);
    }

    #[test]
    fn capacity_gives_to_the_most_quota_left_and_stops_at_zero() {
        let (a, b) = (UserId::new(), UserId::new());
        // 60 a month: 2 a day; 30: 1 a day; 44: 1 (1.47 rounds down); 45: 2 (1.5 rounds up).
        let r = rule(AssignmentMode::Capacity, &[(a, 60, false), (b, 30, false)]);
        assert_eq!((r.members[0].daily_quota(), r.members[1].daily_quota()), (2, 1));
        assert_eq!(RuleMember { user_id: a, capacity: 44, opted_out: false }.daily_quota(), 1);
        assert_eq!(RuleMember { user_id: a, capacity: 45, opted_out: false }.daily_quota(), 2);
        let mut received = [0, 0];
        let mut picked = Vec::new();
        while let Some(user) = r.pick(0, |i| received[i]) {
            let i = usize::from(user == b);
            received[i] += 1;
            picked.push(user);
        }
        assert_eq!(picked, [a, a, b], "a tie goes to the member listed first");
    }

    #[test]
    fn conditions_match_every_named_list() {
        let conditions =
            Conditions { industries: vec!["制造业".into()], regions: vec!["华东".into()], ..Default::default() };
        let arrival = |industry: &str, region: Option<&str>| Arrival {
            industry: Some(industry.into()),
            region: region.map(Into::into),
            ..Default::default()
        };
        assert!(conditions.matches(&arrival("制造业", Some("华东"))));
        assert!(!conditions.matches(&arrival("制造业", None)));
        assert!(!conditions.matches(&arrival("金融", Some("华东"))));
        assert!(Conditions::default().matches(&Arrival::default()));
    }

    #[test]
    fn a_rule_is_checked() {
        let a = UserId::new();
        let fields = |r: RuleSettings| r.check().unwrap_err().0.into_iter().map(|e| e.field).collect::<Vec<_>>();
        let mut bad = rule(AssignmentMode::ByRule, &[(a, 0, false), (a, 0, false)]);
        bad.name = " ".into();
        assert_eq!(fields(bad), ["name", "members.1.userId", "conditions"]);
        assert_eq!(fields(rule(AssignmentMode::Capacity, &[(a, 0, false)])), ["members.0.capacity"]);
        assert_eq!(fields(rule(AssignmentMode::RoundRobin, &[])), ["members"]);
        let mut blank = rule(AssignmentMode::ByRule, &[(a, 0, false)]);
        blank.conditions.industries = vec![" ".into()];
        assert_eq!(fields(blank), ["conditions"], "blank values name nothing");
        assert_eq!(fields(rule(AssignmentMode::Capacity, &[(a, 14, false)])), ["members.0.capacity"]);
        let mut good = rule(AssignmentMode::ByRule, &[(a, 0, false)]);
        good.conditions.industries = vec![" 制造业 ".into(), "制造业".into(), "".into()];
        assert_eq!(good.check().unwrap().conditions.industries, ["制造业"]);
    }
}
