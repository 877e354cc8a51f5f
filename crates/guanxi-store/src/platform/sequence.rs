//! Numbering sequences (customer numbers, later contract numbers): one counter per
//! tenant, rule and period, bumped inside the writing transaction so numbers never repeat.

use chrono::NaiveDate;
use guanxi_domain::customers::customer::NumberingRule;
use guanxi_domain::ids::TenantId;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};

use crate::entity::number_sequence;
use crate::error::{StoreError, StoreResult};

/// The next value of sequence `name` in `period`, starting at 1.
pub async fn next<C: ConnectionTrait>(conn: &C, tenant: TenantId, name: &str, period: &str) -> StoreResult<i64> {
    take(conn, tenant, name, period, 1).await
}

/// Numbers for a bulk call's `n` new records by `rule` on `today`, in order, from one
/// block of sequence `name` (one statement; none when `n` is 0).
pub async fn numbers<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (name, rule): (&str, &NumberingRule),
    today: NaiveDate,
    n: usize,
) -> StoreResult<std::vec::IntoIter<String>> {
    if n == 0 {
        return Ok(Vec::new().into_iter());
    }
    let n = n as i64;
    let last = take(conn, tenant, name, &rule.period(today), n).await?;
    Ok((last - n + 1..=last).map(|k| rule.format(today, k)).collect::<Vec<_>>().into_iter())
}

/// Takes the next `n` values of sequence `name` in `period` in one statement (a batch's
/// numbers) and returns the last of them.
pub async fn take<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    name: &str,
    period: &str,
    n: i64,
) -> StoreResult<i64> {
    let inserted = number_sequence::Entity::insert(number_sequence::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        name: Set(name.to_owned()),
        period: Set(period.to_owned()),
        value: Set(0),
    })
    .on_conflict(
        OnConflict::columns([
            number_sequence::Column::TenantId,
            number_sequence::Column::Name,
            number_sequence::Column::Period,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await;
    match inserted {
        Ok(_) | Err(DbErr::RecordNotInserted) => {}
        Err(e) => return Err(e.into()),
    }
    let statement = Query::update()
        .table("number_sequences")
        .value("value", Expr::col("value").add(n))
        .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
        .and_where(Expr::col("name").eq(name))
        .and_where(Expr::col("period").eq(period))
        .returning(Query::returning().column("value"))
        .to_owned();
    let row = conn.query_one(&statement).await?.ok_or(StoreError::NotFound)?;
    Ok(row.try_get::<i64>("", "value")?)
}
