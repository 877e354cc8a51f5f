//! Marketing over GraphQL: campaigns with their members and return (`campaign`), and care
//! plans (`care`).

pub mod campaign;
pub mod care;

/// The queries of marketing, merged (one registration in the schema).
#[derive(async_graphql::MergedObject, Default)]
pub struct MarketingQuery(campaign::CampaignQuery, care::CareQuery);

/// The mutations of marketing, merged (one registration in the schema).
#[derive(async_graphql::MergedObject, Default)]
pub struct MarketingMutation(campaign::CampaignMutation, care::CareMutation);
