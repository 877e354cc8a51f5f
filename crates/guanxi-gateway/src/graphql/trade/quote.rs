//! Quotes (报价单) over GraphQL: lists, the state machine's mutations, revisions.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::platform::access::{Actor, Permission};
use guanxi_domain::trade::document::{Quote as DomainQuote, QuoteAction, QuoteStatus as DomainStatus};
use guanxi_store::page::Direction;
use guanxi_store::trade::quote::{QuoteEdit, QuoteFilter as StoreFilter, QuoteSort};
use rust_decimal::Decimal;
use serde::Serialize;

use super::document::{DocumentHeaderInput, DocumentLine, DocumentTotals, LineInput, TaxMode, store_lines};
use crate::graphql::context::{actor, require, state};
use crate::graphql::customers::customer::{CUSTOMER, Customer, Money};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{CustomerKey, UserKey};
use crate::graphql::mutation::{Idempotent, write, write_by_id};
use crate::graphql::platform::org::{USER, User};
use crate::graphql::relay::{Conn, expect_id, global_id, listed, page_request, read_by_id};
use crate::graphql::shared::{IdFilter, OrderDirection, TimeRange};

pub const QUOTE: &str = EntityKind::Quote.name();

/// The rules a quote is read with.
pub fn quote_scope(actor: &Actor) -> guanxi_domain::entity::OwnerAndCustomer {
    EntityKind::quote_rules(actor)
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainStatus")]
pub enum QuoteStatus {
    /// 草稿: editable.
    Draft,
    /// 待审批: its discount passed the tenant's threshold.
    PendingApproval,
    /// 已审批: may be sent.
    Approved,
    /// 已发送
    Sent,
    /// 已接受: may become an order.
    Accepted,
    /// 已拒绝
    Rejected,
    /// 已过期: sent and past its validity date.
    Expired,
}

/// One revision of a quote (报价单).
pub struct Quote(pub DomainQuote);

#[Object]
impl Quote {
    pub async fn id(&self) -> ID {
        global_id(QUOTE, self.0.id.uuid())
    }
    /// Shared by every revision.
    async fn number(&self) -> &str {
        &self.0.number
    }
    async fn revision(&self) -> i32 {
        self.0.revision
    }
    /// Set when a later revision replaced this one; a replaced revision is read-only.
    async fn superseded_at(&self) -> Option<DateTime<Utc>> {
        self.0.superseded_at
    }
    /// As of today (Asia/Shanghai): a sent quote past its validity reads EXPIRED.
    async fn status(&self) -> QuoteStatus {
        self.0.status_on(shanghai_date(Utc::now())).into()
    }
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        let loaders = super::document::loaders(ctx)?;
        Ok(loaders.load_one(CustomerKey(self.0.header.customer_id.uuid())).await?.map(Customer))
    }
    async fn customer_id(&self) -> ID {
        global_id(CUSTOMER, self.0.header.customer_id.uuid())
    }
    async fn contact_id(&self) -> Option<ID> {
        super::document::header_ids(&self.0.header).1
    }
    async fn opportunity_id(&self) -> Option<ID> {
        super::document::header_ids(&self.0.header).2
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(owner) = self.0.header.owner_id else { return Ok(None) };
        Ok(super::document::loaders(ctx)?.load_one(UserKey(owner.uuid())).await?.map(User))
    }
    async fn tax_mode(&self) -> TaxMode {
        self.0.header.tax_mode.into()
    }
    /// Percent off every line.
    async fn discount(&self) -> Decimal {
        self.0.header.discount.normalize()
    }
    /// The tenant's decimal places for quotes when this one was made.
    async fn decimal_places(&self) -> u32 {
        self.0.header.places.get()
    }
    async fn lines(&self, ctx: &Context<'_>) -> ApiResult<Vec<DocumentLine>> {
        let lines = super::document::lines_of(ctx, guanxi_store::trade::lines::Parent::Quote(self.0.id.uuid())).await?;
        Ok(super::document::wrap_lines(lines, self.0.header.places))
    }
    async fn totals(&self, ctx: &Context<'_>) -> ApiResult<DocumentTotals> {
        let lines = super::document::lines_of(ctx, guanxi_store::trade::lines::Parent::Quote(self.0.id.uuid())).await?;
        Ok(super::document::totals(&self.0.totals, &lines, self.0.header.places))
    }
    /// What the customer pays, tax included.
    async fn total(&self) -> Money {
        super::document::money(self.0.totals.gross, self.0.header.places)
    }
    async fn valid_until(&self) -> Option<NaiveDate> {
        self.0.valid_until
    }
    /// Terms and conditions.
    async fn terms(&self) -> Option<&str> {
        self.0.terms.as_deref()
    }
    async fn notes(&self) -> Option<&str> {
        self.0.header.notes.as_deref()
    }
    async fn approved_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(user) = self.0.approved_by else { return Ok(None) };
        Ok(super::document::loaders(ctx)?.load_one(UserKey(user.uuid())).await?.map(User))
    }
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    /// Why it was returned from approval or rejected.
    async fn decision_reason(&self) -> Option<&str> {
        self.0.decision_reason.as_deref()
    }
    /// The latest request to a QUOTE approval flow, when one applied.
    async fn approval(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<crate::graphql::finance::approval::ApprovalRequest>> {
        crate::graphql::finance::approval::approval_of(ctx, self.0.id.uuid()).await
    }
    /// Every action of its approval flows, oldest first.
    async fn approval_history(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::finance::approval::ApprovalHistoryEntry>> {
        crate::graphql::finance::approval::history_of(ctx, self.0.id.uuid()).await
    }
    /// Every revision of this quote the caller may see, oldest first.
    async fn revisions(&self, ctx: &Context<'_>) -> ApiResult<Vec<Quote>> {
        let loaders = super::document::loaders(ctx)?;
        let all = loaders.load_one(RevisionsKey(self.0.number.clone())).await?.unwrap_or_default();
        Ok(all.into_iter().map(Quote).collect())
    }
    /// A link to the printable quote (HTML), valid for ten minutes, that needs no other
    /// credential.
    async fn document_url(&self, ctx: &Context<'_>) -> ApiResult<String> {
        crate::documents::quote_link(ctx, self.0.id.uuid())
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
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
}

/// The revisions of a quote number, through the caller's scope.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RevisionsKey(pub String);

impl async_graphql::dataloader::Loader<RevisionsKey> for crate::graphql::loaders::ScopedLoader {
    type Value = Vec<DomainQuote>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[RevisionsKey],
    ) -> Result<std::collections::HashMap<RevisionsKey, Vec<DomainQuote>>, ApiError> {
        let numbers: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let scope = quote_scope(&self.actor);
        let all =
            guanxi_store::trade::quote::revisions(self.db.connection(), self.actor.tenant_id, scope, &numbers).await?;
        let mut found: std::collections::HashMap<RevisionsKey, Vec<DomainQuote>> =
            keys.iter().map(|k| (k.clone(), Vec::new())).collect();
        for quote in all {
            found.entry(RevisionsKey(quote.number.clone())).or_default().push(quote);
        }
        Ok(found)
    }
}

/// Filters quotes.
#[derive(InputObject, Default, Clone)]
pub struct QuoteFilter {
    /// A part of the number.
    pub number: Option<String>,
    pub customer_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    pub opportunity_id: Option<ID>,
    pub status: Option<Vec<QuoteStatus>>,
    pub created_at: Option<TimeRange>,
    /// Replaced revisions too (only the latest otherwise).
    #[graphql(default)]
    pub all_revisions: bool,
    /// True for the recycle bin.
    pub deleted: Option<bool>,
}

impl QuoteFilter {
    fn to_store(&self) -> Result<StoreFilter, ApiError> {
        Ok(StoreFilter {
            number: self.number.clone(),
            customer_id: self.customer_id.as_ref().map(|f| f.to_store(CUSTOMER)).transpose()?,
            owner_id: self.owner_id.as_ref().map(|f| f.to_store(USER)).transpose()?,
            opportunity_id: self
                .opportunity_id
                .as_ref()
                .map(|o| expect_id(o, crate::graphql::sales::opportunity::OPPORTUNITY))
                .transpose()?,
            status: self.status.as_ref().map(|s| s.iter().map(|k| (*k).into()).collect()),
            created_at: self.created_at.as_ref().map(TimeRange::to_store),
            all_revisions: self.all_revisions,
            deleted: self.deleted,
        })
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DocumentOrderField {
    UpdatedAt,
    CreatedAt,
    Total,
}

#[derive(InputObject, Clone, Copy)]
pub struct DocumentOrder {
    pub field: DocumentOrderField,
    #[graphql(default_with = "OrderDirection::Desc")]
    pub direction: OrderDirection,
}

/// A page of quotes (of one customer when `customer` is given).
pub(crate) async fn quote_connection(
    ctx: &Context<'_>,
    filter: StoreFilter,
    (first, after): (Option<i32>, Option<String>),
    order: Option<DocumentOrder>,
) -> ApiResult<Conn<Quote>> {
    let actor = actor(ctx)?.clone();
    let order = order.map_or((QuoteSort::UpdatedAt, Direction::Desc), |o| {
        let sort = match o.field {
            DocumentOrderField::UpdatedAt => QuoteSort::UpdatedAt,
            DocumentOrderField::CreatedAt => QuoteSort::CreatedAt,
            DocumentOrderField::Total => QuoteSort::Total,
        };
        (sort, o.direction.into())
    });
    let request = page_request(first, after, None, None, guanxi_store::trade::quote::sort_name(order.0))?;
    let query = (quote_scope(&actor), filter, order);
    listed::<guanxi_store::trade::quote::Quotes, _>(&state(ctx).db, actor.tenant_id, query, &request, Quote).await
}

#[derive(Default)]
pub struct QuoteQuery;

#[Object]
impl QuoteQuery {
    /// A quote revision by id.
    async fn quote(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Quote> {
        let read = (&id, QUOTE);
        Ok(Quote(
            read_by_id::<guanxi_store::trade::quote::Quotes>(ctx, Permission::QuoteRead, read, quote_scope).await?,
        ))
    }

    /// Quotes the caller may see (their own scope and their customer's), the latest
    /// revision of each unless `filter.allRevisions`. Default order: most recently
    /// updated first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn quotes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<QuoteFilter>,
        order_by: Option<DocumentOrder>,
    ) -> ApiResult<Conn<Quote>> {
        require(ctx, Permission::QuoteRead)?;
        let filter = filter.map(|f| f.to_store()).transpose()?.unwrap_or_default();
        quote_connection(ctx, filter, (first, after), order_by).await
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

#[derive(InputObject, Serialize)]
pub struct CreateQuoteInput {
    #[graphql(flatten)]
    pub header: DocumentHeaderInput,
    pub valid_until: Option<NaiveDate>,
    pub terms: Option<String>,
    pub lines: Vec<LineInput>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateQuoteInput {
    pub id: ID,
    pub expected_version: i32,
    /// The header as it should be (its customer stays).
    pub header: Option<DocumentHeaderInput>,
    pub valid_until: MaybeUndefined<NaiveDate>,
    pub terms: MaybeUndefined<String>,
    /// Every line as it should be, priced again; the lines stay when left out.
    pub lines: Option<Vec<LineInput>>,
}

#[derive(InputObject)]
pub struct QuoteActionInput {
    pub id: ID,
    pub expected_version: i32,
    /// Why, for a return or a rejection.
    pub reason: Option<String>,
}

crate::graphql::error::payload! {
    QuotePayload, quote: Quote(DomainQuote)
}

fn optional_text(value: &MaybeUndefined<String>) -> Option<Option<String>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v.trim().to_owned()).filter(|v| !v.is_empty())),
    }
}

fn check_terms(terms: Option<&str>) -> Result<(), Vec<UserError>> {
    if terms.is_some_and(|t| t.chars().count() > 5000) {
        return Err(vec![UserError::new(
            "terms",
            guanxi_domain::ErrorCode::Invalid,
            "terms are at most 5000 characters",
        )]);
    }
    Ok(())
}

/// Moves a quote through one step of its state machine.
async fn act(
    ctx: &Context<'_>,
    input: QuoteActionInput,
    action: QuoteAction,
    permission: Permission,
) -> ApiResult<QuotePayload> {
    let (version, reason) = (input.expected_version, input.reason);
    let department = crate::graphql::context::actor(ctx)?.department_id;
    write_by_id(ctx, permission, (&input.id, QUOTE), quote_scope, move |tx, author, scope, id| {
        Box::pin(async move {
            let act = (action, reason.as_deref());
            guanxi_store::trade::quote::act(tx, &author, scope, (id, version), act, Some(department)).await
        })
    })
    .await
}

#[derive(Default)]
pub struct QuoteMutation;

#[Object]
impl QuoteMutation {
    /// Opens a quote in DRAFT; each line is priced by the policies unless it names its
    /// own price.
    async fn create_quote(&self, ctx: &Context<'_>, input: CreateQuoteInput) -> ApiResult<QuotePayload> {
        let actor = require(ctx, Permission::QuoteWrite)?.writing();
        let header = input.header.to_store(Some(actor.user_id));
        let lines = store_lines(&input.lines);
        let checked = check_terms(input.terms.as_deref());
        let (header, lines) = match (header, lines, checked) {
            (Ok(h), Ok(l), Ok(())) => (h, l),
            (h, l, c) => {
                let errors = [h.err(), l.err(), c.err()].into_iter().flatten().flatten().collect();
                return Ok(Err(errors).into());
            }
        };
        let author = crate::graphql::context::author(ctx, &actor);
        let scope = quote_scope(&actor);
        let tenant = actor.tenant_id;
        let new = guanxi_store::trade::quote::NewQuote {
            header,
            links: super::document::links(&actor),
            valid_until: input.valid_until,
            terms: input.terms.clone().filter(|t| !t.trim().is_empty()),
            lines,
        };
        let idempotent = Idempotent::new(&actor, "createQuote", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let created = guanxi_store::trade::quote::create(tx, &author, scope, new).await?;
                    Ok((created.id.uuid(), created))
                })
            },
            crate::graphql::mutation::reload_scoped::<guanxi_store::trade::quote::Quotes>(tenant, scope),
        )
        .await?;
        Ok(result.into())
    }

    /// Edits a quote in DRAFT (revise a sent one instead).
    async fn update_quote(&self, ctx: &Context<'_>, input: UpdateQuoteInput) -> ApiResult<QuotePayload> {
        let actor = require(ctx, Permission::QuoteWrite)?;
        let header = input.header.as_ref().map(|h| h.to_store(None)).transpose();
        let lines = input.lines.as_ref().map(|l| store_lines(l)).transpose();
        let terms = optional_text(&input.terms);
        let checked = check_terms(terms.clone().flatten().as_deref());
        let (header, lines) = match (header, lines, checked) {
            (Ok(h), Ok(l), Ok(())) => (h, l),
            (h, l, c) => {
                let errors = [h.err(), l.err(), c.err()].into_iter().flatten().flatten().collect();
                return Ok(Err(errors).into());
            }
        };
        let valid_until = match input.valid_until {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(v) => Some(Some(v)),
        };
        let edit = QuoteEdit { header, links: super::document::links(&actor.writing()), valid_until, terms, lines };
        let version = input.expected_version;
        write_by_id(ctx, Permission::QuoteWrite, (&input.id, QUOTE), quote_scope, move |tx, author, scope, id| {
            Box::pin(async move { guanxi_store::trade::quote::update(tx, &author, scope, (id, version), edit).await })
        })
        .await
    }

    /// Submits a draft whose discount passes the tenant's threshold for approval.
    async fn submit_quote(&self, ctx: &Context<'_>, input: QuoteActionInput) -> ApiResult<QuotePayload> {
        act(ctx, input, QuoteAction::Submit, Permission::QuoteWrite).await
    }

    /// Approves a quote pending approval (`quote.approve`).
    async fn approve_quote(&self, ctx: &Context<'_>, input: QuoteActionInput) -> ApiResult<QuotePayload> {
        act(ctx, input, QuoteAction::Approve, Permission::QuoteApprove).await
    }

    /// Returns a quote pending approval to its author as a draft, with a reason
    /// (`quote.approve`).
    async fn return_quote(&self, ctx: &Context<'_>, input: QuoteActionInput) -> ApiResult<QuotePayload> {
        act(ctx, input, QuoteAction::Return, Permission::QuoteApprove).await
    }

    /// Marks a draft (within the threshold) or an approved quote sent to the customer.
    async fn send_quote(&self, ctx: &Context<'_>, input: QuoteActionInput) -> ApiResult<QuotePayload> {
        act(ctx, input, QuoteAction::Send, Permission::QuoteWrite).await
    }

    /// The customer accepted a sent quote (before its validity ended).
    async fn accept_quote(&self, ctx: &Context<'_>, input: QuoteActionInput) -> ApiResult<QuotePayload> {
        act(ctx, input, QuoteAction::Accept, Permission::QuoteWrite).await
    }

    /// The customer rejected a sent quote, with a reason.
    async fn reject_quote(&self, ctx: &Context<'_>, input: QuoteActionInput) -> ApiResult<QuotePayload> {
        act(ctx, input, QuoteAction::Reject, Permission::QuoteWrite).await
    }

    /// Starts the next revision (a draft) of an approved, sent, rejected or expired quote;
    /// the old one stays readable.
    async fn revise_quote(&self, ctx: &Context<'_>, input: QuoteActionInput) -> ApiResult<QuotePayload> {
        let version = input.expected_version;
        write_by_id(ctx, Permission::QuoteWrite, (&input.id, QUOTE), quote_scope, move |tx, author, scope, id| {
            Box::pin(async move { guanxi_store::trade::quote::revise(tx, &author, scope, (id, version)).await })
        })
        .await
    }

    /// Moves a draft, rejected or expired quote to the recycle bin.
    async fn delete_quote(&self, ctx: &Context<'_>, input: QuoteActionInput) -> ApiResult<QuotePayload> {
        let version = input.expected_version;
        write_by_id(ctx, Permission::QuoteWrite, (&input.id, QUOTE), quote_scope, move |tx, author, scope, id| {
            Box::pin(async move { guanxi_store::trade::quote::delete(tx, &author, scope, (id, version)).await })
        })
        .await
    }
}
