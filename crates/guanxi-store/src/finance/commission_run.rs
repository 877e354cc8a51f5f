//! Calculating a month's commissions (计算佣金). A fixed number of statements whatever the
//! volume: one grouped read of the month's approved contracts (SIGNING) and one of its
//! approved receipts (RECEIPT), each joined to the contract's lines, products and split;
//! one read of the lines to claw back; then the plans' arithmetic in the domain and
//! multi-row writes. Re-running replaces the DRAFT statements' computed lines (their
//! adjustments stay) and never touches a CONFIRMED or PAID statement: its rep's new
//! earnings wait for them to be confirmed, and clawbacks land in the next open month.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::finance::commission::{
    Calculator, Credit, EarnedOn, LineKind, Period, Plan, Rule, StatementStatus, formula_error, plan_for,
};
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::trade::money::{from_e4, to_e4};
use rust_decimal::Decimal;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::commission::{live_plans, staff};
use super::commission_statement::{ENTITY, totals_update};
use crate::dialect::raw_statement;
use crate::entity::{commission_line, commission_statement};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};

/// What a calculation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Calculated {
    pub period: String,
    /// Draft statements left for the month.
    pub statements: i64,
    /// Lines written (clawbacks included).
    pub lines: i64,
    pub clawbacks: i64,
    /// Reps whose statement of the month is already confirmed or paid, left as they are.
    pub locked: i64,
    pub total: Decimal,
}

/// The contract line (or, for a contract without lines, its amount) a credit comes from.
struct Source {
    kind: LineKind,
    day: NaiveDate,
    contract: Uuid,
    receipt: Option<Uuid>,
    user: Uuid,
    /// The rep's share as a fraction.
    share: Decimal,
    category: Option<Uuid>,
    gross: Decimal,
    net: Decimal,
    margin: Decimal,
}

/// One computed line, before it is written.
struct Computed {
    user: Uuid,
    kind: LineKind,
    rule: Rule,
    plan: Option<Uuid>,
    contract: Option<Uuid>,
    receipt: Option<Uuid>,
    category: Option<Uuid>,
    day: Option<NaiveDate>,
    share: Option<Decimal>,
    base: Decimal,
    rate: Option<Decimal>,
    amount: Decimal,
    clawback_of: Option<Uuid>,
}

const LINE_COLUMNS: &str = "l.gross_e4 AS gross_e4, l.net_e4 AS net_e4, l.quantity_e4 AS quantity_e4, \
     p.cost_price_e4 AS cost_e4, p.category_id AS category_id, \
     COALESCE(s.user_id, c.owner_id) AS credited, COALESCE(s.share_e4, 1000000) AS share_e4";

const LINE_JOINS: &str = "LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id \
     LEFT JOIN contract_splits s ON s.tenant_id = c.tenant_id AND s.contract_id = c.id";

/// One rep's part of one contract line row: gross, net and margin times their share.
struct Credited {
    user: Uuid,
    share: Decimal,
    figures: [Decimal; 3],
    category: Option<Uuid>,
}

/// A contract of the month as its rows are read: whether its own and its predecessor's
/// lines were seen, its amounts and day, and the reps it credits.
struct Seen {
    own_lines: bool,
    prior_lines: bool,
    revises: Option<Uuid>,
    amount_e4: i64,
    prior_e4: Option<i64>,
    day: NaiveDate,
    shares: Vec<(Uuid, Decimal)>,
}

/// The figures of one contract line row, `scale` times (a receipt's part), or of the
/// contract's amount when it has no lines; `None` for a row without a credited rep.
fn figures(row: &sea_orm::QueryResult, amount_e4: i64, scale: Decimal) -> StoreResult<Option<Credited>> {
    let Some(user) = row.try_get::<Option<Uuid>>("", "credited")? else { return Ok(None) };
    let share = from_e4(row.try_get::<i64>("", "share_e4")?) / Decimal::ONE_HUNDRED;
    let figures = match row.try_get::<Option<i64>>("", "gross_e4")? {
        Some(gross) => {
            let net = from_e4(row.try_get::<Option<i64>>("", "net_e4")?.unwrap_or(gross));
            let cost = row.try_get::<Option<i64>>("", "cost_e4")?.map(from_e4);
            let quantity = from_e4(row.try_get::<Option<i64>>("", "quantity_e4")?.unwrap_or(0));
            let margin = cost.map_or(net, |c| net - c * quantity);
            [from_e4(gross), net, margin]
        }
        None => [from_e4(amount_e4); 3],
    };
    let category = row.try_get::<Option<Uuid>>("", "category_id")?;
    Ok(Some(Credited { user, share, figures: figures.map(|f| f * scale * share), category }))
}

fn shanghai_day(at: DateTime<Utc>) -> NaiveDate {
    guanxi_domain::customers::customer::shanghai_date(at)
}

/// The month's approved contracts, line by line and rep by rep, a revision by its
/// difference from the contract it revised; and the first contracts of new customers.
async fn signing_sources<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> StoreResult<(Vec<Source>, Vec<(Uuid, Uuid, NaiveDate)>)> {
    let sql = format!(
        "SELECT c.id AS contract_id, c.owner_id AS owner_id, c.approved_at AS approved_at, c.amount_e4 AS amount_e4, \
         c.revises_id AS revises_id, pr.amount_e4 AS prior_e4, l.contract_id AS line_of, {LINE_COLUMNS}, \
         CASE WHEN c.revises_id IS NULL AND NOT EXISTS (SELECT 1 FROM contracts o WHERE o.tenant_id = c.tenant_id \
           AND o.customer_id = c.customer_id AND o.number <> c.number AND o.approved_at < c.approved_at) \
           THEN 1 ELSE 0 END AS first_contract \
         FROM contracts c \
         LEFT JOIN contracts pr ON pr.tenant_id = c.tenant_id AND pr.id = c.revises_id \
         LEFT JOIN document_lines l ON l.tenant_id = c.tenant_id AND (l.contract_id = c.id OR l.contract_id = c.revises_id) \
         {LINE_JOINS} \
         WHERE c.tenant_id = ? AND c.approved_at >= ? AND c.approved_at < ? AND c.deleted_at IS NULL \
         AND c.status IN ('APPROVED', 'COMPLETED', 'SUPERSEDED')"
    );
    let values = [tenant.uuid().into(), from.into(), to.into()];
    let rows = conn.query_all_raw(raw_statement(conn.get_database_backend(), &sql, values)).await?;
    // Per contract: whether its own and its predecessor's lines were seen.
    let mut seen: BTreeMap<Uuid, Seen> = BTreeMap::new();
    let mut sources = Vec::new();
    let mut firsts = Vec::new();
    for row in &rows {
        let contract: Uuid = row.try_get("", "contract_id")?;
        let day = shanghai_day(row.try_get::<DateTime<Utc>>("", "approved_at")?);
        let revises: Option<Uuid> = row.try_get("", "revises_id")?;
        let line_of: Option<Uuid> = row.try_get("", "line_of")?;
        let amount: i64 = row.try_get("", "amount_e4")?;
        let prior_e4 = row.try_get("", "prior_e4")?;
        let entry = seen.entry(contract).or_insert(Seen {
            own_lines: false,
            prior_lines: false,
            revises,
            amount_e4: amount,
            prior_e4,
            day,
            shares: vec![],
        });
        let Some(Credited { user, share, figures: [gross, net, margin], category }) = figures(row, 0, Decimal::ONE)?
        else {
            continue;
        };
        if !entry.shares.iter().any(|(u, _)| *u == user) {
            entry.shares.push((user, share));
        }
        if row.try_get::<i32>("", "first_contract")? == 1 && row.try_get::<Option<Uuid>>("", "owner_id")? == Some(user)
        {
            firsts.push((user, contract, day));
        }
        let Some(line_of) = line_of else { continue };
        let sign = if line_of == contract {
            entry.own_lines = true;
            Decimal::ONE
        } else {
            entry.prior_lines = true;
            Decimal::NEGATIVE_ONE
        };
        let (gross, net, margin) = (gross * sign, net * sign, margin * sign);
        sources.push(Source {
            kind: LineKind::Signing,
            day,
            contract,
            receipt: None,
            user,
            share,
            category,
            gross,
            net,
            margin,
        });
    }
    // A contract (or the one it revised) without lines counts by its amount.
    for (contract, seen) in seen {
        let mut whole = Decimal::ZERO;
        if !seen.own_lines {
            whole += from_e4(seen.amount_e4);
        }
        if seen.revises.is_some() && !seen.prior_lines {
            whole -= from_e4(seen.prior_e4.unwrap_or(0));
        }
        if whole.is_zero() {
            continue;
        }
        let day = seen.day;
        for (user, share) in seen.shares {
            let part = whole * share;
            sources.push(Source {
                kind: LineKind::Signing,
                day,
                contract,
                receipt: None,
                user,
                share,
                category: None,
                gross: part,
                net: part,
                margin: part,
            });
        }
    }
    firsts.sort();
    firsts.dedup();
    Ok((sources, firsts))
}

/// The month's approved receipts, each spread over its contract's lines in proportion.
async fn receipt_sources<C: ConnectionTrait>(conn: &C, tenant: TenantId, period: Period) -> StoreResult<Vec<Source>> {
    let sql = format!(
        "SELECT r.id AS receipt_id, r.received_on AS received_on, r.amount_e4 AS receipt_e4, c.id AS contract_id, \
         c.amount_e4 AS amount_e4, {LINE_COLUMNS} \
         FROM receipts r JOIN contracts c ON c.tenant_id = r.tenant_id AND c.id = r.contract_id \
         LEFT JOIN document_lines l ON l.tenant_id = c.tenant_id AND l.contract_id = c.id \
         {LINE_JOINS} \
         WHERE r.tenant_id = ? AND r.status = 'APPROVED' AND r.received_on >= ? AND r.received_on <= ? \
         AND c.amount_e4 > 0"
    );
    let values = [tenant.uuid().into(), period.first_day().into(), period.last_day().into()];
    let rows = conn.query_all_raw(raw_statement(conn.get_database_backend(), &sql, values)).await?;
    let mut sources = Vec::with_capacity(rows.len());
    for row in &rows {
        let amount: i64 = row.try_get("", "amount_e4")?;
        let part = from_e4(row.try_get::<i64>("", "receipt_e4")?) / from_e4(amount);
        let Some(Credited { user, share, figures: [gross, net, margin], category }) = figures(row, amount, part)?
        else {
            continue;
        };
        sources.push(Source {
            kind: LineKind::Receipt,
            day: row.try_get("", "received_on")?,
            contract: row.try_get("", "contract_id")?,
            receipt: Some(row.try_get("", "receipt_id")?),
            user,
            share,
            category,
            gross,
            net,
            margin,
        });
    }
    Ok(sources)
}

/// Lines of confirmed statements of earlier months whose receipt has since been reversed
/// or whose contract voided, and that nothing has clawed back yet.
async fn clawbacks<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    period: &str,
    to: DateTime<Utc>,
) -> StoreResult<Vec<Computed>> {
    let sql = "SELECT l.id, l.user_id, l.plan_id, l.contract_id, l.receipt_id, l.category_id, l.share_e4, \
         l.base_e4, l.rate_e4, l.amount_e4 \
         FROM commission_lines l JOIN commission_statements s ON s.tenant_id = l.tenant_id AND s.id = l.statement_id \
         WHERE l.tenant_id = ? AND s.status IN ('CONFIRMED', 'PAID') AND l.period < ? \
         AND l.kind IN ('SIGNING', 'RECEIPT', 'NEW_CUSTOMER') \
         AND (EXISTS (SELECT 1 FROM receipts r WHERE r.tenant_id = l.tenant_id AND r.id = l.receipt_id \
              AND r.status = 'REVERSED' AND r.reversed_at < ?) \
           OR EXISTS (SELECT 1 FROM contracts c JOIN contracts v ON v.tenant_id = c.tenant_id AND v.number = c.number \
              WHERE c.tenant_id = l.tenant_id AND c.id = l.contract_id AND v.status = 'VOID' AND v.updated_at < ?)) \
         AND NOT EXISTS (SELECT 1 FROM commission_lines k WHERE k.tenant_id = l.tenant_id AND k.clawback_of = l.id \
              AND k.period <> ?)";
    let t = tenant.uuid();
    let values = [t.into(), period.into(), to.into(), to.into(), period.into()];
    let rows = conn.query_all_raw(raw_statement(conn.get_database_backend(), sql, values)).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(Computed {
            user: row.try_get("", "user_id")?,
            kind: LineKind::Clawback,
            rule: Rule::Clawback,
            plan: row.try_get("", "plan_id")?,
            contract: row.try_get("", "contract_id")?,
            receipt: row.try_get("", "receipt_id")?,
            category: row.try_get("", "category_id")?,
            day: None,
            share: row.try_get::<Option<i64>>("", "share_e4")?.map(from_e4),
            base: -from_e4(row.try_get::<i64>("", "base_e4")?),
            rate: row.try_get::<Option<i64>>("", "rate_e4")?.map(from_e4),
            amount: -from_e4(row.try_get::<i64>("", "amount_e4")?),
            clawback_of: Some(row.try_get("", "id")?),
        });
    }
    Ok(out)
}

/// Runs the plans over the month's sources: one group per rep and plan, credits summed
/// per contract, receipt and category, in the order they were earned.
async fn earn<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    plans: &[Plan],
    sources: Vec<Source>,
    firsts: Vec<(Uuid, Uuid, NaiveDate)>,
) -> StoreResult<Vec<Computed>> {
    let mut users: Vec<Uuid> = sources.iter().map(|s| s.user).chain(firsts.iter().map(|f| f.0)).collect();
    users.sort();
    users.dedup();
    let staff: HashMap<Uuid, _> =
        staff(conn, tenant, Some(&users)).await?.into_iter().map(|(s, _)| (s.user_id.uuid(), s)).collect();
    let categories = crate::trade::product::categories(conn, tenant).await?;
    let chain = |category: Option<Uuid>| -> (Vec<Uuid>, String) {
        let mut out = Vec::new();
        let mut next = category;
        while let Some(id) = next {
            if out.contains(&id) {
                break;
            }
            out.push(id);
            next = categories.iter().find(|c| c.id.uuid() == id).and_then(|c| c.parent_id.map(|p| p.uuid()));
        }
        let name = category
            .and_then(|id| categories.iter().find(|c| c.id.uuid() == id))
            .map_or_else(String::new, |c| c.name.clone());
        (out, name)
    };
    type Key = (Uuid, Uuid, NaiveDate, Uuid, Option<Uuid>, Option<Uuid>);
    // (rep, plan) → (day, contract, receipt, category) → summed source.
    let mut groups: BTreeMap<(Uuid, Uuid), BTreeMap<Key, Source>> = BTreeMap::new();
    for source in sources {
        let Some(person) = staff.get(&source.user) else { continue };
        let Some(plan) = plan_for(plans, person, source.day) else { continue };
        let wanted = match plan.fields.earned_on {
            EarnedOn::Signing => LineKind::Signing,
            EarnedOn::Receipt => LineKind::Receipt,
        };
        if source.kind != wanted {
            continue;
        }
        let key = (source.user, plan.id.uuid(), source.day, source.contract, source.receipt, source.category);
        let group = groups.entry((source.user, plan.id.uuid())).or_default();
        match group.get_mut(&key) {
            Some(sum) => {
                sum.gross += source.gross;
                sum.net += source.net;
                sum.margin += source.margin;
            }
            None => {
                group.insert(key, source);
            }
        }
    }
    let mut out = Vec::new();
    for ((user, plan_id), group) in groups {
        let Some(plan) = plans.iter().find(|p| p.id.uuid() == plan_id) else { continue };
        let calculator = Calculator::new(&plan.fields).map_err(|e| StoreError::Rejected(formula_error(&e).into()))?;
        let sources: Vec<Source> = group.into_values().filter(|s| !(s.gross.is_zero() && s.margin.is_zero())).collect();
        let credits: Vec<Credit> = sources
            .iter()
            .map(|s| {
                let (categories, category_name) = chain(s.category);
                Credit {
                    day: s.day,
                    order: s.receipt.unwrap_or(s.contract),
                    gross: s.gross,
                    net: s.net,
                    margin: s.margin,
                    received: if s.kind == LineKind::Receipt { s.gross } else { Decimal::ZERO },
                    categories,
                    category_name,
                }
            })
            .collect();
        let earned = calculator.earn(&credits).map_err(|e| {
            let mut error = formula_error(&e);
            error.message = format!("plan 「{}」: {}", plan.fields.name, error.message);
            StoreError::Rejected(error.into())
        })?;
        for (source, earned) in sources.iter().zip(earned) {
            out.push(Computed {
                user,
                kind: source.kind,
                rule: earned.rule,
                plan: Some(plan_id),
                contract: Some(source.contract),
                receipt: source.receipt,
                category: source.category,
                day: Some(source.day),
                share: Some(source.share * Decimal::ONE_HUNDRED),
                base: earned.base,
                rate: earned.rate,
                amount: earned.amount,
                clawback_of: None,
            });
        }
    }
    for (user, contract, day) in firsts {
        let Some(person) = staff.get(&user) else { continue };
        let Some(plan) = plan_for(plans, person, day) else { continue };
        let Some(bonus) = plan.fields.rules.new_customer_bonus.filter(|b| !b.is_zero()) else { continue };
        out.push(Computed {
            user,
            kind: LineKind::NewCustomer,
            rule: Rule::Bonus,
            plan: Some(plan.id.uuid()),
            contract: Some(contract),
            receipt: None,
            category: None,
            day: Some(day),
            share: None,
            base: Decimal::ZERO,
            rate: None,
            amount: bonus,
            clawback_of: None,
        });
    }
    Ok(out)
}

/// Calculates `period`'s commissions: see the module comment. The caller holds the
/// period's lease, so two replicas never run it at once.
pub async fn calculate<C: ConnectionTrait>(conn: &C, author: &Author, period: Period) -> StoreResult<Calculated> {
    let tenant = author.tenant_id;
    let name = period.to_string();
    let window = (start_of(period.first_day()), start_of(period.next().first_day()));
    let plans = live_plans(conn, tenant).await?;
    let mut sources = Vec::new();
    let mut firsts = Vec::new();
    let signing =
        plans.iter().any(|p| p.fields.earned_on == EarnedOn::Signing || p.fields.rules.new_customer_bonus.is_some());
    if signing {
        (sources, firsts) = signing_sources(conn, tenant, window).await?;
    }
    if plans.iter().any(|p| p.fields.earned_on == EarnedOn::Receipt) {
        sources.extend(receipt_sources(conn, tenant, period).await?);
    }
    let mut computed = earn(conn, tenant, &plans, sources, firsts).await?;
    let clawed = clawbacks(conn, tenant, &name, window.1).await?;
    let clawback_count = clawed.len();
    computed.extend(clawed);

    let existing: Vec<commission_statement::Model> = commission_statement::Entity::find()
        .filter(commission_statement::Column::TenantId.eq(tenant.uuid()))
        .filter(commission_statement::Column::Period.eq(name.clone()))
        .all(conn)
        .await?;
    let locked: HashSet<Uuid> =
        existing.iter().filter(|s| s.status != StatementStatus::Draft.as_str()).map(|s| s.user_id).collect();
    let mut statement_of: HashMap<Uuid, Uuid> = existing.iter().map(|s| (s.user_id, s.id)).collect();
    computed.retain(|c| !locked.contains(&c.user));

    let backend = conn.get_database_backend();
    let t = tenant.uuid();
    conn.execute_raw(raw_statement(
        backend,
        "DELETE FROM commission_lines WHERE tenant_id = ? AND period = ? AND kind <> 'ADJUSTMENT' AND statement_id IN \
         (SELECT id FROM commission_statements WHERE tenant_id = ? AND period = ? AND status = 'DRAFT')",
        [t.into(), name.clone().into(), t.into(), name.clone().into()],
    ))
    .await?;
    let now = Utc::now();
    let mut created = Vec::new();
    let mut new_statements = Vec::new();
    for line in &computed {
        if let std::collections::hash_map::Entry::Vacant(entry) = statement_of.entry(line.user) {
            let id = Uuid::now_v7();
            entry.insert(id);
            created.push(id);
            new_statements.push(commission_statement::ActiveModel {
                tenant_id: Set(t),
                id: Set(id),
                period: Set(name.clone()),
                user_id: Set(line.user),
                status: Set(StatementStatus::Draft.as_str().to_owned()),
                earned_e4: Set(0),
                adjusted_e4: Set(0),
                total_e4: Set(0),
                line_count: Set(0),
                calculated_at: Set(Some(now)),
                confirmed_by: Set(None),
                confirmed_at: Set(None),
                paid_by: Set(None),
                paid_at: Set(None),
                version: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
    }
    crate::insert_chunked(conn, new_statements).await?;
    let lines: Vec<commission_line::ActiveModel> = computed
        .iter()
        .map(|c| commission_line::ActiveModel {
            tenant_id: Set(t),
            id: Set(Uuid::now_v7()),
            statement_id: Set(statement_of[&c.user]),
            user_id: Set(c.user),
            period: Set(name.clone()),
            kind: Set(c.kind.as_str().to_owned()),
            rule: Set(c.rule.as_str().to_owned()),
            plan_id: Set(c.plan),
            contract_id: Set(c.contract),
            receipt_id: Set(c.receipt),
            category_id: Set(c.category),
            earned_on: Set(c.day),
            share_e4: Set(c.share.map(to_e4)),
            base_e4: Set(to_e4(c.base)),
            rate_e4: Set(c.rate.map(to_e4)),
            amount_e4: Set(to_e4(c.amount)),
            clawback_of: Set(c.clawback_of),
            reason: Set(None),
            author_id: Set(None),
            created_at: Set(now),
        })
        .collect();
    let line_count = lines.len() as i64;
    crate::insert_chunked(conn, lines).await?;

    let drafts = || {
        commission_statement::Entity::find()
            .filter(commission_statement::Column::TenantId.eq(t))
            .filter(commission_statement::Column::Period.eq(name.clone()))
            .filter(commission_statement::Column::Status.eq(StatementStatus::Draft.as_str()))
    };
    totals_update(now)
        .col_expr(commission_statement::Column::CalculatedAt, sea_orm::sea_query::Expr::value(now))
        .filter(commission_statement::Column::TenantId.eq(t))
        .filter(commission_statement::Column::Period.eq(name.clone()))
        .filter(commission_statement::Column::Status.eq(StatementStatus::Draft.as_str()))
        .exec(conn)
        .await?;
    let empty: Vec<Uuid> = drafts()
        .filter(commission_statement::Column::LineCount.eq(0))
        .all(conn)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    if !empty.is_empty() {
        commission_statement::Entity::delete_many()
            .filter(commission_statement::Column::TenantId.eq(t))
            .filter(commission_statement::Column::Id.is_in(empty.clone()))
            .exec(conn)
            .await?;
    }
    let remaining = drafts().all(conn).await?;
    let mut events: Vec<(Uuid, Operation, ChangeSet)> = remaining
        .iter()
        .map(|s| {
            let operation = if created.contains(&s.id) { Operation::Create } else { Operation::Update };
            let changes = ChangeSet::new()
                .field("period", (), name.clone())
                .field("total", (), from_e4(s.total_e4).normalize().to_string())
                .field("lineCount", (), s.line_count);
            (s.id, operation, changes)
        })
        .collect();
    events.extend(empty.iter().filter(|id| !created.contains(id)).map(|id| (*id, Operation::Delete, ChangeSet::new())));
    audit::record_many(conn, author, ENTITY, events).await?;
    Ok(Calculated {
        period: name,
        statements: remaining.len() as i64,
        lines: line_count,
        clawbacks: clawback_count as i64,
        locked: locked.len() as i64,
        total: remaining.iter().map(|s| from_e4(s.total_e4)).sum(),
    })
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    // Months run on Shanghai time (UTC+8).
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    DateTime::<Utc>::from_naive_utc_and_offset(midnight, Utc) - chrono::Duration::hours(8)
}
