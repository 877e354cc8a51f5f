//! Webhook endpoints and their deliveries (推送). The change log is the outbox: every write
//! appends its change events in its own transaction, and the deliverer fans them out from
//! there to each endpoint past its `cursor_seq`, so a change is never sent that did not
//! commit and never missed that did. Each endpoint is fanned out and claimed under its own
//! row lock (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so any number of replicas deliver
//! side by side: each delivery is leased to one of them while it is attempted, and a
//! delivery whose replica died is attempted again when its lease runs out, with the same
//! `webhook-id`. The rules (backoff, dead letter, disabling) are in
//! [`guanxi_domain::platform::webhook`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::webhook::{Attempt, Delivery, DeliveryStatus, Endpoint, EndpointStatus};
use sea_orm::sea_query::{Expr, Func, LockBehavior, LockType, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{webhook_attempt, webhook_delivery, webhook_endpoint};
use crate::error::{StoreError, StoreResult};
use crate::page::{self, CursorValue, Direction, Page, PageRequest, SortKey, Tiebreak};
use crate::platform::audit::{self, Author};

const ENTITY: EntityKind = EntityKind::WebhookEndpoint;

pub fn to_domain(m: webhook_endpoint::Model) -> StoreResult<Endpoint> {
    let cell = |column| Cell::of("webhook_endpoints", m.id, column);
    Ok(Endpoint {
        id: m.id,
        kinds: cell("kinds").json(m.kinds)?,
        status: cell("status").text(&m.status, EndpointStatus::parse)?,
        url: m.url,
        description: m.description,
        user_id: m.user_id,
        max_in_flight: m.max_in_flight,
        disabled_reason: m.disabled_reason,
        disabled_at: m.disabled_at,
        failing_since: m.failing_since,
        last_success_at: m.last_success_at,
        previous_secret_until: m.previous_secret_until,
        cursor_seq: m.cursor_seq,
        created_at: m.created_at,
        updated_at: m.updated_at,
        version: m.version,
    })
}

pub fn delivery_to_domain(m: webhook_delivery::Model) -> StoreResult<Delivery> {
    let cell = |column| Cell::of("webhook_deliveries", m.id, column);
    Ok(Delivery {
        id: m.id,
        entity: cell("entity_type").text(&m.entity_type, EntityKind::parse)?,
        status: cell("status").text(&m.status, DeliveryStatus::parse)?,
        endpoint_id: m.endpoint_id,
        seq: m.seq,
        entity_id: m.entity_id,
        event_type: m.event_type,
        payload: m.payload,
        attempts: m.attempts,
        next_attempt_at: m.next_attempt_at,
        window_start: m.window_start,
        created_at: m.created_at,
        delivered_at: m.delivered_at,
        last_response_status: m.last_response_status,
        last_error: m.last_error,
    })
}

fn live(tenant: TenantId) -> Select<webhook_endpoint::Entity> {
    webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::TenantId.eq(tenant.uuid()))
        .filter(webhook_endpoint::Column::DeletedAt.is_null())
}

async fn find_model<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Uuid,
) -> StoreResult<Option<webhook_endpoint::Model>> {
    Ok(live(tenant).filter(webhook_endpoint::Column::Id.eq(id)).one(conn).await?)
}

pub async fn find<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<Option<Endpoint>> {
    find_model(conn, tenant, id).await?.map(to_domain).transpose()
}

/// Endpoints, newest first.
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    request: &PageRequest,
) -> StoreResult<Page<Endpoint>> {
    let key = SortKey {
        name: "CREATED_AT",
        column: webhook_endpoint::Column::Id,
        direction: Direction::Desc,
        value: |m: &webhook_endpoint::Model| CursorValue::Uuid(m.id),
    };
    let tiebreak =
        Tiebreak { column: webhook_endpoint::Column::Id, value: |m: &webhook_endpoint::Model| CursorValue::Uuid(m.id) };
    page::fetch(conn, live(tenant), &key, &tiebreak, request).await?.try_map(to_domain)
}

pub async fn count<C: ConnectionTrait>(conn: &C, tenant: TenantId, limit: Option<u64>) -> StoreResult<u64> {
    crate::repo::tally(conn, live(tenant), limit).await
}

/// A checked new endpoint (see `guanxi_domain::platform::webhook::parse_url`).
pub struct NewEndpoint {
    pub url: String,
    pub description: Option<String>,
    pub kinds: Vec<EntityKind>,
    pub max_in_flight: i32,
    pub secret: String,
}

fn kinds_json(kinds: &[EntityKind]) -> serde_json::Value {
    serde_json::Value::Array(kinds.iter().map(|k| k.name().into()).collect())
}

/// Registers an endpoint receiving as the author. It is sent the changes committed from
/// now on.
pub async fn create<C: ConnectionTrait>(conn: &C, author: &Author, input: NewEndpoint) -> StoreResult<Endpoint> {
    let tenant = author.tenant_id;
    let user = author.user_id.ok_or_else(|| {
        StoreError::rejected("url", ErrorCode::Forbidden, "an endpoint receives as a user: register it as one")
    })?;
    let seq = crate::platform::tenant::find(conn, tenant).await?.ok_or(StoreError::NotFound)?.change_seq;
    let now = Utc::now();
    let model = webhook_endpoint::Entity::insert(webhook_endpoint::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(Uuid::now_v7()),
        url: Set(input.url),
        description: Set(input.description),
        kinds: Set(kinds_json(&input.kinds)),
        user_id: Set(user),
        secret: Set(input.secret),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        max_in_flight: Set(input.max_in_flight),
        status: Set(EndpointStatus::Active.as_str().to_owned()),
        disabled_reason: Set(None),
        disabled_at: Set(None),
        failing_since: Set(None),
        last_success_at: Set(None),
        cursor_seq: Set(seq),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_with_returning(conn)
    .await?;
    let changes = ChangeSet::new()
        .field("url", (), &model.url)
        .field("description", (), &model.description)
        .field("kinds", (), &model.kinds)
        .field("maxInFlight", (), model.max_in_flight)
        .secret("secret");
    audit::record(conn, author, ENTITY, model.id, Operation::Create, &changes).await?;
    to_domain(model)
}

/// What an update changes; `None` keeps a field.
#[derive(Default)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub kinds: Option<Vec<EntityKind>>,
    pub max_in_flight: Option<i32>,
}

/// Reads an endpoint for a write at `expected_version`.
async fn for_write<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Uuid,
    expected_version: Option<i32>,
) -> StoreResult<webhook_endpoint::Model> {
    let model = find_model(conn, tenant, id).await?.ok_or(StoreError::NotFound)?;
    match expected_version {
        Some(expected) if expected != model.version => Err(StoreError::version_conflict(expected, model.version)),
        _ => Ok(model),
    }
}

/// Saves `new` over `old` (at `old`'s version) with its change event; a write that changes
/// nothing saves nothing and keeps the version.
async fn save<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    old: webhook_endpoint::Model,
    mut new: webhook_endpoint::Model,
    operation: Operation,
    changes: ChangeSet,
) -> StoreResult<Endpoint> {
    if changes.is_empty() && operation == Operation::Update {
        return to_domain(old);
    }
    new.version = old.version + 1;
    new.updated_at = Utc::now();
    // Only what an admin changes: the deliverer's own columns (cursor, health) move
    // without a version, and are left as they stand.
    use webhook_endpoint::Column as C;
    let mut update = webhook_endpoint::Entity::update_many()
        .col_expr(C::Url, Expr::value(new.url.clone()))
        .col_expr(C::Description, Expr::value(new.description.clone()))
        .col_expr(C::Kinds, Expr::value(new.kinds.clone()))
        .col_expr(C::UserId, Expr::value(new.user_id))
        .col_expr(C::Secret, Expr::value(new.secret.clone()))
        .col_expr(C::PreviousSecret, Expr::value(new.previous_secret.clone()))
        .col_expr(C::PreviousSecretUntil, Expr::value(new.previous_secret_until))
        .col_expr(C::MaxInFlight, Expr::value(new.max_in_flight))
        .col_expr(C::Status, Expr::value(new.status.clone()))
        .col_expr(C::DisabledReason, Expr::value(new.disabled_reason.clone()))
        .col_expr(C::DisabledAt, Expr::value(new.disabled_at))
        .col_expr(C::DeletedAt, Expr::value(new.deleted_at))
        .col_expr(C::Version, Expr::value(new.version))
        .col_expr(C::UpdatedAt, Expr::value(new.updated_at));
    if new.failing_since != old.failing_since {
        update = update.col_expr(C::FailingSince, Expr::value(new.failing_since));
    }
    let result = update
        .filter(C::TenantId.eq(old.tenant_id))
        .filter(C::Id.eq(old.id))
        .filter(C::Version.eq(old.version))
        .exec(conn)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::version_conflict(old.version, old.version + 1));
    }
    audit::record(conn, author, ENTITY, old.id, operation, &changes).await?;
    to_domain(new)
}

pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    expected_version: i32,
    input: EndpointChanges,
) -> StoreResult<Endpoint> {
    let old = for_write(conn, author.tenant_id, id, Some(expected_version)).await?;
    let mut new = old.clone();
    if let Some(url) = input.url {
        new.url = url;
    }
    // Whoever points an endpoint somewhere else receives through it from then on: their
    // scope, not the registrar's, decides what it is sent.
    if new.url != old.url
        && let Some(user) = author.user_id
    {
        new.user_id = user;
    }
    if let Some(description) = input.description {
        new.description = description;
    }
    if let Some(kinds) = input.kinds {
        new.kinds = kinds_json(&kinds);
    }
    if let Some(max) = input.max_in_flight {
        new.max_in_flight = max;
    }
    let changes = ChangeSet::new()
        .field("url", &old.url, &new.url)
        .field("description", &old.description, &new.description)
        .field("kinds", &old.kinds, &new.kinds)
        .field("maxInFlight", old.max_in_flight, new.max_in_flight)
        .field("userId", old.user_id, new.user_id);
    save(conn, author, old, new, Operation::Update, changes).await
}

/// Gives the endpoint a new secret. With `previous_until`, the old one keeps signing
/// alongside it until then, so the receiver can switch over without losing a message.
pub async fn rotate_secret<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    secret: String,
    previous_until: Option<DateTime<Utc>>,
) -> StoreResult<Endpoint> {
    let old = for_write(conn, author.tenant_id, id, None).await?;
    let mut new = old.clone();
    new.previous_secret = previous_until.map(|_| old.secret.clone());
    new.previous_secret_until = previous_until;
    new.secret = secret;
    let changes = ChangeSet::new().secret("secret").field(
        "previousSecretUntil",
        old.previous_secret_until,
        new.previous_secret_until,
    );
    save(conn, author, old, new, Operation::Update, changes).await
}

/// Switches an endpoint on or off. Switched on, it starts afresh: its failures are
/// forgotten, and the deliveries that waited meanwhile go out.
pub async fn set_status<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    status: EndpointStatus,
    reason: Option<String>,
) -> StoreResult<Endpoint> {
    let old = for_write(conn, author.tenant_id, id, None).await?;
    if old.status == status.as_str() {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::IllegalState,
            format!("the endpoint is already {}", status.as_str()),
        ));
    }
    let now = Utc::now();
    let mut new = old.clone();
    new.status = status.as_str().to_owned();
    let operation = match status {
        EndpointStatus::Active => {
            new.disabled_reason = None;
            new.disabled_at = None;
            new.failing_since = None;
            // The messages that waited get a fresh day of retries, from now.
            webhook_delivery::Entity::update_many()
                .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
                .col_expr(webhook_delivery::Column::WindowStart, Expr::value(now))
                .filter(webhook_delivery::Column::TenantId.eq(old.tenant_id))
                .filter(webhook_delivery::Column::EndpointId.eq(old.id))
                .filter(pending())
                .exec(conn)
                .await?;
            Operation::Enable
        }
        EndpointStatus::Disabled => {
            new.disabled_reason = reason;
            new.disabled_at = Some(now);
            Operation::Disable
        }
    };
    let changes = ChangeSet::new().field("status", &old.status, &new.status).field(
        "disabledReason",
        &old.disabled_reason,
        &new.disabled_reason,
    );
    save(conn, author, old, new, operation, changes).await
}

/// Moves an endpoint to the recycle bin: nothing more is sent to it.
pub async fn delete<C: ConnectionTrait>(conn: &C, author: &Author, id: Uuid) -> StoreResult<Endpoint> {
    let old = for_write(conn, author.tenant_id, id, None).await?;
    let mut new = old.clone();
    new.deleted_at = Some(Utc::now());
    let changes = ChangeSet::new().field("deletedAt", None::<()>, new.deleted_at);
    save(conn, author, old, new, Operation::Delete, changes).await
}

// ---- The deliverer's side ------------------------------------------------------------

/// Active endpoints with changes committed past their cursor, as `(tenant, endpoint)`:
/// one statement.
pub async fn behind<C: ConnectionTrait>(conn: &C, limit: u64) -> StoreResult<Vec<(TenantId, Uuid)>> {
    let statement = crate::dialect::raw_statement(
        conn.get_database_backend(),
        "SELECT e.tenant_id, e.id FROM webhook_endpoints e JOIN tenants t ON t.id = e.tenant_id \
         WHERE e.deleted_at IS NULL AND e.status = ? AND e.cursor_seq < t.change_seq AND t.disabled_at IS NULL \
         LIMIT ?",
        [EndpointStatus::Active.as_str().into(), (limit as i64).into()],
    );
    let mut found = Vec::new();
    for row in conn.query_all_raw(statement).await? {
        found.push((TenantId::from_uuid(row.try_get("", "tenant_id")?), row.try_get("", "id")?));
    }
    Ok(found)
}

/// Endpoints with a delivery due and not leased, as `(tenant, endpoint)`: one statement.
pub async fn due<C: ConnectionTrait>(conn: &C, now: DateTime<Utc>, limit: u64) -> StoreResult<Vec<(TenantId, Uuid)>> {
    let statement = crate::dialect::raw_statement(
        conn.get_database_backend(),
        "SELECT DISTINCT d.tenant_id, d.endpoint_id FROM webhook_deliveries d \
         JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id \
            AND e.status = ? AND e.deleted_at IS NULL \
         WHERE d.status = ? AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?) LIMIT ?",
        [
            EndpointStatus::Active.as_str().into(),
            DeliveryStatus::Pending.as_str().into(),
            now.into(),
            now.into(),
            (limit as i64).into(),
        ],
    );
    let mut found = Vec::new();
    for row in conn.query_all_raw(statement).await? {
        found.push((TenantId::from_uuid(row.try_get("", "tenant_id")?), row.try_get("", "endpoint_id")?));
    }
    Ok(found)
}

/// Locks an active endpoint for its fan-out or its claim, with its secrets; `None` when it
/// is gone, switched off, or another replica holds it right now (PostgreSQL skips a locked
/// row; SQLite's single writer already serialises).
pub async fn lock<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Uuid,
) -> StoreResult<Option<(Endpoint, Secrets)>> {
    let mut select = live(tenant)
        .filter(webhook_endpoint::Column::Id.eq(id))
        .filter(webhook_endpoint::Column::Status.eq(EndpointStatus::Active.as_str()));
    if conn.get_database_backend() == DbBackend::Postgres {
        select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let Some(model) = select.one(conn).await? else { return Ok(None) };
    let secrets = Secrets {
        current: model.secret.clone(),
        previous: model.previous_secret.clone(),
        previous_until: model.previous_secret_until,
    };
    Ok(Some((to_domain(model)?, secrets)))
}

/// The secrets a message is signed with.
#[derive(Clone, Debug)]
pub struct Secrets {
    pub current: String,
    pub previous: Option<String>,
    pub previous_until: Option<DateTime<Utc>>,
}

impl Secrets {
    /// The previous secret, while it still overlaps at `now`.
    pub fn previous_at(&self, now: DateTime<Utc>) -> Option<&str> {
        self.previous.as_deref().filter(|_| self.previous_until.is_some_and(|until| until > now))
    }
}

/// One message to write for one change.
pub struct NewDelivery {
    pub seq: i64,
    pub entity: EntityKind,
    pub entity_id: Uuid,
    pub event_type: String,
    pub payload: serde_json::Value,
}

/// Writes the deliveries of one fan-out and moves the endpoint's cursor to `cursor`, in
/// the caller's transaction. A change already fanned out is skipped by the unique key.
pub async fn add_deliveries<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    endpoint: Uuid,
    deliveries: Vec<NewDelivery>,
    cursor: i64,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let rows: Vec<webhook_delivery::ActiveModel> = deliveries
        .into_iter()
        .map(|d| webhook_delivery::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            id: Set(Uuid::now_v7()),
            endpoint_id: Set(endpoint),
            seq: Set(d.seq),
            entity_type: Set(d.entity.name().to_owned()),
            entity_id: Set(d.entity_id),
            event_type: Set(d.event_type),
            payload: Set(d.payload),
            status: Set(DeliveryStatus::Pending.as_str().to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            window_start: Set(now),
            lease_until: Set(None),
            lease_token: Set(None),
            created_at: Set(now),
            delivered_at: Set(None),
            last_response_status: Set(None),
            last_error: Set(None),
        })
        .collect();
    // A change reaches an endpoint once: a second fan-out of the same seq writes nothing.
    let once = OnConflict::columns([
        webhook_delivery::Column::TenantId,
        webhook_delivery::Column::EndpointId,
        webhook_delivery::Column::Seq,
    ])
    .do_nothing()
    .to_owned();
    let written = crate::upsert_chunked(conn, rows, Some(once)).await?;
    webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::CursorSeq, Expr::value(cursor))
        .filter(webhook_endpoint::Column::TenantId.eq(tenant.uuid()))
        .filter(webhook_endpoint::Column::Id.eq(endpoint))
        .filter(webhook_endpoint::Column::CursorSeq.lt(cursor))
        .exec(conn)
        .await?;
    Ok(written)
}

fn pending() -> Condition {
    Condition::all().add(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
}

/// Leases up to the endpoint's free in-flight slots of its due deliveries until
/// `lease_until`, in the caller's transaction (which holds the endpoint's lock, so two
/// replicas never overfill the slots). A record's messages go out one at a time, in the
/// order of its changes: a message waits while an earlier one of the same record is
/// pending, even one waiting for a retry.
pub async fn claim<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    endpoint: &Endpoint,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    token: Uuid,
) -> StoreResult<Vec<Delivery>> {
    let of_endpoint = || {
        webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::TenantId.eq(tenant.uuid()))
            .filter(webhook_delivery::Column::EndpointId.eq(endpoint.id))
            .filter(pending())
    };
    let in_flight = of_endpoint().filter(webhook_delivery::Column::LeaseUntil.gt(now)).count(conn).await?;
    let free = (endpoint.max_in_flight as u64).saturating_sub(in_flight);
    if free == 0 {
        return Ok(Vec::new());
    }
    let earlier_pending = Expr::cust(format!(
        "NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.tenant_id = webhook_deliveries.tenant_id \
         AND p.endpoint_id = webhook_deliveries.endpoint_id AND p.entity_id = webhook_deliveries.entity_id \
         AND p.status = '{}' AND p.seq < webhook_deliveries.seq)",
        DeliveryStatus::Pending.as_str()
    ));
    let rows = of_endpoint()
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(webhook_delivery::Column::LeaseUntil.is_null())
                .add(webhook_delivery::Column::LeaseUntil.lte(now)),
        )
        .filter(earlier_pending)
        .order_by_asc(webhook_delivery::Column::Seq)
        .limit(free)
        .all(conn)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::LeaseUntil, Expr::value(lease_until))
        .col_expr(webhook_delivery::Column::LeaseToken, Expr::value(token))
        .filter(webhook_delivery::Column::TenantId.eq(tenant.uuid()))
        .filter(webhook_delivery::Column::Id.is_in(rows.iter().map(|r| r.id)))
        .exec(conn)
        .await?;
    rows.into_iter().map(delivery_to_domain).collect()
}

/// What became of one leased delivery.
pub struct Finished {
    pub delivery_id: Uuid,
    /// The token of the claim that leased it: a late answer after the lease ran out (and
    /// another replica took it) records its attempt but moves nothing.
    pub token: Uuid,
    pub attempt: Attempt,
    /// The delivery's next state: `Delivered`, `Pending` (retried at `next_attempt_at`)
    /// or `Dead`.
    pub status: DeliveryStatus,
    pub next_attempt_at: DateTime<Utc>,
}

/// Records a claim's attempts, moves its deliveries on and keeps the endpoint's health,
/// in the caller's transaction; returns the endpoint's `failing_since` and
/// `last_success_at` after them.
pub async fn finish<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    endpoint: Uuid,
    finished: &[Finished],
    now: DateTime<Utc>,
) -> StoreResult<(Option<DateTime<Utc>>, Option<DateTime<Utc>>)> {
    let attempts: Vec<webhook_attempt::ActiveModel> = finished
        .iter()
        .map(|f| webhook_attempt::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            id: Set(Uuid::now_v7()),
            delivery_id: Set(f.delivery_id),
            endpoint_id: Set(endpoint),
            attempt: Set(f.attempt.attempt),
            started_at: Set(f.attempt.started_at),
            duration_ms: Set(f.attempt.duration_ms),
            response_status: Set(f.attempt.response_status),
            error: Set(f.attempt.error.clone()),
            succeeded: Set(f.attempt.succeeded),
        })
        .collect();
    crate::insert_chunked(conn, attempts).await?;
    for f in finished {
        let delivered = f.status == DeliveryStatus::Delivered;
        webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Status, Expr::value(f.status.as_str()))
            .col_expr(webhook_delivery::Column::Attempts, Expr::value(f.attempt.attempt))
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(f.next_attempt_at))
            .col_expr(webhook_delivery::Column::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
            .col_expr(webhook_delivery::Column::LeaseToken, Expr::value(None::<Uuid>))
            .col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(delivered.then_some(now)))
            .col_expr(webhook_delivery::Column::LastResponseStatus, Expr::value(f.attempt.response_status))
            .col_expr(webhook_delivery::Column::LastError, Expr::value(f.attempt.error.clone()))
            .filter(webhook_delivery::Column::TenantId.eq(tenant.uuid()))
            .filter(webhook_delivery::Column::Id.eq(f.delivery_id))
            .filter(webhook_delivery::Column::LeaseToken.eq(f.token))
            .exec(conn)
            .await?;
    }
    let health = webhook_endpoint::Entity::update_many()
        .filter(webhook_endpoint::Column::TenantId.eq(tenant.uuid()))
        .filter(webhook_endpoint::Column::Id.eq(endpoint));
    if finished.iter().any(|f| f.attempt.succeeded) {
        health
            .col_expr(webhook_endpoint::Column::LastSuccessAt, Expr::value(now))
            .col_expr(webhook_endpoint::Column::FailingSince, Expr::value(None::<DateTime<Utc>>))
            .exec(conn)
            .await?;
        return Ok((None, Some(now)));
    }
    let Some(first_failure) = finished.iter().map(|f| f.attempt.started_at).min() else { return Ok((None, None)) };
    health
        .col_expr(
            webhook_endpoint::Column::FailingSince,
            Func::coalesce([Expr::col(webhook_endpoint::Column::FailingSince), Expr::value(first_failure)]).into(),
        )
        .exec(conn)
        .await?;
    let health = find_model(conn, tenant, endpoint).await?;
    Ok(health.map(|m| (m.failing_since, m.last_success_at)).unwrap_or_default())
}

/// Switches off an endpoint that keeps failing (or whose user can no longer receive), as
/// the system, and tells the user it receives as with a notice.
pub async fn disable_failing<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    endpoint: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    // An admin may have switched it off meanwhile, or deleted it: nothing to do.
    let live = find_model(conn, tenant, endpoint).await?;
    if live.is_none_or(|m| m.status != EndpointStatus::Active.as_str()) {
        return Ok(());
    }
    let disabled =
        set_status(conn, &Author::system(tenant), endpoint, EndpointStatus::Disabled, Some(reason.to_owned())).await?;
    let notice = crate::finance::receivable::notice_row(
        tenant.uuid(),
        disabled.user_id,
        ("WEBHOOK_DISABLED", ENTITY.name()),
        (endpoint, guanxi_domain::customers::customer::shanghai_date(now)),
        format!("Webhook 推送地址 {} 已停用：{reason}", disabled.url),
        now,
    );
    crate::finance::receivable::insert_notices(conn, vec![notice]).await?;
    Ok(())
}

fn deliveries_of(tenant: TenantId, endpoint: Uuid, status: Option<DeliveryStatus>) -> Select<webhook_delivery::Entity> {
    let select = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::TenantId.eq(tenant.uuid()))
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint));
    match status {
        Some(status) => select.filter(webhook_delivery::Column::Status.eq(status.as_str())),
        None => select,
    }
}

/// An endpoint's deliveries, newest first.
pub async fn deliveries<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    endpoint: Uuid,
    status: Option<DeliveryStatus>,
    request: &PageRequest,
) -> StoreResult<Page<Delivery>> {
    let key = SortKey {
        name: "CREATED_AT",
        column: webhook_delivery::Column::Id,
        direction: Direction::Desc,
        value: |m: &webhook_delivery::Model| CursorValue::Uuid(m.id),
    };
    let tiebreak =
        Tiebreak { column: webhook_delivery::Column::Id, value: |m: &webhook_delivery::Model| CursorValue::Uuid(m.id) };
    page::fetch(conn, deliveries_of(tenant, endpoint, status), &key, &tiebreak, request)
        .await?
        .try_map(delivery_to_domain)
}

pub async fn count_deliveries<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    endpoint: Uuid,
    status: Option<DeliveryStatus>,
    limit: Option<u64>,
) -> StoreResult<u64> {
    crate::repo::tally(conn, deliveries_of(tenant, endpoint, status), limit).await
}

/// The attempts of `deliveries`, oldest first: one statement.
pub async fn attempts_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    deliveries: &[Uuid],
) -> StoreResult<HashMap<Uuid, Vec<Attempt>>> {
    let mut found: HashMap<Uuid, Vec<Attempt>> = HashMap::new();
    if deliveries.is_empty() {
        return Ok(found);
    }
    let rows = webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::TenantId.eq(tenant.uuid()))
        .filter(webhook_attempt::Column::DeliveryId.is_in(deliveries.iter().copied()))
        .order_by_asc(webhook_attempt::Column::Id)
        .all(conn)
        .await?;
    for m in rows {
        found.entry(m.delivery_id).or_default().push(Attempt {
            delivery_id: m.delivery_id,
            attempt: m.attempt,
            started_at: m.started_at,
            duration_ms: m.duration_ms,
            response_status: m.response_status,
            error: m.error,
            succeeded: m.succeeded,
        });
    }
    Ok(found)
}

pub async fn find_delivery<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<Option<Delivery>> {
    webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::TenantId.eq(tenant.uuid()))
        .filter(webhook_delivery::Column::Id.eq(id))
        .one(conn)
        .await?
        .map(delivery_to_domain)
        .transpose()
}

/// Which deliveries a redelivery sends again.
pub enum Redeliver {
    One(Uuid),
    /// Those created in `[from, to)`.
    Range {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

/// Sends delivered or dead messages of an endpoint again, each with the `webhook-id` it had
/// and a fresh retry window; returns how many. A message still pending is left as it is.
pub async fn redeliver<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    endpoint: Uuid,
    which: Redeliver,
) -> StoreResult<u64> {
    let tenant = author.tenant_id;
    find_model(conn, tenant, endpoint).await?.ok_or(StoreError::NotFound)?;
    let now = Utc::now();
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value(DeliveryStatus::Pending.as_str()))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
        .col_expr(webhook_delivery::Column::WindowStart, Expr::value(now))
        .col_expr(webhook_delivery::Column::LeaseUntil, Expr::value(None::<DateTime<Utc>>))
        .col_expr(webhook_delivery::Column::LeaseToken, Expr::value(None::<Uuid>))
        .filter(webhook_delivery::Column::TenantId.eq(tenant.uuid()))
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint))
        .filter(webhook_delivery::Column::Status.ne(DeliveryStatus::Pending.as_str()));
    update = match which {
        Redeliver::One(id) => update.filter(webhook_delivery::Column::Id.eq(id)),
        Redeliver::Range { from, to } => update
            .filter(webhook_delivery::Column::CreatedAt.gte(from))
            .filter(webhook_delivery::Column::CreatedAt.lt(to)),
    };
    let sent = update.exec(conn).await?.rows_affected;
    if sent > 0 {
        audit::record(
            conn,
            author,
            ENTITY,
            endpoint,
            Operation::Update,
            &ChangeSet::new().field("redelivered", 0, sent),
        )
        .await?;
    }
    Ok(sent)
}
