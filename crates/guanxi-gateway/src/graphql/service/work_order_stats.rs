//! `workOrderStats`: counts and averages of the work orders a filter matches in the
//! caller's scope. Each figure is one grouped statement, read only when asked for.

use async_graphql::{Context, Object, SimpleObject};
use guanxi_domain::activity::field::Granularity as DomainGranularity;
use guanxi_domain::entity::Assigned;
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::access::Permission;
use guanxi_store::service::work_order::WorkOrderFilter as StoreFilter;
use guanxi_store::service::work_order_report::{self as report, Group};

use super::work_order::{WorkOrderFilter, work_order_scope};
use crate::graphql::context::{require, state};
use crate::graphql::error::ApiResult;
use crate::graphql::loaders::UserKey;
use crate::graphql::platform::org::{USER, User};
use crate::graphql::relay::global_id;
use crate::graphql::trade::document::loaders;

/// How many orders share one value of a dimension.
#[derive(SimpleObject)]
pub struct WorkOrderCount {
    /// The value: a status, type or priority, or a period's first day (YYYY-MM-DD).
    key: String,
    count: i64,
}

/// How many orders a technician has (`technician` is null for orders not dispatched, or
/// a user the caller may not see).
#[derive(SimpleObject)]
pub struct TechnicianCount {
    technician_id: Option<async_graphql::ID>,
    technician: Option<User>,
    count: i64,
}

/// A period's granularity for `byPeriod`.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq)]
pub enum StatsGranularity {
    Day,
    Week,
    Month,
    /// From 1 January, 1 April, 1 July or 1 October.
    Quarter,
    Year,
}

impl From<StatsGranularity> for DomainGranularity {
    fn from(g: StatsGranularity) -> Self {
        match g {
            StatsGranularity::Day => DomainGranularity::Day,
            StatsGranularity::Week => DomainGranularity::Week,
            StatsGranularity::Month => DomainGranularity::Month,
            StatsGranularity::Quarter => DomainGranularity::Quarter,
            StatsGranularity::Year => DomainGranularity::Year,
        }
    }
}

/// Statistics of the work orders a filter matches, in the caller's scope.
pub struct WorkOrderStats {
    tenant: TenantId,
    scope: Assigned,
    filter: StoreFilter,
    /// The orders grouped by status, type, priority and technician, read once (one pass
    /// over the orders) however many figures are asked for.
    groups: tokio::sync::OnceCell<Vec<Group>>,
}

impl WorkOrderStats {
    async fn groups(&self, ctx: &Context<'_>) -> ApiResult<&[Group]> {
        let conn = state(ctx).db.connection();
        let groups =
            self.groups.get_or_try_init(|| report::groups(conn, self.tenant, self.scope, &self.filter)).await?;
        Ok(groups)
    }

    async fn totals(&self, ctx: &Context<'_>) -> ApiResult<report::Totals> {
        Ok(report::Totals::of(self.groups(ctx).await?))
    }

    /// Counts by one of the groups' keys, most first.
    async fn counts(&self, ctx: &Context<'_>, key: fn(&Group) -> &str) -> ApiResult<Vec<WorkOrderCount>> {
        let mut counts: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
        for group in self.groups(ctx).await? {
            *counts.entry(key(group).to_owned()).or_default() += group.count;
        }
        let mut rows: Vec<WorkOrderCount> =
            counts.into_iter().map(|(key, count)| WorkOrderCount { key, count }).collect();
        rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        Ok(rows)
    }
}

#[Object]
impl WorkOrderStats {
    /// How many orders match.
    async fn count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(self.totals(ctx).await?.count)
    }
    /// Not yet completed or cancelled.
    async fn open(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(self.totals(ctx).await?.open)
    }
    async fn completed(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(self.totals(ctx).await?.completed)
    }
    async fn cancelled(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(self.totals(ctx).await?.cancelled)
    }
    /// Average hours from report to acceptance, over the accepted orders.
    async fn avg_response_hours(&self, ctx: &Context<'_>) -> ApiResult<Option<f64>> {
        Ok(self.totals(ctx).await?.avg_response_seconds.map(hours))
    }
    /// Average hours from report to completion, over the completed orders.
    async fn avg_resolution_hours(&self, ctx: &Context<'_>) -> ApiResult<Option<f64>> {
        Ok(self.totals(ctx).await?.avg_resolution_seconds.map(hours))
    }
    /// Average satisfaction (1–5) over the rated orders, to two places.
    async fn avg_satisfaction(&self, ctx: &Context<'_>) -> ApiResult<Option<f64>> {
        Ok(self.totals(ctx).await?.avg_satisfaction.map(|s| (s * 100.0).round() / 100.0))
    }
    /// How many orders were rated.
    async fn rated(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(self.totals(ctx).await?.rated)
    }
    /// Orders with a deadline found missed.
    async fn breached(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(self.totals(ctx).await?.breached)
    }
    /// `breached` over `count`, to four places (null when nothing matches).
    async fn breach_rate(&self, ctx: &Context<'_>) -> ApiResult<Option<f64>> {
        let t = self.totals(ctx).await?;
        Ok((t.count > 0).then(|| (t.breached as f64 / t.count as f64 * 10_000.0).round() / 10_000.0))
    }
    async fn by_status(&self, ctx: &Context<'_>) -> ApiResult<Vec<WorkOrderCount>> {
        self.counts(ctx, |g| &g.status).await
    }
    async fn by_type(&self, ctx: &Context<'_>) -> ApiResult<Vec<WorkOrderCount>> {
        self.counts(ctx, |g| &g.kind).await
    }
    async fn by_priority(&self, ctx: &Context<'_>) -> ApiResult<Vec<WorkOrderCount>> {
        self.counts(ctx, |g| &g.priority).await
    }
    /// Orders reported per period (Shanghai time), oldest first.
    async fn by_period(&self, ctx: &Context<'_>, granularity: StatsGranularity) -> ApiResult<Vec<WorkOrderCount>> {
        let conn = state(ctx).db.connection();
        let mut rows = report::by_period(conn, self.tenant, self.scope, &self.filter, granularity.into()).await?;
        rows.sort();
        Ok(rows.into_iter().map(|(key, count)| WorkOrderCount { key, count }).collect())
    }
    /// Orders per technician, most first.
    async fn by_technician(&self, ctx: &Context<'_>) -> ApiResult<Vec<TechnicianCount>> {
        let mut counts: std::collections::BTreeMap<Option<uuid::Uuid>, i64> = std::collections::BTreeMap::new();
        for group in self.groups(ctx).await? {
            *counts.entry(group.technician_id).or_default() += group.count;
        }
        let mut rows: Vec<(Option<uuid::Uuid>, i64)> = counts.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let ids: Vec<UserKey> = rows.iter().filter_map(|(t, _)| t.map(UserKey)).collect();
        let mut users = loaders(ctx)?.load_many(ids).await?;
        Ok(rows
            .into_iter()
            .map(|(technician, count)| TechnicianCount {
                technician_id: technician.map(|t| global_id(USER, t)),
                technician: technician.and_then(|t| users.remove(&UserKey(t))).map(User),
                count,
            })
            .collect())
    }
}

fn hours(seconds: f64) -> f64 {
    (seconds / 36.0).round() / 100.0
}

#[derive(Default)]
pub struct WorkOrderStatsQuery;

#[Object]
impl WorkOrderStatsQuery {
    /// Counts by status, type, priority, technician and period, and the average response
    /// time, resolution time and satisfaction, of the orders `filter` matches in the
    /// caller's scope (`workorder.read`).
    async fn work_order_stats(&self, ctx: &Context<'_>, filter: Option<WorkOrderFilter>) -> ApiResult<WorkOrderStats> {
        let actor = require(ctx, Permission::WorkOrderRead)?;
        let filter = filter.unwrap_or_default().to_store()?;
        Ok(WorkOrderStats {
            tenant: actor.tenant_id,
            scope: work_order_scope(actor),
            filter,
            groups: tokio::sync::OnceCell::new(),
        })
    }
}
