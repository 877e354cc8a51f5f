//! Commissions over HTTP: plans checked when saved (formula mistakes with their position,
//! a rep under two plans), previews with their steps, a month's calculation on signing
//! and on receipt, by progressive and whole-amount tiers, category rates, the new
//! customer bonus and a contract's split, idempotent and leased; adjustments,
//! confirmation, payment and clawbacks; and who sees which statement.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Datelike;
use common::*;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

/// rep2's customer, with no contracts in the demo data.
const JINLING: &str = "南京金陵商贸有限公司";

const PLAN: &str = "mutation($i: CreateCommissionPlanInput!) { createCommissionPlan(input: $i) { plan { id version \
    name earnedOn base tiers { shape bands { from ratePercent } } formula members { kind id } } \
    userErrors { field code message } } }";

const CONTRACT: &str = "id number status version approvedAt amount { amount } lines { net { amount } total { amount } quantity productId }";

const STATEMENT: &str = "id period status version total { amount } adjusted { amount } lineCount user { email } \
    lines(first: 20) { nodes { kind rule base ratePercent sharePercent amount { amount } reason contractId contract { id } plan { name } clawbackOf } }";

const CALCULATE: &str = "mutation($i: CalculateCommissionsInput!) { calculateCommissions(input: $i) { period \
    statements lines clawbacks locked total { amount } userErrors { field code message } } }";

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn fen(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn amount(value: &Value) -> Decimal {
    d(value["amount"].as_str().unwrap_or_else(|| panic!("no amount in {value}")))
}

struct Demo {
    app: TestApp,
    admin: String,
    finance: String,
    manager: String,
    rep1: String,
    rep2: String,
}

async fn demo() -> Demo {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let finance = app.login("finance@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let (rep1, rep2) = (app.login("rep1@demo.local").await, app.login("rep2@demo.local").await);
    // The demo's own plan covers every rep: these tests set up their own.
    let body = app.gql(Some(&admin), "{ commissionPlans(first: 10) { nodes { id version name } } }", json!({})).await;
    let plans = body["data"]["commissionPlans"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}")).clone();
    assert_eq!(plans.len(), 1, "the demo has one plan: {body}");
    let delete = "mutation($i: DeleteCommissionPlanInput!) { deleteCommissionPlan(input: $i) { plan { id } userErrors { field code message } } }";
    let input = json!({"id": plans[0]["id"], "expectedVersion": plans[0]["version"]});
    ok(&app, &admin, delete, input, ("deleteCommissionPlan", "plan")).await;
    Demo { app, admin, finance, manager, rep1, rep2 }
}

impl Demo {
    /// A contract of rep2's for 金陵, with `lines` of (product, quantity) or else `amount`,
    /// split as `split` asks before it goes for approval, approved by the demo's flow.
    async fn approved(&self, amount: &str, lines: &[(&Value, &str)], split: Option<Value>) -> Value {
        let customer = customer(&self.app, &self.rep2, JINLING).await;
        let fields = |amount: &str| json!({"title": "数控机床供货合同", "customerId": customer, "amount": amount, "signedOn": "2026-01-05"});
        let plan = |amount: &str| json!([{"amount": amount, "dueOn": "2026-12-31"}]);
        let mut input = fields(amount);
        input["installments"] = plan(amount);
        let query = format!(
            "mutation($i: CreateContractInput!) {{ createContract(input: $i) {{ contract {{ {CONTRACT} }} userErrors {{ field code message }} }} }}"
        );
        let mut contract = ok(&self.app, &self.rep2, &query, input, ("createContract", "contract")).await;
        if !lines.is_empty() {
            let lines: Vec<Value> = lines.iter().map(|(p, q)| json!({"productId": p, "quantity": q})).collect();
            let set = format!(
                "mutation($i: SetContractLinesInput!) {{ setContractLines(input: $i) {{ contract {{ {CONTRACT} }} userErrors {{ field code message }} }} }}"
            );
            let input = json!({"id": contract["id"], "expectedVersion": contract["version"], "lines": lines});
            contract = ok(&self.app, &self.rep2, &set, input, ("setContractLines", "contract")).await;
            // The plan follows the amount the lines set.
            let total = contract["amount"]["amount"].as_str().unwrap().to_owned();
            let update = format!(
                "mutation($i: UpdateContractInput!) {{ updateContract(input: $i) {{ contract {{ {CONTRACT} }} userErrors {{ field code message }} }} }}"
            );
            let input = json!({"id": contract["id"], "expectedVersion": contract["version"], "installments": plan(&total), "contract": fields(&total)});
            contract = ok(&self.app, &self.rep2, &update, input, ("updateContract", "contract")).await;
        }
        if let Some(shares) = split {
            self.split(&contract, shares).await;
            contract = self.contract(&self.rep2, &contract["id"]).await;
        }
        self.approve(&contract).await
    }

    /// Submits a draft and has the demo's flow (the manager, then finance) approve it.
    async fn approve(&self, contract: &Value) -> Value {
        approve_contract(&self.app, (&self.rep2, &self.manager, &self.finance), contract).await;
        let contract = self.contract(&self.rep2, &contract["id"]).await;
        assert_eq!(contract["status"], "APPROVED", "{contract}");
        contract
    }

    async fn split(&self, contract: &Value, shares: Value) {
        let input = json!({"contractId": contract["id"], "expectedVersion": contract["version"], "shares": shares});
        let query = "mutation($i: SetCommissionSplitInput!) { setCommissionSplit(input: $i) { shares { percent } userErrors { field code message } } }";
        ok(&self.app, &self.rep2, query, input, ("setCommissionSplit", "shares")).await;
    }

    async fn contract(&self, token: &str, id: &Value) -> Value {
        let query = format!("query($id: ID!) {{ contract(id: $id) {{ {CONTRACT} }} }}");
        self.app.gql(Some(token), &query, json!({"id": id})).await["data"]["contract"].clone()
    }

    async fn plan(&self, input: Value) -> Value {
        ok(&self.app, &self.admin, PLAN, json!({"plan": input}), ("createCommissionPlan", "plan")).await
    }

    async fn calculate(&self, period: &str) -> Value {
        let body = self.app.gql(Some(&self.finance), CALCULATE, json!({"i": {"period": period}})).await;
        let payload = &body["data"]["calculateCommissions"];
        assert_eq!(payload["userErrors"], json!([]), "{body}");
        payload.clone()
    }

    /// The statements of `period` that `token` sees, by the rep's email.
    async fn statements(&self, token: &str, period: &str) -> Vec<Value> {
        let query = format!(
            "query($p: String!) {{ commissionStatements(first: 5, filter: {{period: $p}}) {{ nodes {{ {STATEMENT} }} }} }}"
        );
        let body = self.app.gql(Some(token), &query, json!({"p": period})).await;
        let mut nodes =
            body["data"]["commissionStatements"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}")).clone();
        nodes.sort_by_key(|s| s["user"]["email"].as_str().unwrap_or_default().to_owned());
        nodes
    }

    async fn statement_of(&self, period: &str, email: &str) -> Value {
        let all = self.statements(&self.finance, period).await;
        all.into_iter().find(|s| s["user"]["email"] == email).unwrap_or_else(|| panic!("no statement for {email}"))
    }

    async fn statement_move(&self, name: &str, statement: &Value) -> Value {
        let query = format!(
            "mutation($i: CommissionStatementMoveInput!) {{ {name}(input: $i) {{ statement {{ {STATEMENT} }} userErrors {{ field code message }} }} }}"
        );
        let input = json!({"id": statement["id"], "expectedVersion": statement["version"]});
        self.app.gql(Some(&self.finance), &query, json!({"i": input})).await["data"][name].clone()
    }
}

/// The Shanghai month (YYYY-MM) of a timestamp, and the month after it.
fn months_of(at: &Value) -> (String, String) {
    let at: chrono::DateTime<chrono::Utc> = at.as_str().unwrap().parse().unwrap();
    let local = at + chrono::Duration::hours(8);
    let month = local.format("%Y-%m").to_string();
    let next = (local.date_naive().with_day(1).unwrap() + chrono::Duration::days(32)).format("%Y-%m").to_string();
    (month, next)
}

/// Each line of a statement as (kind, rule, base, rate, amount).
fn lines(statement: &Value) -> Vec<(String, String, Decimal, Option<Decimal>, Decimal)> {
    statement["lines"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().to_owned(),
                l["rule"].as_str().unwrap().to_owned(),
                d(l["base"].as_str().unwrap()),
                l["ratePercent"].as_str().map(d),
                amount(&l["amount"]),
            )
        })
        .collect()
}

#[tokio::test]
async fn signing_plans_pay_by_progressive_tiers_split_and_bonus_and_recalculate_idempotently() {
    let demo = demo().await;
    let app = &demo.app;
    let rep1_id = app.user_id(&demo.admin, "rep1@demo.local").await;
    let rep2_id = app.user_id(&demo.admin, "rep2@demo.local").await;
    let members = json!([{"kind": "USER", "id": rep1_id}, {"kind": "USER", "id": rep2_id}]);
    let plan = |formula: Option<&str>| {
        json!({"name": "2026 签约提成", "earnedOn": "SIGNING", "base": "GROSS", "ratePercent": "1",
            "tiers": {"shape": "PROGRESSIVE", "bands": [{"from": "0", "ratePercent": "2"}, {"from": "100000", "ratePercent": "3"}]},
            "newCustomerBonus": "500", "formula": formula, "members": members, "effectiveFrom": "2026-01-01"})
    };

    // A formula's mistakes come back on rules.formula with their position; nothing is saved.
    for (formula, at) in
        [("amount * bonus", "at character 10"), ("if(amount, 1, 2)", "at character 4"), ("amount +", "at character 9")]
    {
        let body = app.gql(Some(&demo.admin), PLAN, json!({"i": {"plan": plan(Some(formula))}})).await;
        let errors = &body["data"]["createCommissionPlan"]["userErrors"];
        assert_eq!(errors[0]["field"], "rules.formula", "{body}");
        assert!(errors[0]["message"].as_str().unwrap().contains(at), "{formula}: {body}");
    }
    let saved = demo.plan(plan(None)).await;
    assert_eq!(saved["tiers"]["shape"], "PROGRESSIVE");

    // A rep under two plans on one day is refused, naming them and the other plan.
    let sales_rep = app.role_id(&demo.admin, "sales_rep").await;
    let overlapping = json!({"name": "华东阶梯", "earnedOn": "RECEIPT", "members": [{"kind": "ROLE", "id": sales_rep}],
        "effectiveFrom": "2026-06-01", "ratePercent": "1"});
    let (codes, message) = refused(app, &demo.admin, PLAN, json!({"plan": overlapping}), "createCommissionPlan").await;
    assert_eq!(codes, ["CONFLICT"], "{message}");
    assert!(message.contains("2026 签约提成"), "{message}");
    // A rep may read plans but not write them.
    let body = app.gql(Some(&demo.rep2), PLAN, json!({"i": {"plan": plan(None)}})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    // The preview shows the rule and each step: 20,000 on top of 90,000 this month.
    let preview = "query($p: ID!, $s: CommissionSampleInput!) { previewCommission(planId: $p, sample: $s) { rule base ratePercent commission steps { expression value } } }";
    let body = app
        .gql(Some(&demo.rep2), preview, json!({"p": saved["id"], "s": {"amount": "20000", "monthTotal": "110000"}}))
        .await;
    let shown = &body["data"]["previewCommission"];
    assert_eq!((shown["rule"].as_str(), shown["commission"].as_str()), (Some("TIER"), Some("500")), "{body}");
    assert_eq!(shown["ratePercent"], "2.5");
    // An inactive plan saves beside it, and previews its formula step by step.
    let mut formula = plan(Some("if(margin > 1000, margin * 8%, 0) + min(amount * 0.5%, 50)"));
    formula["active"] = json!(false);
    let formula = demo.plan(formula).await;
    let body = app
        .gql(Some(&demo.rep2), preview, json!({"p": formula["id"], "s": {"amount": "20000", "cost": "15000"}}))
        .await;
    let shown = &body["data"]["previewCommission"];
    assert_eq!((shown["rule"].as_str(), shown["commission"].as_str()), (Some("FORMULA"), Some("450")), "{body}");
    let steps: Vec<&str> =
        shown["steps"].as_array().unwrap().iter().map(|s| s["expression"].as_str().unwrap()).collect();
    assert_eq!(
        steps,
        [
            "margin > 1000",
            "margin * 8%",
            "if(margin > 1000, margin * 8%, 0)",
            "amount * 0.5%",
            "min(amount * 0.5%, 50)",
            "if(margin > 1000, margin * 8%, 0) + min(amount * 0.5%, 50)"
        ]
    );

    // 80,000 for rep2 alone, then 50,000 split 70/30 with rep1. A split must add up to 100.
    let first = demo.approved("80000", &[], None).await;
    let customer_id = customer(app, &demo.rep2, JINLING).await;
    let draft = ok(
        app,
        &demo.rep2,
        &format!("mutation($i: CreateContractInput!) {{ createContract(input: $i) {{ contract {{ {CONTRACT} }} userErrors {{ field code message }} }} }}"),
        json!({"title": "试样", "customerId": customer_id, "amount": "1", "signedOn": "2026-01-05"}),
        ("createContract", "contract"),
    )
    .await;
    let split = "mutation($i: SetCommissionSplitInput!) { setCommissionSplit(input: $i) { shares { percent } userErrors { field code message } } }";
    let short = json!({"contractId": draft["id"], "expectedVersion": draft["version"],
        "shares": [{"userId": rep2_id, "percent": "70"}, {"userId": rep1_id, "percent": "20"}]});
    let (codes, message) = refused(app, &demo.rep2, split, short, "setCommissionSplit").await;
    assert_eq!(codes, ["INVALID"], "{message}");
    let shares = json!([{"userId": rep2_id, "percent": "70"}, {"userId": rep1_id, "percent": "30"}]);
    let second = demo.approved("50000", &[], Some(shares)).await;
    let (month, next) = months_of(&second["approvedAt"]);

    // rep2: 80,000 at 2 %; then 35,000 from 80,000 to 115,000 (20,000 at 2 %, 15,000 at
    // 3 %); 500 for 金陵's first contract. rep1: the demo's 明远 contract (580,000,
    // approved today: 100,000 at 2 % and 480,000 at 3 %, and 明远's bonus), then 15,000 at 3 %.
    let run = demo.calculate(&month).await;
    assert_eq!(
        (run["statements"].as_i64(), run["lines"].as_i64(), run["locked"].as_i64()),
        (Some(2), Some(6), Some(0)),
        "{run}"
    );
    let rep2 = demo.statement_of(&month, "rep2@demo.local").await;
    assert_eq!(amount(&rep2["total"]), d("2950"), "{rep2}");
    let expected = [
        ("SIGNING", "TIER", d("80000"), Some(d("2")), d("1600")),
        ("SIGNING", "TIER", d("35000"), Some(d("2.4286")), d("850")),
        ("NEW_CUSTOMER", "BONUS", d("0"), None, d("500")),
    ];
    let mut got = lines(&rep2);
    got.sort_by_key(|l| (l.0.clone(), -l.2));
    let mut want: Vec<_> =
        expected.iter().map(|(k, r, b, rate, a)| (k.to_string(), r.to_string(), *b, *rate, *a)).collect();
    want.sort_by_key(|l| (l.0.clone(), -l.2));
    assert_eq!(got, want);
    let rep1 = demo.statement_of(&month, "rep1@demo.local").await;
    assert_eq!(amount(&rep1["total"]), d("17350"), "{rep1}");
    assert_eq!(amount(&run["total"]), d("20300"));
    // rep1 is credited on rep2's contract without seeing it.
    let split_line =
        rep1["lines"]["nodes"].as_array().unwrap().iter().find(|l| l["contractId"] == second["id"]).unwrap();
    assert_eq!((split_line["sharePercent"].as_str(), split_line["contract"].is_null()), (Some("30"), false));
    let body = app
        .gql(
            Some(&demo.rep1),
            &format!("query($p: String!) {{ myCommission(period: $p) {{ {STATEMENT} }} }}"),
            json!({"p": month}),
        )
        .await;
    let mine = &body["data"]["myCommission"];
    let hidden = mine["lines"]["nodes"].as_array().unwrap().iter().find(|l| l["contractId"] == second["id"]).unwrap();
    assert!(hidden["contract"].is_null(), "rep1 must not see rep2's contract: {body}");
    assert_eq!(amount(&mine["total"]), d("17350"));

    // Running it again, twice at once, changes nothing: the lease lets one run at a time.
    let (a, b) = tokio::join!(
        app.gql(Some(&demo.finance), CALCULATE, json!({"i": {"period": month}})),
        app.gql(Some(&demo.finance), CALCULATE, json!({"i": {"period": month}}))
    );
    for body in [&a, &b] {
        let errors = &body["data"]["calculateCommissions"]["userErrors"];
        assert!(errors == &json!([]) || errors[0]["code"] == "CONFLICT", "{body}");
    }
    let again = demo.statement_of(&month, "rep2@demo.local").await;
    assert_eq!(
        (again["id"].clone(), amount(&again["total"]), again["lineCount"].clone()),
        (rep2["id"].clone(), d("2950"), json!(3))
    );

    // Adjustments: finance only, with a reason, kept by recalculation.
    let adjust = format!(
        "mutation($i: AdjustCommissionInput!) {{ adjustCommission(input: $i) {{ statement {{ {STATEMENT} }} userErrors {{ field code message }} }} }}"
    );
    let input = |amount: &str, version: &Value| json!({"statementId": again["id"], "expectedVersion": version, "amount": amount, "reason": "季度冲刺奖励"});
    let body = app.gql(Some(&demo.rep2), &adjust, json!({"i": input("100", &again["version"])})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let (codes, _) = refused(app, &demo.finance, &adjust, input("0", &again["version"]), "adjustCommission").await;
    assert_eq!(codes, ["INVALID"]);
    let adjusted =
        ok(app, &demo.finance, &adjust, input("100", &again["version"]), ("adjustCommission", "statement")).await;
    assert_eq!((amount(&adjusted["total"]), amount(&adjusted["adjusted"])), (d("3050"), d("100")));
    // A replay at the old version is a conflict, not a second adjustment.
    let (codes, _) = refused(app, &demo.finance, &adjust, input("100", &again["version"]), "adjustCommission").await;
    assert_eq!(codes, ["VERSION_CONFLICT"]);
    demo.calculate(&month).await;
    let kept = demo.statement_of(&month, "rep2@demo.local").await;
    assert_eq!(amount(&kept["total"]), d("3050"));
    let reason = kept["lines"]["nodes"].as_array().unwrap().iter().find(|l| l["kind"] == "ADJUSTMENT").unwrap();
    assert_eq!(reason["reason"], "季度冲刺奖励");

    // Confirmed, a statement is never rewritten; then paid, once.
    let confirmed = demo.statement_move("confirmCommissionStatement", &kept).await;
    assert_eq!(confirmed["statement"]["status"], "CONFIRMED", "{confirmed}");
    let run = demo.calculate(&month).await;
    assert_eq!(run["locked"], 1);
    let paid = demo.statement_move("markCommissionStatementPaid", &confirmed["statement"]).await;
    assert_eq!(paid["statement"]["status"], "PAID", "{paid}");
    let twice = demo.statement_move("markCommissionStatementPaid", &paid["statement"]).await;
    assert_eq!(user_error_codes(&twice), ["ILLEGAL_STATE"]);
    let (codes, _) =
        refused(app, &demo.finance, &adjust, input("5", &paid["statement"]["version"]), "adjustCommission").await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);

    // Who sees what: a rep their own, the manager their department's, another tenant none.
    let seen =
        |list: Vec<Value>| list.iter().map(|s| s["user"]["email"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(seen(demo.statements(&demo.rep2, &month).await), ["rep2@demo.local"]);
    assert_eq!(seen(demo.statements(&demo.rep1, &month).await), ["rep1@demo.local"]);
    assert_eq!(seen(demo.statements(&demo.manager, &month).await), ["rep1@demo.local", "rep2@demo.local"]);
    let by_id = "query($id: ID!) { commissionStatement(id: $id) { id } node(id: $id) { id } }";
    let body = app
        .gql(Some(&demo.rep1), "query($id: ID!) { commissionStatement(id: $id) { id } }", json!({"id": rep2["id"]}))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let body = app.gql(Some(&demo.rep1), "query($id: ID!) { node(id: $id) { id } }", json!({"id": rep2["id"]})).await;
    assert!(body["data"]["node"].is_null(), "{body}");
    let other = app.second_tenant("other").await;
    let body = app.gql(Some(&other), by_id, json!({"id": rep2["id"]})).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let body =
        app.gql(Some(&other), "query($id: ID!) { commissionPlan(id: $id) { id } }", json!({"id": saved["id"]})).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let body = app.gql(Some(&other), CALCULATE, json!({"i": {"period": month}})).await;
    assert_eq!(body["data"]["calculateCommissions"]["statements"], 0, "{body}");
    assert_eq!(demo.statements(&other, &month).await.len(), 0);
    let body = app.gql(Some(&demo.rep2), CALCULATE, json!({"i": {"period": month}})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");

    // The first contract is voided: its lines, paid in a confirmed statement, are clawed
    // back in the next month, once however often that month is calculated.
    let void = "mutation($i: ContractActionInput!) { voidContract(input: $i) { contract { status } userErrors { field code message } } }";
    let current = demo.contract(&demo.rep2, &first["id"]).await;
    let input = json!({"id": first["id"], "expectedVersion": current["version"], "reason": "客户取消采购"});
    ok(app, &demo.finance, void, input, ("voidContract", "contract")).await;
    for _ in 0..2 {
        let run = demo.calculate(&next).await;
        assert_eq!(run["clawbacks"], 2, "{run}");
    }
    let clawed = demo.statement_of(&next, "rep2@demo.local").await;
    assert_eq!(amount(&clawed["total"]), d("-2100"), "{clawed}");
    assert!(
        clawed["lines"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["kind"] == "CLAWBACK" && !l["clawbackOf"].is_null())
    );
    let untouched = demo.statement_of(&month, "rep2@demo.local").await;
    assert_eq!((untouched["status"].as_str(), amount(&untouched["total"])), (Some("PAID"), d("3050")));
}

#[tokio::test]
async fn receipt_plans_pay_in_proportion_on_the_margin_by_category_and_whole_amount_tiers() {
    let demo = demo().await;
    let app = &demo.app;
    let rep2_id = app.user_id(&demo.admin, "rep2@demo.local").await;
    let body = app.gql(Some(&demo.admin), "{ productCategories { id name } products(first: 50) { nodes { id code categoryId costPrice { amount } } } }", json!({})).await;
    let category_named = |name: &str| -> Value {
        body["data"]["productCategories"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["id"].clone()
    };
    let (cooling, service) = (category_named("空调设备"), category_named("服务与培训"));
    let products = body["data"]["products"]["nodes"].as_array().unwrap();
    let unit = products.iter().find(|p| p["code"] == "KT-35GW").unwrap().clone();
    let training = products
        .iter()
        .find(|p| p["categoryId"] == service && !p["costPrice"].is_null())
        .unwrap_or_else(|| panic!("{body}"))
        .clone();
    assert_eq!(unit["categoryId"], cooling);
    demo.plan(json!({"name": "回款毛利提成", "earnedOn": "RECEIPT", "base": "NET", "ratePercent": "0",
        "categoryRates": [{"categoryId": service, "ratePercent": "10"}],
        "tiers": {"shape": "WHOLE", "bands": [{"from": "0", "ratePercent": "1"}, {"from": "5000", "ratePercent": "4"}]},
        "members": [{"kind": "USER", "id": rep2_id}], "effectiveFrom": "2026-01-01"}))
        .await;
    let contract = demo.approved("1", &[(&unit["id"], "10"), (&training["id"], "1")], None).await;
    let total = amount(&contract["amount"]);
    let half = fen(total / d("2"));
    // Half the contract arrives today.
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let receipt = "mutation($i: CreateReceiptInput!) { createReceipt(input: $i) { receipt { id status version } userErrors { field code message } } }";
    let paid = ok(
        app,
        &demo.rep2,
        receipt,
        json!({"contractId": contract["id"], "receivedOn": today.to_string(), "method": "BANK_TRANSFER", "amount": half.to_string()}),
        ("createReceipt", "receipt"),
    )
    .await;
    assert_eq!(paid["status"], "APPROVED");
    let month = today.format("%Y-%m").to_string();
    let next = (today.with_day(1).unwrap() + chrono::Duration::days(32)).format("%Y-%m").to_string();

    // Each line's margin (net less cost × quantity), in the receipt's proportion: the
    // service line at its category's 10 %, the unit by the tier the month's total reaches.
    let part = half / total;
    let margin_of = |product: &Value| -> Decimal {
        let line = contract["lines"].as_array().unwrap().iter().find(|l| l["productId"] == product["id"]).unwrap();
        let cost = amount(&product["costPrice"]);
        (amount(&line["net"]) - cost * d(line["quantity"].as_str().unwrap())) * part
    };
    let (unit_margin, service_margin) = (margin_of(&unit), margin_of(&training));
    let tier_rate = if unit_margin >= d("5000") { d("4") } else { d("1") };
    let expected_unit = fen(unit_margin * tier_rate / d("100"));
    let expected_service = fen(service_margin * d("10") / d("100"));
    let run = demo.calculate(&month).await;
    assert_eq!(run["statements"], 1, "{run}");
    let statement = demo.statement_of(&month, "rep2@demo.local").await;
    let mut got: Vec<(String, Decimal)> =
        lines(&statement).into_iter().map(|(kind, rule, _, _, amount)| (format!("{kind}/{rule}"), amount)).collect();
    got.sort();
    assert_eq!(got, [("RECEIPT/CATEGORY".to_owned(), expected_service), ("RECEIPT/TIER".to_owned(), expected_unit)]);
    assert_eq!(amount(&statement["total"]), expected_unit + expected_service);

    // Confirmed, then the receipt is reversed: next month claws the lines back.
    let confirmed = demo.statement_move("confirmCommissionStatement", &statement).await;
    assert_eq!(confirmed["statement"]["status"], "CONFIRMED");
    let reverse = "mutation($i: ReverseReceiptInput!) { reverseReceipt(input: $i) { receipt { status } userErrors { field code message } } }";
    let input = json!({"id": paid["id"], "expectedVersion": paid["version"], "reason": "退票"});
    ok(app, &demo.finance, reverse, input, ("reverseReceipt", "receipt")).await;
    let run = demo.calculate(&next).await;
    assert_eq!(run["clawbacks"], 2, "{run}");
    let clawed = demo.statement_of(&next, "rep2@demo.local").await;
    assert_eq!(amount(&clawed["total"]), -(expected_unit + expected_service));
    // The reversed receipt no longer earns: this month, recalculated, is locked anyway.
    assert_eq!(demo.calculate(&month).await["locked"], 1);
}

#[tokio::test]
async fn a_revision_earns_its_difference_in_its_own_month_each_side_by_its_own_split() {
    let demo = demo().await;
    let app = &demo.app;
    let rep1_id = app.user_id(&demo.admin, "rep1@demo.local").await;
    let rep2_id = app.user_id(&demo.admin, "rep2@demo.local").await;
    demo.plan(json!({"name": "统一 2%", "earnedOn": "SIGNING", "ratePercent": "2",
        "members": [{"kind": "USER", "id": rep1_id}, {"kind": "USER", "id": rep2_id}], "effectiveFrom": "2026-01-01"}))
        .await;
    let original = demo.approved("100000", &[], None).await;
    // Revised up to 110,000 and split half and half with rep1.
    let revise = format!(
        "mutation($i: ContractActionInput!) {{ reviseContract(input: $i) {{ contract {{ {CONTRACT} }} userErrors {{ field code message }} }} }}"
    );
    let input = json!({"id": original["id"], "expectedVersion": original["version"]});
    let draft = ok(app, &demo.rep2, &revise, input, ("reviseContract", "contract")).await;
    let customer_id = customer(app, &demo.rep2, JINLING).await;
    let update = format!(
        "mutation($i: UpdateContractInput!) {{ updateContract(input: $i) {{ contract {{ {CONTRACT} }} userErrors {{ field code message }} }} }}"
    );
    let input = json!({"id": draft["id"], "expectedVersion": draft["version"], "installments": [{"amount": "110000", "dueOn": "2026-12-31"}],
        "contract": {"title": "数控机床供货合同（变更）", "customerId": customer_id, "amount": "110000", "signedOn": "2026-01-05"}});
    let draft = ok(app, &demo.rep2, &update, input, ("updateContract", "contract")).await;
    demo.split(&draft, json!([{"userId": rep2_id, "percent": "50"}, {"userId": rep1_id, "percent": "50"}])).await;
    // The contract in force keeps its split: only commission managers may change it.
    let current = demo.contract(&demo.rep2, &original["id"]).await;
    let query = "mutation($i: SetCommissionSplitInput!) { setCommissionSplit(input: $i) { shares { percent } userErrors { field code message } } }";
    let input = json!({"contractId": current["id"], "expectedVersion": current["version"], "shares": [{"userId": rep1_id, "percent": "100"}]});
    let (codes, _) = refused(app, &demo.rep2, query, input, "setCommissionSplit").await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);
    let revision = demo.approve(&demo.contract(&demo.rep2, &draft["id"]).await).await;
    let (month, next) = months_of(&revision["approvedAt"]);

    // rep2: 100,000 at 2 % for the original; the revision takes back the original's
    // 100,000 and credits half of 110,000: -45,000 at 2 %. rep1: half of 110,000, and the
    // demo's 明远 contract (580,000) approved today.
    demo.calculate(&month).await;
    let rep2 = demo.statement_of(&month, "rep2@demo.local").await;
    let mut got: Vec<(Decimal, Decimal)> = lines(&rep2).into_iter().map(|l| (l.2, l.4)).collect();
    got.sort();
    assert_eq!(got, [(d("-45000"), d("-900")), (d("100000"), d("2000"))], "{rep2}");
    let rep1 = demo.statement_of(&month, "rep1@demo.local").await;
    assert_eq!(amount(&rep1["total"]), d("12700"), "{rep1}");

    // A revision started and then voided as a draft takes nothing back.
    let current = demo.contract(&demo.rep2, &revision["id"]).await;
    let input = json!({"id": current["id"], "expectedVersion": current["version"]});
    let abandoned = ok(app, &demo.rep2, &revise, input, ("reviseContract", "contract")).await;
    let void = "mutation($i: ContractActionInput!) { voidContract(input: $i) { contract { status } userErrors { field code message } } }";
    let input = json!({"id": abandoned["id"], "expectedVersion": abandoned["version"], "reason": "不再变更"});
    ok(app, &demo.finance, void, input, ("voidContract", "contract")).await;
    let confirmed = demo.statement_move("confirmCommissionStatement", &rep2).await;
    assert_eq!(confirmed["statement"]["status"], "CONFIRMED");
    let run = demo.calculate(&next).await;
    assert_eq!(run["clawbacks"], 0, "{run}");
}
