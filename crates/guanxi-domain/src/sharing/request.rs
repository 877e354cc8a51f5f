//! Collaboration requests (协作申请), the answer to a collision (撞单): a rep whose new
//! customer, import row or lead conversion matched a customer someone else owns asks to
//! work it with them. The owner side decides: accepting shares the customer with the
//! requester at the access asked (or less), declining says why; the requester may
//! withdraw while it waits.

use chrono::{DateTime, Utc};

use crate::error::{ErrorCode, Invalid};
use crate::ids::{CustomerId, UserId};
use crate::platform::access::ShareAccess;

text_enum! {
    /// Where a request stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum RequestStatus {
        Pending => "PENDING", "待处理";
        Accepted => "ACCEPTED", "已同意";
        Declined => "DECLINED", "已拒绝";
        Withdrawn => "WITHDRAWN", "已撤回";
    }
}

/// A request as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct CollaborationRequest {
    pub id: uuid::Uuid,
    pub customer_id: CustomerId,
    pub requester_id: UserId,
    pub access: ShareAccess,
    pub reason: String,
    pub status: RequestStatus,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

/// A decision on a pending request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Decline,
    Withdraw,
}

impl Decision {
    pub fn status(self) -> RequestStatus {
        match self {
            Self::Accept => RequestStatus::Accepted,
            Self::Decline => RequestStatus::Declined,
            Self::Withdraw => RequestStatus::Withdrawn,
        }
    }
}

/// Checks a decision: only a pending request is decided, and accepting grants at most
/// the access asked for.
pub fn check_decision(
    request: &CollaborationRequest,
    decision: Decision,
    granted: Option<ShareAccess>,
) -> Result<ShareAccess, Invalid> {
    if request.status != RequestStatus::Pending {
        return Err(Invalid::one(
            "id",
            ErrorCode::IllegalState,
            format!("the request is {} already", request.status.as_str()),
        ));
    }
    let granted = granted.unwrap_or(request.access);
    if decision == Decision::Accept && granted == ShareAccess::ReadWrite && request.access == ShareAccess::Read {
        return Err(Invalid::one("access", ErrorCode::Invalid, "grant at most the access asked for"));
    }
    Ok(granted)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn request(access: ShareAccess, status: RequestStatus) -> CollaborationRequest {
        CollaborationRequest {
            id: uuid::Uuid::now_v7(),
            customer_id: CustomerId::new(),
            requester_id: UserId::new(),
            access,
            reason: "同一家公司，我在跟进采购部".into(),
            status,
            decided_by: None,
            decided_at: None,
            note: None,
            version: 1,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn only_pending_requests_are_decided_and_never_for_more_than_asked() {
        let read = request(ShareAccess::Read, RequestStatus::Pending);
        assert_eq!(check_decision(&read, Decision::Accept, None).unwrap(), ShareAccess::Read);
        assert!(check_decision(&read, Decision::Accept, Some(ShareAccess::ReadWrite)).is_err());
        let write = request(ShareAccess::ReadWrite, RequestStatus::Pending);
        assert_eq!(check_decision(&write, Decision::Accept, Some(ShareAccess::Read)).unwrap(), ShareAccess::Read);
        let done = request(ShareAccess::Read, RequestStatus::Declined);
        let refused = check_decision(&done, Decision::Withdraw, None).unwrap_err();
        assert_eq!(refused.0[0].code, ErrorCode::IllegalState);
    }
}
