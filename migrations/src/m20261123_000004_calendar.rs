//! The calendar: events (with recurrence), who is on them, and reminders.

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
                    .table("events")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(uuid("id"))
                    .col(string_len("kind", 16))
                    .col(string_len("title", 200))
                    .col(text_null("description"))
                    .col(timestamp_with_time_zone("starts_at"))
                    .col(timestamp_with_time_zone("ends_at"))
                    .col(boolean("all_day").default(false))
                    .col(string_len("time_zone", 64))
                    .col(string_len_null("recurrence", 500))
                    // When the last occurrence ends; NULL repeats for ever. Window queries use it.
                    .col(timestamp_with_time_zone_null("recurrence_ends_at"))
                    .col(uuid("owner_id"))
                    .col(uuid_null("customer_id"))
                    .col(uuid_null("contact_id"))
                    .col(uuid_null("opportunity_id"))
                    .col(string_len("status", 16))
                    .col(text_null("completion_notes"))
                    .col(json_binary("reminder_minutes"))
                    .col(integer("version").default(1))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("deleted_at"))
                    .primary_key(Index::create().col("tenant_id").col("id"))
                    .foreign_key(&mut tenant_fk("events", "owner_id", "users"))
                    .foreign_key(&mut tenant_fk("events", "customer_id", "customers"))
                    .foreign_key(&mut tenant_fk("events", "contact_id", "contacts"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_events_starts", "events", &["tenant_id", "starts_at"])).await?;
        manager.create_index(index("ix_events_customer", "events", &["tenant_id", "customer_id"])).await?;
        manager
            .create_table(
                Table::create()
                    .table("event_assignees")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(uuid("event_id"))
                    .col(uuid("user_id"))
                    .primary_key(Index::create().col("tenant_id").col("event_id").col("user_id"))
                    .foreign_key(&mut tenant_fk("event_assignees", "event_id", "events"))
                    .foreign_key(&mut tenant_fk("event_assignees", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_event_assignees_user", "event_assignees", &["tenant_id", "user_id", "event_id"]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("reminders")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(uuid("id"))
                    .col(uuid("event_id"))
                    .col(uuid("user_id"))
                    .col(timestamp_with_time_zone("occurrence_at"))
                    .col(timestamp_with_time_zone("remind_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("read_at"))
                    .primary_key(Index::create().col("tenant_id").col("id"))
                    .foreign_key(&mut tenant_fk("reminders", "event_id", "events"))
                    .foreign_key(&mut tenant_fk("reminders", "user_id", "users"))
                    .to_owned(),
            )
            .await?;
        // One reminder per event, person, occurrence and offset, however many jobs race.
        manager
            .create_index(
                index(
                    "ux_reminders_once",
                    "reminders",
                    &["tenant_id", "event_id", "user_id", "occurrence_at", "remind_at"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_reminders_user", "reminders", &["tenant_id", "user_id", "created_at"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["reminders", "event_assignees", "events"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
