//! The benchmark data generator: realistic, skewed, valid and deterministic.
#![cfg(feature = "bench-data")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use guanxi_store::ConnectionTrait;
use guanxi_store::bench_data::{Scale, seed};
use serde_json::{Value, json};

async fn column(app: &TestApp, sql: &str) -> Vec<String> {
    let rows = app
        .db
        .connection()
        .query_all_raw(guanxi_store::dialect::raw_statement(app.db.db_backend(), sql, []))
        .await
        .unwrap();
    rows.iter().map(|r| r.try_get_by_index::<String>(0).unwrap_or_default()).collect()
}

#[tokio::test]
async fn generated_data_is_valid_skewed_searchable_and_repeatable() {
    let app = spawn_with(|_| {}).await;
    let scale = Scale { customers: 300, contacts_per_customer: 3, interactions: 3_000, reps: 10 };
    let hash = guanxi_gateway::auth::hash_password("guanxi-bench".into()).await.unwrap();
    // The loader reports each phase once, in order, with the rows so far.
    let ended = std::sync::Mutex::new(Vec::<(String, u64)>::new());
    let report = |phase: &str, rows: u64, done: bool| {
        if done {
            ended.lock().unwrap().push((phase.to_owned(), rows));
        }
    };
    let loaded = seed(&app.db, "bench-a", (scale, 7), hash.clone(), &report).await.unwrap();
    assert!(loaded.rows >= 300 + 900 + 3_000, "{loaded:?}");
    let ended = ended.into_inner().unwrap();
    let phases: Vec<&str> = ended.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(phases, guanxi_store::bench_data::PHASES);
    assert!(ended.windows(2).all(|w| w[0].1 <= w[1].1) && ended.last().unwrap().1 == loaded.rows, "{ended:?}");
    seed(&app.db, "bench-b", (scale, 7), hash.clone(), &|_, _, _| {}).await.unwrap();
    assert!(seed(&app.db, "bench-a", (scale, 7), hash, &|_, _, _| {}).await.is_err(), "an existing tenant is refused");

    let payload = app.login_payload("bench-a", "admin@bench.local", "guanxi-bench").await;
    let admin = payload["accessToken"].as_str().unwrap().to_owned();
    let body = app.gql(Some(&admin), "{ customers(first: 200) { totalCount nodes { name taxId mainPhone mnemonicCode } } contacts { totalCount } interactions { totalCount } }", json!({})).await;
    assert_eq!(body["data"]["customers"]["totalCount"], 300, "{body}");
    assert_eq!(body["data"]["contacts"]["totalCount"], 900);
    assert_eq!(body["data"]["interactions"]["totalCount"], 3_000);
    for c in body["data"]["customers"]["nodes"].as_array().unwrap() {
        let tax = c["taxId"].as_str().unwrap();
        assert!(guanxi_domain::customers::customer::TaxId::parse("taxId", tax).is_ok(), "{tax}");
        assert!(guanxi_domain::phone::PhoneNumber::parse("phone", c["mainPhone"].as_str().unwrap()).is_ok());
        assert!(!c["mnemonicCode"].as_str().unwrap().is_empty());
    }
    // The same seed makes the same names (ids differ: they are time-ordered UUIDs).
    let tenant_a =
        guanxi_store::platform::tenant::find_by_slug(app.db.connection(), "bench-a").await.unwrap().unwrap().id;
    let tenant_b =
        guanxi_store::platform::tenant::find_by_slug(app.db.connection(), "bench-b").await.unwrap().unwrap().id;
    let names = |t: uuid::Uuid| {
        let app = &app;
        async move {
            let rows = app
                .db
                .connection()
                .query_all_raw(guanxi_store::dialect::raw_statement(
                    app.db.db_backend(),
                    "SELECT name FROM customers WHERE tenant_id = ? ORDER BY customer_number",
                    [t.into()],
                ))
                .await
                .unwrap();
            rows.iter().map(|r| r.try_get::<String>("", "name").unwrap()).collect::<Vec<_>>()
        }
    };
    assert_eq!(names(tenant_a).await, names(tenant_b).await);
    // Skew: one rep owns a tenth or more; one customer carries a third of the interactions.
    let rep0 = app.user_id(&admin, "rep0@bench.local").await;
    let owned = app
        .gql(
            Some(&admin),
            "query($id: ID!) { customers(filter: {ownerId: {eq: $id}}) { totalCount } }",
            json!({"id": rep0}),
        )
        .await;
    assert!(owned["data"]["customers"]["totalCount"].as_i64().unwrap() >= 30, "{owned}");
    let busiest =
        column(&app, "SELECT COUNT(*) || '' FROM interactions GROUP BY customer_id ORDER BY COUNT(*) DESC LIMIT 1")
            .await;
    assert!(busiest[0].parse::<i64>().unwrap() >= 1_000, "the hot customer holds a third: {busiest:?}");
    // Search works on the generated names.
    let first =
        body["data"]["customers"]["nodes"][0]["name"].as_str().unwrap().chars().skip(2).take(2).collect::<String>();
    let found = app
        .gql(Some(&admin), "query($s: String!) { customers(filter: {search: $s}) { totalCount } }", json!({"s": first}))
        .await;
    assert!(found["data"]["customers"]["totalCount"].as_i64().unwrap() >= 1, "{first}: {found}");
    // The loader tallies the work log's counts as it makes the interactions: the root
    // department's log over the three years (in windows of at most 400 days), by month and
    // by week, counts every one.
    let root =
        app.gql(Some(&admin), "{ departmentTree { department { id } } }", json!({})).await["data"]["departmentTree"][0]
            ["department"]["id"]
            .clone();
    let now = chrono::Utc::now() + chrono::Duration::hours(1);
    for granularity in ["MONTH", "WEEK"] {
        let query = format!(
            "query($s: WorkLogSubject!, $from: DateTime!, $to: DateTime!) {{ workLog(subject: $s, from: $from, to: $to, granularity: {granularity}) {{ interactions {{ count }} }} }}"
        );
        let mut counted = 0;
        for back in [3, 2, 1] {
            let (from, to) = (now - chrono::Duration::days(370 * back), now - chrono::Duration::days(370 * (back - 1)));
            let window = json!({"s": {"departmentId": root}, "from": from.to_rfc3339(), "to": to.to_rfc3339()});
            let log = app.gql(Some(&admin), &query, window).await;
            counted += log["data"]["workLog"]
                .as_array()
                .unwrap_or_else(|| panic!("{log}"))
                .iter()
                .map(|p| p["interactions"]["count"].as_i64().unwrap())
                .sum::<i64>();
        }
        assert_eq!(counted, 3_000, "{granularity}");
    }
    // Two deals per five customers, across the stages, each with the history of every
    // stage it entered (as many as its version), and the funnel adds them all up.
    let funnel =
        app.gql(Some(&admin), "{ funnel { openCount wonCount lostCount stages { reached } } }", json!({})).await;
    let f = &funnel["data"]["funnel"];
    let counts = [&f["openCount"], &f["wonCount"], &f["lostCount"]].map(|v| v.as_i64().unwrap());
    assert_eq!(counts.iter().sum::<i64>(), 120, "{funnel}");
    assert!(counts.iter().all(|n| *n > 0), "deals in every state: {funnel}");
    assert_eq!(f["stages"][0]["reached"], 120, "every deal entered the first stage: {funnel}");
    let deals = app
        .gql(
            Some(&admin),
            "{ opportunities(first: 120) { nodes { version status closeReason stageHistory { toStage { kind } } } } }",
            json!({}),
        )
        .await;
    for deal in deals["data"]["opportunities"]["nodes"].as_array().unwrap() {
        let history = deal["stageHistory"].as_array().unwrap();
        assert_eq!(deal["version"].as_u64().unwrap() as usize, history.len(), "{deal}");
        assert_eq!(history.last().unwrap()["toStage"]["kind"], deal["status"], "{deal}");
        assert_eq!(deal["status"] == "LOST", deal["closeReason"].is_string() && deal["status"] != "WON", "{deal}");
    }
    // Every customer with interactions knows its last one; the company-wide pool watches
    // them all, and its rule finds the ones left 90 days alone (none won a deal).
    let stale = column(
        &app,
        "SELECT COUNT(*) || '' FROM customers c WHERE c.last_interaction_at IS NULL \
         AND EXISTS (SELECT 1 FROM interactions i WHERE i.customer_id = c.id)",
    )
    .await;
    assert_eq!(stale, ["0"]);
    let pools =
        app.gql(Some(&admin), "{ pools { name autoReclaim customerCount rules { kind days } } }", json!({})).await;
    assert_eq!(
        pools["data"]["pools"][0],
        json!({"name": "公司公海", "autoReclaim": true, "customerCount": 0, "rules": [{"kind": "NO_FOLLOW_UP", "days": 90}]}),
        "{pools}"
    );
    // The trade: 50 products (one per hundred customers, at least 50), a quote for one
    // customer in five and an order for one in ten, each order's total the sum of its
    // lines; products are found by name and code, and priced by their level policies.
    let trade = app
        .gql(
            Some(&admin),
            "{ products { totalCount nodes { id code name } } quotes { totalCount } salesOrders(first: 30) { totalCount nodes { total { amount } lines { total { amount } } } } }",
            json!({}),
        )
        .await;
    let d = &trade["data"];
    assert_eq!(
        [&d["products"]["totalCount"], &d["quotes"]["totalCount"], &d["salesOrders"]["totalCount"]],
        [50, 60, 30],
        "{trade}"
    );
    for order in d["salesOrders"]["nodes"].as_array().unwrap() {
        let lines: rust_decimal::Decimal = order["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["total"]["amount"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap())
            .sum();
        assert_eq!(lines.to_string(), order["total"]["amount"].as_str().unwrap(), "{order}");
    }
    let product = &d["products"]["nodes"][0];
    let name: String = product["name"].as_str().unwrap().chars().take(3).collect();
    // The name, the code, and a prefix of the code (a range of the code tokens).
    let code = product["code"].as_str().unwrap();
    let code_prefix: String = code.chars().take(code.chars().count() - 1).collect();
    for term in [name.as_str(), code, code_prefix.as_str()] {
        let found = app
            .gql(
                Some(&admin),
                "query($s: String!) { products(filter: {search: $s}) { nodes { id } } }",
                json!({"s": term}),
            )
            .await;
        let ids: Vec<&Value> =
            found["data"]["products"]["nodes"].as_array().unwrap().iter().map(|n| &n["id"]).collect();
        assert!(ids.contains(&&product["id"]), "{term}: {found}");
    }
    // Money: a contract for one customer in eight, each plan adding up to its amount and
    // received plus outstanding equal to it; every pending contract waits on the admin.
    let money = app
        .gql(
            Some(&admin),
            "{ contracts(first: 50) { totalCount nodes { status amount { amount } received { amount } outstanding { amount } installments { amount { amount } received { amount } } \
               invoiced { amount } invoices { status amount { amount } } } } \
             issued: invoices(filter: {status: [ISSUED]}) { totalCount } \
             pending: contracts(filter: {status: [PENDING_APPROVAL]}) { totalCount } myApprovals(first: 50) { nodes { kind } } \
             receivables(groupBy: OWNER) { total { amount } } }",
            json!({}),
        )
        .await;
    let d = &money["data"];
    assert_eq!(d["contracts"]["totalCount"], 38, "{money}");
    let amount = |v: &Value| v["amount"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
    for contract in d["contracts"]["nodes"].as_array().unwrap() {
        let plan = contract["installments"].as_array().unwrap();
        assert_eq!(
            plan.iter().map(|i| amount(&i["amount"])).sum::<rust_decimal::Decimal>(),
            amount(&contract["amount"])
        );
        assert_eq!(
            plan.iter().map(|i| amount(&i["received"])).sum::<rust_decimal::Decimal>(),
            amount(&contract["received"])
        );
        assert_eq!(
            amount(&contract["received"]) + amount(&contract["outstanding"]),
            amount(&contract["amount"]),
            "{contract}"
        );
        // What is invoiced is what its invoices hold, never above the amount.
        let invoices = contract["invoices"].as_array().unwrap();
        assert_eq!(
            invoices.iter().map(|i| amount(&i["amount"])).sum::<rust_decimal::Decimal>(),
            amount(&contract["invoiced"]),
            "{contract}"
        );
        assert!(amount(&contract["invoiced"]) <= amount(&contract["amount"]), "{contract}");
    }
    assert!(d["issued"]["totalCount"].as_i64().unwrap() > 0, "{money}");
    assert_eq!(
        d["myApprovals"]["nodes"].as_array().unwrap().len() as u64,
        d["pending"]["totalCount"].as_u64().unwrap()
    );
    assert!(amount(&d["receivables"]["total"]) > rust_decimal::Decimal::ZERO, "{money}");

    // Service: an order for one customer in two, a tenth open, technicians to dispatch to.
    let service = app
        .gql(
            Some(&admin),
            "{ workOrderStats { count open completed rated avgSatisfaction byTechnician { technician { displayName } count } }                technicians { active categoryIds regions }                workOrders(first: 20, filter: {status: [CLOSED]}) { nodes { charge { amount } items { amount { amount } } partsAmount { amount } coverage { kind partsCovered } } } }",
            json!({}),
        )
        .await;
    let s = &service["data"];
    assert_eq!(s["workOrderStats"]["count"], 150, "{service}");
    let open = s["workOrderStats"]["open"].as_i64().unwrap();
    assert!((5..=40).contains(&open), "{service}");
    assert!(s["workOrderStats"]["rated"].as_i64().unwrap() > 0, "{service}");
    assert_eq!(s["technicians"].as_array().unwrap().len(), 2, "{service}");
    let found = app
        .gql(
            Some(&admin),
            "{ articles(filter: {search: \"压缩机\"}) { totalCount } all: articles { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(found["data"]["all"]["totalCount"], 50, "five articles per rep: {found}");
    let hits = found["data"]["articles"]["totalCount"].as_i64().unwrap();
    assert!(hits > 0 && hits < 50, "the search finds some of them: {found}");
    for order in s["workOrders"]["nodes"].as_array().unwrap() {
        let parts: rust_decimal::Decimal =
            order["items"].as_array().unwrap().iter().map(|i| amount(&i["amount"])).sum();
        assert_eq!(parts, amount(&order["partsAmount"]), "{order}");
        if order["coverage"]["partsCovered"] == true {
            assert_eq!(amount(&order["charge"]), rust_decimal::Decimal::ZERO, "{order}");
        }
    } // The loader's commission plan reads back and pays: the last twelve months, calculated,
    // give statements for the reps whose contracts were approved in them.
    let plans = app.gql(Some(&admin), "{ commissionPlans { nodes { earnedOn members { kind } } } }", json!({})).await;
    assert_eq!(plans["data"]["commissionPlans"]["nodes"][0]["members"].as_array().unwrap().len(), 10, "{plans}");
    let calculate =
        "mutation($p: String!) { calculateCommissions(input: {period: $p}) { statements lines userErrors { code } } }";
    let mut statements = 0;
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let mut month = guanxi_domain::finance::commission::Period::of(today);
    for _ in 0..12 {
        let body = app.gql(Some(&admin), calculate, json!({"p": month.to_string()})).await;
        assert_eq!(body["data"]["calculateCommissions"]["userErrors"], json!([]), "{body}");
        statements += body["data"]["calculateCommissions"]["statements"].as_i64().unwrap();
        month = guanxi_domain::finance::commission::Period::of(month.first_day() - chrono::Duration::days(1));
    }
    assert!(statements > 0, "contracts approved over the year earn commissions");
}
