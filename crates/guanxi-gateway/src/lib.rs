//! Guanxi's gateway: the GraphQL API over HTTP, authentication, background jobs and the
//! `guanxi` command line. It wires the store to the schema and owns no business rules.
// The merged Query and Mutation objects nest one type per module.
#![recursion_limit = "256"]

pub mod auth;
pub mod blob;
pub mod bulk;
pub mod cli;
pub mod config;
pub mod documents;
pub mod explorer;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod landing;
pub mod progress;
pub mod rate_limit;
pub mod seed;
mod seed_finance;
mod seed_leads;
mod seed_marketing;
mod seed_service;
mod seed_trade;
pub mod telemetry;
pub mod webhooks;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use chrono::Duration;
use guanxi_store::Database;
use tokio::net::TcpListener;

use crate::auth::TokenService;
use crate::config::{Config, Secret};
use crate::graphql::context::AppState;

/// A built server: bound to its port, migrated, ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: Arc<AppState>,
    schema: graphql::AppSchema,
}

impl Application {
    /// Connects and migrates the database, prepares the schema and binds the listener
    /// (`127.0.0.1:0` picks a free port, as tests do).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        telemetry::init_logging(config.log_format);
        let metrics = telemetry::metrics_handle();
        let shared = |name: &str| {
            let name = format!("{}:{name}", config.limits.redis_prefix);
            config.limits.redis_url.as_deref().map(|url| rate_limit::Shared::new(url, &name)).transpose()
        };
        let failed_logins = rate_limit::RateLimiter::per_window(
            config.limits.failed_logins_per_address,
            std::time::Duration::from_secs(600),
        )
        .shared(shared("failed-logins").context("the Redis URL of the rate limits")?);
        let limiter = Arc::new(
            rate_limit::RateLimiter::new(config.limits.requests_per_minute)
                .shared(shared("requests").context("the Redis URL of the rate limits")?),
        );
        let portal_limiter = Arc::new(
            rate_limit::RateLimiter::new(config.limits.portal_requests_per_minute)
                .shared(shared("portal").context("the Redis URL of the rate limits")?),
        );
        let state = Arc::new(app_state(config, failed_logins).await?);
        let schema = graphql::build_schema(state.clone());
        let router =
            http::router(http::Http { state: state.clone(), schema: schema.clone(), metrics, limiter, portal_limiter });
        let listener = TcpListener::bind(&state.config.listen)
            .await
            .with_context(|| format!("listening on {}", state.config.listen))?;
        Ok(Self { listener, router, state, schema })
    }

    pub fn address(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    pub fn database(&self) -> Database {
        self.state.db.clone()
    }

    /// A bulk job runner over this server's state and schema, holding each batch for
    /// `lease` (tests run passes with it by hand).
    pub fn bulk_runner(&self, lease: std::time::Duration) -> bulk::Runner {
        bulk::Runner::new(self.state.clone(), self.schema.clone(), lease)
    }

    /// Serves until SIGTERM or Ctrl-C, finishing requests in flight; runs the background
    /// jobs meanwhile when configured.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let address = self.address()?;
        tracing::info!(%address, embedded = self.state.config.is_embedded(), "Guanxi is serving GraphQL at /graphql");
        let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
        let jobs =
            self.state.config.run_jobs.then(|| {
                tokio::spawn(jobs::JobRunner::standard(self.state.db.clone()).run_until(jobs_stopped.clone()))
            });
        let bulk = self.state.config.run_jobs.then(|| {
            let lease = std::time::Duration::from_secs(self.state.config.bulk_lease_secs.max(1));
            let poll = std::time::Duration::from_millis(self.state.config.bulk_poll_ms.max(50));
            let runner = self.bulk_runner(lease);
            tokio::spawn(runner.run_until(jobs_stopped.clone(), poll))
        });
        let webhooks = if self.state.config.run_jobs {
            let timeout = std::time::Duration::from_millis(self.state.config.webhook_timeout_ms.max(100));
            let poll = std::time::Duration::from_millis(self.state.config.webhook_poll_ms.max(50));
            let deliverer = webhooks::Deliverer::new(self.state.db.clone(), timeout)?;
            Some(tokio::spawn(deliverer.run_until(jobs_stopped, poll)))
        } else {
            None
        };
        axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        let _ = stop_jobs.send(true);
        for task in [jobs, bulk, webhooks].into_iter().flatten() {
            let _ = task.await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// What every request reaches: the database (connected and migrated), the token service,
/// the file store and the configuration. The JWT key comes first: a misconfigured server
/// must not touch the database.
pub async fn app_state(config: Config, failed_logins: rate_limit::RateLimiter) -> anyhow::Result<AppState> {
    let secret = jwt_secret(&config)?;
    let db = connect(&config).await?;
    let tokens = TokenService::new(&secret, &config.jwt_key_id, Duration::minutes(config.access_token_minutes))?;
    let blobs: Arc<dyn blob::BlobStore> = Arc::new(blob::LocalBlobStore::new(config.data_dir.join("blobs")));
    Ok(AppState { db, blobs, tokens, config, failed_logins })
}

/// Connects to the configured database (with the statement counter) and migrates it.
pub async fn connect(config: &Config) -> anyhow::Result<Database> {
    connect_reporting(config, &|_, _, _| {}).await
}

/// [`connect`], telling `applied` each migration applied: its name, its place among the
/// pending ones (from 1; 0 before the first) and how many were pending.
pub async fn connect_reporting(
    config: &Config,
    applied: &(dyn Fn(&str, usize, usize) + Sync),
) -> anyhow::Result<Database> {
    let url = config.database_url();
    if config.is_embedded() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    }
    telemetry::set_slow_statement_ms(config.slow_statement_ms);
    let db =
        Database::connect(&url, Some(Arc::new(telemetry::on_statement))).await.context("connecting to the database")?;
    db.migrate_reporting(applied).await.context("migrating the database")?;
    Ok(db)
}

/// The configured JWT key; on the embedded default, one generated into the data dir.
fn jwt_secret(config: &Config) -> anyhow::Result<Secret> {
    if let Some(secret) = &config.jwt_secret {
        return Ok(secret.clone());
    }
    if !config.is_embedded() {
        anyhow::bail!("no JWT key configured: set GUANXI_JWT_SECRET (32+ bytes) when using PostgreSQL");
    }
    let path = config.data_dir.join("jwt.key");
    if path.exists() {
        let key = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(Secret::new(key.trim()));
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    tracing::warn!(path = %path.display(), "no JWT key configured: generated one for the embedded default");
    let key = auth::generate_secret();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(key.as_bytes())?;
    Ok(Secret::new(key))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
