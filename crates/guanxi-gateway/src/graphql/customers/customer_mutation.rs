//! Customer writes: create (after the duplicate check), update, delete, restore, copy and merge.

use crate::graphql::context::{author, require};
use crate::graphql::customers::customer::CUSTOM_FIELD_ENTITY;
use crate::graphql::customers::customer::CUSTOMER;
use crate::graphql::customers::customer::{matches_for, visible_ids};
use crate::graphql::customers::customer_input::CopyCustomerInput;
use crate::graphql::customers::customer_input::CreateCustomerInput;
use crate::graphql::customers::customer_input::CustomerIdInput;
use crate::graphql::customers::customer_input::CustomerPayload;
use crate::graphql::customers::customer_input::MergeCustomersInput;
use crate::graphql::customers::customer_input::UpdateCustomerInput;
use crate::graphql::customers::customer_input::blank_fields;
use crate::graphql::customers::customer_input::custom_input;
use crate::graphql::error::{ApiResult, UserError};
use crate::graphql::mutation::{Idempotent, transact, write_by_id, write_noting};
use crate::graphql::platform::org::USER;
use crate::graphql::relay::input_id;
use async_graphql::{Context, ID, MaybeUndefined, Object};
use guanxi_domain::customers::customer::{Customer as DomainCustomer, CustomerFields, DuplicateCheck, DuplicateReason};
use guanxi_domain::ids::UserId;
use guanxi_domain::platform::access::{Actor, Permission};
use guanxi_domain::platform::custom_field::check_values;
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use guanxi_store::customers::customer::{Edited, NewCustomer};
use guanxi_store::customers::customer_search::Duplicate;
use serde_json::Value;
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------
// Mutations

fn errors(invalid: Invalid) -> Vec<UserError> {
    UserError::all(invalid)
}

/// The owner of a new customer: the caller, or another user with `customer.transfer`;
/// none yet when the assignment rules are to pick one (`customer.transfer` too).
fn owner_of(actor: &Actor, requested: Option<&ID>, by_rules: bool) -> Result<Option<UserId>, Vec<UserError>> {
    if by_rules {
        if requested.is_some() {
            return Err(vec![UserError::new(
                "ownerId",
                ErrorCode::Invalid,
                "leave ownerId out to assign by the rules",
            )]);
        }
        if !actor.may(Permission::CustomerTransfer) {
            return Err(vec![UserError::new(
                "assignByRules",
                ErrorCode::Forbidden,
                "giving a customer to someone else needs `customer.transfer`",
            )]);
        }
        return Ok(None);
    }
    match requested {
        None => Ok(Some(actor.user_id)),
        Some(id) => {
            let owner = input_id("ownerId", id, USER).map_err(|e| vec![e])?;
            if owner != actor.user_id.uuid() && !actor.may(Permission::CustomerTransfer) {
                return Err(vec![UserError::new(
                    "ownerId",
                    ErrorCode::Forbidden,
                    "giving a customer to someone else needs `customer.transfer`",
                )]);
            }
            Ok(Some(UserId::from_uuid(owner)))
        }
    }
}

/// Why a create was refused: the bad fields, and the likely duplicates that stopped it.
pub(crate) struct Refused {
    pub invalid: Invalid,
    pub duplicates: Vec<Duplicate>,
}

impl From<Invalid> for Refused {
    fn from(invalid: Invalid) -> Self {
        Self { invalid, duplicates: Vec::new() }
    }
}

/// Every reason any of `found` matched.
fn reasons_of(found: &[guanxi_store::customers::customer_search::Duplicate]) -> Vec<DuplicateReason> {
    found.iter().flat_map(|d| d.reasons.iter().copied()).collect()
}

/// Creates a customer after the duplicate check, in the caller's transaction. Shared by
/// `createCustomer` and the CSV import.
pub(crate) async fn create_checked<C: guanxi_store::ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    author: &guanxi_store::platform::audit::Author,
    fields: CustomerFields,
    owner: Option<UserId>,
    custom: BTreeMap<String, Value>,
    confirm_duplicates: bool,
) -> Result<Result<DomainCustomer, Refused>, guanxi_store::StoreError> {
    let definitions =
        guanxi_store::platform::custom_field::definitions(conn, actor.tenant_id, CUSTOM_FIELD_ENTITY).await?;
    let custom = match check_values(&definitions, &custom, &BTreeMap::new(), true) {
        Ok(c) => c,
        Err(invalid) => return Ok(Err(invalid.into())),
    };
    let found = guanxi_store::customers::customer_search::duplicates_of(conn, actor.tenant_id, &fields, None).await?;
    // The policy is read only when there is something to decide (one statement fewer
    // for the usual create).
    if !found.is_empty() {
        let policy = guanxi_store::platform::tenant::settings(conn, actor.tenant_id).await?.duplicate_policy;
        if let Err(refusal) = policy.check(DuplicateCheck::Create, &reasons_of(&found), confirm_duplicates) {
            return Ok(Err(Refused { invalid: refusal.into(), duplicates: found }));
        }
    }
    let created = guanxi_store::customers::customer::create(
        conn,
        author,
        actor.customer_rule(),
        NewCustomer { fields, owner_id: owner, custom_fields: custom },
    )
    .await;
    match created {
        Ok(c) => Ok(Ok(c)),
        Err(guanxi_store::StoreError::Rejected(invalid)) => Ok(Err(invalid.into())),
        Err(e) => Err(e),
    }
}

#[derive(Default)]
pub struct CustomerMutation;

#[Object]
impl CustomerMutation {
    /// Creates a customer. The duplicate check runs first: under the tenant's BLOCK policy
    /// a match refuses; under WARN it refuses until the client sends `confirmDuplicates`.
    async fn create_customer(&self, ctx: &Context<'_>, input: CreateCustomerInput) -> ApiResult<CustomerPayload> {
        let actor = require(ctx, Permission::CustomerCreate)?.clone();
        let mut base = blank_fields();
        if let MaybeUndefined::Value(kind) = input.fields.kind {
            base.kind = kind.into();
        }
        let fields = input.fields.merge_into(&base);
        let custom = custom_input(&input.custom_fields);
        let by_rules = input.assign_by_rules;
        let owner = owner_of(&actor, input.owner_id.as_ref(), by_rules);
        let (fields, custom, owner) = match (fields, custom, owner) {
            (Ok(f), Ok(c), Ok(o)) => (f, c, o),
            (f, c, o) => {
                let mut all = Vec::new();
                if let Err(e) = f {
                    all.extend(errors(e));
                }
                if let Err(e) = c {
                    all.extend(errors(e));
                }
                if let Err(e) = o {
                    all.extend(e);
                }
                return Ok(Err(all).into());
            }
        };
        let author = author(ctx, &actor);
        let confirm = input.confirm_duplicates;
        let idempotent = Idempotent::new(&actor, "createCustomer", input.idempotency_key.as_deref(), &input);
        // A replay reloads what the rules gave, wherever it went (the payload is then
        // filtered by the caller's scope as the first call's was).
        let rule = if by_rules { guanxi_domain::platform::access::CustomerRule::ALL } else { actor.customer_rule() };
        let tenant = actor.tenant_id;
        let creator = actor.clone();
        let (result, matches) = write_noting(
            ctx,
            idempotent,
            move |tx, found: &mut Vec<_>| {
                Box::pin(async move {
                    match create_checked(tx, &creator, &author, fields, owner, custom, confirm).await? {
                        Ok(c) if by_rules => {
                            guanxi_store::sharing::assignment::assign_customer(tx, &author, &c).await?;
                            let id = c.id.uuid();
                            let all = guanxi_domain::platform::access::CustomerRule::ALL;
                            let assigned = guanxi_store::customers::customer::find(tx, tenant, all, id).await?;
                            Ok((id, assigned.ok_or(guanxi_store::StoreError::NotFound)?))
                        }
                        Ok(c) => Ok((c.id.uuid(), c)),
                        Err(refused) => {
                            // The matches go to the payload beside the rolled-back write.
                            *found = refused.duplicates;
                            Err(refused.invalid.into())
                        }
                    }
                })
            },
            move |tx, id| {
                Box::pin(async move {
                    guanxi_store::customers::customer::find(tx, tenant, rule, id)
                        .await?
                        .ok_or(guanxi_store::StoreError::NotFound)
                })
            },
        )
        .await?;
        let mut payload: CustomerPayload = result.into();
        // The rules may give it to someone whose customers the caller does not see.
        if let Some(created) = payload.customer.as_ref().filter(|_| by_rules) {
            let id = created.0.id.uuid();
            let conn = crate::graphql::context::state(ctx).db.connection();
            if guanxi_store::customers::customer::find(conn, actor.tenant_id, actor.customer_rule(), id)
                .await?
                .is_none()
            {
                payload.customer = None;
            }
        }
        if !matches.is_empty() {
            let visible = visible_ids(ctx, &actor, &matches).await?;
            payload.duplicates = matches_for(matches, &visible);
        }
        Ok(payload)
    }

    async fn update_customer(&self, ctx: &Context<'_>, input: UpdateCustomerInput) -> ApiResult<CustomerPayload> {
        let actor = require(ctx, Permission::CustomerUpdate)?.clone();
        let id = match input_id("id", &input.id, CUSTOMER) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let owner = match &input.owner_id {
            MaybeUndefined::Undefined => None,
            _ if !actor.may(Permission::CustomerTransfer) => {
                return Ok(Err(vec![UserError::new(
                    "ownerId",
                    ErrorCode::Forbidden,
                    "changing the owner needs `customer.transfer`",
                )])
                .into());
            }
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(owner) => match input_id("ownerId", owner, USER) {
                Ok(o) => Some(Some(UserId::from_uuid(o))),
                Err(e) => return Ok(Err(vec![e]).into()),
            },
        };
        let custom = match custom_input(&input.custom_fields) {
            Ok(c) => c,
            Err(e) => return Ok(Err(errors(e)).into()),
        };
        let author = author(ctx, &actor);
        // A READ_WRITE collaborator edits; handing the customer to someone else stays with
        // the owner side.
        let rule = if owner.is_some() { actor.customer_owner_rule() } else { actor.customer_write_rule() };
        let tenant = actor.tenant_id;
        let (fields_input, expected) = (input.fields, input.expected_version);
        let confirm = input.confirm_duplicates;
        let identity_changes =
            [&fields_input.name, &fields_input.tax_id, &fields_input.main_phone, &fields_input.finance_phone]
                .iter()
                .any(|f| matches!(f, MaybeUndefined::Value(_)));
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                let definitions =
                    guanxi_store::platform::custom_field::definitions(tx, tenant, CUSTOM_FIELD_ENTITY).await?;
                let updated = guanxi_store::customers::customer::update(tx, &author, rule, id, expected, |current| {
                    let fields = fields_input.merge_into(&current.fields);
                    let custom = check_values(&definitions, &custom, &current.custom_fields, false);
                    match (fields, custom) {
                        (Ok(fields), Ok(custom_fields)) => Ok(Edited { fields, custom_fields, owner_id: owner }),
                        (f, c) => {
                            let mut all = Invalid::default();
                            for e in [f.err(), c.err()].into_iter().flatten() {
                                all.0.extend(e.0);
                            }
                            Err(all)
                        }
                    }
                })
                .await?;
                // Changing what identifies the company runs the duplicate check again.
                if identity_changes {
                    let found =
                        guanxi_store::customers::customer_search::duplicates_of(tx, tenant, &updated.fields, Some(id))
                            .await?;
                    if !found.is_empty() {
                        let policy = guanxi_store::platform::tenant::settings(tx, tenant).await?.duplicate_policy;
                        policy.check(DuplicateCheck::Update, &reasons_of(&found), confirm)?;
                    }
                }
                Ok(updated)
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Moves a customer to the recycle bin.
    async fn delete_customer(&self, ctx: &Context<'_>, input: CustomerIdInput) -> ApiResult<CustomerPayload> {
        let expected = input.expected_version;
        write_by_id(
            ctx,
            Permission::CustomerDelete,
            (&input.id, CUSTOMER),
            |a| a.customer_owner_rule(),
            move |tx, a, s, id| {
                Box::pin(async move { guanxi_store::customers::customer::delete(tx, &a, s, id, expected).await })
            },
        )
        .await
    }

    /// Brings a customer back from the recycle bin. A merge tombstone comes back only for an
    /// admin (`org.manage`), and the records the merge moved return with it.
    async fn restore_customer(&self, ctx: &Context<'_>, input: CustomerIdInput) -> ApiResult<CustomerPayload> {
        let expected = input.expected_version;
        let scope = |a: &Actor| (a.customer_owner_rule(), a.may(Permission::OrgManage));
        write_by_id(ctx, Permission::CustomerDelete, (&input.id, CUSTOMER), scope, move |tx, a, (rule, undo), id| {
            Box::pin(async move { guanxi_store::customers::customer::restore(tx, &a, rule, id, expected, undo).await })
        })
        .await
    }

    /// Copies a customer into a new one owned by the caller (name + （副本）, no tax id).
    async fn copy_customer(&self, ctx: &Context<'_>, input: CopyCustomerInput) -> ApiResult<CustomerPayload> {
        let actor = require(ctx, Permission::CustomerCreate)?;
        let id = match input_id("id", &input.id, CUSTOMER) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = author(ctx, actor);
        let rule = actor.customer_rule();
        let owner = Some(actor.user_id);
        let result = transact(ctx, move |tx| {
            Box::pin(async move { guanxi_store::customers::customer::copy(tx, &author, rule, id, owner).await })
        })
        .await?;
        Ok(result.into())
    }

    /// Merges duplicates into a survivor, field by field. Contacts and every other related
    /// record move to the survivor; the merged customers become tombstones.
    async fn merge_customers(&self, ctx: &Context<'_>, input: MergeCustomersInput) -> ApiResult<CustomerPayload> {
        let actor = require(ctx, Permission::CustomerMerge)?;
        let mut problems = Vec::new();
        let survivor = input_id("survivorId", &input.survivor_id, CUSTOMER).map_err(|e| problems.push(e)).ok();
        let merged: Vec<uuid::Uuid> = input
            .merged_ids
            .iter()
            .filter_map(|m| input_id("mergedIds", m, CUSTOMER).map_err(|e| problems.push(e)).ok())
            .collect();
        let choices: Vec<(String, uuid::Uuid)> = input
            .choices
            .iter()
            .filter_map(|c| {
                input_id("choices.fromId", &c.from_id, CUSTOMER)
                    .map_err(|e| problems.push(e))
                    .ok()
                    .map(|id| (c.field.clone(), id))
            })
            .collect();
        let Some(survivor) = survivor.filter(|_| problems.is_empty()) else { return Ok(Err(problems).into()) };
        let author = author(ctx, actor);
        let rule = actor.customer_owner_rule();
        let expected = input.expected_version;
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::customers::customer::merge(
                    tx,
                    &author,
                    rule,
                    survivor,
                    expected,
                    &merged,
                    |kept, others| choose_fields(kept, others, &choices),
                )
                .await
            })
        })
        .await?;
        Ok(result.into())
    }
}

/// Builds the survivor's fields: the survivor's own values, filled where empty from the
/// merged customers in order, then the explicit choices.
fn choose_fields(
    survivor: &DomainCustomer,
    merged: &[DomainCustomer],
    choices: &[(String, uuid::Uuid)],
) -> Result<Edited, Invalid> {
    let to_map = |c: &DomainCustomer| -> serde_json::Map<String, Value> {
        serde_json::to_value(&c.fields).ok().and_then(|v| v.as_object().cloned()).unwrap_or_default()
    };
    let mut fields = to_map(survivor);
    let mut custom = survivor.custom_fields.clone();
    for other in merged {
        for (key, value) in to_map(other) {
            let empty = fields.get(&key).is_none_or(|v| v.is_null() || v.as_array().is_some_and(Vec::is_empty));
            if empty {
                fields.insert(key, value);
            }
        }
        for (key, value) in &other.custom_fields {
            custom.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    let mut invalid = Invalid::default();
    for (field, from) in choices {
        let Some(source) = std::iter::once(survivor).chain(merged).find(|c| c.id.uuid() == *from) else {
            invalid.push(FieldError::new(
                "choices.fromId",
                ErrorCode::Invalid,
                "choose from the survivor or a merged customer",
            ));
            continue;
        };
        if let Some(key) = field.strip_prefix("customFields.") {
            match source.custom_fields.get(key) {
                Some(v) => {
                    custom.insert(key.to_owned(), v.clone());
                }
                None => {
                    custom.remove(key);
                }
            }
        } else if fields.contains_key(field) && field != "kind" {
            fields.insert(field.clone(), to_map(source).get(field).cloned().unwrap_or(Value::Null));
        } else {
            invalid.push(FieldError::new(
                "choices.field",
                ErrorCode::Invalid,
                format!("`{field}` is not a customer field"),
            ));
        }
    }
    invalid.into_result()?;
    let fields: CustomerFields = serde_json::from_value(Value::Object(fields)).map_err(|e| {
        Invalid::one("choices", ErrorCode::Invalid, format!("the chosen fields do not fit together: {e}"))
    })?;
    Ok(Edited { fields, custom_fields: custom, owner_id: None })
}
