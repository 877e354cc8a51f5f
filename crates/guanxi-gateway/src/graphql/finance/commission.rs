//! Commission plans (佣金方案) over GraphQL: who a plan covers, when and on what it pays,
//! its rates, tiers, bonus and formula; a preview of what it pays on a sample; and a
//! contract's split between reps (业绩分配).

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::finance::commission::{
    Band, BaseAmount as DomainBase, Calculator, CategoryRate, Credit, EarnedOn as DomainEarnedOn, Member,
    MemberKind as DomainMemberKind, Plan, PlanFields, PlanRules, Rule as DomainRule, TierShape as DomainShape, Tiers,
};
use guanxi_domain::finance::formula::VARIABLES;
use guanxi_domain::ids::UserId;
use guanxi_domain::platform::access::Permission;
use guanxi_store::finance::commission::{PlanFilter, Plans, Share};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::contract::{CONTRACT, contract_owner_scope};
use crate::graphql::context::{author, require, state};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{ScopedLoader, UserKey};
use crate::graphql::mutation::{Idempotent, reload_scoped, transact, write, write_by_id};
use crate::graphql::platform::org::{DEPARTMENT, ROLE, USER, User};
use crate::graphql::relay::{Conn, global_id, input_id, listed, page_request, read_by_id};
use crate::graphql::shared::OrderDirection;
use crate::graphql::trade::document::loaders;
use crate::graphql::trade::product::CATEGORY;

pub const PLAN: &str = EntityKind::CommissionPlan.name();

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainEarnedOn", name = "CommissionEarnedOn")]
pub enum EarnedOn {
    /// 签约: when the contract is approved.
    Signing,
    /// 回款: in proportion to approved money received.
    Receipt,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainBase", name = "CommissionBase")]
pub enum BaseAmount {
    /// 含税金额
    Gross,
    /// 毛利: less tax and, where the cost price is known, less cost.
    Net,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainShape")]
pub enum TierShape {
    /// 超额累进: each band at its own rate.
    Progressive,
    /// 全额累进: the band reached sets the rate for the whole amount.
    Whole,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainMemberKind", name = "CommissionMemberKind")]
pub enum MemberKind {
    User,
    /// A department and its sub-departments.
    Department,
    Role,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainRule", name = "CommissionRule")]
pub enum Rule {
    /// 品类提成比例
    Category,
    /// 阶梯提成
    Tier,
    /// 统一提成比例
    Rate,
    /// 公式
    Formula,
    /// 新客户奖励
    Bonus,
    /// 追回
    Clawback,
    /// 手工调整
    Manual,
}

/// A band of tiers.
#[derive(SimpleObject, InputObject, Clone, Serialize)]
#[graphql(input_name = "CommissionBandInput")]
pub struct CommissionBand {
    /// Where the band starts (yuan, inclusive); the first starts at 0.
    pub from: Decimal,
    /// In percent.
    pub rate_percent: Decimal,
}

/// Tiers by the rep's amount in the month.
#[derive(SimpleObject, InputObject, Clone, Serialize)]
#[graphql(input_name = "CommissionTiersInput")]
pub struct CommissionTiers {
    pub shape: TierShape,
    pub bands: Vec<CommissionBand>,
}

/// A rate for one product category (and its sub-categories without their own).
pub struct CommissionCategoryRate(CategoryRate);

#[Object]
impl CommissionCategoryRate {
    async fn category_id(&self) -> ID {
        global_id(CATEGORY, self.0.category_id)
    }
    async fn rate_percent(&self) -> Decimal {
        self.0.rate
    }
}

/// Whom a plan covers.
pub struct CommissionPlanMember(Member);

#[Object]
impl CommissionPlanMember {
    async fn kind(&self) -> MemberKind {
        self.0.kind.into()
    }
    /// The user's, department's or role's id.
    async fn id(&self) -> ID {
        global_id(member_kind_name(self.0.kind), self.0.id)
    }
}

fn member_kind_name(kind: DomainMemberKind) -> &'static str {
    match kind {
        DomainMemberKind::User => USER,
        DomainMemberKind::Department => DEPARTMENT,
        DomainMemberKind::Role => ROLE,
    }
}

/// A commission plan (佣金方案).
pub struct CommissionPlan(pub Plan);

#[Object]
impl CommissionPlan {
    pub async fn id(&self) -> ID {
        global_id(PLAN, self.0.id.uuid())
    }
    async fn name(&self) -> &str {
        &self.0.fields.name
    }
    async fn earned_on(&self) -> EarnedOn {
        self.0.fields.earned_on.into()
    }
    async fn base(&self) -> BaseAmount {
        self.0.fields.base.into()
    }
    /// The flat rate in percent, for what no category rate or tier covers.
    async fn rate_percent(&self) -> Decimal {
        self.0.fields.rules.rate
    }
    async fn category_rates(&self) -> Vec<CommissionCategoryRate> {
        self.0.fields.rules.category_rates.iter().cloned().map(CommissionCategoryRate).collect()
    }
    async fn tiers(&self) -> Option<CommissionTiers> {
        self.0.fields.rules.tiers.as_ref().map(|t| CommissionTiers {
            shape: t.shape.into(),
            bands: t.bands.iter().map(|b| CommissionBand { from: b.from, rate_percent: b.rate }).collect(),
        })
    }
    /// Paid once for a new customer's first contract, to its owner.
    async fn new_customer_bonus(&self) -> Option<Decimal> {
        self.0.fields.rules.new_customer_bonus
    }
    /// Replaces the rates and tiers when set; see `commissionFormulaVariables`.
    async fn formula(&self) -> Option<&str> {
        self.0.fields.rules.formula.as_deref()
    }
    async fn members(&self) -> Vec<CommissionPlanMember> {
        self.0.fields.members.iter().copied().map(CommissionPlanMember).collect()
    }
    async fn effective_from(&self) -> NaiveDate {
        self.0.fields.effective_from
    }
    /// The last day it applies; open-ended when null.
    async fn effective_to(&self) -> Option<NaiveDate> {
        self.0.fields.effective_to
    }
    async fn active(&self) -> bool {
        self.0.fields.active
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

/// A plan by id, for the lines that name it (`commission.read`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlanKey(pub Uuid);

impl Loader<PlanKey> for ScopedLoader {
    type Value = Plan;
    type Error = ApiError;

    async fn load(&self, keys: &[PlanKey]) -> Result<HashMap<PlanKey, Plan>, ApiError> {
        if !self.actor.may(Permission::CommissionRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found =
            guanxi_store::finance::commission::by_ids(self.db.connection(), self.actor.tenant_id, (), &ids).await?;
        Ok(found.into_iter().map(|p| (PlanKey(p.id.uuid()), p)).collect())
    }
}

/// A name a formula may read.
#[derive(SimpleObject)]
pub struct FormulaVariable {
    name: &'static str,
    /// NUMBER or TEXT.
    kind: &'static str,
    description: &'static str,
}

/// A sample to preview a plan on.
#[derive(InputObject)]
pub struct CommissionSampleInput {
    /// The credited amount, tax included.
    pub amount: Decimal,
    /// Less tax; the amount when absent.
    pub net: Option<Decimal>,
    /// The cost, where known.
    pub cost: Option<Decimal>,
    pub received: Option<Decimal>,
    pub category_id: Option<ID>,
    /// The rep's whole base in the month with this sample (for tiers); the sample's own
    /// base when absent.
    pub month_total: Option<Decimal>,
}

/// One step of a preview.
#[derive(SimpleObject)]
pub struct CommissionStep {
    expression: String,
    value: String,
}

/// What a plan pays on a sample, and how.
#[derive(SimpleObject)]
pub struct CommissionPreview {
    rule: Rule,
    base: Decimal,
    rate_percent: Option<Decimal>,
    /// Rounded to the fen.
    commission: Decimal,
    steps: Vec<CommissionStep>,
}

/// Filters plans.
#[derive(InputObject, Default)]
pub struct CommissionPlanFilter {
    /// Active and in effect on this day.
    pub applies_on: Option<NaiveDate>,
    pub deleted: Option<bool>,
}

/// One rep's share of a contract's credit.
pub struct CommissionShare(pub Share);

#[Object]
impl CommissionShare {
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        Ok(loaders(ctx)?.load_one(UserKey(self.0.user_id.uuid())).await?.map(User))
    }
    async fn user_id(&self) -> ID {
        global_id(USER, self.0.user_id.uuid())
    }
    async fn percent(&self) -> Decimal {
        self.0.percent
    }
}

#[derive(Default)]
pub struct CommissionPlanQuery;

#[Object]
impl CommissionPlanQuery {
    /// A commission plan by id (`commission.read`).
    async fn commission_plan(&self, ctx: &Context<'_>, id: ID) -> ApiResult<CommissionPlan> {
        Ok(CommissionPlan(read_by_id::<Plans>(ctx, Permission::CommissionRead, (&id, PLAN), |_| ()).await?))
    }

    /// Commission plans, newest first (`commission.read`).
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn commission_plans(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<CommissionPlanFilter>,
    ) -> ApiResult<Conn<CommissionPlan>> {
        let actor = require(ctx, Permission::CommissionRead)?;
        let f = filter.unwrap_or_default();
        let request = page_request(first, after, None, None, "CREATED_AT")?;
        let query = ((), PlanFilter { applies_on: f.applies_on, deleted: f.deleted }, OrderDirection::Desc.into());
        listed::<Plans, _>(&state(ctx).db, actor.tenant_id, query, &request, CommissionPlan).await
    }

    /// The names a plan's formula may read.
    async fn commission_formula_variables(&self, ctx: &Context<'_>) -> ApiResult<Vec<FormulaVariable>> {
        crate::graphql::context::actor(ctx)?;
        Ok(VARIABLES
            .iter()
            .map(|(name, kind, description)| FormulaVariable {
                name,
                kind: if *kind == guanxi_domain::finance::formula::Type::Text { "TEXT" } else { "NUMBER" },
                description,
            })
            .collect())
    }

    /// What a plan pays on a sample, with each step (`commission.read`).
    async fn preview_commission(
        &self,
        ctx: &Context<'_>,
        plan_id: ID,
        sample: CommissionSampleInput,
    ) -> ApiResult<CommissionPreview> {
        let plan = read_by_id::<Plans>(ctx, Permission::CommissionRead, (&plan_id, PLAN), |_| ()).await?;
        let categories = match &sample.category_id {
            Some(id) => {
                let id = crate::graphql::relay::expect_id(id, CATEGORY)?;
                let actor = require(ctx, Permission::CommissionRead)?;
                let all = guanxi_store::trade::product::categories(state(ctx).db.connection(), actor.tenant_id).await?;
                let lineage = guanxi_domain::trade::product::lineage(&all, id.into());
                let chain = lineage.into_iter().map(|c| c.uuid()).collect();
                let name = all.iter().find(|c| c.id.uuid() == id).map(|c| c.name.clone()).unwrap_or_default();
                (chain, name)
            }
            None => (vec![], String::new()),
        };
        let limit = Decimal::from(guanxi_domain::finance::contract::MAX_AMOUNT);
        let figures = [Some(sample.amount), sample.net, sample.cost, sample.received, sample.month_total];
        if figures.into_iter().flatten().any(|f| f.abs() > limit) {
            return Err(ApiError::BadUserInput("sample amounts go up to one trillion yuan".into()));
        }
        let net = sample.net.unwrap_or(sample.amount);
        let credit = Credit {
            day: plan.fields.effective_from,
            order: Uuid::nil(),
            gross: sample.amount,
            net,
            margin: sample.cost.map_or(net, |c| net - c),
            received: sample.received.unwrap_or_default(),
            categories: categories.0,
            category_name: categories.1,
        };
        let bad = |e: guanxi_domain::finance::formula::FormulaError| ApiError::BadUserInput(e.to_string());
        let calculator = Calculator::new(&plan.fields).map_err(bad)?;
        let base = match plan.fields.base {
            DomainBase::Gross => credit.gross,
            DomainBase::Net => credit.margin,
        };
        let (earned, steps) = calculator.preview(&credit, sample.month_total.unwrap_or(base)).map_err(bad)?;
        Ok(CommissionPreview {
            rule: earned.rule.into(),
            base: earned.base.normalize(),
            rate_percent: earned.rate.map(|r| r.normalize()),
            commission: earned.amount.normalize(),
            steps: steps.into_iter().map(|s| CommissionStep { expression: s.expression, value: s.value }).collect(),
        })
    }

    /// How a contract credits its reps (`contract.read`); empty: all to its owner.
    async fn commission_split(&self, ctx: &Context<'_>, contract_id: ID) -> ApiResult<Vec<CommissionShare>> {
        let contract = read_by_id::<guanxi_store::finance::contract::Contracts>(
            ctx,
            Permission::ContractRead,
            (&contract_id, CONTRACT),
            contract_owner_scope,
        )
        .await?;
        let id = contract.id.uuid();
        let conn = state(ctx).db.connection();
        let actor = require(ctx, Permission::ContractRead)?;
        let mut found = guanxi_store::finance::commission::splits_of(conn, actor.tenant_id, &[id]).await?;
        Ok(found.remove(&id).unwrap_or_default().into_iter().map(CommissionShare).collect())
    }
}

/// A plan member in an input.
#[derive(InputObject, Serialize)]
pub struct CommissionMemberInput {
    pub kind: MemberKind,
    /// A user, department or role id, as `kind` says.
    pub id: ID,
}

/// A category rate in an input.
#[derive(InputObject, Serialize)]
pub struct CommissionCategoryRateInput {
    pub category_id: ID,
    pub rate_percent: Decimal,
}

#[derive(InputObject, Serialize)]
pub struct CommissionPlanInput {
    pub name: String,
    pub earned_on: EarnedOn,
    #[graphql(default_with = "BaseAmount::Gross")]
    pub base: BaseAmount,
    /// In percent.
    #[graphql(default)]
    pub rate_percent: Decimal,
    #[graphql(default)]
    pub category_rates: Vec<CommissionCategoryRateInput>,
    pub tiers: Option<CommissionTiers>,
    pub new_customer_bonus: Option<Decimal>,
    pub formula: Option<String>,
    pub members: Vec<CommissionMemberInput>,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    #[graphql(default = true)]
    pub active: bool,
}

impl CommissionPlanInput {
    fn to_domain(&self) -> Result<PlanFields, Vec<UserError>> {
        let mut errors = Vec::new();
        let mut members = Vec::new();
        for (i, m) in self.members.iter().enumerate() {
            match input_id(&format!("members.{i}.id"), &m.id, member_kind_name(m.kind.into())) {
                Ok(id) => members.push(Member { kind: m.kind.into(), id }),
                Err(e) => errors.push(e),
            }
        }
        let mut category_rates = Vec::new();
        for (i, c) in self.category_rates.iter().enumerate() {
            match input_id(&format!("categoryRates.{i}.categoryId"), &c.category_id, CATEGORY) {
                Ok(id) => category_rates.push(CategoryRate { category_id: id, rate: c.rate_percent }),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PlanFields {
            name: self.name.clone(),
            earned_on: self.earned_on.into(),
            base: self.base.into(),
            rules: PlanRules {
                rate: self.rate_percent,
                category_rates,
                tiers: self.tiers.as_ref().map(|t| Tiers {
                    shape: t.shape.into(),
                    bands: t.bands.iter().map(|b| Band { from: b.from, rate: b.rate_percent }).collect(),
                }),
                new_customer_bonus: self.new_customer_bonus,
                formula: self.formula.clone(),
            },
            members,
            effective_from: self.effective_from,
            effective_to: self.effective_to,
            active: self.active,
        })
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateCommissionPlanInput {
    pub plan: CommissionPlanInput,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateCommissionPlanInput {
    pub id: ID,
    pub expected_version: i32,
    pub plan: CommissionPlanInput,
}

#[derive(InputObject)]
pub struct DeleteCommissionPlanInput {
    pub id: ID,
    pub expected_version: i32,
}

/// One share of a split in an input.
#[derive(InputObject)]
pub struct CommissionShareInput {
    pub user_id: ID,
    /// In percent, up to 2 places; the shares add up to 100.
    pub percent: Decimal,
}

#[derive(InputObject)]
pub struct SetCommissionSplitInput {
    pub contract_id: ID,
    /// The contract's version; setting the split moves it.
    pub expected_version: i32,
    /// Empty: all to the contract's owner.
    pub shares: Vec<CommissionShareInput>,
}

crate::graphql::error::payload! {
    CommissionPlanPayload, plan: CommissionPlan(Plan)
}

/// The result of setting a split.
#[derive(SimpleObject)]
pub struct CommissionSplitPayload {
    shares: Option<Vec<CommissionShare>>,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct CommissionPlanMutation;

#[Object]
impl CommissionPlanMutation {
    /// Saves a commission plan (`commission.manage`). A rep it would put under two plans
    /// on one day is a CONFLICT on `members`; a formula's mistake comes back on
    /// `rules.formula` with its position.
    async fn create_commission_plan(
        &self,
        ctx: &Context<'_>,
        input: CreateCommissionPlanInput,
    ) -> ApiResult<CommissionPlanPayload> {
        let actor = require(ctx, Permission::CommissionManage)?.clone();
        let fields = match input.plan.to_domain() {
            Ok(f) => f,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let (author, tenant) = (author(ctx, &actor), actor.tenant_id);
        let idempotent = Idempotent::new(&actor, "createCommissionPlan", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let created = guanxi_store::finance::commission::create(tx, &author, fields).await?;
                    Ok((created.id.uuid(), created))
                })
            },
            reload_scoped::<Plans>(tenant, ()),
        )
        .await?;
        Ok(result.into())
    }

    /// Rewrites a plan (`commission.manage`); confirmed statements keep what they were
    /// calculated with.
    async fn update_commission_plan(
        &self,
        ctx: &Context<'_>,
        input: UpdateCommissionPlanInput,
    ) -> ApiResult<CommissionPlanPayload> {
        let fields = match input.plan.to_domain() {
            Ok(f) => f,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let version = input.expected_version;
        write_by_id(
            ctx,
            Permission::CommissionManage,
            (&input.id, PLAN),
            |_| (),
            move |tx, author, (), id| {
                Box::pin(
                    async move { guanxi_store::finance::commission::update(tx, &author, (id, version), fields).await },
                )
            },
        )
        .await
    }

    /// Moves a plan to the recycle bin (`commission.manage`); lines already calculated
    /// keep naming it.
    async fn delete_commission_plan(
        &self,
        ctx: &Context<'_>,
        input: DeleteCommissionPlanInput,
    ) -> ApiResult<CommissionPlanPayload> {
        let version = input.expected_version;
        write_by_id(
            ctx,
            Permission::CommissionManage,
            (&input.id, PLAN),
            |_| (),
            move |tx, author, (), id| {
                Box::pin(async move { guanxi_store::repo::delete::<Plans, _>(tx, &author, (), id, version).await })
            },
        )
        .await
    }

    /// Sets how a contract credits its reps (业绩分配; `contract.write` on the contract).
    async fn set_commission_split(
        &self,
        ctx: &Context<'_>,
        input: SetCommissionSplitInput,
    ) -> ApiResult<CommissionSplitPayload> {
        let actor = require(ctx, Permission::ContractWrite)?;
        let failed = |errors| Ok(CommissionSplitPayload { shares: None, user_errors: errors });
        let contract = match input_id("contractId", &input.contract_id, CONTRACT) {
            Ok(id) => id,
            Err(e) => return failed(vec![e]),
        };
        let mut shares = Vec::new();
        for (i, share) in input.shares.iter().enumerate() {
            match input_id(&format!("shares.{i}.userId"), &share.user_id, USER) {
                Ok(user) => shares.push((UserId::from_uuid(user), share.percent)),
                Err(e) => return failed(vec![e]),
            }
        }
        let scope = (contract_owner_scope(actor), actor.may(Permission::CommissionManage));
        let (author, version) = (author(ctx, actor), input.expected_version);
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::finance::commission::set_split(tx, &author, scope, (contract, version), shares).await
            })
        })
        .await?;
        Ok(match result {
            Ok(found) => CommissionSplitPayload {
                shares: Some(found.into_iter().map(CommissionShare).collect()),
                user_errors: vec![],
            },
            Err(errors) => CommissionSplitPayload { shares: None, user_errors: errors },
        })
    }
}
