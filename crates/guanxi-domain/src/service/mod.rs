//! After-sales service (售后服务): `asset` (the products customers own, service contracts
//! and what covers a repair), `work_order` (the work order's fields, its state machine
//! and who may move it, fees).

pub mod asset;
pub mod work_order;
