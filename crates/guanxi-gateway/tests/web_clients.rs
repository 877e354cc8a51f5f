//! What browser and mobile clients built by others need from the HTTP surface: CORS for
//! the configured origins only, gzip and brotli responses, and automatic persisted queries
//! (by POST and by GET, where a GET may only read).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;

use common::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const ORIGIN: &str = "https://crm.example.com";

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type")
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn only_the_configured_origins_get_a_cors_grant_and_never_with_credentials() {
    let app = spawn_with(|config| config.cors_origins = vec![ORIGIN.to_owned()]).await;
    let granted = preflight(&app, ORIGIN).await;
    assert!(granted.status().is_success(), "{}", granted.status());
    assert_eq!(header(&granted, "access-control-allow-origin"), Some(ORIGIN));
    let headers = header(&granted, "access-control-allow-headers").unwrap().to_lowercase();
    assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");
    assert!(header(&granted, "access-control-allow-methods").unwrap().contains("POST"));
    assert_eq!(header(&granted, "access-control-allow-credentials"), None);

    let other = preflight(&app, "https://evil.example.net").await;
    assert_eq!(header(&other, "access-control-allow-origin"), None, "another origin gets no grant");

    // The actual request from the allowed origin carries the grant too.
    let posted = app
        .client
        .post(app.url("/graphql"))
        .header("origin", ORIGIN)
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&posted, "access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(posted.json::<Value>().await.unwrap()["data"]["__typename"], "Query");

    // With no origins configured (the default), nobody gets a grant.
    let closed = spawn_with(|_| {}).await;
    assert_eq!(header(&preflight(&closed, ORIGIN).await, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn responses_are_compressed_for_clients_that_accept_it() {
    let app = spawn_demo().await;
    let token = app.login("admin@demo.local").await;
    let body =
        json!({"query": "{ customers(first: 100) { nodes { id name customerNumber status owner { displayName } } } }"});
    let fetch = |encoding: &'static str| {
        let (app, token, body) = (&app, token.clone(), body.clone());
        async move {
            let response = app
                .client
                .post(app.url("/graphql"))
                .bearer_auth(token)
                .header("accept-encoding", encoding)
                .json(&body)
                .send()
                .await
                .unwrap();
            let encoded = header(&response, "content-encoding").map(str::to_owned);
            (encoded, response.bytes().await.unwrap().to_vec())
        }
    };
    let (none, plain) = fetch("identity").await;
    assert_eq!(none, None);
    let plain: Value = serde_json::from_slice(&plain).unwrap();
    assert!(plain["data"]["customers"]["nodes"].as_array().unwrap().len() >= 6, "{plain}");

    let (gzip, zipped) = fetch("gzip").await;
    assert_eq!(gzip.as_deref(), Some("gzip"));
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&zipped[..]).read_to_string(&mut unzipped).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&unzipped).unwrap(), plain);
    assert!(zipped.len() < unzipped.len(), "{} vs {}", zipped.len(), unzipped.len());

    let (br, brotli) = fetch("br").await;
    assert_eq!(br.as_deref(), Some("br"));
    assert!(brotli.len() < unzipped.len());
}

fn persisted(hash: &str) -> Value {
    json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
}

#[tokio::test]
async fn persisted_queries_work_by_hash_over_post_and_get_and_a_get_only_reads() {
    let app = spawn_demo().await;
    let token = app.login("rep1@demo.local").await;
    let query = "query($n: Int) { customers(first: $n) { nodes { name } } }";
    let hash = format!("{:x}", Sha256::digest(query.as_bytes()));

    // A hash the server has not seen: the client must send the text.
    let unknown = app.post(Some(&token), &json!({"extensions": persisted(&hash), "variables": {"n": 5}})).await;
    assert_eq!(unknown.body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND", "{}", unknown.body);
    // The text with its hash runs and is kept; a wrong hash is refused.
    let wrong = app.post(Some(&token), &json!({"query": query, "extensions": persisted("00ff")})).await;
    assert!(wrong.body["errors"][0]["message"].as_str().unwrap().contains("sha"), "{}", wrong.body);
    let first =
        app.post(Some(&token), &json!({"query": query, "extensions": persisted(&hash), "variables": {"n": 5}})).await;
    let names = first.body["data"]["customers"]["nodes"].clone();
    assert_eq!(names.as_array().unwrap().len(), 2, "rep1's two customers: {}", first.body);
    // Then the hash alone, by POST and by GET.
    let by_hash = app.post(Some(&token), &json!({"extensions": persisted(&hash), "variables": {"n": 5}})).await;
    assert_eq!(by_hash.body["data"]["customers"]["nodes"], names);
    let url = reqwest::Url::parse_with_params(
        &app.url("/graphql"),
        &[("extensions", persisted(&hash).to_string()), ("variables", json!({"n": 5}).to_string())],
    )
    .unwrap();
    let got = app.client.get(url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(got.json::<Value>().await.unwrap()["data"]["customers"]["nodes"], names);
    // A query in the URL works as well; the scope is the caller's, as by POST.
    let plain =
        reqwest::Url::parse_with_params(&app.url("/graphql"), &[("query", "{ customers(first: 50) { totalCount } }")])
            .unwrap();
    let counted = app.client.get(plain).bearer_auth(&token).send().await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(counted["data"]["customers"]["totalCount"], 2, "{counted}");

    // A GET never writes: not with the text, not by the hash of a mutation sent by POST.
    let mutation = "mutation { logout { ok } }";
    let in_url = reqwest::Url::parse_with_params(&app.url("/graphql"), &[("query", mutation)]).unwrap();
    let refused = app.client.get(in_url).bearer_auth(&token).send().await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(refused["errors"][0]["extensions"]["reason"], "GET_IS_READ_ONLY", "{refused}");
    let created = "mutation($i: CreateLeadInput!) { createLead(input: $i) { lead { id } userErrors { code } } }";
    let created_hash = format!("{:x}", Sha256::digest(created.as_bytes()));
    let input = json!({"i": {"lead": {"name": "经 GET 的线索"}}});
    let posted = app
        .post(Some(&token), &json!({"query": created, "extensions": persisted(&created_hash), "variables": input}))
        .await;
    assert_eq!(posted.body["data"]["createLead"]["userErrors"], json!([]), "{}", posted.body);
    let replay = reqwest::Url::parse_with_params(
        &app.url("/graphql"),
        &[("extensions", persisted(&created_hash).to_string()), ("variables", input.to_string())],
    )
    .unwrap();
    let replayed = app.client.get(replay).bearer_auth(&token).send().await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(replayed["errors"][0]["extensions"]["reason"], "GET_IS_READ_ONLY", "{replayed}");
    let leads =
        app.gql(Some(&token), "{ leads(first: 50, filter: {search: \"经 GET\"}) { nodes { id } } }", json!({})).await;
    assert_eq!(leads["data"]["leads"]["nodes"].as_array().unwrap().len(), 1, "the GET wrote nothing: {leads}");

    // The cache keeps small documents only: a long query runs as text, not by hash.
    let long = format!("# {}\n{{ __typename }}", "长".repeat(3_000));
    let long_hash = format!("{:x}", Sha256::digest(long.as_bytes()));
    let big = app.post(Some(&token), &json!({"query": long, "extensions": persisted(&long_hash)})).await;
    assert_eq!(big.body["errors"][0]["extensions"]["reason"], "PERSISTED_QUERY_TOO_LARGE", "{}", big.body);
    assert_eq!(app.post(Some(&token), &json!({"query": long})).await.body["data"]["__typename"], "Query");

    // Without a query, GET /graphql is still the explorer.
    let page = app.client.get(app.url("/graphql")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("graphiql"), "{page}");
}

#[tokio::test]
async fn the_explorer_renders_and_queries_with_the_network_closed() {
    let app = spawn_with(|config| config.graphiql = Some(true)).await;
    let page = app.client.get(app.url("/graphql")).send().await.unwrap().text().await.unwrap();
    // Everything it loads comes from this server.
    assert!(!page.contains("unpkg") && !page.contains("https://") && !page.contains("http://"), "{page}");
    let asset =
        app.client.get(app.url(&format!("{}/graphiql.min.js", guanxi_gateway::explorer::ASSETS))).send().await.unwrap();
    assert_eq!(header(&asset, "content-type"), Some("text/javascript; charset=utf-8"));
    assert!(header(&asset, "cache-control").unwrap().contains("immutable"));
    let missing =
        app.client.get(app.url(&format!("{}/other.js", guanxi_gateway::explorer::ASSETS))).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);

    // Headless Chromium with every host but this one unreachable: the page renders
    // GraphiQL and its first request (the schema) is answered.
    let profile = std::env::temp_dir().join(format!("guanxi-explorer-{}", uuid::Uuid::now_v7().simple()));
    let run = tokio::process::Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=15000"])
        .arg("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(app.url("/graphql"))
        .output()
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(dom.contains("graphiql-container"), "GraphiQL rendered: {dom}");
    assert!(dom.contains(r#"data-api="connected""#), "the explorer's query was answered: {dom}");
}

#[tokio::test]
async fn the_explorer_and_its_assets_are_off_when_graphiql_is() {
    let app = spawn_with(|config| config.graphiql = Some(false)).await;
    assert_eq!(app.client.get(app.url("/graphql")).send().await.unwrap().status().as_u16(), 404);
    let asset =
        app.client.get(app.url(&format!("{}/graphiql.min.js", guanxi_gateway::explorer::ASSETS))).send().await.unwrap();
    assert_eq!(asset.status().as_u16(), 404);
}
