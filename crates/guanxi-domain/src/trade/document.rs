//! Quotes (报价单) and sales orders (销售订单): their lines, their totals and the state
//! machines they move through. A quote goes DRAFT → SENT → ACCEPTED or REJECTED, and
//! counts as EXPIRED once a sent quote passes its validity date; one discounted past the
//! tenant's threshold is approved before it is sent. An order goes DRAFT → CONFIRMED →
//! PARTLY_DELIVERED → DELIVERED → COMPLETED, or is CANCELLED before anything is delivered;
//! a confirmed order is a sale (成交).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{ContactId, CustomerId, LineId, OpportunityId, OrderId, PricePolicyId, ProductId, QuoteId, UserId};
use crate::trade::money::{
    LineFigures, LineTerms, Places, TaxMode, TaxRate, Totals, check_discount, line_figures, totals,
};
use crate::trade::pricing::PriceSource;

/// The most lines a document holds.
pub const MAX_LINES: usize = 1000;

/// The largest amount of one line (a trillion yuan): with a thousand lines, a document's
/// totals still fit the stored ten-thousandths.
pub const MAX_LINE_AMOUNT: i64 = 1_000_000_000_000;

/// A line as a user writes it, its price already resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineDraft {
    pub product_id: ProductId,
    pub terms: LineTerms,
    pub source: PriceSource,
    pub policy_id: Option<PricePolicyId>,
    pub note: Option<String>,
}

/// A line as stored: what was sold, snapshotted from the product, and its figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub id: LineId,
    pub position: i32,
    pub product_id: ProductId,
    pub product_name: String,
    pub specification: Option<String>,
    pub unit: String,
    pub terms: LineTerms,
    pub source: PriceSource,
    pub policy_id: Option<PricePolicyId>,
    pub figures: LineFigures,
    /// How much of it is delivered (orders).
    pub delivered: Decimal,
    pub note: Option<String>,
}

/// Checks the lines' quantities, prices and discounts (field names `lines.N.…`).
pub fn check_lines(lines: &[LineDraft], price_places: Places) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    if lines.len() > MAX_LINES {
        invalid.push(FieldError::new("lines", ErrorCode::Invalid, format!("at most {MAX_LINES} lines")));
    }
    for (i, line) in lines.iter().enumerate() {
        let field = |name: &str| format!("lines.{i}.{name}");
        let q = line.terms.quantity;
        if q <= Decimal::ZERO || q > Decimal::from(1_000_000_000) || q.normalize().scale() > 4 {
            invalid.push(FieldError::new(
                field("quantity"),
                ErrorCode::Invalid,
                "a quantity above 0, at most a billion, with at most 4 decimal places",
            ));
        }
        if line.terms.unit_price < Decimal::ZERO {
            invalid.push(FieldError::new(field("unitPrice"), ErrorCode::Invalid, "a price is not negative"));
        }
        if line.terms.unit_price * q > Decimal::from(MAX_LINE_AMOUNT) {
            invalid.push(FieldError::new(field("unitPrice"), ErrorCode::Invalid, "a line is at most a trillion yuan"));
        }
        invalid.check(price_places.check(&field("unitPrice"), line.terms.unit_price));
        invalid.check(check_discount(&field("discount"), line.terms.discount));
        if line.note.as_deref().is_some_and(|n| n.chars().count() > 200) {
            invalid.push(FieldError::new(field("note"), ErrorCode::Invalid, "a note is at most 200 characters"));
        }
    }
    invalid.into_result()
}

/// The figures of each line and the totals, on a document with `discount` percent off.
pub fn figure(terms: &[LineTerms], discount: Decimal, mode: TaxMode, places: Places) -> (Vec<LineFigures>, Totals) {
    let figures: Vec<LineFigures> = terms.iter().map(|t| line_figures(t, discount, mode, places)).collect();
    let rated: Vec<(TaxRate, LineFigures)> = terms.iter().map(|t| t.tax_rate).zip(figures.iter().copied()).collect();
    let totals = totals(&rated);
    (figures, totals)
}

/// What a quote and an order share: who, what, and how it is priced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentHeader {
    pub customer_id: CustomerId,
    pub contact_id: Option<ContactId>,
    pub opportunity_id: Option<OpportunityId>,
    pub owner_id: Option<UserId>,
    pub tax_mode: TaxMode,
    /// Percent off every line (整单折扣).
    pub discount: Decimal,
    /// The tenant's places for this kind of document when it was made.
    pub places: Places,
    pub notes: Option<String>,
}

text_enum! {
    /// Where a quote stands, as stored (`EXPIRED` is derived: see [`Quote::status_on`]).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum QuoteStatus {
        Draft => "DRAFT", "草稿";
        PendingApproval => "PENDING_APPROVAL", "待审批";
        Approved => "APPROVED", "已审批";
        Sent => "SENT", "已发送";
        Accepted => "ACCEPTED", "已接受";
        Rejected => "REJECTED", "已拒绝";
        Expired => "EXPIRED", "已过期";
    }
}

/// A move of a quote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuoteAction {
    Edit,
    Submit,
    Approve,
    /// Back to the author from approval, with a reason.
    Return,
    Send,
    Accept,
    Reject,
    Revise,
    Delete,
}

/// One revision of a quote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    pub id: QuoteId,
    /// Shared by every revision.
    pub number: String,
    pub revision: i32,
    /// Set when a later revision replaced this one; it stays readable.
    pub superseded_at: Option<DateTime<Utc>>,
    pub header: DocumentHeader,
    pub status: QuoteStatus,
    pub valid_until: Option<NaiveDate>,
    pub terms: Option<String>,
    pub totals: Totals,
    pub discount_off_list: Decimal,
    pub approved_by: Option<UserId>,
    pub sent_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Quote {
    /// The status a reader sees on `today`: a sent quote past its validity is EXPIRED.
    pub fn status_on(&self, today: NaiveDate) -> QuoteStatus {
        match (self.status, self.valid_until) {
            (QuoteStatus::Sent, Some(until)) if until < today => QuoteStatus::Expired,
            (status, _) => status,
        }
    }

    /// The status after `action` on `today`, or why it may not happen. `threshold` is the
    /// tenant's discount (percent off list) above which a quote needs approval.
    pub fn after(
        &self,
        action: QuoteAction,
        today: NaiveDate,
        threshold: Option<Decimal>,
    ) -> Result<QuoteStatus, FieldError> {
        use QuoteStatus as S;
        let needs_approval = threshold.is_some_and(|t| self.discount_off_list > t);
        let refuse = |message: String| Err(FieldError::new("id", ErrorCode::IllegalState, message));
        if self.superseded_at.is_some() {
            return refuse(format!("revision {} was replaced by a later one", self.revision));
        }
        let status = self.status_on(today);
        let next = match (action, status) {
            (QuoteAction::Edit, S::Draft) => S::Draft,
            (QuoteAction::Submit, S::Draft) if needs_approval => S::PendingApproval,
            (QuoteAction::Submit, S::Draft) => {
                return refuse("the discount is within the threshold: send the quote".into());
            }
            (QuoteAction::Approve, S::PendingApproval) => S::Approved,
            (QuoteAction::Return, S::PendingApproval) => S::Draft,
            (QuoteAction::Send, S::Draft) if needs_approval => {
                return refuse(format!(
                    "{}% off list is above the {}% threshold: submit it for approval first",
                    self.discount_off_list,
                    threshold.unwrap_or_default()
                ));
            }
            (QuoteAction::Send, S::Draft | S::Approved) => S::Sent,
            (QuoteAction::Accept, S::Sent) => S::Accepted,
            (QuoteAction::Reject, S::Sent) => S::Rejected,
            (QuoteAction::Revise, S::Approved | S::Sent | S::Rejected | S::Expired) => S::Draft,
            (QuoteAction::Delete, S::Draft | S::Rejected | S::Expired) => status,
            (action, status) => {
                return refuse(format!("a quote that is {} cannot be {}", status.label_zh(), action_words(action)));
            }
        };
        Ok(next)
    }
}

/// The quote status an approval request's outcome leads to: a rejected or withdrawn
/// quote goes back to its author as a draft.
pub fn quote_after_approval(outcome: crate::approval::engine::RequestStatus) -> QuoteStatus {
    use crate::approval::engine::RequestStatus as R;
    match outcome {
        R::Pending => QuoteStatus::PendingApproval,
        R::Approved => QuoteStatus::Approved,
        R::Rejected | R::Withdrawn => QuoteStatus::Draft,
    }
}

fn action_words(action: QuoteAction) -> &'static str {
    match action {
        QuoteAction::Edit => "edited (revise it instead)",
        QuoteAction::Submit => "submitted for approval",
        QuoteAction::Approve => "approved",
        QuoteAction::Return => "returned",
        QuoteAction::Send => "sent",
        QuoteAction::Accept => "accepted",
        QuoteAction::Reject => "rejected",
        QuoteAction::Revise => "revised",
        QuoteAction::Delete => "deleted",
    }
}

text_enum! {
    /// Where a sales order stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum OrderStatus {
        Draft => "DRAFT", "草稿";
        Confirmed => "CONFIRMED", "已确认";
        PartlyDelivered => "PARTLY_DELIVERED", "部分发货";
        Delivered => "DELIVERED", "已发货";
        Completed => "COMPLETED", "已完成";
        Cancelled => "CANCELLED", "已取消";
    }
}

/// A move of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderAction {
    Edit,
    Confirm,
    Deliver,
    Complete,
    Cancel,
    Delete,
}

/// What an order adds to the header.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OrderTerms {
    pub delivery_date: Option<NaiveDate>,
    pub delivery_address: Option<String>,
    pub payment_terms: Option<String>,
    /// The ERP's order number.
    pub external_id: Option<String>,
}

impl OrderTerms {
    pub fn check(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        for (field, value, max) in [
            ("deliveryAddress", &mut self.delivery_address, 200),
            ("paymentTerms", &mut self.payment_terms, 200),
            ("externalId", &mut self.external_id, 64),
        ] {
            *value = value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
            if value.as_deref().is_some_and(|v| v.chars().count() > max) {
                invalid.push(FieldError::new(field, ErrorCode::Invalid, format!("at most {max} characters")));
            }
        }
        invalid.into_result()?;
        Ok(self)
    }
}

/// A sales order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub number: String,
    pub header: DocumentHeader,
    pub quote_id: Option<QuoteId>,
    pub terms: OrderTerms,
    pub status: OrderStatus,
    pub totals: Totals,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Order {
    /// The status after `action`, or why it may not happen. A delivery's status is
    /// decided by [`delivered_status`]; any delivery moves a confirmed order on, so a
    /// CONFIRMED order has nothing delivered and may still be cancelled.
    pub fn after(&self, action: OrderAction) -> Result<OrderStatus, FieldError> {
        use OrderStatus as S;
        let next = match (action, self.status) {
            (OrderAction::Edit | OrderAction::Delete, S::Draft) => S::Draft,
            (OrderAction::Confirm, S::Draft) => S::Confirmed,
            (OrderAction::Deliver, S::Confirmed | S::PartlyDelivered) => self.status,
            (OrderAction::Complete, S::Delivered) => S::Completed,
            (OrderAction::Cancel, S::Draft | S::Confirmed) => S::Cancelled,
            (action, status) => {
                let verb = match action {
                    OrderAction::Edit => "edited",
                    OrderAction::Confirm => "confirmed",
                    OrderAction::Deliver => "delivered",
                    OrderAction::Complete => "completed",
                    OrderAction::Cancel => "cancelled",
                    OrderAction::Delete => "deleted",
                };
                return Err(FieldError::new(
                    "id",
                    ErrorCode::IllegalState,
                    format!("an order that is {} cannot be {verb}", status.label_zh()),
                ));
            }
        };
        Ok(next)
    }
}

/// The status a synced order (`upsertSalesOrders`) ends in when its source says `asked`
/// (DRAFT, CONFIRMED or CANCELLED; `None` keeps the stored one, or DRAFT for a new order).
/// A new order may start in any of them. A stored one moves only as the state machine
/// allows; an order already past confirmation counts as CONFIRMED, so a source re-sending
/// a confirmed order it has since delivered asks for nothing.
pub fn synced_status(stored: Option<OrderStatus>, asked: Option<OrderStatus>) -> Result<OrderStatus, FieldError> {
    use OrderStatus as S;
    if let Some(asked) = asked.filter(|a| !matches!(a, S::Draft | S::Confirmed | S::Cancelled)) {
        let message = format!("a synced order is DRAFT, CONFIRMED or CANCELLED, not {}", asked.as_str());
        return Err(FieldError::new("status", ErrorCode::Invalid, message));
    }
    let Some(stored) = stored else { return Ok(asked.unwrap_or(S::Draft)) };
    let confirmed = matches!(stored, S::Confirmed | S::PartlyDelivered | S::Delivered | S::Completed);
    match asked {
        None => Ok(stored),
        Some(asked) if asked == stored => Ok(stored),
        Some(S::Confirmed) if stored == S::Draft || confirmed => Ok(if confirmed { stored } else { S::Confirmed }),
        Some(S::Cancelled) if matches!(stored, S::Draft | S::Confirmed) => Ok(S::Cancelled),
        Some(asked) => Err(FieldError::new(
            "status",
            ErrorCode::IllegalState,
            format!("an order that is {} cannot become {}", stored.label_zh(), asked.label_zh()),
        )),
    }
}

/// The status of a confirmed order once its lines hold these delivered quantities
/// (ordered, delivered), or the first line a delivery would take past what was ordered.
pub fn delivered_status(lines: &[(Decimal, Decimal)]) -> Result<OrderStatus, usize> {
    if let Some(over) = lines.iter().position(|(ordered, delivered)| delivered > ordered) {
        return Err(over);
    }
    let all = lines.iter().all(|(ordered, delivered)| delivered >= ordered);
    let any = lines.iter().any(|(_, delivered)| *delivered > Decimal::ZERO);
    Ok(match (all, any) {
        (true, _) => OrderStatus::Delivered,
        (false, true) => OrderStatus::PartlyDelivered,
        (false, false) => OrderStatus::Confirmed,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn quote(status: QuoteStatus, off_list: &str) -> Quote {
        Quote {
            id: QuoteId::new(),
            number: "BJ1".into(),
            revision: 1,
            superseded_at: None,
            header: DocumentHeader {
                customer_id: CustomerId::new(),
                contact_id: None,
                opportunity_id: None,
                owner_id: None,
                tax_mode: TaxMode::Inclusive,
                discount: Decimal::ZERO,
                places: Places::default(),
                notes: None,
            },
            status,
            valid_until: Some("2026-12-31".parse().unwrap()),
            terms: None,
            totals: Totals::default(),
            discount_off_list: d(off_list),
            approved_by: None,
            sent_at: None,
            decided_at: None,
            decision_reason: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deleted_at: None,
        }
    }

    #[test]
    fn a_synced_order_moves_only_as_the_state_machine_allows() {
        use OrderStatus as S;
        let cases = [
            (None, None, Some(S::Draft)),
            (None, Some(S::Cancelled), Some(S::Cancelled)),
            (None, Some(S::Confirmed), Some(S::Confirmed)),
            (Some(S::Draft), None, Some(S::Draft)),
            (Some(S::Draft), Some(S::Confirmed), Some(S::Confirmed)),
            (Some(S::Draft), Some(S::Cancelled), Some(S::Cancelled)),
            (Some(S::Confirmed), Some(S::Draft), None),
            (Some(S::Confirmed), Some(S::Cancelled), Some(S::Cancelled)),
            (Some(S::Delivered), Some(S::Confirmed), Some(S::Delivered)),
            (Some(S::PartlyDelivered), Some(S::Cancelled), None),
            (Some(S::Cancelled), Some(S::Confirmed), None),
            (Some(S::Cancelled), Some(S::Cancelled), Some(S::Cancelled)),
            (None, Some(S::Delivered), None),
            (Some(S::Confirmed), Some(S::Completed), None),
        ];
        for (stored, asked, expected) in cases {
            assert_eq!(synced_status(stored, asked).ok(), expected, "{stored:?} asked {asked:?}");
        }
    }

    #[test]
    fn quote_moves_follow_the_state_machine() {
        use QuoteAction as A;
        use QuoteStatus as S;
        let today: NaiveDate = "2026-12-01".parse().unwrap();
        let later: NaiveDate = "2027-01-01".parse().unwrap();
        let threshold = Some(d("15"));
        // (status, % off list, action, day) → next status, or None when refused
        let cases = [
            (S::Draft, "0", A::Send, today, Some(S::Sent)),
            (S::Draft, "20", A::Send, today, None),
            (S::Draft, "20", A::Submit, today, Some(S::PendingApproval)),
            (S::Draft, "10", A::Submit, today, None),
            (S::PendingApproval, "20", A::Approve, today, Some(S::Approved)),
            (S::PendingApproval, "20", A::Return, today, Some(S::Draft)),
            (S::PendingApproval, "20", A::Edit, today, None),
            (S::Approved, "20", A::Send, today, Some(S::Sent)),
            (S::Approved, "20", A::Edit, today, None),
            (S::Sent, "0", A::Accept, today, Some(S::Accepted)),
            (S::Sent, "0", A::Accept, later, None),
            (S::Sent, "0", A::Reject, today, Some(S::Rejected)),
            (S::Sent, "0", A::Revise, later, Some(S::Draft)),
            (S::Sent, "0", A::Delete, later, Some(S::Expired)),
            (S::Accepted, "0", A::Revise, today, None),
            (S::Accepted, "0", A::Delete, today, None),
            (S::Draft, "0", A::Accept, today, None),
        ];
        for (status, off, action, day, expected) in cases {
            let got = quote(status, off).after(action, day, threshold).ok();
            assert_eq!(got, expected, "{status:?} {off}% {action:?} on {day}");
        }
        assert_eq!(quote(S::Draft, "90").after(A::Send, today, None).ok(), Some(S::Sent), "no threshold");
        let mut old = quote(S::Sent, "0");
        old.superseded_at = Some(Utc::now());
        assert!(old.after(A::Accept, today, None).is_err(), "an old revision is read-only");
        assert_eq!(quote(S::Sent, "0").status_on(later), S::Expired);
    }

    #[test]
    fn order_moves_follow_the_state_machine() {
        use OrderAction as A;
        use OrderStatus as S;
        let order = |status| Order {
            id: OrderId::new(),
            number: "DD1".into(),
            header: quote(QuoteStatus::Draft, "0").header,
            quote_id: None,
            terms: OrderTerms::default(),
            status,
            totals: Totals::default(),
            confirmed_at: None,
            closed_at: None,
            cancel_reason: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            deleted_at: None,
        };
        let cases = [
            (S::Draft, A::Confirm, Some(S::Confirmed)),
            (S::Draft, A::Edit, Some(S::Draft)),
            (S::Confirmed, A::Edit, None),
            (S::Confirmed, A::Deliver, Some(S::Confirmed)),
            (S::Confirmed, A::Cancel, Some(S::Cancelled)),
            (S::PartlyDelivered, A::Cancel, None),
            (S::Delivered, A::Complete, Some(S::Completed)),
            (S::PartlyDelivered, A::Complete, None),
            (S::Completed, A::Cancel, None),
            (S::Cancelled, A::Confirm, None),
        ];
        for (status, action, expected) in cases {
            assert_eq!(order(status).after(action).ok(), expected, "{status:?} {action:?}");
        }
    }

    #[test]
    fn deliveries_decide_the_order_status_and_never_exceed_the_order() {
        // (ordered, delivered) per line → the status, or the line over its order
        type Case<'a> = (&'a [(&'a str, &'a str)], Result<OrderStatus, usize>);
        let cases: [Case; 4] = [
            (&[("2", "0"), ("1", "0")], Ok(OrderStatus::Confirmed)),
            (&[("2", "1"), ("1", "0")], Ok(OrderStatus::PartlyDelivered)),
            (&[("2", "2"), ("1", "1")], Ok(OrderStatus::Delivered)),
            (&[("2", "2"), ("1", "1.5")], Err(1)),
        ];
        for (lines, expected) in cases {
            let lines: Vec<_> = lines.iter().map(|(o, dl)| (d(o), d(dl))).collect();
            assert_eq!(delivered_status(&lines), expected, "{lines:?}");
        }
    }
}
