//! Customer value (客户价值): each paying customer's RFM figures and quintile scores
//! (`customer_values`), rewritten per tenant by one `INSERT … SELECT` with window
//! functions, and the conditions a customer list filters on them with.
//!
//! A score is the quintile of the customer's middle position among the tenant's `n`
//! paying customers, ranked ascending: `1 + ⌊5 × (rank − 1 + peers / 2) / n⌋`, where
//! `rank` is the first position of its figure and `peers` how many share it. Equal
//! figures always get equal scores (NTILE would split a tie across two scores in an
//! arbitrary order), distinct figures of five customers score 1 to 5, and a tie of most
//! customers sits in the middle, not at the top or the bottom.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use guanxi_domain::analytics::rfm::{CustomerValue, HIGH, Segment, WINDOW_DAYS};
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::access::CustomerRule;
use guanxi_domain::trade::money::from_e4;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entity::customer_value::{self, Column, Model};
use crate::error::StoreResult;

/// What a customer list narrows to: any of the listed scores (each 1 to 5) and segments;
/// an empty or absent list leaves that part open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RfmFilter {
    pub recency: Vec<i16>,
    pub frequency: Vec<i16>,
    pub monetary: Vec<i16>,
    pub segments: Vec<Segment>,
}

/// The SQL `CASE` giving a row's segment from its score columns `r_score`, `f_score` and
/// `m_score`, generated from the domain's table of segments.
fn segment_case() -> String {
    let mut sql = String::from("CASE");
    for segment in Segment::ALL {
        let [r, f, m] = segment.highs().map(|high| if high { ">=" } else { "<" });
        sql.push_str(&format!(
            " WHEN r_score {r} {HIGH} AND f_score {f} {HIGH} AND m_score {m} {HIGH} THEN '{}'",
            segment.as_str()
        ));
    }
    sql.push_str(" END");
    sql
}

/// Rewrites the tenant's customer values as of `today` (approved receipts up to and
/// including it, on live customers): one `DELETE` and one `INSERT … SELECT`. Returns how
/// many customers were scored.
pub async fn refresh<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let backend = conn.get_database_backend();
    customer_value::Entity::delete_many().filter(Column::TenantId.eq(tenant.uuid())).exec(conn).await?;
    let since = today - Duration::days(WINDOW_DAYS - 1);
    let score = |column: &str| {
        format!(
            "1 + 5 * (2 * (RANK() OVER (ORDER BY {column}) - 1) + COUNT(*) OVER (PARTITION BY {column})) \
             / (2 * COUNT(*) OVER ())"
        )
    };
    let sql = format!(
        "INSERT INTO customer_values (tenant_id, customer_id, first_received_on, last_received_on, \
         receipts_365, received_365_e4, lifetime_e4, recency_score, frequency_score, monetary_score, \
         segment, computed_at) \
         SELECT tenant_id, customer_id, first_on, last_on, n, m, life, r_score, f_score, m_score, {case}, ? \
         FROM (SELECT g.*, {r} AS r_score, {f} AS f_score, {m} AS m_score FROM \
           (SELECT rc.tenant_id, rc.customer_id, MIN(rc.received_on) AS first_on, \
              MAX(rc.received_on) AS last_on, \
              SUM(CASE WHEN rc.received_on >= ? THEN 1 ELSE 0 END) AS n, \
              SUM(CASE WHEN rc.received_on >= ? THEN rc.amount_e4 ELSE 0 END) AS m, \
              SUM(rc.amount_e4) AS life \
            FROM receipts rc \
            WHERE rc.tenant_id = ? AND rc.status = 'APPROVED' AND rc.received_on <= ? \
              AND EXISTS (SELECT 1 FROM customers c WHERE c.tenant_id = rc.tenant_id \
                AND c.id = rc.customer_id AND c.deleted_at IS NULL) \
            GROUP BY rc.tenant_id, rc.customer_id) g) s",
        case = segment_case(),
        r = score("g.last_on"),
        f = score("g.n"),
        m = score("g.m"),
    );
    let values: [sea_orm::Value; 5] = [now.into(), since.into(), since.into(), tenant.uuid().into(), today.into()];
    let done = conn.execute_raw(crate::dialect::raw_statement(backend, &sql, values)).await?;
    Ok(done.rows_affected())
}

/// The stored values of `customers` (those scored).
pub async fn of_customers<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: &[Uuid],
) -> StoreResult<Vec<CustomerValue>> {
    let rows = customer_value::Entity::find()
        .filter(Column::TenantId.eq(tenant.uuid()))
        .filter(Column::CustomerId.is_in(customers.iter().copied()))
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(to_domain).collect())
}

fn to_domain(row: Model) -> CustomerValue {
    let scores = [row.recency_score, row.frequency_score, row.monetary_score];
    CustomerValue {
        customer_id: row.customer_id,
        first_received_on: row.first_received_on,
        last_received_on: row.last_received_on,
        receipts_last_year: row.receipts_365,
        received_last_year: from_e4(row.received_365_e4),
        received_to_date: from_e4(row.lifetime_e4),
        scores,
        // The refresh writes the segment of these scores; read it back the same way.
        segment: Segment::parse(&row.segment).unwrap_or_else(|| Segment::of(scores)),
        computed_at: row.computed_at,
    }
}

impl RfmFilter {
    /// "The customer's values match": its id among the matching rows of
    /// `customer_values` (by segment through `ix_customer_values_segment`).
    pub fn condition(&self, tenant: TenantId, customer_id: impl sea_orm::sea_query::IntoColumnRef) -> SimpleExpr {
        let mut rows = Query::select();
        rows.column(Column::CustomerId).from(customer_value::Entity).and_where(Column::TenantId.eq(tenant.uuid()));
        for (scores, column) in [
            (&self.recency, Column::RecencyScore),
            (&self.frequency, Column::FrequencyScore),
            (&self.monetary, Column::MonetaryScore),
        ] {
            if !scores.is_empty() {
                rows.and_where(column.is_in(scores.iter().copied()));
            }
        }
        if !self.segments.is_empty() {
            rows.and_where(Column::Segment.is_in(self.segments.iter().map(|s| s.as_str())));
        }
        Expr::col(customer_id).in_subquery(rows)
    }
}

/// How many of the customers the caller sees fall in each segment, with their lifetime
/// value (ten-thousandths): `(segment, customers, lifetime)`.
pub async fn segments<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: CustomerRule,
) -> StoreResult<Vec<(String, i64, i64)>> {
    let backend = conn.get_database_backend();
    let v = Alias::new("v");
    let query = Query::select()
        .expr_as(Expr::col((v.clone(), Column::Segment)), Alias::new("segment"))
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .expr_as(Expr::cust("CAST(COALESCE(SUM(v.lifetime_e4), 0) AS BIGINT)"), Alias::new("life"))
        .from_as(customer_value::Entity, v.clone())
        .and_where(Expr::col((v.clone(), Column::TenantId)).eq(tenant.uuid()))
        .and_where(crate::scope::visible_customer(backend, tenant, rule, (v.clone(), Column::CustomerId)))
        .add_group_by([Expr::col((v, Column::Segment))])
        .to_owned();
    let mut out = Vec::new();
    for row in conn.query_all(&query).await? {
        out.push((row.try_get("", "segment")?, row.try_get("", "n")?, row.try_get("", "life")?));
    }
    Ok(out)
}

/// Every enabled tenant, whose customer values the nightly job refreshes (a tenant
/// without receipts costs one indexed read).
pub async fn tenants<C: ConnectionTrait>(conn: &C) -> StoreResult<Vec<TenantId>> {
    let query = Query::select()
        .column(Alias::new("id"))
        .from(Alias::new("tenants"))
        .and_where(Expr::col(Alias::new("disabled_at")).is_null())
        .to_owned();
    let mut out = Vec::new();
    for row in conn.query_all(&query).await? {
        out.push(TenantId::from(row.try_get::<Uuid>("", "id")?));
    }
    Ok(out)
}
