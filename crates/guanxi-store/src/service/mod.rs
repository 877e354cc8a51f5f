//! After-sales service: assets, service contracts and technicians (`asset`), work orders
//! and their moves (`work_order`), and the reads over many orders (`work_order_report`).

pub mod asset;
pub mod work_order;
pub mod work_order_report;
