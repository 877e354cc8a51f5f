//! Contracts and the money they bring in: `contract` (fields, checks and the state
//! machine), `receivable` (installment plans, receipts and their allocation, aging).

pub mod contract;
pub mod receivable;
