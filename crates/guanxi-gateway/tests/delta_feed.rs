//! The delta feed (增量同步), `changesSince`: a first sync, then the changes after it, keep a
//! client's copy equal to what the caller may see — tombstones for deletions, removals for
//! records leaving the caller's scope (and never a word of records they never saw),
//! cursors that expire, statement counts that do not grow with the page, over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use serde_json::{Value, json};

const FEED: &str = "query($c: String, $k: [FeedKind!], $n: Int) { changesSince(cursor: $c, kinds: $k, first: $n) { cursor hasMore snapshot changes { kind id removed sequence changedAt externalId node { id ... on Customer { name version } ... on Contact { name customer { id } } ... on Opportunity { name customer { id } } ... on Lead { name } } } } }";
const CREATE: &str = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id version } userErrors { field code message } } }";
const UPDATE: &str = "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { customer { id version } userErrors { field code message } } }";
const DELETE: &str = "mutation($i: CustomerIdInput!) { deleteCustomer(input: $i) { customer { id } userErrors { field code message } } }";
const TRANSFER: &str = "mutation($i: TransferCustomersInput!) { transferCustomers(input: $i) { transferred userErrors { field code message } } }";
const MINE: &str =
    "{ customers(first: 100) { nodes { id name version } } contacts(first: 100) { nodes { id customer { id } } } }";
const SHARE: &str =
    "mutation($i: AddCollaboratorsInput!) { addCollaborators(input: $i) { userErrors { field code message } } }";
const UNSHARE: &str =
    "mutation($i: RemoveCollaboratorsInput!) { removeCollaborators(input: $i) { userErrors { field code message } } }";

/// A client's copy: records by global id, as the feed last gave them.
#[derive(Default)]
struct Copy {
    records: BTreeMap<String, Value>,
    cursor: Option<String>,
}

impl Copy {
    /// Reads the feed until it has nothing more, applying each page; returns every change
    /// read.
    async fn sync(&mut self, app: &TestApp, token: &str, kinds: Value, first: i64) -> Vec<Value> {
        let mut read = Vec::new();
        for _ in 0..200 {
            let body = app.gql(Some(token), FEED, json!({"c": self.cursor, "k": kinds, "n": first})).await;
            let feed = &body["data"]["changesSince"];
            let changes = feed["changes"].as_array().unwrap_or_else(|| panic!("{body}"));
            let own = changes.iter().filter(|c| c["sequence"].is_null() || c["kind"] == "CUSTOMER").count();
            assert!(own <= first as usize, "a page holds at most `first`, but for what customers bring: {body}");
            for change in changes {
                let id = change["id"].as_str().unwrap().to_owned();
                if change["removed"].is_null() {
                    assert_eq!(change["node"]["id"], change["id"], "{change}");
                    self.records.insert(id, change["node"].clone());
                } else {
                    // The protocol: a customer's removal takes the records under it along.
                    assert!(change["node"].is_null(), "{change}");
                    self.records.remove(&id);
                    self.records.retain(|_, node| node["customer"]["id"] != id.as_str());
                }
                read.push(change.clone());
            }
            self.cursor = Some(feed["cursor"].as_str().unwrap().to_owned());
            if feed["hasMore"] == false {
                return read;
            }
        }
        panic!("the feed never caught up");
    }

    fn ids(&self) -> Vec<String> {
        self.records.keys().cloned().collect()
    }
}

/// The ids of the customers and contacts `token` lists.
async fn listed(app: &TestApp, token: &str) -> Vec<String> {
    let body = app.gql(Some(token), MINE, json!({})).await;
    let mut ids: Vec<String> = ["customers", "contacts"]
        .iter()
        .flat_map(|list| body["data"][list]["nodes"].as_array().unwrap_or_else(|| panic!("{body}")).clone())
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn change_of<'a>(changes: &'a [Value], id: &str) -> Option<&'a Value> {
    changes.iter().rev().find(|c| c["id"] == id)
}

fn mentions(changes: &[Value], id: &str) -> bool {
    changes.iter().any(|c| c["id"] == id)
}

#[tokio::test]
async fn a_first_sync_then_the_changes_keep_a_copy_equal_to_what_the_caller_sees() {
    let app = spawn_demo().await;
    let (rep1, rep3, manager) =
        (app.login("rep1@demo.local").await, app.login("rep3@demo.local").await, app.login("manager@demo.local").await);
    let kinds = json!(["CUSTOMER", "CONTACT"]);
    for n in 1..=3 {
        let name = format!("同步前客户{n}号有限公司");
        ok(&app, &rep1, CREATE, json!({"name": name}), ("createCustomer", "customer")).await;
    }

    // The first sync, in pages of 7 across both kinds, equals rep1's lists.
    let mut copy = Copy::default();
    let first = copy.sync(&app, &rep1, kinds.clone(), 7).await;
    assert!(first.iter().all(|c| c["sequence"].is_null() && c["removed"].is_null()), "a snapshot only adds");
    let before = listed(&app, &rep1).await;
    assert!(before.len() > 7, "the demo gives rep1 more than a page: {before:?}");
    assert_eq!(copy.ids(), before);
    let mut rep3_copy = Copy::default();
    rep3_copy.sync(&app, &rep3, kinds.clone(), 50).await;
    assert_eq!(rep3_copy.ids(), listed(&app, &rep3).await);
    let mut manager_copy = Copy::default();
    manager_copy.sync(&app, &manager, json!(["CUSTOMER"]), 200).await;

    // Caught up, the feed is empty until something changes.
    let quiet = copy.sync(&app, &rep1, kinds.clone(), 7).await;
    assert_eq!(quiet, Vec::<Value>::new());

    // rep1 creates one and renames one; the manager deletes one of rep1's and transfers
    // another, with its contacts, to rep3; rep3 creates one of their own.
    let body = app.gql(Some(&rep1), MINE, json!({})).await;
    let mine = body["data"]["customers"]["nodes"].as_array().unwrap().clone();
    let contacts = body["data"]["contacts"]["nodes"].as_array().unwrap().clone();
    let with_contacts = |c: &&Value| contacts.iter().any(|k| k["customer"]["id"] == c["id"]);
    let moved = mine.iter().find(with_contacts).expect("a demo customer of rep1 has contacts").clone();
    let moved_contacts: Vec<String> = contacts
        .iter()
        .filter(|k| k["customer"]["id"] == moved["id"])
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect();
    let others: Vec<&Value> = mine.iter().filter(|c| c["id"] != moved["id"]).collect();
    let (renamed, deleted, moved) = (others[0], others[1], &moved);
    let created =
        ok(&app, &rep1, CREATE, json!({"name": "增量同步测试有限公司"}), ("createCustomer", "customer")).await;
    let renamed_to = format!("{}（更名）", renamed["name"].as_str().unwrap());
    let input = json!({"id": renamed["id"], "expectedVersion": renamed["version"], "name": renamed_to});
    ok(&app, &rep1, UPDATE, input, ("updateCustomer", "customer")).await;
    let input = json!({"id": deleted["id"], "expectedVersion": deleted["version"]});
    ok(&app, &manager, DELETE, input, ("deleteCustomer", "customer")).await;
    let rep3_id = app.user_id(&app.login("admin@demo.local").await, "rep3@demo.local").await;
    let input = json!({"ids": [moved["id"]], "toUserId": rep3_id, "reason": "区域调整"});
    let body = app.gql(Some(&manager), TRANSFER, json!({"i": input})).await;
    assert_eq!(body["data"]["transferCustomers"]["transferred"], 1, "{body}");
    let theirs = ok(&app, &rep3, CREATE, json!({"name": "北方新客户有限公司"}), ("createCustomer", "customer")).await;

    // rep1's delta: the new and renamed ones as they are now, a tombstone, a removal for the
    // one transferred away, and nothing of rep3's customer.
    let changes = copy.sync(&app, &rep1, kinds.clone(), 7).await;
    assert_eq!(copy.ids(), listed(&app, &rep1).await, "the copy equals the lists again: {changes:#?}");
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    assert_eq!(change_of(&changes, &id(&created)).unwrap()["node"]["name"], "增量同步测试有限公司");
    let renamed_change = change_of(&changes, &id(renamed)).unwrap();
    assert_eq!(renamed_change["node"]["name"], renamed_to.as_str());
    assert!(renamed_change["sequence"].as_i64().unwrap() > 0 && renamed_change["changedAt"].is_string());
    assert_eq!(change_of(&changes, &id(deleted)).unwrap()["removed"], "DELETED");
    assert_eq!(change_of(&changes, &id(moved)).unwrap()["removed"], "OUT_OF_SCOPE");
    assert!(!mentions(&changes, &id(&theirs)), "another rep's customer does not exist for rep1");
    let sequences: Vec<i64> = changes.iter().map(|c| c["sequence"].as_i64().unwrap()).collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "in commit order, each record once: {sequences:?}");

    // rep1's copy dropped the transferred customer's contacts with it.
    for contact in &moved_contacts {
        assert!(!copy.records.contains_key(contact), "rep1 no longer holds {contact}");
    }

    // rep3's delta: the customer they received, with its contacts right after it, and
    // their own new one; nothing of rep1's changes.
    let changes = rep3_copy.sync(&app, &rep3, kinds.clone(), 50).await;
    assert_eq!(rep3_copy.ids(), listed(&app, &rep3).await, "{changes:#?}");
    assert!(change_of(&changes, &id(moved)).unwrap()["removed"].is_null());
    for contact in &moved_contacts {
        assert_eq!(change_of(&changes, contact).unwrap()["node"]["customer"]["id"], moved["id"], "{changes:#?}");
    }
    assert!(mentions(&changes, &id(&theirs)));
    for other in [&created, renamed, deleted] {
        assert!(!mentions(&changes, &id(other)), "rep3 never saw {other}");
    }

    // The manager, whose scope holds rep1 but not rep3, sees the transferred customer go.
    let changes = manager_copy.sync(&app, &manager, json!(["CUSTOMER"]), 200).await;
    assert_eq!(change_of(&changes, &id(moved)).unwrap()["removed"], "OUT_OF_SCOPE");
    assert_eq!(change_of(&changes, &id(deleted)).unwrap()["removed"], "DELETED");
    assert!(!mentions(&changes, &id(&theirs)));
}

#[tokio::test]
async fn a_deleted_record_leaves_a_tombstone_with_its_external_id_and_a_pool_release_a_removal() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let create = "mutation($i: CreateLeadInput!) { createLead(input: $i) { lead { id version } userErrors { field code message } } }";
    let lead =
        ok(&app, &rep1, create, json!({"lead": {"name": "增量线索"}, "externalId": "ERP-L-7"}), ("createLead", "lead"))
            .await;
    let mut copy = Copy::default();
    copy.sync(&app, &rep1, json!(["LEAD"]), 100).await;
    assert!(copy.records.contains_key(lead["id"].as_str().unwrap()));

    let delete =
        "mutation($i: LeadVersionInput!) { deleteLead(input: $i) { lead { id } userErrors { field code message } } }";
    ok(&app, &rep1, delete, json!({"id": lead["id"], "expectedVersion": lead["version"]}), ("deleteLead", "lead"))
        .await;
    let changes = copy.sync(&app, &rep1, json!(["LEAD"]), 100).await;
    let tombstone = change_of(&changes, lead["id"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&tombstone["removed"], &tombstone["externalId"]),
        (&json!("DELETED"), &json!("ERP-L-7")),
        "{tombstone}"
    );
    assert!(tombstone["changedAt"].is_string());

    // A customer rep1 gives back to a pool leaves rep1's copy.
    let body = app.gql(Some(&rep1), "{ pools { id name } customers(first: 1) { nodes { id } } }", json!({})).await;
    let pool =
        body["data"]["pools"].as_array().unwrap().iter().find(|p| p["name"] == "华东公海").unwrap()["id"].clone();
    let customer = body["data"]["customers"]["nodes"][0]["id"].as_str().unwrap().to_owned();
    let mut customers = Copy::default();
    customers.sync(&app, &rep1, json!(["CUSTOMER"]), 100).await;
    let release = "mutation($i: ReleaseCustomersInput!) { releaseCustomers(input: $i) { released userErrors { field code message } } }";
    let body =
        app.gql(Some(&rep1), release, json!({"i": {"ids": [customer], "poolId": pool, "reason": "无意向"}})).await;
    assert_eq!(body["data"]["releaseCustomers"]["released"], 1, "{body}");
    let changes = customers.sync(&app, &rep1, json!(["CUSTOMER"]), 100).await;
    assert_eq!(change_of(&changes, &customer).unwrap()["removed"], "OUT_OF_SCOPE");
    assert!(!customers.records.contains_key(&customer));
}

#[tokio::test]
async fn bad_and_expired_cursors_and_unreadable_kinds_are_refused_and_tenants_stay_apart() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let body = app.gql(Some(&rep1), FEED, json!({"c": "not-a-cursor"})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    for n in [0, 501] {
        let body = app.gql(Some(&rep1), "query($n: Int) { changesSince(first: $n) { cursor } }", json!({"n": n})).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "first {n}: {body}");
    }

    // A cursor handed out more than 90 days ago has expired.
    let mut copy = Copy::default();
    copy.sync(&app, &rep1, json!(["CUSTOMER"]), 200).await;
    let cursor = copy.cursor.clone().unwrap();
    let mut decoded: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&cursor).unwrap()).unwrap();
    decoded["at"] = json!((chrono::Utc::now() - chrono::Duration::days(91)).to_rfc3339());
    let old = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&decoded).unwrap());
    let body = app.gql(Some(&rep1), FEED, json!({"c": old, "k": ["CUSTOMER"]})).await;
    assert_eq!(error_code(&body), "CURSOR_EXPIRED", "{body}");
    let body = app.gql(Some(&rep1), FEED, json!({"c": cursor, "k": ["CUSTOMER"]})).await;
    assert_eq!(body["data"]["changesSince"]["changes"], json!([]), "{body}");

    // A snapshot cursor belongs to its kinds.
    let body = app.gql(Some(&rep1), FEED, json!({"k": ["CUSTOMER"], "n": 1})).await;
    let snapshot_cursor = body["data"]["changesSince"]["cursor"].clone();
    let body = app.gql(Some(&rep1), FEED, json!({"c": snapshot_cursor, "k": ["LEAD"]})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");

    // A kind the caller may not read is refused by name; left out, it is skipped.
    let tech = app.login("tech@demo.local").await;
    let body = app.gql(Some(&tech), FEED, json!({"k": ["OPPORTUNITY"]})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let mut tech_copy = Copy::default();
    tech_copy.sync(&app, &tech, Value::Null, 200).await;
    assert!(tech_copy.records.keys().any(|id| id.starts_with("V29ya09yZGVy")), "the technician syncs work orders");

    // A cursor of the changes belongs to its kinds too: more kinds would skip their snapshot.
    let body = app.gql(Some(&rep1), FEED, json!({"c": cursor, "k": ["CUSTOMER", "CONTACT"]})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert!(app.gql(None, FEED, json!({})).await["errors"].is_array());

    // Another tenant's feed holds none of the demo's records, and the demo's none of theirs.
    let other = app.second_tenant("other-feed").await;
    ok(&app, &other, CREATE, json!({"name": "别家客户有限公司"}), ("createCustomer", "customer")).await;
    let mut other_copy = Copy::default();
    other_copy.sync(&app, &other, Value::Null, 200).await;
    assert_eq!(other_copy.records.len(), 1, "{:?}", other_copy.records);
    let admin = app.login("admin@demo.local").await;
    let mut admin_copy = Copy::default();
    admin_copy.sync(&app, &admin, Value::Null, 200).await;
    assert!(!admin_copy.records.is_empty());
    assert!(other_copy.records.keys().all(|id| !admin_copy.records.contains_key(id)));
    let node = "query($id: ID!) { node(id: $id) { id } }";
    for id in other_copy.records.keys() {
        assert!(app.gql(Some(&admin), node, json!({"id": id})).await["data"]["node"].is_null());
    }
}

#[tokio::test]
async fn statements_per_page_do_not_grow_with_its_records() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let kinds = json!(["CUSTOMER", "CONTACT"]);
    for n in 1..=12 {
        let name = format!("计数客户{n}号有限公司");
        ok(&app, &rep1, CREATE, json!({"name": name}), ("createCustomer", "customer")).await;
    }
    let page = |n: i64, cursor: Option<String>| json!({"query": FEED, "variables": {"k": kinds, "n": n, "c": cursor}});

    // The snapshot: 2 or 12 customers on a page, the same statements.
    let (small, body) = app.fewest_statements(Some(&rep1), &page(2, None)).await;
    assert_eq!(body["data"]["changesSince"]["changes"].as_array().unwrap().len(), 2, "{body}");
    let (large, body) = app.fewest_statements(Some(&rep1), &page(12, None)).await;
    assert_eq!(body["data"]["changesSince"]["changes"].as_array().unwrap().len(), 12, "{body}");
    assert_eq!(small, large, "snapshot statements do not grow with the page");

    // The changes: 2 or 12 updated customers, the same statements.
    let mut copy = Copy::default();
    copy.sync(&app, &rep1, kinds.clone(), 200).await;
    let start = copy.cursor.clone();
    let body = app.gql(Some(&rep1), MINE, json!({})).await;
    let mine = body["data"]["customers"]["nodes"].as_array().unwrap().clone();
    assert!(mine.len() >= 12);
    for customer in &mine[..12] {
        let input = json!({"id": customer["id"], "expectedVersion": customer["version"], "address": "同步测试路1号"});
        ok(&app, &rep1, UPDATE, input, ("updateCustomer", "customer")).await;
    }
    let (small, body) = app.fewest_statements(Some(&rep1), &page(2, start.clone())).await;
    assert_eq!(body["data"]["changesSince"]["changes"].as_array().unwrap().len(), 2, "{body}");
    let (large, body) = app.fewest_statements(Some(&rep1), &page(12, start)).await;
    assert_eq!(body["data"]["changesSince"]["changes"].as_array().unwrap().len(), 12, "{body}");
    assert_eq!(small, large, "delta statements do not grow with the page");
}

#[tokio::test]
async fn a_share_brings_a_customer_with_its_records_and_its_end_takes_them_away_without_naming_others() {
    let app = spawn_demo().await;
    let (rep1, rep3, manager, admin) = (
        app.login("rep1@demo.local").await,
        app.login("rep3@demo.local").await,
        app.login("manager@demo.local").await,
        app.login("admin@demo.local").await,
    );
    let kinds = json!(["CUSTOMER", "CONTACT", "OPPORTUNITY"]);
    let mut rep1_copy = Copy::default();
    rep1_copy.sync(&app, &rep1, kinds.clone(), 200).await;
    let mut manager_copy = Copy::default();
    manager_copy.sync(&app, &manager, kinds.clone(), 200).await;

    // rep3 shares a customer of theirs (with contacts) with rep1: it arrives with them.
    let body = app.gql(Some(&rep3), MINE, json!({})).await;
    let contacts = body["data"]["contacts"]["nodes"].as_array().unwrap().clone();
    let shared = contacts[0]["customer"]["id"].as_str().unwrap().to_owned();
    let rep1_id = app.user_id(&admin, "rep1@demo.local").await;
    let input = json!({"recordId": shared, "members": [{"userId": rep1_id, "access": "READ_WRITE"}]});
    assert_eq!(
        app.gql(Some(&rep3), SHARE, json!({"i": input})).await["data"]["addCollaborators"]["userErrors"],
        json!([])
    );
    let changes = rep1_copy.sync(&app, &rep1, kinds.clone(), 200).await;
    assert!(change_of(&changes, &shared).unwrap()["node"].is_object(), "{changes:#?}");
    assert_eq!(rep1_copy.ids(), listed_with_deals(&app, &rep1).await, "the shared customer came with its records");

    // rep1 opens a deal on it, then the customer goes to the technician: the open deal
    // follows the new owner. rep1's manager never saw the customer, so hears nothing of
    // the deal, although rep1 — in their scope — owned it.
    let create = "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { opportunity { id } userErrors { field code message } } }";
    let deal = ok(
        &app,
        &rep1,
        create,
        json!({"customerId": shared, "name": "共享客户商机"}),
        ("createOpportunity", "opportunity"),
    )
    .await;
    let deal = deal["id"].as_str().unwrap().to_owned();
    let tech_id = app.user_id(&admin, "tech@demo.local").await;
    let input = json!({"ids": [shared], "toUserId": tech_id, "reason": "转交"});
    assert_eq!(
        app.gql(Some(&admin), TRANSFER, json!({"i": input})).await["data"]["transferCustomers"]["transferred"],
        1
    );
    let changes = manager_copy.sync(&app, &manager, kinds.clone(), 200).await;
    assert!(!mentions(&changes, &deal) && !mentions(&changes, &shared), "{changes:#?}");

    // The share still shows it to rep1; its end takes the customer, contacts and deal away.
    let changes = rep1_copy.sync(&app, &rep1, kinds.clone(), 200).await;
    assert!(change_of(&changes, &deal).unwrap()["node"].is_object(), "{changes:#?}");
    let input = json!({"recordId": shared, "userIds": [rep1_id]});
    assert_eq!(
        app.gql(Some(&admin), UNSHARE, json!({"i": input})).await["data"]["removeCollaborators"]["userErrors"],
        json!([])
    );
    let changes = rep1_copy.sync(&app, &rep1, kinds.clone(), 200).await;
    assert_eq!(change_of(&changes, &shared).unwrap()["removed"], "OUT_OF_SCOPE", "{changes:#?}");
    assert_eq!(rep1_copy.ids(), listed_with_deals(&app, &rep1).await);
}

/// The ids of the customers, contacts and deals `token` lists.
async fn listed_with_deals(app: &TestApp, token: &str) -> Vec<String> {
    let mut ids = listed(app, token).await;
    let body = app.gql(Some(token), "{ opportunities(first: 100) { nodes { id } } }", json!({})).await;
    ids.extend(
        body["data"]["opportunities"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned()),
    );
    ids.sort();
    ids
}

#[tokio::test]
async fn customers_arriving_with_their_records_cost_the_same_statements_for_2_as_for_12() {
    let app = spawn_demo().await;
    let (rep1, rep3, admin) =
        (app.login("rep1@demo.local").await, app.login("rep3@demo.local").await, app.login("admin@demo.local").await);
    let contact =
        "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } userErrors { code } } }";
    let mut customers = Vec::new();
    for n in 1..=12 {
        let created =
            ok(&app, &rep1, CREATE, json!({"name": format!("迁移客户{n}号有限公司")}), ("createCustomer", "customer"))
                .await;
        let input = json!({"customerId": created["id"], "name": format!("联系人{n}")});
        ok(&app, &rep1, contact, input, ("createContact", "contact")).await;
        customers.push(created["id"].as_str().unwrap().to_owned());
    }
    let kinds = json!(["CUSTOMER", "CONTACT"]);
    let mut copy = Copy::default();
    copy.sync(&app, &rep3, kinds.clone(), 200).await;
    let start = copy.cursor.clone();
    let rep3_id = app.user_id(&admin, "rep3@demo.local").await;
    let page = json!({"query": FEED, "variables": {"k": kinds, "n": 200, "c": start}});
    let transfer = |ids: &[String]| json!({"i": {"ids": ids, "toUserId": rep3_id, "reason": "区域调整"}});

    let body = app.gql(Some(&admin), TRANSFER, transfer(&customers[..2])).await;
    assert_eq!(body["data"]["transferCustomers"]["transferred"], 2, "{body}");
    let (two, body) = app.fewest_statements(Some(&rep3), &page).await;
    let brought = |body: &Value| {
        body["data"]["changesSince"]["changes"].as_array().unwrap().iter().filter(|c| c["kind"] == "CONTACT").count()
    };
    assert_eq!(brought(&body), 2, "each customer brings its contact: {body}");

    let body = app.gql(Some(&admin), TRANSFER, transfer(&customers[2..])).await;
    assert_eq!(body["data"]["transferCustomers"]["transferred"], 10, "{body}");
    let (twelve, body) = app.fewest_statements(Some(&rep3), &page).await;
    assert_eq!(brought(&body), 12, "{body}");
    assert_eq!(two, twelve, "statements do not grow with the customers arriving");
    copy.sync(&app, &rep3, kinds, 200).await;
    assert_eq!(copy.ids(), listed(&app, &rep3).await);
}

#[tokio::test]
async fn what_arriving_customers_bring_is_split_over_pages_and_nothing_is_lost() {
    // At most four records brought along a page: one customer with six contacts goes over
    // two pages of its own, and three with two contacts each do not all fit on one.
    let app = spawn_with(|config| config.limits.feed_brought_per_page = 4).await;
    guanxi_gateway::seed::seed_demo(&app.db).await.expect("seeding the demo tenant");
    let (rep1, rep3, admin) =
        (app.login("rep1@demo.local").await, app.login("rep3@demo.local").await, app.login("admin@demo.local").await);
    let contact =
        "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } userErrors { code } } }";
    let mut customers = Vec::new();
    for (n, contacts) in [6, 2, 2, 2].into_iter().enumerate() {
        let name = format!("分页客户{n}号有限公司");
        let created = ok(&app, &rep1, CREATE, json!({"name": name}), ("createCustomer", "customer")).await;
        for k in 0..contacts {
            let input = json!({"customerId": created["id"], "name": format!("联系人{n}-{k}")});
            ok(&app, &rep1, contact, input, ("createContact", "contact")).await;
        }
        customers.push(created["id"].as_str().unwrap().to_owned());
    }
    let kinds = json!(["CUSTOMER", "CONTACT"]);
    let mut copy = Copy::default();
    copy.sync(&app, &rep3, kinds.clone(), 200).await;
    let rep3_id = app.user_id(&admin, "rep3@demo.local").await;
    let input = json!({"ids": customers, "toUserId": rep3_id, "reason": "区域调整"});
    assert_eq!(
        app.gql(Some(&admin), TRANSFER, json!({"i": input})).await["data"]["transferCustomers"]["transferred"],
        4
    );

    let mut pages = 0;
    loop {
        let body = app.gql(Some(&rep3), FEED, json!({"c": copy.cursor, "k": kinds, "n": 200})).await;
        let feed = &body["data"]["changesSince"];
        let changes = feed["changes"].as_array().unwrap_or_else(|| panic!("{body}"));
        let contacts = changes.iter().filter(|c| c["kind"] == "CONTACT").count();
        assert!(contacts <= 4, "at most four brought along a page: {body}");
        for change in changes {
            copy.records.insert(change["id"].as_str().unwrap().to_owned(), change["node"].clone());
        }
        copy.cursor = Some(feed["cursor"].as_str().unwrap().to_owned());
        pages += 1;
        if feed["hasMore"] == false {
            break;
        }
        assert!(pages < 20, "the feed never caught up");
    }
    assert!(pages >= 3, "split over pages: {pages}");
    assert_eq!(copy.ids(), listed(&app, &rep3).await, "every customer and contact arrived");
}
