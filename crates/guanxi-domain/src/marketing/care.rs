//! Customer care (客户关怀): a care plan puts a visit or a call for every customer of a
//! segment (levels, statuses) in the customer's owner's calendar. Each owner's tasks go
//! round the plan's days, back to back from the plan's first slot and at most a working
//! day's worth ([`DAY_MINUTES`]) a day, so nobody gets a pile of overlapping events.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::activity::calendar::{EventFields, EventKind, EventStatus, Schedule, check_reminders};
use crate::customers::customer::{CustomerStatus, optional_text};
use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{CarePlanId, CustomerId, TenantId, UserId};

/// The most tasks one plan creates.
pub const MAX_TASKS: usize = 5_000;

/// The minutes of tasks an owner gets on one day, from the plan's first slot.
pub const DAY_MINUTES: i64 = 8 * 60;

/// Which customers a plan cares for: any of `levels` and any of `statuses` (an empty
/// list does not narrow).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    pub levels: Vec<String>,
    pub statuses: Vec<CustomerStatus>,
}

/// What a care plan is made of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarePlanFields {
    pub name: String,
    /// VISIT or CALL.
    pub kind: EventKind,
    pub segment: Segment,
    /// When each owner's first task starts.
    pub first_at: DateTime<Utc>,
    pub duration_minutes: i64,
    /// Over how many days each owner's tasks are spread (1 to 90).
    pub spread_days: i64,
    pub description: Option<String>,
    pub reminder_minutes: Vec<i32>,
}

impl CarePlanFields {
    /// Trims and checks every field, naming each bad one.
    pub fn check(self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        let name = super::checked_name(&self.name, "care plan", &mut invalid);
        if !matches!(self.kind, EventKind::Visit | EventKind::Call) {
            invalid.push(FieldError::new("kind", ErrorCode::Invalid, "care is a VISIT or a CALL"));
        }
        if self.segment.levels.is_empty() && self.segment.statuses.is_empty() {
            invalid.push(FieldError::new("segment", ErrorCode::Required, "name the levels or statuses to care for"));
        }
        if self.segment.levels.len() > 20 || self.segment.levels.iter().any(|l| l.trim().is_empty()) {
            invalid.push(FieldError::new("segment.levels", ErrorCode::Invalid, "up to 20 levels, none blank"));
        }
        if !(5..=480).contains(&self.duration_minutes) {
            invalid.push(FieldError::new("durationMinutes", ErrorCode::Invalid, "a task lasts 5 to 480 minutes"));
        }
        if !(1..=90).contains(&self.spread_days) {
            invalid.push(FieldError::new("spreadDays", ErrorCode::Invalid, "tasks are spread over 1 to 90 days"));
        }
        let description = invalid.check(optional_text("description", self.description.as_deref(), 2000));
        let reminder_minutes = invalid.check(check_reminders(&self.reminder_minutes));
        invalid.into_result()?;
        let levels = self.segment.levels.iter().map(|l| l.trim().to_owned()).collect();
        Ok(Self {
            name,
            segment: Segment { levels, ..self.segment },
            description: description.flatten(),
            reminder_minutes: reminder_minutes.unwrap_or_default(),
            ..self
        })
    }

    /// The start and end of an owner's `n`-th task (from 0): the tasks go round the
    /// spread's days, each after that day's earlier ones; once every day of the spread is
    /// full ([`DAY_MINUTES`]), they go round the next as many days.
    pub fn slot(&self, n: usize) -> (DateTime<Utc>, DateTime<Utc>) {
        let spread = self.spread_days.max(1) as usize;
        let per_day = (DAY_MINUTES / self.duration_minutes.max(1)).max(1) as usize;
        let round = n / spread;
        let day = (round / per_day) * spread + n % spread;
        let turn = (round % per_day) as i64;
        let starts = self.first_at + Duration::days(day as i64) + Duration::minutes(turn * self.duration_minutes);
        (starts, starts + Duration::minutes(self.duration_minutes))
    }

    /// The calendar event of an owner's `n`-th task, for `customer` (by name).
    pub fn task(&self, n: usize, customer: (CustomerId, &str), owner: UserId) -> EventFields {
        let (starts_at, ends_at) = self.slot(n);
        let verb = if self.kind == EventKind::Visit { "关怀拜访" } else { "关怀电话" };
        let title: String = format!("{verb}：{}（{}）", customer.1, self.name).chars().take(200).collect();
        EventFields {
            kind: self.kind,
            title,
            description: self.description.clone(),
            schedule: Schedule {
                starts_at,
                ends_at,
                all_day: false,
                time_zone: "Asia/Shanghai".into(),
                recurrence: None,
            },
            assignees: vec![owner],
            customer_id: Some(customer.0),
            contact_id: None,
            status: EventStatus::Planned,
            completion_notes: None,
            reminder_minutes: self.reminder_minutes.clone(),
        }
    }
}

/// A care plan as read back.
#[derive(Clone, Debug, PartialEq)]
pub struct CarePlan {
    pub id: CarePlanId,
    pub tenant_id: TenantId,
    pub fields: CarePlanFields,
    pub tasks_created: i32,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn plan() -> CarePlanFields {
        CarePlanFields {
            name: "春节关怀".into(),
            kind: EventKind::Call,
            segment: Segment { levels: vec![" A ".into()], statuses: vec![] },
            first_at: Utc.with_ymd_and_hms(2027, 1, 25, 1, 0, 0).unwrap(),
            duration_minutes: 30,
            spread_days: 3,
            description: None,
            reminder_minutes: vec![15],
        }
    }

    #[test]
    fn an_owners_tasks_go_round_the_days_then_back_to_back() {
        let plan = plan().check().unwrap();
        assert_eq!(plan.segment.levels, ["A"]);
        let at = |n| plan.slot(n).0.format("%d %H:%M").to_string();
        assert_eq!([at(0), at(1), at(2), at(3), at(4)], ["25 01:00", "26 01:00", "27 01:00", "25 01:30", "26 01:30"]);
        // Sixteen half hours fill a day; the 49th task starts the next three days.
        assert_eq!([at(45), at(47), at(48), at(50)], ["25 08:30", "27 08:30", "28 01:00", "30 01:00"]);
        let task = plan.task(3, (CustomerId::new(), "上海明远"), UserId::new());
        assert_eq!(task.title, "关怀电话：上海明远（春节关怀）");
        assert_eq!(task.schedule.ends_at - task.schedule.starts_at, Duration::minutes(30));
        assert!(task.check().is_ok());
    }

    #[test]
    fn a_plan_names_every_bad_field() {
        let bad = CarePlanFields {
            name: "".into(),
            kind: EventKind::Meeting,
            segment: Segment::default(),
            duration_minutes: 1,
            spread_days: 0,
            reminder_minutes: vec![-1],
            ..plan()
        };
        let fields: Vec<String> = bad.check().unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "kind", "segment", "durationMinutes", "spreadDays", "reminderMinutesBefore"]);
    }
}
