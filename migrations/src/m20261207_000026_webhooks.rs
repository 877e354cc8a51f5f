//! Webhooks (推送). `webhook_endpoints` holds each registered receiver: its URL, the kinds
//! of record it is sent, the user it receives as, its signing secrets (the previous one
//! kept while a rotation overlaps), its in-flight bound, whether it is active, and how far
//! into the tenant's change log it has been given deliveries (`cursor_seq`): the change
//! log, written in each write's own transaction, is the outbox. `webhook_deliveries` is
//! one message per change and endpoint, retried with backoff until it is delivered or
//! dead-lettered, and leased while it is attempted so that one replica attempts it at a
//! time; `webhook_attempts` keeps every attempt. The built-in admin role gets
//! `webhook.manage`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const ROLE_GRANTS: RoleGrants = &[("admin", &["webhook.manage"], "ALL")];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut endpoints = tenant_table("webhook_endpoints");
        endpoints
            .col(string_len("url", 500))
            .col(string_len_null("description", 200))
            .col(json_binary("kinds"))
            .col(uuid("user_id"))
            .col(string_len("secret", 100))
            .col(string_len_null("previous_secret", 100))
            .col(timestamp_with_time_zone_null("previous_secret_until"))
            .col(integer("max_in_flight"))
            .col(string_len("status", 20))
            .col(string_len_null("disabled_reason", 200))
            .col(timestamp_with_time_zone_null("disabled_at"))
            .col(timestamp_with_time_zone_null("failing_since"))
            .col(timestamp_with_time_zone_null("last_success_at"))
            .col(big_integer("cursor_seq"))
            .foreign_key(&mut tenant_fk("webhook_endpoints", "user_id", "users"));
        lifecycle(&mut endpoints, true);
        manager.create_table(endpoints).await?;

        let mut deliveries = tenant_table("webhook_deliveries");
        deliveries
            .col(uuid("endpoint_id"))
            .col(big_integer("seq"))
            .col(string_len("entity_type", 30))
            .col(uuid("entity_id"))
            .col(string_len("event_type", 60))
            .col(json_binary("payload"))
            .col(string_len("status", 20))
            .col(integer("attempts").default(0))
            .col(timestamp_with_time_zone("next_attempt_at"))
            .col(timestamp_with_time_zone("window_start"))
            .col(timestamp_with_time_zone_null("lease_until"))
            .col(uuid_null("lease_token"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone_null("delivered_at"))
            .col(integer_null("last_response_status"))
            .col(string_len_null("last_error", 300))
            .foreign_key(&mut tenant_fk("webhook_deliveries", "endpoint_id", "webhook_endpoints"));
        manager.create_table(deliveries).await?;

        let mut attempts = tenant_table("webhook_attempts");
        attempts
            .col(uuid("delivery_id"))
            .col(uuid("endpoint_id"))
            .col(integer("attempt"))
            .col(timestamp_with_time_zone("started_at"))
            .col(integer("duration_ms"))
            .col(integer_null("response_status"))
            .col(string_len_null("error", 300))
            .col(boolean("succeeded"))
            .foreign_key(&mut tenant_fk("webhook_attempts", "delivery_id", "webhook_deliveries"));
        manager.create_table(attempts).await?;

        let db = manager.get_connection();
        for statement in [
            // A change reaches an endpoint once, however many replicas fan it out.
            "CREATE UNIQUE INDEX ux_webhook_deliveries_change ON webhook_deliveries (tenant_id, endpoint_id, seq)",
            // The deliverer's queue: what is due, and each record's earliest pending message.
            "CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING'",
            "CREATE INDEX ix_webhook_deliveries_record ON webhook_deliveries (tenant_id, endpoint_id, entity_id, seq) \
             WHERE status = 'PENDING'",
            // The admin's list, newest first.
            "CREATE INDEX ix_webhook_deliveries_endpoint ON webhook_deliveries (tenant_id, endpoint_id, created_at, id)",
            "CREATE INDEX ix_webhook_attempts_delivery ON webhook_attempts (tenant_id, delivery_id, attempt)",
        ] {
            db.execute_unprepared(statement).await?;
        }
        grant_builtin_roles(manager, ROLE_GRANTS, &[]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["webhook_attempts", "webhook_deliveries", "webhook_endpoints"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
