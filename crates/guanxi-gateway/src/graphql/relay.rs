//! Relay plumbing: opaque global ids, keyset cursors, page arguments and connections.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{ID, Object, OutputType};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::future::BoxFuture;
use guanxi_domain::ErrorCode;
use guanxi_store::StoreError;
use guanxi_store::page::{Cursor, MAX_PAGE, Page, PageRequest};
use uuid::Uuid;

use super::error::{ApiError, ApiResult, UserError};

/// `base64("User:<uuid>")`: opaque to clients, typed for the server.
pub fn global_id(kind: &str, id: Uuid) -> ID {
    ID(STANDARD.encode(format!("{kind}:{id}")))
}

/// Splits a global id into its type and UUID.
pub fn parse_global_id(id: &ID) -> Option<(String, Uuid)> {
    let bytes = STANDARD.decode(id.as_str()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (kind, uuid) = text.split_once(':')?;
    Some((kind.to_owned(), Uuid::try_parse(uuid).ok()?))
}

/// The UUID of a global id that must name a `kind`, for query arguments.
pub fn expect_id(id: &ID, kind: &str) -> Result<Uuid, ApiError> {
    match parse_global_id(id) {
        Some((k, uuid)) if k == kind => Ok(uuid),
        _ => Err(ApiError::BadUserInput(format!("`{}` is not a {kind} id", id.as_str()))),
    }
}

/// The UUID of a global id in a mutation input; a malformed one is a user error on `field`.
pub fn input_id(field: &str, id: &ID, kind: &str) -> Result<Uuid, UserError> {
    match parse_global_id(id) {
        Some((k, uuid)) if k == kind => Ok(uuid),
        _ => Err(UserError::new(field, ErrorCode::Invalid, format!("not a {kind} id"))),
    }
}

/// The id a client made offline for a record it creates (`id` on a create): a UUIDv7
/// (its time is checked when the record is written, `repo::new_id`); none when not sent.
pub fn client_id(raw: Option<&str>) -> Result<Option<Uuid>, UserError> {
    raw.map(guanxi_domain::ids::parse_client_id)
        .transpose()
        .map_err(|problem| UserError::new("id", ErrorCode::Invalid, problem))
}

pub fn encode_cursor(cursor: &Cursor) -> String {
    STANDARD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn decode_cursor(raw: &str, sort: &str) -> Result<Cursor, ApiError> {
    let bad = || ApiError::BadUserInput(format!("`{raw}` is not a cursor of this list"));
    let bytes = STANDARD.decode(raw).map_err(|_| bad())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if cursor.sort != sort {
        return Err(ApiError::BadUserInput(format!("the cursor was made for ordering by {}, not {sort}", cursor.sort)));
    }
    Ok(cursor)
}

/// Checks the Relay arguments: at most one of `first`/`last`, each 0 to 200.
pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
    sort: &str,
) -> Result<PageRequest, ApiError> {
    if first.is_some() && last.is_some() {
        return Err(ApiError::BadUserInput("pass `first` or `last`, not both".into()));
    }
    let count = |name: &str, n: Option<i32>| -> Result<Option<u64>, ApiError> {
        match n {
            None => Ok(None),
            Some(n) if n < 0 => Err(ApiError::BadUserInput(format!("`{name}` cannot be negative"))),
            Some(n) if n as u64 > MAX_PAGE => Err(ApiError::BadUserInput(format!("`{name}` is at most {MAX_PAGE}"))),
            Some(n) => Ok(Some(n as u64)),
        }
    };
    Ok(PageRequest {
        first: count("first", first)?,
        after: after.as_deref().map(|c| decode_cursor(c, sort)).transpose()?,
        last: count("last", last)?,
        before: before.as_deref().map(|c| decode_cursor(c, sort)).transpose()?,
    })
}

type CountFn = Arc<dyn Fn(Option<u64>) -> BoxFuture<'static, Result<u64, StoreError>> + Send + Sync>;

/// The most a connection's `count` will count before it answers `AT_LEAST`.
pub const MAX_COUNT_LIMIT: u64 = 100_000;

/// The counts of a connection, counted only when a client asks for them, with the same
/// filter and data scope as the page: `count` stops at its limit, `totalCount` counts
/// every match.
pub struct TotalCount(CountFn);

impl TotalCount {
    /// `count(limit)` counts the matches, stopping after `limit + 1` of them when given one.
    pub fn new<F>(count: F) -> Self
    where
        F: Fn(Option<u64>) -> BoxFuture<'static, Result<u64, StoreError>> + Send + Sync + 'static,
    {
        Self(Arc::new(count))
    }
}

/// Whether a count is every match or a floor.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountPrecision {
    /// Every match was counted.
    Exact,
    /// There are more matches than the count: it stopped at the limit asked for.
    AtLeast,
}

/// A count that stops at a limit (like Shopify's counts): `{count: 1000, precision:
/// AT_LEAST}` means "1,000 or more".
#[derive(async_graphql::SimpleObject, Clone, Copy, Debug)]
pub struct Count {
    pub count: u64,
    pub precision: CountPrecision,
}

impl Count {
    /// The count of `counted` matches, where the count stopped after `limit + 1`.
    pub fn of(counted: u64, limit: u64) -> Self {
        if counted > limit {
            Count { count: limit, precision: CountPrecision::AtLeast }
        } else {
            Count { count: counted, precision: CountPrecision::Exact }
        }
    }
}

#[Object]
impl TotalCount {
    /// How many records match, across all pages, up to `limit` (at most 100,000): exact
    /// below it, `AT_LEAST` at it. It reads at most `limit + 1` matches, so it costs what the
    /// limit says, not what the tenant holds. Records out of the caller's scope are not
    /// counted.
    async fn count(&self, #[graphql(default = 1000)] limit: i32) -> ApiResult<Count> {
        let limit = u64::try_from(limit)
            .ok()
            .filter(|l| *l <= MAX_COUNT_LIMIT)
            .ok_or_else(|| ApiError::BadUserInput(format!("`limit` is 0 to {MAX_COUNT_LIMIT}")))?;
        let counted = (self.0)(Some(limit)).await.map_err(ApiError::from)?;
        Ok(Count::of(counted, limit))
    }

    /// How many records match, across all pages, every one counted (records out of the
    /// caller's scope are not counted). It reads every match, so on a large list it costs
    /// more than the page.
    #[graphql(deprecation = "Counts every match, which costs a scan on a large list: use `count(limit:)`.")]
    async fn total_count(&self) -> ApiResult<u64> {
        Ok((self.0)(None).await.map_err(ApiError::from)?)
    }
}

pub type Conn<N> = Connection<String, N, TotalCount, EmptyFields>;

/// Wraps a store page into a Relay connection.
pub fn connection<T, N: OutputType>(page: Page<T>, total: TotalCount, wrap: impl Fn(T) -> N) -> Conn<N> {
    let mut connection = Connection::with_additional_fields(page.has_previous_page, page.has_next_page, total);
    connection.edges.extend(page.items.into_iter().map(|(cursor, item)| Edge::new(encode_cursor(&cursor), wrap(item))));
    connection
}

/// The record of kind `R` an id names, when the caller has `permission` and the scope
/// `scope` gives them admits it; `NOT_FOUND` otherwise (another kind's id too).
pub async fn read_by_id<R: guanxi_store::repo::Scoped>(
    ctx: &async_graphql::Context<'_>,
    permission: guanxi_domain::platform::access::Permission,
    (id, kind): (&ID, &str),
    scope: impl FnOnce(&guanxi_domain::platform::access::Actor) -> R::Scope,
) -> ApiResult<R::Record> {
    let actor = super::context::require(ctx, permission)?;
    let id = expect_id(id, kind)?;
    let db = &super::context::state(ctx).db;
    let found = guanxi_store::repo::find::<R, _>(db.connection(), actor.tenant_id, scope(actor), id).await?;
    found.ok_or(ApiError::NotFound)
}

/// A page of a listed kind's records through `scope`, with a `totalCount` of the same
/// filter and scope (counted only when asked for).
pub async fn listed<R, N>(
    db: &guanxi_store::Database,
    tenant: guanxi_domain::ids::TenantId,
    (scope, filter, order): (R::Scope, R::Filter, R::Order),
    request: &PageRequest,
    wrap: impl Fn(R::Record) -> N,
) -> ApiResult<Conn<N>>
where
    R: guanxi_store::repo::Listed + 'static,
    R::Scope: Send + Sync + 'static,
    R::Filter: Clone + Send + Sync + 'static,
    <R::Entity as guanxi_store::EntityTrait>::Model: Sync,
    N: OutputType,
{
    let page = guanxi_store::repo::list::<R, _>(db.connection(), tenant, scope, &filter, order, request).await?;
    let db = db.clone();
    let total = TotalCount::new(move |limit| {
        let (db, filter) = (db.clone(), filter.clone());
        Box::pin(async move { guanxi_store::repo::count::<R, _>(db.connection(), tenant, scope, &filter, limit).await })
    });
    Ok(connection(page, total, wrap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_carry_their_type() {
        let uuid = Uuid::now_v7();
        let id = global_id("User", uuid);
        assert_eq!(parse_global_id(&id), Some(("User".into(), uuid)));
        assert!(expect_id(&id, "User").is_ok());
        assert!(expect_id(&id, "Department").is_err());
        assert!(expect_id(&ID("garbage".into()), "User").is_err());
    }

    #[test]
    fn page_arguments_are_checked() {
        assert!(page_request(Some(201), None, None, None, "NAME").is_err());
        assert!(page_request(Some(-1), None, None, None, "NAME").is_err());
        assert!(page_request(Some(1), None, Some(1), None, "NAME").is_err());
        assert!(page_request(None, Some("???".into()), None, None, "NAME").is_err());
        assert!(page_request(Some(200), None, None, None, "NAME").is_ok());
    }

    #[test]
    fn a_count_past_its_limit_is_a_floor() {
        let exact = Count::of(999, 1000);
        assert_eq!((exact.count, exact.precision), (999, CountPrecision::Exact));
        let exact = Count::of(1000, 1000);
        assert_eq!((exact.count, exact.precision), (1000, CountPrecision::Exact));
        let floor = Count::of(1001, 1000);
        assert_eq!((floor.count, floor.precision), (1000, CountPrecision::AtLeast));
        let none = Count::of(0, 0);
        assert_eq!((none.count, none.precision), (0, CountPrecision::Exact));
        let floor = Count::of(1, 0);
        assert_eq!((floor.count, floor.precision), (0, CountPrecision::AtLeast));
    }
}
