//! Guanxi's business rules, free of IO.
//!
//! This crate holds the types and decisions the rest of Guanxi leans on: typed ids,
//! validated values (emails, phone numbers, names), the permission catalogue, roles and
//! their data scopes, the organisation rules (no cycles in the department tree or the
//! management chain) and the shape of a change record. It knows nothing of databases,
//! HTTP, GraphQL or async runtimes; a test in this crate keeps it that way.

/// Declares an enum stored and sent as fixed text (`SCREAMING_SNAKE_CASE`): `ALL` (every
/// value, in declaration order), `as_str`, and `parse` (`None` for text it does not know);
/// with a Chinese label after each text, `label_zh` too. The enum's own attributes and
/// derives pass through.
macro_rules! text_enum {
    (@enum $(#[$meta:meta])* $vis:vis $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal;)* }) => {
        $(#[$meta])*
        $vis enum $name { $($(#[$vmeta])* $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)* }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some(Self::$variant),)* _ => None }
            }
        }
    };
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal, $label:literal;)* }) => {
        text_enum!(@enum $(#[$meta])* $vis $name { $($(#[$vmeta])* $variant => $text;)* });

        impl $name {
            pub fn label_zh(self) -> &'static str {
                match self { $(Self::$variant => $label,)* }
            }
        }
    };
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal;)* }) => {
        text_enum!(@enum $(#[$meta])* $vis $name { $($(#[$vmeta])* $variant => $text;)* });
    };
}

pub mod activity;
pub mod analytics;
pub mod approval;
pub mod customers;
pub mod entity;
pub mod error;
pub mod finance;
pub mod ids;
pub mod leads;
pub mod marketing;
pub mod mnemonic;
pub mod phone;
pub mod platform;
pub mod sales;
pub mod service;
pub mod sharing;
pub mod trade;

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
