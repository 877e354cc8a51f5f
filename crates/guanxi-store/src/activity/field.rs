//! Field sales: attachments, visit plans, check-ins and the work-log figures.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use guanxi_domain::activity::field::Granularity;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{CustomerId, TenantId, UserId};
use guanxi_domain::platform::access::CustomerRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use serde_json::Value;
use uuid::Uuid;

use crate::entity::{attachment, check_in, customer, interaction, visit_plan};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};
use crate::repo::Scoped;
use crate::visibility::{CheckIns, Uploads, VisitPlans};
use guanxi_domain::activity::field::{CheckIn, CheckInKind, Upload, VisitPeriod, VisitPlan};

// --- attachments ---------------------------------------------------------------------

pub struct NewAttachment {
    pub id: Uuid,
    pub uploaded_by: UserId,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
}

pub async fn insert_attachment<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    input: NewAttachment,
) -> StoreResult<Upload> {
    let model = attachment::Entity::insert(attachment::ActiveModel {
        tenant_id: Set(author.tenant_id.uuid()),
        id: Set(input.id),
        uploaded_by: Set(input.uploaded_by.uuid()),
        file_name: Set(input.file_name),
        content_type: Set(input.content_type),
        size: Set(input.size),
        sha256: Set(input.sha256),
        storage_key: Set(input.storage_key),
        attached_type: Set(None),
        attached_id: Set(None),
        created_at: Set(Utc::now()),
    })
    .exec_with_returning(conn)
    .await?;
    let changes = ChangeSet::new().field("fileName", (), &model.file_name).field("size", (), model.size);
    audit::record(conn, author, EntityKind::Attachment, model.id, Operation::Create, &changes).await?;
    Uploads::to_domain(model)
}

/// An upload the caller may fetch: their own, or one on a check-in they see.
pub async fn attachment<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    uploader: UserId,
    customers: CustomerRule,
    id: Uuid,
) -> StoreResult<Option<Upload>> {
    crate::repo::find::<crate::visibility::Uploads, _>(conn, tenant, (uploader.uuid(), customers), id).await
}

/// Attaches the caller's own, still unattached uploads to a record; `field` names the
/// input in the error.
pub(crate) async fn attach<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    owner: UserId,
    (ids, field): (&[Uuid], &str),
    kind: &str,
    record: Uuid,
) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let result = attachment::Entity::update_many()
        .col_expr(attachment::Column::AttachedType, Expr::value(kind))
        .col_expr(attachment::Column::AttachedId, Expr::value(record))
        .filter(attachment::Column::TenantId.eq(tenant.uuid()))
        .filter(attachment::Column::UploadedBy.eq(owner.uuid()))
        .filter(attachment::Column::AttachedId.is_null())
        .filter(attachment::Column::Id.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    if result.rows_affected != ids.len() as u64 {
        return Err(
            Invalid::one(field, ErrorCode::NotFound, "each file must be your own upload, not yet attached").into()
        );
    }
    Ok(())
}

// --- visit plans ---------------------------------------------------------------------

pub async fn create_plan<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    customer: CustomerId,
    owner: UserId,
    period: VisitPeriod,
    visits: i32,
) -> StoreResult<VisitPlan> {
    let tenant = author.tenant_id;
    let target = crate::customers::customer::find(conn, tenant, customers, customer.uuid()).await?;
    if target.is_none_or(|c| c.deleted_at.is_some()) {
        return Err(StoreError::rejected("customerId", ErrorCode::NotFound, "no such customer"));
    }
    let now = Utc::now();
    let model = visit_plan::Entity::insert(visit_plan::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(Uuid::now_v7()),
        customer_id: Set(customer.uuid()),
        owner_id: Set(owner.uuid()),
        period: Set(period.as_str().to_owned()),
        visits: Set(visits),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_with_returning(conn)
    .await?;
    let changes = ChangeSet::new().field("customerId", (), customer).field("period", (), period.as_str()).field(
        "visits",
        (),
        visits,
    );
    audit::record(conn, author, EntityKind::VisitPlan, model.id, Operation::Create, &changes).await?;
    VisitPlans::to_domain(model)
}

/// Live plans on customers the caller may see.
pub async fn plans<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: CustomerRule,
    customer: Option<Uuid>,
) -> StoreResult<Vec<VisitPlan>> {
    let mut select = VisitPlans::live(conn.get_database_backend(), tenant, customers);
    if let Some(customer) = customer {
        select = select.filter(visit_plan::Column::CustomerId.eq(customer));
    }
    let rows = select.order_by_asc(visit_plan::Column::CreatedAt).limit(500).all(conn).await?;
    rows.into_iter().map(VisitPlans::to_domain).collect()
}

/// Check-ins per customer in `[from, to)` (visits done), for plan progress.
pub async fn check_in_times<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<(Uuid, DateTime<Utc>)>> {
    Ok(check_in::Entity::find()
        .select_only()
        .column(check_in::Column::CustomerId)
        .column(check_in::Column::ServerTime)
        .filter(check_in::Column::TenantId.eq(tenant.uuid()))
        .filter(check_in::Column::Kind.eq(CheckInKind::CheckIn.as_str()))
        .filter(check_in::Column::CustomerId.is_in(customers.iter().copied()))
        .filter(check_in::Column::ServerTime.gte(from))
        .filter(check_in::Column::ServerTime.lt(to))
        .into_tuple()
        .all(conn)
        .await?)
}

// --- check-ins -----------------------------------------------------------------------

pub struct NewCheckIn {
    pub customer: CustomerId,
    pub user: UserId,
    pub event: Option<Uuid>,
    pub device_time: DateTime<Utc>,
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_meters: Option<f64>,
    pub photo_ids: Vec<Uuid>,
    pub note: Option<String>,
    /// The work order a technician checks in at (its visit is still the customer's).
    pub work_order: Option<Uuid>,
    /// The id a client made offline for it (see `repo::new_id`); none for a fresh one.
    pub id: Option<Uuid>,
}

/// Records a check-in at a visible customer: the distance from the customer's
/// coordinates (flagged when far, never refused), the photos attached, and the visit as
/// an interaction, all in the caller's transaction.
pub async fn check_in<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    input: NewCheckIn,
) -> StoreResult<CheckIn> {
    let tenant = author.tenant_id;
    let target = crate::customers::customer::find(conn, tenant, customers, input.customer.uuid()).await?;
    let Some(target) = target.filter(|c| c.deleted_at.is_none()) else {
        return Err(StoreError::rejected("customerId", ErrorCode::NotFound, "no such customer"));
    };
    let distance = target
        .fields
        .latitude
        .zip(target.fields.longitude)
        .map(|home| guanxi_domain::activity::field::distance_meters(home, (input.latitude, input.longitude)));
    let columns = (check_in::Column::TenantId, check_in::Column::Id);
    let id = crate::repo::new_id::<check_in::Entity, _>(conn, columns, tenant, input.id).await?;
    let now = Utc::now();
    let content = input.note.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "现场签到".to_owned());
    let visit = crate::activity::interaction::create(
        conn,
        author,
        customers,
        input.customer,
        guanxi_domain::activity::interaction::InteractionFields {
            channel: guanxi_domain::activity::interaction::Channel::Visit,
            occurred_at: now,
            content,
            outcome: None,
            next_follow_up_at: None,
            contact_ids: vec![],
            latitude: Some(input.latitude),
            longitude: Some(input.longitude),
        },
        crate::activity::interaction::Origin {
            author_id: Some(input.user),
            source: "manual".into(),
            external_id: None,
            id: None,
        },
    )
    .await?;
    attach(conn, tenant, input.user, (&input.photo_ids, "photoIds"), EntityKind::CheckIn.name(), id).await?;
    let model = check_in::Entity::insert(check_in::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id),
        customer_id: Set(input.customer.uuid()),
        user_id: Set(input.user.uuid()),
        event_id: Set(input.event),
        interaction_id: Set(Some(visit.id.uuid())),
        check_in_id: Set(None),
        kind: Set(CheckInKind::CheckIn.as_str().into()),
        device_time: Set(input.device_time),
        server_time: Set(now),
        latitude: Set(input.latitude),
        longitude: Set(input.longitude),
        accuracy_meters: Set(input.accuracy_meters),
        distance_meters: Set(distance),
        far: Set(distance.is_some_and(|d| d > guanxi_domain::activity::field::FAR_METERS)),
        photo_ids: Set(Value::from(input.photo_ids.iter().map(|p| p.to_string()).collect::<Vec<_>>())),
        note: Set(input.note),
        work_order_id: Set(input.work_order),
    })
    .exec_with_returning(conn)
    .await
    .map_err(|e| crate::error::on_unique(e, "id", "a record already has this id"))?;
    let changes = ChangeSet::new()
        .field("customerId", (), input.customer)
        .field("distanceMeters", (), model.distance_meters)
        .field("far", (), model.far);
    audit::record(conn, author, EntityKind::CheckIn, id, Operation::Create, &changes).await?;
    CheckIns::to_domain(model)
}

/// Where and when a check-out happened, and what the visitor noted.
pub struct CheckOut {
    pub device_time: DateTime<Utc>,
    /// Latitude, longitude and accuracy in metres.
    pub position: (f64, f64, Option<f64>),
    pub note: Option<String>,
}

/// Records the check-out of the caller's own check-in, read through the caller's customer
/// scope (a customer deleted or moved out of it since is `NOT_FOUND`).
pub async fn check_out<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (user, customers): (UserId, CustomerRule),
    check_in_id: Uuid,
    out: CheckOut,
) -> StoreResult<CheckIn> {
    let tenant = author.tenant_id;
    let Some(start) = crate::repo::find::<CheckIns, _>(conn, tenant, customers, check_in_id)
        .await?
        .filter(|c| c.user_id == user.uuid() && c.kind == CheckInKind::CheckIn)
    else {
        return Err(StoreError::rejected("checkInId", ErrorCode::NotFound, "no such check-in of yours"));
    };
    finish_visit(conn, author, start, out).await
}

/// Ends the visit `start` began: the check-out row, and the visit's length on its
/// interaction. `IllegalState` when it was already checked out.
pub(crate) async fn finish_visit<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    start: CheckIn,
    CheckOut { device_time, position, note }: CheckOut,
) -> StoreResult<CheckIn> {
    let tenant = author.tenant_id;
    let (check_in_id, user) = (start.id, start.user_id);
    let already = check_in::Entity::find()
        .filter(check_in::Column::TenantId.eq(tenant.uuid()))
        .filter(check_in::Column::CheckInId.eq(check_in_id))
        .one(conn)
        .await?;
    if already.is_some() {
        return Err(StoreError::rejected("checkInId", ErrorCode::IllegalState, "already checked out"));
    }
    let home = customer::Entity::find_by_id((tenant.uuid(), start.customer_id))
        .one(conn)
        .await?
        .and_then(|c| c.latitude.zip(c.longitude));
    let distance = home.map(|h| guanxi_domain::activity::field::distance_meters(h, (position.0, position.1)));
    let now = Utc::now();
    let model = check_in::Entity::insert(check_in::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(Uuid::now_v7()),
        customer_id: Set(start.customer_id),
        user_id: Set(user),
        event_id: Set(start.event_id),
        interaction_id: Set(start.interaction_id),
        check_in_id: Set(Some(check_in_id)),
        kind: Set(CheckInKind::CheckOut.as_str().into()),
        device_time: Set(device_time),
        server_time: Set(now),
        latitude: Set(position.0),
        longitude: Set(position.1),
        accuracy_meters: Set(position.2),
        distance_meters: Set(distance),
        far: Set(distance.is_some_and(|d| d > guanxi_domain::activity::field::FAR_METERS)),
        photo_ids: Set(Value::Array(vec![])),
        note: Set(note),
        work_order_id: Set(start.work_order_id),
    })
    .exec_with_returning(conn)
    .await?;
    // The visit lasted from check-in to check-out: note it on the interaction.
    if let Some(visit) = start.interaction_id {
        let minutes = (now - start.server_time).num_minutes();
        interaction::Entity::update_many()
            .col_expr(interaction::Column::Outcome, Expr::value(format!("拜访时长 {minutes} 分钟")))
            .col_expr(interaction::Column::Version, Expr::col(interaction::Column::Version).add(1))
            .col_expr(interaction::Column::UpdatedAt, Expr::value(now))
            .filter(interaction::Column::TenantId.eq(tenant.uuid()))
            .filter(interaction::Column::Id.eq(visit))
            .exec(conn)
            .await?;
        audit::record(
            conn,
            author,
            EntityKind::Interaction,
            visit,
            Operation::Update,
            &ChangeSet::new().field("outcome", None::<()>, format!("拜访时长 {minutes} 分钟")),
        )
        .await?;
    }
    audit::record(
        conn,
        author,
        EntityKind::CheckIn,
        model.id,
        Operation::Create,
        &ChangeSet::new().field("checkInId", (), check_in_id),
    )
    .await?;
    CheckIns::to_domain(model)
}

/// The most photos one check-in or check-out holds.
pub const MAX_PHOTOS: usize = 20;

/// Adds the caller's own, still unattached uploads to one of their check-ins or
/// check-outs: an app that worked offline syncs the visit first and its photos when the
/// network allows. One change event lists the photos before and after.
pub async fn add_photos<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (user, customers): (UserId, CustomerRule),
    check_in_id: Uuid,
    photos: &[Uuid],
) -> StoreResult<CheckIn> {
    let tenant = author.tenant_id;
    let Some(visit) = crate::repo::find::<CheckIns, _>(conn, tenant, customers, check_in_id)
        .await?
        .filter(|c| c.user_id == user.uuid())
    else {
        return Err(StoreError::rejected("checkInId", ErrorCode::NotFound, "no such check-in of yours"));
    };
    if photos.is_empty() {
        return Err(StoreError::rejected("photoIds", ErrorCode::Required, "name the photos to add"));
    }
    let mut all = visit.photo_ids.clone();
    all.extend(photos.iter().copied());
    if all.len() > MAX_PHOTOS {
        return Err(StoreError::rejected("photoIds", ErrorCode::LimitReached, "at most 20 photos a check-in"));
    }
    attach(conn, tenant, user, (photos, "photoIds"), EntityKind::CheckIn.name(), check_in_id).await?;
    let stored = Value::from(all.iter().map(Uuid::to_string).collect::<Vec<_>>());
    check_in::Entity::update_many()
        .col_expr(check_in::Column::PhotoIds, Expr::value(stored))
        .filter(check_in::Column::TenantId.eq(tenant.uuid()))
        .filter(check_in::Column::Id.eq(check_in_id))
        .exec(conn)
        .await?;
    let changes = ChangeSet::new().field("photoIds", &visit.photo_ids, &all);
    audit::record(conn, author, EntityKind::CheckIn, check_in_id, Operation::Update, &changes).await?;
    Ok(CheckIn { photo_ids: all, ..visit })
}

// --- work log --------------------------------------------------------------------------

/// How many customers each of `users` created in `[from, to)`, per period (keyed by the
/// period's first day, see [`crate::dialect::period_start_sql`]).
pub async fn customers_created<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: CustomerRule,
    users: &[Uuid],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    granularity: Granularity,
) -> StoreResult<Vec<(String, i64)>> {
    let backend = conn.get_database_backend();
    let period = crate::dialect::period_start_sql(backend, granularity, r#""customers"."created_at""#);
    Ok(customer::Entity::find()
        .select_only()
        .column_as(Expr::cust(period.clone()), "period")
        .column_as(Expr::col((customer::Entity, customer::Column::Id)).count(), "n")
        .filter(customer::Column::TenantId.eq(tenant.uuid()))
        // The counted rows are the customers themselves: the scope applies to their own
        // owner, with no probe of each row's own primary key.
        .filter(customer::Column::DeletedAt.is_null())
        .filter(crate::scope::customer_condition(
            backend,
            tenant,
            customers,
            ((customer::Entity, customer::Column::Id), (customer::Entity, customer::Column::OwnerId)),
        ))
        .filter(customer::Column::CreatedBy.is_in(users.iter().copied()))
        .filter(customer::Column::CreatedAt.gte(from))
        .filter(customer::Column::CreatedAt.lt(to))
        .group_by(Expr::cust(period))
        .into_tuple()
        .all(conn)
        .await?)
}

/// How many interactions each of `users` recorded in `[from, to)`, per period and channel.
/// Whole months (when the log is by month or year) come from the month counts and the
/// other whole Shanghai days from the day counts ([`crate::activity::work_count`]); the part-days at
/// either end are counted from the interactions themselves, added, or taken away from a
/// day read whole ([`guanxi_domain::activity::field::day_cover`]). A caller some live share
/// widens counts the interactions themselves.
pub async fn interactions_by<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: CustomerRule,
    users: &[Uuid],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    granularity: Granularity,
) -> StoreResult<Vec<(String, String, i64)>> {
    use crate::activity::work_count::{Grain, by_period};
    use guanxi_domain::activity::field::{day_cover, day_key, period_key_of_day, whole_months};
    // The counts are kept per customer owner: a caller with live shares counts the records.
    let customers = crate::scope::without_idle_shares(conn, tenant, customers).await?;
    let cover = match customers.sharing() {
        None => day_cover(from, to, Utc::now()),
        Some(_) => guanxi_domain::activity::field::DayCover { days: None, plus: vec![(from, to)], minus: Vec::new() },
    };
    let mut rows = Vec::new();
    if let Some((first, last)) = cover.days {
        let months = whole_months(first, last)
            .filter(|_| matches!(granularity, Granularity::Month | Granularity::Quarter | Granularity::Year));
        let days = match months {
            Some((start, end)) => vec![(first, start), (end, last)],
            None => vec![(first, last)],
        };
        let keys = |windows: &[(DateTime<Utc>, DateTime<Utc>)]| -> Vec<(String, String)> {
            windows.iter().filter(|(a, b)| a < b).map(|(a, b)| (day_key(*a), day_key(*b))).collect()
        };
        if let Some(months) = months {
            rows.extend(by_period(conn, tenant, customers.owners, users, Grain::Month, &keys(&[months])).await?);
        }
        let days = keys(&days);
        if !days.is_empty() {
            rows.extend(by_period(conn, tenant, customers.owners, users, Grain::Day, &days).await?);
        }
    }
    if !cover.plus.is_empty() {
        rows.extend(interactions_counted(conn, tenant, customers, users, &cover.plus, granularity).await?);
    }
    if !cover.minus.is_empty() {
        let taken = interactions_counted(conn, tenant, customers, users, &cover.minus, granularity).await?;
        rows.extend(taken.into_iter().map(|(period, channel, n)| (period, channel, -n)));
    }
    let mut totals: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (key, channel, n) in rows {
        let period = period_key_of_day(&key, granularity).unwrap_or(key);
        *totals.entry((period, channel)).or_default() += n;
    }
    Ok(totals.into_iter().filter(|(_, n)| *n != 0).map(|((period, channel), n)| (period, channel, n)).collect())
}

/// How many interactions each of `users` recorded in `windows`, per period and channel,
/// counted row by row (for the part-days at a work log's ends).
async fn interactions_counted<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: CustomerRule,
    users: &[Uuid],
    windows: &[(DateTime<Utc>, DateTime<Utc>)],
    granularity: Granularity,
) -> StoreResult<Vec<(String, String, i64)>> {
    let backend = conn.get_database_backend();
    let period = crate::dialect::period_start_sql(backend, granularity, r#""interactions"."occurred_at""#);
    let mut within = Condition::any();
    for (from, to) in windows {
        within = within.add(
            Condition::all()
                .add(interaction::Column::OccurredAt.gte(*from))
                .add(interaction::Column::OccurredAt.lt(*to)),
        );
    }
    Ok(crate::activity::interaction::Interactions::visible(backend, tenant, customers)
        .select_only()
        .column_as(Expr::cust(period.clone()), "period")
        .column(interaction::Column::Channel)
        .column_as(Expr::col((interaction::Entity, interaction::Column::Id)).count(), "n")
        .filter(interaction::Column::AuthorId.is_in(users.iter().copied()))
        .filter(within)
        .group_by(Expr::cust(period))
        .group_by(interaction::Column::Channel)
        .into_tuple()
        .all(conn)
        .await?)
}

/// The check-ins a work log counts for `viewer`: those at customers they see, and their
/// own at work orders (a technician's visits count for them whoever owns the customer).
fn counted_check_ins(
    backend: DbBackend,
    tenant: TenantId,
    customers: CustomerRule,
    viewer: Uuid,
) -> Select<check_in::Entity> {
    let seen =
        crate::scope::visible_customer(backend, tenant, customers, (check_in::Entity, check_in::Column::CustomerId));
    let own =
        Condition::all().add(check_in::Column::UserId.eq(viewer)).add(check_in::Column::WorkOrderId.is_not_null());
    check_in::Entity::find()
        .filter(check_in::Column::TenantId.eq(tenant.uuid()))
        .filter(Condition::any().add(seen).add(own))
}

/// How many check-ins each of `users` made at a customer in `[from, to)`, per period, as
/// `viewer` may count them.
pub async fn check_ins_by<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (customers, viewer): (CustomerRule, Uuid),
    users: &[Uuid],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    granularity: Granularity,
) -> StoreResult<Vec<(String, i64)>> {
    let backend = conn.get_database_backend();
    let period = crate::dialect::period_start_sql(backend, granularity, r#""check_ins"."server_time""#);
    Ok(counted_check_ins(backend, tenant, customers, viewer)
        .select_only()
        .column_as(Expr::cust(period.clone()), "period")
        .column_as(Expr::col((check_in::Entity, check_in::Column::Id)).count(), "n")
        .filter(check_in::Column::Kind.eq(CheckInKind::CheckIn.as_str()))
        .filter(check_in::Column::UserId.is_in(users.iter().copied()))
        .filter(check_in::Column::ServerTime.gte(from))
        .filter(check_in::Column::ServerTime.lt(to))
        .group_by(Expr::cust(period))
        .into_tuple()
        .all(conn)
        .await?)
}

/// Check-ins of `users` in `[from, to)`, newest first (the drill-down of the visits figure).
pub async fn check_ins_list<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (customers, viewer): (CustomerRule, Uuid),
    users: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<CheckIn>> {
    let rows = counted_check_ins(conn.get_database_backend(), tenant, customers, viewer)
        .filter(check_in::Column::Kind.eq(CheckInKind::CheckIn.as_str()))
        .filter(check_in::Column::UserId.is_in(users.iter().copied()))
        .filter(check_in::Column::ServerTime.gte(from))
        .filter(check_in::Column::ServerTime.lt(to))
        .order_by_desc(check_in::Column::ServerTime)
        .limit(limit)
        .all(conn)
        .await?;
    rows.into_iter().map(CheckIns::to_domain).collect()
}
