//! Moving a rep's work to someone else: transferring customers (转移客户) and handing
//! over everything a departing user holds (离职交接). What a user "holds" is named per
//! kind of record by [`HandoverItem`]; the store's registry says which rows of which
//! table each item covers, so a module added later joins the handover by registering its
//! table there.

use std::collections::BTreeSet;

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::UserId;

text_enum! {
    /// What a handover moves, by kind of record.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum HandoverItem {
        /// The customers the user owns (with the work-log counts).
        Customers => "CUSTOMERS", "客户";
        /// The contacts the user owns.
        Contacts => "CONTACTS", "联系人";
        /// Deals still open; won and lost ones stay credited to who closed them.
        OpenOpportunities => "OPEN_OPPORTUNITIES", "进行中的商机";
        Quotes => "QUOTES", "报价单";
        Orders => "ORDERS", "订单";
        Contracts => "CONTRACTS", "合同";
        /// Receipts and invoices (回款, 发票).
        Receivables => "RECEIVABLES", "回款与发票";
        ServiceContracts => "SERVICE_CONTRACTS", "服务合同";
        /// Planned calendar events the user owns or attends, and visit plans.
        OpenTasksAndEvents => "OPEN_TASKS_AND_EVENTS", "未完成的日程与拜访计划";
        /// Work orders still to be worked.
        OpenWorkOrders => "OPEN_WORK_ORDERS", "未完成的工单";
        /// Leads still open (NEW, WORKING, QUALIFIED).
        Leads => "LEADS", "未转化的线索";
        /// The customers and deals others share with the user (协作).
        Collaborations => "COLLABORATIONS", "协作";
    }
}

impl HandoverItem {
    /// What a public pool takes: the customers and the open leads.
    pub fn pools(self) -> bool {
        matches!(self, HandoverItem::Customers | HandoverItem::Leads)
    }
}

/// A transfer or handover reason (转移原因): required, at most 200 characters.
pub fn check_reason(reason: &str) -> Result<String, Invalid> {
    crate::platform::org::required_text("reason", reason, 200).map_err(|e| Invalid(vec![e]))
}

/// Where the departing user's customers go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomersTo {
    /// To the user who receives the rest.
    Receiver,
    /// Into a public pool (their contacts with them), with the open leads; the rest goes
    /// to the receiver.
    Pool(uuid::Uuid),
}

/// A checked handover: who leaves, who receives, what moves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handover {
    pub from: UserId,
    /// Who receives what is not pooled; `None` only when nothing but customers moves, into
    /// a pool.
    pub to: Option<UserId>,
    pub customers_to: CustomersTo,
    pub include: BTreeSet<HandoverItem>,
    pub reason: String,
}

impl Handover {
    /// Checks a handover request. `include` empty means every item.
    pub fn new(
        from: UserId,
        to: Option<UserId>,
        pool: Option<uuid::Uuid>,
        include: &[HandoverItem],
        reason: &str,
    ) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        let reason = invalid.check(crate::platform::org::required_text("reason", reason, 200));
        let include: BTreeSet<HandoverItem> = if include.is_empty() {
            HandoverItem::ALL.iter().copied().collect()
        } else {
            include.iter().copied().collect()
        };
        if to == Some(from) {
            invalid.push(FieldError::new("to.userId", ErrorCode::Invalid, "hand over to someone else"));
        }
        let customers_to = pool.map_or(CustomersTo::Receiver, CustomersTo::Pool);
        // Contacts go with pooled customers, and open leads to the pool too; anything else
        // needs a person.
        let needs_receiver = include.iter().any(|item| match customers_to {
            CustomersTo::Receiver => true,
            CustomersTo::Pool(_) => !item.pools(),
        });
        if needs_receiver && to.is_none() {
            let message = match customers_to {
                CustomersTo::Receiver => "name who receives the records, or a pool for the customers",
                CustomersTo::Pool(_) => {
                    "name who receives what does not go to the pool (or include only CUSTOMERS and LEADS)"
                }
            };
            invalid.push(FieldError::new("to.userId", ErrorCode::Required, message));
        }
        invalid.into_result()?;
        Ok(Self { from, to, customers_to, include, reason: reason.unwrap_or_default() })
    }

    /// Whether `item` goes into the pool, when the customers do.
    pub fn pools_item(&self, item: HandoverItem) -> bool {
        matches!(self.customers_to, CustomersTo::Pool(_)) && item.pools()
    }

    /// Whether `item` moves.
    pub fn moves(&self, item: HandoverItem) -> bool {
        self.include.contains(&item)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn everything_moves_when_nothing_is_named() {
        let (from, to) = (UserId::new(), UserId::new());
        let h = Handover::new(from, Some(to), None, &[], " 离职 ").unwrap();
        assert_eq!(h.include.len(), HandoverItem::ALL.len());
        assert_eq!(h.reason, "离职");
        assert_eq!(h.customers_to, CustomersTo::Receiver);
    }

    #[test]
    fn a_handover_needs_a_receiver_a_reason_and_someone_else() {
        let from = UserId::new();
        let fields = |r: Result<Handover, Invalid>| r.unwrap_err().0.into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(Handover::new(from, None, None, &[], "离职")), ["to.userId"]);
        assert_eq!(fields(Handover::new(from, Some(from), None, &[], "")), ["reason", "to.userId"]);
        let pool = uuid::Uuid::now_v7();
        assert_eq!(fields(Handover::new(from, None, Some(pool), &[HandoverItem::Quotes], "离职")), ["to.userId"]);
        let pooled = Handover::new(from, None, Some(pool), &[HandoverItem::Customers], "离职").unwrap();
        assert_eq!(pooled.customers_to, CustomersTo::Pool(pool));
        assert!(pooled.moves(HandoverItem::Customers) && !pooled.moves(HandoverItem::Contacts));
        // Open leads go to the pool with the customers.
        let leads = Handover::new(from, None, Some(pool), &[HandoverItem::Customers, HandoverItem::Leads], "离职");
        let leads = leads.unwrap();
        assert!(leads.pools_item(HandoverItem::Leads) && !leads.pools_item(HandoverItem::Quotes));
        assert!(!Handover::new(from, Some(UserId::new()), None, &[], "离职").unwrap().pools_item(HandoverItem::Leads));
    }

    #[test]
    fn every_item_round_trips_through_its_text() {
        for item in HandoverItem::ALL {
            assert_eq!(HandoverItem::parse(item.as_str()), Some(*item));
        }
    }
}
