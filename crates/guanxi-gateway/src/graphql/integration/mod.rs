//! The integration surface, for ERP and finance integrators and the mobile app's
//! offline work: the delta feed, bulk upsert by external key, and the push of queued
//! offline work.

pub mod feed;
pub mod sync;
pub mod upsert;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct IntegrationQuery(feed::FeedQuery);

#[derive(MergedObject, Default)]
pub struct IntegrationMutation(upsert::UpsertMutation, sync::SyncMutation);
