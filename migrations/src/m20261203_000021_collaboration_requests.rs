//! Collaboration requests (协作申请): when the duplicate check meets a customer someone
//! else owns (撞单), the caller may ask to work it with them. The owner side of the
//! customer (its owner, or a manager whose scope holds it) accepts — which shares the
//! customer with the requester — or declines; the requester may withdraw. One pending
//! request per customer and requester.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut requests = tenant_table("collaboration_requests");
        requests
            .col(uuid("customer_id"))
            .col(uuid("requester_id"))
            .col(string_len("access", 20))
            .col(string_len("reason", 200))
            .col(string_len("status", 20))
            .col(uuid_null("decided_by"))
            .col(timestamp_with_time_zone_null("decided_at"))
            .col(string_len_null("note", 200))
            .foreign_key(&mut tenant_fk("collaboration_requests", "customer_id", "customers"))
            .foreign_key(&mut tenant_fk("collaboration_requests", "requester_id", "users"))
            .foreign_key(&mut tenant_fk("collaboration_requests", "decided_by", "users"));
        lifecycle(&mut requests, false);
        manager.create_table(requests).await?;
        manager
            .create_index(index(
                "ix_collaboration_requests_customer",
                "collaboration_requests",
                &["tenant_id", "customer_id", "status"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_collaboration_requests_requester",
                "collaboration_requests",
                &["tenant_id", "requester_id", "created_at"],
            ))
            .await?;
        // One pending request per customer and requester (both engines take a partial index).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_collaboration_requests_pending ON collaboration_requests \
                 (tenant_id, customer_id, requester_id) WHERE status = 'PENDING'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("collaboration_requests").if_exists().to_owned()).await
    }
}
