//! Anti-collision (撞单): a duplicate match of someone else's customer names its owner
//! (display name only), gives the customer's id without the customer, and the caller may
//! ask to work it (`requestCollaboration`), which the owner side accepts (sharing it) or
//! declines, and the requester may withdraw. Over HTTP, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } duplicates { customer { name } customerId ownerName reasons } userErrors { field code } } }";
const ASK: &str = "mutation($i: RequestCollaborationInput!) { requestCollaboration(input: $i) { request { id version status access reason customer { name } requester { displayName } } userErrors { field code message } } }";
const FIELDS: &str = "request { id version status access note customer { name } requester { displayName } decidedBy { displayName } } userErrors { field code message }";
const LIST: &str = "query($d: RequestDirection!, $s: CollaborationRequestStatus) { collaborationRequests(direction: $d, status: $s) { id status reason customer { name } requester { displayName } } }";

async fn list(app: &TestApp, token: &str, direction: &str, status: Option<&str>) -> Vec<Value> {
    let body = app.gql(Some(token), LIST, json!({"d": direction, "s": status})).await;
    body["data"]["collaborationRequests"].as_array().unwrap_or_else(|| panic!("{body}")).clone()
}

async fn decide(app: &TestApp, token: &str, action: &str, input: Value) -> Value {
    let query = format!("mutation($i: DecideCollaborationInput!) {{ {action}(input: $i) {{ {FIELDS} }} }}");
    app.gql(Some(token), &query, json!({"i": input})).await["data"][action].clone()
}

#[tokio::test]
async fn a_collision_names_the_owner_and_a_request_is_accepted_declined_or_withdrawn() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep2 = app.login("rep2@demo.local").await;
    let rep3 = app.login("rep3@demo.local").await;
    let manager = app.login("manager@demo.local").await;

    // rep2 types in rep1's customer: the match names 王磊 and gives the id, not the customer.
    let body = app.gql(Some(&rep2), CREATE, json!({"i": {"name": "上海明远机械制造有限公司"}})).await;
    let payload = &body["data"]["createCustomer"];
    assert_eq!(payload["customer"], Value::Null, "{body}");
    let m = &payload["duplicates"][0];
    assert_eq!((m["customer"].clone(), m["ownerName"].as_str()), (Value::Null, Some("王磊")), "{body}");
    let mingyuan = m["customerId"].clone();
    assert_eq!(mingyuan, customer(&app, &rep1, "上海明远机械制造有限公司").await.as_str());
    // A match nobody owns (no rule took it) has no owner to name.
    let body = app.gql(Some(&admin), CREATE, json!({"i": {"name": "无主测试有限公司", "assignByRules": true}})).await;
    assert_eq!(body["data"]["createCustomer"]["userErrors"], json!([]), "{body}");
    let body = app.gql(Some(&admin), CREATE, json!({"i": {"name": "无主测试有限公司"}})).await;
    let m = &body["data"]["createCustomer"]["duplicates"][0];
    assert_eq!(
        (m["customer"]["name"].as_str(), m["ownerName"].clone()),
        (Some("无主测试有限公司"), Value::Null),
        "{body}"
    );

    // rep2 asks; asking twice, for their own customer, or for one they see is refused.
    let ask =
        |customer: &Value, reason: &str| json!({"customerId": customer, "reason": reason, "access": "READ_WRITE"});
    let request =
        ok(&app, &rep2, ASK, ask(&mingyuan, "我在跟进他们的采购部"), ("requestCollaboration", "request")).await;
    assert_eq!((request["status"].as_str(), request["customer"].clone()), (Some("PENDING"), Value::Null));
    assert_eq!(refused(&app, &rep2, ASK, ask(&mingyuan, "再问一次"), "requestCollaboration").await.0, ["DUPLICATE"]);
    assert_eq!(refused(&app, &rep1, ASK, ask(&mingyuan, "自己的"), "requestCollaboration").await.0, ["ILLEGAL_STATE"]);
    assert_eq!(
        refused(&app, &manager, ASK, ask(&mingyuan, "看得见"), "requestCollaboration").await.0,
        ["ILLEGAL_STATE"]
    );
    assert_eq!(refused(&app, &rep2, ASK, ask(&mingyuan, " "), "requestCollaboration").await.0, ["REQUIRED"]);
    assert_eq!(list(&app, &rep2, "SENT", None).await.len(), 1);

    // The owner and the owner's manager receive it; a rep of another team neither sees nor decides it.
    for token in [&rep1, &manager] {
        let received = list(&app, token, "RECEIVED", Some("PENDING")).await;
        assert_eq!(received.len(), 1, "{received:?}");
        assert_eq!(received[0]["requester"]["displayName"], "刘洋");
        assert_eq!(received[0]["customer"]["name"], "上海明远机械制造有限公司");
    }
    assert!(list(&app, &rep3, "RECEIVED", None).await.is_empty());
    let input = json!({"id": request["id"], "expectedVersion": request["version"]});
    assert_eq!(
        user_error_codes(&decide(&app, &rep3, "acceptCollaborationRequest", input.clone()).await),
        ["NOT_FOUND"]
    );
    // Granting more than asked is refused; the owner accepts READ, and rep2 now sees the customer.
    let hengxin = customer(&app, &rep1, "苏州恒信电子科技有限公司").await;
    let input = json!({"customerId": hengxin, "reason": "一起跟", "access": "READ"});
    let read_only = ok(&app, &rep2, ASK, input, ("requestCollaboration", "request")).await;
    let more = json!({"id": read_only["id"], "expectedVersion": 1, "access": "READ_WRITE"});
    assert_eq!(user_error_codes(&decide(&app, &rep1, "acceptCollaborationRequest", more).await), ["INVALID"]);
    let accepted = decide(
        &app,
        &rep1,
        "acceptCollaborationRequest",
        json!({"id": request["id"], "expectedVersion": 1, "access": "READ", "note": "可以，先只读"}),
    )
    .await;
    assert_eq!(accepted["userErrors"], json!([]), "{accepted}");
    assert_eq!(
        (accepted["request"]["status"].as_str(), accepted["request"]["decidedBy"]["displayName"].as_str()),
        (Some("ACCEPTED"), Some("王磊"))
    );
    assert_eq!(accepted["request"]["customer"]["name"], "上海明远机械制造有限公司");
    let seen = app
        .gql(
            Some(&rep2),
            "query($id: ID!) { customer(id: $id) { name collaborators { user { displayName } access } } }",
            json!({"id": mingyuan}),
        )
        .await;
    assert_eq!(seen["data"]["customer"]["name"], "上海明远机械制造有限公司", "{seen}");
    assert!(seen["data"]["customer"]["collaborators"].to_string().contains("刘洋"), "{seen}");
    // A decided request is not decided again.
    let again =
        decide(&app, &rep1, "declineCollaborationRequest", json!({"id": request["id"], "expectedVersion": 2})).await;
    assert_eq!(user_error_codes(&again), ["ILLEGAL_STATE"]);
    // The customer's history says who asked and what was decided.
    let history = app
        .gql(
            Some(&rep1),
            "query($id: ID!) { history(id: $id, first: 10) { nodes { changes { field } } } }",
            json!({"id": mingyuan}),
        )
        .await;
    assert!(history.to_string().contains("collaborationRequest"), "{history}");

    // The manager declines the other request with a note; rep2 still does not see that customer.
    let declined = decide(
        &app,
        &manager,
        "declineCollaborationRequest",
        json!({"id": read_only["id"], "expectedVersion": 1, "note": "客户由王磊独立负责"}),
    )
    .await;
    assert_eq!(declined["request"]["status"], "DECLINED", "{declined}");
    let hidden = app.gql(Some(&rep2), "query($id: ID!) { customer(id: $id) { name } }", json!({"id": hengxin})).await;
    assert_eq!(error_code(&hidden), "NOT_FOUND");
    // rep3 asks for rep2's customer and withdraws; only the requester may withdraw.
    let jinling = customer(&app, &rep2, "南京金陵商贸有限公司").await;
    let third =
        ok(&app, &rep3, ASK, ask(&jinling.into(), "华北分公司也在谈"), ("requestCollaboration", "request")).await;
    let by_owner =
        decide(&app, &rep2, "withdrawCollaborationRequest", json!({"id": third["id"], "expectedVersion": 1})).await;
    assert_eq!(user_error_codes(&by_owner), ["NOT_FOUND"]);
    let withdrawn =
        decide(&app, &rep3, "withdrawCollaborationRequest", json!({"id": third["id"], "expectedVersion": 1})).await;
    assert_eq!(withdrawn["request"]["status"], "WITHDRAWN", "{withdrawn}");
    assert_eq!(list(&app, &rep3, "SENT", Some("WITHDRAWN")).await.len(), 1);
    // Another tenant's caller cannot reach these requests or customers.
    let other = app.second_tenant("other-collision").await;
    let body = app.gql(Some(&other), ASK, json!({"i": ask(&mingyuan, "别家")})).await;
    assert_eq!(user_error_codes(&body["data"]["requestCollaboration"]), ["NOT_FOUND"], "{body}");
    assert!(list(&app, &other, "RECEIVED", None).await.is_empty());
}
