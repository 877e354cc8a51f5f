//! After-sales service: assets, service contracts and technicians (`asset`), work orders
//! and their moves (`work_order`), the reads over many orders (`work_order_report`), and
//! product defects (`defect`), the breach job (`sla`) and the knowledge base
//! (`knowledge`).

pub mod asset;
pub mod defect;
pub mod knowledge;
pub mod sla;
pub mod work_order;
pub mod work_order_report;
