//! The platform every module stands on: the tenant, the organisation, authentication, roles and permissions, API keys, the change log, settings, webhooks and bulk jobs.

pub mod access;
pub mod auth;
pub mod bulk;
pub mod change;
pub mod custom_field;
pub mod feed;
pub mod org;
pub mod upsert;
pub mod webhook;
