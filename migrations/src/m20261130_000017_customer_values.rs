//! Customer value (客户价值): each paying customer's RFM figures and scores, rewritten by
//! the nightly refresh (`guanxi_store::analytics::customer_value::refresh`) in one
//! statement per tenant. Recency is the last approved receipt's day, frequency and
//! monetary count the approved receipts of the last 365 days; each score (1 to 5) is the
//! customer's quintile among the tenant's paying customers, ties sharing a score. The
//! segment (one of eight, 重要价值客户 to 一般挽留客户) is kept too, so a customer list
//! filters on it through an index. The work log's interaction counts gain an index by
//! grain and period: analytics reads a window of them for every author at once, which
//! their key (author first) does not serve.

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
                    .table("customer_values")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(uuid("customer_id"))
                    .col(date("first_received_on"))
                    .col(date("last_received_on"))
                    .col(big_integer("receipts_365"))
                    .col(big_integer("received_365_e4"))
                    .col(big_integer("lifetime_e4"))
                    .col(small_integer("recency_score"))
                    .col(small_integer("frequency_score"))
                    .col(small_integer("monetary_score"))
                    .col(string_len("segment", 20))
                    .col(timestamp_with_time_zone("computed_at"))
                    .primary_key(Index::create().col("tenant_id").col("customer_id"))
                    .foreign_key(&mut tenant_fk("customer_values", "customer_id", "customers"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_customer_values_segment",
                "customer_values",
                &["tenant_id", "segment", "customer_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_interaction_counts_period",
                "interaction_counts",
                &["tenant_id", "grain", "period"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ix_interaction_counts_period").table("interaction_counts").to_owned())
            .await?;
        manager.drop_table(Table::drop().table("customer_values").if_exists().to_owned()).await
    }
}
