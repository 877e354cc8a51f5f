//! Receipts (回款), the receivables aging report (账龄) with its drill-down, and the
//! caller's reminders.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::finance::receivable::{
    AgingBucket as DomainBucket, Receipt as DomainReceipt, ReceiptStatus as DomainStatus,
};
use guanxi_domain::ids::InstallmentId;
use guanxi_domain::platform::access::{Actor, Permission};
use guanxi_domain::trade::money::Places;
use guanxi_store::finance::receivable::{AgingGroup, NewReceipt, OwedFilter};
use guanxi_store::scope::OrApprover;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::approval::{ApprovalHistoryEntry, ApprovalRequest, approval_of, history_of};
use super::contract::{
    CONTRACT, Contract, ContractKey, INSTALLMENT, Installment, PaymentMethod, contract_report_scope,
};
use crate::graphql::context::{actor, require, state};
use crate::graphql::customers::customer::{CUSTOMER, Customer, Money};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::loaders::{CustomerKey, DepartmentKey, ScopedLoader, UserKey};
use crate::graphql::mutation::{Idempotent, write, write_by_id};
use crate::graphql::platform::org::{DEPARTMENT, Department, USER, User};
use crate::graphql::relay::{Conn, expect_id, global_id, input_id, read_by_id};
use crate::graphql::shared::OrderDirection;
use crate::graphql::trade::document::loaders;

pub const RECEIPT: &str = EntityKind::Receipt.name();

/// The scope a receipt is read and written with: the caller's `RECEIVABLE` and
/// `CUSTOMER` scopes, or a task of theirs waiting on it.
pub fn receipt_scope(actor: &Actor) -> OrApprover {
    OrApprover { rules: EntityKind::receipt_rules(actor), approver: Some(actor.user_id) }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainStatus")]
pub enum ReceiptStatus {
    /// 审批中: counts once approved.
    PendingApproval,
    /// 已确认
    Approved,
    /// 已驳回
    Rejected,
    /// 已撤回
    Withdrawn,
    /// 已红冲: reversed, its allocations given back.
    Reversed,
}

/// A receipt of money against a contract (回款).
pub struct Receipt(pub DomainReceipt);

#[Object]
impl Receipt {
    pub async fn id(&self) -> ID {
        global_id(RECEIPT, self.0.id.uuid())
    }
    async fn number(&self) -> &str {
        &self.0.number
    }
    async fn status(&self) -> ReceiptStatus {
        self.0.status.into()
    }
    async fn contract_id(&self) -> ID {
        global_id(CONTRACT, self.0.contract_id.uuid())
    }
    /// The contract, when the caller may see it.
    async fn contract(&self, ctx: &Context<'_>) -> ApiResult<Option<Contract>> {
        Ok(loaders(ctx)?.load_one(ContractKey(self.0.contract_id.uuid())).await?.map(Contract))
    }
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loaders(ctx)?.load_one(CustomerKey(self.0.customer_id.uuid())).await?.map(Customer))
    }
    async fn customer_id(&self) -> ID {
        global_id(CUSTOMER, self.0.customer_id.uuid())
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(owner) = self.0.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(owner.uuid())).await?.map(User))
    }
    async fn received_on(&self) -> NaiveDate {
        self.0.received_on
    }
    async fn method(&self) -> PaymentMethod {
        self.0.method.into()
    }
    async fn amount(&self) -> Money {
        Money::cny(self.0.amount)
    }
    /// The part not allocated to an installment (预收).
    async fn advance(&self) -> Money {
        Money::cny(self.0.advance)
    }
    async fn payer(&self) -> Option<&str> {
        self.0.payer.as_deref()
    }
    /// The keys other systems know this receipt by (`upsertReceipts`).
    async fn external_keys(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::integration::upsert::ExternalKey>> {
        crate::graphql::integration::upsert::external_keys(ctx, EntityKind::Receipt, self.0.id.uuid()).await
    }
    /// The bank's or the ERP's reference.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn reversed_reason(&self) -> Option<&str> {
        self.0.reversed_reason.as_deref()
    }
    async fn reversed_at(&self) -> Option<DateTime<Utc>> {
        self.0.reversed_at
    }
    async fn approval(&self, ctx: &Context<'_>) -> ApiResult<Option<ApprovalRequest>> {
        approval_of(ctx, self.0.id.uuid()).await
    }
    async fn approval_history(&self, ctx: &Context<'_>) -> ApiResult<Vec<ApprovalHistoryEntry>> {
        history_of(ctx, self.0.id.uuid()).await
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A receipt by id, through the caller's scope (and their pending approvals).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReceiptKey(pub Uuid);

impl Loader<ReceiptKey> for ScopedLoader {
    type Value = DomainReceipt;
    type Error = ApiError;

    async fn load(&self, keys: &[ReceiptKey]) -> Result<HashMap<ReceiptKey, DomainReceipt>, ApiError> {
        if !self.actor.may(Permission::ReceivableRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found = guanxi_store::finance::receivable::by_ids(
            self.db.connection(),
            self.actor.tenant_id,
            receipt_scope(&self.actor),
            &ids,
        )
        .await?;
        Ok(found.into_iter().map(|r| (ReceiptKey(r.id.uuid()), r)).collect())
    }
}

/// Filters receipts.
#[derive(InputObject, Default)]
pub struct ReceiptFilter {
    pub contract_id: Option<ID>,
    pub customer_id: Option<ID>,
    pub status: Option<Vec<ReceiptStatus>>,
    pub received_from: Option<NaiveDate>,
    pub received_to: Option<NaiveDate>,
}

// ---------------------------------------------------------------------------------------
// Aging

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainBucket")]
pub enum AgingBucket {
    /// 未到期
    NotDue,
    /// 逾期 1–30 天
    #[graphql(name = "DAYS_1_30")]
    Days1To30,
    /// 逾期 31–60 天
    #[graphql(name = "DAYS_31_60")]
    Days31To60,
    /// 逾期 61–90 天
    #[graphql(name = "DAYS_61_90")]
    Days61To90,
    /// 逾期 90 天以上
    Over90,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ReceivablesGroup {
    Customer,
    Owner,
    /// The contract owner's department.
    Department,
}

/// Which receivables to report.
#[derive(InputObject, Default)]
pub struct ReceivablesFilter {
    pub customer_id: Option<ID>,
    pub owner_id: Option<ID>,
    pub department_id: Option<ID>,
    /// The day the ages are counted on; today (Asia/Shanghai) when left out.
    pub as_of: Option<NaiveDate>,
}

/// What is owed in one bucket.
#[derive(SimpleObject, Clone)]
pub struct AgingFigure {
    pub bucket: AgingBucket,
    pub outstanding: Money,
    /// How many installments.
    pub installments: i64,
}

/// What one customer, owner or department owes, by bucket.
pub struct ReceivablesRow {
    group: ReceivablesGroup,
    id: Option<Uuid>,
    buckets: Vec<AgingFigure>,
}

#[Object]
impl ReceivablesRow {
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        match (self.group, self.id) {
            (ReceivablesGroup::Customer, Some(id)) => Ok(loaders(ctx)?.load_one(CustomerKey(id)).await?.map(Customer)),
            _ => Ok(None),
        }
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        match (self.group, self.id) {
            (ReceivablesGroup::Owner, Some(id)) => Ok(loaders(ctx)?.load_one(UserKey(id)).await?.map(User)),
            _ => Ok(None),
        }
    }
    async fn department(&self, ctx: &Context<'_>) -> ApiResult<Option<Department>> {
        match (self.group, self.id) {
            (ReceivablesGroup::Department, Some(id)) => {
                Ok(loaders(ctx)?.load_one(DepartmentKey(id)).await?.map(Department))
            }
            _ => Ok(None),
        }
    }
    /// The group's id (customer, user or department), for `receivableInstallments`.
    async fn group_id(&self) -> Option<ID> {
        let kind = match self.group {
            ReceivablesGroup::Customer => CUSTOMER,
            ReceivablesGroup::Owner => USER,
            ReceivablesGroup::Department => DEPARTMENT,
        };
        self.id.map(|id| global_id(kind, id))
    }
    /// Every bucket, in age order (zero where nothing is owed).
    async fn buckets(&self) -> &[AgingFigure] {
        &self.buckets
    }
    async fn total(&self) -> Money {
        Money::cny(sum(self.buckets.iter().map(|b| b.outstanding.amount)))
    }
    async fn overdue(&self) -> Money {
        Money::cny(overdue(&self.buckets))
    }
}

/// What is past due in some figures.
fn overdue(buckets: &[AgingFigure]) -> Decimal {
    sum(buckets.iter().filter(|b| b.bucket != AgingBucket::NotDue).map(|b| b.outstanding.amount))
}

/// The aging report (应收账龄).
#[derive(SimpleObject)]
pub struct ReceivablesReport {
    pub as_of: NaiveDate,
    /// The whole report by bucket.
    pub buckets: Vec<AgingFigure>,
    pub total: Money,
    pub overdue: Money,
    /// One row per group, the most overdue first.
    pub rows: Vec<ReceivablesRow>,
}

/// What one group owes in one bucket, and in how many installments.
type Cell = (DomainBucket, Decimal, i64);

/// A sum of amounts, in fen even when empty ("0.00").
fn sum(amounts: impl Iterator<Item = Decimal>) -> Decimal {
    amounts.fold(Decimal::new(0, 2), |a, b| a + b)
}

fn figures(cells: impl Iterator<Item = Cell>) -> Vec<AgingFigure> {
    let mut sums: Vec<(Decimal, i64)> = vec![(Decimal::new(0, 2), 0); DomainBucket::ALL.len()];
    for (bucket, owed, n) in cells {
        if let Some(i) = DomainBucket::ALL.iter().position(|b| *b == bucket) {
            sums[i].0 += owed;
            sums[i].1 += n;
        }
    }
    DomainBucket::ALL
        .iter()
        .zip(sums)
        .map(|(bucket, (owed, n))| AgingFigure {
            bucket: (*bucket).into(),
            outstanding: Money::cny(owed),
            installments: n,
        })
        .collect()
}

impl ReceivablesFilter {
    fn to_store(&self, bucket: Option<AgingBucket>) -> Result<OwedFilter, ApiError> {
        Ok(OwedFilter {
            today: self.as_of.unwrap_or_else(|| shanghai_date(Utc::now())),
            customer_id: self.customer_id.as_ref().map(|c| expect_id(c, CUSTOMER)).transpose()?,
            owner_id: self.owner_id.as_ref().map(|o| expect_id(o, USER)).transpose()?,
            department_id: self.department_id.as_ref().map(|d| expect_id(d, DEPARTMENT)).transpose()?,
            bucket: bucket.map(Into::into),
            due_by: None,
        })
    }
}

/// An installment owed, with its contract.
pub struct OwedInstallment(guanxi_domain::finance::receivable::Installment, NaiveDate);

/// The caller's own installments owed and due within the tenant's reminder lead (overdue
/// first), for `myTodos`.
pub async fn my_installments_due(ctx: &Context<'_>, first: u64) -> ApiResult<Vec<OwedInstallment>> {
    let actor = actor(ctx)?;
    if !actor.may(Permission::ContractRead) {
        return Ok(vec![]);
    }
    let conn = state(ctx).db.connection();
    let lead = guanxi_store::platform::tenant::settings(conn, actor.tenant_id).await?.installment_remind_days;
    let today = shanghai_date(Utc::now());
    let owed = OwedFilter {
        today,
        customer_id: None,
        owner_id: Some(actor.user_id.uuid()),
        department_id: None,
        bucket: None,
        due_by: Some(today + chrono::Duration::days(i64::from(lead))),
    };
    let scope = contract_report_scope(actor);
    let found =
        guanxi_store::finance::receivable::owed_installments(conn, actor.tenant_id, scope, &owed, first).await?;
    Ok(found.into_iter().map(|i| OwedInstallment(i, today)).collect())
}

/// The earliest installment a customer still owes on contracts the caller may see.
pub async fn next_installment(ctx: &Context<'_>, customer: Uuid) -> ApiResult<Option<OwedInstallment>> {
    let actor = actor(ctx)?;
    if !actor.may(Permission::ContractRead) {
        return Ok(None);
    }
    let today = shanghai_date(Utc::now());
    let owed = OwedFilter {
        today,
        customer_id: Some(customer),
        owner_id: None,
        department_id: None,
        bucket: None,
        due_by: None,
    };
    let scope = contract_report_scope(actor);
    let mut found = guanxi_store::finance::receivable::owed_installments(
        state(ctx).db.connection(),
        actor.tenant_id,
        scope,
        &owed,
        1,
    )
    .await?;
    Ok(found.pop().map(|i| OwedInstallment(i, today)))
}

#[Object]
impl OwedInstallment {
    async fn installment(&self) -> Installment {
        Installment(self.0.clone(), Places::default())
    }
    /// Its age on the report's day.
    async fn bucket(&self) -> AgingBucket {
        DomainBucket::of(self.0.due_on, self.1).into()
    }
    async fn contract(&self, ctx: &Context<'_>) -> ApiResult<Option<Contract>> {
        Ok(loaders(ctx)?.load_one(ContractKey(self.0.contract_id.uuid())).await?.map(Contract))
    }
}

// ---------------------------------------------------------------------------------------
// Notices

/// A reminder a job wrote for the caller (an installment due or overdue, a contract
/// about to expire).
#[derive(SimpleObject)]
pub struct Notice {
    pub id: ID,
    /// INSTALLMENT_DUE, INSTALLMENT_OVERDUE, CONTRACT_EXPIRING, CONTACT_BIRTHDAY, WEBHOOK_DISABLED (to
    /// the user a webhook endpoint receives as, when the server switches it off), or a
    /// missed service level: WO_RESPONSE_BREACHED and WO_RESOLUTION_BREACHED to the order's
    /// agent, WO_RESPONSE_ESCALATED and WO_RESOLUTION_ESCALATED to the agent's manager.
    pub kind: String,
    /// `Installment`, `Contract`, `Contact`, `WorkOrder` or `WebhookEndpoint`.
    pub subject_kind: String,
    pub subject_id: ID,
    /// The due or end date the notice is about.
    pub occasion: NaiveDate,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct ReceivableQuery;

#[Object]
impl ReceivableQuery {
    /// A receipt by id: in the caller's scope, or waiting on their approval.
    async fn receipt(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Receipt> {
        let found = read_by_id::<guanxi_store::finance::receivable::Receipts>(
            ctx,
            Permission::ReceivableRead,
            (&id, RECEIPT),
            receipt_scope,
        )
        .await?;
        Ok(Receipt(found))
    }

    /// Receipts the caller may see, newest first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn receipts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ReceiptFilter>,
        #[graphql(default_with = "OrderDirection::Desc")] direction: OrderDirection,
    ) -> ApiResult<Conn<Receipt>> {
        let f = filter.unwrap_or_default();
        let store =
            super::document_filter((&f.contract_id, &f.customer_id), &f.status, (f.received_from, f.received_to))?;
        let access = (Permission::ReceivableRead, receipt_scope as fn(&Actor) -> OrApprover);
        super::document_page::<guanxi_store::finance::receivable::Receipts, _>(
            ctx,
            access,
            store,
            (first, after, direction),
            Receipt,
        )
        .await
    }

    /// What approved contracts the caller may see still owe, by age (not due, 1–30, 31–60,
    /// 61–90, over 90 days late) and grouped by customer, owner or department. One
    /// grouped statement through the caller's contract scope.
    async fn receivables(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "ReceivablesGroup::Customer")] group_by: ReceivablesGroup,
        filter: Option<ReceivablesFilter>,
    ) -> ApiResult<ReceivablesReport> {
        let actor = require(ctx, Permission::ContractRead)?;
        let filter = filter.unwrap_or_default();
        let owed = filter.to_store(None)?;
        let group = match group_by {
            ReceivablesGroup::Customer => AgingGroup::Customer,
            ReceivablesGroup::Owner => AgingGroup::Owner,
            ReceivablesGroup::Department => AgingGroup::Department,
        };
        let scope = contract_report_scope(actor);
        let cells =
            guanxi_store::finance::receivable::aging(state(ctx).db.connection(), actor.tenant_id, scope, &owed, group)
                .await?;
        let mut by_group: Vec<(Option<Uuid>, Vec<Cell>)> = Vec::new();
        for cell in &cells {
            match by_group.iter_mut().find(|(g, _)| *g == cell.group) {
                Some((_, list)) => list.push((cell.bucket, cell.outstanding, cell.installments)),
                None => by_group.push((cell.group, vec![(cell.bucket, cell.outstanding, cell.installments)])),
            }
        }
        let mut rows: Vec<ReceivablesRow> = by_group
            .into_iter()
            .map(|(id, list)| ReceivablesRow { group: group_by, id, buckets: figures(list.into_iter()) })
            .collect();
        let overdue = |r: &ReceivablesRow| -> Decimal {
            r.buckets.iter().filter(|b| b.bucket != AgingBucket::NotDue).map(|b| b.outstanding.amount).sum()
        };
        rows.sort_by(|a, b| overdue(b).cmp(&overdue(a)).then(a.id.cmp(&b.id)));
        let buckets = figures(cells.iter().map(|c| (c.bucket, c.outstanding, c.installments)));
        let total = Money::cny(buckets.iter().map(|b| b.outstanding.amount).sum());
        let late =
            Money::cny(buckets.iter().filter(|b| b.bucket != AgingBucket::NotDue).map(|b| b.outstanding.amount).sum());
        Ok(ReceivablesReport { as_of: owed.today, buckets, total, overdue: late, rows })
    }

    /// The installments behind an aging figure (the drill-down), oldest first.
    async fn receivable_installments(
        &self,
        ctx: &Context<'_>,
        bucket: Option<AgingBucket>,
        filter: Option<ReceivablesFilter>,
        #[graphql(default = 50)] first: i32,
    ) -> ApiResult<Vec<OwedInstallment>> {
        let actor = require(ctx, Permission::ContractRead)?;
        if !(1..=200).contains(&first) {
            return Err(ApiError::BadUserInput("first: between 1 and 200".into()));
        }
        let owed = filter.unwrap_or_default().to_store(bucket)?;
        let scope = contract_report_scope(actor);
        let limit = u64::try_from(first).unwrap_or(50);
        let found = guanxi_store::finance::receivable::owed_installments(
            state(ctx).db.connection(),
            actor.tenant_id,
            scope,
            &owed,
            limit,
        )
        .await?;
        Ok(found.into_iter().map(|i| OwedInstallment(i, owed.today)).collect())
    }

    /// The caller's reminders, newest first.
    async fn my_notices(&self, ctx: &Context<'_>, #[graphql(default = 20)] first: i32) -> ApiResult<Vec<Notice>> {
        let actor = actor(ctx)?;
        let limit = u64::try_from(first.clamp(1, 200)).unwrap_or(20);
        let found = guanxi_store::finance::receivable::notices_of(
            state(ctx).db.connection(),
            actor.tenant_id,
            actor.user_id,
            limit,
        )
        .await?;
        Ok(found
            .into_iter()
            .map(|n| Notice {
                id: global_id("Notice", n.id),
                subject_id: global_id(&n.subject_kind, n.subject_id),
                kind: n.kind,
                subject_kind: n.subject_kind,
                occasion: n.occasion,
                message: n.message,
                created_at: n.created_at,
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

/// Part of a receipt for one installment.
#[derive(InputObject, Serialize)]
pub struct AllocationInput {
    pub installment_id: ID,
    pub amount: Decimal,
}

#[derive(InputObject, Serialize)]
pub struct CreateReceiptInput {
    pub contract_id: ID,
    pub received_on: NaiveDate,
    pub method: PaymentMethod,
    pub amount: Decimal,
    pub payer: Option<String>,
    /// The bank's or the ERP's reference; unique per tenant.
    pub external_id: Option<String>,
    pub note: Option<String>,
    /// Where the money goes; oldest installments first when left out.
    pub allocations: Option<Vec<AllocationInput>>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct ReverseReceiptInput {
    pub id: ID,
    pub expected_version: i32,
    pub reason: String,
}

crate::graphql::error::payload! {
    ReceiptPayload, receipt: Receipt(DomainReceipt)
}

pub(crate) fn trimmed(value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[derive(Default)]
pub struct ReceivableMutation;

#[Object]
impl ReceivableMutation {
    /// Registers money received against an approved contract (`receivable.write`). It
    /// counts once approved: at once, unless a receipt approval flow applies.
    async fn create_receipt(&self, ctx: &Context<'_>, input: CreateReceiptInput) -> ApiResult<ReceiptPayload> {
        let actor = require(ctx, Permission::ReceivableWrite)?.writing();
        let mut errors = Vec::new();
        let contract = input_id("contractId", &input.contract_id, CONTRACT).map_err(|e| errors.push(e)).ok();
        let allocations = input.allocations.as_ref().map(|list| {
            list.iter()
                .enumerate()
                .filter_map(|(i, a)| {
                    input_id(&format!("allocations.{i}.installmentId"), &a.installment_id, INSTALLMENT)
                        .map_err(|e| errors.push(e))
                        .ok()
                        .map(|id| (InstallmentId::from_uuid(id), a.amount))
                })
                .collect::<Vec<_>>()
        });
        let Some(contract_id) = contract.filter(|_| errors.is_empty()) else { return Ok(Err(errors).into()) };
        let new = NewReceipt {
            contract_id,
            received_on: input.received_on,
            method: input.method.into(),
            amount: input.amount,
            payer: trimmed(&input.payer),
            external_id: trimmed(&input.external_id),
            note: trimmed(&input.note),
            allocations,
        };
        let author = crate::graphql::context::author(ctx, &actor);
        let contracts = contract_report_scope(&actor);
        let scope = receipt_scope(&actor);
        let (tenant, department) = (actor.tenant_id, actor.department_id);
        let idempotent = Idempotent::new(&actor, "createReceipt", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let created =
                        guanxi_store::finance::receivable::create(tx, &author, contracts, new, Some(department))
                            .await?;
                    Ok((created.id.uuid(), created))
                })
            },
            crate::graphql::mutation::reload_scoped::<guanxi_store::finance::receivable::Receipts>(tenant, scope),
        )
        .await?;
        Ok(result.into())
    }

    /// A red entry (红冲): reverses an approved receipt with a reason, giving its
    /// allocations back to the installments.
    async fn reverse_receipt(&self, ctx: &Context<'_>, input: ReverseReceiptInput) -> ApiResult<ReceiptPayload> {
        let (version, reason) = (input.expected_version, input.reason);
        write_by_id(
            ctx,
            Permission::ReceivableWrite,
            (&input.id, RECEIPT),
            receipt_scope,
            move |tx, author, scope, id| {
                Box::pin(async move {
                    guanxi_store::finance::receivable::reverse(tx, &author, scope, (id, version), &reason).await
                })
            },
        )
        .await
    }
}
