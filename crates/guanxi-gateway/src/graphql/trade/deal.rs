//! A deal's product lines over GraphQL: `Opportunity.lines` and `setOpportunityLines`.

use async_graphql::{Context, ID, InputObject, Object};
use guanxi_domain::platform::access::Permission;
use guanxi_domain::trade::money::Places;
use uuid::Uuid;

use super::document::{DocumentLine, LineInput, store_lines, wrap_lines};
use crate::graphql::error::ApiResult;
use crate::graphql::loaders::opportunity_scope;
use crate::graphql::mutation::write_by_id;
use crate::graphql::sales::opportunity::{OPPORTUNITY, OpportunityPayload};

/// A deal's product lines, loaded with its page's siblings (amounts in fen).
pub async fn deal_lines(ctx: &Context<'_>, id: Uuid) -> ApiResult<Vec<DocumentLine>> {
    let lines = super::document::lines_of(ctx, guanxi_store::trade::lines::Parent::Opportunity(id)).await?;
    Ok(wrap_lines(lines, Places::default()))
}

#[derive(InputObject)]
pub struct SetOpportunityLinesInput {
    pub id: ID,
    pub expected_version: i32,
    /// Every line as it should be; none leaves the amount to be edited by hand again.
    pub lines: Vec<LineInput>,
}

#[derive(Default)]
pub struct DealMutation;

#[Object]
impl DealMutation {
    /// Replaces an open deal's product lines, priced for its customer; with lines, the
    /// deal's amount is their total (tax included), in the same transaction.
    async fn set_opportunity_lines(
        &self,
        ctx: &Context<'_>,
        input: SetOpportunityLinesInput,
    ) -> ApiResult<OpportunityPayload> {
        let lines = match store_lines(&input.lines) {
            Ok(lines) => lines,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let version = input.expected_version;
        write_by_id(
            ctx,
            Permission::OpportunityWrite,
            (&input.id, OPPORTUNITY),
            opportunity_scope,
            move |tx, author, scope, id| {
                Box::pin(async move {
                    guanxi_store::trade::deal_lines::set_lines(tx, &author, scope, (id, version), &lines).await
                })
            },
        )
        .await
    }
}
