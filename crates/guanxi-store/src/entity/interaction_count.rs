//! The `interaction_counts` table: the work log's interaction counts per day and per month.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "interaction_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// The author, or the nil UUID for interactions without one.
    #[sea_orm(primary_key, auto_increment = false)]
    pub author_id: Uuid,
    /// `DAY` or `MONTH`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub grain: String,
    /// The period's first day in Shanghai time, `YYYY-MM-DD`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub period: String,
    /// The customer's owner, or the nil UUID for customers without one.
    #[sea_orm(primary_key, auto_increment = false)]
    pub owner_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub channel: String,
    pub n: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
