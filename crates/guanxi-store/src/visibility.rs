//! The store's half of the entity registry ([`guanxi_domain::entity`]): which records of
//! any kind a caller may see, given the [`Visibility`] the domain decided for them. The
//! change log's readers (`history`, the `changes` feed) and uploads ask here; a new kind
//! adds one line to [`visible_ids`].

use guanxi_domain::activity::field::{CheckIn, CheckInKind, Upload, VisitPeriod, VisitPlan};
use guanxi_domain::entity::{EntityKind, Visibility};
use guanxi_domain::ids::{TenantId, UserId};
use guanxi_domain::platform::access::{CustomerRule, ScopeRule};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Select,
};
use uuid::Uuid;

use crate::decode::Cell;

use crate::customers::contact::Contacts;
use crate::customers::customer::Customers;
use crate::entity::{api_key, attachment, check_in, custom_field, pipeline, pool, product_category, role, visit_plan};
use crate::error::{StoreError, StoreResult};
use crate::repo::{self, Scoped};
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
    use EntityKind as K;
    use Visibility as V;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    match (kind, visibility) {
        (K::Tenant, V::Tenant) => Ok(ids.iter().copied().filter(|id| *id == tenant.uuid()).collect()),
        (K::Role, V::Tenant) => {
            existing::<_, role::Entity>(conn, tenant, role::Column::TenantId, role::Column::Id, ids).await
        }
        (K::ApiKey, V::Tenant) => {
            existing::<_, api_key::Entity>(conn, tenant, api_key::Column::TenantId, api_key::Column::Id, ids).await
        }
        (K::CustomField, V::Tenant) => {
            existing::<_, custom_field::Entity>(
                conn,
                tenant,
                custom_field::Column::TenantId,
                custom_field::Column::Id,
                ids,
            )
            .await
        }
        (K::Pipeline, V::Tenant) => {
            existing::<_, pipeline::Entity>(conn, tenant, pipeline::Column::TenantId, pipeline::Column::Id, ids).await
        }
        (K::Pool, V::Tenant) => {
            existing::<_, pool::Entity>(conn, tenant, pool::Column::TenantId, pool::Column::Id, ids).await
        }
        (K::AssignmentRule, V::Tenant) => {
            use crate::entity::assignment_rule::{Column, Entity};
            existing::<_, Entity>(conn, tenant, Column::TenantId, Column::Id, ids).await
        }
        (K::Department, V::Departments(rule)) => repo::visible_ids::<Departments, _>(conn, tenant, rule, ids).await,
        (K::User, V::Owner(rule)) => repo::visible_ids::<Users, _>(conn, tenant, rule, ids).await,
        (K::User, V::Only(id)) => {
            repo::visible_ids::<Users, _>(conn, tenant, ScopeRule::OwnedBy(UserId::from_uuid(id)), ids).await
        }
        (K::Customer, V::Customers(rule)) => repo::visible_ids::<Customers, _>(conn, tenant, rule, ids).await,
        (K::Event, V::Owner(rule)) => repo::visible_ids::<Events, _>(conn, tenant, rule, ids).await,
        (K::Contact, V::OwnerAndCustomer(rules)) => repo::visible_ids::<Contacts, _>(conn, tenant, rules, ids).await,
        (K::Opportunity, V::OwnerAndCustomer(rules)) => {
            repo::visible_ids::<Opportunities, _>(conn, tenant, rules, ids).await
        }
        (K::Interaction, V::Customer(rule)) => repo::visible_ids::<Interactions, _>(conn, tenant, rule, ids).await,
        (K::CheckIn, V::Customer(rule)) => repo::visible_ids::<CheckIns, _>(conn, tenant, rule, ids).await,
        (K::VisitPlan, V::Customer(rule)) => repo::visible_ids::<VisitPlans, _>(conn, tenant, rule, ids).await,
        (K::ProductCategory, V::Tenant) => {
            let columns = (product_category::Column::TenantId, product_category::Column::Id);
            existing::<_, product_category::Entity>(conn, tenant, columns.0, columns.1, ids).await
        }
        (K::Product, V::Tenant) => repo::visible_ids::<Products, _>(conn, tenant, (), ids).await,
        (K::PricePolicy, V::Catalogue(rule)) => repo::visible_ids::<PricePolicies, _>(conn, tenant, rule, ids).await,
        (K::Quote, V::OwnerAndCustomer(rules)) => repo::visible_ids::<Quotes, _>(conn, tenant, rules, ids).await,
        (K::Order, V::OwnerAndCustomer(rules)) => repo::visible_ids::<Orders, _>(conn, tenant, rules, ids).await,
        (K::Contract, V::OwnerAndCustomer(rules)) => {
            let scope = crate::scope::OrApprover { rules, approver: None };
            repo::visible_ids::<crate::finance::contract::Contracts, _>(conn, tenant, scope, ids).await
        }
        (K::Receipt, V::OwnerAndCustomer(rules)) => {
            let scope = crate::scope::OrApprover { rules, approver: None };
            repo::visible_ids::<crate::finance::receivable::Receipts, _>(conn, tenant, scope, ids).await
        }
        (K::Invoice, V::OwnerAndCustomer(rules)) => {
            let scope = crate::scope::OrApprover { rules, approver: None };
            repo::visible_ids::<crate::finance::invoice::Invoices, _>(conn, tenant, scope, ids).await
        }
        (K::BillingProfile, V::Customer(rule)) => {
            repo::visible_ids::<crate::finance::invoice::BillingProfiles, _>(conn, tenant, rule, ids).await
        }
        (K::Asset, V::Customer(rule)) => {
            repo::visible_ids::<crate::service::asset::Assets, _>(conn, tenant, rule, ids).await
        }
        (K::ServiceContract, V::Customer(rule)) => {
            repo::visible_ids::<crate::service::asset::ServiceContracts, _>(conn, tenant, rule, ids).await
        }
        (K::Article, V::Tenant) => {
            use crate::service::knowledge::{Articles, Readers};
            repo::visible_ids::<Articles, _>(conn, tenant, Readers::Staff, ids).await
        }
        (K::CommissionPlan, V::Tenant) => {
            repo::visible_ids::<crate::finance::commission::Plans, _>(conn, tenant, (), ids).await
        }
        (K::CommissionStatement, V::Owner(rule)) => {
            repo::visible_ids::<crate::finance::commission_statement::Statements, _>(conn, tenant, rule, ids).await
        }
        (K::Lead, V::Owner(rule)) => repo::visible_ids::<crate::leads::lead::Leads, _>(conn, tenant, rule, ids).await,
        (K::Campaign, V::Tenant) => {
            repo::visible_ids::<crate::marketing::campaign::Campaigns, _>(conn, tenant, (), ids).await
        }
        (K::CarePlan, V::Tenant) => {
            repo::visible_ids::<crate::marketing::care::CarePlans, _>(conn, tenant, (), ids).await
        }
        (K::Defect, V::Tenant) => repo::visible_ids::<crate::service::defect::Defects, _>(conn, tenant, (), ids).await,
        (K::WorkOrder, V::Assigned(scope)) => {
            repo::visible_ids::<crate::service::work_order::WorkOrders, _>(conn, tenant, scope, ids).await
        }
        (K::Attachment, V::Upload { uploader, customer }) => {
            repo::visible_ids::<Uploads, _>(conn, tenant, (uploader, customer), ids).await
        }
        (kind, visibility) => Err(StoreError::Database(sea_orm::DbErr::Custom(format!(
            "the registry gives {kind} a visibility the store cannot read: {visibility:?}"
        )))),
    }
}

/// Which of `ids` exist in `tenant`'s table (configuration every reader sees).
async fn existing<C, E>(
    conn: &C,
    tenant: TenantId,
    tenant_column: E::Column,
    id: E::Column,
    ids: &[Uuid],
) -> StoreResult<Vec<Uuid>>
where
    C: ConnectionTrait,
    E: EntityTrait,
{
    Ok(E::find()
        .select_only()
        .column(id)
        .filter(tenant_column.eq(tenant.uuid()))
        .filter(id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?)
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
