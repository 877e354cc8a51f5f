//! The platform every module stands on: the tenant, the organisation, authentication, roles and permissions, API keys, the change log and settings.

pub mod api_key;
pub mod audit;
pub mod auth;
pub mod bulk;
pub mod custom_field;
pub mod department;
pub mod external_key;
pub mod idempotency;
pub mod jobs;
pub mod role;
pub mod sequence;
pub mod tenant;
pub mod upsert;
pub mod user;
pub mod webhook;
