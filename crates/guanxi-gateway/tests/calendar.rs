//! The calendar over HTTP: recurrence, double-booking, team calendars, to-dos, reminders.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use chrono::{Duration, Utc};
use common::*;
use guanxi_gateway::jobs::{Job, JobRunner};
use guanxi_store::ConnectionTrait;
use serde_json::json;

const CREATE: &str = "mutation($i: CreateEventInput!) { createEvent(input: $i) { event { id title version assignees { email } } conflicts { userId eventId startsAt } userErrors { field code } } }";
const UPDATE: &str = "mutation($i: UpdateEventInput!) { updateEvent(input: $i) { event { id startsAt version status } conflicts { eventId } userErrors { field code } } }";
const CALENDAR: &str = "query($u: [ID!], $from: DateTime!, $to: DateTime!) { calendar(userIds: $u, from: $from, to: $to) { startsAt endsAt event { title } } }";

fn at(days: i64, hour: u32) -> String {
    let day = (Utc::now() + Duration::days(days)).date_naive();
    day.and_hms_opt(hour, 0, 0).unwrap().and_utc().to_rfc3339()
}

async fn events(app: &TestApp) -> usize {
    app.db
        .connection()
        .query_all_raw(guanxi_store::dialect::raw_statement(app.db.db_backend(), "SELECT id FROM events", []))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_weekly_event_expands_inside_the_window_asked() {
    let app = spawn_demo().await;
    let rep = app.login("rep1@demo.local").await;
    let created = app
        .gql(Some(&rep), CREATE, json!({"i": {"kind": "MEETING", "title": "周例会", "startsAt": at(1, 1), "endsAt": at(1, 2), "recurrence": "FREQ=WEEKLY;COUNT=10"}}))
        .await;
    assert_eq!(created["data"]["createEvent"]["userErrors"], json!([]), "{created}");
    let occurrences = app.gql(Some(&rep), CALENDAR, json!({"from": at(0, 0), "to": at(21, 0)})).await;
    let list = occurrences["data"]["calendar"].as_array().unwrap_or_else(|| panic!("{occurrences}"));
    assert_eq!(list.len(), 3, "{occurrences}");
    let bad = app.gql(Some(&rep), CREATE, json!({"i": {"kind": "MEETING", "title": "坏规则", "startsAt": at(1, 1), "endsAt": at(1, 2), "recurrence": "FREQ=SOMETIMES"}})).await;
    assert_eq!(bad["data"]["createEvent"]["userErrors"][0]["field"], "recurrence", "{bad}");
    let backwards = app
        .gql(
            Some(&rep),
            CREATE,
            json!({"i": {"kind": "CALL", "title": "倒着的", "startsAt": at(1, 3), "endsAt": at(1, 2)}}),
        )
        .await;
    assert_eq!(backwards["data"]["createEvent"]["userErrors"][0]["field"], "endsAt");
}

#[tokio::test]
async fn double_booking_is_reported_under_warn_and_refused_under_block() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep = app.login("rep1@demo.local").await;
    let first = app
        .gql(
            Some(&rep),
            CREATE,
            json!({"i": {"kind": "VISIT", "title": "拜访明远", "startsAt": at(2, 2), "endsAt": at(2, 4)}}),
        )
        .await;
    let first_id = first["data"]["createEvent"]["event"]["id"].clone();
    let warned = app
        .gql(
            Some(&rep),
            CREATE,
            json!({"i": {"kind": "CALL", "title": "电话回访", "startsAt": at(2, 3), "endsAt": at(2, 5)}}),
        )
        .await;
    let payload = &warned["data"]["createEvent"];
    assert!(payload["event"]["id"].is_string(), "WARN saves: {warned}");
    assert_eq!(payload["conflicts"][0]["eventId"], first_id);
    // A weekly series that hits the visit on its first week clashes too.
    let series = app
        .gql(Some(&rep), CREATE, json!({"i": {"kind": "MEETING", "title": "周会", "startsAt": at(-5, 3), "endsAt": at(-5, 4), "recurrence": "FREQ=WEEKLY;COUNT=4"}}))
        .await;
    assert!(!series["data"]["createEvent"]["conflicts"].as_array().unwrap().is_empty(), "{series}");

    let block = app.gql(Some(&admin), "mutation { updateTenantSettings(input: {calendarConflictPolicy: BLOCK}) { settings { calendarConflictPolicy } } }", json!({})).await;
    assert_eq!(block["data"]["updateTenantSettings"]["settings"]["calendarConflictPolicy"], "BLOCK", "{block}");
    let before = events(&app).await;
    let refused = app
        .gql(
            Some(&rep),
            CREATE,
            json!({"i": {"kind": "CALL", "title": "冲突电话", "startsAt": at(2, 2), "endsAt": at(2, 3)}}),
        )
        .await;
    let payload = &refused["data"]["createEvent"];
    assert!(payload["event"].is_null(), "{refused}");
    assert_eq!(payload["userErrors"][0]["code"], "CONFLICT");
    assert!(!payload["conflicts"].as_array().unwrap().is_empty());
    assert_eq!(events(&app).await, before);
    // Another person at the same time is fine.
    let other = app
        .gql(
            Some(&admin),
            CREATE,
            json!({"i": {"kind": "CALL", "title": "管理员电话", "startsAt": at(2, 2), "endsAt": at(2, 3)}}),
        )
        .await;
    assert!(other["data"]["createEvent"]["event"]["id"].is_string(), "{other}");
    // Moving an event into a clash is refused; moving it clear is fine.
    let free = app
        .gql(
            Some(&rep),
            CREATE,
            json!({"i": {"kind": "TODO", "title": "整理报价", "startsAt": at(3, 2), "endsAt": at(3, 3)}}),
        )
        .await;
    let free = &free["data"]["createEvent"]["event"];
    let moved = app.gql(Some(&rep), UPDATE, json!({"i": {"id": free["id"], "expectedVersion": free["version"], "startsAt": at(2, 2), "endsAt": at(2, 3)}})).await;
    assert_eq!(moved["data"]["updateEvent"]["userErrors"][0]["code"], "CONFLICT", "{moved}");
    let done = app
        .gql(Some(&rep), UPDATE, json!({"i": {"id": free["id"], "expectedVersion": free["version"], "status": "DONE"}}))
        .await;
    assert_eq!(done["data"]["updateEvent"]["event"]["status"], "DONE", "{done}");
}

#[tokio::test]
async fn team_calendars_follow_the_task_scope() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep3 = app.login("rep3@demo.local").await;
    app.gql(
        Some(&rep1),
        CREATE,
        json!({"i": {"kind": "VISIT", "title": "rep1 的拜访", "startsAt": at(1, 2), "endsAt": at(1, 3)}}),
    )
    .await;
    app.gql(
        Some(&rep3),
        CREATE,
        json!({"i": {"kind": "VISIT", "title": "rep3 的拜访", "startsAt": at(1, 2), "endsAt": at(1, 3)}}),
    )
    .await;
    let rep1_id = app.user_id(&admin, "rep1@demo.local").await;
    let rep3_id = app.user_id(&admin, "rep3@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let team =
        app.gql(Some(&manager), CALENDAR, json!({"u": [rep1_id, rep3_id], "from": at(0, 0), "to": at(7, 0)})).await;
    let titles: Vec<&str> =
        team["data"]["calendar"].as_array().unwrap().iter().map(|o| o["event"]["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["rep1 的拜访"], "the manager's tree holds rep1, not rep3: {team}");
    let peek = app.gql(Some(&rep1), CALENDAR, json!({"u": [rep3_id], "from": at(0, 0), "to": at(7, 0)})).await;
    assert_eq!(peek["data"]["calendar"], json!([]), "{peek}");
    let too_wide = app.gql(Some(&rep1), CALENDAR, json!({"from": at(0, 0), "to": at(200, 0)})).await;
    assert_eq!(error_code(&too_wide), "BAD_USER_INPUT");
}

#[tokio::test]
async fn my_todos_list_due_follow_ups_and_todays_events() {
    let app = spawn_demo().await;
    let rep = app.login("rep1@demo.local").await;
    let customers = app.gql(Some(&rep), "{ customers(first: 10) { nodes { id name } } }", json!({})).await;
    let id = customers["data"]["customers"]["nodes"][0]["id"].clone();
    let soon = (Utc::now() + Duration::minutes(5)).to_rfc3339();
    app.gql(
        Some(&rep),
        "mutation($i: CreateInteractionInput!) { createInteraction(input: $i) { userErrors { code } } }",
        json!({"i": {"customerId": id, "channel": "CALL", "content": "约好今天再联系", "nextFollowUpAt": soon}}),
    )
    .await;
    let start = (Utc::now() + Duration::minutes(30)).to_rfc3339();
    let end = (Utc::now() + Duration::minutes(60)).to_rfc3339();
    app.gql(
        Some(&rep),
        CREATE,
        json!({"i": {"kind": "CALL", "title": "今天的电话", "startsAt": start, "endsAt": end}}),
    )
    .await;
    let todos = app
        .gql(
            Some(&rep),
            "{ myTodos { followUpsDueToday { name } overdueFollowUps { name } eventsToday { event { title } } } }",
            json!({}),
        )
        .await;
    let todos = &todos["data"]["myTodos"];
    let due: Vec<&str> =
        todos["followUpsDueToday"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(due.contains(&customers["data"]["customers"]["nodes"][0]["name"].as_str().unwrap()), "{todos}");
    let today: Vec<&str> =
        todos["eventsToday"].as_array().unwrap().iter().map(|o| o["event"]["title"].as_str().unwrap()).collect();
    // The event may fall on tomorrow's date in Shanghai near midnight; then it is not today's.
    let shanghai_today = (Utc::now() + Duration::hours(8)).date_naive();
    if (Utc::now() + Duration::minutes(30) + Duration::hours(8)).date_naive() == shanghai_today {
        assert!(today.contains(&"今天的电话"), "{todos}");
    }
}

#[tokio::test]
async fn racing_reminder_runners_write_each_reminder_once() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1_id = app.user_id(&admin, "rep1@demo.local").await;
    let admin_id = app.user_id(&admin, "admin@demo.local").await;
    let start = (Utc::now() + Duration::minutes(10)).to_rfc3339();
    let end = (Utc::now() + Duration::minutes(40)).to_rfc3339();
    let created = app
        .gql(Some(&admin), CREATE, json!({"i": {"kind": "MEETING", "title": "客户会议", "startsAt": start, "endsAt": end, "assigneeIds": [rep1_id, admin_id], "reminderMinutesBefore": [15, 5]}}))
        .await;
    assert_eq!(created["data"]["createEvent"]["userErrors"], json!([]), "{created}");
    let runners: Vec<Arc<JobRunner>> = (0..3)
        .map(|_| {
            Arc::new(JobRunner::new(
                app.db.clone(),
                vec![Job::every("event_reminders", Duration::minutes(1), guanxi_gateway::jobs::event_reminders)],
            ))
        })
        .collect();
    let passes = runners.iter().map(|r| {
        let r = r.clone();
        async move { r.run_due().await.unwrap() }
    });
    let ran: Vec<_> = futures::future::join_all(passes).await.into_iter().flatten().collect();
    assert_eq!(ran.len(), 1, "one runner wins the lease: {ran:?}");
    assert_eq!(ran[0].affected, 2, "the 15-minute reminder is due, for two people");
    // Even without the lease, a second run writes nothing new.
    assert_eq!(guanxi_gateway::jobs::event_reminders(app.db.clone()).await.unwrap(), 0);
    let rep1 = app.login("rep1@demo.local").await;
    let mine = app.gql(Some(&rep1), "{ myReminders { event { title } remindAt occurrenceAt } }", json!({})).await;
    assert_eq!(mine["data"]["myReminders"].as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine["data"]["myReminders"][0]["event"]["title"], "客户会议");
}

#[tokio::test]
async fn due_reminders_are_pushed_to_a_connected_client() {
    let app = spawn_demo().await;
    let rep = app.login("rep1@demo.local").await;
    let mut socket = subscribe(&app, &rep, "subscription { reminderDue { event { title } remindAt } }").await;
    let start = (Utc::now() + Duration::minutes(10)).to_rfc3339();
    let end = (Utc::now() + Duration::minutes(20)).to_rfc3339();
    app.gql(Some(&rep), CREATE, json!({"i": {"kind": "CALL", "title": "回访电话", "startsAt": start, "endsAt": end, "reminderMinutesBefore": [15]}})).await;
    assert_eq!(guanxi_gateway::jobs::event_reminders(app.db.clone()).await.unwrap(), 1);
    let pushed = next_event(&mut socket).await;
    assert_eq!(pushed["reminderDue"]["event"]["title"], "回访电话", "{pushed}");
}
