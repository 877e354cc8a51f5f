//! Reads over many work orders, each one statement: the dispatch ranking
//! (`suggest_technicians`), the statistics (`stats`), the work log's figures and the
//! 360 view's service summary. Every one goes through the caller's work-order scope
//! except the ranking, which reads technicians (configuration) and their open load.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use guanxi_domain::activity::field::Granularity;
use guanxi_domain::entity::Assigned;
use guanxi_domain::ids::TenantId;
use guanxi_domain::service::work_order::{WorkOrder, WorkOrderStatus};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::dialect::raw_statement;
use crate::entity::work_order;
use crate::error::StoreResult;
use crate::repo::Scoped;
use crate::service::asset::SKILL_KINDS;
use crate::service::work_order::{WorkOrderFilter, WorkOrders};

/// One technician as dispatch ranks them for an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub user_id: Uuid,
    pub display_name: String,
    /// Skilled in the order's product category (or a category above it).
    pub skill: bool,
    /// Serves the order's region.
    pub region: bool,
    /// Open work orders assigned to them now.
    pub open_load: i64,
}

/// Active technicians ranked for `order`: skill first, then region, then the lightest
/// open load, then name. One statement, whatever the number of technicians.
pub async fn suggest_technicians<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    order: &WorkOrder,
    limit: u64,
) -> StoreResult<Vec<Suggestion>> {
    let categories = match order.request.product_id {
        Some(product) => category_chain(conn, tenant, product.uuid()).await?,
        None => vec![],
    };
    let t = tenant.uuid();
    let (category, region) = SKILL_KINDS;
    let open: Vec<&str> = WorkOrderStatus::OPEN.iter().map(|s| s.as_str()).collect();
    let mut values: Vec<sea_orm::Value> = vec![t.into(), category.into()];
    let category_list = if categories.is_empty() {
        "NULL".to_owned()
    } else {
        values.extend(categories.iter().map(|c| sea_orm::Value::from(c.to_string())));
        vec!["?"; categories.len()].join(", ")
    };
    values.extend([t.into(), region.into(), order.request.region.clone().unwrap_or_default().into(), t.into()]);
    values.extend(open.iter().map(|s| sea_orm::Value::from(*s)));
    values.extend([t.into(), "ACTIVE".into(), (limit as i64).into()]);
    let sql = format!(
        "SELECT t.id AS user_id, u.display_name AS display_name, \
         CASE WHEN EXISTS (SELECT 1 FROM technician_skills s WHERE s.tenant_id = ? AND s.kind = ? \
           AND s.value IN ({category_list}) AND s.user_id = t.id) THEN 1 ELSE 0 END AS skill, \
         CASE WHEN EXISTS (SELECT 1 FROM technician_skills s WHERE s.tenant_id = ? AND s.kind = ? \
           AND s.value = ? AND s.user_id = t.id) THEN 1 ELSE 0 END AS region, \
         (SELECT COUNT(*) FROM work_orders w WHERE w.tenant_id = ? AND w.technician_id = t.id \
           AND w.status IN ({})) AS open_load \
         FROM technicians t JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.id \
         WHERE t.tenant_id = ? AND t.active = TRUE AND u.status = ? \
         ORDER BY skill DESC, region DESC, open_load ASC, u.display_name ASC, t.id ASC LIMIT ?",
        vec!["?"; open.len()].join(", ")
    );
    let rows = conn.query_all_raw(raw_statement(conn.get_database_backend(), &sql, values)).await?;
    rows.into_iter()
        .map(|row| {
            Ok(Suggestion {
                user_id: row.try_get("", "user_id")?,
                display_name: row.try_get("", "display_name")?,
                skill: row.try_get::<i32>("", "skill")? == 1,
                region: row.try_get::<i32>("", "region")? == 1,
                open_load: row.try_get("", "open_load")?,
            })
        })
        .collect()
}

/// A product's category and every category above it.
async fn category_chain<C: ConnectionTrait>(conn: &C, tenant: TenantId, product: Uuid) -> StoreResult<Vec<Uuid>> {
    let Some(found) = crate::trade::product::find(conn, tenant, (), product).await? else { return Ok(vec![]) };
    let Some(category) = found.fields.category_id else { return Ok(vec![]) };
    let all = crate::trade::product::categories(conn, tenant).await?;
    Ok(guanxi_domain::trade::product::lineage(&all, category).into_iter().map(|c| c.uuid()).collect())
}

/// The figures of one group of orders sharing status, type, priority and technician:
/// counts and sums, from which every figure of the statistics is added up.
#[derive(Clone, Debug, PartialEq, sea_orm::FromQueryResult)]
pub struct Group {
    pub status: String,
    pub kind: String,
    pub priority: String,
    pub technician_id: Option<Uuid>,
    pub count: i64,
    pub completed: i64,
    /// Seconds from report to acceptance, summed over the accepted orders.
    pub response_seconds: Option<f64>,
    pub accepted: i64,
    /// Seconds from report to completion, summed over the completed orders.
    pub resolution_seconds: Option<f64>,
    pub satisfaction: Option<i64>,
    pub rated: i64,
    pub breached: i64,
}

/// What `filter` matches in the caller's scope, grouped by status, type, priority and
/// technician: one statement, one pass over the orders, however many figures are asked.
pub async fn groups<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: Assigned,
    filter: &WorkOrderFilter,
) -> StoreResult<Vec<Group>> {
    use work_order::Column as W;
    let backend = conn.get_database_backend();
    let col = |c: &str| format!(r#""work_orders"."{c}""#);
    let seconds = |to: &str| crate::dialect::seconds_between(backend, &col(to), &col("created_at"));
    let sum = |what: String| Expr::cust(format!("CAST(SUM({what}) AS DOUBLE PRECISION)"));
    Ok(WorkOrders::visible(backend, tenant, scope)
        .filter(filter.condition())
        .select_only()
        .column(W::Status)
        .column(W::Kind)
        .column(W::Priority)
        .column(W::TechnicianId)
        .column_as(Expr::cust("COUNT(*)"), "count")
        .column_as(count_where(&format!("{} IS NOT NULL", col("completed_at"))), "completed")
        .column_as(sum(seconds("accepted_at")), "response_seconds")
        .column_as(count_where(&format!("{} IS NOT NULL", col("accepted_at"))), "accepted")
        .column_as(sum(seconds("completed_at")), "resolution_seconds")
        .column_as(Expr::cust(format!("CAST(SUM({}) AS BIGINT)", col("satisfaction"))), "satisfaction")
        .column_as(count_where(&format!("{} IS NOT NULL", col("satisfaction"))), "rated")
        .column_as(
            count_where(&format!(
                "({} IS NOT NULL OR {} IS NOT NULL)",
                col("response_breached_at"),
                col("resolution_breached_at")
            )),
            "breached",
        )
        .group_by(W::Status)
        .group_by(W::Kind)
        .group_by(W::Priority)
        .group_by(W::TechnicianId)
        .into_model::<Group>()
        .all(conn)
        .await?)
}

/// The headline figures of some groups.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub count: i64,
    pub open: i64,
    pub completed: i64,
    pub cancelled: i64,
    /// From report to acceptance, over the accepted ones.
    pub avg_response_seconds: Option<f64>,
    /// From report to completion, over the completed ones.
    pub avg_resolution_seconds: Option<f64>,
    pub avg_satisfaction: Option<f64>,
    pub rated: i64,
    /// Orders with a deadline found missed.
    pub breached: i64,
}

impl Totals {
    pub fn of(groups: &[Group]) -> Self {
        let sum = |f: fn(&Group) -> i64| groups.iter().map(f).sum::<i64>();
        let of_status = |statuses: &[WorkOrderStatus]| {
            groups.iter().filter(|g| statuses.iter().any(|s| s.as_str() == g.status)).map(|g| g.count).sum()
        };
        let average = |total: f64, n: i64| (n > 0).then(|| total / n as f64);
        let (accepted, completed, rated) = (sum(|g| g.accepted), sum(|g| g.completed), sum(|g| g.rated));
        Totals {
            count: sum(|g| g.count),
            open: of_status(WorkOrderStatus::OPEN),
            completed,
            cancelled: of_status(&[WorkOrderStatus::Cancelled]),
            avg_response_seconds: average(groups.iter().filter_map(|g| g.response_seconds).sum(), accepted),
            avg_resolution_seconds: average(groups.iter().filter_map(|g| g.resolution_seconds).sum(), completed),
            avg_satisfaction: average(groups.iter().filter_map(|g| g.satisfaction).sum::<i64>() as f64, rated),
            rated,
            breached: sum(|g| g.breached),
        }
    }
}

fn count_where(condition: &str) -> SimpleExpr {
    Expr::cust(format!("CAST(COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0) AS BIGINT)"))
}

/// Counts of what `filter` matches in the caller's scope per period reported (the day,
/// week or month, in Shanghai time, keyed by its first day): one statement.
pub async fn by_period<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: Assigned,
    filter: &WorkOrderFilter,
    granularity: Granularity,
) -> StoreResult<Vec<(String, i64)>> {
    let backend = conn.get_database_backend();
    let key = crate::dialect::period_start_sql(backend, granularity, r#""work_orders"."created_at""#);
    let rows: Vec<(String, i64)> = WorkOrders::visible(backend, tenant, scope)
        .filter(filter.condition())
        .select_only()
        .column_as(Expr::cust(key.clone()), "k")
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(Expr::cust(key))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows)
}

/// The work log's figures for `users` over a window, by period.
#[derive(Clone, Debug, Default)]
pub struct WorkLogFigures {
    /// Orders they took (owner), by report time.
    pub opened: Vec<(String, i64)>,
    /// Orders they completed (technician), by completion time.
    pub completed: Vec<(String, i64)>,
    /// Orders they took whose deadline was found missed, by the first breach.
    pub breached: Vec<(String, i64)>,
}

/// [`WorkLogFigures`]: one grouped statement each.
pub async fn work_log<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: Assigned,
    users: &[Uuid],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    granularity: Granularity,
) -> StoreResult<WorkLogFigures> {
    use work_order::Column as W;
    let backend = conn.get_database_backend();
    let first_breach = crate::service::work_order::FIRST_BREACH;
    let mut figures = Vec::with_capacity(3);
    for (person, at) in [
        (W::OwnerId, r#""work_orders"."created_at""#),
        (W::TechnicianId, r#""work_orders"."completed_at""#),
        (W::OwnerId, first_breach),
    ] {
        let period = crate::dialect::period_start_sql(backend, granularity, at);
        let rows: Vec<(String, i64)> = WorkOrders::visible(backend, tenant, scope)
            .select_only()
            .column_as(Expr::cust(period.clone()), "period")
            .column_as(Expr::cust("COUNT(*)"), "n")
            .filter(person.is_in(users.iter().copied()))
            .filter(Expr::cust(at).gte(from))
            .filter(Expr::cust(at).lt(to))
            .group_by(Expr::cust(period))
            .into_tuple()
            .all(conn)
            .await?;
        figures.push(rows);
    }
    let breached = figures.pop().unwrap_or_default();
    let completed = figures.pop().unwrap_or_default();
    let opened = figures.pop().unwrap_or_default();
    Ok(WorkLogFigures { opened, completed, breached })
}

/// The 360 view's service summary of some customers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceSummary {
    pub open: i64,
    pub total: i64,
    pub last_service_at: Option<DateTime<Utc>>,
    pub avg_satisfaction: Option<f64>,
}

/// The service summary per customer, through the caller's scope: one grouped statement.
pub async fn summaries<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: Assigned,
    customers: &[Uuid],
) -> StoreResult<HashMap<Uuid, ServiceSummary>> {
    if customers.is_empty() {
        return Ok(HashMap::new());
    }
    let open = WorkOrderStatus::OPEN.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ");
    let rows = WorkOrders::visible(conn.get_database_backend(), tenant, scope)
        .select_only()
        .column(work_order::Column::CustomerId)
        .column_as(count_where(&format!(r#""work_orders"."status" IN ({open})"#)), "open")
        .column_as(Expr::cust("COUNT(*)"), "total")
        .column_as(Expr::col(work_order::Column::CompletedAt).max(), "last")
        .column_as(Expr::cust(r#"CAST(AVG("work_orders"."satisfaction") AS DOUBLE PRECISION)"#), "satisfaction")
        .filter(work_order::Column::CustomerId.is_in(customers.to_vec()))
        .group_by(work_order::Column::CustomerId)
        .into_model::<SummaryRow>()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let summary = ServiceSummary {
                open: r.open,
                total: r.total,
                last_service_at: r.last,
                avg_satisfaction: r.satisfaction,
            };
            (r.customer_id, summary)
        })
        .collect())
}

#[derive(sea_orm::FromQueryResult)]
struct SummaryRow {
    customer_id: Uuid,
    open: i64,
    total: i64,
    last: Option<DateTime<Utc>>,
    satisfaction: Option<f64>,
}
