//! Assignment rules (分配规则) as rows, and the assignment of a new customer by them.
//!
//! Race-free by the rule's row lock: an assignment first bumps the rule's turn counter
//! (`UPDATE … SET cursor = cursor + 1 … RETURNING cursor`), which queues concurrent
//! arrivals on that row until the first commits, so each sees the turns and the 24-hour
//! counts of those before it. Rules are locked in priority order, so two arrivals never
//! wait on each other crosswise.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::customers::customer::Customer;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{TenantId, UserId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::sharing::assignment::{
    Arrival, AssignmentMode, AssignmentRule, AssignmentSubject, Conditions, RuleMember, RuleSettings,
};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{assignment_log, assignment_rule, customer, user};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};

pub const ENTITY: EntityKind = EntityKind::AssignmentRule;

fn to_domain(m: assignment_rule::Model) -> StoreResult<AssignmentRule> {
    let cell = |column| Cell::of("assignment_rules", m.id, column);
    Ok(AssignmentRule {
        id: m.id,
        settings: RuleSettings {
            name: m.name,
            applies_to: cell("applies_to").text(&m.applies_to, AssignmentSubject::parse)?,
            priority: m.priority,
            mode: cell("mode").text(&m.mode, AssignmentMode::parse)?,
            conditions: cell("conditions").json::<Conditions>(m.conditions)?,
            members: cell("members").json::<Vec<RuleMember>>(m.members)?,
            active: m.active,
        },
        turns: m.cursor,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// The tenant's live rules in the order they are tried: priority, then age.
pub async fn all<C: ConnectionTrait>(conn: &C, tenant: TenantId) -> StoreResult<Vec<AssignmentRule>> {
    assignment_rule::Entity::find()
        .filter(assignment_rule::Column::TenantId.eq(tenant.uuid()))
        .filter(assignment_rule::Column::DeletedAt.is_null())
        .order_by_asc(assignment_rule::Column::Priority)
        .order_by_asc(assignment_rule::Column::CreatedAt)
        .order_by_asc(assignment_rule::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// One live rule.
pub async fn find<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<Option<AssignmentRule>> {
    assignment_rule::Entity::find_by_id((tenant.uuid(), id))
        .filter(assignment_rule::Column::DeletedAt.is_null())
        .one(conn)
        .await?
        .map(to_domain)
        .transpose()
}

/// Every member must be an active user of the tenant.
async fn check_members<C: ConnectionTrait>(conn: &C, tenant: TenantId, members: &[RuleMember]) -> StoreResult<()> {
    let active = active_users(conn, tenant, members).await?;
    let mut invalid = guanxi_domain::Invalid::default();
    for (i, member) in members.iter().enumerate() {
        if !active.contains(&member.user_id.uuid()) {
            invalid.push(guanxi_domain::FieldError::new(
                format!("members.{i}.userId"),
                ErrorCode::NotFound,
                "no such active user",
            ));
        }
    }
    Ok(invalid.into_result()?)
}

/// The members who are active users of the tenant.
async fn active_users<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    members: &[RuleMember],
) -> StoreResult<Vec<Uuid>> {
    crate::platform::user::active_ids(conn, tenant, members.iter().map(|m| m.user_id.uuid())).await
}

fn settings_json(settings: &RuleSettings) -> serde_json::Value {
    serde_json::json!({
        "name": settings.name,
        "appliesTo": settings.applies_to.as_str(),
        "priority": settings.priority,
        "mode": settings.mode.as_str(),
        "conditions": settings.conditions,
        "members": settings.members,
        "active": settings.active,
    })
}

fn active_model(settings: &RuleSettings) -> assignment_rule::ActiveModel {
    assignment_rule::ActiveModel {
        name: Set(settings.name.clone()),
        applies_to: Set(settings.applies_to.as_str().to_owned()),
        priority: Set(settings.priority),
        mode: Set(settings.mode.as_str().to_owned()),
        conditions: Set(serde_json::to_value(&settings.conditions).unwrap_or_default()),
        members: Set(serde_json::to_value(&settings.members).unwrap_or_default()),
        active: Set(settings.active),
        ..Default::default()
    }
}

/// Adds a rule.
pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    settings: RuleSettings,
) -> StoreResult<AssignmentRule> {
    let tenant = author.tenant_id;
    let settings = settings.check()?;
    check_members(conn, tenant, &settings.members).await?;
    let (id, now) = (Uuid::now_v7(), Utc::now());
    let mut model = active_model(&settings);
    model.tenant_id = Set(tenant.uuid());
    model.id = Set(id);
    model.cursor = Set(0);
    model.created_by = Set(author.user_id);
    model.version = Set(1);
    model.created_at = Set(now);
    model.updated_at = Set(now);
    model.deleted_at = Set(None);
    assignment_rule::Entity::insert(model).exec_without_returning(conn).await?;
    let changes = ChangeSet::new().diff(&serde_json::json!({}), &settings_json(&settings));
    audit::record(conn, author, ENTITY, id, Operation::Create, &changes).await?;
    find(conn, tenant, id).await?.ok_or(StoreError::NotFound)
}

/// The live rule at the expected version.
async fn current<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<AssignmentRule> {
    let before = find(conn, tenant, id).await?.ok_or(StoreError::NotFound)?;
    if before.version != expected_version {
        return Err(StoreError::version_conflict(expected_version, before.version));
    }
    Ok(before)
}

/// Writes `model` over the rule at `expected_version` (a concurrent write fails it).
async fn write<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (id, expected_version): (Uuid, i32),
    mut model: assignment_rule::ActiveModel,
) -> StoreResult<()> {
    model.version = Set(expected_version + 1);
    model.updated_at = Set(Utc::now());
    let written = assignment_rule::Entity::update_many()
        .set(model)
        .filter(assignment_rule::Column::TenantId.eq(tenant.uuid()))
        .filter(assignment_rule::Column::Id.eq(id))
        .filter(assignment_rule::Column::Version.eq(expected_version))
        .exec(conn)
        .await?;
    if written.rows_affected == 0 {
        return Err(StoreError::version_conflict(expected_version, expected_version + 1));
    }
    Ok(())
}

/// Replaces a rule's settings at the expected version (its turn counter stays).
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    expected_version: i32,
    settings: RuleSettings,
) -> StoreResult<AssignmentRule> {
    let tenant = author.tenant_id;
    let before = current(conn, tenant, id, expected_version).await?;
    let settings = settings.check()?;
    check_members(conn, tenant, &settings.members).await?;
    let changes = ChangeSet::new().diff(&settings_json(&before.settings), &settings_json(&settings));
    if changes.is_empty() {
        return Ok(before);
    }
    write(conn, tenant, (id, expected_version), active_model(&settings)).await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    find(conn, tenant, id).await?.ok_or(StoreError::NotFound)
}

/// Deletes a rule at the expected version; its log stays.
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<AssignmentRule> {
    let tenant = author.tenant_id;
    let before = current(conn, tenant, id, expected_version).await?;
    let model = assignment_rule::ActiveModel { deleted_at: Set(Some(Utc::now())), ..Default::default() };
    write(conn, tenant, (id, expected_version), model).await?;
    audit::record(conn, author, ENTITY, id, Operation::Delete, &ChangeSet::new()).await?;
    Ok(before)
}

/// What each member of `rules` received from that rule in the 24 hours before now:
/// `(rule, user) -> n`, one grouped statement.
pub async fn received_last_day<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rules: &[Uuid],
) -> StoreResult<HashMap<(Uuid, Uuid), i64>> {
    let since = Utc::now() - Duration::hours(24);
    let rows: Vec<(Uuid, Uuid, i64)> = assignment_log::Entity::find()
        .select_only()
        .column(assignment_log::Column::RuleId)
        .column(assignment_log::Column::UserId)
        .column_as(assignment_log::Column::Id.count(), "n")
        .filter(assignment_log::Column::TenantId.eq(tenant.uuid()))
        .filter(assignment_log::Column::RuleId.is_in(rules.iter().copied()))
        .filter(assignment_log::Column::At.gt(since))
        .group_by(assignment_log::Column::RuleId)
        .group_by(assignment_log::Column::UserId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|(rule, user, n)| ((rule, user), n)).collect())
}

/// What the rules match a customer on.
fn arrival_of(customer: &Customer) -> Arrival {
    let fields = &customer.fields;
    Arrival {
        region: fields.region.clone().or_else(|| fields.province.clone()),
        industry: fields.industry.clone(),
        source: fields.source.clone(),
        level: fields.level.clone(),
    }
}

/// Takes the rule's next turn under its row lock; returns the turn this arrival has.
async fn take_turn<C: ConnectionTrait>(conn: &C, tenant: TenantId, rule: Uuid) -> StoreResult<Option<i64>> {
    let bump = Query::update()
        .table("assignment_rules")
        .value("cursor", Expr::col("cursor").add(1))
        .and_where(Expr::col("tenant_id").eq(tenant.uuid()))
        .and_where(Expr::col("id").eq(rule))
        .and_where(Expr::col("deleted_at").is_null())
        .and_where(Expr::col("active").eq(true))
        .returning_col("cursor")
        .to_owned();
    match conn.query_one(&bump).await? {
        Some(row) => Ok(Some(row.try_get::<i64>("", "cursor")? - 1)),
        None => Ok(None),
    }
}

/// Gives a new customer without an owner to whoever the tenant's customer rules pick, if
/// anyone: sets its owner, logs the assignment and records an `ASSIGN` change event naming
/// the rule. Returns the owner and the rule.
pub async fn assign_customer<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    new: &Customer,
) -> StoreResult<Option<(UserId, AssignmentRule)>> {
    let tenant = author.tenant_id;
    let Some((owner, rule)) = pick_owner(conn, tenant, AssignmentSubject::Customers, &arrival_of(new)).await? else {
        return Ok(None);
    };
    let id = new.id.uuid();
    let department = user::Entity::find_by_id((tenant.uuid(), owner.uuid())).one(conn).await?.map(|u| u.department_id);
    let given = crate::customers::customer::give_to(owner, department, Utc::now())
        .filter(customer::Column::TenantId.eq(tenant.uuid()))
        .filter(customer::Column::Id.eq(id))
        .filter(customer::Column::OwnerId.is_null())
        .exec(conn)
        .await?;
    if given.rows_affected != 1 {
        return Err(StoreError::rejected("id", ErrorCode::Conflict, "the customer has an owner already"));
    }
    record_assignment(conn, author, (EntityKind::Customer, id), owner, &rule).await?;
    Ok(Some((owner, rule)))
}

/// The member the first matching rule for `subject` gives this arrival to, if any, with
/// the rule: the rule's turn is taken (under its row lock) whether or not it finds
/// someone, as a turn is what the arrival cost it.
pub async fn pick_owner<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    subject: AssignmentSubject,
    arrival: &Arrival,
) -> StoreResult<Option<(UserId, AssignmentRule)>> {
    let applies = |rule: &AssignmentRule| {
        rule.settings.active && rule.settings.applies_to == subject && rule.settings.conditions.matches(arrival)
    };
    for rule in all(conn, tenant).await? {
        if !applies(&rule) {
            continue;
        }
        let Some(turn) = take_turn(conn, tenant, rule.id).await? else { continue };
        // Read after the lock: the rule, its members' status and counts as the previous
        // arrival (or a concurrent edit of the rule) left them.
        let Some(rule) = find(conn, tenant, rule.id).await?.filter(applies) else { continue };
        let active = active_users(conn, tenant, &rule.settings.members).await?;
        let mut settings = rule.settings.clone();
        for member in &mut settings.members {
            member.opted_out |= !active.contains(&member.user_id.uuid());
        }
        let received = match settings.mode {
            AssignmentMode::Capacity => received_last_day(conn, tenant, &[rule.id]).await?,
            AssignmentMode::RoundRobin | AssignmentMode::ByRule => HashMap::new(),
        };
        let counts: Vec<i64> =
            settings.members.iter().map(|m| received.get(&(rule.id, m.user_id.uuid())).copied().unwrap_or(0)).collect();
        let Some(owner) = settings.pick(turn, |i| counts[i]) else { continue };
        return Ok(Some((owner, rule)));
    }
    Ok(None)
}

/// The log row (which the capacity quota counts) and the `ASSIGN` change event, naming
/// the rule, of a record a rule gave to `owner`.
pub async fn record_assignment<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (kind, id): (EntityKind, Uuid),
    owner: UserId,
    rule: &AssignmentRule,
) -> StoreResult<()> {
    assignment_log::Entity::insert(assignment_log::ActiveModel {
        tenant_id: Set(author.tenant_id.uuid()),
        id: Set(Uuid::now_v7()),
        rule_id: Set(rule.id),
        user_id: Set(owner.uuid()),
        record_type: Set(kind.name().to_owned()),
        record_id: Set(id),
        at: Set(Utc::now()),
    })
    .exec_without_returning(conn)
    .await?;
    let changes = ChangeSet::new().field("ownerId", None::<Uuid>, owner.uuid()).field(
        "assignmentRule",
        None::<()>,
        serde_json::json!({"id": rule.id, "name": rule.settings.name}),
    );
    audit::record(conn, author, kind, id, Operation::Assign, &changes).await?;
    Ok(())
}
