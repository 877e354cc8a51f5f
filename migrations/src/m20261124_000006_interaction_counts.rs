//! Interaction counts for the work log: how many interactions each author recorded per
//! Shanghai day (and per month) and channel on the live customers of each owner. The work
//! log reads a year from a few thousand of these rows instead of counting a million
//! interactions; the store keeps them in step with every write, in the writing transaction.
//!
//! `owner_id` and `author_id` are never NULL, because they are part of the key: a customer
//! without owner (and an interaction without author) is counted under the nil UUID, which
//! no user has, so only a rule that sees every customer counts it, as for the records.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The interactions already stored, counted into the new table at one grain; `{period}`
/// is the SQL for the first day of the period of `i.occurred_at`.
fn backfill(backend: DbBackend, grain: &str) -> String {
    let (nobody, period) = match (backend, grain) {
        (DbBackend::Postgres, "DAY") => (
            "'00000000-0000-0000-0000-000000000000'::uuid",
            "to_char((i.occurred_at AT TIME ZONE 'UTC') + INTERVAL '8 hours', 'YYYY-MM-DD')",
        ),
        (DbBackend::Postgres, _) => (
            "'00000000-0000-0000-0000-000000000000'::uuid",
            "to_char(date_trunc('month', (i.occurred_at AT TIME ZONE 'UTC') + INTERVAL '8 hours'), 'YYYY-MM-DD')",
        ),
        (_, "DAY") => ("zeroblob(16)", "date(i.occurred_at, '+8 hours')"),
        _ => ("zeroblob(16)", "strftime('%Y-%m-01', i.occurred_at, '+8 hours')"),
    };
    format!(
        "INSERT INTO interaction_counts (tenant_id, author_id, grain, period, owner_id, channel, n) \
         SELECT i.tenant_id, COALESCE(i.author_id, {nobody}), '{grain}', {period}, COALESCE(c.owner_id, {nobody}), \
         i.channel, COUNT(*) \
         FROM interactions i JOIN customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id \
         WHERE i.deleted_at IS NULL AND c.deleted_at IS NULL GROUP BY i.tenant_id, i.author_id, {period}, c.owner_id, i.channel"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("interaction_counts")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(uuid("author_id"))
                    .col(string_len("grain", 8))
                    .col(string_len("period", 10))
                    .col(uuid("owner_id"))
                    .col(string_len("channel", 16))
                    .col(big_integer("n"))
                    .primary_key(
                        Index::create()
                            .col("tenant_id")
                            .col("author_id")
                            .col("grain")
                            .col("period")
                            .col("owner_id")
                            .col("channel"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_interaction_counts_tenant")
                            .from_tbl("interaction_counts")
                            .from_col("tenant_id")
                            .to_tbl("tenants")
                            .to_col("id"),
                    )
                    .to_owned(),
            )
            .await?;
        let backend = manager.get_database_backend();
        for grain in ["DAY", "MONTH"] {
            manager.get_connection().execute_unprepared(&backfill(backend, grain)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("interaction_counts").to_owned()).await
    }
}
