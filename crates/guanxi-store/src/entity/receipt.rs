//! The `receipts` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "receipts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub number: String,
    pub contract_id: Uuid,
    pub customer_id: Uuid,
    pub owner_id: Option<Uuid>,
    pub received_on: Date,
    pub method: String,
    pub amount_e4: i64,
    pub advance_e4: i64,
    pub payer: Option<String>,
    pub external_id: Option<String>,
    pub note: Option<String>,
    pub status: String,
    pub allocations: Json,
    pub reversed_reason: Option<String>,
    pub reversed_at: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
