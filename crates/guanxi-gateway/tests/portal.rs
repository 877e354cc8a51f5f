//! The customer's own channel over HTTP: portal tokens (issued, listed, revoked, expired),
//! a contact filing, following, confirming, rating and complaining about the customer's
//! requests, public articles, the portal's live updates, its limits per token and per
//! address, and that a token reaches nothing else. Also the technician's check-in at a
//! work order and edits of an order's request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const MINGYUAN: &str = "上海明远机械制造有限公司";
const HENGXIN: &str = "苏州恒信电子科技有限公司";

const REQUEST: &str = "id number status type subject technicianName canConfirm satisfaction complaintOf version \
    charge { amount } coverage";

const ISSUE: &str = "mutation($i: IssuePortalTokenInput!) { issuePortalToken(input: $i) { token \
    portalToken { id prefix status label expiresAt } userErrors { field code message } } }";

const STAFF_ORDER: &str = "id number status version channel type priority owner { email } complaintOf { id } \
    responseDueAt resolutionDueAt checkIns { kind far workOrderId } technician { displayName }";

/// The first contact of a demo customer, as the admin sees it.
async fn contact_of(app: &TestApp, admin: &str, customer: &str) -> String {
    let body = app
        .gql(
            Some(admin),
            "query($c: ID!) { contacts(first: 1, filter: {customerId: {eq: $c}}) { nodes { id name } } }",
            json!({"c": customer}),
        )
        .await;
    body["data"]["contacts"]["nodes"][0]["id"].as_str().unwrap_or_else(|| panic!("no contact: {body}")).to_owned()
}

/// A portal token for the first contact of `customer`, issued by `staff`.
async fn token_for(app: &TestApp, (admin, staff): (&str, &str), customer: &str) -> (String, Value) {
    let customer = common::customer(app, admin, customer).await;
    let contact = contact_of(app, admin, &customer).await;
    let body = app
        .gql(Some(staff), ISSUE, json!({"i": {"contactId": contact, "label": "微信服务号", "expiresInDays": 30}}))
        .await;
    let payload = &body["data"]["issuePortalToken"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    (payload["token"].as_str().unwrap().to_owned(), payload["portalToken"].clone())
}

/// A portal mutation's payload, which must hold no top-level error.
async fn portal_call(app: &TestApp, token: &str, name: &str, input_type: &str, input: Value) -> Value {
    let query = format!(
        "mutation($i: {input_type}!) {{ {name}(input: $i) {{ serviceRequest {{ {REQUEST} }} userErrors {{ field code message }} }} }}"
    );
    let body = app.gql(Some(token), &query, json!({"i": input})).await;
    assert!(body["errors"].is_null(), "{name}: {body}");
    body["data"][name].clone()
}

/// A staff move on an order (`input` beside its id and version); returns the order.
async fn staff_move(
    app: &TestApp,
    token: &str,
    (name, input_type): (&str, &str),
    order: &Value,
    extra: Value,
) -> Value {
    let mut input = json!({"id": order["id"], "expectedVersion": order["version"]});
    input.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let query = format!(
        "mutation($i: {input_type}!) {{ {name}(input: $i) {{ workOrder {{ {STAFF_ORDER} }} userErrors {{ code message }} }} }}"
    );
    let body = app.gql(Some(token), &query, json!({"i": input})).await;
    assert_eq!(body["data"][name]["userErrors"], json!([]), "{name}: {body}");
    body["data"][name]["workOrder"].clone()
}

async fn staff_read(app: &TestApp, token: &str, id: &Value) -> Value {
    let query = format!("query($id: ID!) {{ workOrder(id: $id) {{ {STAFF_ORDER} }} }}");
    app.gql(Some(token), &query, json!({"id": id})).await["data"]["workOrder"].clone()
}

/// The kinds of the caller's notices whose message names `number`.
async fn notice_kinds(app: &TestApp, token: &str, number: &str) -> Vec<String> {
    let body = app.gql(Some(token), "{ myNotices(first: 100) { kind message } }", json!({})).await;
    body["data"]["myNotices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["message"].as_str().unwrap().contains(number))
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Takes, dispatches, starts and completes an order as the agent and the technician.
async fn work_through(app: &TestApp, (agent, tech, tech_id): (&str, &str, &str), order: &Value) -> Value {
    let order = staff_move(app, agent, ("acceptWorkOrder", "WorkOrderMoveInput"), order, json!({})).await;
    let dispatch = ("dispatchWorkOrder", "DispatchWorkOrderInput");
    let order = staff_move(app, agent, dispatch, &order, json!({"technicianId": tech_id})).await;
    let order = staff_move(app, tech, ("startWorkOrder", "WorkOrderMoveInput"), &order, json!({})).await;
    let complete = ("completeWorkOrder", "CompleteWorkOrderInput");
    staff_move(app, tech, complete, &order, json!({"resolution": "更换排水泵，试机正常"})).await
}

#[tokio::test]
async fn a_contact_files_follows_confirms_and_rates_their_request() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let agent = app.login("service@demo.local").await;
    let tech = app.login("tech@demo.local").await;
    let tech_id = app.user_id(&admin, "tech@demo.local").await;
    let agent_id = app.user_id(&admin, "service@demo.local").await;
    // Requests from the portal go to the service desk.
    let settings = app
        .gql(
            Some(&admin),
            "mutation($a: ID) { updateTenantSettings(input: {portalAgentId: $a}) { settings { portalAgentId } userErrors { field code } } }",
            json!({"a": "VXNlcjowMTkzMDAwMC0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA"}),
        )
        .await;
    assert_eq!(settings["data"]["updateTenantSettings"]["userErrors"][0]["field"], "portalAgentId", "{settings}");
    let settings = app
        .gql(
            Some(&admin),
            "mutation($a: ID) { updateTenantSettings(input: {portalAgentId: $a}) { settings { portalAgentId } userErrors { field code } } }",
            json!({"a": agent_id}),
        )
        .await;
    assert_eq!(settings["data"]["updateTenantSettings"]["settings"]["portalAgentId"], json!(agent_id), "{settings}");

    // Bad input: every field at once, nothing issued.
    let customer = common::customer(&app, &admin, MINGYUAN).await;
    let contact = contact_of(&app, &admin, &customer).await;
    let body = app
        .gql(Some(&agent), ISSUE, json!({"i": {"contactId": contact, "label": "长".repeat(51), "expiresInDays": 0}}))
        .await;
    let mut fields: Vec<String> = body["data"]["issuePortalToken"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    assert_eq!(fields, ["expiresInDays", "label"], "{body}");
    let listed = "query($c: ID!) { portalTokens(contactId: $c) { id prefix status } }";
    let tokens = app.gql(Some(&agent), listed, json!({"c": contact})).await;
    assert_eq!(tokens["data"]["portalTokens"], json!([]), "{tokens}");

    // A technician may not hand out the customer's access.
    let tech_issue = app.gql(Some(&tech), ISSUE, json!({"i": {"contactId": contact}})).await;
    assert_eq!(error_code(&tech_issue), "FORBIDDEN", "{tech_issue}");
    let (token, issued) = token_for(&app, (&admin, &agent), MINGYUAN).await;
    assert!(token.starts_with("gxp_"), "{token}");
    assert!(token.starts_with(&issued["prefix"].as_str().unwrap()[..4]));
    let tokens = app.gql(Some(&agent), listed, json!({"c": contact})).await;
    assert_eq!(tokens["data"]["portalTokens"][0]["status"], "ACTIVE", "{tokens}");
    assert!(!tokens.to_string().contains(&token), "the secret is shown once only");

    let me = app.gql(Some(&token), "{ portalIdentity { contactName customerName } }", json!({})).await;
    assert_eq!(me["data"]["portalIdentity"]["customerName"], MINGYUAN, "{me}");

    // Filing, with a retry that files nothing new.
    let input = json!({"subject": "空调不制冷", "description": "室内机不出冷风", "idempotencyKey": "wx-1"});
    let filed = portal_call(&app, &token, "submitServiceRequest", "SubmitServiceRequestInput", input.clone()).await;
    let request = filed["serviceRequest"].clone();
    assert_eq!(request["status"], "SUBMITTED", "{filed}");
    let again = portal_call(&app, &token, "submitServiceRequest", "SubmitServiceRequestInput", input).await;
    assert_eq!(again["serviceRequest"]["id"], request["id"], "{again}");
    let bad =
        portal_call(&app, &token, "submitServiceRequest", "SubmitServiceRequestInput", json!({"subject": " "})).await;
    assert_eq!(bad["userErrors"][0]["field"], "subject", "{bad}");
    let complaint = json!({"subject": "投诉", "type": "COMPLAINT"});
    let bad = portal_call(&app, &token, "submitServiceRequest", "SubmitServiceRequestInput", complaint).await;
    assert_eq!(bad["userErrors"][0]["field"], "type", "{bad}");
    // Staff see it from the portal, with the desk as its owner, who is told.
    let order = staff_read(&app, &agent, &request["id"]).await;
    assert_eq!(
        (order["channel"].as_str(), order["owner"]["email"].as_str()),
        (Some("PORTAL"), Some("service@demo.local"))
    );
    let number = order["number"].as_str().unwrap().to_owned();
    assert_eq!(notice_kinds(&app, &agent, &number).await, ["WO_PORTAL_REQUEST"]);
    // The history names the contact, not a user.
    let history = app
        .gql(
            Some(&admin),
            "query($id: ID!) { history(id: $id) { nodes { operation contactId actor { email } } } }",
            json!({"id": order["id"]}),
        )
        .await;
    let created = &history["data"]["history"]["nodes"][0];
    assert_eq!(
        (created["contactId"].as_str(), created["actor"].is_null()),
        (Some(contact.as_str()), true),
        "{history}"
    );

    // Confirming before completion is refused; after it, at the version read.
    let early = json!({"id": request["id"], "expectedVersion": request["version"]});
    let refused = portal_call(&app, &token, "confirmCompletion", "ConfirmCompletionInput", early).await;
    assert_eq!(refused["userErrors"][0]["code"], "ILLEGAL_TRANSITION", "{refused}");
    work_through(&app, (&agent, &tech, &tech_id), &order).await;
    let list = app
        .gql(
            Some(&token),
            &format!("{{ myServiceRequests(first: 50) {{ totalCount nodes {{ {REQUEST} }} }} }}"),
            json!({}),
        )
        .await;
    let mine = list["data"]["myServiceRequests"]["nodes"].as_array().unwrap();
    let now = mine.iter().find(|r| r["id"] == request["id"]).unwrap_or_else(|| panic!("{list}"));
    assert_eq!((now["status"].as_str(), now["canConfirm"].as_bool()), (Some("COMPLETED"), Some(true)), "{now}");
    assert_eq!(now["technicianName"], "赵强", "{now}");
    let stale = json!({"id": request["id"], "expectedVersion": request["version"]});
    let refused = portal_call(&app, &token, "confirmCompletion", "ConfirmCompletionInput", stale).await;
    assert_eq!(refused["userErrors"][0]["code"], "VERSION_CONFLICT", "{refused}");
    let confirm = json!({"id": request["id"], "expectedVersion": now["version"]});
    let confirmed = portal_call(&app, &token, "confirmCompletion", "ConfirmCompletionInput", confirm).await;
    let confirmed = confirmed["serviceRequest"].clone();
    assert_eq!(confirmed["status"], "CONFIRMED", "{confirmed}");

    // Rating: out of range refused, then recorded.
    let rate = |score: i32, version: &Value| json!({"id": request["id"], "expectedVersion": version, "score": score, "comment": "师傅很专业"});
    let refused = portal_call(&app, &token, "rateService", "RateServiceInput", rate(6, &confirmed["version"])).await;
    assert_eq!(refused["userErrors"][0]["field"], "score", "{refused}");
    let rated = portal_call(&app, &token, "rateService", "RateServiceInput", rate(5, &confirmed["version"])).await;
    assert_eq!(rated["serviceRequest"]["satisfaction"], 5, "{rated}");

    // A complaint about it: high priority, linked, its agent and their manager told.
    let complaint = json!({"workOrderId": request["id"], "description": "师傅迟到两小时", "idempotencyKey": "c-1"});
    let filed = portal_call(&app, &token, "fileComplaint", "FileComplaintInput", complaint).await;
    let complaint = filed["serviceRequest"].clone();
    assert_eq!(
        (complaint["type"].as_str(), complaint["complaintOf"].as_str()),
        (Some("COMPLAINT"), request["id"].as_str())
    );
    assert!(complaint["subject"].as_str().unwrap().contains(&number), "{complaint}");
    let staff_view = staff_read(&app, &agent, &complaint["id"]).await;
    assert_eq!(
        (staff_view["priority"].as_str(), staff_view["complaintOf"]["id"].as_str()),
        (Some("HIGH"), request["id"].as_str())
    );
    let complaint_number = staff_view["number"].as_str().unwrap().to_owned();
    assert_eq!(notice_kinds(&app, &agent, &complaint_number).await, ["WO_COMPLAINT"]);
    assert_eq!(notice_kinds(&app, &admin, &complaint_number).await, ["WO_COMPLAINT_ESCALATED"]);
    let empty = portal_call(&app, &token, "fileComplaint", "FileComplaintInput", json!({"description": "  "})).await;
    assert_eq!(empty["userErrors"][0]["field"], "description", "{empty}");
}

#[tokio::test]
async fn a_token_sees_one_customer_and_nothing_of_staff_until_it_ends() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let agent = app.login("service@demo.local").await;
    let (token, issued) = token_for(&app, (&admin, &agent), MINGYUAN).await;
    // Another customer's order.
    let other = common::customer(&app, &admin, HENGXIN).await;
    let input = json!({"customerId": other, "channel": "PHONE", "type": "REPAIR", "subject": "打印机卡纸"});
    let create = format!(
        "mutation($i: CreateWorkOrderInput!) {{ createWorkOrder(input: $i) {{ workOrder {{ {STAFF_ORDER} }} userErrors {{ code }} }} }}"
    );
    let theirs =
        app.gql(Some(&agent), &create, json!({"i": input})).await["data"]["createWorkOrder"]["workOrder"].clone();
    assert!(theirs["id"].is_string());

    let one = app
        .gql(Some(&token), "query($id: ID!) { myServiceRequest(id: $id) { id } }", json!({"id": theirs["id"]}))
        .await;
    assert_eq!(error_code(&one), "NOT_FOUND", "{one}");
    let at = json!({"id": theirs["id"], "expectedVersion": theirs["version"]});
    let refused = portal_call(&app, &token, "confirmCompletion", "ConfirmCompletionInput", at.clone()).await;
    assert_eq!(refused["userErrors"][0]["code"], "NOT_FOUND", "{refused}");
    let refused = portal_call(
        &app,
        &token,
        "rateService",
        "RateServiceInput",
        json!({"id": theirs["id"], "expectedVersion": theirs["version"], "score": 1}),
    )
    .await;
    assert_eq!(refused["userErrors"][0]["code"], "NOT_FOUND", "{refused}");
    let refused = portal_call(
        &app,
        &token,
        "fileComplaint",
        "FileComplaintInput",
        json!({"workOrderId": theirs["id"], "description": "差评"}),
    )
    .await;
    assert_eq!(refused["userErrors"][0]["field"], "workOrderId", "{refused}");
    // The list is exactly the customer's orders, as staff count them.
    let mingyuan = common::customer(&app, &admin, MINGYUAN).await;
    let staff_count = app
        .gql(
            Some(&admin),
            "query($c: ID!) { workOrders(filter: {customerId: {eq: $c}}) { totalCount } }",
            json!({"c": mingyuan}),
        )
        .await["data"]["workOrders"]["totalCount"]
        .clone();
    let mine = app.gql(Some(&token), "{ myServiceRequests(first: 100) { totalCount nodes { id } } }", json!({})).await;
    assert_eq!(mine["data"]["myServiceRequests"]["totalCount"], staff_count, "{mine}");
    assert!(!mine.to_string().contains(theirs["id"].as_str().unwrap()));

    // No staff query, no staff mutation, no node: the token is no actor.
    for query in [
        "{ customers { totalCount } }",
        "{ workOrders { totalCount } }",
        "{ articles { totalCount } }",
        "{ me { id } }",
    ] {
        let body = app.gql(Some(&token), query, json!({})).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{query}: {body}");
    }
    let node = app.gql(Some(&token), "query($id: ID!) { node(id: $id) { id } }", json!({"id": theirs["id"]})).await;
    assert_eq!(error_code(&node), "UNAUTHENTICATED", "{node}");
    let write = app
        .gql(
            Some(&token),
            &create,
            json!({"i": {"customerId": mingyuan, "channel": "PHONE", "type": "REPAIR", "subject": "x"}}),
        )
        .await;
    assert_eq!(error_code(&write), "UNAUTHENTICATED", "{write}");
    // And a staff session has no portal.
    let body = app.gql(Some(&agent), "{ myServiceRequests { totalCount } }", json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");

    // Public articles only: published and public, searchable in Chinese.
    let public = app
        .gql(
            Some(&admin),
            "{ articles(filter: {visibility: PUBLIC, status: PUBLISHED}) { totalCount nodes { title } } }",
            json!({}),
        )
        .await;
    let all = app.gql(Some(&admin), "{ articles { totalCount } }", json!({})).await;
    let seen = app.gql(Some(&token), "{ portalArticles { totalCount nodes { id title body } } }", json!({})).await;
    assert_eq!(seen["data"]["portalArticles"]["totalCount"], public["data"]["articles"]["totalCount"], "{seen}");
    assert!(
        public["data"]["articles"]["totalCount"].as_i64().unwrap()
            < all["data"]["articles"]["totalCount"].as_i64().unwrap()
    );
    let title = public["data"]["articles"]["nodes"][0]["title"].as_str().unwrap().to_owned();
    let part: String = title.chars().skip(1).take(3).collect();
    let found = app
        .gql(Some(&token), "query($s: String) { portalArticles(search: $s) { nodes { title } } }", json!({"s": part}))
        .await;
    assert!(found.to_string().contains(&title), "{part}: {found}");

    // Another tenant sees neither the contact's tokens nor may revoke them.
    let stranger = app.second_tenant("other-portal").await;
    let contact = contact_of(&app, &admin, &mingyuan).await;
    let body =
        app.gql(Some(&stranger), "query($c: ID!) { portalTokens(contactId: $c) { id } }", json!({"c": contact})).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let revoke = "mutation($id: ID!) { revokePortalToken(id: $id) { portalToken { status } userErrors { code } } }";
    let body = app.gql(Some(&stranger), revoke, json!({"id": issued["id"]})).await;
    assert_eq!(body["data"]["revokePortalToken"]["userErrors"][0]["code"], "NOT_FOUND", "{body}");

    // Revoked: refused from the next request on; revoking again is refused.
    let body = app.gql(Some(&agent), revoke, json!({"id": issued["id"]})).await;
    assert_eq!(body["data"]["revokePortalToken"]["portalToken"]["status"], "REVOKED", "{body}");
    let body = app.gql(Some(&token), "{ myServiceRequests { totalCount } }", json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    assert!(body.to_string().contains("revoked"), "{body}");
    let body = app.gql(Some(&agent), revoke, json!({"id": issued["id"]})).await;
    assert_eq!(body["data"]["revokePortalToken"]["userErrors"][0]["code"], "ILLEGAL_STATE", "{body}");

    // Expired: refused too.
    let (fresh, _) = token_for(&app, (&admin, &agent), MINGYUAN).await;
    let body = app.gql(Some(&fresh), "{ myServiceRequests { totalCount } }", json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    use guanxi_store::ConnectionTrait;
    let conn = app.db.connection();
    conn.execute_unprepared("UPDATE portal_tokens SET expires_at = created_at").await.unwrap();
    let body = app.gql(Some(&fresh), "{ myServiceRequests { totalCount } }", json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    let tokens =
        app.gql(Some(&agent), "query($c: ID!) { portalTokens(contactId: $c) { status } }", json!({"c": contact})).await;
    assert_eq!(tokens["data"]["portalTokens"], json!([{"status": "EXPIRED"}, {"status": "REVOKED"}]), "{tokens}");
}

#[tokio::test]
async fn the_portal_is_limited_per_token_and_per_address() {
    let app = spawn_with(|config| {
        config.limits.portal_requests_per_minute = 3;
        config.limits.trust_forwarded_for = true;
    })
    .await;
    guanxi_gateway::seed::seed_demo(&app.db).await.unwrap();
    let admin = app.login("admin@demo.local").await;
    let agent = app.login("service@demo.local").await;
    let (first, _) = token_for(&app, (&admin, &agent), MINGYUAN).await;
    let (second, _) = token_for(&app, (&admin, &agent), HENGXIN).await;
    let ask = |token: String, address: &'static str| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(app.url("/graphql"))
                .bearer_auth(token)
                .header("x-forwarded-for", address)
                .json(&json!({"query": "{ portalIdentity { customerName } }"}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }
    };
    for _ in 0..3 {
        let (status, body) = ask(first.clone(), "10.0.0.1").await;
        assert_eq!(status, 200, "{body}");
    }
    // The token is spent, from any address.
    let (status, body) = ask(first.clone(), "10.0.0.2").await;
    assert_eq!((status, error_code(&body)), (429, "RATE_LIMITED".to_owned()), "{body}");
    // The first address is spent, for any token.
    let (status, _) = ask(second.clone(), "10.0.0.1").await;
    assert_eq!(status, 429);
    // Another token from another address goes through.
    let (status, body) = ask(second.clone(), "10.0.0.3").await;
    assert_eq!(status, 200, "{body}");
    // Staff are not counted against the portal's limit.
    let body = app.gql(Some(&agent), "{ me { id } }", json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
}

#[tokio::test]
async fn the_portal_feed_pushes_the_customers_own_requests() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let agent = app.login("service@demo.local").await;
    let (token, _) = token_for(&app, (&admin, &agent), MINGYUAN).await;
    let filed = portal_call(
        &app,
        &token,
        "submitServiceRequest",
        "SubmitServiceRequestInput",
        json!({"subject": "热水器漏电"}),
    )
    .await;
    let request = filed["serviceRequest"].clone();
    let other = common::customer(&app, &admin, HENGXIN).await;
    let create = format!(
        "mutation($i: CreateWorkOrderInput!) {{ createWorkOrder(input: $i) {{ workOrder {{ {STAFF_ORDER} }} }} }}"
    );
    let theirs = app
        .gql(
            Some(&agent),
            &create,
            json!({"i": {"customerId": other, "channel": "PHONE", "type": "REPAIR", "subject": "打印机卡纸"}}),
        )
        .await["data"]["createWorkOrder"]["workOrder"]
        .clone();
    let mut socket = subscribe(&app, &token, "subscription { myServiceRequestUpdated { id status } }").await;
    // Another customer's move first: never delivered; then the customer's own (the demo
    // sends portal requests to the service agent).
    staff_move(&app, &agent, ("acceptWorkOrder", "WorkOrderMoveInput"), &theirs, json!({})).await;
    let order = staff_read(&app, &admin, &request["id"]).await;
    assert_eq!(order["owner"]["email"], "service@demo.local", "{order}");
    staff_move(&app, &agent, ("acceptWorkOrder", "WorkOrderMoveInput"), &order, json!({})).await;
    let event = next_event(&mut socket).await;
    assert_eq!(event["myServiceRequestUpdated"]["id"], request["id"], "{event}");
    assert_eq!(event["myServiceRequestUpdated"]["status"], "ACCEPTED", "{event}");
    // A staff subscription refuses a portal token.
    let mut staff_feed = subscribe(&app, &token, "subscription { workOrderUpdated { id } }").await;
    use futures::StreamExt;
    loop {
        let wait = tokio::time::timeout(std::time::Duration::from_secs(10), staff_feed.next());
        let text = wait.await.unwrap().unwrap().unwrap().to_string();
        if text.contains("connection_ack") {
            continue;
        }
        let message: Value = serde_json::from_str(&text).unwrap();
        assert!(message["payload"]["data"].is_null(), "{text}");
        assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{text}");
        break;
    }
}

#[tokio::test]
async fn the_technician_checks_in_at_the_order_and_edits_move_deadlines() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let agent = app.login("service@demo.local").await;
    let tech = app.login("tech@demo.local").await;
    let tech_id = app.user_id(&admin, "tech@demo.local").await;
    let customer = common::customer(&app, &admin, MINGYUAN).await;
    let create = format!(
        "mutation($i: CreateWorkOrderInput!) {{ createWorkOrder(input: $i) {{ workOrder {{ {STAFF_ORDER} }} }} }}"
    );
    let input = json!({"customerId": customer, "channel": "PHONE", "type": "REPAIR", "priority": "NORMAL", "subject": "机床异响"});
    let order =
        app.gql(Some(&agent), &create, json!({"i": input})).await["data"]["createWorkOrder"]["workOrder"].clone();

    // An edit: a bad subject changes nothing; a higher priority brings the deadlines in.
    let update = format!(
        "mutation($i: UpdateWorkOrderInput!) {{ updateWorkOrder(input: $i) {{ workOrder {{ {STAFF_ORDER} subject address }} userErrors {{ field code }} }} }}"
    );
    let bad = app
        .gql(
            Some(&agent),
            &update,
            json!({"i": {"id": order["id"], "expectedVersion": order["version"], "subject": " "}}),
        )
        .await;
    assert_eq!(bad["data"]["updateWorkOrder"]["userErrors"][0]["field"], "subject", "{bad}");
    let edit = json!({"i": {"id": order["id"], "expectedVersion": order["version"], "priority": "URGENT", "address": "上海市浦东新区张江路 200 号"}});
    let edited = app.gql(Some(&agent), &update, edit).await["data"]["updateWorkOrder"]["workOrder"].clone();
    assert_eq!(
        (edited["priority"].as_str(), edited["address"].as_str()),
        (Some("URGENT"), Some("上海市浦东新区张江路 200 号"))
    );
    assert!(
        edited["resolutionDueAt"].as_str().unwrap() < order["resolutionDueAt"].as_str().unwrap(),
        "{edited} vs {order}"
    );
    // The technician does not see an order not dispatched to them.
    let by_tech = app
        .gql(
            Some(&tech),
            &update,
            json!({"i": {"id": order["id"], "expectedVersion": edited["version"], "subject": "x"}}),
        )
        .await;
    assert_eq!(by_tech["data"]["updateWorkOrder"]["userErrors"][0]["code"], "NOT_FOUND", "{by_tech}");

    let order = staff_move(&app, &agent, ("acceptWorkOrder", "WorkOrderMoveInput"), &edited, json!({})).await;
    let check_in = "mutation($i: WorkOrderCheckInInput!) { checkInWorkOrder(input: $i) { checkIn { id kind far workOrderId } userErrors { field code } } }";
    let check_out = "mutation($i: WorkOrderCheckOutInput!) { checkOutWorkOrder(input: $i) { checkIn { id kind } userErrors { field code } } }";
    let at = |id: &Value| json!({"i": {"workOrderId": id, "location": {"latitude": 31.2, "longitude": 121.6}, "deviceTime": "2026-11-30T09:00:00Z", "idempotencyKey": "ci-1"}});
    // Not before dispatch, and never by anyone but its technician.
    let early = app.gql(Some(&agent), check_in, at(&order["id"])).await;
    assert_eq!(early["data"]["checkInWorkOrder"]["userErrors"][0]["code"], "FORBIDDEN", "{early}");
    let dispatch = ("dispatchWorkOrder", "DispatchWorkOrderInput");
    let order = staff_move(&app, &agent, dispatch, &order, json!({"technicianId": tech_id})).await;
    // Being its technician is not enough to edit the request.
    let by_tech = app
        .gql(
            Some(&tech),
            &update,
            json!({"i": {"id": order["id"], "expectedVersion": order["version"], "priority": "LOW"}}),
        )
        .await;
    assert_eq!(by_tech["data"]["updateWorkOrder"]["userErrors"][0]["code"], "NOT_FOUND", "{by_tech}");
    let arrived = app.gql(Some(&tech), check_in, at(&order["id"])).await;
    let first = arrived["data"]["checkInWorkOrder"]["checkIn"].clone();
    assert_eq!(
        (first["kind"].as_str(), first["workOrderId"].as_str()),
        (Some("CHECK_IN"), order["id"].as_str()),
        "{arrived}"
    );
    let retry = app.gql(Some(&tech), check_in, at(&order["id"])).await;
    assert_eq!(retry["data"]["checkInWorkOrder"]["checkIn"]["id"], first["id"], "a retry is one check-in: {retry}");
    let mut twice = at(&order["id"]);
    twice["i"]["idempotencyKey"] = json!("ci-2");
    let twice = app.gql(Some(&tech), check_in, twice).await;
    assert_eq!(twice["data"]["checkInWorkOrder"]["userErrors"][0]["code"], "ILLEGAL_STATE", "{twice}");
    let bad = app.gql(Some(&tech), check_in, json!({"i": {"workOrderId": order["id"], "location": {"latitude": 91.0, "longitude": 0.0}, "deviceTime": "2026-11-30T09:00:00Z"}})).await;
    assert!(bad["data"]["checkInWorkOrder"]["checkIn"].is_null(), "{bad}");
    let out = json!({"i": {"workOrderId": order["id"], "location": {"latitude": 31.2, "longitude": 121.6}, "deviceTime": "2026-11-30T11:00:00Z"}});
    let left = app.gql(Some(&tech), check_out, out.clone()).await;
    assert_eq!(left["data"]["checkOutWorkOrder"]["checkIn"]["kind"], "CHECK_OUT", "{left}");
    let again = app.gql(Some(&tech), check_out, out).await;
    assert_eq!(again["data"]["checkOutWorkOrder"]["userErrors"][0]["code"], "ILLEGAL_STATE", "{again}");
    let seen = staff_read(&app, &agent, &order["id"]).await;
    let kinds: Vec<&str> = seen["checkIns"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["CHECK_IN", "CHECK_OUT"], "{seen}");
    // The visit counts in the technician's own work log.
    let log = app
        .gql(
            Some(&tech),
            "query($u: ID!, $from: DateTime!, $to: DateTime!) { workLog(subject: {userId: $u}, from: $from, to: $to, granularity: DAY) { visitsWithCheckIn { count records { id } } } }",
            json!({"u": tech_id, "from": chrono::Utc::now() - chrono::Duration::days(1), "to": chrono::Utc::now() + chrono::Duration::days(1)}),
        )
        .await;
    let periods = log["data"]["workLog"].as_array().unwrap_or_else(|| panic!("{log}"));
    let counted = periods.iter().flat_map(|p| p["visitsWithCheckIn"]["records"].as_array().unwrap().iter());
    assert_eq!(counted.filter(|r| r["id"] == first["id"]).count(), 1, "{log}");
}
