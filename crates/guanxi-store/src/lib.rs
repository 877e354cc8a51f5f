//! Guanxi's persistence: SeaORM entities and the repository functions the gateway calls.
//!
//! Repository functions take any connection (`C: ConnectionTrait`), so the caller decides
//! the transaction: one mutation, one transaction, with its change record written inside
//! it ([`audit::record`]). Data scopes from the domain become SQL conditions here
//! ([`scope`]), rows become domain values, and constraint violations become business
//! conflicts ([`error::StoreError`]) rather than system errors.

pub mod activity;
pub mod analytics;
#[cfg(feature = "bench-data")]
pub mod bench_data;
#[cfg(feature = "bench-data")]
mod bench_finance;
#[cfg(feature = "bench-data")]
mod bench_service;
#[cfg(feature = "bench-data")]
mod bench_trade;
pub mod customers;
pub mod db;
pub mod decode;
pub mod dialect;
pub mod entity;
pub mod error;
pub mod filter;
pub mod finance;
pub mod leads;
pub mod marketing;
pub mod page;
pub mod platform;
pub mod repo;
pub mod sales;
pub mod scope;
pub mod service;
pub mod sharing;
pub mod trade;
pub mod visibility;

pub use db::{Backend, Database};
pub use error::{StoreError, StoreResult};
pub use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryResult, TransactionTrait};

/// Inserts rows in multi-row statements sized to stay under the engines' bound-parameter
/// limits (SQLite 32,766; PostgreSQL 65,535), counting every column of the table as bound
/// (so a column added to the table can never push a statement over the limit).
/// Returns how many rows it wrote.
pub(crate) async fn insert_chunked<C, A>(conn: &C, rows: Vec<A>) -> StoreResult<u64>
where
    C: ConnectionTrait,
    A: sea_orm::ActiveModelTrait + Send + 'static,
{
    upsert_chunked(conn, rows, None).await
}

/// [`insert_chunked`], each statement with `on_conflict` when one is given (an upsert);
/// returns the rows the engine reports written, so a conflict's `WHERE` that refuses a row
/// (a version check) shows in the count.
pub(crate) async fn upsert_chunked<C, A>(
    conn: &C,
    rows: Vec<A>,
    on_conflict: Option<sea_orm::sea_query::OnConflict>,
) -> StoreResult<u64>
where
    C: ConnectionTrait,
    A: sea_orm::ActiveModelTrait + Send + 'static,
{
    use sea_orm::Iterable;
    let columns = <<A::Entity as sea_orm::EntityTrait>::Column as Iterable>::iter().count();
    let per_statement = (30_000 / columns.max(1)).max(1);
    let mut inserted = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(per_statement).collect();
        let mut insert = <A::Entity as sea_orm::EntityTrait>::insert_many(chunk);
        if let Some(on_conflict) = &on_conflict {
            insert = insert.on_conflict(on_conflict.clone());
        }
        inserted += match insert.exec_without_returning(conn).await {
            Ok(n) => n,
            Err(DbErr::RecordNotInserted) => 0,
            Err(e) => return Err(e.into()),
        };
    }
    Ok(inserted)
}
