//! Data loaders: every nested relation is fetched in one statement per kind per request,
//! however many parents ask, and always through the caller's data scope.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use guanxi_domain::platform::access::{Actor, Module, Role};
use guanxi_domain::platform::org::{Department, User};
use guanxi_store::Database;
use uuid::Uuid;

use super::error::ApiError;

/// Loads records for one actor; built per request so nothing leaks between callers.
pub struct ScopedLoader {
    pub(crate) db: Database,
    pub(crate) actor: Actor,
}

/// Departments by id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DepartmentKey(pub Uuid);
/// Users by id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserKey(pub Uuid);
/// Roles by id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoleKey(pub Uuid);
/// The live child departments of a department.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildrenKey(pub Uuid);
/// How many visible users a department has.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberCountKey(pub Uuid);

pub type Loaders = DataLoader<ScopedLoader>;

pub fn loaders(db: Database, actor: Actor, delay: std::time::Duration) -> Loaders {
    DataLoader::new(ScopedLoader { db, actor }, crate::telemetry::spawn_counted).delay(delay)
}

impl Loader<DepartmentKey> for ScopedLoader {
    type Value = Department;
    type Error = ApiError;

    async fn load(&self, keys: &[DepartmentKey]) -> Result<HashMap<DepartmentKey, Department>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = guanxi_store::platform::department::by_ids(
            self.db.connection(),
            self.actor.tenant_id,
            self.actor.department_rule(),
            &ids,
        )
        .await?;
        Ok(rows.into_iter().map(|d| (DepartmentKey(d.id.uuid()), d)).collect())
    }
}

impl Loader<UserKey> for ScopedLoader {
    type Value = User;
    type Error = ApiError;

    async fn load(&self, keys: &[UserKey]) -> Result<HashMap<UserKey, User>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = guanxi_store::platform::user::by_ids(
            self.db.connection(),
            self.actor.tenant_id,
            self.actor.scope_rule(Module::Org),
            &ids,
        )
        .await?;
        Ok(rows.into_iter().map(|u| (UserKey(u.id.uuid()), u)).collect())
    }
}

impl Loader<RoleKey> for ScopedLoader {
    type Value = Role;
    type Error = ApiError;

    async fn load(&self, keys: &[RoleKey]) -> Result<HashMap<RoleKey, Role>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = guanxi_store::platform::role::by_ids(self.db.connection(), self.actor.tenant_id, &ids).await?;
        Ok(rows.into_iter().map(|r| (RoleKey(r.id.uuid()), r)).collect())
    }
}

impl Loader<ChildrenKey> for ScopedLoader {
    type Value = Vec<Department>;
    type Error = ApiError;

    async fn load(&self, keys: &[ChildrenKey]) -> Result<HashMap<ChildrenKey, Vec<Department>>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = guanxi_store::platform::department::children_of(
            self.db.connection(),
            self.actor.tenant_id,
            self.actor.department_rule(),
            &ids,
        )
        .await?;
        let mut out: HashMap<ChildrenKey, Vec<Department>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for department in rows {
            if let Some(parent) = department.parent_id {
                out.entry(ChildrenKey(parent.uuid())).or_default().push(department);
            }
        }
        Ok(out)
    }
}

impl Loader<MemberCountKey> for ScopedLoader {
    type Value = i64;
    type Error = ApiError;

    async fn load(&self, keys: &[MemberCountKey]) -> Result<HashMap<MemberCountKey, i64>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = guanxi_store::platform::user::count_by_department(
            self.db.connection(),
            self.actor.tenant_id,
            self.actor.scope_rule(Module::Org),
            &ids,
        )
        .await?;
        let counts: HashMap<Uuid, i64> = rows.into_iter().collect();
        Ok(keys.iter().map(|k| (*k, counts.get(&k.0).copied().unwrap_or(0))).collect())
    }
}

/// Customers by id, through the caller's `Customer` scope.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomerKey(pub Uuid);
/// The live contacts of a customer the caller may see.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContactsOfCustomerKey(pub Uuid);
/// Contacts by id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContactKey(pub Uuid);

impl ScopedLoader {
    pub fn contact_scope(&self) -> guanxi_store::customers::contact::ContactScope {
        contact_scope(&self.actor)
    }
}

/// The scopes a contact read needs, for an actor.
pub fn contact_scope(actor: &Actor) -> guanxi_store::customers::contact::ContactScope {
    guanxi_domain::entity::EntityKind::contact_rules(actor)
}

impl Loader<CustomerKey> for ScopedLoader {
    type Value = guanxi_domain::customers::customer::Customer;
    type Error = ApiError;

    async fn load(&self, keys: &[CustomerKey]) -> Result<HashMap<CustomerKey, Self::Value>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = guanxi_store::customers::customer::by_ids(
            self.db.connection(),
            self.actor.tenant_id,
            self.actor.customer_rule(),
            &ids,
        )
        .await?;
        Ok(rows.into_iter().map(|c| (CustomerKey(c.id.uuid()), c)).collect())
    }
}

impl Loader<ContactsOfCustomerKey> for ScopedLoader {
    type Value = Vec<guanxi_domain::customers::contact::Contact>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[ContactsOfCustomerKey],
    ) -> Result<HashMap<ContactsOfCustomerKey, Self::Value>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = guanxi_store::customers::contact::of_customers(
            self.db.connection(),
            self.actor.tenant_id,
            self.contact_scope(),
            &ids,
        )
        .await?;
        let mut out: HashMap<ContactsOfCustomerKey, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for contact in rows {
            out.entry(ContactsOfCustomerKey(contact.customer_id.uuid())).or_default().push(contact);
        }
        Ok(out)
    }
}

impl Loader<ContactKey> for ScopedLoader {
    type Value = guanxi_domain::customers::contact::Contact;
    type Error = ApiError;

    async fn load(&self, keys: &[ContactKey]) -> Result<HashMap<ContactKey, Self::Value>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = guanxi_store::customers::contact::by_ids(
            self.db.connection(),
            self.actor.tenant_id,
            self.contact_scope(),
            &ids,
        )
        .await?;
        Ok(rows.into_iter().map(|c| (ContactKey(c.id.uuid()), c)).collect())
    }
}

/// The outside systems' keys of a record (`source`, `externalId`), for a record the caller
/// already sees.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExternalKeysKey(pub guanxi_domain::entity::EntityKind, pub Uuid);

impl Loader<ExternalKeysKey> for ScopedLoader {
    type Value = Vec<(String, String)>;
    type Error = ApiError;

    async fn load(&self, keys: &[ExternalKeysKey]) -> Result<HashMap<ExternalKeysKey, Self::Value>, ApiError> {
        let mut by_kind: HashMap<guanxi_domain::entity::EntityKind, Vec<Uuid>> = HashMap::new();
        for key in keys {
            by_kind.entry(key.0).or_default().push(key.1);
        }
        let mut out = HashMap::new();
        for (kind, ids) in by_kind {
            let found = guanxi_store::platform::external_key::of_records(
                self.db.connection(),
                self.actor.tenant_id,
                kind,
                &ids,
            )
            .await?;
            out.extend(found.into_iter().map(|(id, pairs)| (ExternalKeysKey(kind, id), pairs)));
        }
        Ok(out)
    }
}

/// Interactions by id, through the caller's `Customer` scope.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct InteractionKey(pub Uuid);

impl Loader<InteractionKey> for ScopedLoader {
    type Value = guanxi_domain::activity::interaction::Interaction;
    type Error = ApiError;

    async fn load(&self, keys: &[InteractionKey]) -> Result<HashMap<InteractionKey, Self::Value>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = guanxi_store::activity::interaction::by_ids(
            self.db.connection(),
            self.actor.tenant_id,
            self.actor.customer_rule(),
            &ids,
        )
        .await?;
        Ok(rows.into_iter().map(|i| (InteractionKey(i.id.uuid()), i)).collect())
    }
}

/// The scopes an opportunity read needs, for an actor.
pub fn opportunity_scope(actor: &Actor) -> guanxi_store::sales::opportunity::OpportunityScope {
    guanxi_domain::entity::EntityKind::opportunity_rules(actor)
}

/// Opportunities by id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpportunityKey(pub Uuid);

impl Loader<OpportunityKey> for ScopedLoader {
    type Value = guanxi_domain::sales::opportunity::Opportunity;
    type Error = ApiError;

    async fn load(&self, keys: &[OpportunityKey]) -> Result<HashMap<OpportunityKey, Self::Value>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = guanxi_store::sales::opportunity::by_ids(
            self.db.connection(),
            self.actor.tenant_id,
            opportunity_scope(&self.actor),
            &ids,
        )
        .await?;
        Ok(rows.into_iter().map(|o| (OpportunityKey(o.id.uuid()), o)).collect())
    }
}

/// The stages of a pipeline, in order. Pipelines are tenant configuration, visible to
/// everyone who may read opportunities.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PipelineStagesKey(pub Uuid);

impl Loader<PipelineStagesKey> for ScopedLoader {
    type Value = Vec<guanxi_domain::sales::opportunity::Stage>;
    type Error = ApiError;

    async fn load(&self, keys: &[PipelineStagesKey]) -> Result<HashMap<PipelineStagesKey, Self::Value>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut stages =
            guanxi_store::sales::pipeline::stages_of(self.db.connection(), self.actor.tenant_id, &ids).await?;
        Ok(keys.iter().map(|k| (*k, stages.remove(&k.0.into()).unwrap_or_default())).collect())
    }
}

/// The stage changes of an opportunity (whose visibility the caller already checked).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StageChangesKey(pub Uuid);

impl Loader<StageChangesKey> for ScopedLoader {
    type Value = Vec<guanxi_domain::sales::opportunity::StageChange>;
    type Error = ApiError;

    async fn load(&self, keys: &[StageChangesKey]) -> Result<HashMap<StageChangesKey, Self::Value>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows =
            guanxi_store::sales::opportunity::stage_changes(self.db.connection(), self.actor.tenant_id, &ids).await?;
        let mut out: HashMap<StageChangesKey, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            out.entry(StageChangesKey(row.opportunity_id.uuid())).or_default().push(row);
        }
        Ok(out)
    }
}

/// A loader's answer for keys that each have many values: `values` grouped by the key
/// `key_of` gives each.
pub fn grouped<K: std::hash::Hash + Eq, V>(
    values: impl IntoIterator<Item = V>,
    key_of: impl Fn(&V) -> K,
) -> std::collections::HashMap<K, Vec<V>> {
    let mut out: std::collections::HashMap<K, Vec<V>> = std::collections::HashMap::new();
    for value in values {
        out.entry(key_of(&value)).or_default().push(value);
    }
    out
}
