//! The `contracts` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "contracts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub number: String,
    pub title: String,
    pub customer_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
    pub quote_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub signer_id: Option<Uuid>,
    pub signed_on: Option<Date>,
    pub starts_on: Option<Date>,
    pub ends_on: Option<Date>,
    pub amount_e4: i64,
    pub places: i32,
    pub received_e4: i64,
    pub invoiced_e4: i64,
    pub revision: i32,
    pub revises_id: Option<Uuid>,
    pub payment_terms: Option<String>,
    pub attachments: Json,
    pub external_id: Option<String>,
    pub notes: Option<String>,
    pub status: String,
    pub void_reason: Option<String>,
    pub approved_at: Option<DateTimeUtc>,
    /// When this revision came into force (a revision keeps the first's `approved_at`).
    pub effective_at: Option<DateTimeUtc>,
    /// When a contract in force was voided.
    pub voided_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
