//! The organisation: data scopes, tenant isolation and the write conventions, over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const USERS: &str = "{ users(first: 50) { totalCount nodes { email } } }";

async fn users_seen_by(app: &TestApp, email: &str) -> (Vec<String>, i64) {
    let token = app.login(email).await;
    let body = app.gql(Some(&token), USERS, json!({})).await;
    (emails(&body), body["data"]["users"]["totalCount"].as_i64().unwrap_or_else(|| panic!("{body}")))
}

#[tokio::test]
async fn each_built_in_scope_shows_the_right_users_in_lists_and_counts() {
    let app = spawn_demo().await;
    let (all, total) = users_seen_by(&app, "admin@demo.local").await;
    // Eight people: the admin, the sales manager, three reps, service, a technician and finance.
    assert_eq!(all.len(), 8);
    assert_eq!(total, 8);
    // The sales manager's ORG scope is DEPARTMENT_TREE: Sales East and its two teams.
    let (seen, total) = users_seen_by(&app, "manager@demo.local").await;
    assert_eq!(seen, ["manager@demo.local", "rep1@demo.local", "rep2@demo.local"]);
    assert_eq!(total, 3);
    // A rep's ORG scope is DEPARTMENT: only their own team.
    let (seen, total) = users_seen_by(&app, "rep1@demo.local").await;
    assert_eq!(seen, ["rep1@demo.local"]);
    assert_eq!(total, 1);
    // The service agent's department has the technician too.
    let (seen, _) = users_seen_by(&app, "service@demo.local").await;
    assert_eq!(seen, ["service@demo.local", "tech@demo.local"]);
}

async fn custom_role(app: &TestApp, admin: &str, name: &str, scope: &str) -> String {
    let body = app
        .gql(
            Some(admin),
            "mutation($i: CreateRoleInput!) { createRole(input: $i) { role { id scopes { module scope } } userErrors { field code } } }",
            json!({"i": {"name": name, "permissions": ["org.read"], "scopes": [{"module": "ORG", "scope": scope}]}}),
        )
        .await;
    body["data"]["createRole"]["role"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

async fn assign_role(app: &TestApp, admin: &str, email: &str, role: &str) {
    let id = app.user_id(admin, email).await;
    let version =
        app.gql(Some(admin), "query($id: ID!) { user(id: $id) { version } }", json!({"id": id})).await["data"]["user"]
            ["version"]
            .as_i64()
            .unwrap();
    let body = app
        .gql(
            Some(admin),
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { user { role { name } } userErrors { code } } }",
            json!({"i": {"id": id, "expectedVersion": version, "roleId": role}}),
        )
        .await;
    assert_eq!(body["data"]["updateUser"]["userErrors"], json!([]), "{body}");
}

#[tokio::test]
async fn own_and_subordinates_follow_the_manager_chain_and_own_is_only_oneself() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let chain = custom_role(&app, &admin, "看下属", "OWN_AND_SUBORDINATES").await;
    let own = custom_role(&app, &admin, "只看自己", "OWN").await;
    let department = custom_role(&app, &admin, "看本部门", "DEPARTMENT").await;
    let all = custom_role(&app, &admin, "看全部", "ALL").await;

    assign_role(&app, &admin, "manager@demo.local", &chain).await;
    let (seen, total) = users_seen_by(&app, "manager@demo.local").await;
    assert_eq!(seen, ["manager@demo.local", "rep1@demo.local", "rep2@demo.local"]);
    assert_eq!(total, 3);

    // The service agent manages the technician (two levels: admin → agent → tech).
    assign_role(&app, &admin, "service@demo.local", &chain).await;
    assert_eq!(users_seen_by(&app, "service@demo.local").await.0, ["service@demo.local", "tech@demo.local"]);

    assign_role(&app, &admin, "rep1@demo.local", &own).await;
    assert_eq!(users_seen_by(&app, "rep1@demo.local").await.0, ["rep1@demo.local"]);

    assign_role(&app, &admin, "tech@demo.local", &department).await;
    assert_eq!(users_seen_by(&app, "tech@demo.local").await.0, ["service@demo.local", "tech@demo.local"]);

    assign_role(&app, &admin, "rep3@demo.local", &all).await;
    assert_eq!(users_seen_by(&app, "rep3@demo.local").await.1, 8);
}

#[tokio::test]
async fn moving_a_user_or_a_department_changes_what_others_see_at_once() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let before = emails(&app.gql(Some(&manager), USERS, json!({})).await);
    assert!(before.contains(&"rep2@demo.local".to_owned()));

    // Move team 2 (with rep2) from Sales East to Sales North.
    let (team2, version) = app.department(&admin, "华东二组").await;
    let (north, _) = app.department(&admin, "华北销售部").await;
    let moved = app
        .gql(
            Some(&admin),
            "mutation($i: UpdateDepartmentInput!) { updateDepartment(input: $i) { department { parent { name } version } userErrors { code } } }",
            json!({"i": {"id": team2, "expectedVersion": version, "parentId": north}}),
        )
        .await;
    assert_eq!(moved["data"]["updateDepartment"]["department"]["parent"]["name"], "华北销售部", "{moved}");
    let after = emails(&app.gql(Some(&manager), USERS, json!({})).await);
    assert_eq!(after, ["manager@demo.local", "rep1@demo.local"]);

    // The manager's department list shrinks the same way.
    let departments = app.gql(Some(&manager), "{ departments { totalCount nodes { name } } }", json!({})).await;
    assert_eq!(departments["data"]["departments"]["totalCount"], 2, "{departments}");
    // And the moved department is not found for them by id or through `node`.
    let by_id = app.gql(Some(&manager), "query($id: ID!) { department(id: $id) { name } }", json!({"id": team2})).await;
    assert_eq!(error_code(&by_id), "NOT_FOUND");
    let node = app.gql(Some(&manager), "query($id: ID!) { node(id: $id) { id } }", json!({"id": team2})).await;
    assert!(node["data"]["node"].is_null(), "{node}");
}

#[tokio::test]
async fn records_out_of_scope_do_not_exist_by_id_node_or_nested_field() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep3_id = app.user_id(&admin, "rep3@demo.local").await;
    let manager_id = app.user_id(&admin, "manager@demo.local").await;

    let by_id = app.gql(Some(&rep1), "query($id: ID!) { user(id: $id) { email } }", json!({"id": rep3_id})).await;
    assert_eq!(error_code(&by_id), "NOT_FOUND");
    assert!(by_id["data"].is_null() || by_id["data"]["user"].is_null());
    let nodes = app
        .gql(Some(&rep1), "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({"ids": [rep3_id, manager_id]}))
        .await;
    assert_eq!(nodes["data"]["nodes"], json!([null, null]), "{nodes}");
    // rep1's manager sits in Sales East, outside rep1's DEPARTMENT scope: the nested field is null.
    let me = app.gql(Some(&rep1), "{ me { manager { email } department { name parent { name } } } }", json!({})).await;
    assert!(me["data"]["me"]["manager"].is_null(), "{me}");
    assert_eq!(me["data"]["me"]["department"]["name"], "华东一组");
    assert!(me["data"]["me"]["department"]["parent"].is_null(), "{me}");
    // History of an invisible record is NOT_FOUND, too.
    let history =
        app.gql(Some(&rep1), "query($id: ID!) { history(id: $id) { totalCount } }", json!({"id": rep3_id})).await;
    assert_eq!(error_code(&history), "NOT_FOUND");
}

#[tokio::test]
async fn a_second_tenant_sees_nothing_of_the_first() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let other = app.second_tenant("acme").await;
    let rep3 = app.user_id(&admin, "rep3@demo.local").await;
    let (east, _) = app.department(&admin, "华东销售部").await;
    let role = app.role_id(&admin, "admin").await;

    let users = app.gql(Some(&other), USERS, json!({})).await;
    assert_eq!(emails(&users), ["admin@other.local"]);
    assert_eq!(users["data"]["users"]["totalCount"], 1);
    let departments =
        app.gql(Some(&other), "{ departments { totalCount } departmentTree { department { name } } }", json!({})).await;
    assert_eq!(departments["data"]["departments"]["totalCount"], 1, "{departments}");
    for id in [&rep3, &east, &role] {
        let node = app.gql(Some(&other), "query($id: ID!) { node(id: $id) { id } }", json!({"id": id})).await;
        assert!(node["data"]["node"].is_null(), "{node}");
        let history =
            app.gql(Some(&other), "query($id: ID!) { history(id: $id) { totalCount } }", json!({"id": id})).await;
        assert_eq!(error_code(&history), "NOT_FOUND");
    }
    for (query, id) in [
        ("query($id: ID!) { user(id: $id) { email } }", &rep3),
        ("query($id: ID!) { department(id: $id) { name } }", &east),
        ("query($id: ID!) { role(id: $id) { name } }", &role),
    ] {
        assert_eq!(error_code(&app.gql(Some(&other), query, json!({"id": id})).await), "NOT_FOUND", "{query}");
    }
    // Writing to the other tenant's records finds nothing, and changes nothing.
    let write = app
        .gql(
            Some(&other),
            "mutation($i: UpdateDepartmentInput!) { updateDepartment(input: $i) { department { id } userErrors { code } } }",
            json!({"i": {"id": east, "expectedVersion": 1, "name": "被改了"}}),
        )
        .await;
    assert_eq!(write["data"]["updateDepartment"]["userErrors"][0]["code"], "NOT_FOUND", "{write}");
    assert_eq!(app.department(&admin, "华东销售部").await.1, 1);
    // A user of another tenant cannot be put under this tenant's department.
    let other_user = app.user_id(&other, "admin@other.local").await;
    let cross = app
        .gql(
            Some(&other),
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { userErrors { field code } } }",
            json!({"i": {"id": other_user, "expectedVersion": 1, "departmentId": east}}),
        )
        .await;
    assert_eq!(cross["data"]["updateUser"]["userErrors"][0]["field"], "departmentId", "{cross}");
}

const CREATE_DEPARTMENT: &str = "mutation($i: CreateDepartmentInput!) { createDepartment(input: $i) { department { id name version } userErrors { field code message } } }";
const UPDATE_DEPARTMENT: &str = "mutation($i: UpdateDepartmentInput!) { updateDepartment(input: $i) { department { id name version } userErrors { field code } } }";

#[tokio::test]
async fn a_stale_version_is_a_conflict_and_changes_nothing() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (east, version) = app.department(&admin, "华东销售部").await;
    let first = app
        .gql(
            Some(&admin),
            UPDATE_DEPARTMENT,
            json!({"i": {"id": east, "expectedVersion": version, "name": "华东大区"}}),
        )
        .await;
    assert_eq!(first["data"]["updateDepartment"]["department"]["version"], version + 1, "{first}");
    let stale = app
        .gql(
            Some(&admin),
            UPDATE_DEPARTMENT,
            json!({"i": {"id": east, "expectedVersion": version, "name": "华东片区"}}),
        )
        .await;
    assert_eq!(user_error_codes(&stale["data"]["updateDepartment"]), ["VERSION_CONFLICT"]);
    assert_eq!(app.department(&admin, "华东大区").await.1, version + 1);
    let history =
        app.gql(Some(&admin), "query($id: ID!) { history(id: $id) { totalCount } }", json!({"id": east})).await;
    assert_eq!(history["data"]["history"]["totalCount"], 2, "create + one update: {history}");
}

#[tokio::test]
async fn concurrent_writers_with_one_version_produce_one_winner() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (east, version) = app.department(&admin, "华东销售部").await;
    let attempts = (0..6).map(|n| {
        let variables = json!({"i": {"id": east, "expectedVersion": version, "name": format!("华东{n}")}});
        let (app, admin) = (&app, &admin);
        async move { app.gql(Some(admin), UPDATE_DEPARTMENT, variables).await }
    });
    let results = futures::future::join_all(attempts).await;
    let winners = results.iter().filter(|r| r["data"]["updateDepartment"]["department"].is_object()).count();
    let conflicts =
        results.iter().filter(|r| user_error_codes(&r["data"]["updateDepartment"]) == ["VERSION_CONFLICT"]).count();
    assert_eq!((winners, conflicts), (1, 5), "{results:?}");
}

#[tokio::test]
async fn an_idempotent_retry_creates_once_and_a_reused_key_with_other_input_is_refused() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (east, _) = app.department(&admin, "华东销售部").await;
    let input = json!({"i": {"name": "华东三组", "parentId": east, "idempotencyKey": "mobile-retry-1"}});
    let first = app.gql(Some(&admin), CREATE_DEPARTMENT, input.clone()).await;
    let second = app.gql(Some(&admin), CREATE_DEPARTMENT, input).await;
    let id = first["data"]["createDepartment"]["department"]["id"].clone();
    assert!(id.is_string(), "{first}");
    assert_eq!(second["data"]["createDepartment"]["department"]["id"], id, "{second}");
    let count =
        app.gql(Some(&admin), "{ departments(filter: {name: {eq: \"华东三组\"}}) { totalCount } }", json!({})).await;
    assert_eq!(count["data"]["departments"]["totalCount"], 1);
    let other = app
        .gql(
            Some(&admin),
            CREATE_DEPARTMENT,
            json!({"i": {"name": "华东四组", "parentId": east, "idempotencyKey": "mobile-retry-1"}}),
        )
        .await;
    assert_eq!(user_error_codes(&other["data"]["createDepartment"]), ["IDEMPOTENCY_KEY_REUSED"]);
    let none =
        app.gql(Some(&admin), "{ departments(filter: {name: {eq: \"华东四组\"}}) { totalCount } }", json!({})).await;
    assert_eq!(none["data"]["departments"]["totalCount"], 0);
}

#[tokio::test]
async fn invalid_input_is_a_typed_user_error_and_writes_nothing() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (east, _) = app.department(&admin, "华东销售部").await;
    let role = app.role_id(&admin, "sales_rep").await;
    let events_before =
        app.gql(Some(&admin), "query($id: ID!) { history(id: $id) { totalCount } }", json!({"id": east})).await;
    let bad = app
        .gql(
            Some(&admin),
            "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } userErrors { field code } } }",
            json!({"i": {"email": "not-an-email", "displayName": "  ", "phone": "12345", "password": "short",
                          "departmentId": east, "roleId": role}}),
        )
        .await;
    let mut fields: Vec<String> = bad["data"]["createUser"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    assert_eq!(fields, ["displayName", "email", "password", "phone"], "{bad}");
    assert!(bad["data"]["createUser"]["user"].is_null());
    let duplicate = app
        .gql(
            Some(&admin),
            "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } userErrors { field code } } }",
            json!({"i": {"email": "REP1@demo.local", "displayName": "重复", "password": "long-enough",
                          "departmentId": east, "roleId": role}}),
        )
        .await;
    assert_eq!(
        duplicate["data"]["createUser"]["userErrors"],
        json!([{"field": "email", "code": "DUPLICATE"}]),
        "{duplicate}"
    );
    assert_eq!(app.gql(Some(&admin), USERS, json!({})).await["data"]["users"]["totalCount"], 8);
    // A bad permission key names itself.
    let role_error = app
        .gql(Some(&admin), "mutation { createRole(input: {name: \"怪角色\", permissions: [\"customer.fly\"], scopes: []}) { userErrors { field code message } } }", json!({}))
        .await;
    assert_eq!(role_error["data"]["createRole"]["userErrors"][0]["code"], "INVALID", "{role_error}");
    let events_after =
        app.gql(Some(&admin), "query($id: ID!) { history(id: $id) { totalCount } }", json!({"id": east})).await;
    assert_eq!(events_before, events_after);
}

#[tokio::test]
async fn a_department_cannot_move_under_its_own_subtree() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (east, version) = app.department(&admin, "华东销售部").await;
    let (team1, _) = app.department(&admin, "华东一组").await;
    let cycle = app
        .gql(Some(&admin), UPDATE_DEPARTMENT, json!({"i": {"id": east, "expectedVersion": version, "parentId": team1}}))
        .await;
    assert_eq!(user_error_codes(&cycle["data"]["updateDepartment"]), ["CYCLE"]);
    let itself = app
        .gql(Some(&admin), UPDATE_DEPARTMENT, json!({"i": {"id": east, "expectedVersion": version, "parentId": east}}))
        .await;
    assert_eq!(user_error_codes(&itself["data"]["updateDepartment"]), ["CYCLE"]);
}

const DELETE: &str = "mutation($i: VersionedIdInput!) { deleteDepartment(input: $i) { department { deletedAt version } userErrors { code } } }";
const RESTORE: &str = "mutation($i: VersionedIdInput!) { restoreDepartment(input: $i) { department { deletedAt version } userErrors { code } } }";

#[tokio::test]
async fn departments_go_to_the_recycle_bin_and_come_back_with_history() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (north_team, version) = app.department(&admin, "华北一组").await;
    let (east, east_version) = app.department(&admin, "华东销售部").await;
    let not_empty = app.gql(Some(&admin), DELETE, json!({"i": {"id": east, "expectedVersion": east_version}})).await;
    assert_eq!(user_error_codes(&not_empty["data"]["deleteDepartment"]), ["NOT_EMPTY"]);

    let deleted = app.gql(Some(&admin), DELETE, json!({"i": {"id": north_team, "expectedVersion": version}})).await;
    let deleted = &deleted["data"]["deleteDepartment"]["department"];
    assert!(deleted["deletedAt"].is_string(), "{deleted}");
    let live =
        app.gql(Some(&admin), "{ departments(filter: {name: {eq: \"华北一组\"}}) { totalCount } }", json!({})).await;
    assert_eq!(live["data"]["departments"]["totalCount"], 0);
    let bin = app.gql(Some(&admin), "{ departments(filter: {deleted: true}) { nodes { name } } }", json!({})).await;
    assert_eq!(bin["data"]["departments"]["nodes"], json!([{"name": "华北一组"}]));

    let restored =
        app.gql(Some(&admin), RESTORE, json!({"i": {"id": north_team, "expectedVersion": deleted["version"]}})).await;
    assert!(restored["data"]["restoreDepartment"]["department"]["deletedAt"].is_null(), "{restored}");
    let history = app
        .gql(
            Some(&admin),
            "query($id: ID!) { history(id: $id) { nodes { operation actor { email } changes { field } } } }",
            json!({"id": north_team}),
        )
        .await;
    let operations: Vec<&str> = history["data"]["history"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(operations, ["RESTORE", "DELETE", "CREATE"], "{history}");
    assert_eq!(history["data"]["history"]["nodes"][0]["actor"]["email"], "admin@demo.local");
}

#[tokio::test]
async fn pages_follow_the_keyset_and_never_repeat_or_skip() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let query = "query($after: String) { users(first: 3, after: $after, orderBy: [{field: EMAIL, direction: ASC}]) { totalCount pageInfo { hasNextPage endCursor } nodes { email } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    for _ in 0..5 {
        let body = app.gql(Some(&admin), query, json!({"after": after})).await;
        let users = &body["data"]["users"];
        assert_eq!(users["totalCount"], 8, "{body}");
        seen.extend(users["nodes"].as_array().unwrap().iter().map(|n| n["email"].as_str().unwrap().to_owned()));
        if users["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = users["pageInfo"]["endCursor"].clone();
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 8);
    // A cursor from one ordering is refused under another.
    let cursor =
        app.gql(Some(&admin), query, json!({"after": null})).await["data"]["users"]["pageInfo"]["endCursor"].clone();
    let wrong = app
        .gql(Some(&admin), "query($a: String) { users(first: 3, after: $a) { totalCount } }", json!({"a": cursor}))
        .await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT");
}

#[tokio::test]
async fn nested_fields_cost_the_same_statements_for_5_or_50_users() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (team1, _) = app.department(&admin, "华东一组").await;
    let role = app.role_id(&admin, "sales_rep").await;
    let manager = app.user_id(&admin, "manager@demo.local").await;
    for n in 0..45 {
        let body = app
            .gql(
                Some(&admin),
                "mutation($i: CreateUserInput!) { createUser(input: $i) { userErrors { code } } }",
                json!({"i": {"email": format!("bulk{n}@demo.local"), "displayName": format!("批量{n}"), "password": "long-enough",
                              "departmentId": team1, "roleId": role, "managerId": manager}}),
            )
            .await;
        assert_eq!(body["data"]["createUser"]["userErrors"], json!([]), "{body}");
    }
    let query = |n: usize| json!({"query": format!("{{ users(first: {n}) {{ nodes {{ email department {{ name parent {{ name }} memberCount }} manager {{ email }} role {{ name }} }} }} }}")});
    let (small, small_body) = app.fewest_statements(Some(&admin), &query(5)).await;
    let (large, large_body) = app.fewest_statements(Some(&admin), &query(50)).await;
    assert_eq!(small_body["data"]["users"]["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(large_body["data"]["users"]["nodes"].as_array().unwrap().len(), 50, "{large_body}");
    assert!(small > 0);
    assert_eq!(small, large, "statements must not grow with rows");
    assert!(large <= 8, "auth + page + one per relation kind, got {large}");
}

#[tokio::test]
async fn phone_numbers_are_masked_without_the_permission() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let technician = app.login("tech@demo.local").await;
    let tech_view = app.gql(Some(&technician), "{ users { nodes { email phone } } }", json!({})).await;
    let agent = tech_view["data"]["users"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "service@demo.local")
        .cloned()
        .unwrap();
    assert_eq!(agent["phone"], "138****0006", "{tech_view}");
    let own = app.gql(Some(&technician), "{ me { phone } }", json!({})).await;
    assert_eq!(own["data"]["me"]["phone"], "13800000007");
    let admin_view = app
        .gql(
            Some(&admin),
            "query($e: String!) { users(filter: {email: {eq: $e}}) { nodes { phone } } }",
            json!({"e": "service@demo.local"}),
        )
        .await;
    assert_eq!(admin_view["data"]["users"]["nodes"][0]["phone"], "13800000006");
}

#[tokio::test]
async fn nobody_hands_out_more_than_their_own_role_allows() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let hr = app
        .gql(Some(&admin), "mutation { createRole(input: {name: \"部门人事\", permissions: [\"org.read\", \"org.manage\", \"customer.read\"], scopes: [{module: ORG, scope: DEPARTMENT_TREE}]}) { role { id } userErrors { code } } }", json!({}))
        .await["data"]["createRole"]["role"]["id"]
        .clone();
    assign_role(&app, &admin, "manager@demo.local", hr.as_str().unwrap()).await;
    let manager = app.login("manager@demo.local").await;
    let wider = app
        .gql(Some(&manager), "mutation { createRole(input: {name: \"越权角色\", permissions: [\"customer.export\"], scopes: []}) { role { id } userErrors { field code } } }", json!({}))
        .await;
    assert_eq!(wider["data"]["createRole"]["userErrors"][0]["code"], "FORBIDDEN", "{wider}");
    let all_scope = app
        .gql(Some(&manager), "mutation { createRole(input: {name: \"看全公司\", permissions: [\"org.read\"], scopes: [{module: ORG, scope: ALL}]}) { userErrors { code } } }", json!({}))
        .await;
    assert_eq!(all_scope["data"]["createRole"]["userErrors"][0]["code"], "FORBIDDEN", "{all_scope}");
    let admin_role = app.role_id(&admin, "admin").await;
    let rep1 = app.user_id(&admin, "rep1@demo.local").await;
    let promote = app
        .gql(
            Some(&manager),
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { userErrors { field code } } }",
            json!({"i": {"id": rep1, "expectedVersion": 1, "roleId": admin_role}}),
        )
        .await;
    assert_eq!(promote["data"]["updateUser"]["userErrors"][0]["code"], "FORBIDDEN", "{promote}");
    let narrow = app
        .gql(Some(&manager), "mutation { createRole(input: {name: \"只读\", permissions: [\"org.read\"], scopes: [{module: ORG, scope: OWN}]}) { role { id } userErrors { code } } }", json!({}))
        .await;
    assert!(narrow["data"]["createRole"]["role"]["id"].is_string(), "{narrow}");
}
