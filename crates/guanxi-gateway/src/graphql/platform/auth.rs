//! Logging in and out, refreshing sessions, changing passwords.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Duration, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::ids::{TenantId, UserId};
use guanxi_domain::platform::access::ScopeRule;
use guanxi_domain::platform::auth::Password;
use guanxi_domain::platform::org::UserStatus;
use guanxi_store::platform::audit::Author;
use guanxi_store::platform::auth::Refresh;

use crate::auth::{OpaqueKind, dummy_hash, hash_password, hash_token, new_opaque, opaque_tenant, verify_password};
use crate::graphql::context::{actor, author, caller, state};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::platform::org::User;

#[derive(InputObject)]
pub struct LoginInput {
    /// The tenant's short name, e.g. `demo`.
    pub tenant: String,
    pub email: String,
    pub password: String,
}

/// A session's credentials. `accessToken` goes in `Authorization: Bearer`; keep the
/// `refreshToken` to get a new access token when it expires.
#[derive(SimpleObject, Default)]
pub struct SessionPayload {
    access_token: Option<String>,
    refresh_token: Option<String>,
    /// When the access token expires.
    expires_at: Option<DateTime<Utc>>,
    user: Option<User>,
    user_errors: Vec<UserError>,
}

impl SessionPayload {
    fn failed(field: &str, code: ErrorCode, message: &str) -> Self {
        Self { user_errors: vec![UserError::new(field, code, message)], ..Self::default() }
    }
}

#[derive(InputObject)]
pub struct RefreshSessionInput {
    pub refresh_token: String,
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    pub current_password: String,
    pub new_password: String,
}

/// The result of a mutation that returns nothing but success.
#[derive(SimpleObject)]
pub struct OkPayload {
    ok: bool,
    user_errors: Vec<UserError>,
}

const BAD_CREDENTIALS: &str = "the tenant, email or password is wrong";

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Logs in with a password. Five failures in a row lock the account for a minute,
    /// doubling with each further failure up to an hour.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> ApiResult<SessionPayload> {
        let app = state(ctx);
        let conn = app.db.connection();
        // Every attempt from an address takes a token of its failed-login budget, given
        // back when the login succeeds: spraying passwords across accounts runs dry.
        // A caller whose address is not known (none should be) shares one bucket.
        let address = match caller(ctx).and_then(|c| c.client) {
            Some(ip) => format!("login:{ip}"),
            None => "login:unknown".to_owned(),
        };
        if app.failed_logins.enabled() {
            let key = address.as_str();
            let decision = app.failed_logins.check(key).await;
            if !decision.allowed {
                let message =
                    format!("too many failed logins from this address; try again in {} s", decision.reset_seconds);
                return Ok(SessionPayload::failed("", ErrorCode::RateLimited, &message));
            }
        }
        let Some(tenant) = guanxi_store::platform::tenant::find_by_slug(conn, &input.tenant)
            .await?
            .filter(|t| t.disabled_at.is_none())
        else {
            verify_password(input.password, dummy_hash().await).await;
            return Ok(SessionPayload::failed("", ErrorCode::InvalidCredentials, BAD_CREDENTIALS));
        };
        let tenant_id = TenantId::from_uuid(tenant.id);
        let Some(user) = guanxi_store::platform::user::find_for_login(conn, tenant_id, &input.email).await? else {
            verify_password(input.password, dummy_hash().await).await;
            return Ok(SessionPayload::failed("", ErrorCode::InvalidCredentials, BAD_CREDENTIALS));
        };
        // The check is claimed (and counted as a failure) before the password is checked,
        // in its own transaction, so racing attempts cannot check more passwords than the
        // lock allows.
        let tx = app.db.begin_write().await?;
        let claimed = guanxi_store::platform::user::claim_login_attempt(&tx, tenant_id, user.id, Utc::now()).await?;
        tx.commit().await?;
        if let Err(until) = claimed {
            return Ok(SessionPayload::failed(
                "",
                ErrorCode::RateLimited,
                &format!("too many failed logins; try again after {}", until.to_rfc3339()),
            ));
        }
        let password_ok = verify_password(input.password, user.password_hash.clone()).await;
        if !password_ok {
            tracing::info!(tenant = %tenant.slug, "failed login");
            return Ok(SessionPayload::failed("", ErrorCode::InvalidCredentials, BAD_CREDENTIALS));
        }
        if app.failed_logins.enabled() {
            app.failed_logins.refund(&address).await;
        }
        if UserStatus::parse(&user.status) != Some(UserStatus::Active) {
            // The right password of a disabled account: not a failure, and no session.
            let tx = app.db.begin_write().await?;
            guanxi_store::platform::user::record_successful_login(&tx, tenant_id, user.id).await?;
            tx.commit().await?;
            return Ok(SessionPayload::failed("", ErrorCode::InvalidCredentials, BAD_CREDENTIALS));
        }
        let refresh = new_opaque(OpaqueKind::Refresh, tenant_id);
        let user_id = UserId::from_uuid(user.id);
        let tx = app.db.begin_write().await?;
        guanxi_store::platform::user::record_successful_login(&tx, tenant_id, user.id).await?;
        let session = guanxi_store::platform::auth::open_session(
            &tx,
            tenant_id,
            user_id,
            &refresh.hash,
            Duration::days(app.config.session_days),
        )
        .await?;
        tx.commit().await?;
        let access = app.tokens.issue(tenant_id, user_id, session).map_err(ApiError::internal)?;
        Ok(SessionPayload {
            access_token: Some(access.token),
            refresh_token: Some(refresh.token),
            expires_at: Some(access.expires_at),
            user: Some(User(guanxi_store::platform::user::to_domain(user)?)),
            user_errors: vec![],
        })
    }

    /// Trades a refresh token for a new access token and a new refresh token. Each refresh
    /// token works once; presenting a used one ends the whole session.
    async fn refresh_session(&self, ctx: &Context<'_>, input: RefreshSessionInput) -> ApiResult<SessionPayload> {
        let app = state(ctx);
        let invalid =
            || SessionPayload::failed("refreshToken", ErrorCode::InvalidToken, "the refresh token is not valid");
        let Some(tenant) = opaque_tenant(OpaqueKind::Refresh, &input.refresh_token) else { return Ok(invalid()) };
        let next = new_opaque(OpaqueKind::Refresh, tenant);
        let tx = app.db.begin_write().await?;
        let refreshed =
            guanxi_store::platform::auth::rotate(&tx, tenant, &hash_token(&input.refresh_token), &next.hash).await?;
        let (session, user) = match refreshed {
            Refresh::Rotated { session, user } => (session, user),
            Refresh::Reused => {
                // The revocation must stick even though the caller gets an error.
                tx.commit().await?;
                tracing::warn!(%tenant, "refresh token reuse: session revoked");
                return Ok(SessionPayload::failed(
                    "refreshToken",
                    ErrorCode::InvalidToken,
                    "this refresh token was already used; the session has been ended for safety",
                ));
            }
            Refresh::Invalid => {
                tx.rollback().await?;
                return Ok(invalid());
            }
        };
        let Some(_actor) = guanxi_store::platform::auth::session_actor(&tx, tenant, user, session).await? else {
            tx.rollback().await?;
            return Ok(invalid());
        };
        let profile = guanxi_store::platform::user::find(&tx, tenant, ScopeRule::OwnedBy(user), user.uuid()).await?;
        tx.commit().await?;
        let access = app.tokens.issue(tenant, user, session).map_err(ApiError::internal)?;
        Ok(SessionPayload {
            access_token: Some(access.token),
            refresh_token: Some(next.token),
            expires_at: Some(access.expires_at),
            user: profile.map(User),
            user_errors: vec![],
        })
    }

    /// Ends the caller's session: its access and refresh tokens stop working at once.
    async fn logout(&self, ctx: &Context<'_>) -> ApiResult<OkPayload> {
        let actor = actor(ctx)?;
        let Some(session) = caller(ctx).and_then(|c| c.session_id) else {
            return Err(ApiError::BadUserInput("API keys have no session to end; revoke the key instead".into()));
        };
        let tx = state(ctx).db.begin_write().await?;
        guanxi_store::platform::auth::revoke_session(&tx, actor.tenant_id, session, "LOGOUT").await?;
        tx.commit().await?;
        Ok(OkPayload { ok: true, user_errors: vec![] })
    }

    /// Changes the caller's password and ends their other sessions.
    async fn change_password(&self, ctx: &Context<'_>, input: ChangePasswordInput) -> ApiResult<OkPayload> {
        let actor = actor(ctx)?;
        if actor.api_key_id.is_some() {
            return Err(ApiError::Forbidden("an API key cannot change a password".into()));
        }
        let app = state(ctx);
        let new_password = match Password::parse("newPassword", &input.new_password) {
            Ok(p) => p,
            Err(e) => {
                return Ok(OkPayload { ok: false, user_errors: vec![UserError::new(&e.field, e.code, e.message)] });
            }
        };
        let current_hash =
            guanxi_store::platform::user::password_hash(app.db.connection(), actor.tenant_id, actor.user_id).await?;
        if !verify_password(input.current_password, current_hash).await {
            return Ok(OkPayload {
                ok: false,
                user_errors: vec![UserError::new(
                    "currentPassword",
                    ErrorCode::InvalidCredentials,
                    "the current password is wrong",
                )],
            });
        }
        let hash = hash_password(new_password.expose().to_owned()).await.map_err(ApiError::internal)?;
        let author: Author = author(ctx, actor);
        let keep = caller(ctx).and_then(|c| c.session_id);
        let tx = app.db.begin_write().await?;
        guanxi_store::platform::user::set_password(&tx, &author, actor.user_id, hash, keep).await?;
        tx.commit().await?;
        Ok(OkPayload { ok: true, user_errors: vec![] })
    }
}
