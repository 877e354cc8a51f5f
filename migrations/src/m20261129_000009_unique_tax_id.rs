//! A unified social credit code (统一社会信用代码) names exactly one legal entity, so two
//! live customers of a tenant never share one, whatever the duplicate policy: the check
//! before a write answers the client, and this index holds under racing writers.
//! Deleted customers (and merge tombstones) are outside it, so restoring one whose code a
//! live customer has taken meanwhile is refused by the same index.
//!
//! Until now the WARN policy let a confirmed second customer share a code. Which of two
//! records is the company is a person's call, so this step changes no data: it stops,
//! naming the customers that share a code, until they are merged (or one's code fixed).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let shared = manager
            .get_connection()
            .query_all_raw(Statement::from_string(
                manager.get_database_backend(),
                "SELECT tenant_id, tax_id, COUNT(*) AS n FROM customers \
                 WHERE tax_id IS NOT NULL AND deleted_at IS NULL GROUP BY tenant_id, tax_id HAVING COUNT(*) > 1",
            ))
            .await?;
        if !shared.is_empty() {
            let mut groups = Vec::new();
            for row in shared.iter().take(20) {
                let tax: String = row.try_get("", "tax_id")?;
                let n: i64 = row.try_get("", "n")?;
                groups.push(format!("{tax} ({n} customers)"));
            }
            return Err(DbErr::Migration(format!(
                "{} unified social credit codes are shared by several live customers: {}. \
                 Merge each group (mergeCustomers) or correct the codes, then start again.",
                shared.len(),
                groups.join(", ")
            )));
        }
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
