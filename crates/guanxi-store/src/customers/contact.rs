//! Contacts: people at a customer. A contact is visible when its own owner is within the
//! caller's `Contact` scope *and* its customer is visible under the `Customer` scope, so a
//! contact never shows a customer the caller may not see.

use std::collections::BTreeMap;

use chrono::Utc;
use guanxi_domain::customers::contact::{Contact, ContactFields, DecisionRole, Gender};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{ContactId, CustomerId, TenantId, UserId};
use guanxi_domain::mnemonic::mnemonic_codes;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::org::check_no_cycle;
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, Select,
};
use serde_json::Value;
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::contact;
use crate::error::{StoreError, StoreResult, on_unique};
use crate::filter::{Combinators, IdFilter, TextFilter};
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Scoped};
use crate::scope;

pub const ENTITY: EntityKind = EntityKind::Contact;

/// The two scopes a contact read needs (`EntityKind::contact_rules`).
pub type ContactScope = guanxi_domain::entity::OwnerAndCustomer;

fn fields_of(m: &contact::Model) -> StoreResult<ContactFields> {
    let cell = |column| Cell::of("contacts", m.id, column);
    Ok(ContactFields {
        name: m.name.clone(),
        gender: cell("gender").optional_text(m.gender.as_deref(), Gender::parse)?,
        birthday: m.birthday,
        department: m.department.clone(),
        title: m.title.clone(),
        manager_id: m.manager_id.map(Into::into),
        office_phone: m.office_phone.clone(),
        mobile: m.mobile.clone(),
        email: m.email.clone(),
        home_phone: m.home_phone.clone(),
        fax: m.fax.clone(),
        hobbies: m.hobbies.clone(),
        notes: m.notes.clone(),
        decision_role: cell("decision_role").text(&m.decision_role, DecisionRole::parse)?,
    })
}

pub fn to_domain(m: contact::Model) -> StoreResult<Contact> {
    Ok(Contact {
        id: m.id.into(),
        tenant_id: m.tenant_id.into(),
        customer_id: m.customer_id.into(),
        fields: fields_of(&m)?,
        owner_id: m.owner_id.map(Into::into),
        mnemonic_code: m.mnemonic_codes.split(' ').next().unwrap_or_default().to_owned(),
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Contacts, read through their own `CONTACT` scope and their customer's `CUSTOMER` scope.
pub struct Contacts;

impl Scoped for Contacts {
    type Entity = contact::Entity;
    type Scope = ContactScope;
    type Record = Contact;
    const ID: contact::Column = contact::Column::Id;
    const DELETED_AT: Option<contact::Column> = Some(contact::Column::DeletedAt);

    fn visible(backend: DbBackend, tenant: TenantId, scope: ContactScope) -> Select<contact::Entity> {
        use contact::Column as C;
        scope::of_owner_and_customer(backend, tenant, scope, (C::TenantId, C::CustomerId, C::OwnerId))
    }

    fn to_domain(model: contact::Model) -> StoreResult<Contact> {
        to_domain(model)
    }
}

repo::versioned!(Contacts, contact);
repo::recyclable!(Contacts, contact, ENTITY);

repo::scoped_reads!(Contacts);

/// Live, visible contacts of any of `customers`, by name (for data loaders and the chain).
pub async fn of_customers<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: ContactScope,
    customers: &[Uuid],
) -> StoreResult<Vec<Contact>> {
    Contacts::live(conn.get_database_backend(), tenant, scope)
        .filter(contact::Column::CustomerId.is_in(customers.iter().copied()))
        .order_by_asc(contact::Column::Name)
        .order_by_asc(contact::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(to_domain)
        .collect::<StoreResult<_>>()
}

#[derive(Clone, Debug, Default)]
pub struct ContactFilter {
    pub combinators: Combinators<ContactFilter>,
    /// A substring of the name or email, or a phone number.
    pub search: Option<String>,
    /// Match phones only on the whole number (for callers who see them masked: a
    /// substring match would let them uncover a masked number digit by digit).
    pub phones_exact_only: bool,
    pub customer_id: Option<IdFilter>,
    pub name: Option<TextFilter>,
    pub decision_role: Option<DecisionRole>,
    pub owner_id: Option<IdFilter>,
    pub deleted: Option<bool>,
}

impl ContactFilter {
    fn condition(&self) -> Condition {
        let mut all = Condition::all();
        if let Some(term) = self.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let contains = TextFilter { contains: Some(term.to_owned()), ..TextFilter::default() };
            let phone = if self.phones_exact_only {
                let whole = guanxi_domain::phone::PhoneNumber::parse("search", term)
                    .map(|p| p.into_inner())
                    .unwrap_or_default();
                Condition::any()
                    .add(contact::Column::Mobile.eq(whole.clone()))
                    .add(contact::Column::OfficePhone.eq(whole))
            } else {
                Condition::any()
                    .add(contains.condition(contact::Column::Mobile))
                    .add(contains.condition(contact::Column::OfficePhone))
            };
            let mut any = Condition::any()
                .add(contains.condition(contact::Column::Name))
                .add(phone)
                .add(contains.condition(contact::Column::Email));
            // Initials (`zs` for 张三): the start of any reading's code.
            if term.chars().all(|c| c.is_ascii_alphanumeric()) {
                let initials = term.to_ascii_lowercase();
                let starts = TextFilter { starts_with: Some(initials.clone()), ..TextFilter::default() };
                let later = TextFilter { contains: Some(format!(" {initials}")), ..TextFilter::default() };
                any = any
                    .add(starts.condition(contact::Column::MnemonicCodes))
                    .add(later.condition(contact::Column::MnemonicCodes));
            }
            all = all.add(any);
        }
        if let Some(f) = &self.customer_id {
            all = all.add(f.condition(contact::Column::CustomerId));
        }
        if let Some(f) = &self.name {
            all = all.add(f.condition(contact::Column::Name));
        }
        if let Some(role) = self.decision_role {
            all = all.add(contact::Column::DecisionRole.eq(role.as_str()));
        }
        if let Some(f) = &self.owner_id {
            all = all.add(f.condition(contact::Column::OwnerId));
        }
        self.combinators.apply(all, Self::condition)
    }
}

impl repo::Listed for Contacts {
    type Filter = ContactFilter;
    /// Contacts list by name.
    type Order = Direction;

    fn matching(
        backend: DbBackend,
        tenant: TenantId,
        scope: ContactScope,
        filter: &ContactFilter,
    ) -> Select<contact::Entity> {
        repo::in_bin::<Self>(backend, tenant, scope, filter.deleted).filter(filter.condition())
    }

    fn sort_key(direction: Direction) -> SortKey<contact::Entity> {
        SortKey {
            name: "NAME",
            column: contact::Column::Name,
            direction,
            value: |m: &contact::Model| CursorValue::Text(m.name.clone()),
        }
    }

    fn id_of(model: &contact::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Contacts);

/// Checks a contact's manager: a live contact of the same customer, not below the contact.
async fn check_manager<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customer: Uuid,
    this: Option<ContactId>,
    manager: Option<ContactId>,
) -> StoreResult<()> {
    let Some(manager) = manager else { return Ok(()) };
    let mut chain = Vec::new();
    let mut next = Some(manager.uuid());
    while let Some(id) = next {
        let Some(row) = contact::Entity::find_by_id((tenant.uuid(), id)).one(conn).await? else {
            if chain.is_empty() {
                return Err(StoreError::rejected("managerId", ErrorCode::NotFound, "no such contact"));
            }
            break;
        };
        if chain.is_empty() && (row.customer_id != customer || row.deleted_at.is_some()) {
            return Err(StoreError::rejected(
                "managerId",
                ErrorCode::NotFound,
                "the manager must be a contact of the same customer",
            ));
        }
        chain.push(ContactId::from_uuid(row.id));
        next = row.manager_id.filter(|_| chain.len() < 100);
    }
    if let Some(this) = this {
        check_no_cycle("managerId", &this, Some(&manager), &chain)?;
    }
    Ok(())
}

pub(crate) fn active_model(fields: &ContactFields, custom_fields: &BTreeMap<String, Value>) -> contact::ActiveModel {
    contact::ActiveModel {
        name: Set(fields.name.clone()),
        gender: Set(fields.gender.map(|g| g.as_str().to_owned())),
        birthday: Set(fields.birthday),
        department: Set(fields.department.clone()),
        title: Set(fields.title.clone()),
        manager_id: Set(fields.manager_id.map(ContactId::uuid)),
        office_phone: Set(fields.office_phone.clone()),
        mobile: Set(fields.mobile.clone()),
        email: Set(fields.email.clone()),
        home_phone: Set(fields.home_phone.clone()),
        fax: Set(fields.fax.clone()),
        hobbies: Set(fields.hobbies.clone()),
        notes: Set(fields.notes.clone()),
        decision_role: Set(fields.decision_role.as_str().to_owned()),
        mnemonic_codes: Set(mnemonic_codes(&fields.name).join(" ")),
        custom_fields: Set(serde_json::to_value(custom_fields).unwrap_or_default()),
        ..Default::default()
    }
}

pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: ContactScope,
    customer: CustomerId,
    fields: ContactFields,
    (owner, id): (Option<UserId>, Option<Uuid>),
    custom_fields: BTreeMap<String, Value>,
) -> StoreResult<Contact> {
    let tenant = author.tenant_id;
    let parent = crate::customers::customer::find(conn, tenant, scope.customer, customer.uuid()).await?;
    if parent.is_none_or(|c| c.deleted_at.is_some()) {
        return Err(StoreError::rejected("customerId", ErrorCode::NotFound, "no such customer"));
    }
    check_manager(conn, tenant, customer.uuid(), None, fields.manager_id).await?;
    let now = Utc::now();
    let columns = (contact::Column::TenantId, contact::Column::Id);
    let id = ContactId::from_uuid(crate::repo::new_id::<contact::Entity, _>(conn, columns, tenant, id).await?);
    let mut model = active_model(&fields, &custom_fields);
    model.tenant_id = Set(tenant.uuid());
    model.id = Set(id.uuid());
    model.customer_id = Set(customer.uuid());
    model.owner_id = Set(owner.map(UserId::uuid));
    model.version = Set(1);
    model.created_at = Set(now);
    model.updated_at = Set(now);
    model.deleted_at = Set(None);
    let inserted = contact::Entity::insert(model).exec_with_returning(conn).await;
    let created = to_domain(inserted.map_err(|e| on_unique(e, "id", "a record already has this id"))?)?;
    let changes = ChangeSet::new()
        .diff(&serde_json::json!({}), &created.fields)
        .field("customerId", (), customer)
        .field("ownerId", (), owner)
        .field("customFields", (), &custom_fields);
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    Ok(created)
}

/// The custom field values stored on a contact.
pub async fn custom_values<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Uuid,
) -> StoreResult<BTreeMap<String, Value>> {
    let row = contact::Entity::find_by_id((tenant.uuid(), id)).one(conn).await?.ok_or(StoreError::NotFound)?;
    Cell::of("contacts", row.id, "custom_fields").json(row.custom_fields)
}

pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: ContactScope,
    id: Uuid,
    expected_version: i32,
    edit: impl FnOnce(&Contact, &BTreeMap<String, Value>) -> Result<(ContactFields, BTreeMap<String, Value>), Invalid>,
) -> StoreResult<Contact> {
    let tenant = author.tenant_id;
    let before = repo::current::<Contacts, _>(conn, tenant, scope, id, expected_version).await?;
    if before.deleted_at.is_some() {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "restore the contact before editing it"));
    }
    let custom_before = custom_values(conn, tenant, id).await?;
    let (fields, custom) = edit(&before, &custom_before)?;
    check_manager(conn, tenant, before.customer_id.uuid(), Some(before.id), fields.manager_id).await?;
    let changes = ChangeSet::new().diff(&before.fields, &fields).field("customFields", &custom_before, &custom);
    if changes.is_empty() {
        return Ok(before);
    }
    let after = repo::write_versioned::<Contacts, _>(
        conn,
        tenant,
        id,
        expected_version,
        contact::Entity::update_many().set(active_model(&fields, &custom)),
    )
    .await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes).await?;
    Ok(after)
}

pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: ContactScope,
    id: Uuid,
    expected_version: i32,
) -> StoreResult<Contact> {
    let tenant = author.tenant_id;
    repo::live_current::<Contacts, _>(conn, tenant, scope, id, expected_version).await?;
    // Contacts who reported to this one now report to nobody.
    contact::Entity::update_many()
        .col_expr(contact::Column::ManagerId, Expr::value(None::<Uuid>))
        .filter(contact::Column::TenantId.eq(tenant.uuid()))
        .filter(contact::Column::ManagerId.eq(id))
        .exec(conn)
        .await?;
    repo::mark_deleted::<Contacts, _>(conn, author, id, expected_version).await
}

/// A user's own live contacts the caller may see whose next birthday falls within `lead`
/// days of `today` (at most [`MAX_BIRTHDAY_LEAD`]), soonest first, each with that day.
/// Found by month and day among the owner's contacts, so no read goes past them.
///
/// [`MAX_BIRTHDAY_LEAD`]: guanxi_domain::customers::contact::MAX_BIRTHDAY_LEAD
pub async fn birthdays_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: ContactScope,
    owner: UserId,
    (today, lead): (chrono::NaiveDate, u16),
    limit: usize,
) -> StoreResult<Vec<(Contact, chrono::NaiveDate)>> {
    use guanxi_domain::customers::contact::{birthdays_within, next_birthday};
    let backend = conn.get_database_backend();
    let days = birthdays_within(today, lead);
    let month_day = crate::dialect::month_day_sql(backend, r#""contacts"."birthday""#);
    let rows = Contacts::live(backend, tenant, scope)
        .filter(contact::Column::OwnerId.eq(owner.uuid()))
        .filter(contact::Column::Birthday.is_not_null())
        .filter(sea_orm::ExprTrait::is_in(Expr::cust(month_day), days))
        .all(conn)
        .await?;
    let mut found: Vec<(Contact, chrono::NaiveDate)> = rows
        .into_iter()
        .map(to_domain)
        .collect::<StoreResult<Vec<_>>>()?
        .into_iter()
        .filter_map(|c| {
            let next = next_birthday(c.fields.birthday?, today)?;
            (next - today <= chrono::Duration::days(i64::from(lead))).then_some((c, next))
        })
        .collect();
    found.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.fields.name.cmp(&b.0.fields.name)));
    found.truncate(limit);
    Ok(found)
}
