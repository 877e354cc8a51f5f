//! Public pools (公海): the pools with their settings and members, the log of claims,
//! releases, reclaims and assignments, and on each customer the pool it waits in, who
//! owned it before, since when its owner has it (the reclaim rules count from there) and
//! whether it is locked against reclaim.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut pools = tenant_table("pools");
        pools
            .col(string_len("name", 60))
            .col(boolean("auto_reclaim").default(true))
            .col(integer("warn_days").default(0))
            .col(integer("cooldown_days").default(0))
            .col(integer_null("daily_claim_cap"))
            .col(integer_null("owned_cap"))
            .col(json_binary("rules"));
        lifecycle(&mut pools, false);
        manager.create_table(pools).await?;
        manager.create_index(index("ux_pools_name", "pools", &["tenant_id", "name"]).unique().to_owned()).await?;

        manager
            .create_table(
                Table::create()
                    .table("pool_members")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(uuid("pool_id"))
                    .col(string_len("member_kind", 10))
                    .col(uuid("member_id"))
                    .col(boolean("is_admin").default(false))
                    .primary_key(Index::create().col("tenant_id").col("pool_id").col("member_kind").col("member_id"))
                    .foreign_key(&mut tenant_fk("pool_members", "pool_id", "pools"))
                    .to_owned(),
            )
            .await?;

        let mut log = tenant_table("pool_log");
        log.col(uuid("pool_id"))
            .col(uuid("customer_id"))
            .col(string_len("action", 8))
            .col(uuid_null("user_id"))
            .col(uuid_null("actor_id"))
            .col(string_len_null("reason", 200))
            .col(timestamp_with_time_zone("at"))
            .foreign_key(&mut tenant_fk("pool_log", "pool_id", "pools"))
            .foreign_key(&mut tenant_fk("pool_log", "customer_id", "customers"));
        manager.create_table(log).await?;
        for (name, columns) in [
            ("ix_pool_log_claims", &["tenant_id", "pool_id", "user_id", "action", "at"][..]),
            ("ix_pool_log_customer", &["tenant_id", "customer_id", "at"][..]),
        ] {
            manager.create_index(index(name, "pool_log", columns)).await?;
        }

        // SQLite adds one column per ALTER TABLE.
        for column in [
            uuid_null("pool_id"),
            timestamp_with_time_zone_null("pool_entered_at"),
            string_len_null("pool_action", 8),
            string_len_null("pool_reason", 200),
            uuid_null("previous_owner_id"),
            timestamp_with_time_zone_null("owner_received_at"),
            boolean("locked").default(false).to_owned(),
        ] {
            let mut column = column;
            manager.alter_table(Table::alter().table("customers").add_column(&mut column).to_owned()).await?;
        }
        // A pool's waiting customers, newest first; only pooled rows are indexed.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS ix_customers_pool \
                 ON customers (tenant_id, pool_id, pool_entered_at, id) WHERE pool_id IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS ix_customers_pool").await?;
        for column in [
            "pool_id",
            "pool_entered_at",
            "pool_action",
            "pool_reason",
            "previous_owner_id",
            "owner_received_at",
            "locked",
        ] {
            manager.alter_table(Table::alter().table("customers").drop_column(column).to_owned()).await?;
        }
        for table in ["pool_log", "pool_members", "pools"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
