//! The entity registry: every kind of record is seen the same way by `node`, `history`
//! and the `changes` feed, and every table that hangs off a customer is registered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{TestApp, spawn_demo, spawn_with};
use futures::{SinkExt, StreamExt};
use guanxi_domain::entity::EntityKind;
use guanxi_store::{ConnectionTrait, QueryResult};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[tokio::test]
async fn every_table_with_a_customer_id_is_registered_as_customer_owned() {
    let app = spawn_with(|_| {}).await;
    let conn = app.db.connection();
    let sql = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT table_name AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND column_name = 'customer_id'"
        }
        _ => {
            "SELECT m.name AS name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND p.name = 'customer_id'"
        }
    };
    let rows: Vec<QueryResult> =
        conn.query_all_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql)).await.unwrap();
    let in_catalogue: BTreeSet<String> = rows.iter().map(|r| r.try_get::<String>("", "name").unwrap()).collect();
    let registered: BTreeSet<String> =
        guanxi_store::customers::customer_owned::TABLES.iter().map(|(table, _)| (*table).to_owned()).collect();
    assert!(in_catalogue.len() >= 7, "the catalogue query found too few tables: {in_catalogue:?}");
    assert_eq!(in_catalogue, registered, "register every table with a customer_id in customer_owned::TABLES");
    // Every kind the domain says hangs off a customer has its table.
    for kind in EntityKind::customer_owned() {
        assert!(
            guanxi_store::customers::customer_owned::TABLES.iter().any(|(_, holds)| holds.kind() == Some(kind)),
            "{kind} hangs off a customer but has no table registered"
        );
    }
}

fn global_id(kind: &str, id: &str) -> String {
    STANDARD.encode(format!("{kind}:{id}"))
}

async fn subscribe(app: &TestApp, token: &str) -> Socket {
    let mut request = app.url("/graphql/ws").replace("http://", "ws://").into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
    socket.send(Message::Text(init.to_string().into())).await.unwrap();
    let subscribe =
        json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { changes { entityId } }"}});
    socket.send(Message::Text(subscribe.to_string().into())).await.unwrap();
    socket
}

/// Every entity id the feed pushes until it has been quiet for two seconds.
async fn drain(socket: &mut Socket) -> HashSet<String> {
    let mut seen = HashSet::new();
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_secs(2), socket.next()).await {
        if let Message::Text(text) = message.unwrap() {
            let value: Value = serde_json::from_str(&text).unwrap();
            if let Some(id) = value["payload"]["data"]["changes"]["entityId"].as_str() {
                seen.insert(id.to_owned());
            }
        }
    }
    seen
}

/// The ids and versions of the admin's view of customers, by owner email.
async fn customers_by_owner(app: &TestApp, admin: &str) -> BTreeMap<String, (String, i64)> {
    let list =
        app.gql(Some(admin), "{ customers(first: 50) { nodes { id version owner { email } } } }", json!({})).await;
    list["data"]["customers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            let owner = c["owner"]["email"].as_str()?.to_owned();
            Some((owner, (c["id"].as_str()?.to_owned(), c["version"].as_i64()?)))
        })
        .collect()
}

async fn ok(app: &TestApp, token: &str, query: &str, variables: Value) {
    let reply = app.gql(Some(token), query, variables).await;
    assert!(reply["errors"].is_null(), "{reply}");
    let payload = reply["data"].as_object().and_then(|d| d.values().next()).cloned().unwrap_or(Value::Null);
    assert_eq!(payload["userErrors"], json!([]), "{reply}");
}

/// Writes records of many kinds, some inside Sales East (the manager's subtree) and some
/// in Sales North (outside it).
async fn write_one_of_each(app: &TestApp, admin: &str, rep1: &str, rep3: &str) {
    // One of the two changes the policy, whatever the demo's is.
    for policy in ["BLOCK", "WARN"] {
        let query = format!(
            "mutation {{ updateTenantSettings(input: {{duplicatePolicy: {policy}}}) {{ userErrors {{ code }} }} }}"
        );
        ok(app, admin, &query, json!({})).await;
    }
    ok(
        app,
        admin,
        "mutation { defineCustomField(input: {entity: CUSTOMER, key: \"registry\", label: \"登记\", type: TEXT}) { userErrors { code } } }",
        json!({}),
    )
    .await;
    for name in ["华东一组", "华北一组"] {
        let (id, version) = app.department(admin, name).await;
        ok(
            app,
            admin,
            "mutation($id: ID!, $v: Int!, $name: String!) { updateDepartment(input: {id: $id, expectedVersion: $v, name: $name}) { userErrors { code } } }",
            json!({"id": id, "v": version, "name": format!("{name}（新）")}),
        )
        .await;
    }
    let category = app
        .gql(
            Some(admin),
            "mutation { createProductCategory(input: {name: \"登记分类\"}) { category { id } userErrors { code } } }",
            json!({}),
        )
        .await;
    let category = category["data"]["createProductCategory"]["category"]["id"].clone();
    let product = app
        .gql(
            Some(admin),
            "mutation($c: ID!) { createProduct(input: {name: \"登记产品\", categoryId: $c, kind: SERVICE, origin: MADE, unit: \"次\", listPrice: \"10\"}) { product { id } userErrors { code } } }",
            json!({"c": category}),
        )
        .await;
    let product = product["data"]["createProduct"]["product"]["id"].clone();
    assert!(product.is_string(), "{product}");
    let customers = customers_by_owner(app, admin).await;
    for (owner, token) in [("rep1@demo.local", rep1), ("rep3@demo.local", rep3)] {
        let (id, version) = customers.get(owner).cloned().expect("a demo customer of each rep");
        ok(
            app,
            admin,
            "mutation($id: ID!, $v: Int!) { updateCustomer(input: {id: $id, expectedVersion: $v, industry: \"登记测试\"}) { userErrors { code } } }",
            json!({"id": id, "v": version}),
        )
        .await;
        ok(
            app,
            token,
            "mutation($c: ID!) { createInteraction(input: {customerId: $c, channel: CALL, content: \"电话回访\"}) { userErrors { code } } }",
            json!({"c": id}),
        )
        .await;
        ok(
            app,
            token,
            "mutation($c: ID!) { createContact(input: {customerId: $c, name: \"王芳\"}) { userErrors { code } } }",
            json!({"c": id}),
        )
        .await;
        ok(
            app,
            token,
            "mutation($c: ID!) { createOpportunity(input: {customerId: $c, name: \"二期项目\", amount: \"1000.00\"}) { userErrors { code } } }",
            json!({"c": id}),
        )
        .await;
        ok(
            app,
            admin,
            "mutation($c: ID!, $p: ID!) { createPricePolicy(input: {productId: $p, customerId: $c, price: \"8\", validFrom: \"2026-01-01\"}) { userErrors { code } } }",
            json!({"c": id, "p": product}),
        )
        .await;
        ok(
            app,
            token,
            "mutation($c: ID!, $p: ID!) { createQuote(input: {customerId: $c, lines: [{productId: $p, quantity: \"1\"}]}) { userErrors { code } } }",
            json!({"c": id, "p": product}),
        )
        .await;
        ok(
            app,
            token,
            "mutation($c: ID!, $p: ID!) { createSalesOrder(input: {header: {customerId: $c}, lines: [{productId: $p, quantity: \"1\"}]}) { userErrors { code } } }",
            json!({"c": id, "p": product}),
        )
        .await;
        ok(
            app,
            token,
            "mutation($c: ID!) { createContract(input: {customerId: $c, title: \"登记合同\", amount: \"100\"}) { userErrors { code } } }",
            json!({"c": id}),
        )
        .await;
        ok(
            app,
            token,
            "mutation($c: ID!) { createBillingProfile(input: {customerId: $c, profile: {titleKind: PERSON, title: \"王芳\"}}) { userErrors { code } } }",
            json!({"c": id}),
        )
        .await;
        // Service records are the administrator's (reps neither take requests nor register assets).
        for mutation in [
            "mutation($c: ID!, $p: ID!) { createAsset(input: {customerId: $c, asset: {productId: $p}}) { userErrors { code } } }",
            "mutation($c: ID!) { createServiceContract(input: {customerId: $c, terms: {startsOn: \"2026-01-01\", endsOn: \"2026-12-31\", level: \"标准\", coversParts: true, coversLabour: true}}) { userErrors { code } } }",
            "mutation($c: ID!, $p: ID!) { createWorkOrder(input: {customerId: $c, productId: $p, channel: PHONE, type: REPAIR, subject: \"登记工单\"}) { userErrors { code } } }",
            "mutation($p: ID!) { createProductDefect(input: {defect: {productId: $p, title: \"登记缺陷\", severity: LOW}}) { userErrors { code } } }",
            "mutation($p: ID!) { createArticle(input: {article: {title: \"登记文章\", body: \"正文\", productIds: [$p]}}) { userErrors { code } } }",
        ] {
            ok(app, admin, mutation, json!({"c": id, "p": product})).await;
        }
        ok(
            app,
            token,
            "mutation { createEvent(input: {kind: MEETING, title: \"周会\", startsAt: \"2026-12-01T02:00:00Z\", endsAt: \"2026-12-01T03:00:00Z\"}) { userErrors { code } } }",
            json!({}),
        )
        .await;
    }
}

#[tokio::test]
async fn node_history_and_the_change_feed_agree_for_every_kind() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep3 = app.login("rep3@demo.local").await;
    let tenant = app.gql(Some(&admin), "{ me { id } }", json!({})).await;
    assert!(tenant["errors"].is_null(), "{tenant}");
    let conn = app.db.connection();
    let start: i64 = conn
        .query_one_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT MAX(seq) AS seq FROM change_events",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "seq")
        .unwrap();

    let mut admin_feed = subscribe(&app, &admin).await;
    let mut manager_feed = subscribe(&app, &manager).await;
    // Let both subscriptions read the current sequence before anything is written.
    tokio::time::sleep(Duration::from_millis(500)).await;
    write_one_of_each(&app, &admin, &rep1, &rep3).await;
    let feeds = [("admin", drain(&mut admin_feed).await), ("manager", drain(&mut manager_feed).await)];

    let rows = conn
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            conn.get_database_backend(),
            match conn.get_database_backend() {
                sea_orm::DbBackend::Postgres => {
                    "SELECT DISTINCT entity_type, entity_id FROM change_events WHERE seq > $1"
                }
                _ => "SELECT DISTINCT entity_type, entity_id FROM change_events WHERE seq > ?",
            },
            [start.into()],
        ))
        .await
        .unwrap();
    let records: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get::<String>("", "entity_type").unwrap(),
                r.try_get::<uuid::Uuid>("", "entity_id").unwrap().to_string(),
            )
        })
        .collect();
    let kinds: BTreeSet<&str> = records.iter().map(|(k, _)| k.as_str()).collect();
    for expected in [
        "Tenant",
        "CustomField",
        "Department",
        "Customer",
        "Interaction",
        "Contact",
        "Opportunity",
        "Event",
        "ProductCategory",
        "Product",
        "PricePolicy",
        "Quote",
        "SalesOrder",
        "Contract",
        "BillingProfile",
        "Asset",
        "ServiceContract",
        "WorkOrder",
        "ProductDefect",
        "Article",
    ] {
        assert!(kinds.contains(expected), "no {expected} was written: {kinds:?}");
    }

    // Per kind, how many records the manager saw and missed, to show both sides were tried.
    let mut manager_saw: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for (kind, uuid) in &records {
        assert!(EntityKind::parse(kind).is_some(), "{kind} is written to the change log but not registered");
        let id = global_id(kind, uuid);
        for (who, token) in [("admin", &admin), ("manager", &manager), ("rep1", &rep1), ("rep3", &rep3)] {
            let history = app
                .gql(Some(token), "query($id: ID!) { history(id: $id, first: 1) { totalCount } }", json!({"id": id}))
                .await;
            let in_history = history["errors"].is_null();
            if !in_history {
                assert_eq!(common::error_code(&history), "NOT_FOUND", "{history}");
            }
            let node = app.gql(Some(token), "query($id: ID!) { node(id: $id) { id } }", json!({"id": id})).await;
            assert!(node["errors"].is_null(), "{node}");
            let is_node_kind = !matches!(
                kind.as_str(),
                "Tenant" | "CustomField" | "Pool" | "Attachment" | "VisitPlan" | "ProductCategory"
            );
            if is_node_kind {
                assert_eq!(
                    !node["data"]["node"].is_null(),
                    in_history,
                    "{who}: node and history disagree on {kind} {uuid}"
                );
            } else {
                assert!(node["data"]["node"].is_null(), "{kind} is not a Node type");
            }
            if let Some((_, feed)) = feeds.iter().find(|(name, _)| *name == who) {
                assert_eq!(feed.contains(&id), in_history, "{who}: the feed and history disagree on {kind} {uuid}");
            }
            if who == "manager" {
                let tally = manager_saw.entry(kind.clone()).or_default();
                if in_history { tally.0 += 1 } else { tally.1 += 1 }
            }
        }
    }
    for kind in [
        "Department",
        "Customer",
        "Interaction",
        "Contact",
        "Opportunity",
        "Event",
        "PricePolicy",
        "Quote",
        "SalesOrder",
        "Contract",
        "BillingProfile",
    ] {
        let (seen, missed) = manager_saw.get(kind).copied().unwrap_or_default();
        assert!(seen > 0 && missed > 0, "the manager should see East's {kind} and not North's: {manager_saw:?}");
    }
    // Configuration changes reach the administrators' feed (the feed used to drop them).
    let admin_feed = &feeds[0].1;
    for (kind, uuid) in records.iter().filter(|(k, _)| k == "Tenant" || k == "CustomField") {
        assert!(admin_feed.contains(&global_id(kind, uuid)), "the admin's feed missed {kind}");
    }
}
