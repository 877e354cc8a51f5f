//! Request limits async-graphql does not have built in (aliases, and a depth limit that
//! gives introspection a budget of its own), and the typing of every limit's refusal so
//! clients get a `code` and a `reason`.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, Pos, Response, ServerError, ServerResult, Value, Variables};

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

/// Refuses documents nested deeper than `max` fields, or, inside introspection
/// (`__schema`, `__type`), deeper than `introspection`. The standard introspection query of
/// graphql-js, graphql-core, GraphiQL, Apollo and the code generators nests 15 deep (a type
/// reference unwraps nine `ofType`s), deeper than any application query needs; one budget
/// for both would refuse those clients or let application queries nest as deep.
pub struct DepthLimit {
    pub max: usize,
    pub introspection: usize,
}

impl ExtensionFactory for DepthLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DepthLimitExtension { max: self.max, introspection: self.introspection })
    }
}

struct DepthLimitExtension {
    max: usize,
    introspection: usize,
}

/// The most list-valued introspection fields one path may nest: the standard queries nest
/// three (`types { fields { args } }`); each more multiplies the answer by a schema's size.
const MAX_INTROSPECTION_LISTS: usize = 3;

/// The introspection fields that answer lists.
const INTROSPECTION_LISTS: [&str; 8] =
    ["types", "fields", "args", "inputFields", "interfaces", "possibleTypes", "enumValues", "directives"];

/// How deep a selection nests, outside introspection and inside it, and how many
/// introspection lists it nests.
#[derive(Clone, Copy, Default)]
struct Depths {
    application: usize,
    introspection: usize,
    lists: usize,
}

impl Depths {
    fn max(self, other: Depths) -> Depths {
        Depths {
            application: self.application.max(other.application),
            introspection: self.introspection.max(other.introspection),
            lists: self.lists.max(other.lists),
        }
    }

    /// These depths seen from the field `name` one level further out.
    fn below(self, introspecting: bool, name: &str) -> Depths {
        let deeper = |d: usize| if d > 0 { d + 1 } else { 0 };
        if introspecting {
            let list = usize::from(INTROSPECTION_LISTS.contains(&name));
            Depths { application: 0, introspection: self.introspection + 1, lists: self.lists + list }
        } else {
            Depths { application: self.application + 1, introspection: deeper(self.introspection), lists: self.lists }
        }
    }
}

/// Measures selection sets with fragments inlined, each fragment once per mode (a fragment
/// spread a thousand times costs what one spread costs), and a cycle of fragments stops
/// where it closes (validation refuses it next).
struct DepthWalk<'a> {
    document: &'a ExecutableDocument,
    fragments: HashMap<(&'a str, bool), Depths>,
    open: Vec<&'a str>,
}

impl<'a> DepthWalk<'a> {
    fn set(&mut self, set: &'a SelectionSet, introspecting: bool) -> Depths {
        let mut depths = Depths::default();
        for item in &set.items {
            let inner = match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let inside = introspecting || (name.starts_with("__") && name != "__typename");
                    self.set(&field.node.selection_set.node, inside).below(inside, name)
                }
                Selection::InlineFragment(fragment) => self.set(&fragment.node.selection_set.node, introspecting),
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), introspecting)
                }
            };
            depths = depths.max(inner);
        }
        depths
    }

    fn fragment(&mut self, name: &'a str, introspecting: bool) -> Depths {
        if let Some(known) = self.fragments.get(&(name, introspecting)) {
            return *known;
        }
        let Some(fragment) = self.document.fragments.get(name) else { return Depths::default() };
        if self.open.contains(&name) {
            return Depths::default();
        }
        self.open.push(name);
        let depths = self.set(&fragment.node.selection_set.node, introspecting);
        self.open.pop();
        self.fragments.insert((name, introspecting), depths);
        depths
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for DepthLimitExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let depths = {
            let mut walk = DepthWalk { document: &document, fragments: HashMap::new(), open: Vec::new() };
            document
                .operations
                .iter()
                .map(|(_, op)| walk.set(&op.node.selection_set.node, false))
                .fold(Depths::default(), Depths::max)
        };
        let refused = if depths.application > self.max {
            Some(format!("the query nests {} fields deep; at most {} are allowed", depths.application, self.max))
        } else if depths.introspection > self.introspection {
            Some(format!(
                "the introspection query nests {} fields deep; at most {} are allowed",
                depths.introspection, self.introspection
            ))
        } else if depths.lists > MAX_INTROSPECTION_LISTS {
            Some(format!(
                "the introspection query nests {} lists; at most {MAX_INTROSPECTION_LISTS} are allowed",
                depths.lists
            ))
        } else {
            None
        };
        if let Some(message) = refused {
            let mut error = ServerError::new(message, None);
            error.extensions = Some(limit_extensions("DEPTH_LIMIT"));
            return Err(error);
        }
        Ok(document)
    }
}

/// Types the refusal of an argument value the schema's types refuse at execution (an `Int`
/// outside 32 bits, a negative number for a count): `BAD_USER_INPUT` with reason
/// `INVALID_ARGUMENT` and the argument's name, instead of an uncoded error. async-graphql
/// reports these with the position of the value only, so the names of the document's
/// arguments are noted by position when it is parsed.
pub struct ArgumentErrors;

impl ExtensionFactory for ArgumentErrors {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ArgumentErrorsExtension::default())
    }
}

#[derive(Default)]
struct ArgumentErrorsExtension {
    /// The request's query text, parsed again to name an argument only when one is refused
    /// (most requests never need it).
    query: std::sync::Mutex<String>,
    /// The argument names of a persisted query's document, which comes without its text.
    names: std::sync::Mutex<Option<HashMap<Pos, String>>>,
}

/// Where each argument value of a document starts, and its argument's name.
fn argument_names(document: &ExecutableDocument) -> HashMap<Pos, String> {
    let mut names = HashMap::new();
    document.operations.iter().for_each(|(_, op)| note_arguments(&op.node.selection_set.node, &mut names));
    document.fragments.values().for_each(|f| note_arguments(&f.node.selection_set.node, &mut names));
    names
}

fn note_arguments(set: &SelectionSet, names: &mut HashMap<Pos, String>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                for (name, value) in &field.node.arguments {
                    names.insert(value.pos, name.node.to_string());
                }
                note_arguments(&field.node.selection_set.node, names);
            }
            Selection::InlineFragment(fragment) => note_arguments(&fragment.node.selection_set.node, names),
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// Whether a value holds the NUL character anywhere (a string, a key, a nested item).
fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::List(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields.iter().any(|(key, v)| key.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// Where a literal argument value holding the NUL character starts, if one does.
fn literal_with_nul(document: &ExecutableDocument) -> Option<Pos> {
    fn in_set(set: &SelectionSet) -> Option<Pos> {
        set.items.iter().find_map(|item| match &item.node {
            Selection::Field(field) => field
                .node
                .arguments
                .iter()
                .find(|(_, value)| value.node.clone().into_const().is_some_and(|v| holds_nul(&v)))
                .map(|(_, value)| value.pos)
                .or_else(|| in_set(&field.node.selection_set.node)),
            Selection::InlineFragment(fragment) => in_set(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => None,
        })
    }
    document
        .operations
        .iter()
        .find_map(|(_, op)| in_set(&op.node.selection_set.node))
        .or_else(|| document.fragments.values().find_map(|f| in_set(&f.node.selection_set.node)))
}

#[async_graphql::async_trait::async_trait]
impl Extension for ArgumentErrorsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        // No text Guanxi stores may hold U+0000 (PostgreSQL cannot store it at all).
        let nul_variable = variables.iter().find(|(_, value)| holds_nul(value)).map(|(name, _)| format!("${name}"));
        // A literal can only hold it through an escape (or the raw character). A persisted
        // query comes as a document without its text: walk the document then.
        let may_hold_nul = query.is_empty() || query.contains('\0') || query.contains("\\u");
        let nul_literal = || {
            let pos = may_hold_nul.then(|| literal_with_nul(&document)).flatten()?;
            Some(argument_names(&document).remove(&pos).unwrap_or_default())
        };
        if let Some(argument) = nul_variable.or_else(nul_literal) {
            let mut error =
                ServerError::new(format!("`{argument}`: text may not contain the NUL character (U+0000)"), None);
            let mut values = limit_extensions("INVALID_ARGUMENT");
            values.set("argument", argument.trim_start_matches('$'));
            error.extensions = Some(values);
            return Err(error);
        }
        if query.is_empty() {
            // No text to parse again later: note the argument names now.
            if let Ok(mut kept) = self.names.lock() {
                *kept = Some(argument_names(&document));
            }
        } else if let Ok(mut kept) = self.query.lock() {
            query.clone_into(&mut kept);
        }
        Ok(document)
    }

    async fn execute(&self, ctx: &ExtensionContext<'_>, operation: Option<&str>, next: NextExecute<'_>) -> Response {
        let mut response = next.run(ctx, operation).await;
        let mut names: Option<HashMap<Pos, String>> = None;
        for error in &mut response.errors {
            let uncoded = error.extensions.as_ref().is_none_or(|e| e.get("code").is_none());
            let refused_by_type = ["Failed to parse", "Expected input type", "Invalid value for argument"]
                .iter()
                .any(|prefix| error.message.starts_with(prefix));
            if !uncoded || !refused_by_type {
                continue;
            }
            let names = names.get_or_insert_with(|| {
                if let Some(noted) = self.names.lock().ok().and_then(|mut n| n.take()) {
                    return noted;
                }
                let query = self.query.lock().map(|q| q.clone()).unwrap_or_default();
                async_graphql::parser::parse_query(query).map(|d| argument_names(&d)).unwrap_or_default()
            });
            let mut values = limit_extensions("INVALID_ARGUMENT");
            if let Some(name) = error.locations.first().and_then(|pos| names.get(pos)) {
                error.message = format!("argument `{name}`: {}", error.message);
                values.set("argument", name.as_str());
            }
            error.extensions = Some(values);
        }
        response
    }
}

/// Marks a request that came as an HTTP GET (a persisted query by its hash, or a query in
/// the URL): it may only read. A GET must be safe — caches and prefetchers repeat it, and
/// a browser sends one across sites without a preflight.
pub struct ReadOnlyRequest;

/// Refuses a mutation or subscription in a [`ReadOnlyRequest`], after the persisted-query
/// extension has put the document in place.
pub struct GetIsReadOnly;

/// The longest query text a client may register as a persisted query. The cache keeps
/// parsed documents before anyone is authenticated, so each must stay small; application
/// queries are a few KiB at most, and a longer one still runs when sent as text.
pub const MAX_PERSISTED_QUERY_BYTES: usize = 8 * 1024;

/// Refuses to register a persisted query over [`MAX_PERSISTED_QUERY_BYTES`]; registered
/// before the persisted-query extension, so it runs first.
pub struct PersistedQueryLimit;

impl ExtensionFactory for PersistedQueryLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PersistedQueryLimit)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for PersistedQueryLimit {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: async_graphql::Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<async_graphql::Request> {
        if request.extensions.contains_key("persistedQuery") && request.query.len() > MAX_PERSISTED_QUERY_BYTES {
            let mut error = ServerError::new(
                format!(
                    "a persisted query is at most {MAX_PERSISTED_QUERY_BYTES} bytes; send a longer one as text without the hash"
                ),
                None,
            );
            error.extensions = Some(limit_extensions("PERSISTED_QUERY_TOO_LARGE"));
            return Err(error);
        }
        next.run(ctx, request).await
    }
}

impl ExtensionFactory for GetIsReadOnly {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GetIsReadOnly)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for GetIsReadOnly {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let writes = document.operations.iter().any(|(_, op)| op.node.ty != OperationType::Query);
        if writes && ctx.data_opt::<ReadOnlyRequest>().is_some() {
            let mut error = ServerError::new("a GET request only reads: send mutations with POST", None);
            error.extensions = Some(limit_extensions("GET_IS_READ_ONLY"));
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
        if message == "PersistedQueryNotFound" {
            // Apollo's protocol: the client sends the query text with its hash next.
            let mut values = ErrorExtensionValues::default();
            values.set("code", "PERSISTED_QUERY_NOT_FOUND");
            error.extensions = Some(values);
            continue;
        }
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
