//! Bulk upsert of customers by external key (`upsertCustomers`), set-based: a call of up
//! to 1,000 rows runs a fixed number of statements whatever its size — the keys, the
//! customers they name, the custom-field definitions, the parents, owners and likely
//! duplicates the rows mention, then multi-row writes of customers, search tokens, keys
//! and change events. Every row passes the checks a single create or update makes: the
//! fields' shape, custom fields, the parent, the owner, the duplicate rule (查重, against
//! the tenant and against earlier rows of the call) and numbering. The caller holds the
//! tenant's write lock, so nothing read here moves before the writes.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use guanxi_domain::customers::customer::{
    Customer, CustomerFields, DuplicateCheck, DuplicateReason, normalize_name, shanghai_date,
};
use guanxi_domain::ids::{CustomerId, UserId};
use guanxi_domain::platform::access::CustomerRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::custom_field::CustomFieldDefinition;
use guanxi_domain::platform::upsert::{self, Mode, Outcome, RowResult};
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::sea_query::Condition;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::activity::work_count;
use crate::customers::customer::{self, Customers, ENTITY, Edited, NewCustomer};
use crate::customers::customer_owned;
use crate::entity::{customer as row, user};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};
use crate::platform::upsert::{self as upsert_kit, Link};
use crate::platform::{custom_field, external_key, sequence, tenant};

/// The custom-field entity of customers.
pub const CUSTOM_FIELD_ENTITY: &str = "CUSTOMER";

/// A row's fields merged into the customer as stored (`None`: no customer has the key
/// yet), with the tenant's custom-field definitions; the owner of a new customer is
/// `owner_id` flattened (the caller decides the default and who may give customers away).
pub type Edit = Box<dyn FnOnce(Option<&Customer>, &[CustomFieldDefinition]) -> Result<Edited, Invalid> + Send>;

pub struct UpsertRow {
    pub external_id: String,
    pub edit: Edit,
}

/// The caller's customer scope for each part of a call: `write` finds the stored
/// customers the keys name, `owner` admits the ones whose owner a row changes, `read` the
/// parents rows name (as `createCustomer` and `updateCustomer` use them).
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    pub write: CustomerRule,
    pub owner: CustomerRule,
    pub read: CustomerRule,
}

pub struct Upsert {
    pub source: String,
    pub mode: Mode,
    /// Write rows the duplicate check flags under the tenant's WARN policy.
    pub confirm_duplicates: bool,
    pub rows: Vec<UpsertRow>,
}

/// A row that passed its own checks, before the checks against the tenant.
struct Planned {
    row: usize,
    id: Uuid,
    /// The customer as stored (an update), or none (a create).
    before: Option<(row::Model, Customer)>,
    edited: Edited,
    changes: ChangeSet,
}

impl Planned {
    fn owner_after(&self) -> Option<UserId> {
        match (&self.before, self.edited.owner_id) {
            (_, Some(owner)) => owner,
            (Some((_, before)), None) => before.owner_id,
            (None, None) => None,
        }
    }

    /// A new owner for a stored customer.
    fn transferred(&self) -> bool {
        matches!((&self.before, self.edited.owner_id), (Some((_, b)), Some(o)) if o != b.owner_id)
    }

    /// Whether what identifies the company (name, tax id, phones) is new or changed: the
    /// duplicate check and the search tokens follow it.
    fn identity_changed(&self) -> bool {
        let identity = |f: &CustomerFields| {
            (normalize_name(&f.name), f.tax_id.clone(), f.main_phone.clone(), f.finance_phone.clone())
        };
        self.before.as_ref().is_none_or(|(_, b)| identity(&b.fields) != identity(&self.edited.fields))
    }

    fn tokens_changed(&self) -> bool {
        let of = |f: &CustomerFields| (f.name.clone(), f.tax_id.clone(), f.main_phone.clone(), f.finance_phone.clone());
        self.before.as_ref().is_none_or(|(_, b)| of(&b.fields) != of(&self.edited.fields))
    }
}

/// Upserts a call's rows inside the caller's transaction and answers each row's result.
pub async fn upsert<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rules: Rules,
    input: Upsert,
) -> StoreResult<Vec<RowResult>> {
    let tenant = author.tenant_id;
    let keys: Vec<String> = input.rows.iter().map(|r| r.external_id.clone()).collect();
    let staged =
        upsert_kit::stage::<Customers, _>(conn, tenant, rules.write, (ENTITY, &input.source), &keys, |m| m.id).await?;
    let definitions = custom_field::definitions(conn, tenant, CUSTOM_FIELD_ENTITY).await?;

    // Each row alone: its key, the record it names and its fields.
    let mut results: Vec<RowResult> = Vec::with_capacity(keys.len());
    let mut planned: Vec<Planned> = Vec::new();
    for (index, (row, repeat)) in input.rows.into_iter().zip(upsert::repeats(&keys)).enumerate() {
        let key = row.external_id;
        let before = staged.read((&key, repeat), (|m| m.deleted_at.is_some(), "customer"), |m| {
            Ok((m.clone(), customer::to_domain(m.clone())?))
        })?;
        let edited = before.and_then(|before| {
            let edited = (row.edit)(before.as_ref().map(|(_, c)| c), &definitions)?;
            edited.fields.check_shape()?;
            Ok((before, edited))
        });
        let Some((before, edited)) = upsert_kit::admit(&mut results, &key, edited) else { continue };
        let changes = match &before {
            None => ChangeSet::new(),
            Some((_, b)) => {
                let mut changes = ChangeSet::new().diff(&b.fields, &edited.fields).field(
                    "customFields",
                    &b.custom_fields,
                    &edited.custom_fields,
                );
                if let Some(owner) = edited.owner_id.filter(|o| *o != b.owner_id) {
                    changes = changes.field("ownerId", b.owner_id, owner);
                }
                changes
            }
        };
        let (outcome, id) = upsert_kit::outcome(before.as_ref().map(|(m, _)| m.id), !changes.is_empty());
        results.push(RowResult::done(key, outcome, id));
        if outcome != Outcome::Unchanged {
            planned.push(Planned { row: index, id, before, edited, changes });
        }
    }

    // The rows against the tenant: parents, owners, duplicates.
    let mut refused: Vec<(usize, Invalid)> = check_parents(conn, author, rules.read, &planned).await?;
    let departments = owners(conn, author, (rules.owner, &planned), &mut refused).await?;
    let settings = if planned.is_empty() { None } else { Some(tenant::settings(conn, tenant).await?) };
    if let Some(settings) = &settings {
        refused.extend(
            duplicates(conn, author, &planned, &refused, settings.duplicate_policy, input.confirm_duplicates).await?,
        );
    }
    let Some(failed) = upsert_kit::conclude(input.mode, &mut results, refused) else { return Ok(results) };
    planned.retain(|p| !failed.contains(&p.row));
    let Some(settings) = settings else { return Ok(results) };
    write(conn, author, &input.source, &results, planned, &departments, &settings.customer_numbering).await?;
    Ok(results)
}

/// Parents the rows name: visible and live (one statement), and — for a stored customer
/// that gets a new parent — not below it in the tree as the call leaves it (walked per
/// such row, see `closes_loop`).
async fn check_parents<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: CustomerRule,
    planned: &[Planned],
) -> StoreResult<Vec<(usize, Invalid)>> {
    let parent_of = |p: &Planned| {
        p.edited
            .fields
            .parent_id
            .filter(|parent| p.before.as_ref().is_none_or(|(_, b)| b.fields.parent_id != Some(*parent)))
    };
    let mut ids: Vec<Uuid> = planned.iter().filter_map(parent_of).map(CustomerId::uuid).collect();
    ids.sort_unstable();
    ids.dedup();
    let live: HashSet<Uuid> =
        customer::by_ids(conn, author.tenant_id, rule, &ids).await?.into_iter().map(|c| c.id.uuid()).collect();
    let pending: HashMap<Uuid, Option<Uuid>> =
        planned.iter().map(|p| (p.id, p.edited.fields.parent_id.map(CustomerId::uuid))).collect();
    let tenant = author.tenant_id.uuid();
    let stored_parent =
        |id: Uuid| async move { Ok(row::Entity::find_by_id((tenant, id)).one(conn).await?.and_then(|c| c.parent_id)) };
    let links = planned
        .iter()
        .filter_map(|p| parent_of(p).map(|to| Link { row: p.row, id: p.id, to: to.uuid(), stored: p.before.is_some() }))
        .collect();
    upsert_kit::check_links(
        links,
        |link| live.contains(&link.to),
        (&pending, stored_parent),
        (
            Invalid::one("parentId", ErrorCode::NotFound, "no such customer"),
            Invalid::one("parentId", ErrorCode::Cycle, "the parent is below this customer"),
        ),
    )
    .await
}

/// The departments of the owners that new and transferred customers get (one statement);
/// a row naming no such user is refused.
async fn owners<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (owner_rule, planned): (CustomerRule, &[Planned]),
    refused: &mut Vec<(usize, Invalid)>,
) -> StoreResult<HashMap<Uuid, Option<Uuid>>> {
    // Changing a stored customer's owner is for its owner side (a shared customer's
    // collaborator may edit it, not give it away): one statement for the call.
    let moved: Vec<Uuid> = planned.iter().filter(|p| p.transferred()).map(|p| p.id).collect();
    let owned: HashSet<Uuid> =
        customer::by_ids(conn, author.tenant_id, owner_rule, &moved).await?.into_iter().map(|c| c.id.uuid()).collect();
    for p in planned.iter().filter(|p| p.transferred() && !owned.contains(&p.id)) {
        refused.push((
            p.row,
            Invalid::one("ownerId", ErrorCode::Forbidden, "only the customer's owner side may give it to someone else"),
        ));
    }
    let given = |p: &Planned| (p.before.is_none() || p.transferred()).then(|| p.owner_after()).flatten();
    let mut ids: Vec<Uuid> = planned.iter().filter_map(given).map(UserId::uuid).collect();
    ids.sort_unstable();
    ids.dedup();
    let departments: HashMap<Uuid, Option<Uuid>> = if ids.is_empty() {
        HashMap::new()
    } else {
        user::Entity::find()
            .select_only()
            .columns([user::Column::Id, user::Column::DepartmentId])
            .filter(user::Column::TenantId.eq(author.tenant_id.uuid()))
            .filter(user::Column::Id.is_in(ids))
            .into_tuple::<(Uuid, Option<Uuid>)>()
            .all(conn)
            .await?
            .into_iter()
            .collect()
    };
    for p in planned {
        if given(p).is_some_and(|owner| !departments.contains_key(&owner.uuid())) {
            refused.push((p.row, Invalid::one("ownerId", ErrorCode::NotFound, "no such user")));
        }
    }
    Ok(departments)
}

/// The duplicate rule for every row whose identity is new or changed: against the
/// tenant's live customers (one statement for the whole call) and against the earlier
/// rows of the call, as a create or an update would be checked one by one.
async fn duplicates<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    planned: &[Planned],
    refused: &[(usize, Invalid)],
    policy: guanxi_domain::customers::customer::DuplicatePolicy,
    confirmed: bool,
) -> StoreResult<Vec<(usize, Invalid)>> {
    let out: HashSet<usize> = refused.iter().map(|(row, _)| *row).collect();
    let checked: Vec<&Planned> = planned.iter().filter(|p| !out.contains(&p.row) && p.identity_changed()).collect();
    let identity = |f: &CustomerFields| {
        let phones = [f.main_phone.clone(), f.finance_phone.clone()].into_iter().flatten().collect::<Vec<_>>();
        (normalize_name(&f.name), f.tax_id.as_ref().map(|t| t.to_uppercase()), phones)
    };
    let (mut names, mut taxes, mut phones) = (Vec::new(), Vec::new(), Vec::new());
    for p in &checked {
        let (name, tax, p_phones) = identity(&p.edited.fields);
        names.extend((!name.is_empty()).then_some(name));
        taxes.extend(tax);
        phones.extend(p_phones);
    }
    // (id, normalised name, tax id, main phone, finance phone) of the tenant's matches.
    type Match = (Uuid, String, Option<String>, Option<String>, Option<String>);
    let stored: Vec<Match> = if checked.is_empty() {
        Vec::new()
    } else {
        let mut any = Condition::any().add(row::Column::NormalizedName.is_in(names));
        if !taxes.is_empty() {
            any = any.add(row::Column::TaxId.is_in(taxes));
        }
        if !phones.is_empty() {
            any = any.add(row::Column::MainPhone.is_in(phones.clone())).add(row::Column::FinancePhone.is_in(phones));
        }
        row::Entity::find()
            .select_only()
            .columns([
                row::Column::Id,
                row::Column::NormalizedName,
                row::Column::TaxId,
                row::Column::MainPhone,
                row::Column::FinancePhone,
            ])
            .filter(row::Column::TenantId.eq(author.tenant_id.uuid()))
            .filter(row::Column::DeletedAt.is_null())
            .filter(any)
            .into_tuple()
            .all(conn)
            .await?
    };
    // Everyone the rows are checked against: the tenant's customers, then each accepted
    // row of the call in turn.
    let mut known: Vec<(Uuid, String, Option<String>, Vec<String>)> = stored
        .into_iter()
        .map(|(id, name, tax, main, finance)| (id, name, tax, [main, finance].into_iter().flatten().collect()))
        .collect();
    let mut refusals = Vec::new();
    for p in checked {
        let (name, tax, own_phones) = identity(&p.edited.fields);
        let mut reasons = Vec::new();
        for (_, other_name, other_tax, other_phones) in known.iter().filter(|k| k.0 != p.id) {
            if tax.is_some() && *other_tax == tax {
                reasons.push(DuplicateReason::SameTaxId);
            }
            if own_phones.iter().any(|phone| other_phones.contains(phone)) {
                reasons.push(DuplicateReason::SamePhone);
            }
            if !name.is_empty() && *other_name == name {
                reasons.push(DuplicateReason::SameName);
            }
        }
        let check = if p.before.is_some() { DuplicateCheck::Update } else { DuplicateCheck::Create };
        match policy.check(check, &reasons, confirmed) {
            Ok(()) => {
                known.retain(|k| k.0 != p.id);
                known.push((p.id, name, tax, own_phones));
            }
            Err(error) => refusals.push((p.row, Invalid(vec![error]))),
        }
    }
    Ok(refusals)
}

/// Writes the accepted rows: one versioned multi-row update, then numbers for the new
/// customers and multi-row inserts, the transfers' follow-ups, search tokens, keys and change
/// events.
async fn write<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    source: &str,
    results: &[RowResult],
    planned: Vec<Planned>,
    departments: &HashMap<Uuid, Option<Uuid>>,
    numbering: &guanxi_domain::customers::customer::NumberingRule,
) -> StoreResult<()> {
    let tenant = author.tenant_id;
    let now = Utc::now();
    let (creates, updates): (Vec<Planned>, Vec<Planned>) = planned.into_iter().partition(|p| p.before.is_none());
    let mut events = Vec::with_capacity(creates.len() + updates.len());
    let mut tokens = Vec::new();

    // Changed customers first (a tax id a row moves away is free for a new one): the
    // stored row with the new fields, one versioned statement.
    if !updates.is_empty() {
        let transferred: Vec<&Planned> = updates.iter().filter(|p| p.transferred()).collect();
        let moved: Vec<Uuid> = transferred.iter().map(|p| p.id).collect();
        if !moved.is_empty() {
            // The work log counts a customer's interactions under its owner.
            work_count::remove(conn, tenant, &moved).await?;
            let mut by_owner: BTreeMap<Option<UserId>, Vec<Uuid>> = BTreeMap::new();
            for p in &transferred {
                by_owner.entry(p.owner_after()).or_default().push(p.id);
            }
            for (owner, ids) in by_owner {
                customer_owned::follow_owner(conn, author, &ids, customer_owned::Handover::To(owner)).await?;
            }
        }
        let mut retokened = Vec::new();
        let mut rows = Vec::with_capacity(updates.len());
        for p in updates {
            let Some((model, before)) = p.before.as_ref() else { continue };
            let mut row =
                upsert_kit::overlay(row::ActiveModel::from(model.clone()), &customer::active_model(&p.edited.fields));
            row.custom_fields = Set(serde_json::to_value(&p.edited.custom_fields).unwrap_or_default());
            let mut changes = p.changes.clone();
            if p.transferred() {
                let owner = p.owner_after();
                row.owner_id = Set(owner.map(UserId::uuid));
                row.owner_department_id = Set(owner.and_then(|o| departments.get(&o.uuid()).copied().flatten()));
                row.owner_received_at = Set(owner.map(|_| now));
                if let Some(entry) = before.pool.as_ref().filter(|_| owner.is_some()) {
                    changes = changes.field("poolId", entry.pool_id, None::<()>);
                    row.pool_id = Set(None);
                    row.pool_entered_at = Set(None);
                    row.pool_action = Set(None);
                    row.pool_reason = Set(None);
                }
            }
            row.version = Set(model.version + 1);
            row.updated_at = Set(now);
            if p.tokens_changed() {
                retokened.push(p.id);
                tokens.extend(customer::token_rows(tenant, p.id, &p.edited.fields));
            }
            events.push((p.id, Operation::Update, changes));
            rows.push(row);
        }
        let fixed = |c: &row::Column| {
            matches!(
                c,
                row::Column::TenantId
                    | row::Column::Id
                    | row::Column::CustomerNumber
                    | row::Column::CreatedAt
                    | row::Column::CreatedBy
            )
        };
        let columns = (row::Column::TenantId, row::Column::Id, row::Column::Version);
        upsert_kit::write_versioned(conn, rows, columns, fixed, customer::on_tax_id).await?;
        if !moved.is_empty() {
            work_count::add(conn, tenant, &moved).await?;
        }
        customer::clear_tokens(conn, tenant, &retokened).await?;
    }
    // New customers, numbered in call order from one block of the sequence.
    if !creates.is_empty() {
        let today = shanghai_date(now);
        let last = sequence::take(conn, tenant, "customer", &numbering.period(today), creates.len() as i64).await?;
        let first = last - creates.len() as i64 + 1;
        let mut rows = Vec::with_capacity(creates.len());
        let mut keys = Vec::with_capacity(creates.len());
        for (n, p) in creates.into_iter().enumerate() {
            let owner = p.owner_after();
            let new = NewCustomer { fields: p.edited.fields, owner_id: owner, custom_fields: p.edited.custom_fields };
            let department = owner.and_then(|o| departments.get(&o.uuid()).copied().flatten());
            let number = numbering.format(today, first + n as i64);
            let changes = customer::created_changes(&new.fields, &number, owner, &new.custom_fields);
            tokens.extend(customer::token_rows(tenant, p.id, &new.fields));
            events.push((p.id, Operation::Create, changes));
            keys.push((results[p.row].external_id.clone(), p.id));
            rows.push(customer::new_model(author, p.id, number, &new, department, now));
        }
        crate::insert_chunked(conn, rows).await.map_err(|e| match e {
            StoreError::Database(db) => customer::on_tax_id(db),
            other => other,
        })?;
        external_key::insert(conn, tenant, ENTITY, source, keys).await?;
    }

    crate::insert_chunked(conn, tokens).await?;
    audit::record_many(conn, author, ENTITY, events).await?;
    Ok(())
}
