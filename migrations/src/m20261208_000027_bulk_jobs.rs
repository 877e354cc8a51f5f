//! Bulk jobs (批量导入任务). `bulk_jobs` holds each job: the kind it upserts, the source of
//! its keys, who runs it (the user, and the API key it was created with), its state and
//! its running counts. `bulk_job_batches` holds the uploaded file cut into batches of up
//! to 1,000 rows, each leased to one replica while it runs and marked done in the same
//! transaction that adds its counts to the job, so a batch counts once however often it is
//! tried. `bulk_job_failures` keeps each failed row with its errors and the row as
//! uploaded, for the failures file.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut jobs = tenant_table("bulk_jobs");
        jobs.col(string_len("kind", 20))
            .col(string_len("format", 10))
            .col(string_len("source", 40))
            .col(boolean("confirm_duplicates"))
            .col(string_len("state", 20))
            .col(uuid("created_by"))
            .col(uuid_null("api_key_id"))
            .col(json_binary("columns"))
            .col(big_integer("total_rows").default(0))
            .col(integer("batch_count").default(0))
            .col(big_integer("processed_rows").default(0))
            .col(big_integer("created_rows").default(0))
            .col(big_integer("updated_rows").default(0))
            .col(big_integer("unchanged_rows").default(0))
            .col(big_integer("failed_rows").default(0))
            .col(string_len_null("error", 500))
            .col(timestamp_with_time_zone_null("uploaded_at"))
            .col(timestamp_with_time_zone_null("finished_at"))
            .foreign_key(&mut tenant_fk("bulk_jobs", "created_by", "users"));
        lifecycle(&mut jobs, false);
        manager.create_table(jobs).await?;

        let batches = Table::create()
            .table("bulk_job_batches")
            .if_not_exists()
            .col(uuid("tenant_id"))
            .col(uuid("job_id"))
            .col(integer("batch_no"))
            .col(big_integer("first_row"))
            .col(integer("row_count"))
            .col(json_binary("rows"))
            .col(integer("attempts").default(0))
            .col(timestamp_with_time_zone_null("lease_until"))
            .col(uuid_null("lease_token"))
            .col(timestamp_with_time_zone_null("done_at"))
            .primary_key(Index::create().col("tenant_id").col("job_id").col("batch_no"))
            .foreign_key(&mut tenant_fk("bulk_job_batches", "job_id", "bulk_jobs"))
            .to_owned();
        manager.create_table(batches).await?;

        let failures = Table::create()
            .table("bulk_job_failures")
            .if_not_exists()
            .col(uuid("tenant_id"))
            .col(uuid("job_id"))
            .col(big_integer("row_no"))
            .col(string_len_null("external_id", 200))
            .col(text("error"))
            .col(json_binary("record"))
            .primary_key(Index::create().col("tenant_id").col("job_id").col("row_no"))
            .foreign_key(&mut tenant_fk("bulk_job_failures", "job_id", "bulk_jobs"))
            .to_owned();
        manager.create_table(failures).await?;

        let db = manager.get_connection();
        for statement in [
            // The runners' queue: the batches not yet done, oldest job first.
            "CREATE INDEX ix_bulk_job_batches_pending ON bulk_job_batches (job_id, batch_no) WHERE done_at IS NULL",
            // A creator's jobs, newest first.
            "CREATE INDEX ix_bulk_jobs_creator ON bulk_jobs (tenant_id, created_by, created_at, id)",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["bulk_job_failures", "bulk_job_batches", "bulk_jobs"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
