//! A deal's product lines over GraphQL: `Opportunity.lines` and `setOpportunityLines`.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, InputObject, Object};
use guanxi_domain::platform::access::Permission;
use guanxi_domain::trade::document::Line;
use guanxi_domain::trade::money::Places;
use uuid::Uuid;

use super::document::{DocumentLine, LineInput, loaders, store_lines, wrap_lines};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::loaders::{ScopedLoader, opportunity_scope};
use crate::graphql::mutation::write_by_id;
use crate::graphql::sales::opportunity::{OPPORTUNITY, OpportunityPayload};

/// The lines of a deal (whose visibility the caller already checked).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DealLinesKey(pub Uuid);

impl Loader<DealLinesKey> for ScopedLoader {
    type Value = Vec<Line>;
    type Error = ApiError;

    async fn load(&self, keys: &[DealLinesKey]) -> Result<HashMap<DealLinesKey, Vec<Line>>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut found =
            guanxi_store::trade::deal_lines::lines_of(self.db.connection(), self.actor.tenant_id, &ids).await?;
        Ok(keys.iter().map(|k| (*k, found.remove(&k.0).unwrap_or_default())).collect())
    }
}

/// A deal's product lines, loaded with its page's siblings (amounts in fen).
pub async fn deal_lines(ctx: &Context<'_>, id: Uuid) -> ApiResult<Vec<DocumentLine>> {
    let lines = loaders(ctx)?.load_one(DealLinesKey(id)).await?.unwrap_or_default();
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
