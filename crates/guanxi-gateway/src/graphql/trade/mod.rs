//! Trade over GraphQL: the product catalogue, price policies and price resolution,
//! quotes and sales orders.

pub mod deal;
pub mod document;
pub mod order;
pub mod product;
pub mod quote;
