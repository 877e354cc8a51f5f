//! Interactions (交流记录): one recorded contact with a customer, typed in by a rep or
//! ingested from an outside channel by `(source, external_id)`.

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
                    .table("interactions")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(uuid("id"))
                    .col(uuid("customer_id"))
                    .col(uuid_null("author_id"))
                    .col(string_len("channel", 16))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(text("content"))
                    .col(string_len_null("outcome", 200))
                    .col(timestamp_with_time_zone_null("next_follow_up_at"))
                    .col(json_binary("contact_ids"))
                    .col(string_len("source", 40))
                    .col(string_len_null("external_id", 200))
                    .col(double_null("latitude"))
                    .col(double_null("longitude"))
                    .col(json_binary("attachments"))
                    .col(integer("version").default(1))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("deleted_at"))
                    .primary_key(Index::create().col("tenant_id").col("id"))
                    .foreign_key(&mut tenant_fk("interactions", "customer_id", "customers"))
                    .foreign_key(&mut tenant_fk("interactions", "author_id", "users"))
                    .to_owned(),
            )
            .await?;
        // NULL external ids never collide, so typed-in records need no partial index.
        manager
            .create_index(
                index("ux_interactions_external", "interactions", &["tenant_id", "source", "external_id"])
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_interactions_customer",
                "interactions",
                &["tenant_id", "customer_id", "occurred_at", "id"],
            ))
            .await?;
        manager
            .create_index(index("ix_interactions_author", "interactions", &["tenant_id", "author_id", "occurred_at"]))
            .await?;
        manager
            .create_index(index("ix_interactions_occurred", "interactions", &["tenant_id", "occurred_at", "id"]))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("interactions").if_exists().to_owned()).await
    }
}
