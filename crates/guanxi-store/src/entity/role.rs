//! The `roles` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub builtin_key: Option<String>,
    pub name: String,
    pub description: String,
    /// Permission keys, e.g. `["customer.read", "customer.export"]`.
    #[sea_orm(column_type = "JsonBinary")]
    pub permissions: Json,
    /// Module → data scope, e.g. `{"CUSTOMER": "OWN"}`.
    #[sea_orm(column_type = "JsonBinary")]
    pub scopes: Json,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
