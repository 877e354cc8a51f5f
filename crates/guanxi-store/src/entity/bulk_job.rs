//! The `bulk_jobs` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bulk_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub format: String,
    pub source: String,
    pub confirm_duplicates: bool,
    pub state: String,
    pub created_by: Uuid,
    pub api_key_id: Option<Uuid>,
    /// A CSV file's header row, as a JSON list.
    pub columns: Json,
    pub total_rows: i64,
    pub batch_count: i32,
    pub processed_rows: i64,
    pub created_rows: i64,
    pub updated_rows: i64,
    pub unchanged_rows: i64,
    pub failed_rows: i64,
    pub error: Option<String>,
    pub uploaded_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
