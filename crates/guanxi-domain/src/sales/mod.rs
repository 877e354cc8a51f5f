//! Selling: opportunities in pipelines, the funnel, the forecast, and public pools.

pub mod forecast;
pub mod opportunity;
pub mod pool;
