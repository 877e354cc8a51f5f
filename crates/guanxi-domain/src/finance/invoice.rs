//! Invoices (发票): a customer's billing profiles (开票信息) and the invoice requests made
//! against a contract. A request goes through the approval engine (REQUESTED → APPROVED),
//! then finance issues it (ISSUED, with the tax authority's number and date) or voids it.
//! Every request that is not rejected, withdrawn or void holds its amount against the
//! contract, so what is invoiced never passes the contract amount.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::approval::engine::RequestStatus;
use crate::customers::customer::TaxId;
use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{BillingProfileId, ContractId, CustomerId, InvoiceId, UserId};
use crate::trade::money::{Places, TaxRate};

use super::contract::check_amount;

text_enum! {
    /// Whom an invoice is made out to (抬头类型).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum TitleKind {
        Organisation => "ORGANISATION", "企业";
        Person => "PERSON", "个人";
    }
}

text_enum! {
    /// The kind of VAT invoice.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum VatKind {
        /// 增值税专用发票: the buyer deducts its input tax, so the title must be a
        /// registered organisation with its full details.
        Special => "SPECIAL", "增值税专用发票";
        Ordinary => "ORDINARY", "增值税普通发票";
    }
}

text_enum! {
    /// Where an invoice request stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum InvoiceStatus {
        Requested => "REQUESTED", "待审批";
        Approved => "APPROVED", "待开票";
        Rejected => "REJECTED", "已驳回";
        Withdrawn => "WITHDRAWN", "已撤回";
        Issued => "ISSUED", "已开票";
        Void => "VOID", "已作废";
    }
}

impl InvoiceStatus {
    /// Whether a request in this status holds its amount against the contract's limit.
    pub fn holds_amount(self) -> bool {
        matches!(self, Self::Requested | Self::Approved | Self::Issued)
    }
}

/// The invoice status an approval request's outcome leads to.
pub fn invoice_after_approval(outcome: RequestStatus) -> InvoiceStatus {
    match outcome {
        RequestStatus::Pending => InvoiceStatus::Requested,
        RequestStatus::Approved => InvoiceStatus::Approved,
        RequestStatus::Rejected => InvoiceStatus::Rejected,
        RequestStatus::Withdrawn => InvoiceStatus::Withdrawn,
    }
}

/// The title, tax number and bank details an invoice is made out to: a billing profile's
/// fields, and the copy an invoice request keeps of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingTitle {
    pub title_kind: TitleKind,
    pub title: String,
    /// The unified social credit code (纳税人识别号), upper case.
    pub tax_number: Option<String>,
    pub bank: Option<String>,
    pub account: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
}

impl BillingTitle {
    /// Every bad field at once; the tax number comes back normalised (trimmed, upper case).
    pub fn check(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        self.title = self.title.trim().to_owned();
        if self.title.is_empty() || self.title.chars().count() > 100 {
            invalid.push(FieldError::new("title", ErrorCode::Invalid, "a title of 1 to 100 characters"));
        }
        match (&self.tax_number, self.title_kind) {
            (Some(raw), _) => match TaxId::parse("taxNumber", raw) {
                Ok(code) => self.tax_number = Some(code.as_str().to_owned()),
                Err(e) => invalid.push(e),
            },
            (None, TitleKind::Organisation) => invalid.push(FieldError::new(
                "taxNumber",
                ErrorCode::Required,
                "an organisation's title needs its tax number (纳税人识别号)",
            )),
            (None, TitleKind::Person) => {}
        }
        if let Some(account) = &self.account {
            let digits: String = account.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
            if !(6..=32).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
                invalid.push(FieldError::new("account", ErrorCode::Invalid, "a bank account of 6 to 32 digits"));
            }
        }
        for (field, text, max) in
            [("bank", &self.bank, 100), ("address", &self.address, 200), ("phone", &self.phone, 30)]
        {
            if text.as_ref().is_some_and(|t| t.chars().count() > max) {
                invalid.push(FieldError::new(field, ErrorCode::Invalid, format!("at most {max} characters")));
            }
        }
        invalid.into_result().map(|()| self)
    }

    /// Whether a VAT invoice of `kind` may be made out to this title: a special invoice
    /// needs an organisation with its tax number, bank, account, address and phone.
    pub fn allows(&self, kind: VatKind) -> Result<(), FieldError> {
        if kind == VatKind::Ordinary {
            return Ok(());
        }
        if self.title_kind != TitleKind::Organisation {
            return Err(FieldError::new(
                "vatKind",
                ErrorCode::Invalid,
                "a special VAT invoice (专票) is made out to an organisation, not a person",
            ));
        }
        let missing: Vec<&str> = [
            ("taxNumber", &self.tax_number),
            ("bank", &self.bank),
            ("account", &self.account),
            ("address", &self.address),
            ("phone", &self.phone),
        ]
        .into_iter()
        .filter(|(_, value)| value.as_ref().is_none_or(|v| v.trim().is_empty()))
        .map(|(field, _)| field)
        .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(FieldError::new(
                "vatKind",
                ErrorCode::Invalid,
                format!("a special VAT invoice (专票) needs the billing profile's {}", missing.join(", ")),
            ))
        }
    }
}

/// A customer's billing profile as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillingProfile {
    pub id: BillingProfileId,
    pub customer_id: CustomerId,
    pub title: BillingTitle,
    /// The customer's default profile (at most one).
    pub is_default: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// What a writer asks to invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceTerms {
    pub vat_kind: VatKind,
    pub rate: TaxRate,
    /// 价税合计: tax included.
    pub amount: Decimal,
}

impl InvoiceTerms {
    /// The amount in the contract's places, a rate the kind allows, and a title it may be
    /// made out to.
    pub fn check(&self, title: &BillingTitle, places: Places) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        invalid.check(check_amount("amount", self.amount, places));
        if self.vat_kind == VatKind::Special && self.rate == TaxRate::Zero {
            invalid.push(FieldError::new(
                "rate",
                ErrorCode::Invalid,
                "a special VAT invoice is not issued at the zero or exempt rate",
            ));
        }
        invalid.check(title.allows(self.vat_kind));
        invalid.into_result()
    }

    /// The tax within the amount, rounded half up (四舍五入) to two places, and the amount
    /// before tax.
    pub fn split(&self) -> (Decimal, Decimal) {
        let rate = self.rate.fraction();
        let tax = Places::default().round(self.amount * rate / (Decimal::ONE + rate));
        (self.amount - tax, tax)
    }
}

/// What finance records when the tax authority's system issues the invoice: its number
/// (8 digits, or 20 for a fully digital invoice 数电发票) and date.
pub fn check_issue(number: &str, issued_on: NaiveDate, today: NaiveDate) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    if !(number.len() == 8 || number.len() == 20) || !number.chars().all(|c| c.is_ascii_digit()) {
        invalid.push(FieldError::new(
            "invoiceNumber",
            ErrorCode::Invalid,
            "an invoice number has 8 digits, or 20 for a fully digital invoice",
        ));
    }
    if issued_on > today {
        invalid.push(FieldError::new("issuedOn", ErrorCode::Invalid, "an invoice is not issued in the future"));
    }
    invalid.into_result()
}

/// What a writer does to an invoice request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvoiceAction {
    Issue,
    Void,
}

/// An invoice request as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invoice {
    pub id: InvoiceId,
    /// The request's number (KP…).
    pub number: String,
    pub contract_id: ContractId,
    pub customer_id: CustomerId,
    pub owner_id: Option<UserId>,
    pub profile_id: Option<BillingProfileId>,
    /// The title as it was when the request was made.
    pub title: BillingTitle,
    pub terms: InvoiceTerms,
    pub tax: Decimal,
    pub status: InvoiceStatus,
    pub invoice_number: Option<String>,
    pub issued_on: Option<NaiveDate>,
    pub void_reason: Option<String>,
    pub voided_at: Option<DateTime<Utc>>,
    pub external_id: Option<String>,
    pub note: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Invoice {
    /// The status `action` leads to, or why it is refused.
    pub fn after(&self, action: InvoiceAction) -> Result<InvoiceStatus, FieldError> {
        use InvoiceStatus as S;
        match (self.status, action) {
            (S::Approved, InvoiceAction::Issue) => Ok(S::Issued),
            (S::Approved | S::Issued, InvoiceAction::Void) => Ok(S::Void),
            (S::Requested, _) => Err(FieldError::new(
                "id",
                ErrorCode::IllegalState,
                "the request is waiting for approval; withdraw it instead",
            )),
            (status, _) => Err(FieldError::new(
                "id",
                ErrorCode::IllegalState,
                format!("not possible on an invoice that is {}", status.label_zh()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn organisation() -> BillingTitle {
        BillingTitle {
            title_kind: TitleKind::Organisation,
            title: " 南京金陵机电设备有限公司 ".into(),
            tax_number: Some("91110108551385082q".into()),
            bank: Some("中国工商银行南京分行".into()),
            account: Some("4301 0123 4567 8901".into()),
            address: Some("南京市玄武区中山路 1 号".into()),
            phone: Some("025-84561234".into()),
        }
    }

    #[test]
    fn titles_are_checked_and_normalised() {
        let title = organisation().check().unwrap();
        assert_eq!(title.title, "南京金陵机电设备有限公司");
        assert_eq!(title.tax_number.as_deref(), Some("91110108551385082Q"));
        let person = BillingTitle { title_kind: TitleKind::Person, tax_number: None, ..organisation() };
        assert!(person.check().is_ok());
        type Change = fn(&mut BillingTitle);
        let cases: [(Change, &str); 4] = [
            (|t| t.tax_number = None, "taxNumber"),
            (|t| t.tax_number = Some("91110108551385082A".into()), "taxNumber"),
            (|t| t.account = Some("12ab".into()), "account"),
            (|t| t.title = "  ".into(), "title"),
        ];
        for (change, field) in cases {
            let mut title = organisation();
            change(&mut title);
            assert_eq!(title.check().unwrap_err().0[0].field, field);
        }
    }

    #[test]
    fn special_invoices_need_a_complete_organisation() {
        let full = organisation();
        assert!(full.allows(VatKind::Special).is_ok());
        let person = BillingTitle { title_kind: TitleKind::Person, ..organisation() };
        assert!(person.allows(VatKind::Special).is_err());
        assert!(person.allows(VatKind::Ordinary).is_ok());
        let partial = BillingTitle { bank: None, phone: Some(" ".into()), ..organisation() };
        let err = partial.allows(VatKind::Special).unwrap_err();
        assert!(err.message.contains("bank, phone"), "{}", err.message);
        let terms = InvoiceTerms { vat_kind: VatKind::Special, rate: TaxRate::Zero, amount: "100".parse().unwrap() };
        assert_eq!(terms.check(&full, Places::default()).unwrap_err().0[0].field, "rate");
    }

    #[test]
    fn tax_is_split_out_of_the_amount_half_up() {
        let cases = [("113", TaxRate::Vat13, "100", "13"), ("100", TaxRate::Vat13, "88.50", "11.50")];
        for (amount, rate, net, tax) in cases {
            let terms = InvoiceTerms { vat_kind: VatKind::Ordinary, rate, amount: amount.parse().unwrap() };
            let (n, t) = terms.split();
            assert_eq!((n, t), (net.parse().unwrap(), tax.parse().unwrap()), "{amount} at {rate:?}");
        }
        // 10.6 at 6 %: 0.6 exactly; 0.05 at 6 %: 0.00283… rounds to 0.00.
        let small = InvoiceTerms { vat_kind: VatKind::Ordinary, rate: TaxRate::Vat6, amount: "0.05".parse().unwrap() };
        assert_eq!(small.split().1, Decimal::ZERO);
    }

    #[test]
    fn issue_numbers_and_dates_are_checked() {
        let today: NaiveDate = "2026-11-30".parse().unwrap();
        assert!(check_issue("12345678", today, today).is_ok());
        assert!(check_issue("26322000000012345678", today, today).is_ok());
        assert!(check_issue("1234567", today, today).is_err());
        assert!(check_issue("1234567A", today, today).is_err());
        assert!(check_issue("12345678", today.succ_opt().unwrap(), today).is_err());
    }

    #[test]
    fn invoices_move_through_their_states() {
        use InvoiceStatus as S;
        let invoice = |status| Invoice {
            id: InvoiceId::new(),
            number: "KP1".into(),
            contract_id: ContractId::new(),
            customer_id: CustomerId::new(),
            owner_id: None,
            profile_id: None,
            title: organisation(),
            terms: InvoiceTerms { vat_kind: VatKind::Ordinary, rate: TaxRate::Vat13, amount: Decimal::ONE_HUNDRED },
            tax: Decimal::ZERO,
            status,
            invoice_number: None,
            issued_on: None,
            void_reason: None,
            voided_at: None,
            external_id: None,
            note: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let cases = [
            (S::Approved, InvoiceAction::Issue, Some(S::Issued)),
            (S::Approved, InvoiceAction::Void, Some(S::Void)),
            (S::Issued, InvoiceAction::Void, Some(S::Void)),
            (S::Issued, InvoiceAction::Issue, None),
            (S::Requested, InvoiceAction::Issue, None),
            (S::Rejected, InvoiceAction::Void, None),
            (S::Void, InvoiceAction::Void, None),
        ];
        for (status, action, expected) in cases {
            assert_eq!(invoice(status).after(action).ok(), expected, "{status:?} {action:?}");
        }
        assert!(S::Issued.holds_amount() && S::Requested.holds_amount());
        assert!(!S::Void.holds_amount() && !S::Rejected.holds_amount());
    }
}
