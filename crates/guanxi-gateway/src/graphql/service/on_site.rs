//! A technician on site (上门服务): check-in and check-out at a work order, with location
//! and photos, like a salesperson's field check-in; the order lists them.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use guanxi_domain::activity::field::CheckIn as DomainCheckIn;
use guanxi_domain::platform::access::Permission;
use guanxi_store::service::field_work::{self, Arrival};
use serde::Serialize;
use uuid::Uuid;

use super::work_order::{WORK_ORDER, work_order_scope};
use crate::graphql::activity::field::{CheckIn, CheckInPayload, PositionInput, check_out_of, visit_details};
use crate::graphql::context::{author, require};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::loaders::ScopedLoader;
use crate::graphql::mutation::{Idempotent, write};
use crate::graphql::relay::input_id;
use crate::graphql::trade::document::loaders;

/// The check-ins and check-outs at a work order (the caller read the order).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CheckInsKey(pub Uuid);

impl Loader<CheckInsKey> for ScopedLoader {
    type Value = Vec<DomainCheckIn>;
    type Error = ApiError;

    async fn load(&self, keys: &[CheckInsKey]) -> Result<HashMap<CheckInsKey, Self::Value>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found = field_work::check_ins_at(self.db.connection(), self.actor.tenant_id, &ids).await?;
        let mut by_order: HashMap<CheckInsKey, Vec<DomainCheckIn>> = HashMap::new();
        for check_in in found {
            if let Some(order) = check_in.work_order_id {
                by_order.entry(CheckInsKey(order)).or_default().push(check_in);
            }
        }
        Ok(by_order)
    }
}

/// The check-ins and check-outs at an order the caller read, oldest first.
pub async fn check_ins_of(ctx: &Context<'_>, order: Uuid) -> ApiResult<Vec<CheckIn>> {
    let found = loaders(ctx)?.load_one(CheckInsKey(order)).await?.unwrap_or_default();
    Ok(found.into_iter().map(CheckIn).collect())
}

#[derive(InputObject, Serialize)]
pub struct WorkOrderCheckInInput {
    pub work_order_id: ID,
    pub location: PositionInput,
    /// The phone's clock; the server records its own beside it.
    pub device_time: DateTime<Utc>,
    #[graphql(default)]
    pub photo_ids: Vec<ID>,
    pub note: Option<String>,
    /// Retries with the same key are one check-in.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct WorkOrderCheckOutInput {
    pub work_order_id: ID,
    pub location: PositionInput,
    pub device_time: DateTime<Utc>,
    pub note: Option<String>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(Default)]
pub struct OnSiteMutation;

#[Object]
impl OnSiteMutation {
    /// The order's technician checks in at it (上门签到), while it is dispatched, on the way
    /// or in progress: location (distance from the customer flagged when far), photos, and
    /// the visit as an interaction on the customer, counted in their work log.
    async fn check_in_work_order(&self, ctx: &Context<'_>, input: WorkOrderCheckInInput) -> ApiResult<CheckInPayload> {
        let actor = require(ctx, Permission::WorkOrderRead)?.writing();
        let mut problems = Vec::new();
        let order = input_id("workOrderId", &input.work_order_id, WORK_ORDER).map_err(|e| problems.push(e)).ok();
        let (photo_ids, note) =
            visit_details((&input.photo_ids, &input.location, input.note.as_deref()), &mut problems);
        let Some(order) = order.filter(|_| problems.is_empty()) else { return Ok(Err(problems).into()) };
        let arrival = Arrival {
            device_time: input.device_time,
            position: (input.location.latitude, input.location.longitude, input.location.accuracy_meters),
            photo_ids,
            note,
        };
        let (author, scope, tenant) = (author(ctx, &actor), work_order_scope(&actor), actor.tenant_id);
        let idempotent = Idempotent::new(&actor, "checkInWorkOrder", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(
                    async move { field_work::check_in(tx, &author, scope, order, arrival).await.map(|c| (c.id, c)) },
                )
            },
            move |tx, id| Box::pin(async move { field_work::find(tx, tenant, id).await }),
        )
        .await?;
        Ok(result.into())
    }

    /// The order's technician checks out of their check-in at it (离场签退); the visit's
    /// length goes on its interaction.
    async fn check_out_work_order(
        &self,
        ctx: &Context<'_>,
        input: WorkOrderCheckOutInput,
    ) -> ApiResult<CheckInPayload> {
        let actor = require(ctx, Permission::WorkOrderRead)?.writing();
        let mut problems = Vec::new();
        let order = input_id("workOrderId", &input.work_order_id, WORK_ORDER).map_err(|e| problems.push(e)).ok();
        visit_details((&[], &input.location, input.note.as_deref()), &mut problems);
        let Some(order) = order.filter(|_| problems.is_empty()) else { return Ok(Err(problems).into()) };
        let out = check_out_of((&input.location, input.device_time, input.note.as_deref()));
        let (author, scope, tenant) = (author(ctx, &actor), work_order_scope(&actor), actor.tenant_id);
        let idempotent = Idempotent::new(&actor, "checkOutWorkOrder", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move { field_work::check_out(tx, &author, scope, order, out).await.map(|c| (c.id, c)) })
            },
            move |tx, id| Box::pin(async move { field_work::find(tx, tenant, id).await }),
        )
        .await?;
        Ok(result.into())
    }
}
