//! Search tokens without a foreign-key check, on PostgreSQL. `customer_search_tokens` and
//! `product_search_tokens` are derived rows: rewritten with their record in the same
//! transaction and cleared with it, and every search joins them back to a live record.
//! Their foreign keys cost a check per token (some seventy per customer); worse, a check
//! plans once per connection, and planned against a small `customers` table (a new
//! database) it scans the table for every token, so an import into a fresh database slowed
//! with every batch (5,000 customers: 199 s with the check, 14 s without). SQLite keeps the
//! constraint: dropping it there means rebuilding the table, and its check is an index
//! probe.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, constraint, column, referenced table).
const CHECKS: [(&str, &str, &str, &str); 2] = [
    ("customer_search_tokens", "fk_customer_search_tokens_customer_id", "customer_id", "customers"),
    ("product_search_tokens", "fk_product_search_tokens_product_id", "product_id", "products"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (table, constraint, _, _) in CHECKS {
            let sql = format!("ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {constraint}");
            manager.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (table, constraint, column, target) in CHECKS {
            let sql = format!(
                "ALTER TABLE {table} ADD CONSTRAINT {constraint} FOREIGN KEY (tenant_id, {column}) \
                 REFERENCES {target} (tenant_id, id)"
            );
            manager.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}
