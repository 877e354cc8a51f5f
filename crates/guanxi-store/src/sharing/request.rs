//! Collaboration requests (协作申请) as rows. Asking needs only that the customer is live,
//! owned by someone else, and not yet visible to the requester; one request waits per
//! customer and requester (a partial unique index). The owner side decides: accepting
//! shares the customer (`collaborator::share`) in the same transaction. Each step records
//! a change event on the customer, so its owner sees who asked and why in its history.

use chrono::{DateTime, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{CustomerId, TenantId, UserId};
use guanxi_domain::platform::access::{CustomerRule, ShareAccess};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::sharing::collaborator::Member;
use guanxi_domain::sharing::request::{CollaborationRequest, Decision, RequestStatus, check_decision};
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{collaboration_request, customer};
use crate::error::{StoreError, StoreResult, on_unique};
use crate::platform::audit::{self, Author};
use crate::sharing::collaborator::Target;

/// Requests listed at most.
pub const LIMIT: u64 = 200;

fn to_domain(m: collaboration_request::Model) -> StoreResult<CollaborationRequest> {
    let cell = |column| Cell::of("collaboration_requests", m.id, column);
    Ok(CollaborationRequest {
        id: m.id,
        customer_id: CustomerId::from_uuid(m.customer_id),
        requester_id: UserId::from_uuid(m.requester_id),
        access: cell("access").text(&m.access, |a| a.parse().ok())?,
        reason: m.reason,
        status: cell("status").text(&m.status, RequestStatus::parse)?,
        decided_by: m.decided_by.map(UserId::from_uuid),
        decided_at: m.decided_at,
        note: m.note,
        version: m.version,
        created_at: m.created_at,
    })
}

async fn record<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    request: &CollaborationRequest,
    before: Option<RequestStatus>,
) -> StoreResult<()> {
    let changes = ChangeSet::new().field(
        "collaborationRequest",
        before.map(|s| serde_json::json!({"id": request.id, "status": s.as_str()})),
        serde_json::json!({"id": request.id, "requesterId": request.requester_id, "status": request.status.as_str(),
            "access": request.access.as_str(), "reason": request.reason, "note": request.note}),
    );
    audit::record(conn, author, EntityKind::Customer, request.customer_id.uuid(), Operation::Update, &changes).await?;
    Ok(())
}

/// `requester` (who sees customers through `seen`) asks to work `customer` with its owner.
pub async fn ask<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (requester, seen): (UserId, CustomerRule),
    customer: Uuid,
    access: ShareAccess,
    reason: &str,
) -> StoreResult<CollaborationRequest> {
    let tenant = author.tenant_id;
    let reason = guanxi_domain::platform::org::required_text("reason", reason, 200).map_err(|e| Invalid(vec![e]))?;
    let target = customer::Entity::find_by_id((tenant.uuid(), customer))
        .filter(customer::Column::DeletedAt.is_null())
        .one(conn)
        .await?
        .ok_or_else(|| StoreError::rejected("customerId", ErrorCode::NotFound, "no such customer"))?;
    let Some(owner) = target.owner_id else {
        return Err(StoreError::rejected(
            "customerId",
            ErrorCode::IllegalState,
            "nobody owns it: claim it from its pool, or ask whoever runs customers without an owner",
        ));
    };
    if owner == requester.uuid() {
        return Err(StoreError::rejected("customerId", ErrorCode::IllegalState, "it is your own customer"));
    }
    if crate::customers::customer::find(conn, tenant, seen, customer).await?.is_some() {
        return Err(StoreError::rejected("customerId", ErrorCode::IllegalState, "you see this customer already"));
    }
    let now = Utc::now();
    let row = collaboration_request::Model {
        tenant_id: tenant.uuid(),
        id: Uuid::now_v7(),
        customer_id: customer,
        requester_id: requester.uuid(),
        access: access.as_str().to_owned(),
        reason,
        status: RequestStatus::Pending.as_str().to_owned(),
        decided_by: None,
        decided_at: None,
        note: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    collaboration_request::Entity::insert(collaboration_request::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await
        .map_err(|e| on_unique(e, "customerId", "you asked already; the request is waiting"))?;
    let request = to_domain(row)?;
    record(conn, author, &request, None).await?;
    Ok(request)
}

/// Decides a pending request at the version read. Accepting and declining are the owner
/// side's (`owner_side` must hold the customer, shares aside); withdrawing the requester's.
/// Accepting shares the customer with the requester at `granted` (at most what was asked),
/// until `expires_at` if given.
pub async fn decide<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    owner_side: CustomerRule,
    (id, expected_version): (Uuid, i32),
    decision: Decision,
    (granted, expires_at, note): (Option<ShareAccess>, Option<DateTime<Utc>>, Option<String>),
) -> StoreResult<CollaborationRequest> {
    let tenant = author.tenant_id;
    let row =
        collaboration_request::Entity::find_by_id((tenant.uuid(), id)).one(conn).await?.ok_or(StoreError::NotFound)?;
    let request = to_domain(row)?;
    let by_requester = author.user_id == Some(request.requester_id.uuid());
    let customer = crate::customers::customer::find(conn, tenant, owner_side, request.customer_id.uuid()).await?;
    let allowed = match decision {
        Decision::Withdraw => by_requester,
        Decision::Accept | Decision::Decline => customer.as_ref().is_some_and(|c| c.deleted_at.is_none()),
    };
    if !allowed {
        return Err(StoreError::NotFound);
    }
    if request.version != expected_version {
        return Err(StoreError::version_conflict(expected_version, request.version));
    }
    let granted = check_decision(&request, decision, granted)?;
    let note = guanxi_domain::customers::customer::optional_text("note", note.as_deref(), 200)
        .map_err(|e| Invalid(vec![e]))?;
    let now = Utc::now();
    let written = collaboration_request::Entity::update_many()
        .col_expr(collaboration_request::Column::Status, Expr::value(decision.status().as_str()))
        .col_expr(collaboration_request::Column::Access, Expr::value(granted.as_str()))
        .col_expr(collaboration_request::Column::DecidedBy, Expr::value(author.user_id))
        .col_expr(collaboration_request::Column::DecidedAt, Expr::value(now))
        .col_expr(collaboration_request::Column::Note, Expr::value(note.clone()))
        .col_expr(collaboration_request::Column::Version, Expr::value(expected_version + 1))
        .col_expr(collaboration_request::Column::UpdatedAt, Expr::value(now))
        .filter(collaboration_request::Column::TenantId.eq(tenant.uuid()))
        .filter(collaboration_request::Column::Id.eq(id))
        .filter(collaboration_request::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    if written.rows_affected == 0 {
        return Err(StoreError::version_conflict(expected_version, expected_version + 1));
    }
    if let (Decision::Accept, Some(customer)) = (decision, &customer) {
        let target = Target {
            kind: EntityKind::Customer,
            record_id: customer.id.uuid(),
            customer_id: customer.id.uuid(),
            owner: customer.owner_id,
        };
        let member = Member { user_id: request.requester_id, access: granted, expires_at };
        crate::sharing::collaborator::share(conn, author, target, &[member], Some("协作申请")).await?;
    }
    let after = CollaborationRequest {
        status: decision.status(),
        access: granted,
        decided_by: author.user_id.map(UserId::from_uuid),
        decided_at: Some(now),
        note,
        version: expected_version + 1,
        ..request
    };
    record(conn, author, &after, Some(RequestStatus::Pending)).await?;
    Ok(after)
}

/// The requests `user` made, newest first (at most [`LIMIT`]).
pub async fn sent<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    user: UserId,
    status: Option<RequestStatus>,
) -> StoreResult<Vec<CollaborationRequest>> {
    let mut select = collaboration_request::Entity::find()
        .filter(collaboration_request::Column::TenantId.eq(tenant.uuid()))
        .filter(collaboration_request::Column::RequesterId.eq(user.uuid()));
    if let Some(status) = status {
        select = select.filter(collaboration_request::Column::Status.eq(status.as_str()));
    }
    list(conn, select).await
}

/// The requests on customers the owner side `owner_side` holds, newest first (at most
/// [`LIMIT`]): one statement, the customers through the scope's condition.
pub async fn received<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    owner_side: CustomerRule,
    status: Option<RequestStatus>,
) -> StoreResult<Vec<CollaborationRequest>> {
    let backend = conn.get_database_backend();
    let held = <crate::customers::customer::Customers as crate::repo::Scoped>::live(backend, tenant, owner_side)
        .select_only()
        .column(customer::Column::Id)
        .into_query();
    let mut select = collaboration_request::Entity::find()
        .filter(collaboration_request::Column::TenantId.eq(tenant.uuid()))
        .filter(collaboration_request::Column::CustomerId.in_subquery(held));
    if let Some(status) = status {
        select = select.filter(collaboration_request::Column::Status.eq(status.as_str()));
    }
    list(conn, select).await
}

async fn list<C: ConnectionTrait>(
    conn: &C,
    select: sea_orm::Select<collaboration_request::Entity>,
) -> StoreResult<Vec<CollaborationRequest>> {
    select
        .order_by_desc(collaboration_request::Column::CreatedAt)
        .order_by_desc(collaboration_request::Column::Id)
        .limit(LIMIT)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}
