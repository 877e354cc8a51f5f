//! Background jobs take a database lease: of several runners, exactly one runs a due job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Duration;
use futures::future::BoxFuture;
use guanxi_gateway::jobs::{Job, JobRunner};
use guanxi_store::Database;

static RUNS: AtomicU64 = AtomicU64::new(0);

fn count_run(_db: Database) -> BoxFuture<'static, anyhow::Result<u64>> {
    Box::pin(async {
        RUNS.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        Ok(1)
    })
}

#[tokio::test]
async fn racing_runners_run_a_due_job_exactly_once() {
    let app = common::spawn_with(|_| {}).await;
    let runners: Vec<Arc<JobRunner>> = (0..4)
        .map(|_| Arc::new(JobRunner::new(app.db.clone(), vec![Job::every("count", Duration::hours(1), count_run)])))
        .collect();
    let passes = runners.iter().map(|r| {
        let r = r.clone();
        async move { r.run_due().await.unwrap() }
    });
    let results = futures::future::join_all(passes).await;
    let ran: usize = results.iter().map(Vec::len).sum();
    assert_eq!(ran, 1, "{results:?}");
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    // Not due again until the interval has passed, whoever asks.
    for r in &runners {
        assert!(r.run_due().await.unwrap().is_empty());
    }
    assert_eq!(
        guanxi_store::platform::jobs::run_count(app.db.connection(), uuid::Uuid::nil(), "count").await.unwrap(),
        1
    );
}

#[tokio::test]
async fn the_standard_purge_job_runs_and_removes_expired_sessions() {
    let app = common::spawn_demo().await;
    app.login("rep1@demo.local").await;
    let runner = JobRunner::standard(app.db.clone());
    let ran = runner.run_due().await.unwrap();
    let jobs: Vec<&str> = ran.iter().map(|r| r.job).collect();
    assert_eq!(
        jobs,
        [
            "purge_expired",
            "event_reminders",
            "pool_reclaim",
            "finance_reminders",
            "work_order_breaches",
            "lead_rescoring",
            "nightly_analytics"
        ]
    );
    // Once run, the nightly job is next due at 02:00 Shanghai time, not a day later.
    assert!(runner.run_due().await.unwrap().iter().all(|r| r.job != "nightly_analytics"));
    // Nothing had expired: the live session survives.
    assert!(app.gql(None, "{ serverVersion }", serde_json::json!({})).await["data"]["serverVersion"].is_string());
    let token = app.login("rep1@demo.local").await;
    assert!(app.gql(Some(&token), "{ me { email } }", serde_json::json!({})).await["data"]["me"].is_object());
}
