//! The conversion report (线索转化分析): by source and campaign, how many leads came,
//! how many were qualified (QUALIFIED or CONVERTED), how many converted, and what the
//! deals they became won, in one grouped statement through the caller's scopes: the
//! `LEAD` scope on the leads and the deals' own scope (their owner and customer, as every
//! read of a deal has it; a deal the
//! caller does not see adds nothing).

use chrono::{DateTime, Utc};
use guanxi_domain::ids::TenantId;
use guanxi_domain::leads::lead::LeadStatus;
use guanxi_domain::platform::access::ScopeRule;
use sea_orm::sea_query::{Alias, Asterisk, CaseStatement, Expr, ExprTrait, Func, Query};
use sea_orm::{Condition, ConnectionTrait, QuerySelect, QueryTrait};

use crate::error::StoreResult;
use crate::scope::owner_condition;

/// One row of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversionRow {
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub leads: i64,
    pub qualified: i64,
    pub converted: i64,
    /// Won deals' amounts, in fen.
    pub won_fen: i64,
}

/// The report over leads created in `[from, to)`, biggest sources first.
pub async fn conversion<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (leads_rule, deals): (ScopeRule, crate::sales::opportunity::OpportunityScope),
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> StoreResult<Vec<ConversionRow>> {
    let backend = conn.get_database_backend();
    let seen_deals = <crate::sales::opportunity::Opportunities as crate::repo::Scoped>::live(backend, tenant, deals)
        .select_only()
        .column(crate::entity::opportunity::Column::Id)
        .into_query();
    let (l, o) = (Alias::new("l"), Alias::new("o"));
    let col = |table: &Alias, column: &str| Expr::col((table.clone(), Alias::new(column)));
    // Sums are NUMERIC on PostgreSQL: cast back to whole numbers.
    let bigint = |sum: sea_orm::sea_query::FunctionCall| {
        Func::cast_as(Func::coalesce([Expr::from(sum), Expr::val(0i64)]), Alias::new("BIGINT"))
    };
    let count_when = |condition: sea_orm::sea_query::SimpleExpr| {
        bigint(Func::sum(CaseStatement::new().case(condition, Expr::val(1)).finally(Expr::val(0))))
    };
    let qualified = [LeadStatus::Qualified.as_str(), LeadStatus::Converted.as_str()];
    let won = Func::sum(
        CaseStatement::new().case(col(&o, "status").eq("WON"), col(&o, "amount_fen")).finally(Expr::val(0i64)),
    );
    let mut select = Query::select();
    select
        .expr_as(col(&l, "source"), Alias::new("source"))
        .expr_as(col(&l, "campaign"), Alias::new("campaign"))
        .expr_as(Func::count(Expr::col(Asterisk)), Alias::new("leads"))
        .expr_as(count_when(col(&l, "status").is_in(qualified)), Alias::new("qualified"))
        .expr_as(count_when(col(&l, "status").eq(LeadStatus::Converted.as_str())), Alias::new("converted"))
        .expr_as(bigint(won), Alias::new("won_fen"))
        .from_as(Alias::new("leads"), l.clone())
        .join_as(
            sea_orm::sea_query::JoinType::LeftJoin,
            Alias::new("opportunities"),
            o.clone(),
            Condition::all()
                .add(col(&o, "tenant_id").equals((l.clone(), Alias::new("tenant_id"))))
                .add(col(&o, "id").equals((l.clone(), Alias::new("opportunity_id"))))
                .add(col(&o, "deleted_at").is_null())
                .add(col(&o, "id").in_subquery(seen_deals)),
        )
        .and_where(col(&l, "tenant_id").eq(tenant.uuid()))
        .and_where(col(&l, "deleted_at").is_null())
        .and_where(col(&l, "created_at").gte(from))
        .and_where(col(&l, "created_at").lt(to))
        .cond_where(owner_condition(backend, tenant, leads_rule, (l.clone(), Alias::new("owner_id"))))
        .group_by_columns([(l.clone(), Alias::new("source")), (l.clone(), Alias::new("campaign"))]);
    let rows = conn.query_all(&select).await?;
    let mut report = rows
        .iter()
        .map(|r| {
            Ok(ConversionRow {
                source: r.try_get("", "source")?,
                campaign: r.try_get("", "campaign")?,
                leads: r.try_get("", "leads")?,
                qualified: r.try_get("", "qualified")?,
                converted: r.try_get("", "converted")?,
                won_fen: r.try_get("", "won_fen")?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    report.sort_by(|a, b| {
        b.leads.cmp(&a.leads).then_with(|| a.source.cmp(&b.source)).then_with(|| a.campaign.cmp(&b.campaign))
    });
    Ok(report)
}
