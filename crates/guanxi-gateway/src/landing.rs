//! What answers at `/`: a newcomer who opens the server's address in a browser sees what
//! it is and where to go (the GraphQL endpoint, the explorer when it is on, the health
//! checks and the guides); a client that asks for JSON gets the same as data. The guides
//! themselves are served from the binary at `/docs/api-guide.md` and
//! `/docs/integration-guide.md`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};

use crate::http::Http;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const API_GUIDE: &str = include_str!("../../../docs/api-guide.md");
const INTEGRATION_GUIDE: &str = include_str!("../../../docs/integration-guide.md");

/// Where things are, as (path, what it is); the explorer only when it is on.
fn links(explorer: bool) -> Vec<(&'static str, &'static str)> {
    let mut links = vec![("/graphql", "GraphQL endpoint (POST)")];
    if explorer {
        links.push(("/graphql", "GraphiQL explorer (GET, in a browser)"));
    }
    links.extend([
        ("/graphql/ws", "subscriptions (graphql-transport-ws)"),
        ("/docs/api-guide.md", "API guide"),
        ("/docs/integration-guide.md", "integration guide (API keys, the delta feed)"),
        ("/healthz", "liveness"),
        ("/readyz", "readiness (database reachable)"),
    ]);
    links
}

pub async fn landing(State(http): State<Http>, headers: HeaderMap) -> Response {
    let explorer = http.state.config.graphiql_enabled();
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json") && !accept.contains("text/html"));
    if wants_json {
        let links: Vec<_> =
            links(explorer).into_iter().map(|(path, what)| serde_json::json!({"path": path, "what": what})).collect();
        return Json(serde_json::json!({"name": "Guanxi", "version": VERSION, "links": links})).into_response();
    }
    let items: String = links(explorer)
        .into_iter()
        .map(|(path, what)| format!("<li><a href=\"{path}\"><code>{path}</code></a> — {what}</li>"))
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>Guanxi 关系 {VERSION}</title></head>\
         <body><h1>Guanxi 关系</h1><p>A CRM backend with a GraphQL API, version {VERSION}.</p>\
         <p>Log in with the <code>login</code> mutation, then send <code>Authorization: Bearer &lt;token&gt;</code>.</p>\
         <ul>{items}</ul></body></html>"
    ))
    .into_response()
}

pub async fn api_guide() -> Response {
    markdown(API_GUIDE)
}

pub async fn integration_guide() -> Response {
    markdown(INTEGRATION_GUIDE)
}

fn markdown(text: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], text).into_response()
}
