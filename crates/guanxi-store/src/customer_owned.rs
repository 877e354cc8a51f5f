//! The tables that hang off a customer, registered once. Merges move their rows to the
//! survivor (and the undo moves them back), and a change of owner hands them over, each
//! as the domain's [`CustomerLink`](guanxi_domain::entity::CustomerLink) for its kind
//! says. A test reads the database catalogue on both engines and fails when a table with
//! a `customer_id` column is missing here, so a new module cannot forget its table.

use guanxi_domain::entity::{EntityKind, OnTransfer};
use guanxi_domain::ids::{TenantId, UserId};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use uuid::Uuid;

use crate::audit::Author;
use crate::error::StoreResult;

/// What a table with a `customer_id` holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    /// Records of a registered kind; the kind's `CustomerLink` says what follows.
    Records(EntityKind),
    /// Rows derived from the customer itself, rewritten by its own writes (search tokens).
    Derived,
    /// The customer's own log, which stays with the customer it describes (a merge
    /// tombstone keeps its pool history).
    Log,
}

/// Every table with a `customer_id` column.
pub const TABLES: &[(&str, Holds)] = &[
    ("contacts", Holds::Records(EntityKind::Contact)),
    ("interactions", Holds::Records(EntityKind::Interaction)),
    ("events", Holds::Records(EntityKind::Event)),
    ("visit_plans", Holds::Records(EntityKind::VisitPlan)),
    ("check_ins", Holds::Records(EntityKind::CheckIn)),
    ("opportunities", Holds::Records(EntityKind::Opportunity)),
    ("customer_search_tokens", Holds::Derived),
    ("pool_log", Holds::Log),
];

/// The tables whose rows a merge moves to the survivor, with their kinds.
pub fn moved_on_merge() -> impl Iterator<Item = (&'static str, EntityKind)> {
    TABLES.iter().filter_map(|(table, holds)| match holds {
        Holds::Records(kind) if kind.customer_link().is_some_and(|link| link.moves_on_merge) => Some((*table, *kind)),
        _ => None,
    })
}

/// Hands the records of `customers` over to their new owner (`None`: the customers went
/// to a pool), as each kind's link says.
pub async fn follow_owner<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: &[Uuid],
    owner: Option<UserId>,
) -> StoreResult<()> {
    for (table, holds) in TABLES {
        let Holds::Records(kind) = holds else { continue };
        let Some(link) = kind.customer_link() else { continue };
        match (link.on_transfer, owner) {
            (OnTransfer::Stays, _) | (OnTransfer::OpenFollowNewOwner, None) => {}
            (OnTransfer::FollowsOwner, _) => {
                owner_follows(conn, author.tenant_id, table, customers, owner).await?;
            }
            (OnTransfer::OpenFollowNewOwner, Some(owner)) => match kind {
                EntityKind::Opportunity => {
                    crate::opportunity::follow_customer_owner(conn, author, customers, Some(owner)).await?;
                }
                other => unreachable_link(*other)?,
            },
        }
    }
    Ok(())
}

/// A kind registered to follow its customer's owner with no store code that does it.
fn unreachable_link(kind: EntityKind) -> StoreResult<()> {
    Err(crate::StoreError::Database(sea_orm::DbErr::Custom(format!(
        "{kind} is registered to follow its customer's new owner, but the store has no such hand-over"
    ))))
}

/// Gives every row of `table` that belongs to `customers` to `owner` (one statement).
async fn owner_follows<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    table: &'static str,
    customers: &[Uuid],
    owner: Option<UserId>,
) -> StoreResult<u64> {
    let statement = Query::update()
        .table(table)
        .value("owner_id", owner.map(UserId::uuid))
        .value("version", Expr::col("version").add(1))
        .value("updated_at", chrono::Utc::now())
        .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
        .and_where(Expr::col("customer_id").is_in(customers.iter().copied()))
        .to_owned();
    Ok(conn.execute(&statement).await?.rows_affected())
}

/// The ids of `table`'s rows that belong to `customer`.
pub async fn ids_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    table: &'static str,
    customer: Uuid,
) -> StoreResult<Vec<Uuid>> {
    let rows = conn
        .query_all(
            &Query::select()
                .column("id")
                .from(table)
                .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
                .and_where(Expr::col("customer_id").eq(customer))
                .to_owned(),
        )
        .await?;
    Ok(rows.iter().map(|r| r.try_get::<Uuid>("", "id")).collect::<Result<_, _>>()?)
}

/// Points rows of `table` from one customer to another.
pub async fn move_rows<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    table: &'static str,
    ids: &[Uuid],
    from: Uuid,
    to: Uuid,
) -> StoreResult<u64> {
    let statement = Query::update()
        .table(table)
        .value("customer_id", to)
        .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
        .and_where(Expr::col("customer_id").eq(from))
        .and_where(Expr::col("id").is_in(ids.iter().copied()))
        .to_owned();
    Ok(conn.execute(&statement).await?.rows_affected())
}
