//! Trade: the product catalogue, price policies, quotes and sales orders, and the lines
//! they (and deals) hold.

pub mod deal_lines;
pub mod document;
pub mod lines;
pub mod order;
pub mod order_upsert;
pub mod pricing;
pub mod pricing_upsert;
pub mod product;
pub mod product_upsert;
pub mod quote;
