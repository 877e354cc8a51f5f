//! Analytics over GraphQL: `stats` (any measure by any dimensions, chart-ready, with
//! Chinese labels), `statsRecords` (the records behind a cell), `salesRanking` and
//! `customerPareto`.

pub mod stats;

/// The queries of analytics, merged (one registration in the schema).
#[derive(async_graphql::MergedObject, Default)]
pub struct AnalyticsQuery(stats::StatsQuery);
