//! Pipelines and their stages: the tenant's sales processes, the default one every tenant starts with.

use crate::decode::Cell;
use crate::entity::{pipeline, pipeline_stage};
use crate::error::{StoreError, StoreResult, on_unique};
use crate::platform::audit::{self, Author};
use chrono::Utc;
use guanxi_domain::ids::{PipelineId, StageId, TenantId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::sales::opportunity::{Pipeline, Stage, StageDraft, StageKind, check_stages, default_stages};
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Pipelines

/// Pipelines are recorded in the change log under their own kind.
pub const ENTITY: guanxi_domain::entity::EntityKind = guanxi_domain::entity::EntityKind::Pipeline;

fn stage_of(m: pipeline_stage::Model) -> StoreResult<Stage> {
    let cell = |column| Cell::of("pipeline_stages", m.id, column);
    Ok(Stage {
        id: m.id.into(),
        pipeline_id: m.pipeline_id.into(),
        name: m.name,
        position: m.position,
        probability: cell("probability").check(u8::try_from(m.probability))?,
        kind: cell("kind").text(&m.kind, StageKind::parse)?,
    })
}

fn pipeline_of(m: pipeline::Model, mut stages: Vec<Stage>) -> Pipeline {
    stages.sort_by_key(|s| s.position);
    Pipeline {
        id: m.id.into(),
        tenant_id: m.tenant_id.into(),
        name: m.name,
        is_default: m.is_default,
        stages,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// The tenant's live pipelines, the default first, each with its stages (two statements).
pub async fn pipelines<C: ConnectionTrait>(conn: &C, tenant: TenantId) -> StoreResult<Vec<Pipeline>> {
    let rows = pipeline::Entity::find()
        .filter(pipeline::Column::TenantId.eq(tenant.uuid()))
        .filter(pipeline::Column::DeletedAt.is_null())
        .order_by_desc(pipeline::Column::IsDefault)
        .order_by_asc(pipeline::Column::Name)
        .all(conn)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|p| p.id).collect();
    let mut stages = stages_of(conn, tenant, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|p| {
            let own = stages.remove(&PipelineId::from_uuid(p.id)).unwrap_or_default();
            pipeline_of(p, own)
        })
        .collect())
}

/// The stages of some pipelines, by pipeline.
pub async fn stages_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    pipelines: &[Uuid],
) -> StoreResult<HashMap<PipelineId, Vec<Stage>>> {
    let mut out: HashMap<PipelineId, Vec<Stage>> = HashMap::new();
    if pipelines.is_empty() {
        return Ok(out);
    }
    let rows = pipeline_stage::Entity::find()
        .filter(pipeline_stage::Column::TenantId.eq(tenant.uuid()))
        .filter(pipeline_stage::Column::PipelineId.is_in(pipelines.iter().copied()))
        .order_by_asc(pipeline_stage::Column::Position)
        .all(conn)
        .await?;
    for row in rows {
        let stage = stage_of(row)?;
        out.entry(stage.pipeline_id).or_default().push(stage);
    }
    Ok(out)
}

/// One live pipeline, or the tenant's default one when `id` is `None`.
pub async fn pipeline<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    id: Option<Uuid>,
) -> StoreResult<Option<Pipeline>> {
    let mut select = pipeline::Entity::find()
        .filter(pipeline::Column::TenantId.eq(tenant.uuid()))
        .filter(pipeline::Column::DeletedAt.is_null());
    select = match id {
        Some(id) => select.filter(pipeline::Column::Id.eq(id)),
        None => select.filter(pipeline::Column::IsDefault.eq(true)),
    };
    let Some(row) = select.one(conn).await? else { return Ok(None) };
    let mut stages = stages_of(conn, tenant, &[row.id]).await?;
    let own = stages.remove(&PipelineId::from_uuid(row.id)).unwrap_or_default();
    Ok(Some(pipeline_of(row, own)))
}

/// Creates a pipeline from checked stages. The first pipeline of a tenant is its default.
pub async fn create_pipeline<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    name: &str,
    drafts: Vec<StageDraft>,
) -> StoreResult<Pipeline> {
    let tenant = author.tenant_id;
    let mut invalid = Invalid::default();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        invalid.push(guanxi_domain::FieldError::new("name", ErrorCode::Invalid, "a name has 1 to 60 characters"));
    }
    let stages = match check_stages(drafts) {
        Ok(stages) => Some(stages),
        Err(e) => {
            invalid.0.extend(e.0);
            None
        }
    };
    invalid.into_result()?;
    let stages = stages.unwrap_or_default();
    let taken = pipeline::Entity::find()
        .filter(pipeline::Column::TenantId.eq(tenant.uuid()))
        .filter(pipeline::Column::DeletedAt.is_null())
        .filter(pipeline::Column::Name.eq(name))
        .count(conn)
        .await?;
    if taken > 0 {
        return Err(StoreError::rejected("name", ErrorCode::Duplicate, "a pipeline with this name exists"));
    }
    let has_default = pipeline::Entity::find()
        .filter(pipeline::Column::TenantId.eq(tenant.uuid()))
        .filter(pipeline::Column::IsDefault.eq(true))
        .count(conn)
        .await?
        > 0;
    let now = Utc::now();
    let id = PipelineId::new();
    let row = pipeline::Entity::insert(pipeline::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id.uuid()),
        name: Set(name.to_owned()),
        is_default: Set(!has_default),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_with_returning(conn)
    .await
    .map_err(|e| on_unique(e, "name", "a pipeline with this name exists"))?;
    let created: Vec<Stage> = stages
        .iter()
        .enumerate()
        .map(|(position, s)| Stage {
            id: StageId::new(),
            pipeline_id: id,
            name: s.name.clone(),
            position: position as i32,
            probability: s.probability,
            kind: s.kind,
        })
        .collect();
    let models: Vec<pipeline_stage::ActiveModel> = created
        .iter()
        .map(|s| pipeline_stage::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            id: Set(s.id.uuid()),
            pipeline_id: Set(id.uuid()),
            name: Set(s.name.clone()),
            position: Set(s.position),
            probability: Set(i32::from(s.probability)),
            kind: Set(s.kind.as_str().to_owned()),
        })
        .collect();
    pipeline_stage::Entity::insert_many(models).exec(conn).await?;
    let stage_names: Vec<String> =
        stages.iter().map(|s| format!("{} ({}, {}%)", s.name, s.kind.as_str(), s.probability)).collect();
    let changes = ChangeSet::new().field("name", (), name).field("stages", (), &stage_names);
    audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
    Ok(pipeline_of(row, created))
}

/// The pipeline every tenant starts with (see `default_stages`).
pub async fn create_default_pipeline<C: ConnectionTrait>(conn: &C, author: &Author) -> StoreResult<Pipeline> {
    create_pipeline(conn, author, "默认销售流程", default_stages()).await
}
