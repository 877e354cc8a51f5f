//! `syncPush`, a mobile app's queue of offline work: a scripted offline day (40 queued
//! operations, a lost answer, conflicts merged and sent again, a failure and what
//! depended on it) ends with the app's copy and the server in the same state; the push's
//! own rules and the caller's data scope, over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use serde_json::{Value, json};
use uuid::Uuid;

/// The fields the app keeps of each kind, the same in the push's answer, the feed and a read.
const FIELDS: &str = "id ... on Contact { name title department email version } \
    ... on Interaction { content contacts { id } } ... on CheckIn { kind customer { id } photoIds } \
    ... on Event { title status completionNotes version }";

fn push_query() -> String {
    format!(
        "mutation($i: SyncPushInput!) {{ syncPush(input: $i) {{ appliedCount failedCount skippedCount \
         results {{ index key status userErrors {{ field code message }} node {{ {FIELDS} }} }} }} }}"
    )
}

fn global(kind: &str, id: Uuid) -> String {
    STANDARD.encode(format!("{kind}:{id}"))
}

/// The app's local copy: records by global id, as the server last answered them.
#[derive(Default)]
struct Phone {
    records: BTreeMap<String, Value>,
    cursor: Option<String>,
    /// The records a push wrote.
    pushed: BTreeSet<String>,
}

impl Phone {
    /// Pulls the changes since the last pull (a snapshot the first time).
    async fn pull(&mut self, app: &TestApp, token: &str) {
        let query = format!(
            "query($c: String) {{ changesSince(cursor: $c, kinds: [CONTACT, INTERACTION, EVENT], first: 200) \
             {{ cursor hasMore changes {{ id removed node {{ {FIELDS} }} }} }} }}"
        );
        loop {
            let body = app.gql(Some(token), &query, json!({"c": self.cursor})).await;
            let feed = &body["data"]["changesSince"];
            for change in feed["changes"].as_array().unwrap_or_else(|| panic!("{body}")) {
                let id = change["id"].as_str().unwrap().to_owned();
                match change["removed"].is_null() {
                    true => self.records.insert(id, change["node"].clone()),
                    false => self.records.remove(&id),
                };
            }
            self.cursor = Some(feed["cursor"].as_str().unwrap().to_owned());
            if feed["hasMore"] != true {
                break;
            }
        }
    }

    /// Pushes `operations`; keeps what each applied operation answered.
    async fn push(&mut self, app: &TestApp, token: &str, operations: &[Value]) -> Value {
        let body = app.gql(Some(token), &push_query(), json!({"i": {"operations": operations}})).await;
        let payload = body["data"]["syncPush"].clone();
        for result in payload["results"].as_array().unwrap_or_else(|| panic!("{body}")) {
            if result["status"] == "APPLIED" && result["node"]["id"].is_string() {
                let id = result["node"]["id"].as_str().unwrap().to_owned();
                self.records.insert(id.clone(), result["node"].clone());
                self.pushed.insert(id);
            }
        }
        payload
    }

    /// The server's answer for every record a push wrote, against the app's copy.
    async fn matches_server(&self, app: &TestApp, token: &str) {
        let ids: Vec<&String> = self.pushed.iter().collect();
        let query = format!("query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {FIELDS} }} }}");
        let body = app.gql(Some(token), &query, json!({"ids": ids})).await;
        let server = body["data"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}"));
        for (id, node) in ids.iter().zip(server) {
            assert_eq!(self.records.get(*id), Some(node), "the app's copy of {id} against the server's");
        }
    }
}

fn op(key: &str, depends_on: &[&str], operation: Value) -> Value {
    json!({"key": key, "dependsOn": depends_on, "operation": operation})
}

fn at() -> Value {
    json!({"latitude": 31.2304, "longitude": 121.4737, "accuracyMeters": 15.0})
}

/// The first two customers `token` lists.
async fn two_customers(app: &TestApp, token: &str) -> (String, String) {
    let body = app.gql(Some(token), "{ customers(first: 2) { nodes { id } } }", json!({})).await;
    let id =
        |i: usize| body["data"]["customers"]["nodes"][i]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    (id(0), id(1))
}

async fn todo(app: &TestApp, token: &str, title: &str) -> Value {
    let create =
        "mutation($i: CreateEventInput!) { createEvent(input: $i) { event { id version } userErrors { field code } } }";
    let starts = chrono::Utc::now() + chrono::Duration::hours(2);
    let input = json!({"kind": "TODO", "title": title, "startsAt": starts.to_rfc3339(),
        "endsAt": (starts + chrono::Duration::minutes(30)).to_rfc3339()});
    ok(app, token, create, input, ("createEvent", "event")).await
}

fn statuses(payload: &Value) -> Vec<(String, String)> {
    payload["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{payload}"))
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_owned(), r["status"].as_str().unwrap().to_owned()))
        .collect()
}

fn result<'a>(payload: &'a Value, key: &str) -> &'a Value {
    payload["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("{key}: {payload}"))
}

#[tokio::test]
async fn an_offline_day_ends_with_the_app_and_the_server_in_the_same_state() {
    let app = spawn_demo().await;
    let (rep1, manager) = (app.login("rep1@demo.local").await, app.login("manager@demo.local").await);
    let (a, b) = two_customers(&app, &rep1).await;

    // Online in the morning: a contact and two to-dos, then the app's first pull.
    let create_contact =
        "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id version } userErrors { code } } }";
    let known =
        ok(&app, &rep1, create_contact, json!({"customerId": a, "name": "钱主任"}), ("createContact", "contact")).await;
    let (t1, t2) = (todo(&app, &rep1, "回访钱主任").await, todo(&app, &rep1, "整理报价").await);
    let mut phone = Phone::default();
    phone.pull(&app, &rep1).await;
    assert!(phone.records.contains_key(known["id"].as_str().unwrap()), "the snapshot holds the morning's contact");

    // Offline all day: 40 operations queued in the order the rep made them.
    let new_contact = Uuid::now_v7();
    let mut queue = vec![
        op("c1", &[], json!({"createContact": {"id": new_contact.to_string(), "customerId": a, "name": "赵经理"}})),
        op(
            "c2",
            &["c1"],
            json!({"updateContact": {"id": global("Contact", new_contact), "expectedVersion": 1, "title": "采购总监"}}),
        ),
        op(
            "i1",
            &["c1"],
            json!({"createInteraction": {"customerId": a, "channel": "VISIT", "content": "离线一日：见赵经理",
            "contactIds": [global("Contact", new_contact)]}}),
        ),
        op(
            "c3",
            &[],
            json!({"updateContact": {"id": known["id"], "expectedVersion": known["version"], "title": "技术总监"}}),
        ),
        op(
            "e1",
            &[],
            json!({"completeEvent": {"id": t1["id"], "expectedVersion": t1["version"], "completionNotes": "已回访"}}),
        ),
        op("e2", &[], json!({"completeEvent": {"id": t2["id"], "expectedVersion": t2["version"]}})),
        // A typo the server refuses, and the interaction that names that contact.
        op(
            "bad",
            &[],
            json!({"createContact": {"id": Uuid::now_v7().to_string(), "customerId": b, "name": "孙工", "email": "sun@"}}),
        ),
        op(
            "i-bad",
            &["bad"],
            json!({"createInteraction": {"customerId": b, "channel": "CALL", "content": "离线一日：致电孙工"}}),
        ),
    ];
    let mut visits = Vec::new();
    for visit in 0..8 {
        let (customer, check_in) = (if visit % 2 == 0 { &a } else { &b }, Uuid::now_v7());
        visits.push(check_in);
        let (v, o, n) = (format!("v{visit}"), format!("o{visit}"), format!("n{visit}"));
        queue.push(op(
            &v,
            &[],
            json!({"checkIn": {"id": check_in.to_string(), "customerId": customer, "location": at(),
            "deviceTime": chrono::Utc::now().to_rfc3339()}}),
        ));
        queue.push(op(
            &o,
            &[&v],
            json!({"checkOut": {"checkInId": global("CheckIn", check_in), "location": at(),
            "deviceTime": chrono::Utc::now().to_rfc3339(), "note": "离开"}}),
        ));
        queue.push(op(
            &n,
            &[],
            json!({"createInteraction": {"customerId": customer, "channel": "CALL",
            "content": format!("离线一日：第{visit}通电话")}}),
        ));
    }
    assert_eq!(queue.len(), 32);
    for extra in 0..8 {
        queue.push(op(
            &format!("x{extra}"),
            &[],
            json!({"createInteraction": {"customerId": b, "channel": "WECHAT",
            "content": format!("离线一日：微信{extra}")}}),
        ));
    }
    assert_eq!(queue.len(), 40);

    // Meanwhile the manager edits the morning's contact and the rep moves a to-do on the web.
    let update =
        "mutation($i: UpdateContactInput!) { updateContact(input: $i) { contact { version } userErrors { code } } }";
    ok(
        &app,
        &manager,
        update,
        json!({"id": known["id"], "expectedVersion": known["version"], "department": "信息中心"}),
        ("updateContact", "contact"),
    )
    .await;
    let rename = "mutation($i: UpdateEventInput!) { updateEvent(input: $i) { event { version } userErrors { code } } }";
    ok(
        &app,
        &rep1,
        rename,
        json!({"id": t1["id"], "expectedVersion": t1["version"], "title": "回访钱主任（改期）"}),
        ("updateEvent", "event"),
    )
    .await;

    // Back online: the first 25 go through but the answer is lost; the whole queue again.
    Phone::default().push(&app, &rep1, &queue[..25]).await;
    let payload = phone.push(&app, &rep1, &queue).await;
    let conflicted = ["c3", "e1"];
    for (key, status) in statuses(&payload) {
        let expected = match key.as_str() {
            "bad" => "FAILED",
            "i-bad" => "SKIPPED",
            k if conflicted.contains(&k) => "FAILED",
            _ => "APPLIED",
        };
        assert_eq!(status, expected, "{key}: {payload}");
    }
    assert_eq!(
        (payload["appliedCount"].clone(), payload["failedCount"].clone(), payload["skippedCount"].clone()),
        (json!(36), json!(3), json!(1))
    );
    assert_eq!(result(&payload, "bad")["userErrors"][0]["field"], "email", "{payload}");
    assert_eq!(result(&payload, "i-bad")["userErrors"][0]["code"], "DEPENDENCY_FAILED");
    // A conflict answers with the server's record, to merge with.
    let contact = &result(&payload, "c3");
    assert_eq!(contact["userErrors"][0]["code"], "VERSION_CONFLICT", "{payload}");
    assert_eq!(contact["node"]["department"], "信息中心");
    let event = &result(&payload, "e1");
    assert_eq!(event["userErrors"][0]["code"], "VERSION_CONFLICT", "{payload}");
    assert_eq!(
        (event["node"]["title"].clone(), event["node"]["status"].clone()),
        (json!("回访钱主任（改期）"), json!("PLANNED"))
    );

    // The app merges (its edit over the server's record), fixes the typo, and sends those
    // with a photo of the first visit.
    let fixed = Uuid::now_v7();
    let uploaded = upload(&app, &rep1, JPEG, "image/jpeg", true).await.1;
    let photo = uploaded["data"]["uploadAttachment"]["attachment"]["id"].clone();
    assert!(photo.is_string(), "{uploaded}");
    let merged = [
        op(
            "c3-merged",
            &[],
            json!({"updateContact": {"id": known["id"], "expectedVersion": contact["node"]["version"], "title": "技术总监"}}),
        ),
        op(
            "e1-merged",
            &[],
            json!({"completeEvent": {"id": t1["id"], "expectedVersion": event["node"]["version"], "completionNotes": "已回访"}}),
        ),
        op(
            "bad-fixed",
            &[],
            json!({"createContact": {"id": fixed.to_string(), "customerId": b, "name": "孙工", "email": "sun@example.cn"}}),
        ),
        op(
            "i-bad-again",
            &["bad-fixed"],
            json!({"createInteraction": {"customerId": b, "channel": "CALL", "content": "离线一日：致电孙工",
            "contactIds": [global("Contact", fixed)]}}),
        ),
        // The first visit's photo, uploaded now that the network allows.
        op(
            "photos",
            &[],
            json!({"addCheckInPhotos": {"checkInId": global("CheckIn", visits[0]), "photoIds": [photo]}}),
        ),
    ];
    let payload = phone.push(&app, &rep1, &merged).await;
    assert_eq!(payload["appliedCount"], 5, "{payload}");
    assert_eq!(result(&payload, "photos")["node"]["photoIds"], json!([photo]));
    let merged_contact = &result(&payload, "c3-merged")["node"];
    assert_eq!(
        (merged_contact["title"].clone(), merged_contact["department"].clone()),
        (json!("技术总监"), json!("信息中心"))
    );
    assert_eq!(result(&payload, "e1-merged")["node"]["status"], "DONE");

    // Each thing the rep did happened once, with the ids the app gave it.
    let day = "query($c: ID!) { interactions(first: 200, filter: {customerId: {eq: $c}}) { nodes { content } } }";
    let mut contents = Vec::new();
    for customer in [&a, &b] {
        let body = app.gql(Some(&rep1), day, json!({"c": customer})).await;
        contents.extend(
            body["data"]["interactions"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|n| n["content"].as_str().filter(|c| c.starts_with("离线一日")).map(str::to_owned)),
        );
    }
    contents.sort();
    let mut expected: Vec<String> = ["离线一日：见赵经理".to_owned(), "离线一日：致电孙工".to_owned()]
        .into_iter()
        .chain((0..8).map(|v| format!("离线一日：第{v}通电话")))
        .chain((0..8).map(|x| format!("离线一日：微信{x}")))
        .collect();
    expected.sort();
    assert_eq!(contents, expected, "no operation lost or doubled");

    // The app's copy of everything its pushes wrote is the server's: 3 contacts and 2
    // to-dos, 18 interactions, 8 check-ins and 8 check-outs.
    assert_eq!(phone.pushed.len(), 5 + 18 + 16, "{:?}", phone.pushed);
    assert!(phone.pushed.contains(&global("CheckIn", visits[3])));
    phone.matches_server(&app, &rep1).await;
    // And the evening pull finds nothing to correct in it.
    let answered = phone.records.clone();
    phone.pull(&app, &rep1).await;
    for id in &phone.pushed {
        assert_eq!(phone.records.get(id), answered.get(id), "the feed and the push's answer for {id}");
    }
    let contact = &phone.records[&global("Contact", new_contact)];
    assert_eq!((contact["name"].clone(), contact["title"].clone()), (json!("赵经理"), json!("采购总监")));
    assert_eq!(phone.records[t2["id"].as_str().unwrap()]["status"], "DONE");
    assert_eq!(phone.records[t1["id"].as_str().unwrap()]["completionNotes"], "已回访");
}

#[tokio::test]
async fn a_push_checks_its_keys_and_dependencies_and_the_callers_scope() {
    let app = spawn_demo().await;
    let (rep1, rep3) = (app.login("rep1@demo.local").await, app.login("rep3@demo.local").await);
    let (a, _) = two_customers(&app, &rep1).await;
    let interaction =
        |content: &str| json!({"createInteraction": {"customerId": a, "channel": "CALL", "content": content}});
    let create_contact =
        "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id version } userErrors { code } } }";
    let theirs =
        ok(&app, &rep1, create_contact, json!({"customerId": a, "name": "周工"}), ("createContact", "contact")).await;
    let theirs_contact = theirs["id"].clone();

    // Keys: empty, repeated, and a mutation key that is not the operation's.
    let mut inner = interaction("规则：内键");
    inner["createInteraction"]["idempotencyKey"] = json!("other");
    let operations = [
        op("", &[], interaction("规则：空键")),
        op("k1", &[], interaction("规则：一")),
        op("k1", &[], interaction("规则：重键")),
        op("k2", &["k3"], interaction("规则：后依赖")),
        op("k3", &[], inner),
        op("k4", &["k1", "k1"], interaction("规则：依赖一")),
    ];
    let payload = Phone::default().push(&app, &rep1, &operations).await;
    let codes: Vec<(String, String, String)> = payload["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["userErrors"][0]["field"].as_str().unwrap_or("").to_owned(),
                r["userErrors"][0]["code"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("FAILED", "key", "INVALID"),
        ("APPLIED", "", ""),
        ("FAILED", "key", "DUPLICATE"),
        ("FAILED", "dependsOn", "INVALID"),
        ("FAILED", "idempotencyKey", "INVALID"),
        ("APPLIED", "", ""),
    ];
    let expected: Vec<(String, String, String)> =
        expected.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
    assert_eq!(codes, expected, "{payload}");

    // The records a push answers are read once for the whole push: the nested contacts of
    // 2 or 12 interactions cost the same statements (measured on replays, which the
    // second and third of `fewest_statements`' runs are).
    let mut nested = Vec::new();
    for n in [2, 12] {
        let operations: Vec<Value> = (0..n)
            .map(|i| {
                let mut named = interaction(&format!("规则：计数{n}-{i}"));
                named["createInteraction"]["contactIds"] = json!([theirs_contact.clone()]);
                op(&format!("count-{n}-{i}"), &[], named)
            })
            .collect();
        let mut costs = Vec::new();
        for selection in ["node { id }", "node { id ... on Interaction { contacts { id name customer { name } } } }"] {
            let query = format!(
                "mutation($i: SyncPushInput!) {{ syncPush(input: $i) {{ appliedCount results {{ {selection} }} }} }}"
            );
            let body = json!({"query": query, "variables": {"i": {"operations": operations}}});
            let (statements, answer) = app.fewest_statements(Some(&rep1), &body).await;
            assert_eq!(answer["data"]["syncPush"]["appliedCount"], n, "{answer}");
            costs.push(statements);
        }
        nested.push(costs[1] - costs[0]);
    }
    assert_eq!(nested[0], nested[1], "the nested reads of 2 and of 12 operations: {nested:?}");
    assert!(nested[0] > 0, "the nested fields are read: {nested:?}");

    // Too long a queue is refused whole.
    let long: Vec<Value> = (0..201).map(|i| op(&format!("l{i}"), &[], interaction("规则：过长"))).collect();
    let body = app.gql(Some(&rep1), &push_query(), json!({"i": {"operations": long}})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    // Two operations in one: the oneOf input refuses it.
    let mut both = interaction("规则：二合一");
    both["checkIn"] = json!({"customerId": a, "location": at(), "deviceTime": chrono::Utc::now().to_rfc3339()});
    let body = app.gql(Some(&rep1), &push_query(), json!({"i": {"operations": [op("two", &[], both)]}})).await;
    assert!(body["errors"].is_array() && body["data"].is_null(), "{body}");
    let body =
        app.gql(None, &push_query(), json!({"i": {"operations": [op("anon", &[], interaction("规则：匿名"))]}})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");

    // Outside the caller's scope a record does not exist: no conflict, no values.
    let operations = [
        op(
            "s1",
            &[],
            json!({"updateContact": {"id": theirs["id"], "expectedVersion": theirs["version"], "title": "越权"}}),
        ),
        op(
            "s2",
            &[],
            json!({"completeEvent": {"id": todo(&app, &rep1, "别人的待办").await["id"], "expectedVersion": 1}}),
        ),
        op("s3", &[], json!({"createInteraction": {"customerId": a, "channel": "CALL", "content": "越权记录"}})),
        op("s4", &["s3"], json!({"createInteraction": {"customerId": a, "channel": "CALL", "content": "越权记录二"}})),
    ];
    let payload = Phone::default().push(&app, &rep3, &operations).await;
    for r in payload["results"].as_array().unwrap() {
        assert!(r["node"].is_null(), "nothing of rep1's reaches rep3: {payload}");
    }
    let firsts: Vec<String> = payload["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userErrors"][0]["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(firsts, ["NOT_FOUND", "NOT_FOUND", "NOT_FOUND", "DEPENDENCY_FAILED"], "{payload}");
    assert_eq!(payload["failedCount"], 3);
    let check = app
        .gql(
            Some(&rep1),
            "query($id: ID!) { node(id: $id) { ... on Contact { title version } } }",
            json!({"id": theirs["id"]}),
        )
        .await;
    assert_eq!(
        check["data"]["node"],
        json!({"title": null, "version": theirs["version"]}),
        "rep3's push changed nothing"
    );

    // Another tenant's push cannot reach this tenant's records either.
    let other = app.second_tenant("other-sync").await;
    let payload = Phone::default()
        .push(
            &app,
            &other,
            &[op("t1", &[], json!({"updateContact": {"id": theirs["id"], "expectedVersion": 1, "title": "跨租户"}}))],
        )
        .await;
    assert_eq!(result(&payload, "t1")["userErrors"][0]["code"], "NOT_FOUND", "{payload}");
    assert!(result(&payload, "t1")["node"].is_null());
}

#[tokio::test]
async fn complete_event_is_idempotent_and_refuses_a_cancelled_event() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let complete = "mutation($i: CompleteEventInput!) { completeEvent(input: $i) { event { id status completionNotes version } userErrors { field code } } }";
    let task = todo(&app, &rep1, "寄送样品").await;
    let input = json!({"id": task["id"], "expectedVersion": task["version"], "completionNotes": "顺丰已寄", "idempotencyKey": "done-1"});
    let done = ok(&app, &rep1, complete, input.clone(), ("completeEvent", "event")).await;
    assert_eq!((done["status"].clone(), done["completionNotes"].clone()), (json!("DONE"), json!("顺丰已寄")));
    assert_eq!(done["version"], task["version"].as_i64().unwrap() + 1);
    // The answer was lost: the same call is the same event, not a conflict.
    assert_eq!(ok(&app, &rep1, complete, input.clone(), ("completeEvent", "event")).await, done);
    // Without the key, the stale version is a conflict; another input under the key is refused.
    let mut stale = input.clone();
    stale["idempotencyKey"] = json!(null);
    assert_eq!(refused(&app, &rep1, complete, stale, "completeEvent").await.0, ["VERSION_CONFLICT"]);
    let mut reused = input.clone();
    reused["completionNotes"] = json!("改了");
    assert_eq!(refused(&app, &rep1, complete, reused, "completeEvent").await.0, ["IDEMPOTENCY_KEY_REUSED"]);

    // A cancelled event cannot be completed, and stays as it was.
    let cancel = "mutation($i: UpdateEventInput!) { updateEvent(input: $i) { event { version } userErrors { code } } }";
    let other = todo(&app, &rep1, "取消的拜访").await;
    let cancelled = ok(
        &app,
        &rep1,
        cancel,
        json!({"id": other["id"], "expectedVersion": other["version"], "status": "CANCELLED"}),
        ("updateEvent", "event"),
    )
    .await;
    let (codes, errors) = refused(
        &app,
        &rep1,
        complete,
        json!({"id": other["id"], "expectedVersion": cancelled["version"]}),
        "completeEvent",
    )
    .await;
    assert_eq!(codes, ["ILLEGAL_STATE"], "{errors}");
    let read = app
        .gql(
            Some(&rep1),
            "query($id: ID!) { node(id: $id) { ... on Event { status version } } }",
            json!({"id": other["id"]}),
        )
        .await;
    assert_eq!(read["data"]["node"], json!({"status": "CANCELLED", "version": cancelled["version"]}));
    // Someone who may not see the event gets nothing.
    let rep3 = app.login("rep3@demo.local").await;
    let input = json!({"id": task["id"], "expectedVersion": done["version"]});
    assert_eq!(refused(&app, &rep3, complete, input, "completeEvent").await.0, ["NOT_FOUND"]);
}
