//! After-sales work orders (售后服务工单): taken, dispatched, worked, completed, confirmed
//! and closed, one versioned write per move of the domain's state machine.
//!
//! Every move is a change event on the order, in the writer's transaction; the customer's
//! timeline shows the events of the orders the reader sees. Two moves racing on
//! one order both expect the version they read; the second finds it moved on and gets
//! `VERSION_CONFLICT`.
//!
//! Visibility: the `WORK_ORDER` scope on the owner (the service agent who took it) and the
//! `CUSTOMER` scope on its customer, or being its technician ([`Assigned`]).

use chrono::{DateTime, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::{Assigned, EntityKind};
use guanxi_domain::ids::{TenantId, UserId, WorkOrderId};
use guanxi_domain::platform::access::{CustomerRule, ScopeRule};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::service::asset::{Coverage, coverage};
use guanxi_domain::service::work_order::{
    Doer, Fees, Item, ItemInput, ItemKind, Milestones, PaymentMethod, PaymentStatus, Priority, Request, ServiceChannel,
    SlaTimes, Transition, WorkOrder, WorkOrderStatus, WorkOrderType, authorise, check_completion, check_labour,
    check_reopen, check_satisfaction, check_transition, fees, payment_after, price_items,
};
use guanxi_domain::trade::money::{from_e4, to_e4};
use rust_decimal::Decimal;
use sea_orm::sea_query::{BinOper, Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, Select,
};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{technician, work_order, work_order_item};
use crate::error::{StoreError, StoreResult, on_unique};
use crate::filter::{IdFilter, TimeFilter};
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::platform::{sequence, tenant};
use crate::repo::{self, Scoped};
use crate::service::asset::{Assets, contracts_of, live_product, visible_customer};

pub const ENTITY: EntityKind = EntityKind::WorkOrder;

/// Every order of the tenant, for readers whose own rule narrows it further (the portal
/// reads one customer's; a complaint names an order of its own customer).
pub const EVERY_ORDER: Assigned =
    Assigned { rules: guanxi_domain::entity::OwnerAndCustomer::ALL, technician: Uuid::nil() };

fn status(cell: &Cell, raw: &str) -> StoreResult<WorkOrderStatus> {
    cell.text(raw, WorkOrderStatus::parse)
}

pub fn to_domain(m: work_order::Model) -> StoreResult<WorkOrder> {
    let cell = |column| Cell::of("work_orders", m.id, column);
    Ok(WorkOrder {
        id: m.id.into(),
        number: m.number,
        request: Request {
            customer_id: m.customer_id.into(),
            contact_id: m.contact_id.map(Into::into),
            asset_id: m.asset_id.map(Into::into),
            product_id: m.product_id.map(Into::into),
            channel: cell("channel").text(&m.channel, ServiceChannel::parse)?,
            kind: cell("kind").text(&m.kind, WorkOrderType::parse)?,
            priority: cell("priority").text(&m.priority, Priority::parse)?,
            subject: m.subject,
            description: m.description,
            attachment_ids: cell("attachment_ids").json(m.attachment_ids)?,
            window_from: m.window_from,
            window_to: m.window_to,
            address: m.address,
            region: m.region,
        },
        status: status(&cell("status"), &m.status)?,
        held_from: m.held_from.as_deref().map(|h| status(&cell("held_from"), h)).transpose()?,
        reason: m.reason,
        coverage: cell("coverage").json(m.coverage)?,
        owner_id: m.owner_id.map(Into::into),
        dispatcher_id: m.dispatcher_id.map(Into::into),
        technician_id: m.technician_id.map(Into::into),
        milestones: Milestones {
            accepted_at: m.accepted_at,
            dispatched_at: m.dispatched_at,
            travel_started_at: m.travel_started_at,
            started_at: m.started_at,
            completed_at: m.completed_at,
            confirmed_at: m.confirmed_at,
            closed_at: m.closed_at,
            cancelled_at: m.cancelled_at,
        },
        reopen_count: m.reopen_count,
        resolution: m.resolution,
        root_cause: m.root_cause,
        fees: Fees { parts: from_e4(m.parts_e4), labour: from_e4(m.labour_e4), charge: from_e4(m.charge_e4) },
        payment_status: cell("payment_status").text(&m.payment_status, PaymentStatus::parse)?,
        payment_method: m
            .payment_method
            .as_deref()
            .map(|p| cell("payment_method").text(p, PaymentMethod::parse))
            .transpose()?,
        paid_at: m.paid_at,
        satisfaction: m.satisfaction,
        satisfaction_comment: m.satisfaction_comment,
        defect_id: m.defect_id.map(Into::into),
        return_visit_id: m.return_visit_id.map(Into::into),
        complaint_of: m.complaint_of.map(Into::into),
        sla: SlaTimes {
            response_due_at: m.response_due_at,
            resolution_due_at: m.resolution_due_at,
            response_breached_at: m.response_breached_at,
            resolution_breached_at: m.resolution_breached_at,
        },
        external_id: m.external_id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Work orders, read through the `WORK_ORDER` and `CUSTOMER` scopes or as their technician.
pub struct WorkOrders;

impl Scoped for WorkOrders {
    type Entity = work_order::Entity;
    type Scope = Assigned;
    type Record = WorkOrder;
    const ID: work_order::Column = work_order::Column::Id;
    const DELETED_AT: Option<work_order::Column> = None;

    fn visible(backend: DbBackend, tenant: TenantId, scope: Assigned) -> Select<work_order::Entity> {
        use work_order::Column as C;
        crate::scope::of_assigned(backend, tenant, scope, (C::TenantId, C::CustomerId, C::OwnerId, C::TechnicianId))
    }

    fn to_domain(model: work_order::Model) -> StoreResult<WorkOrder> {
        to_domain(model)
    }
}

repo::versioned!(WorkOrders, work_order);
repo::scoped_reads!(WorkOrders);

/// The first missed deadline of an order: the response's, else the resolution's.
pub const FIRST_BREACH: &str =
    r#"COALESCE("work_orders"."response_breached_at", "work_orders"."resolution_breached_at")"#;

/// Which work orders a list asks for.
#[derive(Clone, Debug, Default)]
pub struct WorkOrderFilter {
    /// A part of the number.
    pub number: Option<String>,
    pub customer_id: Option<IdFilter>,
    pub owner_id: Option<IdFilter>,
    pub technician_id: Option<IdFilter>,
    pub asset_id: Option<Uuid>,
    pub status: Option<Vec<WorkOrderStatus>>,
    pub kind: Option<Vec<WorkOrderType>>,
    pub priority: Option<Vec<Priority>>,
    pub created_at: Option<TimeFilter>,
    pub completed_at: Option<TimeFilter>,
    /// A deadline (response or resolution) was missed, or not.
    pub sla_breached: Option<bool>,
    /// A deadline was found missed within this window.
    pub breached_at: Option<TimeFilter>,
}

impl WorkOrderFilter {
    pub fn condition(&self) -> Condition {
        use work_order::Column as C;
        let mut all = Condition::all();
        if let Some(number) = self.number.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            let contains = crate::filter::TextFilter { contains: Some(number.to_owned()), ..Default::default() };
            all = all.add(contains.condition(C::Number));
        }
        for (filter, column) in
            [(&self.customer_id, C::CustomerId), (&self.owner_id, C::OwnerId), (&self.technician_id, C::TechnicianId)]
        {
            if let Some(f) = filter {
                all = all.add(f.condition(column));
            }
        }
        if let Some(asset) = self.asset_id {
            all = all.add(C::AssetId.eq(asset));
        }
        if let Some(status) = &self.status {
            all = all.add(C::Status.is_in(status.iter().map(|s| s.as_str())));
        }
        if let Some(kind) = &self.kind {
            all = all.add(C::Kind.is_in(kind.iter().map(|s| s.as_str())));
        }
        if let Some(priority) = &self.priority {
            all = all.add(C::Priority.is_in(priority.iter().map(|s| s.as_str())));
        }
        if let Some(f) = &self.created_at {
            all = all.add(f.condition(C::CreatedAt));
        }
        if let Some(f) = &self.completed_at {
            all = all.add(f.condition(C::CompletedAt));
        }
        if let Some(breached) = self.sla_breached {
            let any =
                Condition::any().add(C::ResponseBreachedAt.is_not_null()).add(C::ResolutionBreachedAt.is_not_null());
            all = all.add(if breached { any } else { any.not() });
        }
        if let Some(f) = &self.breached_at {
            // The first miss, as the work log counts it.
            let first = Expr::cust(FIRST_BREACH);
            let bounds = [
                (f.gt, BinOper::GreaterThan),
                (f.gte, BinOper::GreaterThanOrEqual),
                (f.lt, BinOper::SmallerThan),
                (f.lte, BinOper::SmallerThanOrEqual),
            ];
            for (value, op) in bounds {
                if let Some(value) = value {
                    all = all.add(first.clone().binary(op, Expr::value(value)));
                }
            }
        }
        all
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkOrderSort {
    CreatedAt,
    UpdatedAt,
}

impl repo::Listed for WorkOrders {
    type Filter = WorkOrderFilter;
    type Order = (WorkOrderSort, Direction);

    fn matching(
        backend: DbBackend,
        tenant: TenantId,
        scope: Assigned,
        filter: &WorkOrderFilter,
    ) -> Select<work_order::Entity> {
        Self::visible(backend, tenant, scope).filter(filter.condition())
    }

    fn sort_key((sort, direction): Self::Order) -> SortKey<work_order::Entity> {
        match sort {
            WorkOrderSort::CreatedAt => SortKey {
                name: "CREATED_AT",
                column: work_order::Column::CreatedAt,
                direction,
                value: |m: &work_order::Model| CursorValue::Time(m.created_at),
            },
            WorkOrderSort::UpdatedAt => SortKey {
                name: "UPDATED_AT",
                column: work_order::Column::UpdatedAt,
                direction,
                value: |m: &work_order::Model| CursorValue::Time(m.updated_at),
            },
        }
    }

    fn id_of(model: &work_order::Model) -> Uuid {
        model.id
    }
}

repo::listed!(WorkOrders);

/// The work orders of some customers the caller may see, newest first; only open ones
/// when `open` (the 360 view).
pub async fn of_customers<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: Assigned,
    customers: &[Uuid],
    open: bool,
) -> StoreResult<Vec<WorkOrder>> {
    if customers.is_empty() {
        return Ok(vec![]);
    }
    let mut select = WorkOrders::visible(conn.get_database_backend(), tenant, scope)
        .filter(work_order::Column::CustomerId.is_in(customers.to_vec()));
    if open {
        select = select.filter(work_order::Column::Status.is_in(WorkOrderStatus::OPEN.iter().map(|s| s.as_str())));
    }
    let rows =
        select.order_by_desc(work_order::Column::CreatedAt).order_by_desc(work_order::Column::Id).all(conn).await?;
    rows.into_iter().map(to_domain).collect()
}

/// The lines of some work orders, in order (the caller has read the orders).
pub async fn items_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    orders: &[Uuid],
) -> StoreResult<Vec<(Uuid, Item)>> {
    if orders.is_empty() {
        return Ok(vec![]);
    }
    let rows = work_order_item::Entity::find()
        .filter(work_order_item::Column::TenantId.eq(tenant.uuid()))
        .filter(work_order_item::Column::WorkOrderId.is_in(orders.to_vec()))
        .order_by_asc(work_order_item::Column::WorkOrderId)
        .order_by_asc(work_order_item::Column::Position)
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|m| {
            let cell = Cell::of("work_order_items", m.id, "kind");
            Ok((
                m.work_order_id,
                Item {
                    kind: cell.text(&m.kind, ItemKind::parse)?,
                    product_id: m.product_id.map(Into::into),
                    name: m.name,
                    quantity: from_e4(m.quantity_e4),
                    unit_price: from_e4(m.unit_price_e4),
                    amount: from_e4(m.amount_e4),
                    serial_number: m.serial_number,
                },
            ))
        })
        .collect()
}

/// What a new work order brings besides the request.
#[derive(Clone, Debug)]
pub struct NewWorkOrder {
    pub request: Request,
    pub external_id: Option<String>,
    /// A complaint (投诉): the customer's order it is about.
    pub complaint_of: Option<Uuid>,
}

/// Takes a service request for a customer the caller sees. Its coverage is decided now,
/// from the asset's warranty and the customer's service contracts; the address and
/// region default to the asset's and the customer's. Its owner is the staff member taking
/// it; a request from the portal goes to the tenant's portal agent, else to the
/// customer's owner.
pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    new: NewWorkOrder,
) -> StoreResult<WorkOrder> {
    let tenant = author.tenant_id;
    let mut request = new.request.check()?;
    let customer_id = request.customer_id.uuid();
    let customer = visible_customer(conn, tenant, customers, customer_id).await?;
    if new.external_id.as_ref().is_some_and(|e| e.trim().is_empty() || e.chars().count() > 100) {
        return Err(StoreError::rejected("externalId", ErrorCode::Invalid, "1 to 100 characters"));
    }
    if let Some(contact) = request.contact_id {
        let found =
            crate::customers::contact::find(conn, tenant, guanxi_domain::entity::OwnerAndCustomer::ALL, contact.uuid())
                .await?
                .filter(|c| c.deleted_at.is_none() && c.customer_id == request.customer_id);
        if found.is_none() {
            return Err(StoreError::rejected("contactId", ErrorCode::NotFound, "no such contact of the customer"));
        }
    }
    if let Some(about) = new.complaint_of {
        let found = repo::find::<WorkOrders, C>(conn, tenant, EVERY_ORDER, about)
            .await?
            .filter(|o| o.request.customer_id == request.customer_id);
        if found.is_none() {
            return Err(StoreError::rejected("complaintOf", ErrorCode::NotFound, "no such work order of the customer"));
        }
        if request.kind != WorkOrderType::Complaint {
            return Err(StoreError::rejected("complaintOf", ErrorCode::Invalid, "only a complaint names an order"));
        }
    }
    let asset = match request.asset_id {
        Some(id) => Some(
            repo::find::<Assets, C>(conn, tenant, CustomerRule::ALL, id.uuid())
                .await?
                .filter(|a| a.deleted_at.is_none() && a.customer_id == request.customer_id)
                .ok_or_else(|| StoreError::rejected("assetId", ErrorCode::NotFound, "no such asset of the customer"))?,
        ),
        None => None,
    };
    if let Some(asset) = &asset {
        request.product_id = Some(asset.fields.product_id);
        if request.address.is_none() {
            request.address = asset.fields.address.clone();
        }
    } else if let Some(product) = request.product_id {
        live_product(conn, tenant, product, "productId").await?;
    }
    if request.address.is_none() {
        request.address = customer.fields.address.clone();
    }
    if request.region.is_none() {
        request.region = customer.fields.region.clone().or_else(|| customer.fields.city.clone());
    }
    let contracts = contracts_of(conn, tenant, CustomerRule::ALL, &[customer_id]).await?;
    let now = Utc::now();
    let today = guanxi_domain::customers::customer::shanghai_date(now);
    let covered = coverage(today, asset.as_ref().map(|a| (a.id, &a.fields)), request.product_id, &contracts);
    let settings = tenant::settings(conn, tenant).await?;
    let promised = promised_levels(&contracts, today, &request);
    let due = due_times(&settings, promised.as_ref().unwrap_or(&settings.sla_policy), request.priority, now);
    let rule = settings.work_order_numbering;
    let number = rule.format(today, sequence::next(conn, tenant, "work_order", &rule.period(today)).await?);
    let id = WorkOrderId::new();
    let model = work_order::Entity::insert(work_order::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id.uuid()),
        number: Set(number.clone()),
        customer_id: Set(customer_id),
        contact_id: Set(request.contact_id.map(|c| c.uuid())),
        asset_id: Set(request.asset_id.map(|a| a.uuid())),
        product_id: Set(request.product_id.map(|p| p.uuid())),
        channel: Set(request.channel.as_str().to_owned()),
        kind: Set(request.kind.as_str().to_owned()),
        priority: Set(request.priority.as_str().to_owned()),
        subject: Set(request.subject.clone()),
        description: Set(request.description.clone()),
        attachment_ids: Set(serde_json::json!(request.attachment_ids)),
        window_from: Set(request.window_from),
        window_to: Set(request.window_to),
        address: Set(request.address.clone()),
        region: Set(request.region.clone()),
        status: Set(WorkOrderStatus::Submitted.as_str().to_owned()),
        held_from: Set(None),
        reason: Set(None),
        coverage: Set(serde_json::to_value(&covered).unwrap_or_default()),
        owner_id: Set(author.user_id.or(settings.portal_agent_id).or(customer.owner_id.map(UserId::uuid))),
        dispatcher_id: Set(None),
        technician_id: Set(None),
        accepted_at: Set(None),
        dispatched_at: Set(None),
        travel_started_at: Set(None),
        started_at: Set(None),
        completed_at: Set(None),
        confirmed_at: Set(None),
        closed_at: Set(None),
        cancelled_at: Set(None),
        reopen_count: Set(0),
        resolution: Set(None),
        root_cause: Set(None),
        parts_e4: Set(0),
        labour_e4: Set(0),
        charge_e4: Set(0),
        payment_status: Set(PaymentStatus::NotDue.as_str().to_owned()),
        payment_method: Set(None),
        paid_at: Set(None),
        satisfaction: Set(None),
        satisfaction_comment: Set(None),
        defect_id: Set(None),
        return_visit_id: Set(None),
        complaint_of: Set(new.complaint_of),
        response_due_at: Set(due.response_due_at),
        resolution_due_at: Set(due.resolution_due_at),
        response_breached_at: Set(None),
        resolution_breached_at: Set(None),
        external_id: Set(new.external_id.map(|e| e.trim().to_owned())),
        created_by: Set(author.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await
    .map_err(|e| on_unique(e, "externalId", "another work order has this external id"))?;
    let order = to_domain(model)?;
    let changes = ChangeSet::new()
        .field("number", (), &number)
        .field("customerId", (), customer_id)
        .field("subject", (), &order.request.subject)
        .field("kind", (), order.request.kind.as_str())
        .field("priority", (), order.request.priority.as_str())
        .field("coverage", (), order.coverage.kind.as_str())
        .field("status", (), WorkOrderStatus::Submitted.as_str())
        .field("complaintOf", (), new.complaint_of);
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    crate::service::portal::announce(conn, tenant, &order).await?;
    Ok(order)
}

/// The service levels a contract in force on `day` promises for a request, if any: a
/// contract's levels hold even where a warranty pays.
pub(crate) fn promised_levels(
    contracts: &[guanxi_domain::service::asset::ServiceContract],
    day: chrono::NaiveDate,
    request: &Request,
) -> Option<guanxi_domain::service::sla::SlaPolicy> {
    contracts
        .iter()
        .filter(|c| c.terms.covers(day, request.asset_id, request.product_id))
        .find_map(|c| c.terms.sla.clone())
}

/// Whether a deadline not yet marked missed is missed at `now`.
fn late(due: Option<DateTime<Utc>>, marked: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    marked.is_none() && due.is_some_and(|due| now > due)
}

/// The deadlines of an order of `priority` taken at `now`, in the tenant's working time.
pub fn due_times(
    settings: &tenant::TenantSettings,
    policy: &guanxi_domain::service::sla::SlaPolicy,
    priority: Priority,
    now: DateTime<Utc>,
) -> SlaTimes {
    let target = policy.target(priority);
    let calendar = &settings.working_calendar;
    SlaTimes {
        response_due_at: calendar.add_working_minutes(now, target.response_minutes),
        resolution_due_at: calendar.add_working_minutes(now, target.resolution_minutes),
        response_breached_at: None,
        resolution_breached_at: None,
    }
}

/// What a move brings besides the order and its version.
#[derive(Clone, Debug, Default)]
pub struct Move {
    /// Dispatch: the technician.
    pub technician_id: Option<Uuid>,
    /// Hold, cancel and reopen: why.
    pub reason: Option<String>,
    /// Complete: what was done, and what was wrong.
    pub resolution: Option<String>,
    pub root_cause: Option<String>,
}

/// An active technician, else `NOT_FOUND` on `technicianId`.
async fn dispatchable<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<()> {
    let found = technician::Entity::find()
        .filter(technician::Column::TenantId.eq(tenant.uuid()))
        .filter(technician::Column::Id.eq(id))
        .filter(technician::Column::Active.eq(true))
        .one(conn)
        .await?;
    let user = crate::platform::user::find(conn, tenant, ScopeRule::All, id).await?;
    if found.is_none() || user.is_none_or(|u| u.status != guanxi_domain::platform::org::UserStatus::Active) {
        return Err(StoreError::rejected("technicianId", ErrorCode::NotFound, "no such active technician"));
    }
    Ok(())
}

/// A reason a move needs (hold, cancel, reopen), trimmed: 1 to 500 characters.
fn move_reason(reason: Option<&str>, transition: Transition) -> StoreResult<&str> {
    crate::finance::reason(reason.unwrap_or_default(), &format!("say why ({})", transition.mutation()))
}

/// Makes one move of the state machine on an order the caller sees, at the version they
/// read, if `doer` may make it. The tenant's reopen window bounds `Reopen`.
pub async fn transition<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: Assigned,
    (id, expected_version): (Uuid, i32),
    (transition, doer): (Transition, Doer),
    details: Move,
) -> StoreResult<WorkOrder> {
    use Transition as T;
    use work_order::Column as W;
    let tenant = author.tenant_id;
    let before = repo::current::<WorkOrders, C>(conn, tenant, scope, id, expected_version).await?;
    let to = check_transition(before.status, transition, before.held_from)?;
    let me = author.user_id.map(UserId::from_uuid);
    let doer = Doer { is_technician: me.is_some() && before.technician_id == me, ..doer };
    authorise(transition, before.status, doer)?;
    let now = Utc::now();
    let mut values: Vec<(W, sea_orm::sea_query::SimpleExpr)> = vec![(W::Status, Expr::value(to.as_str()))];
    let mut changes = ChangeSet::new().field("status", before.status.as_str(), to.as_str());
    let stamp = |column: W| (column, Expr::value(now));
    match transition {
        T::Accept => {
            values.push(stamp(W::AcceptedAt));
            if before.owner_id.is_none() {
                values.push((W::OwnerId, Expr::value(author.user_id)));
            }
            // Taken late: the miss is recorded now, not left to the next run of the job.
            if late(before.sla.response_due_at, before.sla.response_breached_at, now) {
                values.push(stamp(W::ResponseBreachedAt));
                changes = changes.field("responseBreachedAt", (), now);
            }
        }
        T::Dispatch => {
            let technician = details
                .technician_id
                .ok_or_else(|| StoreError::rejected("technicianId", ErrorCode::Required, "name the technician"))?;
            dispatchable(conn, tenant, technician).await?;
            values.extend([
                (W::TechnicianId, Expr::value(technician)),
                (W::DispatcherId, Expr::value(author.user_id)),
                stamp(W::DispatchedAt),
            ]);
            // Dispatching again to the same technician still changes the order (and its
            // version), so it is recorded like any other move.
            changes = changes.field("technicianId", before.technician_id, technician).field(
                "dispatchedAt",
                before.milestones.dispatched_at,
                now,
            );
        }
        T::StartTravel => values.push(stamp(W::TravelStartedAt)),
        T::Start => values.push(stamp(W::StartedAt)),
        T::Complete => {
            let resolution = details.resolution.as_deref().unwrap_or_default().trim().to_owned();
            let root_cause = details.root_cause.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
            check_completion(&resolution, root_cause.as_deref())?;
            if before.return_visit_id.is_none()
                && let Some(visit) = return_visit(conn, author, &before, (now, &resolution)).await?
            {
                values.push((W::ReturnVisitId, Expr::value(visit)));
                changes = changes.field("returnVisitId", (), visit);
            }
            values.extend([
                stamp(W::CompletedAt),
                (W::Resolution, Expr::value(resolution.clone())),
                (W::RootCause, Expr::value(root_cause.clone())),
            ]);
            if late(before.sla.resolution_due_at, before.sla.resolution_breached_at, now) {
                values.push(stamp(W::ResolutionBreachedAt));
                changes = changes.field("resolutionBreachedAt", (), now);
            }
            changes = changes.field("resolution", before.resolution.clone(), resolution).field(
                "rootCause",
                before.root_cause.clone(),
                root_cause,
            );
        }
        T::Confirm => values.push(stamp(W::ConfirmedAt)),
        T::Close => values.push(stamp(W::ClosedAt)),
        T::Cancel | T::Hold | T::Reopen => {
            let reason = move_reason(details.reason.as_deref(), transition)?;
            if transition == T::Reopen {
                let settings = tenant::settings(conn, tenant).await?;
                check_reopen(before.milestones.completed_at, now, settings.work_order_reopen_days)?;
                // The re-work gets a resolution deadline of its own, counted from now.
                let due = due_times(&settings, &settings.sla_policy, before.request.priority, now);
                values.extend([
                    (W::ReopenCount, Expr::value(before.reopen_count + 1)),
                    (W::CompletedAt, Expr::value(Option::<DateTime<Utc>>::None)),
                    (W::ConfirmedAt, Expr::value(Option::<DateTime<Utc>>::None)),
                    (W::ResolutionDueAt, Expr::value(due.resolution_due_at)),
                ]);
                changes = changes.field("resolutionDueAt", before.sla.resolution_due_at, due.resolution_due_at);
            }
            if transition == T::Cancel {
                values.push(stamp(W::CancelledAt));
            }
            if transition == T::Hold {
                values.push((W::HeldFrom, Expr::value(before.status.as_str())));
            }
            values.push((W::Reason, Expr::value(reason)));
            changes = changes.field("reason", before.reason.clone(), reason);
        }
        T::Resume => values.push((W::HeldFrom, Expr::value(Option::<String>::None))),
    }
    let update = repo::set_columns::<work_order::Entity>(values);
    let after = repo::write_versioned::<WorkOrders, C>(conn, tenant, id, expected_version, update).await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// The return visit (回访) of an order completed at `now`: a to-do for its agent on the day
/// the tenant's `returnVisitDays` names, all day, about its customer. `None` when return
/// visits are off or nobody took the order.
async fn return_visit<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    order: &WorkOrder,
    (now, resolution): (DateTime<Utc>, &str),
) -> StoreResult<Option<Uuid>> {
    use guanxi_domain::activity::calendar::{EventFields, EventKind, EventStatus, Schedule};
    let days = tenant::settings(conn, author.tenant_id).await?.return_visit_days;
    let Some(owner) = order.owner_id.filter(|_| days > 0) else { return Ok(None) };
    let day = guanxi_domain::customers::customer::shanghai_date(now) + chrono::Duration::days(i64::from(days));
    let midnight = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc() - chrono::Duration::hours(8)).unwrap_or(now);
    let fields = EventFields {
        kind: EventKind::Todo,
        title: format!("回访：{} {}", order.number, order.request.subject).chars().take(200).collect(),
        description: Some(resolution.to_owned()),
        schedule: Schedule {
            starts_at: midnight,
            ends_at: midnight + chrono::Duration::days(1),
            all_day: true,
            time_zone: "Asia/Shanghai".into(),
            recurrence: None,
        },
        assignees: vec![owner],
        customer_id: Some(order.request.customer_id),
        contact_id: order.request.contact_id,
        status: EventStatus::Planned,
        completion_notes: None,
        reminder_minutes: vec![],
    };
    let event = crate::activity::calendar::create(conn, author, owner, fields).await?;
    Ok(Some(event.id.uuid()))
}

/// Links an order to the product defect it met, or unlinks it (`None`).
pub async fn link_defect<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: Assigned,
    (id, expected_version): (Uuid, i32),
    defect: Option<Uuid>,
) -> StoreResult<WorkOrder> {
    let tenant = author.tenant_id;
    let before = repo::current::<WorkOrders, C>(conn, tenant, scope, id, expected_version).await?;
    if let Some(defect) = defect {
        crate::service::defect::find(conn, tenant, (), defect)
            .await?
            .filter(|d| d.deleted_at.is_none())
            .ok_or_else(|| StoreError::rejected("defectId", ErrorCode::NotFound, "no such product defect"))?;
    }
    let update = work_order::Entity::update_many().col_expr(work_order::Column::DefectId, Expr::value(defect));
    let after = repo::write_versioned::<WorkOrders, C>(conn, tenant, id, expected_version, update).await?;
    let changes = ChangeSet::new().field("defectId", before.defect_id, defect);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Replaces an open or completed order's parts and packing list and sets its labour fee;
/// the fees and what the customer owes follow from the order's coverage. A part that
/// names a product takes its list price when none is given.
pub async fn set_items<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: Assigned,
    (id, expected_version): (Uuid, i32),
    (mut items, labour): (Vec<ItemInput>, Decimal),
) -> StoreResult<(WorkOrder, Vec<Item>)> {
    let tenant = author.tenant_id;
    let before = repo::current::<WorkOrders, C>(conn, tenant, scope, id, expected_version).await?;
    if matches!(before.status, WorkOrderStatus::Closed | WorkOrderStatus::Cancelled)
        || matches!(before.payment_status, PaymentStatus::Paid | PaymentStatus::Waived)
    {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::IllegalState,
            format!(
                "the fees are final: the work order is {}, its payment {}",
                before.status.as_str(),
                before.payment_status.as_str()
            ),
        ));
    }
    let named: Vec<Uuid> = items.iter().filter_map(|i| i.product_id.map(|p| p.uuid())).collect();
    // Each missing product is named by its line below, so they are read without the check.
    let products = crate::trade::product::by_ids(conn, tenant, (), &named).await?;
    for (n, item) in items.iter_mut().enumerate() {
        let Some(product) = item.product_id else { continue };
        let Some(found) = products.iter().find(|p| p.id == product) else {
            return Err(StoreError::rejected(&format!("items.{n}.productId"), ErrorCode::NotFound, "no such product"));
        };
        if item.name.trim().is_empty() {
            item.name = found.fields.name.clone();
        }
        if item.kind == ItemKind::Part && item.unit_price.is_none() {
            item.unit_price = Some(found.fields.list_price);
        }
    }
    let mut invalid = guanxi_domain::Invalid::default();
    let labour = check_labour(labour).map_err(|e| invalid.push(e)).unwrap_or_default();
    let items = price_items(items).map_err(|e| invalid.0.extend(e.0)).unwrap_or_default();
    invalid.into_result()?;
    let owed = fees(&items, labour, &before.coverage);
    let payment = payment_after(before.payment_status, owed.charge);
    work_order_item::Entity::delete_many()
        .filter(work_order_item::Column::TenantId.eq(tenant.uuid()))
        .filter(work_order_item::Column::WorkOrderId.eq(id))
        .exec(conn)
        .await?;
    let rows: Vec<work_order_item::ActiveModel> = items
        .iter()
        .enumerate()
        .map(|(n, item)| work_order_item::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            id: Set(Uuid::now_v7()),
            work_order_id: Set(id),
            position: Set(n as i32),
            kind: Set(item.kind.as_str().to_owned()),
            product_id: Set(item.product_id.map(|p| p.uuid())),
            name: Set(item.name.clone()),
            quantity_e4: Set(to_e4(item.quantity)),
            unit_price_e4: Set(to_e4(item.unit_price)),
            amount_e4: Set(to_e4(item.amount)),
            serial_number: Set(item.serial_number.clone()),
        })
        .collect();
    if !rows.is_empty() {
        work_order_item::Entity::insert_many(rows).exec(conn).await?;
    }
    let update = repo::set_columns::<work_order::Entity>(vec![
        (work_order::Column::PartsE4, Expr::value(to_e4(owed.parts))),
        (work_order::Column::LabourE4, Expr::value(to_e4(owed.labour))),
        (work_order::Column::ChargeE4, Expr::value(to_e4(owed.charge))),
        (work_order::Column::PaymentStatus, Expr::value(payment.as_str())),
    ]);
    let after = repo::write_versioned::<WorkOrders, C>(conn, tenant, id, expected_version, update).await?;
    let changes = ChangeSet::new()
        .field("items", (), serde_json::to_value(&items).unwrap_or_default())
        .field("parts", before.fees.parts, owed.parts)
        .field("labour", before.fees.labour, owed.labour)
        .field("charge", before.fees.charge, owed.charge)
        .field("paymentStatus", before.payment_status.as_str(), payment.as_str());
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok((after, items))
}

/// How an owed fee was settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// Paid in full by `method`.
    Paid(PaymentMethod),
    /// Let off (`workorder.supervise`).
    Waived,
}

/// Records that the customer paid what the order charges, or that it was waived.
pub async fn settle<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: Assigned,
    (id, expected_version): (Uuid, i32),
    (settlement, amount): (Settlement, Option<Decimal>),
) -> StoreResult<WorkOrder> {
    let tenant = author.tenant_id;
    let before = repo::current::<WorkOrders, C>(conn, tenant, scope, id, expected_version).await?;
    if before.payment_status != PaymentStatus::Unpaid {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::IllegalState,
            format!("nothing is owed: the payment status is {}", before.payment_status.as_str()),
        ));
    }
    let (status, method) = match settlement {
        Settlement::Paid(method) => {
            if amount != Some(before.fees.charge) {
                return Err(StoreError::rejected(
                    "amount",
                    ErrorCode::Invalid,
                    format!("the order charges {}: record that amount", before.fees.charge.normalize()),
                ));
            }
            (PaymentStatus::Paid, Some(method.as_str()))
        }
        Settlement::Waived => (PaymentStatus::Waived, None),
    };
    let update = repo::set_columns::<work_order::Entity>(vec![
        (work_order::Column::PaymentStatus, Expr::value(status.as_str())),
        (work_order::Column::PaymentMethod, Expr::value(method)),
        (work_order::Column::PaidAt, Expr::value(Utc::now())),
    ]);
    let after = repo::write_versioned::<WorkOrders, C>(conn, tenant, id, expected_version, update).await?;
    let changes = ChangeSet::new()
        .field("paymentStatus", before.payment_status.as_str(), status.as_str())
        .field("paymentMethod", (), method)
        .field("paid", (), before.fees.charge);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Records the customer's satisfaction (满意度) with a completed order: 1 to 5 and words.
pub async fn rate<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: Assigned,
    (id, expected_version): (Uuid, i32),
    (score, comment): (i16, Option<String>),
) -> StoreResult<WorkOrder> {
    let tenant = author.tenant_id;
    let before = repo::current::<WorkOrders, C>(conn, tenant, scope, id, expected_version).await?;
    if !matches!(before.status, WorkOrderStatus::Completed | WorkOrderStatus::Confirmed | WorkOrderStatus::Closed) {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "a work order is rated once it is completed"));
    }
    if before.technician_id.is_some() && before.technician_id.map(UserId::uuid) == author.user_id {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::Forbidden,
            "the technician who did the work does not record the customer's rating",
        ));
    }
    let comment = comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    check_satisfaction(score, comment.as_deref())?;
    let update = repo::set_columns::<work_order::Entity>(vec![
        (work_order::Column::Satisfaction, Expr::value(score)),
        (work_order::Column::SatisfactionComment, Expr::value(comment.clone())),
    ]);
    let after = repo::write_versioned::<WorkOrders, C>(conn, tenant, id, expected_version, update).await?;
    let changes = ChangeSet::new().field("satisfaction", before.satisfaction, score).field(
        "satisfactionComment",
        before.satisfaction_comment.clone(),
        comment,
    );
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// The coverage an order would get now (for a preview before it is taken).
pub async fn coverage_now<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: CustomerRule,
    (customer_id, asset_id, product_id): (Uuid, Option<Uuid>, Option<Uuid>),
) -> StoreResult<Coverage> {
    visible_customer(conn, tenant, customers, customer_id).await?;
    let asset = match asset_id {
        Some(id) => repo::find::<Assets, C>(conn, tenant, customers, id)
            .await?
            .filter(|a| a.deleted_at.is_none() && a.customer_id.uuid() == customer_id),
        None => None,
    };
    let contracts = contracts_of(conn, tenant, CustomerRule::ALL, &[customer_id]).await?;
    let today = guanxi_domain::customers::customer::shanghai_date(Utc::now());
    Ok(coverage(today, asset.as_ref().map(|a| (a.id, &a.fields)), product_id.map(Into::into), &contracts))
}
