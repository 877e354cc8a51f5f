//! Products, price policies, quotes and sales orders, over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const PRODUCT: &str = "id code name mnemonicCode listPrice { amount } costPrice { amount } taxRate active version";
const LINE: &str = "id productName quantity unitPrice { amount } discount priceSource subtotal { amount } \
    amount { amount } net { amount } tax { amount } total { amount } deliveredQuantity";
const TOTALS: &str = "totals { listAmount { amount } subtotal { amount } discountAmount { amount } net { amount } \
    tax { amount } total { amount } discountOffList byRate { rate net { amount } tax { amount } } }";

fn quote_fields() -> String {
    format!("id number revision status version supersededAt total {{ amount }} lines {{ {LINE} }} {TOTALS}")
}

fn order_fields() -> String {
    format!("id number status version quoteId total {{ amount }} lines {{ {LINE} }} {TOTALS}")
}

async fn create_product(app: &TestApp, admin: &str, code: &str, price: &str, rate: &str) -> Value {
    let query = format!(
        "mutation($i: CreateProductInput!) {{ createProduct(input: $i) {{ product {{ {PRODUCT} }} userErrors {{ field code message }} }} }}"
    );
    let input = json!({"code": code, "name": format!("测试产品{code}"), "kind": "TANGIBLE", "origin": "BOUGHT",
        "unit": "台", "listPrice": price, "costPrice": "1.00", "taxRate": rate});
    ok(app, admin, &query, input, ("createProduct", "product")).await
}

const POLICY: &str = "mutation($i: PricePolicyInput!) { createPricePolicy(input: $i) { pricePolicy { id price { amount } } userErrors { field code message } } }";
const PRICE: &str = "query($c: ID!, $l: [PriceQuoteLineInput!]!, $on: NaiveDate) { priceQuote(customerId: $c, lines: $l, on: $on) { unitPrice { amount } source policyId } }";

async fn prices(app: &TestApp, token: &str, customer: &str, lines: Value, on: &str) -> Vec<(String, String)> {
    let body = app.gql(Some(token), PRICE, json!({"c": customer, "l": lines, "on": on})).await;
    body["data"]["priceQuote"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|l| (l["unitPrice"]["amount"].as_str().unwrap().to_owned(), l["source"].as_str().unwrap().to_owned()))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

#[tokio::test]
async fn prices_resolve_by_customer_then_level_then_list_with_dates_and_quantity_breaks() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let product = create_product(&app, &admin, "T-100", "100.00", "VAT_13").await;
    let p = product["id"].as_str().unwrap();
    // 恒信 is level A in the demo; 明远 is level B.
    let hengxin = customer(&app, &admin, "苏州恒信电子科技有限公司").await;
    let mingyuan = customer(&app, &admin, "上海明远机械制造有限公司").await;
    let first_half = ok(
        &app,
        &admin,
        POLICY,
        json!({"productId": p, "customerLevel": "A", "price": "90", "breaks": [{"minQuantity": "10", "price": "80"}],
               "validFrom": "2026-01-01", "validTo": "2026-06-30"}),
        ("createPricePolicy", "pricePolicy"),
    )
    .await;
    // Overlapping the first half for the same product and level: refused, naming it.
    let (codes, message) = refused(
        &app,
        &admin,
        POLICY,
        json!({"productId": p, "customerLevel": "A", "price": "88", "validFrom": "2026-06-30"}),
        "createPricePolicy",
    )
    .await;
    assert_eq!(codes, ["CONFLICT"]);
    let first_uuid = first_half["id"].as_str().map(|id| {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD.decode(id).unwrap();
        String::from_utf8(raw).unwrap().split(':').nth(1).unwrap().to_owned()
    });
    assert!(message.contains(&first_uuid.unwrap()), "{message}");
    ok(
        &app,
        &admin,
        POLICY,
        json!({"productId": p, "customerLevel": "A", "price": "85", "validFrom": "2026-07-01"}),
        ("createPricePolicy", "pricePolicy"),
    )
    .await;
    ok(
        &app,
        &admin,
        POLICY,
        json!({"productId": p, "customerId": hengxin, "price": "70", "validFrom": "2026-03-01", "validTo": "2026-03-31"}),
        ("createPricePolicy", "pricePolicy"),
    )
    .await;
    let lines = json!([{"productId": p, "quantity": "1"}, {"productId": p, "quantity": "10"}]);
    let cases = [
        (&hengxin, "2025-12-31", pairs(&[("100", "LIST"), ("100", "LIST")])),
        (&hengxin, "2026-02-01", pairs(&[("90", "LEVEL"), ("80", "LEVEL")])),
        (&hengxin, "2026-03-15", pairs(&[("70", "CUSTOMER"), ("70", "CUSTOMER")])),
        (&hengxin, "2026-03-31", pairs(&[("70", "CUSTOMER"), ("70", "CUSTOMER")])),
        (&hengxin, "2026-04-01", pairs(&[("90", "LEVEL"), ("80", "LEVEL")])),
        (&hengxin, "2026-08-01", pairs(&[("85", "LEVEL"), ("85", "LEVEL")])),
        (&mingyuan, "2026-02-01", pairs(&[("100", "LIST"), ("100", "LIST")])),
    ];
    for (customer, on, expected) in cases {
        assert_eq!(prices(&app, &admin, customer, lines.clone(), on).await, expected, "{customer} on {on}");
    }
    // One statement for the products and their policies, however many lines.
    let many: Vec<Value> = (1..=50).map(|q| json!({"productId": p, "quantity": q.to_string()})).collect();
    let request = |l: Value| json!({"query": PRICE, "variables": {"c": hengxin, "l": l, "on": "2026-02-01"}});
    let (one, _) = app.fewest_statements(Some(&admin), &request(json!([lines[0]]))).await;
    let (fifty, body) = app.fewest_statements(Some(&admin), &request(json!(many))).await;
    assert_eq!(body["data"]["priceQuote"].as_array().map(Vec::len), Some(50), "{body}");
    assert_eq!(one, fifty, "statements for 1 line and for 50");
}

const CREATE_QUOTE: &str =
    "mutation($i: CreateQuoteInput!) { createQuote(input: $i) { quote { FIELDS } userErrors { field code message } } }";
const CREATE_ORDER: &str = "mutation($i: CreateSalesOrderInput!) { createSalesOrder(input: $i) { salesOrder { FIELDS } userErrors { field code message } } }";

fn with_fields(query: &str, fields: &str) -> String {
    query.replace("FIELDS", fields)
}

fn amount(value: &Value, path: &[&str]) -> String {
    let mut v = value;
    for p in path {
        v = &v[*p];
    }
    v["amount"].as_str().unwrap_or_else(|| panic!("{path:?} in {value}")).to_owned()
}

#[tokio::test]
async fn quote_and_order_totals_are_exact_to_the_tenants_places() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let mingyuan = customer(&app, &admin, "上海明远机械制造有限公司").await;
    let p13 = create_product(&app, &admin, "T-13", "33.33", "VAT_13").await["id"].clone();
    let p6 = create_product(&app, &admin, "T-6", "0.01", "VAT_6").await["id"].clone();
    // Quotes at 2 places, orders at 4, prices at 4.
    let settings = app
        .gql(
            Some(&admin),
            "mutation { updateTenantSettings(input: {decimalPlaces: {quote: 2, order: 4, contract: 2, product: 4}}) { userErrors { field code } } }",
            json!({}),
        )
        .await;
    assert_eq!(settings["data"]["updateTenantSettings"]["userErrors"], json!([]), "{settings}");
    let create = with_fields(CREATE_QUOTE, &quote_fields());
    // (tax mode, quote discount, lines) → (subtotal, discount, net, tax, total, [(rate, tax)])
    let cases = [
        (
            "INCLUSIVE",
            "0",
            json!([{"productId": p13, "quantity": "3"}]),
            ["99.99", "0.00", "88.49", "11.50", "99.99"],
            vec![("VAT_13", "11.50")],
        ),
        (
            "EXCLUSIVE",
            "0",
            json!([{"productId": p13, "quantity": "3"}]),
            ["99.99", "0.00", "99.99", "13.00", "112.99"],
            vec![("VAT_13", "13.00")],
        ),
        (
            "EXCLUSIVE",
            "0",
            json!([{"productId": p6, "quantity": "1", "discount": "9.5"}]),
            ["0.01", "0.00", "0.01", "0.00", "0.01"],
            vec![("VAT_6", "0.00")],
        ),
        (
            "INCLUSIVE",
            "10",
            json!([{"productId": p13, "quantity": "3"}, {"productId": p6, "quantity": "1000", "unitPrice": "1.005"}]),
            // 99.99 less 10 % = 89.991 → 89.99, of which 13/113 is tax: 10.3528 → 10.35;
            // 1005.00 less 10 % = 904.50, of which 6/106 is tax: 51.198 → 51.20.
            ["1104.99", "110.50", "932.94", "61.55", "994.49"],
            vec![("VAT_13", "10.35"), ("VAT_6", "51.20")],
        ),
    ];
    for (mode, discount, lines, [subtotal, off, net, tax, total], by_rate) in cases {
        let input = json!({"customerId": mingyuan, "taxMode": mode, "discount": discount, "lines": lines});
        let quote = ok(&app, &admin, &create, input, ("createQuote", "quote")).await;
        let t = &quote["totals"];
        let got = [
            amount(t, &["subtotal"]),
            amount(t, &["discountAmount"]),
            amount(t, &["net"]),
            amount(t, &["tax"]),
            amount(t, &["total"]),
        ];
        assert_eq!(got, [subtotal, off, net, tax, total], "{mode} {discount}% {lines}");
        let rates: Vec<(String, String)> = t["byRate"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["rate"].as_str().unwrap().to_owned(), r["tax"]["amount"].as_str().unwrap().to_owned()))
            .collect();
        assert_eq!(rates, pairs(&by_rate), "{mode} {discount}%");
        // Each line's figures add up to the totals: rounded per line, then summed.
        let line_sum: rust_decimal::Decimal = quote["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| amount(l, &["total"]).parse::<rust_decimal::Decimal>().unwrap())
            .sum();
        assert_eq!(line_sum.to_string(), total);
    }
    // Four places for orders: figured to the ten-thousandth.
    let order = ok(
        &app,
        &admin,
        &with_fields(CREATE_ORDER, &order_fields()),
        json!({"header": {"customerId": mingyuan, "taxMode": "EXCLUSIVE", "discount": "5"},
               "lines": [{"productId": p6, "quantity": "2.5", "unitPrice": "19.99", "discount": "10"}]}),
        ("createSalesOrder", "salesOrder"),
    )
    .await;
    assert_eq!(
        [amount(&order, &["totals", "net"]), amount(&order, &["totals", "tax"]), amount(&order, &["total"])],
        ["42.7286", "2.5637", "45.2923"],
        "{order}"
    );
    let (codes, _) = refused(
        &app,
        &admin,
        &with_fields(CREATE_ORDER, "id"),
        json!({"header": {"customerId": mingyuan}, "lines": [{"productId": p6, "quantity": "1", "unitPrice": "1.00001"}]}),
        "createSalesOrder",
    )
    .await;
    assert_eq!(codes, ["INVALID"], "a price with more places than the product places");
}

const QUOTE_ACTION: &str = "mutation($i: QuoteActionInput!) { ACTION(input: $i) { quote { id status version revision supersededAt } userErrors { field code message } } }";

async fn quote_action(app: &TestApp, token: &str, action: &str, quote: &Value, reason: Option<&str>) -> Value {
    let input = json!({"id": quote["id"], "expectedVersion": quote["version"], "reason": reason});
    ok(app, token, &QUOTE_ACTION.replace("ACTION", action), input, (action, "quote")).await
}

async fn quote_refused(app: &TestApp, token: &str, action: &str, quote: &Value) -> Vec<String> {
    let input = json!({"id": quote["id"], "expectedVersion": quote["version"]});
    refused(app, token, &QUOTE_ACTION.replace("ACTION", action), input, action).await.0
}

#[tokio::test]
async fn quotes_move_through_approval_sending_and_revisions_and_refuse_illegal_moves() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep = app.login("rep1@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let body = app
        .gql(Some(&admin), "mutation { updateTenantSettings(input: {quoteApprovalDiscount: \"15\"}) { settings { quoteApprovalDiscount } } }", json!({}))
        .await;
    assert_eq!(body["data"]["updateTenantSettings"]["settings"]["quoteApprovalDiscount"], "15", "{body}");
    let product = create_product(&app, &admin, "T-Q", "100.00", "VAT_13").await["id"].clone();
    let mingyuan = customer(&app, &rep, "上海明远机械制造有限公司").await;
    let create = with_fields(CREATE_QUOTE, &quote_fields());
    let input = json!({"customerId": mingyuan, "discount": "20", "validUntil": "2099-12-31",
                       "lines": [{"productId": product, "quantity": "2"}]});
    let quote = ok(&app, &rep, &create, input, ("createQuote", "quote")).await;
    assert_eq!((quote["status"].as_str(), quote["revision"].as_i64()), (Some("DRAFT"), Some(1)));
    // 20 % off list: approval first.
    assert_eq!(quote_refused(&app, &rep, "sendQuote", &quote).await, ["ILLEGAL_STATE"]);
    assert_eq!(quote_refused(&app, &rep, "acceptQuote", &quote).await, ["ILLEGAL_STATE"]);
    let pending = quote_action(&app, &rep, "submitQuote", &quote, None).await;
    assert_eq!(pending["status"], "PENDING_APPROVAL");
    let body = app
        .gql(
            Some(&rep),
            &QUOTE_ACTION.replace("ACTION", "approveQuote"),
            json!({"i": {"id": pending["id"], "expectedVersion": pending["version"]}}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "a rep has no quote.approve: {body}");
    // Returned to the author, edited within the threshold, then sent without approval.
    let (codes, _) = refused(
        &app,
        &manager,
        &QUOTE_ACTION.replace("ACTION", "returnQuote"),
        json!({"id": pending["id"], "expectedVersion": pending["version"]}),
        "returnQuote",
    )
    .await;
    assert_eq!(codes, ["REQUIRED"], "a return needs a reason");
    let draft = quote_action(&app, &manager, "returnQuote", &pending, Some("折扣过高")).await;
    assert_eq!(draft["status"], "DRAFT");
    let update = "mutation($i: UpdateQuoteInput!) { updateQuote(input: $i) { quote { id status version total { amount } } userErrors { field code message } } }";
    let edited = ok(
        &app,
        &rep,
        update,
        json!({"id": draft["id"], "expectedVersion": draft["version"],
        "header": {"customerId": mingyuan, "discount": "10"}}),
        ("updateQuote", "quote"),
    )
    .await;
    assert_eq!(amount(&edited, &["total"]), "180.00");
    let (codes, _) =
        refused(&app, &rep, update, json!({"id": draft["id"], "expectedVersion": draft["version"]}), "updateQuote")
            .await;
    assert_eq!(codes, ["VERSION_CONFLICT"], "a stale version");
    let sent = quote_action(&app, &rep, "sendQuote", &edited, None).await;
    assert_eq!(sent["status"], "SENT");
    let (codes, _) =
        refused(&app, &rep, update, json!({"id": sent["id"], "expectedVersion": sent["version"]}), "updateQuote").await;
    assert_eq!(codes, ["ILLEGAL_STATE"], "a sent quote is revised, not edited");
    // A revision: the old one stays readable and read-only, lists show the latest.
    let second = quote_action(&app, &rep, "reviseQuote", &sent, None).await;
    assert_eq!((second["revision"].as_i64(), second["status"].as_str()), (Some(2), Some("DRAFT")));
    assert_ne!(second["id"], sent["id"]);
    let old = app
        .gql(
            Some(&rep),
            "query($id: ID!) { quote(id: $id) { status supersededAt version revisions { revision status } } }",
            json!({"id": sent["id"]}),
        )
        .await;
    let old = &old["data"]["quote"];
    assert_eq!(old["status"], "SENT");
    assert!(old["supersededAt"].is_string(), "{old}");
    assert_eq!(old["revisions"], json!([{"revision": 1, "status": "SENT"}, {"revision": 2, "status": "DRAFT"}]));
    let stale = json!({"id": sent["id"], "version": old["version"]});
    assert_eq!(quote_refused(&app, &rep, "acceptQuote", &stale).await, ["ILLEGAL_STATE"]);
    let list = "query($f: QuoteFilter) { quotes(filter: $f) { totalCount nodes { revision } } }";
    let latest = app.gql(Some(&rep), list, json!({"f": {"customerId": {"eq": mingyuan}}})).await;
    // The demo's quote for the customer, and the second revision.
    assert_eq!(latest["data"]["quotes"]["totalCount"], 2, "{latest}");
    let all = app.gql(Some(&rep), list, json!({"f": {"customerId": {"eq": mingyuan}, "allRevisions": true}})).await;
    assert_eq!(all["data"]["quotes"]["totalCount"], 3, "{all}");
    // The second revision is sent, accepted; accepted is final.
    let sent = quote_action(&app, &rep, "sendQuote", &second, None).await;
    let accepted = quote_action(&app, &rep, "acceptQuote", &sent, None).await;
    assert_eq!(accepted["status"], "ACCEPTED");
    for action in ["reviseQuote", "rejectQuote", "deleteQuote", "sendQuote"] {
        assert_eq!(quote_refused(&app, &rep, action, &accepted).await, ["ILLEGAL_STATE"], "{action}");
    }
    // A sent quote past its validity reads EXPIRED and cannot be accepted.
    let input =
        json!({"customerId": mingyuan, "validUntil": "2020-01-01", "lines": [{"productId": product, "quantity": "1"}]});
    let old_quote = ok(&app, &rep, &create, input, ("createQuote", "quote")).await;
    let expired = quote_action(&app, &rep, "sendQuote", &old_quote, None).await;
    assert_eq!(expired["status"], "EXPIRED");
    assert_eq!(quote_refused(&app, &rep, "acceptQuote", &expired).await, ["ILLEGAL_STATE"]);
    let filtered = app.gql(Some(&rep), list, json!({"f": {"status": ["EXPIRED"]}})).await;
    assert_eq!(filtered["data"]["quotes"]["totalCount"], 1, "{filtered}");
}

const ORDER_ACTION: &str = "mutation($i: SalesOrderActionInput!) { ACTION(input: $i) { salesOrder { id status version } userErrors { field code message } } }";
const DELIVER: &str = "mutation($i: DeliverSalesOrderInput!) { deliverSalesOrder(input: $i) { salesOrder { id status version lines { deliveredQuantity } deliveries { quantity deliveredOn } } userErrors { field code message } } }";

async fn order_action(app: &TestApp, token: &str, action: &str, order: &Value, reason: Option<&str>) -> Value {
    let input = json!({"id": order["id"], "expectedVersion": order["version"], "reason": reason});
    ok(app, token, &ORDER_ACTION.replace("ACTION", action), input, (action, "salesOrder")).await
}

#[tokio::test]
async fn an_accepted_quote_becomes_an_order_whose_confirmation_is_a_sale_and_deliveries_close_it() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep = app.login("rep1@demo.local").await;
    let product = create_product(&app, &admin, "T-O", "50.00", "VAT_13").await["id"].clone();
    let mingyuan = customer(&app, &rep, "上海明远机械制造有限公司").await;
    let deals = app
        .gql(
            Some(&rep),
            "query($c: ID!) { opportunities(filter: {customerId: {eq: $c}}) { nodes { id status } } }",
            json!({"c": mingyuan}),
        )
        .await;
    let deal = deals["data"]["opportunities"]["nodes"][0]["id"].clone();
    assert_eq!(deals["data"]["opportunities"]["nodes"][0]["status"], "OPEN");
    let create = with_fields(CREATE_QUOTE, &quote_fields());
    let input =
        json!({"customerId": mingyuan, "opportunityId": deal, "lines": [{"productId": product, "quantity": "4"}]});
    let quote = ok(&app, &rep, &create, input, ("createQuote", "quote")).await;
    let order_query = with_fields(CREATE_ORDER, &order_fields());
    let (codes, _) = refused(&app, &rep, &order_query, json!({"quoteId": quote["id"]}), "createSalesOrder").await;
    assert_eq!(codes, ["ILLEGAL_STATE"], "only an accepted quote becomes an order");
    let sent = quote_action(&app, &rep, "sendQuote", &quote, None).await;
    quote_action(&app, &rep, "acceptQuote", &sent, None).await;
    // Idempotent: a retry returns the first order; another input under the key is refused.
    let key = "order-from-quote-1";
    let order = ok(
        &app,
        &rep,
        &order_query,
        json!({"quoteId": quote["id"], "idempotencyKey": key}),
        ("createSalesOrder", "salesOrder"),
    )
    .await;
    let again = ok(
        &app,
        &rep,
        &order_query,
        json!({"quoteId": quote["id"], "idempotencyKey": key}),
        ("createSalesOrder", "salesOrder"),
    )
    .await;
    assert_eq!(order["id"], again["id"]);
    let (codes, _) = refused(
        &app,
        &rep,
        &order_query,
        json!({"quoteId": quote["id"], "idempotencyKey": key, "terms": {"paymentTerms": "月结"}}),
        "createSalesOrder",
    )
    .await;
    assert_eq!(codes, ["IDEMPOTENCY_KEY_REUSED"]);
    let count = app
        .gql(
            Some(&rep),
            "query($c: ID!) { salesOrders(filter: {customerId: {eq: $c}}) { totalCount } }",
            json!({"c": mingyuan}),
        )
        .await;
    assert_eq!(count["data"]["salesOrders"]["totalCount"], 1, "{count}");
    assert_eq!((order["status"].as_str(), amount(&order, &["total"]).as_str()), (Some("DRAFT"), "200.00"));
    assert_eq!(order["quoteId"], quote["id"]);
    // Delivering a draft is refused; a stale confirmation is a version conflict.
    let line = order["lines"][0]["id"].clone();
    let deliver = |version: &Value, quantity: &str| json!({"id": order["id"], "expectedVersion": version, "lines": [{"lineId": line, "quantity": quantity}], "deliveredOn": "2026-11-30"});
    assert_eq!(
        refused(&app, &rep, DELIVER, deliver(&order["version"], "1"), "deliverSalesOrder").await.0,
        ["ILLEGAL_STATE"]
    );
    let confirmed = order_action(&app, &rep, "confirmSalesOrder", &order, None).await;
    assert_eq!(confirmed["status"], "CONFIRMED");
    let (codes, _) = refused(
        &app,
        &rep,
        &ORDER_ACTION.replace("ACTION", "confirmSalesOrder"),
        json!({"id": order["id"], "expectedVersion": order["version"]}),
        "confirmSalesOrder",
    )
    .await;
    assert_eq!(codes, ["VERSION_CONFLICT"]);
    // The sale: the customer is WON with its last-deal time, the deal won, the 360 counts it.
    let card = app
        .gql(Some(&rep), "query($id: ID!) { customer360(id: $id) { customer { status lastDealAt } summary { orderCount salesAmount { amount } lastDealAt } salesOrders { nodes { number status } } } opportunity(id: $d) { status closeReason } }".replace("$id: ID!", "$id: ID!, $d: ID!").as_str(), json!({"id": mingyuan, "d": deal}))
        .await;
    let c360 = &card["data"]["customer360"];
    assert_eq!(c360["customer"]["status"], "WON", "{card}");
    assert!(c360["customer"]["lastDealAt"].is_string(), "{card}");
    assert_eq!(
        (c360["summary"]["orderCount"].as_u64(), amount(&c360["summary"], &["salesAmount"]).as_str()),
        (Some(1), "200.00")
    );
    assert_eq!(c360["salesOrders"]["nodes"][0]["status"], "CONFIRMED");
    assert_eq!(card["data"]["opportunity"]["status"], "WON", "{card}");
    // Deliveries per line; more than ordered is refused and changes nothing.
    let part =
        ok(&app, &rep, DELIVER, deliver(&confirmed["version"], "1.5"), ("deliverSalesOrder", "salesOrder")).await;
    assert_eq!(
        (part["status"].as_str(), part["lines"][0]["deliveredQuantity"].as_str()),
        (Some("PARTLY_DELIVERED"), Some("1.5"))
    );
    let (codes, _) = refused(&app, &rep, DELIVER, deliver(&part["version"], "3"), "deliverSalesOrder").await;
    assert_eq!(codes, ["INVALID"]);
    assert_eq!(
        refused(
            &app,
            &rep,
            &ORDER_ACTION.replace("ACTION", "cancelSalesOrder"),
            json!({"id": order["id"], "expectedVersion": part["version"], "reason": "客户取消"}),
            "cancelSalesOrder"
        )
        .await
        .0,
        ["ILLEGAL_STATE"],
        "something was delivered"
    );
    let whole = ok(&app, &rep, DELIVER, deliver(&part["version"], "2.5"), ("deliverSalesOrder", "salesOrder")).await;
    assert_eq!(whole["status"], "DELIVERED");
    assert_eq!(whole["deliveries"].as_array().map(Vec::len), Some(2));
    let completed = order_action(&app, &rep, "completeSalesOrder", &whole, None).await;
    assert_eq!(completed["status"], "COMPLETED");
    // A used product cannot be deleted, only deactivated; an inactive one is refused on new lines.
    let product_row =
        app.gql(Some(&admin), "query($id: ID!) { product(id: $id) { id version } }", json!({"id": product})).await;
    let version = product_row["data"]["product"]["version"].clone();
    let (codes, _) = refused(&app, &admin, "mutation($i: VersionedIdInput!) { deleteProduct(input: $i) { product { id } userErrors { field code message } } }",
        json!({"id": product, "expectedVersion": version}), "deleteProduct").await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);
    ok(&app, &admin, "mutation($i: SetProductActiveInput!) { setProductActive(input: $i) { product { active } userErrors { field code message } } }",
        json!({"id": product, "expectedVersion": version, "active": false}), ("setProductActive", "product")).await;
    let (codes, errors) = refused(
        &app,
        &rep,
        &create,
        json!({"customerId": mingyuan, "lines": [{"productId": product, "quantity": "1"}]}),
        "createQuote",
    )
    .await;
    assert_eq!(codes, ["ILLEGAL_STATE"], "{errors}");
    assert!(errors.contains("lines.0.productId"), "{errors}");
    // A draft order can be cancelled with a reason.
    let direct = ok(&app, &rep, &order_query, json!({"header": {"customerId": mingyuan}, "lines": [{"productId": create_product(&app, &admin, "T-O2", "9.90", "VAT_9").await["id"], "quantity": "1"}]}), ("createSalesOrder", "salesOrder")).await;
    assert_eq!(
        refused(
            &app,
            &rep,
            &ORDER_ACTION.replace("ACTION", "cancelSalesOrder"),
            json!({"id": direct["id"], "expectedVersion": direct["version"]}),
            "cancelSalesOrder"
        )
        .await
        .0,
        ["REQUIRED"]
    );
    let cancelled = order_action(&app, &rep, "cancelSalesOrder", &direct, Some("客户改期")).await;
    assert_eq!(cancelled["status"], "CANCELLED");
}

#[tokio::test]
async fn quotes_orders_and_customer_prices_are_invisible_outside_the_callers_scope_and_tenant() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep2 = app.login("rep2@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let other = app.second_tenant("other").await;
    let product = create_product(&app, &admin, "T-S", "10.00", "VAT_13").await["id"].clone();
    let jinling = customer(&app, &rep2, "南京金陵商贸有限公司").await;
    let quote = ok(
        &app,
        &rep2,
        &with_fields(CREATE_QUOTE, "id version"),
        json!({"customerId": jinling, "lines": [{"productId": product, "quantity": "1"}]}),
        ("createQuote", "quote"),
    )
    .await;
    let order = ok(
        &app,
        &rep2,
        &with_fields(CREATE_ORDER, "id version"),
        json!({"header": {"customerId": jinling}, "lines": [{"productId": product, "quantity": "1"}]}),
        ("createSalesOrder", "salesOrder"),
    )
    .await;
    let policy = ok(
        &app,
        &admin,
        POLICY,
        json!({"productId": product, "customerId": jinling, "price": "8", "validFrom": "2026-01-01"}),
        ("createPricePolicy", "pricePolicy"),
    )
    .await;
    let read = "query($q: ID!, $o: ID!, $p: ID!, $prod: ID!, $c: ID!) { \
        q: node(id: $q) { id } o: node(id: $o) { id } p: node(id: $p) { id } \
        quotes(filter: {customerId: {eq: $c}}) { totalCount nodes { id } } salesOrders(filter: {customerId: {eq: $c}}) { totalCount nodes { id } } \
        pricePolicies(productId: $prod) { id } }";
    let vars = json!({"q": quote["id"], "o": order["id"], "p": policy["id"], "prod": product, "c": jinling});
    // The owner and their manager see everything; the other rep and the other tenant nothing.
    for (who, token, sees) in
        [("rep2", &rep2, true), ("manager", &manager, true), ("rep1", &rep1, false), ("other tenant", &other, false)]
    {
        let body = app.gql(Some(token), read, vars.clone()).await;
        let data = &body["data"];
        assert_eq!(data["q"]["id"].is_string(), sees, "{who} quote node: {body}");
        assert_eq!(data["o"]["id"].is_string(), sees, "{who} order node: {body}");
        assert_eq!(data["p"]["id"].is_string(), sees, "{who} customer price: {body}");
        let n = u64::from(sees);
        assert_eq!(data["quotes"]["totalCount"].as_u64(), Some(n), "{who} quote count: {body}");
        assert_eq!(data["salesOrders"]["totalCount"].as_u64(), Some(n), "{who} order count: {body}");
        assert_eq!(data["pricePolicies"].as_array().map(Vec::len), Some(usize::from(sees)), "{who} policies: {body}");
        for (query, id) in [
            ("query($id: ID!) { quote(id: $id) { id } }", &quote["id"]),
            ("query($id: ID!) { salesOrder(id: $id) { id } }", &order["id"]),
        ] {
            let body = app.gql(Some(token), query, json!({"id": id})).await;
            assert_eq!(body["errors"].is_array(), !sees, "{who}: {body}");
            if !sees {
                assert_eq!(error_code(&body), "NOT_FOUND", "{who}: {body}");
            }
        }
        // Writes through an id the caller cannot see find nothing and change nothing.
        if !sees {
            let writes = [
                (
                    ORDER_ACTION.replace("ACTION", "confirmSalesOrder"),
                    json!({"id": order["id"], "expectedVersion": order["version"]}),
                    "confirmSalesOrder",
                ),
                (
                    QUOTE_ACTION.replace("ACTION", "sendQuote"),
                    json!({"id": quote["id"], "expectedVersion": quote["version"]}),
                    "sendQuote",
                ),
                (
                    with_fields(CREATE_QUOTE, "id"),
                    json!({"customerId": jinling, "lines": [{"productId": product, "quantity": "1"}]}),
                    "createQuote",
                ),
            ];
            for (query, input, field) in writes {
                let (codes, _) = refused(&app, token, &query, input, field).await;
                assert_eq!(codes[0], "NOT_FOUND", "{who} {field}");
            }
        }
    }
    // A role without quote.read / order.read sees neither, whatever its scope.
    let tech = app.login("tech@demo.local").await;
    let body = app.gql(Some(&tech), "{ quotes { totalCount } }", json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = app.gql(Some(&tech), "query($o: ID!) { node(id: $o) { id } }", json!({"o": order["id"]})).await;
    assert!(body["data"]["node"].is_null(), "{body}");
    // Cost prices need product.cost.
    let body = app
        .gql(
            Some(&rep1),
            "query($id: ID!) { product(id: $id) { costPrice { amount } listPrice { amount } } }",
            json!({"id": product}),
        )
        .await;
    assert!(body["data"]["product"]["costPrice"].is_null(), "{body}");
    assert_eq!(body["data"]["product"]["listPrice"]["amount"], "10");
    let body = app
        .gql(Some(&manager), "query($id: ID!) { product(id: $id) { costPrice { amount } } }", json!({"id": product}))
        .await;
    assert_eq!(body["data"]["product"]["costPrice"]["amount"], "1", "{body}");
}

#[tokio::test]
async fn the_360_view_reads_1_and_200_orders_with_the_same_statements() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep = app.login("rep2@demo.local").await;
    let product = create_product(&app, &admin, "T-N", "12.00", "VAT_13").await["id"].clone();
    let second = create_product(&app, &admin, "T-N2", "3.00", "VAT_6").await["id"].clone();
    let jinling = customer(&app, &rep, "南京金陵商贸有限公司").await;
    let create = with_fields(CREATE_ORDER, "id version");
    let query = "query($id: ID!) { customer360(id: $id) { summary { orderCount salesAmount { amount } } \
        salesOrders(first: 200) { totalCount nodes { number status total { amount } customer { name } owner { email } \
        lines { productName amount { amount } } deliveries { quantity } totals { total { amount } byRate { rate } } } } } }";
    let request = json!({"query": query, "variables": {"id": jinling}});
    let mut counts = Vec::new();
    for target in [1, 200] {
        loop {
            let body = app
                .gql(
                    Some(&rep),
                    "query($id: ID!) { customer360(id: $id) { salesOrders { totalCount } } }",
                    json!({"id": jinling}),
                )
                .await;
            if body["data"]["customer360"]["salesOrders"]["totalCount"].as_u64().unwrap() >= target {
                break;
            }
            let input = json!({"header": {"customerId": jinling},
                "lines": [{"productId": product, "quantity": "2"}, {"productId": second, "quantity": "1"}]});
            let order = ok(&app, &rep, &create, input, ("createSalesOrder", "salesOrder")).await;
            order_action(&app, &rep, "confirmSalesOrder", &order, None).await;
        }
        let (statements, body) = app.fewest_statements(Some(&rep), &request).await;
        let c360 = &body["data"]["customer360"];
        assert_eq!(c360["salesOrders"]["nodes"].as_array().map(Vec::len), Some(target as usize), "{body}");
        assert_eq!(c360["summary"]["orderCount"].as_u64(), Some(target), "{body}");
        let expected = rust_decimal::Decimal::from(target) * "27.00".parse::<rust_decimal::Decimal>().unwrap();
        assert_eq!(
            amount(&c360["summary"], &["salesAmount"]),
            expected.to_string(),
            "2 × 12 + 3 a order, prices include tax"
        );
        counts.push(statements);
    }
    assert_eq!(counts[0], counts[1], "statements for 1 order and for 200: {counts:?}");
    assert!(counts[0] <= 12, "{counts:?}");
}

#[tokio::test]
async fn deal_lines_set_the_deal_amount_in_the_same_write() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep = app.login("rep1@demo.local").await;
    let product = create_product(&app, &admin, "T-D", "1000.00", "VAT_13").await["id"].clone();
    let mingyuan = customer(&app, &rep, "上海明远机械制造有限公司").await;
    let deals = app
        .gql(Some(&rep), "query($c: ID!) { opportunities(filter: {customerId: {eq: $c}}) { nodes { id version amount { amount } } } }", json!({"c": mingyuan}))
        .await;
    let deal = deals["data"]["opportunities"]["nodes"][0].clone();
    let set = "mutation($i: SetOpportunityLinesInput!) { setOpportunityLines(input: $i) { opportunity { id version amount { amount } lines { productName quantity discount subtotal { amount } } } userErrors { field code message } } }";
    let updated = ok(
        &app,
        &rep,
        set,
        json!({"id": deal["id"], "expectedVersion": deal["version"],
        "lines": [{"productId": product, "quantity": "3", "discount": "10"}]}),
        ("setOpportunityLines", "opportunity"),
    )
    .await;
    assert_eq!(amount(&updated, &["amount"]), "2700.00", "{updated}");
    assert_eq!(updated["lines"][0]["subtotal"]["amount"], "2700.00");
    let (codes, _) = refused(&app, &rep, "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { id } userErrors { field code message } } }",
        json!({"id": deal["id"], "expectedVersion": updated["version"], "amount": "1"}), "updateOpportunity").await;
    assert_eq!(codes, ["ILLEGAL_STATE"], "the amount is the lines'");
    let (codes, _) = refused(
        &app,
        &rep,
        set,
        json!({"id": deal["id"], "expectedVersion": deal["version"], "lines": []}),
        "setOpportunityLines",
    )
    .await;
    assert_eq!(codes, ["VERSION_CONFLICT"]);
}

#[tokio::test]
async fn the_printable_quote_renders_in_headless_chromium_and_its_link_is_the_callers() {
    let app = spawn_demo().await;
    let rep = app.login("rep1@demo.local").await;
    let body = app
        .gql(Some(&rep), "{ quotes(filter: {status: [SENT]}) { nodes { id number documentUrl customer { name } total { amount } } } }", json!({}))
        .await;
    let quote = body["data"]["quotes"]["nodes"][0].clone();
    let url = app.url(quote["documentUrl"].as_str().unwrap_or_else(|| panic!("{body}")));
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    for text in
        ["报价单", "关系演示科技有限公司", "上海明远机械制造有限公司", "美的多联机中央空调", "人民币大写", "价税合计"]
    {
        assert!(html.contains(text), "{text} in the page");
    }
    assert!(html.contains(quote["number"].as_str().unwrap()));
    // A tampered token, another quote's id, or no token: refused.
    assert_eq!(reqwest::get(format!("{url}x")).await.unwrap().status().as_u16(), 401);
    let other =
        url.replace(&url[url.find("/quotes/").unwrap() + 8..url.find('?').unwrap()], &uuid::Uuid::now_v7().to_string());
    assert_eq!(reqwest::get(&other).await.unwrap().status().as_u16(), 401);
    assert_eq!(reqwest::get(&url[..url.find('?').unwrap()]).await.unwrap().status().as_u16(), 401);
    // The page in a real browser: not blank, with the text laid out.
    let shot = std::env::temp_dir().join(format!("guanxi-quote-{}.png", uuid::Uuid::now_v7().simple()));
    let run = tokio::process::Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1000,800"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .await
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let channels = info.color_type.samples();
    let dark = pixels[..info.buffer_size()].chunks(channels).filter(|p| p[..3].iter().all(|c| *c < 128)).count();
    let share = dark as f64 / (info.width * info.height) as f64;
    assert!(share > 0.005 && share < 0.5, "{dark} dark pixels of {}×{}", info.width, info.height);
    let dom = tokio::process::Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(&url)
        .output()
        .await
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("人民币大写") && dom.contains("<table"), "{dom}");
    // Logging out ends the link.
    app.gql(Some(&rep), "mutation { logout { ok } }", json!({})).await;
    assert_eq!(reqwest::get(&url).await.unwrap().status().as_u16(), 404);
}

#[tokio::test]
async fn racing_writers_leave_one_policy_per_day_and_one_confirmation() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep = app.login("rep1@demo.local").await;
    let product = create_product(&app, &admin, "T-R", "20.00", "VAT_13").await["id"].clone();
    // Ten overlapping level policies at once: exactly one is created, nine are CONFLICT.
    let attempts = (0..10).map(|n| {
        let input = json!({"productId": product, "customerLevel": "C", "price": format!("{}", 10 + n), "validFrom": format!("2026-0{}-01", 1 + n % 9)});
        let (app, admin) = (&app, &admin);
        async move { app.gql(Some(admin), POLICY, json!({"i": input})).await }
    });
    let results = futures::future::join_all(attempts).await;
    let codes: Vec<Vec<String>> = results.iter().map(|b| user_error_codes(&b["data"]["createPricePolicy"])).collect();
    assert_eq!(codes.iter().filter(|c| c.is_empty()).count(), 1, "{codes:?}");
    assert!(codes.iter().filter(|c| !c.is_empty()).all(|c| c == &["CONFLICT"]), "{codes:?}");
    // Two confirmations of one order at the same version: one sale, one VERSION_CONFLICT.
    let mingyuan = customer(&app, &rep, "上海明远机械制造有限公司").await;
    let order = ok(
        &app,
        &rep,
        &with_fields(CREATE_ORDER, "id version"),
        json!({"header": {"customerId": mingyuan}, "lines": [{"productId": product, "quantity": "1"}]}),
        ("createSalesOrder", "salesOrder"),
    )
    .await;
    let confirm = ORDER_ACTION.replace("ACTION", "confirmSalesOrder");
    let input = json!({"i": {"id": order["id"], "expectedVersion": order["version"]}});
    let (a, b) =
        tokio::join!(app.gql(Some(&rep), &confirm, input.clone()), app.gql(Some(&rep), &confirm, input.clone()));
    let mut codes =
        [user_error_codes(&a["data"]["confirmSalesOrder"]), user_error_codes(&b["data"]["confirmSalesOrder"])];
    codes.sort();
    assert_eq!(codes, [vec![], vec!["VERSION_CONFLICT".to_owned()]], "{a} {b}");
    let history =
        app.gql(Some(&rep), "query($id: ID!) { history(id: $id) { totalCount } }", json!({"id": order["id"]})).await;
    assert_eq!(history["data"]["history"]["totalCount"], 2, "created and confirmed once: {history}");
}

#[tokio::test]
async fn links_owners_history_and_approval_keep_to_their_rules() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep2 = app.login("rep2@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    app.gql(
        Some(&admin),
        "mutation { updateTenantSettings(input: {quoteApprovalDiscount: \"15\"}) { userErrors { code } } }",
        json!({}),
    )
    .await;
    let product = create_product(&app, &admin, "T-E", "100.00", "VAT_13").await["id"].clone();
    // rep2's deal on rep2's customer: rep1 cannot link it (they do not see it).
    let jinling = customer(&app, &rep2, "南京金陵商贸有限公司").await;
    let deals = app
        .gql(
            Some(&rep2),
            "query($c: ID!) { opportunities(filter: {customerId: {eq: $c}}) { nodes { id } } }",
            json!({"c": jinling}),
        )
        .await;
    let deal = deals["data"]["opportunities"]["nodes"][0]["id"].clone();
    let mingyuan = customer(&app, &rep1, "上海明远机械制造有限公司").await;
    let create = with_fields(CREATE_QUOTE, "id version owner { email } status");
    let (codes, _) = refused(
        &app,
        &rep1,
        &create,
        json!({"customerId": mingyuan, "opportunityId": deal, "lines": [{"productId": product, "quantity": "1"}]}),
        "createQuote",
    )
    .await;
    assert_eq!(codes, ["NOT_FOUND"], "another customer's deal");
    // A manager's edit keeps the rep as owner; a manager cannot approve their own quote.
    let quote = ok(
        &app,
        &rep1,
        &create,
        json!({"customerId": mingyuan, "discount": "20", "lines": [{"productId": product, "quantity": "1"}]}),
        ("createQuote", "quote"),
    )
    .await;
    let update = "mutation($i: UpdateQuoteInput!) { updateQuote(input: $i) { quote { id version owner { email } } userErrors { field code message } } }";
    let edited = ok(&app, &manager, update, json!({"id": quote["id"], "expectedVersion": quote["version"], "header": {"customerId": mingyuan, "discount": "25"}}), ("updateQuote", "quote")).await;
    assert_eq!(edited["owner"]["email"], "rep1@demo.local");
    let own = ok(
        &app,
        &manager,
        &create,
        json!({"customerId": mingyuan, "discount": "20", "lines": [{"productId": product, "quantity": "1"}]}),
        ("createQuote", "quote"),
    )
    .await;
    let pending = quote_action(&app, &manager, "submitQuote", &own, None).await;
    assert_eq!(quote_refused(&app, &manager, "approveQuote", &pending).await, ["ILLEGAL_STATE"], "self-approval");
    // Deleting the latest draft revision makes the one before it the latest again.
    let small = ok(
        &app,
        &rep1,
        &create,
        json!({"customerId": mingyuan, "lines": [{"productId": product, "quantity": "1"}]}),
        ("createQuote", "quote"),
    )
    .await;
    let sent = quote_action(&app, &rep1, "sendQuote", &small, None).await;
    let second = quote_action(&app, &rep1, "reviseQuote", &sent, None).await;
    quote_action(&app, &rep1, "deleteQuote", &second, None).await;
    let first = app
        .gql(
            Some(&rep1),
            "query($id: ID!) { quote(id: $id) { status supersededAt version } }",
            json!({"id": sent["id"]}),
        )
        .await;
    assert!(first["data"]["quote"]["supersededAt"].is_null(), "{first}");
    let again = json!({"id": sent["id"], "version": first["data"]["quote"]["version"]});
    assert_eq!(quote_action(&app, &rep1, "acceptQuote", &again, None).await["status"], "ACCEPTED");
    // A direct order 20 % off list waits for someone who may approve discounts.
    let order = ok(&app, &rep1, &with_fields(CREATE_ORDER, "id version"),
        json!({"header": {"customerId": mingyuan, "discount": "20"}, "lines": [{"productId": product, "quantity": "1"}]}), ("createSalesOrder", "salesOrder")).await;
    let confirm = ORDER_ACTION.replace("ACTION", "confirmSalesOrder");
    let (codes, _) = refused(
        &app,
        &rep1,
        &confirm,
        json!({"id": order["id"], "expectedVersion": order["version"]}),
        "confirmSalesOrder",
    )
    .await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);
    assert_eq!(order_action(&app, &manager, "confirmSalesOrder", &order, None).await["status"], "CONFIRMED");
    // The cost price is not in the product's history for those without product.cost.
    let history = app
        .gql(
            Some(&rep1),
            "query($id: ID!) { history(id: $id) { nodes { changes { field new } } } }",
            json!({"id": product}),
        )
        .await;
    let text = history.to_string();
    assert!(history["errors"].is_null() && text.contains("listPrice") && !text.contains("costPrice"), "{history}");
}

#[tokio::test]
async fn a_quote_flow_takes_over_the_discount_approval() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep = app.login("rep1@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let rep3 = app.login("rep3@demo.local").await;
    let settings = "mutation { updateTenantSettings(input: {quoteApprovalDiscount: \"15\"}) { userErrors { code } } }";
    app.gql(Some(&admin), settings, json!({})).await;
    // Above 30 % off, the admin decides (by name); between 15 and 30 % the built-in rule stays.
    let admin_id = app.user_id(&admin, "admin@demo.local").await;
    let flow = "mutation($i: ApprovalFlowInput!) { createApprovalFlow(input: $i) { flow { id } userErrors { field code message } } }";
    let input = json!({"kind": "QUOTE", "name": "大折扣审批", "condition": {"discountAbove": "30"},
        "steps": [{"name": "总经理", "mode": "ANY", "approvers": [{"kind": "USER", "userId": admin_id}]}]});
    ok(&app, &admin, flow, input, ("createApprovalFlow", "flow")).await;
    let product = create_product(&app, &admin, "T-QF", "100.00", "VAT_13").await["id"].clone();
    let mingyuan = customer(&app, &rep, "上海明远机械制造有限公司").await;
    let create = with_fields(CREATE_QUOTE, &quote_fields());
    let quote = |discount: &str| {
        json!({"customerId": mingyuan, "discount": discount, "validUntil": "2099-12-31",
               "lines": [{"productId": product, "quantity": "2"}]})
    };
    let deep = ok(&app, &rep, &create, quote("40"), ("createQuote", "quote")).await;
    let pending = quote_action(&app, &rep, "submitQuote", &deep, None).await;
    assert_eq!(pending["status"], "PENDING_APPROVAL");
    // The flow decides it: the manager's approveQuote is refused, the admin's task waits.
    assert_eq!(quote_refused(&app, &manager, "approveQuote", &pending).await, ["ILLEGAL_STATE"]);
    let queue =
        "{ myApprovals(first: 5) { nodes { kind request { id } document { ... on Quote { number status } } } } }";
    let body = app.gql(Some(&admin), queue, json!({})).await;
    let task = body["data"]["myApprovals"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .find(|t| t["kind"] == "QUOTE")
        .unwrap_or_else(|| panic!("{body}"))
        .clone();
    assert_eq!(task["document"]["status"], "PENDING_APPROVAL", "{body}");
    let approve =
        "mutation($i: ApprovalActionInput!) { approve(input: $i) { request { status } userErrors { code message } } }";
    let body =
        app.gql(Some(&admin), approve, json!({"i": {"requestId": task["request"]["id"], "comment": "同意"}})).await;
    assert_eq!(body["data"]["approve"]["request"]["status"], "APPROVED", "{body}");
    let read = "query($id: ID!) { quote(id: $id) { id status version approvedBy { displayName } approvalHistory { action } } }";
    let body = app.gql(Some(&rep), read, json!({"id": deep["id"]})).await;
    assert_eq!(body["data"]["quote"]["status"], "APPROVED", "{body}");
    assert_eq!(
        body["data"]["quote"]["approvalHistory"],
        json!([{"action": "SUBMIT"}, {"action": "APPROVE"}]),
        "{body}"
    );
    let sent = quote_action(&app, &rep, "sendQuote", &body["data"]["quote"], None).await;
    assert_eq!(sent["status"], "SENT");
    // A rejection sends the next one back to the rep as a draft; rep3 never sees either.
    let deep = ok(&app, &rep, &create, quote("50"), ("createQuote", "quote")).await;
    let pending = quote_action(&app, &rep, "submitQuote", &deep, None).await;
    let body = app
        .gql(Some(&rep), "query($id: ID!) { quote(id: $id) { approval { id } } }", json!({"id": pending["id"]}))
        .await;
    let request = body["data"]["quote"]["approval"]["id"].clone();
    let reject =
        "mutation($i: ApprovalActionInput!) { rejectApproval(input: $i) { request { status } userErrors { code } } }";
    app.gql(Some(&admin), reject, json!({"i": {"requestId": request, "comment": "折扣过大"}})).await;
    let body = app.gql(Some(&rep), read, json!({"id": deep["id"]})).await;
    assert_eq!(body["data"]["quote"]["status"], "DRAFT", "{body}");
    let body = app.gql(Some(&rep3), read, json!({"id": deep["id"]})).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    // 20 % off: no flow applies, so the built-in rule decides it.
    let middle = ok(&app, &rep, &create, quote("20"), ("createQuote", "quote")).await;
    let pending = quote_action(&app, &rep, "submitQuote", &middle, None).await;
    let approved = quote_action(&app, &manager, "approveQuote", &pending, None).await;
    assert_eq!(approved["status"], "APPROVED");
}
