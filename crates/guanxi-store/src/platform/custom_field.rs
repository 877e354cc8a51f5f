//! Custom field definitions per tenant and entity.

use chrono::Utc;
use guanxi_domain::ErrorCode;
use guanxi_domain::ids::{CustomFieldId, TenantId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::custom_field::{CustomFieldDefinition, CustomFieldType};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;

use crate::decode::Cell;
use crate::entity::custom_field;
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};

use guanxi_domain::entity::EntityKind;

pub const ENTITY: EntityKind = EntityKind::CustomField;

fn to_definition(m: &custom_field::Model) -> StoreResult<CustomFieldDefinition> {
    let cell = |column| Cell::of("custom_fields", m.id, column);
    Ok(CustomFieldDefinition {
        key: m.key.clone(),
        label: m.label.clone(),
        field_type: cell("field_type").text(&m.field_type, CustomFieldType::parse)?,
        required: m.required,
        options: cell("options").json(m.options.clone())?,
    })
}

/// The live definitions of an entity (`CUSTOMER`, `CONTACT`), in display order.
pub async fn definitions<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    entity: &str,
) -> StoreResult<Vec<CustomFieldDefinition>> {
    custom_field::Entity::find()
        .filter(custom_field::Column::TenantId.eq(tenant.uuid()))
        .filter(custom_field::Column::Entity.eq(entity))
        .filter(custom_field::Column::DeletedAt.is_null())
        .order_by_asc(custom_field::Column::SortOrder)
        .order_by_asc(custom_field::Column::Key)
        .all(conn)
        .await?
        .iter()
        .map(to_definition)
        .collect::<StoreResult<_>>()
}

/// Creates a definition, or updates the one with the same key. A field's type cannot
/// change once defined (stored values would stop matching it).
pub async fn define<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    entity: &str,
    definition: &CustomFieldDefinition,
    sort_order: i32,
) -> StoreResult<CustomFieldDefinition> {
    let tenant = author.tenant_id;
    let now = Utc::now();
    let options = Value::from(definition.options.clone());
    let existing = custom_field::Entity::find()
        .filter(custom_field::Column::TenantId.eq(tenant.uuid()))
        .filter(custom_field::Column::Entity.eq(entity))
        .filter(custom_field::Column::Key.eq(&definition.key))
        .one(conn)
        .await?;
    match existing {
        Some(row) => {
            if row.field_type != definition.field_type.as_str() {
                return Err(StoreError::rejected(
                    "type",
                    ErrorCode::IllegalState,
                    format!("`{}` is a {} field; its type cannot change", row.key, row.field_type),
                ));
            }
            let before = to_definition(&row)?;
            custom_field::Entity::update_many()
                .col_expr(custom_field::Column::Label, Expr::value(definition.label.clone()))
                .col_expr(custom_field::Column::Required, Expr::value(definition.required))
                .col_expr(custom_field::Column::Options, Expr::value(options))
                .col_expr(custom_field::Column::SortOrder, Expr::value(sort_order))
                .col_expr(custom_field::Column::DeletedAt, Expr::value(None::<chrono::DateTime<Utc>>))
                .col_expr(custom_field::Column::UpdatedAt, Expr::value(now))
                .col_expr(custom_field::Column::Version, Expr::col(custom_field::Column::Version).add(1))
                .filter(custom_field::Column::TenantId.eq(tenant.uuid()))
                .filter(custom_field::Column::Id.eq(row.id))
                .exec(conn)
                .await?;
            let changes = ChangeSet::new()
                .field("label", &before.label, &definition.label)
                .field("required", before.required, definition.required)
                .field("options", &before.options, &definition.options);
            audit::record(conn, author, ENTITY, row.id, Operation::Update, &changes).await?;
        }
        None => {
            let id = CustomFieldId::new();
            custom_field::Entity::insert(custom_field::ActiveModel {
                tenant_id: Set(tenant.uuid()),
                id: Set(id.uuid()),
                entity: Set(entity.to_owned()),
                key: Set(definition.key.clone()),
                label: Set(definition.label.clone()),
                field_type: Set(definition.field_type.as_str().to_owned()),
                required: Set(definition.required),
                options: Set(options),
                sort_order: Set(sort_order),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                deleted_at: Set(None),
            })
            .exec_without_returning(conn)
            .await?;
            let changes = ChangeSet::new()
                .field("entity", (), entity)
                .field("key", (), &definition.key)
                .field("type", (), definition.field_type.as_str())
                .field("required", (), definition.required);
            audit::record(conn, author, ENTITY, id.uuid(), Operation::Create, &changes).await?;
        }
    }
    Ok(definition.clone())
}
