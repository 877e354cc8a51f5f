//! Field sales over HTTP: uploads, check-ins, visit plans and the work log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, Utc};
use common::*;
use guanxi_store::ConnectionTrait;
use serde_json::{Value, json};

async fn customer(app: &TestApp, token: &str, name: &str) -> (String, i64) {
    let body = app
        .gql(
            Some(token),
            "query($n: String!) { customers(filter: {name: {eq: $n}}) { nodes { id version } } }",
            json!({"n": name}),
        )
        .await;
    let node = &body["data"]["customers"]["nodes"][0];
    (node["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned(), node["version"].as_i64().unwrap())
}

const CHECK_IN: &str = "mutation($i: CheckInInput!) { checkIn(input: $i) { checkIn { id kind distanceMeters far serverTime deviceTime interaction { channel content } } userErrors { field code } } }";

#[tokio::test]
async fn uploads_need_the_preflight_header_and_respect_type_and_size() {
    let app = spawn_with(|c| c.limits.max_upload_bytes = 1_000).await;
    guanxi_gateway::seed::seed_demo(&app.db).await.unwrap();
    let rep = app.login("rep1@demo.local").await;
    let (status, body) = upload(&app, &rep, JPEG, "image/jpeg", false).await;
    assert_eq!(
        (status, body["errors"][0]["extensions"]["reason"].clone()),
        (400, json!("PREFLIGHT_REQUIRED")),
        "{body}"
    );
    let (_, body) = upload(&app, &rep, JPEG, "image/jpeg", true).await;
    let attachment = &body["data"]["uploadAttachment"]["attachment"];
    assert_eq!(attachment["size"], JPEG.len(), "{body}");
    assert_eq!(attachment["fileName"], "现场照片.jpg");
    let (_, wrong_type) = upload(&app, &rep, b"hello", "text/plain", true).await;
    assert_eq!(wrong_type["data"]["uploadAttachment"]["userErrors"][0]["field"], "file", "{wrong_type}");
    let (_, fake) = upload(&app, &rep, b"not really a jpeg", "image/jpeg", true).await;
    assert_eq!(fake["data"]["uploadAttachment"]["userErrors"][0]["code"], "INVALID", "{fake}");
    let mut big = JPEG.to_vec();
    big.resize(1_500, 0);
    let (_, too_big) = upload(&app, &rep, &big, "image/jpeg", true).await;
    assert!(
        too_big["data"]["uploadAttachment"]["userErrors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("at most"),
        "{too_big}"
    );
    // The uploader can fetch it back; nobody else can, not even by guessing the id.
    let path = attachment["downloadPath"].as_str().unwrap();
    let mine = app.client.get(app.url(path)).bearer_auth(&rep).send().await.unwrap();
    assert_eq!(mine.status(), 200);
    assert_eq!(mine.bytes().await.unwrap().as_ref(), JPEG);
    let rep3 = app.login("rep3@demo.local").await;
    assert_eq!(app.client.get(app.url(path)).bearer_auth(&rep3).send().await.unwrap().status(), 404);
    assert_eq!(app.client.get(app.url(path)).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_check_in_measures_distance_flags_far_visits_and_is_idempotent() {
    let app = spawn_demo().await;
    let rep = app.login("rep1@demo.local").await;
    let (id, version) = customer(&app, &rep, "上海明远机械制造有限公司").await;
    // The customer sits at People's Square, Shanghai.
    let located = app
        .gql(Some(&rep), "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { userErrors { code } } }", json!({"i": {"id": id, "expectedVersion": version, "location": {"latitude": 31.2304, "longitude": 121.4737}}}))
        .await;
    assert_eq!(located["data"]["updateCustomer"]["userErrors"], json!([]), "{located}");
    let (_, photo) = upload(&app, &rep, JPEG, "image/jpeg", true).await;
    let photo = photo["data"]["uploadAttachment"]["attachment"]["id"].clone();
    let device_time = (Utc::now() - Duration::minutes(3)).to_rfc3339();
    let near = json!({"i": {"customerId": id, "location": {"latitude": 31.2310, "longitude": 121.4740, "accuracyMeters": 15.0}, "deviceTime": device_time, "photoIds": [photo], "note": "到客户现场", "idempotencyKey": "visit-1"}});
    let first = app.gql(Some(&rep), CHECK_IN, near.clone()).await;
    let check_in = &first["data"]["checkIn"]["checkIn"];
    assert!(check_in["distanceMeters"].as_f64().unwrap() < 100.0, "{first}");
    assert_eq!(check_in["far"], false);
    assert_eq!(check_in["interaction"]["channel"], "VISIT");
    assert_ne!(check_in["serverTime"], check_in["deviceTime"]);
    let again = app.gql(Some(&rep), CHECK_IN, near).await;
    assert_eq!(again["data"]["checkIn"]["checkIn"]["id"], check_in["id"], "a retry is the same check-in: {again}");
    // A check-in is a Node: its author finds it by id, a rep of another team does not.
    let node = "query($id: ID!) { node(id: $id) { ... on CheckIn { id kind } } }";
    let mine = app.gql(Some(&rep), node, json!({"id": check_in["id"]})).await;
    assert_eq!(mine["data"]["node"]["kind"], "CHECK_IN", "{mine}");
    let other = app.login("rep3@demo.local").await;
    let hidden = app.gql(Some(&other), node, json!({"id": check_in["id"]})).await;
    assert!(hidden["errors"].is_null() && hidden["data"]["node"].is_null(), "{hidden}");
    let rows = app
        .db
        .connection()
        .query_all_raw(guanxi_store::dialect::raw_statement(app.db.db_backend(), "SELECT id FROM check_ins", []))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    // Five kilometres away: recorded, flagged.
    let far = app
        .gql(Some(&rep), CHECK_IN, json!({"i": {"customerId": id, "location": {"latitude": 31.2754, "longitude": 121.4737}, "deviceTime": Utc::now().to_rfc3339()}}))
        .await;
    assert_eq!(far["data"]["checkIn"]["checkIn"]["far"], true, "{far}");
    // Check out; the visit's length lands on its interaction.
    let out = app
        .gql(Some(&rep), "mutation($i: CheckOutInput!) { checkOut(input: $i) { checkIn { kind interaction { outcome } } userErrors { code } } }", json!({"i": {"checkInId": check_in["id"], "location": {"latitude": 31.2310, "longitude": 121.4740}, "deviceTime": Utc::now().to_rfc3339()}}))
        .await;
    assert_eq!(out["data"]["checkOut"]["checkIn"]["kind"], "CHECK_OUT", "{out}");
    assert!(out["data"]["checkOut"]["checkIn"]["interaction"]["outcome"].as_str().unwrap().contains("分钟"));
    // The photo is now the check-in's: the manager may download it, rep3 may not.
    let path = format!("/attachments/{}", {
        let raw = photo.as_str().unwrap();
        guanxi_gateway::graphql::relay::parse_global_id(&async_graphql::ID(raw.to_owned())).unwrap().1
    });
    let manager = app.login("manager@demo.local").await;
    assert_eq!(app.client.get(app.url(&path)).bearer_auth(&manager).send().await.unwrap().status(), 200);
    let rep3 = app.login("rep3@demo.local").await;
    assert_eq!(app.client.get(app.url(&path)).bearer_auth(&rep3).send().await.unwrap().status(), 404);
    // Someone else's photo cannot be attached.
    let (_, other_photo) = upload(&app, &rep3, JPEG, "image/jpeg", true).await;
    let stolen = app
        .gql(Some(&rep), CHECK_IN, json!({"i": {"customerId": id, "location": {"latitude": 31.23, "longitude": 121.47}, "deviceTime": Utc::now().to_rfc3339(), "photoIds": [other_photo["data"]["uploadAttachment"]["attachment"]["id"]]}}))
        .await;
    assert_eq!(stolen["data"]["checkIn"]["userErrors"][0]["field"], "photoIds", "{stolen}");
}

#[tokio::test]
async fn visit_plans_count_the_check_ins_of_the_period() {
    let app = spawn_demo().await;
    let rep = app.login("rep1@demo.local").await;
    let (id, _) = customer(&app, &rep, "苏州恒信电子科技有限公司").await;
    let plan = app
        .gql(Some(&rep), "mutation($i: CreateVisitPlanInput!) { createVisitPlan(input: $i) { visitPlan { id planned done } userErrors { code } } }", json!({"i": {"customerId": id, "period": "MONTH", "visits": 4}}))
        .await;
    assert_eq!(plan["data"]["createVisitPlan"]["visitPlan"]["planned"], 4, "{plan}");
    for _ in 0..2 {
        app.gql(Some(&rep), CHECK_IN, json!({"i": {"customerId": id, "location": {"latitude": 31.3, "longitude": 120.6}, "deviceTime": Utc::now().to_rfc3339()}})).await;
    }
    let plans = app
        .gql(Some(&rep), "query($id: ID!) { visitPlans(customerId: $id) { planned done period } }", json!({"id": id}))
        .await;
    assert_eq!(plans["data"]["visitPlans"], json!([{"planned": 4, "done": 2, "period": "MONTH"}]), "{plans}");
    let rep3 = app.login("rep3@demo.local").await;
    let hidden =
        app.gql(Some(&rep3), "query($id: ID!) { visitPlans(customerId: $id) { planned } }", json!({"id": id})).await;
    assert_eq!(hidden["data"]["visitPlans"], json!([]));
}

const WORK_LOG: &str = "query($s: WorkLogSubject!, $from: DateTime!, $to: DateTime!) { workLog(subject: $s, from: $from, to: $to, granularity: DAY) { start newCustomers { count records(first: 100) { totalCount } } interactions { count records(first: 100) { totalCount } } interactionsByChannel { channel count } visitsWithCheckIn { count records { id } } } }";

#[tokio::test]
async fn work_log_figures_equal_their_drill_downs_and_follow_the_scope() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep = app.login("rep1@demo.local").await;
    let (id, _) = customer(&app, &rep, "上海明远机械制造有限公司").await;
    app.gql(
        Some(&rep),
        "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { userErrors { code } } }",
        json!({"i": {"name": "工作日志测试有限公司"}}),
    )
    .await;
    for n in 0..3 {
        app.gql(Some(&rep), "mutation($i: CreateInteractionInput!) { createInteraction(input: $i) { userErrors { code } } }", json!({"i": {"customerId": id, "channel": if n == 0 { "EMAIL" } else { "CALL" }, "content": format!("第{n}次")}})).await;
    }
    app.gql(Some(&rep), CHECK_IN, json!({"i": {"customerId": id, "location": {"latitude": 31.23, "longitude": 121.47}, "deviceTime": Utc::now().to_rfc3339()}})).await;
    let rep1 = app.user_id(&admin, "rep1@demo.local").await;
    let window = json!({"s": {"userId": rep1}, "from": (Utc::now() - Duration::days(30)).to_rfc3339(), "to": (Utc::now() + Duration::hours(1)).to_rfc3339()});
    let log = app.gql(Some(&rep), WORK_LOG, window.clone()).await;
    let periods = log["data"]["workLog"].as_array().unwrap_or_else(|| panic!("{log}"));
    let (mut customers, mut interactions, mut visits) = (0, 0, 0);
    for p in periods {
        assert_eq!(p["newCustomers"]["count"], p["newCustomers"]["records"]["totalCount"], "{p}");
        assert_eq!(p["interactions"]["count"], p["interactions"]["records"]["totalCount"], "{p}");
        assert_eq!(
            p["visitsWithCheckIn"]["count"].as_i64().unwrap() as usize,
            p["visitsWithCheckIn"]["records"].as_array().unwrap().len()
        );
        let by_channel: i64 =
            p["interactionsByChannel"].as_array().unwrap().iter().map(|c| c["count"].as_i64().unwrap()).sum();
        assert_eq!(by_channel, p["interactions"]["count"].as_i64().unwrap());
        customers += p["newCustomers"]["count"].as_i64().unwrap();
        interactions += p["interactions"]["count"].as_i64().unwrap();
        visits += p["visitsWithCheckIn"]["count"].as_i64().unwrap();
    }
    assert_eq!(customers, 1);
    // 3 typed in + the check-in's visit + the 2 seeded ones on each of rep1's 2 customers.
    assert_eq!(interactions, 3 + 1 + 4, "{log}");
    assert_eq!(visits, 1);
    // The manager sees rep1's log; rep3 does not; the team log adds up the department.
    let manager = app.login("manager@demo.local").await;
    let seen = app.gql(Some(&manager), WORK_LOG, window.clone()).await;
    assert!(seen["data"]["workLog"].is_array(), "{seen}");
    let rep3 = app.login("rep3@demo.local").await;
    assert_eq!(error_code(&app.gql(Some(&rep3), WORK_LOG, window).await), "NOT_FOUND");
    let east = app
        .gql(Some(&admin), "{ departments(filter: {name: {eq: \"华东销售部\"}}) { nodes { id } } }", json!({}))
        .await["data"]["departments"]["nodes"][0]["id"]
        .clone();
    let team = app
        .gql(Some(&manager), WORK_LOG, json!({"s": {"departmentId": east}, "from": (Utc::now() - Duration::days(30)).to_rfc3339(), "to": (Utc::now() + Duration::hours(1)).to_rfc3339()}))
        .await;
    let team_interactions: i64 = team["data"]["workLog"]
        .as_array()
        .unwrap_or_else(|| panic!("{team}"))
        .iter()
        .map(|p| p["interactions"]["count"].as_i64().unwrap())
        .sum();
    assert_eq!(
        team_interactions,
        interactions + 4 + 2,
        "rep2's two customers and the manager's one add their seeded interactions"
    );
}

/// The database buckets the work log (GROUP BY in SQL); its periods are Shanghai days,
/// ISO weeks and months, so 2026-05-31T16:00Z (Monday 1 June, 00:00 in Shanghai) opens a
/// new day, week and month while one second earlier is still the Sunday, in May.
#[tokio::test]
async fn work_log_periods_are_shanghai_days_weeks_and_months() {
    let app = spawn_demo().await;
    let rep = app.login("rep1@demo.local").await;
    let admin = app.login("admin@demo.local").await;
    let (id, _) = customer(&app, &rep, "上海明远机械制造有限公司").await;
    for at in ["2026-05-31T15:59:59Z", "2026-05-31T16:00:00Z"] {
        let out = app
            .gql(
                Some(&rep),
                "mutation($i: CreateInteractionInput!) { createInteraction(input: $i) { userErrors { code } } }",
                json!({"i": {"customerId": id, "channel": "VISIT", "occurredAt": at, "content": "跨日拜访"}}),
            )
            .await;
        assert_eq!(out["data"]["createInteraction"]["userErrors"], json!([]), "{out}");
    }
    let rep1 = app.user_id(&admin, "rep1@demo.local").await;
    let boundary = chrono::DateTime::parse_from_rfc3339("2026-05-31T16:00:00Z").unwrap();
    for granularity in ["DAY", "WEEK", "MONTH"] {
        let query = WORK_LOG.replace("granularity: DAY", &format!("granularity: {granularity}"));
        let log = app
            .gql(
                Some(&rep),
                &query,
                json!({"s": {"userId": rep1}, "from": "2026-05-20T00:00:00Z", "to": "2026-06-20T00:00:00Z"}),
            )
            .await;
        let periods = log["data"]["workLog"].as_array().unwrap_or_else(|| panic!("{log}"));
        let mut before = 0;
        let mut from_boundary = 0;
        for p in periods {
            let count = p["interactions"]["count"].as_i64().unwrap();
            assert_eq!(p["interactions"]["count"], p["interactions"]["records"]["totalCount"], "{granularity} {p}");
            let start = chrono::DateTime::parse_from_rfc3339(p["start"].as_str().unwrap()).unwrap();
            if start < boundary {
                before += count;
            } else if start == boundary {
                from_boundary += count;
            } else {
                assert_eq!(count, 0, "{granularity} {p}");
            }
        }
        assert_eq!((before, from_boundary), (1, 1), "{granularity}: {log}");
    }
}

/// The work log reads whole months and days from counts kept in the writing transaction. After
/// every change that moves interactions between owners or in and out of the live
/// customers (transfer, delete, restore, merge, undoing a merge), each figure still equals
/// its drill-down, which reads the interactions themselves, and follows the viewer's scope.
#[tokio::test]
async fn work_log_stored_counts_follow_transfers_deletes_restores_and_merges() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let rep = app.login("rep1@demo.local").await;
    let rep1 = app.user_id(&admin, "rep1@demo.local").await;
    let rep3 = app.user_id(&admin, "rep3@demo.local").await;
    let (survivor, _) = customer(&app, &rep, "上海明远机械制造有限公司").await;
    let mut made = Vec::new();
    for name in ["日志计数甲有限公司", "日志计数乙有限公司"] {
        let out = app
            .gql(
                Some(&rep),
                "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } userErrors { code } } }",
                json!({"i": {"name": name}}),
            )
            .await;
        made.push(
            out["data"]["createCustomer"]["customer"]["id"].as_str().unwrap_or_else(|| panic!("{out}")).to_owned(),
        );
    }
    let (a, b) = (made[0].clone(), made[1].clone());
    // Two interactions on A three days ago, one on B five days ago: whole days, so they
    // come from the daily counts, not from the part-days at the window's ends. At 17:30
    // UTC, already the next day in Shanghai: a recount that bucketed by the UTC date would
    // take them from the wrong day.
    // A and B also have one each 40 days ago, in a whole month of the window: by month,
    // those come from the month counts.
    for (id, days, channel) in [(&a, 3, "CALL"), (&a, 3, "VISIT"), (&b, 5, "CALL"), (&a, 40, "EMAIL"), (&b, 40, "CALL")]
    {
        let day = (Utc::now() - Duration::days(days)).date_naive();
        let at = day.and_hms_opt(17, 30, 0).unwrap().and_utc().to_rfc3339();
        let out = app
            .gql(
                Some(&rep),
                "mutation($i: CreateInteractionInput!) { createInteraction(input: $i) { userErrors { code } } }",
                json!({"i": {"customerId": id, "channel": channel, "occurredAt": at, "content": "日志计数"}}),
            )
            .await;
        assert_eq!(out["data"]["createInteraction"]["userErrors"], json!([]), "{out}");
    }
    let window = json!({"s": {"userId": rep1}, "from": (Utc::now() - Duration::days(90)).to_rfc3339(), "to": (Utc::now() + Duration::hours(1)).to_rfc3339()});
    // The total for a viewer, after checking every period against its drill-down, by day
    // and by month (which must agree).
    let total = |token: String| {
        let (app, window) = (&app, window.clone());
        async move {
            let mut sums = Vec::new();
            for granularity in ["DAY", "MONTH"] {
                let query = WORK_LOG.replace("granularity: DAY", &format!("granularity: {granularity}"));
                let log = app.gql(Some(&token), &query, window.clone()).await;
                let periods = log["data"]["workLog"].as_array().unwrap_or_else(|| panic!("{log}")).clone();
                let mut sum = 0;
                for p in &periods {
                    assert_eq!(p["interactions"]["count"], p["interactions"]["records"]["totalCount"], "{p}");
                    let by_channel: i64 = p["interactionsByChannel"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c["count"].as_i64().unwrap())
                        .sum();
                    assert_eq!(by_channel, p["interactions"]["count"].as_i64().unwrap(), "{p}");
                    sum += p["interactions"]["count"].as_i64().unwrap();
                }
                sums.push(sum);
            }
            assert_eq!(sums[0], sums[1], "by day and by month");
            sums[0]
        }
    };
    let (admin_start, manager_start) = (total(admin.clone()).await, total(manager.clone()).await);
    assert_eq!(admin_start, manager_start, "rep1's customers are in the manager's department");
    let version = |id: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let body =
                app.gql(Some(&admin), "query($id: ID!) { customer(id: $id) { version } }", json!({"id": id})).await;
            body["data"]["customer"]["version"].as_i64().unwrap_or_else(|| panic!("{body}"))
        }
    };
    let mutate = |query: &'static str, input: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let out = app.gql(Some(&admin), query, json!({"i": input})).await;
            let payload = out["data"].as_object().and_then(|d| d.values().next()).cloned().unwrap_or_default();
            assert_eq!(payload["userErrors"], json!([]), "{out}");
        }
    };
    const UPDATE: &str = "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { userErrors { code } } }";
    const DELETE: &str = "mutation($i: CustomerIdInput!) { deleteCustomer(input: $i) { userErrors { code } } }";
    const RESTORE: &str = "mutation($i: CustomerIdInput!) { restoreCustomer(input: $i) { userErrors { code } } }";
    const MERGE: &str = "mutation($i: MergeCustomersInput!) { mergeCustomers(input: $i) { userErrors { code } } }";

    // A goes to rep3, outside the manager's department: its three interactions leave the
    // manager's figures (rep1 still wrote them; the admin still sees them).
    mutate(UPDATE, json!({"id": a, "expectedVersion": version(a.clone()).await, "ownerId": rep3})).await;
    assert_eq!(total(admin.clone()).await, admin_start);
    assert_eq!(total(manager.clone()).await, manager_start - 3);
    // B in the recycle bin counts for nobody; restored, it counts again.
    mutate(DELETE, json!({"id": b, "expectedVersion": version(b.clone()).await})).await;
    assert_eq!(total(admin.clone()).await, admin_start - 2);
    assert_eq!(total(manager.clone()).await, manager_start - 5);
    mutate(RESTORE, json!({"id": b, "expectedVersion": version(b.clone()).await})).await;
    assert_eq!(total(manager.clone()).await, manager_start - 3);
    // Merging A into rep1's customer brings A's interactions back under rep1.
    mutate(
        MERGE,
        json!({"survivorId": survivor, "expectedVersion": version(survivor.clone()).await, "mergedIds": [a]}),
    )
    .await;
    assert_eq!(total(admin.clone()).await, admin_start);
    assert_eq!(total(manager.clone()).await, manager_start);
    // Undoing the merge moves them back to A, still rep3's.
    mutate(RESTORE, json!({"id": a, "expectedVersion": version(a.clone()).await})).await;
    assert_eq!(total(admin.clone()).await, admin_start);
    assert_eq!(total(manager.clone()).await, manager_start - 3);
    // And back to rep1.
    mutate(UPDATE, json!({"id": a, "expectedVersion": version(a.clone()).await, "ownerId": rep1})).await;
    assert_eq!(total(manager.clone()).await, manager_start);

    // Today so far (the daily report) reads today whole and takes away the rest of the
    // day; an interaction logged a minute ago counts, one due later today does not.
    let now = Utc::now();
    let today = guanxi_domain::activity::field::period_of(now, guanxi_domain::activity::field::Granularity::Day);
    for at in [now - Duration::minutes(1), now + Duration::minutes(5)] {
        let out = app
            .gql(
                Some(&rep),
                "mutation($i: CreateInteractionInput!) { createInteraction(input: $i) { userErrors { code } } }",
                json!({"i": {"customerId": a, "channel": "CALL", "occurredAt": at.to_rfc3339(), "content": "今日"}}),
            )
            .await;
        assert_eq!(out["data"]["createInteraction"]["userErrors"], json!([]), "{out}");
    }
    let so_far =
        json!({"s": {"userId": rep1}, "from": today.0.to_rfc3339(), "to": (now + Duration::seconds(30)).to_rfc3339()});
    let log = app.gql(Some(&manager), WORK_LOG, so_far).await;
    let periods = log["data"]["workLog"].as_array().unwrap_or_else(|| panic!("{log}"));
    assert_eq!(periods.len(), 1, "{log}");
    let day = &periods[0]["interactions"];
    assert_eq!(day["count"], day["records"]["totalCount"], "{log}");
    assert!(day["count"].as_i64().unwrap() >= 1, "{log}");
}

#[tokio::test]
async fn a_check_out_reads_its_check_in_through_the_customer_scope() {
    let app = spawn_demo().await;
    let rep = app.login("rep1@demo.local").await;
    let admin = app.login("admin@demo.local").await;
    let (id, _) = customer(&app, &rep, "上海明远机械制造有限公司").await;
    let at = json!({"latitude": 31.2310, "longitude": 121.4740});
    let first = app
        .gql(
            Some(&rep),
            CHECK_IN,
            json!({"i": {"customerId": id, "location": at, "deviceTime": Utc::now().to_rfc3339()}}),
        )
        .await;
    let check_in = first["data"]["checkIn"]["checkIn"]["id"].clone();
    assert!(check_in.is_string(), "{first}");
    // The customer goes to the recycle bin; the rep's open visit is out of reach with it.
    let (_, version) = customer(&app, &admin, "上海明远机械制造有限公司").await;
    let deleted = app
        .gql(
            Some(&admin),
            "mutation($i: CustomerIdInput!) { deleteCustomer(input: $i) { userErrors { code } } }",
            json!({"i": {"id": id, "expectedVersion": version}}),
        )
        .await;
    assert_eq!(deleted["data"]["deleteCustomer"]["userErrors"], json!([]), "{deleted}");
    let out = app
        .gql(
            Some(&rep),
            "mutation($i: CheckOutInput!) { checkOut(input: $i) { checkIn { id } userErrors { field code } } }",
            json!({"i": {"checkInId": check_in, "location": at, "deviceTime": Utc::now().to_rfc3339()}}),
        )
        .await;
    assert_eq!(out["data"]["checkOut"]["userErrors"], json!([{"field": "checkInId", "code": "NOT_FOUND"}]), "{out}");
}
