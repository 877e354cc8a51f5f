//! Assignment rules (分配规则) for new customers that arrive without an owner: each mode
//! (BY_RULE, CAPACITY with its daily quota, ROUND_ROBIN), rules tried in priority order,
//! the change event naming the rule, concurrent arrivals spreading as the rule says, bad
//! rules refused, permissions, scopes and tenants. Over HTTP, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const CREATE_RULE: &str = "mutation($i: AssignmentRuleInput!) { createAssignmentRule(input: $i) { rule { id name version turns } userErrors { field code message } } }";
const RULES: &str = "{ assignmentRules { name mode turns conditions { industries sources } members { user { email } capacity dailyQuota receivedLast24h optedOut } } }";
const CREATE: &str = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id owner { email } } userErrors { field code message } } }";

async fn rule(app: &TestApp, token: &str, input: Value) -> Value {
    ok(app, token, CREATE_RULE, input, ("createAssignmentRule", "rule")).await
}

/// Creates a customer by the rules and returns its owner's email ("" for none) and id.
async fn arrive(app: &TestApp, token: &str, name: &str, extra: Value) -> (String, Option<String>) {
    let mut input = json!({"name": name, "assignByRules": true});
    input.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let body = app.gql(Some(token), CREATE, json!({"i": input})).await;
    let payload = &body["data"]["createCustomer"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    (
        payload["customer"]["owner"]["email"].as_str().unwrap_or("").to_owned(),
        payload["customer"]["id"].as_str().map(str::to_owned),
    )
}

#[tokio::test]
async fn rules_by_priority_give_by_condition_capacity_and_turn() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (rep1, rep2, rep3) = (
        app.user_id(&admin, "rep1@demo.local").await,
        app.user_id(&admin, "rep2@demo.local").await,
        app.user_id(&admin, "rep3@demo.local").await,
    );
    rule(
        &app,
        &admin,
        json!({"name": "制造业归陈静", "priority": 1, "mode": "BY_RULE",
        "conditions": {"industries": ["制造业"]}, "members": [{"userId": rep3}]}),
    )
    .await;
    // 60 a month: 2 a day for rep1; 30: 1 a day for rep2.
    rule(
        &app,
        &admin,
        json!({"name": "展会线索按容量", "priority": 2, "mode": "CAPACITY",
        "conditions": {"sources": ["展会"]},
        "members": [{"userId": rep1, "capacity": 60}, {"userId": rep2, "capacity": 30}]}),
    )
    .await;
    rule(
        &app,
        &admin,
        json!({"name": "其余轮流", "priority": 3, "mode": "ROUND_ROBIN",
        "members": [{"userId": rep1}, {"userId": rep2}, {"userId": rep3}]}),
    )
    .await;

    // BY_RULE: the matching industry goes to its member, and the change event names the rule.
    let (owner, id) =
        arrive(&app, &admin, "宁波精工机械有限公司", json!({"industry": "制造业", "source": "展会"})).await;
    assert_eq!(owner, "rep3@demo.local");
    let history = app
        .gql(
            Some(&admin),
            "query($id: ID!) { history(id: $id, first: 1) { nodes { operation changes { field new } } } }",
            json!({"id": id}),
        )
        .await;
    let event = &history["data"]["history"]["nodes"][0];
    assert_eq!(event["operation"], "ASSIGN", "{history}");
    assert!(event["changes"].to_string().contains("制造业归陈静"), "{history}");

    // CAPACITY: the most quota left first (a tie to the member listed first), then, with
    // every quota used up, the next rule takes over.
    let mut owners = Vec::new();
    for n in 0..4 {
        owners.push(arrive(&app, &admin, &format!("展会客户{n}号"), json!({"source": "展会"})).await.0);
    }
    assert_eq!(owners, ["rep1@demo.local", "rep1@demo.local", "rep2@demo.local", "rep1@demo.local"]);
    // ROUND_ROBIN: in turn, continuing where the capacity overflow left it.
    let mut owners = Vec::new();
    for n in 0..3 {
        owners.push(arrive(&app, &admin, &format!("轮流客户{n}号"), json!({})).await.0);
    }
    assert_eq!(owners, ["rep2@demo.local", "rep3@demo.local", "rep1@demo.local"]);

    let rules = app.gql(Some(&admin), RULES, json!({})).await;
    let rules = rules["data"]["assignmentRules"].as_array().unwrap_or_else(|| panic!("{rules}")).clone();
    // The demo's own rule (priority 100, 华东 only) comes last and matched none of them.
    assert_eq!(rules.iter().map(|r| r["turns"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 4, 4, 0]);
    let capacity = &rules[1]["members"];
    assert_eq!(capacity[0]["dailyQuota"], 2);
    assert_eq!((capacity[0]["receivedLast24h"].as_i64(), capacity[1]["receivedLast24h"].as_i64()), (Some(2), Some(1)));

    // A member who opted out is skipped; a deleted rule is passed over; a stale version is refused.
    let round = app.gql(Some(&admin), "{ assignmentRules { id version name } }", json!({})).await;
    let (id, version) =
        (round["data"]["assignmentRules"][2]["id"].clone(), round["data"]["assignmentRules"][2]["version"].clone());
    let update = "mutation($i: UpdateAssignmentRuleInput!) { updateAssignmentRule(input: $i) { rule { version } userErrors { code } } }";
    let only_rep1 = json!({"name": "其余轮流", "priority": 3, "mode": "ROUND_ROBIN", "members": [{"userId": rep1}, {"userId": rep2, "optedOut": true}]});
    ok(
        &app,
        &admin,
        update,
        json!({"id": id, "expectedVersion": version, "rule": only_rep1}),
        ("updateAssignmentRule", "rule"),
    )
    .await;
    assert_eq!(arrive(&app, &admin, "轮流客户3号", json!({})).await.0, "rep1@demo.local");
    assert_eq!(arrive(&app, &admin, "轮流客户4号", json!({})).await.0, "rep1@demo.local", "rep2 opted out");
    let stale =
        app.gql(Some(&admin), update, json!({"i": {"id": id, "expectedVersion": version, "rule": only_rep1}})).await;
    assert_eq!(user_error_codes(&stale["data"]["updateAssignmentRule"]), ["VERSION_CONFLICT"], "{stale}");
    let delete =
        "mutation($i: VersionedIdInput!) { deleteAssignmentRule(input: $i) { rule { id } userErrors { code } } }";
    ok(
        &app,
        &admin,
        delete,
        json!({"id": id, "expectedVersion": version.as_i64().unwrap() + 1}),
        ("deleteAssignmentRule", "rule"),
    )
    .await;
    assert_eq!(arrive(&app, &admin, "无人规则客户", json!({})).await.0, "", "no rule left for it: no owner");
    // The demo's rule takes East China arrivals, in turn between its two reps.
    let east = [
        arrive(&app, &admin, "华东新客户甲", json!({"region": "华东"})).await.0,
        arrive(&app, &admin, "华东新客户乙", json!({"province": "华东"})).await.0,
    ];
    assert_eq!(east, ["rep1@demo.local", "rep2@demo.local"]);
}

#[tokio::test]
async fn concurrent_arrivals_spread_as_the_rule_says() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let members: Vec<Value> = futures::future::join_all(
        ["rep1@demo.local", "rep2@demo.local", "rep3@demo.local"].map(|email| app.user_id(&admin, email)),
    )
    .await
    .into_iter()
    .map(|id| json!({"userId": id}))
    .collect();
    rule(&app, &admin, json!({"name": "并发轮流", "mode": "ROUND_ROBIN", "members": members})).await;
    let arrivals = futures::future::join_all(
        (0..12).map(|n| arrive(&app, &admin, Box::leak(format!("并发客户{n}号").into_boxed_str()), json!({}))),
    )
    .await;
    let mut per_owner = std::collections::BTreeMap::new();
    for (owner, _) in &arrivals {
        *per_owner.entry(owner.clone()).or_insert(0) += 1;
    }
    assert_eq!(
        per_owner,
        std::collections::BTreeMap::from([
            ("rep1@demo.local".to_owned(), 4),
            ("rep2@demo.local".to_owned(), 4),
            ("rep3@demo.local".to_owned(), 4)
        ]),
        "twelve concurrent arrivals, four each"
    );
    let rules = app.gql(Some(&admin), RULES, json!({})).await;
    assert_eq!(rules["data"]["assignmentRules"][0]["turns"], 12);
}

#[tokio::test]
async fn bad_rules_permissions_scopes_and_tenants() {
    let app = spawn_demo().await;
    let (admin, manager, rep1) = (
        app.login("admin@demo.local").await,
        app.login("manager@demo.local").await,
        app.login("rep1@demo.local").await,
    );
    let rep3 = app.user_id(&admin, "rep3@demo.local").await;
    let demo = app.gql(Some(&admin), RULES, json!({})).await;
    assert_eq!(demo["data"]["assignmentRules"][0]["name"], "华东新客户轮流分配", "the demo has a rule: {demo}");
    let refusals = [
        (json!({"name": "空", "mode": "ROUND_ROBIN", "members": []}), "members", "REQUIRED"),
        (
            json!({"name": "重复", "mode": "ROUND_ROBIN", "members": [{"userId": rep3}, {"userId": rep3}]}),
            "members.1.userId",
            "DUPLICATE",
        ),
        (json!({"name": "无条件", "mode": "BY_RULE", "members": [{"userId": rep3}]}), "conditions", "REQUIRED"),
        (json!({"name": "无容量", "mode": "CAPACITY", "members": [{"userId": rep3}]}), "members.0.capacity", "INVALID"),
        (json!({"name": " ", "mode": "ROUND_ROBIN", "members": [{"userId": rep3}]}), "name", "REQUIRED"),
        (
            json!({"name": "坏用户", "mode": "ROUND_ROBIN", "members": [{"userId": rep3.replace('=', "")}]}),
            "members.0.userId",
            "INVALID",
        ),
    ];
    for (input, field, code) in refusals {
        let (codes, errors) = refused(&app, &admin, CREATE_RULE, input, "createAssignmentRule").await;
        assert!(codes.contains(&code.to_owned()) && errors.contains(field), "{field} {code}: {errors}");
    }
    let rules = app.gql(Some(&admin), RULES, json!({})).await;
    assert_eq!(rules, demo, "refused rules wrote nothing");

    // Rules are settings: a manager neither reads nor writes them.
    assert_eq!(error_code(&app.gql(Some(&manager), RULES, json!({})).await), "FORBIDDEN");
    let by_manager = app
        .gql(
            Some(&manager),
            CREATE_RULE,
            json!({"i": {"name": "经理", "mode": "ROUND_ROBIN", "members": [{"userId": rep3}]}}),
        )
        .await;
    assert_eq!(error_code(&by_manager), "FORBIDDEN");
    rule(&app, &admin, json!({"name": "都给陈静", "mode": "ROUND_ROBIN", "members": [{"userId": rep3}]})).await;

    // Assigning by rules needs `customer.transfer`, and not an owner beside it.
    let by_rep = app.gql(Some(&rep1), CREATE, json!({"i": {"name": "代表按规则", "assignByRules": true}})).await;
    assert_eq!(user_error_codes(&by_rep["data"]["createCustomer"]), ["FORBIDDEN"], "{by_rep}");
    let both =
        app.gql(Some(&admin), CREATE, json!({"i": {"name": "两者都给", "assignByRules": true, "ownerId": rep3}})).await;
    assert_eq!(user_error_codes(&both["data"]["createCustomer"]), ["INVALID"], "{both}");
    // The manager's customer goes to rep3, outside their department tree: created, but
    // not shown to them.
    let body = app.gql(Some(&manager), CREATE, json!({"i": {"name": "经理按规则", "assignByRules": true}})).await;
    assert_eq!(body["data"]["createCustomer"]["userErrors"], json!([]), "{body}");
    assert!(body["data"]["createCustomer"]["customer"].is_null(), "{body}");
    let rep3_token = app.login("rep3@demo.local").await;
    // rep3 owns it (`customer` fails when the caller sees no such customer).
    assert!(!customer(&app, &rep3_token, "经理按规则").await.is_empty());

    // Another tenant sees none of these rules.
    let other = app.second_tenant("other-assign").await;
    assert_eq!(app.gql(Some(&other), RULES, json!({})).await["data"]["assignmentRules"], json!([]));
}
