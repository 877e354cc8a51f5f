//! The `contacts` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub customer_id: Uuid,
    pub name: String,
    pub gender: Option<String>,
    pub birthday: Option<Date>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub manager_id: Option<Uuid>,
    pub office_phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub home_phone: Option<String>,
    pub fax: Option<String>,
    pub hobbies: Option<String>,
    pub notes: Option<String>,
    pub owner_id: Option<Uuid>,
    pub decision_role: String,
    /// The mnemonic codes of every plausible reading of the name, the shown one first,
    /// separated by spaces.
    pub mnemonic_codes: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub custom_fields: Json,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
