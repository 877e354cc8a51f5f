//! The store's half of the entity registry ([`guanxi_domain::entity`]): which records of
//! any kind a caller may see, given the [`Visibility`] the domain decided for them. The
//! change log's readers (`history`, the `changes` subscription, the `changesSince` delta
//! feed, the webhook fan-out) and uploads ask here; a new kind adds one line to [`pick`].

use std::collections::{HashMap, HashSet};

use guanxi_domain::activity::field::{CheckIn, CheckInKind, Upload, VisitPeriod, VisitPlan};
use guanxi_domain::entity::{EntityKind, Visibility};
use guanxi_domain::ids::{TenantId, UserId};
use guanxi_domain::platform::access::{Actor, CustomerRule, ScopeRule};
use guanxi_domain::platform::change::ChangeEvent;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Select,
};
use uuid::Uuid;

use crate::decode::Cell;

use crate::customers::contact::Contacts;
use crate::customers::customer::Customers;
use crate::entity::{
    api_key, attachment, check_in, custom_field, pipeline, pool, product_category, role, visit_plan, webhook_endpoint,
};
use crate::error::{StoreError, StoreResult};
use crate::repo::{self, Pick, Scoped};
use crate::sales::opportunity::Opportunities;
use crate::scope::of_visible_customers;
use crate::trade::order::Orders;
use crate::trade::pricing::PricePolicies;
use crate::trade::product::Products;
use crate::trade::quote::Quotes;
use crate::{
    activity::calendar::Events, activity::interaction::Interactions, platform::department::Departments,
    platform::user::Users,
};

/// Which of `ids`, records of `kind` in `tenant`, the visibility admits (live or deleted).
/// One statement, or none for an empty list.
pub async fn visible_ids<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    kind: EntityKind,
    visibility: Visibility,
    ids: &[Uuid],
) -> StoreResult<Vec<Uuid>> {
    Ok(pick(conn, tenant, kind, visibility, Pick::Ids(ids)).await?.into_iter().map(|(id, _)| id).collect())
}

/// Keeps only the change events whose record the actor may see (live or deleted), as the
/// entity registry decides: one statement per kind present.
pub async fn visible_events<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    events: Vec<ChangeEvent>,
) -> StoreResult<Vec<ChangeEvent>> {
    let mut by_kind: HashMap<EntityKind, Vec<Uuid>> = HashMap::new();
    for event in &events {
        by_kind.entry(event.entity).or_default().push(event.entity_id);
    }
    let mut visible: HashSet<(EntityKind, Uuid)> = HashSet::new();
    for (kind, ids) in by_kind {
        let Some(visibility) = kind.visibility(actor) else { continue };
        let seen = visible_ids(conn, actor.tenant_id, kind, visibility, &ids).await?;
        visible.extend(seen.into_iter().map(|id| (kind, id)));
    }
    Ok(events.into_iter().filter(|e| visible.contains(&(e.entity, e.entity_id))).collect())
}

/// The records of `kind` in `tenant` that `pick` names and the visibility admits, each
/// with whether it is live. One statement, or none for an empty list of ids.
pub async fn pick<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    kind: EntityKind,
    visibility: Visibility,
    pick: Pick<'_>,
) -> StoreResult<Vec<(Uuid, bool)>> {
    use EntityKind as K;
    use Visibility as V;
    match (kind, visibility) {
        (K::Tenant, V::Tenant) => Ok(match pick {
            Pick::Ids(ids) => ids.iter().filter(|id| **id == tenant.uuid()).map(|id| (*id, true)).collect(),
            Pick::LiveAfter { after, .. } => {
                after.is_none_or(|after| after < tenant.uuid()).then_some((tenant.uuid(), true)).into_iter().collect()
            }
        }),
        (K::Role, V::Tenant) => {
            existing::<_, role::Entity>(conn, tenant, role::Column::TenantId, role::Column::Id, pick).await
        }
        (K::ApiKey, V::Tenant) => {
            existing::<_, api_key::Entity>(conn, tenant, api_key::Column::TenantId, api_key::Column::Id, pick).await
        }
        (K::WebhookEndpoint, V::Tenant) => {
            existing::<_, webhook_endpoint::Entity>(
                conn,
                tenant,
                webhook_endpoint::Column::TenantId,
                webhook_endpoint::Column::Id,
                pick,
            )
            .await
        }
        (K::CustomField, V::Tenant) => {
            existing::<_, custom_field::Entity>(
                conn,
                tenant,
                custom_field::Column::TenantId,
                custom_field::Column::Id,
                pick,
            )
            .await
        }
        (K::Pipeline, V::Tenant) => {
            existing::<_, pipeline::Entity>(conn, tenant, pipeline::Column::TenantId, pipeline::Column::Id, pick).await
        }
        (K::Pool, V::Tenant) => {
            existing::<_, pool::Entity>(conn, tenant, pool::Column::TenantId, pool::Column::Id, pick).await
        }
        (K::AssignmentRule, V::Tenant) => {
            use crate::entity::assignment_rule::{Column, Entity};
            existing::<_, Entity>(conn, tenant, Column::TenantId, Column::Id, pick).await
        }
        (K::Department, V::Departments(rule)) => repo::pick::<Departments, _>(conn, tenant, rule, pick).await,
        (K::User, V::Owner(rule)) => repo::pick::<Users, _>(conn, tenant, rule, pick).await,
        (K::User, V::Only(id)) => {
            repo::pick::<Users, _>(conn, tenant, ScopeRule::OwnedBy(UserId::from_uuid(id)), pick).await
        }
        (K::Customer, V::Customers(rule)) => repo::pick::<Customers, _>(conn, tenant, rule, pick).await,
        (K::Event, V::Owner(rule)) => repo::pick::<Events, _>(conn, tenant, rule, pick).await,
        (K::Contact, V::OwnerAndCustomer(rules)) => repo::pick::<Contacts, _>(conn, tenant, rules, pick).await,
        (K::Opportunity, V::OwnerAndCustomer(rules)) => repo::pick::<Opportunities, _>(conn, tenant, rules, pick).await,
        (K::Interaction, V::Customer(rule)) => repo::pick::<Interactions, _>(conn, tenant, rule, pick).await,
        (K::CheckIn, V::Customer(rule)) => repo::pick::<CheckIns, _>(conn, tenant, rule, pick).await,
        (K::VisitPlan, V::Customer(rule)) => repo::pick::<VisitPlans, _>(conn, tenant, rule, pick).await,
        (K::ProductCategory, V::Tenant) => {
            let columns = (product_category::Column::TenantId, product_category::Column::Id);
            existing::<_, product_category::Entity>(conn, tenant, columns.0, columns.1, pick).await
        }
        (K::Product, V::Tenant) => repo::pick::<Products, _>(conn, tenant, (), pick).await,
        (K::PricePolicy, V::Catalogue(rule)) => repo::pick::<PricePolicies, _>(conn, tenant, rule, pick).await,
        (K::Quote, V::OwnerAndCustomer(rules)) => repo::pick::<Quotes, _>(conn, tenant, rules, pick).await,
        (K::Order, V::OwnerAndCustomer(rules)) => repo::pick::<Orders, _>(conn, tenant, rules, pick).await,
        (K::Contract, V::OwnerAndCustomer(rules)) => {
            let scope = crate::scope::OrApprover { rules, approver: None };
            repo::pick::<crate::finance::contract::Contracts, _>(conn, tenant, scope, pick).await
        }
        (K::Receipt, V::OwnerAndCustomer(rules)) => {
            let scope = crate::scope::OrApprover { rules, approver: None };
            repo::pick::<crate::finance::receivable::Receipts, _>(conn, tenant, scope, pick).await
        }
        (K::Invoice, V::OwnerAndCustomer(rules)) => {
            let scope = crate::scope::OrApprover { rules, approver: None };
            repo::pick::<crate::finance::invoice::Invoices, _>(conn, tenant, scope, pick).await
        }
        (K::BillingProfile, V::Customer(rule)) => {
            repo::pick::<crate::finance::invoice::BillingProfiles, _>(conn, tenant, rule, pick).await
        }
        (K::Asset, V::Customer(rule)) => repo::pick::<crate::service::asset::Assets, _>(conn, tenant, rule, pick).await,
        (K::ServiceContract, V::Customer(rule)) => {
            repo::pick::<crate::service::asset::ServiceContracts, _>(conn, tenant, rule, pick).await
        }
        (K::Article, V::Tenant) => {
            use crate::service::knowledge::{Articles, Readers};
            repo::pick::<Articles, _>(conn, tenant, Readers::Staff, pick).await
        }
        (K::CommissionPlan, V::Tenant) => {
            repo::pick::<crate::finance::commission::Plans, _>(conn, tenant, (), pick).await
        }
        (K::CommissionStatement, V::Owner(rule)) => {
            repo::pick::<crate::finance::commission_statement::Statements, _>(conn, tenant, rule, pick).await
        }
        (K::Lead, V::Owner(rule)) => repo::pick::<crate::leads::lead::Leads, _>(conn, tenant, rule, pick).await,
        (K::BulkJob, V::Owner(rule)) => repo::pick::<crate::platform::bulk::Jobs, _>(conn, tenant, rule, pick).await,
        (K::Campaign, V::Tenant) => {
            repo::pick::<crate::marketing::campaign::Campaigns, _>(conn, tenant, (), pick).await
        }
        (K::CarePlan, V::Tenant) => repo::pick::<crate::marketing::care::CarePlans, _>(conn, tenant, (), pick).await,
        (K::Defect, V::Tenant) => repo::pick::<crate::service::defect::Defects, _>(conn, tenant, (), pick).await,
        (K::WorkOrder, V::Assigned(scope)) => {
            repo::pick::<crate::service::work_order::WorkOrders, _>(conn, tenant, scope, pick).await
        }
        (K::Attachment, V::Upload { uploader, customer }) => {
            repo::pick::<Uploads, _>(conn, tenant, (uploader, customer), pick).await
        }
        (kind, visibility) => Err(StoreError::Database(sea_orm::DbErr::Custom(format!(
            "the registry gives {kind} a visibility the store cannot read: {visibility:?}"
        )))),
    }
}

/// The table of a kind whose records carry the id an outside system knows them by.
fn external_id_table(kind: EntityKind) -> Option<&'static str> {
    use EntityKind as K;
    Some(match kind {
        K::Interaction => "interactions",
        K::Lead => "leads",
        K::Product => "products",
        K::Order => "sales_orders",
        K::Contract => "contracts",
        K::Receipt => "receipts",
        K::Invoice => "invoices",
        K::WorkOrder => "work_orders",
        _ => return None,
    })
}

/// The external ids (the outside system's key) of those of `ids` that have one, live or
/// deleted, for the delta feed's tombstones. One statement, or none for a kind without
/// external ids.
pub async fn external_ids<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    kind: EntityKind,
    ids: &[Uuid],
) -> StoreResult<HashMap<Uuid, String>> {
    let Some(table) = external_id_table(kind) else { return Ok(HashMap::new()) };
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let statement = Query::select()
        .columns(["id", "external_id"])
        .from(table)
        .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
        .and_where(Expr::col("id").is_in(ids.iter().copied()))
        .and_where(Expr::col("external_id").is_not_null())
        .to_owned();
    let mut found = HashMap::with_capacity(ids.len());
    for row in conn.query_all(&statement).await? {
        found.insert(row.try_get::<Uuid>("", "id")?, row.try_get::<String>("", "external_id")?);
    }
    Ok(found)
}

/// The rows of `tenant`'s table that `pick` names (configuration every reader sees; such a
/// row is live while it exists).
async fn existing<C, E>(
    conn: &C,
    tenant: TenantId,
    tenant_column: E::Column,
    id: E::Column,
    pick: Pick<'_>,
) -> StoreResult<Vec<(Uuid, bool)>>
where
    C: ConnectionTrait,
    E: EntityTrait,
{
    let select = E::find().select_only().column(id).filter(tenant_column.eq(tenant.uuid()));
    let select = match pick {
        Pick::Ids([]) => return Ok(Vec::new()),
        Pick::Ids(ids) => select.filter(id.is_in(ids.iter().copied())),
        Pick::LiveAfter { after, limit } => {
            let select = select.order_by_asc(id).limit(limit);
            match after {
                Some(after) => select.filter(id.gt(after)),
                None => select,
            }
        }
    };
    let ids: Vec<Uuid> = select.into_tuple().all(conn).await?;
    Ok(ids.into_iter().map(|id| (id, true)).collect())
}

/// Check-ins, seen through their customer's `CUSTOMER` scope.
pub struct CheckIns;

impl Scoped for CheckIns {
    type Entity = check_in::Entity;
    type Scope = CustomerRule;
    type Record = CheckIn;
    const ID: check_in::Column = check_in::Column::Id;
    const DELETED_AT: Option<check_in::Column> = None;

    fn visible(backend: DbBackend, tenant: TenantId, customers: CustomerRule) -> Select<check_in::Entity> {
        of_visible_customers(backend, tenant, customers, check_in::Column::TenantId, check_in::Column::CustomerId)
    }

    fn to_domain(m: check_in::Model) -> StoreResult<CheckIn> {
        let cell = |column| Cell::of("check_ins", m.id, column);
        Ok(CheckIn {
            id: m.id,
            customer_id: m.customer_id,
            user_id: m.user_id,
            event_id: m.event_id,
            interaction_id: m.interaction_id,
            check_in_id: m.check_in_id,
            kind: cell("kind").text(&m.kind, CheckInKind::parse)?,
            device_time: m.device_time,
            server_time: m.server_time,
            latitude: m.latitude,
            longitude: m.longitude,
            accuracy_meters: m.accuracy_meters,
            distance_meters: m.distance_meters,
            far: m.far,
            photo_ids: cell("photo_ids").json(m.photo_ids)?,
            note: m.note,
            work_order_id: m.work_order_id,
        })
    }
}

/// Visit plans, seen through their customer's `CUSTOMER` scope.
pub struct VisitPlans;

impl Scoped for VisitPlans {
    type Entity = visit_plan::Entity;
    type Scope = CustomerRule;
    type Record = VisitPlan;
    const ID: visit_plan::Column = visit_plan::Column::Id;
    const DELETED_AT: Option<visit_plan::Column> = Some(visit_plan::Column::DeletedAt);

    fn visible(backend: DbBackend, tenant: TenantId, customers: CustomerRule) -> Select<visit_plan::Entity> {
        of_visible_customers(backend, tenant, customers, visit_plan::Column::TenantId, visit_plan::Column::CustomerId)
    }

    fn to_domain(m: visit_plan::Model) -> StoreResult<VisitPlan> {
        Ok(VisitPlan {
            period: Cell::of("visit_plans", m.id, "period").text(&m.period, VisitPeriod::parse)?,
            id: m.id,
            customer_id: m.customer_id,
            owner_id: m.owner_id,
            visits: m.visits,
        })
    }
}

/// Uploads: the uploader's own, and those attached to a check-in the caller sees.
pub struct Uploads;

impl Scoped for Uploads {
    type Entity = attachment::Entity;
    /// The uploader, and the caller's `CUSTOMER` scope.
    type Scope = (Uuid, CustomerRule);
    type Record = Upload;
    const ID: attachment::Column = attachment::Column::Id;
    const DELETED_AT: Option<attachment::Column> = None;

    fn visible(
        backend: DbBackend,
        tenant: TenantId,
        (uploader, customers): (Uuid, CustomerRule),
    ) -> Select<attachment::Entity> {
        let seen_check_ins =
            CheckIns::visible(backend, tenant, customers).select_only().column(check_in::Column::Id).into_query();
        attachment::Entity::find().filter(attachment::Column::TenantId.eq(tenant.uuid())).filter(
            Condition::any().add(attachment::Column::UploadedBy.eq(uploader)).add(
                Condition::all()
                    .add(Expr::col(attachment::Column::AttachedType).eq(EntityKind::CheckIn.name()))
                    .add(attachment::Column::AttachedId.in_subquery(seen_check_ins)),
            ),
        )
    }

    fn to_domain(m: attachment::Model) -> StoreResult<Upload> {
        Ok(Upload {
            id: m.id,
            uploaded_by: m.uploaded_by,
            file_name: m.file_name,
            content_type: m.content_type,
            size: m.size,
            storage_key: m.storage_key,
        })
    }
}
