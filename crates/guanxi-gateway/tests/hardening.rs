//! What clients, fuzzing and attacks found (issue 13): standard introspection, typed
//! refusals of bad argument values, and the login throttle under batches, aliases and
//! concurrent connections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

/// The introspection query each client sends, pinned as text (tests/fixtures/introspection):
/// - `graphql-js.graphql`: graphql-js 16.15.0 `getIntrospectionQuery()`, what Apollo's
///   tooling and most JavaScript clients send;
/// - `graphiql.graphql`: the same with `{ inputValueDeprecation: true, schemaDescription: true }`,
///   GraphiQL's documentation pane;
/// - `graphql-codegen.graphql`: every option on (descriptions, `specifiedByURL`,
///   `isRepeatable`, schema description, input-value deprecation, `isOneOf`), as the code
///   generators ask;
/// - `graphql-core.graphql`: graphql-core 3.2.8 `get_introspection_query(...)` with every
///   option on (Python clients).
const CLIENTS: [(&str, &str); 4] = [
    ("graphql-js", include_str!("fixtures/introspection/graphql-js.graphql")),
    ("graphiql", include_str!("fixtures/introspection/graphiql.graphql")),
    ("graphql-codegen", include_str!("fixtures/introspection/graphql-codegen.graphql")),
    ("graphql-core", include_str!("fixtures/introspection/graphql-core.graphql")),
];

#[tokio::test]
async fn the_standard_introspection_query_of_every_common_client_is_answered() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    for (client, query) in CLIENTS {
        let body = app.gql(Some(&admin), query, json!({})).await;
        assert!(body.get("errors").is_none(), "{client}: {body}");
        let types = body["data"]["__schema"]["types"].as_array().unwrap_or_else(|| panic!("{client}: {body}"));
        let names: Vec<&str> = types.iter().filter_map(|t| t["name"].as_str()).collect();
        for expected in ["Customer", "Opportunity", "Query", "Mutation", "CustomerFilter"] {
            assert!(names.contains(&expected), "{client}: no {expected} among {} types", names.len());
        }
        assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query", "{client}");
    }
}

#[tokio::test]
async fn introspection_keeps_a_depth_budget_of_its_own_and_queries_keep_theirs() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    // Twenty-five levels of `ofType` go past the introspection budget (15).
    let mut type_ref = String::from("name");
    for _ in 0..25 {
        type_ref = format!("kind ofType {{ {type_ref} }}");
    }
    let deep = format!("{{ __schema {{ types {{ fields {{ type {{ {type_ref} }} }} }} }} }}");
    let body = app.gql(Some(&admin), &deep, json!({})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "DEPTH_LIMIT", "{body}");
    // Shallow, but `fields` in `fields` multiplies the answer by the schema at each level.
    let fan_out = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
    let body = app.gql(Some(&admin), fan_out, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["reason"], "DEPTH_LIMIT", "{body}");

    // An application query nested 13 deep is still over the application budget (12), also
    // when it hides its depth in fragments and asks for introspection beside it.
    let query = "fragment P on Department { parent { parent { parent { parent { parent { parent { name } } } } } } } \
                 { __schema { queryType { name } } me { department { parent { parent { parent { parent { ...P } } } } } } }";
    let body = app.gql(Some(&admin), query, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["reason"], "DEPTH_LIMIT", "{body}");

    // A fragment spread many times is measured once: this is shallow and answered.
    let wide = format!(
        "fragment N on User {{ email }} {{ me {{ {} }} }}",
        (0..20).map(|_| "...N").collect::<Vec<_>>().join(" ")
    );
    let body = app.gql(Some(&admin), &wide, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}

fn reason_and_argument(body: &Value) -> (String, String, String) {
    let extensions = &body["errors"][0]["extensions"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (text(&extensions["code"]), text(&extensions["reason"]), text(&extensions["argument"]))
}

#[tokio::test]
async fn argument_values_the_types_refuse_are_bad_user_input_naming_the_argument() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let expected = |argument: &str| ("BAD_USER_INPUT".to_owned(), "INVALID_ARGUMENT".to_owned(), argument.to_owned());

    // A negative count where the resolver takes an unsigned one, as a literal and as a variable.
    let body = app.gql(Some(&admin), "{ customersDueForReclaim(first: -1) { dueAt } }", json!({})).await;
    assert_eq!(reason_and_argument(&body), expected("first"), "{body}");
    let body = app
        .gql(Some(&admin), "query($d: Int) { customersDueForReclaim(withinDays: $d) { dueAt } }", json!({"d": -5}))
        .await;
    assert_eq!(reason_and_argument(&body), expected("withinDays"), "{body}");

    // An `Int` outside 32 bits: the type itself refuses it, before any resolver runs.
    for (query, variables) in [
        ("{ customers(first: 3000000000) { totalCount } }", json!({})),
        ("query($n: Int) { customers(first: $n) { totalCount } }", json!({"n": 3_000_000_000_i64})),
        ("query($n: Int!) { myReminders(first: $n) { remindAt } }", json!({"n": -3_000_000_000_i64})),
    ] {
        let body = app.gql(Some(&admin), query, variables).await;
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{query}: {body}");
    }

    // Text holding the NUL character (which PostgreSQL cannot store), as a literal and as a variable.
    let body = app.gql(Some(&admin), r#"{ customers(filter: {search: "a\u0000b"}) { totalCount } }"#, json!({})).await;
    assert_eq!(reason_and_argument(&body), expected("filter"), "{body}");
    let body = app
        .gql(
            Some(&admin),
            "query($f: CustomerFilter) { customers(filter: $f) { totalCount } }",
            json!({"f": {"search": "a\u{0}b"}}),
        )
        .await;
    assert_eq!(reason_and_argument(&body), expected("f"), "{body}");

    // A negative count on a connection is refused; `myReminders` reads it as its least (1).
    let body = app.gql(Some(&admin), "{ customers(first: -1) { totalCount } }", json!({})).await;
    assert_eq!(error_code_or_none(&body), "BAD_USER_INPUT", "{body}");
    let body = app.gql(Some(&admin), "{ myReminders(first: -1) { remindAt } }", json!({})).await;
    assert!(body.get("errors").is_none() && body["data"]["myReminders"].is_array(), "{body}");
}

fn error_code_or_none(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("none").to_owned()
}

const CREATE_POOL: &str =
    "mutation($i: PoolInput!) { createPool(input: $i) { pool { name } userErrors { field code } } }";

#[tokio::test]
async fn negative_day_counts_in_pool_settings_are_user_errors_on_their_fields_and_write_nothing() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let pools_before = app.gql(Some(&admin), "{ pools { name } }", json!({})).await["data"]["pools"].clone();
    let input = json!({
        "name": "负数公海",
        "warnDays": -3,
        "cooldownDays": -1,
        "dailyClaimCap": -2,
        "rules": [{"kind": "NO_FOLLOW_UP", "days": -30}],
    });
    let body = app.gql(Some(&admin), CREATE_POOL, json!({"i": input})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let payload = &body["data"]["createPool"];
    assert!(payload["pool"].is_null(), "{body}");
    let mut fields: Vec<&str> =
        payload["userErrors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["cooldownDays", "dailyClaimCap", "rules.0.days", "warnDays"], "{body}");
    let pools_after = app.gql(Some(&admin), "{ pools { name } }", json!({})).await["data"]["pools"].clone();
    assert_eq!(pools_before, pools_after);
}

/// The codes of every `login` answer in a response body (single or batched, aliased or not).
fn login_codes(body: &Value) -> Vec<String> {
    let responses = match body {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut codes = Vec::new();
    for response in responses {
        let data = response["data"].as_object().cloned().unwrap_or_default();
        for payload in data.values() {
            if payload["accessToken"].is_string() {
                codes.push("OK".to_owned());
            }
            codes.extend(user_error_codes(payload));
        }
    }
    codes
}

fn checked(codes: &[String]) -> usize {
    codes.iter().filter(|c| *c == "INVALID_CREDENTIALS").count()
}

fn wrong_login(alias: &str, email: &str) -> String {
    format!(
        "{alias}: login(input: {{tenant: \"demo\", email: \"{email}\", password: \"wrong-password\"}}) \
         {{ accessToken userErrors {{ code }} }}"
    )
}

#[tokio::test]
async fn no_mix_of_batches_aliases_and_connections_checks_more_than_five_passwords_before_the_lock() {
    let app = spawn_with(|config| config.limits.failed_logins_per_address = 0).await;
    guanxi_gateway::seed::seed_demo(&app.db).await.unwrap();

    // Aliases: fourteen wrong passwords in one mutation.
    let aliased = format!(
        "mutation {{ {} }}",
        (0..14).map(|i| wrong_login(&format!("a{i}"), "rep1@demo.local")).collect::<Vec<_>>().join(" ")
    );
    let codes = login_codes(&app.post(None, &json!({"query": aliased})).await.body);
    assert_eq!(codes.len(), 14, "{codes:?}");
    assert_eq!(checked(&codes), 5, "{codes:?}");

    // A batch: ten requests in one HTTP body, each with an alias pair.
    let batch: Vec<Value> = (0..10)
        .map(|i| json!({"query": format!("mutation {{ {} {} }}", wrong_login(&format!("x{i}"), "rep2@demo.local"), wrong_login(&format!("y{i}"), "rep2@demo.local"))}))
        .collect();
    let codes = login_codes(&app.post(None, &Value::Array(batch)).await.body);
    assert_eq!(codes.len(), 20, "{codes:?}");
    assert_eq!(checked(&codes), 5, "{codes:?}");

    // Concurrent connections: fourteen at once, each its own client.
    let attempts = (0..14).map(|i| {
        let url = app.url("/graphql");
        let query = format!("mutation {{ {} }}", wrong_login(&format!("c{i}"), "rep3@demo.local"));
        async move {
            let client = reqwest::Client::new();
            let response = client.post(url).json(&json!({"query": query})).send().await.unwrap();
            response.json::<Value>().await.unwrap()
        }
    });
    let bodies = futures::future::join_all(attempts).await;
    let codes: Vec<String> = bodies.iter().flat_map(login_codes).collect();
    assert_eq!(codes.len(), 14, "{codes:?}");
    assert_eq!(checked(&codes), 5, "{codes:?}");

    // All three accounts are locked now, even for the right password.
    for email in ["rep1@demo.local", "rep2@demo.local", "rep3@demo.local"] {
        let payload = app.login_payload("demo", email, PASSWORD).await;
        assert_eq!(user_error_codes(&payload), ["RATE_LIMITED"], "{email}: {payload}");
    }
    // A right password before the lock starts the count again.
    for _ in 0..4 {
        app.login_payload("demo", "manager@demo.local", "wrong-password").await;
    }
    assert!(app.login_payload("demo", "manager@demo.local", PASSWORD).await["accessToken"].is_string());
    for _ in 0..4 {
        let payload = app.login_payload("demo", "manager@demo.local", "wrong-password").await;
        assert_eq!(user_error_codes(&payload), ["INVALID_CREDENTIALS"], "{payload}");
    }
}

#[tokio::test]
async fn one_address_spraying_passwords_across_accounts_is_throttled() {
    let app = spawn_with(|config| config.limits.failed_logins_per_address = 6).await;
    guanxi_gateway::seed::seed_demo(&app.db).await.unwrap();
    // A successful login gives its token back: it does not count.
    for _ in 0..3 {
        assert!(app.login_payload("demo", "admin@demo.local", PASSWORD).await["accessToken"].is_string());
    }
    // Two wrong passwords each on three accounts (none reaches its own lock), plus
    // unknown accounts: the address runs dry after six failures.
    let mut codes = Vec::new();
    for email in ["rep1@demo.local", "rep2@demo.local", "rep3@demo.local", "nobody@demo.local"] {
        for _ in 0..2 {
            codes.extend(user_error_codes(&app.login_payload("demo", email, "wrong-password").await));
        }
    }
    assert_eq!(checked(&codes), 6, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| *c == "RATE_LIMITED").count(), 2, "{codes:?}");
    // Even the right password waits now, from this address.
    let payload = app.login_payload("demo", "service@demo.local", PASSWORD).await;
    assert_eq!(user_error_codes(&payload), ["RATE_LIMITED"], "{payload}");
}

const CREATE_CUSTOMER: &str = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id version } userErrors { field code } duplicates { reasons customer { id } } } }";
const UPDATE_CUSTOMER: &str =
    "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { customer { id } userErrors { field code } } }";
const IMPORT: &str = "mutation($i: ImportCustomersInput!) { importCustomers(input: $i) { createdCount results { userErrors { field code } } } }";

fn field_codes(payload: &Value) -> Vec<(String, String)> {
    payload["userErrors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| (e["field"].as_str().unwrap_or_default().to_owned(), e["code"].as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn tax_taken() -> Vec<(String, String)> {
    vec![("taxId".to_owned(), "DUPLICATE".to_owned())]
}

#[tokio::test]
async fn a_unified_social_credit_code_belongs_to_one_live_customer_whatever_the_policy() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let uscc = |first17: &str| guanxi_domain::customers::customer::TaxId::with_check_character(first17).unwrap();
    let tax = uscc("91330100MA27XK3U5");
    let tax = tax.as_str();
    let create = |input: Value| {
        let (app, admin) = (&app, admin.clone());
        async move { app.gql(Some(&admin), CREATE_CUSTOMER, json!({"i": input})).await["data"]["createCustomer"].clone() }
    };
    // The default policy is WARN; a confirmed create with a taken tax id is still refused,
    // and the answer points to the customer that has it.
    let first = create(json!({"name": "杭州甲方科技有限公司", "taxId": tax})).await;
    let first_id = first["customer"]["id"].as_str().unwrap_or_else(|| panic!("{first}")).to_owned();
    let second = create(json!({"name": "完全不同的名称", "taxId": tax, "confirmDuplicates": true})).await;
    assert!(second["customer"].is_null(), "{second}");
    assert_eq!(field_codes(&second), tax_taken(), "{second}");
    assert_eq!(second["duplicates"][0]["customer"]["id"], first_id.as_str(), "{second}");
    assert!(second["duplicates"][0]["reasons"].as_array().unwrap().contains(&json!("SAME_TAX_ID")), "{second}");

    // Update: giving another customer the code is refused the same way.
    let other = create(json!({"name": "宁波乙方贸易有限公司"})).await;
    let other_id = other["customer"]["id"].as_str().unwrap().to_owned();
    let body = app
        .gql(
            Some(&admin),
            UPDATE_CUSTOMER,
            json!({"i": {"id": other_id, "expectedVersion": 1, "taxId": tax, "confirmDuplicates": true}}),
        )
        .await;
    assert_eq!(field_codes(&body["data"]["updateCustomer"]), tax_taken(), "{body}");

    // Import: the row is refused.
    let csv = format!("客户名称,统一社会信用代码\n温州丙方实业有限公司,{tax}\n");
    let body = app.gql(Some(&admin), IMPORT, json!({"i": {"csv": csv, "confirmDuplicates": true}})).await;
    assert_eq!(body["data"]["importCustomers"]["createdCount"], 0, "{body}");
    assert_eq!(field_codes(&body["data"]["importCustomers"]["results"][0]), tax_taken(), "{body}");

    // A deleted customer frees its code; restoring it after another took the code is refused.
    let deleted = app
        .gql(
            Some(&admin),
            "mutation($i: CustomerIdInput!) { deleteCustomer(input: $i) { customer { version } userErrors { code } } }",
            json!({"i": {"id": first_id, "expectedVersion": 1}}),
        )
        .await;
    let version =
        deleted["data"]["deleteCustomer"]["customer"]["version"].as_i64().unwrap_or_else(|| panic!("{deleted}"));
    let successor = create(json!({"name": "杭州甲方科技（新）有限公司", "taxId": tax})).await;
    assert!(successor["customer"]["id"].is_string(), "{successor}");
    let restored = app
        .gql(
            Some(&admin),
            "mutation($i: CustomerIdInput!) { restoreCustomer(input: $i) { customer { id } userErrors { field code } } }",
            json!({"i": {"id": first_id, "expectedVersion": version}}),
        )
        .await;
    assert_eq!(field_codes(&restored["data"]["restoreCustomer"]), tax_taken(), "{restored}");

    // Racing creates of one new code: exactly one is stored, the rest are told why.
    let fresh = uscc("91320500MA1MXY741");
    let racing = (0..6)
        .map(|i| create(json!({"name": format!("苏州竞速{i}号有限公司"), "taxId": fresh, "confirmDuplicates": true})));
    let results = futures::future::join_all(racing).await;
    let stored = results.iter().filter(|r| r["customer"]["id"].is_string()).count();
    assert_eq!(stored, 1, "{results:?}");
    for r in results.iter().filter(|r| r["customer"].is_null()) {
        assert_eq!(field_codes(r), tax_taken(), "{r}");
    }
}

#[tokio::test]
async fn mnemonic_search_finds_polyphonic_names_by_the_initials_people_type() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let cases = [
        ("重庆长安汽车股份有限公司", "cqcaqcgfyxgs", ["cqca", "zqca"]),
        ("招商银行股份有限公司", "zsyhgfyxgs", ["zsyh", "zsyx"]),
        ("厦门航空有限公司", "xmhkyxgs", ["xmhk", "smhk"]),
    ];
    for (name, shown, _) in &cases {
        let body = app.gql(Some(&admin), CREATE_CUSTOMER, json!({"i": {"name": name}})).await;
        assert!(body["data"]["createCustomer"]["customer"]["id"].is_string(), "{body}");
        let found = app
            .gql(
                Some(&admin),
                "query($n: String!) { customers(filter: {name: {eq: $n}}) { nodes { mnemonicCode } } }",
                json!({"n": name}),
            )
            .await;
        assert_eq!(found["data"]["customers"]["nodes"][0]["mnemonicCode"], *shown, "{found}");
    }
    for (name, _, typed) in &cases {
        for initials in typed {
            let found = app
                .gql(
                    Some(&admin),
                    "query($s: String!) { customers(filter: {search: $s}) { nodes { name } } }",
                    json!({"s": initials}),
                )
                .await;
            let names: Vec<&str> = found["data"]["customers"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|n| n["name"].as_str())
                .collect();
            assert!(names.contains(name), "{initials}: {found}");
        }
    }
}

/// Sends `n` requests as `token`, alternating between the replicas, and counts the 429s.
async fn refused_of(replicas: &[&str], token: &str, n: usize) -> usize {
    let client = reqwest::Client::new();
    let mut refused = 0;
    for i in 0..n {
        let response = client
            .post(format!("{}/graphql", replicas[i % replicas.len()]))
            .bearer_auth(token)
            .json(&json!({"query": "{ me { email } }"}))
            .send()
            .await
            .unwrap();
        refused += usize::from(response.status() == 429);
    }
    refused
}

/// A second gateway replica on the first's database.
async fn second_replica(app: &TestApp) -> String {
    let replica = guanxi_gateway::Application::build(app.config.clone()).await.unwrap();
    let address = format!("http://{}", replica.address().unwrap());
    tokio::spawn(replica.run_until_stopped());
    address
}

#[tokio::test]
async fn two_replicas_share_their_rate_limits_through_redis_and_not_without_it() {
    for shared in [true, false] {
        let app = spawn_with(|config| {
            config.limits.requests_per_minute = 6;
            if shared {
                config.limits.redis_url = Some("redis://127.0.0.1:6379".into());
                config.limits.redis_prefix = format!("guanxi-test-{}", uuid::Uuid::now_v7().simple());
            }
        })
        .await;
        guanxi_gateway::seed::seed_demo(&app.db).await.unwrap();
        let token = app.login("admin@demo.local").await;
        let replicas = [app.address.clone(), second_replica(&app).await];
        let replicas: Vec<&str> = replicas.iter().map(String::as_str).collect();
        // Eight requests, four to each replica, against a limit of six a minute.
        let refused = refused_of(&replicas, &token, 8).await;
        assert_eq!(refused, if shared { 2 } else { 0 }, "shared through Redis: {shared}");
    }
}

#[tokio::test]
async fn contacts_are_found_by_the_initials_of_every_reading_of_their_name() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let customer = app.gql(Some(&admin), CREATE_CUSTOMER, json!({"i": {"name": "重庆长安汽车股份有限公司"}})).await;
    let customer = customer["data"]["createCustomer"]["customer"]["id"].as_str().unwrap().to_owned();
    let create = "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { mnemonicCode } userErrors { code } } }";
    // 单 reads dān, and shàn as a surname; 曾 reads céng, and zēng as a surname.
    for name in ["单田芳", "曾小贤"] {
        let body = app.gql(Some(&admin), create, json!({"i": {"customerId": customer, "name": name}})).await;
        assert!(body["data"]["createContact"]["contact"]["mnemonicCode"].is_string(), "{body}");
    }
    let search = "query($s: String!) { contacts(filter: {search: $s}) { nodes { name } } }";
    for (typed, name) in [("stf", "单田芳"), ("dtf", "单田芳"), ("zxx", "曾小贤"), ("cxx", "曾小贤"), ("STF", "单田芳")]
    {
        let body = app.gql(Some(&admin), search, json!({"s": typed})).await;
        let names: Vec<&str> =
            body["data"]["contacts"]["nodes"].as_array().unwrap().iter().filter_map(|n| n["name"].as_str()).collect();
        assert_eq!(names, [name], "{typed}: {body}");
    }
}

#[tokio::test]
async fn undoing_a_merge_leaves_the_tax_id_with_the_survivor_that_took_it() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let tax = guanxi_domain::customers::customer::TaxId::with_check_character("91440300MA5F0XY71").unwrap();
    let create = |input: Value| {
        let (app, admin) = (&app, admin.clone());
        async move { app.gql(Some(&admin), CREATE_CUSTOMER, json!({"i": input})).await["data"]["createCustomer"].clone() }
    };
    let gone = create(json!({"name": "深圳前海合并测试甲有限公司", "taxId": tax})).await;
    let gone = gone["customer"]["id"].as_str().unwrap_or_else(|| panic!("{gone}")).to_owned();
    let survivor = create(json!({"name": "深圳前海合并测试乙有限公司"})).await;
    let survivor = survivor["customer"]["id"].as_str().unwrap().to_owned();
    let merged = app
        .gql(
            Some(&admin),
            "mutation($i: MergeCustomersInput!) { mergeCustomers(input: $i) { customer { taxId } userErrors { code } } }",
            json!({"i": {"survivorId": survivor, "expectedVersion": 1, "mergedIds": [gone]}}),
        )
        .await;
    assert_eq!(
        merged["data"]["mergeCustomers"]["customer"]["taxId"],
        tax.as_str(),
        "the survivor took the code: {merged}"
    );
    let bin = app
        .gql(
            Some(&admin),
            "{ customers(filter: {deleted: true, name: {eq: \"深圳前海合并测试甲有限公司\"}}) { nodes { version } } }",
            json!({}),
        )
        .await;
    let version = bin["data"]["customers"]["nodes"][0]["version"].as_i64().unwrap_or_else(|| panic!("{bin}"));
    let restored = app
        .gql(
            Some(&admin),
            "mutation($i: CustomerIdInput!) { restoreCustomer(input: $i) { customer { taxId } userErrors { field code } } }",
            json!({"i": {"id": gone, "expectedVersion": version}}),
        )
        .await;
    let payload = &restored["data"]["restoreCustomer"];
    assert_eq!(payload["userErrors"], json!([]), "{restored}");
    assert!(payload["customer"]["taxId"].is_null(), "{restored}");
    let history = app
        .gql(
            Some(&admin),
            "query($id: ID!) { history(id: $id, first: 1) { nodes { operation changes { field old new } } } }",
            json!({"id": gone}),
        )
        .await;
    let changes = history["data"]["history"]["nodes"][0]["changes"].as_array().cloned().unwrap_or_default();
    assert!(changes.iter().any(|c| c["field"] == "taxId" && c["old"] == tax.as_str()), "{history}");
}

#[tokio::test]
async fn the_new_migrations_rewrite_old_rows_and_stop_on_shared_tax_ids() {
    use guanxi_migration::{Migrator, MigratorTrait};
    use guanxi_store::ConnectionTrait;
    let app = spawn_demo().await;
    let conn = app.db.connection();
    let scalar = |sql: &'static str| async move {
        let row = conn.query_one_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql)).await;
        row.unwrap().unwrap().try_get_by_index::<i64>(0).unwrap()
    };
    let run = |sql: String| async move {
        conn.execute_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql)).await.unwrap();
    };
    // Back to before them (and the trade, finance, invoice, service, portal, commission and
    // customer-value, collaborator, assignment-rule, lead, collaboration-request, forecast,
    // campaign, lead-pool, external-key, webhook, bulk-job, search-token, receipts-by-customer and token-range steps after them), with rows as the old code left them: a stale mnemonic code
    // and no `m:` tokens for one customer, and a tax id shared by two live customers.
    Migrator::down(conn, Some(22)).await.unwrap();
    run("UPDATE customers SET mnemonic_code = 'stale' WHERE name = '上海明远机械制造有限公司'".into()).await;
    run("DELETE FROM customer_search_tokens WHERE token LIKE 'm:%'".into()).await;
    run("UPDATE customers SET tax_id = (SELECT tax_id FROM customers WHERE name = '上海明远机械制造有限公司') \
         WHERE name = '北京京华软件股份有限公司'"
        .into())
    .await;
    let refused = Migrator::up(conn, None).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("shared by several live customers") && refused.contains("(2 customers)"), "{refused}");
    run("UPDATE customers SET tax_id = NULL WHERE name = '北京京华软件股份有限公司'".into()).await;
    Migrator::up(conn, None).await.unwrap();
    assert_eq!(scalar("SELECT COUNT(*) FROM customers WHERE mnemonic_code = 'stale'").await, 0);
    assert!(scalar("SELECT COUNT(*) FROM customer_search_tokens WHERE token LIKE 'm:shmy%'").await >= 1);
    assert!(scalar("SELECT COUNT(*) FROM contacts").await > 0);
    assert_eq!(scalar("SELECT COUNT(*) FROM contacts WHERE mnemonic_codes = ''").await, 0);
}
