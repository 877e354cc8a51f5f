//! Collaborators (协作人): rows of `collaborators`, added, changed and removed by the owner
//! side in the caller's transaction, each call with one change event on the shared record.
//! Reads of every other kind see them through [`crate::scope::customer_condition`].

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{TenantId, UserId};
use guanxi_domain::platform::access::ShareAccess;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::org::UserStatus;
use guanxi_domain::sharing::collaborator::{Collaborator, Member, check_members, shareable};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{collaborator, user};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};

/// The record being shared, as the caller reached it through the owner side of its scope.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub kind: EntityKind,
    pub record_id: Uuid,
    /// The customer, or the deal's customer.
    pub customer_id: Uuid,
    pub owner: Option<UserId>,
}

fn to_domain(m: collaborator::Model) -> StoreResult<Collaborator> {
    let column = |name: &'static str| Cell::of("collaborators", m.id, name);
    Ok(Collaborator {
        id: m.id,
        tenant_id: m.tenant_id.into(),
        record_type: column("record_type").text(&m.record_type, EntityKind::parse)?,
        record_id: m.record_id,
        customer_id: m.customer_id.into(),
        user_id: m.user_id.into(),
        access: column("access").text(&m.access, |s| s.parse().ok())?,
        expires_at: m.expires_at,
        note: m.note,
        created_by: m.created_by.map(UserId::from_uuid),
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// The collaborators of `records` (customers or deals), expired ones included, oldest
/// first: one statement for a page of records.
pub async fn of_records<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    records: &[Uuid],
) -> StoreResult<Vec<Collaborator>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    collaborator::Entity::find()
        .filter(collaborator::Column::TenantId.eq(tenant.uuid()))
        .filter(collaborator::Column::RecordId.is_in(records.iter().copied()))
        .order_by_asc(collaborator::Column::CreatedAt)
        .order_by_asc(collaborator::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// What a share says, for its change event: `"READ_WRITE until 2026-12-31T…"`.
fn described(access: ShareAccess, expires_at: Option<chrono::DateTime<Utc>>) -> String {
    match expires_at {
        Some(until) => format!("{} until {}", access.as_str(), until.to_rfc3339()),
        None => access.as_str().to_owned(),
    }
}

/// `rows` by user, as a change event describes them.
fn described_all(rows: &[Collaborator]) -> BTreeMap<Uuid, String> {
    rows.iter().map(|c| (c.user_id.uuid(), described(c.access, c.expires_at))).collect()
}

/// The collaborators of one record, by user, as their change events describe them.
async fn described_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    record: Uuid,
) -> StoreResult<BTreeMap<Uuid, String>> {
    Ok(described_all(&of_records(conn, tenant, &[record]).await?))
}

/// Shares `target` with `members`: a user already sharing it gets the new access and
/// expiry (so a retried call changes nothing). Each user must be an active user of the
/// tenant and not the owner. One change event on the record lists the collaborators
/// before and after.
pub async fn share<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    target: Target,
    members: &[Member],
    note: Option<&str>,
) -> StoreResult<Vec<Collaborator>> {
    let tenant = author.tenant_id;
    let now = Utc::now();
    check_target(target)?;
    check_members(members, target.owner, now)?;
    let ids: Vec<Uuid> = members.iter().map(|m| m.user_id.uuid()).collect();
    let active: Vec<Uuid> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::TenantId.eq(tenant.uuid()))
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .filter(user::Column::Status.eq(UserStatus::Active.as_str()))
        .into_tuple()
        .all(conn)
        .await?;
    if let Some(i) = ids.iter().position(|id| !active.contains(id)) {
        return Err(StoreError::rejected(&format!("members.{i}.userId"), ErrorCode::NotFound, "no such active user"));
    }
    let before = described_of(conn, tenant, target.record_id).await?;
    let existing: HashMap<Uuid, collaborator::Model> = collaborator::Entity::find()
        .filter(collaborator::Column::TenantId.eq(tenant.uuid()))
        .filter(collaborator::Column::RecordId.eq(target.record_id))
        .filter(collaborator::Column::UserId.is_in(ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| (m.user_id, m))
        .collect();
    let note = note.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    for member in members {
        let access = member.access.as_str().to_owned();
        match existing.get(&member.user_id.uuid()) {
            Some(row) if row.access == access && row.expires_at == member.expires_at => {}
            Some(row) => {
                collaborator::ActiveModel {
                    tenant_id: Set(row.tenant_id),
                    id: Set(row.id),
                    access: Set(access),
                    expires_at: Set(member.expires_at),
                    note: Set(note.clone().or(row.note.clone())),
                    version: Set(row.version + 1),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .update(conn)
                .await?;
            }
            None => {
                let row = collaborator::ActiveModel {
                    tenant_id: Set(tenant.uuid()),
                    id: Set(Uuid::now_v7()),
                    record_type: Set(target.kind.name().to_owned()),
                    record_id: Set(target.record_id),
                    customer_id: Set(target.customer_id),
                    user_id: Set(member.user_id.uuid()),
                    access: Set(access),
                    expires_at: Set(member.expires_at),
                    note: Set(note.clone()),
                    created_by: Set(author.user_id),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                };
                // A concurrent call sharing with the same user meets the unique key: the
                // later one's access and expiry stand, as if it had come second.
                let key =
                    [collaborator::Column::TenantId, collaborator::Column::UserId, collaborator::Column::RecordId];
                let update =
                    [collaborator::Column::Access, collaborator::Column::ExpiresAt, collaborator::Column::UpdatedAt];
                collaborator::Entity::insert(row)
                    .on_conflict(OnConflict::columns(key).update_columns(update).to_owned())
                    .exec(conn)
                    .await?;
            }
        }
    }
    changed(conn, author, target, before).await
}

/// Stops sharing `target` with `users` (those not sharing it are ignored).
pub async fn unshare<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    target: Target,
    users: &[UserId],
) -> StoreResult<Vec<Collaborator>> {
    let tenant = author.tenant_id;
    check_target(target)?;
    let before = described_of(conn, tenant, target.record_id).await?;
    collaborator::Entity::delete_many()
        .filter(collaborator::Column::TenantId.eq(tenant.uuid()))
        .filter(collaborator::Column::RecordId.eq(target.record_id))
        .filter(collaborator::Column::UserId.is_in(users.iter().map(|u| u.uuid())))
        .exec(conn)
        .await?;
    changed(conn, author, target, before).await
}

/// Only customers and deals are shared.
fn check_target(target: Target) -> StoreResult<()> {
    if shareable(target.kind) {
        Ok(())
    } else {
        Err(StoreError::rejected("recordId", ErrorCode::Invalid, "only a customer or a deal is shared"))
    }
}

/// Records the change of `target`'s collaborators (if any) and returns them as they are now.
async fn changed<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    target: Target,
    before: BTreeMap<Uuid, String>,
) -> StoreResult<Vec<Collaborator>> {
    let now = of_records(conn, author.tenant_id, &[target.record_id]).await?;
    let after = described_all(&now);
    let changes = ChangeSet::new().field("collaborators", &before, &after);
    audit::record(conn, author, target.kind, target.record_id, Operation::Update, &changes).await?;
    Ok(now)
}

/// Ends the shares of `customers` themselves (not of their deals, which stay with their
/// rep), with a change event on each customer that had any: a customer that goes into a
/// public pool has no owner side left to share it.
pub async fn end_customer_shares<C: ConnectionTrait>(conn: &C, author: &Author, customers: &[Uuid]) -> StoreResult<()> {
    let tenant = author.tenant_id;
    let mut rows = Vec::new();
    for chunk in customers.chunks(500) {
        rows.extend(
            collaborator::Entity::find()
                .filter(collaborator::Column::TenantId.eq(tenant.uuid()))
                .filter(collaborator::Column::RecordType.eq(EntityKind::Customer.name()))
                .filter(collaborator::Column::RecordId.is_in(chunk.iter().copied()))
                .all(conn)
                .await?,
        );
    }
    end_rows(conn, author, rows).await
}

/// Ends the shares `user` holds of customers and deals they now own themselves (after a
/// transfer or a handover gave them the record): an owner is no collaborator.
pub async fn end_self_shares<C: ConnectionTrait>(conn: &C, author: &Author, user: UserId) -> StoreResult<()> {
    let (tenant, user) = (author.tenant_id.uuid(), user.uuid());
    let owned = |table: &'static str| {
        Query::select()
            .column("id")
            .from(table)
            .and_where(Expr::col("tenant_id").eq(tenant))
            .and_where(Expr::col("owner_id").eq(user))
            .to_owned()
    };
    let rows = collaborator::Entity::find()
        .filter(collaborator::Column::TenantId.eq(tenant))
        .filter(collaborator::Column::UserId.eq(user))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(collaborator::Column::RecordType.eq(EntityKind::Customer.name()))
                        .add(collaborator::Column::RecordId.in_subquery(owned("customers"))),
                )
                .add(
                    Condition::all()
                        .add(collaborator::Column::RecordType.eq(EntityKind::Opportunity.name()))
                        .add(collaborator::Column::RecordId.in_subquery(owned("opportunities"))),
                ),
        )
        .all(conn)
        .await?;
    end_rows(conn, author, rows).await
}

/// Deletes share rows, with one change event per shared record naming the shares that
/// ended.
async fn end_rows<C: ConnectionTrait>(conn: &C, author: &Author, rows: Vec<collaborator::Model>) -> StoreResult<()> {
    let tenant = author.tenant_id;
    let mut ended: HashMap<(EntityKind, Uuid), Vec<Collaborator>> = HashMap::new();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    for row in rows {
        let row = to_domain(row)?;
        ended.entry((row.record_type, row.record_id)).or_default().push(row);
    }
    for chunk in ids.chunks(500) {
        collaborator::Entity::delete_many()
            .filter(collaborator::Column::TenantId.eq(tenant.uuid()))
            .filter(collaborator::Column::Id.is_in(chunk.iter().copied()))
            .exec(conn)
            .await?;
    }
    let none = BTreeMap::<Uuid, String>::new();
    let mut events: HashMap<EntityKind, Vec<_>> = HashMap::new();
    for ((kind, record), rows) in ended {
        let changes = ChangeSet::new().field("collaborators", described_all(&rows), &none);
        events.entry(kind).or_default().push((record, Operation::Update, changes));
    }
    for (kind, events) in events {
        audit::record_many(conn, author, kind, events).await?;
    }
    Ok(())
}

/// Gives the shares `from` holds to `to` (a handover of collaborations): where `to`
/// already shares the record, theirs stands and `from`'s ends; one change event per shared
/// record. Returns how many of `from`'s shares there were.
pub async fn hand_over<C: ConnectionTrait>(conn: &C, author: &Author, from: UserId, to: UserId) -> StoreResult<u64> {
    let tenant = author.tenant_id.uuid();
    let of_user = |user: UserId| {
        collaborator::Entity::find()
            .filter(collaborator::Column::TenantId.eq(tenant))
            .filter(collaborator::Column::UserId.eq(user.uuid()))
    };
    let held: Vec<Collaborator> =
        of_user(from).all(conn).await?.into_iter().map(to_domain).collect::<Result<_, _>>()?;
    if held.is_empty() {
        return Ok(0);
    }
    let mut theirs: HashMap<Uuid, Collaborator> = HashMap::new();
    for chunk in held.chunks(500) {
        for row in of_user(to)
            .filter(collaborator::Column::RecordId.is_in(chunk.iter().map(|c| c.record_id)))
            .all(conn)
            .await?
        {
            let share = to_domain(row)?;
            theirs.insert(share.record_id, share);
        }
    }
    let (dropped, moved): (Vec<&Collaborator>, Vec<&Collaborator>) =
        held.iter().partition(|c| theirs.contains_key(&c.record_id));
    for chunk in dropped.chunks(500) {
        collaborator::Entity::delete_many()
            .filter(collaborator::Column::TenantId.eq(tenant))
            .filter(collaborator::Column::Id.is_in(chunk.iter().map(|c| c.id)))
            .exec(conn)
            .await?;
    }
    for chunk in moved.chunks(500) {
        collaborator::Entity::update_many()
            .col_expr(collaborator::Column::UserId, Expr::value(to.uuid()))
            .col_expr(collaborator::Column::Version, Expr::col(collaborator::Column::Version).add(1))
            .col_expr(collaborator::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(collaborator::Column::TenantId.eq(tenant))
            .filter(collaborator::Column::Id.is_in(chunk.iter().map(|c| c.id)))
            .exec(conn)
            .await?;
    }
    let mut events: HashMap<EntityKind, Vec<_>> = HashMap::new();
    for share in &held {
        let after = theirs.get(&share.record_id).unwrap_or(share);
        let changes = ChangeSet::new().field(
            "collaborators",
            BTreeMap::from([(from.uuid(), described(share.access, share.expires_at))]),
            BTreeMap::from([(to.uuid(), described(after.access, after.expires_at))]),
        );
        events.entry(share.record_type).or_default().push((share.record_id, Operation::Update, changes));
    }
    for (kind, events) in events {
        audit::record_many(conn, author, kind, events).await?;
    }
    Ok(held.len() as u64)
}
