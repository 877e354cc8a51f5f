//! What customers own and what covers it: assets (客户资产) and service contracts (服务合同),
//! both seen by whoever sees their customer (and may read work orders), and technicians'
//! skills and regions (技术员), which dispatch ranks on.

use chrono::Utc;
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{AssetId, ProductId, ServiceContractId, TenantId, UserId};
use guanxi_domain::platform::access::{CustomerRule, ScopeRule};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::service::asset::{Asset, AssetFields, ServiceContract, ServiceTerms};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{asset, service_contract, technician, technician_skill};
use crate::error::{StoreError, StoreResult, on_unique};
use crate::platform::audit::{self, Author};
use crate::platform::sequence;
use crate::repo::{self, Scoped};

pub const ASSET: EntityKind = EntityKind::Asset;
pub const SERVICE_CONTRACT: EntityKind = EntityKind::ServiceContract;

// ---------------------------------------------------------------------------------------
// Assets

fn asset_of(m: asset::Model) -> StoreResult<Asset> {
    Ok(Asset {
        id: m.id.into(),
        customer_id: m.customer_id.into(),
        fields: AssetFields {
            product_id: m.product_id.into(),
            serial_number: m.serial_number,
            purchased_on: m.purchased_on,
            warranty_ends_on: m.warranty_ends_on,
            address: m.address,
            order_id: m.order_id,
            contract_id: m.contract_id,
            note: m.note,
        },
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Assets, seen with their customer.
pub struct Assets;

repo::customer_scoped!(Assets, asset, Asset, asset_of, ASSET);

/// The live assets of some customers the caller sees, oldest first.
pub async fn assets_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: CustomerRule,
    ids: &[Uuid],
) -> StoreResult<Vec<Asset>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let rows = Assets::live(conn.get_database_backend(), tenant, customers)
        .filter(asset::Column::CustomerId.is_in(ids.to_vec()))
        .order_by_asc(asset::Column::CreatedAt)
        .all(conn)
        .await?;
    rows.into_iter().map(asset_of).collect()
}

/// A live customer the caller sees, else `NOT_FOUND` on `customerId`.
pub(crate) async fn visible_customer<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: CustomerRule,
    id: Uuid,
) -> StoreResult<guanxi_domain::customers::customer::Customer> {
    crate::customers::customer::find(conn, tenant, customers, id)
        .await?
        .filter(|c| c.deleted_at.is_none())
        .ok_or_else(|| StoreError::rejected("customerId", ErrorCode::NotFound, "no such customer"))
}

/// The live products `ids` name, in one statement; `NOT_FOUND` on `field` naming the first
/// that is not there.
pub(crate) async fn live_products<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    ids: &[ProductId],
    field: &str,
) -> StoreResult<Vec<guanxi_domain::trade::product::Product>> {
    let wanted: Vec<Uuid> = ids.iter().map(|p| p.uuid()).collect();
    let products = crate::trade::product::by_ids(conn, tenant, (), &wanted).await?;
    if let Some(missing) = wanted.iter().find(|id| !products.iter().any(|p| p.id.uuid() == **id)) {
        return Err(StoreError::rejected(field, ErrorCode::NotFound, format!("no product {missing}")));
    }
    Ok(products)
}

/// A live product of the tenant, else `NOT_FOUND` on `field`.
pub(crate) async fn live_product<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: ProductId,
    field: &str,
) -> StoreResult<guanxi_domain::trade::product::Product> {
    crate::trade::product::find(conn, tenant, (), id.uuid())
        .await?
        .filter(|p| p.deleted_at.is_none())
        .ok_or_else(|| StoreError::rejected(field, ErrorCode::NotFound, "no such product"))
}

fn asset_changes(before: Option<&AssetFields>, after: &AssetFields) -> ChangeSet {
    let old = |f: fn(&AssetFields) -> Option<String>| before.and_then(f);
    ChangeSet::new()
        .field("productId", before.map(|b| b.product_id), after.product_id)
        .field("serialNumber", old(|b| b.serial_number.clone()), after.serial_number.clone())
        .field("purchasedOn", before.and_then(|b| b.purchased_on), after.purchased_on)
        .field("warrantyEndsOn", before.and_then(|b| b.warranty_ends_on), after.warranty_ends_on)
        .field("address", old(|b| b.address.clone()), after.address.clone())
        .field("note", old(|b| b.note.clone()), after.note.clone())
}

fn duplicate_serial(e: sea_orm::DbErr) -> StoreError {
    on_unique(e, "serialNumber", "another asset of this product has this serial number")
}

/// Registers a product a customer owns.
pub async fn create_asset<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    customer_id: Uuid,
    fields: AssetFields,
) -> StoreResult<Asset> {
    let tenant = author.tenant_id;
    visible_customer(conn, tenant, customers, customer_id).await?;
    let fields = fields.check()?;
    live_product(conn, tenant, fields.product_id, "productId").await?;
    let id = AssetId::new().uuid();
    let now = Utc::now();
    let model = asset::Entity::insert(asset::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id),
        customer_id: Set(customer_id),
        product_id: Set(fields.product_id.uuid()),
        serial_number: Set(fields.serial_number.clone()),
        purchased_on: Set(fields.purchased_on),
        warranty_ends_on: Set(fields.warranty_ends_on),
        address: Set(fields.address.clone()),
        order_id: Set(fields.order_id),
        contract_id: Set(fields.contract_id),
        note: Set(fields.note.clone()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_with_returning(conn)
    .await
    .map_err(duplicate_serial)?;
    let changes = asset_changes(None, &fields).field("customerId", (), customer_id);
    audit::record(conn, author, ASSET, id, Operation::Create, &changes).await?;
    asset_of(model)
}

/// Rewrites an asset; work orders already taken keep the coverage they were given.
pub async fn update_asset<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    (id, expected_version): (Uuid, i32),
    fields: AssetFields,
) -> StoreResult<Asset> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Assets, C>(conn, tenant, customers, id, expected_version).await?;
    let fields = fields.check()?;
    live_product(conn, tenant, fields.product_id, "productId").await?;
    let update = repo::set_columns::<asset::Entity>(vec![
        (asset::Column::ProductId, Expr::value(fields.product_id.uuid())),
        (asset::Column::SerialNumber, Expr::value(fields.serial_number.clone())),
        (asset::Column::PurchasedOn, Expr::value(fields.purchased_on)),
        (asset::Column::WarrantyEndsOn, Expr::value(fields.warranty_ends_on)),
        (asset::Column::Address, Expr::value(fields.address.clone())),
        (asset::Column::OrderId, Expr::value(fields.order_id)),
        (asset::Column::ContractId, Expr::value(fields.contract_id)),
        (asset::Column::Note, Expr::value(fields.note.clone())),
    ]);
    let after =
        repo::write_versioned_or::<Assets, C>(conn, tenant, id, expected_version, update, duplicate_serial).await?;
    audit::record(conn, author, ASSET, id, Operation::Update, &asset_changes(Some(&before.fields), &fields)).await?;
    Ok(after)
}

/// Moves an asset to the recycle bin; its work orders keep naming it.
pub async fn delete_asset<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<Asset> {
    repo::live_current::<Assets, C>(conn, author.tenant_id, customers, id, expected_version).await?;
    repo::mark_deleted::<Assets, C>(conn, author, id, expected_version).await
}

// ---------------------------------------------------------------------------------------
// Service contracts

fn contract_of(m: service_contract::Model) -> StoreResult<ServiceContract> {
    let cell = |column| Cell::of("service_contracts", m.id, column);
    let asset_ids: Vec<Uuid> = cell("asset_ids").json(m.asset_ids)?;
    let product_ids: Vec<Uuid> = cell("product_ids").json(m.product_ids)?;
    Ok(ServiceContract {
        id: m.id.into(),
        number: m.number,
        customer_id: m.customer_id.into(),
        owner_id: m.owner_id.map(Into::into),
        terms: ServiceTerms {
            starts_on: m.starts_on,
            ends_on: m.ends_on,
            level: m.level,
            asset_ids: asset_ids.into_iter().map(Into::into).collect(),
            product_ids: product_ids.into_iter().map(Into::into).collect(),
            covers_parts: m.covers_parts,
            covers_labour: m.covers_labour,
            sla: m.sla.map(|v| cell("sla").json(v)).transpose()?,
            note: m.note,
        },
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Service contracts, seen with their customer.
pub struct ServiceContracts;

repo::customer_scoped!(ServiceContracts, service_contract, ServiceContract, contract_of, SERVICE_CONTRACT);

/// The live service contracts of some customers, latest ending first. `customers` is
/// the caller's rule, or `All` where coverage is decided for an order already admitted.
pub async fn contracts_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: CustomerRule,
    ids: &[Uuid],
) -> StoreResult<Vec<ServiceContract>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let rows = ServiceContracts::live(conn.get_database_backend(), tenant, customers)
        .filter(service_contract::Column::CustomerId.is_in(ids.to_vec()))
        .order_by_desc(service_contract::Column::EndsOn)
        .all(conn)
        .await?;
    rows.into_iter().map(contract_of).collect()
}

fn terms_changes(before: Option<&ServiceTerms>, after: &ServiceTerms) -> ChangeSet {
    let ids = |t: &ServiceTerms| serde_json::json!({"assets": t.asset_ids, "products": t.product_ids});
    ChangeSet::new()
        .field("startsOn", before.map(|b| b.starts_on), after.starts_on)
        .field("endsOn", before.map(|b| b.ends_on), after.ends_on)
        .field("level", before.map(|b| b.level.clone()), &after.level)
        .field("covered", before.map(ids), ids(after))
        .field("coversParts", before.map(|b| b.covers_parts), after.covers_parts)
        .field("coversLabour", before.map(|b| b.covers_labour), after.covers_labour)
        .field("sla", before.map(|b| b.sla.clone()), after.sla.clone())
        .field("note", before.and_then(|b| b.note.clone()), after.note.clone())
}

/// Checks terms and that the assets named are the customer's and the products exist.
async fn checked_terms<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customer_id: Uuid,
    terms: ServiceTerms,
) -> StoreResult<ServiceTerms> {
    let terms = terms.check()?;
    let wanted: Vec<Uuid> = terms.asset_ids.iter().map(|a| a.uuid()).collect();
    let found = assets_of(conn, tenant, CustomerRule::ALL, &[customer_id]).await?;
    if let Some(missing) = wanted.iter().find(|id| !found.iter().any(|a| a.id.uuid() == **id)) {
        return Err(StoreError::rejected(
            "assetIds",
            ErrorCode::NotFound,
            format!("no asset {missing} of this customer"),
        ));
    }
    live_products(conn, tenant, &terms.product_ids, "productIds").await?;
    Ok(terms)
}

/// Signs a service contract with a customer the caller sees (`service.manage`).
pub async fn create_contract<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    customer_id: Uuid,
    terms: ServiceTerms,
) -> StoreResult<ServiceContract> {
    let tenant = author.tenant_id;
    visible_customer(conn, tenant, customers, customer_id).await?;
    let terms = checked_terms(conn, tenant, customer_id, terms).await?;
    let settings = crate::platform::tenant::settings(conn, tenant).await?;
    let today = guanxi_domain::customers::customer::shanghai_date(Utc::now());
    let rule = settings.service_contract_numbering;
    let number = rule.format(today, sequence::next(conn, tenant, "service_contract", &rule.period(today)).await?);
    let id = ServiceContractId::new().uuid();
    let now = Utc::now();
    let model = service_contract::Entity::insert(service_contract::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id),
        number: Set(number.clone()),
        customer_id: Set(customer_id),
        owner_id: Set(author.user_id),
        starts_on: Set(terms.starts_on),
        ends_on: Set(terms.ends_on),
        level: Set(terms.level.clone()),
        asset_ids: Set(serde_json::json!(terms.asset_ids)),
        product_ids: Set(serde_json::json!(terms.product_ids)),
        covers_parts: Set(terms.covers_parts),
        covers_labour: Set(terms.covers_labour),
        sla: Set(terms.sla.as_ref().map(|s| serde_json::json!(s))),
        note: Set(terms.note.clone()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_with_returning(conn)
    .await?;
    let changes = terms_changes(None, &terms).field("number", (), &number).field("customerId", (), customer_id);
    audit::record(conn, author, SERVICE_CONTRACT, id, Operation::Create, &changes).await?;
    contract_of(model)
}

/// Rewrites a service contract's terms; orders already taken keep their coverage.
pub async fn update_contract<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    (id, expected_version): (Uuid, i32),
    terms: ServiceTerms,
) -> StoreResult<ServiceContract> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<ServiceContracts, C>(conn, tenant, customers, id, expected_version).await?;
    let terms = checked_terms(conn, tenant, before.customer_id.uuid(), terms).await?;
    let update = repo::set_columns::<service_contract::Entity>(vec![
        (service_contract::Column::StartsOn, Expr::value(terms.starts_on)),
        (service_contract::Column::EndsOn, Expr::value(terms.ends_on)),
        (service_contract::Column::Level, Expr::value(terms.level.clone())),
        (service_contract::Column::AssetIds, Expr::value(serde_json::json!(terms.asset_ids))),
        (service_contract::Column::ProductIds, Expr::value(serde_json::json!(terms.product_ids))),
        (service_contract::Column::CoversParts, Expr::value(terms.covers_parts)),
        (service_contract::Column::CoversLabour, Expr::value(terms.covers_labour)),
        (service_contract::Column::Sla, Expr::value(terms.sla.as_ref().map(|s| serde_json::json!(s)))),
        (service_contract::Column::Note, Expr::value(terms.note.clone())),
    ]);
    let after = repo::write_versioned::<ServiceContracts, C>(conn, tenant, id, expected_version, update).await?;
    let changes = terms_changes(Some(&before.terms), &terms);
    audit::record(conn, author, SERVICE_CONTRACT, id, Operation::Update, &changes).await?;
    Ok(after)
}

/// Moves a service contract to the recycle bin: it covers nothing from now on.
pub async fn delete_contract<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<ServiceContract> {
    repo::live_current::<ServiceContracts, C>(conn, author.tenant_id, customers, id, expected_version).await?;
    repo::mark_deleted::<ServiceContracts, C>(conn, author, id, expected_version).await
}

// ---------------------------------------------------------------------------------------
// Technicians

/// A user who takes dispatched work, with what dispatch matches them on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Technician {
    pub user_id: UserId,
    pub active: bool,
    pub category_ids: Vec<Uuid>,
    pub regions: Vec<String>,
    pub version: i32,
}

const CATEGORY: &str = "CATEGORY";
const REGION: &str = "REGION";

/// The most categories and regions one technician lists.
pub const MAX_SKILLS: usize = 50;

/// The technician profiles of some users (those who have one), or with `None` of every
/// technician of the tenant: two statements.
pub async fn technicians<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    users: Option<&[Uuid]>,
) -> StoreResult<Vec<Technician>> {
    if users.is_some_and(|u| u.is_empty()) {
        return Ok(vec![]);
    }
    let mut rows = technician::Entity::find().filter(technician::Column::TenantId.eq(tenant.uuid()));
    let mut skills = technician_skill::Entity::find().filter(technician_skill::Column::TenantId.eq(tenant.uuid()));
    if let Some(users) = users {
        rows = rows.filter(technician::Column::Id.is_in(users.to_vec()));
        skills = skills.filter(technician_skill::Column::UserId.is_in(users.to_vec()));
    }
    let rows = rows.order_by_asc(technician::Column::CreatedAt).all(conn).await?;
    let skills = skills.order_by_asc(technician_skill::Column::Value).all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|t| {
            let mine = skills.iter().filter(|s| s.user_id == t.id);
            let (categories, regions): (Vec<_>, Vec<_>) = mine.partition(|s| s.kind == CATEGORY);
            Technician {
                user_id: t.id.into(),
                active: t.active,
                category_ids: categories.iter().filter_map(|s| Uuid::try_parse(&s.value).ok()).collect(),
                regions: regions.iter().map(|s| s.value.clone()).collect(),
                version: t.version,
            }
        })
        .collect())
}

/// Makes a user a technician, or rewrites their skills and regions (`service.manage`).
pub async fn set_technician<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    user: Uuid,
    active: bool,
    (mut categories, mut regions): (Vec<Uuid>, Vec<String>),
) -> StoreResult<Technician> {
    let tenant = author.tenant_id;
    crate::platform::user::find(conn, tenant, ScopeRule::All, user)
        .await?
        .ok_or_else(|| StoreError::rejected("userId", ErrorCode::NotFound, "no such user"))?;
    categories.sort();
    categories.dedup();
    regions = regions.into_iter().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect();
    regions.sort();
    regions.dedup();
    let mut invalid = guanxi_domain::Invalid::default();
    if categories.len() > MAX_SKILLS || regions.len() > MAX_SKILLS {
        invalid.push(guanxi_domain::FieldError::new(
            "categoryIds",
            ErrorCode::Invalid,
            format!("at most {MAX_SKILLS} categories and {MAX_SKILLS} regions"),
        ));
    }
    if regions.iter().any(|r| r.chars().count() > 60) {
        invalid.push(guanxi_domain::FieldError::new(
            "regions",
            ErrorCode::Invalid,
            "a region of at most 60 characters",
        ));
    }
    invalid.into_result()?;
    let known = crate::trade::product::categories(conn, tenant).await?;
    if let Some(missing) = categories.iter().find(|c| !known.iter().any(|k| k.id.uuid() == **c)) {
        return Err(StoreError::rejected("categoryIds", ErrorCode::NotFound, format!("no product category {missing}")));
    }
    let before = technicians(conn, tenant, Some(&[user])).await?.pop();
    let now = Utc::now();
    let version = match &before {
        None => {
            technician::Entity::insert(technician::ActiveModel {
                tenant_id: Set(tenant.uuid()),
                id: Set(user),
                active: Set(active),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec(conn)
            .await?;
            1
        }
        Some(t) => {
            technician::Entity::update_many()
                .col_expr(technician::Column::Active, Expr::value(active))
                .col_expr(technician::Column::Version, Expr::value(t.version + 1))
                .col_expr(technician::Column::UpdatedAt, Expr::value(now))
                .filter(technician::Column::TenantId.eq(tenant.uuid()))
                .filter(technician::Column::Id.eq(user))
                .exec(conn)
                .await?;
            technician_skill::Entity::delete_many()
                .filter(technician_skill::Column::TenantId.eq(tenant.uuid()))
                .filter(technician_skill::Column::UserId.eq(user))
                .exec(conn)
                .await?;
            t.version + 1
        }
    };
    let rows: Vec<technician_skill::ActiveModel> = categories
        .iter()
        .map(|c| (CATEGORY, c.to_string()))
        .chain(regions.iter().map(|r| (REGION, r.clone())))
        .map(|(kind, value)| technician_skill::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            kind: Set(kind.to_owned()),
            value: Set(value),
            user_id: Set(user),
        })
        .collect();
    if !rows.is_empty() {
        technician_skill::Entity::insert_many(rows).exec(conn).await?;
    }
    let after = Technician { user_id: user.into(), active, category_ids: categories, regions, version };
    let changes = ChangeSet::new()
        .field("technicianActive", before.as_ref().map(|b| b.active), after.active)
        .field("technicianCategories", before.as_ref().map(|b| b.category_ids.clone()), after.category_ids.clone())
        .field("technicianRegions", before.as_ref().map(|b| b.regions.clone()), after.regions.clone());
    audit::record(conn, author, EntityKind::User, user, Operation::Update, &changes).await?;
    Ok(after)
}

/// The kind and value a skill row is matched on, for the dispatch ranking.
pub(crate) const SKILL_KINDS: (&str, &str) = (CATEGORY, REGION);
