//! Editing a taken work order's request (`updateWorkOrder`): subject, description,
//! priority, the customer's window, the service address and region. A new priority
//! moves the deadlines still ahead, counted again from when the order was taken under
//! the service levels in force for it: the response deadline until the order is
//! accepted, the resolution deadline until it is completed, unless it was reopened (its
//! deadline then runs from the reopening). A deadline marked missed stays marked.

use chrono::{DateTime, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::Assigned;
use guanxi_domain::platform::access::CustomerRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::service::work_order::{Priority, Request, WorkOrder, WorkOrderStatus};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::Expr;
use uuid::Uuid;

use crate::entity::work_order;
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};
use crate::platform::tenant;
use crate::repo;
use crate::service::asset::contracts_of;
use crate::service::work_order::{ENTITY, WorkOrders, due_times, promised_levels};

/// The customer's window (预约时间): from, to.
pub type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// What an edit changes; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct RequestEdit {
    pub subject: Option<String>,
    pub description: Option<Option<String>>,
    pub priority: Option<Priority>,
    pub window: Option<Window>,
    pub address: Option<Option<String>>,
    pub region: Option<Option<String>>,
}

impl RequestEdit {
    /// The request with the edit applied.
    fn applied(self, mut request: Request) -> Request {
        if let Some(subject) = self.subject {
            request.subject = subject;
        }
        if let Some(priority) = self.priority {
            request.priority = priority;
        }
        if let Some((from, to)) = self.window {
            (request.window_from, request.window_to) = (from, to);
        }
        for (given, slot) in [
            (self.description, &mut request.description),
            (self.address, &mut request.address),
            (self.region, &mut request.region),
        ] {
            if let Some(value) = given {
                *slot = value;
            }
        }
        request
    }
}

/// Edits an open order the caller sees, at the version they read.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: Assigned,
    (id, expected_version): (Uuid, i32),
    edit: RequestEdit,
) -> StoreResult<WorkOrder> {
    use work_order::Column as W;
    let tenant = author.tenant_id;
    let before = repo::current::<WorkOrders, C>(conn, tenant, scope, id, expected_version).await?;
    if matches!(before.status, WorkOrderStatus::Closed | WorkOrderStatus::Cancelled) {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::IllegalState,
            format!("a {} work order is not edited", before.status.as_str()),
        ));
    }
    let request = edit.applied(before.request.clone()).check()?;
    let mut columns = vec![
        (W::Subject, Expr::value(request.subject.clone())),
        (W::Description, Expr::value(request.description.clone())),
        (W::Priority, Expr::value(request.priority.as_str())),
        (W::WindowFrom, Expr::value(request.window_from)),
        (W::WindowTo, Expr::value(request.window_to)),
        (W::Address, Expr::value(request.address.clone())),
        (W::Region, Expr::value(request.region.clone())),
    ];
    let mut due = before.sla;
    let (respond, resolve) = deadlines_ahead(&before);
    if request.priority != before.request.priority && (respond || resolve) {
        let settings = tenant::settings(conn, tenant).await?;
        let customer = request.customer_id.uuid();
        let contracts = contracts_of(conn, tenant, CustomerRule::ALL, &[customer]).await?;
        let promised = promised_levels(&contracts, before.reported_on(), &request);
        let policy = promised.as_ref().unwrap_or(&settings.sla_policy);
        let moved = due_times(&settings, policy, request.priority, before.created_at);
        if respond {
            due.response_due_at = moved.response_due_at;
            columns.push((W::ResponseDueAt, Expr::value(due.response_due_at)));
        }
        if resolve {
            due.resolution_due_at = moved.resolution_due_at;
            columns.push((W::ResolutionDueAt, Expr::value(due.resolution_due_at)));
        }
    }
    let update = repo::set_columns::<work_order::Entity>(columns);
    let after = repo::write_versioned::<WorkOrders, C>(conn, tenant, id, expected_version, update).await?;
    let old = &before.request;
    let changes = ChangeSet::new()
        .field("subject", &old.subject, &request.subject)
        .field("description", &old.description, &request.description)
        .field("priority", old.priority.as_str(), request.priority.as_str())
        .field("windowFrom", old.window_from, request.window_from)
        .field("windowTo", old.window_to, request.window_to)
        .field("address", &old.address, &request.address)
        .field("region", &old.region, &request.region)
        .field("responseDueAt", before.sla.response_due_at, due.response_due_at)
        .field("resolutionDueAt", before.sla.resolution_due_at, due.resolution_due_at);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Which deadlines a new priority still moves: the response's while the order waits to be
/// accepted, the resolution's until it is completed unless it was reopened.
fn deadlines_ahead(order: &WorkOrder) -> (bool, bool) {
    use WorkOrderStatus as S;
    let status = match order.status {
        S::OnHold => order.held_from.unwrap_or(S::OnHold),
        status => status,
    };
    let respond = status == S::Submitted;
    let resolve = order.reopen_count == 0
        && matches!(status, S::Submitted | S::Accepted | S::Dispatched | S::EnRoute | S::InProgress);
    (respond, resolve)
}
