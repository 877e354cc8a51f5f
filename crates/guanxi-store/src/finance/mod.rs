//! Approvals, contracts, receivables and invoices.

pub mod approval;
pub mod contract;
pub mod decide;
pub mod invoice;
pub mod receivable;
