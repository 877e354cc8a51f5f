//! The tables that hang off a customer, registered once. Merges move their rows to the
//! survivor (and the undo moves them back), and a change of owner hands them over, each
//! as the domain's [`CustomerLink`](guanxi_domain::entity::CustomerLink) for its kind
//! says. A test reads the database catalogue on both engines and fails when a table with
//! a `customer_id` column is missing here, so a new module cannot forget its table.

use std::collections::HashMap;

use guanxi_domain::entity::{EntityKind, OnTransfer};
use guanxi_domain::ids::{TenantId, UserId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::service::work_order::WorkOrderStatus;
use guanxi_domain::sharing::handover::HandoverItem;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
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
    ("leads", Holds::Records(EntityKind::Lead)),
    ("service_contracts", Holds::Records(EntityKind::ServiceContract)),
    ("work_orders", Holds::Records(EntityKind::WorkOrder)),
    ("price_policies", Holds::Records(EntityKind::PricePolicy)),
    ("customer_search_tokens", Holds::Derived),
    ("customer_values", Holds::Derived),
    ("pool_log", Holds::Log),
    ("portal_tokens", Holds::Credentials),
    ("collaborators", Holds::Shares),
    ("collaboration_requests", Holds::Log),
];

/// Which of a user's rows in a held table are still their work; the others are history
/// that stays with them (a deal they won, an event that took place).
#[derive(Clone, Copy, Debug)]
pub enum Open {
    Always,
    /// Rows whose `column` holds one of `values()`.
    Where {
        column: &'static str,
        values: fn() -> Vec<&'static str>,
    },
    /// Rows whose parent (`key` = `table`.id) has `column` in `values()`.
    ParentWhere {
        key: &'static str,
        table: &'static str,
        column: &'static str,
        values: fn() -> Vec<&'static str>,
    },
}

/// What handing a held row to someone else takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moves {
    /// The customers themselves: their owner's department and receipt time and the
    /// work-log counts follow.
    Customers,
    /// Versioned records of a kind, each with a change event.
    Records(EntityKind),
    /// Rows unique per (`key`, user), recorded on the `key`'s record of `kind` as `field`:
    /// moved unless the receiver already has one, dropped then.
    Links { key: &'static str, kind: EntityKind, field: &'static str },
    /// Shares of customers and deals (collaborators): moved as links, recorded on the
    /// shared record, and dropped where the receiver owns what is shared.
    Shares,
}

/// A column naming the user who holds a row: the handover moves the open rows to
/// whoever receives the departing user's work, as `item`.
#[derive(Clone, Copy, Debug)]
pub struct Held {
    pub item: HandoverItem,
    pub table: &'static str,
    pub column: &'static str,
    pub open: Open,
    pub moves: Moves,
    /// The column holding since when the holder has the row (the pools' reclaim rules
    /// count from it), set when the row moves.
    pub received: Option<&'static str>,
}

const fn held(item: HandoverItem, table: &'static str, kind: EntityKind) -> Held {
    Held { item, table, column: "owner_id", open: Open::Always, moves: Moves::Records(kind), received: None }
}

fn open_deal() -> Vec<&'static str> {
    vec!["OPEN"]
}

fn planned_event() -> Vec<&'static str> {
    vec![guanxi_domain::activity::calendar::EventStatus::Planned.as_str()]
}

fn open_lead() -> Vec<&'static str> {
    guanxi_domain::leads::lead::LeadStatus::OPEN.iter().map(|s| s.as_str()).collect()
}

fn open_work_order() -> Vec<&'static str> {
    WorkOrderStatus::OPEN.iter().map(|s| s.as_str()).collect()
}

/// Every column that names the user holding a row of the customer's records, in the order
/// a handover moves them (customers first; shares last, once the records they share have
/// their new owners). A test reads the catalogue on both engines and fails when a
/// customer-owned table has an `owner_id` this list (or [`KEPT`]) misses, and the
/// handover test checks that none of these is left with the departed user.
pub const HELD: &[Held] = &[
    Held {
        item: HandoverItem::Customers,
        table: "customers",
        column: "owner_id",
        open: Open::Always,
        moves: Moves::Customers,
        received: Some("owner_received_at"),
    },
    held(HandoverItem::Contacts, "contacts", EntityKind::Contact),
    Held {
        open: Open::Where { column: "status", values: open_deal },
        ..held(HandoverItem::OpenOpportunities, "opportunities", EntityKind::Opportunity)
    },
    held(HandoverItem::Quotes, "quotes", EntityKind::Quote),
    held(HandoverItem::Orders, "sales_orders", EntityKind::Order),
    held(HandoverItem::Contracts, "contracts", EntityKind::Contract),
    held(HandoverItem::Receivables, "receipts", EntityKind::Receipt),
    held(HandoverItem::Receivables, "invoices", EntityKind::Invoice),
    held(HandoverItem::ServiceContracts, "service_contracts", EntityKind::ServiceContract),
    Held {
        open: Open::Where { column: "status", values: planned_event },
        ..held(HandoverItem::OpenTasksAndEvents, "events", EntityKind::Event)
    },
    Held {
        item: HandoverItem::OpenTasksAndEvents,
        table: "event_assignees",
        column: "user_id",
        open: Open::ParentWhere { key: "event_id", table: "events", column: "status", values: planned_event },
        moves: Moves::Links { key: "event_id", kind: EntityKind::Event, field: "assigneeIds" },
        received: None,
    },
    held(HandoverItem::OpenTasksAndEvents, "visit_plans", EntityKind::VisitPlan),
    Held {
        open: Open::Where { column: "status", values: open_work_order },
        ..held(HandoverItem::OpenWorkOrders, "work_orders", EntityKind::WorkOrder)
    },
    Held {
        open: Open::Where { column: "status", values: open_lead },
        received: Some("owner_received_at"),
        ..held(HandoverItem::Leads, "leads", EntityKind::Lead)
    },
    Held {
        item: HandoverItem::Collaborations,
        table: "collaborators",
        column: "user_id",
        open: Open::Always,
        moves: Moves::Shares,
        received: None,
    },
];

/// Columns of customer-owned tables naming who did something: they stay with that user.
pub const KEPT: &[(&str, &str)] = &[("check_ins", "user_id"), ("pool_log", "user_id")];

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

/// Which rows of a kind's table [`links`] reads.
#[derive(Clone, Copy, Debug)]
pub enum LinksOf<'a> {
    /// The rows of these customers.
    Customers(&'a [Uuid]),
    /// These rows.
    Records(&'a [Uuid]),
    /// Up to `limit` rows of one customer after `after`, in id order.
    CustomerAfter { customer: Uuid, after: Option<Uuid>, limit: u64 },
}

/// The table of the records of `kind` that hang off a customer.
fn table_of(kind: EntityKind) -> Option<&'static str> {
    TABLES.iter().find_map(|(table, holds)| (holds.kind() == Some(kind)).then_some(*table))
}

/// The records of `kind` that hang off a customer, each with its customer, among the rows
/// `of` names (live or deleted; the caller's scope is not applied: pass the ids through
/// the registry's visibility before showing them). One statement, or none for a kind
/// without a customer or no ids.
pub async fn links<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    kind: EntityKind,
    of: LinksOf<'_>,
) -> StoreResult<Vec<(Uuid, Uuid)>> {
    let Some(table) = table_of(kind) else { return Ok(Vec::new()) };
    let mut statement = Query::select();
    statement
        .columns(["id", "customer_id"])
        .from(table)
        .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
        .and_where(Expr::col("customer_id").is_not_null());
    match of {
        LinksOf::Customers([]) | LinksOf::Records([]) => return Ok(Vec::new()),
        LinksOf::Customers(ids) => statement.and_where(Expr::col("customer_id").is_in(ids.iter().copied())),
        LinksOf::Records(ids) => statement.and_where(Expr::col("id").is_in(ids.iter().copied())),
        LinksOf::CustomerAfter { customer, after, limit } => {
            statement.and_where(Expr::col("customer_id").eq(customer)).order_by("id", Order::Asc).limit(limit);
            if let Some(after) = after {
                statement.and_where(Expr::col("id").gt(after));
            }
            &mut statement
        }
    };
    let rows = conn.query_all(&statement).await?;
    rows.iter().map(|row| Ok((row.try_get::<Uuid>("", "id")?, row.try_get::<Uuid>("", "customer_id")?))).collect()
}

/// How many records of `kind` each of `customers` has (live or deleted). One statement,
/// or none for a kind without a customer.
pub async fn link_counts<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    kind: EntityKind,
    customers: &[Uuid],
) -> StoreResult<HashMap<Uuid, usize>> {
    let Some(table) = table_of(kind).filter(|_| !customers.is_empty()) else { return Ok(HashMap::new()) };
    let statement = Query::select()
        .column("customer_id")
        .expr_as(Expr::col("id").count(), "n")
        .from(table)
        .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
        .and_where(Expr::col("customer_id").is_in(customers.iter().copied()))
        .group_by_col("customer_id")
        .to_owned();
    let mut counts = HashMap::new();
    for row in conn.query_all(&statement).await? {
        counts.insert(row.try_get::<Uuid>("", "customer_id")?, row.try_get::<i64>("", "n")? as usize);
    }
    Ok(counts)
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
    let mut moving: Vec<(Uuid, Option<Uuid>)> = Vec::new();
    for chunk in customers.chunks(500) {
        let select = Query::select()
            .columns(["id", "owner_id"])
            .from(table)
            .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
            .and_where(Expr::col("customer_id").is_in(chunk.iter().copied()))
            .and_where(Expr::col(column).eq(value))
            .and_where(Expr::col("deleted_at").is_null())
            .to_owned();
        for row in conn.query_all(&select).await? {
            let old: Option<Uuid> = row.try_get("", "owner_id")?;
            if old != owner {
                moving.push((row.try_get("", "id")?, old));
            }
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

/// Gives every row of `table` that belongs to `customers` to `owner` (one statement per
/// 500 customers).
async fn owner_follows<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    table: &'static str,
    customers: &[Uuid],
    owner: Option<UserId>,
) -> StoreResult<u64> {
    let mut moved = 0;
    for chunk in customers.chunks(500) {
        let statement = Query::update()
            .table(table)
            .value("owner_id", owner.map(UserId::uuid))
            .value("version", Expr::col("version").add(1))
            .value("updated_at", chrono::Utc::now())
            .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
            .and_where(Expr::col("customer_id").is_in(chunk.iter().copied()))
            .to_owned();
        moved += conn.execute(&statement).await?.rows_affected();
    }
    Ok(moved)
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
