//! Selling: opportunities in pipelines, the funnel, and public pools.

pub mod opportunity;
pub mod pool;
pub mod pool_mutation;
