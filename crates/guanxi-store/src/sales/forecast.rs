//! The sales forecast's reads and writes: a deal's forecast category, the reps' monthly
//! quotas, and the figures — two grouped statements through the caller's deal scope (the
//! won deals by the Shanghai month they closed in; the open ones by the month of their
//! expected close date and their category, each weighted by its stage's probability) and
//! one of the quotas through the same owner rule.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::activity::field::Granularity;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{DepartmentId, TenantId, UserId};
use guanxi_domain::platform::access::ScopeRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::sales::forecast::{Figures, ForecastCategory, check_category};
use guanxi_domain::sales::opportunity::{Opportunity, StageKind};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::decode::Cell;
use crate::dialect::{day_period_start_sql, period_start_sql};
use crate::entity::{opportunity, sales_quota, user};
use crate::error::{StoreError, StoreResult};
use crate::filter::{IdFilter, TimeFilter};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Listed};
use crate::sales::opportunity::{DateRange, Opportunities, OpportunityFilter, OpportunityScope};

/// Whose deals a forecast adds up: everyone the scope admits, or the owners named, or the
/// owners in a department and below it.
#[derive(Clone, Debug, Default)]
pub struct Who {
    pub owners: Option<Vec<Uuid>>,
    pub department: Option<DepartmentId>,
}

/// Sets an open deal's forecast category at the version read.
pub async fn set_category<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OpportunityScope,
    (id, expected_version): (Uuid, i32),
    category: ForecastCategory,
) -> StoreResult<Opportunity> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Opportunities, C>(conn, tenant, scope, id, expected_version).await?;
    check_category(before.status, category)?;
    if before.forecast_category == category {
        return Ok(before);
    }
    let update = repo::set_columns::<opportunity::Entity>(vec![(
        opportunity::Column::ForecastCategory,
        Expr::value(category.as_str()),
    )]);
    let after = repo::write_versioned::<Opportunities, C>(conn, tenant, id, expected_version, update).await?;
    let changes = ChangeSet::new().field("forecastCategory", before.forecast_category.as_str(), category.as_str());
    audit::record(conn, author, EntityKind::Opportunity, id, Operation::Update, &changes).await?;
    Ok(after)
}

fn who_filter(who: &Who) -> OpportunityFilter {
    OpportunityFilter {
        owner_id: who.owners.clone().map(|ids| IdFilter { any_of: Some(ids), ..IdFilter::default() }),
        department_id: who.department,
        ..OpportunityFilter::default()
    }
}

/// One grouped row of open deals: period, owner, category, amount, amount × probability.
type OpenRow = (String, Option<Uuid>, String, Option<i64>, Option<i64>);

/// The figures per period start (`YYYY-MM-DD`) and owner over `[from, to)` (first days of
/// months), quotas aside.
pub async fn figures<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: OpportunityScope,
    (from, to, span): (NaiveDate, NaiveDate, Granularity),
    who: &Who,
) -> StoreResult<Vec<((String, Option<Uuid>), Figures)>> {
    let backend = conn.get_database_backend();
    let midnight = guanxi_domain::activity::field::start_of;
    let mut cells: HashMap<(String, Option<Uuid>), Figures> = HashMap::new();

    let won = OpportunityFilter {
        status: Some(vec![StageKind::Won]),
        closed_at: Some(TimeFilter { gte: Some(midnight(from)), lt: Some(midnight(to)), ..TimeFilter::default() }),
        ..who_filter(who)
    };
    let period = period_start_sql(backend, span, "opportunities.closed_at");
    let rows: Vec<(String, Option<Uuid>, Option<i64>)> = Opportunities::matching(backend, tenant, scope, &won)
        .select_only()
        .column_as(Expr::cust(period.clone()), "period")
        .column(opportunity::Column::OwnerId)
        .column_as(Expr::cust("CAST(SUM(opportunities.amount_fen) AS BIGINT)"), "fen")
        .group_by(Expr::cust(period.clone()))
        .group_by(opportunity::Column::OwnerId)
        .into_tuple()
        .all(conn)
        .await?;
    for (period, owner, fen) in rows {
        cells.entry((period, owner)).or_default().closed_won += fen.unwrap_or(0);
    }

    let open = OpportunityFilter {
        status: Some(vec![StageKind::Open]),
        expected_close_date: Some(DateRange { from: Some(from), to: to.pred_opt() }),
        ..who_filter(who)
    };
    let period = day_period_start_sql(backend, span, "opportunities.expected_close_date");
    let probability = "(SELECT s.probability FROM pipeline_stages s \
                        WHERE s.tenant_id = opportunities.tenant_id AND s.id = opportunities.stage_id)";
    let rows: Vec<OpenRow> = Opportunities::matching(backend, tenant, scope, &open)
        .select_only()
        .column_as(Expr::cust(period.clone()), "period")
        .column(opportunity::Column::OwnerId)
        .column(opportunity::Column::ForecastCategory)
        .column_as(Expr::cust("CAST(SUM(opportunities.amount_fen) AS BIGINT)"), "fen")
        .column_as(Expr::cust(format!("CAST(SUM(opportunities.amount_fen * {probability}) AS BIGINT)")), "weighted")
        .group_by(Expr::cust(period.clone()))
        .group_by(opportunity::Column::OwnerId)
        .group_by(opportunity::Column::ForecastCategory)
        .into_tuple()
        .all(conn)
        .await?;
    for (period, owner, category, fen, weighted) in rows {
        let category = Cell::of("opportunities", owner.unwrap_or_default(), "forecast_category")
            .text(&category, ForecastCategory::parse)?;
        cells.entry((period, owner)).or_default().count_open(category, fen.unwrap_or(0), weighted.unwrap_or(0));
    }
    let mut cells: Vec<_> = cells.into_iter().collect();
    cells.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(cells)
}

/// The quotas of the owners `rule` admits (and `who` names) for the months in
/// `[from, to)`: `(user, month) -> fen`, one statement.
pub async fn quotas<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: ScopeRule,
    (from, to): (NaiveDate, NaiveDate),
    who: &Who,
) -> StoreResult<HashMap<(Uuid, NaiveDate), i64>> {
    let backend = conn.get_database_backend();
    let column = (Alias::new("sales_quotas"), Alias::new("user_id"));
    let mut select = sales_quota::Entity::find()
        .select_only()
        .column(sales_quota::Column::UserId)
        .column(sales_quota::Column::Month)
        .column(sales_quota::Column::AmountFen)
        .filter(sales_quota::Column::TenantId.eq(tenant.uuid()))
        .filter(sales_quota::Column::Month.gte(from))
        .filter(sales_quota::Column::Month.lt(to))
        .filter(crate::scope::owner_condition(backend, tenant, rule, column.clone()));
    if let Some(owners) = &who.owners {
        select = select.filter(sales_quota::Column::UserId.is_in(owners.iter().copied()));
    }
    if let Some(department) = who.department {
        let subtree = ScopeRule::OwnedWithinDepartmentTree(department);
        select = select.filter(crate::scope::owner_condition(backend, tenant, subtree, column));
    }
    let rows: Vec<(Uuid, NaiveDate, i64)> = select.into_tuple().all(conn).await?;
    Ok(rows.into_iter().map(|(user, month, fen)| ((user, month), fen)).collect())
}

/// The department of each of `users` (whoever may read them: the forecast's rows name
/// owners the caller's deal scope already admits).
pub async fn departments_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    users: &[Uuid],
) -> StoreResult<HashMap<Uuid, Uuid>> {
    let rows: Vec<(Uuid, Uuid)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::DepartmentId)
        .filter(user::Column::TenantId.eq(tenant.uuid()))
        .filter(user::Column::Id.is_in(users.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Sets (or, with `None`, clears) `target`'s quota for each month given, for a user the
/// writer's `rule` admits, with one change event on the user.
pub async fn set_quotas<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: ScopeRule,
    target: UserId,
    months: &[(NaiveDate, Option<i64>)],
) -> StoreResult<()> {
    let tenant = author.tenant_id;
    let backend = conn.get_database_backend();
    let admitted = user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant.uuid()))
        .filter(user::Column::Id.eq(target.uuid()))
        .filter(crate::scope::owner_condition(backend, tenant, rule, (user::Entity, user::Column::Id)))
        .one(conn)
        .await?;
    if admitted.is_none() {
        return Err(StoreError::rejected("userId", ErrorCode::NotFound, "no such user in your scope"));
    }
    let keys: Vec<NaiveDate> = months.iter().map(|(m, _)| *m).collect();
    let before: HashMap<NaiveDate, i64> = sales_quota::Entity::find()
        .filter(sales_quota::Column::TenantId.eq(tenant.uuid()))
        .filter(sales_quota::Column::UserId.eq(target.uuid()))
        .filter(sales_quota::Column::Month.is_in(keys))
        .all(conn)
        .await?
        .into_iter()
        .map(|q| (q.month, q.amount_fen))
        .collect();
    let now = Utc::now();
    let mut changes = ChangeSet::new();
    for (month, fen) in months {
        let key = format!("quota.{}", month.format("%Y-%m"));
        changes = changes.field(&key, before.get(month), fen);
        match fen {
            Some(fen) => {
                let row = sales_quota::ActiveModel {
                    tenant_id: Set(tenant.uuid()),
                    id: Set(Uuid::now_v7()),
                    user_id: Set(target.uuid()),
                    month: Set(*month),
                    amount_fen: Set(*fen),
                    set_by: Set(author.user_id),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                };
                sales_quota::Entity::insert(row)
                    .on_conflict(
                        OnConflict::columns([
                            sales_quota::Column::TenantId,
                            sales_quota::Column::UserId,
                            sales_quota::Column::Month,
                        ])
                        .update_columns([
                            sales_quota::Column::AmountFen,
                            sales_quota::Column::SetBy,
                            sales_quota::Column::UpdatedAt,
                        ])
                        .value(
                            sales_quota::Column::Version,
                            Expr::col((sales_quota::Entity, sales_quota::Column::Version)).add(1),
                        )
                        .to_owned(),
                    )
                    .exec_without_returning(conn)
                    .await?;
            }
            None => {
                sales_quota::Entity::delete_many()
                    .filter(sales_quota::Column::TenantId.eq(tenant.uuid()))
                    .filter(sales_quota::Column::UserId.eq(target.uuid()))
                    .filter(sales_quota::Column::Month.eq(*month))
                    .exec(conn)
                    .await?;
            }
        }
    }
    audit::record(conn, author, EntityKind::User, target.uuid(), Operation::Update, &changes).await?;
    Ok(())
}
