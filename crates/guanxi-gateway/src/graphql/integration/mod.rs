//! The integration surface, for ERP and finance integrators and the mobile app's
//! offline work: the delta feed and bulk upsert by external key.

pub mod feed;
pub mod upsert;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct IntegrationQuery(feed::FeedQuery);

#[derive(MergedObject, Default)]
pub struct IntegrationMutation(upsert::UpsertMutation);
