//! The `commission_statements` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "commission_statements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub period: String,
    pub user_id: Uuid,
    pub status: String,
    pub earned_e4: i64,
    pub adjusted_e4: i64,
    pub total_e4: i64,
    pub line_count: i32,
    pub calculated_at: Option<DateTimeUtc>,
    pub confirmed_by: Option<Uuid>,
    pub confirmed_at: Option<DateTimeUtc>,
    pub paid_by: Option<Uuid>,
    pub paid_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
