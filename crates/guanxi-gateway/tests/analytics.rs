//! Analytics over HTTP: every measure's total equals the sum of its drill-down, cells add
//! up to the total, a rep's figures hold their own records only, another tenant sees
//! nothing, labels are Chinese, the statement count does not grow with dimensions or
//! rows, and rankings and the 80/20 list on a fixed set of receipts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Datelike;
use common::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

const MEASURES: &[&str] = &[
    "NEW_CUSTOMERS",
    "INTERACTIONS",
    "VISITS",
    "DEALS_CREATED",
    "DEALS_WON",
    "DEALS_LOST",
    "QUOTES",
    "ORDERS",
    "CONTRACTS_SIGNED",
    "MONEY_RECEIVED",
    "INVOICES",
    "WORK_ORDERS",
    "COMMISSION",
];

const STATS: &str = "query($m: StatsMeasure!, $d: [StatsDimension!]!, $f: DateTime!, $t: DateTime!) { \
    stats(measure: $m, dimensions: $d, from: $f, to: $t) { label hasAmount total { count amount { amount } value } \
    cells { keys { dimension value label } count value } series { key { label } points { value } } } }";

const RECORDS: &str = "query($m: StatsMeasure!, $c: [StatsKeyInput!]!, $f: DateTime!, $t: DateTime!, $a: String) { \
    statsRecords(measure: $m, cell: $c, from: $f, to: $t, first: 2, after: $a) { endCursor hasNextPage \
    records { id kind at amount { amount } customer { name } owner { email } } } }";

fn d(value: &Value) -> Decimal {
    value.as_str().map_or_else(|| Decimal::from(value.as_i64().unwrap_or(0)), |s| s.parse().unwrap())
}

/// The last year, to an hour from now.
fn year() -> (String, String) {
    let now = chrono::Utc::now();
    ((now - chrono::Duration::days(365)).to_rfc3339(), (now + chrono::Duration::hours(1)).to_rfc3339())
}

async fn stats(app: &TestApp, token: &str, measure: &str, dimensions: Value) -> Value {
    let (from, to) = year();
    let body = app.gql(Some(token), STATS, json!({"m": measure, "d": dimensions, "f": from, "t": to})).await;
    assert!(body["errors"].is_null(), "{measure}: {body}");
    body["data"]["stats"].clone()
}

/// Every record of a cell, two a page, and the sum of their amounts.
async fn drill(app: &TestApp, token: &str, measure: &str, cell: Value) -> (Vec<Value>, Decimal) {
    let (from, to) = year();
    let (mut all, mut after) = (Vec::new(), Value::Null);
    loop {
        let vars = json!({"m": measure, "c": cell, "f": from, "t": to, "a": after});
        let body = app.gql(Some(token), RECORDS, vars).await;
        let page = &body["data"]["statsRecords"];
        all.extend(page["records"].as_array().unwrap_or_else(|| panic!("{measure}: {body}")).iter().cloned());
        if page["hasNextPage"] != true {
            break;
        }
        after = page["endCursor"].clone();
    }
    let sum = all.iter().filter(|r| !r["amount"].is_null()).map(|r| d(&r["amount"]["amount"])).sum();
    (all, sum)
}

#[tokio::test]
async fn every_measure_adds_up_to_its_records_through_the_callers_scope() {
    let app = spawn_demo().await;
    let (admin, rep1) = (app.login("admin@demo.local").await, app.login("rep1@demo.local").await);
    for measure in MEASURES {
        let figures = stats(&app, &admin, measure, json!([])).await;
        let (records, sum) = drill(&app, &admin, measure, json!([])).await;
        assert_eq!(figures["total"]["count"].as_i64().unwrap() as usize, records.len(), "{measure}: {figures}");
        if figures["hasAmount"] == true {
            assert_eq!(d(&figures["total"]["amount"]["amount"]), sum, "{measure}");
        }
    }
    // Hand-counted from the demo: 明远's contract (580,000) is the one in force, and its
    // two receipts bring 174,000 and 200,000.
    let signed = stats(&app, &admin, "CONTRACTS_SIGNED", json!([])).await;
    assert_eq!(
        (signed["total"]["count"].as_i64(), d(&signed["total"]["amount"]["amount"])),
        (Some(1), Decimal::from(580_000))
    );
    let received = stats(&app, &admin, "MONEY_RECEIVED", json!(["PAYMENT_METHOD", "PERIOD"])).await;
    assert_eq!(d(&received["total"]["value"]), Decimal::from(374_000));
    let methods: Vec<&str> =
        received["cells"].as_array().unwrap().iter().map(|c| c["keys"][0]["label"].as_str().unwrap()).collect();
    assert!(methods.contains(&"银行转账") && methods.contains(&"承兑汇票"), "Chinese labels: {received}");
    let customers = app.gql(Some(&admin), "{ customers { totalCount } }", json!({})).await;
    let new = stats(&app, &admin, "NEW_CUSTOMERS", json!(["OWNER", "STATUS"])).await;
    assert_eq!(new["total"]["count"], customers["data"]["customers"]["totalCount"]);
    // Cells add up to the total, and each drills down to exactly its records.
    let cells = new["cells"].as_array().unwrap();
    assert_eq!(
        cells.iter().map(|c| c["count"].as_i64().unwrap()).sum::<i64>(),
        new["total"]["count"].as_i64().unwrap()
    );
    for cell in cells {
        let keys: Vec<Value> = cell["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| json!({"dimension": k["dimension"], "value": k["value"]}))
            .collect();
        let (records, _) = drill(&app, &admin, "NEW_CUSTOMERS", json!(keys)).await;
        assert_eq!(records.len() as i64, cell["count"].as_i64().unwrap(), "{cell}");
        let status = &cell["keys"][1];
        assert_ne!(status["label"], status["value"], "statuses read in Chinese: {status}");
    }
    // Two dimensions make a series per value of the first.
    let series = new["series"].as_array().unwrap();
    assert_eq!(series.iter().map(|s| s["points"].as_array().unwrap().len()).sum::<usize>(), cells.len());

    // A rep's figures are their own records only.
    let mine = stats(&app, &rep1, "NEW_CUSTOMERS", json!(["OWNER"])).await;
    let own = app.gql(Some(&rep1), "{ customers { totalCount } }", json!({})).await;
    assert_eq!(mine["total"]["count"], own["data"]["customers"]["totalCount"]);
    assert!(mine["cells"].as_array().unwrap().iter().all(|c| c["keys"][0]["label"] == "王磊"), "{mine}");
    let (records, _) = drill(&app, &rep1, "INTERACTIONS", json!([])).await;
    let visible = app.gql(Some(&rep1), "{ interactions { totalCount } }", json!({})).await;
    assert_eq!(records.len() as i64, visible["data"]["interactions"]["totalCount"].as_i64().unwrap());
    // A caller without the module's permission is refused; another tenant sees nothing.
    let tech = app.login("tech@demo.local").await;
    let (from, to) = year();
    let body = app.gql(Some(&tech), STATS, json!({"m": "CONTRACTS_SIGNED", "d": [], "f": from, "t": to})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let other = app.second_tenant("other").await;
    for measure in MEASURES {
        assert_eq!(stats(&app, &other, measure, json!([])).await["total"]["count"], 0, "{measure}");
    }
    // Bad shapes are refused by name.
    let body = app.gql(Some(&admin), STATS, json!({"m": "QUOTES", "d": ["PAYMENT_METHOD"], "f": from, "t": to})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");

    // One statement for the figures however many dimensions (ids' names through one
    // loader statement), and no more when rows are added.
    let count = |dimensions: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let (from, to) = year();
            let body = json!({"query": STATS, "variables": {"m": "INTERACTIONS", "d": dimensions, "f": from, "t": to}});
            app.fewest_statements(Some(&admin), &body).await.0
        }
    };
    let one = count(json!(["STATUS"])).await;
    assert_eq!(count(json!(["STATUS", "INDUSTRY", "PERIOD"])).await, one);
    let with_owner = count(json!(["OWNER", "PERIOD"])).await;
    let customer = customer(&app, &admin, "南京金陵商贸有限公司").await;
    let create = "mutation($i: CreateInteractionInput!) { createInteraction(input: $i) { interaction { id } userErrors { code } } }";
    for n in 0..5 {
        let input = json!({"customerId": customer, "channel": "CALL", "content": format!("回访 {n}")});
        ok(&app, &admin, create, input, ("createInteraction", "interaction")).await;
    }
    assert_eq!(count(json!(["OWNER", "PERIOD"])).await, with_owner);
}

#[tokio::test]
async fn rankings_and_the_eighty_twenty_list_on_a_fixed_set_of_receipts() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (rep2, manager, finance) = (
        app.login("rep2@demo.local").await,
        app.login("manager@demo.local").await,
        app.login("finance@demo.local").await,
    );
    // Beside 明远's 374,000 (rep1): 金陵 100,000 and 云帆 26,000 (rep2), received today.
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive().to_string();
    let receipt = "mutation($i: CreateReceiptInput!) { createReceipt(input: $i) { receipt { id } userErrors { field code message } } }";
    for (name, amount) in [("南京金陵商贸有限公司", "100000"), ("杭州云帆培训学校有限公司", "26000")]
    {
        let contract = approved_contract(&app, (&rep2, &manager, &finance), name, amount).await;
        let input = json!({"contractId": contract, "receivedOn": today, "method": "BANK_TRANSFER", "amount": amount});
        ok(&app, &rep2, receipt, input, ("createReceipt", "receipt")).await;
    }
    let (from, to) = year();
    let pareto = "query($f: DateTime!, $t: DateTime!, $b: ParetoBy!) { customerPareto(from: $f, to: $t, by: $b) { \
        total { amount } count headCount headShare entries { label amount { amount } share cumulative head } } }";
    let body = app.gql(Some(&admin), pareto, json!({"f": from, "t": to, "b": "CUSTOMER"})).await;
    let p = &body["data"]["customerPareto"];
    assert_eq!(d(&p["total"]["amount"]), Decimal::from(500_000), "{body}");
    let entries: Vec<(String, String, String, bool)> = p["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |v: &Value| d(v).normalize().to_string();
            (e["label"].as_str().unwrap().to_owned(), text(&e["share"]), text(&e["cumulative"]), e["head"] == true)
        })
        .collect();
    let want = [
        ("上海明远机械制造有限公司", "74.8", "74.8", true),
        ("南京金陵商贸有限公司", "20", "94.8", true),
        ("杭州云帆培训学校有限公司", "5.2", "100", false),
    ]
    .map(|(a, b, c, h)| (a.to_owned(), b.to_owned(), c.to_owned(), h));
    assert_eq!(entries, want);
    assert_eq!((p["headCount"].as_i64(), d(&p["headShare"]).normalize().to_string()), (Some(2), "66.67".to_owned()));
    let body = app.gql(Some(&admin), pareto, json!({"f": from, "t": to, "b": "OWNER"})).await;
    let labels: Vec<&str> = body["data"]["customerPareto"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels.len(), 2, "{body}");
    // rep2 sees only their own customers' money.
    let body = app.gql(Some(&rep2), pareto, json!({"f": from, "t": to, "b": "CUSTOMER"})).await;
    assert_eq!(d(&body["data"]["customerPareto"]["total"]["amount"]), Decimal::from(126_000), "{body}");

    // The last 40 days against the 40 before: rep1 200,000 now (174,000 then), rep2 126,000.
    let now = chrono::Utc::now() + chrono::Duration::hours(1);
    let window = json!({"f": (now - chrono::Duration::days(41)).to_rfc3339(), "t": now.to_rfc3339()});
    let ranking = "query($f: DateTime!, $t: DateTime!) { salesRanking(measure: MONEY_RECEIVED, by: OWNER, from: $f, to: $t) { \
        key { label } rank value count previousRank previousValue change } }";
    let body = app.gql(Some(&admin), ranking, window).await;
    let rows: Vec<(String, u64, String, Option<u64>, String)> = body["data"]["salesRanking"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|r| {
            let text = |v: &Value| d(v).normalize().to_string();
            (
                r["key"]["label"].as_str().unwrap().to_owned(),
                r["rank"].as_u64().unwrap(),
                text(&r["value"]),
                r["previousRank"].as_u64(),
                text(&r["change"]),
            )
        })
        .collect();
    let rep2_name = app.gql(Some(&rep2), "{ me { displayName } }", json!({})).await["data"]["me"]["displayName"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        rows,
        [
            ("王磊".to_owned(), 1, "200000".to_owned(), Some(1), "26000".to_owned()),
            (rep2_name, 2, "126000".to_owned(), None, "126000".to_owned())
        ]
    );
}

const BY: &str = "query($m: StatsMeasure!, $d: [StatsDimension!]!, $f: DateTime!, $t: DateTime!, $g: StatsGranularity!) { \
    stats(measure: $m, dimensions: $d, from: $f, to: $t, granularity: $g) { total { count value } \
    cells { keys { dimension value label } count value } } }";

/// A question's cells as sorted `(keys, count, value)` rows.
async fn cells_of(app: &TestApp, token: &str, vars: Value) -> (i64, Vec<(Vec<Value>, i64, Decimal)>) {
    let body = app.gql(Some(token), BY, vars).await;
    let stats = &body["data"]["stats"];
    let mut rows: Vec<(Vec<Value>, i64, Decimal)> = stats["cells"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|c| {
            let keys = c["keys"].as_array().unwrap().iter().map(|k| k["value"].clone()).collect();
            (keys, c["count"].as_i64().unwrap(), d(&c["value"]))
        })
        .collect();
    rows.sort_by_key(|r| format!("{:?}", r.0));
    (stats["total"]["count"].as_i64().unwrap(), rows)
}

/// [`cells_of`] answered from the records: grouped by the customer's status too (which
/// the stored counts cannot), then summed over it.
async fn from_records(app: &TestApp, token: &str, mut vars: Value) -> (i64, Vec<(Vec<Value>, i64, Decimal)>) {
    vars["d"].as_array_mut().unwrap().push(json!("STATUS"));
    let (total, rows) = cells_of(app, token, vars).await;
    let mut summed: std::collections::BTreeMap<String, (Vec<Value>, i64, Decimal)> = std::collections::BTreeMap::new();
    for (mut keys, count, value) in rows {
        keys.pop();
        let entry = summed.entry(format!("{keys:?}")).or_insert((keys, 0, Decimal::ZERO));
        entry.1 += count;
        entry.2 += value;
    }
    (total, summed.into_values().collect())
}

#[tokio::test]
async fn interactions_over_whole_days_read_the_stored_counts_and_quarters_start_each_three_months() {
    let app = spawn_demo().await;
    let (admin, rep1) = (app.login("admin@demo.local").await, app.login("rep1@demo.local").await);
    // Shanghai midnights: the first of the month a year ago, and tomorrow. Over whole days
    // INTERACTIONS reads the work log's stored counts; a millisecond less reads the records.
    // Both must agree cell for cell, for every shape the counts serve, in every scope.
    let shanghai = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let today = chrono::Utc::now().with_timezone(&shanghai).date_naive();
    let midnight = |day: chrono::NaiveDate| day.and_hms_opt(0, 0, 0).unwrap().and_local_timezone(shanghai).unwrap();
    let from = midnight(chrono::NaiveDate::from_ymd_opt(today.year() - 1, today.month(), 1).unwrap());
    let to = midnight(today + chrono::Duration::days(1));
    let nearly = to - chrono::Duration::milliseconds(1);
    // A few more interactions today, so the last day counts too, one by the admin on
    // rep1's customer (its author is not its customer's owner); and 苏州恒信 moves from
    // rep1 to rep2 with its interactions (the counts follow the customer's owner).
    let customer = customer(&app, &rep1, "上海明远机械制造有限公司").await;
    let create = "mutation($i: CreateInteractionInput!) { createInteraction(input: $i) { interaction { id } userErrors { code } } }";
    for (n, token) in [&rep1, &rep1, &admin].into_iter().enumerate() {
        let input = json!({"customerId": customer, "channel": "VISIT", "content": format!("现场 {n}")});
        ok(&app, token, create, input, ("createInteraction", "interaction")).await;
    }
    let rep2 = app.login("rep2@demo.local").await;
    let rep2_id = app.gql(Some(&rep2), "{ me { id } }", json!({})).await["data"]["me"]["id"].clone();
    let hengxin = app
        .gql(
            Some(&admin),
            "{ customers(filter: {name: {eq: \"苏州恒信电子科技有限公司\"}}) { nodes { id version } } }",
            json!({}),
        )
        .await["data"]["customers"]["nodes"][0]
        .clone();
    let update = "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { customer { id } userErrors { field code } } }";
    let input = json!({"id": hengxin["id"], "expectedVersion": hengxin["version"], "ownerId": rep2_id});
    ok(&app, &admin, update, input, ("updateCustomer", "customer")).await;
    let shapes = [
        (json!(["OWNER", "PERIOD"]), "MONTH"),
        (json!(["PERIOD"]), "WEEK"),
        (json!(["PERIOD"]), "DAY"),
        (json!(["DEPARTMENT", "PERIOD"]), "QUARTER"),
        (json!([]), "YEAR"),
    ];
    // From a month's first day, and from its 15th: whole months between part-months.
    let mid = midnight(chrono::NaiveDate::from_ymd_opt(today.year() - 1, today.month(), 15).unwrap());
    for (token, from) in [(&admin, from), (&rep1, from), (&rep2, from), (&admin, mid), (&rep1, mid)] {
        for (dimensions, granularity) in &shapes {
            // Whole days (the counts), and part-days at both ends (the counts for the whole
            // days between, the records for the parts), each against the records alone.
            let late = from + chrono::Duration::hours(5);
            for (from, to) in [(from, to), (late, nearly)] {
                let vars = json!({"m": "INTERACTIONS", "d": dimensions, "f": from.to_rfc3339(), "t": to.to_rfc3339(), "g": granularity});
                let counted = cells_of(&app, token, vars.clone()).await;
                assert_eq!(counted, from_records(&app, token, vars).await, "{dimensions} by {granularity} from {from}");
                assert!(counted.0 > 0, "{dimensions} by {granularity}");
            }
        }
    }
    let (all, _) = cells_of(
        &app,
        &admin,
        json!({"m": "INTERACTIONS", "d": [], "f": from.to_rfc3339(), "t": to.to_rfc3339(), "g": "MONTH"}),
    )
    .await;
    let (own, _) = cells_of(
        &app,
        &rep1,
        json!({"m": "INTERACTIONS", "d": [], "f": from.to_rfc3339(), "t": to.to_rfc3339(), "g": "MONTH"}),
    )
    .await;
    assert!(own < all, "a rep counts the interactions on their own customers only ({own} of {all})");
    // The answer is the stored counts' (the records' when grouped by status): change the
    // counts and only the first moves.
    use guanxi_store::ConnectionTrait;
    let shift = |sign: &'static str| {
        let conn = app.db.connection();
        async move {
            let sql = format!("UPDATE interaction_counts SET n = n {sign} 1000 WHERE grain = 'MONTH'");
            conn.execute_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql)).await.unwrap();
        }
    };
    let year = |to: String| json!({"m": "INTERACTIONS", "d": [], "f": from.to_rfc3339(), "t": to, "g": "YEAR"});
    shift("+").await;
    let (tampered, _) = cells_of(&app, &admin, year(to.to_rfc3339())).await;
    let (recorded, _) = from_records(&app, &admin, year(to.to_rfc3339())).await;
    shift("-").await;
    assert!(tampered >= all + 1000 && recorded == all, "{tampered} / {recorded} / {all}");

    // Quarters: the demo's receipts (174,000 78 days ago, 200,000 15 days ago) in the
    // quarters their days fall in, keyed by the quarter's first day.
    let (_, rows) = cells_of(
        &app,
        &admin,
        json!({"m": "MONEY_RECEIVED", "d": ["PERIOD"], "f": from.to_rfc3339(), "t": to.to_rfc3339(), "g": "QUARTER"}),
    )
    .await;
    let quarter = |days: i64| {
        let day = today - chrono::Duration::days(days);
        format!("{}-{:02}-01", day.year(), (day.month() - 1) / 3 * 3 + 1)
    };
    let mut want: std::collections::BTreeMap<String, Decimal> = std::collections::BTreeMap::new();
    *want.entry(quarter(78)).or_default() += Decimal::from(174_000);
    *want.entry(quarter(15)).or_default() += Decimal::from(200_000);
    let got: std::collections::BTreeMap<String, Decimal> =
        rows.into_iter().map(|(keys, _, value)| (keys[0].as_str().unwrap().to_owned(), value)).collect();
    assert_eq!(got, want);
}

const VALUES: &str = "query($f: CustomerFilter) { customers(first: 50, filter: $f) { nodes { name lifetimeValue { amount } \
    value { segment segmentLabel recencyScore frequencyScore monetaryScore receiptsLastYear \
    receivedLastYear { amount } receivedToDate { amount } lastReceivedOn } } } }";

/// `name -> (segment, [r, f, m])` of the customers a caller lists with a value.
async fn values(app: &TestApp, token: &str, filter: Value) -> Vec<(String, String, [i64; 3])> {
    let body = app.gql(Some(token), VALUES, json!({"f": filter})).await;
    let mut out: Vec<(String, String, [i64; 3])> = body["data"]["customers"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .filter(|c| !c["value"].is_null())
        .map(|c| {
            let v = &c["value"];
            let score = |k: &str| v[k].as_i64().unwrap();
            (
                c["name"].as_str().unwrap().to_owned(),
                v["segment"].as_str().unwrap().to_owned(),
                [score("recencyScore"), score("frequencyScore"), score("monetaryScore")],
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn rfm_scores_quintiles_in_sql_and_customer_lists_filter_on_them() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (rep1, rep2, rep3) =
        (app.login("rep1@demo.local").await, app.login("rep2@demo.local").await, app.login("rep3@demo.local").await);
    let (manager, finance) = (app.login("manager@demo.local").await, app.login("finance@demo.local").await);
    // Beside 明远's two receipts (174,000 78 days ago, 200,000 15 days ago): five paying
    // customers with one figure each that orders them.
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let receipt = "mutation($i: CreateReceiptInput!) { createReceipt(input: $i) { receipt { id } userErrors { field code message } } }";
    // (customer, (its rep, the rep's manager), receipts as (days ago, amount))
    type Payer<'a> = (&'a str, (&'a str, &'a str), &'a [(i64, &'a str)]);
    let set: [Payer; 4] = [
        ("南京金陵商贸有限公司", (&rep2, &manager), &[(300, "100000")]),
        ("杭州云帆培训学校有限公司", (&rep2, &manager), &[(2, "10000"), (5, "20000")]),
        ("北京京华软件股份有限公司", (&rep3, &admin), &[(200, "60000")]),
        ("苏州恒信电子科技有限公司", (&rep1, &manager), &[(100, "5000")]),
    ];
    for (name, (rep, approver), receipts) in set {
        let total: i64 = receipts.iter().map(|(_, a)| a.parse::<i64>().unwrap()).sum();
        let contract = approved_contract(&app, (rep, approver, &finance), name, &total.to_string()).await;
        for (days, amount) in receipts {
            let on = (today - chrono::Duration::days(*days)).to_string();
            let input = json!({"contractId": contract, "receivedOn": on, "method": "BANK_TRANSFER", "amount": amount});
            ok(&app, rep, receipt, input, ("createReceipt", "receipt")).await;
        }
    }
    let refresh = "mutation { refreshCustomerValues { scored userErrors { code } } }";
    let body = app.gql(Some(&rep1), refresh, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "settings.manage refreshes: {body}");
    let body = app.gql(Some(&admin), refresh, json!({})).await;
    assert_eq!(body["data"]["refreshCustomerValues"]["scored"], 5, "{body}");

    // Five customers, one quintile each by recency and money; frequency ties share a score
    // (three customers with one receipt take the middle of their positions: 2; two with
    // two receipts: 5).
    let s = |n: &str, seg: &str, r: [i64; 3]| (n.to_owned(), seg.to_owned(), r);
    assert_eq!(
        values(&app, &admin, json!(null)).await,
        [
            s("上海明远机械制造有限公司", "IMPORTANT_VALUE", [4, 5, 5]),
            s("北京京华软件股份有限公司", "GENERAL_RETAIN", [2, 2, 3]),
            s("南京金陵商贸有限公司", "IMPORTANT_RETAIN", [1, 2, 4]),
            s("杭州云帆培训学校有限公司", "GENERAL_VALUE", [5, 5, 2]),
            s("苏州恒信电子科技有限公司", "GENERAL_RETAIN", [3, 2, 1]),
        ]
    );
    let body = app.gql(Some(&admin), VALUES, json!({"f": {"name": {"eq": "上海明远机械制造有限公司"}}})).await;
    let mingyuan = &body["data"]["customers"]["nodes"][0];
    assert_eq!(mingyuan["value"]["segmentLabel"], "重要价值客户", "{body}");
    assert_eq!(mingyuan["value"]["receiptsLastYear"], 2);
    assert_eq!(d(&mingyuan["value"]["receivedToDate"]["amount"]), Decimal::from(374_000));
    assert_eq!(d(&mingyuan["lifetimeValue"]["amount"]), Decimal::from(374_000));
    // rep1 sees its scores and its own receipts' lifetime value, but not the stored
    // figures, which count every receipt of the customer, whoever owns it.
    let body = app.gql(Some(&rep1), VALUES, json!({"f": {"name": {"eq": "上海明远机械制造有限公司"}}})).await;
    let seen = &body["data"]["customers"]["nodes"][0];
    assert_eq!(
        (seen["value"]["segment"].as_str(), seen["value"]["monetaryScore"].as_i64()),
        (Some("IMPORTANT_VALUE"), Some(5))
    );
    assert!(seen["value"]["receivedToDate"].is_null() && seen["value"]["receiptsLastYear"].is_null(), "{body}");
    assert!(seen["value"]["lastReceivedOn"].is_null(), "{body}");
    assert_eq!(d(&seen["lifetimeValue"]["amount"]), Decimal::from(374_000), "{body}");

    // Lists filter by segment and scores, through the caller's scope.
    let names = |rows: Vec<(String, String, [i64; 3])>| rows.into_iter().map(|r| r.0).collect::<Vec<_>>();
    let retain = json!({"rfm": {"segment": ["GENERAL_RETAIN"]}});
    assert_eq!(
        names(values(&app, &admin, retain.clone()).await),
        ["北京京华软件股份有限公司", "苏州恒信电子科技有限公司"]
    );
    assert_eq!(names(values(&app, &rep1, retain).await), ["苏州恒信电子科技有限公司"]);
    let recent = json!({"rfm": {"recency": [4, 5], "monetary": [2]}});
    assert_eq!(names(values(&app, &admin, recent).await), ["杭州云帆培训学校有限公司"]);
    let body = app.gql(Some(&admin), VALUES, json!({"f": {"rfm": {"frequency": [6]}}})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");

    // Segments' sizes through the scope; money only with receivable.read.
    let segments = "{ customerSegments { segment label customers receivedToDate { amount } } }";
    let sizes = |body: Value| -> Vec<(String, i64)> {
        body["data"]["customerSegments"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .filter(|s| s["customers"] != 0)
            .map(|s| (s["segment"].as_str().unwrap().to_owned(), s["customers"].as_i64().unwrap()))
            .collect()
    };
    let all = app.gql(Some(&admin), segments, json!({})).await;
    assert_eq!(all["data"]["customerSegments"].as_array().unwrap().len(), 8);
    assert_eq!(
        sizes(all),
        [
            ("IMPORTANT_VALUE".to_owned(), 1),
            ("IMPORTANT_RETAIN".to_owned(), 1),
            ("GENERAL_VALUE".to_owned(), 1),
            ("GENERAL_RETAIN".to_owned(), 2)
        ]
    );
    let mine = sizes(app.gql(Some(&rep2), segments, json!({})).await);
    assert_eq!(mine, [("IMPORTANT_RETAIN".to_owned(), 1), ("GENERAL_VALUE".to_owned(), 1)]);
    let other = app.second_tenant("other").await;
    assert!(sizes(app.gql(Some(&other), segments, json!({})).await).is_empty());
    assert!(values(&app, &other, json!(null)).await.is_empty());
    // The service agent sees every customer and its scores, but not its money.
    let agent = app.login("service@demo.local").await;
    assert_eq!(values(&app, &agent, json!(null)).await.len(), 5);
    let body = app.gql(Some(&agent), VALUES, json!({"f": null})).await;
    for customer in body["data"]["customers"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}")) {
        assert!(customer["lifetimeValue"].is_null(), "no receivable.read, no money: {body}");
        assert!(customer["value"].is_null() || customer["value"]["receivedToDate"].is_null(), "{body}");
    }

    // One statement for the values and one for the lifetime sums, however many customers.
    let body = |first: i64| json!({"query": format!("{{ customers(first: {first}) {{ nodes {{ lifetimeValue {{ amount }} value {{ segment }} }} }} }}")});
    assert_eq!(
        app.fewest_statements(Some(&admin), &body(1)).await.0,
        app.fewest_statements(Some(&admin), &body(6)).await.0
    );

    // The nightly job does the same refresh (and the open months' commissions).
    let before = app
        .gql(
            Some(&admin),
            "{ customers(first: 1, filter: {rfm: {segment: [IMPORTANT_VALUE]}}) { nodes { value { computedAt } } } }",
            json!({}),
        )
        .await;
    let ran = guanxi_gateway::jobs::nightly_analytics_at(app.db.clone(), chrono::Utc::now()).await.unwrap();
    assert!(ran >= 5, "{ran}");
    let after = app
        .gql(
            Some(&admin),
            "{ customers(first: 1, filter: {rfm: {segment: [IMPORTANT_VALUE]}}) { nodes { value { computedAt } } } }",
            json!({}),
        )
        .await;
    assert_ne!(before, after, "recomputed: {after}");
    assert_eq!(values(&app, &admin, json!(null)).await.len(), 5);
}
