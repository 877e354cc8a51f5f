//! Field sales (外勤): check-in distance, visit-plan periods and work-log buckets.
//! Times are bucketed in Asia/Shanghai (UTC+8, no daylight saving).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// A check-in farther than this from the customer's address is flagged (never refused).
pub const FAR_METERS: f64 = 1_000.0;

/// Great-circle distance in meters between two WGS-84 points (haversine).
pub fn distance_meters(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS: f64 = 6_371_008.8;
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS * h.sqrt().asin()
}

text_enum! {
    /// Whether a check-in starts a visit or ends it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum CheckInKind {
        CheckIn => "CHECK_IN";
        CheckOut => "CHECK_OUT";
    }
}

text_enum! {
    /// The period a visit plan counts its visits in.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum VisitPeriod {
        Month => "MONTH";
        Year => "YEAR";
    }
}

/// A field check-in or check-out (外勤签到) as recorded: the server's clock counts.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckIn {
    pub id: uuid::Uuid,
    pub customer_id: uuid::Uuid,
    pub user_id: uuid::Uuid,
    /// The planned visit it belongs to.
    pub event_id: Option<uuid::Uuid>,
    /// The visit recorded as an interaction.
    pub interaction_id: Option<uuid::Uuid>,
    /// For a check-out, the check-in it ends.
    pub check_in_id: Option<uuid::Uuid>,
    pub kind: CheckInKind,
    pub device_time: DateTime<Utc>,
    pub server_time: DateTime<Utc>,
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_meters: Option<f64>,
    pub distance_meters: Option<f64>,
    pub far: bool,
    pub photo_ids: Vec<uuid::Uuid>,
    pub note: Option<String>,
    /// The work order a technician checked in at.
    pub work_order_id: Option<uuid::Uuid>,
}

/// Planned visits to a key account (重点客户拜访计划).
#[derive(Clone, Debug, PartialEq)]
pub struct VisitPlan {
    pub id: uuid::Uuid,
    pub customer_id: uuid::Uuid,
    pub owner_id: uuid::Uuid,
    pub period: VisitPeriod,
    /// Visits planned per period.
    pub visits: i32,
}

/// An uploaded file: kept in the blob store under `storage_key`.
#[derive(Clone, Debug, PartialEq)]
pub struct Upload {
    pub id: uuid::Uuid,
    pub uploaded_by: uuid::Uuid,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub storage_key: String,
}

text_enum! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum Granularity {
        Day => "DAY";
        Week => "WEEK";
        Month => "MONTH";
        Quarter => "QUARTER";
        Year => "YEAR";
    }
}

fn shanghai() -> chrono::FixedOffset {
    use chrono::Offset;
    chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

/// Midnight of `date` in Shanghai, as an instant.
pub fn start_of(date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    shanghai().from_local_datetime(&midnight).single().map(|d| d.with_timezone(&Utc)).unwrap_or_default()
}

/// The period of `granularity` containing `at`: `[start, end)`.
pub fn period_of(at: DateTime<Utc>, granularity: Granularity) -> (DateTime<Utc>, DateTime<Utc>) {
    let day = at.with_timezone(&shanghai()).date_naive();
    let (first, next) = match granularity {
        Granularity::Day => (day, day + Duration::days(1)),
        Granularity::Week => {
            let monday = day.week(Weekday::Mon).first_day();
            (monday, monday + Duration::days(7))
        }
        Granularity::Month => {
            let first = NaiveDate::from_ymd_opt(day.year(), day.month(), 1).unwrap_or(day);
            let next = if day.month() == 12 {
                NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(day.year(), day.month() + 1, 1)
            };
            (first, next.unwrap_or(first))
        }
        Granularity::Quarter => {
            let month = (day.month() - 1) / 3 * 3 + 1;
            let first = NaiveDate::from_ymd_opt(day.year(), month, 1).unwrap_or(day);
            let next = if month == 10 {
                NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(day.year(), month + 3, 1)
            };
            (first, next.unwrap_or(first))
        }
        Granularity::Year => {
            let first = NaiveDate::from_ymd_opt(day.year(), 1, 1).unwrap_or(day);
            (first, NaiveDate::from_ymd_opt(day.year() + 1, 1, 1).unwrap_or(first))
        }
    };
    (start_of(first), start_of(next))
}

/// The key of the period starting at `start`: its first day in Shanghai time,
/// `YYYY-MM-DD`. The store groups work-log counts by the same key in SQL.
pub fn period_key(start: DateTime<Utc>) -> String {
    start.with_timezone(&shanghai()).format("%Y-%m-%d").to_string()
}

/// The key (`YYYY-MM-DD`, Shanghai) of the day `at` falls in: how the work log's daily
/// counts are keyed.
pub fn day_key(at: DateTime<Utc>) -> String {
    period_key(period_of(at, Granularity::Day).0)
}

/// The key of the period of `granularity` containing the day `day_key`, or `None` when
/// `day_key` is not a `YYYY-MM-DD` date.
pub fn period_key_of_day(day_key: &str, granularity: Granularity) -> Option<String> {
    let day = NaiveDate::parse_from_str(day_key, "%Y-%m-%d").ok()?;
    Some(period_key(period_of(start_of(day), granularity).0))
}

/// How the work log covers `[from, to)`: whole Shanghai days read from the stored daily
/// counts, plus or minus part-days counted from the records themselves.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DayCover {
    /// The whole days, `[first day's start, last day's end)`, if any.
    pub days: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Part-days counted and added.
    pub plus: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// Part-days counted and taken away: the rest of a day that is read whole.
    pub minus: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Covers `[from, to)` with whole days and part-days. A part-day at either end is either
/// counted itself, or its day is read whole and the rest of that day is counted and taken
/// away, whichever leaves less time before `now` to count: records lie in the past, so a
/// window ending now reads today whole and takes away the (empty) rest of today, where
/// counting today so far would read every interaction of the day.
pub fn day_cover(from: DateTime<Utc>, to: DateTime<Utc>, now: DateTime<Utc>) -> DayCover {
    let past = |(a, b): (DateTime<Utc>, DateTime<Utc>)| (b.min(now) - a).max(Duration::zero());
    let mut cover = DayCover::default();
    if from >= to {
        return cover;
    }
    let start = period_of(from, Granularity::Day).0;
    let (last, next) = period_of(to, Granularity::Day);
    let end = if last == to { to } else { next };
    let (mut days_start, mut days_end) = (start, end);
    let mut trailing_done = to == end;
    if start < from {
        let first = period_of(from, Granularity::Day).1;
        let one_day = first >= end;
        let direct = (from, first.min(to));
        let mut rest = past((start, from));
        if one_day {
            rest += past((to, end));
        }
        if past(direct) <= rest {
            cover.plus.push(direct);
            days_start = first;
            trailing_done |= one_day;
        } else {
            cover.minus.push((start, from));
            if one_day && to < end {
                cover.minus.push((to, end));
                trailing_done = true;
            }
        }
    }
    if !trailing_done {
        let direct = (last, to);
        if past(direct) <= past((to, end)) {
            cover.plus.push(direct);
            days_end = last;
        } else {
            cover.minus.push((to, end));
        }
    }
    cover.days = (days_start < days_end).then_some((days_start, days_end));
    cover
}

/// The whole months inside `[first, last)` (two day boundaries), as
/// `[first month's start, last month's end)`, or `None` when there is not one whole month.
pub fn whole_months(first: DateTime<Utc>, last: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (month, next) = period_of(first, Granularity::Month);
    let start = if month == first { month } else { next };
    let end = period_of(last, Granularity::Month).0;
    (start < end).then_some((start, end))
}

/// The periods covering `[from, to)`, in order.
pub fn periods(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    granularity: Granularity,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut cursor = from;
    while cursor < to && out.len() < 1_000 {
        let period = period_of(cursor, granularity);
        out.push(period);
        cursor = period.1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn distances_are_in_meters() {
        // Tiananmen to the Forbidden City's north gate: about 1.6 km.
        let d = distance_meters((39.9087, 116.3975), (39.9230, 116.3972));
        assert!((1_500.0..1_700.0).contains(&d), "{d}");
        assert!(distance_meters((31.23, 121.47), (31.23, 121.47)) < 0.01);
    }

    #[test]
    fn periods_follow_shanghai_time() {
        // 2026-11-23 20:00 UTC is already 11-24 in Shanghai.
        let (start, end) = period_of(at("2026-11-23T20:00:00Z"), Granularity::Day);
        assert_eq!(start, at("2026-11-23T16:00:00Z"));
        assert_eq!(end, at("2026-11-24T16:00:00Z"));
        let (week, _) = period_of(at("2026-11-25T03:00:00Z"), Granularity::Week);
        assert_eq!(week, at("2026-11-22T16:00:00Z"), "Monday 00:00 in Shanghai");
        let months = periods(at("2026-01-15T00:00:00Z"), at("2026-03-31T16:00:00Z"), Granularity::Month);
        assert_eq!(months.len(), 3);
        assert_eq!(months[0].0, at("2025-12-31T16:00:00Z"));
        // Quarters start in January, April, July and October (Shanghai time).
        let quarter = period_of(at("2026-06-30T16:30:00Z"), Granularity::Quarter);
        assert_eq!(quarter, (at("2026-06-30T16:00:00Z"), at("2026-09-30T16:00:00Z")), "1 July is Q3");
        let quarter = period_of(at("2026-12-31T15:00:00Z"), Granularity::Quarter);
        assert_eq!(quarter, (at("2026-09-30T16:00:00Z"), at("2026-12-31T16:00:00Z")));
        assert_eq!(period_key_of_day("2026-05-17", Granularity::Quarter).as_deref(), Some("2026-04-01"));
    }

    #[test]
    fn part_days_are_counted_where_less_of_the_past_lies() {
        assert_eq!(day_key(at("2026-11-23T16:00:00Z")), "2026-11-24");
        assert_eq!(day_key(at("2026-11-23T15:59:59Z")), "2026-11-23");
        let now = at("2026-11-24T02:00:00Z"); // 10:00 on the 24th in Shanghai
        // A window from 13:00 on the 20th to 04:00 on the 24th (Shanghai), in the past: the
        // 20th's evening is shorter than its morning, so it is counted itself; the 24th's
        // first four hours are shorter than the rest of the day before now.
        let cover = day_cover(at("2026-11-20T05:00:00Z"), at("2026-11-23T20:00:00Z"), now);
        assert_eq!(cover.days, Some((at("2026-11-20T16:00:00Z"), at("2026-11-23T16:00:00Z"))));
        assert_eq!(
            cover.plus,
            [
                (at("2026-11-20T05:00:00Z"), at("2026-11-20T16:00:00Z")),
                (at("2026-11-23T16:00:00Z"), at("2026-11-23T20:00:00Z"))
            ]
        );
        assert!(cover.minus.is_empty());
        // Up to an hour from now: today is read whole, less the rest of today.
        let cover = day_cover(at("2026-11-19T23:00:00Z"), at("2026-11-24T03:00:00Z"), now);
        assert_eq!(cover.days, Some((at("2026-11-19T16:00:00Z"), at("2026-11-24T16:00:00Z"))));
        assert_eq!(cover.plus, []);
        assert_eq!(
            cover.minus,
            [
                (at("2026-11-19T16:00:00Z"), at("2026-11-19T23:00:00Z")),
                (at("2026-11-24T03:00:00Z"), at("2026-11-24T16:00:00Z"))
            ]
        );
        // Today so far (the daily report): the day, less the rest of it.
        let cover = day_cover(at("2026-11-23T16:00:00Z"), at("2026-11-24T03:00:00Z"), now);
        assert_eq!(cover.days, Some((at("2026-11-23T16:00:00Z"), at("2026-11-24T16:00:00Z"))));
        assert_eq!((cover.plus, cover.minus), (vec![], vec![(at("2026-11-24T03:00:00Z"), at("2026-11-24T16:00:00Z"))]));
        // From 09:00 to 11:00 today, at 10:00: the hour so far is counted itself, not the
        // day less its first nine hours.
        let cover = day_cover(at("2026-11-24T01:00:00Z"), at("2026-11-24T03:00:00Z"), now);
        assert_eq!(
            (cover.days, cover.plus, cover.minus.len()),
            (None, vec![(at("2026-11-24T01:00:00Z"), at("2026-11-24T03:00:00Z"))], 0)
        );
        // An hour last week: counted itself.
        let cover = day_cover(at("2026-11-17T01:00:00Z"), at("2026-11-17T02:00:00Z"), now);
        assert_eq!((cover.days, cover.plus.len(), cover.minus.len()), (None, 1, 0));
        // Whole days only.
        let cover = day_cover(at("2026-11-19T16:00:00Z"), at("2026-11-20T16:00:00Z"), now);
        assert_eq!(
            (cover.days, cover.plus.len(), cover.minus.len()),
            (Some((at("2026-11-19T16:00:00Z"), at("2026-11-20T16:00:00Z"))), 0, 0)
        );
        assert_eq!(period_key_of_day("2026-11-25", Granularity::Week).as_deref(), Some("2026-11-23"));
        assert_eq!(period_key_of_day("2026-11-25", Granularity::Month).as_deref(), Some("2026-11-01"));
        assert_eq!(period_key_of_day("25/11/2026", Granularity::Day), None);
        let months = whole_months(at("2025-11-23T16:00:00Z"), at("2026-11-22T16:00:00Z"));
        assert_eq!(months, Some((at("2025-11-30T16:00:00Z"), at("2026-10-31T16:00:00Z"))));
        assert_eq!(whole_months(at("2026-11-02T16:00:00Z"), at("2026-11-20T16:00:00Z")), None);
    }
}
