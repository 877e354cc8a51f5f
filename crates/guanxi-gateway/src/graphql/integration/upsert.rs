//! Bulk upsert by external key (批量同步) for ERP and finance integrators:
//! `upsert<Kind>s(input: {source, records, mode})`. Each record names its record by
//! `(source, externalId)`; the rules are in [`guanxi_domain::platform::upsert`], the
//! set-based writes in each kind's store module. An idempotency key makes a retried call
//! answer what the first one did.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::CustomerId;
use guanxi_domain::platform::access::{Actor, Permission};
use guanxi_domain::platform::custom_field::check_values;
use guanxi_domain::platform::upsert::{self, MAX_ROWS, RowResult};
use guanxi_domain::{ErrorCode, Invalid};
use guanxi_store::DatabaseTransaction;
use guanxi_store::platform::external_key;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::graphql::context::{author, require};
use crate::graphql::customers::contact::ContactFieldsInput;
use crate::graphql::customers::customer_input::{CustomerFieldsInput, blank_fields, custom_input};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::mutation::{Idempotent, write};
use crate::graphql::platform::org::USER;
use crate::graphql::relay::{global_id, input_id};

/// What a call does when some rows fail.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "guanxi_domain::platform::upsert::Mode")]
pub enum UpsertMode {
    /// Write the good rows; the failed ones say why.
    Partial,
    /// Write nothing when any row fails; the good rows answer `SKIPPED`.
    AllOrNothing,
}

/// What became of one row.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "guanxi_domain::platform::upsert::Outcome")]
pub enum UpsertOutcome {
    Created,
    Updated,
    /// Identical to the record as stored: nothing written, the version unchanged.
    Unchanged,
    Failed,
    /// Good, but not written because another row of an `ALL_OR_NOTHING` call failed.
    Skipped,
}

/// One row's result.
#[derive(SimpleObject)]
pub struct UpsertRowResult {
    /// The row's position in `records`.
    index: i32,
    external_id: String,
    outcome: UpsertOutcome,
    /// The record's global id, when the row created, updated or matched one.
    id: Option<ID>,
    user_errors: Vec<UserError>,
}

/// A call's results, row by row in input order, with counts.
#[derive(SimpleObject, Default)]
pub struct UpsertPayload {
    results: Vec<UpsertRowResult>,
    created_count: i32,
    updated_count: i32,
    unchanged_count: i32,
    failed_count: i32,
    skipped_count: i32,
    /// Errors of the call as a whole (a reused idempotency key); no row was read.
    user_errors: Vec<UserError>,
}

impl UpsertPayload {
    fn of(kind: EntityKind, results: Vec<RowResult>) -> Self {
        let [created, updated, unchanged, failed, skipped] = upsert::counts(&results).map(|n| n as i32);
        let results = results
            .into_iter()
            .enumerate()
            .map(|(index, r)| UpsertRowResult {
                index: index as i32,
                external_id: r.external_id,
                outcome: r.outcome.into(),
                id: r.id.map(|id| global_id(kind.name(), id)),
                user_errors: UserError::all(Invalid(r.errors)),
            })
            .collect();
        Self {
            results,
            created_count: created,
            updated_count: updated,
            unchanged_count: unchanged,
            failed_count: failed,
            skipped_count: skipped,
            user_errors: Vec::new(),
        }
    }
}

/// A record's key in an outside system, as upserts name it.
#[derive(SimpleObject)]
pub struct ExternalKey {
    /// The system, e.g. `kingdee`.
    source: String,
    external_id: String,
}

/// The outside keys of a record the caller sees, through the request's loader (one
/// statement for every record of a page).
pub async fn external_keys(ctx: &Context<'_>, kind: EntityKind, id: Uuid) -> ApiResult<Vec<ExternalKey>> {
    let keys = crate::graphql::trade::document::loaders(ctx)?
        .load_one(crate::graphql::loaders::ExternalKeysKey(kind, id))
        .await?;
    Ok(keys.unwrap_or_default().into_iter().map(|(source, external_id)| ExternalKey { source, external_id }).collect())
}

/// The checks every call makes before reading a row: the size and the source.
pub(crate) fn check_call(source: &str, rows: usize) -> ApiResult<String> {
    if rows > MAX_ROWS {
        return Err(ApiError::BadUserInput(format!("at most {MAX_ROWS} records per call")));
    }
    upsert::parse_source(source).map_err(|e| ApiError::BadUserInput(e.message))
}

/// The keys a call's records give for one reference (`key`), trimmed, to look up with
/// [`named`].
pub(crate) fn keys_named<R>(records: &[R], key: impl Fn(&R) -> Option<&String>) -> Vec<String> {
    records.iter().filter_map(|r| key(r).map(|k| k.trim().to_owned())).collect()
}

/// The records of `kind` that `keys` name in `source`, by key (one statement).
pub(crate) async fn named(
    tx: &DatabaseTransaction,
    tenant: guanxi_domain::ids::TenantId,
    (kind, source): (EntityKind, &str),
    keys: &[String],
) -> guanxi_store::StoreResult<std::collections::HashMap<String, Uuid>> {
    external_key::lookup(tx, tenant, kind, source, keys.iter().map(String::as_str)).await
}

/// The records each `(kind, keys)` names in `source`: one statement per kind.
pub(crate) async fn named_each<const N: usize>(
    tx: &DatabaseTransaction,
    tenant: guanxi_domain::ids::TenantId,
    source: &str,
    wanted: [(EntityKind, Vec<String>); N],
) -> guanxi_store::StoreResult<[std::collections::HashMap<String, Uuid>; N]> {
    let mut found: [std::collections::HashMap<String, Uuid>; N] = std::array::from_fn(|_| Default::default());
    for (slot, (kind, keys)) in found.iter_mut().zip(wanted) {
        *slot = named(tx, tenant, (kind, source), &keys).await?;
    }
    Ok(found)
}

/// Runs a call's upsert in the tenant's write transaction. With an idempotency key the
/// results are saved, and a retry with the same input answers them again.
pub(crate) async fn run<F>(
    ctx: &Context<'_>,
    actor: &Actor,
    (operation, kind): (&'static str, EntityKind),
    (key, input): (Option<&str>, &impl Serialize),
    source: String,
    upsert: F,
) -> ApiResult<UpsertPayload>
where
    F: for<'t> FnOnce(
            &'t DatabaseTransaction,
        ) -> futures::future::BoxFuture<'t, guanxi_store::StoreResult<Vec<RowResult>>>
        + Send
        + 'static,
{
    let idempotent = Idempotent::new(actor, operation, key, input);
    let keep = key.is_some();
    let tenant = actor.tenant_id;
    let outcome = write(
        ctx,
        idempotent,
        move |tx| {
            Box::pin(async move {
                guanxi_store::platform::upsert::plan_for_values(tx).await?;
                let results = upsert(tx).await?;
                let saved = match keep {
                    true => external_key::save_results(tx, tenant, kind, &source, &results).await?,
                    false => Uuid::nil(),
                };
                Ok((saved, results))
            })
        },
        move |tx, saved| Box::pin(async move { external_key::saved_results(tx, tenant, saved).await }),
    )
    .await?;
    Ok(match outcome {
        Ok(results) => UpsertPayload::of(kind, results),
        Err(errors) => UpsertPayload { user_errors: errors, ..UpsertPayload::default() },
    })
}

/// One customer of an upsert call: its key and the fields to set. A new customer gets
/// the fields given and the defaults; a stored one changes only the fields given.
#[derive(InputObject, Serialize)]
pub struct CustomerUpsertRecord {
    /// The customer's key in the source system (an ERP customer code).
    pub external_id: String,
    #[graphql(flatten)]
    pub fields: CustomerFieldsInput,
    /// The parent customer by its key in the same source, instead of `parentId`.
    pub parent_external_id: Option<String>,
    /// The owning rep; a new customer defaults to the caller. Another owner, or a new
    /// owner for a stored customer, needs `customer.transfer` (its records follow, as on
    /// a transfer).
    pub owner_id: Option<ID>,
    /// Values of tenant-defined fields, by key; keys not given stay.
    pub custom_fields: Option<Json<Value>>,
}

#[derive(InputObject, Serialize)]
pub struct UpsertCustomersInput {
    /// The system the keys come from, e.g. `kingdee`, `u8`, `sap`.
    pub source: String,
    /// At most 1,000 records.
    pub records: Vec<CustomerUpsertRecord>,
    #[graphql(default_with = "UpsertMode::Partial")]
    pub mode: UpsertMode,
    /// Write rows the duplicate check flags, under the tenant's WARN policy (查重).
    #[graphql(default)]
    pub confirm_duplicates: bool,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(Default)]
pub struct UpsertMutation;

#[Object]
impl UpsertMutation {
    /// Creates or updates up to 1,000 customers by `(source, externalId)`: no customer
    /// with the key creates one, one updates it, and an identical record writes nothing.
    /// Each row passes the checks `createCustomer` and `updateCustomer` make, the
    /// duplicate rule included (against the tenant and the call's earlier rows), in one
    /// transaction with the change events. Needs `customer.create` and `customer.update`.
    async fn upsert_customers(&self, ctx: &Context<'_>, input: UpsertCustomersInput) -> ApiResult<UpsertPayload> {
        use guanxi_store::customers::customer_upsert::{Rules, Upsert, UpsertRow};
        let actor = require(ctx, Permission::CustomerCreate)?.clone();
        require(ctx, Permission::CustomerUpdate)?;
        let source = check_call(&input.source, input.records.len())?;
        let rules = Rules {
            write: actor.customer_write_rule(),
            owner: actor.customer_owner_rule(),
            read: actor.customer_rule(),
        };
        let author = author(ctx, &actor);
        let (mode, confirm) = (input.mode.into(), input.confirm_duplicates);
        let parents = keys_named(&input.records, |r| r.parent_external_id.as_ref());
        let mut rows = Vec::with_capacity(input.records.len());
        let key_source = source.clone();
        let hashed = serde_json::to_value(&input).unwrap_or_default();
        for record in input.records {
            rows.push((record.external_id.clone(), customer_edit(&actor, record)));
        }
        run(
            ctx,
            &actor,
            ("upsertCustomers", EntityKind::Customer),
            (input.idempotency_key.as_deref(), &hashed),
            source,
            move |tx| {
                Box::pin(async move {
                    let parents = named(tx, author.tenant_id, (EntityKind::Customer, &key_source), &parents).await?;
                    let rows = rows
                        .into_iter()
                        .map(|(external_id, edit)| UpsertRow {
                            external_id: external_id.trim().to_owned(),
                            edit: edit(&parents),
                        })
                        .collect();
                    let upsert = Upsert { source: key_source, mode, confirm_duplicates: confirm, rows };
                    guanxi_store::customers::customer_upsert::upsert(tx, &author, rules, upsert).await
                })
            },
        )
        .await
    }

    /// Creates or updates up to 1,000 contacts by `(source, externalId)`. A new contact
    /// names its customer by `customerId` or by the customer's key in the same source
    /// (`customerExternalId`) and belongs to the customer's owner; a stored contact stays
    /// with its customer. Needs `contact.write`.
    async fn upsert_contacts(&self, ctx: &Context<'_>, input: UpsertContactsInput) -> ApiResult<UpsertPayload> {
        use guanxi_store::customers::contact_upsert::UpsertRow;
        let actor = require(ctx, Permission::ContactWrite)?.writing();
        let source = check_call(&input.source, input.records.len())?;
        let scope = crate::graphql::loaders::contact_scope(&actor);
        let author = author(ctx, &actor);
        let mode = input.mode.into();
        let hashed = serde_json::to_value(&input).unwrap_or_default();
        let customers = keys_named(&input.records, |r| r.customer_external_id.as_ref());
        let key_source = source.clone();
        run(
            ctx,
            &actor,
            ("upsertContacts", EntityKind::Contact),
            (input.idempotency_key.as_deref(), &hashed),
            source,
            move |tx| {
                Box::pin(async move {
                    let named = named(tx, author.tenant_id, (EntityKind::Customer, &key_source), &customers).await?;
                    let rows = input
                        .records
                        .into_iter()
                        .map(|record| UpsertRow {
                            external_id: record.external_id.trim().to_owned(),
                            customer: record.customer(&named),
                            edit: record.edit(),
                        })
                        .collect();
                    guanxi_store::customers::contact_upsert::upsert(tx, &author, scope, (&key_source, mode), rows).await
                })
            },
        )
        .await
    }

    /// Records up to 1,000 interactions from an outside channel (a call centre, WeCom's
    /// archive) by `(source, externalId)`, through the same path as `ingestInteractions`:
    /// a new key records the interaction (the customer's clocks, the work log's counts and
    /// the change events with it), a key stored already is `UNCHANGED` when the record
    /// describes the interaction as stored. An interaction is a record of what happened and
    /// is not edited: a stored key whose record says otherwise fails (`ILLEGAL_STATE`).
    /// The customer is named by `customerId` or by its key in the same source
    /// (`customerExternalId`) and must be one the caller may write to. Needs
    /// `interaction.write`.
    async fn upsert_interactions(&self, ctx: &Context<'_>, input: UpsertInteractionsInput) -> ApiResult<UpsertPayload> {
        let actor = require(ctx, Permission::InteractionWrite)?.clone();
        let source = check_call(&input.source, input.records.len())?;
        let source = guanxi_domain::activity::interaction::parse_source("source", &source)
            .map_err(|e| ApiError::BadUserInput(e.message))?;
        let author = author(ctx, &actor);
        let (rule, mode) = (actor.customer_write_rule(), input.mode.into());
        let hashed = serde_json::to_value(&input).unwrap_or_default();
        let customers = keys_named(&input.records, |r| r.customer_external_id.as_ref());
        let key_source = source.clone();
        run(
            ctx,
            &actor,
            ("upsertInteractions", EntityKind::Interaction),
            (input.idempotency_key.as_deref(), &hashed),
            source,
            move |tx| {
                Box::pin(async move {
                    let named = named(tx, author.tenant_id, (EntityKind::Customer, &key_source), &customers).await?;
                    let records = input.records.into_iter().map(|r| r.ingested(&key_source, &named)).collect();
                    guanxi_store::activity::interaction::upsert(tx, &author, rule, mode, records).await
                })
            },
        )
        .await
    }
}

/// One interaction of an upsert call: its key, its customer and what happened.
#[derive(InputObject, Serialize)]
pub struct InteractionUpsertRecord {
    /// The record's id in the source channel.
    pub external_id: String,
    /// The customer by id…
    pub customer_id: Option<ID>,
    /// …or by the customer's key in the same source.
    pub customer_external_id: Option<String>,
    /// `occurredAt` is required here: a record sent again must describe the same moment.
    #[graphql(flatten)]
    pub interaction: crate::graphql::activity::interaction::InteractionInput,
}

#[derive(InputObject, Serialize)]
pub struct UpsertInteractionsInput {
    /// The channel the keys come from, e.g. `call-center`; not `manual`.
    pub source: String,
    /// At most 1,000 records.
    pub records: Vec<InteractionUpsertRecord>,
    #[graphql(default_with = "UpsertMode::Partial")]
    pub mode: UpsertMode,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

impl InteractionUpsertRecord {
    /// The record as the ingest path takes it: the customer resolved (by id, or by key
    /// through `named`) and the fields parsed.
    fn ingested(
        self,
        source: &str,
        named: &std::collections::HashMap<String, Uuid>,
    ) -> guanxi_store::activity::interaction::IngestRecord {
        let mut invalid = Invalid::default();
        invalid.check(upsert::parse_external_id("externalId", &self.external_id));
        if self.interaction.occurred_at.is_none() {
            invalid.push(guanxi_domain::FieldError::new("occurredAt", ErrorCode::Required, "say when it happened"));
        }
        let customer = crate::graphql::trade::product_upsert::reference(
            ("customerId", self.customer_id.as_ref(), EntityKind::Customer),
            ("customerExternalId", self.customer_external_id.as_ref()),
            named,
        )
        .unwrap_or_else(|| {
            Err(Invalid::one("customerId", ErrorCode::Required, "name the customer: customerId or customerExternalId"))
        })
        .map_err(|e| invalid.0.extend(e.0))
        .ok();
        let fields = self.interaction.parse().map_err(|e| invalid.0.extend(e.0)).ok();
        let parsed = match (customer, fields) {
            (Some(customer), Some(fields)) if invalid.is_empty() => Ok((CustomerId::from_uuid(customer), fields)),
            _ => Err(invalid),
        };
        guanxi_store::activity::interaction::IngestRecord {
            source: source.to_owned(),
            external_id: self.external_id.trim().to_owned(),
            author_id: None,
            parsed,
        }
    }
}

/// A customer row's edit, once the parents' keys are known: the key and fields read, the
/// input merged into the stored customer (or a blank one), custom fields checked and the
/// owner decided.
fn customer_edit(
    actor: &Actor,
    record: CustomerUpsertRecord,
) -> impl FnOnce(&std::collections::HashMap<String, Uuid>) -> guanxi_store::customers::customer_upsert::Edit + use<> {
    use guanxi_domain::ids::UserId;
    use guanxi_store::customers::customer::Edited;
    let may_transfer = actor.may(Permission::CustomerTransfer);
    let caller = actor.user_id;
    move |parents| {
        let parent = record.parent_external_id.as_deref().map(|key| {
            parents.get(key.trim()).copied().map(CustomerId::from_uuid).ok_or_else(|| {
                Invalid::one("parentExternalId", ErrorCode::NotFound, "no customer has this key in this source")
            })
        });
        Box::new(move |current, definitions| {
            let mut invalid = Invalid::default();
            invalid.check(upsert::parse_external_id("externalId", &record.external_id));
            let base = current.map_or_else(
                || {
                    let mut base = blank_fields();
                    if let async_graphql::MaybeUndefined::Value(kind) = record.fields.kind {
                        base.kind = kind.into();
                    }
                    base
                },
                |c| c.fields.clone(),
            );
            let fields = record.fields.merge_into(&base).map_err(|e| invalid.0.extend(e.0)).ok();
            let parent = match parent {
                Some(Ok(parent)) => Some(parent),
                Some(Err(e)) => {
                    invalid.0.extend(e.0);
                    None
                }
                None => None,
            };
            let custom = custom_fields(&record.custom_fields, current.map(|c| &c.custom_fields), definitions)
                .map_err(|e| invalid.0.extend(e.0))
                .ok();
            let owner = match &record.owner_id {
                None => current.is_none().then_some(Some(caller)),
                Some(id) => match input_id("ownerId", id, USER) {
                    Ok(owner) => Some(Some(UserId::from_uuid(owner))),
                    Err(e) => {
                        invalid.push(guanxi_domain::FieldError::new("ownerId", ErrorCode::Invalid, e.message));
                        None
                    }
                },
            };
            let current_owner = current.map_or(Some(caller), |c| c.owner_id);
            if owner.is_some_and(|o| o != current_owner) && !may_transfer {
                invalid.push(guanxi_domain::FieldError::new(
                    "ownerId",
                    ErrorCode::Forbidden,
                    "giving a customer to someone else needs `customer.transfer`",
                ));
            }
            let (Some(mut fields), Some(custom_fields), true) = (fields, custom, invalid.is_empty()) else {
                return Err(invalid);
            };
            if let Some(parent) = parent {
                fields.parent_id = Some(parent);
            }
            Ok(Edited { fields, custom_fields, owner_id: owner })
        })
    }
}

/// One contact of an upsert call: its key, its customer and the fields to set.
#[derive(InputObject, Serialize)]
pub struct ContactUpsertRecord {
    /// The contact's key in the source system.
    pub external_id: String,
    /// A new contact's customer by id…
    pub customer_id: Option<ID>,
    /// …or by the customer's key in the same source (an ERP customer code).
    pub customer_external_id: Option<String>,
    #[graphql(flatten)]
    pub fields: ContactFieldsInput,
    /// Values of tenant-defined fields, by key; keys not given stay.
    pub custom_fields: Option<Json<Value>>,
}

#[derive(InputObject, Serialize)]
pub struct UpsertContactsInput {
    /// The system the keys come from; customers named by key are looked up in it too.
    pub source: String,
    /// At most 1,000 records.
    pub records: Vec<ContactUpsertRecord>,
    #[graphql(default_with = "UpsertMode::Partial")]
    pub mode: UpsertMode,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

impl ContactUpsertRecord {
    /// The customer the record names, by id or by key (`named`: the source's keys).
    fn customer(&self, named: &std::collections::HashMap<String, Uuid>) -> Option<Result<CustomerId, Invalid>> {
        match (&self.customer_id, &self.customer_external_id) {
            (None, None) => None,
            (Some(_), Some(_)) => Some(Err(Invalid::one(
                "customerId",
                ErrorCode::Invalid,
                "give customerId or customerExternalId, not both",
            ))),
            (Some(id), None) => Some(
                input_id("customerId", id, EntityKind::Customer.name())
                    .map(CustomerId::from_uuid)
                    .map_err(|e| Invalid::one("customerId", ErrorCode::Invalid, e.message)),
            ),
            (None, Some(key)) => Some(named.get(key.trim()).copied().map(CustomerId::from_uuid).ok_or_else(|| {
                Invalid::one("customerExternalId", ErrorCode::NotFound, "no customer has this key in this source")
            })),
        }
    }

    /// The record's fields merged into the stored contact (or a new one), custom fields
    /// checked against the definitions.
    fn edit(self) -> guanxi_store::customers::contact_upsert::Edit {
        Box::new(move |current, definitions| {
            let mut invalid = Invalid::default();
            invalid.check(upsert::parse_external_id("externalId", &self.external_id));
            let fields =
                self.fields.merge_into(current.map(|(c, _)| &c.fields)).map_err(|e| invalid.0.extend(e.0)).ok();
            let custom = custom_fields(&self.custom_fields, current.map(|(_, custom)| custom), definitions)
                .map_err(|e| invalid.0.extend(e.0))
                .ok();
            match (fields, custom) {
                (Some(fields), Some(custom)) if invalid.is_empty() => Ok((fields, custom)),
                _ => Err(invalid),
            }
        })
    }
}

/// A record's custom values over the stored ones (every required one, for a new record).
pub(crate) fn custom_fields(
    input: &Option<Json<Value>>,
    current: Option<&std::collections::BTreeMap<String, Value>>,
    definitions: &[guanxi_domain::platform::custom_field::CustomFieldDefinition],
) -> Result<std::collections::BTreeMap<String, Value>, Invalid> {
    let stored = current.cloned().unwrap_or_default();
    custom_input(input).and_then(|custom| check_values(definitions, &custom, &stored, current.is_none()))
}
