//! Customers and contacts over HTTP: validation, scope, duplicates, search, merge,
//! import/export and the 360 view.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use guanxi_store::ConnectionTrait;
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id name customerNumber mnemonicCode taxId version owner { email } customFields } userErrors { field code message } duplicates { reasons customer { id name } } } }";
const UPDATE: &str = "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { customer { id name version customFields owner { email } } userErrors { field code } } }";
const CUSTOMERS: &str =
    "query($f: CustomerFilter) { customers(first: 100, filter: $f) { totalCount nodes { id name } } }";

async fn create(app: &TestApp, token: &str, input: Value) -> Value {
    app.gql(Some(token), CREATE, json!({ "i": input })).await["data"]["createCustomer"].clone()
}

async fn names(app: &TestApp, token: &str, filter: Value) -> (Vec<String>, i64) {
    let body = app.gql(Some(token), CUSTOMERS, json!({ "f": filter })).await;
    let customers = &body["data"]["customers"];
    let mut names: Vec<String> = customers["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    (names, customers["totalCount"].as_i64().unwrap())
}

async fn customer_id(app: &TestApp, token: &str, name: &str) -> (String, i64) {
    let body = app
        .gql(
            Some(token),
            "query($n: String!) { customers(filter: {name: {eq: $n}}) { nodes { id version } } }",
            json!({"n": name}),
        )
        .await;
    let node = &body["data"]["customers"]["nodes"][0];
    (
        node["id"].as_str().unwrap_or_else(|| panic!("no customer {name}: {body}")).to_owned(),
        node["version"].as_i64().unwrap(),
    )
}

async fn row_count(app: &TestApp, table: &str) -> usize {
    let sql = format!("SELECT id FROM {table}");
    app.db
        .connection()
        .query_all_raw(guanxi_store::dialect::raw_statement(app.db.db_backend(), &sql, []))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_new_customer_gets_a_number_a_mnemonic_code_and_an_owner() {
    let app = spawn_demo().await;
    let rep = app.login("rep1@demo.local").await;
    let payload = create(
        &app,
        &rep,
        json!({"name": "北京小米科技有限责任公司", "taxId": "91110108551385082Q", "mainPhone": "010-60606666", "creditLimit": "50000.5"}),
    )
    .await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    let customer = &payload["customer"];
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y%m%d").to_string();
    let number = customer["customerNumber"].as_str().unwrap();
    assert!(number.starts_with(&format!("KH{today}")) && number.len() == 14, "{number}");
    assert_eq!(customer["mnemonicCode"], "bjxmkjyxzrgs");
    assert_eq!(customer["owner"]["email"], "rep1@demo.local");
    let second = create(&app, &rep, json!({"name": "深圳新客户贸易有限公司"})).await;
    let next: i64 = second["customer"]["customerNumber"].as_str().unwrap()[10..].parse().unwrap();
    let first: i64 = number[10..].parse().unwrap();
    assert_eq!(next, first + 1);
    let money = app
        .gql(
            Some(&rep),
            "query($id: ID!) { customer(id: $id) { creditLimit { amount currency } kind type status } }",
            json!({"id": customer["id"]}),
        )
        .await;
    assert_eq!(money["data"]["customer"]["creditLimit"], json!({"amount": "50000.50", "currency": "CNY"}), "{money}");
    assert_eq!(money["data"]["customer"]["kind"], "ORGANIZATION");
}

#[tokio::test]
async fn invalid_customers_are_typed_user_errors_and_write_nothing() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let define = app
        .gql(
            Some(&admin),
            "mutation { a: defineCustomField(input: {entity: CUSTOMER, key: \"employees\", label: \"员工人数\", type: NUMBER}) { userErrors { code } } b: defineCustomField(input: {entity: CUSTOMER, key: \"tier\", label: \"客户分层\", type: SINGLE_SELECT, options: [\"A\", \"B\"]}) { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(define["data"]["a"]["userErrors"], json!([]), "{define}");
    let customers_before = row_count(&app, "customers").await;
    let events_before = row_count(&app, "change_events").await;
    let cases = [
        (json!({"name": "坏代码公司", "taxId": "91110108551385082A"}), "taxId", "INVALID"),
        (json!({"name": "坏电话公司", "mainPhone": "12345"}), "mainPhone", "INVALID"),
        (json!({"taxId": "91110108551385082Q"}), "name", "REQUIRED"),
        (json!({"name": "张三", "kind": "INDIVIDUAL"}), "mainPhone", "REQUIRED"),
        (
            json!({"name": "李四", "kind": "INDIVIDUAL", "mainPhone": "13912345678", "taxId": "91110108551385082Q"}),
            "taxId",
            "INVALID",
        ),
        (json!({"name": "未知字段公司", "customFields": {"nope": 1}}), "customFields.nope", "INVALID"),
        (json!({"name": "类型错误公司", "customFields": {"employees": "很多"}}), "customFields.employees", "INVALID"),
        (json!({"name": "选项错误公司", "customFields": {"tier": "Z"}}), "customFields.tier", "INVALID"),
        (json!({"name": "负额度公司", "creditLimit": "-1"}), "creditLimit", "INVALID"),
        (json!({"name": "邮编错误公司", "postalCode": "12"}), "postalCode", "INVALID"),
    ];
    for (input, field, code) in cases {
        let payload = create(&app, &admin, input.clone()).await;
        let errors = payload["userErrors"].as_array().unwrap_or_else(|| panic!("{payload}"));
        assert!(errors.iter().any(|e| e["field"] == field && e["code"] == code), "{input}: {payload}");
        assert!(payload["customer"].is_null());
    }
    assert_eq!(row_count(&app, "customers").await, customers_before);
    assert_eq!(row_count(&app, "change_events").await, events_before, "no change events for refused input");
    let ok =
        create(&app, &admin, json!({"name": "字段齐全公司", "customFields": {"employees": 120, "tier": "A"}})).await;
    assert_eq!(ok["customer"]["customFields"], json!({"employees": 120, "tier": "A"}), "{ok}");
    let filtered = names(&app, &admin, json!({"customFields": [{"key": "tier", "match": {"eq": "A"}}]})).await;
    assert_eq!(filtered.0, ["字段齐全公司"]);
}

#[tokio::test]
async fn custom_field_text_filters_ignore_ascii_case_like_every_other_text_filter() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let define = app
        .gql(
            Some(&admin),
            "mutation { defineCustomField(input: {entity: CUSTOMER, key: \"brand\", label: \"品牌\", type: TEXT}) { userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(define["data"]["defineCustomField"]["userErrors"], json!([]), "{define}");
    let made = create(&app, &admin, json!({"name": "大小写测试公司", "customFields": {"brand": "GuanXi Pro"}})).await;
    assert_eq!(made["userErrors"], json!([]), "{made}");
    for (matcher, expected) in [
        (json!({"contains": "xi pro"}), true),
        (json!({"startsWith": "GUANXI"}), true),
        (json!({"like": "guan%PRO"}), true),
        (json!({"contains": "xi max"}), false),
        (json!({"eq": "GuanXi Pro"}), true),
    ] {
        let filter = json!({"customFields": [{"key": "brand", "match": matcher.clone()}]});
        let (found, total) = names(&app, &admin, filter).await;
        let want: Vec<String> = if expected { vec!["大小写测试公司".to_owned()] } else { vec![] };
        assert_eq!(found, want, "{matcher}");
        assert_eq!(total, want.len() as i64, "{matcher}");
    }
}

#[tokio::test]
async fn reps_see_their_own_customers_managers_their_team_and_other_tenants_nothing() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep3 = app.login("rep3@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let admin = app.login("admin@demo.local").await;
    let other = app.second_tenant("acme").await;
    assert_eq!(
        names(&app, &rep1, json!(null)).await,
        (vec!["上海明远机械制造有限公司".to_owned(), "苏州恒信电子科技有限公司".to_owned()], 2)
    );
    assert_eq!(names(&app, &rep3, json!(null)).await.0, ["北京京华软件股份有限公司"]);
    let (team, total) = names(&app, &manager, json!(null)).await;
    assert_eq!(total, 5, "rep1's two, rep2's two, the manager's own: {team:?}");
    assert!(!team.contains(&"北京京华软件股份有限公司".to_owned()));
    assert_eq!(names(&app, &admin, json!(null)).await.1, 6);
    assert_eq!(names(&app, &other, json!(null)).await.1, 0);

    let (beijing, _) = customer_id(&app, &admin, "北京京华软件股份有限公司").await;
    for token in [&rep1, &manager, &other] {
        let by_id =
            app.gql(Some(token), "query($id: ID!) { customer(id: $id) { name } }", json!({"id": beijing})).await;
        assert_eq!(error_code(&by_id), "NOT_FOUND");
        let view = app
            .gql(Some(token), "query($id: ID!) { customer360(id: $id) { customer { name } } }", json!({"id": beijing}))
            .await;
        assert_eq!(error_code(&view), "NOT_FOUND");
        let node = app.gql(Some(token), "query($id: ID!) { node(id: $id) { id } }", json!({"id": beijing})).await;
        assert!(node["data"]["node"].is_null());
        let contacts = app
            .gql(
                Some(token),
                "query($id: ID!) { contacts(filter: {customerId: {eq: $id}}) { totalCount } }",
                json!({"id": beijing}),
            )
            .await;
        assert_eq!(contacts["data"]["contacts"]["totalCount"], 0, "{contacts}");
        let chain = app
            .gql(Some(token), "query($id: ID!) { decisionChain(customerId: $id) { role } }", json!({"id": beijing}))
            .await;
        assert_eq!(error_code(&chain), "NOT_FOUND");
        let write =
            app.gql(Some(token), UPDATE, json!({"i": {"id": beijing, "expectedVersion": 1, "name": "改名"}})).await;
        assert_eq!(write["data"]["updateCustomer"]["userErrors"][0]["code"], "NOT_FOUND", "{write}");
    }
    // A rep's own contacts list covers only their customers (3 contacts each).
    let contacts = app.gql(Some(&rep1), "{ contacts(first: 100) { totalCount } }", json!({})).await;
    assert_eq!(contacts["data"]["contacts"]["totalCount"], 6, "{contacts}");
}

#[tokio::test]
async fn the_duplicate_check_warns_or_blocks_and_hides_what_the_caller_may_not_see() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let admin = app.login("admin@demo.local").await;
    // Same name once the legal suffix and brackets are normalised; owned by rep2 (invisible to rep1).
    let warned = create(&app, &rep1, json!({"name": "南京金陵商贸（有限公司）"})).await;
    assert_eq!(warned["userErrors"][0]["code"], "DUPLICATE", "{warned}");
    assert!(warned["customer"].is_null());
    assert_eq!(warned["duplicates"][0]["reasons"], json!(["SAME_NAME"]));
    assert!(warned["duplicates"][0]["customer"].is_null(), "rep1 may not see rep2's customer: {warned}");
    // The admin sees which customer it is.
    let check = app
        .gql(
            Some(&admin),
            "query($i: CustomerDraftInput!) { customerDuplicates(input: $i) { reasons customer { name } } }",
            json!({"i": {"name": "南京 金陵商贸有限责任公司", "mainPhone": "021-58881234"}}),
        )
        .await;
    let matches = check["data"]["customerDuplicates"].as_array().unwrap();
    assert_eq!(matches.len(), 2, "{check}");
    assert!(
        matches.iter().any(|m| m["customer"]["name"] == "南京金陵商贸有限公司" && m["reasons"] == json!(["SAME_NAME"]))
    );
    assert!(
        matches
            .iter()
            .any(|m| m["customer"]["name"] == "上海明远机械制造有限公司" && m["reasons"] == json!(["SAME_PHONE"]))
    );
    // WARN: confirming creates it.
    let confirmed = create(&app, &rep1, json!({"name": "南京金陵商贸（有限公司）", "confirmDuplicates": true})).await;
    assert!(confirmed["customer"]["id"].is_string(), "{confirmed}");
    // BLOCK: confirming does not help.
    let block = app.gql(Some(&admin), "mutation { updateTenantSettings(input: {duplicatePolicy: BLOCK}) { settings { duplicatePolicy } userErrors { code } } }", json!({})).await;
    assert_eq!(block["data"]["updateTenantSettings"]["settings"]["duplicatePolicy"], "BLOCK", "{block}");
    let (_, tax) = (0, "91110108551385082Q");
    create(&app, &admin, json!({"name": "第一家公司", "taxId": tax, "confirmDuplicates": true})).await;
    let blocked = create(&app, &rep1, json!({"name": "完全不同的名字", "taxId": tax, "confirmDuplicates": true})).await;
    assert_eq!(blocked["userErrors"][0]["code"], "DUPLICATE", "{blocked}");
    assert_eq!(blocked["duplicates"][0]["reasons"], json!(["SAME_TAX_ID"]));
}

#[tokio::test]
async fn search_finds_chinese_substrings_mnemonic_prefixes_phones_and_tax_ids_through_an_index() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let every = vec![
        "上海明远机械制造有限公司",
        "北京京华软件股份有限公司",
        "南京金陵商贸有限公司",
        "宁波港通物流有限公司",
        "杭州云帆培训学校有限公司",
        "苏州恒信电子科技有限公司",
    ];
    let cases = [
        ("明远机械", vec!["上海明远机械制造有限公司"]),
        ("恒", vec!["苏州恒信电子科技有限公司"]),
        ("shmy", vec!["上海明远机械制造有限公司"]),
        ("bjjh", vec!["北京京华软件股份有限公司"]),
        ("025-84561234", vec!["南京金陵商贸有限公司"]),
        // A phone's last digits (021-58881234, 010-62881234 and 025-84561234).
        ("81234", vec!["上海明远机械制造有限公司", "北京京华软件股份有限公司"]),
        ("1234", vec!["上海明远机械制造有限公司", "北京京华软件股份有限公司", "南京金陵商贸有限公司"]),
        ("91234", vec![]),
        // One character: the range of tokens starting with it, the name's last one too.
        ("司", every.clone()),
        ("s", vec!["上海明远机械制造有限公司", "苏州恒信电子科技有限公司"]),
        ("股份有限", vec!["北京京华软件股份有限公司"]),
        ("有限公司", every),
        ("机械软件", vec![]),
    ];
    for (term, expect) in cases {
        let (mut found, total) = names(&app, &admin, json!({"search": term})).await;
        found.sort();
        let mut expect: Vec<String> = expect.into_iter().map(str::to_owned).collect();
        expect.sort();
        assert_eq!(found, expect, "{term}");
        assert_eq!(total as usize, expect.len(), "{term}");
    }
    let (beijing, _) = customer_id(&app, &admin, "北京京华软件股份有限公司").await;
    let tax = app.gql(Some(&admin), "query($id: ID!) { customer(id: $id) { taxId } }", json!({"id": beijing})).await;
    let tax = tax["data"]["customer"]["taxId"].as_str().unwrap().to_owned();
    assert_eq!(names(&app, &admin, json!({"search": tax})).await.0, ["北京京华软件股份有限公司"]);
    // Scope still applies to search.
    let rep1 = app.login("rep1@demo.local").await;
    assert_eq!(names(&app, &rep1, json!({"search": "有限公司"})).await.1, 2);

    // The plan reads the token table by its key, not by scanning customers.
    let tenant = guanxi_store::platform::tenant::find_by_slug(app.db.connection(), "demo").await.unwrap().unwrap().id;
    if app.db.backend() == guanxi_store::Backend::Postgres {
        app.db.connection().execute_unprepared("SET enable_seqscan = off").await.unwrap();
    }
    // Pairs, and the ranges of a code prefix, a phone suffix and one character alike.
    for term in ["明远机械", "shmy", "81234", "恒"] {
        let plan = guanxi_store::customers::customer_search::explain_search(app.db.connection(), tenant.into(), term)
            .await
            .unwrap();
        let upper = plan.to_uppercase();
        assert!(upper.contains("INDEX") || upper.contains("PRIMARY KEY"), "{term}: {plan}");
        assert!(upper.contains("CUSTOMER_SEARCH_TOKENS"), "{term}: {plan}");
        // No line reads the token table whole (SQLite's bare `SCAN`, PostgreSQL's `Seq Scan`).
        let whole = |line: &str| {
            line.contains("SEQ SCAN ON CUSTOMER_SEARCH_TOKENS")
                || line.trim_start().starts_with("SCAN CUSTOMER_SEARCH_TOKENS")
        };
        assert!(!upper.lines().any(whole), "{term}: {plan}");
    }
}

#[tokio::test]
async fn search_by_relevance_puts_whole_matches_first_then_prefixes_then_the_rest_most_recent_first() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    // Created oldest first.
    for (name, phone) in [
        ("星澜科技有限公司", "021-66001234"),
        ("星澜科技发展有限公司", "0571-88006666"),
        ("南京星澜科技有限公司", "025-66001234"),
        ("星澜科技服务有限公司", "010-55006666"),
    ] {
        let created = create(&app, &admin, json!({"name": name, "mainPhone": phone})).await;
        assert_eq!(created["userErrors"], json!([]), "{created}");
    }
    const SEARCH: &str = "query($s: String!, $o: [CustomerOrder!], $a: String, $b: String, $f: Int, $l: Int) {
        customers(filter: {search: $s}, orderBy: $o, after: $a, before: $b, first: $f, last: $l) {
            nodes { name } edges { cursor } pageInfo { hasNextPage hasPreviousPage } } }";
    let search = |vars: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let mut vars = vars;
            if vars.get("o").is_none() {
                vars["o"] = json!([{"field": "RELEVANCE"}]);
            }
            let body = app.gql(Some(&admin), SEARCH, vars).await;
            let list = &body["data"]["customers"];
            let names: Vec<String> = list["nodes"]
                .as_array()
                .unwrap_or_else(|| panic!("{body}"))
                .iter()
                .map(|n| n["name"].as_str().unwrap().to_owned())
                .collect();
            let cursors: Vec<String> =
                list["edges"].as_array().unwrap().iter().map(|e| e["cursor"].as_str().unwrap().to_owned()).collect();
            (names, cursors, list["pageInfo"].clone())
        }
    };
    // The whole name (without its legal form), then the start of a name, then the rest;
    // each group most recently updated first.
    let best_first = ["星澜科技有限公司", "星澜科技服务有限公司", "星澜科技发展有限公司", "南京星澜科技有限公司"];
    let (all, cursors, _) = search(json!({"s": "星澜科技"})).await;
    assert_eq!(all, best_first);
    // Paged by the cursor, forwards and backwards, in the same order.
    let (first, _, info) = search(json!({"s": "星澜科技", "f": 2})).await;
    assert_eq!(first, best_first[..2]);
    assert_eq!(info["hasNextPage"].as_bool(), Some(true));
    let (rest, _, info) = search(json!({"s": "星澜科技", "f": 2, "a": cursors[1]})).await;
    assert_eq!(rest, best_first[2..]);
    assert_eq!(info["hasNextPage"].as_bool(), Some(false));
    let (before, _, info) = search(json!({"s": "星澜科技", "l": 2, "b": cursors[3]})).await;
    assert_eq!(before, best_first[1..3]);
    assert_eq!(info["hasPreviousPage"].as_bool(), Some(true));
    // DESC reverses it all.
    let descending = json!([{"field": "RELEVANCE", "direction": "DESC"}]);
    let (worst_first, _, _) = search(json!({"s": "星澜科技", "o": descending})).await;
    assert_eq!(worst_first, best_first.iter().rev().copied().collect::<Vec<_>>());
    // Other orders ignore relevance; without `orderBy`, the most recently updated first.
    let (recent, _, _) = search(json!({"s": "星澜科技", "o": []})).await;
    assert_eq!(recent, ["星澜科技服务有限公司", "南京星澜科技有限公司", "星澜科技发展有限公司", "星澜科技有限公司"]);
    let by_name = json!([{"field": "NAME"}]);
    let (named, _, _) = search(json!({"s": "星澜科技", "o": by_name})).await;
    let mut sorted = best_first.map(str::to_owned).to_vec();
    sorted.sort();
    assert_eq!(named, sorted);
    // A mnemonic prefix starts every code but 南京's; a whole phone number beats its last
    // digits; an update moves a customer up its group.
    let (coded, _, _) = search(json!({"s": "xlkj"})).await;
    assert_eq!(coded, ["星澜科技服务有限公司", "星澜科技发展有限公司", "星澜科技有限公司"]);
    let (dialled, _, _) = search(json!({"s": "025-66001234"})).await;
    assert_eq!(dialled, ["南京星澜科技有限公司"]);
    let (suffix, _, _) = search(json!({"s": "66001234"})).await;
    assert_eq!(suffix, ["南京星澜科技有限公司", "星澜科技有限公司"]);
    let (id, version) = customer_id(&app, &admin, "星澜科技发展有限公司").await;
    let updated =
        app.gql(Some(&admin), UPDATE, json!({"i": {"id": id, "expectedVersion": version, "industry": "软件"}})).await;
    assert_eq!(updated["data"]["updateCustomer"]["userErrors"], json!([]), "{updated}");
    let (coded, _, _) = search(json!({"s": "xlkj"})).await;
    assert_eq!(coded, ["星澜科技发展有限公司", "星澜科技服务有限公司", "星澜科技有限公司"]);
    // Ranking reveals nothing past the scope: rep1 owns none of them.
    let rep1 = app.login("rep1@demo.local").await;
    let hidden = app.gql(Some(&rep1), SEARCH, json!({"s": "星澜科技", "o": [{"field": "RELEVANCE"}]})).await;
    assert_eq!(hidden["data"]["customers"]["nodes"], json!([]), "{hidden}");
}

#[tokio::test]
async fn updates_check_versions_custom_fields_and_transfers_move_contacts() {
    let app = spawn_demo().await;
    let manager = app.login("manager@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let (id, version) = customer_id(&app, &manager, "上海明远机械制造有限公司").await;
    let ok = app.gql(Some(&manager), UPDATE, json!({"i": {"id": id, "expectedVersion": version, "level": "A", "tags": ["重点", "制造"], "mainPhone": null}})).await;
    assert_eq!(ok["data"]["updateCustomer"]["customer"]["version"], version + 1, "{ok}");
    let stale =
        app.gql(Some(&manager), UPDATE, json!({"i": {"id": id, "expectedVersion": version, "level": "B"}})).await;
    assert_eq!(stale["data"]["updateCustomer"]["userErrors"][0]["code"], "VERSION_CONFLICT");
    // A rep may not give the customer away.
    let denied = app.gql(Some(&rep1), UPDATE, json!({"i": {"id": id, "expectedVersion": version + 1, "ownerId": app.user_id(&app.login("admin@demo.local").await, "rep2@demo.local").await}})).await;
    assert_eq!(denied["data"]["updateCustomer"]["userErrors"][0]["code"], "FORBIDDEN", "{denied}");
    // The manager transfers it to rep2: rep1 loses it and its contacts, rep2 gains both.
    let admin = app.login("admin@demo.local").await;
    let rep2_id = app.user_id(&admin, "rep2@demo.local").await;
    let moved = app
        .gql(Some(&manager), UPDATE, json!({"i": {"id": id, "expectedVersion": version + 1, "ownerId": rep2_id}}))
        .await;
    assert_eq!(moved["data"]["updateCustomer"]["customer"]["owner"]["email"], "rep2@demo.local", "{moved}");
    let rep2 = app.login("rep2@demo.local").await;
    let contacts = |token: String| {
        let app = &app;
        let id = id.clone();
        async move {
            app.gql(
                Some(&token),
                "query($id: ID!) { contacts(filter: {customerId: {eq: $id}}) { totalCount } }",
                json!({"id": id}),
            )
            .await["data"]["contacts"]["totalCount"]
                .clone()
        }
    };
    assert_eq!(contacts(rep1.clone()).await, 0);
    assert_eq!(contacts(rep2.clone()).await, 3);
    let history = app
        .gql(
            Some(&manager),
            "query($id: ID!) { history(id: $id) { nodes { operation changes { field } } } }",
            json!({"id": id}),
        )
        .await;
    let fields: Vec<String> = history["data"]["history"]["nodes"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fields, ["ownerId"], "{history}");
}

#[tokio::test]
async fn deleted_customers_wait_in_the_recycle_bin_and_copies_get_new_numbers() {
    let app = spawn_demo().await;
    let manager = app.login("manager@demo.local").await;
    let (id, version) = customer_id(&app, &manager, "宁波港通物流有限公司").await;
    let deleted = app
        .gql(Some(&manager), "mutation($i: CustomerIdInput!) { deleteCustomer(input: $i) { customer { deletedAt version } userErrors { code } } }", json!({"i": {"id": id, "expectedVersion": version}}))
        .await;
    let deleted = &deleted["data"]["deleteCustomer"]["customer"];
    assert!(deleted["deletedAt"].is_string(), "{deleted}");
    assert_eq!(names(&app, &manager, json!({"name": {"eq": "宁波港通物流有限公司"}})).await.1, 0);
    assert_eq!(names(&app, &manager, json!({"deleted": true})).await.0, ["宁波港通物流有限公司"]);
    let restored = app
        .gql(Some(&manager), "mutation($i: CustomerIdInput!) { restoreCustomer(input: $i) { customer { deletedAt } userErrors { code } } }", json!({"i": {"id": id, "expectedVersion": deleted["version"]}}))
        .await;
    assert!(restored["data"]["restoreCustomer"]["customer"]["deletedAt"].is_null(), "{restored}");
    let copy = app
        .gql(Some(&manager), "mutation($i: CopyCustomerInput!) { copyCustomer(input: $i) { customer { name customerNumber taxId industry } userErrors { code } } }", json!({"i": {"id": id}}))
        .await;
    let copy = &copy["data"]["copyCustomer"]["customer"];
    assert_eq!(copy["name"], "宁波港通物流有限公司（副本）", "{copy}");
    assert!(copy["taxId"].is_null());
    assert_eq!(copy["industry"], "物流");
}

const MERGE: &str = "mutation($i: MergeCustomersInput!) { mergeCustomers(input: $i) { customer { id name mainPhone industry version } userErrors { field code message } } }";

#[tokio::test]
async fn merging_moves_every_contact_to_the_survivor_and_only_an_admin_can_undo_it() {
    let app = spawn_demo().await;
    let manager = app.login("manager@demo.local").await;
    let admin = app.login("admin@demo.local").await;
    let (survivor, version) = customer_id(&app, &manager, "南京金陵商贸有限公司").await;
    let (merged, _) = customer_id(&app, &manager, "杭州云帆培训学校有限公司").await;
    let result = app
        .gql(
            Some(&manager),
            MERGE,
            json!({"i": {"survivorId": survivor, "expectedVersion": version, "mergedIds": [merged], "choices": [{"field": "industry", "fromId": merged}]}}),
        )
        .await;
    let kept = &result["data"]["mergeCustomers"]["customer"];
    assert_eq!(kept["industry"], "教育培训", "{result}");
    assert_eq!(kept["name"], "南京金陵商贸有限公司");
    let contacts = app
        .gql(
            Some(&manager),
            "query($id: ID!) { customer360(id: $id) { summary { contactCount } contacts { totalCount } } }",
            json!({"id": survivor}),
        )
        .await;
    assert_eq!(contacts["data"]["customer360"]["summary"]["contactCount"], 6, "{contacts}");
    let tombstone = app
        .gql(Some(&admin), "query($id: ID!) { customer(id: $id) { deletedAt mergedIntoId } }", json!({"id": merged}))
        .await;
    assert_eq!(tombstone["data"]["customer"]["mergedIntoId"], json!(survivor), "{tombstone}");
    let gone = app
        .gql(Some(&manager), "query($id: ID!) { customer360(id: $id) { customer { id } } }", json!({"id": merged}))
        .await;
    assert_eq!(error_code(&gone), "NOT_FOUND");

    let tomb_version = app
        .gql(Some(&admin), "query($id: ID!) { customer(id: $id) { version } }", json!({"id": merged}))
        .await["data"]["customer"]["version"]
        .clone();
    let restore = "mutation($i: CustomerIdInput!) { restoreCustomer(input: $i) { customer { deletedAt mergedIntoId } userErrors { code } } }";
    let refused = app.gql(Some(&manager), restore, json!({"i": {"id": merged, "expectedVersion": tomb_version}})).await;
    assert_eq!(refused["data"]["restoreCustomer"]["userErrors"][0]["code"], "FORBIDDEN", "{refused}");
    let undone = app.gql(Some(&admin), restore, json!({"i": {"id": merged, "expectedVersion": tomb_version}})).await;
    assert!(undone["data"]["restoreCustomer"]["customer"]["mergedIntoId"].is_null(), "{undone}");
    let back = app
        .gql(
            Some(&admin),
            "query($id: ID!) { customer360(id: $id) { summary { contactCount } } }",
            json!({"id": merged}),
        )
        .await;
    assert_eq!(back["data"]["customer360"]["summary"]["contactCount"], 3, "{back}");

    let bad = app
        .gql(
            Some(&manager),
            MERGE,
            json!({"i": {"survivorId": survivor, "expectedVersion": 1, "mergedIds": [survivor]}}),
        )
        .await;
    assert!(!bad["data"]["mergeCustomers"]["userErrors"].as_array().unwrap().is_empty(), "{bad}");
}

const IMPORT: &str = "mutation($i: ImportCustomersInput!) { importCustomers(input: $i) { createdCount failedCount userErrors { message } results { index created customer { name owner { email } } userErrors { field code } } } }";

#[tokio::test]
async fn import_keeps_good_rows_reports_bad_ones_and_atomic_imports_all_or_nothing() {
    let app = spawn_demo().await;
    let manager = app.login("manager@demo.local").await;
    let csv = "客户名称,统一社会信用代码,电话,客户状态,标签,负责人邮箱\n\
               广州华南贸易有限公司,,020-87654321,意向,重点;华南,rep1@demo.local\n\
               坏代码公司,91110108551385082A,,,,\n\
               南京金陵商贸有限公司,,,,,\n\
               ,,,,,\n\
               深圳前海科技有限公司,,13700001111,成交,,\n\
               广州华南贸易股份有限公司,,,,,\n";
    let body = app.gql(Some(&manager), IMPORT, json!({"i": {"csv": csv}})).await;
    let payload = &body["data"]["importCustomers"];
    assert_eq!(payload["createdCount"], 2, "{body}");
    assert_eq!(payload["failedCount"], 4);
    let results = payload["results"].as_array().unwrap();
    assert_eq!(results[0]["customer"]["owner"]["email"], "rep1@demo.local");
    assert_eq!(results[1]["userErrors"][0]["field"], "taxId");
    assert_eq!(results[2]["userErrors"][0]["code"], "DUPLICATE", "an existing customer");
    assert_eq!(results[3]["userErrors"][0]["code"], "REQUIRED");
    assert!(results[4]["created"].as_bool().unwrap());
    assert_eq!(results[5]["userErrors"][0]["code"], "DUPLICATE", "a duplicate of an earlier row");

    let before = row_count(&app, "customers").await;
    // The second row's tax id is malformed. (Text with U+0000 is refused before any row is
    // read: see tests/hardening.rs.)
    let atomic = "客户名称,统一社会信用代码\n原子导入一号有限公司,\n坏行,123\n";
    let body = app.gql(Some(&manager), IMPORT, json!({"i": {"csv": atomic, "atomic": true}})).await;
    assert_eq!(body["data"]["importCustomers"]["createdCount"], 0, "{body}");
    assert_eq!(row_count(&app, "customers").await, before);
    let rep = app.login("rep1@demo.local").await;
    let denied = app.gql(Some(&rep), IMPORT, json!({"i": {"csv": csv}})).await;
    assert_eq!(error_code(&denied), "FORBIDDEN");
}

#[tokio::test]
async fn export_honours_scope_and_masking_and_opens_in_excel() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let body = app.gql(Some(&manager), "{ exportCustomers { csv rowCount fileName } }", json!({})).await;
    let export = &body["data"]["exportCustomers"];
    assert_eq!(export["rowCount"], 5, "{body}");
    let csv = export["csv"].as_str().unwrap();
    assert!(csv.starts_with('\u{feff}'), "UTF-8 byte-order mark for Excel");
    assert!(csv.contains("客户名称") && csv.contains("上海明远机械制造有限公司"));
    assert!(!csv.contains("北京京华软件"), "out of the manager's scope");
    assert!(csv.contains("021-58881234"), "the manager may see phones");

    // A role with export but without phone.unmasked gets masked numbers.
    let role = app
        .gql(Some(&admin), "mutation { createRole(input: {name: \"导出员\", permissions: [\"customer.read\", \"customer.export\", \"org.read\"], scopes: [{module: CUSTOMER, scope: ALL}]}) { role { id } } }", json!({}))
        .await["data"]["createRole"]["role"]["id"]
        .clone();
    let rep3 = app.user_id(&admin, "rep3@demo.local").await;
    app.gql(
        Some(&admin),
        "mutation($i: UpdateUserInput!) { updateUser(input: $i) { userErrors { code } } }",
        json!({"i": {"id": rep3, "expectedVersion": 1, "roleId": role}}),
    )
    .await;
    let exporter = app.login("rep3@demo.local").await;
    let csv = app.gql(Some(&exporter), "{ exportCustomers { csv rowCount } }", json!({})).await;
    let text = csv["data"]["exportCustomers"]["csv"].as_str().unwrap_or_else(|| panic!("{csv}")).to_owned();
    assert_eq!(csv["data"]["exportCustomers"]["rowCount"], 6);
    assert!(text.contains("021-****1234"), "{text}");
    assert!(!text.contains("021-58881234"));
    let rep1 = app.login("rep1@demo.local").await;
    assert_eq!(error_code(&app.gql(Some(&rep1), "{ exportCustomers { rowCount } }", json!({})).await), "FORBIDDEN");
}

#[tokio::test]
async fn contacts_are_checked_and_draw_the_decision_chain() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let (customer, _) = customer_id(&app, &rep1, "上海明远机械制造有限公司").await;
    let create = "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id name age mobile decisionRole manager { name } } userErrors { field code } } }";
    let bad = app
        .gql(
            Some(&rep1),
            create,
            json!({"i": {"customerId": customer, "name": "孙工", "mobile": "999", "email": "nope"}}),
        )
        .await;
    let fields: Vec<&str> = bad["data"]["createContact"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["mobile", "email"], "{bad}");
    let chain = app.gql(Some(&rep1), "query($id: ID!) { decisionChain(customerId: $id) { contact { id name } role reports { contact { name } role reports { contact { name } role } } } }", json!({"id": customer})).await;
    let roots = chain["data"]["decisionChain"].as_array().unwrap_or_else(|| panic!("{chain}"));
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0]["contact"]["name"], "王建国");
    assert_eq!(roots[0]["role"], "DECISION_MAKER");
    assert_eq!(roots[0]["reports"][0]["contact"]["name"], "李晓红");
    assert_eq!(roots[0]["reports"][0]["reports"][0]["role"], "GATEKEEPER");
    let boss = roots[0]["contact"]["id"].clone();
    let added = app
        .gql(Some(&rep1), create, json!({"i": {"customerId": customer, "name": "孙工", "mobile": "+86 139 2222 3333", "birthday": "1990-01-15", "decisionRole": "USER", "managerId": boss}}))
        .await;
    let contact = &added["data"]["createContact"]["contact"];
    assert_eq!(contact["mobile"], "13922223333", "{added}");
    assert_eq!(contact["manager"]["name"], "王建国");
    assert!(contact["age"].as_i64().unwrap() >= 36);
    // Making the boss report to his own report is a cycle.
    let boss_version = app
        .gql(Some(&rep1), "query($id: ID!) { contact(id: $id) { version } }", json!({"id": boss}))
        .await["data"]["contact"]["version"]
        .clone();
    let cycle = app
        .gql(
            Some(&rep1),
            "mutation($i: UpdateContactInput!) { updateContact(input: $i) { userErrors { field code } } }",
            json!({"i": {"id": boss, "expectedVersion": boss_version, "managerId": contact["id"]}}),
        )
        .await;
    assert_eq!(cycle["data"]["updateContact"]["userErrors"][0]["code"], "CYCLE", "{cycle}");
}

#[tokio::test]
async fn the_360_view_costs_the_same_statements_for_1_or_500_contacts() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let small = create(&app, &admin, json!({"name": "一个联系人公司"})).await["customer"]["id"].clone();
    let large = create(&app, &admin, json!({"name": "五百联系人公司"})).await["customer"]["id"].clone();
    let create_contact = "mutation($i: CreateContactInput!) { createContact(input: $i) { userErrors { code } } }";
    app.gql(Some(&admin), create_contact, json!({"i": {"customerId": small, "name": "唯一联系人"}})).await;
    // 500 contacts, written straight through the store to keep the test quick.
    let tenant = guanxi_store::platform::tenant::find_by_slug(app.db.connection(), "demo").await.unwrap().unwrap().id;
    let (_, large_uuid) =
        guanxi_gateway::graphql::relay::parse_global_id(&async_graphql::ID(large.as_str().unwrap().to_owned()))
            .unwrap();
    let admin_id = guanxi_store::platform::user::find_for_login(app.db.connection(), tenant.into(), "admin@demo.local")
        .await
        .unwrap()
        .unwrap()
        .id;
    let tx = app.db.begin_write().await.unwrap();
    let author = guanxi_store::platform::audit::Author::system(tenant.into());
    let scope = guanxi_store::customers::contact::ContactScope::ALL;
    for n in 0..500 {
        let fields = guanxi_domain::customers::contact::ContactFields {
            name: format!("联系人{n:03}"),
            gender: None,
            birthday: None,
            department: None,
            title: None,
            manager_id: None,
            office_phone: None,
            mobile: None,
            email: None,
            home_phone: None,
            fax: None,
            hobbies: None,
            notes: None,
            decision_role: guanxi_domain::customers::contact::DecisionRole::Other,
        };
        guanxi_store::customers::contact::create(
            &tx,
            &author,
            scope,
            large_uuid.into(),
            fields,
            (Some(admin_id.into()), None),
            Default::default(),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let view = |id: &Value| json!({"query": "query($id: ID!) { customer360(id: $id) { customer { name owner { displayName } ownerDepartment { name } parent { name } } summary { contactCount openOpportunityCount wonAmount { amount } } contacts(first: 20) { totalCount nodes { name manager { name } owner { email } } } history(first: 5) { totalCount nodes { operation actor { email } } } } }", "variables": {"id": id}});
    let (one, one_body) = app.fewest_statements(Some(&admin), &view(&small)).await;
    let (many, many_body) = app.fewest_statements(Some(&admin), &view(&large)).await;
    assert_eq!(one_body["data"]["customer360"]["summary"]["contactCount"], 1, "{one_body}");
    assert_eq!(many_body["data"]["customer360"]["contacts"]["totalCount"], 500, "{many_body}");
    assert_eq!(one, many);
    assert!(many <= 12, "{many} statements");

    // A list of customers with owner and contacts: 5 rows cost what 50 rows cost.
    for n in 0..45 {
        create(&app, &admin, json!({"name": format!("批量客户{n:02}有限公司"), "confirmDuplicates": true})).await;
    }
    let list = |n: usize| json!({"query": format!("{{ customers(first: {n}) {{ nodes {{ name owner {{ email }} contacts(first: 3) {{ name }} }} }} }}")});
    let (five, _) = app.fewest_statements(Some(&admin), &list(5)).await;
    let (fifty, body) = app.fewest_statements(Some(&admin), &list(50)).await;
    assert_eq!(body["data"]["customers"]["nodes"].as_array().unwrap().len(), 50);
    assert_eq!(five, fifty);
}

#[tokio::test]
async fn masked_callers_see_masked_phones_in_history_and_cannot_search_digits() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let role = app
        .gql(Some(&admin), "mutation { createRole(input: {name: \"只读员\", permissions: [\"customer.read\", \"contact.read\", \"org.read\"], scopes: [{module: CUSTOMER, scope: ALL}, {module: CONTACT, scope: ALL}]}) { role { id } userErrors { code } } }", json!({}))
        .await["data"]["createRole"]["role"]["id"]
        .clone();
    let rep3 = app.user_id(&admin, "rep3@demo.local").await;
    app.gql(
        Some(&admin),
        "mutation($i: UpdateUserInput!) { updateUser(input: $i) { userErrors { code } } }",
        json!({"i": {"id": rep3, "expectedVersion": 1, "roleId": role}}),
    )
    .await;
    let reader = app.login("rep3@demo.local").await;
    let (id, _) = customer_id(&app, &admin, "上海明远机械制造有限公司").await;
    let history = app
        .gql(
            Some(&reader),
            "query($id: ID!) { history(id: $id) { nodes { changes { field new } } } }",
            json!({"id": id}),
        )
        .await;
    let text = history.to_string();
    assert!(text.contains("021-****1234"), "{text}");
    assert!(!text.contains("021-58881234"), "{text}");
    let partial = app.gql(Some(&reader), "{ contacts(filter: {search: \"1391111\"}) { totalCount } }", json!({})).await;
    assert_eq!(partial["data"]["contacts"]["totalCount"], 0, "{partial}");
    let whole =
        app.gql(Some(&reader), "{ contacts(filter: {search: \"13911110001\"}) { totalCount } }", json!({})).await;
    assert_eq!(whole["data"]["contacts"]["totalCount"], 6, "{whole}");
    // Customers too: a masked caller matches whole numbers, never the last digits.
    assert_eq!(names(&app, &reader, json!({"search": "58881234"})).await.1, 0);
    assert_eq!(names(&app, &admin, json!({"search": "58881234"})).await.1, 1);
    assert_eq!(names(&app, &reader, json!({"search": "021-58881234"})).await.0, ["上海明远机械制造有限公司"]);
    // The history of a customer in the recycle bin stays readable.
    let version = app.gql(Some(&admin), "query($id: ID!) { customer(id: $id) { version } }", json!({"id": id})).await["data"]["customer"]["version"].clone();
    app.gql(
        Some(&admin),
        "mutation($i: CustomerIdInput!) { deleteCustomer(input: $i) { userErrors { code } } }",
        json!({"i": {"id": id, "expectedVersion": version}}),
    )
    .await;
    let binned =
        app.gql(Some(&admin), "query($id: ID!) { history(id: $id) { nodes { operation } } }", json!({"id": id})).await;
    assert_eq!(binned["data"]["history"]["nodes"][0]["operation"], "DELETE", "{binned}");
}

#[tokio::test]
async fn renaming_a_customer_onto_another_runs_the_duplicate_check() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let (id, version) = customer_id(&app, &rep1, "上海明远机械制造有限公司").await;
    let clash = app
        .gql(
            Some(&rep1),
            UPDATE,
            json!({"i": {"id": id, "expectedVersion": version, "name": "南京金陵商贸有限责任公司"}}),
        )
        .await;
    assert_eq!(clash["data"]["updateCustomer"]["userErrors"][0]["code"], "DUPLICATE", "{clash}");
    let confirmed = app
        .gql(Some(&rep1), "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { customer { name } userErrors { code } } }", json!({"i": {"id": id, "expectedVersion": version, "name": "南京金陵商贸有限责任公司", "confirmDuplicates": true}}))
        .await;
    assert_eq!(confirmed["data"]["updateCustomer"]["customer"]["name"], "南京金陵商贸有限责任公司", "{confirmed}");
    // An unrelated edit does not re-run it.
    let (id2, v2) = customer_id(&app, &rep1, "苏州恒信电子科技有限公司").await;
    let fine = app.gql(Some(&rep1), UPDATE, json!({"i": {"id": id2, "expectedVersion": v2, "level": "B"}})).await;
    assert_eq!(fine["data"]["updateCustomer"]["userErrors"], json!([]), "{fine}");
}

#[tokio::test]
async fn counts_stop_at_their_limit_and_say_how_precise_they_are() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let count = |limit: i64| {
        format!("{{ customers(first: 1) {{ count(limit: {limit}) {{ count precision }} totalCount nodes {{ id }} }} }}")
    };
    let counted =
        |body: &Value| (body["count"]["count"].as_i64(), body["count"]["precision"].as_str().map(str::to_owned));
    let all = app.gql(Some(&admin), &count(100), json!({})).await;
    let total = all["data"]["customers"]["totalCount"].as_i64().unwrap();
    assert!(total > 3, "{all}");
    assert_eq!(counted(&all["data"]["customers"]), (Some(total), Some("EXACT".into())));
    let at = app.gql(Some(&admin), &count(total), json!({})).await;
    assert_eq!(counted(&at["data"]["customers"]), (Some(total), Some("EXACT".into())));
    let floor = app.gql(Some(&admin), &count(3), json!({})).await;
    assert_eq!(counted(&floor["data"]["customers"]), (Some(3), Some("AT_LEAST".into())), "{floor}");
    let default = app.gql(Some(&admin), "{ customers { count { count precision } } }", json!({})).await;
    assert_eq!(counted(&default["data"]["customers"]), (Some(total), Some("EXACT".into())), "{default}");
    // The data scope counts as the page does: rep1 owns two.
    let own = app.gql(Some(&rep1), &count(1), json!({})).await;
    assert_eq!(counted(&own["data"]["customers"]), (Some(1), Some("AT_LEAST".into())), "{own}");
    let own = app.gql(Some(&rep1), &count(100), json!({})).await;
    assert_eq!(counted(&own["data"]["customers"]), (Some(2), Some("EXACT".into())), "{own}");
    // Every connection has it: a filtered count of interactions, and the change history.
    let filtered = app
        .gql(
            Some(&admin),
            "{ customers(filter: {search: \"有限公司\", status: [WON]}) { count(limit: 50) { count precision } totalCount } }",
            json!({}),
        )
        .await;
    let filtered = &filtered["data"]["customers"];
    assert_eq!(counted(filtered), (filtered["totalCount"].as_i64(), Some("EXACT".into())), "{filtered}");
    let interactions =
        app.gql(Some(&admin), "{ interactions { count(limit: 0) { count precision } } }", json!({})).await;
    assert_eq!(counted(&interactions["data"]["interactions"]), (Some(0), Some("AT_LEAST".into())), "{interactions}");
    // A limit past 100,000, or below zero, is refused.
    for limit in [100_001, -1] {
        let refused = app.gql(Some(&admin), &count(limit), json!({})).await;
        assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
    }
    // The count is one statement whatever the limit.
    let (one, _) =
        app.fewest_statements(Some(&admin), &json!({"query": "{ customers(first: 1) { nodes { id } } }"})).await;
    let (with_count, _) = app.fewest_statements(Some(&admin), &json!({"query": count(100_000)})).await;
    assert_eq!(with_count, one + 2, "the count and the deprecated totalCount, one statement each");
}
