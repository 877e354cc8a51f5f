//! Requests generated from the schema itself: every query and mutation, first with plain
//! values for its arguments, then with boundary and malformed values for each argument (and
//! each field of an input argument) in turn. Whatever a client sends, the answer is never a
//! 5xx and never `INTERNAL`: a value the types refuse is `BAD_USER_INPUT`, one the business
//! refuses is a `userErrors` entry or a typed top-level error.
//!
//! The schema is read with the standard introspection query, so this also checks that
//! introspection works. Subscriptions (WebSocket) and arguments of type `Upload`
//! (multipart) are left to their own tests. The run is bounded: it must finish within
//! `BUDGET`, and fails if it does not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use serde_json::{Value, json};

const INTROSPECTION: &str = include_str!("fixtures/introspection/graphql-js.graphql");
const BUDGET: Duration = Duration::from_secs(300);
/// Requests in flight at once.
const PARALLEL: usize = 4;

/// The schema's types by name, from introspection, and a real record id of each kind the
/// demo tenant has (so that plain values reach past the id checks into the business rules).
struct Types {
    types: HashMap<String, Value>,
    ids: HashMap<String, String>,
}

impl Types {
    fn get(&self, name: &str) -> &Value {
        self.types.get(name).unwrap_or_else(|| panic!("no type {name}"))
    }

    /// A real id for an argument or input field named `name` of the root field `root`:
    /// `customerId` a customer's, `ownerId` a user's, `id` of `updateContact` a contact's.
    fn id_for(&self, root: &str, name: &str) -> Value {
        let stem = name.trim_end_matches("Ids").trim_end_matches("Id").to_lowercase();
        let people = ["owner", "user", "assignee", "manager", "author", "to", "from", "rep"];
        let kind = if people.iter().any(|p| stem == *p || stem.ends_with(p)) {
            Some("User".to_owned())
        } else if stem == "id" || stem == "ids" || stem.is_empty() {
            // The kind the root field is about: the longest kind name inside it.
            let root = root.to_lowercase();
            self.ids.keys().filter(|k| root.contains(&k.to_lowercase())).max_by_key(|k| k.len()).cloned()
        } else {
            self.ids.keys().find(|k| k.to_lowercase() == stem || k.to_lowercase().ends_with(&stem)).cloned()
        };
        kind.and_then(|k| self.ids.get(&k)).map_or_else(|| json!("测试"), |id| json!(id))
    }
}

/// The innermost named type of a type reference.
fn named(type_ref: &Value) -> &str {
    match type_ref["kind"].as_str() {
        Some("NON_NULL" | "LIST") => named(&type_ref["ofType"]),
        _ => type_ref["name"].as_str().unwrap(),
    }
}

/// A type reference in GraphQL syntax, for a variable declaration: `[ID!]!`.
fn spelled(type_ref: &Value) -> String {
    match type_ref["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", spelled(&type_ref["ofType"])),
        Some("LIST") => format!("[{}]", spelled(&type_ref["ofType"])),
        _ => type_ref["name"].as_str().unwrap().to_owned(),
    }
}

impl Types {
    /// A plain, valid-looking value for the argument or input field `(root, name)`: what a
    /// careful client would send.
    fn plain(&self, (root, name): (&str, &str), type_ref: &Value, depth: usize) -> Value {
        match type_ref["kind"].as_str() {
            Some("NON_NULL") => self.plain((root, name), &type_ref["ofType"], depth),
            Some("LIST") => json!([self.plain((root, name), &type_ref["ofType"], depth)]),
            _ => {
                let type_name = type_ref["name"].as_str().unwrap();
                let ty = self.get(type_name);
                match ty["kind"].as_str() {
                    Some("ENUM") => ty["enumValues"][0]["name"].clone(),
                    Some("INPUT_OBJECT") => self.plain_object(root, ty, depth),
                    _ if type_name == "ID" => self.id_for(root, name),
                    _ => plain_scalar(type_name),
                }
            }
        }
    }

    /// An input object with its required fields filled (optional ones left out).
    fn plain_object(&self, root: &str, ty: &Value, depth: usize) -> Value {
        let mut object = serde_json::Map::new();
        if depth > 4 {
            return Value::Object(object);
        }
        for field in ty["inputFields"].as_array().unwrap() {
            let required = field["type"]["kind"] == "NON_NULL" && field["defaultValue"].is_null();
            if required {
                let name = field["name"].as_str().unwrap();
                object.insert(name.to_owned(), self.plain((root, name), &field["type"], depth + 1));
            }
        }
        Value::Object(object)
    }

    /// Boundary and malformed values for a type reference, each replacing the plain value.
    fn hostile(&self, type_ref: &Value) -> Vec<Value> {
        let mut values = vec![Value::Null];
        match type_ref["kind"].as_str() {
            Some("NON_NULL") => {
                let inner = self.hostile(&type_ref["ofType"]);
                values.extend(inner.into_iter().filter(|v| !v.is_null()));
            }
            Some("LIST") => {
                values.push(json!([]));
                let inner = self.hostile(&type_ref["ofType"]);
                values.extend(inner.into_iter().take(3).map(|v| json!([v])));
                let many: Vec<Value> = (0..300).map(|_| self.plain(("", ""), &type_ref["ofType"], 0)).collect();
                values.push(Value::Array(many));
            }
            _ => {
                let name = type_ref["name"].as_str().unwrap();
                let ty = self.get(name);
                match ty["kind"].as_str() {
                    Some("ENUM") => values.extend([json!("NOT_A_VALUE"), json!(1)]),
                    Some("INPUT_OBJECT") => values.extend([json!({}), json!("not an object")]),
                    _ => values.extend(hostile_scalar(name)),
                }
            }
        }
        values
    }
}

fn plain_scalar(name: &str) -> Value {
    match name {
        "Int" => json!(1),
        "Float" => json!(1.5),
        "Boolean" => json!(true),
        "DateTime" => json!("2026-06-01T08:00:00Z"),
        "NaiveDate" => json!("2026-06-01"),
        "Decimal" => json!("100.00"),
        "JSON" => json!({}),
        // ID and String (and any scalar added later).
        _ => json!("测试"),
    }
}

fn hostile_scalar(name: &str) -> Vec<Value> {
    let long = "长".repeat(5_000);
    match name {
        "Int" => vec![
            json!(0),
            json!(-1),
            json!(i32::MAX),
            json!(i32::MIN),
            json!(i64::from(i32::MAX) + 1),
            json!(i64::MIN),
            json!(1.5),
            json!("1"),
        ],
        "Float" => vec![json!(-1.0), json!(1e308), json!(0.1), json!("NaN")],
        "Boolean" => vec![json!("true"), json!(0)],
        "DateTime" => {
            vec![json!("not a time"), json!("9999-12-31T23:59:59Z"), json!("1900-01-01T00:00:00Z"), json!(0)]
        }
        "NaiveDate" => vec![json!("2026-02-30"), json!("0001-01-01"), json!("9999-12-31"), json!("")],
        "Decimal" => vec![json!("-0.001"), json!("1e30"), json!("99999999999999999999.99"), json!("abc"), json!(1.5)],
        "JSON" => vec![json!([1, 2]), json!("text"), json!({"nested": {"deep": [null]}})],
        "ID" => vec![
            json!(""),
            json!("bogus"),
            // Well-formed global ids that name nothing, or name a kind that is not expected.
            json!("Q3VzdG9tZXI6MDE5M2U3ZTQtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw"),
            json!("VXNlcjpub3QtYS11dWlk"),
            json!(1),
        ],
        _ => vec![json!(""), json!("   "), json!(long), json!("\u{0}"), json!("'; DROP TABLE customers; --"), json!(1)],
    }
}

/// One generated request.
struct Probe {
    label: String,
    body: Value,
}

fn probe(
    operation: &str,
    field: &Value,
    types: &Types,
    values: &serde_json::Map<String, Value>,
    label: String,
) -> Probe {
    let name = field["name"].as_str().unwrap();
    let args = field["args"].as_array().unwrap();
    let declarations: Vec<String> =
        args.iter().map(|a| format!("${}: {}", a["name"].as_str().unwrap(), spelled(&a["type"]))).collect();
    let passed: Vec<String> = args.iter().map(|a| format!("{0}: ${0}", a["name"].as_str().unwrap())).collect();
    let returned = types.get(named(&field["type"]));
    let selection = match returned["kind"].as_str() {
        Some("OBJECT" | "INTERFACE" | "UNION") => " { __typename }",
        _ => "",
    };
    let (declarations, passed) = if args.is_empty() {
        (String::new(), String::new())
    } else {
        (format!("({})", declarations.join(", ")), format!("({})", passed.join(", ")))
    };
    let query = format!("{operation} Probe{declarations} {{ {name}{passed}{selection} }}");
    Probe { label, body: json!({"query": query, "variables": values}) }
}

/// Every probe of one root field: its plain call, then each argument (and each field of an
/// input argument) replaced by each hostile value in turn.
fn probes(operation: &str, field: &Value, types: &Types) -> Vec<Probe> {
    let name = field["name"].as_str().unwrap();
    let args = field["args"].as_array().unwrap();
    let plain: serde_json::Map<String, Value> = args
        .iter()
        .map(|a| {
            let arg = a["name"].as_str().unwrap();
            (arg.to_owned(), types.plain((name, arg), &a["type"], 0))
        })
        .collect();
    let mut out = vec![probe(operation, field, types, &plain, format!("{name} (plain)"))];
    for arg in args {
        let arg_name = arg["name"].as_str().unwrap();
        for value in types.hostile(&arg["type"]) {
            let mut values = plain.clone();
            values.insert(arg_name.to_owned(), value.clone());
            out.push(probe(operation, field, types, &values, format!("{name}({arg_name}: {})", short(&value))));
        }
        // One level into an input object: each of its fields, hostile in turn.
        let ty = types.get(named(&arg["type"]));
        if ty["kind"] != "INPUT_OBJECT" || arg["type"]["kind"] == "LIST" {
            continue;
        }
        for input_field in ty["inputFields"].as_array().unwrap() {
            let field_name = input_field["name"].as_str().unwrap();
            for value in types.hostile(&input_field["type"]) {
                let mut object = plain[arg_name].as_object().cloned().unwrap_or_default();
                object.insert(field_name.to_owned(), value.clone());
                let mut values = plain.clone();
                values.insert(arg_name.to_owned(), Value::Object(object));
                let label = format!("{name}({arg_name}.{field_name}: {})", short(&value));
                out.push(probe(operation, field, types, &values, label));
            }
        }
    }
    out
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 { format!("{}…", text.chars().take(40).collect::<String>()) } else { text }
}

#[tokio::test]
async fn no_generated_request_answers_internal_or_5xx() {
    let started = Instant::now();
    let app = spawn_with(|config| {
        config.limits.requests_per_minute = 0;
        config.limits.failed_logins_per_address = 0;
        config.loader_delay_ms = 1;
    })
    .await;
    guanxi_gateway::seed::seed_demo(&app.db).await.unwrap();
    let token = app.login("admin@demo.local").await;

    let schema = app.gql(Some(&token), INTROSPECTION, json!({})).await;
    assert!(schema.get("errors").is_none(), "{schema}");
    let types = Types {
        types: schema["data"]["__schema"]["types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
            .collect(),
        ids: demo_ids(&app, &token).await,
    };

    let mut all = Vec::new();
    let mut fields = 0;
    for (operation, root) in [("query", "Query"), ("mutation", "Mutation")] {
        for field in types.get(root)["fields"].as_array().unwrap() {
            let takes_upload = field["args"].as_array().unwrap().iter().any(|a| {
                named(&a["type"]) == "Upload"
                    || types.get(named(&a["type"]))["inputFields"]
                        .as_array()
                        .is_some_and(|f| f.iter().any(|f| named(&f["type"]) == "Upload"))
            });
            // `logout` would end the session every later probe runs in.
            if takes_upload || field["name"] == "logout" {
                continue;
            }
            fields += 1;
            all.extend(probes(operation, field, &types));
        }
    }
    assert!(fields > 80, "only {fields} root fields");

    // Mutations run after queries, in order of appearance; a probe that ends the caller's
    // session (a password change, say) is followed by a fresh login.
    let token = std::sync::Arc::new(tokio::sync::RwLock::new(token));
    let total = all.len();
    let results: Vec<(String, u16, Value)> = futures::stream::iter(all)
        .map(|p| {
            let (app, token) = (&app, token.clone());
            async move {
                let mut reply = app.post(Some(&token.read().await.clone()), &p.body).await;
                if reply.body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" {
                    *token.write().await = app.login("admin@demo.local").await;
                    reply = app.post(Some(&token.read().await.clone()), &p.body).await;
                }
                (p.label, reply.status, reply.body)
            }
        })
        .buffer_unordered(PARALLEL)
        .take_while(|_| futures::future::ready(started.elapsed() < BUDGET))
        .collect()
        .await;
    assert_eq!(results.len(), total, "only {} of {total} probes ran within {BUDGET:?}", results.len());

    let failures: Vec<String> = results
        .iter()
        .filter(|(_, status, body)| {
            *status >= 500
                || body["errors"]
                    .as_array()
                    .is_some_and(|errors| errors.iter().any(|e| e["extensions"]["code"] == "INTERNAL"))
        })
        .map(|(label, status, body)| format!("{label}: {status} {}", short_body(body)))
        .collect();
    assert!(failures.is_empty(), "{} of {total} probes failed:\n{}", failures.len(), failures.join("\n"));
    // The probes must reach the resolvers, not only the validator: tally the answers.
    let mut tally: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for (_, _, body) in &results {
        let key = match body["errors"][0]["extensions"]["code"].as_str() {
            Some(code) => format!("{code}/{}", body["errors"][0]["extensions"]["reason"].as_str().unwrap_or("-")),
            None => "answered".to_owned(),
        };
        *tally.entry(key).or_default() += 1;
    }
    eprintln!("{total} probes over {fields} root fields in {:?}: {tally:?}", started.elapsed());
    let answered = tally.get("answered").copied().unwrap_or_default();
    assert!(answered * 4 >= total, "only {answered} of {total} probes reached a resolver's answer: {tally:?}");
}

/// One real id of each kind in the demo tenant, keyed by the kind its global id names.
async fn demo_ids(app: &TestApp, token: &str) -> HashMap<String, String> {
    let query = "{ customers(first: 1) { nodes { id } } contacts(first: 1) { nodes { id } } \
        opportunities(first: 1) { nodes { id } } users(first: 1) { nodes { id } } \
        departments(first: 1) { nodes { id } } roles(first: 1) { nodes { id } } \
        interactions(first: 1) { nodes { id } } pools { id } pipelines { id stages { id } } \
        apiKeys(first: 1) { nodes { id } } }";
    let body = app.gql(Some(token), query, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let mut ids = HashMap::new();
    collect_ids(&body["data"], &mut ids);
    assert!(ids.len() >= 8, "{ids:?}");
    ids
}

fn collect_ids(value: &Value, ids: &mut HashMap<String, String>) {
    use base64::Engine;
    match value {
        Value::Object(map) => {
            if let Some(id) = map.get("id").and_then(Value::as_str) {
                let decoded = base64::engine::general_purpose::STANDARD.decode(id).unwrap_or_default();
                let text = String::from_utf8_lossy(&decoded);
                if let Some((kind, _)) = text.split_once(':') {
                    ids.entry(kind.to_owned()).or_insert_with(|| id.to_owned());
                }
            }
            map.values().for_each(|v| collect_ids(v, ids));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_ids(v, ids)),
        _ => {}
    }
}

fn short_body(body: &Value) -> String {
    let text = body.to_string();
    text.chars().take(300).collect()
}
