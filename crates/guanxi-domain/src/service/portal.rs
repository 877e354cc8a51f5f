//! The customer's own channel (客户自助服务): a portal token staff issue to one of a
//! customer's contacts lets a client app (a WeChat official-account page, a web form) file
//! and follow that customer's service requests, confirm and rate the work, complain, and
//! read public articles — nothing else.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::error::{ErrorCode, FieldError};
use crate::ids::{ContactId, CustomerId, TenantId, UserId};

/// The longest a portal token lives: a year.
pub const MAX_LIFETIME_DAYS: i32 = 366;

/// Who a valid portal token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortalSession {
    pub tenant_id: TenantId,
    pub token_id: Uuid,
    pub contact_id: ContactId,
    pub customer_id: CustomerId,
}

/// A portal token as staff see it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortalToken {
    pub id: Uuid,
    pub contact_id: ContactId,
    pub customer_id: CustomerId,
    pub label: Option<String>,
    /// The first characters of the secret.
    pub prefix: String,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Where a token stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortalTokenStatus {
    Active,
    Expired,
    Revoked,
}

impl PortalToken {
    pub fn status(&self, now: DateTime<Utc>) -> PortalTokenStatus {
        if self.revoked_at.is_some() {
            PortalTokenStatus::Revoked
        } else if self.expires_at <= now {
            PortalTokenStatus::Expired
        } else {
            PortalTokenStatus::Active
        }
    }
}

/// A token's lifetime in days: 1 to [`MAX_LIFETIME_DAYS`].
pub fn check_lifetime(days: i32) -> Result<Duration, FieldError> {
    if (1..=MAX_LIFETIME_DAYS).contains(&days) {
        Ok(Duration::days(i64::from(days)))
    } else {
        Err(FieldError::new(
            "expiresInDays",
            ErrorCode::Invalid,
            format!("a portal token lives 1 to {MAX_LIFETIME_DAYS} days"),
        ))
    }
}

/// A token's label (what staff call it, e.g. 微信服务号), trimmed: at most 50 characters.
pub fn check_label(label: Option<&str>) -> Result<Option<String>, FieldError> {
    let label = label.map(str::trim).filter(|l| !l.is_empty());
    if label.is_some_and(|l| l.chars().count() > 50) {
        return Err(FieldError::new("label", ErrorCode::Invalid, "at most 50 characters"));
    }
    Ok(label.map(str::to_owned))
}

/// The subject of a complaint (投诉): about an order by its number, or in general.
pub fn complaint_subject(about: Option<&str>, text: &str) -> String {
    let gist: String = text.trim().chars().take(60).collect();
    match about {
        Some(number) => format!("投诉：{number} {gist}"),
        None => format!("投诉：{gist}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_and_labels_are_bounded() {
        assert!(check_lifetime(0).is_err());
        assert!(check_lifetime(MAX_LIFETIME_DAYS + 1).is_err());
        assert_eq!(check_lifetime(30).ok(), Some(Duration::days(30)));
        assert_eq!(check_label(Some("  微信服务号 ")).ok(), Some(Some("微信服务号".to_owned())));
        assert_eq!(check_label(Some("   ")).ok(), Some(None));
        assert!(check_label(Some(&"长".repeat(51))).is_err());
    }

    #[test]
    fn a_token_is_revoked_before_it_is_expired() {
        let now = Utc::now();
        let mut token = PortalToken {
            id: Uuid::nil(),
            contact_id: ContactId::new(),
            customer_id: CustomerId::new(),
            label: None,
            prefix: "gxp_x".into(),
            created_by: None,
            created_at: now,
            expires_at: now + Duration::days(1),
            last_used_at: None,
            revoked_at: None,
        };
        assert_eq!(token.status(now), PortalTokenStatus::Active);
        assert_eq!(token.status(now + Duration::days(2)), PortalTokenStatus::Expired);
        token.revoked_at = Some(now);
        assert_eq!(token.status(now + Duration::days(2)), PortalTokenStatus::Revoked);
    }

    #[test]
    fn a_complaint_names_the_order_and_the_gist() {
        assert_eq!(
            complaint_subject(Some("GD202611300001"), " 师傅迟到两小时 "),
            "投诉：GD202611300001 师傅迟到两小时"
        );
        assert_eq!(complaint_subject(None, &"慢".repeat(100)).chars().count(), 63);
    }
}
