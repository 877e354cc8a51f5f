//! Customers over GraphQL: the card, lists and search, the duplicate check, the recycle
//! bin, copy, merge, and the customer 360 view. Reads go through the `Customer` scope.

use std::collections::BTreeMap;

use async_graphql::{Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::access::{Actor, Module, Permission};
use guanxi_domain::custom_field::{CustomFieldDefinition, check_values};
use guanxi_domain::customer::{
    Customer as DomainCustomer, CustomerFields, CustomerKind as DomainKind, CustomerStatus as DomainStatus,
    CustomerType as DomainType, DuplicatePolicy, DuplicateReason as DomainReason, TaxId, optional_text, parse_amount,
    parse_coordinates, parse_postal_code, parse_tags, parse_website,
};
use guanxi_domain::ids::{CustomerId, UserId};
use guanxi_domain::org::Email;
use guanxi_domain::phone::PhoneNumber;
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use guanxi_store::customer::{CustomerFilter as StoreFilter, CustomerSort, Edited, NewCustomer};
use guanxi_store::filter::Combinators;
use guanxi_store::page::Direction;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use super::audit::ChangeEvent;
use super::contact::{Contact, contact_connection};
use super::context::{actor, author, require, state};
use super::error::{ApiError, ApiResult, Outcome, UserError};
use super::loaders::{ContactsOfCustomerKey, CustomerKey, DepartmentKey, Loaders, UserKey};
use super::mutation::{Idempotent, transact, write};
use super::org::{Department, USER, User};
use super::relay::{Conn, TotalCount, connection, expect_id, global_id, input_id, page_request};
use super::shared::{IdFilter, OrderDirection, StringFilter, TimeRange};

pub const CUSTOMER: &str = guanxi_domain::entity::EntityKind::Customer.name();
pub const CUSTOM_FIELD_ENTITY: &str = "CUSTOMER";

fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, ApiError> {
    ctx.data_opt::<Loaders>().ok_or_else(|| ApiError::Unauthenticated("log in first".into()))
}

macro_rules! gql_enum {
    ($(#[$doc:meta])* $name:ident <=> $domain:ident { $($(#[$vdoc:meta])* $variant:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
        pub enum $name { $($(#[$vdoc])* $variant,)* }

        impl From<$domain> for $name {
            fn from(v: $domain) -> Self {
                match v { $($domain::$variant => Self::$variant,)* }
            }
        }

        impl From<$name> for $domain {
            fn from(v: $name) -> Self {
                match v { $($name::$variant => Self::$variant,)* }
            }
        }
    };
}

gql_enum!(
    /// Organisations and individuals are different shapes.
    CustomerKind <=> DomainKind {
        /// 企业客户
        Organization,
        /// 个人客户
        Individual,
    }
);
gql_enum!(
    /// What the company is to us.
    CustomerType <=> DomainType {
        /// 客户
        Customer,
        /// 合作伙伴
        Partner,
        /// 经销商
        Distributor,
        /// 供应商
        Supplier,
        /// 竞争对手
        Competitor,
    }
);
gql_enum!(
    /// Where the relationship stands.
    CustomerStatus <=> DomainStatus {
        /// 潜在
        Potential,
        /// 意向
        Intent,
        /// 成交
        Won,
        /// 流失
        Lost,
        /// 休眠
        Dormant,
    }
);
gql_enum!(
    /// Why a customer looks like a duplicate.
    DuplicateReason <=> DomainReason {
        /// 统一社会信用代码相同
        SameTaxId,
        /// 电话相同
        SamePhone,
        /// 名称相同（去除公司后缀、全半角、括号和空格后）
        SameName,
    }
);

/// An exact amount of money.
#[derive(SimpleObject, Clone)]
pub struct Money {
    /// A decimal string, e.g. "1234.50".
    pub amount: Decimal,
    /// ISO 4217, e.g. CNY.
    pub currency: String,
}

impl Money {
    pub fn cny(amount: Decimal) -> Self {
        Self { amount: amount.round_dp(2), currency: "CNY".into() }
    }
}

/// A point on the map (WGS-84).
#[derive(SimpleObject, InputObject, Clone, Copy, Serialize)]
#[graphql(input_name = "GeoPointInput")]
pub struct GeoPoint {
    pub latitude: f64,
    pub longitude: f64,
}

/// A customer (客户档案).
pub struct Customer(pub DomainCustomer);

impl Customer {
    fn phone(&self, ctx: &Context<'_>, phone: &Option<String>) -> ApiResult<Option<String>> {
        let actor = actor(ctx)?;
        Ok(phone.as_deref().map(|p| actor.phone_as_seen(p)))
    }
}

#[Object]
impl Customer {
    pub async fn id(&self) -> ID {
        global_id(CUSTOMER, self.0.id.uuid())
    }
    /// From the tenant's numbering rule, e.g. KH202611230001.
    async fn customer_number(&self) -> &str {
        &self.0.number
    }
    async fn kind(&self) -> CustomerKind {
        self.0.fields.kind.into()
    }
    #[graphql(name = "type")]
    async fn customer_type(&self) -> CustomerType {
        self.0.fields.customer_type.into()
    }
    async fn name(&self) -> &str {
        &self.0.fields.name
    }
    /// Pinyin initials of the name (助记码), e.g. bjxmkj.
    async fn mnemonic_code(&self) -> &str {
        &self.0.mnemonic_code
    }
    async fn level(&self) -> Option<&str> {
        self.0.fields.level.as_deref()
    }
    async fn status(&self) -> CustomerStatus {
        self.0.fields.status.into()
    }
    async fn credit_rating(&self) -> Option<&str> {
        self.0.fields.credit_rating.as_deref()
    }
    async fn credit_limit(&self) -> Option<Money> {
        self.0.fields.credit_limit.map(Money::cny)
    }
    /// The parent organisation; null when there is none or the caller may not see it.
    async fn parent(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        let Some(parent) = self.0.fields.parent_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(CustomerKey(parent.uuid())).await?.map(Customer))
    }
    async fn industry(&self) -> Option<&str> {
        self.0.fields.industry.as_deref()
    }
    async fn region(&self) -> Option<&str> {
        self.0.fields.region.as_deref()
    }
    async fn province(&self) -> Option<&str> {
        self.0.fields.province.as_deref()
    }
    async fn city(&self) -> Option<&str> {
        self.0.fields.city.as_deref()
    }
    async fn address(&self) -> Option<&str> {
        self.0.fields.address.as_deref()
    }
    async fn postal_code(&self) -> Option<&str> {
        self.0.fields.postal_code.as_deref()
    }
    async fn location(&self) -> Option<GeoPoint> {
        Some(GeoPoint { latitude: self.0.fields.latitude?, longitude: self.0.fields.longitude? })
    }
    /// Masked unless the caller holds `phone.unmasked`.
    async fn main_phone(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.phone(ctx, &self.0.fields.main_phone)
    }
    /// Masked unless the caller holds `phone.unmasked`.
    async fn finance_phone(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        self.phone(ctx, &self.0.fields.finance_phone)
    }
    async fn email(&self) -> Option<&str> {
        self.0.fields.email.as_deref()
    }
    async fn website(&self) -> Option<&str> {
        self.0.fields.website.as_deref()
    }
    async fn size(&self) -> Option<&str> {
        self.0.fields.size.as_deref()
    }
    /// The unified social credit code (统一社会信用代码).
    async fn tax_id(&self) -> Option<&str> {
        self.0.fields.tax_id.as_deref()
    }
    async fn bank_name(&self) -> Option<&str> {
        self.0.fields.bank_name.as_deref()
    }
    async fn bank_account(&self) -> Option<&str> {
        self.0.fields.bank_account.as_deref()
    }
    async fn business_scope(&self) -> Option<&str> {
        self.0.fields.business_scope.as_deref()
    }
    async fn source(&self) -> Option<&str> {
        self.0.fields.source.as_deref()
    }
    /// The rep who owns the customer; null when unowned or not visible to the caller.
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(owner) = self.0.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(owner.uuid())).await?.map(User))
    }
    async fn owner_department(&self, ctx: &Context<'_>) -> ApiResult<Option<Department>> {
        let Some(department) = self.0.owner_department_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(DepartmentKey(department.uuid())).await?.map(Department))
    }
    async fn registered_at(&self) -> Option<DateTime<Utc>> {
        self.0.fields.registered_at
    }
    async fn tags(&self) -> &[String] {
        &self.0.fields.tags
    }
    async fn notes(&self) -> Option<&str> {
        self.0.fields.notes.as_deref()
    }
    /// Tenant-defined fields, by key.
    async fn custom_fields(&self) -> Json<&BTreeMap<String, Value>> {
        Json(&self.0.custom_fields)
    }
    /// Set on a merge tombstone: the customer this one was merged into.
    async fn merged_into_id(&self) -> Option<ID> {
        self.0.merged_into_id.map(|id| global_id(CUSTOMER, id.uuid()))
    }
    async fn last_interaction_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_interaction_at
    }
    async fn next_follow_up_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_follow_up_at
    }
    /// Since when the owner has the customer; the pools' reclaim rules count from here
    /// (null: since it was created).
    async fn owner_received_at(&self) -> Option<DateTime<Utc>> {
        self.0.owner_received_at
    }
    /// Locked against automatic reclaim into a public pool (锁定).
    async fn locked(&self) -> bool {
        self.0.locked
    }
    /// Set while the customer waits in a public pool (公海) without an owner.
    async fn pool_entry(&self) -> Option<super::pool::PoolEntry> {
        self.0.pool.clone().map(super::pool::PoolEntry)
    }
    /// The live contacts the caller may see, by name (page through `contacts` for more).
    async fn contacts(&self, ctx: &Context<'_>, #[graphql(default = 20)] first: i32) -> ApiResult<Vec<Contact>> {
        if !actor(ctx)?.may(Permission::ContactRead) {
            return Ok(Vec::new());
        }
        let contacts = loaders(ctx)?.load_one(ContactsOfCustomerKey(self.0.id.uuid())).await?.unwrap_or_default();
        Ok(contacts.into_iter().take(first.clamp(0, 200) as usize).map(Contact).collect())
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

// ---------------------------------------------------------------------------------------
// Input

/// The fields of a customer. On create, leave out what you do not know; on update, leave
/// out what stays, and send null to clear.
#[derive(InputObject, Default, Serialize)]
pub struct CustomerFieldsInput {
    pub kind: MaybeUndefined<CustomerKind>,
    #[graphql(name = "type")]
    pub customer_type: MaybeUndefined<CustomerType>,
    pub name: MaybeUndefined<String>,
    pub level: MaybeUndefined<String>,
    pub status: MaybeUndefined<CustomerStatus>,
    pub credit_rating: MaybeUndefined<String>,
    pub credit_limit: MaybeUndefined<Decimal>,
    pub parent_id: MaybeUndefined<ID>,
    pub industry: MaybeUndefined<String>,
    pub region: MaybeUndefined<String>,
    pub province: MaybeUndefined<String>,
    pub city: MaybeUndefined<String>,
    pub address: MaybeUndefined<String>,
    pub postal_code: MaybeUndefined<String>,
    pub location: MaybeUndefined<GeoPoint>,
    pub main_phone: MaybeUndefined<String>,
    pub finance_phone: MaybeUndefined<String>,
    pub email: MaybeUndefined<String>,
    pub website: MaybeUndefined<String>,
    pub size: MaybeUndefined<String>,
    pub tax_id: MaybeUndefined<String>,
    pub bank_name: MaybeUndefined<String>,
    pub bank_account: MaybeUndefined<String>,
    pub business_scope: MaybeUndefined<String>,
    pub source: MaybeUndefined<String>,
    pub registered_at: MaybeUndefined<DateTime<Utc>>,
    pub tags: MaybeUndefined<Vec<String>>,
    pub notes: MaybeUndefined<String>,
}

/// The fields of a new customer before any input: a potential organisation customer.
pub fn blank_fields() -> CustomerFields {
    CustomerFields {
        kind: DomainKind::Organization,
        customer_type: DomainType::Customer,
        name: String::new(),
        level: None,
        status: DomainStatus::Potential,
        credit_rating: None,
        credit_limit: None,
        parent_id: None,
        industry: None,
        region: None,
        province: None,
        city: None,
        address: None,
        postal_code: None,
        latitude: None,
        longitude: None,
        main_phone: None,
        finance_phone: None,
        email: None,
        website: None,
        size: None,
        tax_id: None,
        bank_name: None,
        bank_account: None,
        business_scope: None,
        source: None,
        registered_at: None,
        tags: Vec::new(),
        notes: None,
    }
}

/// Applies one optional input to a current value, parsing it.
fn apply<T: Clone, U>(
    invalid: &mut Invalid,
    input: &MaybeUndefined<T>,
    current: Option<U>,
    parse: impl FnOnce(&T) -> Result<Option<U>, FieldError>,
) -> Option<U> {
    match input {
        MaybeUndefined::Undefined => current,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(v) => match parse(v) {
            Ok(parsed) => parsed,
            Err(e) => {
                invalid.push(e);
                current
            }
        },
    }
}

fn text(field: &'static str, max: usize) -> impl FnOnce(&String) -> Result<Option<String>, FieldError> {
    move |v| optional_text(field, Some(v), max)
}

fn phone(field: &'static str) -> impl FnOnce(&String) -> Result<Option<String>, FieldError> {
    move |v| if v.trim().is_empty() { Ok(None) } else { PhoneNumber::parse(field, v).map(|p| Some(p.into_inner())) }
}

impl CustomerFieldsInput {
    /// Merges this input into `base`, checking every value; collects all errors.
    pub fn merge_into(&self, base: &CustomerFields) -> Result<CustomerFields, Invalid> {
        let mut invalid = Invalid::default();
        let i = &mut invalid;
        let b = base.clone();
        let kind = apply(i, &self.kind, Some(b.kind), |k| Ok(Some((*k).into()))).unwrap_or(b.kind);
        let customer_type =
            apply(i, &self.customer_type, Some(b.customer_type), |t| Ok(Some((*t).into()))).unwrap_or(b.customer_type);
        let status = apply(i, &self.status, Some(b.status), |s| Ok(Some((*s).into()))).unwrap_or(b.status);
        let name =
            apply(i, &self.name, Some(b.name.clone()), |n| guanxi_domain::org::required_text("name", n, 200).map(Some))
                .unwrap_or_default();
        let parent_id = apply(i, &self.parent_id, b.parent_id, |p| {
            input_id("parentId", p, CUSTOMER)
                .map(|u| Some(CustomerId::from_uuid(u)))
                .map_err(|e| FieldError::new("parentId", ErrorCode::Invalid, e.message))
        });
        let location = apply(i, &self.location, b.latitude.zip(b.longitude), |g| {
            parse_coordinates("location", g.latitude, g.longitude).map(Some)
        });
        let fields = CustomerFields {
            kind,
            customer_type,
            name,
            status,
            level: apply(i, &self.level, b.level, text("level", 40)),
            credit_rating: apply(i, &self.credit_rating, b.credit_rating, text("creditRating", 16)),
            credit_limit: apply(i, &self.credit_limit, b.credit_limit, |d| parse_amount("creditLimit", *d).map(Some)),
            parent_id,
            industry: apply(i, &self.industry, b.industry, text("industry", 60)),
            region: apply(i, &self.region, b.region, text("region", 60)),
            province: apply(i, &self.province, b.province, text("province", 30)),
            city: apply(i, &self.city, b.city, text("city", 30)),
            address: apply(i, &self.address, b.address, text("address", 200)),
            postal_code: apply(i, &self.postal_code, b.postal_code, |p| {
                if p.trim().is_empty() { Ok(None) } else { parse_postal_code("postalCode", p).map(Some) }
            }),
            latitude: location.map(|l| l.0),
            longitude: location.map(|l| l.1),
            main_phone: apply(i, &self.main_phone, b.main_phone, phone("mainPhone")),
            finance_phone: apply(i, &self.finance_phone, b.finance_phone, phone("financePhone")),
            email: apply(i, &self.email, b.email, |e| {
                if e.trim().is_empty() { Ok(None) } else { Email::parse("email", e).map(|e| Some(e.into_inner())) }
            }),
            website: apply(i, &self.website, b.website, |w| {
                if w.trim().is_empty() { Ok(None) } else { parse_website("website", w).map(Some) }
            }),
            size: apply(i, &self.size, b.size, text("size", 40)),
            tax_id: apply(i, &self.tax_id, b.tax_id, |t| {
                if t.trim().is_empty() { Ok(None) } else { TaxId::parse("taxId", t).map(|t| Some(t.into_inner())) }
            }),
            bank_name: apply(i, &self.bank_name, b.bank_name, text("bankName", 100)),
            bank_account: apply(i, &self.bank_account, b.bank_account, text("bankAccount", 40)),
            business_scope: apply(i, &self.business_scope, b.business_scope, text("businessScope", 2000)),
            source: apply(i, &self.source, b.source, text("source", 60)),
            registered_at: apply(i, &self.registered_at, b.registered_at, |t| Ok(Some(*t))),
            tags: apply(i, &self.tags, Some(b.tags), |t| parse_tags("tags", t).map(Some)).unwrap_or_default(),
            notes: apply(i, &self.notes, b.notes, text("notes", 4000)),
        };
        if let Err(shape) = fields.check_shape() {
            for e in shape.0 {
                if !invalid.0.iter().any(|x| x.field == e.field) {
                    invalid.push(e);
                }
            }
        }
        invalid.into_result()?;
        Ok(fields)
    }
}

/// Parses the `customFields` input object.
pub fn custom_input(value: &Option<Json<Value>>) -> Result<BTreeMap<String, Value>, Invalid> {
    match value.as_ref().map(|j| &j.0) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => Ok(map.clone().into_iter().collect()),
        Some(_) => Err(Invalid::one("customFields", ErrorCode::Invalid, "customFields is an object of key → value")),
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateCustomerInput {
    #[graphql(flatten)]
    pub fields: CustomerFieldsInput,
    /// The owning rep; default: the caller. Another owner needs `customer.transfer`.
    pub owner_id: Option<ID>,
    /// Values of tenant-defined fields, by key.
    pub custom_fields: Option<Json<Value>>,
    /// Create even though the duplicate check found matches (tenant policy WARN).
    #[graphql(default)]
    pub confirm_duplicates: bool,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateCustomerInput {
    pub id: ID,
    pub expected_version: i32,
    #[graphql(flatten)]
    pub fields: CustomerFieldsInput,
    /// A new owner (needs `customer.transfer`); the customer's contacts follow.
    pub owner_id: MaybeUndefined<ID>,
    /// Values to set (null removes one); keys not given stay.
    pub custom_fields: Option<Json<Value>>,
    /// Save even though the new name, tax id or phone matches another customer (policy WARN).
    #[graphql(default)]
    pub confirm_duplicates: bool,
}

#[derive(InputObject)]
pub struct CustomerIdInput {
    pub id: ID,
    pub expected_version: i32,
}

#[derive(InputObject)]
pub struct CopyCustomerInput {
    pub id: ID,
}

/// Which merged customer supplies one field of the survivor.
#[derive(InputObject)]
pub struct MergeFieldChoice {
    /// A field name as in `Customer` (e.g. `mainPhone`, `address`) or `customFields.<key>`.
    pub field: String,
    /// The customer (survivor or merged) whose value wins.
    pub from_id: ID,
}

#[derive(InputObject)]
pub struct MergeCustomersInput {
    pub survivor_id: ID,
    pub expected_version: i32,
    /// The duplicates to fold into the survivor; they become tombstones.
    pub merged_ids: Vec<ID>,
    /// Field by field, where the survivor's value comes from (default: the survivor's own,
    /// or the first merged customer that has one when the survivor's is empty).
    #[graphql(default)]
    pub choices: Vec<MergeFieldChoice>,
}

/// A customer that looks like the draft.
#[derive(SimpleObject)]
pub struct DuplicateMatch {
    /// Null when the match is outside the caller's data scope: they learn a duplicate
    /// exists (so two reps do not both work one company), not what it is.
    customer: Option<Customer>,
    reasons: Vec<DuplicateReason>,
}

#[derive(SimpleObject)]
pub struct CustomerPayload {
    customer: Option<Customer>,
    user_errors: Vec<UserError>,
    /// Likely duplicates found by the duplicate check (on create).
    duplicates: Vec<DuplicateMatch>,
}

impl From<Outcome<DomainCustomer>> for CustomerPayload {
    fn from(outcome: Outcome<DomainCustomer>) -> Self {
        match outcome {
            Ok(c) => Self { customer: Some(Customer(c)), user_errors: vec![], duplicates: vec![] },
            Err(errors) => Self { customer: None, user_errors: errors, duplicates: vec![] },
        }
    }
}

/// The draft the duplicate check compares.
#[derive(InputObject)]
pub struct CustomerDraftInput {
    pub name: Option<String>,
    pub tax_id: Option<String>,
    pub main_phone: Option<String>,
    pub finance_phone: Option<String>,
    /// Leave this customer out (when checking an existing one).
    pub exclude_id: Option<ID>,
}

// ---------------------------------------------------------------------------------------
// Filters

/// Filters customers. Fields combine with AND; `and` / `or` / `not` for the rest.
#[derive(InputObject, Default, Clone)]
pub struct CustomerFilter {
    pub and: Option<Vec<CustomerFilter>>,
    pub or: Option<Vec<CustomerFilter>>,
    pub not: Option<Box<CustomerFilter>>,
    /// A name substring (中文), a mnemonic-code prefix (`bjxm`), a phone number or a tax id.
    pub search: Option<String>,
    pub name: Option<StringFilter>,
    pub customer_number: Option<StringFilter>,
    pub kind: Option<CustomerKind>,
    #[graphql(name = "type")]
    pub customer_type: Option<Vec<CustomerType>>,
    pub status: Option<Vec<CustomerStatus>>,
    pub level: Option<StringFilter>,
    pub industry: Option<StringFilter>,
    pub province: Option<StringFilter>,
    pub city: Option<StringFilter>,
    pub owner_id: Option<IdFilter>,
    /// Customers carrying this tag.
    pub tag: Option<String>,
    pub created_at: Option<TimeRange>,
    pub updated_at: Option<TimeRange>,
    /// Matches on tenant-defined fields (compared as text).
    pub custom_fields: Option<Vec<CustomFieldMatch>>,
    /// true: the recycle bin.
    pub deleted: Option<bool>,
}

#[derive(InputObject, Clone)]
pub struct CustomFieldMatch {
    pub key: String,
    #[graphql(name = "match")]
    pub matches: StringFilter,
}

impl CustomerFilter {
    pub fn to_store(&self) -> Result<StoreFilter, ApiError> {
        let nested = |v: &Option<Vec<CustomerFilter>>| -> Result<Vec<StoreFilter>, ApiError> {
            v.iter().flatten().map(Self::to_store).collect()
        };
        let custom_fields = self
            .custom_fields
            .iter()
            .flatten()
            .map(|m| {
                guanxi_domain::custom_field::parse_key("customFields.key", &m.key)
                    .map(|key| (key, m.matches.to_store()))
                    .map_err(|e| ApiError::BadUserInput(e.message))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StoreFilter {
            combinators: Combinators {
                and: nested(&self.and)?,
                or: nested(&self.or)?,
                not: self.not.as_deref().map(Self::to_store).transpose()?.map(Box::new),
            },
            search: self.search.clone(),
            name: self.name.as_ref().map(StringFilter::to_store),
            customer_number: self.customer_number.as_ref().map(StringFilter::to_store),
            kind: self.kind.map(Into::into),
            customer_types: self.customer_type.as_ref().map(|t| t.iter().map(|x| (*x).into()).collect()),
            statuses: self.status.as_ref().map(|s| s.iter().map(|x| (*x).into()).collect()),
            level: self.level.as_ref().map(StringFilter::to_store),
            industry: self.industry.as_ref().map(StringFilter::to_store),
            province: self.province.as_ref().map(StringFilter::to_store),
            city: self.city.as_ref().map(StringFilter::to_store),
            owner_id: self.owner_id.as_ref().map(|f| f.to_store(USER)).transpose()?,
            tag: self.tag.clone(),
            created_at: self.created_at.as_ref().map(TimeRange::to_store),
            updated_at: self.updated_at.as_ref().map(TimeRange::to_store),
            custom_fields,
            deleted: self.deleted,
            next_follow_up: None,
            created_by: None,
            pool_id: None,
        })
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CustomerOrderField {
    Name,
    CustomerNumber,
    CreatedAt,
    UpdatedAt,
}

#[derive(InputObject, Clone, Copy)]
pub struct CustomerOrder {
    pub field: CustomerOrderField,
    #[graphql(default_with = "OrderDirection::Asc")]
    pub direction: OrderDirection,
}

fn order_of(order_by: &Option<Vec<CustomerOrder>>) -> Result<(CustomerSort, Direction), ApiError> {
    match order_by.as_deref() {
        None | Some([]) => Ok((CustomerSort::UpdatedAt, Direction::Desc)),
        Some([o]) => Ok((
            match o.field {
                CustomerOrderField::Name => CustomerSort::Name,
                CustomerOrderField::CustomerNumber => CustomerSort::CustomerNumber,
                CustomerOrderField::CreatedAt => CustomerSort::CreatedAt,
                CustomerOrderField::UpdatedAt => CustomerSort::UpdatedAt,
            },
            o.direction.into(),
        )),
        Some(_) => Err(ApiError::BadUserInput("order by one field; the id breaks ties".into())),
    }
}

// ---------------------------------------------------------------------------------------
// 360

/// What a company knows about one customer, in one place.
pub struct Customer360(DomainCustomer);

/// Key figures of the 360 view. Figures of modules that do not exist yet (work orders,
/// receivables) are zero; deal figures count what the caller may see.
#[derive(SimpleObject)]
pub struct CustomerSummary {
    contact_count: u64,
    last_interaction_at: Option<DateTime<Utc>>,
    next_follow_up_at: Option<DateTime<Utc>>,
    open_opportunity_count: u64,
    open_opportunity_amount: Money,
    won_amount: Money,
    open_work_order_count: u64,
    outstanding_receivables: Money,
}

#[Object]
impl Customer360 {
    async fn customer(&self) -> Customer {
        Customer(self.0.clone())
    }

    /// Each figure is read only when asked for.
    async fn summary(&self, ctx: &Context<'_>) -> ApiResult<CustomerSummary> {
        let actor = actor(ctx)?;
        let asked = |fields: &[&str]| {
            let selection = ctx.look_ahead();
            fields.iter().any(|f| selection.field(f).exists())
        };
        let contact_count = if actor.may(Permission::ContactRead) && asked(&["contactCount"]) {
            let filter = guanxi_store::contact::ContactFilter {
                customer_id: Some(guanxi_store::filter::IdFilter { eq: Some(self.0.id.uuid()), ..Default::default() }),
                ..Default::default()
            };
            guanxi_store::contact::count(
                state(ctx).db.connection(),
                actor.tenant_id,
                super::loaders::contact_scope(actor),
                &filter,
            )
            .await?
        } else {
            0
        };
        let deals = if actor.may(Permission::OpportunityRead)
            && asked(&["openOpportunityCount", "openOpportunityAmount", "wonAmount"])
        {
            let filter = guanxi_store::opportunity::OpportunityFilter {
                customer_id: Some(guanxi_store::filter::IdFilter { eq: Some(self.0.id.uuid()), ..Default::default() }),
                ..Default::default()
            };
            guanxi_store::opportunity::totals(
                state(ctx).db.connection(),
                actor.tenant_id,
                super::loaders::opportunity_scope(actor),
                &filter,
            )
            .await?
        } else {
            guanxi_store::opportunity::StatusTotals::default()
        };
        Ok(CustomerSummary {
            contact_count,
            last_interaction_at: self.0.last_interaction_at,
            next_follow_up_at: self.0.next_follow_up_at,
            open_opportunity_count: deals.open_count,
            open_opportunity_amount: Money::cny(guanxi_domain::opportunity::from_fen(deals.open_fen)),
            won_amount: Money::cny(guanxi_domain::opportunity::from_fen(deals.won_fen)),
            open_work_order_count: 0,
            outstanding_receivables: Money::cny(Decimal::ZERO),
        })
    }

    /// The customer's contacts the caller may see, by name.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn contacts(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> ApiResult<Conn<Contact>> {
        require(ctx, Permission::ContactRead)?;
        contact_connection(ctx, Some(self.0.id.uuid()), None, first, after).await
    }

    /// The customer's deals the caller may see, most recently updated first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn opportunities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<super::opportunity::StageKind>>,
    ) -> ApiResult<Conn<super::opportunity::Opportunity>> {
        require(ctx, Permission::OpportunityRead)?;
        let filter = guanxi_store::opportunity::OpportunityFilter {
            status: status.map(|s| s.into_iter().map(Into::into).collect()),
            ..Default::default()
        };
        super::opportunity::opportunity_connection(
            ctx,
            Some(self.0.id.uuid()),
            Some(filter),
            (first, after, None, None),
            (guanxi_store::opportunity::OpportunitySort::UpdatedAt, guanxi_store::page::Direction::Desc),
        )
        .await
    }

    /// Interactions and changes to the card, newest first (filter with `kinds`).
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        kinds: Option<Vec<super::interaction::TimelineKind>>,
    ) -> ApiResult<super::interaction::TimelineConnection> {
        super::interaction::customer_timeline(ctx, self.0.id, first, after, kinds).await
    }

    /// Changes to the customer card, newest first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<ChangeEvent>> {
        let actor = actor(ctx)?.clone();
        let request = page_request(first, after, None, None, "SEQ")?;
        let db = state(ctx).db.clone();
        let id = self.0.id.uuid();
        let page = guanxi_store::audit::history(
            db.connection(),
            actor.tenant_id,
            guanxi_store::customer::ENTITY,
            id,
            &request,
        )
        .await?;
        let total = TotalCount::new(move || {
            let db = db.clone();
            Box::pin(async move {
                guanxi_store::audit::count_for(db.connection(), actor.tenant_id, guanxi_store::customer::ENTITY, id)
                    .await
            })
        });
        Ok(connection(page, total, ChangeEvent))
    }
}

// ---------------------------------------------------------------------------------------
// Queries

pub(crate) async fn find_visible(ctx: &Context<'_>, actor: &Actor, id: &ID) -> ApiResult<DomainCustomer> {
    let id = expect_id(id, CUSTOMER)?;
    guanxi_store::customer::find(state(ctx).db.connection(), actor.tenant_id, actor.scope_rule(Module::Customer), id)
        .await?
        .ok_or(ApiError::NotFound)
}

#[derive(Default)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    async fn customer(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Customer> {
        let actor = require(ctx, Permission::CustomerRead)?;
        Ok(Customer(find_visible(ctx, actor, &id).await?))
    }

    /// Customers the caller may see. Default order: most recently updated first.
    #[graphql(complexity = "first.or(last).unwrap_or(20) as usize * child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CustomerFilter>,
        order_by: Option<Vec<CustomerOrder>>,
    ) -> ApiResult<Conn<Customer>> {
        let actor = require(ctx, Permission::CustomerRead)?.clone();
        let filter = filter.unwrap_or_default().to_store()?;
        let (sort, direction) = order_of(&order_by)?;
        let request = page_request(first, after, last, before, guanxi_store::customer::sort_name(sort))?;
        let db = state(ctx).db.clone();
        let rule = actor.scope_rule(Module::Customer);
        let page =
            guanxi_store::customer::list(db.connection(), actor.tenant_id, rule, &filter, (sort, direction), &request)
                .await?;
        let total = TotalCount::new(move || {
            let (db, tenant, filter) = (db.clone(), actor.tenant_id, filter.clone());
            Box::pin(async move { guanxi_store::customer::count(db.connection(), tenant, rule, &filter).await })
        });
        Ok(connection(page, total, Customer))
    }

    /// Everything about one customer: profile, summary, contacts, history.
    async fn customer360(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Customer360> {
        let actor = require(ctx, Permission::CustomerRead)?;
        let customer = find_visible(ctx, actor, &id).await?;
        if customer.deleted_at.is_some() {
            return Err(ApiError::NotFound);
        }
        Ok(Customer360(customer))
    }

    /// Likely duplicates of a draft: same tax id, same phone, or the same name once legal
    /// suffixes, widths, brackets and spaces are normalised (查重).
    async fn customer_duplicates(
        &self,
        ctx: &Context<'_>,
        input: CustomerDraftInput,
    ) -> ApiResult<Vec<DuplicateMatch>> {
        let actor = require(ctx, Permission::CustomerRead)?;
        let phones: Vec<String> = [&input.main_phone, &input.finance_phone]
            .into_iter()
            .flatten()
            .filter_map(|p| PhoneNumber::parse("phone", p).ok().map(PhoneNumber::into_inner))
            .collect();
        let phone_refs: Vec<&str> = phones.iter().map(String::as_str).collect();
        let tax = input.tax_id.as_deref().filter(|t| !t.trim().is_empty()).map(|t| t.trim().to_uppercase());
        let exclude = input.exclude_id.as_ref().map(|id| expect_id(id, CUSTOMER)).transpose()?;
        let conn = state(ctx).db.connection();
        let found = guanxi_store::customer::duplicates(
            conn,
            actor.tenant_id,
            input.name.as_deref(),
            tax.as_deref(),
            &phone_refs,
            exclude,
        )
        .await?;
        let visible = visible_ids(ctx, actor, &found).await?;
        Ok(matches_for(found, &visible))
    }

    /// The tenant's custom fields for customers.
    async fn customer_custom_fields(&self, ctx: &Context<'_>) -> ApiResult<Vec<CustomFieldDefinitionView>> {
        let actor = actor(ctx)?;
        let definitions =
            guanxi_store::custom_field::definitions(state(ctx).db.connection(), actor.tenant_id, CUSTOM_FIELD_ENTITY)
                .await?;
        Ok(definitions.into_iter().map(CustomFieldDefinitionView::from).collect())
    }
}

/// Which of the found customers the actor may see (one scoped read).
async fn visible_ids(
    ctx: &Context<'_>,
    actor: &Actor,
    found: &[guanxi_store::customer::Duplicate],
) -> ApiResult<Vec<uuid::Uuid>> {
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<uuid::Uuid> = found.iter().map(|d| d.customer.id.uuid()).collect();
    let rows = guanxi_store::customer::by_ids(
        state(ctx).db.connection(),
        actor.tenant_id,
        actor.scope_rule(Module::Customer),
        &ids,
    )
    .await?;
    Ok(rows.into_iter().map(|c| c.id.uuid()).collect())
}

/// Duplicate matches, showing the customer only where the caller may see it.
fn matches_for(found: Vec<guanxi_store::customer::Duplicate>, visible: &[uuid::Uuid]) -> Vec<DuplicateMatch> {
    found
        .into_iter()
        .map(|d| {
            let shown = visible.contains(&d.customer.id.uuid());
            DuplicateMatch {
                customer: shown.then_some(Customer(d.customer)),
                reasons: d.reasons.into_iter().map(Into::into).collect(),
            }
        })
        .collect()
}

/// A custom field as clients see it.
#[derive(SimpleObject)]
pub struct CustomFieldDefinitionView {
    key: String,
    label: String,
    #[graphql(name = "type")]
    field_type: String,
    required: bool,
    options: Vec<String>,
}

impl From<CustomFieldDefinition> for CustomFieldDefinitionView {
    fn from(d: CustomFieldDefinition) -> Self {
        Self {
            key: d.key,
            label: d.label,
            field_type: d.field_type.as_str().to_owned(),
            required: d.required,
            options: d.options,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

fn errors(invalid: Invalid) -> Vec<UserError> {
    UserError::all(invalid)
}

/// The owner of a new customer: the caller, or another user with `customer.transfer`.
fn owner_of(actor: &Actor, requested: Option<&ID>) -> Result<Option<UserId>, Vec<UserError>> {
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

/// Creates a customer after the duplicate check, in the caller's transaction. Shared by
/// `createCustomer` and the CSV import.
pub(crate) async fn create_checked<C: guanxi_store::ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    author: &guanxi_store::audit::Author,
    fields: CustomerFields,
    owner: Option<UserId>,
    custom: BTreeMap<String, Value>,
    confirm_duplicates: bool,
) -> Result<Result<DomainCustomer, (Vec<UserError>, Vec<guanxi_store::customer::Duplicate>)>, guanxi_store::StoreError>
{
    let definitions = guanxi_store::custom_field::definitions(conn, actor.tenant_id, CUSTOM_FIELD_ENTITY).await?;
    let custom = match check_values(&definitions, &custom, &BTreeMap::new(), true) {
        Ok(c) => c,
        Err(invalid) => return Ok(Err((errors(invalid), vec![]))),
    };
    let phones: Vec<&str> =
        [fields.main_phone.as_deref(), fields.finance_phone.as_deref()].into_iter().flatten().collect();
    let found = guanxi_store::customer::duplicates(
        conn,
        actor.tenant_id,
        Some(&fields.name),
        fields.tax_id.as_deref(),
        &phones,
        None,
    )
    .await?;
    if !found.is_empty() {
        let policy = guanxi_store::tenant::settings(conn, actor.tenant_id).await?.duplicate_policy;
        if policy == DuplicatePolicy::Block || !confirm_duplicates {
            let (code, message) = match policy {
                DuplicatePolicy::Block => (ErrorCode::Duplicate, "a customer like this already exists (查重: blocked)"),
                DuplicatePolicy::Warn => (
                    ErrorCode::Duplicate,
                    "possible duplicates found: review them and send confirmDuplicates: true to create anyway",
                ),
            };
            return Ok(Err((vec![UserError::new("", code, message)], found)));
        }
    }
    let created = guanxi_store::customer::create(
        conn,
        author,
        actor.scope_rule(Module::Customer),
        NewCustomer { fields, owner_id: owner, custom_fields: custom },
    )
    .await;
    match created {
        Ok(c) => Ok(Ok(c)),
        Err(guanxi_store::StoreError::Rejected(invalid)) => Ok(Err((errors(invalid), vec![]))),
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
        let owner = owner_of(&actor, input.owner_id.as_ref());
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
        let rule = actor.scope_rule(Module::Customer);
        let tenant = actor.tenant_id;
        let duplicates = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let found = duplicates.clone();
        let creator = actor.clone();
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    match create_checked(tx, &creator, &author, fields, owner, custom, confirm).await? {
                        Ok(c) => Ok((c.id.uuid(), c)),
                        Err((user_errors, matches)) => {
                            if let Ok(mut slot) = found.lock() {
                                *slot = matches;
                            }
                            let invalid = Invalid(
                                user_errors
                                    .into_iter()
                                    .map(|e| FieldError::new(e.field.unwrap_or_default(), code_of(&e.code), e.message))
                                    .collect(),
                            );
                            Err(invalid.into())
                        }
                    }
                })
            },
            move |tx, id| {
                Box::pin(async move {
                    guanxi_store::customer::find(tx, tenant, rule, id).await?.ok_or(guanxi_store::StoreError::NotFound)
                })
            },
        )
        .await?;
        let mut payload: CustomerPayload = result.into();
        let matches = duplicates.lock().map(|mut d| std::mem::take(&mut *d)).unwrap_or_default();
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
        let rule = actor.scope_rule(Module::Customer);
        let tenant = actor.tenant_id;
        let (fields_input, expected) = (input.fields, input.expected_version);
        let confirm = input.confirm_duplicates;
        let identity_changes =
            [&fields_input.name, &fields_input.tax_id, &fields_input.main_phone, &fields_input.finance_phone]
                .iter()
                .any(|f| matches!(f, MaybeUndefined::Value(_)));
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                let definitions = guanxi_store::custom_field::definitions(tx, tenant, CUSTOM_FIELD_ENTITY).await?;
                let updated = guanxi_store::customer::update(tx, &author, rule, id, expected, |current| {
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
                    let f = &updated.fields;
                    let phones: Vec<&str> =
                        [f.main_phone.as_deref(), f.finance_phone.as_deref()].into_iter().flatten().collect();
                    let found = guanxi_store::customer::duplicates(
                        tx,
                        tenant,
                        Some(&f.name),
                        f.tax_id.as_deref(),
                        &phones,
                        Some(id),
                    )
                    .await?;
                    let policy = guanxi_store::tenant::settings(tx, tenant).await?.duplicate_policy;
                    if !found.is_empty() && (policy == DuplicatePolicy::Block || !confirm) {
                        return Err(guanxi_store::StoreError::rejected(
                            "",
                            ErrorCode::Duplicate,
                            "another customer has this name, tax id or phone (查重); see customerDuplicates",
                        ));
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
        let actor = require(ctx, Permission::CustomerDelete)?;
        let id = match input_id("id", &input.id, CUSTOMER) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = author(ctx, actor);
        let rule = actor.scope_rule(Module::Customer);
        let result = transact(ctx, move |tx| {
            Box::pin(async move { guanxi_store::customer::delete(tx, &author, rule, id, input.expected_version).await })
        })
        .await?;
        Ok(result.into())
    }

    /// Brings a customer back from the recycle bin. A merge tombstone comes back only for an
    /// admin (`org.manage`), and the records the merge moved return with it.
    async fn restore_customer(&self, ctx: &Context<'_>, input: CustomerIdInput) -> ApiResult<CustomerPayload> {
        let actor = require(ctx, Permission::CustomerDelete)?.clone();
        let id = match input_id("id", &input.id, CUSTOMER) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let rule = actor.scope_rule(Module::Customer);
        let may_undo_merge = actor.may(Permission::OrgManage);
        let author = author(ctx, &actor);
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::customer::restore(tx, &author, rule, id, input.expected_version, may_undo_merge).await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Copies a customer into a new one owned by the caller (name + （副本）, no tax id).
    async fn copy_customer(&self, ctx: &Context<'_>, input: CopyCustomerInput) -> ApiResult<CustomerPayload> {
        let actor = require(ctx, Permission::CustomerCreate)?;
        let id = match input_id("id", &input.id, CUSTOMER) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = author(ctx, actor);
        let rule = actor.scope_rule(Module::Customer);
        let owner = Some(actor.user_id);
        let result = transact(ctx, move |tx| {
            Box::pin(async move { guanxi_store::customer::copy(tx, &author, rule, id, owner).await })
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
        let rule = actor.scope_rule(Module::Customer);
        let expected = input.expected_version;
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::customer::merge(tx, &author, rule, survivor, expected, &merged, |kept, others| {
                    choose_fields(kept, others, &choices)
                })
                .await
            })
        })
        .await?;
        Ok(result.into())
    }
}

fn code_of(code: &str) -> ErrorCode {
    match code {
        "DUPLICATE" => ErrorCode::Duplicate,
        "REQUIRED" => ErrorCode::Required,
        "NOT_FOUND" => ErrorCode::NotFound,
        "FORBIDDEN" => ErrorCode::Forbidden,
        _ => ErrorCode::Invalid,
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
