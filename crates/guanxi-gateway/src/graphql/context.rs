//! What every resolver can reach: the application state (schema data) and the request's
//! actor (request data), plus the guards that check function permissions.

use std::sync::Arc;

use async_graphql::Context;
use guanxi_domain::ids::SessionId;
use guanxi_domain::platform::access::{Actor, Permission};
use guanxi_store::Database;
use guanxi_store::platform::audit::Author;

use super::error::ApiError;
use crate::auth::TokenService;
use crate::config::Config;

/// Shared by every request.
pub struct AppState {
    pub db: Database,
    /// Where uploaded files live.
    pub blobs: Arc<dyn crate::blob::BlobStore>,
    pub tokens: TokenService,
    pub config: Config,
    /// Failed logins per client address, across accounts (password spraying); per replica.
    pub failed_logins: crate::rate_limit::RateLimiter,
}

/// The credential a caller presented, kept so long-lived subscriptions can re-check it.
#[derive(Clone)]
pub enum Credential {
    Session {
        user: guanxi_domain::ids::UserId,
        session: SessionId,
    },
    ApiKey {
        secret_hash: String,
    },
    /// A customer contact's portal token.
    Portal {
        secret_hash: String,
    },
}

/// Who is calling, established once per request before the query runs.
#[derive(Clone, Default)]
pub struct Caller {
    pub credential: Option<Credential>,
    pub actor: Option<Actor>,
    /// Set for a user session (not for an API key).
    pub session_id: Option<SessionId>,
    /// Why a presented credential was refused, for the UNAUTHENTICATED message.
    pub refused: Option<&'static str>,
    pub request_id: Option<String>,
    /// The client's address, for limits that count per address.
    pub client: Option<std::net::IpAddr>,
    /// A customer's contact, through the self-service portal (never with an actor).
    pub portal: Option<guanxi_domain::service::portal::PortalSession>,
}

pub fn state<'a>(ctx: &Context<'a>) -> &'a Arc<AppState> {
    // The schema is always built with the state (see `graphql::build_schema`).
    ctx.data_unchecked::<Arc<AppState>>()
}

pub fn caller<'a>(ctx: &Context<'a>) -> Option<&'a Caller> {
    ctx.data_opt::<Caller>()
}

/// The authenticated actor, or UNAUTHENTICATED.
pub fn actor<'a>(ctx: &Context<'a>) -> Result<&'a Actor, ApiError> {
    let caller = caller(ctx);
    match caller.and_then(|c| c.actor.as_ref()) {
        Some(actor) => Ok(actor),
        None => Err(ApiError::Unauthenticated(
            caller.and_then(|c| c.refused).unwrap_or("log in first: send `Authorization: Bearer <token>`").into(),
        )),
    }
}

/// The portal session of a customer's contact, or UNAUTHENTICATED.
pub fn portal<'a>(ctx: &Context<'a>) -> Result<&'a guanxi_domain::service::portal::PortalSession, ApiError> {
    let caller = caller(ctx);
    caller.and_then(|c| c.portal.as_ref()).ok_or_else(|| {
        ApiError::Unauthenticated(
            caller.and_then(|c| c.refused).unwrap_or("send a portal token: `Authorization: Bearer gxp_…`").into(),
        )
    })
}

/// The actor, provided they hold `permission`; FORBIDDEN otherwise.
pub fn require<'a>(ctx: &Context<'a>, permission: Permission) -> Result<&'a Actor, ApiError> {
    let actor = actor(ctx)?;
    if actor.may(permission) {
        Ok(actor)
    } else {
        Err(ApiError::Forbidden(format!("this needs the `{}` permission", permission.key())))
    }
}

/// The author of the request's writes, for the change log.
pub fn author(ctx: &Context<'_>, actor: &Actor) -> Author {
    Author::of(actor, caller(ctx).and_then(|c| c.request_id.clone()))
}
