//! Approvals, contracts, receivables and invoices over GraphQL.

use async_graphql::{Context, ID, OutputType};
use chrono::NaiveDate;
use guanxi_domain::platform::access::{Actor, Permission};
use guanxi_store::finance::DocumentFilter;
use guanxi_store::page::Direction;

use crate::graphql::context::{require, state};
use crate::graphql::customers::customer::CUSTOMER;
use crate::graphql::error::ApiResult;
use crate::graphql::relay::{Conn, expect_id, listed, page_request};
use crate::graphql::shared::OrderDirection;

pub mod approval;
pub mod commission;
pub mod commission_statement;
pub mod contract;
pub mod contract_upsert;
pub mod invoice;
pub mod invoice_upsert;
pub mod receipt_upsert;
pub mod receivable;

/// A store filter of a contract's documents from a list's arguments, the ids checked
/// against their kinds.
pub(crate) fn document_filter<S, G: Copy + Into<S>>(
    (contract, customer): (&Option<ID>, &Option<ID>),
    status: &Option<Vec<G>>,
    (from, to): (Option<NaiveDate>, Option<NaiveDate>),
) -> ApiResult<DocumentFilter<S>> {
    Ok(DocumentFilter {
        contract_id: contract.as_ref().map(|c| expect_id(c, contract::CONTRACT)).transpose()?,
        customer_id: customer.as_ref().map(|c| expect_id(c, CUSTOMER)).transpose()?,
        status: status.as_ref().map(|s| s.iter().map(|k| (*k).into()).collect()),
        from,
        to,
    })
}

/// One page of a contract's documents (receipts, invoice requests) the caller may see,
/// by creation time.
pub(crate) async fn document_page<R, N>(
    ctx: &Context<'_>,
    (permission, scope): (Permission, fn(&Actor) -> R::Scope),
    filter: R::Filter,
    (first, after, direction): (Option<i32>, Option<String>, OrderDirection),
    wrap: impl Fn(R::Record) -> N,
) -> ApiResult<Conn<N>>
where
    R: guanxi_store::repo::Listed<Order = Direction> + 'static,
    R::Scope: Send + Sync + 'static,
    R::Filter: Clone + Send + Sync + 'static,
    <R::Entity as guanxi_store::EntityTrait>::Model: Sync,
    N: OutputType,
{
    let actor = require(ctx, permission)?.clone();
    let request = page_request(first, after, None, None, "CREATED_AT")?;
    let query = (scope(&actor), filter, direction.into());
    listed::<R, N>(&state(ctx).db, actor.tenant_id, query, &request, wrap).await
}

/// The queries of finance, merged (one registration in the schema, which keeps the
/// merged root shallow).
#[derive(async_graphql::MergedObject, Default)]
pub struct FinanceQuery(
    approval::ApprovalQuery,
    contract::ContractQuery,
    receivable::ReceivableQuery,
    invoice::InvoiceQuery,
    commission::CommissionPlanQuery,
    commission_statement::CommissionStatementQuery,
);

/// The mutations of finance, merged.
#[derive(async_graphql::MergedObject, Default)]
pub struct FinanceMutation(
    approval::ApprovalMutation,
    contract::ContractMutation,
    contract_upsert::ContractUpsertMutation,
    receivable::ReceivableMutation,
    receipt_upsert::ReceiptUpsertMutation,
    invoice::InvoiceMutation,
    invoice_upsert::InvoiceUpsertMutation,
    commission::CommissionPlanMutation,
    commission_statement::CommissionStatementMutation,
);
