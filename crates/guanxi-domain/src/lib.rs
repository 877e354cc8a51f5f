//! Guanxi's business rules, free of IO.
//!
//! This crate holds the types and decisions the rest of Guanxi leans on: typed ids,
//! validated values (emails, phone numbers, names), the permission catalogue, roles and
//! their data scopes, the organisation rules (no cycles in the department tree or the
//! management chain) and the shape of a change record. It knows nothing of databases,
//! HTTP, GraphQL or async runtimes; a test in this crate keeps it that way.

pub mod access;
pub mod auth;
pub mod calendar;
pub mod change;
pub mod contact;
pub mod custom_field;
pub mod customer;
pub mod entity;
pub mod error;
pub mod field;
pub mod ids;
pub mod interaction;
pub mod opportunity;
pub mod org;
pub mod phone;
pub mod pool;

pub use error::{ErrorCode, FieldError, Invalid};

#[cfg(test)]
mod purity {
    /// The domain crate stays free of IO and frameworks: its manifest names none of them.
    #[test]
    fn the_domain_crate_depends_on_no_database_web_or_async_framework() {
        let manifest = include_str!("../Cargo.toml");
        let deps = manifest.split("[dependencies]").nth(1).unwrap_or_default();
        let deps = deps.split("\n[").next().unwrap_or_default();
        for forbidden in ["sea-orm", "sea_orm", "sqlx", "async-graphql", "axum", "tokio", "hyper", "reqwest"] {
            let named = deps.lines().any(|line| {
                let name = line.split(['=', '.', ' ']).next().unwrap_or_default().trim();
                name == forbidden
            });
            assert!(!named, "guanxi-domain must not depend on {forbidden}");
        }
        assert!(deps.contains("uuid"), "the check reads the dependency table: {deps}");
    }
}
