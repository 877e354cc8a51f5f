//! Service levels (服务级别, SLA): how soon a work order must be answered (taken) and
//! resolved (completed), counted in the tenant's working time — a weekly calendar with
//! holidays (法定节假日) and make-up working days (调休) — in China's time zone.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::service::work_order::Priority;

/// China's offset from UTC; the calendar's days and hours are China's.
const CHINA: i64 = 8;

/// One day's working hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// The tenant's working calendar (工作日历).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkingCalendar {
    /// Hours per weekday, Monday first; `None` is a day off.
    pub weekly: [Option<Hours>; 7],
    /// Days off on what would be working days (法定节假日).
    pub holidays: Vec<NaiveDate>,
    /// Working days on what would be days off (调休), with Monday's hours, or 09:00–18:00
    /// when Monday is off.
    pub workdays: Vec<NaiveDate>,
}

fn hours(start: u32, end: u32) -> Option<Hours> {
    Some(Hours { start: NaiveTime::from_hms_opt(start, 0, 0)?, end: NaiveTime::from_hms_opt(end, 0, 0)? })
}

impl Default for WorkingCalendar {
    /// Monday to Friday, 09:00 to 18:00.
    fn default() -> Self {
        let day = hours(9, 18);
        Self { weekly: [day, day, day, day, day, None, None], holidays: vec![], workdays: vec![] }
    }
}

/// The most days a due time is looked for ahead (a longer search means no working time).
const HORIZON_DAYS: i64 = 3 * 366;

/// The most holidays and make-up days a calendar keeps.
pub const MAX_SPECIAL_DAYS: usize = 400;

impl WorkingCalendar {
    /// Every bad part at once.
    pub fn check(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        for (n, day) in self.weekly.iter().enumerate() {
            if day.is_some_and(|h| h.end <= h.start) {
                invalid.push(FieldError::new(format!("weekly.{n}"), ErrorCode::Invalid, "a day ends after it starts"));
            }
        }
        self.holidays.sort();
        self.holidays.dedup();
        self.workdays.sort();
        self.workdays.dedup();
        if self.holidays.len() + self.workdays.len() > MAX_SPECIAL_DAYS {
            invalid.push(FieldError::new(
                "holidays",
                ErrorCode::Invalid,
                format!("at most {MAX_SPECIAL_DAYS} holidays and make-up days together"),
            ));
        }
        if let Some(both) = self.holidays.iter().find(|d| self.workdays.contains(d)) {
            invalid.push(FieldError::new(
                "workdays",
                ErrorCode::Invalid,
                format!("{both} is both a holiday and a working day"),
            ));
        }
        if !self.weekly.iter().any(Option::is_some) && self.workdays.is_empty() {
            invalid.push(FieldError::new("weekly", ErrorCode::Invalid, "a calendar needs some working time"));
        }
        invalid.into_result().map(|()| self)
    }

    /// The working hours of a day (China's date), if it is a working day.
    pub fn hours_on(&self, day: NaiveDate) -> Option<Hours> {
        if self.holidays.contains(&day) {
            return None;
        }
        let weekly = self.weekly[day.weekday().num_days_from_monday() as usize];
        if self.workdays.contains(&day) {
            return weekly.or(self.weekly[Weekday::Mon.num_days_from_monday() as usize]).or_else(|| hours(9, 18));
        }
        weekly
    }

    /// The moment `minutes` of working time after `from` have passed; `None` when the
    /// calendar has no such time within three years.
    pub fn add_working_minutes(&self, from: DateTime<Utc>, minutes: i64) -> Option<DateTime<Utc>> {
        let offset = Duration::hours(CHINA);
        let local = (from + offset).naive_utc();
        let mut left = Duration::minutes(minutes.max(0));
        let mut day = local.date();
        for _ in 0..HORIZON_DAYS {
            if let Some(h) = self.hours_on(day) {
                let (open, close) = (day.and_time(h.start), day.and_time(h.end));
                let start = open.max(local);
                if start < close {
                    let available = close - start;
                    if left <= available {
                        return Some((start + left).and_utc() - offset);
                    }
                    left -= available;
                }
            }
            day = day.succ_opt()?;
        }
        None
    }
}

/// How soon work orders of each priority must be answered and resolved, in working
/// hours (whole or decimal).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// From report to acceptance (首次响应), in working minutes.
    pub response_minutes: i64,
    /// From report to completion (解决), in working minutes.
    pub resolution_minutes: i64,
}

/// The SLA targets per priority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SlaPolicy {
    pub urgent: Target,
    pub high: Target,
    pub normal: Target,
    pub low: Target,
}

impl Default for SlaPolicy {
    /// Urgent: 1 h / 8 h; high: 2 h / 16 h; normal: 4 h / 24 h; low: 8 h / 40 h (working).
    fn default() -> Self {
        let target = |response: i64, resolution: i64| Target {
            response_minutes: response * 60,
            resolution_minutes: resolution * 60,
        };
        Self { urgent: target(1, 8), high: target(2, 16), normal: target(4, 24), low: target(8, 40) }
    }
}

/// The most working minutes a target may be (a year of nine-hour days).
pub const MAX_TARGET_MINUTES: i64 = 366 * 9 * 60;

impl SlaPolicy {
    pub fn target(&self, priority: Priority) -> Target {
        match priority {
            Priority::Urgent => self.urgent,
            Priority::High => self.high,
            Priority::Normal => self.normal,
            Priority::Low => self.low,
        }
    }

    pub fn check(self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        for (name, t) in [("urgent", self.urgent), ("high", self.high), ("normal", self.normal), ("low", self.low)] {
            let bad = |m: i64| m <= 0 || m > MAX_TARGET_MINUTES;
            if bad(t.response_minutes) || bad(t.resolution_minutes) || t.resolution_minutes < t.response_minutes {
                invalid.push(FieldError::new(
                    name,
                    ErrorCode::Invalid,
                    "targets above zero, at most a working year, resolution no sooner than response",
                ));
            }
        }
        invalid.into_result().map(|()| self)
    }
}

text_enum! {
    /// How a work order stands against its service level.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum SlaStatus {
        OnTrack => "ON_TRACK", "正常";
        /// Less than a quarter of the time to a target is left.
        AtRisk => "AT_RISK", "即将超时";
        Breached => "BREACHED", "已超时";
        /// Resolved (or cancelled): nothing is due any more.
        Met => "MET", "已达成";
    }
}

/// A due time and whether (and when) it was met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub due: DateTime<Utc>,
    pub met_at: Option<DateTime<Utc>>,
}

impl Deadline {
    fn breached(&self, now: DateTime<Utc>) -> bool {
        match self.met_at {
            Some(met) => met > self.due,
            None => now > self.due,
        }
    }
}

/// Where an order reported at `started` stands at `now` against its two deadlines.
pub fn status(
    started: DateTime<Utc>,
    (response, resolution): (Option<Deadline>, Option<Deadline>),
    closed: bool,
    now: DateTime<Utc>,
) -> SlaStatus {
    let deadlines = [response, resolution];
    if deadlines.iter().flatten().any(|d| d.breached(now)) {
        return SlaStatus::Breached;
    }
    let pending: Vec<&Deadline> = deadlines.iter().flatten().filter(|d| d.met_at.is_none()).collect();
    if closed || pending.is_empty() {
        return SlaStatus::Met;
    }
    let at_risk = pending.iter().any(|d| {
        let whole = d.due - started;
        let left = d.due - now;
        left * 4 < whole
    });
    if at_risk { SlaStatus::AtRisk } else { SlaStatus::OnTrack }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A China time as UTC.
    fn at(day: &str, time: &str) -> DateTime<Utc> {
        let local = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap().and_time(time.parse().unwrap());
        local.and_utc() - Duration::hours(CHINA)
    }

    #[test]
    fn working_time_skips_nights_weekends_and_holidays_and_counts_make_up_days() {
        // 2026-10-01 (Thu) to 10-07 are the National Day holidays; Sunday 09-27 and
        // Saturday 10-10 are make-up working days.
        let calendar = WorkingCalendar {
            holidays: (1..=7).map(|d| NaiveDate::from_ymd_opt(2026, 10, d).unwrap()).collect(),
            workdays: vec![
                NaiveDate::from_ymd_opt(2026, 9, 27).unwrap(),
                NaiveDate::from_ymd_opt(2026, 10, 10).unwrap(),
            ],
            ..WorkingCalendar::default()
        };
        let calendar = calendar.check().unwrap();
        let table = [
            // Within the day.
            (at("2026-09-21", "10:00"), 60, at("2026-09-21", "11:00")),
            // Past closing: on to the next morning.
            (at("2026-09-21", "17:30"), 60, at("2026-09-22", "09:30")),
            // Reported at night: the clock starts at nine.
            (at("2026-09-21", "22:00"), 30, at("2026-09-22", "09:30")),
            // Friday evening: over the weekend to Monday.
            (at("2026-09-18", "17:00"), 120, at("2026-09-21", "10:00")),
            // Saturday, then Sunday 09-27 is a make-up working day.
            (at("2026-09-26", "12:00"), 60, at("2026-09-27", "10:00")),
            // Wednesday 09-30 evening: the holiday week passes, Thursday 10-08 works.
            (at("2026-09-30", "17:00"), 120, at("2026-10-08", "10:00")),
            // Friday 10-09 evening: Saturday 10-10 is a make-up working day.
            (at("2026-10-09", "17:00"), 120, at("2026-10-10", "10:00")),
            // A whole working day (nine hours) from Friday 09:00 ends Friday 18:00.
            (at("2026-09-25", "09:00"), 540, at("2026-09-25", "18:00")),
            // Zero minutes at night is the next opening.
            (at("2026-09-22", "03:00"), 0, at("2026-09-22", "09:00")),
        ];
        for (from, minutes, due) in table {
            assert_eq!(calendar.add_working_minutes(from, minutes), Some(due), "{from} + {minutes} min");
        }
    }

    #[test]
    fn a_calendar_without_working_time_is_refused_and_finds_no_due_time() {
        let none = WorkingCalendar { weekly: [None; 7], holidays: vec![], workdays: vec![] };
        assert!(none.clone().check().is_err());
        assert_eq!(none.add_working_minutes(at("2026-09-21", "10:00"), 60), None);
        let mut odd = WorkingCalendar::default();
        odd.weekly[0] = Some(Hours { start: "18:00".parse().unwrap(), end: "09:00".parse().unwrap() });
        let day = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        odd.holidays = vec![day];
        odd.workdays = vec![day];
        let fields: Vec<String> = odd.check().unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["weekly.0", "workdays"]);
    }

    #[test]
    fn status_follows_the_deadlines() {
        let start = at("2026-09-21", "09:00");
        let due = at("2026-09-21", "13:00");
        let open = Some(Deadline { due, met_at: None });
        let table = [
            (open, at("2026-09-21", "10:00"), false, SlaStatus::OnTrack),
            (open, at("2026-09-21", "12:30"), false, SlaStatus::AtRisk),
            (open, at("2026-09-21", "13:01"), false, SlaStatus::Breached),
            (
                Some(Deadline { due, met_at: Some(at("2026-09-21", "12:00")) }),
                at("2026-09-22", "10:00"),
                false,
                SlaStatus::Met,
            ),
            (
                Some(Deadline { due, met_at: Some(at("2026-09-21", "14:00")) }),
                at("2026-09-22", "10:00"),
                true,
                SlaStatus::Breached,
            ),
            (open, at("2026-09-21", "10:00"), true, SlaStatus::Met),
        ];
        for (deadline, now, closed, expected) in table {
            assert_eq!(status(start, (deadline, None), closed, now), expected, "{now}");
        }
    }

    #[test]
    fn policies_are_checked() {
        assert!(SlaPolicy::default().check().is_ok());
        let mut bad = SlaPolicy::default();
        bad.high.resolution_minutes = 10;
        bad.low.response_minutes = 0;
        let fields: Vec<String> = bad.check().unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["high", "low"]);
    }
}
