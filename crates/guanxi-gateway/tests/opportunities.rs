//! Opportunities, pipelines and the funnel, over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use guanxi_store::ConnectionTrait;
use serde_json::{Value, json};

const OPP: &str = "id name status version amount { amount currency } weightedAmount { amount } closeReason closedAt \
    owner { email } customer { name } stage { name position probability kind }";
const CREATE: &str = "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { opportunity { id name status version amount { amount currency } weightedAmount { amount } owner { email } customer { name } stage { name position } } userErrors { field code message } } }";
const MOVE: &str = "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { id status version closeReason closedAt stage { name kind } } userErrors { field code message } } }";
const FUNNEL: &str = "query($f: OpportunityFilter) { funnel(filter: $f) { openCount openAmount { amount } weightedAmount { amount } wonCount wonAmount { amount } lostCount lostAmount { amount } winRate stages { stage { name kind } count amount { amount } weightedAmount { amount } reached conversionToNext averageDaysInStage } } }";

/// The default pipeline's stage ids, in order.
async fn stages(app: &TestApp, token: &str) -> Vec<String> {
    let body = app.gql(Some(token), "{ pipelines { isDefault stages { id name } } }", json!({})).await;
    let default = body["data"]["pipelines"].as_array().unwrap().iter().find(|p| p["isDefault"] == true).cloned();
    default.unwrap_or_else(|| panic!("{body}"))["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn create(app: &TestApp, token: &str, input: Value) -> Value {
    let body = app.gql(Some(token), CREATE, json!({"i": input})).await;
    let payload = &body["data"]["createOpportunity"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    payload["opportunity"].clone()
}

async fn count_rows(app: &TestApp, table: &str) -> usize {
    app.db
        .connection()
        .query_all_raw(guanxi_store::dialect::raw_statement(
            app.db.db_backend(),
            &format!("SELECT id FROM {table}"),
            [],
        ))
        .await
        .unwrap()
        .len()
}

fn stage_names(funnel: &Value) -> Vec<(String, u64, String)> {
    funnel["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"]["name"].as_str().unwrap().to_owned(),
                s["count"].as_u64().unwrap(),
                s["amount"]["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_deal_moves_through_its_pipeline_and_the_funnel_and_360_count_it() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let stage = stages(&app, &rep1).await;
    let mingyuan = customer(&app, &rep1, "上海明远机械制造有限公司").await;
    let deal = create(
        &app,
        &rep1,
        json!({"customerId": mingyuan, "name": "二期厂房设备", "amount": "300000.50", "expectedCloseDate": "2027-03-31"}),
    )
    .await;
    assert_eq!(deal["stage"]["name"], "初步接洽");
    assert_eq!(deal["owner"]["email"], "rep1@demo.local");
    assert_eq!(deal["amount"], json!({"amount": "300000.50", "currency": "CNY"}));
    assert_eq!(deal["weightedAmount"]["amount"], "30000.05");
    let id = deal["id"].as_str().unwrap().to_owned();

    let moved = app.gql(Some(&rep1), MOVE, json!({"i": {"id": id, "expectedVersion": 1, "stageId": stage[2]}})).await;
    let moved = &moved["data"]["moveOpportunityStage"]["opportunity"];
    assert_eq!((moved["stage"]["name"].as_str(), moved["version"].as_i64()), (Some("方案报价"), Some(2)));
    // Lost needs a reason; without one nothing changes.
    let refused = app.gql(Some(&rep1), MOVE, json!({"i": {"id": id, "expectedVersion": 2, "stageId": stage[5]}})).await;
    assert_eq!(user_error_codes(&refused["data"]["moveOpportunityStage"]), ["REQUIRED"], "{refused}");
    // Moving to the stage it is in is refused too (a retried move is not recorded twice).
    let same = app.gql(Some(&rep1), MOVE, json!({"i": {"id": id, "expectedVersion": 2, "stageId": stage[2]}})).await;
    assert_eq!(user_error_codes(&same["data"]["moveOpportunityStage"]), ["ILLEGAL_STATE"], "{same}");
    let lost = app
        .gql(
            Some(&rep1),
            MOVE,
            json!({"i": {"id": id, "expectedVersion": 2, "stageId": stage[5], "reason": "预算取消"}}),
        )
        .await;
    let lost = &lost["data"]["moveOpportunityStage"]["opportunity"];
    assert_eq!((lost["status"].as_str(), lost["closeReason"].as_str()), (Some("LOST"), Some("预算取消")), "{lost}");
    assert!(lost["closedAt"].is_string());

    let detail = app
        .gql(
            Some(&rep1),
            "query($id: ID!) { opportunity(id: $id) { version stageHistory { fromStage { name } toStage { name } changedBy { email } daysInFromStage amount { amount } } } }",
            json!({"id": id}),
        )
        .await;
    let history = detail["data"]["opportunity"]["stageHistory"].as_array().unwrap().clone();
    let path: Vec<(Value, Value)> =
        history.iter().map(|h| (h["fromStage"]["name"].clone(), h["toStage"]["name"].clone())).collect();
    assert_eq!(
        path,
        [(Value::Null, json!("初步接洽")), (json!("初步接洽"), json!("方案报价")), (json!("方案报价"), json!("输单"))],
        "{detail}"
    );
    assert_eq!(history[1]["changedBy"]["email"], "rep1@demo.local");
    assert_eq!(history[2]["daysInFromStage"], 0.0);
    // The change log has the create and both moves.
    let log = app
        .gql(Some(&rep1), "query($id: ID!) { history(id: $id) { totalCount nodes { operation } } }", json!({"id": id}))
        .await;
    assert_eq!(log["data"]["history"]["totalCount"], 3, "{log}");

    // rep1's funnel: the demo deals (上海明远 at 方案报价, 苏州恒信 won) and the lost one.
    let mine = app.user_id(&app.login("admin@demo.local").await, "rep1@demo.local").await;
    let funnel = app.gql(Some(&rep1), FUNNEL, json!({"f": {"ownerId": {"eq": mine}}})).await;
    let f = &funnel["data"]["funnel"];
    assert_eq!(
        stage_names(f),
        [
            ("初步接洽".to_owned(), 0, "0.00".to_owned()),
            ("需求确认".to_owned(), 0, "0.00".to_owned()),
            ("方案报价".to_owned(), 1, "580000.00".to_owned()),
            ("谈判审核".to_owned(), 0, "0.00".to_owned()),
            ("赢单".to_owned(), 1, "1200000.00".to_owned()),
            ("输单".to_owned(), 1, "300000.50".to_owned()),
        ],
        "{funnel}"
    );
    let reached: Vec<u64> = f["stages"].as_array().unwrap().iter().map(|s| s["reached"].as_u64().unwrap()).collect();
    // All three entered the first two stages and 方案报价; one went on to 谈判审核 and won.
    assert_eq!(reached, [3, 3, 3, 1, 1, 1], "{funnel}");
    assert_eq!(f["stages"][2]["conversionToNext"].as_f64().unwrap(), 1.0 / 3.0);
    assert_eq!((f["openCount"].as_u64(), f["wonCount"].as_u64(), f["lostCount"].as_u64()), (Some(1), Some(1), Some(1)));
    assert_eq!(f["weightedAmount"]["amount"], "290000.00");
    assert_eq!(f["winRate"], 0.5);
    assert!(f["stages"][0]["averageDaysInStage"].is_number(), "{funnel}");

    // The 360 view counts the customer's deals: one open (the demo deal), none won.
    let view = app
        .gql(
            Some(&rep1),
            "query($id: ID!) { customer360(id: $id) { summary { openOpportunityCount openOpportunityAmount { amount } wonAmount { amount } } opportunities(first: 10) { totalCount nodes { name status } } } }",
            json!({"id": mingyuan}),
        )
        .await;
    let v = &view["data"]["customer360"];
    assert_eq!(v["summary"]["openOpportunityCount"], 1, "{view}");
    assert_eq!(v["summary"]["openOpportunityAmount"]["amount"], "580000.00");
    assert_eq!(v["summary"]["wonAmount"]["amount"], "0.00");
    assert_eq!(v["opportunities"]["totalCount"], 2);
    assert_eq!(v["opportunities"]["nodes"][0]["name"], "二期厂房设备");
}

#[tokio::test]
async fn concurrent_moves_of_one_deal_conflict_and_never_lose_an_update() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let stage = stages(&app, &rep1).await;
    let mingyuan = customer(&app, &rep1, "上海明远机械制造有限公司").await;
    let deal = create(&app, &rep1, json!({"customerId": mingyuan, "name": "并发测试", "amount": "100"})).await;
    let id = deal["id"].as_str().unwrap().to_owned();
    let moves = (1..=4).flat_map(|s| [s, s]).map(|s| {
        let (app, rep1, id, to) = (&app, &rep1, id.clone(), stage[s].clone());
        async move { app.gql(Some(rep1), MOVE, json!({"i": {"id": id, "expectedVersion": 1, "stageId": to}})).await }
    });
    let replies = futures::future::join_all(moves).await;
    let won: Vec<&Value> =
        replies.iter().filter(|r| r["data"]["moveOpportunityStage"]["opportunity"].is_object()).collect();
    assert_eq!(won.len(), 1, "{replies:?}");
    for reply in replies.iter().filter(|r| r["data"]["moveOpportunityStage"]["opportunity"].is_null()) {
        assert_eq!(user_error_codes(&reply["data"]["moveOpportunityStage"]), ["VERSION_CONFLICT"], "{reply}");
    }
    let detail = app
        .gql(
            Some(&rep1),
            "query($id: ID!) { opportunity(id: $id) { version stage { name } stageHistory { toStage { name } } } }",
            json!({"id": id}),
        )
        .await;
    let o = &detail["data"]["opportunity"];
    assert_eq!(o["version"], 2, "{detail}");
    let history = o["stageHistory"].as_array().unwrap();
    assert_eq!(history.len(), 2, "one created stage and the one winning move: {detail}");
    assert_eq!(history[1]["toStage"]["name"], o["stage"]["name"]);
    assert_eq!(won[0]["data"]["moveOpportunityStage"]["opportunity"]["stage"]["name"], o["stage"]["name"]);
}

#[tokio::test]
async fn bad_deals_are_user_errors_and_write_nothing_and_retries_create_once() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let admin = app.login("admin@demo.local").await;
    let mine = customer(&app, &rep1, "上海明远机械制造有限公司").await;
    let theirs = customer(&app, &admin, "北京京华软件股份有限公司").await;
    let stage = stages(&app, &rep1).await;
    let before = (count_rows(&app, "opportunities").await, count_rows(&app, "opportunity_stage_changes").await);
    let cases = [
        (json!({"customerId": mine, "name": "  ", "amount": "1"}), "name"),
        (json!({"customerId": mine, "name": "负数", "amount": "-1"}), "amount"),
        (json!({"customerId": mine, "name": "三位小数", "amount": "1.005"}), "amount"),
        (json!({"customerId": theirs, "name": "别人的客户", "amount": "1"}), "customerId"),
        (json!({"customerId": mine, "name": "直接赢单", "amount": "1", "stageId": stage[4]}), "stageId"),
        (json!({"customerId": mine, "name": "坏 id", "amount": "1", "stageId": "not-an-id"}), "stageId"),
        (json!({"customerId": mine, "name": "x".repeat(101), "amount": "1"}), "name"),
    ];
    for (input, field) in cases {
        let body = app.gql(Some(&rep1), CREATE, json!({"i": input})).await;
        let errors = body["data"]["createOpportunity"]["userErrors"].as_array().unwrap_or_else(|| panic!("{body}"));
        assert!(errors.iter().any(|e| e["field"] == field), "{field}: {body}");
    }
    assert_eq!((count_rows(&app, "opportunities").await, count_rows(&app, "opportunity_stage_changes").await), before);
    // A retried create with its idempotency key returns the first deal and writes nothing.
    let input = json!({"customerId": mine, "name": "弱网重试", "amount": "88.80", "idempotencyKey": "k-1"});
    let first = create(&app, &rep1, input.clone()).await;
    let again = create(&app, &rep1, input).await;
    assert_eq!(first["id"], again["id"]);
    assert_eq!(count_rows(&app, "opportunities").await, before.0 + 1);
    let reused = app
        .gql(
            Some(&rep1),
            CREATE,
            json!({"i": {"customerId": mine, "name": "别的内容", "amount": "1", "idempotencyKey": "k-1"}}),
        )
        .await;
    assert_eq!(user_error_codes(&reused["data"]["createOpportunity"]), ["IDEMPOTENCY_KEY_REUSED"], "{reused}");
    // A stale update is a conflict and changes nothing.
    let update = "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { opportunity { name version amount { amount } notes source } userErrors { code } } }";
    let id = first["id"].clone();
    let ok = app
        .gql(Some(&rep1), update, json!({"i": {"id": id, "expectedVersion": 1, "amount": "99.90", "notes": "客户要求分期", "source": "展会"}}))
        .await;
    let updated = &ok["data"]["updateOpportunity"]["opportunity"];
    assert_eq!(
        (updated["amount"]["amount"].as_str(), updated["notes"].as_str()),
        (Some("99.90"), Some("客户要求分期")),
        "{ok}"
    );
    // Left out stays, null clears.
    let cleared = app.gql(Some(&rep1), update, json!({"i": {"id": id, "expectedVersion": 2, "notes": null}})).await;
    let cleared = &cleared["data"]["updateOpportunity"]["opportunity"];
    assert_eq!((cleared["notes"].clone(), cleared["source"].clone()), (Value::Null, json!("展会")), "{cleared}");
    let stale = app.gql(Some(&rep1), update, json!({"i": {"id": id, "expectedVersion": 1, "name": "旧版本"}})).await;
    assert_eq!(user_error_codes(&stale["data"]["updateOpportunity"]), ["VERSION_CONFLICT"]);
    // Pipelines: only admins add them, and bad stages are listed field by field.
    let pipeline = "mutation($i: CreatePipelineInput!) { createPipeline(input: $i) { pipeline { name stages { name probability kind position } } userErrors { field code } } }";
    let denied =
        app.gql(Some(&rep1), pipeline, json!({"i": {"name": "渠道", "stages": [{"name": "A", "kind": "OPEN"}]}})).await;
    assert_eq!(error_code(&denied), "FORBIDDEN", "{denied}");
    let bad = app
        .gql(Some(&admin), pipeline, json!({"i": {"name": "渠道", "stages": [{"name": "A", "probability": 150, "kind": "OPEN"}, {"name": "赢", "kind": "WON"}]}}))
        .await;
    assert_eq!(user_error_codes(&bad["data"]["createPipeline"]), ["INVALID"], "{bad}");
    let good = app
        .gql(Some(&admin), pipeline, json!({"i": {"name": "渠道", "stages": [{"name": "输", "kind": "LOST"}, {"name": "签约", "probability": 40, "kind": "OPEN"}, {"name": "赢", "kind": "WON"}]}}))
        .await;
    let stages: Vec<(Value, Value)> = good["data"]["createPipeline"]["pipeline"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].clone(), s["probability"].clone()))
        .collect();
    assert_eq!(stages, [(json!("签约"), json!(40)), (json!("赢"), json!(100)), (json!("输"), json!(0))], "{good}");
}

#[tokio::test]
async fn deals_outside_the_callers_scope_do_not_exist_for_them() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep2 = app.login("rep2@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let mingyuan = customer(&app, &rep1, "上海明远机械制造有限公司").await;
    let deal = create(&app, &rep1, json!({"customerId": mingyuan, "name": "保密项目", "amount": "1000"})).await;
    let id = deal["id"].as_str().unwrap().to_owned();
    let list = "{ opportunities(first: 50) { totalCount nodes { name owner { email } } } }";
    let names = |body: &Value| -> Vec<String> {
        body["data"]["opportunities"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_owned())
            .collect()
    };

    // rep2 (own records): not by id, not in a list or its count, not as a node, not in
    // the change log, not in the funnel, and a move finds nothing.
    let by_id = app.gql(Some(&rep2), "query($id: ID!) { opportunity(id: $id) { name } }", json!({"id": id})).await;
    assert_eq!(error_code(&by_id), "NOT_FOUND", "{by_id}");
    let listed = app.gql(Some(&rep2), list, json!({})).await;
    assert!(!names(&listed).contains(&"保密项目".to_owned()), "{listed}");
    assert_eq!(listed["data"]["opportunities"]["totalCount"], 2, "rep2's two demo deals: {listed}");
    let node = app.gql(Some(&rep2), "query($id: ID!) { node(id: $id) { id } }", json!({"id": id})).await;
    assert_eq!(node["data"]["node"], Value::Null, "{node}");
    let history = app.gql(Some(&rep2), "query($id: ID!) { history(id: $id) { totalCount } }", json!({"id": id})).await;
    assert_eq!(error_code(&history), "NOT_FOUND", "{history}");
    let funnel = app.gql(Some(&rep2), FUNNEL, json!({})).await;
    let f = &funnel["data"]["funnel"];
    assert_eq!(
        (f["openCount"].as_u64(), f["wonCount"].as_u64(), f["lostCount"].as_u64()),
        (Some(2), Some(0), Some(0)),
        "{funnel}"
    );
    assert_eq!(f["openAmount"]["amount"], "326000.00");
    let stage = stages(&app, &rep2).await;
    let moved = app.gql(Some(&rep2), MOVE, json!({"i": {"id": id, "expectedVersion": 1, "stageId": stage[1]}})).await;
    assert_eq!(user_error_codes(&moved["data"]["moveOpportunityStage"]), ["NOT_FOUND"], "{moved}");

    // The east manager (department subtree) sees the team's deals, not 北京京华 (rep3, north).
    let team = app.gql(Some(&manager), list, json!({})).await;
    let team_names: std::collections::BTreeSet<String> = names(&team).into_iter().collect();
    let expected = ["企业内训年度合同", "仓储管理系统", "保密项目", "冷链物流试点", "数控机床升级项目", "SMT 产线扩容"];
    assert_eq!(team_names, expected.iter().map(|n| n.to_string()).collect(), "{team}");
    let team_funnel = app.gql(Some(&manager), FUNNEL, json!({})).await;
    assert_eq!(team_funnel["data"]["funnel"]["lostCount"], 0, "{team_funnel}");
    // The manager's funnel for one rep's department narrows to that rep.
    let (east_2, _) = app.department(&admin, "华东二组").await;
    let rep2_funnel = app.gql(Some(&manager), FUNNEL, json!({"f": {"departmentId": east_2}})).await;
    assert_eq!(rep2_funnel["data"]["funnel"]["openCount"], 2, "{rep2_funnel}");
    // The admin's funnel sees every deal, rep3's lost one included.
    let everything = app.gql(Some(&admin), FUNNEL, json!({})).await;
    assert_eq!(everything["data"]["funnel"]["lostCount"], 1, "{everything}");

    // Another tenant sees none of it.
    let other = app.second_tenant("other").await;
    let theirs = app.gql(Some(&other), list, json!({})).await;
    assert_eq!(theirs["data"]["opportunities"]["totalCount"], 0, "{theirs}");
    let foreign = app.gql(Some(&other), "query($id: ID!) { opportunity(id: $id) { name } }", json!({"id": id})).await;
    assert_eq!(error_code(&foreign), "NOT_FOUND");
    let their_funnel = app.gql(Some(&other), FUNNEL, json!({})).await;
    assert_eq!(their_funnel["data"]["funnel"]["openCount"], 0, "{their_funnel}");
}

#[tokio::test]
async fn transfers_hand_over_open_deals_and_merges_carry_them_to_the_survivor() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep2_id = app.user_id(&admin, "rep2@demo.local").await;
    let suzhou = customer(&app, &admin, "苏州恒信电子科技有限公司").await;
    let open = create(&app, &admin, json!({"customerId": suzhou, "name": "二期扩容", "amount": "5000", "ownerId": app.user_id(&admin, "rep1@demo.local").await})).await;
    let version = app
        .gql(Some(&admin), "query($id: ID!) { customer(id: $id) { version } }", json!({"id": suzhou}))
        .await["data"]["customer"]["version"]
        .as_i64()
        .unwrap();
    let update =
        "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { customer { version } userErrors { code } } }";
    let moved = app
        .gql(Some(&admin), update, json!({"i": {"id": suzhou, "expectedVersion": version, "ownerId": rep2_id}}))
        .await;
    assert_eq!(moved["data"]["updateCustomer"]["userErrors"], json!([]), "{moved}");
    let deals = app
        .gql(
            Some(&admin),
            "query($id: ID!) { customer360(id: $id) { opportunities(first: 10) { nodes { name status owner { email } } } } }",
            json!({"id": suzhou}),
        )
        .await;
    let owners: Vec<(Value, Value)> = deals["data"]["customer360"]["opportunities"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["name"].clone(), n["owner"]["email"].clone()))
        .collect();
    // The open deal follows the customer; the won one stays credited to who won it.
    assert!(owners.contains(&(json!("二期扩容"), json!("rep2@demo.local"))), "{deals}");
    assert!(owners.contains(&(json!("SMT 产线扩容"), json!("rep1@demo.local"))), "{deals}");
    let log = app
        .gql(
            Some(&admin),
            "query($id: ID!) { history(id: $id) { nodes { operation changes { field } } } }",
            json!({"id": open["id"]}),
        )
        .await;
    assert_eq!(log["data"]["history"]["nodes"][0]["changes"][0]["field"], "ownerId", "{log}");

    // Merging 南京金陵 into 苏州恒信 moves its deal to the survivor.
    let nanjing = customer(&app, &admin, "南京金陵商贸有限公司").await;
    let version = app
        .gql(Some(&admin), "query($id: ID!) { customer(id: $id) { version } }", json!({"id": suzhou}))
        .await["data"]["customer"]["version"]
        .as_i64()
        .unwrap();
    let merge = "mutation($i: MergeCustomersInput!) { mergeCustomers(input: $i) { customer { id } userErrors { code message } } }";
    let merged = app
        .gql(
            Some(&admin),
            merge,
            json!({"i": {"survivorId": suzhou, "expectedVersion": version, "mergedIds": [nanjing]}}),
        )
        .await;
    assert_eq!(merged["data"]["mergeCustomers"]["userErrors"], json!([]), "{merged}");
    let after = app
        .gql(
            Some(&admin),
            "query($id: ID!) { customer360(id: $id) { summary { openOpportunityCount } opportunities(first: 10) { nodes { name owner { email } } } } }",
            json!({"id": suzhou}),
        )
        .await;
    let names: Vec<&str> = after["data"]["customer360"]["opportunities"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"仓储管理系统"), "{after}");
    assert_eq!(after["data"]["customer360"]["summary"]["openOpportunityCount"], 2, "{after}");
}

#[tokio::test]
async fn a_page_of_deals_with_everything_nested_costs_the_same_statements_at_any_size() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let query = format!(
        "{{ opportunities(first: 50) {{ totalCount nodes {{ {OPP} stageHistory {{ fromStage {{ name }} toStage {{ name }} changedBy {{ email }} }} }} }} }}"
    );
    let body = json!({"query": query});
    let customers = ["上海明远机械制造有限公司", "杭州云帆培训学校有限公司", "宁波港通物流有限公司"];
    let mut ids = Vec::new();
    for name in customers {
        ids.push(customer(&app, &admin, name).await);
    }
    // One deal moved by a user, so the page already reaches every nested kind.
    create(&app, &admin, json!({"customerId": ids[0], "name": "首个商机", "amount": "10"})).await;
    let (small, first) = app.fewest_statements(Some(&admin), &body).await;
    assert_eq!(first["data"]["opportunities"]["totalCount"], 7, "{first}");
    for (i, id) in ids.iter().cycle().take(12).enumerate() {
        create(&app, &admin, json!({"customerId": id, "name": format!("批量商机 {i}"), "amount": "10"})).await;
    }
    let (large, second) = app.fewest_statements(Some(&admin), &body).await;
    assert_eq!(second["data"]["opportunities"]["totalCount"], 19, "{second}");
    // The page, its count, then one statement per nested kind: customers, owners, stages,
    // stage changes and the users who moved them.
    assert!(large <= small && small <= 9, "{small} statements for 7 deals, {large} for 19");
    // The 360 summary reads the deal figures (one grouped statement) only when asked.
    let summary = |fields: &str| json!({"query": format!("query($id: ID!) {{ customer360(id: $id) {{ summary {{ {fields} }} }} }}"), "variables": {"id": ids[0]}});
    let (contacts_only, _) = app.fewest_statements(Some(&admin), &summary("contactCount")).await;
    let (with_deals, body) =
        app.fewest_statements(Some(&admin), &summary("contactCount openOpportunityCount wonAmount { amount }")).await;
    assert_eq!(body["data"]["customer360"]["summary"]["openOpportunityCount"], 6, "{body}");
    assert_eq!(with_deals, contacts_only + 1, "{body}");
}

#[tokio::test]
async fn tenants_that_existed_before_opportunities_get_the_default_pipeline() {
    use guanxi_migration::{Migrator, MigratorTrait, Query};
    let dir = std::env::temp_dir().join(format!("guanxi-test-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = guanxi_store::Database::connect(&fresh_database(&dir).await, None).await.unwrap();
    // The schema as it was before the opportunities migration, with a tenant in it.
    Migrator::up(db.connection(), Some(6)).await.unwrap();
    let tenant = uuid::Uuid::now_v7();
    let now = chrono::Utc::now();
    let insert = Query::insert()
        .into_table("tenants")
        .columns(["id", "slug", "name", "change_seq", "settings", "version", "created_at", "updated_at"])
        .values_panic([
            tenant.into(),
            "early".into(),
            "早期客户".into(),
            0_i64.into(),
            json!({}).into(),
            1.into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    db.connection().execute(&insert).await.unwrap();
    Migrator::up(db.connection(), None).await.unwrap();
    let pipeline =
        guanxi_store::sales::pipeline::pipeline(db.connection(), tenant.into(), None).await.unwrap().unwrap();
    let names: Vec<&str> = pipeline.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["初步接洽", "需求确认", "方案报价", "谈判审核", "赢单", "输单"]);
    assert!(pipeline.is_default);
    db.close().await.ok();
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn the_work_log_counts_deals_created_and_won_with_the_deals_behind_them() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep1_id = app.user_id(&admin, "rep1@demo.local").await;
    let stage = stages(&app, &rep1).await;
    let mingyuan = customer(&app, &rep1, "上海明远机械制造有限公司").await;
    let deal = create(&app, &rep1, json!({"customerId": mingyuan, "name": "备件年框", "amount": "5000"})).await;
    let won =
        app.gql(Some(&rep1), MOVE, json!({"i": {"id": deal["id"], "expectedVersion": 1, "stageId": stage[4]}})).await;
    assert_eq!(won["data"]["moveOpportunityStage"]["opportunity"]["status"], "WON", "{won}");
    let query = "query($u: ID!, $f: DateTime!, $t: DateTime!) { workLog(subject: {userId: $u}, from: $f, to: $t, granularity: DAY) { newOpportunities { count records(first: 50) { totalCount } } wonOpportunities { count amount { amount } records(first: 50) { totalCount nodes { name } } } } }";
    let now = chrono::Utc::now();
    let window = json!({"u": rep1_id, "f": (now - chrono::Duration::days(2)).to_rfc3339(), "t": (now + chrono::Duration::hours(1)).to_rfc3339()});
    let totals = |body: &Value| -> (i64, i64, i64, i64, Vec<String>) {
        let mut out = (0, 0, 0, 0, Vec::new());
        for period in body["data"]["workLog"].as_array().unwrap_or_else(|| panic!("{body}")) {
            let (created, won) = (&period["newOpportunities"], &period["wonOpportunities"]);
            assert_eq!(created["count"], created["records"]["totalCount"], "{body}");
            assert_eq!(won["count"], won["records"]["totalCount"], "{body}");
            out.0 += created["count"].as_i64().unwrap();
            out.1 += won["count"].as_i64().unwrap();
            out.2 += won["amount"]["amount"].as_str().unwrap().parse::<f64>().unwrap() as i64;
            out.3 += won["records"]["totalCount"].as_i64().unwrap();
            out.4.extend(
                won["records"]["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap().to_owned()),
            );
        }
        out.4.sort();
        out
    };
    // rep1's demo deals (数控机床升级项目, SMT 产线扩容 won) and the new one, won today.
    let mine = app.gql(Some(&rep1), query, window.clone()).await;
    assert_eq!(totals(&mine), (3, 2, 1_205_000, 2, vec!["SMT 产线扩容".to_owned(), "备件年框".to_owned()]), "{mine}");
    let manager = app.login("manager@demo.local").await;
    assert_eq!(totals(&app.gql(Some(&manager), query, window.clone()).await).1, 2);
    // A colleague may not read rep1's log; a service agent (every customer, no deals)
    // reads it with no deals in it.
    let rep2 = app.login("rep2@demo.local").await;
    assert_eq!(error_code(&app.gql(Some(&rep2), query, window.clone()).await), "NOT_FOUND");
    let agent = app.login("service@demo.local").await;
    let log = app
        .gql(
            Some(&agent),
            "query($u: ID!, $f: DateTime!, $t: DateTime!) { workLog(subject: {userId: $u}, from: $f, to: $t, granularity: DAY) { newOpportunities { count } wonOpportunities { count } } }",
            window,
        )
        .await;
    let counts: i64 = log["data"]["workLog"]
        .as_array()
        .unwrap_or_else(|| panic!("{log}"))
        .iter()
        .map(|p| p["newOpportunities"]["count"].as_i64().unwrap() + p["wonOpportunities"]["count"].as_i64().unwrap())
        .sum();
    assert_eq!(counts, 0, "{log}");
    // A log that does not ask for deals does not read them.
    let plain = "query($u: ID!, $f: DateTime!, $t: DateTime!) { workLog(subject: {userId: $u}, from: $f, to: $t, granularity: DAY) { interactions { count } } }";
    let with_deals = "query($u: ID!, $f: DateTime!, $t: DateTime!) { workLog(subject: {userId: $u}, from: $f, to: $t, granularity: DAY) { interactions { count } wonOpportunities { count } } }";
    let (fewer, _) =
        app.fewest_statements(Some(&rep1), &json!({"query": plain, "variables": window_of(&rep1_id)})).await;
    let (more, _) =
        app.fewest_statements(Some(&rep1), &json!({"query": with_deals, "variables": window_of(&rep1_id)})).await;
    assert_eq!(more, fewer + 2);
}

fn window_of(user: &str) -> Value {
    let now = chrono::Utc::now();
    json!({"u": user, "f": (now - chrono::Duration::days(2)).to_rfc3339(), "t": (now + chrono::Duration::hours(1)).to_rfc3339()})
}

#[tokio::test]
async fn a_pipeline_is_a_node_for_whoever_reads_deals() {
    let app = spawn_demo().await;
    let rep = app.login("rep1@demo.local").await;
    let body = app.gql(Some(&rep), "{ pipelines { id name } }", json!({})).await;
    let pipeline = body["data"]["pipelines"][0].clone();
    let node = "query($id: ID!) { node(id: $id) { ... on Pipeline { id name } } }";
    let found = app.gql(Some(&rep), node, json!({"id": pipeline["id"]})).await;
    assert_eq!(found["data"]["node"], pipeline, "{found}");
    // Another tenant's caller finds nothing under that id.
    let other = app.second_tenant("other").await;
    let hidden = app.gql(Some(&other), node, json!({"id": pipeline["id"]})).await;
    assert!(hidden["errors"].is_null() && hidden["data"]["node"].is_null(), "{hidden}");
}
