//! Calculating a month's commissions (计算佣金), with no statement per contract, receipt
//! or rep: one grouped read of the contracts that came into force in the month (SIGNING)
//! and one of the receipts to credit (RECEIPT), each joined to the contract's lines,
//! products and split; one read of the lines to claw back; then the plans' arithmetic in
//! the domain and multi-row writes. Re-running replaces the DRAFT statements' computed lines (their
//! adjustments stay) and never touches a CONFIRMED or PAID statement. A receipt credited
//! nowhere yet (its month confirmed, or entered late) is credited in the next month
//! calculated; clawbacks land in the next month where the rep's statement is a draft.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::finance::commission::{
    Calculator, Credit, EarnedOn, LineKind, Period, Plan, Rule, StatementStatus, formula_error, plan_for,
};
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::trade::money::from_e4;
use rust_decimal::Decimal;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::commission::{live_plans, staff};
use super::commission_statement::{ENTITY, NewLine as Computed, line_model, totals_update};
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
#[derive(Clone)]
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

/// A contract line's figures and the rep it credits: the split of the contract the line
/// belongs to (`{contract}`), else that contract's owner (`{owner}`).
fn line_columns(contract: &str, owner: &str) -> String {
    format!(
        "l.gross_e4 AS gross_e4, l.net_e4 AS net_e4, l.quantity_e4 AS quantity_e4, \
         p.cost_price_e4 AS cost_e4, p.category_id AS category_id, \
         COALESCE(s.user_id, {owner}) AS credited, COALESCE(s.share_e4, 1000000) AS share_e4 \
         FROM {{from}} \
         LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id \
         LEFT JOIN contract_splits s ON s.tenant_id = l.tenant_id AND s.contract_id = {contract}"
    )
}

/// One rep's part of one contract line row: gross, net and margin times their share.
struct Credited {
    user: Uuid,
    share: Decimal,
    figures: [Decimal; 3],
    category: Option<Uuid>,
}

/// The figures of one contract line row times `scale` (a receipt's part) and the rep's
/// share; `None` for a row without a line or a credited rep.
fn figures(row: &sea_orm::QueryResult, scale: Decimal) -> StoreResult<Option<Credited>> {
    let (Some(user), Some(gross)) =
        (row.try_get::<Option<Uuid>>("", "credited")?, row.try_get::<Option<i64>>("", "gross_e4")?)
    else {
        return Ok(None);
    };
    let share = from_e4(row.try_get::<i64>("", "share_e4")?) / Decimal::ONE_HUNDRED;
    let net = from_e4(row.try_get::<Option<i64>>("", "net_e4")?.unwrap_or(gross));
    let cost = row.try_get::<Option<i64>>("", "cost_e4")?.map(from_e4);
    let quantity = from_e4(row.try_get::<Option<i64>>("", "quantity_e4")?.unwrap_or(0));
    let margin = cost.map_or(net, |c| net - c * quantity);
    let category = row.try_get::<Option<Uuid>>("", "category_id")?;
    let figures = [from_e4(gross), net, margin].map(|f| f * scale * share);
    Ok(Some(Credited { user, share, figures, category }))
}

/// A contract without lines (or the one a revision revised, without lines) counts by its
/// amount: neither tax nor cost is known, so its net and margin are the amount too. It
/// goes to the contract's split, else its owner.
async fn by_amount<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    wholes: Vec<(Source, Uuid, Option<Uuid>)>,
) -> StoreResult<Vec<Source>> {
    let ids: Vec<Uuid> = wholes.iter().map(|(_, of, _)| *of).collect();
    let splits = super::commission::splits_of(conn, tenant, &ids).await?;
    let mut out = Vec::new();
    for (source, of, owner) in wholes {
        let shares: Vec<(Uuid, Decimal)> = match splits.get(&of) {
            Some(shares) => shares.iter().map(|s| (s.user_id.uuid(), s.percent / Decimal::ONE_HUNDRED)).collect(),
            None => owner.map(|o| vec![(o, Decimal::ONE)]).unwrap_or_default(),
        };
        for (user, share) in shares {
            let part = source.gross * share;
            out.push(Source { user, share, gross: part, net: part, margin: part, ..source.clone() });
        }
    }
    Ok(out)
}

/// The contracts that came into force in the month (a revision on its own approval, by
/// its difference from the one it revised, each side credited by its own split), line by
/// line and rep by rep; and the first contracts of new customers, for their owners.
async fn signing_sources<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> StoreResult<(Vec<Source>, Vec<(Uuid, Uuid, NaiveDate)>)> {
    let columns = line_columns(
        "COALESCE(l.contract_id, c.id)",
        "CASE WHEN l.contract_id = c.revises_id THEN pr.owner_id ELSE c.owner_id END",
    );
    // Its own lines and, for a revision, the lines of the one it revised: two halves of a
    // UNION ALL, each probing the lines' index (an OR in one join makes SQLite scan them).
    let half = |line_of: &str| {
        let from_clause = format!(
            "contracts c \
             LEFT JOIN contracts pr ON pr.tenant_id = c.tenant_id AND pr.id = c.revises_id \
             {} JOIN document_lines l ON l.tenant_id = c.tenant_id AND l.contract_id = c.{line_of}",
            if line_of == "id" { "LEFT" } else { "INNER" }
        );
        format!(
            "SELECT c.id AS contract_id, c.owner_id AS owner_id, pr.owner_id AS prior_owner, \
             c.effective_at AS effective_at, c.amount_e4 AS amount_e4, c.revises_id AS revises_id, \
             pr.amount_e4 AS prior_e4, l.contract_id AS line_of, \
             CASE WHEN c.revises_id IS NULL AND NOT EXISTS (SELECT 1 FROM contracts o WHERE o.tenant_id = c.tenant_id \
               AND o.customer_id = c.customer_id AND o.number <> c.number AND o.deleted_at IS NULL \
               AND o.status IN ('APPROVED', 'COMPLETED', 'SUPERSEDED') \
               AND (o.effective_at < c.effective_at OR (o.effective_at = c.effective_at AND o.id < c.id))) \
               THEN 1 ELSE 0 END AS first_contract, \
             {} \
             WHERE c.tenant_id = ? AND c.effective_at >= ? AND c.effective_at < ? AND c.deleted_at IS NULL \
             AND c.status IN ('APPROVED', 'COMPLETED', 'SUPERSEDED')",
            columns.replace("{from}", &from_clause)
        )
    };
    let sql = format!("{} UNION ALL {}", half("id"), half("revises_id"));
    let window: [sea_orm::Value; 3] = [tenant.uuid().into(), from.into(), to.into()];
    let values: Vec<sea_orm::Value> = window.iter().chain(window.iter()).cloned().collect();
    let rows = conn.query_all_raw(raw_statement(conn.get_database_backend(), &sql, values)).await?;
    // Per contract: whether its own and its predecessor's lines were seen.
    let mut seen: BTreeMap<Uuid, (bool, bool)> = BTreeMap::new();
    let mut wholes = Vec::new();
    let mut sources = Vec::new();
    let mut firsts = Vec::new();
    for row in &rows {
        let contract: Uuid = row.try_get("", "contract_id")?;
        let day = guanxi_domain::customers::customer::shanghai_date(row.try_get::<DateTime<Utc>>("", "effective_at")?);
        let owner: Option<Uuid> = row.try_get("", "owner_id")?;
        let revises: Option<Uuid> = row.try_get("", "revises_id")?;
        let line_of: Option<Uuid> = row.try_get("", "line_of")?;
        if row.try_get::<i32>("", "first_contract")? == 1
            && let Some(owner) = owner
        {
            firsts.push((owner, contract, day));
        }
        let blank = Source {
            kind: LineKind::Signing,
            day,
            contract,
            receipt: None,
            user: Uuid::nil(),
            share: Decimal::ONE,
            category: None,
            gross: Decimal::ZERO,
            net: Decimal::ZERO,
            margin: Decimal::ZERO,
        };
        if let std::collections::btree_map::Entry::Vacant(entry) = seen.entry(contract) {
            entry.insert((false, false));
            // Whether it had lines is known once its rows are read: noted for later.
            let prior: Option<i64> = row.try_get("", "prior_e4")?;
            let amount: i64 = row.try_get("", "amount_e4")?;
            let prior_owner: Option<Uuid> = row.try_get("", "prior_owner")?;
            wholes.push((Source { gross: from_e4(amount), ..blank.clone() }, contract, owner, true));
            if let Some(revised) = revises {
                let taken = Source { gross: -from_e4(prior.unwrap_or(0)), ..blank.clone() };
                wholes.push((taken, revised, prior_owner, false));
            }
        }
        let Some(credited) = figures(row, Decimal::ONE)? else { continue };
        let Some(line_of) = line_of else { continue };
        let own = line_of == contract;
        let flags = seen.entry(contract).or_default();
        if own {
            flags.0 = true
        } else {
            flags.1 = true
        }
        let sign = if own { Decimal::ONE } else { Decimal::NEGATIVE_ONE };
        let [gross, net, margin] = credited.figures.map(|f| f * sign);
        sources.push(Source {
            user: credited.user,
            share: credited.share,
            category: credited.category,
            gross,
            net,
            margin,
            ..blank
        });
    }
    let wholes: Vec<(Source, Uuid, Option<Uuid>)> = wholes
        .into_iter()
        .filter(|(source, _, _, own)| {
            let (own_lines, prior_lines) = seen.get(&source.contract).copied().unwrap_or_default();
            !source.gross.is_zero() && if *own { !own_lines } else { !prior_lines }
        })
        .map(|(source, of, owner, _)| (source, of, owner))
        .collect();
    sources.extend(by_amount(conn, tenant, wholes).await?);
    firsts.sort();
    firsts.dedup();
    Ok((sources, firsts))
}

/// The approved receipts of the month, and those of the year before it that no month
/// has credited yet (received late, or back-dated into a month already confirmed), each
/// spread over its contract's lines in proportion. Runs after the month's draft lines are
/// deleted, so a receipt is credited in exactly one month.
async fn receipt_sources<C: ConnectionTrait>(conn: &C, tenant: TenantId, period: Period) -> StoreResult<Vec<Source>> {
    let from_clause = "receipts r JOIN contracts c ON c.tenant_id = r.tenant_id AND c.id = r.contract_id \
         LEFT JOIN document_lines l ON l.tenant_id = c.tenant_id AND l.contract_id = c.id";
    let sql = format!(
        "SELECT r.id AS receipt_id, r.received_on AS received_on, r.amount_e4 AS receipt_e4, c.id AS contract_id, \
         c.owner_id AS owner_id, c.amount_e4 AS amount_e4, {} \
         WHERE r.tenant_id = ? AND r.status = 'APPROVED' AND r.received_on >= ? AND r.received_on <= ? \
         AND c.amount_e4 > 0 AND NOT EXISTS (SELECT 1 FROM commission_lines x WHERE x.tenant_id = r.tenant_id \
           AND x.receipt_id = r.id AND x.kind = 'RECEIPT')",
        line_columns("c.id", "c.owner_id").replace("{from}", from_clause)
    );
    let earliest = period.first_day() - chrono::Duration::days(366);
    let values = [tenant.uuid().into(), earliest.into(), period.last_day().into()];
    let rows = conn.query_all_raw(raw_statement(conn.get_database_backend(), &sql, values)).await?;
    let mut sources = Vec::with_capacity(rows.len());
    let mut wholes = Vec::new();
    let mut seen = HashSet::new();
    for row in &rows {
        let amount: i64 = row.try_get("", "amount_e4")?;
        let received: i64 = row.try_get("", "receipt_e4")?;
        let part = from_e4(received) / from_e4(amount);
        let receipt: Uuid = row.try_get("", "receipt_id")?;
        let source = Source {
            kind: LineKind::Receipt,
            day: row.try_get("", "received_on")?,
            contract: row.try_get("", "contract_id")?,
            receipt: Some(receipt),
            user: Uuid::nil(),
            share: Decimal::ONE,
            category: None,
            gross: from_e4(received),
            net: Decimal::ZERO,
            margin: Decimal::ZERO,
        };
        match figures(row, part)? {
            Some(Credited { user, share, figures: [gross, net, margin], category }) => {
                sources.push(Source { user, share, category, gross, net, margin, ..source });
            }
            None if row.try_get::<Option<i64>>("", "gross_e4")?.is_none() && seen.insert(receipt) => {
                let (contract, owner) = (source.contract, row.try_get("", "owner_id")?);
                wholes.push((source, contract, owner));
            }
            None => {}
        }
    }
    sources.extend(by_amount(conn, tenant, wholes).await?);
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
              WHERE c.tenant_id = l.tenant_id AND c.id = l.contract_id AND v.voided_at < ?)) \
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
            reason: None,
            author: None,
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
        let lineage = category.map(|id| guanxi_domain::trade::product::lineage(&categories, id.into()));
        let out = lineage.unwrap_or_default().into_iter().map(|c| c.uuid()).collect();
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
                reason: None,
                author: None,
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
            reason: None,
            author: None,
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
    let backend = conn.get_database_backend();
    let t = tenant.uuid();
    // The month's draft lines go first, so what they credited is free to credit again.
    // Writes of a tenant run one at a time (`Database::begin_tenant_write`), so no
    // statement is confirmed between here and the writes below.
    conn.execute_raw(raw_statement(
        backend,
        "DELETE FROM commission_lines WHERE tenant_id = ? AND period = ? AND kind <> 'ADJUSTMENT' AND statement_id IN \
         (SELECT id FROM commission_statements WHERE tenant_id = ? AND period = ? AND status = 'DRAFT')",
        [t.into(), name.clone().into(), t.into(), name.clone().into()],
    ))
    .await?;
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
    computed.extend(clawbacks(conn, tenant, &name, window.1).await?);

    let existing: Vec<commission_statement::Model> = commission_statement::Entity::find()
        .filter(commission_statement::Column::TenantId.eq(t))
        .filter(commission_statement::Column::Period.eq(name.clone()))
        .all(conn)
        .await?;
    let locked: HashSet<Uuid> =
        existing.iter().filter(|s| s.status != StatementStatus::Draft.as_str()).map(|s| s.user_id).collect();
    let mut statement_of: HashMap<Uuid, Uuid> = existing.iter().map(|s| (s.user_id, s.id)).collect();
    computed.retain(|c| !locked.contains(&c.user));
    let clawback_count = computed.iter().filter(|c| c.kind == LineKind::Clawback).count();
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
    let lines: Vec<commission_line::ActiveModel> =
        computed.iter().map(|c| line_model(t, (statement_of[&c.user], &name), c, now)).collect();
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
