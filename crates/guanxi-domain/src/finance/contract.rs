//! Contracts (合同): what was signed with a customer, for how much, from when to when.
//! A contract is approved through the approval engine; once approved it is locked.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::approval::engine::RequestStatus;
use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{ContactId, ContractId, CustomerId, OpportunityId, OrderId, QuoteId, UserId};
use crate::trade::money::Places;

/// Zero at the stored scale, so it prints with the document's places ("0.00").
const ZERO: Decimal = Decimal::from_parts(0, 0, 0, false, 4);

/// The largest contract amount (one trillion yuan).
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

text_enum! {
    /// Where a contract stands, as stored (`EXPIRED` is derived: see [`Contract::status_on`]).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum ContractStatus {
        Draft => "DRAFT", "草稿";
        PendingApproval => "PENDING_APPROVAL", "审批中";
        Approved => "APPROVED", "已生效";
        Completed => "COMPLETED", "已完成";
        Rejected => "REJECTED", "已驳回";
        Withdrawn => "WITHDRAWN", "已撤回";
        Void => "VOID", "已作废";
        Expired => "EXPIRED", "已到期";
        /// Replaced by an approved revision, which carries its money on.
        Superseded => "SUPERSEDED", "已变更";
    }
}

text_enum! {
    /// What a writer does to a contract.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum ContractAction {
        Edit => "EDIT", "编辑";
        Submit => "SUBMIT", "提交审批";
        Complete => "COMPLETE", "完成";
        Void => "VOID", "作废";
        Delete => "DELETE", "删除";
        /// Start the next revision (变更) of a contract in force.
        Revise => "REVISE", "变更";
    }
}

/// What a writer sets on a contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractFields {
    pub title: String,
    pub customer_id: CustomerId,
    /// The customer's signer.
    pub contact_id: Option<ContactId>,
    pub opportunity_id: Option<OpportunityId>,
    pub quote_id: Option<QuoteId>,
    pub order_id: Option<OrderId>,
    pub owner_id: Option<UserId>,
    /// Who signed for us.
    pub signer_id: Option<UserId>,
    pub signed_on: Option<NaiveDate>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub amount: Decimal,
    pub payment_terms: Option<String>,
    pub attachments: Vec<uuid::Uuid>,
    pub external_id: Option<String>,
    pub notes: Option<String>,
}

impl ContractFields {
    /// Every bad field, at once.
    pub fn check(&self, places: Places) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 100 {
            invalid.push(FieldError::new("title", ErrorCode::Invalid, "a title of 1 to 100 characters"));
        }
        invalid.check(check_amount("amount", self.amount, places));
        if let (Some(start), Some(end)) = (self.starts_on, self.ends_on)
            && end < start
        {
            invalid.push(FieldError::new("endsOn", ErrorCode::Invalid, "the end date is before the start date"));
        }
        if let (Some(signed), Some(end)) = (self.signed_on, self.ends_on)
            && end < signed
        {
            invalid.push(FieldError::new("endsOn", ErrorCode::Invalid, "the end date is before the sign date"));
        }
        for (field, text, max) in [
            ("paymentTerms", &self.payment_terms, 2000),
            ("notes", &self.notes, 2000),
            ("externalId", &self.external_id, 100),
        ] {
            if text.as_ref().is_some_and(|t| t.chars().count() > max) {
                invalid.push(FieldError::new(field, ErrorCode::Invalid, format!("at most {max} characters")));
            }
        }
        if self.attachments.len() > 20 {
            invalid.push(FieldError::new("attachments", ErrorCode::Invalid, "at most 20 attachments"));
        }
        invalid.into_result()
    }
}

/// A positive amount with no more places than the tenant keeps, below [`MAX_AMOUNT`].
pub fn check_amount(field: &str, amount: Decimal, places: Places) -> Result<Decimal, FieldError> {
    if amount <= Decimal::ZERO {
        return Err(FieldError::new(field, ErrorCode::Invalid, "must be more than zero"));
    }
    if amount > Decimal::from(MAX_AMOUNT) {
        return Err(FieldError::new(field, ErrorCode::Invalid, "at most 1,000,000,000,000"));
    }
    places.check(field, amount)
}

/// A contract as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contract {
    pub id: ContractId,
    /// Shared by every revision.
    pub number: String,
    /// 1 for the contract as first signed; each change (变更) adds one.
    pub revision: i32,
    /// The revision this one replaces once approved.
    pub revises_id: Option<ContractId>,
    pub fields: ContractFields,
    /// The tenant's decimal places for contracts when this one was made.
    pub places: Places,
    pub status: ContractStatus,
    /// Approved receipts allocated to it (advances included).
    pub received: Decimal,
    /// What its live invoice requests and issued invoices hold (never above the amount).
    pub invoiced: Decimal,
    pub void_reason: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Contract {
    /// As readers see it on `today`: an approved contract past its end date reads EXPIRED.
    pub fn status_on(&self, today: NaiveDate) -> ContractStatus {
        match (self.status, self.fields.ends_on) {
            (ContractStatus::Approved, Some(end)) if end < today => ContractStatus::Expired,
            (status, _) => status,
        }
    }

    /// What is still to be received (never below zero: an advance shows as `advance`).
    pub fn outstanding(&self) -> Decimal {
        (self.fields.amount - self.received).max(ZERO)
    }

    /// Received beyond the amount (预收), where the tenant allows it.
    pub fn advance(&self) -> Decimal {
        (self.received - self.fields.amount).max(ZERO)
    }

    /// The stored status `action` leads to, or why it is refused.
    pub fn after(&self, action: ContractAction) -> Result<ContractStatus, FieldError> {
        use ContractAction as A;
        use ContractStatus as S;
        let refused = |why: &str| Err(FieldError::new("status", ErrorCode::IllegalState, why.to_owned()));
        match (self.status, action) {
            (S::Draft | S::Rejected | S::Withdrawn, A::Edit | A::Delete) => Ok(self.status),
            (S::Draft | S::Rejected | S::Withdrawn, A::Submit) => Ok(S::PendingApproval),
            (S::Approved, A::Complete) => Ok(S::Completed),
            (S::Approved, A::Revise) => Ok(S::Approved),
            (S::Superseded, _) => refused("this revision was replaced by a later one"),
            (S::Approved | S::Draft | S::Rejected | S::Withdrawn, A::Void) => Ok(S::Void),
            (S::PendingApproval, _) => refused("the contract is waiting for approval; withdraw it first"),
            (S::Approved | S::Completed, A::Edit | A::Submit | A::Delete) => {
                refused("an approved contract is locked; revise it (变更) to change it")
            }
            (status, _) => refused(&format!("not possible on a contract that is {}", status.label_zh())),
        }
    }
}

/// Whether a revision may replace a contract that received `received` and holds
/// `invoiced` in invoices: its amount covers both (received beyond it only where the
/// tenant allows advances).
pub fn check_revision(
    amount: Decimal,
    (received, invoiced): (Decimal, Decimal),
    allow_advance: bool,
) -> Result<(), FieldError> {
    if !allow_advance && amount < received {
        return Err(FieldError::new(
            "amount",
            ErrorCode::Invalid,
            format!("{} was already received on this contract; the revision cannot be for less", received.normalize()),
        ));
    }
    if amount < invoiced {
        return Err(FieldError::new(
            "amount",
            ErrorCode::Invalid,
            format!("{} was already invoiced on this contract; the revision cannot be for less", invoiced.normalize()),
        ));
    }
    Ok(())
}

/// The status a synced contract (`upsertContracts`) ends in when its source says `asked`
/// (DRAFT, APPROVED, COMPLETED or VOID; `None` keeps the stored one, or DRAFT for a new
/// contract). The source is the system of record for what it sends as APPROVED: a contract
/// signed into force there. A new contract may start in any of the four, a stored one moves
/// only as the state machine allows; one completed since counts as APPROVED, and one that
/// waits for approval, was rejected or withdrawn here counts as DRAFT, so a source
/// re-sending what it sent before asks for nothing.
pub fn synced_status(
    stored: Option<ContractStatus>,
    asked: Option<ContractStatus>,
) -> Result<ContractStatus, FieldError> {
    use ContractStatus as S;
    if let Some(asked) = asked.filter(|a| !matches!(a, S::Draft | S::Approved | S::Completed | S::Void)) {
        let message = format!("a synced contract is DRAFT, APPROVED, COMPLETED or VOID, not {}", asked.as_str());
        return Err(FieldError::new("status", ErrorCode::Invalid, message));
    }
    let Some(stored) = stored else { return Ok(asked.unwrap_or(S::Draft)) };
    let open = matches!(stored, S::Draft | S::Rejected | S::Withdrawn);
    let refused = |why: String| Err(FieldError::new("status", ErrorCode::IllegalState, why));
    match asked {
        None => Ok(stored),
        Some(asked) if asked == stored => Ok(stored),
        Some(S::Draft) if open || stored == S::PendingApproval => Ok(stored),
        Some(S::Approved) if stored == S::Completed => Ok(stored),
        Some(asked @ (S::Approved | S::Completed)) if open => Ok(asked),
        Some(S::Completed) if stored == S::Approved => Ok(S::Completed),
        Some(S::Void) if open || stored == S::Approved => Ok(S::Void),
        Some(_) if stored == S::PendingApproval => {
            refused("the contract waits for approval here; decide or withdraw it first".to_owned())
        }
        Some(_) if stored == S::Superseded => refused("this revision was replaced by a later one".to_owned()),
        Some(asked) => refused(format!("a contract that is {} cannot become {}", stored.label_zh(), asked.label_zh())),
    }
}

/// The contract status an approval request's outcome leads to.
pub fn after_approval(outcome: RequestStatus) -> ContractStatus {
    match outcome {
        RequestStatus::Pending => ContractStatus::PendingApproval,
        RequestStatus::Approved => ContractStatus::Approved,
        RequestStatus::Rejected => ContractStatus::Rejected,
        RequestStatus::Withdrawn => ContractStatus::Withdrawn,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    pub(crate) fn fields(amount: &str) -> ContractFields {
        ContractFields {
            title: "年度供货合同".into(),
            customer_id: CustomerId::new(),
            contact_id: None,
            opportunity_id: None,
            quote_id: None,
            order_id: None,
            owner_id: None,
            signer_id: None,
            signed_on: Some("2026-12-01".parse().unwrap()),
            starts_on: Some("2026-12-01".parse().unwrap()),
            ends_on: Some("2027-11-30".parse().unwrap()),
            amount: amount.parse().unwrap(),
            payment_terms: None,
            attachments: vec![],
            external_id: None,
            notes: None,
        }
    }

    fn contract(status: ContractStatus) -> Contract {
        Contract {
            id: ContractId::new(),
            number: "HT1".into(),
            revision: 1,
            revises_id: None,
            fields: fields("100"),
            places: Places::default(),
            status,
            received: Decimal::ZERO,
            invoiced: Decimal::ZERO,
            void_reason: None,
            approved_at: None,
            completed_at: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deleted_at: None,
        }
    }

    #[test]
    fn a_synced_status_follows_the_state_machine() {
        use ContractStatus as S;
        let cases = [
            (None, None, Some(S::Draft)),
            (None, Some(S::Approved), Some(S::Approved)),
            (None, Some(S::Completed), Some(S::Completed)),
            (None, Some(S::PendingApproval), None),
            (Some(S::Draft), Some(S::Approved), Some(S::Approved)),
            (Some(S::Rejected), Some(S::Draft), Some(S::Rejected)),
            (Some(S::PendingApproval), Some(S::Draft), Some(S::PendingApproval)),
            (Some(S::PendingApproval), Some(S::Approved), None),
            (Some(S::Approved), Some(S::Draft), None),
            (Some(S::Approved), Some(S::Completed), Some(S::Completed)),
            (Some(S::Completed), Some(S::Approved), Some(S::Completed)),
            (Some(S::Completed), Some(S::Void), None),
            (Some(S::Approved), Some(S::Void), Some(S::Void)),
            (Some(S::Void), Some(S::Approved), None),
            (Some(S::Void), None, Some(S::Void)),
            (Some(S::Superseded), Some(S::Approved), None),
        ];
        for (stored, asked, expected) in cases {
            assert_eq!(synced_status(stored, asked).ok(), expected, "{stored:?} {asked:?}");
        }
    }

    #[test]
    fn fields_are_checked() {
        let places = Places::default();
        assert!(fields("100.25").check(places).is_ok());
        let cases = [("0", "amount"), ("-1", "amount"), ("1.005", "amount"), ("1000000000001", "amount")];
        for (amount, field) in cases {
            let err = fields(amount).check(places).unwrap_err();
            assert_eq!(err.0[0].field, field, "{amount}");
        }
        let mut backwards = fields("1");
        backwards.ends_on = Some("2026-11-01".parse().unwrap());
        backwards.title = String::new();
        let fields: Vec<String> = backwards.check(places).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["title", "endsOn", "endsOn"]);
    }

    #[test]
    fn contract_moves_follow_the_state_machine() {
        use ContractAction as A;
        use ContractStatus as S;
        let cases = [
            (S::Draft, A::Submit, Some(S::PendingApproval)),
            (S::Rejected, A::Submit, Some(S::PendingApproval)),
            (S::Withdrawn, A::Edit, Some(S::Withdrawn)),
            (S::PendingApproval, A::Edit, None),
            (S::PendingApproval, A::Void, None),
            (S::Approved, A::Edit, None),
            (S::Approved, A::Complete, Some(S::Completed)),
            (S::Approved, A::Void, Some(S::Void)),
            (S::Completed, A::Void, None),
            (S::Void, A::Submit, None),
            (S::Draft, A::Complete, None),
            (S::Approved, A::Revise, Some(S::Approved)),
            (S::Completed, A::Revise, None),
            (S::Draft, A::Revise, None),
            (S::Superseded, A::Void, None),
        ];
        for (status, action, expected) in cases {
            assert_eq!(contract(status).after(action).ok(), expected, "{status:?} {action:?}");
        }
        let c = contract(S::Approved);
        assert_eq!(c.status_on("2027-11-30".parse().unwrap()), S::Approved);
        assert_eq!(c.status_on("2027-12-01".parse().unwrap()), S::Expired);
        assert_eq!(contract(S::Completed).status_on("2030-01-01".parse().unwrap()), S::Completed);
    }
}
