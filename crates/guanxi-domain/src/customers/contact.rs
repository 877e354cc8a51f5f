//! Contacts (联系人): people at a customer, and their place in its decision chain.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ContactId, CustomerId, TenantId, UserId};

text_enum! {
    /// A contact's part in the customer's buying decision (seed 003's decision-chain map).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum DecisionRole {
        DecisionMaker => "DECISION_MAKER", "决策者";
        Influencer => "INFLUENCER", "影响者";
        User => "USER", "使用者";
        Gatekeeper => "GATEKEEPER", "把关者";
        Other => "OTHER", "其他";
    }
}

text_enum! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum Gender {
        Male => "MALE";
        Female => "FEMALE";
    }
}

/// The editable fields of a contact, checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactFields {
    pub name: String,
    pub gender: Option<Gender>,
    pub birthday: Option<NaiveDate>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub manager_id: Option<ContactId>,
    pub office_phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub home_phone: Option<String>,
    pub fax: Option<String>,
    pub hobbies: Option<String>,
    pub notes: Option<String>,
    pub decision_role: DecisionRole,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Contact {
    pub id: ContactId,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub fields: ContactFields,
    pub owner_id: Option<UserId>,
    /// The pinyin initials of the name (助记码), read as people read it.
    pub mnemonic_code: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Age in whole years on `today`.
pub fn age(birthday: NaiveDate, today: NaiveDate) -> Option<i32> {
    let years = today.years_since(birthday)?;
    i32::try_from(years).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_whole_years() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default();
        assert_eq!(age(d(1990, 11, 24), d(2026, 11, 23)), Some(35));
        assert_eq!(age(d(1990, 11, 23), d(2026, 11, 23)), Some(36));
        assert_eq!(age(d(2030, 1, 1), d(2026, 11, 23)), None);
    }

    #[test]
    fn decision_roles_round_trip() {
        for role in [
            DecisionRole::DecisionMaker,
            DecisionRole::Influencer,
            DecisionRole::User,
            DecisionRole::Gatekeeper,
            DecisionRole::Other,
        ] {
            assert_eq!(DecisionRole::parse(role.as_str()), Some(role));
        }
    }
}
