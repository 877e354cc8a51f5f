//! Field sales over GraphQL: photo uploads, check-in and check-out, visit plans, and the
//! work log (业务日志) with drill-downs.

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use guanxi_domain::activity::field::{
    CheckIn as DomainCheckIn, Upload as StoredUpload, VisitPeriod as DomainPeriod, VisitPlan as DomainPlan,
};
use guanxi_domain::activity::field::{Granularity as DomainGranularity, period_key, period_of, periods};
use guanxi_domain::ids::{CustomerId, DepartmentId};
use guanxi_domain::platform::access::{CustomerRule, Permission, ScopeRule};
use guanxi_domain::{ErrorCode, Invalid};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::graphql::activity::interaction::{Channel, Interaction};
use crate::graphql::context::{actor, author, require, state};
use crate::graphql::customers::customer::{CUSTOMER, Customer};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{CustomerKey, InteractionKey, Loaders, UserKey};
use crate::graphql::mutation::{Idempotent, reload_scoped, transact, write};
use crate::graphql::platform::org::{DEPARTMENT, USER, User};
use crate::graphql::relay::{Conn, TotalCount, client_id, connection, expect_id, global_id, input_id, page_request};
use crate::graphql::service::work_order::{Counted, WorkOrdersFigure};

pub const ATTACHMENT: &str = guanxi_domain::entity::EntityKind::Attachment.name();
pub const CHECK_IN: &str = guanxi_domain::entity::EntityKind::CheckIn.name();
pub const VISIT_PLAN: &str = guanxi_domain::entity::EntityKind::VisitPlan.name();

/// File types an upload may have, with the first bytes each must start with.
const ALLOWED: &[(&str, &[u8])] = &[
    ("image/jpeg", &[0xFF, 0xD8, 0xFF]),
    ("image/png", &[0x89, b'P', b'N', b'G']),
    ("image/webp", b"RIFF"),
    ("application/pdf", b"%PDF"),
];

fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, ApiError> {
    ctx.data_opt::<Loaders>().ok_or_else(|| ApiError::Unauthenticated("log in first".into()))
}

/// An uploaded file.
pub struct Attachment(pub StoredUpload);

#[Object]
impl Attachment {
    async fn id(&self) -> ID {
        global_id(ATTACHMENT, self.0.id)
    }
    async fn file_name(&self) -> &str {
        &self.0.file_name
    }
    async fn content_type(&self) -> &str {
        &self.0.content_type
    }
    async fn size(&self) -> i64 {
        self.0.size
    }
    /// `GET` this path with the same `Authorization` header to download the file.
    async fn download_path(&self) -> String {
        format!("/attachments/{}", self.0.id)
    }
}

/// A field check-in or check-out (外勤签到).
pub struct CheckIn(pub DomainCheckIn);

#[Object]
impl CheckIn {
    pub async fn id(&self) -> ID {
        global_id(CHECK_IN, self.0.id)
    }
    /// CHECK_IN or CHECK_OUT.
    async fn kind(&self) -> &str {
        self.0.kind.as_str()
    }
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loaders(ctx)?.load_one(CustomerKey(self.0.customer_id)).await?.map(Customer))
    }
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        Ok(loaders(ctx)?.load_one(UserKey(self.0.user_id)).await?.map(User))
    }
    /// The visit recorded as an interaction.
    async fn interaction(&self, ctx: &Context<'_>) -> ApiResult<Option<Interaction>> {
        let Some(id) = self.0.interaction_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(InteractionKey(id)).await?.map(Interaction))
    }
    /// The phone's clock, as sent.
    async fn device_time(&self) -> DateTime<Utc> {
        self.0.device_time
    }
    /// The server's clock: what counts.
    async fn server_time(&self) -> DateTime<Utc> {
        self.0.server_time
    }
    async fn latitude(&self) -> f64 {
        self.0.latitude
    }
    async fn longitude(&self) -> f64 {
        self.0.longitude
    }
    async fn accuracy_meters(&self) -> Option<f64> {
        self.0.accuracy_meters
    }
    /// From the customer's coordinates, when the customer has them.
    async fn distance_meters(&self) -> Option<f64> {
        self.0.distance_meters.map(|d| d.round())
    }
    /// More than 1 km from the customer: flagged for the manager, never refused.
    async fn far(&self) -> bool {
        self.0.far
    }
    /// The work order a technician checked in at.
    async fn work_order_id(&self) -> Option<ID> {
        self.0.work_order_id.map(|o| global_id(guanxi_domain::entity::EntityKind::WorkOrder.name(), o))
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// The photos taken at the visit (uploads: read one with `attachment(id)` and fetch
    /// its `downloadPath`).
    async fn photo_ids(&self) -> Vec<ID> {
        self.0.photo_ids.iter().map(|p| global_id(ATTACHMENT, *p)).collect()
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainPeriod")]
pub enum VisitPeriod {
    Month,
    Year,
}

/// Planned visits to a key account (重点客户拜访计划).
pub struct VisitPlan {
    plan: DomainPlan,
    done: i64,
}

#[Object]
impl VisitPlan {
    async fn id(&self) -> ID {
        global_id(VISIT_PLAN, self.plan.id)
    }
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loaders(ctx)?.load_one(CustomerKey(self.plan.customer_id)).await?.map(Customer))
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        Ok(loaders(ctx)?.load_one(UserKey(self.plan.owner_id)).await?.map(User))
    }
    async fn period(&self) -> VisitPeriod {
        self.plan.period.into()
    }
    /// Visits planned per period.
    async fn planned(&self) -> i32 {
        self.plan.visits
    }
    /// Check-ins at the customer in the current period.
    async fn done(&self) -> i64 {
        self.done
    }
}

#[derive(InputObject, Clone, Copy, Serialize)]
pub struct PositionInput {
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_meters: Option<f64>,
}

#[derive(InputObject, Serialize)]
pub struct CheckInInput {
    /// A UUIDv7 the client made for the record (an app offline refers to it before it
    /// syncs): the record gets it, so its global id is known in advance. Another record
    /// with it is `DUPLICATE`; retry with the same `idempotencyKey` instead.
    pub id: Option<String>,
    /// The planned visit this check-in belongs to, if any.
    pub visit_event_id: Option<ID>,
    pub customer_id: ID,
    pub location: PositionInput,
    /// The phone's clock; the server records its own beside it.
    pub device_time: DateTime<Utc>,
    #[graphql(default)]
    pub photo_ids: Vec<ID>,
    pub note: Option<String>,
    /// Retries with the same key are one check-in.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// Photos taken at a visit, uploaded after the visit synced.
#[derive(InputObject, Serialize)]
pub struct AddCheckInPhotosInput {
    /// One of the caller's own check-ins or check-outs.
    pub check_in_id: ID,
    /// The caller's own uploads, not yet attached to anything (`upload`); at most 20
    /// photos a check-in in all.
    pub photo_ids: Vec<ID>,
    /// Retries with the same key add the photos once.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct CheckOutInput {
    pub check_in_id: ID,
    pub location: PositionInput,
    pub device_time: DateTime<Utc>,
    pub note: Option<String>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct CheckInPayload {
    pub check_in: Option<CheckIn>,
    pub user_errors: Vec<UserError>,
}

impl From<crate::graphql::error::Outcome<guanxi_domain::activity::field::CheckIn>> for CheckInPayload {
    fn from(result: crate::graphql::error::Outcome<guanxi_domain::activity::field::CheckIn>) -> Self {
        match result {
            Ok(c) => Self { check_in: Some(CheckIn(c)), user_errors: vec![] },
            Err(errors) => Self { check_in: None, user_errors: errors },
        }
    }
}

impl crate::graphql::error::Written for CheckInPayload {
    type Record = CheckIn;
    fn into_parts(self) -> (Option<CheckIn>, Vec<UserError>) {
        (self.check_in, self.user_errors)
    }
}

/// The photos, position and note of a check-in, checked; problems are added to `problems`.
pub(crate) fn visit_details(
    (photo_ids, location, note): (&[ID], &PositionInput, Option<&str>),
    problems: &mut Vec<UserError>,
) -> (Vec<uuid::Uuid>, Option<String>) {
    let photos = photo_ids
        .iter()
        .filter_map(|p| input_id("photoIds", p, ATTACHMENT).map_err(|e| problems.push(e)).ok())
        .collect();
    if let Err(e) = check_position(location) {
        problems.extend(UserError::all(e));
    }
    let note = guanxi_domain::customers::customer::optional_text("note", note, 2000)
        .map_err(|e| problems.push(UserError::new(&e.field, e.code, e.message)))
        .ok()
        .flatten();
    (photos, note)
}

/// A check-out's time, position and note.
pub(crate) fn check_out_of(
    (location, device_time, note): (&PositionInput, DateTime<Utc>, Option<&str>),
) -> guanxi_store::activity::field::CheckOut {
    guanxi_store::activity::field::CheckOut {
        device_time,
        position: (location.latitude, location.longitude, location.accuracy_meters),
        note: note.map(str::to_owned),
    }
}

#[derive(SimpleObject)]
pub struct UploadPayload {
    attachment: Option<Attachment>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct CreateVisitPlanInput {
    pub customer_id: ID,
    pub period: VisitPeriod,
    pub visits: i32,
}

#[derive(SimpleObject)]
pub struct VisitPlanPayload {
    visit_plan: Option<VisitPlan>,
    user_errors: Vec<UserError>,
}

fn check_position(p: &PositionInput) -> Result<(), Invalid> {
    guanxi_domain::customers::customer::parse_coordinates("location", p.latitude, p.longitude)
        .map_err(Invalid::from)?;
    if p.accuracy_meters.is_some_and(|a| !(0.0..=100_000.0).contains(&a)) {
        return Err(Invalid::one("location.accuracyMeters", ErrorCode::Invalid, "0 to 100000 meters"));
    }
    Ok(())
}

#[derive(Default)]
pub struct FieldMutation;

#[Object]
impl FieldMutation {
    /// Uploads a photo or document (GraphQL multipart request; send the
    /// `apollo-require-preflight: true` header). JPEG, PNG, WebP or PDF, up to the
    /// configured size (10 MiB by default).
    async fn upload_attachment(&self, ctx: &Context<'_>, file: Upload) -> ApiResult<UploadPayload> {
        let actor = actor(ctx)?.clone();
        let app = state(ctx);
        let value = file.value(ctx).map_err(|_| ApiError::BadUserInput("the upload could not be read".into()))?;
        let failed = |field: &str, message: String| UploadPayload {
            attachment: None,
            user_errors: vec![UserError::new(field, ErrorCode::Invalid, message)],
        };
        let limit = app.config.limits.max_upload_bytes;
        let size = value.size().map_err(|_| ApiError::BadUserInput("the upload could not be read".into()))? as usize;
        if size > limit {
            return Ok(failed("file", format!("a file is at most {limit} bytes")));
        }
        let content_type = value.content_type.clone().unwrap_or_default();
        let Some((_, magic)) = ALLOWED.iter().find(|(t, _)| *t == content_type) else {
            return Ok(failed("file", "JPEG, PNG, WebP or PDF only".into()));
        };
        let mut bytes = Vec::with_capacity(size);
        std::io::Read::read_to_end(&mut value.into_read(), &mut bytes).map_err(ApiError::internal)?;
        if !bytes.starts_with(magic) {
            return Ok(failed("file", format!("the content is not {content_type}")));
        }
        let id = uuid::Uuid::now_v7();
        let key = format!("{}/{}", actor.tenant_id.uuid().simple(), id.simple());
        app.blobs.put(&key, &bytes).await.map_err(ApiError::internal)?;
        let digest: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        let file_name: String = file
            .value(ctx)
            .map(|v| v.filename)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let author = author(ctx, &actor);
        let input = guanxi_store::activity::field::NewAttachment {
            id,
            uploaded_by: actor.user_id,
            file_name,
            content_type: content_type.clone(),
            size: bytes.len() as i64,
            sha256: digest,
            storage_key: key,
        };
        let result = transact(ctx, move |tx| {
            Box::pin(async move { guanxi_store::activity::field::insert_attachment(tx, &author, input).await })
        })
        .await?;
        Ok(match result {
            Ok(a) => UploadPayload { attachment: Some(Attachment(a)), user_errors: vec![] },
            Err(errors) => UploadPayload { attachment: None, user_errors: errors },
        })
    }

    /// Checks in at a customer: server time beside device time, distance from the
    /// customer's coordinates (flagged when far, never refused), photos attached, and the
    /// visit recorded as an interaction. A retry with the same idempotency key is one check-in.
    pub(crate) async fn check_in(&self, ctx: &Context<'_>, input: CheckInInput) -> ApiResult<CheckInPayload> {
        let actor = require(ctx, Permission::InteractionWrite)?.clone();
        let mut problems = Vec::new();
        let customer = input_id("customerId", &input.customer_id, CUSTOMER).map_err(|e| problems.push(e)).ok();
        let event = input.visit_event_id.as_ref().and_then(|e| {
            input_id("visitEventId", e, crate::graphql::activity::calendar::EVENT).map_err(|e| problems.push(e)).ok()
        });
        let (photos, note) = visit_details((&input.photo_ids, &input.location, input.note.as_deref()), &mut problems);
        let id = client_id(input.id.as_deref()).map_err(|e| problems.push(e)).ok().flatten();
        let Some(customer) = customer.filter(|_| problems.is_empty()) else {
            return Ok(CheckInPayload { check_in: None, user_errors: problems });
        };
        let author = author(ctx, &actor);
        let rule = actor.customer_write_rule();
        let tenant = actor.tenant_id;
        let new = guanxi_store::activity::field::NewCheckIn {
            customer: CustomerId::from_uuid(customer),
            user: actor.user_id,
            event,
            device_time: input.device_time,
            latitude: input.location.latitude,
            longitude: input.location.longitude,
            accuracy_meters: input.location.accuracy_meters,
            photo_ids: photos,
            note,
            work_order: None,
            id,
        };
        let idempotent = Idempotent::new(&actor, "checkIn", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    guanxi_store::activity::field::check_in(tx, &author, rule, new).await.map(|c| (c.id, c))
                })
            },
            reload_scoped::<guanxi_store::visibility::CheckIns>(tenant, rule),
        )
        .await?;
        Ok(result.into())
    }

    /// Checks out of the caller's own check-in; the visit's length goes on its interaction.
    pub(crate) async fn check_out(&self, ctx: &Context<'_>, input: CheckOutInput) -> ApiResult<CheckInPayload> {
        let actor = require(ctx, Permission::InteractionWrite)?.clone();
        let mut problems = Vec::new();
        let check_in = input_id("checkInId", &input.check_in_id, CHECK_IN).map_err(|e| problems.push(e)).ok();
        if let Err(e) = check_position(&input.location) {
            problems.extend(UserError::all(e));
        }
        let Some(check_in) = check_in.filter(|_| problems.is_empty()) else {
            return Ok(CheckInPayload { check_in: None, user_errors: problems });
        };
        let author = author(ctx, &actor);
        let rule = actor.customer_write_rule();
        let (tenant, user) = (actor.tenant_id, actor.user_id);
        let out = check_out_of((&input.location, input.device_time, input.note.as_deref()));
        let idempotent = Idempotent::new(&actor, "checkOut", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    guanxi_store::activity::field::check_out(tx, &author, (user, rule), check_in, out)
                        .await
                        .map(|c| (c.id, c))
                })
            },
            reload_scoped::<guanxi_store::visibility::CheckIns>(tenant, rule),
        )
        .await?;
        Ok(result.into())
    }

    /// Adds photos to one of the caller's own check-ins or check-outs: an app that worked
    /// offline syncs the visit first and uploads its photos when the network allows.
    pub(crate) async fn add_check_in_photos(
        &self,
        ctx: &Context<'_>,
        input: AddCheckInPhotosInput,
    ) -> ApiResult<CheckInPayload> {
        let actor = require(ctx, Permission::InteractionWrite)?.clone();
        let mut problems = Vec::new();
        let check_in = input_id("checkInId", &input.check_in_id, CHECK_IN).map_err(|e| problems.push(e)).ok();
        let photos: Vec<uuid::Uuid> = input
            .photo_ids
            .iter()
            .filter_map(|p| input_id("photoIds", p, ATTACHMENT).map_err(|e| problems.push(e)).ok())
            .collect();
        let Some(check_in) = check_in.filter(|_| problems.is_empty()) else {
            return Ok(CheckInPayload { check_in: None, user_errors: problems });
        };
        let author = author(ctx, &actor);
        let rule = actor.customer_write_rule();
        let (tenant, user) = (actor.tenant_id, actor.user_id);
        let idempotent = Idempotent::new(&actor, "addCheckInPhotos", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    guanxi_store::activity::field::add_photos(tx, &author, (user, rule), check_in, &photos)
                        .await
                        .map(|c| (c.id, c))
                })
            },
            reload_scoped::<guanxi_store::visibility::CheckIns>(tenant, rule),
        )
        .await?;
        Ok(result.into())
    }

    /// Plans a number of visits per month or year to a key account.
    async fn create_visit_plan(&self, ctx: &Context<'_>, input: CreateVisitPlanInput) -> ApiResult<VisitPlanPayload> {
        let actor = require(ctx, Permission::CustomerUpdate)?.clone();
        let customer = match input_id("customerId", &input.customer_id, CUSTOMER) {
            Ok(c) => c,
            Err(e) => return Ok(VisitPlanPayload { visit_plan: None, user_errors: vec![e] }),
        };
        if !(1..=365).contains(&input.visits) {
            return Ok(VisitPlanPayload {
                visit_plan: None,
                user_errors: vec![UserError::new("visits", ErrorCode::Invalid, "1 to 365 visits")],
            });
        }
        let period = input.period.into();
        let author = author(ctx, &actor);
        let rule = actor.customer_write_rule();
        let owner = actor.user_id;
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::activity::field::create_plan(
                    tx,
                    &author,
                    rule,
                    CustomerId::from_uuid(customer),
                    owner,
                    period,
                    input.visits,
                )
                .await
            })
        })
        .await?;
        Ok(match result {
            Ok(plan) => VisitPlanPayload { visit_plan: Some(VisitPlan { plan, done: 0 }), user_errors: vec![] },
            Err(errors) => VisitPlanPayload { visit_plan: None, user_errors: errors },
        })
    }
}

// --- queries -------------------------------------------------------------------------

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Granularity {
    Day,
    Week,
    Month,
}

/// Whose work a log covers: one user, or everyone in a department's subtree.
#[derive(InputObject)]
pub struct WorkLogSubject {
    pub user_id: Option<ID>,
    pub department_id: Option<ID>,
}

/// A count with the records behind it.
pub struct Figure {
    count: i64,
    users: Vec<uuid::Uuid>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    rule: CustomerRule,
}

/// New customers in a period, with the customers behind the count.
pub struct NewCustomersFigure(Figure);

#[Object]
impl NewCustomersFigure {
    async fn count(&self) -> i64 {
        self.0.count
    }
    /// The customers counted.
    async fn records(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> ApiResult<Conn<Customer>> {
        let actor = actor(ctx)?.clone();
        let f = &self.0;
        let filter = guanxi_store::customers::customer_search::CustomerFilter {
            created_by: Some(f.users.clone()),
            created_at: Some(guanxi_store::filter::TimeFilter {
                gte: Some(f.start),
                lt: Some(f.end),
                ..Default::default()
            }),
            ..Default::default()
        };
        let sort =
            (guanxi_store::customers::customer_search::CustomerSort::CreatedAt, guanxi_store::page::Direction::Desc);
        let request = page_request(first, after, None, None, "CREATED_AT")?;
        let db = state(ctx).db.clone();
        let rule = f.rule;
        let page = guanxi_store::customers::customer_search::list(
            db.connection(),
            actor.tenant_id,
            rule,
            &filter,
            sort,
            &request,
        )
        .await?;
        let total = TotalCount::new(move |limit| {
            let (db, filter) = (db.clone(), filter.clone());
            Box::pin(async move {
                guanxi_store::customers::customer_search::count(db.connection(), actor.tenant_id, rule, &filter, limit)
                    .await
            })
        });
        Ok(connection(page, total, Customer))
    }
}

/// Interactions in a period, with the interactions behind the count.
pub struct InteractionsFigure(Figure);

#[Object]
impl InteractionsFigure {
    async fn count(&self) -> i64 {
        self.0.count
    }
    async fn records(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<Interaction>> {
        let actor = actor(ctx)?.clone();
        let f = &self.0;
        let filter = guanxi_store::activity::interaction::InteractionFilter {
            authors: Some(f.users.clone()),
            occurred_at: Some(guanxi_store::filter::TimeFilter {
                gte: Some(f.start),
                lt: Some(f.end),
                ..Default::default()
            }),
            ..Default::default()
        };
        let request = page_request(first, after, None, None, "OCCURRED_AT")?;
        let db = state(ctx).db.clone();
        let rule = f.rule;
        let page =
            guanxi_store::activity::interaction::list(db.connection(), actor.tenant_id, rule, &filter, (), &request)
                .await?;
        let total = TotalCount::new(move |limit| {
            let (db, filter) = (db.clone(), filter.clone());
            Box::pin(async move {
                guanxi_store::activity::interaction::count(db.connection(), actor.tenant_id, rule, &filter, limit).await
            })
        });
        Ok(connection(page, total, Interaction))
    }
}

/// Visits with a check-in in a period, with the check-ins behind the count.
pub struct VisitsFigure(Figure);

#[Object]
impl VisitsFigure {
    async fn count(&self) -> i64 {
        self.0.count
    }
    /// The check-ins counted, newest first (at most 500).
    async fn records(&self, ctx: &Context<'_>) -> ApiResult<Vec<CheckIn>> {
        let actor = actor(ctx)?;
        let f = &self.0;
        let rows = guanxi_store::activity::field::check_ins_list(
            state(ctx).db.connection(),
            actor.tenant_id,
            (f.rule, actor.user_id.uuid()),
            &f.users,
            f.start,
            f.end,
            500,
        )
        .await?;
        Ok(rows.into_iter().map(CheckIn).collect())
    }
}

/// Deals created or won in a period, with the deals behind the count.
pub struct DealsFigure {
    figure: Figure,
    /// Won deals: the amount won; created deals: none.
    won_fen: Option<i64>,
}

#[Object]
impl DealsFigure {
    async fn count(&self) -> i64 {
        self.figure.count
    }
    /// For won deals, the amount won.
    async fn amount(&self) -> Option<crate::graphql::customers::customer::Money> {
        self.won_fen.map(|fen| {
            crate::graphql::customers::customer::Money::cny(guanxi_domain::sales::opportunity::from_fen(fen))
        })
    }
    /// The deals counted, most recently updated first.
    async fn records(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<crate::graphql::sales::opportunity::Opportunity>> {
        require(ctx, Permission::OpportunityRead)?;
        let f = &self.figure;
        let range =
            Some(guanxi_store::filter::TimeFilter { gte: Some(f.start), lt: Some(f.end), ..Default::default() });
        let mut filter = guanxi_store::sales::opportunity::OpportunityFilter {
            owner_id: Some(guanxi_store::filter::IdFilter { any_of: Some(f.users.clone()), ..Default::default() }),
            ..Default::default()
        };
        if self.won_fen.is_some() {
            filter.status = Some(vec![guanxi_domain::sales::opportunity::StageKind::Won]);
            filter.closed_at = range;
        } else {
            filter.created_at = range;
        }
        let order = (guanxi_store::sales::opportunity::OpportunitySort::UpdatedAt, guanxi_store::page::Direction::Desc);
        crate::graphql::sales::opportunity::opportunity_connection(
            ctx,
            None,
            Some(filter),
            (first, after, None, None),
            order,
        )
        .await
    }
}

#[derive(SimpleObject)]
pub struct ChannelCount {
    channel: Channel,
    count: i64,
}

/// What a user or team did in one period.
#[derive(SimpleObject)]
pub struct WorkLogPeriod {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    new_customers: NewCustomersFigure,
    interactions: InteractionsFigure,
    interactions_by_channel: Vec<ChannelCount>,
    visits_with_check_in: VisitsFigure,
    /// Deals the people own that were created in the period (zero without `opportunity.read`).
    new_opportunities: DealsFigure,
    /// Deals the people own that were won in the period, with the amount won.
    won_opportunities: DealsFigure,
    /// Sales orders the people own confirmed in the period (zero without `order.read`).
    sales_orders: crate::graphql::trade::order::SalesFigure,
    /// Contracts the people own approved in the period (zero without `contract.read`).
    new_contracts: crate::graphql::finance::contract::ContractsFigure,
    /// Work orders the people took in the period (zero without `workorder.read`).
    work_orders_opened: crate::graphql::service::work_order::WorkOrdersFigure,
    /// Work orders the people completed as technicians in the period.
    work_orders_completed: crate::graphql::service::work_order::WorkOrdersFigure,
    /// Work orders the people took whose service level was found missed in the period.
    work_orders_breached: crate::graphql::service::work_order::WorkOrdersFigure,
}

#[derive(Default)]
pub struct FieldQuery;

#[Object]
impl FieldQuery {
    /// Visit plans on customers the caller may see, with the visits done this period.
    async fn visit_plans(&self, ctx: &Context<'_>, customer_id: Option<ID>) -> ApiResult<Vec<VisitPlan>> {
        let actor = require(ctx, Permission::CustomerRead)?;
        let customer = customer_id.as_ref().map(|id| expect_id(id, CUSTOMER)).transpose()?;
        let conn = state(ctx).db.connection();
        let plans =
            guanxi_store::activity::field::plans(conn, actor.tenant_id, actor.customer_rule(), customer).await?;
        let now = Utc::now();
        let year = period_of(now, DomainGranularity::Year);
        let month = period_of(now, DomainGranularity::Month);
        let customers: Vec<uuid::Uuid> = plans.iter().map(|p| p.customer_id).collect();
        let times =
            guanxi_store::activity::field::check_in_times(conn, actor.tenant_id, &customers, year.0, year.1).await?;
        Ok(plans
            .into_iter()
            .map(|plan| {
                let (from, to) = match plan.period {
                    DomainPeriod::Year => year,
                    DomainPeriod::Month => month,
                };
                let done = times.iter().filter(|(c, t)| *c == plan.customer_id && *t >= from && *t < to).count() as i64;
                VisitPlan { plan, done }
            })
            .collect())
    }

    /// The work log (业务日志) of a user or a department, per day, week or month: new
    /// customers, interactions (by channel), visits with a check-in, and deals created and
    /// won, each with the records behind it. Managers see their subtree, reps themselves (`CUSTOMER` scope).
    async fn work_log(
        &self,
        ctx: &Context<'_>,
        subject: WorkLogSubject,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        granularity: Granularity,
    ) -> ApiResult<Vec<WorkLogPeriod>> {
        let actor = actor(ctx)?;
        if to <= from || to - from > chrono::Duration::days(400) {
            return Err(ApiError::BadUserInput("a window of up to 400 days, `to` after `from`".into()));
        }
        let granularity = match granularity {
            Granularity::Day => DomainGranularity::Day,
            Granularity::Week => DomainGranularity::Week,
            Granularity::Month => DomainGranularity::Month,
        };
        let conn = state(ctx).db.connection();
        let rule = actor.customer_rule();
        let wanted: Vec<uuid::Uuid> = match (&subject.user_id, &subject.department_id) {
            (Some(user), None) => vec![expect_id(user, USER)?],
            (None, Some(department)) => {
                let department = DepartmentId::from_uuid(expect_id(department, DEPARTMENT)?);
                guanxi_store::platform::user::ids_under(
                    conn,
                    actor.tenant_id,
                    ScopeRule::OwnedWithinDepartmentTree(department),
                )
                .await?
            }
            _ => return Err(ApiError::BadUserInput("give userId or departmentId".into())),
        };
        // Only people whose records the caller may see: the log of anyone else is not found.
        let visible: Vec<uuid::Uuid> =
            guanxi_store::platform::user::by_ids(conn, actor.tenant_id, rule.owners, &wanted)
                .await?
                .into_iter()
                .map(|u| u.id.uuid())
                .collect();
        if visible.is_empty() {
            return Err(ApiError::NotFound);
        }
        let window = (from, to);
        let customers = guanxi_store::activity::field::customers_created(
            conn,
            actor.tenant_id,
            rule,
            &visible,
            window,
            granularity,
        )
        .await?;
        let interactions =
            guanxi_store::activity::field::interactions_by(conn, actor.tenant_id, rule, &visible, window, granularity)
                .await?;
        let visits = guanxi_store::activity::field::check_ins_by(
            conn,
            actor.tenant_id,
            (rule, actor.user_id.uuid()),
            &visible,
            window,
            granularity,
        )
        .await?;
        // The deal figures are read only when asked for (two grouped statements).
        let deals_asked = {
            let selection = ctx.look_ahead();
            selection.field("newOpportunities").exists() || selection.field("wonOpportunities").exists()
        };
        let (deals_created, deals_won) = if deals_asked && actor.may(Permission::OpportunityRead) {
            let scope = crate::graphql::loaders::opportunity_scope(actor);
            guanxi_store::sales::opportunity::work_log(conn, actor.tenant_id, scope, &visible, window, granularity)
                .await?
        } else {
            (Vec::new(), Vec::new())
        };
        let sales_asked = ctx.look_ahead().field("salesOrders").exists();
        let sales = if sales_asked && actor.may(Permission::OrderRead) {
            let scope = crate::graphql::trade::order::order_scope(actor);
            guanxi_store::trade::order::work_log(conn, actor.tenant_id, scope, &visible, window, granularity).await?
        } else {
            Vec::new()
        };
        let contracts_asked = ctx.look_ahead().field("newContracts").exists();
        let contracts = if contracts_asked && actor.may(Permission::ContractRead) {
            let scope = crate::graphql::finance::contract::contract_report_scope(actor);
            guanxi_store::finance::contract::work_log(conn, actor.tenant_id, scope, &visible, window, granularity)
                .await?
        } else {
            Vec::new()
        };
        let service_asked = {
            let selection = ctx.look_ahead();
            ["workOrdersOpened", "workOrdersCompleted", "workOrdersBreached"]
                .iter()
                .any(|f| selection.field(f).exists())
        };
        let service = if service_asked && actor.may(Permission::WorkOrderRead) {
            let scope = crate::graphql::service::work_order::work_order_scope(actor);
            guanxi_store::service::work_order_report::work_log(
                conn,
                actor.tenant_id,
                scope,
                &visible,
                window,
                granularity,
            )
            .await?
        } else {
            Default::default()
        };
        let mut sales: HashMap<String, (i64, i64)> =
            sales.into_iter().map(|(period, n, gross)| (period, (n, gross.unwrap_or(0)))).collect();
        let mut contracts: HashMap<String, (i64, i64)> =
            contracts.into_iter().map(|(period, n, amount)| (period, (n, amount.unwrap_or(0)))).collect();
        let mut won: HashMap<String, (i64, i64)> =
            deals_won.into_iter().map(|(period, n, fen)| (period, (n, fen.unwrap_or(0)))).collect();
        let tally = |rows: &[(String, i64)]| -> HashMap<String, i64> { rows.iter().cloned().collect() };
        let (customers, visits, deals_created) = (tally(&customers), tally(&visits), tally(&deals_created));
        let (opened, completed, breached) =
            (tally(&service.opened), tally(&service.completed), tally(&service.breached));
        let mut by_period: HashMap<&str, Vec<ChannelCount>> = HashMap::new();
        for (period, channel, count) in &interactions {
            if let Some(channel) = guanxi_domain::activity::interaction::Channel::parse(channel) {
                by_period.entry(period).or_default().push(ChannelCount { channel: channel.into(), count: *count });
            }
        }
        Ok(periods(from, to, granularity)
            .into_iter()
            .map(|(start, end)| {
                let key = period_key(start);
                let (start, end) = (start.max(from), end.min(to));
                let figure = |count: i64| Figure { count, users: visible.clone(), start, end, rule };
                let work_orders = |tally: &HashMap<String, i64>, counted| WorkOrdersFigure {
                    count: tally.get(&key).copied().unwrap_or(0),
                    users: visible.clone(),
                    window: (start, end),
                    counted,
                };
                let mut channels = by_period.remove(key.as_str()).unwrap_or_default();
                channels.sort_by_key(|c| std::cmp::Reverse(c.count));
                WorkLogPeriod {
                    start,
                    end,
                    new_customers: NewCustomersFigure(figure(customers.get(&key).copied().unwrap_or(0))),
                    interactions: InteractionsFigure(figure(channels.iter().map(|c| c.count).sum())),
                    interactions_by_channel: channels,
                    visits_with_check_in: VisitsFigure(figure(visits.get(&key).copied().unwrap_or(0))),
                    new_opportunities: DealsFigure {
                        figure: figure(deals_created.get(&key).copied().unwrap_or(0)),
                        won_fen: None,
                    },
                    won_opportunities: {
                        let (n, fen) = won.remove(&key).unwrap_or((0, 0));
                        DealsFigure { figure: figure(n), won_fen: Some(fen) }
                    },
                    sales_orders: {
                        let (count, gross_e4) = sales.remove(&key).unwrap_or((0, 0));
                        crate::graphql::trade::order::SalesFigure {
                            count,
                            gross_e4,
                            users: visible.clone(),
                            window: (start, end),
                        }
                    },
                    work_orders_opened: work_orders(&opened, Counted::Opened),
                    work_orders_completed: work_orders(&completed, Counted::Completed),
                    work_orders_breached: work_orders(&breached, Counted::Breached),
                    new_contracts: {
                        let (count, amount_e4) = contracts.remove(&key).unwrap_or((0, 0));
                        crate::graphql::finance::contract::ContractsFigure {
                            count,
                            amount_e4,
                            users: visible.clone(),
                            window: (start, end),
                        }
                    },
                }
            })
            .collect())
    }
}
