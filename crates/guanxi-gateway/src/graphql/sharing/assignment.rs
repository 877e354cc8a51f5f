//! Assignment rules (分配规则) over GraphQL: `assignmentRules`, their create, update and
//! delete (`settings.manage`), and what each member received in the last 24 hours (one
//! loader statement for a page of rules). `createCustomer(input: {assignByRules: true})`
//! gives the new customer to whoever the rules pick.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::ids::UserId;
use guanxi_domain::platform::access::Permission;
use guanxi_domain::sharing::assignment::{
    AssignmentMode as DomainMode, AssignmentRule as DomainRule, AssignmentSubject as DomainSubject, Conditions,
    RuleMember, RuleSettings,
};
use guanxi_store::sharing::assignment as store;
use uuid::Uuid;

use crate::graphql::context::{author, require, state};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::finance::approval::{Participant, participant};
use crate::graphql::loaders::ScopedLoader;
use crate::graphql::mutation::transact;
use crate::graphql::platform::org::USER;
use crate::graphql::platform::org_mutation::VersionedIdInput;
use crate::graphql::relay::{global_id, input_id};
use crate::graphql::trade::document::loaders;

pub const RULE: &str = guanxi_domain::entity::EntityKind::AssignmentRule.name();

/// How a rule chooses among its members.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainMode")]
pub enum AssignmentMode {
    /// In turn, over every member who has not opted out.
    RoundRobin,
    /// In turn, for the arrivals its conditions match (it must name some).
    ByRule,
    /// To the member with the most of today's quota left: round(capacity / 30) minus what
    /// they received from the rule in the last 24 hours.
    Capacity,
}

/// What a rule hands out.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainSubject")]
pub enum AssignmentSubject {
    /// New customers without an owner.
    Customers,
    /// New leads without an owner.
    Leads,
}

/// What an arrival must match; an empty list matches anything.
#[derive(SimpleObject, InputObject, Clone, Default)]
#[graphql(input_name = "AssignmentConditionsInput")]
pub struct AssignmentConditions {
    /// The customer's region (or, without one, its province).
    #[graphql(default)]
    pub regions: Vec<String>,
    #[graphql(default)]
    pub industries: Vec<String>,
    #[graphql(default)]
    pub sources: Vec<String>,
    /// Customer levels (a lead has none, so a rule naming levels takes no leads).
    #[graphql(default)]
    pub levels: Vec<String>,
}

impl From<&Conditions> for AssignmentConditions {
    fn from(c: &Conditions) -> Self {
        Self {
            regions: c.regions.clone(),
            industries: c.industries.clone(),
            sources: c.sources.clone(),
            levels: c.levels.clone(),
        }
    }
}

impl From<&AssignmentConditions> for Conditions {
    fn from(c: &AssignmentConditions) -> Self {
        Self {
            regions: c.regions.clone(),
            industries: c.industries.clone(),
            sources: c.sources.clone(),
            levels: c.levels.clone(),
        }
    }
}

/// An assignment rule. Rules are tried by ascending priority; the first active one that
/// matches and has a member to give to takes the customer.
pub struct AssignmentRule(pub DomainRule);

/// One member of a rule.
pub struct AssignmentMember {
    rule: Uuid,
    member: RuleMember,
}

#[Object]
impl AssignmentMember {
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<Participant>> {
        participant(ctx, Some(self.member.user_id)).await
    }
    /// Customers a 30 days (CAPACITY rules).
    async fn capacity(&self) -> i32 {
        self.member.capacity
    }
    async fn opted_out(&self) -> bool {
        self.member.opted_out
    }
    /// round(capacity / 30).
    async fn daily_quota(&self) -> i64 {
        self.member.daily_quota()
    }
    /// What the rule gave them in the last 24 hours.
    #[graphql(name = "receivedLast24h")]
    async fn received_last_24h(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        let counts = loaders(ctx)?.load_one(ReceivedKey(self.rule)).await?.unwrap_or_default();
        Ok(counts.get(&self.member.user_id.uuid()).copied().unwrap_or(0))
    }
}

/// What the members of one rule received in the last 24 hours.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReceivedKey(pub Uuid);

impl Loader<ReceivedKey> for ScopedLoader {
    type Value = HashMap<Uuid, i64>;
    type Error = ApiError;

    async fn load(&self, keys: &[ReceivedKey]) -> Result<HashMap<ReceivedKey, Self::Value>, ApiError> {
        let rules: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let counts = store::received_last_day(self.db.connection(), self.actor.tenant_id, &rules).await?;
        let mut out: HashMap<ReceivedKey, Self::Value> = keys.iter().map(|k| (*k, HashMap::new())).collect();
        for ((rule, user), n) in counts {
            out.entry(ReceivedKey(rule)).or_default().insert(user, n);
        }
        Ok(out)
    }
}

#[Object]
impl AssignmentRule {
    async fn id(&self) -> ID {
        global_id(RULE, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.settings.name
    }
    async fn priority(&self) -> i32 {
        self.0.settings.priority
    }
    async fn mode(&self) -> AssignmentMode {
        self.0.settings.mode.into()
    }
    async fn applies_to(&self) -> AssignmentSubject {
        self.0.settings.applies_to.into()
    }
    async fn conditions(&self) -> AssignmentConditions {
        (&self.0.settings.conditions).into()
    }
    async fn members(&self) -> Vec<AssignmentMember> {
        self.0.settings.members.iter().map(|m| AssignmentMember { rule: self.0.id, member: *m }).collect()
    }
    async fn active(&self) -> bool {
        self.0.settings.active
    }
    /// How many arrivals the rule has taken a turn for.
    async fn turns(&self) -> i64 {
        self.0.turns
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

#[derive(InputObject)]
pub struct AssignmentMemberInput {
    pub user_id: ID,
    /// Customers a 30 days; required (15–100,000: at least one a day) in a CAPACITY rule.
    #[graphql(default)]
    pub capacity: i32,
    #[graphql(default)]
    pub opted_out: bool,
}

/// A rule's settings (the whole of them, on update too).
#[derive(InputObject)]
pub struct AssignmentRuleInput {
    pub name: String,
    /// What the rule hands out: customers unless said.
    #[graphql(default_with = "AssignmentSubject::Customers")]
    pub applies_to: AssignmentSubject,
    /// Lower goes first.
    #[graphql(default)]
    pub priority: i32,
    pub mode: AssignmentMode,
    #[graphql(default)]
    pub conditions: AssignmentConditions,
    /// In the order they take turns (and win ties).
    pub members: Vec<AssignmentMemberInput>,
    #[graphql(default = true)]
    pub active: bool,
}

impl AssignmentRuleInput {
    fn to_settings(&self) -> Result<RuleSettings, Vec<UserError>> {
        let mut errors = Vec::new();
        let members = self
            .members
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let user =
                    input_id(&format!("members.{i}.userId"), &m.user_id, USER).map_err(|e| errors.push(e)).ok()?;
                Some(RuleMember { user_id: UserId::from_uuid(user), capacity: m.capacity, opted_out: m.opted_out })
            })
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(RuleSettings {
            name: self.name.clone(),
            applies_to: self.applies_to.into(),
            priority: self.priority,
            mode: self.mode.into(),
            conditions: (&self.conditions).into(),
            members,
            active: self.active,
        })
    }
}

#[derive(InputObject)]
pub struct UpdateAssignmentRuleInput {
    pub id: ID,
    pub expected_version: i32,
    pub rule: AssignmentRuleInput,
}

crate::graphql::error::payload! {
    AssignmentRulePayload, rule: AssignmentRule(DomainRule)
}

#[derive(Default)]
pub struct AssignmentQuery;

#[Object]
impl AssignmentQuery {
    /// The tenant's assignment rules in the order they are tried (`settings.manage`).
    async fn assignment_rules(&self, ctx: &Context<'_>) -> ApiResult<Vec<AssignmentRule>> {
        let actor = require(ctx, Permission::SettingsManage)?;
        let rules = store::all(state(ctx).db.connection(), actor.tenant_id).await?;
        Ok(rules.into_iter().map(AssignmentRule).collect())
    }
}

#[derive(Default)]
pub struct AssignmentMutation;

#[Object]
impl AssignmentMutation {
    /// Adds an assignment rule (`settings.manage`): members must be active users.
    async fn create_assignment_rule(
        &self,
        ctx: &Context<'_>,
        input: AssignmentRuleInput,
    ) -> ApiResult<AssignmentRulePayload> {
        let actor = require(ctx, Permission::SettingsManage)?;
        let settings = match input.to_settings() {
            Ok(s) => s,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let author = author(ctx, actor);
        let result =
            transact(ctx, move |tx| Box::pin(async move { store::create(tx, &author, settings).await })).await?;
        Ok(result.into())
    }

    /// Replaces a rule's settings at the expected version; its turn counter stays.
    async fn update_assignment_rule(
        &self,
        ctx: &Context<'_>,
        input: UpdateAssignmentRuleInput,
    ) -> ApiResult<AssignmentRulePayload> {
        let actor = require(ctx, Permission::SettingsManage)?;
        let (id, settings) = match (input_id("id", &input.id, RULE), input.rule.to_settings()) {
            (Ok(id), Ok(settings)) => (id, settings),
            (a, b) => return Ok(Err(a.err().into_iter().chain(b.err().into_iter().flatten()).collect()).into()),
        };
        let (author, expected) = (author(ctx, actor), input.expected_version);
        let result =
            transact(ctx, move |tx| Box::pin(async move { store::update(tx, &author, id, expected, settings).await }))
                .await?;
        Ok(result.into())
    }

    /// Deletes a rule at the expected version (the customers it gave keep their owners).
    async fn delete_assignment_rule(
        &self,
        ctx: &Context<'_>,
        input: VersionedIdInput,
    ) -> ApiResult<AssignmentRulePayload> {
        let actor = require(ctx, Permission::SettingsManage)?;
        let id = match input_id("id", &input.id, RULE) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let (author, expected) = (author(ctx, actor), input.expected_version);
        let result =
            transact(ctx, move |tx| Box::pin(async move { store::delete(tx, &author, id, expected).await })).await?;
        Ok(result.into())
    }
}
