//! Trade: the product catalogue, price policies, and the documents that sell from it
//! (quotes and sales orders), with their exact money.

pub mod document;
pub mod money;
pub mod pricing;
pub mod product;
