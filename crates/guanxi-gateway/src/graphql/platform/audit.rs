//! Reading the change log: a record's history, and a live feed of changes.

use std::time::Duration;

use async_graphql::{Context, ID, Json, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::access::{Actor, Permission};
use guanxi_domain::platform::change::ChangeEvent as DomainChangeEvent;
use guanxi_store::Database;
use uuid::Uuid;

use crate::graphql::context::{Caller, Credential, actor, require, state};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::loaders::{Loaders, UserKey};
use crate::graphql::platform::api_keys::API_KEY;
use crate::graphql::platform::org::User;
use crate::graphql::relay::{Conn, TotalCount, connection, global_id, page_request, parse_global_id};

/// Change-log fields that hold phone numbers.
const PHONE_FIELDS: &[&str] = &["phone", "mainPhone", "financePhone", "mobile", "officePhone", "homePhone", "fax"];

/// A change's fields as a reader sees them: phone numbers masked unless `unmasked`.
pub(crate) fn changes_as_seen(
    changes: &[guanxi_domain::platform::change::FieldChange],
    unmasked: bool,
) -> Vec<guanxi_domain::platform::change::FieldChange> {
    let shown = |field: &str, value: &serde_json::Value| -> serde_json::Value {
        match value {
            serde_json::Value::String(s) if PHONE_FIELDS.contains(&field) => {
                serde_json::Value::String(guanxi_domain::platform::access::phone_as_seen(s, unmasked))
            }
            other => other.clone(),
        }
    };
    changes
        .iter()
        .map(|c| guanxi_domain::platform::change::FieldChange {
            old: shown(&c.field, &c.old),
            new: shown(&c.field, &c.new),
            field: c.field.clone(),
        })
        .collect()
}

/// One field of a change, old → new.
#[derive(SimpleObject)]
pub struct FieldChange {
    field: String,
    old: Json<serde_json::Value>,
    new: Json<serde_json::Value>,
}

/// One write to one record (变更记录).
pub struct ChangeEvent(pub DomainChangeEvent);

#[Object]
impl ChangeEvent {
    /// The tenant-wide sequence: strictly increasing in commit order.
    async fn sequence(&self) -> i64 {
        self.0.seq
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// The record's type, e.g. `User`.
    async fn entity_type(&self) -> &str {
        self.0.entity.name()
    }
    /// The record's global id.
    async fn entity_id(&self) -> ID {
        global_id(self.0.entity.name(), self.0.entity_id)
    }
    /// CREATE, UPDATE, DELETE, RESTORE, DISABLE, ENABLE, REVOKE, PASSWORD_CHANGE, MERGE, COPY,
    /// CLAIM, RELEASE, RECLAIM, ASSIGN, TRANSFER.
    async fn operation(&self) -> &str {
        self.0.operation.as_str()
    }
    /// Phone numbers are masked unless the caller holds `phone.unmasked`.
    async fn changes(&self, ctx: &Context<'_>) -> Vec<FieldChange> {
        let unmasked = ctx.data_opt::<Caller>().and_then(|c| c.actor.as_ref()).is_some_and(Actor::sees_unmasked_phones);
        changes_as_seen(&self.0.changes, unmasked)
            .into_iter()
            .map(|c| FieldChange { old: Json(c.old), new: Json(c.new), field: c.field })
            .collect()
    }
    /// Who made the change; null for the system, or when the caller may not see them.
    async fn actor(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(user) = self.0.actor_user_id else { return Ok(None) };
        let loaders = ctx.data_opt::<Loaders>().ok_or(ApiError::NotFound)?;
        Ok(loaders.load_one(UserKey(user)).await?.map(User))
    }
    /// Set when the change came through an API key.
    async fn api_key_id(&self) -> Option<ID> {
        self.0.actor_api_key_id.map(|k| global_id(API_KEY, k))
    }
    /// Set when a customer's contact made the change through the self-service portal.
    async fn contact_id(&self) -> Option<ID> {
        self.0.actor_contact_id.map(|c| global_id(crate::graphql::customers::contact::CONTACT, c))
    }
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The change history of one record the caller may see, newest first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<ChangeEvent>> {
        let actor = actor(ctx)?.clone();
        let Some((name, uuid)) = parse_global_id(&id) else { return Err(ApiError::NotFound) };
        let Some(kind) = EntityKind::parse(&name) else { return Err(ApiError::NotFound) };
        let db = state(ctx).db.clone();
        if visible_ids(&db, &actor, kind, &[uuid]).await?.is_empty() {
            return Err(ApiError::NotFound);
        }
        let request = page_request(first, after, None, None, "SEQ")?;
        let page =
            guanxi_store::platform::audit::history(db.connection(), actor.tenant_id, kind, uuid, &request).await?;
        let total = TotalCount::new(move |limit| {
            let db = db.clone();
            Box::pin(async move {
                guanxi_store::platform::audit::count_for(db.connection(), actor.tenant_id, kind, uuid, limit).await
            })
        });
        Ok(connection(page, total, ChangeEvent))
    }
}

/// Which of `ids`, records of `kind`, the actor may see, live or in the recycle bin (their
/// history stays readable there). The entity registry decides; one statement.
pub async fn visible_ids(db: &Database, actor: &Actor, kind: EntityKind, ids: &[Uuid]) -> ApiResult<Vec<Uuid>> {
    let Some(visibility) = kind.visibility(actor) else { return Ok(Vec::new()) };
    Ok(guanxi_store::visibility::visible_ids(db.connection(), actor.tenant_id, kind, visibility, ids).await?)
}

/// Keeps only the events whose record the actor may see: one read per kind present.
async fn visible_events(
    db: &Database,
    actor: &Actor,
    events: Vec<DomainChangeEvent>,
) -> ApiResult<Vec<DomainChangeEvent>> {
    Ok(guanxi_store::visibility::visible_events(db.connection(), actor, events).await?)
}

/// Re-checks the subscriber's credential, so logout, revocation and disabling end the feed.
pub(crate) async fn still_valid(db: &Database, tenant: TenantId, credential: &Credential) -> ApiResult<Option<Actor>> {
    Ok(match credential {
        Credential::Session { user, session } => {
            guanxi_store::platform::auth::session_actor(db.connection(), tenant, *user, *session).await?
        }
        Credential::ApiKey { secret_hash } => {
            guanxi_store::platform::auth::api_key_actor(db.connection(), tenant, secret_hash).await?.map(|(a, _)| a)
        }
        // A portal token never acts as staff.
        Credential::Portal { .. } => None,
    })
}

/// What a change-log subscription starts from: the subscriber's credential (re-checked on
/// every poll), the application, the poll interval and the tenant's current sequence.
pub(crate) struct FeedStart {
    pub credential: Credential,
    pub app: std::sync::Arc<crate::graphql::context::AppState>,
    pub poll: Duration,
    pub seq: i64,
}

/// Starts a change-log subscription for `actor`, from now on.
pub(crate) async fn feed_start(ctx: &Context<'_>, actor: &Actor) -> ApiResult<FeedStart> {
    let credential = ctx
        .data_opt::<Caller>()
        .and_then(|c| c.credential.clone())
        .ok_or_else(|| ApiError::Unauthenticated("log in first".into()))?;
    let app = state(ctx).clone();
    let poll = Duration::from_millis(app.config.subscription_poll_ms.max(50));
    let seq = guanxi_store::platform::tenant::find(app.db.connection(), actor.tenant_id)
        .await?
        .map(|t| t.change_seq)
        .unwrap_or(0);
    Ok(FeedStart { credential, app, poll, seq })
}

#[derive(Default)]
pub struct AuditSubscription;

#[Subscription]
impl AuditSubscription {
    /// Changes committed from now on to records the caller may see (needs `audit.read`).
    /// Authenticate in `connection_init` with `{"Authorization": "Bearer <token>"}`.
    async fn changes(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = ChangeEvent>, ApiError> {
        let actor = require(ctx, Permission::AuditRead)?.clone();
        let FeedStart { credential, app, poll, seq } = feed_start(ctx, &actor).await?;
        let stream = async_stream_events(app, actor.tenant_id, credential, seq, poll);
        Ok(stream)
    }
}

fn async_stream_events(
    app: std::sync::Arc<crate::graphql::context::AppState>,
    tenant: TenantId,
    credential: Credential,
    start: i64,
    poll: Duration,
) -> impl Stream<Item = ChangeEvent> {
    futures::stream::unfold((start, Vec::<DomainChangeEvent>::new()), move |(mut last, mut pending)| {
        let app = app.clone();
        let credential = credential.clone();
        async move {
            loop {
                if let Some(event) = pending.pop() {
                    return Some((ChangeEvent(event), (last, pending)));
                }
                tokio::time::sleep(poll).await;
                let actor = match still_valid(&app.db, tenant, &credential).await {
                    Ok(Some(actor)) if actor.may(Permission::AuditRead) => actor,
                    _ => return None,
                };
                let events =
                    match guanxi_store::platform::audit::since(app.db.connection(), tenant, None, last, 200).await {
                        Ok((events, read_up_to)) => {
                            last = read_up_to.unwrap_or(last);
                            events
                        }
                        Err(error) => {
                            tracing::warn!(%error, "change feed poll failed");
                            continue;
                        }
                    };
                match visible_events(&app.db, &actor, events).await {
                    Ok(mut visible) => {
                        visible.reverse();
                        pending = visible;
                    }
                    Err(_) => return None,
                }
            }
        }
    })
}
