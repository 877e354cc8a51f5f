//! The `products` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub mnemonic_code: String,
    pub category_id: Option<Uuid>,
    pub kind: String,
    pub origin: String,
    pub specification: Option<String>,
    pub unit: String,
    pub list_price_e4: i64,
    pub cost_price_e4: Option<i64>,
    pub tax_rate: String,
    pub active: bool,
    pub description: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub image_ids: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub custom_fields: Json,
    pub external_id: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
