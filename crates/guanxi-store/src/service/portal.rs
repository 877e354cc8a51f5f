//! The customer's own channel (客户自助服务): portal tokens issued to a customer's
//! contact, and what such a token may do — file and follow the customer's service
//! requests, confirm and rate the work, complain — each write in the caller's
//! transaction with its change event, authored by the contact.
//!
//! A token is stored as a SHA-256 hash of its 256-bit secret; it expires, and staff may
//! revoke it. It is honoured only while its contact and customer are live and the contact
//! still belongs to that customer. Its session sees one customer's work orders and nothing
//! else: a request of another customer is `NOT_FOUND`.

use chrono::{DateTime, Duration, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{TenantId, UserId};
use guanxi_domain::platform::access::CustomerRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::service::portal::{PortalSession, PortalToken, complaint_subject};
use guanxi_domain::service::work_order::{
    Doer, Priority, Request, ServiceChannel, Transition, WorkOrder, WorkOrderType,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::customers::contact::ContactScope;
use crate::entity::{portal_token, user};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};
use crate::repo;
use crate::service::work_order::{self as orders, EVERY_ORDER, Move, NewWorkOrder, WorkOrders};

fn to_domain(m: portal_token::Model) -> PortalToken {
    PortalToken {
        id: m.id,
        contact_id: m.contact_id.into(),
        customer_id: m.customer_id.into(),
        label: m.label,
        prefix: m.prefix,
        created_by: m.created_by.map(UserId::from_uuid),
        created_at: m.created_at,
        expires_at: m.expires_at,
        last_used_at: m.last_used_at,
        revoked_at: m.revoked_at,
    }
}

/// A contact the caller sees (only a live one when `live`), else `NOT_FOUND` on
/// `contactId`. A deleted contact's tokens can still be listed and revoked: restoring the
/// contact would make them work again.
async fn visible_contact<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    contacts: ContactScope,
    (id, live): (Uuid, bool),
) -> StoreResult<guanxi_domain::customers::contact::Contact> {
    crate::customers::contact::find(conn, tenant, contacts, id)
        .await?
        .filter(|c| !live || c.deleted_at.is_none())
        .ok_or_else(|| StoreError::rejected("contactId", ErrorCode::NotFound, "no such contact"))
}

/// What a new token is: its secret's hash and shown prefix, a label, and how long it lives.
pub struct NewToken<'a> {
    pub secret_hash: &'a str,
    pub prefix: &'a str,
    pub label: Option<String>,
    pub lifetime: Duration,
}

/// Issues a portal token to a contact the caller sees. The contact's history records it
/// (by its prefix, never its secret).
pub async fn issue<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    contacts: ContactScope,
    contact_id: Uuid,
    new: NewToken<'_>,
) -> StoreResult<PortalToken> {
    let tenant = author.tenant_id;
    let contact = visible_contact(conn, tenant, contacts, (contact_id, true)).await?;
    let now = Utc::now();
    let model = portal_token::Entity::insert(portal_token::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(Uuid::now_v7()),
        contact_id: Set(contact_id),
        customer_id: Set(contact.customer_id.uuid()),
        label: Set(new.label),
        prefix: Set(new.prefix.to_owned()),
        secret_hash: Set(new.secret_hash.to_owned()),
        created_by: Set(author.user_id),
        created_at: Set(now),
        expires_at: Set(now + new.lifetime),
        last_used_at: Set(None),
        revoked_at: Set(None),
    })
    .exec_with_returning(conn)
    .await?;
    let changes = ChangeSet::new().field("portalTokenIssued", (), &model.prefix);
    audit::record(conn, author, EntityKind::Contact, contact_id, Operation::Update, &changes).await?;
    Ok(to_domain(model))
}

/// The tokens of a contact the caller sees, newest first.
pub async fn tokens_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    contacts: ContactScope,
    contact_id: Uuid,
) -> StoreResult<Vec<PortalToken>> {
    visible_contact(conn, tenant, contacts, (contact_id, false)).await?;
    let rows = portal_token::Entity::find()
        .filter(portal_token::Column::TenantId.eq(tenant.uuid()))
        .filter(portal_token::Column::ContactId.eq(contact_id))
        .order_by_desc(portal_token::Column::CreatedAt)
        .limit(100)
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(to_domain).collect())
}

/// Revokes a token of a contact the caller sees; from the next request on it is refused.
pub async fn revoke<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    contacts: ContactScope,
    id: Uuid,
) -> StoreResult<PortalToken> {
    let tenant = author.tenant_id;
    let found = portal_token::Entity::find_by_id((tenant.uuid(), id)).one(conn).await?.ok_or(StoreError::NotFound)?;
    visible_contact(conn, tenant, contacts, (found.contact_id, false)).await.map_err(|_| StoreError::NotFound)?;
    if found.revoked_at.is_some() {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "the token is already revoked"));
    }
    let now = Utc::now();
    let rows = portal_token::Entity::update_many()
        .col_expr(portal_token::Column::RevokedAt, Expr::value(now))
        .filter(portal_token::Column::TenantId.eq(tenant.uuid()))
        .filter(portal_token::Column::Id.eq(id))
        .filter(portal_token::Column::RevokedAt.is_null())
        .exec_with_returning(conn)
        .await?;
    let model = rows.into_iter().next().ok_or(StoreError::NotFound)?;
    let changes = ChangeSet::new().field("portalTokenRevoked", (), &model.prefix);
    audit::record(conn, author, EntityKind::Contact, model.contact_id, Operation::Update, &changes).await?;
    Ok(to_domain(model))
}

/// The session a token's hash opens, with when it was last used: `None` for an unknown,
/// revoked or expired token, a deleted contact or customer, a contact moved to another
/// customer, or a disabled tenant. One statement.
pub async fn session<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    secret_hash: &str,
) -> StoreResult<Option<(PortalSession, Option<DateTime<Utc>>)>> {
    let sql = "SELECT p.id, p.contact_id, p.customer_id, p.last_used_at FROM portal_tokens p \
        JOIN contacts c ON c.tenant_id = p.tenant_id AND c.id = p.contact_id AND c.deleted_at IS NULL \
            AND c.customer_id = p.customer_id \
        JOIN customers u ON u.tenant_id = p.tenant_id AND u.id = p.customer_id AND u.deleted_at IS NULL \
        JOIN tenants t ON t.id = p.tenant_id AND t.disabled_at IS NULL \
        WHERE p.tenant_id = ? AND p.secret_hash = ? AND p.revoked_at IS NULL AND p.expires_at > ?";
    let statement = crate::dialect::raw_statement(
        conn.get_database_backend(),
        sql,
        [tenant.uuid().into(), secret_hash.into(), Utc::now().into()],
    );
    let Some(row) = conn.query_one_raw(statement).await? else { return Ok(None) };
    let session = PortalSession {
        tenant_id: tenant,
        token_id: row.try_get("", "id")?,
        contact_id: row.try_get::<Uuid>("", "contact_id")?.into(),
        customer_id: row.try_get::<Uuid>("", "customer_id")?.into(),
    };
    Ok(Some((session, row.try_get("", "last_used_at")?)))
}

/// Notes that a token was used (callers do it at most every few minutes).
pub async fn touch<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<()> {
    portal_token::Entity::update_many()
        .col_expr(portal_token::Column::LastUsedAt, Expr::value(Utc::now()))
        .filter(portal_token::Column::TenantId.eq(tenant.uuid()))
        .filter(portal_token::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// The author of a portal write: the token's contact.
pub fn author(session: &PortalSession, request_id: Option<String>) -> Author {
    Author::contact(session.tenant_id, session.contact_id.uuid(), request_id)
}

/// One of the session's customer's work orders, else `NOT_FOUND`.
pub async fn request<C: ConnectionTrait>(conn: &C, session: &PortalSession, id: Uuid) -> StoreResult<WorkOrder> {
    repo::find::<WorkOrders, C>(conn, session.tenant_id, EVERY_ORDER, id)
        .await?
        .filter(|o| o.request.customer_id == session.customer_id)
        .ok_or(StoreError::NotFound)
}

/// The session's customer's work orders among `ids` (the portal's live updates).
pub async fn requests_among<C: ConnectionTrait>(
    conn: &C,
    session: &PortalSession,
    ids: &[Uuid],
) -> StoreResult<Vec<WorkOrder>> {
    let found = repo::by_ids::<WorkOrders, C>(conn, session.tenant_id, EVERY_ORDER, ids).await?;
    Ok(found.into_iter().filter(|o| o.request.customer_id == session.customer_id).collect())
}

/// Files a service request for the session's customer, from its contact, through the
/// portal; its coverage and deadlines are decided as for any order.
pub async fn submit<C: ConnectionTrait>(
    conn: &C,
    session: &PortalSession,
    author: &Author,
    request: Request,
) -> StoreResult<WorkOrder> {
    let request = Request {
        customer_id: session.customer_id,
        contact_id: Some(session.contact_id),
        channel: ServiceChannel::Portal,
        ..request
    };
    orders::create(conn, author, CustomerRule::ALL, NewWorkOrder { request, external_id: None, complaint_of: None })
        .await
}

/// The customer confirms the work on one of their completed orders (完工确认).
pub async fn confirm<C: ConnectionTrait>(
    conn: &C,
    session: &PortalSession,
    author: &Author,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<WorkOrder> {
    request(conn, session, id).await?;
    let moved = (Transition::Confirm, Doer::CUSTOMER);
    orders::transition(conn, author, EVERY_ORDER, (id, expected_version), moved, Move::default()).await
}

/// The customer rates one of their completed orders (满意度).
pub async fn rate<C: ConnectionTrait>(
    conn: &C,
    session: &PortalSession,
    author: &Author,
    (id, expected_version): (Uuid, i32),
    rating: (i16, Option<String>),
) -> StoreResult<WorkOrder> {
    request(conn, session, id).await?;
    orders::rate(conn, author, EVERY_ORDER, (id, expected_version), rating).await
}

/// Files a complaint (投诉) about one of the customer's orders, or in general: a work
/// order of type COMPLAINT and HIGH priority, which tells its agent and their manager.
pub async fn complain<C: ConnectionTrait>(
    conn: &C,
    session: &PortalSession,
    author: &Author,
    about: Option<Uuid>,
    text: &str,
) -> StoreResult<WorkOrder> {
    let about = match about {
        Some(id) => Some(request(conn, session, id).await.map_err(|_| {
            StoreError::rejected("workOrderId", ErrorCode::NotFound, "no such service request of yours")
        })?),
        None => None,
    };
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 2000 {
        return Err(StoreError::rejected(
            "description",
            ErrorCode::Required,
            "say what went wrong, 1 to 2000 characters",
        ));
    }
    let request = Request {
        customer_id: session.customer_id,
        contact_id: Some(session.contact_id),
        asset_id: about.as_ref().and_then(|o| o.request.asset_id),
        product_id: about.as_ref().and_then(|o| o.request.product_id),
        channel: ServiceChannel::Portal,
        kind: WorkOrderType::Complaint,
        priority: Priority::High,
        subject: complaint_subject(about.as_ref().map(|o| o.number.as_str()), text),
        description: Some(text.to_owned()),
        attachment_ids: vec![],
        window_from: None,
        window_to: None,
        address: about.as_ref().and_then(|o| o.request.address.clone()),
        region: about.as_ref().and_then(|o| o.request.region.clone()),
    };
    let complaint_of = about.map(|o| o.id.uuid());
    orders::create(conn, author, CustomerRule::ALL, NewWorkOrder { request, external_id: None, complaint_of }).await
}

/// The notices a new order brings: a request from the portal tells its agent
/// (WO_PORTAL_REQUEST); a complaint tells its agent (WO_COMPLAINT) and the agent's manager
/// (WO_COMPLAINT_ESCALATED).
pub(crate) async fn announce<C: ConnectionTrait>(conn: &C, tenant: TenantId, order: &WorkOrder) -> StoreResult<()> {
    let Some(owner) = order.owner_id.map(UserId::uuid) else { return Ok(()) };
    let complaint = order.request.kind == WorkOrderType::Complaint;
    let mut told = Vec::new();
    if complaint {
        told.push((owner, "WO_COMPLAINT"));
        let manager: Option<Option<Uuid>> = user::Entity::find()
            .select_only()
            .column(user::Column::ManagerId)
            .filter(user::Column::TenantId.eq(tenant.uuid()))
            .filter(user::Column::Id.eq(owner))
            .into_tuple()
            .one(conn)
            .await?;
        if let Some(manager) = manager.flatten() {
            told.push((manager, "WO_COMPLAINT_ESCALATED"));
        }
    } else if order.request.channel == ServiceChannel::Portal {
        told.push((owner, "WO_PORTAL_REQUEST"));
    }
    if told.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let today = guanxi_domain::customers::customer::shanghai_date(now);
    let message = format!("工单 {}：{}", order.number, order.request.subject);
    let rows = told
        .into_iter()
        .map(|(person, kind)| {
            crate::finance::receivable::notice_row(
                tenant.uuid(),
                person,
                (kind, EntityKind::WorkOrder.name()),
                (order.id.uuid(), today),
                message.clone(),
                now,
            )
        })
        .collect();
    crate::finance::receivable::insert_notices(conn, rows).await?;
    Ok(())
}
