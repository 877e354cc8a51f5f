//! Lead pools (线索公海): leads wait in the same public pools as customers, under the same
//! members, caps and cool-down. Each lead gets the pool it waits in, who owned it before
//! and since when its owner has it (the reclaim rules count from there); the pools' log
//! of lead claims, releases, reclaims and assignments is `lead_pool_log`, shaped as
//! `pool_log` is for customers.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [&str; 6] =
    ["pool_id", "pool_entered_at", "pool_action", "pool_reason", "previous_owner_id", "owner_received_at"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut log = tenant_table("lead_pool_log");
        log.col(uuid("pool_id"))
            .col(uuid("lead_id"))
            .col(string_len("action", 8))
            .col(uuid_null("user_id"))
            .col(uuid_null("actor_id"))
            .col(string_len_null("reason", 200))
            .col(timestamp_with_time_zone("at"))
            .foreign_key(&mut tenant_fk("lead_pool_log", "pool_id", "pools"))
            .foreign_key(&mut tenant_fk("lead_pool_log", "lead_id", "leads"));
        manager.create_table(log).await?;
        for (name, columns) in [
            ("ix_lead_pool_log_claims", &["tenant_id", "pool_id", "user_id", "action", "at"][..]),
            ("ix_lead_pool_log_lead", &["tenant_id", "lead_id", "at"][..]),
        ] {
            manager.create_index(index(name, "lead_pool_log", columns)).await?;
        }

        // SQLite adds one column per ALTER TABLE.
        for column in [
            uuid_null(COLUMNS[0]),
            timestamp_with_time_zone_null(COLUMNS[1]),
            string_len_null(COLUMNS[2], 8),
            string_len_null(COLUMNS[3], 200),
            uuid_null(COLUMNS[4]),
            timestamp_with_time_zone_null(COLUMNS[5]),
        ] {
            let mut column = column;
            manager.alter_table(Table::alter().table("leads").add_column(&mut column).to_owned()).await?;
        }
        // A pool's waiting leads, newest first; only pooled rows are indexed.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS ix_leads_pool \
                 ON leads (tenant_id, pool_id, pool_entered_at, id) WHERE pool_id IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS ix_leads_pool").await?;
        for column in COLUMNS {
            manager.alter_table(Table::alter().table("leads").drop_column(column).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table("lead_pool_log").if_exists().to_owned()).await?;
        Ok(())
    }
}
