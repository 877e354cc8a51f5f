//! Bulk jobs over HTTP: a file uploaded once, cut into batches and upserted in the
//! background through the kind's own upsert; progress by query and subscription; the
//! failures file; the creator's scope and the tenant; and a 100,000-row file that
//! completes with the server killed (kill -9) twice on the way, no row lost or doubled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use guanxi_store::ConnectionTrait;
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateBulkJobInput!) { createBulkJob(input: $i) {
    bulkJob { id state uploadUrl failuresUrl } userErrors { field code message } } }";

const JOB: &str = "query($id: ID!) { bulkJob(id: $id) { id kind format source state columns totalRows batchCount
    processedRows createdRows updatedRows unchangedRows failedRows error uploadedAt finishedAt } }";

async fn create_job(app: &TestApp, token: &str, input: Value) -> Value {
    ok(app, token, CREATE, input, ("createBulkJob", "bulkJob")).await
}

async fn job(app: &TestApp, token: &str, id: &str) -> Value {
    let body = app.gql(Some(token), JOB, json!({"id": id})).await;
    assert!(body["data"]["bulkJob"].is_object(), "{body}");
    body["data"]["bulkJob"].clone()
}

/// PUTs `body` to the job's upload URL as `token`: the status and the answer.
async fn put(app: &TestApp, token: &str, job: &Value, body: Vec<u8>) -> (u16, Value) {
    let response = app
        .client
        .put(app.url(job["uploadUrl"].as_str().unwrap()))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, String) {
    let response = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Runs the test's runner until the job is over.
async fn run_to_end(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..100 {
        app.bulk.run_once().await.unwrap();
        let now = job(app, token, id).await;
        if ["COMPLETED", "FAILED", "ABORTED"].contains(&now["state"].as_str().unwrap()) {
            return now;
        }
    }
    panic!("the job did not end");
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let conn = app.db.connection();
    let row = conn.query_one_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql)).await;
    row.unwrap().unwrap().try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test]
async fn a_csv_file_is_upserted_in_batches_with_progress_and_a_failures_file() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let created = create_job(&app, &admin, json!({"kind": "CUSTOMER", "format": "CSV", "source": "kingdee"})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["state"], "OPEN");

    // 2,300 new customers, then: an update of a demo customer by its ERP code, a row the
    // upsert refuses (a new customer needs a name), a cell of the wrong type, and a row
    // of the wrong width. Quoted cells hold commas and a line break.
    let mut csv = String::from("\u{feff}externalId,name,level,tags,notes,creditLimit\n");
    for i in 1..=2_300 {
        csv.push_str(&format!("BULK{i:05},批量导入测试{i:05}号有限公司,B,华东;批量,\"第{i}行, 含逗号\",50000.00\n"));
    }
    csv.push_str("KD0001,,A,,\"ERP 同步\n第二行\",#N/A\n");
    csv.push_str("BULK-NONAME,,B,,,\n");
    csv.push_str("BULK-BADLIMIT,额度不对有限公司,B,,,五万\n");
    csv.push_str("BULK-SHORT,少一格\n");
    let (status, answer) = put(&app, &admin, &created, csv.into_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["state"].as_str(), answer["totalRows"].as_i64()), (Some("QUEUED"), Some(2_304)), "{answer}");
    assert_eq!(answer["batchCount"], 3, "batches of 1,000 rows");
    // One file per job.
    let (status, answer) = put(&app, &admin, &created, b"externalId,name\nX,Y\n".to_vec()).await;
    assert_eq!(
        (status, answer["errors"][0]["extensions"]["reason"].as_str()),
        (409, Some("ILLEGAL_STATE")),
        "{answer}"
    );

    // Progress by subscription: the job as it is, then as it moves, to its end.
    let query = format!("subscription {{ bulkJobProgress(id: \"{id}\") {{ state processedRows totalRows }} }}");
    let mut socket = subscribe(&app, &admin, &query).await;
    let first = next_event(&mut socket).await;
    assert_eq!(first["bulkJobProgress"], json!({"state": "QUEUED", "processedRows": 0, "totalRows": 2_304}));
    let done = run_to_end(&app, &admin, &id).await;
    let mut last = first;
    while last["bulkJobProgress"]["state"] != "COMPLETED" {
        last = next_event(&mut socket).await;
    }
    assert_eq!(last["bulkJobProgress"]["processedRows"], 2_304);

    assert_eq!(done["state"], "COMPLETED", "{done}");
    let count = |field: &str| done[field].as_i64().unwrap();
    assert_eq!(
        (count("createdRows"), count("updatedRows"), count("unchangedRows"), count("failedRows")),
        (2_300, 1, 0, 3),
        "{done}"
    );
    assert_eq!(count("processedRows"), 2_304);
    assert_eq!(done["columns"], json!(["externalId", "name", "level", "tags", "notes", "creditLimit"]));
    assert!(done["finishedAt"].is_string());
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM customers WHERE name LIKE '批量导入测试%'").await, 2_300);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM external_keys WHERE source = 'kingdee' AND external_id LIKE 'BULK0%'").await,
        2_300
    );
    // The same path as the UI: numbered, searchable, tagged, and the update applied.
    let body = app
        .gql(
            Some(&admin),
            "{ customers(first: 2, filter: {search: \"批量导入测试02300\"}) { nodes { name customerNumber level tags notes creditLimit { amount } } } }",
            json!({}),
        )
        .await;
    let found = &body["data"]["customers"]["nodes"][0];
    assert_eq!(found["name"], "批量导入测试02300号有限公司", "{body}");
    assert!(found["customerNumber"].as_str().unwrap().starts_with("KH"), "{body}");
    assert_eq!((found["tags"].clone(), found["notes"].clone()), (json!(["华东", "批量"]), json!("第2300行, 含逗号")));
    assert_eq!(found["creditLimit"]["amount"], "50000.00", "{body}");
    // `#N/A` cleared the demo customer's credit limit; the empty cells left the rest.
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM customers WHERE notes = 'ERP 同步\n第二行' AND level = 'A' AND credit_limit IS NULL"
        )
        .await,
        1
    );

    // The failures file: each failed row, its key and errors, then the row as uploaded.
    let (status, file) = get(&app, &admin, created["failuresUrl"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    let mut reader = csv::Reader::from_reader(file.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["row", "externalId", "error", "externalId", "name", "level", "tags", "notes", "creditLimit"]
    );
    let rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    assert_eq!(rows.len(), 3, "{file}");
    assert_eq!((rows[0][0].as_str(), rows[0][1].as_str()), ("2302", "BULK-NONAME"));
    assert!(rows[0][2].starts_with("name:"), "{file}");
    assert_eq!((rows[1][0].as_str(), rows[1][1].as_str()), ("2303", "BULK-BADLIMIT"));
    assert!(rows[1][2].starts_with("record:") && rows[1][2].contains("Decimal"), "{file}");
    assert_eq!((rows[2][0].as_str(), rows[2][1].as_str()), ("2304", "BULK-SHORT"));
    assert!(rows[2][2].contains("2 cells"), "{file}");
    assert_eq!(rows[1][8], "五万", "the row as uploaded");

    // The job is its creator's: not another user's, by id, list, node, file or upload,
    // nor another tenant's.
    let rep = app.login("rep1@demo.local").await;
    let body = app.gql(Some(&rep), JOB, json!({"id": id})).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    let body = app.gql(Some(&rep), "{ bulkJobs(first: 10) { totalCount nodes { id } } }", json!({})).await;
    assert_eq!(body["data"]["bulkJobs"], json!({"totalCount": 0, "nodes": []}), "{body}");
    let body = app.gql(Some(&rep), "query($id: ID!) { node(id: $id) { id } }", json!({"id": id})).await;
    assert_eq!(body["data"]["node"], Value::Null, "{body}");
    assert_eq!(get(&app, &rep, created["failuresUrl"].as_str().unwrap()).await.0, 404);
    assert_eq!(put(&app, &rep, &created, b"externalId\nX\n".to_vec()).await.0, 404);
    let other = app.second_tenant("other").await;
    let body = app.gql(Some(&other), JOB, json!({"id": id})).await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    // The admin's: this one and the demo's, both run to the end, newest first.
    let body = app
        .gql(
            Some(&admin),
            "{ bulkJobs(first: 10, states: [COMPLETED]) { totalCount nodes { id createdRows } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["bulkJobs"]["totalCount"], 2, "{body}");
    assert_eq!(body["data"]["bulkJobs"]["nodes"][0]["id"], id.as_str());
    assert_eq!(body["data"]["bulkJobs"]["nodes"][1]["createdRows"], 4, "the demo's file: {body}");
    let body = app
        .gql(Some(&admin), "{ bulkJobs(first: 10, states: [OPEN, UPLOADING, QUEUED]) { totalCount } }", json!({}))
        .await;
    assert_eq!(body["data"]["bulkJobs"]["totalCount"], 0, "{body}");
    let body = app
        .gql(Some(&admin), "query($id: ID!) { node(id: $id) { ... on BulkJob { state } } }", json!({"id": id}))
        .await;
    assert_eq!(body["data"]["node"]["state"], "COMPLETED", "{body}");
}

#[tokio::test]
async fn a_call_centres_csv_of_interactions_is_recorded_once_however_often_it_is_sent() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let file = "externalId,customerExternalId,channel,occurredAt,content,outcome\n\
        CDR-0001,KD0001,CALL,2026-11-30T09:30:00+08:00,客户来电询问交期,已答复\n\
        CDR-0002,KD0002,WECHAT,2026-11-30T10:05:00+08:00,微信确认安装时间,\n\
        CDR-0003,KD0002,CALL,,没有时间的记录,\n";
    let mut counts = Vec::new();
    for _ in 0..2 {
        let created =
            create_job(&app, &admin, json!({"kind": "INTERACTION", "format": "CSV", "source": "kingdee"})).await;
        let (status, _) = put(&app, &admin, &created, file.as_bytes().to_vec()).await;
        assert_eq!(status, 200);
        let id = created["id"].as_str().unwrap().to_owned();
        let done = run_to_end(&app, &admin, &id).await;
        assert_eq!(done["state"], "COMPLETED", "{done}");
        counts.push([&done["createdRows"], &done["unchangedRows"], &done["failedRows"]].map(|v| v.as_i64().unwrap()));
    }
    assert_eq!(counts, [[2, 0, 1], [0, 2, 1]], "recorded once, then unchanged; the row without a time fails");
    let rows = scalar(&app, "SELECT COUNT(*) FROM interactions WHERE source = 'kingdee'").await;
    assert_eq!(rows, 2);
    // A channel's name, as `upsertInteractions` takes it, is checked when the job is made.
    let body =
        app.gql(Some(&admin), CREATE, json!({"i": {"kind": "INTERACTION", "format": "CSV", "source": "manual"}})).await;
    assert_eq!(body["data"]["createBulkJob"]["userErrors"][0]["field"], "source", "{body}");
}

#[tokio::test]
async fn bad_files_and_bad_jobs_are_refused_and_change_nothing() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    // A kind the caller may not write: refused outright.
    let rep = app.login("rep1@demo.local").await;
    let body =
        app.gql(Some(&rep), CREATE, json!({"i": {"kind": "PRODUCT", "format": "NDJSON", "source": "kingdee"}})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    // Bad input: typed errors, no job.
    let (codes, text) = refused(
        &app,
        &admin,
        CREATE,
        json!({"kind": "PRODUCT", "format": "CSV", "source": "金蝶", "confirmDuplicates": true}),
        "createBulkJob",
    )
    .await;
    assert_eq!(codes, ["INVALID", "INVALID"], "{text}");
    assert!(text.contains("source") && text.contains("confirmDuplicates"), "{text}");
    let body = app.gql(Some(&admin), "{ bulkJobs(first: 5) { totalCount } }", json!({})).await;
    assert_eq!(body["data"]["bulkJobs"]["totalCount"], 1, "only the demo's job: {body}");

    // A header naming no field of the record: refused, the job open again, nothing kept.
    let created = create_job(&app, &admin, json!({"kind": "CUSTOMER", "format": "CSV", "source": "kingdee"})).await;
    let (status, answer) = put(&app, &admin, &created, "externalId,nmae\nK1,甲\n".into()).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("unknown columns: nmae") && message.contains("name"), "{message}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(job(&app, &admin, id).await["state"], "OPEN");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM bulk_job_batches").await, 1, "the demo's batch alone");
    let (status, answer) = put(&app, &admin, &created, "name\n甲\n".into()).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["errors"][0]["message"].as_str().unwrap().contains("externalId"), "{answer}");

    // The file goes up with the credential that opened the job: an API key of the same
    // user (here with the finance role, which may not write customers) may not fill a job
    // opened in a session, whose batches would run with the user's own role.
    let finance = app.role_id(&admin, "finance").await;
    let key = app
        .gql(
            Some(&admin),
            "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }",
            json!({"i": {"name": "财务同步", "roleId": finance}}),
        )
        .await["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, answer) = put(&app, &key, &created, "externalId,name\nK1,甲\n".into()).await;
    assert_eq!((status, answer["errors"][0]["extensions"]["code"].as_str()), (403, Some("FORBIDDEN")), "{answer}");
    assert_eq!(job(&app, &admin, id).await["state"], "OPEN");

    // Aborted while open: no file goes up, and it cannot be aborted twice.
    const ABORT: &str = "mutation($i: BulkJobIdInput!) { abortBulkJob(input: $i) { bulkJob { state finishedAt } userErrors { code } } }";
    let aborted = ok(&app, &admin, ABORT, json!({"id": id}), ("abortBulkJob", "bulkJob")).await;
    assert_eq!(aborted["state"], "ABORTED");
    let (codes, _) = refused(&app, &admin, ABORT, json!({"id": id}), "abortBulkJob").await;
    assert_eq!(codes, ["ILLEGAL_STATE"]);
    assert_eq!(put(&app, &admin, &created, "externalId,name\nK1,甲\n".into()).await.0, 409);
    let (codes, _) = refused(&app, &rep, ABORT, json!({"id": id}), "abortBulkJob").await;
    assert_eq!(codes, ["NOT_FOUND"], "another user's job does not exist for them");

    // NDJSON products: a line that is not JSON and a record the upsert refuses fail alone.
    let created = create_job(&app, &admin, json!({"kind": "PRODUCT", "format": "NDJSON", "source": "kingdee"})).await;
    let file = [
        json!({"externalId": "ERP-BULK-1", "name": "批量导入空调", "kind": "TANGIBLE", "origin": "BOUGHT", "unit": "台", "listPrice": "3999.00"})
            .to_string(),
        "{not json".to_owned(),
        String::new(),
        json!({"externalId": "ERP-BULK-2", "unit": "台"}).to_string(),
    ]
    .join("\n");
    let (status, answer) = put(&app, &admin, &created, file.into_bytes()).await;
    assert_eq!((status, answer["totalRows"].as_i64()), (200, Some(3)), "blank lines are not rows: {answer}");
    let done = run_to_end(&app, &admin, created["id"].as_str().unwrap()).await;
    let (_, file) = get(&app, &admin, created["failuresUrl"].as_str().unwrap()).await;
    assert_eq!((done["createdRows"].as_i64(), done["failedRows"].as_i64()), (Some(1), Some(2)), "{done} {file}");
    let mut reader = csv::Reader::from_reader(file.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), ["row", "externalId", "error", "record"]);
    let rows: Vec<Vec<String>> = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    assert_eq!((rows[0][0].as_str(), rows[0][3].as_str()), ("2", "{not json"), "{file}");
    assert!(rows[0][2].starts_with("record: not JSON"), "{file}");
    assert_eq!((rows[1][0].as_str(), rows[1][1].as_str()), ("3", "ERP-BULK-2"), "{file}");
    assert!(rows[1][2].contains("name"), "{file}");

    // A job whose user lost the permission fails as a whole when its batch runs.
    let permissions = ["product.read", "product.manage"];
    let (importer, role) = app.with_new_role(&admin, "rep3@demo.local", ("产品导入", &permissions, "[]")).await;
    let created =
        create_job(&app, &importer, json!({"kind": "PRODUCT", "format": "NDJSON", "source": "kingdee"})).await;
    let line = json!({"externalId": "ERP-BULK-3", "name": "失权后的产品", "kind": "TANGIBLE", "origin": "BOUGHT", "unit": "台", "listPrice": "1.00"});
    assert_eq!(put(&app, &importer, &created, line.to_string().into_bytes()).await.0, 200);
    let demoted = app
        .gql(
            Some(&admin),
            "mutation($i: UpdateRoleInput!) { updateRole(input: $i) { userErrors { code } } }",
            json!({"i": {"id": role, "expectedVersion": 1, "permissions": ["product.read"]}}),
        )
        .await;
    assert_eq!(demoted["data"]["updateRole"]["userErrors"], json!([]), "{demoted}");
    let failed = run_to_end(&app, &importer, created["id"].as_str().unwrap()).await;
    assert_eq!(failed["state"], "FAILED", "{failed}");
    assert!(failed["error"].as_str().unwrap().contains("product.manage"), "{failed}");
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM products WHERE name = '失权后的产品'").await, 0);
}

/// The `guanxi serve` binary against the test's database, running jobs, with each batch
/// held for `lease` seconds.
fn server(app: &TestApp, dir: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_guanxi"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("GUANXI_DATABASE_URL", &app.config.database_url)
        .env("GUANXI_DATA_DIR", dir)
        .env("GUANXI_JWT_SECRET", JWT_SECRET)
        .env("GUANXI_RUN_JOBS", "true")
        .env("GUANXI_BULK_LEASE_SECS", "3")
        .env("GUANXI_BULK_POLL_MS", "100")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn a_100k_row_file_completes_with_the_server_killed_twice_and_no_row_lost_or_doubled() {
    const ROWS: i64 = 100_000;
    // Tokens that outlast a slow machine's run.
    let app = spawn_with(|c| c.access_token_minutes = 120).await;
    guanxi_gateway::seed::seed_demo(&app.db).await.unwrap();
    let admin = app.login("admin@demo.local").await;
    let created = create_job(&app, &admin, json!({"kind": "CUSTOMER", "format": "CSV", "source": "erp100k"})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let mut csv = String::from("externalId,name,level\n");
    for i in 1..=ROWS {
        csv.push_str(&format!("C{i:06},十万行测试{i:06}贸易有限公司,C\n"));
    }
    let (status, answer) = put(&app, &admin, &created, csv.into_bytes()).await;
    assert_eq!((status, answer["totalRows"].as_i64()), (200, Some(ROWS)), "{answer}");

    let dir = std::env::temp_dir().join(format!("guanxi-bulk-kill-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut seen = Vec::new();
    // Killed (SIGKILL) once past each mark; the third server runs to the end.
    for mark in [20_000, 50_000, ROWS] {
        let mut child = server(&app, &dir);
        let deadline = std::time::Instant::now() + Duration::from_secs(900);
        let now = loop {
            let now = job(&app, &admin, &id).await;
            let processed = now["processedRows"].as_i64().unwrap();
            if processed >= mark || now["state"] != "QUEUED" {
                break now;
            }
            assert!(std::time::Instant::now() < deadline, "no progress to {mark}: {now}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        child.kill().unwrap();
        child.wait().unwrap();
        seen.push(now["processedRows"].as_i64().unwrap());
        if mark < ROWS {
            assert_eq!(now["state"], "QUEUED", "killed before the end: {now}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "progress only grows: {seen:?}");

    let done = job(&app, &admin, &id).await;
    assert_eq!(done["state"], "COMPLETED", "{done}");
    let count = |field: &str| done[field].as_i64().unwrap();
    // Every row counted once, as created: a batch whose server died after its upsert
    // committed is replayed, not written again.
    assert_eq!(
        (
            count("processedRows"),
            count("createdRows"),
            count("updatedRows"),
            count("unchangedRows"),
            count("failedRows")
        ),
        (ROWS, ROWS, 0, 0, 0),
        "{done}"
    );
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM customers WHERE name LIKE '十万行测试%'").await, ROWS);
    assert_eq!(scalar(&app, "SELECT COUNT(DISTINCT name) FROM customers WHERE name LIKE '十万行测试%'").await, ROWS);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM external_keys WHERE source = 'erp100k'").await, ROWS);
    assert_eq!(scalar(&app, "SELECT COUNT(*) FROM bulk_job_batches WHERE done_at IS NULL").await, 0);
}
