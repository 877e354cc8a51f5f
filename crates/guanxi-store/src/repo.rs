//! The scoped repository, written once: reading records by id through the caller's
//! scope, listing and counting them a page at a time, the version-guarded update, and
//! the recycle bin. Each record kind supplies its `visible` select and its row-to-domain
//! conversion ([`Scoped`]), names its version columns ([`Versioned`]), its filter and
//! orderings ([`Listed`]) and its deletion mark ([`Recyclable`]); `find`, `by_ids`,
//! `visible_ids`, `list`, `count`, `current`, `write_versioned`, `delete` and `restore`
//! are shared.

use chrono::{DateTime, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Select, UpdateMany,
};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::page::{self, CursorValue, Page, PageRequest, Rank, SortKey, Tiebreak};
use crate::platform::audit::{self, Author};

/// A record kind read through a data scope.
pub trait Scoped {
    type Entity: EntityTrait;
    /// What a read needs to know of the caller: one rule, or a rule for the record and
    /// one for its customer.
    type Scope: Copy;
    /// The domain value a row becomes.
    type Record;

    /// The record's own id column (the key is `(tenant_id, id)`).
    const ID: <Self::Entity as EntityTrait>::Column;
    /// The soft-delete column, when the kind has one.
    const DELETED_AT: Option<<Self::Entity as EntityTrait>::Column>;

    /// The records of `tenant` the scope admits, live and deleted.
    fn visible(backend: DbBackend, tenant: TenantId, scope: Self::Scope) -> Select<Self::Entity>;

    /// The row as a domain value; a stored value that does not decode is an error.
    fn to_domain(model: <Self::Entity as EntityTrait>::Model) -> StoreResult<Self::Record>;

    /// The live records of `tenant` the scope admits.
    fn live(backend: DbBackend, tenant: TenantId, scope: Self::Scope) -> Select<Self::Entity> {
        let select = Self::visible(backend, tenant, scope);
        match Self::DELETED_AT {
            Some(deleted_at) => select.filter(deleted_at.is_null()),
            None => select,
        }
    }
}

/// A visible record, live or deleted (its history and restore reach the recycle bin).
pub async fn find<R: Scoped, C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: R::Scope,
    id: Uuid,
) -> StoreResult<Option<R::Record>> {
    R::visible(conn.get_database_backend(), tenant, scope)
        .filter(R::ID.eq(id))
        .one(conn)
        .await?
        .map(R::to_domain)
        .transpose()
}

/// The visible, live records among `ids`, in no particular order (for data loaders).
pub async fn by_ids<R: Scoped, C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: R::Scope,
    ids: &[Uuid],
) -> StoreResult<Vec<R::Record>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows =
        R::live(conn.get_database_backend(), tenant, scope).filter(R::ID.is_in(ids.iter().copied())).all(conn).await?;
    rows.into_iter().map(R::to_domain).collect()
}

/// Which of `ids` the caller may see, live or deleted (for the change log).
pub async fn visible_ids<R: Scoped, C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: R::Scope,
    ids: &[Uuid],
) -> StoreResult<Vec<Uuid>> {
    Ok(pick::<R, C>(conn, tenant, scope, Pick::Ids(ids)).await?.into_iter().map(|(id, _)| id).collect())
}

/// The id of a new record: the one a client made offline (a UUIDv7; refused as `INVALID`
/// on `id` when stamped far from now, and as `DUPLICATE` when a record of the table has
/// it), or a fresh one. One statement with a client's id, none without. (Within its
/// tenant, a `DUPLICATE` tells whoever holds an id that some record has it.)
pub async fn new_id<E: EntityTrait, C: ConnectionTrait>(
    conn: &C,
    (tenant_column, id_column): (E::Column, E::Column),
    tenant: TenantId,
    given: Option<Uuid>,
) -> StoreResult<Uuid> {
    let Some(id) = given else { return Ok(Uuid::now_v7()) };
    guanxi_domain::ids::check_client_id_time(id, Utc::now())
        .map_err(|problem| StoreError::rejected("id", ErrorCode::Invalid, problem))?;
    let taken: Option<Uuid> = E::find()
        .select_only()
        .column(id_column)
        .filter(tenant_column.eq(tenant.uuid()))
        .filter(id_column.eq(id))
        .into_tuple()
        .one(conn)
        .await?;
    if taken.is_some() {
        return Err(StoreError::rejected("id", ErrorCode::Duplicate, "a record already has this id"));
    }
    Ok(id)
}

/// Which records of a kind a read of the change log picks, before the caller's scope.
#[derive(Clone, Copy, Debug)]
pub enum Pick<'a> {
    /// These ids, live or deleted.
    Ids(&'a [Uuid]),
    /// Up to `limit` live records after `after`, in id order (a page of the feed's
    /// snapshot; ids are UUIDv7, so this is also creation order).
    LiveAfter { after: Option<Uuid>, limit: u64 },
}

/// The records `pick` names that the caller may see, each with whether it is live. One
/// statement, or none for an empty list of ids.
pub async fn pick<R: Scoped, C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: R::Scope,
    pick: Pick<'_>,
) -> StoreResult<Vec<(Uuid, bool)>> {
    let backend = conn.get_database_backend();
    let select = match pick {
        Pick::Ids([]) => return Ok(Vec::new()),
        Pick::Ids(ids) => R::visible(backend, tenant, scope).filter(R::ID.is_in(ids.iter().copied())),
        Pick::LiveAfter { after, limit } => {
            let select = R::live(backend, tenant, scope).order_by_asc(R::ID).limit(limit);
            match after {
                Some(after) => select.filter(R::ID.gt(after)),
                None => select,
            }
        }
    };
    let live = match R::DELETED_AT {
        Some(deleted_at) => Expr::case(deleted_at.is_null(), 1).finally(0).into(),
        None => Expr::value(1),
    };
    let rows: Vec<(Uuid, i32)> =
        select.select_only().column(R::ID).column_as(live, "live").into_tuple().all(conn).await?;
    Ok(rows.into_iter().map(|(id, live)| (id, live == 1)).collect())
}

/// `Versioned` for a kind whose table has the usual `tenant_id`, `version` and
/// `updated_at` columns and whose record has a `version` field: `versioned!(Customers, customer);`.
macro_rules! versioned {
    ($kind:ty, $entity:ident) => {
        impl $crate::repo::Versioned for $kind {
            const TENANT_ID: $entity::Column = $entity::Column::TenantId;
            const VERSION: $entity::Column = $entity::Column::Version;
            const UPDATED_AT: $entity::Column = $entity::Column::UpdatedAt;

            fn version(record: &Self::Record) -> i32 {
                record.version
            }
        }
    };
}
pub(crate) use versioned;

/// The module-level read functions of a scoped kind (`find`, `by_ids`, `visible_ids`),
/// delegating to the shared ones, so callers write `customer::find(…)`.
macro_rules! scoped_reads {
    ($kind:ty) => {
        /// A visible record, live or deleted.
        pub async fn find<C: sea_orm::ConnectionTrait>(
            conn: &C,
            tenant: guanxi_domain::ids::TenantId,
            scope: <$kind as $crate::repo::Scoped>::Scope,
            id: uuid::Uuid,
        ) -> $crate::StoreResult<Option<<$kind as $crate::repo::Scoped>::Record>> {
            $crate::repo::find::<$kind, C>(conn, tenant, scope, id).await
        }

        /// The visible, live records among `ids` (for data loaders).
        pub async fn by_ids<C: sea_orm::ConnectionTrait>(
            conn: &C,
            tenant: guanxi_domain::ids::TenantId,
            scope: <$kind as $crate::repo::Scoped>::Scope,
            ids: &[uuid::Uuid],
        ) -> $crate::StoreResult<Vec<<$kind as $crate::repo::Scoped>::Record>> {
            $crate::repo::by_ids::<$kind, C>(conn, tenant, scope, ids).await
        }

        /// Which of `ids` the caller may see, live or deleted (for the change log).
        pub async fn visible_ids<C: sea_orm::ConnectionTrait>(
            conn: &C,
            tenant: guanxi_domain::ids::TenantId,
            scope: <$kind as $crate::repo::Scoped>::Scope,
            ids: &[uuid::Uuid],
        ) -> $crate::StoreResult<Vec<uuid::Uuid>> {
            $crate::repo::visible_ids::<$kind, C>(conn, tenant, scope, ids).await
        }
    };
}
pub(crate) use scoped_reads;

/// `Scoped` for a kind seen through its own module's scope on its `owner_id` and its
/// customer's on its `customer_id` (quotes, orders), with the module's `to_domain`:
/// `owner_and_customer_scoped!(Quotes, quote, Quote);`.
macro_rules! owner_and_customer_scoped {
    ($kind:ty, $entity:ident, $record:ty) => {
        impl $crate::repo::Scoped for $kind {
            type Entity = $entity::Entity;
            type Scope = guanxi_domain::entity::OwnerAndCustomer;
            type Record = $record;
            const ID: $entity::Column = $entity::Column::Id;
            const DELETED_AT: Option<$entity::Column> = Some($entity::Column::DeletedAt);

            fn visible(
                backend: sea_orm::DbBackend,
                tenant: guanxi_domain::ids::TenantId,
                scope: Self::Scope,
            ) -> sea_orm::Select<$entity::Entity> {
                let columns = ($entity::Column::TenantId, $entity::Column::CustomerId, $entity::Column::OwnerId);
                $crate::scope::of_owner_and_customer(backend, tenant, scope, columns)
            }

            fn to_domain(model: $entity::Model) -> $crate::StoreResult<$record> {
                to_domain(model)
            }
        }
    };
}
pub(crate) use owner_and_customer_scoped;

/// `Scoped`, `Versioned` and `Recyclable` for a kind seen by whoever sees its customer
/// (billing profiles, assets, service contracts): a table with `tenant_id`,
/// `customer_id`, `version`, `updated_at` and `deleted_at`, read with `$to_domain`:
/// `customer_scoped!(Assets, asset, Asset, asset_of, EntityKind::Asset);`.
macro_rules! customer_scoped {
    ($kind:ty, $entity:ident, $record:ty, $to_domain:path, $entity_kind:expr) => {
        impl $crate::repo::Scoped for $kind {
            type Entity = $entity::Entity;
            type Scope = guanxi_domain::platform::access::CustomerRule;
            type Record = $record;
            const ID: $entity::Column = $entity::Column::Id;
            const DELETED_AT: Option<$entity::Column> = Some($entity::Column::DeletedAt);

            fn visible(
                backend: sea_orm::DbBackend,
                tenant: guanxi_domain::ids::TenantId,
                customers: Self::Scope,
            ) -> sea_orm::Select<$entity::Entity> {
                use $entity::Column as C;
                $crate::scope::of_visible_customers(backend, tenant, customers, C::TenantId, C::CustomerId)
            }

            fn to_domain(model: $entity::Model) -> $crate::StoreResult<$record> {
                $to_domain(model)
            }
        }

        $crate::repo::versioned!($kind, $entity);
        $crate::repo::recyclable!($kind, $entity, $entity_kind);
    };
}
pub(crate) use customer_scoped;

/// A record kind whose updates are guarded by a version the caller read.
pub trait Versioned: Scoped {
    const TENANT_ID: <Self::Entity as EntityTrait>::Column;
    const VERSION: <Self::Entity as EntityTrait>::Column;
    const UPDATED_AT: <Self::Entity as EntityTrait>::Column;

    fn version(record: &Self::Record) -> i32;
}

/// The record the caller may see, at the version they expect: `NOT_FOUND` when they may
/// not see it, `VERSION_CONFLICT` when someone wrote it since they read it.
pub async fn current<R: Versioned, C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: R::Scope,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<R::Record> {
    let record = find::<R, C>(conn, tenant, scope, id).await?.ok_or(StoreError::NotFound)?;
    let version = R::version(&record);
    if version != expected_version {
        return Err(StoreError::version_conflict(expected_version, version));
    }
    Ok(record)
}

/// Applies `update` (its `set` or `col_expr` values) to the row if it is still at
/// `expected_version`, bumping the version and `updated_at`, and reads the row back.
/// A row that moved on meanwhile is `VERSION_CONFLICT` and nothing is written.
pub async fn write_versioned<R: Versioned, C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Uuid,
    expected_version: i32,
    update: UpdateMany<R::Entity>,
) -> StoreResult<R::Record> {
    write_versioned_or::<R, C>(conn, tenant, id, expected_version, update, StoreError::from).await
}

/// [`write_versioned`], with the database's refusal of the update (a unique key, say)
/// turned into a business error by `refused`.
pub async fn write_versioned_or<R: Versioned, C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Uuid,
    expected_version: i32,
    update: UpdateMany<R::Entity>,
    refused: impl FnOnce(DbErr) -> StoreError,
) -> StoreResult<R::Record> {
    let result = update
        .col_expr(R::VERSION, Expr::value(expected_version + 1))
        .col_expr(R::UPDATED_AT, Expr::value(Utc::now()))
        .filter(R::TENANT_ID.eq(tenant.uuid()))
        .filter(R::ID.eq(id))
        .filter(R::VERSION.eq(expected_version))
        .exec(conn)
        .await
        .map_err(refused)?;
    if result.rows_affected == 0 {
        return Err(StoreError::version_conflict(expected_version, expected_version + 1));
    }
    any_by_id::<R, C>(conn, tenant, id).await?.ok_or(StoreError::NotFound)
}

/// A record of the tenant by id, whatever scope, customer or recycle bin: for writes
/// already authorised elsewhere (a document's side of an approval outcome, a job).
pub async fn any_by_id<R: Versioned, C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Uuid,
) -> StoreResult<Option<R::Record>> {
    let row = R::Entity::find().filter(R::TENANT_ID.eq(tenant.uuid())).filter(R::ID.eq(id)).one(conn).await?;
    row.map(R::to_domain).transpose()
}

/// An update that sets `values`, for [`write_versioned`].
pub fn set_columns<E: EntityTrait>(values: Vec<(E::Column, sea_orm::sea_query::SimpleExpr)>) -> UpdateMany<E> {
    values.into_iter().fold(E::update_many(), |update, (column, value)| update.col_expr(column, value))
}

/// A record kind listed a page at a time (keyset pagination, see `page`).
pub trait Listed: Scoped {
    /// What a list may ask for beyond the scope.
    type Filter;
    /// The orderings the list offers: a sort field and a direction, or less when fixed.
    type Order: Copy;

    /// The records the scope admits that `filter` matches.
    fn matching(
        backend: DbBackend,
        tenant: TenantId,
        scope: Self::Scope,
        filter: &Self::Filter,
    ) -> Select<Self::Entity>;

    /// The sort key of an ordering (the id breaks ties).
    fn sort_key(order: Self::Order) -> SortKey<Self::Entity>;

    /// A rank the ordering reads before its sort key (a search's relevance), if any.
    fn rank(_tenant: TenantId, _order: Self::Order, _filter: &Self::Filter) -> Option<Rank<Self::Entity>> {
        None
    }

    /// The row's id, the tie-breaker of every ordering.
    fn id_of(model: &<Self::Entity as EntityTrait>::Model) -> Uuid;
}

/// One page of what `filter` matches, in `order`, continuing from the request's cursor.
pub async fn list<R: Listed, C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: R::Scope,
    filter: &R::Filter,
    order: R::Order,
    request: &PageRequest,
) -> StoreResult<Page<R::Record>> {
    let tiebreak = Tiebreak { column: R::ID, value: |m| CursorValue::Uuid(R::id_of(m)) };
    let select = R::matching(conn.get_database_backend(), tenant, scope, filter);
    let rank = R::rank(tenant, order, filter);
    page::fetch_ranked(conn, select, rank.as_ref(), &R::sort_key(order), &tiebreak, request)
        .await?
        .try_map(R::to_domain)
}

/// How many records `filter` matches: all of them, or with a `limit`, at most `limit + 1`
/// (see [`tally`]).
pub async fn count<R: Listed, C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: R::Scope,
    filter: &R::Filter,
    limit: Option<u64>,
) -> StoreResult<u64>
where
    <R::Entity as EntityTrait>::Model: Sync,
{
    tally(conn, R::matching(conn.get_database_backend(), tenant, scope, filter), limit).await
}

/// How many rows `select` matches. Without a limit, every one (an exact count, which reads
/// every match). With one, the count stops at `limit + 1`: `SELECT COUNT(*) FROM (SELECT 1
/// … LIMIT limit + 1)`, so a count past the limit reads `limit + 1` index entries rather
/// than the tenant's whole table, and a result above `limit` means "more than `limit`".
pub async fn tally<E: EntityTrait, C: ConnectionTrait>(
    conn: &C,
    select: Select<E>,
    limit: Option<u64>,
) -> StoreResult<u64>
where
    E::Model: Sync,
{
    let Some(limit) = limit else { return Ok(select.count(conn).await?) };
    let mut matches = sea_orm::QueryTrait::into_query(select);
    matches.clear_selects().clear_order_by().expr(Expr::val(1)).limit(limit.saturating_add(1)).reset_offset();
    let count = sea_orm::sea_query::Query::select()
        .expr_as(Expr::cust("COUNT(*)"), sea_orm::sea_query::Alias::new("matches"))
        .from_subquery(matches, sea_orm::sea_query::Alias::new("counted"))
        .to_owned();
    let row = conn.query_one(&count).await?;
    let matches: i64 = match row {
        Some(row) => row.try_get("", "matches")?,
        None => 0,
    };
    Ok(matches.max(0) as u64)
}

/// The module-level `list` and `count` of a listed kind, delegating to the shared ones.
macro_rules! listed {
    ($kind:ty) => {
        /// One page of what `filter` matches, in `order`.
        pub async fn list<C: sea_orm::ConnectionTrait>(
            conn: &C,
            tenant: guanxi_domain::ids::TenantId,
            scope: <$kind as $crate::repo::Scoped>::Scope,
            filter: &<$kind as $crate::repo::Listed>::Filter,
            order: <$kind as $crate::repo::Listed>::Order,
            request: &$crate::page::PageRequest,
        ) -> $crate::StoreResult<$crate::page::Page<<$kind as $crate::repo::Scoped>::Record>> {
            $crate::repo::list::<$kind, C>(conn, tenant, scope, filter, order, request).await
        }

        /// How many records `filter` matches (at most `limit + 1` with a limit).
        pub async fn count<C: sea_orm::ConnectionTrait>(
            conn: &C,
            tenant: guanxi_domain::ids::TenantId,
            scope: <$kind as $crate::repo::Scoped>::Scope,
            filter: &<$kind as $crate::repo::Listed>::Filter,
            limit: Option<u64>,
        ) -> $crate::StoreResult<u64> {
            $crate::repo::count::<$kind, C>(conn, tenant, scope, filter, limit).await
        }
    };
}
pub(crate) use listed;

/// A record kind with a recycle bin: deleting sets its `deleted_at`, restoring clears it,
/// each a versioned write recorded in the change log.
pub trait Recyclable: Versioned {
    const KIND: EntityKind;
    const DELETED: <Self::Entity as EntityTrait>::Column;

    fn deleted_at(record: &Self::Record) -> Option<DateTime<Utc>>;
}

/// `Recyclable` for a kind whose table has a `deleted_at` column and whose record has a
/// `deleted_at` field: `recyclable!(Customers, customer, EntityKind::Customer);`.
macro_rules! recyclable {
    ($kind:ty, $entity:ident, $entity_kind:expr) => {
        impl $crate::repo::Recyclable for $kind {
            const KIND: guanxi_domain::entity::EntityKind = $entity_kind;
            const DELETED: $entity::Column = $entity::Column::DeletedAt;

            fn deleted_at(record: &Self::Record) -> Option<chrono::DateTime<chrono::Utc>> {
                record.deleted_at
            }
        }
    };
}
pub(crate) use recyclable;

/// The records the scope admits that are live, or with `deleted: Some(true)` those in the
/// recycle bin (a list filter's `deleted`).
pub fn in_bin<R: Recyclable>(
    backend: DbBackend,
    tenant: TenantId,
    scope: R::Scope,
    deleted: Option<bool>,
) -> Select<R::Entity> {
    let select = R::visible(backend, tenant, scope);
    if deleted == Some(true) { select.filter(R::DELETED.is_not_null()) } else { select.filter(R::DELETED.is_null()) }
}

/// The live record the caller may see at the version they expect: where a delete starts.
/// One already in the recycle bin is `ILLEGAL_STATE`.
pub async fn live_current<R: Recyclable, C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: R::Scope,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<R::Record> {
    let record = current::<R, C>(conn, tenant, scope, id, expected_version).await?;
    if R::deleted_at(&record).is_some() {
        let message = format!("the {} is already deleted", R::KIND.noun());
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, message));
    }
    Ok(record)
}

/// The deleted record the caller may see at the version they expect, with when it was
/// deleted: where a restore starts. One not in the recycle bin is `ILLEGAL_STATE`.
pub async fn deleted_current<R: Recyclable, C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: R::Scope,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<(R::Record, DateTime<Utc>)> {
    let record = current::<R, C>(conn, tenant, scope, id, expected_version).await?;
    match R::deleted_at(&record) {
        Some(deleted_at) => Ok((record, deleted_at)),
        None => {
            let message = format!("the {} is not deleted", R::KIND.noun());
            Err(StoreError::rejected("id", ErrorCode::IllegalState, message))
        }
    }
}

/// Moves a record the caller checked with [`live_current`] to the recycle bin and records it.
pub async fn mark_deleted<R: Recyclable, C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<R::Record> {
    let now = Utc::now();
    let update = R::Entity::update_many().col_expr(R::DELETED, Expr::value(now));
    let after = write_versioned::<R, C>(conn, author.tenant_id, id, expected_version, update).await?;
    let changes = ChangeSet::new().field("deletedAt", None::<()>, now);
    audit::record(conn, author, R::KIND, id, Operation::Delete, &changes).await?;
    Ok(after)
}

/// Brings a record the caller checked with [`deleted_current`] back, applying `update`
/// beside it (more columns to clear); the database's refusal (a live record took its
/// unique name meanwhile) goes through `refused`. The caller records the restore with
/// [`record_restore`] after its own writes (the change log's sequence is the last lock a
/// write takes).
pub async fn mark_restored<R: Recyclable, C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (id, expected_version): (Uuid, i32),
    update: UpdateMany<R::Entity>,
    refused: impl FnOnce(DbErr) -> StoreError,
) -> StoreResult<R::Record> {
    let update = update.col_expr(R::DELETED, Expr::value(None::<DateTime<Utc>>));
    write_versioned_or::<R, C>(conn, tenant, id, expected_version, update, refused).await
}

/// The change event of a restore: `deletedAt` cleared, with whatever else `changes` says.
pub async fn record_restore<R: Recyclable, C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    changes: ChangeSet,
) -> StoreResult<()> {
    audit::record(conn, author, R::KIND, id, Operation::Restore, &changes).await?;
    Ok(())
}

/// Moves a record to the recycle bin, when nothing else decides whether it may go.
pub async fn delete<R: Recyclable, C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: R::Scope,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<R::Record> {
    live_current::<R, C>(conn, author.tenant_id, scope, id, expected_version).await?;
    mark_deleted::<R, C>(conn, author, id, expected_version).await
}

/// Brings a record back from the recycle bin, when nothing else decides whether it may.
pub async fn restore<R: Recyclable, C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: R::Scope,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<R::Record> {
    let (_, deleted_at) = deleted_current::<R, C>(conn, author.tenant_id, scope, id, expected_version).await?;
    finish_restore::<R, C>(conn, author, (id, expected_version), deleted_at, StoreError::from).await
}

/// Brings back a record checked with [`deleted_current`] (deleted at `deleted_at`) and
/// records it, for kinds that check more in between; the database's refusal goes through
/// `refused`.
pub async fn finish_restore<R: Recyclable, C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, expected_version): (Uuid, i32),
    deleted_at: DateTime<Utc>,
    refused: impl FnOnce(DbErr) -> StoreError,
) -> StoreResult<R::Record> {
    let update = R::Entity::update_many();
    let restored = mark_restored::<R, C>(conn, author.tenant_id, (id, expected_version), update, refused).await?;
    record_restore::<R, C>(conn, author, id, ChangeSet::new().field("deletedAt", deleted_at, None::<()>)).await?;
    Ok(restored)
}
