//! The `commission_lines` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "commission_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub statement_id: Uuid,
    pub user_id: Uuid,
    pub period: String,
    pub kind: String,
    pub rule: String,
    pub plan_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub receipt_id: Option<Uuid>,
    pub category_id: Option<Uuid>,
    pub earned_on: Option<Date>,
    pub share_e4: Option<i64>,
    pub base_e4: i64,
    pub rate_e4: Option<i64>,
    pub amount_e4: i64,
    pub clawback_of: Option<Uuid>,
    pub reason: Option<String>,
    pub author_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
