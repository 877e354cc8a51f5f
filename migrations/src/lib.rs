//! Guanxi's schema, as an ordered list of migrations.
//!
//! One file per step, named `mYYYYMMDD_NNNNNN_what`; a landed migration is never edited,
//! a later one changes what an earlier one made. Every table carries `tenant_id`, and
//! every primary, unique and foreign key starts with it, so the schema can be sharded by
//! tenant on a distributed PostgreSQL. `tenants` is the one reference table.

pub use sea_orm_migration::prelude::*;

mod helpers;
mod m20261123_000001_spine;
mod m20261123_000002_customers;
mod m20261123_000003_interactions;
mod m20261123_000004_calendar;
mod m20261123_000005_field_visits;
mod m20261124_000006_interaction_counts;
mod m20261124_000007_opportunities;
mod m20261124_000008_pools;
mod m20261129_000009_unique_tax_id;
mod m20261129_000010_mnemonic_readings;
mod m20261129_000011_trade;
mod m20261129_000012_finance;
mod m20261130_000013_invoices;
mod m20261130_000014_service;
mod m20261130_000015_portal;
mod m20261130_000016_commissions;
mod m20261130_000017_customer_values;
mod m20261201_000018_collaborators;
mod m20261202_000019_assignment_rules;
mod m20261203_000020_leads;
mod m20261203_000021_collaboration_requests;
mod m20261203_000022_forecast;
mod m20261204_000023_campaigns;
mod m20261205_000024_lead_pools;
mod m20261206_000025_external_keys;
mod m20261207_000026_webhooks;
mod m20261208_000027_bulk_jobs;
mod m20261208_000028_search_token_checks;
mod m20261209_000029_receipts_by_customer;
mod m20261210_000030_search_token_ranges;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_spine::Migration),
            Box::new(m20261123_000002_customers::Migration),
            Box::new(m20261123_000003_interactions::Migration),
            Box::new(m20261123_000004_calendar::Migration),
            Box::new(m20261123_000005_field_visits::Migration),
            Box::new(m20261124_000006_interaction_counts::Migration),
            Box::new(m20261124_000007_opportunities::Migration),
            Box::new(m20261124_000008_pools::Migration),
            Box::new(m20261129_000009_unique_tax_id::Migration),
            Box::new(m20261129_000010_mnemonic_readings::Migration),
            Box::new(m20261129_000011_trade::Migration),
            Box::new(m20261129_000012_finance::Migration),
            Box::new(m20261130_000013_invoices::Migration),
            Box::new(m20261130_000014_service::Migration),
            Box::new(m20261130_000015_portal::Migration),
            Box::new(m20261130_000016_commissions::Migration),
            Box::new(m20261130_000017_customer_values::Migration),
            Box::new(m20261201_000018_collaborators::Migration),
            Box::new(m20261202_000019_assignment_rules::Migration),
            Box::new(m20261203_000020_leads::Migration),
            Box::new(m20261203_000021_collaboration_requests::Migration),
            Box::new(m20261203_000022_forecast::Migration),
            Box::new(m20261204_000023_campaigns::Migration),
            Box::new(m20261205_000024_lead_pools::Migration),
            Box::new(m20261206_000025_external_keys::Migration),
            Box::new(m20261207_000026_webhooks::Migration),
            Box::new(m20261208_000027_bulk_jobs::Migration),
            Box::new(m20261208_000028_search_token_checks::Migration),
            Box::new(m20261209_000029_receipts_by_customer::Migration),
            Box::new(m20261210_000030_search_token_ranges::Migration),
        ]
    }
}
