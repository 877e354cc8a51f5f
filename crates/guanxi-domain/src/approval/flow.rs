//! Approval flows: per kind of document, a condition that picks the flow and the steps it
//! takes. A submission takes the first active flow of its kind (by priority) whose
//! condition holds, else the kind's default flow (the one without a condition), else no
//! flow at all: then the document is approved when submitted.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{ApprovalFlowId, DepartmentId, RoleId, UserId};

text_enum! {
    /// What kind of document a flow approves.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum DocumentKind {
        Contract => "CONTRACT", "合同";
        Receipt => "RECEIPT", "回款";
        Invoice => "INVOICE", "开票申请";
        /// A quote whose discount is above the tenant's threshold.
        Quote => "QUOTE", "报价折扣";
    }
}

text_enum! {
    /// How a step completes: on any one of its approvers (或签) or on all of them (会签).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub enum StepMode {
        Any => "ANY", "或签";
        All => "ALL", "会签";
    }
}

/// Who approves a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApproverRule {
    /// A named user.
    User { user_id: UserId },
    /// Every active user holding a role.
    Role { role_id: RoleId },
    /// The submitter's manager `levels` up the management chain (1 is the direct manager).
    Manager { levels: u8 },
    /// The head of the submitter's department.
    DepartmentHead,
    /// The manager of the document's owner.
    OwnerManager,
}

/// The most levels a `Manager` rule climbs.
pub const MAX_MANAGER_LEVELS: u8 = 5;
pub const MAX_STEPS: usize = 10;
pub const MAX_APPROVER_RULES: usize = 20;

/// One step of a flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    pub approvers: Vec<ApproverRule>,
    pub mode: StepMode,
    /// The submitter, when among the approvers, does not approve their own document: an
    /// ANY step they could approve is skipped, and an ALL step waits only on the others.
    pub skip_submitter: bool,
}

/// What picks a flow; every part given must hold. A flow without a condition is its
/// kind's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// The document's amount is above this.
    pub amount_above: Option<Decimal>,
    /// The document's discount is above this percentage.
    pub discount_above: Option<Decimal>,
    /// The submitter is in one of these departments.
    pub departments: Vec<DepartmentId>,
    /// The customer has one of these levels.
    pub customer_levels: Vec<String>,
}

impl Condition {
    pub fn holds(&self, facts: &Facts) -> bool {
        self.amount_above.is_none_or(|above| facts.amount > above)
            && self.discount_above.is_none_or(|above| facts.discount > above)
            && (self.departments.is_empty() || facts.department.is_some_and(|d| self.departments.contains(&d)))
            && (self.customer_levels.is_empty()
                || facts.customer_level.as_ref().is_some_and(|l| self.customer_levels.contains(l)))
    }

    fn is_empty(&self) -> bool {
        self.amount_above.is_none()
            && self.discount_above.is_none()
            && self.departments.is_empty()
            && self.customer_levels.is_empty()
    }
}

/// A flow as a tenant defines it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    pub id: ApprovalFlowId,
    pub kind: DocumentKind,
    pub name: String,
    /// Lower first among the conditional flows of a kind.
    pub priority: i32,
    /// `None` for the kind's default flow.
    pub condition: Option<Condition>,
    pub steps: Vec<Step>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What flow selection looks at in a submission.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub amount: Decimal,
    pub discount: Decimal,
    /// The submitter's department.
    pub department: Option<DepartmentId>,
    pub customer_level: Option<String>,
}

/// The flow a submission takes: the first active conditional flow (by priority, then
/// age) whose condition holds, else the active default flow.
pub fn select<'a>(flows: &'a [Flow], kind: DocumentKind, facts: &Facts) -> Option<&'a Flow> {
    let mut candidates: Vec<&Flow> = flows.iter().filter(|f| f.kind == kind && f.active).collect();
    candidates.sort_by_key(|f| (f.condition.is_none(), f.priority, f.id));
    candidates.into_iter().find(|f| f.condition.as_ref().is_none_or(|c| c.holds(facts)))
}

/// A flow's name, condition and steps, checked; every bad field is listed.
pub fn check(name: &str, condition: Option<&Condition>, steps: &[Step]) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        invalid.push(FieldError::new("name", ErrorCode::Invalid, "a name of 1 to 50 characters"));
    }
    if let Some(condition) = condition {
        if condition.is_empty() {
            invalid.push(FieldError::new(
                "condition",
                ErrorCode::Invalid,
                "a condition names at least one of amount, discount, departments or customer levels (leave it out for the default flow)",
            ));
        }
        for (field, value) in
            [("condition.amountAbove", condition.amount_above), ("condition.discountAbove", condition.discount_above)]
        {
            if value.is_some_and(|v| v < Decimal::ZERO) {
                invalid.push(FieldError::new(field, ErrorCode::Invalid, "must not be negative"));
            }
        }
    }
    if steps.is_empty() || steps.len() > MAX_STEPS {
        invalid.push(FieldError::new("steps", ErrorCode::Invalid, format!("1 to {MAX_STEPS} steps")));
    }
    for (i, step) in steps.iter().enumerate() {
        let at = |field: &str| format!("steps.{i}.{field}");
        if step.name.trim().is_empty() || step.name.chars().count() > 50 {
            invalid.push(FieldError::new(at("name"), ErrorCode::Invalid, "a name of 1 to 50 characters"));
        }
        if step.approvers.is_empty() || step.approvers.len() > MAX_APPROVER_RULES {
            invalid.push(FieldError::new(
                at("approvers"),
                ErrorCode::Invalid,
                format!("1 to {MAX_APPROVER_RULES} approvers"),
            ));
        }
        for rule in &step.approvers {
            if let ApproverRule::Manager { levels } = rule
                && !(1..=MAX_MANAGER_LEVELS).contains(levels)
            {
                invalid.push(FieldError::new(
                    at("approvers"),
                    ErrorCode::Invalid,
                    format!("a manager 1 to {MAX_MANAGER_LEVELS} levels up"),
                ));
            }
        }
    }
    invalid.into_result()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn flow(priority: i32, condition: Option<Condition>) -> Flow {
        Flow {
            id: ApprovalFlowId::new(),
            kind: DocumentKind::Contract,
            name: format!("p{priority}"),
            priority,
            condition,
            steps: vec![],
            active: true,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn selection_takes_the_first_condition_that_holds_then_the_default() {
        let sales = DepartmentId::new();
        let big = Condition { amount_above: Some(Decimal::new(100_000, 0)), ..Default::default() };
        let east = Condition { departments: vec![sales], ..Default::default() };
        let vip =
            Condition { customer_levels: vec!["A".into()], discount_above: Some(Decimal::TEN), ..Default::default() };
        let flows = vec![flow(0, None), flow(2, Some(east)), flow(1, Some(big)), flow(3, Some(vip))];
        let facts = |amount: i64, department, level: Option<&str>, discount: i64| Facts {
            amount: Decimal::new(amount, 0),
            discount: Decimal::new(discount, 0),
            department,
            customer_level: level.map(str::to_owned),
        };
        let cases = [
            (facts(200_000, Some(sales), None, 0), "p1"),
            (facts(100_000, Some(sales), None, 0), "p2"),
            (facts(100_000, None, None, 0), "p0"),
            (facts(5, None, Some("A"), 11), "p3"),
            (facts(5, None, Some("A"), 10), "p0"),
            (facts(5, None, Some("B"), 50), "p0"),
        ];
        for (facts, expected) in cases {
            assert_eq!(
                select(&flows, DocumentKind::Contract, &facts).map(|f| f.name.as_str()),
                Some(expected),
                "{facts:?}"
            );
        }
        assert!(select(&flows, DocumentKind::Receipt, &facts(1, None, None, 0)).is_none());
        let mut inactive = flows.clone();
        inactive.iter_mut().for_each(|f| f.active = false);
        assert!(select(&inactive, DocumentKind::Contract, &facts(1, None, None, 0)).is_none());
    }

    #[test]
    fn a_flow_is_checked_field_by_field() {
        let step = |approvers: Vec<ApproverRule>| Step {
            name: "主管".into(),
            approvers,
            mode: StepMode::Any,
            skip_submitter: false,
        };
        assert!(check("合同审批", None, &[step(vec![ApproverRule::Manager { levels: 1 }])]).is_ok());
        let bad =
            check(" ", Some(&Condition::default()), &[step(vec![]), step(vec![ApproverRule::Manager { levels: 0 }])])
                .unwrap_err();
        let fields: Vec<&str> = bad.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "condition", "steps.0.approvers", "steps.1.approvers"]);
        assert!(check("x", None, &[]).is_err());
        let negative = Condition { amount_above: Some(Decimal::NEGATIVE_ONE), ..Default::default() };
        assert!(check("x", Some(&negative), &[step(vec![ApproverRule::DepartmentHead])]).is_err());
    }
}
