//! Typed identifiers. Every record id is a UUIDv7, so ids sort by creation time.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// One company using Guanxi; everything else belongs to exactly one tenant.
    TenantId
);
id_type!(
    /// A person who logs in.
    UserId
);
id_type!(
    /// A node of the department tree.
    DepartmentId
);
id_type!(
    /// A named bundle of function permissions and data scopes.
    RoleId
);
id_type!(
    /// A machine credential for integrators.
    ApiKeyId
);
id_type!(
    /// A login session: the family of refresh tokens that descend from one login.
    SessionId
);
id_type!(
    /// A customer (客户), organisation or individual.
    CustomerId
);
id_type!(
    /// A person at a customer (联系人).
    ContactId
);
id_type!(
    /// A tenant-defined field.
    CustomFieldId
);
id_type!(
    /// One recorded contact with a customer (交流记录).
    InteractionId
);
id_type!(
    /// A calendar event (日程).
    EventId
);
id_type!(
    /// A sales pipeline: an ordered list of stages (销售流程).
    PipelineId
);
id_type!(
    /// One stage of a pipeline (销售阶段).
    StageId
);
id_type!(
    /// A possible deal (商机).
    OpportunityId
);
id_type!(
    /// A public pool (公海) of customers without an owner.
    PoolId
);
id_type!(
    /// A lead (线索).
    LeadId
);
id_type!(
    /// A marketing campaign (营销活动).
    CampaignId
);
id_type!(
    /// A care plan (客户关怀计划).
    CarePlanId
);
id_type!(
    /// A product of the catalogue (产品).
    ProductId
);
id_type!(
    /// A node of the product category tree (产品分类).
    ProductCategoryId
);
id_type!(
    /// A price policy (价格政策): a product's price for a customer level or one customer.
    PricePolicyId
);
id_type!(
    /// One revision of a quote (报价单).
    QuoteId
);
id_type!(
    /// A sales order (销售订单).
    OrderId
);
id_type!(
    /// One line of a quote or an order.
    LineId
);
id_type!(
    /// An approval flow (审批流) a tenant defines for one kind of document.
    ApprovalFlowId
);
id_type!(
    /// One submission of a document to its approval flow.
    ApprovalRequestId
);
id_type!(
    /// One approver's part in one step of an approval request.
    ApprovalTaskId
);
id_type!(
    /// A contract (合同).
    ContractId
);
id_type!(
    /// One installment of a contract's payment plan (回款计划).
    InstallmentId
);
id_type!(
    /// A receipt of money against a contract (回款).
    ReceiptId
);
id_type!(
    /// A customer's billing profile (开票信息): the title an invoice is made out to.
    BillingProfileId
);
id_type!(
    /// An invoice request against a contract, and the invoice issued for it (发票).
    InvoiceId
);
id_type!(
    /// A product a customer owns (客户资产): what a work order repairs or maintains.
    AssetId
);
id_type!(
    /// A service contract (服务合同): which assets are covered, for how long, and what it pays for.
    ServiceContractId
);
id_type!(
    /// An after-sales work order (售后服务工单).
    WorkOrderId
);
id_type!(
    /// A product defect (产品缺陷) that work orders are linked to.
    DefectId
);
id_type!(
    /// A knowledge-base article (知识库文章).
    ArticleId
);
id_type!(
    /// A node of the knowledge base's category tree.
    ArticleCategoryId
);
id_type!(
    /// A commission plan (佣金方案).
    CommissionPlanId
);
id_type!(
    /// A rep's commission statement for one month (佣金结算单).
    CommissionStatementId
);
id_type!(
    /// One line of a commission statement.
    CommissionLineId
);

/// How far a client's clock may run ahead of the server's in an id it made.
const CLIENT_AHEAD: chrono::Duration = chrono::Duration::days(1);
/// How long an app may keep work offline before it syncs.
const CLIENT_BEHIND: chrono::Duration = chrono::Duration::days(90);

/// Reads an id a client made for a record it created offline (a mobile app refers to the
/// record by it before it syncs): a UUIDv7. Its time is checked when the record is
/// written ([`check_client_id_time`]), so a retry that replays the first answer passes
/// whenever it comes.
pub fn parse_client_id(raw: &str) -> Result<Uuid, &'static str> {
    let id = Uuid::parse_str(raw.trim()).map_err(|_| "not a UUID")?;
    match id.get_version_num() {
        7 => Ok(id),
        _ => Err("make it a UUIDv7 (time-ordered, RFC 9562)"),
    }
}

/// Whether a client's UUIDv7 is stamped no more than a day after `now` and no more than 90
/// days before, so that ids still sort by creation time.
pub fn check_client_id_time(id: Uuid, now: chrono::DateTime<chrono::Utc>) -> Result<(), &'static str> {
    let (seconds, _) = id.get_timestamp().ok_or("make it a UUIDv7 (time-ordered, RFC 9562)")?.to_unix();
    let stamped = chrono::DateTime::from_timestamp(seconds as i64, 0).ok_or("its time is out of range")?;
    if stamped > now + CLIENT_AHEAD || stamped < now - CLIENT_BEHIND {
        return Err("its time is more than a day ahead or 90 days behind the server's clock");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_client_id_is_a_uuid_v7_of_about_now() {
        let now = chrono::Utc::now();
        let fresh = Uuid::now_v7();
        let check_client_id =
            |raw: &str, now| parse_client_id(raw).and_then(|id| check_client_id_time(id, now).map(|()| id));
        assert_eq!(check_client_id(&fresh.to_string(), now), Ok(fresh));
        assert_eq!(check_client_id("not-an-id", now), Err("not a UUID"));
        assert!(check_client_id("550e8400-e29b-41d4-a716-446655440000", now).is_err(), "a UUIDv4");
        let stamp = |t: chrono::DateTime<chrono::Utc>| {
            let ts = uuid::Timestamp::from_unix(uuid::NoContext, t.timestamp() as u64, 0);
            Uuid::new_v7(ts).to_string()
        };
        assert!(check_client_id(&stamp(now - chrono::Duration::days(30)), now).is_ok());
        assert!(check_client_id(&stamp(now - chrono::Duration::days(91)), now).is_err());
        assert!(check_client_id(&stamp(now + chrono::Duration::days(2)), now).is_err());
    }
}
