//! Quotes (报价单). A quote is visible when its owner is within the caller's `QUOTE` scope
//! and its customer is live and within the `CUSTOMER` scope. Every revision is a row of
//! its own sharing the number; a new revision marks the one it replaces `superseded_at`
//! and leaves it readable. Lines and totals are written with the quote, in one
//! transaction with its change event.

use chrono::{NaiveDate, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::entity::{EntityKind, OwnerAndCustomer};
use guanxi_domain::ids::{ContactId, OpportunityId, QuoteId, TenantId, UserId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::trade::document::{Quote, QuoteAction, QuoteStatus};
use guanxi_domain::trade::money::{Places, Totals, from_e4, to_e4};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, Select,
};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::quote;
use crate::error::{StoreError, StoreResult};
use crate::filter::{IdFilter, TimeFilter};
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::platform::{sequence, tenant};
use crate::repo::{self, Scoped};
use crate::trade::document::{self, Header, HeaderInput, LinkScopes};
use crate::trade::lines::{self, LineInput, Parent};

pub const ENTITY: EntityKind = EntityKind::Quote;

pub fn to_domain(m: quote::Model) -> StoreResult<Quote> {
    let cell = |column| Cell::of("quotes", m.id, column);
    let header = document::header_of(
        "quotes",
        m.id,
        Header {
            customer_id: m.customer_id,
            contact_id: m.contact_id,
            opportunity_id: m.opportunity_id,
            owner_id: m.owner_id,
            tax_mode: &m.tax_mode,
            discount_e4: m.discount_e4,
            places: m.places,
            notes: m.notes,
        },
    )?;
    let totals =
        document::totals_of([m.list_amount_e4, m.subtotal_e4, m.discount_amount_e4, m.net_e4, m.tax_e4, m.gross_e4]);
    Ok(Quote {
        id: m.id.into(),
        number: m.number,
        revision: m.revision,
        superseded_at: m.superseded_at,
        header,
        status: cell("status").text(&m.status, QuoteStatus::parse)?,
        valid_until: m.valid_until,
        terms: m.terms,
        totals,
        discount_off_list: from_e4(m.discount_off_list_e4),
        approved_by: m.approved_by.map(Into::into),
        sent_at: m.sent_at,
        decided_at: m.decided_at,
        decision_reason: m.decision_reason,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Quotes, read through their own `QUOTE` scope and their customer's.
pub struct Quotes;

repo::owner_and_customer_scoped!(Quotes, quote, Quote);
repo::versioned!(Quotes, quote);
repo::recyclable!(Quotes, quote, ENTITY);
repo::scoped_reads!(Quotes);

#[derive(Clone, Debug, Default)]
pub struct QuoteFilter {
    /// A part of the number.
    pub number: Option<String>,
    pub customer_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    pub opportunity_id: Option<Uuid>,
    /// As readers see them: `EXPIRED` is a sent quote past its validity (Asia/Shanghai days).
    pub status: Option<Vec<QuoteStatus>>,
    pub created_at: Option<TimeFilter>,
    /// Replaced revisions too (only the latest of each quote otherwise).
    pub all_revisions: bool,
    pub deleted: Option<bool>,
}

impl QuoteFilter {
    fn condition(&self) -> Condition {
        let mut all = Condition::all();
        if let Some(number) = self.number.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            let contains = crate::filter::TextFilter { contains: Some(number.to_owned()), ..Default::default() };
            all = all.add(contains.condition(quote::Column::Number));
        }
        if let Some(f) = &self.customer_id {
            all = all.add(f.condition(quote::Column::CustomerId));
        }
        if let Some(f) = &self.owner_id {
            all = all.add(f.condition(quote::Column::OwnerId));
        }
        if let Some(opportunity) = self.opportunity_id {
            all = all.add(quote::Column::OpportunityId.eq(opportunity));
        }
        if let Some(statuses) = &self.status {
            let today = shanghai_date(Utc::now());
            let mut any = Condition::any();
            for status in statuses {
                any = any.add(match status {
                    QuoteStatus::Expired => Condition::all()
                        .add(quote::Column::Status.eq(QuoteStatus::Sent.as_str()))
                        .add(quote::Column::ValidUntil.lt(today)),
                    QuoteStatus::Sent => {
                        Condition::all().add(quote::Column::Status.eq(QuoteStatus::Sent.as_str())).add(
                            Condition::any()
                                .add(quote::Column::ValidUntil.is_null())
                                .add(quote::Column::ValidUntil.gte(today)),
                        )
                    }
                    other => Condition::all().add(quote::Column::Status.eq(other.as_str())),
                });
            }
            all = all.add(any);
        }
        if let Some(f) = &self.created_at {
            all = all.add(f.condition(quote::Column::CreatedAt));
        }
        if !self.all_revisions {
            all = all.add(quote::Column::SupersededAt.is_null());
        }
        all
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuoteSort {
    UpdatedAt,
    CreatedAt,
    Total,
}

pub fn sort_name(sort: QuoteSort) -> &'static str {
    match sort {
        QuoteSort::UpdatedAt => "UPDATED_AT",
        QuoteSort::CreatedAt => "CREATED_AT",
        QuoteSort::Total => "TOTAL",
    }
}

impl repo::Listed for Quotes {
    type Filter = QuoteFilter;
    type Order = (QuoteSort, Direction);

    fn matching(
        backend: DbBackend,
        tenant: TenantId,
        scope: OwnerAndCustomer,
        filter: &QuoteFilter,
    ) -> Select<quote::Entity> {
        repo::in_bin::<Self>(backend, tenant, scope, filter.deleted).filter(filter.condition())
    }

    fn sort_key((sort, direction): Self::Order) -> SortKey<quote::Entity> {
        type M = quote::Model;
        let name = sort_name(sort);
        match sort {
            QuoteSort::UpdatedAt => SortKey {
                name,
                column: quote::Column::UpdatedAt,
                direction,
                value: |m: &M| CursorValue::Time(m.updated_at),
            },
            QuoteSort::CreatedAt => SortKey {
                name,
                column: quote::Column::CreatedAt,
                direction,
                value: |m: &M| CursorValue::Time(m.created_at),
            },
            QuoteSort::Total => {
                SortKey { name, column: quote::Column::GrossE4, direction, value: |m: &M| CursorValue::Int(m.gross_e4) }
            }
        }
    }

    fn id_of(model: &quote::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Quotes);

/// What a new quote needs.
pub struct NewQuote {
    pub header: HeaderInput,
    /// What the writer may link to.
    pub links: LinkScopes,
    pub valid_until: Option<NaiveDate>,
    pub terms: Option<String>,
    pub lines: Vec<LineInput>,
}

/// Opens a quote in DRAFT on a customer the caller may see, pricing its lines.
pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OwnerAndCustomer,
    new: NewQuote,
) -> StoreResult<Quote> {
    let tenant = author.tenant_id;
    let settings = tenant::settings(conn, tenant).await?;
    let places = settings.decimal_places.quote;
    let today = shanghai_date(Utc::now());
    let checked = document::check_header(conn, tenant, (scope, new.links), &new.header).await?;
    let drafts = lines::price_lines(
        conn,
        tenant,
        (new.header.customer_id, checked.level.as_deref()),
        &new.lines,
        (today, settings.decimal_places.product),
    )
    .await?;
    let (lines, totals) = lines::figured(drafts, (new.header.discount, new.header.tax_mode, places));
    let rule = settings.quote_numbering;
    let n = sequence::next(conn, tenant, "quote", &rule.period(today)).await?;
    let number = rule.format(today, n);
    let id = QuoteId::new();
    let created =
        insert(conn, author, id, (&number, 1), (&new.header, places), (new.valid_until, new.terms.clone()), &totals)
            .await?;
    lines::insert(conn, tenant, Parent::Quote(id.uuid()), &lines).await?;
    let changes = ChangeSet::new()
        .field("number", (), &number)
        .field("customerId", (), new.header.customer_id)
        .field("ownerId", (), new.header.owner_id)
        .field("lines", (), lines.len())
        .field("total", (), created.totals.gross);
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    Ok(created)
}

async fn insert<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: QuoteId,
    (number, revision): (&str, i32),
    (header, places): (&HeaderInput, Places),
    (valid_until, terms): (Option<NaiveDate>, Option<String>),
    totals: &Totals,
) -> StoreResult<Quote> {
    let now = Utc::now();
    let [list, subtotal, off, net, tax, gross, off_list] = lines::totals_e4(totals);
    let model = quote::ActiveModel {
        tenant_id: Set(author.tenant_id.uuid()),
        id: Set(id.uuid()),
        number: Set(number.to_owned()),
        customer_id: Set(header.customer_id.uuid()),
        contact_id: Set(header.contact_id.map(ContactId::uuid)),
        opportunity_id: Set(header.opportunity_id.map(OpportunityId::uuid)),
        owner_id: Set(header.owner_id.map(UserId::uuid)),
        status: Set(QuoteStatus::Draft.as_str().to_owned()),
        tax_mode: Set(header.tax_mode.as_str().to_owned()),
        discount_e4: Set(to_e4(header.discount)),
        places: Set(i16::try_from(places.get()).unwrap_or(2)),
        notes: Set(header.notes.clone()),
        list_amount_e4: Set(list),
        subtotal_e4: Set(subtotal),
        discount_amount_e4: Set(off),
        net_e4: Set(net),
        tax_e4: Set(tax),
        gross_e4: Set(gross),
        discount_off_list_e4: Set(off_list),
        revision: Set(revision),
        superseded_at: Set(None),
        valid_until: Set(valid_until),
        terms: Set(terms),
        approved_by: Set(None),
        sent_at: Set(None),
        decided_at: Set(None),
        decision_reason: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    to_domain(quote::Entity::insert(model).exec_with_returning(conn).await?)
}

/// An edit of a draft: what is given replaces what was.
pub struct QuoteEdit {
    pub header: Option<HeaderInput>,
    /// What the writer may link to.
    pub links: LinkScopes,
    pub valid_until: Option<Option<NaiveDate>>,
    pub terms: Option<Option<String>>,
    /// New lines, priced again; the old ones are kept (and refigured) when absent.
    pub lines: Option<Vec<LineInput>>,
}

/// Edits a quote in DRAFT at the version the caller read.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OwnerAndCustomer,
    (id, expected_version): (Uuid, i32),
    edit: QuoteEdit,
) -> StoreResult<Quote> {
    let tenant = author.tenant_id;
    let settings = tenant::settings(conn, tenant).await?;
    let today = shanghai_date(Utc::now());
    let before = repo::live_current::<Quotes, C>(conn, tenant, scope, id, expected_version).await?;
    before.after(QuoteAction::Edit, today, settings.quote_approval_discount)?;
    let mut header = edit.header.unwrap_or_else(|| HeaderInput::from(&before.header));
    header.owner_id = header.owner_id.or(before.header.owner_id);
    if header.customer_id != before.header.customer_id {
        return Err(StoreError::rejected("customerId", ErrorCode::Invalid, "a quote stays with its customer"));
    }
    let checked = document::check_header(conn, tenant, (scope, edit.links), &header).await?;
    let places = before.header.places;
    let parent = Parent::Quote(id);
    let (lines, totals) = match &edit.lines {
        Some(inputs) => {
            let customer = (header.customer_id, checked.level.as_deref());
            let drafts =
                lines::price_lines(conn, tenant, customer, inputs, (today, settings.decimal_places.product)).await?;
            lines::figured(drafts, (header.discount, header.tax_mode, places))
        }
        None => {
            let current = lines::of_one(conn, tenant, parent).await?;
            lines::refigured(&current, (header.discount, header.tax_mode, places))
        }
    };
    let valid_until = edit.valid_until.unwrap_or(before.valid_until);
    let terms = edit.terms.unwrap_or_else(|| before.terms.clone());
    let update = document::header_update(quote::Entity::update_many(), &header)
        .col_expr(quote::Column::ValidUntil, Expr::value(valid_until))
        .col_expr(quote::Column::Terms, Expr::value(terms));
    repo::write_versioned::<Quotes, C>(conn, tenant, id, expected_version, lines::with_totals(update, &totals)).await?;
    lines::replace(conn, tenant, parent, &lines).await?;
    let after = find(conn, tenant, OwnerAndCustomer::ALL, id).await?.ok_or(StoreError::NotFound)?;
    let changes = ChangeSet::new()
        .diff(&document::described(&before.header), &document::described(&after.header))
        .field("validUntil", before.valid_until, after.valid_until)
        .field("total", before.totals.gross, after.totals.gross);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Moves a quote through its states (submit, approve, return, send, accept, reject), with
/// the reason a return or a rejection gives. A quote submitted while a QUOTE approval flow
/// applies goes through the engine (and is decided there, not by `approveQuote`); without
/// one, anyone with `quote.approve` other than its owner decides it. `department` is the
/// submitter's, for the flows' conditions.
pub async fn act<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OwnerAndCustomer,
    (id, expected_version): (Uuid, i32),
    (action, reason): (QuoteAction, Option<&str>),
    department: Option<guanxi_domain::ids::DepartmentId>,
) -> StoreResult<Quote> {
    let tenant = author.tenant_id;
    let settings = tenant::settings(conn, tenant).await?;
    let now = Utc::now();
    let before = repo::live_current::<Quotes, C>(conn, tenant, scope, id, expected_version).await?;
    let next = before.after(action, shanghai_date(now), settings.quote_approval_discount)?;
    if matches!(action, QuoteAction::Approve | QuoteAction::Return)
        && crate::finance::approval::pending_of(conn, tenant, id).await?.is_some()
    {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::IllegalState,
            "this quote waits on its approval flow: decide it with approve or rejectApproval",
        ));
    }
    if action == QuoteAction::Approve && before.header.owner_id.map(UserId::uuid) == author.user_id {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::IllegalState,
            "a quote is approved by someone other than its owner",
        ));
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if matches!(action, QuoteAction::Return | QuoteAction::Reject) && reason.is_none() {
        return Err(StoreError::rejected("reason", ErrorCode::Required, "say why"));
    }
    if reason.is_some_and(|r| r.chars().count() > 200) {
        return Err(StoreError::rejected("reason", ErrorCode::Invalid, "a reason is at most 200 characters"));
    }
    let mut update = quote::Entity::update_many().col_expr(quote::Column::Status, Expr::value(next.as_str()));
    update = match action {
        QuoteAction::Approve => update.col_expr(quote::Column::ApprovedBy, Expr::value(author.user_id)),
        QuoteAction::Send => update.col_expr(quote::Column::SentAt, Expr::value(now)),
        QuoteAction::Accept | QuoteAction::Reject | QuoteAction::Return => update
            .col_expr(quote::Column::DecidedAt, Expr::value((action != QuoteAction::Return).then_some(now)))
            .col_expr(quote::Column::DecisionReason, Expr::value(reason.map(str::to_owned))),
        _ => update,
    };
    let after = repo::write_versioned::<Quotes, C>(conn, tenant, id, expected_version, update).await?;
    let changes = ChangeSet::new().field("status", before.status, after.status).field("reason", (), reason);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    if action == QuoteAction::Submit {
        return submit_to_flow(conn, author, after, department).await;
    }
    Ok(after)
}

/// Hands a quote just submitted to the QUOTE approval flow that applies, if one does.
async fn submit_to_flow<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    quote: Quote,
    department: Option<guanxi_domain::ids::DepartmentId>,
) -> StoreResult<Quote> {
    use guanxi_domain::approval::flow::{DocumentKind, Facts};
    let tenant = author.tenant_id;
    let customer = crate::customers::customer::find(
        conn,
        tenant,
        guanxi_domain::platform::access::CustomerRule::ALL,
        quote.header.customer_id.uuid(),
    )
    .await?;
    let facts = Facts {
        amount: quote.totals.gross,
        discount: quote.discount_off_list,
        department,
        customer_level: customer.and_then(|c| c.fields.level),
    };
    if !crate::finance::approval::flow_applies(conn, tenant, DocumentKind::Quote, &facts).await? {
        return Ok(quote);
    }
    let submission = crate::finance::approval::Submission {
        kind: DocumentKind::Quote,
        document_id: quote.id.uuid(),
        facts,
        owner_id: quote.header.owner_id,
    };
    let request = crate::finance::approval::submit(conn, author, submission).await?;
    if request.status == guanxi_domain::approval::engine::RequestStatus::Pending {
        return Ok(quote);
    }
    follow(conn, author, quote.id.uuid(), request.status).await
}

/// Brings a quote to the status its approval flow reached: approved, or back to its
/// author as a draft.
pub async fn follow<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    outcome: guanxi_domain::approval::engine::RequestStatus,
) -> StoreResult<Quote> {
    let tenant = author.tenant_id;
    let before = repo::any_by_id::<Quotes, C>(conn, tenant, id).await?.ok_or(StoreError::NotFound)?;
    let status = guanxi_domain::trade::document::quote_after_approval(outcome);
    if status == before.status {
        return Ok(before);
    }
    let mut update = quote::Entity::update_many().col_expr(quote::Column::Status, Expr::value(status.as_str()));
    if status == QuoteStatus::Approved {
        update = update.col_expr(quote::Column::ApprovedBy, Expr::value(author.user_id));
    }
    let after = repo::write_versioned::<Quotes, C>(conn, tenant, id, before.version, update).await?;
    let changes = ChangeSet::new().field("status", before.status, after.status);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Starts a new revision in DRAFT from a quote that was approved, sent, rejected or has
/// expired: the same number, the next revision, the lines copied. The old one is marked
/// replaced and stays readable.
pub async fn revise<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OwnerAndCustomer,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<Quote> {
    let tenant = author.tenant_id;
    let settings = tenant::settings(conn, tenant).await?;
    let now = Utc::now();
    let before = repo::live_current::<Quotes, C>(conn, tenant, scope, id, expected_version).await?;
    before.after(QuoteAction::Revise, shanghai_date(now), settings.quote_approval_discount)?;
    let update = quote::Entity::update_many().col_expr(quote::Column::SupersededAt, Expr::value(now));
    repo::write_versioned::<Quotes, C>(conn, tenant, id, expected_version, update).await?;
    let old = lines::of_one(conn, tenant, Parent::Quote(id)).await?;
    let header = &before.header;
    let (lines, totals) = lines::refigured(&old, (header.discount, header.tax_mode, header.places));
    let new_id = QuoteId::new();
    let input = HeaderInput::from(header);
    let revision = (&before.number[..], before.revision + 1);
    let revised = insert(
        conn,
        author,
        new_id,
        revision,
        (&input, header.places),
        (before.valid_until, before.terms.clone()),
        &totals,
    )
    .await?;
    lines::insert(conn, tenant, Parent::Quote(new_id.uuid()), &lines).await?;
    let supersede = ChangeSet::new().field("supersededAt", None::<()>, now).field("revisedAs", (), new_id);
    audit::record(conn, author, ENTITY, id, Operation::Update, &supersede).await?;
    let created = ChangeSet::new().field("number", (), &before.number).field("revision", (), before.revision + 1);
    audit::record(conn, author, ENTITY, new_id.uuid(), Operation::Create, &created).await?;
    Ok(revised)
}

/// Every revision the caller may see of the quotes numbered `numbers`, oldest first.
pub async fn revisions<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OwnerAndCustomer,
    numbers: &[String],
) -> StoreResult<Vec<Quote>> {
    let rows = Quotes::visible(conn.get_database_backend(), tenant, scope)
        .filter(quote::Column::Number.is_in(numbers.iter().cloned()))
        .order_by_asc(quote::Column::Number)
        .order_by_asc(quote::Column::Revision)
        .all(conn)
        .await?;
    rows.into_iter().map(to_domain).collect()
}

/// Moves a quote that is a draft, rejected or expired to the recycle bin.
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OwnerAndCustomer,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<Quote> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Quotes, C>(conn, tenant, scope, id, expected_version).await?;
    before.after(QuoteAction::Delete, shanghai_date(Utc::now()), None)?;
    let deleted = repo::mark_deleted::<Quotes, C>(conn, author, id, expected_version).await?;
    // The revision it replaced is the quote's latest again.
    if before.revision > 1 {
        let previous = Quotes::visible(conn.get_database_backend(), tenant, OwnerAndCustomer::ALL)
            .filter(quote::Column::Number.eq(&before.number))
            .filter(quote::Column::Revision.eq(before.revision - 1))
            .one(conn)
            .await?
            .map(to_domain)
            .transpose()?;
        if let Some(previous) = previous.filter(|p| p.superseded_at.is_some()) {
            let update = quote::Entity::update_many()
                .col_expr(quote::Column::SupersededAt, Expr::value(None::<chrono::DateTime<Utc>>));
            let id = previous.id.uuid();
            repo::write_versioned::<Quotes, C>(conn, tenant, id, previous.version, update).await?;
            let changes = ChangeSet::new().field("supersededAt", previous.superseded_at, None::<()>);
            audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
        }
    }
    Ok(deleted)
}

/// A quote in the caller's scope, or waiting on their approval: an approver reads what
/// they are asked to approve, and only while it waits on them.
pub async fn find_as_approver<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: crate::scope::OrApprover,
    id: Uuid,
) -> StoreResult<Option<Quote>> {
    let columns = (quote::Column::TenantId, quote::Column::CustomerId, quote::Column::OwnerId, quote::Column::Id);
    let backend = conn.get_database_backend();
    let row = crate::scope::of_owner_customer_or_approver::<quote::Entity>(backend, tenant, scope, columns)
        .filter(quote::Column::Id.eq(id))
        .one(conn)
        .await?;
    row.map(to_domain).transpose()
}
