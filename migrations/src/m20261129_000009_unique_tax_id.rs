//! A unified social credit code (统一社会信用代码) names exactly one legal entity, so two
//! live customers of a tenant never share one, whatever the duplicate policy: the check
//! before a write answers the client, and this index holds under racing writers.
//! Deleted customers (and merge tombstones) are outside it, so restoring one whose code a
//! live customer has taken meanwhile is refused by the same index.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS ux_customers_tax_id ON customers (tenant_id, tax_id) \
                 WHERE tax_id IS NOT NULL AND deleted_at IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS ux_customers_tax_id").await?;
        Ok(())
    }
}
