//! The GraphQL schema, split by business area and merged.

pub mod activity;
pub mod analytics;
pub mod context;
pub mod customers;
pub mod error;
pub mod finance;
pub mod integration;
pub mod leads;
pub mod limits;
pub mod loaders;
pub mod marketing;
pub mod mutation;
pub mod node;
pub mod platform;
pub mod relay;
pub mod sales;
pub mod service;
pub mod shared;
pub mod sharing;
pub mod trade;

use std::sync::Arc;

use async_graphql::extensions::apollo_persisted_queries::{ApolloPersistedQueries, LruCacheStorage};
use async_graphql::{Enum, MergedObject, Object, Schema, SchemaBuilder, SimpleObject};
use guanxi_domain::platform::access::{DataScope, Module, Permission};

use crate::config::Limits;
use context::AppState;

#[derive(MergedObject, Default)]
pub struct Query(
    platform::org::OrgQuery,
    customers::customer::CustomerQuery,
    customers::contact::ContactQuery,
    activity::interaction::InteractionQuery,
    sales::SalesQuery,
    sales::pool::PoolQuery,
    trade::TradeQuery,
    finance::FinanceQuery,
    service::ServiceQuery,
    analytics::AnalyticsQuery,
    sharing::SharingQuery,
    leads::LeadQuery,
    marketing::MarketingQuery,
    activity::calendar::CalendarQuery,
    activity::field::FieldQuery,
    customers::customer_csv::CustomerCsvQuery,
    platform::settings::SettingsQuery,
    platform::api_keys::ApiKeyQuery,
    integration::IntegrationQuery,
    node::NodeQuery,
    platform::audit::AuditQuery,
    MetaQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    platform::auth::AuthMutation,
    platform::org_mutation::OrgMutation,
    customers::customer_mutation::CustomerMutation,
    customers::contact::ContactMutation,
    activity::interaction::InteractionMutation,
    sales::SalesMutation,
    sales::pool_mutation::PoolMutation,
    trade::TradeMutation,
    finance::FinanceMutation,
    service::ServiceMutation,
    analytics::AnalyticsMutation,
    sharing::SharingMutation,
    leads::LeadMutation,
    marketing::MarketingMutation,
    activity::calendar::CalendarMutation,
    activity::field::FieldMutation,
    customers::customer_csv::CustomerCsvMutation,
    platform::settings::SettingsMutation,
    platform::api_keys::ApiKeyMutation,
    integration::IntegrationMutation,
);

#[derive(async_graphql::MergedSubscription, Default)]
pub struct Subscription(
    platform::audit::AuditSubscription,
    activity::calendar::CalendarSubscription,
    finance::approval::ApprovalSubscription,
    service::ServiceSubscription,
    integration::bulk::BulkJobSubscription,
);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query::default(), Mutation::default(), Subscription::default())
}

/// The persisted queries a replica keeps (parsed documents of at most
/// `limits::MAX_PERSISTED_QUERY_BYTES` of text each, least recently used out).
const PERSISTED_QUERIES: usize = 512;

/// The schema with the application's state and every limit on.
pub fn build_schema(state: Arc<AppState>) -> AppSchema {
    let limits: Limits = state.config.limits.clone();
    let mut builder = builder()
        .data(state.clone())
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(limits.max_recursive_depth)
        .limit_directives(limits.max_directives)
        .extension(limits::DepthLimit { max: limits.max_depth, introspection: limits.max_introspection_depth })
        .extension(limits::AliasLimit(limits.max_aliases))
        .extension(limits::ArgumentErrors)
        .extension(limits::GetIsReadOnly)
        .extension(limits::PersistedQueryLimit)
        // Automatic persisted queries (Apollo's protocol): a client sends a query's hash
        // instead of its text once the server has seen it. The cache is per replica; a
        // replica that lacks a hash answers PERSISTED_QUERY_NOT_FOUND and the client sends
        // the text again, so no replica ever runs a stale document.
        .extension(ApolloPersistedQueries::new(LruCacheStorage::new(PERSISTED_QUERIES)));
    if !state.config.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The SDL clients code against (`guanxi export-schema`, checked in as `schema.graphql`).
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// A Chinese (or English) label for an enum value, so clients can show what users read.
#[derive(SimpleObject)]
pub struct EnumLabel {
    /// The GraphQL enum, e.g. `Scope`.
    r#enum: String,
    /// The value, e.g. `DEPARTMENT_TREE`.
    value: String,
    label: String,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum Locale {
    ZhCn,
    EnUs,
}

#[derive(Default)]
pub struct MetaQuery;

#[Object]
impl MetaQuery {
    /// Labels for enum values and permissions, in the given locale (default zh-CN).
    async fn labels(&self, #[graphql(default_with = "Locale::ZhCn")] locale: Locale) -> Vec<EnumLabel> {
        let zh = locale == Locale::ZhCn;
        let screaming = |debug: String| -> String {
            let mut out = String::new();
            for (i, c) in debug.chars().enumerate() {
                if c.is_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_uppercase());
            }
            out
        };
        let mut labels = Vec::new();
        for scope in [
            DataScope::Own,
            DataScope::OwnAndSubordinates,
            DataScope::Department,
            DataScope::DepartmentTree,
            DataScope::All,
        ] {
            let value = screaming(format!("{scope:?}"));
            let label = if zh { scope.label_zh().to_owned() } else { value.replace('_', " ").to_lowercase() };
            labels.push(EnumLabel { r#enum: "Scope".into(), value, label });
        }
        for module in Module::ALL {
            let value = screaming(format!("{module:?}"));
            let label = if zh { module.label_zh().to_owned() } else { value.replace('_', " ").to_lowercase() };
            labels.push(EnumLabel { r#enum: "ScopeModule".into(), value, label });
        }
        use guanxi_domain::customers::customer::{CustomerStatus, CustomerType};
        for t in CustomerType::ALL {
            let label = if zh { t.label_zh().to_owned() } else { t.as_str().to_lowercase() };
            labels.push(EnumLabel { r#enum: "CustomerType".into(), value: t.as_str().into(), label });
        }
        for s in CustomerStatus::ALL {
            let label = if zh { s.label_zh().to_owned() } else { s.as_str().to_lowercase() };
            labels.push(EnumLabel { r#enum: "CustomerStatus".into(), value: s.as_str().into(), label });
        }
        for (value, zh_label) in [("ORGANIZATION", "企业客户"), ("INDIVIDUAL", "个人客户")] {
            let label = if zh { zh_label.to_owned() } else { value.to_lowercase() };
            labels.push(EnumLabel { r#enum: "CustomerKind".into(), value: value.into(), label });
        }
        for role in [
            guanxi_domain::customers::contact::DecisionRole::DecisionMaker,
            guanxi_domain::customers::contact::DecisionRole::Influencer,
            guanxi_domain::customers::contact::DecisionRole::User,
            guanxi_domain::customers::contact::DecisionRole::Gatekeeper,
            guanxi_domain::customers::contact::DecisionRole::Other,
        ] {
            let label = if zh { role.label_zh().to_owned() } else { role.as_str().to_lowercase() };
            labels.push(EnumLabel { r#enum: "DecisionRole".into(), value: role.as_str().into(), label });
        }
        for channel in guanxi_domain::activity::interaction::Channel::ALL {
            let label = if zh { channel.label_zh().to_owned() } else { channel.as_str().to_lowercase() };
            labels.push(EnumLabel { r#enum: "Channel".into(), value: channel.as_str().into(), label });
        }
        for kind in guanxi_domain::sales::opportunity::StageKind::ALL {
            let label = if zh { kind.label_zh().to_owned() } else { kind.as_str().to_lowercase() };
            labels.push(EnumLabel { r#enum: "StageKind".into(), value: kind.as_str().into(), label });
        }
        for (value, zh_label) in [("NO_FOLLOW_UP", "未跟进"), ("NO_DEAL", "未成交"), ("NOT_WON", "未赢单")] {
            let label = if zh { zh_label.to_owned() } else { value.replace('_', " ").to_lowercase() };
            labels.push(EnumLabel { r#enum: "ReclaimRuleKind".into(), value: value.into(), label });
        }
        for (value, zh_label) in [("RELEASED", "放弃"), ("RECLAIMED", "回收")] {
            let label = if zh { zh_label.to_owned() } else { value.to_lowercase() };
            labels.push(EnumLabel { r#enum: "PoolEntryKind".into(), value: value.into(), label });
        }
        for (value, zh_label) in [("ACTIVE", "在职"), ("DISABLED", "已停用")] {
            let label = if zh { zh_label.to_owned() } else { value.to_lowercase() };
            labels.push(EnumLabel { r#enum: "UserStatus".into(), value: value.into(), label });
        }
        for permission in Permission::ALL {
            let label = if zh { permission.label_zh().to_owned() } else { permission.key().to_owned() };
            labels.push(EnumLabel { r#enum: "Permission".into(), value: permission.key().into(), label });
        }
        labels
    }

    /// The server's version.
    async fn server_version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}
