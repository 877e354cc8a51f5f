//! The `bulk_job_batches` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bulk_job_batches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub job_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub batch_no: i32,
    /// The place of its first row in the file, from 1.
    pub first_row: i64,
    pub row_count: i32,
    /// The rows as uploaded: a JSON list of CSV cell lists or NDJSON lines.
    pub rows: Json,
    pub attempts: i32,
    pub lease_until: Option<DateTimeUtc>,
    pub lease_token: Option<Uuid>,
    pub done_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
