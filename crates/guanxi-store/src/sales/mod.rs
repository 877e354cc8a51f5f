//! Selling: opportunities in pipelines, the funnel, the forecast, and public pools of customers and leads.

pub mod forecast;
pub mod opportunity;
pub mod pipeline;
pub mod pool;
pub mod pool_move;
pub mod pool_reclaim;
