//! Finding customers: list filters, keyset sorts and counts, search through the token table, and the duplicate check.

use crate::customers::customer::{Customers, to_domain};
use crate::dialect;
use crate::entity::{customer, customer_search_token};
use crate::error::StoreResult;
use crate::filter::{Combinators, IdFilter, TextFilter, TimeFilter, escape_like};
use crate::page::{self, CursorValue, Direction, PageRequest, Rank, SortKey};
use crate::repo::{self, Listed};
use chrono::Utc;
use guanxi_domain::customers::customer::{
    Customer, CustomerFields, CustomerKind, CustomerStatus, CustomerType, DuplicateReason, Relevance, SearchQuery,
    normalize_name, prefix_end, search_query, search_tokens,
};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{TenantId, UserId};
use guanxi_domain::platform::access::{CustomerRule, ShareAccess, Sharing};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr, Query, SelectStatement, UnionType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

#[derive(Clone, Debug, Default)]
pub struct CustomerFilter {
    pub combinators: Combinators<CustomerFilter>,
    /// A name substring, a mnemonic-code prefix, a phone number's last digits or a tax id.
    pub search: Option<String>,
    /// A phone number in `search` matches only whole (callers who see phones masked must
    /// not learn the hidden digits by searching for longer and longer endings).
    pub phones_exact_only: bool,
    pub name: Option<TextFilter>,
    pub customer_number: Option<TextFilter>,
    pub kind: Option<CustomerKind>,
    pub customer_types: Option<Vec<CustomerType>>,
    pub statuses: Option<Vec<CustomerStatus>>,
    pub level: Option<TextFilter>,
    pub industry: Option<TextFilter>,
    pub province: Option<TextFilter>,
    pub city: Option<TextFilter>,
    pub owner_id: Option<IdFilter>,
    pub tag: Option<String>,
    pub created_at: Option<TimeFilter>,
    pub updated_at: Option<TimeFilter>,
    /// `(key, match)` on custom fields; keys were checked to be identifiers.
    pub custom_fields: Vec<(String, TextFilter)>,
    /// `Some(true)`: the recycle bin; otherwise live customers.
    pub deleted: Option<bool>,
    /// The next follow-up falls in `[from, until)` (to-do queues).
    pub next_follow_up: Option<TimeFilter>,
    /// Created by one of these users (work-log drill-down).
    pub created_by: Option<Vec<Uuid>>,
    /// Waiting in this public pool.
    pub pool_id: Option<Uuid>,
    /// By RFM scores and segment.
    pub rfm: Option<crate::analytics::customer_value::RfmFilter>,
    /// `(user, true)`: shared with the user, live; `(user, false)`: not shared with them.
    pub shared_with: Option<(UserId, bool)>,
}

impl CustomerFilter {
    /// Customers whose next follow-up is due before `until` (and not before `from`).
    pub fn with_follow_up(mut self, from: Option<chrono::DateTime<Utc>>, until: chrono::DateTime<Utc>) -> Self {
        self.next_follow_up = Some(TimeFilter { gte: from, lt: Some(until), ..TimeFilter::default() });
        self
    }
}

/// `SELECT id FROM <token table> WHERE tenant_id = tenant`, for the token conditions to narrow.
fn tenant_tokens<E: sea_orm::EntityTrait>(
    (table, tenant_column): (E, E::Column),
    id: E::Column,
    tenant: TenantId,
) -> SelectStatement {
    Query::select().column(id).from(table).and_where(Expr::col(tenant_column).eq(tenant.uuid())).to_owned()
}

/// The ids in a token table (`tenant`, `token`, `id` columns) that hold every one of
/// `tokens` (`all`) or any of them.
pub(crate) fn tokens_holding<E: sea_orm::EntityTrait>(
    (table, tenant_column): (E, E::Column),
    (token, id): (E::Column, E::Column),
    tenant: TenantId,
    tokens: &[String],
    all: bool,
) -> SelectStatement {
    let mut query = tenant_tokens((table, tenant_column), id, tenant);
    query.and_where(Expr::col(token).is_in(tokens.iter().cloned()));
    if all && tokens.len() > 1 {
        query.group_by_col(id).and_having(Expr::col(token).count().eq(tokens.len() as i64));
    }
    query.to_owned()
}

/// The ids in a token table holding a token that starts with `prefix`: one range of its
/// primary key (`tenant`, `token`, `id`), read in byte order (see `prefix_end`).
fn tokens_starting<E: sea_orm::EntityTrait>(
    (table, tenant_column): (E, E::Column),
    (token, id): (E::Column, E::Column),
    tenant: TenantId,
    prefix: &str,
) -> SelectStatement {
    let mut query = tenant_tokens((table, tenant_column), id, tenant);
    query.and_where(Expr::col(token).gte(prefix));
    if let Some(end) = prefix_end(prefix) {
        query.and_where(Expr::col(token).lt(end));
    }
    query.to_owned()
}

/// One `UNION` of `selects` (flat: SQLite takes no parenthesised members).
fn union_of(selects: Vec<SelectStatement>) -> Option<SelectStatement> {
    let mut selects = selects.into_iter();
    let mut first = selects.next()?;
    first.unions(selects.map(|s| (UnionType::Distinct, s)));
    Some(first)
}

/// What a token search finds: the records' table, tenant and id columns, and the condition
/// that a record's text contains the search text.
pub(crate) struct Searched<R: sea_orm::EntityTrait> {
    pub table: R,
    pub tenant: R::Column,
    pub id: R::Column,
    pub contains: Condition,
}

/// The search condition on a record's id over its token table (`tenant`, `token`, `id`
/// columns; see `search_tokens`): one `id IN (… UNION …)` of
/// - the records holding every pair of the text, confirmed to contain it when it is longer
///   than two characters (inside the arm: the pairs' few candidates probed by key);
/// - those holding a token in one of the query's prefix ranges (a one-character text, a
///   code prefix, a phone suffix) or an exact token (a tax id),
///
/// all read from the token table's primary key. No `OR` over the outer rows: PostgreSQL
/// cannot turn an `OR` of subqueries into a join, and filtered every record of the tenant
/// (a scan of 100k customers per search at M).
pub(crate) fn token_search<E: sea_orm::EntityTrait, R: sea_orm::EntityTrait>(
    table: (E, E::Column),
    columns: (E::Column, E::Column),
    tenant: TenantId,
    query: &SearchQuery,
    searched: Searched<R>,
) -> Condition {
    let mut arms = Vec::new();
    if !query.name_tokens.is_empty() {
        let pairs = tokens_holding(table, columns, tenant, &query.name_tokens, true);
        arms.push(if query.name_text.chars().count() > 2 {
            Query::select()
                .column(searched.id)
                .from(searched.table)
                .and_where(Expr::col(searched.tenant).eq(tenant.uuid()))
                .and_where(Expr::col(searched.id).in_subquery(pairs))
                .cond_where(searched.contains)
                .to_owned()
        } else {
            pairs
        });
    }
    arms.extend(query.prefixes.iter().map(|prefix| tokens_starting(table, columns, tenant, prefix)));
    if !query.exact_tokens.is_empty() {
        arms.push(tokens_holding(table, columns, tenant, &query.exact_tokens, false));
    }
    match union_of(arms) {
        Some(candidates) => Condition::all().add(searched.id.in_subquery(candidates)),
        None => Condition::all().add(Expr::val(1).eq(0)),
    }
}

impl CustomerFilter {
    /// Whether the filter searches (a `search` with something to look for).
    pub fn searches(&self) -> bool {
        self.search_query().is_some()
    }

    /// What `search` looks for, if anything.
    fn search_query(&self) -> Option<SearchQuery> {
        let query = search_query(self.search.as_deref()?)?;
        Some(if self.phones_exact_only { query.whole_phones_only() } else { query })
    }
}

/// A customer search: by name, mnemonic code, phone suffix (or whole number, with
/// `phones_exact_only`) or tax id (see `token_search`).
fn search_condition(tenant: TenantId, query: &SearchQuery) -> Condition {
    let contains =
        customer::Column::SearchName.like(LikeExpr::new(format!("%{}%", escape_like(&query.name_text))).escape('\\'));
    token_search(
        (customer_search_token::Entity, customer_search_token::Column::TenantId),
        (customer_search_token::Column::Token, customer_search_token::Column::CustomerId),
        tenant,
        query,
        Searched {
            table: customer::Entity,
            tenant: customer::Column::TenantId,
            id: customer::Column::Id,
            contains: Condition::all().add(contains),
        },
    )
}

impl CustomerFilter {
    fn condition(&self, backend: DbBackend, tenant: TenantId) -> Condition {
        let mut all = Condition::all();
        if let Some(query) = self.search_query() {
            all = all.add(search_condition(tenant, &query));
        }
        for (filter, column) in [
            (&self.name, customer::Column::Name),
            (&self.customer_number, customer::Column::CustomerNumber),
            (&self.level, customer::Column::Level),
            (&self.industry, customer::Column::Industry),
            (&self.province, customer::Column::Province),
            (&self.city, customer::Column::City),
        ] {
            if let Some(f) = filter {
                all = all.add(f.condition(column));
            }
        }
        if let Some(kind) = self.kind {
            all = all.add(customer::Column::Kind.eq(kind.as_str()));
        }
        if let Some(types) = &self.customer_types {
            all = all.add(customer::Column::CustomerType.is_in(types.iter().map(|t| t.as_str())));
        }
        if let Some(statuses) = &self.statuses {
            all = all.add(customer::Column::Status.is_in(statuses.iter().map(|s| s.as_str())));
        }
        if let Some(f) = &self.owner_id {
            all = all.add(f.condition(customer::Column::OwnerId));
        }
        if let Some(f) = &self.created_at {
            all = all.add(f.condition(customer::Column::CreatedAt));
        }
        if let Some(f) = &self.updated_at {
            all = all.add(f.condition(customer::Column::UpdatedAt));
        }
        if let Some(f) = &self.next_follow_up {
            all = all.add(f.condition(customer::Column::NextFollowUpAt));
        }
        if let Some(users) = &self.created_by {
            all = all.add(customer::Column::CreatedBy.is_in(users.iter().copied()));
        }
        if let Some(pool) = self.pool_id {
            all = all.add(customer::Column::PoolId.eq(pool));
        }
        if let Some((user, shared)) = self.shared_with {
            let sharing = Sharing { with: user, at_least: ShareAccess::Read };
            let id = (customer::Entity, customer::Column::Id);
            let condition = crate::scope::shared_with(backend, tenant, sharing, EntityKind::Customer, id);
            all = all.add(if shared { condition } else { condition.not() });
        }
        if let Some(rfm) = &self.rfm {
            all = all.add(rfm.condition(tenant, (customer::Entity, customer::Column::Id)));
        }
        if let Some(tag) = &self.tag {
            all = all.add(dialect::json_array_contains(backend, "customers", "tags", tag.clone()));
        }
        for (key, f) in &self.custom_fields {
            all = all.add(f.condition_on(dialect::json_text(backend, "customers", "custom_fields", key)));
        }
        self.combinators.apply(all, |f| f.condition(backend, tenant))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomerSort {
    Name,
    CustomerNumber,
    CreatedAt,
    UpdatedAt,
    /// When it entered its public pool (pool listings only).
    PoolEnteredAt,
    /// A search's best matches first (see `Relevance`), then the most recently updated;
    /// without a search, the most recently updated.
    Relevance,
}

pub fn sort_name(sort: CustomerSort) -> &'static str {
    match sort {
        CustomerSort::Name => "NAME",
        CustomerSort::CustomerNumber => "CUSTOMER_NUMBER",
        CustomerSort::CreatedAt => "CREATED_AT",
        CustomerSort::UpdatedAt => "UPDATED_AT",
        CustomerSort::PoolEnteredAt => "POOL_ENTERED_AT",
        CustomerSort::Relevance => "RELEVANCE",
    }
}

fn sort_key(sort: CustomerSort, direction: Direction) -> SortKey<customer::Entity> {
    type M = customer::Model;
    let name = sort_name(sort);
    match sort {
        CustomerSort::Name => SortKey {
            name,
            column: customer::Column::Name,
            direction,
            value: |m: &M| CursorValue::Text(m.name.clone()),
        },
        CustomerSort::CustomerNumber => SortKey {
            name,
            column: customer::Column::CustomerNumber,
            direction,
            value: |m: &M| CursorValue::Text(m.customer_number.clone()),
        },
        CustomerSort::CreatedAt => SortKey {
            name,
            column: customer::Column::CreatedAt,
            direction,
            value: |m: &M| CursorValue::Time(m.created_at),
        },
        CustomerSort::UpdatedAt => SortKey {
            name,
            column: customer::Column::UpdatedAt,
            direction,
            value: |m: &M| CursorValue::Time(m.updated_at),
        },
        CustomerSort::Relevance => SortKey {
            name,
            column: customer::Column::UpdatedAt,
            direction: direction.flipped(),
            value: |m: &M| CursorValue::Time(m.updated_at),
        },
        CustomerSort::PoolEnteredAt => SortKey {
            name,
            column: customer::Column::PoolEnteredAt,
            direction,
            value: |m: &M| CursorValue::Time(m.pool_entered_at.unwrap_or(m.created_at)),
        },
    }
}

impl Listed for Customers {
    type Filter = CustomerFilter;
    type Order = (CustomerSort, Direction);

    fn matching(
        backend: DbBackend,
        tenant: TenantId,
        rule: CustomerRule,
        filter: &CustomerFilter,
    ) -> Select<customer::Entity> {
        repo::in_bin::<Self>(backend, tenant, rule, filter.deleted).filter(filter.condition(backend, tenant))
    }

    fn sort_key((sort, direction): Self::Order) -> SortKey<customer::Entity> {
        sort_key(sort, direction)
    }

    fn rank(
        tenant: TenantId,
        (sort, direction): Self::Order,
        filter: &CustomerFilter,
    ) -> Option<Rank<customer::Entity>> {
        let query = filter.search_query().filter(|_| sort == CustomerSort::Relevance)?;
        Some(relevance(tenant, query, direction))
    }

    fn id_of(model: &customer::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Customers);

/// The search's relevance (`SearchQuery::relevance`) as an ordering: `CASE` over the name
/// and the exact and prefix tokens, each an `IN` over the token table's primary key.
fn relevance(tenant: TenantId, query: SearchQuery, direction: Direction) -> Rank<customer::Entity> {
    let table = (customer_search_token::Entity, customer_search_token::Column::TenantId);
    let columns = (customer_search_token::Column::Token, customer_search_token::Column::CustomerId);
    let text = query.name_text.clone();
    let mut exact = Condition::any()
        .add(customer::Column::SearchName.eq(text.clone()))
        .add(customer::Column::NormalizedName.eq(text.clone()));
    let exact_tokens = query.exact_match_tokens();
    if !exact_tokens.is_empty() {
        exact =
            exact.add(customer::Column::Id.in_subquery(tokens_holding(table, columns, tenant, &exact_tokens, false)));
    }
    let starts = LikeExpr::new(format!("{}%", escape_like(&text))).escape('\\');
    let mut prefix = Condition::any().add(customer::Column::SearchName.like(starts));
    for range in query.prefix_match_ranges() {
        prefix = prefix.add(customer::Column::Id.in_subquery(tokens_starting(table, columns, tenant, &range)));
    }
    let expr = Expr::case(exact, Relevance::Exact as i64)
        .case(prefix, Relevance::Prefix as i64)
        .finally(Relevance::Contains as i64)
        .into();
    let value = move |m: &customer::Model| {
        let phones: Vec<&str> = [m.main_phone.as_deref(), m.finance_phone.as_deref()].into_iter().flatten().collect();
        let tokens = search_tokens(&m.name, &phones, m.tax_id.as_deref());
        query.relevance(&m.search_name, &m.normalized_name, &tokens) as i64
    };
    Rank { expr, direction, value: Box::new(value) }
}

/// The SQL plan of a search in order of relevance, for the test that shows search stays on
/// an index.
pub async fn explain_search<C: ConnectionTrait>(conn: &C, tenant: TenantId, term: &str) -> StoreResult<String> {
    let backend = conn.get_database_backend();
    let filter = CustomerFilter { search: Some(term.to_owned()), ..CustomerFilter::default() };
    let order = (CustomerSort::Relevance, Direction::Asc);
    let mut select = Customers::matching(backend, tenant, CustomerRule::ALL, &filter);
    if let Some(rank) = Customers::rank(tenant, order, &filter) {
        select = select.order_by(rank.expr, sea_orm::Order::Asc);
    }
    let statement = sea_orm::QueryTrait::build(&select.limit(50), backend);
    let (prefix, column) = dialect::explain(backend);
    let values = statement.values.map(|v| v.0).unwrap_or_default();
    let explain = sea_orm::Statement::from_sql_and_values(backend, format!("{prefix}{}", statement.sql), values);
    let rows = conn.query_all_raw(explain).await?;
    Ok(rows.iter().filter_map(|r| r.try_get::<String>("", column).ok()).collect::<Vec<_>>().join("\n"))
}

/// A likely duplicate of a draft, whether or not the caller may see it.
#[derive(Clone, Debug)]
pub struct Duplicate {
    pub customer: Customer,
    pub reasons: Vec<DuplicateReason>,
}

/// Live customers of the whole tenant that share a tax id, a phone or a normalised name
/// with the draft. The duplicate check must see past data scopes (two reps must not both
/// own one company); callers show only what the caller may see.
/// Likely duplicates of a customer's fields (its name, tax id and phones), leaving out
/// `exclude` (the customer itself, on an update).
pub async fn duplicates_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    fields: &CustomerFields,
    exclude: Option<Uuid>,
) -> StoreResult<Vec<Duplicate>> {
    let phones: Vec<&str> =
        [fields.main_phone.as_deref(), fields.finance_phone.as_deref()].into_iter().flatten().collect();
    duplicates(conn, tenant, Some(&fields.name), fields.tax_id.as_deref(), &phones, exclude).await
}

pub async fn duplicates<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    name: Option<&str>,
    tax_id: Option<&str>,
    phones: &[&str],
    exclude: Option<Uuid>,
) -> StoreResult<Vec<Duplicate>> {
    let normalized = name.map(normalize_name).filter(|n| !n.is_empty());
    let mut any = Condition::any();
    if let Some(n) = &normalized {
        any = any.add(customer::Column::NormalizedName.eq(n.clone()));
    }
    if let Some(tax) = tax_id {
        any = any.add(customer::Column::TaxId.eq(tax.to_uppercase()));
    }
    if !phones.is_empty() {
        any = any.add(customer::Column::MainPhone.is_in(phones.iter().map(|p| p.to_string())));
        any = any.add(customer::Column::FinancePhone.is_in(phones.iter().map(|p| p.to_string())));
    }
    if normalized.is_none() && tax_id.is_none() && phones.is_empty() {
        return Ok(Vec::new());
    }
    let mut select = customer::Entity::find()
        .filter(customer::Column::TenantId.eq(tenant.uuid()))
        .filter(customer::Column::DeletedAt.is_null())
        .filter(any);
    if let Some(exclude) = exclude {
        select = select.filter(customer::Column::Id.ne(exclude));
    }
    let rows = select.order_by_asc(customer::Column::Id).limit(20).all(conn).await?;
    rows.into_iter()
        .map(|m| {
            let mut reasons = Vec::new();
            if tax_id.is_some_and(|t| m.tax_id.as_deref() == Some(t.to_uppercase().as_str())) {
                reasons.push(DuplicateReason::SameTaxId);
            }
            let phone_of = |p: &Option<String>| p.as_deref().is_some_and(|p| phones.contains(&p));
            if phone_of(&m.main_phone) || phone_of(&m.finance_phone) {
                reasons.push(DuplicateReason::SamePhone);
            }
            if normalized.as_deref() == Some(m.normalized_name.as_str()) {
                reasons.push(DuplicateReason::SameName);
            }
            Ok(Duplicate { customer: to_domain(m)?, reasons })
        })
        .collect()
}

/// Live customers by search and scope, in keyset batches (for exports).
pub async fn for_export<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: CustomerRule,
    filter: &CustomerFilter,
    limit: u64,
) -> StoreResult<Vec<Customer>> {
    let mut out = Vec::new();
    let mut request = PageRequest::first(page::MAX_PAGE);
    loop {
        let page = list(conn, tenant, rule, filter, (CustomerSort::CustomerNumber, Direction::Asc), &request).await?;
        let last = page.items.last().map(|(c, _)| c.clone());
        out.extend(page.items.into_iter().map(|(_, c)| c));
        match last {
            Some(cursor) if page.has_next_page && (out.len() as u64) < limit => {
                request = PageRequest { first: Some(page::MAX_PAGE), after: Some(cursor), ..PageRequest::default() };
            }
            _ => break,
        }
    }
    out.truncate(limit as usize);
    Ok(out)
}
