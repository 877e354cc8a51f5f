//! After-sales service over HTTP: work orders through every move of their state machine,
//! who may make each move, racing moves, coverage and fees, dispatch suggestions, the
//! live feed, statistics, the 360 view and the work log, and scope on every read path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const ORDER: &str = "id number status nextStatuses version reason heldFrom address region subject \
    customer { name } technician { displayName } \
    coverage { kind partsCovered labourCovered reason serviceContractId } \
    items { kind name quantity unitPrice amount { amount } } \
    partsAmount { amount } labourAmount { amount } charge { amount } paymentStatus paymentMethod \
    resolution rootCause satisfaction reopenCount completedAt";

fn mutation(name: &str, input: &str) -> String {
    format!(
        "mutation($i: {input}!) {{ {name}(input: $i) {{ workOrder {{ {ORDER} }} userErrors {{ field code message }} }} }}"
    )
}

fn create() -> String {
    mutation("createWorkOrder", "CreateWorkOrderInput")
}

/// The input type of each move's mutation.
fn move_input(name: &str) -> &'static str {
    match name {
        "dispatchWorkOrder" => "DispatchWorkOrderInput",
        "completeWorkOrder" => "CompleteWorkOrderInput",
        "cancelWorkOrder" | "holdWorkOrder" | "reopenWorkOrder" => "WorkOrderReasonInput",
        "setWorkOrderItems" => "SetWorkOrderItemsInput",
        "recordWorkOrderPayment" => "RecordWorkOrderPaymentInput",
        "rateWorkOrder" => "RateWorkOrderInput",
        _ => "WorkOrderMoveInput",
    }
}

/// Makes `name` on `order` with `extra` input fields; returns the payload.
async fn act(app: &TestApp, token: &str, name: &str, order: &Value, extra: Value) -> Value {
    let mut input = json!({"id": order["id"], "expectedVersion": order["version"]});
    if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
        input.extend(extra.clone());
    }
    let body = app.gql(Some(token), &mutation(name, move_input(name)), json!({"i": input})).await;
    assert!(body["errors"].is_null(), "{name}: {body}");
    body["data"][name].clone()
}

/// [`act`], which must succeed; returns the order.
async fn moved(app: &TestApp, token: &str, name: &str, order: &Value, extra: Value) -> Value {
    let payload = act(app, token, name, order, extra).await;
    assert_eq!(payload["userErrors"], json!([]), "{name}: {payload}");
    payload["workOrder"].clone()
}

/// [`act`], which must be refused; returns the first error's code and message.
async fn refused_move(app: &TestApp, token: &str, name: &str, order: &Value, extra: Value) -> (String, String) {
    let payload = act(app, token, name, order, extra).await;
    assert!(payload["workOrder"].is_null(), "{name} should be refused: {payload}");
    let error = &payload["userErrors"][0];
    (error["code"].as_str().unwrap().to_owned(), error["message"].as_str().unwrap().to_owned())
}

async fn read(app: &TestApp, token: &str, id: &Value) -> Value {
    let body = app
        .gql(Some(token), &format!("query($id: ID!) {{ workOrder(id: $id) {{ {ORDER} }} }}"), json!({"id": id}))
        .await;
    body["data"]["workOrder"].clone()
}

/// The first asset of a demo customer, as the agent sees it.
async fn asset_of(app: &TestApp, token: &str, customer: &str) -> String {
    let body = app.gql(Some(token), "query($c: ID!) { assets(customerId: $c) { id } }", json!({"c": customer})).await;
    body["data"]["assets"][0]["id"].as_str().unwrap_or_else(|| panic!("no asset: {body}")).to_owned()
}

const MINGYUAN: &str = "上海明远机械制造有限公司";
const ADDRESS: &str = "上海市浦东新区张江路 100 号";
const HENGXIN: &str = "苏州恒信电子科技有限公司";
const JINLING: &str = "南京金陵商贸有限公司";

/// A repair of 明远's air conditioner, taken by the agent.
async fn repair(app: &TestApp, agent: &str) -> Value {
    let customer = customer(app, agent, MINGYUAN).await;
    let asset = asset_of(app, agent, &customer).await;
    let input = json!({"customerId": customer, "assetId": asset, "channel": "PHONE", "type": "REPAIR",
        "priority": "HIGH", "subject": "空调漏水", "address": ADDRESS});
    ok(app, agent, &create(), input, ("createWorkOrder", "workOrder")).await
}

struct People {
    admin: String,
    agent: String,
    tech: String,
    tech_id: String,
    rep1: String,
}

async fn people(app: &TestApp) -> People {
    let admin = app.login("admin@demo.local").await;
    let tech_id = app.user_id(&admin, "tech@demo.local").await;
    People {
        agent: app.login("service@demo.local").await,
        tech: app.login("tech@demo.local").await,
        rep1: app.login("rep1@demo.local").await,
        tech_id,
        admin,
    }
}

#[tokio::test]
async fn a_work_order_runs_from_report_to_close_and_each_move_is_checked() {
    let app = spawn_demo().await;
    let p = people(&app).await;
    let customer_id = customer(&app, &p.agent, MINGYUAN).await;
    // Bad input: every field at once, nothing written.
    let count = "{ workOrders { totalCount } }";
    let before = app.gql(Some(&p.agent), count, json!({})).await["data"]["workOrders"]["totalCount"].clone();
    let (codes, errors) = refused(
        &app,
        &p.agent,
        &create(),
        json!({"customerId": customer_id, "channel": "PHONE", "type": "REPAIR", "subject": " ",
            "windowFrom": "2026-12-02T10:00:00Z", "windowTo": "2026-12-02T09:00:00Z"}),
        "createWorkOrder",
    )
    .await;
    assert_eq!(codes, ["INVALID", "INVALID"], "{errors}");
    assert!(errors.contains("subject") && errors.contains("windowTo"), "{errors}");
    assert_eq!(app.gql(Some(&p.agent), count, json!({})).await["data"]["workOrders"]["totalCount"], before);

    let order = repair(&app, &p.agent).await;
    assert_eq!(order["status"], "SUBMITTED");
    assert!(order["number"].as_str().unwrap().starts_with("GD"), "{order}");
    assert_eq!(order["coverage"]["kind"], "WARRANTY", "明远's air conditioner is under warranty: {order}");
    assert_eq!(order["nextStatuses"], json!(["ACCEPTED", "CANCELLED"]));
    // The technician does not see it before it is theirs.
    assert!(read(&app, &p.tech, &order["id"]).await.is_null());

    let (code, message) = refused_move(&app, &p.agent, "completeWorkOrder", &order, json!({"resolution": "x"})).await;
    assert_eq!(code, "ILLEGAL_TRANSITION");
    assert!(message.ends_with("allowed next states: ACCEPTED, CANCELLED"), "{message}");
    let order = moved(&app, &p.agent, "acceptWorkOrder", &order, json!({})).await;
    // Dispatching needs `workorder.dispatch`: the technician has the order only once it is theirs.
    let order = moved(&app, &p.agent, "dispatchWorkOrder", &order, json!({"technicianId": p.tech_id})).await;
    assert_eq!(order["technician"]["displayName"], "赵强");
    // Travel is the technician's move, not the agent's.
    let (code, _) = refused_move(&app, &p.agent, "startTravel", &order, json!({})).await;
    assert_eq!(code, "FORBIDDEN");

    // The technician reads the order and its address, not the customer's card.
    let seen = read(&app, &p.tech, &order["id"]).await;
    assert_eq!(seen["status"], "DISPATCHED");
    assert!(seen["customer"].is_null(), "{seen}");
    assert_eq!(seen["address"], ADDRESS, "{seen}");
    // A retried move with its idempotency key gives the first result back.
    let keyed = json!({"idempotencyKey": "travel-1"});
    let first = moved(&app, &p.tech, "startTravel", &order, keyed.clone()).await;
    let again = moved(&app, &p.tech, "startTravel", &order, keyed).await;
    assert_eq!(
        (first["status"].clone(), first["version"].clone()),
        (again["status"].clone(), again["version"].clone())
    );
    let order = moved(&app, &p.tech, "startWorkOrder", &first, json!({})).await;
    let items = json!({"items": [{"kind": "PART", "name": "排水泵", "quantity": "1", "unitPrice": "120"},
        {"kind": "PACKING", "name": "保修卡", "quantity": "1"}], "labour": "80"});
    let order = moved(&app, &p.tech, "setWorkOrderItems", &order, items).await;
    assert_eq!(order["charge"]["amount"], "0.00", "warranty covers parts and labour: {order}");
    assert_eq!(order["paymentStatus"], "NOT_DUE");
    assert_eq!(order["items"].as_array().unwrap().len(), 2);
    let (code, _) = refused_move(&app, &p.tech, "completeWorkOrder", &order, json!({"resolution": "  "})).await;
    assert_eq!(code, "REQUIRED");
    let order = moved(
        &app,
        &p.tech,
        "completeWorkOrder",
        &order,
        json!({"resolution": "更换排水泵，疏通排水管", "rootCause": "排水泵损坏"}),
    )
    .await;
    assert_eq!(order["status"], "COMPLETED");
    // The technician does not sign off their own work, nor record the customer's rating.
    let (code, _) = refused_move(&app, &p.tech, "confirmWorkOrder", &order, json!({})).await;
    assert_eq!(code, "FORBIDDEN");
    let (code, _) = refused_move(&app, &p.tech, "rateWorkOrder", &order, json!({"score": 5})).await;
    assert_eq!(code, "FORBIDDEN");
    // Closing without the customer's confirmation needs a supervisor; the agent confirms first.
    let (code, _) = refused_move(&app, &p.agent, "closeWorkOrder", &order, json!({})).await;
    assert_eq!(code, "FORBIDDEN");
    let order = moved(&app, &p.agent, "confirmWorkOrder", &order, json!({})).await;
    let order = moved(&app, &p.agent, "rateWorkOrder", &order, json!({"score": 4, "comment": "还行"})).await;
    let order = moved(&app, &p.agent, "closeWorkOrder", &order, json!({})).await;
    assert_eq!(order["status"], "CLOSED");
    assert_eq!(order["nextStatuses"], json!([]));
    let (code, message) = refused_move(&app, &p.agent, "reopenWorkOrder", &order, json!({"reason": "又漏了"})).await;
    assert_eq!(code, "ILLEGAL_TRANSITION");
    assert!(message.ends_with("none: it is final"), "{message}");

    // Every move is an event on the order and on its customer's timeline.
    let history = app
        .gql(Some(&p.admin), "query($id: ID!) { history(id: $id) { totalCount } }", json!({"id": order["id"]}))
        .await;
    assert!(history["data"]["history"]["totalCount"].as_i64().unwrap() >= 9, "{history}");
    let timeline = app
        .gql(
            Some(&p.admin),
            "query($id: ID!) { customer360(id: $id) { timeline(first: 50, kinds: [WORK_ORDERS]) { edges { node { type } } } } }",
            json!({"id": customer_id}),
        )
        .await;
    let entries = timeline["data"]["customer360"]["timeline"]["edges"].as_array().unwrap();
    assert!(entries.len() >= 9 && entries.iter().all(|e| e["node"]["type"] == "WORK_ORDER"), "{timeline}");
}

#[tokio::test]
async fn hold_cancel_and_reopen_keep_their_reasons_and_the_window() {
    let app = spawn_demo().await;
    let p = people(&app).await;
    let order = repair(&app, &p.agent).await;
    let order = moved(&app, &p.agent, "acceptWorkOrder", &order, json!({})).await;
    let order = moved(&app, &p.agent, "dispatchWorkOrder", &order, json!({"technicianId": p.tech_id})).await;
    let order = moved(&app, &p.tech, "startWorkOrder", &order, json!({})).await;
    let (code, _) = refused_move(&app, &p.tech, "holdWorkOrder", &order, json!({"reason": " "})).await;
    assert_eq!(code, "REQUIRED");
    let held = moved(&app, &p.tech, "holdWorkOrder", &order, json!({"reason": "等待备件到货"})).await;
    assert_eq!((held["status"].as_str(), held["heldFrom"].as_str()), (Some("ON_HOLD"), Some("IN_PROGRESS")));
    assert_eq!(held["reason"], "等待备件到货");
    assert_eq!(held["nextStatuses"], json!(["IN_PROGRESS"]), "work once started is not cancelled through a hold");
    let resumed = moved(&app, &p.tech, "resumeWorkOrder", &held, json!({})).await;
    assert_eq!(resumed["status"], "IN_PROGRESS");
    let done = moved(&app, &p.tech, "completeWorkOrder", &resumed, json!({"resolution": "已修复"})).await;
    let reopened = moved(&app, &p.agent, "reopenWorkOrder", &done, json!({"reason": "客户反馈仍漏水"})).await;
    assert_eq!((reopened["status"].as_str(), reopened["reopenCount"].as_i64()), (Some("REOPENED"), Some(1)));
    assert!(reopened["completedAt"].is_null());
    let again = moved(&app, &p.agent, "dispatchWorkOrder", &reopened, json!({"technicianId": p.tech_id})).await;
    let again = moved(&app, &p.tech, "startWorkOrder", &again, json!({})).await;
    let again = moved(&app, &p.tech, "completeWorkOrder", &again, json!({"resolution": "更换密封圈"})).await;
    // With no reopen window left, a completed order stays completed.
    let settings = "mutation { updateTenantSettings(input: {workOrderReopenDays: 0}) { userErrors { code } } }";
    assert_eq!(
        app.gql(Some(&p.admin), settings, json!({})).await["data"]["updateTenantSettings"]["userErrors"],
        json!([])
    );
    let (code, message) = refused_move(&app, &p.agent, "reopenWorkOrder", &again, json!({"reason": "再看看"})).await;
    assert_eq!(code, "ILLEGAL_STATE", "{message}");
    let bad = "mutation { updateTenantSettings(input: {workOrderReopenDays: 91}) { userErrors { field code } } }";
    let body = app.gql(Some(&p.admin), bad, json!({})).await;
    assert_eq!(body["data"]["updateTenantSettings"]["userErrors"][0]["field"], "workOrderReopenDays");

    // Cancelling: the agent before dispatch, `workorder.dispatch` after (the agent has it,
    // the technician does not).
    let other = repair(&app, &p.agent).await;
    let (code, _) = refused_move(&app, &p.agent, "cancelWorkOrder", &other, json!({"reason": ""})).await;
    assert_eq!(code, "REQUIRED");
    let other = moved(&app, &p.agent, "acceptWorkOrder", &other, json!({})).await;
    let other = moved(&app, &p.agent, "dispatchWorkOrder", &other, json!({"technicianId": p.tech_id})).await;
    let (code, _) = refused_move(&app, &p.tech, "cancelWorkOrder", &other, json!({"reason": "客户取消"})).await;
    assert_eq!(code, "FORBIDDEN");
    let cancelled = moved(&app, &p.agent, "cancelWorkOrder", &other, json!({"reason": "客户取消"})).await;
    assert_eq!(cancelled["status"], "CANCELLED");
    let (code, _) = refused_move(&app, &p.tech, "startWorkOrder", &cancelled, json!({})).await;
    assert_eq!(code, "ILLEGAL_TRANSITION");
}

#[tokio::test]
async fn coverage_decides_the_fee_and_payments_settle_it_exactly() {
    let app = spawn_demo().await;
    let p = people(&app).await;
    // 恒信's cabinet unit is out of warranty, under a service contract covering parts only.
    let hengxin = customer(&app, &p.agent, HENGXIN).await;
    let asset = asset_of(&app, &p.agent, &hengxin).await;
    let preview = app
        .gql(
            Some(&p.agent),
            "query($c: ID!, $a: ID) { previewCoverage(customerId: $c, assetId: $a) { kind partsCovered labourCovered reason } }",
            json!({"c": hengxin, "a": asset}),
        )
        .await;
    let preview = &preview["data"]["previewCoverage"];
    assert_eq!((preview["kind"].as_str(), preview["partsCovered"].as_bool()), (Some("SERVICE_CONTRACT"), Some(true)));
    let input =
        json!({"customerId": hengxin, "assetId": asset, "channel": "WECHAT", "type": "REPAIR", "subject": "不制热"});
    let order = ok(&app, &p.agent, &create(), input, ("createWorkOrder", "workOrder")).await;
    assert_eq!(order["coverage"]["kind"], "SERVICE_CONTRACT");
    assert!(order["coverage"]["reason"].as_str().unwrap().contains("备件免费，人工收费"), "{order}");
    // Prices are exact and rounded half up to the fen: 2 × 33.335 = 66.67.
    let items = json!({"items": [{"kind": "PART", "name": "四通阀", "quantity": "2", "unitPrice": "33.335"}],
        "labour": "150.50"});
    let order = moved(&app, &p.agent, "setWorkOrderItems", &order, items).await;
    assert_eq!(order["partsAmount"]["amount"], "66.67");
    assert_eq!(order["charge"]["amount"], "150.50", "parts are covered, labour is not: {order}");
    assert_eq!(order["paymentStatus"], "UNPAID");
    let (codes, errors) = refused(
        &app,
        &p.agent,
        &mutation("setWorkOrderItems", "SetWorkOrderItemsInput"),
        json!({"id": order["id"], "expectedVersion": order["version"], "labour": "-1",
            "items": [{"kind": "PART", "name": "", "quantity": "0"}]}),
        "setWorkOrderItems",
    )
    .await;
    assert!(codes.len() >= 3 && errors.contains("items.0.quantity"), "{errors}");
    let (code, message) =
        refused_move(&app, &p.agent, "recordWorkOrderPayment", &order, json!({"method": "CASH", "amount": "150"}))
            .await;
    assert_eq!(code, "INVALID", "{message}");
    let paid =
        moved(&app, &p.agent, "recordWorkOrderPayment", &order, json!({"method": "ALIPAY", "amount": "150.50"})).await;
    assert_eq!((paid["paymentStatus"].as_str(), paid["paymentMethod"].as_str()), (Some("PAID"), Some("ALIPAY")));
    let (code, _) =
        refused_move(&app, &p.agent, "recordWorkOrderPayment", &paid, json!({"method": "CASH", "amount": "150.50"}))
            .await;
    assert_eq!(code, "ILLEGAL_STATE");
    // Once paid, the fees are final: nothing is added that was never collected.
    let more = json!({"items": [{"kind": "PART", "name": "四通阀", "quantity": "3", "unitPrice": "33.335"}], "labour": "150.50"});
    let (code, message) = refused_move(&app, &p.agent, "setWorkOrderItems", &paid, more).await;
    assert_eq!(code, "ILLEGAL_STATE", "{message}");

    // An asset out of warranty with no contract: the customer pays, and the reason says why.
    let jinling = customer(&app, &p.agent, JINLING).await;
    let product = app.gql(Some(&p.agent), "{ products(first: 1) { nodes { id } } }", json!({})).await["data"]
        ["products"]["nodes"][0]["id"]
        .clone();
    let created = ok(
        &app,
        &p.agent,
        "mutation($i: CreateAssetInput!) { createAsset(input: $i) { asset { id underWarranty } userErrors { field code } } }",
        json!({"customerId": jinling, "asset": {"productId": product, "serialNumber": "SN-OLD-1",
            "purchasedOn": "2020-01-01", "warrantyEndsOn": "2023-01-01"}}),
        ("createAsset", "asset"),
    )
    .await;
    assert_eq!(created["underWarranty"], false);
    let (codes, _) = refused(
        &app,
        &p.agent,
        "mutation($i: CreateAssetInput!) { createAsset(input: $i) { asset { id } userErrors { field code } } }",
        json!({"customerId": jinling, "asset": {"productId": product, "serialNumber": "SN-OLD-1"}}),
        "createAsset",
    )
    .await;
    assert_eq!(codes, ["DUPLICATE"]);
    let input = json!({"customerId": jinling, "assetId": created["id"], "channel": "PHONE", "type": "REPAIR", "subject": "不开机"});
    let order = ok(&app, &p.agent, &create(), input, ("createWorkOrder", "workOrder")).await;
    assert_eq!(order["coverage"]["kind"], "NONE");
    assert!(order["coverage"]["reason"].as_str().unwrap().starts_with("已过保"), "{order}");
    let order = moved(&app, &p.agent, "setWorkOrderItems", &order, json!({"items": [], "labour": "200"})).await;
    assert_eq!(order["charge"]["amount"], "200.00");
    // Only a supervisor lets a customer off.
    let waive = mutation("waiveWorkOrderFee", "WorkOrderMoveInput");
    let input = json!({"i": {"id": order["id"], "expectedVersion": order["version"]}});
    assert_eq!(error_code(&app.gql(Some(&p.agent), &waive, input.clone()).await), "FORBIDDEN");
    let waived = app.gql(Some(&p.admin), &waive, input).await;
    assert_eq!(waived["data"]["waiveWorkOrderFee"]["workOrder"]["paymentStatus"], "WAIVED", "{waived}");
}

#[tokio::test]
async fn of_two_racing_moves_exactly_one_wins() {
    let app = spawn_demo().await;
    let p = people(&app).await;
    for _ in 0..3 {
        let order = repair(&app, &p.agent).await;
        let accept = |token: String| {
            let (app, order) = (&app, order.clone());
            async move { act(app, &token, "acceptWorkOrder", &order, json!({})).await }
        };
        let (a, b) = tokio::join!(accept(p.agent.clone()), accept(p.admin.clone()));
        let won = [&a, &b].iter().filter(|x| x["userErrors"] == json!([])).count();
        assert_eq!(won, 1, "{a} {b}");
        let lost = if a["userErrors"] == json!([]) { &b } else { &a };
        assert_eq!(user_error_codes(lost), ["VERSION_CONFLICT"], "{lost}");
        let now = read(&app, &p.admin, &order["id"]).await;
        assert_eq!((now["status"].as_str(), now["version"].as_i64()), (Some("ACCEPTED"), Some(2)));
        let history = app
            .gql(
                Some(&p.admin),
                "query($id: ID!) { history(id: $id) { nodes { changes { field new } } } }",
                json!({"id": order["id"]}),
            )
            .await;
        let accepts = history["data"]["history"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| {
                n["changes"].as_array().unwrap().iter().any(|c| c["field"] == "status" && c["new"] == "ACCEPTED")
            })
            .count();
        assert_eq!(accepts, 1, "{history}");
    }
}

/// Creates a user with a built-in role and returns (token, global id).
async fn staff(app: &TestApp, admin: &str, (email, name, role): (&str, &str, &str)) -> (String, String) {
    let (department, _) = app.department(admin, "客户服务部").await;
    let role = app.role_id(admin, role).await;
    let user = ok(
        app,
        admin,
        "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } userErrors { field code } } }",
        json!({"email": email, "displayName": name, "password": PASSWORD, "departmentId": department, "roleId": role}),
        ("createUser", "user"),
    )
    .await;
    (app.login(email).await, user["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn dispatch_suggestions_rank_by_skill_region_and_open_load() {
    let app = spawn_demo().await;
    let p = people(&app).await;
    let (_, beijing) = staff(&app, &p.admin, ("t2@demo.local", "钱北", "technician")).await;
    let (_, local) = staff(&app, &p.admin, ("t3@demo.local", "孙沪", "technician")).await;
    let categories = app.gql(Some(&p.admin), "{ productCategories { id name } }", json!({})).await;
    let air = categories["data"]["productCategories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "空调设备")
        .unwrap()["id"]
        .clone();
    let set = "mutation($i: SetTechnicianInput!) { setTechnician(input: $i) { technician { regions } userErrors { field code } } }";
    ok(
        &app,
        &p.agent,
        set,
        json!({"userId": beijing, "categoryIds": [air], "regions": ["北京市"]}),
        ("setTechnician", "technician"),
    )
    .await;
    ok(&app, &p.agent, set, json!({"userId": local, "regions": ["上海市"]}), ("setTechnician", "technician")).await;
    let body = app.gql(Some(&p.tech), set, json!({"i": {"userId": local, "regions": []}})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "a technician does not set skills");

    let order = repair(&app, &p.agent).await;
    let suggest = "query($id: ID!) { suggestTechnicians(workOrderId: $id) { userId displayName skillMatch regionMatch openLoad } }";
    let ranked = app.gql(Some(&p.agent), suggest, json!({"id": order["id"]})).await;
    let names: Vec<&str> = ranked["data"]["suggestTechnicians"]
        .as_array()
        .unwrap_or_else(|| panic!("{ranked}"))
        .iter()
        .map(|s| s["displayName"].as_str().unwrap())
        .collect();
    // 赵强: skill and region; 钱北: skill; 孙沪: region.
    assert_eq!(names, ["赵强", "钱北", "孙沪"], "{ranked}");
    assert_eq!(ranked["data"]["suggestTechnicians"][0]["openLoad"], 1, "the demo dispatched one order to 赵强");
    // Among equals the lighter load comes first: 钱北 loses the skill edge once he is the
    // only one not serving 上海 — give 孙沪 the category too and he passes 钱北.
    ok(
        &app,
        &p.agent,
        set,
        json!({"userId": local, "categoryIds": [air], "regions": ["上海市"]}),
        ("setTechnician", "technician"),
    )
    .await;
    let ranked = app.gql(Some(&p.agent), suggest, json!({"id": order["id"]})).await;
    let first_two: Vec<&str> = ranked["data"]["suggestTechnicians"].as_array().unwrap()[..2]
        .iter()
        .map(|s| s["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(first_two, ["孙沪", "赵强"], "equal skill and region: 孙沪 has no open orders: {ranked}");
    // Only dispatchers ask.
    let body = app.gql(Some(&p.tech), suggest, json!({"id": order["id"]})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
}

#[tokio::test]
async fn scope_holds_on_every_read_path_and_the_feed_pushes_moves() {
    let app = spawn_demo().await;
    let p = people(&app).await;
    let mut feed = subscribe(&app, &p.tech, "subscription { workOrderUpdated { id status } }").await;
    let order = repair(&app, &p.agent).await;
    let id = order["id"].clone();
    // Another order the technician never sees goes first; the feed must skip it.
    let unseen = repair(&app, &p.agent).await;
    moved(&app, &p.agent, "acceptWorkOrder", &unseen, json!({})).await;
    let order = moved(&app, &p.agent, "acceptWorkOrder", &order, json!({})).await;
    moved(&app, &p.agent, "dispatchWorkOrder", &order, json!({"technicianId": p.tech_id})).await;
    let pushed = next_event(&mut feed).await;
    assert_eq!(pushed["workOrderUpdated"]["id"], id, "{pushed}");
    assert_eq!(pushed["workOrderUpdated"]["status"], "DISPATCHED");

    // rep1 owns 明远 but not its work orders (WORK_ORDER scope: own).
    let paths = |token: String, customer: String| {
        let app = &app;
        let id = id.clone();
        async move {
            let by_id = app.gql(Some(&token), "query($id: ID!) { workOrder(id: $id) { id } }", json!({"id": id})).await;
            let node = app.gql(Some(&token), "query($id: ID!) { node(id: $id) { id } }", json!({"id": id})).await;
            let list = app.gql(Some(&token), "{ workOrders(first: 50) { totalCount nodes { id } } }", json!({})).await;
            let stats = app.gql(Some(&token), "{ workOrderStats { count byStatus { key count } } }", json!({})).await;
            let view = app
                .gql(
                    Some(&token),
                    "query($c: ID!) { customer360(id: $c) { openWorkOrders { id } summary { openWorkOrderCount } } }",
                    json!({"c": customer}),
                )
                .await;
            let listed = list["data"]["workOrders"]["nodes"].as_array().map(|n| n.iter().any(|x| x["id"] == id));
            (
                by_id["data"]["workOrder"]["id"] == id,
                node["data"]["node"]["id"] == id,
                listed.unwrap_or(false),
                stats["data"]["workOrderStats"]["count"].as_i64().unwrap_or(0),
                view["data"]["customer360"]["openWorkOrders"].as_array().map(|o| o.iter().any(|x| x["id"] == id)),
            )
        }
    };
    let mingyuan = customer(&app, &p.rep1, MINGYUAN).await;
    let summary = app
        .gql(
            Some(&p.rep1),
            "query($c: ID!) { customer360(id: $c) { summary { openWorkOrderCount workOrderCount } timeline(kinds: [WORK_ORDERS]) { edges { node { type } } } } }",
            json!({"c": mingyuan}),
        )
        .await;
    let view360 = &summary["data"]["customer360"];
    assert_eq!(view360["summary"]["openWorkOrderCount"], 0, "{summary}");
    assert_eq!(view360["summary"]["workOrderCount"], 0, "{summary}");
    assert_eq!(view360["timeline"]["edges"], json!([]), "rep1's timeline shows no work order it may not see");
    let (by_id, node, listed, count, view) = paths(p.rep1.clone(), mingyuan.clone()).await;
    assert!(!by_id && !node && !listed, "rep1 sees nothing of the agent's orders");
    assert_eq!(count, 0);
    assert_eq!(view, Some(false));
    let (by_id, node, listed, count, _) = paths(p.agent.clone(), mingyuan.clone()).await;
    assert!(by_id && node && listed && count >= 5, "the agent's department sees them all ({count})");
    // The technician sees the orders assigned to them, and only those.
    let (by_id, node, listed, count, _) = paths(p.tech.clone(), mingyuan.clone()).await;
    assert!(by_id && node && listed, "the technician sees their order");
    assert_eq!(count, 3, "the demo's two orders for 赵强 and this one");
    let mine = app.gql(Some(&p.tech), "{ myWorkOrders { nodes { id status } } }", json!({})).await;
    assert!(mine["data"]["myWorkOrders"]["nodes"].as_array().unwrap().iter().any(|o| o["id"] == id), "{mine}");
    // A technician cannot move an order assigned to someone else (it does not exist for them).
    let theirs = read(&app, &p.agent, &unseen["id"]).await;
    let (code, _) = refused_move(&app, &p.tech, "startWorkOrder", &theirs, json!({})).await;
    assert_eq!(code, "NOT_FOUND");

    // Another tenant sees nothing.
    let other = app.second_tenant("other-service").await;
    let node = app.gql(Some(&other), "query($id: ID!) { node(id: $id) { id } }", json!({"id": id})).await;
    assert!(node["data"]["node"].is_null(), "{node}");
    let list = app.gql(Some(&other), "{ workOrders { totalCount } workOrderStats { count } }", json!({})).await;
    let counts = (list["data"]["workOrders"]["totalCount"].as_i64(), list["data"]["workOrderStats"]["count"].as_i64());
    assert_eq!(counts, (Some(0), Some(0)), "{list}");
}

#[tokio::test]
async fn statistics_the_360_view_and_the_work_log_count_in_fixed_statements() {
    let app = spawn_demo().await;
    let p = people(&app).await;
    let jinling = customer(&app, &p.agent, JINLING).await;
    let query = json!({"query": "query($c: ID!) { customer360(id: $c) { summary { openWorkOrderCount workOrderCount lastServiceAt avgSatisfaction } openWorkOrders { id number technician { displayName } customer { name } asset { serialNumber } product { name } items { name } coverage { kind } } assets { id product { name } } serviceContracts { id } } }",
        "variables": {"c": jinling}});
    let new = |subject: String| {
        let (app, agent, jinling) = (&app, p.agent.clone(), jinling.clone());
        async move {
            let input = json!({"customerId": jinling, "channel": "PHONE", "type": "CONSULTATION", "subject": subject});
            let order = ok(app, &agent, &create(), input, ("createWorkOrder", "workOrder")).await;
            let items = json!({"items": [{"kind": "PACKING", "name": "说明书", "quantity": "1"}], "labour": "0"});
            moved(app, &agent, "setWorkOrderItems", &order, items).await
        }
    };
    let first = new("咨询 0".into()).await;
    moved(&app, &p.agent, "acceptWorkOrder", &first, json!({})).await;
    let (one, body) = app.fewest_statements(Some(&p.agent), &query).await;
    assert_eq!(body["data"]["customer360"]["openWorkOrders"].as_array().unwrap().len(), 1, "{body}");
    for n in 1..40 {
        new(format!("咨询 {n}")).await;
    }
    let (many, body) = app.fewest_statements(Some(&p.agent), &query).await;
    assert_eq!(body["data"]["customer360"]["openWorkOrders"].as_array().unwrap().len(), 40);
    assert_eq!(body["data"]["customer360"]["summary"]["openWorkOrderCount"], 40);
    assert_eq!(one, many, "the 360's work orders cost the same statements for 1 as for 40");

    let stats = app
        .gql(
            Some(&p.agent),
            "query($c: ID!) { workOrderStats(filter: {customerId: {eq: $c}}) { count open completed avgSatisfaction byStatus { key count } byType { key count } byPriority { key count } byTechnician { technician { displayName } count } byPeriod(granularity: DAY) { key count } } }",
            json!({"c": jinling}),
        )
        .await;
    let s = &stats["data"]["workOrderStats"];
    assert_eq!((s["count"].as_i64(), s["open"].as_i64()), (Some(40), Some(40)), "{stats}");
    assert_eq!(s["byStatus"], json!([{"key": "SUBMITTED", "count": 39}, {"key": "ACCEPTED", "count": 1}]));
    assert_eq!(s["byType"], json!([{"key": "CONSULTATION", "count": 40}]));
    assert_eq!(s["byPeriod"].as_array().unwrap().iter().map(|x| x["count"].as_i64().unwrap()).sum::<i64>(), 40);
    // The whole demo as the agent: 恒信's rated order gives the satisfaction.
    let all = app
        .gql(Some(&p.agent), "{ workOrderStats { avgSatisfaction rated avgResponseHours completed } }", json!({}))
        .await;
    let all = &all["data"]["workOrderStats"];
    assert_eq!((all["avgSatisfaction"].as_f64(), all["rated"].as_i64()), (Some(5.0), Some(1)), "{all}");
    assert!(all["avgResponseHours"].as_f64().is_some() && all["completed"].as_i64() == Some(1), "{all}");

    // The work log: the agent has 45 orders opened today (the demo's 3, the demo's portal
    // request and complaint, which go to the agent, and these 40).
    let agent_id = app.user_id(&p.admin, "service@demo.local").await;
    let now = chrono::Utc::now();
    let log = app
        .gql(
            Some(&p.admin),
            "query($u: ID!, $f: DateTime!, $t: DateTime!) { workLog(subject: {userId: $u}, from: $f, to: $t, granularity: MONTH) { workOrdersOpened { count records(first: 5) { totalCount } } workOrdersCompleted { count } } }",
            json!({"u": agent_id, "f": (now - chrono::Duration::days(1)).to_rfc3339(), "t": (now + chrono::Duration::days(1)).to_rfc3339()}),
        )
        .await;
    let opened: i64 = log["data"]["workLog"]
        .as_array()
        .unwrap_or_else(|| panic!("{log}"))
        .iter()
        .map(|p| p["workOrdersOpened"]["count"].as_i64().unwrap())
        .sum();
    assert_eq!(opened, 45, "{log}");
    let tech_id = p.tech_id.clone();
    let log = app
        .gql(
            Some(&p.admin),
            "query($u: ID!, $f: DateTime!, $t: DateTime!) { workLog(subject: {userId: $u}, from: $f, to: $t, granularity: MONTH) { workOrdersCompleted { count records { nodes { subject } } } } }",
            json!({"u": tech_id, "f": (now - chrono::Duration::days(1)).to_rfc3339(), "t": (now + chrono::Duration::days(1)).to_rfc3339()}),
        )
        .await;
    let completed: Vec<&Value> =
        log["data"]["workLog"].as_array().unwrap().iter().filter(|p| p["workOrdersCompleted"]["count"] == 1).collect();
    assert_eq!(completed.len(), 1, "赵强 completed 恒信's order: {log}");
}

#[tokio::test]
async fn completion_books_the_return_visit_and_defects_count_their_orders() {
    let app = spawn_demo().await;
    let p = people(&app).await;
    let order = repair(&app, &p.agent).await;
    let order = moved(&app, &p.agent, "acceptWorkOrder", &order, json!({})).await;
    let order = moved(&app, &p.agent, "dispatchWorkOrder", &order, json!({"technicianId": p.tech_id})).await;
    let order = moved(&app, &p.tech, "startWorkOrder", &order, json!({})).await;
    let done = moved(&app, &p.tech, "completeWorkOrder", &order, json!({"resolution": "更换排水泵"})).await;
    // The return visit is the agent's to-do, three days on (the demo's setting), all day.
    let visit = "query($id: ID!) { workOrder(id: $id) { returnVisit { id version kind title status allDay startsAt owner { displayName } } } }";
    let body = app.gql(Some(&p.agent), visit, json!({"id": done["id"]})).await;
    let event = body["data"]["workOrder"]["returnVisit"].clone();
    assert_eq!((event["kind"].as_str(), event["status"].as_str()), (Some("TODO"), Some("PLANNED")), "{body}");
    assert_eq!(event["owner"]["displayName"], "杨帆");
    assert!(event["title"].as_str().unwrap().starts_with("回访："), "{event}");
    let due = chrono::DateTime::parse_from_rfc3339(event["startsAt"].as_str().unwrap()).unwrap();
    let in_days = (due.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
    assert!((40..=72).contains(&in_days), "three days on, Shanghai midnight: {due}");
    // Its outcome is recorded on the to-do; reopening and completing again books no second one.
    let outcome = ok(
        &app,
        &p.agent,
        "mutation($i: UpdateEventInput!) { updateEvent(input: $i) { event { status completionNotes } userErrors { field code message } } }",
        json!({"id": event["id"], "expectedVersion": event["version"], "status": "DONE", "completionNotes": "客户满意，已恢复使用"}),
        ("updateEvent", "event"),
    )
    .await;
    assert_eq!(outcome["status"], "DONE");
    let again = moved(&app, &p.agent, "reopenWorkOrder", &done, json!({"reason": "复查"})).await;
    let again = moved(&app, &p.agent, "dispatchWorkOrder", &again, json!({"technicianId": p.tech_id})).await;
    let again = moved(&app, &p.tech, "startWorkOrder", &again, json!({})).await;
    moved(&app, &p.tech, "completeWorkOrder", &again, json!({"resolution": "复查正常"})).await;
    let body = app.gql(Some(&p.agent), visit, json!({"id": done["id"]})).await;
    assert_eq!(body["data"]["workOrder"]["returnVisit"]["id"], event["id"], "{body}");

    // A defect of the air conditioner, linked from the order.
    let product = app
        .gql(Some(&p.agent), "query($id: ID!) { workOrder(id: $id) { product { id } } }", json!({"id": done["id"]}))
        .await["data"]["workOrder"]["product"]["id"]
        .clone();
    let create_defect = "mutation($i: CreateDefectInput!) { createProductDefect(input: $i) { defect { id number status linkedWorkOrders } userErrors { field code message } } }";
    let (codes, _) = refused(
        &app,
        &p.agent,
        create_defect,
        json!({"defect": {"productId": product, "title": " ", "severity": "HIGH"}}),
        "createProductDefect",
    )
    .await;
    assert_eq!(codes, ["INVALID"]);
    let defect = ok(
        &app,
        &p.agent,
        create_defect,
        json!({"defect": {"productId": product, "title": "排水泵易损", "severity": "HIGH"}}),
        ("createProductDefect", "defect"),
    )
    .await;
    assert!(defect["number"].as_str().unwrap().starts_with("QX"), "{defect}");
    let now = read(&app, &p.agent, &done["id"]).await;
    let link = "mutation($i: LinkWorkOrderDefectInput!) { linkWorkOrderDefect(input: $i) { workOrder { id version defect { number } } userErrors { code } } }";
    let linked = ok(
        &app,
        &p.agent,
        link,
        json!({"id": now["id"], "expectedVersion": now["version"], "defectId": defect["id"]}),
        ("linkWorkOrderDefect", "workOrder"),
    )
    .await;
    assert_eq!(linked["defect"]["number"], defect["number"]);
    let count = "query($id: ID!) { productDefect(id: $id) { linkedWorkOrders status } }";
    let seen = app.gql(Some(&p.agent), count, json!({"id": defect["id"]})).await;
    assert_eq!(seen["data"]["productDefect"]["linkedWorkOrders"], 1, "{seen}");
    // rep1 reads the defect (quality is the tenant's) but not the agent's order behind the count.
    let seen = app.gql(Some(&p.rep1), count, json!({"id": defect["id"]})).await;
    assert_eq!(seen["data"]["productDefect"]["linkedWorkOrders"], 0, "{seen}");
    let day = chrono::Utc::now();
    let stats = app
        .gql(
            Some(&p.agent),
            "query($f: DateTime!, $t: DateTime!) { defectStats(from: $f, to: $t, granularity: DAY) { byProduct { product { name } count } byPeriod { key count } } }",
            json!({"f": (day - chrono::Duration::days(1)).to_rfc3339(), "t": (day + chrono::Duration::days(1)).to_rfc3339()}),
        )
        .await;
    let s = &stats["data"]["defectStats"];
    // This defect of the split unit, and the demo's of the cabinet unit.
    let by_product: Vec<(String, i64)> = s["byProduct"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["product"]["name"].as_str().unwrap().to_owned(), p["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(by_product, [("格力变频空调 1.5匹".to_owned(), 1), ("格力柜式空调 3匹".to_owned(), 1)], "{stats}");
    assert_eq!(s["byPeriod"].as_array().unwrap().iter().map(|p| p["count"].as_i64().unwrap()).sum::<i64>(), 2);
    // Another tenant sees neither.
    let other = app.second_tenant("other-defects").await;
    let node = app.gql(Some(&other), "query($id: ID!) { node(id: $id) { id } }", json!({"id": defect["id"]})).await;
    assert!(node["data"]["node"].is_null(), "{node}");
}
