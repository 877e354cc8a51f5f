//! Commission plans (佣金方案) and contracts' splits between reps (业绩分配). Plans are
//! the tenant's configuration, seen by whoever reads commissions; saving one refuses a
//! rep it would put under two plans on one day.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::finance::commission::{Member, MemberKind, Plan, PlanFields, PlanRules, Staff};
use guanxi_domain::ids::{CommissionPlanId, TenantId, UserId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::trade::money::{from_e4, to_e4};
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Select,
};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{commission_plan, contract_split, department, user};
use crate::error::{StoreError, StoreResult};
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Scoped};
use crate::scope::OrApprover;

pub const ENTITY: EntityKind = EntityKind::CommissionPlan;

pub fn to_domain(m: commission_plan::Model) -> StoreResult<Plan> {
    let cell = |column| Cell::of("commission_plans", m.id, column);
    Ok(Plan {
        id: m.id.into(),
        fields: PlanFields {
            name: m.name,
            earned_on: cell("earned_on").text(&m.earned_on, guanxi_domain::finance::commission::EarnedOn::parse)?,
            base: cell("base").text(&m.base, guanxi_domain::finance::commission::BaseAmount::parse)?,
            rules: cell("rules").json::<PlanRules>(m.rules)?,
            members: cell("members").json::<Vec<Member>>(m.members)?,
            effective_from: m.effective_from,
            effective_to: m.effective_to,
            active: m.active,
        },
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Commission plans: the tenant's, for whoever reads commissions.
pub struct Plans;

impl Scoped for Plans {
    type Entity = commission_plan::Entity;
    type Scope = ();
    type Record = Plan;
    const ID: commission_plan::Column = commission_plan::Column::Id;
    const DELETED_AT: Option<commission_plan::Column> = Some(commission_plan::Column::DeletedAt);

    fn visible(_: DbBackend, tenant: TenantId, (): ()) -> Select<commission_plan::Entity> {
        commission_plan::Entity::find().filter(commission_plan::Column::TenantId.eq(tenant.uuid()))
    }

    fn to_domain(model: commission_plan::Model) -> StoreResult<Plan> {
        to_domain(model)
    }
}

repo::versioned!(Plans, commission_plan);
repo::recyclable!(Plans, commission_plan, ENTITY);
repo::scoped_reads!(Plans);

/// Which plans a list asks for.
#[derive(Clone, Debug, Default)]
pub struct PlanFilter {
    /// Active and in effect on this day.
    pub applies_on: Option<NaiveDate>,
    pub deleted: Option<bool>,
}

impl repo::Listed for Plans {
    type Filter = PlanFilter;
    type Order = Direction;

    fn matching(backend: DbBackend, tenant: TenantId, (): (), filter: &PlanFilter) -> Select<commission_plan::Entity> {
        use commission_plan::Column as C;
        let mut all = Condition::all();
        if let Some(day) = filter.applies_on {
            all = all
                .add(C::Active.eq(true))
                .add(C::EffectiveFrom.lte(day))
                .add(Condition::any().add(C::EffectiveTo.is_null()).add(C::EffectiveTo.gte(day)));
        }
        repo::in_bin::<Self>(backend, tenant, (), filter.deleted).filter(all)
    }

    fn sort_key(direction: Direction) -> SortKey<commission_plan::Entity> {
        SortKey {
            name: "CREATED_AT",
            column: commission_plan::Column::CreatedAt,
            direction,
            value: |m: &commission_plan::Model| CursorValue::Time(m.created_at),
        }
    }

    fn id_of(model: &commission_plan::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Plans);

/// The tenant's live plans (a handful), for the calculation and the overlap check.
pub async fn live_plans<C: ConnectionTrait>(conn: &C, tenant: TenantId) -> StoreResult<Vec<Plan>> {
    let rows = Plans::live(conn.get_database_backend(), tenant, ()).all(conn).await?;
    rows.into_iter().map(to_domain).collect()
}

/// The tenants with a live, active plan, whose open months the nightly job recalculates.
pub async fn tenants_with_plans<C: ConnectionTrait>(conn: &C) -> StoreResult<Vec<TenantId>> {
    let found: Vec<Uuid> = commission_plan::Entity::find()
        .select_only()
        .column(commission_plan::Column::TenantId)
        .filter(commission_plan::Column::DeletedAt.is_null())
        .filter(commission_plan::Column::Active.eq(true))
        .distinct()
        .into_tuple()
        .all(conn)
        .await?;
    Ok(found.into_iter().map(TenantId::from_uuid).collect())
}

/// Users as plans see them (role, department and the departments above it), with their
/// names; all of the tenant's when `only` is `None`.
pub async fn staff<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    only: Option<&[Uuid]>,
) -> StoreResult<Vec<(Staff, String)>> {
    let parents: HashMap<Uuid, Option<Uuid>> = department::Entity::find()
        .select_only()
        .columns([department::Column::Id, department::Column::ParentId])
        .filter(department::Column::TenantId.eq(tenant.uuid()))
        .into_tuple::<(Uuid, Option<Uuid>)>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let mut users = user::Entity::find()
        .select_only()
        .columns([user::Column::Id, user::Column::RoleId, user::Column::DepartmentId, user::Column::DisplayName])
        .filter(user::Column::TenantId.eq(tenant.uuid()));
    if let Some(only) = only {
        users = users.filter(user::Column::Id.is_in(only.to_vec()));
    }
    let rows: Vec<(Uuid, Uuid, Uuid, String)> = users.into_tuple().all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|(id, role, department, name)| {
            let mut departments = vec![department];
            while let Some(Some(parent)) = departments.last().and_then(|d| parents.get(d)) {
                if departments.contains(parent) || departments.len() > 64 {
                    break;
                }
                departments.push(*parent);
            }
            (Staff { user_id: id.into(), role_id: role, departments }, name)
        })
        .collect())
}

/// Refuses a plan that names a member the tenant does not have, or that would put a rep
/// under two plans on one day.
async fn check_members<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    fields: &PlanFields,
    this: Option<Uuid>,
) -> StoreResult<()> {
    let mut invalid = Invalid::default();
    let everyone = staff(conn, tenant, None).await?;
    for (i, member) in fields.members.iter().enumerate() {
        let known = match member.kind {
            MemberKind::User => everyone.iter().any(|(s, _)| s.user_id.uuid() == member.id),
            MemberKind::Role => exists::<crate::entity::role::Entity, _>(conn, tenant, member.id).await?,
            MemberKind::Department => exists::<department::Entity, _>(conn, tenant, member.id).await?,
        };
        if !known {
            let message = format!("no such {} in this tenant", member.kind.as_str().to_lowercase());
            invalid.push(FieldError::new(format!("members.{i}.id"), ErrorCode::NotFound, message));
        }
    }
    let categories = crate::trade::product::categories(conn, tenant).await?;
    for (i, rate) in fields.rules.category_rates.iter().enumerate() {
        if !categories.iter().any(|c| c.id.uuid() == rate.category_id) {
            let field = format!("rules.categoryRates.{i}.categoryId");
            invalid.push(FieldError::new(field, ErrorCode::NotFound, "no such product category"));
        }
    }
    invalid.into_result()?;
    if !fields.active {
        return Ok(());
    }
    let others: Vec<Plan> = live_plans(conn, tenant)
        .await?
        .into_iter()
        .filter(|p| Some(p.id.uuid()) != this && p.fields.active && p.fields.overlaps(fields))
        .collect();
    for (staff, name) in &everyone {
        if fields.covers(staff).is_none() {
            continue;
        }
        if let Some(other) = others.iter().find(|p| p.fields.covers(staff).is_some()) {
            let to = other.fields.effective_to.map_or_else(|| "open-ended".to_owned(), |d| d.to_string());
            let message = format!(
                "{name} would be under two plans: 「{}」 already covers them from {} to {to}",
                other.fields.name, other.fields.effective_from
            );
            return Err(StoreError::rejected("members", ErrorCode::Conflict, message));
        }
    }
    Ok(())
}

/// Whether a row of a tenant table keyed `(tenant_id, id)` exists (a role, a department).
async fn exists<E, C>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<bool>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    use sea_orm::sea_query::Alias;
    let found = E::find()
        .select_only()
        .expr(Expr::val(1))
        .filter(Expr::col(Alias::new("tenant_id")).eq(tenant.uuid()))
        .filter(Expr::col(Alias::new("id")).eq(id))
        .into_tuple::<i32>()
        .one(conn)
        .await?;
    Ok(found.is_some())
}

fn json_of<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn changes(before: Option<&PlanFields>, after: &PlanFields) -> ChangeSet {
    ChangeSet::new()
        .field("name", before.map(|b| b.name.clone()), &after.name)
        .field("earnedOn", before.map(|b| b.earned_on.as_str()), after.earned_on.as_str())
        .field("base", before.map(|b| b.base.as_str()), after.base.as_str())
        .field("rules", before.map(|b| json_of(&b.rules)), json_of(&after.rules))
        .field("members", before.map(|b| json_of(&b.members)), json_of(&after.members))
        .field("effectiveFrom", before.map(|b| b.effective_from), after.effective_from)
        .field("effectiveTo", before.and_then(|b| b.effective_to), after.effective_to)
        .field("active", before.map(|b| b.active), after.active)
}

/// Saves a new plan.
pub async fn create<C: ConnectionTrait>(conn: &C, author: &Author, fields: PlanFields) -> StoreResult<Plan> {
    let tenant = author.tenant_id;
    let fields = fields.check()?;
    check_members(conn, tenant, &fields, None).await?;
    let id = CommissionPlanId::new().uuid();
    let now = Utc::now();
    let model = commission_plan::Entity::insert(commission_plan::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id),
        name: Set(fields.name.clone()),
        earned_on: Set(fields.earned_on.as_str().to_owned()),
        base: Set(fields.base.as_str().to_owned()),
        rules: Set(json_of(&fields.rules)),
        members: Set(json_of(&fields.members)),
        effective_from: Set(fields.effective_from),
        effective_to: Set(fields.effective_to),
        active: Set(fields.active),
        created_by: Set(author.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_with_returning(conn)
    .await?;
    audit::record(conn, author, ENTITY, id, Operation::Create, &changes(None, &fields)).await?;
    to_domain(model)
}

/// Rewrites a plan. Statements already confirmed keep what they were calculated with.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, expected_version): (Uuid, i32),
    fields: PlanFields,
) -> StoreResult<Plan> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Plans, C>(conn, tenant, (), id, expected_version).await?;
    let fields = fields.check()?;
    check_members(conn, tenant, &fields, Some(id)).await?;
    use commission_plan::Column as P;
    let update = repo::set_columns::<commission_plan::Entity>(vec![
        (P::Name, Expr::value(fields.name.clone())),
        (P::EarnedOn, Expr::value(fields.earned_on.as_str())),
        (P::Base, Expr::value(fields.base.as_str())),
        (P::Rules, Expr::value(json_of(&fields.rules))),
        (P::Members, Expr::value(json_of(&fields.members))),
        (P::EffectiveFrom, Expr::value(fields.effective_from)),
        (P::EffectiveTo, Expr::value(fields.effective_to)),
        (P::Active, Expr::value(fields.active)),
    ]);
    let after = repo::write_versioned::<Plans, C>(conn, tenant, id, expected_version, update).await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes(Some(&before.fields), &fields)).await?;
    Ok(after)
}

/// One rep's share of a contract's credit, in percent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    pub user_id: UserId,
    pub percent: Decimal,
}

/// The splits of some contracts, by contract (a contract without one credits its owner).
pub async fn splits_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    contracts: &[Uuid],
) -> StoreResult<HashMap<Uuid, Vec<Share>>> {
    if contracts.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = contract_split::Entity::find()
        .filter(contract_split::Column::TenantId.eq(tenant.uuid()))
        .filter(contract_split::Column::ContractId.is_in(contracts.to_vec()))
        .all(conn)
        .await?;
    let mut out: HashMap<Uuid, Vec<Share>> = HashMap::new();
    for row in rows {
        out.entry(row.contract_id)
            .or_default()
            .push(Share { user_id: row.user_id.into(), percent: from_e4(row.share_e4) });
    }
    for shares in out.values_mut() {
        shares.sort_by(|a, b| b.percent.cmp(&a.percent).then(a.user_id.uuid().cmp(&b.user_id.uuid())));
    }
    Ok(out)
}

/// Sets how a contract the caller may write credits its reps (业绩分配): the shares of
/// active users, adding up to 100 percent. An empty list goes back to the owner alone.
/// Once the contract is in force only someone who manages commissions (`manager`) may
/// change it; a superseded or void contract's is history.
pub async fn set_split<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (scope, manager): (OrApprover, bool),
    (contract_id, expected_version): (Uuid, i32),
    shares: Vec<(UserId, Decimal)>,
) -> StoreResult<Vec<Share>> {
    let tenant = author.tenant_id;
    let contract = repo::live_current::<crate::finance::contract::Contracts, C>(
        conn,
        tenant,
        scope,
        contract_id,
        expected_version,
    )
    .await?;
    use guanxi_domain::finance::contract::ContractStatus as S;
    let message = match contract.status {
        S::Superseded | S::Void => Some("the contract is no longer in force: its split is history"),
        S::Approved | S::Completed | S::Expired if !manager => {
            Some("the contract is in force: only someone who manages commissions may change its split")
        }
        _ => None,
    };
    if let Some(message) = message {
        return Err(StoreError::rejected("contractId", ErrorCode::IllegalState, message));
    }
    if !shares.is_empty() {
        guanxi_domain::finance::commission::check_split(&shares)?;
        let users: Vec<Uuid> = shares.iter().map(|(u, _)| u.uuid()).collect();
        let active: Vec<Uuid> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::TenantId.eq(tenant.uuid()))
            .filter(user::Column::Id.is_in(users.clone()))
            .filter(user::Column::Status.eq("ACTIVE"))
            .into_tuple()
            .all(conn)
            .await?;
        let mut invalid = Invalid::default();
        for (i, user) in users.iter().enumerate() {
            if !active.contains(user) {
                invalid.push(FieldError::new(format!("shares.{i}.userId"), ErrorCode::NotFound, "no such active user"));
            }
        }
        invalid.into_result()?;
    }
    let before = splits_of(conn, tenant, &[contract_id]).await?.remove(&contract_id).unwrap_or_default();
    contract_split::Entity::delete_many()
        .filter(contract_split::Column::TenantId.eq(tenant.uuid()))
        .filter(contract_split::Column::ContractId.eq(contract_id))
        .exec(conn)
        .await?;
    if !shares.is_empty() {
        let rows = shares.iter().map(|(user, percent)| contract_split::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            id: Set(Uuid::now_v7()),
            contract_id: Set(contract_id),
            user_id: Set(user.uuid()),
            share_e4: Set(to_e4(*percent)),
        });
        contract_split::Entity::insert_many(rows).exec_without_returning(conn).await?;
    }
    // The write moves the contract's version, so a concurrent split is a conflict.
    let update = repo::set_columns::<crate::entity::contract::Entity>(vec![]);
    repo::write_versioned::<crate::finance::contract::Contracts, C>(
        conn,
        tenant,
        contract_id,
        contract.version,
        update,
    )
    .await?;
    let text = |shares: &[Share]| {
        shares.iter().map(|s| format!("{}:{}", s.user_id.uuid(), s.percent.normalize())).collect::<Vec<_>>().join(",")
    };
    let after = splits_of(conn, tenant, &[contract_id]).await?.remove(&contract_id).unwrap_or_default();
    let change = ChangeSet::new().field("commissionSplit", Some(text(&before)), text(&after));
    audit::record(conn, author, EntityKind::Contract, contract_id, Operation::Update, &change).await?;
    Ok(after)
}
