//! After-sales service: assets, service contracts and technicians (`asset`), work orders
//! and their moves (`work_order`), edits to their request (`work_order_edit`), the reads over many orders (`work_order_report`), and
//! product defects (`defect`), the breach job (`sla`), the knowledge base (`knowledge`),
//! the customer's own channel (`portal`) and technicians' check-ins at orders
//! (`field_work`).

pub mod asset;
pub mod defect;
pub mod field_work;
pub mod knowledge;
pub mod portal;
pub mod sla;
pub mod work_order;
pub mod work_order_edit;
pub mod work_order_report;
