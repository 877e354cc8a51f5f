//! Public pools (公海): release, claim, assignment, caps, cool-down, locks, the reclaim
//! rules and their warning, scope on every path, and statement counts, over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use guanxi_store::ConnectionTrait;
use serde_json::{Value, json};

const POOLS: &str = "{ pools { id name version canClaim isAdmin customerCount myClaimsToday dailyClaimCap ownedCap cooldownDays warnDays rules { kind days exemptWithWonDeal } } }";
const RELEASE: &str = "mutation($i: ReleaseCustomersInput!) { releaseCustomers(input: $i) { released userErrors { field code message } } }";
const CLAIM: &str = "mutation($i: ClaimCustomersInput!) { claimCustomers(input: $i) { customers { id name version owner { email } poolEntry { poolId } ownerReceivedAt } userErrors { field code message } } }";
const ASSIGN: &str = "mutation($i: AssignPoolCustomersInput!) { assignPoolCustomers(input: $i) { customers { id owner { email } } userErrors { field code message } } }";
const POOL_CUSTOMERS: &str = "query($p: ID!, $f: CustomerFilter) { poolCustomers(poolId: $p, first: 50, filter: $f) { totalCount nodes { id name industry entry { kind reason enteredAt previousOwner { email } } } } }";
const LOCK: &str = "mutation($i: SetCustomerLockedInput!) { setCustomerLocked(input: $i) { customer { id locked version } userErrors { field code } } }";
const DUE: &str = "query($w: Int) { customersDueForReclaim(withinDays: $w) { customer { name } rule dueAt poolId } }";

/// A customer's id and version, as `token` sees it (None when invisible).
async fn customer(app: &TestApp, token: &str, name: &str) -> Option<(String, i64)> {
    let body = app
        .gql(
            Some(token),
            "query($n: String!) { customers(filter: {name: {eq: $n}}) { nodes { id version } } }",
            json!({"n": name}),
        )
        .await;
    let node = &body["data"]["customers"]["nodes"][0];
    node["id"].as_str().map(|id| (id.to_owned(), node["version"].as_i64().unwrap()))
}

/// The id of a customer, read by the tenant admin (who sees every customer).
async fn id_of(app: &TestApp, name: &str) -> String {
    let admin = app.login("admin@demo.local").await;
    customer(app, &admin, name).await.unwrap_or_else(|| panic!("no customer {name}")).0
}

async fn east_pool(app: &TestApp, token: &str) -> Value {
    let body = app.gql(Some(token), POOLS, json!({})).await;
    body["data"]["pools"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .find(|p| p["name"] == "华东公海")
        .cloned()
        .unwrap_or(Value::Null)
}

async fn rows(app: &TestApp, sql: &str) -> Vec<guanxi_store::QueryResult> {
    app.db.connection().query_all_raw(guanxi_store::dialect::raw_statement(app.db.db_backend(), sql, [])).await.unwrap()
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    rows(app, sql).await[0].try_get_by_index::<i64>(0).unwrap()
}

/// Moves a customer's clock back: created (and so received) `days` ago, no follow-up since.
async fn age(app: &TestApp, name: &str, days: i64) {
    let at = chrono::Utc::now() - chrono::Duration::days(days);
    app.db
        .connection()
        .execute_raw(guanxi_store::dialect::raw_statement(
            app.db.db_backend(),
            "UPDATE customers SET created_at = ?, owner_received_at = NULL, last_interaction_at = NULL WHERE name = ?",
            [at.into(), name.into()],
        ))
        .await
        .unwrap();
}

/// The work log's stored counts per owner equal a recount of the live interactions on
/// live customers (pool moves keep them in step).
async fn assert_counts_follow_owners(app: &TestApp) {
    let pairs = |sql: &'static str| async move {
        let mut pairs: Vec<(String, i64)> = rows(app, sql)
            .await
            .iter()
            .map(|r| {
                (format!("{:?}", r.try_get_by_index::<uuid::Uuid>(0).unwrap()), r.try_get_by_index::<i64>(1).unwrap())
            })
            .filter(|(_, n)| *n != 0)
            .collect();
        pairs.sort();
        pairs
    };
    let stored = pairs(
        "SELECT owner_id, CAST(SUM(n) AS BIGINT) FROM interaction_counts WHERE grain = 'MONTH' GROUP BY owner_id",
    )
    .await;
    let counted = pairs(
        "SELECT c.owner_id, COUNT(*) FROM interactions i JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id \
         WHERE i.deleted_at IS NULL AND c.deleted_at IS NULL AND c.owner_id IS NOT NULL GROUP BY c.owner_id",
    )
    .await;
    let nobody = format!("{:?}", uuid::Uuid::nil());
    let stored: Vec<(String, i64)> = stored.into_iter().filter(|(o, _)| *o != nobody).collect();
    assert!(!counted.is_empty(), "the demo has interactions");
    assert_eq!(stored, counted);
}

fn mutation_payload<'a>(body: &'a Value, name: &str) -> &'a Value {
    &body["data"][name]
}

#[tokio::test]
async fn a_released_customer_waits_in_the_pool_until_a_member_claims_it() {
    let app = spawn_demo().await;
    let (rep1, rep2, rep3) =
        (app.login("rep1@demo.local").await, app.login("rep2@demo.local").await, app.login("rep3@demo.local").await);
    let manager = app.login("manager@demo.local").await;

    // Who sees the pool: East's reps (members), their manager (its admin); not North's rep.
    let pool = east_pool(&app, &rep1).await;
    assert_eq!((pool["canClaim"].as_bool(), pool["isAdmin"].as_bool()), (Some(true), Some(false)), "{pool}");
    assert_eq!(pool["rules"][0], json!({"kind": "NO_FOLLOW_UP", "days": 30, "exemptWithWonDeal": true}));
    let pool_id = pool["id"].as_str().unwrap().to_owned();
    assert_eq!(east_pool(&app, &manager).await["isAdmin"], true);
    assert_eq!(app.gql(Some(&rep3), POOLS, json!({})).await["data"]["pools"], json!([]));
    let hidden = app.gql(Some(&rep3), "query($id: ID!) { pool(id: $id) { name } }", json!({"id": pool_id})).await;
    assert_eq!(error_code(&hidden), "NOT_FOUND");
    // Only admins see the member list.
    let members = app.gql(Some(&rep1), "{ pools { members { admin } } }", json!({})).await;
    assert_eq!(error_code(&members), "FORBIDDEN");
    let members =
        app.gql(Some(&manager), "{ pools { members { admin user { email } department { name } } } }", json!({})).await;
    assert_eq!(
        members["data"]["pools"][0]["members"],
        json!([
            {"admin": false, "user": null, "department": {"name": "华东销售部"}},
            {"admin": true, "user": {"email": "manager@demo.local"}, "department": null}
        ]),
        "{members}"
    );

    let (mingyuan, _) = customer(&app, &rep1, "上海明远机械制造有限公司").await.unwrap();
    let events_before = scalar(&app, "SELECT COUNT(*) FROM change_events").await;
    // Bad input changes nothing: no reason, an unknown pool, another rep's customer.
    let (jinling, _) = customer(&app, &rep2, "南京金陵商贸有限公司").await.unwrap();
    for (input, code) in [
        (json!({"ids": [mingyuan], "poolId": pool_id, "reason": "  "}), "REQUIRED"),
        (json!({"ids": [mingyuan, jinling], "poolId": pool_id, "reason": "无预算"}), "NOT_FOUND"),
        (json!({"ids": [mingyuan, mingyuan], "poolId": pool_id, "reason": "无预算"}), "DUPLICATE"),
    ] {
        let body = app.gql(Some(&rep1), RELEASE, json!({"i": input})).await;
        assert_eq!(user_error_codes(mutation_payload(&body, "releaseCustomers")), [code], "{body}");
    }
    let pool3 = app.gql(Some(&rep3), POOLS, json!({})).await;
    assert_eq!(pool3["data"]["pools"], json!([]));
    let foreign = app
        .gql(
            Some(&rep3),
            RELEASE,
            json!({"i": {"ids": [id_of(&app, "北京京华软件股份有限公司").await], "poolId": pool_id, "reason": "x"}}),
        )
        .await;
    assert_eq!(user_error_codes(mutation_payload(&foreign, "releaseCustomers")), ["NOT_FOUND"], "{foreign}");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM change_events").await, events_before);
    assert!(customer(&app, &rep1, "上海明远机械制造有限公司").await.is_some());

    // Release: the customer leaves rep1's scope, contacts included, and waits in the pool.
    let contacts = |token: String| {
        let app = &app;
        async move {
            let body = app.gql(Some(&token), "{ contacts { totalCount } }", json!({})).await;
            body["data"]["contacts"]["totalCount"].as_i64().unwrap()
        }
    };
    let rep1_contacts = contacts(rep1.clone()).await;
    let released = app
        .gql(Some(&rep1), RELEASE, json!({"i": {"ids": [mingyuan], "poolId": pool_id, "reason": "客户暂无预算"}}))
        .await;
    assert_eq!(mutation_payload(&released, "releaseCustomers")["released"], 1, "{released}");
    assert!(customer(&app, &rep1, "上海明远机械制造有限公司").await.is_none());
    assert_eq!(
        error_code(
            &app.gql(Some(&rep1), "query($id: ID!) { customer(id: $id) { name } }", json!({"id": mingyuan})).await
        ),
        "NOT_FOUND"
    );
    assert!(contacts(rep1.clone()).await < rep1_contacts);
    let listed = app.gql(Some(&rep2), POOL_CUSTOMERS, json!({"p": pool_id})).await;
    let listed = &listed["data"]["poolCustomers"];
    assert_eq!(listed["totalCount"], 1, "{listed}");
    assert_eq!(listed["nodes"][0]["name"], "上海明远机械制造有限公司");
    assert_eq!(listed["nodes"][0]["entry"]["kind"], "RELEASED");
    assert_eq!(listed["nodes"][0]["entry"]["reason"], "客户暂无预算");
    let filtered = app.gql(Some(&rep2), POOL_CUSTOMERS, json!({"p": pool_id, "f": {"industry": {"eq": "物流"}}})).await;
    assert_eq!(filtered["data"]["poolCustomers"]["totalCount"], 0, "{filtered}");
    // An `or` filter narrows within the pool; it cannot reach owned customers.
    let either = json!({"or": [{"name": {"eq": "南京金陵商贸有限公司"}}, {"industry": {"eq": "制造业"}}]});
    let narrowed = app.gql(Some(&rep2), POOL_CUSTOMERS, json!({"p": pool_id, "f": either})).await;
    assert_eq!(narrowed["data"]["poolCustomers"]["totalCount"], 1, "{narrowed}");
    assert_eq!(error_code(&app.gql(Some(&rep3), POOL_CUSTOMERS, json!({"p": pool_id})).await), "NOT_FOUND");
    assert_eq!(east_pool(&app, &rep2).await["customerCount"], 1);

    // The former owner is in the cool-down; a non-member cannot claim; a member can.
    let back = app.gql(Some(&rep1), CLAIM, json!({"i": {"ids": [mingyuan]}})).await;
    assert_eq!(user_error_codes(mutation_payload(&back, "claimCustomers")), ["ILLEGAL_STATE"], "{back}");
    let outsider = app.gql(Some(&rep3), CLAIM, json!({"i": {"ids": [mingyuan]}})).await;
    assert_eq!(user_error_codes(mutation_payload(&outsider, "claimCustomers")), ["NOT_FOUND"], "{outsider}");
    let claimed = app.gql(Some(&rep2), CLAIM, json!({"i": {"ids": [mingyuan], "idempotencyKey": "claim-1"}})).await;
    let claimed = mutation_payload(&claimed, "claimCustomers");
    assert_eq!(claimed["userErrors"], json!([]), "{claimed}");
    assert_eq!(claimed["customers"][0]["owner"]["email"], "rep2@demo.local");
    assert!(claimed["customers"][0]["poolEntry"].is_null());
    assert!(claimed["customers"][0]["ownerReceivedAt"].is_string());
    // A retry with the key replays; the pool log has one claim.
    let replay = app.gql(Some(&rep2), CLAIM, json!({"i": {"ids": [mingyuan], "idempotencyKey": "claim-1"}})).await;
    assert_eq!(mutation_payload(&replay, "claimCustomers")["customers"][0]["owner"]["email"], "rep2@demo.local");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM pool_log WHERE action = 'CLAIM'").await, 1);
    assert_eq!(east_pool(&app, &rep2).await["myClaimsToday"], 1);
    // Contacts and the open deal followed the customer to rep2.
    let detail = app
        .gql(
            Some(&rep2),
            "query($id: ID!) { customer360(id: $id) { customer { contacts { owner { email } } } opportunities(first: 5) { nodes { status owner { email } } } } }",
            json!({"id": mingyuan}),
        )
        .await;
    let detail = &detail["data"]["customer360"];
    assert!(
        detail["customer"]["contacts"].as_array().unwrap().iter().all(|c| c["owner"]["email"] == "rep2@demo.local"),
        "{detail}"
    );
    assert_eq!(detail["opportunities"]["nodes"][0]["owner"]["email"], "rep2@demo.local", "{detail}");
    // The history tells the story: released by rep1, claimed by rep2.
    let history = app
        .gql(
            Some(&manager),
            "query($id: ID!) { history(id: $id, first: 10) { nodes { operation actor { email } } } }",
            json!({"id": mingyuan}),
        )
        .await;
    let ops: Vec<(String, String)> = history["data"]["history"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{history}"))
        .iter()
        .take(2)
        .map(|n| (n["operation"].as_str().unwrap().to_owned(), n["actor"]["email"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert_eq!(ops, [("CLAIM".into(), "rep2@demo.local".into()), ("RELEASE".into(), "rep1@demo.local".into())]);
    assert_counts_follow_owners(&app).await;
}

#[tokio::test]
async fn claims_respect_the_caps_and_exactly_one_of_racing_claims_wins() {
    let app = spawn_demo().await;
    let (rep1, rep2, manager) =
        (app.login("rep1@demo.local").await, app.login("rep2@demo.local").await, app.login("manager@demo.local").await);
    let admin = app.login("admin@demo.local").await;
    let pool = east_pool(&app, &manager).await;
    let pool_id = pool["id"].as_str().unwrap().to_owned();
    let (gangtong, _) = customer(&app, &manager, "宁波港通物流有限公司").await.unwrap();
    let (yunfan, _) = customer(&app, &rep2, "杭州云帆培训学校有限公司").await.unwrap();
    let (jinling, _) = customer(&app, &rep2, "南京金陵商贸有限公司").await.unwrap();
    for (token, id) in [(&manager, &gangtong), (&rep2, &yunfan), (&rep2, &jinling)] {
        let body =
            app.gql(Some(token), RELEASE, json!({"i": {"ids": [id], "poolId": pool_id, "reason": "重新分配"}})).await;
        assert_eq!(mutation_payload(&body, "releaseCustomers")["released"], 1, "{body}");
    }

    // Eight racing claims of one customer: exactly one wins, the rest change nothing.
    let claims = (0..8).map(|n| {
        let (app, token, id) = (&app, if n % 2 == 0 { rep1.clone() } else { rep2.clone() }, gangtong.clone());
        async move { app.gql(Some(&token), CLAIM, json!({"i": {"ids": [id]}})).await }
    });
    let results = futures::future::join_all(claims).await;
    let won = results.iter().filter(|r| r["data"]["claimCustomers"]["userErrors"] == json!([])).count();
    assert_eq!(won, 1, "{results:?}");
    for r in &results {
        let codes = user_error_codes(&r["data"]["claimCustomers"]);
        // A loser is told what it can act on: someone else took the customer first.
        assert!(codes.is_empty() || codes == ["CONFLICT"], "{r}");
    }
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM pool_log WHERE action = 'CLAIM'").await, 1);

    // Caps: one claim a day; and an owner cap the assignee is already over.
    let mut settings = json!({
        "id": pool_id, "expectedVersion": pool["version"], "name": "华东公海", "warnDays": 5, "cooldownDays": 7,
        "dailyClaimCap": 1, "ownedCap": 200,
        "rules": [{"kind": "NO_FOLLOW_UP", "days": 30, "exemptWithWonDeal": true}],
        "members": [{"departmentId": app.department(&admin, "华东销售部").await.0}, {"userId": app.user_id(&admin, "manager@demo.local").await, "admin": true}]
    });
    const UPDATE: &str = "mutation($i: UpdatePoolInput!) { updatePool(input: $i) { pool { version dailyClaimCap } userErrors { field code } } }";
    let updated = app.gql(Some(&admin), UPDATE, json!({"i": settings})).await;
    assert_eq!(updated["data"]["updatePool"]["pool"]["dailyClaimCap"], 1, "{updated}");
    // The same version again is a conflict, and changes nothing.
    let conflict = app.gql(Some(&admin), UPDATE, json!({"i": settings})).await;
    assert_eq!(user_error_codes(&conflict["data"]["updatePool"]), ["VERSION_CONFLICT"], "{conflict}");
    let first = app.gql(Some(&rep1), CLAIM, json!({"i": {"ids": [yunfan]}})).await;
    let rep1_first_ok = user_error_codes(&first["data"]["claimCustomers"]).is_empty();
    let second = app.gql(Some(&rep1), CLAIM, json!({"i": {"ids": [jinling]}})).await;
    // rep1 may already have won the race above: either way the second claim today is over the cap.
    assert!(rep1_first_ok || user_error_codes(&first["data"]["claimCustomers"]) == ["LIMIT_REACHED"], "{first}");
    assert_eq!(user_error_codes(&second["data"]["claimCustomers"]), ["LIMIT_REACHED"], "{second}");

    settings["expectedVersion"] = json!(updated["data"]["updatePool"]["pool"]["version"]);
    settings["dailyClaimCap"] = Value::Null;
    settings["ownedCap"] = json!(1);
    let capped = app.gql(Some(&admin), UPDATE, json!({"i": settings})).await;
    assert_eq!(capped["data"]["updatePool"]["userErrors"], json!([]), "{capped}");
    // Assigning needs the pool's admin; a member is refused, a non-member sees nothing.
    let rep2_id = app.user_id(&admin, "rep2@demo.local").await;
    let by_member = app.gql(Some(&rep1), ASSIGN, json!({"i": {"ids": [jinling], "ownerId": rep2_id}})).await;
    assert_eq!(user_error_codes(&by_member["data"]["assignPoolCustomers"]), ["FORBIDDEN"], "{by_member}");
    let rep3 = app.login("rep3@demo.local").await;
    let by_outsider = app.gql(Some(&rep3), ASSIGN, json!({"i": {"ids": [jinling], "ownerId": rep2_id}})).await;
    assert_eq!(user_error_codes(&by_outsider["data"]["assignPoolCustomers"]), ["NOT_FOUND"], "{by_outsider}");
    // rep1 owns customers already: over the owned cap of 1.
    let rep1_id = app.user_id(&admin, "rep1@demo.local").await;
    let over = app.gql(Some(&manager), ASSIGN, json!({"i": {"ids": [jinling], "ownerId": rep1_id}})).await;
    assert_eq!(user_error_codes(&over["data"]["assignPoolCustomers"]), ["LIMIT_REACHED"], "{over}");
    settings["expectedVersion"] = json!(capped["data"]["updatePool"]["pool"]["version"]);
    settings["ownedCap"] = Value::Null;
    app.gql(Some(&admin), UPDATE, json!({"i": settings})).await;
    let assigned = app.gql(Some(&manager), ASSIGN, json!({"i": {"ids": [jinling], "ownerId": rep1_id}})).await;
    assert_eq!(
        assigned["data"]["assignPoolCustomers"]["customers"][0]["owner"]["email"], "rep1@demo.local",
        "{assigned}"
    );
    assert!(customer(&app, &rep1, "南京金陵商贸有限公司").await.is_some());
    assert!(customer(&app, &rep2, "南京金陵商贸有限公司").await.is_none());
    // Handed to someone outside the admin's own scope, the customer is not read back to
    // the admin: the payload shows what the caller may see.
    let (mingyuan, _) = customer(&app, &rep1, "上海明远机械制造有限公司").await.unwrap();
    let body =
        app.gql(Some(&rep1), RELEASE, json!({"i": {"ids": [mingyuan], "poolId": pool_id, "reason": "转北区"}})).await;
    assert_eq!(body["data"]["releaseCustomers"]["released"], 1, "{body}");
    let rep3_id = app.user_id(&admin, "rep3@demo.local").await;
    let outside = app.gql(Some(&manager), ASSIGN, json!({"i": {"ids": [mingyuan], "ownerId": rep3_id}})).await;
    assert_eq!(outside["data"]["assignPoolCustomers"], json!({"customers": [], "userErrors": []}), "{outside}");
    assert!(customer(&app, &manager, "上海明远机械制造有限公司").await.is_none());
    assert!(customer(&app, &rep3, "上海明远机械制造有限公司").await.is_some());
}

#[tokio::test]
async fn the_reclaim_rules_take_back_neglected_customers_and_warn_their_owners_first() {
    let app = spawn_demo().await;
    let (rep1, rep2, rep3) =
        (app.login("rep1@demo.local").await, app.login("rep2@demo.local").await, app.login("rep3@demo.local").await);
    let admin = app.login("admin@demo.local").await;
    // 明远 (rep1, open deal) and 恒信 (rep1, won deal) were neglected 40 days; 金陵 (rep2)
    // too, but rep2 locks it; 云帆 (rep2) falls due in 3 days; 京华 (rep3, not a member)
    // is 40 days old but its owner is outside the pool.
    for (name, days) in [
        ("上海明远机械制造有限公司", 40),
        ("苏州恒信电子科技有限公司", 40),
        ("南京金陵商贸有限公司", 40),
        ("杭州云帆培训学校有限公司", 27),
        ("北京京华软件股份有限公司", 40),
    ] {
        age(&app, name, days).await;
    }
    let (jinling, version) = customer(&app, &rep2, "南京金陵商贸有限公司").await.unwrap();
    let locked =
        app.gql(Some(&rep2), LOCK, json!({"i": {"id": jinling, "expectedVersion": version, "locked": true}})).await;
    assert_eq!(locked["data"]["setCustomerLocked"]["customer"]["locked"], true, "{locked}");
    let stale =
        app.gql(Some(&rep2), LOCK, json!({"i": {"id": jinling, "expectedVersion": version, "locked": false}})).await;
    assert_eq!(user_error_codes(&stale["data"]["setCustomerLocked"]), ["VERSION_CONFLICT"]);
    let foreign = app
        .gql(Some(&rep1), LOCK, json!({"i": {"id": jinling, "expectedVersion": version + 1, "locked": false}}))
        .await;
    assert_eq!(user_error_codes(&foreign["data"]["setCustomerLocked"]), ["NOT_FOUND"]);

    // The warning: each owner sees their own customers coming due, and nobody else's.
    let names = |body: &Value| -> Vec<String> {
        body["data"]["customersDueForReclaim"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|d| d["customer"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&app.gql(Some(&rep1), DUE, json!({})).await), ["上海明远机械制造有限公司"]);
    let rep2_due = app.gql(Some(&rep2), DUE, json!({})).await;
    assert_eq!(names(&rep2_due), ["杭州云帆培训学校有限公司"]);
    let due_at: chrono::DateTime<chrono::Utc> =
        rep2_due["data"]["customersDueForReclaim"][0]["dueAt"].as_str().unwrap().parse().unwrap();
    let days = (due_at - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((2.9..3.1).contains(&days), "due in {days} days");
    assert_eq!(names(&app.gql(Some(&rep2), DUE, json!({"w": 0})).await), Vec::<String>::new());
    assert_eq!(names(&app.gql(Some(&rep3), DUE, json!({})).await), Vec::<String>::new());

    // The job takes back exactly 明远: 恒信 won a deal, 金陵 is locked, 云帆 is not due
    // yet, 京华's owner is no member.
    let runner = guanxi_gateway::jobs::JobRunner::standard(app.db.clone());
    let ran = runner.run_due().await.unwrap();
    let reclaim = ran.iter().find(|r| r.job == "pool_reclaim").unwrap_or_else(|| panic!("{ran:?}"));
    assert_eq!(reclaim.affected, 1);
    assert!(customer(&app, &rep1, "上海明远机械制造有限公司").await.is_none());
    for (token, name) in [
        (&rep1, "苏州恒信电子科技有限公司"),
        (&rep2, "南京金陵商贸有限公司"),
        (&rep2, "杭州云帆培训学校有限公司"),
        (&rep3, "北京京华软件股份有限公司"),
    ] {
        assert!(customer(&app, token, name).await.is_some(), "{name}");
    }
    let pool_id = east_pool(&app, &rep2).await["id"].as_str().unwrap().to_owned();
    // (The manager sees who owned it; a rep sees other reps only within their org scope.)
    let manager = app.login("manager@demo.local").await;
    let listed = app.gql(Some(&manager), POOL_CUSTOMERS, json!({"p": pool_id})).await;
    let entry = &listed["data"]["poolCustomers"]["nodes"][0];
    assert_eq!(entry["name"], "上海明远机械制造有限公司", "{listed}");
    assert_eq!(entry["entry"]["kind"], "RECLAIMED");
    assert_eq!(entry["entry"]["reason"], "30 天未跟进");
    assert_eq!(entry["entry"]["previousOwner"]["email"], "rep1@demo.local");
    // The system did it, on the record.
    let rows = rows(&app, "SELECT actor_user_id FROM change_events WHERE operation = 'RECLAIM'").await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].try_get_by_index::<Option<uuid::Uuid>>(0).unwrap().is_none());

    // Running the rules again takes nothing more (and no second replica would either).
    let again = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { reclaimPool(id: $id) { reclaimed userErrors { code } } }",
            json!({"id": pool_id}),
        )
        .await;
    assert_eq!(again["data"]["reclaimPool"]["reclaimed"], 0, "{again}");
    let forbidden =
        app.gql(Some(&rep2), "mutation($id: ID!) { reclaimPool(id: $id) { reclaimed } }", json!({"id": pool_id})).await;
    assert_eq!(error_code(&forbidden), "FORBIDDEN");
    // Past the warning, 云帆 goes too once its day has come, and 金陵 once unlocked; in
    // batches of one customer the job walks on past each batch.
    age(&app, "杭州云帆培训学校有限公司", 31).await;
    let (_, version) = customer(&app, &rep2, "南京金陵商贸有限公司").await.unwrap();
    let unlocked =
        app.gql(Some(&rep2), LOCK, json!({"i": {"id": jinling, "expectedVersion": version, "locked": false}})).await;
    assert_eq!(unlocked["data"]["setCustomerLocked"]["customer"]["locked"], false, "{unlocked}");
    let pool = guanxi_domain::ids::PoolId::from_uuid(
        guanxi_gateway::graphql::relay::parse_global_id(&async_graphql::ID(pool_id.clone())).unwrap().1,
    );
    let tenant =
        guanxi_store::platform::tenant::find_by_slug(app.db.connection(), "demo").await.unwrap().unwrap().id.into();
    let later =
        guanxi_store::sales::pool_reclaim::reclaim_pool_in_batches(&app.db, tenant, pool, chrono::Utc::now(), 1)
            .await
            .unwrap();
    assert_eq!(later, 2);
    assert!(customer(&app, &rep2, "杭州云帆培训学校有限公司").await.is_none());
    assert!(customer(&app, &rep2, "南京金陵商贸有限公司").await.is_none());
    assert_eq!(east_pool(&app, &rep2).await["customerCount"], 3);
    assert_counts_follow_owners(&app).await;
}

#[tokio::test]
async fn pools_are_configured_by_admins_checked_field_by_field_and_kept_per_tenant() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    const CREATE: &str = "mutation($i: PoolInput!) { createPool(input: $i) { pool { id name isAdmin canClaim } userErrors { field code } } }";
    let north = app.department(&admin, "华北销售部").await.0;
    let input =
        json!({"name": "华北公海", "rules": [{"kind": "NO_DEAL", "days": 60}], "members": [{"departmentId": north}]});
    assert_eq!(error_code(&app.gql(Some(&rep1), CREATE, json!({"i": input})).await), "FORBIDDEN");
    let pools_before = scalar(&app, "SELECT COUNT(*) FROM pools").await;
    let bad = app
        .gql(
            Some(&admin),
            CREATE,
            json!({"i": {"name": " ", "warnDays": 90, "dailyClaimCap": 0,
                "rules": [{"kind": "NO_DEAL", "days": 60}, {"kind": "NO_DEAL", "days": 30, "levels": ["A"]}],
                "members": [{"userId": north}, {}]}}),
        )
        .await;
    let mut codes: Vec<(String, String)> = bad["data"]["createPool"]["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("{bad}"))
        .iter()
        .map(|e| (e["field"].as_str().unwrap_or("").to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect();
    codes.sort();
    assert_eq!(codes, [("members.0".into(), "INVALID".into()), ("members.1".into(), "INVALID".into())], "{bad}");
    let bad = app
        .gql(
            Some(&admin),
            CREATE,
            json!({"i": {"name": " ", "warnDays": 90, "dailyClaimCap": 0,
                "rules": [{"kind": "NO_DEAL", "days": 60}, {"kind": "NO_DEAL", "days": 30, "levels": ["A"]}],
                "members": [{"userId": app.user_id(&admin, "rep1@demo.local").await}]}}),
        )
        .await;
    let mut codes: Vec<String> = bad["data"]["createPool"]["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("{bad}"))
        .iter()
        .map(|e| format!("{}:{}", e["field"].as_str().unwrap_or(""), e["code"].as_str().unwrap()))
        .collect();
    codes.sort();
    assert_eq!(codes, ["dailyClaimCap:INVALID", "name:REQUIRED", "rules.1.levels:DUPLICATE", "warnDays:INVALID"]);
    let taken = app.gql(Some(&admin), CREATE, json!({"i": {"name": "华东公海"}})).await;
    assert_eq!(user_error_codes(&taken["data"]["createPool"]), ["DUPLICATE"], "{taken}");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM pools").await, pools_before);

    let created = app.gql(Some(&admin), CREATE, json!({"i": input})).await;
    assert_eq!(created["data"]["createPool"]["pool"]["name"], "华北公海", "{created}");
    // The admin runs the pool; the admin is no member of it (North's reps are).
    let made = &created["data"]["createPool"]["pool"];
    assert_eq!((&made["isAdmin"], &made["canClaim"]), (&json!(true), &json!(false)), "{created}");
    let by_rep = app
        .gql(
            Some(&rep1),
            "mutation($i: UpdatePoolInput!) { updatePool(input: $i) { pool { name } } }",
            json!({"i": {"id": made["id"], "expectedVersion": 1, "name": "改名"}}),
        )
        .await;
    assert_eq!(error_code(&by_rep), "FORBIDDEN");
    let rep3 = app.login("rep3@demo.local").await;
    let seen = app.gql(Some(&rep3), POOLS, json!({})).await;
    assert_eq!(seen["data"]["pools"][0]["name"], "华北公海", "{seen}");
    // The admin's pool history is on the record.
    let id = created["data"]["createPool"]["pool"]["id"].as_str().unwrap();
    let history =
        app.gql(Some(&admin), "query($id: ID!) { history(id: $id) { nodes { operation } } }", json!({"id": id})).await;
    assert_eq!(history["data"]["history"]["nodes"][0]["operation"], "CREATE", "{history}");

    // Another tenant sees none of it and can claim nothing from it.
    let other = app.second_tenant("other").await;
    assert_eq!(app.gql(Some(&other), POOLS, json!({})).await["data"]["pools"], json!([]));
    assert_eq!(error_code(&app.gql(Some(&other), POOL_CUSTOMERS, json!({"p": id})).await), "NOT_FOUND");
    let release = app
        .gql(
            Some(&rep3),
            RELEASE,
            json!({"i": {"ids": [id_of(&app, "北京京华软件股份有限公司").await], "poolId": id, "reason": "转交"}}),
        )
        .await;
    assert_eq!(release["data"]["releaseCustomers"]["released"], 1, "{release}");
    let jinghua = id_of(&app, "北京京华软件股份有限公司").await;
    let stolen = app.gql(Some(&other), CLAIM, json!({"i": {"ids": [jinghua]}})).await;
    assert_eq!(user_error_codes(&stolen["data"]["claimCustomers"]), ["NOT_FOUND"], "{stolen}");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM pool_log WHERE action = 'CLAIM'").await, 0);
}

#[tokio::test]
async fn pool_listings_cost_the_same_statements_for_few_or_many_rows() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let pool_id = east_pool(&app, &manager).await["id"].as_str().unwrap().to_owned();
    let list = json!({"query": "query($p: ID!) { poolCustomers(poolId: $p, first: 50) { totalCount nodes { name entry { previousOwner { email } } } } }", "variables": {"p": pool_id}});
    let pools = json!({"query": "{ pools { name customerCount myClaimsToday members { user { email } department { name } } } }"});

    let release = |names: Vec<&'static str>| {
        let (app, admin, pool_id) = (&app, admin.clone(), pool_id.clone());
        async move {
            let mut ids = Vec::new();
            for name in names {
                ids.push(id_of(app, name).await);
            }
            let body =
                app.gql(Some(&admin), RELEASE, json!({"i": {"ids": ids, "poolId": pool_id, "reason": "整理"}})).await;
            assert_eq!(body["data"]["releaseCustomers"]["userErrors"], json!([]), "{body}");
        }
    };
    release(vec!["上海明远机械制造有限公司"]).await;
    let (few, body) = app.fewest_statements(Some(&manager), &list).await;
    assert_eq!(body["data"]["poolCustomers"]["totalCount"], 1, "{body}");
    let (few_pools, _) = app.fewest_statements(Some(&admin), &pools).await;

    // The manager calls customers of three owners this month: one release then moves
    // interactions of one author, month and channel from several owners into the pool.
    for name in ["南京金陵商贸有限公司", "苏州恒信电子科技有限公司", "宁波港通物流有限公司"]
    {
        let body = app
            .gql(
                Some(&manager),
                "mutation($i: CreateInteractionInput!) { createInteraction(input: $i) { userErrors { code } } }",
                json!({"i": {"customerId": id_of(&app, name).await, "channel": "CALL", "content": "回访"}}),
            )
            .await;
        assert_eq!(body["data"]["createInteraction"]["userErrors"], json!([]), "{body}");
    }
    release(vec![
        "南京金陵商贸有限公司",
        "杭州云帆培训学校有限公司",
        "苏州恒信电子科技有限公司",
        "宁波港通物流有限公司",
    ])
    .await;
    assert_counts_follow_owners(&app).await;
    for n in 0..3 {
        let body = app
            .gql(Some(&admin), "mutation($i: PoolInput!) { createPool(input: $i) { userErrors { code } } }", json!({"i": {"name": format!("公海{n}"), "members": [{"userId": app.user_id(&admin, "rep3@demo.local").await, "admin": true}]}}))
            .await;
        assert_eq!(body["data"]["createPool"]["userErrors"], json!([]), "{body}");
    }
    let (many, body) = app.fewest_statements(Some(&manager), &list).await;
    assert_eq!(body["data"]["poolCustomers"]["totalCount"], 5, "{body}");
    let owners: Vec<&str> = body["data"]["poolCustomers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["entry"]["previousOwner"]["email"].as_str())
        .collect();
    assert_eq!(owners.len(), 5, "{body}");
    let (many_pools, body) = app.fewest_statements(Some(&admin), &pools).await;
    assert_eq!(body["data"]["pools"].as_array().unwrap().len(), 4, "{body}");
    assert_eq!((many, many_pools), (few, few_pools), "statements grew with the rows");
}
