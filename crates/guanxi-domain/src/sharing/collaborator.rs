//! Collaborators (协作人 / 团队成员): a customer or a deal shared with a user, `READ` or
//! `READ_WRITE`, optionally until a moment. A collaborator sees the shared record and,
//! for a customer, what hangs off it; `READ_WRITE` also lets them edit and add to it.
//! Only the owner side (the owner scope, not a share) adds or removes collaborators, so a
//! share never spreads itself. Whether a share is live is decided by the database at
//! read time ([`CustomerRule`](crate::platform::access::CustomerRule)), never by a job.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::entity::EntityKind;
use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{CustomerId, TenantId, UserId};
use crate::platform::access::ShareAccess;

/// At most this many collaborators are added in one call.
pub const MAX_MEMBERS: usize = 50;

/// A share as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collaborator {
    pub id: uuid::Uuid,
    pub tenant_id: TenantId,
    /// `Customer` or `Opportunity`.
    pub record_type: EntityKind,
    pub record_id: uuid::Uuid,
    /// The shared customer, or the shared deal's customer.
    pub customer_id: CustomerId,
    pub user_id: UserId,
    pub access: ShareAccess,
    pub expires_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
    pub created_by: Option<UserId>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Collaborator {
    /// Whether the share still counts at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|until| until > now)
    }
}

/// The kinds of record that can be shared.
pub const fn shareable(kind: EntityKind) -> bool {
    matches!(kind, EntityKind::Customer | EntityKind::Opportunity)
}

/// One user to share with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub access: ShareAccess,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Checks the members of one share request: at least one, at most [`MAX_MEMBERS`], each
/// user once, not the record's owner, and an expiry (if any) still ahead of `now`.
pub fn check_members(members: &[Member], owner: Option<UserId>, now: DateTime<Utc>) -> Result<(), Invalid> {
    let mut errors = Vec::new();
    if members.is_empty() {
        errors.push(FieldError::new("members", ErrorCode::Required, "name at least one user"));
    }
    if members.len() > MAX_MEMBERS {
        errors.push(FieldError::new(
            "members",
            ErrorCode::LimitReached,
            format!("at most {MAX_MEMBERS} collaborators at a time"),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, member) in members.iter().enumerate() {
        if !seen.insert(member.user_id) {
            errors.push(FieldError::new(
                format!("members.{i}.userId"),
                ErrorCode::Duplicate,
                "this user is named twice",
            ));
        }
        if Some(member.user_id) == owner {
            errors.push(FieldError::new(
                format!("members.{i}.userId"),
                ErrorCode::Invalid,
                "the owner sees the record already",
            ));
        }
        if member.expires_at.is_some_and(|until| until <= now) {
            errors.push(FieldError::new(format!("members.{i}.expiresAt"), ErrorCode::Invalid, "the expiry has passed"));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(Invalid(errors)) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn member(user: UserId) -> Member {
        Member { user_id: user, access: ShareAccess::Read, expires_at: None }
    }

    #[test]
    fn members_are_checked_together() {
        let now = Utc::now();
        let (owner, a, b) = (UserId::new(), UserId::new(), UserId::new());
        assert!(check_members(&[member(a), member(b)], Some(owner), now).is_ok());
        let fields = |members: &[Member]| -> Vec<(String, ErrorCode)> {
            check_members(members, Some(owner), now).unwrap_err().0.into_iter().map(|e| (e.field, e.code)).collect()
        };
        assert_eq!(fields(&[]), vec![("members".into(), ErrorCode::Required)]);
        assert_eq!(
            fields(&[member(a), member(a), member(owner)]),
            vec![("members.1.userId".into(), ErrorCode::Duplicate), ("members.2.userId".into(), ErrorCode::Invalid)]
        );
        let past = Member { expires_at: Some(now - chrono::Duration::seconds(1)), ..member(b) };
        assert_eq!(fields(&[past]), vec![("members.0.expiresAt".into(), ErrorCode::Invalid)]);
        assert_eq!(fields(&vec![member(a); MAX_MEMBERS + 1])[0], ("members".into(), ErrorCode::LimitReached));
    }

    #[test]
    fn a_share_lives_until_its_expiry() {
        let now = Utc::now();
        let mut share = Collaborator {
            id: uuid::Uuid::now_v7(),
            tenant_id: TenantId::new(),
            record_type: EntityKind::Customer,
            record_id: uuid::Uuid::now_v7(),
            customer_id: CustomerId::new(),
            user_id: UserId::new(),
            access: ShareAccess::Read,
            expires_at: None,
            note: None,
            created_by: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        assert!(share.is_live(now));
        share.expires_at = Some(now);
        assert!(!share.is_live(now));
        assert!(share.is_live(now - chrono::Duration::seconds(1)));
        assert!(shareable(EntityKind::Opportunity) && !shareable(EntityKind::Quote));
    }
}
