//! Analytics (统计分析): every measure counted (and summed) by any dimensions in one
//! grouped statement through the caller's data scope, and the records behind any cell.

pub mod stats;
