//! Service levels over HTTP: deadlines counted in the tenant's working calendar (holidays
//! and make-up working days), the breach job with a controllable clock and two racing
//! runners, the escalation to the agent's manager, and the figures that count breaches.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::*;
use serde_json::{Value, json};

const SET: &str = "mutation($i: SetServiceLevelsInput!) { setServiceLevels(input: $i) { serviceLevels { calendar { weekly { weekday start end } holidays workdays } policy { normal { responseMinutes } } } userErrors { field code message } } }";

const CREATE: &str = "mutation($i: CreateWorkOrderInput!) { createWorkOrder(input: $i) { workOrder { id version number responseDueAt resolutionDueAt slaStatus } userErrors { field code message } } }";

fn target(response: i64, resolution: i64) -> Value {
    json!({"responseMinutes": response, "resolutionMinutes": resolution})
}

fn policy() -> Value {
    json!({"urgent": target(30, 120), "high": target(60, 300), "normal": target(60, 600), "low": target(120, 900)})
}

/// Today in China.
fn today() -> NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

/// A China time on `day` as UTC, in RFC 3339 as the API writes it.
fn china(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    day.and_hms_opt(hour, minute, 0).unwrap().and_utc() - Duration::hours(8)
}

fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("no time: {value}"))).unwrap().into()
}

async fn take(app: &TestApp, agent: &str, priority: &str) -> Value {
    let customer = customer(app, agent, "南京金陵商贸有限公司").await;
    let input = json!({"customerId": customer, "channel": "PHONE", "type": "REPAIR", "priority": priority, "subject": "空调不制冷"});
    ok(app, agent, CREATE, input, ("createWorkOrder", "workOrder")).await
}

#[tokio::test]
async fn deadlines_skip_holidays_use_make_up_days_and_breaches_are_marked_once() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let agent = app.login("service@demo.local").await;
    let today = today();
    let day = |n: i64| today + Duration::days(n);
    let every_day: Vec<Value> = (1..=7).map(|d| json!({"weekday": d, "start": "09:00", "end": "18:00"})).collect();

    // Bad input: every part at once, nothing written.
    let bad = json!({"calendar": {"weekly": [{"weekday": 8, "start": "09:00", "end": "18:00"}], "holidays": [day(5)], "workdays": [day(5)]},
        "policy": {"urgent": target(0, 10), "high": target(60, 30), "normal": target(60, 600), "low": target(120, 900)}});
    let (codes, errors) = refused(&app, &admin, SET, bad, "setServiceLevels").await;
    assert_eq!(codes.len(), 3, "{errors}");
    assert!(
        errors.contains("calendar.weekly.0") && errors.contains("policy.urgent") && errors.contains("policy.high"),
        "{errors}"
    );
    let bad =
        json!({"calendar": {"weekly": every_day, "holidays": [day(5)], "workdays": [day(5)]}, "policy": policy()});
    let (_, errors) = refused(&app, &admin, SET, bad, "setServiceLevels").await;
    assert!(errors.contains("calendar.workdays"), "{errors}");
    let body = app
        .gql(
            Some(&agent),
            SET,
            json!({"i": {"calendar": {"weekly": [], "holidays": [], "workdays": []}, "policy": policy()}}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "only settings.manage sets service levels");

    // Every day works 09:00–18:00, but today and tomorrow are holidays.
    let levels =
        json!({"calendar": {"weekly": every_day, "holidays": [day(0), day(1)], "workdays": []}, "policy": policy()});
    ok(&app, &admin, SET, levels, ("setServiceLevels", "serviceLevels")).await;
    let first = take(&app, &agent, "NORMAL").await;
    assert_eq!(time(&first["responseDueAt"]), china(day(2), 10, 0), "{first}");
    // 600 minutes: nine hours on day 2, one more on day 3.
    assert_eq!(time(&first["resolutionDueAt"]), china(day(3), 10, 0), "{first}");
    assert_eq!(first["slaStatus"], "ON_TRACK");

    // No regular working days at all; day 3 is a make-up working day (09:00–18:00).
    let levels = json!({"calendar": {"weekly": [], "holidays": [], "workdays": [day(3)]}, "policy": policy()});
    ok(&app, &admin, SET, levels, ("setServiceLevels", "serviceLevels")).await;
    let second = take(&app, &agent, "URGENT").await;
    assert_eq!(time(&second["responseDueAt"]), china(day(3), 9, 30), "{second}");
    assert_eq!(time(&second["resolutionDueAt"]), china(day(3), 11, 0), "{second}");
    // The first order keeps the deadlines it was given.
    let read = "query($id: ID!) { workOrder(id: $id) { responseDueAt slaStatus responseBreachedAt version } }";
    let again = app.gql(Some(&agent), read, json!({"id": first["id"]})).await;
    assert_eq!(again["data"]["workOrder"]["responseDueAt"], first["responseDueAt"]);

    // The manager of the agent (the admin) watches the orders.
    let mut feed = subscribe(&app, &admin, "subscription { workOrderUpdated { id responseBreachedAt } }").await;
    // The clock moves to just past the first order's response deadline; two runners race.
    let at = china(day(2), 10, 1);
    let (a, b) = tokio::join!(
        guanxi_gateway::jobs::work_order_breaches_at(app.db.clone(), at),
        guanxi_gateway::jobs::work_order_breaches_at(app.db.clone(), at)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(
        a.min(b) == 0 && a.max(b) >= 1,
        "one runner marks (the first order's response and the demo's own overdue deadlines), the other finds nothing: {a} {b}"
    );
    assert_eq!(guanxi_gateway::jobs::work_order_breaches_at(app.db.clone(), at).await.unwrap(), 0, "each once");
    let pushed = next_event(&mut feed).await;
    assert!(pushed["workOrderUpdated"]["responseBreachedAt"].is_string(), "{pushed}");

    let first_now = app.gql(Some(&agent), read, json!({"id": first["id"]})).await["data"]["workOrder"].clone();
    assert_eq!(time(&first_now["responseBreachedAt"]), at);
    assert_eq!(first_now["slaStatus"], "BREACHED");
    let second_now = app.gql(Some(&agent), read, json!({"id": second["id"]})).await["data"]["workOrder"].clone();
    assert!(second_now["responseBreachedAt"].is_null(), "the second is due on day 3: {second_now}");
    // One change event for the breach, whatever the race.
    let history = app
        .gql(
            Some(&admin),
            "query($id: ID!) { history(id: $id) { nodes { changes { field } } } }",
            json!({"id": first["id"]}),
        )
        .await;
    let breaches = history["data"]["history"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["changes"].as_array().unwrap().iter().any(|c| c["field"] == "responseBreachedAt"))
        .count();
    assert_eq!(breaches, 1, "{history}");
    // The agent is told, and the agent's manager gets the escalation, once each.
    let kinds = |token: String| {
        let app = &app;
        let number = first["number"].as_str().unwrap().to_owned();
        async move {
            let body = app.gql(Some(&token), "{ myNotices(first: 100) { kind message } }", json!({})).await;
            body["data"]["myNotices"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| n["message"].as_str().unwrap().contains(&number))
                .map(|n| n["kind"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(kinds(agent.clone()).await, ["WO_RESPONSE_BREACHED"]);
    assert_eq!(kinds(admin.clone()).await, ["WO_RESPONSE_ESCALATED"]);

    // Statistics and filters count it.
    let stats = app
        .gql(
            Some(&agent),
            "query($n: String) { workOrderStats { breached breachRate } workOrders(filter: {number: $n, slaBreached: true}) { totalCount } }",
            json!({"n": first["number"]}),
        )
        .await;
    assert!(stats["data"]["workOrderStats"]["breached"].as_i64().unwrap() >= 1, "{stats}");
    assert!(stats["data"]["workOrderStats"]["breachRate"].as_f64().unwrap() > 0.0, "{stats}");
    assert_eq!(stats["data"]["workOrders"]["totalCount"], 1, "{stats}");
    // The work log counts breaches by the day they were found, for the agent who took them.
    let agent_id = app.user_id(&admin, "service@demo.local").await;
    let log = app
        .gql(
            Some(&admin),
            "query($u: ID!, $f: DateTime!, $t: DateTime!) { workLog(subject: {userId: $u}, from: $f, to: $t, granularity: DAY) { start workOrdersBreached { count records { nodes { number } } } } }",
            json!({"u": agent_id, "f": china(day(2), 0, 0).to_rfc3339(), "t": china(day(3), 0, 0).to_rfc3339()}),
        )
        .await;
    let period = &log["data"]["workLog"][0]["workOrdersBreached"];
    assert!(period["count"].as_i64().unwrap() >= 1, "{log}");
    let numbers: Vec<&str> =
        period["records"]["nodes"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap()).collect();
    assert!(numbers.contains(&first["number"].as_str().unwrap()), "{log}");
}
