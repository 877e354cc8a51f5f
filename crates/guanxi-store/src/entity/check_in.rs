//! The `check_ins` table: field check-ins and check-outs.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "check_ins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub user_id: Uuid,
    pub event_id: Option<Uuid>,
    pub interaction_id: Option<Uuid>,
    pub check_in_id: Option<Uuid>,
    pub kind: String,
    pub device_time: DateTimeUtc,
    pub server_time: DateTimeUtc,
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_meters: Option<f64>,
    pub distance_meters: Option<f64>,
    pub far: bool,
    #[sea_orm(column_type = "JsonBinary")]
    pub photo_ids: Json,
    pub note: Option<String>,
    /// The work order a technician checked in at.
    pub work_order_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
