//! Contract revisions (变更): an approved contract is changed by a new revision under
//! the same number, approved again. Until then the contract stays in force; once
//! approved, the revision takes over its receipts and invoices and the old one is
//! SUPERSEDED.

use chrono::Utc;
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::finance::contract::{Contract, ContractAction, ContractFields, ContractStatus};
use guanxi_domain::finance::receivable::InstallmentDraft;
use guanxi_domain::ids::{ContractId, TenantId, UserId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::trade::money::TaxMode;
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::contract::{Contracts, ENTITY, draft_row, insert_plan, installments_of, to_domain};
use crate::entity::{contract, installment};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};
use crate::platform::tenant;
use crate::repo::{self, Scoped};
use crate::scope::OrApprover;
use crate::trade::lines::{self, Parent};

/// Starts the next revision (变更) of a contract in force: a DRAFT with the same number,
/// the next revision, its fields and its plan copied. It is edited and submitted like any
/// draft; once approved it replaces this one, taking over its receipts and invoices.
pub async fn revise<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OrApprover,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<Contract> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Contracts, C>(conn, tenant, scope, id, expected_version).await?;
    before.after(ContractAction::Revise)?;
    if let Some(other) = under_way(conn, tenant, id).await? {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::IllegalState,
            format!("revision {} of this contract is already under way", other.revision),
        ));
    }
    let settings = tenant::settings(conn, tenant).await?;
    let now = Utc::now();
    let new_id = ContractId::new();
    // The external id moves to the revision when it is approved.
    let fields = ContractFields { external_id: None, ..before.fields.clone() };
    // After the highest revision of the number, deleted and void ones included.
    let highest: Option<Option<i32>> = contract::Entity::find()
        .select_only()
        .column_as(contract::Column::Revision.max(), "highest")
        .filter(contract::Column::TenantId.eq(tenant.uuid()))
        .filter(contract::Column::Number.eq(before.number.clone()))
        .into_tuple()
        .one(conn)
        .await?;
    let revision = highest.flatten().unwrap_or(before.revision) + 1;
    let row = draft_row(author, (new_id, &before.number, revision, Some(id)), &fields, before.places, now);
    let model =
        contract::Entity::insert(row).exec_with_returning(conn).await.map_err(|e| {
            match crate::error::on_unique(e, "id", "another revision of this contract was started meanwhile") {
                StoreError::Rejected(mut invalid) => {
                    invalid.0.iter_mut().for_each(|f| f.code = ErrorCode::Conflict);
                    StoreError::Rejected(invalid)
                }
                other => other,
            }
        })?;
    let plan: Vec<InstallmentDraft> = installments_of(conn, tenant, &[id])
        .await?
        .into_iter()
        .filter(|i| !i.void)
        .map(|i| InstallmentDraft {
            amount: i.amount,
            due_on: i.due_on,
            method: i.method,
            remind_days: Some(i.remind_days),
            note: i.note,
        })
        .collect();
    insert_plan(conn, tenant, new_id, &plan, settings.installment_remind_days).await?;
    let products = lines::of_one(conn, tenant, Parent::Contract(id)).await?;
    let (copied, _) = lines::refigured(&products, (Decimal::ZERO, TaxMode::Inclusive, before.places));
    lines::insert(conn, tenant, Parent::Contract(new_id.uuid()), &copied).await?;
    let changes = ChangeSet::new()
        .field("number", (), &before.number)
        .field("revision", (), revision)
        .field("revises", (), id)
        .field("installments", (), plan.len());
    audit::record(conn, author, ENTITY, new_id.uuid(), Operation::Create, &changes).await?;
    to_domain(model)
}

/// The live revision of a contract still being worked on (a draft, waiting for approval,
/// rejected or withdrawn), if there is one.
pub(super) async fn under_way<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Uuid,
) -> StoreResult<Option<Contract>> {
    let open =
        [ContractStatus::Draft, ContractStatus::PendingApproval, ContractStatus::Rejected, ContractStatus::Withdrawn];
    let found = Contracts::live(conn.get_database_backend(), tenant, OrApprover::ALL)
        .filter(contract::Column::RevisesId.eq(id))
        .filter(contract::Column::Status.is_in(open.map(ContractStatus::as_str)))
        .one(conn)
        .await?;
    found.map(to_domain).transpose()
}

/// A revision's amount must cover what the contract it replaces received and invoiced.
pub(super) async fn covers<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    revision: &Contract,
    revised: Uuid,
) -> StoreResult<Contract> {
    let old = repo::any_by_id::<Contracts, C>(conn, tenant, revised).await?.ok_or(StoreError::NotFound)?;
    if old.status != ContractStatus::Approved || old.deleted_at.is_some() {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::IllegalState,
            format!("the revised contract is no longer in force: it is {}", old.status.label_zh()),
        ));
    }
    let allow_advance = tenant::settings(conn, tenant).await?.allow_advance_receipts;
    guanxi_domain::finance::contract::check_revision(
        revision.fields.amount,
        (old.received, old.invoiced),
        allow_advance,
    )?;
    Ok(old)
}

/// An approved revision replaces the contract it revises: its receipts and invoices move
/// over, it is SUPERSEDED and its plan void. Returns the old contract as it was, and how
/// many receipts and invoices moved.
pub(super) async fn take_over<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    revision: &Contract,
    revised: Uuid,
) -> StoreResult<(Contract, u64)> {
    let tenant = author.tenant_id;
    let old = covers(conn, tenant, revision, revised).await?;
    let new_id = revision.id.uuid();
    // The sources' keys (`upsertContracts`) name the contract in force from now on.
    crate::platform::external_key::move_keys(conn, tenant, EntityKind::Contract, (revised, new_id)).await?;
    let owner = revision.fields.owner_id.map(UserId::uuid);
    let moves = (revised, new_id, owner);
    let receipts = {
        use crate::entity::receipt::{Column as R, Entity};
        let columns = DocumentColumns {
            tenant: R::TenantId,
            id: R::Id,
            contract: R::ContractId,
            owner: R::OwnerId,
            version: R::Version,
            updated_at: R::UpdatedAt,
        };
        let moved = move_documents::<Entity, C>(conn, author, EntityKind::Receipt, columns, moves).await?;
        // Allocations asked for the old plan name installments that are now void: a receipt
        // still waiting for approval fills the new plan oldest first instead.
        Entity::update_many()
            .col_expr(R::Allocations, Expr::value(serde_json::json!([])))
            .filter(R::TenantId.eq(tenant.uuid()))
            .filter(R::ContractId.eq(new_id))
            .filter(R::Status.eq(guanxi_domain::finance::receivable::ReceiptStatus::PendingApproval.as_str()))
            .exec(conn)
            .await?;
        moved
    };
    let invoices = {
        use crate::entity::invoice::{Column as I, Entity};
        let columns = DocumentColumns {
            tenant: I::TenantId,
            id: I::Id,
            contract: I::ContractId,
            owner: I::OwnerId,
            version: I::Version,
            updated_at: I::UpdatedAt,
        };
        move_documents::<Entity, C>(conn, author, EntityKind::Invoice, columns, moves).await?
    };
    let now = Utc::now();
    installment::Entity::update_many()
        .col_expr(installment::Column::Void, Expr::value(true))
        .col_expr(installment::Column::UpdatedAt, Expr::value(now))
        .filter(installment::Column::TenantId.eq(tenant.uuid()))
        .filter(installment::Column::ContractId.eq(revised))
        .exec(conn)
        .await?;
    let superseded = ContractStatus::Superseded.as_str();
    let update = contract::Entity::update_many()
        .col_expr(contract::Column::Status, Expr::value(superseded))
        .col_expr(contract::Column::ReceivedE4, Expr::value(0))
        .col_expr(contract::Column::InvoicedE4, Expr::value(0))
        .col_expr(contract::Column::ExternalId, Expr::value(None::<String>));
    repo::write_versioned::<Contracts, C>(conn, tenant, revised, old.version, update).await?;
    let moved = receipts + invoices;
    let changes = ChangeSet::new()
        .field("status", old.status.as_str(), superseded)
        .field("supersededBy", (), new_id)
        .field("moved", (), moved);
    audit::record(conn, author, ENTITY, revised, Operation::Update, &changes).await?;
    Ok((old, moved))
}

/// The columns of a document a contract carries that a revision's take-over writes.
struct DocumentColumns<Col> {
    tenant: Col,
    id: Col,
    contract: Col,
    owner: Col,
    version: Col,
    updated_at: Col,
}

/// Moves a contract's documents of one kind (receipts, invoice requests) to the revision
/// that replaces it, handing them to its owner, each a versioned change with its event;
/// `(from, to, owner)`.
async fn move_documents<E: EntityTrait, C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    kind: EntityKind,
    columns: DocumentColumns<E::Column>,
    (from, to, owner): (Uuid, Uuid, Option<Uuid>),
) -> StoreResult<u64> {
    let DocumentColumns { tenant, id, contract, owner: owner_column, version, updated_at } = columns;
    let t = author.tenant_id.uuid();
    let ids: Vec<Uuid> = E::find()
        .select_only()
        .column(id)
        .filter(tenant.eq(t))
        .filter(contract.eq(from))
        .into_tuple()
        .all(conn)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    E::update_many()
        .col_expr(contract, Expr::value(to))
        .col_expr(owner_column, Expr::value(owner))
        .col_expr(version, Expr::col(version).add(1))
        .col_expr(updated_at, Expr::value(Utc::now()))
        .filter(tenant.eq(t))
        .filter(contract.eq(from))
        .exec(conn)
        .await?;
    let events = ids
        .iter()
        .map(|id| (*id, Operation::Update, ChangeSet::new().field("contractId", from, to).field("ownerId", (), owner)))
        .collect();
    audit::record_many(conn, author, kind, events).await?;
    Ok(ids.len() as u64)
}
