//! Typed configuration: defaults, then an optional TOML file, then `GUANXI_*` environment
//! variables (nested keys with `__`, e.g. `GUANXI_LIMITS__MAX_DEPTH=8`), then command-line
//! flags. Secrets are wrapped so that they never print.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A value that must never reach a log or an error message.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Limits on what one request may ask for. All on by default.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct Limits {
    pub max_depth: usize,
    /// The deepest nesting inside introspection (`__schema`, `__type`): the standard
    /// introspection query of every common client nests 15 deep. Introspection also never
    /// nests more than three lists (`types { fields { args … } } }`), whatever this says.
    pub max_introspection_depth: usize,
    pub max_complexity: usize,
    pub max_recursive_depth: usize,
    pub max_directives: usize,
    pub max_aliases: usize,
    pub max_batch: usize,
    pub max_body_bytes: usize,
    /// The largest file one upload may carry.
    pub max_upload_bytes: usize,
    /// The largest file a bulk job takes (`PUT /bulk/jobs/{id}/data`), in bytes.
    pub max_bulk_upload_bytes: usize,
    /// Requests per minute one user, API key or (for anonymous requests) client address
    /// may send to `/graphql`; 0 turns the limit off. Counted per gateway replica, or
    /// across all of them with `redis_url`.
    pub requests_per_minute: u32,
    /// Failed logins one client address may make across all accounts in ten minutes
    /// (password spraying); 0 turns the limit off. Counted per gateway replica, or across
    /// all of them with `redis_url`. Each account also locks after five failures, counted
    /// in the database.
    pub failed_logins_per_address: u32,
    /// Requests per minute one portal token, and one client address using portal tokens,
    /// may send (the customer's self-service channel); 0 turns the limit off.
    pub portal_requests_per_minute: u32,
    /// Behind a trusted reverse proxy: the client's address is the first one in
    /// `X-Forwarded-For` (else the proxy's own address would be every client's).
    pub trust_forwarded_for: bool,
    /// A Redis server (`redis://host:6379`) whose buckets every gateway replica shares for
    /// both limits above; without one, each replica limits on its own.
    pub redis_url: Option<String>,
    /// What the keys of the shared buckets start with, so that several deployments
    /// (staging, production) can use one Redis.
    pub redis_prefix: String,
    /// The most records customers coming into a caller's scope bring along on one page of
    /// the delta feed (past it, the page ends earlier, or one customer's records go on
    /// over the next pages).
    pub feed_brought_per_page: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_introspection_depth: 15,
            max_complexity: 5_000,
            max_recursive_depth: 32,
            max_directives: 5,
            max_aliases: 30,
            max_batch: 10,
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 10 * 1024 * 1024,
            max_bulk_upload_bytes: 1024 * 1024 * 1024,
            requests_per_minute: 600,
            portal_requests_per_minute: 60,
            failed_logins_per_address: 100,
            trust_forwarded_for: false,
            redis_url: None,
            redis_prefix: "guanxi".into(),
            feed_brought_per_page: guanxi_domain::platform::feed::MAX_BROUGHT,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`; empty means the SQLite file in `data_dir`.
    pub database_url: String,
    pub listen: String,
    /// Where the embedded database and the generated JWT key live.
    pub data_dir: PathBuf,
    /// The HMAC key that signs access tokens (at least 32 bytes).
    pub jwt_secret: Option<Secret>,
    /// Names the signing key in the token header, so keys can be rotated.
    pub jwt_key_id: String,
    pub access_token_minutes: i64,
    pub session_days: i64,
    /// GraphiQL at `GET /graphql`; unset means on for the embedded default, off on PostgreSQL.
    pub graphiql: Option<bool>,
    pub introspection: bool,
    pub log_format: LogFormat,
    /// Adds `x-sql-statements` to every response (tests and benchmarks).
    pub expose_statement_count: bool,
    /// Runs the background jobs, and the webhook deliverer, in this process.
    pub run_jobs: bool,
    /// How often the webhook deliverer looks for new changes and due retries, in
    /// milliseconds.
    pub webhook_poll_ms: u64,
    /// How long an endpoint has to answer a webhook before the attempt counts as failed,
    /// in milliseconds.
    pub webhook_timeout_ms: u64,
    /// How long a bulk job's runner holds a batch, in seconds: a batch whose replica died
    /// is taken up again this long after it was claimed.
    pub bulk_lease_secs: u64,
    /// How often the bulk job runner looks for batches to run, in milliseconds.
    pub bulk_poll_ms: u64,
    /// Serves `GET /bench/static/{bytes}`, the HTTP floor the benchmarks compare against.
    pub bench_endpoints: bool,
    /// How often subscriptions look for new change events, in milliseconds.
    pub subscription_poll_ms: u64,
    /// How long a data loader waits to gather keys before it queries, in milliseconds. A
    /// batch that takes longer to gather is split in two (more statements, same result).
    pub loader_delay_ms: u64,
    /// SQL statements slower than this are logged at WARN with their text; 0 turns it off.
    pub slow_statement_ms: u64,
    /// The browser origins (`https://crm.example.com`) whose pages may call the API across
    /// origins (CORS); `*` alone admits any. Empty (the default): no CORS headers, so only
    /// same-origin pages and non-browser clients call it. In the environment, a
    /// comma-separated list (`GUANXI_CORS_ORIGINS=https://a.cn,https://b.cn`).
    #[serde(deserialize_with = "list_or_commas")]
    pub cors_origins: Vec<String>,
    pub limits: Limits,
}

/// A list given as a list (TOML) or as one comma-separated string (the environment).
fn list_or_commas<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        List(Vec<String>),
        Text(String),
    }
    let items = match Given::deserialize(deserializer)? {
        Given::List(items) => items,
        Given::Text(text) => text.split(',').map(str::to_owned).collect(),
    };
    Ok(items.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: String::new(),
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("."),
            jwt_secret: None,
            jwt_key_id: "k1".into(),
            access_token_minutes: 15,
            session_days: 30,
            graphiql: None,
            introspection: true,
            log_format: LogFormat::Text,
            expose_statement_count: false,
            run_jobs: true,
            webhook_poll_ms: 1_000,
            webhook_timeout_ms: 10_000,
            bulk_lease_secs: 300,
            bulk_poll_ms: 1_000,
            bench_endpoints: false,
            subscription_poll_ms: 1_000,
            loader_delay_ms: 3,
            slow_statement_ms: 500,
            cors_origins: Vec::new(),
            limits: Limits::default(),
        }
    }
}

impl Config {
    /// Loads defaults, then `file` (or `./guanxi.toml` when present), then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new("guanxi.toml").exists() => figment = figment.merge(Toml::file("guanxi.toml")),
            None => {}
        }
        if let Ok(url) = std::env::var("DATABASE_URL") {
            figment = figment.merge(Serialized::default("database_url", url));
        }
        figment = figment.merge(Env::prefixed("GUANXI_").split("__"));
        let config: Config = figment.extract().context("reading the configuration")?;
        config.check_cors_origins()?;
        Ok(config)
    }

    /// Each CORS origin is `*` alone or a scheme, a host and maybe a port — what a browser
    /// sends in `Origin` —, so a typo fails at start rather than silently admitting nobody.
    pub fn check_cors_origins(&self) -> anyhow::Result<()> {
        if self.cors_origins.iter().any(|o| o == "*") && self.cors_origins.len() > 1 {
            anyhow::bail!("cors_origins: `*` admits every origin; give it alone or not at all");
        }
        for origin in self.cors_origins.iter().filter(|o| *o != "*") {
            let (scheme, rest) = origin.split_once("://").unwrap_or(("", ""));
            let host_ok = !rest.is_empty() && !rest.contains('/') && !rest.contains('?') && !rest.contains('#');
            if !["http", "https"].contains(&scheme) || !host_ok || axum::http::HeaderValue::from_str(origin).is_err() {
                anyhow::bail!("cors_origins: `{origin}` is not an origin like https://crm.example.com");
            }
        }
        Ok(())
    }

    /// The database to use: the configured URL, or the SQLite file in the data dir.
    pub fn database_url(&self) -> String {
        if self.database_url.trim().is_empty() {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("guanxi.db").display())
        } else {
            self.database_url.clone()
        }
    }

    pub fn is_embedded(&self) -> bool {
        self.database_url().starts_with("sqlite:")
    }

    pub fn graphiql_enabled(&self) -> bool {
        self.graphiql.unwrap_or_else(|| self.is_embedded())
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let config = Config { jwt_secret: Some(Secret::new("super-secret-key")), ..Config::default() };
        let printed = format!("{config:?}");
        assert!(!printed.contains("super-secret-key"), "{printed}");
        assert!(printed.contains("Secret(***)"));
    }

    #[test]
    fn cors_origins_are_origins() {
        let with = |origins: &[&str]| Config {
            cors_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            ..Config::default()
        };
        assert!(with(&[]).check_cors_origins().is_ok());
        assert!(with(&["*"]).check_cors_origins().is_ok());
        assert!(with(&["https://crm.example.com", "http://127.0.0.1:5173"]).check_cors_origins().is_ok());
        for bad in [&["*", "https://a.cn"][..], &["crm.example.com"], &["https://a.cn/app"], &["ftp://a.cn"]] {
            assert!(with(bad).check_cors_origins().is_err(), "{bad:?}");
        }
        let listed: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Serialized::default("cors_origins", " https://a.cn, https://b.cn ,"))
            .extract()
            .expect("a comma-separated list");
        assert_eq!(listed.cors_origins, ["https://a.cn", "https://b.cn"]);
    }

    #[test]
    fn the_default_database_is_a_sqlite_file_in_the_data_dir() {
        let config = Config { data_dir: PathBuf::from("/tmp/gx"), ..Config::default() };
        assert_eq!(config.database_url(), "sqlite:///tmp/gx/guanxi.db?mode=rwc");
        assert!(config.is_embedded());
        assert!(config.graphiql_enabled());
        let pg = Config { database_url: "postgres://localhost/x".into(), ..Config::default() };
        assert!(!pg.is_embedded());
        assert!(!pg.graphiql_enabled());
    }
}
