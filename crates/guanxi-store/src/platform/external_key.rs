//! Outside systems' keys of records (`external_keys`), and the saved results of idempotent
//! upsert calls (`upsert_batches`).

use std::collections::HashMap;

use chrono::Utc;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::upsert::RowResult;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{external_key, upsert_batch};
use crate::error::StoreResult;

/// The records that `source`'s `keys` name, by key: one statement.
pub async fn lookup<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    kind: EntityKind,
    source: &str,
    keys: impl IntoIterator<Item = &str>,
) -> StoreResult<HashMap<String, Uuid>> {
    let mut keys: Vec<String> = keys.into_iter().map(str::to_owned).collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(external_key::Entity::find()
        .select_only()
        .column(external_key::Column::ExternalId)
        .column(external_key::Column::RecordId)
        .filter(external_key::Column::TenantId.eq(tenant.uuid()))
        .filter(external_key::Column::EntityType.eq(kind.name()))
        .filter(external_key::Column::Source.eq(source))
        .filter(external_key::Column::ExternalId.is_in(keys))
        .into_tuple::<(String, Uuid)>()
        .all(conn)
        .await?
        .into_iter()
        .collect())
}

/// Stores `source`'s keys of new records: multi-row inserts.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    kind: EntityKind,
    source: &str,
    keys: Vec<(String, Uuid)>,
) -> StoreResult<()> {
    let now = Utc::now();
    let rows: Vec<external_key::ActiveModel> = keys
        .into_iter()
        .map(|(external_id, record_id)| external_key::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            entity_type: Set(kind.name().to_owned()),
            source: Set(source.to_owned()),
            external_id: Set(external_id),
            record_id: Set(record_id),
            created_at: Set(now),
        })
        .collect();
    crate::insert_chunked(conn, rows).await?;
    Ok(())
}

/// Moves every outside key of one record to another (a contract's keys to the revision
/// that replaces it), so the sources' keys keep naming the record in force.
pub async fn move_keys<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    kind: EntityKind,
    (from, to): (Uuid, Uuid),
) -> StoreResult<u64> {
    let moved = external_key::Entity::update_many()
        .col_expr(external_key::Column::RecordId, sea_orm::sea_query::Expr::value(to))
        .filter(external_key::Column::TenantId.eq(tenant.uuid()))
        .filter(external_key::Column::EntityType.eq(kind.name()))
        .filter(external_key::Column::RecordId.eq(from))
        .exec(conn)
        .await?;
    Ok(moved.rows_affected)
}

/// The outside keys of records of one kind, by record: `(source, external id)` pairs in
/// order. One statement.
pub async fn of_records<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    kind: EntityKind,
    ids: &[Uuid],
) -> StoreResult<HashMap<Uuid, Vec<(String, String)>>> {
    let mut out: HashMap<Uuid, Vec<(String, String)>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(Uuid, String, String)> = external_key::Entity::find()
        .select_only()
        .columns([external_key::Column::RecordId, external_key::Column::Source, external_key::Column::ExternalId])
        .filter(external_key::Column::TenantId.eq(tenant.uuid()))
        .filter(external_key::Column::EntityType.eq(kind.name()))
        .filter(external_key::Column::RecordId.is_in(ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    for (id, source, external_id) in rows {
        out.entry(id).or_default().push((source, external_id));
    }
    for keys in out.values_mut() {
        keys.sort();
    }
    Ok(out)
}

/// Saves a call's results under a new id (the idempotency key then points at it).
pub async fn save_results<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    kind: EntityKind,
    source: &str,
    results: &[RowResult],
) -> StoreResult<Uuid> {
    let id = Uuid::now_v7();
    upsert_batch::Entity::insert(upsert_batch::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id),
        entity_type: Set(kind.name().to_owned()),
        source: Set(source.to_owned()),
        results: Set(serde_json::to_value(results).unwrap_or_default()),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(id)
}

/// The results a call saved; `NotFound` once purged.
pub async fn saved_results<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<Vec<RowResult>> {
    let batch =
        upsert_batch::Entity::find_by_id((tenant.uuid(), id)).one(conn).await?.ok_or(crate::StoreError::NotFound)?;
    Cell::of("upsert_batches", id, "results").json(batch.results)
}
