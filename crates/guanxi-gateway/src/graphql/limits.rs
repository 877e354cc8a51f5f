//! Request limits async-graphql does not have built in (aliases), and the typing of every
//! limit's refusal so clients get a `code` and a `reason`.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, ServerError, ServerResult, Variables};

/// Refuses documents with more than `max` aliased fields (alias batching multiplies the
/// work of one request and defeats per-request rate limits).
pub struct AliasLimit(pub usize);

struct AliasLimitExtension(usize);

impl ExtensionFactory for AliasLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AliasLimitExtension(self.0))
    }
}

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + count_aliases(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => count_aliases(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

#[async_graphql::async_trait::async_trait]
impl Extension for AliasLimitExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let in_operations: usize =
            document.operations.iter().map(|(_, op)| count_aliases(&op.node.selection_set.node)).sum();
        let in_fragments: usize = document.fragments.values().map(|f| count_aliases(&f.node.selection_set.node)).sum();
        let aliases = in_operations + in_fragments;
        if aliases > self.0 {
            let mut error =
                ServerError::new(format!("the query uses {aliases} aliases; at most {} are allowed", self.0), None);
            error.extensions = Some(limit_extensions("ALIAS_LIMIT"));
            return Err(error);
        }
        Ok(document)
    }
}

fn limit_extensions(reason: &str) -> ErrorExtensionValues {
    let mut values = ErrorExtensionValues::default();
    values.set("code", "BAD_USER_INPUT");
    values.set("reason", reason);
    values
}

/// Gives every error that has no `code` one: the limits and validation of async-graphql
/// produce plain messages, and clients branch on codes, not messages.
pub fn classify(errors: &mut [ServerError]) {
    for error in errors {
        let has_code = error.extensions.as_ref().is_some_and(|e| e.get("code").is_some());
        if has_code {
            continue;
        }
        let message = error.message.as_str();
        let reason = if message.contains("nested too deep") {
            "DEPTH_LIMIT"
        } else if message.contains("too complex") {
            "COMPLEXITY_LIMIT"
        } else if message.contains("recursion depth") {
            "RECURSION_LIMIT"
        } else if message.contains("number of directives") {
            "DIRECTIVE_LIMIT"
        } else if error.path.is_empty() {
            "GRAPHQL_VALIDATION_FAILED"
        } else {
            // An error from inside execution without a code should not exist (resolvers use
            // the error table); treat it as internal and do not echo its text.
            tracing::error!(message, "uncoded resolver error");
            error.message = "internal error".into();
            let mut values = ErrorExtensionValues::default();
            values.set("code", "INTERNAL");
            error.extensions = Some(values);
            continue;
        };
        error.extensions = Some(limit_extensions(reason));
    }
}

/// The response for a refused request (batch too large, body too large, …).
pub fn refusal(message: &str, code: &str, reason: &str) -> serde_json::Value {
    serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code, "reason": reason } }] })
}
