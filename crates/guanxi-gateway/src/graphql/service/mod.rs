//! After-sales service over GraphQL: assets, service contracts and technicians (`asset`),
//! work orders (`work_order`, their writes and live updates in `work_order_mutation`, and
//! statistics in `work_order_stats`).

pub mod asset;
pub mod work_order;
pub mod work_order_mutation;
pub mod work_order_stats;
