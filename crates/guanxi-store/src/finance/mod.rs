//! Approvals, contracts and receivables.

pub mod approval;
pub mod contract;
pub mod decide;
pub mod receivable;
