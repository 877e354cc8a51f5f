//! Organisation writes: departments, users (create, edit, disable, enable) and roles, with the rule that nobody grants more than their own role allows.

use crate::graphql::context::{author, require, state};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::mutation::{Idempotent, Recycle, write, write_by_id};
use crate::graphql::platform::org::DEPARTMENT;
use crate::graphql::platform::org::Department;
use crate::graphql::platform::org::ModuleScope;
use crate::graphql::platform::org::ROLE;
use crate::graphql::platform::org::Role;
use crate::graphql::platform::org::USER;
use crate::graphql::platform::org::User;
use crate::graphql::relay::input_id;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use guanxi_domain::ErrorCode;
use guanxi_domain::ids::{DepartmentId, RoleId, UserId};
use guanxi_domain::phone::PhoneNumber;
use guanxi_domain::platform::access::{Actor, DataScope, Module, Permission, Role as DomainRole};
use guanxi_domain::platform::org::{
    Department as DomainDepartment, Email, Name, User as DomainUser, UserStatus as DomainStatus,
};
use guanxi_store::platform::department::{DepartmentPatch, NewDepartment};
use guanxi_store::platform::user::{NewUser, UserPatch};
use serde::Serialize;

// ---------------------------------------------------------------------------------------
// Mutations

#[derive(InputObject, Serialize)]
pub struct CreateDepartmentInput {
    pub name: String,
    /// Every department but the root has a parent.
    pub parent_id: ID,
    #[graphql(default)]
    pub sort_order: i32,
    /// Retries with the same key return the first result and create nothing new.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

crate::graphql::error::payload! {
    DepartmentPayload, department: Department(DomainDepartment)
}

#[derive(InputObject)]
pub struct UpdateDepartmentInput {
    pub id: ID,
    pub expected_version: i32,
    pub name: Option<String>,
    /// Moves the department (and its subtree) under another one.
    pub parent_id: Option<ID>,
    pub sort_order: Option<i32>,
    /// The department's head; null clears it.
    pub head_id: MaybeUndefined<ID>,
}

/// Identifies a versioned record for delete and restore.
#[derive(InputObject)]
pub struct VersionedIdInput {
    pub id: ID,
    pub expected_version: i32,
}

#[derive(InputObject, Serialize)]
pub struct CreateUserInput {
    pub email: String,
    pub display_name: String,
    pub phone: Option<String>,
    /// The initial password (8 to 128 characters).
    #[serde(skip)]
    pub password: String,
    pub department_id: ID,
    pub manager_id: Option<ID>,
    pub role_id: ID,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

crate::graphql::error::payload! {
    UserPayload, user: User(DomainUser)
}

#[derive(InputObject)]
pub struct UpdateUserInput {
    pub id: ID,
    pub expected_version: i32,
    pub display_name: Option<String>,
    /// null clears the phone number.
    pub phone: MaybeUndefined<String>,
    pub department_id: Option<ID>,
    /// null clears the manager.
    pub manager_id: MaybeUndefined<ID>,
    pub role_id: Option<ID>,
}

#[derive(InputObject, Serialize)]
pub struct CreateRoleInput {
    pub name: String,
    #[graphql(default)]
    pub description: String,
    /// Permission keys from `permissionCatalog`.
    pub permissions: Vec<String>,
    /// Data scopes; modules left out get OWN.
    pub scopes: Vec<ModuleScope>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateRoleInput {
    pub id: ID,
    pub expected_version: i32,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Replaces the permission list (give `scopes` too, or the current ones are kept).
    pub permissions: Option<Vec<String>>,
    pub scopes: Option<Vec<ModuleScope>>,
}

crate::graphql::error::payload! {
    RolePayload, role: Role(DomainRole)
}

const ESCALATION: &str = "you cannot grant more than your own role allows";

fn escalation(field: &str) -> UserError {
    UserError::new(field, ErrorCode::Forbidden, ESCALATION)
}

/// Refuses to hand someone a role that allows more than the actor's own.
async fn check_role_within(
    ctx: &Context<'_>,
    actor: &guanxi_domain::platform::access::Actor,
    role: uuid::Uuid,
) -> Result<(), UserError> {
    let found =
        guanxi_store::platform::role::find(state(ctx).db.connection(), actor.tenant_id, role).await.ok().flatten();
    match found {
        Some(r) if !r.grants.within(&actor.grants) => Err(escalation("roleId")),
        _ => Ok(()),
    }
}

/// Keeps a parsed value, or collects its error.
fn take<T>(invalid: &mut Vec<UserError>, parsed: Result<T, guanxi_domain::FieldError>) -> Option<T> {
    parsed.map_err(|e| invalid.push(UserError::new(&e.field, e.code, e.message))).ok()
}

/// Parses a name, collecting the error.
fn name(invalid: &mut Vec<UserError>, field: &str, raw: &str) -> Option<Name> {
    Name::parse(field, raw).map_err(|e| invalid.push(UserError::new(&e.field, e.code, e.message))).ok()
}

fn id_of(invalid: &mut Vec<UserError>, field: &str, id: &ID, kind: &str) -> Option<uuid::Uuid> {
    input_id(field, id, kind).map_err(|e| invalid.push(e)).ok()
}

fn scopes_of(scopes: &[ModuleScope]) -> Vec<(Module, DataScope)> {
    scopes.iter().map(|s| (s.module.into(), s.scope.into())).collect()
}

#[derive(Default)]
pub struct OrgMutation;

#[Object]
impl OrgMutation {
    async fn create_department(&self, ctx: &Context<'_>, input: CreateDepartmentInput) -> ApiResult<DepartmentPayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let mut invalid = Vec::new();
        let parsed_name = name(&mut invalid, "name", &input.name);
        let parent = id_of(&mut invalid, "parentId", &input.parent_id, DEPARTMENT);
        let (Some(parsed_name), Some(parent), true) = (parsed_name, parent, invalid.is_empty()) else {
            return Ok(Err(invalid).into());
        };
        let author = author(ctx, actor);
        let rule = actor.department_rule();
        let tenant = actor.tenant_id;
        let idempotent = Idempotent::new(actor, "createDepartment", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            |tx| {
                Box::pin(async move {
                    guanxi_store::platform::department::create(
                        tx,
                        &author,
                        rule,
                        NewDepartment {
                            name: parsed_name,
                            parent_id: Some(DepartmentId::from_uuid(parent)),
                            sort_order: input.sort_order,
                        },
                    )
                    .await
                    .map(|d| (d.id.uuid(), d))
                })
            },
            |tx, id| {
                Box::pin(async move {
                    guanxi_store::platform::department::find(tx, tenant, rule, id)
                        .await?
                        .ok_or(guanxi_store::StoreError::NotFound)
                })
            },
        )
        .await?;
        Ok(result.into())
    }

    async fn update_department(&self, ctx: &Context<'_>, input: UpdateDepartmentInput) -> ApiResult<DepartmentPayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let mut invalid = Vec::new();
        let id = id_of(&mut invalid, "id", &input.id, DEPARTMENT);
        let new_name = input.name.as_deref().map(|n| name(&mut invalid, "name", n));
        let parent = input.parent_id.as_ref().map(|p| id_of(&mut invalid, "parentId", p, DEPARTMENT));
        let head = match &input.head_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(h) => id_of(&mut invalid, "headId", h, USER).map(|u| Some(UserId::from_uuid(u))),
        };
        let Some(id) = id.filter(|_| invalid.is_empty()) else { return Ok(Err(invalid).into()) };
        let patch = DepartmentPatch {
            name: new_name.flatten(),
            parent_id: parent.flatten().map(DepartmentId::from_uuid),
            sort_order: input.sort_order,
            head_id: head,
        };
        let author = author(ctx, actor);
        let rule = actor.department_rule();
        let result = crate::graphql::mutation::transact(ctx, |tx| {
            Box::pin(async move {
                guanxi_store::platform::department::update(tx, &author, rule, id, input.expected_version, patch).await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Moves a department to the recycle bin (it must have no sub-departments and no users).
    async fn delete_department(&self, ctx: &Context<'_>, input: VersionedIdInput) -> ApiResult<DepartmentPayload> {
        recycle_department(ctx, input, Recycle::Delete).await
    }

    async fn restore_department(&self, ctx: &Context<'_>, input: VersionedIdInput) -> ApiResult<DepartmentPayload> {
        recycle_department(ctx, input, Recycle::Restore).await
    }

    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> ApiResult<UserPayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let mut invalid = Vec::new();
        let email = take(&mut invalid, Email::parse("email", &input.email));
        let display_name = take(&mut invalid, Name::parse("displayName", &input.display_name));
        let phone = input
            .phone
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(|p| take(&mut invalid, PhoneNumber::parse("phone", p)));
        let password = take(&mut invalid, guanxi_domain::platform::auth::Password::parse("password", &input.password));
        let department = id_of(&mut invalid, "departmentId", &input.department_id, DEPARTMENT);
        let role = id_of(&mut invalid, "roleId", &input.role_id, ROLE);
        let manager = input.manager_id.as_ref().map(|m| id_of(&mut invalid, "managerId", m, USER));
        let (Some(email), Some(display_name), Some(password), Some(department), Some(role), true) =
            (email, display_name, password, department, role, invalid.is_empty())
        else {
            return Ok(Err(invalid).into());
        };
        if let Err(e) = check_role_within(ctx, actor, role).await {
            return Ok(Err(vec![e]).into());
        }
        let password_hash =
            crate::auth::hash_password(password.expose().to_owned()).await.map_err(ApiError::internal)?;
        let author = author(ctx, actor);
        let departments = actor.department_rule();
        let rule = actor.scope_rule(Module::Org);
        let new_user = NewUser {
            email,
            display_name,
            phone: phone.flatten(),
            password_hash,
            department_id: DepartmentId::from_uuid(department),
            manager_id: manager.flatten().map(UserId::from_uuid),
            role_id: RoleId::from_uuid(role),
        };
        let idempotent = Idempotent::new(actor, "createUser", input.idempotency_key.as_deref(), &input);
        let tenant = actor.tenant_id;
        let result = write(
            ctx,
            idempotent,
            |tx| {
                Box::pin(async move {
                    guanxi_store::platform::user::create(tx, &author, departments, new_user)
                        .await
                        .map(|u| (u.id.uuid(), u))
                })
            },
            |tx, id| {
                Box::pin(async move {
                    guanxi_store::platform::user::find(tx, tenant, rule, id)
                        .await?
                        .ok_or(guanxi_store::StoreError::NotFound)
                })
            },
        )
        .await?;
        Ok(result.into())
    }

    async fn update_user(&self, ctx: &Context<'_>, input: UpdateUserInput) -> ApiResult<UserPayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let mut invalid = Vec::new();
        let id = id_of(&mut invalid, "id", &input.id, USER);
        let display_name = input.display_name.as_deref().map(|n| {
            Name::parse("displayName", n).map_err(|e| invalid.push(UserError::new(&e.field, e.code, e.message))).ok()
        });
        let phone = match &input.phone {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(p) if p.trim().is_empty() => Some(None),
            MaybeUndefined::Value(p) => match PhoneNumber::parse("phone", p) {
                Ok(p) => Some(Some(p)),
                Err(e) => {
                    invalid.push(UserError::new(&e.field, e.code, e.message));
                    None
                }
            },
        };
        let department = input.department_id.as_ref().map(|d| id_of(&mut invalid, "departmentId", d, DEPARTMENT));
        let role = input.role_id.as_ref().map(|r| id_of(&mut invalid, "roleId", r, ROLE));
        let manager = match &input.manager_id {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(m) => id_of(&mut invalid, "managerId", m, USER).map(|m| Some(UserId::from_uuid(m))),
        };
        let Some(id) = id.filter(|_| invalid.is_empty()) else { return Ok(Err(invalid).into()) };
        if let Some(Some(role)) = role
            && let Err(e) = check_role_within(ctx, actor, role).await
        {
            return Ok(Err(vec![e]).into());
        }
        let patch = UserPatch {
            display_name: display_name.flatten(),
            phone,
            department_id: department.flatten().map(DepartmentId::from_uuid),
            manager_id: manager,
            role_id: role.flatten().map(RoleId::from_uuid),
        };
        let author = author(ctx, actor);
        let (rule, departments) = (actor.scope_rule(Module::Org), actor.department_rule());
        let result = crate::graphql::mutation::transact(ctx, |tx| {
            Box::pin(async move {
                guanxi_store::platform::user::update(tx, &author, rule, departments, id, input.expected_version, patch)
                    .await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Disables a user: they cannot log in, and their sessions end at once.
    async fn disable_user(&self, ctx: &Context<'_>, input: VersionedIdInput) -> ApiResult<UserPayload> {
        set_status(ctx, input, DomainStatus::Disabled).await
    }

    async fn enable_user(&self, ctx: &Context<'_>, input: VersionedIdInput) -> ApiResult<UserPayload> {
        set_status(ctx, input, DomainStatus::Active).await
    }

    async fn create_role(&self, ctx: &Context<'_>, input: CreateRoleInput) -> ApiResult<RolePayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let mut invalid = Vec::new();
        let role_name = name(&mut invalid, "name", &input.name);
        let grants = guanxi_domain::platform::access::parse_grants(&input.permissions, &scopes_of(&input.scopes))
            .map_err(|e| invalid.extend(UserError::all(e)))
            .ok();
        let (Some(role_name), Some(grants), true) = (role_name, grants, invalid.is_empty()) else {
            return Ok(Err(invalid).into());
        };
        if !grants.within(&actor.grants) {
            return Ok(Err(vec![escalation("permissions")]).into());
        }
        let author = author(ctx, actor);
        let tenant = actor.tenant_id;
        let description = input.description.trim().to_owned();
        let idempotent = Idempotent::new(actor, "createRole", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            |tx| {
                Box::pin(async move {
                    guanxi_store::platform::role::create(
                        tx,
                        &author,
                        guanxi_store::platform::role::NewRole { name: role_name, description, grants },
                    )
                    .await
                    .map(|r| (r.id.uuid(), r))
                })
            },
            |tx, id| {
                Box::pin(async move {
                    guanxi_store::platform::role::find(tx, tenant, id).await?.ok_or(guanxi_store::StoreError::NotFound)
                })
            },
        )
        .await?;
        Ok(result.into())
    }

    async fn update_role(&self, ctx: &Context<'_>, input: UpdateRoleInput) -> ApiResult<RolePayload> {
        let actor = require(ctx, Permission::OrgManage)?;
        let mut invalid = Vec::new();
        let id = id_of(&mut invalid, "id", &input.id, ROLE);
        let role_name = input.name.as_deref().map(|n| name(&mut invalid, "name", n));
        let Some(id) = id.filter(|_| invalid.is_empty()) else { return Ok(Err(invalid).into()) };
        let tenant = actor.tenant_id;
        let author = author(ctx, actor);
        let own = actor.grants.clone();
        let (permissions, scopes, description, expected_version) =
            (input.permissions, input.scopes, input.description, input.expected_version);
        let result = crate::graphql::mutation::transact(ctx, |tx| {
            Box::pin(async move {
                let grants = if permissions.is_some() || scopes.is_some() {
                    let current = guanxi_store::platform::role::find(tx, tenant, id)
                        .await?
                        .ok_or(guanxi_store::StoreError::NotFound)?;
                    let keys = permissions
                        .unwrap_or_else(|| current.grants.permissions().map(|p| p.key().to_owned()).collect());
                    let scopes = scopes.map(|s| scopes_of(&s)).unwrap_or_else(|| current.grants.scopes().collect());
                    let grants = guanxi_domain::platform::access::parse_grants(&keys, &scopes)?;
                    if !grants.within(&own) {
                        return Err(guanxi_store::StoreError::rejected(
                            "permissions",
                            ErrorCode::Forbidden,
                            ESCALATION,
                        ));
                    }
                    Some(grants)
                } else {
                    None
                };
                let patch = guanxi_store::platform::role::RolePatch {
                    name: role_name.flatten(),
                    description: description.map(|d| d.trim().to_owned()),
                    grants,
                };
                guanxi_store::platform::role::update(tx, &author, id, expected_version, patch).await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Moves a tenant-defined role to the recycle bin (nobody may hold it).
    async fn delete_role(&self, ctx: &Context<'_>, input: VersionedIdInput) -> ApiResult<RolePayload> {
        recycle_role(ctx, input, Recycle::Delete).await
    }

    async fn restore_role(&self, ctx: &Context<'_>, input: VersionedIdInput) -> ApiResult<RolePayload> {
        recycle_role(ctx, input, Recycle::Restore).await
    }
}

/// Moves a department to the recycle bin or back, in one versioned, audited write.
async fn recycle_department(
    ctx: &Context<'_>,
    input: VersionedIdInput,
    action: Recycle,
) -> ApiResult<DepartmentPayload> {
    let expected = input.expected_version;
    write_by_id(ctx, Permission::OrgManage, (&input.id, DEPARTMENT), Actor::department_rule, move |tx, a, s, id| {
        Box::pin(async move {
            match action {
                Recycle::Delete => guanxi_store::platform::department::delete(tx, &a, s, id, expected).await,
                Recycle::Restore => guanxi_store::platform::department::restore(tx, &a, s, id, expected).await,
            }
        })
    })
    .await
}

/// Moves a role to the recycle bin or back, in one versioned, audited write.
async fn recycle_role(ctx: &Context<'_>, input: VersionedIdInput, action: Recycle) -> ApiResult<RolePayload> {
    let expected = input.expected_version;
    write_by_id(
        ctx,
        Permission::OrgManage,
        (&input.id, ROLE),
        |_| (),
        move |tx, a, (), id| {
            Box::pin(async move {
                match action {
                    Recycle::Delete => guanxi_store::platform::role::delete(tx, &a, id, expected).await,
                    Recycle::Restore => guanxi_store::platform::role::restore(tx, &a, id, expected).await,
                }
            })
        },
    )
    .await
}

async fn set_status(ctx: &Context<'_>, input: VersionedIdInput, status: DomainStatus) -> ApiResult<UserPayload> {
    let expected = input.expected_version;
    let rule = |a: &Actor| a.scope_rule(Module::Org);
    write_by_id(ctx, Permission::OrgManage, (&input.id, USER), rule, move |tx, a, rule, id| {
        Box::pin(async move { guanxi_store::platform::user::set_status(tx, &a, rule, id, expected, status).await })
    })
    .await
}
