//! Customers changing hands: `transferCustomers` (转移客户), and `handover` with its
//! `handoverPreview` (离职交接). Both need `customer.transfer`; a handover also needs the
//! departing user inside the caller's `CUSTOMER` scope (a manager hands over their own
//! people), and disabling them needs `org.manage` and the user in the `ORG` scope.
//!
//! Neither takes an idempotency key: both are idempotent by nature. A retried transfer
//! finds its customers with their new owner and moves nothing; a retried handover finds
//! nothing left with the departed user.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use guanxi_domain::ErrorCode;
use guanxi_domain::ids::UserId;
use guanxi_domain::platform::access::{Actor, Module, Permission};
use guanxi_domain::platform::org::UserStatus;
use guanxi_domain::sales::pool::Caller;
use guanxi_domain::sharing::handover::{Handover, HandoverItem as DomainItem};
use guanxi_store::platform::user::Users;
use guanxi_store::sharing::handover as store;
use guanxi_store::{ConnectionTrait, StoreError, StoreResult};

use crate::graphql::context::{author, require, state};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::mutation::transact;
use crate::graphql::platform::org::USER;
use crate::graphql::relay::{expect_id, input_id};
use crate::graphql::sales::pool::POOL;
use crate::graphql::sales::pool_mutation::customer_ids;

/// What a handover moves, by kind of record.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainItem")]
pub enum HandoverItem {
    /// The customers the user owns, those in the recycle bin too (with the work-log counts).
    Customers,
    Contacts,
    /// Deals still open; won and lost ones stay credited to whoever closed them.
    OpenOpportunities,
    Quotes,
    Orders,
    Contracts,
    /// Receipts and invoices.
    Receivables,
    ServiceContracts,
    /// Planned calendar events the user owns or attends, and visit plans.
    OpenTasksAndEvents,
    /// Work orders still to be worked.
    OpenWorkOrders,
    /// Leads still open (NEW, WORKING, QUALIFIED).
    Leads,
    /// The customers and deals others share with the user.
    Collaborations,
}

/// How many records of one kind move (or would move).
#[derive(SimpleObject)]
pub struct HandoverCount {
    item: HandoverItem,
    count: u64,
}

fn counts(moved: std::collections::BTreeMap<DomainItem, u64>) -> Vec<HandoverCount> {
    moved.into_iter().map(|(item, count)| HandoverCount { item: item.into(), count }).collect()
}

#[derive(InputObject)]
pub struct TransferCustomersInput {
    /// Up to 1,000 live customers the caller's own `CUSTOMER` scope reaches.
    pub ids: Vec<ID>,
    /// An active user.
    pub to_user_id: ID,
    /// Why (转移原因); required, kept in each customer's change event.
    pub reason: String,
}

#[derive(SimpleObject)]
pub struct TransferPayload {
    /// How many customers changed hands (those the receiver owned already do not count).
    transferred: u64,
    user_errors: Vec<UserError>,
}

/// Who receives a departing user's work.
#[derive(InputObject)]
pub struct HandoverTarget {
    /// An active user, who receives every record included (and the customers, unless
    /// `poolId` is given).
    pub user_id: Option<ID>,
    /// A public pool the caller sees: the customers go into it instead, their contacts with
    /// them. Without `userId`, `include` may then name only `CUSTOMERS`.
    pub pool_id: Option<ID>,
}

#[derive(InputObject)]
pub struct HandoverInput {
    /// The departing user.
    pub from_user_id: ID,
    pub to: HandoverTarget,
    /// What moves; leave out for everything.
    #[graphql(default)]
    pub include: Vec<HandoverItem>,
    /// Why (交接原因); required, kept in each customer's change event.
    pub reason: String,
    /// Also disable the departing user, in the same transaction (needs `org.manage`).
    #[graphql(default)]
    pub disable_user: bool,
}

#[derive(SimpleObject)]
pub struct HandoverPayload {
    /// What moved, per item included.
    moved: Vec<HandoverCount>,
    /// Whether the departing user is now disabled.
    user_disabled: bool,
    user_errors: Vec<UserError>,
}

/// The departing user, as the caller's `CUSTOMER` owner scope reaches them.
async fn departing<C: ConnectionTrait>(conn: &C, actor: &Actor, from: uuid::Uuid) -> StoreResult<UserId> {
    let rule = actor.scope_rule(Module::Customer);
    guanxi_store::repo::find::<Users, _>(conn, actor.tenant_id, rule, from)
        .await?
        .map(|u| u.id)
        .ok_or_else(|| StoreError::rejected("fromUserId", ErrorCode::NotFound, "no such user"))
}

fn items(include: &[HandoverItem]) -> Vec<DomainItem> {
    if include.is_empty() { DomainItem::ALL.to_vec() } else { include.iter().map(|i| (*i).into()).collect() }
}

#[derive(Default)]
pub struct HandoverQuery;

#[Object]
impl HandoverQuery {
    /// What `handover` would move from a user, per item (all items when `include` is left
    /// out): the same rows the handover moves, counted. Needs `customer.transfer` and the
    /// user inside the caller's `CUSTOMER` scope.
    async fn handover_preview(
        &self,
        ctx: &Context<'_>,
        from_user_id: ID,
        #[graphql(default)] include: Vec<HandoverItem>,
    ) -> ApiResult<Vec<HandoverCount>> {
        let actor = require(ctx, Permission::CustomerTransfer)?;
        let from = expect_id(&from_user_id, USER)?;
        let conn = state(ctx).db.connection();
        let from = match departing(conn, actor, from).await {
            Ok(from) => from,
            Err(StoreError::Rejected(_)) => return Err(ApiError::NotFound),
            Err(e) => return Err(e.into()),
        };
        Ok(counts(store::preview(conn, actor.tenant_id, from, &items(&include)).await?))
    }
}

#[derive(Default)]
pub struct HandoverMutation;

#[Object]
impl HandoverMutation {
    /// Gives customers to another user (转移客户), with a reason: their contacts and open
    /// deals follow, quotes, orders and the history stay credited as they were, shares
    /// stay (the receiver's own end). All of them or, on any fault, none. Needs
    /// `customer.transfer` and the customers in the caller's own `CUSTOMER` scope.
    async fn transfer_customers(&self, ctx: &Context<'_>, input: TransferCustomersInput) -> ApiResult<TransferPayload> {
        let actor = require(ctx, Permission::CustomerTransfer)?.clone();
        let (ids, to) = match (customer_ids(&input.ids), input_id("toUserId", &input.to_user_id, USER)) {
            (Ok(ids), Ok(to)) => (ids, UserId::from_uuid(to)),
            (a, b) => {
                let errors = a.err().into_iter().flatten().chain(b.err()).collect();
                return Ok(TransferPayload { transferred: 0, user_errors: errors });
            }
        };
        let (author, rule, reason) = (author(ctx, &actor), actor.scope_rule(Module::Customer), input.reason);
        let result = transact(ctx, move |tx| {
            Box::pin(async move { store::transfer(tx, &author, rule, &ids, to, &reason).await })
        })
        .await?;
        Ok(match result {
            Ok(transferred) => TransferPayload { transferred, user_errors: vec![] },
            Err(user_errors) => TransferPayload { transferred: 0, user_errors },
        })
    }

    /// Hands over everything a departing user holds (离职交接) in one transaction: the
    /// customers (to the receiver or into a pool), contacts, open deals, quotes, orders,
    /// contracts, receivables, service contracts, planned events and visit plans, open
    /// work orders and collaborations, as `include` says, with a change event per record
    /// moved, and optionally disables the user. History stays: closed deals, past events,
    /// interactions and check-ins keep their author. `handoverPreview` counts the same rows.
    async fn handover(&self, ctx: &Context<'_>, input: HandoverInput) -> ApiResult<HandoverPayload> {
        let actor = require(ctx, Permission::CustomerTransfer)?.clone();
        let failed = |user_errors| HandoverPayload { moved: vec![], user_disabled: false, user_errors };
        if input.disable_user && !actor.may(Permission::OrgManage) {
            return Err(ApiError::Forbidden("disabling the user needs `org.manage`".to_owned()));
        }
        let mut errors = Vec::new();
        let from = input_id("fromUserId", &input.from_user_id, USER).map_err(|e| errors.push(e)).ok();
        let to =
            input.to.user_id.as_ref().and_then(|id| input_id("to.userId", id, USER).map_err(|e| errors.push(e)).ok());
        let pool =
            input.to.pool_id.as_ref().and_then(|id| input_id("to.poolId", id, POOL).map_err(|e| errors.push(e)).ok());
        let Some(from) = from.filter(|_| errors.is_empty()) else { return Ok(failed(errors)) };
        let include = items(&input.include);
        let plan =
            match Handover::new(UserId::from_uuid(from), to.map(UserId::from_uuid), pool, &include, &input.reason) {
                Ok(plan) => plan,
                Err(invalid) => return Ok(failed(UserError::all(invalid))),
            };
        let (author, caller, disable) = (author(ctx, &actor), Caller::of(&actor), input.disable_user);
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                departing(tx, &actor, from).await?;
                // Disabled first: nothing new reaches them while their work moves.
                if disable {
                    let rule = actor.scope_rule(Module::Org);
                    let user = guanxi_store::repo::find::<Users, _>(tx, actor.tenant_id, rule, from)
                        .await?
                        .ok_or_else(|| StoreError::rejected("fromUserId", ErrorCode::NotFound, "no such user"))?;
                    guanxi_store::platform::user::set_status(
                        tx,
                        &author,
                        rule,
                        from,
                        user.version,
                        UserStatus::Disabled,
                    )
                    .await?;
                }
                store::hand_over(tx, &author, &caller, &plan).await
            })
        })
        .await?;
        Ok(match result {
            Ok(moved) => HandoverPayload { moved: counts(moved), user_disabled: disable, user_errors: vec![] },
            Err(errors) => failed(errors),
        })
    }
}
