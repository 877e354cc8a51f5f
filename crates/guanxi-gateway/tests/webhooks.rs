//! Webhooks against a real receiver: an HTTP server this test starts on a random port,
//! which checks every signature with its own HMAC code (not the server's) and answers as
//! each test scripts it. The deliverer runs as the server runs it, pass by pass, with the
//! clock moved by the test where a retry or a day of failures is waited for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use guanxi_gateway::webhooks::Deliverer;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use common::TestApp;

/// What the receiver answers to one request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Status(u16),
    /// Answers 200 after this long (past the deliverer's timeout: no answer in time).
    Slow(u64),
}

#[derive(Clone, Debug)]
struct Received {
    id: String,
    body: Value,
    /// Which of the receiver's known secrets verify the signature header.
    verified_by: Vec<String>,
    signatures: usize,
}

#[derive(Default)]
struct Receiver {
    secrets: Mutex<Vec<String>>,
    script: Mutex<VecDeque<Answer>>,
    got: Mutex<Vec<Received>>,
    /// Answered when the script is empty.
    otherwise: Mutex<Option<Answer>>,
}

/// The receiver's own check of one signature, as the Standard Webhooks libraries do it.
fn verifies(secret: &str, id: &str, timestamp: &str, body: &str, signature: &str) -> bool {
    let key = STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let Some(given) = signature.strip_prefix("v1,") else { return false };
    let Ok(given) = STANDARD.decode(given) else { return false };
    mac.verify_slice(&given).is_ok()
}

async fn hook(State(receiver): State<Arc<Receiver>>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (id, timestamp, signature) = (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    let secrets = receiver.secrets.lock().unwrap().clone();
    let parts: Vec<&str> = signature.split(' ').collect();
    let verified_by =
        secrets.into_iter().filter(|s| parts.iter().any(|p| verifies(s, &id, &timestamp, &body, p))).collect();
    let answer = receiver.script.lock().unwrap().pop_front();
    let answer = answer.or(*receiver.otherwise.lock().unwrap()).unwrap_or(Answer::Status(200));
    receiver.got.lock().unwrap().push(Received {
        id,
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
        verified_by,
        signatures: parts.len(),
    });
    match answer {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap(),
        Answer::Slow(ms) => {
            tokio::time::sleep(StdDuration::from_millis(ms)).await;
            StatusCode::OK
        }
    }
}

/// Starts a receiver; returns it and its URL.
async fn receiver() -> (Arc<Receiver>, String) {
    let receiver = Arc::new(Receiver::default());
    let app = axum::Router::new().route("/hook", axum::routing::post(hook)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (receiver, url)
}

const CREATE: &str = "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) {
    webhookEndpoint { id version status kinds maxInFlight } secret userErrors { field code message } } }";
const DELIVERIES: &str =
    "query($e: ID!, $s: WebhookDeliveryStatus) { webhookDeliveries(endpointId: $e, status: $s, first: 100) {
    totalCount nodes { id eventType subjectId seq status attemptCount payload
    attempts { attempt responseStatus error succeeded durationMs } } } }";
const ENDPOINT: &str =
    "query($id: ID!) { webhookEndpoint(id: $id) { status disabledReason failingSince lastSuccessAt version } }";

/// Registers an endpoint as `token`; returns its id and secret.
async fn register(app: &TestApp, token: &str, url: &str, kinds: Value, max_in_flight: i32) -> (String, String) {
    let body =
        app.gql(Some(token), CREATE, json!({"i": {"url": url, "kinds": kinds, "maxInFlight": max_in_flight}})).await;
    let payload = &body["data"]["createWebhookEndpoint"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    let secret = payload["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (payload["webhookEndpoint"]["id"].as_str().unwrap().to_owned(), secret)
}

/// Passes at `now` until one does nothing.
async fn drain(deliverer: &Deliverer, now: DateTime<Utc>) {
    for _ in 0..50 {
        let pass = deliverer.run_once(now).await.unwrap();
        if pass.queued == 0 && pass.attempted == 0 {
            return;
        }
    }
    panic!("the deliverer never settled");
}

fn deliverer(app: &TestApp, timeout_ms: u64) -> Deliverer {
    Deliverer::new(app.db.clone(), StdDuration::from_millis(timeout_ms)).unwrap()
}

async fn create_customer(app: &TestApp, token: &str, name: &str) -> (String, i64) {
    let body = app
        .gql(
            Some(token),
            "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id version } userErrors { code message } } }",
            json!({"i": {"name": name, "kind": "ORGANIZATION"}}),
        )
        .await;
    let customer = &body["data"]["createCustomer"]["customer"];
    assert!(customer["id"].is_string(), "{body}");
    (customer["id"].as_str().unwrap().to_owned(), customer["version"].as_i64().unwrap())
}

async fn set_level(app: &TestApp, token: &str, id: &str, version: i64, level: &str) -> i64 {
    let body = app
        .gql(
            Some(token),
            "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { customer { version } userErrors { code message } } }",
            json!({"i": {"id": id, "expectedVersion": version, "level": level}}),
        )
        .await;
    body["data"]["updateCustomer"]["customer"]["version"].as_i64().unwrap_or_else(|| panic!("{body}"))
}

fn of_record<'a>(got: &'a [Received], id: &str) -> Vec<&'a Received> {
    got.iter().filter(|r| r.body["data"]["id"] == id).collect()
}

#[tokio::test]
async fn signed_changes_reach_the_receiver_once_each_and_in_order_per_record() {
    let app = common::spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (receiver, url) = receiver().await;
    let (endpoint, secret) = register(&app, &admin, &url, json!(["CUSTOMER", "CONTACT"]), 4).await;
    receiver.secrets.lock().unwrap().push(secret);

    // A new customer edited three times, a second customer, and an interaction (a kind
    // the endpoint did not ask for).
    let (first, mut version) = create_customer(&app, &admin, "杭州推送测试有限公司").await;
    for level in ["A", "B", "C"] {
        version = set_level(&app, &admin, &first, version, level).await;
    }
    let (second, _) = create_customer(&app, &admin, "宁波推送测试有限公司").await;
    let note = app
        .gql(
            Some(&admin),
            "mutation($i: CreateInteractionInput!) { createInteraction(input: $i) { userErrors { code } } }",
            json!({"i": {"customerId": second, "channel": "CALL", "content": "电话回访", "occurredAt": Utc::now()}}),
        )
        .await;
    assert_eq!(note["data"]["createInteraction"]["userErrors"], json!([]), "{note}");

    // The first message fails with a 500: the customer's later changes wait behind it.
    receiver.script.lock().unwrap().push_back(Answer::Status(500));
    let deliverer = deliverer(&app, 5_000);
    let now = Utc::now();
    drain(&deliverer, now).await;
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(of_record(&got, &first).len(), 1, "only the failed first message went out for it: {got:?}");
    assert_eq!(of_record(&got, &second).len(), 1, "the other customer is not held up");

    // After the backoff the retry succeeds, and the rest follow in order.
    drain(&deliverer, now + Duration::minutes(1)).await;
    let got = receiver.got.lock().unwrap().clone();
    let firsts = of_record(&got, &first);
    let types: Vec<&str> = firsts.iter().map(|r| r.body["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["customer.created", "customer.created", "customer.updated", "customer.updated", "customer.updated"]
    );
    assert_eq!(firsts[0].id, firsts[1].id, "a retry carries the same webhook-id");
    let seqs: Vec<i64> = firsts.iter().map(|r| r.body["data"]["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "in the order of the changes: {seqs:?}");
    let levels: Vec<Value> = firsts[2..].iter().map(|r| r.body["data"]["changes"][0]["new"].clone()).collect();
    assert_eq!(levels, [json!("A"), json!("B"), json!("C")]);
    assert!(got.iter().all(|r| r.verified_by.len() == 1 && r.signatures == 1), "every signature verifies: {got:?}");
    assert!(got.iter().all(|r| r.body["data"]["kind"] == "CUSTOMER"), "no interaction was sent: {got:?}");
    assert_eq!(got[0].body["data"]["operation"], "CREATE");

    // The admin's view: one delivery per change, every attempt with its answer.
    let body = app.gql(Some(&admin), DELIVERIES, json!({"e": endpoint})).await;
    let deliveries = &body["data"]["webhookDeliveries"];
    assert_eq!(deliveries["totalCount"], 5, "{body}");
    let nodes = deliveries["nodes"].as_array().unwrap();
    assert!(nodes.iter().all(|d| d["status"] == "DELIVERED"), "{body}");
    let retried = nodes.iter().find(|d| d["attemptCount"] == 2).expect("the retried delivery");
    assert_eq!(retried["attempts"][0]["responseStatus"], 500);
    assert_eq!(retried["attempts"][0]["succeeded"], false);
    assert!(retried["attempts"][0]["error"].as_str().unwrap().starts_with("HTTP 500"), "{retried}");
    assert_eq!(retried["attempts"][1]["responseStatus"], 200);
    assert_eq!(retried["id"].as_str().unwrap(), firsts[0].id, "the delivery's id is the webhook-id");
    // The list costs the same statements for one delivery as for five, attempts and all.
    let listing = |first: i64| {
        let query = DELIVERIES.replace("first: 100", &format!("first: {first}"));
        json!({"query": query, "variables": {"e": endpoint}})
    };
    let (one, body) = app.fewest_statements(Some(&admin), &listing(1)).await;
    assert_eq!(body["data"]["webhookDeliveries"]["nodes"].as_array().unwrap().len(), 1, "{body}");
    let (five, body) = app.fewest_statements(Some(&admin), &listing(5)).await;
    assert_eq!(body["data"]["webhookDeliveries"]["nodes"].as_array().unwrap().len(), 5, "{body}");
    assert_eq!(one, five, "no statement per delivery");
    assert!(one > 0);
    let endpoint_now = app.gql(Some(&admin), ENDPOINT, json!({"id": endpoint})).await;
    assert!(endpoint_now["data"]["webhookEndpoint"]["failingSince"].is_null(), "{endpoint_now}");
    assert!(endpoint_now["data"]["webhookEndpoint"]["lastSuccessAt"].is_string());

    // Nothing new: nothing more is sent, whenever the deliverer looks.
    drain(&deliverer, now + Duration::hours(3)).await;
    assert_eq!(receiver.got.lock().unwrap().len(), got.len());
}

#[tokio::test]
async fn timeouts_retry_and_a_day_of_failures_dead_letters_and_disables_the_endpoint() {
    let app = common::spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (receiver, url) = receiver().await;
    let (endpoint, secret) = register(&app, &admin, &url, json!(["CUSTOMER"]), 4).await;
    receiver.secrets.lock().unwrap().push(secret);
    let (customer, _) = create_customer(&app, &admin, "温州超时测试有限公司").await;

    // No answer within the timeout: a failed attempt, retried later.
    receiver.script.lock().unwrap().push_back(Answer::Slow(1_500));
    let deliverer = deliverer(&app, 300);
    let start = Utc::now();
    drain(&deliverer, start).await;
    let body = app.gql(Some(&admin), DELIVERIES, json!({"e": endpoint})).await;
    let delivery = body["data"]["webhookDeliveries"]["nodes"][0].clone();
    assert_eq!(delivery["status"], "PENDING", "{body}");
    assert!(delivery["attempts"][0]["responseStatus"].is_null());
    assert!(delivery["attempts"][0]["error"].as_str().unwrap().contains("no answer within 300 ms"), "{delivery}");

    // From now on the endpoint fails every time. A day later the message is given up and
    // the endpoint switched off, and its user told.
    *receiver.otherwise.lock().unwrap() = Some(Answer::Status(503));
    let mut now = start;
    for _ in 0..40 {
        now += Duration::hours(2);
        drain(&deliverer, now).await;
    }
    let body = app.gql(Some(&admin), DELIVERIES, json!({"e": endpoint, "s": "DEAD"})).await;
    let dead = &body["data"]["webhookDeliveries"]["nodes"][0];
    assert_eq!(dead["status"], "DEAD", "{body}");
    let attempts = dead["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 10, "retried with backoff for a day: {attempts:?}");
    assert_eq!(attempts.len() as i64, dead["attemptCount"].as_i64().unwrap());
    let seen = app.gql(Some(&admin), ENDPOINT, json!({"id": endpoint})).await;
    let state = &seen["data"]["webhookEndpoint"];
    assert_eq!(state["status"], "DISABLED", "{seen}");
    assert_eq!(state["disabledReason"], "every attempt failed for a day");
    let notices = app.gql(Some(&admin), "{ myNotices { kind subjectKind subjectId message } }", json!({})).await;
    let notice =
        notices["data"]["myNotices"].as_array().unwrap().iter().find(|n| n["kind"] == "WEBHOOK_DISABLED").cloned();
    let notice = notice.unwrap_or_else(|| panic!("{notices}"));
    assert_eq!(notice["subjectId"], endpoint.as_str());
    let history = app
        .gql(Some(&admin), "query($id: ID!) { history(id: $id) { nodes { operation } } }", json!({"id": endpoint}))
        .await;
    assert_eq!(history["data"]["history"]["nodes"][0]["operation"], "DISABLE", "{history}");

    // Disabled, it is sent nothing, though changes keep queueing for it.
    let sent = receiver.got.lock().unwrap().len();
    let version = set_level(&app, &admin, &customer, 1, "A").await;
    drain(&deliverer, now + Duration::hours(1)).await;
    assert_eq!(receiver.got.lock().unwrap().len(), sent);

    // Fixed and switched back on: the queued change goes out, and the dead message on
    // redelivery, with the webhook-id it had.
    *receiver.otherwise.lock().unwrap() = None;
    let enabled = app
        .gql(Some(&admin), "mutation($id: ID!) { enableWebhookEndpoint(input: {id: $id}) { webhookEndpoint { status failingSince } userErrors { code } } }", json!({"id": endpoint}))
        .await;
    assert_eq!(enabled["data"]["enableWebhookEndpoint"]["webhookEndpoint"]["status"], "ACTIVE", "{enabled}");
    let again = app
        .gql(
            Some(&admin),
            "mutation($d: ID!) { redeliverWebhook(input: {deliveryId: $d}) { redelivered userErrors { code } } }",
            json!({"d": dead["id"]}),
        )
        .await;
    assert_eq!(again["data"]["redeliverWebhook"]["redelivered"], 1, "{again}");
    drain(&deliverer, Utc::now()).await;
    let got = receiver.got.lock().unwrap().clone();
    let last_two: Vec<&Received> = got[sent..].iter().collect();
    assert_eq!(last_two.len(), 2, "{last_two:?}");
    assert_eq!(last_two[0].id, dead["id"].as_str().unwrap(), "the created event first, with its id");
    assert_eq!(last_two[1].body["data"]["changes"][0]["new"], "A");
    assert!(version > 1);
    // A pending or unknown message cannot be redelivered; a delivered one can.
    let unknown = app
        .gql(Some(&admin), "mutation { redeliverWebhook(input: {deliveryId: \"msg_nope\"}) { redelivered userErrors { code field } } }", json!({}))
        .await;
    assert_eq!(unknown["data"]["redeliverWebhook"]["userErrors"][0]["code"], "NOT_FOUND", "{unknown}");
    let range = app
        .gql(
            Some(&admin),
            "mutation($i: RedeliverWebhooksInput!) { redeliverWebhooks(input: $i) { redelivered userErrors { code } } }",
            json!({"i": {"endpointId": endpoint, "from": start - Duration::hours(1), "to": Utc::now() + Duration::minutes(1)}}),
        )
        .await;
    assert_eq!(range["data"]["redeliverWebhooks"]["redelivered"], 2, "{range}");
    drain(&deliverer, Utc::now()).await;
    assert_eq!(receiver.got.lock().unwrap().len(), sent + 4);
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_until_the_overlap_ends() {
    let app = common::spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (receiver, url) = receiver().await;
    let (endpoint, old) = register(&app, &admin, &url, json!(["CUSTOMER"]), 4).await;
    let rotate = "mutation($i: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $i) { secret webhookEndpoint { previousSecretUntil } userErrors { code field } } }";
    let body = app.gql(Some(&admin), rotate, json!({"i": {"id": endpoint, "overlapHours": 2}})).await;
    let new = body["data"]["rotateWebhookSecret"]["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(body["data"]["rotateWebhookSecret"]["webhookEndpoint"]["previousSecretUntil"].is_string(), "{body}");
    receiver.secrets.lock().unwrap().extend([old.clone(), new.clone()]);

    let deliverer = deliverer(&app, 5_000);
    create_customer(&app, &admin, "嘉兴轮换测试有限公司").await;
    drain(&deliverer, Utc::now()).await;
    // Past the overlap, only the new secret signs.
    create_customer(&app, &admin, "湖州轮换测试有限公司").await;
    drain(&deliverer, Utc::now() + Duration::hours(3)).await;
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].signatures, 2);
    assert_eq!(got[0].verified_by, [old.clone(), new.clone()], "both secrets verify during the overlap");
    assert_eq!(got[1].signatures, 1);
    assert_eq!(got[1].verified_by, vec![new]);

    // A rotation with no overlap drops the old secret at once.
    let body = app.gql(Some(&admin), rotate, json!({"i": {"id": endpoint, "overlapHours": 0}})).await;
    let newest = body["data"]["rotateWebhookSecret"]["secret"].as_str().unwrap().to_owned();
    receiver.secrets.lock().unwrap().push(newest.clone());
    create_customer(&app, &admin, "丽水轮换测试有限公司").await;
    drain(&deliverer, Utc::now()).await;
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got[2].verified_by, [newest]);
    let bad = app.gql(Some(&admin), rotate, json!({"i": {"id": endpoint, "overlapHours": 73}})).await;
    assert_eq!(bad["data"]["rotateWebhookSecret"]["userErrors"][0]["field"], "overlapHours", "{bad}");
}

#[tokio::test]
async fn two_replicas_deliver_every_message_exactly_once() {
    let app = common::spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (receiver, url) = receiver().await;
    let (_, secret) = register(&app, &admin, &url, json!(["CUSTOMER"]), 3).await;
    receiver.secrets.lock().unwrap().push(secret);
    *receiver.otherwise.lock().unwrap() = Some(Answer::Slow(20));
    let mut ids = Vec::new();
    for n in 0..24 {
        ids.push(create_customer(&app, &admin, &format!("双副本测试客户{n:02}有限公司")).await.0);
    }
    let (a, b) = (deliverer(&app, 5_000), deliverer(&app, 5_000));
    let run = |d: Deliverer| async move {
        for _ in 0..200 {
            d.run_once(Utc::now()).await.unwrap();
        }
    };
    let (ra, rb) = (tokio::spawn(run(a.clone())), tokio::spawn(run(b.clone())));
    ra.await.unwrap();
    rb.await.unwrap();
    drain(&a, Utc::now()).await;
    let got = receiver.got.lock().unwrap().clone();
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for r in &got {
        *per_id.entry(r.id.as_str()).or_default() += 1;
    }
    assert_eq!(got.len(), 24, "one message per change, none twice: {per_id:?}");
    assert!(per_id.values().all(|n| *n == 1));
    for id in &ids {
        assert_eq!(of_record(&got, id).len(), 1, "{id}");
    }
}

#[tokio::test]
async fn a_deliverer_killed_mid_send_leaves_the_message_to_go_again_with_the_same_id() {
    let app = common::spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (receiver, url) = receiver().await;
    let (endpoint, secret) = register(&app, &admin, &url, json!(["CUSTOMER"]), 4).await;
    receiver.secrets.lock().unwrap().push(secret);
    create_customer(&app, &admin, "台州断电测试有限公司").await;
    receiver.script.lock().unwrap().push_back(Answer::Slow(60_000));

    // The replica dies while the receiver holds the request open.
    let doomed = deliverer(&app, 2_000);
    let start = Utc::now();
    let running = tokio::spawn(async move { doomed.run_once(start).await });
    for _ in 0..100 {
        if !receiver.got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    running.abort();
    assert_eq!(receiver.got.lock().unwrap().len(), 1);

    // Its lease holds the message until it runs out; then another replica sends it again.
    let survivor = deliverer(&app, 2_000);
    drain(&survivor, start + Duration::seconds(10)).await;
    assert_eq!(receiver.got.lock().unwrap().len(), 1, "still leased to the dead replica");
    drain(&survivor, start + Duration::seconds(40)).await;
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].id, got[1].id, "the same webhook-id, so the receiver can drop the repeat");
    let body = app.gql(Some(&admin), DELIVERIES, json!({"e": endpoint})).await;
    let delivery = &body["data"]["webhookDeliveries"]["nodes"][0];
    assert_eq!(delivery["status"], "DELIVERED", "{body}");
    assert_eq!(delivery["attemptCount"], 1, "the lost attempt left no record; the second is the first recorded");
}

#[tokio::test]
async fn endpoints_follow_permissions_scope_and_tenant_and_refuse_bad_input() {
    let app = common::spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (receiver, url) = receiver().await;

    // Bad input changes nothing.
    for (input, field, code) in [
        (json!({"url": "http://erp.example.com/h", "kinds": ["CUSTOMER"]}), "url", "INVALID"),
        (json!({"url": "ftp://127.0.0.1/h", "kinds": ["CUSTOMER"]}), "url", "INVALID"),
        (json!({"url": url, "kinds": []}), "kinds", "REQUIRED"),
        (json!({"url": url, "kinds": ["CUSTOMER"], "maxInFlight": 0}), "maxInFlight", "INVALID"),
        (json!({"url": url, "kinds": ["CUSTOMER"], "description": "长".repeat(201)}), "description", "INVALID"),
    ] {
        let body = app.gql(Some(&admin), CREATE, json!({"i": input})).await;
        let payload = &body["data"]["createWebhookEndpoint"];
        assert!(payload["secret"].is_null(), "{body}");
        assert_eq!(payload["userErrors"][0]["field"], field, "{body}");
        assert_eq!(payload["userErrors"][0]["code"], code, "{body}");
    }
    let listed = "{ webhookEndpoints { totalCount nodes { id status description } } }";
    let demo = app.gql(Some(&admin), listed, json!({})).await;
    assert_eq!(demo["data"]["webhookEndpoints"]["totalCount"], 1, "only the demo's example endpoint: {demo}");
    assert_eq!(demo["data"]["webhookEndpoints"]["nodes"][0]["status"], "DISABLED");

    // A rep may not manage webhooks at all.
    let rep = app.login("rep1@demo.local").await;
    let refused = app.gql(Some(&rep), listed, json!({})).await;
    assert_eq!(common::error_code(&refused), "FORBIDDEN", "{refused}");
    let refused = app.gql(Some(&rep), CREATE, json!({"i": {"url": url, "kinds": ["CUSTOMER"]}})).await;
    assert_eq!(common::error_code(&refused), "FORBIDDEN", "{refused}");

    // An integration user whose role sees only their own customers registers an endpoint:
    // it is sent their customers' changes, not a colleague's.
    let permissions = ["webhook.manage", "customer.read", "customer.create", "customer.update"];
    let (integrator, _) = app
        .with_new_role(&admin, "rep3@demo.local", ("推送集成", &permissions, "[{module: CUSTOMER, scope: OWN}]"))
        .await;
    let (endpoint, secret) = register(&app, &integrator, &url, json!(["CUSTOMER"]), 4).await;
    receiver.secrets.lock().unwrap().push(secret);
    let (own, _) = create_customer(&app, &integrator, "自有客户推送测试有限公司").await;
    let (colleagues, _) = create_customer(&app, &rep, "同事客户推送测试有限公司").await;
    drain(&deliverer(&app, 5_000), Utc::now()).await;
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(of_record(&got, &own).len(), 1, "{got:?}");
    assert!(of_record(&got, &colleagues).is_empty(), "a record its user may not see is never sent");
    assert_eq!(got.len(), 1);

    // Version checks on update; another tenant sees nothing of it.
    let update = "mutation($i: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $i) { webhookEndpoint { version description kinds } userErrors { code field } } }";
    let stale = app
        .gql(Some(&integrator), update, json!({"i": {"id": endpoint, "expectedVersion": 7, "description": "ERP"}}))
        .await;
    assert_eq!(stale["data"]["updateWebhookEndpoint"]["userErrors"][0]["code"], "VERSION_CONFLICT", "{stale}");
    let fine = app.gql(Some(&integrator), update, json!({"i": {"id": endpoint, "expectedVersion": 1, "description": "ERP", "kinds": ["CUSTOMER", "CONTACT"]}})).await;
    assert_eq!(fine["data"]["updateWebhookEndpoint"]["webhookEndpoint"]["version"], 2, "{fine}");
    let other = app.second_tenant("other-hooks").await;
    let foreign =
        app.gql(Some(&other), "query($id: ID!) { webhookEndpoint(id: $id) { id } }", json!({"id": endpoint})).await;
    assert_eq!(common::error_code(&foreign), "NOT_FOUND", "{foreign}");
    let node = app.gql(Some(&other), "query($id: ID!) { node(id: $id) { id } }", json!({"id": endpoint})).await;
    assert!(node["data"]["node"].is_null(), "{node}");
    assert_eq!(app.gql(Some(&other), listed, json!({})).await["data"]["webhookEndpoints"]["totalCount"], 0);
    let deliveries = app.gql(Some(&other), DELIVERIES, json!({"e": endpoint})).await;
    assert_eq!(common::error_code(&deliveries), "NOT_FOUND", "{deliveries}");
    let disable = app
        .gql(
            Some(&other),
            "mutation($id: ID!) { disableWebhookEndpoint(input: {id: $id}) { userErrors { code } } }",
            json!({"id": endpoint}),
        )
        .await;
    assert_eq!(disable["data"]["disableWebhookEndpoint"]["userErrors"][0]["code"], "NOT_FOUND", "{disable}");

    // Deleted, it is sent nothing more.
    let deleted = app
        .gql(
            Some(&integrator),
            "mutation($id: ID!) { deleteWebhookEndpoint(input: {id: $id}) { userErrors { code } } }",
            json!({"id": endpoint}),
        )
        .await;
    assert_eq!(deleted["data"]["deleteWebhookEndpoint"]["userErrors"], json!([]), "{deleted}");
    create_customer(&app, &integrator, "删除后推送测试有限公司").await;
    drain(&deliverer(&app, 5_000), Utc::now()).await;
    assert_eq!(receiver.got.lock().unwrap().len(), 1);
}
