//! The Relay `Node` interface: any record by its global id, through the caller's scope.

use std::collections::HashMap;
use std::hash::Hash;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Interface, Object};
use guanxi_domain::entity::{EntityKind, Visibility};
use guanxi_domain::platform::access::Module;
use uuid::Uuid;

use super::activity::calendar::Event;
use super::activity::field::CheckIn;
use super::activity::interaction::Interaction;
use super::context::{actor, state};
use super::customers::contact::Contact;
use super::customers::customer::Customer;
use super::error::{ApiError, ApiResult};
use super::loaders::{
    ContactKey, CustomerKey, DepartmentKey, InteractionKey, Loaders, OpportunityKey, RoleKey, ScopedLoader, UserKey,
};
use super::platform::api_keys::ApiKey;
use super::platform::org::{Department, Role, User};
use super::relay::parse_global_id;
use super::sales::opportunity::{Opportunity, Pipeline};
use super::trade::order::{SalesOrder, order_scope};
use super::trade::product::{PricePolicy, Product};
use super::trade::quote::{Quote, quote_scope};

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
    Pipeline(Pipeline),
    Event(Event),
    CheckIn(CheckIn),
    Product(Product),
    PricePolicy(PricePolicy),
    Quote(Quote),
    SalesOrder(SalesOrder),
    Contract(crate::graphql::finance::contract::Contract),
    Receipt(crate::graphql::finance::receivable::Receipt),
    Invoice(crate::graphql::finance::invoice::Invoice),
    BillingProfile(crate::graphql::finance::invoice::BillingProfile),
    Asset(crate::graphql::service::asset::Asset),
    ServiceContract(crate::graphql::service::asset::ServiceContract),
    WorkOrder(crate::graphql::service::work_order::WorkOrder),
    ProductDefect(crate::graphql::service::defect::ProductDefect),
    Article(crate::graphql::service::knowledge::Article),
    CommissionPlan(crate::graphql::finance::commission::CommissionPlan),
    CommissionStatement(crate::graphql::finance::commission_statement::CommissionStatement),
    Lead(crate::graphql::leads::lead::Lead),
    Campaign(crate::graphql::marketing::campaign::Campaign),
    CarePlan(crate::graphql::marketing::care::CarePlan),
    WebhookEndpoint(crate::graphql::integration::webhook::WebhookEndpoint),
    BulkJob(crate::graphql::integration::bulk::BulkJob),
}

/// Resolves one global id to a record the caller may see, or `None`. Whether the caller
/// may read the kind at all comes from the entity registry; the loaders then read through
/// the same scopes as every other path.
pub async fn resolve(ctx: &Context<'_>, id: &ID) -> ApiResult<Option<Node>> {
    let actor = actor(ctx)?;
    let Some((name, uuid)) = parse_global_id(id) else { return Ok(None) };
    let Some(kind) = EntityKind::parse(&name) else { return Ok(None) };
    match kind.visibility(actor) {
        None => return Ok(None),
        Some(Visibility::Only(only)) if only != uuid => return Ok(None),
        Some(_) => {}
    }
    let loaders = ctx.data_opt::<Loaders>().ok_or(ApiError::NotFound)?;
    let conn = state(ctx).db.connection();
    Ok(match kind {
        EntityKind::Customer
        | EntityKind::Contact
        | EntityKind::Interaction
        | EntityKind::Opportunity
        | EntityKind::Contract
        | EntityKind::Receipt
        | EntityKind::Invoice
        | EntityKind::WorkOrder
        | EntityKind::Lead => load_many(ctx, kind, &[uuid]).await?.remove(&uuid),
        EntityKind::User => loaders.load_one(UserKey(uuid)).await?.map(|u| Node::User(User(u))),
        EntityKind::Department => loaders.load_one(DepartmentKey(uuid)).await?.map(|d| Node::Department(Department(d))),
        EntityKind::Role => loaders.load_one(RoleKey(uuid)).await?.map(|r| Node::Role(Role(r))),
        EntityKind::ApiKey => {
            guanxi_store::platform::api_key::find(conn, actor.tenant_id, uuid).await?.map(|k| Node::ApiKey(ApiKey(k)))
        }
        EntityKind::Event => {
            guanxi_store::activity::calendar::find(conn, actor.tenant_id, actor.scope_rule(Module::Task), uuid)
                .await?
                .map(|e| Node::Event(Event(e)))
        }
        // A deleted product stays readable by id (orders and quotes name it).
        EntityKind::Product => guanxi_store::trade::product::find(conn, actor.tenant_id, (), uuid)
            .await?
            .map(|p| Node::Product(Product(p))),
        EntityKind::Pipeline => guanxi_store::sales::pipeline::pipeline(conn, actor.tenant_id, Some(uuid))
            .await?
            .map(|p| Node::Pipeline(Pipeline(p))),
        EntityKind::CheckIn => {
            let customers = actor.customer_rule();
            guanxi_store::repo::find::<guanxi_store::visibility::CheckIns, _>(conn, actor.tenant_id, customers, uuid)
                .await?
                .map(|c| Node::CheckIn(CheckIn(c)))
        }
        EntityKind::PricePolicy => {
            let customers = actor.customer_rule();
            guanxi_store::trade::pricing::find(conn, actor.tenant_id, customers, uuid)
                .await?
                .map(|p| Node::PricePolicy(PricePolicy(p)))
        }
        EntityKind::Quote => guanxi_store::trade::quote::find(conn, actor.tenant_id, quote_scope(actor), uuid)
            .await?
            .map(|q| Node::Quote(Quote(q))),
        EntityKind::Order => guanxi_store::trade::order::find(conn, actor.tenant_id, order_scope(actor), uuid)
            .await?
            .map(|o| Node::SalesOrder(SalesOrder(o))),
        EntityKind::BillingProfile => {
            let customers = actor.customer_rule();
            guanxi_store::repo::find::<guanxi_store::finance::invoice::BillingProfiles, _>(
                conn,
                actor.tenant_id,
                customers,
                uuid,
            )
            .await?
            .map(|p| Node::BillingProfile(crate::graphql::finance::invoice::BillingProfile(p)))
        }
        EntityKind::Asset => loaders
            .load_one(crate::graphql::service::asset::AssetKey(uuid))
            .await?
            .map(|a| Node::Asset(crate::graphql::service::asset::Asset(a))),
        EntityKind::ServiceContract => {
            let customers = crate::graphql::service::asset::customer_scope(actor);
            guanxi_store::repo::find::<guanxi_store::service::asset::ServiceContracts, _>(
                conn,
                actor.tenant_id,
                customers,
                uuid,
            )
            .await?
            .map(|c| Node::ServiceContract(crate::graphql::service::asset::ServiceContract(c)))
        }
        EntityKind::Defect => loaders
            .load_one(crate::graphql::service::defect::DefectKey(uuid))
            .await?
            .map(|d| Node::ProductDefect(crate::graphql::service::defect::ProductDefect(d))),
        EntityKind::Article => {
            let staff = guanxi_store::service::knowledge::Readers::Staff;
            guanxi_store::service::knowledge::find(conn, actor.tenant_id, staff, uuid)
                .await?
                .map(|a| Node::Article(crate::graphql::service::knowledge::Article(a)))
        }
        EntityKind::CommissionPlan => guanxi_store::finance::commission::find(conn, actor.tenant_id, (), uuid)
            .await?
            .map(|p| Node::CommissionPlan(crate::graphql::finance::commission::CommissionPlan(p))),
        EntityKind::CommissionStatement => {
            let scope = crate::graphql::finance::commission_statement::statement_scope(actor);
            guanxi_store::finance::commission_statement::find(conn, actor.tenant_id, scope, uuid).await?.map(|s| {
                Node::CommissionStatement(crate::graphql::finance::commission_statement::CommissionStatement(s))
            })
        }
        EntityKind::Campaign => loaders
            .load_one(crate::graphql::marketing::campaign::CampaignKey(uuid))
            .await?
            .map(|c| Node::Campaign(crate::graphql::marketing::campaign::Campaign(c))),
        EntityKind::CarePlan => guanxi_store::marketing::care::find(conn, actor.tenant_id, (), uuid)
            .await?
            .map(|p| Node::CarePlan(crate::graphql::marketing::care::CarePlan(p))),
        EntityKind::WebhookEndpoint => guanxi_store::platform::webhook::find(conn, actor.tenant_id, uuid)
            .await?
            .map(|e| Node::WebhookEndpoint(crate::graphql::integration::webhook::WebhookEndpoint(e))),
        EntityKind::BulkJob => guanxi_store::platform::bulk::find(conn, actor.tenant_id, actor.user_id.uuid(), uuid)
            .await?
            .map(|j| Node::BulkJob(crate::graphql::integration::bulk::BulkJob(j))),
        // Kinds with a history but no `Node` type (yet): reached through their own queries.
        // A pool is seen by its members without `settings.manage`, which the registry asks
        // for its history; a visit plan's type carries its progress.
        EntityKind::Tenant
        | EntityKind::ApprovalFlow
        | EntityKind::CustomField
        | EntityKind::Pool
        | EntityKind::AssignmentRule
        | EntityKind::Attachment
        | EntityKind::VisitPlan
        | EntityKind::ProductCategory => None,
    })
}

/// The live records among `ids` of `kind` that the caller may see, by id: one statement
/// per kind (through the data loaders, which also gather the ids many callers ask for in
/// one request; events, quotes and orders through their store's `by_ids`). For the kinds
/// of the delta feed; `resolve` shares it.
pub async fn load_many(ctx: &Context<'_>, kind: EntityKind, ids: &[Uuid]) -> ApiResult<HashMap<Uuid, Node>> {
    use crate::graphql::{finance, leads, service};
    let actor = actor(ctx)?;
    let loaders = ctx.data_opt::<Loaders>().ok_or(ApiError::NotFound)?;
    let conn = state(ctx).db.connection();
    let tenant = actor.tenant_id;
    let by_id = |nodes: Vec<(Uuid, Node)>| -> HashMap<Uuid, Node> { nodes.into_iter().collect() };
    Ok(match kind {
        EntityKind::Customer => through(loaders, ids, CustomerKey, |c| Node::Customer(Customer(c))).await?,
        EntityKind::Contact => through(loaders, ids, ContactKey, |c| Node::Contact(Contact(c))).await?,
        EntityKind::Interaction => through(loaders, ids, InteractionKey, |i| Node::Interaction(Interaction(i))).await?,
        EntityKind::Opportunity => through(loaders, ids, OpportunityKey, |o| Node::Opportunity(Opportunity(o))).await?,
        EntityKind::Lead => through(loaders, ids, leads::lead::LeadKey, |l| Node::Lead(leads::lead::Lead(l))).await?,
        EntityKind::Product => through(loaders, ids, service::asset::ProductKey, |p| Node::Product(Product(p))).await?,
        EntityKind::Contract => {
            let node = |c| Node::Contract(finance::contract::Contract(c));
            through(loaders, ids, finance::contract::ContractKey, node).await?
        }
        EntityKind::Receipt => {
            let node = |r| Node::Receipt(finance::receivable::Receipt(r));
            through(loaders, ids, finance::receivable::ReceiptKey, node).await?
        }
        EntityKind::Invoice => {
            let node = |i| Node::Invoice(finance::invoice::Invoice(i));
            through(loaders, ids, finance::invoice::InvoiceKey, node).await?
        }
        EntityKind::WorkOrder => {
            let node = |o| Node::WorkOrder(service::work_order::WorkOrder(o));
            through(loaders, ids, service::work_order::WorkOrderKey, node).await?
        }
        EntityKind::Event => {
            let rule = actor.scope_rule(Module::Task);
            let events = guanxi_store::activity::calendar::by_ids(conn, tenant, rule, ids).await?;
            by_id(events.into_iter().map(|e| (e.id.uuid(), Node::Event(Event(e)))).collect())
        }
        EntityKind::Quote => {
            let quotes = guanxi_store::trade::quote::by_ids(conn, tenant, quote_scope(actor), ids).await?;
            by_id(quotes.into_iter().map(|q| (q.id.uuid(), Node::Quote(Quote(q)))).collect())
        }
        EntityKind::Order => {
            let orders = guanxi_store::trade::order::by_ids(conn, tenant, order_scope(actor), ids).await?;
            by_id(orders.into_iter().map(|o| (o.id.uuid(), Node::SalesOrder(SalesOrder(o)))).collect())
        }
        other => return Err(ApiError::internal(format!("{other} has no batch read"))),
    })
}

/// The records among `ids` a data loader finds, as nodes by id.
async fn through<K, V>(
    loaders: &Loaders,
    ids: &[Uuid],
    key: fn(Uuid) -> K,
    node: impl Fn(V) -> Node,
) -> ApiResult<HashMap<Uuid, Node>>
where
    ScopedLoader: Loader<K, Value = V, Error = ApiError>,
    K: Send + Sync + Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
{
    let mut found = loaders.load_many(ids.iter().map(|id| key(*id))).await?;
    Ok(ids.iter().filter_map(|id| found.remove(&key(*id)).map(|value| (*id, node(value)))).collect())
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
