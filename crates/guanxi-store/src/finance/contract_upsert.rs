//! Bulk upsert of contracts by external key (`upsertContracts`): an ERP's or a finance
//! system's contracts (合同) with their installment plans (回款计划), set-based as the
//! other kinds' upserts are. One call reads the keys and the contracts they name, their
//! plans and lines, the customers, and for contracts being closed what still holds them
//! open; then it writes multi-row inserts and updates of contracts and plans, the keys,
//! the customers an approval makes WON, and the change events.
//!
//! Every row passes the checks `createContract`, `updateContract`, `completeContract` and
//! `voidContract` make: a live customer the caller may see (a contract stays with its
//! customer), a contact, deal and sales order of that customer the caller sees, active
//! users as owner and signer, the fields and the plan checked, only a contract not yet in
//! force edited, and the state machine. A contract the source sends as APPROVED was signed
//! into force there: recording that takes `contract.approve` (what an approver here
//! decides) and a plan adding up to the amount, as a submission does; it is in force from
//! its sign date, so a first sync of past years does not land in this month's reports.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::customers::customer::{Customer, shanghai_date};
use guanxi_domain::entity::OwnerAndCustomer;
use guanxi_domain::finance::contract::{Contract, ContractAction, ContractFields, ContractStatus, synced_status};
use guanxi_domain::finance::receivable::{self, Installment, InstallmentDraft};
use guanxi_domain::ids::{ContactId, ContractId, CustomerId, OpportunityId, OrderId, UserId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::upsert::{Mode, RowResult};
use guanxi_domain::trade::money::Places;
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::contract::{self, ContractLinks, Contracts, ENTITY, described_changes, draft_row, insert_plans};
use crate::entity::{contract as row, installment};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};
use crate::platform::upsert as upsert_kit;
use crate::platform::{external_key, sequence, tenant};
use crate::scope::OrApprover;
use crate::trade::document::{NewLinks, customers_of, name_rows, refused_links};
use crate::trade::lines::{self, Parent};

/// What a row sets; `None` leaves the stored value (or a new contract's default), and
/// `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default)]
pub struct ContractPatch {
    /// Required for a new contract.
    pub title: Option<String>,
    pub contact: Option<Option<ContactId>>,
    pub opportunity: Option<Option<OpportunityId>>,
    /// The sales order the contract was signed for (one of the customer's the caller sees).
    pub order: Option<Option<OrderId>>,
    /// A new contract's default is the caller (as `createContract`), else its customer's
    /// owner.
    pub owner: Option<UserId>,
    pub signer: Option<Option<UserId>>,
    pub signed_on: Option<Option<NaiveDate>>,
    pub starts_on: Option<Option<NaiveDate>>,
    pub ends_on: Option<Option<NaiveDate>>,
    /// Required for a new contract.
    pub amount: Option<Decimal>,
    pub payment_terms: Option<Option<String>>,
    pub notes: Option<Option<String>>,
    /// The whole plan as it should be; a plan equal to the stored one is not rewritten.
    pub installments: Option<Vec<InstallmentDraft>>,
    /// DRAFT, APPROVED, COMPLETED or VOID (see [`synced_status`]).
    pub status: Option<ContractStatus>,
    /// Why, when the row voids the contract.
    pub void_reason: Option<String>,
}

/// One row of an upsert call.
pub type UpsertRow = crate::trade::document::UpsertRow<ContractPatch>;

type Named = crate::trade::document::Named<(row::Model, Contract), ContractPatch>;

/// What the caller may do.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// The contracts (and through them the customers) the caller writes; an upsert takes
    /// no approver's exception.
    pub contracts: OwnerAndCustomer,
    /// The contacts, deals and orders a contract may name.
    pub links: ContractLinks,
    /// Whether the caller records approvals (`contract.approve`).
    pub may_approve: bool,
    /// Whether the caller voids contracts (`contract.void`).
    pub may_void: bool,
}

struct Planned {
    row: usize,
    id: Uuid,
    before: Option<(row::Model, Contract)>,
    fields: ContractFields,
    /// A new or replaced plan; `None` keeps the stored one.
    plan: Option<Vec<InstallmentDraft>>,
    status: ContractStatus,
    void_reason: Option<String>,
    changes: ChangeSet,
}

impl Planned {
    fn stored_status(&self) -> Option<ContractStatus> {
        self.before.as_ref().map(|(_, c)| c.status)
    }

    /// Whether the row puts the contract in force now (approved in the source).
    fn approves(&self) -> bool {
        matches!(self.status, ContractStatus::Approved | ContractStatus::Completed)
            && self.stored_status().is_none_or(not_in_force)
    }

    /// Whether the row completes the contract now.
    fn completes(&self) -> bool {
        self.status == ContractStatus::Completed && self.stored_status() != Some(ContractStatus::Completed)
    }

    /// Whether the row voids the contract now.
    fn voids(&self) -> bool {
        self.status == ContractStatus::Void && self.stored_status() != Some(ContractStatus::Void)
    }
}

/// A stored status that never took effect (one a submission or a synced approval starts
/// from).
fn not_in_force(status: ContractStatus) -> bool {
    matches!(status, ContractStatus::Draft | ContractStatus::Rejected | ContractStatus::Withdrawn)
}

impl upsert_kit::RowPlan for Planned {
    fn stored_id(&self) -> Option<Uuid> {
        self.before.as_ref().map(|(m, _)| m.id)
    }

    fn changed(&self) -> bool {
        !self.changes.is_empty()
    }

    fn place(&mut self, row: usize, id: Uuid) {
        (self.row, self.id) = (row, id);
    }
    fn row(&self) -> usize {
        self.row
    }
}

/// What the call read for its rows' plans.
struct Reads {
    customers: HashMap<Uuid, Customer>,
    installments: HashMap<Uuid, Vec<Installment>>,
    lines: HashMap<Parent, Vec<guanxi_domain::trade::document::Line>>,
    /// Stored contracts in force asked to close, with what holds them open.
    held: HashMap<Uuid, String>,
    settings: tenant::TenantSettings,
}

/// Upserts a call's contracts inside the caller's transaction and answers each row.
pub async fn upsert<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rules: Rules,
    (source, mode): (&str, Mode),
    rows: Vec<UpsertRow>,
) -> StoreResult<Vec<RowResult>> {
    let tenant = author.tenant_id;
    let keys: Vec<String> = rows.iter().map(|r| r.external_id.clone()).collect();
    let scope = OrApprover { rules: rules.contracts, approver: None };
    let staged = upsert_kit::stage::<Contracts, _>(conn, tenant, scope, (ENTITY, source), &keys, |m| m.id).await?;
    let decode = |m: &row::Model| Ok((m.clone(), contract::to_domain(m.clone())?));
    let deleted: fn(&row::Model) -> bool = |m| m.deleted_at.is_some();
    let named = name_rows(&staged, ("contract", deleted), rows, decode, |(_, c)| c.fields.customer_id)?;
    let mut reads = read(conn, author, rules, &named).await?;

    let plans = named.into_iter().map(|named| named.and_then(|named| plan(author, rules, &mut reads, named)));
    let (mut results, planned) = upsert_kit::answer(keys, plans);

    let refused = check_links(conn, author, rules, &planned).await?;
    let Some(planned) = upsert_kit::to_write(mode, &mut results, refused, planned) else { return Ok(results) };
    write(conn, author, (source, &reads.settings), &results, planned).await?;
    Ok(results)
}

/// The call's reads, one statement each: the customers (through the caller's scope), the
/// stored contracts' plans and lines, what holds open the contracts in force a row closes,
/// and the tenant's settings.
async fn read<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rules: Rules,
    named: &[Result<Named, Invalid>],
) -> StoreResult<Reads> {
    let tenant = author.tenant_id;
    let named: Vec<&Named> = named.iter().flatten().collect();
    let customers = customers_of(conn, tenant, rules.contracts.customer, &named).await?;
    let stored: Vec<&Contract> = named.iter().filter_map(|n| n.stored.as_ref().map(|(_, c)| c)).collect();
    let stored_ids: Vec<Uuid> = stored.iter().map(|c| c.id.uuid()).collect();
    let mut installments: HashMap<Uuid, Vec<Installment>> = HashMap::new();
    for i in contract::installments_of(conn, tenant, &stored_ids).await? {
        installments.entry(i.contract_id.uuid()).or_default().push(i);
    }
    let parents: Vec<Parent> = stored_ids.iter().map(|id| Parent::Contract(*id)).collect();
    let lines = lines::of(conn, tenant, &parents).await?;
    let closing: Vec<Uuid> = named
        .iter()
        .filter(|n| matches!(n.patch.status, Some(ContractStatus::Completed | ContractStatus::Void)))
        .filter_map(|n| n.stored.as_ref().map(|(_, c)| c))
        .filter(|c| c.status == ContractStatus::Approved)
        .map(|c| c.id.uuid())
        .collect();
    let held = contract::held_open(conn, tenant, &closing).await?;
    let settings = tenant::settings(conn, tenant).await?;
    Ok(Reads { customers, installments, lines, held, settings })
}

/// A value the row sets, or the base one; an equal value keeps the base (so `5` and
/// `5.00` are no change).
fn set<T: PartialEq>(given: Option<T>, base: T) -> T {
    given.filter(|v| *v != base).unwrap_or(base)
}

/// Whether `drafts` are the stored plan (its live installments in order); a reminder left
/// out matches whatever is stored (the tenant's default when it was written).
fn same_plan(stored: &[Installment], drafts: &[InstallmentDraft]) -> bool {
    let live: Vec<&Installment> = stored.iter().filter(|i| !i.void).collect();
    live.len() == drafts.len()
        && live.iter().zip(drafts).all(|(i, d)| {
            i.amount == d.amount
                && i.due_on == d.due_on
                && i.method == d.method
                && d.remind_days.is_none_or(|r| r == i.remind_days)
                && i.note == d.note
        })
}

/// A row's contract as the call leaves it, or why it may not be written.
fn plan(author: &Author, rules: Rules, reads: &mut Reads, named: Named) -> Result<Planned, Invalid> {
    let Named { stored, customer, patch } = named;
    let Some(found) = reads.customers.get(&customer.uuid()) else {
        return Err(Invalid::one("customerId", ErrorCode::NotFound, "no such customer"));
    };
    let before = stored.as_ref().map(|(_, c)| c);
    let mut invalid = Invalid::default();
    let status = invalid.check(synced_status(before.map(|c| c.status), patch.status));
    let base = before.map_or_else(
        || ContractFields {
            title: String::new(),
            customer_id: customer,
            contact_id: None,
            opportunity_id: None,
            quote_id: None,
            order_id: None,
            owner_id: author.user_id.map(UserId::from_uuid).or(found.owner_id),
            signer_id: None,
            signed_on: None,
            starts_on: None,
            ends_on: None,
            amount: Decimal::ZERO,
            payment_terms: None,
            attachments: vec![],
            external_id: None,
            notes: None,
        },
        |c| c.fields.clone(),
    );
    if before.is_none() {
        if patch.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
            invalid.push(FieldError::new("title", ErrorCode::Required, "a new contract needs its title"));
        }
        if patch.amount.is_none() {
            invalid.push(FieldError::new("amount", ErrorCode::Required, "a new contract needs its amount"));
        }
    }
    let fields = ContractFields {
        title: set(patch.title.map(|t| t.trim().to_owned()), base.title.clone()),
        contact_id: set(patch.contact, base.contact_id),
        opportunity_id: set(patch.opportunity, base.opportunity_id),
        order_id: set(patch.order, base.order_id),
        owner_id: set(patch.owner.map(Some), base.owner_id),
        signer_id: set(patch.signer, base.signer_id),
        signed_on: set(patch.signed_on, base.signed_on),
        starts_on: set(patch.starts_on, base.starts_on),
        ends_on: set(patch.ends_on, base.ends_on),
        amount: set(patch.amount, base.amount),
        payment_terms: set(patch.payment_terms, base.payment_terms.clone()),
        notes: set(patch.notes, base.notes.clone()),
        ..base.clone()
    };
    let places = before.map_or(reads.settings.decimal_places.contract, |c| c.places);
    if let Err(e) = fields.check(places) {
        // Not twice for what a new contract left out.
        let answered: Vec<String> = invalid.0.iter().map(|e| e.field.clone()).collect();
        invalid.0.extend(e.0.into_iter().filter(|e| !answered.contains(&e.field)));
    }
    let stored_plan = before.map(|c| reads.installments.remove(&c.id.uuid()).unwrap_or_default());
    let new_plan = match patch.installments {
        Some(drafts) => match receivable::check_plan(&drafts, fields.signed_on, places) {
            Err(e) => {
                invalid.0.extend(e.0);
                None
            }
            Ok(()) if stored_plan.as_ref().is_some_and(|s| same_plan(s, &drafts)) => None,
            Ok(()) => Some(drafts),
        },
        None => None,
    };
    let Some(status) = status.filter(|_| invalid.is_empty()) else { return Err(invalid) };
    let changes = match before {
        None => ChangeSet::new(),
        Some(c) => described_changes(&c.fields, &fields)
            .field("opportunityId", c.fields.opportunity_id, fields.opportunity_id)
            .field("orderId", c.fields.order_id, fields.order_id)
            .field("signerId", c.fields.signer_id, fields.signer_id)
            .field("paymentTerms", &c.fields.payment_terms, &fields.payment_terms)
            .field("notes", &c.fields.notes, &fields.notes)
            .field("installments", (), new_plan.as_ref().map(Vec::len)),
    };
    if let Some(c) = before.filter(|_| !changes.is_empty()) {
        c.after(ContractAction::Edit).map_err(Invalid::from)?;
        let lined = reads.lines.get(&Parent::Contract(c.id.uuid())).is_some_and(|l| !l.is_empty());
        if lined && fields.amount != c.fields.amount {
            let message = "the contract's amount is its lines' total: change the lines instead";
            return Err(Invalid::one("amount", ErrorCode::Invalid, message));
        }
    }
    let mut planned =
        Planned { row: 0, id: Uuid::nil(), before: stored, fields, plan: new_plan, status, void_reason: None, changes };
    check_status(rules, reads, &mut planned, (stored_plan.as_deref(), patch.void_reason))?;
    Ok(planned)
}

/// The checks of the status a row moves its contract to: recording an approval takes
/// `contract.approve` and a plan adding up to the amount; voiding takes `contract.void`, a
/// reason, and no money received or invoiced; a contract in force is closed only when no
/// revision or receipt holds it open.
fn check_status(
    rules: Rules,
    reads: &Reads,
    p: &mut Planned,
    (stored_plan, reason): (Option<&[Installment]>, Option<String>),
) -> Result<(), Invalid> {
    let refused = |code, message: &str| Err(Invalid::one("status", code, message.to_owned()));
    if p.approves() {
        if !rules.may_approve {
            return refused(ErrorCode::Forbidden, "recording a contract as approved takes contract.approve");
        }
        if p.before.as_ref().is_some_and(|(_, c)| c.revises_id.is_some()) {
            return refused(ErrorCode::IllegalState, "a revision (变更) takes effect through its approval here");
        }
        let amounts: Vec<Decimal> = match (&p.plan, stored_plan) {
            (Some(plan), _) => plan.iter().map(|d| d.amount).collect(),
            (None, stored) => stored.unwrap_or_default().iter().filter(|i| !i.void).map(|i| i.amount).collect(),
        };
        receivable::check_sum(amounts, p.fields.amount)?;
    }
    if p.voids() {
        if !rules.may_void {
            return refused(ErrorCode::Forbidden, "voiding a contract takes contract.void");
        }
        let reason = super::reason_in("voidReason", reason.as_deref(), (200, "say why"))?;
        if let Some((_, c)) = &p.before {
            if c.received > Decimal::ZERO {
                return refused(
                    ErrorCode::IllegalState,
                    "money was received on this contract: reverse its receipts first",
                );
            }
            if c.invoiced > Decimal::ZERO {
                return refused(ErrorCode::IllegalState, "invoices were requested on this contract: void them first");
            }
        }
        p.void_reason = Some(reason.to_owned());
    }
    let held = p.before.as_ref().and_then(|(_, c)| reads.held.get(&c.id.uuid()));
    if let Some(why) = held.filter(|_| p.completes() || p.voids()) {
        return refused(ErrorCode::IllegalState, why);
    }
    if let Some(stored) = p.stored_status() {
        let changes = std::mem::take(&mut p.changes).field("status", stored.as_str(), p.status.as_str());
        p.changes = changes.field("voidReason", (), p.void_reason.as_deref());
    }
    Ok(())
}

/// The contact, deal, owner and signer a row gives its contract that the stored contract
/// does not have (every one of a new contract's).
fn new_links(p: &Planned) -> NewLinks {
    let f = &p.fields;
    let before = p.before.as_ref().map(|(_, c)| &c.fields);
    let new = |after: Option<Uuid>, stored: Option<Option<Uuid>>| after.filter(|id| stored != Some(Some(*id)));
    let user = |pick: fn(&ContractFields) -> Option<UserId>| {
        new(pick(f).map(UserId::uuid), before.map(|b| pick(b).map(UserId::uuid)))
    };
    let users = [("ownerId", user(|f| f.owner_id)), ("signerId", user(|f| f.signer_id))];
    NewLinks {
        row: p.row,
        customer: f.customer_id,
        contact: new(f.contact_id.map(ContactId::uuid), before.map(|b| b.contact_id.map(ContactId::uuid))),
        deal: new(f.opportunity_id.map(OpportunityId::uuid), before.map(|b| b.opportunity_id.map(OpportunityId::uuid))),
        users: users.into_iter().filter_map(|(field, id)| id.map(|id| (field, id))).collect(),
    }
}

/// The links the rows set: contacts, deals and users as on orders, and sales orders of the
/// contract's customer that the caller sees (one statement).
async fn check_links<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rules: Rules,
    planned: &[Planned],
) -> StoreResult<Vec<(usize, Invalid)>> {
    let tenant = author.tenant_id;
    let rows: Vec<NewLinks> = planned.iter().map(new_links).collect();
    let mut refused = refused_links(conn, tenant, rules.links.links, &rows).await?;
    let new_order = |p: &Planned| {
        p.fields.order_id.filter(|o| p.before.as_ref().is_none_or(|(_, c)| c.fields.order_id != Some(*o)))
    };
    let orders: Vec<Uuid> = planned.iter().filter_map(new_order).map(OrderId::uuid).collect();
    if orders.is_empty() {
        return Ok(refused);
    }
    let customer_of: HashMap<Uuid, CustomerId> = crate::trade::order::by_ids(conn, tenant, rules.links.orders, &orders)
        .await?
        .into_iter()
        .map(|o| (o.id.uuid(), o.header.customer_id))
        .collect();
    for p in planned {
        if new_order(p).is_some_and(|o| customer_of.get(&o.uuid()) != Some(&p.fields.customer_id)) {
            refused.push((p.row, Invalid::one("orderId", ErrorCode::NotFound, "no such sales order of the customer")));
        }
    }
    Ok(refused)
}

/// When a contract the source approved took effect: its sign date (the start of that day
/// in Shanghai), unless it has none or is signed in the future.
fn in_force_since(signed_on: Option<NaiveDate>, now: DateTime<Utc>) -> DateTime<Utc> {
    let start = |day: NaiveDate| day.and_hms_opt(0, 0, 0).map(|t| t.and_utc() - chrono::Duration::hours(8));
    signed_on.and_then(start).filter(|t| *t <= now).unwrap_or(now)
}

/// The status columns of a contract entering the row's status at `now`.
fn set_status(model: &mut row::ActiveModel, p: &Planned, now: DateTime<Utc>) {
    model.status = Set(p.status.as_str().to_owned());
    if p.approves() {
        // In force since it was signed: the work log and commission runs count it then.
        let since = in_force_since(p.fields.signed_on, now);
        model.approved_at = Set(Some(since));
        model.effective_at = Set(Some(since));
    }
    if p.completes() {
        model.completed_at = Set(Some(now));
    }
    if p.voids() {
        model.void_reason = Set(p.void_reason.clone());
        if p.stored_status() == Some(ContractStatus::Approved) {
            // A contract in force is voided: commissions paid on it are clawed back.
            model.voided_at = Set(Some(now));
        }
    }
}

/// The columns a row's fields set on a stored contract.
fn set_fields(model: &mut row::ActiveModel, f: &ContractFields) {
    model.title = Set(f.title.clone());
    model.contact_id = Set(f.contact_id.map(ContactId::uuid));
    model.opportunity_id = Set(f.opportunity_id.map(OpportunityId::uuid));
    model.order_id = Set(f.order_id.map(OrderId::uuid));
    model.owner_id = Set(f.owner_id.map(UserId::uuid));
    model.signer_id = Set(f.signer_id.map(UserId::uuid));
    model.signed_on = Set(f.signed_on);
    model.starts_on = Set(f.starts_on);
    model.ends_on = Set(f.ends_on);
    model.amount_e4 = Set(guanxi_domain::trade::money::to_e4(f.amount));
    model.payment_terms = Set(f.payment_terms.clone());
    model.notes = Set(f.notes.clone());
}

/// Writes the accepted rows: new contracts numbered from one block of the sequence and
/// inserted with their plans and keys, changed contracts in one versioned multi-row write
/// with their replaced plans, the plans of voided contracts voided, the customers of
/// approved contracts made WON, and the change events.
async fn write<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (source, settings): (&str, &tenant::TenantSettings),
    results: &[RowResult],
    planned: Vec<Planned>,
) -> StoreResult<()> {
    let tenant = author.tenant_id;
    let now = Utc::now();
    let today = shanghai_date(now);
    let (creates, updates): (Vec<Planned>, Vec<Planned>) = planned.into_iter().partition(|p| p.before.is_none());
    let won: Vec<(Uuid, DateTime<Utc>)> = creates
        .iter()
        .chain(&updates)
        .filter(|p| p.approves())
        .map(|p| (p.fields.customer_id.uuid(), in_force_since(p.fields.signed_on, now)))
        .collect();
    let rule = &settings.contract_numbering;
    let mut numbers = sequence::numbers(conn, tenant, ("contract", rule), today, creates.len()).await?;
    let places: Places = settings.decimal_places.contract;
    let mut events = Vec::with_capacity(creates.len() + updates.len());
    let (mut inserts, mut keys) = (Vec::with_capacity(creates.len()), Vec::with_capacity(creates.len()));
    for p in &creates {
        let number = numbers.next().unwrap_or_default();
        let mut model = draft_row(author, (ContractId::from_uuid(p.id), &number, 1, None), &p.fields, places, now);
        set_status(&mut model, p, now);
        inserts.push(model);
        keys.push((results[p.row].external_id.clone(), p.id));
        let changes = ChangeSet::new()
            .field("number", (), &number)
            .field("customerId", (), p.fields.customer_id)
            .field("amount", (), p.fields.amount)
            .field("installments", (), p.plan.as_ref().map_or(0, Vec::len))
            .field("status", ContractStatus::Draft.as_str(), p.status.as_str())
            .field("voidReason", (), p.void_reason.as_deref());
        events.push((p.id, Operation::Create, changes));
    }
    let mut rows = Vec::with_capacity(updates.len());
    for p in &updates {
        let Some((model, _)) = &p.before else { continue };
        let mut changed = row::ActiveModel::default();
        set_fields(&mut changed, &p.fields);
        set_status(&mut changed, p, now);
        let columns = (row::Column::Version, row::Column::UpdatedAt);
        rows.push(upsert_kit::overlay_next(
            row::ActiveModel::from(model.clone()),
            &changed,
            columns,
            (model.version, now),
        ));
        events.push((p.id, Operation::Update, p.changes.clone()));
    }
    let fixed = |c: &row::Column| {
        use row::Column as C;
        matches!(
            c,
            C::TenantId
                | C::Id
                | C::Number
                | C::Revision
                | C::RevisesId
                | C::CustomerId
                | C::QuoteId
                | C::Places
                | C::ReceivedE4
                | C::InvoicedE4
                | C::Attachments
                | C::ExternalId
                | C::CreatedBy
                | C::CreatedAt
                | C::DeletedAt
        )
    };
    let columns = (row::Column::TenantId, row::Column::Id, row::Column::Version);
    upsert_kit::write_versioned(conn, rows, columns, fixed, StoreError::Database).await?;
    crate::insert_chunked(conn, inserts).await?;
    let replaced: Vec<Uuid> = updates.iter().filter(|p| p.plan.is_some()).map(|p| p.id).collect();
    if !replaced.is_empty() {
        installment::Entity::delete_many()
            .filter(installment::Column::TenantId.eq(tenant.uuid()))
            .filter(installment::Column::ContractId.is_in(replaced))
            .exec(conn)
            .await?;
    }
    let plans: Vec<(ContractId, &[InstallmentDraft])> = creates
        .iter()
        .chain(&updates)
        .filter_map(|p| p.plan.as_deref().map(|plan| (ContractId::from_uuid(p.id), plan)))
        .collect();
    insert_plans(conn, tenant, &plans, settings.installment_remind_days).await?;
    let voided: Vec<Uuid> = creates.iter().chain(&updates).filter(|p| p.voids()).map(|p| p.id).collect();
    if !voided.is_empty() {
        installment::Entity::update_many()
            .col_expr(installment::Column::Void, Expr::value(true))
            .col_expr(installment::Column::UpdatedAt, Expr::value(now))
            .filter(installment::Column::TenantId.eq(tenant.uuid()))
            .filter(installment::Column::ContractId.is_in(voided))
            .exec(conn)
            .await?;
    }
    external_key::insert(conn, tenant, ENTITY, source, keys).await?;
    audit::record_many(conn, author, ENTITY, events).await?;
    crate::trade::order::mark_customers_won(conn, author, &won).await?;
    Ok(())
}
