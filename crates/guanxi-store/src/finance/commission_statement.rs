//! Commission statements (佣金结算单): one per rep per month, seen through the commission
//! scope on the rep, with lines that trace each amount to its contract, receipt, plan and
//! rule. A draft is recalculated freely and takes adjustments; finance confirms it, after
//! which nothing rewrites it, and marks it paid.

use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::finance::commission::{LineKind, Rule, StatementStatus};
use guanxi_domain::ids::{CommissionStatementId, TenantId, UserId};
use guanxi_domain::platform::access::ScopeRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::trade::money::{from_e4, to_e4};
use guanxi_domain::{ErrorCode, Invalid};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{commission_line, commission_statement};
use crate::error::{StoreError, StoreResult};
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Scoped};

pub const ENTITY: EntityKind = EntityKind::CommissionStatement;

/// A statement as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub id: CommissionStatementId,
    pub period: String,
    pub user_id: UserId,
    pub status: StatementStatus,
    /// What the plans paid, clawbacks included.
    pub earned: Decimal,
    pub adjusted: Decimal,
    pub total: Decimal,
    pub line_count: i32,
    pub calculated_at: Option<DateTime<Utc>>,
    pub confirmed_by: Option<UserId>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub paid_by: Option<UserId>,
    pub paid_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn to_domain(m: commission_statement::Model) -> StoreResult<Statement> {
    let cell = |column| Cell::of("commission_statements", m.id, column);
    Ok(Statement {
        id: m.id.into(),
        period: m.period,
        user_id: m.user_id.into(),
        status: cell("status").text(&m.status, StatementStatus::parse)?,
        earned: from_e4(m.earned_e4),
        adjusted: from_e4(m.adjusted_e4),
        total: from_e4(m.total_e4),
        line_count: m.line_count,
        calculated_at: m.calculated_at,
        confirmed_by: m.confirmed_by.map(Into::into),
        confirmed_at: m.confirmed_at,
        paid_by: m.paid_by.map(Into::into),
        paid_at: m.paid_at,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Statements, seen through the commission scope on their rep.
pub struct Statements;

impl Scoped for Statements {
    type Entity = commission_statement::Entity;
    type Scope = ScopeRule;
    type Record = Statement;
    const ID: commission_statement::Column = commission_statement::Column::Id;
    const DELETED_AT: Option<commission_statement::Column> = None;

    fn visible(backend: DbBackend, tenant: TenantId, rule: ScopeRule) -> Select<commission_statement::Entity> {
        commission_statement::Entity::find()
            .filter(commission_statement::Column::TenantId.eq(tenant.uuid()))
            .filter(crate::scope::owner_condition(backend, tenant, rule, commission_statement::Column::UserId))
    }

    fn to_domain(model: commission_statement::Model) -> StoreResult<Statement> {
        to_domain(model)
    }
}

repo::versioned!(Statements, commission_statement);
repo::scoped_reads!(Statements);

/// Which statements a list asks for.
#[derive(Clone, Debug, Default)]
pub struct StatementFilter {
    pub period: Option<String>,
    pub user_id: Option<Uuid>,
    pub status: Option<Vec<StatementStatus>>,
}

impl repo::Listed for Statements {
    type Filter = StatementFilter;
    type Order = Direction;

    fn matching(
        backend: DbBackend,
        tenant: TenantId,
        rule: ScopeRule,
        filter: &StatementFilter,
    ) -> Select<commission_statement::Entity> {
        use commission_statement::Column as C;
        let mut all = Condition::all();
        if let Some(period) = &filter.period {
            all = all.add(C::Period.eq(period.clone()));
        }
        if let Some(user) = filter.user_id {
            all = all.add(C::UserId.eq(user));
        }
        if let Some(status) = &filter.status {
            all = all.add(C::Status.is_in(status.iter().map(|s| s.as_str())));
        }
        Self::visible(backend, tenant, rule).filter(all)
    }

    fn sort_key(direction: Direction) -> SortKey<commission_statement::Entity> {
        SortKey {
            name: "CREATED_AT",
            column: commission_statement::Column::CreatedAt,
            direction,
            value: |m: &commission_statement::Model| CursorValue::Time(m.created_at),
        }
    }

    fn id_of(model: &commission_statement::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Statements);

/// A rep's own statement of a period, whatever their scope.
pub async fn mine<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    user: UserId,
    period: &str,
) -> StoreResult<Option<Statement>> {
    let row = commission_statement::Entity::find()
        .filter(commission_statement::Column::TenantId.eq(tenant.uuid()))
        .filter(commission_statement::Column::UserId.eq(user.uuid()))
        .filter(commission_statement::Column::Period.eq(period))
        .one(conn)
        .await?;
    row.map(to_domain).transpose()
}

/// A statement line as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub id: Uuid,
    pub statement_id: Uuid,
    pub user_id: UserId,
    pub kind: LineKind,
    pub rule: Rule,
    pub plan_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub receipt_id: Option<Uuid>,
    pub category_id: Option<Uuid>,
    pub earned_on: Option<NaiveDate>,
    /// The rep's share of the contract, in percent.
    pub share: Option<Decimal>,
    pub base: Decimal,
    /// In percent.
    pub rate: Option<Decimal>,
    pub amount: Decimal,
    pub clawback_of: Option<Uuid>,
    pub reason: Option<String>,
    pub author_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

pub fn line_to_domain(m: commission_line::Model) -> StoreResult<Line> {
    let cell = |column| Cell::of("commission_lines", m.id, column);
    Ok(Line {
        id: m.id,
        statement_id: m.statement_id,
        user_id: m.user_id.into(),
        kind: cell("kind").text(&m.kind, LineKind::parse)?,
        rule: cell("rule").text(&m.rule, Rule::parse)?,
        plan_id: m.plan_id,
        contract_id: m.contract_id,
        receipt_id: m.receipt_id,
        category_id: m.category_id,
        earned_on: m.earned_on,
        share: m.share_e4.map(from_e4),
        base: from_e4(m.base_e4),
        rate: m.rate_e4.map(from_e4),
        amount: from_e4(m.amount_e4),
        clawback_of: m.clawback_of,
        reason: m.reason,
        author_id: m.author_id.map(Into::into),
        created_at: m.created_at,
    })
}

/// The lines of one statement the caller was shown (the scope is the statement's id).
pub struct StatementLines;

impl Scoped for StatementLines {
    type Entity = commission_line::Entity;
    type Scope = Uuid;
    type Record = Line;
    const ID: commission_line::Column = commission_line::Column::Id;
    const DELETED_AT: Option<commission_line::Column> = None;

    fn visible(_: DbBackend, tenant: TenantId, statement: Uuid) -> Select<commission_line::Entity> {
        commission_line::Entity::find()
            .filter(commission_line::Column::TenantId.eq(tenant.uuid()))
            .filter(commission_line::Column::StatementId.eq(statement))
    }

    fn to_domain(model: commission_line::Model) -> StoreResult<Line> {
        line_to_domain(model)
    }
}

impl repo::Listed for StatementLines {
    type Filter = Option<Vec<LineKind>>;
    type Order = Direction;

    fn matching(
        backend: DbBackend,
        tenant: TenantId,
        statement: Uuid,
        kinds: &Option<Vec<LineKind>>,
    ) -> Select<commission_line::Entity> {
        let select = Self::visible(backend, tenant, statement);
        match kinds {
            Some(kinds) => select.filter(commission_line::Column::Kind.is_in(kinds.iter().map(|k| k.as_str()))),
            None => select,
        }
    }

    fn sort_key(direction: Direction) -> SortKey<commission_line::Entity> {
        SortKey {
            name: "ID",
            column: commission_line::Column::Id,
            direction,
            value: |m: &commission_line::Model| CursorValue::Uuid(m.id),
        }
    }

    fn id_of(model: &commission_line::Model) -> Uuid {
        model.id
    }
}

/// A line to write: computed by a calculation, or an adjustment.
pub(crate) struct NewLine {
    pub user: Uuid,
    pub kind: LineKind,
    pub rule: Rule,
    pub plan: Option<Uuid>,
    pub contract: Option<Uuid>,
    pub receipt: Option<Uuid>,
    pub category: Option<Uuid>,
    pub day: Option<NaiveDate>,
    /// In percent.
    pub share: Option<Decimal>,
    pub base: Decimal,
    /// In percent.
    pub rate: Option<Decimal>,
    pub amount: Decimal,
    pub clawback_of: Option<Uuid>,
    pub reason: Option<String>,
    pub author: Option<Uuid>,
}

/// The row of a line of `statement` (of `period`).
pub(crate) fn line_model(
    tenant: Uuid,
    (statement, period): (Uuid, &str),
    line: &NewLine,
    now: DateTime<Utc>,
) -> commission_line::ActiveModel {
    commission_line::ActiveModel {
        tenant_id: Set(tenant),
        id: Set(Uuid::now_v7()),
        statement_id: Set(statement),
        user_id: Set(line.user),
        period: Set(period.to_owned()),
        kind: Set(line.kind.as_str().to_owned()),
        rule: Set(line.rule.as_str().to_owned()),
        plan_id: Set(line.plan),
        contract_id: Set(line.contract),
        receipt_id: Set(line.receipt),
        category_id: Set(line.category),
        earned_on: Set(line.day),
        share_e4: Set(line.share.map(to_e4)),
        base_e4: Set(to_e4(line.base)),
        rate_e4: Set(line.rate.map(to_e4)),
        amount_e4: Set(to_e4(line.amount)),
        clawback_of: Set(line.clawback_of),
        reason: Set(line.reason.clone()),
        author_id: Set(line.author),
        created_at: Set(now),
    }
}

/// Sums a statement's lines into its figures, bumping its version.
pub(crate) fn totals_update(now: DateTime<Utc>) -> sea_orm::UpdateMany<commission_statement::Entity> {
    use commission_statement::Column as S;
    let sum = |kinds: &str| {
        Expr::cust(format!(
            "(SELECT COALESCE(SUM(l.amount_e4), 0) FROM commission_lines l WHERE l.tenant_id = \
             commission_statements.tenant_id AND l.statement_id = commission_statements.id AND l.kind {kinds})"
        ))
    };
    commission_statement::Entity::update_many()
        .col_expr(S::EarnedE4, sum("<> 'ADJUSTMENT'"))
        .col_expr(S::AdjustedE4, sum("= 'ADJUSTMENT'"))
        .col_expr(S::TotalE4, sum("IS NOT NULL"))
        .col_expr(
            S::LineCount,
            Expr::cust(
                "(SELECT COUNT(*) FROM commission_lines l WHERE l.tenant_id = commission_statements.tenant_id \
                 AND l.statement_id = commission_statements.id)",
            ),
        )
        .col_expr(S::Version, Expr::col(S::Version).add(1))
        .col_expr(S::UpdatedAt, Expr::value(now))
}

fn must_be(statement: &Statement, status: StatementStatus, doing: &str) -> StoreResult<()> {
    if statement.status == status {
        return Ok(());
    }
    let message =
        format!("the statement is {}: only a {} statement can be {doing}", statement.status.as_str(), status.as_str());
    Err(StoreError::Rejected(Invalid::one("id", ErrorCode::IllegalState, message)))
}

/// Adds an adjustment (调整) to a draft statement: an amount, up or down, with a reason,
/// credited to its author. Recalculation keeps it.
pub async fn adjust<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: ScopeRule,
    (id, expected_version): (Uuid, i32),
    (amount, reason): (Decimal, String),
) -> StoreResult<Statement> {
    let tenant = author.tenant_id;
    let before = repo::current::<Statements, C>(conn, tenant, rule, id, expected_version).await?;
    must_be(&before, StatementStatus::Draft, "adjusted")?;
    let reason = guanxi_domain::finance::commission::check_adjustment(amount, &reason)?;
    let now = Utc::now();
    let line = NewLine {
        user: before.user_id.uuid(),
        kind: LineKind::Adjustment,
        rule: Rule::Manual,
        plan: None,
        contract: None,
        receipt: None,
        category: None,
        day: None,
        share: None,
        base: Decimal::ZERO,
        rate: None,
        amount,
        clawback_of: None,
        reason: Some(reason.clone()),
        author: author.user_id,
    };
    commission_line::Entity::insert(line_model(tenant.uuid(), (id, &before.period), &line, now))
        .exec_without_returning(conn)
        .await?;
    let after = write_totals(conn, tenant, id, expected_version, now).await?;
    let changes = ChangeSet::new()
        .field("adjustment", (), amount.normalize().to_string())
        .field("reason", (), reason)
        .field("total", Some(before.total.normalize().to_string()), after.total.normalize().to_string());
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

async fn write_totals<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Uuid,
    expected_version: i32,
    now: DateTime<Utc>,
) -> StoreResult<Statement> {
    let written = totals_update(now)
        .filter(commission_statement::Column::TenantId.eq(tenant.uuid()))
        .filter(commission_statement::Column::Id.eq(id))
        .filter(commission_statement::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    if written.rows_affected == 0 {
        return Err(StoreError::version_conflict(expected_version, expected_version + 1));
    }
    repo::any_by_id::<Statements, C>(conn, tenant, id).await?.ok_or(StoreError::NotFound)
}

/// Moves a statement on: a DRAFT is confirmed (by finance; never rewritten after), a
/// CONFIRMED one is paid.
pub async fn advance<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: ScopeRule,
    (id, expected_version): (Uuid, i32),
    to: StatementStatus,
) -> StoreResult<Statement> {
    let tenant = author.tenant_id;
    let before = repo::current::<Statements, C>(conn, tenant, rule, id, expected_version).await?;
    use commission_statement::Column as S;
    let now = Utc::now();
    let update = match to {
        StatementStatus::Confirmed => {
            must_be(&before, StatementStatus::Draft, "confirmed")?;
            vec![(S::ConfirmedBy, Expr::value(author.user_id)), (S::ConfirmedAt, Expr::value(now))]
        }
        StatementStatus::Paid => {
            must_be(&before, StatementStatus::Confirmed, "paid")?;
            vec![(S::PaidBy, Expr::value(author.user_id)), (S::PaidAt, Expr::value(now))]
        }
        StatementStatus::Draft => {
            let message = "a statement never goes back to DRAFT";
            return Err(StoreError::rejected("status", ErrorCode::IllegalTransition, message));
        }
    };
    let mut values = update;
    values.push((S::Status, Expr::value(to.as_str())));
    let update = repo::set_columns::<commission_statement::Entity>(values);
    let after = repo::write_versioned::<Statements, C>(conn, tenant, id, expected_version, update).await?;
    let changes = ChangeSet::new().field("status", Some(before.status.as_str()), to.as_str());
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}
