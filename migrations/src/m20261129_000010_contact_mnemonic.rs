//! Contacts get mnemonic codes (助记码) like customers: `mnemonic_codes` holds the codes of
//! every plausible reading of the name, the shown one first, separated by spaces, so a
//! search for initials matches a code's start (`LIKE 'zs%' OR LIKE '% zs%'`). Contacts that
//! exist get theirs here, from the same rule the application uses.

use guanxi_domain::mnemonic::mnemonic_codes;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table("contacts").add_column(string_len("mnemonic_codes", 200).default("")).to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let rows =
            db.query_all_raw(Statement::from_string(backend, "SELECT tenant_id, id, name FROM contacts")).await?;
        for row in rows {
            let (tenant, id, name): (Uuid, Uuid, String) =
                (row.try_get("", "tenant_id")?, row.try_get("", "id")?, row.try_get("", "name")?);
            let update = Query::update()
                .table("contacts")
                .value("mnemonic_codes", mnemonic_codes(&name).join(" "))
                .and_where(Expr::col("tenant_id").eq(tenant))
                .and_where(Expr::col("id").eq(id))
                .to_owned();
            db.execute(&update).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("contacts").drop_column("mnemonic_codes").to_owned()).await?;
        Ok(())
    }
}
