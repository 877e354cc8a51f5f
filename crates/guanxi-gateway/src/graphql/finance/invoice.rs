//! Invoices (发票): a customer's billing profiles (开票信息) and invoice requests on
//! contracts, approved through the engine and then issued or voided by finance.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::finance::invoice::{
    BillingProfile as DomainProfile, BillingTitle as DomainTitle, Invoice as DomainInvoice,
    InvoiceStatus as DomainStatus, InvoiceTerms, TitleKind as DomainTitleKind, VatKind as DomainVatKind,
};
use guanxi_domain::platform::access::{Actor, CustomerRule, Permission};
use guanxi_store::finance::invoice::{InvoiceFilter as StoreFilter, NewInvoice, RequestScopes};
use guanxi_store::scope::OrApprover;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::approval::{ApprovalHistoryEntry, ApprovalRequest, approval_of, history_of};
use super::contract::{CONTRACT, Contract, ContractKey, contract_report_scope};
use super::receivable::trimmed;
use crate::graphql::context::{author, require, state};
use crate::graphql::customers::customer::{CUSTOMER, Customer, Money};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::loaders::{CustomerKey, ScopedLoader, UserKey, grouped};
use crate::graphql::mutation::{Idempotent, create_on_customer, write, write_by_id};
use crate::graphql::platform::org::User;
use crate::graphql::relay::{Conn, expect_id, global_id, input_id, read_by_id};
use crate::graphql::shared::OrderDirection;
use crate::graphql::trade::document::{TaxRate, loaders};

pub const INVOICE: &str = EntityKind::Invoice.name();
pub const BILLING_PROFILE: &str = EntityKind::BillingProfile.name();

/// The scope an invoice request is read and written with: the caller's `INVOICE` and
/// `CUSTOMER` scopes, or a task of theirs waiting on it.
pub fn invoice_scope(actor: &Actor) -> OrApprover {
    OrApprover { rules: EntityKind::invoice_rules(actor), approver: Some(actor.user_id) }
}

/// Billing profiles are seen with their customer.
fn profile_scope(actor: &Actor) -> CustomerRule {
    actor.customer_rule()
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainTitleKind")]
pub enum TitleKind {
    /// 企业
    Organisation,
    /// 个人
    Person,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainVatKind")]
pub enum VatKind {
    /// 增值税专用发票: an organisation with tax number, bank, account, address and phone.
    Special,
    /// 增值税普通发票
    Ordinary,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainStatus")]
pub enum InvoiceStatus {
    /// 待审批: waiting on an invoice approval flow.
    Requested,
    /// 待开票: approved, to be issued by finance.
    Approved,
    /// 已驳回
    Rejected,
    /// 已撤回
    Withdrawn,
    /// 已开票: issued, with the tax authority's number and date.
    Issued,
    /// 已作废
    Void,
}

/// Whom an invoice is made out to.
#[derive(SimpleObject)]
pub struct BillingTitle {
    pub title_kind: TitleKind,
    pub title: String,
    /// The unified social credit code (纳税人识别号).
    pub tax_number: Option<String>,
    pub bank: Option<String>,
    pub account: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
}

impl From<&DomainTitle> for BillingTitle {
    fn from(t: &DomainTitle) -> Self {
        Self {
            title_kind: t.title_kind.into(),
            title: t.title.clone(),
            tax_number: t.tax_number.clone(),
            bank: t.bank.clone(),
            account: t.account.clone(),
            address: t.address.clone(),
            phone: t.phone.clone(),
        }
    }
}

/// A customer's billing profile (开票信息).
pub struct BillingProfile(pub DomainProfile);

#[Object]
impl BillingProfile {
    pub async fn id(&self) -> ID {
        global_id(BILLING_PROFILE, self.0.id.uuid())
    }
    async fn customer_id(&self) -> ID {
        global_id(CUSTOMER, self.0.customer_id.uuid())
    }
    async fn title(&self) -> BillingTitle {
        (&self.0.title).into()
    }
    /// The customer's default profile.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// An invoice request on a contract, and the invoice issued for it (发票).
pub struct Invoice(pub DomainInvoice);

#[Object]
impl Invoice {
    pub async fn id(&self) -> ID {
        global_id(INVOICE, self.0.id.uuid())
    }
    /// The request's number (KP…).
    async fn number(&self) -> &str {
        &self.0.number
    }
    async fn status(&self) -> InvoiceStatus {
        self.0.status.into()
    }
    async fn contract_id(&self) -> ID {
        global_id(CONTRACT, self.0.contract_id.uuid())
    }
    /// The contract, when the caller may see it.
    async fn contract(&self, ctx: &Context<'_>) -> ApiResult<Option<Contract>> {
        Ok(loaders(ctx)?.load_one(ContractKey(self.0.contract_id.uuid())).await?.map(Contract))
    }
    async fn customer_id(&self) -> ID {
        global_id(CUSTOMER, self.0.customer_id.uuid())
    }
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loaders(ctx)?.load_one(CustomerKey(self.0.customer_id.uuid())).await?.map(Customer))
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(owner) = self.0.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(owner.uuid())).await?.map(User))
    }
    /// The billing profile it was made out to (its title is kept below as it was then).
    async fn profile_id(&self) -> Option<ID> {
        self.0.profile_id.map(|p| global_id(BILLING_PROFILE, p.uuid()))
    }
    /// The title as it was when the request was made.
    async fn title(&self) -> BillingTitle {
        (&self.0.title).into()
    }
    async fn vat_kind(&self) -> VatKind {
        self.0.terms.vat_kind.into()
    }
    async fn rate(&self) -> TaxRate {
        self.0.terms.rate.into()
    }
    /// 价税合计: tax included.
    async fn amount(&self) -> Money {
        Money::cny(self.0.terms.amount)
    }
    /// The tax within the amount.
    async fn tax(&self) -> Money {
        Money::cny(self.0.tax)
    }
    /// The amount before tax.
    async fn net(&self) -> Money {
        Money::cny(self.0.terms.amount - self.0.tax)
    }
    /// The amount in Chinese capitals (人民币大写).
    async fn amount_in_words(&self) -> String {
        guanxi_domain::trade::money::rmb_uppercase(self.0.terms.amount)
    }
    /// The tax authority's invoice number, once issued.
    async fn invoice_number(&self) -> Option<&str> {
        self.0.invoice_number.as_deref()
    }
    async fn issued_on(&self) -> Option<NaiveDate> {
        self.0.issued_on
    }
    async fn void_reason(&self) -> Option<&str> {
        self.0.void_reason.as_deref()
    }
    async fn voided_at(&self) -> Option<DateTime<Utc>> {
        self.0.voided_at
    }
    /// The keys other systems know this invoice by (`upsertInvoices`).
    async fn external_keys(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::integration::upsert::ExternalKey>> {
        crate::graphql::integration::upsert::external_keys(ctx, EntityKind::Invoice, self.0.id.uuid()).await
    }
    /// The ERP's reference.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
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
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

// ---------------------------------------------------------------------------------------
// Loaders

/// An invoice request by id, through the caller's scope (and their pending approvals).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvoiceKey(pub Uuid);
/// The invoice requests of a contract, through the caller's scope.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContractInvoicesKey(pub Uuid);
/// The live billing profiles of a customer, through the caller's customer scope.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProfilesKey(pub Uuid);

impl Loader<InvoiceKey> for ScopedLoader {
    type Value = DomainInvoice;
    type Error = ApiError;

    async fn load(&self, keys: &[InvoiceKey]) -> Result<HashMap<InvoiceKey, DomainInvoice>, ApiError> {
        if !self.actor.may(Permission::InvoiceRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let conn = self.db.connection();
        let found =
            guanxi_store::finance::invoice::by_ids(conn, self.actor.tenant_id, invoice_scope(&self.actor), &ids)
                .await?;
        Ok(found.into_iter().map(|i| (InvoiceKey(i.id.uuid()), i)).collect())
    }
}

impl Loader<ContractInvoicesKey> for ScopedLoader {
    type Value = Vec<DomainInvoice>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[ContractInvoicesKey],
    ) -> Result<HashMap<ContractInvoicesKey, Vec<DomainInvoice>>, ApiError> {
        if !self.actor.may(Permission::InvoiceRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let scope = invoice_scope(&self.actor);
        let conn = self.db.connection();
        let found = guanxi_store::finance::invoice::of_contracts(conn, self.actor.tenant_id, scope, &ids).await?;
        Ok(grouped(found, |i| ContractInvoicesKey(i.contract_id.uuid())))
    }
}

impl Loader<ProfilesKey> for ScopedLoader {
    type Value = Vec<DomainProfile>;
    type Error = ApiError;

    async fn load(&self, keys: &[ProfilesKey]) -> Result<HashMap<ProfilesKey, Vec<DomainProfile>>, ApiError> {
        if !self.actor.may(Permission::InvoiceRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let scope = profile_scope(&self.actor);
        let found =
            guanxi_store::finance::invoice::profiles_of(self.db.connection(), self.actor.tenant_id, scope, &ids)
                .await?;
        Ok(grouped(found, |p| ProfilesKey(p.customer_id.uuid())))
    }
}

/// A contract's invoice requests the caller may see, newest first.
pub async fn of_contract(ctx: &Context<'_>, contract: Uuid) -> ApiResult<Vec<Invoice>> {
    let found = loaders(ctx)?.load_one(ContractInvoicesKey(contract)).await?.unwrap_or_default();
    Ok(found.into_iter().map(Invoice).collect())
}

/// A customer's live billing profiles the caller may see, the default first.
pub async fn profiles_of(ctx: &Context<'_>, customer: Uuid) -> ApiResult<Vec<BillingProfile>> {
    let found = loaders(ctx)?.load_one(ProfilesKey(customer)).await?.unwrap_or_default();
    Ok(found.into_iter().map(BillingProfile).collect())
}

/// What the caller may see invoiced (issued) to a customer, for the 360 view.
pub async fn issued_to(ctx: &Context<'_>, actor: &Actor, customer: Uuid) -> ApiResult<Decimal> {
    if !actor.may(Permission::InvoiceRead) {
        return Ok(Decimal::ZERO);
    }
    let scope = OrApprover { rules: EntityKind::invoice_rules(actor), approver: None };
    let mut by_customer = guanxi_store::finance::invoice::issued_by_customer(
        state(ctx).db.connection(),
        actor.tenant_id,
        scope,
        &[customer],
    )
    .await?;
    Ok(by_customer.remove(&customer).unwrap_or_default())
}

/// Filters invoice requests.
#[derive(InputObject, Default)]
pub struct InvoiceFilter {
    pub contract_id: Option<ID>,
    pub customer_id: Option<ID>,
    pub status: Option<Vec<InvoiceStatus>>,
    pub issued_from: Option<NaiveDate>,
    pub issued_to: Option<NaiveDate>,
}

impl InvoiceFilter {
    fn to_store(&self) -> ApiResult<StoreFilter> {
        let window = (self.issued_from, self.issued_to);
        super::document_filter((&self.contract_id, &self.customer_id), &self.status, window)
    }
}

/// A page of invoice requests the caller may see.
pub async fn invoice_connection(
    ctx: &Context<'_>,
    store: StoreFilter,
    (first, after): (Option<i32>, Option<String>),
    direction: OrderDirection,
) -> ApiResult<Conn<Invoice>> {
    let access = (Permission::InvoiceRead, invoice_scope as fn(&Actor) -> OrApprover);
    super::document_page::<guanxi_store::finance::invoice::Invoices, _>(
        ctx,
        access,
        store,
        (first, after, direction),
        Invoice,
    )
    .await
}

#[derive(Default)]
pub struct InvoiceQuery;

#[Object]
impl InvoiceQuery {
    /// An invoice request by id: in the caller's scope, or waiting on their approval.
    async fn invoice(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Invoice> {
        let found = read_by_id::<guanxi_store::finance::invoice::Invoices>(
            ctx,
            Permission::InvoiceRead,
            (&id, INVOICE),
            invoice_scope,
        )
        .await?;
        Ok(Invoice(found))
    }

    /// Invoice requests the caller may see, newest first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<InvoiceFilter>,
        #[graphql(default_with = "OrderDirection::Desc")] direction: OrderDirection,
    ) -> ApiResult<Conn<Invoice>> {
        invoice_connection(ctx, filter.unwrap_or_default().to_store()?, (first, after), direction).await
    }

    /// A customer's billing profiles, the default first (empty when the caller does not
    /// see the customer).
    async fn billing_profiles(&self, ctx: &Context<'_>, customer_id: ID) -> ApiResult<Vec<BillingProfile>> {
        require(ctx, Permission::InvoiceRead)?;
        profiles_of(ctx, expect_id(&customer_id, CUSTOMER)?).await
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

/// A billing profile's fields.
#[derive(InputObject, Serialize)]
pub struct BillingTitleInput {
    pub title_kind: TitleKind,
    pub title: String,
    /// Required for an organisation; checked as a unified social credit code.
    pub tax_number: Option<String>,
    pub bank: Option<String>,
    pub account: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
}

impl BillingTitleInput {
    pub(crate) fn to_domain(&self) -> DomainTitle {
        DomainTitle {
            title_kind: self.title_kind.into(),
            title: self.title.clone(),
            tax_number: trimmed(&self.tax_number),
            bank: trimmed(&self.bank),
            account: trimmed(&self.account),
            address: trimmed(&self.address),
            phone: trimmed(&self.phone),
        }
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateBillingProfileInput {
    pub customer_id: ID,
    pub profile: BillingTitleInput,
    /// Make it the customer's default (a customer's first profile always is).
    #[graphql(default)]
    pub is_default: bool,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateBillingProfileInput {
    pub id: ID,
    pub expected_version: i32,
    pub profile: BillingTitleInput,
    #[graphql(default)]
    pub is_default: bool,
}

#[derive(InputObject)]
pub struct DeleteBillingProfileInput {
    pub id: ID,
    pub expected_version: i32,
}

#[derive(InputObject, Serialize)]
pub struct RequestInvoiceInput {
    pub contract_id: ID,
    /// One of the contract customer's billing profiles.
    pub profile_id: ID,
    pub vat_kind: VatKind,
    pub rate: TaxRate,
    /// 价税合计, in the contract's decimal places; together with the contract's other
    /// live requests at most the contract amount.
    pub amount: Decimal,
    /// The ERP's reference; unique per tenant.
    pub external_id: Option<String>,
    pub note: Option<String>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct IssueInvoiceInput {
    pub id: ID,
    pub expected_version: i32,
    /// The tax authority's number: 8 digits, or 20 for a fully digital invoice (数电发票).
    pub invoice_number: String,
    pub issued_on: NaiveDate,
}

#[derive(InputObject)]
pub struct VoidInvoiceInput {
    pub id: ID,
    pub expected_version: i32,
    pub reason: String,
}

crate::graphql::error::payload! {
    BillingProfilePayload, billing_profile: BillingProfile(DomainProfile)
}

crate::graphql::error::payload! {
    InvoicePayload, invoice: Invoice(DomainInvoice)
}

#[derive(Default)]
pub struct InvoiceMutation;

#[Object]
impl InvoiceMutation {
    /// Adds a billing profile to a customer the caller may see (`invoice.write`).
    async fn create_billing_profile(
        &self,
        ctx: &Context<'_>,
        input: CreateBillingProfileInput,
    ) -> ApiResult<BillingProfilePayload> {
        let title = (input.profile.to_domain(), input.is_default);
        create_on_customer::<guanxi_store::finance::invoice::BillingProfiles, _, _, _>(
            ctx,
            (Permission::InvoiceWrite, "createBillingProfile"),
            (&input.customer_id, Ok(title)),
            (input.idempotency_key.as_deref(), &input),
            |tx, author, scope, (customer, title)| {
                Box::pin(async move {
                    let created =
                        guanxi_store::finance::invoice::create_profile(tx, &author, scope, customer, title).await?;
                    Ok((created.id.uuid(), created))
                })
            },
        )
        .await
    }

    /// Rewrites a billing profile; requests already made keep their title.
    async fn update_billing_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateBillingProfileInput,
    ) -> ApiResult<BillingProfilePayload> {
        let version = input.expected_version;
        let title = (input.profile.to_domain(), input.is_default);
        write_by_id(
            ctx,
            Permission::InvoiceWrite,
            (&input.id, BILLING_PROFILE),
            profile_scope,
            move |tx, author, scope, id| {
                Box::pin(async move {
                    guanxi_store::finance::invoice::update_profile(tx, &author, scope, (id, version), title).await
                })
            },
        )
        .await
    }

    /// Moves a billing profile to the recycle bin.
    async fn delete_billing_profile(
        &self,
        ctx: &Context<'_>,
        input: DeleteBillingProfileInput,
    ) -> ApiResult<BillingProfilePayload> {
        let version = input.expected_version;
        write_by_id(
            ctx,
            Permission::InvoiceWrite,
            (&input.id, BILLING_PROFILE),
            profile_scope,
            move |tx, author, scope, id| {
                Box::pin(async move {
                    guanxi_store::finance::invoice::delete_profile(tx, &author, scope, (id, version)).await
                })
            },
        )
        .await
    }

    /// Requests an invoice on an approved contract (`invoice.write`). It holds its amount
    /// against the contract at once; it is approved at once unless an invoice approval
    /// flow applies.
    async fn request_invoice(&self, ctx: &Context<'_>, input: RequestInvoiceInput) -> ApiResult<InvoicePayload> {
        let actor = require(ctx, Permission::InvoiceWrite)?.writing();
        let mut errors = Vec::new();
        let contract = input_id("contractId", &input.contract_id, CONTRACT).map_err(|e| errors.push(e)).ok();
        let profile = input_id("profileId", &input.profile_id, BILLING_PROFILE).map_err(|e| errors.push(e)).ok();
        let (Some(contract_id), Some(profile_id)) = (contract, profile) else { return Ok(Err(errors).into()) };
        let new = NewInvoice {
            contract_id,
            profile_id,
            terms: InvoiceTerms { vat_kind: input.vat_kind.into(), rate: input.rate.into(), amount: input.amount },
            external_id: trimmed(&input.external_id),
            note: trimmed(&input.note),
        };
        let author = author(ctx, &actor);
        let scopes = RequestScopes { contracts: contract_report_scope(&actor), customers: profile_scope(&actor) };
        let scope = invoice_scope(&actor);
        let (tenant, department) = (actor.tenant_id, actor.department_id);
        let idempotent = Idempotent::new(&actor, "requestInvoice", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let created =
                        guanxi_store::finance::invoice::request(tx, &author, scopes, new, Some(department)).await?;
                    Ok((created.id.uuid(), created))
                })
            },
            crate::graphql::mutation::reload_scoped::<guanxi_store::finance::invoice::Invoices>(tenant, scope),
        )
        .await?;
        Ok(result.into())
    }

    /// Records an approved request as issued, with the tax authority's number and date
    /// (`invoice.issue`).
    async fn issue_invoice(&self, ctx: &Context<'_>, input: IssueInvoiceInput) -> ApiResult<InvoicePayload> {
        let (version, number, issued_on) = (input.expected_version, input.invoice_number, input.issued_on);
        write_by_id(ctx, Permission::InvoiceIssue, (&input.id, INVOICE), invoice_scope, move |tx, author, scope, id| {
            Box::pin(async move {
                guanxi_store::finance::invoice::issue(tx, &author, scope, (id, version), (&number, issued_on)).await
            })
        })
        .await
    }

    /// Voids an approved or issued invoice with a reason (`invoice.issue`), giving its
    /// amount back to the contract.
    async fn void_invoice(&self, ctx: &Context<'_>, input: VoidInvoiceInput) -> ApiResult<InvoicePayload> {
        let (version, reason) = (input.expected_version, input.reason);
        write_by_id(ctx, Permission::InvoiceIssue, (&input.id, INVOICE), invoice_scope, move |tx, author, scope, id| {
            Box::pin(
                async move { guanxi_store::finance::invoice::void(tx, &author, scope, (id, version), &reason).await },
            )
        })
        .await
    }
}
