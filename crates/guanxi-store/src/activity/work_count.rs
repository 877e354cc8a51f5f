//! The work log's interaction counts (`interaction_counts`): per tenant, author, Shanghai
//! day and month ([`Grain`]), customer owner and channel, how many live interactions on
//! live customers there are. A year of a department's work log by month sums the month
//! rows (77k for 200 reps at M) instead of counting a million interactions (13 s at M on
//! SQLite); by day or week it sums the day rows.
//!
//! The counts are kept in step inside the writing transaction, never by a background job,
//! so they are exact at every commit:
//! - a new interaction adds itself to its day and its month ([`add_rows`]);
//! - anything that changes which customers' interactions count, or under which owner
//!   (transfer, delete, restore, merge), calls [`remove`] for the customers it touches
//!   before the change and [`add`] for the same customers after it. Both recount those
//!   customers' interactions from the table, so the pair is right whatever the change did.
//!
//! Rows whose count has gone back to zero stay (they are reused when the count comes back).
//! Whoever reads the counts applies the caller's scope to `owner_id`, as the records'
//! scope applies to their customer's owner.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use guanxi_domain::activity::field::{Granularity, period_key, period_of};
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::access::ScopeRule;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, JoinType, OnConflict, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::entity::interaction_count::{self, Column};
use crate::entity::{customer, interaction};
use crate::error::{StoreError, StoreResult};

/// Stands for "no author" and "no owner" in the key (no user has it).
const NOBODY: Uuid = Uuid::nil();

/// The periods the counts are kept for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grain {
    Day,
    Month,
}

impl Grain {
    const ALL: [Self; 2] = [Self::Day, Self::Month];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Day => "DAY",
            Self::Month => "MONTH",
        }
    }

    fn granularity(self) -> Granularity {
        match self {
            Self::Day => Granularity::Day,
            Self::Month => Granularity::Month,
        }
    }
}

/// Counts to add: `(author, grain, period key, owner, channel) -> n`.
pub type Counts = BTreeMap<(Option<Uuid>, Grain, String, Option<Uuid>, String), i64>;

/// Counts one new interaction into `counts`, in its day and in its month.
pub fn count_new(
    counts: &mut Counts,
    author: Option<Uuid>,
    occurred_at: DateTime<Utc>,
    owner: Option<Uuid>,
    channel: &str,
) {
    for grain in Grain::ALL {
        let period = period_key(period_of(occurred_at, grain.granularity()).0);
        *counts.entry((author, grain, period, owner, channel.to_owned())).or_default() += 1;
    }
}

/// The table's key: one count per tenant, author, grain, period, owner and channel.
const KEY: [Column; 6] =
    [Column::TenantId, Column::AuthorId, Column::Grain, Column::Period, Column::OwnerId, Column::Channel];

fn upsert() -> OnConflict {
    OnConflict::columns(KEY)
        .value(
            Column::N,
            Expr::col((interaction_count::Entity, Column::N)).add(Expr::col((Alias::new("excluded"), Column::N))),
        )
        .to_owned()
}

/// Adds counts of new interactions (on live customers) in multi-row upserts; returns how
/// many count rows it wrote.
pub async fn add_rows<C: ConnectionTrait>(conn: &C, tenant: TenantId, counts: Counts) -> StoreResult<u64> {
    let rows: Vec<interaction_count::ActiveModel> = counts
        .into_iter()
        .map(|((author, grain, period, owner, channel), n)| {
            interaction_count::Model {
                tenant_id: tenant.uuid(),
                author_id: author.unwrap_or(NOBODY),
                grain: grain.as_str().to_owned(),
                period,
                owner_id: owner.unwrap_or(NOBODY),
                channel,
                n,
            }
            .into()
        })
        .collect();
    crate::upsert_chunked(conn, rows, Some(upsert())).await
}

/// Recounts the interactions of `customers` from the table and adds them (`sign` 1) or
/// takes them away (`sign` -1): one `INSERT … SELECT … GROUP BY … ON CONFLICT` per grain
/// and chunk.
async fn shift<C: ConnectionTrait>(conn: &C, tenant: TenantId, customers: &[Uuid], sign: i64) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    let (i, c) = (Alias::new("i"), Alias::new("c"));
    let author = Expr::from(Func::coalesce([Expr::col((i.clone(), interaction::Column::AuthorId)), Expr::val(NOBODY)]));
    let owner = Expr::from(Func::coalesce([Expr::col((c.clone(), customer::Column::OwnerId)), Expr::val(NOBODY)]));
    let channel = Expr::col((i.clone(), interaction::Column::Channel));
    for grain in Grain::ALL {
        let period = Expr::cust(crate::dialect::period_start_sql(backend, grain.granularity(), r#""i"."occurred_at""#));
        for chunk in customers.chunks(5_000) {
            let mut select = Query::select();
            select
                .expr(Expr::val(tenant.uuid()))
                .expr(author.clone())
                .expr(Expr::val(grain.as_str()))
                .expr(period.clone())
                .expr(owner.clone())
                .expr(channel.clone())
                .expr(Expr::col((i.clone(), interaction::Column::Id)).count().mul(sign))
                .from_as(interaction::Entity, i.clone())
                .join_as(
                    JoinType::InnerJoin,
                    customer::Entity,
                    c.clone(),
                    Expr::col((c.clone(), customer::Column::TenantId))
                        .equals((i.clone(), interaction::Column::TenantId))
                        .and(
                            Expr::col((c.clone(), customer::Column::Id))
                                .equals((i.clone(), interaction::Column::CustomerId)),
                        ),
                )
                .and_where(Expr::col((i.clone(), interaction::Column::TenantId)).eq(tenant.uuid()))
                .and_where(Expr::col((i.clone(), interaction::Column::CustomerId)).is_in(chunk.iter().copied()))
                .and_where(Expr::col((i.clone(), interaction::Column::DeletedAt)).is_null())
                .and_where(Expr::col((c.clone(), customer::Column::DeletedAt)).is_null())
                // By the columns, not the COALESCE expressions: their bound nil differs per
                // placeholder, and PostgreSQL would not see the SELECT's expression as grouped.
                .add_group_by([
                    Expr::col((i.clone(), interaction::Column::AuthorId)),
                    period.clone(),
                    Expr::col((c.clone(), customer::Column::OwnerId)),
                    channel.clone(),
                ]);
            upsert_selected(conn, select).await?;
        }
    }
    Ok(())
}

/// Adds the counts `select` yields (the key's columns, then `n`) to the table's.
async fn upsert_selected<C: ConnectionTrait>(conn: &C, select: sea_orm::sea_query::SelectStatement) -> StoreResult<()> {
    let insert = Query::insert()
        .into_table(interaction_count::Entity)
        .columns(KEY.into_iter().chain([Column::N]))
        .select_from(select)
        .map_err(|e| StoreError::Database(sea_orm::DbErr::Custom(e.to_string())))?
        .on_conflict(upsert())
        .to_owned();
    conn.execute(&insert).await?;
    Ok(())
}

/// Adds the interactions of `customers` as they now stand (after a change).
pub async fn add<C: ConnectionTrait>(conn: &C, tenant: TenantId, customers: &[Uuid]) -> StoreResult<()> {
    shift(conn, tenant, customers, 1).await
}

/// Takes away the interactions of `customers` as they now stand (before a change).
pub async fn remove<C: ConnectionTrait>(conn: &C, tenant: TenantId, customers: &[Uuid]) -> StoreResult<()> {
    shift(conn, tenant, customers, -1).await
}

/// Moves every count under owner `from` to owner `to` (adding to `to`'s own), for a
/// change that gives *all* of `from`'s live customers to `to` (a handover): two statements
/// over the counts, instead of recounting the customers' interactions.
pub async fn move_owner<C: ConnectionTrait>(conn: &C, tenant: TenantId, from: Uuid, to: Uuid) -> StoreResult<()> {
    let of_from =
        || Condition::all().add(Expr::col(Column::TenantId).eq(tenant.uuid())).add(Expr::col(Column::OwnerId).eq(from));
    let select = Query::select()
        .columns([Column::TenantId, Column::AuthorId, Column::Grain, Column::Period])
        .expr(Expr::val(to))
        .columns([Column::Channel, Column::N])
        .from(interaction_count::Entity)
        .cond_where(of_from())
        .and_where(Expr::col(Column::N).ne(0))
        .to_owned();
    upsert_selected(conn, select).await?;
    interaction_count::Entity::delete_many().filter(of_from()).exec(conn).await?;
    Ok(())
}

/// The counts of `users`' interactions per period key and channel, at `grain`, for the
/// periods in any of `windows` (`[first key, end key)`), on the customers whose owner
/// `rule` admits (for callers no share widens: the counts cannot tell shared customers).
pub async fn by_period<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: ScopeRule,
    users: &[Uuid],
    grain: Grain,
    windows: &[(String, String)],
) -> StoreResult<Vec<(String, String, i64)>> {
    let backend = conn.get_database_backend();
    let mut within = Condition::any();
    for (first, end) in windows {
        within =
            within.add(Condition::all().add(Column::Period.gte(first.as_str())).add(Column::Period.lt(end.as_str())));
    }
    Ok(interaction_count::Entity::find()
        .select_only()
        .column(Column::Period)
        .column(Column::Channel)
        .column_as(Expr::col(Column::N).sum().cast_as("BIGINT"), "n")
        .filter(Column::TenantId.eq(tenant.uuid()))
        .filter(Column::AuthorId.is_in(users.iter().copied()))
        .filter(Column::Grain.eq(grain.as_str()))
        .filter(within)
        .filter(crate::scope::owner_condition(backend, tenant, rule, (interaction_count::Entity, Column::OwnerId)))
        .group_by(Column::Period)
        .group_by(Column::Channel)
        .into_tuple()
        .all(conn)
        .await?)
}
