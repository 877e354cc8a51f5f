//! Selling: opportunities in pipelines, the funnel, and public pools.

pub mod forecast;
pub mod opportunity;
pub mod pipeline;
pub mod pool;
pub mod pool_reclaim;
