//! Contracts (合同) over GraphQL: the record, its installment plan, its approval, lists,
//! and the writes from draft to completion or void.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::entity::{EntityKind, OwnerAndCustomer};
use guanxi_domain::finance::contract::{
    Contract as DomainContract, ContractAction, ContractFields, ContractStatus as DomainStatus,
};
use guanxi_domain::finance::receivable::{
    Installment as DomainInstallment, InstallmentDraft, InstallmentStatus as DomainInstallmentStatus,
    PaymentMethod as DomainMethod,
};
use guanxi_domain::ids::{ContactId, CustomerId, OpportunityId, OrderId, QuoteId, UserId};
use guanxi_domain::platform::access::{Actor, Module, Permission};
use guanxi_store::finance::contract::{
    ContractEdit, ContractFilter as StoreFilter, ContractLinks, ContractSort, NewContract,
};
use guanxi_store::page::Direction;
use guanxi_store::scope::OrApprover;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::approval::{ApprovalHistoryEntry, ApprovalRequest, approval_of, history_of};
use crate::graphql::context::{require, state};
use crate::graphql::customers::contact::CONTACT;
use crate::graphql::customers::customer::{CUSTOMER, Customer, Money};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{CustomerKey, ScopedLoader, UserKey};
use crate::graphql::mutation::{Idempotent, write, write_by_id};
use crate::graphql::platform::org::{USER, User};
use crate::graphql::relay::{Conn, global_id, input_id, listed, page_request, read_by_id};
use crate::graphql::shared::{IdFilter, OrderDirection, TimeRange};
use crate::graphql::trade::document::{loaders, money};

pub const CONTRACT: &str = EntityKind::Contract.name();
pub const INSTALLMENT: &str = "Installment";

/// The scope a contract is read and written with: the caller's `CONTRACT` and `CUSTOMER`
/// scopes, or a task of theirs waiting on it.
pub fn contract_scope(actor: &Actor) -> OrApprover {
    OrApprover { rules: EntityKind::contract_rules(actor), approver: Some(actor.user_id) }
}

/// The scope of contract figures and reports (aging, the 360, the work log, to-dos), and
/// of the contract a receipt is paid into: the caller's own scopes, without the approver's
/// exception.
/// The contracts of the caller's own scopes, shares aside: a contract's commission split
/// is its reps' pay, which sharing the customer does not show or let anyone change.
pub fn contract_owner_scope(actor: &Actor) -> OrApprover {
    let rules = OwnerAndCustomer { owner: actor.scope_rule(Module::Contract), customer: actor.customer_owner_rule() };
    OrApprover { rules, approver: None }
}

pub fn contract_report_scope(actor: &Actor) -> OrApprover {
    OrApprover { rules: EntityKind::contract_rules(actor), approver: None }
}

pub(crate) fn contract_links(actor: &Actor) -> ContractLinks {
    ContractLinks {
        links: crate::graphql::trade::document::links(actor),
        quotes: EntityKind::quote_rules(actor),
        orders: EntityKind::order_rules(actor),
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainStatus")]
pub enum ContractStatus {
    /// 草稿
    Draft,
    /// 审批中
    PendingApproval,
    /// 已生效 (approved, in force)
    Approved,
    /// 已完成
    Completed,
    /// 已驳回: may be edited and submitted again.
    Rejected,
    /// 已撤回: may be edited and submitted again.
    Withdrawn,
    /// 已作废
    Void,
    /// 已到期: approved and past its end date.
    Expired,
    /// 已变更: replaced by an approved revision, which carries its money on.
    Superseded,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainMethod")]
pub enum PaymentMethod {
    /// 银行转账
    BankTransfer,
    /// 现金
    Cash,
    /// 承兑汇票
    AcceptanceBill,
    /// 支付宝
    Alipay,
    /// 微信支付
    WechatPay,
    /// 其他
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainInstallmentStatus")]
pub enum InstallmentStatus {
    /// 待回款
    Pending,
    /// 部分回款
    PartlyReceived,
    /// 已回款
    Received,
    /// 已逾期
    Overdue,
    /// 已作废
    Void,
}

/// One installment of a contract's payment plan (回款计划).
pub struct Installment(pub DomainInstallment, pub guanxi_domain::trade::money::Places);

#[Object]
impl Installment {
    async fn id(&self) -> ID {
        global_id(INSTALLMENT, self.0.id.uuid())
    }
    async fn contract_id(&self) -> ID {
        global_id(CONTRACT, self.0.contract_id.uuid())
    }
    /// 1, 2, 3… within the contract.
    async fn number(&self) -> i32 {
        self.0.seq
    }
    async fn amount(&self) -> Money {
        money(self.0.amount, self.1)
    }
    async fn due_on(&self) -> NaiveDate {
        self.0.due_on
    }
    async fn method(&self) -> Option<PaymentMethod> {
        self.0.method.map(Into::into)
    }
    /// Days before the due date the owner is reminded.
    async fn remind_days(&self) -> i32 {
        i32::from(self.0.remind_days)
    }
    async fn received(&self) -> Money {
        money(self.0.received, self.1)
    }
    async fn outstanding(&self) -> Money {
        money(self.0.outstanding(), self.1)
    }
    /// As of today (Asia/Shanghai).
    async fn status(&self) -> InstallmentStatus {
        self.0.status_on(shanghai_date(Utc::now())).into()
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

/// A contract (合同).
pub struct Contract(pub DomainContract);

#[Object]
impl Contract {
    pub async fn id(&self) -> ID {
        global_id(CONTRACT, self.0.id.uuid())
    }
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// 1 as first signed; each change (变更) adds one and shares the number.
    async fn revision(&self) -> i32 {
        self.0.revision
    }
    /// The revision this one replaces once approved.
    async fn revises(&self, ctx: &Context<'_>) -> ApiResult<Option<Contract>> {
        let Some(revised) = self.0.revises_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(ContractKey(revised.uuid())).await?.map(Contract))
    }
    async fn title(&self) -> &str {
        &self.0.fields.title
    }
    /// As of today (Asia/Shanghai): an approved contract past its end date reads EXPIRED.
    async fn status(&self) -> ContractStatus {
        self.0.status_on(shanghai_date(Utc::now())).into()
    }
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loaders(ctx)?.load_one(CustomerKey(self.0.fields.customer_id.uuid())).await?.map(Customer))
    }
    async fn customer_id(&self) -> ID {
        global_id(CUSTOMER, self.0.fields.customer_id.uuid())
    }
    /// The customer's signer.
    async fn contact_id(&self) -> Option<ID> {
        self.0.fields.contact_id.map(|c| global_id(CONTACT, c.uuid()))
    }
    async fn opportunity_id(&self) -> Option<ID> {
        self.0.fields.opportunity_id.map(|o| global_id(crate::graphql::sales::opportunity::OPPORTUNITY, o.uuid()))
    }
    async fn quote_id(&self) -> Option<ID> {
        self.0.fields.quote_id.map(|q| global_id(crate::graphql::trade::quote::QUOTE, q.uuid()))
    }
    async fn order_id(&self) -> Option<ID> {
        self.0.fields.order_id.map(|o| global_id(EntityKind::Order.name(), o.uuid()))
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(owner) = self.0.fields.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(owner.uuid())).await?.map(User))
    }
    /// Who signed for us.
    async fn signer(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(signer) = self.0.fields.signer_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(signer.uuid())).await?.map(User))
    }
    async fn signed_on(&self) -> Option<NaiveDate> {
        self.0.fields.signed_on
    }
    async fn starts_on(&self) -> Option<NaiveDate> {
        self.0.fields.starts_on
    }
    async fn ends_on(&self) -> Option<NaiveDate> {
        self.0.fields.ends_on
    }
    async fn amount(&self) -> Money {
        money(self.0.fields.amount, self.0.places)
    }
    /// The amount in Chinese capitals (人民币大写).
    async fn amount_in_words(&self) -> String {
        guanxi_domain::trade::money::rmb_uppercase(self.0.fields.amount)
    }
    /// Approved receipts allocated to it.
    async fn received(&self) -> Money {
        money(self.0.received, self.0.places)
    }
    async fn outstanding(&self) -> Money {
        money(self.0.outstanding(), self.0.places)
    }
    /// Received beyond the amount (预收), where the tenant allows it.
    async fn advance(&self) -> Money {
        money(self.0.advance(), self.0.places)
    }
    /// What live invoice requests and issued invoices hold: never above the amount.
    async fn invoiced(&self) -> Money {
        money(self.0.invoiced, self.0.places)
    }
    /// What may still be invoiced.
    async fn left_to_invoice(&self) -> Money {
        money(self.0.fields.amount - self.0.invoiced, self.0.places)
    }
    /// Its invoice requests the caller may see, newest first.
    async fn invoices(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::invoice::Invoice>> {
        super::invoice::of_contract(ctx, self.0.id.uuid()).await
    }
    /// The tenant's decimal places for contracts when this one was made.
    async fn decimal_places(&self) -> u32 {
        self.0.places.get()
    }
    async fn payment_terms(&self) -> Option<&str> {
        self.0.fields.payment_terms.as_deref()
    }
    /// Upload ids of the signed scans and annexes.
    async fn attachment_ids(&self) -> Vec<ID> {
        self.0.fields.attachments.iter().map(|a| global_id(EntityKind::Attachment.name(), *a)).collect()
    }
    /// The keys other systems know this contract by (`upsertContracts`).
    async fn external_keys(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::integration::upsert::ExternalKey>> {
        crate::graphql::integration::upsert::external_keys(ctx, EntityKind::Contract, self.0.id.uuid()).await
    }

    async fn external_id(&self) -> Option<&str> {
        self.0.fields.external_id.as_deref()
    }
    async fn notes(&self) -> Option<&str> {
        self.0.fields.notes.as_deref()
    }
    /// Its product lines (as on quotes); with lines, the amount is their total.
    async fn lines(&self, ctx: &Context<'_>) -> ApiResult<Vec<crate::graphql::trade::document::DocumentLine>> {
        let parent = guanxi_store::trade::lines::Parent::Contract(self.0.id.uuid());
        let lines = crate::graphql::trade::document::lines_of(ctx, parent).await?;
        Ok(crate::graphql::trade::document::wrap_lines(lines, self.0.places))
    }
    /// The payment plan, in order.
    async fn installments(&self, ctx: &Context<'_>) -> ApiResult<Vec<Installment>> {
        let plan = loaders(ctx)?.load_one(InstallmentsKey(self.0.id.uuid())).await?.unwrap_or_default();
        Ok(plan.into_iter().map(|i| Installment(i, self.0.places)).collect())
    }
    /// The latest approval request, if it was ever submitted.
    async fn approval(&self, ctx: &Context<'_>) -> ApiResult<Option<ApprovalRequest>> {
        approval_of(ctx, self.0.id.uuid()).await
    }
    /// Every approval action on it, oldest first.
    async fn approval_history(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApprovalHistoryEntry>> {
        history_of(ctx, self.0.id.uuid()).await
    }
    async fn void_reason(&self) -> Option<&str> {
        self.0.void_reason.as_deref()
    }
    async fn approved_at(&self) -> Option<DateTime<Utc>> {
        self.0.approved_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
}

/// A contract by id, through the caller's scope (and their pending approvals).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContractKey(pub Uuid);
/// The installments of a contract the caller already read.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct InstallmentsKey(pub Uuid);

impl Loader<ContractKey> for ScopedLoader {
    type Value = DomainContract;
    type Error = ApiError;

    async fn load(&self, keys: &[ContractKey]) -> Result<HashMap<ContractKey, DomainContract>, ApiError> {
        if !self.actor.may(Permission::ContractRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found = guanxi_store::finance::contract::by_ids(
            self.db.connection(),
            self.actor.tenant_id,
            contract_scope(&self.actor),
            &ids,
        )
        .await?;
        Ok(found.into_iter().map(|c| (ContractKey(c.id.uuid()), c)).collect())
    }
}

impl Loader<InstallmentsKey> for ScopedLoader {
    type Value = Vec<DomainInstallment>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[InstallmentsKey],
    ) -> Result<HashMap<InstallmentsKey, Vec<DomainInstallment>>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found =
            guanxi_store::finance::contract::installments_of(self.db.connection(), self.actor.tenant_id, &ids).await?;
        Ok(crate::graphql::loaders::grouped(found, |i| InstallmentsKey(i.contract_id.uuid())))
    }
}

/// Filters contracts.
#[derive(InputObject, Default, Clone)]
pub struct ContractFilter {
    /// A part of the number or the title.
    pub text: Option<String>,
    pub customer_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    pub status: Option<Vec<ContractStatus>>,
    /// Ends on or before this day.
    pub ends_by: Option<NaiveDate>,
    pub created_at: Option<TimeRange>,
    pub external_id: Option<String>,
    /// True for the recycle bin.
    pub deleted: Option<bool>,
}

impl ContractFilter {
    pub(crate) fn to_store(&self) -> Result<StoreFilter, ApiError> {
        Ok(StoreFilter {
            text: self.text.clone(),
            customer_id: self.customer_id.as_ref().map(|f| f.to_store(CUSTOMER)).transpose()?,
            owner_id: self.owner_id.as_ref().map(|f| f.to_store(USER)).transpose()?,
            status: self.status.as_ref().map(|s| s.iter().map(|k| (*k).into()).collect()),
            ends_by: self.ends_by,
            created_at: self.created_at.as_ref().map(TimeRange::to_store),
            external_id: self.external_id.clone(),
            approved_at: None,
            in_force: false,
            deleted: self.deleted,
        })
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ContractOrderField {
    UpdatedAt,
    CreatedAt,
    Amount,
}

#[derive(InputObject, Clone, Copy)]
pub struct ContractOrder {
    pub field: ContractOrderField,
    #[graphql(default_with = "OrderDirection::Desc")]
    pub direction: OrderDirection,
}

/// A page of contracts through the caller's scope.
pub(crate) async fn contract_connection(
    ctx: &Context<'_>,
    filter: StoreFilter,
    (first, after): (Option<i32>, Option<String>),
    order: Option<ContractOrder>,
) -> ApiResult<Conn<Contract>> {
    let actor = require(ctx, Permission::ContractRead)?.clone();
    let order = order.map_or((ContractSort::UpdatedAt, Direction::Desc), |o| {
        let sort = match o.field {
            ContractOrderField::UpdatedAt => ContractSort::UpdatedAt,
            ContractOrderField::CreatedAt => ContractSort::CreatedAt,
            ContractOrderField::Amount => ContractSort::Amount,
        };
        (sort, o.direction.into())
    });
    let request = page_request(first, after, None, None, guanxi_store::finance::contract::sort_name(order.0))?;
    let query = (contract_scope(&actor), filter, order);
    listed::<guanxi_store::finance::contract::Contracts, _>(&state(ctx).db, actor.tenant_id, query, &request, Contract)
        .await
}

/// The work log's new contracts (新增合同): contracts the people own that were approved
/// in a period and are not void, with their amount and the contracts behind the count.
pub struct ContractsFigure {
    pub count: i64,
    /// Ten-thousandths of a yuan.
    pub amount_e4: i64,
    pub users: Vec<Uuid>,
    pub window: (DateTime<Utc>, DateTime<Utc>),
}

#[Object]
impl ContractsFigure {
    async fn count(&self) -> i64 {
        self.count
    }
    async fn amount(&self) -> Money {
        Money::cny(guanxi_domain::trade::money::from_e4(self.amount_e4))
    }
    /// The contracts counted, most recently updated first.
    async fn records(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> ApiResult<Conn<Contract>> {
        let (start, end) = self.window;
        let filter = StoreFilter {
            owner_id: Some(guanxi_store::filter::IdFilter { any_of: Some(self.users.clone()), ..Default::default() }),
            approved_at: Some(guanxi_store::filter::TimeFilter {
                gte: Some(start),
                lt: Some(end),
                ..Default::default()
            }),
            in_force: true,
            ..Default::default()
        };
        contract_connection(ctx, filter, (first, after), None).await
    }
}

/// The caller's own contracts in force ending within the tenant's expiry lead, soonest
/// first, for `myTodos`.
pub async fn my_contracts_expiring(ctx: &Context<'_>, first: i32) -> ApiResult<Vec<Contract>> {
    let actor = crate::graphql::context::actor(ctx)?;
    if !actor.may(Permission::ContractRead) {
        return Ok(vec![]);
    }
    let conn = state(ctx).db.connection();
    let lead = guanxi_store::platform::tenant::settings(conn, actor.tenant_id).await?.contract_expiry_remind_days;
    let filter = StoreFilter {
        owner_id: Some(guanxi_store::filter::IdFilter { eq: Some(actor.user_id.uuid()), ..Default::default() }),
        status: Some(vec![DomainStatus::Approved]),
        ends_by: Some(shanghai_date(Utc::now()) + chrono::Duration::days(i64::from(lead))),
        ..Default::default()
    };
    let page = contract_connection(ctx, filter, (Some(first), None), None).await?;
    Ok(page.edges.into_iter().map(|e| e.node).collect())
}

#[derive(Default)]
pub struct ContractQuery;

#[Object]
impl ContractQuery {
    /// A contract by id: in the caller's scope, or waiting on their approval.
    async fn contract(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Contract> {
        let read = (&id, CONTRACT);
        let found = read_by_id::<guanxi_store::finance::contract::Contracts>(
            ctx,
            Permission::ContractRead,
            read,
            contract_scope,
        )
        .await?;
        Ok(Contract(found))
    }

    /// Contracts the caller may see. Default order: most recently updated first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn contracts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ContractFilter>,
        order_by: Option<ContractOrder>,
    ) -> ApiResult<Conn<Contract>> {
        let filter = filter.map(|f| f.to_store()).transpose()?.unwrap_or_default();
        contract_connection(ctx, filter, (first, after), order_by).await
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

/// One installment as planned.
#[derive(InputObject, Clone, Serialize)]
pub struct InstallmentInput {
    pub amount: Decimal,
    pub due_on: NaiveDate,
    pub method: Option<PaymentMethod>,
    /// Days before the due date to remind the owner; the tenant's default when left out.
    pub remind_days: Option<i32>,
    pub note: Option<String>,
}

/// A contract's fields (the customer stays on an update).
#[derive(InputObject, Clone, Serialize)]
pub struct ContractInput {
    pub title: String,
    pub customer_id: ID,
    /// The customer's signer.
    pub contact_id: Option<ID>,
    pub opportunity_id: Option<ID>,
    pub quote_id: Option<ID>,
    pub order_id: Option<ID>,
    /// The caller when left out on create.
    pub owner_id: Option<ID>,
    /// Who signs for us.
    pub signer_id: Option<ID>,
    pub signed_on: Option<NaiveDate>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub amount: Decimal,
    pub payment_terms: Option<String>,
    #[graphql(default)]
    pub attachment_ids: Vec<ID>,
    pub external_id: Option<String>,
    pub notes: Option<String>,
}

fn text(value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl ContractInput {
    fn to_domain(&self, default_owner: Option<UserId>) -> Result<ContractFields, Vec<UserError>> {
        let mut errors = Vec::new();
        let mut id = |field: &str, value: &Option<ID>, kind: &str| -> Option<Uuid> {
            value.as_ref().and_then(|v| input_id(field, v, kind).map_err(|e| errors.push(e)).ok())
        };
        let contact = id("contactId", &self.contact_id, CONTACT);
        let deal = id("opportunityId", &self.opportunity_id, crate::graphql::sales::opportunity::OPPORTUNITY);
        let quote = id("quoteId", &self.quote_id, crate::graphql::trade::quote::QUOTE);
        let order = id("orderId", &self.order_id, EntityKind::Order.name());
        let owner = id("ownerId", &self.owner_id, USER);
        let signer = id("signerId", &self.signer_id, USER);
        let customer = input_id("customerId", &self.customer_id, CUSTOMER).map_err(|e| errors.push(e)).ok();
        let attachments: Vec<Uuid> = self
            .attachment_ids
            .iter()
            .filter_map(|a| {
                input_id("attachmentIds", a, EntityKind::Attachment.name()).map_err(|e| errors.push(e)).ok()
            })
            .collect();
        let Some(customer) = customer.filter(|_| errors.is_empty()) else { return Err(errors) };
        Ok(ContractFields {
            title: self.title.trim().to_owned(),
            customer_id: CustomerId::from_uuid(customer),
            contact_id: contact.map(ContactId::from_uuid),
            opportunity_id: deal.map(OpportunityId::from_uuid),
            quote_id: quote.map(QuoteId::from_uuid),
            order_id: order.map(OrderId::from_uuid),
            owner_id: owner.map(UserId::from_uuid).or(default_owner),
            signer_id: signer.map(UserId::from_uuid),
            signed_on: self.signed_on,
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            amount: self.amount,
            payment_terms: text(&self.payment_terms),
            attachments,
            external_id: text(&self.external_id),
            notes: text(&self.notes),
        })
    }
}

fn plan_of(input: &[InstallmentInput]) -> Result<Vec<InstallmentDraft>, Vec<UserError>> {
    let mut errors = Vec::new();
    let plan = input
        .iter()
        .enumerate()
        .map(|(i, d)| InstallmentDraft {
            amount: d.amount,
            due_on: d.due_on,
            method: d.method.map(Into::into),
            remind_days: d.remind_days.map(|r| {
                u16::try_from(r).unwrap_or_else(|_| {
                    errors.push(UserError::new(
                        &format!("installments.{i}.remindDays"),
                        guanxi_domain::ErrorCode::Invalid,
                        "0 to 365 days",
                    ));
                    0
                })
            }),
            note: text(&d.note),
        })
        .collect();
    if errors.is_empty() { Ok(plan) } else { Err(errors) }
}

#[derive(InputObject, Serialize)]
pub struct CreateContractInput {
    #[graphql(flatten)]
    pub contract: ContractInput,
    /// The payment plan (回款计划); it must add up to the amount when the contract is submitted.
    #[graphql(default)]
    pub installments: Vec<InstallmentInput>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateContractInput {
    pub id: ID,
    pub expected_version: i32,
    pub contract: ContractInput,
    /// The whole plan as it should be; the plan stays when left out.
    pub installments: Option<Vec<InstallmentInput>>,
}

#[derive(InputObject)]
pub struct ContractActionInput {
    pub id: ID,
    pub expected_version: i32,
    /// Why, for a void.
    pub reason: Option<String>,
}

crate::graphql::error::payload! {
    ContractPayload, contract: Contract(DomainContract)
}

fn both<A, B>(a: Result<A, Vec<UserError>>, b: Result<B, Vec<UserError>>) -> Result<(A, B), Vec<UserError>> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err([a.err().unwrap_or_default(), b.err().unwrap_or_default()].concat()),
    }
}

async fn act(
    ctx: &Context<'_>,
    input: ContractActionInput,
    action: ContractAction,
    permission: Permission,
) -> ApiResult<ContractPayload> {
    let version = input.expected_version;
    let reason = input.reason;
    write_by_id(ctx, permission, (&input.id, CONTRACT), contract_scope, move |tx, author, scope, id| {
        Box::pin(async move {
            use guanxi_store::finance::contract as store;
            match action {
                ContractAction::Revise => {
                    guanxi_store::finance::revision::revise(tx, &author, scope, (id, version)).await
                }
                ContractAction::Delete => store::delete(tx, &author, scope, (id, version)).await,
                _ => store::close(tx, &author, scope, (id, version), (action, reason)).await,
            }
        })
    })
    .await
}

/// A contract's product lines, all of them as they should be.
#[derive(InputObject)]
pub struct SetContractLinesInput {
    pub id: ID,
    pub expected_version: i32,
    /// Every line; none leaves the amount to be edited by hand again.
    pub lines: Vec<crate::graphql::trade::document::LineInput>,
}

#[derive(Default)]
pub struct ContractMutation;

#[Object]
impl ContractMutation {
    /// Opens a contract in DRAFT with its payment plan.
    async fn create_contract(&self, ctx: &Context<'_>, input: CreateContractInput) -> ApiResult<ContractPayload> {
        let actor = require(ctx, Permission::ContractWrite)?.writing();
        let (fields, plan) = match both(input.contract.to_domain(Some(actor.user_id)), plan_of(&input.installments)) {
            Ok(v) => v,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let author = crate::graphql::context::author(ctx, &actor);
        let scope = contract_scope(&actor);
        let tenant = actor.tenant_id;
        let new = NewContract { fields, plan, links: contract_links(&actor) };
        let idempotent = Idempotent::new(&actor, "createContract", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let created = guanxi_store::finance::contract::create(tx, &author, scope, new).await?;
                    Ok((created.id.uuid(), created))
                })
            },
            crate::graphql::mutation::reload_scoped::<guanxi_store::finance::contract::Contracts>(tenant, scope),
        )
        .await?;
        Ok(result.into())
    }

    /// Edits a contract in DRAFT, REJECTED or WITHDRAWN (an approved one is locked).
    async fn update_contract(&self, ctx: &Context<'_>, input: UpdateContractInput) -> ApiResult<ContractPayload> {
        let actor = require(ctx, Permission::ContractWrite)?;
        let plan = input.installments.as_deref().map(plan_of).transpose();
        let (fields, plan) = match both(input.contract.to_domain(None), plan) {
            Ok(v) => v,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let edit = ContractEdit { fields, plan, links: contract_links(&actor.writing()) };
        let version = input.expected_version;
        write_by_id(
            ctx,
            Permission::ContractWrite,
            (&input.id, CONTRACT),
            contract_scope,
            move |tx, author, scope, id| {
                Box::pin(async move {
                    guanxi_store::finance::contract::update(tx, &author, scope, (id, version), edit).await
                })
            },
        )
        .await
    }

    /// Submits a contract for approval; its installments must add up to its amount. With
    /// no approval flow for contracts it is approved at once.
    async fn submit_contract(&self, ctx: &Context<'_>, input: ContractActionInput) -> ApiResult<ContractPayload> {
        let department = require(ctx, Permission::ContractWrite)?.department_id;
        let version = input.expected_version;
        write_by_id(
            ctx,
            Permission::ContractWrite,
            (&input.id, CONTRACT),
            contract_scope,
            move |tx, author, scope, id| {
                Box::pin(async move {
                    guanxi_store::finance::contract::submit(tx, &author, scope, (id, version), Some(department)).await
                })
            },
        )
        .await
    }

    /// Marks an approved contract completed.
    async fn complete_contract(&self, ctx: &Context<'_>, input: ContractActionInput) -> ApiResult<ContractPayload> {
        act(ctx, input, ContractAction::Complete, Permission::ContractWrite).await
    }

    /// Voids a contract with a reason (`contract.void`); one with money received must have
    /// its receipts reversed first.
    async fn void_contract(&self, ctx: &Context<'_>, input: ContractActionInput) -> ApiResult<ContractPayload> {
        act(ctx, input, ContractAction::Void, Permission::ContractVoid).await
    }

    /// Replaces a draft contract's product lines, priced for its customer like a quote's;
    /// with lines its amount becomes their total (tax included).
    async fn set_contract_lines(&self, ctx: &Context<'_>, input: SetContractLinesInput) -> ApiResult<ContractPayload> {
        let lines = match crate::graphql::trade::document::store_lines(&input.lines) {
            Ok(lines) => lines,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let version = input.expected_version;
        write_by_id(
            ctx,
            Permission::ContractWrite,
            (&input.id, CONTRACT),
            contract_scope,
            move |tx, author, scope, id| {
                Box::pin(async move {
                    guanxi_store::finance::contract::set_lines(tx, &author, scope, (id, version), &lines).await
                })
            },
        )
        .await
    }

    /// Starts the next revision (变更) of a contract in force: a draft with the same number
    /// and its plan, edited and submitted like any contract. Once approved it replaces this
    /// one (SUPERSEDED), taking over its receipts and invoices; until then this one stays
    /// in force.
    async fn revise_contract(&self, ctx: &Context<'_>, input: ContractActionInput) -> ApiResult<ContractPayload> {
        act(ctx, input, ContractAction::Revise, Permission::ContractWrite).await
    }

    /// Moves a contract that never took effect to the recycle bin.
    async fn delete_contract(&self, ctx: &Context<'_>, input: ContractActionInput) -> ApiResult<ContractPayload> {
        act(ctx, input, ContractAction::Delete, Permission::ContractWrite).await
    }
}
