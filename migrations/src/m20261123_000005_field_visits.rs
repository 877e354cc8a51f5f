//! Field sales: attachments (photos), visit plans and check-ins.

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
                    .table("attachments")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(uuid("id"))
                    .col(uuid("uploaded_by"))
                    .col(string_len("file_name", 200))
                    .col(string_len("content_type", 100))
                    .col(big_integer("size"))
                    .col(string_len("sha256", 64))
                    .col(string_len("storage_key", 200))
                    .col(string_len_null("attached_type", 40))
                    .col(uuid_null("attached_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("tenant_id").col("id"))
                    .foreign_key(&mut tenant_fk("attachments", "uploaded_by", "users"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_attachments_attached",
                "attachments",
                &["tenant_id", "attached_type", "attached_id"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("visit_plans")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(uuid("id"))
                    .col(uuid("customer_id"))
                    .col(uuid("owner_id"))
                    .col(string_len("period", 8))
                    .col(integer("visits"))
                    .col(integer("version").default(1))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("deleted_at"))
                    .primary_key(Index::create().col("tenant_id").col("id"))
                    .foreign_key(&mut tenant_fk("visit_plans", "customer_id", "customers"))
                    .foreign_key(&mut tenant_fk("visit_plans", "owner_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_visit_plans_customer", "visit_plans", &["tenant_id", "customer_id"])).await?;
        manager
            .create_table(
                Table::create()
                    .table("check_ins")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(uuid("id"))
                    .col(uuid("customer_id"))
                    .col(uuid("user_id"))
                    .col(uuid_null("event_id"))
                    .col(uuid_null("interaction_id"))
                    .col(uuid_null("check_in_id"))
                    .col(string_len("kind", 16))
                    .col(timestamp_with_time_zone("device_time"))
                    .col(timestamp_with_time_zone("server_time"))
                    .col(double("latitude"))
                    .col(double("longitude"))
                    .col(double_null("accuracy_meters"))
                    .col(double_null("distance_meters"))
                    .col(boolean("far").default(false))
                    .col(json_binary("photo_ids"))
                    .col(text_null("note"))
                    .primary_key(Index::create().col("tenant_id").col("id"))
                    .foreign_key(&mut tenant_fk("check_ins", "customer_id", "customers"))
                    .foreign_key(&mut tenant_fk("check_ins", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_check_ins_user", "check_ins", &["tenant_id", "user_id", "server_time"])).await?;
        manager
            .create_index(index("ix_check_ins_customer", "check_ins", &["tenant_id", "customer_id", "server_time"]))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["check_ins", "visit_plans", "attachments"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
