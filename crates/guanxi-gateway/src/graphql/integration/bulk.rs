//! Bulk jobs (批量导入任务), for files of any size: `createBulkJob` opens a job for one kind
//! of record, the file goes up once to the job's `uploadUrl` (`PUT`, CSV or NDJSON), and
//! the server upserts it in the background, batch by batch, through the kind's
//! `upsert<Kind>s` mutation itself (see `crate::bulk`). Progress by query and by
//! subscription; the failed rows, with their errors, as a CSV at `failuresUrl`.

use std::collections::HashMap;

use async_graphql::registry::{MetaType, Registry};
use async_graphql::{Context, Enum, ID, InputObject, InputType, Object, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::platform::access::{Actor, Permission};
use guanxi_domain::platform::bulk::{CellType, Job, JobKind};
use guanxi_store::platform::bulk::NewJob;
use serde::Serialize;
use serde_json::Value;

use crate::graphql::context::{actor, author, state};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::mutation::{Idempotent, transact, write};
use crate::graphql::platform::audit::{FeedStart, feed_start, still_valid};
use crate::graphql::relay::{Conn, TotalCount, connection, expect_id, global_id, input_id, page_request};

pub const BULK_JOB: &str = EntityKind::BulkJob.name();

/// What a job upserts.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "guanxi_domain::platform::bulk::JobKind")]
pub enum BulkJobKind {
    /// Through `upsertCustomers`.
    Customer,
    /// Through `upsertContacts`.
    Contact,
    /// Through `upsertProducts`.
    Product,
    /// Through `upsertPricePolicies`.
    PricePolicy,
    /// Through `upsertInteractions` (a call centre's or a chat archive's records).
    Interaction,
}

/// The format of a job's file.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "guanxi_domain::platform::bulk::Format")]
pub enum BulkFormat {
    /// UTF-8 (a byte-order mark is skipped), comma-separated, quoted as RFC 4180. The
    /// header row names the record's fields as the upsert mutation does (`externalId`,
    /// `name`, …). An empty cell leaves a field as it is, `#N/A` sets it to null; a list
    /// is a JSON array or items separated by `;`; an object or a JSON value is JSON text.
    Csv,
    /// One JSON object per line, each the upsert mutation's record.
    Ndjson,
}

/// Where a job is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "guanxi_domain::platform::bulk::JobState")]
pub enum BulkJobState {
    /// Waiting for its file.
    Open,
    /// Its file is arriving.
    Uploading,
    /// Its file is in; its batches are being processed.
    Queued,
    /// Every row was processed; some may have failed (`failedRows`).
    Completed,
    /// Stopped by an error of the job as a whole (`error`); rows already processed stay.
    Failed,
    /// Stopped by its creator; rows already processed stay.
    Aborted,
}

/// A bulk job with its progress.
pub struct BulkJob(pub Job);

#[Object]
impl BulkJob {
    pub async fn id(&self) -> ID {
        global_id(BULK_JOB, self.0.id)
    }
    async fn kind(&self) -> BulkJobKind {
        self.0.kind.into()
    }
    async fn format(&self) -> BulkFormat {
        self.0.format.into()
    }
    /// The system the file's keys come from.
    async fn source(&self) -> &str {
        &self.0.source
    }
    async fn confirm_duplicates(&self) -> bool {
        self.0.confirm_duplicates
    }
    async fn state(&self) -> BulkJobState {
        self.0.state.into()
    }
    /// A CSV file's header row.
    async fn columns(&self) -> Vec<String> {
        self.0.columns.clone()
    }
    /// Rows in the file (known once it is uploaded).
    async fn total_rows(&self) -> i64 {
        self.0.total_rows
    }
    async fn batch_count(&self) -> i32 {
        self.0.batch_count
    }
    /// Rows processed so far: `createdRows + updatedRows + unchangedRows + failedRows`.
    async fn processed_rows(&self) -> i64 {
        self.0.processed_rows
    }
    async fn created_rows(&self) -> i64 {
        self.0.created_rows
    }
    async fn updated_rows(&self) -> i64 {
        self.0.updated_rows
    }
    async fn unchanged_rows(&self) -> i64 {
        self.0.unchanged_rows
    }
    /// Rows that failed; each is in the failures file with its errors.
    async fn failed_rows(&self) -> i64 {
        self.0.failed_rows
    }
    /// Why the job failed, when it did.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn uploaded_at(&self) -> Option<DateTime<Utc>> {
        self.0.uploaded_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Where the file goes: `PUT` it here with the same bearer token, as `text/csv` or
    /// `application/x-ndjson`, while the job is `OPEN`.
    async fn upload_url(&self) -> String {
        format!("/bulk/jobs/{}/data", self.0.id)
    }
    /// The failed rows as CSV (`GET`, same bearer token): the row's place in the file,
    /// its key, its errors, then the row as uploaded.
    async fn failures_url(&self) -> String {
        format!("/bulk/jobs/{}/failures.csv", self.0.id)
    }
}

/// How the rows of each kind reach its upsert: the mutation, its input type, the record
/// type a row is read as, and the permissions it needs.
pub struct KindSpec {
    pub mutation: &'static str,
    pub input_type: &'static str,
    pub permissions: &'static [Permission],
    /// Reads a row as the record type, as GraphQL reads the call's variables.
    pub check: fn(Value) -> Result<(), String>,
    /// The record's fields and their types, for CSV cells.
    pub fields: fn() -> HashMap<String, CellType>,
}

/// Reads `row` as the GraphQL input type `T`: the message of the first error, if any.
fn check_as<T: InputType>(row: Value) -> Result<(), String> {
    if !row.is_object() {
        return Err("a row is a JSON object".into());
    }
    let value = async_graphql::Value::from_json(row).map_err(|e| e.to_string())?;
    T::parse(Some(value)).map(|_| ()).map_err(|e| e.into_server_error(Default::default()).message)
}

/// The input fields of `T` with their cell types.
fn fields_of<T: InputType>() -> HashMap<String, CellType> {
    let mut registry = Registry::default();
    T::create_type_info(&mut registry);
    let is_object = |name: &str| matches!(registry.types.get(name), Some(MetaType::InputObject { .. }));
    match registry.types.get(&*T::type_name()) {
        Some(MetaType::InputObject { input_fields, .. }) => {
            input_fields.values().map(|field| (field.name.clone(), CellType::of(&field.ty, is_object))).collect()
        }
        _ => HashMap::new(),
    }
}

pub fn spec(kind: JobKind) -> KindSpec {
    use crate::graphql::integration::upsert::{ContactUpsertRecord, CustomerUpsertRecord, InteractionUpsertRecord};
    use crate::graphql::trade::product_upsert::{PricePolicyUpsertRecord, ProductUpsertRecord};
    match kind {
        JobKind::Customer => KindSpec {
            mutation: "upsertCustomers",
            input_type: "UpsertCustomersInput",
            permissions: &[Permission::CustomerCreate, Permission::CustomerUpdate],
            check: check_as::<CustomerUpsertRecord>,
            fields: fields_of::<CustomerUpsertRecord>,
        },
        JobKind::Contact => KindSpec {
            mutation: "upsertContacts",
            input_type: "UpsertContactsInput",
            permissions: &[Permission::ContactWrite],
            check: check_as::<ContactUpsertRecord>,
            fields: fields_of::<ContactUpsertRecord>,
        },
        JobKind::Product => KindSpec {
            mutation: "upsertProducts",
            input_type: "UpsertProductsInput",
            permissions: &[Permission::ProductManage],
            check: check_as::<ProductUpsertRecord>,
            fields: fields_of::<ProductUpsertRecord>,
        },
        JobKind::PricePolicy => KindSpec {
            mutation: "upsertPricePolicies",
            input_type: "UpsertPricePoliciesInput",
            permissions: &[Permission::ProductManage],
            check: check_as::<PricePolicyUpsertRecord>,
            fields: fields_of::<PricePolicyUpsertRecord>,
        },
        JobKind::Interaction => KindSpec {
            mutation: "upsertInteractions",
            input_type: "UpsertInteractionsInput",
            permissions: &[Permission::InteractionWrite],
            check: check_as::<InteractionUpsertRecord>,
            fields: fields_of::<InteractionUpsertRecord>,
        },
    }
}

/// The permission of `kind`'s upsert that `actor` lacks, if any.
pub fn missing_permission(actor: &Actor, kind: JobKind) -> Option<Permission> {
    spec(kind).permissions.iter().copied().find(|p| !actor.may(*p))
}

#[derive(InputObject, Serialize)]
pub struct CreateBulkJobInput {
    pub kind: BulkJobKind,
    pub format: BulkFormat,
    /// The system the file's keys come from, e.g. `kingdee`.
    pub source: String,
    /// Customers only: write rows the duplicate check flags, under the tenant's WARN
    /// policy (查重).
    #[graphql(default)]
    pub confirm_duplicates: bool,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct BulkJobIdInput {
    pub id: ID,
}

crate::graphql::error::payload! {
    BulkJobPayload, bulk_job: BulkJob(Job)
}

#[derive(Default)]
pub struct BulkJobQuery;

#[Object]
impl BulkJobQuery {
    /// The caller's bulk jobs, newest first, in `states` when given.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn bulk_jobs(
        &self,
        ctx: &Context<'_>,
        states: Option<Vec<BulkJobState>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<BulkJob>> {
        let actor = actor(ctx)?;
        let request = page_request(first, after, None, None, "CREATED_AT")?;
        let states: Vec<_> = states.unwrap_or_default().into_iter().map(Into::into).collect();
        let db = state(ctx).db.clone();
        let (tenant, user) = (actor.tenant_id, actor.user_id.uuid());
        let page = guanxi_store::platform::bulk::list(db.connection(), tenant, user, &states, &request).await?;
        let total = TotalCount::new(move |limit| {
            let (db, states) = (db.clone(), states.clone());
            Box::pin(
                async move { guanxi_store::platform::bulk::count(db.connection(), tenant, user, &states, limit).await },
            )
        });
        Ok(connection(page, total, BulkJob))
    }

    /// One of the caller's bulk jobs.
    async fn bulk_job(&self, ctx: &Context<'_>, id: ID) -> ApiResult<BulkJob> {
        let actor = actor(ctx)?;
        let id = expect_id(&id, BULK_JOB)?;
        let found =
            guanxi_store::platform::bulk::find(state(ctx).db.connection(), actor.tenant_id, actor.user_id.uuid(), id)
                .await?;
        found.map(BulkJob).ok_or(ApiError::NotFound)
    }
}

#[derive(Default)]
pub struct BulkJobMutation;

#[Object]
impl BulkJobMutation {
    /// Opens a bulk job: the caller then `PUT`s the file to its `uploadUrl`, and the
    /// server upserts it in the background, batch by batch, through the kind's upsert
    /// mutation (the same checks, keys, numbering and change events). The job runs as the
    /// caller (with the API key's role, when created with one), checked again for each
    /// batch; it needs the permissions of the kind's upsert.
    async fn create_bulk_job(&self, ctx: &Context<'_>, input: CreateBulkJobInput) -> ApiResult<BulkJobPayload> {
        let actor = actor(ctx)?;
        let kind: JobKind = input.kind.into();
        if let Some(missing) = missing_permission(actor, kind) {
            return Err(ApiError::Forbidden(format!("this needs the `{}` permission", missing.key())));
        }
        let mut errors = Vec::new();
        let source =
            kind.parse_source(&input.source).map_err(|e| errors.push(UserError::new(&e.field, e.code, e.message))).ok();
        if input.confirm_duplicates && kind != JobKind::Customer {
            errors.push(UserError::new(
                "confirmDuplicates",
                ErrorCode::Invalid,
                "only customers have a duplicate check to confirm",
            ));
        }
        let Some(source) = source.filter(|_| errors.is_empty()) else { return Ok(Err(errors).into()) };
        let new = NewJob {
            kind,
            format: input.format.into(),
            source,
            confirm_duplicates: input.confirm_duplicates,
            api_key_id: actor.api_key_id.map(|k| k.uuid()),
        };
        let idempotent = Idempotent::new(actor, "createBulkJob", input.idempotency_key.as_deref(), &input);
        let (author, tenant, user) = (author(ctx, actor), actor.tenant_id, actor.user_id.uuid());
        let created = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let job = guanxi_store::platform::bulk::create(tx, &author, new).await?;
                    Ok((job.id, job))
                })
            },
            move |tx, id| {
                Box::pin(async move {
                    guanxi_store::platform::bulk::find(tx, tenant, user, id)
                        .await?
                        .ok_or(guanxi_store::StoreError::NotFound)
                })
            },
        )
        .await?;
        Ok(created.into())
    }

    /// Stops one of the caller's jobs that is not over. Batches already processed stay
    /// written; the rest are not run.
    async fn abort_bulk_job(&self, ctx: &Context<'_>, input: BulkJobIdInput) -> ApiResult<BulkJobPayload> {
        let actor = actor(ctx)?;
        let id = match input_id("id", &input.id, BULK_JOB) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = author(ctx, actor);
        let result =
            transact(ctx, |tx| Box::pin(async move { guanxi_store::platform::bulk::abort(tx, &author, id).await }))
                .await?;
        Ok(result.into())
    }
}

#[derive(Default)]
pub struct BulkJobSubscription;

#[Subscription]
impl BulkJobSubscription {
    /// One of the caller's jobs now, and again each time its state or progress moves,
    /// until it is over. Authenticate in `connection_init` with
    /// `{"Authorization": "Bearer <token>"}`.
    async fn bulk_job_progress(&self, ctx: &Context<'_>, id: ID) -> Result<impl Stream<Item = BulkJob>, ApiError> {
        let actor = actor(ctx)?.clone();
        let id = expect_id(&id, BULK_JOB)?;
        let FeedStart { credential, app, poll, .. } = feed_start(ctx, &actor).await?;
        let (tenant, user) = (actor.tenant_id, actor.user_id.uuid());
        let first = guanxi_store::platform::bulk::find(app.db.connection(), tenant, user, id)
            .await?
            .ok_or(ApiError::NotFound)?;
        // (the job last sent, whether it was the last to send)
        Ok(futures::stream::unfold((Some(first), None::<Job>), move |(next, sent)| {
            let (app, credential) = (app.clone(), credential.clone());
            async move {
                if let Some(job) = next {
                    return Some((BulkJob(job.clone()), (None, Some(job))));
                }
                let sent = sent?;
                if sent.state.is_final() {
                    return None;
                }
                loop {
                    tokio::time::sleep(poll).await;
                    // Logout or a disabled account ends the stream.
                    still_valid(&app.db, tenant, &credential).await.ok()??;
                    let now =
                        guanxi_store::platform::bulk::find(app.db.connection(), tenant, user, id).await.ok()??;
                    if now.version != sent.version {
                        return Some((BulkJob(now.clone()), (None, Some(now))));
                    }
                }
            }
        }))
    }
}
