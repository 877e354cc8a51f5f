//! Work a mobile app does offline: records created with ids the app made (UUIDv7), which
//! keep them when they sync, refer to each other before then, and are never doubled by a
//! retry, over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use serde_json::{Value, json};
use uuid::Uuid;

const CONTACT: &str = "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id name } userErrors { field code message } } }";
const INTERACTION: &str = "mutation($i: CreateInteractionInput!) { createInteraction(input: $i) { interaction { id content contacts { id } } userErrors { field code message } } }";
const CHECK_IN: &str =
    "mutation($i: CheckInInput!) { checkIn(input: $i) { checkIn { id } userErrors { field code message } } }";

fn global(kind: &str, id: Uuid) -> String {
    STANDARD.encode(format!("{kind}:{id}"))
}

/// The global id of the first customer `token` lists.
async fn first_customer(app: &TestApp, token: &str) -> String {
    let body = app.gql(Some(token), "{ customers(first: 1) { nodes { id } } }", json!({})).await;
    body["data"]["customers"]["nodes"][0]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

/// A UUIDv7 stamped `days` ago.
fn stamped_days_ago(days: i64) -> Uuid {
    let at = chrono::Utc::now() - chrono::Duration::days(days);
    Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, at.timestamp() as u64, 0))
}

/// How many of the customer's interactions say `content`.
async fn interactions_with(app: &TestApp, token: &str, (customer, content): (&str, &str)) -> usize {
    let query = "query($c: ID!) { interactions(first: 200, filter: {customerId: {eq: $c}}) { nodes { content } } }";
    let body = app.gql(Some(token), query, json!({"c": customer})).await;
    let nodes = body["data"]["interactions"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}")).clone();
    assert!(nodes.len() < 200, "the demo customer has fewer than a page of interactions");
    nodes.iter().filter(|n| n["content"] == content).count()
}

#[tokio::test]
async fn records_made_offline_keep_the_ids_the_app_gave_them_and_a_retry_is_one_record() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let customer = first_customer(&app, &rep1).await;

    // A contact made offline, and a visit record that names it before either synced.
    let contact_id = Uuid::now_v7();
    let input = json!({"id": contact_id.to_string(), "customerId": customer, "name": "离线联系人"});
    let contact = ok(&app, &rep1, CONTACT, input, ("createContact", "contact")).await;
    assert_eq!(contact["id"], global("Contact", contact_id));
    let interaction_id = Uuid::now_v7();
    let input = json!({
        "id": interaction_id.to_string(), "customerId": customer, "channel": "VISIT",
        "content": "离线拜访记录", "contactIds": [global("Contact", contact_id)], "idempotencyKey": "offline-1",
    });
    let created = ok(&app, &rep1, INTERACTION, input.clone(), ("createInteraction", "interaction")).await;
    assert_eq!(created["id"], global("Interaction", interaction_id));
    assert_eq!(created["contacts"], json!([{"id": global("Contact", contact_id)}]));

    // The answer was lost: the same call again is the same record, once.
    let again = ok(&app, &rep1, INTERACTION, input.clone(), ("createInteraction", "interaction")).await;
    assert_eq!(again["id"], created["id"]);
    assert_eq!(interactions_with(&app, &rep1, (&customer, "离线拜访记录")).await, 1);

    // The id again under another key (or none) is another record's id: refused, nothing written.
    let mut reused = input.clone();
    reused["idempotencyKey"] = json!("offline-2");
    let (codes, errors) = refused(&app, &rep1, INTERACTION, reused, "createInteraction").await;
    assert_eq!(codes, ["DUPLICATE"], "{errors}");
    assert!(errors.contains("\"id\""), "{errors}");
    assert_eq!(interactions_with(&app, &rep1, (&customer, "离线拜访记录")).await, 1);

    // Not a time-ordered id of about now: refused on `id`, with the other faults.
    let v4 = "550e8400-e29b-41d4-a716-446655440000".to_owned();
    for bad in ["离线", v4.as_str(), &stamped_days_ago(91).to_string(), &stamped_days_ago(-2).to_string()] {
        let input = json!({"id": bad, "customerId": customer, "channel": "CALL", "content": "坏编号"});
        let (codes, errors) = refused(&app, &rep1, INTERACTION, input, "createInteraction").await;
        assert_eq!(codes, ["INVALID"], "{bad}: {errors}");
    }
    let input = json!({"id": "离线", "customerId": "bad", "name": "坏联系人"});
    let (codes, _) = refused(&app, &rep1, CONTACT, input, "createContact").await;
    assert_eq!(codes.len(), 2, "both faults at once: {codes:?}");
    assert_eq!(interactions_with(&app, &rep1, (&customer, "坏编号")).await, 0);
    let a_week_old = stamped_days_ago(7);
    let input =
        json!({"id": a_week_old.to_string(), "customerId": customer, "channel": "CALL", "content": "一周前离线"});
    let late = ok(&app, &rep1, INTERACTION, input, ("createInteraction", "interaction")).await;
    assert_eq!(late["id"], global("Interaction", a_week_old), "a week offline is fine");

    // A check-in made offline.
    let check_in_id = Uuid::now_v7();
    let input = json!({
        "id": check_in_id.to_string(), "customerId": customer,
        "location": {"latitude": 31.23, "longitude": 121.47}, "deviceTime": chrono::Utc::now().to_rfc3339(),
    });
    let check_in = ok(&app, &rep1, CHECK_IN, input.clone(), ("checkIn", "checkIn")).await;
    assert_eq!(check_in["id"], global("CheckIn", check_in_id));
    // A taken id refuses the check-in before its visit is recorded: nothing is written.
    let visits = interactions_with(&app, &rep1, (&customer, "现场签到")).await;
    let (codes, _) = refused(&app, &rep1, CHECK_IN, input, "checkIn").await;
    assert_eq!(codes, ["DUPLICATE"]);
    assert_eq!(interactions_with(&app, &rep1, (&customer, "现场签到")).await, visits);

    // Another tenant's app may happen on the same id: it is theirs, and reveals nothing.
    let other = app.second_tenant("other-offline").await;
    let create =
        "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } userErrors { code } } }";
    let theirs = ok(&app, &other, create, json!({"name": "别家客户有限公司"}), ("createCustomer", "customer")).await;
    let input = json!({"id": contact_id.to_string(), "customerId": theirs["id"], "name": "别家联系人"});
    let contact = ok(&app, &other, CONTACT, input, ("createContact", "contact")).await;
    assert_eq!(contact["id"], global("Contact", contact_id));
    let node = "query($id: ID!) { node(id: $id) { ... on Contact { name } } }";
    let mine = app.gql(Some(&rep1), node, json!({"id": global("Contact", contact_id)})).await;
    assert_eq!(mine["data"]["node"], json!({"name": "离线联系人"}));
    let body: Value = app.gql(Some(&other), node, json!({"id": global("Contact", contact_id)})).await;
    assert_eq!(body["data"]["node"], json!({"name": "别家联系人"}));
}

#[tokio::test]
async fn photos_uploaded_after_the_visit_synced_join_it_once() {
    let app = spawn_demo().await;
    let (rep1, rep2) = (app.login("rep1@demo.local").await, app.login("rep2@demo.local").await);
    let customer = first_customer(&app, &rep1).await;
    let input = json!({
        "id": Uuid::now_v7().to_string(), "customerId": customer,
        "location": {"latitude": 31.23, "longitude": 121.47}, "deviceTime": chrono::Utc::now().to_rfc3339(),
    });
    let visit = ok(&app, &rep1, CHECK_IN, input, ("checkIn", "checkIn")).await;
    let add = "mutation($i: AddCheckInPhotosInput!) { addCheckInPhotos(input: $i) { checkIn { id photoIds } userErrors { field code message } } }";
    let photo = |body: Value| body["data"]["uploadAttachment"]["attachment"]["id"].as_str().unwrap().to_owned();
    let (first, second) = (
        photo(upload(&app, &rep1, JPEG, "image/jpeg", true).await.1),
        photo(upload(&app, &rep1, JPEG, "image/jpeg", true).await.1),
    );

    let input = json!({"checkInId": visit["id"], "photoIds": [first, second], "idempotencyKey": "photos-1"});
    let added = ok(&app, &rep1, add, input.clone(), ("addCheckInPhotos", "checkIn")).await;
    assert_eq!(added["photoIds"], json!([first, second]));
    // Sent again after a lost answer: the same photos, once.
    let again = ok(&app, &rep1, add, input, ("addCheckInPhotos", "checkIn")).await;
    assert_eq!(again["photoIds"], json!([first, second]));
    let history = "query($id: ID!) { history(id: $id) { nodes { operation changes { field } } } }";
    let body = app.gql(Some(&app.login("admin@demo.local").await), history, json!({"id": visit["id"]})).await;
    let updates: Vec<&Value> =
        body["data"]["history"]["nodes"].as_array().unwrap().iter().filter(|n| n["operation"] == "UPDATE").collect();
    assert_eq!(updates.len(), 1, "one change event: {body}");
    assert_eq!(updates[0]["changes"], json!([{"field": "photoIds"}]));

    // A photo already attached, someone else's upload, or another rep's check-in: refused,
    // nothing changes.
    let input = json!({"checkInId": visit["id"], "photoIds": [first]});
    assert_eq!(refused(&app, &rep1, add, input, "addCheckInPhotos").await.0, ["NOT_FOUND"]);
    let theirs = photo(upload(&app, &rep2, JPEG, "image/jpeg", true).await.1);
    let input = json!({"checkInId": visit["id"], "photoIds": [theirs]});
    assert_eq!(refused(&app, &rep1, add, input.clone(), "addCheckInPhotos").await.0, ["NOT_FOUND"]);
    let (codes, errors) = refused(&app, &rep2, add, input, "addCheckInPhotos").await;
    assert_eq!(codes, ["NOT_FOUND"], "{errors}");
    assert!(errors.contains("checkInId"), "{errors}");
    let input = json!({"checkInId": visit["id"], "photoIds": []});
    assert_eq!(refused(&app, &rep1, add, input, "addCheckInPhotos").await.0, ["REQUIRED"]);
    let node = "query($id: ID!) { node(id: $id) { ... on CheckIn { photoIds } } }";
    let body = app.gql(Some(&rep1), node, json!({"id": visit["id"]})).await;
    assert_eq!(body["data"]["node"]["photoIds"], json!([first, second]));
}

#[tokio::test]
async fn a_queued_contact_edit_sent_twice_is_applied_once() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let body = app.gql(Some(&rep1), "{ contacts(first: 1) { nodes { id version } } }", json!({})).await;
    let contact = body["data"]["contacts"]["nodes"][0].clone();
    let update = "mutation($i: UpdateContactInput!) { updateContact(input: $i) { contact { id version title } userErrors { field code message } } }";
    let input = json!({"id": contact["id"], "expectedVersion": contact["version"], "title": "采购总监", "idempotencyKey": "edit-1"});
    let first = ok(&app, &rep1, update, input.clone(), ("updateContact", "contact")).await;
    assert_eq!(first["version"], contact["version"].as_i64().unwrap() + 1);
    // The answer was lost; the queue sends the same edit again: the same result, not a conflict.
    let again = ok(&app, &rep1, update, input.clone(), ("updateContact", "contact")).await;
    assert_eq!(again, first);
    // Another edit under the same key is refused; without a key the stale version conflicts.
    let mut other = input.clone();
    other["title"] = json!("总经理");
    assert_eq!(refused(&app, &rep1, update, other, "updateContact").await.0, ["IDEMPOTENCY_KEY_REUSED"]);
    let mut stale = input;
    stale["idempotencyKey"] = Value::Null;
    assert_eq!(refused(&app, &rep1, update, stale, "updateContact").await.0, ["VERSION_CONFLICT"]);
    let node = "query($id: ID!) { node(id: $id) { ... on Contact { title version } } }";
    let now = app.gql(Some(&rep1), node, json!({"id": contact["id"]})).await;
    assert_eq!(now["data"]["node"], json!({"title": "采购总监", "version": first["version"]}));
}
