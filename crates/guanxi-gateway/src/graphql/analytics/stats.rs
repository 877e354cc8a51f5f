//! `stats`, `statsRecords`, `salesRanking` and `customerPareto`: every figure through the
//! caller's data scope for its module, from grouped SQL (a fixed number of statements
//! whatever the rows or the dimensions' values).

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::analytics::{Dimension as DomainDimension, Measure as DomainMeasure};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::platform::access::{Actor, Module, Permission, ScopeRule};
use guanxi_store::analytics::stats::{Cell, Group, StatsFilter, StatsScope};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::graphql::context::{require, state};
use crate::graphql::customers::customer::{Customer, Money};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::loaders::{CustomerKey, DepartmentKey, UserKey};
use crate::graphql::platform::org::{DEPARTMENT, USER, User};
use crate::graphql::relay::{expect_id, global_id};
use crate::graphql::service::work_order_stats::StatsGranularity;
use crate::graphql::trade::document::loaders;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainMeasure", name = "StatsMeasure")]
pub enum Measure {
    /// 新增客户 (count)
    NewCustomers,
    /// 跟进记录 (count)
    Interactions,
    /// 拜访签到 (count)
    Visits,
    /// 新增商机 (count, amount)
    DealsCreated,
    /// 赢单, by the day closed (count, amount)
    DealsWon,
    /// 输单, by the day closed (count, amount)
    DealsLost,
    /// 报价 (count, amount with tax)
    Quotes,
    /// 销售订单, by the day confirmed (count, amount with tax)
    Orders,
    /// 签约合同 in force, by the day approved (count, amount)
    ContractsSigned,
    /// 回款 approved, by the day received (count, amount)
    MoneyReceived,
    /// 开票 issued, by the day issued (count, amount)
    Invoices,
    /// 工单 (count)
    WorkOrders,
    /// 佣金 earned by signing, receipts and bonuses, by the day earned, before clawbacks
    /// and adjustments (count of lines, amount)
    Commission,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainDimension", name = "StatsDimension")]
pub enum Dimension {
    /// 行业 (the customer's)
    Industry,
    /// 客户状态
    Status,
    /// 客户级别
    Level,
    /// 客户类型
    Type,
    /// 客户来源
    Source,
    /// 省份
    Province,
    /// 城市
    City,
    /// 规模
    Size,
    /// 信用等级
    CreditRating,
    /// 付款方式 (MONEY_RECEIVED only)
    PaymentMethod,
    /// 负责人: the record's owner (the author of an interaction or visit)
    Owner,
    /// 部门: the owner's department
    Department,
    /// 期间: the period's first day (YYYY-MM-DD, Shanghai time) at the query's granularity
    Period,
}

/// The permission and the rules a measure's records are read with.
pub(super) fn access(actor: &Actor, measure: DomainMeasure) -> (Permission, StatsScope) {
    use DomainMeasure as M;
    let customers = actor.customer_rule();
    let both =
        |rules: guanxi_domain::entity::OwnerAndCustomer| StatsScope { owner: rules.owner, customer: rules.customer };
    let customer_only = StatsScope { owner: ScopeRule::All, customer: customers };
    match measure {
        // The customers themselves, by owner or shared: the customer rule on their own row.
        M::NewCustomers => (Permission::CustomerRead, customer_only),
        M::Interactions => (Permission::InteractionRead, customer_only),
        M::Visits => (Permission::CustomerRead, customer_only),
        M::DealsCreated | M::DealsWon | M::DealsLost => {
            (Permission::OpportunityRead, both(EntityKind::opportunity_rules(actor)))
        }
        M::Quotes => (Permission::QuoteRead, both(EntityKind::quote_rules(actor))),
        M::Orders => (Permission::OrderRead, both(EntityKind::order_rules(actor))),
        M::ContractsSigned => (Permission::ContractRead, both(EntityKind::contract_rules(actor))),
        M::MoneyReceived => (Permission::ReceivableRead, both(EntityKind::receipt_rules(actor))),
        M::Invoices => (Permission::InvoiceRead, both(EntityKind::invoice_rules(actor))),
        M::WorkOrders => (Permission::WorkOrderRead, both(EntityKind::work_order_rules(actor).rules)),
        M::Commission => (
            Permission::CommissionRead,
            // A commission line is its rep's pay: sharing the customer shows none of it.
            StatsScope { owner: actor.scope_rule(Module::Commission), customer: actor.customer_owner_rule() },
        ),
    }
}

/// The kind of record a measure counts, for the drill-down's ids.
fn record_kind(measure: DomainMeasure) -> &'static str {
    use DomainMeasure as M;
    match measure {
        M::NewCustomers => EntityKind::Customer.name(),
        M::Interactions => EntityKind::Interaction.name(),
        M::Visits => EntityKind::CheckIn.name(),
        M::DealsCreated | M::DealsWon | M::DealsLost => EntityKind::Opportunity.name(),
        M::Quotes => EntityKind::Quote.name(),
        M::Orders => EntityKind::Order.name(),
        M::ContractsSigned => EntityKind::Contract.name(),
        M::MoneyReceived => EntityKind::Receipt.name(),
        M::Invoices => EntityKind::Invoice.name(),
        M::WorkOrders => EntityKind::WorkOrder.name(),
        M::Commission => "CommissionLine",
    }
}

/// Narrows figures to an owner, a department's subtree and values of the customer's
/// attributes.
#[derive(InputObject, Default, Clone)]
pub struct StatsFilterInput {
    pub owner_id: Option<ID>,
    /// Owners in this department or below it.
    pub department_id: Option<ID>,
    pub industry: Option<String>,
    pub status: Option<String>,
    pub level: Option<String>,
    #[graphql(name = "type")]
    pub kind: Option<String>,
    pub source: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub size: Option<String>,
    pub credit_rating: Option<String>,
}

/// One dimension's value of a cell, as drill-downs name it.
#[derive(InputObject, Clone)]
pub struct StatsKeyInput {
    pub dimension: Dimension,
    /// Null: records without a value.
    pub value: Option<String>,
}

/// A cell's value of one dimension.
#[derive(SimpleObject, Clone)]
pub struct StatsKey {
    dimension: Dimension,
    /// The stored value (an id for OWNER and DEPARTMENT, a day for PERIOD); null for
    /// records without one.
    value: Option<String>,
    /// What to show: a Chinese label, a name, or 未填 for no value.
    label: String,
}

/// One group's figures.
#[derive(SimpleObject, Clone)]
pub struct StatsCell {
    keys: Vec<StatsKey>,
    count: i64,
    /// Null for measures that only count.
    amount: Option<Money>,
    /// The amount where the measure has one, else the count: what a chart plots.
    value: Decimal,
}

/// A chart's series: the cells sharing the first dimension's value (all cells, when
/// there are fewer than two dimensions).
#[derive(SimpleObject)]
pub struct StatsSeries {
    key: Option<StatsKey>,
    points: Vec<StatsCell>,
}

/// A measure's figures.
#[derive(SimpleObject)]
pub struct StatsResult {
    measure: Measure,
    /// The measure's name in Chinese.
    label: &'static str,
    has_amount: bool,
    total: StatsCell,
    /// Largest value first; periods in order when grouped by PERIOD alone.
    cells: Vec<StatsCell>,
    series: Vec<StatsSeries>,
}

/// One record behind a cell.
pub struct StatsRecord {
    kind: &'static str,
    record: guanxi_store::analytics::stats::Record,
}

#[Object]
impl StatsRecord {
    /// The record's global id (its type named by `__typename`-like `kind`).
    async fn id(&self) -> ID {
        global_id(self.kind, self.record.id)
    }
    /// Customer, Interaction, CheckIn, Opportunity, Quote, SalesOrder, Contract, Receipt,
    /// Invoice, WorkOrder or CommissionLine.
    async fn kind(&self) -> &str {
        self.kind
    }
    /// The time (or day) the measure counts it at.
    async fn at(&self) -> &str {
        &self.record.at
    }
    async fn amount(&self) -> Option<Money> {
        self.record.amount.map(Money::cny)
    }
    /// Its customer, when the caller may see it.
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        let Some(id) = self.record.customer_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(CustomerKey(id)).await?.map(Customer))
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(id) = self.record.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(id)).await?.map(User))
    }
}

/// A page of a cell's records.
#[derive(SimpleObject)]
pub struct StatsRecordPage {
    records: Vec<StatsRecord>,
    /// Pass as `after` for the next page.
    end_cursor: Option<String>,
    has_next_page: bool,
}

/// One entry of a ranking.
#[derive(SimpleObject)]
pub struct RankingEntry {
    key: StatsKey,
    rank: u32,
    value: Decimal,
    count: i64,
    /// The rank in the period of the same length just before; null when absent then.
    previous_rank: Option<u32>,
    previous_value: Decimal,
    /// `value` less `previousValue`.
    change: Decimal,
}

/// What a Pareto list is drawn over.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ParetoBy {
    /// Customers by money received.
    Customer,
    /// Reps by money received, by the receipt's owner.
    Owner,
}

/// One entry of a Pareto list.
#[derive(SimpleObject)]
pub struct ParetoEntry {
    /// The customer's or the rep's id.
    id: ID,
    label: String,
    amount: Money,
    /// Percent of the total.
    share: Decimal,
    /// Percent of the total up to and including this entry.
    cumulative: Decimal,
    /// Among the fewest entries that make `percent` of the total.
    head: bool,
}

/// The 80/20 view of money received.
#[derive(SimpleObject)]
pub struct ParetoResult {
    /// All money received in the window, with or without an owner.
    total: Money,
    /// How many customers (or reps) received money; `entries` holds the first `first`.
    count: usize,
    /// How many entries make `percent` of the total.
    head_count: usize,
    /// What share of the entries the head is, in percent.
    head_share: Decimal,
    entries: Vec<ParetoEntry>,
}

fn filter_of(
    measure: DomainMeasure,
    input: &StatsFilterInput,
    window: (DateTime<Utc>, DateTime<Utc>),
    granularity: StatsGranularity,
) -> ApiResult<StatsFilter> {
    let mut equal: Vec<(DomainDimension, Option<String>)> = Vec::new();
    let texts = [
        (DomainDimension::Industry, &input.industry),
        (DomainDimension::Status, &input.status),
        (DomainDimension::Level, &input.level),
        (DomainDimension::Type, &input.kind),
        (DomainDimension::Source, &input.source),
        (DomainDimension::Province, &input.province),
        (DomainDimension::City, &input.city),
        (DomainDimension::Size, &input.size),
        (DomainDimension::CreditRating, &input.credit_rating),
    ];
    for (dimension, value) in texts {
        if let Some(value) = value {
            equal.push((dimension, Some(value.clone())));
        }
    }
    if let Some(owner) = &input.owner_id {
        equal.push((DomainDimension::Owner, Some(expect_id(owner, USER)?.to_string())));
    }
    let department_tree = input.department_id.as_ref().map(|d| expect_id(d, DEPARTMENT)).transpose()?;
    if measure == DomainMeasure::Commission && equal.iter().any(|(d, _)| d.of_customer()) {
        return Err(ApiError::BadUserInput("COMMISSION is filtered by owner and department only".into()));
    }
    Ok(StatsFilter {
        from: Some(window.0),
        to: Some(window.1),
        equal,
        department_tree,
        customers: None,
        granularity: Some(granularity.into()),
        max_cells: None,
    })
}

/// Checks the caller may read the measure and the query's shape.
fn checked<'c>(
    ctx: &Context<'c>,
    measure: DomainMeasure,
    dimensions: &[DomainDimension],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> ApiResult<(&'c Actor, StatsScope)> {
    let actor = crate::graphql::context::actor(ctx)?;
    let (permission, scope) = access(actor, measure);
    require(ctx, permission)?;
    let filtered: Vec<DomainDimension> = dimensions.to_vec();
    guanxi_domain::analytics::check(measure, &filtered, (to - from).num_days().max(if to > from { 1 } else { 0 }))
        .map_err(|e| ApiError::BadUserInput(e.to_string()))?;
    Ok((actor, scope))
}

/// Labels the keys of cells: Chinese labels of fixed lists, names of owners and
/// departments (through the loaders), 未填 for no value.
async fn labelled(
    ctx: &Context<'_>,
    dimensions: &[Dimension],
    cells: Vec<Cell>,
    has_amount: bool,
) -> ApiResult<Vec<StatsCell>> {
    let ids = |wanted: Dimension| -> Vec<Uuid> {
        let at: Vec<usize> = dimensions.iter().enumerate().filter(|(_, d)| **d == wanted).map(|(i, _)| i).collect();
        cells.iter().flat_map(|c| at.iter().filter_map(|i| c.keys[*i].as_deref()?.parse().ok())).collect()
    };
    let loaders = loaders(ctx)?;
    let users = loaders.load_many(ids(Dimension::Owner).into_iter().map(UserKey)).await?;
    let departments = loaders.load_many(ids(Dimension::Department).into_iter().map(DepartmentKey)).await?;
    let label = |dimension: Dimension, value: &Option<String>| -> String {
        let Some(raw) = value else { return "未填".into() };
        let id = || raw.parse::<Uuid>().ok();
        match dimension {
            Dimension::Owner => {
                id().and_then(|u| users.get(&UserKey(u))).map_or_else(|| "—".into(), |u| u.display_name.clone())
            }
            Dimension::Department => {
                id().and_then(|d| departments.get(&DepartmentKey(d))).map_or_else(|| "—".into(), |d| d.name.clone())
            }
            other => {
                guanxi_domain::analytics::value_label(other.into(), raw).map_or_else(|| raw.clone(), str::to_owned)
            }
        }
    };
    Ok(cells
        .into_iter()
        .map(|cell| {
            let keys = dimensions
                .iter()
                .zip(&cell.keys)
                .map(|(d, v)| StatsKey { dimension: *d, value: v.clone(), label: label(*d, v) })
                .collect();
            stats_cell(keys, &cell, has_amount)
        })
        .collect())
}

fn stats_cell(keys: Vec<StatsKey>, cell: &Cell, has_amount: bool) -> StatsCell {
    StatsCell {
        keys,
        count: cell.count,
        amount: has_amount.then(|| Money::cny(cell.amount)),
        value: if has_amount { cell.amount } else { Decimal::from(cell.count) },
    }
}

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// A measure between `from` and `to`, grouped by up to three dimensions (none: the
    /// total alone), through the caller's data scope for the measure's module. Needs the
    /// module's read permission.
    #[allow(clippy::too_many_arguments)]
    async fn stats(
        &self,
        ctx: &Context<'_>,
        measure: Measure,
        #[graphql(default)] dimensions: Vec<Dimension>,
        filter: Option<StatsFilterInput>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        #[graphql(default_with = "StatsGranularity::Month")] granularity: StatsGranularity,
    ) -> ApiResult<StatsResult> {
        let domain: Vec<DomainDimension> = dimensions.iter().map(|d| (*d).into()).collect();
        let (actor, scope) = checked(ctx, measure.into(), &domain, (from, to))?;
        let mut filter = filter_of(measure.into(), &filter.unwrap_or_default(), (from, to), granularity)?;
        filter.max_cells = Some(guanxi_store::analytics::stats::MAX_CELLS + 1);
        let conn = state(ctx).db.connection();
        let groups: Vec<Group> = domain.iter().map(|d| Group::By(*d)).collect();
        let found =
            guanxi_store::analytics::stats::cells(conn, actor.tenant_id, (measure.into(), scope), &filter, &groups)
                .await?;
        if found.len() as u64 > guanxi_store::analytics::stats::MAX_CELLS {
            return Err(ApiError::BadUserInput(
                "more than 5,000 cells: narrow the window, the dimensions or the filter".into(),
            ));
        }
        let has_amount = DomainMeasure::from(measure).has_amount();
        let total = Cell {
            keys: vec![],
            count: found.iter().map(|c| c.count).sum(),
            amount: found.iter().map(|c| c.amount).sum(),
        };
        let mut cells = labelled(ctx, &dimensions, found, has_amount).await?;
        if dimensions == [Dimension::Period] {
            cells.sort_by(|a, b| a.keys[0].value.cmp(&b.keys[0].value));
        } else {
            cells.sort_by(|a, b| {
                b.value.cmp(&a.value).then_with(|| a.keys.iter().map(|k| &k.label).cmp(b.keys.iter().map(|k| &k.label)))
            });
        }
        let series = if dimensions.len() < 2 {
            vec![StatsSeries { key: None, points: cells.clone() }]
        } else {
            let mut by: Vec<StatsSeries> = Vec::new();
            let mut index: HashMap<Option<String>, usize> = HashMap::new();
            for cell in &cells {
                let first = cell.keys[0].clone();
                let point = StatsCell { keys: cell.keys[1..].to_vec(), ..cell.clone() };
                let at = *index.entry(first.value.clone()).or_insert_with(|| {
                    by.push(StatsSeries { key: Some(first), points: vec![] });
                    by.len() - 1
                });
                by[at].points.push(point);
            }
            by
        };
        Ok(StatsResult {
            measure,
            label: DomainMeasure::from(measure).label_zh(),
            has_amount,
            total: stats_cell(vec![], &total, has_amount),
            cells,
            series,
        })
    }

    /// The records behind one cell of `stats` (its keys as `cell`), newest first, through
    /// the same scope and filter: what a chart's click drills down to.
    #[allow(clippy::too_many_arguments)]
    async fn stats_records(
        &self,
        ctx: &Context<'_>,
        measure: Measure,
        #[graphql(default)] cell: Vec<StatsKeyInput>,
        filter: Option<StatsFilterInput>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        #[graphql(default_with = "StatsGranularity::Month")] granularity: StatsGranularity,
        #[graphql(default = 50)] first: i32,
        after: Option<String>,
    ) -> ApiResult<StatsRecordPage> {
        let domain: Vec<DomainDimension> = cell.iter().map(|k| k.dimension.into()).collect();
        let (actor, scope) = checked(ctx, measure.into(), &domain, (from, to))?;
        if !(1..=200).contains(&first) {
            return Err(ApiError::BadUserInput("`first` is 1 to 200".into()));
        }
        let mut filter = filter_of(measure.into(), &filter.unwrap_or_default(), (from, to), granularity)?;
        for key in &cell {
            let id = matches!(key.dimension, Dimension::Owner | Dimension::Department);
            if id && key.value.as_deref().is_some_and(|v| v.parse::<Uuid>().is_err()) {
                return Err(ApiError::BadUserInput("an OWNER or DEPARTMENT value is an id".into()));
            }
        }
        filter.equal.extend(cell.iter().map(|k| (k.dimension.into(), k.value.clone())));
        let after = match after {
            Some(raw) => {
                let bad = || ApiError::BadUserInput(format!("`{raw}` is not a cursor of this list"));
                let (at, id) = raw.rsplit_once('|').ok_or_else(bad)?;
                Some((at.to_owned(), id.parse::<Uuid>().map_err(|_| bad())?))
            }
            None => None,
        };
        let conn = state(ctx).db.connection();
        let limit = u64::try_from(first).unwrap_or(50) + 1;
        let mut found = guanxi_store::analytics::stats::records(
            conn,
            actor.tenant_id,
            (measure.into(), scope),
            &filter,
            (after, limit),
        )
        .await?;
        let has_next_page = found.len() as u64 == limit;
        found.truncate(usize::try_from(first).unwrap_or(50));
        let end_cursor = found.last().map(|r| format!("{}|{}", r.at, r.id));
        let kind = record_kind(measure.into());
        Ok(StatsRecordPage {
            records: found.into_iter().map(|record| StatsRecord { kind, record }).collect(),
            end_cursor,
            has_next_page,
        })
    }

    /// Reps (OWNER) or departments (DEPARTMENT) ranked by a measure between `from` and
    /// `to` (by amount where it has one, else by count), with their rank and figure in the
    /// period of the same length just before.
    #[allow(clippy::too_many_arguments)]
    async fn sales_ranking(
        &self,
        ctx: &Context<'_>,
        measure: Measure,
        #[graphql(default_with = "Dimension::Owner")] by: Dimension,
        filter: Option<StatsFilterInput>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        #[graphql(default = 20)] first: i32,
    ) -> ApiResult<Vec<RankingEntry>> {
        if !matches!(by, Dimension::Owner | Dimension::Department) {
            return Err(ApiError::BadUserInput("rank by OWNER or DEPARTMENT".into()));
        }
        let (actor, scope) = checked(ctx, measure.into(), &[by.into()], (from, to))?;
        let input = filter.unwrap_or_default();
        let conn = state(ctx).db.connection();
        let has_amount = DomainMeasure::from(measure).has_amount();
        let groups = [Group::By(by.into())];
        let mut ranked = Vec::new();
        for window in [(from, to), (from - (to - from), from)] {
            let filter = filter_of(measure.into(), &input, window, StatsGranularity::Month)?;
            let cells =
                guanxi_store::analytics::stats::cells(conn, actor.tenant_id, (measure.into(), scope), &filter, &groups)
                    .await?;
            // Records without an owner (or department) rank as nobody.
            let values: Vec<(Option<String>, Decimal)> = cells
                .iter()
                .filter(|c| c.keys[0].is_some())
                .map(|c| (c.keys[0].clone(), if has_amount { c.amount } else { Decimal::from(c.count) }))
                .collect();
            ranked.push((guanxi_domain::analytics::rank(&values), cells));
        }
        let (previous, _) = ranked.pop().unwrap_or_default();
        let (current, cells) = ranked.pop().unwrap_or_default();
        let labelled = labelled(ctx, &[by], cells, has_amount).await?;
        let limit = usize::try_from(first.clamp(1, 200)).unwrap_or(20);
        Ok(current
            .into_iter()
            .take(limit)
            .filter_map(|(key, value, rank)| {
                let cell = labelled.iter().find(|c| c.keys[0].value == key)?;
                let before = previous.iter().find(|(k, _, _)| *k == key);
                let previous_value = before.map_or(Decimal::ZERO, |(_, v, _)| *v);
                Some(RankingEntry {
                    key: cell.keys[0].clone(),
                    rank,
                    value,
                    count: cell.count,
                    previous_rank: before.map(|(_, _, r)| *r),
                    previous_value,
                    change: value - previous_value,
                })
            })
            .collect())
    }

    /// The 80/20 rule on money received between `from` and `to`: customers (or reps) by
    /// amount, highest first, with each one's share and the running share, and the head —
    /// the fewest that make `percent` of the total (`receivable.read`, through its scope).
    async fn customer_pareto(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        #[graphql(default_with = "ParetoBy::Customer")] by: ParetoBy,
        #[graphql(default_with = "Decimal::from(80)")] percent: Decimal,
        #[graphql(default = 100)] first: i32,
    ) -> ApiResult<ParetoResult> {
        if !(1..=1000).contains(&first) {
            return Err(ApiError::BadUserInput("`first` is 1 to 1000".into()));
        }
        if percent <= Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
            return Err(ApiError::BadUserInput("`percent` is above 0 and up to 100".into()));
        }
        let measure = DomainMeasure::MoneyReceived;
        let (actor, scope) = checked(ctx, measure, &[], (from, to))?;
        let filter = filter_of(measure, &StatsFilterInput::default(), (from, to), StatsGranularity::Month)?;
        let group = match by {
            ParetoBy::Customer => Group::Customer,
            ParetoBy::Owner => Group::By(DomainDimension::Owner),
        };
        let conn = state(ctx).db.connection();
        let cells =
            guanxi_store::analytics::stats::cells(conn, actor.tenant_id, (measure, scope), &filter, &[group]).await?;
        let values: Vec<(Uuid, Decimal)> =
            cells.iter().filter_map(|c| Some((c.keys[0].as_deref()?.parse().ok()?, c.amount))).collect();
        let mut list = guanxi_domain::analytics::pareto(&values, percent);
        let (count, head_count) = (list.len(), list.iter().filter(|e| e.head).count());
        let total: Decimal = cells.iter().map(|c| c.amount).sum();
        list.truncate(usize::try_from(first).unwrap_or(100));
        let loaders = loaders(ctx)?;
        let names: HashMap<Uuid, String> = match by {
            ParetoBy::Customer => loaders
                .load_many(list.iter().map(|e| CustomerKey(e.key)))
                .await?
                .into_iter()
                .map(|(k, c)| (k.0, c.fields.name.clone()))
                .collect(),
            ParetoBy::Owner => loaders
                .load_many(list.iter().map(|e| UserKey(e.key)))
                .await?
                .into_iter()
                .map(|(k, u)| (k.0, u.display_name.clone()))
                .collect(),
        };
        let kind = match by {
            ParetoBy::Customer => EntityKind::Customer.name(),
            ParetoBy::Owner => USER,
        };
        let head_share = if count == 0 {
            Decimal::ZERO
        } else {
            (Decimal::from(head_count * 100) / Decimal::from(count)).round_dp(2)
        };
        Ok(ParetoResult {
            total: Money::cny(total),
            count,
            head_count,
            head_share,
            entries: list
                .into_iter()
                .map(|e| ParetoEntry {
                    id: global_id(kind, e.key),
                    label: names.get(&e.key).cloned().unwrap_or_else(|| "—".into()),
                    amount: Money::cny(e.value),
                    share: e.share,
                    cumulative: e.cumulative,
                    head: e.head,
                })
                .collect(),
        })
    }
}
