//! A lead (线索): a person or company that may buy, before anyone knows them well enough
//! to call them a customer. Reps work a lead (WORKING), judge it (QUALIFIED, or
//! UNQUALIFIED with a reason from the tenant's list, kept for analysis) and convert it
//! into a customer, a contact and a deal (CONVERTED), after WuKong CRM's and
//! Salesforce's lead life cycle.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::customers::customer::optional_text;
use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{ContactId, CustomerId, LeadId, OpportunityId, TenantId, UserId};
use crate::leads::scoring::{ScoreLine, ScoringRule};
use crate::phone::PhoneNumber;
use crate::platform::org::{Email, required_text};

text_enum! {
    /// Where a lead stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum LeadStatus {
        /// Nobody has worked it yet.
        New => "NEW", "新线索";
        /// Someone follows it up.
        Working => "WORKING", "跟进中";
        /// Worth converting.
        Qualified => "QUALIFIED", "有效线索";
        /// Not worth it, for a reason from the tenant's list.
        Unqualified => "UNQUALIFIED", "无效线索";
        /// Became a customer (with a contact and, usually, a deal).
        Converted => "CONVERTED", "已转化";
    }
}

impl LeadStatus {
    /// Leads still to be worked: what a handover moves and the rescoring job watches.
    pub const OPEN: &'static [LeadStatus] = &[LeadStatus::New, LeadStatus::Working, LeadStatus::Qualified];

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

/// The fields a rep keeps on a lead, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadFields {
    pub name: String,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    /// From the tenant's list of lead sources.
    pub source: Option<String>,
    /// The marketing campaign that brought it.
    pub campaign: Option<String>,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub notes: Option<String>,
}

impl LeadFields {
    /// Trims and checks every field and reports all faults at once: a name, a mainland
    /// phone number, an email address, a source from `settings`' list (when it has one).
    pub fn check(mut self, settings: &LeadSettings) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        if let Some(name) = invalid.check(required_text("name", &self.name, 60)) {
            self.name = name;
        }
        let text = |invalid: &mut Invalid, field: &str, value: &Option<String>, max| {
            invalid.check(optional_text(field, value.as_deref(), max)).flatten()
        };
        self.company = text(&mut invalid, "company", &self.company, 100);
        self.wechat = text(&mut invalid, "wechat", &self.wechat, 60);
        self.source = text(&mut invalid, "source", &self.source, 30);
        self.campaign = text(&mut invalid, "campaign", &self.campaign, 60);
        self.industry = text(&mut invalid, "industry", &self.industry, 30);
        self.region = text(&mut invalid, "region", &self.region, 30);
        self.notes = text(&mut invalid, "notes", &self.notes, 2000);
        self.phone = match self.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(raw) => invalid.check(PhoneNumber::parse("phone", raw)).map(PhoneNumber::into_inner),
        };
        self.email = match self.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(raw) => invalid.check(Email::parse("email", raw)).map(Email::into_inner),
        };
        if let Some(source) = &self.source
            && !settings.sources.is_empty()
            && !settings.sources.contains(source)
        {
            invalid.push(FieldError::new(
                "source",
                ErrorCode::Invalid,
                format!("not one of the tenant's lead sources: {}", settings.sources.join("、")),
            ));
        }
        invalid.into_result().map(|()| self)
    }
}

/// A lead as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Lead {
    pub id: LeadId,
    pub tenant_id: TenantId,
    pub fields: LeadFields,
    pub owner_id: Option<UserId>,
    pub status: LeadStatus,
    pub unqualified_reason: Option<String>,
    pub score: i32,
    /// The rules that fired, as of the last scoring.
    pub score_lines: Vec<ScoreLine>,
    pub last_activity_at: Option<DateTime<Utc>>,
    pub external_id: Option<String>,
    pub customer_id: Option<CustomerId>,
    pub contact_id: Option<ContactId>,
    pub opportunity_id: Option<OpportunityId>,
    pub converted_at: Option<DateTime<Utc>>,
    /// The public pool it waits in (线索公海), when it has no owner.
    pub pool: Option<crate::sales::pool::PoolEntry>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// One follow-up of a lead (线索跟进记录); it moves to the customer's timeline as an
/// interaction when the lead is converted.
#[derive(Clone, Debug, PartialEq)]
pub struct LeadActivity {
    pub id: uuid::Uuid,
    pub lead_id: LeadId,
    pub author_id: Option<UserId>,
    pub channel: crate::activity::interaction::Channel,
    pub occurred_at: DateTime<Utc>,
    pub content: String,
    pub outcome: Option<String>,
    pub next_follow_up_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Where a status change may go. Conversion has its own path (`check_convert`); a
/// converted lead stays converted.
pub fn check_status(
    from: LeadStatus,
    to: LeadStatus,
    reason: Option<&str>,
    settings: &LeadSettings,
) -> Result<Option<String>, Invalid> {
    use LeadStatus as S;
    if to == S::Converted {
        return Err(Invalid::one("status", ErrorCode::IllegalTransition, "convert a lead with convertLead"));
    }
    if from == S::Converted {
        return Err(Invalid::one("status", ErrorCode::IllegalState, "the lead is converted already"));
    }
    if from == to {
        return Err(Invalid::one("status", ErrorCode::IllegalState, format!("the lead is {} already", to.as_str())));
    }
    if to == S::New {
        return Err(Invalid::one(
            "status",
            ErrorCode::IllegalTransition,
            "a lead that was worked is not new again; reopen it as WORKING",
        ));
    }
    if to != S::Unqualified {
        return match reason.map(str::trim).filter(|r| !r.is_empty()) {
            Some(_) => Err(Invalid::one("reason", ErrorCode::Invalid, "only UNQUALIFIED takes a reason")),
            None => Ok(None),
        };
    }
    let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return Err(Invalid::one("reason", ErrorCode::Required, "say why the lead is unqualified"));
    };
    if !settings.unqualified_reasons.iter().any(|r| r == reason) {
        return Err(Invalid::one(
            "reason",
            ErrorCode::Invalid,
            format!("not one of the tenant's reasons: {}", settings.unqualified_reasons.join("、")),
        ));
    }
    Ok(Some(reason.to_owned()))
}

/// A lead may be converted while it is open.
pub fn check_convert(status: LeadStatus) -> Result<(), Invalid> {
    match status {
        LeadStatus::Converted => Err(Invalid::one("id", ErrorCode::IllegalState, "the lead is converted already")),
        LeadStatus::Unqualified => Err(Invalid::one(
            "id",
            ErrorCode::IllegalState,
            "an unqualified lead is reopened (WORKING) before it is converted",
        )),
        _ => Ok(()),
    }
}

/// A tenant's lead settings: its lists and its scoring rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadSettings {
    /// Lead sources (线索来源); empty: any text.
    pub sources: Vec<String>,
    /// Reasons a lead is unqualified (无效原因); at least one.
    pub unqualified_reasons: Vec<String>,
    pub rules: Vec<ScoringRule>,
}

/// At most this many entries in a list, and scoring rules.
pub const MAX_LIST: usize = 50;

impl Default for LeadSettings {
    fn default() -> Self {
        let list = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        Self {
            sources: list(&["官网", "展会", "电话咨询", "转介绍", "广告投放", "线上活动", "其他"]),
            unqualified_reasons: list(&["无购买需求", "预算不足", "联系方式无效", "已选竞争对手", "重复线索", "其他"]),
            rules: Vec::new(),
        }
    }
}

impl LeadSettings {
    /// Trims the lists (each entry once, at most 30 characters, at most [`MAX_LIST`]) and
    /// checks every rule.
    pub fn check(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        for (field, list) in [("sources", &mut self.sources), ("unqualifiedReasons", &mut self.unqualified_reasons)] {
            let mut seen = std::collections::BTreeSet::new();
            for (i, entry) in list.iter_mut().enumerate() {
                match required_text(&format!("{field}.{i}"), entry, 30) {
                    Ok(text) if !seen.insert(text.clone()) => {
                        invalid.push(FieldError::new(format!("{field}.{i}"), ErrorCode::Duplicate, "named twice"))
                    }
                    Ok(text) => *entry = text,
                    Err(e) => invalid.push(e),
                }
            }
            if list.len() > MAX_LIST {
                invalid.push(FieldError::new(field, ErrorCode::Invalid, format!("at most {MAX_LIST} entries")));
            }
        }
        if self.unqualified_reasons.is_empty() {
            invalid.push(FieldError::new("unqualifiedReasons", ErrorCode::Required, "name at least one reason"));
        }
        if self.rules.len() > MAX_LIST {
            invalid.push(FieldError::new("rules", ErrorCode::Invalid, format!("at most {MAX_LIST} rules")));
        }
        for (i, rule) in self.rules.iter_mut().enumerate() {
            if let Err(errors) = rule.check(i) {
                errors.0.into_iter().for_each(|e| invalid.push(e));
            }
        }
        invalid.into_result().map(|()| self)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn codes(result: Result<impl std::fmt::Debug, Invalid>) -> Vec<(String, &'static str)> {
        result.unwrap_err().0.into_iter().map(|e| (e.field, e.code.as_str())).collect()
    }

    #[test]
    fn fields_are_checked_all_at_once() {
        let settings = LeadSettings::default();
        let fields = LeadFields {
            name: "  ".into(),
            phone: Some("12345".into()),
            email: Some("not-mail".into()),
            source: Some("路边".into()),
            ..Default::default()
        };
        assert_eq!(
            codes(fields.check(&settings)),
            [
                ("name".into(), "REQUIRED"),
                ("phone".into(), "INVALID"),
                ("email".into(), "INVALID"),
                ("source".into(), "INVALID")
            ]
        );
        let fine = LeadFields {
            name: " 张伟 ".into(),
            phone: Some("+86 138 0013 8000".into()),
            email: Some("ZW@Example.com".into()),
            source: Some("展会".into()),
            company: Some(" ".into()),
            ..Default::default()
        }
        .check(&settings)
        .unwrap();
        assert_eq!(
            (fine.name.as_str(), fine.phone.as_deref(), fine.email.as_deref()),
            ("张伟", Some("13800138000"), Some("zw@example.com"))
        );
        assert_eq!(fine.company, None, "blank becomes nothing");
    }

    #[test]
    fn status_moves_and_the_unqualified_reason() {
        use LeadStatus as S;
        let settings = LeadSettings::default();
        let check = |from, to, reason| check_status(from, to, reason, &settings);
        assert_eq!(check(S::New, S::Working, None).unwrap(), None);
        assert_eq!(check(S::Working, S::Unqualified, Some(" 预算不足 ")).unwrap().as_deref(), Some("预算不足"));
        assert_eq!(codes(check(S::Working, S::Unqualified, None)), [("reason".into(), "REQUIRED")]);
        assert_eq!(codes(check(S::Working, S::Unqualified, Some("看心情"))), [("reason".into(), "INVALID")]);
        assert_eq!(codes(check(S::Working, S::Qualified, Some("预算不足"))), [("reason".into(), "INVALID")]);
        assert_eq!(check(S::Unqualified, S::Working, None).unwrap(), None, "reopened");
        assert_eq!(codes(check(S::Working, S::New, None)), [("status".into(), "ILLEGAL_TRANSITION")]);
        assert_eq!(codes(check(S::Converted, S::Working, None)), [("status".into(), "ILLEGAL_STATE")]);
        assert_eq!(codes(check(S::Qualified, S::Converted, None)), [("status".into(), "ILLEGAL_TRANSITION")]);
        assert!(check_convert(S::Qualified).is_ok() && check_convert(S::New).is_ok());
        assert!(check_convert(S::Unqualified).is_err() && check_convert(S::Converted).is_err());
    }

    #[test]
    fn settings_lists_are_trimmed_once_each() {
        let settings =
            LeadSettings {
                sources: vec![" 官网 ".into(), "官网".into()], unqualified_reasons: vec![], rules: vec![]
            };
        assert_eq!(
            codes(settings.check()),
            [("sources.1".into(), "DUPLICATE"), ("unqualifiedReasons".into(), "REQUIRED")]
        );
    }
}
