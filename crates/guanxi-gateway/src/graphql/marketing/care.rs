//! Care plans (客户关怀计划): `createCarePlan` puts a visit or a call for every customer of
//! a segment (levels, statuses) that the caller sees into the customer's owner's calendar,
//! spread over the plan's days; `carePlans` and `carePlan` read plans back with their
//! progress (their tasks by status, as far as the caller's `TASK` scope shows them).
//! Planning needs `care.plan`.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::activity::calendar::EventKind;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::marketing::care::{CarePlan as DomainPlan, CarePlanFields, Segment};
use guanxi_domain::platform::access::{Module, Permission};
use guanxi_store::marketing::care::{CarePlans, Progress};
use guanxi_store::page::Direction;
use serde::Serialize;
use uuid::Uuid;

use crate::graphql::context::{author, require, state};
use crate::graphql::customers::customer::CustomerStatus;
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::finance::approval::{Participant, participant};
use crate::graphql::loaders::ScopedLoader;
use crate::graphql::mutation::{Idempotent, reload_scoped, write};
use crate::graphql::relay::{Conn, global_id, listed, page_request, read_by_id};
use crate::graphql::trade::document::loaders;

pub const CARE_PLAN: &str = EntityKind::CarePlan.name();

/// What a care task is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
pub enum CareKind {
    /// 关怀拜访
    Visit,
    /// 关怀电话
    Call,
}

impl From<CareKind> for EventKind {
    fn from(k: CareKind) -> Self {
        match k {
            CareKind::Visit => EventKind::Visit,
            CareKind::Call => EventKind::Call,
        }
    }
}

/// Which customers a plan cares for.
#[derive(SimpleObject)]
pub struct CareSegment {
    levels: Vec<String>,
    statuses: Vec<CustomerStatus>,
}

/// A plan's tasks the caller sees, by status.
#[derive(SimpleObject)]
pub struct CareProgress {
    planned: i64,
    done: i64,
    cancelled: i64,
}

/// A care plan (客户关怀计划).
pub struct CarePlan(pub DomainPlan);

#[Object]
impl CarePlan {
    pub async fn id(&self) -> ID {
        global_id(CARE_PLAN, self.0.id.uuid())
    }
    async fn name(&self) -> &str {
        &self.0.fields.name
    }
    async fn kind(&self) -> CareKind {
        if self.0.fields.kind == EventKind::Call { CareKind::Call } else { CareKind::Visit }
    }
    async fn segment(&self) -> CareSegment {
        let s = &self.0.fields.segment;
        CareSegment { levels: s.levels.clone(), statuses: s.statuses.iter().map(|x| (*x).into()).collect() }
    }
    /// When each owner's first task starts.
    async fn first_at(&self) -> DateTime<Utc> {
        self.0.fields.first_at
    }
    async fn duration_minutes(&self) -> i64 {
        self.0.fields.duration_minutes
    }
    async fn spread_days(&self) -> i64 {
        self.0.fields.spread_days
    }
    async fn description(&self) -> Option<&str> {
        self.0.fields.description.as_deref()
    }
    /// How many tasks it put in calendars: for its creator (the segment of their scope);
    /// others read their part in `progress`.
    async fn tasks_created(&self, ctx: &Context<'_>) -> ApiResult<Option<i32>> {
        let actor = crate::graphql::context::actor(ctx)?;
        Ok((self.0.created_by == Some(actor.user_id)).then_some(self.0.tasks_created))
    }
    /// Its tasks the caller sees in calendars (their `TASK` scope), by status.
    async fn progress(&self, ctx: &Context<'_>) -> ApiResult<CareProgress> {
        let p = loaders(ctx)?.load_one(ProgressKey(self.0.id.uuid())).await?.unwrap_or_default();
        Ok(CareProgress { planned: p.planned, done: p.done, cancelled: p.cancelled })
    }
    async fn created_by(&self, ctx: &Context<'_>) -> ApiResult<Option<Participant>> {
        participant(ctx, self.0.created_by).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A care plan's progress.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProgressKey(pub Uuid);

impl Loader<ProgressKey> for ScopedLoader {
    type Value = Progress;
    type Error = ApiError;

    async fn load(&self, keys: &[ProgressKey]) -> Result<HashMap<ProgressKey, Progress>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let (conn, rule) = (self.db.connection(), self.actor.scope_rule(Module::Task));
        let found = guanxi_store::marketing::care::progress(conn, self.actor.tenant_id, rule, &ids).await?;
        Ok(found.into_iter().map(|(id, p)| (ProgressKey(id), p)).collect())
    }
}

#[derive(Default)]
pub struct CareQuery;

#[Object]
impl CareQuery {
    /// A care plan by id (`care.plan`).
    async fn care_plan(&self, ctx: &Context<'_>, id: ID) -> ApiResult<CarePlan> {
        Ok(CarePlan(read_by_id::<CarePlans>(ctx, Permission::CarePlan, (&id, CARE_PLAN), |_| ()).await?))
    }

    /// The tenant's care plans (`care.plan`), newest first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn care_plans(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<CarePlan>> {
        let actor = require(ctx, Permission::CarePlan)?;
        let request = page_request(first, after, None, None, "CREATED_AT")?;
        listed::<CarePlans, _>(&state(ctx).db, actor.tenant_id, ((), (), Direction::Desc), &request, CarePlan).await
    }
}

/// A care plan to make.
#[derive(InputObject, Serialize)]
pub struct CreateCarePlanInput {
    pub name: String,
    pub kind: CareKind,
    /// Customers at any of these levels (none: any level).
    #[graphql(default)]
    pub levels: Vec<String>,
    /// Customers in any of these statuses (none: any status).
    #[graphql(default)]
    pub statuses: Vec<CustomerStatus>,
    /// When each owner's first task starts.
    pub first_at: DateTime<Utc>,
    #[graphql(default = 30)]
    pub duration_minutes: i64,
    /// Over how many days each owner's tasks are spread (1 to 90): their n-th task is on
    /// day n mod spreadDays, after that day's earlier ones.
    #[graphql(default = 1)]
    pub spread_days: i64,
    pub description: Option<String>,
    #[graphql(default)]
    pub reminder_minutes_before: Vec<i32>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

crate::graphql::error::payload! {
    CarePlanPayload, care_plan: CarePlan(DomainPlan)
}

#[derive(Default)]
pub struct CareMutation;

#[Object]
impl CareMutation {
    /// Makes a care plan (`care.plan`): one task per live, owned customer of the segment
    /// the caller sees, in its owner's calendar (at most 5,000; more is LIMIT_REACHED and
    /// none is NOT_FOUND, on `segment`). Retried with the same idempotency key, it makes
    /// nothing twice.
    async fn create_care_plan(&self, ctx: &Context<'_>, input: CreateCarePlanInput) -> ApiResult<CarePlanPayload> {
        let actor = require(ctx, Permission::CarePlan)?.clone();
        let fields = CarePlanFields {
            name: input.name.clone(),
            kind: input.kind.into(),
            segment: Segment {
                levels: input.levels.clone(),
                statuses: input.statuses.iter().map(|s| (*s).into()).collect(),
            },
            first_at: input.first_at,
            duration_minutes: input.duration_minutes,
            spread_days: input.spread_days,
            description: input.description.clone(),
            reminder_minutes: input.reminder_minutes_before.clone(),
        };
        let (author, tenant, rule) = (author(ctx, &actor), actor.tenant_id, actor.customer_rule());
        let idempotent = Idempotent::new(&actor, "createCarePlan", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let plan = guanxi_store::marketing::care::create(tx, &author, rule, fields).await?;
                    Ok((plan.id.uuid(), plan))
                })
            },
            reload_scoped::<CarePlans>(tenant, ()),
        )
        .await?;
        Ok(result.into())
    }
}
