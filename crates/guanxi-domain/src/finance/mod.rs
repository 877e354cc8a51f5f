//! Contracts and the money they bring in: `contract` (fields, checks and the state
//! machine), `receivable` (installment plans, receipts and their allocation, aging),
//! `invoice` (billing profiles and invoice requests), `commission` (plans, their
//! arithmetic and statements) with the `formula` language plans may be written in.

pub mod commission;
pub mod contract;
pub mod formula;
pub mod invoice;
pub mod receivable;
