//! Bulk jobs at work: the file's upload (`PUT /bulk/jobs/{id}/data`), cut into batches as
//! it streams in; the failures file (`GET /bulk/jobs/{id}/failures.csv`); and the runner,
//! one per replica, that claims a batch at a time and upserts its rows through the kind's
//! own mutation, run as the job's user.
//!
//! A batch runs its mutation with the idempotency key `bulk:<job>:<batch>`, and its
//! counts are added in a second transaction that only a runner still holding the batch's
//! lease can commit. A runner that dies between the two leaves the batch to be claimed
//! again: the retried mutation answers the saved results and writes nothing, so every row
//! is written once and counted once. (Idempotency keys are kept for a day; a batch retried
//! later upserts again, which by key writes nothing new, but counts the rows as
//! unchanged.)

use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use futures::{StreamExt, TryStreamExt};
use guanxi_domain::platform::access::Actor;
use guanxi_domain::platform::bulk::{
    self as rules, BATCH_ROWS, CellType, Format, Job, MAX_BATCH_ATTEMPTS, RawRow, RowFailure, Tally,
};
use guanxi_domain::platform::upsert::Outcome;
use guanxi_store::platform::audit::Author;
use guanxi_store::platform::bulk::{self as store, Claimed};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::graphql::AppSchema;
use crate::graphql::context::{AppState, Caller};
use crate::graphql::integration::bulk::{KindSpec, spec};
use crate::graphql::limits;
use crate::http::Http;

/// Failed rows per page of the failures file.
const FAILURES_PAGE: u64 = 1_000;
/// How long one pass keeps claiming batches before it yields to the next poll.
const PASS_TIME: StdDuration = StdDuration::from_secs(30);

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("{0}")]
    BadFile(String),
    #[error(transparent)]
    Store(#[from] guanxi_store::StoreError),
}

/// Reads a job's file from `reader` (on a blocking thread) and writes it as batches, each
/// in its own transaction; the job is then queued. A file that does not read leaves the
/// job open again, with nothing of it kept.
pub async fn load_file<R: Read + Send + 'static>(
    state: &AppState,
    author: &Author,
    job: &Job,
    reader: R,
) -> Result<Job, UploadError> {
    let db = &state.db;
    let tx = db.begin_tenant_write(author.tenant_id).await.map_err(guanxi_store::StoreError::from)?;
    store::begin_upload(&tx, author, job.id).await?;
    tx.commit().await.map_err(guanxi_store::StoreError::from)?;
    let loaded = write_batches(state, author, job, reader).await;
    let tx = db.begin_tenant_write(author.tenant_id).await.map_err(guanxi_store::StoreError::from)?;
    let result = match loaded {
        Ok((columns, rows, batches)) => store::finish_upload(&tx, author, job.id, &columns, (rows, batches)).await?,
        Err(error) => {
            store::cancel_upload(&tx, author, job.id).await?;
            tx.commit().await.map_err(guanxi_store::StoreError::from)?;
            return Err(error);
        }
    };
    tx.commit().await.map_err(guanxi_store::StoreError::from)?;
    Ok(result)
}

/// The batches of one file as they are read.
struct Cut {
    batch: Vec<RawRow>,
    first_row: i64,
}

async fn write_batches<R: Read + Send + 'static>(
    state: &AppState,
    author: &Author,
    job: &Job,
    reader: R,
) -> Result<(Vec<String>, i64, i32), UploadError> {
    let (send, mut receive) = tokio::sync::mpsc::channel::<Cut>(2);
    let (format, fields) = (job.format, (spec(job.kind).fields)());
    let reading = tokio::task::spawn_blocking(move || split(reader, format, &fields, send));
    let mut batches = 0;
    let mut written: Result<(), UploadError> = Ok(());
    while let Some(cut) = receive.recv().await {
        // After a failed write, the rest is drained and dropped.
        if written.is_err() {
            continue;
        }
        batches += 1;
        written = async {
            let tx = state.db.begin_tenant_write(author.tenant_id).await.map_err(guanxi_store::StoreError::from)?;
            store::add_batch(&tx, author.tenant_id, job.id, (batches, cut.first_row), &cut.batch).await?;
            tx.commit().await.map_err(guanxi_store::StoreError::from)?;
            Ok::<(), UploadError>(())
        }
        .await;
    }
    let read = reading.await.map_err(|e| UploadError::BadFile(format!("reading the file: {e}")))?;
    written?;
    let (columns, rows) = read.map_err(UploadError::BadFile)?;
    Ok((columns, rows, batches))
}

/// The longest row a file may hold, in bytes.
const MAX_ROW_BYTES: usize = 256 * 1024;

/// A row's text is stored as it came: no NUL (PostgreSQL's text refuses it) and at most
/// [`MAX_ROW_BYTES`] (an unclosed quote would otherwise swallow the file).
fn check_row(number: i64, text: impl Iterator<Item = usize>, has_nul: bool) -> Result<(), String> {
    if has_nul {
        return Err(format!("row {number} holds a NUL character"));
    }
    if text.sum::<usize>() > MAX_ROW_BYTES {
        return Err(format!("row {number} is over {MAX_ROW_BYTES} bytes (an unclosed quote?)"));
    }
    Ok(())
}

/// Cuts a file into batches of [`BATCH_ROWS`] rows, sent as they fill; answers the CSV
/// header and the number of rows. A CSV header must name fields of the kind's record.
fn split(
    reader: impl Read,
    format: Format,
    fields: &HashMap<String, CellType>,
    send: tokio::sync::mpsc::Sender<Cut>,
) -> Result<(Vec<String>, i64), String> {
    let mut rows = 0i64;
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut push = |row: RawRow, batch: &mut Vec<RawRow>| -> Result<(), String> {
        rows += 1;
        batch.push(row);
        if batch.len() == BATCH_ROWS {
            let full = std::mem::replace(batch, Vec::with_capacity(BATCH_ROWS));
            let cut = Cut { first_row: rows - full.len() as i64 + 1, batch: full };
            send.blocking_send(cut).map_err(|_| "the upload was cut off".to_owned())?;
        }
        Ok(())
    };
    let columns = match format {
        Format::Csv => {
            let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
            let columns: Vec<String> = csv
                .headers()
                .map_err(|e| format!("the header row does not read: {e}"))?
                .iter()
                .enumerate()
                .map(|(i, h)| if i == 0 { h.trim_start_matches('\u{feff}') } else { h }.trim().to_owned())
                .collect();
            check_columns(&columns, fields)?;
            for (i, record) in csv.records().enumerate() {
                let record = record.map_err(|e| format!("the file does not read as CSV: {e}"))?;
                check_row(i as i64 + 1, record.iter().map(str::len), record.iter().any(|c| c.contains('\0')))?;
                push(RawRow::Cells(record.iter().map(str::to_owned).collect()), &mut batch)?;
            }
            columns
        }
        Format::Ndjson => {
            let mut number = 0;
            for line in std::io::BufReader::new(reader).lines() {
                let line = line.map_err(|e| format!("the file does not read as UTF-8 lines: {e}"))?;
                if !line.trim().is_empty() {
                    number += 1;
                    check_row(number, std::iter::once(line.len()), line.contains('\0'))?;
                    push(RawRow::Line(line), &mut batch)?;
                }
            }
            Vec::new()
        }
    };
    if !batch.is_empty() {
        let first_row = rows - batch.len() as i64 + 1;
        send.blocking_send(Cut { batch, first_row }).map_err(|_| "the upload was cut off".to_owned())?;
    }
    Ok((columns, rows))
}

/// A CSV header names each field once, `externalId` among them, and only fields of the
/// record.
fn check_columns(columns: &[String], fields: &HashMap<String, CellType>) -> Result<(), String> {
    let unknown: Vec<&str> = columns.iter().map(String::as_str).filter(|c| !fields.contains_key(*c)).collect();
    if !unknown.is_empty() {
        let mut known: Vec<&str> = fields.keys().map(String::as_str).collect();
        known.sort_unstable();
        return Err(format!("unknown columns: {}; the columns are {}", unknown.join(", "), known.join(", ")));
    }
    if !columns.iter().any(|c| c == "externalId") {
        return Err("the header needs an `externalId` column".into());
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = columns.iter().find(|c| !seen.insert(c.as_str())) {
        return Err(format!("the column `{twice}` is given twice"));
    }
    Ok(())
}

/// A row as the upsert's record, or why it cannot be one.
fn record_of(
    row: &RawRow,
    columns: &[String],
    kind: &KindSpec,
    fields: &HashMap<String, CellType>,
) -> Result<Value, String> {
    let value = match row {
        RawRow::Line(line) => serde_json::from_str::<Value>(line).map_err(|e| format!("record: not JSON: {e}"))?,
        RawRow::Cells(cells) => {
            if cells.len() != columns.len() {
                return Err(format!("record: the row has {} cells; the header has {}", cells.len(), columns.len()));
            }
            let mut record = Map::new();
            for (column, cell) in columns.iter().zip(cells) {
                let ty = fields.get(column).copied().unwrap_or(CellType::String);
                if let Some(value) = rules::cell_value(ty, cell).map_err(|e| format!("{column}: {e}"))? {
                    record.insert(column.clone(), value);
                }
            }
            Value::Object(record)
        }
    };
    (kind.check)(value.clone()).map_err(|e| format!("record: {e}"))?;
    Ok(value)
}

/// The key a row names, as far as it can be read.
fn key_of(row: &RawRow, columns: &[String]) -> Option<String> {
    match row {
        RawRow::Line(line) => serde_json::from_str::<Value>(line).ok()?.get("externalId")?.as_str().map(str::to_owned),
        RawRow::Cells(cells) => {
            columns.iter().position(|c| c == "externalId").and_then(|i| cells.get(i)).map(|k| k.trim().to_owned())
        }
    }
}

/// Runs bulk jobs; one per replica.
#[derive(Clone)]
pub struct Runner {
    state: Arc<AppState>,
    schema: AppSchema,
    lease: Duration,
    /// Runs this job alone (the command line's import).
    only: Option<Uuid>,
}

impl Runner {
    /// A runner whose claims last `lease` (a batch's runner that dies holds it that long).
    pub fn new(state: Arc<AppState>, schema: AppSchema, lease: StdDuration) -> Self {
        Self { state, schema, lease: Duration::from_std(lease).unwrap_or(Duration::minutes(5)), only: None }
    }

    /// This runner, running job `job` alone.
    pub fn only(self, job: Uuid) -> Self {
        Self { only: Some(job), ..self }
    }

    /// A runner of its own, for a command: the configured database, migrated, and a
    /// schema over it.
    pub async fn standalone(config: crate::config::Config, lease: StdDuration) -> anyhow::Result<Self> {
        let failed_logins = crate::rate_limit::RateLimiter::per_window(0, StdDuration::from_secs(600));
        let state = Arc::new(crate::app_state(config, failed_logins).await?);
        Ok(Self::new(state.clone(), crate::graphql::build_schema(state), lease))
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Passes every `poll` until `stop` turns true.
    pub async fn run_until(self, mut stop: tokio::sync::watch::Receiver<bool>, poll: StdDuration) {
        loop {
            if let Err(error) = self.run_once().await {
                tracing::warn!(%error, "bulk job pass failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Claims and runs batches one after another until none is due (or a pass's time is
    /// up); answers how many it finished.
    pub async fn run_once(&self) -> anyhow::Result<u64> {
        let started = Instant::now();
        let mut done = 0;
        while started.elapsed() < PASS_TIME {
            let lease = (Utc::now(), self.lease);
            let Some(claimed) = store::claim(&self.state.db, lease, Uuid::now_v7(), self.only).await? else {
                break;
            };
            let (job, batch) = (claimed.job.id, claimed.batch_no);
            match self.run_batch(claimed).await {
                Ok(true) => done += 1,
                Ok(false) => {}
                // Left leased: another attempt comes when the lease runs out.
                Err(error) => {
                    tracing::warn!(%error, %job, batch, "bulk batch failed; it will be tried again");
                    break;
                }
            }
        }
        Ok(done)
    }

    /// Runs one claimed batch; `false` when the job failed instead or the batch was lost.
    async fn run_batch(&self, claimed: Claimed) -> anyhow::Result<bool> {
        let (tenant, job) = (claimed.tenant, &claimed.job);
        if claimed.attempts > MAX_BATCH_ATTEMPTS {
            let error = format!("batch {} failed {MAX_BATCH_ATTEMPTS} times", claimed.batch_no);
            return self.fail(&claimed, &error).await;
        }
        let Some(actor) = self.actor(&claimed).await? else {
            return self.fail(&claimed, "the job's user or API key is no longer active").await;
        };
        if let Some(missing) = crate::graphql::integration::bulk::missing_permission(&actor, job.kind) {
            return self.fail(&claimed, &format!("the job's user lacks `{}`", missing.key())).await;
        }
        let kind = spec(job.kind);
        let fields = (kind.fields)();
        let mut failures = Vec::new();
        let mut good = Vec::new();
        for (i, row) in claimed.rows.iter().enumerate() {
            let number = claimed.first_row + i as i64;
            match record_of(row, &job.columns, &kind, &fields) {
                Ok(record) => good.push((number, row, record)),
                Err(error) => failures.push(RowFailure {
                    row: number,
                    external_id: key_of(row, &job.columns),
                    error,
                    record: row.clone(),
                }),
            }
        }
        let mut tally =
            Tally { processed: claimed.rows.len() as i64, failed: failures.len() as i64, ..Tally::default() };
        if !good.is_empty() {
            let records: Vec<Value> = good.iter().map(|(_, _, record)| record.clone()).collect();
            let results = match self.upsert(&claimed, &kind, actor, records).await? {
                Ok(results) => results,
                Err(error) => return self.fail(&claimed, &error).await,
            };
            for ((number, row, record), (outcome, error)) in good.into_iter().zip(results) {
                match outcome {
                    Outcome::Created => tally.created += 1,
                    Outcome::Updated => tally.updated += 1,
                    Outcome::Unchanged => tally.unchanged += 1,
                    Outcome::Failed | Outcome::Skipped => {
                        tally.failed += 1;
                        failures.push(RowFailure {
                            row: number,
                            external_id: record.get("externalId").and_then(Value::as_str).map(str::to_owned),
                            error,
                            record: row.clone(),
                        });
                    }
                }
            }
        }
        let tx = self.state.db.begin_tenant_write(tenant).await?;
        let counted = store::finish_batch(&tx, &claimed, tally, failures).await?;
        tx.commit().await?;
        Ok(counted)
    }

    /// The job's actor as it is now: its API key's, or its user's.
    async fn actor(&self, claimed: &Claimed) -> anyhow::Result<Option<Actor>> {
        let conn = self.state.db.connection();
        let job = &claimed.job;
        Ok(match job.api_key_id {
            Some(key) => guanxi_store::platform::auth::api_key_actor_by_id(conn, claimed.tenant, key).await?,
            None => {
                let user = guanxi_domain::ids::UserId::from_uuid(job.created_by);
                guanxi_store::platform::auth::user_actor(conn, claimed.tenant, user).await?
            }
        })
    }

    /// Runs the kind's upsert mutation on `records` as `actor`: each row's outcome and
    /// errors, in order; `Err` for an error of the call as a whole that a retry would not
    /// cure. A database error is `anyhow`'s, and the batch is tried again.
    async fn upsert(
        &self,
        claimed: &Claimed,
        kind: &KindSpec,
        actor: Actor,
        records: Vec<Value>,
    ) -> anyhow::Result<Result<Vec<(Outcome, String)>, String>> {
        let (job, rows) = (&claimed.job, records.len());
        let query = format!(
            "mutation Bulk($input: {}!) {{ result: {}(input: $input) {{ \
             results {{ outcome userErrors {{ field message }} }} userErrors {{ field message }} }} }}",
            kind.input_type, kind.mutation
        );
        let mut input = json!({
            "source": job.source,
            "records": records,
            "mode": "PARTIAL",
            "idempotencyKey": format!("bulk:{}:{}", job.id, claimed.batch_no),
        });
        if job.confirm_duplicates {
            input["confirmDuplicates"] = Value::Bool(true);
        }
        let request_id = format!("bulk-{}-{}", job.id.simple(), claimed.batch_no);
        let caller = Caller { actor: Some(actor), request_id: Some(request_id), ..Caller::default() };
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(json!({ "input": input })));
        let response = self.schema.execute(crate::http::with_caller(request, &self.state, &caller)).await;
        if let Some(error) = response.errors.first() {
            let code = error
                .extensions
                .as_ref()
                .and_then(|e| e.get("code"))
                .map(|c| c.to_string().trim_matches('"').to_owned())
                .unwrap_or_default();
            return match code.as_str() {
                "FORBIDDEN" | "UNAUTHENTICATED" | "BAD_USER_INPUT" => Ok(Err(error.message.clone())),
                _ => Err(anyhow::anyhow!("{}", error.message)),
            };
        }
        let data = response.data.into_json()?;
        let result = &data["result"];
        if let Some(errors) = result["userErrors"].as_array().filter(|e| !e.is_empty()) {
            return Ok(Err(errors_text(errors)));
        }
        let results = result["results"].as_array().cloned().unwrap_or_default();
        if results.len() != rows {
            return Ok(Err(format!("the upsert answered {} results for {rows} rows", results.len())));
        }
        Ok(Ok(results
            .iter()
            .map(|r| {
                let outcome = serde_json::from_value(r["outcome"].clone()).unwrap_or(Outcome::Failed);
                let errors = r["userErrors"].as_array().map(|e| errors_text(e)).unwrap_or_default();
                (outcome, errors)
            })
            .collect()))
    }

    /// Fails the job with `error`; the batch is left as it is.
    async fn fail(&self, claimed: &Claimed, error: &str) -> anyhow::Result<bool> {
        let tx = self.state.db.begin_tenant_write(claimed.tenant).await?;
        store::fail(&tx, claimed.tenant, claimed.job.id, error).await?;
        tx.commit().await?;
        tracing::warn!(job = %claimed.job.id, error, "bulk job failed");
        Ok(false)
    }
}

/// User errors as one line of the failures file.
fn errors_text(errors: &[Value]) -> String {
    let errors: Vec<guanxi_domain::FieldError> = errors
        .iter()
        .map(|e| {
            guanxi_domain::FieldError::new(
                e["field"].as_str().unwrap_or("record"),
                guanxi_domain::ErrorCode::Invalid,
                e["message"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    rules::error_text(&errors)
}

fn refusal(status: StatusCode, message: &str, code: &str) -> Response {
    let kind = match status {
        StatusCode::UNAUTHORIZED => "UNAUTHENTICATED",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::SERVICE_UNAVAILABLE => "INTERNAL_SERVER_ERROR",
        _ => "BAD_USER_INPUT",
    };
    (status, axum::Json(limits::refusal(message, kind, code))).into_response()
}

/// The caller's job `id`, or the response that refuses them.
async fn callers_job(http: &Http, headers: &HeaderMap, id: &str) -> Result<(Actor, Job), Response> {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let caller = crate::http::authenticate(&http.state, authorization, request_id).await;
    let Some(actor) = caller.actor else {
        return Err(refusal(StatusCode::UNAUTHORIZED, "log in first", "UNAUTHENTICATED"));
    };
    let not_found = || refusal(StatusCode::NOT_FOUND, "no such job", "NOT_FOUND");
    let Ok(id) = Uuid::try_parse(id) else { return Err(not_found()) };
    match store::find(http.state.db.connection(), actor.tenant_id, actor.user_id.uuid(), id).await {
        Ok(Some(job)) => Ok((actor, job)),
        Ok(None) => Err(not_found()),
        Err(error) => {
            tracing::error!(%error, "reading a bulk job");
            Err(refusal(StatusCode::SERVICE_UNAVAILABLE, "try again", "UNAVAILABLE"))
        }
    }
}

/// `PUT /bulk/jobs/{id}/data`: the job's file, streamed into batches. Answers the job's
/// global id, state, rows and batches as JSON. The work runs in its own task, so a client
/// that goes away mid-file does not cut it off before it undoes the partial upload.
pub async fn upload(State(http): State<Http>, headers: HeaderMap, Path(id): Path<String>, body: Body) -> Response {
    let (actor, job) = match callers_job(&http, &headers, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    // The file runs with the role of the credential that created the job: only that
    // credential may send it (a narrower API key of the same user may not fill a job its
    // user opened), and only while it may still write the kind.
    if actor.api_key_id.map(|k| k.uuid()) != job.api_key_id {
        let message = "send the file with the credential (login or API key) that created the job";
        return refusal(StatusCode::FORBIDDEN, message, "FORBIDDEN");
    }
    if let Some(missing) = crate::graphql::integration::bulk::missing_permission(&actor, job.kind) {
        return refusal(StatusCode::FORBIDDEN, &format!("this needs the `{}` permission", missing.key()), "FORBIDDEN");
    }
    let limit = http.state.config.limits.max_bulk_upload_bytes;
    let mut seen = 0usize;
    let stream = body.into_data_stream().map_err(std::io::Error::other).and_then(move |chunk| {
        seen += chunk.len();
        let over = seen > limit;
        async move {
            match over {
                true => Err(std::io::Error::other(format!("the file is over {limit} bytes"))),
                false => Ok(chunk),
            }
        }
    });
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(Box::pin(stream)));
    let author = Author::of(&actor, headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned));
    let state = http.state.clone();
    let loading = tokio::spawn(async move { load_file(&state, &author, &job, reader).await });
    let loaded = loading.await.unwrap_or_else(|e| Err(UploadError::BadFile(format!("the upload broke off: {e}"))));
    match loaded {
        Ok(job) => axum::Json(json!({
            "id": crate::graphql::relay::global_id(crate::graphql::integration::bulk::BULK_JOB, job.id).0,
            "state": job.state.as_str(),
            "totalRows": job.total_rows,
            "batchCount": job.batch_count,
        }))
        .into_response(),
        Err(UploadError::BadFile(message)) => refusal(StatusCode::BAD_REQUEST, &message, "BAD_FILE"),
        Err(UploadError::Store(guanxi_store::StoreError::Rejected(invalid))) => {
            let message = invalid.0.first().map(|e| e.message.clone()).unwrap_or_default();
            refusal(
                StatusCode::CONFLICT,
                &format!("the file can go up only while the job is OPEN: {message}"),
                "ILLEGAL_STATE",
            )
        }
        Err(UploadError::Store(error)) => {
            tracing::error!(%error, "uploading a bulk file");
            refusal(StatusCode::SERVICE_UNAVAILABLE, "try again", "UNAVAILABLE")
        }
    }
}

/// `GET /bulk/jobs/{id}/failures.csv`: the job's failed rows, page by page, as CSV with a
/// byte-order mark (Excel reads it as UTF-8): `row`, `externalId`, `error`, then the row
/// as uploaded (the CSV's own columns, or the NDJSON line as `record`).
pub async fn failures(State(http): State<Http>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let (actor, job) = match callers_job(&http, &headers, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mut heading = vec!["row".to_owned(), "externalId".to_owned(), "error".to_owned()];
    match job.format {
        Format::Csv => heading.extend(job.columns.iter().cloned()),
        Format::Ndjson => heading.push("record".into()),
    }
    let first = csv_lines(std::iter::once(heading));
    let db = http.state.db.clone();
    let (tenant, job_id, width) = (actor.tenant_id, job.id, job.columns.len());
    let pages = futures::stream::try_unfold(Some(0i64), move |after| {
        let db = db.clone();
        async move {
            let Some(after) = after else { return Ok(None) };
            let page = store::failures(db.connection(), tenant, job_id, after, FAILURES_PAGE).await?;
            let next = (page.len() as u64 == FAILURES_PAGE).then(|| page.last().map_or(after, |f| f.row));
            let lines = csv_lines(page.into_iter().map(|f| {
                let mut line = vec![f.row.to_string(), f.external_id.unwrap_or_default(), f.error];
                match f.record {
                    // A short row is padded to the header, so the file stays a table.
                    RawRow::Cells(mut cells) => {
                        cells.resize(cells.len().max(width), String::new());
                        line.extend(cells);
                    }
                    RawRow::Line(text) => line.push(text),
                }
                line
            }));
            Ok::<_, guanxi_store::StoreError>(Some((lines, next)))
        }
    });
    let body =
        futures::stream::once(
            async move { Ok::<_, guanxi_store::StoreError>(format!("\u{feff}{first}").into_bytes()) },
        )
        .chain(pages.map_ok(String::into_bytes));
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"bulk-{}-failures.csv\"", job.id.simple())) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Lines of CSV.
fn csv_lines(rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
    for row in rows {
        // Writing to memory does not fail.
        let _ = writer.write_record(&row);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// `guanxi import`: creates a job as `user` of `tenant`, loads `file` into it and runs it
/// here to the end, with a progress bar on a terminal (plain lines otherwise); prints the
/// job's counts as one JSON line.
pub async fn import_file(
    config: crate::config::Config,
    (tenant, user): (&str, &str),
    (kind, source, confirm_duplicates): (guanxi_domain::platform::bulk::JobKind, &str, bool),
    file: &std::path::Path,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let format = match file.extension().and_then(|e| e.to_str()).map(str::to_lowercase).as_deref() {
        Some("csv") => Format::Csv,
        Some("ndjson" | "jsonl") => Format::Ndjson,
        _ => anyhow::bail!("name a .csv, .ndjson or .jsonl file"),
    };
    let reader = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let lease = StdDuration::from_secs(config.bulk_lease_secs.max(1));
    let runner = Runner::standalone(config, lease).await?;
    let state = runner.state().clone();
    let conn = state.db.connection();
    let tenant_id: guanxi_domain::ids::TenantId = guanxi_store::platform::tenant::find_by_slug(conn, tenant)
        .await?
        .with_context(|| format!("no tenant `{tenant}`"))?
        .id
        .into();
    let user_id = guanxi_store::platform::user::find_for_login(conn, tenant_id, user)
        .await?
        .with_context(|| format!("no user `{user}` in `{tenant}`"))?
        .id;
    let actor = guanxi_store::platform::auth::user_actor(conn, tenant_id, user_id.into())
        .await?
        .with_context(|| format!("`{user}` is not active"))?;
    if let Some(missing) = crate::graphql::integration::bulk::missing_permission(&actor, kind) {
        anyhow::bail!("`{user}` lacks `{}`", missing.key());
    }
    let source = kind.parse_source(source).map_err(|e| anyhow::anyhow!(e.message))?;
    if confirm_duplicates && kind != guanxi_domain::platform::bulk::JobKind::Customer {
        anyhow::bail!("only customers have a duplicate check to confirm");
    }
    let author = Author::of(&actor, None);
    let new = store::NewJob { kind, format, source, confirm_duplicates, api_key_id: None };
    let tx = state.db.begin_tenant_write(tenant_id).await?;
    let job = store::create(&tx, &author, new).await?;
    tx.commit().await?;
    let started = Instant::now();
    let job = load_file(&state, &author, &job, reader).await?;
    let progress = crate::progress::Progress::steps("import", job.batch_count.max(0) as u64);
    let runner = runner.only(job.id);
    let job = loop {
        runner.run_once().await?;
        let now = store::find(conn, tenant_id, user_id, job.id).await?.context("the job is gone")?;
        let batches_done = (now.processed_rows as u64).div_ceil(BATCH_ROWS as u64);
        progress.step(batches_done, &format!("{} of {} rows", now.processed_rows, now.total_rows));
        if now.state.is_final() {
            break now;
        }
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    };
    progress.finish();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "job": crate::graphql::relay::global_id(crate::graphql::integration::bulk::BULK_JOB, job.id).0,
            "state": job.state.as_str(),
            "rows": job.total_rows,
            "created": job.created_rows,
            "updated": job.updated_rows,
            "unchanged": job.unchanged_rows,
            "failed": job.failed_rows,
            "error": job.error,
            "seconds": (seconds * 1000.0).round() / 1000.0,
            "rowsPerSecond": (job.processed_rows as f64 / seconds.max(0.001)).round(),
        })
    );
    Ok(())
}
