//! Calendar events (日程): visits, calls, meetings and to-dos, with RFC 5545 recurrence,
//! double-booking detection and reminders.

use std::str::FromStr;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{ContactId, CustomerId, EventId, TenantId, UserId};

/// An event as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: EventId,
    pub tenant_id: TenantId,
    pub kind: EventKind,
    pub title: String,
    pub description: Option<String>,
    pub schedule: Schedule,
    pub owner_id: UserId,
    pub assignees: Vec<UserId>,
    pub customer_id: Option<CustomerId>,
    pub contact_id: Option<ContactId>,
    pub status: EventStatus,
    pub completion_notes: Option<String>,
    pub reminder_minutes: Vec<i32>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Event {
    /// The fields a write to this event starts from.
    pub fn fields(&self) -> EventFields {
        EventFields {
            kind: self.kind,
            title: self.title.clone(),
            description: self.description.clone(),
            schedule: self.schedule.clone(),
            assignees: self.assignees.clone(),
            customer_id: self.customer_id,
            contact_id: self.contact_id,
            status: self.status,
            completion_notes: self.completion_notes.clone(),
            reminder_minutes: self.reminder_minutes.clone(),
        }
    }
}

/// The fields of an event a write sets.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventFields {
    pub kind: EventKind,
    pub title: String,
    pub description: Option<String>,
    pub schedule: Schedule,
    pub assignees: Vec<UserId>,
    pub customer_id: Option<CustomerId>,
    pub contact_id: Option<ContactId>,
    pub status: EventStatus,
    pub completion_notes: Option<String>,
    pub reminder_minutes: Vec<i32>,
}

impl EventFields {
    pub fn check(&self) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        if self.title.trim().is_empty() || self.title.chars().count() > 200 {
            invalid.push(FieldError::new("title", ErrorCode::Required, "a title of 1 to 200 characters"));
        }
        if self.assignees.is_empty() || self.assignees.len() > 50 {
            invalid.push(FieldError::new("assigneeIds", ErrorCode::Required, "1 to 50 assignees"));
        }
        if let Err(e) = self.schedule.check() {
            invalid.0.extend(e.0);
        }
        if let Err(e) = check_reminders(&self.reminder_minutes) {
            invalid.push(e);
        }
        invalid.into_result()
    }
}

text_enum! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum EventKind {
        Visit => "VISIT";
        Call => "CALL";
        Meeting => "MEETING";
        Todo => "TODO";
    }
}

text_enum! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum EventStatus {
        Planned => "PLANNED";
        Done => "DONE";
        Cancelled => "CANCELLED";
    }
}

/// What the tenant does when an event double-books someone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConflictPolicy {
    /// Save, and report the clashes.
    #[default]
    Warn,
    /// Refuse, and report the clashes.
    Block,
}

/// When an event happens: its first occurrence and, when it repeats, the rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub all_day: bool,
    /// IANA name, e.g. Asia/Shanghai: recurrence is computed in this zone.
    pub time_zone: String,
    /// An RRULE value, e.g. `FREQ=WEEKLY;BYDAY=MO;COUNT=10`.
    pub recurrence: Option<String>,
}

/// Most occurrences one expansion returns.
pub const MAX_OCCURRENCES: u16 = 500;

impl Schedule {
    /// Checks the times, the zone and the rule.
    pub fn check(&self) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        if self.ends_at <= self.starts_at {
            invalid.push(FieldError::new("endsAt", ErrorCode::Invalid, "an event ends after it starts"));
        }
        if self.ends_at - self.starts_at > Duration::days(31) {
            invalid.push(FieldError::new("endsAt", ErrorCode::Invalid, "one occurrence lasts at most 31 days"));
        }
        if chrono_tz::Tz::from_str(&self.time_zone).is_err() {
            invalid.push(FieldError::new("timeZone", ErrorCode::Invalid, "an IANA time zone such as Asia/Shanghai"));
        } else if let Some(rule) = &self.recurrence
            && let Err(e) = self.rule_set(rule)
        {
            invalid.push(FieldError::new("recurrence", ErrorCode::Invalid, format!("not a valid RRULE: {e}")));
        }
        invalid.into_result()
    }

    fn zone(&self) -> chrono_tz::Tz {
        chrono_tz::Tz::from_str(&self.time_zone).unwrap_or(chrono_tz::Asia::Shanghai)
    }

    fn rule_set(&self, rule: &str) -> Result<rrule::RRuleSet, String> {
        let rule = rule.trim().trim_start_matches("RRULE:");
        if rule.contains('\n') || rule.contains("DTSTART") {
            return Err("give only the RRULE value".into());
        }
        let zone = self.zone();
        let local = self.starts_at.with_timezone(&zone);
        let text = format!("DTSTART;TZID={}:{}\nRRULE:{rule}", zone.name(), local.format("%Y%m%dT%H%M%S"));
        rrule::RRuleSet::from_str(&text).map_err(|e| e.to_string())
    }

    fn length(&self) -> Duration {
        self.ends_at - self.starts_at
    }

    /// The occurrences that overlap `[from, to)`, at most [`MAX_OCCURRENCES`].
    pub fn occurrences(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let length = self.length();
        let Some(rule) = &self.recurrence else {
            return if self.starts_at < to && self.ends_at > from {
                vec![(self.starts_at, self.ends_at)]
            } else {
                vec![]
            };
        };
        let Ok(set) = self.rule_set(rule) else { return vec![] };
        let tz = rrule::Tz::from(self.zone());
        let window_start = tz.from_utc_datetime(&(from - length).naive_utc());
        let window_end = tz.from_utc_datetime(&to.naive_utc());
        set.after(window_start)
            .before(window_end)
            .all(MAX_OCCURRENCES)
            .dates
            .into_iter()
            .map(|d| d.with_timezone(&Utc))
            .map(|start| (start, start + length))
            .filter(|(start, end)| *start < to && *end > from)
            .collect()
    }

    /// When the last occurrence ends, or `None` when the event repeats for ever.
    pub fn last_end(&self) -> Option<DateTime<Utc>> {
        let Some(rule) = &self.recurrence else { return Some(self.ends_at) };
        let upper = rule.to_uppercase();
        if !upper.contains("COUNT=") && !upper.contains("UNTIL=") {
            return None;
        }
        let set = self.rule_set(rule).ok()?;
        let dates = set.all(MAX_OCCURRENCES * 10).dates;
        dates.last().map(|d| d.with_timezone(&Utc) + self.length())
    }
}

/// Whether two intervals overlap (touching ends do not).
pub fn overlaps(a: (DateTime<Utc>, DateTime<Utc>), b: (DateTime<Utc>, DateTime<Utc>)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Reminder offsets: 0 to 30 days before, at most 5.
pub fn check_reminders(minutes: &[i32]) -> Result<Vec<i32>, FieldError> {
    let mut out: Vec<i32> = minutes.to_vec();
    out.sort_unstable();
    out.dedup();
    if out.len() > 5 || out.iter().any(|m| !(0..=43_200).contains(m)) {
        return Err(FieldError::new(
            "reminderMinutesBefore",
            ErrorCode::Invalid,
            "up to 5 reminders, 0 to 43200 minutes before",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
    }

    fn weekly(count: Option<u32>) -> Schedule {
        Schedule {
            starts_at: at("2026-11-23T01:00:00Z"),
            ends_at: at("2026-11-23T02:00:00Z"),
            all_day: false,
            time_zone: "Asia/Shanghai".into(),
            recurrence: Some(match count {
                Some(c) => format!("FREQ=WEEKLY;BYDAY=MO;COUNT={c}"),
                None => "FREQ=WEEKLY;BYDAY=MO".into(),
            }),
        }
    }

    #[test]
    fn recurrence_expands_inside_a_window() {
        let s = weekly(Some(10));
        assert!(s.check().is_ok());
        let got = s.occurrences(at("2026-11-30T00:00:00Z"), at("2026-12-15T00:00:00Z"));
        let starts: Vec<String> = got.iter().map(|(a, _)| a.to_rfc3339()).collect();
        assert_eq!(starts, ["2026-11-30T01:00:00+00:00", "2026-12-07T01:00:00+00:00", "2026-12-14T01:00:00+00:00"]);
        assert_eq!(s.last_end(), Some(at("2027-01-25T02:00:00Z")));
        assert_eq!(weekly(None).last_end(), None);
        // An occurrence running across the window's start still counts.
        let partial = s.occurrences(at("2026-11-30T01:30:00Z"), at("2026-11-30T03:00:00Z"));
        assert_eq!(partial.len(), 1);
    }

    #[test]
    fn bad_schedules_are_refused() {
        let mut s = weekly(Some(3));
        s.recurrence = Some("FREQ=SOMETIMES".into());
        assert!(s.check().is_err());
        s.recurrence = None;
        s.ends_at = s.starts_at;
        assert!(s.check().is_err());
        let mut z = weekly(Some(3));
        z.time_zone = "Mars/Olympus".into();
        assert!(z.check().is_err());
    }

    #[test]
    fn overlap_is_strict() {
        let a = (at("2026-11-23T01:00:00Z"), at("2026-11-23T02:00:00Z"));
        assert!(overlaps(a, (at("2026-11-23T01:30:00Z"), at("2026-11-23T03:00:00Z"))));
        assert!(!overlaps(a, (at("2026-11-23T02:00:00Z"), at("2026-11-23T03:00:00Z"))));
        assert!(check_reminders(&[15, 15, 60]).is_ok_and(|r| r == [15, 60]));
        assert!(check_reminders(&[-1]).is_err());
    }
}
