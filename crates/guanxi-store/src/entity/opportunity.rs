//! The `opportunities` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "opportunities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub pipeline_id: Uuid,
    pub stage_id: Uuid,
    pub status: String,
    pub name: String,
    pub amount_fen: i64,
    pub currency: String,
    pub expected_close_date: Option<Date>,
    pub source: Option<String>,
    pub competitors: Option<String>,
    pub notes: Option<String>,
    pub owner_id: Option<Uuid>,
    pub stage_entered_at: DateTimeUtc,
    pub reached_position: i32,
    pub closed_at: Option<DateTimeUtc>,
    pub close_reason: Option<String>,
    pub forecast_category: String,
    pub campaign_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
