//! Data scopes as SQL. The domain decides *which* rule applies to an actor
//! ([`guanxi_domain::access::ScopeRule`]); this module turns the rule into a condition on
//! a record's owner column. The condition is evaluated by the database in the same
//! statement as the read, so a moved user or department counts at once and no extra
//! statement is spent per request.

use guanxi_domain::access::{DepartmentRule, ScopeRule};
use guanxi_domain::ids::TenantId;
use sea_orm::sea_query::{BinOper, Expr, ExprTrait, IntoColumnRef, SimpleExpr};
use sea_orm::{Condition, DbBackend};

/// The templates use `?`; sea-query's PostgreSQL builder numbers `$` placeholders instead.
fn placeholders(backend: DbBackend, template: &str) -> String {
    match backend {
        DbBackend::Postgres => template.replace('?', "$"),
        _ => template.to_owned(),
    }
}

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
    let t = tenant.uuid();
    let owner = Expr::col(owner);
    let in_set = |sql: &'static str, values: Vec<sea_orm::Value>| -> SimpleExpr {
        owner.clone().binary(BinOper::In, Expr::cust_with_values(placeholders(backend, sql), values))
    };
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
                placeholders(backend, SUBTREE),
                Vec::<sea_orm::Value>::from([t.into(), department.uuid().into(), t.into()]),
            ),
        )),
    }
}
