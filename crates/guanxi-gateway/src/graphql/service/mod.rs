//! After-sales service over GraphQL: assets, service contracts and technicians (`asset`),
//! work orders (`work_order`, their writes and live updates in `work_order_mutation`, and
//! statistics in `work_order_stats`), product defects (`defect`), and the service
//! levels their deadlines are counted in (`sla`), and the knowledge base (`knowledge`).

pub mod asset;
pub mod defect;
pub mod knowledge;
pub mod sla;
pub mod work_order;
pub mod work_order_mutation;
pub mod work_order_stats;
