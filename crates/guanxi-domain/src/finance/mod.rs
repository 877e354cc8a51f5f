//! Contracts and the money they bring in: `contract` (fields, checks and the state
//! machine), `receivable` (installment plans, receipts and their allocation, aging),
//! `invoice` (billing profiles and invoice requests).

pub mod contract;
pub mod invoice;
pub mod receivable;
