//! Limits, error typing, operability endpoints and the schema contract, over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use guanxi_store::ConnectionTrait;
use serde_json::json;

fn reason(body: &serde_json::Value) -> String {
    body["errors"][0]["extensions"]["reason"].as_str().unwrap_or_else(|| panic!("no reason in {body}")).to_owned()
}

#[tokio::test]
async fn every_limit_refuses_an_over_limit_request_with_a_typed_error() {
    let app = spawn_with(|config| {
        config.limits.max_depth = 6;
        config.limits.max_complexity = 300;
        config.limits.max_aliases = 3;
        config.limits.max_batch = 2;
        config.limits.max_body_bytes = 4_000;
        config.limits.max_directives = 2;
    })
    .await;
    guanxi_gateway::seed::seed_demo(&app.db).await.unwrap();
    let admin = app.login("admin@demo.local").await;

    let deep = "{ me { department { parent { parent { parent { parent { parent { name } } } } } } } }";
    let body = app.gql(Some(&admin), deep, json!({})).await;
    assert_eq!((error_code(&body), reason(&body)), ("BAD_USER_INPUT".into(), "DEPTH_LIMIT".into()), "{body}");

    let complex = "{ users(first: 200) { nodes { email displayName department { name } manager { email } } } }";
    let body = app.gql(Some(&admin), complex, json!({})).await;
    assert_eq!(reason(&body), "COMPLEXITY_LIMIT", "{body}");

    let aliases = "{ a: me { email } b: me { email } c: me { email } d: me { email } }";
    let body = app.gql(Some(&admin), aliases, json!({})).await;
    assert_eq!(reason(&body), "ALIAS_LIMIT", "{body}");

    let directives = "{ me { email @include(if: true) @skip(if: false) @include(if: true) } }";
    let body = app.gql(Some(&admin), directives, json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");

    let batch = json!([{"query": "{ me { email } }"}, {"query": "{ me { email } }"}, {"query": "{ me { email } }"}]);
    let reply = app.post(Some(&admin), &batch).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reason(&reply.body), "BATCH_LIMIT");
    let small_batch =
        app.post(Some(&admin), &json!([{"query": "{ me { email } }"}, {"query": "{ me { email } }"}])).await;
    assert_eq!(small_batch.body[1]["data"]["me"]["email"], "admin@demo.local", "{}", small_batch.body);

    let padding = "x".repeat(5_000);
    let reply = app.post(Some(&admin), &json!({"query": format!("{{ me {{ email }} }} # {padding}")})).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reason(&reply.body), "BODY_TOO_LARGE");

    let page = app.gql(Some(&admin), "{ users(first: 500) { totalCount } }", json!({})).await;
    assert_eq!(error_code(&page), "BAD_USER_INPUT");

    let unknown = app.gql(Some(&admin), "{ me { salary } }", json!({})).await;
    assert_eq!((error_code(&unknown), reason(&unknown)), ("BAD_USER_INPUT".into(), "GRAPHQL_VALIDATION_FAILED".into()));
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let open = spawn_with(|_| {}).await;
    let body = open.gql(None, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    let closed = spawn_with(|config| config.introspection = false).await;
    let body = closed.gql(None, "{ __schema { queryType { name } } }", json!({})).await;
    assert!(body["data"]["__schema"].is_null(), "{body}");
}

#[tokio::test]
async fn a_database_failure_is_internal_and_leaks_no_sql() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    app.db.connection().execute_unprepared("ALTER TABLE departments RENAME TO departments_gone").await.unwrap();
    let reply = app.post(Some(&admin), &json!({"query": "{ departments { totalCount nodes { name } } }"})).await;
    assert_eq!(error_code(&reply.body), "INTERNAL", "{}", reply.body);
    let text = reply.body["errors"].as_array().unwrap().iter().map(|e| e["message"].to_string()).collect::<String>();
    for leak in ["SELECT", "departments", "sqlite", "postgres", "relation", "syntax", "no such table"] {
        assert!(!text.to_lowercase().contains(&leak.to_lowercase()), "`{leak}` leaked: {text}");
    }
}

#[tokio::test]
async fn mutations_that_fail_leave_no_change_events() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let count_events = || async {
        let rows = app
            .db
            .connection()
            .query_all_raw(guanxi_store::dialect::raw_statement(
                app.db.db_backend(),
                "SELECT seq FROM change_events",
                [],
            ))
            .await
            .unwrap();
        rows.len()
    };
    let before = count_events().await;
    let (east, _) = app.department(&admin, "华东销售部").await;
    // A stale version, a cycle, a bad name: each rolled back, no events.
    for input in [
        json!({"id": east, "expectedVersion": 99, "name": "新名字"}),
        json!({"id": east, "expectedVersion": 1, "parentId": east}),
        json!({"id": east, "expectedVersion": 1, "name": ""}),
    ] {
        let body = app
            .gql(
                Some(&admin),
                "mutation($i: UpdateDepartmentInput!) { updateDepartment(input: $i) { userErrors { code } } }",
                json!({"i": input}),
            )
            .await;
        assert!(!body["data"]["updateDepartment"]["userErrors"].as_array().unwrap().is_empty(), "{body}");
    }
    assert_eq!(count_events().await, before);
    // A successful one writes exactly one event, with old and new values.
    app.gql(
        Some(&admin),
        "mutation($i: UpdateDepartmentInput!) { updateDepartment(input: $i) { userErrors { code } } }",
        json!({"i": {"id": east, "expectedVersion": 1, "name": "华东大区"}}),
    )
    .await;
    assert_eq!(count_events().await, before + 1);
    let history = app
        .gql(
            Some(&admin),
            "query($id: ID!) { history(id: $id, first: 1) { nodes { sequence operation changes { field old new } } } }",
            json!({"id": east}),
        )
        .await;
    let event = &history["data"]["history"]["nodes"][0];
    assert_eq!(event["operation"], "UPDATE");
    assert_eq!(event["changes"], json!([{"field": "name", "old": "华东销售部", "new": "华东大区"}]), "{history}");
}

#[tokio::test]
async fn change_sequences_are_gap_free_under_concurrent_writers() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (hq, _) = app.department(&admin, "关系演示科技有限公司").await;
    let creates = (0..12).map(|n| {
        let (app, admin, hq) = (&app, &admin, &hq);
        async move {
            app.gql(
                Some(admin),
                "mutation($i: CreateDepartmentInput!) { createDepartment(input: $i) { userErrors { code } } }",
                json!({"i": {"name": format!("并发部门{n}"), "parentId": hq}}),
            )
            .await
        }
    });
    for body in futures::future::join_all(creates).await {
        assert_eq!(body["data"]["createDepartment"]["userErrors"], json!([]), "{body}");
    }
    let rows = app
        .db
        .connection()
        .query_all_raw(guanxi_store::dialect::raw_statement(
            app.db.db_backend(),
            "SELECT seq FROM change_events ORDER BY seq",
            [],
        ))
        .await
        .unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r.try_get::<i64>("", "seq").unwrap()).collect();
    let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
    assert_eq!(seqs, expected);
}

#[tokio::test]
async fn health_readiness_metrics_and_graphiql_answer() {
    let app = spawn_demo().await;
    let get = |path: &str| app.client.get(app.url(path)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 200);
    let response = get("/graphql").await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().to_lowercase().contains("graphiql"));
    app.login("admin@demo.local").await;
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("guanxi_sql_statements_total"), "{metrics}");
    let reply = app.client.post(app.url("/graphql")).json(&json!({"query": "{ serverVersion }"})).send().await.unwrap();
    assert!(reply.headers().get("x-request-id").is_some());
}

#[tokio::test]
async fn graphiql_is_off_when_configured_off() {
    let app = spawn_with(|config| config.graphiql = Some(false)).await;
    assert_eq!(app.client.get(app.url("/graphql")).send().await.unwrap().status(), 404);
}

#[test]
fn schema_graphql_is_the_exported_schema() {
    let exported = guanxi_gateway::graphql::sdl();
    let checked_in = include_str!("../../../schema.graphql");
    assert!(
        exported == checked_in,
        "schema.graphql is stale: run `cargo run -p guanxi-gateway --bin guanxi -- export-schema > schema.graphql`"
    );
}

#[tokio::test]
async fn labels_are_available_in_chinese() {
    let app = spawn_with(|_| {}).await;
    let body = app.gql(None, "{ labels { enum value label } }", json!({})).await;
    let labels = body["data"]["labels"].as_array().unwrap();
    assert!(
        labels
            .iter()
            .any(|l| l["enum"] == "Scope" && l["value"] == "DEPARTMENT_TREE" && l["label"] == "本部门及下属部门"),
        "{body}"
    );
    assert!(labels.iter().any(|l| l["value"] == "customer.export" && l["label"] == "导出客户"));
}

#[tokio::test]
async fn each_caller_is_rate_limited_with_standard_headers() {
    let app = spawn_with(|c| c.limits.requests_per_minute = 5).await;
    guanxi_gateway::seed::seed_demo(&app.db).await.unwrap();
    // Logging in counts against the client address; use fresh tokens from the store side.
    let rep1 = app.login("rep1@demo.local").await;
    let rep2 = app.login("rep2@demo.local").await;
    let send = |token: &str| {
        app.client.post(app.url("/graphql")).bearer_auth(token).json(&json!({"query": "{ me { email } }"})).send()
    };
    for n in 0..5 {
        let response = send(&rep1).await.unwrap();
        assert_eq!(response.status(), 200, "request {n}");
        let remaining: u32 = response.headers()["ratelimit-remaining"].to_str().unwrap().parse().unwrap();
        assert_eq!(remaining, 4 - n);
    }
    let refused = send(&rep1).await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=15).contains(&retry), "{retry}");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(error_code(&body), "RATE_LIMITED");
    assert_eq!(send(&rep2).await.unwrap().status(), 200, "another user has their own budget");
}
