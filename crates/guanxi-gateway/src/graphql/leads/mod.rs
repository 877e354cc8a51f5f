//! Leads over GraphQL: the `Lead` type, lists and writes (`lead`), the tenant's lead
//! settings with the scoring rules (`settings`), conversion with its report
//! (`convert`), and lead pools (`pool`).

pub mod convert;
pub mod lead;
pub mod pool;
pub mod settings;

/// The queries of leads, merged (one registration in the schema).
#[derive(async_graphql::MergedObject, Default)]
pub struct LeadQuery(lead::LeadListQuery, settings::LeadSettingsQuery, convert::ConversionQuery, pool::LeadPoolQuery);

/// The mutations of leads, merged (one registration in the schema).
#[derive(async_graphql::MergedObject, Default)]
pub struct LeadMutation(
    lead::LeadWriteMutation,
    settings::LeadSettingsMutation,
    convert::ConvertMutation,
    pool::LeadPoolMutation,
);
