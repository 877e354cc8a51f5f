//! Selling: opportunities in pipelines, the funnel, the forecast, and public pools.

pub mod forecast;
pub mod opportunity;
pub mod pool;
pub mod pool_mutation;

/// Deals and the forecast, merged (one registration in the schema).
#[derive(async_graphql::MergedObject, Default)]
pub struct SalesQuery(opportunity::OpportunityQuery, forecast::ForecastQuery);

/// Their mutations, merged.
#[derive(async_graphql::MergedObject, Default)]
pub struct SalesMutation(opportunity::OpportunityMutation, forecast::ForecastMutation);
