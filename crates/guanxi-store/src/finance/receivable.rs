//! Receipts (回款) and what is still owed. A receipt against an approved contract waits for
//! approval when a receipt flow applies; once approved it is allocated to the contract's
//! installments (oldest first unless the writer said otherwise) in the same transaction
//! that raises the contract's received amount. A red entry (红冲) gives the allocations
//! back. The aging report groups what is owed by how late it is, in one statement.
//!
//! Concurrency: an approval raises `contracts.received_e4` with one conditional `UPDATE`
//! (the contract must still owe the amount, unless advances are allowed) before it reads
//! the installments, so two receipts racing on one contract are applied one after the
//! other and never over-fill it.

use chrono::{NaiveDate, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::approval::engine::RequestStatus;
use guanxi_domain::approval::flow::{DocumentKind, Facts};
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::finance::contract::{ContractStatus, check_amount};
use guanxi_domain::finance::receivable::{
    AgingBucket, Installment, PaymentMethod, Receipt, ReceiptStatus, allocate, receipt_after_approval,
};
use guanxi_domain::ids::{InstallmentId, ReceiptId, TenantId, UserId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::trade::money::{from_e4, to_e4};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{contract, installment, notice, receipt};
use crate::error::{StoreError, StoreResult};
use crate::finance::approval::{self, Submission};
use crate::finance::contract::{Contracts, installment_of};
use crate::platform::audit::{self, Author};
use crate::platform::{sequence, tenant};
use crate::repo::{self, Scoped};
use crate::scope::OrApprover;

pub const ENTITY: EntityKind = EntityKind::Receipt;

#[derive(serde::Serialize, serde::Deserialize)]
struct Allocation {
    installment: Uuid,
    amount_e4: i64,
}

pub fn to_domain(m: receipt::Model) -> StoreResult<Receipt> {
    let cell = |column| Cell::of("receipts", m.id, column);
    Ok(Receipt {
        id: m.id.into(),
        number: m.number,
        contract_id: m.contract_id.into(),
        customer_id: m.customer_id.into(),
        owner_id: m.owner_id.map(Into::into),
        received_on: m.received_on,
        method: cell("method").text(&m.method, PaymentMethod::parse)?,
        amount: from_e4(m.amount_e4),
        payer: m.payer,
        external_id: m.external_id,
        note: m.note,
        status: cell("status").text(&m.status, ReceiptStatus::parse)?,
        advance: from_e4(m.advance_e4),
        reversed_reason: m.reversed_reason,
        reversed_at: m.reversed_at,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// The allocations of a receipt: (installment, amount).
pub fn allocations_of(m: &receipt::Model) -> StoreResult<Vec<(InstallmentId, Decimal)>> {
    let parts: Vec<Allocation> = Cell::of("receipts", m.id, "allocations").json(m.allocations.clone())?;
    Ok(parts.into_iter().map(|a| (a.installment.into(), from_e4(a.amount_e4))).collect())
}

pub(crate) fn allocations_json(parts: &[(InstallmentId, Decimal)]) -> serde_json::Value {
    let parts: Vec<Allocation> =
        parts.iter().map(|(id, amount)| Allocation { installment: id.uuid(), amount_e4: to_e4(*amount) }).collect();
    serde_json::to_value(parts).unwrap_or_else(|_| serde_json::json!([]))
}

/// Receipts, read through their own `RECEIVABLE` scope and their customer's, or as the
/// approver they wait on.
pub struct Receipts;

crate::finance::contract_document!(Receipts, receipt, Receipt, ReceiptStatus, ReceivedOn);

/// Which receipts to list; the window is on the day received.
pub type ReceiptFilter = crate::finance::DocumentFilter<ReceiptStatus>;

/// What a new receipt brings.
#[derive(Clone, Debug)]
pub struct NewReceipt {
    pub contract_id: Uuid,
    pub received_on: NaiveDate,
    pub method: PaymentMethod,
    pub amount: Decimal,
    pub payer: Option<String>,
    pub external_id: Option<String>,
    pub note: Option<String>,
    /// Where the amount goes; oldest installments first when `None`.
    pub allocations: Option<Vec<(InstallmentId, Decimal)>>,
}

/// The installments a contract still owes on, oldest first, with what each owes.
async fn open_installments<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    contract: Uuid,
) -> StoreResult<Vec<(InstallmentId, Decimal)>> {
    Ok(still_owed(&live_plan(conn, tenant, contract).await?))
}

/// A contract's installments that are not void, oldest first (due date, then number):
/// the order receipts fill them in.
async fn live_plan<C: ConnectionTrait>(conn: &C, tenant: TenantId, contract: Uuid) -> StoreResult<Vec<Installment>> {
    Ok(live_plans(conn, tenant, &[contract]).await?.remove(&contract).unwrap_or_default())
}

/// [`live_plan`] for any number of contracts, in one statement.
pub(crate) async fn live_plans<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    contracts: &[Uuid],
) -> StoreResult<std::collections::HashMap<Uuid, Vec<Installment>>> {
    let mut plans: std::collections::HashMap<Uuid, Vec<Installment>> = std::collections::HashMap::new();
    if contracts.is_empty() {
        return Ok(plans);
    }
    let rows = installment::Entity::find()
        .filter(installment::Column::TenantId.eq(tenant.uuid()))
        .filter(installment::Column::ContractId.is_in(contracts.to_vec()))
        .filter(installment::Column::Void.eq(false))
        .order_by_asc(installment::Column::DueOn)
        .order_by_asc(installment::Column::Seq)
        .all(conn)
        .await?;
    for row in rows {
        plans.entry(row.contract_id).or_default().push(installment_of(row)?);
    }
    Ok(plans)
}

/// What each installment still owes, leaving out those paid up.
pub(crate) fn still_owed(plan: &[Installment]) -> Vec<(InstallmentId, Decimal)> {
    plan.iter().filter(|i| i.outstanding() > Decimal::ZERO).map(|i| (i.id, i.outstanding())).collect()
}

/// Registers a receipt against an approved contract the caller may see. It is approved
/// and allocated at once unless a receipt flow applies.
pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    contracts: OrApprover,
    new: NewReceipt,
    department: Option<guanxi_domain::ids::DepartmentId>,
) -> StoreResult<Receipt> {
    let tenant = author.tenant_id;
    let contract = crate::finance::contract::find(conn, tenant, contracts, new.contract_id)
        .await?
        .filter(|c| c.deleted_at.is_none())
        .ok_or_else(|| StoreError::rejected("contractId", ErrorCode::NotFound, "no such contract"))?;
    if contract.status != ContractStatus::Approved {
        return Err(StoreError::rejected(
            "contractId",
            ErrorCode::IllegalState,
            format!("money is received on approved contracts; this one is {}", contract.status.label_zh()),
        ));
    }
    let mut invalid = guanxi_domain::Invalid::default();
    invalid.check(check_amount("amount", new.amount, contract.places));
    for (i, (_, part)) in new.allocations.iter().flatten().enumerate() {
        invalid.check(contract.places.check(&format!("allocations.{i}.amount"), *part));
    }
    for (field, text, max) in
        [("payer", &new.payer, 100), ("externalId", &new.external_id, 100), ("note", &new.note, 500)]
    {
        if text.as_ref().is_some_and(|t| t.chars().count() > max) {
            invalid.push(guanxi_domain::FieldError::new(
                field,
                ErrorCode::Invalid,
                format!("at most {max} characters"),
            ));
        }
    }
    invalid.into_result()?;
    let settings = tenant::settings(conn, tenant).await?;
    // Refuse now what approval would refuse: the same allocation against today's plan.
    let open = open_installments(conn, tenant, new.contract_id).await?;
    allocate(new.amount, &open, new.allocations.as_deref(), settings.allow_advance_receipts)?;
    let today = shanghai_date(Utc::now());
    let rule = settings.receipt_numbering;
    let n = sequence::next(conn, tenant, "receipt", &rule.period(today)).await?;
    let number = rule.format(today, n);
    let now = Utc::now();
    let id = ReceiptId::new();
    let model = receipt::Entity::insert(receipt::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id.uuid()),
        number: Set(number.clone()),
        contract_id: Set(new.contract_id),
        customer_id: Set(contract.fields.customer_id.uuid()),
        owner_id: Set(contract.fields.owner_id.map(UserId::uuid)),
        received_on: Set(new.received_on),
        method: Set(new.method.as_str().to_owned()),
        amount_e4: Set(to_e4(new.amount)),
        advance_e4: Set(0),
        payer: Set(new.payer.clone()),
        external_id: Set(new.external_id.clone()),
        note: Set(new.note.clone()),
        status: Set(ReceiptStatus::PendingApproval.as_str().to_owned()),
        allocations: Set(allocations_json(new.allocations.as_deref().unwrap_or_default())),
        reversed_reason: Set(None),
        reversed_at: Set(None),
        created_by: Set(author.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await
    .map_err(|e| crate::error::on_unique(e, "externalId", "another receipt has this external id"))?;
    let changes = ChangeSet::new()
        .field("number", (), &number)
        .field("contractId", (), new.contract_id)
        .field("amount", (), new.amount)
        .field("method", (), new.method.as_str());
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    let facts = Facts { amount: new.amount, discount: Decimal::ZERO, department, customer_level: None };
    let request = approval::submit(
        conn,
        author,
        Submission { kind: DocumentKind::Receipt, document_id: id.uuid(), facts, owner_id: contract.fields.owner_id },
    )
    .await?;
    if request.status == RequestStatus::Pending {
        return to_domain(model);
    }
    follow(conn, author, id.uuid(), request.status).await
}

/// Brings a receipt to the status its approval reached; an approved one is allocated.
pub async fn follow<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    outcome: RequestStatus,
) -> StoreResult<Receipt> {
    let tenant = author.tenant_id;
    let model = receipt::Entity::find_by_id((tenant.uuid(), id)).one(conn).await?.ok_or(StoreError::NotFound)?;
    let before = to_domain(model.clone())?;
    let status = receipt_after_approval(outcome);
    if status == before.status {
        return Ok(before);
    }
    let mut update = receipt::Entity::update_many().col_expr(receipt::Column::Status, Expr::value(status.as_str()));
    let mut changes = ChangeSet::new().field("status", before.status.as_str(), status.as_str());
    if status == ReceiptStatus::Approved {
        let asked = allocations_of(&model)?;
        let asked = if asked.is_empty() { None } else { Some(asked) };
        let (parts, advance) = apply(conn, author, &before, asked.as_deref()).await?;
        changes = changes.field("allocations", (), parts.len()).field("advance", (), advance);
        update = update
            .col_expr(receipt::Column::Allocations, Expr::value(allocations_json(&parts)))
            .col_expr(receipt::Column::AdvanceE4, Expr::value(to_e4(advance)));
    }
    let after = repo::write_versioned::<Receipts, C>(conn, tenant, id, before.version, update).await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Raises the contract's received amount (refused when it would pass what is owed and
/// advances are not allowed), then allocates the receipt to the installments.
async fn apply<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    receipt: &Receipt,
    asked: Option<&[(InstallmentId, Decimal)]>,
) -> StoreResult<(Vec<(InstallmentId, Decimal)>, Decimal)> {
    let tenant = author.tenant_id;
    let settings = tenant::settings(conn, tenant).await?;
    let amount = to_e4(receipt.amount);
    let contract_id = receipt.contract_id.uuid();
    let mut raise = contract::Entity::update_many()
        .col_expr(contract::Column::ReceivedE4, Expr::col(contract::Column::ReceivedE4).add(amount))
        .col_expr(contract::Column::Version, Expr::col(contract::Column::Version).add(1))
        .col_expr(contract::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(contract::Column::TenantId.eq(tenant.uuid()))
        .filter(contract::Column::Id.eq(contract_id))
        .filter(contract::Column::Status.eq(ContractStatus::Approved.as_str()));
    if !settings.allow_advance_receipts {
        raise = raise
            .filter(Expr::col(contract::Column::AmountE4).sub(Expr::col(contract::Column::ReceivedE4)).gte(amount));
    }
    if raise.exec(conn).await?.rows_affected == 0 {
        let contract = crate::finance::contract::find(conn, tenant, OrApprover::ALL, contract_id).await?;
        if contract.is_none_or(|c| c.status != ContractStatus::Approved || c.deleted_at.is_some()) {
            return Err(StoreError::rejected(
                "contractId",
                ErrorCode::IllegalState,
                "the contract is no longer in force",
            ));
        }
        return Err(StoreError::rejected(
            "amount",
            ErrorCode::Invalid,
            "more than the contract still owes; advances are not allowed",
        ));
    }
    record_received(conn, author, receipt, amount).await?;
    let open = open_installments(conn, tenant, contract_id).await?;
    let (parts, advance) = allocate(receipt.amount, &open, asked, settings.allow_advance_receipts)?;
    shift_installments(conn, tenant, &parts, 1).await?;
    Ok((parts, advance))
}

/// The change event of a contract whose received amount a receipt moved by `delta_e4`
/// (the version moved with it, so readers of the feed learn of it).
async fn record_received<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    receipt: &Receipt,
    delta_e4: i64,
) -> StoreResult<()> {
    let changes = ChangeSet::new().field("receivedBy", (), from_e4(delta_e4)).field("receiptId", (), receipt.id);
    let contract = receipt.contract_id.uuid();
    audit::record(conn, author, crate::finance::contract::ENTITY, contract, Operation::Update, &changes).await?;
    Ok(())
}

/// Adds (`sign` 1) or takes back (`sign` -1) allocated amounts, one statement per installment.
async fn shift_installments<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    parts: &[(InstallmentId, Decimal)],
    sign: i64,
) -> StoreResult<()> {
    let now = Utc::now();
    for (id, part) in parts {
        installment::Entity::update_many()
            .col_expr(
                installment::Column::ReceivedE4,
                Expr::col(installment::Column::ReceivedE4).add(sign * to_e4(*part)),
            )
            .col_expr(installment::Column::UpdatedAt, Expr::value(now))
            .filter(installment::Column::TenantId.eq(tenant.uuid()))
            .filter(installment::Column::Id.eq(id.uuid()))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Allocates a contract's approved receipts afresh over its plan, the oldest receipt
/// first and each to the oldest installments (what is left over is an advance): when a
/// revision took them over from the contract it replaced. The receipts' rows are
/// rewritten as bookkeeping of that move, without change events of their own.
pub(crate) async fn reallocate<C: ConnectionTrait>(conn: &C, tenant: TenantId, contract: Uuid) -> StoreResult<()> {
    let mut plan = live_plan(conn, tenant, contract).await?;
    for installment in &mut plan {
        installment.received = Decimal::ZERO;
    }
    let receipts = receipt::Entity::find()
        .filter(receipt::Column::TenantId.eq(tenant.uuid()))
        .filter(receipt::Column::ContractId.eq(contract))
        .filter(receipt::Column::Status.eq(ReceiptStatus::Approved.as_str()))
        .order_by_asc(receipt::Column::ReceivedOn)
        .order_by_asc(receipt::Column::CreatedAt)
        .all(conn)
        .await?;
    for row in receipts {
        let (parts, advance) = allocate(from_e4(row.amount_e4), &still_owed(&plan), None, true)?;
        for (id, part) in &parts {
            if let Some(installment) = plan.iter_mut().find(|i| i.id == *id) {
                installment.received += *part;
            }
        }
        receipt::Entity::update_many()
            .col_expr(receipt::Column::Allocations, Expr::value(allocations_json(&parts)))
            .col_expr(receipt::Column::AdvanceE4, Expr::value(to_e4(advance)))
            .filter(receipt::Column::TenantId.eq(tenant.uuid()))
            .filter(receipt::Column::Id.eq(row.id))
            .exec(conn)
            .await?;
    }
    let now = Utc::now();
    for installment in &plan {
        installment::Entity::update_many()
            .col_expr(installment::Column::ReceivedE4, Expr::value(to_e4(installment.received)))
            .col_expr(installment::Column::UpdatedAt, Expr::value(now))
            .filter(installment::Column::TenantId.eq(tenant.uuid()))
            .filter(installment::Column::Id.eq(installment.id.uuid()))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// A red entry (红冲): reverses an approved receipt with a reason, giving its allocations
/// back to the installments and lowering the contract's received amount.
pub async fn reverse<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OrApprover,
    (id, expected_version): (Uuid, i32),
    reason: &str,
) -> StoreResult<Receipt> {
    let tenant = author.tenant_id;
    let reason = crate::finance::reason(reason, "say why the receipt is reversed")?;
    let before = repo::current::<Receipts, C>(conn, tenant, scope, id, expected_version).await?;
    if before.status != ReceiptStatus::Approved {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::IllegalState,
            format!("only an approved receipt is reversed; this one is {}", before.status.label_zh()),
        ));
    }
    let model = receipt::Entity::find_by_id((tenant.uuid(), id)).one(conn).await?.ok_or(StoreError::NotFound)?;
    let parts = allocations_of(&model)?;
    let now = Utc::now();
    let after = repo::write_versioned::<Receipts, C>(
        conn,
        tenant,
        id,
        expected_version,
        receipt::Entity::update_many()
            .col_expr(receipt::Column::Status, Expr::value(ReceiptStatus::Reversed.as_str()))
            .col_expr(receipt::Column::ReversedReason, Expr::value(reason))
            .col_expr(receipt::Column::ReversedAt, Expr::value(now)),
    )
    .await?;
    shift_installments(conn, tenant, &parts, -1).await?;
    contract::Entity::update_many()
        .col_expr(contract::Column::ReceivedE4, Expr::col(contract::Column::ReceivedE4).sub(to_e4(before.amount)))
        .col_expr(contract::Column::Version, Expr::col(contract::Column::Version).add(1))
        .col_expr(contract::Column::UpdatedAt, Expr::value(now))
        .filter(contract::Column::TenantId.eq(tenant.uuid()))
        .filter(contract::Column::Id.eq(before.contract_id.uuid()))
        .exec(conn)
        .await?;
    record_received(conn, author, &before, -to_e4(before.amount)).await?;
    let changes = ChangeSet::new().field("status", before.status.as_str(), ReceiptStatus::Reversed.as_str()).field(
        "reversedReason",
        (),
        reason,
    );
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

// ---------------------------------------------------------------------------------------
// Aging

/// How the aging report groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgingGroup {
    Customer,
    Owner,
    /// The contract owner's department.
    Department,
}

/// One cell of the aging report: what a group owes in a bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgingCell {
    pub group: Option<Uuid>,
    pub bucket: AgingBucket,
    pub outstanding: Decimal,
    pub installments: i64,
}

/// The installments owed on approved contracts the caller may see, in one statement:
/// `FROM contracts JOIN installments` under the contract scope, filtered by `owner`,
/// `customer` and due date, and grouped when `group` is given.
fn owed(
    backend: DbBackend,
    tenant: TenantId,
    scope: OrApprover,
    filter: &OwedFilter,
) -> sea_orm::sea_query::SelectStatement {
    let mut select = Contracts::live(backend, tenant, scope)
        .filter(contract::Column::Status.eq(ContractStatus::Approved.as_str()))
        .select_only();
    if let Some(customer) = filter.customer_id {
        select = select.filter(contract::Column::CustomerId.eq(customer));
    }
    if let Some(owner) = filter.owner_id {
        select = select.filter(contract::Column::OwnerId.eq(owner));
    }
    let mut query = select.into_query();
    let i = installment::Entity;
    query
        .inner_join(
            i,
            Condition::all()
                .add(
                    Expr::col((i, installment::Column::TenantId))
                        .equals((contract::Entity, contract::Column::TenantId)),
                )
                .add(Expr::col((i, installment::Column::ContractId)).equals((contract::Entity, contract::Column::Id))),
        )
        .and_where(Expr::col((i, installment::Column::Void)).eq(false))
        .and_where(Expr::col((i, installment::Column::ReceivedE4)).lt(Expr::col((i, installment::Column::AmountE4))));
    if let Some(bucket) = filter.bucket {
        let (from, to) = bucket.due_between(filter.today);
        if let Some(from) = from {
            query.and_where(Expr::col((i, installment::Column::DueOn)).gte(from));
        }
        if let Some(to) = to {
            query.and_where(Expr::col((i, installment::Column::DueOn)).lte(to));
        }
    }
    if let Some(day) = filter.due_by {
        query.and_where(Expr::col((i, installment::Column::DueOn)).lte(day));
    }
    if let Some(department) = filter.department_id {
        query.and_where(
            Expr::col((contract::Entity, contract::Column::OwnerId)).in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(crate::entity::user::Column::Id)
                    .from(crate::entity::user::Entity)
                    .and_where(crate::entity::user::Column::TenantId.eq(tenant.uuid()))
                    .and_where(crate::entity::user::Column::DepartmentId.eq(department))
                    .to_owned(),
            ),
        );
    }
    query
}

/// Which installments the aging report and its drill-down look at.
#[derive(Clone, Debug)]
pub struct OwedFilter {
    pub today: NaiveDate,
    pub customer_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub department_id: Option<Uuid>,
    pub bucket: Option<AgingBucket>,
    /// Only installments due on or before this day.
    pub due_by: Option<NaiveDate>,
}

/// The aging report (账龄): what is owed per group and bucket, in one grouped statement.
pub async fn aging<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OrApprover,
    filter: &OwedFilter,
    group: AgingGroup,
) -> StoreResult<Vec<AgingCell>> {
    let backend = conn.get_database_backend();
    let mut query = owed(backend, tenant, scope, filter);
    let today = filter.today;
    let days = |n: i64| today - chrono::Duration::days(n);
    let bucket_sql = crate::dialect::fragment(
        backend,
        "CASE WHEN \"installments\".\"due_on\" >= ? THEN 'NOT_DUE' WHEN \"installments\".\"due_on\" >= ? THEN 'DAYS_1_30' \
         WHEN \"installments\".\"due_on\" >= ? THEN 'DAYS_31_60' WHEN \"installments\".\"due_on\" >= ? THEN 'DAYS_61_90' \
         ELSE 'OVER_90' END",
    );
    let group_expr = match group {
        AgingGroup::Customer => Expr::col((contract::Entity, contract::Column::CustomerId)),
        AgingGroup::Owner => Expr::col((contract::Entity, contract::Column::OwnerId)),
        AgingGroup::Department => Expr::cust(
            "(SELECT \"u\".\"department_id\" FROM \"users\" \"u\" WHERE \"u\".\"tenant_id\" = \"contracts\".\"tenant_id\" \
             AND \"u\".\"id\" = \"contracts\".\"owner_id\")",
        ),
    };
    let bucket = Expr::cust_with_values(bucket_sql, [today, days(30), days(60), days(90)]);
    query
        .expr_as(group_expr, Alias::new("grp"))
        .expr_as(bucket, Alias::new("bucket"))
        .expr_as(
            Expr::cust(r#"CAST(SUM("installments"."amount_e4" - "installments"."received_e4") AS BIGINT)"#),
            Alias::new("owed"),
        )
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        // By position: PostgreSQL would not match the bucket's bound parameters in a
        // repeated expression.
        .add_group_by([Expr::cust("1"), Expr::cust("2")]);
    let rows = conn.query_all(&query).await?;
    let mut cells = Vec::with_capacity(rows.len());
    for row in rows {
        let bucket: String = row.try_get("", "bucket")?;
        let owed: i64 = row.try_get("", "owed")?;
        cells.push(AgingCell {
            group: row.try_get("", "grp")?,
            bucket: AgingBucket::parse(&bucket)
                .ok_or_else(|| StoreError::rejected("bucket", ErrorCode::Invalid, "unknown bucket"))?,
            outstanding: from_e4(owed),
            installments: row.try_get("", "n")?,
        });
    }
    Ok(cells)
}

/// The installments behind an aging cell (the drill-down), oldest first, at most `limit`.
pub async fn owed_installments<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OrApprover,
    filter: &OwedFilter,
    limit: u64,
) -> StoreResult<Vec<Installment>> {
    let backend = conn.get_database_backend();
    let mut query = owed(backend, tenant, scope, filter);
    let i = installment::Entity;
    query
        .exprs([
            Expr::col((i, installment::Column::TenantId)),
            Expr::col((i, installment::Column::Id)),
            Expr::col((i, installment::Column::ContractId)),
            Expr::col((i, installment::Column::Seq)),
            Expr::col((i, installment::Column::AmountE4)),
            Expr::col((i, installment::Column::DueOn)),
            Expr::col((i, installment::Column::Method)),
            Expr::col((i, installment::Column::RemindDays)),
            Expr::col((i, installment::Column::ReceivedE4)),
            Expr::col((i, installment::Column::Void)),
            Expr::col((i, installment::Column::Note)),
            Expr::col((i, installment::Column::CreatedAt)),
            Expr::col((i, installment::Column::UpdatedAt)),
        ])
        .order_by((i, installment::Column::DueOn), sea_orm::Order::Asc)
        .order_by((i, installment::Column::Id), sea_orm::Order::Asc)
        .limit(limit);
    let models = installment::Entity::find().from_raw_sql(backend.build(&query)).all(conn).await?;
    models.into_iter().map(installment_of).collect()
}

// ---------------------------------------------------------------------------------------
// Reminders

/// A reminder a job writes once per subject, kind and occasion.
#[derive(Clone, Debug)]
pub struct Notice {
    pub id: Uuid,
    pub user_id: UserId,
    pub kind: String,
    pub subject_kind: String,
    pub subject_id: Uuid,
    pub occasion: NaiveDate,
    pub message: String,
    pub created_at: chrono::DateTime<Utc>,
    pub read_at: Option<chrono::DateTime<Utc>>,
}

/// Installment reminders due on `today`, for every tenant: `INSTALLMENT_DUE` for an
/// installment within its reminder lead of its due date, `INSTALLMENT_OVERDUE` for one
/// past it; `CONTRACT_EXPIRING` for an approved contract within the tenant's lead of its
/// end. The unique key (subject, kind, occasion) makes a second run, or a racing replica,
/// write nothing new. Returns how many were written.
pub async fn write_reminders<C: ConnectionTrait>(conn: &C, today: NaiveDate) -> StoreResult<u64> {
    let backend = conn.get_database_backend();
    let sql = "SELECT i.tenant_id, i.id, i.seq, i.due_on, i.remind_days, i.amount_e4, i.received_e4, c.owner_id, c.number \
               FROM installments i JOIN contracts c ON c.tenant_id = i.tenant_id AND c.id = i.contract_id \
               WHERE i.void = ? AND i.received_e4 < i.amount_e4 AND c.status = 'APPROVED' AND c.deleted_at IS NULL \
               AND c.owner_id IS NOT NULL AND i.due_on <= ? AND i.due_on >= ?";
    // Reminder leads are at most a year; overdue reminders look back a year too.
    let horizon = today + chrono::Duration::days(i64::from(guanxi_domain::finance::receivable::MAX_REMIND_DAYS));
    let back = today - chrono::Duration::days(366);
    let rows = conn
        .query_all_raw(crate::dialect::raw_statement(backend, sql, [false.into(), horizon.into(), back.into()]))
        .await?;
    let now = Utc::now();
    let mut due = Vec::new();
    for row in rows {
        let due_on: NaiveDate = row.try_get("", "due_on")?;
        let remind_days: i32 = row.try_get("", "remind_days")?;
        let owner: Uuid = row.try_get("", "owner_id")?;
        let number: String = row.try_get("", "number")?;
        let seq: i32 = row.try_get("", "seq")?;
        let owed = from_e4(row.try_get::<i64>("", "amount_e4")? - row.try_get::<i64>("", "received_e4")?);
        let (kind, message) = if due_on < today {
            ("INSTALLMENT_OVERDUE", format!("合同 {number} 第{seq}期回款已逾期，未收 {}", owed.normalize()))
        } else if due_on - chrono::Duration::days(i64::from(remind_days)) <= today {
            ("INSTALLMENT_DUE", format!("合同 {number} 第{seq}期回款将于 {due_on} 到期，未收 {}", owed.normalize()))
        } else {
            continue;
        };
        due.push(notice_row(
            row.try_get("", "tenant_id")?,
            owner,
            (kind, "Installment"),
            (row.try_get("", "id")?, due_on),
            message,
            now,
        ));
    }
    let sql = "SELECT c.tenant_id, c.id, c.number, c.ends_on, c.owner_id, t.settings FROM contracts c \
               JOIN tenants t ON t.id = c.tenant_id \
               WHERE c.status = 'APPROVED' AND c.deleted_at IS NULL AND c.owner_id IS NOT NULL \
               AND c.ends_on >= ? AND c.ends_on <= ?";
    let rows = conn.query_all_raw(crate::dialect::raw_statement(backend, sql, [today.into(), horizon.into()])).await?;
    for row in rows {
        let tenant: Uuid = row.try_get("", "tenant_id")?;
        let settings: serde_json::Value = row.try_get("", "settings")?;
        let lead = serde_json::from_value::<crate::platform::tenant::TenantSettings>(settings)
            .map(|s| s.contract_expiry_remind_days)
            .unwrap_or(30);
        let ends_on: NaiveDate = row.try_get("", "ends_on")?;
        if ends_on - chrono::Duration::days(i64::from(lead)) > today {
            continue;
        }
        let number: String = row.try_get("", "number")?;
        due.push(notice_row(
            tenant,
            row.try_get("", "owner_id")?,
            ("CONTRACT_EXPIRING", "Contract"),
            (row.try_get("", "id")?, ends_on),
            format!("合同 {number} 将于 {ends_on} 到期"),
            now,
        ));
    }
    due.extend(birthday_notices(conn, today, now).await?);
    insert_notices(conn, due).await
}

/// Birthday reminders (生日提醒): a live contact's owner, `birthday_remind_days` before
/// the birthday, once a year (the occasion is the birthday's date that year). The contacts
/// are found by month and day within the longest lead, so no run reads every contact.
async fn birthday_notices<C: ConnectionTrait>(
    conn: &C,
    today: NaiveDate,
    now: chrono::DateTime<Utc>,
) -> StoreResult<Vec<notice::ActiveModel>> {
    use guanxi_domain::customers::contact::{MAX_BIRTHDAY_LEAD, birthdays_within, next_birthday};
    let backend = conn.get_database_backend();
    let days = birthdays_within(today, MAX_BIRTHDAY_LEAD);
    let marks = vec!["?"; days.len()].join(", ");
    let sql = format!(
        "SELECT c.tenant_id, c.id, c.name, c.birthday, c.owner_id, t.settings FROM contacts c \
         JOIN tenants t ON t.id = c.tenant_id \
         WHERE c.deleted_at IS NULL AND c.owner_id IS NOT NULL AND c.birthday IS NOT NULL AND {} IN ({marks})",
        crate::dialect::month_day_sql(backend, "c.birthday")
    );
    let rows = conn
        .query_all_raw(crate::dialect::raw_statement(backend, &sql, days.into_iter().map(sea_orm::Value::from)))
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let settings: serde_json::Value = row.try_get("", "settings")?;
        let lead = serde_json::from_value::<crate::platform::tenant::TenantSettings>(settings)
            .map(|s| Ord::min(s.birthday_remind_days, MAX_BIRTHDAY_LEAD))
            .unwrap_or(3);
        let birthday: NaiveDate = row.try_get("", "birthday")?;
        let Some(next) = next_birthday(birthday, today) else { continue };
        if next - chrono::Duration::days(i64::from(lead)) > today {
            continue;
        }
        let name: String = row.try_get("", "name")?;
        out.push(notice_row(
            row.try_get("", "tenant_id")?,
            row.try_get("", "owner_id")?,
            ("CONTACT_BIRTHDAY", "Contact"),
            (row.try_get("", "id")?, next),
            format!("联系人 {name} 的生日是 {}", next.format("%m月%d日")),
            now,
        ));
    }
    Ok(out)
}

pub(crate) fn notice_row(
    tenant: Uuid,
    user: Uuid,
    (kind, subject_kind): (&str, &str),
    (subject, occasion): (Uuid, NaiveDate),
    message: String,
    now: chrono::DateTime<Utc>,
) -> notice::ActiveModel {
    notice::ActiveModel {
        tenant_id: Set(tenant),
        id: Set(Uuid::now_v7()),
        user_id: Set(user),
        kind: Set(kind.to_owned()),
        subject_kind: Set(subject_kind.to_owned()),
        subject_id: Set(subject),
        occasion: Set(occasion),
        message: Set(message),
        created_at: Set(now),
        read_at: Set(None),
    }
}

/// Inserts notices, skipping any already written (`ON CONFLICT DO NOTHING`); returns how
/// many are new.
pub async fn insert_notices<C: ConnectionTrait>(conn: &C, rows: Vec<notice::ActiveModel>) -> StoreResult<u64> {
    let once = sea_orm::sea_query::OnConflict::columns([
        notice::Column::TenantId,
        notice::Column::SubjectId,
        notice::Column::Kind,
        notice::Column::Occasion,
    ])
    .do_nothing()
    .to_owned();
    crate::upsert_chunked(conn, rows, Some(once)).await
}

/// A user's notices, newest first.
pub async fn notices_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    user: UserId,
    limit: u64,
) -> StoreResult<Vec<Notice>> {
    let rows = notice::Entity::find()
        .filter(notice::Column::TenantId.eq(tenant.uuid()))
        .filter(notice::Column::UserId.eq(user.uuid()))
        .order_by_desc(notice::Column::Id)
        .limit(limit)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|m| Notice {
            id: m.id,
            user_id: m.user_id.into(),
            kind: m.kind,
            subject_kind: m.subject_kind,
            subject_id: m.subject_id,
            occasion: m.occasion,
            message: m.message,
            created_at: m.created_at,
            read_at: m.read_at,
        })
        .collect())
}
