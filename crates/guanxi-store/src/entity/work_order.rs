//! The `work_orders` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "work_orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub number: String,
    pub customer_id: Uuid,
    pub contact_id: Option<Uuid>,
    pub asset_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub channel: String,
    pub kind: String,
    pub priority: String,
    pub subject: String,
    pub description: Option<String>,
    pub attachment_ids: Json,
    pub window_from: Option<DateTimeUtc>,
    pub window_to: Option<DateTimeUtc>,
    pub address: Option<String>,
    pub region: Option<String>,
    pub status: String,
    pub held_from: Option<String>,
    pub reason: Option<String>,
    pub coverage: Json,
    pub owner_id: Option<Uuid>,
    pub dispatcher_id: Option<Uuid>,
    pub technician_id: Option<Uuid>,
    pub accepted_at: Option<DateTimeUtc>,
    pub dispatched_at: Option<DateTimeUtc>,
    pub travel_started_at: Option<DateTimeUtc>,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub confirmed_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub reopen_count: i32,
    pub resolution: Option<String>,
    pub root_cause: Option<String>,
    pub parts_e4: i64,
    pub labour_e4: i64,
    pub charge_e4: i64,
    pub payment_status: String,
    pub payment_method: Option<String>,
    pub paid_at: Option<DateTimeUtc>,
    pub satisfaction: Option<i16>,
    pub satisfaction_comment: Option<String>,
    pub defect_id: Option<Uuid>,
    pub return_visit_id: Option<Uuid>,
    /// A complaint (投诉): the order it is about.
    pub complaint_of: Option<Uuid>,
    pub response_due_at: Option<DateTimeUtc>,
    pub resolution_due_at: Option<DateTimeUtc>,
    pub response_breached_at: Option<DateTimeUtc>,
    pub resolution_breached_at: Option<DateTimeUtc>,
    pub external_id: Option<String>,
    pub created_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
