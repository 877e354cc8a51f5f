//! Interactions (交流记录): one recorded contact with a customer, typed in by a rep or
//! ingested from an outside channel by `(source, external_id)`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn index(name: &str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table("interactions").if_not_exists();
    for column in columns {
        index.col(*column);
    }
    index.to_owned()
}

fn tenant_fk(column: &'static str, target: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_interactions_{column}"))
        .from_tbl("interactions")
        .from_col("tenant_id")
        .from_col(column)
        .to_tbl(target)
        .to_col("tenant_id")
        .to_col("id")
        .to_owned()
}

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
                    .foreign_key(&mut tenant_fk("customer_id", "customers"))
                    .foreign_key(&mut tenant_fk("author_id", "users"))
                    .to_owned(),
            )
            .await?;
        // NULL external ids never collide, so typed-in records need no partial index.
        manager
            .create_index(
                index("ux_interactions_external", &["tenant_id", "source", "external_id"]).unique().to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_interactions_customer", &["tenant_id", "customer_id", "occurred_at", "id"]))
            .await?;
        manager.create_index(index("ix_interactions_author", &["tenant_id", "author_id", "occurred_at"])).await?;
        manager.create_index(index("ix_interactions_occurred", &["tenant_id", "occurred_at", "id"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("interactions").if_exists().to_owned()).await
    }
}
