//! Logs, metrics and the count of SQL statements each request sends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use guanxi_store::db::StatementInfo;

use crate::config::LogFormat;

tokio::task_local! {
    /// The statement counter of the request being served on this task.
    static STATEMENTS: Arc<AtomicU64>;
}

/// Starts logging once per process; later calls do nothing (tests build many apps).
pub fn init_logging(format: LogFormat) {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let filter =
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
        let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
        let _ = match format {
            LogFormat::Json => builder.json().try_init(),
            LogFormat::Text => builder.try_init(),
        };
    });
}

/// The Prometheus recorder, installed once per process.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (a host program); then ours only renders.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// How much of a slow statement's text the WARN shows.
const SLOW_SQL_SHOWN: usize = 2_000;

/// Statements slower than this are logged at WARN with their text (values bound).
static SLOW_STATEMENT_MS: AtomicU64 = AtomicU64::new(500);

/// Sets the slow-statement threshold (`slow_statement_ms`; 0 logs none).
pub fn set_slow_statement_ms(ms: u64) {
    SLOW_STATEMENT_MS.store(ms, Ordering::Relaxed);
}

/// Called by the database driver for every statement sent: counts it (per request and in
/// `/metrics`), records its duration, and logs it — every statement at DEBUG under the
/// target `guanxi::sql` (how the benchmarks capture the SQL a request sends), slow ones
/// at WARN.
pub fn on_statement(info: &StatementInfo<'_>) {
    metrics::counter!("guanxi_sql_statements_total").increment(1);
    metrics::histogram!("guanxi_sql_statement_seconds").record(info.elapsed.as_secs_f64());
    let _ = STATEMENTS.try_with(|counter| counter.fetch_add(1, Ordering::Relaxed));
    let elapsed_ms = info.elapsed.as_secs_f64() * 1000.0;
    let slow = SLOW_STATEMENT_MS.load(Ordering::Relaxed);
    if slow > 0 && elapsed_ms >= slow as f64 {
        // Long statements (a batch's thousands of ids) are cut: the start shows which one it is.
        let mut sql = info.statement.to_string();
        if let Some((cut, _)) = sql.char_indices().nth(SLOW_SQL_SHOWN) {
            let length = sql.chars().count();
            sql.truncate(cut);
            sql.push_str(&format!(" … ({length} characters)"));
        }
        tracing::warn!(target: "guanxi::sql", elapsed_ms, failed = info.failed, sql, "slow SQL statement");
    } else {
        tracing::debug!(target: "guanxi::sql", elapsed_ms, failed = info.failed, sql = %info.statement);
    }
}

/// Runs `future` with a fresh statement counter and returns how many statements it sent.
pub async fn count_statements<F: std::future::Future>(future: F) -> (F::Output, u64) {
    let counter = Arc::new(AtomicU64::new(0));
    let output = STATEMENTS.scope(counter.clone(), future).await;
    (output, counter.load(Ordering::Relaxed))
}

/// Spawns `future` on the runtime, counting its statements toward the current request
/// (data loaders run their batches on spawned tasks).
pub fn spawn_counted<F>(future: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    match STATEMENTS.try_with(Arc::clone) {
        Ok(counter) => {
            tokio::spawn(STATEMENTS.scope(counter, future));
        }
        Err(_) => {
            tokio::spawn(future);
        }
    }
}
