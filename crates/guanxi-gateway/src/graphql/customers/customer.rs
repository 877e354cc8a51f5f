//! Customers over GraphQL: the card, lists and search, the duplicate check, the recycle
//! bin, copy, merge, and the customer 360 view. Reads go through the `Customer` scope.

use std::collections::BTreeMap;

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::customers::customer::{
    Customer as DomainCustomer, CustomerKind as DomainKind, CustomerStatus as DomainStatus, CustomerType as DomainType,
    DuplicateReason as DomainReason,
};
use guanxi_domain::phone::PhoneNumber;
use guanxi_domain::platform::access::{Actor, Permission};
use guanxi_domain::platform::custom_field::CustomFieldDefinition;
use guanxi_store::customers::customer_search::{CustomerFilter as StoreFilter, CustomerSort};
use guanxi_store::filter::Combinators;
use guanxi_store::page::Direction;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use crate::graphql::context::{actor, require, state};
use crate::graphql::customers::contact::Contact;
use crate::graphql::customers::customer_input::CustomerDraftInput;
use crate::graphql::customers::customer_input::DuplicateMatch;
use crate::graphql::customers::customer360::Customer360;
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::integration::upsert::{ExternalKey, external_keys};
use crate::graphql::loaders::{ContactsOfCustomerKey, CustomerKey, DepartmentKey, Loaders, UserKey};
use crate::graphql::platform::org::{Department, USER, User};
use crate::graphql::relay::{Conn, TotalCount, connection, expect_id, global_id, page_request};
use crate::graphql::shared::{IdFilter, OrderDirection, StringFilter, TimeRange};

pub const CUSTOMER: &str = guanxi_domain::entity::EntityKind::Customer.name();
pub const CUSTOM_FIELD_ENTITY: &str = "CUSTOMER";

fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, ApiError> {
    ctx.data_opt::<Loaders>().ok_or_else(|| ApiError::Unauthenticated("log in first".into()))
}

/// Organisations and individuals are different shapes.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainKind")]
pub enum CustomerKind {
    /// 企业客户
    Organization,
    /// 个人客户
    Individual,
}
/// What the company is to us.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainType")]
pub enum CustomerType {
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
/// Where the relationship stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainStatus")]
pub enum CustomerStatus {
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
/// Why a customer looks like a duplicate.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainReason")]
pub enum DuplicateReason {
    /// 统一社会信用代码相同
    SameTaxId,
    /// 电话相同
    SamePhone,
    /// 名称相同（去除公司后缀、全半角、括号和空格后）
    SameName,
}

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
        // Half up (四舍五入), as Chinese accounting rounds; `round_dp` alone would round half to even.
        let amount = amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        Self { amount, currency: "CNY".into() }
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
    /// The customer's keys in outside systems (an ERP's code), as `upsertCustomers` names it.
    async fn external_keys(&self, ctx: &Context<'_>) -> ApiResult<Vec<ExternalKey>> {
        external_keys(ctx, guanxi_domain::entity::EntityKind::Customer, self.0.id.uuid()).await
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
    /// When its last sale (a confirmed order) was made (最近成交时间).
    async fn last_deal_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_deal_at
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
    /// The users it is shared with (协作人), expired shares included (see `live`).
    async fn collaborators(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::sharing::collaborator::Collaborator>> {
        crate::graphql::sharing::collaborator::of_record(ctx, self.0.id.uuid()).await
    }
    /// Set while the customer waits in a public pool (公海) without an owner.
    async fn pool_entry(&self) -> Option<crate::graphql::sales::pool::PoolEntry> {
        self.0.pool.clone().map(crate::graphql::sales::pool::PoolEntry)
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
    /// Its value by RFM (客户价值), as of the last refresh; null until a refresh after its
    /// first receipt.
    async fn value(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<crate::graphql::analytics::customer_value::CustomerValue>> {
        crate::graphql::analytics::customer_value::value_of(ctx, self.0.id.uuid()).await
    }
    /// Lifetime value to date: the approved money received from it that the caller may see
    /// (null without `receivable.read`).
    async fn lifetime_value(&self, ctx: &Context<'_>) -> ApiResult<Option<Money>> {
        crate::graphql::analytics::customer_value::lifetime_of(ctx, self.0.id.uuid()).await
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
// Filters

/// Filters customers. Fields combine with AND; `and` / `or` / `not` for the rest.
#[derive(InputObject, Default, Clone)]
pub struct CustomerFilter {
    pub and: Option<Vec<CustomerFilter>>,
    pub or: Option<Vec<CustomerFilter>>,
    pub not: Option<Box<CustomerFilter>>,
    /// A name substring (中文), a mnemonic-code prefix (`bjxm`), a phone number's last four
    /// or more digits (whole numbers only for callers who see phones masked) or a tax id.
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
    /// By RFM scores and segment, as of the last refresh.
    pub rfm: Option<crate::graphql::analytics::customer_value::CustomerRfmFilter>,
    /// true: only the customers shared with the caller (我协作的客户), while the share
    /// lasts; false: only those not shared with them.
    pub shared_with_me: Option<bool>,
}

#[derive(InputObject, Clone)]
pub struct CustomFieldMatch {
    pub key: String,
    #[graphql(name = "match")]
    pub matches: StringFilter,
}

impl CustomerFilter {
    /// The store's filter, for `actor` (whose shares `sharedWithMe` names).
    pub fn to_store(&self, actor: &Actor) -> Result<StoreFilter, ApiError> {
        let nested = |v: &Option<Vec<CustomerFilter>>| -> Result<Vec<StoreFilter>, ApiError> {
            v.iter().flatten().map(|f| f.to_store(actor)).collect()
        };
        let custom_fields = self
            .custom_fields
            .iter()
            .flatten()
            .map(|m| {
                guanxi_domain::platform::custom_field::parse_key("customFields.key", &m.key)
                    .map(|key| (key, m.matches.to_store()))
                    .map_err(|e| ApiError::BadUserInput(e.message))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StoreFilter {
            combinators: Combinators {
                and: nested(&self.and)?,
                or: nested(&self.or)?,
                not: self.not.as_deref().map(|f| f.to_store(actor)).transpose()?.map(Box::new),
            },
            search: self.search.clone(),
            phones_exact_only: !actor.sees_unmasked_phones(),
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
            rfm: self.rfm.as_ref().map(|f| f.to_store()).transpose()?,
            shared_with: self.shared_with_me.map(|shared| (actor.user_id, shared)),
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
    /// With `filter.search`: exact matches of the name, mnemonic code, phone or tax id
    /// first, then matches of the start of the name or code, then the rest; each group
    /// most recently updated first (`DESC` reverses it all). Without a search, the most
    /// recently updated first. It ranks every match of the search before the first page,
    /// so a text that thousands of names hold costs more than the default order.
    Relevance,
}

#[derive(InputObject, Clone, Copy)]
pub struct CustomerOrder {
    pub field: CustomerOrderField,
    #[graphql(default_with = "OrderDirection::Asc")]
    pub direction: OrderDirection,
}

/// The ordering asked for; by default the most recently updated first.
fn order_of(order_by: &Option<Vec<CustomerOrder>>) -> Result<(CustomerSort, Direction), ApiError> {
    match order_by.as_deref() {
        None | Some([]) => Ok((CustomerSort::UpdatedAt, Direction::Desc)),
        Some([o]) => Ok((
            match o.field {
                CustomerOrderField::Name => CustomerSort::Name,
                CustomerOrderField::CustomerNumber => CustomerSort::CustomerNumber,
                CustomerOrderField::CreatedAt => CustomerSort::CreatedAt,
                CustomerOrderField::UpdatedAt => CustomerSort::UpdatedAt,
                CustomerOrderField::Relevance => CustomerSort::Relevance,
            },
            o.direction.into(),
        )),
        Some(_) => Err(ApiError::BadUserInput("order by one field; the id breaks ties".into())),
    }
}

// ---------------------------------------------------------------------------------------
// Queries

pub(crate) async fn find_visible(ctx: &Context<'_>, actor: &Actor, id: &ID) -> ApiResult<DomainCustomer> {
    let id = expect_id(id, CUSTOMER)?;
    guanxi_store::customers::customer::find(state(ctx).db.connection(), actor.tenant_id, actor.customer_rule(), id)
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

    /// Customers the caller may see. Default order: most recently updated first; a search
    /// may ask for `RELEVANCE`.
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
        let filter = filter.unwrap_or_default().to_store(&actor)?;
        let searches = filter.searches();
        let (sort, direction) = order_of(&order_by)?;
        let request =
            page_request(first, after, last, before, guanxi_store::customers::customer_search::sort_name(sort))?;
        let db = state(ctx).db.clone();
        let rule = actor.customer_rule();
        let order = (sort, direction);
        let reader = db.planned_read(searches).await?;
        let page =
            guanxi_store::customers::customer_search::list(&reader, actor.tenant_id, rule, &filter, order, &request)
                .await?;
        drop(reader);
        let total = TotalCount::new(move |limit| {
            let (db, tenant, filter) = (db.clone(), actor.tenant_id, filter.clone());
            Box::pin(async move {
                let reader = db.planned_read(searches).await?;
                guanxi_store::customers::customer_search::count(&reader, tenant, rule, &filter, limit).await
            })
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
        let found = guanxi_store::customers::customer_search::duplicates(
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
        let definitions = guanxi_store::platform::custom_field::definitions(
            state(ctx).db.connection(),
            actor.tenant_id,
            CUSTOM_FIELD_ENTITY,
        )
        .await?;
        Ok(definitions.into_iter().map(CustomFieldDefinitionView::from).collect())
    }
}

/// Which of the found customers the actor may see (one scoped read).
pub(crate) async fn visible_ids(
    ctx: &Context<'_>,
    actor: &Actor,
    found: &[guanxi_store::customers::customer_search::Duplicate],
) -> ApiResult<Vec<uuid::Uuid>> {
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<uuid::Uuid> = found.iter().map(|d| d.customer.id.uuid()).collect();
    let rows = guanxi_store::customers::customer::by_ids(
        state(ctx).db.connection(),
        actor.tenant_id,
        actor.customer_rule(),
        &ids,
    )
    .await?;
    Ok(rows.into_iter().map(|c| c.id.uuid()).collect())
}

/// Duplicate matches, showing the customer only where the caller may see it.
pub(crate) fn matches_for(
    found: Vec<guanxi_store::customers::customer_search::Duplicate>,
    visible: &[uuid::Uuid],
) -> Vec<DuplicateMatch> {
    found
        .into_iter()
        .map(|d| {
            let shown = visible.contains(&d.customer.id.uuid());
            DuplicateMatch { customer: d.customer, shown, reasons: d.reasons.into_iter().map(Into::into).collect() }
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
