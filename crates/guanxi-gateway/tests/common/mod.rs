//! The test harness: the real server on a random port, against a fresh database (a SQLite
//! file by default, or a new PostgreSQL database per test when
//! `GUANXI_TEST_DATABASE_URL` points at a server).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use guanxi_gateway::Application;
use guanxi_gateway::config::{Config, Secret};
use guanxi_store::{ConnectionTrait, Database};
use serde_json::{Value, json};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const PASSWORD: &str = "guanxi-demo";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: Database,
    pub config: Config,
    /// A bulk job runner over the server's state, run by hand (`run_jobs` is off).
    pub bulk: guanxi_gateway::bulk::Runner,
    data_dir: PathBuf,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A fresh database URL for one test.
pub async fn fresh_database(data_dir: &std::path::Path) -> String {
    match std::env::var("GUANXI_TEST_DATABASE_URL") {
        Ok(base) if base.starts_with("postgres") => {
            let (server, name) = base.rsplit_once('/').expect("a database name in GUANXI_TEST_DATABASE_URL");
            let name = name.split('?').next().unwrap_or(name);
            let database = format!("{name}_{}", uuid::Uuid::now_v7().simple());
            let admin = Database::connect(&base, None).await.expect("connecting to the test PostgreSQL");
            admin
                .connection()
                .execute_unprepared(&format!("CREATE DATABASE \"{database}\""))
                .await
                .expect("creating a test database");
            admin.close().await.ok();
            format!("{server}/{database}")
        }
        _ => format!("sqlite://{}?mode=rwc", data_dir.join("guanxi.db").display()),
    }
}

pub fn test_config(database_url: String, data_dir: PathBuf) -> Config {
    Config {
        database_url,
        listen: "127.0.0.1:0".into(),
        data_dir,
        jwt_secret: Some(Secret::new(JWT_SECRET)),
        expose_statement_count: true,
        run_jobs: false,
        subscription_poll_ms: 100,
        graphiql: Some(true),
        // Generous, so that a loaded CI machine gathers each batch whole (see the N+1 test).
        loader_delay_ms: 50,
        ..Config::default()
    }
}

/// Starts the app with `adjust` applied to the test configuration.
pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = std::env::temp_dir().join(format!("guanxi-test-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let url = fresh_database(&data_dir).await;
    let mut config = test_config(url, data_dir.clone());
    adjust(&mut config);
    let app = Application::build(config.clone()).await.expect("building the app");
    let address = format!("http://{}", app.address().unwrap());
    let db = app.database();
    let bulk = app.bulk_runner(std::time::Duration::from_secs(60));
    tokio::spawn(app.run_until_stopped());
    TestApp { address, client: reqwest::Client::new(), db, config, bulk, data_dir }
}

/// Starts the app with the demo tenant loaded.
pub async fn spawn_demo() -> TestApp {
    let app = spawn_with(|_| {}).await;
    guanxi_gateway::seed::seed_demo(&app.db).await.expect("seeding the demo tenant");
    app
}

pub struct Reply {
    pub status: u16,
    pub statements: u64,
    pub body: Value,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// POSTs a GraphQL request and returns the status, SQL statement count and JSON body.
    pub async fn post(&self, token: Option<&str>, body: &Value) -> Reply {
        let mut request = self.client.post(self.url("/graphql")).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let statements = response
            .headers()
            .get("x-sql-statements")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let body = response.json().await.unwrap_or(Value::Null);
        Reply { status, statements, body }
    }

    /// The fewest SQL statements `body` costs over five runs. Data loaders batch by time
    /// window, so on a busy machine a window can close early and split a batch; the
    /// fewest shows the request's batch structure, which is what must not grow with rows.
    pub async fn fewest_statements(&self, token: Option<&str>, body: &Value) -> (u64, Value) {
        let mut fewest = u64::MAX;
        let mut last = Value::Null;
        for _ in 0..5 {
            let reply = self.post(token, body).await;
            fewest = fewest.min(reply.statements);
            last = reply.body;
        }
        (fewest, last)
    }

    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.post(token, &json!({ "query": query, "variables": variables })).await.body
    }

    /// Logs in and returns the whole payload.
    pub async fn login_payload(&self, tenant: &str, email: &str, password: &str) -> Value {
        let body = self
            .gql(
                None,
                "mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken expiresAt user { id email } userErrors { field message code } } }",
                json!({ "i": { "tenant": tenant, "email": email, "password": password } }),
            )
            .await;
        body["data"]["login"].clone()
    }

    /// Logs a demo user in and returns their access token.
    pub async fn login(&self, email: &str) -> String {
        let payload = self.login_payload("demo", email, PASSWORD).await;
        payload["accessToken"].as_str().unwrap_or_else(|| panic!("login failed: {payload}")).to_owned()
    }

    /// The global id of a demo user, looked up by the admin.
    pub async fn user_id(&self, admin: &str, email: &str) -> String {
        let body = self
            .gql(
                Some(admin),
                "query($e: String!) { users(filter: {email: {eq: $e}}) { nodes { id } } }",
                json!({ "e": email }),
            )
            .await;
        body["data"]["users"]["nodes"][0]["id"].as_str().unwrap_or_else(|| panic!("no user {email}: {body}")).to_owned()
    }

    /// The global id and version of a department, by name.
    pub async fn department(&self, admin: &str, name: &str) -> (String, i64) {
        let body = self
            .gql(
                Some(admin),
                "query($n: String!) { departments(filter: {name: {eq: $n}}) { nodes { id version } } }",
                json!({ "n": name }),
            )
            .await;
        let node = &body["data"]["departments"]["nodes"][0];
        (
            node["id"].as_str().unwrap_or_else(|| panic!("no department {name}: {body}")).to_owned(),
            node["version"].as_i64().unwrap(),
        )
    }

    /// The global id of a role by its built-in key.
    pub async fn role_id(&self, admin: &str, key: &str) -> String {
        let body = self.gql(Some(admin), "{ roles(first: 50) { nodes { id builtinKey } } }", json!({})).await;
        body["data"]["roles"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["builtinKey"] == key)
            .and_then(|r| r["id"].as_str())
            .unwrap_or_else(|| panic!("no role {key}: {body}"))
            .to_owned()
    }

    /// Creates a role with `permissions` and `scopes` (a GraphQL list, e.g.
    /// `[{module: CUSTOMER, scope: OWN}]`), moves the demo user `email` (at version 1) to it,
    /// and logs them in: their token and the role's id.
    pub async fn with_new_role(
        &self,
        admin: &str,
        email: &str,
        (name, permissions, scopes): (&str, &[&str], &str),
    ) -> (String, Value) {
        let created = self
            .gql(
                Some(admin),
                &format!("mutation($p: [String!]!) {{ createRole(input: {{name: \"{name}\", permissions: $p, scopes: {scopes}}}) {{ role {{ id }} userErrors {{ code message }} }} }}"),
                json!({"p": permissions}),
            )
            .await;
        let role = created["data"]["createRole"]["role"]["id"].clone();
        assert!(role.is_string(), "{created}");
        let user = self.user_id(admin, email).await;
        let moved = self
            .gql(
                Some(admin),
                "mutation($i: UpdateUserInput!) { updateUser(input: $i) { userErrors { code } } }",
                json!({"i": {"id": user, "expectedVersion": 1, "roleId": role}}),
            )
            .await;
        assert_eq!(moved["data"]["updateUser"]["userErrors"], json!([]), "{moved}");
        (self.login(email).await, role)
    }

    /// Creates another tenant with an admin, returning the admin's access token.
    pub async fn second_tenant(&self, slug: &str) -> String {
        let tx = self.db.begin_write().await.unwrap();
        let created = guanxi_store::platform::tenant::create(
            &tx,
            &guanxi_domain::platform::org::TenantSlug::parse("t", slug).unwrap(),
            "另一家公司",
        )
        .await
        .unwrap();
        let hash = guanxi_gateway::auth::hash_password(PASSWORD.into()).await.unwrap();
        guanxi_store::platform::user::create(
            &tx,
            &guanxi_store::platform::audit::Author::system(created.id()),
            guanxi_domain::platform::access::DepartmentRule::All,
            guanxi_store::platform::user::NewUser {
                email: guanxi_domain::platform::org::Email::parse("e", "admin@other.local").unwrap(),
                display_name: guanxi_domain::platform::org::Name::parse("n", "别家管理员").unwrap(),
                phone: None,
                password_hash: hash,
                department_id: created.root.id,
                manager_id: None,
                role_id: created.role("admin").unwrap().id,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let payload = self.login_payload(slug, "admin@other.local", PASSWORD).await;
        payload["accessToken"].as_str().unwrap().to_owned()
    }
}

/// The `extensions.code` of the first top-level error.
pub fn error_code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body}")).to_owned()
}

/// The codes of a payload's user errors.
pub fn user_error_codes(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .map(|e| e.iter().filter_map(|x| x["code"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// The emails in a `users` connection.
pub fn emails(body: &Value) -> Vec<String> {
    let mut emails: Vec<String> = body["data"]["users"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no users in {body}"))
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    emails.sort();
    emails
}

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a `graphql-transport-ws` connection as `token` and starts `query`; waits a moment
/// so the subscription is listening before the caller writes.
pub async fn subscribe(app: &TestApp, token: &str, query: &str) -> Socket {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = app.url("/graphql/ws").replace("http://", "ws://").into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
    socket.send(Message::Text(init.to_string().into())).await.unwrap();
    let start = json!({"id": "1", "type": "subscribe", "payload": {"query": query}});
    socket.send(Message::Text(start.to_string().into())).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    socket
}

/// The `data` of the next `next` message, within ten seconds.
pub async fn next_event(socket: &mut Socket) -> Value {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a push in time")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] == "next" {
                return value["payload"]["data"].clone();
            }
        }
    }
}

/// Runs a mutation with `$i` and returns its payload's `key` object, failing on user errors.
pub async fn ok(app: &TestApp, token: &str, query: &str, input: Value, (field, key): (&str, &str)) -> Value {
    let body = app.gql(Some(token), query, json!({ "i": input })).await;
    let payload = &body["data"][field];
    assert_eq!(payload["userErrors"], json!([]), "{field}: {body}");
    payload[key].clone()
}

/// Runs a mutation with `$i` that must be refused; returns the user errors' codes and
/// the errors as text.
pub async fn refused(app: &TestApp, token: &str, query: &str, input: Value, field: &str) -> (Vec<String>, String) {
    let body = app.gql(Some(token), query, json!({ "i": input })).await;
    let payload = &body["data"][field];
    let codes = user_error_codes(payload);
    assert!(!codes.is_empty(), "{field} should be refused: {body}");
    (codes, payload["userErrors"].to_string())
}

/// The global id of a customer, by its exact name, as `token` sees it.
pub async fn customer(app: &TestApp, token: &str, name: &str) -> String {
    let body = app
        .gql(
            Some(token),
            "query($n: String!) { customers(filter: {name: {eq: $n}}) { nodes { id } } }",
            json!({"n": name}),
        )
        .await;
    body["data"]["customers"]["nodes"][0]["id"].as_str().unwrap_or_else(|| panic!("{name}: {body}")).to_owned()
}

/// Submits `rep`'s draft contract and has the demo's flow approve it (the manager, then
/// finance).
pub async fn approve_contract(app: &TestApp, (rep, manager, finance): (&str, &str, &str), contract: &Value) {
    let submit = "mutation($i: ContractActionInput!) { submitContract(input: $i) { contract { approval { id } } userErrors { field code message } } }";
    let input = json!({"id": contract["id"], "expectedVersion": contract["version"]});
    let submitted = ok(app, rep, submit, input, ("submitContract", "contract")).await;
    let approve = "mutation($i: ApprovalActionInput!) { approve(input: $i) { request { status } userErrors { field code message } } }";
    for approver in [manager, finance] {
        let input = json!({"requestId": submitted["approval"]["id"]});
        ok(app, approver, approve, input, ("approve", "request")).await;
    }
}

/// A contract of `rep`'s customer `customer` for `amount`, due in one installment,
/// approved through the demo's flow; returns its id.
pub async fn approved_contract(app: &TestApp, people: (&str, &str, &str), customer_name: &str, amount: &str) -> Value {
    let id = customer(app, people.0, customer_name).await;
    let input = json!({"title": "年度供货合同", "customerId": id, "amount": amount, "signedOn": "2026-01-05",
        "installments": [{"amount": amount, "dueOn": "2026-12-31"}]});
    let create = "mutation($i: CreateContractInput!) { createContract(input: $i) { contract { id version } userErrors { field code message } } }";
    let contract = ok(app, people.0, create, input, ("createContract", "contract")).await;
    approve_contract(app, people, &contract).await;
    contract["id"].clone()
}

/// Midnight (Shanghai) a year and a half ago and tomorrow: a whole-day window, which the
/// stored interaction counts would answer if nothing widened the caller's scope.
pub fn window() -> (String, String) {
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let midnight =
        |d: chrono::NaiveDate| (d.and_hms_opt(0, 0, 0).unwrap().and_utc() - chrono::Duration::hours(8)).to_rfc3339();
    (midnight(today - chrono::Duration::days(550)), midnight(today + chrono::Duration::days(1)))
}

/// Debian's Chromium, for the tests that render in a real browser (`.ci/run` installs it).
pub fn chromium() -> &'static str {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| std::process::Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("Debian's chromium (`.ci/run` installs it)")
}

/// The smallest JPEG file.
pub const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0xFF, 0xD9];

/// Uploads a file with `uploadAttachment` (a GraphQL multipart request), with or without
/// the preflight header; returns the status and the JSON body.
pub async fn upload(app: &TestApp, token: &str, bytes: &[u8], content_type: &str, preflight: bool) -> (u16, Value) {
    let operations = json!({"query": "mutation($file: Upload!) { uploadAttachment(file: $file) { attachment { id fileName size downloadPath } userErrors { field code message } } }", "variables": {"file": null}});
    let part =
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("现场照片.jpg").mime_str(content_type).unwrap();
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part("0", part);
    let mut request = app.client.post(app.url("/graphql")).bearer_auth(token).multipart(form);
    if preflight {
        request = request.header("apollo-require-preflight", "true");
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}
