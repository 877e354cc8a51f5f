//! The `document_lines` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "document_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub quote_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub position: i32,
    pub product_id: Uuid,
    pub product_name: String,
    pub specification: Option<String>,
    pub unit: String,
    pub quantity_e4: i64,
    pub list_price_e4: i64,
    pub unit_price_e4: i64,
    pub discount_e4: i64,
    pub tax_rate: String,
    pub price_source: String,
    pub policy_id: Option<Uuid>,
    pub list_amount_e4: i64,
    pub subtotal_e4: i64,
    pub amount_e4: i64,
    pub net_e4: i64,
    pub tax_e4: i64,
    pub gross_e4: i64,
    pub delivered_e4: i64,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
