//! The knowledge base over HTTP: articles with versions and categories, search by any
//! Chinese substring through the token index, links to work orders, suggestions, who may
//! write, and tenants kept apart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateArticleInput!) { createArticle(input: $i) { article { id version title status visibility tags productIds publishedAt } userErrors { field code message } } }";
const UPDATE: &str = "mutation($i: UpdateArticleInput!) { updateArticle(input: $i) { article { id version title status publishedAt versions { version title } } userErrors { field code message } } }";

async fn search(app: &TestApp, token: &str, term: &str) -> Vec<String> {
    let body = app
        .gql(
            Some(token),
            "query($s: String) { articles(filter: {search: $s}) { totalCount nodes { title } } }",
            json!({"s": term}),
        )
        .await;
    let nodes = body["data"]["articles"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(body["data"]["articles"]["totalCount"].as_u64().unwrap() as usize, nodes.len());
    nodes.iter().map(|n| n["title"].as_str().unwrap().to_owned()).collect()
}

async fn product(app: &TestApp, token: &str, code: &str) -> Value {
    let body = app
        .gql(
            Some(token),
            "query($s: String) { products(first: 1, filter: {search: $s}) { nodes { id } } }",
            json!({"s": code}),
        )
        .await;
    body["data"]["products"]["nodes"][0]["id"].clone()
}

#[tokio::test]
async fn articles_are_versioned_found_by_chinese_substrings_and_suggested_for_orders() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let agent = app.login("service@demo.local").await;
    let rep = app.login("rep1@demo.local").await;
    let split = product(&app, &agent, "KT-35GW").await;

    let category = ok(
        &app,
        &agent,
        "mutation($i: CreateArticleCategoryInput!) { createArticleCategory(input: $i) { category { id name } userErrors { code } } }",
        json!({"name": "空调故障"}),
        ("createArticleCategory", "category"),
    )
    .await;
    // Bad input: every field at once, nothing written.
    let (codes, errors) = refused(
        &app,
        &agent,
        CREATE,
        json!({"article": {"title": " ", "body": "x", "tags": ["a".repeat(31)]}}),
        "createArticle",
    )
    .await;
    assert_eq!(codes, ["INVALID", "INVALID"], "{errors}");
    let count = "{ articles { totalCount } }";
    let demo = app.gql(Some(&agent), count, json!({})).await["data"]["articles"]["totalCount"].clone();
    assert_eq!(demo, 2, "the demo's two articles, and nothing written");

    let capacitor = ok(
        &app,
        &agent,
        CREATE,
        json!({"article": {"title": "空调不制冷：先查压缩机电容", "body": "开机后室外机不启动，多为**压缩机电容**老化。用万用表测量容量，低于标称值 10% 即更换。",
            "categoryId": category["id"], "tags": ["空调", "电容"], "productIds": [split], "visibility": "PUBLIC", "status": "PUBLISHED"}}),
        ("createArticle", "article"),
    )
    .await;
    assert_eq!((capacitor["version"].as_i64(), capacitor["status"].as_str()), (Some(1), Some("PUBLISHED")));
    assert!(capacitor["publishedAt"].is_string());
    let drain = ok(
        &app,
        &agent,
        CREATE,
        json!({"article": {"title": "室内机漏水的处理", "body": "检查排水管是否堵塞、排水泵是否工作。"}}),
        ("createArticle", "article"),
    )
    .await;
    assert_eq!(drain["status"], "DRAFT");

    // Any substring of title or body, Chinese or Latin, short or long.
    assert_eq!(search(&app, &agent, "压缩机电容").await, ["空调不制冷：先查压缩机电容"]);
    assert_eq!(search(&app, &agent, "万用表测量").await, ["空调不制冷：先查压缩机电容"]);
    assert_eq!(search(&app, &agent, "排水").await, ["室内机漏水的处理"]);
    assert_eq!(search(&app, &agent, "压").await, ["空调不制冷：先查压缩机电容"]);
    assert!(search(&app, &agent, "电容泵").await.is_empty(), "every pair must be there, in order");
    assert_eq!(search(&app, &agent, "10%").await.len(), 2, "this article and the demo's capacitor article");

    // An edit keeps the old text as a version; publishing stamps the time once.
    let updated = ok(
        &app,
        &agent,
        UPDATE,
        json!({"id": drain["id"], "expectedVersion": drain["version"], "article": {"title": "室内机漏水：排水管与排水泵",
            "body": "先疏通排水管，再检查排水泵。", "status": "PUBLISHED"}}),
        ("updateArticle", "article"),
    )
    .await;
    let titles: Vec<&str> =
        updated["versions"].as_array().unwrap().iter().map(|v| v["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["室内机漏水：排水管与排水泵", "室内机漏水的处理"]);
    assert_eq!(search(&app, &agent, "疏通").await, ["室内机漏水：排水管与排水泵"]);
    assert!(search(&app, &agent, "堵塞").await.is_empty(), "the old text is no longer indexed");
    let (codes, _) = refused(
        &app,
        &agent,
        UPDATE,
        json!({"id": drain["id"], "expectedVersion": drain["version"], "article": {"title": "旧版本覆盖"}}),
        "updateArticle",
    )
    .await;
    assert_eq!(codes, ["VERSION_CONFLICT"]);

    // Suggestions for 明远's repair of the split unit: the capacitor article is about its
    // product; the drain article shares its words.
    let mingyuan = customer(&app, &agent, "上海明远机械制造有限公司").await;
    let asset = app.gql(Some(&agent), "query($c: ID!) { assets(customerId: $c) { id } }", json!({"c": mingyuan})).await
        ["data"]["assets"][0]["id"]
        .clone();
    let order = ok(
        &app,
        &agent,
        "mutation($i: CreateWorkOrderInput!) { createWorkOrder(input: $i) { workOrder { id version } userErrors { code } } }",
        json!({"customerId": mingyuan, "assetId": asset, "channel": "PHONE", "type": "REPAIR", "subject": "室内机漏水", "description": "排水管滴水"}),
        ("createWorkOrder", "workOrder"),
    )
    .await;
    let suggested = app
        .gql(
            Some(&agent),
            "query($id: ID!) { suggestArticles(workOrderId: $id) { productMatch sharedTerms article { title } } }",
            json!({"id": order["id"]}),
        )
        .await;
    let rows = suggested["data"]["suggestArticles"].as_array().unwrap_or_else(|| panic!("{suggested}"));
    assert_eq!(rows.len(), 2, "{suggested}");
    assert_eq!(
        (rows[0]["productMatch"].as_bool(), rows[0]["article"]["title"].as_str()),
        (Some(true), Some("空调不制冷：先查压缩机电容"))
    );
    assert!(rows[1]["sharedTerms"].as_i64().unwrap() >= 3, "{suggested}");

    // Linking the solution.
    let link = "mutation($i: LinkWorkOrderArticleInput!) { linkWorkOrderArticle(input: $i) { workOrder { version articles { title } } userErrors { code } } }";
    let linked = ok(
        &app,
        &agent,
        link,
        json!({"id": order["id"], "expectedVersion": order["version"], "articleId": drain["id"]}),
        ("linkWorkOrderArticle", "workOrder"),
    )
    .await;
    assert_eq!(linked["articles"], json!([{"title": "室内机漏水：排水管与排水泵"}]));
    let unlinked = ok(
        &app,
        &agent,
        link,
        json!({"id": order["id"], "expectedVersion": linked["version"], "articleId": drain["id"], "linked": false}),
        ("linkWorkOrderArticle", "workOrder"),
    )
    .await;
    assert_eq!(unlinked["articles"], json!([]));

    // Reps read the knowledge base but do not write it; the category holds an article.
    assert_eq!(search(&app, &rep, "万用表测量").await.len(), 1);
    let body = app.gql(Some(&rep), CREATE, json!({"i": {"article": {"title": "随手记"}}})).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let delete = app
        .gql(
            Some(&admin),
            "mutation($id: ID!) { deleteArticleCategory(id: $id) { code } }",
            json!({"id": category["id"]}),
        )
        .await;
    assert_eq!(delete["data"]["deleteArticleCategory"][0]["code"], "NOT_EMPTY", "{delete}");

    // Another tenant finds nothing and cannot read it by id.
    let other = app.second_tenant("other-kb").await;
    assert!(search(&app, &other, "万用表").await.is_empty());
    let node = app.gql(Some(&other), "query($id: ID!) { node(id: $id) { id } }", json!({"id": capacitor["id"]})).await;
    assert!(node["data"]["node"].is_null(), "{node}");
    let by_id =
        app.gql(Some(&other), "query($id: ID!) { article(id: $id) { id } }", json!({"id": capacitor["id"]})).await;
    assert_eq!(error_code(&by_id), "NOT_FOUND");
}
