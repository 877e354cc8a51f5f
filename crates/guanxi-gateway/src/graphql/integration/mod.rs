//! The integration surface, for ERP and finance integrators and the mobile app's
//! offline work: the delta feed, bulk upsert by external key, bulk jobs for whole
//! files, the push of queued offline work, and webhooks.

pub mod bulk;
pub mod feed;
pub mod sync;
pub mod upsert;
pub mod webhook;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct IntegrationQuery(feed::FeedQuery, webhook::WebhookQuery, bulk::BulkJobQuery);

#[derive(MergedObject, Default)]
pub struct IntegrationMutation(
    upsert::UpsertMutation,
    sync::SyncMutation,
    webhook::WebhookMutation,
    bulk::BulkJobMutation,
);
