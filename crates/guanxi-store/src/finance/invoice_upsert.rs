//! Bulk upsert of invoices by external key (`upsertInvoices`): a finance or tax system's
//! invoices (发票) against contracts, set-based as the other kinds' upserts are. One call
//! reads the keys and the invoices they name, the contracts they are billed on, the
//! billing profiles of those contracts' customers, the tax numbers the rows would issue
//! under, the invoice flows and the tenant's settings; it holds each new invoice's amount
//! against what is left to invoice on its contract in memory, in row order, as
//! `requestInvoice` does one at a time; then it writes the new invoices in one multi-row
//! insert, the issued and voided ones in one versioned write, the contracts' invoiced
//! amounts in one more, the keys and the change events.
//!
//! The approval decision: an invoice the source sends as `ISSUED` was issued by the tax
//! authority's system, so Guanxi's invoice flow is not run again; recording it is issuing
//! it and takes `invoice.issue`, as `issueInvoice` does. A `REQUESTED` one is a request as
//! a typed-in one is: where an invoice flow applies it waits for approval (that submission
//! is the one per-row step), else it is approved at once. An invoice is never edited: a
//! stored one re-sent as it is is `UNCHANGED`, one with other terms is `ILLEGAL_STATE`
//! (void it and send the right one under its own key).

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use guanxi_domain::approval::flow::{self, DocumentKind, Facts, Flow};
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::entity::{EntityKind, OwnerAndCustomer};
use guanxi_domain::finance::contract::ContractStatus;
use guanxi_domain::finance::invoice::{
    BillingProfile, BillingTitle, Invoice, InvoiceAction, InvoiceStatus, InvoiceTerms, VatKind, check_issue,
};
use guanxi_domain::ids::{DepartmentId, TenantId, UserId};
use guanxi_domain::platform::access::CustomerRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::upsert::{Mode, RowResult};
use guanxi_domain::trade::money::{TaxRate, from_e4, to_e4};
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use rust_decimal::Decimal;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::document_upsert::{self, NewChecks};
use super::invoice::{ENTITY, Invoices, profiles_of, to_domain};
use crate::entity::{contract, invoice as row};
use crate::error::{StoreError, StoreResult};
use crate::finance::approval;
use crate::platform::audit::{self, Author};
use crate::platform::upsert as upsert_kit;
use crate::platform::{external_key, sequence, tenant};
use crate::scope::OrApprover;

/// Whom a row's invoice is made out to.
#[derive(Clone, Debug)]
pub enum Billed {
    /// One of the contract customer's billing profiles (its title is copied).
    Profile(Uuid),
    /// The title as the source system has it.
    Title(BillingTitle),
}

/// What a row says of its invoice; a new invoice needs its contract, kind, rate and
/// amount (made out to the customer's default billing profile when it names none).
#[derive(Clone, Debug, Default)]
pub struct InvoicePatch {
    pub contract: Option<Uuid>,
    pub billed: Option<Billed>,
    pub vat_kind: Option<VatKind>,
    pub rate: Option<TaxRate>,
    pub amount: Option<Decimal>,
    pub note: Option<Option<String>>,
    /// REQUESTED (a new invoice's default), ISSUED (with its number and date) or VOID
    /// (with a reason).
    pub status: Option<InvoiceStatus>,
    pub invoice_number: Option<String>,
    pub issued_on: Option<NaiveDate>,
    pub void_reason: Option<String>,
}

pub struct UpsertRow {
    pub external_id: String,
    /// What the row says, or the errors of its references and shapes.
    pub patch: Result<InvoicePatch, Invalid>,
}

/// What the caller may do.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// The invoices the caller writes (their `INVOICE` scope and their customer's).
    pub invoices: OwnerAndCustomer,
    /// The contracts the caller bills.
    pub contracts: OwnerAndCustomer,
    /// The customers whose billing profiles the caller reads.
    pub customers: CustomerRule,
    /// `invoice.issue`: recording an invoice as issued or void.
    pub may_issue: bool,
    /// The caller's department, for the approval flow's conditions.
    pub department: Option<DepartmentId>,
}

/// A contract invoices are billed on, as the call leaves it (`figure`: what is
/// invoiced), with its customer's live billing profiles, the default first.
pub(crate) type Account = document_upsert::Account<Vec<BillingProfile>>;

/// An issue a row records: the tax authority's number and date.
#[derive(Clone, Debug)]
pub(crate) struct Issue {
    number: String,
    issued_on: NaiveDate,
}

/// What a row does.
pub(crate) enum Plan {
    /// A new invoice in `status` (REQUESTED waits on a flow, APPROVED, ISSUED).
    Create { fields: Box<New>, status: InvoiceStatus },
    /// Issues a stored, approved invoice.
    Issue { model: Box<row::Model>, before: Box<Invoice>, issue: Issue },
    /// Voids a stored invoice, giving its amount back.
    Void { model: Box<row::Model>, before: Box<Invoice>, reason: String },
}

pub(crate) struct New {
    contract: Uuid,
    profile: Option<Uuid>,
    title: BillingTitle,
    terms: InvoiceTerms,
    note: Option<String>,
    issue: Option<Issue>,
}

type Planned = document_upsert::Planned<Plan>;

impl document_upsert::Acts for Plan {
    fn stored_id(&self) -> Option<Uuid> {
        match self {
            Plan::Create { .. } => None,
            Plan::Issue { model, .. } | Plan::Void { model, .. } => Some(model.id),
        }
    }
}

/// What the call read.
pub(crate) struct Reads {
    /// Whether a user calls (an API key submits on behalf of the contract's owner).
    by_user: bool,
    accounts: HashMap<Uuid, Account>,
    /// The tax authority's numbers already on an invoice, and the call's own so far.
    numbers: HashMap<String, Option<Uuid>>,
    flows: Vec<Flow>,
    settings: tenant::TenantSettings,
}

/// Upserts a call's invoices inside the caller's transaction and answers each row.
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
    type Repo = Invoices;
    type Patch = InvoicePatch;
    type Plan = Plan;
    type Reads = Reads;
    const KIND: EntityKind = ENTITY;
    const LABEL: &'static str = "invoice";

    fn scope(self) -> OrApprover {
        OrApprover { rules: self.invoices, approver: None }
    }

    fn id_of(model: &row::Model) -> Uuid {
        model.id
    }

    /// The call's reads, one statement each: the contracts new invoices are billed on
    /// (through the caller's scope) and those voids give back to, their customers' billing
    /// profiles, the tax numbers the rows name, the invoice flows and the tenant's settings.
    async fn read<C: ConnectionTrait>(
        self,
        conn: &C,
        caller: (TenantId, bool),
        paired: &[upsert_kit::Paired<row::Model, Self::Patch>],
    ) -> StoreResult<Reads> {
        let (rules, (tenant, by_user), named) = (self, caller, paired);
        let rows = named.iter().flatten();
        let billed: Vec<Uuid> = rows.clone().filter(|(s, _)| s.is_none()).filter_map(|(_, p)| p.contract).collect();
        let voided: Vec<Uuid> = rows
            .clone()
            .filter(|(_, p)| p.status == Some(InvoiceStatus::Void))
            .filter_map(|(s, _)| s.as_ref().map(|m| m.contract_id))
            .collect();
        let found = document_upsert::contracts_of(conn, tenant, rules.contracts, (billed, voided)).await?;
        let customers: Vec<Uuid> = found.iter().filter(|(_, open)| *open).map(|(m, _)| m.customer_id).collect();
        let mut profiles: HashMap<Uuid, Vec<BillingProfile>> = HashMap::new();
        for profile in profiles_of(conn, tenant, rules.customers, &customers).await? {
            profiles.entry(profile.customer_id.uuid()).or_default().push(profile);
        }
        let accounts = document_upsert::accounts(
            found,
            |c| c.invoiced,
            |m| profiles.get(&m.customer_id).cloned().unwrap_or_default(),
        )?;
        let wanted: Vec<String> =
            rows.filter_map(|(_, p)| p.invoice_number.as_deref().map(str::trim)).map(Into::into).collect();
        let numbers = if wanted.is_empty() {
            HashMap::new()
        } else {
            row::Entity::find()
                .select_only()
                .column(row::Column::InvoiceNumber)
                .column(row::Column::Id)
                .filter(row::Column::TenantId.eq(tenant.uuid()))
                .filter(row::Column::InvoiceNumber.is_in(wanted))
                .into_tuple::<(String, Uuid)>()
                .all(conn)
                .await?
                .into_iter()
                .map(|(number, id)| (number, Some(id)))
                .collect()
        };
        let flows = approval::flows(conn, tenant, Some(DocumentKind::Invoice)).await?;
        let settings = tenant::settings(conn, tenant).await?;
        Ok(Reads { by_user, accounts, numbers, flows, settings })
    }

    /// A row's plan, what it invoices moved in `reads` as the call leaves it.
    fn plan(self, reads: &mut Reads, stored: Option<row::Model>, patch: Self::Patch) -> Result<Planned, Invalid> {
        let rules = self;
        match stored {
            None => Ok(Planned::new(None, Some(new_invoice(rules, reads, patch)?))),
            Some(model) => {
                let id = model.id;
                Ok(Planned::new(Some(id), stored_invoice(rules, reads, model, patch)?))
            }
        }
    }

    /// Writes the accepted rows: new invoices numbered from one block of the sequence in one
    /// multi-row insert, issues and voids in one versioned write, the contracts' invoiced
    /// amounts in one more, the keys and the change events; then each request a flow applies
    /// to is submitted to it.
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
        let rule = &reads.settings.invoice_numbering;
        let creates = planned.iter().filter(|p| matches!(p.plan, Some(Plan::Create { .. }))).count();
        let mut numbers = sequence::numbers(conn, tenant, ("invoice", rule), today, creates).await?;
        let (mut inserts, mut keys, mut updates, mut events, mut submit) = (vec![], vec![], vec![], vec![], vec![]);
        for p in &planned {
            let contract = match &p.plan {
                Some(Plan::Create { fields, status }) => {
                    let number = numbers.next().unwrap_or_default();
                    let Some(account) = reads.accounts.get(&fields.contract) else { continue };
                    let (_, tax) = fields.terms.split();
                    let issue = fields.issue.clone();
                    inserts.push(row::ActiveModel {
                        tenant_id: Set(tenant.uuid()),
                        id: Set(p.id),
                        number: Set(number.clone()),
                        contract_id: Set(fields.contract),
                        customer_id: Set(account.model.customer_id),
                        owner_id: Set(account.model.owner_id),
                        profile_id: Set(fields.profile),
                        title: Set(serde_json::to_value(&fields.title).unwrap_or_default()),
                        vat_kind: Set(fields.terms.vat_kind.as_str().to_owned()),
                        rate: Set(fields.terms.rate.as_str().to_owned()),
                        amount_e4: Set(to_e4(fields.terms.amount)),
                        tax_e4: Set(to_e4(tax)),
                        status: Set(status.as_str().to_owned()),
                        invoice_number: Set(issue.as_ref().map(|i| i.number.clone())),
                        issued_on: Set(issue.as_ref().map(|i| i.issued_on)),
                        void_reason: Set(None),
                        voided_at: Set(None),
                        external_id: Set(None),
                        note: Set(fields.note.clone()),
                        created_by: Set(author.user_id),
                        version: Set(1),
                        created_at: Set(now),
                        updated_at: Set(now),
                    });
                    keys.push((results[p.row].external_id.clone(), p.id));
                    let changes = ChangeSet::new()
                        .field("number", (), &number)
                        .field("contractId", (), fields.contract)
                        .field("amount", (), fields.terms.amount)
                        .field("vatKind", (), fields.terms.vat_kind.as_str())
                        .field("rate", (), fields.terms.rate.as_str())
                        .field("status", (), status.as_str())
                        .field("invoiceNumber", (), issue.as_ref().map(|i| i.number.clone()))
                        .field("issuedOn", (), issue.map(|i| i.issued_on));
                    events.push((p.id, Operation::Create, changes));
                    if *status == InvoiceStatus::Requested {
                        submit.push((p.id, fields.terms.amount, account.model.owner_id.map(UserId::from_uuid)));
                    }
                    fields.contract
                }
                Some(Plan::Issue { model, before, issue }) => {
                    let changed = row::ActiveModel {
                        status: Set(InvoiceStatus::Issued.as_str().to_owned()),
                        invoice_number: Set(Some(issue.number.clone())),
                        issued_on: Set(Some(issue.issued_on)),
                        ..Default::default()
                    };
                    updates.push(overlay(model, &changed, now));
                    let changes = ChangeSet::new()
                        .field("status", before.status.as_str(), InvoiceStatus::Issued.as_str())
                        .field("invoiceNumber", (), &issue.number)
                        .field("issuedOn", (), issue.issued_on);
                    events.push((p.id, Operation::Update, changes));
                    continue;
                }
                Some(Plan::Void { model, before, reason }) => {
                    let changed = row::ActiveModel {
                        status: Set(InvoiceStatus::Void.as_str().to_owned()),
                        void_reason: Set(Some(reason.clone())),
                        voided_at: Set(Some(now)),
                        ..Default::default()
                    };
                    updates.push(overlay(model, &changed, now));
                    let changes = ChangeSet::new()
                        .field("status", before.status.as_str(), InvoiceStatus::Void.as_str())
                        .field("voidReason", (), reason);
                    events.push((p.id, Operation::Update, changes));
                    before.contract_id.uuid()
                }
                None => continue,
            };
            if let Some(account) = reads.accounts.get_mut(&contract) {
                account.documents.push(p.id);
            }
        }
        let fixed = |c: &row::Column| {
            !matches!(
                c,
                row::Column::Status
                    | row::Column::InvoiceNumber
                    | row::Column::IssuedOn
                    | row::Column::VoidReason
                    | row::Column::VoidedAt
                    | row::Column::Version
                    | row::Column::UpdatedAt
            )
        };
        let taken = |e| crate::error::on_unique(e, "invoiceNumber", "another invoice has this number");
        let columns = (row::Column::TenantId, row::Column::Id, row::Column::Version);
        upsert_kit::write_versioned(conn, updates, columns, fixed, taken).await?;
        crate::insert_chunked(conn, inserts).await.map_err(|e| match e {
            StoreError::Database(db) => taken(db),
            other => other,
        })?;
        let moved = reads.accounts.values().filter(|a| !a.documents.is_empty());
        let moved = moved.map(|a| {
            let changes = ChangeSet::new().field("invoicedBy", (), a.delta).field("invoiceIds", (), &a.documents);
            (&a.model, to_e4(a.figure), changes)
        });
        super::contract::write_amounts(conn, author, contract::Column::InvoicedE4, moved.collect(), now).await?;
        external_key::insert(conn, tenant, ENTITY, source, keys).await?;
        audit::record_many(conn, author, ENTITY, events).await?;
        for (id, outcome) in
            approval::submit_each(conn, author, (DocumentKind::Invoice, rules.department), submit).await?
        {
            super::invoice::follow(conn, author, id, outcome).await?;
        }
        Ok(())
    }
}

/// The tax authority's number and date a row records, checked, and not on another
/// invoice nor an earlier row's (`id` the stored one the row issues, `None` for a new
/// one). Taken by the row only once it is accepted (`Reads::take`).
fn issue_of(reads: &Reads, patch: &InvoicePatch, id: Option<Uuid>) -> Result<Issue, Invalid> {
    let mut invalid = Invalid::default();
    let number = patch.invoice_number.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if number.is_none() {
        invalid.push(FieldError::new("invoiceNumber", ErrorCode::Required, "an issued invoice needs its number"));
    }
    if patch.issued_on.is_none() {
        invalid.push(FieldError::new("issuedOn", ErrorCode::Required, "an issued invoice needs its date"));
    }
    let (Some(number), Some(issued_on)) = (number, patch.issued_on) else { return Err(invalid) };
    check_issue(number, issued_on, shanghai_date(Utc::now()))?;
    match reads.numbers.get(number) {
        Some(holder) if id.is_none() || *holder != id => {
            Err(Invalid::one("invoiceNumber", ErrorCode::Duplicate, "another invoice has this number"))
        }
        _ => Ok(Issue { number: number.to_owned(), issued_on }),
    }
}

impl Reads {
    /// Marks an accepted row's tax number as taken, for the call's later rows.
    fn take(&mut self, issue: Option<&Issue>, id: Option<Uuid>) {
        if let Some(issue) = issue {
            self.numbers.insert(issue.number.clone(), id);
        }
    }
}

/// Whether the caller may record what the tax system did (`invoice.issue`).
fn may_issue(rules: Rules) -> Result<(), FieldError> {
    match rules.may_issue {
        true => Ok(()),
        false => Err(FieldError::new(
            "status",
            ErrorCode::Forbidden,
            "recording an invoice as issued or void needs invoice.issue",
        )),
    }
}

/// A new invoice's fields, every one given and checked against its contract, its amount
/// held against what is left to invoice as the call's earlier rows leave it.
fn new_invoice(rules: Rules, reads: &mut Reads, patch: InvoicePatch) -> Result<Plan, Invalid> {
    let undone = "an invoice is voided once it is stored; leave out one voided before it was sent";
    let checks = NewChecks {
        label: "invoice",
        required: &[
            ("contractId", patch.contract.is_some()),
            ("vatKind", patch.vat_kind.is_some()),
            ("rate", patch.rate.is_some()),
            ("amount", patch.amount.is_some()),
        ],
        undone: (patch.status == Some(InvoiceStatus::Void)).then_some(undone),
        statuses: (&[ContractStatus::Approved, ContractStatus::Completed], "invoices are billed"),
    };
    let account = document_upsert::new_on(&reads.accounts, patch.contract, checks)?;
    let (Some(contract), Some(vat_kind), Some(rate), Some(amount)) =
        (patch.contract, patch.vat_kind, patch.rate, patch.amount)
    else {
        return Err(Invalid::default());
    };
    let mut invalid = stray(&patch, false);
    let (profile, title) = match &patch.billed {
        Some(Billed::Title(title)) => (None, title.clone().check().map_err(|e| invalid.0.extend(e.0)).ok()),
        named => {
            let found = match named {
                Some(Billed::Profile(id)) => account.extra.iter().find(|p| p.id.uuid() == *id),
                _ => account.extra.iter().find(|p| p.is_default),
            };
            if found.is_none() {
                invalid.push(match named {
                    Some(_) => FieldError::new(
                        "profileId",
                        ErrorCode::NotFound,
                        "no such billing profile of the contract's customer",
                    ),
                    None => FieldError::new(
                        "profileId",
                        ErrorCode::Required,
                        "the customer has no default billing profile: name one, or send the title",
                    ),
                });
            }
            (found.map(|p| p.id.uuid()), found.map(|p| p.title.clone()))
        }
    };
    let terms = InvoiceTerms { vat_kind, rate, amount };
    if let Some(Err(e)) = title.as_ref().map(|title| terms.check(title, account.places)) {
        invalid.0.extend(e.0);
    }
    let left = from_e4(account.model.amount_e4) - account.figure;
    if amount > left {
        let message = format!(
            "more than is left to invoice on the contract: {} of {}",
            left.normalize(),
            from_e4(account.model.amount_e4).normalize()
        );
        invalid.push(FieldError::new("amount", ErrorCode::Invalid, message));
    }
    let note = patch.note.clone().flatten();
    if note.as_ref().is_some_and(|t| t.chars().count() > 500) {
        invalid.push(FieldError::new("note", ErrorCode::Invalid, "at most 500 characters"));
    }
    let owner = account.model.owner_id;
    let (issue, status) = match patch.status {
        Some(InvoiceStatus::Issued) => {
            invalid.check(may_issue(rules));
            let issue = issue_of(reads, &patch, None).map_err(|e| invalid.0.extend(e.0)).ok();
            (issue, InvoiceStatus::Issued)
        }
        _ => {
            let facts = Facts { amount, discount: Decimal::ZERO, department: rules.department, customer_level: None };
            let flow = flow::select(&reads.flows, DocumentKind::Invoice, &facts).is_some();
            if flow && !reads.by_user && owner.is_none() {
                let message = "the contract has no owner to submit the invoice for approval: give it one first";
                invalid.push(FieldError::new("contractId", ErrorCode::IllegalState, message));
            }
            (None, if flow { InvoiceStatus::Requested } else { InvoiceStatus::Approved })
        }
    };
    let (Some(title), true) = (title, invalid.is_empty()) else { return Err(invalid) };
    reads.take(issue.as_ref(), None);
    if let Some(account) = reads.accounts.get_mut(&contract) {
        account.shift(amount);
    }
    let fields = New { contract, profile, title, terms, note, issue };
    Ok(Plan::Create { fields: Box::new(fields), status })
}

/// A stored invoice: the same terms (nothing to do, or a move of its status), or a
/// refused edit.
fn stored_invoice(
    rules: Rules,
    reads: &mut Reads,
    model: row::Model,
    patch: InvoicePatch,
) -> Result<Option<Plan>, Invalid> {
    let before = to_domain(model.clone()).map_err(|_| {
        Invalid::one("externalId", ErrorCode::Invalid, "this externalId names an invoice that cannot be read")
    })?;
    if patch.contract.is_some_and(|c| c != before.contract_id.uuid()) {
        return Err(Invalid::one("contractId", ErrorCode::IllegalState, "an invoice stays with its contract"));
    }
    let billed = match &patch.billed {
        None => false,
        Some(Billed::Profile(id)) => before.profile_id.map(|p| p.uuid()) != Some(*id),
        Some(Billed::Title(title)) => title.clone().check().map_or(true, |t| t != before.title),
    };
    let issued = before.status == InvoiceStatus::Issued;
    let number = patch.invoice_number.as_deref().map(str::trim);
    let edited = [
        ("profileId", billed),
        ("vatKind", patch.vat_kind.is_some_and(|k| k != before.terms.vat_kind)),
        ("rate", patch.rate.is_some_and(|r| r != before.terms.rate)),
        ("amount", patch.amount.is_some_and(|a| a != before.terms.amount)),
        ("note", patch.note.as_ref().is_some_and(|n| *n != before.note)),
        // An issued invoice's number and date, whatever the status sent.
        ("invoiceNumber", issued && number.is_some_and(|n| Some(n) != before.invoice_number.as_deref())),
        ("issuedOn", issued && patch.issued_on.is_some_and(|d| Some(d) != before.issued_on)),
    ];
    if let Some((field, _)) = edited.iter().find(|(_, changed)| *changed) {
        let message = "an invoice is not edited: void it and send the right one under its own key";
        return Err(Invalid::one(*field, ErrorCode::IllegalState, message));
    }
    stray(&patch, issued).into_result()?;
    match (patch.status, before.status) {
        (None, _) => Ok(None),
        // The request the source sent, whatever became of it here (approved, issued or
        // voided by finance, rejected or withdrawn).
        (Some(InvoiceStatus::Requested), _) => Ok(None),
        (Some(asked), stored) if asked == stored => Ok(None),
        (Some(InvoiceStatus::Issued), _) => {
            before.after(InvoiceAction::Issue).map_err(|e| Invalid::one("status", e.code, e.message))?;
            may_issue(rules).map_err(|e| Invalid(vec![e]))?;
            let issue = issue_of(reads, &patch, Some(before.id.uuid()))?;
            reads.take(Some(&issue), Some(before.id.uuid()));
            Ok(Some(Plan::Issue { model: Box::new(model), before: Box::new(before), issue }))
        }
        (Some(InvoiceStatus::Void), _) => {
            before.after(InvoiceAction::Void).map_err(|e| Invalid::one("status", e.code, e.message))?;
            may_issue(rules).map_err(|e| Invalid(vec![e]))?;
            let reason = super::reason_in("voidReason", patch.void_reason.as_deref(), (500, "say why"))?;
            if let Some(account) = reads.accounts.get_mut(&before.contract_id.uuid()) {
                account.shift(-before.terms.amount);
            }
            let (model, before) = (Box::new(model), Box::new(before));
            Ok(Some(Plan::Void { model, before, reason: reason.to_owned() }))
        }
        (Some(asked), stored) => Err(Invalid::one(
            "status",
            ErrorCode::IllegalState,
            format!("an invoice that is {} cannot become {}", stored.label_zh(), asked.label_zh()),
        )),
    }
}

/// What a row gives that its status has no use for: a tax number or date without
/// `ISSUED` (an issued invoice's own are compared apart, `issued`), a void reason without
/// `VOID`.
fn stray(patch: &InvoicePatch, issued: bool) -> Invalid {
    let mut invalid = Invalid::default();
    let issuing = patch.status == Some(InvoiceStatus::Issued) || issued;
    let stray = [
        ("invoiceNumber", !issuing && patch.invoice_number.is_some(), "ISSUED"),
        ("issuedOn", !issuing && patch.issued_on.is_some(), "ISSUED"),
        ("voidReason", patch.status != Some(InvoiceStatus::Void) && patch.void_reason.is_some(), "VOID"),
    ];
    for (field, given, status) in stray {
        if given {
            invalid.push(FieldError::new(field, ErrorCode::Invalid, format!("{field} comes with status {status}")));
        }
    }
    invalid
}

/// A stored invoice with `changed` laid over it at its next version.
fn overlay(model: &row::Model, changed: &row::ActiveModel, now: chrono::DateTime<Utc>) -> row::ActiveModel {
    let columns = (row::Column::Version, row::Column::UpdatedAt);
    upsert_kit::overlay_next(row::ActiveModel::from(model.clone()), changed, columns, (model.version, now))
}
