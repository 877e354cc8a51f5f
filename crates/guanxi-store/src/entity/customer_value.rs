//! The `customer_values` table: each paying customer's RFM figures and scores, rewritten
//! by the nightly refresh.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "customer_values")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: Uuid,
    pub first_received_on: Date,
    pub last_received_on: Date,
    pub receipts_365: i64,
    pub received_365_e4: i64,
    pub lifetime_e4: i64,
    pub recency_score: i16,
    pub frequency_score: i16,
    pub monetary_score: i16,
    pub segment: String,
    pub computed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
