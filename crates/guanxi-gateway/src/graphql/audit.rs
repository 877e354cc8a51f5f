//! Reading the change log: a record's history, and a live feed of changes.

use std::time::Duration;

use async_graphql::{Context, ID, Json, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use guanxi_domain::access::{Actor, Module, Permission};
use guanxi_domain::ids::TenantId;
use guanxi_store::Database;
use guanxi_store::entity::change_event;
use uuid::Uuid;

use super::api_keys::API_KEY;
use super::context::{Caller, Credential, actor, require, state};
use super::error::{ApiError, ApiResult};
use super::loaders::{Loaders, UserKey};
use super::org::{DEPARTMENT, ROLE, USER, User};
use super::relay::{Conn, TotalCount, connection, global_id, page_request, parse_global_id};

/// Change-log fields that hold phone numbers.
const PHONE_FIELDS: &[&str] = &["phone", "mainPhone", "financePhone", "mobile", "officePhone", "homePhone", "fax"];

/// One field of a change, old → new.
#[derive(SimpleObject)]
pub struct FieldChange {
    field: String,
    old: Json<serde_json::Value>,
    new: Json<serde_json::Value>,
}

/// One write to one record (变更记录).
pub struct ChangeEvent(pub change_event::Model);

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
        &self.0.entity_type
    }
    /// The record's global id.
    async fn entity_id(&self) -> ID {
        global_id(&self.0.entity_type, self.0.entity_id)
    }
    /// CREATE, UPDATE, DELETE, RESTORE, DISABLE, ENABLE, REVOKE, PASSWORD_CHANGE, MERGE, COPY,
    /// CLAIM, RELEASE, RECLAIM, ASSIGN.
    async fn operation(&self) -> &str {
        &self.0.operation
    }
    /// Phone numbers are masked unless the caller holds `phone.unmasked`.
    async fn changes(&self, ctx: &Context<'_>) -> Vec<FieldChange> {
        let unmasked = ctx.data_opt::<Caller>().and_then(|c| c.actor.as_ref()).is_some_and(Actor::sees_unmasked_phones);
        let shown = |field: &str, value: serde_json::Value| -> serde_json::Value {
            match value {
                serde_json::Value::String(s) if !unmasked && PHONE_FIELDS.contains(&field) => {
                    serde_json::Value::String(guanxi_domain::phone::mask_phone(&s))
                }
                other => other,
            }
        };
        self.0
            .changes
            .as_array()
            .map(|changes| {
                changes
                    .iter()
                    .map(|c| {
                        let field = c.get("field").and_then(|f| f.as_str()).unwrap_or_default().to_owned();
                        FieldChange {
                            old: Json(shown(&field, c.get("old").cloned().unwrap_or_default())),
                            new: Json(shown(&field, c.get("new").cloned().unwrap_or_default())),
                            field,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
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
        let Some((kind, uuid)) = parse_global_id(&id) else { return Err(ApiError::NotFound) };
        if !record_visible(ctx, &actor, &id, &kind, uuid).await? {
            return Err(ApiError::NotFound);
        }
        let request = page_request(first, after, None, None, "SEQ")?;
        let db = state(ctx).db.clone();
        let page = guanxi_store::audit::history(db.connection(), actor.tenant_id, &kind, uuid, &request).await?;
        let total = TotalCount::new(move || {
            let (db, kind) = (db.clone(), kind.clone());
            Box::pin(async move { guanxi_store::audit::count_for(db.connection(), actor.tenant_id, &kind, uuid).await })
        });
        Ok(connection(page, total, ChangeEvent))
    }
}

/// Whether the actor may see a record, including one in the recycle bin: its history
/// stays readable there.
async fn record_visible(ctx: &Context<'_>, actor: &Actor, id: &ID, kind: &str, uuid: Uuid) -> ApiResult<bool> {
    let conn = state(ctx).db.connection();
    Ok(match kind {
        super::customer::CUSTOMER => {
            actor.may(Permission::CustomerRead)
                && !guanxi_store::customer::visible_ids(
                    conn,
                    actor.tenant_id,
                    actor.scope_rule(Module::Customer),
                    &[uuid],
                )
                .await?
                .is_empty()
        }
        super::contact::CONTACT => {
            actor.may(Permission::ContactRead)
                && !guanxi_store::contact::visible_ids(
                    conn,
                    actor.tenant_id,
                    super::loaders::contact_scope(actor),
                    &[uuid],
                )
                .await?
                .is_empty()
        }
        super::opportunity::OPPORTUNITY => {
            actor.may(Permission::OpportunityRead)
                && !guanxi_store::opportunity::visible_ids(
                    conn,
                    actor.tenant_id,
                    super::loaders::opportunity_scope(actor),
                    &[uuid],
                )
                .await?
                .is_empty()
        }
        super::pool::POOL => {
            actor.may(Permission::SettingsManage)
                && guanxi_store::pool::find(conn, actor.tenant_id, guanxi_domain::ids::PoolId::from_uuid(uuid))
                    .await?
                    .is_some()
        }
        DEPARTMENT => {
            actor.may(Permission::OrgRead)
                && guanxi_store::department::find(conn, actor.tenant_id, actor.department_rule(), uuid).await?.is_some()
        }
        _ => super::node::resolve(ctx, id).await?.is_some(),
    })
}

/// Keeps only the events whose record the actor may see.
async fn visible_events(
    db: &Database,
    actor: &Actor,
    events: Vec<change_event::Model>,
) -> ApiResult<Vec<change_event::Model>> {
    let ids_of =
        |kind: &str| -> Vec<Uuid> { events.iter().filter(|e| e.entity_type == kind).map(|e| e.entity_id).collect() };
    let conn = db.connection();
    let users: Vec<Uuid> =
        guanxi_store::user::by_ids(conn, actor.tenant_id, actor.scope_rule(Module::Org), &ids_of(USER))
            .await?
            .into_iter()
            .map(|u| u.id.uuid())
            .collect();
    let departments: Vec<Uuid> =
        guanxi_store::department::by_ids(conn, actor.tenant_id, actor.department_rule(), &ids_of(DEPARTMENT))
            .await?
            .into_iter()
            .map(|d| d.id.uuid())
            .collect();
    let customers = guanxi_store::customer::visible_ids(
        conn,
        actor.tenant_id,
        actor.scope_rule(Module::Customer),
        &ids_of(super::customer::CUSTOMER),
    )
    .await?;
    let contacts = guanxi_store::contact::visible_ids(
        conn,
        actor.tenant_id,
        super::loaders::contact_scope(actor),
        &ids_of(super::contact::CONTACT),
    )
    .await?;
    let opportunities = guanxi_store::opportunity::visible_ids(
        conn,
        actor.tenant_id,
        super::loaders::opportunity_scope(actor),
        &ids_of(super::opportunity::OPPORTUNITY),
    )
    .await?;
    let interactions: Vec<Uuid> = guanxi_store::interaction::by_ids(
        conn,
        actor.tenant_id,
        actor.scope_rule(Module::Customer),
        &ids_of(super::interaction::INTERACTION),
    )
    .await?
    .into_iter()
    .map(|i| i.id.uuid())
    .collect();
    Ok(events
        .into_iter()
        .filter(|e| match e.entity_type.as_str() {
            super::interaction::INTERACTION => {
                actor.may(Permission::InteractionRead) && interactions.contains(&e.entity_id)
            }
            super::customer::CUSTOMER => actor.may(Permission::CustomerRead) && customers.contains(&e.entity_id),
            super::contact::CONTACT => actor.may(Permission::ContactRead) && contacts.contains(&e.entity_id),
            super::opportunity::OPPORTUNITY => {
                actor.may(Permission::OpportunityRead) && opportunities.contains(&e.entity_id)
            }
            super::opportunity::PIPELINE => actor.may(Permission::OpportunityRead),
            super::pool::POOL => actor.may(Permission::SettingsManage),
            USER => actor.may(Permission::OrgRead) && users.contains(&e.entity_id),
            DEPARTMENT => actor.may(Permission::OrgRead) && departments.contains(&e.entity_id),
            ROLE => actor.may(Permission::OrgRead),
            API_KEY => actor.may(Permission::ApiKeyManage),
            _ => false,
        })
        .collect())
}

/// Re-checks the subscriber's credential, so logout, revocation and disabling end the feed.
async fn still_valid(db: &Database, tenant: TenantId, credential: &Credential) -> ApiResult<Option<Actor>> {
    Ok(match credential {
        Credential::Session { user, session } => {
            guanxi_store::auth::session_actor(db.connection(), tenant, *user, *session).await?
        }
        Credential::ApiKey { secret_hash } => {
            guanxi_store::auth::api_key_actor(db.connection(), tenant, secret_hash).await?.map(|(a, _)| a)
        }
    })
}

#[derive(Default)]
pub struct AuditSubscription;

#[Subscription]
impl AuditSubscription {
    /// Changes committed from now on to records the caller may see (needs `audit.read`).
    /// Authenticate in `connection_init` with `{"Authorization": "Bearer <token>"}`.
    async fn changes(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = ChangeEvent>, ApiError> {
        let actor = require(ctx, Permission::AuditRead)?.clone();
        let credential = ctx
            .data_opt::<Caller>()
            .and_then(|c| c.credential.clone())
            .ok_or_else(|| ApiError::Unauthenticated("log in first".into()))?;
        let app = state(ctx).clone();
        let poll = Duration::from_millis(app.config.subscription_poll_ms.max(50));
        let start =
            guanxi_store::tenant::find(app.db.connection(), actor.tenant_id).await?.map(|t| t.change_seq).unwrap_or(0);
        let stream = async_stream_events(app, actor.tenant_id, credential, start, poll);
        Ok(stream)
    }
}

fn async_stream_events(
    app: std::sync::Arc<super::context::AppState>,
    tenant: TenantId,
    credential: Credential,
    start: i64,
    poll: Duration,
) -> impl Stream<Item = ChangeEvent> {
    futures::stream::unfold((start, Vec::<change_event::Model>::new()), move |(mut last, mut pending)| {
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
                let events = match guanxi_store::audit::since(app.db.connection(), tenant, last, 200).await {
                    Ok(events) => events,
                    Err(error) => {
                        tracing::warn!(%error, "change feed poll failed");
                        continue;
                    }
                };
                if let Some(newest) = events.last() {
                    last = newest.seq;
                }
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
