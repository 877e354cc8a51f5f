//! Product defects (产品缺陷): recorded per product, linked from work orders, counted by
//! product and period.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::platform::access::Permission;
use guanxi_domain::service::defect::{
    Defect as DomainDefect, DefectFields, DefectStatus as DomainStatus, Severity as DomainSeverity,
};
use guanxi_store::service::defect::{DefectFilter as StoreFilter, Defects};
use serde::Serialize;
use uuid::Uuid;

use super::asset::product_of;
use super::work_order::{WORK_ORDER, work_order_scope};
use super::work_order_stats::StatsGranularity;
use crate::graphql::context::{author, require, state};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{ScopedLoader, UserKey};
use crate::graphql::mutation::{Idempotent, reload_scoped, write, write_by_id};
use crate::graphql::platform::org::User;
use crate::graphql::relay::{Conn, expect_id, global_id, input_id, listed, page_request, read_by_id};
use crate::graphql::shared::OrderDirection;
use crate::graphql::trade::document::{PRODUCT, loaders};
use crate::graphql::trade::product::Product;

pub const DEFECT: &str = EntityKind::Defect.name();

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainSeverity", name = "DefectSeverity")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainStatus")]
pub enum DefectStatus {
    /// 待确认
    Open,
    /// 已确认
    Confirmed,
    /// 已修复
    Fixed,
    /// 已驳回: not a defect.
    Rejected,
}

/// A product defect (产品缺陷).
pub struct ProductDefect(pub DomainDefect);

#[Object]
impl ProductDefect {
    pub async fn id(&self) -> ID {
        global_id(DEFECT, self.0.id.uuid())
    }
    /// From the numbering rule (QX…).
    async fn number(&self) -> &str {
        &self.0.number
    }
    async fn product_id(&self) -> ID {
        global_id(PRODUCT, self.0.fields.product_id.uuid())
    }
    async fn product(&self, ctx: &Context<'_>) -> ApiResult<Option<Product>> {
        product_of(ctx, Some(self.0.fields.product_id)).await
    }
    async fn title(&self) -> &str {
        &self.0.fields.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.fields.description.as_deref()
    }
    async fn severity(&self) -> Severity {
        self.0.fields.severity.into()
    }
    async fn status(&self) -> DefectStatus {
        self.0.fields.status.into()
    }
    /// How many work orders the caller sees are linked to it.
    async fn linked_work_orders(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(loaders(ctx)?.load_one(LinkedKey(self.0.id.uuid())).await?.unwrap_or(0))
    }
    async fn created_by(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(user) = self.0.created_by else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(user.uuid())).await?.map(User))
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

/// A defect by id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DefectKey(pub Uuid);
/// How many visible work orders link to a defect.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkedKey(pub Uuid);

impl Loader<DefectKey> for ScopedLoader {
    type Value = DomainDefect;
    type Error = ApiError;

    async fn load(&self, keys: &[DefectKey]) -> Result<HashMap<DefectKey, DomainDefect>, ApiError> {
        if !self.actor.may(Permission::WorkOrderRead) {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found = guanxi_store::service::defect::by_ids(self.db.connection(), self.actor.tenant_id, (), &ids).await?;
        Ok(found.into_iter().map(|d| (DefectKey(d.id.uuid()), d)).collect())
    }
}

impl Loader<LinkedKey> for ScopedLoader {
    type Value = i64;
    type Error = ApiError;

    async fn load(&self, keys: &[LinkedKey]) -> Result<HashMap<LinkedKey, i64>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let scope = work_order_scope(&self.actor);
        let conn = self.db.connection();
        let found = guanxi_store::service::defect::linked_orders(conn, self.actor.tenant_id, scope, &ids).await?;
        Ok(found.into_iter().map(|(defect, n)| (LinkedKey(defect), n)).collect())
    }
}

/// Filters product defects.
#[derive(InputObject, Default)]
pub struct DefectFilter {
    pub product_id: Option<ID>,
    pub status: Option<Vec<DefectStatus>>,
    pub severity: Option<Vec<Severity>>,
    /// `true`: the recycle bin.
    pub deleted: Option<bool>,
}

/// Defects per product.
#[derive(SimpleObject)]
pub struct DefectsByProduct {
    product: Option<Product>,
    product_id: ID,
    count: i64,
}

/// Defects per period.
#[derive(SimpleObject)]
pub struct DefectsByPeriod {
    /// The period's first day (YYYY-MM-DD, Shanghai time).
    key: String,
    count: i64,
}

/// Defects recorded in a window.
#[derive(SimpleObject)]
pub struct DefectStats {
    by_product: Vec<DefectsByProduct>,
    by_period: Vec<DefectsByPeriod>,
}

#[derive(Default)]
pub struct DefectQuery;

#[Object]
impl DefectQuery {
    /// A product defect by id (`workorder.read`).
    async fn product_defect(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ProductDefect> {
        let found = read_by_id::<Defects>(ctx, Permission::WorkOrderRead, (&id, DEFECT), |_| ()).await?;
        Ok(ProductDefect(found))
    }

    /// Product defects, newest first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn product_defects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<DefectFilter>,
    ) -> ApiResult<Conn<ProductDefect>> {
        let actor = require(ctx, Permission::WorkOrderRead)?;
        let f = filter.unwrap_or_default();
        let filter = StoreFilter {
            product_id: f.product_id.as_ref().map(|p| expect_id(p, PRODUCT)).transpose()?,
            status: f.status.map(|s| s.into_iter().map(Into::into).collect()),
            severity: f.severity.map(|s| s.into_iter().map(Into::into).collect()),
            deleted: f.deleted,
        };
        let request = page_request(first, after, None, None, "CREATED_AT")?;
        let query = ((), filter, OrderDirection::Desc.into());
        listed::<Defects, _>(&state(ctx).db, actor.tenant_id, query, &request, ProductDefect).await
    }

    /// Defects recorded between `from` and `to`, per product (most first) and per period.
    async fn defect_stats(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        #[graphql(default_with = "StatsGranularity::Month")] granularity: StatsGranularity,
    ) -> ApiResult<DefectStats> {
        let actor = require(ctx, Permission::WorkOrderRead)?;
        if to <= from || to - from > chrono::Duration::days(400) {
            return Err(ApiError::BadUserInput("a window of up to 400 days, `to` after `from`".into()));
        }
        let conn = state(ctx).db.connection();
        let (mut by_product, mut by_period) =
            guanxi_store::service::defect::stats(conn, actor.tenant_id, (from, to), granularity.into()).await?;
        by_product.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        by_period.sort();
        let keys = by_product.iter().map(|(id, _)| super::asset::ProductKey(*id));
        let mut found = loaders(ctx)?.load_many(keys).await?;
        let products: Vec<DefectsByProduct> = by_product
            .into_iter()
            .map(|(id, count)| DefectsByProduct {
                product: found.remove(&super::asset::ProductKey(id)).map(Product),
                product_id: global_id(PRODUCT, id),
                count,
            })
            .collect();
        Ok(DefectStats {
            by_product: products,
            by_period: by_period.into_iter().map(|(key, count)| DefectsByPeriod { key, count }).collect(),
        })
    }
}

#[derive(InputObject, Serialize)]
pub struct DefectInput {
    pub product_id: ID,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    #[graphql(default_with = "DefectStatus::Open")]
    pub status: DefectStatus,
}

impl DefectInput {
    fn to_domain(&self) -> Result<DefectFields, Vec<UserError>> {
        let product = input_id("productId", &self.product_id, PRODUCT).map_err(|e| vec![e])?;
        Ok(DefectFields {
            product_id: product.into(),
            title: self.title.clone(),
            description: self.description.clone(),
            severity: self.severity.into(),
            status: self.status.into(),
        })
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateDefectInput {
    pub defect: DefectInput,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateDefectInput {
    pub id: ID,
    pub expected_version: i32,
    pub defect: DefectInput,
}

#[derive(InputObject)]
pub struct LinkWorkOrderDefectInput {
    pub id: ID,
    pub expected_version: i32,
    /// The defect; null unlinks.
    pub defect_id: Option<ID>,
}

crate::graphql::error::payload! {
    DefectPayload, defect: ProductDefect(DomainDefect)
}

#[derive(Default)]
pub struct DefectMutation;

#[Object]
impl DefectMutation {
    /// Records a product defect (`workorder.write`).
    async fn create_product_defect(&self, ctx: &Context<'_>, input: CreateDefectInput) -> ApiResult<DefectPayload> {
        let actor = require(ctx, Permission::WorkOrderWrite)?.clone();
        let fields = match input.defect.to_domain() {
            Ok(f) => f,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let (author, tenant) = (author(ctx, &actor), actor.tenant_id);
        let idempotent = Idempotent::new(&actor, "createProductDefect", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let created = guanxi_store::service::defect::create(tx, &author, fields).await?;
                    Ok((created.id.uuid(), created))
                })
            },
            reload_scoped::<Defects>(tenant, ()),
        )
        .await?;
        Ok(result.into())
    }

    /// Rewrites a product defect, its status as quality works it (`workorder.write`).
    async fn update_product_defect(&self, ctx: &Context<'_>, input: UpdateDefectInput) -> ApiResult<DefectPayload> {
        let fields = match input.defect.to_domain() {
            Ok(f) => f,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let version = input.expected_version;
        write_by_id(
            ctx,
            Permission::WorkOrderWrite,
            (&input.id, DEFECT),
            |_| (),
            move |tx, author, (), id| {
                Box::pin(async move { guanxi_store::service::defect::update(tx, &author, (id, version), fields).await })
            },
        )
        .await
    }

    /// Links a work order to the product defect it met, or unlinks it (`workorder.write`).
    async fn link_work_order_defect(
        &self,
        ctx: &Context<'_>,
        input: LinkWorkOrderDefectInput,
    ) -> ApiResult<super::work_order_mutation::WorkOrderPayload> {
        let defect = match input.defect_id.as_ref().map(|d| input_id("defectId", d, DEFECT)).transpose() {
            Ok(d) => d,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let version = input.expected_version;
        let id = (&input.id, WORK_ORDER);
        write_by_id(ctx, Permission::WorkOrderWrite, id, work_order_scope, move |tx, author, scope, id| {
            Box::pin(async move {
                guanxi_store::service::work_order::link_defect(tx, &author, scope, (id, version), defect).await
            })
        })
        .await
    }
}

/// A work order's linked defect, through the loader.
pub async fn defect_of(
    ctx: &Context<'_>,
    defect: Option<guanxi_domain::ids::DefectId>,
) -> ApiResult<Option<ProductDefect>> {
    let Some(defect) = defect else { return Ok(None) };
    Ok(loaders(ctx)?.load_one(DefectKey(defect.uuid())).await?.map(ProductDefect))
}
