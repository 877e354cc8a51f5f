//! The approval engine's persistence: flows as a tenant defines them, requests with the
//! plan they were submitted with, one task per approver of the current step, and the
//! history of actions. The documents themselves are not known here: `decide` applies an
//! outcome to the document it concerns.
//!
//! Concurrency: every action first bumps the request's version with
//! `UPDATE … WHERE status = 'PENDING' AND step = <the step of the caller's task>`. On
//! PostgreSQL the row lock makes a second approver of the same step wait; when the first
//! one completed the step, the second one's condition no longer holds and they get
//! `CONFLICT`. SQLite serialises writers anyway.

use chrono::Utc;
use guanxi_domain::ErrorCode;
use guanxi_domain::approval::engine::{
    self, Act, ActionKind, Effect, PlannedStep, Refusal, Request, RequestStatus, Task, TaskStatus,
};
use guanxi_domain::approval::flow::{self, ApproverRule, Condition, DocumentKind, Facts, Flow, Step};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{ApprovalFlowId, ApprovalRequestId, ApprovalTaskId, DepartmentId, TenantId, UserId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{approval_action, approval_flow, approval_request, approval_task, department, user};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};

pub const FLOW: EntityKind = EntityKind::ApprovalFlow;

/// The record kind of a document that goes through approval.
pub fn document_entity(kind: DocumentKind) -> EntityKind {
    match kind {
        DocumentKind::Contract => EntityKind::Contract,
        DocumentKind::Receipt => EntityKind::Receipt,
        DocumentKind::Invoice => EntityKind::Invoice,
        DocumentKind::Quote => EntityKind::Quote,
    }
}

fn flow_of(m: approval_flow::Model) -> StoreResult<Flow> {
    let cell = |column| Cell::of("approval_flows", m.id, column);
    Ok(Flow {
        id: m.id.into(),
        kind: cell("kind").text(&m.kind, DocumentKind::parse)?,
        name: m.name,
        priority: m.priority,
        condition: m.condition.map(|c| cell("condition").json::<Condition>(c)).transpose()?,
        steps: cell("steps").json::<Vec<Step>>(m.steps)?,
        active: m.active,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

pub fn request_of(m: approval_request::Model) -> StoreResult<Request> {
    let cell = |column| Cell::of("approval_requests", m.id, column);
    Ok(Request {
        id: m.id.into(),
        kind: cell("kind").text(&m.kind, DocumentKind::parse)?,
        document_id: m.document_id,
        flow_id: m.flow_id.map(Into::into),
        submitter: m.submitter_id.into(),
        plan: cell("plan").json::<Vec<PlannedStep>>(m.plan)?,
        step: cell("step").check(usize::try_from(m.step))?,
        status: cell("status").text(&m.status, RequestStatus::parse)?,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

pub fn task_of(m: approval_task::Model) -> StoreResult<Task> {
    let cell = |column| Cell::of("approval_tasks", m.id, column);
    Ok(Task {
        id: m.id.into(),
        request_id: m.request_id.into(),
        step: cell("step").check(usize::try_from(m.step))?,
        approver: m.approver_id.into(),
        status: cell("status").text(&m.status, TaskStatus::parse)?,
        comment: m.comment,
        acted_at: m.acted_at,
        created_at: m.created_at,
    })
}

/// A row of a document's approval history.
#[derive(Clone, Debug)]
pub struct HistoryEntry {
    pub id: Uuid,
    pub request_id: ApprovalRequestId,
    pub document_id: Uuid,
    pub step: Option<i32>,
    pub action: ActionKind,
    pub actor_id: Option<UserId>,
    /// The delegate of a delegation.
    pub target_id: Option<UserId>,
    /// Whose place the actor (an administrator) acted in: the stuck approver, or the
    /// submitter whose request they withdrew.
    pub on_behalf_of: Option<UserId>,
    pub comment: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------
// Flows

/// The tenant's live flows, of one kind or all, in selection order.
pub async fn flows<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    kind: Option<DocumentKind>,
) -> StoreResult<Vec<Flow>> {
    let mut query = approval_flow::Entity::find()
        .filter(approval_flow::Column::TenantId.eq(tenant.uuid()))
        .filter(approval_flow::Column::DeletedAt.is_null());
    if let Some(kind) = kind {
        query = query.filter(approval_flow::Column::Kind.eq(kind.as_str()));
    }
    let rows = query
        .order_by_asc(approval_flow::Column::Kind)
        .order_by_asc(approval_flow::Column::Priority)
        .order_by_asc(approval_flow::Column::Id)
        .all(conn)
        .await?;
    rows.into_iter().map(flow_of).collect()
}

/// A flow by id (deleted ones too, for requests that name them).
pub async fn flow<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<Option<Flow>> {
    approval_flow::Entity::find_by_id((tenant.uuid(), id)).one(conn).await?.map(flow_of).transpose()
}

/// What a writer sets on a flow.
#[derive(Clone, Debug)]
pub struct FlowInput {
    pub kind: DocumentKind,
    pub name: String,
    pub priority: i32,
    pub condition: Option<Condition>,
    pub steps: Vec<Step>,
    pub active: bool,
}

fn json_of<T: serde::Serialize>(value: &T) -> StoreResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| StoreError::rejected("steps", ErrorCode::Invalid, e.to_string()))
}

/// Checks a flow: its shape, the users and roles its rules name, and one default per kind.
async fn check_flow<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    input: &FlowInput,
    id: Option<Uuid>,
) -> StoreResult<()> {
    flow::check(&input.name, input.condition.as_ref(), &input.steps)?;
    let users: Vec<Uuid> = input
        .steps
        .iter()
        .flat_map(|s| &s.approvers)
        .filter_map(|r| if let ApproverRule::User { user_id } = r { Some(user_id.uuid()) } else { None })
        .collect();
    if !users.is_empty() {
        let found = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::TenantId.eq(tenant.uuid()))
            .filter(user::Column::Id.is_in(users.clone()))
            .into_tuple::<Uuid>()
            .all(conn)
            .await?;
        if users.iter().any(|u| !found.contains(u)) {
            return Err(StoreError::rejected(
                "steps",
                ErrorCode::NotFound,
                "an approver names a user that does not exist",
            ));
        }
    }
    let roles: Vec<Uuid> = input
        .steps
        .iter()
        .flat_map(|s| &s.approvers)
        .filter_map(|r| if let ApproverRule::Role { role_id } = r { Some(role_id.uuid()) } else { None })
        .collect();
    if !roles.is_empty() {
        let found = crate::entity::role::Entity::find()
            .select_only()
            .column(crate::entity::role::Column::Id)
            .filter(crate::entity::role::Column::TenantId.eq(tenant.uuid()))
            .filter(crate::entity::role::Column::Id.is_in(roles.clone()))
            .into_tuple::<Uuid>()
            .all(conn)
            .await?;
        if roles.iter().any(|r| !found.contains(r)) {
            return Err(StoreError::rejected(
                "steps",
                ErrorCode::NotFound,
                "an approver names a role that does not exist",
            ));
        }
    }
    if input.condition.is_none() {
        let other_default = flows(conn, tenant, Some(input.kind))
            .await?
            .into_iter()
            .any(|f| f.condition.is_none() && Some(f.id.uuid()) != id);
        if other_default {
            return Err(StoreError::rejected(
                "condition",
                ErrorCode::Duplicate,
                format!("{} already has a default flow; give this one a condition", input.kind.label_zh()),
            ));
        }
    }
    Ok(())
}

pub async fn create_flow<C: ConnectionTrait>(conn: &C, author: &Author, input: FlowInput) -> StoreResult<Flow> {
    let tenant = author.tenant_id;
    check_flow(conn, tenant, &input, None).await?;
    let now = Utc::now();
    let id = ApprovalFlowId::new();
    let model = approval_flow::Entity::insert(approval_flow::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id.uuid()),
        kind: Set(input.kind.as_str().to_owned()),
        name: Set(input.name.trim().to_owned()),
        priority: Set(input.priority),
        condition: Set(input.condition.as_ref().map(json_of).transpose()?),
        steps: Set(json_of(&input.steps)?),
        active: Set(input.active),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_with_returning(conn)
    .await?;
    let changes = ChangeSet::new().field("kind", (), input.kind.as_str()).field("name", (), &model.name).field(
        "steps",
        (),
        input.steps.len(),
    );
    audit::record(conn, author, FLOW, id.uuid(), Operation::Create, &changes).await?;
    flow_of(model)
}

/// Replaces a flow's definition (requests under way keep the plan they were submitted
/// with), or deletes it (`input` `None`).
pub async fn write_flow<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, expected_version): (Uuid, i32),
    input: Option<FlowInput>,
) -> StoreResult<Flow> {
    let tenant = author.tenant_id;
    let before = flow(conn, tenant, id).await?.ok_or(StoreError::NotFound)?;
    let now = Utc::now();
    let mut update = approval_flow::Entity::update_many()
        .col_expr(approval_flow::Column::Version, Expr::col(approval_flow::Column::Version).add(1))
        .col_expr(approval_flow::Column::UpdatedAt, Expr::value(now));
    let (operation, changes) = match &input {
        Some(input) => {
            if input.kind != before.kind {
                return Err(StoreError::rejected("kind", ErrorCode::IllegalState, "a flow keeps its kind"));
            }
            check_flow(conn, tenant, input, Some(id)).await?;
            update = update
                .col_expr(approval_flow::Column::Name, Expr::value(input.name.trim()))
                .col_expr(approval_flow::Column::Priority, Expr::value(input.priority))
                .col_expr(
                    approval_flow::Column::Condition,
                    Expr::value(input.condition.as_ref().map(json_of).transpose()?),
                )
                .col_expr(approval_flow::Column::Steps, Expr::value(json_of(&input.steps)?))
                .col_expr(approval_flow::Column::Active, Expr::value(input.active));
            let changes = ChangeSet::new()
                .field("name", &before.name, input.name.trim())
                .field("priority", before.priority, input.priority)
                .field("active", before.active, input.active)
                .field("steps", before.steps.len(), input.steps.len());
            (Operation::Update, changes)
        }
        None => {
            update = update.col_expr(approval_flow::Column::DeletedAt, Expr::value(now));
            (Operation::Delete, ChangeSet::new().field("name", &before.name, ()))
        }
    };
    let done = update
        .filter(approval_flow::Column::TenantId.eq(tenant.uuid()))
        .filter(approval_flow::Column::Id.eq(id))
        .filter(approval_flow::Column::Version.eq(expected_version))
        .filter(approval_flow::Column::DeletedAt.is_null())
        .exec(conn)
        .await?;
    if done.rows_affected == 0 {
        return Err(StoreError::version_conflict(expected_version, before.version));
    }
    audit::record(conn, author, FLOW, id, operation, &changes).await?;
    flow(conn, tenant, id).await?.ok_or(StoreError::NotFound)
}

// ---------------------------------------------------------------------------------------
// Submission

/// What a document brings to its submission.
#[derive(Clone, Debug)]
pub struct Submission {
    pub kind: DocumentKind,
    pub document_id: Uuid,
    pub facts: Facts,
    /// The document's owner, for `OwnerManager`.
    pub owner_id: Option<UserId>,
}

/// The users a rule names, for a submitter and a document owner. A manager chain is
/// climbed one statement per level (at most five); inactive users never approve.
async fn resolve<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (submitter, owner): (UserId, Option<UserId>),
    rule: &ApproverRule,
) -> StoreResult<Vec<UserId>> {
    let t = tenant.uuid();
    let manager_of = |user: Uuid| async move {
        let row: Option<Option<Uuid>> = user::Entity::find()
            .select_only()
            .column(user::Column::ManagerId)
            .filter(user::Column::TenantId.eq(t))
            .filter(user::Column::Id.eq(user))
            .into_tuple()
            .one(conn)
            .await?;
        StoreResult::Ok(row.flatten())
    };
    let found: Vec<Uuid> = match rule {
        ApproverRule::User { user_id } => vec![user_id.uuid()],
        ApproverRule::Role { role_id } => {
            user::Entity::find()
                .select_only()
                .column(user::Column::Id)
                .filter(user::Column::TenantId.eq(t))
                .filter(user::Column::RoleId.eq(role_id.uuid()))
                .order_by_asc(user::Column::Id)
                .into_tuple()
                .all(conn)
                .await?
        }
        ApproverRule::Manager { levels } => {
            let mut at = submitter.uuid();
            let mut reached = None;
            for _ in 0..*levels {
                match manager_of(at).await? {
                    Some(manager) => {
                        at = manager;
                        reached = Some(manager);
                    }
                    None => {
                        reached = None;
                        break;
                    }
                }
            }
            reached.into_iter().collect()
        }
        ApproverRule::OwnerManager => match owner {
            Some(owner) => manager_of(owner.uuid()).await?.into_iter().collect(),
            None => vec![],
        },
        ApproverRule::DepartmentHead => {
            let department: Option<Uuid> = user::Entity::find()
                .select_only()
                .column(user::Column::DepartmentId)
                .filter(user::Column::TenantId.eq(t))
                .filter(user::Column::Id.eq(submitter.uuid()))
                .into_tuple()
                .one(conn)
                .await?;
            let head: Option<Option<Uuid>> = match department {
                Some(d) => {
                    department::Entity::find()
                        .select_only()
                        .column(department::Column::HeadId)
                        .filter(department::Column::TenantId.eq(t))
                        .filter(department::Column::Id.eq(d))
                        .into_tuple()
                        .one(conn)
                        .await?
                }
                None => None,
            };
            head.flatten().into_iter().collect()
        }
    };
    // Only active users approve.
    if found.is_empty() {
        return Ok(vec![]);
    }
    let active: Vec<Uuid> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::TenantId.eq(t))
        .filter(user::Column::Id.is_in(found.clone()))
        .filter(user::Column::Status.eq("ACTIVE"))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(found.into_iter().filter(|u| active.contains(u)).map(Into::into).collect())
}

/// Submits a document: picks its flow, resolves the plan, opens the first step's tasks
/// and writes the history. With no flow for the kind, or every step skipped, the request
/// is approved at once. A document already under way is `CONFLICT`.
/// Whether an active flow of `kind` takes a submission with these facts (quotes keep
/// their built-in approval when none does).
pub async fn flow_applies<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    kind: DocumentKind,
    facts: &Facts,
) -> StoreResult<bool> {
    let all = flows(conn, tenant, Some(kind)).await?;
    Ok(flow::select(&all, kind, facts).is_some())
}

/// Submits each new document of a bulk call a flow applies to (`(id, amount, owner)`;
/// the one per-row step of a bulk upsert), with the caller's department for the flow's
/// conditions. Answers the documents whose flow ended at once (every step skipped), with
/// the outcome, for their kind to follow.
pub async fn submit_each<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (kind, department): (DocumentKind, Option<DepartmentId>),
    documents: Vec<(Uuid, Decimal, Option<UserId>)>,
) -> StoreResult<Vec<(Uuid, RequestStatus)>> {
    let mut ended = Vec::new();
    for (id, amount, owner_id) in documents {
        let facts = Facts { amount, discount: Decimal::ZERO, department, customer_level: None };
        let request = submit(conn, author, Submission { kind, document_id: id, facts, owner_id }).await?;
        if request.status != RequestStatus::Pending {
            ended.push((id, request.status));
        }
    }
    Ok(ended)
}

pub async fn submit<C: ConnectionTrait>(conn: &C, author: &Author, submission: Submission) -> StoreResult<Request> {
    let tenant = author.tenant_id;
    // An integration's API key submits on behalf of the document's owner.
    let submitter: UserId = author.user_id.map(Into::into).or(submission.owner_id).ok_or_else(|| {
        StoreError::rejected("id", ErrorCode::Forbidden, "a document without an owner is submitted by a user")
    })?;
    let all = flows(conn, tenant, Some(submission.kind)).await?;
    let chosen = flow::select(&all, submission.kind, &submission.facts);
    let (plan, skipped) = match chosen {
        None => (vec![], vec![]),
        Some(flow) => {
            let mut resolved = std::collections::HashMap::new();
            for rule in flow.steps.iter().flat_map(|s| &s.approvers) {
                let key = serde_json::to_string(rule).unwrap_or_default();
                if let std::collections::hash_map::Entry::Vacant(slot) = resolved.entry(key) {
                    slot.insert(resolve(conn, tenant, (submitter, submission.owner_id), rule).await?);
                }
            }
            engine::plan(&flow.steps, submitter, |rule| {
                resolved.get(&serde_json::to_string(rule).unwrap_or_default()).cloned().unwrap_or_default()
            })?
        }
    };
    let now = Utc::now();
    let id = ApprovalRequestId::new();
    let status = if plan.is_empty() { RequestStatus::Approved } else { RequestStatus::Pending };
    let model = approval_request::Entity::insert(approval_request::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id.uuid()),
        kind: Set(submission.kind.as_str().to_owned()),
        document_id: Set(submission.document_id),
        flow_id: Set(chosen.map(|f| f.id.uuid())),
        submitter_id: Set(submitter.uuid()),
        plan: Set(json_of(&plan)?),
        step: Set(0),
        status: Set(status.as_str().to_owned()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            StoreError::rejected("id", ErrorCode::Conflict, "the document is already waiting for approval")
        }
        _ => StoreError::Database(e),
    })?;
    let request = request_of(model)?;
    let mut history = vec![(ActionKind::Submit, None, None, None)];
    history.extend(skipped.into_iter().map(|name| (ActionKind::Skip, None, None, Some(name))));
    write_history(conn, author, (&request, None), &history).await?;
    if let Some(first) = plan.first() {
        open_tasks(conn, tenant, &request, 0, &first.approvers).await?;
    }
    Ok(request)
}

async fn open_tasks<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    request: &Request,
    step: usize,
    approvers: &[UserId],
) -> StoreResult<()> {
    if approvers.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let rows = approvers.iter().map(|approver| approval_task::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(ApprovalTaskId::new().uuid()),
        request_id: Set(request.id.uuid()),
        kind: Set(request.kind.as_str().to_owned()),
        document_id: Set(request.document_id),
        step: Set(i32::try_from(step).unwrap_or(i32::MAX)),
        approver_id: Set(approver.uuid()),
        status: Set(TaskStatus::Pending.as_str().to_owned()),
        comment: Set(None),
        acted_at: Set(None),
        created_at: Set(now),
    });
    approval_task::Entity::insert_many(rows).exec(conn).await?;
    Ok(())
}

type HistoryRow = (ActionKind, Option<i32>, Option<Uuid>, Option<String>);

async fn write_history<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (request, on_behalf_of): (&Request, Option<UserId>),
    rows: &[HistoryRow],
) -> StoreResult<()> {
    let now = Utc::now();
    let models = rows.iter().map(|(action, step, target, comment)| approval_action::ActiveModel {
        tenant_id: Set(author.tenant_id.uuid()),
        id: Set(Uuid::now_v7()),
        request_id: Set(request.id.uuid()),
        kind: Set(request.kind.as_str().to_owned()),
        document_id: Set(request.document_id),
        step: Set(*step),
        action: Set(action.as_str().to_owned()),
        actor_id: Set(author.user_id),
        target_id: Set(*target),
        on_behalf_of: Set(on_behalf_of.map(UserId::uuid)),
        comment: Set(comment.clone()),
        created_at: Set(now),
    });
    approval_action::Entity::insert_many(models).exec(conn).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Actions

pub async fn request<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<Option<Request>> {
    approval_request::Entity::find_by_id((tenant.uuid(), id)).one(conn).await?.map(request_of).transpose()
}

/// The latest request of each document.
pub async fn latest_requests<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    documents: &[Uuid],
) -> StoreResult<Vec<Request>> {
    if documents.is_empty() {
        return Ok(vec![]);
    }
    let rows = approval_request::Entity::find()
        .filter(approval_request::Column::TenantId.eq(tenant.uuid()))
        .filter(approval_request::Column::DocumentId.is_in(documents.to_vec()))
        .order_by_asc(approval_request::Column::Id)
        .all(conn)
        .await?;
    let mut latest: std::collections::HashMap<Uuid, approval_request::Model> = std::collections::HashMap::new();
    for row in rows {
        latest.insert(row.document_id, row);
    }
    latest.into_values().map(request_of).collect()
}

/// The open request of a document, if any.
pub async fn pending_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    document: Uuid,
) -> StoreResult<Option<Request>> {
    approval_request::Entity::find()
        .filter(approval_request::Column::TenantId.eq(tenant.uuid()))
        .filter(approval_request::Column::DocumentId.eq(document))
        .filter(approval_request::Column::Status.eq(RequestStatus::Pending.as_str()))
        .one(conn)
        .await?
        .map(request_of)
        .transpose()
}

/// Takes one action on a request and writes what it changes. Returns the request after
/// the action. `CONFLICT` when someone acted first; `NOT_FOUND` when the caller has no
/// part in the request.
pub async fn act<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    request_id: Uuid,
    act: &Act,
    comment: Option<String>,
) -> StoreResult<Request> {
    let by: UserId = author.user_id.map(Into::into).ok_or(StoreError::NotFound)?;
    act_as(conn, author, (request_id, by), act, comment).await
}

/// [`act`] in the place of `by`: an administrator (`approval.manage`) hands a stuck
/// approver's task to someone else, or withdraws a request for its submitter. The history
/// and the change events name the administrator; the engine's rules are `by`'s.
pub async fn act_as<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (request_id, by): (Uuid, UserId),
    act: &Act,
    comment: Option<String>,
) -> StoreResult<Request> {
    let tenant = author.tenant_id;
    let before = request(conn, tenant, request_id).await?.ok_or(StoreError::NotFound)?;
    // The caller's tasks of this request: none (and not the submitter) means no part in it.
    let theirs = approval_task::Entity::find()
        .filter(approval_task::Column::TenantId.eq(tenant.uuid()))
        .filter(approval_task::Column::RequestId.eq(request_id))
        .filter(approval_task::Column::ApproverId.eq(by.uuid()))
        .all(conn)
        .await?;
    if before.submitter != by && theirs.is_empty() {
        return Err(StoreError::NotFound);
    }
    // The step the caller saw: their pending task's, or the current one for a withdrawal.
    let mine = theirs.iter().find(|t| t.status == TaskStatus::Pending.as_str());
    let step = mine.as_ref().map_or(i32::try_from(before.step).unwrap_or(0), |t| t.step);
    let locked = approval_request::Entity::update_many()
        .col_expr(approval_request::Column::Version, Expr::col(approval_request::Column::Version).add(1))
        .col_expr(approval_request::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(approval_request::Column::TenantId.eq(tenant.uuid()))
        .filter(approval_request::Column::Id.eq(request_id))
        .filter(approval_request::Column::Status.eq(RequestStatus::Pending.as_str()))
        .filter(approval_request::Column::Step.eq(step))
        .exec(conn)
        .await?;
    if locked.rows_affected == 0 {
        return Err(StoreError::rejected("id", ErrorCode::Conflict, "someone acted on this approval first: reload it"));
    }
    let current = request(conn, tenant, request_id).await?.ok_or(StoreError::NotFound)?;
    let tasks: Vec<Task> = approval_task::Entity::find()
        .filter(approval_task::Column::TenantId.eq(tenant.uuid()))
        .filter(approval_task::Column::RequestId.eq(request_id))
        .filter(approval_task::Column::Step.eq(step))
        .all(conn)
        .await?
        .into_iter()
        .map(task_of)
        .collect::<StoreResult<_>>()?;
    let effect = current.act(&tasks, by, act).map_err(|refusal| match refusal {
        Refusal::Conflict(why) => StoreError::rejected("id", ErrorCode::Conflict, why),
        Refusal::NotYours => StoreError::rejected("id", ErrorCode::Forbidden, "this approval is not waiting on you"),
        Refusal::Invalid(error) => error.into(),
    })?;
    apply(conn, author, &current, &effect, comment.clone()).await?;
    let (kind, target) = match act {
        Act::Approve => (ActionKind::Approve, None),
        Act::Reject => (ActionKind::Reject, None),
        Act::Return { .. } => (ActionKind::Return, None),
        Act::Withdraw => (ActionKind::Withdraw, None),
        Act::Delegate { to } => (ActionKind::Delegate, Some(to.uuid())),
    };
    let on_behalf = (author.user_id != Some(by.uuid())).then_some(by);
    write_history(conn, author, (&current, on_behalf), &[(kind, Some(step + 1), target, comment)]).await?;
    let after = request(conn, tenant, request_id).await?.ok_or(StoreError::NotFound)?;
    // Every action is also a change on its document (its timeline and the change feed).
    let changes = ChangeSet::new()
        .field("approval", (), kind.as_str())
        .field("approvalStep", (), step + 1)
        .field("approvalStatus", current.status.as_str(), after.status.as_str())
        .field("onBehalfOf", (), on_behalf);
    audit::record(conn, author, document_entity(current.kind), current.document_id, Operation::Update, &changes)
        .await?;
    Ok(after)
}

async fn apply<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    request: &Request,
    effect: &Effect,
    comment: Option<String>,
) -> StoreResult<()> {
    let tenant = author.tenant_id.uuid();
    let now = Utc::now();
    if let Some((task, status)) = effect.task {
        approval_task::Entity::update_many()
            .col_expr(approval_task::Column::Status, Expr::value(status.as_str()))
            .col_expr(approval_task::Column::Comment, Expr::value(comment))
            .col_expr(approval_task::Column::ActedAt, Expr::value(now))
            .filter(approval_task::Column::TenantId.eq(tenant))
            .filter(approval_task::Column::Id.eq(task.uuid()))
            .exec(conn)
            .await?;
    }
    if effect.close_pending {
        approval_task::Entity::update_many()
            .col_expr(approval_task::Column::Status, Expr::value(TaskStatus::Closed.as_str()))
            .col_expr(approval_task::Column::ActedAt, Expr::value(now))
            .filter(approval_task::Column::TenantId.eq(tenant))
            .filter(approval_task::Column::RequestId.eq(request.id.uuid()))
            .filter(approval_task::Column::Status.eq(TaskStatus::Pending.as_str()))
            .exec(conn)
            .await?;
    }
    if let Some((step, approvers)) = &effect.open {
        open_tasks(conn, author.tenant_id, request, *step, approvers).await?;
    }
    approval_request::Entity::update_many()
        .col_expr(approval_request::Column::Status, Expr::value(effect.status.as_str()))
        .col_expr(approval_request::Column::Step, Expr::value(i32::try_from(effect.step).unwrap_or(0)))
        .filter(approval_request::Column::TenantId.eq(tenant))
        .filter(approval_request::Column::Id.eq(request.id.uuid()))
        .exec(conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Reads

/// The history rows of any mix of documents, oldest first.
pub async fn history_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    documents: &[Uuid],
) -> StoreResult<Vec<HistoryEntry>> {
    if documents.is_empty() {
        return Ok(vec![]);
    }
    let rows = approval_action::Entity::find()
        .filter(approval_action::Column::TenantId.eq(tenant.uuid()))
        .filter(approval_action::Column::DocumentId.is_in(documents.to_vec()))
        .order_by_asc(approval_action::Column::Id)
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|m| {
            Ok(HistoryEntry {
                id: m.id,
                request_id: m.request_id.into(),
                document_id: m.document_id,
                step: m.step,
                action: Cell::of("approval_actions", m.id, "action").text(&m.action, ActionKind::parse)?,
                actor_id: m.actor_id.map(Into::into),
                on_behalf_of: m.on_behalf_of.map(Into::into),
                target_id: m.target_id.map(Into::into),
                comment: m.comment,
                created_at: m.created_at,
            })
        })
        .collect()
}

/// A task and the request it belongs to.
#[derive(Clone, Debug)]
pub struct QueuedTask {
    pub task: Task,
    pub kind: DocumentKind,
    pub document_id: Uuid,
}

fn queued(m: approval_task::Model) -> StoreResult<QueuedTask> {
    let kind = Cell::of("approval_tasks", m.id, "kind").text(&m.kind, DocumentKind::parse)?;
    let document_id = m.document_id;
    Ok(QueuedTask { task: task_of(m)?, kind, document_id })
}

/// One page of the caller's tasks, newest first: pending ones, or the ones they decided.
/// Keyset on the task id (UUIDv7, so creation order).
pub async fn tasks_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    approver: UserId,
    (pending, kind): (bool, Option<DocumentKind>),
    (before, limit): (Option<Uuid>, u64),
) -> StoreResult<Vec<QueuedTask>> {
    let mut query = approval_task::Entity::find()
        .filter(approval_task::Column::TenantId.eq(tenant.uuid()))
        .filter(approval_task::Column::ApproverId.eq(approver.uuid()));
    query = if pending {
        query.filter(approval_task::Column::Status.eq(TaskStatus::Pending.as_str()))
    } else {
        query.filter(approval_task::Column::Status.is_in([
            TaskStatus::Approved.as_str(),
            TaskStatus::Rejected.as_str(),
            TaskStatus::Returned.as_str(),
            TaskStatus::Delegated.as_str(),
        ]))
    };
    if let Some(kind) = kind {
        query = query.filter(approval_task::Column::Kind.eq(kind.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(approval_task::Column::Id.lt(before));
    }
    let rows = query.order_by_desc(approval_task::Column::Id).limit(limit).all(conn).await?;
    rows.into_iter().map(queued).collect()
}

/// Pending tasks of one approver created after `after` (the notification subscription).
pub async fn new_tasks_since<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    approver: UserId,
    after: Uuid,
) -> StoreResult<Vec<QueuedTask>> {
    let rows = approval_task::Entity::find()
        .filter(approval_task::Column::TenantId.eq(tenant.uuid()))
        .filter(approval_task::Column::ApproverId.eq(approver.uuid()))
        .filter(approval_task::Column::Status.eq(TaskStatus::Pending.as_str()))
        .filter(approval_task::Column::Id.gt(after))
        .order_by_asc(approval_task::Column::Id)
        .limit(100)
        .all(conn)
        .await?;
    rows.into_iter().map(queued).collect()
}

/// Requests by id that `participant` submitted or holds a task of (anyone else's are not
/// found).
pub async fn requests<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    participant: UserId,
    ids: &[Uuid],
) -> StoreResult<Vec<Request>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let tasks_of_participant = sea_orm::sea_query::Query::select()
        .column(approval_task::Column::RequestId)
        .from(approval_task::Entity)
        .and_where(approval_task::Column::TenantId.eq(tenant.uuid()))
        .and_where(approval_task::Column::ApproverId.eq(participant.uuid()))
        .to_owned();
    let rows = approval_request::Entity::find()
        .filter(approval_request::Column::TenantId.eq(tenant.uuid()))
        .filter(approval_request::Column::Id.is_in(ids.to_vec()))
        .filter(
            sea_orm::Condition::any()
                .add(approval_request::Column::SubmitterId.eq(participant.uuid()))
                .add(approval_request::Column::Id.in_subquery(tasks_of_participant)),
        )
        .all(conn)
        .await?;
    rows.into_iter().map(request_of).collect()
}

/// The pending tasks of some requests.
pub async fn pending_tasks<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    requests: &[Uuid],
) -> StoreResult<Vec<Task>> {
    if requests.is_empty() {
        return Ok(vec![]);
    }
    let rows = approval_task::Entity::find()
        .filter(approval_task::Column::TenantId.eq(tenant.uuid()))
        .filter(approval_task::Column::RequestId.is_in(requests.to_vec()))
        .filter(approval_task::Column::Status.eq(TaskStatus::Pending.as_str()))
        .order_by_asc(approval_task::Column::Id)
        .all(conn)
        .await?;
    rows.into_iter().map(task_of).collect()
}
