//! A submission's way through its flow. At submission each step's approver rules are
//! resolved to users ([`plan`]); the plan is kept with the request, so later changes to
//! the flow or the organisation do not move a request under way. Each approver of the
//! current step holds a task; [`act`] decides what an action does to the tasks and the
//! request, and the store writes it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{ApprovalFlowId, ApprovalRequestId, ApprovalTaskId, UserId};

use super::flow::{ApproverRule, DocumentKind, Step, StepMode};

text_enum! {
    /// Where a request stands; the document's own status follows it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum RequestStatus {
        Pending => "PENDING", "审批中";
        Approved => "APPROVED", "已通过";
        Rejected => "REJECTED", "已驳回";
        Withdrawn => "WITHDRAWN", "已撤回";
    }
}

text_enum! {
    /// One approver's task.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum TaskStatus {
        Pending => "PENDING", "待处理";
        Approved => "APPROVED", "已同意";
        Rejected => "REJECTED", "已驳回";
        Returned => "RETURNED", "已退回";
        Delegated => "DELEGATED", "已转交";
        /// Another approver completed the step, or the request ended.
        Closed => "CLOSED", "已关闭";
    }
}

text_enum! {
    /// A row of a document's approval history.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum ActionKind {
        Submit => "SUBMIT", "提交";
        Approve => "APPROVE", "同意";
        Reject => "REJECT", "驳回";
        Return => "RETURN", "退回";
        Withdraw => "WITHDRAW", "撤回";
        Delegate => "DELEGATE", "转交";
        /// A step whose only approver was the submitter.
        Skip => "SKIP", "跳过";
    }
}

/// A step as submitted: its approvers resolved to users.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStep {
    pub name: String,
    pub mode: StepMode,
    pub approvers: Vec<UserId>,
}

/// The steps a submission takes, and the names of the steps skipped because the
/// submitter would have approved their own document. A step whose rules find nobody (a
/// manager the submitter does not have, a role nobody holds) refuses the submission:
/// approving by default would let a missing manager wave documents through.
pub fn plan(
    steps: &[Step],
    submitter: UserId,
    resolve: impl Fn(&ApproverRule) -> Vec<UserId>,
) -> Result<(Vec<PlannedStep>, Vec<String>), Invalid> {
    let mut planned = Vec::new();
    let mut skipped = Vec::new();
    let mut invalid = Invalid::default();
    for (i, step) in steps.iter().enumerate() {
        let mut approvers: Vec<UserId> = Vec::new();
        for user in step.approvers.iter().flat_map(&resolve) {
            if !approvers.contains(&user) {
                approvers.push(user);
            }
        }
        if approvers.is_empty() {
            invalid.push(FieldError::new(
                format!("steps.{i}"),
                ErrorCode::Invalid,
                format!("step {} ({}) has no approver", i + 1, step.name),
            ));
            continue;
        }
        if step.skip_submitter && approvers.contains(&submitter) {
            approvers.retain(|u| *u != submitter);
            if step.mode == StepMode::Any || approvers.is_empty() {
                skipped.push(step.name.clone());
                continue;
            }
        }
        planned.push(PlannedStep { name: step.name.clone(), mode: step.mode, approvers });
    }
    invalid.into_result().map(|()| (planned, skipped))
}

/// One task of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub id: ApprovalTaskId,
    pub request_id: ApprovalRequestId,
    pub step: usize,
    pub approver: UserId,
    pub status: TaskStatus,
    pub comment: Option<String>,
    pub acted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A submission of one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub id: ApprovalRequestId,
    pub kind: DocumentKind,
    pub document_id: uuid::Uuid,
    pub flow_id: Option<ApprovalFlowId>,
    pub submitter: UserId,
    pub plan: Vec<PlannedStep>,
    /// The current step (an index into `plan`).
    pub step: usize,
    pub status: RequestStatus,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an approver or the submitter does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Act {
    Approve,
    /// Ends the request; the document goes back to its submitter.
    Reject,
    /// Back to an earlier step (its approvers decide again).
    Return {
        to_step: usize,
    },
    /// The submitter takes the document back while it is pending.
    Withdraw,
    /// Hands the caller's task to another user in the same step.
    Delegate {
        to: UserId,
    },
}

/// Why an action is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The request is no longer pending, or the caller's task was already decided:
    /// someone acted first.
    Conflict(String),
    /// The caller has no task in the current step (or is not the submitter).
    NotYours,
    Invalid(FieldError),
}

/// What an action changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effect {
    /// The caller's task and what it becomes (none for a withdrawal).
    pub task: Option<(ApprovalTaskId, TaskStatus)>,
    /// Close every other pending task of the request.
    pub close_pending: bool,
    /// Open tasks for these users in this step.
    pub open: Option<(usize, Vec<UserId>)>,
    pub status: RequestStatus,
    pub step: usize,
}

impl Request {
    /// The decision of `by` acting with `act`, given the request's tasks of its current step.
    pub fn act(&self, tasks: &[Task], by: UserId, act: &Act) -> Result<Effect, Refusal> {
        if self.status != RequestStatus::Pending {
            return Err(Refusal::Conflict(format!("the approval is already {}", self.status.label_zh())));
        }
        let current: Vec<&Task> = tasks.iter().filter(|t| t.step == self.step).collect();
        let stay =
            |task, close_pending, open| Effect { task, close_pending, open, status: self.status, step: self.step };
        if *act == Act::Withdraw {
            if by != self.submitter {
                return Err(Refusal::NotYours);
            }
            return Ok(Effect { status: RequestStatus::Withdrawn, ..stay(None, true, None) });
        }
        let mine = current.iter().find(|t| t.approver == by && t.status == TaskStatus::Pending);
        let Some(mine) = mine else {
            return if current.iter().any(|t| t.approver == by) {
                Err(Refusal::Conflict("this task was already decided".into()))
            } else {
                Err(Refusal::NotYours)
            };
        };
        let task = mine.id;
        match act {
            Act::Approve => {
                let mode = self.plan.get(self.step).map_or(StepMode::Any, |s| s.mode);
                let others_pending = current.iter().any(|t| t.id != task && t.status == TaskStatus::Pending);
                if mode == StepMode::All && others_pending {
                    return Ok(stay(Some((task, TaskStatus::Approved)), false, None));
                }
                let next = self.step + 1;
                match self.plan.get(next) {
                    Some(step) => Ok(Effect {
                        step: next,
                        ..stay(Some((task, TaskStatus::Approved)), true, Some((next, step.approvers.clone())))
                    }),
                    None => Ok(Effect {
                        status: RequestStatus::Approved,
                        ..stay(Some((task, TaskStatus::Approved)), true, None)
                    }),
                }
            }
            Act::Reject => {
                Ok(Effect { status: RequestStatus::Rejected, ..stay(Some((task, TaskStatus::Rejected)), true, None) })
            }
            Act::Return { to_step } => {
                if *to_step >= self.step {
                    return Err(Refusal::Invalid(FieldError::new(
                        "toStep",
                        ErrorCode::Invalid,
                        format!("an earlier step: 1 to {} (reject to send it back to the submitter)", self.step),
                    )));
                }
                let approvers = self.plan[*to_step].approvers.clone();
                Ok(Effect {
                    step: *to_step,
                    ..stay(Some((task, TaskStatus::Returned)), true, Some((*to_step, approvers)))
                })
            }
            Act::Delegate { to } => {
                // Not the submitter (who would approve their own document), and nobody with a
                // part in this step already (whose vote would count twice).
                if *to == self.submitter || current.iter().any(|t| t.approver == *to) {
                    return Err(Refusal::Invalid(FieldError::new(
                        "toUserId",
                        ErrorCode::Invalid,
                        "someone other than the submitter, with no part in this step yet",
                    )));
                }
                Ok(stay(Some((task, TaskStatus::Delegated)), false, Some((self.step, vec![*to]))))
            }
            Act::Withdraw => Err(Refusal::NotYours),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::type_complexity)]

    use super::*;
    use crate::approval::flow::StepMode::{All, Any};

    fn users(n: usize) -> Vec<UserId> {
        (0..n).map(|_| UserId::new()).collect()
    }

    fn step(mode: StepMode, rule: ApproverRule, skip_submitter: bool) -> Step {
        Step { name: "s".into(), approvers: vec![rule], mode, skip_submitter }
    }

    #[test]
    fn a_plan_resolves_rules_and_skips_the_submitter_where_asked() {
        let u = users(4);
        let (submitter, manager, boss, other) = (u[0], u[1], u[2], u[3]);
        let resolve = |rule: &ApproverRule| match rule {
            ApproverRule::Manager { levels: 1 } => vec![manager],
            ApproverRule::Manager { levels: 2 } => vec![boss],
            ApproverRule::Manager { .. } => vec![],
            ApproverRule::User { user_id } => vec![*user_id],
            ApproverRule::Role { .. } => vec![submitter, other, other],
            ApproverRule::DepartmentHead | ApproverRule::OwnerManager => vec![submitter],
        };
        let role = ApproverRule::Role { role_id: crate::ids::RoleId::new() };
        let cases: Vec<(Vec<Step>, Result<(Vec<Vec<UserId>>, usize), ()>)> = vec![
            (
                vec![
                    step(Any, ApproverRule::Manager { levels: 1 }, false),
                    step(Any, ApproverRule::Manager { levels: 2 }, false),
                ],
                Ok((vec![vec![manager], vec![boss]], 0)),
            ),
            // An ANY step the submitter could approve is skipped.
            (vec![step(Any, ApproverRule::DepartmentHead, true)], Ok((vec![], 1))),
            (vec![step(Any, ApproverRule::DepartmentHead, false)], Ok((vec![vec![submitter]], 0))),
            // An ALL step waits on the others, deduplicated.
            (vec![step(All, role.clone(), true)], Ok((vec![vec![other]], 0))),
            (vec![step(All, role, false)], Ok((vec![vec![submitter, other]], 0))),
            // Nobody five levels up: refused.
            (vec![step(Any, ApproverRule::Manager { levels: 5 }, true)], Err(())),
        ];
        for (steps, expected) in cases {
            let got = plan(&steps, submitter, resolve)
                .map(|(p, skipped)| (p.into_iter().map(|s| s.approvers).collect::<Vec<_>>(), skipped.len()))
                .map_err(|_| ());
            assert_eq!(got, expected, "{steps:?}");
        }
    }

    struct Case {
        plan: Vec<(StepMode, Vec<usize>)>,
        step: usize,
        tasks: Vec<(usize, TaskStatus)>,
        by: usize,
        act: Act,
        expected: Result<(Option<TaskStatus>, bool, Option<(usize, Vec<usize>)>, RequestStatus, usize), &'static str>,
    }

    #[test]
    fn actions_move_tasks_and_requests() {
        let u = users(6);
        let submitter = 5;
        use RequestStatus as R;
        use TaskStatus as T;
        let cases = vec![
            // ANY: the first approval completes the step and opens the next.
            Case {
                plan: vec![(Any, vec![0, 1]), (Any, vec![2])],
                step: 0,
                tasks: vec![(0, T::Pending), (1, T::Pending)],
                by: 1,
                act: Act::Approve,
                expected: Ok((Some(T::Approved), true, Some((1, vec![2])), R::Pending, 1)),
            },
            // The last step approved approves the request.
            Case {
                plan: vec![(Any, vec![0]), (Any, vec![2])],
                step: 1,
                tasks: vec![(2, T::Pending)],
                by: 2,
                act: Act::Approve,
                expected: Ok((Some(T::Approved), true, None, R::Approved, 1)),
            },
            // ALL: waits for the others.
            Case {
                plan: vec![(All, vec![0, 1])],
                step: 0,
                tasks: vec![(0, T::Pending), (1, T::Pending)],
                by: 0,
                act: Act::Approve,
                expected: Ok((Some(T::Approved), false, None, R::Pending, 0)),
            },
            Case {
                plan: vec![(All, vec![0, 1])],
                step: 0,
                tasks: vec![(0, T::Approved), (1, T::Pending)],
                by: 1,
                act: Act::Approve,
                expected: Ok((Some(T::Approved), true, None, R::Approved, 0)),
            },
            // An ANY step someone else already completed: the loser's task is closed.
            Case {
                plan: vec![(Any, vec![0, 1]), (Any, vec![2])],
                step: 1,
                tasks: vec![(2, T::Pending)],
                by: 1,
                act: Act::Approve,
                expected: Err("not yours"),
            },
            Case {
                plan: vec![(Any, vec![0, 1])],
                step: 0,
                tasks: vec![(0, T::Approved), (1, T::Closed)],
                by: 1,
                act: Act::Approve,
                expected: Err("conflict"),
            },
            // Reject ends it.
            Case {
                plan: vec![(All, vec![0, 1])],
                step: 0,
                tasks: vec![(0, T::Pending), (1, T::Pending)],
                by: 0,
                act: Act::Reject,
                expected: Ok((Some(T::Rejected), true, None, R::Rejected, 0)),
            },
            // Return to an earlier step reopens its approvers.
            Case {
                plan: vec![(Any, vec![0]), (Any, vec![1, 2])],
                step: 1,
                tasks: vec![(1, T::Pending), (2, T::Pending)],
                by: 2,
                act: Act::Return { to_step: 0 },
                expected: Ok((Some(T::Returned), true, Some((0, vec![0])), R::Pending, 0)),
            },
            Case {
                plan: vec![(Any, vec![0])],
                step: 0,
                tasks: vec![(0, T::Pending)],
                by: 0,
                act: Act::Return { to_step: 0 },
                expected: Err("invalid"),
            },
            // Delegate hands the task over in the same step.
            Case {
                plan: vec![(All, vec![0, 1])],
                step: 0,
                tasks: vec![(0, T::Pending), (1, T::Pending)],
                by: 0,
                act: Act::Delegate { to: u[3] },
                expected: Ok((Some(T::Delegated), false, Some((0, vec![3])), R::Pending, 0)),
            },
            Case {
                plan: vec![(All, vec![0, 1])],
                step: 0,
                tasks: vec![(0, T::Pending), (1, T::Pending)],
                by: 0,
                act: Act::Delegate { to: u[1] },
                expected: Err("invalid"),
            },
            // Not to someone who already approved in the step, nor to the submitter.
            Case {
                plan: vec![(All, vec![0, 1])],
                step: 0,
                tasks: vec![(0, T::Pending), (1, T::Approved)],
                by: 0,
                act: Act::Delegate { to: u[1] },
                expected: Err("invalid"),
            },
            Case {
                plan: vec![(Any, vec![0])],
                step: 0,
                tasks: vec![(0, T::Pending)],
                by: 0,
                act: Act::Delegate { to: u[submitter] },
                expected: Err("invalid"),
            },
            // Withdraw: the submitter only.
            Case {
                plan: vec![(Any, vec![0])],
                step: 0,
                tasks: vec![(0, T::Pending)],
                by: submitter,
                act: Act::Withdraw,
                expected: Ok((None, true, None, R::Withdrawn, 0)),
            },
            Case {
                plan: vec![(Any, vec![0])],
                step: 0,
                tasks: vec![(0, T::Pending)],
                by: 0,
                act: Act::Withdraw,
                expected: Err("not yours"),
            },
            // Strangers have no say.
            Case {
                plan: vec![(Any, vec![0])],
                step: 0,
                tasks: vec![(0, T::Pending)],
                by: 4,
                act: Act::Approve,
                expected: Err("not yours"),
            },
        ];
        for (n, case) in cases.into_iter().enumerate() {
            let request = Request {
                id: ApprovalRequestId::new(),
                kind: DocumentKind::Contract,
                document_id: uuid::Uuid::now_v7(),
                flow_id: None,
                submitter: u[submitter],
                plan: case
                    .plan
                    .iter()
                    .map(|(mode, who)| PlannedStep {
                        name: "s".into(),
                        mode: *mode,
                        approvers: who.iter().map(|i| u[*i]).collect(),
                    })
                    .collect(),
                step: case.step,
                status: RequestStatus::Pending,
                version: 1,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            };
            let tasks: Vec<Task> = case
                .tasks
                .iter()
                .map(|(who, status)| Task {
                    id: ApprovalTaskId::new(),
                    request_id: request.id,
                    step: case.step,
                    approver: u[*who],
                    status: *status,
                    comment: None,
                    acted_at: None,
                    created_at: Utc::now(),
                })
                .collect();
            let act = case.act;
            let got = request.act(&tasks, u[case.by], &act).map(|e| {
                let mine = e.task.map(|(id, status)| {
                    assert!(
                        tasks.iter().any(|t| t.id == id && t.approver == u[case.by]),
                        "case {n}: the caller's task"
                    );
                    status
                });
                let open = e.open.map(|(step, who)| (step, who.iter().map(|w| index_of(&u, *w)).collect()));
                (mine, e.close_pending, open, e.status, e.step)
            });
            let got = got.map_err(|r| match r {
                Refusal::Conflict(_) => "conflict",
                Refusal::NotYours => "not yours",
                Refusal::Invalid(_) => "invalid",
            });
            assert_eq!(got, case.expected, "case {n}");
        }
        let done = Request { status: RequestStatus::Approved, ..sample(&u) };
        assert!(matches!(done.act(&[], u[0], &Act::Approve), Err(Refusal::Conflict(_))));
    }

    fn index_of(u: &[UserId], id: UserId) -> usize {
        u.iter().position(|x| *x == id).unwrap_or(usize::MAX)
    }

    fn sample(u: &[UserId]) -> Request {
        Request {
            id: ApprovalRequestId::new(),
            kind: DocumentKind::Contract,
            document_id: uuid::Uuid::now_v7(),
            flow_id: None,
            submitter: u[0],
            plan: vec![],
            step: 0,
            status: RequestStatus::Pending,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }
}
