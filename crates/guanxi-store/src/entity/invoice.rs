//! The `invoices` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub number: String,
    pub contract_id: Uuid,
    pub customer_id: Uuid,
    pub owner_id: Option<Uuid>,
    pub profile_id: Option<Uuid>,
    pub title: Json,
    pub vat_kind: String,
    pub rate: String,
    pub amount_e4: i64,
    pub tax_e4: i64,
    pub status: String,
    pub invoice_number: Option<String>,
    pub issued_on: Option<Date>,
    pub void_reason: Option<String>,
    pub voided_at: Option<DateTimeUtc>,
    pub external_id: Option<String>,
    pub note: Option<String>,
    pub created_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
