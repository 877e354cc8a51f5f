//! Daily interaction counts for the work log: how many interactions each author recorded
//! per Shanghai day and channel on the live customers of each owner. The work log reads a
//! year from a few thousand of these rows instead of counting a million interactions; the
//! store keeps them in step with every write, in the writing transaction.
//!
//! `owner_id` and `author_id` are never NULL, because they are part of the key: a customer
//! without owner (and an interaction without author) is counted under the nil UUID, which
//! no user has, so only a rule that sees every customer counts it, as for the records.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The interactions already stored, counted into the new table.
const BACKFILL_SQLITE: &str = "INSERT INTO interaction_day_counts (tenant_id, author_id, day, owner_id, channel, n) \
    SELECT i.tenant_id, COALESCE(i.author_id, zeroblob(16)), date(i.occurred_at, '+8 hours'), \
    COALESCE(c.owner_id, zeroblob(16)), i.channel, COUNT(*) \
    FROM interactions i JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id \
    WHERE i.deleted_at IS NULL AND c.deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5";

const BACKFILL_POSTGRES: &str = "INSERT INTO interaction_day_counts (tenant_id, author_id, day, owner_id, channel, n) \
    SELECT i.tenant_id, COALESCE(i.author_id, '00000000-0000-0000-0000-000000000000'::uuid), \
    to_char((i.occurred_at AT TIME ZONE 'UTC') + INTERVAL '8 hours', 'YYYY-MM-DD'), \
    COALESCE(c.owner_id, '00000000-0000-0000-0000-000000000000'::uuid), i.channel, COUNT(*) \
    FROM interactions i JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id \
    WHERE i.deleted_at IS NULL AND c.deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("interaction_day_counts")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(uuid("author_id"))
                    .col(string_len("day", 10))
                    .col(uuid("owner_id"))
                    .col(string_len("channel", 16))
                    .col(big_integer("n"))
                    .primary_key(
                        Index::create().col("tenant_id").col("author_id").col("day").col("owner_id").col("channel"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_interaction_day_counts_tenant")
                            .from_tbl("interaction_day_counts")
                            .from_col("tenant_id")
                            .to_tbl("tenants")
                            .to_col("id"),
                    )
                    .to_owned(),
            )
            .await?;
        let backfill = match manager.get_database_backend() {
            sea_orm_migration::sea_orm::DbBackend::Postgres => BACKFILL_POSTGRES,
            _ => BACKFILL_SQLITE,
        };
        manager.get_connection().execute_unprepared(backfill).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("interaction_day_counts").to_owned()).await
    }
}
