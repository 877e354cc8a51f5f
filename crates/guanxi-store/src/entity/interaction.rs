//! The `interactions` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "interactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub author_id: Option<Uuid>,
    pub channel: String,
    pub occurred_at: DateTimeUtc,
    pub content: String,
    pub outcome: Option<String>,
    pub next_follow_up_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "JsonBinary")]
    pub contact_ids: Json,
    pub source: String,
    pub external_id: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    #[sea_orm(column_type = "JsonBinary")]
    pub attachments: Json,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
