//! The Relay `Node` interface: any record by its global id, through the caller's scope.

use async_graphql::{Context, ID, Interface, Object};
use guanxi_domain::access::Permission;

use super::api_keys::{API_KEY, ApiKey};
use super::calendar::{EVENT, Event};
use super::contact::{CONTACT, Contact};
use super::context::{actor, state};
use super::customer::{CUSTOMER, Customer};
use super::error::{ApiError, ApiResult};
use super::interaction::{INTERACTION, Interaction};
use super::loaders::{ContactKey, CustomerKey, DepartmentKey, Loaders, RoleKey, UserKey};
use super::opportunity::{OPPORTUNITY, Opportunity};
use super::org::{DEPARTMENT, Department, ROLE, Role, USER, User};
use super::relay::parse_global_id;

/// A record with a global id.
// A `Node` lives for one response; boxing the large variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The opaque global id."))]
pub enum Node {
    User(User),
    Department(Department),
    Role(Role),
    ApiKey(ApiKey),
    Customer(Customer),
    Contact(Contact),
    Interaction(Interaction),
    Opportunity(Opportunity),
    Event(Event),
}

/// Resolves one global id to a record the caller may see, or `None`.
pub async fn resolve(ctx: &Context<'_>, id: &ID) -> ApiResult<Option<Node>> {
    let actor = actor(ctx)?;
    let Some((kind, uuid)) = parse_global_id(id) else { return Ok(None) };
    let loaders = ctx.data_opt::<Loaders>().ok_or(ApiError::NotFound)?;
    Ok(match kind.as_str() {
        USER if actor.may(Permission::OrgRead) || uuid == actor.user_id.uuid() => {
            loaders.load_one(UserKey(uuid)).await?.map(|u| Node::User(User(u)))
        }
        DEPARTMENT if actor.may(Permission::OrgRead) => {
            loaders.load_one(DepartmentKey(uuid)).await?.map(|d| Node::Department(Department(d)))
        }
        ROLE if actor.may(Permission::OrgRead) => loaders.load_one(RoleKey(uuid)).await?.map(|r| Node::Role(Role(r))),
        API_KEY if actor.may(Permission::ApiKeyManage) => {
            guanxi_store::api_key::find(state(ctx).db.connection(), actor.tenant_id, uuid)
                .await?
                .map(|k| Node::ApiKey(ApiKey(k)))
        }
        CUSTOMER if actor.may(Permission::CustomerRead) => {
            loaders.load_one(CustomerKey(uuid)).await?.map(|c| Node::Customer(Customer(c)))
        }
        CONTACT if actor.may(Permission::ContactRead) => {
            loaders.load_one(ContactKey(uuid)).await?.map(|c| Node::Contact(Contact(c)))
        }
        INTERACTION if actor.may(Permission::InteractionRead) => {
            loaders.load_one(super::loaders::InteractionKey(uuid)).await?.map(|i| Node::Interaction(Interaction(i)))
        }
        OPPORTUNITY if actor.may(Permission::OpportunityRead) => {
            loaders.load_one(super::loaders::OpportunityKey(uuid)).await?.map(|o| Node::Opportunity(Opportunity(o)))
        }
        EVENT => guanxi_store::calendar::find(
            state(ctx).db.connection(),
            actor.tenant_id,
            actor.scope_rule(guanxi_domain::access::Module::Task),
            uuid,
        )
        .await?
        .map(|e| Node::Event(Event(e))),
        _ => None,
    })
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any record by its global id; null when it does not exist or the caller may not see it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        resolve(ctx, &id).await
    }

    /// Several records by global id, in the order asked (null where not visible). At most 100.
    #[graphql(complexity = "ids.len() * child_complexity")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> ApiResult<Vec<Option<Node>>> {
        if ids.len() > 100 {
            return Err(ApiError::BadUserInput("at most 100 ids at a time".into()));
        }
        let lookups = ids.iter().map(|id| resolve(ctx, id));
        futures::future::try_join_all(lookups).await
    }
}
