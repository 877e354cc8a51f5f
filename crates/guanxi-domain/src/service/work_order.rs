//! After-sales work orders (售后服务工单): a customer's request followed from report to
//! dispatch, the visit, the fee, completion and the customer's confirmation.
//!
//! The state machine:
//!
//! ```text
//! SUBMITTED → ACCEPTED → DISPATCHED → EN_ROUTE → IN_PROGRESS → COMPLETED → CONFIRMED → CLOSED
//!                 ↑            └────────────────────↗              │   ↘        │
//!             REOPENED ←───────────────────────────────────────────┴────┴───────┘ (within the window)
//! ```
//!
//! plus ON_HOLD (with a reason, from ACCEPTED to IN_PROGRESS, resuming where it was held),
//! CANCELLED (with a reason, before work starts) and re-dispatch to another technician.
//! Each move names who may make it: see [`authorise`].

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{AssetId, ContactId, CustomerId, DefectId, EventId, ProductId, UserId, WorkOrderId};
use crate::service::asset::Coverage;
use crate::trade::money::Places;

text_enum! {
    /// Where a work order stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum WorkOrderStatus {
        Submitted => "SUBMITTED", "待受理";
        Accepted => "ACCEPTED", "已受理";
        Dispatched => "DISPATCHED", "已派工";
        EnRoute => "EN_ROUTE", "在途";
        InProgress => "IN_PROGRESS", "处理中";
        Completed => "COMPLETED", "已完工";
        Confirmed => "CONFIRMED", "客户已确认";
        Closed => "CLOSED", "已关闭";
        Cancelled => "CANCELLED", "已取消";
        OnHold => "ON_HOLD", "挂起";
        Reopened => "REOPENED", "已重开";
    }
}

impl WorkOrderStatus {
    /// Still to be worked: not completed, confirmed, closed or cancelled (a technician's
    /// open load, the 360's open orders).
    pub const OPEN: &'static [WorkOrderStatus] = &[
        Self::Submitted,
        Self::Accepted,
        Self::Dispatched,
        Self::EnRoute,
        Self::InProgress,
        Self::OnHold,
        Self::Reopened,
    ];

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

text_enum! {
    /// How the request came in (报修渠道).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum ServiceChannel {
        Phone => "PHONE", "电话";
        Web => "WEB", "网站";
        Portal => "PORTAL", "客户自助";
        Wechat => "WECHAT", "微信";
        Email => "EMAIL", "邮件";
        Field => "FIELD", "现场";
    }
}

text_enum! {
    /// What kind of work (工单类型).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum WorkOrderType {
        Repair => "REPAIR", "维修";
        Installation => "INSTALLATION", "安装";
        Maintenance => "MAINTENANCE", "保养";
        Inspection => "INSPECTION", "巡检";
        Consultation => "CONSULTATION", "咨询";
        Complaint => "COMPLAINT", "投诉";
    }
}

text_enum! {
    /// How urgent (优先级).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    pub enum Priority {
        Low => "LOW", "低";
        Normal => "NORMAL", "普通";
        High => "HIGH", "高";
        Urgent => "URGENT", "紧急";
    }
}

text_enum! {
    /// Whether the customer owes anything, and whether it is settled (收费状态).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum PaymentStatus {
        /// Nothing to charge (covered, or no fee yet).
        NotDue => "NOT_DUE", "无需收费";
        Unpaid => "UNPAID", "未收款";
        Paid => "PAID", "已收款";
        /// Let off by a supervisor (免收).
        Waived => "WAIVED", "已免收";
    }
}

text_enum! {
    /// How a fee was paid (收款方式).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum PaymentMethod {
        Cash => "CASH", "现金";
        Wechat => "WECHAT", "微信支付";
        Alipay => "ALIPAY", "支付宝";
        BankTransfer => "BANK_TRANSFER", "银行转账";
        Card => "CARD", "刷卡";
    }
}

text_enum! {
    /// A line of a work order: a part used (charged unless covered), or an item of the
    /// packing list (装箱单) brought to or left with the customer.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum ItemKind {
        Part => "PART", "备件";
        Packing => "PACKING", "装箱单";
    }
}

/// A move of the state machine; each is one mutation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transition {
    Accept,
    Dispatch,
    StartTravel,
    Start,
    Complete,
    Confirm,
    Close,
    Cancel,
    Hold,
    Resume,
    Reopen,
}

impl Transition {
    pub const ALL: &'static [Transition] = &[
        Self::Accept,
        Self::Dispatch,
        Self::StartTravel,
        Self::Start,
        Self::Complete,
        Self::Confirm,
        Self::Close,
        Self::Cancel,
        Self::Hold,
        Self::Resume,
        Self::Reopen,
    ];

    /// The mutation's name, for messages.
    pub fn mutation(self) -> &'static str {
        match self {
            Self::Accept => "acceptWorkOrder",
            Self::Dispatch => "dispatchWorkOrder",
            Self::StartTravel => "startTravel",
            Self::Start => "startWorkOrder",
            Self::Complete => "completeWorkOrder",
            Self::Confirm => "confirmWorkOrder",
            Self::Close => "closeWorkOrder",
            Self::Cancel => "cancelWorkOrder",
            Self::Hold => "holdWorkOrder",
            Self::Resume => "resumeWorkOrder",
            Self::Reopen => "reopenWorkOrder",
        }
    }
}

/// Where `transition` takes a work order in `status`, or `None` when it may not be made
/// there. `held_from` is where an order ON_HOLD resumes.
pub fn target(
    status: WorkOrderStatus,
    transition: Transition,
    held_from: Option<WorkOrderStatus>,
) -> Option<WorkOrderStatus> {
    use Transition as T;
    use WorkOrderStatus as S;
    Some(match (status, transition) {
        (S::Submitted, T::Accept) => S::Accepted,
        // Dispatch, and dispatch again to another technician before work starts.
        (S::Accepted | S::Reopened | S::Dispatched | S::EnRoute, T::Dispatch) => S::Dispatched,
        (S::Dispatched, T::StartTravel) => S::EnRoute,
        // Work in the workshop or by remote needs no travel.
        (S::Dispatched | S::EnRoute, T::Start) => S::InProgress,
        (S::InProgress, T::Complete) => S::Completed,
        (S::Completed, T::Confirm) => S::Confirmed,
        (S::Completed | S::Confirmed, T::Close) => S::Closed,
        (S::Submitted | S::Accepted | S::Dispatched | S::EnRoute | S::Reopened, T::Cancel) => S::Cancelled,
        // On hold, only what was held before work started may be cancelled.
        (S::OnHold, T::Cancel) if held_from != Some(S::InProgress) => S::Cancelled,
        (S::Accepted | S::Dispatched | S::EnRoute | S::InProgress | S::Reopened, T::Hold) => S::OnHold,
        (S::OnHold, T::Resume) => held_from.unwrap_or(S::Accepted),
        (S::Completed | S::Confirmed, T::Reopen) => S::Reopened,
        _ => return None,
    })
}

/// The states a work order in `status` may move to next, in the state machine's order.
pub fn next_states(status: WorkOrderStatus, held_from: Option<WorkOrderStatus>) -> Vec<WorkOrderStatus> {
    let mut next: Vec<WorkOrderStatus> = Transition::ALL.iter().filter_map(|t| target(status, *t, held_from)).collect();
    next.sort_by_key(|s| WorkOrderStatus::ALL.iter().position(|x| x == s));
    next.dedup();
    next
}

/// Where `transition` takes the order, or `ILLEGAL_TRANSITION` naming the states it may
/// go to from here.
pub fn check_transition(
    status: WorkOrderStatus,
    transition: Transition,
    held_from: Option<WorkOrderStatus>,
) -> Result<WorkOrderStatus, FieldError> {
    target(status, transition, held_from).ok_or_else(|| {
        let next = next_states(status, held_from);
        let allowed = if next.is_empty() {
            "none: it is final".to_owned()
        } else {
            next.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        };
        FieldError::new(
            "id",
            ErrorCode::IllegalTransition,
            format!(
                "{} is not possible on a work order that is {}; allowed next states: {allowed}",
                transition.mutation(),
                status.as_str()
            ),
        )
    })
}

/// What the caller is, for deciding who may move a work order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Doer {
    /// The order's assigned technician.
    pub is_technician: bool,
    /// `workorder.write`: takes and handles requests (客服).
    pub may_write: bool,
    /// `workorder.dispatch`: assigns technicians (派工).
    pub may_dispatch: bool,
    /// `workorder.supervise`: closes without the customer, acts for a technician (主管).
    pub may_supervise: bool,
    /// The customer, through their own channel: confirms the work done, nothing else.
    pub is_customer: bool,
}

impl Doer {
    /// The customer, through the self-service portal.
    pub const CUSTOMER: Self =
        Self { is_technician: false, may_write: false, may_dispatch: false, may_supervise: false, is_customer: true };
}

/// Whether `doer` may make `transition` on an order in `status`; `FORBIDDEN` says who may.
///
/// - accepting, confirming (the customer's confirmation, taken by staff), putting on hold
///   and resuming: `workorder.write`; a technician may also hold and resume their own,
///   but never confirms, closes or reopens their own work (a supervisor may);
/// - dispatching: `workorder.dispatch`;
/// - travelling, starting and completing: the assigned technician, or a supervisor;
/// - closing: `workorder.write` once the customer confirmed, a supervisor before;
/// - cancelling: `workorder.write` before dispatch, `workorder.dispatch` after;
/// - reopening: `workorder.write` (within the tenant's window, checked by the caller);
/// - the customer confirms, and does nothing else.
pub fn authorise(transition: Transition, status: WorkOrderStatus, doer: Doer) -> Result<(), FieldError> {
    use Transition as T;
    use WorkOrderStatus as S;
    if doer.is_technician && !doer.may_supervise && matches!(transition, T::Confirm | T::Close | T::Reopen) {
        return Err(FieldError::new(
            "id",
            ErrorCode::Forbidden,
            format!("{} is not for the technician who did the work", transition.mutation()),
        ));
    }
    let (allowed, who) = match transition {
        T::Confirm => (doer.may_write || doer.is_customer, "workorder.write or the customer"),
        T::Accept | T::Reopen => (doer.may_write, "workorder.write"),
        T::Hold | T::Resume => (doer.may_write || doer.is_technician, "workorder.write or the assigned technician"),
        T::Dispatch => (doer.may_dispatch, "workorder.dispatch"),
        T::StartTravel | T::Start | T::Complete => {
            (doer.is_technician || doer.may_supervise, "the assigned technician (or workorder.supervise)")
        }
        T::Close if status == S::Confirmed => (doer.may_write || doer.may_supervise, "workorder.write"),
        T::Close => (doer.may_supervise, "the customer's confirmation first, or workorder.supervise"),
        T::Cancel if matches!(status, S::Submitted | S::Accepted) => (doer.may_write, "workorder.write"),
        T::Cancel => (doer.may_dispatch || doer.may_supervise, "workorder.dispatch once dispatched"),
    };
    if allowed {
        Ok(())
    } else {
        Err(FieldError::new("id", ErrorCode::Forbidden, format!("{} needs {who}", transition.mutation())))
    }
}

/// Whether a completed order may still be reopened at `now`: within `days` of completion.
pub fn check_reopen(completed_at: Option<DateTime<Utc>>, now: DateTime<Utc>, days: u16) -> Result<(), FieldError> {
    match completed_at {
        Some(done) if now - done <= Duration::days(i64::from(days)) => Ok(()),
        _ => Err(FieldError::new(
            "id",
            ErrorCode::IllegalState,
            format!("a work order is reopened within {days} days of completion"),
        )),
    }
}

/// A part used or an item packed, as entered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemInput {
    pub kind: ItemKind,
    pub product_id: Option<ProductId>,
    /// The product's name when it names one; required otherwise.
    pub name: String,
    pub quantity: Decimal,
    /// A part's price each (the product's list price when not given); none for packing.
    pub unit_price: Option<Decimal>,
    pub serial_number: Option<String>,
}

/// A work order's line as kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub kind: ItemKind,
    pub product_id: Option<ProductId>,
    pub name: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    /// quantity × unit price, to the fen (四舍五入).
    pub amount: Decimal,
    pub serial_number: Option<String>,
}

/// The most lines a work order carries.
pub const MAX_ITEMS: usize = 100;
/// The highest price of a part.
pub const MAX_PRICE: i64 = 1_000_000_000;

/// Checks lines and prices them: every bad line at once, as `items.N.field`.
pub fn price_items(items: Vec<ItemInput>) -> Result<Vec<Item>, Invalid> {
    let mut invalid = Invalid::default();
    if items.len() > MAX_ITEMS {
        invalid.push(FieldError::new("items", ErrorCode::Invalid, format!("at most {MAX_ITEMS} lines")));
    }
    let cents = Places::default();
    let mut priced = Vec::with_capacity(items.len());
    for (n, item) in items.into_iter().enumerate() {
        let field = |name: &str| format!("items.{n}.{name}");
        let name = item.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            invalid.push(FieldError::new(field("name"), ErrorCode::Invalid, "a name of 1 to 100 characters"));
        }
        if item.quantity <= Decimal::ZERO || item.quantity > Decimal::from(1_000_000) || item.quantity.scale() > 4 {
            invalid.push(FieldError::new(
                field("quantity"),
                ErrorCode::Invalid,
                "more than zero, at most 1,000,000, four decimal places",
            ));
        }
        let unit_price = match (item.kind, item.unit_price) {
            (ItemKind::Packing, _) => Decimal::ZERO,
            (ItemKind::Part, Some(price))
                if price < Decimal::ZERO || price > Decimal::from(MAX_PRICE) || price.normalize().scale() > 4 =>
            {
                invalid.push(FieldError::new(
                    field("unitPrice"),
                    ErrorCode::Invalid,
                    "from 0 to 1,000,000,000, four decimal places",
                ));
                Decimal::ZERO
            }
            (ItemKind::Part, Some(price)) => price,
            (ItemKind::Part, None) => {
                invalid.push(FieldError::new(field("unitPrice"), ErrorCode::Required, "a part needs its price"));
                Decimal::ZERO
            }
        };
        let serial = item.serial_number.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        if serial.as_ref().is_some_and(|s| s.chars().count() > 60) {
            invalid.push(FieldError::new(field("serialNumber"), ErrorCode::Invalid, "at most 60 characters"));
        }
        priced.push(Item {
            kind: item.kind,
            product_id: item.product_id,
            name,
            quantity: item.quantity,
            unit_price,
            amount: cents.round(item.quantity.checked_mul(unit_price).unwrap_or_default()),
            serial_number: serial,
        });
    }
    invalid.into_result().map(|()| priced)
}

/// What a work order costs and what the customer owes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fees {
    /// The parts used, at their prices.
    pub parts: Decimal,
    pub labour: Decimal,
    /// What the customer pays: the parts and labour the coverage does not cover.
    pub charge: Decimal,
}

/// The fees of an order with `items` and `labour` under `coverage`.
pub fn fees(items: &[Item], labour: Decimal, coverage: &Coverage) -> Fees {
    let parts: Decimal = items.iter().filter(|i| i.kind == ItemKind::Part).map(|i| i.amount).sum();
    let mut charge = Decimal::ZERO;
    if !coverage.parts_covered {
        charge += parts;
    }
    if !coverage.labour_covered {
        charge += labour;
    }
    Fees { parts, labour, charge }
}

/// A labour fee: not negative, to the fen.
pub fn check_labour(labour: Decimal) -> Result<Decimal, FieldError> {
    if labour < Decimal::ZERO || labour > Decimal::from(100_000_000) {
        return Err(FieldError::new("labour", ErrorCode::Invalid, "from 0 to 100,000,000"));
    }
    Places::default().check("labour", labour)
}

/// The payment status fees lead to, keeping a settled one settled.
pub fn payment_after(current: PaymentStatus, charge: Decimal) -> PaymentStatus {
    match current {
        PaymentStatus::Paid | PaymentStatus::Waived => current,
        _ if charge > Decimal::ZERO => PaymentStatus::Unpaid,
        _ => PaymentStatus::NotDue,
    }
}

/// The customer's request as taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub customer_id: CustomerId,
    pub contact_id: Option<ContactId>,
    pub asset_id: Option<AssetId>,
    pub product_id: Option<ProductId>,
    pub channel: ServiceChannel,
    pub kind: WorkOrderType,
    pub priority: Priority,
    pub subject: String,
    pub description: Option<String>,
    pub attachment_ids: Vec<Uuid>,
    /// The window the customer asked for (预约时间).
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
    /// Where the work is done (服务地址); the asset's or the customer's address by default.
    pub address: Option<String>,
    /// The region dispatch matches technicians on; the customer's by default.
    pub region: Option<String>,
}

impl Request {
    pub fn check(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        self.subject = self.subject.trim().to_owned();
        if self.subject.is_empty() || self.subject.chars().count() > 200 {
            invalid.push(FieldError::new("subject", ErrorCode::Invalid, "a subject of 1 to 200 characters"));
        }
        for (field, text, max) in [
            ("description", &mut self.description, 5000),
            ("address", &mut self.address, 200),
            ("region", &mut self.region, 60),
        ] {
            *text = text.take().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
            if text.as_ref().is_some_and(|t| t.chars().count() > max) {
                invalid.push(FieldError::new(field, ErrorCode::Invalid, format!("at most {max} characters")));
            }
        }
        if let (Some(from), Some(to)) = (self.window_from, self.window_to)
            && to <= from
        {
            invalid.push(FieldError::new("windowTo", ErrorCode::Invalid, "the window ends after it starts"));
        }
        if self.attachment_ids.len() > 20 {
            invalid.push(FieldError::new("attachmentIds", ErrorCode::Invalid, "at most 20 attachments"));
        }
        invalid.into_result().map(|()| self)
    }
}

/// When each step happened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Milestones {
    pub accepted_at: Option<DateTime<Utc>>,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub travel_started_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// A work order's service-level deadlines, set when it is taken (none when the tenant's
/// calendar has no working time), and when the breach job found each one missed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlaTimes {
    pub response_due_at: Option<DateTime<Utc>>,
    pub resolution_due_at: Option<DateTime<Utc>>,
    pub response_breached_at: Option<DateTime<Utc>>,
    pub resolution_breached_at: Option<DateTime<Utc>>,
}

impl WorkOrder {
    /// Where the order stands against its deadlines at `now`: BREACHED once the breach
    /// job found one missed; the response is met when it is accepted, the resolution when
    /// it is completed; a cancelled order owes nothing.
    pub fn sla_status(&self, now: DateTime<Utc>) -> crate::service::sla::SlaStatus {
        use crate::service::sla::{Deadline, SlaStatus, status};
        if self.sla.response_breached_at.is_some() || self.sla.resolution_breached_at.is_some() {
            return SlaStatus::Breached;
        }
        let m = &self.milestones;
        let response = self.sla.response_due_at.map(|due| Deadline { due, met_at: m.accepted_at });
        let resolution = self.sla.resolution_due_at.map(|due| Deadline { due, met_at: m.completed_at });
        let closed = matches!(self.status, WorkOrderStatus::Cancelled);
        status(self.created_at, (response, resolution), closed, now)
    }
}

/// A work order as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkOrder {
    pub id: WorkOrderId,
    pub number: String,
    pub request: Request,
    pub status: WorkOrderStatus,
    pub held_from: Option<WorkOrderStatus>,
    /// Why it is on hold, cancelled or reopened (the last such reason).
    pub reason: Option<String>,
    pub coverage: Coverage,
    /// The service agent who took it (its owner for data scopes).
    pub owner_id: Option<UserId>,
    pub dispatcher_id: Option<UserId>,
    pub technician_id: Option<UserId>,
    pub milestones: Milestones,
    pub reopen_count: i32,
    pub resolution: Option<String>,
    pub root_cause: Option<String>,
    pub fees: Fees,
    pub payment_status: PaymentStatus,
    pub payment_method: Option<PaymentMethod>,
    pub paid_at: Option<DateTime<Utc>>,
    /// 1 to 5 (满意度), and the customer's words.
    pub satisfaction: Option<i16>,
    pub satisfaction_comment: Option<String>,
    /// The product defect it met, when linked.
    pub defect_id: Option<DefectId>,
    /// The return visit (回访) to-do made for the agent when it was first completed.
    pub return_visit_id: Option<EventId>,
    /// A complaint (投诉): the order it is about.
    pub complaint_of: Option<WorkOrderId>,
    pub sla: SlaTimes,
    pub external_id: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WorkOrder {
    /// The day coverage is decided on: the day the request was reported, in China.
    pub fn reported_on(&self) -> NaiveDate {
        crate::customers::customer::shanghai_date(self.created_at)
    }
}

/// A completion's report: what was wrong and what was done.
pub fn check_completion(resolution: &str, root_cause: Option<&str>) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    let resolution = resolution.trim();
    if resolution.is_empty() || resolution.chars().count() > 2000 {
        invalid.push(FieldError::new("resolution", ErrorCode::Required, "say what was done, 1 to 2000 characters"));
    }
    if root_cause.is_some_and(|r| r.trim().chars().count() > 500) {
        invalid.push(FieldError::new("rootCause", ErrorCode::Invalid, "at most 500 characters"));
    }
    invalid.into_result()
}

/// A satisfaction score: 1 to 5, with at most 500 characters of comment.
pub fn check_satisfaction(score: i16, comment: Option<&str>) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    if !(1..=5).contains(&score) {
        invalid.push(FieldError::new("score", ErrorCode::Invalid, "a score from 1 to 5"));
    }
    if comment.is_some_and(|c| c.chars().count() > 500) {
        invalid.push(FieldError::new("comment", ErrorCode::Invalid, "at most 500 characters"));
    }
    invalid.into_result()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::service::asset::CoverageKind;
    use Transition as T;
    use WorkOrderStatus as S;

    #[test]
    fn the_happy_path_runs_from_report_to_close() {
        let path = [
            (S::Submitted, T::Accept, S::Accepted),
            (S::Accepted, T::Dispatch, S::Dispatched),
            (S::Dispatched, T::StartTravel, S::EnRoute),
            (S::EnRoute, T::Start, S::InProgress),
            (S::InProgress, T::Complete, S::Completed),
            (S::Completed, T::Confirm, S::Confirmed),
            (S::Confirmed, T::Close, S::Closed),
        ];
        for (from, t, to) in path {
            assert_eq!(check_transition(from, t, None).unwrap(), to, "{from:?} {t:?}");
        }
    }

    #[test]
    fn every_illegal_move_names_the_allowed_next_states() {
        let legal = [
            (S::Submitted, T::Accept),
            (S::Submitted, T::Cancel),
            (S::Accepted, T::Dispatch),
            (S::Accepted, T::Hold),
            (S::Accepted, T::Cancel),
            (S::Dispatched, T::Dispatch),
            (S::Dispatched, T::StartTravel),
            (S::Dispatched, T::Start),
            (S::Dispatched, T::Hold),
            (S::Dispatched, T::Cancel),
            (S::EnRoute, T::Dispatch),
            (S::EnRoute, T::Start),
            (S::EnRoute, T::Hold),
            (S::EnRoute, T::Cancel),
            (S::InProgress, T::Complete),
            (S::InProgress, T::Hold),
            (S::Completed, T::Confirm),
            (S::Completed, T::Close),
            (S::Completed, T::Reopen),
            (S::Confirmed, T::Close),
            (S::Confirmed, T::Reopen),
            (S::OnHold, T::Resume),
            (S::OnHold, T::Cancel),
            (S::Reopened, T::Dispatch),
            (S::Reopened, T::Hold),
            (S::Reopened, T::Cancel),
        ];
        for status in S::ALL {
            for t in T::ALL {
                let result = check_transition(*status, *t, Some(S::Dispatched));
                assert_eq!(result.is_ok(), legal.contains(&(*status, *t)), "{status:?} {t:?}");
                if let Err(e) = result {
                    assert_eq!(e.code, ErrorCode::IllegalTransition);
                    assert!(e.message.contains("allowed next states"), "{}", e.message);
                }
            }
        }
        let e = check_transition(S::Closed, T::Reopen, None).unwrap_err();
        assert!(e.message.ends_with("none: it is final"), "{}", e.message);
        let e = check_transition(S::Submitted, T::Complete, None).unwrap_err();
        assert!(e.message.ends_with("ACCEPTED, CANCELLED"), "{}", e.message);
    }

    #[test]
    fn hold_resumes_where_it_was() {
        assert_eq!(check_transition(S::OnHold, T::Resume, Some(S::InProgress)).unwrap(), S::InProgress);
        assert_eq!(next_states(S::OnHold, Some(S::EnRoute)), [S::EnRoute, S::Cancelled]);
        // Work once started is finished or held, not cancelled through a hold.
        assert_eq!(next_states(S::OnHold, Some(S::InProgress)), [S::InProgress]);
        assert!(check_transition(S::OnHold, T::Cancel, Some(S::InProgress)).is_err());
    }

    #[test]
    fn who_may_move_a_work_order() {
        let technician = Doer { is_technician: true, ..Doer::default() };
        let agent = Doer { may_write: true, ..Doer::default() };
        let dispatcher = Doer { may_write: true, may_dispatch: true, ..Doer::default() };
        let supervisor = Doer { may_write: true, may_dispatch: true, may_supervise: true, ..Doer::default() };
        let table = [
            (T::Accept, S::Submitted, agent, true),
            (T::Accept, S::Submitted, technician, false),
            (T::Dispatch, S::Accepted, agent, false),
            (T::Dispatch, S::Accepted, dispatcher, true),
            (T::Start, S::Dispatched, technician, true),
            (T::Start, S::Dispatched, dispatcher, false),
            (T::Complete, S::InProgress, supervisor, true),
            (T::Complete, S::InProgress, agent, false),
            (T::Close, S::Completed, dispatcher, false),
            (T::Close, S::Completed, supervisor, true),
            (T::Close, S::Confirmed, agent, true),
            (T::Cancel, S::Accepted, agent, true),
            (T::Cancel, S::Dispatched, agent, false),
            (T::Cancel, S::Dispatched, dispatcher, true),
            (T::Hold, S::InProgress, technician, true),
            (T::Reopen, S::Completed, technician, false),
            // The technician also holding `workorder.write` still does not sign off their own work.
            (T::Confirm, S::Completed, Doer { is_technician: true, ..agent }, false),
            (T::Close, S::Confirmed, Doer { is_technician: true, ..agent }, false),
            (T::Close, S::Completed, Doer { is_technician: true, ..supervisor }, true),
        ];
        for (t, status, doer, ok) in table {
            let result = authorise(t, status, doer);
            assert_eq!(result.is_ok(), ok, "{t:?} {status:?} {doer:?}");
            if let Err(e) = result {
                assert_eq!(e.code, ErrorCode::Forbidden);
            }
        }
    }

    #[test]
    fn reopening_is_only_within_the_window() {
        let done = Utc::now() - Duration::days(7);
        assert!(check_reopen(Some(done), Utc::now() - Duration::seconds(1), 7).is_ok());
        assert!(check_reopen(Some(done), Utc::now() + Duration::hours(1), 7).is_err());
        assert!(check_reopen(None, Utc::now(), 7).is_err());
    }

    fn covered(parts: bool, labour: bool) -> Coverage {
        Coverage {
            kind: CoverageKind::ServiceContract,
            service_contract_id: None,
            parts_covered: parts,
            labour_covered: labour,
            reason: String::new(),
        }
    }

    #[test]
    fn fees_charge_what_coverage_leaves_rounded_half_up_to_the_fen() {
        let items = price_items(vec![
            ItemInput {
                kind: ItemKind::Part,
                product_id: None,
                name: "压缩机电容".into(),
                quantity: Decimal::new(3, 0),
                unit_price: Some(Decimal::new(33335, 3)),
                serial_number: None,
            },
            ItemInput {
                kind: ItemKind::Packing,
                product_id: None,
                name: "保修卡".into(),
                quantity: Decimal::ONE,
                unit_price: Some(Decimal::new(999, 0)),
                serial_number: Some(" SN9 ".into()),
            },
        ])
        .unwrap();
        // 3 × 33.335 = 100.005 → 100.01 (四舍五入); packing lines cost nothing.
        assert_eq!(items[0].amount, Decimal::new(10001, 2));
        assert_eq!(items[1].amount, Decimal::ZERO);
        assert_eq!(items[1].serial_number.as_deref(), Some("SN9"));
        let labour = Decimal::new(150, 0);
        let table = [
            (false, false, Decimal::new(25001, 2)),
            (true, false, Decimal::new(150, 0)),
            (false, true, Decimal::new(10001, 2)),
            (true, true, Decimal::ZERO),
        ];
        for (parts, labour_covered, charge) in table {
            let f = fees(&items, labour, &covered(parts, labour_covered));
            assert_eq!((f.parts, f.labour, f.charge), (Decimal::new(10001, 2), labour, charge));
        }
        assert_eq!(payment_after(PaymentStatus::NotDue, Decimal::ONE), PaymentStatus::Unpaid);
        assert_eq!(payment_after(PaymentStatus::Unpaid, Decimal::ZERO), PaymentStatus::NotDue);
        assert_eq!(payment_after(PaymentStatus::Paid, Decimal::ZERO), PaymentStatus::Paid);
    }

    #[test]
    fn bad_lines_are_named_by_position() {
        let bad = ItemInput {
            kind: ItemKind::Part,
            product_id: None,
            name: " ".into(),
            quantity: Decimal::ZERO,
            unit_price: None,
            serial_number: None,
        };
        let errors = price_items(vec![bad]).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["items.0.name", "items.0.quantity", "items.0.unitPrice"]);
        assert!(check_labour(Decimal::new(-1, 0)).is_err());
        assert!(check_labour(Decimal::new(1001, 3)).is_err());
        assert!(check_satisfaction(6, None).is_err());
        assert!(check_completion(" ", None).is_err());
    }
}
