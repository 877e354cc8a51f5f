//! Receivables: a contract's installment plan (回款计划), the receipts (回款) allocated to
//! it, and the aging of what is overdue. Amounts are exact decimals; an installment's
//! received plus outstanding is always its amount, and a contract's the same.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::approval::engine::RequestStatus;
use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{ContractId, CustomerId, InstallmentId, ReceiptId, UserId};
use crate::trade::money::Places;

use super::contract::check_amount;

/// The most installments in one plan.
pub const MAX_INSTALLMENTS: usize = 120;
/// The longest reminder lead.
pub const MAX_REMIND_DAYS: u16 = 365;

text_enum! {
    /// How money arrives.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum PaymentMethod {
        BankTransfer => "BANK_TRANSFER", "银行转账";
        Cash => "CASH", "现金";
        AcceptanceBill => "ACCEPTANCE_BILL", "承兑汇票";
        Alipay => "ALIPAY", "支付宝";
        WechatPay => "WECHAT_PAY", "微信支付";
        Other => "OTHER", "其他";
    }
}

text_enum! {
    /// Where an installment stands on a day.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum InstallmentStatus {
        Pending => "PENDING", "待回款";
        PartlyReceived => "PARTLY_RECEIVED", "部分回款";
        Received => "RECEIVED", "已回款";
        Overdue => "OVERDUE", "已逾期";
        Void => "VOID", "已作废";
    }
}

/// One installment as a writer plans it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallmentDraft {
    pub amount: Decimal,
    pub due_on: NaiveDate,
    pub method: Option<PaymentMethod>,
    /// Days before the due date to remind the owner; the tenant's default when `None`.
    pub remind_days: Option<u16>,
    pub note: Option<String>,
}

/// A plan's installments, checked one by one: positive amounts in the tenant's places,
/// due dates on or after the sign date, sensible reminder leads.
pub fn check_plan(drafts: &[InstallmentDraft], signed_on: Option<NaiveDate>, places: Places) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    if drafts.len() > MAX_INSTALLMENTS {
        invalid.push(FieldError::new(
            "installments",
            ErrorCode::Invalid,
            format!("at most {MAX_INSTALLMENTS} installments"),
        ));
    }
    for (i, draft) in drafts.iter().enumerate() {
        invalid.check(check_amount(&format!("installments.{i}.amount"), draft.amount, places));
        if let Some(signed) = signed_on
            && draft.due_on < signed
        {
            invalid.push(FieldError::new(
                format!("installments.{i}.dueOn"),
                ErrorCode::Invalid,
                format!("due {} is before the sign date {signed}", draft.due_on),
            ));
        }
        if draft.remind_days.is_some_and(|d| d > MAX_REMIND_DAYS) {
            invalid.push(FieldError::new(
                format!("installments.{i}.remindDays"),
                ErrorCode::Invalid,
                format!("at most {MAX_REMIND_DAYS} days"),
            ));
        }
        if draft.note.as_ref().is_some_and(|n| n.chars().count() > 200) {
            invalid.push(FieldError::new(
                format!("installments.{i}.note"),
                ErrorCode::Invalid,
                "at most 200 characters",
            ));
        }
    }
    invalid.into_result()
}

/// The plan's sum against the contract's amount: refused, naming the difference, when they
/// differ (checked when the contract is submitted).
pub fn check_sum(installments: impl IntoIterator<Item = Decimal>, amount: Decimal) -> Result<(), FieldError> {
    let sum: Decimal = installments.into_iter().sum();
    if sum == amount {
        return Ok(());
    }
    let difference = (amount - sum).normalize();
    Err(FieldError::new(
        "installments",
        ErrorCode::Invalid,
        if difference > Decimal::ZERO {
            format!(
                "the installments add up to {}, {difference} less than the contract amount {}",
                sum.normalize(),
                amount.normalize()
            )
        } else {
            format!(
                "the installments add up to {}, {} more than the contract amount {}",
                sum.normalize(),
                -difference,
                amount.normalize()
            )
        },
    ))
}

/// An installment as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installment {
    pub id: InstallmentId,
    pub contract_id: ContractId,
    /// 1, 2, 3… within the contract.
    pub seq: i32,
    pub amount: Decimal,
    pub due_on: NaiveDate,
    pub method: Option<PaymentMethod>,
    pub remind_days: u16,
    pub received: Decimal,
    pub void: bool,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Installment {
    pub fn outstanding(&self) -> Decimal {
        if self.void { Decimal::ZERO } else { self.amount - self.received }
    }

    pub fn status_on(&self, today: NaiveDate) -> InstallmentStatus {
        status_of(self.void, (self.amount, self.received), self.due_on, today)
    }
}

/// An installment's status from what is stored; the same rule the store's filters use.
pub fn status_of(
    void: bool,
    (amount, received): (Decimal, Decimal),
    due_on: NaiveDate,
    today: NaiveDate,
) -> InstallmentStatus {
    if void {
        InstallmentStatus::Void
    } else if received >= amount {
        InstallmentStatus::Received
    } else if due_on < today {
        InstallmentStatus::Overdue
    } else if received > Decimal::ZERO {
        InstallmentStatus::PartlyReceived
    } else {
        InstallmentStatus::Pending
    }
}

/// How a receipt's amount lands on the installments: `open` is every installment still
/// owed, oldest first (due date, then number), with what it still owes. Without `asked`
/// the amount fills them oldest first; with it, exactly the amounts asked (each within
/// what the installment owes, together the receipt's amount). What is left over is an
/// advance (预收), refused unless `allow_advance`.
pub fn allocate(
    amount: Decimal,
    open: &[(InstallmentId, Decimal)],
    asked: Option<&[(InstallmentId, Decimal)]>,
    allow_advance: bool,
) -> Result<(Vec<(InstallmentId, Decimal)>, Decimal), FieldError> {
    let owed: Decimal = open.iter().map(|(_, o)| *o).sum();
    let allocations = match asked {
        None => {
            let mut left = amount;
            let mut out = Vec::new();
            for (id, outstanding) in open {
                if left <= Decimal::ZERO {
                    break;
                }
                let take = left.min(*outstanding);
                if take > Decimal::ZERO {
                    out.push((*id, take));
                    left -= take;
                }
            }
            out
        }
        Some(asked) => {
            for (i, (id, part)) in asked.iter().enumerate() {
                let field = format!("allocations.{i}.amount");
                let Some((_, outstanding)) = open.iter().find(|(o, _)| o == id) else {
                    return Err(FieldError::new(
                        format!("allocations.{i}.installmentId"),
                        ErrorCode::Invalid,
                        "not an open installment of this contract",
                    ));
                };
                if *part <= Decimal::ZERO || part > outstanding {
                    return Err(FieldError::new(
                        field,
                        ErrorCode::Invalid,
                        format!("between 0 and what the installment still owes ({})", outstanding.normalize()),
                    ));
                }
                if asked[..i].iter().any(|(other, _)| other == id) {
                    return Err(FieldError::new(
                        format!("allocations.{i}.installmentId"),
                        ErrorCode::Duplicate,
                        "an installment named twice",
                    ));
                }
            }
            let total: Decimal = asked.iter().map(|(_, p)| *p).sum();
            if total > amount {
                return Err(FieldError::new(
                    "allocations",
                    ErrorCode::Invalid,
                    format!("the allocations ({}) exceed the receipt ({})", total.normalize(), amount.normalize()),
                ));
            }
            asked.to_vec()
        }
    };
    let allocated: Decimal = allocations.iter().map(|(_, a)| *a).sum();
    let advance = amount - allocated;
    if advance > Decimal::ZERO && !allow_advance {
        return Err(FieldError::new(
            "amount",
            ErrorCode::Invalid,
            if asked.is_some() {
                format!("{} of the receipt is not allocated, and advances are not allowed", advance.normalize())
            } else {
                format!("more than the contract still owes ({}); advances are not allowed", owed.normalize())
            },
        ));
    }
    Ok((allocations, advance))
}

text_enum! {
    /// Where a receipt stands; only approved receipts count.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum ReceiptStatus {
        PendingApproval => "PENDING_APPROVAL", "审批中";
        Approved => "APPROVED", "已确认";
        Rejected => "REJECTED", "已驳回";
        Withdrawn => "WITHDRAWN", "已撤回";
        /// Reversed by a red entry (红冲): its allocations were given back.
        Reversed => "REVERSED", "已红冲";
    }
}

/// The receipt status an approval request's outcome leads to.
pub fn receipt_after_approval(outcome: RequestStatus) -> ReceiptStatus {
    match outcome {
        RequestStatus::Pending => ReceiptStatus::PendingApproval,
        RequestStatus::Approved => ReceiptStatus::Approved,
        RequestStatus::Rejected => ReceiptStatus::Rejected,
        RequestStatus::Withdrawn => ReceiptStatus::Withdrawn,
    }
}

/// A receipt as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub id: ReceiptId,
    pub number: String,
    pub contract_id: ContractId,
    pub customer_id: CustomerId,
    pub owner_id: Option<UserId>,
    pub received_on: NaiveDate,
    pub method: PaymentMethod,
    pub amount: Decimal,
    /// Who paid, as the bank statement names them.
    pub payer: Option<String>,
    pub external_id: Option<String>,
    pub note: Option<String>,
    pub status: ReceiptStatus,
    /// The part not allocated to an installment (预收).
    pub advance: Decimal,
    pub reversed_reason: Option<String>,
    pub reversed_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

text_enum! {
    /// Aging buckets of what is owed, by days past due.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    pub enum AgingBucket {
        NotDue => "NOT_DUE", "未到期";
        Days1To30 => "DAYS_1_30", "逾期1-30天";
        Days31To60 => "DAYS_31_60", "逾期31-60天";
        Days61To90 => "DAYS_61_90", "逾期61-90天";
        Over90 => "OVER_90", "逾期90天以上";
    }
}

impl AgingBucket {
    /// The bucket of an installment due on `due_on`, seen on `today`.
    pub fn of(due_on: NaiveDate, today: NaiveDate) -> Self {
        match (today - due_on).num_days() {
            ..=0 => Self::NotDue,
            1..=30 => Self::Days1To30,
            31..=60 => Self::Days31To60,
            61..=90 => Self::Days61To90,
            _ => Self::Over90,
        }
    }

    /// The due dates this bucket holds on `today`, as an inclusive range (`None` is open).
    pub fn due_between(self, today: NaiveDate) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let days = |n: i64| today - chrono::Duration::days(n);
        match self {
            Self::NotDue => (Some(today), None),
            Self::Days1To30 => (Some(days(30)), Some(days(1))),
            Self::Days31To60 => (Some(days(60)), Some(days(31))),
            Self::Days61To90 => (Some(days(90)), Some(days(61))),
            Self::Over90 => (None, Some(days(91))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_plan_must_add_up_and_the_difference_is_named() {
        assert!(check_sum([d("30000"), d("70000")], d("100000")).is_ok());
        let short = check_sum([d("30000"), d("69999.99")], d("100000")).unwrap_err();
        assert!(short.message.contains("0.01 less"), "{}", short.message);
        let over = check_sum([d("60000"), d("70000")], d("100000")).unwrap_err();
        assert!(over.message.contains("30000 more"), "{}", over.message);
        let draft = |amount: &str, due: &str| InstallmentDraft {
            amount: d(amount),
            due_on: day(due),
            method: None,
            remind_days: Some(400),
            note: None,
        };
        let err = check_plan(&[draft("1.001", "2026-01-01")], Some(day("2026-02-01")), Places::default()).unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["installments.0.amount", "installments.0.dueOn", "installments.0.remindDays"]);
    }

    #[test]
    fn receipts_fill_the_oldest_installments_first() {
        let (a, b, c) = (InstallmentId::new(), InstallmentId::new(), InstallmentId::new());
        let open = [(a, d("100")), (b, d("200")), (c, d("300"))];
        assert_eq!(allocate(d("250"), &open, None, false), Ok((vec![(a, d("100")), (b, d("150"))], Decimal::ZERO)));
        assert_eq!(allocate(d("600"), &open, None, false).map(|r| r.0.len()), Ok(3));
        assert!(allocate(d("600.01"), &open, None, false).is_err());
        assert_eq!(allocate(d("700"), &open, None, true).map(|r| r.1), Ok(d("100")));
        assert_eq!(allocate(d("50"), &open, Some(&[(c, d("50"))]), false), Ok((vec![(c, d("50"))], Decimal::ZERO)));
        for asked in [
            vec![(c, d("301"))],
            vec![(c, d("0"))],
            vec![(InstallmentId::new(), d("1"))],
            vec![(c, d("25")), (c, d("25"))],
            vec![(c, d("40"))],
        ] {
            assert!(allocate(d("50"), &open, Some(&asked), false).is_err(), "{asked:?}");
        }
    }

    /// A contract's received plus outstanding is its amount after any sequence of
    /// receipts and red entries (a property test over seeded random sequences).
    #[test]
    fn received_plus_outstanding_is_always_the_amount() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        for _ in 0..300 {
            let count = 1 + next(6) as usize;
            let mut plan: Vec<(InstallmentId, Decimal, Decimal)> = (0..count)
                .map(|_| (InstallmentId::new(), Decimal::new(1 + next(1_000_000) as i64, 2), Decimal::ZERO))
                .collect();
            let amount: Decimal = plan.iter().map(|p| p.1).sum();
            let mut receipts: Vec<Vec<(InstallmentId, Decimal)>> = Vec::new();
            for _ in 0..20 {
                if next(4) == 0 && !receipts.is_empty() {
                    let undone = receipts.remove(next(receipts.len() as u64) as usize);
                    for (id, part) in undone {
                        if let Some(p) = plan.iter_mut().find(|p| p.0 == id) {
                            p.2 -= part;
                        }
                    }
                } else {
                    let open: Vec<(InstallmentId, Decimal)> =
                        plan.iter().filter(|p| p.1 > p.2).map(|p| (p.0, p.1 - p.2)).collect();
                    let pay = Decimal::new(1 + next(800_000) as i64, 2);
                    match allocate(pay, &open, None, false) {
                        Ok((parts, advance)) => {
                            assert_eq!(advance, Decimal::ZERO);
                            assert_eq!(parts.iter().map(|p| p.1).sum::<Decimal>(), pay);
                            for (id, part) in &parts {
                                if let Some(p) = plan.iter_mut().find(|p| p.0 == *id) {
                                    p.2 += part;
                                }
                            }
                            receipts.push(parts);
                        }
                        Err(_) => assert!(pay > open.iter().map(|o| o.1).sum::<Decimal>()),
                    }
                }
                let received: Decimal = plan.iter().map(|p| p.2).sum();
                let outstanding: Decimal = plan.iter().map(|p| p.1 - p.2).sum();
                assert_eq!(received + outstanding, amount);
                assert!(plan.iter().all(|p| p.2 >= Decimal::ZERO && p.2 <= p.1), "{plan:?}");
            }
        }
    }

    #[test]
    fn aging_buckets_by_days_past_due() {
        let today = day("2026-12-31");
        let cases = [
            ("2027-01-05", AgingBucket::NotDue),
            ("2026-12-31", AgingBucket::NotDue),
            ("2026-12-30", AgingBucket::Days1To30),
            ("2026-12-01", AgingBucket::Days1To30),
            ("2026-11-30", AgingBucket::Days31To60),
            ("2026-11-01", AgingBucket::Days31To60),
            ("2026-10-31", AgingBucket::Days61To90),
            ("2026-10-02", AgingBucket::Days61To90),
            ("2026-10-01", AgingBucket::Over90),
        ];
        for (due, bucket) in cases {
            assert_eq!(AgingBucket::of(day(due), today), bucket, "{due}");
            let (from, to) = bucket.due_between(today);
            assert!(from.is_none_or(|f| f <= day(due)) && to.is_none_or(|t| day(due) <= t), "{due} in {bucket:?}");
        }
        let i = Installment {
            id: InstallmentId::new(),
            contract_id: ContractId::new(),
            seq: 1,
            amount: d("100"),
            due_on: day("2026-12-01"),
            method: None,
            remind_days: 3,
            received: d("40"),
            void: false,
            note: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert_eq!(i.status_on(day("2026-11-01")), InstallmentStatus::PartlyReceived);
        assert_eq!(i.status_on(day("2026-12-02")), InstallmentStatus::Overdue);
        assert_eq!(i.outstanding(), d("60"));
    }
}
