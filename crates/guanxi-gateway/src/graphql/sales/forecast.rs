//! The sales forecast (销售预测) over GraphQL: `forecast` adds up, per month or quarter and
//! per owner or department, what was won, committed, the best case, the pipeline and the
//! weighted amount of the deals the caller sees, beside the owners' quotas;
//! `setOpportunityForecastCategory` puts an open deal in a category; `setSalesQuotas` sets
//! a rep's monthly quotas (销售目标).

use std::collections::{BTreeMap, HashMap};

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::NaiveDate;
use guanxi_domain::ErrorCode;
use guanxi_domain::activity::field::Granularity;
use guanxi_domain::ids::{DepartmentId, UserId};
use guanxi_domain::platform::access::{Module, Permission, ScopeRule};
use guanxi_domain::sales::forecast::{Figures, ForecastCategory as DomainCategory, Span, periods};
use guanxi_domain::sales::opportunity::Opportunity as DomainOpportunity;
use guanxi_store::sales::forecast::{self as store, Who};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::opportunity::{OPPORTUNITY, OpportunityPayload};
use crate::graphql::context::{author, require, state};
use crate::graphql::customers::customer::Money;
use crate::graphql::error::{ApiError, ApiResult, Outcome, UserError};
use crate::graphql::finance::approval::{Participant, participant};
use crate::graphql::loaders::{DepartmentKey, opportunity_scope};
use crate::graphql::mutation::{transact, write_by_id};
use crate::graphql::platform::org::{DEPARTMENT, Department, USER};
use crate::graphql::relay::{expect_id, global_id, input_id};
use crate::graphql::trade::document::loaders;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainCategory")]
pub enum ForecastCategory {
    /// 渠道
    Pipeline,
    /// 最佳可能
    BestCase,
    /// 承诺
    Commit,
    /// 已成交: won.
    Closed,
    /// 排除: lost, or left out by the rep.
    Omitted,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ForecastGranularity {
    Month,
    Quarter,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ForecastGroup {
    Owner,
    Department,
}

#[derive(InputObject)]
pub struct ForecastFilter {
    /// Any day of the first month (or quarter).
    pub from: NaiveDate,
    /// Any day of the last month (or quarter); at most 24 months in all.
    pub to: NaiveDate,
    #[graphql(default_with = "ForecastGranularity::Month")]
    pub granularity: ForecastGranularity,
    pub owner_ids: Option<Vec<ID>>,
    /// Owners in this department and below it.
    pub department_id: Option<ID>,
    #[graphql(default_with = "ForecastGroup::Owner")]
    pub group_by: ForecastGroup,
}

/// A row's group: the owner (grouped by owner) or the department, none for a total.
type Group = (Option<Uuid>, Option<Uuid>);

/// One owner's (or department's, or everyone's) figures.
pub struct ForecastRow {
    owner: Option<UserId>,
    department: Option<Uuid>,
    figures: Figures,
}

#[Object]
impl ForecastRow {
    /// The owner (grouped by owner), by display name.
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<Participant>> {
        participant(ctx, self.owner).await
    }
    async fn department_id(&self) -> Option<ID> {
        self.department.map(|d| global_id(DEPARTMENT, d))
    }
    /// The department (grouped by department), when the caller's `ORG` scope shows it.
    async fn department(&self, ctx: &Context<'_>) -> ApiResult<Option<Department>> {
        let Some(department) = self.department else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(DepartmentKey(department)).await?.map(Department))
    }
    /// Won in the period (by the day each closed).
    async fn closed_won(&self) -> Money {
        fen(self.figures.closed_won)
    }
    /// Open deals in COMMIT expected to close in the period.
    async fn commit(&self) -> Money {
        fen(self.figures.commit)
    }
    /// Open deals in BEST_CASE.
    async fn best_case(&self) -> Money {
        fen(self.figures.best_case)
    }
    /// Open deals in PIPELINE.
    async fn pipeline(&self) -> Money {
        fen(self.figures.pipeline)
    }
    /// The open deals not omitted, each at its stage's probability.
    async fn weighted(&self) -> Money {
        fen(self.figures.weighted())
    }
    /// The quota for the period, when one is set.
    async fn quota(&self) -> Option<Money> {
        self.figures.quota.map(fen)
    }
    /// Won against quota, in percent.
    async fn attainment(&self) -> Option<Decimal> {
        self.figures.attainment()
    }
}

fn fen(amount: i64) -> Money {
    Money::cny(guanxi_domain::sales::opportunity::from_fen(amount))
}

/// One period of a forecast.
#[derive(SimpleObject)]
pub struct ForecastPeriod {
    /// Its first day.
    start: NaiveDate,
    /// The first day of the next period.
    end: NaiveDate,
    rows: Vec<ForecastRow>,
    total: ForecastRow,
}

#[derive(SimpleObject)]
pub struct Forecast {
    periods: Vec<ForecastPeriod>,
    /// The whole window, per owner or department.
    rows: Vec<ForecastRow>,
    total: ForecastRow,
}

#[derive(InputObject)]
pub struct SetForecastCategoryInput {
    pub id: ID,
    pub expected_version: i32,
    pub category: ForecastCategory,
}

#[derive(InputObject)]
pub struct QuotaInput {
    /// Any day of the month.
    pub month: NaiveDate,
    /// CNY; null clears the month's quota.
    pub amount: Option<Decimal>,
}

#[derive(InputObject)]
pub struct SetSalesQuotasInput {
    pub user_id: ID,
    pub quotas: Vec<QuotaInput>,
}

#[derive(SimpleObject)]
pub struct SalesQuotasPayload {
    /// Whether the quotas were saved.
    saved: bool,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct ForecastQuery;

#[Object]
impl ForecastQuery {
    /// The forecast of the deals the caller sees (`opportunity.read`, through the
    /// `OPPORTUNITY` scope and the customers'), per period and owner or department, with
    /// the quotas of the owners the scope admits. Won deals count in the period they
    /// closed; open ones in the period of their expected close date (none: left out).
    async fn forecast(&self, ctx: &Context<'_>, filter: ForecastFilter) -> ApiResult<Forecast> {
        let actor = require(ctx, Permission::OpportunityRead)?;
        let span = match filter.granularity {
            ForecastGranularity::Month => Span::Month,
            ForecastGranularity::Quarter => Span::Quarter,
        };
        let periods = periods(filter.from, filter.to, span).map_err(|e| {
            ApiError::BadUserInput(e.0.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; "))
        })?;
        let (Some(first), Some(last)) = (periods.first().map(|p| p.0), periods.last().map(|p| p.1)) else {
            return Err(ApiError::BadUserInput("an empty window".into()));
        };
        let owners = (filter.owner_ids.as_ref())
            .map(|ids| ids.iter().map(|id| expect_id(id, USER)).collect::<ApiResult<Vec<_>>>())
            .transpose()?;
        let department = filter.department_id.as_ref().map(|d| expect_id(d, DEPARTMENT)).transpose()?;
        let who = Who { owners, department: department.map(DepartmentId::from_uuid) };
        let granularity = match span {
            Span::Month => Granularity::Month,
            Span::Quarter => Granularity::Quarter,
        };
        let conn = state(ctx).db.connection();
        let tenant = actor.tenant_id;
        let cells = store::figures(conn, tenant, opportunity_scope(actor), (first, last, granularity), &who).await?;
        let rule = actor.scope_rule(Module::Opportunity);
        let quotas = store::quotas(conn, tenant, rule, (first, last), &who).await?;
        let mut users: Vec<Uuid> = cells.iter().filter_map(|((_, o), _)| *o).collect();
        users.extend(quotas.keys().map(|(u, _)| *u));
        users.sort_unstable();
        users.dedup();
        let departments = match filter.group_by {
            ForecastGroup::Department => store::departments_of(conn, tenant, &users).await?,
            ForecastGroup::Owner => HashMap::new(),
        };
        let key = |owner: Option<Uuid>| match filter.group_by {
            ForecastGroup::Owner => (owner, None),
            ForecastGroup::Department => (None, owner.and_then(|o| departments.get(&o).copied())),
        };
        // (period index, group) → figures.
        let mut grid: BTreeMap<(usize, Group), Figures> = BTreeMap::new();
        let index_of = |day: NaiveDate| periods.iter().position(|(start, end)| *start <= day && day < *end);
        for ((period, owner), figures) in cells {
            let Some(i) = NaiveDate::parse_from_str(&period, "%Y-%m-%d").ok().and_then(index_of) else { continue };
            grid.entry((i, key(owner))).or_default().add(&figures);
        }
        for ((user, month), amount) in quotas {
            let Some(i) = index_of(month) else { continue };
            grid.entry((i, key(Some(user)))).or_default().add(&Figures { quota: Some(amount), ..Figures::default() });
        }
        let row = |(owner, department): (Option<Uuid>, Option<Uuid>), figures: Figures| ForecastRow {
            owner: owner.map(UserId::from_uuid),
            department,
            figures,
        };
        let mut whole: BTreeMap<Group, Figures> = BTreeMap::new();
        let mut total = Figures::default();
        let mut out = Vec::with_capacity(periods.len());
        for (i, (start, end)) in periods.iter().enumerate() {
            let mut rows = Vec::new();
            let mut period_total = Figures::default();
            for ((_, group), figures) in grid.range((i, (None, None))..).take_while(|((j, _), _)| *j == i) {
                period_total.add(figures);
                whole.entry(*group).or_default().add(figures);
                rows.push(row(*group, *figures));
            }
            total.add(&period_total);
            out.push(ForecastPeriod { start: *start, end: *end, rows, total: row((None, None), period_total) });
        }
        Ok(Forecast {
            periods: out,
            rows: whole.into_iter().map(|(group, figures)| row(group, figures)).collect(),
            total: row((None, None), total),
        })
    }
}

#[derive(Default)]
pub struct ForecastMutation;

#[Object]
impl ForecastMutation {
    /// Puts an open deal in a forecast category (`opportunity.write`; a won deal is CLOSED
    /// and a lost one OMITTED by themselves).
    async fn set_opportunity_forecast_category(
        &self,
        ctx: &Context<'_>,
        input: SetForecastCategoryInput,
    ) -> ApiResult<OpportunityPayload> {
        let (version, category): (i32, DomainCategory) = (input.expected_version, input.category.into());
        let result: Outcome<DomainOpportunity> = write_by_id(
            ctx,
            Permission::OpportunityWrite,
            (&input.id, OPPORTUNITY),
            opportunity_scope,
            move |tx, author, scope, id| {
                Box::pin(async move { store::set_category(tx, &author, scope, (id, version), category).await })
            },
        )
        .await?;
        Ok(result.into())
    }

    /// Sets a rep's monthly quotas (`opportunity.write`, for a user inside the caller's
    /// `OPPORTUNITY` scope; a rep does not set their own unless their scope is ALL).
    async fn set_sales_quotas(&self, ctx: &Context<'_>, input: SetSalesQuotasInput) -> ApiResult<SalesQuotasPayload> {
        let actor = require(ctx, Permission::OpportunityWrite)?;
        let refused = |e: UserError| Ok(SalesQuotasPayload { saved: false, user_errors: vec![e] });
        let user = match input_id("userId", &input.user_id, USER) {
            Ok(u) => UserId::from_uuid(u),
            Err(e) => return refused(e),
        };
        let rule = actor.scope_rule(Module::Opportunity);
        if user == actor.user_id && rule != ScopeRule::All {
            return refused(UserError::new("userId", ErrorCode::Forbidden, "your quota is set by your manager"));
        }
        let mut months = Vec::with_capacity(input.quotas.len());
        for (i, q) in input.quotas.iter().enumerate() {
            let month = NaiveDate::from_ymd_opt(chrono::Datelike::year(&q.month), chrono::Datelike::month(&q.month), 1);
            let amount = match q.amount {
                Some(a)
                    if a < Decimal::ZERO || a.normalize().scale() > 2 || a > Decimal::from(1_000_000_000_000i64) =>
                {
                    let message = "a quota is 0 or more, in yuan to the fen";
                    return refused(UserError::new(&format!("quotas.{i}.amount"), ErrorCode::Invalid, message));
                }
                Some(a) => Some(i64::try_from(a * Decimal::from(100)).unwrap_or(i64::MAX)),
                None => None,
            };
            if let Some(month) = month {
                months.push((month, amount));
            }
        }
        if months.is_empty() {
            return refused(UserError::new("quotas", ErrorCode::Required, "name at least one month"));
        }
        let author = author(ctx, actor);
        let outcome =
            transact(ctx, move |tx| Box::pin(async move { store::set_quotas(tx, &author, rule, user, &months).await }))
                .await?;
        Ok(match outcome {
            Ok(()) => SalesQuotasPayload { saved: true, user_errors: vec![] },
            Err(user_errors) => SalesQuotasPayload { saved: false, user_errors },
        })
    }
}
