//! The tables that hang off a customer, registered once. Merges move their rows to the
//! survivor (and the undo moves them back), and a change of owner hands them over, each
//! as the domain's [`CustomerLink`](guanxi_domain::entity::CustomerLink) for its kind
//! says. A test reads the database catalogue on both engines and fails when a table with
//! a `customer_id` column is missing here, so a new module cannot forget its table.

use guanxi_domain::entity::{EntityKind, OnTransfer};
use guanxi_domain::ids::{TenantId, UserId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};

/// What a table with a `customer_id` holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    /// Records of a registered kind; the kind's `CustomerLink` says what follows.
    Records(EntityKind),
    /// Records of a kind whose open ones follow a new owner: open while `column` holds
    /// `value` (deals in an open stage).
    OpenRecords { kind: EntityKind, column: &'static str, value: &'static str },
    /// Rows derived from the customer and its records, rewritten by its own writes (search
    /// tokens) or by the nightly refresh (RFM values, which a merged-away customer loses
    /// there).
    Derived,
    /// The customer's own log, which stays with the customer it describes (a merge
    /// tombstone keeps its pool history).
    Log,
    /// Credentials issued for one customer (portal tokens): they stay, and stop working
    /// once their contact belongs to another customer, so a merge never widens what a
    /// token reaches; staff issue new ones.
    Credentials,
    /// Shares of the customer or its deals with collaborators: they stay with the record
    /// shared (a merged-away customer's end with it; the survivor keeps its own) and keep
    /// their user when the customer changes hands.
    Shares,
}

/// Every table with a `customer_id` column.
pub const TABLES: &[(&str, Holds)] = &[
    ("contacts", Holds::Records(EntityKind::Contact)),
    ("interactions", Holds::Records(EntityKind::Interaction)),
    ("events", Holds::Records(EntityKind::Event)),
    ("visit_plans", Holds::Records(EntityKind::VisitPlan)),
    ("check_ins", Holds::Records(EntityKind::CheckIn)),
    ("opportunities", Holds::OpenRecords { kind: EntityKind::Opportunity, column: "status", value: "OPEN" }),
    ("quotes", Holds::Records(EntityKind::Quote)),
    ("sales_orders", Holds::Records(EntityKind::Order)),
    ("contracts", Holds::Records(EntityKind::Contract)),
    ("receipts", Holds::Records(EntityKind::Receipt)),
    ("billing_profiles", Holds::Records(EntityKind::BillingProfile)),
    ("invoices", Holds::Records(EntityKind::Invoice)),
    ("assets", Holds::Records(EntityKind::Asset)),
    ("service_contracts", Holds::Records(EntityKind::ServiceContract)),
    ("work_orders", Holds::Records(EntityKind::WorkOrder)),
    ("price_policies", Holds::Records(EntityKind::PricePolicy)),
    ("customer_search_tokens", Holds::Derived),
    ("customer_values", Holds::Derived),
    ("pool_log", Holds::Log),
    ("portal_tokens", Holds::Credentials),
    ("collaborators", Holds::Shares),
];

impl Holds {
    /// The kind of record the table holds, if it holds records.
    pub fn kind(self) -> Option<EntityKind> {
        match self {
            Holds::Records(kind) | Holds::OpenRecords { kind, .. } => Some(kind),
            Holds::Derived | Holds::Log | Holds::Credentials | Holds::Shares => None,
        }
    }
}

/// The tables whose rows a merge moves to the survivor, with their kinds.
pub fn moved_on_merge() -> impl Iterator<Item = (&'static str, EntityKind)> {
    TABLES.iter().filter_map(|(table, holds)| {
        let kind = holds.kind()?;
        kind.customer_link().is_some_and(|link| link.moves_on_merge).then_some((*table, kind))
    })
}

/// Where customers go when they change hands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handover {
    /// To this owner, or to nobody (an admin cleared the owner).
    To(Option<UserId>),
    /// Into a public pool: open records stay with their rep until someone takes the
    /// customer.
    IntoPool,
}

/// Hands the records of `customers` over as each kind's link says.
pub async fn follow_owner<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: &[Uuid],
    handover: Handover,
) -> StoreResult<()> {
    let owner = match handover {
        Handover::To(owner) => owner,
        Handover::IntoPool => None,
    };
    for (table, holds) in TABLES {
        let Some(link) = holds.kind().and_then(EntityKind::customer_link) else { continue };
        match (link.on_transfer, handover, holds) {
            (OnTransfer::Stays, ..) | (OnTransfer::OpenFollowNewOwner, Handover::IntoPool, _) => {}
            (OnTransfer::FollowsOwner, ..) => {
                owner_follows(conn, author.tenant_id, table, customers, owner).await?;
            }
            (OnTransfer::OpenFollowNewOwner, Handover::To(owner), Holds::OpenRecords { kind, column, value }) => {
                open_follow(conn, author, (table, *kind), (column, value), customers, owner).await?;
            }
            (OnTransfer::OpenFollowNewOwner, Handover::To(_), _) => {
                return Err(StoreError::Database(DbErr::Custom(format!(
                    "{table} follows its customer's new owner when open, but is not registered with what open means"
                ))));
            }
        }
    }
    Ok(())
}

/// Gives the open rows of `customers` in `table` (records of `kind`, open while `column`
/// holds `value`) to their customer's new owner; closed ones keep the owner who closed
/// them, who is credited with them. Each moved record gets a change event.
async fn open_follow<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (table, kind): (&'static str, EntityKind),
    (column, value): (&'static str, &'static str),
    customers: &[Uuid],
    owner: Option<UserId>,
) -> StoreResult<u64> {
    let tenant = author.tenant_id;
    let owner = owner.map(UserId::uuid);
    let select = Query::select()
        .columns(["id", "owner_id"])
        .from(table)
        .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
        .and_where(Expr::col("customer_id").is_in(customers.iter().copied()))
        .and_where(Expr::col(column).eq(value))
        .and_where(Expr::col("deleted_at").is_null())
        .to_owned();
    let mut moving: Vec<(Uuid, Option<Uuid>)> = Vec::new();
    for row in conn.query_all(&select).await? {
        let old: Option<Uuid> = row.try_get("", "owner_id")?;
        if old != owner {
            moving.push((row.try_get("", "id")?, old));
        }
    }
    let mut moved = 0;
    for chunk in moving.chunks(500) {
        let update = Query::update()
            .table(table)
            .value("owner_id", owner)
            .value("version", Expr::col("version").add(1))
            .value("updated_at", chrono::Utc::now())
            .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
            .and_where(Expr::col("id").is_in(chunk.iter().map(|(id, _)| *id)))
            .to_owned();
        moved += conn.execute(&update).await?.rows_affected();
    }
    let events = moving
        .into_iter()
        .map(|(id, old)| (id, Operation::Update, ChangeSet::new().field("ownerId", old, owner)))
        .collect();
    audit::record_many(conn, author, kind, events).await?;
    Ok(moved)
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
