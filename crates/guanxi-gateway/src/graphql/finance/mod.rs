//! Approvals, contracts and receivables over GraphQL.

pub mod approval;
pub mod contract;
pub mod invoice;
pub mod receivable;
