//! Commission statements (佣金结算单) over GraphQL: a month's calculation (leased, so two
//! replicas never run it at once), statements and their traced lines through the
//! commission scope, the rep's own (`myCommission`), adjustments, confirmation and
//! payment.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::finance::commission::{LineKind as DomainKind, Period, StatementStatus as DomainStatus};
use guanxi_domain::platform::access::ScopeRule;
use guanxi_domain::platform::access::{Actor, Module, Permission};
use guanxi_store::finance::commission_run::Calculated;
use guanxi_store::finance::commission_statement::{Line, Statement, StatementFilter, StatementLines, Statements};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::commission::{CommissionPlan, PLAN, Rule};
use super::contract::{CONTRACT, Contract, ContractKey};
use super::receivable::{RECEIPT, Receipt, ReceiptKey};
use crate::graphql::context::{actor, author, require, state};
use crate::graphql::customers::customer::Money;
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::UserKey;
use crate::graphql::mutation::write_by_id;
use crate::graphql::platform::org::{USER, User};
use crate::graphql::relay::{Conn, expect_id, global_id, listed, page_request, read_by_id};
use crate::graphql::shared::OrderDirection;
use crate::graphql::trade::document::loaders;
use crate::graphql::trade::product::CATEGORY;

pub const STATEMENT: &str = EntityKind::CommissionStatement.name();

/// The scope statements are read with: the commission scope on their rep.
pub fn statement_scope(actor: &Actor) -> ScopeRule {
    actor.scope_rule(Module::Commission)
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainStatus", name = "CommissionStatementStatus")]
pub enum StatementStatus {
    /// 草稿: recalculated freely.
    Draft,
    /// 已确认: never rewritten.
    Confirmed,
    /// 已发放
    Paid,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainKind", name = "CommissionLineKind")]
pub enum LineKind {
    /// 签约提成
    Signing,
    /// 回款提成
    Receipt,
    /// 新客户奖励
    NewCustomer,
    /// 追回: takes back a confirmed line whose receipt was reversed or contract voided.
    Clawback,
    /// 调整
    Adjustment,
}

/// A rep's commission statement for one month (佣金结算单).
pub struct CommissionStatement(pub Statement);

#[Object]
impl CommissionStatement {
    pub async fn id(&self) -> ID {
        global_id(STATEMENT, self.0.id.uuid())
    }
    /// The month, YYYY-MM.
    async fn period(&self) -> &str {
        &self.0.period
    }
    async fn user_id(&self) -> ID {
        global_id(USER, self.0.user_id.uuid())
    }
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        user_of(ctx, Some(self.0.user_id.uuid())).await
    }
    async fn status(&self) -> StatementStatus {
        self.0.status.into()
    }
    /// What the plans paid, clawbacks included.
    async fn earned(&self) -> Money {
        Money::cny(self.0.earned)
    }
    async fn adjusted(&self) -> Money {
        Money::cny(self.0.adjusted)
    }
    async fn total(&self) -> Money {
        Money::cny(self.0.total)
    }
    async fn line_count(&self) -> i32 {
        self.0.line_count
    }
    /// Its lines, in the order they were written.
    #[graphql(complexity = "first.unwrap_or(50) as usize * child_complexity")]
    async fn lines(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        kinds: Option<Vec<LineKind>>,
    ) -> ApiResult<Conn<CommissionLine>> {
        let actor = actor(ctx)?;
        let request = page_request(first.or(Some(50)), after, None, None, "ID")?;
        let kinds = kinds.map(|k| k.into_iter().map(Into::into).collect());
        let query = (self.0.id.uuid(), kinds, OrderDirection::Asc.into());
        listed::<StatementLines, _>(&state(ctx).db, actor.tenant_id, query, &request, CommissionLine).await
    }
    async fn calculated_at(&self) -> Option<DateTime<Utc>> {
        self.0.calculated_at
    }
    async fn confirmed_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        user_of(ctx, self.0.confirmed_by.map(|u| u.uuid())).await
    }
    async fn confirmed_at(&self) -> Option<DateTime<Utc>> {
        self.0.confirmed_at
    }
    async fn paid_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        user_of(ctx, self.0.paid_by.map(|u| u.uuid())).await
    }
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

async fn user_of(ctx: &Context<'_>, user: Option<Uuid>) -> ApiResult<Option<User>> {
    let Some(user) = user else { return Ok(None) };
    Ok(loaders(ctx)?.load_one(UserKey(user)).await?.map(User))
}

/// One line of a statement, traced to what earned it.
pub struct CommissionLine(pub Line);

#[Object]
impl CommissionLine {
    async fn id(&self) -> ID {
        global_id("CommissionLine", self.0.id)
    }
    async fn kind(&self) -> LineKind {
        self.0.kind.into()
    }
    /// Which rule set the amount.
    async fn rule(&self) -> Rule {
        self.0.rule.into()
    }
    async fn plan_id(&self) -> Option<ID> {
        self.0.plan_id.map(|p| global_id(PLAN, p))
    }
    /// The plan, for callers who read plans.
    async fn plan(&self, ctx: &Context<'_>) -> ApiResult<Option<CommissionPlan>> {
        let Some(plan) = self.0.plan_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(super::commission::PlanKey(plan)).await?.map(CommissionPlan))
    }
    async fn contract_id(&self) -> Option<ID> {
        self.0.contract_id.map(|c| global_id(CONTRACT, c))
    }
    /// The contract, when the caller may see it (a rep credited by a split may not).
    async fn contract(&self, ctx: &Context<'_>) -> ApiResult<Option<Contract>> {
        let Some(contract) = self.0.contract_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(ContractKey(contract)).await?.map(Contract))
    }
    async fn receipt_id(&self) -> Option<ID> {
        self.0.receipt_id.map(|r| global_id(RECEIPT, r))
    }
    /// The receipt, when the caller may see it.
    async fn receipt(&self, ctx: &Context<'_>) -> ApiResult<Option<Receipt>> {
        let Some(receipt) = self.0.receipt_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(ReceiptKey(receipt)).await?.map(Receipt))
    }
    async fn category_id(&self) -> Option<ID> {
        self.0.category_id.map(|c| global_id(CATEGORY, c))
    }
    /// The day it was earned: the approval or the receipt.
    async fn earned_on(&self) -> Option<NaiveDate> {
        self.0.earned_on
    }
    /// The rep's share of the contract, in percent.
    async fn share_percent(&self) -> Option<Decimal> {
        self.0.share.map(|s| s.normalize())
    }
    /// What the rule applied to (the plan's base, times the share).
    async fn base(&self) -> Decimal {
        self.0.base.normalize()
    }
    /// In percent, where one rate applies (for progressive tiers: the line's effective rate).
    async fn rate_percent(&self) -> Option<Decimal> {
        self.0.rate.map(|r| r.normalize())
    }
    async fn amount(&self) -> Money {
        Money::cny(self.0.amount)
    }
    /// The line a clawback takes back.
    async fn clawback_of(&self) -> Option<ID> {
        self.0.clawback_of.map(|l| global_id("CommissionLine", l))
    }
    /// An adjustment's reason.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// An adjustment's author.
    async fn author(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        user_of(ctx, self.0.author_id.map(|u| u.uuid())).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Filters statements.
#[derive(InputObject, Default)]
pub struct CommissionStatementFilter {
    /// YYYY-MM.
    pub period: Option<String>,
    pub user_id: Option<ID>,
    pub status: Option<Vec<StatementStatus>>,
}

fn period_of(raw: &str) -> Result<Period, ApiError> {
    Period::parse(raw).map_err(|e| ApiError::BadUserInput(e.message))
}

#[derive(Default)]
pub struct CommissionStatementQuery;

#[Object]
impl CommissionStatementQuery {
    /// A statement by id (`commission.read`, through the commission scope on its rep).
    async fn commission_statement(&self, ctx: &Context<'_>, id: ID) -> ApiResult<CommissionStatement> {
        let found =
            read_by_id::<Statements>(ctx, Permission::CommissionRead, (&id, STATEMENT), statement_scope).await?;
        Ok(CommissionStatement(found))
    }

    /// Statements the caller may see, newest first (`commission.read`): a rep their own,
    /// a manager their department's, finance every one.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn commission_statements(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<CommissionStatementFilter>,
    ) -> ApiResult<Conn<CommissionStatement>> {
        let actor = require(ctx, Permission::CommissionRead)?;
        let f = filter.unwrap_or_default();
        let filter = StatementFilter {
            period: f.period.as_deref().map(period_of).transpose()?.map(|p| p.to_string()),
            user_id: f.user_id.as_ref().map(|u| expect_id(u, USER)).transpose()?,
            status: f.status.map(|s| s.into_iter().map(Into::into).collect()),
        };
        let request = page_request(first, after, None, None, "CREATED_AT")?;
        let query = (statement_scope(actor), filter, OrderDirection::Desc.into());
        listed::<Statements, _>(&state(ctx).db, actor.tenant_id, query, &request, CommissionStatement).await
    }

    /// The caller's own statement of a month (this month when absent), or null before it
    /// is calculated. Every staff user may read their own.
    async fn my_commission(&self, ctx: &Context<'_>, period: Option<String>) -> ApiResult<Option<CommissionStatement>> {
        let actor = actor(ctx)?;
        let period = match period {
            Some(raw) => period_of(&raw)?,
            None => Period::of(guanxi_domain::customers::customer::shanghai_date(Utc::now())),
        };
        let conn = state(ctx).db.connection();
        let found = guanxi_store::finance::commission_statement::mine(
            conn,
            actor.tenant_id,
            actor.user_id,
            &period.to_string(),
        )
        .await?;
        Ok(found.map(CommissionStatement))
    }
}

#[derive(InputObject)]
pub struct CalculateCommissionsInput {
    /// The month, YYYY-MM.
    pub period: String,
}

/// What a calculation did.
#[derive(SimpleObject)]
pub struct CalculateCommissionsPayload {
    period: Option<String>,
    /// Draft statements of the month after the run.
    statements: i64,
    lines: i64,
    clawbacks: i64,
    /// Reps whose statement of the month was already confirmed or paid, left alone.
    locked: i64,
    total: Option<Money>,
    user_errors: Vec<UserError>,
}

impl From<Result<Calculated, Vec<UserError>>> for CalculateCommissionsPayload {
    fn from(result: Result<Calculated, Vec<UserError>>) -> Self {
        match result {
            Ok(c) => Self {
                period: Some(c.period),
                statements: c.statements,
                lines: c.lines,
                clawbacks: c.clawbacks,
                locked: c.locked,
                total: Some(Money::cny(c.total)),
                user_errors: vec![],
            },
            Err(user_errors) => {
                Self { period: None, statements: 0, lines: 0, clawbacks: 0, locked: 0, total: None, user_errors }
            }
        }
    }
}

#[derive(InputObject)]
pub struct AdjustCommissionInput {
    /// A DRAFT statement.
    pub statement_id: ID,
    pub expected_version: i32,
    /// Up (positive) or down (negative), to the fen.
    pub amount: Decimal,
    pub reason: String,
}

#[derive(InputObject)]
pub struct CommissionStatementMoveInput {
    pub id: ID,
    pub expected_version: i32,
}

crate::graphql::error::payload! {
    CommissionStatementPayload, statement: CommissionStatement(Statement)
}

#[derive(Default)]
pub struct CommissionStatementMutation;

#[Object]
impl CommissionStatementMutation {
    /// Calculates a month's commissions (`commission.manage`): replaces the DRAFT
    /// statements' computed lines, never touches a CONFIRMED one, and claws back, in this
    /// month, confirmed lines whose receipt was reversed or contract voided. Idempotent:
    /// running it again gives the same statements. While one replica runs a month, another
    /// asking for it gets a CONFLICT.
    async fn calculate_commissions(
        &self,
        ctx: &Context<'_>,
        input: CalculateCommissionsInput,
    ) -> ApiResult<CalculateCommissionsPayload> {
        let actor = require(ctx, Permission::CommissionManage)?;
        let period = match Period::parse(&input.period) {
            Ok(p) => p,
            Err(e) => return Ok(Err(vec![UserError::new("period", e.code, e.message)]).into()),
        };
        let (db, author, tenant) = (state(ctx).db.clone(), author(ctx, actor), actor.tenant_id);
        // Spawned, so a client that hangs up does not leave the month's lease held.
        let run = tokio::spawn(async move { calculate_leased(db, author, tenant, period).await });
        match run.await.map_err(ApiError::internal)? {
            Ok(Some(done)) => Ok(Ok(done).into()),
            Ok(None) => {
                let message = format!("a calculation of {period} is under way: try again when it ends");
                Ok(Err(vec![UserError::new("period", guanxi_domain::ErrorCode::Conflict, message)]).into())
            }
            Err(error) => Ok(crate::graphql::error::outcome::<Calculated>(Err(error))?.into()),
        }
    }

    /// Adds an adjustment to a DRAFT statement, with a reason (`commission.manage`). The
    /// statement's version makes a retry safe: a replay at the old version is a
    /// VERSION_CONFLICT, never a second line.
    async fn adjust_commission(
        &self,
        ctx: &Context<'_>,
        input: AdjustCommissionInput,
    ) -> ApiResult<CommissionStatementPayload> {
        let (version, change) = (input.expected_version, (input.amount, input.reason.clone()));
        let id = (&input.statement_id, STATEMENT);
        write_by_id(ctx, Permission::CommissionManage, id, statement_scope, move |tx, author, scope, id| {
            Box::pin(async move {
                guanxi_store::finance::commission_statement::adjust(tx, &author, scope, (id, version), change).await
            })
        })
        .await
    }

    /// Confirms a DRAFT statement (`commission.manage`): nothing rewrites it afterwards.
    async fn confirm_commission_statement(
        &self,
        ctx: &Context<'_>,
        input: CommissionStatementMoveInput,
    ) -> ApiResult<CommissionStatementPayload> {
        advance(ctx, input, DomainStatus::Confirmed).await
    }

    /// Marks a CONFIRMED statement paid (`commission.manage`).
    async fn mark_commission_statement_paid(
        &self,
        ctx: &Context<'_>,
        input: CommissionStatementMoveInput,
    ) -> ApiResult<CommissionStatementPayload> {
        advance(ctx, input, DomainStatus::Paid).await
    }
}

/// Runs a month's calculation under its lease (`None` when another replica holds it), in
/// one tenant write transaction.
async fn calculate_leased(
    db: guanxi_store::Database,
    author: guanxi_store::platform::audit::Author,
    tenant: guanxi_domain::ids::TenantId,
    period: Period,
) -> guanxi_store::StoreResult<Option<Calculated>> {
    let writes = (tenant, crate::jobs::Writes::Records);
    crate::jobs::leased(db, writes, &crate::jobs::commissions_lease(period), move |tx| {
        Box::pin(async move { guanxi_store::finance::commission_run::calculate(tx, &author, period).await })
    })
    .await
}

async fn advance(
    ctx: &Context<'_>,
    input: CommissionStatementMoveInput,
    to: DomainStatus,
) -> ApiResult<CommissionStatementPayload> {
    let version = input.expected_version;
    let id = (&input.id, STATEMENT);
    write_by_id(ctx, Permission::CommissionManage, id, statement_scope, move |tx, author, scope, id| {
        Box::pin(async move {
            guanxi_store::finance::commission_statement::advance(tx, &author, scope, (id, version), to).await
        })
    })
    .await
}
