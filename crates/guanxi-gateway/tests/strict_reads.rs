//! Stored values are read strictly: a status, enum or JSON setting that does not decode is
//! an error (INTERNAL to the client, a log line naming table, row and column), never a
//! silent default; a background job skips the record and goes on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{error_code, spawn_demo};
use guanxi_store::ConnectionTrait;
use serde_json::json;

#[tokio::test]
async fn a_stored_status_that_does_not_decode_is_an_internal_error_not_a_default() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let list = app
        .gql(
            Some(&admin),
            "{ customers(first: 1, orderBy: [{field: NAME, direction: ASC}]) { nodes { id name status } } }",
            json!({}),
        )
        .await;
    let first = &list["data"]["customers"]["nodes"][0];
    let name = first["name"].as_str().unwrap().to_owned();
    let id = first["id"].as_str().unwrap().to_owned();
    app.db
        .connection()
        .execute_unprepared(&format!("UPDATE customers SET status = 'SOMETHING_ELSE' WHERE name = '{name}'"))
        .await
        .unwrap();
    let read = app.gql(Some(&admin), "query($id: ID!) { customer(id: $id) { status } }", json!({"id": id})).await;
    assert_eq!(error_code(&read), "INTERNAL", "{read}");
    assert!(!read.to_string().contains("SOMETHING_ELSE"), "the stored text stays in the logs: {read}");
}

#[tokio::test]
async fn a_pool_whose_rules_do_not_decode_is_skipped_by_the_reclaim_job_and_refused_to_readers() {
    let app = spawn_demo().await;
    let manager = app.login("manager@demo.local").await;
    let before = app.gql(Some(&manager), "{ pools { name rules { kind days } } }", json!({})).await;
    assert!(before["errors"].is_null(), "{before}");
    app.db.connection().execute_unprepared("UPDATE pools SET rules = '{\"broken\": true}'").await.unwrap();
    app.db.connection().execute_unprepared("UPDATE pools SET auto_reclaim = TRUE").await.unwrap();
    let after = app.gql(Some(&manager), "{ pools { name rules { kind days } } }", json!({})).await;
    assert_eq!(error_code(&after), "INTERNAL", "{after}");
    // The job logs the pool and goes on: it reports success with nothing moved.
    let runner = guanxi_gateway::jobs::JobRunner::standard(app.db.clone());
    let ran = runner.run_due().await.unwrap();
    let reclaim = ran.iter().find(|r| r.job == "pool_reclaim").unwrap_or_else(|| panic!("{ran:?}"));
    assert_eq!(reclaim.affected, 0);
}
