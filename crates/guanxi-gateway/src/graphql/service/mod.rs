//! After-sales service over GraphQL: assets, service contracts and technicians (`asset`),
//! work orders (`work_order`, their writes and live updates in `work_order_mutation`, and
//! statistics in `work_order_stats`), product defects (`defect`), and the service
//! levels their deadlines are counted in (`sla`), the knowledge base (`knowledge`), the
//! technician's check-ins at orders (`on_site`), and the customer's own channel
//! (`portal`).

pub mod asset;
pub mod defect;
pub mod knowledge;
pub mod on_site;
pub mod portal;
pub mod sla;
pub mod work_order;
pub mod work_order_mutation;
pub mod work_order_stats;

/// The queries of after-sales service, merged (one registration in the schema, which keeps the
/// merged root shallow).
#[derive(async_graphql::MergedObject, Default)]
pub struct ServiceQuery(
    asset::AssetQuery,
    work_order::WorkOrderQuery,
    work_order_stats::WorkOrderStatsQuery,
    defect::DefectQuery,
    sla::SlaQuery,
    knowledge::KnowledgeQuery,
    portal::PortalTokenQuery,
    portal::PortalQuery,
);

/// The mutations of after-sales service, merged.
#[derive(async_graphql::MergedObject, Default)]
pub struct ServiceMutation(
    asset::AssetMutation,
    work_order_mutation::WorkOrderMutation,
    defect::DefectMutation,
    sla::SlaMutation,
    knowledge::KnowledgeMutation,
    on_site::OnSiteMutation,
    portal::PortalTokenMutation,
    portal::PortalMutation,
);

/// The subscriptions of after-sales service, merged.
#[derive(async_graphql::MergedSubscription, Default)]
pub struct ServiceSubscription(work_order_mutation::WorkOrderSubscription, portal::PortalSubscription);
