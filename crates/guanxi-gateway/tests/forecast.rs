//! The sales forecast (销售预测): categories on deals, quotas, and the forecast's figures
//! against a hand-computed fixture, per month and quarter, per owner and department, by
//! scope. Over HTTP, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { opportunity { id version forecastCategory } userErrors { field code message } } }";
const CATEGORY: &str = "mutation($i: SetForecastCategoryInput!) { setOpportunityForecastCategory(input: $i) { opportunity { id version forecastCategory } userErrors { field code message } } }";
const QUOTAS: &str =
    "mutation($i: SetSalesQuotasInput!) { setSalesQuotas(input: $i) { saved userErrors { field code message } } }";
const FORECAST: &str = "query($f: ForecastFilter!) { forecast(filter: $f) { periods { start rows { owner { displayName } department { name } closedWon { amount } commit { amount } bestCase { amount } pipeline { amount } weighted { amount } quota { amount } attainment } total { closedWon { amount } weighted { amount } } } rows { owner { displayName } department { name } closedWon { amount } commit { amount } bestCase { amount } pipeline { amount } weighted { amount } quota { amount } attainment } total { commit { amount } quota { amount } } } }";

/// A deal of `customer` for `amount`, expected to close on `close`, put in `category`.
async fn deal(app: &TestApp, token: &str, customer: &str, amount: &str, close: &str, category: &str) -> Value {
    let input = json!({"customerId": customer, "name": format!("预测商机{amount}"), "amount": amount, "expectedCloseDate": close});
    let created = ok(app, token, CREATE, input, ("createOpportunity", "opportunity")).await;
    assert_eq!(created["forecastCategory"], "PIPELINE");
    if category == "PIPELINE" {
        return created;
    }
    let input = json!({"id": created["id"], "expectedVersion": created["version"], "category": category});
    ok(app, token, CATEGORY, input, ("setOpportunityForecastCategory", "opportunity")).await
}

/// A row as (who, [closedWon, commit, bestCase, pipeline, weighted, quota, attainment]).
fn rows(rows: &Value) -> Vec<(String, Vec<String>)> {
    let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
    rows.as_array()
        .unwrap_or_else(|| panic!("{rows}"))
        .iter()
        .map(|r| {
            let who = r["owner"]["displayName"].as_str().or(r["department"]["name"].as_str()).unwrap_or("?").to_owned();
            let figures = ["closedWon", "commit", "bestCase", "pipeline", "weighted"]
                .iter()
                .map(|f| text(&r[*f]["amount"]))
                .chain([text(&r["quota"]["amount"]), text(&r["attainment"])])
                .collect();
            (who, figures)
        })
        .collect()
}

fn expect(who: &str, figures: [&str; 7]) -> (String, Vec<String>) {
    (who.to_owned(), figures.iter().map(|f| (*f).to_owned()).collect())
}

#[tokio::test]
async fn the_forecast_adds_up_a_hand_computed_fixture_by_period_group_and_scope() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep2 = app.login("rep2@demo.local").await;
    let rep3 = app.login("rep3@demo.local").await;
    let mingyuan = customer(&app, &rep1, "上海明远机械制造有限公司").await;
    let jinling = customer(&app, &rep2, "南京金陵商贸有限公司").await;
    let jinghua = customer(&app, &rep3, "北京京华软件股份有限公司").await;

    // Every deal starts in 初步接洽 (10 %). Q1 2028, far from the demo's own deals.
    deal(&app, &rep1, &mingyuan, "10000.00", "2028-02-10", "COMMIT").await;
    deal(&app, &rep1, &mingyuan, "5000.50", "2028-02-20", "BEST_CASE").await;
    deal(&app, &rep1, &mingyuan, "2000.00", "2028-03-05", "PIPELINE").await;
    deal(&app, &rep1, &mingyuan, "3000.00", "2028-02-11", "OMITTED").await;
    deal(&app, &rep2, &jinling, "7000.00", "2028-02-01", "COMMIT").await;
    deal(&app, &rep3, &jinghua, "4000.00", "2028-01-20", "BEST_CASE").await;
    // One won deal, closed (by the fixture's clock) on 2028-01-15 in Shanghai.
    let won = deal(&app, &rep1, &mingyuan, "8000.00", "2028-01-31", "COMMIT").await;
    let stages = app.gql(Some(&rep1), "{ pipelines { isDefault stages { id kind } } }", json!({})).await;
    let pipeline =
        stages["data"]["pipelines"].as_array().unwrap().iter().find(|p| p["isDefault"] == true).cloned().unwrap();
    let won_stage = pipeline["stages"].as_array().unwrap().iter().find(|s| s["kind"] == "WON").cloned().unwrap();
    let moved = app
        .gql(Some(&rep1), "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { status forecastCategory version } userErrors { code } } }",
            json!({"i": {"id": won["id"], "expectedVersion": won["version"], "stageId": won_stage["id"], "reason": "签约"}}))
        .await;
    let moved = &moved["data"]["moveOpportunityStage"]["opportunity"];
    assert_eq!(
        (moved["status"].as_str(), moved["forecastCategory"].as_str()),
        (Some("WON"), Some("CLOSED")),
        "{moved}"
    );
    // The deal list filters by category, through the caller's scope.
    let list = "{ opportunities(filter: {forecastCategory: [COMMIT, BEST_CASE]}) { nodes { amount { amount } } } }";
    let mut amounts: Vec<String> = app.gql(Some(&rep1), list, json!({})).await["data"]["opportunities"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["amount"]["amount"].as_str().unwrap().to_owned())
        .collect();
    amounts.sort();
    assert_eq!(amounts, ["10000.00", "5000.50"]);
    let id =
        guanxi_gateway::graphql::relay::parse_global_id(&async_graphql::ID(won["id"].as_str().unwrap().to_owned()))
            .unwrap()
            .1;
    let conn = app.db.connection();
    let backend = sea_orm::ConnectionTrait::get_database_backend(conn);
    let shifted = chrono::DateTime::parse_from_rfc3339("2028-01-15T02:00:00Z").unwrap().with_timezone(&chrono::Utc);
    sea_orm::ConnectionTrait::execute_raw(
        conn,
        sea_orm::Statement::from_sql_and_values(
            backend,
            if backend == sea_orm::DbBackend::Postgres {
                "UPDATE opportunities SET closed_at = $1 WHERE id = $2"
            } else {
                "UPDATE opportunities SET closed_at = ? WHERE id = ?"
            },
            [shifted.into(), id.into()],
        ),
    )
    .await
    .unwrap();
    // A closed deal's category is its outcome's; CLOSED is not chosen by hand.
    let input = json!({"id": won["id"], "expectedVersion": moved["version"], "category": "COMMIT"});
    assert_eq!(refused(&app, &rep1, CATEGORY, input, "setOpportunityForecastCategory").await.0, ["ILLEGAL_STATE"]);
    let open = deal(&app, &rep1, &mingyuan, "1.00", "2029-01-01", "PIPELINE").await;
    let input = json!({"id": open["id"], "expectedVersion": open["version"], "category": "CLOSED"});
    assert_eq!(refused(&app, &rep1, CATEGORY, input, "setOpportunityForecastCategory").await.0, ["INVALID"]);

    // Quotas: the manager sets rep1's; a rep may not set their own; rep3 is outside the manager's scope.
    let rep1_id = app.user_id(&admin, "rep1@demo.local").await;
    let rep3_id = app.user_id(&admin, "rep3@demo.local").await;
    let quotas = json!({"userId": rep1_id, "quotas": [{"month": "2028-01-01", "amount": "10000"}, {"month": "2028-02-09", "amount": "20000"}]});
    assert_eq!(ok(&app, &manager, QUOTAS, quotas.clone(), ("setSalesQuotas", "saved")).await, true);
    assert_eq!(refused(&app, &rep1, QUOTAS, quotas, "setSalesQuotas").await.0, ["FORBIDDEN"]);
    let other = json!({"userId": rep3_id, "quotas": [{"month": "2028-01-01", "amount": "1"}]});
    assert_eq!(refused(&app, &manager, QUOTAS, other, "setSalesQuotas").await.0, ["NOT_FOUND"]);
    let bad = json!({"userId": rep1_id, "quotas": [{"month": "2028-01-01", "amount": "-1"}]});
    assert_eq!(refused(&app, &manager, QUOTAS, bad, "setSalesQuotas").await.0, ["INVALID"]);

    let filter = |extra: Value| {
        let mut f = json!({"from": "2028-01-01", "to": "2028-03-31"});
        f.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"f": f})
    };
    // rep1, by month: hand-computed. Weighted: 10 % of the open deals not omitted.
    let body = app.gql(Some(&rep1), FORECAST, filter(json!({}))).await;
    let periods = &body["data"]["forecast"]["periods"];
    assert_eq!(periods.as_array().map(Vec::len), Some(3), "{body}");
    assert_eq!(
        rows(&periods[0]["rows"]),
        [expect("王磊", ["8000.00", "0.00", "0.00", "0.00", "0.00", "10000.00", "80.00"])]
    );
    assert_eq!(
        rows(&periods[1]["rows"]),
        [expect("王磊", ["0.00", "10000.00", "5000.50", "0.00", "1500.05", "20000.00", "0.00"])]
    );
    assert_eq!(
        rows(&periods[2]["rows"]),
        [expect("王磊", ["0.00", "0.00", "0.00", "2000.00", "200.00", "null", "null"])]
    );

    // The manager sees the east team (rep1 and rep2), not rep3.
    let body = app.gql(Some(&manager), FORECAST, filter(json!({}))).await;
    let whole = rows(&body["data"]["forecast"]["rows"]);
    let names: Vec<&str> = whole.iter().map(|(w, _)| w.as_str()).collect();
    assert!(names.contains(&"王磊") && names.contains(&"刘洋") && !names.contains(&"陈静"), "{body}");
    assert!(whole.contains(&expect("刘洋", ["0.00", "7000.00", "0.00", "0.00", "700.00", "null", "null"])));

    // The admin, by quarter and department: 华东一组 (rep1), 华东二组 (rep2), 华北销售部 (rep3).
    let body =
        app.gql(Some(&admin), FORECAST, filter(json!({"granularity": "QUARTER", "groupBy": "DEPARTMENT"}))).await;
    let quarter = &body["data"]["forecast"]["periods"];
    assert_eq!(quarter.as_array().map(Vec::len), Some(1), "{body}");
    let by_department = rows(&quarter[0]["rows"]);
    assert!(
        by_department.contains(&expect(
            "华东一组",
            ["8000.00", "10000.00", "5000.50", "2000.00", "1700.05", "30000.00", "26.67"]
        )),
        "{by_department:?}"
    );
    assert!(
        by_department.contains(&expect("华东二组", ["0.00", "7000.00", "0.00", "0.00", "700.00", "null", "null"])),
        "{by_department:?}"
    );
    assert!(
        by_department.contains(&expect("华北销售部", ["0.00", "0.00", "4000.00", "0.00", "400.00", "null", "null"])),
        "{by_department:?}"
    );
    assert_eq!(body["data"]["forecast"]["total"]["commit"]["amount"], "17000.00");
    assert_eq!(body["data"]["forecast"]["total"]["quota"]["amount"], "30000.00");
    // Named owners only; a window too long or backwards is refused.
    let body = app.gql(Some(&admin), FORECAST, filter(json!({"ownerIds": [rep3_id]}))).await;
    assert_eq!(
        rows(&body["data"]["forecast"]["rows"]),
        [expect("陈静", ["0.00", "0.00", "4000.00", "0.00", "400.00", "null", "null"])]
    );
    let body = app.gql(Some(&admin), FORECAST, json!({"f": {"from": "2028-01-01", "to": "2030-06-01"}})).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    // Without opportunity.read there is no forecast.
    let tech = app.login("tech@demo.local").await;
    assert_eq!(error_code(&app.gql(Some(&tech), FORECAST, filter(json!({}))).await), "FORBIDDEN");
}
