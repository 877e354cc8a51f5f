//! Keys from outside systems. `external_keys` maps `(kind, source, external id)` — an
//! ERP's customer code, a finance system's contact number — to one record, so a bulk
//! upsert finds what it wrote before; a record may carry keys from several sources.
//! `upsert_batches` keeps the per-row results of an upsert call made with an idempotency
//! key, so a retried call answers what the first one did (purged with the keys). The
//! duplicate check gets an index on the finance phone.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("external_keys")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(string_len("entity_type", 30))
                    .col(string_len("source", 40))
                    .col(string_len("external_id", 200))
                    .col(uuid("record_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("tenant_id").col("entity_type").col("source").col("external_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_external_keys_tenant")
                            .from_tbl("external_keys")
                            .from_col("tenant_id")
                            .to_tbl("tenants")
                            .to_col("id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_external_keys_record", "external_keys", &["tenant_id", "entity_type", "record_id"]))
            .await?;

        let mut batches = tenant_table("upsert_batches");
        batches
            .col(string_len("entity_type", 30))
            .col(string_len("source", 40))
            .col(json_binary("results"))
            .col(timestamp_with_time_zone("created_at"));
        manager.create_table(batches).await?;
        manager.create_index(index("ix_upsert_batches_created", "upsert_batches", &["created_at"])).await?;
        // The duplicate check matches the finance phone too (the main phone has its index).
        manager.create_index(index("ix_customers_finance_phone", "customers", &["tenant_id", "finance_phone"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS ix_customers_finance_phone").await?;
        manager.drop_table(Table::drop().table("upsert_batches").if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table("external_keys").if_exists().to_owned()).await?;
        Ok(())
    }
}
