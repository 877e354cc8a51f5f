//! Analytics (统计分析): every measure counted (and summed) by any dimensions in one
//! grouped statement through the caller's data scope, the records behind any cell, and
//! each paying customer's RFM value.

pub mod customer_value;
pub mod stats;
