//! The command line, key handling at start-up, and the live change feed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use futures::{SinkExt, StreamExt};
use guanxi_gateway::Application;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn the_embedded_default_generates_a_private_jwt_key_and_postgres_refuses_to_start_without_one() {
    let dir = std::env::temp_dir().join(format!("guanxi-key-{}", uuid::Uuid::now_v7().simple()));
    let mut config = test_config(format!("sqlite://{}?mode=rwc", dir.join("guanxi.db").display()), dir.clone());
    config.jwt_secret = None;
    let app = Application::build(config.clone()).await.unwrap();
    let key = dir.join("jwt.key");
    assert!(key.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let first = std::fs::read_to_string(&key).unwrap();
    drop(app);
    // A restart keeps the key, so issued tokens stay valid.
    drop(Application::build(config).await.unwrap());
    assert_eq!(std::fs::read_to_string(&key).unwrap(), first);
    let _ = std::fs::remove_dir_all(&dir);

    let mut postgres = test_config("postgres://postgres@127.0.0.1:5432/postgres".into(), std::env::temp_dir());
    postgres.jwt_secret = None;
    let refused = Application::build(postgres).await.err().map(|e| format!("{e:#}"));
    assert!(refused.as_deref().is_some_and(|e| e.contains("JWT")), "{refused:?}");
}

#[tokio::test]
async fn the_admin_commands_create_a_tenant_and_a_user_who_can_log_in() {
    let app = spawn_with(|_| {}).await;
    let url = app.config.database_url.clone();
    let run = |args: &[&str]| {
        let output = guanxi(args, &url);
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let (ok, out) = run(&["admin", "create-tenant", "--slug", "acme", "--name", "艾克米贸易有限公司"]);
    assert!(ok, "{out}");
    let (ok, out) = run(&[
        "admin",
        "create-user",
        "--tenant",
        "acme",
        "--email",
        "boss@acme.local",
        "--name",
        "老板",
        "--role",
        "admin",
    ]);
    assert!(ok, "{out}");
    let (ok, out) = run(&["admin", "create-tenant", "--slug", "acme", "--name", "重复"]);
    assert!(!ok, "a duplicate slug must fail: {out}");
    let (ok, out) = run(&["admin", "create-tenant", "--slug", "-bad-", "--name", "x"]);
    assert!(!ok && out.contains("slug"), "{out}");
    let payload = app.login_payload("acme", "boss@acme.local", "a-strong-password").await;
    assert!(payload["accessToken"].is_string(), "{payload}");
    let token = payload["accessToken"].as_str().unwrap();
    let me = app.gql(Some(token), "{ me { displayName role { builtinKey } department { name } } }", json!({})).await;
    assert_eq!(me["data"]["me"]["role"]["builtinKey"], "admin", "{me}");
    assert_eq!(me["data"]["me"]["department"]["name"], "艾克米贸易有限公司");
    let (ok, schema) = run(&["export-schema"]);
    assert!(ok && schema.contains("type Query"), "{schema}");
}

async fn subscribe(
    app: &TestApp,
    token: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut request = app.url("/graphql/ws").replace("http://", "ws://").into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
    socket.send(Message::Text(init.to_string().into())).await.unwrap();
    let ack = next_json(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { changes { entityType operation entityId } }"}});
    socket.send(Message::Text(subscribe.to_string().into())).await.unwrap();
    socket
}

async fn next_json<S>(socket: &mut S) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message in time")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] != "ping" && value["type"] != "pong" {
                return value;
            }
        }
    }
}

#[tokio::test]
async fn the_change_feed_pushes_only_what_the_subscriber_may_see() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let mut admin_feed = subscribe(&app, &admin).await;
    let mut manager_feed = subscribe(&app, &manager).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A change in Sales North (outside the manager's tree), then one in Sales East.
    let (north, north_version) = app.department(&admin, "华北销售部").await;
    let (east, east_version) = app.department(&admin, "华东销售部").await;
    let update = "mutation($i: UpdateDepartmentInput!) { updateDepartment(input: $i) { userErrors { code } } }";
    app.gql(Some(&admin), update, json!({"i": {"id": north, "expectedVersion": north_version, "name": "华北大区"}}))
        .await;
    app.gql(Some(&admin), update, json!({"i": {"id": east, "expectedVersion": east_version, "name": "华东大区"}}))
        .await;

    let first = next_json(&mut admin_feed).await;
    let second = next_json(&mut admin_feed).await;
    assert_eq!(first["payload"]["data"]["changes"]["entityId"], north, "{first}");
    assert_eq!(second["payload"]["data"]["changes"]["entityId"], east, "{second}");
    let seen = next_json(&mut manager_feed).await;
    assert_eq!(seen["payload"]["data"]["changes"]["entityId"], east, "the manager must not see Sales North: {seen}");

    // A rep holds no `audit.read`: the subscription is refused.
    let rep = app.login("rep1@demo.local").await;
    let mut rep_feed = subscribe(&app, &rep).await;
    let refused = next_json(&mut rep_feed).await;
    assert!(refused["payload"]["data"].is_null(), "{refused}");
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN", "{refused}");

    // Logging out ends the feed.
    app.gql(Some(&manager), "mutation { logout { ok } }", json!({})).await;
    let ended = next_json(&mut manager_feed).await;
    assert_eq!(ended["type"], "complete", "{ended}");

    // A bad token cannot even connect.
    let mut request = app.url("/graphql/ws").replace("http://", "ws://").into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({"type": "connection_init", "payload": {"Authorization": "Bearer nonsense"}});
    socket.send(Message::Text(init.to_string().into())).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), socket.next()).await.unwrap();
    assert!(!matches!(closed, Some(Ok(Message::Text(ref t))) if t.contains("connection_ack")), "{closed:?}");
}

#[tokio::test]
async fn the_root_address_says_what_this_is_and_where_to_go() {
    for explorer in [true, false] {
        let app = spawn_with(|config| config.graphiql = Some(explorer)).await;
        let page = app.client.get(app.url("/")).header("accept", "text/html").send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = page.text().await.unwrap();
        for expected in ["Guanxi", env!("CARGO_PKG_VERSION"), "href=\"/graphql\"", "/healthz", "/docs/api-guide.md"] {
            assert!(html.contains(expected), "{expected} missing from {html}");
        }
        assert_eq!(html.contains("GraphiQL explorer"), explorer, "{html}");

        let json: Value = app
            .client
            .get(app.url("/"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
        let paths: Vec<&str> = json["links"].as_array().unwrap().iter().filter_map(|l| l["path"].as_str()).collect();
        assert!(paths.contains(&"/graphql") && paths.contains(&"/docs/api-guide.md"), "{json}");

        // Every link the page gives answers.
        for path in ["/docs/api-guide.md", "/docs/integration-guide.md", "/healthz", "/readyz"] {
            let response = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
        }
        let guide = app.client.get(app.url("/docs/api-guide.md")).send().await.unwrap().text().await.unwrap();
        assert!(guide.starts_with("# Guanxi API guide"), "{}", &guide[..80.min(guide.len())]);
        let guide = app.client.get(app.url("/docs/integration-guide.md")).send().await.unwrap().text().await.unwrap();
        assert!(guide.starts_with("# Guanxi integration guide") && guide.contains("changesSince"));
    }
}

#[tokio::test]
async fn migrate_reports_each_migration_as_a_plain_line_when_not_on_a_terminal() {
    use guanxi_migration::MigratorTrait;
    let dir = std::env::temp_dir().join(format!("guanxi-migrate-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("fresh.db").display());
    let migrate = || {
        // Output goes to pipes here, as in CI: no bar, one line per step.
        let output = guanxi(&["migrate"], &url);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let out = String::from_utf8_lossy(&output.stdout).lines().last().unwrap_or_default().to_owned();
        (out, String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let all = guanxi_migration::Migrator::migrations().len();
    let (out, err) = migrate();
    assert_eq!(out.trim(), format!("migrated ({all} migrations applied)"));
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("migrate ")).collect();
    assert_eq!(lines.len(), all, "{err}");
    assert!(lines[0].starts_with(&format!("migrate 1/{all}: m2026")), "{err}");
    assert!(lines[all - 1].starts_with(&format!("migrate {all}/{all}: m2026")), "{err}");
    // Nothing pending: nothing to report.
    let (out, err) = migrate();
    assert_eq!(out.trim(), "migrated (0 migrations applied)");
    assert!(!err.contains("migrate 1/"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the `guanxi` command against `url` (a new user's password and the JWT key in its
/// environment, no `RUST_LOG`, so its stdout holds only what the command prints).
fn guanxi(args: &[&str], url: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_guanxi"))
        .args(args)
        .args(["--database-url", url])
        .env("GUANXI_NEW_USER_PASSWORD", "a-strong-password")
        .env("GUANXI_JWT_SECRET", JWT_SECRET)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}
