//! What customers own and what covers it: assets (客户资产), service contracts (服务合同)
//! and technicians' skills (技术员).

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{AssetId, ProductId};
use guanxi_domain::platform::access::{Actor, CustomerRule, Permission};
use guanxi_domain::service::asset::{
    Asset as DomainAsset, AssetFields, Coverage as DomainCoverage, CoverageKind as DomainCoverageKind,
    ServiceContract as DomainContract, ServiceTerms,
};
use guanxi_store::service::asset::Technician as StoreTechnician;
use serde::Serialize;
use uuid::Uuid;

use crate::graphql::context::{author, require, state};
use crate::graphql::customers::customer::{CUSTOMER, Customer};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{CustomerKey, ScopedLoader, UserKey, grouped};
use crate::graphql::mutation::{create_on_customer, transact, write_by_id};
use crate::graphql::platform::org::{USER, User};
use crate::graphql::relay::{expect_id, global_id, input_id, read_by_id};
use crate::graphql::trade::document::PRODUCT;
use crate::graphql::trade::document::loaders;
use crate::graphql::trade::product::Product;

pub const ASSET: &str = EntityKind::Asset.name();
pub const SERVICE_CONTRACT: &str = EntityKind::ServiceContract.name();

/// Assets and service contracts are seen with their customer.
pub fn customer_scope(actor: &Actor) -> CustomerRule {
    actor.customer_rule()
}

/// Assets and service contracts are written by whoever may write to their customer.
pub fn customer_write_scope(actor: &Actor) -> CustomerRule {
    actor.customer_write_rule()
}

#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainCoverageKind")]
pub enum CoverageKind {
    /// 保修: the asset's warranty ran on the day reported; parts and labour are free.
    Warranty,
    /// 服务合同: a service contract in force covers the asset, as its fee rules say.
    ServiceContract,
    /// 自费: nothing covers it; the customer pays.
    None,
}

/// What pays for a work order, decided on the day it was reported.
pub struct Coverage(pub DomainCoverage);

#[Object]
impl Coverage {
    async fn kind(&self) -> CoverageKind {
        self.0.kind.into()
    }
    async fn service_contract_id(&self) -> Option<ID> {
        self.0.service_contract_id.map(|c| global_id(SERVICE_CONTRACT, c.uuid()))
    }
    async fn parts_covered(&self) -> bool {
        self.0.parts_covered
    }
    async fn labour_covered(&self) -> bool {
        self.0.labour_covered
    }
    /// Why, in words: 在保（保修至 2027-03-31）.
    async fn reason(&self) -> &str {
        &self.0.reason
    }
}

/// A product a customer owns (客户资产).
pub struct Asset(pub DomainAsset);

#[Object]
impl Asset {
    pub async fn id(&self) -> ID {
        global_id(ASSET, self.0.id.uuid())
    }
    async fn customer_id(&self) -> ID {
        global_id(CUSTOMER, self.0.customer_id.uuid())
    }
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loaders(ctx)?.load_one(CustomerKey(self.0.customer_id.uuid())).await?.map(Customer))
    }
    async fn product(&self, ctx: &Context<'_>) -> ApiResult<Option<Product>> {
        product_of(ctx, Some(self.0.fields.product_id)).await
    }
    async fn serial_number(&self) -> Option<&str> {
        self.0.fields.serial_number.as_deref()
    }
    async fn purchased_on(&self) -> Option<NaiveDate> {
        self.0.fields.purchased_on
    }
    /// The warranty's last day.
    async fn warranty_ends_on(&self) -> Option<NaiveDate> {
        self.0.fields.warranty_ends_on
    }
    /// Whether the warranty runs today (Shanghai time).
    async fn under_warranty(&self) -> bool {
        self.0.fields.under_warranty(guanxi_domain::customers::customer::shanghai_date(Utc::now()))
    }
    async fn address(&self) -> Option<&str> {
        self.0.fields.address.as_deref()
    }
    /// The sales order or contract it came from (their global ids).
    async fn order_id(&self) -> Option<ID> {
        self.0.fields.order_id.map(|o| global_id(EntityKind::Order.name(), o))
    }
    async fn contract_id(&self) -> Option<ID> {
        self.0.fields.contract_id.map(|c| global_id(EntityKind::Contract.name(), c))
    }
    async fn note(&self) -> Option<&str> {
        self.0.fields.note.as_deref()
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
}

/// A service contract (服务合同).
pub struct ServiceContract(pub DomainContract);

#[Object]
impl ServiceContract {
    pub async fn id(&self) -> ID {
        global_id(SERVICE_CONTRACT, self.0.id.uuid())
    }
    /// From the numbering rule (FW…).
    async fn number(&self) -> &str {
        &self.0.number
    }
    async fn customer_id(&self) -> ID {
        global_id(CUSTOMER, self.0.customer_id.uuid())
    }
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        Ok(loaders(ctx)?.load_one(CustomerKey(self.0.customer_id.uuid())).await?.map(Customer))
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(owner) = self.0.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(owner.uuid())).await?.map(User))
    }
    async fn starts_on(&self) -> NaiveDate {
        self.0.terms.starts_on
    }
    async fn ends_on(&self) -> NaiveDate {
        self.0.terms.ends_on
    }
    /// In force today (Shanghai time).
    async fn in_force(&self) -> bool {
        let today = guanxi_domain::customers::customer::shanghai_date(Utc::now());
        self.0.terms.starts_on <= today && today <= self.0.terms.ends_on
    }
    /// The service level (服务级别).
    async fn level(&self) -> &str {
        &self.0.terms.level
    }
    /// The covered assets; with `productIds`, both empty means every asset of the customer.
    async fn asset_ids(&self) -> Vec<ID> {
        self.0.terms.asset_ids.iter().map(|a| global_id(ASSET, a.uuid())).collect()
    }
    async fn product_ids(&self) -> Vec<ID> {
        self.0.terms.product_ids.iter().map(|p| global_id(PRODUCT, p.uuid())).collect()
    }
    /// Parts (备件) are free under the contract.
    async fn covers_parts(&self) -> bool {
        self.0.terms.covers_parts
    }
    /// Labour (人工) is free under the contract.
    async fn covers_labour(&self) -> bool {
        self.0.terms.covers_labour
    }
    /// The service levels it promises (null: the tenant's own apply).
    async fn sla(&self) -> Option<super::sla::SlaPolicy> {
        self.0.terms.sla.as_ref().map(Into::into)
    }
    async fn note(&self) -> Option<&str> {
        self.0.terms.note.as_deref()
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A user who takes dispatched work, with what dispatch matches them on.
pub struct Technician(pub StoreTechnician);

#[Object]
impl Technician {
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        Ok(loaders(ctx)?.load_one(UserKey(self.0.user_id.uuid())).await?.map(User))
    }
    async fn user_id(&self) -> ID {
        global_id(USER, self.0.user_id.uuid())
    }
    /// Offered for dispatch.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Product categories they are skilled in (a category covers those below it).
    async fn category_ids(&self) -> Vec<ID> {
        self.0.category_ids.iter().map(|c| global_id(EntityKind::ProductCategory.name(), *c)).collect()
    }
    /// Regions they serve.
    async fn regions(&self) -> &[String] {
        &self.0.regions
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

// ---------------------------------------------------------------------------------------
// Loaders

/// A product by id (the catalogue every reader of products sees).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProductKey(pub Uuid);
/// A customer's live assets, through the caller's customer scope.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AssetsKey(pub Uuid);
/// An asset by id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AssetKey(pub Uuid);
/// A customer's live service contracts.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServiceContractsKey(pub Uuid);

impl Loader<ProductKey> for ScopedLoader {
    type Value = guanxi_domain::trade::product::Product;
    type Error = ApiError;

    async fn load(&self, keys: &[ProductKey]) -> Result<HashMap<ProductKey, Self::Value>, ApiError> {
        if !self.actor.may(Permission::ProductRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found = guanxi_store::trade::product::by_ids(self.db.connection(), self.actor.tenant_id, (), &ids).await?;
        Ok(found.into_iter().map(|p| (ProductKey(p.id.uuid()), p)).collect())
    }
}

impl Loader<AssetsKey> for ScopedLoader {
    type Value = Vec<DomainAsset>;
    type Error = ApiError;

    async fn load(&self, keys: &[AssetsKey]) -> Result<HashMap<AssetsKey, Self::Value>, ApiError> {
        if !self.actor.may(Permission::WorkOrderRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let scope = customer_scope(&self.actor);
        let found =
            guanxi_store::service::asset::assets_of(self.db.connection(), self.actor.tenant_id, scope, &ids).await?;
        Ok(grouped(found, |a| AssetsKey(a.customer_id.uuid())))
    }
}

impl Loader<AssetKey> for ScopedLoader {
    type Value = DomainAsset;
    type Error = ApiError;

    async fn load(&self, keys: &[AssetKey]) -> Result<HashMap<AssetKey, Self::Value>, ApiError> {
        if !self.actor.may(Permission::WorkOrderRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found = guanxi_store::repo::by_ids::<guanxi_store::service::asset::Assets, _>(
            self.db.connection(),
            self.actor.tenant_id,
            customer_scope(&self.actor),
            &ids,
        )
        .await?;
        Ok(found.into_iter().map(|a| (AssetKey(a.id.uuid()), a)).collect())
    }
}

impl Loader<ServiceContractsKey> for ScopedLoader {
    type Value = Vec<DomainContract>;
    type Error = ApiError;

    async fn load(&self, keys: &[ServiceContractsKey]) -> Result<HashMap<ServiceContractsKey, Self::Value>, ApiError> {
        if !self.actor.may(Permission::WorkOrderRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let scope = customer_scope(&self.actor);
        let found =
            guanxi_store::service::asset::contracts_of(self.db.connection(), self.actor.tenant_id, scope, &ids).await?;
        Ok(grouped(found, |c| ServiceContractsKey(c.customer_id.uuid())))
    }
}

/// A product the caller may read, through the loader.
pub async fn product_of(ctx: &Context<'_>, product: Option<ProductId>) -> ApiResult<Option<Product>> {
    let Some(product) = product else { return Ok(None) };
    Ok(loaders(ctx)?.load_one(ProductKey(product.uuid())).await?.map(Product))
}

/// An asset the caller sees with its customer, through the loader.
pub async fn asset_of(ctx: &Context<'_>, asset: Option<AssetId>) -> ApiResult<Option<Asset>> {
    let Some(asset) = asset else { return Ok(None) };
    Ok(loaders(ctx)?.load_one(AssetKey(asset.uuid())).await?.map(Asset))
}

/// A customer's live assets the caller sees.
pub async fn assets_of(ctx: &Context<'_>, customer: Uuid) -> ApiResult<Vec<Asset>> {
    Ok(loaders(ctx)?.load_one(AssetsKey(customer)).await?.unwrap_or_default().into_iter().map(Asset).collect())
}

/// A customer's live service contracts the caller sees, latest ending first.
pub async fn service_contracts_of(ctx: &Context<'_>, customer: Uuid) -> ApiResult<Vec<ServiceContract>> {
    let found = loaders(ctx)?.load_one(ServiceContractsKey(customer)).await?.unwrap_or_default();
    Ok(found.into_iter().map(ServiceContract).collect())
}

#[derive(Default)]
pub struct AssetQuery;

#[Object]
impl AssetQuery {
    /// An asset by id (`workorder.read`, and its customer visible).
    async fn asset(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Asset> {
        let found = read_by_id::<guanxi_store::service::asset::Assets>(
            ctx,
            Permission::WorkOrderRead,
            (&id, ASSET),
            customer_scope,
        )
        .await?;
        Ok(Asset(found))
    }

    /// A customer's assets, oldest first (empty when the caller does not see the customer).
    async fn assets(&self, ctx: &Context<'_>, customer_id: ID) -> ApiResult<Vec<Asset>> {
        require(ctx, Permission::WorkOrderRead)?;
        assets_of(ctx, expect_id(&customer_id, CUSTOMER)?).await
    }

    /// A service contract by id.
    async fn service_contract(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ServiceContract> {
        let found = read_by_id::<guanxi_store::service::asset::ServiceContracts>(
            ctx,
            Permission::WorkOrderRead,
            (&id, SERVICE_CONTRACT),
            customer_scope,
        )
        .await?;
        Ok(ServiceContract(found))
    }

    /// A customer's service contracts, latest ending first.
    async fn service_contracts(&self, ctx: &Context<'_>, customer_id: ID) -> ApiResult<Vec<ServiceContract>> {
        require(ctx, Permission::WorkOrderRead)?;
        service_contracts_of(ctx, expect_id(&customer_id, CUSTOMER)?).await
    }

    /// Technicians' profiles (`workorder.dispatch` or `service.manage`): everyone who
    /// takes dispatched work, or the ones named.
    async fn technicians(&self, ctx: &Context<'_>, user_ids: Option<Vec<ID>>) -> ApiResult<Vec<Technician>> {
        let actor = crate::graphql::context::actor(ctx)?;
        if !actor.may(Permission::WorkOrderDispatch) && !actor.may(Permission::ServiceManage) {
            return Err(ApiError::Forbidden("needs workorder.dispatch or service.manage".into()));
        }
        let conn = state(ctx).db.connection();
        let ids =
            user_ids.map(|ids| ids.iter().map(|id| expect_id(id, USER)).collect::<ApiResult<Vec<_>>>()).transpose()?;
        let found = guanxi_store::service::asset::technicians(conn, actor.tenant_id, ids.as_deref()).await?;
        Ok(found.into_iter().map(Technician).collect())
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

#[derive(InputObject, Serialize)]
pub struct AssetInput {
    pub product_id: ID,
    pub serial_number: Option<String>,
    pub purchased_on: Option<NaiveDate>,
    pub warranty_ends_on: Option<NaiveDate>,
    pub address: Option<String>,
    /// The sales order or contract it came from.
    pub order_id: Option<ID>,
    pub contract_id: Option<ID>,
    pub note: Option<String>,
}

impl AssetInput {
    fn to_domain(&self) -> Result<AssetFields, Vec<UserError>> {
        let mut errors = Vec::new();
        let product = input_id("productId", &self.product_id, PRODUCT).map_err(|e| errors.push(e)).ok();
        let order = self
            .order_id
            .as_ref()
            .and_then(|o| input_id("orderId", o, EntityKind::Order.name()).map_err(|e| errors.push(e)).ok());
        let contract = self
            .contract_id
            .as_ref()
            .and_then(|c| input_id("contractId", c, EntityKind::Contract.name()).map_err(|e| errors.push(e)).ok());
        let Some(product) = product.filter(|_| errors.is_empty()) else { return Err(errors) };
        Ok(AssetFields {
            product_id: product.into(),
            serial_number: self.serial_number.clone(),
            purchased_on: self.purchased_on,
            warranty_ends_on: self.warranty_ends_on,
            address: self.address.clone(),
            order_id: order,
            contract_id: contract,
            note: self.note.clone(),
        })
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateAssetInput {
    pub customer_id: ID,
    pub asset: AssetInput,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateAssetInput {
    pub id: ID,
    pub expected_version: i32,
    pub asset: AssetInput,
}

#[derive(InputObject)]
pub struct DeleteRecordInput {
    pub id: ID,
    pub expected_version: i32,
}

#[derive(InputObject, Serialize)]
pub struct ServiceTermsInput {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub level: String,
    /// The covered assets of the customer; with `productIds`, both empty covers every asset.
    #[graphql(default)]
    pub asset_ids: Vec<ID>,
    #[graphql(default)]
    pub product_ids: Vec<ID>,
    pub covers_parts: bool,
    pub covers_labour: bool,
    /// The service levels the contract promises, over the tenant's own.
    pub sla: Option<super::sla::SlaPolicy>,
    pub note: Option<String>,
}

impl ServiceTermsInput {
    fn to_domain(&self) -> Result<ServiceTerms, Vec<UserError>> {
        let mut errors = Vec::new();
        let assets: Vec<_> = (self.asset_ids.iter())
            .filter_map(|a| input_id("assetIds", a, ASSET).map_err(|e| errors.push(e)).ok())
            .map(Into::into)
            .collect();
        let products: Vec<_> = (self.product_ids.iter())
            .filter_map(|p| input_id("productIds", p, PRODUCT).map_err(|e| errors.push(e)).ok())
            .map(Into::into)
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ServiceTerms {
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            level: self.level.clone(),
            asset_ids: assets,
            product_ids: products,
            covers_parts: self.covers_parts,
            covers_labour: self.covers_labour,
            sla: self.sla.map(Into::into),
            note: self.note.clone(),
        })
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateServiceContractInput {
    pub customer_id: ID,
    pub terms: ServiceTermsInput,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateServiceContractInput {
    pub id: ID,
    pub expected_version: i32,
    pub terms: ServiceTermsInput,
}

#[derive(InputObject)]
pub struct SetTechnicianInput {
    pub user_id: ID,
    /// Offered for dispatch.
    #[graphql(default = true)]
    pub active: bool,
    #[graphql(default)]
    pub category_ids: Vec<ID>,
    #[graphql(default)]
    pub regions: Vec<String>,
}

crate::graphql::error::payload! {
    AssetPayload, asset: Asset(DomainAsset)
}

crate::graphql::error::payload! {
    ServiceContractPayload, service_contract: ServiceContract(DomainContract)
}

crate::graphql::error::payload! {
    TechnicianPayload, technician: Technician(StoreTechnician)
}

#[derive(Default)]
pub struct AssetMutation;

#[Object]
impl AssetMutation {
    /// Registers a product a customer owns (`workorder.write`).
    async fn create_asset(&self, ctx: &Context<'_>, input: CreateAssetInput) -> ApiResult<AssetPayload> {
        create_on_customer::<guanxi_store::service::asset::Assets, _, _, _>(
            ctx,
            (Permission::WorkOrderWrite, "createAsset"),
            (&input.customer_id, input.asset.to_domain()),
            (input.idempotency_key.as_deref(), &input),
            |tx, author, scope, (customer, fields)| {
                Box::pin(async move {
                    let created =
                        guanxi_store::service::asset::create_asset(tx, &author, scope, customer, fields).await?;
                    Ok((created.id.uuid(), created))
                })
            },
        )
        .await
    }

    /// Rewrites an asset; work orders already taken keep their coverage.
    async fn update_asset(&self, ctx: &Context<'_>, input: UpdateAssetInput) -> ApiResult<AssetPayload> {
        let fields = match input.asset.to_domain() {
            Ok(f) => f,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let version = input.expected_version;
        write_by_id(
            ctx,
            Permission::WorkOrderWrite,
            (&input.id, ASSET),
            customer_write_scope,
            move |tx, author, scope, id| {
                Box::pin(async move {
                    guanxi_store::service::asset::update_asset(tx, &author, scope, (id, version), fields).await
                })
            },
        )
        .await
    }

    /// Moves an asset to the recycle bin.
    async fn delete_asset(&self, ctx: &Context<'_>, input: DeleteRecordInput) -> ApiResult<AssetPayload> {
        let version = input.expected_version;
        write_by_id(
            ctx,
            Permission::WorkOrderWrite,
            (&input.id, ASSET),
            customer_write_scope,
            move |tx, author, scope, id| {
                Box::pin(
                    async move { guanxi_store::service::asset::delete_asset(tx, &author, scope, (id, version)).await },
                )
            },
        )
        .await
    }

    /// Signs a service contract with a customer the caller sees (`service.manage`).
    async fn create_service_contract(
        &self,
        ctx: &Context<'_>,
        input: CreateServiceContractInput,
    ) -> ApiResult<ServiceContractPayload> {
        create_on_customer::<guanxi_store::service::asset::ServiceContracts, _, _, _>(
            ctx,
            (Permission::ServiceManage, "createServiceContract"),
            (&input.customer_id, input.terms.to_domain()),
            (input.idempotency_key.as_deref(), &input),
            |tx, author, scope, (customer, terms)| {
                Box::pin(async move {
                    let created =
                        guanxi_store::service::asset::create_contract(tx, &author, scope, customer, terms).await?;
                    Ok((created.id.uuid(), created))
                })
            },
        )
        .await
    }

    /// Rewrites a service contract's terms (`service.manage`).
    async fn update_service_contract(
        &self,
        ctx: &Context<'_>,
        input: UpdateServiceContractInput,
    ) -> ApiResult<ServiceContractPayload> {
        let terms = match input.terms.to_domain() {
            Ok(t) => t,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let version = input.expected_version;
        let id = (&input.id, SERVICE_CONTRACT);
        write_by_id(ctx, Permission::ServiceManage, id, customer_write_scope, move |tx, author, scope, id| {
            Box::pin(async move {
                guanxi_store::service::asset::update_contract(tx, &author, scope, (id, version), terms).await
            })
        })
        .await
    }

    /// Moves a service contract to the recycle bin (`service.manage`).
    async fn delete_service_contract(
        &self,
        ctx: &Context<'_>,
        input: DeleteRecordInput,
    ) -> ApiResult<ServiceContractPayload> {
        let version = input.expected_version;
        let id = (&input.id, SERVICE_CONTRACT);
        write_by_id(ctx, Permission::ServiceManage, id, customer_write_scope, move |tx, author, scope, id| {
            Box::pin(
                async move { guanxi_store::service::asset::delete_contract(tx, &author, scope, (id, version)).await },
            )
        })
        .await
    }

    /// Makes a user a technician, or rewrites their categories and regions (`service.manage`).
    async fn set_technician(&self, ctx: &Context<'_>, input: SetTechnicianInput) -> ApiResult<TechnicianPayload> {
        let actor = require(ctx, Permission::ServiceManage)?;
        let mut errors = Vec::new();
        let user = input_id("userId", &input.user_id, USER).map_err(|e| errors.push(e)).ok();
        let categories: Vec<Uuid> = (input.category_ids.iter())
            .filter_map(|c| {
                input_id("categoryIds", c, EntityKind::ProductCategory.name()).map_err(|e| errors.push(e)).ok()
            })
            .collect();
        let Some(user) = user.filter(|_| errors.is_empty()) else { return Ok(Err(errors).into()) };
        let author = author(ctx, actor);
        let (active, regions) = (input.active, input.regions);
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::service::asset::set_technician(tx, &author, user, active, (categories, regions)).await
            })
        })
        .await?;
        Ok(result.into())
    }
}
