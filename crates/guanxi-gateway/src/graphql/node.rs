//! The Relay `Node` interface: any record by its global id, through the caller's scope.

use async_graphql::{Context, ID, Interface, Object};
use guanxi_domain::entity::{EntityKind, Visibility};
use guanxi_domain::platform::access::Module;

use super::activity::calendar::Event;
use super::activity::field::CheckIn;
use super::activity::interaction::Interaction;
use super::context::{actor, state};
use super::customers::contact::Contact;
use super::customers::customer::Customer;
use super::error::{ApiError, ApiResult};
use super::loaders::{
    ContactKey, CustomerKey, DepartmentKey, InteractionKey, Loaders, OpportunityKey, RoleKey, UserKey,
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
        EntityKind::User => loaders.load_one(UserKey(uuid)).await?.map(|u| Node::User(User(u))),
        EntityKind::Department => loaders.load_one(DepartmentKey(uuid)).await?.map(|d| Node::Department(Department(d))),
        EntityKind::Role => loaders.load_one(RoleKey(uuid)).await?.map(|r| Node::Role(Role(r))),
        EntityKind::ApiKey => {
            guanxi_store::platform::api_key::find(conn, actor.tenant_id, uuid).await?.map(|k| Node::ApiKey(ApiKey(k)))
        }
        EntityKind::Customer => loaders.load_one(CustomerKey(uuid)).await?.map(|c| Node::Customer(Customer(c))),
        EntityKind::Contact => loaders.load_one(ContactKey(uuid)).await?.map(|c| Node::Contact(Contact(c))),
        EntityKind::Interaction => {
            loaders.load_one(InteractionKey(uuid)).await?.map(|i| Node::Interaction(Interaction(i)))
        }
        EntityKind::Opportunity => {
            loaders.load_one(OpportunityKey(uuid)).await?.map(|o| Node::Opportunity(Opportunity(o)))
        }
        EntityKind::Event => {
            guanxi_store::activity::calendar::find(conn, actor.tenant_id, actor.scope_rule(Module::Task), uuid)
                .await?
                .map(|e| Node::Event(Event(e)))
        }
        EntityKind::Pipeline => guanxi_store::sales::pipeline::pipeline(conn, actor.tenant_id, Some(uuid))
            .await?
            .map(|p| Node::Pipeline(Pipeline(p))),
        EntityKind::CheckIn => {
            let customers = actor.customer_rule();
            guanxi_store::repo::find::<guanxi_store::visibility::CheckIns, _>(conn, actor.tenant_id, customers, uuid)
                .await?
                .map(|c| Node::CheckIn(CheckIn(c)))
        }
        EntityKind::Product => guanxi_store::trade::product::find(conn, actor.tenant_id, (), uuid)
            .await?
            .map(|p| Node::Product(Product(p))),
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
        EntityKind::Contract => loaders
            .load_one(crate::graphql::finance::contract::ContractKey(uuid))
            .await?
            .map(|c| Node::Contract(crate::graphql::finance::contract::Contract(c))),
        EntityKind::Receipt => loaders
            .load_one(crate::graphql::finance::receivable::ReceiptKey(uuid))
            .await?
            .map(|r| Node::Receipt(crate::graphql::finance::receivable::Receipt(r))),
        EntityKind::Invoice => loaders
            .load_one(crate::graphql::finance::invoice::InvoiceKey(uuid))
            .await?
            .map(|i| Node::Invoice(crate::graphql::finance::invoice::Invoice(i))),
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
        EntityKind::WorkOrder => loaders
            .load_one(crate::graphql::service::work_order::WorkOrderKey(uuid))
            .await?
            .map(|o| Node::WorkOrder(crate::graphql::service::work_order::WorkOrder(o))),
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
        EntityKind::Lead => loaders
            .load_one(crate::graphql::leads::lead::LeadKey(uuid))
            .await?
            .map(|l| Node::Lead(crate::graphql::leads::lead::Lead(l))),
        EntityKind::Campaign => loaders
            .load_one(crate::graphql::marketing::campaign::CampaignKey(uuid))
            .await?
            .map(|c| Node::Campaign(crate::graphql::marketing::campaign::Campaign(c))),
        EntityKind::CarePlan => guanxi_store::marketing::care::find(conn, actor.tenant_id, (), uuid)
            .await?
            .map(|p| Node::CarePlan(crate::graphql::marketing::care::CarePlan(p))),
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
