//! Sharing (协作人): a customer or a deal shared READ or READ_WRITE, optionally until a
//! moment. The authorisation matrix: each sharing state (none, READ, READ_WRITE,
//! expired, removed) × each read path, compared with what the admin sees of the same
//! customer; writes by access; the owner side alone shares; bad input; tenants; deal
//! shares; the change log; statement counts. Over HTTP, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use guanxi_store::ConnectionTrait;
use serde_json::{Value, json};

const ADD: &str = "mutation($i: AddCollaboratorsInput!) { addCollaborators(input: $i) { collaborators { user { displayName email } access expiresAt live note addedBy { displayName } } userErrors { field code message } } }";
const REMOVE: &str = "mutation($i: RemoveCollaboratorsInput!) { removeCollaborators(input: $i) { collaborators { user { email } } userErrors { field code message } } }";
const SHARED: &str = "上海明远机械制造有限公司";

/// Everything a caller sees of one customer, path by path: one request per root field,
/// so a path that refuses (a non-null field's NOT_FOUND) leaves the others standing.
const SEEN: &[(&str, &str)] = &[
    ("customer", "customer(id: $id) { id name collaborators { user { email } } }"),
    ("node", "node(id: $id) { id }"),
    ("list", "customers(filter: {name: {eq: $n}}) { totalCount nodes { id } }"),
    ("export", "exportCustomers(filter: {name: {eq: $n}}) { rowCount }"),
    (
        "view",
        "customer360(id: $id) { summary { contactCount } contacts { totalCount } opportunities { totalCount } \
         quotes { totalCount } salesOrders { totalCount } contracts { totalCount } workOrders { totalCount } }",
    ),
    ("contacts", "contacts(filter: {customerId: $c}) { totalCount }"),
    ("interactions", "interactions(first: 100, filter: {customerId: $c}) { totalCount nodes { customer { id } } }"),
    ("opportunities", "opportunities(filter: {customerId: $c}) { totalCount nodes { customer { id } } }"),
    ("quotes", "quotes(filter: {customerId: $c}) { totalCount }"),
    ("salesOrders", "salesOrders(filter: {customerId: $c}) { totalCount }"),
    ("contracts", "contracts(filter: {customerId: $c}) { totalCount }"),
    ("workOrders", "workOrders(filter: {customerId: $c}) { totalCount }"),
    ("history", "history(id: $id, first: 1) { totalCount }"),
    ("newCustomers", "stats(measure: NEW_CUSTOMERS, from: $f, to: $t) { total { count } }"),
    ("allInteractions", "interactions(filter: {occurredAt: {gte: $f, lt: $t}}) { totalCount }"),
    ("interactionStats", "stats(measure: INTERACTIONS, from: $f, to: $t) { total { count } }"),
    ("funnel", "funnel { openCount }"),
];

/// Each path of [`SEEN`] as `token` sees the customer `id`, null where it is refused.
async fn seen(app: &TestApp, token: &str, id: &str) -> Value {
    let (from, to) = window();
    let vars = json!({"id": id, "c": {"eq": id}, "n": SHARED, "f": from, "t": to});
    let mut data = serde_json::Map::new();
    for (name, field) in SEEN {
        // Only the variables this path uses (GraphQL refuses unused ones).
        let used: Vec<(&str, &str)> =
            [("id", "ID!"), ("c", "IdFilter"), ("n", "String!"), ("f", "DateTime!"), ("t", "DateTime!")]
                .into_iter()
                .filter(|(var, _)| {
                    field.split(|c: char| !c.is_alphanumeric() && c != '$').any(|w| w == format!("${var}"))
                })
                .collect();
        let declared: Vec<String> = used.iter().map(|(var, kind)| format!("${var}: {kind}")).collect();
        let variables: serde_json::Map<String, Value> =
            used.iter().map(|(var, _)| ((*var).to_owned(), vars[*var].clone())).collect();
        let query = format!("query({}) {{ {name}: {field} }}", declared.join(", "));
        let query = query.replace("query() ", "query ");
        let body = app.gql(Some(token), &query, Value::Object(variables)).await;
        let value = body["data"][*name].clone();
        // Reps may not export (`customer.export`): the export is checked for a manager below.
        let refusal = if *name == "export" { ["NOT_FOUND", "FORBIDDEN"] } else { ["NOT_FOUND", "NOT_FOUND"] };
        if !body["errors"].is_null() {
            assert!(value.is_null() && refusal.contains(&error_code(&body).as_str()), "{name}: {body}");
        }
        data.insert((*name).to_owned(), value);
    }
    Value::Object(data)
}

/// The per-customer figures of [`SEEN`], as `(path, value)` pairs: what sharing must give
/// a collaborator exactly as the admin has it, and take away again.
fn of_customer(data: &Value) -> Vec<(&'static str, Value)> {
    let count = |v: &Value| v["totalCount"].clone();
    vec![
        ("customer(id)", data["customer"]["id"].clone()),
        ("node(id)", data["node"]["id"].clone()),
        ("customers", count(&data["list"])),
        ("exportCustomers", data["export"]["rowCount"].clone()),
        ("360 contactCount", data["view"]["summary"]["contactCount"].clone()),
        ("360 contacts", count(&data["view"]["contacts"])),
        ("360 opportunities", count(&data["view"]["opportunities"])),
        ("360 quotes", count(&data["view"]["quotes"])),
        ("360 salesOrders", count(&data["view"]["salesOrders"])),
        ("360 contracts", count(&data["view"]["contracts"])),
        ("360 workOrders", count(&data["view"]["workOrders"])),
        ("contacts", count(&data["contacts"])),
        ("interactions", count(&data["interactions"])),
        ("opportunities", count(&data["opportunities"])),
        ("quotes", count(&data["quotes"])),
        ("salesOrders", count(&data["salesOrders"])),
        ("contracts", count(&data["contracts"])),
        ("workOrders", count(&data["workOrders"])),
        ("history", count(&data["history"])),
        ("interaction.customer", data["interactions"]["nodes"][0]["customer"]["id"].clone()),
        ("opportunity.customer", data["opportunities"]["nodes"][0]["customer"]["id"].clone()),
    ]
}

/// The paths of [`of_customer`] a rep reads (not the export, which needs `customer.export`;
/// see `an_export_follows_the_shares`).
fn readable_of(pairs: &[(&'static str, Value)]) -> Vec<(&'static str, Value)> {
    pairs.iter().filter(|(path, _)| *path != "exportCustomers").cloned().collect()
}

fn readable(data: &Value) -> Vec<(&'static str, Value)> {
    readable_of(&of_customer(data))
}

/// Every path shows nothing of the customer: null where it refuses, zero where it counts.
fn assert_nothing(data: &Value) {
    let shown: Vec<_> = of_customer(data).into_iter().filter(|(_, v)| !v.is_null() && *v != json!(0)).collect();
    assert!(shown.is_empty(), "paths that still show the customer: {shown:?}");
}

/// The aggregates of [`SEEN`] that count the customer among others.
fn totals(data: &Value) -> (i64, i64, i64, i64) {
    (
        data["newCustomers"]["total"]["count"].as_i64().unwrap(),
        data["allInteractions"]["totalCount"].as_i64().unwrap(),
        data["interactionStats"]["total"]["count"].as_i64().unwrap(),
        data["funnel"]["openCount"].as_i64().unwrap(),
    )
}

async fn share(app: &TestApp, token: &str, record: &str, members: Value) -> Value {
    ok(
        app,
        token,
        ADD,
        json!({"recordId": record, "members": members, "note": "一起跟进"}),
        ("addCollaborators", "collaborators"),
    )
    .await
}

async fn execute(app: &TestApp, sql: &str) {
    app.db.connection().execute_raw(guanxi_store::dialect::raw_statement(app.db.db_backend(), sql, [])).await.unwrap();
}

/// rep2 tries to edit the shared customer and to log a follow-up on it.
async fn writes(app: &TestApp, rep2: &str, id: &str) -> (Vec<String>, Vec<String>) {
    let admin = app.login("admin@demo.local").await;
    let version = app.gql(Some(&admin), "query($id: ID!) { customer(id: $id) { version } }", json!({"id": id})).await
        ["data"]["customer"]["version"]
        .clone();
    let update = app
        .gql(
            Some(rep2),
            "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { customer { id } userErrors { code } } }",
            json!({"i": {"id": id, "expectedVersion": version, "notes": "协作人补充"}}),
        )
        .await;
    let follow_up = app
        .gql(
            Some(rep2),
            "mutation($i: CreateInteractionInput!) { createInteraction(input: $i) { interaction { id } userErrors { code } } }",
            json!({"i": {"customerId": id, "channel": "CALL", "content": "协作人电话跟进"}}),
        )
        .await;
    (user_error_codes(&update["data"]["updateCustomer"]), user_error_codes(&follow_up["data"]["createInteraction"]))
}

#[tokio::test]
async fn the_sharing_matrix_on_every_read_path() {
    let app = spawn_demo().await;
    let (admin, rep1, rep2) =
        (app.login("admin@demo.local").await, app.login("rep1@demo.local").await, app.login("rep2@demo.local").await);
    let id = customer(&app, &admin, SHARED).await;
    let rep2_id = app.user_id(&admin, "rep2@demo.local").await;

    let everything = of_customer(&seen(&app, &admin, &id).await);
    for (path, value) in &everything[..4] {
        assert!(!value.is_null() && *value != json!(0), "the admin sees {path}: {everything:?}");
    }
    // Every kind of record hangs off it in the demo (no sales order yet), so no path passes
    // by counting nothing on both sides.
    for path in ["contacts", "interactions", "opportunities", "quotes", "contracts", "workOrders", "history"] {
        let n = everything.iter().find(|(p, _)| *p == path).unwrap().1.as_i64().unwrap();
        assert!(n > 0, "the demo gives {SHARED} some {path}");
    }

    // None: rep2 (own scope) sees nothing of rep1's customer, on any path.
    let before = seen(&app, &rep2, &id).await;
    assert_nothing(&before);
    let base = totals(&before);
    assert_eq!(base.1, base.2, "the counted interaction stats agree with the records");
    let (refused_update, refused_follow_up) = writes(&app, &rep2, &id).await;
    assert_eq!((refused_update, refused_follow_up), (vec!["NOT_FOUND".to_owned()], vec!["NOT_FOUND".to_owned()]));

    // READ: every path shows exactly what the admin sees; the aggregates count it.
    let shared = share(&app, &rep1, &id, json!([{"userId": rep2_id, "access": "READ"}])).await;
    assert_eq!(shared[0]["user"]["displayName"], "刘洋", "the sharer sees who they share with");
    assert_eq!((shared[0]["access"].as_str(), shared[0]["live"].as_bool()), (Some("READ"), Some(true)));
    assert_eq!(shared[0]["addedBy"]["displayName"], "王磊");
    let reading = seen(&app, &rep2, &id).await;
    let expected = of_customer(&seen(&app, &admin, &id).await);
    assert_eq!(readable(&reading), readable_of(&expected));
    assert_eq!(reading["customer"]["collaborators"][0]["user"]["email"], "rep2@demo.local");
    let widened = totals(&reading);
    let interactions = expected.iter().find(|(p, _)| *p == "interactions").unwrap().1.as_i64().unwrap();
    let open_deals = app
        .gql(
            Some(&admin),
            "query($c: IdFilter) { funnel(filter: {customerId: $c}) { openCount } }",
            json!({"c": {"eq": id}}),
        )
        .await["data"]["funnel"]["openCount"]
        .as_i64()
        .unwrap();
    assert_eq!(widened.0, base.0 + 1, "NEW_CUSTOMERS counts the shared customer");
    assert_eq!(widened.1, base.1 + interactions, "the interaction list counts its interactions");
    assert_eq!(widened.2, widened.1, "INTERACTIONS stats read the records for a caller with shares");
    assert_eq!(widened.3, base.3 + open_deals, "the funnel counts its open deals");
    // …but a READ collaborator writes nothing.
    let (update, follow_up) = writes(&app, &rep2, &id).await;
    assert_eq!((update, follow_up), (vec!["NOT_FOUND".to_owned()], vec!["NOT_FOUND".to_owned()]));

    // READ_WRITE (the same call again, changing the access: still one row) lets them write.
    let shared = share(&app, &rep1, &id, json!([{"userId": rep2_id, "access": "READ_WRITE"}])).await;
    assert_eq!(shared.as_array().unwrap().len(), 1);
    assert_eq!(shared[0]["access"], "READ_WRITE");
    let (update, follow_up) = writes(&app, &rep2, &id).await;
    assert_eq!((update, follow_up), (Vec::<String>::new(), Vec::<String>::new()));
    assert_eq!(readable(&seen(&app, &rep2, &id).await), readable(&seen(&app, &admin, &id).await));
    // A collaborator is not the owner: they cannot pass the share on, nor give the customer up to a pool.
    let (codes, _) = refused(
        &app,
        &rep2,
        ADD,
        json!({"recordId": id, "members": [{"userId": app.user_id(&admin, "rep3@demo.local").await}]}),
        "addCollaborators",
    )
    .await;
    assert_eq!(codes, ["NOT_FOUND"]);
    let pools = app.gql(Some(&rep2), "{ pools { id name } }", json!({})).await;
    let pool = pools["data"]["pools"][0]["id"].clone();
    let release = app
        .gql(
            Some(&rep2),
            "mutation($i: ReleaseCustomersInput!) { releaseCustomers(input: $i) { released userErrors { code } } }",
            json!({"i": {"ids": [id], "poolId": pool, "reason": "协作人想放弃"}}),
        )
        .await;
    assert_eq!(user_error_codes(&release["data"]["releaseCustomers"]), ["NOT_FOUND"], "{release}");
    let owner =
        app.gql(Some(&admin), "query($id: ID!) { customer(id: $id) { owner { email } } }", json!({"id": id})).await;
    assert_eq!(owner["data"]["customer"]["owner"]["email"], "rep1@demo.local", "still rep1's");

    // Expired: the share stops counting the moment it ends, with no job run.
    execute(&app, "UPDATE collaborators SET expires_at = '2020-01-01T00:00:00+00:00' WHERE access = 'READ_WRITE'")
        .await;
    let expired = seen(&app, &rep2, &id).await;
    assert_nothing(&expired);
    let after = totals(&expired);
    assert_eq!((after.0, after.3), (base.0, base.3));
    assert_eq!(after.1, after.2, "no live share: the counted stats agree with the records again");
    let listed = app
        .gql(Some(&rep1), "query($id: ID!) { customer(id: $id) { collaborators { live } } }", json!({"id": id}))
        .await;
    assert_eq!(listed["data"]["customer"]["collaborators"], json!([{"live": false}]));

    // Removed: shared again, then removed, and gone from every path.
    share(&app, &rep1, &id, json!([{"userId": rep2_id}])).await;
    assert!(!seen(&app, &rep2, &id).await["customer"].is_null());
    let left = ok(
        &app,
        &rep1,
        REMOVE,
        json!({"recordId": id, "userIds": [rep2_id]}),
        ("removeCollaborators", "collaborators"),
    )
    .await;
    assert_eq!(left, json!([]));
    assert_nothing(&seen(&app, &rep2, &id).await);

    // Every change is in the customer's history.
    let history = app
        .gql(
            Some(&admin),
            "query($id: ID!) { history(id: $id, first: 50) { nodes { operation changes { field } } } }",
            json!({"id": id}),
        )
        .await;
    let sharing_events = history["data"]["history"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["changes"].as_array().unwrap().iter().any(|c| c["field"] == "collaborators"))
        .count();
    assert_eq!(sharing_events, 4, "READ, READ_WRITE, shared again, removed: {history}");
}

/// How many shares the tenant holds.
async fn shares(app: &TestApp) -> i64 {
    let count = guanxi_store::dialect::raw_statement(app.db.db_backend(), "SELECT COUNT(*) FROM collaborators", []);
    app.db.connection().query_one_raw(count).await.unwrap().unwrap().try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test]
async fn sharing_refuses_bad_input_and_changes_nothing() {
    let app = spawn_demo().await;
    let (admin, rep1) = (app.login("admin@demo.local").await, app.login("rep1@demo.local").await);
    let id = customer(&app, &admin, SHARED).await;
    let (rep1_id, rep2_id) =
        (app.user_id(&admin, "rep1@demo.local").await, app.user_id(&admin, "rep2@demo.local").await);
    let contact = app.gql(Some(&admin), "{ contacts(first: 1) { nodes { id } } }", json!({})).await["data"]["contacts"]
        ["nodes"][0]["id"]
        .clone();
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let before = shares(&app).await;
    let stranger = app.second_tenant("other").await;
    let stranger_id =
        app.gql(Some(&stranger), "{ me { id } }", json!({})).await["data"]["me"]["id"].as_str().unwrap().to_owned();
    let cases = [
        (json!({"recordId": contact, "members": [{"userId": rep2_id}]}), "INVALID", "recordId"),
        (json!({"recordId": id, "members": []}), "REQUIRED", "members"),
        (
            json!({"recordId": id, "members": [{"userId": rep2_id}, {"userId": rep2_id}]}),
            "DUPLICATE",
            "members.1.userId",
        ),
        (json!({"recordId": id, "members": [{"userId": rep1_id}]}), "INVALID", "members.0.userId"),
        (
            json!({"recordId": id, "members": [{"userId": rep2_id, "expiresAt": past}]}),
            "INVALID",
            "members.0.expiresAt",
        ),
        (json!({"recordId": id, "members": [{"userId": stranger_id}]}), "NOT_FOUND", "members.0.userId"),
        (json!({"recordId": id, "members": [{"userId": "not-an-id"}]}), "INVALID", "members.0.userId"),
    ];
    for (input, code, field) in cases {
        let body = app.gql(Some(&rep1), ADD, json!({"i": input})).await;
        let errors = &body["data"]["addCollaborators"]["userErrors"];
        assert_eq!(
            (errors[0]["code"].as_str(), errors[0]["field"].as_str()),
            (Some(code), Some(field)),
            "{input}: {body}"
        );
    }
    assert_eq!(shares(&app).await, before, "no refused call wrote a share");
    // Another tenant's admin cannot reach the customer to share it.
    let (codes, _) = refused(
        &app,
        &stranger,
        ADD,
        json!({"recordId": id, "members": [{"userId": stranger_id}]}),
        "addCollaborators",
    )
    .await;
    assert_eq!(codes, ["NOT_FOUND"]);
    // A rep without the customer in their own scope cannot share it either.
    let rep3 = app.login("rep3@demo.local").await;
    let (codes, _) =
        refused(&app, &rep3, ADD, json!({"recordId": id, "members": [{"userId": rep2_id}]}), "addCollaborators").await;
    assert_eq!(codes, ["NOT_FOUND"]);
}

#[tokio::test]
async fn a_shared_deal_is_seen_without_its_customer() {
    let app = spawn_demo().await;
    let (admin, rep1, rep3) =
        (app.login("admin@demo.local").await, app.login("rep1@demo.local").await, app.login("rep3@demo.local").await);
    let id = customer(&app, &admin, SHARED).await;
    let deals = app
        .gql(
            Some(&rep1),
            "query($c: IdFilter) { opportunities(filter: {customerId: $c}) { nodes { id status } } }",
            json!({"c": {"eq": id}}),
        )
        .await;
    let deal = deals["data"]["opportunities"]["nodes"][0]["id"].as_str().unwrap().to_owned();
    let probe =
        "query($id: ID!) { opportunity(id: $id) { id customer { id } collaborators { user { email } access } } }";
    let unseen = app.gql(Some(&rep3), probe, json!({"id": deal})).await;
    assert_eq!(error_code(&unseen), "NOT_FOUND", "{unseen}");
    let rep3_id = app.user_id(&admin, "rep3@demo.local").await;
    let edit = |version: Value| json!({"i": {"id": deal, "expectedVersion": version, "notes": "协作人补充"}});
    let update = "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { version } userErrors { code } } }";
    let version = app
        .gql(Some(&rep1), "query($id: ID!) { opportunity(id: $id) { version } }", json!({"id": deal}))
        .await["data"]["opportunity"]["version"]
        .clone();
    // READ: seen, not written.
    share(&app, &rep1, &deal, json!([{"userId": rep3_id, "access": "READ"}])).await;
    let refused = app.gql(Some(&rep3), update, edit(version.clone())).await;
    assert_eq!(user_error_codes(&refused["data"]["updateOpportunity"]), ["NOT_FOUND"], "{refused}");
    share(&app, &rep1, &deal, json!([{"userId": rep3_id, "access": "READ_WRITE"}])).await;
    let written = app.gql(Some(&rep3), update, edit(version)).await;
    assert_eq!(user_error_codes(&written["data"]["updateOpportunity"]), Vec::<String>::new(), "{written}");
    let shared = app.gql(Some(&rep3), probe, json!({"id": deal})).await;
    assert_eq!(shared["data"]["opportunity"]["id"], deal.as_str(), "{shared}");
    assert!(shared["data"]["opportunity"]["customer"].is_null(), "the deal's customer stays hidden: {shared}");
    assert_eq!(shared["data"]["opportunity"]["collaborators"][0]["access"], "READ_WRITE");
    let listed = app.gql(Some(&rep3), "{ opportunities(first: 100) { nodes { id } } }", json!({})).await;
    assert!(listed["data"]["opportunities"]["nodes"].as_array().unwrap().iter().any(|n| n["id"] == deal.as_str()));
    // Sharing the deal shares nothing else of the customer.
    assert!(seen(&app, &rep3, &id).await["customer"].is_null());
}

#[tokio::test]
async fn shares_cost_no_statements_on_lists_and_the_360_view() {
    let app = spawn_demo().await;
    let (admin, rep1, rep2) =
        (app.login("admin@demo.local").await, app.login("rep1@demo.local").await, app.login("rep2@demo.local").await);
    let list = json!({"query": "{ customers(first: 50) { totalCount nodes { name owner { displayName } collaborators { access } } } }"});
    let rep2_customer = customer(&app, &rep2, "南京金陵商贸有限公司").await;
    let view = json!({"query": "query($id: ID!) { customer360(id: $id) { customer { name } contacts { totalCount } opportunities { totalCount } timeline(first: 20) { edges { node { __typename } } } } }", "variables": {"id": rep2_customer}});
    let (list_before, listed) = app.fewest_statements(Some(&rep2), &list).await;
    let (view_before, _) = app.fewest_statements(Some(&rep2), &view).await;
    let before = listed["data"]["customers"]["totalCount"].as_i64().unwrap();
    let rep2_id = app.user_id(&admin, "rep2@demo.local").await;
    for name in [SHARED, "苏州恒信电子科技有限公司"] {
        let id = customer(&app, &admin, name).await;
        share(&app, &rep1, &id, json!([{"userId": rep2_id}])).await;
    }
    let (list_after, listed) = app.fewest_statements(Some(&rep2), &list).await;
    let (view_after, _) = app.fewest_statements(Some(&rep2), &view).await;
    assert_eq!(listed["data"]["customers"]["totalCount"].as_i64().unwrap(), before + 2, "{listed}");
    assert_eq!((list_after, view_after), (list_before, view_before), "shares add no statement");
}

#[tokio::test]
async fn an_export_follows_the_shares() {
    let app = spawn_demo().await;
    let (admin, rep3, manager) = (
        app.login("admin@demo.local").await,
        app.login("rep3@demo.local").await,
        app.login("manager@demo.local").await,
    );
    let name = "北京京华软件股份有限公司";
    let id = customer(&app, &admin, name).await;
    let export = "query($n: String!) { exportCustomers(filter: {name: {eq: $n}}) { rowCount csv } }";
    let rows = |body: Value| body["data"]["exportCustomers"]["rowCount"].as_i64().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(rows(app.gql(Some(&manager), export, json!({"n": name})).await), 0, "outside the East tree");
    let manager_id = app.user_id(&admin, "manager@demo.local").await;
    share(&app, &rep3, &id, json!([{"userId": manager_id}])).await;
    let body = app.gql(Some(&manager), export, json!({"n": name})).await;
    assert_eq!(rows(body.clone()), 1);
    assert!(body["data"]["exportCustomers"]["csv"].as_str().unwrap().contains(name));
    let shared_only =
        app.gql(Some(&manager), "{ customers(filter: {sharedWithMe: true}) { nodes { name } } }", json!({})).await;
    assert_eq!(shared_only["data"]["customers"]["nodes"], json!([{"name": name}]), "{shared_only}");
    let not_shared = app
        .gql(Some(&manager), "{ customers(first: 200, filter: {sharedWithMe: false}) { nodes { name } } }", json!({}))
        .await;
    let names: Vec<&str> = not_shared["data"]["customers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert!(!names.is_empty() && !names.contains(&name), "{names:?}");
}

#[tokio::test]
async fn a_customer_given_up_to_a_pool_ends_its_shares() {
    let app = spawn_demo().await;
    let (admin, rep1, rep2) =
        (app.login("admin@demo.local").await, app.login("rep1@demo.local").await, app.login("rep2@demo.local").await);
    let id = customer(&app, &admin, "苏州恒信电子科技有限公司").await;
    let rep2_id = app.user_id(&admin, "rep2@demo.local").await;
    share(&app, &rep1, &id, json!([{"userId": rep2_id, "access": "READ_WRITE"}])).await;
    assert!(!seen(&app, &rep2, &id).await["customer"].is_null());
    let pools = app.gql(Some(&rep1), "{ pools { id } }", json!({})).await;
    let released = ok(
        &app,
        &rep1,
        "mutation($i: ReleaseCustomersInput!) { releaseCustomers(input: $i) { released userErrors { code } } }",
        json!({"ids": [id], "poolId": pools["data"]["pools"][0]["id"], "reason": "暂无需求"}),
        ("releaseCustomers", "released"),
    )
    .await;
    assert_eq!(released, 1);
    // Ownerless in the pool, it is nobody's to share: the share is gone, with an event.
    let left = app.gql(Some(&rep2), "{ customers(filter: {sharedWithMe: true}) { totalCount } }", json!({})).await;
    assert_eq!(left["data"]["customers"]["totalCount"], 0, "{left}");
    assert!(seen(&app, &rep2, &id).await["customer"].is_null());
    let history = app
        .gql(
            Some(&admin),
            "query($id: ID!) { history(id: $id, first: 5) { nodes { changes { field new } } } }",
            json!({"id": id}),
        )
        .await;
    let ended = history["data"]["history"]["nodes"].as_array().unwrap().iter().any(|e| {
        e["changes"].as_array().unwrap().iter().any(|c| c["field"] == "collaborators" && c["new"] == json!({}))
    });
    assert!(ended, "{history}");
}
