//! A technician on site (上门服务): check-in and check-out at a work order, with location
//! and photos. They are field check-ins like a salesperson's (`activity::field`): the
//! visit is an interaction on the customer, and it counts in the technician's work log.
//! Only the order's technician checks in, while it is dispatched, on the way or in
//! progress, and once at a time.

use chrono::{DateTime, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::activity::field::{CheckIn, CheckInKind};
use guanxi_domain::entity::Assigned;
use guanxi_domain::platform::access::CustomerRule;
use guanxi_domain::service::work_order::{WorkOrder, WorkOrderStatus};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::activity::field::{CheckOut, NewCheckIn};
use crate::entity::check_in;
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::Author;
use crate::repo::{self, Scoped};
use crate::service::work_order::WorkOrders;
use crate::visibility::CheckIns;

/// An order the caller sees and is the technician of, in a state work happens in.
async fn own_order<C: ConnectionTrait>(conn: &C, author: &Author, scope: Assigned, id: Uuid) -> StoreResult<WorkOrder> {
    let order = repo::find::<WorkOrders, C>(conn, author.tenant_id, scope, id).await?.ok_or(StoreError::NotFound)?;
    if author.user_id.is_none() || order.technician_id.map(|t| t.uuid()) != author.user_id {
        return Err(StoreError::rejected("workOrderId", ErrorCode::Forbidden, "only the order's technician checks in"));
    }
    if !matches!(order.status, WorkOrderStatus::Dispatched | WorkOrderStatus::EnRoute | WorkOrderStatus::InProgress) {
        return Err(StoreError::rejected(
            "workOrderId",
            ErrorCode::IllegalState,
            format!(
                "a technician checks in while the order is dispatched or in progress, not {}",
                order.status.as_str()
            ),
        ));
    }
    Ok(order)
}

/// The caller's check-in at the order not yet checked out, if any.
async fn open_check_in<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    order: Uuid,
    user: Uuid,
) -> StoreResult<Option<CheckIn>> {
    let tenant = author.tenant_id.uuid();
    let ended = Query::select()
        .expr(Expr::col((Alias::new("o"), check_in::Column::CheckInId)))
        .from_as(check_in::Entity, Alias::new("o"))
        .and_where(Expr::col((Alias::new("o"), check_in::Column::TenantId)).eq(tenant))
        .and_where(Expr::col((Alias::new("o"), check_in::Column::WorkOrderId)).eq(order))
        .and_where(Expr::col((Alias::new("o"), check_in::Column::CheckInId)).is_not_null())
        .to_owned();
    let found = check_in::Entity::find()
        .filter(check_in::Column::TenantId.eq(tenant))
        .filter(check_in::Column::WorkOrderId.eq(order))
        .filter(check_in::Column::UserId.eq(user))
        .filter(check_in::Column::Kind.eq(CheckInKind::CheckIn.as_str()))
        .filter(check_in::Column::Id.not_in_subquery(ended))
        .order_by_desc(check_in::Column::ServerTime)
        .one(conn)
        .await?;
    found.map(CheckIns::to_domain).transpose()
}

/// Where and when the technician arrived, with photos and a note.
pub struct Arrival {
    pub device_time: DateTime<Utc>,
    pub position: (f64, f64, Option<f64>),
    pub photo_ids: Vec<Uuid>,
    pub note: Option<String>,
}

/// Checks the order's technician in at its customer.
pub async fn check_in<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: Assigned,
    order: Uuid,
    arrival: Arrival,
) -> StoreResult<CheckIn> {
    let found = own_order(conn, author, scope, order).await?;
    let user = found.technician_id.ok_or(StoreError::NotFound)?;
    if open_check_in(conn, author, order, user.uuid()).await?.is_some() {
        return Err(StoreError::rejected(
            "workOrderId",
            ErrorCode::IllegalState,
            "already checked in; check out first",
        ));
    }
    let note = arrival.note.or_else(|| Some(format!("上门服务 {}：{}", found.number, found.request.subject)));
    let new = NewCheckIn {
        customer: found.request.customer_id,
        user,
        event: None,
        device_time: arrival.device_time,
        latitude: arrival.position.0,
        longitude: arrival.position.1,
        accuracy_meters: arrival.position.2,
        photo_ids: arrival.photo_ids,
        note,
        work_order: Some(order),
        id: None,
    };
    // The order admitted the technician; the customer need not be in their own scope.
    crate::activity::field::check_in(conn, author, CustomerRule::ALL, new).await
}

/// Checks the order's technician out of their open check-in at it.
pub async fn check_out<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: Assigned,
    order: Uuid,
    out: CheckOut,
) -> StoreResult<CheckIn> {
    let found = repo::find::<WorkOrders, C>(conn, author.tenant_id, scope, order).await?.ok_or(StoreError::NotFound)?;
    let me = author.user_id.ok_or(StoreError::NotFound)?;
    if found.technician_id.map(|t| t.uuid()) != Some(me) {
        return Err(StoreError::rejected(
            "workOrderId",
            ErrorCode::Forbidden,
            "only the order's technician checks out",
        ));
    }
    let Some(start) = open_check_in(conn, author, order, me).await? else {
        return Err(StoreError::rejected("workOrderId", ErrorCode::IllegalState, "not checked in at this order"));
    };
    crate::activity::field::finish_visit(conn, author, start, out).await
}

/// The check-ins and check-outs at some orders, oldest first (for a data loader; the
/// caller read the orders).
pub async fn check_ins_at<C: ConnectionTrait>(
    conn: &C,
    tenant: guanxi_domain::ids::TenantId,
    orders: &[Uuid],
) -> StoreResult<Vec<CheckIn>> {
    if orders.is_empty() {
        return Ok(vec![]);
    }
    let rows = check_in::Entity::find()
        .filter(check_in::Column::TenantId.eq(tenant.uuid()))
        .filter(check_in::Column::WorkOrderId.is_in(orders.iter().copied()))
        .order_by_asc(check_in::Column::ServerTime)
        .all(conn)
        .await?;
    rows.into_iter().map(CheckIns::to_domain).collect()
}

/// A check-in by id (the replay of a retried check-in, which is the caller's own).
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    tenant: guanxi_domain::ids::TenantId,
    id: Uuid,
) -> StoreResult<CheckIn> {
    repo::find::<CheckIns, C>(conn, tenant, CustomerRule::ALL, id).await?.ok_or(StoreError::NotFound)
}
