//! Analytics over GraphQL: `stats` (any measure by any dimensions, chart-ready, with
//! Chinese labels), `statsRecords` (the records behind a cell), `salesRanking`,
//! `customerPareto`, and customer value (RFM scores and segments, lifetime value).

pub mod customer_value;
pub mod stats;

/// The queries of analytics, merged (one registration in the schema).
#[derive(async_graphql::MergedObject, Default)]
pub struct AnalyticsQuery(stats::StatsQuery, customer_value::CustomerValueQuery);

/// The mutations of analytics, merged.
#[derive(async_graphql::MergedObject, Default)]
pub struct AnalyticsMutation(customer_value::CustomerValueMutation);
