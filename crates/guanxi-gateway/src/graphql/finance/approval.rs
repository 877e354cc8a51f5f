//! Approvals (审批流) over GraphQL: the flows a tenant defines, a document's approval and
//! history, the approver's queue (`myApprovals`), the actions, and the subscription that
//! tells an approver a task arrived.

use std::collections::HashMap;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Subscription, Union};
use chrono::{DateTime, Utc};
use futures::Stream;
use guanxi_domain::approval::engine::{
    Act, ActionKind as DomainAction, PlannedStep, Request, RequestStatus as DomainRequestStatus, Task,
    TaskStatus as DomainTaskStatus,
};
use guanxi_domain::approval::flow::{
    ApproverRule as DomainRule, Condition, DocumentKind as DomainKind, Flow, Step, StepMode as DomainMode,
};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{DepartmentId, RoleId, UserId};
use guanxi_domain::platform::access::Permission;
use guanxi_store::finance::approval::{FlowInput, HistoryEntry, QueuedTask};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::contract::Contract;
use super::invoice::Invoice;
use super::receivable::Receipt;
use crate::graphql::context::{actor, author, require, state};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{ScopedLoader, UserKey};
use crate::graphql::mutation::{Idempotent, transact, write};
use crate::graphql::platform::org::{DEPARTMENT, ROLE, USER};
use crate::graphql::relay::{expect_id, global_id, input_id};
use crate::graphql::trade::document::loaders;

pub const FLOW: &str = EntityKind::ApprovalFlow.name();
pub const REQUEST: &str = "ApprovalRequest";
pub const TASK: &str = "ApprovalTask";

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainKind")]
pub enum ApprovalDocumentKind {
    /// 合同
    Contract,
    /// 回款
    Receipt,
    /// 开票申请
    Invoice,
    /// 报价折扣
    Quote,
}

/// 或签 (any one approver completes the step) or 会签 (all of them must approve).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainMode")]
pub enum StepMode {
    Any,
    All,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainRequestStatus")]
pub enum ApprovalStatus {
    /// 审批中
    Pending,
    /// 已通过
    Approved,
    /// 已驳回
    Rejected,
    /// 已撤回
    Withdrawn,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainTaskStatus")]
pub enum ApprovalTaskStatus {
    Pending,
    Approved,
    Rejected,
    Returned,
    Delegated,
    /// Another approver completed the step, or the request ended.
    Closed,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainAction")]
pub enum ApprovalActionKind {
    Submit,
    Approve,
    Reject,
    Return,
    Withdraw,
    Delegate,
    /// A step skipped because its approver was the submitter.
    Skip,
}

/// Who approves a step.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
pub enum ApproverKind {
    /// A named user (`userId`).
    User,
    /// Every active user holding a role (`roleId`).
    Role,
    /// The submitter's manager `levels` up (1 is the direct manager).
    Manager,
    /// The head of the submitter's department.
    DepartmentHead,
    /// The manager of the document's owner.
    OwnerManager,
}

/// An approver rule, as given and as read back.
#[derive(SimpleObject, InputObject, Clone, Serialize)]
#[graphql(input_name = "ApproverRuleInput")]
pub struct ApproverRule {
    pub kind: ApproverKind,
    pub user_id: Option<ID>,
    pub role_id: Option<ID>,
    pub levels: Option<i32>,
}

impl ApproverRule {
    fn of(rule: &DomainRule) -> Self {
        let blank = Self { kind: ApproverKind::User, user_id: None, role_id: None, levels: None };
        match rule {
            DomainRule::User { user_id } => Self { user_id: Some(global_id(USER, user_id.uuid())), ..blank },
            DomainRule::Role { role_id } => {
                Self { kind: ApproverKind::Role, role_id: Some(global_id(ROLE, role_id.uuid())), ..blank }
            }
            DomainRule::Manager { levels } => {
                Self { kind: ApproverKind::Manager, levels: Some(i32::from(*levels)), ..blank }
            }
            DomainRule::DepartmentHead => Self { kind: ApproverKind::DepartmentHead, ..blank },
            DomainRule::OwnerManager => Self { kind: ApproverKind::OwnerManager, ..blank },
        }
    }

    fn to_domain(&self, field: &str) -> Result<DomainRule, UserError> {
        let missing =
            |what: &str| UserError::new(field, guanxi_domain::ErrorCode::Required, format!("{what} is required"));
        Ok(match self.kind {
            ApproverKind::User => {
                let id = self.user_id.as_ref().ok_or_else(|| missing("userId"))?;
                DomainRule::User { user_id: UserId::from_uuid(input_id(field, id, USER)?) }
            }
            ApproverKind::Role => {
                let id = self.role_id.as_ref().ok_or_else(|| missing("roleId"))?;
                DomainRule::Role { role_id: RoleId::from_uuid(input_id(field, id, ROLE)?) }
            }
            ApproverKind::Manager => {
                let levels = self.levels.unwrap_or(1);
                DomainRule::Manager { levels: u8::try_from(levels).unwrap_or(0) }
            }
            ApproverKind::DepartmentHead => DomainRule::DepartmentHead,
            ApproverKind::OwnerManager => DomainRule::OwnerManager,
        })
    }
}

/// One step of a flow.
#[derive(SimpleObject, InputObject, Clone, Serialize)]
#[graphql(input_name = "ApprovalStepInput")]
pub struct ApprovalStep {
    pub name: String,
    pub mode: StepMode,
    /// The submitter does not approve their own document: an ANY step they could approve
    /// is skipped, an ALL step waits on the others.
    #[graphql(default)]
    pub skip_submitter: bool,
    pub approvers: Vec<ApproverRule>,
}

/// What picks a flow; every part given must hold.
#[derive(SimpleObject, InputObject, Clone, Default, Serialize)]
#[graphql(input_name = "ApprovalConditionInput")]
pub struct ApprovalCondition {
    /// The document's amount is above this.
    pub amount_above: Option<Decimal>,
    /// The document's discount is above this percentage.
    pub discount_above: Option<Decimal>,
    /// The submitter is in one of these departments.
    #[graphql(default)]
    pub department_ids: Vec<ID>,
    /// The customer has one of these levels.
    #[graphql(default)]
    pub customer_levels: Vec<String>,
}

/// An approval flow a tenant defines for one kind of document.
pub struct ApprovalFlow(pub Flow);

#[Object]
impl ApprovalFlow {
    async fn id(&self) -> ID {
        global_id(FLOW, self.0.id.uuid())
    }
    async fn kind(&self) -> ApprovalDocumentKind {
        self.0.kind.into()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Lower first among the kind's conditional flows.
    async fn priority(&self) -> i32 {
        self.0.priority
    }
    /// Null for the kind's default flow, which catches what no condition does.
    async fn condition(&self) -> Option<ApprovalCondition> {
        self.0.condition.as_ref().map(|c| ApprovalCondition {
            amount_above: c.amount_above,
            discount_above: c.discount_above,
            department_ids: c.departments.iter().map(|d| global_id(DEPARTMENT, d.uuid())).collect(),
            customer_levels: c.customer_levels.clone(),
        })
    }
    async fn steps(&self) -> Vec<ApprovalStep> {
        self.0
            .steps
            .iter()
            .map(|s| ApprovalStep {
                name: s.name.clone(),
                mode: s.mode.into(),
                skip_submitter: s.skip_submitter,
                approvers: s.approvers.iter().map(ApproverRule::of).collect(),
            })
            .collect()
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Someone who takes part in an approval, as every participant sees them: the id and the
/// display name, whatever the reader's `ORG` scope (a submitter sees who decides).
#[derive(SimpleObject, Clone)]
pub struct Participant {
    pub id: ID,
    pub display_name: String,
    /// The login email, when the reader may see the user (`users` through the `ORG` scope).
    pub email: Option<String>,
}

/// A participant's display name, by user id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParticipantKey(pub Uuid);

impl Loader<ParticipantKey> for ScopedLoader {
    type Value = String;
    type Error = ApiError;

    async fn load(&self, keys: &[ParticipantKey]) -> Result<HashMap<ParticipantKey, String>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found =
            guanxi_store::platform::user::display_names(self.db.connection(), self.actor.tenant_id, &ids).await?;
        Ok(found.into_iter().map(|(id, name)| (ParticipantKey(id), name)).collect())
    }
}

/// The participants `users` name, in order (unknown ids left out).
async fn participants(ctx: &Context<'_>, users: impl IntoIterator<Item = UserId>) -> ApiResult<Vec<Participant>> {
    let ids: Vec<Uuid> = users.into_iter().map(UserId::uuid).collect();
    let loaders = loaders(ctx)?;
    let names = loaders.load_many(ids.iter().map(|id| ParticipantKey(*id))).await?;
    let visible = loaders.load_many(ids.iter().map(|id| UserKey(*id))).await?;
    Ok(ids
        .iter()
        .filter_map(|id| {
            let name = names.get(&ParticipantKey(*id))?;
            Some(Participant {
                id: global_id(USER, *id),
                display_name: name.clone(),
                email: visible.get(&UserKey(*id)).map(|u| u.email.clone()),
            })
        })
        .collect())
}

pub(crate) async fn participant(ctx: &Context<'_>, user: Option<UserId>) -> ApiResult<Option<Participant>> {
    Ok(participants(ctx, user).await?.pop())
}

/// A step of a submission, its approvers resolved.
pub struct PlannedApprovalStep(PlannedStep, usize);

#[Object]
impl PlannedApprovalStep {
    /// 1, 2, 3…
    async fn number(&self) -> i32 {
        i32::try_from(self.1 + 1).unwrap_or(i32::MAX)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn mode(&self) -> StepMode {
        self.0.mode.into()
    }
    async fn approvers(&self, ctx: &Context<'_>) -> ApiResult<Vec<Participant>> {
        participants(ctx, self.0.approvers.iter().copied()).await
    }
}

/// One submission of a document to its flow.
pub struct ApprovalRequest(pub Request);

#[Object]
impl ApprovalRequest {
    async fn id(&self) -> ID {
        global_id(REQUEST, self.0.id.uuid())
    }
    async fn kind(&self) -> ApprovalDocumentKind {
        self.0.kind.into()
    }
    async fn status(&self) -> ApprovalStatus {
        self.0.status.into()
    }
    /// The step under way (1-based); null once the request ended or when no step applied.
    async fn current_step(&self) -> Option<i32> {
        (self.0.status == DomainRequestStatus::Pending).then(|| i32::try_from(self.0.step + 1).unwrap_or(i32::MAX))
    }
    async fn steps(&self) -> Vec<PlannedApprovalStep> {
        self.0.plan.iter().cloned().enumerate().map(|(i, s)| PlannedApprovalStep(s, i)).collect()
    }
    async fn submitter(&self, ctx: &Context<'_>) -> ApiResult<Option<Participant>> {
        participant(ctx, Some(self.0.submitter)).await
    }
    /// Who the current step waits on.
    async fn waiting_on(&self, ctx: &Context<'_>) -> ApiResult<Vec<Participant>> {
        if self.0.status != DomainRequestStatus::Pending {
            return Ok(vec![]);
        }
        let tasks = loaders(ctx)?.load_one(TasksKey(self.0.id.uuid())).await?.unwrap_or_default();
        participants(ctx, tasks.iter().filter(|t| t.status == DomainTaskStatus::Pending).map(|t| t.approver)).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A row of a document's approval history.
pub struct ApprovalHistoryEntry(pub HistoryEntry);

#[Object]
impl ApprovalHistoryEntry {
    async fn action(&self) -> ApprovalActionKind {
        self.0.action.into()
    }
    /// The step acted on (1-based), when the action concerns one.
    async fn step(&self) -> Option<i32> {
        self.0.step
    }
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<Participant>> {
        participant(ctx, self.0.actor_id).await
    }
    /// The delegate, for a delegation.
    async fn delegate(&self, ctx: &Context<'_>) -> ApiResult<Option<Participant>> {
        participant(ctx, self.0.target_id).await
    }
    /// Whose place the actor, an administrator, acted in (`reassignApproval`,
    /// `cancelApproval`); null when they acted for themselves.
    async fn on_behalf_of(&self, ctx: &Context<'_>) -> ApiResult<Option<Participant>> {
        participant(ctx, self.0.on_behalf_of).await
    }
    /// The comment, or the name of a skipped step.
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
    async fn request_id(&self) -> ID {
        global_id(REQUEST, self.0.request_id.uuid())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The document an approval concerns.
#[derive(Union)]
pub enum ApprovalDocument {
    Contract(Contract),
    Receipt(Receipt),
    Invoice(Invoice),
    Quote(crate::graphql::trade::quote::Quote),
}

/// An approver's task.
pub struct ApprovalTask(pub QueuedTask);

#[Object]
impl ApprovalTask {
    async fn id(&self) -> ID {
        global_id(TASK, self.0.task.id.uuid())
    }
    async fn status(&self) -> ApprovalTaskStatus {
        self.0.task.status.into()
    }
    async fn kind(&self) -> ApprovalDocumentKind {
        self.0.kind.into()
    }
    /// The step (1-based).
    async fn step(&self) -> i32 {
        i32::try_from(self.0.task.step + 1).unwrap_or(i32::MAX)
    }
    async fn comment(&self) -> Option<&str> {
        self.0.task.comment.as_deref()
    }
    async fn acted_at(&self) -> Option<DateTime<Utc>> {
        self.0.task.acted_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.task.created_at
    }
    async fn request(&self, ctx: &Context<'_>) -> ApiResult<Option<ApprovalRequest>> {
        Ok(loaders(ctx)?.load_one(RequestKey(self.0.task.request_id.uuid())).await?.map(ApprovalRequest))
    }
    /// The document: readable by the approver while the task waits on them, and
    /// afterwards only through their own data scope (null otherwise).
    async fn document(&self, ctx: &Context<'_>) -> ApiResult<Option<ApprovalDocument>> {
        document_of(ctx, self.0.kind, self.0.document_id).await
    }
}

/// A document of an approval kind, through the caller's scope (and their pending tasks).
async fn document_of(ctx: &Context<'_>, kind: DomainKind, id: Uuid) -> ApiResult<Option<ApprovalDocument>> {
    let loaders = loaders(ctx)?;
    Ok(match kind {
        DomainKind::Contract => {
            loaders.load_one(super::contract::ContractKey(id)).await?.map(|c| ApprovalDocument::Contract(Contract(c)))
        }
        DomainKind::Receipt => {
            loaders.load_one(super::receivable::ReceiptKey(id)).await?.map(|r| ApprovalDocument::Receipt(Receipt(r)))
        }
        DomainKind::Invoice => {
            loaders.load_one(super::invoice::InvoiceKey(id)).await?.map(|i| ApprovalDocument::Invoice(Invoice(i)))
        }
        DomainKind::Quote => {
            let actor = actor(ctx)?;
            if !actor.may(Permission::QuoteRead) {
                return Ok(None);
            }
            let scope = guanxi_store::scope::OrApprover {
                rules: EntityKind::quote_rules(actor),
                approver: Some(actor.user_id),
            };
            guanxi_store::trade::quote::find_as_approver(state(ctx).db.connection(), actor.tenant_id, scope, id)
                .await?
                .map(|q| ApprovalDocument::Quote(crate::graphql::trade::quote::Quote(q)))
        }
    })
}

// ---------------------------------------------------------------------------------------
// Loaders

/// A request by id, when the caller submitted it or holds a task of it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestKey(pub Uuid);
/// The tasks of a request's current step.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TasksKey(pub Uuid);
/// The latest request of a document (which the caller already read).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LatestRequestKey(pub Uuid);
/// The approval history of a document (which the caller already read).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HistoryKey(pub Uuid);

impl Loader<RequestKey> for ScopedLoader {
    type Value = Request;
    type Error = ApiError;

    async fn load(&self, keys: &[RequestKey]) -> Result<HashMap<RequestKey, Request>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let (tenant, me) = (self.actor.tenant_id, self.actor.user_id);
        let found = guanxi_store::finance::approval::requests(self.db.connection(), tenant, me, &ids).await?;
        Ok(found.into_iter().map(|r| (RequestKey(r.id.uuid()), r)).collect())
    }
}

impl Loader<TasksKey> for ScopedLoader {
    type Value = Vec<Task>;
    type Error = ApiError;

    async fn load(&self, keys: &[TasksKey]) -> Result<HashMap<TasksKey, Vec<Task>>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found =
            guanxi_store::finance::approval::pending_tasks(self.db.connection(), self.actor.tenant_id, &ids).await?;
        Ok(crate::graphql::loaders::grouped(found, |t| TasksKey(t.request_id.uuid())))
    }
}

impl Loader<LatestRequestKey> for ScopedLoader {
    type Value = Request;
    type Error = ApiError;

    async fn load(&self, keys: &[LatestRequestKey]) -> Result<HashMap<LatestRequestKey, Request>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found =
            guanxi_store::finance::approval::latest_requests(self.db.connection(), self.actor.tenant_id, &ids).await?;
        Ok(found.into_iter().map(|r| (LatestRequestKey(r.document_id), r)).collect())
    }
}

impl Loader<HistoryKey> for ScopedLoader {
    type Value = Vec<HistoryEntry>;
    type Error = ApiError;

    async fn load(&self, keys: &[HistoryKey]) -> Result<HashMap<HistoryKey, Vec<HistoryEntry>>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found =
            guanxi_store::finance::approval::history_of(self.db.connection(), self.actor.tenant_id, &ids).await?;
        Ok(crate::graphql::loaders::grouped(found, |e| HistoryKey(e.document_id)))
    }
}

/// A document's latest approval request, for its `approval` field.
pub async fn approval_of(ctx: &Context<'_>, document: Uuid) -> ApiResult<Option<ApprovalRequest>> {
    Ok(loaders(ctx)?.load_one(LatestRequestKey(document)).await?.map(ApprovalRequest))
}

/// A document's approval history, for its `approvalHistory` field.
pub async fn history_of(ctx: &Context<'_>, document: Uuid) -> ApiResult<Vec<ApprovalHistoryEntry>> {
    let rows = loaders(ctx)?.load_one(HistoryKey(document)).await?.unwrap_or_default();
    Ok(rows.into_iter().map(ApprovalHistoryEntry).collect())
}

// ---------------------------------------------------------------------------------------
// Queries

/// Which of the caller's tasks `myApprovals` lists.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ApprovalQueue {
    /// 待我审批
    PendingOnMe,
    /// 我已审批
    DoneByMe,
}

#[derive(Default)]
pub struct ApprovalQuery;

#[Object]
impl ApprovalQuery {
    /// The tenant's approval flows, of one kind or all (`approval.manage`).
    async fn approval_flows(
        &self,
        ctx: &Context<'_>,
        kind: Option<ApprovalDocumentKind>,
    ) -> ApiResult<Vec<ApprovalFlow>> {
        let actor = require(ctx, Permission::ApprovalManage)?;
        let flows =
            guanxi_store::finance::approval::flows(state(ctx).db.connection(), actor.tenant_id, kind.map(Into::into))
                .await?;
        Ok(flows.into_iter().map(ApprovalFlow).collect())
    }

    /// The caller's approval queue, newest first: tasks waiting on them, or the ones they
    /// decided.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn my_approvals(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "ApprovalQueue::PendingOnMe")] queue: ApprovalQueue,
        kind: Option<ApprovalDocumentKind>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, ApprovalTask, EmptyFields, EmptyFields>> {
        let actor = actor(ctx)?;
        let first = first.unwrap_or(20);
        if !(0..=200).contains(&first) {
            return Err(ApiError::BadUserInput("first: between 0 and 200".into()));
        }
        let after = after.map(|a| expect_id(&ID(a), TASK)).transpose()?;
        let limit = u64::try_from(first).unwrap_or(20) + 1;
        let mut rows = guanxi_store::finance::approval::tasks_of(
            state(ctx).db.connection(),
            actor.tenant_id,
            actor.user_id,
            (queue == ApprovalQueue::PendingOnMe, kind.map(Into::into)),
            (after, limit),
        )
        .await?;
        let more = rows.len() > usize::try_from(first).unwrap_or(20);
        rows.truncate(usize::try_from(first).unwrap_or(20));
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges.extend(rows.into_iter().map(|t| {
            let cursor = global_id(TASK, t.task.id.uuid()).0;
            Edge::new(cursor, ApprovalTask(t))
        }));
        Ok(connection)
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

#[derive(InputObject, Serialize)]
pub struct ApprovalFlowInput {
    pub kind: ApprovalDocumentKind,
    pub name: String,
    #[graphql(default)]
    pub priority: i32,
    /// Leave out for the kind's default flow.
    pub condition: Option<ApprovalCondition>,
    pub steps: Vec<ApprovalStep>,
    #[graphql(default = true)]
    pub active: bool,
    /// Retries of a create with the same key return the first flow (ignored on update).
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

impl ApprovalFlowInput {
    fn to_store(&self) -> Result<FlowInput, Vec<UserError>> {
        let mut errors = Vec::new();
        let condition = self.condition.as_ref().map(|c| {
            let departments = c
                .department_ids
                .iter()
                .filter_map(|d| match input_id("condition.departmentIds", d, DEPARTMENT) {
                    Ok(id) => Some(DepartmentId::from_uuid(id)),
                    Err(e) => {
                        errors.push(e);
                        None
                    }
                })
                .collect();
            Condition {
                amount_above: c.amount_above,
                discount_above: c.discount_above,
                departments,
                customer_levels: c.customer_levels.iter().map(|l| l.trim().to_owned()).collect(),
            }
        });
        let mut steps = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let mut approvers = Vec::new();
            for rule in &step.approvers {
                match rule.to_domain(&format!("steps.{i}.approvers")) {
                    Ok(rule) => approvers.push(rule),
                    Err(e) => errors.push(e),
                }
            }
            steps.push(Step {
                name: step.name.trim().to_owned(),
                approvers,
                mode: step.mode.into(),
                skip_submitter: step.skip_submitter,
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(FlowInput {
            kind: self.kind.into(),
            name: self.name.clone(),
            priority: self.priority,
            condition,
            steps,
            active: self.active,
        })
    }
}

#[derive(InputObject)]
pub struct UpdateApprovalFlowInput {
    pub id: ID,
    pub expected_version: i32,
    /// The whole definition as it should be (requests under way keep their plan).
    pub flow: ApprovalFlowInput,
}

#[derive(InputObject)]
pub struct DeleteApprovalFlowInput {
    pub id: ID,
    pub expected_version: i32,
}

crate::graphql::error::payload! {
    ApprovalFlowPayload, flow: ApprovalFlow(Flow)
}

/// An action on an approval request.
#[derive(InputObject)]
pub struct ApprovalActionInput {
    /// The request (`ApprovalRequest` id).
    pub request_id: ID,
    pub comment: Option<String>,
    /// For a return: the earlier step (1-based) to go back to.
    pub to_step: Option<i32>,
    /// For a delegation: who takes the task over.
    pub to_user_id: Option<ID>,
}

crate::graphql::error::payload! {
    ApprovalPayload, request: ApprovalRequest(Request)
}

#[derive(Clone, Copy)]
enum ActionKind {
    Approve,
    Reject,
    Return,
    Withdraw,
    Delegate,
}

async fn take_action(ctx: &Context<'_>, input: ApprovalActionInput, kind: ActionKind) -> ApiResult<ApprovalPayload> {
    act_on(ctx, input, kind, None).await
}

/// In whose place an administrator acts: the approver whose task they hand on, or (`None`)
/// the submitter whose request they withdraw.
struct InPlaceOf(Option<UserId>);

/// An action by the caller, or with `in_place_of` by an administrator (`approval.manage`)
/// for someone who cannot act (left, on leave).
async fn act_on(
    ctx: &Context<'_>,
    input: ApprovalActionInput,
    kind: ActionKind,
    in_place_of: Option<InPlaceOf>,
) -> ApiResult<ApprovalPayload> {
    let actor = match in_place_of {
        Some(_) => require(ctx, Permission::ApprovalManage)?,
        None => actor(ctx)?,
    };
    let comment = input.comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    let bad =
        |field: &str, code, message: &str| Ok(Err::<Request, _>(vec![UserError::new(field, code, message)]).into());
    if comment.as_ref().is_some_and(|c| c.chars().count() > 500) {
        return bad("comment", guanxi_domain::ErrorCode::Invalid, "at most 500 characters");
    }
    let request = match input_id("requestId", &input.request_id, REQUEST) {
        Ok(id) => id,
        Err(e) => return Ok(Err::<Request, _>(vec![e]).into()),
    };
    let act = match kind {
        ActionKind::Approve => Act::Approve,
        ActionKind::Reject if comment.is_none() => {
            return bad("comment", guanxi_domain::ErrorCode::Required, "say why the document is rejected");
        }
        ActionKind::Withdraw if in_place_of.is_some() && comment.is_none() => {
            return bad("comment", guanxi_domain::ErrorCode::Required, "say why the request is cancelled");
        }
        ActionKind::Reject => Act::Reject,
        ActionKind::Withdraw => Act::Withdraw,
        ActionKind::Return => match input.to_step.and_then(|s| usize::try_from(s).ok()).filter(|s| *s >= 1) {
            Some(step) => Act::Return { to_step: step - 1 },
            None => {
                return bad("toStep", guanxi_domain::ErrorCode::Required, "the earlier step to return to (1-based)");
            }
        },
        ActionKind::Delegate => match input.to_user_id.as_ref().map(|u| input_id("toUserId", u, USER)) {
            Some(Ok(user)) => Act::Delegate { to: UserId::from_uuid(user) },
            Some(Err(e)) => return Ok(Err::<Request, _>(vec![e]).into()),
            None => return bad("toUserId", guanxi_domain::ErrorCode::Required, "who takes the task over"),
        },
    };
    // An administrator is no participant: they read the request itself.
    let found = match &in_place_of {
        Some(_) => {
            guanxi_store::finance::approval::request(state(ctx).db.connection(), actor.tenant_id, request).await?
        }
        None => loaders(ctx)?.load_one(RequestKey(request)).await?,
    };
    if in_place_of.is_some() {
        // An administrator acts only on documents they may see.
        let visible = match &found {
            Some(r) => document_of(ctx, r.kind, r.document_id).await?.is_some(),
            None => false,
        };
        if !visible {
            return bad("requestId", guanxi_domain::ErrorCode::NotFound, "no such record");
        }
    }
    let by = match (&in_place_of, &found) {
        (None, _) => actor.user_id,
        (Some(InPlaceOf(Some(user))), _) => {
            let tasks =
                guanxi_store::finance::approval::pending_tasks(state(ctx).db.connection(), actor.tenant_id, &[request])
                    .await?;
            if !tasks.iter().any(|t| t.approver == *user) {
                return bad("fromUserId", guanxi_domain::ErrorCode::Invalid, "no task of theirs waits in this request");
            }
            *user
        }
        (Some(InPlaceOf(None)), Some(request)) => request.submitter,
        (Some(InPlaceOf(None)), None) => {
            return bad("requestId", guanxi_domain::ErrorCode::NotFound, "no such record");
        }
    };
    if let Act::Delegate { to } = act {
        let loaders = loaders(ctx)?;
        let delegate = loaders.load_one(UserKey(to.uuid())).await?;
        let Some(delegate) = delegate.filter(|u| u.status == guanxi_domain::platform::org::UserStatus::Active) else {
            return bad("toUserId", guanxi_domain::ErrorCode::NotFound, "no such active user");
        };
        // The delegate must be able to read what they are asked to approve.
        let kind = found.as_ref().map(|r| r.kind);
        let needed = match kind.and_then(|k| guanxi_store::finance::approval::document_entity(k).read_permission()) {
            Some(permission) => permission,
            None => {
                return Ok(Err::<Request, _>(vec![UserError::new(
                    "requestId",
                    guanxi_domain::ErrorCode::NotFound,
                    "no such record",
                )])
                .into());
            }
        };
        let role = loaders.load_one(crate::graphql::loaders::RoleKey(delegate.role_id.uuid())).await?;
        if !role.is_some_and(|r| r.grants.allows(needed)) {
            return bad("toUserId", guanxi_domain::ErrorCode::Invalid, "someone whose role may read this document");
        }
    }
    let author = author(ctx, actor);
    let result = transact(ctx, move |tx| {
        Box::pin(async move { guanxi_store::finance::decide::act_as(tx, &author, (request, by), &act, comment).await })
    })
    .await?;
    Ok(result.into())
}

/// An administrator hands a stuck approver's task on.
#[derive(InputObject)]
pub struct ReassignApprovalInput {
    pub request_id: ID,
    /// Whose pending task it is.
    pub from_user_id: ID,
    /// Who takes it over: an active user whose role may read the document.
    pub to_user_id: ID,
    pub comment: Option<String>,
}

/// An administrator withdraws a request for its submitter.
#[derive(InputObject)]
pub struct CancelApprovalInput {
    pub request_id: ID,
    /// Why (required).
    pub comment: Option<String>,
}

#[derive(Default)]
pub struct ApprovalMutation;

#[Object]
impl ApprovalMutation {
    /// Defines an approval flow (`approval.manage`).
    async fn create_approval_flow(
        &self,
        ctx: &Context<'_>,
        input: ApprovalFlowInput,
    ) -> ApiResult<ApprovalFlowPayload> {
        let actor = require(ctx, Permission::ApprovalManage)?.clone();
        let flow = match input.to_store() {
            Ok(f) => f,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let author = author(ctx, &actor);
        let tenant = actor.tenant_id;
        let idempotent = Idempotent::new(&actor, "createApprovalFlow", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let created = guanxi_store::finance::approval::create_flow(tx, &author, flow).await?;
                    Ok((created.id.uuid(), created))
                })
            },
            move |tx, id| {
                Box::pin(async move {
                    guanxi_store::finance::approval::flow(tx, tenant, id)
                        .await?
                        .ok_or(guanxi_store::StoreError::NotFound)
                })
            },
        )
        .await?;
        Ok(result.into())
    }

    /// Replaces a flow's definition (`approval.manage`).
    async fn update_approval_flow(
        &self,
        ctx: &Context<'_>,
        input: UpdateApprovalFlowInput,
    ) -> ApiResult<ApprovalFlowPayload> {
        let actor = require(ctx, Permission::ApprovalManage)?;
        let (id, flow) = match (input_id("id", &input.id, FLOW), input.flow.to_store()) {
            (Ok(id), Ok(flow)) => (id, flow),
            (id, flow) => {
                return Ok(Err([id.err().into_iter().collect(), flow.err().unwrap_or_default()].concat()).into());
            }
        };
        let author = author(ctx, actor);
        let version = input.expected_version;
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::finance::approval::write_flow(tx, &author, (id, version), Some(flow)).await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Deletes a flow; requests under way finish on the plan they were submitted with.
    async fn delete_approval_flow(
        &self,
        ctx: &Context<'_>,
        input: DeleteApprovalFlowInput,
    ) -> ApiResult<ApprovalFlowPayload> {
        let actor = require(ctx, Permission::ApprovalManage)?;
        let id = match input_id("id", &input.id, FLOW) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = author(ctx, actor);
        let version = input.expected_version;
        let result = transact(ctx, move |tx| {
            Box::pin(async move { guanxi_store::finance::approval::write_flow(tx, &author, (id, version), None).await })
        })
        .await?;
        Ok(result.into())
    }

    /// Approves the caller's task in the request's current step (同意). When two approvers
    /// of an ANY step act at once, one wins and the other gets `CONFLICT`.
    async fn approve(&self, ctx: &Context<'_>, input: ApprovalActionInput) -> ApiResult<ApprovalPayload> {
        take_action(ctx, input, ActionKind::Approve).await
    }

    /// Rejects (驳回) with a reason: the request ends and the document goes back to its
    /// submitter.
    async fn reject_approval(&self, ctx: &Context<'_>, input: ApprovalActionInput) -> ApiResult<ApprovalPayload> {
        take_action(ctx, input, ActionKind::Reject).await
    }

    /// Returns the request to an earlier step (`toStep`), whose approvers decide again.
    async fn return_approval(&self, ctx: &Context<'_>, input: ApprovalActionInput) -> ApiResult<ApprovalPayload> {
        take_action(ctx, input, ActionKind::Return).await
    }

    /// The submitter takes the document back while it is pending (撤回).
    async fn withdraw_approval(&self, ctx: &Context<'_>, input: ApprovalActionInput) -> ApiResult<ApprovalPayload> {
        take_action(ctx, input, ActionKind::Withdraw).await
    }

    /// Hands the caller's task to another user (`toUserId`) in the same step (转交).
    async fn delegate_approval(&self, ctx: &Context<'_>, input: ApprovalActionInput) -> ApiResult<ApprovalPayload> {
        take_action(ctx, input, ActionKind::Delegate).await
    }

    /// Hands a pending task of someone who cannot act (left, on leave) to another user
    /// (`approval.manage`). The history names the administrator.
    async fn reassign_approval(&self, ctx: &Context<'_>, input: ReassignApprovalInput) -> ApiResult<ApprovalPayload> {
        require(ctx, Permission::ApprovalManage)?;
        let from = match input_id("fromUserId", &input.from_user_id, USER) {
            Ok(id) => UserId::from_uuid(id),
            Err(e) => return Ok(Err::<Request, _>(vec![e]).into()),
        };
        let action = ApprovalActionInput {
            request_id: input.request_id,
            comment: input.comment,
            to_step: None,
            to_user_id: Some(input.to_user_id),
        };
        act_on(ctx, action, ActionKind::Delegate, Some(InPlaceOf(Some(from)))).await
    }

    /// Withdraws a pending request for its submitter, with a reason (`approval.manage`):
    /// its document goes back to them as after a withdrawal.
    async fn cancel_approval(&self, ctx: &Context<'_>, input: CancelApprovalInput) -> ApiResult<ApprovalPayload> {
        let action = ApprovalActionInput {
            request_id: input.request_id,
            comment: input.comment,
            to_step: None,
            to_user_id: None,
        };
        act_on(ctx, action, ActionKind::Withdraw, Some(InPlaceOf(None))).await
    }
}

// ---------------------------------------------------------------------------------------
// Subscription

#[derive(Default)]
pub struct ApprovalSubscription;

#[Subscription]
impl ApprovalSubscription {
    /// Each task that arrives for the caller (a submission reached a step they approve,
    /// a return or a delegation).
    async fn approval_assigned(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = ApprovalTask>, ApiError> {
        let actor = actor(ctx)?.clone();
        let credential = ctx
            .data_opt::<crate::graphql::context::Caller>()
            .and_then(|c| c.credential.clone())
            .ok_or_else(|| ApiError::Unauthenticated("log in first".into()))?;
        let app = state(ctx).clone();
        let poll = std::time::Duration::from_millis(app.config.subscription_poll_ms.max(50));
        let start = Uuid::now_v7();
        let tenant = actor.tenant_id;
        Ok(futures::stream::unfold((start, Vec::<QueuedTask>::new()), move |(mut since, mut pending)| {
            let app = app.clone();
            let credential = credential.clone();
            async move {
                loop {
                    if !pending.is_empty() {
                        let next = pending.remove(0);
                        return Some((ApprovalTask(next), (since, pending)));
                    }
                    tokio::time::sleep(poll).await;
                    // Logout, a disabled account or a revoked key ends the stream.
                    let actor =
                        crate::graphql::platform::audit::still_valid(&app.db, tenant, &credential).await.ok()??;
                    let found = guanxi_store::finance::approval::new_tasks_since(
                        app.db.connection(),
                        actor.tenant_id,
                        actor.user_id,
                        since,
                    )
                    .await
                    .ok()?;
                    if let Some(newest) = found.last() {
                        since = newest.task.id.uuid();
                    }
                    pending = found;
                }
            }
        }))
    }
}
