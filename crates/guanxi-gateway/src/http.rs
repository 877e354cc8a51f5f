//! The HTTP surface: `/graphql` (POST; GET runs read-only queries and persisted queries by
//! hash, or serves GraphiQL), `/graphql/ws`, health, metrics; CORS for the configured
//! origins and gzip/brotli responses. Authentication happens here, once per request,
//! before the query runs.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::{BatchRequest, Data};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLProtocol, GraphQLResponse, GraphQLWebSocket};
use axum::extract::{DefaultBodyLimit, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::auth::{OpaqueKind, hash_token, opaque_tenant};
use crate::graphql::context::{AppState, Caller, Credential};
use crate::graphql::{AppSchema, limits, loaders};
use crate::telemetry;

#[derive(Clone)]
pub struct Http {
    pub state: Arc<AppState>,
    pub schema: AppSchema,
    pub metrics: PrometheusHandle,
    pub limiter: Arc<crate::rate_limit::RateLimiter>,
    /// The self-service portal's own limit, per token and per client address.
    pub portal_limiter: Arc<crate::rate_limit::RateLimiter>,
}

pub fn router(http: Http) -> Router {
    let cors = cors(&http.state.config.cors_origins);
    let limits = &http.state.config.limits;
    let bench = http.state.config.bench_endpoints;
    let explorer = http.state.config.graphiql_enabled();
    // Uploads are multipart and may be larger than a JSON request; `guard_body_size`
    // applies the right limit to each.
    let body_limit = limits.max_body_bytes.max(limits.max_upload_bytes + 64 * 1024);
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql))
        .route("/attachments/{id}", get(download))
        // A bulk file streams into batches as it arrives: no body limit but its own.
        .route("/bulk/jobs/{id}/data", axum::routing::put(crate::bulk::upload).layer(DefaultBodyLimit::disable()))
        .route("/bulk/jobs/{id}/failures.csv", get(crate::bulk::failures))
        .route("/documents/quotes/{id}", get(crate::documents::quote_page))
        .merge(if bench { Router::new().route("/bench/static/{bytes}", get(static_body)) } else { Router::new() })
        .merge(if explorer {
            Router::new().route(&format!("{}/{{file}}", crate::explorer::ASSETS), get(crate::explorer::asset))
        } else {
            Router::new()
        })
        .route("/graphql/ws", get(websocket))
        .route("/", get(crate::landing::landing))
        .route("/docs/api-guide.md", get(crate::landing::api_guide))
        .route("/docs/integration-guide.md", get(crate::landing::integration_guide))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(http.clone(), guard_body_size))
        .layer(middleware::from_fn_with_state(http.clone(), count_statements))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        // Gzip or brotli for clients that accept them (mobile networks are slow); the
        // WebSocket upgrade and tiny bodies pass as they are.
        .layer(CompressionLayer::new().gzip(true).br(true))
        // Outermost, so a preflight is answered before anything else looks at it.
        .layer(cors)
        .with_state(http)
}

/// The CORS layer for `origins` (checked at start, see `Config::check_cors_origins`): the
/// listed origins, or any for `*`, may send GraphQL requests with a bearer token and the
/// headers the API reads. Credentials (cookies) are never allowed: the API does not use
/// them, and a wildcard with credentials would hand every site the caller's session. With
/// no origins, preflights are still answered (and `Vary: Origin` set), but no origin is
/// granted, so browsers keep cross-origin pages out.
fn cors(origins: &[String]) -> CorsLayer {
    use axum::http::{HeaderName, Method};
    let allowed = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allowed)
        .allow_methods([Method::GET, Method::POST, Method::PUT])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("apollo-require-preflight"),
        ])
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("ratelimit-remaining"),
            HeaderName::from_static("retry-after"),
        ])
        .max_age(Duration::from_secs(600))
}

/// Counts the SQL statements of each request (a metric, and a header when configured).
async fn count_statements(State(http): State<Http>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let (mut response, statements) = telemetry::count_statements(next.run(request)).await;
    metrics::histogram!("guanxi_sql_statements_per_request").record(statements as f64);
    metrics::histogram!("guanxi_request_seconds").record(started.elapsed().as_secs_f64());
    if http.state.config.expose_statement_count
        && let Ok(value) = HeaderValue::from_str(&statements.to_string())
    {
        response.headers_mut().insert("x-sql-statements", value);
    }
    response
}

/// Refuses an oversized body up front with a typed GraphQL error (a body without a
/// length is still cut off by the body limit while it is read).
async fn guard_body_size(State(http): State<Http>, request: Request, next: Next) -> Response {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if is_multipart {
        // A browser can send a multipart form across sites without a preflight; requiring a
        // custom header forces one (the CSRF defence of the GraphQL multipart spec).
        let preflighted = ["apollo-require-preflight", "x-apollo-operation-name", "graphql-preflight"]
            .iter()
            .any(|h| request.headers().get(*h).is_some_and(|v| !v.is_empty()));
        if !preflighted {
            let body = limits::refusal(
                "multipart requests need the `apollo-require-preflight: true` header",
                "BAD_USER_INPUT",
                "PREFLIGHT_REQUIRED",
            );
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    }
    let limit = if is_multipart {
        http.state.config.limits.max_upload_bytes + 64 * 1024
    } else if request.uri().path().starts_with("/bulk/jobs/") {
        http.state.config.limits.max_bulk_upload_bytes
    } else {
        http.state.config.limits.max_body_bytes
    };
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if length.is_some_and(|n| n > limit) {
        let body =
            limits::refusal(&format!("the request body is over {limit} bytes"), "BAD_USER_INPUT", "BODY_TOO_LARGE");
        return (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response();
    }
    next.run(request).await
}

/// The HTTP floor of the benchmarks: a body of `bytes` bytes, no auth, no database.
async fn static_body(axum::extract::Path(bytes): axum::extract::Path<usize>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], "x".repeat(bytes.min(10 * 1024 * 1024))).into_response()
}

/// Serves an uploaded file to its uploader, or to whoever may see the record it is on.
async fn download(
    State(http): State<Http>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let not_found =
        || (StatusCode::NOT_FOUND, Json(limits::refusal("not found", "NOT_FOUND", "NOT_FOUND"))).into_response();
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let caller = authenticate(&http.state, authorization, None).await;
    let Some(actor) = caller.actor else {
        return (StatusCode::UNAUTHORIZED, Json(limits::refusal("log in first", "UNAUTHENTICATED", "UNAUTHENTICATED")))
            .into_response();
    };
    let Ok(id) = uuid::Uuid::try_parse(&id) else { return not_found() };
    let conn = http.state.db.connection();
    let customers = actor.customer_rule();
    let Ok(Some(file)) =
        guanxi_store::activity::field::attachment(conn, actor.tenant_id, actor.user_id, customers, id).await
    else {
        return not_found();
    };
    match http.state.blobs.get(&file.storage_key).await {
        Ok(bytes) => {
            let disposition = format!("attachment; filename*=UTF-8''{}", percent_encode(&file.file_name));
            let mut response = bytes.into_response();
            if let Ok(v) = HeaderValue::from_str(&file.content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            if let Ok(v) = HeaderValue::from_str(&disposition) {
                response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            response.headers_mut().insert("x-content-type-options", HeaderValue::from_static("nosniff"));
            response
        }
        Err(error) => {
            tracing::error!(%error, "reading a blob");
            (StatusCode::INTERNAL_SERVER_ERROR, Json(limits::refusal("internal error", "INTERNAL", "INTERNAL")))
                .into_response()
        }
    }
}

/// RFC 5987 encoding of a file name for `Content-Disposition`.
fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn graphiql(State(http): State<Http>) -> Response {
    if !http.state.config.graphiql_enabled() {
        return (StatusCode::NOT_FOUND, "GraphiQL is disabled; POST GraphQL requests to /graphql").into_response();
    }
    crate::explorer::page("/graphql", "/graphql/ws").into_response()
}

async fn ready(State(http): State<Http>) -> Response {
    match http.state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(error) => {
            tracing::warn!(%error, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics(State(http): State<Http>) -> String {
    http.metrics.render()
}

/// Resolves a bearer token to a caller. Never fails: a refused credential leaves the
/// caller anonymous with a reason, and resolvers that need an actor say UNAUTHENTICATED.
pub async fn authenticate(state: &AppState, authorization: Option<&str>, request_id: Option<String>) -> Caller {
    let mut caller = Caller { request_id, ..Caller::default() };
    let Some(value) = authorization else { return caller };
    let Some(token) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim) else {
        caller.refused = Some("use `Authorization: Bearer <token>`");
        return caller;
    };
    let conn = state.db.connection();
    if let Some(tenant) = opaque_tenant(OpaqueKind::Portal, token) {
        let secret_hash = hash_token(token);
        match guanxi_store::service::portal::session(conn, tenant, &secret_hash).await {
            Ok(Some((session, last_used))) => {
                if last_used.is_none_or(|at| Utc::now() - at > chrono::Duration::minutes(5))
                    && let Err(error) = guanxi_store::service::portal::touch(conn, tenant, session.token_id).await
                {
                    tracing::warn!(%error, "could not note portal token use");
                }
                caller.portal = Some(session);
                caller.credential = Some(Credential::Portal { secret_hash });
            }
            Ok(None) => caller.refused = Some("the portal token is invalid, expired or revoked"),
            Err(error) => {
                tracing::error!(%error, "loading a portal session");
                caller.refused = Some("authentication is unavailable; try again");
            }
        }
        return caller;
    }
    if let Some(tenant) = opaque_tenant(OpaqueKind::ApiKey, token) {
        let secret_hash = hash_token(token);
        match guanxi_store::platform::auth::api_key_actor(conn, tenant, &secret_hash).await {
            Ok(Some((actor, last_used))) => {
                if last_used.is_none_or(|at| Utc::now() - at > chrono::Duration::minutes(5))
                    && let Some(key) = actor.api_key_id
                    && let Err(error) = guanxi_store::platform::api_key::touch(conn, tenant, key).await
                {
                    tracing::warn!(%error, "could not note API key use");
                }
                caller.actor = Some(actor);
                caller.credential = Some(Credential::ApiKey { secret_hash });
            }
            Ok(None) => caller.refused = Some("the API key is invalid, expired or revoked"),
            Err(error) => {
                tracing::error!(%error, "loading an API key actor");
                caller.refused = Some("authentication is unavailable; try again");
            }
        }
        return caller;
    }
    let Some(claims) = state.tokens.verify(token) else {
        caller.refused = Some("the access token is invalid or expired");
        return caller;
    };
    let (tenant, user, session) = (claims.tid.into(), claims.sub.into(), claims.sid.into());
    match guanxi_store::platform::auth::session_actor(conn, tenant, user, session).await {
        Ok(Some(actor)) => {
            caller.actor = Some(actor);
            caller.session_id = Some(session);
            caller.credential = Some(Credential::Session { user, session });
        }
        Ok(None) => caller.refused = Some("the session has ended (logged out, password changed or user disabled)"),
        Err(error) => {
            tracing::error!(%error, "loading a session actor");
            caller.refused = Some("authentication is unavailable; try again");
        }
    }
    caller
}

fn loader_delay(state: &AppState) -> Duration {
    Duration::from_millis(state.config.loader_delay_ms)
}

pub(crate) fn with_caller(
    request: async_graphql::Request,
    state: &AppState,
    caller: &Caller,
) -> async_graphql::Request {
    let request = request.data(caller.clone());
    match (&caller.actor, &caller.portal) {
        (Some(actor), _) => request.data(loaders::loaders(state.db.clone(), actor.clone(), loader_delay(state))),
        (None, Some(session)) => {
            request.data(crate::graphql::service::portal::loader(state.db.clone(), session, loader_delay(state)))
        }
        (None, None) => request,
    }
}

async fn graphql(
    State(http): State<Http>,
    axum::extract::ConnectInfo(client): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    request: GraphQLBatchRequest,
) -> Response {
    serve(http, client, headers, request.into_inner()).await
}

/// `GET /graphql`: a query in the URL (`?query=…` or a persisted query's
/// `?extensions={"persistedQuery":…}`), which may only read; without one, GraphiQL.
async fn graphql_get(
    State(http): State<Http>,
    connect: axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let asked = uri
        .query()
        .is_some_and(|q| q.split('&').any(|pair| pair.starts_with("query=") || pair.starts_with("extensions=")));
    if !asked {
        return graphiql(State(http)).await;
    }
    match async_graphql::http::parse_query_string(uri.query().unwrap_or_default()) {
        Ok(request) => {
            let request = request.data(limits::ReadOnlyRequest);
            let mut response = serve(http, connect.0, headers, BatchRequest::Single(request)).await;
            // The answer is the caller's own data: no shared cache may keep it.
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            response
        }
        Err(error) => {
            let body = limits::refusal(
                &format!("the query string is not a GraphQL request: {error}"),
                "BAD_USER_INPUT",
                "BAD_REQUEST",
            );
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
    }
}

/// Runs a GraphQL request or batch for its caller, within the rate limits.
async fn serve(http: Http, client: std::net::SocketAddr, headers: HeaderMap, batch: BatchRequest) -> Response {
    let max_batch = http.state.config.limits.max_batch;
    if let BatchRequest::Batch(requests) = &batch
        && requests.len() > max_batch
    {
        let body = limits::refusal(
            &format!("a batch holds at most {max_batch} operations, not {}", requests.len()),
            "BAD_USER_INPUT",
            "BATCH_LIMIT",
        );
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let client = client_address(&http.state, &headers, client);
    let caller = Caller { client: Some(client), ..authenticate(&http.state, authorization, request_id).await };
    let mut limit_headers = Vec::new();
    let key = match (&caller.actor, &caller.portal) {
        (Some(actor), _) => match actor.api_key_id {
            Some(key) => format!("key:{key}"),
            None => format!("user:{}", actor.user_id),
        },
        (None, Some(session)) => format!("portal:{}", session.token_id),
        (None, None) => format!("ip:{client}"),
    };
    let mut checks = vec![(&http.limiter, key)];
    if let Some(session) = &caller.portal {
        checks.push((&http.portal_limiter, format!("token:{}", session.token_id)));
        checks.push((&http.portal_limiter, format!("ip:{client}")));
    }
    for (limiter, key) in checks.into_iter().filter(|(limiter, _)| limiter.enabled()) {
        let decision = limiter.check(&key).await;
        limit_headers = vec![
            ("ratelimit-limit", decision.limit.to_string()),
            ("ratelimit-remaining", decision.remaining.to_string()),
            ("ratelimit-reset", decision.reset_seconds.to_string()),
        ];
        if !decision.allowed {
            metrics::counter!("guanxi_rate_limited_total").increment(1);
            let body = limits::refusal(
                &format!("too many requests; try again in {} s", decision.reset_seconds),
                "RATE_LIMITED",
                "RATE_LIMITED",
            );
            let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
            limit_headers.push(("retry-after", decision.reset_seconds.max(1).to_string()));
            for (name, value) in limit_headers {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, v);
                }
            }
            return response;
        }
    }
    if caller.portal.is_some() {
        metrics::counter!("guanxi_portal_requests_total").increment(1);
    }
    let batch = match batch {
        BatchRequest::Single(request) => BatchRequest::Single(with_caller(request, &http.state, &caller)),
        BatchRequest::Batch(requests) => {
            BatchRequest::Batch(requests.into_iter().map(|r| with_caller(r, &http.state, &caller)).collect())
        }
    };
    let mut response = http.schema.execute_batch(batch).await;
    match &mut response {
        async_graphql::BatchResponse::Single(r) => limits::classify(&mut r.errors),
        async_graphql::BatchResponse::Batch(rs) => rs.iter_mut().for_each(|r| limits::classify(&mut r.errors)),
    }
    let mut response = GraphQLResponse::from(response).into_response();
    for (name, value) in limit_headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
    response
}

/// The client's address: the socket's peer, or behind a trusted proxy
/// (`limits.trust_forwarded_for`) the first address of `X-Forwarded-For`.
fn client_address(state: &AppState, headers: &HeaderMap, peer: std::net::SocketAddr) -> std::net::IpAddr {
    let forwarded = || {
        headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|first| first.trim().parse().ok())
    };
    state.config.limits.trust_forwarded_for.then(forwarded).flatten().unwrap_or(peer.ip())
}

async fn websocket(
    State(http): State<Http>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let schema = http.schema.clone();
    let state = http.state.clone();
    let portal_limiter = http.portal_limiter.clone();
    let client = client_address(&state, &headers, peer);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let token = ["Authorization", "authorization", "authToken"]
                        .iter()
                        .find_map(|k| payload.get(*k).and_then(|v| v.as_str()).map(str::to_owned));
                    let token = token.map(|t| {
                        if t.starts_with("Bearer ") || t.starts_with("bearer ") { t } else { format!("Bearer {t}") }
                    });
                    let caller = Caller { client: Some(client), ..authenticate(&state, token.as_deref(), None).await };
                    let mut data = Data::default();
                    match (caller.actor.clone(), caller.portal) {
                        (Some(actor), _) => {
                            data.insert(loaders::loaders(state.db.clone(), actor, loader_delay(&state)))
                        }
                        // A customer's contact subscribes to their own requests only; each
                        // connection counts against the portal's limits.
                        (None, Some(session)) => {
                            for key in [format!("token:{}", session.token_id), format!("ip:{client}")] {
                                if portal_limiter.enabled() && !portal_limiter.check(&key).await.allowed {
                                    return Err(async_graphql::Error::new("RATE_LIMITED: too many requests"));
                                }
                            }
                            let delay = loader_delay(&state);
                            data.insert(crate::graphql::service::portal::loader(state.db.clone(), &session, delay))
                        }
                        (None, None) => {
                            return Err(async_graphql::Error::new(
                                "UNAUTHENTICATED: send a valid token in connection_init",
                            ));
                        }
                    }
                    data.insert(caller);
                    Ok(data)
                })
                .keepalive_timeout(Some(Duration::from_secs(60)))
                .serve()
        })
        .into_response()
}
