//! The integration surface, for ERP and finance integrators and the mobile app's
//! offline work: the delta feed.

pub mod feed;

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct IntegrationQuery(feed::FeedQuery);
