//! The `sales_orders` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sales_orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub number: String,
    pub customer_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub status: String,
    pub tax_mode: String,
    pub discount_e4: i64,
    pub places: i16,
    pub notes: Option<String>,
    pub list_amount_e4: i64,
    pub subtotal_e4: i64,
    pub discount_amount_e4: i64,
    pub net_e4: i64,
    pub tax_e4: i64,
    pub gross_e4: i64,
    pub discount_off_list_e4: i64,
    pub quote_id: Option<Uuid>,
    pub delivery_date: Option<Date>,
    pub delivery_address: Option<String>,
    pub payment_terms: Option<String>,
    pub external_id: Option<String>,
    pub confirmed_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub cancel_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
