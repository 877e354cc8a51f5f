//! The `lead_pool_log` table: one row per lead claimed, released, reclaimed or assigned,
//! shaped as `pool_log` is for customers.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "lead_pool_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub pool_id: Uuid,
    pub lead_id: Uuid,
    pub action: String,
    /// The new owner (claim, assign) or the former one (release, reclaim).
    pub user_id: Option<Uuid>,
    /// Who did it; none for the reclaim job.
    pub actor_id: Option<Uuid>,
    pub reason: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
