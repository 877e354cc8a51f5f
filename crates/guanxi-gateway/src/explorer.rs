//! The GraphiQL explorer, served whole from the binary: the page and its pinned assets
//! (React 18.3.1, GraphiQL 3.9.0; see `assets/explorer/README.md`), so it works where the
//! public CDNs cannot be reached — an intranet, an air-gapped network. The asset URLs name
//! their versions, so browsers may keep them for a year.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Where the assets are served; the versions are part of the path.
pub const ASSETS: &str = "/explorer/react-18.3.1-graphiql-3.9.0";

/// The assets by file name: their bytes and content type.
const FILES: &[(&str, &[u8], &str)] = &[
    ("react.production.min.js", include_bytes!("../assets/explorer/react.production.min.js"), JS),
    ("react-dom.production.min.js", include_bytes!("../assets/explorer/react-dom.production.min.js"), JS),
    ("graphiql.min.js", include_bytes!("../assets/explorer/graphiql.min.js"), JS),
    ("graphiql.min.css", include_bytes!("../assets/explorer/graphiql.min.css"), "text/css; charset=utf-8"),
];

const JS: &str = "text/javascript; charset=utf-8";

/// The explorer page for `endpoint` and its WebSocket `subscriptions` endpoint. Once the
/// API has answered the explorer's first request (the schema it loads for completion), the
/// page marks `<body data-api="connected">`.
pub fn page(endpoint: &str, subscriptions: &str) -> Html<String> {
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="zh-CN">
  <head>
    <meta charset="utf-8">
    <meta name="robots" content="noindex">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Guanxi · GraphiQL</title>
    <link rel="icon" href="data:,">
    <style>body {{ height: 100%; margin: 0; width: 100%; overflow: hidden; }} #graphiql {{ height: 100vh; }}</style>
    <link rel="stylesheet" href="{ASSETS}/graphiql.min.css">
    <script src="{ASSETS}/react.production.min.js"></script>
    <script src="{ASSETS}/react-dom.production.min.js"></script>
  </head>
  <body>
    <div id="graphiql">Loading…</div>
    <script src="{ASSETS}/graphiql.min.js"></script>
    <script>
      const at = (path, socket) => {{
        const url = new URL(path, window.location.origin);
        if (socket) url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
        return url.toString();
      }};
      const fetcher = GraphiQL.createFetcher({{ url: at('{endpoint}'), subscriptionUrl: at('{subscriptions}', true) }});
      const watched = (params, options) => {{
        const result = fetcher(params, options);
        if (result && typeof result.then === 'function') {{
          result.then((answer) => {{ if (answer && answer.data) document.body.dataset.api = 'connected'; }}, () => {{}});
        }}
        return result;
      }};
      ReactDOM.createRoot(document.getElementById('graphiql')).render(
        React.createElement(GraphiQL, {{
          fetcher: watched,
          defaultEditorToolsVisibility: true,
          defaultQuery: '# 登录后在 Headers 中加入 {{"Authorization": "Bearer <accessToken>"}}\n{{ me {{ displayName email }} }}\n',
        }})
      );
    </script>
  </body>
</html>"#
    ))
}

/// One asset, or 404.
pub async fn asset(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, ..)| *name == file) {
        Some((_, bytes, content_type)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
