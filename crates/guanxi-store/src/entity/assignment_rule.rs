//! The `assignment_rules` table: who gets a new customer that arrives without an owner.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "assignment_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub applies_to: String,
    pub priority: i32,
    pub mode: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub conditions: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub members: Json,
    /// The rule's turns so far (bumped under the row lock by each assignment).
    pub cursor: i64,
    pub active: bool,
    pub created_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
