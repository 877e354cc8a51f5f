//! What the bulk upserts of a contract's money documents share (`receipt_upsert`,
//! `invoice_upsert`): the contracts a call's rows land on, read once and kept as the call
//! leaves them (`Account`), and a new document's first checks against its contract.

use std::collections::HashMap;

use guanxi_domain::entity::{EntityKind, OwnerAndCustomer};
use guanxi_domain::finance::contract::{Contract, ContractStatus};
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::upsert::{Mode, RowResult};
use guanxi_domain::trade::money::Places;
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter};
use uuid::Uuid;

use super::contract::Contracts;
use crate::entity::contract;
use crate::error::StoreResult;
use crate::platform::audit::Author;
use crate::platform::upsert::{self as upsert_kit, IdOf, Paired};
use crate::repo::Scoped;
use crate::scope::OrApprover;

/// A contract a call's documents land on, as the call leaves it.
pub(crate) struct Account<X> {
    pub model: contract::Model,
    /// In the caller's scope for new documents (a reversal or a void reads its contract
    /// whatever the scope).
    pub open: bool,
    pub places: Places,
    /// What is received or invoiced on it.
    pub figure: Decimal,
    /// How far the call moved `figure`.
    pub delta: Decimal,
    /// The call's documents that moved it, for its change event.
    pub documents: Vec<Uuid>,
    /// What the kind keeps besides (a receipt's plan, an invoice's billing profiles).
    pub extra: X,
}

impl<X> Account<X> {
    /// Moves the figure by `amount` (negative to give it back).
    pub fn shift(&mut self, amount: Decimal) {
        self.figure += amount;
        self.delta += amount;
    }
}

/// The contracts a call's rows land on, each once: those new documents go on through the
/// caller's scope (`open`), those stored documents are undone on whatever the scope; one
/// statement each.
pub(crate) async fn contracts_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rules: OwnerAndCustomer,
    (new_on, undone_on): (Vec<Uuid>, Vec<Uuid>),
) -> StoreResult<Vec<(contract::Model, bool)>> {
    let backend = conn.get_database_backend();
    let mut found: Vec<(contract::Model, bool)> = Vec::new();
    if !new_on.is_empty() {
        let scope = OrApprover { rules, approver: None };
        let select = Contracts::live(backend, tenant, scope).filter(contract::Column::Id.is_in(new_on));
        found.extend(select.all(conn).await?.into_iter().map(|m| (m, true)));
    }
    if !undone_on.is_empty() {
        let select = Contracts::visible(backend, tenant, OrApprover::ALL).filter(contract::Column::Id.is_in(undone_on));
        for model in select.all(conn).await? {
            if !found.iter().any(|(m, _)| m.id == model.id) {
                found.push((model, false));
            }
        }
    }
    Ok(found)
}

/// The call's accounts of `contracts_of`, with the figure `figure` reads off each contract
/// and what `extra` keeps.
pub(crate) fn accounts<X>(
    found: Vec<(contract::Model, bool)>,
    figure: fn(&Contract) -> Decimal,
    mut extra: impl FnMut(&contract::Model) -> X,
) -> StoreResult<HashMap<Uuid, Account<X>>> {
    let mut accounts = HashMap::with_capacity(found.len());
    for (model, open) in found {
        let domain = super::contract::to_domain(model.clone())?;
        let extra = extra(&model);
        let account = Account {
            open,
            places: domain.places,
            figure: figure(&domain),
            delta: Decimal::ZERO,
            documents: vec![],
            extra,
            model,
        };
        accounts.insert(account.model.id, account);
    }
    Ok(accounts)
}

/// What a new document's first checks look for.
pub(crate) struct NewChecks<'a> {
    /// "receipt", "invoice".
    pub label: &'a str,
    /// Each field a new document needs, and whether the row gives it.
    pub required: &'a [(&'a str, bool)],
    /// Why the row's status is refused on a new document, when it is (sent as already
    /// reversed or void).
    pub undone: Option<&'a str>,
    /// The contract statuses it may go on, and what it does there ("money is received").
    pub statuses: (&'a [ContractStatus], &'a str),
}

/// A new document's first checks: every field it needs given, a status it may be created
/// in, and its contract one the call read open to the caller and in a status it may go
/// on. Every failure at once, but for the contract's status, which is checked last.
pub(crate) fn new_on<'a, X>(
    accounts: &'a HashMap<Uuid, Account<X>>,
    contract: Option<Uuid>,
    checks: NewChecks<'_>,
) -> Result<&'a Account<X>, Invalid> {
    let mut invalid = Invalid::default();
    for (field, given) in checks.required {
        if !given {
            let message = format!("a new {} needs {field}", checks.label);
            invalid.push(FieldError::new(*field, ErrorCode::Required, message));
        }
    }
    if let Some(message) = checks.undone {
        invalid.push(FieldError::new("status", ErrorCode::IllegalState, message));
    }
    let account = contract.and_then(|c| accounts.get(&c)).filter(|a| a.open);
    if contract.is_some() && account.is_none() {
        invalid.push(FieldError::new("contractId", ErrorCode::NotFound, "no such contract"));
    }
    let (Some(account), true) = (account, invalid.is_empty()) else { return Err(invalid) };
    let status = ContractStatus::parse(&account.model.status).unwrap_or(ContractStatus::Draft);
    let (allowed, doing) = checks.statuses;
    if !allowed.contains(&status) {
        let message = format!("{doing} on approved contracts; this one is {}", status.label_zh());
        return Err(Invalid::one("contractId", ErrorCode::IllegalState, message));
    }
    Ok(account)
}

/// What a money document's row plan says of the stored document it acts on.
pub(crate) trait Acts {
    /// The stored document the plan acts on (`None` for a new one).
    fn stored_id(&self) -> Option<Uuid>;
}

/// A row's plan placed at its row, with the id of the document it writes: `plan` is
/// `None` for a stored document the row leaves as it is.
pub(crate) struct Planned<P> {
    pub row: usize,
    pub id: Uuid,
    pub plan: Option<P>,
}

impl<P> Planned<P> {
    /// A row that creates a document, or acts on the stored `id` (`plan` `None`: nothing
    /// to do).
    pub fn new(id: Option<Uuid>, plan: Option<P>) -> Self {
        Self { row: 0, id: id.unwrap_or_else(Uuid::nil), plan }
    }
}

impl<P: Acts> crate::platform::upsert::RowPlan for Planned<P> {
    fn stored_id(&self) -> Option<Uuid> {
        match &self.plan {
            Some(plan) => plan.stored_id(),
            None => Some(self.id),
        }
    }

    fn changed(&self) -> bool {
        self.plan.is_some()
    }

    fn place(&mut self, row: usize, id: Uuid) {
        (self.row, self.id) = (row, id);
    }

    fn row(&self) -> usize {
        self.row
    }
}

/// A money document's bulk upsert (`receipt_upsert`, `invoice_upsert`), as [`upsert`]
/// drives it: the caller's rules, and the kind's reads, plans and writes.
pub(crate) trait MoneyUpsert: Copy
where
    Model<Self>: Clone,
{
    /// The documents, read through the caller's scope.
    type Repo: Scoped<Scope = OrApprover>;
    /// What a row says.
    type Patch;
    type Plan: Acts;
    /// What the call read for its rows' plans.
    type Reads;
    const KIND: EntityKind;
    /// "receipt", "invoice".
    const LABEL: &'static str;

    /// The caller's scope over the documents.
    fn scope(self) -> OrApprover;
    /// A stored row's id.
    fn id_of(model: &Model<Self>) -> Uuid;
    /// The call's reads (`caller`: the tenant, and whether a user calls rather than an API
    /// key).
    async fn read<C: ConnectionTrait>(
        self,
        conn: &C,
        caller: (TenantId, bool),
        paired: &[Paired<Model<Self>, Self::Patch>],
    ) -> StoreResult<Self::Reads>;
    /// A row's plan, what it moves kept in `reads` as the call leaves it.
    fn plan(
        self,
        reads: &mut Self::Reads,
        stored: Option<Model<Self>>,
        patch: Self::Patch,
    ) -> Result<Planned<Self::Plan>, Invalid>;
    /// Writes the accepted rows (`call`: the source, and the reads as the plans left them).
    async fn write<C: ConnectionTrait>(
        self,
        conn: &C,
        author: &Author,
        call: (&str, &mut Self::Reads),
        results: &[RowResult],
        planned: Vec<Planned<Self::Plan>>,
    ) -> StoreResult<()>;
}

/// A money document kind's stored row.
pub(crate) type Model<U> = <<<U as MoneyUpsert>::Repo as Scoped>::Entity as sea_orm::EntityTrait>::Model;

/// Upserts a call's money documents of one kind inside the caller's transaction and
/// answers each row: the keys and documents they name, the kind's reads, each row planned
/// in order, then one write of the accepted rows.
pub(crate) async fn upsert<U: MoneyUpsert, C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rules: U,
    (source, mode): (&str, Mode),
    rows: Vec<(String, Result<U::Patch, Invalid>)>,
) -> StoreResult<Vec<RowResult>> {
    let tenant = author.tenant_id;
    let call = (U::KIND, source, U::LABEL);
    let read_rows = (U::id_of as IdOf<U::Repo>, |m: &Model<U>| Ok(m.clone()));
    let (keys, paired) =
        upsert_kit::stage_rows::<U::Repo, _, _, _>(conn, (tenant, rules.scope()), call, rows, read_rows).await?;
    let mut reads = rules.read(conn, (tenant, author.user_id.is_some()), &paired).await?;
    let plan = |stored, patch| rules.plan(&mut reads, stored, patch);
    let (results, planned) = upsert_kit::plan_rows(mode, keys, paired, plan);
    let Some(planned) = planned else { return Ok(results) };
    rules.write(conn, author, (source, &mut reads), &results, planned).await?;
    Ok(results)
}
