//! An upsert's key lookup (`tenant, kind, source, external id IN …`) must probe the
//! primary key. The index that finds a record's keys led with `(tenant_id, entity_type)`
//! too, and on a table whose statistics still showed it small (the first import into a
//! fresh database), PostgreSQL read every key of the kind through it and compared each
//! with the call's 1,000 keys: about a second per call. Leading with `record_id` leaves
//! the lookup one index to use and serves the record's keys as before.

use sea_orm_migration::prelude::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS ix_external_keys_record").await?;
        manager
            .create_index(index("ix_external_keys_record", "external_keys", &["tenant_id", "record_id", "entity_type"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX IF EXISTS ix_external_keys_record").await?;
        manager
            .create_index(index("ix_external_keys_record", "external_keys", &["tenant_id", "entity_type", "record_id"]))
            .await
    }
}
