//! The `customers` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_number: String,
    pub kind: String,
    pub customer_type: String,
    pub name: String,
    pub normalized_name: String,
    pub search_name: String,
    pub mnemonic_code: String,
    pub level: Option<String>,
    pub status: String,
    pub credit_rating: Option<String>,
    pub credit_limit: Option<String>,
    pub parent_id: Option<Uuid>,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub main_phone: Option<String>,
    pub finance_phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub size: Option<String>,
    pub tax_id: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account: Option<String>,
    pub business_scope: Option<String>,
    pub source: Option<String>,
    pub owner_id: Option<Uuid>,
    pub owner_department_id: Option<Uuid>,
    pub registered_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "JsonBinary")]
    pub tags: Json,
    pub notes: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub custom_fields: Json,
    pub merged_into_id: Option<Uuid>,
    pub last_interaction_at: Option<DateTimeUtc>,
    pub next_follow_up_at: Option<DateTimeUtc>,
    pub last_deal_at: Option<DateTimeUtc>,
    pub pool_id: Option<Uuid>,
    pub pool_entered_at: Option<DateTimeUtc>,
    pub pool_action: Option<String>,
    pub pool_reason: Option<String>,
    pub previous_owner_id: Option<Uuid>,
    pub owner_received_at: Option<DateTimeUtc>,
    pub locked: bool,
    pub created_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
