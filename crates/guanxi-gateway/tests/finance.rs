//! Approvals, contracts, installment plans, receipts, the aging report and the money
//! reminders, over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const CONTRACT: &str = "id number status amount { amount } received { amount } outstanding { amount } version \
    installments { id number amount { amount } dueOn received { amount } outstanding { amount } status } \
    approval { id status currentStep waitingOn { displayName } } \
    approvalHistory { action step comment actor { displayName } delegate { displayName } }";
const RECEIPT: &str = "id number status amount { amount } advance { amount } version";

fn create_contract_query() -> String {
    format!(
        "mutation($i: CreateContractInput!) {{ createContract(input: $i) {{ contract {{ {CONTRACT} }} userErrors {{ field code message }} }} }}"
    )
}

fn contract_action(name: &str) -> String {
    format!(
        "mutation($i: ContractActionInput!) {{ {name}(input: $i) {{ contract {{ {CONTRACT} }} userErrors {{ field code message }} }} }}"
    )
}

fn approval_action(name: &str) -> String {
    format!(
        "mutation($i: ApprovalActionInput!) {{ {name}(input: $i) {{ request {{ id status currentStep }} userErrors {{ field code message }} }} }}"
    )
}

const FLOW: &str = "mutation($i: ApprovalFlowInput!) { createApprovalFlow(input: $i) { flow { id version } userErrors { field code message } } }";
const RECEIPT_MUTATION: &str = "mutation($i: CreateReceiptInput!) { createReceipt(input: $i) { receipt { id number status amount { amount } advance { amount } version } userErrors { field code message } } }";

fn base64_id(kind: &str, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{kind}:{id}"))
}

/// rep2's customer, with no contracts in the demo data.
const JINLING: &str = "南京金陵商贸有限公司";

/// A draft contract of rep2's customer 金陵 for `amount`, with a plan of `(amount, due)`.
async fn draft(app: &TestApp, rep: &str, amount: &str, plan: &[(&str, &str)]) -> Value {
    let customer = customer(app, rep, JINLING).await;
    let installments: Vec<Value> = plan.iter().map(|(a, due)| json!({"amount": a, "dueOn": due})).collect();
    let input = json!({"title": "数控机床供货合同", "customerId": customer, "amount": amount, "signedOn": "2026-01-05",
        "startsOn": "2026-01-05", "endsOn": "2027-12-31", "installments": installments});
    ok(app, rep, &create_contract_query(), input, ("createContract", "contract")).await
}

async fn read_contract(app: &TestApp, token: &str, id: &str) -> Value {
    let body = app
        .gql(Some(token), &format!("query($id: ID!) {{ contract(id: $id) {{ {CONTRACT} }} }}"), json!({"id": id}))
        .await;
    body["data"]["contract"].clone()
}

async fn submit(app: &TestApp, rep: &str, contract: &Value) -> Value {
    let input = json!({"id": contract["id"], "expectedVersion": contract["version"]});
    ok(app, rep, &contract_action("submitContract"), input, ("submitContract", "contract")).await
}

async fn act(app: &TestApp, token: &str, name: &str, input: Value) -> Value {
    ok(app, token, &approval_action(name), input, (name, "request")).await
}

fn steps(rules: Value) -> Value {
    rules
}

/// A flow for every document of `kind` (a condition any amount meets, so it goes before
/// the demo's default flow).
async fn flow(app: &TestApp, admin: &str, kind: &str, steps: Value) {
    let input = json!({"kind": kind, "name": "测试审批", "condition": {"amountAbove": "0"}, "steps": steps});
    ok(app, admin, FLOW, input, ("createApprovalFlow", "flow")).await;
}

fn actions(contract: &Value) -> Vec<String> {
    contract["approvalHistory"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_contract_goes_through_its_flow_and_its_customer_becomes_won() {
    let app = spawn_demo().await;
    let (admin, manager, rep2, rep1) = (
        app.login("admin@demo.local").await,
        app.login("manager@demo.local").await,
        app.login("rep2@demo.local").await,
        app.login("rep1@demo.local").await,
    );
    let admin_id = app.user_id(&admin, "admin@demo.local").await;
    // Step 1: the submitter's manager; step 2: the admin by name.
    flow(
        &app,
        &admin,
        "CONTRACT",
        steps(json!([
            {"name": "主管审批", "mode": "ANY", "approvers": [{"kind": "MANAGER", "levels": 1}]},
            {"name": "总经理审批", "mode": "ANY", "approvers": [{"kind": "USER", "userId": admin_id}]},
        ])),
    )
    .await;
    let contract = draft(&app, &rep2, "100000.00", &[("30000", "2026-02-01"), ("69999.99", "2026-06-01")]).await;
    assert_eq!(contract["status"], "DRAFT");
    // The plan does not add up: refused naming the difference.
    let (codes, message) = refused(
        &app,
        &rep2,
        &contract_action("submitContract"),
        json!({"id": contract["id"], "expectedVersion": contract["version"]}),
        "submitContract",
    )
    .await;
    assert_eq!(codes, ["INVALID"]);
    assert!(message.contains("0.01 less"), "{message}");
    // Bad input: every field at once, nothing written.
    let customer_id = customer(&app, &rep2, JINLING).await;
    let (codes, message) = refused(
        &app,
        &rep2,
        &create_contract_query(),
        json!({"title": "", "customerId": customer_id, "amount": "-5", "signedOn": "2026-03-01", "endsOn": "2026-02-01",
               "installments": [{"amount": "1.001", "dueOn": "2026-01-01"}]}),
        "createContract",
    )
    .await;
    assert_eq!(codes.len(), 5, "{message}");
    // An attachment must be the writer's own upload.
    let made_up = json!({"title": "附件", "customerId": customer_id, "amount": "1",
        "attachmentIds": [base64_id("Attachment", &uuid::Uuid::now_v7().to_string())]});
    let (codes, message) = refused(&app, &rep2, &create_contract_query(), made_up, "createContract").await;
    assert_eq!(codes, ["NOT_FOUND"], "{message}");
    let update = format!(
        "mutation($i: UpdateContractInput!) {{ updateContract(input: $i) {{ contract {{ {CONTRACT} }} userErrors {{ field code message }} }} }}"
    );
    let fixed = ok(
        &app,
        &rep2,
        &update,
        json!({"id": contract["id"], "expectedVersion": contract["version"],
               "contract": {"title": "数控机床供货合同", "customerId": customer_id, "amount": "100000.00",
                            "signedOn": "2026-01-05", "endsOn": "2027-12-31"},
               "installments": [{"amount": "30000", "dueOn": "2026-02-01"}, {"amount": "70000", "dueOn": "2026-06-01"}]}),
        ("updateContract", "contract"),
    )
    .await;
    let pending = submit(&app, &rep2, &fixed).await;
    assert_eq!(pending["status"], "PENDING_APPROVAL");
    assert_eq!(pending["approval"]["currentStep"], 1);
    assert_eq!(pending["approval"]["waitingOn"], json!([{"displayName": "李娜"}]), "the submitter sees who decides");
    let request = pending["approval"]["id"].clone();
    // Pending: the contract is locked.
    let (codes, _) = refused(
        &app,
        &rep2,
        &update,
        json!({"id": contract["id"], "expectedVersion": pending["version"],
               "contract": {"title": "改", "customerId": customer_id, "amount": "1"}}),
        "updateContract",
    )
    .await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);
    // Someone with no task has no say; another rep does not even see the contract.
    let body = app.gql(Some(&rep1), &approval_action("approve"), json!({"i": {"requestId": request}})).await;
    assert_eq!(user_error_codes(&body["data"]["approve"]), ["NOT_FOUND"], "{body}");
    assert!(read_contract(&app, &rep1, contract["id"].as_str().unwrap()).await.is_null());
    // The manager's queue holds it.
    let queue = app
        .gql(
            Some(&manager),
            "{ myApprovals { nodes { kind step document { ... on Contract { number } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(queue["data"]["myApprovals"]["nodes"][0]["document"]["number"], pending["number"], "{queue}");
    let step2 = act(&app, &manager, "approve", json!({"requestId": request, "comment": "同意"})).await;
    assert_eq!((step2["status"].as_str(), step2["currentStep"].as_i64()), (Some("PENDING"), Some(2)));
    let done = act(&app, &admin, "approve", json!({"requestId": request})).await;
    assert_eq!(done["status"], "APPROVED");
    let approved = read_contract(&app, &rep2, contract["id"].as_str().unwrap()).await;
    assert_eq!(approved["status"], "APPROVED");
    assert_eq!(actions(&approved), ["SUBMIT", "APPROVE", "APPROVE"]);
    assert_eq!(approved["approvalHistory"][1]["comment"], "同意");
    // The customer became WON.
    let body =
        app.gql(Some(&rep2), "query($id: ID!) { customer(id: $id) { status } }", json!({"id": customer_id})).await;
    assert_eq!(body["data"]["customer"]["status"], "WON", "{body}");
    // Approved: locked against edits; voiding needs `contract.void` and a reason.
    let (codes, _) = refused(
        &app,
        &rep2,
        &update,
        json!({"id": contract["id"], "expectedVersion": approved["version"],
               "contract": {"title": "改", "customerId": customer_id, "amount": "1"}}),
        "updateContract",
    )
    .await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);
    let body = app
        .gql(
            Some(&rep2),
            &contract_action("voidContract"),
            json!({"i": {"id": contract["id"], "expectedVersion": approved["version"], "reason": "x"}}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    // Another tenant sees nothing.
    let other = app.second_tenant("other-co").await;
    let body = app.gql(Some(&other), "query($id: ID!) { node(id: $id) { id } }", json!({"id": contract["id"]})).await;
    assert!(body["data"]["node"].is_null(), "{body}");
}

#[tokio::test]
async fn approval_shapes_all_steps_skip_delegate_return_withdraw_and_reject() {
    let app = spawn_demo().await;
    let (admin, manager, rep2, rep3) = (
        app.login("admin@demo.local").await,
        app.login("manager@demo.local").await,
        app.login("rep2@demo.local").await,
        app.login("rep3@demo.local").await,
    );
    let admin_id = app.user_id(&admin, "admin@demo.local").await;
    let manager_id = app.user_id(&admin, "manager@demo.local").await;
    let rep2_id = app.user_id(&admin, "rep2@demo.local").await;
    let rep3_id = app.user_id(&admin, "rep3@demo.local").await;
    // Step 1 skips rep2 when rep2 submits; step 2 needs both the manager and the admin
    // (ALL); step 3 is the submitter's manager two levels up (the admin).
    flow(
        &app,
        &admin,
        "CONTRACT",
        json!([
            {"name": "自审", "mode": "ANY", "skipSubmitter": true, "approvers": [{"kind": "USER", "userId": rep2_id}]},
            {"name": "会签", "mode": "ALL", "approvers": [{"kind": "USER", "userId": manager_id}, {"kind": "USER", "userId": admin_id}]},
            {"name": "上上级", "mode": "ANY", "approvers": [{"kind": "MANAGER", "levels": 2}]},
        ]),
    )
    .await;
    let plan = [("100", "2026-03-01")];
    let contract = submit(&app, &rep2, &draft(&app, &rep2, "100", &plan).await).await;
    assert_eq!(actions(&contract), ["SUBMIT", "SKIP"], "the submitter's own step is skipped");
    let waiting: Vec<&str> = contract["approval"]["waitingOn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(waiting.len(), 2, "both ALL approvers: {waiting:?}");
    let request = contract["approval"]["id"].clone();
    // ALL: the manager's approval alone does not move on.
    let after_one = act(&app, &manager, "approve", json!({"requestId": request})).await;
    assert_eq!(after_one["currentStep"], 1);
    // Acting twice on a decided task is a conflict.
    let body = app.gql(Some(&manager), &approval_action("approve"), json!({"i": {"requestId": request}})).await;
    assert_eq!(user_error_codes(&body["data"]["approve"]), ["CONFLICT"], "{body}");
    // The admin delegates to rep3, who is outside the contract's scope but may read it
    // while it waits on them.
    let id = contract["id"].as_str().unwrap();
    assert!(read_contract(&app, &rep3, id).await.is_null());
    // Never to the submitter, nor to someone who already decided in the step, nor to
    // someone whose role may not read contracts (the technician).
    let tech_id = app.user_id(&admin, "tech@demo.local").await;
    for to in [&rep2_id, &manager_id, &tech_id] {
        let body = app
            .gql(
                Some(&admin),
                &approval_action("delegateApproval"),
                json!({"i": {"requestId": request, "toUserId": to}}),
            )
            .await;
        assert_eq!(user_error_codes(&body["data"]["delegateApproval"]), ["INVALID"], "{body}");
    }
    act(&app, &admin, "delegateApproval", json!({"requestId": request, "toUserId": rep3_id, "comment": "请代批"}))
        .await;
    assert_eq!(read_contract(&app, &rep3, id).await["number"], contract["number"]);
    let step3 = act(&app, &rep3, "approve", json!({"requestId": request})).await;
    assert_eq!(step3["currentStep"], 2, "the ALL step completed with the delegate");
    assert!(read_contract(&app, &rep3, id).await.is_null(), "no longer waiting on rep3");
    // Step 2 of the plan (the admin, two levels above rep2; the skipped step is not
    // numbered) returns it to step 1.
    let back =
        act(&app, &admin, "returnApproval", json!({"requestId": request, "toStep": 1, "comment": "重新会签"})).await;
    assert_eq!(back["currentStep"], 1);
    let body = app
        .gql(Some(&admin), &approval_action("returnApproval"), json!({"i": {"requestId": request, "toStep": 2}}))
        .await;
    assert_eq!(user_error_codes(&body["data"]["returnApproval"]), ["INVALID"], "{body}");
    // A rejection needs a reason and sends the contract back.
    let body = app.gql(Some(&manager), &approval_action("rejectApproval"), json!({"i": {"requestId": request}})).await;
    assert_eq!(user_error_codes(&body["data"]["rejectApproval"]), ["REQUIRED"], "{body}");
    let rejected = act(&app, &manager, "rejectApproval", json!({"requestId": request, "comment": "价格太低"})).await;
    assert_eq!(rejected["status"], "REJECTED");
    let after = read_contract(&app, &rep2, id).await;
    assert_eq!(after["status"], "REJECTED");
    assert_eq!(actions(&after), ["SUBMIT", "SKIP", "APPROVE", "DELEGATE", "APPROVE", "RETURN", "REJECT"]);
    assert_eq!(after["approvalHistory"][3]["delegate"]["displayName"], "陈静");
    // Submitted again, then withdrawn by the submitter only.
    let again = submit(&app, &rep2, &after).await;
    let request = again["approval"]["id"].clone();
    let body =
        app.gql(Some(&manager), &approval_action("withdrawApproval"), json!({"i": {"requestId": request}})).await;
    assert_eq!(user_error_codes(&body["data"]["withdrawApproval"]), ["FORBIDDEN"], "{body}");
    let withdrawn = act(&app, &rep2, "withdrawApproval", json!({"requestId": request})).await;
    assert_eq!(withdrawn["status"], "WITHDRAWN");
    assert_eq!(read_contract(&app, &rep2, id).await["status"], "WITHDRAWN");
    let queue =
        app.gql(Some(&manager), "{ myApprovals { nodes { document { ... on Contract { id } } } } }", json!({})).await;
    let waiting: Vec<&Value> =
        queue["data"]["myApprovals"]["nodes"].as_array().unwrap().iter().map(|n| &n["document"]["id"]).collect();
    assert!(!waiting.contains(&&contract["id"]), "this contract no longer waits on the manager: {queue}");
    let done = app.gql(Some(&manager), "{ myApprovals(queue: DONE_BY_ME) { nodes { status } } }", json!({})).await;
    let statuses: Vec<&str> = done["data"]["myApprovals"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"APPROVED") && statuses.contains(&"REJECTED"), "{done}");
}

#[tokio::test]
async fn two_approvers_racing_on_an_any_step_leave_exactly_one_action() {
    let app = spawn_demo().await;
    let (admin, manager, rep2) = (
        app.login("admin@demo.local").await,
        app.login("manager@demo.local").await,
        app.login("rep2@demo.local").await,
    );
    let admin_id = app.user_id(&admin, "admin@demo.local").await;
    let manager_id = app.user_id(&admin, "manager@demo.local").await;
    flow(
        &app,
        &admin,
        "CONTRACT",
        json!([{"name": "任一", "mode": "ANY", "approvers": [{"kind": "USER", "userId": manager_id}, {"kind": "USER", "userId": admin_id}]}]),
    )
    .await;
    for round in 0..3 {
        let contract = submit(&app, &rep2, &draft(&app, &rep2, "500", &[("500", "2026-04-01")]).await).await;
        let request = contract["approval"]["id"].clone();
        let query = approval_action("approve");
        let input = json!({"i": {"requestId": request}});
        let (a, b) =
            tokio::join!(app.gql(Some(&admin), &query, input.clone()), app.gql(Some(&manager), &query, input.clone()));
        let outcomes = [user_error_codes(&a["data"]["approve"]), user_error_codes(&b["data"]["approve"])];
        let won = outcomes.iter().filter(|c| c.is_empty()).count();
        assert_eq!(won, 1, "round {round}: exactly one wins: {a} {b}");
        assert!(
            outcomes.iter().any(|c| c == &["CONFLICT".to_owned()]),
            "round {round}: the other is CONFLICT: {a} {b}"
        );
        let after = read_contract(&app, &rep2, contract["id"].as_str().unwrap()).await;
        assert_eq!(actions(&after), ["SUBMIT", "APPROVE"], "round {round}");
        assert_eq!(after["status"], "APPROVED");
    }
}

/// An approved contract of rep2's (receipts need no approval in the demo).
/// The demo's contract flow: the submitter's manager, then finance.
struct Approvers {
    manager: String,
    finance: String,
}

async fn approvers(app: &TestApp) -> Approvers {
    Approvers { manager: app.login("manager@demo.local").await, finance: app.login("finance@demo.local").await }
}

/// An approved contract of rep2's, through the demo's flow.
async fn approved(app: &TestApp, rep: &str, by: &Approvers, amount: &str, plan: &[(&str, &str)]) -> Value {
    let contract = submit(app, rep, &draft(app, rep, amount, plan).await).await;
    let request = contract["approval"]["id"].clone();
    for approver in [&by.manager, &by.finance] {
        act(app, approver, "approve", json!({"requestId": request})).await;
    }
    let contract = read_contract(app, rep, contract["id"].as_str().unwrap()).await;
    assert_eq!(contract["status"], "APPROVED", "{contract}");
    contract
}

#[tokio::test]
async fn receipts_fill_installments_oldest_first_and_a_red_entry_gives_them_back() {
    let app = spawn_demo().await;
    let by = approvers(&app).await;
    let (admin, rep2, rep1) =
        (app.login("admin@demo.local").await, app.login("rep2@demo.local").await, app.login("rep1@demo.local").await);
    let contract =
        approved(&app, &rep2, &by, "1000.00", &[("300", "2026-02-01"), ("300", "2026-03-01"), ("400", "2026-04-01")])
            .await;
    let id = contract["id"].as_str().unwrap();
    let pay = |amount: &str, key: &str| {
        json!({"contractId": id, "receivedOn": "2026-02-10", "method": "BANK_TRANSFER", "amount": amount,
               "payer": "南京金陵商贸有限公司", "idempotencyKey": key})
    };
    let first = ok(&app, &rep2, RECEIPT_MUTATION, pay("450", "r1"), ("createReceipt", "receipt")).await;
    assert_eq!(first["status"], "APPROVED");
    // A retried request returns the first receipt and writes nothing new.
    let retried = ok(&app, &rep2, RECEIPT_MUTATION, pay("450", "r1"), ("createReceipt", "receipt")).await;
    assert_eq!(retried["id"], first["id"]);
    let after = read_contract(&app, &rep2, id).await;
    let received: Vec<&str> =
        after["installments"].as_array().unwrap().iter().map(|i| i["received"]["amount"].as_str().unwrap()).collect();
    assert_eq!(received, ["300.00", "150.00", "0.00"]);
    assert_eq!(
        (after["received"]["amount"].as_str(), after["outstanding"]["amount"].as_str()),
        (Some("450.00"), Some("550.00"))
    );
    // More than still owed: refused, nothing written.
    let (codes, message) = refused(&app, &rep2, RECEIPT_MUTATION, pay("550.01", "r2"), "createReceipt").await;
    assert_eq!(codes, ["INVALID"], "{message}");
    // More decimals than the tenant keeps, a negative amount: refused.
    for bad in ["1.001", "-3"] {
        let (codes, _) = refused(&app, &rep2, RECEIPT_MUTATION, pay(bad, "r3"), "createReceipt").await;
        assert_eq!(codes, ["INVALID"], "{bad}");
    }
    // Allocated as asked: all to the third installment.
    let third = after["installments"][2]["id"].clone();
    let mut asked = pay("100", "r4");
    asked["allocations"] = json!([{"installmentId": third, "amount": "100"}]);
    ok(&app, &rep2, RECEIPT_MUTATION, asked, ("createReceipt", "receipt")).await;
    let after = read_contract(&app, &rep2, id).await;
    assert_eq!(after["installments"][2]["received"]["amount"], "100.00");
    assert_eq!(after["installments"][0]["status"], "RECEIVED");
    // Another rep neither sees the receipt nor pays into the contract.
    let body = app.gql(Some(&rep1), "query($id: ID!) { receipt(id: $id) { id } }", json!({"id": first["id"]})).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let (codes, _) = refused(&app, &rep1, RECEIPT_MUTATION, pay("1", "r5"), "createReceipt").await;
    assert_eq!(codes, ["NOT_FOUND"]);
    // The red entry: the first receipt's 450 goes back to installments 1 and 2.
    let reverse = format!(
        "mutation($i: ReverseReceiptInput!) {{ reverseReceipt(input: $i) {{ receipt {{ {RECEIPT} reversedReason }} userErrors {{ field code message }} }} }}"
    );
    let (codes, _) = refused(
        &app,
        &rep2,
        &reverse,
        json!({"id": first["id"], "expectedVersion": first["version"], "reason": " "}),
        "reverseReceipt",
    )
    .await;
    assert_eq!(codes, ["REQUIRED"]);
    let reversed = ok(
        &app,
        &rep2,
        &reverse,
        json!({"id": first["id"], "expectedVersion": first["version"], "reason": "银行退票"}),
        ("reverseReceipt", "receipt"),
    )
    .await;
    assert_eq!(reversed["status"], "REVERSED");
    let after = read_contract(&app, &rep2, id).await;
    let received: Vec<&str> =
        after["installments"].as_array().unwrap().iter().map(|i| i["received"]["amount"].as_str().unwrap()).collect();
    assert_eq!(received, ["0.00", "0.00", "100.00"]);
    assert_eq!(
        (after["received"]["amount"].as_str(), after["outstanding"]["amount"].as_str()),
        (Some("100.00"), Some("900.00"))
    );
    let (codes, _) = refused(
        &app,
        &rep2,
        &reverse,
        json!({"id": first["id"], "expectedVersion": reversed["version"], "reason": "again"}),
        "reverseReceipt",
    )
    .await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);
    // A receipt flow: the receipt waits, and counts only once approved.
    let admin_id = app.user_id(&admin, "admin@demo.local").await;
    flow(
        &app,
        &admin,
        "RECEIPT",
        json!([{"name": "财务确认", "mode": "ANY", "approvers": [{"kind": "USER", "userId": admin_id}]}]),
    )
    .await;
    let waiting = ok(&app, &rep2, RECEIPT_MUTATION, pay("200", "r6"), ("createReceipt", "receipt")).await;
    assert_eq!(waiting["status"], "PENDING_APPROVAL");
    assert_eq!(read_contract(&app, &rep2, id).await["received"]["amount"], "100.00");
    // A contract with a receipt waiting is neither voided nor completed.
    let current = read_contract(&app, &rep2, id).await;
    let (codes, _) = refused(
        &app,
        &admin,
        &contract_action("voidContract"),
        json!({"id": id, "expectedVersion": current["version"], "reason": "作废"}),
        "voidContract",
    )
    .await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);
    let body = app
        .gql(Some(&admin), "query($id: ID!) { receipt(id: $id) { approval { id } } }", json!({"id": waiting["id"]}))
        .await;
    let request = body["data"]["receipt"]["approval"]["id"].clone();
    act(&app, &admin, "approve", json!({"requestId": request})).await;
    let after = read_contract(&app, &rep2, id).await;
    assert_eq!(after["received"]["amount"], "300.00");
    assert_eq!(after["installments"][0]["received"]["amount"], "200.00");
}

#[tokio::test]
async fn aging_buckets_match_hand_computed_figures_and_drill_down() {
    let app = spawn_demo().await;
    let by = approvers(&app).await;
    let (admin, rep2, rep1) =
        (app.login("admin@demo.local").await, app.login("rep2@demo.local").await, app.login("rep1@demo.local").await);
    // As of 2026-12-31: due 2027-01-10 not due; 2026-12-20 is 11 days late; 2026-11-15 is
    // 46; 2026-10-10 is 82; 2026-08-01 is 152.
    let contract = approved(
        &app,
        &rep2,
        &by,
        "1500",
        &[
            ("100", "2027-01-10"),
            ("200", "2026-12-20"),
            ("300", "2026-11-15"),
            ("400", "2026-10-10"),
            ("500", "2026-08-01"),
        ],
    )
    .await;
    // 50 received lands on the oldest due first (the 2026-08-01 installment).
    ok(
        &app,
        &rep2,
        RECEIPT_MUTATION,
        json!({"contractId": contract["id"], "receivedOn": "2026-12-01", "method": "CASH", "amount": "50"}),
        ("createReceipt", "receipt"),
    )
    .await;
    let query = "query($f: ReceivablesFilter, $g: ReceivablesGroup) { receivables(groupBy: $g, filter: $f) { \
        asOf total { amount } overdue { amount } buckets { bucket outstanding { amount } installments } \
        rows { groupId owner { email } customer { name } total { amount } buckets { bucket outstanding { amount } } } } }";
    let report = app.gql(Some(&rep2), query, json!({"f": {"asOf": "2026-12-31"}, "g": "OWNER"})).await;
    let r = &report["data"]["receivables"];
    let figures: Vec<(String, String, i64)> = r["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("{report}"))
        .iter()
        .map(|b| {
            (
                b["bucket"].as_str().unwrap().to_owned(),
                b["outstanding"]["amount"].as_str().unwrap().to_owned(),
                b["installments"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("NOT_DUE", "100.00", 1),
        ("DAYS_1_30", "200.00", 1),
        ("DAYS_31_60", "300.00", 1),
        ("DAYS_61_90", "400.00", 1),
        ("OVER_90", "450.00", 1),
    ];
    let expected: Vec<(String, String, i64)> =
        expected.iter().map(|(b, a, n)| ((*b).into(), (*a).into(), *n)).collect();
    assert_eq!(figures, expected, "{report}");
    assert_eq!((r["total"]["amount"].as_str(), r["overdue"]["amount"].as_str()), (Some("1450.00"), Some("1350.00")));
    assert_eq!(r["rows"][0]["owner"]["email"], "rep2@demo.local");
    // Another rep's report does not count rep2's contract; the admin's does.
    let other = app.gql(Some(&rep1), query, json!({"f": {"asOf": "2026-12-31"}, "g": "OWNER"})).await;
    let owners: Vec<&str> = other["data"]["receivables"]["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{other}"))
        .iter()
        .map(|r| r["owner"]["email"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(owners, ["rep1@demo.local"], "only rep1's own (demo) contract: {other}");
    let all = app.gql(Some(&admin), query, json!({"f": {"asOf": "2026-12-31"}, "g": "CUSTOMER"})).await;
    let jinling = all["data"]["receivables"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["customer"]["name"] == JINLING)
        .unwrap_or_else(|| panic!("{all}"));
    assert_eq!(jinling["total"]["amount"], "1450.00");
    // The drill-down: the installments behind one bucket.
    let drill = app
        .gql(
            Some(&rep2),
            "query($f: ReceivablesFilter) { receivableInstallments(bucket: DAYS_31_60, filter: $f) { bucket installment { dueOn outstanding { amount } } contract { number } } }",
            json!({"f": {"asOf": "2026-12-31"}}),
        )
        .await;
    let rows = drill["data"]["receivableInstallments"].as_array().unwrap_or_else(|| panic!("{drill}"));
    assert_eq!(rows.len(), 1, "{drill}");
    assert_eq!(rows[0]["installment"]["dueOn"], "2026-11-15");
    assert_eq!(rows[0]["bucket"], "DAYS_31_60");
    assert_eq!(rows[0]["contract"]["number"], contract["number"]);
}

#[tokio::test]
async fn reminders_are_written_once_per_installment_and_kind_even_with_two_runners() {
    let app = spawn_demo().await;
    let by = approvers(&app).await;
    let rep2 = app.login("rep2@demo.local").await;
    // Due 2026-12-05 (reminded 3 days before by default); 2026-11-20 is overdue on 12-02.
    approved(&app, &rep2, &by, "300", &[("100", "2026-12-05"), ("100", "2026-11-20"), ("100", "2027-03-01")]).await;
    // A contact of the same customer born on 4 December: reminded three days ahead, once a year.
    let customer_id = customer(&app, &rep2, JINLING).await;
    ok(
        &app,
        &rep2,
        "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } userErrors { field code } } }",
        json!({"customerId": customer_id, "name": "周经理", "birthday": "1985-12-04"}),
        ("createContact", "contact"),
    )
    .await;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    let (a, b) = tokio::join!(
        guanxi_gateway::jobs::finance_reminders_on(app.db.clone(), day),
        guanxi_gateway::jobs::finance_reminders_on(app.db.clone(), day)
    );
    let written = a.unwrap() + b.unwrap();
    // Installment 1 due soon, installment 2 overdue (and the demo's own, for rep1); the
    // contract ends 2027-12-31, far off.
    assert!(written >= 2, "{written}");
    assert_eq!(
        guanxi_gateway::jobs::finance_reminders_on(app.db.clone(), day).await.unwrap(),
        0,
        "a rerun writes nothing"
    );
    let notices = app.gql(Some(&rep2), "{ myNotices { kind message occasion } }", json!({})).await;
    let mut kinds: Vec<&str> =
        notices["data"]["myNotices"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["CONTACT_BIRTHDAY", "INSTALLMENT_DUE", "INSTALLMENT_OVERDUE"], "{notices}");
    // A later day brings the next: installment 1 is now overdue too.
    let later = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
    guanxi_gateway::jobs::finance_reminders_on(app.db.clone(), later).await.unwrap();
    let notices = app.gql(Some(&rep2), "{ myNotices { kind } }", json!({})).await;
    assert_eq!(notices["data"]["myNotices"].as_array().unwrap().len(), 4, "{notices}");
    let manager = app.login("manager@demo.local").await;
    let theirs = app.gql(Some(&manager), "{ myNotices { kind } }", json!({})).await;
    assert_eq!(theirs["data"]["myNotices"], json!([]), "reminders go to the owner only");
}

#[tokio::test]
async fn contract_lists_cost_the_same_statements_for_one_or_many() {
    let app = spawn_demo().await;
    let by = approvers(&app).await;
    let rep2 = app.login("rep2@demo.local").await;
    let query = json!({"query": format!("{{ contracts(first: 50) {{ nodes {{ {CONTRACT} customer {{ name }} owner {{ email }} }} }} }}")});
    approved(&app, &rep2, &by, "100", &[("100", "2026-03-01")]).await;
    let (one, body) = app.fewest_statements(Some(&rep2), &query).await;
    assert_eq!(body["data"]["contracts"]["nodes"].as_array().unwrap().len(), 1, "{body}");
    for _ in 0..5 {
        approved(&app, &rep2, &by, "300", &[("100", "2026-03-01"), ("200", "2026-04-01")]).await;
    }
    let (many, body) = app.fewest_statements(Some(&rep2), &query).await;
    assert_eq!(body["data"]["contracts"]["nodes"].as_array().unwrap().len(), 6);
    assert_eq!(one, many, "statements for 1 and 6 contracts");
}

#[tokio::test]
async fn a_notification_arrives_when_a_task_is_assigned() {
    let app = spawn_demo().await;
    let (admin, rep2) = (app.login("admin@demo.local").await, app.login("rep2@demo.local").await);
    flow(
        &app,
        &admin,
        "CONTRACT",
        json!([{"name": "主管", "mode": "ANY", "approvers": [{"kind": "MANAGER", "levels": 1}]}]),
    )
    .await;
    let manager = app.login("manager@demo.local").await;
    let mut socket = subscribe(
        &app,
        &manager,
        "subscription { approvalAssigned { kind step document { ... on Contract { number } } } }",
    )
    .await;
    let contract = submit(&app, &rep2, &draft(&app, &rep2, "10", &[("10", "2026-03-01")]).await).await;
    let event = next_event(&mut socket).await;
    assert_eq!(event["approvalAssigned"]["document"]["number"], contract["number"], "{event}");
}

#[tokio::test]
async fn the_360_view_and_the_work_log_show_contract_money_at_a_fixed_cost() {
    // Some 800 requests from one user: past the default rate limit.
    let app = spawn_with(|c| c.limits.requests_per_minute = 0).await;
    guanxi_gateway::seed::seed_demo(&app.db).await.unwrap();
    let by = approvers(&app).await;
    let (rep2, rep1) = (app.login("rep2@demo.local").await, app.login("rep1@demo.local").await);
    let customer_id = customer(&app, &rep2, JINLING).await;
    let view = json!({"query": "query($id: ID!) { customer360(id: $id) { summary { contractCount signedAmount { amount } \
        receivedAmount { amount } outstandingReceivables { amount } invoicedAmount { amount } } \
        contracts(first: 5) { totalCount nodes { number installments { dueOn } lines { productName } invoices { number status } } } \
        invoices(first: 5) { totalCount nodes { number amount { amount } contract { number } } } billingProfiles { id } \
        nextInstallment { installment { dueOn outstanding { amount } } contract { number } } } }", "variables": {"id": customer_id}});
    let profile = json!({"customerId": customer_id, "profile": {"titleKind": "PERSON", "title": "王建国"}});
    let profile = ok(&app, &rep2, PROFILE_MUTATION, profile, ("createBillingProfile", "billingProfile")).await;
    let ask = invoice_mutation("requestInvoice", "RequestInvoiceInput");
    let invoice = |contract: &Value| json!({"contractId": contract["id"], "profileId": profile["id"], "vatKind": "ORDINARY", "rate": "VAT_6", "amount": "10"});
    let first = approved(&app, &rep2, &by, "1000", &[("400", "2026-01-10"), ("600", "2026-05-10")]).await;
    ok(
        &app,
        &rep2,
        RECEIPT_MUTATION,
        json!({"contractId": first["id"], "receivedOn": "2026-01-10", "method": "ALIPAY", "amount": "250"}),
        ("createReceipt", "receipt"),
    )
    .await;
    ok(&app, &rep2, &ask, invoice(&first), ("requestInvoice", "invoice")).await;
    let (one, body) = app.fewest_statements(Some(&rep2), &view).await;
    assert_eq!(body["data"]["customer360"]["invoices"]["totalCount"], 1, "{body}");
    let v = &body["data"]["customer360"];
    assert_eq!(v["summary"]["contractCount"], 1, "{body}");
    assert_eq!(
        (v["summary"]["signedAmount"]["amount"].as_str(), v["summary"]["receivedAmount"]["amount"].as_str()),
        (Some("1000.00"), Some("250.00"))
    );
    assert_eq!(v["summary"]["outstandingReceivables"]["amount"], "750.00");
    assert_eq!(v["nextInstallment"]["installment"]["dueOn"], "2026-01-10");
    assert_eq!(v["nextInstallment"]["installment"]["outstanding"]["amount"], "150.00");
    // 199 more contracts: the view costs the same statements.
    let creates = (0..199).map(|_| approved(&app, &rep2, &by, "10", &[("10", "2027-01-01")]));
    let more: Vec<Value> =
        futures::StreamExt::collect(futures::StreamExt::buffer_unordered(futures::stream::iter(creates), 20)).await;
    // …and an invoice on twenty of them.
    for contract in more.iter().take(20) {
        ok(&app, &rep2, &ask, invoice(contract), ("requestInvoice", "invoice")).await;
    }
    let (many, body) = app.fewest_statements(Some(&rep2), &view).await;
    assert_eq!(body["data"]["customer360"]["summary"]["contractCount"], 200, "{body}");
    assert_eq!(body["data"]["customer360"]["contracts"]["totalCount"], 200);
    assert_eq!(body["data"]["customer360"]["invoices"]["totalCount"], 21);
    assert_eq!(one, many, "statements for 1 and 200 contracts, 1 and 21 invoices");
    // Another rep sees no money on a customer outside their scope.
    let body = app.post(Some(&rep1), &view).await.body;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    // The work log counts the contracts approved in the window, with the drill-down.
    let rep2_id = app.user_id(&app.login("admin@demo.local").await, "rep2@demo.local").await;
    let from = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let to = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let log = app
        .gql(
            Some(&rep2),
            "query($u: ID!, $f: DateTime!, $t: DateTime!) { workLog(subject: {userId: $u}, from: $f, to: $t, granularity: MONTH) { \
             newContracts { count amount { amount } records(first: 1) { totalCount } } } }",
            json!({"u": rep2_id, "f": from, "t": to}),
        )
        .await;
    let periods = log["data"]["workLog"].as_array().unwrap_or_else(|| panic!("{log}"));
    let count: i64 = periods.iter().map(|p| p["newContracts"]["count"].as_i64().unwrap()).sum();
    assert_eq!(count, 200, "{log}");
    let listed: i64 = periods.iter().map(|p| p["newContracts"]["records"]["totalCount"].as_i64().unwrap()).sum();
    assert_eq!(listed, 200);
}

#[tokio::test]
async fn advances_are_refused_until_the_tenant_allows_them() {
    let app = spawn_demo().await;
    let by = approvers(&app).await;
    let (admin, rep2) = (app.login("admin@demo.local").await, app.login("rep2@demo.local").await);
    let contract = approved(&app, &rep2, &by, "100", &[("100", "2026-03-01")]).await;
    let pay =
        json!({"contractId": contract["id"], "receivedOn": "2026-02-01", "method": "WECHAT_PAY", "amount": "130"});
    let (codes, _) = refused(&app, &rep2, RECEIPT_MUTATION, pay.clone(), "createReceipt").await;
    assert_eq!(codes, ["INVALID"]);
    let settings = "mutation($i: UpdateSettingsInput!) { updateTenantSettings(input: $i) { settings { allowAdvanceReceipts installmentRemindDays } userErrors { field code } } }";
    let bad = app.gql(Some(&admin), settings, json!({"i": {"installmentRemindDays": 400}})).await;
    assert_eq!(user_error_codes(&bad["data"]["updateTenantSettings"]), ["INVALID"], "{bad}");
    let set =
        app.gql(Some(&admin), settings, json!({"i": {"allowAdvanceReceipts": true, "installmentRemindDays": 7}})).await;
    assert_eq!(set["data"]["updateTenantSettings"]["settings"]["allowAdvanceReceipts"], true, "{set}");
    let receipt = ok(&app, &rep2, RECEIPT_MUTATION, pay, ("createReceipt", "receipt")).await;
    assert_eq!(receipt["advance"]["amount"], "30.00");
    let after = read_contract(&app, &rep2, contract["id"].as_str().unwrap()).await;
    assert_eq!(
        (after["received"]["amount"].as_str(), after["outstanding"]["amount"].as_str()),
        (Some("130.00"), Some("0.00"))
    );
    assert_eq!(after["installments"][0]["status"], "RECEIVED");
}

#[tokio::test]
async fn my_todos_bring_approvals_installments_due_and_contracts_ending() {
    let app = spawn_demo().await;
    let by = approvers(&app).await;
    let (admin, rep1, rep2) =
        (app.login("admin@demo.local").await, app.login("rep1@demo.local").await, app.login("rep2@demo.local").await);
    let today = chrono::Utc::now().date_naive();
    let day = |n: i64| (today + chrono::Duration::days(n)).to_string();
    // Due in two days (within the default three-day lead), overdue, and far off.
    let (soon, late, later) = (day(2), day(-5), day(60));
    approved(&app, &rep2, &by, "300", &[("100", late.as_str()), ("100", soon.as_str()), ("100", later.as_str())]).await;
    // A contact of rep2 whose birthday is in two days (Asia/Shanghai), and one in a month.
    let shanghai = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    // Born in a leap year, so every month-day exists.
    let born = |n: i64| (shanghai + chrono::Duration::days(n)).format("1984-%m-%d").to_string();
    let jinling = customer(&app, &rep2, JINLING).await;
    let contact =
        "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } userErrors { code } } }";
    for (name, birthday) in [("周敏", born(2)), ("吴涛", born(30))] {
        let input = json!({"customerId": jinling, "name": name, "birthday": birthday});
        ok(&app, &rep2, contact, input, ("createContact", "contact")).await;
    }
    let todos = "{ myTodos { approvalsWaiting { document { ... on Contract { title } } } \
        installmentsDue { installment { dueOn } bucket } contractsExpiring { title endsOn } \
        birthdays { contact { name } daysAway } } }";
    let body = app.gql(Some(&rep2), todos, json!({})).await;
    let due: Vec<&str> = body["data"]["myTodos"]["installmentsDue"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|i| i["installment"]["dueOn"].as_str().unwrap())
        .collect();
    assert_eq!(due, [late.as_str(), soon.as_str()], "{body}");
    assert_eq!(body["data"]["myTodos"]["approvalsWaiting"], json!([]));
    let birthdays = &body["data"]["myTodos"]["birthdays"];
    assert_eq!(birthdays[0]["contact"]["name"], "周敏", "{body}");
    assert_eq!(birthdays.as_array().map(Vec::len), Some(1), "{body}");
    // Two days away, but for a 29 February birthday in a year without one (kept on the 28th).
    let days_away = birthdays[0]["daysAway"].as_i64().unwrap();
    assert!(days_away == 2 || (born(2).ends_with("02-29") && days_away == 1), "{body}");
    // Another rep's list does not show rep2's contacts.
    let body = app.gql(Some(&rep1), todos, json!({})).await;
    assert!(!body["data"]["myTodos"]["birthdays"].to_string().contains("周敏"), "{body}");
    // The manager's list holds the demo contract waiting on them.
    let body = app.gql(Some(&by.manager), todos, json!({})).await;
    let waiting = body["data"]["myTodos"]["approvalsWaiting"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert!(waiting.iter().any(|t| t["document"]["title"] == "SMT 产线扩容合同"), "{body}");
    // The demo's approved contract of rep1 ends in 275 days: within a 365-day lead only.
    let body = app.gql(Some(&rep1), todos, json!({})).await;
    assert_eq!(body["data"]["myTodos"]["contractsExpiring"], json!([]), "{body}");
    let settings = "mutation($i: UpdateSettingsInput!) { updateTenantSettings(input: $i) { userErrors { code } } }";
    app.gql(Some(&admin), settings, json!({"i": {"contractExpiryRemindDays": 365}})).await;
    let body = app.gql(Some(&rep1), todos, json!({})).await;
    assert_eq!(body["data"]["myTodos"]["contractsExpiring"][0]["title"], "数控机床升级供货合同", "{body}");
}

const PROFILE_MUTATION: &str = "mutation($i: CreateBillingProfileInput!) { createBillingProfile(input: $i) { billingProfile { id isDefault version title { titleKind title taxNumber } } userErrors { field code message } } }";
const INVOICE: &str = "id number status amount { amount } tax { amount } net { amount } invoiceNumber issuedOn \
    vatKind rate title { title taxNumber } version approval { id status }";

fn invoice_mutation(name: &str, input: &str) -> String {
    format!(
        "mutation($i: {input}!) {{ {name}(input: $i) {{ invoice {{ {INVOICE} }} userErrors {{ field code message }} }} }}"
    )
}

fn organisation(customer: &str) -> Value {
    json!({"customerId": customer, "profile": {"titleKind": "ORGANISATION", "title": "南京金陵商贸有限公司",
        "taxNumber": "91320100MA1K4XXXX0", "bank": "中国工商银行南京新街口支行", "account": "4301 0123 4567 8901",
        "address": "南京市玄武区中山路 1 号", "phone": "025-84561234"}})
}

#[tokio::test]
async fn invoices_are_approved_issued_and_voided_and_never_pass_the_contract() {
    let app = spawn_demo().await;
    let by = approvers(&app).await;
    let (admin, rep2, rep1) =
        (app.login("admin@demo.local").await, app.login("rep2@demo.local").await, app.login("rep1@demo.local").await);
    let customer = customer(&app, &rep2, JINLING).await;
    // Billing profiles: bad input names every field and writes nothing.
    let bad =
        json!({"customerId": customer, "profile": {"titleKind": "ORGANISATION", "title": " ", "account": "12ab"}});
    let (codes, message) = refused(&app, &rep2, PROFILE_MUTATION, bad, "createBillingProfile").await;
    assert_eq!(codes, ["INVALID", "REQUIRED", "INVALID"], "{message}");
    // A tax number with a wrong check character is refused too.
    let mut wrong = organisation(&customer);
    wrong["profile"]["taxNumber"] = json!("91320100MA1K4XXXX1");
    let (codes, _) = refused(&app, &rep2, PROFILE_MUTATION, wrong, "createBillingProfile").await;
    assert_eq!(codes, ["INVALID"]);
    let mut org_input = organisation(&customer);
    // The check character is computed, not guessed.
    let code = guanxi_domain::customers::customer::TaxId::with_check_character("91320100MA1K4XXXX").unwrap();
    org_input["profile"]["taxNumber"] = json!(code.to_lowercase());
    let org = ok(&app, &rep2, PROFILE_MUTATION, org_input, ("createBillingProfile", "billingProfile")).await;
    assert_eq!((org["isDefault"].as_bool(), org["title"]["taxNumber"].as_str()), (Some(true), Some(code.as_str())));
    let person = json!({"customerId": customer, "profile": {"titleKind": "PERSON", "title": "王建国"}});
    let person = ok(&app, &rep2, PROFILE_MUTATION, person, ("createBillingProfile", "billingProfile")).await;
    assert_eq!(person["isDefault"], false);
    // Another rep sees neither the profiles nor the customer's invoices.
    let profiles = "query($c: ID!) { billingProfiles(customerId: $c) { id isDefault } }";
    let body = app.gql(Some(&rep1), profiles, json!({"c": customer})).await;
    assert_eq!(body["data"]["billingProfiles"], json!([]), "{body}");
    let body = app.gql(Some(&rep2), profiles, json!({"c": customer})).await;
    assert_eq!(body["data"]["billingProfiles"].as_array().map(Vec::len), Some(2), "{body}");

    // Invoice requests wait on finance.
    let finance_id = app.user_id(&admin, "finance@demo.local").await;
    flow(
        &app,
        &admin,
        "INVOICE",
        json!([{"name": "财务审核", "mode": "ANY", "approvers": [{"kind": "USER", "userId": finance_id}]}]),
    )
    .await;
    let contract = approved(&app, &rep2, &by, "1000.00", &[("1000", "2026-03-01")]).await;
    let request = |amount: &str, profile: &Value, kind: &str, key: &str| {
        json!({"contractId": contract["id"], "profileId": profile["id"], "vatKind": kind, "rate": "VAT_13",
               "amount": amount, "idempotencyKey": key})
    };
    let ask = invoice_mutation("requestInvoice", "RequestInvoiceInput");
    // A special invoice needs an organisation's title.
    let (codes, message) = refused(&app, &rep2, &ask, request("100", &person, "SPECIAL", "x1"), "requestInvoice").await;
    assert_eq!(codes, ["INVALID"], "{message}");
    assert!(message.contains("organisation"), "{message}");
    let first = ok(&app, &rep2, &ask, request("600", &org, "SPECIAL", "k1"), ("requestInvoice", "invoice")).await;
    assert_eq!((first["status"].as_str(), first["approval"]["status"].as_str()), (Some("REQUESTED"), Some("PENDING")));
    // 600 at 13 %: tax 69.0265… rounds half up to 69.03.
    assert_eq!((first["tax"]["amount"].as_str(), first["net"]["amount"].as_str()), (Some("69.03"), Some("530.97")));
    // A retry with the same key is the same request.
    let again = ok(&app, &rep2, &ask, request("600", &org, "SPECIAL", "k1"), ("requestInvoice", "invoice")).await;
    assert_eq!(again["id"], first["id"]);
    // Only 400 is left to invoice.
    let (codes, message) = refused(&app, &rep2, &ask, request("500", &org, "ORDINARY", "k2"), "requestInvoice").await;
    assert_eq!(codes, ["INVALID"]);
    assert!(message.contains("400 of 1000"), "{message}");
    let left =
        "query($id: ID!) { contract(id: $id) { invoiced { amount } leftToInvoice { amount } invoices { id status } } }";
    let body = app.gql(Some(&rep2), left, json!({"id": contract["id"]})).await;
    assert_eq!(body["data"]["contract"]["leftToInvoice"]["amount"], "400.00", "{body}");

    // The rep may not issue; finance approves and issues.
    let issue = invoice_mutation("issueInvoice", "IssueInvoiceInput");
    let body = app
        .gql(
            Some(&rep2),
            &issue,
            json!({"i": {"id": first["id"], "expectedVersion": 1, "invoiceNumber": "12345678",
            "issuedOn": "2026-03-02"}}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");
    act(&app, &by.finance, "approve", json!({"requestId": first["approval"]["id"]})).await;
    let read = format!("query($id: ID!) {{ invoice(id: $id) {{ {INVOICE} }} }}");
    let approved_invoice = app.gql(Some(&rep2), &read, json!({"id": first["id"]})).await["data"]["invoice"].clone();
    assert_eq!(approved_invoice["status"], "APPROVED");
    let issue_input = |number: &str, on: &str| json!({"id": first["id"], "expectedVersion": approved_invoice["version"], "invoiceNumber": number, "issuedOn": on});
    let (codes, _) = refused(&app, &by.finance, &issue, issue_input("1234", "2099-01-01"), "issueInvoice").await;
    assert_eq!(codes, ["INVALID", "INVALID"]);
    let issued =
        ok(&app, &by.finance, &issue, issue_input("12345678", "2026-03-02"), ("issueInvoice", "invoice")).await;
    assert_eq!((issued["status"].as_str(), issued["invoiceNumber"].as_str()), (Some("ISSUED"), Some("12345678")));

    // A rejected request gives its amount back.
    let second = ok(&app, &rep2, &ask, request("400", &person, "ORDINARY", "k3"), ("requestInvoice", "invoice")).await;
    let body = app.gql(Some(&rep2), left, json!({"id": contract["id"]})).await;
    assert_eq!(body["data"]["contract"]["leftToInvoice"]["amount"], "0.00", "{body}");
    act(&app, &by.finance, "rejectApproval", json!({"requestId": second["approval"]["id"], "comment": "抬头不对"}))
        .await;
    let body = app.gql(Some(&rep2), left, json!({"id": contract["id"]})).await;
    assert_eq!(body["data"]["contract"]["invoiced"]["amount"], "600.00", "{body}");
    let statuses: Vec<&str> = body["data"]["contract"]["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["REJECTED", "ISSUED"]);

    // The 360 view counts issued invoices; another rep sees none of it.
    let view = "query($id: ID!) { customer360(id: $id) { summary { invoicedAmount { amount } } invoices { totalCount } billingProfiles { id } } }";
    let body = app.gql(Some(&rep2), view, json!({"id": customer})).await;
    let card = &body["data"]["customer360"];
    assert_eq!(card["summary"]["invoicedAmount"]["amount"], "600.00", "{body}");
    assert_eq!(
        (card["invoices"]["totalCount"].as_i64(), card["billingProfiles"].as_array().map(Vec::len)),
        (Some(2), Some(2))
    );
    let body = app.gql(Some(&rep1), &read, json!({"id": first["id"]})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{body}");
    let body = app.gql(Some(&rep1), "query($id: ID!) { node(id: $id) { id } }", json!({"id": first["id"]})).await;
    assert_eq!(body["data"]["node"], Value::Null, "{body}");
    // rep1 sees the demo's invoices of their own customer, not these.
    let body = app.gql(Some(&rep1), "{ invoices(first: 50) { totalCount nodes { id } } }", json!({})).await;
    assert_eq!(body["data"]["invoices"]["totalCount"], 2, "{body}");
    assert!(!body.to_string().contains(first["id"].as_str().unwrap()), "{body}");
    let other = app.second_tenant("other-co").await;
    let body = app.gql(Some(&other), "{ invoices { totalCount } }", json!({})).await;
    assert_eq!(body["data"]["invoices"]["totalCount"], 0, "{body}");

    // A contract with invoices is not voided; voiding the invoice frees the amount.
    let void_contract = contract_action("voidContract");
    let current = read_contract(&app, &rep2, contract["id"].as_str().unwrap()).await;
    let input = json!({"id": contract["id"], "expectedVersion": current["version"], "reason": "客户取消"});
    let (codes, _) = refused(&app, &by.manager, &void_contract, input, "voidContract").await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);
    let void = invoice_mutation("voidInvoice", "VoidInvoiceInput");
    let input = json!({"id": first["id"], "expectedVersion": issued["version"], "reason": "开票信息有误，已红冲"});
    let voided = ok(&app, &by.finance, &void, input, ("voidInvoice", "invoice")).await;
    assert_eq!(voided["status"], "VOID");
    let body = app.gql(Some(&rep2), left, json!({"id": contract["id"]})).await;
    assert_eq!(body["data"]["contract"]["leftToInvoice"]["amount"], "1000.00", "{body}");
}

#[tokio::test]
async fn two_requests_racing_on_one_contract_never_pass_its_amount() {
    let app = spawn_demo().await;
    let by = approvers(&app).await;
    let rep2 = app.login("rep2@demo.local").await;
    let customer = customer(&app, &rep2, JINLING).await;
    let profile = ok(
        &app,
        &rep2,
        PROFILE_MUTATION,
        json!({"customerId": customer, "profile": {"titleKind": "PERSON", "title": "王建国"}}),
        ("createBillingProfile", "billingProfile"),
    )
    .await;
    let contract = approved(&app, &rep2, &by, "1000", &[("1000", "2026-03-01")]).await;
    let ask = invoice_mutation("requestInvoice", "RequestInvoiceInput");
    let input = |key: &str| {
        json!({"i": {"contractId": contract["id"], "profileId": profile["id"], "vatKind": "ORDINARY", "rate": "VAT_6",
               "amount": "700", "idempotencyKey": key}})
    };
    let (a, b) = tokio::join!(app.gql(Some(&rep2), &ask, input("a")), app.gql(Some(&rep2), &ask, input("b")));
    let made: Vec<&Value> =
        [&a, &b].into_iter().filter(|r| r["data"]["requestInvoice"]["invoice"].is_object()).collect();
    assert_eq!(made.len(), 1, "{a} {b}");
    let refusal = if made[0] == &a { &b } else { &a };
    assert_eq!(refusal["data"]["requestInvoice"]["userErrors"][0]["field"], "amount", "{refusal}");
    // The demo's invoice flow has finance check it; the amount is held meanwhile.
    assert_eq!(made[0]["data"]["requestInvoice"]["invoice"]["status"], "REQUESTED");
    let body = app
        .gql(
            Some(&rep2),
            "query($id: ID!) { contract(id: $id) { invoiced { amount } } }",
            json!({"id": contract["id"]}),
        )
        .await;
    assert_eq!(body["data"]["contract"]["invoiced"]["amount"], "700.00", "{body}");
}

#[tokio::test]
async fn a_revision_replaces_an_approved_contract_and_takes_its_money_over() {
    let app = spawn_demo().await;
    let by = approvers(&app).await;
    let (rep2, rep1) = (app.login("rep2@demo.local").await, app.login("rep1@demo.local").await);
    let old = approved(&app, &rep2, &by, "1000.00", &[("500", "2026-02-01"), ("500", "2026-06-01")]).await;
    let pay = json!({"contractId": old["id"], "receivedOn": "2026-02-10", "method": "BANK_TRANSFER", "amount": "600"});
    let receipt = ok(&app, &rep2, RECEIPT_MUTATION, pay, ("createReceipt", "receipt")).await;
    let customer_id = customer(&app, &rep2, JINLING).await;
    let profile = json!({"customerId": customer_id, "profile": {"titleKind": "PERSON", "title": "王建国"}});
    let profile = ok(&app, &rep2, PROFILE_MUTATION, profile, ("createBillingProfile", "billingProfile")).await;
    let ask = json!({"contractId": old["id"], "profileId": profile["id"], "vatKind": "ORDINARY", "rate": "VAT_13", "amount": "300"});
    ok(&app, &rep2, &invoice_mutation("requestInvoice", "RequestInvoiceInput"), ask, ("requestInvoice", "invoice"))
        .await;

    let old = read_contract(&app, &rep2, old["id"].as_str().unwrap()).await;
    let revise = "mutation($i: ContractActionInput!) { reviseContract(input: $i) { contract { id number revision status version revises { id } } userErrors { field code message } } }";
    let input = json!({"id": old["id"], "expectedVersion": old["version"]});
    let first_try = ok(&app, &rep2, revise, input.clone(), ("reviseContract", "contract")).await;
    assert_eq!((first_try["revision"].as_i64(), first_try["status"].as_str()), (Some(2), Some("DRAFT")), "{first_try}");
    assert_eq!((&first_try["number"], &first_try["revises"]["id"]), (&old["number"], &old["id"]));
    let (codes, message) = refused(&app, &rep2, revise, input.clone(), "reviseContract").await;
    assert_eq!(codes, ["ILLEGAL_STATE"], "one revision at a time: {message}");
    // While it is under way the contract is neither completed nor voided.
    let complete = json!({"id": old["id"], "expectedVersion": old["version"]});
    let (codes, message) =
        refused(&app, &rep2, &contract_action("completeContract"), complete, "completeContract").await;
    assert_eq!(codes, ["ILLEGAL_STATE"], "{message}");
    // A deleted revision keeps its number: the next one is revision 3.
    let drop = json!({"id": first_try["id"], "expectedVersion": first_try["version"]});
    ok(&app, &rep2, &contract_action("deleteContract"), drop, ("deleteContract", "contract")).await;
    let draft = ok(&app, &rep2, revise, input, ("reviseContract", "contract")).await;
    assert_eq!(draft["revision"], 3, "{draft}");

    // Less than was received is refused when submitted, naming the amount.
    let update = format!(
        "mutation($i: UpdateContractInput!) {{ updateContract(input: $i) {{ contract {{ {CONTRACT} }} userErrors {{ field code message }} }} }}"
    );
    let edit = |amount: &str, version: &Value, plan: Value| {
        json!({"id": draft["id"], "expectedVersion": version, "installments": plan,
               "contract": {"title": "数控机床供货合同（变更）", "customerId": customer_id, "amount": amount,
                            "signedOn": "2026-01-05", "endsOn": "2027-12-31"}})
    };
    let small = ok(
        &app,
        &rep2,
        &update,
        edit("500", &draft["version"], json!([{"amount": "500", "dueOn": "2026-02-01"}])),
        ("updateContract", "contract"),
    )
    .await;
    let (codes, message) = refused(
        &app,
        &rep2,
        &contract_action("submitContract"),
        json!({"id": small["id"], "expectedVersion": small["version"]}),
        "submitContract",
    )
    .await;
    assert_eq!(codes, ["INVALID"]);
    assert!(message.contains("600 was already received"), "{message}");
    let plan = json!([{"amount": "500", "dueOn": "2026-02-01"}, {"amount": "700", "dueOn": "2026-09-01"}]);
    let bigger = ok(&app, &rep2, &update, edit("1200", &small["version"], plan), ("updateContract", "contract")).await;
    let pending = submit(&app, &rep2, &bigger).await;
    assert_eq!(pending["status"], "PENDING_APPROVAL");
    // Until the revision is approved, the contract stays in force.
    assert_eq!(read_contract(&app, &rep2, old["id"].as_str().unwrap()).await["status"], "APPROVED");
    for approver in [&by.manager, &by.finance] {
        act(&app, approver, "approve", json!({"requestId": pending["approval"]["id"]})).await;
    }

    let replaced = read_contract(&app, &rep2, old["id"].as_str().unwrap()).await;
    assert_eq!(replaced["status"], "SUPERSEDED", "{replaced}");
    assert_eq!(replaced["received"]["amount"], "0.00");
    assert!(replaced["installments"].as_array().unwrap().iter().all(|i| i["status"] == "VOID"), "{replaced}");
    let current = read_contract(&app, &rep2, draft["id"].as_str().unwrap()).await;
    assert_eq!(current["status"], "APPROVED", "{current}");
    assert_eq!(
        (current["received"]["amount"].as_str(), current["outstanding"]["amount"].as_str()),
        (Some("600.00"), Some("600.00"))
    );
    let received: Vec<&str> =
        current["installments"].as_array().unwrap().iter().map(|i| i["received"]["amount"].as_str().unwrap()).collect();
    assert_eq!(received, ["500.00", "100.00"], "{current}");
    let money = "query($id: ID!) { contract(id: $id) { invoiced { amount } invoices { amount { amount } } } receipts(filter: {contractId: $id}) { totalCount } }";
    let body = app.gql(Some(&rep2), money, json!({"id": draft["id"]})).await;
    assert_eq!(body["data"]["contract"]["invoiced"]["amount"], "300.00", "{body}");
    assert_eq!(body["data"]["receipts"]["totalCount"], 1, "{body}");
    // A red entry on the moved receipt gives the money back to the new plan.
    let reverse = "mutation($i: ReverseReceiptInput!) { reverseReceipt(input: $i) { receipt { status } userErrors { code message } } }";
    let body =
        app.gql(Some(&rep2), "query($id: ID!) { receipt(id: $id) { version } }", json!({"id": receipt["id"]})).await;
    let input = json!({"id": receipt["id"], "expectedVersion": body["data"]["receipt"]["version"], "reason": "退票"});
    ok(&app, &rep2, reverse, input, ("reverseReceipt", "receipt")).await;
    let current = read_contract(&app, &rep2, draft["id"].as_str().unwrap()).await;
    let received: Vec<&str> =
        current["installments"].as_array().unwrap().iter().map(|i| i["received"]["amount"].as_str().unwrap()).collect();
    assert_eq!((current["received"]["amount"].as_str(), received), (Some("0.00"), vec!["0.00", "0.00"]));
    // The superseded one is read-only; another rep sees neither.
    let (codes, _) = refused(
        &app,
        &rep2,
        &contract_action("completeContract"),
        json!({"id": replaced["id"], "expectedVersion": replaced["version"]}),
        "completeContract",
    )
    .await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);
    assert!(read_contract(&app, &rep1, draft["id"].as_str().unwrap()).await.is_null());
}

#[tokio::test]
async fn contract_lines_set_the_amount_and_carry_into_a_revision() {
    let app = spawn_demo().await;
    let by = approvers(&app).await;
    let rep2 = app.login("rep2@demo.local").await;
    let body = app.gql(Some(&rep2), "{ products(first: 2, filter: {active: true}) { nodes { id } } }", json!({})).await;
    let products: Vec<Value> =
        body["data"]["products"]["nodes"].as_array().unwrap().iter().map(|p| p["id"].clone()).collect();
    assert_eq!(products.len(), 2, "{body}");
    let contract = draft(&app, &rep2, "1", &[]).await;
    let set = format!(
        "mutation($i: SetContractLinesInput!) {{ setContractLines(input: $i) {{ contract {{ {CONTRACT} lines {{ productName quantity amount {{ amount }} }} }} userErrors {{ field code message }} }} }}"
    );
    let lines = json!([{"productId": products[0], "quantity": "2"}, {"productId": products[1], "quantity": "1", "unitPrice": "1000"}]);
    // A product that does not exist is named by its line; nothing changes.
    let bad = json!([{"productId": base64_id("Product", &uuid::Uuid::now_v7().to_string()), "quantity": "1"}]);
    let (codes, message) = refused(
        &app,
        &rep2,
        &set,
        json!({"id": contract["id"], "expectedVersion": contract["version"], "lines": bad}),
        "setContractLines",
    )
    .await;
    assert_eq!(codes, ["NOT_FOUND"], "{message}");
    let with_lines = ok(
        &app,
        &rep2,
        &set,
        json!({"id": contract["id"], "expectedVersion": contract["version"], "lines": lines}),
        ("setContractLines", "contract"),
    )
    .await;
    let line_total: rust_decimal::Decimal = with_lines["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount"]["amount"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap())
        .sum();
    let amount = with_lines["amount"]["amount"].as_str().unwrap().to_owned();
    assert_eq!(amount.parse::<rust_decimal::Decimal>().unwrap(), line_total, "{with_lines}");
    // The amount follows the lines: editing it by hand is refused; the plan must match it.
    let update = format!(
        "mutation($i: UpdateContractInput!) {{ updateContract(input: $i) {{ contract {{ {CONTRACT} }} userErrors {{ field code message }} }} }}"
    );
    let customer_id = customer(&app, &rep2, JINLING).await;
    let edit = |amount: &str| {
        json!({"id": contract["id"], "expectedVersion": with_lines["version"], "installments": [{"amount": amount, "dueOn": "2026-03-01"}],
               "contract": {"title": "数控机床供货合同", "customerId": customer_id, "amount": amount, "signedOn": "2026-01-05"}})
    };
    let (codes, _) = refused(&app, &rep2, &update, edit("99999"), "updateContract").await;
    assert_eq!(codes, ["INVALID"]);
    let planned = ok(&app, &rep2, &update, edit(&amount), ("updateContract", "contract")).await;
    let pending = submit(&app, &rep2, &planned).await;
    for approver in [&by.manager, &by.finance] {
        act(&app, approver, "approve", json!({"requestId": pending["approval"]["id"]})).await;
    }
    let approved = read_contract(&app, &rep2, contract["id"].as_str().unwrap()).await;
    assert_eq!(approved["status"], "APPROVED");
    // An approved contract's lines are locked; a revision carries them.
    let input = json!({"id": contract["id"], "expectedVersion": approved["version"], "lines": []});
    let (codes, _) = refused(&app, &rep2, &set, input, "setContractLines").await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);
    let revise = "mutation($i: ContractActionInput!) { reviseContract(input: $i) { contract { id amount { amount } lines { productName quantity } } userErrors { code } } }";
    let revision = ok(
        &app,
        &rep2,
        revise,
        json!({"id": contract["id"], "expectedVersion": approved["version"]}),
        ("reviseContract", "contract"),
    )
    .await;
    assert_eq!(revision["amount"]["amount"], approved["amount"]["amount"]);
    let names: Vec<&Value> = revision["lines"].as_array().unwrap().iter().map(|l| &l["productName"]).collect();
    let originals: Vec<&Value> = with_lines["lines"].as_array().unwrap().iter().map(|l| &l["productName"]).collect();
    assert_eq!(names, originals);
}

#[tokio::test]
async fn an_administrator_hands_on_a_stuck_task_and_cancels_a_request() {
    let app = spawn_demo().await;
    let by = approvers(&app).await;
    let (admin, rep1) = (app.login("admin@demo.local").await, app.login("rep1@demo.local").await);
    let (manager_id, admin_id) =
        (app.user_id(&admin, "manager@demo.local").await, app.user_id(&admin, "admin@demo.local").await);
    // The demo's 恒信 contract waits on the manager.
    let body = app
        .gql(
            Some(&rep1),
            "{ contracts(filter: {status: [PENDING_APPROVAL]}) { nodes { id title approval { id } } } }",
            json!({}),
        )
        .await;
    let contract = body["data"]["contracts"]["nodes"][0].clone();
    assert_eq!(contract["title"], "SMT 产线扩容合同", "{body}");
    let request = contract["approval"]["id"].clone();
    let reassign = "mutation($i: ReassignApprovalInput!) { reassignApproval(input: $i) { request { status } userErrors { field code message } } }";
    let input = json!({"requestId": request, "fromUserId": manager_id, "toUserId": admin_id, "comment": "李娜休假"});
    // Only `approval.manage` may act in someone's place.
    let body = app.gql(Some(&rep1), reassign, json!({"i": input.clone()})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    // Only a task that waits in the request is handed on.
    let mut wrong = input.clone();
    wrong["fromUserId"] = json!(admin_id);
    let (codes, _) = refused(&app, &admin, reassign, wrong, "reassignApproval").await;
    assert_eq!(codes, ["INVALID"]);
    ok(&app, &admin, reassign, input, ("reassignApproval", "request")).await;
    let queue = "{ myApprovals { nodes { document { ... on Contract { title } } } } }";
    let mine = app.gql(Some(&admin), queue, json!({})).await;
    assert!(mine.to_string().contains("SMT 产线扩容合同"), "{mine}");
    let theirs = app.gql(Some(&by.manager), queue, json!({})).await;
    assert!(!theirs.to_string().contains("SMT 产线扩容合同"), "{theirs}");
    // Cancelling needs a reason, then the contract goes back to its rep.
    let cancel = "mutation($i: CancelApprovalInput!) { cancelApproval(input: $i) { request { status } userErrors { field code message } } }";
    let (codes, _) = refused(&app, &admin, cancel, json!({"requestId": request}), "cancelApproval").await;
    assert_eq!(codes, ["REQUIRED"]);
    let done = ok(
        &app,
        &admin,
        cancel,
        json!({"requestId": request, "comment": "客户暂停采购"}),
        ("cancelApproval", "request"),
    )
    .await;
    assert_eq!(done["status"], "WITHDRAWN");
    let after = read_contract(&app, &rep1, contract["id"].as_str().unwrap()).await;
    assert_eq!(after["status"], "WITHDRAWN", "{after}");
    assert_eq!(actions(&after), ["SUBMIT", "DELEGATE", "WITHDRAW"], "{after}");
    // The history names the administrator who acted.
    let me = app.gql(Some(&admin), "{ me { displayName } }", json!({})).await;
    assert_eq!(after["approvalHistory"][1]["actor"]["displayName"], me["data"]["me"]["displayName"], "{after}");
    // …and in whose place: the manager's task, the rep's request.
    let history = "query($id: ID!) { contract(id: $id) { approvalHistory { action onBehalfOf { displayName } } } }";
    let body = app.gql(Some(&rep1), history, json!({"id": contract["id"]})).await;
    let places: Vec<&Value> = body["data"]["contract"]["approvalHistory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| &h["onBehalfOf"]["displayName"])
        .collect();
    assert_eq!(places, [&Value::Null, &json!("李娜"), &json!("王磊")], "{body}");
}
