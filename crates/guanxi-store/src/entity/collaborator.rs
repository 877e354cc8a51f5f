//! The `collaborators` table: a customer or a deal shared with a user (协作人).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "collaborators")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `Customer` or `Opportunity`.
    pub record_type: String,
    pub record_id: Uuid,
    /// The shared customer, or the shared deal's customer.
    pub customer_id: Uuid,
    pub user_id: Uuid,
    /// `READ` or `READ_WRITE`.
    pub access: String,
    pub expires_at: Option<DateTimeUtc>,
    pub note: Option<String>,
    pub created_by: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
