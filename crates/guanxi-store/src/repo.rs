//! The scoped repository, written once: reading records by id through the caller's
//! scope, and the version-guarded update. Each record kind supplies its `visible` select
//! and its row-to-domain conversion ([`Scoped`]) and names its version columns
//! ([`Versioned`]); `find`, `by_ids`, `visible_ids`, `current` and `write_versioned`
//! are shared.

use chrono::Utc;
use guanxi_domain::ids::TenantId;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QuerySelect, Select, UpdateMany,
};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};

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
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(R::visible(conn.get_database_backend(), tenant, scope)
        .select_only()
        .column(R::ID)
        .filter(R::ID.is_in(ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?)
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
    let row = R::Entity::find().filter(R::TENANT_ID.eq(tenant.uuid())).filter(R::ID.eq(id)).one(conn).await?;
    row.map(R::to_domain).transpose()?.ok_or(StoreError::NotFound)
}

/// An update that sets `values`, for [`write_versioned`].
pub fn set_columns<E: EntityTrait>(values: Vec<(E::Column, sea_orm::sea_query::SimpleExpr)>) -> UpdateMany<E> {
    values.into_iter().fold(E::update_many(), |update, (column, value)| update.col_expr(column, value))
}
