//! Contracts (合同) and their installment plans. A contract is visible when its owner is
//! within the caller's `CONTRACT` scope and its customer within the `CUSTOMER` scope, or
//! while it waits on the caller's approval. The plan is written with the contract while
//! the contract may be edited; submitting checks that it adds up to the amount.

use chrono::{NaiveDate, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::approval::engine::RequestStatus;
use guanxi_domain::approval::flow::{DocumentKind, Facts};
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::entity::{EntityKind, OwnerAndCustomer};
use guanxi_domain::finance::contract::{
    Contract, ContractAction, ContractFields, ContractStatus, after_approval, check_amount,
};
use guanxi_domain::finance::receivable::{self, Installment, InstallmentDraft, PaymentMethod};
use guanxi_domain::ids::{ContractId, InstallmentId, TenantId, UserId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::trade::money::{Places, TaxMode, from_e4, to_e4};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{contract, installment};
use crate::error::{StoreError, StoreResult};
use crate::filter::{IdFilter, TimeFilter};
use crate::finance::approval::{self, Submission};
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::platform::{sequence, tenant};
use crate::repo::{self, Scoped};
use crate::scope::OrApprover;
use crate::trade::document::{LinkScopes, Linked};
use crate::trade::lines::{self, LineInput, Parent};

pub const ENTITY: EntityKind = EntityKind::Contract;

pub fn to_domain(m: contract::Model) -> StoreResult<Contract> {
    let cell = |column| Cell::of("contracts", m.id, column);
    let places = u32::try_from(m.places).ok().and_then(|p| Places::try_from(p).ok());
    Ok(Contract {
        id: m.id.into(),
        number: m.number,
        revision: m.revision,
        revises_id: m.revises_id.map(Into::into),
        fields: ContractFields {
            title: m.title,
            customer_id: m.customer_id.into(),
            contact_id: m.contact_id.map(Into::into),
            opportunity_id: m.opportunity_id.map(Into::into),
            quote_id: m.quote_id.map(Into::into),
            order_id: m.order_id.map(Into::into),
            owner_id: m.owner_id.map(Into::into),
            signer_id: m.signer_id.map(Into::into),
            signed_on: m.signed_on,
            starts_on: m.starts_on,
            ends_on: m.ends_on,
            amount: from_e4(m.amount_e4),
            payment_terms: m.payment_terms,
            attachments: cell("attachments").json(m.attachments)?,
            external_id: m.external_id,
            notes: m.notes,
        },
        places: cell("places").check(places.ok_or("places out of range"))?,
        status: cell("status").text(&m.status, ContractStatus::parse)?,
        received: from_e4(m.received_e4),
        invoiced: from_e4(m.invoiced_e4),
        void_reason: m.void_reason,
        approved_at: m.approved_at,
        completed_at: m.completed_at,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Contracts, read through their own `CONTRACT` scope and their customer's, or as the
/// approver they wait on.
pub struct Contracts;

crate::finance::or_approver_scoped!(Contracts, contract, Contract, Some(contract::Column::DeletedAt));
repo::versioned!(Contracts, contract);
repo::recyclable!(Contracts, contract, ENTITY);
repo::scoped_reads!(Contracts);

#[derive(Clone, Debug, Default)]
pub struct ContractFilter {
    /// A part of the number or the title.
    pub text: Option<String>,
    pub customer_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    /// As readers see them: `EXPIRED` is an approved contract past its end date.
    pub status: Option<Vec<ContractStatus>>,
    /// Ends on or before this day (contracts about to expire).
    pub ends_by: Option<NaiveDate>,
    pub created_at: Option<TimeFilter>,
    pub external_id: Option<String>,
    /// Approved (signed into force) in this window.
    pub approved_at: Option<TimeFilter>,
    /// In force or completed: approved at some time and not void.
    pub in_force: bool,
    pub deleted: Option<bool>,
}

/// The stored statuses of a contract that took effect and still counts.
const IN_FORCE: [ContractStatus; 2] = [ContractStatus::Approved, ContractStatus::Completed];

impl ContractFilter {
    fn condition(&self) -> Condition {
        let mut all = Condition::all();
        if let Some(text) = self.text.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            let contains = crate::filter::TextFilter { contains: Some(text.to_owned()), ..Default::default() };
            all = all.add(
                Condition::any()
                    .add(contains.condition(contract::Column::Number))
                    .add(contains.condition(contract::Column::Title)),
            );
        }
        if let Some(f) = &self.customer_id {
            all = all.add(f.condition(contract::Column::CustomerId));
        }
        if let Some(f) = &self.owner_id {
            all = all.add(f.condition(contract::Column::OwnerId));
        }
        if let Some(statuses) = &self.status {
            let today = shanghai_date(Utc::now());
            let approved = ContractStatus::Approved.as_str();
            let mut any = Condition::any();
            for status in statuses {
                any = any.add(match status {
                    ContractStatus::Expired => Condition::all()
                        .add(contract::Column::Status.eq(approved))
                        .add(contract::Column::EndsOn.lt(today)),
                    ContractStatus::Approved => Condition::all().add(contract::Column::Status.eq(approved)).add(
                        Condition::any()
                            .add(contract::Column::EndsOn.is_null())
                            .add(contract::Column::EndsOn.gte(today)),
                    ),
                    other => Condition::all().add(contract::Column::Status.eq(other.as_str())),
                });
            }
            all = all.add(any);
        }
        if let Some(day) = self.ends_by {
            all = all.add(contract::Column::EndsOn.lte(day));
        }
        if let Some(f) = &self.created_at {
            all = all.add(f.condition(contract::Column::CreatedAt));
        }
        if let Some(external) = &self.external_id {
            all = all.add(contract::Column::ExternalId.eq(external.as_str()));
        }
        if let Some(f) = &self.approved_at {
            all = all.add(f.condition(contract::Column::ApprovedAt));
        }
        if self.in_force {
            all = all.add(contract::Column::Status.is_in(IN_FORCE.map(ContractStatus::as_str)));
        }
        all
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContractSort {
    UpdatedAt,
    CreatedAt,
    Amount,
}

pub fn sort_name(sort: ContractSort) -> &'static str {
    match sort {
        ContractSort::UpdatedAt => "UPDATED_AT",
        ContractSort::CreatedAt => "CREATED_AT",
        ContractSort::Amount => "AMOUNT",
    }
}

impl repo::Listed for Contracts {
    type Filter = ContractFilter;
    type Order = (ContractSort, Direction);

    fn matching(
        backend: DbBackend,
        tenant: TenantId,
        scope: OrApprover,
        filter: &ContractFilter,
    ) -> Select<contract::Entity> {
        repo::in_bin::<Self>(backend, tenant, scope, filter.deleted).filter(filter.condition())
    }

    fn sort_key((sort, direction): Self::Order) -> SortKey<contract::Entity> {
        type M = contract::Model;
        let name = sort_name(sort);
        match sort {
            ContractSort::UpdatedAt => SortKey {
                name,
                column: contract::Column::UpdatedAt,
                direction,
                value: |m: &M| CursorValue::Time(m.updated_at),
            },
            ContractSort::CreatedAt => SortKey {
                name,
                column: contract::Column::CreatedAt,
                direction,
                value: |m: &M| CursorValue::Time(m.created_at),
            },
            ContractSort::Amount => SortKey {
                name,
                column: contract::Column::AmountE4,
                direction,
                value: |m: &M| CursorValue::Int(m.amount_e4),
            },
        }
    }

    fn id_of(model: &contract::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Contracts);

/// The scopes the links of a contract are checked with.
#[derive(Clone, Copy, Debug)]
pub struct ContractLinks {
    pub links: LinkScopes,
    pub quotes: OwnerAndCustomer,
    pub orders: OwnerAndCustomer,
}

impl ContractLinks {
    pub const ALL: Self = Self { links: LinkScopes::ALL, quotes: OwnerAndCustomer::ALL, orders: OwnerAndCustomer::ALL };
}

/// The customer, contact, deal and owner are checked as on quotes; the quote and the order,
/// when given, are the customer's and visible to the writer; our signer is a user.
async fn check_links<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (scope, links): (OrApprover, ContractLinks),
    fields: &ContractFields,
) -> StoreResult<()> {
    let linked = Linked {
        customer_id: fields.customer_id,
        contact_id: fields.contact_id,
        opportunity_id: fields.opportunity_id,
        owner_id: fields.owner_id,
    };
    crate::trade::document::check_links(conn, tenant, (scope.rules.customer, links.links), &linked).await?;
    if let Some(quote) = fields.quote_id {
        let found = crate::trade::quote::find(conn, tenant, links.quotes, quote.uuid()).await?;
        if found.is_none_or(|q| q.deleted_at.is_some() || q.header.customer_id != fields.customer_id) {
            return Err(StoreError::rejected("quoteId", ErrorCode::NotFound, "no such quote of the customer"));
        }
    }
    if let Some(order) = fields.order_id {
        let found = crate::trade::order::find(conn, tenant, links.orders, order.uuid()).await?;
        if found.is_none_or(|o| o.deleted_at.is_some() || o.header.customer_id != fields.customer_id) {
            return Err(StoreError::rejected("orderId", ErrorCode::NotFound, "no such sales order of the customer"));
        }
    }
    if let Some(signer) = fields.signer_id {
        crate::sales::opportunity::check_owner(conn, tenant, signer)
            .await
            .map_err(|_| StoreError::rejected("signerId", ErrorCode::NotFound, "no such active user"))?;
    }
    Ok(())
}

/// What a new contract needs.
pub struct NewContract {
    pub fields: ContractFields,
    pub plan: Vec<InstallmentDraft>,
    pub links: ContractLinks,
}

/// Opens a contract in DRAFT on a customer the caller may see, with its plan.
pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OrApprover,
    new: NewContract,
) -> StoreResult<Contract> {
    let tenant = author.tenant_id;
    let settings = tenant::settings(conn, tenant).await?;
    let places = settings.decimal_places.contract;
    check_all(&new.fields, &new.plan, places)?;
    check_links(conn, tenant, (scope, new.links), &new.fields).await?;
    let today = shanghai_date(Utc::now());
    let rule = settings.contract_numbering;
    let n = sequence::next(conn, tenant, "contract", &rule.period(today)).await?;
    let number = rule.format(today, n);
    let now = Utc::now();
    let id = ContractId::new();
    let f = &new.fields;
    let model = contract::Entity::insert(draft_row(author, (id, &number, 1, None), f, places, now))
        .exec_with_returning(conn)
        .await
        .map_err(|e| crate::error::on_unique(e, "externalId", "another contract has this external id"))?;
    insert_plan(conn, tenant, id, &new.plan, settings.installment_remind_days).await?;
    attach(conn, author, &f.attachments, id.uuid()).await?;
    let changes = ChangeSet::new()
        .field("number", (), &number)
        .field("customerId", (), f.customer_id)
        .field("amount", (), f.amount)
        .field("installments", (), new.plan.len());
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    to_domain(model)
}

/// A new contract row in DRAFT: `(id, number, revision, revises)`.
pub(super) fn draft_row(
    author: &Author,
    (id, number, revision, revises): (ContractId, &str, i32, Option<Uuid>),
    f: &ContractFields,
    places: Places,
    now: chrono::DateTime<Utc>,
) -> contract::ActiveModel {
    contract::ActiveModel {
        tenant_id: Set(author.tenant_id.uuid()),
        id: Set(id.uuid()),
        number: Set(number.to_owned()),
        revision: Set(revision),
        revises_id: Set(revises),
        title: Set(f.title.trim().to_owned()),
        customer_id: Set(f.customer_id.uuid()),
        contact_id: Set(f.contact_id.map(|c| c.uuid())),
        opportunity_id: Set(f.opportunity_id.map(|o| o.uuid())),
        quote_id: Set(f.quote_id.map(|q| q.uuid())),
        order_id: Set(f.order_id.map(|o| o.uuid())),
        owner_id: Set(f.owner_id.map(UserId::uuid)),
        signer_id: Set(f.signer_id.map(UserId::uuid)),
        signed_on: Set(f.signed_on),
        starts_on: Set(f.starts_on),
        ends_on: Set(f.ends_on),
        amount_e4: Set(to_e4(f.amount)),
        places: Set(i32::try_from(places.get()).unwrap_or(2)),
        received_e4: Set(0),
        invoiced_e4: Set(0),
        payment_terms: Set(f.payment_terms.clone()),
        attachments: Set(serde_json::json!(f.attachments)),
        external_id: Set(f.external_id.clone()),
        notes: Set(f.notes.clone()),
        status: Set(ContractStatus::Draft.as_str().to_owned()),
        void_reason: Set(None),
        approved_at: Set(None),
        effective_at: Set(None),
        voided_at: Set(None),
        completed_at: Set(None),
        created_by: Set(author.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    }
}

/// Attaches the writer's own new uploads to the contract (`NOT_FOUND` on `attachmentIds`
/// for anything else).
async fn attach<C: ConnectionTrait>(conn: &C, author: &Author, uploads: &[Uuid], contract: Uuid) -> StoreResult<()> {
    if uploads.is_empty() {
        return Ok(());
    }
    let owner = author.user_id.map(UserId::from_uuid).ok_or_else(|| {
        StoreError::rejected("attachmentIds", ErrorCode::NotFound, "attachments are uploaded by a user")
    })?;
    crate::activity::field::attach(conn, author.tenant_id, owner, (uploads, "attachmentIds"), ENTITY.name(), contract)
        .await
}

fn check_all(fields: &ContractFields, plan: &[InstallmentDraft], places: Places) -> StoreResult<()> {
    let mut invalid = guanxi_domain::Invalid::default();
    if let Err(e) = fields.check(places) {
        invalid.0.extend(e.0);
    }
    if let Err(e) = receivable::check_plan(plan, fields.signed_on, places) {
        invalid.0.extend(e.0);
    }
    Ok(invalid.into_result()?)
}

pub(super) async fn insert_plan<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    contract: ContractId,
    plan: &[InstallmentDraft],
    default_remind: u16,
) -> StoreResult<()> {
    insert_plans(conn, tenant, &[(contract, plan)], default_remind).await
}

/// The plans of any number of contracts, in multi-row inserts.
pub(super) async fn insert_plans<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    plans: &[(ContractId, &[InstallmentDraft])],
    default_remind: u16,
) -> StoreResult<()> {
    let now = Utc::now();
    let rows: Vec<installment::ActiveModel> = plans
        .iter()
        .flat_map(|(contract, plan)| plan.iter().enumerate().map(move |(i, d)| (*contract, i, d)))
        .map(|(contract, i, d)| installment::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            id: Set(InstallmentId::new().uuid()),
            contract_id: Set(contract.uuid()),
            seq: Set(i32::try_from(i + 1).unwrap_or(i32::MAX)),
            amount_e4: Set(to_e4(d.amount)),
            due_on: Set(d.due_on),
            method: Set(d.method.map(|m| m.as_str().to_owned())),
            remind_days: Set(i32::from(d.remind_days.unwrap_or(default_remind))),
            received_e4: Set(0),
            void: Set(false),
            note: Set(d.note.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .collect();
    crate::insert_chunked(conn, rows).await?;
    Ok(())
}

pub fn installment_of(m: installment::Model) -> StoreResult<Installment> {
    let cell = |column| Cell::of("installments", m.id, column);
    Ok(Installment {
        id: m.id.into(),
        contract_id: m.contract_id.into(),
        seq: m.seq,
        amount: from_e4(m.amount_e4),
        due_on: m.due_on,
        method: cell("method").optional_text(m.method.as_deref(), PaymentMethod::parse)?,
        remind_days: cell("remind_days").check(u16::try_from(m.remind_days))?,
        received: from_e4(m.received_e4),
        void: m.void,
        note: m.note,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// The installments of any number of contracts (which the caller has already read
/// through their scope), in plan order.
pub async fn installments_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    contracts: &[Uuid],
) -> StoreResult<Vec<Installment>> {
    if contracts.is_empty() {
        return Ok(vec![]);
    }
    let rows = installment::Entity::find()
        .filter(installment::Column::TenantId.eq(tenant.uuid()))
        .filter(installment::Column::ContractId.is_in(contracts.to_vec()))
        .order_by_asc(installment::Column::ContractId)
        .order_by_asc(installment::Column::Seq)
        .all(conn)
        .await?;
    rows.into_iter().map(installment_of).collect()
}

/// What an edit sets: every field as it should be (the customer stays), and the plan
/// when given.
pub struct ContractEdit {
    pub fields: ContractFields,
    pub plan: Option<Vec<InstallmentDraft>>,
    pub links: ContractLinks,
}

/// Edits a contract in DRAFT, REJECTED or WITHDRAWN, with its plan.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OrApprover,
    (id, expected_version): (Uuid, i32),
    edit: ContractEdit,
) -> StoreResult<Contract> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Contracts, C>(conn, tenant, scope, id, expected_version).await?;
    before.after(ContractAction::Edit)?;
    let mut fields = edit.fields;
    fields.customer_id = before.fields.customer_id;
    fields.owner_id = fields.owner_id.or(before.fields.owner_id);
    let settings = tenant::settings(conn, tenant).await?;
    check_all(&fields, edit.plan.as_deref().unwrap_or_default(), before.places)?;
    if fields.amount != before.fields.amount && !lines::of_one(conn, tenant, Parent::Contract(id)).await?.is_empty() {
        return Err(StoreError::rejected(
            "amount",
            ErrorCode::Invalid,
            "the contract's amount is its lines' total: change the lines instead",
        ));
    }
    check_links(conn, tenant, (scope, edit.links), &fields).await?;
    let f = &fields;
    let update = contract::Entity::update_many()
        .col_expr(contract::Column::Title, Expr::value(f.title.trim()))
        .col_expr(contract::Column::ContactId, Expr::value(f.contact_id.map(|c| c.uuid())))
        .col_expr(contract::Column::OpportunityId, Expr::value(f.opportunity_id.map(|o| o.uuid())))
        .col_expr(contract::Column::QuoteId, Expr::value(f.quote_id.map(|q| q.uuid())))
        .col_expr(contract::Column::OrderId, Expr::value(f.order_id.map(|o| o.uuid())))
        .col_expr(contract::Column::OwnerId, Expr::value(f.owner_id.map(UserId::uuid)))
        .col_expr(contract::Column::SignerId, Expr::value(f.signer_id.map(UserId::uuid)))
        .col_expr(contract::Column::SignedOn, Expr::value(f.signed_on))
        .col_expr(contract::Column::StartsOn, Expr::value(f.starts_on))
        .col_expr(contract::Column::EndsOn, Expr::value(f.ends_on))
        .col_expr(contract::Column::AmountE4, Expr::value(to_e4(f.amount)))
        .col_expr(contract::Column::PaymentTerms, Expr::value(f.payment_terms.clone()))
        .col_expr(contract::Column::Attachments, Expr::value(serde_json::json!(f.attachments)))
        .col_expr(contract::Column::ExternalId, Expr::value(f.external_id.clone()))
        .col_expr(contract::Column::Notes, Expr::value(f.notes.clone()));
    let after = repo::write_versioned_or::<Contracts, C>(conn, tenant, id, expected_version, update, |e| {
        crate::error::on_unique(e, "externalId", "another contract has this external id")
    })
    .await?;
    let added: Vec<Uuid> =
        after.fields.attachments.iter().filter(|a| !before.fields.attachments.contains(a)).copied().collect();
    attach(conn, author, &added, id).await?;
    let mut changes = described_changes(&before.fields, &after.fields);
    if let Some(plan) = &edit.plan {
        installment::Entity::delete_many()
            .filter(installment::Column::TenantId.eq(tenant.uuid()))
            .filter(installment::Column::ContractId.eq(id))
            .exec(conn)
            .await?;
        insert_plan(conn, tenant, after.id, plan, settings.installment_remind_days).await?;
        changes = changes.field("installments", (), plan.len());
    }
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

pub(super) fn described_changes(before: &ContractFields, after: &ContractFields) -> ChangeSet {
    ChangeSet::new()
        .field("title", &before.title, &after.title)
        .field("amount", before.amount, after.amount)
        .field("ownerId", before.owner_id, after.owner_id)
        .field("contactId", before.contact_id, after.contact_id)
        .field("signedOn", before.signed_on, after.signed_on)
        .field("startsOn", before.starts_on, after.starts_on)
        .field("endsOn", before.ends_on, after.ends_on)
        .field("externalId", &before.external_id, &after.external_id)
}

/// Submits a contract for approval: the plan must add up to the amount. With no flow (or
/// every step skipped) it is approved at once.
pub async fn submit<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OrApprover,
    (id, expected_version): (Uuid, i32),
    department: Option<guanxi_domain::ids::DepartmentId>,
) -> StoreResult<Contract> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Contracts, C>(conn, tenant, scope, id, expected_version).await?;
    before.after(ContractAction::Submit)?;
    let plan = installments_of(conn, tenant, &[id]).await?;
    receivable::check_sum(plan.iter().filter(|i| !i.void).map(|i| i.amount), before.fields.amount)?;
    if let Some(revised) = before.revises_id {
        super::revision::covers(conn, tenant, &before, revised.uuid()).await?;
    }
    let customer = crate::customers::customer::find(
        conn,
        tenant,
        guanxi_domain::platform::access::CustomerRule::ALL,
        before.fields.customer_id.uuid(),
    )
    .await?;
    let facts = Facts {
        amount: before.fields.amount,
        discount: Decimal::ZERO,
        department,
        customer_level: customer.and_then(|c| c.fields.level),
    };
    let request = approval::submit(
        conn,
        author,
        Submission { kind: DocumentKind::Contract, document_id: id, facts, owner_id: before.fields.owner_id },
    )
    .await?;
    let pending = repo::write_versioned::<Contracts, C>(
        conn,
        tenant,
        id,
        expected_version,
        contract::Entity::update_many()
            .col_expr(contract::Column::Status, Expr::value(ContractStatus::PendingApproval.as_str())),
    )
    .await?;
    let changes = ChangeSet::new().field("status", before.status.as_str(), ContractStatus::PendingApproval.as_str());
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    if request.status == RequestStatus::Pending {
        return Ok(pending);
    }
    follow(conn, author, id, request.status).await
}

/// Brings a contract to the status its approval reached; an approved contract makes its
/// customer WON (成交).
pub async fn follow<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    outcome: RequestStatus,
) -> StoreResult<Contract> {
    let tenant = author.tenant_id;
    let before = repo::any_by_id::<Contracts, C>(conn, tenant, id).await?.ok_or(StoreError::NotFound)?;
    let status = after_approval(outcome);
    if status == before.status {
        return Ok(before);
    }
    let now = Utc::now();
    let mut update = contract::Entity::update_many().col_expr(contract::Column::Status, Expr::value(status.as_str()));
    if status == ContractStatus::Approved {
        update = update.col_expr(contract::Column::EffectiveAt, Expr::value(now));
    }
    let mut changes = ChangeSet::new().field("status", before.status.as_str(), status.as_str());
    // An approved revision takes over the contract it revises.
    let revised = before.revises_id.filter(|_| status == ContractStatus::Approved);
    if let Some(revised) = revised {
        let (taken, moved) = super::revision::take_over(conn, author, &before, revised.uuid()).await?;
        changes = changes.field("revises", (), revised).field("moved", (), moved);
        // In force since the revised contract was: the work log counts a contract once.
        update = update
            .col_expr(contract::Column::ApprovedAt, Expr::value(taken.approved_at))
            .col_expr(contract::Column::ReceivedE4, Expr::value(to_e4(taken.received)))
            .col_expr(contract::Column::InvoicedE4, Expr::value(to_e4(taken.invoiced)));
        if before.fields.external_id.is_none() {
            update = update.col_expr(contract::Column::ExternalId, Expr::value(taken.fields.external_id));
        }
    } else if status == ContractStatus::Approved {
        update = update.col_expr(contract::Column::ApprovedAt, Expr::value(now));
    }
    let after = repo::write_versioned::<Contracts, C>(conn, tenant, id, before.version, update).await?;
    if revised.is_some() {
        crate::finance::receivable::reallocate(conn, tenant, id).await?;
    }
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    if status == ContractStatus::Approved {
        crate::trade::order::mark_customer_won(conn, author, after.fields.customer_id, now).await?;
    }
    Ok(after)
}

/// What keeps each of some contracts in force from being completed or voided: a revision
/// under way, or receipts waiting for approval. Two statements for any number.
pub(super) async fn held_open<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    ids: &[Uuid],
) -> StoreResult<std::collections::HashMap<Uuid, String>> {
    let mut held = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(held);
    }
    let open =
        [ContractStatus::Draft, ContractStatus::PendingApproval, ContractStatus::Rejected, ContractStatus::Withdrawn];
    let revisions: Vec<(Option<Uuid>, i32)> = Contracts::live(conn.get_database_backend(), tenant, OrApprover::ALL)
        .select_only()
        .column(contract::Column::RevisesId)
        .column(contract::Column::Revision)
        .filter(contract::Column::RevisesId.is_in(ids.to_vec()))
        .filter(contract::Column::Status.is_in(open.map(ContractStatus::as_str)))
        .into_tuple()
        .all(conn)
        .await?;
    for (revised, revision) in revisions {
        if let Some(revised) = revised {
            let why = format!("revision {revision} of this contract is under way: decide or delete it first");
            held.insert(revised, why);
        }
    }
    let waiting: Vec<(Uuid, i64)> = crate::entity::receipt::Entity::find()
        .select_only()
        .column(crate::entity::receipt::Column::ContractId)
        .column_as(Expr::col(crate::entity::receipt::Column::Id).count(), "n")
        .filter(crate::entity::receipt::Column::TenantId.eq(tenant.uuid()))
        .filter(crate::entity::receipt::Column::ContractId.is_in(ids.to_vec()))
        .filter(
            crate::entity::receipt::Column::Status
                .eq(guanxi_domain::finance::receivable::ReceiptStatus::PendingApproval.as_str()),
        )
        .group_by(crate::entity::receipt::Column::ContractId)
        .into_tuple()
        .all(conn)
        .await?;
    for (contract, n) in waiting {
        held.entry(contract)
            .or_insert_with(|| format!("{n} receipt(s) of this contract wait for approval: decide them first"));
    }
    Ok(held)
}

/// Completes an approved contract, or voids one with a reason.
pub async fn close<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OrApprover,
    (id, expected_version): (Uuid, i32),
    (action, reason): (ContractAction, Option<String>),
) -> StoreResult<Contract> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Contracts, C>(conn, tenant, scope, id, expected_version).await?;
    let status = before.after(action)?;
    if let Some(why) = held_open(conn, tenant, &[id]).await?.remove(&id) {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, why));
    }
    let now = Utc::now();
    let mut update = contract::Entity::update_many().col_expr(contract::Column::Status, Expr::value(status.as_str()));
    let mut changes = ChangeSet::new().field("status", before.status.as_str(), status.as_str());
    match action {
        ContractAction::Void => {
            let reason = reason
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .ok_or_else(|| StoreError::rejected("reason", ErrorCode::Required, "say why the contract is void"))?;
            if before.received > Decimal::ZERO {
                return Err(StoreError::rejected(
                    "id",
                    ErrorCode::IllegalState,
                    "money was received on this contract: reverse its receipts first",
                ));
            }
            if before.invoiced > Decimal::ZERO {
                return Err(StoreError::rejected(
                    "id",
                    ErrorCode::IllegalState,
                    "invoices were requested on this contract: void them first",
                ));
            }
            changes = changes.field("voidReason", (), &reason);
            update = update.col_expr(contract::Column::VoidReason, Expr::value(reason));
            if before.status == ContractStatus::Approved {
                // A contract in force is voided: commissions paid on it are clawed back.
                update = update.col_expr(contract::Column::VoidedAt, Expr::value(now));
            }
            installment::Entity::update_many()
                .col_expr(installment::Column::Void, Expr::value(true))
                .col_expr(installment::Column::UpdatedAt, Expr::value(now))
                .filter(installment::Column::TenantId.eq(tenant.uuid()))
                .filter(installment::Column::ContractId.eq(id))
                .exec(conn)
                .await?;
        }
        _ => update = update.col_expr(contract::Column::CompletedAt, Expr::value(now)),
    }
    let after = repo::write_versioned::<Contracts, C>(conn, tenant, id, expected_version, update).await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Replaces the product lines (as on quotes) of a contract that may still be edited,
/// priced for its customer today; with lines its amount becomes their total, tax
/// included, and the plan must add up to it when the contract is submitted.
pub async fn set_lines<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OrApprover,
    (id, expected_version): (Uuid, i32),
    inputs: &[LineInput],
) -> StoreResult<Contract> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Contracts, C>(conn, tenant, scope, id, expected_version).await?;
    before.after(ContractAction::Edit)?;
    let customer = before.fields.customer_id;
    let level = crate::customers::customer::find(conn, tenant, scope.rules.customer, customer.uuid())
        .await?
        .and_then(|c| c.fields.level);
    let settings = tenant::settings(conn, tenant).await?;
    let today = shanghai_date(Utc::now());
    let places = (today, settings.decimal_places.product);
    let drafts = lines::price_lines(conn, tenant, (customer, level.as_deref()), inputs, places).await?;
    let (written, totals) = lines::figured(drafts, (Decimal::ZERO, TaxMode::Inclusive, before.places));
    let amount = if written.is_empty() { before.fields.amount } else { totals.gross };
    check_amount("lines", amount, before.places)?;
    lines::replace(conn, tenant, Parent::Contract(id), &written).await?;
    let update = contract::Entity::update_many().col_expr(contract::Column::AmountE4, Expr::value(to_e4(amount)));
    let after = repo::write_versioned::<Contracts, C>(conn, tenant, id, expected_version, update).await?;
    let changes =
        ChangeSet::new().field("lines", (), written.len()).field("amount", before.fields.amount, after.fields.amount);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Moves a contract that never took effect to the recycle bin.
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OrApprover,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<Contract> {
    let before = repo::live_current::<Contracts, C>(conn, author.tenant_id, scope, id, expected_version).await?;
    before.after(ContractAction::Delete)?;
    repo::mark_deleted::<Contracts, C>(conn, author, id, expected_version).await
}

/// The contracts of some customers the caller may see (the 360 view), newest first.
pub async fn of_customers<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OrApprover,
    customers: &[Uuid],
) -> StoreResult<Vec<Contract>> {
    if customers.is_empty() {
        return Ok(vec![]);
    }
    let rows = Contracts::live(conn.get_database_backend(), tenant, scope)
        .filter(contract::Column::CustomerId.is_in(customers.to_vec()))
        .order_by_desc(contract::Column::Id)
        .all(conn)
        .await?;
    rows.into_iter().map(to_domain).collect()
}

/// A customer's contract money on the 360 view.
#[derive(Clone, Copy, Debug, Default)]
pub struct Figures {
    /// Contracts in force or completed.
    pub count: u64,
    pub signed: Decimal,
    pub received: Decimal,
    /// Still owed on contracts in force, each at least zero (an advance on one does not
    /// hide what another owes).
    pub outstanding: Decimal,
}

/// customer, count, amount, received, owed (ten-thousandths).
type FigureRow = (Uuid, i64, Option<i64>, Option<i64>, Option<i64>);

/// The 360 view's contract figures per customer, through the caller's scope. One grouped
/// read.
pub async fn figures_by_customer<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OrApprover,
    customers: &[Uuid],
) -> StoreResult<std::collections::HashMap<Uuid, Figures>> {
    let rows: Vec<FigureRow> = Contracts::live(conn.get_database_backend(), tenant, scope)
        .select_only()
        .column(contract::Column::CustomerId)
        .column_as(Expr::col((contract::Entity, contract::Column::Id)).count(), "n")
        .column_as(Expr::cust(r#"CAST(SUM("contracts"."amount_e4") AS BIGINT)"#), "amount")
        .column_as(Expr::cust(r#"CAST(SUM("contracts"."received_e4") AS BIGINT)"#), "received")
        .column_as(
            Expr::cust(
                r#"CAST(SUM(CASE WHEN "contracts"."status" = 'APPROVED' AND "contracts"."amount_e4" > "contracts"."received_e4" THEN "contracts"."amount_e4" - "contracts"."received_e4" ELSE 0 END) AS BIGINT)"#,
            ),
            "owed",
        )
        .filter(contract::Column::CustomerId.is_in(customers.iter().copied()))
        .filter(contract::Column::Status.is_in(IN_FORCE.map(ContractStatus::as_str)))
        .group_by(contract::Column::CustomerId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(customer, n, amount, received, owed)| {
            let figures = Figures {
                count: u64::try_from(n).unwrap_or(0),
                signed: from_e4(amount.unwrap_or(0)),
                received: from_e4(received.unwrap_or(0)),
                outstanding: from_e4(owed.unwrap_or(0)),
            };
            (customer, figures)
        })
        .collect())
}

/// The work log's new contracts for `users` in `[from, to)`, per period (keyed by the
/// period's first day): contracts they own approved in the window and not void, with
/// their amount (ten-thousandths). One grouped read through the caller's scope.
pub async fn work_log<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OrApprover,
    users: &[Uuid],
    (from, to): (chrono::DateTime<Utc>, chrono::DateTime<Utc>),
    granularity: guanxi_domain::activity::field::Granularity,
) -> StoreResult<Vec<(String, i64, Option<i64>)>> {
    let backend = conn.get_database_backend();
    let period = crate::dialect::period_start_sql(backend, granularity, r#""contracts"."approved_at""#);
    Ok(Contracts::live(backend, tenant, scope)
        .select_only()
        .column_as(Expr::cust(period.clone()), "period")
        .column_as(Expr::col((contract::Entity, contract::Column::Id)).count(), "n")
        .column_as(Expr::cust(r#"CAST(SUM("contracts"."amount_e4") AS BIGINT)"#), "amount")
        .filter(contract::Column::OwnerId.is_in(users.iter().copied()))
        .filter(contract::Column::Status.is_in(IN_FORCE.map(ContractStatus::as_str)))
        .filter(contract::Column::ApprovedAt.gte(from))
        .filter(contract::Column::ApprovedAt.lt(to))
        .group_by(Expr::cust(period))
        .into_tuple()
        .all(conn)
        .await?)
}

/// Writes the money a bulk call moved on contracts (`column`: what is received or
/// invoiced, in 1/10,000) in one versioned multi-row write, as the single writes bump
/// them, with each contract's change event.
pub(crate) async fn write_amounts<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    column: contract::Column,
    moved: Vec<(&contract::Model, i64, ChangeSet)>,
    now: chrono::DateTime<Utc>,
) -> StoreResult<()> {
    use crate::platform::upsert as kit;
    use sea_orm::IdenStatic;
    let mut rows = Vec::with_capacity(moved.len());
    let mut events = Vec::with_capacity(moved.len());
    for (model, amount_e4, changes) in moved {
        let mut changed = contract::ActiveModel::default();
        sea_orm::ActiveModelTrait::set(&mut changed, column, amount_e4.into());
        let columns = (contract::Column::Version, contract::Column::UpdatedAt);
        let stored = contract::ActiveModel::from(model.clone());
        rows.push(kit::overlay_next(stored, &changed, columns, (model.version, now)));
        events.push((model.id, Operation::Update, changes));
    }
    let written = [column, contract::Column::Version, contract::Column::UpdatedAt];
    let fixed = |c: &contract::Column| !written.iter().any(|w| w.as_str() == c.as_str());
    let columns = (contract::Column::TenantId, contract::Column::Id, contract::Column::Version);
    kit::write_versioned(conn, rows, columns, fixed, StoreError::Database).await?;
    audit::record_many(conn, author, ENTITY, events).await?;
    Ok(())
}
