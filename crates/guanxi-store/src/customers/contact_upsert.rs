//! Bulk upsert of contacts by external key (`upsertContacts`), set-based as customers'
//! is: the keys, the contacts they name, the custom-field definitions, the customers and
//! managers the rows name, then multi-row writes of contacts, keys and change events. A
//! new contact hangs off a customer the caller may write and belongs to its owner, as
//! `createContact` does; a stored one stays with its customer.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use guanxi_domain::customers::contact::{Contact, ContactFields};
use guanxi_domain::ids::{ContactId, CustomerId, UserId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::custom_field::CustomFieldDefinition;
use guanxi_domain::platform::upsert::{self, Mode, Outcome, RowResult};
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::Value;
use uuid::Uuid;

use crate::customers::contact::{self, ContactScope, Contacts, ENTITY};
use crate::customers::customer;
use crate::decode::Cell;
use crate::entity::contact as row;
use crate::error::StoreResult;
use crate::platform::audit::{self, Author};
use crate::platform::upsert::{self as upsert_kit, Link};
use crate::platform::{custom_field, external_key};

/// The custom-field entity of contacts.
pub const CUSTOM_FIELD_ENTITY: &str = "CONTACT";

/// A row's fields merged into the contact as stored (with its custom values), or into
/// nothing for a new contact, with the tenant's custom-field definitions.
pub type Edit = Box<
    dyn FnOnce(
            Option<(&Contact, &BTreeMap<String, Value>)>,
            &[CustomFieldDefinition],
        ) -> Result<(ContactFields, BTreeMap<String, Value>), Invalid>
        + Send,
>;

pub struct UpsertRow {
    pub external_id: String,
    /// The customer the row names (by id or by its key), or why it names none it could.
    pub customer: Option<Result<CustomerId, Invalid>>,
    pub edit: Edit,
}

struct Planned {
    row: usize,
    id: Uuid,
    customer: Uuid,
    before: Option<row::Model>,
    fields: ContactFields,
    custom: BTreeMap<String, Value>,
    changes: ChangeSet,
}

/// Upserts a call's contacts inside the caller's transaction and answers each row.
pub async fn upsert<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: ContactScope,
    (source, mode): (&str, Mode),
    rows: Vec<UpsertRow>,
) -> StoreResult<Vec<RowResult>> {
    let tenant = author.tenant_id;
    let keys: Vec<String> = rows.iter().map(|r| r.external_id.clone()).collect();
    let staged = upsert_kit::stage::<Contacts, _>(conn, tenant, scope, (ENTITY, source), &keys, |m| m.id).await?;
    let definitions = custom_field::definitions(conn, tenant, CUSTOM_FIELD_ENTITY).await?;

    let mut results: Vec<RowResult> = Vec::with_capacity(keys.len());
    let mut planned: Vec<Planned> = Vec::new();
    for (index, (row, repeat)) in rows.into_iter().zip(upsert::repeats(&keys)).enumerate() {
        let key = row.external_id;
        let stored = staged.read((&key, repeat), (|m| m.deleted_at.is_some(), "contact"), |m| {
            let custom: BTreeMap<String, Value> =
                Cell::of("contacts", m.id, "custom_fields").json(m.custom_fields.clone())?;
            Ok((m.clone(), contact::to_domain(m.clone())?, custom))
        })?;
        let planned_row = stored.and_then(|stored| {
            let mut invalid = Invalid::default();
            let customer = match (&stored, row.customer) {
                (_, Some(Err(e))) => {
                    invalid.0.extend(e.0);
                    None
                }
                (Some((m, _, _)), Some(Ok(c))) if c.uuid() != m.customer_id => {
                    invalid.push(guanxi_domain::FieldError::new(
                        "customerId",
                        ErrorCode::IllegalState,
                        "a contact stays with its customer",
                    ));
                    None
                }
                (Some((m, _, _)), _) => Some(m.customer_id),
                (None, Some(Ok(c))) => Some(c.uuid()),
                (None, None) => {
                    invalid.push(guanxi_domain::FieldError::new(
                        "customerId",
                        ErrorCode::Required,
                        "a new contact needs its customer: customerId or customerExternalId",
                    ));
                    None
                }
            };
            let edited = (row.edit)(stored.as_ref().map(|(_, c, custom)| (c, custom)), &definitions);
            let (fields, custom) = match edited {
                Ok(edited) => Some(edited),
                Err(e) => {
                    invalid.0.extend(e.0);
                    None
                }
            }
            .unzip();
            match (customer, fields, custom) {
                (Some(customer), Some(fields), Some(custom)) if invalid.is_empty() => {
                    Ok((stored, customer, fields, custom))
                }
                _ => Err(invalid),
            }
        });
        let Some((stored, customer, fields, custom)) = upsert_kit::admit(&mut results, &key, planned_row) else {
            continue;
        };
        let changes = match &stored {
            None => ChangeSet::new(),
            Some((_, c, custom_before)) => {
                ChangeSet::new().diff(&c.fields, &fields).field("customFields", custom_before, &custom)
            }
        };
        let (outcome, id) = upsert_kit::outcome(stored.as_ref().map(|(m, _, _)| m.id), !changes.is_empty());
        results.push(RowResult::done(key, outcome, id));
        if outcome != Outcome::Unchanged {
            planned.push(Planned {
                row: index,
                id,
                customer,
                before: stored.map(|(m, _, _)| m),
                fields,
                custom,
                changes,
            });
        }
    }

    let (owners, mut refused) = check_customers(conn, author, scope, &planned).await?;
    refused.extend(check_managers(conn, author, &planned).await?);
    let Some(failed) = upsert_kit::conclude(mode, &mut results, refused) else { return Ok(results) };
    planned.retain(|p| !failed.contains(&p.row));
    write(conn, author, source, &results, planned, &owners).await?;
    Ok(results)
}

/// The customers new contacts hang off: live and writable by the caller (one statement),
/// with their owners, whom the contacts get.
async fn check_customers<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: ContactScope,
    planned: &[Planned],
) -> StoreResult<(HashMap<Uuid, Option<UserId>>, Vec<(usize, Invalid)>)> {
    let mut ids: Vec<Uuid> = planned.iter().filter(|p| p.before.is_none()).map(|p| p.customer).collect();
    ids.sort_unstable();
    ids.dedup();
    let owners: HashMap<Uuid, Option<UserId>> = customer::by_ids(conn, author.tenant_id, scope.customer, &ids)
        .await?
        .into_iter()
        .map(|c| (c.id.uuid(), c.owner_id))
        .collect();
    let refused = planned
        .iter()
        .filter(|p| p.before.is_none() && !owners.contains_key(&p.customer))
        .map(|p| (p.row, Invalid::one("customerId", ErrorCode::NotFound, "no such customer")))
        .collect();
    Ok((owners, refused))
}

/// Managers the rows set: live contacts of the same customer (one statement); a stored
/// contact that gets a new manager is also checked for a loop in the chain as the call
/// leaves it (walked per such row, see `closes_loop`).
async fn check_managers<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    planned: &[Planned],
) -> StoreResult<Vec<(usize, Invalid)>> {
    let manager_of =
        |p: &Planned| p.fields.manager_id.filter(|m| p.before.as_ref().is_none_or(|b| b.manager_id != Some(m.uuid())));
    let ids: Vec<Uuid> = planned.iter().filter_map(manager_of).map(ContactId::uuid).collect();
    let managers: HashMap<Uuid, Uuid> = if ids.is_empty() {
        HashMap::new()
    } else {
        row::Entity::find()
            .select_only()
            .columns([row::Column::Id, row::Column::CustomerId])
            .filter(row::Column::TenantId.eq(author.tenant_id.uuid()))
            .filter(row::Column::DeletedAt.is_null())
            .filter(row::Column::Id.is_in(ids))
            .into_tuple::<(Uuid, Uuid)>()
            .all(conn)
            .await?
            .into_iter()
            .collect()
    };
    let pending: HashMap<Uuid, Option<Uuid>> =
        planned.iter().map(|p| (p.id, p.fields.manager_id.map(ContactId::uuid))).collect();
    let tenant = author.tenant_id.uuid();
    let stored_manager =
        |id: Uuid| async move { Ok(row::Entity::find_by_id((tenant, id)).one(conn).await?.and_then(|c| c.manager_id)) };
    let customer_of: HashMap<usize, Uuid> = planned.iter().map(|p| (p.row, p.customer)).collect();
    let links = planned
        .iter()
        .filter_map(|p| {
            manager_of(p).map(|to| Link { row: p.row, id: p.id, to: to.uuid(), stored: p.before.is_some() })
        })
        .collect();
    upsert_kit::check_links(
        links,
        |link| managers.get(&link.to) == customer_of.get(&link.row),
        (&pending, stored_manager),
        (
            Invalid::one("managerId", ErrorCode::NotFound, "the manager must be a contact of the same customer"),
            Invalid::one("managerId", ErrorCode::Cycle, "the manager reports to this contact"),
        ),
    )
    .await
}

/// Writes the accepted rows: one multi-row insert of new contacts with their keys, one
/// versioned multi-row update, and the change events.
async fn write<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    source: &str,
    results: &[RowResult],
    planned: Vec<Planned>,
    owners: &HashMap<Uuid, Option<UserId>>,
) -> StoreResult<()> {
    let tenant = author.tenant_id;
    let now = Utc::now();
    let mut events = Vec::with_capacity(planned.len());
    let (mut inserts, mut updates, mut keys) = (Vec::new(), Vec::new(), Vec::new());
    for p in planned {
        let fields = contact::active_model(&p.fields, &p.custom);
        match p.before {
            None => {
                let owner = owners.get(&p.customer).copied().flatten().or(author.user_id.map(UserId::from_uuid));
                let mut model = fields;
                model.tenant_id = Set(tenant.uuid());
                model.id = Set(p.id);
                model.customer_id = Set(p.customer);
                model.owner_id = Set(owner.map(UserId::uuid));
                model.version = Set(1);
                model.created_at = Set(now);
                model.updated_at = Set(now);
                model.deleted_at = Set(None);
                let changes = ChangeSet::new()
                    .diff(&serde_json::json!({}), &p.fields)
                    .field("customerId", (), CustomerId::from_uuid(p.customer))
                    .field("ownerId", (), owner)
                    .field("customFields", (), &p.custom);
                events.push((p.id, Operation::Create, changes));
                keys.push((results[p.row].external_id.clone(), p.id));
                inserts.push(model);
            }
            Some(before) => {
                let version = before.version;
                let columns = (row::Column::Version, row::Column::UpdatedAt);
                updates.push(upsert_kit::overlay_next(
                    row::ActiveModel::from(before),
                    &fields,
                    columns,
                    (version, now),
                ));
                events.push((p.id, Operation::Update, p.changes));
            }
        }
    }
    crate::insert_chunked(conn, inserts).await?;
    external_key::insert(conn, tenant, ENTITY, source, keys).await?;
    let fixed = |c: &row::Column| {
        matches!(c, row::Column::TenantId | row::Column::Id | row::Column::CustomerId | row::Column::CreatedAt)
    };
    let columns = (row::Column::TenantId, row::Column::Id, row::Column::Version);
    upsert_kit::write_versioned(conn, updates, columns, fixed, crate::StoreError::from).await?;
    audit::record_many(conn, author, ENTITY, events).await?;
    Ok(())
}
