//! Bulk upsert of receipts by external key (`upsertReceipts`): a finance system's
//! receipts (回款, 收款单) against contracts, set-based as the other kinds' upserts are.
//! One call reads the keys and the receipts they name, the contracts they are paid into
//! and those contracts' plans; it allocates each receipt in memory, in row order, as an
//! approval would (oldest installments first, what is left over an advance where the
//! tenant allows it); then it writes the receipts in one multi-row insert, the
//! installments and the contracts' received amounts in one multi-row write each, the keys
//! and the change events.
//!
//! A receipt is never edited, by the API or by a sync: a stored receipt re-sent as it is
//! is `UNCHANGED`, one sent with other figures is `ILLEGAL_STATE` (reverse it and send the
//! right one under its own key). `REVERSED` with a reason is the red entry (红冲). Where
//! the tenant's receipt approval flow applies to a new receipt it waits for approval as a
//! typed-in one does; that submission is the one per-row step.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use guanxi_domain::approval::flow::{self, DocumentKind, Facts, Flow};
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::entity::{EntityKind, OwnerAndCustomer};
use guanxi_domain::finance::contract::{ContractStatus, check_amount};
use guanxi_domain::finance::receivable::{Installment, PaymentMethod, Receipt, ReceiptStatus, allocate};
use guanxi_domain::ids::{DepartmentId, InstallmentId, TenantId, UserId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::upsert::{Mode, RowResult};
use guanxi_domain::trade::money::{from_e4, to_e4};
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use rust_decimal::Decimal;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait};
use uuid::Uuid;

use super::document_upsert::{self, NewChecks};
use super::receivable::{ENTITY, Receipts, allocations_json, allocations_of, still_owed};
use crate::entity::{contract, installment, receipt as row};
use crate::error::{StoreError, StoreResult};
use crate::finance::approval;
use crate::platform::audit::{self, Author};
use crate::platform::upsert as upsert_kit;
use crate::platform::{external_key, sequence, tenant};
use crate::scope::OrApprover;

/// What a row says of its receipt; a new receipt needs every figure.
#[derive(Clone, Debug, Default)]
pub struct ReceiptPatch {
    pub contract: Option<Uuid>,
    pub received_on: Option<NaiveDate>,
    pub method: Option<PaymentMethod>,
    pub amount: Option<Decimal>,
    /// Who paid, as the bank statement names them.
    pub payer: Option<Option<String>>,
    pub note: Option<Option<String>>,
    /// APPROVED (booked; a new receipt's default) or REVERSED (红冲, with a reason).
    pub status: Option<ReceiptStatus>,
    pub reversed_reason: Option<String>,
}

pub struct UpsertRow {
    pub external_id: String,
    /// What the row says, or the errors of its references and shapes.
    pub patch: Result<ReceiptPatch, Invalid>,
}

/// What the caller may do.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// The receipts the caller writes (their `RECEIVABLE` scope and their customer's).
    pub receipts: OwnerAndCustomer,
    /// The contracts the caller pays money into.
    pub contracts: OwnerAndCustomer,
    /// The caller's department, for the approval flow's conditions.
    pub department: Option<DepartmentId>,
}

/// A receipt submitted to a flow needs a submitter: the calling user, or for an API key
/// the contract's owner.
fn submitter_missing(author_is_user: bool, account: &Account) -> bool {
    !author_is_user && account.model.owner_id.is_none()
}

/// What a receipt's contract keeps besides its received amount: its live installments,
/// oldest first (due date, then number), and what the call's receipts waiting for
/// approval would add once approved (counted against what the contract still owes, not
/// written).
pub(crate) struct Owed {
    plan: Vec<Installment>,
    reserved: Decimal,
}

/// A contract money lands on, as the call leaves it (`figure`: what is received).
pub(crate) type Account = document_upsert::Account<Owed>;

/// What a row does.
pub(crate) enum Plan {
    /// A new receipt, booked and allocated now, or waiting for approval (`flow`).
    Create { fields: New, parts: Vec<(InstallmentId, Decimal)>, advance: Decimal, flow: bool },
    /// A red entry on a stored receipt.
    Reverse { model: Box<row::Model>, before: Box<Receipt>, reason: String },
}

pub(crate) struct New {
    contract: Uuid,
    received_on: NaiveDate,
    method: PaymentMethod,
    amount: Decimal,
    payer: Option<String>,
    note: Option<String>,
}

type Planned = document_upsert::Planned<Plan>;

impl document_upsert::Acts for Plan {
    fn stored_id(&self) -> Option<Uuid> {
        match self {
            Plan::Create { .. } => None,
            Plan::Reverse { model, .. } => Some(model.id),
        }
    }
}

/// What the call read.
pub(crate) struct Reads {
    /// Whether a user calls (an API key submits on behalf of the contract's owner).
    by_user: bool,
    accounts: HashMap<Uuid, Account>,
    flows: Vec<Flow>,
    settings: tenant::TenantSettings,
}

/// Upserts a call's receipts inside the caller's transaction and answers each row.
pub async fn upsert<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rules: Rules,
    (source, mode): (&str, Mode),
    rows: Vec<UpsertRow>,
) -> StoreResult<Vec<RowResult>> {
    let rows = rows.into_iter().map(|r| (r.external_id, r.patch)).collect();
    document_upsert::upsert(conn, author, rules, (source, mode), rows).await
}

impl document_upsert::MoneyUpsert for Rules {
    type Repo = Receipts;
    type Patch = ReceiptPatch;
    type Plan = Plan;
    type Reads = Reads;
    const KIND: EntityKind = ENTITY;
    const LABEL: &'static str = "receipt";

    fn scope(self) -> OrApprover {
        OrApprover { rules: self.receipts, approver: None }
    }

    fn id_of(model: &row::Model) -> Uuid {
        model.id
    }

    /// The call's reads, one statement each: the contracts new receipts are paid into
    /// (through the caller's scope) and those stored receipts' reversals give back to, their
    /// live installments, the receipt flows and the tenant's settings.
    async fn read<C: ConnectionTrait>(
        self,
        conn: &C,
        caller: (TenantId, bool),
        paired: &[upsert_kit::Paired<row::Model, Self::Patch>],
    ) -> StoreResult<Reads> {
        let (rules, (tenant, by_user), named) = (self, caller, paired);
        let rows = named.iter().flatten();
        let paid_into: Vec<Uuid> = rows.clone().filter(|(s, _)| s.is_none()).filter_map(|(_, p)| p.contract).collect();
        let reversed: Vec<Uuid> = rows
            .filter(|(_, p)| p.status == Some(ReceiptStatus::Reversed))
            .filter_map(|(s, _)| s.as_ref().map(|m| m.contract_id))
            .collect();
        let found = document_upsert::contracts_of(conn, tenant, rules.contracts, (paid_into, reversed)).await?;
        let ids: Vec<Uuid> = found.iter().map(|(m, _)| m.id).collect();
        let mut plans = super::receivable::live_plans(conn, tenant, &ids).await?;
        let accounts = document_upsert::accounts(
            found,
            |c| c.received,
            |m| Owed { plan: plans.remove(&m.id).unwrap_or_default(), reserved: Decimal::ZERO },
        )?;
        let flows = approval::flows(conn, tenant, Some(DocumentKind::Receipt)).await?;
        let settings = tenant::settings(conn, tenant).await?;
        Ok(Reads { by_user, accounts, flows, settings })
    }

    /// A row's plan, its money moved in `reads` as the call leaves it.
    fn plan(self, reads: &mut Reads, stored: Option<row::Model>, patch: Self::Patch) -> Result<Planned, Invalid> {
        let rules = self;
        let Some(model) = stored else {
            let (fields, account) = new_receipt(reads, patch)?;
            let facts = Facts {
                amount: fields.amount,
                discount: Decimal::ZERO,
                department: rules.department,
                customer_level: None,
            };
            let flow = flow::select(&reads.flows, DocumentKind::Receipt, &facts).is_some();
            // Refused now what an approval would refuse: the allocation against the plan as
            // the call's earlier rows leave it.
            let allow_advance = reads.settings.allow_advance_receipts;
            let (parts, advance) = allocate(fields.amount, &still_owed(&account.extra.plan), None, allow_advance)?;
            if flow && submitter_missing(reads.by_user, account) {
                let message = "the contract has no owner to submit the receipt for approval: give it one first";
                return Err(Invalid::one("contractId", ErrorCode::IllegalState, message));
            }
            let account = reads.accounts.get_mut(&fields.contract).ok_or_else(Invalid::default)?;
            match flow {
                // Held against what the contract owes: approved at once (every step skipped) it
                // lands after the call's booked receipts, and must still fit.
                true => account.extra.reserved += fields.amount,
                false => shift(account, &parts, fields.amount, Decimal::ONE),
            }
            let plan = Plan::Create { fields, parts, advance, flow };
            return Ok(Planned::new(None, Some(plan)));
        };
        let id = model.id;
        let plan = stored_receipt(model, patch)?;
        if let Some(Plan::Reverse { model, before, .. }) = &plan {
            let parts = allocations_of(model)
                .map_err(|_| Invalid::one("externalId", ErrorCode::Invalid, "unreadable allocations"))?;
            if let Some(account) = reads.accounts.get_mut(&before.contract_id.uuid()) {
                shift(account, &parts, before.amount, -Decimal::ONE);
            }
        }
        Ok(Planned::new(Some(id), plan))
    }

    /// Writes the accepted rows: new receipts numbered from one block of the sequence in one
    /// multi-row insert, reversals in one versioned write, the installments and contracts
    /// their money moved in one multi-row write each, the keys and the change events; then
    /// each receipt a flow applies to is submitted to it.
    async fn write<C: ConnectionTrait>(
        self,
        conn: &C,
        author: &Author,
        call: (&str, &mut Reads),
        results: &[RowResult],
        planned: Vec<Planned>,
    ) -> StoreResult<()> {
        let (rules, (source, reads)) = (self, call);
        let tenant = author.tenant_id;
        let now = Utc::now();
        let today = shanghai_date(now);
        let rule = &reads.settings.receipt_numbering;
        let creates = planned.iter().filter(|p| matches!(p.plan, Some(Plan::Create { .. }))).count();
        let mut numbers = sequence::numbers(conn, tenant, ("receipt", rule), today, creates).await?;
        let (mut inserts, mut keys, mut reversals, mut events, mut submit) = (vec![], vec![], vec![], vec![], vec![]);
        for p in &planned {
            match &p.plan {
                Some(Plan::Create { fields, parts, advance, flow }) => {
                    let number = numbers.next().unwrap_or_default();
                    let Some(account) = reads.accounts.get(&fields.contract) else { continue };
                    let status = if *flow { ReceiptStatus::PendingApproval } else { ReceiptStatus::Approved };
                    let (parts, advance) = if *flow { (&[][..], Decimal::ZERO) } else { (&parts[..], *advance) };
                    inserts.push(row::ActiveModel {
                        tenant_id: Set(tenant.uuid()),
                        id: Set(p.id),
                        number: Set(number.clone()),
                        contract_id: Set(fields.contract),
                        customer_id: Set(account.model.customer_id),
                        owner_id: Set(account.model.owner_id),
                        received_on: Set(fields.received_on),
                        method: Set(fields.method.as_str().to_owned()),
                        amount_e4: Set(to_e4(fields.amount)),
                        advance_e4: Set(to_e4(advance)),
                        payer: Set(fields.payer.clone()),
                        external_id: Set(None),
                        note: Set(fields.note.clone()),
                        status: Set(status.as_str().to_owned()),
                        allocations: Set(allocations_json(parts)),
                        reversed_reason: Set(None),
                        reversed_at: Set(None),
                        created_by: Set(author.user_id),
                        version: Set(1),
                        created_at: Set(now),
                        updated_at: Set(now),
                    });
                    keys.push((results[p.row].external_id.clone(), p.id));
                    let changes = ChangeSet::new()
                        .field("number", (), &number)
                        .field("contractId", (), fields.contract)
                        .field("amount", (), fields.amount)
                        .field("method", (), fields.method.as_str())
                        .field("status", (), status.as_str())
                        .field("allocations", (), parts.len())
                        .field("advance", (), advance);
                    events.push((p.id, Operation::Create, changes));
                    if *flow {
                        submit.push((p.id, fields.amount, account.model.owner_id.map(UserId::from_uuid)));
                    }
                }
                Some(Plan::Reverse { model, before, reason }) => {
                    let changed = row::ActiveModel {
                        status: Set(ReceiptStatus::Reversed.as_str().to_owned()),
                        reversed_reason: Set(Some(reason.clone())),
                        reversed_at: Set(Some(now)),
                        ..Default::default()
                    };
                    let columns = (row::Column::Version, row::Column::UpdatedAt);
                    let stored = row::ActiveModel::from(model.as_ref().clone());
                    reversals.push(upsert_kit::overlay_next(stored, &changed, columns, (model.version, now)));
                    let changes = ChangeSet::new()
                        .field("status", before.status.as_str(), ReceiptStatus::Reversed.as_str())
                        .field("reversedReason", (), reason);
                    events.push((p.id, Operation::Update, changes));
                }
                None => {}
            }
            // The receipts that moved each contract's money, for its change event.
            let moved = match &p.plan {
                Some(Plan::Create { fields, flow: false, .. }) => Some(fields.contract),
                Some(Plan::Reverse { before, .. }) => Some(before.contract_id.uuid()),
                _ => None,
            };
            if let Some(account) = moved.and_then(|c| reads.accounts.get_mut(&c)) {
                account.documents.push(p.id);
            }
        }
        let fixed = |c: &row::Column| {
            !matches!(
                c,
                row::Column::Status
                    | row::Column::ReversedReason
                    | row::Column::ReversedAt
                    | row::Column::Version
                    | row::Column::UpdatedAt
            )
        };
        let columns = (row::Column::TenantId, row::Column::Id, row::Column::Version);
        upsert_kit::write_versioned(conn, reversals, columns, fixed, StoreError::Database).await?;
        crate::insert_chunked(conn, inserts).await?;
        write_accounts(conn, author, reads, now).await?;
        external_key::insert(conn, tenant, ENTITY, source, keys).await?;
        audit::record_many(conn, author, ENTITY, events).await?;
        for (id, outcome) in
            approval::submit_each(conn, author, (DocumentKind::Receipt, rules.department), submit).await?
        {
            super::receivable::follow(conn, author, id, outcome).await?;
        }
        Ok(())
    }
}

/// A new receipt's figures, every one given and checked against its contract.
fn new_receipt(reads: &Reads, patch: ReceiptPatch) -> Result<(New, &Account), Invalid> {
    let undone = "a receipt is reversed once it is stored; leave out one reversed before it was sent";
    let checks = NewChecks {
        label: "receipt",
        required: &[
            ("contractId", patch.contract.is_some()),
            ("receivedOn", patch.received_on.is_some()),
            ("method", patch.method.is_some()),
            ("amount", patch.amount.is_some()),
        ],
        undone: (patch.status == Some(ReceiptStatus::Reversed)).then_some(undone),
        statuses: (&[ContractStatus::Approved], "money is received"),
    };
    let account = document_upsert::new_on(&reads.accounts, patch.contract, checks)?;
    let (Some(contract), Some(received_on), Some(method), Some(amount)) =
        (patch.contract, patch.received_on, patch.method, patch.amount)
    else {
        return Err(Invalid::default());
    };
    let mut invalid = Invalid::default();
    invalid.check(check_amount("amount", amount, account.places));
    let owed = from_e4(account.model.amount_e4) - account.figure - account.extra.reserved;
    if !reads.settings.allow_advance_receipts && amount > owed {
        let message = format!("more than the contract still owes ({}); advances are not allowed", owed.normalize());
        invalid.push(FieldError::new("amount", ErrorCode::Invalid, message));
    }
    let (payer, note) = (patch.payer.flatten(), patch.note.flatten());
    for (field, text, max) in [("payer", &payer, 100), ("note", &note, 500)] {
        if text.as_ref().is_some_and(|t| t.chars().count() > max) {
            invalid.push(FieldError::new(field, ErrorCode::Invalid, format!("at most {max} characters")));
        }
    }
    invalid.into_result()?;
    Ok((New { contract, received_on, method, amount, payer, note }, account))
}

/// A stored receipt: the same figures (nothing to do), a reversal, or a refused edit.
fn stored_receipt(model: row::Model, patch: ReceiptPatch) -> Result<Option<Plan>, Invalid> {
    let before = super::receivable::to_domain(model.clone()).map_err(|_| {
        Invalid::one("externalId", ErrorCode::Invalid, "this externalId names a receipt that cannot be read")
    })?;
    if patch.contract.is_some_and(|c| c != before.contract_id.uuid()) {
        return Err(Invalid::one("contractId", ErrorCode::IllegalState, "a receipt stays with its contract"));
    }
    let edited = [
        ("receivedOn", patch.received_on.is_some_and(|d| d != before.received_on)),
        ("method", patch.method.is_some_and(|m| m != before.method)),
        ("amount", patch.amount.is_some_and(|a| a != before.amount)),
        ("payer", patch.payer.as_ref().is_some_and(|p| *p != before.payer)),
        ("note", patch.note.as_ref().is_some_and(|n| *n != before.note)),
    ];
    if let Some((field, _)) = edited.iter().find(|(_, changed)| *changed) {
        let message = "a receipt is not edited: reverse it (红冲) and send the right one under its own key";
        return Err(Invalid::one(*field, ErrorCode::IllegalState, message));
    }
    match (patch.status, before.status) {
        (None, _) => Ok(None),
        (Some(asked), stored) if asked == stored => Ok(None),
        // Waiting for approval here: the booking the source sends is on its way.
        (Some(ReceiptStatus::Approved), ReceiptStatus::PendingApproval) => Ok(None),
        (Some(ReceiptStatus::Reversed), ReceiptStatus::Approved) => {
            let reason = super::reason_in("reversedReason", patch.reversed_reason.as_deref(), (500, "say why"))?;
            Ok(Some(Plan::Reverse { model: Box::new(model), before: Box::new(before), reason: reason.to_owned() }))
        }
        (Some(asked), stored) => Err(Invalid::one(
            "status",
            ErrorCode::IllegalState,
            format!("a receipt that is {} cannot become {}", stored.label_zh(), asked.label_zh()),
        )),
    }
}

/// Moves an account's received amount and its installments by a receipt's allocation
/// (`sign` 1) or a reversal's (`sign` -1).
fn shift(account: &mut Account, parts: &[(InstallmentId, Decimal)], amount: Decimal, sign: Decimal) {
    for (id, part) in parts {
        if let Some(i) = account.extra.plan.iter_mut().find(|i| i.id == *id) {
            i.received += sign * part;
        }
    }
    account.shift(sign * amount);
}

/// The installments and contracts the call's money moved: one multi-row write each (the
/// contracts versioned, as an approval bumps them), with a change event per contract.
async fn write_accounts<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    reads: &Reads,
    now: chrono::DateTime<Utc>,
) -> StoreResult<()> {
    let tenant = author.tenant_id;
    let moved: Vec<&Account> = reads.accounts.values().filter(|a| !a.documents.is_empty()).collect();
    let installments: Vec<installment::ActiveModel> = moved
        .iter()
        .flat_map(|a| a.extra.plan.iter())
        .map(|i| installment::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            id: Set(i.id.uuid()),
            contract_id: Set(i.contract_id.uuid()),
            seq: Set(i.seq),
            amount_e4: Set(to_e4(i.amount)),
            due_on: Set(i.due_on),
            method: Set(i.method.map(|m| m.as_str().to_owned())),
            remind_days: Set(i32::from(i.remind_days)),
            received_e4: Set(to_e4(i.received)),
            void: Set(i.void),
            note: Set(i.note.clone()),
            created_at: Set(i.created_at),
            updated_at: Set(now),
        })
        .collect();
    let mut on_conflict = OnConflict::columns([installment::Column::TenantId, installment::Column::Id]);
    on_conflict.update_columns([installment::Column::ReceivedE4, installment::Column::UpdatedAt]);
    crate::upsert_chunked(conn, installments, Some(on_conflict)).await?;
    let moved = moved.iter().map(|a| {
        let changes = ChangeSet::new().field("receivedBy", (), a.delta).field("receiptIds", (), &a.documents);
        (&a.model, to_e4(a.figure), changes)
    });
    super::contract::write_amounts(conn, author, contract::Column::ReceivedE4, moved.collect(), now).await?;
    Ok(())
}
