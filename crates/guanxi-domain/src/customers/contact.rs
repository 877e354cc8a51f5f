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

/// The most days ahead a birthday is reminded.
pub const MAX_BIRTHDAY_LEAD: u16 = 30;

/// The next birthday on or after `today` (a 29 February birthday falls on 28 February in
/// other years).
pub fn next_birthday(birthday: NaiveDate, today: NaiveDate) -> Option<NaiveDate> {
    use chrono::Datelike;
    let on = |year: i32| {
        NaiveDate::from_ymd_opt(year, birthday.month(), birthday.day())
            .or_else(|| NaiveDate::from_ymd_opt(year, birthday.month(), birthday.day() - 1))
    };
    let this_year = on(today.year())?;
    if this_year >= today { Some(this_year) } else { on(today.year() + 1) }
}

/// The month-days (`MM-DD`) of the birthdays whose next occurrence lies within `lead` days
/// of `today`, the 29 February ones included in years that have none.
pub fn birthdays_within(today: NaiveDate, lead: u16) -> Vec<String> {
    use chrono::Datelike;
    let mut days = Vec::new();
    for n in 0..=i64::from(lead.min(MAX_BIRTHDAY_LEAD)) {
        let day = today + chrono::Duration::days(n);
        days.push(format!("{:02}-{:02}", day.month(), day.day()));
        let leap = NaiveDate::from_ymd_opt(day.year(), 2, 29).is_some();
        if day.month() == 2 && day.day() == 28 && !leap {
            days.push("02-29".to_owned());
        }
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_birthday_wraps_the_year_and_keeps_leap_days() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap_or_default();
        let cases = [
            ("1990-12-05", "2026-11-29", "2026-12-05"),
            ("1990-11-29", "2026-11-29", "2026-11-29"),
            ("1990-01-03", "2026-12-30", "2027-01-03"),
            ("1992-02-29", "2026-02-01", "2026-02-28"),
            ("1992-02-29", "2027-12-01", "2028-02-29"),
        ];
        for (birthday, today, expected) in cases {
            assert_eq!(next_birthday(d(birthday), d(today)), Some(d(expected)), "{birthday} on {today}");
        }
        assert_eq!(birthdays_within(d("2026-12-30"), 3), ["12-30", "12-31", "01-01", "01-02"]);
        assert!(birthdays_within(d("2027-02-27"), 2).contains(&"02-29".to_owned()));
        assert_eq!(birthdays_within(d("2026-01-01"), 400).len(), 31, "capped at 30 days");
    }

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
