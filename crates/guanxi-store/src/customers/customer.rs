//! Customers: the card, the recycle bin, copies, merges, the duplicate check and search.
//! Every read goes through the `Customer` data scope on the owner column.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::Utc;
use guanxi_domain::customers::customer::{
    Customer, CustomerFields, CustomerKind, CustomerStatus, CustomerType, normalize_name, search_text, shanghai_date,
};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{CustomerId, TenantId, UserId};
use guanxi_domain::mnemonic::mnemonic_code;
use guanxi_domain::platform::access::CustomerRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::{ErrorCode, Invalid};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, SqlErr,
};
use serde_json::Value;
use uuid::Uuid;

use crate::activity::work_count;
use crate::customers::customer_owned;
use crate::decode::Cell;
use crate::entity::{customer, customer_search_token, user};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};
use crate::platform::{sequence, tenant};
use crate::repo::{self, Scoped};
use crate::scope;

pub const ENTITY: EntityKind = EntityKind::Customer;

/// The versioned `UPDATE` that gives customers to `owner` (with their department),
/// counting the reclaim rules from `now`; callers add which customers and on what
/// condition (claims, transfers, handovers, assignment rules).
pub(crate) fn give_to(
    owner: UserId,
    department: Option<Uuid>,
    now: chrono::DateTime<Utc>,
) -> sea_orm::UpdateMany<customer::Entity> {
    customer::Entity::update_many()
        .col_expr(customer::Column::OwnerId, Expr::value(owner.uuid()))
        .col_expr(customer::Column::OwnerDepartmentId, Expr::value(department))
        .col_expr(customer::Column::OwnerReceivedAt, Expr::value(now))
        .col_expr(customer::Column::Version, Expr::col(customer::Column::Version).add(1))
        .col_expr(customer::Column::UpdatedAt, Expr::value(now))
}

fn fields_of(m: &customer::Model) -> StoreResult<CustomerFields> {
    let cell = |column| Cell::of("customers", m.id, column);
    Ok(CustomerFields {
        kind: cell("kind").text(&m.kind, CustomerKind::parse)?,
        customer_type: cell("customer_type").text(&m.customer_type, CustomerType::parse)?,
        name: m.name.clone(),
        level: m.level.clone(),
        status: cell("status").text(&m.status, CustomerStatus::parse)?,
        credit_rating: m.credit_rating.clone(),
        credit_limit: cell("credit_limit").optional_text(m.credit_limit.as_deref(), |d| Decimal::from_str(d).ok())?,
        parent_id: m.parent_id.map(Into::into),
        industry: m.industry.clone(),
        region: m.region.clone(),
        province: m.province.clone(),
        city: m.city.clone(),
        address: m.address.clone(),
        postal_code: m.postal_code.clone(),
        latitude: m.latitude,
        longitude: m.longitude,
        main_phone: m.main_phone.clone(),
        finance_phone: m.finance_phone.clone(),
        email: m.email.clone(),
        website: m.website.clone(),
        size: m.size.clone(),
        tax_id: m.tax_id.clone(),
        bank_name: m.bank_name.clone(),
        bank_account: m.bank_account.clone(),
        business_scope: m.business_scope.clone(),
        source: m.source.clone(),
        registered_at: m.registered_at,
        tags: cell("tags").json(m.tags.clone())?,
        notes: m.notes.clone(),
    })
}

pub fn to_domain(m: customer::Model) -> StoreResult<Customer> {
    let cell = |column| Cell::of("customers", m.id, column);
    Ok(Customer {
        id: m.id.into(),
        tenant_id: m.tenant_id.into(),
        fields: fields_of(&m)?,
        number: m.customer_number,
        mnemonic_code: m.mnemonic_code,
        owner_id: m.owner_id.map(Into::into),
        owner_department_id: m.owner_department_id.map(Into::into),
        custom_fields: cell("custom_fields").json(m.custom_fields)?,
        merged_into_id: m.merged_into_id.map(Into::into),
        last_interaction_at: m.last_interaction_at,
        last_deal_at: m.last_deal_at,
        next_follow_up_at: m.next_follow_up_at,
        pool: crate::sales::pool_move::entry(
            "customers",
            m.id,
            (m.pool_id, m.pool_entered_at),
            m.previous_owner_id,
            (m.pool_action.as_deref(), m.pool_reason.as_deref()),
        )?,
        owner_received_at: m.owner_received_at,
        locked: m.locked,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Customers, read through the `CUSTOMER` scope of their owner.
pub struct Customers;

impl Scoped for Customers {
    type Entity = customer::Entity;
    type Scope = CustomerRule;
    type Record = Customer;
    const ID: customer::Column = customer::Column::Id;
    const DELETED_AT: Option<customer::Column> = Some(customer::Column::DeletedAt);

    /// The customers of the tenant that `rule` lets the caller see, by owner or shared with
    /// them (deleted ones included).
    fn visible(backend: DbBackend, tenant: TenantId, rule: CustomerRule) -> Select<customer::Entity> {
        customer::Entity::find().filter(customer::Column::TenantId.eq(tenant.uuid())).filter(scope::customer_condition(
            backend,
            tenant,
            rule,
            ((customer::Entity, customer::Column::Id), (customer::Entity, customer::Column::OwnerId)),
        ))
    }

    fn to_domain(model: customer::Model) -> StoreResult<Customer> {
        to_domain(model)
    }
}

repo::versioned!(Customers, customer);
repo::recyclable!(Customers, customer, ENTITY);

repo::scoped_reads!(Customers);

/// The columns a customer's fields fill.
pub(crate) fn active_model(fields: &CustomerFields) -> customer::ActiveModel {
    customer::ActiveModel {
        kind: Set(fields.kind.as_str().to_owned()),
        customer_type: Set(fields.customer_type.as_str().to_owned()),
        name: Set(fields.name.clone()),
        normalized_name: Set(normalize_name(&fields.name)),
        search_name: Set(search_text(&fields.name)),
        mnemonic_code: Set(mnemonic_code(&fields.name)),
        level: Set(fields.level.clone()),
        status: Set(fields.status.as_str().to_owned()),
        credit_rating: Set(fields.credit_rating.clone()),
        credit_limit: Set(fields.credit_limit.map(|d| format!("{d:.2}"))),
        parent_id: Set(fields.parent_id.map(CustomerId::uuid)),
        industry: Set(fields.industry.clone()),
        region: Set(fields.region.clone()),
        province: Set(fields.province.clone()),
        city: Set(fields.city.clone()),
        address: Set(fields.address.clone()),
        postal_code: Set(fields.postal_code.clone()),
        latitude: Set(fields.latitude),
        longitude: Set(fields.longitude),
        main_phone: Set(fields.main_phone.clone()),
        finance_phone: Set(fields.finance_phone.clone()),
        email: Set(fields.email.clone()),
        website: Set(fields.website.clone()),
        size: Set(fields.size.clone()),
        tax_id: Set(fields.tax_id.clone()),
        bank_name: Set(fields.bank_name.clone()),
        bank_account: Set(fields.bank_account.clone()),
        business_scope: Set(fields.business_scope.clone()),
        source: Set(fields.source.clone()),
        registered_at: Set(fields.registered_at),
        tags: Set(Value::from(fields.tags.clone())),
        notes: Set(fields.notes.clone()),
        ..Default::default()
    }
}

/// Checks the parent customer: visible, live, not the customer itself.
async fn check_parent<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    rule: CustomerRule,
    fields: &CustomerFields,
    this: Option<Uuid>,
) -> StoreResult<()> {
    let Some(parent) = fields.parent_id else { return Ok(()) };
    if Some(parent.uuid()) == this {
        return Err(StoreError::rejected("parentId", ErrorCode::Cycle, "a customer cannot be its own parent"));
    }
    match find(conn, tenant, rule, parent.uuid()).await? {
        Some(p) if p.deleted_at.is_none() => {}
        _ => return Err(StoreError::rejected("parentId", ErrorCode::NotFound, "no such customer")),
    }
    // Walk up from the new parent: meeting this customer would close a loop.
    let mut next = Some(parent.uuid());
    let mut steps = 0;
    while let (Some(id), Some(this)) = (next, this) {
        if id == this {
            return Err(StoreError::rejected("parentId", ErrorCode::Cycle, "the parent is below this customer"));
        }
        steps += 1;
        next = if steps > 100 {
            None
        } else {
            customer::Entity::find_by_id((tenant.uuid(), id)).one(conn).await?.and_then(|c| c.parent_id)
        };
    }
    Ok(())
}

/// What creating a customer needs besides its fields.
pub struct NewCustomer {
    pub fields: CustomerFields,
    pub owner_id: Option<UserId>,
    pub custom_fields: BTreeMap<String, Value>,
}

pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: CustomerRule,
    input: NewCustomer,
) -> StoreResult<Customer> {
    let tenant = author.tenant_id;
    input.fields.check_shape()?;
    check_parent(conn, tenant, rule, &input.fields, None).await?;
    let owner_department = match input.owner_id {
        Some(owner) => Some(
            user::Entity::find_by_id((tenant.uuid(), owner.uuid()))
                .one(conn)
                .await?
                .ok_or_else(|| StoreError::rejected("ownerId", ErrorCode::NotFound, "no such user"))?
                .department_id,
        ),
        None => None,
    };
    let settings = tenant::settings(conn, tenant).await?;
    let rule_of_numbers = settings.customer_numbering;
    let now = Utc::now();
    let today = shanghai_date(now);
    let sequence = sequence::next(conn, tenant, "customer", &rule_of_numbers.period(today)).await?;
    let number = rule_of_numbers.format(today, sequence);
    let id = CustomerId::new();
    let model = new_model(author, id.uuid(), number, &input, owner_department, now);
    let model = customer::Entity::insert(model).exec_with_returning(conn).await.map_err(on_tax_id)?;
    let created = to_domain(model)?;
    write_tokens(conn, tenant, id.uuid(), &created.fields).await?;
    let changes = created_changes(&created.fields, &created.number, created.owner_id, &created.custom_fields);
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    Ok(created)
}

/// The row of a new customer: its fields, number and owner (with the owner's department).
pub(crate) fn new_model(
    author: &Author,
    id: Uuid,
    number: String,
    input: &NewCustomer,
    owner_department: Option<Uuid>,
    now: chrono::DateTime<Utc>,
) -> customer::ActiveModel {
    let mut model = active_model(&input.fields);
    model.tenant_id = Set(author.tenant_id.uuid());
    model.id = Set(id);
    model.customer_number = Set(number);
    model.owner_id = Set(input.owner_id.map(UserId::uuid));
    model.owner_department_id = Set(owner_department);
    model.custom_fields = Set(serde_json::to_value(&input.custom_fields).unwrap_or_default());
    model.merged_into_id = Set(None);
    model.last_interaction_at = Set(None);
    model.next_follow_up_at = Set(None);
    model.last_deal_at = Set(None);
    model.created_by = Set(author.user_id);
    model.version = Set(1);
    model.created_at = Set(now);
    model.updated_at = Set(now);
    model.deleted_at = Set(None);
    model
}

/// The change event's content for a new customer.
pub(crate) fn created_changes(
    fields: &CustomerFields,
    number: &str,
    owner: Option<UserId>,
    custom_fields: &BTreeMap<String, Value>,
) -> ChangeSet {
    ChangeSet::new()
        .diff(&serde_json::json!({}), fields)
        .field("customerNumber", (), number)
        .field("ownerId", (), owner)
        .field("customFields", (), custom_fields)
}

/// The result of merging an update input into the current customer.
pub struct Edited {
    pub fields: CustomerFields,
    pub custom_fields: BTreeMap<String, Value>,
    /// A new owner (needs `customer.transfer`, checked by the caller).
    pub owner_id: Option<Option<UserId>>,
}

/// Updates a live customer: `edit` merges the input into the current record.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: CustomerRule,
    id: Uuid,
    expected_version: i32,
    edit: impl FnOnce(&Customer) -> Result<Edited, Invalid>,
) -> StoreResult<Customer> {
    let tenant = author.tenant_id;
    let before = repo::current::<Customers, _>(conn, tenant, rule, id, expected_version).await?;
    if before.deleted_at.is_some() {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "restore the customer before editing it"));
    }
    let edited = edit(&before)?;
    edited.fields.check_shape()?;
    check_parent(conn, tenant, rule, &edited.fields, Some(id)).await?;
    let mut changes = ChangeSet::new().diff(&before.fields, &edited.fields).field(
        "customFields",
        &before.custom_fields,
        &edited.custom_fields,
    );
    let mut model = active_model(&edited.fields);
    model.custom_fields = Set(serde_json::to_value(&edited.custom_fields).unwrap_or_default());
    let transferred = edited.owner_id.is_some_and(|o| o != before.owner_id);
    if let Some(owner) = edited.owner_id.filter(|o| *o != before.owner_id) {
        let department = match owner {
            Some(owner) => Some(
                user::Entity::find_by_id((tenant.uuid(), owner.uuid()))
                    .one(conn)
                    .await?
                    .ok_or_else(|| StoreError::rejected("ownerId", ErrorCode::NotFound, "no such user"))?
                    .department_id,
            ),
            None => None,
        };
        changes = changes.field("ownerId", before.owner_id, owner);
        model.owner_id = Set(owner.map(UserId::uuid));
        model.owner_department_id = Set(department);
        // The reclaim rules count from the new owner's receipt; a pool customer given to
        // an owner leaves its pool.
        model.owner_received_at = Set(owner.map(|_| Utc::now()));
        if let Some(entry) = before.pool.as_ref().filter(|_| owner.is_some()) {
            changes = changes.field("poolId", entry.pool_id, None::<()>);
            model.pool_id = Set(None);
            model.pool_entered_at = Set(None);
            model.pool_action = Set(None);
            model.pool_reason = Set(None);
        }
        // What hangs off the customer follows it to the new owner, as each kind says.
        customer_owned::follow_owner(conn, author, &[id], customer_owned::Handover::To(owner)).await?;
    }
    if changes.is_empty() {
        return Ok(before);
    }
    if transferred {
        // The work log counts the customer's interactions under its owner.
        work_count::remove(conn, tenant, &[id]).await?;
    }
    let after = repo::write_versioned_or::<Customers, _>(
        conn,
        tenant,
        id,
        expected_version,
        customer::Entity::update_many().set(model),
        on_tax_id,
    )
    .await?;
    if transferred {
        work_count::add(conn, tenant, &[id]).await?;
    }
    write_tokens(conn, tenant, id, &after.fields).await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Locks a customer against automatic reclaim into a public pool, or unlocks it (锁定 /
/// 解锁): a versioned, audited write on a live, owned customer the caller may see.
pub async fn set_locked<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: CustomerRule,
    id: Uuid,
    expected_version: i32,
    locked: bool,
) -> StoreResult<Customer> {
    let tenant = author.tenant_id;
    let before = repo::current::<Customers, _>(conn, tenant, rule, id, expected_version).await?;
    if before.deleted_at.is_some() || before.owner_id.is_none() {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::IllegalState,
            "only a live customer with an owner is locked",
        ));
    }
    if before.locked == locked {
        return Ok(before);
    }
    let model = customer::ActiveModel { locked: Set(locked), ..Default::default() };
    let after = repo::write_versioned::<Customers, _>(
        conn,
        tenant,
        id,
        expected_version,
        customer::Entity::update_many().set(model),
    )
    .await?;
    let changes = ChangeSet::new().field("locked", before.locked, locked);
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// The database refusing a second live customer with a tax id (`ux_customers_tax_id`: two
/// writers that both passed the duplicate check, or a restore of a customer whose code a
/// live one has taken meanwhile) is `DUPLICATE` on `taxId`.
pub(crate) fn on_tax_id(error: DbErr) -> StoreError {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) if message.contains("tax_id") => {
            StoreError::rejected("taxId", ErrorCode::Duplicate, guanxi_domain::customers::customer::TAX_ID_TAKEN)
        }
        _ => StoreError::from(error),
    }
}

/// Moves a customer to the recycle bin.
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: CustomerRule,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<Customer> {
    let tenant = author.tenant_id;
    repo::live_current::<Customers, _>(conn, tenant, rule, id, expected_version).await?;
    // A deleted customer's interactions leave the work log (and come back on restore).
    work_count::remove(conn, tenant, &[id]).await?;
    repo::mark_deleted::<Customers, _>(conn, author, id, expected_version).await
}

/// Brings a customer back from the recycle bin. Restoring a merge tombstone also moves
/// back the records the merge moved (those still with the survivor); the caller checks
/// that only an admin does that.
pub async fn restore<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: CustomerRule,
    id: Uuid,
    expected_version: i32,
    may_undo_merge: bool,
) -> StoreResult<Customer> {
    let tenant = author.tenant_id;
    let (before, deleted_at) = repo::deleted_current::<Customers, _>(conn, tenant, rule, id, expected_version).await?;
    if before.merged_into_id.is_some() && !may_undo_merge {
        return Err(StoreError::rejected("id", ErrorCode::Forbidden, "only an admin can undo a merge"));
    }
    let mut changes = ChangeSet::new().field("deletedAt", deleted_at, None::<()>);
    // The work log's counts: the restored customer (and a merge survivor, whose records
    // move back) are recounted after the change.
    let recount: Vec<Uuid> = std::iter::once(id).chain(before.merged_into_id.map(CustomerId::uuid)).collect();
    let mut unmerged =
        customer::Entity::update_many().col_expr(customer::Column::MergedIntoId, Expr::value(None::<Uuid>));
    if let Some(survivor) = before.merged_into_id {
        // A survivor that holds the tombstone's tax id keeps it (one live customer per
        // code); the restored customer comes back without one.
        let survivor_tax = customer::Entity::find_by_id((tenant.uuid(), survivor.uuid()))
            .select_only()
            .column(customer::Column::TaxId)
            .into_tuple::<Option<String>>()
            .one(conn)
            .await?
            .flatten();
        if let Some(tax) = before.fields.tax_id.as_ref().filter(|t| survivor_tax.as_ref() == Some(*t)) {
            unmerged = unmerged.col_expr(customer::Column::TaxId, Expr::value(None::<String>));
            changes = changes.field("taxId", tax, None::<()>);
        }
        work_count::remove(conn, tenant, &[survivor.uuid()]).await?;
        let moved = merged_records(conn, tenant, id).await?;
        for (table, _) in customer_owned::moved_on_merge() {
            let ids: Vec<Uuid> = moved.get(table).cloned().unwrap_or_default();
            if ids.is_empty() {
                continue;
            }
            customer_owned::move_rows(conn, tenant, table, &ids, survivor.uuid(), id).await?;
        }
        changes = changes.field("mergedIntoId", survivor, None::<()>).field("movedBack", (), &moved);
    }
    let after = repo::mark_restored::<Customers, _>(conn, tenant, (id, expected_version), unmerged, on_tax_id).await?;
    work_count::add(conn, tenant, &recount).await?;
    write_tokens(conn, tenant, id, &after.fields).await?;
    repo::record_restore::<Customers, _>(conn, author, id, changes).await?;
    Ok(after)
}

/// The records a merge moved away from tombstone `id`, from its MERGE change event.
async fn merged_records<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Uuid,
) -> StoreResult<BTreeMap<String, Vec<Uuid>>> {
    use crate::entity::change_event;
    let event = change_event::Entity::find()
        .filter(change_event::Column::TenantId.eq(tenant.uuid()))
        .filter(change_event::Column::EntityType.eq(ENTITY.name()))
        .filter(change_event::Column::EntityId.eq(id))
        .filter(change_event::Column::Operation.eq(Operation::Merge.as_str()))
        .order_by_desc(change_event::Column::Seq)
        .one(conn)
        .await?;
    // A tombstone without a MERGE event, or one that moved nothing, has nothing to move
    // back; an event or a list that does not decode is an error, not an empty list.
    let Some(event) = event else { return Ok(BTreeMap::new()) };
    let row = event.id;
    let event = audit::to_domain(event)?;
    match event.changes.into_iter().find(|c| c.field == "movedRecords") {
        Some(moved) => Cell::of("change_events", row, "changes").json(moved.new),
        None => Ok(BTreeMap::new()),
    }
}

/// Copies a customer: same fields and custom fields, a new number, `（副本）` after the
/// name, no tax id (a company has one code; the copy is a different record).
pub async fn copy<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: CustomerRule,
    id: Uuid,
    owner: Option<UserId>,
) -> StoreResult<Customer> {
    let tenant = author.tenant_id;
    let source = find(conn, tenant, rule, id).await?.filter(|c| c.deleted_at.is_none()).ok_or(StoreError::NotFound)?;
    let mut fields = source.fields.clone();
    fields.name = format!("{}（副本）", fields.name);
    fields.tax_id = None;
    let copied = create(
        conn,
        author,
        rule,
        NewCustomer { fields, owner_id: owner, custom_fields: source.custom_fields.clone() },
    )
    .await?;
    audit::record(
        conn,
        author,
        ENTITY,
        copied.id.uuid(),
        Operation::Copy,
        &ChangeSet::new().field("copiedFrom", (), id),
    )
    .await?;
    Ok(copied)
}

/// Merges duplicates into a survivor. `choose` builds the survivor's fields from it and
/// the merged records. Every related record moves to the survivor; the merged customers
/// stay as tombstones (`mergedIntoId`) whose change events list what moved.
pub async fn merge<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: CustomerRule,
    survivor_id: Uuid,
    survivor_version: i32,
    merged_ids: &[Uuid],
    choose: impl FnOnce(&Customer, &[Customer]) -> Result<Edited, Invalid>,
) -> StoreResult<Customer> {
    let tenant = author.tenant_id;
    if merged_ids.is_empty() || merged_ids.contains(&survivor_id) {
        return Err(StoreError::rejected(
            "mergedIds",
            ErrorCode::Invalid,
            "name one or more customers other than the survivor",
        ));
    }
    let survivor = repo::current::<Customers, _>(conn, tenant, rule, survivor_id, survivor_version).await?;
    let merged = by_ids(conn, tenant, rule, merged_ids).await?;
    if survivor.deleted_at.is_some()
        || merged.len() != merged_ids.iter().collect::<std::collections::BTreeSet<_>>().len()
    {
        return Err(StoreError::rejected(
            "mergedIds",
            ErrorCode::NotFound,
            "every merged customer must exist and be live",
        ));
    }
    let mut edited = choose(&survivor, &merged)?;
    // A survivor cannot end up its own parent or the child of a tombstone.
    if edited.fields.parent_id.is_some_and(|p| p.uuid() == survivor_id || merged_ids.contains(&p.uuid())) {
        edited.fields.parent_id = survivor.fields.parent_id.filter(|p| !merged_ids.contains(&p.uuid()));
    }
    edited.fields.check_shape()?;
    let now = Utc::now();
    // The work log's counts: every customer of the merge is taken out before records
    // move, and the survivor (now holding them) is counted again at the end.
    let involved: Vec<Uuid> = std::iter::once(survivor_id).chain(merged_ids.iter().copied()).collect();
    work_count::remove(conn, tenant, &involved).await?;
    // Subsidiaries of the merged customers now belong to the survivor.
    conn.execute(
        &Query::update()
            .table(customer::Entity)
            .value(customer::Column::ParentId, survivor_id)
            .and_where(Expr::col(customer::Column::TenantId).eq(tenant.uuid()))
            .and_where(Expr::col(customer::Column::ParentId).is_in(merged_ids.iter().copied()))
            .and_where(Expr::col(customer::Column::Id).ne(survivor_id))
            .to_owned(),
    )
    .await?;
    for gone in &merged {
        let gone_id = gone.id.uuid();
        let mut moved: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
        for (table, _) in customer_owned::moved_on_merge() {
            let ids = customer_owned::ids_of(conn, tenant, table, gone_id).await?;
            if !ids.is_empty() {
                customer_owned::move_rows(conn, tenant, table, &ids, gone_id, survivor_id).await?;
            }
            moved.insert(table.to_owned(), ids);
        }
        crate::marketing::member::merge_into(conn, author, gone_id, survivor_id).await?;
        let model = customer::ActiveModel {
            deleted_at: Set(Some(now)),
            merged_into_id: Set(Some(survivor_id)),
            ..Default::default()
        };
        repo::write_versioned::<Customers, _>(
            conn,
            tenant,
            gone_id,
            gone.version,
            customer::Entity::update_many().set(model),
        )
        .await?;
        let changes = ChangeSet::new().field("mergedIntoId", None::<()>, survivor_id).field("movedRecords", (), &moved);
        audit::record(conn, author, ENTITY, gone_id, Operation::Merge, &changes).await?;
    }
    clear_tokens(conn, tenant, merged_ids).await?;
    // What moved follows its (new) customer's owner.
    customer_owned::follow_owner(conn, author, &[survivor_id], customer_owned::Handover::To(survivor.owner_id)).await?;
    let mut model = active_model(&edited.fields);
    model.custom_fields = Set(serde_json::to_value(&edited.custom_fields).unwrap_or_default());
    let after = repo::write_versioned::<Customers, _>(
        conn,
        tenant,
        survivor_id,
        survivor_version,
        customer::Entity::update_many().set(model),
    )
    .await?;
    work_count::add(conn, tenant, &[survivor_id]).await?;
    write_tokens(conn, tenant, survivor_id, &after.fields).await?;
    let changes = ChangeSet::new()
        .diff(&survivor.fields, &after.fields)
        .field("customFields", &survivor.custom_fields, &after.custom_fields)
        .field("merged", (), merged_ids);
    audit::record(conn, author, ENTITY, survivor_id, Operation::Merge, &changes).await?;
    Ok(after)
}

/// Rewrites a customer's search tokens.
async fn write_tokens<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Uuid,
    fields: &CustomerFields,
) -> StoreResult<()> {
    clear_tokens(conn, tenant, &[id]).await?;
    let rows = token_rows(tenant, id, fields);
    if !rows.is_empty() {
        customer_search_token::Entity::insert_many(rows).exec_without_returning(conn).await?;
    }
    Ok(())
}

/// The search-token rows of a customer's fields.
pub(crate) fn token_rows(
    tenant: TenantId,
    id: Uuid,
    fields: &CustomerFields,
) -> Vec<customer_search_token::ActiveModel> {
    let phones: Vec<&str> =
        [fields.main_phone.as_deref(), fields.finance_phone.as_deref()].into_iter().flatten().collect();
    let tokens = guanxi_domain::customers::customer::search_tokens(&fields.name, &phones, fields.tax_id.as_deref());
    tokens
        .into_iter()
        .map(|token| customer_search_token::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            token: Set(token),
            customer_id: Set(id),
        })
        .collect()
}

pub(crate) async fn clear_tokens<C: ConnectionTrait>(conn: &C, tenant: TenantId, ids: &[Uuid]) -> StoreResult<()> {
    customer_search_token::Entity::delete_many()
        .filter(customer_search_token::Column::TenantId.eq(tenant.uuid()))
        .filter(customer_search_token::Column::CustomerId.is_in(ids.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}
