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
    let Some(mut next) = found.fields.category_id else { return Ok(vec![]) };
    let all = crate::trade::product::categories(conn, tenant).await?;
    let mut chain = vec![next.uuid()];
    while let Some(parent) = all.iter().find(|c| c.id == next).and_then(|c| c.parent_id) {
        if chain.contains(&parent.uuid()) {
            break;
        }
        chain.push(parent.uuid());
        next = parent;
    }
    Ok(chain)
}

/// Seconds from `earlier` to `later`, both timestamp columns, as SQL.
fn seconds_between(backend: sea_orm::DbBackend, later: &str, earlier: &str) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => format!("EXTRACT(EPOCH FROM ({later} - {earlier}))"),
        _ => format!("((julianday({later}) - julianday({earlier})) * 86400.0)"),
    }
}

/// The headline figures of the orders a filter matches.
#[derive(Clone, Debug, Default, PartialEq, sea_orm::FromQueryResult)]
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

/// The totals of what `filter` matches in the caller's scope: one statement.
pub async fn totals<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: Assigned,
    filter: &WorkOrderFilter,
) -> StoreResult<Totals> {
    let backend = conn.get_database_backend();
    let col = |c: &str| format!(r#""work_orders"."{c}""#);
    let in_list = |statuses: &[WorkOrderStatus]| {
        statuses.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ")
    };
    let response = seconds_between(backend, &col("accepted_at"), &col("created_at"));
    let resolution = seconds_between(backend, &col("completed_at"), &col("created_at"));
    let row = WorkOrders::visible(backend, tenant, scope)
        .filter(filter.condition())
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "count")
        .column_as(count_where(&format!("{} IN ({})", col("status"), in_list(WorkOrderStatus::OPEN))), "open")
        .column_as(count_where(&format!("{} IS NOT NULL", col("completed_at"))), "completed")
        .column_as(count_where(&format!("{} = 'CANCELLED'", col("status"))), "cancelled")
        .column_as(Expr::cust(format!("CAST(AVG({response}) AS DOUBLE PRECISION)")), "avg_response_seconds")
        .column_as(Expr::cust(format!("CAST(AVG({resolution}) AS DOUBLE PRECISION)")), "avg_resolution_seconds")
        .column_as(Expr::cust(format!("CAST(AVG({}) AS DOUBLE PRECISION)", col("satisfaction"))), "avg_satisfaction")
        .column_as(count_where(&format!("{} IS NOT NULL", col("satisfaction"))), "rated")
        .column_as(
            count_where(&format!(
                "({} IS NOT NULL OR {} IS NOT NULL)",
                col("response_breached_at"),
                col("resolution_breached_at")
            )),
            "breached",
        )
        .into_model::<Totals>()
        .one(conn)
        .await?;
    Ok(row.unwrap_or_default())
}

fn count_where(condition: &str) -> SimpleExpr {
    Expr::cust(format!("CAST(COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0) AS BIGINT)"))
}

/// What a breakdown groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    Status,
    Kind,
    Priority,
    Period(Granularity),
}

/// Counts of what `filter` matches in the caller's scope, grouped by one dimension (a
/// period groups by the day, week or month reported, in Shanghai time): one statement.
/// The key is the stored text, or the period's first day.
pub async fn breakdown<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: Assigned,
    filter: &WorkOrderFilter,
    dimension: Dimension,
) -> StoreResult<Vec<(String, i64)>> {
    let backend = conn.get_database_backend();
    let key = match dimension {
        Dimension::Status => r#""work_orders"."status""#.to_owned(),
        Dimension::Kind => r#""work_orders"."kind""#.to_owned(),
        Dimension::Priority => r#""work_orders"."priority""#.to_owned(),
        Dimension::Period(granularity) => {
            crate::dialect::period_start_sql(backend, granularity, r#""work_orders"."created_at""#)
        }
    };
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

/// Counts of what `filter` matches per technician (`None`: not dispatched): one statement.
pub async fn by_technician<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: Assigned,
    filter: &WorkOrderFilter,
) -> StoreResult<Vec<(Option<Uuid>, i64)>> {
    Ok(WorkOrders::visible(conn.get_database_backend(), tenant, scope)
        .filter(filter.condition())
        .select_only()
        .column(work_order::Column::TechnicianId)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(work_order::Column::TechnicianId)
        .into_tuple()
        .all(conn)
        .await?)
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
