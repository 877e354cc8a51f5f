//! After-sales service (售后服务): `asset` (the products customers own, service contracts
//! and what covers a repair), `work_order` (the work order's fields, its state machine
//! and who may move it, fees), `defect` (product defects work orders link to), `sla` (the working
//! calendar, service-level targets and where an order stands against them), `knowledge`
//! (the knowledge base's articles and their search tokens), `portal` (the customer's own
//! channel: portal tokens and complaints).

pub mod asset;
pub mod defect;
pub mod knowledge;
pub mod portal;
pub mod sla;
pub mod work_order;
