//! Invoices (发票): billing profiles per customer, and invoice requests per contract that
//! go through the approval engine and are then issued or voided by finance.
//!
//! Concurrency: a request holds its amount against the contract with one conditional
//! `UPDATE contracts SET invoiced_e4 = invoiced_e4 + x WHERE amount_e4 - invoiced_e4 >= x`,
//! so two requests racing on one contract never pass its amount together. A rejected,
//! withdrawn or void request gives its amount back the same way.

use chrono::{NaiveDate, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::approval::engine::RequestStatus;
use guanxi_domain::approval::flow::{DocumentKind, Facts};
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::finance::contract::{Contract, ContractStatus};
use guanxi_domain::finance::invoice::{
    BillingProfile, BillingTitle, Invoice, InvoiceAction, InvoiceStatus, InvoiceTerms, TitleKind, VatKind, check_issue,
    invoice_after_approval,
};
use guanxi_domain::ids::{BillingProfileId, DepartmentId, InvoiceId, TenantId, UserId};
use guanxi_domain::platform::access::CustomerRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::trade::money::{TaxRate, from_e4, to_e4};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{billing_profile, contract, invoice};
use crate::error::{StoreError, StoreResult};
use crate::finance::approval::{self, Submission};
use crate::platform::audit::{self, Author};
use crate::platform::{sequence, tenant};
use crate::repo::{self, Scoped};
use crate::scope::OrApprover;

pub const ENTITY: EntityKind = EntityKind::Invoice;
pub const PROFILE: EntityKind = EntityKind::BillingProfile;

/// The most billing profiles one customer keeps.
pub const MAX_PROFILES: u64 = 20;

// ---------------------------------------------------------------------------------------
// Billing profiles

fn profile_of(m: billing_profile::Model) -> StoreResult<BillingProfile> {
    let cell = |column| Cell::of("billing_profiles", m.id, column);
    Ok(BillingProfile {
        id: m.id.into(),
        customer_id: m.customer_id.into(),
        title: BillingTitle {
            title_kind: cell("title_kind").text(&m.title_kind, TitleKind::parse)?,
            title: m.title,
            tax_number: m.tax_number,
            bank: m.bank,
            account: m.account,
            address: m.address,
            phone: m.phone,
        },
        is_default: m.is_default,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Billing profiles, seen by whoever sees their customer (and may read invoices).
pub struct BillingProfiles;

repo::customer_scoped!(BillingProfiles, billing_profile, BillingProfile, profile_of, PROFILE);

/// The live billing profiles of some customers the caller may see, the default first.
pub async fn profiles_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: CustomerRule,
    ids: &[Uuid],
) -> StoreResult<Vec<BillingProfile>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let rows = BillingProfiles::live(conn.get_database_backend(), tenant, customers)
        .filter(billing_profile::Column::CustomerId.is_in(ids.to_vec()))
        .order_by_desc(billing_profile::Column::IsDefault)
        .order_by_asc(billing_profile::Column::CreatedAt)
        .all(conn)
        .await?;
    rows.into_iter().map(profile_of).collect()
}

fn title_changes(before: Option<&BillingTitle>, after: &BillingTitle) -> ChangeSet {
    let old = |f: fn(&BillingTitle) -> Option<String>| before.and_then(f);
    ChangeSet::new()
        .field("titleKind", before.map(|b| b.title_kind.as_str()), after.title_kind.as_str())
        .field("title", before.map(|b| b.title.clone()), &after.title)
        .field("taxNumber", old(|b| b.tax_number.clone()), after.tax_number.clone())
        .field("bank", old(|b| b.bank.clone()), after.bank.clone())
        .field("account", old(|b| b.account.clone()), after.account.clone())
        .field("address", old(|b| b.address.clone()), after.address.clone())
        .field("phone", old(|b| b.phone.clone()), after.phone.clone())
}

/// Makes `keep` the customer's only default profile: any other default loses the flag,
/// each with its change event.
async fn clear_other_defaults<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customer: Uuid,
    keep: Uuid,
) -> StoreResult<()> {
    let tenant = author.tenant_id;
    let others = billing_profile::Entity::find()
        .filter(billing_profile::Column::TenantId.eq(tenant.uuid()))
        .filter(billing_profile::Column::CustomerId.eq(customer))
        .filter(billing_profile::Column::IsDefault.eq(true))
        .filter(billing_profile::Column::Id.ne(keep))
        .all(conn)
        .await?;
    for other in others {
        let update = billing_profile::Entity::update_many().col_expr(billing_profile::Column::IsDefault, false.into());
        repo::write_versioned::<BillingProfiles, C>(conn, tenant, other.id, other.version, update).await?;
        let changes = ChangeSet::new().field("isDefault", true, false);
        audit::record(conn, author, PROFILE, other.id, Operation::Update, &changes).await?;
    }
    Ok(())
}

/// Adds a billing profile to a customer the caller may see. A customer's first profile
/// is its default.
pub async fn create_profile<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    customer_id: Uuid,
    (title, is_default): (BillingTitle, bool),
) -> StoreResult<BillingProfile> {
    let tenant = author.tenant_id;
    let customer = crate::customers::customer::find(conn, tenant, customers, customer_id).await?;
    if customer.is_none_or(|c| c.deleted_at.is_some()) {
        return Err(StoreError::rejected("customerId", ErrorCode::NotFound, "no such customer"));
    }
    let title = title.check()?;
    let existing = BillingProfiles::live(conn.get_database_backend(), tenant, CustomerRule::ALL)
        .filter(billing_profile::Column::CustomerId.eq(customer_id))
        .count(conn)
        .await?;
    if existing >= MAX_PROFILES {
        return Err(StoreError::rejected(
            "customerId",
            ErrorCode::Invalid,
            format!("a customer keeps at most {MAX_PROFILES} billing profiles"),
        ));
    }
    let is_default = is_default || existing == 0;
    let id = BillingProfileId::new().uuid();
    let now = Utc::now();
    let model = billing_profile::Entity::insert(billing_profile::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id),
        customer_id: Set(customer_id),
        title_kind: Set(title.title_kind.as_str().to_owned()),
        title: Set(title.title.clone()),
        tax_number: Set(title.tax_number.clone()),
        bank: Set(title.bank.clone()),
        account: Set(title.account.clone()),
        address: Set(title.address.clone()),
        phone: Set(title.phone.clone()),
        is_default: Set(is_default),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_with_returning(conn)
    .await?;
    if is_default {
        clear_other_defaults(conn, author, customer_id, id).await?;
    }
    let changes = title_changes(None, &title).field("customerId", (), customer_id).field("isDefault", (), is_default);
    audit::record(conn, author, PROFILE, id, Operation::Create, &changes).await?;
    profile_of(model)
}

/// Rewrites a billing profile. Requests already made keep the title they were made with.
pub async fn update_profile<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    (id, expected_version): (Uuid, i32),
    (title, is_default): (BillingTitle, bool),
) -> StoreResult<BillingProfile> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<BillingProfiles, C>(conn, tenant, customers, id, expected_version).await?;
    let title = title.check()?;
    let update = repo::set_columns::<billing_profile::Entity>(vec![
        (billing_profile::Column::TitleKind, Expr::value(title.title_kind.as_str())),
        (billing_profile::Column::Title, Expr::value(title.title.clone())),
        (billing_profile::Column::TaxNumber, Expr::value(title.tax_number.clone())),
        (billing_profile::Column::Bank, Expr::value(title.bank.clone())),
        (billing_profile::Column::Account, Expr::value(title.account.clone())),
        (billing_profile::Column::Address, Expr::value(title.address.clone())),
        (billing_profile::Column::Phone, Expr::value(title.phone.clone())),
        (billing_profile::Column::IsDefault, Expr::value(is_default || before.is_default)),
    ]);
    let after = repo::write_versioned::<BillingProfiles, C>(conn, tenant, id, expected_version, update).await?;
    if is_default && !before.is_default {
        clear_other_defaults(conn, author, before.customer_id.uuid(), id).await?;
    }
    let changes = title_changes(Some(&before.title), &title).field("isDefault", before.is_default, after.is_default);
    audit::record(conn, author, PROFILE, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Moves a billing profile to the recycle bin; requests made with it keep their title.
pub async fn delete_profile<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<BillingProfile> {
    repo::live_current::<BillingProfiles, C>(conn, author.tenant_id, customers, id, expected_version).await?;
    repo::mark_deleted::<BillingProfiles, C>(conn, author, id, expected_version).await
}

// ---------------------------------------------------------------------------------------
// Invoice requests

pub fn to_domain(m: invoice::Model) -> StoreResult<Invoice> {
    let cell = |column| Cell::of("invoices", m.id, column);
    Ok(Invoice {
        id: m.id.into(),
        number: m.number,
        contract_id: m.contract_id.into(),
        customer_id: m.customer_id.into(),
        owner_id: m.owner_id.map(Into::into),
        profile_id: m.profile_id.map(Into::into),
        title: cell("title").json(m.title)?,
        terms: InvoiceTerms {
            vat_kind: cell("vat_kind").text(&m.vat_kind, VatKind::parse)?,
            rate: cell("rate").text(&m.rate, TaxRate::parse)?,
            amount: from_e4(m.amount_e4),
        },
        tax: from_e4(m.tax_e4),
        status: cell("status").text(&m.status, InvoiceStatus::parse)?,
        invoice_number: m.invoice_number,
        issued_on: m.issued_on,
        void_reason: m.void_reason,
        voided_at: m.voided_at,
        external_id: m.external_id,
        note: m.note,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Invoice requests, read through their own `INVOICE` scope and their customer's, or as
/// the approver they wait on.
pub struct Invoices;

crate::finance::contract_document!(Invoices, invoice, Invoice, InvoiceStatus, IssuedOn);

/// Which invoice requests to list; the window is on the day issued.
pub type InvoiceFilter = crate::finance::DocumentFilter<InvoiceStatus>;

/// What a new invoice request brings.
#[derive(Clone, Debug)]
pub struct NewInvoice {
    pub contract_id: Uuid,
    pub profile_id: Uuid,
    pub terms: InvoiceTerms,
    pub external_id: Option<String>,
    pub note: Option<String>,
}

/// The scopes a request is checked with: the contracts the writer sees, and the
/// customers (for the billing profile).
#[derive(Clone, Copy, Debug)]
pub struct RequestScopes {
    pub contracts: OrApprover,
    pub customers: CustomerRule,
}

/// The contract an invoice is requested on: live, visible, in force or completed.
async fn invoiceable<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    contracts: OrApprover,
    id: Uuid,
) -> StoreResult<Contract> {
    let contract = crate::finance::contract::find(conn, tenant, contracts, id)
        .await?
        .filter(|c| c.deleted_at.is_none())
        .ok_or_else(|| StoreError::rejected("contractId", ErrorCode::NotFound, "no such contract"))?;
    if !matches!(contract.status, ContractStatus::Approved | ContractStatus::Completed) {
        return Err(StoreError::rejected(
            "contractId",
            ErrorCode::IllegalState,
            format!("invoices are requested on approved contracts; this one is {}", contract.status.label_zh()),
        ));
    }
    Ok(contract)
}

/// Requests an invoice on a contract the caller may see, made out to one of the
/// customer's billing profiles. It holds its amount against the contract at once, and is
/// approved at once unless an invoice flow applies.
pub async fn request<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scopes: RequestScopes,
    new: NewInvoice,
    department: Option<DepartmentId>,
) -> StoreResult<Invoice> {
    let tenant = author.tenant_id;
    let contract = invoiceable(conn, tenant, scopes.contracts, new.contract_id).await?;
    let profile = repo::find::<BillingProfiles, C>(conn, tenant, scopes.customers, new.profile_id)
        .await?
        .filter(|p| p.deleted_at.is_none() && p.customer_id == contract.fields.customer_id)
        .ok_or_else(|| {
            StoreError::rejected("profileId", ErrorCode::NotFound, "no such billing profile of the contract's customer")
        })?;
    let mut invalid = guanxi_domain::Invalid::default();
    if let Err(e) = new.terms.check(&profile.title, contract.places) {
        invalid.0.extend(e.0);
    }
    for (field, text, max) in [("externalId", &new.external_id, 100), ("note", &new.note, 500)] {
        if text.as_ref().is_some_and(|t| t.chars().count() > max) {
            invalid.push(guanxi_domain::FieldError::new(
                field,
                ErrorCode::Invalid,
                format!("at most {max} characters"),
            ));
        }
    }
    invalid.into_result()?;
    let id = InvoiceId::new();
    hold(conn, author, &contract, id, to_e4(new.terms.amount)).await?;
    let settings = tenant::settings(conn, tenant).await?;
    let today = shanghai_date(Utc::now());
    let rule = settings.invoice_numbering;
    let n = sequence::next(conn, tenant, "invoice", &rule.period(today)).await?;
    let number = rule.format(today, n);
    let (_, tax) = new.terms.split();
    let now = Utc::now();
    let model = invoice::Entity::insert(invoice::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id.uuid()),
        number: Set(number.clone()),
        contract_id: Set(new.contract_id),
        customer_id: Set(contract.fields.customer_id.uuid()),
        owner_id: Set(contract.fields.owner_id.map(UserId::uuid)),
        profile_id: Set(Some(profile.id.uuid())),
        title: Set(serde_json::to_value(&profile.title).unwrap_or_default()),
        vat_kind: Set(new.terms.vat_kind.as_str().to_owned()),
        rate: Set(new.terms.rate.as_str().to_owned()),
        amount_e4: Set(to_e4(new.terms.amount)),
        tax_e4: Set(to_e4(tax)),
        status: Set(InvoiceStatus::Requested.as_str().to_owned()),
        invoice_number: Set(None),
        issued_on: Set(None),
        void_reason: Set(None),
        voided_at: Set(None),
        external_id: Set(new.external_id.clone()),
        note: Set(new.note.clone()),
        created_by: Set(author.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await
    .map_err(|e| crate::error::on_unique(e, "externalId", "another invoice request has this external id"))?;
    let changes = ChangeSet::new()
        .field("number", (), &number)
        .field("contractId", (), new.contract_id)
        .field("amount", (), new.terms.amount)
        .field("vatKind", (), new.terms.vat_kind.as_str())
        .field("rate", (), new.terms.rate.as_str());
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    let facts = Facts { amount: new.terms.amount, discount: Decimal::ZERO, department, customer_level: None };
    let request = approval::submit(
        conn,
        author,
        Submission { kind: DocumentKind::Invoice, document_id: id.uuid(), facts, owner_id: contract.fields.owner_id },
    )
    .await?;
    if request.status == RequestStatus::Pending {
        return to_domain(model);
    }
    follow(conn, author, id.uuid(), request.status).await
}

/// Holds `amount_e4` of the contract for an invoice, refused when it would pass what is
/// left to invoice.
async fn hold<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    contract: &Contract,
    invoice: InvoiceId,
    amount_e4: i64,
) -> StoreResult<()> {
    let raised = shift_invoiced(author, contract.id.uuid(), amount_e4)
        .filter(Expr::col(contract::Column::AmountE4).sub(Expr::col(contract::Column::InvoicedE4)).gte(amount_e4))
        .filter(contract::Column::Status.is_in([ContractStatus::Approved.as_str(), ContractStatus::Completed.as_str()]))
        .exec(conn)
        .await?;
    if raised.rows_affected == 0 {
        let now = repo::any_by_id::<crate::finance::contract::Contracts, C>(conn, author.tenant_id, contract.id.uuid())
            .await?;
        let left = now.map(|c| c.fields.amount - c.invoiced).unwrap_or_default();
        return Err(StoreError::rejected(
            "amount",
            ErrorCode::Invalid,
            format!(
                "more than is left to invoice on the contract: {} of {}",
                left.normalize(),
                contract.fields.amount.normalize()
            ),
        ));
    }
    record_invoiced(conn, author, contract.id.uuid(), invoice, amount_e4).await
}

/// An update moving a contract's invoiced amount by `delta_e4` (and its version, so the
/// change feed's readers learn of it).
fn shift_invoiced(author: &Author, contract_id: Uuid, delta_e4: i64) -> sea_orm::UpdateMany<contract::Entity> {
    contract::Entity::update_many()
        .col_expr(contract::Column::InvoicedE4, Expr::col(contract::Column::InvoicedE4).add(delta_e4))
        .col_expr(contract::Column::Version, Expr::col(contract::Column::Version).add(1))
        .col_expr(contract::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(contract::Column::TenantId.eq(author.tenant_id.uuid()))
        .filter(contract::Column::Id.eq(contract_id))
}

async fn record_invoiced<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    contract: Uuid,
    invoice: InvoiceId,
    delta_e4: i64,
) -> StoreResult<()> {
    let changes = ChangeSet::new().field("invoicedBy", (), from_e4(delta_e4)).field("invoiceId", (), invoice);
    audit::record(conn, author, crate::finance::contract::ENTITY, contract, Operation::Update, &changes).await?;
    Ok(())
}

/// Gives a request's amount back to its contract.
async fn release<C: ConnectionTrait>(conn: &C, author: &Author, invoice: &Invoice) -> StoreResult<()> {
    let amount_e4 = to_e4(invoice.terms.amount);
    shift_invoiced(author, invoice.contract_id.uuid(), -amount_e4).exec(conn).await?;
    record_invoiced(conn, author, invoice.contract_id.uuid(), invoice.id, -amount_e4).await
}

/// Brings a request to the status its approval reached; a rejected or withdrawn one gives
/// its amount back.
pub async fn follow<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    outcome: RequestStatus,
) -> StoreResult<Invoice> {
    let tenant = author.tenant_id;
    let before = repo::any_by_id::<Invoices, C>(conn, tenant, id).await?.ok_or(StoreError::NotFound)?;
    let status = invoice_after_approval(outcome);
    if status == before.status {
        return Ok(before);
    }
    if before.status.holds_amount() && !status.holds_amount() {
        release(conn, author, &before).await?;
    }
    let update = invoice::Entity::update_many().col_expr(invoice::Column::Status, Expr::value(status.as_str()));
    let after = repo::write_versioned::<Invoices, C>(conn, tenant, id, before.version, update).await?;
    let changes = ChangeSet::new().field("status", before.status.as_str(), status.as_str());
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Records that the tax authority's system issued an approved request: its number and
/// date (`invoice.issue`).
pub async fn issue<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OrApprover,
    (id, expected_version): (Uuid, i32),
    (number, issued_on): (&str, NaiveDate),
) -> StoreResult<Invoice> {
    let tenant = author.tenant_id;
    let before = repo::current::<Invoices, C>(conn, tenant, scope, id, expected_version).await?;
    let status = before.after(InvoiceAction::Issue)?;
    let number = number.trim();
    check_issue(number, issued_on, shanghai_date(Utc::now()))?;
    let update = repo::set_columns::<invoice::Entity>(vec![
        (invoice::Column::Status, Expr::value(status.as_str())),
        (invoice::Column::InvoiceNumber, Expr::value(number)),
        (invoice::Column::IssuedOn, Expr::value(issued_on)),
    ]);
    let after = repo::write_versioned_or::<Invoices, C>(conn, tenant, id, expected_version, update, |e| {
        crate::error::on_unique(e, "invoiceNumber", "another invoice has this number")
    })
    .await?;
    let changes = ChangeSet::new()
        .field("status", before.status.as_str(), status.as_str())
        .field("invoiceNumber", (), number)
        .field("issuedOn", (), issued_on);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Voids an approved or issued invoice with a reason (`invoice.issue`), giving its amount
/// back to the contract. An issued one is voided, or reversed with a red invoice, in the
/// tax system first; this records it.
pub async fn void<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OrApprover,
    (id, expected_version): (Uuid, i32),
    reason: &str,
) -> StoreResult<Invoice> {
    let tenant = author.tenant_id;
    let reason = crate::finance::reason(reason, "say why the invoice is void")?;
    let before = repo::current::<Invoices, C>(conn, tenant, scope, id, expected_version).await?;
    let status = before.after(InvoiceAction::Void)?;
    let update = repo::set_columns::<invoice::Entity>(vec![
        (invoice::Column::Status, Expr::value(status.as_str())),
        (invoice::Column::VoidReason, Expr::value(reason)),
        (invoice::Column::VoidedAt, Expr::value(Utc::now())),
    ]);
    let after = repo::write_versioned::<Invoices, C>(conn, tenant, id, expected_version, update).await?;
    release(conn, author, &before).await?;
    let changes =
        ChangeSet::new().field("status", before.status.as_str(), status.as_str()).field("voidReason", (), reason);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// The invoice requests of some contracts the caller may see, newest first.
pub async fn of_contracts<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OrApprover,
    contracts: &[Uuid],
) -> StoreResult<Vec<Invoice>> {
    if contracts.is_empty() {
        return Ok(vec![]);
    }
    let rows = Invoices::visible(conn.get_database_backend(), tenant, scope)
        .filter(invoice::Column::ContractId.is_in(contracts.to_vec()))
        .order_by_desc(invoice::Column::CreatedAt)
        .order_by_desc(invoice::Column::Id)
        .all(conn)
        .await?;
    rows.into_iter().map(to_domain).collect()
}

/// What has been invoiced (issued) per customer, through the caller's scope: one grouped
/// read for the 360 view.
pub async fn issued_by_customer<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OrApprover,
    customers: &[Uuid],
) -> StoreResult<std::collections::HashMap<Uuid, Decimal>> {
    if customers.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(Uuid, Option<i64>)> = Invoices::visible(conn.get_database_backend(), tenant, scope)
        .select_only()
        .column(invoice::Column::CustomerId)
        .column_as(Expr::cust(r#"CAST(SUM("invoices"."amount_e4") AS BIGINT)"#), "amount")
        .filter(invoice::Column::CustomerId.is_in(customers.to_vec()))
        .filter(invoice::Column::Status.eq(InvoiceStatus::Issued.as_str()))
        .group_by(invoice::Column::CustomerId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|(customer, amount)| (customer, from_e4(amount.unwrap_or(0)))).collect())
}
