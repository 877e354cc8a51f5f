//! Trade over GraphQL: the product catalogue, price policies and price resolution,
//! quotes and sales orders.

pub mod deal;
pub mod document;
pub mod order;
pub mod order_upsert;
pub mod product;
pub mod product_upsert;
pub mod quote;

/// The queries of trade, merged (one registration in the schema, which keeps the
/// merged root shallow).
#[derive(async_graphql::MergedObject, Default)]
pub struct TradeQuery(product::ProductQuery, quote::QuoteQuery, order::OrderQuery);

/// The mutations of trade, merged.
#[derive(async_graphql::MergedObject, Default)]
pub struct TradeMutation(
    product::ProductMutation,
    product_upsert::ProductUpsertMutation,
    quote::QuoteMutation,
    order::OrderMutation,
    order_upsert::OrderUpsertMutation,
    deal::DealMutation,
);
