//! One grouped statement per question: a measure's table (aliased `t`), its customer
//! (`sc`) and its owner (`su`) joined only when a dimension or filter needs them, the
//! caller's scope as the same conditions every list uses, grouped by position. The
//! drill-down reads the records of one cell through the very same conditions.

use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::activity::field::Granularity;
use guanxi_domain::analytics::{Dimension, Measure};
use guanxi_domain::entity::OwnerAndCustomer;
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::access::{CustomerRule, ScopeRule};
use guanxi_domain::trade::money::from_e4;
use rust_decimal::Decimal;
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait, JoinType, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbBackend};
use uuid::Uuid;

use crate::activity::work_count::Grain;
use crate::error::StoreResult;
use crate::scope::{customer_condition, owner_condition, owner_or_shared_customer, visible_customer};

/// Where a measure's records live.
struct Spec {
    table: &'static str,
    /// The column the window and the period read.
    time: &'static str,
    /// `time` is a DATE (Shanghai days), not a timestamp.
    date: bool,
    /// Ten-thousandths of a yuan.
    amount: Option<&'static str>,
    owner: &'static str,
    /// `None`: the record is the customer (or has none).
    customer: Option<&'static str>,
    condition: Option<&'static str>,
    soft_delete: bool,
}

fn spec(measure: Measure) -> Spec {
    let base = Spec {
        table: "customers",
        time: "created_at",
        date: false,
        amount: None,
        owner: "owner_id",
        customer: Some("customer_id"),
        condition: None,
        soft_delete: true,
    };
    let deals = Spec { table: "opportunities", amount: Some("t.amount_fen * 100"), ..base };
    match measure {
        Measure::NewCustomers => Spec { customer: None, ..base },
        Measure::Interactions => Spec { table: "interactions", time: "occurred_at", owner: "author_id", ..base },
        Measure::Visits => Spec {
            table: "check_ins",
            time: "server_time",
            owner: "user_id",
            condition: Some("t.kind = 'CHECK_IN'"),
            soft_delete: false,
            ..base
        },
        Measure::DealsCreated => deals,
        Measure::DealsWon => Spec { time: "closed_at", condition: Some("t.status = 'WON'"), ..deals },
        Measure::DealsLost => Spec { time: "closed_at", condition: Some("t.status = 'LOST'"), ..deals },
        Measure::Quotes => Spec { table: "quotes", amount: Some("t.gross_e4"), ..base },
        Measure::Orders => Spec { table: "sales_orders", time: "confirmed_at", amount: Some("t.gross_e4"), ..base },
        // The contract in force: a revision carries the first approval's time.
        Measure::ContractsSigned => Spec {
            table: "contracts",
            time: "approved_at",
            amount: Some("t.amount_e4"),
            condition: Some("t.status IN ('APPROVED', 'COMPLETED')"),
            ..base
        },
        Measure::MoneyReceived => Spec {
            table: "receipts",
            time: "received_on",
            date: true,
            amount: Some("t.amount_e4"),
            condition: Some("t.status = 'APPROVED'"),
            soft_delete: false,
            ..base
        },
        Measure::Invoices => Spec {
            table: "invoices",
            time: "issued_on",
            date: true,
            amount: Some("t.amount_e4"),
            condition: Some("t.status = 'ISSUED'"),
            soft_delete: false,
            ..base
        },
        Measure::WorkOrders => Spec { table: "work_orders", soft_delete: false, ..base },
        Measure::Commission => Spec {
            table: "commission_lines",
            time: "earned_on",
            date: true,
            amount: Some("t.amount_e4"),
            owner: "user_id",
            customer: None,
            condition: Some("t.kind IN ('SIGNING', 'RECEIPT', 'NEW_CUSTOMER')"),
            soft_delete: false,
        },
    }
}

/// What rows are grouped by: a dimension, or (for customer value) the customer itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    By(Dimension),
    Customer,
}

/// The rules a measure's records are seen through: their own module's on their owner, and
/// the customer rule on their customer where they have one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsScope {
    pub owner: ScopeRule,
    pub customer: CustomerRule,
}

/// What a question narrows to: the window, and values of dimensions (a cell of a
/// drill-down, or a filter); `None` as a value matches records without one.
#[derive(Clone, Debug, Default)]
pub struct StatsFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub equal: Vec<(Dimension, Option<String>)>,
    /// Owners in a department's subtree.
    pub department_tree: Option<Uuid>,
    /// Records of these customers only (a page of customers' lifetime values).
    pub customers: Option<Vec<Uuid>>,
    pub granularity: Option<Granularity>,
    /// At most this many cells (a chart asks for one more than it can use, to tell a
    /// question that is too wide); all when `None` (rankings, the 80/20 list).
    pub max_cells: Option<u64>,
}

/// The most cells one question returns; past this it must be narrowed.
pub const MAX_CELLS: u64 = 5_000;

/// One group's figures; `keys` in the order asked, as text (ids too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub keys: Vec<Option<String>>,
    pub count: i64,
    pub amount: Decimal,
}

/// The first Shanghai day that starts at or after `at`: a day belongs to the window its
/// midnight falls in, so adjacent windows never share a day.
fn first_day_from(at: DateTime<Utc>) -> NaiveDate {
    let day = guanxi_domain::customers::customer::shanghai_date(at);
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - chrono::Duration::hours(8);
    if midnight < at { day + chrono::Duration::days(1) } else { day }
}

/// Stored count rows of one grain whose period key lies in `[first, end)`.
type CountWindow = (Grain, String, String);

/// The stored counts a question can be answered from: the work log's interaction counts
/// (`interaction_counts`), as `(grain, first period key, end period key)` windows. Only
/// for INTERACTIONS grouped and filtered by owner, department and period over whole
/// Shanghai days: month rows for whole months unless the periods are days or weeks, day
/// rows for the rest. The counts hold live interactions on live customers, keyed by the
/// customer's owner, which is what the records' scope reads.
fn counted_windows(
    (measure, scope): (Measure, StatsScope),
    filter: &StatsFilter,
    groups: &[Group],
) -> Option<Vec<CountWindow>> {
    use guanxi_domain::activity::field::{day_key, whole_months};
    let (from, to) = (filter.from?, filter.to?);
    if !countable((measure, scope), filter, groups) || !midnight(from) || !midnight(to) {
        return None;
    }
    let by_days = groups.contains(&Group::By(Dimension::Period))
        && matches!(filter.granularity, Some(Granularity::Day | Granularity::Week));
    let months = if by_days { None } else { whole_months(from, to) };
    let days = match months {
        Some((start, end)) => vec![(from, start), (end, to)],
        None => vec![(from, to)],
    };
    let mut windows: Vec<CountWindow> =
        days.into_iter().filter(|(a, b)| a < b).map(|(a, b)| (Grain::Day, day_key(a), day_key(b))).collect();
    windows.extend(months.map(|(a, b)| (Grain::Month, day_key(a), day_key(b))));
    Some(windows)
}

/// Whether a question is one the stored counts answer over whole days: INTERACTIONS by
/// owner, department and period in a window, for a caller no share widens (the counts are
/// kept per customer owner; see [`cells`]).
fn countable((measure, scope): (Measure, StatsScope), filter: &StatsFilter, groups: &[Group]) -> bool {
    let by_counts = |d: &Dimension| matches!(d, Dimension::Owner | Dimension::Department | Dimension::Period);
    measure == Measure::Interactions
        && scope.customer.sharing().is_none()
        && filter.customers.is_none()
        && groups.iter().all(|g| matches!(g, Group::By(d) if by_counts(d)))
        && filter.equal.iter().all(|(d, _)| matches!(d, Dimension::Owner | Dimension::Department))
        && matches!((filter.from, filter.to), (Some(from), Some(to)) if from < to)
}

fn midnight(at: DateTime<Utc>) -> bool {
    guanxi_domain::activity::field::period_of(at, Granularity::Day).0 == at
}

/// Where the stored interaction counts live, as a [`Spec`]: the period key is their
/// time, the author their owner.
const COUNTS: Spec = Spec {
    table: "interaction_counts",
    time: "period",
    date: true,
    amount: None,
    owner: "author_id",
    customer: None,
    condition: Some("t.n <> 0"),
    soft_delete: false,
};

/// Whether a group's values are ids (read and bound as UUIDs, which SQLite stores as
/// blobs), not text.
fn is_id(group: Group) -> bool {
    matches!(group, Group::Customer | Group::By(Dimension::Owner | Dimension::Department))
}

/// The SQL of a dimension's value, `c` being the customer's alias.
fn dimension_sql(backend: DbBackend, dimension: Dimension, spec: &Spec, c: &str, granularity: Granularity) -> String {
    match dimension {
        Dimension::Industry => format!("{c}.industry"),
        Dimension::Status => format!("{c}.status"),
        Dimension::Level => format!("{c}.level"),
        Dimension::Type => format!("{c}.customer_type"),
        Dimension::Source => format!("{c}.source"),
        Dimension::Province => format!("{c}.province"),
        Dimension::City => format!("{c}.city"),
        Dimension::Size => format!("{c}.size"),
        Dimension::CreditRating => format!("{c}.credit_rating"),
        Dimension::PaymentMethod => "t.method".into(),
        Dimension::Owner if spec.table == COUNTS.table => {
            format!("NULLIF(t.{}, {})", spec.owner, crate::dialect::nil_uuid_sql(backend))
        }
        Dimension::Owner => format!("t.{}", spec.owner),
        Dimension::Department => "su.department_id".into(),
        // The counts' period is text (`YYYY-MM-DD`), which SQLite's date functions read
        // as it is (a CAST to DATE there would make it a number).
        Dimension::Period if spec.table == COUNTS.table => {
            let day = match backend {
                DbBackend::Postgres => format!("CAST(t.{} AS DATE)", spec.time),
                _ => format!("t.{}", spec.time),
            };
            crate::dialect::day_period_start_sql(backend, granularity, &day)
        }
        Dimension::Period if spec.date => {
            crate::dialect::day_period_start_sql(backend, granularity, &format!("t.{}", spec.time))
        }
        Dimension::Period => crate::dialect::period_start_sql(backend, granularity, &format!("t.{}", spec.time)),
    }
}

/// The select over a measure's records the caller may see, narrowed by `filter`, with the
/// joins `groups` and the filter need.
fn base(
    backend: DbBackend,
    tenant: TenantId,
    (measure, scope): (Measure, StatsScope),
    filter: &StatsFilter,
    (groups, counted): (&[Group], Option<&[CountWindow]>),
) -> (SelectStatement, Spec) {
    let spec = if counted.is_some() { COUNTS } else { spec(measure) };
    let (t, sc, su) = (Alias::new("t"), Alias::new("sc"), Alias::new("su"));
    let dimensions = groups.iter().filter_map(|g| match g {
        Group::By(d) => Some(*d),
        Group::Customer => None,
    });
    let wanted: Vec<Dimension> = dimensions.chain(filter.equal.iter().map(|(d, _)| *d)).collect();
    let mut query = Query::select();
    query.from_as(Alias::new(spec.table), t.clone());
    let c = match spec.customer {
        Some(column) if wanted.iter().any(|d| d.of_customer()) => {
            query.join_as(
                JoinType::LeftJoin,
                Alias::new("customers"),
                sc.clone(),
                Condition::all()
                    .add(Expr::col((sc.clone(), Alias::new("tenant_id"))).equals((t.clone(), Alias::new("tenant_id"))))
                    .add(Expr::col((sc.clone(), Alias::new("id"))).equals((t.clone(), Alias::new(column)))),
            );
            "sc"
        }
        _ => "t",
    };
    if wanted.contains(&Dimension::Department) {
        query.join_as(
            JoinType::LeftJoin,
            Alias::new("users"),
            su.clone(),
            Condition::all()
                .add(Expr::col((su.clone(), Alias::new("tenant_id"))).equals((t.clone(), Alias::new("tenant_id"))))
                .add(Expr::col((su, Alias::new("id"))).equals((t.clone(), Alias::new(spec.owner)))),
        );
    }
    let column = |name: &str| Expr::col((t.clone(), Alias::new(name)));
    query.and_where(column("tenant_id").eq(tenant.uuid()));
    if spec.soft_delete {
        query.and_where(column("deleted_at").is_null());
    }
    if let Some(condition) = spec.condition {
        query.and_where(Expr::cust(condition));
    }
    match (filter.from, filter.to, spec.date) {
        _ if counted.is_some() => {
            let mut within = Condition::any();
            for (grain, first, end) in counted.unwrap_or_default() {
                within = within.add(
                    Condition::all()
                        .add(column("grain").eq(grain.as_str()))
                        .add(column("period").gte(first.as_str()))
                        .add(column("period").lt(end.as_str())),
                );
            }
            query.cond_where(within);
        }
        (Some(from), Some(to), true) => {
            query
                .and_where(column(spec.time).gte(first_day_from(from)))
                .and_where(column(spec.time).lt(first_day_from(to)));
        }
        (Some(from), Some(to), false) => {
            query.and_where(column(spec.time).gte(from)).and_where(column(spec.time).lt(to));
        }
        _ => {
            query.and_where(column(spec.time).is_not_null());
        }
    }
    match spec.customer {
        Some(customer) => {
            let rules = OwnerAndCustomer { owner: scope.owner, customer: scope.customer };
            let columns = ((t.clone(), Alias::new(spec.owner)), (t.clone(), Alias::new(customer)));
            query.cond_where(owner_or_shared_customer(backend, tenant, rules, columns));
            query.and_where(visible_customer(backend, tenant, scope.customer, (t.clone(), Alias::new(customer))));
        }
        None => {
            query.cond_where(owner_condition(backend, tenant, scope.owner, (t.clone(), Alias::new(spec.owner))));
            let owner_id = (t.clone(), Alias::new("owner_id"));
            if counted.is_some() {
                // The counts are keyed by the customer's owner, which is what the customer
                // rule reads (they are read only for callers no share widens).
                query.cond_where(owner_condition(backend, tenant, scope.customer.owners, owner_id));
            } else if measure == Measure::NewCustomers {
                let columns = ((t.clone(), Alias::new("id")), owner_id);
                query.cond_where(customer_condition(backend, tenant, scope.customer, columns));
            }
        }
    }
    if let Some(customers) = &filter.customers {
        let customer = match (spec.customer, measure) {
            (Some(customer), _) => Some(customer),
            (None, Measure::NewCustomers) => Some("id"),
            (None, _) => None,
        };
        // Records without a customer (commission lines) belong to none of them.
        query.and_where(match customer {
            Some(customer) => column(customer).is_in(customers.iter().copied()),
            None => Expr::cust("1 = 0"),
        });
    }
    if let Some(department) = filter.department_tree {
        let rule = ScopeRule::OwnedWithinDepartmentTree(department.into());
        query.cond_where(owner_condition(backend, tenant, rule, (t.clone(), Alias::new(spec.owner))));
    }
    let granularity = filter.granularity.unwrap_or(Granularity::Month);
    for (dimension, value) in &filter.equal {
        let sql = dimension_sql(backend, *dimension, &spec, c, granularity);
        let bound: Option<sea_orm::Value> = match value {
            Some(value) if is_id(Group::By(*dimension)) => Some(Uuid::parse_str(value).unwrap_or_default().into()),
            Some(value) => Some(value.clone().into()),
            None => None,
        };
        query.and_where(match bound {
            Some(value) => Expr::cust_with_values(crate::dialect::fragment(backend, &format!("{sql} = ?")), [value]),
            None => Expr::cust(format!("{sql} IS NULL")),
        });
    }
    (query, spec)
}

/// A measure's figures grouped by `groups` (none: one cell for everything), in one
/// statement. Cells come back in no particular order.
///
/// INTERACTIONS by owner, department and period over a window that does not start and end
/// at Shanghai midnights is read as the work log reads it (`day_cover`): the whole days
/// from the stored counts, plus the part-days at either end counted from the records, or
/// less the rest of a day read whole — at most five grouped statements, merged by key.
pub async fn cells<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (measure, scope): (Measure, StatsScope),
    filter: &StatsFilter,
    groups: &[Group],
) -> StoreResult<Vec<Cell>> {
    // A caller with no live share reads the counts like anyone else; one with shares
    // reads the records (the counts cannot say which customers are shared).
    let scope = match measure {
        Measure::Interactions => {
            StatsScope { customer: crate::scope::without_idle_shares(conn, tenant, scope.customer).await?, ..scope }
        }
        _ => scope,
    };
    let (Some(from), Some(to)) = (filter.from, filter.to) else {
        return cells_once(conn, tenant, (measure, scope), filter, groups).await;
    };
    if !countable((measure, scope), filter, groups) || (midnight(from) && midnight(to)) {
        return cells_once(conn, tenant, (measure, scope), filter, groups).await;
    }
    let cover = guanxi_domain::activity::field::day_cover(from, to, Utc::now());
    let window = |(from, to): (DateTime<Utc>, DateTime<Utc>)| StatsFilter {
        from: Some(from),
        to: Some(to),
        max_cells: None,
        ..filter.clone()
    };
    let parts = cover.days.into_iter().map(|days| (days, 1)).chain(cover.plus.into_iter().map(|part| (part, 1)));
    let mut merged: std::collections::HashMap<Vec<Option<String>>, (i64, Decimal)> = std::collections::HashMap::new();
    for (part, sign) in parts.chain(cover.minus.into_iter().map(|part| (part, -1))) {
        for cell in cells_once(conn, tenant, (measure, scope), &window(part), groups).await? {
            let entry = merged.entry(cell.keys).or_default();
            entry.0 += sign * cell.count;
            entry.1 += Decimal::from(sign) * cell.amount;
        }
    }
    let mut out: Vec<Cell> = merged
        .into_iter()
        .filter(|(keys, (count, _))| *count != 0 || keys.is_empty())
        .map(|(keys, (count, amount))| Cell { keys, count, amount })
        .collect();
    if groups.is_empty() && out.is_empty() {
        out.push(Cell { keys: vec![], count: 0, amount: Decimal::ZERO });
    }
    if let Some(limit) = filter.max_cells {
        out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    Ok(out)
}

/// [`cells`] in one statement.
async fn cells_once<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (measure, scope): (Measure, StatsScope),
    filter: &StatsFilter,
    groups: &[Group],
) -> StoreResult<Vec<Cell>> {
    let backend = conn.get_database_backend();
    let counted = counted_windows((measure, scope), filter, groups);
    let (mut query, spec) = base(backend, tenant, (measure, scope), filter, (groups, counted.as_deref()));
    let c = if spec.customer.is_some() && groups.iter().any(|g| matches!(g, Group::By(d) if d.of_customer())) {
        "sc"
    } else {
        "t"
    };
    let granularity = filter.granularity.unwrap_or(Granularity::Month);
    for (i, group) in groups.iter().enumerate() {
        let sql = match group {
            Group::By(dimension) => dimension_sql(backend, *dimension, &spec, c, granularity),
            Group::Customer => format!("t.{}", spec.customer.unwrap_or("id")),
        };
        query.expr_as(Expr::cust(sql), Alias::new(format!("k{i}")));
    }
    let count = if counted.is_some() { "CAST(COALESCE(SUM(t.n), 0) AS BIGINT)" } else { "COUNT(*)" };
    query.expr_as(Expr::cust(count), Alias::new("n"));
    let amount = spec.amount.map_or("0".to_owned(), |a| format!("COALESCE(SUM({a}), 0)"));
    query.expr_as(Expr::cust(format!("CAST({amount} AS BIGINT)")), Alias::new("amount_e4"));
    if !groups.is_empty() {
        query.add_group_by((1..=groups.len()).map(|i| Expr::cust(i.to_string())));
    }
    if let Some(limit) = filter.max_cells {
        query.limit(limit);
    }
    let rows = conn.query_all(&query).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut keys = Vec::with_capacity(groups.len());
        for (i, group) in groups.iter().enumerate() {
            let column = format!("k{i}");
            keys.push(if is_id(*group) {
                row.try_get::<Option<Uuid>>("", &column)?.map(|id| id.to_string())
            } else {
                row.try_get::<Option<String>>("", &column)?
            });
        }
        out.push(Cell { keys, count: row.try_get("", "n")?, amount: from_e4(row.try_get::<i64>("", "amount_e4")?) });
    }
    Ok(out)
}

/// One record behind a cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub id: Uuid,
    /// The record's time (or day) as text, newest first.
    pub at: String,
    pub amount: Option<Decimal>,
    pub customer_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
}

/// The records behind the cell `filter.equal` names, newest first, `limit` of them after
/// the record `after` (its time and id), through the same conditions as the figures.
pub async fn records<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (measure, scope): (Measure, StatsScope),
    filter: &StatsFilter,
    (after, limit): (Option<(String, Uuid)>, u64),
) -> StoreResult<Vec<Record>> {
    let backend = conn.get_database_backend();
    let (mut query, spec) = base(backend, tenant, (measure, scope), filter, (&[], None));
    let time = format!("t.{}", spec.time);
    let customer = match (spec.customer, measure) {
        (Some(column), _) => format!("t.{column}"),
        (None, Measure::NewCustomers) => "t.id".to_owned(),
        (None, _) => format!("t.{}", spec.owner),
    };
    query
        .expr_as(Expr::cust("t.id"), Alias::new("id"))
        .expr_as(Expr::cust(time.clone()), Alias::new("at"))
        .expr_as(Expr::cust(customer), Alias::new("customer_id"))
        .expr_as(Expr::cust(format!("t.{}", spec.owner)), Alias::new("owner_id"))
        .expr_as(Expr::cust(format!("CAST({} AS BIGINT)", spec.amount.unwrap_or("0"))), Alias::new("amount_e4"));
    if let Some((at, id)) = after {
        let sql = format!("({time} < ? OR ({time} = ? AND t.id < ?))");
        let at_value: sea_orm::Value = if spec.date {
            at.parse::<NaiveDate>().map(Into::into).unwrap_or_else(|_| at.clone().into())
        } else {
            DateTime::parse_from_rfc3339(&at)
                .map(|t| t.with_timezone(&Utc).into())
                .unwrap_or_else(|_| at.clone().into())
        };
        query.and_where(Expr::cust_with_values(
            crate::dialect::fragment(backend, &sql),
            [at_value.clone(), at_value, id.into()],
        ));
    }
    query.order_by_expr(Expr::cust(time), Order::Desc).order_by_expr(Expr::cust("t.id"), Order::Desc).limit(limit);
    let rows = conn.query_all(&query).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let at = if spec.date {
            row.try_get::<NaiveDate>("", "at")?.to_string()
        } else {
            row.try_get::<DateTime<Utc>>("", "at")?.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        };
        let customer_id: Option<Uuid> = row.try_get("", "customer_id")?;
        out.push(Record {
            id: row.try_get("", "id")?,
            at,
            amount: spec.amount.and(row.try_get::<Option<i64>>("", "amount_e4")?.map(from_e4)),
            customer_id: if spec.customer.is_some() || measure == Measure::NewCustomers { customer_id } else { None },
            owner_id: row.try_get("", "owner_id")?,
        });
    }
    Ok(out)
}
