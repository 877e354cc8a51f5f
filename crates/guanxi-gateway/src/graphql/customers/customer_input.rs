//! What clients send to write customers: the fields, the create, update and merge inputs, and the payload.

use crate::graphql::customers::customer::CUSTOMER;
use crate::graphql::customers::customer::Customer;
use crate::graphql::customers::customer::CustomerKind;
use crate::graphql::customers::customer::CustomerStatus;
use crate::graphql::customers::customer::CustomerType;
use crate::graphql::customers::customer::DuplicateReason;
use crate::graphql::customers::customer::GeoPoint;
use crate::graphql::error::{Outcome, UserError};
use crate::graphql::relay::input_id;
use async_graphql::{ID, InputObject, Json, MaybeUndefined, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::customers::customer::{
    Customer as DomainCustomer, CustomerFields, CustomerKind as DomainKind, CustomerStatus as DomainStatus,
    CustomerType as DomainType, TaxId, optional_text, parse_amount, parse_coordinates, parse_postal_code, parse_tags,
    parse_website,
};
use guanxi_domain::ids::CustomerId;
use guanxi_domain::phone::PhoneNumber;
use guanxi_domain::platform::org::Email;
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

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
        let name = apply(i, &self.name, Some(b.name.clone()), |n| {
            guanxi_domain::platform::org::required_text("name", n, 200).map(Some)
        })
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
    /// Give the customer to whoever the tenant's assignment rules pick (分配规则) instead
    /// of `ownerId`; needs `customer.transfer`. Without a rule that picks someone it has no
    /// owner; `customer` is null when the owner picked is outside the caller's scope.
    #[graphql(default)]
    pub assign_by_rules: bool,
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

/// A customer that looks like the draft (撞单).
pub struct DuplicateMatch {
    pub(crate) customer: guanxi_domain::customers::customer::Customer,
    /// Whether the caller may see the customer.
    pub(crate) shown: bool,
    pub(crate) reasons: Vec<DuplicateReason>,
}

#[async_graphql::Object]
impl DuplicateMatch {
    /// Null when the match is outside the caller's data scope: they learn a duplicate
    /// exists (so two reps do not both work one company), not what it is.
    async fn customer(&self) -> Option<Customer> {
        self.shown.then(|| Customer(self.customer.clone()))
    }
    /// The match's id, shown whether or not the caller sees it, so they can ask its owner
    /// to work it together (`requestCollaboration`).
    async fn customer_id(&self) -> ID {
        crate::graphql::relay::global_id(crate::graphql::customers::customer::CUSTOMER, self.customer.id.uuid())
    }
    /// Who owns it, by display name only: for callers who see the customer or may look
    /// colleagues up (`org.read`); null when nobody owns it (it waits in a pool).
    async fn owner_name(&self, ctx: &async_graphql::Context<'_>) -> crate::graphql::error::ApiResult<Option<String>> {
        let Some(owner) = self.customer.owner_id else { return Ok(None) };
        let actor = crate::graphql::context::actor(ctx)?;
        if !self.shown && !actor.may(guanxi_domain::platform::access::Permission::OrgRead) {
            return Ok(None);
        }
        let key = crate::graphql::finance::approval::ParticipantKey(owner.uuid());
        Ok(crate::graphql::trade::document::loaders(ctx)?.load_one(key).await?)
    }
    async fn reasons(&self) -> &[DuplicateReason] {
        &self.reasons
    }
}

#[derive(SimpleObject)]
pub struct CustomerPayload {
    pub(crate) customer: Option<Customer>,
    user_errors: Vec<UserError>,
    /// Likely duplicates found by the duplicate check (on create).
    pub(crate) duplicates: Vec<DuplicateMatch>,
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
