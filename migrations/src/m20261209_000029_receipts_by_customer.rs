//! Receipts by customer, as invoices already are (`ix_invoices_customer`): the customer's
//! receipts in the 360 view and lists filtered by customer, and the customer half of every
//! receipt read through a data scope (`EXISTS` on the customer). Without it, a planner
//! without statistics (a fresh tenant's tables before autovacuum analyzes them) joins the
//! tenant's customers to a scan of all its receipts for each: a bulk call's staging read
//! of 1,000 receipts took 12.7 s at 20,000 customers; with it, each customer is an index
//! probe.

use sea_orm_migration::prelude::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [&str; 3] = ["tenant_id", "customer_id", "received_on"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index("ix_receipts_customer", "receipts", &COLUMNS)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_receipts_customer").table(Alias::new("receipts")).to_owned()).await
    }
}
