//! The platform every module stands on: the tenant, the organisation, authentication, roles and permissions, API keys, the change log and settings.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod org;
pub mod org_mutation;
pub mod settings;
