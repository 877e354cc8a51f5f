//! Customers changing hands: `transferCustomers` (转移客户) and `handover` with its
//! `handoverPreview` (离职交接). What follows the customers, what stays as history, the
//! change log, the work-log counts, nothing left behind in any held table (read from the
//! catalogue), pools as a target, permissions and scopes, and bad input that changes
//! nothing. Over HTTP, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use base64::Engine;
use common::*;
use guanxi_store::customers::customer_owned::{HELD, KEPT, Open, TABLES};
use guanxi_store::{ConnectionTrait, QueryResult};
use serde_json::{Value, json};

const TRANSFER: &str = "mutation($i: TransferCustomersInput!) { transferCustomers(input: $i) { transferred userErrors { field code message } } }";
const HANDOVER: &str = "mutation($i: HandoverInput!) { handover(input: $i) { moved { item count } userDisabled userErrors { field code message } } }";
const PREVIEW: &str = "query($u: ID!) { handoverPreview(fromUserId: $u) { item count } }";

fn uuid_of(global_id: &str) -> uuid::Uuid {
    let raw = base64::engine::general_purpose::STANDARD.decode(global_id).unwrap();
    let text = String::from_utf8(raw).unwrap();
    text.split_once(':').unwrap().1.parse().unwrap()
}

fn by_item(list: &Value) -> BTreeMap<String, i64> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|c| (c["item"].as_str().unwrap().to_owned(), c["count"].as_i64().unwrap()))
        .collect()
}

async fn preview(app: &TestApp, token: &str, user: &str) -> BTreeMap<String, i64> {
    let body = app.gql(Some(token), PREVIEW, json!({"u": user})).await;
    by_item(&body["data"]["handoverPreview"])
}

/// `(owner email, contact owners, open deal owners, closed deal owners)` of a customer.
async fn owners(app: &TestApp, admin: &str, id: &str) -> (String, Vec<String>, Vec<String>, Vec<String>) {
    let body = app
        .gql(
            Some(admin),
            "query($id: ID!) { customer360(id: $id) { customer { owner { email } } \
             contacts(first: 50) { nodes { owner { email } } } \
             opportunities(first: 50) { nodes { status owner { email } } } } }",
            json!({"id": id}),
        )
        .await;
    let view = &body["data"]["customer360"];
    let email = |v: &Value| v["owner"]["email"].as_str().unwrap_or("").to_owned();
    let deals = view["opportunities"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}"));
    let of = |open: bool| deals.iter().filter(|d| (d["status"] == "OPEN") == open).map(email).collect();
    (
        email(&view["customer"]),
        view["contacts"]["nodes"].as_array().unwrap().iter().map(email).collect(),
        of(true),
        of(false),
    )
}

async fn count(app: &TestApp, sql: &str, values: Vec<sea_orm::Value>) -> i64 {
    let conn = app.db.connection();
    let statement = guanxi_store::dialect::raw_statement(app.db.db_backend(), sql, values);
    let row: QueryResult = conn.query_one_raw(statement).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// The rows of every held table still held by `user` and still open: what a handover of
/// everything must leave at zero. Built from the registry, condition by condition.
async fn still_held(app: &TestApp, user: uuid::Uuid) -> BTreeMap<&'static str, i64> {
    let mut left = BTreeMap::new();
    for held in HELD {
        let list = |values: fn() -> Vec<&'static str>| {
            values().iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ")
        };
        let open = match held.open {
            Open::Always => String::new(),
            Open::Where { column, values } => format!(" AND {column} IN ({})", list(values)),
            Open::ParentWhere { key, table, column, values } => {
                format!(" AND {key} IN (SELECT id FROM {table} WHERE {column} IN ({}))", list(values))
            }
        };
        let sql = format!("SELECT COUNT(*) AS n FROM {} WHERE {} = ?{open}", held.table, held.column);
        *left.entry(held.table).or_insert(0) += count(app, &sql, vec![user.into()]).await;
    }
    left
}

#[tokio::test]
async fn every_column_naming_a_holder_is_registered() {
    let app = spawn_with(|_| {}).await;
    let conn = app.db.connection();
    let sql = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns \
             WHERE table_schema = current_schema() AND column_name IN ('owner_id', 'user_id')"
        }
        _ => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND p.name IN ('owner_id', 'user_id')"
        }
    };
    let rows: Vec<QueryResult> =
        conn.query_all_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql)).await.unwrap();
    // The customers and every table hanging off them (event_assignees hang off events).
    let customer_owned: Vec<&str> = TABLES.iter().map(|(t, _)| *t).chain(["customers", "event_assignees"]).collect();
    let mut holders: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.try_get::<String>("", "t").unwrap(), r.try_get::<String>("", "c").unwrap()))
        .filter(|(t, _)| customer_owned.contains(&t.as_str()))
        .collect();
    holders.sort();
    let mut registered: Vec<(String, String)> = HELD
        .iter()
        .map(|h| (h.table.to_owned(), h.column.to_owned()))
        .chain(KEPT.iter().map(|(t, c)| ((*t).to_owned(), (*c).to_owned())))
        .collect();
    registered.sort();
    registered.dedup();
    assert!(holders.len() >= 12, "the catalogue query found too few columns: {holders:?}");
    assert_eq!(holders, registered, "register every holder column in customer_owned::HELD (or KEPT for history)");
}

#[tokio::test]
async fn a_transfer_moves_customers_with_their_contacts_and_open_deals() {
    let app = spawn_demo().await;
    let (admin, manager, rep1, rep2) = (
        app.login("admin@demo.local").await,
        app.login("manager@demo.local").await,
        app.login("rep1@demo.local").await,
        app.login("rep2@demo.local").await,
    );
    let rep2_id = app.user_id(&admin, "rep2@demo.local").await;
    let mine = app.gql(Some(&rep1), "{ customers(first: 50) { nodes { id name } } }", json!({})).await;
    let ids: Vec<String> = mine["data"]["customers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.len() >= 2, "the demo gives rep1 customers: {mine}");
    let moving = &ids[..2];
    let before: Vec<_> = futures::future::join_all(moving.iter().map(|id| owners(&app, &admin, id))).await;
    assert!(before.iter().all(|o| o.0 == "rep1@demo.local"));

    // Bad input changes nothing: each is a typed user error.
    let rep3_customer = app
        .gql(Some(&app.login("rep3@demo.local").await), "{ customers(first: 1) { nodes { id } } }", json!({}))
        .await["data"]["customers"]["nodes"][0]["id"]
        .clone();
    let bad = [
        (json!({"ids": moving, "toUserId": rep2_id, "reason": "  "}), "reason", "REQUIRED"),
        (json!({"ids": [moving[0], moving[0]], "toUserId": rep2_id, "reason": "调岗"}), "ids.1", "DUPLICATE"),
        (json!({"ids": [moving[0], rep3_customer], "toUserId": rep2_id, "reason": "调岗"}), "ids.1", "NOT_FOUND"),
        (json!({"ids": moving, "toUserId": moving[0], "reason": "调岗"}), "toUserId", "INVALID"),
        (json!({"ids": [], "toUserId": rep2_id, "reason": "调岗"}), "ids", "REQUIRED"),
    ];
    for (input, field, code) in bad {
        let body = app.gql(Some(&manager), TRANSFER, json!({"i": input})).await;
        let errors = &body["data"]["transferCustomers"]["userErrors"];
        assert!(
            errors.as_array().unwrap().iter().any(|e| e["field"] == field && e["code"] == code),
            "{field} {code}: {body}"
        );
    }
    // A rep may not transfer (no `customer.transfer`), not even their own customers.
    let forbidden =
        app.gql(Some(&rep1), TRANSFER, json!({"i": {"ids": moving, "toUserId": rep2_id, "reason": "调岗"}})).await;
    assert_eq!(error_code(&forbidden), "FORBIDDEN", "{forbidden}");
    let after_refusals: Vec<_> = futures::future::join_all(moving.iter().map(|id| owners(&app, &admin, id))).await;
    assert_eq!(after_refusals, before, "refused calls changed nothing");

    // The manager transfers both: customers, contacts and open deals go to rep2; closed
    // deals stay credited to rep1.
    let body = app
        .gql(Some(&manager), TRANSFER, json!({"i": {"ids": moving, "toUserId": rep2_id, "reason": "调岗交接"}}))
        .await;
    assert_eq!(body["data"]["transferCustomers"]["transferred"], 2, "{body}");
    for (id, before) in moving.iter().zip(&before) {
        let (owner, contacts, open, closed) = owners(&app, &admin, id).await;
        assert_eq!(owner, "rep2@demo.local");
        assert!(contacts.iter().all(|c| c == "rep2@demo.local"), "contacts follow: {contacts:?}");
        assert!(open.iter().all(|c| c == "rep2@demo.local"), "open deals follow: {open:?}");
        assert_eq!(closed, before.3, "closed deals stay credited as they were");
    }
    // The change log names the transfer and its reason.
    let history = app
        .gql(
            Some(&admin),
            "query($id: ID!) { history(id: $id, first: 1) { nodes { operation changes { field old new } } } }",
            json!({"id": moving[0]}),
        )
        .await;
    let last = &history["data"]["history"]["nodes"][0];
    assert_eq!(last["operation"], "TRANSFER", "{history}");
    let changes = last["changes"].to_string();
    assert!(changes.contains("调岗交接") && changes.contains("ownerId"), "{changes}");
    // rep1 no longer sees them; rep2 does, and rep2's stored interaction counts moved with
    // them (the work-log stats equal the records).
    let seen_by = |token: String, id: String| {
        let app = &app;
        async move {
            app.gql(Some(&token), "query($id: ID!) { customer(id: $id) { id } }", json!({"id": id})).await["data"]
                ["customer"]["id"]
                .clone()
        }
    };
    assert!(seen_by(rep1.clone(), moving[0].clone()).await.is_null());
    assert_eq!(seen_by(rep2.clone(), moving[0].clone()).await, json!(moving[0]));
    let (from, to) = window();
    let counted = app
        .gql(
            Some(&rep2),
            "query($f: DateTime!, $t: DateTime!) { stats(measure: INTERACTIONS, from: $f, to: $t) { total { count } } \
             interactions(filter: {occurredAt: {gte: $f, lt: $t}}) { totalCount } }",
            json!({"f": from, "t": to}),
        )
        .await;
    assert_eq!(counted["data"]["stats"]["total"]["count"], counted["data"]["interactions"]["totalCount"], "{counted}");
    // A retry moves nothing more.
    let again = app
        .gql(Some(&manager), TRANSFER, json!({"i": {"ids": moving, "toUserId": rep2_id, "reason": "调岗交接"}}))
        .await;
    assert_eq!(again["data"]["transferCustomers"]["transferred"], 0, "{again}");
}

#[tokio::test]
async fn a_handover_moves_everything_held_and_leaves_nothing_behind() {
    let app = spawn_demo().await;
    let (admin, rep1, rep3) =
        (app.login("admin@demo.local").await, app.login("rep1@demo.local").await, app.login("rep3@demo.local").await);
    let (rep1_id, rep2_id) =
        (app.user_id(&admin, "rep1@demo.local").await, app.user_id(&admin, "rep2@demo.local").await);
    // rep3 shares a customer with rep1 (a collaboration to hand over); rep1 shares one of
    // theirs with rep2 (which rep2 then owns: the share ends).
    let add = "mutation($i: AddCollaboratorsInput!) { addCollaborators(input: $i) { userErrors { code } } }";
    let rep3_customer =
        app.gql(Some(&rep3), "{ customers(first: 1) { nodes { id } } }", json!({})).await["data"]["customers"]["nodes"]
            [0]["id"]
            .clone();
    let rep1_customer = customer(&app, &rep1, "上海明远机械制造有限公司").await;
    for (token, record, user) in [(&rep3, &rep3_customer, &rep1_id), (&rep1, &json!(rep1_customer), &rep2_id)] {
        let body = app.gql(Some(token), add, json!({"i": {"recordId": record, "members": [{"userId": user}]}})).await;
        assert_eq!(body["data"]["addCollaborators"]["userErrors"], json!([]), "{body}");
    }
    let (_, _, _, closed_before) = owners(&app, &admin, &rep1_customer).await;

    let planned = preview(&app, &admin, &rep1_id).await;
    for item in ["CUSTOMERS", "CONTACTS", "OPEN_OPPORTUNITIES", "QUOTES", "CONTRACTS", "COLLABORATIONS"] {
        assert!(planned[item] > 0, "the demo gives rep1 some {item}: {planned:?}");
    }
    let held_before = still_held(&app, uuid_of(&rep1_id)).await;
    assert_eq!(
        held_before.values().sum::<i64>(),
        planned.values().sum::<i64>(),
        "the preview counts the rows the registry names: {held_before:?} {planned:?}"
    );

    let body = app
        .gql(
            Some(&admin),
            HANDOVER,
            json!({"i": {"fromUserId": rep1_id, "to": {"userId": rep2_id}, "reason": "离职", "disableUser": true}}),
        )
        .await;
    let payload = &body["data"]["handover"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    assert_eq!(by_item(&payload["moved"]), planned, "it moved what the preview counted");
    assert_eq!(payload["userDisabled"], true);

    // Nothing is left behind, in any held table; the preview now counts nothing.
    let left = still_held(&app, uuid_of(&rep1_id)).await;
    assert!(left.values().all(|n| *n == 0), "rows still held by the departed rep: {left:?}");
    assert!(preview(&app, &admin, &rep1_id).await.values().all(|n| *n == 0));
    // History stays: closed deals keep their credit.
    let (owner, _, open, closed) = owners(&app, &admin, &rep1_customer).await;
    assert_eq!(owner, "rep2@demo.local");
    assert!(open.iter().all(|o| o == "rep2@demo.local"));
    assert_eq!(closed, closed_before);
    // The collaboration moved to rep2; rep2's share of a customer they now own ended.
    let collaborators = |id: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.gql(
                Some(&admin),
                "query($id: ID!) { customer(id: $id) { collaborators { user { email } } } }",
                json!({"id": id}),
            )
            .await["data"]["customer"]["collaborators"]
                .clone()
        }
    };
    assert_eq!(collaborators(rep3_customer.clone()).await, json!([{"user": {"email": "rep2@demo.local"}}]));
    assert_eq!(collaborators(json!(rep1_customer)).await, json!([]));
    // The departed rep is disabled: their session ends, and they cannot log in.
    let me = app.gql(Some(&rep1), "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&me), "UNAUTHENTICATED", "{me}");
    // The work-log counts follow the customers: rep2's stats equal the records.
    let rep2 = app.login("rep2@demo.local").await;
    let counted = app
        .gql(
            Some(&rep2),
            "query($f: DateTime!, $t: DateTime!) { stats(measure: INTERACTIONS, from: $f, to: $t) { total { count } } \
             interactions(filter: {occurredAt: {gte: $f, lt: $t}}) { totalCount } }",
            json!({"f": window().0, "t": window().1}),
        )
        .await;
    assert_eq!(counted["data"]["stats"]["total"]["count"], counted["data"]["interactions"]["totalCount"]);
    // A retry moves nothing more.
    let again = app
        .gql(Some(&admin), HANDOVER, json!({"i": {"fromUserId": rep1_id, "to": {"userId": rep2_id}, "reason": "离职"}}))
        .await;
    assert!(by_item(&again["data"]["handover"]["moved"]).values().all(|n| *n == 0), "{again}");
}

#[tokio::test]
async fn a_handover_into_a_pool_and_what_is_refused() {
    let app = spawn_demo().await;
    let (admin, manager, rep2) = (
        app.login("admin@demo.local").await,
        app.login("manager@demo.local").await,
        app.login("rep2@demo.local").await,
    );
    let (rep1_id, rep2_id, rep3_id) = (
        app.user_id(&admin, "rep1@demo.local").await,
        app.user_id(&admin, "rep2@demo.local").await,
        app.user_id(&admin, "rep3@demo.local").await,
    );
    let pools = app.gql(Some(&manager), "{ pools { id } }", json!({})).await;
    let pool = pools["data"]["pools"][0]["id"].as_str().unwrap_or_else(|| panic!("{pools}")).to_owned();
    let planned = preview(&app, &manager, &rep2_id).await;
    assert!(planned["CUSTOMERS"] > 0, "{planned:?}");

    // Refused, changing nothing: no receiver for what is not pooled, the same user, no
    // reason, a user outside the manager's scope, disabling without `org.manage`, a rep.
    let refusals = [
        (json!({"fromUserId": rep2_id, "to": {"poolId": pool}, "reason": "离职"}), "to.userId", "REQUIRED"),
        (json!({"fromUserId": rep2_id, "to": {"userId": rep2_id}, "reason": "离职"}), "to.userId", "INVALID"),
        (json!({"fromUserId": rep2_id, "to": {"userId": rep1_id}, "reason": " "}), "reason", "REQUIRED"),
        (json!({"fromUserId": rep3_id, "to": {"userId": rep1_id}, "reason": "离职"}), "fromUserId", "NOT_FOUND"),
        (json!({"fromUserId": rep2_id, "to": {"userId": pool}, "reason": "离职"}), "to.userId", "INVALID"),
    ];
    for (input, field, code) in refusals {
        let body = app.gql(Some(&manager), HANDOVER, json!({"i": input})).await;
        let errors = &body["data"]["handover"]["userErrors"];
        assert!(
            errors
                .as_array()
                .unwrap_or_else(|| panic!("{body}"))
                .iter()
                .any(|e| e["field"] == field && e["code"] == code),
            "{field} {code}: {body}"
        );
    }
    let disabling = app
        .gql(
            Some(&manager),
            HANDOVER,
            json!({"i": {"fromUserId": rep2_id, "to": {"userId": rep1_id}, "reason": "离职", "disableUser": true}}),
        )
        .await;
    assert_eq!(error_code(&disabling), "FORBIDDEN", "{disabling}");
    let by_rep = app.gql(Some(&rep2), PREVIEW, json!({"u": rep2_id})).await;
    assert_eq!(error_code(&by_rep), "FORBIDDEN");
    let outside = app.gql(Some(&manager), PREVIEW, json!({"u": rep3_id})).await;
    assert_eq!(error_code(&outside), "NOT_FOUND", "rep3 is outside the manager's scope: {outside}");
    assert_eq!(preview(&app, &manager, &rep2_id).await, planned, "refused calls changed nothing");

    // Only the customers, into the pool: they wait there without an owner, their contacts
    // with them; everything else stays with rep2.
    let body = app
        .gql(
            Some(&manager),
            HANDOVER,
            json!({"i": {"fromUserId": rep2_id, "to": {"poolId": pool}, "include": ["CUSTOMERS"], "reason": "离职"}}),
        )
        .await;
    assert_eq!(
        by_item(&body["data"]["handover"]["moved"]),
        BTreeMap::from([("CUSTOMERS".to_owned(), planned["CUSTOMERS"])]),
        "{body}"
    );
    let after = preview(&app, &manager, &rep2_id).await;
    assert_eq!(after["CUSTOMERS"], 0);
    assert_eq!(after["OPEN_OPPORTUNITIES"], planned["OPEN_OPPORTUNITIES"], "deals were not included");
    let pooled = app
        .gql(
            Some(&admin),
            "query($p: ID!) { poolCustomers(poolId: $p, first: 100) { totalCount } }",
            json!({"p": pool}),
        )
        .await;
    assert!(pooled["data"]["poolCustomers"]["totalCount"].as_i64().unwrap() >= planned["CUSTOMERS"], "{pooled}");
}
