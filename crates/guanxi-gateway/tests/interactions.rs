//! Interactions, ingest and the timeline, over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use guanxi_store::ConnectionTrait;
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateInteractionInput!) { createInteraction(input: $i) { interaction { id channel content author { email } contacts { name } customer { name lastInteractionAt nextFollowUpAt } } userErrors { field code } } }";
const INGEST: &str = "mutation($i: IngestInteractionsInput!) { ingestInteractions(input: $i) { createdCount existingCount failedCount results { index created interaction { id source externalId customer { name } } userErrors { field code } } } }";
const TIMELINE: &str = "query($id: ID!, $after: String, $kinds: [TimelineKind!]) { timeline(customerId: $id, first: 3, after: $after, kinds: $kinds) { pageInfo { hasNextPage endCursor } edges { node { type occurredAt interaction { content } change { operation } } } } }";

async fn interaction_rows(app: &TestApp) -> usize {
    app.db
        .connection()
        .query_all_raw(guanxi_store::dialect::raw_statement(app.db.db_backend(), "SELECT id FROM interactions", []))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn an_interaction_moves_the_customers_clock_in_the_same_write() {
    let app = spawn_demo().await;
    let rep = app.login("rep1@demo.local").await;
    let id = customer(&app, &rep, "上海明远机械制造有限公司").await;
    let contact = app
        .gql(
            Some(&rep),
            "query($id: ID!) { contacts(filter: {customerId: {eq: $id}, name: {eq: \"王建国\"}}) { nodes { id } } }",
            json!({"id": id}),
        )
        .await;
    let boss = contact["data"]["contacts"]["nodes"][0]["id"].clone();
    let next = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let body = app
        .gql(Some(&rep), CREATE, json!({"i": {"customerId": id, "channel": "WECHAT", "content": "微信确认了报价单", "contactIds": [boss], "nextFollowUpAt": next}}))
        .await;
    let created = &body["data"]["createInteraction"]["interaction"];
    assert_eq!(created["author"]["email"], "rep1@demo.local", "{body}");
    assert_eq!(created["contacts"][0]["name"], "王建国");
    let last: chrono::DateTime<chrono::Utc> =
        created["customer"]["lastInteractionAt"].as_str().unwrap().parse().unwrap();
    assert!(chrono::Utc::now() - last < chrono::Duration::minutes(1));
    let following: chrono::DateTime<chrono::Utc> =
        created["customer"]["nextFollowUpAt"].as_str().unwrap().parse().unwrap();
    assert!((following - next.parse::<chrono::DateTime<chrono::Utc>>().unwrap()).num_seconds().abs() < 2);
    // An older interaction typed in later does not move the clock back.
    let old = app.gql(Some(&rep), CREATE, json!({"i": {"customerId": id, "channel": "CALL", "content": "补录上月电话", "occurredAt": "2026-01-05T10:00:00+08:00"}})).await;
    let still: chrono::DateTime<chrono::Utc> =
        old["data"]["createInteraction"]["interaction"]["customer"]["lastInteractionAt"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    assert_eq!(still, last);
}

#[tokio::test]
async fn bad_interactions_are_user_errors_and_write_nothing() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep3 = app.login("rep3@demo.local").await;
    let mine = customer(&app, &rep1, "上海明远机械制造有限公司").await;
    let theirs = customer(&app, &rep3, "北京京华软件股份有限公司").await;
    let before = interaction_rows(&app).await;
    let future = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let cases = [
        (json!({"customerId": mine, "channel": "CALL", "content": "   "}), "content"),
        (json!({"customerId": mine, "channel": "CALL", "content": "x", "occurredAt": future}), "occurredAt"),
        (json!({"customerId": theirs, "channel": "CALL", "content": "不是我的客户"}), "customerId"),
        (
            json!({"customerId": mine, "channel": "CALL", "content": "x", "contactIds": ["Q29udGFjdDowMTk0ZmZmZi0wMDAwLTcwMDAtODAwMC0wMDAwMDAwMDAwMDA="]}),
            "contactIds",
        ),
    ];
    for (input, field) in cases {
        let body = app.gql(Some(&rep1), CREATE, json!({"i": input})).await;
        let errors = body["data"]["createInteraction"]["userErrors"].as_array().unwrap_or_else(|| panic!("{body}"));
        assert!(errors.iter().any(|e| e["field"] == field), "{field}: {body}");
    }
    assert_eq!(interaction_rows(&app).await, before);
}

#[tokio::test]
async fn ingesting_the_same_batch_twice_creates_each_record_once() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    // An integrator's API key with the sales-rep role's rights, scoped to the admin (ALL).
    let role = app.role_id(&admin, "admin").await;
    let key = app
        .gql(
            Some(&admin),
            "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }",
            json!({"i": {"name": "企业微信会话存档", "roleId": role}}),
        )
        .await["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let nanjing = customer(&app, &admin, "南京金陵商贸有限公司").await;
    let batch = json!({"i": {"records": [
        {"source": "wecom-archive", "externalId": "msg-001", "customerId": nanjing, "channel": "WECOM", "content": "客户询问发货时间"},
        {"source": "wecom-archive", "externalId": "msg-002", "phone": "021-58881234", "channel": "WECOM", "content": "按公司电话匹配"},
        {"source": "wecom-archive", "externalId": "msg-003", "phone": "139 1111 0002", "channel": "WECOM", "content": "按联系人手机匹配：多家客户都有这个号"},
        {"source": "call-center", "externalId": "call-9", "phone": "13000000000", "channel": "CALL", "content": "未知来电"},
        {"source": "call-center", "externalId": "call-10", "customerId": nanjing, "channel": "CALL", "content": "  "},
    ]}});
    let before = interaction_rows(&app).await;
    let first = app.gql(Some(&key), INGEST, batch.clone()).await;
    let payload = &first["data"]["ingestInteractions"];
    assert_eq!((payload["createdCount"].clone(), payload["failedCount"].clone()), (json!(2), json!(3)), "{first}");
    let results = payload["results"].as_array().unwrap();
    assert_eq!(results[1]["interaction"]["customer"]["name"], "上海明远机械制造有限公司");
    assert_eq!(results[2]["userErrors"][0]["code"], "NOT_FOUND", "the demo contacts share a mobile: ambiguous");
    assert_eq!(results[3]["userErrors"][0]["code"], "NOT_FOUND");
    assert_eq!(results[4]["userErrors"][0]["field"], "content");
    assert_eq!(interaction_rows(&app).await, before + 2);

    let second = app.gql(Some(&key), INGEST, batch).await;
    let payload = &second["data"]["ingestInteractions"];
    assert_eq!((payload["createdCount"].clone(), payload["existingCount"].clone()), (json!(0), json!(2)), "{second}");
    assert_eq!(
        payload["results"][0]["interaction"]["id"],
        first["data"]["ingestInteractions"]["results"][0]["interaction"]["id"]
    );
    assert_eq!(interaction_rows(&app).await, before + 2, "a repeated batch writes nothing");

    // A rep's session may ingest too, but only onto customers they may see.
    let rep1 = app.login("rep1@demo.local").await;
    let denied = app
        .gql(Some(&rep1), INGEST, json!({"i": {"records": [{"source": "wecom-archive", "externalId": "msg-100", "customerId": nanjing, "channel": "WECOM", "content": "越权"}]}}))
        .await;
    assert_eq!(denied["data"]["ingestInteractions"]["results"][0]["userErrors"][0]["code"], "NOT_FOUND", "{denied}");
}

#[tokio::test]
async fn the_timeline_is_newest_first_pages_cleanly_and_follows_the_scope() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let id = customer(&app, &rep1, "苏州恒信电子科技有限公司").await;
    for n in 0..3 {
        app.gql(
            Some(&rep1),
            CREATE,
            json!({"i": {"customerId": id, "channel": "CALL", "content": format!("第{n}次电话")}}),
        )
        .await;
    }
    // 2 seeded + 3 new interactions, plus the card's CREATE change, the sale of the
    // demo's confirmed order (status WON, last-deal time) and its joining the demo's trade
    // fair (a campaign join is recorded on the customer).
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = app.gql(Some(&rep1), TIMELINE, json!({"id": id, "after": after})).await;
        let timeline = &body["data"]["timeline"];
        for edge in timeline["edges"].as_array().unwrap_or_else(|| panic!("{body}")) {
            seen.push((
                edge["node"]["occurredAt"].as_str().unwrap().to_owned(),
                edge["node"]["type"].as_str().unwrap().to_owned(),
            ));
        }
        if timeline["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = timeline["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 8, "{seen:?}");
    let times: Vec<chrono::DateTime<chrono::Utc>> = seen.iter().map(|(t, _)| t.parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {seen:?}");
    assert_eq!(seen.iter().filter(|(_, t)| t == "INTERACTION").count(), 5);
    assert!(seen.iter().any(|(_, t)| t == "CUSTOMER_CREATED"));
    assert!(seen.iter().any(|(_, t)| t == "CUSTOMER_UPDATED"), "the sale: {seen:?}");
    let only_changes = app.gql(Some(&rep1), TIMELINE, json!({"id": id, "kinds": ["CARD_CHANGES"]})).await;
    assert_eq!(only_changes["data"]["timeline"]["edges"].as_array().unwrap().len(), 3, "{only_changes}");

    // Other reps cannot read it; the 360 view carries the same stream.
    let rep3 = app.login("rep3@demo.local").await;
    assert_eq!(error_code(&app.gql(Some(&rep3), TIMELINE, json!({"id": id})).await), "NOT_FOUND");
    let interactions = app.gql(Some(&rep3), "{ interactions(first: 100) { totalCount } }", json!({})).await;
    assert_eq!(interactions["data"]["interactions"]["totalCount"], 2, "only rep3's own customer: {interactions}");
    let view = app
        .gql(
            Some(&rep1),
            "query($id: ID!) { customer360(id: $id) { timeline(first: 2) { edges { node { type } } } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(view["data"]["customer360"]["timeline"]["edges"].as_array().unwrap().len(), 2, "{view}");

    // The history follows the customer to its new owner.
    let manager = app.login("manager@demo.local").await;
    let admin = app.login("admin@demo.local").await;
    let rep3_id = app.user_id(&admin, "rep3@demo.local").await;
    let version = app.gql(Some(&manager), "query($id: ID!) { customer(id: $id) { version } }", json!({"id": id})).await
        ["data"]["customer"]["version"]
        .clone();
    let moved = app
        .gql(
            Some(&manager),
            "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { userErrors { code } } }",
            json!({"i": {"id": id, "expectedVersion": version, "ownerId": rep3_id}}),
        )
        .await;
    assert_eq!(moved["data"]["updateCustomer"]["userErrors"], json!([]), "{moved}");
    let now_theirs = app
        .gql(
            Some(&rep3),
            "query($id: ID!) { timeline(customerId: $id, first: 50) { edges { node { type } } } }",
            json!({"id": id}),
        )
        .await;
    let types: Vec<&str> = now_theirs["data"]["timeline"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.iter().filter(|t| **t == "INTERACTION").count(), 5, "{types:?}");
    assert_eq!(types[0], "OWNER_CHANGED");
    assert_eq!(error_code(&app.gql(Some(&rep1), TIMELINE, json!({"id": id})).await), "NOT_FOUND");
}

#[tokio::test]
async fn merging_customers_moves_their_interactions() {
    let app = spawn_demo().await;
    let manager = app.login("manager@demo.local").await;
    let survivor = customer(&app, &manager, "上海明远机械制造有限公司").await;
    let merged = customer(&app, &manager, "苏州恒信电子科技有限公司").await;
    let version = app
        .gql(Some(&manager), "query($id: ID!) { customer(id: $id) { version } }", json!({"id": survivor}))
        .await["data"]["customer"]["version"]
        .clone();
    let result = app
        .gql(
            Some(&manager),
            "mutation($i: MergeCustomersInput!) { mergeCustomers(input: $i) { userErrors { code } } }",
            json!({"i": {"survivorId": survivor, "expectedVersion": version, "mergedIds": [merged]}}),
        )
        .await;
    assert_eq!(result["data"]["mergeCustomers"]["userErrors"], json!([]), "{result}");
    let count = app
        .gql(
            Some(&manager),
            "query($id: ID!) { interactions(filter: {customerId: {eq: $id}}) { totalCount } }",
            json!({"id": survivor}),
        )
        .await;
    assert_eq!(count["data"]["interactions"]["totalCount"], 4, "{count}");
}

/// Ingest writes a batch set-wise in one transaction: ten times the records cost the same
/// statements; every created record has its change event; a key repeated inside the batch
/// is created once; a contact of another customer is refused; and each customer's
/// last-interaction clock moves to the batch's latest.
#[tokio::test]
async fn an_ingest_batch_costs_the_same_statements_at_any_size() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let customers: Vec<String> = app
        .gql(
            Some(&admin),
            "{ customers(first: 6, orderBy: [{field: NAME, direction: ASC}]) { nodes { id contacts { id } } } }",
            json!({}),
        )
        .await["data"]["customers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    let lean = "mutation($i: IngestInteractionsInput!) { ingestInteractions(input: $i) { createdCount existingCount failedCount results { index created interaction { id } userErrors { field code } } } }";
    let records = |prefix: &str, n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"source": "erp", "externalId": format!("{prefix}-{i}"), "customerId": customers[i % customers.len()], "channel": "CALL", "occurredAt": format!("2026-03-{:02}T08:00:00Z", 1 + i % 28), "content": format!("ERP 同步 {i}")}))
            .collect()
    };
    let small =
        app.post(Some(&admin), &json!({"query": lean, "variables": {"i": {"records": records("small", 20)}}})).await;
    assert_eq!(small.body["data"]["ingestInteractions"]["createdCount"], 20, "{}", small.body);
    let events_before = count(&app, "SELECT id FROM change_events WHERE entity_type = 'Interaction'").await;
    let large =
        app.post(Some(&admin), &json!({"query": lean, "variables": {"i": {"records": records("large", 200)}}})).await;
    assert_eq!(large.body["data"]["ingestInteractions"]["createdCount"], 200, "{}", large.body);
    assert_eq!(large.statements, small.statements, "200 records cost what 20 do");
    assert_eq!(
        count(&app, "SELECT id FROM change_events WHERE entity_type = 'Interaction'").await,
        events_before + 200
    );

    // Repeated keys, a foreign contact and a bad record in one batch, on a new customer.
    let fresh = app
        .gql(
            Some(&admin),
            "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } userErrors { code } } }",
            json!({"i": {"name": "杭州新禾贸易有限公司"}}),
        )
        .await["data"]["createCustomer"]["customer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_contact = app
        .gql(Some(&admin), "query($id: ID!) { customer(id: $id) { contacts { id } } }", json!({"id": customers[1]}))
        .await["data"]["customer"]["contacts"][0]["id"]
        .clone();
    let mixed = app
        .gql(
            Some(&admin),
            lean,
            json!({"i": {"records": [
                {"source": "erp", "externalId": "twice", "customerId": fresh, "channel": "CALL", "occurredAt": "2026-05-01T08:00:00Z", "content": "第一次"},
                {"source": "erp", "externalId": "twice", "customerId": fresh, "channel": "CALL", "content": "同一键再来一次"},
                {"source": "erp", "externalId": "earlier", "customerId": fresh, "channel": "VISIT", "occurredAt": "2026-04-01T08:00:00Z", "content": "更早的拜访"},
                {"source": "erp", "externalId": "foreign-contact", "customerId": fresh, "channel": "CALL", "content": "联系人不属于该客户", "contactIds": [other_contact]},
                {"source": "erp", "externalId": "future", "customerId": fresh, "channel": "CALL", "occurredAt": "2099-01-01T00:00:00Z", "content": "未来"},
            ]}}),
        )
        .await;
    let payload = &mixed["data"]["ingestInteractions"];
    assert_eq!(
        (payload["createdCount"].clone(), payload["existingCount"].clone(), payload["failedCount"].clone()),
        (json!(2), json!(1), json!(2)),
        "{mixed}"
    );
    let results = payload["results"].as_array().unwrap();
    assert_eq!(results[1]["interaction"]["id"], results[0]["interaction"]["id"], "the repeat reports the first");
    assert_eq!(results[3]["userErrors"][0]["field"], "contactIds");
    assert_eq!(results[4]["userErrors"][0]["field"], "occurredAt");
    let clock = app
        .gql(
            Some(&admin),
            "query($id: ID!) { customer360(id: $id) { summary { lastInteractionAt } } }",
            json!({"id": fresh}),
        )
        .await;
    let last = clock["data"]["customer360"]["summary"]["lastInteractionAt"].as_str().unwrap_or_default();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(last).ok(),
        chrono::DateTime::parse_from_rfc3339("2026-05-01T08:00:00Z").ok(),
        "the clock moved to the batch's latest, not its last: {clock}"
    );
}

async fn count(app: &TestApp, sql: &str) -> usize {
    app.db
        .connection()
        .query_all_raw(guanxi_store::dialect::raw_statement(app.db.db_backend(), sql, []))
        .await
        .unwrap()
        .len()
}
