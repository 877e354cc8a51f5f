//! Contacts over GraphQL, and the decision chain they draw.

use std::collections::{BTreeMap, HashMap};

use async_graphql::{Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::customers::contact::{
    Contact as DomainContact, ContactFields, DecisionRole as DomainRole, Gender as DomainGender, age,
};
use guanxi_domain::customers::customer::{optional_text, shanghai_date};
use guanxi_domain::ids::{ContactId, CustomerId};
use guanxi_domain::phone::PhoneNumber;
use guanxi_domain::platform::access::Permission;
use guanxi_domain::platform::custom_field::check_values;
use guanxi_domain::platform::org::Email;
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use guanxi_store::customers::contact::ContactFilter as StoreFilter;
use guanxi_store::filter::Combinators;
use guanxi_store::page::Direction;
use serde::Serialize;
use serde_json::Value;

use crate::graphql::context::{actor, author, require, state};
use crate::graphql::customers::customer::{CUSTOMER, Customer};
use crate::graphql::customers::customer_input::custom_input;
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::integration::upsert::{ExternalKey, external_keys};
use crate::graphql::loaders::{ContactKey, CustomerKey, Loaders, UserKey, contact_scope};
use crate::graphql::mutation::{Idempotent, reload_scoped, write, write_by_id};
use crate::graphql::platform::org::{USER, User};
use crate::graphql::relay::{Conn, TotalCount, client_id, connection, expect_id, global_id, input_id, page_request};
use crate::graphql::shared::{IdFilter, OrderDirection, StringFilter};

pub const CONTACT: &str = guanxi_domain::entity::EntityKind::Contact.name();
pub const CUSTOM_FIELD_ENTITY: &str = "CONTACT";

fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, ApiError> {
    ctx.data_opt::<Loaders>().ok_or_else(|| ApiError::Unauthenticated("log in first".into()))
}

/// A contact's part in the customer's buying decision.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainRole")]
pub enum DecisionRole {
    /// 决策者
    DecisionMaker,
    /// 影响者
    Influencer,
    /// 使用者
    User,
    /// 把关者
    Gatekeeper,
    /// 其他
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
pub enum Gender {
    /// 男
    Male,
    /// 女
    Female,
}

/// A person at a customer (联系人).
pub struct Contact(pub DomainContact);

impl Contact {
    fn phone(&self, ctx: &Context<'_>, phone: &Option<String>) -> ApiResult<Option<String>> {
        let actor = actor(ctx)?;
        Ok(phone.as_deref().map(|p| actor.phone_as_seen(p)))
    }
}

#[Object]
impl Contact {
    pub async fn id(&self) -> ID {
        global_id(CONTACT, self.0.id.uuid())
    }
    async fn name(&self) -> &str {
        &self.0.fields.name
    }

    /// The pinyin initials of the name (助记码), as people read it aloud (多音字 read in
    /// context); `search` also finds a contact by the initials of its other readings.
    async fn mnemonic_code(&self) -> &str {
        &self.0.mnemonic_code
    }
    /// The contact's keys in outside systems (an ERP's code), as `upsertContacts` names it.
    async fn external_keys(&self, ctx: &Context<'_>) -> ApiResult<Vec<ExternalKey>> {
        external_keys(ctx, guanxi_domain::entity::EntityKind::Contact, self.0.id.uuid()).await
    }
    async fn gender(&self) -> Option<Gender> {
        self.0.fields.gender.map(|g| match g {
            DomainGender::Male => Gender::Male,
            DomainGender::Female => Gender::Female,
        })
    }
    async fn birthday(&self) -> Option<NaiveDate> {
        self.0.fields.birthday
    }
    /// Whole years, from the birthday.
    async fn age(&self) -> Option<i32> {
        age(self.0.fields.birthday?, shanghai_date(Utc::now()))
    }
    async fn department(&self) -> Option<&str> {
        self.0.fields.department.as_deref()
    }
    async fn title(&self) -> Option<&str> {
        self.0.fields.title.as_deref()
    }
    async fn decision_role(&self) -> DecisionRole {
        self.0.fields.decision_role.into()
    }
    /// The contact's superior at the customer (上级主管).
    async fn manager(&self, ctx: &Context<'_>) -> ApiResult<Option<Contact>> {
        let Some(manager) = self.0.fields.manager_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(ContactKey(manager.uuid())).await?.map(Contact))
    }
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loaders(ctx)?.load_one(CustomerKey(self.0.customer_id.uuid())).await?.map(Customer))
    }
    /// Masked unless the caller holds `phone.unmasked`.
    async fn office_phone(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.phone(ctx, &self.0.fields.office_phone)
    }
    /// Masked unless the caller holds `phone.unmasked`.
    async fn mobile(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.phone(ctx, &self.0.fields.mobile)
    }
    /// Masked unless the caller holds `phone.unmasked`.
    async fn home_phone(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.phone(ctx, &self.0.fields.home_phone)
    }
    async fn email(&self) -> Option<&str> {
        self.0.fields.email.as_deref()
    }
    async fn fax(&self) -> Option<&str> {
        self.0.fields.fax.as_deref()
    }
    async fn hobbies(&self) -> Option<&str> {
        self.0.fields.hobbies.as_deref()
    }
    async fn notes(&self) -> Option<&str> {
        self.0.fields.notes.as_deref()
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(owner) = self.0.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(owner.uuid())).await?.map(User))
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
}

/// One contact in the decision chain, with the contacts who report to them.
#[derive(SimpleObject)]
pub struct DecisionChainNode {
    contact: Contact,
    role: DecisionRole,
    reports: Vec<DecisionChainNode>,
}

/// A page of contacts (of one customer when `customer` is given).
pub(crate) async fn contact_connection(
    ctx: &Context<'_>,
    customer: Option<uuid::Uuid>,
    filter: Option<StoreFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<Conn<Contact>> {
    let actor = actor(ctx)?.clone();
    let mut filter = filter.unwrap_or_default();
    filter.phones_exact_only = !actor.sees_unmasked_phones();
    if let Some(customer) = customer {
        filter.customer_id = Some(guanxi_store::filter::IdFilter { eq: Some(customer), ..Default::default() });
    }
    let request = page_request(first, after, None, None, "NAME")?;
    let db = state(ctx).db.clone();
    let scope = contact_scope(&actor);
    let page = guanxi_store::customers::contact::list(
        db.connection(),
        actor.tenant_id,
        scope,
        &filter,
        Direction::Asc,
        &request,
    )
    .await?;
    let total = TotalCount::new(move |limit| {
        let (db, filter) = (db.clone(), filter.clone());
        Box::pin(async move {
            guanxi_store::customers::contact::count(db.connection(), actor.tenant_id, scope, &filter, limit).await
        })
    });
    Ok(connection(page, total, Contact))
}

/// Filters contacts.
#[derive(InputObject, Default, Clone)]
pub struct ContactFilter {
    pub and: Option<Vec<ContactFilter>>,
    pub or: Option<Vec<ContactFilter>>,
    pub not: Option<Box<ContactFilter>>,
    /// A substring of the name, mobile or email, or the start of the name's pinyin initials (`zs` for 张三).
    pub search: Option<String>,
    pub customer_id: Option<IdFilter>,
    pub name: Option<StringFilter>,
    pub decision_role: Option<DecisionRole>,
    pub owner_id: Option<IdFilter>,
    pub deleted: Option<bool>,
}

impl ContactFilter {
    fn to_store(&self) -> Result<StoreFilter, ApiError> {
        let nested = |v: &Option<Vec<ContactFilter>>| -> Result<Vec<StoreFilter>, ApiError> {
            v.iter().flatten().map(Self::to_store).collect()
        };
        Ok(StoreFilter {
            combinators: Combinators {
                and: nested(&self.and)?,
                or: nested(&self.or)?,
                not: self.not.as_deref().map(Self::to_store).transpose()?.map(Box::new),
            },
            search: self.search.clone(),
            phones_exact_only: true,
            customer_id: self.customer_id.as_ref().map(|f| f.to_store(CUSTOMER)).transpose()?,
            name: self.name.as_ref().map(StringFilter::to_store),
            decision_role: self.decision_role.map(Into::into),
            owner_id: self.owner_id.as_ref().map(|f| f.to_store(USER)).transpose()?,
            deleted: self.deleted,
        })
    }
}

#[derive(Default)]
pub struct ContactQuery;

#[Object]
impl ContactQuery {
    async fn contact(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Contact> {
        let actor = require(ctx, Permission::ContactRead)?;
        let id = expect_id(&id, CONTACT)?;
        let found = guanxi_store::customers::contact::find(
            state(ctx).db.connection(),
            actor.tenant_id,
            contact_scope(actor),
            id,
        )
        .await?;
        found.map(Contact).ok_or(ApiError::NotFound)
    }

    /// Contacts the caller may see (their own scope and their customer's), by name.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ContactFilter>,
        #[graphql(default_with = "OrderDirection::Asc")] _direction: OrderDirection,
    ) -> ApiResult<Conn<Contact>> {
        require(ctx, Permission::ContactRead)?;
        let filter = filter.map(|f| f.to_store()).transpose()?;
        contact_connection(ctx, None, filter, first, after).await
    }

    /// The customer's decision chain: the tree drawn by the contacts' manager links, with
    /// each contact's role. Contacts whose manager is not visible are roots.
    async fn decision_chain(&self, ctx: &Context<'_>, customer_id: ID) -> ApiResult<Vec<DecisionChainNode>> {
        let actor = require(ctx, Permission::ContactRead)?;
        let customer = crate::graphql::customers::customer::find_visible(ctx, actor, &customer_id).await?;
        let contacts = guanxi_store::customers::contact::of_customers(
            state(ctx).db.connection(),
            actor.tenant_id,
            contact_scope(actor),
            &[customer.id.uuid()],
        )
        .await?;
        let ids: std::collections::HashSet<ContactId> = contacts.iter().map(|c| c.id).collect();
        let mut children: HashMap<Option<ContactId>, Vec<DomainContact>> = HashMap::new();
        for contact in contacts {
            let parent = contact.fields.manager_id.filter(|m| ids.contains(m));
            children.entry(parent).or_default().push(contact);
        }
        fn build(
            parent: Option<ContactId>,
            children: &mut HashMap<Option<ContactId>, Vec<DomainContact>>,
            depth: usize,
        ) -> Vec<DecisionChainNode> {
            let kids = children.remove(&parent).unwrap_or_default();
            kids.into_iter()
                .map(|c| {
                    let reports = if depth < 50 { build(Some(c.id), children, depth + 1) } else { Vec::new() };
                    DecisionChainNode { role: c.fields.decision_role.into(), contact: Contact(c), reports }
                })
                .collect()
        }
        Ok(build(None, &mut children, 0))
    }
}

/// The fields of a contact; on update, leave out what stays and send null to clear.
#[derive(InputObject, Default, Serialize)]
pub struct ContactFieldsInput {
    pub name: MaybeUndefined<String>,
    pub gender: MaybeUndefined<Gender>,
    pub birthday: MaybeUndefined<NaiveDate>,
    pub department: MaybeUndefined<String>,
    pub title: MaybeUndefined<String>,
    pub manager_id: MaybeUndefined<ID>,
    pub office_phone: MaybeUndefined<String>,
    pub mobile: MaybeUndefined<String>,
    pub email: MaybeUndefined<String>,
    pub home_phone: MaybeUndefined<String>,
    pub fax: MaybeUndefined<String>,
    pub hobbies: MaybeUndefined<String>,
    pub notes: MaybeUndefined<String>,
    pub decision_role: MaybeUndefined<DecisionRole>,
}

fn apply<T, U>(
    invalid: &mut Invalid,
    input: &MaybeUndefined<T>,
    current: Option<U>,
    parse: impl FnOnce(&T) -> Result<Option<U>, FieldError>,
) -> Option<U> {
    match input {
        MaybeUndefined::Undefined => current,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(v) => parse(v).unwrap_or_else(|e| {
            invalid.push(e);
            None
        }),
    }
}

fn phone(field: &'static str) -> impl FnOnce(&String) -> Result<Option<String>, FieldError> {
    move |v| if v.trim().is_empty() { Ok(None) } else { PhoneNumber::parse(field, v).map(|p| Some(p.into_inner())) }
}

fn text(field: &'static str, max: usize) -> impl FnOnce(&String) -> Result<Option<String>, FieldError> {
    move |v| optional_text(field, Some(v), max)
}

impl ContactFieldsInput {
    pub(crate) fn merge_into(&self, base: Option<&ContactFields>) -> Result<ContactFields, Invalid> {
        let mut invalid = Invalid::default();
        let i = &mut invalid;
        let b = base.cloned();
        let name = apply(i, &self.name, b.as_ref().map(|b| b.name.clone()), |n| {
            guanxi_domain::platform::org::required_text("name", n, 60).map(Some)
        });
        if name.is_none() && !matches!(self.name, MaybeUndefined::Value(_)) {
            i.push(FieldError::new("name", ErrorCode::Required, "name is required"));
        }
        let fields = ContactFields {
            name: name.unwrap_or_default(),
            gender: apply(i, &self.gender, b.as_ref().and_then(|b| b.gender), |g| {
                Ok(Some(match g {
                    Gender::Male => DomainGender::Male,
                    Gender::Female => DomainGender::Female,
                }))
            }),
            birthday: apply(i, &self.birthday, b.as_ref().and_then(|b| b.birthday), |d| {
                if *d > shanghai_date(Utc::now()) {
                    Err(FieldError::new("birthday", ErrorCode::Invalid, "a birthday is not in the future"))
                } else {
                    Ok(Some(*d))
                }
            }),
            department: apply(
                i,
                &self.department,
                b.as_ref().and_then(|b| b.department.clone()),
                text("department", 60),
            ),
            title: apply(i, &self.title, b.as_ref().and_then(|b| b.title.clone()), text("title", 60)),
            manager_id: apply(i, &self.manager_id, b.as_ref().and_then(|b| b.manager_id), |m| {
                input_id("managerId", m, CONTACT)
                    .map(|u| Some(ContactId::from_uuid(u)))
                    .map_err(|e| FieldError::new("managerId", ErrorCode::Invalid, e.message))
            }),
            office_phone: apply(
                i,
                &self.office_phone,
                b.as_ref().and_then(|b| b.office_phone.clone()),
                phone("officePhone"),
            ),
            mobile: apply(i, &self.mobile, b.as_ref().and_then(|b| b.mobile.clone()), phone("mobile")),
            email: apply(i, &self.email, b.as_ref().and_then(|b| b.email.clone()), |e| {
                if e.trim().is_empty() { Ok(None) } else { Email::parse("email", e).map(|e| Some(e.into_inner())) }
            }),
            home_phone: apply(i, &self.home_phone, b.as_ref().and_then(|b| b.home_phone.clone()), phone("homePhone")),
            fax: apply(i, &self.fax, b.as_ref().and_then(|b| b.fax.clone()), phone("fax")),
            hobbies: apply(i, &self.hobbies, b.as_ref().and_then(|b| b.hobbies.clone()), text("hobbies", 200)),
            notes: apply(i, &self.notes, b.as_ref().and_then(|b| b.notes.clone()), text("notes", 4000)),
            decision_role: apply(i, &self.decision_role, b.as_ref().map(|b| b.decision_role), |r| {
                Ok(Some((*r).into()))
            })
            .unwrap_or(DomainRole::Other),
        };
        invalid.into_result()?;
        Ok(fields)
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateContactInput {
    /// A UUIDv7 the client made for the record (an app offline refers to it before it
    /// syncs): the record gets it, so its global id is known in advance. Another record
    /// with it is `DUPLICATE`; retry with the same `idempotencyKey` instead.
    pub id: Option<String>,
    pub customer_id: ID,
    #[graphql(flatten)]
    pub fields: ContactFieldsInput,
    pub custom_fields: Option<Json<Value>>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct UpdateContactInput {
    pub id: ID,
    pub expected_version: i32,
    #[graphql(flatten)]
    pub fields: ContactFieldsInput,
    pub custom_fields: Option<Json<Value>>,
    /// A retry with the same key and input (an app's queued edit whose answer was lost)
    /// returns the contact as it is now instead of `VERSION_CONFLICT`.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct DeleteContactInput {
    pub id: ID,
    pub expected_version: i32,
}

crate::graphql::error::payload! {
    ContactPayload, contact: Contact(DomainContact)
}

#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// Adds a contact to a customer the caller may see; the customer's owner owns it.
    pub(crate) async fn create_contact(
        &self,
        ctx: &Context<'_>,
        input: CreateContactInput,
    ) -> ApiResult<ContactPayload> {
        let actor = require(ctx, Permission::ContactWrite)?.writing();
        let customer = input_id("customerId", &input.customer_id, CUSTOMER);
        let fields = input.fields.merge_into(None);
        let custom = custom_input(&input.custom_fields);
        let id = client_id(input.id.as_deref());
        let (customer, fields, custom, id) = match (customer, fields, custom, id) {
            (Ok(a), Ok(b), Ok(c), Ok(id)) => (a, b, c, id),
            (a, b, c, id) => {
                let mut all: Vec<UserError> = a.err().into_iter().chain(id.err()).collect();
                for e in [b.err(), c.err()].into_iter().flatten() {
                    all.extend(UserError::all(e));
                }
                return Ok(Err(all).into());
            }
        };
        let author = author(ctx, &actor);
        let scope = contact_scope(&actor);
        let tenant = actor.tenant_id;
        let idempotent = Idempotent::new(&actor, "createContact", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let definitions =
                        guanxi_store::platform::custom_field::definitions(tx, tenant, CUSTOM_FIELD_ENTITY).await?;
                    let custom = check_values(&definitions, &custom, &BTreeMap::new(), true)?;
                    let owner = guanxi_store::customers::customer::find(tx, tenant, scope.customer, customer)
                        .await?
                        .and_then(|c| c.owner_id)
                        .or(author.user_id.map(Into::into));
                    let contact = guanxi_store::customers::contact::create(
                        tx,
                        &author,
                        scope,
                        CustomerId::from_uuid(customer),
                        fields,
                        (owner, id),
                        custom,
                    )
                    .await?;
                    Ok((contact.id.uuid(), contact))
                })
            },
            reload_scoped::<guanxi_store::customers::contact::Contacts>(tenant, scope),
        )
        .await?;
        Ok(result.into())
    }

    pub(crate) async fn update_contact(
        &self,
        ctx: &Context<'_>,
        input: UpdateContactInput,
    ) -> ApiResult<ContactPayload> {
        let actor = &require(ctx, Permission::ContactWrite)?.writing();
        let id = match input_id("id", &input.id, CONTACT) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let custom = match custom_input(&input.custom_fields) {
            Ok(c) => c,
            Err(e) => return Ok(Err(UserError::all(e)).into()),
        };
        let author = author(ctx, actor);
        let scope = contact_scope(actor);
        let tenant = actor.tenant_id;
        let idempotent = Idempotent::new(actor, "updateContact", input.idempotency_key.as_deref(), &input);
        let (fields_input, expected) = (input.fields, input.expected_version);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let definitions =
                        guanxi_store::platform::custom_field::definitions(tx, tenant, CUSTOM_FIELD_ENTITY).await?;
                    let updated = guanxi_store::customers::contact::update(
                        tx,
                        &author,
                        scope,
                        id,
                        expected,
                        |current, current_custom| {
                            let fields = fields_input.merge_into(Some(&current.fields));
                            let custom = check_values(&definitions, &custom, current_custom, false);
                            match (fields, custom) {
                                (Ok(f), Ok(c)) => Ok((f, c)),
                                (f, c) => {
                                    let mut all = Invalid::default();
                                    for e in [f.err(), c.err()].into_iter().flatten() {
                                        all.0.extend(e.0);
                                    }
                                    Err(all)
                                }
                            }
                        },
                    )
                    .await?;
                    Ok((updated.id.uuid(), updated))
                })
            },
            reload_scoped::<guanxi_store::customers::contact::Contacts>(tenant, scope),
        )
        .await?;
        Ok(result.into())
    }

    async fn delete_contact(&self, ctx: &Context<'_>, input: DeleteContactInput) -> ApiResult<ContactPayload> {
        let expected = input.expected_version;
        write_by_id(ctx, Permission::ContactWrite, (&input.id, CONTACT), contact_scope, move |tx, a, s, id| {
            Box::pin(async move { guanxi_store::customers::contact::delete(tx, &a, s, id, expected).await })
        })
        .await
    }
}
