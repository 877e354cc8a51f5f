//! Data scopes as SQL. The domain decides *which* rule applies to an actor
//! ([`guanxi_domain::platform::access::ScopeRule`]); this module turns the rule into a condition on
//! a record's owner column. The condition is evaluated by the database in the same
//! statement as the read, so a moved user or department counts at once and no extra
//! statement is spent per request.

use guanxi_domain::entity::{EntityKind, OwnerAndCustomer};
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::access::{CustomerRule, DepartmentRule, ScopeRule, ShareAccess, Sharing};
use sea_orm::sea_query::{Alias, BinOper, Expr, ExprTrait, IntoColumnRef, Query, SimpleExpr};
use sea_orm::{ColumnTrait, Condition, DbBackend, EntityTrait, QueryFilter, Select};

/// Users in the management chain below (and including) a user.
const SUBORDINATES: &str = "(WITH RECURSIVE chain(id) AS (\
    SELECT id FROM users WHERE tenant_id = ? AND id = ? \
    UNION SELECT u.id FROM users u JOIN chain ON u.manager_id = chain.id WHERE u.tenant_id = ?\
    ) SELECT id FROM chain)";

/// Users whose department is one department.
const DEPARTMENT_MEMBERS: &str = "(SELECT id FROM users WHERE tenant_id = ? AND department_id = ?)";

/// Users whose department lies in a department's subtree (the department included).
const SUBTREE_MEMBERS: &str = "(SELECT id FROM users WHERE tenant_id = ? AND department_id IN (\
    WITH RECURSIVE tree(id) AS (\
    SELECT id FROM departments WHERE tenant_id = ? AND id = ? \
    UNION SELECT d.id FROM departments d JOIN tree ON d.parent_id = tree.id WHERE d.tenant_id = ?\
    ) SELECT id FROM tree))";

/// A department and every department below it.
const SUBTREE: &str = "(WITH RECURSIVE tree(id) AS (\
    SELECT id FROM departments WHERE tenant_id = ? AND id = ? \
    UNION SELECT d.id FROM departments d JOIN tree ON d.parent_id = tree.id WHERE d.tenant_id = ?\
    ) SELECT id FROM tree)";

/// The condition "the record's owner is visible under `rule`".
pub fn owner_condition<Col: IntoColumnRef>(
    backend: DbBackend,
    tenant: TenantId,
    rule: ScopeRule,
    owner: Col,
) -> Condition {
    owner_in(backend, tenant, rule, owner, SetForm::Subquery)
}

/// How a condition names a set of ids computed by a subquery.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetForm {
    /// `column IN (subquery)`, which both engines plan as a semi-join when it stands alone.
    Subquery,
    /// For a term of an `OR`: on PostgreSQL `column = ANY(ARRAY(subquery))`, computed once
    /// (an init plan) and served by the column's index, so the planner can OR two index
    /// scans where an `IN` would filter every row of the tenant; SQLite's `IN` already
    /// runs once and probes the index.
    Array,
}

/// `column` is among the ids `sql` (with `values` bound) selects, in `form`.
fn in_ids(backend: DbBackend, form: SetForm, column: Expr, sql: &str, values: Vec<sea_orm::Value>) -> SimpleExpr {
    match (backend, form) {
        (DbBackend::Postgres, SetForm::Array) => column.binary(
            BinOper::Custom("= ANY"),
            Expr::cust_with_values(crate::dialect::fragment(backend, &format!("(ARRAY{sql})")), values),
        ),
        _ => column.binary(BinOper::In, Expr::cust_with_values(crate::dialect::fragment(backend, sql), values)),
    }
}

fn owner_in<Col: IntoColumnRef>(
    backend: DbBackend,
    tenant: TenantId,
    rule: ScopeRule,
    owner: Col,
    form: SetForm,
) -> Condition {
    let t = tenant.uuid();
    let owner = Expr::col(owner);
    let in_set = |sql: &'static str, values: Vec<sea_orm::Value>| in_ids(backend, form, owner.clone(), sql, values);
    match rule {
        ScopeRule::All => Condition::all(),
        ScopeRule::OwnedBy(user) => Condition::all().add(owner.clone().eq(user.uuid())),
        ScopeRule::OwnedByUserOrSubordinates(user) => {
            Condition::all().add(in_set(SUBORDINATES, vec![t.into(), user.uuid().into(), t.into()]))
        }
        ScopeRule::OwnedWithinDepartment(department) => {
            Condition::all().add(in_set(DEPARTMENT_MEMBERS, vec![t.into(), department.uuid().into()]))
        }
        ScopeRule::OwnedWithinDepartmentTree(department) => {
            Condition::all().add(in_set(SUBTREE_MEMBERS, vec![t.into(), t.into(), department.uuid().into(), t.into()]))
        }
    }
}

/// The records of one type shared with a user at an access or more, while the share
/// lasts: the expiry is part of the condition, so nothing runs when a share ends.
const SHARED: &str = "(SELECT record_id FROM collaborators WHERE tenant_id = ? AND user_id = ? \
    AND record_type = ? AND access IN (?, ?) AND (expires_at IS NULL OR expires_at > ?))";

/// The condition "`record` is shared with `sharing.with`": the ids of the live
/// collaborator rows naming them, found by their `(tenant_id, user_id, record_id)` index.
pub fn shared_with<Col: IntoColumnRef>(
    backend: DbBackend,
    tenant: TenantId,
    sharing: Sharing,
    record_type: EntityKind,
    record: Col,
) -> SimpleExpr {
    in_ids(backend, SetForm::Array, Expr::col(record), SHARED, shared_values(tenant, sharing, record_type))
}

/// The values [`SHARED`] binds: the tenant, the user, the record type, the accesses that
/// count (`at_least` and wider, the widest repeated to fill both places) and now.
fn shared_values(tenant: TenantId, sharing: Sharing, record_type: EntityKind) -> Vec<sea_orm::Value> {
    let mut access = sharing.at_least.at_least();
    let widest = ShareAccess::ReadWrite.as_str();
    let (first, second) = (access.next().unwrap_or(widest), access.next().unwrap_or(widest));
    vec![
        tenant.uuid().into(),
        sharing.with.uuid().into(),
        record_type.name().into(),
        first.into(),
        second.into(),
        chrono::Utc::now().into(),
    ]
}

/// The condition "the customer is one `rule` admits": its owner (`owner`) is in the
/// owner scope, or it (`id`) is shared with the caller. This is the one place sharing
/// widens what a caller reaches; every path to a customer or to what hangs off it comes
/// through here ([`visible_customer`], the customer list, analytics).
pub fn customer_condition<Col: IntoColumnRef>(
    backend: DbBackend,
    tenant: TenantId,
    rule: CustomerRule,
    (id, owner): (Col, Col),
) -> Condition {
    owner_or_shared(backend, tenant, (rule.owners, rule.shared), (owner, id))
}

/// The condition on a record that hangs off a customer and has its own owner (contacts,
/// deals, quotes, …): its own module's rule admits its owner, or its customer is shared
/// with the caller (a collaborator sees what hangs off the customer, whoever owns it).
/// Used together with [`visible_customer`], which checks the customer itself.
pub fn owner_or_shared_customer<Col: IntoColumnRef>(
    backend: DbBackend,
    tenant: TenantId,
    scope: OwnerAndCustomer,
    (owner, customer_id): (Col, Col),
) -> Condition {
    // The customer's own shares count even when its owner rule admits every customer: a
    // rep who sees all customers but only their own contacts sees a shared one's all.
    owner_or_shared(backend, tenant, (scope.owner, scope.customer.shared), (owner, customer_id))
}

/// `owners` admits the owner, or the customer is shared: the two terms of an `OR` in their
/// array form; no sharing term when `owners` admits everyone or nothing is shared.
fn owner_or_shared<Col: IntoColumnRef>(
    backend: DbBackend,
    tenant: TenantId,
    (owners, sharing): (ScopeRule, Option<Sharing>),
    (owner, customer_id): (Col, Col),
) -> Condition {
    match (owners, sharing) {
        (ScopeRule::All, _) | (_, None) => owner_condition(backend, tenant, owners, owner),
        (_, Some(sharing)) => Condition::any()
            .add(owner_in(backend, tenant, owners, owner, SetForm::Array))
            .add(shared_with(backend, tenant, sharing, EntityKind::Customer, customer_id)),
    }
}

/// The condition "the department is visible under `rule`".
pub fn department_condition<Col: IntoColumnRef>(
    backend: DbBackend,
    tenant: TenantId,
    rule: DepartmentRule,
    id: Col,
) -> Condition {
    let t = tenant.uuid();
    let id = Expr::col(id);
    match rule {
        DepartmentRule::All => Condition::all(),
        DepartmentRule::Only(department) => Condition::all().add(id.eq(department.uuid())),
        DepartmentRule::Subtree(department) => Condition::all().add(id.binary(
            BinOper::In,
            Expr::cust_with_values(
                crate::dialect::fragment(backend, SUBTREE),
                Vec::<sea_orm::Value>::from([t.into(), department.uuid().into(), t.into()]),
            ),
        )),
    }
}

/// The condition "the record's customer is live and `rule` lets the caller see it", for
/// the scope of records that hang off a customer. `customer_id` is the record's column,
/// qualified by its table.
///
/// It is a correlated `EXISTS` probing the customer's primary key, not
/// `customer_id IN (all visible customers)`: with the `IN` list SQLite walks a whole
/// time index when the query also names one customer (800 ms instead of 1 ms for a
/// typical customer's timeline at 300k interactions), while PostgreSQL plans both
/// forms as the same semi-join.
pub fn visible_customer<Col: IntoColumnRef>(
    backend: DbBackend,
    tenant: TenantId,
    rule: CustomerRule,
    customer_id: Col,
) -> sea_orm::sea_query::SimpleExpr {
    let vc = Alias::new("vc");
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from_as(crate::entity::customer::Entity, vc.clone())
            .and_where(Expr::col((vc.clone(), crate::entity::customer::Column::TenantId)).eq(tenant.uuid()))
            .and_where(Expr::col((vc.clone(), crate::entity::customer::Column::Id)).equals(customer_id))
            .and_where(Expr::col((vc.clone(), crate::entity::customer::Column::DeletedAt)).is_null())
            .cond_where(customer_condition(
                backend,
                tenant,
                rule,
                ((vc.clone(), crate::entity::customer::Column::Id), (vc, crate::entity::customer::Column::OwnerId)),
            ))
            .to_owned(),
    )
}

/// The rows of `E` in `tenant` whose customer is live and admitted by `rule`: the scope of
/// every record that hangs off a customer (interactions, check-ins, visit plans; contacts
/// and deals add their own owner's scope).
pub fn of_visible_customers<E: EntityTrait>(
    backend: DbBackend,
    tenant: TenantId,
    rule: CustomerRule,
    tenant_column: E::Column,
    customer_column: E::Column,
) -> Select<E> {
    E::find().filter(tenant_column.eq(tenant.uuid())).filter(visible_customer(
        backend,
        tenant,
        rule,
        (E::default(), customer_column),
    ))
}

/// The rows of `E` in `tenant` whose customer is live and admitted by `scope.customer` and
/// whose own owner `scope.owner` admits: records seen through their own module's scope
/// and their customer's (quotes, orders).
pub fn of_owner_and_customer<E: EntityTrait>(
    backend: DbBackend,
    tenant: TenantId,
    scope: guanxi_domain::entity::OwnerAndCustomer,
    (tenant_column, customer_column, owner_column): (E::Column, E::Column, E::Column),
) -> Select<E> {
    E::find().filter(tenant_column.eq(tenant.uuid())).filter(owner_and_customer(
        backend,
        tenant,
        scope,
        ((E::default(), owner_column), (E::default(), customer_column)),
    ))
}

/// The condition "the record's customer is live and visible, and its own owner rule
/// admits it or its customer is shared with the caller": the scope of a record seen
/// through its own module and its customer, written once for every such kind.
pub fn owner_and_customer<Col: IntoColumnRef + Clone>(
    backend: DbBackend,
    tenant: TenantId,
    scope: OwnerAndCustomer,
    (owner, customer_id): (Col, Col),
) -> Condition {
    Condition::all()
        .add(visible_customer(backend, tenant, scope.customer, customer_id.clone()))
        .add(owner_or_shared_customer(backend, tenant, scope, (owner, customer_id)))
}

/// The scope of a document that goes through approval (contracts, receipts): its own
/// module's rule on its owner and the customer rule on its customer, or, for `approver`,
/// any document with a task waiting on them (an approver reads what they are asked to
/// approve, and only while it waits on them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrApprover {
    pub rules: guanxi_domain::entity::OwnerAndCustomer,
    pub approver: Option<guanxi_domain::ids::UserId>,
}

impl OrApprover {
    /// Everything (jobs, the demo loader).
    pub const ALL: Self = Self { rules: guanxi_domain::entity::OwnerAndCustomer::ALL, approver: None };
}

/// The rows of `E` `scope` admits (see [`OrApprover`]).
pub fn of_owner_customer_or_approver<E: EntityTrait>(
    backend: DbBackend,
    tenant: TenantId,
    scope: OrApprover,
    (tenant_column, customer_column, owner_column, id_column): (E::Column, E::Column, E::Column, E::Column),
) -> Select<E> {
    let in_scope = owner_and_customer(
        backend,
        tenant,
        scope.rules,
        ((E::default(), owner_column), (E::default(), customer_column)),
    );
    let mut either = Condition::any().add(in_scope);
    if let Some(approver) = scope.approver {
        use crate::entity::approval_task;
        let waiting = Expr::col((E::default(), id_column)).in_subquery(
            Query::select()
                .column(approval_task::Column::DocumentId)
                .from(approval_task::Entity)
                .and_where(approval_task::Column::TenantId.eq(tenant.uuid()))
                .and_where(approval_task::Column::ApproverId.eq(approver.uuid()))
                .and_where(approval_task::Column::Status.eq("PENDING"))
                .to_owned(),
        );
        either = either.add(waiting);
    }
    E::find().filter(tenant_column.eq(tenant.uuid())).filter(either)
}

/// The rows of `E` the work-order rule admits: its own module's rule on the owner and the
/// customer rule on the customer, or the caller being the row's technician (who sees the
/// order and its service address without seeing the customer).
pub fn of_assigned<E: EntityTrait>(
    backend: DbBackend,
    tenant: TenantId,
    scope: guanxi_domain::entity::Assigned,
    (tenant_column, customer_column, owner_column, technician_column): (E::Column, E::Column, E::Column, E::Column),
) -> Select<E> {
    let in_scope = owner_and_customer(
        backend,
        tenant,
        scope.rules,
        ((E::default(), owner_column), (E::default(), customer_column)),
    );
    let assigned = Expr::col((E::default(), technician_column)).eq(scope.technician);
    E::find().filter(tenant_column.eq(tenant.uuid())).filter(Condition::any().add(in_scope).add(assigned))
}

/// `rule` without its shares when the caller holds no live share of a customer (one
/// indexed statement): paths that answer from figures kept per customer owner (the stored
/// interaction counts) keep using them unless a share widens what the caller sees.
pub async fn without_idle_shares<C: sea_orm::ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: CustomerRule,
) -> crate::StoreResult<CustomerRule> {
    let Some(sharing) = rule.sharing() else { return Ok(rule) };
    let probe = crate::dialect::raw_statement(
        conn.get_database_backend(),
        &format!("SELECT 1 AS one WHERE EXISTS {SHARED}"),
        shared_values(tenant, sharing, EntityKind::Customer),
    );
    let shared = conn.query_one_raw(probe).await?.is_some();
    Ok(if shared { rule } else { CustomerRule { shared: None, ..rule } })
}
