//! API keys for integrators, managed by whoever holds `apikey.manage`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::ids::RoleId;
use guanxi_domain::platform::access::{ApiKey as DomainApiKey, Permission};
use guanxi_domain::platform::org::Name;
use guanxi_store::platform::api_key::NewApiKey;

use crate::auth::{OpaqueKind, new_opaque};
use crate::graphql::context::{author, require, state};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{Loaders, RoleKey, UserKey};
use crate::graphql::mutation::transact;
use crate::graphql::platform::org::{ROLE, Role, User};
use crate::graphql::relay::{Conn, TotalCount, connection, expect_id, global_id, input_id, page_request};

pub const API_KEY: &str = guanxi_domain::entity::EntityKind::ApiKey.name();

/// A machine credential (API 密钥). The secret is shown once, when the key is created.
pub struct ApiKey(pub DomainApiKey);

#[Object]
impl ApiKey {
    pub async fn id(&self) -> ID {
        global_id(API_KEY, self.0.id.uuid())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The first characters of the secret, to tell keys apart.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    /// The role whose permissions and scopes the key has.
    async fn role(&self, ctx: &Context<'_>) -> ApiResult<Option<Role>> {
        let loaders = ctx.data_opt::<Loaders>().ok_or(ApiError::NotFound)?;
        Ok(loaders.load_one(RoleKey(self.0.role_id.uuid())).await?.map(Role))
    }
    /// The user the key acts for: the change log names them.
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let loaders = ctx.data_opt::<Loaders>().ok_or(ApiError::NotFound)?;
        Ok(loaders.load_one(UserKey(self.0.user_id.uuid())).await?.map(User))
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    pub name: String,
    pub role_id: ID,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    api_key: Option<ApiKey>,
    /// The key to send as `Authorization: Bearer <secret>`. Shown only now; store it safely.
    secret: Option<String>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct RevokeApiKeyInput {
    pub id: ID,
}

crate::graphql::error::payload! {
    ApiKeyPayload, api_key: ApiKey(DomainApiKey)
}

#[derive(Default)]
pub struct ApiKeyQuery;

#[Object]
impl ApiKeyQuery {
    /// API keys, newest first.
    #[graphql(complexity = "first.or(last).unwrap_or(20) as usize * child_complexity")]
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default = false)] include_revoked: bool,
    ) -> ApiResult<Conn<ApiKey>> {
        let actor = require(ctx, Permission::ApiKeyManage)?;
        let request = page_request(first, after, last, before, "CREATED_AT")?;
        let db = state(ctx).db.clone();
        let tenant = actor.tenant_id;
        let page = guanxi_store::platform::api_key::list(db.connection(), tenant, include_revoked, &request).await?;
        let total = TotalCount::new(move |limit| {
            let db = db.clone();
            Box::pin(async move {
                guanxi_store::platform::api_key::count(db.connection(), tenant, include_revoked, limit).await
            })
        });
        Ok(connection(page, total, ApiKey))
    }

    async fn api_key(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ApiKey> {
        let actor = require(ctx, Permission::ApiKeyManage)?;
        let id = expect_id(&id, API_KEY)?;
        let key = guanxi_store::platform::api_key::find(state(ctx).db.connection(), actor.tenant_id, id).await?;
        key.map(ApiKey).ok_or(ApiError::NotFound)
    }
}

#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Creates a key bound to a role, acting for the caller. The secret is in the payload, once.
    async fn create_api_key(&self, ctx: &Context<'_>, input: CreateApiKeyInput) -> ApiResult<CreateApiKeyPayload> {
        let actor = require(ctx, Permission::ApiKeyManage)?;
        let mut errors = Vec::new();
        let name =
            Name::parse("name", &input.name).map_err(|e| errors.push(UserError::new(&e.field, e.code, e.message))).ok();
        let role = input_id("roleId", &input.role_id, ROLE).map_err(|e| errors.push(e)).ok();
        let (Some(name), Some(role), true) = (name, role, errors.is_empty()) else {
            return Ok(CreateApiKeyPayload { api_key: None, secret: None, user_errors: errors });
        };
        let secret = new_opaque(OpaqueKind::ApiKey, actor.tenant_id);
        let author = author(ctx, actor);
        let new_key = NewApiKey {
            name,
            role_id: RoleId::from_uuid(role),
            user_id: actor.user_id,
            expires_at: input.expires_at,
            prefix: secret.display_prefix.clone(),
            secret_hash: secret.hash.clone(),
        };
        let result = transact(ctx, |tx| {
            Box::pin(async move { guanxi_store::platform::api_key::create(tx, &author, new_key).await })
        })
        .await?;
        Ok(match result {
            Ok(key) => {
                CreateApiKeyPayload { api_key: Some(ApiKey(key)), secret: Some(secret.token), user_errors: vec![] }
            }
            Err(errors) => CreateApiKeyPayload { api_key: None, secret: None, user_errors: errors },
        })
    }

    /// Revokes a key: requests with it fail from now on.
    async fn revoke_api_key(&self, ctx: &Context<'_>, input: RevokeApiKeyInput) -> ApiResult<ApiKeyPayload> {
        let actor = require(ctx, Permission::ApiKeyManage)?;
        let id = match input_id("id", &input.id, API_KEY) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = author(ctx, actor);
        let result =
            transact(ctx, |tx| Box::pin(async move { guanxi_store::platform::api_key::revoke(tx, &author, id).await }))
                .await?;
        Ok(result.into())
    }
}
