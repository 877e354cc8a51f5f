//! Bulk upsert by external key, over HTTP: creates, updates and unchanged rows by
//! `(source, externalId)`, row failures under PARTIAL and ALL_OR_NOTHING, references by
//! key, the duplicate rule, idempotent retries, data scope and tenants, and statements
//! that do not grow with the rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const CUSTOMERS: &str = "mutation($i: UpsertCustomersInput!) { upsertCustomers(input: $i) {
    results { index externalId outcome id userErrors { field code message } }
    createdCount updatedCount unchangedCount failedCount skippedCount userErrors { code message } } }";

const FIND: &str = "query($n: String!) { customers(first: 5, filter: {name: {eq: $n}}) {
    nodes { id name version mainPhone level customerNumber owner { email } parent { name }
            externalKeys { source externalId } } } }";

async fn upsert(app: &TestApp, token: &str, input: Value) -> Value {
    let body = app.gql(Some(token), CUSTOMERS, json!({"i": input})).await;
    let payload = body["data"]["upsertCustomers"].clone();
    assert!(payload.is_object(), "{body}");
    payload
}

fn outcomes(payload: &Value) -> Vec<String> {
    payload["results"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap().to_owned()).collect()
}

async fn found(app: &TestApp, token: &str, name: &str) -> Vec<Value> {
    let body = app.gql(Some(token), FIND, json!({"n": name})).await;
    body["data"]["customers"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}")).clone()
}

fn erp(key: &str, name: &str) -> Value {
    json!({"externalId": key, "name": name, "mainPhone": "021-55550101", "level": "A"})
}

#[tokio::test]
async fn customers_are_created_updated_and_left_unchanged_by_their_external_keys() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.user_id(&admin, "rep1@demo.local").await;

    let first = json!({"source": "kingdee", "records": [
        erp("K-001", "同步测试集团有限公司"),
        {"externalId": "K-002", "name": "同步测试分公司甲", "parentExternalId": "K-000"},
        {"externalId": "K-003", "name": "同步测试乙贸易有限公司", "ownerId": rep1, "customFields": {}},
    ]});
    // K-000 is not stored yet: that row fails, the others are written (PARTIAL).
    let payload = upsert(&app, &admin, first).await;
    assert_eq!(outcomes(&payload), ["CREATED", "FAILED", "CREATED"], "{payload}");
    assert_eq!(payload["results"][1]["userErrors"][0]["field"], "parentExternalId", "{payload}");
    assert_eq!((payload["createdCount"].as_i64(), payload["failedCount"].as_i64()), (Some(2), Some(1)));
    let group = found(&app, &admin, "同步测试集团有限公司").await;
    assert_eq!(group.len(), 1);
    assert_eq!(group[0]["id"], payload["results"][0]["id"]);
    assert!(group[0]["customerNumber"].as_str().unwrap().starts_with("KH"), "numbered: {group:?}");
    assert_eq!(group[0]["owner"]["email"], "admin@demo.local", "a new customer defaults to the caller");
    assert_eq!(group[0]["externalKeys"], json!([{"source": "kingdee", "externalId": "K-001"}]));
    assert_eq!(found(&app, &admin, "同步测试乙贸易有限公司").await[0]["owner"]["email"], "rep1@demo.local");
    // Search finds it by its tokens, as one typed in would be.
    let body = app
        .gql(Some(&admin), "{ customers(first: 5, filter: {search: \"同步测试集团\"}) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(body["data"]["customers"]["nodes"][0]["id"], group[0]["id"], "{body}");

    // Again, with the parent now by key and one field changed: one update, one create,
    // the rest unchanged (no version bumped).
    let second = json!({"source": "kingdee", "records": [
        erp("K-001", "同步测试集团有限公司"),
        {"externalId": "K-002", "name": "同步测试分公司甲", "parentExternalId": "K-001"},
        {"externalId": "K-003", "level": "B"},
    ]});
    let payload = upsert(&app, &admin, second.clone()).await;
    assert_eq!(outcomes(&payload), ["UNCHANGED", "CREATED", "UPDATED"], "{payload}");
    assert_eq!(found(&app, &admin, "同步测试集团有限公司").await[0]["version"], 1);
    let branch = found(&app, &admin, "同步测试分公司甲").await;
    assert_eq!(branch[0]["parent"]["name"], "同步测试集团有限公司");
    let trader = found(&app, &admin, "同步测试乙贸易有限公司").await;
    assert_eq!((trader[0]["level"].as_str(), trader[0]["version"].as_i64()), (Some("B"), Some(2)));
    assert_eq!(trader[0]["owner"]["email"], "rep1@demo.local", "an update leaves the owner alone");

    // The same call once more writes nothing at all.
    let payload = upsert(&app, &admin, second).await;
    assert_eq!(outcomes(&payload), ["UNCHANGED", "UNCHANGED", "UNCHANGED"], "{payload}");
    let history = "query($id: ID!) { history(id: $id, first: 20) { nodes { operation } } }";
    let body = app.gql(Some(&admin), history, json!({"id": trader[0]["id"]})).await;
    let ops: Vec<&str> = body["data"]["history"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|n| n["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops.iter().filter(|o| **o == "CREATE").count(), 1, "{body}");
    assert_eq!(ops.iter().filter(|o| **o == "UPDATE").count(), 1, "one change event per real change: {body}");

    // No loop in the tree, whether through stored parents or through the call's own rows.
    let payload = upsert(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [
        {"externalId": "K-001", "parentExternalId": " K-002 "}]}),
    )
    .await;
    assert_eq!(payload["results"][0]["userErrors"][0]["code"], "CYCLE", "padded keys are trimmed: {payload}");
    upsert(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [
        {"externalId": "L-1", "name": "环甲有限公司"}, {"externalId": "L-2", "name": "环乙有限公司"}]}),
    )
    .await;
    let payload = upsert(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [
        {"externalId": "L-1", "parentExternalId": "L-2"}, {"externalId": "L-2", "parentExternalId": "L-1"}]}),
    )
    .await;
    assert_eq!(outcomes(&payload)[1], "FAILED", "{payload}");
    assert_eq!(payload["results"][1]["userErrors"][0]["code"], "CYCLE", "{payload}");
    let parents = [found(&app, &admin, "环甲有限公司").await, found(&app, &admin, "环乙有限公司").await];
    assert!(parents.iter().any(|p| p[0]["parent"].is_null()), "no loop written: {parents:?}");

    // Another source's key is another key: the same code from the finance system is a
    // new customer, and the duplicate rule sees the phone it shares with K-001.
    let payload = upsert(&app, &admin, json!({"source": "u8", "records": [erp("K-001", "同步测试财务客户")]})).await;
    assert_eq!(outcomes(&payload), ["FAILED"], "{payload}");
    assert_eq!(payload["results"][0]["userErrors"][0]["code"], "DUPLICATE");
    let payload =
        upsert(&app, &admin, json!({"source": "u8", "records": [{"externalId": "K-001", "name": "同步测试财务客户"}]}))
            .await;
    assert_eq!(outcomes(&payload), ["CREATED"], "{payload}");
}

#[tokio::test]
async fn failed_rows_say_why_and_all_or_nothing_writes_none() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let taken = "query { customers(first: 1, filter: {name: {eq: \"上海明远机械制造有限公司\"}}) { nodes { taxId } } }";
    let body = app.gql(Some(&admin), taken, json!({})).await;
    let tax_id = body["data"]["customers"]["nodes"][0]["taxId"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();

    let records = json!([
        erp("E-1", "全有全无甲公司"),
        {"externalId": "E-2", "name": "全有全无乙公司", "mainPhone": "not a phone"},
        {"externalId": "E-1", "name": "重复键公司"},
        {"externalId": "E-3", "name": "全有全无丙公司", "taxId": tax_id},
        {"externalId": "   ", "name": "空键公司"},
        {"externalId": "E-4"},
    ]);
    let payload =
        upsert(&app, &admin, json!({"source": "erp", "mode": "ALL_OR_NOTHING", "records": records.clone()})).await;
    assert_eq!(outcomes(&payload), ["SKIPPED", "FAILED", "FAILED", "FAILED", "FAILED", "FAILED"], "{payload}");
    let error = |row: usize| {
        let e = &payload["results"][row]["userErrors"][0];
        (e["field"].as_str().unwrap_or("").to_owned(), e["code"].as_str().unwrap().to_owned())
    };
    assert_eq!(error(1), ("mainPhone".into(), "INVALID".into()));
    assert_eq!(error(2), ("externalId".into(), "DUPLICATE".into()));
    assert_eq!(error(3), ("taxId".into(), "DUPLICATE".into()), "a tax id names one company, whatever the policy");
    assert_eq!(error(4), ("externalId".into(), "INVALID".into()));
    assert_eq!(error(5), ("name".into(), "REQUIRED".into()), "{payload}");
    assert_eq!(payload["results"][0]["id"], Value::Null);
    assert!(found(&app, &admin, "全有全无甲公司").await.is_empty(), "nothing written");

    // PARTIAL writes the good row only.
    let payload = upsert(&app, &admin, json!({"source": "erp", "records": records})).await;
    assert_eq!(outcomes(&payload), ["CREATED", "FAILED", "FAILED", "FAILED", "FAILED", "FAILED"], "{payload}");
    assert_eq!(found(&app, &admin, "全有全无甲公司").await.len(), 1);

    // Two new rows naming one company in a call: the second is the duplicate (BLOCK on
    // a shared tax id; the WARN policy's name match unless confirmed).
    let twins = json!({"source": "erp", "records": [
        {"externalId": "T-1", "name": "孪生客户有限公司", "taxId": "91110108551385082Q"},
        {"externalId": "T-2", "name": "孪生客户有限公司"},
        {"externalId": "T-3", "name": "另一孪生公司", "taxId": "91110108551385082Q"},
    ]});
    let payload = upsert(&app, &admin, twins.clone()).await;
    assert_eq!(outcomes(&payload), ["CREATED", "FAILED", "FAILED"], "{payload}");
    assert_eq!(payload["results"][1]["userErrors"][0]["code"], "DUPLICATE");
    let mut confirmed = twins;
    confirmed["confirmDuplicates"] = json!(true);
    let payload = upsert(&app, &admin, confirmed).await;
    assert_eq!(outcomes(&payload), ["UNCHANGED", "CREATED", "FAILED"], "{payload}");
    assert_eq!(payload["results"][2]["userErrors"][0]["field"], "taxId");

    // A tax id one row moves away is free for a later row of the same call (the demo's
    // ERP knows 上海明远 as KD0001).
    let taken = "query { customers(first: 1, filter: {name: {eq: \"苏州恒信电子科技有限公司\"}}) { nodes { taxId } } }";
    let body = app.gql(Some(&admin), taken, json!({})).await;
    let second = body["data"]["customers"]["nodes"][0]["taxId"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let payload = upsert(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [
            {"externalId": "KD0002", "taxId": null},
            {"externalId": "KD0001", "taxId": second},
            {"externalId": "KD0100", "name": "接手税号有限公司", "taxId": tax_id},
        ]}),
    )
    .await;
    assert_eq!(outcomes(&payload), ["UPDATED", "UPDATED", "CREATED"], "{payload}");

    // The call as a whole: too many rows, a bad source.
    let many: Vec<Value> =
        (0..1001).map(|n| json!({"externalId": format!("M-{n}"), "name": format!("多{n}")})).collect();
    let body = app.gql(Some(&admin), CUSTOMERS, json!({"i": {"source": "erp", "records": many}})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    let body = app.gql(Some(&admin), CUSTOMERS, json!({"i": {"source": "金蝶", "records": []}})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn a_retried_call_answers_what_the_first_did_and_writes_nothing() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let input = json!({"source": "erp", "idempotencyKey": "batch-0001", "records": [
        erp("R-1", "重试测试甲公司"), {"externalId": "R-2", "name": "重试测试乙公司", "email": "bad"},
    ]});
    let first = upsert(&app, &admin, input.clone()).await;
    assert_eq!(outcomes(&first), ["CREATED", "FAILED"], "{first}");
    // Meanwhile the record changes; the retry still answers the first call's results.
    upsert(&app, &admin, json!({"source": "erp", "records": [{"externalId": "R-1", "level": "C"}]})).await;
    let again = upsert(&app, &admin, input.clone()).await;
    assert_eq!(again["results"], first["results"], "a replay answers the same rows");
    let stored = found(&app, &admin, "重试测试甲公司").await;
    assert_eq!((stored.len(), stored[0]["level"].as_str()), (1, Some("C")), "the replay wrote nothing");

    let mut other = input;
    other["records"][0]["name"] = json!("重试测试丙公司");
    let payload = upsert(&app, &admin, other).await;
    assert_eq!(payload["userErrors"][0]["code"], "IDEMPOTENCY_KEY_REUSED", "{payload}");
    assert_eq!(payload["results"], json!([]));
}

#[tokio::test]
async fn an_upsert_sees_only_the_callers_scope_and_tenant_and_transfers_need_the_right() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep3_id = app.user_id(&admin, "rep3@demo.local").await;

    // The admin files a customer of rep3's under a key.
    let payload = upsert(
        &app,
        &admin,
        json!({"source": "erp", "records": [{"externalId": "S-1", "name": "范围测试公司", "ownerId": rep3_id}]}),
    )
    .await;
    assert_eq!(outcomes(&payload), ["CREATED"], "{payload}");

    // rep1 cannot see it: the key is refused, and nothing changes.
    let payload = upsert(&app, &rep1, json!({"source": "erp", "records": [{"externalId": "S-1", "level": "Z"}]})).await;
    assert_eq!(outcomes(&payload), ["FAILED"], "{payload}");
    assert_eq!(payload["results"][0]["userErrors"][0]["code"], "FORBIDDEN");
    assert_eq!(payload["results"][0]["id"], Value::Null, "no id of a record rep1 may not see");
    assert_eq!(found(&app, &admin, "范围测试公司").await[0]["version"], 1);

    // Giving a new customer to someone else needs customer.transfer, which reps lack.
    let payload = upsert(
        &app,
        &rep1,
        json!({"source": "erp", "records": [{"externalId": "S-2", "name": "转给别人公司", "ownerId": rep3_id}]}),
    )
    .await;
    assert_eq!(payload["results"][0]["userErrors"][0]["code"], "FORBIDDEN", "{payload}");

    // The admin moves S-1 to rep1 by key: its records follow, and rep1 sees it now.
    let payload = upsert(
        &app,
        &admin,
        json!({"source": "erp", "records": [
            {"externalId": "S-1", "ownerId": app.user_id(&admin, "rep1@demo.local").await}
        ]}),
    )
    .await;
    assert_eq!(outcomes(&payload), ["UPDATED"], "{payload}");
    assert_eq!(found(&app, &rep1, "范围测试公司").await[0]["owner"]["email"], "rep1@demo.local");

    // Another tenant's keys are its own.
    let other = app.second_tenant("upsert-other").await;
    let payload = upsert(&app, &other, json!({"source": "erp", "records": [erp("S-1", "另一租户公司")]})).await;
    assert_eq!(outcomes(&payload), ["CREATED"], "{payload}");
    assert!(found(&app, &admin, "另一租户公司").await.is_empty());
    assert_eq!(found(&app, &admin, "范围测试公司").await[0]["version"], 2);
}

#[tokio::test]
async fn an_upsert_call_costs_the_same_statements_for_2_or_12_rows() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let call = |prefix: &str, n: usize, level: &str| {
        let records: Vec<Value> = (0..n)
            .map(|i| {
                json!({"externalId": format!("{prefix}-{i}"), "name": format!("语句计数{prefix}{i}号有限公司"),
                       "mainPhone": format!("0571-8{i:03}{n:04}"), "level": level})
            })
            .collect();
        json!({"query": CUSTOMERS, "variables": {"i": {"source": "erp", "records": records}}})
    };
    let mut counts = Vec::new();
    for (prefix, n) in [("small", 2), ("large", 12)] {
        let created = app.post(Some(&admin), &call(prefix, n, "A")).await;
        assert_eq!(created.body["data"]["upsertCustomers"]["createdCount"], n, "{}", created.body);
        let updated = app.post(Some(&admin), &call(prefix, n, "B")).await;
        assert_eq!(updated.body["data"]["upsertCustomers"]["updatedCount"], n, "{}", updated.body);
        let unchanged = app.post(Some(&admin), &call(prefix, n, "B")).await;
        assert_eq!(unchanged.body["data"]["upsertCustomers"]["unchangedCount"], n, "{}", unchanged.body);
        counts.push((created.statements, updated.statements, unchanged.statements));
    }
    assert_eq!(counts[0], counts[1], "statements per call do not grow with its rows");
    assert!(counts[0].0 > 0, "the statement counter is on: {counts:?}");

    // Their keys on a page of customers: one statement for the page, whatever its size.
    let page = |n: usize| {
        json!({"query": "query($n: Int) { customers(first: $n, filter: {search: \"语句计数large\"}) { nodes { externalKeys { source externalId } } } }",
               "variables": {"n": n}})
    };
    let (small, body) = app.fewest_statements(Some(&admin), &page(2)).await;
    let nodes = body["data"]["customers"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}")).clone();
    assert_eq!(nodes.len(), 2, "{body}");
    let (large, body) = app.fewest_statements(Some(&admin), &page(12)).await;
    let nodes = body["data"]["customers"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}")).clone();
    assert_eq!(nodes.len(), 12, "{body}");
    assert!(nodes.iter().all(|n| n["externalKeys"][0]["source"] == "erp"), "{body}");
    assert_eq!(small, large, "keys do not cost a statement per customer");
}

const CONTACTS: &str = "mutation($i: UpsertContactsInput!) { upsertContacts(input: $i) {
    results { index externalId outcome id userErrors { field code message } }
    createdCount updatedCount unchangedCount failedCount skippedCount userErrors { code message } } }";

async fn upsert_contacts(app: &TestApp, token: &str, input: Value) -> Value {
    let body = app.gql(Some(token), CONTACTS, json!({"i": input})).await;
    let payload = body["data"]["upsertContacts"].clone();
    assert!(payload.is_object(), "{body}");
    payload
}

#[tokio::test]
async fn contacts_name_their_customer_by_its_key_and_stay_with_it() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep1_id = app.user_id(&admin, "rep1@demo.local").await;
    let payload = upsert(
        &app,
        &admin,
        json!({"source": "erp", "records": [
            {"externalId": "C-1", "name": "联系人同步甲公司", "ownerId": rep1_id},
            {"externalId": "C-2", "name": "联系人同步乙公司"},
        ]}),
    )
    .await;
    assert_eq!(outcomes(&payload), ["CREATED", "CREATED"], "{payload}");
    let other_customer = payload["results"][1]["id"].clone();

    let records = json!([
        {"externalId": "P-1", "customerExternalId": " C-1 ", "name": "张伟", "mobile": "13800138001", "title": "采购经理"},
        {"externalId": "P-2", "customerExternalId": "C-9", "name": "李娜"},
        {"externalId": "P-3", "name": "王芳"},
        {"externalId": "P-4", "customerId": other_customer, "name": "赵强", "decisionRole": "DECISION_MAKER"},
    ]);
    let payload =
        upsert_contacts(&app, &admin, json!({"source": "erp", "mode": "ALL_OR_NOTHING", "records": records})).await;
    assert_eq!(outcomes(&payload), ["SKIPPED", "FAILED", "FAILED", "SKIPPED"], "{payload}");
    assert_eq!(payload["results"][1]["userErrors"][0]["field"], "customerExternalId");
    assert_eq!(payload["results"][2]["userErrors"][0]["code"], "REQUIRED");

    let payload = upsert_contacts(&app, &admin, json!({"source": "erp", "records": records})).await;
    assert_eq!(outcomes(&payload), ["CREATED", "FAILED", "FAILED", "CREATED"], "{payload}");
    let contact = "query($id: ID!) { node(id: $id) { ... on Contact { name mobile title version owner { email } customer { name } externalKeys { source externalId } } } }";
    let body = app.gql(Some(&admin), contact, json!({"id": payload["results"][0]["id"]})).await;
    let node = &body["data"]["node"];
    assert_eq!(node["customer"]["name"], "联系人同步甲公司", "{body}");
    assert_eq!(node["owner"]["email"], "rep1@demo.local", "a new contact belongs to its customer's owner");
    assert_eq!(node["externalKeys"], json!([{"source": "erp", "externalId": "P-1"}]));

    // An update changes only what it gives; the same row again is unchanged; a contact
    // stays with its customer.
    let update = json!({"source": "erp", "records": [
        {"externalId": "P-1", "title": "采购总监"},
        {"externalId": "P-4", "customerExternalId": "C-2", "name": "赵强", "decisionRole": "DECISION_MAKER"},
        {"externalId": "P-1", "customerExternalId": "C-2"},
    ]});
    let payload = upsert_contacts(&app, &admin, update).await;
    assert_eq!(outcomes(&payload), ["UPDATED", "UNCHANGED", "FAILED"], "{payload}");
    let payload = upsert_contacts(
        &app,
        &admin,
        json!({"source": "erp", "records": [
            {"externalId": "P-1", "customerExternalId": "C-2"},
        ]}),
    )
    .await;
    assert_eq!(payload["results"][0]["userErrors"][0]["code"], "ILLEGAL_STATE", "{payload}");
    let body = app
        .gql(
            Some(&rep1),
            "{ contacts(first: 50, filter: {name: {eq: \"张伟\"}}) { nodes { title mobile version } } }",
            json!({}),
        )
        .await;
    let mine: Vec<&Value> =
        body["data"]["contacts"]["nodes"].as_array().unwrap().iter().filter(|c| c["mobile"] == "13800138001").collect();
    assert_eq!(mine.len(), 1, "{body}");
    assert_eq!((mine[0]["title"].as_str(), mine[0]["version"].as_i64()), (Some("采购总监"), Some(2)));

    // rep1 may not write under the admin's customer: no such customer for them.
    let payload = upsert_contacts(
        &app,
        &rep1,
        json!({"source": "erp", "records": [
            {"externalId": "P-9", "customerExternalId": "C-2", "name": "越权联系人"},
            {"externalId": "P-4", "title": "改不了"},
        ]}),
    )
    .await;
    assert_eq!(outcomes(&payload), ["FAILED", "FAILED"], "{payload}");
    assert_eq!(payload["results"][0]["userErrors"][0]["code"], "NOT_FOUND", "{payload}");
    assert_eq!(payload["results"][1]["userErrors"][0]["code"], "FORBIDDEN", "{payload}");
}

const PRODUCTS: &str = "mutation($i: UpsertProductsInput!) { upsertProducts(input: $i) {
    results { index externalId outcome id userErrors { field code message } }
    createdCount updatedCount unchangedCount failedCount skippedCount userErrors { code message } } }";

const PRODUCT: &str = "query($id: ID!) { node(id: $id) { ... on Product { code name unit version kind origin
    specification listPrice { amount } costPrice { amount } taxRate categoryId externalKeys { source externalId } } } }";

async fn upsert_products(app: &TestApp, token: &str, input: Value) -> Value {
    let body = app.gql(Some(token), PRODUCTS, json!({"i": input})).await;
    let payload = body["data"]["upsertProducts"].clone();
    assert!(payload.is_object(), "{body}");
    payload
}

fn item(key: &str, name: &str, price: &str) -> Value {
    json!({"externalId": key, "name": name, "kind": "TANGIBLE", "origin": "BOUGHT", "unit": "台", "listPrice": price})
}

#[tokio::test]
async fn products_are_upserted_by_key_with_unique_codes_and_the_single_writes_checks() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let node = |id: &Value| {
        let (app, admin, id) = (&app, admin.clone(), id.clone());
        async move { app.gql(Some(&admin), PRODUCT, json!({"id": id})).await["data"]["node"].clone() }
    };

    // Created: one with its own code, two numbered; a new product needs its fields.
    let mut coded = item("U8-1001", "同步测试数控机床", "128000.00");
    coded["code"] = json!("NC-1001");
    coded["costPrice"] = json!("90000.00");
    let first = json!({"source": "u8", "records": [
        coded, item("U8-1002", "同步测试刀具", "35.50"), item("U8-1003", "同步测试夹具", "420"),
        {"externalId": "U8-1004", "name": "缺字段"},
    ]});
    let payload = upsert_products(&app, &admin, first.clone()).await;
    assert_eq!(outcomes(&payload), ["CREATED", "CREATED", "CREATED", "FAILED"], "{payload}");
    let missing: Vec<&str> =
        payload["results"][3]["userErrors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(missing, ["kind", "origin", "unit", "listPrice"], "{payload}");
    let machine = node(&payload["results"][0]["id"]).await;
    assert_eq!(machine["code"], "NC-1001");
    assert_eq!(machine["taxRate"], "VAT_13", "a new product's default rate");
    assert_eq!(machine["externalKeys"], json!([{"source": "u8", "externalId": "U8-1001"}]));
    let (cutter, fixture) = (node(&payload["results"][1]["id"]).await, node(&payload["results"][2]["id"]).await);
    assert_ne!(cutter["code"], fixture["code"], "numbered from one block: {cutter} {fixture}");
    let found =
        app.gql(Some(&admin), "{ products(filter: {search: \"同步测试刀\"}) { nodes { id } } }", json!({})).await;
    assert_eq!(found["data"]["products"]["nodes"], json!([{"id": payload["results"][1]["id"]}]), "searchable by name");

    // The same call again: unchanged, nothing written. A new price and a cleared cost:
    // updated, the rest kept.
    let again = upsert_products(&app, &admin, first).await;
    assert_eq!(outcomes(&again)[..3], ["UNCHANGED", "UNCHANGED", "UNCHANGED"], "{again}");
    assert_eq!(node(&payload["results"][0]["id"]).await["version"], machine["version"]);
    let edit = json!({"source": "u8", "records": [
        {"externalId": "U8-1001", "listPrice": "126000.00", "costPrice": null, "specification": "VMC850"},
        {"externalId": "U8-1002", "name": "同步测试合金刀具"},
    ]});
    let updated = upsert_products(&app, &admin, edit).await;
    assert_eq!(outcomes(&updated), ["UPDATED", "UPDATED"], "{updated}");
    let machine_after = node(&payload["results"][0]["id"]).await;
    assert_eq!(
        (
            machine_after["listPrice"]["amount"].clone(),
            machine_after["costPrice"].clone(),
            machine_after["specification"].clone()
        ),
        (json!("126000"), json!(null), json!("VMC850"))
    );
    assert_eq!((machine_after["name"].clone(), machine_after["unit"].clone()), (machine["name"].clone(), json!("台")));
    assert_eq!(machine_after["version"], machine["version"].as_i64().unwrap() + 1);
    let renamed = app.gql(Some(&admin), "{ products(filter: {search: \"合金刀\"}) { nodes { id } } }", json!({})).await;
    assert_eq!(
        renamed["data"]["products"]["nodes"],
        json!([{"id": payload["results"][1]["id"]}]),
        "tokens follow the name"
    );

    // Refused: a taken code, a code twice in the call, a stored product's new code, a bad
    // category, too many decimals; ALL_OR_NOTHING writes none of the good rows.
    let mut taken = item("U8-2001", "同步测试重码", "1");
    taken["code"] = json!("NC-1001");
    let mut twice = [item("U8-2002", "同步测试双码甲", "1"), item("U8-2003", "同步测试双码乙", "1")];
    twice[0]["code"] = json!("DUP-1");
    twice[1]["code"] = json!("DUP-1");
    let bad = json!({"source": "u8", "mode": "ALL_OR_NOTHING", "records": [
        taken, twice[0], twice[1],
        {"externalId": "U8-1003", "code": "NEW-CODE"},
        {"externalId": "U8-2004", "name": "同步测试坏类", "kind": "SERVICE", "origin": "MADE", "unit": "次", "listPrice": "1",
         "categoryId": "UHJvZHVjdENhdGVnb3J5OjAxOTNhMmIwLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMA=="},
        item("U8-2005", "同步测试小数", "1.23456"),
        item("U8-2006", "同步测试好行", "10"),
    ]});
    let refused = upsert_products(&app, &admin, bad).await;
    assert_eq!(
        outcomes(&refused),
        ["FAILED", "SKIPPED", "FAILED", "FAILED", "FAILED", "FAILED", "SKIPPED"],
        "{refused}"
    );
    let first_error = |i: usize| {
        let e = &refused["results"][i]["userErrors"][0];
        (e["field"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned())
    };
    assert_eq!(first_error(0), ("code".into(), "DUPLICATE".into()));
    assert_eq!(first_error(2), ("code".into(), "DUPLICATE".into()));
    assert_eq!(first_error(3), ("code".into(), "ILLEGAL_STATE".into()));
    assert_eq!(first_error(4), ("categoryId".into(), "NOT_FOUND".into()));
    assert_eq!(first_error(5).0, "listPrice");
    let none =
        app.gql(Some(&admin), "{ products(filter: {search: \"同步测试好行\"}) { nodes { id } } }", json!({})).await;
    assert_eq!(none["data"]["products"]["nodes"], json!([]), "ALL_OR_NOTHING wrote nothing");

    // Products need `product.manage`; a rep may not upsert them.
    let rep1 = app.login("rep1@demo.local").await;
    let body = app
        .gql(Some(&rep1), PRODUCTS, json!({"i": {"source": "u8", "records": [item("U8-3001", "越权产品", "1")]}}))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    // A retry under the same idempotency key answers the first call's rows and writes nothing.
    let keyed =
        json!({"source": "u8", "idempotencyKey": "products-1", "records": [item("U8-4001", "同步测试重试", "5")]});
    let once = upsert_products(&app, &admin, keyed.clone()).await;
    let twice = upsert_products(&app, &admin, keyed).await;
    assert_eq!(once, twice);
    assert_eq!(outcomes(&twice), ["CREATED"]);

    // Statements do not grow with the rows: creates with their own codes and a category,
    // then a new price and name (tokens replaced), then the same again.
    let categories = app.gql(Some(&admin), "{ productCategories { id } }", json!({})).await;
    let category = categories["data"]["productCategories"][0]["id"].clone();
    let call = |prefix: &str, n: usize, (price, name): (&str, &str)| {
        let records: Vec<Value> = (0..n)
            .map(|i| {
                let mut record = item(&format!("{prefix}-{i}"), &format!("计数产品{name}{prefix}{i}"), price);
                record["code"] = json!(format!("CNT-{prefix}-{i}"));
                record["categoryId"] = category.clone();
                record
            })
            .collect();
        json!({"query": PRODUCTS, "variables": {"i": {"source": "u8", "records": records}}})
    };
    let mut counts = Vec::new();
    for (prefix, n) in [("small", 2), ("large", 12)] {
        let created = app.post(Some(&admin), &call(prefix, n, ("1", "甲"))).await;
        assert_eq!(created.body["data"]["upsertProducts"]["createdCount"], n, "{}", created.body);
        let updated = app.post(Some(&admin), &call(prefix, n, ("2", "乙"))).await;
        assert_eq!(updated.body["data"]["upsertProducts"]["updatedCount"], n, "{}", updated.body);
        let unchanged = app.post(Some(&admin), &call(prefix, n, ("2", "乙"))).await;
        assert_eq!(unchanged.body["data"]["upsertProducts"]["unchangedCount"], n, "{}", unchanged.body);
        counts.push((created.statements, updated.statements, unchanged.statements));
    }
    assert_eq!(counts[0], counts[1], "statements per call do not grow with its rows");
    assert!(counts[0].0 > 0, "the statement counter is on: {counts:?}");
    let renamed = app
        .gql(Some(&admin), "{ products(filter: {search: \"计数产品乙large\"}, first: 50) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(renamed["data"]["products"]["nodes"].as_array().map(Vec::len), Some(12), "{renamed}");
}

const POLICIES: &str = "mutation($i: UpsertPricePoliciesInput!) { upsertPricePolicies(input: $i) {
    results { index externalId outcome id userErrors { field code message } }
    createdCount updatedCount unchangedCount failedCount skippedCount userErrors { code message } } }";

const POLICY: &str = "query($id: ID!) { node(id: $id) { ... on PricePolicy { productId customerLevel customer { name }
    price { amount } breaks { minQuantity price } validFrom validTo version } } }";

#[tokio::test]
async fn price_policies_name_products_and_customers_by_key_and_never_overlap() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let send = |input: Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let body = app.gql(Some(&admin), POLICIES, json!({"i": input})).await;
            let payload = body["data"]["upsertPricePolicies"].clone();
            assert!(payload.is_object(), "{body}");
            payload
        }
    };
    let policy = |id: Value| {
        let (app, admin) = (&app, admin.clone());
        async move { app.gql(Some(&admin), POLICY, json!({"id": id})).await["data"]["node"].clone() }
    };

    // The demo ERP's keys: products ERP-<code>, customers KD0001–KD0006.
    let level_b = json!({"externalId": "PL-1", "productExternalId": "ERP-KT-35GW", "customerLevel": "B",
        "price": "3199.00", "breaks": [{"minQuantity": "20", "price": "3099.00"}], "validFrom": "2027-01-01"});
    let first = json!({"source": "kingdee", "records": [
        level_b,
        {"externalId": "PL-2", "productExternalId": "ERP-KT-72LW", "customerExternalId": "KD0002", "price": "5600",
         "validFrom": "2027-01-01", "validTo": "2027-12-31"},
        // The same product and level from mid-year: its days meet PL-1's.
        {"externalId": "PL-3", "productExternalId": "ERP-KT-35GW", "customerLevel": "B", "price": "3150",
         "validFrom": "2027-06-01"},
        {"externalId": "PL-4", "productExternalId": "ERP-NOPE", "customerLevel": "B", "price": "1", "validFrom": "2027-01-01"},
        {"externalId": "PL-5", "productExternalId": "ERP-KT-MDV", "customerLevel": "C"},
        {"externalId": "PL-6", "productExternalId": "ERP-KT-MDV", "customerLevel": "C", "customerExternalId": "KD0001",
         "price": "1", "validFrom": "2027-01-01"},
    ]});
    let payload = send(first.clone()).await;
    assert_eq!(outcomes(&payload), ["CREATED", "CREATED", "FAILED", "FAILED", "FAILED", "FAILED"], "{payload}");
    let first_error = |payload: &Value, i: usize| {
        let e = &payload["results"][i]["userErrors"][0];
        (e["field"].as_str().unwrap_or("").to_owned(), e["code"].as_str().unwrap_or("").to_owned())
    };
    assert_eq!(first_error(&payload, 2), ("validFrom".into(), "CONFLICT".into()));
    assert_eq!(first_error(&payload, 3), ("productExternalId".into(), "NOT_FOUND".into()));
    let missing: Vec<&str> =
        payload["results"][4]["userErrors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(missing, ["price", "validFrom"], "{payload}");
    assert_eq!(first_error(&payload, 5), ("customerLevel".into(), "INVALID".into()));
    let created = policy(payload["results"][0]["id"].clone()).await;
    assert_eq!(created["customerLevel"], "B");
    assert_eq!(created["breaks"], json!([{"minQuantity": "20.0000", "price": "3099.0000"}]), "{created}");
    let own = policy(payload["results"][1]["id"].clone()).await;
    assert_eq!(
        (own["customer"]["name"].clone(), own["validTo"].clone()),
        (json!("苏州恒信电子科技有限公司"), json!("2027-12-31"))
    );

    // The same rows again: unchanged. A new price, and an end date so PL-3 now fits after it.
    let again = send(first).await;
    assert_eq!(outcomes(&again)[..2], ["UNCHANGED", "UNCHANGED"], "{again}");
    assert_eq!(policy(payload["results"][0]["id"].clone()).await["version"], created["version"], "nothing written");
    let edit = json!({"source": "kingdee", "records": [
        {"externalId": "PL-1", "price": "3188", "validTo": "2027-05-31"},
        {"externalId": "PL-3", "productExternalId": "ERP-KT-35GW", "customerLevel": "B", "price": "3150", "validFrom": "2027-06-01"},
        {"externalId": "PL-2", "customerLevel": "B"},
        {"externalId": "PL-2", "price": "1"},
    ]});
    let edited = send(edit).await;
    assert_eq!(outcomes(&edited), ["UPDATED", "CREATED", "FAILED", "FAILED"], "{edited}");
    assert_eq!(first_error(&edited, 2), ("customerLevel".into(), "ILLEGAL_STATE".into()), "a policy keeps its target");
    assert_eq!(first_error(&edited, 3), ("externalId".into(), "DUPLICATE".into()));
    let updated = policy(payload["results"][0]["id"].clone()).await;
    assert_eq!((updated["price"]["amount"].clone(), updated["validTo"].clone()), (json!("3188"), json!("2027-05-31")));
    assert_eq!(updated["breaks"], created["breaks"], "terms not given stay");
    assert_eq!(updated["version"], created["version"].as_i64().unwrap() + 1);

    // Against the stored policies: the demo's level-A price for the same product holds
    // open-ended from this year's start.
    let clash = send(json!({"source": "kingdee", "mode": "ALL_OR_NOTHING", "records": [
        {"externalId": "PL-7", "productExternalId": "ERP-KT-35GW", "customerLevel": "A", "price": "3000", "validFrom": "2027-03-01"},
        {"externalId": "PL-8", "productExternalId": "ERP-KT-MDV", "customerLevel": "A", "price": "9", "validFrom": "2027-03-01"},
    ]}))
    .await;
    assert_eq!(outcomes(&clash), ["FAILED", "SKIPPED"], "{clash}");
    assert_eq!(first_error(&clash, 0), ("validFrom".into(), "CONFLICT".into()));
    let alone = send(json!({"source": "kingdee", "records": [
        {"externalId": "PL-8", "productExternalId": "ERP-KT-MDV", "customerLevel": "A", "price": "9", "validFrom": "2027-03-01"},
    ]}))
    .await;
    assert_eq!(outcomes(&alone), ["CREATED"], "PL-8 was not written by the refused call: {alone}");

    // A row taking days and the row that frees them pass in one call, in either order:
    // the stored policy's change counts first.
    let swap = send(json!({"source": "kingdee", "records": [
        {"externalId": "PL-11", "productExternalId": "ERP-KT-MDV", "customerLevel": "A", "price": "7", "validFrom": "2028-01-01"},
        {"externalId": "PL-8", "validTo": "2027-12-31"},
    ]}))
    .await;
    assert_eq!(outcomes(&swap), ["CREATED", "UPDATED"], "{swap}");

    // A catalogue manager whose customers are only their own: another rep's customer, by
    // key, does not exist for them, nor does the policy of that customer.
    let permissions = ["product.read", "product.manage", "customer.read", "org.read"];
    let (pricer, _) = app.with_new_role(&admin, "rep3@demo.local", ("价格专员", &permissions, "[]")).await;
    let body = app
        .gql(Some(&pricer), POLICIES, json!({"i": {"source": "kingdee", "records": [
            {"externalId": "PL-2", "price": "1"},
            {"externalId": "PL-12", "productExternalId": "ERP-KT-72LW", "customerExternalId": "KD0002", "price": "1", "validFrom": "2029-01-01"},
            {"externalId": "PL-13", "productExternalId": "ERP-KT-72LW", "customerLevel": "D", "price": "1", "validFrom": "2029-01-01"},
        ]}}))
        .await;
    let scoped = &body["data"]["upsertPricePolicies"];
    assert_eq!(outcomes(scoped), ["FAILED", "FAILED", "CREATED"], "{body}");
    assert_eq!(first_error(scoped, 0), ("externalId".into(), "FORBIDDEN".into()));
    assert!(scoped["results"][0]["id"].is_null(), "the hidden policy's id is not given: {body}");
    assert_eq!(first_error(scoped, 1).1, "NOT_FOUND");
    assert_eq!(policy(payload["results"][1]["id"].clone()).await["price"]["amount"], "5600", "rep3 changed nothing");

    // Statements do not grow with the rows.
    let call = |prefix: &str, n: usize, price: &str| {
        let records: Vec<Value> = (0..n)
            .map(|i| {
                json!({"externalId": format!("{prefix}-{i}"), "productExternalId": "ERP-KT-MDV",
                "customerLevel": format!("{prefix}{i}"), "price": price, "validFrom": "2027-01-01"})
            })
            .collect();
        json!({"query": POLICIES, "variables": {"i": {"source": "kingdee", "records": records}}})
    };
    let mut counts = Vec::new();
    for (prefix, n) in [("S", 2), ("L", 12)] {
        let created = app.post(Some(&admin), &call(prefix, n, "1")).await;
        assert_eq!(created.body["data"]["upsertPricePolicies"]["createdCount"], n, "{}", created.body);
        let updated = app.post(Some(&admin), &call(prefix, n, "2")).await;
        assert_eq!(updated.body["data"]["upsertPricePolicies"]["updatedCount"], n, "{}", updated.body);
        let unchanged = app.post(Some(&admin), &call(prefix, n, "2")).await;
        assert_eq!(unchanged.body["data"]["upsertPricePolicies"]["unchangedCount"], n, "{}", unchanged.body);
        counts.push((created.statements, updated.statements, unchanged.statements));
    }
    assert_eq!(counts[0], counts[1], "statements per call do not grow with its rows");
    assert!(counts[0].0 > 0, "the statement counter is on: {counts:?}");

    // Price policies need `product.manage`.
    let rep1 = app.login("rep1@demo.local").await;
    let body = app
        .gql(
            Some(&rep1),
            POLICIES,
            json!({"i": {"source": "kingdee", "records": [{"externalId": "PL-9", "customerLevel": "A"}]}}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}

const ORDERS: &str = "mutation($i: UpsertSalesOrdersInput!) { upsertSalesOrders(input: $i) {
    results { index externalId outcome id userErrors { field code message } }
    createdCount updatedCount unchangedCount failedCount skippedCount userErrors { code message } } }";

const ORDER: &str = "query($id: ID!) { salesOrder(id: $id) { number status version total { amount } discount
    paymentTerms cancelReason confirmedAt owner { email } contactId externalKeys { source externalId }
    customer { name status } lines { productName quantity unitPrice { amount } priceSource } } }";

async fn upsert_orders(app: &TestApp, token: &str, input: Value) -> Value {
    let body = app.gql(Some(token), ORDERS, json!({"i": input})).await;
    let payload = body["data"]["upsertSalesOrders"].clone();
    assert!(payload.is_object(), "{body}");
    payload
}

fn first_error(payload: &Value, row: usize) -> (String, String) {
    let e = &payload["results"][row]["userErrors"][0];
    (e["field"].as_str().unwrap_or("").to_owned(), e["code"].as_str().unwrap_or("").to_owned())
}

/// An order of the demo ERP: `n` of the 1.5-horse air conditioner at the source's price,
/// and one 3-horse unit at what the price policies give.
fn erp_order(key: &str, customer: &str, n: u32) -> Value {
    json!({"externalId": key, "customerExternalId": customer, "paymentTerms": "月结30天", "lines": [
        {"productExternalId": "ERP-KT-35GW", "quantity": n.to_string(), "unitPrice": "3000"},
        {"productExternalId": "ERP-KT-72LW", "quantity": "1"},
    ]})
}

#[tokio::test]
async fn sales_orders_are_synced_by_key_priced_and_moved_as_the_single_writes_allow() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let order = |id: Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let body = app.gql(Some(&admin), ORDER, json!({"id": id})).await;
            assert!(body["data"]["salesOrder"].is_object(), "{body}");
            body["data"]["salesOrder"].clone()
        }
    };

    // The demo ERP's keys: customers KD0001–KD0006, products ERP-<code>.
    let mut confirmed = erp_order("SO-2", "KD0003", 1);
    confirmed["status"] = json!("CONFIRMED");
    let first = json!({"source": "kingdee", "records": [
        erp_order("SO-1", "KD0001", 2),
        confirmed,
        erp_order("SO-3", "KD-NOPE", 1),
        {"externalId": "SO-4", "customerExternalId": "KD0001"},
        {"externalId": "SO-5", "customerExternalId": "KD0001", "lines": [{"productExternalId": "ERP-NOPE", "quantity": "1"}]},
        {"externalId": "SO-6", "customerExternalId": "KD0001", "status": "CANCELLED",
         "lines": [{"productExternalId": "ERP-KT-35GW", "quantity": "1"}]},
        {"externalId": "SO-7", "customerExternalId": "KD0001", "lines": [{"productExternalId": "ERP-KT-35GW", "quantity": "-1"}]},
    ]});
    let payload = upsert_orders(&app, &admin, first.clone()).await;
    assert_eq!(
        outcomes(&payload),
        ["CREATED", "CREATED", "FAILED", "FAILED", "FAILED", "FAILED", "FAILED"],
        "{payload}"
    );
    assert_eq!(first_error(&payload, 2), ("customerExternalId".into(), "NOT_FOUND".into()));
    assert_eq!(first_error(&payload, 3), ("lines".into(), "REQUIRED".into()));
    assert_eq!(first_error(&payload, 4), ("lines.0.productExternalId".into(), "NOT_FOUND".into()));
    assert_eq!(first_error(&payload, 5), ("cancelReason".into(), "REQUIRED".into()));
    assert_eq!(first_error(&payload, 6).0, "lines.0.quantity", "the lines' own checks: {payload}");
    let so1 = order(payload["results"][0]["id"].clone()).await;
    assert_eq!(so1["status"], "DRAFT", "{so1}");
    assert_eq!(so1["customer"]["name"], "上海明远机械制造有限公司");
    assert_eq!(so1["owner"]["email"], "admin@demo.local", "a new order belongs to the caller, as on createSalesOrder");
    assert_eq!(so1["externalKeys"], json!([{"source": "kingdee", "externalId": "SO-1"}]));
    assert_eq!(so1["paymentTerms"], "月结30天");
    let lines = so1["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{so1}");
    assert_eq!(
        (lines[0]["priceSource"].as_str(), lines[0]["unitPrice"]["amount"].as_str()),
        (Some("MANUAL"), Some("3000"))
    );
    assert_ne!(lines[1]["priceSource"], "MANUAL", "no price given: the policies decide: {so1}");
    let so2 = order(payload["results"][1]["id"].clone()).await;
    assert_eq!(so2["status"], "CONFIRMED", "{so2}");
    assert!(so2["confirmedAt"].is_string());
    assert_eq!(so2["customer"]["status"], "WON", "a synced confirmation is a sale");

    // The same call again: the written rows are unchanged, nothing bumped.
    let again = upsert_orders(&app, &admin, first).await;
    assert_eq!(outcomes(&again)[..2], ["UNCHANGED", "UNCHANGED"], "{again}");
    assert_eq!(order(payload["results"][0]["id"].clone()).await["version"], so1["version"]);

    // A draft's lines are every line as it should be: a discount given, then left out again.
    let mut discounted = erp_order("SO-1", "KD0001", 2);
    discounted["lines"][0]["discount"] = json!("10");
    let payload_d = upsert_orders(&app, &admin, json!({"source": "kingdee", "records": [discounted]})).await;
    assert_eq!(outcomes(&payload_d), ["UPDATED"], "{payload_d}");
    let payload_d =
        upsert_orders(&app, &admin, json!({"source": "kingdee", "records": [erp_order("SO-1", "KD0001", 2)]})).await;
    assert_eq!(outcomes(&payload_d), ["UPDATED"], "a line without its discount has none: {payload_d}");
    let reverted = order(payload["results"][0]["id"].clone()).await;
    assert_eq!(reverted["total"], so1["total"], "the same lines as first sent: {reverted}");
    assert_eq!(reverted["version"], so1["version"].as_i64().unwrap() + 2);
    let so1 = reverted;

    // A draft takes new lines and is confirmed in one row; a confirmed order is not edited.
    let mut edit = erp_order("SO-1", "KD0001", 3);
    edit["status"] = json!("CONFIRMED");
    let edited = upsert_orders(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [
            edit,
            {"externalId": "SO-2", "paymentTerms": "预付50%"},
        ]}),
    )
    .await;
    assert_eq!(outcomes(&edited), ["UPDATED", "FAILED"], "{edited}");
    assert_eq!(first_error(&edited, 1), ("status".into(), "ILLEGAL_STATE".into()));
    let so1_after = order(payload["results"][0]["id"].clone()).await;
    assert_eq!(so1_after["status"], "CONFIRMED");
    assert_eq!(so1_after["lines"][0]["quantity"], "3");
    assert_eq!(so1_after["version"], so1["version"].as_i64().unwrap() + 1, "one write");
    assert_eq!(so1_after["customer"]["status"], "WON");
    let total = |o: &Value| o["total"]["amount"].as_str().unwrap().parse::<f64>().unwrap();
    assert!((total(&so1_after) - total(&so1) - 3000.0).abs() < 0.001, "{so1} → {so1_after}");

    // ALL_OR_NOTHING: one bad row, and neither the new order nor the cancellation is written.
    let refused = upsert_orders(
        &app,
        &admin,
        json!({"source": "kingdee", "mode": "ALL_OR_NOTHING", "records": [
            erp_order("SO-8", "KD0002", 1),
            {"externalId": "SO-2", "status": "CANCELLED", "cancelReason": "客户取消采购"},
            {"externalId": "SO-1", "customerExternalId": "KD0002"},
        ]}),
    )
    .await;
    assert_eq!(outcomes(&refused), ["SKIPPED", "SKIPPED", "FAILED"], "{refused}");
    assert_eq!(
        first_error(&refused, 2),
        ("customerId".into(), "ILLEGAL_STATE".into()),
        "an order stays with its customer"
    );
    assert_eq!(order(payload["results"][1]["id"].clone()).await["status"], "CONFIRMED");
    let later = upsert_orders(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [
            erp_order("SO-8", "KD0002", 1),
            {"externalId": "SO-2", "status": "CANCELLED", "cancelReason": "客户取消采购"},
        ]}),
    )
    .await;
    assert_eq!(outcomes(&later), ["CREATED", "UPDATED"], "SO-8 was not written before: {later}");
    let so2 = order(payload["results"][1]["id"].clone()).await;
    assert_eq!((so2["status"].as_str(), so2["cancelReason"].as_str()), (Some("CANCELLED"), Some("客户取消采购")));
    let back = upsert_orders(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [
            {"externalId": "SO-2", "status": "CONFIRMED"},
        ]}),
    )
    .await;
    assert_eq!(first_error(&back, 0), ("status".into(), "ILLEGAL_STATE".into()), "{back}");

    // Past the tenant's discount threshold, a confirmation needs quote.approve: the
    // manager (who has it) confirms, a rep does not.
    let body = app
        .gql(
            Some(&admin),
            "mutation { updateTenantSettings(input: {quoteApprovalDiscount: \"15\"}) { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["updateTenantSettings"]["userErrors"], json!([]), "{body}");
    let deep = |key: &str| {
        json!({"externalId": key, "customerExternalId": "KD0001", "discount": "20", "status": "CONFIRMED",
               "lines": [{"productExternalId": "ERP-KT-35GW", "quantity": "1"}]})
    };
    let rep1 = app.login("rep1@demo.local").await;
    let by_rep = upsert_orders(&app, &rep1, json!({"source": "kingdee", "records": [deep("SO-9")]})).await;
    assert_eq!(first_error(&by_rep, 0), ("status".into(), "ILLEGAL_STATE".into()), "{by_rep}");
    let by_admin = upsert_orders(&app, &admin, json!({"source": "kingdee", "records": [deep("SO-9")]})).await;
    assert_eq!(outcomes(&by_admin), ["CREATED"], "{by_admin}");

    // An order may close one of its customer's deals: confirming it wins the deal.
    let body = app.gql(Some(&admin), "{ opportunities(first: 50) { nodes { id name status } } }", json!({})).await;
    let deal = |name: &str| {
        body["data"]["opportunities"]["nodes"].as_array().unwrap().iter().find(|d| d["name"] == name).unwrap().clone()
    };
    let (mingyuan, hengxin) = (deal("数控机床升级项目"), deal("SMT 产线扩容"));
    assert_eq!(mingyuan["status"], "OPEN", "{body}");
    let mut closing = erp_order("SO-D1", "KD0001", 1);
    closing["opportunityId"] = mingyuan["id"].clone();
    closing["status"] = json!("CONFIRMED");
    let mut elsewhere = erp_order("SO-D2", "KD0001", 1);
    elsewhere["opportunityId"] = hengxin["id"].clone();
    let payload = upsert_orders(&app, &admin, json!({"source": "kingdee", "records": [closing, elsewhere]})).await;
    assert_eq!(outcomes(&payload), ["CREATED", "FAILED"], "{payload}");
    assert_eq!(first_error(&payload, 1), ("opportunityId".into(), "NOT_FOUND".into()), "another customer's deal");
    let body = app
        .gql(
            Some(&admin),
            "query($id: ID!) { node(id: $id) { ... on Opportunity { status } } }",
            json!({"id": mingyuan["id"]}),
        )
        .await;
    assert_eq!(body["data"]["node"]["status"], "WON", "{body}");

    // A rep sees only their own: another rep's customer does not exist for them, nor does
    // an order of that customer's, by key.
    let payload =
        upsert_orders(&app, &admin, json!({"source": "kingdee", "records": [erp_order("SO-10", "KD0005", 1)]})).await;
    assert_eq!(outcomes(&payload), ["CREATED"], "{payload}");
    let scoped = upsert_orders(
        &app,
        &rep1,
        json!({"source": "kingdee", "records": [
            erp_order("SO-11", "KD0005", 1),
            {"externalId": "SO-10", "paymentTerms": "现结"},
            erp_order("SO-12", "KD0001", 1),
        ]}),
    )
    .await;
    assert_eq!(outcomes(&scoped), ["FAILED", "FAILED", "CREATED"], "{scoped}");
    assert_eq!(first_error(&scoped, 0), ("customerId".into(), "NOT_FOUND".into()));
    assert_eq!(first_error(&scoped, 1), ("externalId".into(), "FORBIDDEN".into()));
    assert_eq!(scoped["results"][1]["id"], Value::Null, "no id of an order rep1 may not see");

    // Another tenant's keys are its own: the demo ERP's customer codes name nothing there.
    let other = app.second_tenant("order-upsert-other").await;
    let payload =
        upsert_orders(&app, &other, json!({"source": "kingdee", "records": [erp_order("SO-1", "KD0001", 1)]})).await;
    assert_eq!(first_error(&payload, 0), ("customerExternalId".into(), "NOT_FOUND".into()), "{payload}");
}

#[tokio::test]
async fn an_order_upsert_costs_the_same_statements_for_2_or_12_orders() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let call = |prefix: &str, n: u32, terms: &str| {
        let customers = ["KD0001", "KD0002", "KD0003", "KD0004"];
        let records: Vec<Value> = (0..n)
            .map(|i| {
                let mut order = erp_order(&format!("{prefix}-{i}"), customers[i as usize % 4], i + 1);
                order["paymentTerms"] = json!(terms);
                order
            })
            .collect();
        json!({"query": ORDERS, "variables": {"i": {"source": "kingdee", "records": records}}})
    };
    let mut counts = Vec::new();
    for (prefix, n) in [("small", 2), ("large", 12)] {
        let created = app.post(Some(&admin), &call(prefix, n, "月结30天")).await;
        assert_eq!(created.body["data"]["upsertSalesOrders"]["createdCount"], n, "{}", created.body);
        let updated = app.post(Some(&admin), &call(prefix, n, "月结60天")).await;
        assert_eq!(updated.body["data"]["upsertSalesOrders"]["updatedCount"], n, "{}", updated.body);
        let unchanged = app.post(Some(&admin), &call(prefix, n, "月结60天")).await;
        assert_eq!(unchanged.body["data"]["upsertSalesOrders"]["unchangedCount"], n, "{}", unchanged.body);
        counts.push((created.statements, updated.statements, unchanged.statements));
    }
    assert_eq!(counts[0], counts[1], "statements per call do not grow with its orders");
    assert!(counts[0].0 > 0, "the statement counter is on: {counts:?}");
}

const CONTRACTS: &str = "mutation($i: UpsertContractsInput!) { upsertContracts(input: $i) {
    results { index externalId outcome id userErrors { field code message } }
    createdCount updatedCount unchangedCount failedCount skippedCount userErrors { code message } } }";

const CONTRACT: &str = "query($id: ID!) { contract(id: $id) { id number status title version approvedAt completedAt
    voidReason signedOn orderId amount { amount } owner { email } signer { email } externalKeys { source externalId }
    customer { name status } installments { number status dueOn amount { amount } } } }";

/// A money field's amount.
fn yuan(money: &Value) -> f64 {
    money["amount"].as_str().and_then(|a| a.parse().ok()).unwrap_or_else(|| panic!("{money}"))
}

/// A time field as RFC 3339 in UTC.
fn instant(at: &Value) -> String {
    let at = at.as_str().unwrap_or_else(|| panic!("{at}"));
    chrono::DateTime::parse_from_rfc3339(at).unwrap().with_timezone(&chrono::Utc).to_rfc3339()
}

async fn upsert_contracts(app: &TestApp, token: &str, input: Value) -> Value {
    let body = app.gql(Some(token), CONTRACTS, json!({"i": input})).await;
    let payload = body["data"]["upsertContracts"].clone();
    assert!(payload.is_object(), "{body}");
    payload
}

/// A contract of the demo ERP for `amount` yuan, signed on 2026-01-05, paid in two
/// equal installments.
fn erp_contract(key: &str, customer: &str, amount: u32) -> Value {
    let half = (amount / 2).to_string();
    json!({"externalId": key, "customerExternalId": customer, "title": format!("{key} 年度供货合同"),
    "amount": amount.to_string(), "signedOn": "2026-01-05", "endsOn": "2026-12-31",
    "installments": [
        {"amount": half, "dueOn": "2026-02-01", "method": "BANK_TRANSFER"},
        {"amount": half, "dueOn": "2026-06-30"},
    ]})
}

#[tokio::test]
async fn contracts_are_synced_by_key_with_their_plans_and_in_force_as_the_source_says() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let contract = |id: Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let body = app.gql(Some(&admin), CONTRACT, json!({"id": id})).await;
            assert!(body["data"]["contract"].is_object(), "{body}");
            body["data"]["contract"].clone()
        }
    };

    let mut approved = erp_contract("HT-2", "KD0003", 50_000);
    approved["status"] = json!("APPROVED");
    approved["signedOn"] = json!("2025-03-01");
    approved["installments"] = json!([{"amount": "50000", "dueOn": "2025-04-01"}]);
    let mut short = erp_contract("HT-5", "KD0001", 10_000);
    short["status"] = json!("APPROVED");
    short["installments"] = json!([{"amount": "4000", "dueOn": "2026-02-01"}]);
    let mut early = erp_contract("HT-7", "KD0001", 10_000);
    early["installments"][0]["dueOn"] = json!("2025-12-01");
    let first = json!({"source": "kingdee", "records": [
        erp_contract("HT-1", "KD0001", 120_000),
        approved,
        erp_contract("HT-3", "KD-NOPE", 1_000),
        {"externalId": "HT-4", "customerExternalId": "KD0001"},
        short,
        {"externalId": "HT-6", "customerExternalId": "KD0001", "title": "作废合同", "amount": "1", "status": "VOID"},
        early,
    ]});
    let payload = upsert_contracts(&app, &admin, first.clone()).await;
    assert_eq!(
        outcomes(&payload),
        ["CREATED", "CREATED", "FAILED", "FAILED", "FAILED", "FAILED", "FAILED"],
        "{payload}"
    );
    assert_eq!(first_error(&payload, 2), ("customerExternalId".into(), "NOT_FOUND".into()));
    let fields: Vec<&str> =
        payload["results"][3]["userErrors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["title", "amount"], "a new contract needs both, each said once: {payload}");
    assert_eq!(first_error(&payload, 4), ("installments".into(), "INVALID".into()), "the plan must add up");
    assert_eq!(first_error(&payload, 5), ("voidReason".into(), "REQUIRED".into()));
    assert_eq!(first_error(&payload, 6), ("installments.0.dueOn".into(), "INVALID".into()), "before the sign date");
    let ht1 = contract(payload["results"][0]["id"].clone()).await;
    assert_eq!(ht1["status"], "DRAFT", "{ht1}");
    assert_eq!(ht1["owner"]["email"], "admin@demo.local", "a new contract is the caller's, as on createContract");
    assert_eq!(ht1["externalKeys"], json!([{"source": "kingdee", "externalId": "HT-1"}]));
    assert_eq!(ht1["installments"].as_array().unwrap().len(), 2, "{ht1}");
    assert!(ht1["number"].as_str().is_some_and(|n| !n.is_empty()), "numbered by the tenant's rule: {ht1}");
    let ht2 = contract(payload["results"][1]["id"].clone()).await;
    assert_eq!(ht2["status"], "APPROVED", "{ht2}");
    assert_eq!(instant(&ht2["approvedAt"]), "2025-02-28T16:00:00+00:00", "in force from its sign date in Shanghai");
    assert_eq!(ht2["customer"]["status"], "WON", "a contract in force is a sale");
    assert_eq!(ht2["installments"][0]["status"], "OVERDUE", "{ht2}");

    // The same call again: the written rows are unchanged, nothing bumped.
    let again = upsert_contracts(&app, &admin, first).await;
    assert_eq!(outcomes(&again)[..2], ["UNCHANGED", "UNCHANGED"], "{again}");
    assert_eq!(contract(payload["results"][0]["id"].clone()).await["version"], ht1["version"]);

    // A draft takes a new amount with its plan; a contract in force is locked.
    let mut edit = erp_contract("HT-1", "KD0001", 130_000);
    edit["installments"] =
        json!([{"amount": "30000", "dueOn": "2026-02-01"}, {"amount": "100000", "dueOn": "2026-09-30"}]);
    let edited = upsert_contracts(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [edit.clone(), {"externalId": "HT-2", "title": "改名"}]}),
    )
    .await;
    assert_eq!(outcomes(&edited), ["UPDATED", "FAILED"], "{edited}");
    assert_eq!(first_error(&edited, 1), ("status".into(), "ILLEGAL_STATE".into()), "revise it instead");
    let ht1_after = contract(payload["results"][0]["id"].clone()).await;
    assert_eq!(yuan(&ht1_after["amount"]), 130_000.0, "{ht1_after}");
    let plan: Vec<f64> = ht1_after["installments"].as_array().unwrap().iter().map(|i| yuan(&i["amount"])).collect();
    assert_eq!(plan, [30_000.0, 100_000.0]);
    assert_eq!(ht1_after["version"], ht1["version"].as_i64().unwrap() + 1, "one write");
    assert_eq!(contract(payload["results"][1]["id"].clone()).await["title"], ht2["title"]);

    // Recording an approval takes contract.approve: a rep has it not, and a contract waiting
    // for approval here is decided here.
    let rep1 = app.login("rep1@demo.local").await;
    let mut by_rep = erp_contract("HT-8", "KD0002", 20_000);
    by_rep["status"] = json!("APPROVED");
    let refused = upsert_contracts(&app, &rep1, json!({"source": "kingdee", "records": [by_rep]})).await;
    assert_eq!(first_error(&refused, 0), ("status".into(), "FORBIDDEN".into()), "{refused}");
    let drafted = upsert_contracts(
        &app,
        &rep1,
        json!({"source": "kingdee", "records": [erp_contract("HT-8", "KD0002", 20_000)]}),
    )
    .await;
    assert_eq!(outcomes(&drafted), ["CREATED"], "{drafted}");
    let ht8 = contract(drafted["results"][0]["id"].clone()).await;
    let submit =
        "mutation($i: ContractActionInput!) { submitContract(input: $i) { contract { status } userErrors { code } } }";
    let body = app.gql(Some(&rep1), submit, json!({"i": {"id": ht8["id"], "expectedVersion": ht8["version"]}})).await;
    assert_eq!(body["data"]["submitContract"]["contract"]["status"], "PENDING_APPROVAL", "{body}");
    let mut in_force = erp_contract("HT-8", "KD0002", 20_000);
    in_force["status"] = json!("APPROVED");
    let waiting = upsert_contracts(&app, &admin, json!({"source": "kingdee", "records": [in_force]})).await;
    assert_eq!(first_error(&waiting, 0), ("status".into(), "ILLEGAL_STATE".into()), "{waiting}");
    let resent = upsert_contracts(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [erp_contract("HT-8", "KD0002", 20_000)]}),
    )
    .await;
    assert_eq!(outcomes(&resent), ["UNCHANGED"], "a waiting contract counts as the draft it was: {resent}");

    // The draft approved in the source, then completed; re-sent as APPROVED it asks nothing.
    edit["status"] = json!("APPROVED");
    let now_in_force = upsert_contracts(&app, &admin, json!({"source": "kingdee", "records": [edit]})).await;
    assert_eq!(outcomes(&now_in_force), ["UPDATED"], "{now_in_force}");
    let ht1_in_force = contract(payload["results"][0]["id"].clone()).await;
    assert_eq!(ht1_in_force["status"], "APPROVED");
    assert_eq!(instant(&ht1_in_force["approvedAt"]), "2026-01-04T16:00:00+00:00");
    assert_eq!(ht1_in_force["customer"]["status"], "WON");
    let completed = upsert_contracts(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [{"externalId": "HT-2", "status": "COMPLETED"}]}),
    )
    .await;
    assert_eq!(outcomes(&completed), ["UPDATED"], "{completed}");
    let ht2_done = contract(payload["results"][1]["id"].clone()).await;
    assert_eq!(ht2_done["status"], "COMPLETED");
    assert!(ht2_done["completedAt"].is_string());
    let resent = upsert_contracts(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [{"externalId": "HT-2", "status": "APPROVED"}]}),
    )
    .await;
    assert_eq!(outcomes(&resent), ["UNCHANGED"], "{resent}");

    // ALL_OR_NOTHING: one bad row, and neither the void nor the new contract is written.
    let void = json!({"externalId": "HT-1", "status": "VOID", "voidReason": "客户取消合作"});
    let refused = upsert_contracts(
        &app,
        &admin,
        json!({"source": "kingdee", "mode": "ALL_OR_NOTHING", "records": [
            void.clone(),
            erp_contract("HT-9", "KD0004", 8_000),
            {"externalId": "HT-2", "status": "VOID", "voidReason": "错误"},
        ]}),
    )
    .await;
    assert_eq!(outcomes(&refused), ["SKIPPED", "SKIPPED", "FAILED"], "{refused}");
    assert_eq!(first_error(&refused, 2), ("status".into(), "ILLEGAL_STATE".into()), "a completed contract stays");
    assert_eq!(contract(payload["results"][0]["id"].clone()).await["status"], "APPROVED");
    let voided = upsert_contracts(&app, &admin, json!({"source": "kingdee", "records": [void]})).await;
    assert_eq!(outcomes(&voided), ["UPDATED"], "{voided}");
    let ht1_void = contract(payload["results"][0]["id"].clone()).await;
    assert_eq!((ht1_void["status"].as_str(), ht1_void["voidReason"].as_str()), (Some("VOID"), Some("客户取消合作")));
    assert!(ht1_void["installments"].as_array().unwrap().iter().all(|i| i["status"] == "VOID"), "{ht1_void}");

    // Money received holds a contract in force: the source cannot void it.
    let mut paid = erp_contract("HT-14", "KD0004", 2_000);
    paid["status"] = json!("APPROVED");
    let paid = upsert_contracts(&app, &admin, json!({"source": "kingdee", "records": [paid]})).await;
    assert_eq!(outcomes(&paid), ["CREATED"], "{paid}");
    let receipt =
        "mutation($i: CreateReceiptInput!) { createReceipt(input: $i) { receipt { status } userErrors { code } } }";
    let body = app
        .gql(
            Some(&admin),
            receipt,
            json!({"i": {"contractId": paid["results"][0]["id"], "receivedOn": "2026-02-10",
                         "method": "BANK_TRANSFER", "amount": "1000"}}),
        )
        .await;
    assert_eq!(body["data"]["createReceipt"]["receipt"]["status"], "APPROVED", "{body}");
    let void_paid = json!({"externalId": "HT-14", "status": "VOID", "voidReason": "客户取消合作"});
    let refused = upsert_contracts(&app, &admin, json!({"source": "kingdee", "records": [void_paid]})).await;
    assert_eq!(first_error(&refused, 0), ("status".into(), "ILLEGAL_STATE".into()), "{refused}");
    assert!(refused["results"][0]["userErrors"][0]["message"].as_str().unwrap().contains("received"), "{refused}");

    // A contract names its sales order by key: one of its own customer's.
    let order =
        upsert_orders(&app, &admin, json!({"source": "kingdee", "records": [erp_order("SO-C1", "KD0001", 1)]})).await;
    assert_eq!(outcomes(&order), ["CREATED"], "{order}");
    let mut signed_for = erp_contract("HT-10", "KD0001", 6_000);
    signed_for["orderExternalId"] = json!("SO-C1");
    let mut elsewhere = erp_contract("HT-11", "KD0002", 6_000);
    elsewhere["orderExternalId"] = json!("SO-C1");
    let mut signer = erp_contract("HT-12", "KD0001", 6_000);
    signer["signerId"] = ht1["id"].clone();
    let mut nobody = erp_contract("HT-15", "KD0001", 6_000);
    let stranger = uuid::Uuid::now_v7();
    nobody["signerId"] =
        json!(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("User:{stranger}")));
    let linked = upsert_contracts(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [signed_for, elsewhere, signer, nobody]}),
    )
    .await;
    assert_eq!(outcomes(&linked), ["CREATED", "FAILED", "FAILED", "FAILED"], "{linked}");
    assert_eq!(first_error(&linked, 3), ("signerId".into(), "NOT_FOUND".into()), "no such user");
    assert_eq!(first_error(&linked, 1), ("orderId".into(), "NOT_FOUND".into()), "another customer's order");
    assert_eq!(first_error(&linked, 2), ("signerId".into(), "INVALID".into()), "not a user's id");
    let ht10 = contract(linked["results"][0]["id"].clone()).await;
    assert_eq!(ht10["orderId"], order["results"][0]["id"], "{ht10}");

    // A rep sees only their own: another rep's customer does not exist for them, nor does
    // a contract of that customer's, by key.
    let scoped = upsert_contracts(
        &app,
        &rep1,
        json!({"source": "kingdee", "records": [
            erp_contract("HT-13", "KD0005", 1_000),
            {"externalId": "HT-2", "notes": "看看"},
            {"externalId": "HT-8", "notes": "补充说明"},
        ]}),
    )
    .await;
    assert_eq!(outcomes(&scoped), ["FAILED", "FAILED", "FAILED"], "{scoped}");
    assert_eq!(first_error(&scoped, 0), ("customerId".into(), "NOT_FOUND".into()));
    assert_eq!(first_error(&scoped, 1), ("externalId".into(), "FORBIDDEN".into()));
    assert_eq!(scoped["results"][1]["id"], Value::Null, "no id of a contract rep1 may not see");
    assert_eq!(first_error(&scoped, 2), ("status".into(), "ILLEGAL_STATE".into()), "waiting for approval");

    // A revision (变更) approved here takes over the source's key: the key names the
    // contract in force, and receipts land on it.
    let rep1_id = app.user_id(&admin, "rep1@demo.local").await;
    let mut kept = erp_contract("HT-16", "KD0001", 8_000);
    kept["status"] = json!("APPROVED");
    kept["ownerId"] = json!(rep1_id);
    let kept_payload = upsert_contracts(&app, &admin, json!({"source": "kingdee", "records": [kept.clone()]})).await;
    assert_eq!(outcomes(&kept_payload), ["CREATED"], "{kept_payload}");
    let ht16 = contract(kept_payload["results"][0]["id"].clone()).await;
    let revise = "mutation($i: ContractActionInput!) { reviseContract(input: $i) { contract { id version } userErrors { code } } }";
    let body = app.gql(Some(&rep1), revise, json!({"i": {"id": ht16["id"], "expectedVersion": ht16["version"]}})).await;
    let revision = body["data"]["reviseContract"]["contract"].clone();
    assert!(revision["id"].is_string(), "{body}");
    let (manager, finance) = (app.login("manager@demo.local").await, app.login("finance@demo.local").await);
    approve_contract(&app, (&rep1, &manager, &finance), &revision).await;
    let resent = upsert_contracts(&app, &admin, json!({"source": "kingdee", "records": [kept]})).await;
    assert_eq!(outcomes(&resent), ["UNCHANGED"], "{resent}");
    assert_eq!(resent["results"][0]["id"], revision["id"], "the key names the revision in force");
    assert_eq!(
        contract(revision["id"].clone()).await["externalKeys"],
        json!([{"source": "kingdee", "externalId": "HT-16"}])
    );

    // Another tenant's keys are its own.
    let other = app.second_tenant("contract-upsert-other").await;
    let payload =
        upsert_contracts(&app, &other, json!({"source": "kingdee", "records": [erp_contract("HT-1", "KD0001", 1)]}))
            .await;
    assert_eq!(first_error(&payload, 0), ("customerExternalId".into(), "NOT_FOUND".into()), "{payload}");
}

#[tokio::test]
async fn a_contract_upsert_costs_the_same_statements_for_2_or_12_contracts() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let call = |prefix: &str, n: u32, terms: &str, status: &str| {
        let customers = ["KD0001", "KD0002", "KD0003", "KD0004"];
        let records: Vec<Value> = (0..n)
            .map(|i| {
                let mut contract = erp_contract(&format!("{prefix}-{i}"), customers[i as usize % 4], 1_000 * (i + 1));
                contract["paymentTerms"] = json!(terms);
                contract["status"] = json!(status);
                contract
            })
            .collect();
        json!({"query": CONTRACTS, "variables": {"i": {"source": "kingdee", "records": records}}})
    };
    let mut counts = Vec::new();
    for (prefix, n) in [("small", 2), ("large", 12)] {
        let created = app.post(Some(&admin), &call(prefix, n, "验收后付款", "DRAFT")).await;
        assert_eq!(created.body["data"]["upsertContracts"]["createdCount"], n, "{}", created.body);
        let mut replan = call(prefix, n, "验收后付款", "DRAFT");
        for record in replan["variables"]["i"]["records"].as_array_mut().unwrap() {
            record["installments"][0]["dueOn"] = json!("2026-03-01");
        }
        let replanned = app.post(Some(&admin), &replan).await;
        assert_eq!(replanned.body["data"]["upsertContracts"]["updatedCount"], n, "{}", replanned.body);
        let updated = app.post(Some(&admin), &call(prefix, n, "预付30%", "APPROVED")).await;
        assert_eq!(updated.body["data"]["upsertContracts"]["updatedCount"], n, "{}", updated.body);
        let unchanged = app.post(Some(&admin), &call(prefix, n, "预付30%", "APPROVED")).await;
        assert_eq!(unchanged.body["data"]["upsertContracts"]["unchangedCount"], n, "{}", unchanged.body);
        let mut void = call(prefix, n, "预付30%", "VOID");
        for record in void["variables"]["i"]["records"].as_array_mut().unwrap() {
            record["voidReason"] = json!("合同作废");
        }
        let voided = app.post(Some(&admin), &void).await;
        assert_eq!(voided.body["data"]["upsertContracts"]["updatedCount"], n, "{}", voided.body);
        counts.push((
            created.statements,
            replanned.statements,
            updated.statements,
            unchanged.statements,
            voided.statements,
        ));
    }
    assert_eq!(counts[0], counts[1], "statements per call do not grow with its contracts");
    assert!(counts[0].0 > 0, "the statement counter is on: {counts:?}");
}

const RECEIPTS: &str = "mutation($i: UpsertReceiptsInput!) { upsertReceipts(input: $i) {
    results { index externalId outcome id userErrors { field code message } }
    createdCount updatedCount unchangedCount failedCount skippedCount userErrors { code message } } }";

async fn upsert_receipts(app: &TestApp, token: &str, input: Value) -> Value {
    let body = app.gql(Some(token), RECEIPTS, json!({"i": input})).await;
    let payload = body["data"]["upsertReceipts"].clone();
    assert!(payload.is_object(), "{body}");
    payload
}

fn erp_receipt(key: &str, contract: &str, amount: &str) -> Value {
    json!({"externalId": key, "contractExternalId": contract, "receivedOn": "2026-02-03",
           "method": "BANK_TRANSFER", "amount": amount, "payer": "上海明远机械制造有限公司"})
}

#[tokio::test]
async fn receipts_are_booked_by_key_allocated_oldest_first_and_only_reversed() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    // Two contracts in force: 10,000 in two halves, and 4,000 in two halves.
    let mut big = erp_contract("HT-R1", "KD0001", 10_000);
    big["status"] = json!("APPROVED");
    let mut small = erp_contract("HT-R2", "KD0003", 4_000);
    small["status"] = json!("APPROVED");
    let contracts = upsert_contracts(&app, &admin, json!({"source": "kingdee", "records": [big, small]})).await;
    assert_eq!(outcomes(&contracts), ["CREATED", "CREATED"], "{contracts}");
    let contract = |row: usize| {
        let (app, admin, id) = (&app, admin.clone(), contracts["results"][row]["id"].clone());
        async move {
            let query = "query($id: ID!) { contract(id: $id) { version received { amount } outstanding { amount }
                installments { status received { amount } } } }";
            let body = app.gql(Some(&admin), query, json!({"id": id})).await;
            assert!(body["data"]["contract"].is_object(), "{body}");
            body["data"]["contract"].clone()
        }
    };
    let received = |c: &Value| -> Vec<f64> {
        c["installments"].as_array().unwrap().iter().map(|i| yuan(&i["received"])).collect()
    };
    let before = contract(0).await;

    // In row order, oldest installments first: 3,000 fills part of the first half, 4,000
    // the rest of it and part of the second; one row per failure.
    let mut draft_contract = erp_contract("HT-R3", "KD0001", 1_000);
    draft_contract["status"] = json!("DRAFT");
    let drafted = upsert_contracts(&app, &admin, json!({"source": "kingdee", "records": [draft_contract]})).await;
    assert_eq!(outcomes(&drafted), ["CREATED"], "{drafted}");
    let first = json!({"source": "kingdee", "records": [
        erp_receipt("SK-1", "HT-R1", "3000"),
        erp_receipt("SK-2", "HT-R1", "4000"),
        erp_receipt("SK-3", "HT-R2", "5000"),
        erp_receipt("SK-4", "HT-R3", "100"),
        erp_receipt("SK-5", "HT-NOPE", "100"),
        {"externalId": "SK-6", "contractExternalId": "HT-R1"},
        erp_receipt("SK-7", "HT-R1", "0.001"),
    ]});
    let payload = upsert_receipts(&app, &admin, first.clone()).await;
    assert_eq!(
        outcomes(&payload),
        ["CREATED", "CREATED", "FAILED", "FAILED", "FAILED", "FAILED", "FAILED"],
        "{payload}"
    );
    assert_eq!(first_error(&payload, 2), ("amount".into(), "INVALID".into()), "no advances: {payload}");
    assert_eq!(first_error(&payload, 3), ("contractId".into(), "ILLEGAL_STATE".into()), "a draft takes no money");
    assert_eq!(first_error(&payload, 4), ("contractExternalId".into(), "NOT_FOUND".into()));
    assert_eq!(first_error(&payload, 5), ("receivedOn".into(), "REQUIRED".into()));
    assert_eq!(first_error(&payload, 6), ("amount".into(), "INVALID".into()), "the contract's places");
    let after = contract(0).await;
    assert_eq!(yuan(&after["received"]), 7_000.0, "{after}");
    assert_eq!(received(&after), [5_000.0, 2_000.0], "oldest first: {after}");
    assert_eq!(after["installments"][0]["status"], "RECEIVED");
    assert_eq!(after["version"], before["version"].as_i64().unwrap() + 1, "one write for the call");
    let body = app
        .gql(
            Some(&admin),
            "query($id: ID!) { receipt(id: $id) { number status amount { amount } payer externalKeys { source externalId } } }",
            json!({"id": payload["results"][1]["id"]}),
        )
        .await;
    let sk2 = &body["data"]["receipt"];
    assert_eq!(sk2["status"], "APPROVED", "{body}");
    assert_eq!(sk2["externalKeys"], json!([{"source": "kingdee", "externalId": "SK-2"}]));
    assert!(sk2["number"].as_str().is_some_and(|n| !n.is_empty()), "numbered: {sk2}");

    // Sent again, nothing moves; other figures for a stored key are refused.
    let again = upsert_receipts(&app, &admin, first).await;
    assert_eq!(outcomes(&again)[..2], ["UNCHANGED", "UNCHANGED"], "{again}");
    assert_eq!(contract(0).await["version"], after["version"]);
    let edited = upsert_receipts(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [erp_receipt("SK-1", "HT-R1", "3500"), erp_receipt("SK-2", "HT-R2", "4000")]}),
    )
    .await;
    assert_eq!(first_error(&edited, 0), ("amount".into(), "ILLEGAL_STATE".into()), "{edited}");
    assert_eq!(first_error(&edited, 1), ("contractId".into(), "ILLEGAL_STATE".into()), "{edited}");

    // ALL_OR_NOTHING: the reversal and the new receipt wait for the bad row.
    let reverse = json!({"externalId": "SK-1", "status": "REVERSED", "reversedReason": "银行退票"});
    let refused = upsert_receipts(
        &app,
        &admin,
        json!({"source": "kingdee", "mode": "ALL_OR_NOTHING", "records": [
            reverse.clone(),
            erp_receipt("SK-8", "HT-R2", "1500"),
            {"externalId": "SK-2", "status": "REVERSED"},
        ]}),
    )
    .await;
    assert_eq!(outcomes(&refused), ["SKIPPED", "SKIPPED", "FAILED"], "{refused}");
    assert_eq!(first_error(&refused, 2), ("reversedReason".into(), "REQUIRED".into()));
    assert_eq!(yuan(&contract(0).await["received"]), 7_000.0);
    let reversed = upsert_receipts(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [reverse.clone(), erp_receipt("SK-8", "HT-R2", "1500")]}),
    )
    .await;
    assert_eq!(outcomes(&reversed), ["UPDATED", "CREATED"], "{reversed}");
    let r1 = contract(0).await;
    assert_eq!(yuan(&r1["received"]), 4_000.0, "{r1}");
    assert_eq!(received(&r1), [2_000.0, 2_000.0], "SK-1's 3,000 came back off the first half: {r1}");
    assert_eq!(received(&contract(1).await), [1_500.0, 0.0]);
    let twice = upsert_receipts(&app, &admin, json!({"source": "kingdee", "records": [reverse]})).await;
    assert_eq!(outcomes(&twice), ["UNCHANGED"], "{twice}");

    // Under a receipt approval flow a synced receipt waits, as a typed-in one does, and
    // holds its contract open; re-sent as booked it asks nothing.
    let manager = app.user_id(&admin, "manager@demo.local").await;
    let flow = "mutation($i: ApprovalFlowInput!) { createApprovalFlow(input: $i) { flow { id } userErrors { code } } }";
    let steps = json!([{"name": "财务确认", "mode": "ANY", "approvers": [{"kind": "USER", "userId": manager}]}]);
    let body = app
        .gql(
            Some(&admin),
            flow,
            json!({"i": {"kind": "RECEIPT", "name": "回款确认", "condition": {"amountAbove": "0"}, "steps": steps}}),
        )
        .await;
    assert!(body["data"]["createApprovalFlow"]["flow"]["id"].is_string(), "{body}");
    let waiting =
        upsert_receipts(&app, &admin, json!({"source": "kingdee", "records": [erp_receipt("SK-10", "HT-R1", "1000")]}))
            .await;
    assert_eq!(outcomes(&waiting), ["CREATED"], "{waiting}");
    let body = app
        .gql(
            Some(&admin),
            "query($id: ID!) { receipt(id: $id) { status } }",
            json!({"id": waiting["results"][0]["id"]}),
        )
        .await;
    assert_eq!(body["data"]["receipt"]["status"], "PENDING_APPROVAL", "{body}");
    assert_eq!(yuan(&contract(0).await["received"]), 4_000.0, "counted only once approved");
    let mut booked = erp_receipt("SK-10", "HT-R1", "1000");
    booked["status"] = json!("APPROVED");
    let resent = upsert_receipts(&app, &admin, json!({"source": "kingdee", "records": [booked]})).await;
    assert_eq!(outcomes(&resent), ["UNCHANGED"], "{resent}");
    let close = upsert_contracts(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [{"externalId": "HT-R1", "status": "COMPLETED"}]}),
    )
    .await;
    assert_eq!(first_error(&close, 0), ("status".into(), "ILLEGAL_STATE".into()), "a receipt waits: {close}");

    // A rep books only on contracts they see, and another tenant's keys are its own.
    let rep1 = app.login("rep1@demo.local").await;
    let scoped = upsert_receipts(
        &app,
        &rep1,
        json!({"source": "kingdee", "records": [
            erp_receipt("SK-9", "HT-R2", "100"),
            {"externalId": "SK-8", "note": "补记"},
        ]}),
    )
    .await;
    assert_eq!(first_error(&scoped, 0), ("contractId".into(), "NOT_FOUND".into()), "{scoped}");
    assert_eq!(first_error(&scoped, 1), ("externalId".into(), "FORBIDDEN".into()), "{scoped}");
    let other = app.second_tenant("receipt-upsert-other").await;
    let payload =
        upsert_receipts(&app, &other, json!({"source": "kingdee", "records": [erp_receipt("SK-1", "HT-R1", "1")]}))
            .await;
    assert_eq!(first_error(&payload, 0), ("contractExternalId".into(), "NOT_FOUND".into()), "{payload}");
}

#[tokio::test]
async fn a_receipt_upsert_costs_the_same_statements_for_2_or_12_receipts() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let records: Vec<Value> = ["KD0001", "KD0002", "KD0003", "KD0004"]
        .iter()
        .enumerate()
        .map(|(i, customer)| {
            let mut c = erp_contract(&format!("HT-S{i}"), customer, 100_000);
            c["status"] = json!("APPROVED");
            c
        })
        .collect();
    let contracts = upsert_contracts(&app, &admin, json!({"source": "kingdee", "records": records})).await;
    assert_eq!(contracts["createdCount"], 4, "{contracts}");
    let call = |prefix: &str, n: usize, reversed: bool| {
        let records: Vec<Value> = (0..n)
            .map(|i| {
                let mut r = erp_receipt(&format!("{prefix}-{i}"), &format!("HT-S{}", i % 4), "1000");
                if reversed {
                    r["status"] = json!("REVERSED");
                    r["reversedReason"] = json!("冲销");
                }
                r
            })
            .collect();
        json!({"query": RECEIPTS, "variables": {"i": {"source": "kingdee", "records": records}}})
    };
    let mut counts = Vec::new();
    for (prefix, n) in [("small", 2), ("large", 12)] {
        let created = app.post(Some(&admin), &call(prefix, n, false)).await;
        assert_eq!(created.body["data"]["upsertReceipts"]["createdCount"], n, "{}", created.body);
        let unchanged = app.post(Some(&admin), &call(prefix, n, false)).await;
        assert_eq!(unchanged.body["data"]["upsertReceipts"]["unchangedCount"], n, "{}", unchanged.body);
        let reversed = app.post(Some(&admin), &call(prefix, n, true)).await;
        assert_eq!(reversed.body["data"]["upsertReceipts"]["updatedCount"], n, "{}", reversed.body);
        counts.push((created.statements, unchanged.statements, reversed.statements));
    }
    assert_eq!(counts[0], counts[1], "statements per call do not grow with its receipts");
    assert!(counts[0].0 > 0, "the statement counter is on: {counts:?}");
}

const INVOICES: &str = "mutation($i: UpsertInvoicesInput!) { upsertInvoices(input: $i) {
    results { index externalId outcome id userErrors { field code message } }
    createdCount updatedCount unchangedCount failedCount skippedCount userErrors { code message } } }";

async fn upsert_invoices(app: &TestApp, token: &str, input: Value) -> Value {
    let body = app.gql(Some(token), INVOICES, json!({"i": input})).await;
    let payload = body["data"]["upsertInvoices"].clone();
    assert!(payload.is_object(), "{body}");
    payload
}

/// An ordinary VAT invoice at 13 % on the contract with key `contract`.
fn erp_invoice(key: &str, contract: &str, amount: &str) -> Value {
    json!({"externalId": key, "contractExternalId": contract, "vatKind": "ORDINARY", "rate": "VAT_13",
           "amount": amount})
}

/// [`erp_invoice`], issued by the tax system with `number` on 2026-02-10.
fn issued_invoice(key: &str, contract: &str, amount: &str, number: &str) -> Value {
    let mut invoice = erp_invoice(key, contract, amount);
    invoice["status"] = json!("ISSUED");
    invoice["invoiceNumber"] = json!(number);
    invoice["issuedOn"] = json!("2026-02-10");
    invoice
}

/// A person's title, as a finance system sends it.
fn person_title(name: &str) -> Value {
    json!({"titleKind": "PERSON", "title": name})
}

#[tokio::test]
async fn invoices_are_synced_by_key_held_against_the_contract_and_only_issued_or_voided() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    // Two contracts in force (上海明远's, rep1's, has a default billing profile; KD0003's
    // customer none) and a draft.
    let rep1_id = app.user_id(&admin, "rep1@demo.local").await;
    let mut big = erp_contract("HT-I1", "KD0001", 10_000);
    big["status"] = json!("APPROVED");
    big["ownerId"] = json!(rep1_id);
    let mut other = erp_contract("HT-I2", "KD0003", 4_000);
    other["status"] = json!("APPROVED");
    let draft = erp_contract("HT-I3", "KD0001", 1_000);
    let contracts = upsert_contracts(&app, &admin, json!({"source": "kingdee", "records": [big, other, draft]})).await;
    assert_eq!(outcomes(&contracts), ["CREATED", "CREATED", "CREATED"], "{contracts}");
    let contract = |row: usize| {
        let (app, admin, id) = (&app, admin.clone(), contracts["results"][row]["id"].clone());
        async move {
            let query = "query($id: ID!) { contract(id: $id) { version invoiced { amount } } }";
            let body = app.gql(Some(&admin), query, json!({"id": id})).await;
            assert!(body["data"]["contract"].is_object(), "{body}");
            body["data"]["contract"].clone()
        }
    };
    let invoice = |id: Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let query = "query($id: ID!) { invoice(id: $id) { number status version amount { amount } tax { amount }
                invoiceNumber issuedOn title { title titleKind } profileId approval { id status }
                externalKeys { source externalId } } }";
            let body = app.gql(Some(&admin), query, json!({"id": id})).await;
            assert!(body["data"]["invoice"].is_object(), "{body}");
            body["data"]["invoice"].clone()
        }
    };
    let before = contract(0).await;

    // In row order, each held against what is left: 3,000 and 5,000 fit in 10,000, a
    // second 3,000 does not; one row per failure.
    let mut special_for_person = erp_invoice("FP-9", "HT-I2", "100");
    special_for_person["vatKind"] = json!("SPECIAL");
    special_for_person["title"] = person_title("张三");
    let mut titled = erp_invoice("FP-5", "HT-I2", "100");
    titled["title"] = person_title("张三");
    titled["rate"] = json!("VAT_6");
    let first = json!({"source": "kingdee", "records": [
        erp_invoice("FP-1", "HT-I1", "3000"),
        issued_invoice("FP-2", "HT-I1", "5000", "12345001"),
        erp_invoice("FP-3", "HT-I1", "3000"),
        erp_invoice("FP-4", "HT-I2", "100"),
        titled,
        erp_invoice("FP-6", "HT-I3", "100"),
        issued_invoice("FP-7", "HT-I1", "100", "12345001"),
        {"externalId": "FP-8", "contractExternalId": "HT-I1"},
        special_for_person,
        issued_invoice("FP-10", "HT-I1", "100", "1234"),
    ]});
    let payload = upsert_invoices(&app, &admin, first.clone()).await;
    assert_eq!(
        outcomes(&payload),
        ["CREATED", "CREATED", "FAILED", "FAILED", "CREATED", "FAILED", "FAILED", "FAILED", "FAILED", "FAILED"],
        "{payload}"
    );
    assert_eq!(first_error(&payload, 2), ("amount".into(), "INVALID".into()), "only 2,000 left: {payload}");
    assert_eq!(first_error(&payload, 3), ("profileId".into(), "REQUIRED".into()), "no default profile");
    assert_eq!(first_error(&payload, 5), ("contractId".into(), "ILLEGAL_STATE".into()), "a draft is not billed");
    assert_eq!(first_error(&payload, 6), ("invoiceNumber".into(), "DUPLICATE".into()), "one number, one invoice");
    assert_eq!(first_error(&payload, 7), ("vatKind".into(), "REQUIRED".into()));
    assert_eq!(first_error(&payload, 8), ("vatKind".into(), "INVALID".into()), "a special invoice to a person");
    assert_eq!(first_error(&payload, 9), ("invoiceNumber".into(), "INVALID".into()));
    let after = contract(0).await;
    assert_eq!(yuan(&after["invoiced"]), 8_000.0, "{after}");
    assert_eq!(after["version"], before["version"].as_i64().unwrap() + 1, "one write for the call");
    assert_eq!(yuan(&contract(1).await["invoiced"]), 100.0);

    // The demo's invoice flow (finance checks every request) takes the request; the
    // issued one was issued by the tax system, so it asks nothing.
    let fp1 = invoice(payload["results"][0]["id"].clone()).await;
    assert_eq!(fp1["status"], "REQUESTED", "{fp1}");
    assert_eq!(fp1["approval"]["status"], "PENDING", "{fp1}");
    assert_eq!(fp1["title"]["title"], "上海明远机械制造有限公司", "the default profile: {fp1}");
    assert!(fp1["profileId"].is_string(), "{fp1}");
    let fp2 = invoice(payload["results"][1]["id"].clone()).await;
    assert_eq!(fp2["status"], "ISSUED", "{fp2}");
    assert_eq!((fp2["invoiceNumber"].as_str(), fp2["issuedOn"].as_str()), (Some("12345001"), Some("2026-02-10")));
    assert_eq!(yuan(&fp2["tax"]), 575.22, "5,000 × 13/113, half up: {fp2}");
    assert!(fp2["approval"].is_null(), "{fp2}");
    assert_eq!(fp2["externalKeys"], json!([{"source": "kingdee", "externalId": "FP-2"}]));
    assert!(fp2["number"].as_str().is_some_and(|n| n.starts_with("KP")), "numbered: {fp2}");
    let fp5 = invoice(payload["results"][4]["id"].clone()).await;
    assert_eq!((fp5["title"]["titleKind"].as_str(), fp5["profileId"].is_null()), (Some("PERSON"), true), "{fp5}");

    // Sent again, nothing moves; other terms for a stored key are refused, and a request
    // waiting here is not issued past its approval.
    let again = upsert_invoices(&app, &admin, first).await;
    assert_eq!(outcomes(&again)[..2], ["UNCHANGED", "UNCHANGED"], "{again}");
    assert_eq!(outcomes(&again)[4], "UNCHANGED", "{again}");
    assert_eq!(contract(0).await["version"], after["version"]);
    let edited = upsert_invoices(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [
            erp_invoice("FP-1", "HT-I1", "3500"),
            issued_invoice("FP-2", "HT-I1", "5000", "12345002"),
            issued_invoice("FP-1", "HT-I1", "3000", "12345003"),
            {"externalId": "FP-5", "title": person_title("李四")},
        ]}),
    )
    .await;
    assert_eq!(first_error(&edited, 0), ("amount".into(), "ILLEGAL_STATE".into()), "{edited}");
    assert_eq!(first_error(&edited, 1), ("invoiceNumber".into(), "ILLEGAL_STATE".into()), "{edited}");
    assert_eq!(first_error(&edited, 2), ("externalId".into(), "DUPLICATE".into()), "a repeated key: {edited}");
    assert_eq!(first_error(&edited, 3), ("profileId".into(), "ILLEGAL_STATE".into()), "{edited}");
    let waiting = upsert_invoices(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [issued_invoice("FP-1", "HT-I1", "3000", "12345003")]}),
    )
    .await;
    assert_eq!(first_error(&waiting, 0), ("status".into(), "ILLEGAL_STATE".into()), "{waiting}");

    // Once finance approves the request, the tax system's issue is recorded by key.
    let finance = app.login("finance@demo.local").await;
    let approve = "mutation($i: ApprovalActionInput!) { approve(input: $i) { request { status } userErrors { field code message } } }";
    ok(&app, &finance, approve, json!({"requestId": fp1["approval"]["id"]}), ("approve", "request")).await;
    let issued = upsert_invoices(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [issued_invoice("FP-1", "HT-I1", "3000", "12345003")]}),
    )
    .await;
    assert_eq!(outcomes(&issued), ["UPDATED"], "{issued}");
    let fp1 = invoice(payload["results"][0]["id"].clone()).await;
    assert_eq!((fp1["status"].as_str(), fp1["invoiceNumber"].as_str()), (Some("ISSUED"), Some("12345003")), "{fp1}");

    // ALL_OR_NOTHING: the void waits for the bad row; then it gives its amount back, and
    // its number stays taken (the tax system never reissues one).
    let void = json!({"externalId": "FP-2", "status": "VOID", "voidReason": "开错抬头"});
    let refused = upsert_invoices(
        &app,
        &admin,
        json!({"source": "kingdee", "mode": "ALL_OR_NOTHING", "records": [
            void.clone(),
            {"externalId": "FP-5", "status": "VOID", "voidReason": "重复"},
        ]}),
    )
    .await;
    assert_eq!(outcomes(&refused), ["SKIPPED", "FAILED"], "{refused}");
    assert_eq!(first_error(&refused, 1), ("status".into(), "ILLEGAL_STATE".into()), "FP-5 waits: {refused}");
    assert_eq!(yuan(&contract(0).await["invoiced"]), 8_000.0);
    let voided = upsert_invoices(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [void.clone(), issued_invoice("FP-11", "HT-I1", "100", "12345001")]}),
    )
    .await;
    assert_eq!(outcomes(&voided), ["UPDATED", "FAILED"], "{voided}");
    assert_eq!(first_error(&voided, 1), ("invoiceNumber".into(), "DUPLICATE".into()), "{voided}");
    assert_eq!(yuan(&contract(0).await["invoiced"]), 3_000.0);
    assert_eq!(invoice(payload["results"][1]["id"].clone()).await["status"], "VOID");
    let twice = upsert_invoices(&app, &admin, json!({"source": "kingdee", "records": [void]})).await;
    assert_eq!(outcomes(&twice), ["UNCHANGED"], "{twice}");

    // A rep requests on the contracts they see, records no issue without invoice.issue,
    // and names no invoice outside their scope; another tenant's keys are its own.
    let rep1 = app.login("rep1@demo.local").await;
    let scoped = upsert_invoices(
        &app,
        &rep1,
        json!({"source": "kingdee", "records": [
            erp_invoice("FP-14", "HT-I1", "100"),
            issued_invoice("FP-12", "HT-I1", "100", "12345009"),
            erp_invoice("FP-13", "HT-I2", "100"),
            {"externalId": "FP-5", "note": "补记"},
        ]}),
    )
    .await;
    assert_eq!(outcomes(&scoped)[0], "CREATED", "{scoped}");
    assert_eq!(first_error(&scoped, 1), ("status".into(), "FORBIDDEN".into()), "{scoped}");
    assert_eq!(first_error(&scoped, 2), ("contractId".into(), "NOT_FOUND".into()), "{scoped}");
    assert_eq!(first_error(&scoped, 3), ("externalId".into(), "FORBIDDEN".into()), "{scoped}");
    assert_eq!(yuan(&contract(0).await["invoiced"]), 3_100.0);
    let other = app.second_tenant("invoice-upsert-other").await;
    let payload =
        upsert_invoices(&app, &other, json!({"source": "kingdee", "records": [erp_invoice("FP-1", "HT-I1", "1")]}))
            .await;
    assert_eq!(first_error(&payload, 0), ("contractExternalId".into(), "NOT_FOUND".into()), "{payload}");
}

#[tokio::test]
async fn invoice_upserts_refuse_what_a_status_has_no_use_for_and_keep_what_finance_did() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1_id = app.user_id(&admin, "rep1@demo.local").await;
    let mut open = erp_contract("HT-J1", "KD0001", 10_000);
    open["status"] = json!("APPROVED");
    open["ownerId"] = json!(rep1_id);
    let mut done = erp_contract("HT-J2", "KD0001", 1_000);
    done["status"] = json!("COMPLETED");
    let mut other = erp_contract("HT-J3", "KD0003", 1_000);
    other["status"] = json!("APPROVED");
    let contracts = upsert_contracts(&app, &admin, json!({"source": "kingdee", "records": [open, done, other]})).await;
    assert_eq!(outcomes(&contracts), ["CREATED", "CREATED", "CREATED"], "{contracts}");
    let mingyuan = customer(&app, &admin, "上海明远机械制造有限公司").await;
    let body = app
        .gql(Some(&admin), "query($c: ID!) { billingProfiles(customerId: $c) { id } }", json!({"c": mingyuan}))
        .await;
    let profile = body["data"]["billingProfiles"][0]["id"].clone();
    assert!(profile.is_string(), "{body}");

    // A completed contract is billed; a failed row holds neither amount nor number; a
    // profile of another customer is not found; a number without ISSUED is refused.
    let mut unasked_number = erp_invoice("FP-3", "HT-J1", "100");
    unasked_number["invoiceNumber"] = json!("22222003");
    let mut foreign_profile = erp_invoice("FP-6", "HT-J3", "100");
    foreign_profile["profileId"] = profile;
    let payload = upsert_invoices(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [
            issued_invoice("FP-1", "HT-J1", "9000", "22222001"),
            issued_invoice("FP-2", "HT-J2", "1000", "22222002"),
            unasked_number,
            issued_invoice("FP-4", "HT-J1", "5000", "22222004"),
            issued_invoice("FP-5", "HT-J1", "500", "22222004"),
            foreign_profile,
        ]}),
    )
    .await;
    assert_eq!(outcomes(&payload), ["CREATED", "CREATED", "FAILED", "FAILED", "CREATED", "FAILED"], "{payload}");
    assert_eq!(first_error(&payload, 2), ("invoiceNumber".into(), "INVALID".into()), "{payload}");
    assert_eq!(first_error(&payload, 3), ("amount".into(), "INVALID".into()), "{payload}");
    assert_eq!(first_error(&payload, 5), ("profileId".into(), "NOT_FOUND".into()), "{payload}");

    // What finance did here stands: the request as first sent is unchanged, an issued
    // invoice keeps its date, a reason needs VOID; a void frees its amount for a later
    // row of the same call.
    let mut as_requested = issued_invoice("FP-2", "HT-J2", "1000", "22222002");
    as_requested["status"] = json!("REQUESTED");
    let mut redated = issued_invoice("FP-2", "HT-J2", "1000", "22222002");
    redated["issuedOn"] = json!("2026-02-11");
    let payload = upsert_invoices(
        &app,
        &admin,
        json!({"source": "kingdee", "records": [
            as_requested,
            {"externalId": "FP-5", "voidReason": "重复"},
            {"externalId": "FP-1", "status": "VOID", "voidReason": "金额有误"},
            issued_invoice("FP-7", "HT-J1", "9000", "22222007"),
        ]}),
    )
    .await;
    assert_eq!(outcomes(&payload), ["UNCHANGED", "FAILED", "UPDATED", "CREATED"], "{payload}");
    assert_eq!(first_error(&payload, 1), ("voidReason".into(), "INVALID".into()), "{payload}");
    let payload = upsert_invoices(&app, &admin, json!({"source": "kingdee", "records": [redated]})).await;
    assert_eq!(first_error(&payload, 0), ("issuedOn".into(), "ILLEGAL_STATE".into()), "{payload}");

    // rep1 sees their contract's invoices but voids none without invoice.issue.
    let rep1 = app.login("rep1@demo.local").await;
    let void = json!({"externalId": "FP-5", "status": "VOID", "voidReason": "重复"});
    let payload = upsert_invoices(&app, &rep1, json!({"source": "kingdee", "records": [void]})).await;
    assert_eq!(first_error(&payload, 0), ("status".into(), "FORBIDDEN".into()), "{payload}");

    // Without an invoice flow a request is approved at once (待开票), with no approval.
    let body = app.gql(Some(&admin), "{ approvalFlows(kind: INVOICE) { id version } }", json!({})).await;
    for flow in body["data"]["approvalFlows"].as_array().unwrap_or_else(|| panic!("{body}")) {
        let delete = "mutation($i: DeleteApprovalFlowInput!) { deleteApprovalFlow(input: $i) { userErrors { code } } }";
        let input = json!({"i": {"id": flow["id"], "expectedVersion": flow["version"]}});
        let deleted = app.gql(Some(&admin), delete, input).await;
        assert_eq!(deleted["data"]["deleteApprovalFlow"]["userErrors"], json!([]), "{deleted}");
    }
    let payload =
        upsert_invoices(&app, &rep1, json!({"source": "kingdee", "records": [erp_invoice("FP-8", "HT-J1", "100")]}))
            .await;
    assert_eq!(outcomes(&payload), ["CREATED"], "{payload}");
    let query = "query($id: ID!) { invoice(id: $id) { status approval { id } } }";
    let body = app.gql(Some(&rep1), query, json!({"id": payload["results"][0]["id"]})).await;
    assert_eq!(body["data"]["invoice"], json!({"status": "APPROVED", "approval": null}), "{body}");
}

#[tokio::test]
async fn an_invoice_upsert_costs_the_same_statements_for_2_or_12_invoices() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let records: Vec<Value> = ["KD0001", "KD0002", "KD0003", "KD0004"]
        .iter()
        .enumerate()
        .map(|(i, customer)| {
            let mut c = erp_contract(&format!("HT-S{i}"), customer, 100_000);
            c["status"] = json!("APPROVED");
            c
        })
        .collect();
    let contracts = upsert_contracts(&app, &admin, json!({"source": "kingdee", "records": records})).await;
    assert_eq!(contracts["createdCount"], 4, "{contracts}");
    let call = |(prefix, base): (&str, usize), n: usize, voided: bool| {
        let records: Vec<Value> = (0..n)
            .map(|i| {
                let number = format!("{:08}", base + i);
                let mut r = issued_invoice(&format!("{prefix}-{i}"), &format!("HT-S{}", i % 4), "1000", &number);
                r["title"] = person_title("王五");
                if voided {
                    r["status"] = json!("VOID");
                    r["voidReason"] = json!("开错");
                }
                r
            })
            .collect();
        json!({"query": INVOICES, "variables": {"i": {"source": "kingdee", "records": records}}})
    };
    let mut counts = Vec::new();
    for (prefix, n) in [(("small", 10_000_000), 2), (("large", 20_000_000), 12)] {
        let created = app.post(Some(&admin), &call(prefix, n, false)).await;
        assert_eq!(created.body["data"]["upsertInvoices"]["createdCount"], n, "{}", created.body);
        let unchanged = app.post(Some(&admin), &call(prefix, n, false)).await;
        assert_eq!(unchanged.body["data"]["upsertInvoices"]["unchangedCount"], n, "{}", unchanged.body);
        let voided = app.post(Some(&admin), &call(prefix, n, true)).await;
        assert_eq!(voided.body["data"]["upsertInvoices"]["updatedCount"], n, "{}", voided.body);
        counts.push((created.statements, unchanged.statements, voided.statements));
    }
    assert_eq!(counts[0], counts[1], "statements per call do not grow with its invoices");
    assert!(counts[0].0 > 0, "the statement counter is on: {counts:?}");
}

const INTERACTIONS: &str = "mutation($i: UpsertInteractionsInput!) { upsertInteractions(input: $i) {
    results { index externalId outcome id userErrors { field code message } }
    createdCount updatedCount unchangedCount failedCount skippedCount userErrors { code message } } }";

#[tokio::test]
async fn interactions_are_upserted_by_key_and_never_edited() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let send = |token: String, input: Value| {
        let app = &app;
        async move {
            let body = app.gql(Some(&token), INTERACTIONS, json!({"i": input})).await;
            let payload = body["data"]["upsertInteractions"].clone();
            assert!(payload.is_object(), "{body}");
            payload
        }
    };
    let call = |key: &str, customer: &str, content: &str| {
        json!({"externalId": key, "customerExternalId": customer, "channel": "CALL",
               "occurredAt": "2026-11-30T09:30:00.123+08:00", "content": content})
    };
    let first = json!({"source": "kingdee", "records": [
        call("CDR-1", "KD0001", "客户来电询问交期"),
        call("CDR-2", "KD0002", " 回访：设备运行正常 "),
        {"externalId": "CDR-3", "customerExternalId": "KD0001", "channel": "CALL", "content": "没有时间"},
        call("CDR-4", "KD-NOPE", "查无此客户"),
        call("CDR-1", "KD0001", "同一通话又发一次"),
    ]});
    let payload = send(admin.clone(), first.clone()).await;
    assert_eq!(outcomes(&payload), ["CREATED", "CREATED", "FAILED", "FAILED", "FAILED"], "{payload}");
    assert_eq!(first_error(&payload, 2), ("occurredAt".into(), "REQUIRED".into()));
    assert_eq!(first_error(&payload, 3), ("customerExternalId".into(), "NOT_FOUND".into()));
    assert_eq!(first_error(&payload, 4), ("externalId".into(), "DUPLICATE".into()));
    let timeline = "query($id: ID!) { node(id: $id) { ... on Interaction { content customer { name } } } }";
    let body = app.gql(Some(&admin), timeline, json!({"id": payload["results"][1]["id"]})).await;
    assert_eq!(body["data"]["node"]["content"], "回访：设备运行正常", "{body}");
    assert_eq!(body["data"]["node"]["customer"]["name"], "苏州恒信电子科技有限公司");

    // Sent again as they are: unchanged. Sent with other content: refused, nothing edited.
    let again = send(admin.clone(), first).await;
    assert_eq!(outcomes(&again)[..2], ["UNCHANGED", "UNCHANGED"], "{again}");
    assert_eq!(again["results"][0]["id"], payload["results"][0]["id"]);
    let edited = send(
        admin.clone(),
        json!({"source": "kingdee", "mode": "ALL_OR_NOTHING", "records": [
            call("CDR-5", "KD0001", "新的通话"),
            call("CDR-1", "KD0001", "改过的内容"),
        ]}),
    )
    .await;
    assert_eq!(outcomes(&edited), ["SKIPPED", "FAILED"], "{edited}");
    assert_eq!(first_error(&edited, 1), ("externalId".into(), "ILLEGAL_STATE".into()));
    let alone =
        send(admin.clone(), json!({"source": "kingdee", "records": [call("CDR-5", "KD0001", "新的通话")]})).await;
    assert_eq!(outcomes(&alone), ["CREATED"], "CDR-5 was not written by the refused call: {alone}");

    // A repeated key is not written even when its first copy fails.
    let repeated = send(
        admin.clone(),
        json!({"source": "kingdee", "records": [
            {"externalId": "CDR-6", "customerExternalId": "KD0001", "channel": "CALL", "content": "没有时间"},
            call("CDR-6", "KD0001", "第二份"),
            call("CDR-7", "KD0001", "另一通电话"),
        ]}),
    )
    .await;
    assert_eq!(outcomes(&repeated), ["FAILED", "FAILED", "CREATED"], "{repeated}");
    let later = send(admin.clone(), json!({"source": "kingdee", "records": [call("CDR-6", "KD0001", "第二份")]})).await;
    assert_eq!(outcomes(&later), ["CREATED"], "CDR-6 was not stored by its repeat: {later}");

    // rep3 sees neither 上海明远 nor its calls: the key is refused without an id.
    let rep3 = app.login("rep3@demo.local").await;
    let scoped = send(
        rep3,
        json!({"source": "kingdee", "records": [
            call("CDR-1", "KD0001", "客户来电询问交期"),
            call("CDR-9", "KD0001", "不可见的客户"),
        ]}),
    )
    .await;
    assert_eq!(outcomes(&scoped), ["FAILED", "FAILED"], "{scoped}");
    assert_eq!(first_error(&scoped, 0), ("externalId".into(), "FORBIDDEN".into()));
    assert_eq!(scoped["results"][0]["id"], Value::Null);
    assert_eq!(first_error(&scoped, 1), ("customerId".into(), "NOT_FOUND".into()));

    // The source `manual` is the typed-in records' own.
    let body = app.gql(Some(&admin), INTERACTIONS, json!({"i": {"source": "manual", "records": []}})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
}
