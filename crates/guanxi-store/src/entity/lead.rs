//! The `leads` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub notes: Option<String>,
    pub owner_id: Option<Uuid>,
    pub status: String,
    pub unqualified_reason: Option<String>,
    pub score: i32,
    #[sea_orm(column_type = "JsonBinary")]
    pub score_lines: Json,
    pub rescore_at: Option<DateTimeUtc>,
    pub last_activity_at: Option<DateTimeUtc>,
    pub external_id: Option<String>,
    pub customer_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
    pub converted_at: Option<DateTimeUtc>,
    pub created_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    /// The pool it waits in (no owner then).
    pub pool_id: Option<Uuid>,
    pub pool_entered_at: Option<DateTimeUtc>,
    /// How it came into the pool: RELEASE or RECLAIM.
    pub pool_action: Option<String>,
    pub pool_reason: Option<String>,
    pub previous_owner_id: Option<Uuid>,
    /// Since when its owner has it: the reclaim rules count from here (or its creation).
    pub owner_received_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
