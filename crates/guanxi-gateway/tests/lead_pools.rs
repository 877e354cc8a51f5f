//! Lead pools (线索公海): leads wait in the customer pools under the same members, caps
//! and cool-down — release, listing, claim, assignment, the reclaim rule for leads, the
//! handover into a pool, scope on every path and statement counts, over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use guanxi_store::ConnectionTrait;
use serde_json::{Value, json};

const POOLS: &str = "{ pools { id name leadCount customerCount myLeadClaimsToday rules { appliesTo kind days } } }";
const POOL_LEADS: &str = "query($p: ID!, $f: LeadFilter) { poolLeads(poolId: $p, first: 50, filter: $f) { nodes { id name company score entry { kind reason previousOwner { email } } } } }";
const CLAIM: &str = "mutation($i: ClaimLeadsInput!) { claimLeads(input: $i) { leads { id name owner { email } pool { poolId } } userErrors { field code message } } }";
const ASSIGN: &str = "mutation($i: AssignPoolLeadsInput!) { assignPoolLeads(input: $i) { leads { id owner { email } } userErrors { field code message } } }";
const RELEASE: &str =
    "mutation($i: ReleaseLeadsInput!) { releaseLeads(input: $i) { released userErrors { field code message } } }";
const LEAD: &str =
    "query($id: ID!) { lead(id: $id) { id name owner { email } pool { kind reason previousOwner { email } } } }";

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let statement = guanxi_store::dialect::raw_statement(app.db.db_backend(), sql, []);
    app.db.connection().query_all_raw(statement).await.unwrap()[0].try_get_by_index::<i64>(0).unwrap()
}

async fn execute(app: &TestApp, sql: &str, values: Vec<sea_orm::Value>) {
    let statement = guanxi_store::dialect::raw_statement(app.db.db_backend(), sql, values);
    app.db.connection().execute_raw(statement).await.unwrap();
}

async fn east_pool(app: &TestApp, token: &str) -> Value {
    let body = app.gql(Some(token), POOLS, json!({})).await;
    let pools = body["data"]["pools"].as_array().unwrap_or_else(|| panic!("{body}")).clone();
    pools.into_iter().find(|p| p["name"] == "华东公海").unwrap_or(Value::Null)
}

/// A lead's id by name, read by the tenant admin (whose `LEAD` scope is everything).
async fn lead_id(app: &TestApp, name: &str) -> String {
    let admin = app.login("admin@demo.local").await;
    let body = app
        .gql(
            Some(&admin),
            "query($s: String) { leads(first: 5, filter: {search: $s}) { nodes { id name } } }",
            json!({"s": name}),
        )
        .await;
    let nodes = body["data"]["leads"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}")).clone();
    nodes.iter().find(|n| n["name"] == name).unwrap_or_else(|| panic!("no lead {name}: {body}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn names(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = body["data"]["poolLeads"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_released_lead_waits_in_the_pool_until_a_member_claims_it() {
    let app = spawn_demo().await;
    let (rep1, rep2, rep3) =
        (app.login("rep1@demo.local").await, app.login("rep2@demo.local").await, app.login("rep3@demo.local").await);
    let manager = app.login("manager@demo.local").await;

    // The demo pool holds two leads rep1 gave up; its third rule watches leads.
    let pool = east_pool(&app, &rep2).await;
    assert_eq!((pool["leadCount"].as_i64(), pool["myLeadClaimsToday"].as_i64()), (Some(2), Some(0)), "{pool}");
    assert_eq!(pool["rules"][2], json!({"appliesTo": "LEADS", "kind": "NO_FOLLOW_UP", "days": 14}));
    let pool_id = pool["id"].as_str().unwrap().to_owned();
    let listed = app.gql(Some(&rep2), POOL_LEADS, json!({"p": pool_id})).await;
    assert_eq!(names(&listed), ["秦悦", "蒋磊"]);
    // Who gave it up is a user the reader's org scope must show: the manager sees rep1.
    let listed = app.gql(Some(&manager), POOL_LEADS, json!({"p": pool_id})).await;
    let entry = &listed["data"]["poolLeads"]["nodes"][0]["entry"];
    assert_eq!(
        *entry,
        json!({"kind": "RELEASED", "reason": "多次联系未接通", "previousOwner": {"email": "rep1@demo.local"}})
    );

    // Outside the pool a pooled lead does not exist: not in the list of a non-member, not by
    // id for a rep (whose scope is their own leads), not in their lead list.
    let (jianglei, qinyue) = (lead_id(&app, "蒋磊").await, lead_id(&app, "秦悦").await);
    let hidden = app.gql(Some(&rep3), POOL_LEADS, json!({"p": pool_id})).await;
    assert_eq!(error_code(&hidden), "NOT_FOUND");
    for token in [&rep1, &rep2, &rep3] {
        let by_id = app.gql(Some(token), LEAD, json!({"id": jianglei})).await;
        assert_eq!(error_code(&by_id), "NOT_FOUND", "{by_id}");
        let list = app.gql(Some(token), "{ leads(first: 50) { nodes { name } } }", json!({})).await;
        assert!(!list.to_string().contains("蒋磊"), "{list}");
    }
    // Members search the pool by name or company, never by the phone they cannot see.
    let by_phone = app.gql(Some(&rep2), POOL_LEADS, json!({"p": pool_id, "f": {"search": "1391234561"}})).await;
    assert_eq!(by_phone["data"]["poolLeads"]["nodes"], json!([]), "{by_phone}");
    let by_company = app.gql(Some(&rep2), POOL_LEADS, json!({"p": pool_id, "f": {"search": "恒达电机"}})).await;
    assert_eq!(names(&by_company), ["蒋磊"]);
    // Nobody hands a pooled lead over outside the pool's rules, not even the admin, and
    // it is claimed before it is converted.
    let admin = app.login("admin@demo.local").await;
    let version = app.gql(Some(&admin), "query($id: ID!) { lead(id: $id) { version } }", json!({"id": jianglei})).await;
    let version = version["data"]["lead"]["version"].as_i64().unwrap();
    let rep2_id = app.user_id(&admin, "rep2@demo.local").await;
    let (codes, _) = refused(
        &app,
        &admin,
        "mutation($i: SetLeadOwnerInput!) { setLeadOwner(input: $i) { lead { id } userErrors { code } } }",
        json!({"id": jianglei, "expectedVersion": version, "ownerId": rep2_id}),
        "setLeadOwner",
    )
    .await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);
    let (codes, _) = refused(
        &app,
        &admin,
        "mutation($i: ConvertLeadInput!) { convertLead(input: $i) { userErrors { code } } }",
        json!({"id": jianglei, "expectedVersion": version}),
        "convertLead",
    )
    .await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);

    // A non-member cannot claim it either: it is NOT_FOUND, as if it did not exist.
    let (codes, _) = refused(&app, &rep3, CLAIM, json!({"ids": [jianglei]}), "claimLeads").await;
    assert_eq!(codes, ["NOT_FOUND"]);

    // The rep who gave it up waits out the pool's cool-down (7 days).
    let (codes, message) = refused(&app, &rep1, CLAIM, json!({"ids": [jianglei]}), "claimLeads").await;
    assert_eq!(codes, ["ILLEGAL_STATE"], "{message}");
    assert!(message.contains("you gave this lead up"), "{message}");

    // rep2 claims it: the lead is theirs, out of the pool, with a log row and a CLAIM event.
    let claimed =
        ok(&app, &rep2, CLAIM, json!({"ids": [jianglei], "idempotencyKey": "claim-jianglei"}), ("claimLeads", "leads"))
            .await;
    assert_eq!(claimed, json!([{"id": jianglei, "name": "蒋磊", "owner": {"email": "rep2@demo.local"}, "pool": null}]));
    let mine = app.gql(Some(&rep2), LEAD, json!({"id": jianglei})).await;
    assert_eq!(mine["data"]["lead"]["owner"]["email"], "rep2@demo.local", "{mine}");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM lead_pool_log WHERE action = 'CLAIM'").await, 1);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM change_events WHERE entity_type = 'Lead' AND operation = 'CLAIM'").await,
        1
    );
    // A retry with the key returns the same leads and claims nothing more.
    let again =
        ok(&app, &rep2, CLAIM, json!({"ids": [jianglei], "idempotencyKey": "claim-jianglei"}), ("claimLeads", "leads"))
            .await;
    assert_eq!(again, claimed);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM lead_pool_log WHERE action = 'CLAIM'").await, 1);
    // A second claimer learns someone was first; rep2 learns they have it already.
    let manager_claim = app.gql(Some(&manager), CLAIM, json!({"i": {"ids": [jianglei]}})).await;
    assert_eq!(user_error_codes(&manager_claim["data"]["claimLeads"]), ["CONFLICT"], "{manager_claim}");
    let pool = east_pool(&app, &rep2).await;
    assert_eq!((pool["leadCount"].as_i64(), pool["myLeadClaimsToday"].as_i64()), (Some(1), Some(1)), "{pool}");

    // The daily cap counts lead claims: at 1 a day, rep2's second claim is refused and
    // nothing moves.
    execute(&app, "UPDATE pools SET daily_claim_cap = 1", vec![]).await;
    let (codes, message) = refused(&app, &rep2, CLAIM, json!({"ids": [qinyue]}), "claimLeads").await;
    assert_eq!(codes, ["LIMIT_REACHED"], "{message}");
    assert!(message.contains("claims of leads"), "{message}");
    assert_eq!(east_pool(&app, &rep2).await["leadCount"], 1);

    // Assignment is for the pool's admins: a member is FORBIDDEN, the manager hands it out.
    let rep3_id = app.user_id(&app.login("admin@demo.local").await, "rep3@demo.local").await;
    let (codes, _) =
        refused(&app, &rep2, ASSIGN, json!({"ids": [qinyue], "ownerId": rep3_id}), "assignPoolLeads").await;
    assert_eq!(codes, ["FORBIDDEN"]);
    ok(&app, &manager, ASSIGN, json!({"ids": [qinyue], "ownerId": rep3_id}), ("assignPoolLeads", "leads")).await;
    let assigned = app.gql(Some(&rep3), LEAD, json!({"id": qinyue})).await;
    assert_eq!(assigned["data"]["lead"]["owner"]["email"], "rep3@demo.local", "{assigned}");
    assert_eq!(east_pool(&app, &manager).await["leadCount"], 0);
}

#[tokio::test]
async fn an_owner_gives_open_leads_back_with_a_reason_and_bad_input_changes_nothing() {
    let app = spawn_demo().await;
    let (rep1, rep2) = (app.login("rep1@demo.local").await, app.login("rep2@demo.local").await);
    let pool_id = east_pool(&app, &rep1).await["id"].as_str().unwrap().to_owned();
    let leads = app.gql(Some(&rep1), "{ leads(first: 50) { nodes { id name status } } }", json!({})).await;
    let leads = leads["data"]["leads"]["nodes"].as_array().unwrap().clone();
    let open = leads.iter().find(|l| ["NEW", "WORKING", "QUALIFIED"].contains(&l["status"].as_str().unwrap())).unwrap();
    let open_id = open["id"].as_str().unwrap().to_owned();
    let rep2_lead = app.gql(Some(&rep2), "{ leads(first: 1) { nodes { id } } }", json!({})).await["data"]["leads"]
        ["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let events = "SELECT COUNT(*) FROM change_events";
    let before = scalar(&app, events).await;
    for (input, code) in [
        (json!({"ids": [open_id], "poolId": pool_id, "reason": " "}), "REQUIRED"),
        // Another rep's lead does not exist for rep1.
        (json!({"ids": [rep2_lead], "poolId": pool_id, "reason": "无法联系"}), "NOT_FOUND"),
        (json!({"ids": [open_id, open_id], "poolId": pool_id, "reason": "无法联系"}), "DUPLICATE"),
        (json!({"ids": [], "poolId": pool_id, "reason": "无法联系"}), "REQUIRED"),
    ] {
        let (codes, message) = refused(&app, &rep1, RELEASE, input, "releaseLeads").await;
        assert!(codes.contains(&code.to_owned()), "{code}: {message}");
    }
    // A converted or unqualified lead stays where it is (the demo's unqualified one is rep2's).
    let done =
        app.gql(Some(&rep2), "{ leads(first: 50, filter: {status: [UNQUALIFIED]}) { nodes { id } } }", json!({})).await;
    let done = done["data"]["leads"]["nodes"][0]["id"].as_str().unwrap_or_else(|| panic!("{done}")).to_owned();
    let (codes, _) =
        refused(&app, &rep2, RELEASE, json!({"ids": [done], "poolId": pool_id, "reason": "无法联系"}), "releaseLeads")
            .await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);
    assert_eq!(scalar(&app, events).await, before, "refused releases write nothing");

    let released = ok(
        &app,
        &rep1,
        RELEASE,
        json!({"ids": [open_id], "poolId": pool_id, "reason": "客户暂无需求"}),
        ("releaseLeads", "released"),
    )
    .await;
    assert_eq!(released, 1);
    let gone = app.gql(Some(&rep1), LEAD, json!({"id": open_id})).await;
    assert_eq!(error_code(&gone), "NOT_FOUND", "a rep's scope no longer holds it: {gone}");
    let admin = app.login("admin@demo.local").await;
    let seen = app.gql(Some(&admin), LEAD, json!({"id": open_id})).await;
    assert_eq!(
        seen["data"]["lead"]["pool"],
        json!({"kind": "RELEASED", "reason": "客户暂无需求", "previousOwner": {"email": "rep1@demo.local"}}),
        "{seen}"
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM change_events WHERE entity_type = 'Lead' AND operation = 'RELEASE'").await,
        3,
        "the demo's two releases and this one"
    );
    let listed = app.gql(Some(&rep2), POOL_LEADS, json!({"p": pool_id, "f": {"search": open["name"]}})).await;
    assert_eq!(names(&listed), [open["name"].as_str().unwrap()]);
}

#[tokio::test]
async fn the_lead_rule_takes_back_leads_nobody_followed_up_and_a_handover_can_pool_them() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let pool_id = east_pool(&app, &admin).await["id"].as_str().unwrap().to_owned();
    let leads = app
        .gql(
            Some(&rep1),
            "{ leads(first: 50, filter: {status: [NEW, WORKING, QUALIFIED]}) { nodes { id name } } }",
            json!({}),
        )
        .await;
    let open: Vec<String> = leads["data"]["leads"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(open.len() >= 2, "{leads}");
    // One of rep1's open leads was last followed up 20 days ago (the rule says 14), one
    // 10 days ago.
    let days_ago = |d: i64| chrono::Utc::now() - chrono::Duration::days(d);
    for (name, days) in [(&open[0], 20), (&open[1], 10)] {
        execute(
            &app,
            "UPDATE leads SET created_at = ?, owner_received_at = NULL, last_activity_at = ? WHERE name = ?",
            vec![days_ago(30).into(), days_ago(days).into(), name.as_str().into()],
        )
        .await;
    }
    let run = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { reclaimPool(id: $id) { reclaimed userErrors { code } } }",
            json!({"id": pool_id}),
        )
        .await;
    assert!(run["data"]["reclaimPool"]["reclaimed"].as_u64().unwrap() >= 1, "{run}");
    let due = app.gql(Some(&admin), LEAD, json!({"id": lead_id(&app, &open[0]).await})).await;
    assert_eq!(
        due["data"]["lead"]["pool"],
        json!({"kind": "RECLAIMED", "reason": "14 天未跟进", "previousOwner": {"email": "rep1@demo.local"}}),
        "{due}"
    );
    let kept = app.gql(Some(&rep1), LEAD, json!({"id": lead_id(&app, &open[1]).await})).await;
    assert_eq!(kept["data"]["lead"]["pool"], Value::Null, "{kept}");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM lead_pool_log WHERE action = 'RECLAIM'").await, 1);

    // rep1 leaves: customers and open leads into the pool; nothing open stays with rep1.
    let rep1_id = app.user_id(&admin, "rep1@demo.local").await;
    let preview = app
        .gql(Some(&admin), "query($u: ID!) { handoverPreview(fromUserId: $u) { item count } }", json!({"u": rep1_id}))
        .await;
    let leads_preview =
        preview["data"]["handoverPreview"].as_array().unwrap().iter().find(|c| c["item"] == "LEADS").cloned().unwrap();
    let body = app
        .gql(
            Some(&admin),
            "mutation($i: HandoverInput!) { handover(input: $i) { moved { item count } userErrors { field code message } } }",
            json!({"i": {"fromUserId": rep1_id, "to": {"poolId": pool_id}, "include": ["CUSTOMERS", "LEADS"], "reason": "离职"}}),
        )
        .await;
    assert_eq!(body["data"]["handover"]["userErrors"], json!([]), "{body}");
    let moved =
        body["data"]["handover"]["moved"].as_array().unwrap().iter().find(|c| c["item"] == "LEADS").cloned().unwrap();
    assert_eq!(moved["count"], leads_preview["count"], "{body}");
    assert!(moved["count"].as_i64().unwrap() >= 1, "{body}");
    let left = scalar(
        &app,
        "SELECT COUNT(*) FROM leads l JOIN users u ON u.tenant_id = l.tenant_id AND u.id = l.owner_id \
         WHERE u.email = 'rep1@demo.local' AND l.status IN ('NEW', 'WORKING', 'QUALIFIED') AND l.deleted_at IS NULL",
    )
    .await;
    assert_eq!(left, 0);
    let pooled = scalar(&app, "SELECT COUNT(*) FROM leads WHERE pool_id IS NOT NULL AND owner_id IS NULL").await;
    assert_eq!(pooled, 3 + moved["count"].as_i64().unwrap(), "the demo's two, the reclaimed one and the handed-over");
}

#[tokio::test]
async fn another_tenant_never_sees_the_pool_and_listings_cost_the_same_statements() {
    let app = spawn_demo().await;
    let manager = app.login("manager@demo.local").await;
    let pool_id = east_pool(&app, &manager).await["id"].as_str().unwrap().to_owned();
    let other = app.second_tenant("other-co").await;
    for query in [POOL_LEADS, "query($p: ID!) { pool(id: $p) { leadCount } }"] {
        let body = app.gql(Some(&other), query, json!({"p": pool_id})).await;
        assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    }
    let jianglei = lead_id(&app, "蒋磊").await;
    let (codes, _) = refused(&app, &other, CLAIM, json!({"ids": [jianglei]}), "claimLeads").await;
    assert_eq!(codes, ["NOT_FOUND"]);

    let list = json!({"query": POOL_LEADS, "variables": {"p": pool_id}});
    let pools = json!({"query": POOLS});
    let (few, body) = app.fewest_statements(Some(&manager), &list).await;
    assert_eq!(names(&body).len(), 2);
    let (few_pools, _) = app.fewest_statements(Some(&manager), &pools).await;
    // Ten more of rep1's leads go into the pool.
    let rep1 = app.login("rep1@demo.local").await;
    let mut ids = Vec::new();
    for n in 0..10 {
        let input = json!({"lead": {"name": format!("公海线索{n}"), "company": format!("公海公司{n}")}});
        let created = ok(
            &app,
            &rep1,
            "mutation($i: CreateLeadInput!) { createLead(input: $i) { lead { id } userErrors { code } } }",
            input,
            ("createLead", "lead"),
        )
        .await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    ok(&app, &rep1, RELEASE, json!({"ids": ids, "poolId": pool_id, "reason": "整理"}), ("releaseLeads", "released"))
        .await;
    let (many, body) = app.fewest_statements(Some(&manager), &list).await;
    assert_eq!(names(&body).len(), 12);
    let (many_pools, _) = app.fewest_statements(Some(&manager), &pools).await;
    assert_eq!((many, many_pools), (few, few_pools), "statements do not grow with the pool");
}

#[tokio::test]
async fn leads_handed_over_to_a_colleague_count_from_their_receipt() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (rep1_id, rep3_id) =
        (app.user_id(&admin, "rep1@demo.local").await, app.user_id(&admin, "rep3@demo.local").await);
    // rep3's open leads were received a month ago and not followed up since.
    let month_ago = chrono::Utc::now() - chrono::Duration::days(30);
    execute(
        &app,
        "UPDATE leads SET created_at = ?, owner_received_at = ?, last_activity_at = NULL \
         WHERE owner_id = (SELECT id FROM users WHERE email = 'rep3@demo.local')",
        vec![month_ago.into(), month_ago.into()],
    )
    .await;
    let body = app
        .gql(
            Some(&admin),
            "mutation($i: HandoverInput!) { handover(input: $i) { moved { item count } userErrors { code message } } }",
            json!({"i": {"fromUserId": rep3_id, "to": {"userId": rep1_id}, "include": ["LEADS"], "reason": "调岗"}}),
        )
        .await;
    assert_eq!(body["data"]["handover"]["userErrors"], json!([]), "{body}");
    assert!(body["data"]["handover"]["moved"][0]["count"].as_i64().unwrap() >= 1, "{body}");
    // rep1 (a member of the pool, whose lead rule says 14 days) received them just now, so
    // the reclaim leaves them alone.
    let pool_id = east_pool(&app, &admin).await["id"].as_str().unwrap().to_owned();
    let run = app
        .gql(Some(&admin), "mutation($id: ID!) { reclaimPool(id: $id) { reclaimed } }", json!({"id": pool_id}))
        .await;
    assert!(run["data"]["reclaimPool"]["reclaimed"].is_u64(), "{run}");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM lead_pool_log WHERE action = 'RECLAIM'").await, 0);
}
